/* queue.c - see queue.h. */
#include "queue.h"
#include "sched_int.h"
#include "util.h"

#include <stdlib.h>

typedef struct level {
    int priority;
    job_t *head, *tail;
    struct level *next; /* towards lower priority */
} level_t;

struct queue {
    level_t *levels;
    size_t n;
};

queue_t *queue_new(void)
{
    return dr_calloc(1, sizeof(queue_t));
}

void queue_destroy(queue_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    level_t *l = (*self_p)->levels;
    while (l) {
        level_t *next = l->next;
        free(l);
        l = next;
    }
    free(*self_p);
    *self_p = NULL;
}

void queue_push(queue_t *self, job_t *j)
{
    level_t **pp = &self->levels;
    while (*pp && (*pp)->priority > j->priority)
        pp = &(*pp)->next;
    level_t *l = *pp;
    if (!l || l->priority != j->priority) {
        level_t *nl = dr_calloc(1, sizeof *nl);
        nl->priority = j->priority;
        nl->next = l;
        *pp = nl;
        l = nl;
    }
    /* New submissions have the highest id: append.  A requeued job walks
     * back from the tail to its place by id. */
    job_t *after = l->tail;
    while (after && after->id > j->id)
        after = after->q_prev;
    j->q_level = l;
    j->q_prev = after;
    j->q_next = after ? after->q_next : l->head;
    if (j->q_next)
        j->q_next->q_prev = j;
    else
        l->tail = j;
    if (after)
        after->q_next = j;
    else
        l->head = j;
    self->n++;
}

void queue_remove(queue_t *self, job_t *j)
{
    level_t *l = j->q_level;
    if (!l)
        return;
    if (j->q_prev)
        j->q_prev->q_next = j->q_next;
    else
        l->head = j->q_next;
    if (j->q_next)
        j->q_next->q_prev = j->q_prev;
    else
        l->tail = j->q_prev;
    j->q_prev = j->q_next = NULL;
    j->q_level = NULL;
    self->n--;
    if (!l->head) {
        level_t **pp = &self->levels;
        while (*pp != l)
            pp = &(*pp)->next;
        *pp = l->next;
        free(l);
    }
}

job_t *queue_first(const queue_t *self)
{
    for (level_t *l = self->levels; l; l = l->next)
        if (l->head)
            return l->head;
    return NULL;
}

job_t *queue_next(const queue_t *self, const job_t *j)
{
    (void)self;
    if (j->q_next)
        return j->q_next;
    for (level_t *l = ((level_t *)j->q_level)->next; l; l = l->next)
        if (l->head)
            return l->head;
    return NULL;
}

size_t queue_len(const queue_t *self)
{
    return self->n;
}
