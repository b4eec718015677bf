#!/usr/bin/env bash
# distribution: tensorflow (issue 16): worker_count workers (and
# parameter_server_count "ps" tasks) spread over the job's nodes, each
# started by drover with TF_CONFIG as Azure ML and TensorFlow's
# MultiWorkerMirroredStrategy expect.  TensorFlow is not in Debian 12, so
# each task is a stdlib Python program (tf_peers.py) that parses TF_CONFIG,
# listens on its own address:port and connects to every other task: a real
# all-to-all exchange over the addresses and ports drover chose.  2 nodes,
# from the CLI (3 workers + 1 ps; worker_count's default, one a node, as
# Azure ML), from a YAML file and over the HTTP API; each line names its
# node and rank; two jobs at once on the same nodes get ports apart; bad
# counts are refused.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[[ -x "$PY" ]] || { echo "SKIP: $PY is missing"; exit 77; }
PEERS="$(cd "$(dirname "$0")" && pwd)/tf_peers.py"
dr_setup
HP=$((CPORT + 7))
dr_start_scheduler --heartbeat-interval 500ms --http-listen "127.0.0.1:$HP"
dr_cli cluster create -n tf -s Standard_D2_v2 --min-nodes 0 --max-nodes 2 >/dev/null

# 3 workers and 1 parameter server on 2 nodes: 2 tasks on each
id=$(dr_cli job submit --cluster tf --name tf --nodes 2 --cpus 1 \
    --distribution tensorflow --worker-count 3 --parameter-server-count 1 \
    --max-retries 0 --time-limit 3m -- "$PY" "$PEERS")
dr_wait_job_state "$id" succeeded 180
logs=$(dr_cli job logs "$id")
echo "$logs" | sed 's/^/    | /'
js=$(dr_cli -o json job show "$id")
dr_assert_eq "$(jq -r '"\(.distribution) \(.worker_count) \(.parameter_server_count)"' <<<"$js")" \
    "tensorflow 3 1" "the job keeps its distribution and counts"
head=$(jq -r '.nodes[0]' <<<"$js")
other=$(jq -r '.nodes[1]' <<<"$js")
# tasks 0..3 are worker 0-2 then ps 0; node 0 runs tasks 0,1 and node 1 2,3
for want in "$head rank 0] tf task worker 0 of 3 workers 1 ps" \
    "$head rank 1] tf task worker 1 of 3 workers 1 ps" \
    "$other rank 2] tf task worker 2 of 3 workers 1 ps" \
    "$other rank 3] tf task ps 0 of 3 workers 1 ps"; do
    grep -qF "[$want" <<<"$logs" || dr_fail "no line '[$want ...'"
done
dr_assert_eq "$(grep -c ': peers 3 ok$' <<<"$logs")" 4 "every task reached the 3 others"
ports=$(grep -o 'at [0-9.]*:[0-9]*' <<<"$logs" | sort -u | wc -l)
dr_assert_eq "$ports" 4 "4 distinct address:port pairs"
grep -q '<stdout>\|<stderr>' <<<"$logs" && dr_fail "raw tags in the log"

# TF_CONFIG as Azure ML writes it, read back from one task
id2=$(dr_cli job submit --cluster tf --nodes 2 --distribution tensorflow --max-retries 0 \
    -- sh -c 'echo "CFG $TF_CONFIG"')
dr_wait_job_state "$id2" succeeded 60
c0=$(dr_cli job logs "$id2" | grep "rank 0\] CFG" | sed 's/.*CFG //')
dr_log "TF_CONFIG: $c0"
dr_assert_eq "$(jq -c '[.task, .environment, (.cluster | keys)]' <<<"$c0")" \
    '[{"type":"worker","index":0},"cloud",["worker"]]' "TF_CONFIG's task, environment and keys"
dr_assert_eq "$(jq -r '.cluster.worker | length' <<<"$c0")" 2 "worker_count defaults to the nodes"

# from a YAML file: Azure ML's tensorflow distribution
cat >"$T/tf.yml" <<YML
\$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
command: $PY $PEERS
compute: azureml:tf
resources:
  instance_count: 2
distribution:
  type: tensorflow
  worker_count: 2
display_name: tf-from-yaml
YML
id3=$(dr_cli job create -f "$T/tf.yml")
dr_wait_job_state "$id3" succeeded 120
dr_assert_eq "$(dr_cli job logs "$id3" | grep -c ': peers 1 ok$')" 2 "2 workers from a YAML job"

# two jobs at once on the same two nodes, which share this host: their
# tasks' ports never meet (the scheduler holds them per machine)
a=$(dr_cli job submit --cluster tf --nodes 2 --cpus 1 --distribution tensorflow \
    --worker-count 2 --max-retries 0 --time-limit 2m -- sh -c "sleep 2; exec $PY $PEERS")
