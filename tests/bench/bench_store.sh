#!/usr/bin/env bash
# The two stores side by side, printed as figures (not pass/fail), in the
# same run on the same machine:
#  1. durable submissions/s into a queue (a cluster with no nodes), one
#     client keeping 256 in flight and one sending them one at a time (each
#     acknowledged only after its commit);
#  2. submit -> running median and p99 with 200 simulated nodes;
#  3. failover on PostgreSQL: two schedulers on one database, the leader
#     killed with SIGKILL, until the standby answers as the leader (median
#     of TRIALS).
# SQLite is the state dir's drover.db; PostgreSQL a throwaway server of
# tests/pg/pg_server.sh (a unix socket in a temp dir).
# Usage: tests/bench/bench_store.sh [BUILD_DIR]   (default: build)
# Environment: JOBS (5000), SEQ (500), NODES (200), LJOBS (2000), TRIALS (5)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$REPO/build}" && pwd)
JOBS=${JOBS:-5000}
SEQ=${SEQ:-500}
NODES=${NODES:-200}
LJOBS=${LJOBS:-2000}
TRIALS=${TRIALS:-5}
source "$REPO/tests/bench/bench_lib.sh"
command -v psql >/dev/null || { echo "psql is needed (postgresql)" >&2; exit 1; }
bench_setup store
URI=$("$REPO/tests/pg/pg_server.sh" start "$T/pg" | tail -1)

# start_sched NAME STORE CP AP [args]: a scheduler; sets SCHED
start_sched() {
    local name=$1 store=$2 cp=$3 ap=$4
    shift 4
    "$B/drover-scheduler" --state-dir "$T/$name" --store "$store" \
        --client-endpoint "tcp://127.0.0.1:$cp" --agent-endpoint "tcp://127.0.0.1:$ap" \
        --heartbeat-interval 5s --heartbeat-timeout 60s --log-level warn --insecure "$@" \
        >>"$T/$name.log" 2>&1 &
    SCHED=$!
    PIDS+=("$SCHED")
}
answers() { "$B/drover" --scheduler "tcp://127.0.0.1:$1" cluster list >/dev/null 2>&1; }
wait_answer() { until answers "$1"; do sleep 0.05; done; }

p99_sql="SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY started_at - submitted_at),
               percentile_disc(0.99) WITHIN GROUP (ORDER BY started_at - submitted_at)
         FROM jobs WHERE name LIKE 'bench-%' AND started_at > 0"

for backend in sqlite postgresql; do
    store=""
    [[ $backend == postgresql ]] && store=$URI
    if [[ $backend == postgresql ]]; then
        psql -q "$URI" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null
    fi
    bench_ports
    export DROVER_SCHEDULER=tcp://127.0.0.1:$CP
    start_sched "$backend" "$store" "$CP" "$AP"
    wait_answer "$CP"
    "$B/drover" cluster create -n hold -s Standard_D2_v2 --min-nodes 0 --max-nodes 0 >/dev/null
    echo "== $backend"
    "$B/bench_submit" --scheduler "$DROVER_SCHEDULER" --cluster hold --db "$T/$backend/drover.db" \
        --jobs "$JOBS" --inflight 256 --no-wait | sed 's/^/  /'
    "$B/bench_submit" --scheduler "$DROVER_SCHEDULER" --cluster hold --db "$T/$backend/drover.db" \
        --jobs "$SEQ" --inflight 1 --no-wait | sed 's/^/  /'
    # the latency on a store of its own (the queued jobs above never start)
    kill -KILL "$SCHED" 2>/dev/null || true
    wait "$SCHED" 2>/dev/null || true
    rm -rf "${T:?}/$backend"
    if [[ $backend == postgresql ]]; then
        psql -q "$URI" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null
    fi
    start_sched "$backend" "$store" "$CP" "$AP"
    wait_answer "$CP"
    "$B/drover" cluster create -n bench -s Standard_D5_v2 --min-nodes 0 --max-nodes "$NODES" \
        --idle-seconds-before-scaledown 86400 >/dev/null
    "$B/drover-agent" --simulate "$NODES" --name sim --cluster bench --vm-size Standard_D5_v2 \
        --cpus 16 --memory-mb 57344 --scheduler "tcp://127.0.0.1:$AP" --log-level warn \
        --insecure >"$T/sim-$backend.log" 2>&1 &
    PIDS+=($!)
    until [[ $("$B/drover" -o json node list --cluster bench | jq length) -ge $NODES ]]; do sleep 0.2; done
    if [[ $backend == sqlite ]]; then
        "$B/bench_submit" --scheduler "$DROVER_SCHEDULER" --cluster bench \
            --db "$T/sqlite/drover.db" --jobs "$LJOBS" --duration 1 | sed 's/^/  /'
    else
        "$B/bench_submit" --scheduler "$DROVER_SCHEDULER" --cluster bench \
            --db "$T/none" --jobs "$LJOBS" --duration 1 --no-wait | sed 's/^/  /'
        until [[ $(psql -tA "$URI" -c "SELECT count(*) FROM jobs WHERE name LIKE 'bench-%'
                   AND started_at = 0 AND state NOT IN ('succeeded','failed','canceled')") == 0 ]]; do
            sleep 0.2
        done
        read -r med p99 < <(psql -tA -F' ' "$URI" -c "$p99_sql")
        echo "  submit->running: median $med ms, p99 $p99 ms"
    fi
    kill -KILL "${PIDS[-1]}" "$SCHED" 2>/dev/null || true
    wait 2>/dev/null || true
done

echo "== failover (PostgreSQL, two schedulers, leader killed with SIGKILL)"
times=()
for i in $(seq 1 "$TRIALS"); do
    psql -q "$URI" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null
    bench_ports
    c1=$CP a1=$AP
    bench_ports
    c2=$CP a2=$AP
    start_sched "ha1-$i" "$URI" "$c1" "$a1" --leader-lease 2s
    s1=$SCHED
    wait_answer "$c1"
    "$B/drover" --scheduler "tcp://127.0.0.1:$c1" cluster create -n hold -s Standard_D2_v2 \
        --min-nodes 0 --max-nodes 0 >/dev/null
    start_sched "ha2-$i" "$URI" "$c2" "$a2" --leader-lease 2s
    s2=$SCHED
    sleep 1
    # a standby refuses a write ("not the leader"): the first submission
    # the standby takes is the new leader's
    if "$B/drover" --scheduler "tcp://127.0.0.1:$c2" --timeout 1s job submit --cluster hold -- true \
        >/dev/null 2>&1; then
        echo "the standby took a write before the failover" >&2
        exit 1
    fi
    t0=$(ms)
    kill -KILL "$s1"
    until "$B/drover" --scheduler "tcp://127.0.0.1:$c2" --timeout 1s job submit --cluster hold -- true \
        >/dev/null 2>&1; do sleep 0.02; done
    times+=($(($(ms) - t0)))
    kill -KILL "$s2" 2>/dev/null || true
    wait 2>/dev/null || true
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "  leader kill -9 -> the standby leads and takes a submission: median $(sed -n "$(((TRIALS + 1) / 2))p" <<<"$sorted") ms, max $(tail -1 <<<"$sorted") ms ($TRIALS trials)"
