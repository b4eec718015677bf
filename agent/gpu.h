/* gpu.h - this node's GPUs: from NVML, or from an inventory file.
 *
 * A gpu_t owns one GPU source and the current gpu_list_t.  With an
 * inventory path it reads that JSON file (common/gpu_inventory.h) and
 * re-reads it whenever its mtime, size or inode changed; a file that went
 * bad keeps the last good list.  Without one it loads NVML at run time
 * (dlopen, never linked), so the agent builds and runs where no NVIDIA
 * driver exists: then the list is empty and gpu_reason() says why.
 *
 * Health: a GPU with uncorrected (volatile) ECC errors, or one that NVML
 * reports lost from the bus (NVML_ERROR_GPU_IS_LOST from any query), is
 * unhealthy; a GPU whose ECC counters are unsupported is healthy.
 * gpu_refresh() logs each GPU's health changes once, not every call.
 * Never blocks on anything but NVML's own queries and one small file.
 */
#ifndef DR_GPU_H
#define DR_GPU_H

#include "gpu_inventory.h"

#include <stddef.h>
#include <stdint.h>

typedef struct gpu gpu_t;

#define GPU_NVML_LIB "libnvidia-ml.so.1"

/* Creates the source.  inventory_path: a JSON inventory file, or NULL for
 * NVML.  nvml_lib: the library to dlopen, NULL = GPU_NVML_LIB (tests point
 * it elsewhere).  label: names the node in log lines (copied).
 *
 * Returns 0 and *out; NVML being unavailable is not an error (zero GPUs,
 * gpu_reason() says "NVML not available: <dlerror or nvmlInit error>").
 * DR_EINVAL / DR_EIO when the inventory file is bad or unreadable, with
 * the reason in err. */
int gpu_new(const char *inventory_path, const char *nvml_lib, const char *label,
            gpu_t **out, char *err, size_t errlen);

/* nvmlShutdown + dlclose when NVML was loaded.  Accepts NULL; nulls
 * *self_p. */
void gpu_destroy(gpu_t **self_p);

/* Brings the list up to date: re-reads a changed inventory file, or asks
 * NVML again (at most once per min_interval_ms; 0 = always).  Returns 0,
 * or a negative DR_E* code when a re-read failed (logged once per distinct
 * failure; the previous list stays). */
int gpu_refresh(gpu_t *self, int64_t min_interval_ms);

/* The current list; valid until the next gpu_refresh or gpu_destroy. */
const gpu_list_t *gpu_list(const gpu_t *self);

/* "nvml", "file" or "none". */
const char *gpu_source(const gpu_t *self);

/* Why there are no GPUs from NVML ("NVML not available: ..."), or NULL. */
const char *gpu_reason(const gpu_t *self);

#endif
