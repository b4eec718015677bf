/* gpu_inventory.c - GPU lists and the JSON inventory file (see
 * gpu_inventory.h).
 *
 * Everything read here comes from outside (a file an operator or a test
 * wrote, a message from an agent): each value is range-checked before it
 * lands in a gpu_info_t, and a bad input leaves the caller's list as it
 * was.  Owns no state; never logs.
 */
#include "gpu_inventory.h"
#include "dr_err.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- validation shared by the file and the wire ---------------------------
 */

/* uuids go into comma-separated environment variables: no commas, no
 * spaces, nothing a shell or the NVIDIA container runtime would trip on. */
static int s_valid_uuid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= GPU_UUID_MAX)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':' ||
              c == '.'))
            return 0;
    }
    return 1;
}

static int s_valid_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n >= max)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* Checks one GPU on its own and derives the health verdict. */
static int s_check_info(gpu_info_t *g, char *why, size_t n)
{
    if (g->index >= GPU_INVENTORY_MAX) {
        snprintf(why, n, "index %u is not below %d", g->index,
                 GPU_INVENTORY_MAX);
        return DR_EINVAL;
    }
    if (!s_valid_uuid(g->uuid)) {
        snprintf(why, n,
                 "uuid '%.100s' is not 1-%d characters of A-Za-z0-9-_:.",
                 g->uuid, GPU_UUID_MAX - 1);
        return DR_EINVAL;
    }
    if (!s_valid_text(g->name, GPU_NAME_MAX)) {
        snprintf(why, n,
                 "name is empty, over-long or holds control "
                 "characters");
        return DR_EINVAL;
    }
    if (g->utilization_gpu > 100 || g->utilization_memory > 100) {
        snprintf(why, n, "utilization over 100%%");
        return DR_EINVAL;
    }
    if (g->memory_used_mb > g->memory_total_mb) {
        snprintf(why, n,
                 "memory_used_mb %" PRIu64 " above memory_total_mb %" PRIu64,
                 g->memory_used_mb, g->memory_total_mb);
        return DR_EINVAL;
    }
    if (g->ecc_uncorrected > 0) {
        g->healthy = 0;
        snprintf(g->health_reason, sizeof g->health_reason,
                 "%" PRIu64 " uncorrected ECC error(s)", g->ecc_uncorrected);
    }
    if (g->healthy)
        g->health_reason[0] = '\0';
    else if (!g->health_reason[0])
        snprintf(g->health_reason, sizeof g->health_reason,
                 "reported unhealthy");
    return 0;
}

