#!/usr/bin/env bash
# A simulator's nodes with keys of their own (issue 17): `drover-agent
# --simulate 40 --join-token T` gives each hollow node its own CURVE key
# pair, joined with one token (pipelined), so that scale runs keep CURVE
# on: all 40 register with a scheduler that is not --insecure, each under
# the key the scheduler now has for it (no two alike), and a job runs on
# them.  A restart needs no token (the token is revoked first) and keeps
# the keys; a token with too few uses stops the simulator with the
# scheduler's reason (the nodes admitted keep their keys, and a second
# token joins only the rest), and the scheduler keeps running.  The nodes
# of a --gpu-inventory report GPU UUIDs of their own.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 1s
SPUB="$T/state/keys/scheduler.pub"
dr_cli cluster create -n simk -s Standard_D2_v2 --min-nodes 0 --max-nodes 0 >/dev/null
tok=$(dr_cli cluster join-token create -n simk --uses 40 | awk '{print $NF}')
sim() { # LOG ARGS...
    local log=$1
    shift
    dr_spawn "$log" "$DROVER_BIN/drover-agent" --simulate 40 --name sk --cluster simk \
        --vm-size Standard_D2_v2 --scheduler "$AGENT_EP" --scheduler-key "$SPUB" \
        --work-dir "$T/sim" "$@"
}
ready() { dr_cli -o json node list --cluster simk | jq '[.[] | select(.state == "idle" or .state == "busy")] | length'; }
all_ready() { [[ $(ready) == 40 ]]; }
sim "$T/sim1.log" --join-token "$tok"
S1=$DR_SPAWN_PID
dr_wait_for "40 simulated nodes registered" 60 all_ready
dr_assert_contains "$(cat "$T/sim1.log")" "simulate: 40 nodes joined in" "the joins, timed"
keys=$(dr_cli -o json keys list | jq -r '.[] | select(.name | startswith("sk-")) | .public_key')
dr_assert_eq "$(wc -l <<<"$keys")" 40 "40 agent keys"
dr_assert_eq "$(sort -u <<<"$keys" | wc -l)" 40 "each node its own key"
k7=$(dr_cli -o json keys list | jq -r '.[] | select(.name == "sk-7") | .public_key')
grep -qF "sk-7 $k7 " "$T/sim/sim-keys" || dr_fail "sk-7's key is not the one in sim-keys"
[[ $(stat -c %a "$T/sim/sim-keys") == 600 ]] || dr_fail "sim-keys is not 0600"
jid=$(dr_cli job submit --cluster simk -- true)
dr_wait_job_state "$jid" succeeded 30
# a restart: the token revoked, the keys kept
dr_cli cluster join-token revoke -n simk "${tok%%.*}" >/dev/null
kill -TERM "$S1"
dr_wait_for "the simulator exited" 15 bash -c "! kill -0 $S1 2>/dev/null"
sim "$T/sim2.log" --join-token "$tok"
dr_wait_for "40 nodes back" 60 all_ready
dr_assert_contains "$(cat "$T/sim2.log")" "the 40 nodes joined before" "a restart needs no token"
dr_assert_eq "$(dr_cli -o json keys list | jq -r '.[] | select(.name == "sk-7") | .public_key')" "$k7" "the same key"
kill -TERM "$DR_SPAWN_PID"
# too few uses: the simulator stops with the scheduler's reason
tok2=$(dr_cli cluster join-token create -n simk --uses 3 | awk '{print $NF}')
if timeout 60 "$DROVER_BIN/drover-agent" --simulate 5 --name few --cluster simk \
    --vm-size Standard_D2_v2 --scheduler "$AGENT_EP" --scheduler-key "$SPUB" \
    --work-dir "$T/few" --join-token "$tok2" >"$T/few.log" 2>&1; then
    dr_fail "5 nodes joined with a token of 3 uses"
fi
dr_assert_contains "$(cat "$T/few.log")" "join refused by the scheduler" "the refusal, said"
dr_assert_eq "$(wc -l <"$T/few/sim-keys")" 3 "the 3 admitted nodes keep their keys"
# a second token for the rest: only the 2 left join
tok3=$(dr_cli cluster join-token create -n simk --uses 2 | awk '{print $NF}')
dr_spawn "$T/few2.log" "$DROVER_BIN/drover-agent" --simulate 5 --name few --cluster simk \
    --vm-size Standard_D2_v2 --scheduler "$AGENT_EP" --scheduler-key "$SPUB" \
    --work-dir "$T/few" --join-token "$tok3"
few_ready() { [[ $(dr_cli -o json node list --cluster simk | jq '[.[] | select(.name | startswith("few-")) | select(.state == "idle")] | length') == 5 ]]; }
dr_wait_for "the 5 nodes of the second try" 60 few_ready
dr_assert_contains "$(cat "$T/few2.log")" "simulate: 2 of 5 nodes joining" "only the rest joined"
dr_cli cluster list >/dev/null || dr_fail "the scheduler stopped answering"
# GPUs: every hollow node its own UUIDs, though they share one inventory
dr_cli cluster create -n simg -s Standard_ND40rs_v2 --min-nodes 0 --max-nodes 0 >/dev/null
tokg=$(dr_cli cluster join-token create -n simg --uses 3 | awk '{print $NF}')
python3 - >"$T/gpus.json" <<'PY'
import json
print(json.dumps({"gpus": [{
    "index": i, "uuid": "GPU-5f3c0b1e-0000-1111-2222-%012d" % i,
    "name": "Tesla V100-SXM2-32GB", "memory_total_mb": 32768,
    "memory_used_mb": 0, "utilization_gpu": 0, "utilization_memory": 0,
    "temperature_c": 40, "power_mw": 50000, "power_limit_mw": 300000,
    "ecc_uncorrected": 0, "healthy": True} for i in range(8)]}))
PY
dr_spawn "$T/simg.log" "$DROVER_BIN/drover-agent" --simulate 3 --name sg --cluster simg \
    --vm-size Standard_ND40rs_v2 --cpus 40 --memory-mb 688128 --gpu-inventory "$T/gpus.json" \
    --scheduler "$AGENT_EP" --scheduler-key "$SPUB" --work-dir "$T/simg" --join-token "$tokg"
g_ready() { [[ $(dr_cli -o json node list --cluster simg | jq '[.[] | select(.state == "idle")] | length') == 3 ]]; }
dr_wait_for "3 simulated GPU nodes" 60 g_ready
uuids=$(for n in sg-0 sg-1 sg-2; do dr_cli -o json node show "$n" | jq -r '.gpus[].uuid'; done)
dr_assert_eq "$(wc -l <<<"$uuids")" 24 "8 GPUs on each of 3 nodes"
dr_assert_eq "$(sort -u <<<"$uuids" | wc -l)" 24 "no two GPUs of the simulated nodes alike"
[[ $(head -1 <<<"$uuids") =~ ^GPU-5f3c0b1e-0000-1111-2222-[0-9a-f]{12}$ ]] ||
    dr_fail "a simulated GPU's UUID keeps the inventory's form: $(head -1 <<<"$uuids")"
dr_pass
