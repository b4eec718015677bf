/* http_metrics.h - the scheduler's /metrics page (Prometheus text format
 * 0.0.4): gauges read from the model at scrape time (jobs and nodes by
 * state and cluster, clusters' sizes, each node's GPUs as its agent last
 * reported them) followed by the counters and histograms of metrics.h. */
#ifndef DR_HTTP_METRICS_H
#define DR_HTTP_METRICS_H

#include "sched.h"
#include "util.h"

/* Appends the whole page to b.  Reads the model, changes nothing. */
void http_metrics_text(sched_t *s, dr_buf_t *b);

#endif
