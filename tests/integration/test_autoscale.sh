#!/usr/bin/env bash
# The autoscaler with the local provider: 0 -> N -> 0, never above
# max_nodes, never below min_nodes, and a node with work is not taken.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 1s --heartbeat-timeout 10s \
    --autoscale-interval 200ms
dr_cli cluster create -n auto -s Standard_D2_v2 --min-nodes 0 --max-nodes 2 \
    --idle-seconds-before-scaledown 3 >/dev/null
cur() { dr_cli -o json cluster show -n auto | jq -r .current_nodes; }
dr_assert_eq "$(cur)" 0 "starts at zero"
dr_assert_eq "$(dr_cli -o json cluster show -n auto | jq -r .allocation_state)" \
    steady "steady at zero"

# three 2-cpu jobs on 2-cpu nodes with max 2: two nodes, never three
ids=()
for i in 1 2 3; do
    ids+=("$(dr_cli job submit --cluster auto --cpus 2 -- sleep 3)")
done
max_seen=0
deadline=$(($(dr_now_ms) + 90000))
while :; do
    n=$(cur)
    ((n > max_seen)) && max_seen=$n
    done_count=0
    for id in "${ids[@]}"; do
        [[ "$(dr_job_state "$id")" == succeeded ]] && done_count=$((done_count + 1))
    done
    ((done_count == 3)) && break
    (($(dr_now_ms) < deadline)) || dr_fail "jobs did not finish"
    sleep 0.3
done
dr_assert_eq "$max_seen" 2 "scaled out to max_nodes and no further"
nodes=$(for id in "${ids[@]}"; do dr_cli -o json job show "$id" | jq -r '.nodes[0]'; done | sort -u | wc -l)
dr_assert_eq "$nodes" 2 "jobs ran on two nodes"

# back to zero after the idle time
dr_wait_for "scale-in to 0" 60 bash -c "[[ \$('$DROVER_BIN/drover' -o json cluster show -n auto | jq .current_nodes) == 0 ]]"
no_agents() { ! pgrep -f "[d]rover-agent.*--cluster auto" >/dev/null; }
dr_wait_for "no agent process left" 15 no_agents

# min_nodes keeps nodes up without work, and scale-in stops at it
dr_cli cluster update -n auto --min-nodes 1 >/dev/null
dr_wait_for "min_nodes 1" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json cluster show -n auto | jq -r '.current_nodes,.allocation_state' | tr '\n' ' ') == '1 steady ' ]]"
sleep 5
dr_assert_eq "$(cur)" 1 "idle node kept at min_nodes"

# a long job's node is not taken while it runs, even past the idle time
dr_cli cluster update -n auto --min-nodes 0 >/dev/null
lid=$(dr_cli job submit --cluster auto -- sleep 8)
dr_wait_job_state "$lid" running 30
sleep 5
dr_assert_eq "$(dr_job_state "$lid")" running "long job still running"
dr_wait_job_state "$lid" succeeded 30
dr_wait_for "scale-in to 0 after the job" 60 bash -c "[[ \$('$DROVER_BIN/drover' -o json cluster show -n auto | jq .current_nodes) == 0 ]]"
events=$(sqlite3 "$T/state/drover.db" "select kind from events where cluster='auto'" | sort | uniq -c)
dr_assert_contains "$events" "scale_out" "scale-out events logged"
dr_assert_contains "$events" "scale_in" "scale-in events logged"
dr_pass
