#!/usr/bin/env bash
# The state dir belongs to one scheduler (issue 12):
#  - a second scheduler on the same state dir (other endpoints) is refused
#    and names the one that holds it; the first keeps serving;
#  - after kill -9 the lock is gone with the process: a restart works;
#  - an empty (zero-length) drover.db next to an existing keys/ is a lost
#    database, not a fresh install: the scheduler refuses to start and
#    says why.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler
dr_cli cluster create -n sd -s Standard_D2_v2 --min-nodes 0 --max-nodes 1 >/dev/null

rc=0
out=$(timeout 20 "$DROVER_BIN/drover-scheduler" --state-dir "$T/state" \
    --client-endpoint "tcp://127.0.0.1:$((CPORT + 7))" \
    --agent-endpoint "tcp://127.0.0.1:$((CPORT + 8))" 2>&1) || rc=$?
((rc != 0 && rc != 124)) || dr_fail "a second scheduler started on the same state dir (rc $rc)"
dr_assert_contains "$out" "in use by another scheduler" "second scheduler refused"
dr_assert_contains "$out" "pid $DR_SCHED_PID" "the holder is named"
dr_assert_eq "$(dr_cli -o json cluster list | jq -r '.[0].name')" sd "the first still serves"

dr_kill9_scheduler
dr_start_scheduler
dr_assert_eq "$(dr_cli -o json cluster list | jq -r '.[0].name')" sd "restart after kill -9"
dr_stop_scheduler

: >"$T/state/drover.db"
rm -f "$T/state/drover.db-wal" "$T/state/drover.db-shm"
rc=0
out=$(timeout 20 "$DROVER_BIN/drover-scheduler" --state-dir "$T/state" \
    --client-endpoint "$DROVER_SCHEDULER" --agent-endpoint "$AGENT_EP" 2>&1) || rc=$?
((rc != 0 && rc != 124)) || dr_fail "started on an empty database next to keys/ (rc $rc)"
dr_assert_contains "$out" "is empty (0 bytes)" "empty database refused"
dr_assert_contains "$out" "restore drover.db from a backup" "the way out is named"
dr_pass
