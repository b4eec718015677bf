#!/usr/bin/env bash
# Multi-node MPI without SSH, with real OpenMPI: a 3-node x 2-process job
# on a min-0 cluster (scale-out to the gang, allreduce and ring right on 6
# ranks over 3 nodes, logs per node), then a worker's agent killed mid-job
# (teardown everywhere, job failed with the node's reason, no orted, rank
# or task left), and an MPI rank that dies (the job fails, nothing left).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
[[ -x "$DROVER_BIN/mpi_ring" ]] || dr_fail "mpi_ring not built"
[[ -x "$DROVER_BIN/drover-launch" ]] || dr_fail "drover-launch not built"
dr_start_scheduler --heartbeat-interval 1s --heartbeat-timeout 6s \
    --autoscale-interval 200ms
dr_cli cluster create -n mpi -s Standard_D2_v2 --min-nodes 0 --max-nodes 3 \
    --idle-seconds-before-scaledown 120 >/dev/null
cur() { dr_cli -o json cluster show -n mpi | jq -r .current_nodes; }
no_strays() {
    ! pgrep -f "[o]rted .*ess_base_jobid" >/dev/null &&
        ! pgrep -f "$DROVER_BIN/[m]pi_ring" >/dev/null &&
        ! pgrep -x mpirun >/dev/null
}

# ---- 3 nodes x 2 processes ------------------------------------------------
id=$(dr_cli job submit --cluster mpi --name ring --nodes 3 --procs-per-node 2 \
    --cpus 2 --distribution mpi --max-retries 0 -- "$DROVER_BIN/mpi_ring")
dr_wait_job_state "$id" succeeded 120
dr_assert_eq "$(cur)" 3 "the cluster scaled out to the gang's 3 nodes"
show=$(dr_cli -o json job show "$id")
dr_assert_eq "$(jq -r '.nodes | length' <<<"$show")" 3 "job show lists 3 nodes"
head_node=$(jq -r .head_node <<<"$show")
dr_assert_eq "$(jq -r '.nodes[0]' <<<"$show")" "$head_node" "the head is rank 0's node"
dr_assert_contains "$(dr_cli job show "$id")" "head_node: $head_node" "job show names the head"
logs=$(dr_cli job logs "$id")
echo "$logs" | sed 's/^/    | /'
ok_lines=$(grep -c ' ok$' <<<"$logs" || true)
dr_assert_eq "$ok_lines" 6 "all 6 ranks report the right sum and ring"
dr_assert_eq "$(grep ' ok$' <<<"$logs" | grep -c 'sum 21 ')" 6 "allreduce sum is 21"
ranks=$(grep ' ok$' <<<"$logs" | sed -E 's/.*\] rank ([0-9]+)\/6 .*/\1/' | sort -n | tr '\n' ' ')
dr_assert_eq "$ranks" "0 1 2 3 4 5 " "ranks 0-5 each ran once"
nodes=$(grep ' ok$' <<<"$logs" | sed -E 's/.* node ([^ ]+) host .*/\1/' | sort -u | wc -l)
dr_assert_eq "$nodes" 3 "the ranks ran on 3 distinct drover nodes"
# each line is attributed to the node its rank ran on
bad=$(grep ' ok$' <<<"$logs" | awk '{ tag=$1; sub(/^\[/, "", tag); if (tag != $7) print }')
dr_assert_eq "$bad" "" "every rank line carries its own node's name"
dr_wait_for "no orted, rank or mpirun left" 15 no_strays

# every rank sees its node's layout: rank, node count, hostfile, job id
id=$(dr_cli job submit --cluster mpi --name env --nodes 3 --procs-per-node 2 \
    --cpus 2 --distribution mpi --max-retries 0 -- \
    sh -c 'echo "env rank=$OMPI_COMM_WORLD_RANK node=$DROVER_NODE_NAME noderank=$DROVER_NODE_RANK of=$DROVER_NUM_NODES ppn=$DROVER_PROCS_PER_NODE hostfile_lines=$(wc -l <"$DROVER_HOSTFILE") job=$DROVER_JOB_ID head=$DROVER_HEAD_NODE"')
dr_wait_job_state "$id" succeeded 60
elogs=$(dr_cli job logs "$id")
echo "$elogs" | sed 's/^/    | /'
dr_assert_eq "$(grep -c "of=3 ppn=2 hostfile_lines=3 job=$id head=$head_node" <<<"$elogs")" 6 "6 ranks see the layout"
dr_assert_eq "$(grep -o 'noderank=[0-9]' <<<"$elogs" | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" "2 2 2 " "two ranks per node rank"
# ranks 2k and 2k+1 are on node rank k
bad=$(sed -nE 's/.*rank=([0-9]+) node=[^ ]+ noderank=([0-9]+) .*/\1 \2/p' <<<"$elogs" | awk 'int($1 / 2) != $2')
dr_assert_eq "$bad" "" "ranks are laid out by node"

