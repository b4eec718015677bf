#!/usr/bin/env bash
# Predicted start (issue 18): a queued job behind a running job with a
# time limit is expected to start when that limit runs out; behind one
# with no limit its start is unknown.  `job show` prints it, -o json and
# the HTTP API give predicted_start (ms, or null).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
HP=$((CPORT + 7))
dr_start_scheduler --autoscale-interval 200ms --http-listen "127.0.0.1:$HP"
TOKEN=$(dr_cli keys token create admin | awk '{print $NF}')
# one 2-cpu node per cluster: a 2-cpu job fills it
dr_cli cluster create -n lim -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null
dr_cli cluster create -n nolim -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null

a=$(dr_cli job submit --cluster lim --cpus 2 --time-limit 10m -- sleep 600)
dr_wait_job_state "$a" running 60
b=$(dr_cli job submit --cluster lim --cpus 2 -- sleep 1)
c=$(dr_cli job submit --cluster nolim --cpus 2 -- sleep 600)
dr_wait_job_state "$c" running 60
d=$(dr_cli job submit --cluster nolim --cpus 2 -- sleep 1)
sleep 1
dr_assert_eq "$(dr_job_state "$b")" queued "job $b behind $a"
dr_assert_eq "$(dr_job_state "$d")" queued "job $d behind $c"

started=$(dr_cli -o json job show "$a" | jq .started_at)
pb=$(dr_cli -o json job show "$b" | jq .predicted_start)
[[ $pb =~ ^[0-9]+$ ]] || dr_fail "job $b: predicted_start is $pb, expected a time"
# the running job's start plus its 600 s limit (within a second)
want=$((started + 600000))
diff=$((pb - want))
((diff > -1000 && diff < 1000)) || dr_fail "job $b: predicted $pb, expected ~$want"
show=$(dr_cli job show "$b")
dr_assert_contains "$show" "Predicted start: 20" "job show of $b"
dr_assert_contains "$show" "(in 9m" "job show of $b (time left)"

dr_assert_eq "$(dr_cli -o json job show "$d" | jq .predicted_start)" null "job $d (no limit)"
dr_assert_contains "$(dr_cli job show "$d")" "Predicted start: unknown" "job show of $d"
# a running job has none
dr_assert_eq "$(dr_cli -o json job show "$a" | jq .predicted_start)" null "running job $a"
# the same through the API and the job list
api=$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HP/api/v1/jobs/$b" | jq .predicted_start)
dr_assert_eq "$api" "$pb" "API predicted_start of $b"
lst=$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HP/api/v1/jobs?cluster=nolim" |
    jq -c "[.jobs[] | select(.id == $d) | .predicted_start]")
dr_assert_eq "$lst" "[null]" "API job list predicted_start of $d"
dr_pass