static int s_cmp_index(const void *a, const void *b)
{
    const gpu_info_t *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Duplicates across the list; sorts it by index. */
static int s_check_list(gpu_list_t *l, char *why, size_t n)
{
    for (size_t i = 0; i < l->count; i++) {
        for (size_t j = 0; j < i; j++) {
            if (l->gpus[i].index == l->gpus[j].index) {
                snprintf(why, n, "gpus[%zu]: index %u is also gpus[%zu]'s", i,
                         l->gpus[i].index, j);
                return DR_EINVAL;
            }
            if (strcmp(l->gpus[i].uuid, l->gpus[j].uuid) == 0) {
                snprintf(why, n, "gpus[%zu]: uuid %s is also gpus[%zu]'s", i,
                         l->gpus[i].uuid, j);
                return DR_EINVAL;
            }
        }
    }
    qsort(l->gpus, l->count, sizeof l->gpus[0], s_cmp_index);
    return 0;
}

/* ---- the JSON file ----------------------------------------------------------
 */

typedef enum { S_F_U32, S_F_U64, S_F_I32, S_F_STR, S_F_BOOL } s_ftype_t;

typedef struct {
    const char *key;
    s_ftype_t type;
    int required;
    int64_t max; /* numbers: 0..max */
    size_t off;
    size_t size; /* strings: buffer size */
} s_field_t;

#define S_GOFF(f) offsetof(gpu_info_t, f)
#define S_GSZ(f) sizeof(((gpu_info_t *)0)->f)

static const s_field_t s_fields[] = {
    {"index", S_F_U32, 1, GPU_INVENTORY_MAX - 1, S_GOFF(index), 0},
    {"uuid", S_F_STR, 1, 0, S_GOFF(uuid), S_GSZ(uuid)},
    {"name", S_F_STR, 1, 0, S_GOFF(name), S_GSZ(name)},
    {"memory_total_mb", S_F_U64, 1, (int64_t)1 << 40, S_GOFF(memory_total_mb),
     0},
    {"memory_used_mb", S_F_U64, 1, (int64_t)1 << 40, S_GOFF(memory_used_mb), 0},
    {"utilization_gpu", S_F_U32, 1, 100, S_GOFF(utilization_gpu), 0},
    {"utilization_memory", S_F_U32, 1, 100, S_GOFF(utilization_memory), 0},
    {"temperature_c", S_F_I32, 1, 300, S_GOFF(temperature_c), 0},
    {"power_mw", S_F_U32, 1, UINT32_MAX, S_GOFF(power_mw), 0},
    {"power_limit_mw", S_F_U32, 1, UINT32_MAX, S_GOFF(power_limit_mw), 0},
    {"ecc_uncorrected", S_F_U64, 1, INT64_MAX, S_GOFF(ecc_uncorrected), 0},
    {"healthy", S_F_BOOL, 1, 0, S_GOFF(healthy), 0},
    {"health_reason", S_F_STR, 0, 0, S_GOFF(health_reason),
     S_GSZ(health_reason)},
};
#define S_NFIELDS (sizeof s_fields / sizeof s_fields[0])

static int s_parse_gpu(json_t *o, size_t i, gpu_info_t *g, char *err,
                       size_t errlen)
{
    if (!json_is_object(o)) {
        snprintf(err, errlen, "gpus[%zu]: not an object", i);
        return DR_EINVAL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        size_t f;
        for (f = 0; f < S_NFIELDS; f++)
            if (strcmp(s_fields[f].key, key) == 0)
                break;
        if (f == S_NFIELDS) {
            snprintf(err, errlen, "gpus[%zu]: unknown field '%.64s'", i, key);
            return DR_EINVAL;
        }
    }
    memset(g, 0, sizeof *g);
    for (size_t f = 0; f < S_NFIELDS; f++) {
        const s_field_t *fd = &s_fields[f];
        v = json_object_get(o, fd->key);
        if (!v) {
            if (!fd->required)
                continue;
            snprintf(err, errlen, "gpus[%zu]: missing field '%s'", i, fd->key);
            return DR_EINVAL;
        }
        void *dst = (char *)g + fd->off;
        switch (fd->type) {
        case S_F_STR: {
            if (!json_is_string(v)) {
                snprintf(err, errlen, "gpus[%zu]: '%s' is not a string", i,
                         fd->key);
                return DR_EINVAL;
            }
            const char *s = json_string_value(v);
            if (strlen(s) != json_string_length(v) || strlen(s) >= fd->size) {
                snprintf(err, errlen,
                         "gpus[%zu]: '%s' is longer than %zu bytes or holds "
                         "a NUL",
                         i, fd->key, fd->size - 1);
                return DR_EINVAL;
            }
            memcpy(dst, s, strlen(s) + 1);
            break;
        }
        case S_F_BOOL:
            if (!json_is_boolean(v)) {
                snprintf(err, errlen, "gpus[%zu]: '%s' is not true or false", i,
                         fd->key);
                return DR_EINVAL;
            }
            *(int *)dst = json_is_true(v);
            break;
        default: {
            json_int_t x;
            if (!json_is_integer(v) || (x = json_integer_value(v)) < 0 ||
                x > fd->max) {
                snprintf(err, errlen,
                         "gpus[%zu]: '%s' is not a whole number in 0..%" PRId64,
                         i, fd->key, fd->max);
                return DR_EINVAL;
            }
            if (fd->type == S_F_U32)
                *(uint32_t *)dst = (uint32_t)x;
            else if (fd->type == S_F_I32)
                *(int32_t *)dst = (int32_t)x;
            else
                *(uint64_t *)dst = (uint64_t)x;
            break;
        }
        }
    }
    char why[200];
    if (s_check_info(g, why, sizeof why) < 0) {
        snprintf(err, errlen, "gpus[%zu]: %s", i, why);
        return DR_EINVAL;
    }
    return 0;
}

int gpu_inventory_parse(const char *text, size_t len, gpu_list_t *out,
                        char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    gpu_list_t *l = NULL;
    int rc = DR_EINVAL;
    if (!root) {
        snprintf(err, errlen, "bad JSON at line %d column %d: %s", je.line,
                 je.column, je.text);
        goto out;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "the top level is not an object");
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "gpus") != 0 && strcmp(key, "source") != 0 &&
            strcmp(key, "reason") != 0) {
            snprintf(err, errlen, "unknown top-level field '%.64s'", key);
            goto out;
        }
    }
    json_t *arr = json_object_get(root, "gpus");
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "'gpus' is missing or not an array");
        goto out;
    }
    if (json_array_size(arr) > GPU_INVENTORY_MAX) {
        snprintf(err, errlen, "%zu GPUs (at most %d)", json_array_size(arr),
                 GPU_INVENTORY_MAX);
        goto out;
    }
    l = dr_calloc(1, sizeof *l);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        if (s_parse_gpu(json_array_get(arr, i), i, &l->gpus[i], err, errlen) <
            0)
            goto out;
        l->count++;
    }
    if (s_check_list(l, err, errlen) < 0)
        goto out;
    *out = *l;
    rc = 0;
