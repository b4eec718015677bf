#!/usr/bin/env bash
# drover quickstart: install dependencies, build, start a scheduler on this
# machine, create an autoscaling CPU cluster (0..2 nodes, local provider),
# run a data-parallel training job, a batch-scoring job and a 2-node MPI
# job on it, and watch the cluster scale back to zero.  Run it from anywhere, as root on a fresh
# Debian 12 (or as a user with sudo):
#
#     ./deploy/quickstart.sh
#
# Everything it creates lives under .demo/ in the repository.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
DEMO=$REPO/.demo
STATE=$DEMO/state
CLUSTER=cpu-cluster
DROVER=$REPO/build/drover
CLIENT_PORT=7701
AGENT_PORT=7700

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() {
    printf '\nquickstart: FAILED: %s\n' "$*" >&2
    exit 1
}
# dr: show the command as a user would type it, then run it
dr() {
    printf '$ drover %s\n' "$*" >&2
    "$DROVER" "$@"
}

say "installing dependencies (to build and run: install-deps.sh --runtime)"
./deploy/install-deps.sh --runtime || die "install-deps.sh --runtime failed"

say "building (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
    die "cmake configure failed"
cmake --build build -j"$(nproc)" || die "build failed"
for b in drover-scheduler drover-agent drover drover-launch mpi_ring; do
    [[ -x build/$b ]] || die "build/$b was not built"
done

for p in $CLIENT_PORT $AGENT_PORT; do
    if [[ -n "$(ss -Hltn "( sport = :$p )" 2>/dev/null)" ]]; then
        die "port $p is already in use (another drover-scheduler?)"
    fi
done

rm -rf "$STATE"
mkdir -p "$DEMO"
rm -f "$DEMO/model.json" "$DEMO/test.csv" "$DEMO/predictions.csv"
: >"$DEMO/scheduler.log"

