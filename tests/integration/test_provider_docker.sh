#!/usr/bin/env bash
# The docker provider (issue 13): each node a container of the node image
# on a user-defined network, a separate host with its own hostname and IP,
# that joins by token as a VM would.
#  - a cluster scales 0 -> 3 for a 3-node x 2-process MPI job that runs
#    across the three node containers (ranks on three hosts, three IPs);
#  - an image job (a sibling container in the node's network namespace)
#    runs beside a process job;
#  - a node container restarted (a reboot) comes back under its name with
#    its key and without the token;
#  - the scheduler restarted with nodes up keeps them;
#  - then it scales in to 0: the containers are removed.
# Skips without dockerd.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/docker_image.sh"
source "$(dirname "$0")/mpi_image.sh"
source "$(dirname "$0")/node_image.sh"
dr_docker_skip_unless_up
dr_docker_image || dr_fail "cannot build $DR_TEST_IMAGE"
dr_node_image || dr_fail "cannot build $DR_NODE_IMAGE"
dr_setup
net="drover-test-$$"
dr_defer "docker network rm $net >/dev/null 2>&1"
dr_defer "docker ps -aq --filter label=drover.network-test=$net | xargs -r docker rm -f >/dev/null 2>&1"
dr_defer "docker ps -aq --filter label=drover.cluster=dk | xargs -r docker rm -f >/dev/null 2>&1"
sched_args=(--agent-endpoint "tcp://0.0.0.0:$APORT" --docker-node-image "$DR_NODE_IMAGE"
    --docker-network "$net" --heartbeat-interval 500ms --heartbeat-timeout 10s
    --autoscale-interval 200ms)
dr_start_scheduler "${sched_args[@]}"
dr_cli cluster create -n dk -s Standard_D2_v2 --provider docker --min-nodes 0 \
    --max-nodes 3 --idle-seconds-before-scaledown 8 >/dev/null
dr_assert_eq "$(dr_cli -o json node list --cluster dk | jq length)" 0 "no node at first"
containers() { docker ps -q --filter label=drover.cluster=dk | wc -l; }

# ---- 0 -> 3, MPI across three hosts ----
t0=$(dr_now_ms)
id=$(dr_cli job submit --cluster dk --name ring --nodes 3 --procs-per-node 2 \
    --cpus 2 --distribution mpi --max-retries 0 -- mpi_ring)
dr_wait_job_state "$id" running 180
dr_log "submit -> running on 3 fresh node containers: $(($(dr_now_ms) - t0)) ms"
dr_wait_job_state "$id" succeeded 120
dr_assert_eq "$(containers)" 3 "three node containers"
logs=$(dr_cli job logs "$id")
echo "$logs" | grep ' ok$' | sed 's/^/    | /'
dr_assert_eq "$(grep -c ' ok$' <<<"$logs" || true)" 6 "all 6 ranks report the right sum and ring"
hosts=$(grep ' ok$' <<<"$logs" | sed -E 's/.* host ([^ ]+) .*/\1/' | sort -u | wc -l)
dr_assert_eq "$hosts" 3 "the ranks ran on 3 hosts"
ipj=$(dr_cli job submit --cluster dk --nodes 3 --cpus 1 --max-retries 0 -- \
    sh -c 'echo "ip $(hostname) $(hostname -i) rank $DROVER_NODE_RANK head $DROVER_HEAD_ADDR all $DROVER_HOST_ADDRS"')
dr_wait_job_state "$ipj" succeeded 60
# a plain multi-node job: each line names its node
iplines=$(dr_cli job logs "$ipj" | grep '^\[dk-[0-9]*\] ip ' | sed 's/^\[[^]]*\] //')
dr_assert_eq "$(dr_cli job logs "$ipj" | grep -c '^\[dk-[0-9]*\] ip dk-')" 3 "every line names its node"
echo "$iplines" | sed 's/^/    | /'
ips=$(awk '{print $3}' <<<"$iplines" | sort -u | wc -l)
dr_assert_eq "$ips" 3 "each node has its own IP"
all=$(awk '{print $9}' <<<"$iplines" | sort -u)
dr_assert_eq "$(wc -l <<<"$all")" 1 "one DROVER_HOST_ADDRS on every node"
dr_assert_eq "$(tr ',' '\n' <<<"$all" | sort | paste -s -d' ')" \
    "$(awk '{print $3}' <<<"$iplines" | sort | paste -s -d' ')" \
    "DROVER_HOST_ADDRS are the nodes' addresses"
dr_assert_eq "$(awk '$5 == 0 {print $3}' <<<"$iplines")" "$(awk '{print $7}' <<<"$iplines" | sort -u)" \
    "DROVER_HEAD_ADDR is the head's address"

# ---- an image job beside a process job ----
img=$(dr_cli job submit --cluster dk --cpus 1 --image "$DR_TEST_IMAGE" --max-retries 0 -- \
    sh -c 'echo image-job-ran; sleep 2')
proc=$(dr_cli job submit --cluster dk --cpus 1 --max-retries 0 -- sh -c 'echo process-job-ran on $(hostname); sleep 2')
dr_wait_job_state "$img" succeeded 90
dr_wait_job_state "$proc" succeeded 60
dr_assert_contains "$(dr_cli job logs "$img")" "image-job-ran" "the image job's output"
dr_assert_contains "$(dr_cli job logs "$proc")" "process-job-ran on dk-" "the process job ran inside a node"

# ---- a reboot: same name, same key, no token needed ----
node=$(dr_cli -o json node list --cluster dk | jq -r '.[0].name')
key_before=$(sha256sum "$T/state/nodes/$node/node.key" | cut -c1-64)
dr_log "restarting the container of $node"
docker restart -t 2 "$node" >/dev/null
sleep 1
dr_wait_for "$node back" 60 bash -c "[[ \$('$DROVER_BIN/drover' -o json node show $node | jq -r .state) =~ ^(idle|running)$ ]]"
dr_assert_eq "$(sha256sum "$T/state/nodes/$node/node.key" | cut -c1-64)" "$key_before" "the same key after the reboot"
grep -q "join:" <(docker logs "$node" 2>&1 | tail -n 20) &&
    dr_fail "the rebooted node joined again"

# ---- the scheduler restarted with nodes up keeps them ----
dr_stop_scheduler
dr_start_scheduler "${sched_args[@]}"
dr_wait_for "3 nodes back" 60 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster dk | jq '[.[] | select(.state==\"idle\")] | length') == 3 ]]"
dr_assert_eq "$(containers)" 3 "the same three containers"
j=$(dr_cli job submit --cluster dk --cpus 1 -- echo after-restart)
dr_wait_job_state "$j" succeeded 60

# ---- scale in to 0 ----
dr_wait_for "scale in to 0" 90 bash -c "[[ \$(docker ps -aq --filter label=drover.cluster=dk | wc -l) == 0 ]]"
dr_wait_for "no node left" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster dk | jq length) == 0 ]]"
dr_pass
