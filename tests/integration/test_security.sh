#!/usr/bin/env bash
# CURVE by default: only known keys get in (users with a role, agents bound
# to their node name); ownership and admin checks; revocation; secret key
# files that others can read are refused.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 5s \
    --autoscale-interval 200ms
K=$T/state/keys
SPUB=$K/scheduler.pub
dr_assert_eq "$(stat -c %a "$K/scheduler.key")" 600 "scheduler secret key mode"
dr_assert_eq "$(stat -c %a "$K/admin.key")" 600 "admin secret key mode"
dr_cli cluster create -n sec -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null
up() { [[ $(dr_cli -o json node list --cluster sec | jq '[.[] | select(.state=="idle")] | length') == 1 ]]; }
dr_wait_for "the node, with its own key, registered over CURVE" 30 up

# a scheduler key FILE whose path is exactly 40 characters (the length of
# a Z85 key) is read as a file, not taken for a key
p40=$T/
while ((${#p40} < 40)); do p40+=k; done
cp "$SPUB" "$p40"
dr_assert_eq "${#p40}" 40 "path of 40 characters"
dr_assert_eq "$(DROVER_SCHEDULER_KEY="$p40" DROVER_TIMEOUT_MS=3000 dr_cli -o json cluster list | jq -r '.[0].name')" \
    sec "CLI with a 40-character key path"

as() { # as NAME ARGS...: drover with NAME's key
    local who=$1
    shift
    DROVER_HOME= DROVER_KEY="$T/$who.key" DROVER_SCHEDULER_KEY="$SPUB" \
        DROVER_TIMEOUT_MS=2000 "$DROVER_BIN/drover" "$@"
}
for u in alice bob mallory; do dr_cli keys generate --name $u --dir "$T" >/dev/null; done
dr_assert_eq "$(stat -c %a "$T/alice.key")" 600 "generated secret key mode"
dr_cli keys add-user alice --role user "$T/alice.pub" >/dev/null
dr_cli keys add-user bob --role user "$T/bob.pub" >/dev/null
dr_assert_eq "$(dr_cli -o json keys list | jq -r '[.[] | .name + ":" + .role] | sort | join(" ")')" \
    "admin:admin alice:user bob:user sec-1:" "key list"

# unknown key and the NULL mechanism are refused
if out=$(as mallory cluster list 2>&1); then dr_fail "an unknown key was let in"; fi
dr_assert_contains "$out" "did not answer" "unknown key refused"
if out=$(DROVER_TIMEOUT_MS=2000 dr_cli --insecure cluster list 2>&1); then dr_fail "NULL mechanism let in"; fi
refusals() { sqlite3 "$T/state/drover.db" "select count(*) from events where kind='auth_refused'"; }
refused_logged() { (( $(refusals) >= 1 )); }
dr_wait_for "the refusals written as events" 5 refused_logged

# roles and ownership
if out=$(as alice cluster create -n mine -s Standard_D2_v2 2>&1); then dr_fail "non-admin created a cluster"; fi
dr_assert_contains "$out" "needs the admin role" "non-admin cluster create"
if out=$(as alice quota set --family standardDv2Family --cores 4 2>&1); then dr_fail "non-admin set a quota"; fi
id=$(as alice job submit --cluster sec -- sh -c 'echo secret of alice; sleep 30')

dr_wait_job_state "$id" running 30
if out=$(as bob job cancel "$id" 2>&1); then dr_fail "bob cancelled alice's job"; fi
dr_assert_contains "$out" "belongs to alice" "cancel of another's job refused"
if out=$(as bob job logs "$id" 2>&1); then dr_fail "bob read alice's logs"; fi
dr_assert_contains "$out" "permission denied" "logs of another's job refused"
dr_assert_contains "$(as alice job logs "$id")" "secret of alice" "the owner reads her logs"
as alice job cancel "$id" >/dev/null
dr_wait_job_state "$id" canceled 30

# revocation: new connections refused at once
dr_cli keys revoke bob >/dev/null
if as bob cluster list >/dev/null 2>&1; then dr_fail "revoked key let in"; fi

# an agent can speak only for its own node
dr_cli keys generate --name evil-1 --dir "$T" >/dev/null
dr_cli keys add-agent evil-1 "$T/evil-1.pub" >/dev/null
timeout 4 "$DROVER_BIN/drover-agent" --key "$T/evil-1.key" --scheduler-key "$SPUB" \
    --scheduler "$AGENT_EP" --name victim-1 --cluster sec --vm-size Standard_D2_v2 \
    --cpus 2 --memory-mb 1024 --work-dir "$T/evil" >"$T/evil.log" 2>&1 || true
dr_assert_contains "$(cat "$T/evil.log")" "may not speak for node victim-1" "impersonation refused"
dr_assert_eq "$(dr_cli -o json node list | jq -r '.[].name' | grep -c victim || true)" 0 "no victim node"
dr_assert_contains "$(sqlite3 "$T/state/drover.db" "select message from events where kind='refused'")" \
    "evil-1 may not speak for node victim-1" "impersonation event"

# revoking a live node's key: the node is dropped at once and its agent's
# next message is refused
node=$(dr_cli -o json node list --cluster sec | jq -r '.[0].name')
apid=$(pgrep -o -f "[d]rover-agent .*--name $node ")
dr_cli keys revoke "$node" >/dev/null
gone() { [[ -z "$(dr_cli -o json node list | jq -r ".[] | select(.name==\"$node\") | .name")" ]]; }
dr_wait_for "the revoked node removed" 5 gone
sleep 2
if kill -0 "$apid" 2>/dev/null; then
    dr_assert_contains "$(cat "$T/state/nodes/$node.log")" "key revoked or unknown" "live agent session refused"
fi

# a secret key file others can read is refused at start
dr_stop_scheduler || true
chmod 644 "$K/scheduler.key"
rc=0
out=$("$DROVER_BIN/drover-scheduler" --state-dir "$T/state" --client-endpoint "$DROVER_SCHEDULER" \
    --agent-endpoint "$AGENT_EP" 2>&1) || rc=$?
((rc != 0)) || dr_fail "scheduler started with a 0644 secret key"
dr_assert_contains "$out" "readable by group or others (mode 0644)" "scheduler key mode refused"
chmod 644 "$T/alice.key"
rc=0
out=$("$DROVER_BIN/drover-agent" --key "$T/alice.key" --scheduler-key "$SPUB" --name x \
    --cluster sec --vm-size Standard_D2_v2 --cpus 1 --memory-mb 100 2>&1) || rc=$?
dr_assert_eq "$rc" 2 "agent exit code with a 0644 key"
dr_assert_contains "$out" "chmod 600" "agent key mode refused"
if out=$(DROVER_KEY="$T/alice.key" DROVER_SCHEDULER_KEY="$SPUB" DROVER_HOME= "$DROVER_BIN/drover" cluster list 2>&1); then
    dr_fail "CLI used a 0644 key"
fi
dr_assert_contains "$out" "chmod 600" "CLI key mode refused"
chmod 600 "$K/scheduler.key"

dr_pass
