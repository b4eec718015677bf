/* metrics.h - the scheduler's counters and histograms, for /metrics.
 *
 * A metrics_t owns a fixed set of families (one row each in metrics.c's
 * table: name, help, type, label names, buckets) and, per family, its
 * series by label values.  The model, the policies and the handlers count
 * here (a service: it calls nothing of the scheduler); http_metrics.c
 * renders it, with the gauges it reads from the model, in the Prometheus
 * text format.  Every function accepts a NULL metrics_t and then does
 * nothing, so that code driven without a loop (unit tests) needs none.
 */
#ifndef DR_METRICS_H
#define DR_METRICS_H

#include "util.h"

#include <stdint.h>

typedef struct metrics metrics_t;

typedef enum {
    MC_JOBS_ENDED,      /* {cluster, state} */
    MC_AUTOSCALER,      /* {cluster, decision}: scale_out / scale_in */
    MC_PROVIDER_ERRORS, /* {cluster, op}: create / delete */
    MC_PREEMPTIONS,     /* {cluster}: nodes preempted */
    MC_IDENTITY_TOKENS, /* {cluster} */
    MC_REFUSED,         /* {reason} */
    MC_HTTP_REQUESTS,   /* {code} */
    MC_API_TOKENS,      /* {} API tokens created */
    MH_QUEUE_WAIT,      /* {cluster}: submit (or requeue) -> start */
    MH_SUBMIT_RUNNING,  /* {cluster}: submit -> running */
    MH_PLACEMENT,       /* {}: one placement pass over a cluster */
    METRICS_COUNT
} metric_id_t;

metrics_t *metrics_new(void);
void metrics_destroy(metrics_t **self_p);

/* Adds by to the counter of the series (l1, l2): label values in the
 * family's order, NULL for the labels a family does not have. */
void metrics_inc(metrics_t *self, metric_id_t id, const char *l1,
                 const char *l2, uint64_t by);
/* One observation (seconds) in a histogram's series. */
void metrics_observe(metrics_t *self, metric_id_t id, const char *l1,
                     double value);
/* The current value of a counter series (tests). */
uint64_t metrics_counter(const metrics_t *self, metric_id_t id, const char *l1,
                         const char *l2);
/* Appends every family in the Prometheus text format (0.0.4). */
void metrics_render(const metrics_t *self, dr_buf_t *b);
/* A label value as the text format wants it: \ " and newline escaped. */
void metrics_escape(dr_buf_t *b, const char *value);

#endif
