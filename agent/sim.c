/* sim.c - hollow-task timing for simulated nodes (see sim.h).
 *
 * Owns the heap array.  Never looks at tasks or sockets: the agent decides
 * what a due entry means.
 */
#include "sim.h"
#include "dr_err.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sim_heap {
    sim_timer_t *v;
    size_t n, cap;
};

sim_heap_t *sim_heap_new(void)
{
    return dr_calloc(1, sizeof(sim_heap_t));
}

void sim_heap_destroy(sim_heap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->v);
    free(*self_p);
    *self_p = NULL;
}

static void s_swap(sim_timer_t *a, sim_timer_t *b)
{
    sim_timer_t t = *a;
    *a = *b;
    *b = t;
}

void sim_heap_push(sim_heap_t *self, const sim_timer_t *t)
{
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 64;
        self->v = dr_realloc(self->v, self->cap * sizeof *self->v);
    }
    size_t i = self->n++;
    self->v[i] = *t;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (self->v[p].at_ms <= self->v[i].at_ms)
            break;
        s_swap(&self->v[p], &self->v[i]);
        i = p;
    }
}

int sim_heap_peek(const sim_heap_t *self, sim_timer_t *out)
{
    if (self->n == 0)
        return DR_ENOENT;
    *out = self->v[0];
    return 0;
}

int sim_heap_pop(sim_heap_t *self, sim_timer_t *out)
{
    if (self->n == 0)
        return DR_ENOENT;
    *out = self->v[0];
    self->v[0] = self->v[--self->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < self->n && self->v[l].at_ms < self->v[m].at_ms)
            m = l;
        if (r < self->n && self->v[r].at_ms < self->v[m].at_ms)
            m = r;
        if (m == i)
            break;
        s_swap(&self->v[m], &self->v[i]);
        i = m;
    }
    return 0;
}

size_t sim_heap_size(const sim_heap_t *self)
{
    return self->n;
}

int64_t sim_duration_ms(char *const *argv, size_t argc)
{
    if (argc != 2 || !argv[0] || !argv[1] || strcmp(argv[0], "sleep") != 0)
        return 0;
    const char *s = argv[1];
    if (!*s || !(s[0] == '.' || (s[0] >= '0' && s[0] <= '9')))
        return 0;
    char *end = NULL;
    double x = strtod(s, &end);
    if (!end || *end != '\0' || !isfinite(x) || x < 0)
        return 0;
    if (x > 30.0 * 86400)
        x = 30.0 * 86400;
    return (int64_t)llround(x * 1000.0);
}
