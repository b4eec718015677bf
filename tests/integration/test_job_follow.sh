#!/usr/bin/env bash
# `--wait --follow` (issue 15), as `az ml job stream`: the job's output
# streams on stdout while it runs - a line is there before the job ends (the
# job prints "a", then waits for a file the test makes only once it has
# seen "a" in the CLI's output) - between the state lines on stderr (the
# wait reason with the time waited while it is queued for a node being
# created, the node it runs on, how it ended, after the last output); the
# CLI exits with the job's status (a failing job's exit code).  The same
# through `job create -f job.yml`; --follow alone implies --wait; not with
# -o json nor an array.  A multi-node job's lines keep their node tags.
# `job logs -f` of a queued job prints its wait reason on stderr and ends
# when the job does.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 10s \
    --autoscale-interval 200ms
# no node yet: the first job waits for one being created
dr_cli cluster create -n fol -s Standard_D2_v2 --min-nodes 0 --max-nodes 2 \
    --idle-seconds-before-scaledown 300 >/dev/null
dr_cli cluster create -n parked -s Standard_D2_v2 --max-nodes 0 >/dev/null

# ---- the output before the end --------------------------------------------
go=$T/go
dr_cli job submit --cluster fol --wait --follow -- sh -c \
    "echo a; while [ ! -e $go ]; do sleep 0.1; done; echo b; echo to-stderr >&2; exit 3" \
    >"$T/out" 2>"$T/err" &
cli=$!
dr_wait_for "'a' in the CLI's output" 90 grep -qx a "$T/out"
id=$(head -1 "$T/out")
kill -0 "$cli" 2>/dev/null || dr_fail "the CLI ended before the job did"
dr_assert_eq "$(dr_job_state "$id")" running "the job runs while 'a' is out"
if grep -q 'b' "$T/out" || grep -q 'failed' "$T/err"; then
    dr_fail "output or end before the job's wait ended: $(cat "$T/out" "$T/err")"
fi
touch "$go"
rc=0
wait "$cli" || rc=$?
dr_assert_eq "$rc" 3 "--wait --follow exits with the job's exit code"
dr_assert_eq "$(sed -n 2p "$T/out")" a "the output follows the id"
dr_assert_contains "$(cat "$T/out")" "b" "the rest of stdout"
dr_assert_contains "$(cat "$T/out")" "to-stderr" "the job's stderr"
err=$(<"$T/err")
dr_assert_contains "$err" "job $id: queued: " "the wait reason"
# (scaling out, or the cluster resizing: the autoscaler's pass decides)
grep -qE "^job $id: queued: [a-z].* \(waited [0-9]+s\)$" <<<"$err" ||
    dr_fail "the wait reason with the time waited: $err"
dr_log "while queued: $(grep -c "^job $id: queued: " <<<"$err") reason(s): $(grep "^job $id: queued: " <<<"$err" | tr '\n' '|')"
dr_assert_contains "$err" "job $id: running on fol-" "the node it runs on"
dr_assert_eq "$(tail -1 <<<"$err")" "job $id: failed (exit 3): exited with code 3" \
    "the last state line"

# ---- a change of the wait reason: a cluster of 0 nodes, then 1 ------------------
dr_cli cluster create -n grow -s Standard_D2_v2 --max-nodes 0 >/dev/null
dr_cli job submit --cluster grow --wait --follow -- echo grown >"$T/gout" 2>"$T/gerr" &
cli=$!
dr_wait_for "the first wait reason" 30 grep -q "queued: cluster max_nodes is 0" "$T/gerr"
dr_cli cluster update -n grow --max-nodes 1 >/dev/null
rc=0
wait "$cli" || rc=$?
dr_assert_eq "$rc" 0 "the job, once the cluster may grow"
gid=$(head -1 "$T/gout")
queued=$(grep "^job $gid: queued: " "$T/gerr")
grep -qE "^job $gid: queued: cluster max_nodes is 0 \(waited [0-9]+s\)$" <<<"$(head -1 <<<"$queued")" ||
    dr_fail "the first reason: $queued"
dr_assert_eq "$(sed 's/ (waited [0-9a-z]*)$//' <<<"$queued" | sort | uniq -d)" "" "each reason once"
dr_log "the reasons: $(tr '\n' '|' <<<"$queued")"
dr_assert_eq "$(sed -n 2p "$T/gout")" grown "its output"
dr_assert_eq "$(tail -1 "$T/gerr")" "job $gid: succeeded (exit 0)" "its end"

# ---- the order, on one stream: states, output, the end last ----------------
rc=0
dr_cli job submit --cluster fol --wait --follow -- sh -c \
    'echo one; sleep 1; echo two' >"$T/both" 2>&1 || rc=$?
