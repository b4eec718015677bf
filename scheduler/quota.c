/* quota.c - core quotas, as Azure keeps them per region: a limit per
 * (location, VM family) and a total per location that all families share,
 * each dedicated and low-priority apart.  A row with no location is a
 * family's limit in every location together (the quotas of versions
 * before regions).  The autoscaler asks quota_fit how many nodes a
 * scale-out may still create; the binding limit is named in its reason.
 *
 * Rows live in sched_t.quotas (loaded at start, written through the store
 * when set); use is counted from the clusters' nodes when asked.
 */
#include "dr_err.h"
#include "sched_int.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

static int s_is_low(const cluster_t *c)
{
    return strcmp(c->cfg.vm_priority, "lowpriority") == 0;
}

static quota_t *s_find(const sched_t *self, const char *location,
                       const char *family)
{
    for (size_t i = 0; i < self->nquotas; i++)
        if (dr_streq_ci(self->quotas[i].location, location) &&
            dr_streq_ci(self->quotas[i].family, family))
            return &self->quotas[i];
    return NULL;
}

/* The row of (location, family), made (unlimited) when there is none. */
static quota_t *s_row(sched_t *self, const char *location, const char *family)
{
    quota_t *q = s_find(self, location, family);
    if (q)
        return q;
    self->quotas =
        dr_realloc(self->quotas, (self->nquotas + 1) * sizeof *self->quotas);
    q = &self->quotas[self->nquotas++];
    snprintf(q->location, sizeof q->location, "%s", location);
    snprintf(q->family, sizeof q->family, "%s", family);
    q->dedicated = q->lowpriority = -1;
    return q;
}

int64_t quota_limit(const sched_t *self, const char *location,
                    const char *family, int lowpriority)
{
    const quota_t *q = s_find(self, location, family);
    if (!q)
        return -1;
    return lowpriority ? q->lowpriority : q->dedicated;
}

int64_t quota_used(const sched_t *self, const char *location,
                   const char *family, int lowpriority)
{
    int64_t used = 0;
    for (const cluster_t *c = self->clusters; c; c = c->next) {
        if ((*family && !dr_streq_ci(c->vm->family, family)) ||
            (*location && !dr_streq_ci(c->cfg.location, location)) ||
            s_is_low(c) != !!lowpriority)
            continue;
        for (size_t i = 0; i < c->nnodes; i++)
            used += c->nodes[i]->cpus ? c->nodes[i]->cpus : c->vm->vcpus;
    }
    return used;
}

void quota_load(sched_t *self, const char *location, const char *family,
                int64_t dedicated, int64_t lowpriority)
{
    quota_t *q = s_row(self, location ? location : "", family ? family : "");
    q->dedicated = dedicated;
    q->lowpriority = lowpriority;
}

int quota_set(sched_t *self, const char *location, const char *family,
              int64_t cores, int lowpriority)
{
    quota_t *q = s_row(self, location, family);
    if (lowpriority)
        q->lowpriority = cores;
    else
        q->dedicated = cores;
    self->autoscale_now = 1;
    int rc = store_quota_put(self->store, q->location, q->family, q->dedicated,
                             q->lowpriority);
    char what[160];
    quota_name(q->location, q->family, what, sizeof what);
    char limit[32] = "unlimited";
    if (cores >= 0)
        snprintf(limit, sizeof limit, "%lld cores", (long long)cores);
    if (rc == 0)
        (void)store_event(self->store, "quota_set", "", "", 0,
                          "%s %s quota: %s", what,
                          lowpriority ? "low-priority" : "dedicated", limit);
    return rc;
}

void quota_name(const char *location, const char *family, char *buf, size_t cap)
{
    if (!*location)
        snprintf(buf, cap, "%s", family);
    else if (!*family)
        snprintf(buf, cap, "%s total", location);
    else
        snprintf(buf, cap, "%s %s", location, family);
}

int quota_fit(const sched_t *self, const cluster_t *c, int count, char *reason,
              size_t cap)
{
    int low = s_is_low(c);
    /* the family everywhere, the family in the location, the location */
    const char *rows[3][2] = {{"", c->vm->family},
                              {c->cfg.location, c->vm->family},
                              {c->cfg.location, ""}};
    int fit = count;
    for (int k = 0; k < 3; k++) {
        int64_t limit = quota_limit(self, rows[k][0], rows[k][1], low);
        if (limit < 0)
            continue;
        int64_t used = quota_used(self, rows[k][0], rows[k][1], low);
        int64_t n = (limit - used) / (int64_t)c->vm->vcpus;
        if (n < 0)
            n = 0;
        if (n >= fit)
            continue;
        fit = (int)n;
        /* the use once what still fits is created */
        char what[160];
        quota_name(rows[k][0], rows[k][1], what, sizeof what);
        snprintf(reason, cap, "quota exceeded: %s %lld/%lld cores%s", what,
                 (long long)(used + n * (int64_t)c->vm->vcpus),
                 (long long)limit, low ? " (low priority)" : "");
    }
    return fit;
}
