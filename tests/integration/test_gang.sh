#!/usr/bin/env bash
# Gang placement of multi-node jobs: all nodes at once or none, a gang that
# cannot fit stays queued with its reason and never half-starts, a waiting
# gang holds nodes against later small jobs (no starvation), and small jobs
# whose time limit ends before the gang could start are backfilled.  The
# jobs are plain multi-node jobs (every node runs the command, with its
# rank in DROVER_NODE_RANK).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 1s --heartbeat-timeout 10s \
    --autoscale-interval 200ms
started() { dr_cli -o json job show "$1" | jq -r .started_at; }
ended() { dr_cli -o json job show "$1" | jq -r .ended_at; }

# ---- a 2-node job on a cluster of at most 1 node ------------------------------
dr_cli cluster create -n one -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null
dr_wait_for "one node up" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json cluster show -n one | jq -r .idle_nodes) == 1 ]]"
big=$(dr_cli job submit --cluster one --nodes 2 -- true)
sleep 3
dr_assert_eq "$(dr_job_state "$big")" queued "the 2-node job stays queued"
dr_assert_contains "$(dr_cli -o json job show "$big" | jq -r .reason)" \
    "needs 2 nodes at once but cluster one has at most 1" "it says why"
dr_assert_eq "$(sqlite3 "$T/state/drover.db" "select count(*) from tasks where job_id=$big")" 0 \
    "never half-started: no task on any node"
dr_assert_eq "$(dr_cli -o json cluster show -n one | jq -r .current_nodes)" 1 "no scale-out past max"
small=$(dr_cli job submit --cluster one -- true)
dr_wait_job_state "$small" succeeded 30
dr_cli job cancel "$big" >/dev/null
dr_wait_job_state "$big" canceled 10

# ---- every node runs a plain multi-node job, with its rank --------------------
dr_cli cluster create -n gang -s Standard_D2_v2 --min-nodes 2 --max-nodes 2 \
    --idle-seconds-before-scaledown 300 >/dev/null
dr_wait_for "two nodes up" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json cluster show -n gang | jq -r .idle_nodes) == 2 ]]"
pj=$(dr_cli job submit --cluster gang --nodes 2 --cpus 2 -- \
    sh -c 'echo "rank $DROVER_NODE_RANK of $DROVER_NUM_NODES on $DROVER_NODE_NAME hosts $DROVER_HOSTS"')
dr_wait_job_state "$pj" succeeded 30
plogs=$(dr_cli job logs "$pj")
dr_assert_contains "$plogs" "rank 0 of 2" "rank 0 ran"
dr_assert_contains "$plogs" "rank 1 of 2" "rank 1 ran"

# ---- a waiting gang, small jobs around it ------------------------------------
# s1 holds one cpu of one node for 6 s (limit 20 s); the gang needs both
# nodes whole.  s2 (limit 5 s) ends before the gang could start: backfilled.
# s3 has no limit: it would delay the gang, so it waits behind it.
s1=$(dr_cli job submit --cluster gang --name s1 --cpus 1 --time-limit 20s -- sleep 6)
dr_wait_job_state "$s1" running 30
g=$(dr_cli job submit --cluster gang --name gang --nodes 2 --cpus 2 -- sleep 1)
sleep 1
dr_assert_eq "$(dr_job_state "$g")" queued "the gang waits for whole nodes"
dr_assert_contains "$(dr_cli -o json job show "$g" | jq -r .reason)" "waiting for 2 nodes at once" "gang reason"
s2=$(dr_cli job submit --cluster gang --name s2 --cpus 1 --time-limit 5s -- sleep 1)
s3=$(dr_cli job submit --cluster gang --name s3 --cpus 1 -- sleep 1)
dr_wait_job_state "$s2" succeeded 20
dr_assert_eq "$(dr_job_state "$g")" queued "the gang still waits for s1"
st3=$(dr_job_state "$s3")
dr_assert_eq "$st3" queued "s3 (no time limit) does not jump the gang"
dr_assert_contains "$(dr_cli -o json job show "$s3" | jq -r .reason)" "held for gang job $g" "s3 says why"
dr_wait_job_state "$g" succeeded 40
dr_wait_job_state "$s3" succeeded 30
dr_log "s1 ended $(ended "$s1"), gang started $(started "$g"), s2 started $(started "$s2"), s3 started $(started "$s3")"
(($(started "$s2") < $(started "$g"))) || dr_fail "s2 was not backfilled before the gang"
(($(started "$g") >= $(ended "$s1") - 50)) || dr_fail "the gang started before s1 ended"
(($(started "$s3") >= $(started "$g"))) || dr_fail "s3 started before the gang"
dr_assert_eq "$(dr_cli -o json job show "$g" | jq -r '.nodes | length')" 2 "the gang ran on both nodes"
dr_pass
