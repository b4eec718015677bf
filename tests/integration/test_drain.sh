#!/usr/bin/env bash
# drover node drain / resume (issue 12), as `scontrol update state=drain`
# and `kubectl drain` do: a drained node gets no new tasks, the task it
# runs finishes, and the node shows draining, then drained; the drain
# survives a scheduler restart; resume gives it work again.  Plain users
# may not drain; unknown nodes are refused.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 10s
dr_cli cluster create -n dc -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null
node_state() { dr_cli -o json node list --cluster dc | jq -r '.[0].state'; }
dr_wait_for "one idle node" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster dc | jq -r '.[0].state') == idle ]]"
node=$(dr_cli -o json node list --cluster dc | jq -r '.[0].name')

a=$(dr_cli job submit --cluster dc --cpus 1 -- sleep 3)
dr_wait_job_state "$a" running 30
out=$(dr_cli node drain "$node")
dr_assert_contains "$out" "draining" "drain answer"
dr_assert_eq "$(node_state)" draining "a running node drains"
b=$(dr_cli job submit --cluster dc --cpus 1 -- true)
dr_wait_job_state "$a" succeeded 30
sleep 2
dr_assert_eq "$(dr_job_state "$b")" queued "no new task on a drained node"
dr_assert_eq "$(node_state)" drained "drained once its task ended"

# the drain is kept across a restart
dr_stop_scheduler
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 10s
dr_wait_for "the node back" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster dc | jq -r '.[0].state') == drained ]]"
dr_assert_eq "$(dr_job_state "$b")" queued "still held after the restart"

# bad input and roles
if out=$(dr_cli node drain ghost-9 2>&1); then dr_fail "drained an unknown node"; fi
dr_assert_contains "$out" "ghost-9" "unknown node named"
dr_cli keys generate --name eve --dir "$T" >/dev/null
dr_cli keys add-user eve --role user "$T/eve.pub" >/dev/null
if out=$(DROVER_HOME= DROVER_KEY="$T/eve.key" DROVER_SCHEDULER_KEY="$T/state/keys/scheduler.pub" \
    "$DROVER_BIN/drover" node resume "$node" 2>&1); then
    dr_fail "a plain user resumed a node"
fi
dr_assert_contains "$out" "admin" "resume needs admin"

dr_cli node resume "$node" >/dev/null
dr_wait_job_state "$b" succeeded 30
dr_assert_eq "$(node_state)" idle "resumed"
dr_pass
