/* metrics.c - the counters and histograms of /metrics (metrics.h).
 *
 * One row per family in s_fam; a family's series are kept in the order
 * they first appear (a linear search: label values are clusters, states,
 * reasons - a handful each).  Counters only go up; a histogram keeps
 * cumulative bucket counts as the text format states them.  It never
 * calls into the scheduler: the model counts here, http_metrics.c reads.
 */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T_COUNTER, T_HISTOGRAM };

#define MAX_BUCKETS 20

static const double s_wait_buckets[] = {0.01, 0.05, 0.1,  0.25, 0.5,  1,
                                        2.5,  5,    10,   30,   60,   120,
                                        300,  600,  1800, 3600, 14400};
static const double s_pass_buckets[] = {0.0001, 0.00025, 0.0005, 0.001,
                                        0.0025, 0.005,   0.01,   0.025,
                                        0.05,   0.1,     0.25,   1};

typedef struct {
    const char *name;
    const char *help;
    int type;
    const char *label[2];
    const double *buckets;
    size_t nbuckets;
} family_t;

#define NB(a) (sizeof(a) / sizeof((a)[0]))

static const family_t s_fam[METRICS_COUNT] = {
    [MC_JOBS_ENDED] = {"drover_jobs_ended_total",
                       "Jobs that reached a final state since the scheduler "
                       "started.",
                       T_COUNTER,
                       {"cluster", "state"},
                       NULL,
                       0},
    [MC_AUTOSCALER] = {"drover_autoscaler_decisions_total",
                       "Nodes the autoscaler asked for (scale_out) or "
                       "released (scale_in).",
                       T_COUNTER,
                       {"cluster", "decision"},
                       NULL,
                       0},
    [MC_PROVIDER_ERRORS] = {"drover_provider_errors_total",
                            "Provider calls that failed, by operation.",
                            T_COUNTER,
                            {"cluster", "op"},
                            NULL,
                            0},
    [MC_PREEMPTIONS] = {"drover_preemptions_total",
                        "Low-priority nodes preempted (their jobs requeued).",
                        T_COUNTER,
                        {"cluster", NULL},
                        NULL,
                        0},
    [MC_IDENTITY_TOKENS] = {"drover_identity_tokens_issued_total",
                            "Managed-identity tokens signed for jobs.",
                            T_COUNTER,
                            {"cluster", NULL},
                            NULL,
                            0},
    [MC_REFUSED] = {"drover_refused_messages_total",
                    "Messages and requests refused, by reason.",
                    T_COUNTER,
                    {"reason", NULL},
                    NULL,
                    0},
    [MC_HTTP_REQUESTS] = {"drover_http_requests_total",
                          "HTTP requests answered, by status code.",
                          T_COUNTER,
                          {"code", NULL},
                          NULL,
                          0},
    [MC_API_TOKENS] = {"drover_api_tokens_created_total",
                       "HTTP API tokens created.",
                       T_COUNTER,
                       {NULL, NULL},
                       NULL,
                       0},
    [MH_QUEUE_WAIT] = {"drover_job_queue_wait_seconds",
                       "Time a job attempt waited in the queue before it was "
                       "placed.",
                       T_HISTOGRAM,
                       {"cluster", NULL},
                       s_wait_buckets,
                       NB(s_wait_buckets)},
    [MH_SUBMIT_RUNNING] = {"drover_job_submit_to_running_seconds",
                           "Time from a job's submission to its first "
                           "running.",
                           T_HISTOGRAM,
                           {"cluster", NULL},
                           s_wait_buckets,
                           NB(s_wait_buckets)},
    [MH_PLACEMENT] = {"drover_placement_pass_duration_seconds",
                      "Duration of one placement pass over a cluster's "
                      "queue.",
                      T_HISTOGRAM,
                      {NULL, NULL},
                      s_pass_buckets,
                      NB(s_pass_buckets)},
};

typedef struct {
    char *l[2];
    uint64_t value;               /* counters */
    uint64_t counts[MAX_BUCKETS]; /* histograms: per bucket, not cumulative */
    uint64_t count;
    double sum;
} series_t;

typedef struct {
    series_t *s;
    size_t n, cap;
} fam_data_t;

struct metrics {
    fam_data_t fam[METRICS_COUNT];
};

metrics_t *metrics_new(void)
{
    return dr_calloc(1, sizeof(metrics_t));
}

void metrics_destroy(metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    metrics_t *self = *self_p;
    for (int f = 0; f < METRICS_COUNT; f++) {
        for (size_t i = 0; i < self->fam[f].n; i++) {
            free(self->fam[f].s[i].l[0]);
            free(self->fam[f].s[i].l[1]);
        }
        free(self->fam[f].s);
    }
    free(self);
    *self_p = NULL;
}

static int s_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static series_t *s_find(const metrics_t *self, metric_id_t id, const char *l1,
                        const char *l2)
{
    const fam_data_t *fd = &self->fam[id];
    for (size_t i = 0; i < fd->n; i++)
        if (s_eq(fd->s[i].l[0], l1) && s_eq(fd->s[i].l[1], l2))
            return &fd->s[i];
    return NULL;
}