out:
    free(l);
    json_decref(root);
    return rc;
}

int gpu_inventory_load(const char *path, gpu_list_t *out, char *err,
                       size_t errlen)
{
    int rc = DR_EIO;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return DR_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > GPU_INVENTORY_MAX_BYTES) {
        snprintf(err, errlen, "%s: larger than %u bytes", path,
                 GPU_INVENTORY_MAX_BYTES);
        rc = DR_EINVAL;
        goto out;
    }
    buf = dr_malloc(GPU_INVENTORY_MAX_BYTES + 1);
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, GPU_INVENTORY_MAX_BYTES + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > GPU_INVENTORY_MAX_BYTES) {
            snprintf(err, errlen, "%s: larger than %u bytes", path,
                     GPU_INVENTORY_MAX_BYTES);
            rc = DR_EINVAL;
            goto out;
        }
    }
    char why[384];
    rc = gpu_inventory_parse(buf, len, out, why, sizeof why);
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, why);
out:
    free(buf);
    close(fd);
    return rc;
}

#define S_NN(x) s_nn((x), __FILE__, __LINE__)

static json_t *s_nn(json_t *j, const char *file, int line)
{
    if (!j) {
        fprintf(stderr, "out of memory at %s:%d\n", file, line);
        abort();
    }
    return j;
}

char *gpu_inventory_to_json(const gpu_list_t *list, const char *source,
                            const char *reason)
{
    json_t *root = S_NN(json_object());
    if (source)
        json_object_set_new(root, "source", S_NN(json_string(source)));
    if (reason)
        json_object_set_new(root, "reason", S_NN(json_string(reason)));
    json_t *arr = S_NN(json_array());
    for (size_t i = 0; i < list->count; i++) {
        const gpu_info_t *g = &list->gpus[i];
        json_t *o = S_NN(json_pack(
            "{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
            "index", (json_int_t)g->index, "uuid", g->uuid, "name", g->name,
            "memory_total_mb", (json_int_t)g->memory_total_mb, "memory_used_mb",
            (json_int_t)g->memory_used_mb, "utilization_gpu",
            (json_int_t)g->utilization_gpu, "utilization_memory",
            (json_int_t)g->utilization_memory, "temperature_c",
            (json_int_t)g->temperature_c, "power_mw", (json_int_t)g->power_mw,
            "power_limit_mw", (json_int_t)g->power_limit_mw, "ecc_uncorrected",
            (json_int_t)g->ecc_uncorrected, "healthy", g->healthy ? 1 : 0));
        if (!g->healthy && g->health_reason[0])
            json_object_set_new(o, "health_reason",
                                S_NN(json_string(g->health_reason)));
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "gpus", arr);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!s) {
        fprintf(stderr, "out of memory at %s:%d\n", __FILE__, __LINE__);
        abort();
    }
    /* json_dumps' memory comes from jansson's allocator (malloc by
     * default); hand the caller memory that free() surely takes. */
    char *r = dr_strdup(s);
    free(s);
    return r;
}

