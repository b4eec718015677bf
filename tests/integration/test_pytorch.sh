#!/usr/bin/env bash
# distribution: pytorch (issue 16): a PyTorch DDP job (Debian's
# python3-torch, CPU, gloo) across 2 nodes x 2 processes.  drover starts
# the processes on every node with the variables Azure ML sets
# (MASTER_ADDR an address of the head every node reaches, MASTER_PORT,
# WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK); the loss
# falls, the final weights are identical on every rank, each output line
# names its node and rank; a rank that fails takes the job down and the
# reason says so.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
"$PY" -c 'import torch.distributed as d; assert d.is_gloo_available()' 2>/dev/null ||
    dr_fail "python3-torch with gloo is needed (apt-get install python3-torch)"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms
dr_cli cluster create -n pt -s Standard_D2_v2 --min-nodes 0 --max-nodes 2 >/dev/null
TRAIN="$(cd "$(dirname "$0")" && pwd)/ddp_train.py"

id=$(dr_cli job submit --cluster pt --name ddp --nodes 2 --procs-per-node 2 --cpus 2 \
    --distribution pytorch --max-retries 0 --time-limit 5m -- "$PY" "$TRAIN")
dr_wait_job_state "$id" succeeded 240
logs=$(dr_cli job logs "$id")
echo "$logs" | grep ' ddp rank ' | sed 's/^/    | /'
lines=$(grep -c ' ddp rank ' <<<"$logs" || true)
dr_assert_eq "$lines" 4 "4 ranks report"
for r in 0 1 2 3; do
    grep -qE "^\[pt-[0-9]+ rank $r\] ddp rank $r/4 " <<<"$logs" ||
        dr_fail "rank $r's line does not name its node and rank"
done
dr_assert_eq "$(grep ' ddp rank ' <<<"$logs" | awk '{print $NF}' | sort -u | wc -l)" 1 \
    "the final weights are identical on every rank"
grep ' ddp rank ' <<<"$logs" | awk '{ if (!($12 > $14)) bad = 1 } END { exit bad }' ||
    dr_fail "the loss did not fall on every rank"
dr_assert_eq "$(grep ' ddp rank ' <<<"$logs" | awk '{print $10}' | sort | paste -s -d' ')" \
    "0 0 1 1" "NODE_RANK per node"

# a rank that fails takes the job down
bad=$(dr_cli job submit --cluster pt --nodes 2 --procs-per-node 2 --cpus 2 \
    --distribution pytorch --max-retries 0 -- sh -c \
    'echo "rank $RANK of $WORLD_SIZE at $MASTER_ADDR:$MASTER_PORT"; [ "$RANK" = 3 ] && exit 9; sleep 30')
dr_wait_job_state "$bad" failed 120
reason=$(dr_cli -o json job show "$bad" | jq -r .reason)
dr_log "reason: $reason"
dr_assert_contains "$reason" "exited with code 9" "the failure's code"
dr_assert_contains "$(dr_cli job logs "$bad")" "process rank 3 exited with code 9" "the failed rank named"

# bad input
if out=$(dr_cli job submit --cluster pt --distribution tensorflw -- true 2>&1); then
    dr_fail "an unknown distribution was accepted"
fi
dr_assert_contains "$out" "is not known" "unknown distribution"
dr_pass
