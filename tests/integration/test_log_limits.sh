#!/usr/bin/env bash
# What a job can write is bounded (issue 12):
#  - a job's log is cut at --job-log-limit, and `job logs` says so;
#  - the output is kept once: in the scheduler's log, not also in the
#    node's task dir;
#  - past --log-total-limit the oldest finished jobs' logs are replaced by
#    a line that says why; running jobs' logs are kept;
#  - logs live in the store (issue 14), and an older version's log files
#    are moved into it at start;
#  - bad sizes are refused at startup with a clear error.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup

# a job's log as the scheduler keeps it (chunks in the store), in bytes
log_size() { dr_cli job logs "$1" | wc -c; }

# bad input: sizes
for bad in "--job-log-limit 0" "--job-log-limit lots" "--log-total-limit -5M" \
    "--min-free-disk 2X"; do
    rc=0
    # shellcheck disable=SC2086
    out=$(timeout 10 "$DROVER_BIN/drover-scheduler" --state-dir "$T/bad" \
        --client-endpoint "$DROVER_SCHEDULER" --agent-endpoint "$AGENT_EP" \
        $bad 2>&1) || rc=$?
    ((rc != 0 && rc != 124)) || dr_fail "started with $bad (rc $rc)"
    dr_assert_contains "$out" "expected a size" "$bad refused"
done

dr_start_scheduler --job-log-limit 1M --log-total-limit 3M
dr_cli cluster create -n lg -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null

# 8 MiB of output, on both streams
big=$(dr_cli job submit --cluster lg --cpus 1 -- sh -c \
    'head -c 6291456 /dev/zero | tr "\0" a; head -c 2097152 /dev/zero | tr "\0" b >&2; echo done-marker')
dr_wait_job_state "$big" succeeded 120
size=$(log_size "$big")
((size >= 1048576 && size < 1048576 + 4096)) || dr_fail "log of job $big is $size bytes, want 1 MiB and the note"
tail=$(dr_cli job logs "$big" | tail -c 300)
dr_assert_contains "$tail" "output cut" "job logs says the output was cut"
dr_assert_contains "$tail" "1 MiB (job-log-limit)" "and names the limit"
if dr_cli job logs "$big" | grep -q done-marker; then
    dr_fail "output past the limit was kept"
fi
# one copy: nothing of the 8 MiB in the node's dir
nodes_kb=$(du -sk "$T/state/nodes" | cut -f1)
((nodes_kb < 1024)) || dr_fail "the node dir holds ${nodes_kb} KiB: a second copy of the output"
state_kb=$(du -sk "$T/state" | cut -f1)
dr_log "state dir ${state_kb} KiB after 8 MiB of output"

# the total: more finished 1 MiB logs than the 3 MiB total allows
run=$(dr_cli job submit --cluster lg --cpus 1 -- sh -c \
    'head -c 700000 /dev/zero | tr "\0" r; sleep 60')
ids=()
for _ in 1 2 3; do
    ids+=("$(dr_cli job submit --cluster lg --cpus 1 -- sh -c \
        'head -c 2000000 /dev/zero | tr "\0" c')")
done
for id in "${ids[@]}"; do dr_wait_job_state "$id" succeeded 120; done
dr_wait_job_state "$run" running 60
total() { # true when the logs of this test are under 3 MiB in all
    local t=0 id
    for id in "$big" "$run" "${ids[@]}"; do t=$((t + $(log_size "$id"))); done
    ((t <= 3 * 1048576))
}
dr_wait_for "the logs' total under 3 MiB" 30 total
oldest=$(dr_cli job logs "$big")
dr_assert_contains "$oldest" "removed to keep all job logs under 3 MiB" "the oldest log was rotated out"
newest=$(log_size "${ids[2]}")
((newest >= 1048576)) || dr_fail "the newest finished log was removed before older ones"
running_size=$(log_size "$run")
((running_size >= 700000)) || dr_fail "a running job's log was removed ($running_size bytes)"
dr_cli job cancel "$run" >/dev/null
grep -q "job logs: removed the output of" "$T/scheduler.log" || dr_fail "the rotation is not logged"

# the cut survives a restart: the log stays at its limit
dr_stop_scheduler
dr_start_scheduler --job-log-limit 1M --log-total-limit 3M
dr_assert_contains "$(dr_cli job logs "${ids[2]}" | tail -c 300)" "output cut" "still cut after a restart"

# an older version's log files (<state>/logs/ID.log) move into the store
# at the next start, and the folder goes
dr_stop_scheduler
/usr/bin/python3 - "$T/state/drover.db" "${ids[1]}" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DELETE FROM job_logs WHERE job_id = ?", (int(sys.argv[2]),))
db.commit()
PY
mkdir -p "$T/state/logs"
printf 'old line 1\nold line 2\n' >"$T/state/logs/${ids[1]}.log"
dr_start_scheduler --job-log-limit 1M --log-total-limit 3M
dr_assert_eq "$(dr_cli job logs "${ids[1]}")" $'old line 1\nold line 2' "an old log file is read into the store"
[[ ! -e "$T/state/logs" ]] || dr_fail "the old logs folder is still there"
grep -q "moved 1 log files" "$T/scheduler.log" || dr_fail "the move is not logged"
dr_pass
