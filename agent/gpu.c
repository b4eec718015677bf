/* gpu.c - this node's GPUs through NVML or an inventory file (see gpu.h).
 *
 * NVML is reached only through dlopen/dlsym: the few symbols and types used
 * are declared here, so neither the NVIDIA headers nor the library are
 * needed to build, and a host without a driver simply has no GPUs.  Owns
 * the dlopen handle (NVML initialised for as long as it is open), the
 * inventory path, and the current list.  Every value NVML hands back is
 * clamped into the ranges gpu_inventory.h promises, so that the list can
 * go on the wire unchecked.  Must never abort on anything NVML or the file
 * does.
 */
#include "gpu.h"
#include "dr_err.h"
#include "log.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the slice of nvml.h drover uses ----------------------------------------
 */

typedef int s_nvml_ret_t; /* nvmlReturn_t */
typedef struct s_nvml_device *s_nvml_device_t;
typedef struct {
    unsigned long long total, free, used; /* bytes */
} s_nvml_memory_t;
typedef struct {
    unsigned int gpu, memory; /* percent */
} s_nvml_util_t;

#define S_NVML_SUCCESS 0
#define S_NVML_ERROR_NOT_SUPPORTED 3
#define S_NVML_ERROR_GPU_IS_LOST 15
#define S_NVML_TEMPERATURE_GPU 0
#define S_NVML_MEMORY_ERROR_TYPE_UNCORRECTED 1
#define S_NVML_VOLATILE_ECC 0

typedef struct {
    s_nvml_ret_t (*init)(void);
    s_nvml_ret_t (*shutdown)(void);
    s_nvml_ret_t (*count)(unsigned int *);
    s_nvml_ret_t (*handle)(unsigned int, s_nvml_device_t *);
    s_nvml_ret_t (*uuid)(s_nvml_device_t, char *, unsigned int);
    s_nvml_ret_t (*name)(s_nvml_device_t, char *, unsigned int);
    const char *(*errstr)(s_nvml_ret_t);
    /* optional: a missing one leaves its value 0 */
    s_nvml_ret_t (*memory)(s_nvml_device_t, s_nvml_memory_t *);
    s_nvml_ret_t (*util)(s_nvml_device_t, s_nvml_util_t *);
    s_nvml_ret_t (*temp)(s_nvml_device_t, int, unsigned int *);
    s_nvml_ret_t (*power)(s_nvml_device_t, unsigned int *);
    s_nvml_ret_t (*limit)(s_nvml_device_t, unsigned int *);
    s_nvml_ret_t (*ecc)(s_nvml_device_t, int, int, unsigned long long *);
} s_nvml_t;

static const struct {
    const char *sym;
    const char *fallback; /* older drivers' name, or NULL */
    size_t off;
    int required;
} s_syms[] = {
    {"nvmlInit_v2", NULL, offsetof(s_nvml_t, init), 1},
    {"nvmlShutdown", NULL, offsetof(s_nvml_t, shutdown), 1},
    {"nvmlDeviceGetCount_v2", NULL, offsetof(s_nvml_t, count), 1},
    {"nvmlDeviceGetHandleByIndex_v2", NULL, offsetof(s_nvml_t, handle), 1},
    {"nvmlDeviceGetUUID", NULL, offsetof(s_nvml_t, uuid), 1},
    {"nvmlDeviceGetName", NULL, offsetof(s_nvml_t, name), 1},
    {"nvmlErrorString", NULL, offsetof(s_nvml_t, errstr), 1},
    {"nvmlDeviceGetMemoryInfo", NULL, offsetof(s_nvml_t, memory), 0},
    {"nvmlDeviceGetUtilizationRates", NULL, offsetof(s_nvml_t, util), 0},
    {"nvmlDeviceGetTemperature", NULL, offsetof(s_nvml_t, temp), 0},
    {"nvmlDeviceGetPowerUsage", NULL, offsetof(s_nvml_t, power), 0},
    {"nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetPowerManagementLimit",
     offsetof(s_nvml_t, limit), 0},
    {"nvmlDeviceGetTotalEccErrors", NULL, offsetof(s_nvml_t, ecc), 0},
};

