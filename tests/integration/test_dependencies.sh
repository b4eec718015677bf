#!/usr/bin/env bash
# --dependency (issue 15), as Slurm's: afterok, afterany, afternotok and
# singleton.  A held job waits with the term it waits for as its reason,
# runs once the term holds, and fails when it never can (afterok of a job
# that failed); a chain runs in order; holds survive a restart; bad specs
# are refused with a clear error.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms
dr_cli cluster create -n dep -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null
field() { dr_cli -o json job show "$1" | jq -r ".$2"; }

a=$(dr_cli job submit --cluster dep --cpus 1 -- sleep 3)
b=$(dr_cli job submit --cluster dep --cpus 1 --dependency "afterok:$a" -- echo b-ran)
dr_wait_job_state "$a" running 30
sleep 1
dr_assert_eq "$(dr_job_state "$b")" queued "held while its dependency runs"
dr_assert_contains "$(field "$b" reason)" "waiting for dependency afterok:$a (job running)" "the hold is its reason"
dr_wait_job_state "$b" succeeded 30
(($(field "$b" started_at) >= $(field "$a" ended_at))) || dr_fail "b started before a ended"

f=$(dr_cli job submit --cluster dep --cpus 1 -- false)
g=$(dr_cli job submit --cluster dep --cpus 1 --dependency "afterok:$f" -- echo never)
h=$(dr_cli job submit --cluster dep --cpus 1 --dependency "afternotok:$f" -- echo h-ran)
i=$(dr_cli job submit --cluster dep --cpus 1 --dependency "afterany:$f,afterok:$a" -- echo i-ran)
dr_wait_job_state "$g" failed 30
dr_assert_contains "$(field "$g" reason)" "dependency can never be satisfied: afterok:$f but job $f failed" "never satisfied"
dr_assert_eq "$(field "$g" attempts)" 0 "it never ran"
dr_wait_job_state "$h" succeeded 30
dr_wait_job_state "$i" succeeded 30

# a chain, each on the one before (several ids in one term)
c1=$(dr_cli job submit --cluster dep --cpus 2 -- sleep 1)
c2=$(dr_cli job submit --cluster dep --cpus 2 --dependency "afterok:$c1" -- sleep 1)
c3=$(dr_cli job submit --cluster dep --cpus 2 --dependency "afterok:$c1:$c2" -- echo c3)
dr_wait_job_state "$c3" succeeded 60
(($(field "$c2" started_at) >= $(field "$c1" ended_at))) || dr_fail "c2 before c1 ended"
(($(field "$c3" started_at) >= $(field "$c2" ended_at))) || dr_fail "c3 before c2 ended"

# singleton: one job of a name and user at a time
s1=$(dr_cli job submit --cluster dep --cpus 1 --name nightly -- sleep 3)
s2=$(dr_cli job submit --cluster dep --cpus 1 --name nightly --dependency singleton -- echo s2)
dr_wait_job_state "$s1" running 30
sleep 1
dr_assert_eq "$(dr_job_state "$s2")" queued "singleton waits"
dr_assert_contains "$(field "$s2" reason)" "singleton (job $s1 named nightly is running)" "singleton reason"
dr_wait_job_state "$s2" succeeded 30

# a hold survives a restart
d1=$(dr_cli job submit --cluster dep --cpus 1 -- sleep 4)
d2=$(dr_cli job submit --cluster dep --cpus 1 --dependency "afterok:$d1" -- echo d2)
dr_wait_job_state "$d1" running 30
dr_stop_scheduler
dr_start_scheduler --heartbeat-interval 500ms
dr_assert_eq "$(dr_job_state "$d2")" queued "still held after a restart"
dr_wait_job_state "$d2" succeeded 60

# bad specs
for bad in "afterok:999999" "afterfoo:$a" "afterok:" "afterok:x" "afterok:$a:" ",," "singleton,afterok"; do
    if out=$(dr_cli job submit --cluster dep --dependency "$bad" -- true 2>&1); then
        dr_fail "--dependency '$bad' was accepted"
    fi
    dr_assert_contains "$out" "dependency" "'$bad' refused"
done
dr_pass
