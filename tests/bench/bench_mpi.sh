#!/usr/bin/env bash
# Multi-node MPI launch overhead, printed as figures (not pass/fail):
# a 4-node x 2-process job of tests/mpi/mpi_ring through drover (--nodes 4
# --procs-per-node 2 --cpus 2 --distribution mpi on Standard_D2_v2 nodes
# of a local-provider cluster with min = max = 4, all nodes up and idle
# before each trial) against plain mpirun of the same program, same
# layout, same MCA settings, on the same machine.
#
# Drover (per trial):
#   submit -> running      started_at (job show, ms) - t0
#   submit -> all 8 ranks  the last rank's start stamp - t0
#   submit -> succeeded    ended_at (job show, ms) - t0
# t0 is taken (date +%s%N) just before `drover job submit`.  Each rank is
# started as  sh -c 'date +%s%N >> DIR/$OMPI_COMM_WORLD_RANK; exec mpi_ring'
# so every rank writes the wall-clock ns at which its process started
# (before MPI_Init) into a file of its own; "all ranks running" is the
# largest of the 8 stamps.  Every time is this machine's wall clock (the
# scheduler, the agents and the ranks all run here), so no clock sync.
#
# Plain mpirun (baseline, per trial): the same sh -c wrapper and mpi_ring,
#   mpirun --hostfile H -np 8 --map-by ppr:2:node
# with plm_rsh_agent a local "rsh" (drops the host name, runs the command
# with sh -c here) and the MCA settings drover's agent gives mpirun
# (btl self,tcp; plm_rsh_no_tree_spawn 1; orte_leave_session_attached 1;
# orte_tag_output 1; rtc ^hwloc) plus btl_tcp_if_include/oob_tcp_if_include
# lo.  The hostfile is, as drover's head writes it, this host's name first
# (its 2 ranks start without a launch, as the head node's do under drover)
# and 3 made-up names (launched through the rsh agent, an orted each, as
# drover's 3 workers are); BASE_HOSTS=fake4 makes it 4 made-up names (4
# orteds).  Figures: mpirun start -> all 8 ranks (the same stamps),
# and mpirun's whole wall time.
#
# Drover and plain trials alternate (D1 P1 D2 P2 ...), after one warm-up of
# each that is not counted.  Before each trial no mpirun, orted or mpi_ring
# of this benchmark is left and (drover) all 4 nodes are idle.
#
# Usage: tests/bench/bench_mpi.sh [TRIALS] [BUILD_DIR]  (10, build)
#        tests/bench/bench_mpi.sh BUILD_DIR [TRIALS]
# Environment: TRIALS, BUILD_DIR (or DROVER_BIN) when not given as
# arguments; BASE_HOSTS (local: default; fake4); TIMEOUT (120 s per job).
# Exits 0 unless something breaks: a job or an mpirun fails, a rank is
# missing, a timeout.  On a failure the work directory is kept and the
# logs' tails printed (tests/integration/lib.sh).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
if [[ -d "${1:-}" ]]; then # BUILD_DIR [TRIALS], as the other bench scripts
    set -- "${2:-}" "$1"