/* ---- the class --------------------------------------------------------------
 */

typedef enum { S_SRC_NONE, S_SRC_NVML, S_SRC_FILE } s_src_t;

struct gpu {
    s_src_t src;
    char *label;
    char *reason; /* why no NVML */
    gpu_list_t list;
    /* NVML */
    void *dl;
    s_nvml_t nv;
    int64_t last_query;
    s_nvml_ret_t last_count_err;
    /* file */
    char *path;
    struct stat seen; /* of the last read attempt */
    int stat_failed;  /* the last stat failed (logged) */
    int started;      /* gpu_new is done (its caller logs the first count) */
};

static void s_set_reason(gpu_t *self, const char *fmt, const char *a,
                         const char *b)
{
    free(self->reason);
    self->reason = dr_asprintf(fmt, a, b);
}

static const char *s_err(const gpu_t *self, s_nvml_ret_t r)
{
    const char *s = self->nv.errstr ? self->nv.errstr(r) : NULL;
    return s ? s : "unknown NVML error";
}

/* Logs what changed in health between two lists, once per change. */
static void s_log_changes(const gpu_t *self, const gpu_list_t *old,
                          const gpu_list_t *cur)
{
    if (self->started && old->count != cur->count)
        log_info("gpu: node %s: %zu GPU(s) (%s)", self->label, cur->count,
                 gpu_source(self));
    for (size_t i = 0; i < cur->count; i++) {
        const gpu_info_t *g = &cur->gpus[i];
        const gpu_info_t *o = gpu_list_find(old, g->index);
        if (!g->healthy && (!o || o->healthy))
            log_warn("gpu: node %s: gpu %u (%s) is unhealthy: %s", self->label,
                     g->index, g->uuid, g->health_reason);
        else if (g->healthy && o && !o->healthy)
            log_info("gpu: node %s: gpu %u (%s) is healthy again", self->label,
                     g->index, g->uuid);
    }
}

/* ---- NVML -------------------------------------------------------------------
 */

static int s_nvml_open(gpu_t *self, const char *lib)
{
    self->dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!self->dl) {
        const char *e = dlerror();
        s_set_reason(self, "NVML not available: %s%s", e ? e : lib, "");
        return DR_EUNSUPP;
    }
    for (size_t i = 0; i < sizeof s_syms / sizeof s_syms[0]; i++) {
        void *p = dlsym(self->dl, s_syms[i].sym);
        if (!p && s_syms[i].fallback)
            p = dlsym(self->dl, s_syms[i].fallback);
        if (!p && s_syms[i].required) {
            s_set_reason(self, "NVML not available: %s has no %s", lib,
                         s_syms[i].sym);
            goto fail;
        }
        memcpy((char *)&self->nv + s_syms[i].off, &p, sizeof p);
    }
    s_nvml_ret_t r = self->nv.init();
    if (r != S_NVML_SUCCESS) {
        s_set_reason(self, "NVML not available: nvmlInit: %s%s", s_err(self, r),
                     "");
        goto fail;
    }
    return 0;
fail:
    dlclose(self->dl);
    self->dl = NULL;
    memset(&self->nv, 0, sizeof self->nv);
    return DR_EUNSUPP;
}

/* Notes a query's result: GPU_IS_LOST sets *lost; 1 when it succeeded. */
static int s_ok(s_nvml_ret_t r, int *lost)
{
    if (r == S_NVML_ERROR_GPU_IS_LOST)
        *lost = 1;
    return r == S_NVML_SUCCESS;
}

/* A GPU that no query can name still needs a stable name on the wire:
 * what it was called the last time, else a placeholder; and only
 * characters that are safe to print. */
static void s_fix_names(gpu_info_t *g, const gpu_info_t *p, unsigned int i)
{
    if (!g->uuid[0] && p)
        snprintf(g->uuid, sizeof g->uuid, "%s", p->uuid);
    else if (!g->uuid[0])
        snprintf(g->uuid, sizeof g->uuid, "GPU-unknown-%u", i);
    for (char *c = g->uuid; *c; c++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789-_:.",
                    *c))
            *c = '_';
    if (!g->name[0])
        snprintf(g->name, sizeof g->name, "%s", p ? p->name : "unknown");
    for (char *c = g->name; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
}

