#!/usr/bin/env bash
# Jobs from the Python SDK (issue 19) on real nodes (the local provider's
# agents): tests/python/e2e_jobs.py makes a cluster and waits for its one
# node, submits with command() + create_or_update, follows with stream
# (the log and the final state come back; a failing job raises with its
# reason), runs a PyTorch distribution on two nodes and cancels one; each
# result is checked against the CLI.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_python.sh"
py_need
dr_setup
py_start "$T/ws" --heartbeat-interval 500ms
(cd "$T/ws" && PYTHONPATH="$DROVER_SOURCE_DIR/python" timeout 400 "$PY" \
    "$DROVER_SOURCE_DIR/tests/python/e2e_jobs.py") >"$T/e2e.out" 2>&1 ||
    { cat "$T/e2e.out"; dr_fail "e2e_jobs.py failed"; }
sed 's/^/    | /' "$T/e2e.out" >&2
r() { py_result "$1" "$T/e2e.out"; }

# wait_for_completion returned with the node up: a real agent
dr_assert_eq "$(r allocation)" Steady "allocation state"
dr_assert_eq "$(r nodes)" 1 "nodes at min_nodes"
dr_assert_contains "$(cat "$T/e2e.out")" "Minimum number of nodes requested have been provisioned" "progress"
[[ $(dr_cli -o json node list | jq '[.[] | select(.cluster == "py")] | length') -ge 1 ]] ||
    dr_fail "no node of cluster py"

id=$(r hello_name)
[[ $(r hello_submitted) =~ ^(Queued|Starting|Running)$ ]] ||
    dr_fail "status on submission: $(r hello_submitted)"
dr_assert_eq "$(r hello_status) $(r hello_exit)" "Completed 0" "streamed final state"
dr_assert_eq "$(r hello_streamed)" "hello from python|line 1|line 2|line 3" "streamed log"
dr_assert_eq "$(dr_job_state "$id")" succeeded "CLI state"
dr_assert_eq "$(dr_cli -o json job show "$id" | jq -r .name)" hello-py "display_name"
dr_assert_contains "$(dr_cli job logs "$id")" "hello from python" "CLI logs"

bad=$(r bad_name)
dr_assert_eq "$(r bad_raised) $(r bad_status)" "yes Failed" "a failed job raises"
dr_assert_eq "$(r bad_message)" "job $bad failed: exited with code 7" "its reason"
dr_assert_eq "$(dr_cli -o json job show "$bad" | jq -r '.state + " " + (.exit_code|tostring)')" "failed 7" "CLI"

lim=$(r lim_name)
dr_assert_eq "$(r lim_raised) $(r lim_status)" "yes Failed" "a job past its time limit raises"
dr_assert_contains "$(r lim_message)" "time limit of 0.300 s exceeded" "its reason"
dr_assert_eq "$(dr_cli -o json job show "$lim" | jq -r '.state + " " + (.time_limit_ms|tostring) + " " + (.time_limit_s|tostring)')" \
    "timeout 300 1" "CLI: time_limit_ms from the SDK"

pt=$(r pt_name)
dr_assert_eq "$(r pt_status)" Completed "pytorch job"
dr_assert_eq "$(r pt_ranks)" "0/4 1/4 2/4 3/4" "4 ranks over 2 nodes"
dr_assert_eq "$(r tf_status)" Completed "tensorflow job"
dr_assert_eq "$(r tf_tasks)" "worker:0 worker:1 worker:2" "3 workers, each with its TF_CONFIG"
dr_assert_eq "$(r tf_dist)" "tensorflow 3 0" "the job's distribution read back"
dr_assert_eq "$(dr_cli -o json job show "$pt" | jq -r '[.distribution, .node_count, .procs_per_node, (.nodes|length)] | map(tostring) | join(" ")')" \
    "pytorch 2 2 2" "CLI: the distribution"

dr_assert_eq "$(r cancel_status)" Canceled "begin_cancel"
dr_assert_eq "$(dr_job_state "$(r cancel_name)")" canceled "CLI: canceled"

dr_assert_eq "$(r compute_list)" py "client.compute.list"
dr_assert_eq "$(r updated)" "0 30" "update"
dr_assert_eq "$(dr_cli -o json cluster show -n py | jq -r '[.min_nodes, .max_nodes, .idle_seconds_before_scaledown] | map(tostring) | join(" ")')" \
    "0 2 30" "CLI: updated scale settings"
dr_pass
