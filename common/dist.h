/* dist.h - how a TensorFlow job's tasks are spread over its nodes, the one
 * rule the scheduler (which picks their ports) and the agents (which start
 * them and write TF_CONFIG) share.
 *
 * A job of W workers and P parameter servers has T = W + P tasks, numbered
 * in that order (worker 0..W-1, then ps 0..P-1); node k of N runs a
 * contiguous block of them: T / N each, and one more on the first T % N
 * nodes.  So worker 0 (TensorFlow's chief) is on the head, and with
 * W = N (Azure ML's default) every node runs one worker.  Task o listens
 * on port + o (the port the scheduler chose for the job): one port per
 * task, so that tasks of nodes that share a host (the local provider's)
 * never meet on one.
 */
#ifndef DR_DIST_H
#define DR_DIST_H

#include <stdint.h>

/* The most tasks of one job (each takes a port of its own; drover-launch
 * --spawn starts at most as many on a node). */
#define DIST_MAX_TASKS 256

/* The first task and the number of tasks of node `rank` of `nodes`. */
void dist_share(uint32_t total, uint32_t nodes, uint32_t rank, uint32_t *first,
                uint32_t *count);
/* The most tasks any node runs: ceil(total / nodes). */
uint32_t dist_per_node(uint32_t total, uint32_t nodes);

#endif
