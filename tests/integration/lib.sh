# shellcheck shell=bash
# drover integration-test harness.  Tests source it:
#
#     #!/usr/bin/env bash
#     set -euo pipefail
#     source "$(dirname "$0")/lib.sh"
#     dr_setup
#     dr_start_scheduler
#     dr_cli cluster create -n c1 -s Standard_D2_v2 --max-nodes 1
#     id=$(dr_cli job submit --cluster c1 -- true)
#     dr_wait_job_state "$id" succeeded 60
#     dr_pass
#
# Environment (set by ctest): DROVER_BIN, the build directory holding
# drover-scheduler, drover-agent and drover; DROVER_SOURCE_DIR, the
# repository root.  When unset they default to build/ and the repository
# that holds this file, so a test also runs by hand: bash test_x.sh
#
# dr_setup creates the work directory $T and installs an EXIT trap that ends
# every process group the harness started (setsid, so the agents that the
# scheduler's local provider starts die with it), then removes $T -- unless
# the test failed: then $T is kept and the tail of the scheduler log is
# printed.  A test that needs its own cleanup uses dr_defer CMD, not a trap.
#
# dr_fail exits the shell it runs in: called inside $( ... ) it only ends
# that subshell, so check results in the test's main shell.

DR_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${DROVER_SOURCE_DIR:=$(cd "$DR_LIB_DIR/../.." && pwd)}"
: "${DROVER_BIN:=$DROVER_SOURCE_DIR/build}"
export DROVER_SOURCE_DIR DROVER_BIN

DR_PGIDS=()       # sessions (= process groups) to end at exit
DR_PIDS=()        # the processes dr_spawn started (reaped at exit)
DR_DEFERRED=()    # commands to run at exit (dr_defer)
DR_SCHED_PID=""   # the running scheduler, if any
DR_SCHED_PGID=""
DR_FAIL_CALLED=0

# ---- assertions and reporting --------------------------------------------

dr_log() {
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

dr_fail() {
    DR_FAIL_CALLED=1
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

dr_pass() {
    printf 'PASS: %s\n' "$(basename "$0")"
}

# dr_assert_eq ACTUAL EXPECTED MSG
dr_assert_eq() {
    if [[ "$1" != "$2" ]]; then
        dr_fail "${3:-values differ}: expected '$2', got '$1'"
    fi
}

# dr_assert_contains HAYSTACK NEEDLE MSG
dr_assert_contains() {
    if [[ "$1" != *"$2"* ]]; then
        dr_fail "${3:-missing text}: '$2' not found in: $1"
    fi
}

# dr_now_ms: wall clock in milliseconds
dr_now_ms() {
    local s
    s=$(date +%s%N)
    printf '%s\n' "$((s / 1000000))"
}

# dr_wait_for DESC TIMEOUT_S CMD...: run CMD every 0.2 s until it succeeds;
# fails the test with "timeout waiting for DESC" after TIMEOUT_S seconds.
dr_wait_for() {
    local desc=$1 timeout=$2
    shift 2
    local deadline=$(($(dr_now_ms) + timeout * 1000))
    while true; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if (($(dr_now_ms) >= deadline)); then
            dr_fail "timeout waiting for $desc (${timeout}s)"
        fi
        sleep 0.2
    done
}

# dr_defer CMD...: run CMD (through eval) when the test exits.
dr_defer() {
    DR_DEFERRED+=("$*")
}

# ---- process groups ----------------------------------------------------------

# dr__session_pids SID: the live (non-zombie) processes of session SID.
# dr_spawn starts each daemon with setsid, so its session holds the daemon,
# the agents it starts and their job processes -- even those that the
# process runtime moved into process groups of their own.
dr__session_pids() {
    ps -e -o pid=,sid=,stat= 2>/dev/null |
        awk -v s="$1" '$2 == s && $3 !~ /^Z/ { print $1 }'
}

# dr__pid_alive PID: true while PID runs (zombies count as dead)
dr__pid_alive() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ -n "$st" && "$st" != Z* ]]
}

