#!/usr/bin/env bash
# Azure ML v2 YAML files (issue 16): `drover cluster create -f compute.yml`
# (Azure ML's own example, a file with only name and type given Azure ML's
# defaults, a low-priority one with a system-assigned identity) and
# `drover job create -f job.yml` (the hello-world job, inputs and outputs
# substituted into the command, environment variables, tags, a time limit;
# a PyTorch DDP job across 2 nodes x 2 processes).  Bad files get
# "FILE:LINE: ..." naming the key: invalid YAML, an unknown key, a wrong
# type, ${{inputs.missing}}, an Azure ML environment drover cannot have.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
Y="$(cd "$(dirname "$0")" && pwd)/yaml"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms

# ---- compute files ----
dr_cli cluster create -f "$Y/compute.yml" >/dev/null
js=$(dr_cli -o json cluster show -n cpu-cluster)
dr_assert_eq "$(jq -r .vm_size <<<"$js")" Standard_DS3_v2 "size (the catalog's spelling)"
dr_assert_eq "$(jq -r '"\(.min_nodes) \(.max_nodes) \(.idle_seconds_before_scaledown)"' <<<"$js")" \
    "0 2 120" "min, max, idle"
dr_cli cluster create -f "$Y/compute-minimal.yml" >/dev/null
js=$(dr_cli -o json cluster show -n minimal-cluster)
dr_assert_eq "$(jq -r '"\(.vm_size) \(.min_nodes) \(.max_nodes) \(.idle_seconds_before_scaledown) \(.vm_priority)"' <<<"$js")" \
    "Standard_DS3_v2 0 1 120 dedicated" "Azure ML's defaults"
dr_cli cluster create -f "$Y/compute-lowpri.yml" >/dev/null
js=$(dr_cli -o json cluster show -n low-pri-example)
dr_assert_eq "$(jq -r .vm_priority <<<"$js")" lowpriority "tier: low_priority"
dr_assert_contains "$(jq -c . <<<"$js")" "system" "identity: system_assigned"

# ---- job files ----
out=$(dr_cli job create -f "$Y/hello.yml" --wait 2>/dev/null)
id=$(head -1 <<<"$out")
dr_assert_eq "$(dr_job_state "$id")" succeeded "hello world"
dr_assert_contains "$(dr_cli job logs "$id")" "hello world" "its output"
dr_assert_eq "$(dr_cli -o json job show "$id" | jq -r .name)" hello-world "display_name"

id=$(dr_cli job create -f "$Y/inputs.yml")
dr_wait_job_state "$id" succeeded 60
logs=$(dr_cli job logs "$id")
dr_assert_contains "$logs" "greeting hi count 3 data /tmp" "inputs substituted"
dr_assert_contains "$logs" "MY_VAR=my-value tag=ml-platform" "environment variables and tags"
dr_assert_contains "$logs" "result" "an output folder"
dr_assert_eq "$(dr_cli -o json job show "$id" | jq -r .time_limit_s)" 600 "limits.timeout"

# a PyTorch DDP job from a file (with python3-torch)
if /usr/bin/python3 -c 'import torch.distributed as d; assert d.is_gloo_available()' 2>/dev/null; then
    cat >"$T/ddp.yml" <<YML
\$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
command: /usr/bin/python3 $(dirname "$Y")/ddp_train.py
compute: azureml:cpu-cluster
resources:
  instance_count: 2
distribution:
  type: pytorch
  process_count_per_instance: 2
display_name: ddp-from-yaml
YML
    id=$(dr_cli job create -f "$T/ddp.yml")
    dr_wait_job_state "$id" succeeded 240
    dr_assert_eq "$(dr_cli job logs "$id" | grep -c ' ddp rank ')" 4 "4 DDP ranks from a YAML job"
    dr_assert_eq "$(dr_cli job logs "$id" | grep ' ddp rank ' | awk '{print $NF}' | sort -u | wc -l)" 1 \
        "the same weights on every rank"
else
    dr_fail "python3-torch with gloo is needed (apt-get install python3-torch)"
fi

# ---- bad files: the file, the line, the key ----
bad() { # FILE WANT...
    local f=$1 out
    shift
    if out=$(dr_cli job create -f "$Y/$f" 2>&1); then dr_fail "$f was accepted"; fi
    for w in "$@"; do dr_assert_contains "$out" "$w" "$f"; done
}
bad bad-yaml.yml "bad-yaml.yml:" "invalid YAML"
bad bad-key.yml "bad-key.yml:5:" "unknown key 'instance_colour' in resources"
bad bad-top.yml "bad-top.yml:3:" "unknown key 'colour'"
bad bad-type.yml "bad-type.yml:4:" "'resources.instance_count' must be an integer"
bad bad-input.yml "bad-input.yml:1:" "'\${{inputs.missing}}' names no input"
bad bad-env.yml "bad-env.yml:3:" "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest" "cannot have"
if out=$(dr_cli job create -f "$T/none.yml" 2>&1); then dr_fail "a missing file"; fi
dr_assert_contains "$out" "No such file" "a missing file"
printf 'name: x\ntype: kubernetes\n' >"$T/k.yml"
if out=$(dr_cli cluster create -f "$T/k.yml" 2>&1); then dr_fail "a kubernetes compute"; fi
dr_assert_contains "$out" "type 'kubernetes' is not supported" "compute type"
dr_assert_eq "$(dr_cli -o json cluster list | jq length)" 3 "nothing created by a bad file"
dr_pass
