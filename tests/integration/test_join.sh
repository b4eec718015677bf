#!/usr/bin/env bash
# Join tokens: a node joins by itself, as a fresh VM with drover-agent baked
# in would.  An agent given only --join-token, --scheduler, --scheduler-key
# and a fresh work dir makes its own key pair, joins under its host name
# and runs a job; restarted without the token it comes back with the same
# key.  Refused, each with its reason in the agent's log: a revoked token,
# an expired one, one used past --uses, another cluster's, a second key
# claiming a joined node name; a wrong secret (the connection is refused
# at the handshake: the endpoint admits no unknown key but a token's join
# key) and a malformed token (refused before connecting).  A peer with an
# unknown key is refused at the handshake and the scheduler keeps running.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 5s
SPUB="$T/state/keys/scheduler.pub"
# max 0: only the nodes that join serve these clusters
dr_cli cluster create -n jc -s Standard_D2_v2 --min-nodes 0 --max-nodes 0 >/dev/null
dr_cli cluster create -n other -s Standard_D2_v2 --min-nodes 0 --max-nodes 0 >/dev/null

token() { dr_cli cluster join-token create "$@" | awk '{print $NF}'; }
# agent LOG ARGS...: a joining agent that must be refused: it exits non-zero
refused() {
    local log=$1 why=$2
    shift 2
    if timeout 20 "$DROVER_BIN/drover-agent" --scheduler "$AGENT_EP" \
        --scheduler-key "$SPUB" --heartbeat-ms 500 "$@" >"$log" 2>&1; then
        dr_fail "agent was not refused ($why)"
    fi
    dr_assert_contains "$(cat "$log")" "join refused by the scheduler" "$why: refused"
}
node_state() {
    dr_cli -o json node list --cluster jc |
        jq -r --arg n "$1" '.[] | select(.name == $n) | .state'
}

# ---- a join with only the token ---------------------------------------------
tok=$(token -n jc --uses 1)
[[ "$tok" =~ ^[a-z0-9]{6}\.[a-z0-9]{32}$ ]] || dr_fail "token looks wrong: $tok"
id=${tok%%.*}
dr_assert_contains "$(dr_cli cluster join-token list -n jc)" "$id" "list shows the id"
if dr_cli cluster join-token list -n jc | grep -q "${tok#*.}"; then
    dr_fail "list shows the secret"
fi
if sqlite3 "$T/state/drover.db" "select * from join_tokens" | grep -q "${tok#*.}"; then
    dr_fail "the secret is stored in the clear"
fi
HOST=$(hostname -s)
dr_spawn "$T/a1.log" "$DROVER_BIN/drover-agent" --join-token "$tok" \
    --scheduler "$AGENT_EP" --scheduler-key "$SPUB" --work-dir "$T/a1"
A1=$DR_SPAWN_PID
dr_wait_for "$HOST joined and idle" 30 bash -c \
    "[[ \$('$DROVER_BIN/drover' -o json node list --cluster jc | jq -r '.[] | select(.name==\"$HOST\") | .state') == idle ]]"
[[ $(stat -c %a "$T/a1/node.key") == 600 ]] || dr_fail "node.key is not 0600"
key1=$(dr_cli -o json keys list | jq -r --arg n "$HOST" '.[] | select(.name == $n) | .public_key')
dr_assert_contains "$(cat "$T/a1/node.key")" "$key1" "the scheduler has the node's own key"
dr_assert_eq "$(dr_cli -o json cluster join-token list -n jc | jq -r --arg i "$id" '.[] | select(.id == $i) | .uses')" 1 "one use spent"
jid=$(dr_cli job submit --cluster jc -- sh -c 'echo joined on $DROVER_NODE_NAME')
dr_wait_job_state "$jid" succeeded 30
dr_assert_contains "$(dr_cli job logs "$jid")" "joined on $HOST" "job ran on the joined node"

# ---- a restart needs no token, keeps its key ---------------------------------
dr_cli cluster join-token revoke -n jc "$id" >/dev/null
kill -TERM "$A1"
dr_wait_for "agent 1 exited" 15 bash -c "! kill -0 $A1 2>/dev/null"
dr_spawn "$T/a1b.log" "$DROVER_BIN/drover-agent" \
    --scheduler "$AGENT_EP" --scheduler-key "$SPUB" --work-dir "$T/a1"
dr_wait_for "$HOST back" 30 bash -c \
    "[[ \$('$DROVER_BIN/drover' -o json node list --cluster jc | jq -r '.[] | select(.name==\"$HOST\") | .state') == idle ]]"
dr_assert_eq "$(dr_cli -o json keys list | jq -r --arg n "$HOST" '.[] | select(.name == $n) | .public_key')" \
    "$key1" "same key after the restart"
if grep -q "join:" "$T/a1b.log"; then dr_fail "the restarted agent joined again"; fi

