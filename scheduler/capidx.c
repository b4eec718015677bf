/* capidx.c - see capidx.h.  A skip list (Pugh's) with p = 1/4; its
 * levels come from a xorshift generator of its own, so that a run is
 * reproducible and no state is shared. */
#include "capidx.h"
#include "sched_int.h"
#include "util.h"

#include <stdlib.h>

struct capidx {
    node_t *head[CAPIDX_LEVELS];
    int levels; /* in use, >= 1 */
    uint64_t seq;
    uint64_t rng;
};

capidx_t *capidx_new(void)
{
    capidx_t *self = dr_calloc(1, sizeof *self);
    self->levels = 1;
    self->rng = 0x9e3779b97f4a7c15ULL;
    return self;
}

void capidx_destroy(capidx_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

static int s_levels(capidx_t *self)
{
    uint64_t x = self->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    self->rng = x;
    int l = 1;
    while (l < CAPIDX_LEVELS && (x & 3) == 0) {
        l++;
        x >>= 2;
    }
    return l;
}

/* a's key < (cpus, mem, seq) */
static int s_before(const node_t *a, int64_t cpus, int64_t mem, uint64_t seq)
{
    if (a->cap.cpus != cpus)
        return a->cap.cpus < cpus;
    if (a->cap.mem_mb != mem)
        return a->cap.mem_mb < mem;
    return a->cap.seq < seq;
}

/* The links that point at the first node at or after the key, per level
 * (the head's slots where no node comes before it). */
static void s_find(capidx_t *self, int64_t cpus, int64_t mem, uint64_t seq,
                   node_t ***prev)
{
    node_t **slots = self->head;
    for (int l = self->levels - 1; l >= 0; l--) {
        while (slots[l] && s_before(slots[l], cpus, mem, seq))
            slots = slots[l]->cap.next;
        prev[l] = &slots[l];
    }
}

static void s_link(capidx_t *self, node_t *n)
{
    node_t **prev[CAPIDX_LEVELS];
    int lv = n->cap.levels;
    while (self->levels < lv)
        self->head[self->levels++] = NULL;
    s_find(self, n->cap.cpus, n->cap.mem_mb, n->cap.seq, prev);
    for (int l = 0; l < lv; l++) {
        n->cap.next[l] = *prev[l];
        *prev[l] = n;
    }
}

static void s_unlink(capidx_t *self, node_t *n)
{
    node_t **prev[CAPIDX_LEVELS];
    s_find(self, n->cap.cpus, n->cap.mem_mb, n->cap.seq, prev);
    for (int l = 0; l < n->cap.levels; l++)
        if (*prev[l] == n)
            *prev[l] = n->cap.next[l];
}

static void s_key(node_t *n)
{
    n->cap.cpus = (int64_t)n->cpus - (int64_t)n->cpus_used;
    n->cap.mem_mb = (int64_t)n->memory_mb - (int64_t)n->memory_used_mb;
}

void capidx_insert(capidx_t *self, node_t *n)
{
    s_key(n);
    n->cap.seq = ++self->seq;
    n->cap.levels = s_levels(self);
    s_link(self, n);
}

void capidx_remove(capidx_t *self, node_t *n)
{
    if (!n->cap.levels)
        return;
    s_unlink(self, n);
    n->cap.levels = 0;
}

void capidx_update(capidx_t *self, node_t *n)
{
    if (!n->cap.levels)
        return;
    int64_t cpus = (int64_t)n->cpus - (int64_t)n->cpus_used;
    int64_t mem = (int64_t)n->memory_mb - (int64_t)n->memory_used_mb;
    if (cpus == n->cap.cpus && mem == n->cap.mem_mb)
        return;
    s_unlink(self, n);
    s_key(n);
    s_link(self, n);
}

node_t *capidx_seek(const capidx_t *self, int64_t cpus, int64_t mem_mb)
{
    node_t *const *slots = self->head;
    for (int l = self->levels - 1; l >= 0; l--)
        while (slots[l] && s_before(slots[l], cpus, mem_mb, 0))
            slots = slots[l]->cap.next;
    return slots[0];
}

node_t *capidx_next(const node_t *n)
{
    return n->cap.next[0];
}

int64_t capidx_max_cpus(const capidx_t *self)
{
    node_t *const *slots = self->head;
    const node_t *last = NULL;
    for (int l = self->levels - 1; l >= 0; l--)
        while (slots[l]) {
            last = slots[l];
            slots = slots[l]->cap.next;
        }
    return last ? last->cap.cpus : -1;
}
