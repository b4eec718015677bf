/* placement.h - binds waiting jobs to nodes.
 *
 * Priority order with backfill: jobs are tried in queue order, and a job
 * that does not fit does not stop smaller ones behind it.  To stay far from
 * O(jobs x nodes) per event, a cluster remembers the request shapes that
 * found no node since its capacity last grew (its "blocked frontier"): a
 * job whose shape is at least a blocked one is skipped in O(1), a full pass
 * runs only when capacity grew (the cluster is dirty), and a new
 * submission is tried alone (the loop calls placement_try for it).  Node choice
 * is best fit (the fullest node that fits), which keeps other nodes idle so
 * that scale-in can take them; the nodes are kept ordered by free capacity
 * (capidx.h), so that choosing one is O(log nodes), and a pass ends as
 * soon as no node has a cpu free.  The loop bounds the jobs placed per
 * pass (sched_loop.c), so that the reports of those started come back
 * between passes instead of waiting behind one pass that starts them all.
 */
#ifndef DR_PLACEMENT_H
#define DR_PLACEMENT_H

#include "sched_int.h"

/* 1 if node n has room for job j now. */
int placement_fits(const node_t *n, const job_t *j);
/* The node best fit chooses for single-node job j in c now, or NULL: of
 * the nodes with room that are ready, not drained, offer j's runtime and
 * GPUs and are not held for another gang (unless j backfills), the one
 * with the least free cpus after placement, then the least free memory,
 * then the first of c->nodes. */
node_t *placement_best_node(const cluster_t *c, const job_t *j);
/* Tries to place one queued job; 1 placed, 0 not now. */
int placement_try(sched_t *s, cluster_t *c, job_t *j);
/* Full pass over a dirty cluster's queue, placing at most budget jobs;
 * returns jobs placed.  A pass that used its whole budget leaves the
 * cluster dirty: the next one goes on from the head of the queue. */
size_t placement_pass(sched_t *s, cluster_t *c, size_t budget);
/* Why a queued job waits, for `job show`; written to buf, returned. */
const char *placement_wait_reason(const sched_t *s, const job_t *j, char *buf,
                                  size_t cap);

/* When queued job j is expected to start (wall ms): the time by which
 * as many nodes as it needs, of those that could ever host it and are not
 * held for another gang, have room, by the time limits of the jobs on
 * them (what s_reserve holds a gang's nodes until); now when they have
 * room now.  0 (unknown) when a job in the way has no time limit, the
 * cluster has fewer such nodes than it needs (a scale-out, whose end no
 * limit bounds) or j is held.  Jobs queued ahead of j are not counted:
 * it is the reservation the head of the queue would get. */
int64_t placement_predicted_start(const sched_t *s, const job_t *j);

#endif
