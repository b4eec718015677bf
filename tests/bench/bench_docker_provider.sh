#!/usr/bin/env bash
# The docker provider's cold start, printed as figures (not pass/fail):
# the time from a job's submit on a cluster at 0 nodes to its running on a
# fresh node container: the container's create and start, the agent's
# start, its join by token (a CURVE handshake as an unknown key, the Join,
# a second handshake with its own key) and registration, and the task's
# start.  Each trial waits until the cluster is back at 0 containers.
# Median and max of TRIALS (10).
#
# Usage: tests/bench/bench_docker_provider.sh [BUILD_DIR]   (default: build)
# Needs root, a dockerd, busybox-static, OpenMPI (the test node image).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
source "$REPO/tests/bench/bench_lib.sh"
B=$(cd "${1:-$REPO/build}" && pwd)
TRIALS=${TRIALS:-10}
export DROVER_BIN=$B
source "$REPO/tests/integration/docker_image.sh"
source "$REPO/tests/integration/mpi_image.sh"
source "$REPO/tests/integration/node_image.sh"
dr_docker_up || { echo "no dockerd answers on $DOCKER_SOCK" >&2; exit 1; }
dr_node_image
T=$(mktemp -d /tmp/drover-bench-dk.XXXXXX)
NET=drover-bench-$$
SCHED=""
cleanup() {
    [[ -n "$SCHED" ]] && kill -TERM "$SCHED" 2>/dev/null && sleep 1
    docker ps -aq --filter label=drover.cluster=bdk | xargs -r docker rm -f >/dev/null 2>&1
    docker network rm "$NET" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
bench_ports
"$B/drover-scheduler" --state-dir "$T/state" --client-endpoint "tcp://127.0.0.1:$CP" \
    --agent-endpoint "tcp://0.0.0.0:$AP" --docker-node-image "$DR_NODE_IMAGE" \
    --docker-network "$NET" --autoscale-interval 100ms >"$T/sched.log" 2>&1 &
SCHED=$!
export DROVER_SCHEDULER="tcp://127.0.0.1:$CP" DROVER_HOME="$T/state/keys"
for _ in $(seq 1 100); do "$B/drover" cluster list >/dev/null 2>&1 && break; sleep 0.1; done
"$B/drover" cluster create -n bdk -s Standard_D2_v2 --provider docker --min-nodes 0 \
    --max-nodes 1 --idle-seconds-before-scaledown 1 >/dev/null
ms() { date +%s%3N; }
times=()
for i in $(seq 1 "$TRIALS"); do
    t0=$(ms)
    id=$("$B/drover" job submit --cluster bdk --cpus 1 -- true)
    until [[ $("$B/drover" -o json job show "$id" | jq -r .state) =~ ^(running|succeeded)$ ]]; do
        sleep 0.02
        (($(ms) - t0 < 120000)) || { echo "trial $i: job $id never ran" >&2; exit 1; }
    done
    t1=$(ms)
    times+=($((t1 - t0)))
    until [[ $(docker ps -aq --filter label=drover.cluster=bdk | wc -l) == 0 &&
        $("$B/drover" -o json node list --cluster bdk | jq length) == 0 ]]; do
        sleep 0.2
    done
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(sed -n "$(((TRIALS + 1) / 2))p" <<<"$sorted")
max=$(tail -1 <<<"$sorted")
echo "docker provider: submit on 0 nodes -> running on a fresh node container: median ${median} ms, max ${max} ms ($TRIALS trials)"
