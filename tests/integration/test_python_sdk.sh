#!/usr/bin/env bash
# The Python SDK (issue 19, python/): installed with pip, its unit tests
# (config.json search, local checks; the API's errors as exceptions
# against this live scheduler), and the Azure ML page's SDK v1 snippets
# (tests/python/snippets/, only the import line changed) run against the
# scheduler, each result checked through the CLI.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_python.sh"
py_need
"$PY" -m pip --version >/dev/null 2>&1 ||
    { echo "SKIP: no pip for $PY (apt-get install python3-pip)"; exit 77; }
"$PY" -c 'import setuptools' 2>/dev/null ||
    { echo "SKIP: no setuptools for $PY (apt-get install python3-setuptools)"; exit 77; }
dr_setup
SRC=$DROVER_SOURCE_DIR

# pip install ./python, offline; the copy used below is the installed one
cp -r "$SRC/python" "$T/pkg" # pip builds in the tree: keep the source clean
"$PY" -m pip install --quiet --no-index --no-build-isolation --target "$T/site" "$T/pkg" \
    >"$T/pip.log" 2>&1 || { cat "$T/pip.log"; dr_fail "pip install ./python failed"; }
[[ -f $T/site/drover/__init__.py ]] || dr_fail "pip installed no drover package"
export PYTHONPATH=$T/site
where=$(cd / && "$PY" -c 'import drover; print(drover.__file__)')
dr_assert_eq "$where" "$T/site/drover/__init__.py" "import drover from the installed copy"
(cd / && "$PY" -c 'from drover import Workspace, AmlCompute, ComputeTarget, ComputeTargetException, MLClient, command') ||
    dr_fail "the top-level names do not import"

py_start "$T/ws/.azureml"
dr_cli keys generate --name eve --dir "$T" >/dev/null
dr_cli keys add-user eve --role user "$T/eve.pub" >/dev/null
EVE=$(dr_cli -o json keys token create eve | jq -r .token)

# unit tests: config search and local checks; errors against the scheduler
closed=$((CPORT + 5))
dr__port_free "$closed" || closed=""
DROVER_TEST_ENDPOINT="http://127.0.0.1:$HP" DROVER_TEST_TOKEN=$ADMIN \
    DROVER_TEST_USER_TOKEN=$EVE DROVER_TEST_CLOSED_PORT=$closed \
    "$PY" -m unittest discover -v -s "$SRC/tests/python" -p 'test_*.py' >"$T/unit.log" 2>&1 ||
    { cat "$T/unit.log"; dr_fail "python unit tests failed"; }
grep -E '^Ran [0-9]+ tests' "$T/unit.log" >&2
grep -q 'LiveErrors) ... skipped' "$T/unit.log" && dr_fail "the live error tests were skipped"
dr_log "python unit tests passed: $(grep -c " ... ok$" "$T/unit.log")"

# the snippets, run from a directory below the one whose .azureml/ holds
# config.json (Workspace.from_config searches up, as Azure ML's does)
mkdir -p "$T/ws/project/src"
UA=/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uai1
# snippet NAME: runs it (the id's <placeholders> filled in, as a user
# does), prints its output
snippet() {
    sed -e 's/<subcription_id>/00000000-0000-0000-0000-000000000001/' \
        -e 's/<resource_group>/rg1/' -e 's/<user_assigned_identity>/uai1/' \
        "$SRC/tests/python/snippets/$1.py" >"$T/$1.py"
    diff <(grep -E '^(from|import) ' "$T/$1.py" | grep -v '^from drover import') /dev/null >/dev/null ||
        dr_fail "$1: imports something other than drover"
    (cd "$T/ws/project/src" && "$PY" "$T/$1.py") 2>&1 || { echo "snippet $1 failed"; return 1; }
}
show() { dr_cli -o json cluster show -n "$1"; }

out=$(snippet cpu_cluster) || dr_fail "$out"
dr_assert_contains "$out" "Minimum number of nodes requested have been provisioned" "wait_for_completion"
c=$(show cpucluster)
dr_assert_eq "$(jq -r '[.vm_size, .min_nodes, .max_nodes, .vm_priority, .allocation_state] | join(" ")' <<<"$c")" \
    "Standard_D2_v2 0 4 dedicated steady" "cpucluster"
n=$(dr_cli -o json cluster list | jq length)
out=$(snippet cpu_cluster) || dr_fail "$out"
dr_assert_contains "$out" "Found existing cluster, use it." "the try/except idiom"
dr_assert_eq "$(dr_cli -o json cluster list | jq length)" "$n" "the second run created nothing"

out=$(snippet low_priority) || dr_fail "$out"
dr_assert_eq "$(show lowpriocluster | jq -r '[.vm_priority, .max_nodes] | join(" ")')" "lowpriority 4" "low priority"

out=$(snippet identity_system) || dr_fail "$out"
c=$(show cpu-cluster)
dr_assert_eq "$(jq -r '[.identity, .max_nodes] | join(" ")' <<<"$c")" "system 5" "system-assigned identity"
[[ $(jq -r .identity_principal_id <<<"$c") =~ ^[0-9a-f-]{36}$ ]] || dr_fail "no principal id: $c"
out=$(snippet add_identity_user) || dr_fail "$out"
dr_assert_eq "$(show cpu-cluster | jq -r .identity)" "$UA" "add_identity user-assigned"

dr_cli cluster delete -n cpu-cluster >/dev/null
out=$(snippet identity_user) || dr_fail "$out"
c=$(show cpu-cluster)
dr_assert_eq "$(jq -r .identity <<<"$c")" "$UA" "user-assigned identity"
out=$(snippet add_identity_system) || dr_fail "$out"
dr_assert_eq "$(show cpu-cluster | jq -r .identity)" system "add_identity system-assigned"
# a snippet whose cluster exists already: the scheduler's message
out=$(snippet identity_system) && dr_fail "creating cpu-cluster twice succeeded"
dr_assert_contains "$out" "ComputeTargetException: cluster cpu-cluster already exists (HTTP 409)" "the 409"

# what the SDK saw acknowledged survives a kill -9 of the scheduler right
# after the reply (an identity assigned, a job submitted)
id=$(cd "$T/ws/project/src" && "$PY" -c '
from drover import ComputeTarget, MLClient, Workspace, command
c = ComputeTarget(workspace=Workspace.from_config(), name="cpu-cluster")
c.add_identity(identity_type="UserAssigned", identity_id=["/subscriptions/s2/rg/uai2"])
print(MLClient.from_config().jobs.create_or_update(command(command="true", compute="cpucluster")).name)
') || dr_fail "add_identity + create_or_update: $id"
dr_kill9_scheduler
dr_start_scheduler --http-listen "127.0.0.1:$HP"
dr_assert_eq "$(show cpu-cluster | jq -r .identity)" /subscriptions/s2/rg/uai2 "identity after kill -9"
dr_assert_eq "$(dr_cli -o json job show "$id" | jq -r .cluster)" cpucluster "job after kill -9"
dr_pass
