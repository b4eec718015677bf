/* job_array.c - job arrays, as Slurm's `sbatch --array`: one submission
 * that queues one job per index ("0-99", "0-99:4", "1,3,5-7"), each with
 * its index in DROVER_ARRAY_TASK_ID, and "%N" to let at most N of them
 * run at once.
 *
 * Each element is a job of its own (its row, its spec with the array's
 * fields, its attempts); the array's id is its first element's.  What the
 * elements share lives here while any of them is in memory: the index
 * range for the environment, and the %N count.  An element beyond %N is
 * held, as a dependency holds a job (job_deps.c checks the holds and asks
 * job_array_admit), and released when another one ends.
 */
#include "array_spec.h"
#include "dr_err.h"
#include "log.h"
#include "sched_int.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct job_array {
    uint64_t id;
    uint32_t count, min, max, step, max_running;
    uint32_t active; /* elements that may run: not held, not ended */
    size_t refs;     /* elements in memory */
};

int job_array_submit(sched_t *self, const Drover__Job *m, const char *owner,
                     uint64_t *first, uint32_t *count, char *why, size_t cap)
{
    dr_array_t a;
    int rc = dr_array_parse(m->array, &a, why, cap);
    if (rc < 0)
        return rc;
    Drover__Job e = *m;
    e.array = NULL;
    e.array_task_count = (uint32_t)a.n;
    e.array_task_min = a.idx[0];
    e.array_task_max = a.idx[a.n - 1];
    e.array_max_running = a.max_running;
    e.array_task_step = a.step;
    e.array_job_id = 0; /* the first element is the array */
    for (size_t i = 0; rc == 0 && i < a.n; i++) {
        uint64_t id = 0;
        e.array_task_id = a.idx[i];
        rc = job_submit(self, &e, owner, &id, why, cap);
        if (i == 0 && rc == 0) {
            e.array_job_id = *first = id;
            /* the elements share the first one's code (job_code.c) */
            e.code_size = e.code.len;
            e.code_job_id = e.code.len ? id : 0;
            e.code.len = 0;
            e.code.data = NULL;
        }
    }
    if (rc == 0)
        *count = (uint32_t)a.n;
    dr_array_free(&a);
    return rc; /* a failure undoes the pass: none of it is kept */
}

void job_array_track(sched_t *self, job_t *j, const Drover__Job *spec,
                     int loading)
{
    if (!spec->array_task_count)
        return;
    j->array_id = spec->array_job_id ? spec->array_job_id : j->id;
    j->array_task = spec->array_task_id;
    job_array_t *a = dict_get_u64(self->arrays, j->array_id);
    if (!a) {
        a = dr_calloc(1, sizeof *a);
        a->id = j->array_id;
        a->count = spec->array_task_count;
        a->min = spec->array_task_min;
        a->max = spec->array_task_max;
        a->step = spec->array_task_step ? spec->array_task_step : 1;
        a->max_running = spec->array_max_running;
        dict_put_u64(self->arrays, a->id, a);
    }
    a->refs++;
    if (!a->max_running)
        return;
    /* after a restart every queued element waits until the holds are
     * checked, once the running ones are counted */
    if (j->state == JOB_QUEUED && (loading || a->active >= a->max_running)) {
        j->array_wait = 1;
        job_deps_hold(self, j);
    } else {
        a->active++;
    }
}

void job_array_untrack(sched_t *self, job_t *j)
{
    job_array_t *a =
        j->array_id ? dict_get_u64(self->arrays, j->array_id) : NULL;
    if (!a)
        return;
    if (a->max_running && !j->array_wait && a->active > 0) {
        a->active--;
        self->deps_due = 1; /* a held element may go */
    }
    if (--a->refs == 0)
        free(dict_del_u64(self->arrays, a->id));
}

int job_array_admit(sched_t *self, job_t *j, char *why, size_t cap)
{
    job_array_t *a =
        j->array_id ? dict_get_u64(self->arrays, j->array_id) : NULL;
    if (!j->array_wait || !a)
        return 1;
    if (a->active >= a->max_running) {
        snprintf(why, cap,
                 "waiting for array %" PRIu64 "'s limit (%%%u: %u elements "
                 "may run at once)",
                 a->id, a->max_running, a->max_running);
        return 0;
    }
    a->active++;
    j->array_wait = 0;
    return 1;
}

size_t job_array_env(const sched_t *self, const job_t *j,
                     Drover__KeyValue kv[JOB_ARRAY_NENV],
                     char val[JOB_ARRAY_NENV][24])
{
    const job_array_t *a =
        j->array_id ? dict_get_u64(self->arrays, j->array_id) : NULL;
    if (!a)
        return 0;
    static char *const keys[JOB_ARRAY_NENV] = {
        "DROVER_ARRAY_JOB_ID",     "DROVER_ARRAY_TASK_ID",
        "DROVER_ARRAY_TASK_COUNT", "DROVER_ARRAY_TASK_MIN",
        "DROVER_ARRAY_TASK_MAX",   "DROVER_ARRAY_TASK_STEP",
        "SLURM_ARRAY_JOB_ID",      "SLURM_ARRAY_TASK_ID"};
    uint64_t v[JOB_ARRAY_NENV] = {a->id,  j->array_task, a->count,
                                  a->min, a->max,        a->step,
                                  a->id,  j->array_task};
    for (size_t i = 0; i < JOB_ARRAY_NENV; i++) {
        drover__key_value__init(&kv[i]);
        snprintf(val[i], sizeof val[i], "%" PRIu64, v[i]);
        kv[i].key = keys[i];
        kv[i].value = val[i];
    }
    return JOB_ARRAY_NENV;
}

int job_array_cancel(sched_t *self, uint64_t id, int element, uint32_t task,
                     char *msg, size_t cap)
{
    /* the ids first: a cancel may end (and free) a job at once */
    uint64_t *ids = NULL;
    size_t n = 0, ncap = 0, it = 0;
    job_t *j;
    while ((j = dict_next(self->jobs, &it))) {
        if (j->array_id != id || (element && j->array_task != task))
            continue;
        if (n == ncap) {
            ncap = ncap ? ncap * 2 : 64;
            ids = dr_realloc(ids, ncap * sizeof *ids);
        }
        ids[n++] = j->id;
    }
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        char one[128];
        done += job_cancel(self, ids[i], one, sizeof one) == 0;
    }
    free(ids);
    if (!n) {
        if (element)
            snprintf(msg, cap, "array %" PRIu64 " has no active element %u", id,
                     task);
        else
            snprintf(msg, cap, "array %" PRIu64 " has no active elements", id);
        return DR_ENOENT;
    }
    if (element)
        snprintf(msg, cap, "job %" PRIu64 "_%u: cancel requested", id, task);
    else
        snprintf(msg, cap,
                 "array %" PRIu64 ": cancel requested for %zu "
                 "element%s",
                 id, done, done == 1 ? "" : "s");
    return 0;
}

void job_arrays_free(sched_t *self)
{
    if (!self->arrays)
        return;
    size_t it = 0;
    job_array_t *a;
    while ((a = dict_next(self->arrays, &it)))
        free(a);
    dict_destroy(&self->arrays);
}
