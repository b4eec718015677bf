#!/usr/bin/env bash
# `drover job show ID -o yaml` (issue 16) prints a job back as an Azure ML
# v2 command job file that `drover job create -f` takes again: for jobs
# made from files (inputs, outputs, environment variables, tags, a time
# limit; tensorflow and mpi distributions; an image; strings with quotes,
# newlines, '#' and ': '), the job made from the printed file has the same
# spec (`-o json`), and printing that one gives the same file.  A job from
# flags comes back as a shell command that does the same, with what Azure
# ML's file has no key for listed in a comment.  -o yaml elsewhere is
# refused.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
Y="$(cd "$(dirname "$0")" && pwd)/yaml"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms
dr_cli cluster create -n cpu-cluster -s Standard_D2_v2 --min-nodes 0 --max-nodes 2 >/dev/null

spec() { # ID: what a job file decides, as -o json shows it
    dr_cli -o json job show "$1" | jq -S '{name, cluster, command, env, cpus, memory_mb,
        node_count, procs_per_node, distribution, worker_count, parameter_server_count,
        image, time_limit_s, gpus, priority, max_retries}'
}
roundtrip() { # FILE WHAT
    local id id2 n=$((++RT))
    id=$(dr_cli job create -f "$1")
    dr_cli -o yaml job show "$id" >"$T/rt$n.yml"
    id2=$(dr_cli job create -f "$T/rt$n.yml") ||
        dr_fail "$2: the printed file was refused: $(cat "$T/rt$n.yml")"
    dr_assert_eq "$(spec "$id2")" "$(spec "$id")" "$2: the same spec"
    dr_cli -o yaml job show "$id2" | tail -n +2 >"$T/rt$n-again.yml"
    dr_assert_eq "$(cat "$T/rt$n-again.yml")" "$(tail -n +2 "$T/rt$n.yml")" "$2: the same file again"
    RT_ID=$id2
}
RT=0

roundtrip "$Y/inputs.yml" "inputs, outputs, env, tags, timeout"
dr_wait_job_state "$RT_ID" succeeded 60
dr_assert_contains "$(dr_cli job logs "$RT_ID")" "MY_VAR=my-value tag=ml-platform" "the re-created job runs as the first"
grep -q '^  team: "ml-platform"$' "$T/rt1.yml" || dr_fail "tags come back as tags"
roundtrip "$Y/hello.yml" "Azure ML's hello world"

cat >"$T/tf.yml" <<'YML'
command: python3 train.py --epochs 2
compute: azureml:cpu-cluster
resources:
  instance_count: 2
distribution:
  type: tensorflow
  worker_count: 3
  parameter_server_count: 1
YML
roundtrip "$T/tf.yml" "tensorflow"
grep -q '^  worker_count: 3$' "$T/rt3.yml" || dr_fail "worker_count written"

cat >"$T/mpi.yml" <<'YML'
command: |
  echo "a \"quoted\" word: and # not a comment"
  printf '%s\n' 'back\slash' "tab	here"
environment:
  image: busybox:latest
compute: cpu-cluster
resources:
  instance_count: 2
distribution:
  type: mpi
  process_count_per_instance: 2
environment_variables:
  ODD: "value: with \"quotes\", a # and a \\ and\nnewline"
  EMPTY: ""
limits:
  timeout: 90
display_name: odd-strings
YML
roundtrip "$T/mpi.yml" "mpi, image, odd strings"
dr_cli job cancel "$RT_ID" >/dev/null 2>&1 || true

# a job from flags: its argv as a shell command that does the same
id=$(dr_cli job submit --cluster cpu-cluster --cpus 2 --priority 3 --max-retries 0 \
    -- printf '%s|' "a b" "it's" '$HOME' '')
dr_wait_job_state "$id" succeeded 60
dr_cli -o yaml job show "$id" >"$T/flags.yml"
sed 's/^/    | /' "$T/flags.yml"
grep -q '^# not carried .*: cpus 2, priority 3$' "$T/flags.yml" || dr_fail "what has no key is named"
id2=$(dr_cli job create -f "$T/flags.yml")
dr_wait_job_state "$id2" succeeded 60
dr_assert_eq "$(dr_cli job logs "$id2")" "$(dr_cli job logs "$id")" "the printed command does what the argv did"
dr_assert_eq "$(dr_cli job logs "$id")" "a b|it's|\$HOME||" "(what it did)"

# -o yaml is job show's only
if out=$(dr_cli -o yaml job list 2>&1); then dr_fail "-o yaml for job list"; fi
dr_assert_contains "$out" "-o yaml is for \`drover job show ID\` only" "-o yaml elsewhere"
if out=$(dr_cli job list -o yaml 2>&1); then dr_fail "-o yaml among job list's options"; fi
dr_assert_contains "$out" "-o yaml is for \`drover job show ID\` only" "-o yaml among a command's options"
dr_assert_eq "$(dr_cli job show "$id" -o yaml)" "$(cat "$T/flags.yml")" "-o yaml among job show's options"
if out=$(dr_cli -o xml job show "$id" 2>&1); then dr_fail "-o xml"; fi
dr_assert_contains "$out" "unknown output format 'xml'" "an unknown format"
if out=$(dr_cli -o yaml job show 999999 2>&1); then dr_fail "an unknown job"; fi
dr_assert_contains "$out" "999999" "an unknown job is named"
dr_pass