static void s_nvml_query(gpu_t *self, unsigned int i, const gpu_list_t *prev,
                         gpu_info_t *g)
{
    const s_nvml_t *nv = &self->nv;
    const gpu_info_t *p = gpu_list_find(prev, i);
    memset(g, 0, sizeof *g);
    g->index = i;
    int lost = 0;
    char failed[96] = "";
    s_nvml_device_t dev = NULL;
    s_nvml_ret_t r = nv->handle(i, &dev);
    int have = s_ok(r, &lost);
    if (!have)
        snprintf(failed, sizeof failed, "handle: %s", s_err(self, r));
    if (have && !s_ok(r = nv->uuid(dev, g->uuid, sizeof g->uuid), &lost)) {
        g->uuid[0] = '\0';
        snprintf(failed, sizeof failed, "uuid: %s", s_err(self, r));
    }
    if (have && !s_ok(nv->name(dev, g->name, sizeof g->name), &lost))
        g->name[0] = '\0';
    g->uuid[sizeof g->uuid - 1] = g->name[sizeof g->name - 1] = '\0';
    if (have && nv->memory) {
        s_nvml_memory_t m;
        if (s_ok(nv->memory(dev, &m), &lost)) {
            g->memory_total_mb = m.total / (1024 * 1024);
            g->memory_used_mb = m.used / (1024 * 1024);
            if (g->memory_used_mb > g->memory_total_mb)
                g->memory_used_mb = g->memory_total_mb;
        }
    }
    if (have && nv->util) {
        s_nvml_util_t u;
        if (s_ok(nv->util(dev, &u), &lost)) {
            g->utilization_gpu = u.gpu > 100 ? 100 : u.gpu;
            g->utilization_memory = u.memory > 100 ? 100 : u.memory;
        }
    }
    unsigned int v;
    if (have && nv->temp &&
        s_ok(nv->temp(dev, S_NVML_TEMPERATURE_GPU, &v), &lost))
        g->temperature_c = v > 300 ? 300 : (int32_t)v;
    if (have && nv->power && s_ok(nv->power(dev, &v), &lost))
        g->power_mw = v;
    if (have && nv->limit && s_ok(nv->limit(dev, &v), &lost))
        g->power_limit_mw = v;
    unsigned long long ecc = 0;
    int ecc_rc = S_NVML_ERROR_NOT_SUPPORTED;
    if (have && nv->ecc) {
        ecc_rc = nv->ecc(dev, S_NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
                         S_NVML_VOLATILE_ECC, &ecc);
        s_ok(ecc_rc, &lost);
    }
    s_fix_names(g, p, i);
    g->healthy = 1;
    if (lost) {
        g->healthy = 0;
        snprintf(g->health_reason, sizeof g->health_reason,
                 "lost from the bus (NVML_ERROR_GPU_IS_LOST)");
    } else if (!have || failed[0]) {
        g->healthy = 0;
        snprintf(g->health_reason, sizeof g->health_reason, "NVML %s", failed);
    } else if (ecc_rc == S_NVML_SUCCESS && ecc > 0) {
        g->healthy = 0;
        g->ecc_uncorrected = ecc;
        snprintf(g->health_reason, sizeof g->health_reason,
                 "%llu uncorrected ECC error(s)", ecc);
    }
    /* ECC unsupported (or any other ECC answer): no verdict from it. */
}

