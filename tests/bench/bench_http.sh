#!/usr/bin/env bash
# The HTTP listener's figures: /metrics scrape time with NODES (5,000)
# simulated nodes (drover-agent --simulate) of GPUS (8) GPUs each (an
# inventory file: every hollow node reports them in its heartbeats), and
# the JSON API's request latency (p50, p99 of GET /api/v1/jobs?limit=100,
# /clusters and the Studio's /clusters/NAME/history) while a scraper
# reads /metrics every second.
# Usage: tests/bench/bench_http.sh [BUILD_DIR]   (default: build)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$REPO/build}" && pwd)
NODES=${NODES:-5000}
REQS=${REQS:-1000}
GPUS=${GPUS:-8}
T=$(mktemp -d /tmp/drover-bench-http.XXXXXX)
source "$REPO/tests/bench/bench_lib.sh"
bench_ports # CP, AP
HP=$((CP + 7))
export DROVER_SCHEDULER=tcp://127.0.0.1:$CP DROVER_HOME=$T/state/keys
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$B/drover-scheduler" --state-dir "$T/state" --client-endpoint "$DROVER_SCHEDULER" \
    --agent-endpoint "tcp://127.0.0.1:$AP" --http-listen "127.0.0.1:$HP" \
    --heartbeat-interval 5s --heartbeat-timeout 60s --log-level warn --insecure \
    >>"$T/sched.log" 2>&1 &
PIDS+=($!)
until "$B/drover" --insecure cluster list >/dev/null 2>&1; do sleep 0.1; done
TOKEN=$("$B/drover" --insecure keys token create admin | awk '{print $NF}')
"$B/drover" --insecure cluster create -n bench -s Standard_D5_v2 --min-nodes 0 \
    --max-nodes "$NODES" --idle-seconds-before-scaledown 86400 >/dev/null
# GPUS GPUs of varied load, as an inventory file (drover-agent(8), GPUS)
/usr/bin/python3 - "$GPUS" >"$T/gpus.json" <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"gpus": [{
    "index": i, "uuid": "GPU-bench-%04d" % i, "name": "Tesla V100-PCIE-16GB",
    "memory_total_mb": 16384, "memory_used_mb": 1024 * i,
    "utilization_gpu": (37 * i) % 101, "utilization_memory": (11 * i) % 101,
    "temperature_c": 40 + i, "power_mw": 50000 + 1000 * i,
    "power_limit_mw": 250000, "ecc_uncorrected": 0, "healthy": True}
    for i in range(n)]}))
PY
"$B/drover-agent" --simulate "$NODES" --name sim --cluster bench \
    --vm-size Standard_D5_v2 --cpus 16 --memory-mb 57344 \
    --gpu-inventory "$T/gpus.json" \
    --scheduler "tcp://127.0.0.1:$AP" --log-level warn --insecure >"$T/sim.log" 2>&1 &
PIDS+=($!)
until [[ $(curl -s "http://127.0.0.1:$HP/metrics" |
    awk '/^drover_nodes\{cluster="bench",state="idle"\}/ {print $2}') -ge $NODES ]]; do
    sleep 0.5
done
for i in $(seq 50); do "$B/drover" --insecure job submit --cluster bench -- sleep 600 >/dev/null; done
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int(NR*p/100); if (i<1) i=1; printf "%.2f ms", a[i]*1000}'; }
for i in $(seq 20); do
    curl -s -o "$T/m" -w '%{time_total}\n' "http://127.0.0.1:$HP/metrics"
done >"$T/scrape"
echo "== /metrics at $NODES simulated nodes, $GPUS GPUs each" \
    "($(grep -c '^drover_gpu_utilization_ratio{' "$T/m") GPU series): $(wc -c <"$T/m") bytes," \
    "$(grep -vc '^#' "$T/m") series; scrape p50 $(pct 50 <"$T/scrape"), p99 $(pct 99 <"$T/scrape")"
( while :; do curl -s -o /dev/null "http://127.0.0.1:$HP/metrics"; sleep 1; done ) &
PIDS+=($!)
for i in $(seq "$REQS"); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$HP/api/v1/jobs?limit=100"
done >"$T/api"
for i in $(seq "$REQS"); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$HP/api/v1/clusters"
done >"$T/api2"
for i in $(seq "$REQS"); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$HP/api/v1/clusters/bench/history"
done >"$T/api3"
echo "== API under a scrape every second ($REQS requests each, curl per request):"
echo "   GET /api/v1/jobs?limit=100: p50 $(pct 50 <"$T/api"), p99 $(pct 99 <"$T/api")"
echo "   GET /api/v1/clusters:       p50 $(pct 50 <"$T/api2"), p99 $(pct 99 <"$T/api2")"
echo "   GET /api/v1/clusters/bench/history: p50 $(pct 50 <"$T/api3"), p99 $(pct 99 <"$T/api3")"
