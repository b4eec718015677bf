#!/usr/bin/env bash
# Two agents with one node name (and one key) at once: the second is
# refused while the first one's session is alive -- its log says why, it
# keeps trying at a slow pace, and it never takes the node or a job; the
# first keeps its node and runs its job to success, once.  When the first
# agent dies, the second is accepted after the heartbeat timeout.  Before
# the session rule the second Register simply took the node over: the
# scheduler requeued the first agent's job ("re-registered without the
# task") while it still ran.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ledger.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 3s
dr_cli cluster create -n dup -s Standard_D2_v2 --min-nodes 0 --max-nodes 1 >/dev/null
dr_cli keys generate --name dup-a --dir "$T" >/dev/null
dr_cli keys add-agent dup-a "$T/dup-a.pub" >/dev/null
agent() { # LOG WORKDIR
    dr_spawn "$1" "$DROVER_BIN/drover-agent" --key "$T/dup-a.key" \
        --scheduler-key "$T/state/keys/scheduler.pub" --scheduler "$AGENT_EP" \
        --name dup-a --cluster dup --vm-size Standard_D2_v2 --cpus 2 \
        --memory-mb 2048 --work-dir "$2"
}
agent "$T/first.log" "$T/first"
FIRST=$DR_SPAWN_PID
dr_wait_for "dup-a idle" 20 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster dup | jq -r '.[] | select(.name==\"dup-a\") | .state') == idle ]]"

L=$T/ledger
id=$(dr_cli job submit --cluster dup --cpus 2 --max-retries 3 -- \
    sh -c "$(dr_ledger_cmd "$L" 100)")
dr_wait_job_state "$id" running 30
dr_wait_for "the job writes its ledger" 10 test -s "$L"

# the same name and key, from another machine (another work dir)
agent "$T/second.log" "$T/second"
SECOND=$DR_SPAWN_PID
dr_wait_for "the second agent refused" 20 grep -q "registration refused" "$T/second.log"
refusal=$(grep -m 1 "registration refused" "$T/second.log")
dr_assert_contains "$refusal" "node dup-a is already registered by a live agent session (last heard" "the reason"
dr_assert_contains "$refusal" "trying again in 5 s" "it backs off"
sleep 7 # one retry (after 5 s), refused again, the next wait 10 s
dr_assert_eq "$(grep -c "registration refused" "$T/second.log")" 2 "refused again, at a slow pace"
kill -0 "$SECOND" 2>/dev/null || dr_fail "the refused agent exited"
dr_assert_eq "$(grep -c "registered with" "$T/second.log" || true)" 0 "the second agent never registered"

dr_wait_job_state "$id" succeeded 60
js=$(dr_cli -o json job show "$id")
dr_assert_eq "$(jq -r .attempts <<<"$js")" 1 "the job ran once"
dr_ledger_check "$L"
dr_assert_eq "$(cut -d' ' -f1 "$L" | sort -u)" 1 "only attempt 1 wrote the ledger"
dr_assert_eq "$(wc -l <"$L")" 100 "the one attempt ran to its end"
[[ ! -d "$T/second/tasks" ]] || dr_fail "the refused agent started a task"
events=$(sqlite3 "$T/state/drover.db" "select kind from events where node='dup-a'")
dr_assert_contains "$events" "node_register_refused" "the refusal is an event"
if grep -q "re-registered without the task" "$T/scheduler.log"; then
    dr_fail "the second agent took the node over"
fi
kill -0 "$FIRST" 2>/dev/null || dr_fail "the first agent exited"

# the first agent dies: once it has been silent past the timeout, the
# second one's next try is accepted
kill -KILL "$FIRST"
dr_wait_for "the second agent accepted" 40 grep -q "registered with" "$T/second.log"
dr_wait_for "dup-a idle again" 20 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster dup | jq -r '.[] | select(.name==\"dup-a\") | .state') == idle ]]"
id2=$(dr_cli job submit --cluster dup -- sh -c 'echo on the second agent')
dr_wait_job_state "$id2" succeeded 30
dr_pass
