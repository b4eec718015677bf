#!/usr/bin/env bash
# The local endpoint: a unix socket (--local-socket, by default
# <state-dir>/drover.sock) on which the kernel names each client
# (SO_PEERCRED) and no CURVE key is needed.  The scheduler's own uid and
# root are admin; another local user is the drover user of its login name,
# with that user's role, or is refused with the command that registers it.
# A job submitted there is as durable as one over TCP; garbage on the
# socket and bad options leave the scheduler running or refuse to start.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 5s \
    --autoscale-interval 200ms
SOCK=$T/state/drover.sock
LOCAL=ipc://$SOCK
dr_assert_eq "$(stat -c %F:%a "$SOCK")" "socket:666" "the socket, open to local users"
dr_assert_contains "$(cat "$T/scheduler.log")" "and $LOCAL" "the log names it"

# no key at all: this uid is the scheduler's, so admin
lc() { DROVER_HOME= DROVER_KEY= DROVER_SCHEDULER_KEY= DROVER_SCHEDULER=$LOCAL \
    DROVER_TIMEOUT_MS=5000 "$DROVER_BIN/drover" "$@"; }
lc cluster create -n loc -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null
up() { [[ $(lc -o json node list --cluster loc | jq '[.[] | select(.state=="idle")] | length') == 1 ]]; }
dr_wait_for "the node of a cluster made over the local socket" 30 up
id=$(lc job submit --cluster loc -- sh -c 'echo over the local socket')
dr_wait_job_state "$id" succeeded 30
dr_assert_contains "$(lc job logs "$id")" "over the local socket" "its output"
dr_assert_eq "$(dr_cli -o json job show "$id" | jq -r .owner)" admin "the owner uid is admin"
# --wait gets its reply through the local socket too
dr_assert_eq "$(lc job submit --cluster loc --wait -- true >/dev/null; echo $?)" 0 "--wait"

# a stale path: a clear error at once, not a timeout
if out=$(DROVER_SCHEDULER=ipc://$T/nope DROVER_TIMEOUT_MS=20000 "$DROVER_BIN/drover" job list 2>&1); then
    dr_fail "a missing socket answered"
fi
dr_assert_contains "$out" "no scheduler socket at $T/nope" "missing socket"

# garbage on the socket: the scheduler keeps answering
python3 - "$SOCK" <<'EOF'
import os, socket, sys
for junk in (b"\xff" * 64, os.urandom(4096), b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f" + os.urandom(200)):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    try:
        s.sendall(junk)
    except OSError:
        pass
    s.close()
EOF
dr_assert_eq "$(lc -o json cluster list | jq -r '.[0].name')" loc "answers after garbage"

# another local user: refused until registered, then that user's role
if [[ $(id -u) != 0 ]] || ! command -v useradd >/dev/null; then
    echo "SKIP: the other-user part needs root and useradd"
    exit 0
fi
U=drlocal$$
useradd -M -r -s /usr/sbin/nologin "$U"
dr_defer userdel "$U"
chmod o+x "$T" "$T/state"
as_u() { runuser -u "$U" -- env DROVER_HOME= DROVER_SCHEDULER=$LOCAL \
    DROVER_TIMEOUT_MS=5000 "$DROVER_BIN/drover" "$@"; }
if out=$(as_u job list 2>&1); then dr_fail "an unregistered local user got in"; fi
dr_assert_contains "$out" "local user $U (uid $(id -u "$U")) is not a drover user" "unregistered user refused"
dr_assert_contains "$out" "drover keys add-user $U" "with the command that registers it"
dr_cli keys generate --name "$U" --dir "$T" >/dev/null
dr_cli keys add-user "$U" --role user "$T/$U.pub" >/dev/null
uid=$(as_u job submit --cluster loc -- sh -c 'echo mine')
dr_wait_job_state "$uid" succeeded 30
dr_assert_eq "$(dr_cli -o json job show "$uid" | jq -r .owner)" "$U" "the job is the user's"
if out=$(as_u cluster create -n x -s Standard_D2_v2 2>&1); then dr_fail "a user-role local user made a cluster"; fi
dr_assert_contains "$out" "needs the admin role" "the user role holds"
if out=$(as_u job logs "$id" 2>&1); then dr_fail "a local user read admin's logs"; fi
dr_assert_contains "$out" "permission denied" "another's logs refused"
dr_cli keys revoke "$U" >/dev/null
if out=$(as_u job list 2>&1); then dr_fail "a revoked local user got in"; fi
dr_assert_contains "$out" "is not a drover user" "revoked: refused at the next message"

# a job acknowledged over the local socket survives kill -9
hid=$(lc job submit --cluster loc -- sleep 60)
kill -9 "$DR_SCHED_PID"
dr__wait_sched_exit 10 || dr_fail "the scheduler did not die"
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 5s
st=$(lc -o json job show "$hid" | jq -r .state)
[[ "$st" =~ ^(queued|starting|running)$ ]] || dr_fail "job $hid after kill -9: '$st'"
lc job cancel "$hid" >/dev/null
dr_stop_scheduler

# bad values of --local-socket are refused at start; none turns it off
if "$DROVER_BIN/drover-scheduler" --state-dir "$T/s2" --local-socket rel.sock \
    --client-endpoint "$DROVER_SCHEDULER" --agent-endpoint "$AGENT_EP" >"$T/bad.log" 2>&1; then
    dr_fail "a relative --local-socket was taken"
fi
dr_assert_contains "$(cat "$T/bad.log")" "local-socket 'rel.sock': give an absolute path" "relative path"
long=/tmp/$(printf 'x%.0s' $(seq 120))
if "$DROVER_BIN/drover-scheduler" --state-dir "$T/s2" --local-socket "$long" \
    --client-endpoint "$DROVER_SCHEDULER" --agent-endpoint "$AGENT_EP" >"$T/bad.log" 2>&1; then
    dr_fail "a socket path over 107 bytes was taken"
fi
dr_assert_contains "$(cat "$T/bad.log")" "local-socket" "too long a path"
dr_start_scheduler --local-socket none
[[ ! -e "$SOCK" ]] || dr_fail "--local-socket none left a socket"
dr_pass
