/* envv.h - a task's environment: a NULL-terminated vector of malloc'd
 * "K=V" strings in which a later entry replaces an earlier one of the same
 * name (the job's env over drover's defaults, drover's own over the job's).
 * Owns its strings.
 */
#ifndef DR_ENVV_H
#define DR_ENVV_H

#include <stddef.h>

typedef struct {
    char **v; /* NULL-terminated once anything was put; NULL before */
    size_t n, cap;
} envv_t;

/* Adds kv (taken), replacing an entry of the same name. */
void envv_put(envv_t *e, char *kv);
/* Frees the entries and the vector; e can be reused. */
void envv_free(envv_t *e);

#endif
