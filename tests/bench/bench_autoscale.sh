#!/usr/bin/env bash
# The autoscaler's reaction times, printed as figures (not pass/fail):
#  a. scale-out: from the submission of a job that no node can take
#     (jobs.submitted_at) to the provider's create call (the 'scale_out'
#     event, written right after create() returns);
#  b. scale-in: from a node's idle deadline (its last job's ended_at +
#     idle_seconds_before_scaledown * 1000) to its release (the 'scale_in'
#     event, written right after the provider's delete call);
# median and p99 (nearest rank: with 20 trials p99 is the largest) for the
# default --autoscale-interval 1s and for 200ms, beside Kubernetes
# cluster-autoscaler's documented default scan interval of 10 s.
#
# The local provider (the default): create() forks and execs a
# drover-agent and returns at once, so the agent's start-up is not in (a);
# the agent has to come up for the job to run and the node to go idle for
# (b).  Each trial: the cluster is at 0 nodes, wait a random 0..interval
# (so the submission is not in step with the autoscaler's tick), submit one
# job that sleeps a random 0..interval (so its end, and the idle deadline,
# is not in step with the tick either: a `true` job ends a few ms after the
# tick that created its node, and with an idle time that is a whole number
# of intervals every deadline would fall just after a tick, (b) always
# close to one interval), wait for it to end and for the node to be
# released and forgotten (0 nodes again).  Times come from the scheduler's database,
# read-only; nothing is added to the scheduler.  Both clocks are the
# scheduler's wall clock (dr_now_ms), so (a) and (b) need no clock sync.
#
# Usage: tests/bench/bench_autoscale.sh [BUILD_DIR]   (default: build)
# Environment: TRIALS (20), INTERVALS ("1s 200ms"), IDLE (1, seconds),
#              SECURE (1: CURVE and per-node keys, the default
#              configuration; 0: --insecure, as run_bench.sh)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
source "$REPO/tests/bench/bench_lib.sh"
B=$(cd "${1:-$REPO/build}" && pwd)
TRIALS=${TRIALS:-20}
INTERVALS=${INTERVALS:-1s 200ms}
IDLE=${IDLE:-1}
SECURE=${SECURE:-1}
T=$(mktemp -d /tmp/drover-bench-as.XXXXXX)
SCHED=""
cleanup() {
    if [[ -n "$SCHED" ]]; then
        # the scheduler's session: it and the agents it started
        kill -TERM -- "-$SCHED" 2>/dev/null || true
        sleep 1
        kill -KILL -- "-$SCHED" 2>/dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT
command -v jq >/dev/null || { echo "jq is needed" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 is needed" >&2; exit 1; }

ms() { date +%s%3N; }
to_ms() { # 1s, 200ms, 1.5s -> milliseconds
    case $1 in
    *ms) echo "${1%ms}" ;;
    *s) awk -v v="${1%s}" 'BEGIN { printf "%d\n", v * 1000 }' ;;
    *) echo "$1" ;;
    esac
}
q() { sqlite3 -readonly "file:$T/state/drover.db?mode=ro" "$@"; }
cli() { "$B/drover" "$@"; }
# median and p99 (nearest rank) of the numbers on stdin, one a line
stats() {
    sort -n | awk '{ v[NR] = $1; s += $1 }
        END {
            if (NR == 0) { print "no samples"; exit }
            m = int(NR * 0.50 + 0.999999); p = int(NR * 0.99 + 0.999999)
            printf "median %5d ms   p99 %5d ms   (min %d, mean %d, max %d; n=%d)\n",
                v[m], v[p], v[1], s / NR, v[NR], NR
        }'
}

