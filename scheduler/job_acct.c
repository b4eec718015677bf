/* job_acct.c - accounting: what each attempt of a job used, kept in the
 * store when it ends (store_usage_*), and `drover usage`'s report over a
 * time range: jobs, CPU- and GPU-hours, the wait from queued to started
 * (mean and p95), and the hours lost to preemption and failure.
 *
 * An attempt's hours run from its start (all its tasks running) to its
 * end, times its cores (or GPUs) on each of its nodes.  It changes no
 * job's state (job_mgr.c does).
 */
#include "dr_err.h"
#include "log.h"
#include "sched_int.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void job_acct_end(sched_t *self, const job_t *j, const char *outcome, int final)
{
    /* a job that ends while queued ends with an attempt that never ran */
    int ran = j->state == JOB_RUNNING && j->started_at_ms > 0;
    store_usage_t u = {
        .job_id = j->id,
        .attempt = j->state == JOB_QUEUED ? j->attempts + 1 : j->attempts,
        .final = final,
        .owner = j->owner,
        .cluster = j->cluster->cfg.name,
        .vm_size = j->cluster->cfg.vm_size,
        .outcome = outcome,
        .cpus = j->cpus,
        .gpus = j->gpus,
        .nodes = j->nodes,
        .queued_at_ms = j->queued_at_ms ? j->queued_at_ms : j->submitted_at_ms,
        .started_at_ms = ran ? j->started_at_ms : 0,
        .ended_at_ms = dr_now_ms(),
    };
    if (u.attempt == 0)
        u.attempt = 1;
    if (store_usage_put(self->store, &u) < 0)
        log_error("job %llu: cannot store its accounting",
                  (unsigned long long)j->id);
}

typedef struct {
    job_usage_row_t *rows;
    size_t n, cap;
    size_t at;      /* the row the waits are for */
    int64_t *waits; /* of that row, ascending */
    size_t nw, wcap;
} s_report_t;

static void s_sum(void *arg, const char *key, const int64_t v[6])
{
    s_report_t *r = arg;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->rows = dr_realloc(r->rows, r->cap * sizeof *r->rows);
    }
    job_usage_row_t *row = &r->rows[r->n++];
    memset(row, 0, sizeof *row);
    row->key = dr_strdup(key);
    row->jobs = (uint64_t)v[0];
    row->attempts = (uint64_t)v[1];
    row->cpu_hours = (double)v[2] / 3.6e6;
    row->gpu_hours = (double)v[3] / 3.6e6;
    row->preempted_cpu_hours = (double)v[4] / 3.6e6;
    row->failed_cpu_hours = (double)v[5] / 3.6e6;
}

/* The mean and p95 of the waits gathered for row r->at. */
static void s_close_waits(s_report_t *r)
{
    if (r->nw && r->at < r->n) {
        double total = 0;
        for (size_t i = 0; i < r->nw; i++)
            total += (double)r->waits[i];
        size_t p95 = (size_t)ceil(0.95 * (double)r->nw) - 1;
        r->rows[r->at].wait_mean_s = total / (double)r->nw / 1000.0;
        r->rows[r->at].wait_p95_s = (double)r->waits[p95] / 1000.0;
    }
    r->nw = 0;
}

static void s_wait(void *arg, const char *key, int64_t wait_ms)
{
    s_report_t *r = arg;
    if (r->at >= r->n || strcmp(r->rows[r->at].key, key) != 0) {
        s_close_waits(r);
        /* both queries are in key order: the next rows, until this key */
        while (r->at < r->n && strcmp(r->rows[r->at].key, key) != 0)
            r->at++;
    }
    if (r->nw == r->wcap) {
        r->wcap = r->wcap ? r->wcap * 2 : 256;
        r->waits = dr_realloc(r->waits, r->wcap * sizeof *r->waits);
    }
    r->waits[r->nw++] = wait_ms > 0 ? wait_ms : 0;
}

int job_usage_report(sched_t *self, const char *by, int64_t since_ms,
                     int64_t until_ms, job_usage_row_t **rows, size_t *n)
{
    s_report_t r = {0};
    int rc = store_usage_report(self->store, by, since_ms, until_ms, s_sum,
                                s_wait, &r);
    s_close_waits(&r);
    free(r.waits);
    if (rc < 0) {
        job_usage_free(r.rows, r.n);
        return rc;
    }
    *rows = r.rows;
    *n = r.n;
    return 0;
}

void job_usage_free(job_usage_row_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].key);
    free(rows);
}
