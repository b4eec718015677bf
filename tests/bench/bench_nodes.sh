#!/usr/bin/env bash
# Many nodes heartbeating, with CURVE on as users run it and off, side by
# side (issue 17's node goal: 10,000 simulated nodes at 1 Hz heartbeats,
# <= 5 % of a core and <= 100 MiB; registration <= 5 s).  For each mode:
# NODES (10,000) hollow nodes of drover-agent --simulate (with CURVE, each
# its own key pair, joined with one token: --join-token), the time from
# the simulator's start (its joins done, for CURVE) until every node is
# registered, then the scheduler's CPU (% of one core, from its
# utime+stime over WINDOW, 30 s) and its RSS at the end of the window; the
# simulator's own CPU is printed too (it shares the machine).
# Usage: tests/bench/bench_nodes.sh [BUILD_DIR]   (default: build)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$REPO/build}" && pwd)
NODES=${NODES:-10000}
WINDOW=${WINDOW:-30}
PER_SIM=${PER_SIM:-5000}
source "$REPO/tests/bench/bench_lib.sh"
bench_setup nodes
unset DROVER_INSECURE # each run says which it is
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sim_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(ticks "$p"))); done; echo "$t"; }
rss_mib() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
pct_core() { awk -v a="$1" -v b="$2" -v hz="$HZ" -v w="$WINDOW" 'BEGIN { print (b - a) * 100 / hz / w }'; }

run() { # MODE: curve | insecure
    local mode=$1 dir="$T/$1" ins=() cli=("$B/drover")
    mkdir -p "$dir"
    bench_ports
    [[ $mode == insecure ]] && ins=(--insecure) && cli+=(--insecure)
    export DROVER_SCHEDULER=tcp://127.0.0.1:$CP DROVER_HOME=$dir/state/keys
    "$B/drover-scheduler" --state-dir "$dir/state" --client-endpoint "$DROVER_SCHEDULER" \
        --agent-endpoint "tcp://127.0.0.1:$AP" --heartbeat-interval 1s \
        --heartbeat-timeout 60s --log-level warn "${ins[@]}" >>"$dir/sched.log" 2>&1 &
    local sched=$!
    PIDS+=("$sched")
    until "${cli[@]}" cluster list >/dev/null 2>&1; do sleep 0.1; done
    "${cli[@]}" cluster create -n bench -s Standard_D2_v2 --min-nodes 0 --max-nodes 0 >/dev/null
    local join=()
    if [[ $mode == curve ]]; then
        local tok
        tok=$("${cli[@]}" cluster join-token create -n bench --uses "$NODES" | awk '{print $NF}')
        join=(--join-token "$tok" --scheduler-key "$dir/state/keys/scheduler.pub")
    fi
    local t0 tj t1 sims=() k=0 left=$NODES n
    t0=$(ms)
    # at most PER_SIM hollow nodes a process: each node holds two fds (its
    # socket's and libzmq's mailbox), and a process may open 20,000 here
    while ((left > 0)); do
        n=$((left < PER_SIM ? left : PER_SIM))
        left=$((left - n))
        k=$((k + 1))
        "$B/drover-agent" --simulate "$n" --name "sim$k" --cluster bench --vm-size Standard_D2_v2 \
            --cpus 2 --memory-mb 7168 \
            --scheduler "tcp://127.0.0.1:$AP" --work-dir "$dir/sim$k" --log-level info \
            "${ins[@]}" "${join[@]}" >"$dir/sim$k.log" 2>&1 &
        sims+=($!)
        PIDS+=($!)
    done
    sleep 1
    for ((k = 1; k <= ${#sims[@]}; k++)); do
        local sim=${sims[k - 1]}
        kill -0 "$sim" 2>/dev/null || { wait "$sim" && st=0 || st=$?; echo "$mode: simulator $k exited ($st):"; tail -8 "$dir/sim$k.log"; exit 1; }
        if [[ $mode == curve ]]; then
            until grep -q "nodes joined in" "$dir/sim$k.log"; do
                kill -0 "$sim" 2>/dev/null || { wait "$sim" && st=0 || st=$?; echo "$mode: simulator $k exited ($st) while joining:"; tail -8 "$dir/sim$k.log"; exit 1; }
                sleep 0.2
            done
        fi
    done
    tj=$(ms)
    until [[ $("${cli[@]}" -o json node list --cluster bench |
        jq '[.[] | select(.state == "idle")] | length') -ge $NODES ]]; do
        sleep 0.5
    done
    t1=$(ms)
    sleep 5 # past the registration burst
    local s0 a0 s1 a1
    s0=$(ticks "$sched")
    a0=$(sim_ticks "${sims[@]}")
    sleep "$WINDOW"
    s1=$(ticks "$sched")
    a1=$(sim_ticks "${sims[@]}")
    local joins=""
    [[ $mode == curve ]] && joins="joins (a key pair each) $((tj - t0)) ms, then "
    printf '%-8s %s nodes: %sall registered %d ms later; scheduler %.1f %% of a core, RSS %s MiB; simulator%s %.1f %% of a core\n' \
        "$mode" "$NODES" "$joins" "$((t1 - tj))" \
        "$(pct_core "$s0" "$s1")" "$(rss_mib "$sched")" "$( ((${#sims[@]} > 1)) && echo "s (${#sims[@]} processes)")" "$(pct_core "$a0" "$a1")"
    kill -TERM "${sims[@]}" "$sched" 2>/dev/null || true
    wait "${sims[@]}" "$sched" 2>/dev/null || true
}

echo "== $NODES simulated nodes heartbeating every second ($(nproc) cores; $WINDOW s window)"
run curve
run insecure
