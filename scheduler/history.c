/* history.c - the clusters' sampled history (history.h).
 *
 * One ring per cluster, found by name (clusters are few: a linear
 * search); a sample is a fixed-size struct, so memory is bounded by
 * clusters x HISTORY_SAMPLES x sizeof(hist_sample_t) whatever runs.
 * A sample walks the cluster's nodes and, once per tick for all
 * clusters, the active jobs.  It reads the model and writes nothing.
 */
#include "history.h"
#include "dict.h"
#include "queue.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_states[] = {"preparing", "idle",    "running", "draining",
                                 "drained",   "leaving", "unknown"};
#define NSTATES (sizeof s_states / sizeof s_states[0])

typedef struct {
    int64_t ts_ms; /* wall */
    uint32_t nodes[NSTATES];
    uint32_t queued, running;
    uint32_t gpus;
    double gpu_util; /* mean percent over its GPUs; < 0: no GPU */
    double gpu_mem_util;
} hist_sample_t;

typedef struct {
    char name[64];
    hist_sample_t *ring; /* cap samples, owned */
    size_t head, n;      /* the oldest; how many are kept */
    int seen;            /* found in this tick's walk of the clusters */
} hist_ring_t;

struct history {
    int64_t interval_ms;
    size_t cap;
    int64_t next_due; /* mono ms; 0: at once */
    hist_ring_t *rings;
    size_t nrings, rings_cap;
};

history_t *history_new(int64_t interval_ms, size_t nsamples)
{
    if (interval_ms <= 0 || nsamples == 0)
        return NULL;
    history_t *self = dr_calloc(1, sizeof *self);
    self->interval_ms = interval_ms;
    self->cap = nsamples;
    return self;
}

void history_destroy(history_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    history_t *self = *self_p;
    for (size_t i = 0; i < self->nrings; i++)
        free(self->rings[i].ring);
    free(self->rings);
    free(self);
    *self_p = NULL;
}

/* The cluster's sample now; running is counted by the caller. */
static void s_sample(const cluster_t *c, int64_t wall_ms, hist_sample_t *out)
{
    memset(out, 0, sizeof *out);
    out->ts_ms = wall_ms;
    out->queued = (uint32_t)queue_len(c->queue);
    double util = 0, mem = 0;
    for (size_t i = 0; i < c->nnodes; i++) {
        const node_t *n = c->nodes[i];
        const char *st = node_state_name(n);
        for (size_t k = 0; k < NSTATES; k++)
            if (strcmp(st, s_states[k]) == 0)
                out->nodes[k]++;
        for (uint32_t g = 0; g < node_gpu_count(n); g++) {
            util += n->gpus->list.gpus[g].utilization_gpu;
            mem += n->gpus->list.gpus[g].utilization_memory;
            out->gpus++;
        }
    }
    out->gpu_util = out->gpus ? util / out->gpus : -1;
    out->gpu_mem_util = out->gpus ? mem / out->gpus : -1;
}

/* Jobs of cluster c that hold nodes (starting or running). */
static uint32_t s_running(const sched_t *s, const cluster_t *c)
{
    uint32_t n = 0;
    size_t it = 0;
    job_t *j;
    while ((j = dict_next(s->jobs, &it)))
        if (j->cluster == c &&
            (j->state == JOB_RUNNING || j->state == JOB_STARTING))
            n++;
    return n;
}

