/* http_metrics.c - what /metrics shows (http_metrics.h).
 *
 * It sits beside the RPC handlers, above the model: it only reads the
 * model (clusters, their nodes and queues, the active jobs) and the
 * counters of metrics.c, and writes text.  Every family is written whole
 * (HELP, TYPE, its series) before the next, as the format requires; a
 * cluster's job and node states are always all written, zeros included,
 * so that a PromQL sum over them never finds a series missing.  The cost
 * is one walk of the active jobs and a few of the nodes per scrape.
 */
#include "http_metrics.h"
#include "metrics.h"
#include "sched_int.h"

#include <stdlib.h>
#include <string.h>

static const char *s_job_states[] = {"queued", "starting", "running"};
static const char *s_node_states[] = {"preparing", "idle",    "running",
                                      "draining",  "drained", "leaving",
                                      "unknown"};
#define NJS (sizeof s_job_states / sizeof s_job_states[0])
#define NNS (sizeof s_node_states / sizeof s_node_states[0])

static void s_family(dr_buf_t *b, const char *name, const char *type,
                     const char *help)
{
    dr_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{cluster="c",KEY="value"} */
static void s_series(dr_buf_t *b, const char *name, const char *cluster,
                     const char *key, const char *value)
{
    dr_buf_printf(b, "%s{cluster=\"", name);
    metrics_escape(b, cluster);
    if (key) {
        dr_buf_printf(b, "\",%s=\"", key);
        metrics_escape(b, value);
    }
    dr_buf_printf(b, "\"}");
}

static size_t s_nclusters(const sched_t *s)
{
    size_t n = 0;
    for (const cluster_t *c = s->clusters; c; c = c->next)
        n++;
    return n;
}

static void s_jobs(sched_t *s, dr_buf_t *b, size_t nc)
{
    /* [cluster index][state]: queued from the queues, the rest by a walk
     * of the active jobs */
    uint64_t *cnt = dr_calloc(nc ? nc * NJS : 1, sizeof *cnt);
    const cluster_t **idx = dr_calloc(nc ? nc : 1, sizeof *idx);
    size_t k = 0;
    for (const cluster_t *c = s->clusters; c; c = c->next, k++)
        idx[k] = c;
    size_t it = 0;
    job_t *j;
    while ((j = dict_next(s->jobs, &it))) {
        int st = j->state == JOB_QUEUED     ? 0
                 : j->state == JOB_STARTING ? 1
                 : j->state == JOB_RUNNING  ? 2
                                            : -1;
        if (st < 0)
            continue;
        for (size_t i = 0; i < nc; i++) {
            if (idx[i] == j->cluster) {
                cnt[i * NJS + (size_t)st]++;
                break;
            }
        }
    }
    s_family(b, "drover_jobs", "gauge",
             "Active jobs by state and cluster (finished jobs: "
             "drover_jobs_ended_total).");
    for (size_t i = 0; i < nc; i++)
        for (size_t st = 0; st < NJS; st++) {
            s_series(b, "drover_jobs", idx[i]->cfg.name, "state",
                     s_job_states[st]);
            dr_buf_printf(b, " %llu\n", (unsigned long long)cnt[i * NJS + st]);
        }
    free(cnt);
    free(idx);
}

static void s_nodes(sched_t *s, dr_buf_t *b)
{
    s_family(b, "drover_nodes", "gauge", "Nodes by state and cluster.");
    for (const cluster_t *c = s->clusters; c; c = c->next) {
        uint64_t cnt[NNS] = {0};
        for (size_t i = 0; i < c->nnodes; i++) {
            const char *st = node_state_name(c->nodes[i]);
            for (size_t k = 0; k < NNS; k++)
                if (strcmp(st, s_node_states[k]) == 0)
                    cnt[k]++;
        }
        for (size_t k = 0; k < NNS; k++) {
            s_series(b, "drover_nodes", c->cfg.name, "state", s_node_states[k]);
            dr_buf_printf(b, " %llu\n", (unsigned long long)cnt[k]);
        }
    }
    s_family(b, "drover_cluster_target_nodes", "gauge",
             "Nodes the autoscaler aims at, per cluster.");
    for (const cluster_t *c = s->clusters; c; c = c->next) {
        s_series(b, "drover_cluster_target_nodes", c->cfg.name, NULL, NULL);
        dr_buf_printf(b, " %d\n", c->target_nodes);
    }
    s_family(b, "drover_cluster_max_nodes", "gauge", "A cluster's max_nodes.");
    for (const cluster_t *c = s->clusters; c; c = c->next) {
        s_series(b, "drover_cluster_max_nodes", c->cfg.name, NULL, NULL);
        dr_buf_printf(b, " %d\n", c->cfg.max_nodes);
    }
}

typedef enum {
    G_UTIL,
    G_MEM_UTIL,
    G_MEM_USED,
    G_MEM_TOTAL,
    G_TEMP,
    G_POWER,
    G_ECC,
    G_HEALTHY,
    G_COUNT
} gpu_metric_t;

static const struct {
    const char *name, *type, *help;
} s_gpu[G_COUNT] = {
    [G_UTIL] = {"drover_gpu_utilization_ratio", "gauge",
                "GPU utilization (0-1) as the node's agent last reported it."},
    [G_MEM_UTIL] = {"drover_gpu_memory_utilization_ratio", "gauge",
                    "GPU memory controller utilization (0-1)."},
    [G_MEM_USED] = {"drover_gpu_memory_used_bytes", "gauge",
                    "GPU memory in use."},
    [G_MEM_TOTAL] = {"drover_gpu_memory_total_bytes", "gauge",
                     "GPU memory in all."},
    [G_TEMP] = {"drover_gpu_temperature_celsius", "gauge", "GPU temperature."},
    [G_POWER] = {"drover_gpu_power_watts", "gauge", "GPU power draw."},
    [G_ECC] = {"drover_gpu_ecc_uncorrected_errors_total", "counter",
               "Uncorrected ECC errors the GPU counted."},
    [G_HEALTHY] = {"drover_gpu_healthy", "gauge",
                   "1 when the GPU is healthy, 0 when not (its jobs are "
                   "requeued)."},
};

static void s_gpu_value(dr_buf_t *b, gpu_metric_t m, const gpu_info_t *g)
{
    switch (m) {
    case G_UTIL:
        dr_buf_printf(b, " %.2f\n", g->utilization_gpu / 100.0);
        break;
    case G_MEM_UTIL:
        dr_buf_printf(b, " %.2f\n", g->utilization_memory / 100.0);
        break;
    case G_MEM_USED:
        dr_buf_printf(b, " %llu\n",
                      (unsigned long long)g->memory_used_mb * 1048576ull);
        break;
    case G_MEM_TOTAL:
        dr_buf_printf(b, " %llu\n",
                      (unsigned long long)g->memory_total_mb * 1048576ull);
        break;
    case G_TEMP:
        dr_buf_printf(b, " %d\n", g->temperature_c);
        break;
    case G_POWER:
        dr_buf_printf(b, " %.3f\n", g->power_mw / 1000.0);
        break;
    case G_ECC:
        dr_buf_printf(b, " %llu\n", (unsigned long long)g->ecc_uncorrected);
        break;
    default:
        dr_buf_printf(b, " %d\n", g->healthy ? 1 : 0);
        break;
    }
}

static void s_gpus(sched_t *s, dr_buf_t *b)
{
    for (int m = 0; m < G_COUNT; m++) {
        s_family(b, s_gpu[m].name, s_gpu[m].type, s_gpu[m].help);
        for (const cluster_t *c = s->clusters; c; c = c->next) {
            for (size_t i = 0; i < c->nnodes; i++) {
                const node_t *n = c->nodes[i];
                for (uint32_t k = 0; k < node_gpu_count(n); k++) {
                    const gpu_info_t *g = &n->gpus->list.gpus[k];
                    s_series(b, s_gpu[m].name, c->cfg.name, "node", n->name);
                    b->len--; /* reopen the label set: gpu, uuid */
                    dr_buf_printf(b, ",gpu=\"%u\",uuid=\"", g->index);
                    metrics_escape(b, g->uuid);
                    dr_buf_printf(b, "\"}");
                    s_gpu_value(b, (gpu_metric_t)m, g);
                }
            }
        }
    }
}

void http_metrics_text(sched_t *s, dr_buf_t *b)
{
    size_t nc = s_nclusters(s);
    s_family(b, "drover_clusters", "gauge", "Clusters defined.");
    dr_buf_printf(b, "drover_clusters %zu\n", nc);
    s_jobs(s, b, nc);
    s_nodes(s, b);
    s_gpus(s, b);
    metrics_render(s->metrics, b);
}
