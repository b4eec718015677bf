#!/usr/bin/env bash
# Job arrays (issue 15), as Slurm's `sbatch --array`: one submission, one
# job per index with DROVER_ARRAY_JOB_ID / _TASK_ID / _TASK_COUNT / _MIN /
# _MAX; a step; %N runs at most N at once (the issue's test: 100 elements
# with %5 on 16 free slots - never more than 5 at once, by the elements'
# own start/end times and by the store's, and all 100 succeed), also
# across a kill -9 of the scheduler; job list folds an array into one row
# (--expand: one per element); cancel of one element (ID_N) or of the
# whole array (ID); bad specs refused, nothing queued.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 10s \
    --autoscale-interval 200ms
dr_cli cluster create -n arr -s Standard_D2_v2 --min-nodes 2 --max-nodes 2 >/dev/null
dr_cli cluster create -n parked -s Standard_D2_v2 --max-nodes 0 >/dev/null
# 2 nodes of 8 cpus: 16 elements of 1 cpu could run at once
dr_cli cluster create -n wide -s Standard_D4_v2 --min-nodes 2 --max-nodes 2 >/dev/null
L=$T/ledger
elements() { dr_cli -o json job list --cluster "$1" | jq -c --argjson a "$2" '[.[] | select(.array_job_id == $a)]'; }
all_done() { # all_done CLUSTER ARRAY N: the array's N elements succeeded
    [[ $(elements "$1" "$2" | jq '[.[] | select(.state == "succeeded")] | length') == "$3" ]]
}
# the most elements of TAG that ran at once, from the ledger's start/end
# (an end before a start at the same instant)
max_at_once() {
    sort -k2,2n -k1,1 "$L" | awk -v tag="$1" '$4 == tag { n += ($1 == "start") ? 1 : -1; if (n > m) m = n } END { print m + 0 }'
}
# the same from the store: the elements' started_at / ended_at in job list
store_max_at_once() {
    elements "$1" "$2" | jq -r '.[] | "\(.started_at) 1\n\(.ended_at) 0"' |
        sort -k1,1n -k2,2n | awk '{ n += $2 ? 1 : -1; if (n > m) m = n } END { print m + 0 }'
}
script='echo "start $(date +%s%N) $DROVER_ARRAY_TASK_ID $TAG" >>'"$L"'; sleep 1;
echo "$DROVER_ARRAY_JOB_ID $DROVER_ARRAY_TASK_ID $DROVER_ARRAY_TASK_COUNT $DROVER_ARRAY_TASK_MIN $DROVER_ARRAY_TASK_MAX $SLURM_ARRAY_TASK_ID";
echo "end $(date +%s%N) $DROVER_ARRAY_TASK_ID $TAG" >>'"$L"

# 10 elements, at most 2 at once (4 slots free)
aid=$(dr_cli job submit --cluster arr --array 0-9%2 --env TAG=a -- sh -c "$script")
dr_wait_for "the 10 elements of array $aid" 90 all_done arr "$aid" 10
dr_assert_eq "$(max_at_once a)" 2 "at most 2 elements at once (%2)"
dr_assert_eq "$(awk '$1 == "start" && $4 == "a"' "$L" | wc -l)" 10 "each element ran once"
els=$(elements arr "$aid")
for k in 0 4 9; do
    jid=$(jq -r --argjson k $k '.[] | select(.array_task_id == $k) | .id' <<<"$els")
    dr_assert_eq "$(dr_cli job logs "$jid")" "$aid $k 10 0 9 $k" "element $k's environment"
done
dr_assert_eq "$(jq -c '[.[].array_task_count] | unique' <<<"$els")" "[10]" "every element knows the count"
dr_assert_contains "$(dr_cli job show "$jid")" "array: ${aid}_9 (one of 10: 0-9)" "job show names the array"

# the issue's test: 100 elements with %5 where 16 could run; 0.2 s each
quick='echo "start $(date +%s%N) $DROVER_ARRAY_TASK_ID $TAG" >>'"$L"'; sleep 0.2;
echo "end $(date +%s%N) $DROVER_ARRAY_TASK_ID $TAG" >>'"$L"
t0=$(dr_now_ms)
wid=$(dr_cli job submit --cluster wide --cpus 1 --array 0-99%5 --env TAG=c -- sh -c "$quick")
dr_wait_for "the 100 elements of array $wid" 240 all_done wide "$wid" 100
dr_log "100 elements, %5: $(($(dr_now_ms) - t0)) ms"
# the elements' own times: never more than 5 (fewer would be a slow start,
# not a fault); the scheduler's, in the store: 5 at once, never more
ran=$(max_at_once c)
dr_log "at most $ran elements ran at once by their own times"
((ran >= 1 && ran <= 5)) || dr_fail "$ran of 100 elements ran at once (%5)"
dr_assert_eq "$(store_max_at_once wide "$wid")" 5 "the store's times: 5 at once, never more"
dr_assert_eq "$(awk '$1 == "start" && $4 == "c" { print $3 }' "$L" | sort -n | uniq | wc -l)" 100 \
    "each of the 100 indices ran"