start_sched() { # INTERVAL
    local cp sec=()
    bench_ports
    cp=$CP
    export DROVER_SCHEDULER=tcp://127.0.0.1:$cp
    if [[ "$SECURE" == 0 ]]; then
        sec=(--insecure)
        export DROVER_INSECURE=1
    else
        unset DROVER_INSECURE
        export DROVER_HOME=$T/state/keys
    fi
    rm -rf "$T/state"
    mkdir -p "$T/state"
    setsid "$B/drover-scheduler" --state-dir "$T/state" \
        --client-endpoint "$DROVER_SCHEDULER" \
        --agent-endpoint "tcp://127.0.0.1:$((cp + 1))" \
        --autoscale-interval "$1" --log-level info "${sec[@]}" \
        >"$T/sched.log" 2>&1 </dev/null &
    SCHED=$!
    local deadline=$(($(ms) + 20000))
    until cli cluster list >/dev/null 2>&1; do
        (($(ms) < deadline)) || { tail "$T/sched.log" >&2; exit 1; }
        sleep 0.1
    done
}
stop_sched() {
    kill -TERM -- "-$SCHED" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$SCHED" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$SCHED" 2>/dev/null || true
    wait "$SCHED" 2>/dev/null || true
    SCHED=""
}
# a random 0..$1 ms, in seconds
rnd() { awk -v r="$RANDOM" -v i="$1" 'BEGIN { printf "%.3f\n", r / 32768 * i / 1000 }'; }
nodes_now() { cli -o json node list --cluster as | jq length; }

echo "== drover autoscaler reaction times: local provider, $TRIALS trials per" \
    "interval, idle_seconds_before_scaledown $IDLE, $([[ $SECURE == 0 ]] &&
        echo "--insecure" || echo "CURVE (per-node keys issued at scale-out)"), $(nproc) cores"
echo "   for comparison, Kubernetes cluster-autoscaler re-evaluates the cluster every" \
    "--scan-interval, 10 s by default: the same two lags are 0..10 s there" \
    "(median ~5000 ms, p99 ~9900 ms) plus the scan's own time"
for iv in $INTERVALS; do
    ivms=$(to_ms "$iv")
    start_sched "$iv"
    cli cluster create -n as -s Standard_D2_v2 --min-nodes 0 --max-nodes 1 \
        --idle-seconds-before-scaledown "$IDLE" >/dev/null
    t_start=$(ms)
    for ((i = 1; i <= TRIALS; i++)); do
        deadline=$(($(ms) + 120000))
        until [[ $(nodes_now) == 0 ]]; do
            (($(ms) < deadline)) || { echo "trial $i: nodes never left" >&2; exit 1; }
            sleep 0.1
        done
        sleep "$(rnd "$ivms")"
        id=$(cli job submit --cluster as -- sleep "$(rnd "$ivms")")
        # the job's node released (scale_in) and forgotten
        until [[ -n $(q "SELECT 1 FROM jobs j JOIN events e ON e.kind = 'scale_in'
                          AND e.cluster = 'as' AND e.node = j.node_names
                          WHERE j.id = $id AND j.ended_at > 0") ]]; do
            (($(ms) < deadline)) || {
                echo "trial $i: job $id not done and released in 120 s" >&2
                tail "$T/sched.log" >&2
                exit 1
            }
            sleep 0.1
        done
    done
    until [[ $(nodes_now) == 0 ]]; do sleep 0.1; done
    elapsed=$((($(ms) - t_start) / 1000))
    echo "-- --autoscale-interval $iv ($TRIALS trials in ${elapsed} s)"
    printf '   (a) submit -> scale_out (provider create):   '
    q "SELECT (SELECT min(e.ts) FROM events e WHERE e.kind = 'scale_out'
                  AND e.cluster = 'as' AND e.ts >= j.submitted_at)
              - j.submitted_at
         FROM jobs j WHERE j.cluster = 'as' ORDER BY j.id" | stats
    printf '   (b) idle deadline -> scale_in (release):     '
    q "SELECT e.ts - (j.ended_at + $IDLE * 1000)
         FROM jobs j JOIN events e ON e.kind = 'scale_in' AND e.cluster = 'as'
              AND e.node = j.node_names
         WHERE j.cluster = 'as' ORDER BY j.id" | stats
    if [[ "${VERBOSE:-0}" == 1 ]]; then
        q "SELECT j.id, j.node_names, j.submitted_at, j.started_at, j.ended_at,
                  (SELECT group_concat(e.kind || '@' || e.ts, ' ') FROM events e
                    WHERE e.node = j.node_names)
             FROM jobs j WHERE j.cluster = 'as' ORDER BY j.id"
    fi
    bad=$(q "SELECT count(*) FROM jobs WHERE cluster = 'as' AND state != 'succeeded'")
    [[ "$bad" == 0 ]] || echo "   note: $bad job(s) did not succeed"
    outs=$(q "SELECT count(*) FROM events WHERE kind = 'scale_out' AND cluster = 'as'")
    [[ "$outs" == "$TRIALS" ]] || echo "   note: $outs scale_out events for $TRIALS trials"
    stop_sched
done