/* ---- the synthetic inventory ------------------------------------------------
 */

static uint64_t s_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void s_synthetic_uuid(const char *node, uint32_t index, char *out,
                             size_t n)
{
    uint64_t h[2];
    for (int k = 0; k < 2; k++) {
        uint64_t x = 14695981039346656037ull ^ (uint64_t)(k + 1);
        x = s_fnv1a(x, node, strlen(node));
        x = s_fnv1a(x, "/", 1);
        x = s_fnv1a(x, &index, sizeof index);
        /* FNV's low bits mix poorly for short inputs; a final avalanche. */
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        h[k] = x;
    }
    snprintf(out, n, "GPU-%08x-%04x-%04x-%04x-%012" PRIx64,
             (unsigned)(h[0] >> 32), (unsigned)(h[0] >> 16) & 0xffff,
             (unsigned)h[0] & 0xffff, (unsigned)(h[1] >> 48),
             h[1] & (uint64_t)0xffffffffffff);
}

int gpu_inventory_write(const char *path, uint32_t count, const char *model,
                        uint32_t memory_gb, const char *node_name)
{
    if (!path || !*path || count > GPU_INVENTORY_MAX || !node_name ||
        !dr_valid_name(node_name) || (count > 0 && memory_gb == 0) ||
        (count > 0 && (!model || !s_valid_text(model, GPU_NAME_MAX))))
        return DR_EINVAL;
    gpu_list_t *l = dr_calloc(1, sizeof *l);
    for (uint32_t i = 0; i < count; i++) {
        gpu_info_t *g = &l->gpus[i];
        g->index = i;
        s_synthetic_uuid(node_name, i, g->uuid, sizeof g->uuid);
        snprintf(g->name, sizeof g->name, "%s", model);
        g->memory_total_mb = (uint64_t)memory_gb * 1024;
        g->temperature_c = 40;
        g->power_mw = 50000;
        g->power_limit_mw = 250000;
        g->healthy = 1;
    }
    l->count = count;
    char *text = gpu_inventory_to_json(l, NULL, NULL);
    free(l);
    char *tmp = dr_asprintf("%s.tmp.%d", path, (int)getpid());
    int rc = DR_EIO;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        goto out;
    if (dr_write_all(fd, text, strlen(text)) < 0 ||
        dr_write_all(fd, "\n", 1) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        goto out;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        goto out;
    }
    rc = 0;
out:
    free(tmp);
    free(text);
    return rc;
}

/* ---- lookups, checks, the task's environment --------------------------------
 */

const gpu_info_t *gpu_list_find(const gpu_list_t *list, uint32_t index)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->gpus[i].index == index)
            return &list->gpus[i];
    return NULL;
}

int gpu_list_check(const gpu_list_t *list, const uint32_t *indices, size_t n,
                   const char *node_name, char *why, size_t whylen)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (indices[i] == indices[j]) {
                snprintf(why, whylen, "gpu %u is assigned twice", indices[i]);
                return DR_EINVAL;
            }
        }
        const gpu_info_t *g = gpu_list_find(list, indices[i]);
        if (!g) {
            snprintf(why, whylen, "gpu %u does not exist on node %s",
                     indices[i], node_name);
            return DR_ENOENT;
        }
        if (!g->healthy) {
            snprintf(why, whylen, "gpu %u on node %s is unhealthy (%s)",
                     indices[i], node_name,
                     g->health_reason[0] ? g->health_reason : "unknown");
            return DR_ESTATE;
        }
    }
    return 0;
}

