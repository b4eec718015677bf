/* envv.c - a task's environment vector (see envv.h). */
#include "envv.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

void envv_put(envv_t *e, char *kv)
{
    size_t kl = strcspn(kv, "=");
    for (size_t i = 0; i < e->n; i++) {
        if (strncmp(e->v[i], kv, kl) == 0 && e->v[i][kl] == '=') {
            free(e->v[i]);
            e->v[i] = kv;
            return;
        }
    }
    if (e->n + 2 > e->cap) {
        e->cap = e->cap ? e->cap * 2 : 32;
        e->v = dr_realloc(e->v, e->cap * sizeof *e->v);
    }
    e->v[e->n++] = kv;
    e->v[e->n] = NULL;
}

void envv_free(envv_t *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    e->v = NULL;
    e->n = e->cap = 0;
}
