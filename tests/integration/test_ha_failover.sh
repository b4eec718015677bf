#!/usr/bin/env bash
# Two schedulers on one PostgreSQL, kill -9 of the leader during a burst
# of submissions: the standby leads within 10 s, every submission that was
# acknowledged (by either) is there, and the job that was running finishes
# on its first attempt (its agent follows to the new leader and registers
# with the task it still runs).  The CLI and the agents have both
# endpoints; job output is in the database, so the new leader serves the
# logs the old one received; prints the failover time (FIGURE failover_ms).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_ha
SCHED_ARGS=(--heartbeat-interval 500ms --heartbeat-timeout 10s)
dr_start_scheduler "${SCHED_ARGS[@]}" --agent-connect "$HA_AGENTS"
A_CEP=$DROVER_SCHEDULER
dr_start_standby "${SCHED_ARGS[@]}"
grep -q "standby:" "$T/scheduler-b.log" || dr_fail "the second scheduler leads"

# a standby sends clients to the leader
out=$(DROVER_SCHEDULER=$B_CEP dr_cli cluster list 2>&1) && dr_fail "standby answered: $out"
dr_assert_contains "$out" "not the leader, try $A_CEP" "standby's answer"

export DROVER_SCHEDULER="$A_CEP,$B_CEP"
dr_cli cluster create -n hold -s Standard_D2_v2 --min-nodes 0 --max-nodes 0 >/dev/null
dr_cli cluster create -n run -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null
done_id=$(dr_cli job submit --cluster run -- echo kept-in-the-store)
dr_wait_job_state "$done_id" succeeded 60
rid=$(dr_cli job submit --cluster run -- sh -c 'echo before; sleep 8; echo after')
dr_wait_job_state "$rid" running 60
said_before() { dr_cli job logs "$rid" | grep -q before; }
dr_wait_for "the running job's first line" 20 said_before

export DROVER_TIMEOUT_MS=1000
burst() { # burst N FILE: submit N jobs, record each acknowledged id
    local i id
    for ((i = 0; i < $1; i++)); do
        id=$(dr_cli job submit --cluster hold --name "burst-$i" -- true 2>/dev/null) || continue
        echo "$id" >>"$2"
    done
}
pids=()
for k in 1 2 3 4; do
    burst 20 "$T/acked.$k" &
    pids+=($!)
done
dr_wait_for "some acknowledgements" 30 bash -c "cat $T/acked.* 2>/dev/null | wc -l | grep -qv '^0$'"
sleep 0.3
t0=$(dr_now_ms)
dr_kill9_scheduler
# the standby leads: a request to it alone is answered
while ! DROVER_SCHEDULER=$B_CEP dr_cli cluster list >/dev/null 2>&1; do
    (($(dr_now_ms) - t0 < 10000)) || dr_fail "the standby did not lead within 10 s"
    sleep 0.1
done
failover_ms=$(($(dr_now_ms) - t0))
dr_log "FIGURE failover_ms=$failover_ms (kill -9 of the leader to the standby answering)"
wait "${pids[@]}" # not a bare wait: the second scheduler runs on
unset DROVER_TIMEOUT_MS

acked=$(cat "$T"/acked.* | sort -n)
n_acked=$(wc -l <<<"$acked")
((n_acked > 0)) || dr_fail "nothing was acknowledged"
have=$(dr_cli -o json job list --cluster hold | jq -r '.[].id' | sort -n)
missing=$(comm -23 <(echo "$acked") <(echo "$have") || true)
[[ -z "$missing" ]] || dr_fail "acknowledged jobs lost in the failover: $(echo $missing)"
dr_log "all $n_acked acknowledged jobs are there after the failover"

# the running job goes on: its agent registers with the new leader
dr_wait_job_state "$rid" succeeded 60
js=$(dr_cli -o json job show "$rid")
dr_assert_eq "$(jq -r .attempts <<<"$js")" 1 "no second attempt"
# job output is in the store (issue 14): the new leader has what the old
# one received, and one log runs on across the two
dr_assert_eq "$(dr_cli job logs "$done_id")" "kept-in-the-store" "a finished job's log after the failover"
dr_assert_eq "$(dr_cli job logs "$rid")" $'before\nafter' "the running job's log, across both leaders"
dr_assert_eq "$(dr_pg 'SELECT term FROM leader')" 2 "the standby's term"
dr_pass
