#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2015 # "A && ok || bad": ok never fails
# Self-check of tests/integration/lib.sh that needs no real daemons: the
# assertions, dr_wait_for, port picking, and the process-group handling of
# dr_start_scheduler / dr_stop_scheduler / dr_kill9_scheduler / the EXIT
# trap, against fake drover-scheduler and drover scripts.
#     bash tests/integration/lib_selfcheck.sh
# (Named lib_selfcheck, not test_*, so ctest's glob does not pick it up.)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FAKE=$(mktemp -d "${TMPDIR:-/tmp}/drover-libcheck.XXXXXX")
export FAKE LIB=$HERE/lib.sh
trap 'rm -rf "$FAKE"' EXIT
failures=0

ok() { printf 'ok   %s\n' "$1"; }
bad() {
    printf 'BAD  %s\n' "$1"
    failures=$((failures + 1))
}
# expect_rc WANT DESC CMD...: run CMD in a subshell, check its exit status
expect_rc() {
    local want=$1 desc=$2 rc=0
    shift 2
    ("$@") >"$FAKE/out" 2>&1 || rc=$?
    if [[ $rc -eq $want ]]; then ok "$desc"; else bad "$desc (rc $rc)"; fi
}

# --- fake daemons -------------------------------------------------------------
# The fake scheduler forks a fake "agent" into its own process group (as the
# local provider does), then marks itself ready; the fake CLI answers
# "cluster list" while the ready file exists, and "job show" from a file.
cat >"$FAKE/drover-scheduler" <<'EOF'
#!/usr/bin/env bash
state=
while [[ $# -gt 0 ]]; do
    case $1 in --state-dir) state=$2; shift ;; esac
    shift
done
mkdir -p "$state"
sleep 300 &
echo $! >"$state/agent.pid"
# a "job" in a process group of its own, as the process runtime makes it
python3 -c 'import os, time; os.setpgid(0, 0); time.sleep(300)' &
echo $! >"$state/job.pid"
trap 'rm -f "$state/ready"; exit 0' TERM
touch "$state/ready"
echo "fake scheduler up"
while true; do sleep 0.1; done
EOF
cat >"$FAKE/drover" <<'EOF'
#!/usr/bin/env bash
[[ -f "$T/state/ready" ]] || exit 1
[[ "${1:-}" == "-o" ]] && shift 2
case "$1 $2" in
"cluster list") echo "NAME" ;;
"job show") echo "{\"id\": $3, \"state\": \"$(cat "$T/job.$3" 2>/dev/null || echo queued)\"}" ;;
*) exit 2 ;;
esac
EOF
cp "$FAKE/drover-scheduler" "$FAKE/drover-agent"
chmod +x "$FAKE"/drover*
export DROVER_BIN=$FAKE

# shellcheck source=lib.sh
source "$HERE/lib.sh"

# --- assertions ----------------------------------------------------------------
expect_rc 0 "dr_assert_eq equal" dr_assert_eq a a "m"
expect_rc 1 "dr_assert_eq different" dr_assert_eq a b "m"
grep -q "^FAIL: m: expected 'b', got 'a'" "$FAKE/out" &&
    ok "dr_assert_eq message" || bad "dr_assert_eq message: $(cat "$FAKE/out")"
expect_rc 0 "dr_assert_contains found" dr_assert_contains "hello world" "lo w" m
expect_rc 1 "dr_assert_contains missing" dr_assert_contains "hello" "xyz" m
expect_rc 1 "dr_fail exits 1" dr_fail "boom"
grep -qx "FAIL: boom" "$FAKE/out" && ok "dr_fail message" || bad "dr_fail message"
[[ "$(dr_pass)" == "PASS: lib_selfcheck.sh" ]] && ok "dr_pass" || bad "dr_pass: $(dr_pass)"

# --- dr_wait_for -------------------------------------------------------------
expect_rc 0 "dr_wait_for success" dr_wait_for "true" 1 true
start=$(dr_now_ms)
expect_rc 1 "dr_wait_for timeout" dr_wait_for "never" 1 false
el=$(($(dr_now_ms) - start))
grep -q "FAIL: timeout waiting for never" "$FAKE/out" &&
    ok "dr_wait_for timeout message" || bad "dr_wait_for message"
((el >= 900 && el < 3000)) && ok "dr_wait_for waited ${el} ms" ||
    bad "dr_wait_for waited ${el} ms"