# --- the scheduler, in its own session: the agents that its local provider
# starts share its process group, and the trap ends the whole session. -----
SCHED_PID=""
# the live processes of session $1: the scheduler, its agents, and the jobs
# that the agents run in process groups of their own
session_pids() {
    ps -e -o pid=,sid=,stat= | awk -v s="$1" '$2 == s && $3 !~ /^Z/ { print $1 }'
}
cleanup() {
    local rc=$?
    set +e
    if [[ -n "$SCHED_PID" ]]; then
        echo "stopping the scheduler and its agents (session $SCHED_PID)"
        kill -TERM -- "-$SCHED_PID" 2>/dev/null
        for _ in $(seq 1 100); do
            [[ -z "$(session_pids "$SCHED_PID")" ]] && break
            sleep 0.1
        done
        pids=$(session_pids "$SCHED_PID")
        if [[ -n "$pids" ]]; then
            # shellcheck disable=SC2086 # word splitting wanted
            kill -KILL $pids 2>/dev/null
        fi
        wait "$SCHED_PID" 2>/dev/null
    fi
    if [[ $rc -ne 0 ]]; then
        echo "quickstart failed (exit $rc); scheduler log: $DEMO/scheduler.log" >&2
        echo "--- last 30 lines:" >&2
        tail -n 30 "$DEMO/scheduler.log" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting drover-scheduler (state: .demo/state, log: .demo/scheduler.log)"
setsid "$REPO/build/drover-scheduler" --state-dir "$STATE" \
    --agent-endpoint "tcp://127.0.0.1:$AGENT_PORT" \
    >>"$DEMO/scheduler.log" 2>&1 </dev/null &
SCHED_PID=$!
# CURVE is on: the scheduler made its keys and a local admin's on first
# start; the CLI finds them here
export DROVER_HOME="$STATE/keys"
# bounded by time, not by tries: each try waits at most 1 s for an answer
UP_WAIT_S=20
up=0
deadline=$((SECONDS + UP_WAIT_S))
while ((SECONDS < deadline)); do
    if "$DROVER" --timeout 1s cluster list >/dev/null 2>&1; then
        up=1
        break
    fi
    kill -0 "$SCHED_PID" 2>/dev/null || die "drover-scheduler exited at startup"
    sleep 0.2
done
[[ $up -eq 1 ]] || die "drover-scheduler did not answer within $UP_WAIT_S s: $("$DROVER" --timeout 1s cluster list 2>&1 | head -1)"
echo "scheduler is up (pid $SCHED_PID), clients on tcp://127.0.0.1:$CLIENT_PORT"

say "creating cluster $CLUSTER (Standard_D2_v2: 2 vCPUs, 7 GB; 0..2 nodes)"
dr cluster create -n "$CLUSTER" -s Standard_D2_v2 --min-nodes 0 \
    --max-nodes 2 --idle-seconds-before-scaledown 20 ||
    die "cluster create failed"
dr cluster show -n "$CLUSTER" || die "cluster show failed"

# submit NAME CPUS MEM [FLAGS...] -- ARGV...: submit with --wait, print the
# job's logs; sets JOB_ID.  The id comes first on stdout, progress on stderr.
submit() {
    local name=$1 cpus=$2 mem=$3 out rc=0 flags=()
    shift 3
    while [[ $# -gt 0 && "$1" != "--" ]]; do
        flags+=("$1")
        shift
    done
    shift
    out=$(dr job submit --cluster "$CLUSTER" --name "$name" --cpus "$cpus" \
        --memory "$mem" "${flags[@]}" --wait -- "$@") || rc=$?
    JOB_ID=$(printf '%s\n' "$out" | head -n 1 | tr -dc '0-9')
    if [[ -z "$JOB_ID" ]]; then
        die "job submit ($name) printed no job id (exit $rc): $out"
    fi
    echo "job $JOB_ID ($name) finished with exit code $rc"
    dr job logs "$JOB_ID" || die "job logs $JOB_ID failed"
    [[ $rc -eq 0 ]] || die "job $JOB_ID ($name) failed with exit code $rc"
}

say "training: data-parallel SGD, 2 worker processes (the cluster scales up)"
submit train 2 2G -- python3 "$REPO/deploy/samples/train.py" --workers 2 \
    --epochs 15 --out "$DEMO/model.json" --write-test-data "$DEMO/test.csv"
TRAIN_ID=$JOB_ID
[[ -s "$DEMO/model.json" ]] || die "train job $TRAIN_ID wrote no model"

say "batch inference: score the held-out test set"
submit score 1 1G -- python3 "$REPO/deploy/samples/score.py" \
    --model "$DEMO/model.json" --input "$DEMO/test.csv" \
    --output "$DEMO/predictions.csv"
[[ -s "$DEMO/predictions.csv" ]] || die "score job $JOB_ID wrote no predictions"

say "multi-node MPI without SSH: 2 nodes x 2 ranks, allreduce and ring"
submit mpi-ring 2 1G --nodes 2 --procs-per-node 2 --distribution mpi -- \
    "$REPO/build/mpi_ring"
dr job show "$JOB_ID" | grep -E '^(nodes|head_node|distribution):' ||
    die "job show $JOB_ID failed"

say "jobs, nodes and the cluster"
dr job list || die "job list failed"
dr node list || die "node list failed"
dr cluster show -n "$CLUSTER" || die "cluster show failed"

say "waiting for $CLUSTER to scale down to 0 nodes (idle 20 s, up to 120 s)"
deadline=$((SECONDS + 120))
while true; do
    json=$("$DROVER" -o json cluster show -n "$CLUSTER") ||
        die "cluster show -o json failed"
    cur=$(jq -r '.current_nodes // 0' <<<"$json")
    tgt=$(jq -r '.target_nodes // 0' <<<"$json")
    alloc=$(jq -r '.allocation_state // "?"' <<<"$json")
    printf '  %s  current_nodes=%s target_nodes=%s allocation_state=%s\n' \
        "$(date +%T)" "$cur" "$tgt" "$alloc"
    [[ "$cur" == 0 ]] && break
    ((SECONDS < deadline)) || die "cluster still has $cur node(s) after 120 s"
    sleep 5
done
echo "cluster $CLUSTER is back to 0 nodes"
dr cluster show -n "$CLUSTER" || die "cluster show failed"

say "done"
echo "model:       $DEMO/model.json"
echo "test data:   $DEMO/test.csv"
echo "predictions: $DEMO/predictions.csv"
echo "scheduler log and state: $DEMO/scheduler.log, $STATE"
