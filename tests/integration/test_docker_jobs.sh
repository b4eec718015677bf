#!/usr/bin/env bash
# Container jobs through the real daemons and a real dockerd: output on
# both streams, a non-zero exit, OOM kill, a command the image lacks, an
# image that cannot be pulled, a time limit, cancel; the container's
# settings (limits, no privileges, labels) while it runs, and no container
# left after each job.  Skips itself when no dockerd answers.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/docker_image.sh"
dr_docker_skip_unless_up
dr_docker_image || dr_fail "cannot build $DR_TEST_IMAGE"
dr_setup
dr_start_scheduler --heartbeat-interval 1s --heartbeat-timeout 10s
dr_cli cluster create -n box -s Standard_D3_v2 --min-nodes 1 --max-nodes 1 >/dev/null
dr_wait_for "the node" 30 bash -c "[[ \$('$DROVER_BIN/drover' -o json node list --cluster box | jq '[.[] | select(.state==\"idle\")] | length') == 1 ]]"
node=$(dr_cli -o json node list --cluster box | jq -r '.[0].name')
containers() { docker ps -aq --filter "label=drover.node=$node" | wc -l; }
none_left() { [[ "$(containers)" == 0 ]]; }
# a failed test must not leave containers behind
dr_defer "docker ps -aq --filter label=drover.node=$node | xargs -r docker rm -f >/dev/null 2>&1"

# success, both streams, the job's env, /scratch; settings while it runs
id=$(dr_cli job submit --cluster box --image "$DR_TEST_IMAGE" --cpus 1 --memory 256M \
    --env GREETING=hi -- \
    sh -c 'echo "$GREETING from $DROVER_NODE_NAME job $DROVER_JOB_ID in $(pwd)"; echo to-stderr >&2; sleep 2; echo bye')
dr_wait_job_state "$id" running 60
cid=""
find_cid() { cid=$(docker ps -q --filter "label=drover.job=$id" --filter "label=drover.node=$node"); [[ -n "$cid" ]]; }
dr_wait_for "the container" 10 find_cid
find_cid
settings=$(docker inspect -f '{{.HostConfig.Privileged}} {{.HostConfig.CapDrop}} {{if .HostConfig.CapAdd}}capadd{{else}}nocapadd{{end}} {{.HostConfig.SecurityOpt}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.NetworkMode}} {{index .Config.Labels "drover.managed"}} {{index .Config.Labels "drover.attempt"}}' "$cid")
dr_assert_eq "$settings" "false [ALL] nocapadd [no-new-privileges] 268435456 268435456 1000000000 4096 host true 1" "container settings"
dr_wait_job_state "$id" succeeded 60
logs=$(dr_cli job logs "$id")
dr_assert_contains "$logs" "hi from $node job $id in /scratch" "stdout in the logs"
dr_assert_contains "$logs" "to-stderr" "stderr in the logs"
dr_assert_contains "$logs" "bye" "the end of the output"
dr_assert_eq "$(dr_cli -o json job show "$id" | jq -r .exit_code)" 0 "exit code"
dr_wait_for "the container to be removed" 10 none_left

# a non-zero exit
fid=$(dr_cli job submit --cluster box --image "$DR_TEST_IMAGE" -- sh -c 'exit 7')
dr_wait_job_state "$fid" failed 60
dr_assert_eq "$(dr_cli -o json job show "$fid" | jq -r .reason)" "exited with code 7" "exit reason"

# OOM kill
oid=$(dr_cli job submit --cluster box --image "$DR_TEST_IMAGE" --memory 32M -- \
    sh -c 'head -c 200m /dev/zero | tail')
dr_wait_job_state "$oid" failed 60
dr_assert_eq "$(dr_cli -o json job show "$oid" | jq -r .reason)" "out of memory (OOM-killed)" "OOM reason"

# a command the image does not have
nid=$(dr_cli job submit --cluster box --image "$DR_TEST_IMAGE" -- no-such-program)
dr_wait_job_state "$nid" failed 60
dr_assert_contains "$(dr_cli -o json job show "$nid" | jq -r .reason)" "no-such-program" "command-not-found reason"

# an image that is not here and cannot be pulled: fails with the reason
uid=$(dr_cli job submit --cluster box --image drover-no-such-image:v0 -- true)
dr_wait_job_state "$uid" failed 90
dr_assert_contains "$(dr_cli -o json job show "$uid" | jq -r .reason)" "pulling image drover-no-such-image:v0 failed" "pull reason"

# a time limit
tid=$(dr_cli job submit --cluster box --image "$DR_TEST_IMAGE" --time-limit 2s -- sleep 60)
dr_wait_job_state "$tid" timeout 60
dr_assert_contains "$(dr_cli -o json job show "$tid" | jq -r .reason)" "time limit" "time limit reason"

# cancel a running container
cid2=$(dr_cli job submit --cluster box --image "$DR_TEST_IMAGE" -- sleep 300)
dr_wait_job_state "$cid2" running 60
dr_cli job cancel "$cid2" >/dev/null
dr_wait_job_state "$cid2" canceled 60
dr_wait_for "no container left" 20 none_left
dr_pass
