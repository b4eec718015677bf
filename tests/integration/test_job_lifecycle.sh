#!/usr/bin/env bash
# A job's whole life through the real daemons: submit -> run -> logs ->
# succeeded; a failing exit code; a command that does not exist; a time
# limit (and one of 300 ms); cancel of a running job (its processes gone); --wait exit codes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 1s --heartbeat-timeout 10s
dr_cli cluster create -n life -s Standard_D3_v2 --min-nodes 1 --max-nodes 1 >/dev/null

# success with output on both streams and the job's environment
id=$(dr_cli job submit --cluster life --name hello --env GREETING=hi -- \
    sh -c 'echo "$GREETING from $DROVER_NODE_NAME job $DROVER_JOB_ID"; echo to-stderr >&2')
dr_wait_job_state "$id" succeeded 60
logs=$(dr_cli job logs "$id")
dr_assert_contains "$logs" "hi from life-1 job $id" "stdout in the logs"
dr_assert_contains "$logs" "to-stderr" "stderr in the logs"
js=$(dr_cli -o json job show "$id")
dr_assert_eq "$(jq -r .exit_code <<<"$js")" 0 "exit code"
dr_assert_eq "$(jq -r .attempts <<<"$js")" 1 "attempts"
dr_assert_eq "$(jq -r '.nodes[0]' <<<"$js")" life-1 "node"
dr_assert_eq "$(jq -r .name <<<"$js")" hello "name"

# a non-zero exit: failed, exit code kept, --wait exits with it
rc=0
dr_cli job submit --cluster life --wait -- sh -c 'exit 7' >/dev/null 2>&1 || rc=$?
dr_assert_eq "$rc" 7 "submit --wait exit code"
fid=$(dr_cli -o json job list --state failed | jq -r '.[0].id')
dr_assert_eq "$(dr_cli -o json job show "$fid" | jq -r .reason)" \
    "exited with code 7" "failure reason"

# a command that does not exist: failed with the exec error, no retry loop
nid=$(dr_cli job submit --cluster life -- /no/such/program)
dr_wait_job_state "$nid" failed 30
js=$(dr_cli -o json job show "$nid")
dr_assert_contains "$(jq -r .reason <<<"$js")" "No such file or directory" "exec reason"
dr_assert_eq "$(jq -r .attempts <<<"$js")" 1 "exec failure is not retried"

# a time limit: the job ends in TIMEOUT (as Slurm's), not "failed"
tid=$(dr_cli job submit --cluster life --time-limit 2s -- sleep 60)
dr_wait_job_state "$tid" timeout 30
dr_assert_contains "$(dr_cli -o json job show "$tid" | jq -r .reason)" \
    "time limit" "time limit reason"
dr_assert_eq "$(dr_cli -o json job list --state timeout | jq -r '.[].id')" "$tid" "listed by its state"
rc=0
dr_cli job submit --cluster life --time-limit 1s --wait -- sleep 60 >/dev/null 2>&1 || rc=$?
dr_assert_eq "$rc" 124 "--wait exits 124 on a timeout"
# a limit below a second (ms inside): killed at 300 ms, not at a whole
# second; the limit reads back in ms and, rounded up, in seconds
t0=$(dr_now_ms)
rc=0
mid=$(dr_cli job submit --cluster life --time-limit 300ms -- sleep 60)
dr_cli -o json job show "$mid" >"$T/ms.json"
dr_assert_eq "$(jq -r .time_limit_ms "$T/ms.json")" 300 "time_limit_ms"
dr_assert_eq "$(jq -r .time_limit_s "$T/ms.json")" 1 "time_limit_s, rounded up"
dr_wait_job_state "$mid" timeout 30
dr_assert_contains "$(dr_cli -o json job show "$mid" | jq -r .reason)" \
    "time limit of 0.300 s exceeded" "the reason says 0.300 s"
js=$(dr_cli -o json job show "$mid")
ran=$(($(jq -r .ended_at <<<"$js") - $(jq -r .started_at <<<"$js")))
((ran >= 300 && ran < 950)) || dr_fail "a 300 ms limit ran ${ran} ms"
dr_log "300 ms limit: started -> ended ${ran} ms"

# cancel a running job: its process tree is gone
marker="drover-cancel-$$-$RANDOM"
cid=$(dr_cli job submit --cluster life -- sh -c "sleep 300 # $marker")
dr_wait_job_state "$cid" running 30
dr_wait_for "the job's process to start" 10 pgrep -f "$marker"
dr_cli job cancel "$cid" >/dev/null
dr_wait_job_state "$cid" canceled 30
no_marker() { ! pgrep -f "$marker" >/dev/null; }
dr_wait_for "the job's processes to exit" 15 no_marker
# cancelling again is a clear error
if out=$(dr_cli job cancel "$cid" 2>&1); then dr_fail "second cancel succeeded"; fi
dr_assert_contains "$out" "already ended (canceled)" "second cancel error"

# a queued job can be cancelled before it runs; --wait reports it (130)
dr_cli cluster update -n life --max-nodes 0 --min-nodes 0 >/dev/null
dr_wait_for "the node to leave" 30 bash -c \
    "[[ \$('$DROVER_BIN/drover' -o json cluster show -n life | jq .current_nodes) == 0 ]]"
qid=$(dr_cli job submit --cluster life -- true)
dr_assert_eq "$(dr_job_state "$qid")" queued "queued with no node"
dr_assert_contains "$(dr_cli -o json job show "$qid" | jq -r .reason)" \
    "max_nodes is 0" "wait reason"
dr_cli job cancel "$qid" >/dev/null
dr_assert_eq "$(dr_job_state "$qid")" canceled "queued job canceled"

dr_pass