# dr__end_group SID: SIGTERM the process group and every process of the
# session (the group and session ids are the same: setsid), SIGKILL
# whatever is left after 5 s.
dr__end_group() {
    local g=$1 i pids
    kill -TERM -- "-$g" 2>/dev/null
    pids=$(dr__session_pids "$g")
    [[ -z "$pids" ]] && return 0
    # shellcheck disable=SC2086 # word splitting wanted
    kill -TERM $pids 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        pids=$(dr__session_pids "$g")
        [[ -z "$pids" ]] && return 0
        sleep 0.1
    done
    dr_log "session $g ignored SIGTERM; sending SIGKILL to" "${pids//$'\n'/ }"
    kill -KILL -- "-$g" 2>/dev/null
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    return 0
}

# dr_spawn LOGFILE CMD...: start CMD in a new session (its own process
# group), output appended to LOGFILE; sets DR_SPAWN_PID (= its pgid).
# The group is ended at exit.
dr_spawn() {
    local logf=$1
    shift
    setsid "$@" >>"$logf" 2>&1 </dev/null &
    DR_SPAWN_PID=$!
    DR_PIDS+=("$DR_SPAWN_PID")
    # A background child of a shell without job control is not a group
    # leader, so setsid(1) does not fork: the pid is the session and group
    # id.  Wait (2 s at most) until setsid() has happened, so that a kill
    # of the group right after this cannot miss it.
    DR_PGIDS+=("$DR_SPAWN_PID")
    local i g
    for ((i = 0; i < 200; i++)); do
        g=$(ps -o pgid= -p "$DR_SPAWN_PID" 2>/dev/null | tr -d ' ') || break
        [[ "$g" == "$DR_SPAWN_PID" ]] && break
        sleep 0.01
    done
}

