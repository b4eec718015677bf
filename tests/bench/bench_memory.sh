#!/usr/bin/env bash
# The scheduler's memory over many finished jobs (issue 17: finished jobs
# leave memory, they stay in the store; RSS flat over a 1,000,000-job
# run).  NODES (1,000) simulated nodes of 16 cpus; ROUNDS (10) rounds of
# BATCH (100,000) zero-second `true` jobs (one --array each), each round
# drained before the next; after each round the scheduler's RSS (and its
# peak), the jobs done so far and the round's drain rate.  A figure, not
# a pass/fail test.
# Usage: tests/bench/bench_memory.sh [BUILD_DIR]   (default: build)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$REPO/build}" && pwd)
NODES=${NODES:-1000}
ROUNDS=${ROUNDS:-10}
BATCH=${BATCH:-100000}
source "$REPO/tests/bench/bench_lib.sh"
bench_setup memory
bench_sim_cluster "$NODES" 16
until [[ $("$B/drover" -o json node list --cluster bench | jq length) -ge $NODES ]]; do
    sleep 0.2
done
q() { sqlite3 -cmd ".timeout 5000" "$DB" "$1"; }
kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$SCHED/status"; }
echo "== memory: $NODES simulated nodes, $ROUNDS rounds of $BATCH jobs ($(nproc) cores)"
echo "  before any job: RSS $(($(kib VmRSS) / 1024)) MiB"
for r in $(seq "$ROUNDS"); do
    t0=$(ms)
    "$B/drover" --timeout 600s job submit --cluster bench --array "0-$((BATCH - 1))" -- true >/dev/null
    until [[ $(q "SELECT count(*) FROM jobs WHERE state IN ('queued', 'starting', 'running')") == 0 ]]; do
        sleep 0.5
    done
    dt=$(($(ms) - t0))
    printf '  after %7d jobs: RSS %4d MiB (peak %4d MiB); this round %d ms, %d jobs/s\n' \
        "$((r * BATCH))" "$(($(kib VmRSS) / 1024))" "$(($(kib VmHWM) / 1024))" "$dt" \
        "$((BATCH * 1000 / (dt > 0 ? dt : 1)))"
done
echo "  jobs not succeeded: $(q "SELECT count(*) FROM jobs WHERE state != 'succeeded'")"
