#!/usr/bin/env bash
# A job's code and data (issue 16): a YAML job with `code` (a local
# folder, relative to the file), an input folder and an input file given
# as local paths, and an output folder: the folder is sent with the job
# and unpacked as the task's working directory, the inputs under
# inputs/NAME, and what the job writes under outputs/ comes back with
# `drover job download` (named-outputs/NAME/...).  The same with the
# flags (`job submit --code DIR --output-name NAME` running a script by
# its relative path; an array's elements and a rerun share the code), with
# a 2-node job (each node's outputs collected;
# rank 0's copy wins a clash), and across a kill -9 of the scheduler
# between the submission and the start (the code is in the store).
# Bad input: an oversized code folder (past --max-code-size), a missing
# code folder or input, a uri_file that is a folder, an archive through
# the HTTP API that is not base64, not a gzip tar, or names a path out of
# the task dir (../); downloads of an unknown job, an unknown output, a
# job that has not ended; outputs past --max-output-size say so in the
# log.  DR_STORE_PG=1 runs it all on PostgreSQL.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
command -v curl >/dev/null || dr_fail "curl is not installed"
HP=$((CPORT + 3))
dr_start_scheduler --heartbeat-interval 500ms --max-code-size 1M \
    --max-output-size 1M --http-listen "127.0.0.1:$HP"
dr_cli cluster create -n code -s Standard_D2_v2 --max-nodes 2 >/dev/null

# ---- a YAML job with code, two inputs and an output ----
mkdir -p "$T/job/src/pkg" "$T/job/data/sub"
cat >"$T/job/src/train.py" <<'PY'
import argparse, os
from pkg import helper
p = argparse.ArgumentParser()
p.add_argument("--data"); p.add_argument("--cfg"); p.add_argument("--out")
a = p.parse_args()
print("train: cwd", " ".join(sorted(os.listdir("."))))
print("train:", helper.greeting(), "data", a.data, sorted(os.listdir(a.data)))
print("train: cfg", a.cfg, open(a.cfg).read().strip())
os.makedirs(os.path.join(a.out, "sub"), exist_ok=True)
open(os.path.join(a.out, "weights.txt"), "w").write("w=" + open(os.path.join(a.data, "sub", "x.csv")).read())
open(os.path.join(a.out, "sub", "notes.txt"), "w").write("notes\n")
print("train: env", os.environ.get("AZURE_ML_OUTPUT_model"))
PY
printf 'def greeting():\n    return "helper says hi"\n' >"$T/job/src/pkg/helper.py"
: >"$T/job/src/pkg/__init__.py"
echo "1,2,3" >"$T/job/data/sub/x.csv"
echo "a" >"$T/job/data/a.txt"
echo "lr=0.1" >"$T/job/cfg.txt"
cat >"$T/job/job.yml" <<'YML'
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
command: python3 train.py --data ${{inputs.data}} --cfg ${{inputs.cfg}} --out ${{outputs.model}}
code: ./src
inputs:
  data:
    type: uri_folder
    path: ./data
  cfg:
    type: uri_file
    path: cfg.txt
outputs:
  model:
    type: uri_folder
compute: azureml:code
display_name: with-code
YML
# run from elsewhere: paths are the file's, not the current folder's
id=$(cd / && dr_cli job create -f "$T/job/job.yml" --wait 2>/dev/null | head -1)
dr_assert_eq "$(dr_job_state "$id")" succeeded "the YAML job with code"
logs=$(dr_cli job logs "$id")
dr_assert_contains "$logs" "train: cwd inputs outputs pkg train.py" "the code folder is the working directory"
dr_assert_contains "$logs" "train: helper says hi data inputs/data ['a.txt', 'sub']" "the input folder"
dr_assert_contains "$logs" "train: cfg inputs/cfg/cfg.txt lr=0.1" "the input file"
dr_assert_contains "$logs" "train: env /" "AZURE_ML_OUTPUT_model is a path"
js=$(dr_cli -o json job show "$id")
(($(jq -r .code_size <<<"$js") > 100)) || dr_fail "job show: code_size $(jq -r .code_size <<<"$js")"
dr_assert_eq "$(jq -c .outputs <<<"$js")" '["model"]' "job show: the named outputs"
dr_cli job download "$id" --download-path "$T/dl" >"$T/dl.out"
dr_assert_contains "$(cat "$T/dl.out")" "from 1 node into $T/dl/named-outputs" "download says where"
dr_assert_eq "$(cat "$T/dl/named-outputs/model/weights.txt")" "w=1,2,3" "an output file came back"
dr_assert_eq "$(cat "$T/dl/named-outputs/model/sub/notes.txt")" "notes" "a file in a subfolder"
dr_cli job download "$id" --output-name model --download-path "$T/dl2" >/dev/null
[[ -f "$T/dl2/named-outputs/model/weights.txt" ]] || dr_fail "--output-name model"
if out=$(dr_cli job download "$id" --output-name nosuch --download-path "$T/dl3" 2>&1); then
    dr_fail "an unknown output was downloaded"
