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
