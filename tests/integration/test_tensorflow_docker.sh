#!/usr/bin/env bash
# distribution: tensorflow in containers (issue 16): 2 nodes, 2 workers
# and 1 parameter server in busybox containers (drover brings
# drover-launch into each; TF_CONFIG is set per process inside), worker 0
# (the chief) listens on its own address:port from TF_CONFIG and the other
# tasks connect to it there, every line names its node and rank, and no
# container is left.  Skips itself when no dockerd answers.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/docker_image.sh"
dr_docker_skip_unless_up
dr_docker_image || dr_fail "cannot build $DR_TEST_IMAGE"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms
dr_cli cluster create -n tfd -s Standard_D2_v2 --min-nodes 0 --max-nodes 2 >/dev/null

# worker 0's address and port, from TF_CONFIG, with sed (busybox has no
# JSON tool): chief listens there, the others connect and read its word
script='
cfg="$TF_CONFIG"
me=$(echo "$cfg" | sed -n "s/.*\"task\": {\"type\": \"\([a-z]*\)\", \"index\": \([0-9]*\)}.*/\1 \2/p")
chief=$(echo "$cfg" | sed -n "s/.*\"worker\": \[\"\([0-9.]*\):\([0-9]*\)\".*/\1 \2/p")
set -- $chief
echo "task $me chief $1:$2"
if [ "$me" = "worker 0" ]; then
    for i in 1 2; do echo "hello-from-chief" | nc -l -p "$2" -w 20 >/dev/null; done
else
    for t in $(seq 1 100); do
        got=$(nc -w 5 "$1" "$2" </dev/null 2>/dev/null) && [ -n "$got" ] && break
        sleep 0.2
    done
    echo "task $me got $got"
    [ "$got" = "hello-from-chief" ]
fi'
id=$(dr_cli job submit --cluster tfd --nodes 2 --cpus 1 --image "$DR_TEST_IMAGE" \
    --distribution tensorflow --worker-count 2 --parameter-server-count 1 \
    --max-retries 0 --time-limit 2m -- sh -c "$script")
# a failed test must not leave this job's containers behind
dr_defer "docker ps -aq --filter label=drover.job=$id | xargs -r docker rm -f >/dev/null 2>&1"
dr_wait_job_state "$id" succeeded 120
logs=$(dr_cli job logs "$id")
echo "$logs" | sed 's/^/    | /'
show=$(dr_cli -o json job show "$id")
n0=$(jq -r '.nodes[0]' <<<"$show")
n1=$(jq -r '.nodes[1]' <<<"$show")
grep -qE "^\[$n0 rank 0\] task worker 0 chief [0-9.]+:[0-9]+$" <<<"$logs" || dr_fail "worker 0 on the head"
grep -qxF "[$n0 rank 1] task worker 1 got hello-from-chief" <<<"$logs" || dr_fail "worker 1 reached the chief"
grep -qxF "[$n1 rank 2] task ps 0 got hello-from-chief" <<<"$logs" || dr_fail "ps 0 reached the chief from the other node"
dr_wait_for "no container left" 20 bash -c "[[ -z \$(docker ps -aq --filter label=drover.job=$id) ]]"
dr_pass