static int s_nvml_refresh(gpu_t *self)
{
    gpu_list_t *cur = dr_calloc(1, sizeof *cur);
    unsigned int n = 0;
    s_nvml_ret_t r = self->nv.count(&n);
    if (r != S_NVML_SUCCESS) {
        /* Cannot see them: nothing may be placed on them. */
        *cur = self->list;
        for (size_t i = 0; i < cur->count; i++) {
            cur->gpus[i].healthy = 0;
            snprintf(cur->gpus[i].health_reason,
                     sizeof cur->gpus[i].health_reason, "NVML device count: %s",
                     s_err(self, r));
        }
        if (r != self->last_count_err)
            log_warn("gpu: node %s: nvmlDeviceGetCount: %s", self->label,
                     s_err(self, r));
        self->last_count_err = r;
    } else {
        self->last_count_err = 0;
        if (n > GPU_INVENTORY_MAX)
            n = GPU_INVENTORY_MAX;
        for (unsigned int i = 0; i < n; i++)
            s_nvml_query(self, i, &self->list, &cur->gpus[i]);
        cur->count = n;
    }
    s_log_changes(self, &self->list, cur);
    self->list = *cur;
    free(cur);
    return r == S_NVML_SUCCESS ? 0 : DR_EIO;
}

/* ---- the inventory file -----------------------------------------------------
 */

static int s_same_stat(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int s_file_refresh(gpu_t *self)
{
    struct stat st;
    if (stat(self->path, &st) < 0) {
        if (!self->stat_failed)
            log_warn("gpu: node %s: inventory %s: %s; keeping the last good "
                     "inventory",
                     self->label, self->path, strerror(errno));
        self->stat_failed = 1;
        return DR_EIO;
    }
    if (!self->stat_failed && s_same_stat(&st, &self->seen))
        return 0;
    self->stat_failed = 0;
    self->seen = st;
    gpu_list_t *cur = dr_calloc(1, sizeof *cur);
    char err[512];
    int rc = gpu_inventory_load(self->path, cur, err, sizeof err);
    if (rc < 0) {
        log_warn("gpu: node %s: bad inventory, keeping the last good one: %s",
                 self->label, err);
    } else {
        log_debug("gpu: node %s: re-read %s", self->label, self->path);
        s_log_changes(self, &self->list, cur);
        self->list = *cur;
    }
    free(cur);
    return rc;
}

/* ---- public -----------------------------------------------------------------
 */

int gpu_new(const char *inventory_path, const char *nvml_lib, const char *label,
            gpu_t **out, char *err, size_t errlen)
{
    gpu_t *self = dr_calloc(1, sizeof *self);
    self->label = dr_strdup(label ? label : "-");
    if (inventory_path) {
        self->src = S_SRC_FILE;
        self->path = dr_strdup(inventory_path);
        if (stat(self->path, &self->seen) < 0) {
            snprintf(err, errlen, "%s: %s", self->path, strerror(errno));
            gpu_destroy(&self);
            return DR_EIO;
        }
        int rc = gpu_inventory_load(self->path, &self->list, err, errlen);
        if (rc < 0) {
            gpu_destroy(&self);
            return rc;
        }
    } else if (s_nvml_open(self, nvml_lib ? nvml_lib : GPU_NVML_LIB) == 0) {
        self->src = S_SRC_NVML;
        (void)s_nvml_refresh(self);
        self->last_query = dr_mono_ms();
    } else {
        self->src = S_SRC_NONE;
    }
    self->started = 1;
    *out = self;
    return 0;
}

void gpu_destroy(gpu_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gpu_t *self = *self_p;
    if (self->dl) {
        self->nv.shutdown();
        dlclose(self->dl);
    }
    free(self->label);
    free(self->reason);
    free(self->path);
    free(self);
    *self_p = NULL;
}

int gpu_refresh(gpu_t *self, int64_t min_interval_ms)
{
    switch (self->src) {
    case S_SRC_FILE:
        return s_file_refresh(self);
    case S_SRC_NVML: {
        int64_t now = dr_mono_ms();
        if (min_interval_ms > 0 && now - self->last_query < min_interval_ms)
            return 0;
        self->last_query = now;
        return s_nvml_refresh(self);
    }
    default:
        return 0;
    }
}

const gpu_list_t *gpu_list(const gpu_t *self)
{
    return &self->list;
}

const char *gpu_source(const gpu_t *self)
{
    switch (self->src) {
    case S_SRC_FILE:
        return "file";
    case S_SRC_NVML:
        return "nvml";
    default:
        return "none";
    }
}

const char *gpu_reason(const gpu_t *self)
{
    return self->src == S_SRC_NONE ? self->reason : NULL;
}
