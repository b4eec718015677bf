/* fake_nvml.c - a stand-in libnvidia-ml for check_gpu.
 *
 * Built as a shared object in the test build only.  It exports the NVML
 * symbols agent/gpu.c looks up with dlsym, answering from canned devices,
 * plus fake_nvml_* controls that the test reaches through its own dlopen of
 * the same file (the same loaded instance, so the same state).  Never
 * installed; knows nothing of drover.  Outside the tests (a dry run of
 * tests/gpu/check.sh on a host without a GPU, through a libnvidia-ml.so.1
 * symlink on LD_LIBRARY_PATH) it shows FAKE_NVML_COUNT devices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAXD 8
#define S_LOST 15
#define S_NOT_SUPPORTED 3
#define S_UNINIT 1
#define S_INVALID 2

enum { LOST_NONE, LOST_HANDLE, LOST_UUID, LOST_TEMPERATURE, LOST_ECC };

typedef struct {
    char uuid[96];
    char name[96];
    unsigned long long mem_total, mem_used;
    unsigned int util_gpu, util_mem, temp, power, limit;
    long long ecc; /* < 0: ECC not supported */
    int lost;      /* which query answers GPU_IS_LOST */
} s_dev_t;

typedef struct {
    unsigned long long total, free, used;
} s_mem_t;
typedef struct {
    unsigned int gpu, memory;
} s_util_t;

static int s_init_rc;
static int s_count_rc;
static int s_inited;
static int s_configured; /* by fake_nvml_reset, else from the environment */
static unsigned int s_count;
static s_dev_t s_dev[S_MAXD];

/* ---- controls ---------------------------------------------------------------
 */

void fake_nvml_reset(unsigned int count)
{
    s_configured = 1;
    s_init_rc = s_count_rc = 0;
    s_count = count > S_MAXD ? S_MAXD : count;
    memset(s_dev, 0, sizeof s_dev);
    for (unsigned int i = 0; i < S_MAXD; i++) {
        s_dev_t *d = &s_dev[i];
        snprintf(d->uuid, sizeof d->uuid, "GPU-fake-%u", i);
        snprintf(d->name, sizeof d->name, "Fake H100 80GB");
        d->mem_total = 80ull << 30;
        d->mem_used = (1ull + i) << 30;
        d->util_gpu = 10 + i;
        d->util_mem = 20 + i;
        d->temp = 35 + i;
        d->power = 70000 + i;
        d->limit = 700000;
    }
}

void fake_nvml_set_init_rc(int rc)
{
    s_init_rc = rc;
}

void fake_nvml_set_count_rc(int rc)
{
    s_count_rc = rc;
}

void fake_nvml_set_ecc(unsigned int i, long long v)
{
    if (i < S_MAXD)
        s_dev[i].ecc = v;
}

void fake_nvml_set_lost(unsigned int i, int where)
{
    if (i < S_MAXD)
        s_dev[i].lost = where;
}

int fake_nvml_inited(void)
{
    return s_inited;
}

/* ---- NVML -------------------------------------------------------------------
 */

static s_dev_t *s_get(void *h)
{
    s_dev_t *d = h;
    return d >= s_dev && d < s_dev + s_count ? d : NULL;
}

int nvmlInit_v2(void)
{
    if (!s_configured) {
        const char *n = getenv("FAKE_NVML_COUNT");
        fake_nvml_reset(n ? (unsigned int)atoi(n) : 0);
    }
    if (s_init_rc == 0)
        s_inited++;
    return s_init_rc;
}

int nvmlShutdown(void)
{
    if (!s_inited)
        return S_UNINIT;
    s_inited--;
    return 0;
}

const char *nvmlErrorString(int rc)
{
    switch (rc) {
    case 0:
        return "Success";
    case S_UNINIT:
        return "Uninitialized";
    case S_NOT_SUPPORTED:
        return "Not Supported";
    case 9:
        return "Driver Not Loaded";
    case S_LOST:
        return "GPU is lost";
    default:
        return "Unknown Error";
    }
}

int nvmlDeviceGetCount_v2(unsigned int *n)
{
    if (!s_inited)
        return S_UNINIT;
    if (s_count_rc)
        return s_count_rc;
    *n = s_count;
    return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void **h)
{
    if (!s_inited)
        return S_UNINIT;
    if (i >= s_count)
        return S_INVALID;
    if (s_dev[i].lost == LOST_HANDLE)
        return S_LOST;
    *h = &s_dev[i];
    return 0;
}

int nvmlDeviceGetUUID(void *h, char *buf, unsigned int len)
{
    s_dev_t *d = s_get(h);
    if (!d)
        return S_INVALID;
    if (d->lost == LOST_UUID)
        return S_LOST;
    snprintf(buf, len, "%s", d->uuid);
    return 0;
}

int nvmlDeviceGetName(void *h, char *buf, unsigned int len)
{
    s_dev_t *d = s_get(h);
    if (!d)
        return S_INVALID;
    snprintf(buf, len, "%s", d->name);
    return 0;
}

int nvmlDeviceGetMemoryInfo(void *h, s_mem_t *m)
{
    s_dev_t *d = s_get(h);
    if (!d)
        return S_INVALID;
    m->total = d->mem_total;
    m->used = d->mem_used;
    m->free = d->mem_total - d->mem_used;
    return 0;
}

int nvmlDeviceGetUtilizationRates(void *h, s_util_t *u)
{
    s_dev_t *d = s_get(h);
    if (!d)
        return S_INVALID;
    u->gpu = d->util_gpu;
    u->memory = d->util_mem;
    return 0;
}

int nvmlDeviceGetTemperature(void *h, int sensor, unsigned int *t)
{
    s_dev_t *d = s_get(h);
    if (!d || sensor != 0)
        return S_INVALID;
    if (d->lost == LOST_TEMPERATURE)
        return S_LOST;
    *t = d->temp;
    return 0;
}

int nvmlDeviceGetPowerUsage(void *h, unsigned int *p)
{
    s_dev_t *d = s_get(h);
    if (!d)
        return S_INVALID;
    *p = d->power;
    return 0;
}

int nvmlDeviceGetEnforcedPowerLimit(void *h, unsigned int *p)
{
    s_dev_t *d = s_get(h);
    if (!d)
        return S_INVALID;
    *p = d->limit;
    return 0;
}

int nvmlDeviceGetTotalEccErrors(void *h, int type, int counter,
                                unsigned long long *n)
{
    s_dev_t *d = s_get(h);
    /* drover asks for uncorrected (1), volatile (0) counts */
    if (!d || type != 1 || counter != 0)
        return S_INVALID;
    if (d->lost == LOST_ECC)
        return S_LOST;
    if (d->ecc < 0)
        return S_NOT_SUPPORTED;
    *n = (unsigned long long)d->ecc;
    return 0;
}
