#!/usr/bin/env bash
# Many differing jobs in one round trip (issue 17): `job submit
# --each-line FILE` runs each command line of FILE (blank lines and
# #-comments skipped) as `sh -c LINE` with the other options; every id is
# printed in order; each runs with its own command. Bad input is refused
# with a clear error and nothing of the request is queued: a command after
# '--', options meant for one job, a missing or empty file, a NUL byte, a
# job that cannot fit. From stdin with '-'; JSON output lists the ids.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 10s \
    --autoscale-interval 200ms
dr_cli cluster create -n el -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null
njobs() { dr_cli -o json job list | jq length; }

F=$T/cmds
cat >"$F" <<'EOF'
# one job a line
echo first

echo "two words" | tr a-z A-Z
   # an indented comment
printf '%s\n' "$DROVER_JOB_ID" > /dev/null; echo third
exit 3
EOF
out=$(dr_cli job submit --cluster el --name lines --env GREETING=hi --each-line "$F")
mapfile -t ids <<<"$out"
dr_assert_eq "${#ids[@]}" 4 "four ids, one a line"
for i in 1 2 3; do
    dr_assert_eq "${ids[i]}" "$((ids[0] + i))" "the ids in the file's order"
done
for i in 0 1 2; do dr_wait_job_state "${ids[i]}" succeeded 60; done
dr_wait_job_state "${ids[3]}" failed 60
dr_assert_eq "$(dr_cli job logs "${ids[0]}")" "first" "line 2's job ran line 2"
dr_assert_eq "$(dr_cli job logs "${ids[1]}")" "TWO WORDS" "a pipe and quotes, as sh -c reads them"
dr_assert_eq "$(dr_cli job logs "${ids[2]}")" "third" "line 6's job"
dr_assert_eq "$(dr_cli -o json job show "${ids[3]}" | jq -r .exit_code)" 3 "line 7's exit code"
dr_assert_eq "$(dr_cli -o json job show "${ids[1]}" | jq -r .name)" lines "the shared options apply to each"

# from stdin, JSON out
json=$(printf 'true\ntrue\n' | dr_cli -o json job submit --cluster el --each-line -)
dr_assert_eq "$(jq '.ids | length' <<<"$json")" 2 "JSON: the ids"
for id in $(jq '.ids[]' <<<"$json"); do dr_wait_job_state "$id" succeeded 60; done

# bad input: a clear error, nothing queued
before=$(njobs)
refused() { # WHAT WANT ARGS...: the submit fails, says WANT, queues nothing
    local what=$1 want=$2 out rc=0
    shift 2
    out=$(dr_cli job submit "$@" 2>&1) || rc=$?
    [[ $rc -ne 0 ]] || dr_fail "$what: accepted"
    dr_assert_contains "$out" "$want" "$what"
    dr_assert_eq "$(njobs)" "$before" "$what: nothing queued"
}
refused "a command too" "nothing goes after '--'" --cluster el --each-line "$F" -- true
refused "with --array" "--array is for one job at a time" --cluster el --each-line "$F" --array 0-3
refused "with --wait" "--wait is for one job at a time" --cluster el --each-line "$F" --wait
refused "with --dependency" "--dependency is for one job at a time" --cluster el --each-line "$F" --dependency afterok:1
refused "a missing file" "--each-line $T/nope" --cluster el --each-line "$T/nope"
printf '# only a comment\n\n' >"$T/empty"
refused "no command" "no command in the file" --cluster el --each-line "$T/empty"
printf 'true\nec\0ho\n' >"$T/nul"
refused "a NUL byte" "$T/nul:2: a NUL byte" --cluster el --each-line "$T/nul"
refused "too big for the VM" "job 1 of 4:" --cluster el --cpus 64 --each-line "$F"
refused "an unknown cluster" "unknown cluster" --cluster nope --each-line "$F"
dr_pass "job submit --each-line"
