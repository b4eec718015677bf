#!/usr/bin/env bash
# The batch user's workflow (issue 15): job list with USER and REASON and
# --user/--since/--limit; job cancel of several ids and of every active
# job a filter matches, with a count; job rerun; drover usage with jobs,
# CPU-hours, waits and the hours lost to failure, by user, cluster and vm
# size, in table and JSON; bad input refused.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 5s \
    --autoscale-interval 200ms
SPUB=$T/state/keys/scheduler.pub
as() { # as NAME ARGS...: drover with NAME's key
    local who=$1
    shift
    DROVER_HOME= DROVER_KEY="$T/$who.key" DROVER_SCHEDULER_KEY="$SPUB" \
        DROVER_TIMEOUT_MS=5000 "$DROVER_BIN/drover" "$@"
}
for u in alice bob; do
    dr_cli keys generate --name $u --dir "$T" >/dev/null
    dr_cli keys add-user $u --role user "$T/$u.pub" >/dev/null
done
dr_cli cluster create -n bw -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null
dr_cli cluster create -n held -s Standard_D2_v2 --max-nodes 0 >/dev/null

# jobs of two users: alice's that succeed, one that fails, bob's
a1=$(as alice job submit --cluster bw --name ok -- sh -c 'sleep 1; echo done')
a2=$(as alice job submit --cluster bw --name bad -- sh -c 'exit 3')
b1=$(as bob job submit --cluster bw --cpus 2 --name big -- sleep 2)
for id in "$a1" "$b1"; do dr_wait_job_state "$id" succeeded 60; done
dr_wait_job_state "$a2" failed 60

# job list: USER and REASON, the filters
table=$(dr_cli job list --cluster bw)
dr_assert_contains "$(head -1 <<<"$table")" "USER" "a USER column"
dr_assert_contains "$(head -1 <<<"$table")" "REASON" "a REASON column"
dr_assert_contains "$(grep "^$a2 " <<<"$table")" "alice" "the owner of job $a2"
dr_assert_contains "$(grep "^$a2 " <<<"$table")" "exited with code 3" "its reason"
dr_assert_eq "$(dr_cli -o json job list --user alice | jq -c '[.[].id]')" "[$a1,$a2]" "--user alice"
dr_assert_eq "$(dr_cli -o json job list --limit 1 | jq -c '[.[].id]')" "[$b1]" "--limit 1: the newest"
dr_assert_eq "$(dr_cli -o json job list --since 1h | jq length)" 3 "--since 1h"
dr_assert_eq "$(dr_cli -o json job list --since 2099-01-01 | jq length)" 0 "--since a future date"
for bad in "--since yesterday" "--since 2026-13-01" "--limit 0" "--user 'no one'" "--state lost"; do
    # shellcheck disable=SC2086
    if out=$(eval dr_cli job list $bad 2>&1); then dr_fail "job list $bad accepted"; fi
    dr_assert_contains "$out" "drover: error:" "job list $bad refused"
done

# rerun: a new job with the same spec, owned by who asked; another user's
# job cannot be rerun (it copies its command line and environment)
r1=$(as alice job rerun "$a1")
((r1 > b1)) || dr_fail "rerun gave id $r1"
dr_wait_job_state "$r1" succeeded 60
dr_assert_eq "$(dr_cli job logs "$r1")" "done" "the rerun's output"
dr_assert_eq "$(dr_cli -o json job show "$r1" | jq -c '[.name, .owner, .command]')" \
    '["ok","alice",["sh","-c","sleep 1; echo done"]]' "the rerun's spec"
if out=$(as bob job rerun "$a1" 2>&1); then dr_fail "bob reran alice's job"; fi
dr_assert_contains "$out" "permission denied" "rerun of another's job"
if out=$(dr_cli job rerun 999999 2>&1); then dr_fail "rerun of an unknown job"; fi
dr_assert_contains "$out" "unknown job 999999" "rerun of an unknown job"

