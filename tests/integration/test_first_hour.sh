#!/usr/bin/env bash
# A newcomer's first hour:
#  - a relative --state-dir is made absolute (keys, database and the
#    local agents' files land under the directory it named from where the
#    scheduler started), and one whose parent does not exist is refused,
#    named;
#  - a local agent that exits before it registers (here a bogus
#    --agent-bin that prints a line and exits 3) fails its node at once,
#    not after the resume timeout: `drover cluster show` names the exit
#    status and the last line of the agent's log, and the node is gone;
#  - with CURVE on, a cluster that scales 0 -> 1 -> 0 -> 1 runs a job on
#    the second node of the same name: the local provider starts it as a
#    new identity (the old node's key, revoked when it was removed, is
#    not reused), after a scheduler restart too.
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
dr_stop_scheduler

# a node name used twice (scale in, scale out), with real agents and CURVE
dr_start_scheduler --autoscale-interval 200ms
dr_cli cluster create -n again -s Standard_D2_v2 --min-nodes 0 --max-nodes 1 \
    --idle-seconds-before-scaledown 1 >/dev/null
zero_nodes() {
    [[ $(dr_cli -o json cluster show -n again | jq -r '.current_nodes // 0') == 0 ]]
}
for round in 1 2 3; do
    id=$(dr_cli job submit --cluster again --name "round$round" -- true)
    dr_wait_job_state "$id" succeeded 60
    node=$(dr_cli -o json job show "$id" | jq -r '.nodes[0]')
    dr_log "round $round: job $id ran on $node"
    dr_wait_for "cluster again back to 0 nodes (round $round)" 30 zero_nodes
    # the third round after a restart of the scheduler (the case that
    # failed: the agent of the new node came up with the old one's key)
    if ((round == 2)); then
        dr_stop_scheduler
        dr_start_scheduler --autoscale-interval 200ms
    fi
done
if grep -q "refused" "$T/state/nodes/"*.log 2>/dev/null; then
    dr_fail "an agent was refused: $(grep -h refused "$T/state/nodes/"*.log | tail -3)"
fi
dr_pass
