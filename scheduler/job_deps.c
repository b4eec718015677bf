/* job_deps.c - Slurm's --dependency: afterok, afterany, afternotok (each
 * with one or more job ids, ':'-separated) and singleton, ','-separated.
 *
 * A job with a dependency is held: in its cluster's queue, but skipped by
 * placement and the autoscaler, with the term it waits for as its wait
 * reason.  The holds are checked again when a job ends (or one is held):
 * a job whose terms all hold is released (its cluster's placement starts
 * over); one whose term can never hold (afterok of a job that failed,
 * afternotok of one that succeeded) fails with that reason.  A term of a
 * job that is no longer in memory reads its final state from the store.
 * Held jobs are listed in self->held, so a check never walks every job.
 */
#include "dr_err.h"
#include "log.h"
#include "sched_int.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_kinds[] = {"afterok", "afterany", "afternotok"};

static int s_kind(const char *s, size_t n, dep_kind_t *out)
{
    for (int k = 0; k < 3; k++)
        if (strlen(s_kinds[k]) == n && strncmp(s, s_kinds[k], n) == 0) {
            *out = (dep_kind_t)k;
            return 0;
        }
    return DR_EINVAL;
}

void job_deps_hold(sched_t *self, job_t *j)
{
    if ((!j->ndeps && !j->singleton && !j->array_wait) || j->held)
        return;
    j->held = 1;
    if (self->nheld == self->held_cap) {
        self->held_cap = self->held_cap ? self->held_cap * 2 : 16;
        self->held =
            dr_realloc(self->held, self->held_cap * sizeof *self->held);
    }
    self->held[self->nheld++] = j->id;
    self->deps_due = 1;
}

int job_deps_parse(sched_t *self, job_t *j, const char *spec, char *why,
                   size_t cap)
{
    if (!spec || !*spec)
        return 0;
    if (strlen(spec) > 4096) {
        snprintf(why, cap, "dependency: longer than 4096 characters");
        return DR_EINVAL;
    }
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (len == 9 && strncmp(p, "singleton", 9) == 0) {
            j->singleton = 1;
        } else {
            dep_kind_t kind;
            if (!colon || s_kind(p, (size_t)(colon - p), &kind) < 0) {
                snprintf(why, cap,
                         "dependency: '%.*s' is not afterok:ID, afterany:ID, "
                         "afternotok:ID or singleton",
                         (int)(len > 64 ? 64 : len), p);
                return DR_EINVAL;
            }
            const char *q = colon + 1, *stop = p + len;
            while (q <= stop) {
                char *e = NULL;
                unsigned long long id = strtoull(q, &e, 10);
                if (e == q || (e != stop && *e != ':') || id == 0) {
                    snprintf(why, cap, "dependency: '%.*s' needs job ids",
                             (int)(len > 64 ? 64 : len), p);
                    return DR_EINVAL;
                }
                char owner[64];
                if (id == j->id ||
                    job_owner(self, id, owner, sizeof owner) < 0) {
                    snprintf(why, cap, "dependency: no job %llu", id);
                    return DR_ENOENT;
                }
                if (j->ndeps == DR_MAX_DEPS) {
                    snprintf(why, cap, "dependency: more than %d jobs",
                             DR_MAX_DEPS);
                    return DR_EINVAL;
                }
                j->deps = dr_realloc(j->deps, (j->ndeps + 1) * sizeof *j->deps);
                j->deps[j->ndeps++] = (job_dep_t){kind, id, 0};
                q = e + 1;
            }
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* A term: 1 holds, 0 waits (why says for what), -1 never (why says so). */
static int s_term(sched_t *self, job_dep_t *d, char *why, size_t cap)
{
    const char *kind = s_kinds[d->kind];
    job_t *o = sched_job_find(self, d->id);
    if (o) {
        snprintf(why, cap, "waiting for dependency %s:%" PRIu64 " (job %s)",
                 kind, d->id, job_state_name(o->state));
        return 0;
    }
    store_job_t row;
    if (store_job_get(self->store, d->id, &row) < 0) {
        snprintf(why, cap, "dependency %s:%" PRIu64 ": the job is gone", kind,
                 d->id);
        return -1;
    }
    int ok = strcmp(row.state, "succeeded") == 0;
    char st[16];
    snprintf(st, sizeof st, "%s", row.state);
    store_job_clear(&row);
    if (d->kind == DEP_AFTERANY || (d->kind == DEP_AFTEROK && ok) ||
        (d->kind == DEP_AFTERNOTOK && !ok))
        return 1;
    snprintf(why, cap,
             "dependency can never be satisfied: %s:%" PRIu64
             " but job %" PRIu64 " %s",
             kind, d->id, d->id, st);
    return -1;
}

/* singleton: an earlier job of the same name and owner still active. */
static int s_singleton(sched_t *self, const job_t *j, char *why, size_t cap)
{
    size_t it = 0;
    job_t *o;
    while ((o = dict_next(self->jobs, &it))) {
        if (o->id < j->id && o->name && j->name && !strcmp(o->name, j->name) &&
            o->owner && j->owner && !strcmp(o->owner, j->owner)) {
            snprintf(why, cap,
                     "waiting for dependency singleton (job %" PRIu64
                     " named %s is %s)",
                     o->id, o->name, job_state_name(o->state));
            return 0;
        }
    }
    return 1;
}

void job_deps_check(sched_t *self)
{
    if (!self->deps_due)
        return;
    self->deps_due = 0;
    for (size_t i = 0; i < self->nheld;) {
        job_t *j = sched_job_find(self, self->held[i]);
        if (!j || !j->held || j->state != JOB_QUEUED) {
            self->held[i] = self->held[--self->nheld];
            continue;
        }
        char why[256] = "";
        int verdict = 1;
        for (size_t k = 0; k < j->ndeps && verdict > 0; k++) {
            if (j->deps[k].done)
                continue;
            int t = s_term(self, &j->deps[k], why, sizeof why);
            if (t > 0)
                j->deps[k].done = 1;
            else
                verdict = t;
        }
        if (verdict > 0 && j->singleton)
            verdict = s_singleton(self, j, why, sizeof why);
        if (verdict > 0 && !job_array_admit(self, j, why, sizeof why))
            verdict = 0; /* its array's %N: held until one of it ends */
        if (verdict < 0) {
            self->held[i] = self->held[--self->nheld];
            j->held = 0;
            log_info("job %" PRIu64 ": %s", j->id, why);
            job_finish(self, j, JOB_FAILED, 0, 0, why);
            self->deps_due = 1; /* its own dependents may go now */
            continue;
        }
        if (verdict > 0) {
            self->held[i] = self->held[--self->nheld];
            j->held = 0;
            free(j->hold_reason);
            j->hold_reason = NULL;
            cluster_capacity_grew(j->cluster);
            continue;
        }
        if (!j->hold_reason || strcmp(j->hold_reason, why) != 0) {
            free(j->hold_reason);
            j->hold_reason = dr_strdup(why);
        }
        i++;
    }
}
