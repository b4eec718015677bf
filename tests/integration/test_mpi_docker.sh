#!/usr/bin/env bash
# A multi-node MPI job in containers: the image carries OpenMPI and the
# program (built here from this machine's OpenMPI with docker import), the
# head's container runs mpirun, each worker's orted runs in a container of
# its own node's task, drover-launch travels in with the task's scratch
# dir.  Then a worker killed mid-job: no container is left anywhere.
# Skips itself when no dockerd answers.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/docker_image.sh"
source "$(dirname "$0")/mpi_image.sh"
dr_docker_skip_unless_up
dr_setup
dr_mpi_image || dr_fail "cannot build $DR_MPI_IMAGE"
dr_start_scheduler --heartbeat-interval 1s --heartbeat-timeout 6s \
    --autoscale-interval 200ms
dr_cli cluster create -n mpid -s Standard_D2_v2 --min-nodes 0 --max-nodes 2 \
    --idle-seconds-before-scaledown 120 >/dev/null
dr_defer "docker ps -aq --filter label=drover.managed=true | xargs -r docker rm -f >/dev/null 2>&1"
# the job's containers on this test's nodes: another installation on this
# dockerd (an earlier test whose containers are still being removed) may
# have had a job of the same id
job_containers() {
    docker ps -a --filter "label=drover.job=$1" --format '{{.Label "drover.node"}}' |
        grep -c '^mpid-' || true
}

id=$(dr_cli job submit --cluster mpid --name ring-docker --image "$DR_MPI_IMAGE" \
    --nodes 2 --procs-per-node 2 --cpus 2 --memory 1G --distribution mpi \
    --max-retries 0 -- mpi_ring)
dr_wait_job_state "$id" succeeded 180
logs=$(dr_cli job logs "$id")
echo "$logs" | sed 's/^/    | /'
dr_assert_eq "$(grep -c ' ok$' <<<"$logs" || true)" 4 "all 4 ranks report the right sum and ring"
dr_assert_eq "$(grep ' ok$' <<<"$logs" | grep -c 'sum 10 ')" 4 "allreduce sum is 10"
nodes=$(grep ' ok$' <<<"$logs" | sed -E 's/.* node ([^ ]+) host .*/\1/' | sort -u | wc -l)
dr_assert_eq "$nodes" 2 "the ranks ran on 2 distinct drover nodes"
dr_wait_for "no container of the job left" 20 bash -c "[[ \$(docker ps -a --filter label=drover.job=$id --format '{{.Label \"drover.node\"}}' | grep -c '^mpid-') == 0 ]]"

# a worker's container killed mid-job
id=$(dr_cli job submit --cluster mpid --name ring-docker-kill --image "$DR_MPI_IMAGE" \
    --nodes 2 --procs-per-node 2 --cpus 2 --memory 1G --distribution mpi \
    --max-retries 0 -- mpi_ring 60)
dr_wait_for "all 4 ranks up" 90 bash -c "[[ \$('$DROVER_BIN/drover' job logs $id | grep -c '^\[.* ready rank') == 4 ]]"
worker=$(dr_cli -o json job show "$id" | jq -r '.nodes[1]')
cid=$(docker ps -q --filter "label=drover.job=$id" --filter "label=drover.node=$worker")
[[ -n "$cid" ]] || dr_fail "no container for the worker $worker"
dr_assert_eq "$(job_containers "$id")" 2 "one container per node"
docker kill "$cid" >/dev/null
dr_wait_for "job $id fails" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json job show $id | jq -r .state) == failed ]]"
dr_log "reason: $(dr_cli -o json job show "$id" | jq -r .reason)"
dr_wait_for "no container of the job left" 30 bash -c "[[ \$(docker ps -a --filter label=drover.job=$id --format '{{.Label \"drover.node\"}}' | grep -c '^mpid-') == 0 ]]"
dr_pass
