/* ratelim.c - see ratelim.h.  A linear table: it is small (64 keys) and
 * only refusals consult it. */
#include "ratelim.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SLOTS 64

typedef struct {
    char key[128];
    int64_t since; /* mono ms the current window began; 0: free slot */
    uint64_t left_out;
} slot_t;

struct ratelim {
    int64_t window_ms;
    slot_t slots[S_SLOTS];
};

ratelim_t *ratelim_new(int64_t window_ms)
{
    ratelim_t *self = dr_calloc(1, sizeof *self);
    self->window_ms = window_ms;
    return self;
}

void ratelim_destroy(ratelim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

int ratelim_allow(ratelim_t *self, const char *key, int64_t now,
                  uint64_t *suppressed)
{
    slot_t *oldest = &self->slots[0];
    for (size_t i = 0; i < S_SLOTS; i++) {
        slot_t *s = &self->slots[i];
        if (s->since && strncmp(s->key, key, sizeof s->key - 1) == 0) {
            if (now - s->since < self->window_ms) {
                s->left_out++;
                return 0;
            }
            *suppressed = s->left_out;
            s->left_out = 0;
            s->since = now;
            return 1;
        }
        if (!s->since || s->since < oldest->since)
            oldest = s;
    }
    snprintf(oldest->key, sizeof oldest->key, "%s", key);
    oldest->since = now > 0 ? now : 1;
    oldest->left_out = 0;
    *suppressed = 0;
    return 1;
}
