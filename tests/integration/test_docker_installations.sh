#!/usr/bin/env bash
# Two drover installations share one dockerd, and each has a node named
# "twin" (an operator's agent, joined by hand).  Each runs an image job.
# The agent of installation A is killed with SIGKILL and started again:
# it adopts its own container only, and the container of installation B
# is never removed -- it runs on, and B's job succeeds with its whole
# log.  Before the installation label, the restarted agent's start-up
# list matched B's container by drover.node alone, and its sweep removed
# it.  A container without the label (an older agent's) is left alone
# with a warning.  Skips without dockerd.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/docker_image.sh"
dr_docker_skip_unless_up
dr_docker_image || dr_fail "cannot build $DR_TEST_IMAGE"
dr_setup
node=twin

# installation A: the harness's scheduler
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 30s
A_CLI=$DROVER_SCHEDULER A_EP=$AGENT_EP A_HOME=$DROVER_HOME
# installation B: a second scheduler with a state dir (and keys) of its own
dr_pick_ports
B_CLI="tcp://127.0.0.1:$CPORT" B_EP="tcp://127.0.0.1:$APORT"
B_HOME=$T/state-b/keys
mkdir -p "$T/state-b"
dr_spawn "$T/scheduler-b.log" "$DROVER_BIN/drover-scheduler" --state-dir "$T/state-b" \
    --client-endpoint "$B_CLI" --agent-endpoint "$B_EP" \
    --heartbeat-interval 500ms --heartbeat-timeout 30s
cli_a() { DROVER_SCHEDULER=$A_CLI DROVER_HOME=$A_HOME "$DROVER_BIN/drover" "$@"; }
cli_b() { DROVER_SCHEDULER=$B_CLI DROVER_HOME=$B_HOME "$DROVER_BIN/drover" "$@"; }
dr_wait_for "scheduler B answers" 20 cli_b cluster list
dr_assert_eq "$(cmp -s "$T/state/keys/scheduler.pub" "$T/state-b/keys/scheduler.pub" && echo same || echo differ)" \
    differ "the two installations have different keys"

# a failed test must not leave containers behind
dr_defer "docker ps -aq --filter label=drover.node=$node | xargs -r docker rm -f >/dev/null 2>&1"
containers() { docker ps -q --filter "label=drover.node=$node" "$@" | wc -l; }

# one agent named $node per installation, on the one dockerd
start_agent() { # X EP HOME LOG
    "$DROVER_BIN/drover" keys generate --name "$node-$1" --dir "$T" >/dev/null
    DROVER_SCHEDULER=$([[ $1 == a ]] && echo "$A_CLI" || echo "$B_CLI") DROVER_HOME=$3 \
        "$DROVER_BIN/drover" keys add-agent "$node" "$T/$node-$1.pub" >/dev/null
    dr_spawn "$4" "$DROVER_BIN/drover-agent" --key "$T/$node-$1.key" \
        --scheduler-key "$3/scheduler.pub" --scheduler "$2" --name "$node" \
        --cluster c --vm-size Standard_D2_v2 --cpus 2 --memory-mb 2048 \
        --work-dir "$T/agent-$1" --heartbeat-interval 500ms
}
cli_a cluster create -n c -s Standard_D2_v2 --min-nodes 0 --max-nodes 1 >/dev/null
cli_b cluster create -n c -s Standard_D2_v2 --min-nodes 0 --max-nodes 1 >/dev/null
start_agent a "$A_EP" "$A_HOME" "$T/agent-a.log"
apid=$DR_SPAWN_PID
start_agent b "$B_EP" "$B_HOME" "$T/agent-b.log"
idle_on() { [[ "$("$@" -o json node list --cluster c | jq -r '.[] | select(.name=="twin") | .state')" == idle ]]; }
dr_wait_for "twin idle in A" 30 idle_on cli_a
dr_wait_for "twin idle in B" 30 idle_on cli_b
inst_a=$(sed -n 's/.*drover.installation=\([0-9a-f]*\).*/\1/p' "$T/agent-a.log" | head -n 1)
inst_b=$(sed -n 's/.*drover.installation=\([0-9a-f]*\).*/\1/p' "$T/agent-b.log" | head -n 1)
[[ -n "$inst_a" && -n "$inst_b" && "$inst_a" != "$inst_b" ]] ||
    dr_fail "the agents name two installations: '$inst_a' '$inst_b'"

