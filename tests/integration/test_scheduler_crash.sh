#!/usr/bin/env bash
# kill -9 of the scheduler: every submission it acknowledged during a
# burst of 200 exists after the restart, still queued; a task that was
# running keeps running on its agent, which re-registers, and finishes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
SCHED_ARGS=(--heartbeat-interval 500ms --heartbeat-timeout 10s)
dr_start_scheduler "${SCHED_ARGS[@]}"
dr_cli cluster create -n hold -s Standard_D2_v2 --min-nodes 0 --max-nodes 0 >/dev/null
dr_cli cluster create -n run -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null

# a long task on the 'run' cluster, running before the crash
rid=$(dr_cli job submit --cluster run -- sh -c 'echo before; sleep 6; echo after')
dr_wait_job_state "$rid" running 60

# 200 submissions from 4 concurrent clients; kill -9 in the middle
export DROVER_TIMEOUT_MS=3000
burst() { # burst N FILE: submit N jobs, record each acknowledged id
    local i id
    for ((i = 0; i < $1; i++)); do
        id=$(dr_cli job submit --cluster hold --name "burst-$i" -- true 2>/dev/null) || return 0
        echo "$id" >>"$2"
    done
}
for k in 1 2 3 4; do
    burst 50 "$T/acked.$k" &
done
dr_wait_for "some acknowledgements" 30 bash -c "cat $T/acked.* 2>/dev/null | wc -l | grep -qv '^0$'"
sleep 0.3
dr_kill9_scheduler
wait
acked=$(cat "$T"/acked.* | sort -n)
n_acked=$(wc -l <<<"$acked")
dr_log "$n_acked submissions were acknowledged before the kill"
((n_acked > 0)) || dr_fail "nothing was acknowledged"
((n_acked < 200)) || dr_log "note: the whole burst finished before the kill"
[[ $(sort -u <<<"$acked" | wc -l) == "$n_acked" ]] || dr_fail "duplicate ids acknowledged"

unset DROVER_TIMEOUT_MS
dr_start_scheduler "${SCHED_ARGS[@]}"
queued=$(dr_cli -o json job list --cluster hold --state queued | jq -r '.[].id' | sort -n)
missing=$(comm -23 <(echo "$acked") <(echo "$queued") || true)
[[ -z "$missing" ]] || dr_fail "acknowledged jobs lost after kill -9: $(echo $missing)"
dr_log "all $n_acked acknowledged jobs are queued after the restart ($(wc -l <<<"$queued") queued)"

# the running task was not lost: its agent re-registers, it finishes
dr_assert_eq "$(dr_job_state "$rid")" running "task still running after restart"
dr_wait_job_state "$rid" succeeded 60
js=$(dr_cli -o json job show "$rid")
dr_assert_eq "$(jq -r .attempts <<<"$js")" 1 "no second attempt"
logs=$(dr_cli job logs "$rid")
dr_assert_contains "$logs" "after" "output after the restart kept"
dr_pass
