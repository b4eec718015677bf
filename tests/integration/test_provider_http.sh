#!/usr/bin/env bash
# The http provider: JSON create/delete requests to a small local HTTP
# service started by this test (it starts and stops agents on this host);
# answers are validated: a service that answers garbage leaves the error on
# the cluster and no node behind.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
command -v python3 >/dev/null || dr_fail "python3 is needed for the test's HTTP service"
HP=$((APORT + 7))
cat >"$T/svc.py" <<'PY'
import json, os, signal, subprocess, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
port, mode, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
agents = {}
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n))
        with open(log, "a") as f:
            f.write("%s %s %s\n" % (req["action"], req["node"], req["vm_size"]))
        if mode == "garbage":
            body = b"<html>this is not json</html>"
        else:
            if req["action"] == "create":
                agents[req["node"]] = subprocess.Popen([
                    os.environ["DROVER_BIN"] + "/drover-agent",
                    "--scheduler", req["agent_endpoint"], "--name", req["node"],
                    "--cluster", req["cluster"], "--vm-size", req["vm_size"],
                    "--cpus", "2", "--memory-mb", "7168", "--heartbeat-ms", "500",
                    "--work-dir", os.path.dirname(log) + "/http-nodes/" + req["node"]]
                    + (["--join-token", req["join_token"], "--scheduler-key",
                        req["scheduler_key"]] if "join_token" in req else []),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            elif req["node"] in agents:
                agents.pop(req["node"]).send_signal(signal.SIGTERM)
            body = json.dumps({"ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
dr_spawn "$T/svc.log" python3 "$T/svc.py" "$HP" good "$T/requests.log"
dr_spawn "$T/svc2.log" python3 "$T/svc.py" "$((HP + 1))" garbage "$T/requests2.log"
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 5s \
    --autoscale-interval 200ms
dr_cli cluster create -n web -s Standard_D2_v2 --max-nodes 1 \
    --idle-seconds-before-scaledown 1 --provider http \
    --provider-url "http://127.0.0.1:$HP/nodes" >/dev/null
id=$(dr_cli job submit --cluster web -- sh -c 'echo via http on $DROVER_NODE_NAME')
dr_wait_job_state "$id" succeeded 60
dr_assert_contains "$(dr_cli job logs "$id")" "via http on web-1" "job ran on the http node"
zero() { [[ $(dr_cli -o json cluster show -n web | jq -r .current_nodes) == 0 ]]; }
dr_wait_for "scale-in to 0" 30 zero
reqs=$(cat "$T/requests.log")
dr_assert_contains "$reqs" "create web-1 Standard_D2_v2" "create request"
dr_assert_contains "$reqs" "delete web-1 Standard_D2_v2" "delete request"

dr_cli cluster create -n junk -s Standard_D2_v2 --max-nodes 1 --provider http \
    --provider-url "http://127.0.0.1:$((HP + 1))/nodes" >/dev/null
jid=$(dr_cli job submit --cluster junk -- true)
bad_answer() { dr_cli -o json cluster show -n junk | jq -r '.errors[]' | grep -q "not a JSON object"; }
dr_wait_for "the invalid answer on the cluster" 30 bad_answer
# a failing provider is retried with backoff, not every tick
creates=$(grep -c '^create junk-' "$T/requests2.log")
sleep 3
dr_assert_eq "$(($(grep -c '^create junk-' "$T/requests2.log") - creates <= 2))" 1 \
    "create retried with backoff"
dr_assert_contains "$(dr_cli -o json job show "$jid" | jq -r .reason)" \
    "provider http failed" "the job says why it waits"
dr_cli job cancel "$jid" >/dev/null
none() { [[ $(dr_cli -o json node list --cluster junk | jq length) == 0 ]]; }
dr_wait_for "no node left behind" 10 none
# an endpoint nobody listens on: retried with backoff, then the error
dr_cli cluster create -n gone -s Standard_D2_v2 --max-nodes 1 --provider http \
    --provider-url "http://127.0.0.1:1/nodes" >/dev/null
gid=$(dr_cli job submit --cluster gone -- true)
unreachable() { dr_cli -o json cluster show -n gone | jq -r '.errors[]' | grep -q "after 3 tries"; }
dr_wait_for "the unreachable endpoint on the cluster" 30 unreachable
dr_cli job cancel "$gid" >/dev/null
dr_pass