dr__cleanup() {
    local rc=$?
    local d g
    set +e
    for d in "${DR_DEFERRED[@]}"; do
        eval "$d"
    done
    for g in "${DR_PGIDS[@]}"; do
        dr__end_group "$g"
    done
    # reap the processes we started, quietly
    for g in "${DR_PIDS[@]}"; do
        wait "$g" 2>/dev/null
    done
    # a sanitizer build's daemons report leaks and UB in their logs at exit
    if [[ -n "${T:-}" && -d "$T" ]]; then
        local bad
        bad=$(grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
            "$T"/*.log "$T"/state/nodes/*.log 2>/dev/null | head -n 5)
        if [[ -n "$bad" ]]; then
            echo "FAIL: sanitizer reports in: $bad" >&2
            grep -hE -A 12 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
                $bad | head -n 80 >&2
            [[ $rc -eq 0 ]] && rc=1
        fi
    fi
    if [[ $rc -eq 0 && $DR_FAIL_CALLED -eq 0 ]]; then
        [[ -n "${T:-}" && -d "$T" ]] && rm -rf "$T"
    elif [[ -n "${T:-}" && -d "$T" ]]; then
        echo "--- test failed (exit $rc); work directory kept: $T" >&2
        if [[ -f "$T/scheduler.log" ]]; then
            echo "--- last 60 lines of $T/scheduler.log:" >&2
            tail -n 60 "$T/scheduler.log" >&2
        fi
        local f
        while IFS= read -r f; do
            [[ "$f" == "$T/scheduler.log" ]] && continue
            echo "--- last 20 lines of $f:" >&2
            tail -n 20 "$f" >&2
        done < <(find "$T" -name '*.log' -type f 2>/dev/null | sort | head -n 10)
    fi
    exit "$rc"
}

# ---- setup -----------------------------------------------------------------

# dr__port_free PORT: no TCP socket in any state uses PORT (a connection's
# own end counts too: bind would fail on it)
dr__port_free() {
    [[ -z "$(ss -Htan "( sport = :$1 )" 2>/dev/null)" ]]
}

# dr_pick_ports: sets CPORT and APORT to two free adjacent ports
dr_pick_ports() {
    local i base
    for ((i = 0; i < 100; i++)); do
        # below the kernel's ephemeral range (32768-60999 by default), so
        # that no outgoing connection can take the port between check and bind
        base=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        if dr__port_free "$base" && dr__port_free "$((base + 1))" &&
            dr__port_free "$((base + 7))" && dr__port_free "$((base + 8))"; then
            CPORT=$base
            APORT=$((base + 1))
            return 0
        fi
    done
    dr_fail "no free port pair found in 20000-32000"
}

# dr_setup: work directory $T, free endpoints, the EXIT trap.
# Exports T, CPORT, APORT, DROVER_SCHEDULER (the client endpoint the
# drover CLI uses) and AGENT_EP.
dr_setup() {
    local b
    for b in drover-scheduler drover-agent drover; do
        [[ -x "$DROVER_BIN/$b" ]] || dr_fail "$DROVER_BIN/$b not built"
    done
    command -v jq >/dev/null || dr_fail "jq is not installed"
    T=$(mktemp -d "${TMPDIR:-/tmp}/drover-test.XXXXXX")
    export T
    trap dr__cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    dr_pick_ports
    export CPORT APORT
    export DROVER_SCHEDULER="tcp://127.0.0.1:$CPORT"
    export AGENT_EP="tcp://127.0.0.1:$APORT"
    dr_log "work dir $T, clients $DROVER_SCHEDULER, agents $AGENT_EP"
    # DR_STORE_PG=1: every scheduler of the test keeps its state in a
    # PostgreSQL server of the test's own
    [[ "${DR_STORE_PG:-}" == 1 ]] && dr_start_pg
    return 0
}

# dr_start_pg: a PostgreSQL server of this test's own (tests/pg/
# pg_server.sh: unix socket only, in a directory of its own that the
# `postgres` user may enter), stopped at exit.  Exports PG_DIR, PG_URI
# and DR_STORE (the --store of dr_start_scheduler).  SKIP without one.
dr_start_pg() {
    PG_DIR=$(mktemp -d /tmp/drover-pg.XXXXXX)
    export PG_DIR
    dr_defer "$DROVER_SOURCE_DIR/tests/pg/pg_server.sh stop $PG_DIR --kill >/dev/null 2>&1; rm -rf $PG_DIR"
    local rc=0
    PG_URI=$("$DROVER_SOURCE_DIR/tests/pg/pg_server.sh" start "$PG_DIR") || rc=$?
    if ((rc == 77)); then
        echo "SKIP: no PostgreSQL server installed (deploy/install-deps.sh)"
        exit 77
    fi
    ((rc == 0)) || dr_fail "cannot start PostgreSQL in $PG_DIR"
    export PG_URI DR_STORE=$PG_URI
    dr_log "PostgreSQL up: $PG_URI"
}

# dr_start_ha: for tests of several schedulers on one PostgreSQL (started
# here): exports B_CEP and B_AEP (the second scheduler's endpoints) and
# HA_AGENTS (the list of agent endpoints that both give their local
# agents); start the first with dr_start_scheduler --agent-connect
# "$HA_AGENTS", then the second with dr_start_standby.
dr_start_ha() {
    [[ -n "${PG_URI:-}" ]] || dr_start_pg
    export B_CEP="tcp://127.0.0.1:$((CPORT + 7))"
    export B_AEP="tcp://127.0.0.1:$((CPORT + 8))"
    export HA_AGENTS="$AGENT_EP,$B_AEP"
}

# dr_start_standby [args]: a second scheduler on the same PostgreSQL
# (B_CEP, B_AEP; state in $T/state-b, log $T/scheduler-b.log) with the
# first one's key files (the operator deploys the same keys on every
# scheduler); waits until its log says whether it leads.  Sets B_PID.
dr_start_standby() {
    mkdir -p "$T/state-b/keys"
    cp -a "$T/state/keys/." "$T/state-b/keys/"
    dr_spawn "$T/scheduler-b.log" "$DROVER_BIN/drover-scheduler" \
        --state-dir "$T/state-b" --client-endpoint "$B_CEP" \
        --agent-endpoint "$B_AEP" --agent-connect "$HA_AGENTS" \
        --store "$DR_STORE" "$@"
    B_PID=$DR_SPAWN_PID
    dr_wait_for "the second scheduler up" 20 \
        grep -qE "standby:|leads, term" "$T/scheduler-b.log"
    dr_log "second scheduler up (pid $B_PID)"
}

# dr_pg SQL: runs SQL on the test's PostgreSQL, prints the rows
dr_pg() {
    psql -X -q -A -t -d "$PG_URI" -c "$1"
}

# ---- the daemons -----------------------------------------------------------

dr_cli() {
    "$DROVER_BIN/drover" "$@"
}

# dr_start_scheduler [extra args]: start the scheduler on $T/state and the
# endpoints of dr_setup; waits (20 s at most) until the CLI gets an answer.
dr_start_scheduler() {
    [[ -n "${T:-}" ]] || dr_fail "dr_start_scheduler before dr_setup"
    if [[ -n "$DR_SCHED_PID" ]] && dr__pid_alive "$DR_SCHED_PID"; then
        dr_fail "dr_start_scheduler: a scheduler already runs ($DR_SCHED_PID)"
    fi
    mkdir -p "$T/state"
    echo "=== $(date '+%F %T') start: drover-scheduler $*" >>"$T/scheduler.log"
    dr_spawn "$T/scheduler.log" "$DROVER_BIN/drover-scheduler" \
        --state-dir "$T/state" \
        --client-endpoint "$DROVER_SCHEDULER" \
        --agent-endpoint "$AGENT_EP" ${DR_STORE:+--store "$DR_STORE"} "$@"
    DR_SCHED_PID=$DR_SPAWN_PID
    DR_SCHED_PGID=$DR_SPAWN_PID
    # the local admin key the scheduler makes on its first start
    export DROVER_HOME="$T/state/keys"
    local deadline=$(($(dr_now_ms) + 20000))
    while ! dr_cli cluster list >/dev/null 2>&1; do
        if ! dr__pid_alive "$DR_SCHED_PID"; then
            dr_fail "drover-scheduler exited during startup"
        fi
        if (($(dr_now_ms) >= deadline)); then
            dr_fail "timeout waiting for the scheduler to answer (20s)"
        fi
        sleep 0.2
    done
    dr_log "scheduler up (pid $DR_SCHED_PID)"
}

# dr__wait_sched_exit SECONDS: true if the scheduler ended in time
dr__wait_sched_exit() {
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        dr__pid_alive "$DR_SCHED_PID" || return 0
        sleep 0.1
    done
    return 1
}

# dr_kill9_scheduler [--group]: SIGKILL the scheduler process only (the
# agents it started keep running, as after a crash); with --group, its
# whole process group.
dr_kill9_scheduler() {
    [[ -n "$DR_SCHED_PID" ]] || dr_fail "dr_kill9_scheduler: no scheduler"
    if [[ "${1:-}" == "--group" ]]; then
        kill -KILL -- "-$DR_SCHED_PGID" 2>/dev/null || true
    else
        kill -KILL "$DR_SCHED_PID" 2>/dev/null || true
    fi
    wait "$DR_SCHED_PID" 2>/dev/null || true
    dr__wait_sched_exit 5 || dr_fail "scheduler survived SIGKILL"
    dr_log "scheduler $DR_SCHED_PID killed with SIGKILL"
    DR_SCHED_PID=""
}

# dr_stop_scheduler: SIGTERM, wait 15 s for a clean exit (SIGKILL after
# that, and the test fails).  Returns the scheduler's exit status.
dr_stop_scheduler() {
    [[ -n "$DR_SCHED_PID" ]] || dr_fail "dr_stop_scheduler: no scheduler"
    local pid=$DR_SCHED_PID rc=0
    kill -TERM "$pid" 2>/dev/null || true
    if ! dr__wait_sched_exit 15; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        DR_SCHED_PID=""
        dr_fail "scheduler did not exit within 15 s of SIGTERM"
    fi
    wait "$pid" 2>/dev/null || rc=$?
    DR_SCHED_PID=""
    dr_log "scheduler $pid stopped (exit $rc)"
    return "$rc"
}

# ---- jobs ------------------------------------------------------------------

# dr_job_state ID: the job's state (queued starting running succeeded ...)
dr_job_state() {
    dr_cli -o json job show "$1" | jq -r '.state'
}

# dr_wait_job_state ID STATE TIMEOUT_S: fails early if the job ends in
# another final state.
dr_wait_job_state() {
    local id=$1 want=$2 timeout=$3 st=""
    local deadline=$(($(dr_now_ms) + timeout * 1000))
    while true; do
        st=$(dr_job_state "$id" 2>/dev/null) || st=""
        [[ "$st" == "$want" ]] && return 0
        case "$st" in
        succeeded | failed | canceled | timeout)
            dr_fail "job $id ended $st, waiting for $want" ;;
        esac
        if (($(dr_now_ms) >= deadline)); then
            dr_fail "timeout waiting for job $id to be $want" \
                "(${timeout}s; last state '${st}')"
        fi
        sleep 0.2
    done
}
