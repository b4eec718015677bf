#!/usr/bin/env bash
# The JSON API under /api/v1/ (docs/http-api.md): bearer tokens from
# `drover keys token create`, reads and writes with the CLI's rules, and
# every bad input a clear 4xx that changes nothing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

dr_setup
HP=$((CPORT + 7))
dr_start_scheduler --http-listen "127.0.0.1:$HP"
A=http://127.0.0.1:$HP/api/v1

ADMIN=$(dr_cli keys token create admin | awk '{print $NF}')
[[ $ADMIN == drv_* ]] || dr_fail "token create printed no token: $ADMIN"
dr_cli keys generate --name eve --dir "$T" >/dev/null
dr_cli keys add-user eve --role user "$T/eve.pub" >/dev/null
EVE=$(dr_cli -o json keys token create eve | jq -r .token)
# no token is stored in the clear
if sqlite3 "$T/state/drover.db" "SELECT hash FROM api_tokens" | grep -q "$ADMIN"; then
    dr_fail "a token is stored in the clear"
fi

# req TOKEN METHOD PATH [BODY]: prints "CODE BODY"
req() {
    local tok=$1 m=$2 p=$3 body=${4-}
    local args=(-s -o "$T/out" -w '%{http_code}' -X "$m")
    [[ -n $tok ]] && args+=(-H "Authorization: Bearer $tok")
    [[ -n $body ]] && args+=(--data-binary "$body")
    local code
    code=$(curl "${args[@]}" "$A$p")
    printf '%s %s' "$code" "$(cat "$T/out")"
}
# expect CODE TOKEN METHOD PATH [BODY]: the status, and JSON with an error
expect() {
    local want=$1
    shift
    local got
    got=$(req "$@")
    [[ ${got%% *} == "$want" ]] || dr_fail "$2 $3: expected $want, got $got"
    if [[ $want -ge 400 ]]; then
        jq -e '.error | length > 0' <<<"${got#* }" >/dev/null ||
            dr_fail "$2 $3: no error message in ${got#* }"
    fi
    printf '%s' "${got#* }"
}

who=$(expect 200 "$EVE" GET /whoami)
dr_assert_eq "$(jq -r .role <<<"$who")" user "eve's role"
# writes: create a cluster (admin), submit (anyone)
expect 201 "$ADMIN" POST /clusters '{"name":"cpu","vm_size":"Standard_D2_v2","max_nodes":2}' >/dev/null
expect 403 "$EVE" POST /clusters '{"name":"c2","vm_size":"Standard_D2_v2"}' >/dev/null
expect 403 "$EVE" PATCH /clusters/cpu '{"max_nodes":3}' >/dev/null
u=$(expect 200 "$ADMIN" PATCH /clusters/cpu '{"max_nodes":3}')
dr_assert_eq "$(jq -r .max_nodes <<<"$u")" 3 "updated max_nodes"
id=$(expect 201 "$ADMIN" POST /jobs '{"cluster":"cpu","command":["sleep","300"],"name":"adm","env":[{"key":"A","value":"1"}]}' | jq -r .id)
eid=$(expect 201 "$EVE" POST /jobs '{"cluster":"cpu","command":["sh","-c","echo hi-eve"]}' | jq -r .id)
dr_wait_job_state "$eid" succeeded 60
# reads: the same objects the CLI shows with -o json
j=$(expect 200 "$EVE" GET "/jobs/$id")
dr_assert_eq "$(jq -r .owner <<<"$j")" admin "owner"
dr_assert_eq "$(jq -r '.env[0].key' <<<"$j")" A "env"
dr_assert_eq "$(expect 200 "$EVE" GET "/jobs?cluster=cpu" | jq '.jobs | length')" 2 "job list"
dr_assert_eq "$(expect 200 "$EVE" GET /clusters | jq -r '.[0].name')" cpu "cluster list"
dr_assert_eq "$(expect 200 "$EVE" GET /clusters/cpu | jq -r .vm_size)" Standard_D2_v2 "cluster show"
expect 200 "$EVE" GET /nodes >/dev/null
expect 200 "$EVE" GET /quotas >/dev/null
expect 200 "$EVE" GET /clusters/cpu/events >/dev/null
expect 200 "$EVE" GET "/events?limit=5" >/dev/null
dr_assert_contains "$(expect 200 "$EVE" GET "/jobs/$eid/logs" | jq -r .data)" hi-eve "logs"

