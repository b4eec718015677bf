#!/usr/bin/env bash
# PostgreSQL restarted under load: the scheduler stays up; while the
# database is away submissions are refused with a clear error
# ("database unreachable"), heartbeats are answered (the running job goes
# on, on its first attempt); once it is back writes resume by themselves;
# nothing acknowledged is lost.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
dr_setup
dr_start_pg
dr_start_scheduler --heartbeat-interval 500ms --heartbeat-timeout 10s
dr_cli cluster create -n hold -s Standard_D2_v2 --min-nodes 0 --max-nodes 0 >/dev/null
dr_cli cluster create -n run -s Standard_D2_v2 --min-nodes 1 --max-nodes 1 >/dev/null
rid=$(dr_cli job submit --cluster run -- sh -c 'echo before; sleep 10; echo after')
dr_wait_job_state "$rid" running 60

export DROVER_TIMEOUT_MS=3000
: >"$T/stop"
load() { # load FILE: submit until $T/stop says so; ids and errors kept
    local i=0 out
    while [[ ! -s "$T/stop" ]]; do
        if out=$(dr_cli job submit --cluster hold --name "load-$i" -- true 2>&1); then
            echo "$out" >>"$1.acked"
        else
            echo "$out" >>"$1.errors"
        fi
        i=$((i + 1))
    done
}
pids=()
for k in 1 2; do
    load "$T/load.$k" &
    pids+=($!)
done
dr_wait_for "some acknowledgements" 30 bash -c "cat $T/load.*.acked 2>/dev/null | wc -l | grep -qv '^0$'"
"$DROVER_SOURCE_DIR/tests/pg/pg_server.sh" stop "$PG_DIR" --kill
dr_log "PostgreSQL stopped (immediate)"
sleep 3
dr__pid_alive "$DR_SCHED_PID" || dr_fail "the scheduler exited without its database"
"$DROVER_SOURCE_DIR/tests/pg/pg_server.sh" start "$PG_DIR" >/dev/null
dr_log "PostgreSQL started again"
dr_wait_for "writes to resume" 30 dr_cli job submit --cluster hold --name after -- true
sleep 1
echo stop >"$T/stop"
wait "${pids[@]}"
unset DROVER_TIMEOUT_MS

errors=$(cat "$T"/load.*.errors 2>/dev/null || true)
dr_log "refused while the database was away: $(grep -c . <<<"$errors" || true)"
dr_assert_contains "$errors" "database unreachable" "the clients' error"
acked=$(cat "$T"/load.*.acked | sort -n)
have=$(dr_cli -o json job list --cluster hold | jq -r '.[].id' | sort -n)
missing=$(comm -23 <(echo "$acked") <(echo "$have") || true)
[[ -z "$missing" ]] || dr_fail "acknowledged jobs lost: $(echo $missing)"
dr_log "all $(wc -l <<<"$acked") acknowledged jobs are there"
dr_wait_job_state "$rid" succeeded 60
dr_assert_eq "$(dr_cli -o json job show "$rid" | jq -r .attempts)" 1 "no second attempt"
dr__pid_alive "$DR_SCHED_PID" || dr_fail "the scheduler exited"
dr_pass
