#!/usr/bin/env bash
# Submission and end to end, side by side with a real Slurm (issue 17):
# Debian's slurmctld, slurmd and munged, started here on one node of 64
# CPUs (SlurmdParameters=config_overrides), on free loopback ports, with
# all their state in a temp dir; next to one drover-scheduler (CURVE on,
# as users run it) with a local-provider cluster of one 64-CPU node.
#   seq  - one client, N calls one after the other: `sbatch -H --wrap true`
#          against `drover job submit -- true` over TCP+CURVE and over the
#          local socket (ipc://, the kernel names the peer: no handshake);
#          jobs go to a cluster of no nodes, as -H holds Slurm's.
#   par  - P clients at once, N/P calls each, the same three.
#   e2e  - E jobs running `true`, submitted by P clients at once, on the
#          64-CPU node: wall clock from the first submission to the last
#          job ended (Slurm: squeue empty; drover: every job succeeded).
# Prints FIGURE lines (calls/s, jobs/s and drover/Slurm ratios); not a
# pass/fail test.  Without Slurm's packages it says so and exits 0.
# Usage: tests/bench/bench_slurm.sh [BUILD_DIR]   (default: build)
# Environment: N (300), P (8), E (1000)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$REPO/build}" && pwd)
N=${N:-300}
P=${P:-8}
E=${E:-1000}
source "$REPO/tests/bench/bench_lib.sh"
for p in slurmctld slurmd munged; do
    if ! command -v "$p" >/dev/null && [[ ! -x /usr/sbin/$p ]]; then
        echo "bench_slurm: $p is not installed (apt-get install slurmctld slurmd munge); no comparison"
        exit 0
    fi
done
export PATH=/usr/sbin:$PATH
bench_setup slurm
unset DROVER_INSECURE

# ---- Slurm ------------------------------------------------------------------
S=$T/slurm
mkdir -p "$S/munge" "$S/state" "$S/spool" "$S/log" "$S/out"
chmod 711 "$S/munge"
if [[ -r /etc/munge/munge.key ]]; then
    cp /etc/munge/munge.key "$S/munge/munge.key"
else
    dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 2>/dev/null
fi
chmod 600 "$S/munge/munge.key"
munged --key-file="$S/munge/munge.key" --socket="$S/munge/munge.sock" \
    --pid-file="$S/munge/munged.pid" --log-file="$S/munge/munged.log" \
    --seed-file="$S/munge/seed"
PIDS+=("$(cat "$S/munge/munged.pid")")
bench_ports
SCP=$CP SDP=$AP
cat >"$S/slurm.conf" <<EOF
ClusterName=bench
SlurmctldHost=localhost
SlurmctldPort=$SCP
SlurmdPort=$SDP
AuthType=auth/munge
AuthInfo=socket=$S/munge/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
MaxJobCount=200000
NodeName=localhost CPUs=64 RealMemory=64000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$S/slurm.conf
slurmctld -i
slurmd
PIDS+=("$(cat "$S/slurmctld.pid" 2>/dev/null || echo 0)" "$(cat "$S/slurmd.pid" 2>/dev/null || echo 0)")
for ((i = 0; i < 100; i++)); do
    [[ "$(sinfo -h -o %T 2>/dev/null)" == idle ]] && break
    sleep 0.2
done
[[ "$(sinfo -h -o %T)" == idle ]] || { echo "bench_slurm: Slurm's node did not come up" >&2; tail "$S/log/"*.log >&2; exit 1; }
PIDS=("${PIDS[@]}" "$(cat "$S/slurmctld.pid")" "$(cat "$S/slurmd.pid")")

# ---- drover -----------------------------------------------------------------
bench_ports
CAT=$T/vm-sizes.csv
cp "$REPO/deploy/vm-sizes.csv" "$CAT"
echo "Bench_C64,64,256,0,,0,benchC64Family" >>"$CAT"
"$B/drover-scheduler" --state-dir "$T/state" --client-endpoint "tcp://127.0.0.1:$CP" \
    --agent-endpoint "tcp://127.0.0.1:$AP" --vm-catalog "$CAT" \
    --log-level warn >>"$T/sched.log" 2>&1 &
