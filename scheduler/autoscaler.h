/* autoscaler.h - grows and shrinks each cluster between min and max nodes.
 *
 * Once per tick and cluster: target = nodes needed by the waiting work
 * (bin-packed onto vm-size-shaped nodes, counting nodes still preparing),
 * clamped to [min_nodes, max_nodes]; missing nodes are asked of the
 * provider; nodes idle longer than idle_seconds_before_scaledown are
 * drained and released while the cluster stays above its target and
 * min_nodes.  A node with work is never taken.  Every failed or blocked
 * resize is written on the cluster (last_error) and in the event log.
 * A policy over the model: the loop calls it, the model never does.
 */
#ifndef DR_AUTOSCALER_H
#define DR_AUTOSCALER_H

#include "sched_int.h"

/* Counts of a cluster's nodes by state. */
typedef struct {
    int ready;     /* registered, not leaving */
    int idle;      /* ready with no task */
    int running;   /* ready with tasks */
    int preparing; /* asked for, not yet registered */
    int leaving;
    int unknown; /* waiting to re-register after a restart */
} node_counts_t;

void autoscaler_count(const cluster_t *c, node_counts_t *out);
/* Nodes the waiting work needs beyond the ones that exist (pure; tests). */
int autoscaler_demand(const cluster_t *c, int headroom);
void autoscaler_tick(sched_t *s, cluster_t *c, int64_t now_mono);

/* "steady" or "resizing". */
const char *autoscaler_allocation_state(const cluster_t *c);

#endif
