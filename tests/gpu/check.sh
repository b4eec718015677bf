#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU and driver (not run by ctest:
# CI machines have no GPU).  In under 5 minutes it
#
#   1. builds drover (cmake, a build directory of its own) and runs the GPU
#      unit tests (check_gpu: inventory parsing, fake NVML);
#   2. prints the real NVML inventory as the agent sees it
#      (drover-agent --print-gpus) and checks that NVML answered;
#   3. starts a scheduler, a cluster of vm size Standard_NC6s_v3 and one
#      real drover-agent on this machine (no --gpu-inventory: NVML), and
#      checks that the node registered with its GPUs;
#   4. submits `nvidia-smi -L` (process runtime) with --gpus 1 and prints
#      its logs and the CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES /
#      DROVER_GPU_UUIDS it got; where python3 and libcuda are present, it
#      also counts the CUDA devices the job can see (must be 1);
#   5. checks that asking for more GPUs than the vm size has is refused.
#
# Usage: bash tests/gpu/check.sh        (from anywhere; BUILD=dir to choose
# the build directory, default build-gpu/ in the repository)
#        PREBUILT=DIR bash tests/gpu/check.sh
#   for a GPU machine without drover's build dependencies: DIR holds
#   drover-scheduler, drover-agent and drover built elsewhere (and jq if the
#   machine lacks it); step 1 is skipped (CI runs check_gpu).
# Exit 0 when every check passed; each check prints "ok:" or "FAIL:".
#
# The agent is started by this script, not by the scheduler's local
# provider (which gives GPU vm sizes a synthetic inventory file): the
# cluster is min 0 / max 1 nodes, so the autoscaler adds none of its own
# once the real node has registered.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$SRC/build-gpu}
PREBUILT=${PREBUILT:-}
if [[ -n "$PREBUILT" ]]; then
    BUILD=$PREBUILT
    export PATH="$PREBUILT:$PATH"
fi
START=$SECONDS
CLUSTER=gpucheck
NODE=gpucheck-real

say() { printf '\n=== %s (t=%ds)\n' "$*" "$((SECONDS - START))"; }
ok() { printf 'ok: %s\n' "$*"; }

# ---- 0. the machine ------------------------------------------------------------
say "machine"
tools="jq nvidia-smi"
[[ -n "$PREBUILT" ]] || tools="cmake make $tools"
for tool in $tools; do
    command -v "$tool" >/dev/null || {
        echo "FAIL: $tool is not installed"
        exit 1
    }
done
nvidia-smi -L || {
    echo "FAIL: nvidia-smi -L failed: no usable NVIDIA driver here"
    exit 1
}

# ---- 1. build ------------------------------------------------------------------
if [[ -n "$PREBUILT" ]]; then
    say "prebuilt binaries in $PREBUILT (no build here; check_gpu runs in CI)"
else
    say "build ($BUILD)"
    cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    make -C "$BUILD" -j"$(nproc)" drover-scheduler drover-agent drover \
        check_gpu >"$BUILD/gpu-check-make.log" 2>&1 || {
        tail -n 40 "$BUILD/gpu-check-make.log"
        echo "FAIL: build"
        exit 1
    }
    ok "built"
    (cd "$BUILD" && CK_FORK=yes ./check_gpu 2>/dev/null | tail -n 3)
    ok "check_gpu passed"
fi

# ---- 2. the agent's NVML inventory ---------------------------------------------
say "drover-agent --print-gpus"
inv=$("$BUILD/drover-agent" --print-gpus)
printf '%s\n' "$inv"
src=$(jq -r .source <<<"$inv")
ngpu=$(jq '.gpus | length' <<<"$inv")
if [[ "$src" != nvml || "$ngpu" -lt 1 ]]; then
    echo "FAIL: expected GPUs from NVML, got source=$src, $ngpu GPU(s):" \
        "$(jq -r '.reason // ""' <<<"$inv")"
    exit 1
fi
nsmi=$(nvidia-smi -L | grep -c '^GPU ')
[[ "$nsmi" == "$ngpu" ]] ||
    echo "note: nvidia-smi lists $nsmi GPU(s), NVML through drover $ngpu"
jq -r '.gpus[] | "  gpu \(.index) \(.uuid) \(.name) \(.memory_used_mb)/\(.memory_total_mb) MB, \(.temperature_c) C, \(.power_mw)/\(.power_limit_mw) mW, ecc \(.ecc_uncorrected), healthy \(.healthy)"' <<<"$inv"
healthy=$(jq '[.gpus[] | select(.healthy)] | length' <<<"$inv")
[[ "$healthy" -ge 1 ]] || {
    echo "FAIL: no healthy GPU: $(jq -c '[.gpus[].health_reason]' <<<"$inv")"
    exit 1
}
ok "$ngpu GPU(s) from NVML, $healthy healthy"

# ---- 3. scheduler, cluster, a real agent ---------------------------------------
say "scheduler, cluster $CLUSTER (Standard_NC6s_v3), agent $NODE"
export DROVER_BIN=$BUILD DROVER_SOURCE_DIR=$SRC
# shellcheck source=SCRIPTDIR/../integration/lib.sh
source "$SRC/tests/integration/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 1s --heartbeat-timeout 10s
dr_cli cluster create -n "$CLUSTER" -s Standard_NC6s_v3 --min-nodes 0 \
    --max-nodes 1 --idle-seconds-before-scaledown 600 >/dev/null