fi
dr_assert_contains "$out" "has no output 'nosuch'" "an unknown output"
js=$(curl -s -H "Authorization: Bearer $(dr_cli keys token create admin | awk '{print $NF}')" \
    "http://127.0.0.1:$HP/api/v1/jobs/$id/outputs")
dr_assert_eq "$(jq -r '"\(.found) \(.nodes) \(.state)"' <<<"$js")" "true 1 succeeded" "GET /jobs/ID/outputs"
jq -r .data <<<"$js" | base64 -d | tar -tz | grep -q '^model/weights.txt$' ||
    dr_fail "GET /jobs/ID/outputs: the archive lacks model/weights.txt"

# ---- the flags: --code DIR, a script by its relative path, --output-name ----
mkdir -p "$T/flags"
cat >"$T/flags/run.sh" <<'SH'
echo "run: in $(basename "$PWD") with $(ls | tr '\n' ' ')"
echo "from flags" >"$AZURE_ML_OUTPUT_result/r.txt"
SH
id=$(dr_cli job submit --cluster code --code "$T/flags" --output-name result --wait -- sh run.sh 2>/dev/null)
dr_assert_eq "$(dr_job_state "$id")" succeeded "job submit --code"
dr_assert_contains "$(dr_cli job logs "$id")" "with outputs run.sh" "--code: the folder is the working directory"
dr_cli job download "$id" -p "$T/dlf" >/dev/null
dr_assert_eq "$(cat "$T/dlf/named-outputs/result/r.txt")" "from flags" "--output-name result came back"

# an array's elements and a rerun share the first job's code
aid=$(dr_cli job submit --cluster code --code "$T/flags" --output-name result --array 0-2 -- sh run.sh)
for e in 0 1 2; do
    dr_wait_job_state "$((aid + e))" succeeded 60
    dr_assert_contains "$(dr_cli job logs "$((aid + e))")" "with outputs run.sh" "array element $e has the code"
done
rid=$(dr_cli job rerun "$id")
dr_wait_job_state "$rid" succeeded 60
dr_assert_contains "$(dr_cli job logs "$rid")" "with outputs run.sh" "a rerun has the code"
dr_cli job download "$rid" -p "$T/dlr" >/dev/null
dr_assert_eq "$(cat "$T/dlr/named-outputs/result/r.txt")" "from flags" "a rerun's outputs"

