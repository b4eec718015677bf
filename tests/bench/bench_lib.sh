# shellcheck shell=bash
# Shared helpers of the benchmark scripts (sourced, never run).
#
# bench_ports: sets CP and AP to a free pair of adjacent TCP ports below the
# kernel's ephemeral range (the same check as the integration harness's
# dr_pick_ports: no socket in any state uses them), or exits with a message.
bench_port_free() {
    [[ -z "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]]
}
bench_ports() {
    local i base
    for ((i = 0; i < 100; i++)); do
        base=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        if bench_port_free "$base" && bench_port_free "$((base + 1))"; then
            CP=$base
            AP=$((base + 1))
            return 0
        fi
    done
    echo "bench: no free port pair found in 20000-32000" >&2
    exit 1
}

# bench_setup NAME: a temp dir T (/tmp/drover-bench-NAME.*), removed at
# exit with the daemons whose pids are in PIDS and a PostgreSQL server of
# tests/pg/pg_server.sh under $T/pg if one was started; CURVE off (the
# figures are the store's and the scheduler's, not the handshake's); ms
# prints the wall clock in ms.
bench_setup() {
    T=$(mktemp -d "/tmp/drover-bench-$1.XXXXXX")
    chmod 755 "$T"
    PIDS=()
    trap bench__cleanup EXIT
    export DROVER_INSECURE=1
}
bench__cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    "$REPO/tests/pg/pg_server.sh" stop "$T/pg" --kill >/dev/null 2>&1 || true
    rm -rf "$T"
}
ms() { date +%s%3N; }

# bench_sim_cluster NODES CPUS: a scheduler (--insecure, state in $T/state,
# log $T/sched.log) on free ports, a cluster "bench" of Standard_D5_v2 and
# NODES hollow nodes of CPUS cpus (drover-agent --simulate, log
# $T/sim.log).  Sets SCHED and SIM (their pids, also in PIDS), DB (the
# SQLite file) and DROVER_SCHEDULER; returns once the scheduler answers
# (the nodes may still be registering).  Needs B (the build dir).
bench_sim_cluster() {
    local nodes=$1 cpus=$2
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    bench_ports
    export DROVER_SCHEDULER=tcp://127.0.0.1:$CP
    DB=$T/state/drover.db
    "$B/drover-scheduler" --state-dir "$T/state" --client-endpoint "$DROVER_SCHEDULER" \
        --agent-endpoint "tcp://127.0.0.1:$AP" --heartbeat-interval 5s \
        --heartbeat-timeout 60s --log-level warn --insecure >>"$T/sched.log" 2>&1 &
    SCHED=$!
    PIDS+=("$SCHED")
    until "$B/drover" cluster list >/dev/null 2>&1; do sleep 0.1; done
    "$B/drover" cluster create -n bench -s Standard_D5_v2 --min-nodes 0 \
        --max-nodes "$nodes" --idle-seconds-before-scaledown 86400 >/dev/null
    "$B/drover-agent" --simulate "$nodes" --name sim --cluster bench \
        --vm-size Standard_D5_v2 --cpus "$cpus" --memory-mb 57344 \
        --scheduler "tcp://127.0.0.1:$AP" --log-level warn --insecure >"$T/sim.log" 2>&1 &
    SIM=$!
    PIDS+=("$SIM")
}
