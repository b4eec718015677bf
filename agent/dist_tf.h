/* dist_tf.h - a TensorFlow job's TF_CONFIG pieces, the agent's side (see
 * dist_tf.c). */
#ifndef DR_DIST_TF_H
#define DR_DIST_TF_H

#include "envv.h"
#include "drover.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* distribution tensorflow */
int dist_tf_is(const Drover__TaskStart *ts);
/* Its counts and ports are sane: 0, or -1 with why. */
int dist_tf_check(const Drover__TaskStart *ts, char *why, size_t n);
/* The number of tasks this node runs (drover-launch --spawn's P). */
uint32_t dist_tf_local(const Drover__TaskStart *ts);
/* DROVER_TF_CLUSTER (TF_CONFIG's "cluster" object), DROVER_TF_TASKS (this
 * node's tasks, "worker:2,ps:0") and DROVER_SPAWN_FIRST_RANK, from which
 * drover-launch --spawn writes each task's TF_CONFIG. */
void dist_tf_env(const Drover__TaskStart *ts, envv_t *env);

#endif
