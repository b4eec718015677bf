#!/usr/bin/env bash
# Split brain after a frozen node, for a container (issue 12): an agent
# frozen with SIGSTOP past the heartbeat timeout cannot stop its job's
# container, so its lease guard must: by the time the requeued attempt
# runs on the other node, the frozen node's container is dead.  dockerd's
# own clock is the ledger: the first container finished before the second
# started.  Skips without dockerd.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/docker_image.sh"
dr_docker_skip_unless_up
dr_docker_image || dr_fail "cannot build $DR_TEST_IMAGE"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 3s
dr_cli cluster create -n fd -s Standard_D2_v2 --min-nodes 2 --max-nodes 2 >/dev/null
dr_wait_for "two idle nodes" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster fd | jq '[.[] | select(.state==\"idle\")] | length') == 2 ]]"
for n in $(dr_cli -o json node list --cluster fd | jq -r '.[].name'); do
    dr_defer "docker ps -aq --filter label=drover.node=$n | xargs -r docker rm -f >/dev/null 2>&1"
done

id=$(dr_cli job submit --cluster fd --cpus 2 --max-retries 3 --image "$DR_TEST_IMAGE" -- \
    sh -c 'echo "attempt $DROVER_ATTEMPT"; sleep 12')
dr_wait_job_state "$id" running 60
first=$(dr_cli -o json job show "$id" | jq -r '.nodes[0]')
c1=$(docker ps -q --no-trunc --filter "label=drover.node=$first" | head -1)
[[ -n "$c1" ]] || dr_fail "no container of job $id on $first"
apid=$(pgrep -o -f "[d]rover-agent .*--name $first( |$)")
dr_log "freezing agent of $first (pid $apid), container ${c1:0:12}"
kill -STOP "$apid"
dr_defer "kill -CONT $apid 2>/dev/null"
dr_wait_for "attempt 2 running" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json job show $id | jq -r '\"\\(.attempts) \\(.state)\"') == '2 running' ]]"
second=$(dr_cli -o json job show "$id" | jq -r '.nodes[0]')
[[ "$second" != "$first" ]] || dr_fail "attempt 2 went to the frozen node"
running=$(docker inspect -f '{{.State.Running}}' "$c1" 2>/dev/null || echo gone)
dr_assert_eq "$running" false "the frozen node's container is dead before attempt 2 runs"
c2=$(docker ps -q --no-trunc --filter "label=drover.node=$second" | head -1)
[[ -n "$c2" ]] || dr_fail "no container of attempt 2 on $second"
fin=$(date -d "$(docker inspect -f '{{.State.FinishedAt}}' "$c1")" +%s%N)
sta=$(date -d "$(docker inspect -f '{{.State.StartedAt}}' "$c2")" +%s%N)
dr_log "container 1 finished $(((sta - fin) / 1000000)) ms before container 2 started"
((fin < sta)) || dr_fail "the two attempts' containers overlapped by $(((fin - sta) / 1000000)) ms"
kill -CONT "$apid"
dr_log "agent of $first released"
dr_wait_job_state "$id" succeeded 60
dr_pass
