#!/usr/bin/env bash
# A deposed leader cannot commit: the leader is stopped (SIGSTOP) past its
# lease, the standby takes over (a new term), submissions sent to the old
# leader alone wait in its socket; after SIGCONT it answers each with an
# error, none of them is in the database, and from then on it sends
# clients to the new leader.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_ha
SCHED_ARGS=(--heartbeat-interval 500ms --heartbeat-timeout 10s --leader-lease 2s)
dr_start_scheduler "${SCHED_ARGS[@]}" --agent-connect "$HA_AGENTS"
A_CEP=$DROVER_SCHEDULER
dr_start_standby "${SCHED_ARGS[@]}"
dr_cli cluster create -n hold -s Standard_D2_v2 --min-nodes 0 --max-nodes 0 >/dev/null
dr_assert_eq "$(dr_pg 'SELECT term FROM leader')" 1 "the first term"

kill -STOP "$DR_SCHED_PID"
dr_defer "kill -CONT $DR_SCHED_PID 2>/dev/null"
pids=()
for k in 1 2 3; do
    (DROVER_TIMEOUT_MS=30000 dr_cli job submit --cluster hold --name "fenced-$k" \
        -- true >"$T/fenced.$k" 2>&1 && echo ok >>"$T/fenced.$k" || echo "exit $?" >>"$T/fenced.$k") &
    pids+=($!)
done
dr_wait_for "the standby's takeover" 20 grep -q "leads, term 2" "$T/scheduler-b.log"
dr_log "the standby took over (term 2) from the stopped leader"
sleep 0.5
kill -CONT "$DR_SCHED_PID"
wait "${pids[@]}"
for k in 1 2 3; do
    r=$(cat "$T/fenced.$k")
    dr_log "submission $k to the deposed leader: $(tr '\n' ' ' <<<"$r")"
    [[ "$r" == *"exit "* ]] || dr_fail "the deposed leader acknowledged a submission: $r"
done
dr_assert_eq "$(dr_pg "SELECT count(*) FROM jobs WHERE name LIKE 'fenced-%'")" 0 \
    "jobs the deposed leader took"
# from now on it sends clients to the leader
dr_wait_for "the old leader to redirect" 10 bash -c \
    "DROVER_SCHEDULER=$A_CEP $DROVER_BIN/drover cluster list 2>&1 | grep -q 'not the leader, try $B_CEP'"
# and the cluster goes on with the new one
export DROVER_SCHEDULER="$A_CEP,$B_CEP"
id=$(dr_cli job submit --cluster hold --name after -- true)
[[ -n "$id" ]] || dr_fail "no submission after the takeover"
dr_assert_eq "$(dr_pg 'SELECT term FROM leader')" 2 "the term"
dr_pass
