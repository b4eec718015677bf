#!/usr/bin/env bash
# /metrics on the scheduler's HTTP listener, scraped by a real Prometheus
# (Debian's prometheus, started here in a temp dir on loopback):
# promtool check metrics passes on the page, and a PromQL query through
# Prometheus's HTTP API returns the number of running jobs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v prometheus >/dev/null 2>&1 || dr_fail "prometheus is not installed (deploy/install-deps.sh)"
command -v promtool >/dev/null 2>&1 || dr_fail "promtool is not installed (deploy/install-deps.sh)"
dr_setup
HP=$((CPORT + 7)) PP=$((CPORT + 8))
dr_start_scheduler --http-listen "127.0.0.1:$HP"
M=http://127.0.0.1:$HP/metrics

dr_cli cluster create -n cpu -s Standard_D2_v2 --max-nodes 2 >/dev/null
ids=()
for i in 1 2 3; do ids+=("$(dr_cli job submit --cluster cpu --cpus 1 -- sleep 300)"); done
dr_wait_job_state "${ids[0]}" running 60
dr_wait_job_state "${ids[1]}" running 60
dr_wait_job_state "${ids[2]}" running 60
dr_cli job cancel "${ids[2]}" >/dev/null
dr_wait_job_state "${ids[2]}" canceled 30

curl -sf "$M" >"$T/metrics.txt" || dr_fail "GET /metrics failed"
out=$(promtool check metrics <"$T/metrics.txt" 2>&1) || dr_fail "promtool check metrics: $out"
grep -q '^drover_jobs{cluster="cpu",state="running"} 2$' "$T/metrics.txt" ||
    dr_fail "no drover_jobs running 2: $(grep drover_jobs "$T/metrics.txt")"
grep -q '^drover_jobs_ended_total{cluster="cpu",state="canceled"} 1$' "$T/metrics.txt" ||
    dr_fail "drover_jobs_ended_total canceled is not 1"
grep -q '^drover_job_queue_wait_seconds_count{cluster="cpu"} 3$' "$T/metrics.txt" ||
    dr_fail "queue wait histogram has not 3 observations"
grep -q '^drover_job_submit_to_running_seconds_bucket{cluster="cpu",le="+Inf"} 3$' "$T/metrics.txt" ||
    dr_fail "submit->running histogram has not 3 observations"
grep -q '^drover_autoscaler_decisions_total{cluster="cpu",decision="scale_out"} ' "$T/metrics.txt" ||
    dr_fail "no autoscaler decision counted"
grep -q '^drover_placement_pass_duration_seconds_count ' "$T/metrics.txt" ||
    dr_fail "no placement pass duration"
# a wrong method is a 405, an unknown path a 404
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$M")
dr_assert_eq "$code" 405 "POST /metrics"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP/nope")
dr_assert_eq "$code" 404 "GET /nope"

# a real Prometheus scrapes it every second
mkdir -p "$T/prom"
cat >"$T/prom/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: drover
    static_configs:
      - targets: ['127.0.0.1:$HP']
YML
promtool check config "$T/prom/prometheus.yml" >/dev/null || dr_fail "promtool check config"
dr_spawn "$T/prometheus.log" prometheus --config.file="$T/prom/prometheus.yml" \
    --storage.tsdb.path="$T/prom/data" --web.listen-address="127.0.0.1:$PP"
Q="http://127.0.0.1:$PP/api/v1/query"
running() {
    curl -sf --data-urlencode 'query=sum(drover_jobs{state="running",cluster="cpu"})' "$Q" |
        jq -r '.data.result[0].value[1] // empty'
}
two_running() { [[ "$(running 2>/dev/null)" == 2 ]]; }
dr_wait_for "Prometheus to scrape 2 running jobs" 60 two_running
up=$(curl -sf --data-urlencode 'query=up{job="drover"}' "$Q" | jq -r '.data.result[0].value[1]')
dr_assert_eq "$up" 1 "the scrape target is up"
dr_pass
