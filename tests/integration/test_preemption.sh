#!/usr/bin/env bash
# Low-priority preemption, agent side.  A local scheduled-events endpoint
# (Azure instance-metadata form) answers no events until a trigger file
# names a node; then a Preempt event for it.  The node's agent reports
# NodePreempted and TERMs its job (which prints "got TERM"); the scheduler
# requeues the job as preempted (not a failure: max retries 0 still runs
# it again) on a replacement node.  Then the same through the drill,
# `drover node preempt NODE`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
command -v python3 >/dev/null || dr_fail "python3 is not installed"

# ---- the scheduled-events endpoint ------------------------------------------
trigger="$T/preempt-node"
cat >"$T/events_server.py" <<'EOF'
import http.server, json, os, sys

trigger, portfile = sys.argv[1], sys.argv[2]

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if not self.path.startswith("/metadata/scheduledevents") or \
                self.headers.get("Metadata") != "true":
            self.send_response(400)
            self.end_headers()
            return
        doc = {"DocumentIncarnation": 1, "Events": []}
        if os.path.exists(trigger):
            node = open(trigger).read().strip()
            doc = {"DocumentIncarnation": 2, "Events": [{
                "EventId": "EV-" + node, "EventType": "Preempt",
                "ResourceType": "VirtualMachine", "Resources": [node],
                "EventStatus": "Scheduled",
                "NotBefore": "Mon, 19 Sep 2016 18:29:47 GMT"}]}
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass

srv = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
EOF
dr_spawn "$T/events_server.log" python3 "$T/events_server.py" "$trigger" "$T/events.port"
dr_wait_for "scheduled-events server" 10 test -s "$T/events.port"
SPORT=$(cat "$T/events.port")
url="http://127.0.0.1:$SPORT/metadata/scheduledevents?api-version=2020-07-01"
dr_log "scheduled events at $url"

dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 5s \
    --scheduled-events-url "$url"
dr_cli cluster create -n low -s Standard_D2_v2 --min-nodes 1 --max-nodes 2 \
    --vm-priority lowpriority >/dev/null
idle_nodes() {
    dr_cli -o json node list --cluster low |
        jq '[.[] | select(.state=="idle")] | length'
}
dr_wait_for "an idle node" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster low | jq '[.[] | select(.state==\"idle\")] | length') -ge 1 ]]"

# shellcheck disable=SC2016 # expanded by the job's shell
job_cmd='trap "echo got TERM; exit 143" TERM; echo start $DROVER_ATTEMPT; sleep 6 & wait; echo done'

# run_and_preempt HOW: a job on a node, preempted HOW (event | drill);
# checks the requeue and the second attempt on another node.
run_and_preempt() {
    local how=$1 id first js second logs
    id=$(dr_cli job submit --cluster low --cpus 2 --max-retries 0 -- \
        sh -c "$job_cmd")
    dr_wait_job_state "$id" running 30
    first=$(dr_cli -o json job show "$id" | jq -r '.nodes[0]')
    # the trap is set once the job has printed
    dr_wait_for "job $id started" 20 bash -c "'$DROVER_BIN/drover' job logs $id | grep -q 'start 1'"
    # the agent of a low-priority node polls the endpoint
    grep -q -- "--scheduled-events-url" <(ps -o args= -p "$(pgrep -o -f "[d]rover-agent .*--name $first ")") ||
        dr_fail "agent of $first was not given --scheduled-events-url"
    if [[ "$how" == event ]]; then
        dr_log "Preempt scheduled event for $first (job $id)"
        echo "$first" >"$trigger"
    else
        dr_log "preemption drill on $first (job $id)"
        dr_cli node preempt "$first" >/dev/null
    fi
    dr_wait_job_state "$id" succeeded 60
    js=$(dr_cli -o json job show "$id")
    dr_assert_eq "$(jq -r .preemptions <<<"$js")" 1 "$how: preemptions"
    dr_assert_eq "$(jq -r .attempts <<<"$js")" 2 "$how: attempts"
    dr_assert_eq "$(jq -r .max_retries <<<"$js")" 0 "$how: max retries"
    second=$(jq -r '.nodes[0]' <<<"$js")
    [[ "$second" != "$first" ]] || dr_fail "$how: ran again on the preempted node $first"
    logs=$(dr_cli job logs "$id")
    dr_assert_contains "$logs" "start 1" "$how: first attempt"
    dr_assert_contains "$logs" "got TERM" "$how: the job saw SIGTERM"
    dr_assert_contains "$logs" "start 2" "$how: second attempt"
    dr_assert_contains "$logs" "done" "$how: second attempt finished"
    local ev
    ev=$(dr_cli -o json cluster events -n low | jq -r '.[] | .kind + " " + .node + " " + .message')
    dr_assert_contains "$ev" "node_preempted $first" "$how: node_preempted event"
    if [[ "$how" == event ]]; then
        dr_assert_contains "$ev" "Preempt scheduled event EV-$first" "$how: event id in the reason"
    else
        dr_assert_contains "$ev" "preempt_drill $first" "$how: drill event"
    fi
    # the preempted node is released; its agent ends
    dr_wait_for "$first released" 30 bash -c "! '$DROVER_BIN/drover' -o json node list | jq -e '.[] | select(.name==\"$first\")'"
    dr_wait_for "agent of $first gone" 20 bash -c "! pgrep -f '[d]rover-agent .*--name $first '"
    grep -q "preempted: $([[ $how == event ]] && echo "Preempt scheduled event EV-$first" || echo "preemption drill")" \
        "$T/state/nodes/$first.log" || dr_fail "$how: agent log of $first has no preemption line"
}

run_and_preempt event
run_and_preempt drill
dr_pass