size_t gpu_task_env(const gpu_list_t *list, const uint32_t *indices, size_t n,
                    char *out[GPU_ENV_MAX + 1])
{
    if (n == 0) {
        /* "void": the NVIDIA container runtime then mounts no GPU even for
         * images whose default is "all" (CUDA base images) */
        out[0] = dr_strdup("CUDA_VISIBLE_DEVICES=");
        out[1] = dr_strdup("NVIDIA_VISIBLE_DEVICES=void");
        out[2] = NULL;
        return 2;
    }
    dr_buf_t idx = {0}, uuids = {0};
    for (size_t i = 0; i < n; i++) {
        const gpu_info_t *g = gpu_list_find(list, indices[i]);
        dr_buf_printf(&idx, "%s%u", i ? "," : "", indices[i]);
        dr_buf_printf(&uuids, "%s%s", i ? "," : "", g ? g->uuid : "");
    }
    out[0] = dr_asprintf("CUDA_VISIBLE_DEVICES=%s", idx.data);
    out[1] = dr_asprintf("NVIDIA_VISIBLE_DEVICES=%s", idx.data);
    out[2] = dr_asprintf("DROVER_GPU_UUIDS=%s", uuids.data);
    out[3] = dr_strdup("CUDA_DEVICE_ORDER=PCI_BUS_ID");
    out[4] = NULL;
    dr_buf_free(&idx);
    dr_buf_free(&uuids);
    return 4;
}

/* ---- the wire ---------------------------------------------------------------
 */

void gpu_list_to_proto(const gpu_list_t *list, Drover__GpuInfo *msgs,
                       Drover__GpuInfo **ptrs)
{
    for (size_t i = 0; i < list->count; i++) {
        const gpu_info_t *g = &list->gpus[i];
        Drover__GpuInfo *m = &msgs[i];
        drover__gpu_info__init(m);
        m->index = g->index;
        m->uuid = (char *)g->uuid;
        m->name = (char *)g->name;
        m->memory_total_mb = g->memory_total_mb;
        m->memory_used_mb = g->memory_used_mb;
        m->utilization_gpu = g->utilization_gpu;
        m->utilization_memory = g->utilization_memory;
        m->temperature_c = g->temperature_c;
        m->power_mw = g->power_mw;
        m->power_limit_mw = g->power_limit_mw;
        m->ecc_uncorrected = g->ecc_uncorrected;
        m->healthy = g->healthy ? 1 : 0;
        ptrs[i] = m;
    }
}

int gpu_list_from_proto(Drover__GpuInfo *const *msgs, size_t n, gpu_list_t *out,
                        char *why, size_t whylen)
{
    if (n > GPU_INVENTORY_MAX) {
        snprintf(why, whylen, "%zu GPUs (at most %d)", n, GPU_INVENTORY_MAX);
        return DR_EINVAL;
    }
    gpu_list_t *l = dr_calloc(1, sizeof *l);
    int rc = DR_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const Drover__GpuInfo *m = msgs[i];
        gpu_info_t *g = &l->gpus[i];
        if (!m || !m->uuid || !m->name || strlen(m->uuid) >= GPU_UUID_MAX ||
            strlen(m->name) >= GPU_NAME_MAX) {
            snprintf(why, whylen, "gpus[%zu]: uuid or name missing or too long",
                     i);
            goto out;
        }
        g->index = m->index;
        memcpy(g->uuid, m->uuid, strlen(m->uuid) + 1);
        memcpy(g->name, m->name, strlen(m->name) + 1);
        g->memory_total_mb = m->memory_total_mb;
        g->memory_used_mb = m->memory_used_mb;
        g->utilization_gpu = m->utilization_gpu;
        g->utilization_memory = m->utilization_memory;
        g->temperature_c = m->temperature_c;
        g->power_mw = m->power_mw;
        g->power_limit_mw = m->power_limit_mw;
        g->ecc_uncorrected = m->ecc_uncorrected;
        g->healthy = m->healthy ? 1 : 0;
        char w[200];
        if (s_check_info(g, w, sizeof w) < 0) {
            snprintf(why, whylen, "gpus[%zu]: %s", i, w);
            goto out;
        }
        l->count++;
    }
    if (s_check_list(l, why, whylen) < 0)
        goto out;
    *out = *l;
    rc = 0;
out:
    free(l);
    return rc;
}
