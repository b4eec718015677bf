#!/usr/bin/env bash
# A full disk (issue 12): the scheduler's state dir on a small tmpfs.
#  - low space (under --min-free-disk): the scheduler stays up, answers
#    reads, refuses writes at once with "disk full" (no timeout), and the
#    job that runs goes on;
#  - a commit that fails all the same (one request bigger than what is
#    left) keeps nothing: the client is told "disk full ... not saved", the
#    scheduler reads its state back and holds every write;
#  - once space returns it takes writes again by itself; every
#    acknowledged job is there, the running one ran once and succeeded.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
[[ $(id -u) -eq 0 ]] || dr_fail "needs root to mount a tmpfs"
mkdir -p "$T/state"
mount -t tmpfs -o size=48m drover-test "$T/state" || dr_fail "cannot mount a tmpfs"
dr_defer "umount -l '$T/state'"

dr_start_scheduler --min-free-disk 2M --heartbeat-interval 500ms --heartbeat-timeout 5s
sched_pid=$DR_SCHED_PID
dr_cli cluster create -n df -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null
acked=()
for i in 1 2 3; do acked+=("$(dr_cli job submit --cluster df --cpus 1 -- echo "job $i")"); done
for id in "${acked[@]}"; do dr_wait_job_state "$id" succeeded 60; done
long=$(dr_cli job submit --cluster df --cpus 1 -- sh -c \
    'echo "start $DROVER_JOB_ID"; for i in $(seq 1 40); do echo tick $i; sleep 0.5; done; echo end')
acked+=("$long")
dr_wait_job_state "$long" running 60

fill() { # leave about $1 KiB free
    local avail
    avail=$(df --output=avail -k "$T/state" | tail -1)
    fallocate -l $(((avail - $1) * 1024)) "$T/state/filler.$RANDOM"
}

# ---- low space: writes refused at once, reads served ----
fill 512
t0=$(dr_now_ms)
rc=0
out=$(timeout 20 "$DROVER_BIN/drover" job submit --cluster df -- true 2>&1) || rc=$?
t1=$(dr_now_ms)
((rc != 0 && rc != 124)) || dr_fail "a submit on a full disk: rc $rc ($out)"
dr_assert_contains "$out" "disk full" "the submit is refused with disk full"
((t1 - t0 < 5000)) || dr_fail "the refusal took $((t1 - t0)) ms"
if out=$(dr_cli cluster create -n df2 -s Standard_D2_v2 --max-nodes 1 2>&1); then
    dr_fail "a cluster was created on a full disk"
fi
dr_assert_contains "$out" "disk full" "cluster create refused too"
dr_assert_eq "$(dr_cli -o json job list | jq length)" 4 "reads are served"
dr_assert_eq "$(dr_job_state "$long")" running "the running job goes on"
kill -0 "$sched_pid" || dr_fail "the scheduler exited on a full disk"

# ---- space returns: writes again, by itself ----
rm -f "$T/state"/filler.*
dr_wait_for "a submit accepted again" 10 "$DROVER_BIN/drover" job submit --cluster df -- echo after-low
acked+=("$(dr_cli -o json job list | jq -r 'map(.id) | max')")

# ---- a commit that fails: one request bigger than what is left ----
fill 4096 # 4 MiB free: above --min-free-disk, below the request
args=()
for _ in $(seq 1 85); do args+=("$(head -c 65000 /dev/zero | tr '\0' x)"); done
rc=0
out=$( (ulimit -s 65536 && timeout 30 "$DROVER_BIN/drover" job submit --cluster df -- echo "${args[@]}") 2>&1) || rc=$?
((rc != 0 && rc != 124)) || dr_fail "the oversized submit on a nearly full disk: rc $rc"
dr_assert_contains "$out" "disk full" "the failed commit is reported as disk full"
dr_assert_contains "$out" "not saved" "and says nothing was kept"
grep -q "commit failed (disk full)" "$T/scheduler.log" || dr_fail "the failed commit is not logged"
kill -0 "$sched_pid" || dr_fail "the scheduler exited after a failed commit"
dr_assert_eq "$(dr_cli -o json job list | jq length)" 5 "reads after the failed commit; the big job is not there"
if out=$(dr_cli job submit --cluster df -- true 2>&1); then
    dr_fail "a write was taken while the disk is still full"
fi
dr_assert_contains "$out" "disk full" "writes held after the failed commit"

rm -f "$T/state"/filler.*
dr_wait_for "writes accepted after the failed commit" 15 "$DROVER_BIN/drover" job submit --cluster df -- echo after-full
dr_wait_job_state "$long" succeeded 60
dr_assert_eq "$(dr_cli -o json job show "$long" | jq -r .attempts)" 1 "the running job ran once"
logs=$(dr_cli job logs "$long")
dr_assert_contains "$logs" "end" "its output reached the end"
for id in "${acked[@]}"; do
    st=$(dr_job_state "$id")
    [[ "$st" == succeeded ]] || dr_fail "acknowledged job $id is $st"
done
dr_assert_eq "$DR_SCHED_PID" "$sched_pid" "the same scheduler throughout"
dr_pass
