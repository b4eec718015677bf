#!/usr/bin/env bash
# A Python job's code= (issue 19): the SDK packs the local directory (a
# gzip tar, base64 in POST /api/v1/jobs' "code"), each node unpacks it as
# the task's working directory; an archive past the scheduler's
# --max-code-size gets its own error; outputs={"model": Output()} is
# collected and comes back with jobs.download.  A scheduler without job
# code (no --max-code-size) is a SKIP.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_python.sh"
py_need
help=$("$DROVER_BIN/drover-scheduler" --help 2>&1 || true)
[[ $help == *--max-code-size* ]] ||
    { echo "SKIP: this drover-scheduler takes no job code (--max-code-size; branch code)"; exit 77; }
dr_setup
py_start "$T/ws" --heartbeat-interval 500ms --max-code-size 1M
mkdir -p "$T/src/pkg"
cat >"$T/src/train.py" <<'PY'
import os
from pkg import helper
print("train: cwd has", " ".join(sorted(os.listdir("."))))
print("train:", helper.greeting(), open("pkg/data.txt").read().strip())
open(os.path.join(os.environ["AZURE_ML_OUTPUT_model"], "w.txt"), "w").write("weights-42\n")
PY
printf 'def greeting():\n    return "helper says hi"\n' >"$T/src/pkg/helper.py"
: >"$T/src/pkg/__init__.py"
echo "data-1234" >"$T/src/pkg/data.txt"
(cd "$T/ws" && PYTHONPATH="$DROVER_SOURCE_DIR/python" timeout 300 "$PY" \
    "$DROVER_SOURCE_DIR/tests/python/e2e_code.py" "$T/src") >"$T/e2e.out" 2>&1 ||
    { cat "$T/e2e.out"; dr_fail "e2e_code.py failed"; }
sed 's/^/    | /' "$T/e2e.out" >&2
r() { py_result "$1" "$T/e2e.out"; }
dr_assert_eq "$(r status)" Completed "the job with code"
dr_assert_eq "$(r lines)" "train: cwd has outputs pkg train.py|train: helper says hi data-1234" \
    "the directory unpacked as the working directory (and outputs/ made)"
dr_assert_eq "$(r downloaded)" "weights-42" "outputs={'model': Output()} came back with jobs.download"
dr_assert_contains "$(r nosuch)" "has no output 'nosuch'" "jobs.download of an unknown output"
dr_assert_eq "$(dr_job_state "$(r name)")" succeeded "CLI state"
[[ $(r big) == 413\ *--max-code-size* ]] || dr_fail "code past --max-code-size: $(r big)"
dr_pass
