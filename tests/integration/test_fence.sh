#!/usr/bin/env bash
# Split brain after a frozen node (issue 12): an agent frozen with SIGSTOP
# past the heartbeat timeout is declared lost and its job requeued; the
# frozen node's task must be dead (its lease ran out) before the next
# attempt starts.  A ledger that the job writes every 100 ms proves that
# no two attempts ever ran at the same time.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ledger.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 3s
dr_cli cluster create -n fence -s Standard_D2_v2 --min-nodes 2 --max-nodes 2 >/dev/null
dr_wait_for "two idle nodes" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster fence | jq '[.[] | select(.state==\"idle\")] | length') == 2 ]]"

L=$T/ledger
id=$(dr_cli job submit --cluster fence --cpus 2 --max-retries 3 -- \
    sh -c "$(dr_ledger_cmd "$L" 150)")
dr_wait_job_state "$id" running 30
dr_wait_for "the job writes its ledger" 10 test -s "$L"
first=$(dr_cli -o json job show "$id" | jq -r '.nodes[0]')
apid=$(pgrep -o -f "[d]rover-agent .*--name $first( |$)")
dr_log "freezing agent of $first (pid $apid) for 7 s"
kill -STOP "$apid"
sleep 7
kill -CONT "$apid"
dr_log "agent of $first released"

dr_wait_job_state "$id" succeeded 60
attempts=$(dr_cli -o json job show "$id" | jq -r .attempts)
((attempts >= 2)) || dr_fail "the job was not requeued (attempts $attempts)"
dr_ledger_check "$L"
dr_pass