# ---- two nodes: each node's outputs; node rank 0's copy wins a clash ----
id=$(dr_cli job submit --cluster code --nodes 2 --output-name m --wait -- \
    sh -c 'echo "rank $DROVER_NODE_RANK" >"outputs/m/rank-$DROVER_NODE_RANK.txt";
           echo "from $DROVER_NODE_RANK" >outputs/m/both.txt' 2>/dev/null)
dr_assert_eq "$(dr_job_state "$id")" succeeded "a 2-node job"
dr_cli job download "$id" -p "$T/dl4" >"$T/dl4.out"
dr_assert_contains "$(cat "$T/dl4.out")" "from 2 nodes" "both nodes' outputs"
dr_assert_eq "$(cat "$T/dl4/named-outputs/m/rank-0.txt" "$T/dl4/named-outputs/m/rank-1.txt" | tr '\n' ' ')" \
    "rank 0 rank 1 " "a file from each node"
dr_assert_eq "$(cat "$T/dl4/named-outputs/m/both.txt")" "from 0" "node rank 0's copy of a clash"

# ---- durable: acknowledged with its code, kill -9, the job runs after ----
hold=$(dr_cli job submit --cluster code -- sleep 3)
id=$(dr_cli job submit --cluster code --code "$T/flags" --output-name result \
    --dependency "afterok:$hold" -- sh run.sh)
dr_kill9_scheduler
dr_start_scheduler --heartbeat-interval 500ms --max-code-size 1M \
    --max-output-size 1M --http-listen "127.0.0.1:$HP"
dr_wait_job_state "$id" succeeded 90
dr_assert_contains "$(dr_cli job logs "$id")" "with outputs run.sh" "the code survived kill -9"

# ---- bad input ----
mkdir -p "$T/big"
head -c $((1536 * 1024)) /dev/urandom >"$T/big/blob"
if out=$(dr_cli job submit --cluster code --code "$T/big" -- true 2>&1); then dr_fail "oversized code accepted"; fi
dr_assert_contains "$out" "over this scheduler's --max-code-size (1 MiB)" "code past --max-code-size"
if out=$(dr_cli job submit --cluster code --code "$T/none" -- true 2>&1); then dr_fail "a missing --code folder"; fi
dr_assert_contains "$out" "--code $T/none: not a folder" "a missing --code folder"
sed 's|code: ./src|code: ./nosuch|' "$T/job/job.yml" >"$T/job/bad-code.yml"
if out=$(dr_cli job create -f "$T/job/bad-code.yml" 2>&1); then dr_fail "a missing code folder"; fi
dr_assert_contains "$out" "bad-code.yml:3: code './nosuch' is not here ($T/job/nosuch: No such file or directory)" \
    "a missing code folder, by line"
sed 's|path: ./data|path: ./nodata|' "$T/job/job.yml" >"$T/job/bad-input.yml"
if out=$(dr_cli job create -f "$T/job/bad-input.yml" 2>&1); then dr_fail "a missing input"; fi
dr_assert_contains "$out" "bad-input.yml:7: input path './nodata' is not here" "a missing input, by line"
sed 's|path: cfg.txt|path: ./data|' "$T/job/job.yml" >"$T/job/bad-file.yml"
if out=$(dr_cli job create -f "$T/job/bad-file.yml" 2>&1); then dr_fail "a folder as uri_file"; fi
dr_assert_contains "$out" "input 'cfg' is type uri_file but its path is a folder" "a folder as uri_file"
TOK=$(dr_cli keys token create admin | awk '{print $NF}')
post() { # BODY -> "STATUS MESSAGE"
    curl -s -o "$T/post.out" -w '%{http_code}' -H "Authorization: Bearer $TOK" \
        -H 'Content-Type: application/json' --data-binary @- \
        "http://127.0.0.1:$HP/api/v1/jobs" <<<"$1"
    echo " $(jq -r '.error // .message // .id' "$T/post.out" 2>/dev/null)"
}
job='"cluster": "code", "command": ["true"]'
dr_assert_contains "$(post "{$job, \"code\": \"%%%not base64\"}")" "400 field 'code' is not base64" "code not base64"
dr_assert_contains "$(post "{$job, \"code\": \"$(printf 'plain text' | base64)\"}")" "400 code archive refused: not" \
    "code not a gzip tar"
evil=$(cd "$T" && /usr/bin/python3 - <<'PY'
import base64, io, tarfile
b = io.BytesIO()
with tarfile.open(fileobj=b, mode="w:gz") as t:
    data = b"owned\n"
    i = tarfile.TarInfo("../escape.txt"); i.size = len(data)
    t.addfile(i, io.BytesIO(data))
print(base64.b64encode(b.getvalue()).decode())
PY
)
dr_assert_contains "$(post "{$job, \"code\": \"$evil\"}")" "400 code archive refused: entry '../escape.txt'" \
    "an archive entry out of the task dir"
dr_assert_contains "$(post "{$job, \"code_size\": 5}")" "400" "code_size is read-only"
if out=$(dr_cli job download 999999 2>&1); then dr_fail "download of an unknown job"; fi
dr_assert_contains "$out" "unknown job 999999" "download of an unknown job"
id=$(dr_cli job submit --cluster code --output-name m -- sleep 30)
if out=$(dr_cli job download "$id" -p "$T/dl5" 2>&1); then dr_fail "download of a job not ended"; fi
dr_assert_contains "$out" "its outputs are collected when it ends" "download before the end"
dr_cli job cancel "$id" >/dev/null
id=$(dr_cli job submit --cluster code --output-name m --wait -- \
    sh -c 'head -c 1500000 /dev/urandom >outputs/m/big.bin' 2>/dev/null)
dr_assert_contains "$(dr_cli job logs "$id")" "over --max-output-size (1 MiB): not kept" \
    "outputs past --max-output-size"
dr_assert_eq "$(dr_cli cluster list -o json | jq length)" 1 "the scheduler answers after all of it"
dr_pass
