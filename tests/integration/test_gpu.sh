#!/usr/bin/env bash
# GPU nodes without GPUs: the local provider gives a GPU vm size its
# catalog GPUs through an inventory file.  Two 1-GPU jobs land on different
# GPUs and see exactly theirs; a 2-GPU job waits while only one is free; a
# GPU that turns unhealthy mid-job fails the job over and stays out of use.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 10s \
    --autoscale-interval 200ms
dr_cli cluster create -n gpu -s Standard_NC12 --min-nodes 1 --max-nodes 1 >/dev/null
ready() { [[ $(dr_cli -o json node list --cluster gpu | jq '[.[] | select(.state=="idle") | .gpus | length] | add // 0') == 2 ]]; }
dr_wait_for "a node with 2 GPUs" 30 ready
node=$(dr_cli -o json node list --cluster gpu | jq -r '.[0].name')
dr_assert_eq "$(dr_cli -o json node show "$node" | jq -r '.gpus[0].name')" "Tesla K80" "catalog GPU model"

if out=$(dr_cli job submit --cluster gpu --gpus 3 -- true 2>&1); then dr_fail "3 GPUs on a 2-GPU size accepted"; fi
dr_assert_contains "$out" "job asks for 3 GPUs but Standard_NC12 has 2" "too many GPUs refused at submit"

env_job='echo "CVD=$CUDA_VISIBLE_DEVICES UUIDS=$DROVER_GPU_UUIDS"; sleep'
a=$(dr_cli job submit --cluster gpu --gpus 1 --cpus 1 -- sh -c "$env_job 3")
b=$(dr_cli job submit --cluster gpu --gpus 1 --cpus 1 -- sh -c "$env_job 6")
dr_wait_job_state "$a" running 30
dr_wait_job_state "$b" running 30
ga=$(dr_cli -o json job show "$a" | jq -r '.gpu_indices[0]')
gb=$(dr_cli -o json job show "$b" | jq -r '.gpu_indices[0]')
[[ "$ga" != "$gb" ]] || dr_fail "two jobs on GPU $ga"
c=$(dr_cli job submit --cluster gpu --gpus 2 --cpus 1 -- sh -c "$env_job 1")
dr_wait_job_state "$a" succeeded 30
sleep 1
dr_assert_eq "$(dr_job_state "$c")" queued "2-GPU job waits while one GPU is free"
dr_assert_contains "$(dr_cli -o json job show "$c" | jq -r .reason)" "2 free GPUs" "wait reason"
for id in "$a" "$c"; do :; done
dr_wait_job_state "$c" succeeded 60
# each job saw exactly its GPUs
ua=$(dr_cli -o json job show "$a" | jq -r '.gpu_uuids | join(",")')
dr_assert_contains "$(dr_cli job logs "$a")" "CVD=$ga UUIDS=$ua" "job a env"
jc=$(dr_cli -o json job show "$c")
dr_assert_eq "$(jq -r '.gpu_indices | length' <<<"$jc")" 2 "job c holds 2 GPUs"
dr_assert_contains "$(dr_cli job logs "$c")" "CVD=$(jq -r '.gpu_indices | join(",")' <<<"$jc")" "job c env"

# GPU 1 turns unhealthy mid-job: the job fails over, the GPU stays unused
inv="$T/state/nodes/$node.gpus.json"
d=$(dr_cli job submit --cluster gpu --gpus 2 --max-retries 2 -- sh -c "$env_job 30")
dr_wait_job_state "$d" running 30
tmp=$(mktemp)
jq '(.gpus[] | select(.index == 1) | .healthy) = false | (.gpus[] | select(.index == 1) | .ecc_uncorrected) = 3' "$inv" >"$tmp"
mv "$tmp" "$inv"
requeued() { [[ $(dr_job_state "$d") == queued ]]; }
dr_wait_for "failover of the job on the unhealthy GPU" 30 requeued
js=$(dr_cli -o json job show "$d")
dr_assert_contains "$(jq -r .reason <<<"$js")" "gpu 1 on node $node became unhealthy" "failover reason"
sleep 2
dr_assert_eq "$(dr_job_state "$d")" queued "no 2 healthy GPUs: it waits"
e=$(dr_cli job submit --cluster gpu --gpus 1 -- sh -c "$env_job 0")
dr_wait_job_state "$e" succeeded 30
dr_assert_eq "$(dr_cli -o json job show "$e" | jq -r '.gpu_indices[0]')" 0 "the unhealthy GPU is skipped"
dr_assert_eq "$(dr_cli -o json node show "$node" | jq -r '.gpus[] | select(.index==1) | .healthy')" false "node shows it"
dr_cli job cancel "$d" >/dev/null
dr_pass
