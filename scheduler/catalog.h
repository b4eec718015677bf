/* catalog.h - the vm-size catalog (Azure VM sizes and their resources).
 *
 * Loaded from a CSV data file (deploy/vm-sizes.csv, also compiled into the
 * binaries as the embedded default).  Lookups are case-insensitive.  A
 * catalog is immutable after parsing.
 */
#ifndef DR_CATALOG_H
#define DR_CATALOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char name[64];
    uint32_t vcpus;
    uint64_t memory_mb;
    uint32_t gpus;
    char gpu_model[64];
    uint32_t gpu_memory_gb;
    char family[64];
} vm_size_t;

typedef struct catalog catalog_t;

/* Parses CSV text; on error returns DR_EINVAL and writes "line N: why" to
 * err.  Comment lines start with '#'. */
int catalog_parse(const char *text, catalog_t **out, char *err, size_t errlen);

/* Reads and parses a file. */
int catalog_load(const char *path, catalog_t **out, char *err, size_t errlen);

/* The catalog compiled into the binary. Never NULL. */
catalog_t *catalog_new_default(void);

/* NULL when unknown. */
const vm_size_t *catalog_find(const catalog_t *self, const char *name);
size_t catalog_count(const catalog_t *self);
const vm_size_t *catalog_at(const catalog_t *self, size_t i);

void catalog_destroy(catalog_t **self_p);

#endif