static series_t *s_series(metrics_t *self, metric_id_t id, const char *l1,
                          const char *l2)
{
    series_t *s = s_find(self, id, l1, l2);
    if (s)
        return s;
    fam_data_t *fd = &self->fam[id];
    if (fd->n == fd->cap) {
        fd->cap = fd->cap ? fd->cap * 2 : 8;
        fd->s = dr_realloc(fd->s, fd->cap * sizeof *fd->s);
    }
    s = &fd->s[fd->n++];
    memset(s, 0, sizeof *s);
    s->l[0] = s_fam[id].label[0] ? dr_strdup(l1 ? l1 : "") : NULL;
    s->l[1] = s_fam[id].label[1] ? dr_strdup(l2 ? l2 : "") : NULL;
    return s;
}

void metrics_inc(metrics_t *self, metric_id_t id, const char *l1,
                 const char *l2, uint64_t by)
{
    if (!self || id >= METRICS_COUNT || s_fam[id].type != T_COUNTER)
        return;
    s_series(self, id, l1, l2)->value += by;
}

void metrics_observe(metrics_t *self, metric_id_t id, const char *l1,
                     double value)
{
    if (!self || id >= METRICS_COUNT || s_fam[id].type != T_HISTOGRAM)
        return;
    if (value < 0)
        value = 0;
    series_t *s = s_series(self, id, l1, NULL);
    const family_t *f = &s_fam[id];
    for (size_t i = 0; i < f->nbuckets; i++) {
        if (value <= f->buckets[i]) {
            s->counts[i]++;
            break;
        }
    }
    s->count++;
    s->sum += value;
}

uint64_t metrics_counter(const metrics_t *self, metric_id_t id, const char *l1,
                         const char *l2)
{
    if (!self || id >= METRICS_COUNT)
        return 0;
    const series_t *s = s_find(self, id, l1, l2);
    return s ? s->value : 0;
}

void metrics_escape(dr_buf_t *b, const char *v)
{
    const char *p = v ? v : "";
    while (*p) {
        size_t run = strcspn(p, "\\\"\n");
        dr_buf_append(b, p, run);
        p += run;
        if (!*p)
            break;
        dr_buf_append(b, *p == '\n' ? "\\n" : *p == '"' ? "\\\"" : "\\\\", 2);
        p++;
    }
}

/* {a="x",b="y"} of a series, with an extra label (le) or none. */
static void s_labels(dr_buf_t *b, const family_t *f, const series_t *s,
                     const char *extra_name, const char *extra)
{
    int n = 0;
    for (int i = 0; i < 2; i++) {
        if (!f->label[i])
            continue;
        dr_buf_printf(b, "%s%s=\"", n++ ? "," : "{", f->label[i]);
        metrics_escape(b, s->l[i]);
        dr_buf_printf(b, "\"");
    }
    if (extra_name)
        dr_buf_printf(b, "%s%s=\"%s\"", n++ ? "," : "{", extra_name, extra);
    if (n)
        dr_buf_printf(b, "}");
}

void metrics_render(const metrics_t *self, dr_buf_t *b)
{
    if (!self)
        return;
    for (int id = 0; id < METRICS_COUNT; id++) {
        const family_t *f = &s_fam[id];
        const fam_data_t *fd = &self->fam[id];
        dr_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
                      f->name, f->type == T_COUNTER ? "counter" : "histogram");
        if (f->type == T_COUNTER && !f->label[0] && fd->n == 0)
            dr_buf_printf(b, "%s 0\n", f->name);
        for (size_t i = 0; i < fd->n; i++) {
            const series_t *s = &fd->s[i];
            if (f->type == T_COUNTER) {
                dr_buf_printf(b, "%s", f->name);
                s_labels(b, f, s, NULL, NULL);
                dr_buf_printf(b, " %llu\n", (unsigned long long)s->value);
                continue;
            }
            uint64_t cum = 0;
            for (size_t k = 0; k < f->nbuckets; k++) {
                char le[32];
                cum += s->counts[k];
                snprintf(le, sizeof le, "%g", f->buckets[k]);
                dr_buf_printf(b, "%s_bucket", f->name);
                s_labels(b, f, s, "le", le);
                dr_buf_printf(b, " %llu\n", (unsigned long long)cum);
            }
            dr_buf_printf(b, "%s_bucket", f->name);
            s_labels(b, f, s, "le", "+Inf");
            dr_buf_printf(b, " %llu\n%s_sum", (unsigned long long)s->count,
                          f->name);
            s_labels(b, f, s, NULL, NULL);
            dr_buf_printf(b, " %.9g\n%s_count", s->sum, f->name);
            s_labels(b, f, s, NULL, NULL);
            dr_buf_printf(b, " %llu\n", (unsigned long long)s->count);
        }
    }
}
