#!/usr/bin/env bash
# Jobs cannot read each other's secrets (issue 12).  Job A runs on a
# cluster with a managed identity, with a SECRET_TOKEN in its environment
# and its IDENTITY_HEADER; job B, on the same node, looks through every
# /proc/*/environ it can see for either and tries every identity header it
# finds against the token endpoint.  B must find nothing and get no token:
# every process task runs in its own PID and mount namespaces with its own
# /proc (agent log: "process tasks run in their own PID and mount
# namespaces").
set -euo pipefail
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || dr_fail "curl is not installed"
[[ $(id -u) -eq 0 ]] || dr_fail "needs root (tasks are isolated with namespaces)"
dr_setup
dr_start_scheduler --heartbeat-interval 1s --heartbeat-timeout 10s
dr_cli cluster create -n iso -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 \
    --assign-identity '[system]' >/dev/null
secret="s3cr3t-$$-$RANDOM"
a=$(dr_cli job submit --cluster iso --cpus 1 --env "SECRET_TOKEN=$secret" -- \
    sh -c 'echo "HEADER $IDENTITY_HEADER"; sleep 60')
dr_wait_job_state "$a" running 60
dr_wait_for "job A's header in its log" 10 bash -c "'$DROVER_BIN/drover' job logs $a | grep -q '^HEADER '"
header=$(dr_cli job logs "$a" | sed -n 's/^HEADER //p')
[[ -n "$header" ]] || dr_fail "job A has no IDENTITY_HEADER"

read -r -d '' JOB_B <<'EOF2' || true
found=0
for e in /proc/[0-9]*/environ; do
    { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -q "^SECRET_TOKEN=" && found=$((found + 1))
done
echo "SECRETS $found"
n=0
for h in $(cat /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n' | sed -n 's/^IDENTITY_HEADER=//p' | sort -u); do
    [ "$h" = "$IDENTITY_HEADER" ] && continue
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-IDENTITY-HEADER: $h" \
        "$IDENTITY_ENDPOINT?resource=https://storage.example&api-version=2019-08-01")
    [ "$code" = 200 ] && n=$((n + 1))
done
echo "STOLEN $n"
echo "PROCS $(ls -d /proc/[0-9]* | wc -l)"
EOF2
b=$(dr_cli job submit --cluster iso --cpus 1 -- sh -c "$JOB_B")
dr_wait_job_state "$b" succeeded 60
logs=$(dr_cli job logs "$b")
dr_log "job B said: $(tr '\n' ' ' <<<"$logs")"
dr_assert_eq "$(sed -n 's/^SECRETS //p' <<<"$logs")" 0 "B saw no SECRET_TOKEN"
dr_assert_eq "$(sed -n 's/^STOLEN //p' <<<"$logs")" 0 "B got no token with another job's header"
procs=$(sed -n 's/^PROCS //p' <<<"$logs")
((procs <= 8)) || dr_fail "B sees $procs processes: not its own namespace"
[[ "$logs" != *"$header"* ]] || dr_fail "B's output holds A's header"
grep -q "process tasks run in their own PID and mount namespaces" "$T"/state/nodes/*/agent.log 2>/dev/null ||
    grep -rq "process tasks run in their own PID and mount namespaces" "$T" ||
    dr_fail "the agent did not say that it isolates tasks"
dr_cli job cancel "$a" >/dev/null
dr_wait_job_state "$a" canceled 30
dr_pass
