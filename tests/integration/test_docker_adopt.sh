#!/usr/bin/env bash
# kill -9 of an agent whose job runs in a container: the container goes on;
# an agent started again for the node (before the node is declared lost)
# finds it by its labels, reports it at registration, follows it to the
# end, and the job's log is whole.  Then the agent is stopped (SIGTERM)
# with a container running: it is stopped and removed.  Skips without
# dockerd.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/docker_image.sh"
dr_docker_skip_unless_up
dr_docker_image || dr_fail "cannot build $DR_TEST_IMAGE"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 30s
dr_cli cluster create -n adopt -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null
dr_wait_for "the node" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster adopt | jq '[.[] | select(.state==\"idle\")] | length') == 1 ]]"
node=$(dr_cli -o json node list --cluster adopt | jq -r '.[0].name')
containers() { docker ps -aq --filter "label=drover.node=$node" | wc -l; }
none_left() { [[ "$(containers)" == 0 ]]; }
# a failed test must not leave containers behind
dr_defer "docker ps -aq --filter label=drover.node=$node | xargs -r docker rm -f >/dev/null 2>&1"

id=$(dr_cli job submit --cluster adopt --image "$DR_TEST_IMAGE" -- \
    sh -c 'for i in 1 2 3 4 5 6 7 8; do echo out $i; echo err $i >&2; sleep 0.5; done')
dr_wait_job_state "$id" running 60
sleep 1
apid=$(pgrep -o -f "[d]rover-agent .*--name $node ")
mapfile -d '' args <"/proc/$apid/cmdline"
dr_log "killing agent of $node (pid $apid)"
kill -KILL "$apid"
dr_assert_eq "$(containers)" 1 "the container outlives its agent"
dr_spawn "$T/agent-again.log" "${args[@]}"
dr_wait_job_state "$id" succeeded 60
logs=$(dr_cli job logs "$id")
for i in 1 2 3 4 5 6 7 8; do
    dr_assert_contains "$logs" "out $i" "stdout line $i"
    dr_assert_contains "$logs" "err $i" "stderr line $i"
done
dr_assert_eq "$(grep -c 'out 1' <<<"$logs")" 1 "no line twice"
dr_assert_contains "$(cat "$T/agent-again.log")" "adopted container" "adoption logged"
dr_wait_for "the container to be removed" 10 none_left

# the node's agent is told to stop (SIGTERM, as a release of the node
# does) while a container runs: stopped, removed, reported
sid=$(dr_cli job submit --cluster adopt --image "$DR_TEST_IMAGE" --max-retries 0 -- sleep 300)
dr_wait_job_state "$sid" running 60
apid=$(pgrep -o -f "[d]rover-agent .*--name $node ")
kill -TERM "$apid"
dr_wait_for "the container to be removed" 30 none_left
agent_gone() { ! kill -0 "$apid" 2>/dev/null; }
dr_wait_for "the agent to exit" 30 agent_gone
dr_pass
