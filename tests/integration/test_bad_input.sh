#!/usr/bin/env bash
# Bad input through the CLI and the daemons' flags: a clear one-line error,
# a non-zero exit, nothing changed, and the scheduler keeps serving.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler
dr_cli cluster create -n good -s Standard_D2_v2 --max-nodes 0 >/dev/null
before=$(dr_cli -o json cluster list)

expect_err() { # expect_err NEEDLE ARGS... : fails unless drover exits non-zero saying NEEDLE
    local needle=$1 out rc=0
    shift
    out=$(dr_cli "$@" 2>&1) || rc=$?
    ((rc != 0)) || dr_fail "drover $* succeeded"
    dr_assert_contains "$out" "$needle" "drover $*"
    [[ $(wc -l <<<"$out") -le 2 ]] || dr_fail "drover $*: more than a short error: $out"
}
expect_err "unknown vm size 'Standard_Bogus'" cluster create -n x -s Standard_Bogus
expect_err "must not exceed" cluster create -n x -s Standard_D2_v2 --min-nodes 3 --max-nodes 1
expect_err "" cluster create -n x -s Standard_D2_v2 --max-nodes -1
expect_err "" cluster create -n "bad name" -s Standard_D2_v2
expect_err "" cluster create -n x -s Standard_D2_v2 --vm-priority cheap
expect_err "already exists" cluster create -n good -s Standard_D2_v2
expect_err "unknown cluster 'nope'" cluster show -n nope
expect_err "unknown cluster 'nope'" cluster update -n nope --max-nodes 3
expect_err "" cluster update -n good --min-nodes 5
expect_err "unknown cluster 'nope'" job submit --cluster nope -- true
expect_err "malformed memory size '2Q'" job submit --cluster good --memory 2Q -- true
expect_err "" job submit --cluster good --time-limit soon -- true
expect_err "job asks for 64 cpus but Standard_D2_v2 has 2" job submit --cluster good --cpus 64 -- true
expect_err "" job submit --cluster good
expect_err "unknown job 424242" job show 424242
expect_err "unknown job 424242" job cancel 424242
expect_err "" job show abc
expect_err "" job list --state sleeping
expect_err "" frobnicate
after=$(dr_cli -o json cluster list)
dr_assert_eq "$after" "$before" "failed commands changed nothing"
dr_assert_eq "$(dr_cli -o json job list | jq length)" 0 "no job was created"

# the daemons' own flags and config files
rc=0
out=$("$DROVER_BIN/drover-scheduler" --no-such-flag 2>&1) || rc=$?
dr_assert_eq "$rc" 2 "scheduler exit code on a bad flag"
dr_assert_contains "$out" "unknown option '--no-such-flag'" "scheduler flag error"
printf 'state_dir = %s\nheartbeat_timeout = soon\n' "$T/x" >"$T/bad.conf"
rc=0
out=$("$DROVER_BIN/drover-scheduler" --config "$T/bad.conf" 2>&1) || rc=$?
dr_assert_eq "$rc" 2 "scheduler exit code on a bad config"
dr_assert_contains "$out" "line 2" "config error names the line"
rc=0
out=$("$DROVER_BIN/drover-agent" --cpus zero 2>&1) || rc=$?
dr_assert_eq "$rc" 2 "agent exit code on a bad flag"
# a second scheduler on the same endpoints fails cleanly
rc=0
out=$("$DROVER_BIN/drover-scheduler" --state-dir "$T/other" \
    --client-endpoint "$DROVER_SCHEDULER" --agent-endpoint "$AGENT_EP" 2>&1) || rc=$?
((rc != 0)) || dr_fail "second scheduler started on a busy port"
dr_assert_contains "$out" "cannot bind" "bind error"

# an agent that registers for a cluster that does not exist is refused
# and the scheduler keeps serving
dr_cli keys generate --name stray-1 --dir "$T" >/dev/null
dr_cli keys add-agent stray-1 "$T/stray-1.pub" >/dev/null
timeout 3 "$DROVER_BIN/drover-agent" --key "$T/stray-1.key" \
    --scheduler-key "$T/state/keys/scheduler.pub" --scheduler "$AGENT_EP" --name stray-1 \
    --cluster ghost --vm-size Standard_D2_v2 --cpus 2 --memory-mb 1024 \
    --work-dir "$T/stray" >"$T/stray.log" 2>&1 || true
dr_assert_contains "$(cat "$T/stray.log")" "unknown cluster ghost" "agent told why"
dr_assert_eq "$(dr_cli -o json node list | jq length)" 0 "no node added"
dr_cli cluster list >/dev/null
dr_pass
