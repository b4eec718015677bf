#!/usr/bin/env bash
# Trace replay (issue 17): the first JOBS (500) jobs of a Philly-derived
# GPU trace (TRACE, default b436b2 of /work/shared/traces/gavel-philly; its
# README gives the format and the durations) replayed onto NODES (8)
# simulated nodes of 8 GPUs (drover-agent --simulate with a GPU inventory)
# at a time compression of COMPRESS (40000: a trace second is 25 us), one
# `drover job submit` per job at its compressed arrival (none waits for an
# earlier one's answer); jobs above 8 GPUs are gangs of whole 8-GPU nodes.
# Printed: queueing delay p50 / p95 / p99, mean JCT, makespan and GPU
# allocation (GPU-seconds held over GPU-seconds offered during the
# makespan) of drover, next to an offline FIFO and EASY-backfill simulation
# of the same jobs on the same nodes (tests/bench/trace_sim.py), in
# seconds of the replay.  A figure, not a pass/fail test.
# Usage: tests/bench/bench_trace.sh [BUILD_DIR]   (default: build)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$REPO/build}" && pwd)
TRACES=${TRACES:-$REPO/../shared/traces/gavel-philly}
[[ -d $TRACES ]] || TRACES=/work/shared/traces/gavel-philly
TRACE=${TRACE:-$TRACES/b436b2.trace}
JOBS=${JOBS:-500}
COMPRESS=${COMPRESS:-40000}
NODES=${NODES:-8}
SIM="$REPO/tests/bench/trace_sim.py"
[[ -r $TRACE ]] || { echo "bench: no trace at $TRACE (set TRACE)" >&2; exit 1; }
source "$REPO/tests/bench/bench_lib.sh"
bench_setup trace
bench_ports
export DROVER_SCHEDULER=tcp://127.0.0.1:$CP
echo "== trace replay: $(basename "$TRACE"), $JOBS jobs, ${COMPRESS}x, $NODES nodes of 8 GPUs ($(nproc) cores)"
python3 "$SIM" sim "$TRACE" "$JOBS" "$COMPRESS" "$NODES"
"$B/drover-scheduler" --state-dir "$T/state" --client-endpoint "$DROVER_SCHEDULER" \
    --agent-endpoint "tcp://127.0.0.1:$AP" --log-level warn --insecure >>"$T/sched.log" 2>&1 &
PIDS+=($!)
until "$B/drover" cluster list >/dev/null 2>&1; do sleep 0.05; done
"$B/drover" cluster create -n trace -s Standard_ND40rs_v2 --min-nodes 0 \
    --max-nodes "$NODES" --idle-seconds-before-scaledown 86400 >/dev/null
python3 - >"$T/gpus.json" <<'PY'
import json
print(json.dumps({"gpus": [{
    "index": i, "uuid": "GPU-trace-%04d" % i, "name": "Tesla V100-SXM2-32GB",
    "memory_total_mb": 32768, "memory_used_mb": 0, "utilization_gpu": 0,
    "utilization_memory": 0, "temperature_c": 40, "power_mw": 50000,
    "power_limit_mw": 300000, "ecc_uncorrected": 0, "healthy": True}
    for i in range(8)]}))
PY
"$B/drover-agent" --simulate "$NODES" --name tr --cluster trace \
    --vm-size Standard_ND40rs_v2 --cpus 40 --memory-mb 688128 \
    --gpu-inventory "$T/gpus.json" \
    --scheduler "tcp://127.0.0.1:$AP" --log-level warn --insecure >"$T/sim.log" 2>&1 &
PIDS+=($!)
until [[ $("$B/drover" -o json node list --cluster trace | jq length) -ge $NODES ]]; do
    sleep 0.2
done
python3 "$SIM" replay "$TRACE" "$JOBS" "$COMPRESS" "$NODES" "$B/drover" trace
q() { sqlite3 -cmd ".timeout 5000" "$T/state/drover.db" "$1"; }
until [[ $(q "SELECT count(*) FROM jobs WHERE state IN ('queued', 'starting', 'running')") == 0 ]]; do
    sleep 0.5
done
python3 "$SIM" report "$TRACE" "$JOBS" "$COMPRESS" "$NODES" "$T/state/drover.db"