static hist_ring_t *s_ring(history_t *self, const char *name)
{
    for (size_t i = 0; i < self->nrings; i++)
        if (strcmp(self->rings[i].name, name) == 0)
            return &self->rings[i];
    if (self->nrings == self->rings_cap) {
        self->rings_cap = self->rings_cap ? 2 * self->rings_cap : 8;
        self->rings =
            dr_realloc(self->rings, self->rings_cap * sizeof *self->rings);
    }
    hist_ring_t *r = &self->rings[self->nrings++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->ring = dr_calloc(self->cap, sizeof *r->ring);
    return r;
}

/* A cluster with no ring yet: a new one gets its first sample at once. */
static int s_new_cluster(const history_t *self, const sched_t *s)
{
    for (const cluster_t *c = s->clusters; c; c = c->next) {
        size_t i = 0;
        while (i < self->nrings && strcmp(self->rings[i].name, c->cfg.name))
            i++;
        if (i == self->nrings)
            return 1;
    }
    return 0;
}

void history_tick(history_t *self, const sched_t *s, int64_t mono_ms)
{
    if (!self || (mono_ms < self->next_due && !s_new_cluster(self, s)))
        return;
    self->next_due = mono_ms + self->interval_ms;
    int64_t wall = dr_now_ms();
    for (size_t i = 0; i < self->nrings; i++)
        self->rings[i].seen = 0;
    for (const cluster_t *c = s->clusters; c; c = c->next) {
        hist_ring_t *r = s_ring(self, c->cfg.name);
        r->seen = 1;
        size_t at = (r->head + r->n) % self->cap;
        s_sample(c, wall, &r->ring[at]);
        r->ring[at].running = s_running(s, c);
        if (r->n < self->cap)
            r->n++;
        else
            r->head = (r->head + 1) % self->cap;
    }
    /* a deleted cluster's ring goes (one made again with the name starts
     * afresh) */
    size_t k = 0;
    for (size_t i = 0; i < self->nrings; i++) {
        if (self->rings[i].seen)
            self->rings[k++] = self->rings[i];
        else
            free(self->rings[i].ring);
    }
    self->nrings = k;
}

static void s_set(json_t *o, const char *key, json_t *v)
{
    if (!v || json_object_set_new(o, key, v) < 0)
        log_fatal("out of memory at %s:%d", __FILE__, __LINE__);
}

static json_t *s_obj(void)
{
    json_t *o = json_object();
    if (!o)
        log_fatal("out of memory at %s:%d", __FILE__, __LINE__);
    return o;
}

static json_t *s_pct(double v)
{
    return v < 0 ? json_null() : json_real(v);
}

static json_t *s_sample_json(const hist_sample_t *x)
{
    json_t *o = s_obj(), *nodes = s_obj();
    uint32_t total = 0;
    for (size_t k = 0; k < NSTATES; k++) {
        s_set(nodes, s_states[k], json_integer(x->nodes[k]));
        total += x->nodes[k];
    }
    s_set(o, "ts", json_integer((json_int_t)x->ts_ms));
    s_set(o, "nodes", nodes);
    s_set(o, "total_nodes", json_integer(total));
    s_set(o, "queued_jobs", json_integer(x->queued));
    s_set(o, "running_jobs", json_integer(x->running));
    s_set(o, "gpus", json_integer(x->gpus));
    s_set(o, "gpu_utilization", s_pct(x->gpu_util));
    s_set(o, "gpu_memory_utilization", s_pct(x->gpu_mem_util));
    return o;
}

json_t *history_json(const history_t *self, const sched_t *s,
                     const cluster_t *c)
{
    json_t *o = s_obj(), *a = json_array();
    if (!a)
        log_fatal("out of memory at %s:%d", __FILE__, __LINE__);
    s_set(o, "cluster", json_string(c->cfg.name));
    s_set(o, "interval_s", json_integer(self->interval_ms / 1000));
    s_set(o, "capacity", json_integer((json_int_t)self->cap));
    for (size_t i = 0; i < self->nrings; i++) {
        const hist_ring_t *r = &self->rings[i];
        if (strcmp(r->name, c->cfg.name) != 0)
            continue;
        for (size_t k = 0; k < r->n; k++)
            if (json_array_append_new(
                    a, s_sample_json(&r->ring[(r->head + k) % self->cap])) < 0)
                log_fatal("out of memory at %s:%d", __FILE__, __LINE__);
        break;
    }
    hist_sample_t now;
    s_sample(c, dr_now_ms(), &now);
    now.running = s_running(s, c);
    if (json_array_append_new(a, s_sample_json(&now)) < 0)
        log_fatal("out of memory at %s:%d", __FILE__, __LINE__);
    s_set(o, "samples", a);
    return o;
}
