#!/usr/bin/env bash
# Bulk submission (issues 15 and 17): `drover job submit --array 0-(N-1)`
# queues N jobs in one round trip, acknowledged only after its commit;
# `job submit --each-line FILE` queues N differing jobs (a file of N
# commands, each its own line) in round trips of 10,000; both printed as
# jobs/s (one CLI process, wall clock from exec to exit), on SQLite and on
# PostgreSQL, next to single `job submit` calls for a fraction of N.  A
# figure, not a pass/fail test.
# Usage: tests/bench/bench_array.sh [BUILD_DIR]   (default: build)
# Environment: N (10000, the array's size, at most 100000), SINGLE (200)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$REPO/build}" && pwd)
N=${N:-10000}
SINGLE=${SINGLE:-200}
source "$REPO/tests/bench/bench_lib.sh"
bench_setup array
backends=(sqlite)
URI=""
if command -v psql >/dev/null && URI=$("$REPO/tests/pg/pg_server.sh" start "$T/pg" | tail -1); then
    backends+=(postgresql)
fi
for backend in "${backends[@]}"; do
    store=""
    [[ $backend == postgresql ]] && store=$URI
    bench_ports
    export DROVER_SCHEDULER=tcp://127.0.0.1:$CP
    "$B/drover-scheduler" --state-dir "$T/$backend" ${store:+--store "$store"} \
        --client-endpoint "$DROVER_SCHEDULER" --agent-endpoint "tcp://127.0.0.1:$AP" \
        --log-level warn --insecure >>"$T/$backend.log" 2>&1 &
    PIDS+=($!)
    until "$B/drover" cluster list >/dev/null 2>&1; do sleep 0.05; done
    "$B/drover" cluster create -n hold -s Standard_D2_v2 --min-nodes 0 --max-nodes 0 >/dev/null
    t0=$(ms)
    "$B/drover" --timeout 600s job submit --cluster hold --array "0-$((N - 1))" -- true >/dev/null
    t1=$(ms)
    seq 1 "$N" | sed 's/^/echo job /' >"$T/cmds"
    "$B/drover" --timeout 600s job submit --cluster hold --each-line "$T/cmds" >/dev/null
    te=$(ms)
    for ((i = 0; i < SINGLE; i++)); do
        "$B/drover" job submit --cluster hold -- true >/dev/null
    done
    t2=$(ms)
    n=$("$B/drover" -o json job list --cluster hold --limit $((2 * N + SINGLE)) | jq length)
    ((n == 2 * N + SINGLE)) || { echo "bench: $n jobs queued, want $((2 * N + SINGLE))" >&2; exit 1; }
    echo "== $backend"
    awk -v n="$N" -v ms="$((t1 - t0))" -v ems="$((te - t1))" -v s="$SINGLE" -v sms="$((t2 - te))" 'BEGIN {
        printf "  FIGURE array_submit_jobs_per_s=%.0f (one --array 0-%d, %d ms, durable)\n", n * 1000 / ms, n - 1, ms
        printf "  FIGURE each_line_submit_jobs_per_s=%.0f (--each-line, %d differing commands, %d ms, durable)\n", n * 1000 / ems, n, ems
        printf "  FIGURE single_submit_jobs_per_s=%.0f (%d sequential job submit calls, %d ms)\n", s * 1000 / sms, s, sms
    }'
    kill -TERM "${PIDS[-1]}" 2>/dev/null || true
    wait "${PIDS[-1]}" 2>/dev/null || true
done
