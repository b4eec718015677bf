#!/usr/bin/env bash
# An mpi4py job (issue 16) from an Azure ML YAML file with
# `distribution: {type: mpi, process_count_per_instance: 2}` on 2 nodes:
# real allreduce, allgather and bcast, checked on every rank.  The local
# provider's nodes share this host, so drover sets
# OMPI_MCA_mpi_yield_when_idle=1 (idle ranks give up the cores they share
# instead of busy-polling): every rank sees it, and the cost of the same
# job with it overridden to 0 is measured and logged.  Then partial lines
# (tests/mpi/mpi_partial.c): pieces of several ranks' lines interleave in
# mpirun's output, and every rank's line comes out whole, with its node and
# rank, and no raw OpenMPI tag anywhere.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
"$PY" -c 'import mpi4py' 2>/dev/null ||
    dr_fail "python3-mpi4py is needed (apt-get install python3-mpi4py; deploy/install-deps.sh)"
[[ -x "$DROVER_BIN/mpi_partial" ]] || dr_fail "mpi_partial not built"
COLL="$(cd "$(dirname "$0")" && pwd)/mpi4py_collectives.py"
dr_setup
dr_start_scheduler --heartbeat-interval 500ms
dr_cli cluster create -n mpi -s Standard_D2_v2 --min-nodes 0 --max-nodes 2 >/dev/null

job_yml() { # FILE ROUNDS [ENV_YAML]
    cat >"$1" <<YML
\$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
command: $PY $COLL $2
compute: azureml:mpi
resources:
  instance_count: 2
distribution:
  type: mpi
  process_count_per_instance: 2
limits:
  timeout: 300
display_name: mpi4py-collectives
${3:-}
YML
}
job_yml "$T/mpi4py.yml" 300
id=$(dr_cli job create -f "$T/mpi4py.yml")
dr_wait_job_state "$id" succeeded 240
logs=$(dr_cli job logs "$id")
echo "$logs" | sed 's/^/    | /'
dr_assert_eq "$(grep -c '^\[mpi-[0-9]* rank [0-3]\] mpi4py rank [0-3]/4 .* sum 10 gather 0,1,2,3 .* ok$' <<<"$logs")" \
    4 "4 ranks, each with the right allreduce, allgather and bcast"
for r in 0 1 2 3; do
    grep -qE "^\[mpi-[0-9]+ rank $r\] mpi4py rank $r/4 " <<<"$logs" ||
        dr_fail "rank $r's line does not name its node and rank"
    grep -qE "^\[mpi-[0-9]+ rank $r\] allreduce x300 \.\.\. ok$" <<<"$logs" ||
        dr_fail "rank $r's partial line was not put back together"
done
dr_assert_eq "$(grep -c ' yield 1 ' <<<"$logs")" 4 "OMPI_MCA_mpi_yield_when_idle=1 on every rank (nodes share a host)"
grep -q '<stdout>\|<stderr>' <<<"$logs" && dr_fail "raw OpenMPI tags in the log"
t_yield=$(grep -o 'seconds [0-9.]*' <<<"$logs" | awk '{ if ($2 > m) m = $2 } END { print m }')

# the same job with the setting overridden (the job's env wins): the cost
# of busy-polling ranks on shared cores, measured
job_yml "$T/mpi4py-spin.yml" 300 "environment_variables:
  OMPI_MCA_mpi_yield_when_idle: \"0\""
id2=$(dr_cli job create -f "$T/mpi4py-spin.yml")
dr_wait_job_state "$id2" succeeded 240
logs2=$(dr_cli job logs "$id2")
dr_assert_eq "$(grep -c ' yield 0 .* ok$' <<<"$logs2")" 4 "the job's env overrides the setting"
t_spin=$(grep -o 'seconds [0-9.]*' <<<"$logs2" | awk '{ if ($2 > m) m = $2 } END { print m }')
dr_log "300 allreduces on 4 ranks of 2 local nodes: ${t_yield}s with yield_when_idle=1, ${t_spin}s with 0"

# ---- partial lines from several ranks ----
id3=$(dr_cli job submit --cluster mpi --nodes 2 --procs-per-node 2 --cpus 2 \
    --distribution mpi --max-retries 0 --time-limit 2m -- "$DROVER_BIN/mpi_partial")
dr_wait_job_state "$id3" succeeded 120
logs3=$(dr_cli job logs "$id3")
echo "$logs3" | sed 's/^/    | /'
show=$(dr_cli -o json job show "$id3")
for r in 0 1 2 3; do
    node=$(jq -r ".nodes[$((r / 2))]" <<<"$show")
    dr_assert_eq "$(grep -cxF "[$node rank $r] rank $r: a b c sum 10" <<<"$logs3")" 1 \
        "rank $r's stdout line whole, with its node"
    dr_assert_eq "$(grep -cxF "[$node rank $r] err $r: x y" <<<"$logs3")" 1 \
        "rank $r's stderr line whole, with its node"
done
grep -q '<stdout>\|<stderr>\|\[1,[0-9]\]' <<<"$logs3" && dr_fail "raw OpenMPI tags in the log"
dr_assert_eq "$(wc -l <<<"$logs3")" 8 "8 lines, nothing else"
dr_pass
