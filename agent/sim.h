/* sim.h - hollow tasks for simulated nodes (--simulate N).
 *
 * A hollow task runs no process: it lasts as long as its argv says
 * (["sleep", X] lasts X seconds, anything else 0 s).  sim_heap_t is a
 * binary min-heap of task end times shared by all simulated nodes of one
 * agent; entries are deleted lazily (the caller checks that the task it
 * names still exists when an entry comes due).  Owns only its array.
 */
#ifndef DR_SIM_H
#define DR_SIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t at_ms; /* monotonic deadline */
    size_t node;   /* index of the simulated node */
    uint64_t job_id;
    uint32_t attempt;
} sim_timer_t;

typedef struct sim_heap sim_heap_t;

sim_heap_t *sim_heap_new(void);
void sim_heap_destroy(sim_heap_t **self_p);
void sim_heap_push(sim_heap_t *self, const sim_timer_t *t);
/* 0 and *out = earliest entry, or DR_ENOENT when empty. */
int sim_heap_peek(const sim_heap_t *self, sim_timer_t *out);
int sim_heap_pop(sim_heap_t *self, sim_timer_t *out);
size_t sim_heap_size(const sim_heap_t *self);

/* How long a hollow task with this argv runs, in ms: ["sleep", X] with X a
 * finite non-negative number of seconds (fractions allowed, capped at 30
 * days) gives X*1000; anything else 0. */
int64_t sim_duration_ms(char *const *argv, size_t argc);

#endif