b=$(dr_cli job submit --cluster tf --nodes 2 --cpus 1 --distribution tensorflow \
    --worker-count 2 --max-retries 0 --time-limit 2m -- sh -c "sleep 2; exec $PY $PEERS")
dr_wait_job_state "$a" succeeded 120
dr_wait_job_state "$b" succeeded 120
pa=$(dr_cli job logs "$a" | grep -o 'at [0-9.]*:[0-9]*' | sort)
pb=$(dr_cli job logs "$b" | grep -o 'at [0-9.]*:[0-9]*' | sort)
dr_log "ports: $(echo $pa) / $(echo $pb)"
dr_assert_eq "$(comm -12 <(echo "$pa") <(echo "$pb") | wc -l)" 0 "two concurrent jobs, no port in common"
overlap=$(dr_cli -o json job list | jq -r "[.[] | select(.id == $a or .id == $b)] | length")
dr_assert_eq "$overlap" 2 "both ran"

# ---- bad input ----
refused() { # WANT ARGS...
    local want=$1 out
    shift
    if out=$(dr_cli "$@" 2>&1); then dr_fail "accepted: $*"; fi
    dr_assert_contains "$out" "$want" "$*"
}
refused "between the nodes (2) and 256" job submit --cluster tf --nodes 2 \
    --distribution tensorflow --worker-count 1 -- true
refused "between the nodes (1) and 256" job submit --cluster tf \
    --distribution tensorflow --worker-count 300 -- true
refused "--worker-count is for --distribution tensorflow" job submit --cluster tf \
    --nodes 2 --distribution pytorch --worker-count 2 -- true
refused "--procs-per-node is not for --distribution tensorflow" job submit --cluster tf \
    --nodes 2 --distribution tensorflow --procs-per-node 2 -- true
refused "expected an integer from 1" job submit --cluster tf --distribution tensorflow \
    --worker-count 0 -- true
printf 'command: x\ncompute: tf\ndistribution:\n  type: tensorflow\n  process_count_per_instance: 2\n' >"$T/bad1.yml"
refused "bad1.yml:5: 'distribution.process_count_per_instance' is not a key of this distribution type" \
    job create -f "$T/bad1.yml"
printf 'command: x\ncompute: tf\ndistribution:\n  type: mpi\n  worker_count: 2\n' >"$T/bad2.yml"
refused "bad2.yml:5: 'distribution.worker_count' is not a key" job create -f "$T/bad2.yml"
printf 'command: x\ncompute: tf\ndistribution:\n  type: tensorflow\n  worker_count: two\n' >"$T/bad3.yml"
refused "'distribution.worker_count' must be an integer" job create -f "$T/bad3.yml"
dr_assert_eq "$(dr_cli -o json job list | jq length)" 5 "nothing else was queued"

# the HTTP API takes the same distribution and counts, and refuses the same
command -v curl >/dev/null || dr_fail "curl is needed"
TOK=$(dr_cli keys token create admin | awk '{print $NF}')
post() { curl -s -o "$T/out" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
    --data-binary "$1" "http://127.0.0.1:$HP/api/v1/jobs"; }
code=$(post '{"cluster":"tf","command":["true"],"node_count":2,"distribution":"tensorflow","worker_count":3,"parameter_server_count":1}')
dr_assert_eq "$code" 201 "a tensorflow job over HTTP: $(cat "$T/out")"
hid=$(jq -r .id "$T/out")
dr_assert_eq "$(dr_cli -o json job show "$hid" | jq -r '"\(.distribution) \(.worker_count) \(.parameter_server_count)"')" \
    "tensorflow 3 1" "its counts"
dr_wait_job_state "$hid" succeeded 60
code=$(post '{"cluster":"tf","command":["true"],"node_count":2,"distribution":"tensorflow","worker_count":300}')
dr_assert_eq "$code" 400 "300 workers over HTTP"
dr_assert_contains "$(cat "$T/out")" "between the nodes (2) and 256" "why"
code=$(post '{"cluster":"tf","command":["true"],"node_count":2,"distribution":"mpi","worker_count":2}')
dr_assert_eq "$code" 400 "worker_count for mpi over HTTP"
dr_assert_contains "$(cat "$T/out")" "tensorflow only" "why"
code=$(post '{"cluster":"tf","command":["true"],"distribution":"tensorflow","procs_per_node":2}')
dr_assert_eq "$code" 400 "procs_per_node for tensorflow over HTTP"
dr_assert_contains "$(cat "$T/out")" "procs_per_node is not for it" "why"
code=$(post '{"cluster":"tf","command":["true"],"distribution":"tensorflow","worker_count":"two"}')
dr_assert_eq "$code" 400 "a string worker_count over HTTP"
dr_assert_eq "$(dr_cli -o json job list | jq length)" 6 "only the good one was queued"
dr_pass