dr_assert_eq "$(awk '$1 == "start" && $4 == "c"' "$L" | wc -l)" 100 "each element ran once"
dr_assert_eq "$(awk '$1 == "end" && $4 == "c"' "$L" | wc -l)" 100 "each element ran to its end"
dr_assert_eq "$(elements wide "$wid" | jq -c '[.[].exit_code] | unique')" "[0]" "exit 0 each"

# the table folds the array; --expand lists its elements
table=$(dr_cli job list --cluster arr)
dr_assert_eq "$(grep -c "^${aid}_\[0-9\]" <<<"$table")" 1 "one row for the array"
dr_assert_contains "$table" "10 of 10: 10 succeeded" "with counts by state"
dr_assert_eq "$(dr_cli job list --cluster arr --expand | grep -c "^${aid}_")" 10 "--expand: a row per element"

# a step: 0-20:5 is 0 5 10 15 20
sid=$(dr_cli -o json job submit --cluster arr --array 0-20:5 -- true)
dr_assert_eq "$(jq -c . <<<"$sid")" "$(jq -c '{id: .id, count: 5}' <<<"$sid")" "submit answers id and count"
sid=$(jq .id <<<"$sid")
dr_wait_for "the stepped array" 60 all_done arr "$sid" 5
dr_assert_eq "$(elements arr "$sid" | jq -c '[.[].array_task_id]')" "[0,5,10,15,20]" "the step's indices"

# cancel one element, then the rest of the array
pid=$(dr_cli job submit --cluster parked --array 1,3,5-7 -- true)
dr_assert_eq "$(elements parked "$pid" | jq -c '[.[].array_task_id]')" "[1,3,5,6,7]" "a list of indices"
dr_assert_contains "$(dr_cli job cancel "${pid}_5")" "job ${pid}_5: cancel requested" "cancel of one element"
dr_assert_eq "$(elements parked "$pid" | jq -c '[.[] | select(.state == "canceled") | .array_task_id]')" "[5]" "only element 5"
if out=$(dr_cli job cancel "${pid}_4" 2>&1); then dr_fail "cancel of a missing element"; fi
dr_assert_contains "$out" "no active element 4" "a missing element"
dr_assert_contains "$(dr_cli job cancel "$pid")" "cancel requested for 4 elements" "cancel of the array"
dr_assert_eq "$(elements parked "$pid" | jq -c '[.[].state] | unique')" '["canceled"]' "the whole array"

# %1 across a kill -9: the limit holds after the restart, each element once
bid=$(dr_cli job submit --cluster arr --array 0-5%1 --env TAG=b -- sh -c "$script")
two() { [[ $(awk '$1 == "end" && $4 == "b"' "$L" | wc -l) -ge 2 ]]; }
dr_wait_for "two elements of array $bid" 60 two
dr_kill9_scheduler
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 10s \
    --autoscale-interval 200ms
dr_wait_for "array $bid after the restart" 90 all_done arr "$bid" 6
dr_assert_eq "$(max_at_once b)" 1 "%1 held across the restart"
dr_assert_eq "$(awk '$1 == "start" && $4 == "b"' "$L" | wc -l)" 6 "each element ran once"

# bad specs: refused with the reason, nothing queued
before=$(dr_cli -o json job list | jq length)
for bad in 5-1 0-100000 a 1-3:0 %2 0-3%0 0-3% 1,,2 0-10000001; do
    if out=$(dr_cli job submit --cluster arr --array "$bad" -- true 2>&1); then
        dr_fail "--array $bad accepted"
    fi
    dr_assert_contains "$out" "array '" "--array $bad refused"
done
if out=$(dr_cli job submit --cluster arr --array 0-3 --wait -- true 2>&1); then dr_fail "--wait with --array"; fi
dr_assert_contains "$out" "not an array" "--wait with --array"
dr_assert_eq "$(dr_cli -o json job list | jq length)" "$before" "nothing queued by bad specs"
dr_pass