# a container of an agent older than the label, with this node's labels
docker run -d --label drover.managed=true --label drover.node=$node \
    --label drover.job=99 --label drover.attempt=1 --name "drover-$node-99-1-old-$$" \
    "$DR_TEST_IMAGE" sleep 300 >/dev/null

job_a=$(cli_a job submit --cluster c --image "$DR_TEST_IMAGE" -- sleep 300)
job_b=$(cli_b job submit --cluster c --image "$DR_TEST_IMAGE" -- \
    sh -c 'for i in $(seq 1 40); do echo b $i; sleep 0.5; done')
# the same job id in both: the container names must still differ
dr_assert_eq "$job_a" "$job_b" "both installations' first job has the same id"
state_of() { "$1" -o json job show "$2" | jq -r .state; }
dr_wait_for "A's job running" 60 bash -c "[[ \$(DROVER_SCHEDULER=$A_CLI DROVER_HOME=$A_HOME '$DROVER_BIN/drover' -o json job show $job_a | jq -r .state) == running ]]"
dr_wait_for "B's job running" 60 bash -c "[[ \$(DROVER_SCHEDULER=$B_CLI DROVER_HOME=$B_HOME '$DROVER_BIN/drover' -o json job show $job_b | jq -r .state) == running ]]"
dr_assert_eq "$(containers --filter "label=drover.installation=$inst_a")" 1 "A's container"
dr_assert_eq "$(containers --filter "label=drover.installation=$inst_b")" 1 "B's container"
cid_b=$(docker ps -q --no-trunc --filter "label=drover.installation=$inst_b")

# A's agent dies and comes back: it adopts its own container only
mapfile -d '' args <"/proc/$apid/cmdline"
dr_log "killing the agent of installation A (pid $apid)"
kill -KILL "$apid"
dr_spawn "$T/agent-a-again.log" "${args[@]}"
dr_wait_for "A's agent adopted its container" 30 grep -q "adopted container" "$T/agent-a-again.log"
dr_wait_for "A's agent registered again" 30 grep -q "registered with" "$T/agent-a-again.log"
dr_assert_contains "$(cat "$T/agent-a-again.log")" "other drover installations" "B's container seen and left alone"
dr_assert_contains "$(cat "$T/agent-a-again.log")" "no drover.installation label" "the old container is warned about"
dr_assert_eq "$(grep -c "adopted container" "$T/agent-a-again.log")" 1 "A adopted one container"
sleep 3 # past the start-up list and its removals
[[ "$(docker inspect -f '{{.State.Running}}' "$cid_b" 2>/dev/null)" == true ]] ||
    dr_fail "installation B's container was stopped or removed by A's agent"
dr_assert_eq "$(docker inspect -f '{{.State.Running}}' "drover-$node-99-1-old-$$")" true \
    "the unlabelled container is left alone"

# B's job finishes on its own, its log whole; A's job is still A's
dr_wait_for "B's job succeeded" 60 bash -c "[[ \$(DROVER_SCHEDULER=$B_CLI DROVER_HOME=$B_HOME '$DROVER_BIN/drover' -o json job show $job_b | jq -r .state) == succeeded ]]"
logs=$(cli_b job logs "$job_b")
dr_assert_contains "$logs" "b 1"$'\n' "B's log begins"
dr_assert_contains "$logs" "b 40" "B's log is whole"
dr_assert_eq "$(state_of cli_b "$job_b")" succeeded "B's job"
dr_assert_eq "$(cli_b -o json job show "$job_b" | jq -r .attempts)" 1 "B's job ran once"
dr_assert_eq "$(state_of cli_a "$job_a")" running "A's job runs on in its adopted container"
cli_a job cancel "$job_a" >/dev/null
dr_wait_for "A's job canceled" 60 bash -c "[[ \$(DROVER_SCHEDULER=$A_CLI DROVER_HOME=$A_HOME '$DROVER_BIN/drover' -o json job show $job_a | jq -r .state) == canceled ]]"
dr_pass
