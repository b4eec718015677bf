#!/usr/bin/env bash
# Azure ML v2 YAML files (issue 16): `drover cluster create -f compute.yml`
# (Azure ML's own example, a file with only name and type given Azure ML's
# defaults, a low-priority one with a system-assigned identity) and
# `drover job create -f job.yml` (the hello-world job, inputs and outputs
# substituted into the command, environment variables, tags, a time limit;
# a PyTorch DDP job across 2 nodes x 2 processes).  Bad files get
# "FILE:LINE: ..." naming the key: invalid YAML, an unknown key, a wrong
# type, ${{inputs.missing}}, an Azure ML environment drover cannot have.
# Then Azure ML's own example files, as written (yaml/azure/, each naming
# its origin in Azure/azureml-examples): the compute files are accepted
# with Azure ML's defaults, location and identity in their v2 shapes; the
# job files are accepted, or refused in one line naming the Azure ML
# environment or data asset drover cannot have (ssh_settings likewise).
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

# ---- Azure ML's own examples, as written (yaml/azure/, origins inside) ----
A="$Y/azure"
compute_ok() { # FILE NAME JQ WANT: accepted with Azure ML's defaults, then deleted
    dr_cli cluster create -f "$A/$1" >/dev/null || dr_fail "$1 was refused"
    dr_assert_eq "$(dr_cli -o json cluster show -n "$2" | jq -r "$3")" "$4" "$1"
    dr_cli cluster delete -n "$2" >/dev/null
}
compute_ok cluster-basic.yml basic-example '"\(.vm_size) \(.min_nodes) \(.max_nodes) \(.idle_seconds_before_scaledown)"' \
    "Standard_DS3_v2 0 2 120"
compute_ok cluster-minimal.yml minimal-example '"\(.vm_size) \(.min_nodes) \(.max_nodes) \(.vm_priority)"' \
    "Standard_DS3_v2 0 1 dedicated"
compute_ok cluster-location.yml location-example .location westus
dr_cli cluster delete -n low-pri-example >/dev/null # the same name as compute-lowpri.yml's
compute_ok cluster-low-priority.yml low-pri-example .vm_priority lowpriority
compute_ok cluster-system-identity.yml basic-example .identity system
compute_ok cluster-user-identity.yml basic-example .identity identity_resource_id
if out=$(dr_cli cluster create -f "$A/cluster-ssh-password.yml" 2>&1); then dr_fail "ssh_settings accepted"; fi
dr_assert_contains "$out" "cluster-ssh-password.yml:11: ssh_settings: drover's nodes open no SSH" "ssh_settings refused, why said"

job_ok() { # FILE JQ WANT: accepted, its spec checked, then canceled
    local id
    id=$(dr_cli job create -f "$A/$1") || dr_fail "$1 was refused"
    dr_assert_eq "$(dr_cli -o json job show "$id" | jq -c "$2")" "$3" "$1"
    dr_cli job cancel "$id" >/dev/null 2>&1 || true
}
job_ok hello-world.yml '[.image, .command[2], .cluster]' '["library/python:latest","echo \"hello world\"","cpu-cluster"]'
job_ok hello-world-env-var.yml '[.env[] | "\(.key)=\(.value)"]' '["hello_env_var=hello world"]'
job_ok hello-world-input.yml '.command[2]' '"echo hello world\necho 42\n"'
job_ok hello-world-output.yml '.image' '"python:latest"'
job_ok hello-world-full.yml '[.name, [.env[] | "\(.key)=\(.value)"]]' '["hello-world-example",["hello_str=hello world","DROVER_TAG_HELLO=world"]]'
asset() { # FILE LINE WANT: refused with one line naming the asset
    local out
    if out=$(dr_cli job create -f "$A/$1" 2>&1); then dr_fail "$1 was accepted"; fi
    dr_assert_contains "$out" "$1:$2: $3" "$1"
    dr_assert_eq "$(wc -l <<<"$out")" 1 "$1: one line"
}
asset hello-iris-literal.yml 11 "environment is the Azure ML asset 'azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:3', which drover cannot have"
asset tensorflow-mnist-distributed.yml 12 "environment is the Azure ML asset 'azureml:AzureML-tensorflow-2.4-ubuntu18.04-py37-cuda11-gpu:14'"
asset pytorch-cifar-distributed.yml 13 "inputs.cifar is the Azure ML asset 'azureml:cifar-10-example:1'"
asset tensorflow-mnist-horovod.yml 10 "environment is the Azure ML asset 'azureml:AzureML-tensorflow-2.4-ubuntu18.04-py37-cuda11-gpu@latest'"
dr_assert_eq "$(dr_cli -o json cluster list | jq -r '[.[].name] | sort | join(" ")')" \
    "cpu-cluster minimal-cluster" "the examples' clusters are gone again"
dr_pass
