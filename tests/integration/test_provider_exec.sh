#!/usr/bin/env bash
# The exec provider (Slurm's ResumeProgram/SuspendProgram): an operator's
# scripts create and delete nodes; output and exit codes are recorded; a
# script that fails, and a node that never registers (resume timeout), are
# shown on the cluster and cleaned up; over a 50-cycle scale-up/down soak
# what the provider created minus what it deleted is what the scheduler
# believes exists.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
LEDGER=$T/ledger
mkdir -p "$T/bin"
cat >"$T/bin/resume" <<'SH'
#!/bin/bash
# resume CLUSTER NODES VM_SIZE PRIORITY LOCATION
echo "resume $*"
echo "create $2" >>"$LEDGER"
for node in ${2//,/ }; do
    keys=()
    [[ -n "${DROVER_JOIN_TOKEN:-}" ]] && keys=(--join-token "$DROVER_JOIN_TOKEN" --scheduler-key "$DROVER_SCHEDULER_KEY")
    nohup "$DROVER_AGENT_BIN" "${keys[@]}" --scheduler "$DROVER_AGENT_ENDPOINT" \
        --name "$node" --cluster "$1" --vm-size "$3" --cpus "$DROVER_VM_CPUS" \
        --memory-mb "$DROVER_VM_MEMORY_MB" --heartbeat-ms 500 \
        --work-dir "$DROVER_STATE_DIR/exec-nodes/$node" \
        >>"$DROVER_STATE_DIR/exec-nodes.log" 2>&1 </dev/null &
done
SH
cat >"$T/bin/suspend" <<'SH'
#!/bin/bash
echo "suspend $*"
echo "delete $2" >>"$LEDGER"
for node in ${2//,/ }; do
    pkill -TERM -o -f "drover-agent .*--name $node " || true
done
SH
printf '#!/bin/bash\necho "cannot create $2: out of capacity" >&2\nexit 3\n' >"$T/bin/broken"
printf '#!/bin/bash\necho "pretending to create $2"\n' >"$T/bin/silent"
chmod +x "$T"/bin/*
export LEDGER

dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 5s \
    --autoscale-interval 200ms --resume-timeout 3s
dr_cli cluster create -n ex -s Standard_D2_v2 --min-nodes 0 --max-nodes 2 \
    --idle-seconds-before-scaledown 1 --provider exec \
    --resume-program "$T/bin/resume" --suspend-program "$T/bin/suspend" >/dev/null

cur() { dr_cli -o json cluster show -n "$1" | jq -r .current_nodes; }
id=$(dr_cli job submit --cluster ex -- sh -c 'echo ran on $DROVER_NODE_NAME')
dr_wait_job_state "$id" succeeded 60
dr_assert_contains "$(dr_cli job logs "$id")" "ran on ex-" "job ran on an exec node"
zero() { [[ $(cur ex) == 0 ]]; }
dr_wait_for "scale-in to 0" 30 zero
plog=$(cat "$T/state/providers/ex.log")
dr_assert_contains "$plog" "resume ex ex-1 Standard_D2_v2 dedicated local" "resume args"
dr_assert_contains "$plog" "suspend ex ex-1" "suspend args"
ev=$(dr_cli -o json cluster events -n ex --limit 100 | jq -r '.[].kind' | sort | uniq -c)
dr_assert_contains "$ev" "provider_create" "create exit recorded"
dr_assert_contains "$ev" "provider_delete" "delete exit recorded"

# soak: 50 cycles of scale-up and scale-down
for cycle in $(seq 1 50); do
    id=$(dr_cli job submit --cluster ex -- true)
    dr_wait_job_state "$id" succeeded 60
    dr_wait_for "scale-in to 0 (cycle $cycle)" 30 zero
done
created=$(grep -c '^create ' "$LEDGER")
deleted=$(grep -c '^delete ' "$LEDGER")
believed=$(dr_cli -o json node list --cluster ex | jq length)
dr_log "soak: provider created $created, deleted $deleted; scheduler believes $believed"
dr_assert_eq "$((created - deleted))" "$believed" "no leaked node"
dr_assert_eq "$created" 51 "one node per cycle"
no_agents() { ! pgrep -f "[d]rover-agent .*--cluster ex " >/dev/null; }
dr_wait_for "every exec agent gone" 15 no_agents

# a resume program that fails: the error is on the cluster, no node stays
dr_cli cluster create -n bad -s Standard_D2_v2 --max-nodes 1 --provider exec \
    --resume-program "$T/bin/broken" --suspend-program "$T/bin/suspend" >/dev/null
bid=$(dr_cli job submit --cluster bad -- true)
has_error() { dr_cli -o json cluster show -n bad | jq -r '.errors[]' | grep -q "exited 3"; }
dr_wait_for "the failed create on the cluster" 30 has_error
dr_assert_contains "$(cat "$T/state/providers/bad.log")" "out of capacity" "script stderr kept"
dr_cli job cancel "$bid" >/dev/null

# a node that never registers: given up after the resume timeout, deleted
# through the provider, the error shown, and replaced while still needed
dr_cli cluster create -n mute -s Standard_D2_v2 --max-nodes 1 --provider exec \
    --resume-program "$T/bin/silent" --suspend-program "$T/bin/suspend" >/dev/null
mid=$(dr_cli job submit --cluster mute -- true)
timed_out() { dr_cli -o json cluster show -n mute | jq -r '.errors[]' | grep -q "did not register within 3 s"; }
dr_wait_for "the resume timeout on the cluster" 30 timed_out
replaced() { grep -q "delete mute-1" "$LEDGER" && [[ -n "$(dr_cli -o json node list --cluster mute | jq -r '.[] | select(.name != "mute-1") | .name')" ]]; }
dr_wait_for "the silent node deleted and replaced" 30 replaced
dr_assert_contains "$(dr_cli -o json job show "$mid" | jq -r .state)" queued "job still waits"
dr_cli job cancel "$mid" >/dev/null
dr_pass