# identity (issue 19, the Python SDK's add_identity): on create and on an
# existing cluster; bad values 400 and nothing changed
c=$(expect 201 "$ADMIN" POST /clusters '{"name":"idc","vm_size":"Standard_D2_v2","identity":"system"}')
dr_assert_eq "$(jq -r .identity <<<"$c")" system "identity on create"
[[ -n $(jq -r .identity_principal_id <<<"$c") ]] || dr_fail "no principal id: $c"
expect 400 "$ADMIN" POST /clusters '{"name":"idc2","vm_size":"Standard_D2_v2","identity":"bad id!"}' >/dev/null
expect 400 "$ADMIN" POST /clusters '{"name":"idc2","vm_size":"Standard_D2_v2","identity":5}' >/dev/null
expect 404 "$ADMIN" GET /clusters/idc2 >/dev/null
UA=/subscriptions/0000/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1
u=$(expect 200 "$ADMIN" POST /clusters/idc/identity "{\"identity\":\"$UA\"}")
dr_assert_eq "$(jq -r .identity <<<"$u")" "$UA" "identity assigned"
expect 400 "$ADMIN" POST /clusters/idc/identity '{"identity":"a b"}' >/dev/null
expect 400 "$ADMIN" POST /clusters/idc/identity '{"identity":7}' >/dev/null
expect 400 "$ADMIN" POST /clusters/idc/identity '{}' >/dev/null
expect 400 "$ADMIN" POST /clusters/idc/identity '{"identity":"system","color":1}' >/dev/null
expect 400 "$ADMIN" POST /clusters/idc/identity '{"identity":' >/dev/null
expect 400 "$ADMIN" POST /clusters/idc/identity >/dev/null
expect 400 "$ADMIN" POST "/clusters/idc/identity?x=1" '{"identity":"system"}' >/dev/null
expect 404 "$ADMIN" POST /clusters/nope/identity '{"identity":"system"}' >/dev/null
expect 403 "$EVE" POST /clusters/idc/identity '{"identity":"system"}' >/dev/null
expect 405 "$ADMIN" GET /clusters/idc/identity >/dev/null
dr_assert_eq "$(dr_cli -o json cluster show -n idc | jq -r .identity)" "$UA" "bad identity requests changed it"
u=$(expect 200 "$ADMIN" POST /clusters/idc/identity '{"identity":""}')
dr_assert_eq "$(jq -r .identity <<<"$u")" "" "identity removed"
# distribution pytorch (the SDK's command(distribution=...))
pt=$(expect 201 "$EVE" POST /jobs '{"cluster":"cpu","command":["sh","-c","echo rank=$RANK/$WORLD_SIZE"],"distribution":"pytorch","procs_per_node":2}' | jq -r .id)
dr_assert_eq "$(expect 200 "$EVE" GET "/jobs/$pt" | jq -r '.distribution + " " + (.procs_per_node|tostring)')" "pytorch 2" "pytorch job"
expect 400 "$EVE" POST /jobs '{"cluster":"cpu","command":["true"],"distribution":"tensorflw"}' >/dev/null
expect 400 "$EVE" POST /jobs '{"cluster":"cpu","command":["true"],"distribution":3}' >/dev/null
dr_wait_job_state "$pt" succeeded 60
dr_assert_contains "$(expect 200 "$EVE" GET "/jobs/$pt/logs" | jq -r .data)" "rank=1/2" "pytorch ranks"

# a limit in ms (issue 17): time_limit_ms on POST, both keys on GET (the
# seconds rounded up); the agent stops it at 300 ms
ms=$(expect 201 "$EVE" POST /jobs '{"cluster":"cpu","command":["sleep","5"],"time_limit_ms":300}' | jq -r .id)
j=$(expect 200 "$EVE" GET "/jobs/$ms")
dr_assert_eq "$(jq -r .time_limit_ms <<<"$j")" 300 "POST time_limit_ms"
dr_assert_eq "$(jq -r .time_limit_s <<<"$j")" 1 "time_limit_s, rounded up"
dr_wait_job_state "$ms" timeout 30
dr_assert_contains "$(expect 200 "$EVE" GET "/jobs/$ms" | jq -r .reason)" \
    "time limit of 0.300 s exceeded" "the 300 ms limit's reason"
