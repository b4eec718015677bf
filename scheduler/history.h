/* history.h - a bounded, in-memory history of each cluster, for charts.
 *
 * Every HISTORY_INTERVAL_MS, and at once for a new cluster, the loop
 * samples each cluster (nodes by state, queued and running jobs, its GPUs'
 * mean utilization) into a ring of HISTORY_SAMPLES per cluster: a few hours, a
 * fixed size, never more. It is not durable (a restarted scheduler starts a new
 * history) and it only reads the model.  GET /api/v1/clusters/NAME/history
 * serves it.
 */
#ifndef DR_HISTORY_H
#define DR_HISTORY_H

#include "sched_int.h"

#include <jansson.h>

typedef struct history history_t;

#define HISTORY_INTERVAL_MS 30000
#define HISTORY_SAMPLES 480 /* 4 hours at 30 s */

/* A history sampling every interval_ms into rings of nsamples (> 0). */
history_t *history_new(int64_t interval_ms, size_t nsamples);
/* Accepts NULL; nulls the pointer. */
void history_destroy(history_t **self_p);
/* Samples every cluster when a sample is due (mono_ms is the loop's
 * monotonic clock); rings of clusters that are gone are dropped. */
void history_tick(history_t *self, const sched_t *s, int64_t mono_ms);
/* {"cluster","interval_s","capacity","samples":[...]} for cluster c:
 * the samples kept, oldest first, then one taken now.  A new reference. */
json_t *history_json(const history_t *self, const sched_t *s,
                     const cluster_t *c);

#endif
