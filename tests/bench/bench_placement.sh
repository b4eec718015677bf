#!/usr/bin/env bash
# Placement at scale (issue 17): NODES (5,000) simulated nodes
# (drover-agent --simulate) of CPUS (16) cpus each, JOBS (100,000) queued
# zero-second `true` jobs (cpus 1, submitted as --arrays of 100,000; GATE
# must outlast the submission of a million), then the
# drain.  The jobs wait on one gate job (`sleep GATE`, a hollow run) with
# --dependency afterok, so that all of them are queued, with every node
# registered and idle, when the gate ends and they are released at once.
# Printed, from the store's started_at / ended_at (the agent's and the
# scheduler's wall clocks, one machine): jobs placed per second during the
# drain, running -> ended p50 / p99 of the drained jobs, the drain's
# length, and the scheduler's CPU time during the drain and its peak RSS
# (and the simulator's CPU time: on a small machine it competes).
# With PERF=FILE the scheduler is recorded (perf record -g) during the
# drain into FILE (PERF_OPTS: its options, default -g); with TIMES=FILE
# the jobs' times are kept there (gate end|started_at|ended_at, in ms).  A figure, not a pass/fail test.
# Usage: tests/bench/bench_placement.sh [BUILD_DIR]   (default: build)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$REPO/build}" && pwd)
NODES=${NODES:-5000}
CPUS=${CPUS:-16}
JOBS=${JOBS:-100000}
GATE=${GATE:-15}
PERF=${PERF:-}
source "$REPO/tests/bench/bench_lib.sh"
bench_setup placement
bench_sim_cluster "$NODES" "$CPUS"
t0=$(ms)
until [[ $("$B/drover" -o json node list --cluster bench | jq length) -ge $NODES ]]; do
    sleep 0.2
done
echo "== placement: $NODES simulated nodes of $CPUS cpus, $JOBS queued jobs ($(nproc) cores)"
echo "  registration: $NODES nodes in $(($(ms) - t0)) ms"
gate=$("$B/drover" job submit --cluster bench -- sleep "$GATE")
t1=$(ms)
# arrays of at most 100,000 (the most one may hold): one for 100,000 jobs,
# ten for a million
for ((k = 0; k < JOBS; k += 100000)); do
    n=$((JOBS - k < 100000 ? JOBS - k : 100000))
    "$B/drover" --timeout 600s job submit --cluster bench --array "0-$((n - 1))" \
        --dependency "afterok:$gate" -- true >/dev/null
done
echo "  submission: $JOBS jobs ($(((JOBS + 99999) / 100000)) --array) in $(($(ms) - t1)) ms"
q() { sqlite3 -cmd ".timeout 5000" "$DB" "$1"; }
ticks() { awk '{print $14 + $15}' "/proc/${1:-$SCHED}/stat"; }
# the drain starts when the gate ends
until [[ $(q "SELECT state FROM jobs WHERE id = $gate") == succeeded ]]; do sleep 0.05; done
cpu0=$(ticks)
sim0=$(ticks "$SIM")
w0=$(ms)
if [[ -n $PERF ]]; then
    perf record ${PERF_OPTS:--g} -o "$PERF" -p "$SCHED" >/dev/null 2>&1 &
    PERFPID=$!
fi
# (the index on state: a cheap poll, beside a scheduler on few cores)
until [[ $(q "SELECT count(*) FROM jobs WHERE state IN ('queued', 'starting', 'running')") == 0 ]]; do
    sleep 0.2
done
cpu1=$(ticks)
sim1=$(ticks "$SIM")
w1=$(ms)
if [[ -n $PERF ]]; then
    kill -INT "$PERFPID"
    wait "$PERFPID" || true
fi
failed=$(q "SELECT count(*) FROM jobs WHERE id != $gate AND state != 'succeeded'")
q "SELECT (SELECT ended_at FROM jobs WHERE id = $gate), started_at, ended_at
   FROM jobs WHERE id != $gate" >"$T/times"
[[ -n ${TIMES:-} ]] && cp "$T/times" "$TIMES"
python3 - "$T/times" "$JOBS" "$failed" "$((cpu1 - cpu0))" "$(getconf CLK_TCK)" \
    "$((w1 - w0))" "$(awk '/VmHWM/ {print $2}' "/proc/$SCHED/status")" \
    "$((sim1 - sim0))" <<'PY'
import sys
rows = [tuple(int(x) for x in l.split("|")) for l in open(sys.argv[1])]
jobs, failed, ticks, hz, wall, hwm, sim = (int(x) for x in sys.argv[2:9])
gate_end = rows[0][0]
starts = sorted(r[1] for r in rows)
lat = sorted(r[2] - r[1] for r in rows)
def pct(v, p):
    return v[min(len(v) - 1, max(0, int(len(v) * p / 100.0 + 0.5) - 1))]
span = max(starts[-1] - gate_end, 1)
# the steady part, without the first and the last tenth
mid = max(pct(starts, 90) - pct(starts, 10), 1)
print("  FIGURE placed_jobs_per_s=%.0f (%d jobs started in %d ms after the "
      "gate ended; middle 80%%: %.0f jobs/s)"
      % (len(rows) * 1000.0 / span, len(rows), span, 0.8 * len(rows) * 1000.0 / mid))
print("  FIGURE running_to_ended_ms p50=%d p99=%d max=%d"
      % (pct(lat, 50), pct(lat, 99), lat[-1]))
print("  FIGURE drain_ms=%d (gate end -> last job ended); %d not succeeded"
      % (max(r[2] for r in rows) - gate_end, failed))
print("  FIGURE scheduler_cpu_s=%.2f during the drain (%.0f%% of one core over "
      "%d ms of polling)" % (ticks / hz, ticks / hz * 100000.0 / max(wall, 1), wall))
print("  FIGURE scheduler_peak_rss_mib=%.0f" % (hwm / 1024.0))
print("  simulator (the harness): %.2f s of CPU during the drain" % (sim / hz))
PY
