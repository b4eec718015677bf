#!/usr/bin/env bash
# kill -9 of an agent running a job: the node is declared lost after the
# heartbeat timeout, the job is requeued (same id, attempt 2) and completes
# on another node; the dead node's task does not linger.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 3s
dr_cli cluster create -n pair -s Standard_D2_v2 --min-nodes 2 --max-nodes 2 >/dev/null
dr_wait_for "two nodes" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster pair | jq '[.[] | select(.state==\"idle\")] | length') == 2 ]]"

dur="5.0$$$RANDOM" # a sleep that no other process on this machine runs
id=$(dr_cli job submit --cluster pair --cpus 2 --max-retries 2 -- \
    sh -c "echo start on \$DROVER_NODE_NAME attempt \$DROVER_ATTEMPT; sleep $dur; echo end on \$DROVER_NODE_NAME")
dr_wait_job_state "$id" running 30
first=$(dr_cli -o json job show "$id" | jq -r '.nodes[0]')
apid=$(pgrep -o -f "[d]rover-agent .*--name $first ")
dr_log "killing agent of $first (pid $apid)"
kill -KILL "$apid"

dr_wait_job_state "$id" succeeded 60
js=$(dr_cli -o json job show "$id")
dr_assert_eq "$(jq -r .attempts <<<"$js")" 2 "second attempt"
second=$(jq -r '.nodes[0]' <<<"$js")
[[ "$second" != "$first" ]] || dr_fail "ran again on the lost node $first"
logs=$(dr_cli job logs "$id")
dr_assert_contains "$logs" "attempt 2 on node $second" "attempt marker in the logs"
dr_assert_contains "$logs" "end on $second" "second attempt finished"
events=$(sqlite3 "$T/state/drover.db" "select kind||' '||node from events where job_id=$id or kind='node_lost'")
dr_assert_contains "$events" "node_lost $first" "node lost event"
dr_assert_contains "$events" "job_requeued $first" "requeue event"
# the lost node's task was killed with its agent, and a replacement node
# keeps the cluster at min_nodes
dr_assert_eq "$(pgrep -fc "^sleep $dur\$" || true)" 0 "no orphan task"
dr_wait_for "replacement node" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json cluster show -n pair | jq .current_nodes) == 2 ]]"
dr_assert_eq "$(dr_cli -o json node list | jq -r '.[].name' | grep -c "^$first\$" || true)" 0 "lost node removed"

# max retries spent: a job whose node keeps dying fails with the reason
id2=$(dr_cli job submit --cluster pair --cpus 2 --max-retries 0 -- sleep 30)
dr_wait_job_state "$id2" running 30
n2=$(dr_cli -o json job show "$id2" | jq -r '.nodes[0]')
kill -KILL "$(pgrep -o -f "[d]rover-agent .*--name $n2 ")"
dr_wait_job_state "$id2" failed 60
dr_assert_contains "$(dr_cli -o json job show "$id2" | jq -r .reason)" "no retries left" "retries exhausted reason"
dr_pass
