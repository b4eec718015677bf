#!/usr/bin/env bash
# A newcomer's first hour:
#  - a relative --state-dir is made absolute (keys, database and the
#    local agents' files land under the directory it named from where the
#    scheduler started), and one whose parent does not exist is refused,
#    named;
#  - a local agent that exits before it registers (here a bogus
#    --agent-bin that prints a line and exits 3) fails its node at once,
#    not after the resume timeout: `drover cluster show` names the exit
#    status and the last line of the agent's log, and the node is gone.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup

# a parent that does not exist: refused, named
rc=0
out=$(cd "$T" && timeout 20 "$DROVER_BIN/drover-scheduler" --state-dir no/such/state \
    --client-endpoint "$DROVER_SCHEDULER" --agent-endpoint "$AGENT_EP" 2>&1) || rc=$?
((rc != 0 && rc != 124)) || dr_fail "started with an unresolvable --state-dir (rc $rc)"
dr_assert_contains "$out" "state-dir 'no/such/state': cannot resolve its parent directory 'no/such'" \
    "unresolvable state dir refused"

cat >"$T/bogus-agent" <<'EOF'
#!/bin/sh
echo "bogus-agent: starting $*"
echo "bogus-agent: cannot open libdrover.so: no such file"
exit 3
EOF
chmod +x "$T/bogus-agent"

mkdir -p "$T/work"
pushd "$T/work" >/dev/null
dr_spawn "$T/scheduler.log" "$DROVER_BIN/drover-scheduler" \
    --state-dir ./rel-state --agent-bin "$T/bogus-agent" \
    --client-endpoint "$DROVER_SCHEDULER" --agent-endpoint "$AGENT_EP" \
    --autoscale-interval 200ms
popd >/dev/null
DR_SCHED_PID=$DR_SPAWN_PID
DR_SCHED_PGID=$DR_SPAWN_PID
export DROVER_HOME="$T/work/rel-state/keys"
dr_wait_for "the scheduler to answer with the keys in $DROVER_HOME" 20 \
    dr_cli --timeout 1s cluster list
[[ -f "$T/work/rel-state/drover.db" ]] || dr_fail "no drover.db under the relative state dir"

dr_cli cluster create -n fh -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null
t0=$(dr_now_ms)
shown=""
while :; do
    shown=$(dr_cli cluster show -n fh)
    grep -q "exited with status 3" <<<"$shown" && break
    (($(dr_now_ms) - t0 < 20000)) || dr_fail "no failed node after 20 s: $shown"
    sleep 0.2
done
dr_log "node failed after $(($(dr_now_ms) - t0)) ms"
dr_assert_contains "$shown" "before it registered" "the error says when"
dr_assert_contains "$shown" "bogus-agent: cannot open libdrover.so: no such file" \
    "the error carries the last line of the agent's log"
# the log named is under the absolute state dir
dr_assert_contains "$shown" "$T/work/rel-state/nodes/" "the agent's log is named by its absolute path"
# the node is dropped, not left preparing
n=$(dr_cli -o json node list --cluster fh | jq '[.[] | select(.state == "preparing")] | length')
[[ $n == 0 ]] || {
    sleep 1
    n=$(dr_cli -o json node list --cluster fh | jq '[.[] | select(.state == "preparing")] | length')
}
dr_assert_eq "$n" 0 "no node left preparing"
dr_pass
