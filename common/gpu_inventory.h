/* gpu_inventory.h - a node's GPU list, and the JSON file that describes one.
 *
 * A gpu_list_t is a plain value (no pointers): at most GPU_INVENTORY_MAX
 * GPUs, copied freely, so that "keep the last good inventory" is one
 * assignment.  The JSON inventory file serves hosts without GPUs (tests,
 * the local provider's GPU vm sizes); its format is
 *
 *     {"gpus": [{"index": 0, "uuid": "GPU-...", "name": "Tesla V100-PCIE-16GB",
 *                "memory_total_mb": 16384, "memory_used_mb": 0,
 *                "utilization_gpu": 0, "utilization_memory": 0,
 *                "temperature_c": 40, "power_mw": 50000,
 *                "power_limit_mw": 250000, "ecc_uncorrected": 0,
 *                "healthy": true}, ...]}
 *
 * Every field of a GPU is required; "health_reason" (string) is optional,
 * and the top level may also hold "source" and "reason" (what
 * drover-agent --print-gpus adds).  Anything else is an error, as are
 * duplicate keys, indices or uuids, negative or out-of-range numbers.  A GPU
 * with uncorrected ECC errors is unhealthy whatever "healthy" says.  This
 * module reads and writes files; it never logs and never talks to a driver.
 */
#ifndef DR_GPU_INVENTORY_H
#define DR_GPU_INVENTORY_H

#include "drover.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define GPU_INVENTORY_MAX 64
#define GPU_UUID_MAX 96 /* NVML_DEVICE_UUID_V2_BUFFER_SIZE, with the NUL */
#define GPU_NAME_MAX 96 /* NVML_DEVICE_NAME_V2_BUFFER_SIZE, with the NUL */
#define GPU_INVENTORY_MAX_BYTES (1u << 20)

typedef struct {
    uint32_t index; /* NVML index (PCI bus order), < GPU_INVENTORY_MAX */
    char uuid[GPU_UUID_MAX];
    char name[GPU_NAME_MAX];
    uint64_t memory_total_mb;
    uint64_t memory_used_mb;
    uint32_t utilization_gpu;    /* percent, 0..100 */
    uint32_t utilization_memory; /* percent, 0..100 */
    int32_t temperature_c;
    uint32_t power_mw;
    uint32_t power_limit_mw;
    uint64_t ecc_uncorrected;
    int healthy;
    char health_reason[128]; /* why not healthy; "" when healthy */
} gpu_info_t;

typedef struct {
    size_t count;
    gpu_info_t gpus[GPU_INVENTORY_MAX];
} gpu_list_t;

/* Parses inventory JSON text (len bytes).  0 and *out filled, or DR_EINVAL
 * with "why" in err (e.g. "gpus[1]: missing field 'uuid'"); *out is left
 * untouched on error. */
int gpu_inventory_parse(const char *text, size_t len, gpu_list_t *out,
                        char *err, size_t errlen);

/* Reads and parses a file (at most GPU_INVENTORY_MAX_BYTES).  DR_EIO when it
 * cannot be read (err says why), DR_EINVAL when it is not a valid
 * inventory; err starts with the path either way. */
int gpu_inventory_load(const char *path, gpu_list_t *out, char *err,
                       size_t errlen);

/* The inventory as JSON text {"gpus":[...]} (plus "source" and "reason"
 * when not NULL), which gpu_inventory_parse reads back.  Caller frees. */
char *gpu_inventory_to_json(const gpu_list_t *list, const char *source,
                            const char *reason);

/* Writes a synthetic inventory of `count` identical healthy GPUs of `model`
 * with memory_gb GiB each: index 0..count-1, uuids derived from node_name
 * and the index ("GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", the same for
 * the same node name every time, different across nodes), 40 C, 50 W of a
 * 250 W limit, no ECC errors.  count may be 0.  Written to a temporary file
 * and renamed, so a reader never sees half a file.  0, DR_EINVAL (count >
 * GPU_INVENTORY_MAX, empty or over-long model, invalid node name, memory_gb
 * 0 with count > 0), or DR_EIO (errno kept). */
int gpu_inventory_write(const char *path, uint32_t count, const char *model,
                        uint32_t memory_gb, const char *node_name);

/* The GPU with this index, or NULL. */
const gpu_info_t *gpu_list_find(const gpu_list_t *list, uint32_t index);

/* Checks a task's GPU indices against this node's list: 0, DR_ENOENT ("gpu
 * 3 does not exist on node X"), DR_ESTATE ("gpu 1 on node X is unhealthy
 * (why)"), or DR_EINVAL ("gpu 1 is assigned twice"); the reason in why. */
int gpu_list_check(const gpu_list_t *list, const uint32_t *indices, size_t n,
                   const char *node_name, char *why, size_t whylen);

/* The environment a task gets for these GPU indices (already checked with
 * gpu_list_check), as malloc'd "KEY=VALUE" strings in out[], NULL-terminated,
 * at most GPU_ENV_MAX entries, in this order:
 *   n > 0: CUDA_VISIBLE_DEVICES=1,3  NVIDIA_VISIBLE_DEVICES=1,3
 *          DROVER_GPU_UUIDS=GPU-a,GPU-b  CUDA_DEVICE_ORDER=PCI_BUS_ID
 *   n = 0: CUDA_VISIBLE_DEVICES=  NVIDIA_VISIBLE_DEVICES=void  (none)
 * Indices are NVML's (PCI bus order), hence CUDA_DEVICE_ORDER.  Returns the
 * number of entries. */
#define GPU_ENV_MAX 4
size_t gpu_task_env(const gpu_list_t *list, const uint32_t *indices, size_t n,
                    char *out[GPU_ENV_MAX + 1]);

/* Fills msgs[0..count) and ptrs for a Register/Heartbeat's `gpus`; the
 * messages borrow the list's strings, so the list must outlive them. */
void gpu_list_to_proto(const gpu_list_t *list, Drover__GpuInfo *msgs,
                       Drover__GpuInfo **ptrs);

/* Validates the `gpus` of a received Register/Heartbeat and copies them
 * into out, sorted by index (health_reason "reported unhealthy" for a GPU
 * that is not healthy).  0, or DR_EINVAL with why ("gpus[2]: ..."): more
 * than GPU_INVENTORY_MAX, a missing or over-long uuid/name, index >=
 * GPU_INVENTORY_MAX, utilization over 100, used memory above total,
 * duplicate index or uuid.  *out is left untouched on error. */
int gpu_list_from_proto(Drover__GpuInfo *const *msgs, size_t n, gpu_list_t *out,
                        char *why, size_t whylen);

#endif
