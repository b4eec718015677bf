#!/usr/bin/env bash
# A node the provider did not create, behind a network partition (issues
# 12 and 20).  An operator joined node hand-a by hand (its key added with
# `drover keys add-agent`, its agent started by the operator); it talks to
# the scheduler through a TCP proxy that is frozen past the heartbeat
# timeout and then released.  Then:
#  - the scheduler never signals that agent (it did not start it);
#  - the agent's own lease kills its task: the requeued attempt never runs
#    at the same time (a ledger the job writes proves it);
#  - the partition does not expel the node: its key stays valid and it is
#    back `idle` once the partition heals;
#  - scale-in never stops it, though it is idle past the cluster's
#    idle_seconds_before_scaledown.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ledger.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 3s
dr_cli cluster create -n hand -s Standard_D2_v2 --min-nodes 0 --max-nodes 1 \
    --idle-seconds-before-scaledown 2 >/dev/null

# the proxy between the hand-joined agent and the scheduler
PPORT=$((APORT + 7))
dr_spawn "$T/proxy.log" python3 "$DROVER_SOURCE_DIR/tests/integration/tcp_proxy.py" \
    "$PPORT" "$APORT" --max-seconds 300
PROXY=$DR_SPAWN_PID
dr_wait_for "proxy listening" 10 grep -q ready "$T/proxy.log"

dr_cli keys generate --name hand-a --dir "$T" >/dev/null
dr_cli keys add-agent hand-a "$T/hand-a.pub" >/dev/null
dr_spawn "$T/hand-a.log" "$DROVER_BIN/drover-agent" --key "$T/hand-a.key" \
    --scheduler-key "$T/state/keys/scheduler.pub" \
    --scheduler "tcp://127.0.0.1:$PPORT" --name hand-a --cluster hand \
    --vm-size Standard_D2_v2 --cpus 2 --memory-mb 2048 --work-dir "$T/hand-a"
AGENT=$DR_SPAWN_PID
node_state() {
    dr_cli -o json node list --cluster hand |
        jq -r --arg n "$1" '.[] | select(.name == $n) | .state'
}
dr_wait_for "hand-a idle" 20 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster hand | jq -r '.[] | select(.name==\"hand-a\") | .state') == idle ]]"

L=$T/ledger
id=$(dr_cli job submit --cluster hand --cpus 2 --max-retries 3 -- \
    sh -c "$(dr_ledger_cmd "$L" 120)")
dr_wait_job_state "$id" running 30
dr_assert_eq "$(dr_cli -o json job show "$id" | jq -r '.nodes[0]')" hand-a "ran on hand-a"
dr_wait_for "the job writes its ledger" 10 test -s "$L"

dr_log "partition: freezing the proxy (pid $PROXY) for 6 s"
kill -STOP "$PROXY"
sleep 6
kill -CONT "$PROXY"
dr_log "partition healed"
kill -0 "$AGENT" 2>/dev/null || dr_fail "the hand-joined agent was stopped"
if grep -q "stopped agent of node hand-a" "$T/scheduler.log"; then
    dr_fail "the scheduler signalled an agent it did not start"
fi

dr_wait_job_state "$id" succeeded 90
dr_ledger_check "$L"
dr_wait_for "hand-a back idle" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster hand | jq -r '.[] | select(.name==\"hand-a\") | .state') == idle ]]"
grep -q "refused" "$T/hand-a.log" && dr_fail "hand-a was refused: $(grep refused "$T/hand-a.log" | tail -1)"

# idle well past idle_seconds_before_scaledown (2 s): still there
sleep 6
dr_assert_eq "$(node_state hand-a)" idle "hand-a kept by scale-in"
kill -0 "$AGENT" 2>/dev/null || dr_fail "scale-in stopped the hand-joined agent"
if grep -q "stopped agent of node hand-a" "$T/scheduler.log"; then
    dr_fail "scale-in signalled an agent it did not start"
fi
dr_pass