# CURVE is on: the real node's key is made and registered by the admin
dr_cli keys generate --name "$NODE" --dir "$T" >/dev/null
dr_cli keys add-agent "$NODE" "$T/$NODE.pub" >/dev/null
dr_spawn "$T/agent-real.log" "$BUILD/drover-agent" --scheduler "$AGENT_EP" \
    --key "$T/$NODE.key" --scheduler-key "$T/state/keys/scheduler.pub" \
    --name "$NODE" --cluster "$CLUSTER" --vm-size Standard_NC6s_v3 \
    --cpus 6 --memory-mb 114688 --work-dir "$T/agent-real" \
    --heartbeat-ms 1000
node_ready() {
    dr_cli -o json node list --cluster "$CLUSTER" |
        jq -e --arg n "$NODE" \
            '.[] | select(.name == $n and (.state == "idle" or .state == "running") and (.gpus | length) > 0)'
}
dr_wait_for "node $NODE ready with GPUs" 60 node_ready
grep -m1 'gpu:' "$T/agent-real.log" || true
dr_cli node list --cluster "$CLUSTER"
nodes_json=$(dr_cli -o json node list --cluster "$CLUSTER")
jq -c --arg n "$NODE" '.[] | select(.name == $n) | .gpus' <<<"$nodes_json"
other=$(jq -r --arg n "$NODE" '[.[] | select(.name != $n) | .name] | join(" ")' <<<"$nodes_json")
[[ -z "$other" ]] || echo "note: the cluster also has node(s) $other"
ok "node $NODE registered with $(jq --arg n "$NODE" '.[] | select(.name == $n) | .gpus | length' <<<"$nodes_json") GPU(s)"

# ---- 4. a GPU job ----------------------------------------------------------------
say "job: nvidia-smi -L with --gpus 1"
# shellcheck disable=SC2016 # expanded by the job's shell, not this one
job_sh='echo "CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-unset}"
echo "NVIDIA_VISIBLE_DEVICES=${NVIDIA_VISIBLE_DEVICES-unset}"
echo "DROVER_GPU_UUIDS=${DROVER_GPU_UUIDS-unset}"
echo "CUDA_DEVICE_ORDER=${CUDA_DEVICE_ORDER-unset}"
nvidia-smi -L
if command -v python3 >/dev/null; then
python3 - <<EOF || true
import ctypes
try:
    cu = ctypes.CDLL("libcuda.so.1")
except OSError as e:
    print("cuda: libcuda not loadable:", e)
    raise SystemExit(0)
n = ctypes.c_int(0)
rc = cu.cuInit(0)
rc2 = cu.cuDeviceGetCount(ctypes.byref(n)) if rc == 0 else rc
print("cuda: visible devices =", n.value if rc2 == 0 else "error %d/%d" % (rc, rc2))
EOF
fi'
id=$(dr_cli job submit --cluster "$CLUSTER" --gpus 1 --name gpu-check -- \
    sh -c "$job_sh")
echo "job $id submitted"
dr_wait_job_state "$id" succeeded 90
js=$(dr_cli -o json job show "$id")
jq -c '{id, state, nodes, gpus, gpu_indices, gpu_uuids, exit_code}' <<<"$js"
logs=$(dr_cli job logs "$id")
echo "--- logs of job $id:"
printf '%s\n' "$logs"
echo "---"
dr_assert_eq "$(jq -r '.nodes[0]' <<<"$js")" "$NODE" "the job ran on the real node"
cvd=$(sed -n 's/^CUDA_VISIBLE_DEVICES=//p' <<<"$logs")
[[ "$cvd" =~ ^[0-9]+$ ]] || dr_fail "CUDA_VISIBLE_DEVICES is '$cvd', expected one index"
dr_assert_contains "$logs" "NVIDIA_VISIBLE_DEVICES=$cvd" "NVIDIA_VISIBLE_DEVICES"
uuid=$(jq -r --argjson i "$cvd" '.gpus[] | select(.index == $i) | .uuid' <<<"$inv")
dr_assert_contains "$logs" "DROVER_GPU_UUIDS=$uuid" "DROVER_GPU_UUIDS is GPU $cvd's uuid"
dr_assert_contains "$logs" "GPU $cvd" "nvidia-smi -L lists GPU $cvd"
if grep -q '^cuda: visible devices = ' <<<"$logs"; then
    dr_assert_contains "$logs" "cuda: visible devices = 1" "CUDA sees one device"
fi
ok "job $id ran on $NODE with CUDA_VISIBLE_DEVICES=$cvd ($uuid)"

# ---- 5. more GPUs than the vm size has ---------------------------------------------
say "job asking for 2 GPUs on a 1-GPU vm size"
if out=$(dr_cli job submit --cluster "$CLUSTER" --gpus 2 -- true 2>&1); then
    dr_fail "a 2-GPU job was accepted on Standard_NC6s_v3: $out"
fi
echo "$out"
ok "refused"

say "done in $((SECONDS - START)) s"
dr_pass