# cancel: several ids; a filter with a count; a user's filter reaches only
# what that user may cancel
q=()
for i in 1 2 3 4; do q+=("$(as alice job submit --cluster held --name "q$i" -- true)"); done
qb=$(as bob job submit --cluster held --name qb -- true)
out=$(dr_cli job cancel "${q[0]}" "${q[1]}")
dr_assert_contains "$out" "canceled 2 jobs" "two ids"
dr_assert_eq "$(dr_job_state "${q[0]}")" canceled "job ${q[0]} canceled"
out=$(as alice job cancel --cluster held --name q3)
dr_assert_contains "$out" "canceled 1 job" "a name filter"
if out=$(as alice job cancel --cluster held 2>&1); then dr_fail "alice canceled bob's job"; fi
dr_assert_contains "$out" "permission denied" "bob's job is not alice's"
dr_assert_contains "$out" "1 of 2 jobs not canceled" "the count says so"
dr_assert_eq "$(dr_job_state "${q[3]}")" canceled "alice's last job canceled"
dr_assert_eq "$(dr_job_state "$qb")" queued "bob's job stays"
dr_assert_eq "$(dr_cli -o json job cancel --user bob --state queued | jq -c .)" \
    '{"canceled":1,"failed":0}' "an admin's filter, in JSON"
for bad in "" "--state succeeded" "$a1 --cluster held" "--cluster 'x y'"; do
    # shellcheck disable=SC2086
    if out=$(eval dr_cli job cancel $bad 2>&1); then dr_fail "job cancel $bad accepted"; fi
done
out=$(dr_cli job cancel "$a1" 2>&1) && dr_fail "cancel of an ended job"
dr_assert_contains "$out" "already ended" "one id keeps its error"

# usage: by user, cluster and vm size
u=$(dr_cli -o json usage --since 1h)
row() { jq -c --arg k "$2" '.rows[] | select(.key == $k)' <<<"$1"; }
alice=$(row "$u" alice)
# alice: ok, bad, the rerun and four canceled in the queue
dr_assert_eq "$(jq -c '[.jobs, .attempts]' <<<"$alice")" "[7,7]" "alice's jobs and attempts"
awk -v h="$(jq .cpu_hours <<<"$alice")" 'BEGIN { exit !(h > 1.5/3600 && h < 60/3600) }' ||
    dr_fail "alice's CPU-hours: $(jq .cpu_hours <<<"$alice")"
bob=$(row "$u" bob)
awk -v h="$(jq .cpu_hours <<<"$bob")" 'BEGIN { exit !(h >= 3.9/3600 && h < 60/3600) }' ||
    dr_fail "bob's CPU-hours (2 cpus x 2 s): $(jq .cpu_hours <<<"$bob")"
awk -v h="$(jq .waste_cpu_hours <<<"$alice")" 'BEGIN { exit !(h > 0) }' ||
    dr_fail "alice's failed job is waste: $(jq .waste_cpu_hours <<<"$alice")"
dr_assert_eq "$(jq .waste_cpu_hours <<<"$bob")" 0 "bob lost nothing"
jq -e '.wait_p95_s >= .wait_mean_s and .wait_mean_s >= 0' <<<"$alice" >/dev/null ||
    dr_fail "waits: $alice"
dr_assert_eq "$(dr_cli -o json usage --since 1h --by cluster | jq -c '[.rows[].key]')" \
    '["bw","held"]' "by cluster"
dr_assert_eq "$(dr_cli -o json usage --since 1h --by vm-size | jq -c '[.rows[].key]')" \
    '["Standard_D2_v2"]' "by vm size"
table=$(dr_cli usage --since 1h)
dr_assert_contains "$(head -1 <<<"$table")" "CPU_HOURS" "the usage table"
dr_assert_eq "$(dr_cli -o json usage --since 2099-01-01 --until 2099-01-02 | jq '.rows | length')" 0 "an empty range"
for bad in "--by host" "--since soon" "--since 2026-12-02 --until 2026-12-01"; do
    # shellcheck disable=SC2086
    if out=$(dr_cli usage $bad 2>&1); then dr_fail "usage $bad accepted"; fi
done
# the accounting survives a restart
dr_stop_scheduler
dr_start_scheduler
dr_assert_eq "$(dr_cli -o json usage --since 1h | jq -c "$(printf '.rows[] | select(.key == "bob") | .jobs')")" \
    2 "bob's jobs after a restart"
dr_pass