# ---- an agent killed mid-job ------------------------------------------------
id=$(dr_cli job submit --cluster mpi --name ring-kill --nodes 3 --procs-per-node 2 \
    --cpus 2 --distribution mpi --max-retries 0 -- "$DROVER_BIN/mpi_ring" 60)
dr_wait_job_state "$id" running 60
dr_wait_for "all 6 ranks up" 30 bash -c "[[ \$('$DROVER_BIN/drover' job logs $id | grep -c '^\[.* ready rank') == 6 ]]"
victim=$(dr_cli -o json job show "$id" | jq -r '.nodes[1]')
vpid=$(pgrep -f "drover-agent .*--name $victim( |$)" || true)
vpid=${vpid%%$'\n'*}
[[ -n "$vpid" ]] || dr_fail "no agent process for $victim"
dr_log "killing the agent of worker $victim (pid $vpid)"
t0=$(dr_now_ms)
kill -9 "$vpid"
dr_wait_for "job $id ends" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json job show $id | jq -r .state) == failed ]]"
reason=$(dr_cli -o json job show "$id" | jq -r .reason)
dr_log "job failed $(($(dr_now_ms) - t0)) ms after the kill: $reason"
dr_assert_contains "$reason" "mpirun exited with code" "the head's mpirun gave up"
dr_assert_contains "$reason" "(node rank 0)" "the reason names the node and its node rank"
dr_wait_for "teardown on every node: no orted, rank or mpirun" 15 no_strays
tasks=$(sqlite3 "$T/state/drover.db" "select count(*) from tasks where job_id=$id and state in ('starting','running')")
dr_assert_eq "$tasks" 0 "no task of the job is left starting or running"

# ---- a rank that dies -----------------------------------------------------------
dr_wait_for "the killed node is dropped" 30 bash -c "! '$DROVER_BIN/drover' -o json node list --cluster mpi | jq -r '.[].name' | grep -qx '$victim'"
# (the gang makes the autoscaler replace it)
id=$(dr_cli job submit --cluster mpi --name ring-rank --nodes 3 --procs-per-node 2 \
    --cpus 2 --distribution mpi --max-retries 0 -- "$DROVER_BIN/mpi_ring" 60)
dr_wait_for "all 6 ranks up" 60 bash -c "[[ \$('$DROVER_BIN/drover' job logs $id | grep -c '^\[.* ready rank') == 6 ]]"
worker=$(dr_cli -o json job show "$id" | jq -r '.nodes[2]')
rpid=""
for p in $(pgrep -f "$DROVER_BIN/[m]pi_ring 60"); do
    if grep -qz "^DROVER_NODE_NAME=$worker$" "/proc/$p/environ" 2>/dev/null; then
        rpid=$p
        break
    fi
done
[[ -n "$rpid" ]] || dr_fail "no rank found on $worker"
kill -9 "$rpid"
dr_wait_for "job $id fails" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json job show $id | jq -r .state) == failed ]]"
reason=$(dr_cli -o json job show "$id" | jq -r .reason)
dr_log "reason: $reason"
dr_assert_contains "$reason" "mpirun exited with code 137" "mpirun reports the killed rank"
# the root cause first: the MPI rank that died, its node, how
[[ "$reason" == "MPI rank "* ]] || dr_fail "the reason does not begin with the rank that died: $reason"
dr_assert_contains "$reason" "on node $worker exited on signal 9" "the rank's node and signal"
dr_wait_for "no orted, rank or mpirun left" 15 no_strays

# ---- the scheduler killed with SIGKILL while an MPI job runs -------------------
id=$(dr_cli job submit --cluster mpi --name ring-crash --nodes 3 --procs-per-node 2 \
    --cpus 2 --distribution mpi --max-retries 0 -- "$DROVER_BIN/mpi_ring" 6)
dr_wait_for "all 6 ranks up" 60 bash -c "[[ \$('$DROVER_BIN/drover' job logs $id | grep -c '^\[.* ready rank') == 6 ]]"
dr_kill9_scheduler
dr_start_scheduler --heartbeat-interval 1s --heartbeat-timeout 6s \
    --autoscale-interval 200ms
dr_wait_job_state "$id" succeeded 60
dr_assert_eq "$(dr_cli -o json job show "$id" | jq -r .attempts)" 1 "the job kept its first attempt"
dr_assert_eq "$(dr_cli job logs "$id" | grep -c ' ok$')" 6 "all 6 ranks finished right"
dr_wait_for "no orted, rank or mpirun left" 15 no_strays
dr_pass