f=$FAKE/flag
(sleep 0.5 && touch "$f") &
expect_rc 0 "dr_wait_for polls until success" dr_wait_for "flag" 5 test -e "$f"
wait

# --- a full fake test run, in a child shell ------------------------------------
# PASS case: start, job state, kill -9 (agent survives), restart, stop, exit 0
cat >"$FAKE/fake_test.sh" <<'EOF'
set -euo pipefail
source "$LIB"
dr_setup
[[ "$DROVER_SCHEDULER" =~ ^tcp://127\.0\.0\.1:[0-9]+$ ]] || dr_fail "endpoint $DROVER_SCHEDULER"
((CPORT >= 20000 && CPORT < 40000 && APORT == CPORT + 1)) || dr_fail "ports $CPORT $APORT"
echo "$T" >"$FAKE/t_dir"
dr_start_scheduler --extra-flag
agent1=$(cat "$T/state/agent.pid")
echo "$agent1" >"$FAKE/agent1"
cp "$T/state/job.pid" "$FAKE/job1"
echo running >"$T/job.7"
dr_assert_eq "$(dr_job_state 7)" running "job state"
(sleep 0.4; echo succeeded >"$T/job.7") &
dr_wait_job_state 7 succeeded 5
dr_kill9_scheduler
kill -0 "$agent1" || dr_fail "agent died with the scheduler's SIGKILL"
rm -f "$T/state/ready"
dr_start_scheduler
echo "$(cat "$T/state/agent.pid")" >"$FAKE/agent2"
dr_stop_scheduler || dr_fail "stop rc $?"
grep -q -- "--extra-flag" "$T/scheduler.log" || dr_fail "extra args not logged"
echo failed >"$T/job.8"
( dr_wait_job_state 8 succeeded 5 ) && dr_fail "wait on a failed job passed"
dr_pass
EOF
rc=0
out=$(bash "$FAKE/fake_test.sh" 2>&1) || rc=$?
if [[ $rc -eq 0 && "$out" == *"PASS: fake_test.sh"* ]]; then
    ok "fake test passes"
else
    bad "fake test rc $rc: $out"
fi
sleep 0.2
for a in agent1 agent2 job1; do  # (an exited agent may be a zombie a moment)
    pid=$(cat "$FAKE/$a" 2>/dev/null || echo "")
    if [[ -n "$pid" ]] && dr__pid_alive "$pid"; then
        bad "$a ($pid) still runs after the test exited"
        kill "$pid"
    else
        ok "$a ended by the EXIT trap"
    fi
done
tdir=$(cat "$FAKE/t_dir")
[[ ! -e "$tdir" ]] && ok "work dir removed on success" || bad "work dir kept: $tdir"

# FAIL case: the work dir is kept and the scheduler log tail printed
cat >"$FAKE/fake_fail.sh" <<'EOF'
set -euo pipefail
source "$LIB"
dr_setup
echo "$T" >"$FAKE/t_dir"
dr_start_scheduler
dr_assert_eq 1 2 "deliberate"
EOF
rc=0
out=$(bash "$FAKE/fake_fail.sh" 2>&1) || rc=$?
tdir=$(cat "$FAKE/t_dir")
[[ $rc -eq 1 ]] && ok "failing test exits 1" || bad "failing test rc $rc"
[[ "$out" == *"fake scheduler up"* && "$out" == *"FAIL: deliberate"* ]] &&
    ok "failure prints the scheduler log" || bad "failure output: $out"
[[ -d "$tdir" ]] && ok "work dir kept on failure" || bad "work dir removed on failure"
rm -rf "$tdir"

# a scheduler that dies at startup fails fast with its log
printf '#!/bin/sh\necho "cannot bind"\nexit 3\n' >"$FAKE/drover-scheduler"
rc=0
start=$(dr_now_ms)
out=$(bash "$FAKE/fake_fail.sh" 2>&1) || rc=$?
el=$(($(dr_now_ms) - start))
[[ $rc -eq 1 && "$out" == *"exited during startup"* && "$out" == *"cannot bind"* && $el -lt 5000 ]] &&
    ok "scheduler dying at startup fails fast (${el} ms)" || bad "startup death: rc $rc $out"
rm -rf "$(cat "$FAKE/t_dir")"

echo
if [[ $failures -gt 0 ]]; then
    echo "lib_selfcheck: $failures failure(s)"
    exit 1
fi
echo "lib_selfcheck: all passed"