dr_assert_eq "$rc" 0 "a job that succeeds"
id=$(head -1 "$T/both")
# line numbers: the first state on a node, one, two, the end (the last line)
at() { grep -nE -m1 "$1" "$T/both" | cut -d: -f1; }
l_node=$(at "^job $id: (starting|running) on fol-")
l_one=$(at '^one$')
l_two=$(at '^two$')
l_end=$(at "^job $id: succeeded \(exit 0\)$")
((${l_node:-0} > 0 && l_node < l_one && l_one < l_two && l_two < l_end &&
    l_end == $(wc -l <"$T/both"))) ||
    dr_fail "the node, the output, then the end last: $(cat "$T/both")"

# ---- --follow implies --wait; job create; refused combinations ---------------
rc=0
out=$(dr_cli job submit --cluster fol --follow -- sh -c 'echo alone; exit 5' 2>/dev/null) || rc=$?
dr_assert_eq "$rc" 5 "--follow alone waits and exits with the status"
dr_assert_contains "$out" "alone" "--follow alone streams"
cat >"$T/job.yml" <<'EOF'
command: echo "hello from yaml"; exit 4
compute: azureml:fol
EOF
rc=0
out=$(dr_cli job create -f "$T/job.yml" --wait --follow 2>"$T/err") || rc=$?
dr_assert_eq "$rc" 4 "job create --wait --follow: the exit code"
dr_assert_eq "$(sed -n 2p <<<"$out")" "hello from yaml" "job create streams"
dr_assert_contains "$(tail -1 "$T/err")" "failed (exit 4)" "job create: the end"
rc=0
out=$(dr_cli job create -f "$T/job.yml" --follow 2>/dev/null) || rc=$?
dr_assert_eq "$rc" 4 "job create --follow alone"
dr_assert_contains "$(dr_cli job create --help)" "--follow" "job create --help"
dr_assert_contains "$(dr_cli job submit --help)" "--follow" "job submit --help"
before=$(dr_cli -o json job list | jq length)
for bad in "-o json job submit --cluster fol --follow -- true" \
    "job submit -o json --cluster fol --wait --follow -- true" \
    "-o json job create -f $T/job.yml --follow"; do
    rc=0
    # shellcheck disable=SC2086 # the words of $bad
    out=$(dr_cli $bad 2>&1) || rc=$?
    dr_assert_eq "$rc" 2 "refused: $bad"
    dr_assert_contains "$out" "--follow prints the job's output as it is, not JSON" "$bad"
done
rc=0
out=$(dr_cli job submit --cluster fol --array 0-3 --follow -- true 2>&1) || rc=$?
dr_assert_eq "$rc" 2 "--follow with --array"
dr_assert_contains "$out" "--follow follows one job, not an array" "--follow with --array"
dr_assert_eq "$(dr_cli -o json job list | jq length)" "$before" "nothing queued by refused lines"

# ---- a multi-node job: each line with its node ---------------------------------
rc=0
out=$(dr_cli job submit --cluster fol --nodes 2 --wait --follow -- sh -c \
    'echo "rank $DROVER_NODE_RANK"' 2>/dev/null) || rc=$?
dr_assert_eq "$rc" 0 "the multi-node job"
grep -qE '^\[fol-[12]\] rank 0$' <<<"$out" || dr_fail "rank 0's line, tagged: $out"
grep -qE '^\[fol-[12]\] rank 1$' <<<"$out" || dr_fail "rank 1's line, tagged: $out"

# ---- job logs -f of a queued job ------------------------------------------------
qid=$(dr_cli job submit --cluster parked -- echo never)
dr_cli job logs "$qid" -f >"$T/lout" 2>"$T/lerr" &
lcli=$!
dr_wait_for "the wait reason from job logs -f" 30 grep -q "job $qid: queued: " "$T/lerr"
grep -qE "^job $qid: queued: .*max_nodes is 0.* \(waited [0-9]+s\)$" "$T/lerr" ||
    dr_fail "job logs -f: the reason and the time waited: $(cat "$T/lerr")"
kill -0 "$lcli" 2>/dev/null || dr_fail "job logs -f ended while the job is queued"
dr_cli job cancel "$qid" >/dev/null
rc=0
wait "$lcli" || rc=$?
dr_assert_eq "$rc" 0 "job logs -f ends with the job"
dr_assert_eq "$(wc -l <"$T/lerr")" 1 "one line: the reason did not change"
dr_assert_eq "$(wc -c <"$T/lout")" 0 "no output from a job that never ran"
dr_pass
