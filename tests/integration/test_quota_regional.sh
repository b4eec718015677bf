#!/usr/bin/env bash
# Regional quotas (issue 19), as Azure keeps them: a limit per (location,
# VM family) and a total per location shared by all families, dedicated
# and low-priority apart.  Two clusters in one location share its total;
# a cluster in another location is not held by it; a family limit in a
# location holds only that location; a blocked scale-out names the limit
# on the cluster and on the job; `--cores unlimited` removes a limit; the
# rows survive a restart; quotas of a database from before regions become
# the family's limit in every location; bad values are refused.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup

# a database from before regions: quotas keyed by family alone
mkdir -p "$T/state"
/usr/bin/python3 - "$T/state/drover.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
INSERT INTO meta VALUES('schema_version', '5');
CREATE TABLE quotas(family TEXT PRIMARY KEY COLLATE NOCASE,
  dedicated_cores INTEGER NOT NULL DEFAULT -1,
  lowpriority_cores INTEGER NOT NULL DEFAULT -1);
INSERT INTO quotas VALUES('standardAv2Family', 6, -1);
""")
db.commit()
PY
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 5s \
    --autoscale-interval 200ms
row() { # row LOCATION FAMILY: the quota list's row as JSON ("" = none)
    dr_cli -o json quota list | jq -c --arg l "$1" --arg f "$2" \
        '.[] | select(.location == $l and .family == $f)'
}
dr_assert_eq "$(row "" standardAv2Family | jq .dedicated_cores)" 6 \
    "a quota from before regions is the family's in every location"

# bad values
bad() { # bad WANT ARGS...: quota set ARGS fails saying WANT
    local out
    if out=$(dr_cli quota set "${@:2}" 2>&1); then dr_fail "accepted: quota set ${*:2}"; fi
    dr_assert_contains "$out" "$1" "quota set ${*:2}"
}
bad "needs --location" --total --cores 4
bad "not both" --location westus --total --family standardDv2Family --cores 4
bad "invalid --location" --location "west us" --total --cores 4
bad "invalid --cores '-3'" --location westus --total --cores -3
bad "invalid --cores 'many'" --location westus --total --cores many
bad "unknown VM family" --location westus --family noSuchFamily --cores 4
bad "missing --family" --location westus --cores 4

dr_cli quota set --location westus --total --cores 4 >/dev/null
dr_cli quota set --location eastus --family standardDv2Family --cores 2 >/dev/null
for c in "w1 westus Standard_D2_v2" "w2 westus Standard_F2s_v2" \
    "e1 eastus Standard_D2_v2" "e2 eastus Standard_F2s_v2"; do
    read -r name loc size <<<"$c"
    dr_cli cluster create -n "$name" -s "$size" --location "$loc" --max-nodes 2 \
        --idle-seconds-before-scaledown 60 >/dev/null
done

# westus: two 2-core nodes of w1 use its whole total of 4
w1a=$(dr_cli job submit --cluster w1 --cpus 2 -- sleep 25)
w1b=$(dr_cli job submit --cluster w1 --cpus 2 -- sleep 25)
dr_wait_job_state "$w1a" running 60
dr_wait_job_state "$w1b" running 60
# w2 (another family, the same location) is held by the shared total
w2a=$(dr_cli job submit --cluster w2 --cpus 2 -- echo w2-ran)
held() { # held CLUSTER JOB WANT
    [[ $(dr_cli -o json job show "$2" | jq -r .reason) == *"$3"* ]] &&
        [[ $(dr_cli -o json cluster show -n "$1" | jq -r '.errors | join(" ")') == *"$3"* ]]
}
dr_wait_for "w2 held by the westus total" 20 held w2 "$w2a" \
    "quota exceeded: westus total 4/4 cores"
dr_assert_eq "$(dr_cli -o json cluster show -n w2 | jq .current_nodes)" 0 "w2 got no node"
dr_assert_eq "$(row westus "" | jq -c '[.total, .dedicated_cores, .dedicated_used]')" \
    "[true,4,4]" "the westus total row"

# eastus is not held by the westus total; its Dv2 family limit (2 cores)
# holds e1 to one node, and e2 (FSv2) not at all
e1a=$(dr_cli job submit --cluster e1 --cpus 2 -- sleep 4)
e1b=$(dr_cli job submit --cluster e1 --cpus 2 -- echo e1b-ran)
e2a=$(dr_cli job submit --cluster e2 --cpus 2 -- echo e2-ran)
dr_wait_job_state "$e1a" running 60
dr_wait_job_state "$e2a" succeeded 60
dr_wait_for "e1's second job held by the eastus Dv2 limit" 20 held e1 "$e1b" \
    "quota exceeded: eastus standardDv2Family 2/2 cores"
dr_assert_eq "$(dr_cli -o json cluster show -n e1 | jq .current_nodes)" 1 "e1 has one node"
dr_wait_job_state "$e1b" succeeded 60 # on e1's node, once e1a ends
dr_assert_eq "$(row eastus standardDv2Family | jq -c '[.total, .dedicated_cores]')" \
    "[false,2]" "the eastus Dv2 row"
dr_assert_eq "$(row eastus "" | jq .dedicated_cores)" -1 "eastus has no total"

# low priority apart: a 0-core low-priority total holds only low priority
dr_cli quota set --location westus --total --vm-priority lowpriority --cores 0 >/dev/null
dr_cli cluster create -n wl -s Standard_D2_v2 --location westus --max-nodes 1 \
    --vm-priority lowpriority >/dev/null
wla=$(dr_cli job submit --cluster wl -- echo wl-ran)
dr_wait_for "wl held by the low-priority total" 20 held wl "$wla" \
    "quota exceeded: westus total 0/0 cores (low priority)"

# the rows survive a restart
dr_stop_scheduler
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 5s \
    --autoscale-interval 200ms
dr_assert_eq "$(row westus "" | jq -c '[.dedicated_cores, .lowpriority_cores]')" \
    "[4,0]" "the westus totals after a restart"

# unlimited removes a limit: w2 and wl get their nodes
dr_cli quota set --location westus --total --cores unlimited >/dev/null
dr_cli quota set --location westus --total --vm-priority lowpriority --cores unlimited >/dev/null
dr_wait_job_state "$w2a" succeeded 60
dr_wait_job_state "$wla" succeeded 60
dr_assert_eq "$(row westus "" | jq -c '[.dedicated_cores, .lowpriority_cores]')" \
    "[-1,-1]" "the westus totals removed"
dr_assert_contains "$(dr_cli quota list)" "westus    (total)" "quota list shows the location's total"
dr_pass