PIDS+=($!)
export DROVER_HOME=$T/state/keys
TCP=tcp://127.0.0.1:$CP
LOCAL=ipc://$T/state/drover.sock
until DROVER_SCHEDULER=$TCP "$B/drover" cluster list >/dev/null 2>&1; do sleep 0.1; done
export DROVER_SCHEDULER=$TCP
"$B/drover" cluster create -n hold -s Standard_D2_v2 --min-nodes 0 --max-nodes 0 >/dev/null
"$B/drover" cluster create -n e2e -s Bench_C64 --min-nodes 1 --max-nodes 1 \
    --idle-seconds-before-scaledown 86400 >/dev/null
until [[ $("$B/drover" -o json node list --cluster e2e | jq '[.[] | select(.state=="idle")] | length') == 1 ]]; do
    sleep 0.2
done

# one_client KIND COUNT: COUNT submissions, one after the other
one_client() {
    local kind=$1 n=$2 i
    for ((i = 0; i < n; i++)); do
        case $kind in
        slurm) sbatch -H -o /dev/null --wrap true >/dev/null ;;
        tcp) DROVER_SCHEDULER=$TCP "$B/drover" job submit --cluster hold -- true >/dev/null ;;
        local) DROVER_SCHEDULER=$LOCAL "$B/drover" job submit --cluster hold -- true >/dev/null ;;
        slurm-run) sbatch -o /dev/null --wrap true >/dev/null ;;
        local-run) DROVER_SCHEDULER=$LOCAL "$B/drover" job submit --cluster e2e --cpus 1 -- true >/dev/null ;;
        esac
    done
}
# clients KIND NCLIENTS TOTAL: ms for TOTAL submissions by NCLIENTS at once
clients() {
    local kind=$1 c=$2 total=$3 t0 k pids=()
    t0=$(ms)
    for ((k = 0; k < c; k++)); do
        one_client "$kind" $((total / c)) &
        pids+=($!)
    done
    wait "${pids[@]}"
    echo $(($(ms) - t0))
}
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.0f", n * 1000 / ms }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "== submission (one client: N=$N calls; $P clients: $((N / P * P)) calls)"
declare -A SEQ PAR
for kind in slurm tcp local; do
    SEQ[$kind]=$(rate "$N" "$(clients "$kind" 1 "$N")")
    PAR[$kind]=$(rate $((N / P * P)) "$(clients "$kind" "$P" "$N")")
done
scancel --quiet --user "$(id -un)" || true
for kind in slurm tcp local; do
    printf '  FIGURE seq_%s_per_s=%s par%d_%s_per_s=%s\n' "$kind" "${SEQ[$kind]}" "$P" "$kind" "${PAR[$kind]}"
done
printf '  FIGURE seq_ratio_tcp=%s seq_ratio_local=%s (drover/Slurm, one client)\n' \
    "$(ratio "${SEQ[tcp]}" "${SEQ[slurm]}")" "$(ratio "${SEQ[local]}" "${SEQ[slurm]}")"
printf '  FIGURE par_ratio_tcp=%s par_ratio_local=%s (drover/Slurm, %d clients)\n' \
    "$(ratio "${PAR[tcp]}" "${PAR[slurm]}")" "$(ratio "${PAR[local]}" "${PAR[slurm]}")" "$P"

echo "== end to end ($E jobs of 'true' on one 64-CPU node, $P clients submitting)"
until [[ -z "$(squeue -h 2>/dev/null)" ]]; do sleep 0.2; done
t0=$(ms)
clients slurm-run "$P" "$E" >/dev/null
until [[ -z "$(squeue -h)" ]]; do sleep 0.05; done
slurm_ms=$(($(ms) - t0))
done_jobs() { sqlite3 "file:$T/state/drover.db?mode=ro" \
    "select count(*) from jobs where cluster = 'e2e' and state = 'succeeded'" 2>/dev/null || echo 0; }
want=$((E / P * P))
t0=$(ms)
clients local-run "$P" "$E" >/dev/null
until (($(done_jobs) >= want)); do sleep 0.05; done
drover_ms=$(($(ms) - t0))
printf '  FIGURE e2e_slurm_jobs_per_s=%s (%d ms) e2e_drover_jobs_per_s=%s (%d ms) e2e_ratio=%s\n' \
    "$(rate "$want" "$slurm_ms")" "$slurm_ms" "$(rate "$want" "$drover_ms")" "$drover_ms" \
    "$(ratio "$slurm_ms" "$drover_ms")"
