#!/usr/bin/env bash
# Managed identity (issue 7): a job on a cluster with a system-assigned
# identity gets a token from the agent's local endpoint
# ($IDENTITY_ENDPOINT, header X-IDENTITY-HEADER: $IDENTITY_HEADER, the
# Azure App Service form) that `drover identity verify` accepts, naming the
# cluster and the job; without the header the endpoint answers 401; a job
# on a cluster without an identity is refused with a clear error.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || dr_fail "curl is not installed"
dr_setup
dr_start_scheduler --heartbeat-interval 1s --heartbeat-timeout 10s
dr_cli cluster create -n idc -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 \
    --assign-identity '[system]' >/dev/null
dr_cli cluster create -n plain -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null

# One job, three requests: with the header (the token), without it (the
# status), and the endpoint's form.
read -r -d '' JOB <<'EOF' || true
url="$IDENTITY_ENDPOINT?resource=https://storage.example&api-version=2019-08-01"
echo "TOKEN $(curl -s -H "X-IDENTITY-HEADER: $IDENTITY_HEADER" "$url")"
echo "NOHEADER $(curl -s -o /dev/null -w '%{http_code}' "$url")"
echo "WRONGHEADER $(curl -s -o /dev/null -w '%{http_code}' \
    -H 'X-IDENTITY-HEADER: 00000000000000000000000000000000' "$url")"
echo "ENDPOINT $IDENTITY_ENDPOINT"
EOF

id=$(dr_cli job submit --cluster idc -- sh -c "$JOB")
dr_wait_job_state "$id" succeeded 90
logs=$(dr_cli job logs "$id")
dr_log "job $id said: $logs"
body=$(sed -n 's/^TOKEN //p' <<<"$logs")
jq -e . <<<"$body" >/dev/null || dr_fail "token answer is not JSON: $body"
token=$(jq -r '.access_token // empty' <<<"$body")
[[ -n "$token" ]] || dr_fail "no access_token in $body"
dr_assert_eq "$(jq -r .token_type <<<"$body")" Bearer "token_type"
dr_assert_eq "$(jq -r .resource <<<"$body")" https://storage.example "resource"
exp=$(jq -r .expires_on <<<"$body")
[[ "$exp" =~ ^[0-9]+$ ]] || dr_fail "expires_on is not unix seconds: $exp"
(( exp > $(date +%s) )) || dr_fail "token already expired ($exp)"
[[ -n "$(jq -r '.client_id // empty' <<<"$body")" ]] || dr_fail "no client_id"
dr_assert_eq "$(sed -n 's/^NOHEADER //p' <<<"$logs")" 401 "no header: 401"
dr_assert_eq "$(sed -n 's/^WRONGHEADER //p' <<<"$logs")" 401 "wrong header: 401"
dr_assert_contains "$(sed -n 's/^ENDPOINT //p' <<<"$logs")" \
    "http://127.0.0.1:" "endpoint on loopback"
dr_assert_contains "$(sed -n 's/^ENDPOINT //p' <<<"$logs")" "/msi/token" \
    "endpoint path"

out=$(dr_cli identity verify "$token")
dr_assert_contains "$out" "valid" "verify says valid"
dr_assert_contains "$out" "cluster idc" "verify names the cluster"
dr_assert_contains "$out" "job $id" "verify names the job"
dr_assert_eq "$(dr_cli -o json identity verify "$token" | jq -r '.valid, .cluster, .job_id' | tr '\n' ' ')" \
    "true idc $id " "verify as JSON"
# a token altered by one character is not valid
bad="${token%?}$([[ "${token: -1}" == A ]] && echo B || echo A)"
if dr_cli identity verify "$bad" >/dev/null 2>&1; then
    dr_fail "an altered token verified"
fi

# a cluster without an identity: refused, with a reason
pid=$(dr_cli job submit --cluster plain -- sh -c \
    'curl -s -w "\nSTATUS %{http_code}\n" -H "X-IDENTITY-HEADER: $IDENTITY_HEADER" "$IDENTITY_ENDPOINT?resource=https://storage.example&api-version=2019-08-01"')
dr_wait_job_state "$pid" succeeded 90
plogs=$(dr_cli job logs "$pid")
dr_log "job $pid said: $plogs"
st=$(sed -n 's/^STATUS //p' <<<"$plogs")
[[ "$st" == 400 || "$st" == 403 ]] || dr_fail "no-identity cluster: status $st"
pbody=$(head -n 1 <<<"$plogs")
[[ -z "$(jq -r '.access_token // empty' <<<"$pbody")" ]] ||
    dr_fail "a cluster without identity got a token"
dr_assert_contains "$(jq -r .error_description <<<"$pbody")" "identity" \
    "the refusal says why"
# identity assign, in az ml computetarget amlcompute's forms: the identity
# as the word after assign, or --identities; --vm-priority in az ml's
# spellings
dr_cli cluster create -n later -s Standard_D2_v2 --max-nodes 1 --vm-priority low_priority >/dev/null
dr_assert_eq "$(dr_cli -o json cluster show -n later | jq -r .vm_priority)" lowpriority "low_priority"
dr_cli cluster identity assign --name later '[system]' >/dev/null
dr_assert_eq "$(dr_cli -o json cluster show -n later | jq -r .identity)" system "positional [system]"
dr_cli cluster identity assign -n later --identities "" >/dev/null
dr_assert_eq "$(dr_cli -o json cluster show -n later | jq -r '.identity // ""')" "" "--identities \"\" removes it"
if out=$(dr_cli cluster identity assign --name later 2>&1); then dr_fail "assign without an identity"; fi
dr_assert_contains "$out" "missing" "assign without an identity"
dr_pass
