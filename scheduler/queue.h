/* queue.h - a cluster's waiting jobs, in scheduling order.
 *
 * Order: priority descending, then job id ascending (FIFO within a
 * priority, since ids grow with submission).  One FIFO list per distinct
 * priority level, levels kept sorted: push and remove are O(levels) and
 * O(1), iteration is in order without sorting.  The queue links jobs
 * through their q_* fields and never owns them.
 */
#ifndef DR_QUEUE_H
#define DR_QUEUE_H

#include <stddef.h>

typedef struct job job_t;
typedef struct queue queue_t;

queue_t *queue_new(void);
void queue_destroy(queue_t **self_p);
void queue_push(queue_t *self, job_t *j);
void queue_remove(queue_t *self, job_t *j);
job_t *queue_first(const queue_t *self);
job_t *queue_next(const queue_t *self, const job_t *j);
size_t queue_len(const queue_t *self);

#endif
