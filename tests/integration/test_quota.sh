#!/usr/bin/env bash
# Per-VM-family core quotas: the autoscaler never exceeds one; a blocked
# scale-out is explained on the cluster and on the job it holds up; raising
# the quota releases it.  Dedicated and low-priority limits are separate.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 5s \
    --autoscale-interval 200ms
dr_cli quota set --family standardDv2Family --cores 2 >/dev/null
q=$(dr_cli -o json quota list | jq -c '.[] | select(.family=="standardDv2Family")')
dr_assert_eq "$(jq -r .dedicated_cores <<<"$q")" 2 "quota stored"
dr_assert_eq "$(jq -r .lowpriority_cores <<<"$q")" -1 "low-priority limit apart"
dr_cli cluster create -n qc -s Standard_D2_v2 --max-nodes 3 \
    --idle-seconds-before-scaledown 60 >/dev/null
a=$(dr_cli job submit --cluster qc --cpus 2 -- sleep 4)
b=$(dr_cli job submit --cluster qc --cpus 2 -- sleep 1)
dr_wait_job_state "$a" running 30
sleep 1
show=$(dr_cli -o json cluster show -n qc)
dr_assert_eq "$(jq -r .current_nodes <<<"$show")" 1 "one 2-core node within the quota"
dr_assert_contains "$(jq -r '.errors[]' <<<"$show")" \
    "quota exceeded: standardDv2Family 2/2 cores" "cluster error"
dr_assert_contains "$(dr_cli -o json job show "$b" | jq -r .reason)" \
    "quota exceeded: standardDv2Family 2/2 cores" "job wait reason"
dr_assert_eq "$(dr_cli -o json quota list | jq '.[] | select(.family=="standardDv2Family") | .dedicated_used')" \
    2 "quota use"
# a low-priority cluster of the same family is not held by the dedicated limit
dr_cli cluster create -n lp -s Standard_D2_v2 --max-nodes 1 --vm-priority lowpriority \
    --idle-seconds-before-scaledown 60 >/dev/null
c=$(dr_cli job submit --cluster lp -- true)
dr_wait_job_state "$c" succeeded 30
# b runs once a finishes (same node), never on a second node
dr_wait_job_state "$b" succeeded 60
dr_assert_eq "$(dr_cli -o json job show "$b" | jq -r '.nodes[0]')" \
    "$(dr_cli -o json job show "$a" | jq -r '.nodes[0]')" "b waited for a's node"
# raising the quota lets the cluster grow
dr_cli quota set --family standardDv2Family --cores 6 >/dev/null
ids=()
for i in 1 2 3; do ids+=("$(dr_cli job submit --cluster qc --cpus 2 -- sleep 3)"); done
three() { [[ $(dr_cli -o json cluster show -n qc | jq .current_nodes) == 3 ]]; }
dr_wait_for "three nodes under the raised quota" 30 three
for id in "${ids[@]}"; do dr_wait_job_state "$id" succeeded 60; done
# bad input
if out=$(dr_cli quota set --family noSuchFamily --cores 4 2>&1); then dr_fail "unknown family accepted"; fi
dr_assert_contains "$out" "unknown VM family" "unknown family error"
dr_pass