# ---- refusals ----------------------------------------------------------------
refused "$T/revoked.log" "revoked token" --join-token "$tok" --name n-rev --work-dir "$T/rev"
dr_assert_contains "$(cat "$T/revoked.log")" "was revoked" "revoked: reason"

exp=$(token -n jc --ttl 1s)
sleep 1.5
refused "$T/expired.log" "expired token" --join-token "$exp" --name n-exp --work-dir "$T/exp"
dr_assert_contains "$(cat "$T/expired.log")" "has expired" "expired: reason"

one=$(token -n jc --uses 1)
dr_spawn "$T/u1.log" "$DROVER_BIN/drover-agent" --join-token "$one" --name n-u1 \
    --scheduler "$AGENT_EP" --scheduler-key "$SPUB" --work-dir "$T/u1" --heartbeat-ms 500
dr_wait_for "n-u1 idle" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster jc | jq -r '.[] | select(.name==\"n-u1\") | .state') == idle ]]"
refused "$T/uses.log" "token past its uses" --join-token "$one" --name n-u2 --work-dir "$T/u2"
dr_assert_contains "$(cat "$T/uses.log")" "used 1 of 1 times" "uses: reason"

if timeout 20 "$DROVER_BIN/drover-agent" --scheduler "$AGENT_EP" --scheduler-key "$SPUB" \
    --join-token "not-a-token" --name n-bad --work-dir "$T/bad" >"$T/bad.log" 2>&1; then
    dr_fail "an agent started with a malformed token"
fi
dr_assert_contains "$(cat "$T/bad.log")" "malformed join token" "malformed: refused before connecting"
refused "$T/bad2.log" "wrong secret" --join-token "${one%%.*}.00000000000000000000000000000000" \
    --name n-bad2 --work-dir "$T/bad2"
dr_assert_contains "$(cat "$T/bad2.log")" "unknown join token" "wrong secret: reason"
grep -q "nor a join token's" "$T/scheduler.log" ||
    dr_fail "a wrong secret's connection was not refused at the handshake"

oth=$(token -n other)
refused "$T/cl.log" "another cluster's token" --join-token "$oth" --name n-cl --cluster jc \
    --work-dir "$T/cl"
dr_assert_contains "$(cat "$T/cl.log")" "is for cluster other, not jc" "cluster: reason"

many=$(token -n jc --uses 5)
refused "$T/dup.log" "a joined name with another key" --join-token "$many" --name n-u1 \
    --work-dir "$T/dup"
dr_assert_contains "$(cat "$T/dup.log")" "node name n-u1 is already joined with another key" \
    "taken name: reason"
dr_assert_eq "$(node_state n-u1)" idle "n-u1 unharmed"

# ---- an unknown key may send nothing but Join ----------------------------------
dr_cli keys generate --name stranger --dir "$T" >/dev/null
timeout 4 "$DROVER_BIN/drover-agent" --key "$T/stranger.key" --scheduler-key "$SPUB" \
    --scheduler "$AGENT_EP" --name stranger --cluster jc --vm-size Standard_D2_v2 \
    --cpus 2 --memory-mb 1024 --work-dir "$T/stranger" >"$T/stranger.log" 2>&1 || true
# refused at the handshake: a key that is neither a node's nor a token's
# join key never gets a connection, so it can never take a node's routing
# id (ROUTER_HANDOVER) either
dr_assert_contains "$(grep 'key .* (not a known agent key, nor a join token' "$T/scheduler.log" | head -1)" \
    "nor a join token's" "unknown key: refused at the handshake"
if grep -q "registered" "$T/stranger.log"; then dr_fail "the stranger registered"; fi
dr_assert_eq "$(dr_cli -o json node list | jq -r '.[].name' | grep -c stranger || true)" 0 \
    "no stranger node"
dr__pid_alive "$DR_SCHED_PID" || dr_fail "scheduler died"
dr_assert_eq "$(node_state "$HOST")" idle "joined node still there"

# ---- admins only; bad input ------------------------------------------------------
if dr_cli cluster join-token create -n nosuch >/dev/null 2>&1; then dr_fail "unknown cluster"; fi
if dr_cli cluster join-token create -n jc --ttl 0s >/dev/null 2>&1; then dr_fail "ttl 0"; fi
if dr_cli cluster join-token create -n jc --uses 0 >/dev/null 2>&1; then dr_fail "uses 0"; fi
if dr_cli cluster join-token revoke -n jc zzzzzz >/dev/null 2>&1; then dr_fail "unknown id"; fi
if dr_cli cluster join-token revoke -n other "$id" >/dev/null 2>&1; then
    dr_fail "revoked through another cluster"
fi
if "$DROVER_BIN/drover-agent" --join-token "$many" --scheduler "$AGENT_EP" --name x \
    --work-dir "$T/x" >"$T/nokey.log" 2>&1; then dr_fail "join without --scheduler-key"; fi
dr_assert_contains "$(cat "$T/nokey.log")" "--join-token needs --scheduler-key" "needs the key"
dr_pass "join tokens"