s2=$(expect 201 "$EVE" POST /jobs '{"cluster":"cpu","command":["true"],"time_limit_s":2}' | jq -r .id)
j=$(expect 200 "$EVE" GET "/jobs/$s2")
dr_assert_eq "$(jq -r .time_limit_ms <<<"$j")" 2000 "POST time_limit_s, in ms"

# bad input: each a clear 4xx, nothing changed
before=$(dr_cli -o json job list | jq length)
expect 401 "" GET /clusters >/dev/null
expect 401 "drv_wrongwrongwrongwrongwrongwrongwrongwrongwro" GET /clusters >/dev/null
expect 401 "not-a-token" GET /clusters >/dev/null
expect 404 "$EVE" GET /nope >/dev/null
expect 404 "$EVE" GET /clusters/nope >/dev/null
expect 404 "$EVE" GET /jobs/999999 >/dev/null
expect 405 "$EVE" PUT /jobs >/dev/null
expect 400 "$EVE" POST /jobs '{"cluster":' >/dev/null
expect 400 "$EVE" POST /jobs '[1,2]' >/dev/null
expect 400 "$EVE" POST /jobs '{"cluster":"cpu","command":"sleep 1"}' >/dev/null
expect 400 "$EVE" POST /jobs '{"cluster":"cpu","command":["true"],"cpus":"two"}' >/dev/null
expect 400 "$EVE" POST /jobs '{"cluster":"cpu","command":["true"],"cpus":-1}' >/dev/null
expect 400 "$EVE" POST /jobs '{"cluster":"cpu","command":["true"],"state":"running"}' >/dev/null
expect 400 "$EVE" POST /jobs '{"cluster":"cpu","command":["true"],"bogus":1}' >/dev/null
expect 400 "$EVE" POST /jobs '{"cluster":"cpu","command":["true"],"cpus":1,"cpus":2}' >/dev/null
expect 400 "$EVE" POST /jobs '{"cluster":"cpu","command":["true"],"cpus":64}' >/dev/null
expect 400 "$EVE" POST /jobs '{"cluster":"cpu","command":["true"],"time_limit_ms":300,"time_limit_s":5}' >/dev/null
expect 400 "$EVE" POST /jobs '{"cluster":"cpu","command":["true"],"time_limit_ms":-1}' >/dev/null
expect 400 "$EVE" POST /jobs '{"cluster":"cpu","command":["true"],"time_limit_ms":"300"}' >/dev/null
expect 400 "$EVE" POST /jobs '{"cluster":"cpu","command":["true"],"time_limit_ms":1.5}' >/dev/null
expect 400 "$EVE" POST /jobs '{"cluster":"cpu","command":["true"],"time_limit_ms":31622400001}' >/dev/null
expect 400 "$EVE" GET "/jobs?limit=abc" >/dev/null
expect 400 "$EVE" GET "/jobs?color=red" >/dev/null
expect 400 "$EVE" GET /jobs/abc >/dev/null
head -c $((11 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$T/big"
code=$(curl -s -o "$T/out" -w '%{http_code}' -H "Authorization: Bearer $EVE" \
    --data-binary @"$T/big" "$A/jobs")
dr_assert_eq "$code" 413 "oversized body"
# a user cancelling another's job: 403, and it still runs
expect 403 "$EVE" POST "/jobs/$id/cancel" >/dev/null
expect 403 "$EVE" DELETE "/jobs/$id" >/dev/null
expect 403 "$EVE" DELETE /clusters/cpu >/dev/null
after=$(dr_cli -o json job list | jq length)
dr_assert_eq "$after" "$before" "bad requests changed the job list"
st=$(dr_job_state "$id")
[[ $st == queued || $st == starting || $st == running ]] || dr_fail "eve's 403 cancel changed job $id: $st"
# the owner (admin) may cancel it; the reply comes after the commit
expect 200 "$ADMIN" POST "/jobs/$id/cancel" >/dev/null
dr_wait_job_state "$id" canceled 30
# a revoked key ends its tokens
dr_cli keys revoke eve >/dev/null
expect 401 "$EVE" GET /clusters >/dev/null
dr_pass
