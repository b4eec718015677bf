#!/usr/bin/env bash
# Container job overhead: `true` in the test image through drover
# (submit -> running, running -> succeeded, from the job's own timestamps:
# submitted_at, started_at = the agent saw the container start, ended_at)
# against `docker run --rm` of the same image (wall time), median of N (20).
# Prints figures, not pass/fail.  Needs a dockerd; builds the test image.
# Usage: tests/bench/bench_docker.sh [BUILD_DIR]   (default: build)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${1:-$REPO/build}" && pwd)
N=${N:-20}
source "$REPO/tests/integration/docker_image.sh"
dr_docker_up || { echo "SKIP: no dockerd answers"; exit 0; }
dr_docker_image
T=$(mktemp -d /tmp/drover-bench.XXXXXX)
source "$REPO/tests/bench/bench_lib.sh"
bench_ports # CP, AP
export DROVER_SCHEDULER=tcp://127.0.0.1:$CP
# the scheduler runs with CURVE on, as users run it: the CLI takes its keys
# from the state dir it writes them into
export DROVER_HOME=$T/state/keys
unset DROVER_INSECURE DROVER_KEY DROVER_SCHEDULER_KEY
SPID=""
cleanup() {
    [[ -n "$SPID" ]] && kill -TERM -- "-$SPID" 2>/dev/null
    sleep 1
    [[ -n "$SPID" ]] && kill -KILL -- "-$SPID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

setsid "$B/drover-scheduler" --state-dir "$T/state" --client-endpoint "$DROVER_SCHEDULER" \
    --agent-endpoint "tcp://127.0.0.1:$AP" >"$T/sched.log" 2>&1 &
SPID=$!
for _ in $(seq 100); do "$B/drover" cluster list >/dev/null 2>&1 && break; sleep 0.1; done
"$B/drover" cluster create -n bench -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null
for _ in $(seq 300); do
    [[ $("$B/drover" -o json node list --cluster bench | jq '[.[] | select(.state=="idle")] | length') == 1 ]] && break
    sleep 0.1
done
# one warm-up job of each kind
"$B/drover" job submit --cluster bench --image "$DR_TEST_IMAGE" --wait -- true >/dev/null 2>&1
docker run --rm "$DR_TEST_IMAGE" true

: >"$T/sub_run"; : >"$T/run_end"; : >"$T/total"; : >"$T/docker"
for _ in $(seq "$N"); do
    id=$("$B/drover" job submit --cluster bench --image "$DR_TEST_IMAGE" -- true)
    while :; do
        js=$("$B/drover" -o json job show "$id")
        st=$(jq -r .state <<<"$js")
        [[ "$st" == succeeded || "$st" == failed || "$st" == canceled ]] && break
        sleep 0.02
    done
    [[ "$st" == succeeded ]] || { echo "job $id $st: $(jq -r .reason <<<"$js")"; exit 1; }
    jq -r '.started_at - .submitted_at' <<<"$js" >>"$T/sub_run"
    jq -r '.ended_at - .started_at' <<<"$js" >>"$T/run_end"
    jq -r '.ended_at - .submitted_at' <<<"$js" >>"$T/total"
done
for _ in $(seq "$N"); do
    t0=$(now_ms)
    docker run --rm "$DR_TEST_IMAGE" true
    echo $(($(now_ms) - t0)) >>"$T/docker"
done
sr=$(median <"$T/sub_run"); re=$(median <"$T/run_end")
tot=$(median <"$T/total"); dk=$(median <"$T/docker")
echo "container job overhead, median of $N, image $DR_TEST_IMAGE, command true"
echo "  drover submit -> running:     ${sr} ms"
echo "  drover running -> succeeded:  ${re} ms"
echo "  drover submit -> succeeded:   ${tot} ms"
echo "  docker run --rm (wall):       ${dk} ms"
awk -v a="$tot" -v b="$dk" 'BEGIN { printf "  ratio drover / docker run:    %.2f\n", a / b }'
