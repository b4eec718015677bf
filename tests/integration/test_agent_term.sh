#!/usr/bin/env bash
# kill -TERM of an agent (what `systemctl stop`, a restart or a reboot
# does) while it runs a job with no retries left (issue 12): the node tells
# the scheduler it is leaving before it stops its tasks, is given no new
# work, and the job is requeued elsewhere without counting as a failure:
# it succeeds on another node, on its second attempt.  Before, the attempt
# went to the stopping node, which refused it, and the job failed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 5s \
    --autoscale-interval 200ms
dr_cli cluster create -n term -s Standard_D2_v2 --min-nodes 1 --max-nodes 2 >/dev/null
dr_wait_for "one idle node" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster term | jq '[.[] | select(.state==\"idle\")] | length') == 1 ]]"
id=$(dr_cli job submit --cluster term --cpus 2 --max-retries 0 -- \
    sh -c 'echo "attempt $DROVER_ATTEMPT on $DROVER_NODE_NAME"; sleep 6')
dr_wait_job_state "$id" running 30
first=$(dr_cli -o json job show "$id" | jq -r '.nodes[0]')
apid=$(pgrep -o -f "[d]rover-agent .*--name $first( |$)")
dr_log "SIGTERM to the agent of $first (pid $apid)"
kill -TERM "$apid"
dr_wait_job_state "$id" succeeded 90
js=$(dr_cli -o json job show "$id")
dr_assert_eq "$(jq -r .attempts <<<"$js")" 2 "requeued once"
second=$(jq -r '.nodes[0]' <<<"$js")
[[ "$second" != "$first" ]] || dr_fail "the requeued attempt went to the stopping node $first"
events=$(sqlite3 "$T/state/drover.db" "select kind from events where node='$first'")
dr_assert_contains "$events" "node_leaving" "the node said it was leaving"
if sqlite3 "$T/state/drover.db" "select reason from tasks where job_id=$id" | grep -q "shutting down.*refused\|is shutting down"; then
    dr_fail "a task was sent to the stopping node"
fi
dr_pass
