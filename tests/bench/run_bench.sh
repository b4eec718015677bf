#!/usr/bin/env bash
# Benchmarks of the working core, printing figures (not pass/fail):
#  1. 1,000 simulated nodes (drover-agent --simulate) and 10,000 jobs:
#     submissions acknowledged per second, submit->running median and p99,
#     the scheduler's peak memory;
#  2. 100,000 queued jobs on a cluster with no nodes: submission rate, the
#     scheduler's memory, and the time of a restart that reloads them.
# Usage: tests/bench/run_bench.sh [BUILD_DIR]   (default: build)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$REPO/build}" && pwd)
NODES=${NODES:-1000}
JOBS=${JOBS:-10000}
QUEUED=${QUEUED:-100000}
T=$(mktemp -d /tmp/drover-bench.XXXXXX)
source "$REPO/tests/bench/bench_lib.sh"
bench_ports # CP, AP
export DROVER_SCHEDULER=tcp://127.0.0.1:$CP
# the figures below are for the scheduler's core; CURVE's cost is measured
# by bench_curve (handshakes and heartbeats)
export DROVER_INSECURE=1
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

start_sched() {
    "$B/drover-scheduler" --state-dir "$T/state" --client-endpoint "$DROVER_SCHEDULER" \
        --agent-endpoint "tcp://127.0.0.1:$AP" --heartbeat-interval 5s \
        --heartbeat-timeout 60s --log-level warn --insecure >>"$T/sched.log" 2>&1 &
    SCHED=$!
    PIDS+=("$SCHED")
    until "$B/drover" cluster list >/dev/null 2>&1; do sleep 0.1; done
}
ms() { date +%s%3N; }
peak_rss() { awk '/VmHWM/ {print $2 / 1024 " MiB"}' "/proc/$1/status"; }
rss() { awk '/VmRSS/ {print $2 / 1024 " MiB"}' "/proc/$1/status"; }

echo "== drover benchmark: $NODES simulated nodes, $JOBS jobs ($(nproc) cores)"
start_sched
# 16-cpu nodes: every job finds a free slot, so the latency is the
# scheduler's and the agent's, not a queue's
"$B/drover" cluster create -n bench -s Standard_D5_v2 --min-nodes 0 \
    --max-nodes "$NODES" --idle-seconds-before-scaledown 86400 >/dev/null
"$B/drover-agent" --simulate "$NODES" --name sim --cluster bench \
    --vm-size Standard_D5_v2 --cpus 16 --memory-mb 57344 \
    --scheduler "tcp://127.0.0.1:$AP" --log-level warn --insecure >"$T/sim.log" 2>&1 &
PIDS+=($!)
t0=$(ms)
until [[ $("$B/drover" -o json node list --cluster bench | jq length) -ge $NODES ]]; do
    sleep 0.2
done
echo "registration: $NODES nodes in $(($(ms) - t0)) ms"
"$B/bench_submit" --scheduler "$DROVER_SCHEDULER" --cluster bench \
    --db "$T/state/drover.db" --jobs "$JOBS" --duration 2
echo "scheduler memory: peak $(peak_rss "$SCHED"), now $(rss "$SCHED")"
kill -TERM "$SCHED"; wait "$SCHED" 2>/dev/null || true
kill -TERM "${PIDS[1]}" 2>/dev/null || true
rm -rf "$T/state"

echo "== $QUEUED queued jobs on a cluster with no nodes"
start_sched
"$B/drover" cluster create -n hold -s Standard_D2_v2 --min-nodes 0 --max-nodes 0 >/dev/null
"$B/bench_submit" --scheduler "$DROVER_SCHEDULER" --cluster hold \
    --db "$T/state/drover.db" --jobs "$QUEUED" --no-wait
echo "scheduler memory with $QUEUED queued: $(rss "$SCHED")"
t0=$(ms)
"$B/drover" job submit --cluster hold -- true >/dev/null
echo "one more submission with $QUEUED queued: $(($(ms) - t0)) ms (CLI round trip)"
kill -KILL "$SCHED"; wait "$SCHED" 2>/dev/null || true
t0=$(ms)
start_sched
echo "restart after kill -9 with $QUEUED queued: answering after $(($(ms) - t0)) ms"
echo "queued after restart: $("$B/drover" -o json job list --state queued --cluster hold | jq length)"
echo "scheduler memory after reload: $(rss "$SCHED")"