fi
TRIALS=${1:-${TRIALS:-10}}
BDIR=${2:-${BUILD_DIR:-${DROVER_BIN:-$REPO/build}}}
DROVER_BIN=$(cd "$BDIR" && pwd)
export DROVER_BIN DROVER_SOURCE_DIR=$REPO
BASE_HOSTS=${BASE_HOSTS:-local}
TIMEOUT=${TIMEOUT:-120}
[[ "$TRIALS" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [TRIALS] [BUILD_DIR]" >&2; exit 2; }
# shellcheck disable=SC1091 # the integration tests' harness
source "$REPO/tests/integration/lib.sh"
B=$DROVER_BIN
for f in mpi_ring drover-launch; do
    [[ -x "$B/$f" ]] || { echo "$B/$f not built" >&2; exit 1; }
done
MPIRUN=$(command -v mpirun) || { echo "mpirun (OpenMPI) is needed" >&2; exit 1; }
dr_setup # T, ports, the EXIT trap (ends the scheduler's session)

NODES=4 PPN=2 NP=8
# $1 = the stamp directory, $2... = the program
# shellcheck disable=SC2016 # expanded by the rank's sh
STAMP_SH='d=$1; shift; date +%s%N >>"$d/$OMPI_COMM_WORLD_RANK"; exec "$@"'

ns() { date +%s%N; }
# nearest-rank median and p90 of the integers on stdin: "MEDIAN P90 MIN MAX N"
pct() {
    sort -n | awk '{ v[NR] = $1 }
        END {
            if (NR == 0) { print "- - - - 0"; exit }
            m = int(NR * 0.50 + 0.999999); p = int(NR * 0.90 + 0.999999)
            print v[m], v[p], v[1], v[NR], NR
        }'
}
# the processes of session SID named mpirun, orted or mpi_ring
mpi_procs() {
    ps -e -o sid=,comm= 2>/dev/null |
        awk -v s="$1" '$1 == s && ($2 == "mpirun" || $2 == "orted" || $2 == "mpi_ring")'
}
# wait_quiet SID DESC: none of them left in that session (TIMEOUT s)
wait_quiet() {
    local deadline=$(($(dr_now_ms) + 30000))
    while [[ -n "$(mpi_procs "$1")" ]]; do
        (($(dr_now_ms) < deadline)) || dr_fail "$2: MPI processes left after 30 s: $(mpi_procs "$1" | tr '\n' ' ')"
        sleep 0.05
    done
}
# stamps DIR T0_NS: sets S_FIRST and S_ALL, the first and the last rank's
# start in ms after T0; fails unless each of the NP ranks wrote one stamp
stamps() {
    local n r
    n=$(find "$1" -type f | wc -l)
    [[ "$n" == "$NP" ]] || dr_fail "$1: $n rank stamps, want $NP"
    r=$(cat "$1"/* | awk -v t0="$2" -v np="$NP" '
        { if (NR == 1 || $1 < lo) lo = $1; if (NR == 1 || $1 > hi) hi = $1 }
        END {
            if (NR != np) exit 1
            printf "%d %d\n", (lo - t0) / 1e6, (hi - t0) / 1e6
        }') || dr_fail "$1: not one stamp per rank"
    read -r S_FIRST S_ALL <<<"$r"
}

# ---- drover: the scheduler and a cluster of 4 nodes, up and idle ---------------
dr_start_scheduler --heartbeat-interval 1s --autoscale-interval 200ms
SID=$DR_SCHED_PGID
dr_cli cluster create -n bm -s Standard_D2_v2 --min-nodes "$NODES" --max-nodes "$NODES" \
    --idle-seconds-before-scaledown 3600 >/dev/null
nodes_idle() {
    local c
    c=$(dr_cli -o json cluster show -n bm) || return 1
    [[ $(jq -r '.idle_nodes' <<<"$c") == "$NODES" && $(jq -r '.running_nodes' <<<"$c") == 0 ]] || return 1
    [[ $(dr_cli -o json node list --cluster bm |
        jq '[.[] | select(.state == "idle" and .tasks == 0)] | length') == "$NODES" ]]
}
t_up=$(dr_now_ms)
dr_wait_for "$NODES idle nodes" 120 nodes_idle
t_up=$(($(dr_now_ms) - t_up))

# OpenMPI 4.1's orted fails now and then when several orteds of one job
# start at once on one machine (the nodes of a local-provider cluster, the
# made-up hosts of the baseline): they share /tmp/ompi.HOST.UID and race to
# create the job family's directory in it ("A call to mkdir was unable to
# create the desired directory ... File exists"; open-mpi/ompi#8510).  Real
# nodes each have their own /tmp.  A trial that fails so is run again (at
# most RACE_TRIES times in all) and counted; any other failure ends the
# benchmark.  Under drover a worker's orted prints through the head's
# mpirun, which drover stops as soon as the worker's task fails, so the
# message can be lost: a job that failed because a worker's task (orted)
# exited with 213 (ORTE_ERR_SILENT, an orte_init failure already reported)
# counts as the race too.
RACE_MSG='orte_session_dir failed'
RACE_TRIES=${RACE_TRIES:-3}
D_RACES=0 P_RACES=0
# with_retry KIND LABEL: run KIND_trial until it does not hit the race
with_retry() {
    local k label
    for ((k = 1; k <= RACE_TRIES; k++)); do
        RACE=0
        label=$2
        ((k == 1)) || label=$2-try$k
        "$1_trial" "$label"
        ((RACE)) || return 0
        if [[ $1 == drover ]]; then D_RACES=$((D_RACES + 1)); else P_RACES=$((P_RACES + 1)); fi
        echo "   ($1 $label, $RACE_WHAT: orted session-dir race (open-mpi/ompi#8510), run again)"
    done
    dr_fail "$1 $2: the orted session-dir race $RACE_TRIES times in a row"
}

# drover_trial LABEL: one job; sets D_RUN D_FIRST D_ALL D_DONE (ms after t0),
# or RACE=1
drover_trial() {
    local dir=$T/stamps/$1 id js st t0 deadline
    mkdir -p "$dir"
    dr_wait_for "$NODES idle nodes" 60 nodes_idle
    wait_quiet "$SID" "drover $1"
    t0=$(ns)
    id=$(dr_cli job submit --cluster bm --name "ring-$1" --nodes "$NODES" \
        --procs-per-node "$PPN" --cpus 2 --distribution mpi --max-retries 0 \
        -- /bin/sh -c "$STAMP_SH" stamp "$dir" "$B/mpi_ring")
    deadline=$(($(dr_now_ms) + TIMEOUT * 1000))
    while :; do
        js=$(dr_cli -o json job show "$id")
        st=$(jq -r .state <<<"$js")
        case $st in succeeded | failed | canceled) break ;; esac
        (($(dr_now_ms) < deadline)) || dr_fail "drover $1: job $id still $st after $TIMEOUT s"
        sleep 0.05
    done
    if [[ "$st" != succeeded ]]; then
        local reason k
        reason=$(jq -r .reason <<<"$js")
        # the output of a worker's orted comes through the head's mpirun,
        # and may come late or (the head canceled at once) not at all
        for ((k = 0; k < 30; k++)); do
            if dr_cli job logs "$id" | grep -q "$RACE_MSG"; then
                RACE=1 RACE_WHAT="job $id"
                return 0
            fi
            sleep 0.1
        done
        if [[ "$reason" =~ \(rank\ [1-9][0-9]*\):\ exited\ with\ code\ 213$ ]]; then
            # a worker's orted ended with ORTE_ERR_SILENT (-43) before any
            # rank started there: an orte_init failure whose message was lost
            RACE=1 RACE_WHAT="job $id: $reason, orted's message lost"
            return 0
        fi
        dr_fail "drover $1: job $id $st: $reason"
    fi
    local ok
    ok=$(dr_cli job logs "$id" | grep -c ' ok$' || true)
    [[ "$ok" == "$NP" ]] || dr_fail "drover $1: job $id: $ok of $NP ranks ok"
    stamps "$dir" "$t0"
    D_FIRST=$S_FIRST D_ALL=$S_ALL
    D_RUN=$(($(jq -r .started_at <<<"$js") - t0 / 1000000))
    D_DONE=$(($(jq -r .ended_at <<<"$js") - t0 / 1000000))
}

# ---- plain mpirun -----------------------------------------------------------------
RSH=$T/rsh-local
cat >"$RSH" <<'EOF'
#!/bin/sh
# plm_rsh_agent: "rsh HOST COMMAND..." -> the command, here
RSH_HOST=$1
export RSH_HOST
shift
exec /bin/sh -c "$*"
EOF
chmod +x "$RSH"
HOSTFILE=$T/hostfile
{
    if [[ "$BASE_HOSTS" == fake4 ]]; then
        echo "bench-node-0 slots=$PPN"
    else
        echo "$(hostname) slots=$PPN"
    fi
    for ((k = 1; k < NODES; k++)); do echo "bench-node-$k slots=$PPN"; done
} >"$HOSTFILE"
BASE_ENV=(
    OMPI_MCA_plm_rsh_agent="$RSH"
    OMPI_MCA_plm_rsh_no_tree_spawn=1
    OMPI_MCA_orte_leave_session_attached=1
    OMPI_MCA_orte_tag_output=1
    "OMPI_MCA_btl=self,tcp"
    OMPI_MCA_btl_tcp_if_include=lo
    OMPI_MCA_oob_tcp_if_include=lo
    OMPI_MCA_rtc=^hwloc
)
ROOT_OPT=()
[[ $(id -u) == 0 ]] && ROOT_OPT=(--allow-run-as-root)

# plain_trial LABEL: one mpirun; sets P_FIRST P_ALL P_DONE (ms after t0),
# or RACE=1
plain_trial() {
    local dir=$T/stamps/$1 out=$T/plain-$1.out t0 t1 pid rc=0
    mkdir -p "$dir"
    t0=$(ns)
    # a session of its own, so that the EXIT trap ends whatever it leaves
    env "${BASE_ENV[@]}" setsid timeout -s KILL "$TIMEOUT" "$MPIRUN" "${ROOT_OPT[@]}" \
        --hostfile "$HOSTFILE" -np "$NP" --map-by "ppr:$PPN:node" \
        /bin/sh -c "$STAMP_SH" stamp "$dir" "$B/mpi_ring" >"$out" 2>&1 </dev/null &
    pid=$!
    DR_PGIDS+=("$pid")
    wait "$pid" || rc=$?
    t1=$(ns)
    if ((rc != 0)); then
        if grep -q "$RACE_MSG" "$out"; then
            wait_quiet "$pid" "plain $1"
            RACE=1 RACE_WHAT="mpirun exited $rc"
            return 0
        fi
        tail -n 20 "$out" >&2
        dr_fail "plain $1: mpirun exited $rc"
    fi
    local ok
    ok=$(grep -c ' ok$' "$out" || true)
    [[ "$ok" == "$NP" ]] || { tail -n 20 "$out" >&2; dr_fail "plain $1: $ok of $NP ranks ok"; }
    stamps "$dir" "$t0"
    P_FIRST=$S_FIRST P_ALL=$S_ALL
    P_DONE=$(((t1 - t0) / 1000000))
    wait_quiet "$pid" "plain $1"
}

echo "== MPI launch: $NODES nodes x $PPN processes (np $NP) of mpi_ring, drover vs plain" \
    "mpirun ($("$MPIRUN" --version 2>/dev/null | head -n 1)), $TRIALS trials each, $(nproc) cores"
echo "   drover: local provider, Standard_D2_v2, cluster min=max=$NODES (up and idle in" \
    "$((t_up / 1000)).$(((t_up % 1000) / 100)) s), --cpus 2 (one job per node)"
echo "   plain:  rsh agent = local sh -c, hostfile $(
    [[ $BASE_HOSTS == fake4 ]] && echo "4 made-up hosts (4 orteds)" ||
        echo "this host + 3 made-up hosts (3 orteds, as drover's head + 3 workers)"
)"
# warm-up, not counted
with_retry drover warm-d
with_retry plain warm-p

: >"$T/d_run"; : >"$T/d_run_all"; : >"$T/d_all"; : >"$T/d_done"; : >"$T/d_first"
: >"$T/p_all"; : >"$T/p_done"; : >"$T/p_first"
echo "per trial, ms after drover's submit (t0) / after mpirun's start:"
printf '%-5s | %-39s | %s\n' "" "drover: running  1st rank  all ranks  done" \
    "plain: 1st rank  all ranks  done"
for ((i = 1; i <= TRIALS; i++)); do
    with_retry drover "d$i"
    with_retry plain "p$i"
    echo "$D_RUN" >>"$T/d_run"; echo "$D_FIRST" >>"$T/d_first"
    echo "$D_ALL" >>"$T/d_all"; echo "$D_DONE" >>"$T/d_done"
    echo $((D_ALL - D_RUN)) >>"$T/d_run_all"
    echo "$P_FIRST" >>"$T/p_first"; echo "$P_ALL" >>"$T/p_all"
    echo "$P_DONE" >>"$T/p_done"
    printf '%-5s | %15d %9d %10d %5d | %15d %10d %5d\n' "$i" \
        "$D_RUN" "$D_FIRST" "$D_ALL" "$D_DONE" "$P_FIRST" "$P_ALL" "$P_DONE"
done

row() { # LABEL FILE
    local m p lo hi n
    read -r m p lo hi n < <(pct <"$2")
    printf '  %-42s median %6d ms   p90 %6d ms   (min %d, max %d)\n' "$1" "$m" "$p" "$lo" "$hi"
    eval "M_${2##*/}=$m P_${2##*/}=$p"
}
echo "-- summary, $TRIALS trials (p90 by nearest rank: the largest below 10 trials)"
row "drover submit -> job running" "$T/d_run"
row "drover submit -> first rank started" "$T/d_first"
row "drover submit -> all $NP ranks started" "$T/d_all"
row "drover submit -> job succeeded" "$T/d_done"
row "drover job running -> all $NP ranks started" "$T/d_run_all"
row "plain mpirun -> first rank started" "$T/p_first"
row "plain mpirun -> all $NP ranks started" "$T/p_all"
row "plain mpirun total (wall)" "$T/p_done"
# shellcheck disable=SC2154 # set by row's eval
{
    echo "-- drover's overhead over plain mpirun (drover - plain, ratio drover / plain;" \
        "of the medians, and of the p90s)"
    awk -v dm="$M_d_all" -v dp="$P_d_all" -v pm="$M_p_all" -v pp="$P_p_all" 'BEGIN {
        printf "  %-42s median %+6d ms (x%.2f)   p90 %+6d ms (x%.2f)\n",
            "to all ranks started", dm - pm, dm / (pm ? pm : 1), dp - pp, dp / (pp ? pp : 1) }'
    awk -v dm="$M_d_done" -v dp="$P_d_done" -v pm="$M_p_done" -v pp="$P_p_done" 'BEGIN {
        printf "  %-42s median %+6d ms (x%.2f)   p90 %+6d ms (x%.2f)\n",
            "submit -> succeeded vs mpirun total", dm - pm, dm / (pm ? pm : 1), dp - pp, dp / (pp ? pp : 1) }'
}
if ((D_RACES + P_RACES)); then
    echo "-- rerun after OpenMPI's orted session-dir race (all nodes on one machine):" \
        "$D_RACES drover, $P_RACES plain"
fi
