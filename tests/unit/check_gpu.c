/* check_gpu.c - unit tests of GPU support: the JSON inventory (parse, every
 * kind of bad file, the synthetic writer, the wire), the agent's gpu_t (file
 * re-read, NVML absent, NVML through a fake libnvidia-ml loaded with dlopen:
 * ECC errors, unsupported ECC, GPU_IS_LOST), and the agent end to end
 * against a fake scheduler: GPUs in Register/Heartbeat, the env a task
 * gets, TaskStart with a missing or unhealthy GPU. */
#include "agent.h"
#include "agent_cfg.h"
#include "dr_err.h"
#include "fake_sched.h"
#include "gpu.h"
#include "gpu_inventory.h"
#include "util.h"
#include "wire.h"

#include <check.h>
#include <dlfcn.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* ---- helpers ----------------------------------------------------------------
 */

static void s_setup(void)
{
    s_dir_make("check-gpu");
}

static char *s_path(const char *name)
{
    return dr_asprintf("%s/%s", s_dir, name);
}

/* Writes through a temporary file and a rename, as a careful writer does. */
static void s_write(const char *path, const char *text)
{
    char *tmp = dr_asprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(rename(tmp, path), 0);
    free(tmp);
}

/* One GPU object with every field; `extra` is spliced in before the
 * closing brace (",\"x\":1"), `drop` names a field to leave out. */
static void s_gpu_obj(dr_buf_t *b, unsigned idx, const char *uuid, int healthy,
                      unsigned long long ecc, const char *drop,
                      const char *extra)
{
    struct {
        const char *k;
        char v[96];
    } f[12];
    int n = 0;
#define S_KV(key, ...)                                                         \
    do {                                                                       \
        f[n].k = key;                                                          \
        snprintf(f[n].v, sizeof f[n].v, __VA_ARGS__);                          \
        n++;                                                                   \
    } while (0)
    S_KV("index", "%u", idx);
    S_KV("uuid", "\"%s\"", uuid);
    S_KV("name", "\"Tesla V100-PCIE-16GB\"");
    S_KV("memory_total_mb", "16384");
    S_KV("memory_used_mb", "%u", 100 + idx);
    S_KV("utilization_gpu", "%u", 5 + idx);
    S_KV("utilization_memory", "%u", 7 + idx);
    S_KV("temperature_c", "%u", 40 + idx);
    S_KV("power_mw", "50000");
    S_KV("power_limit_mw", "250000");
    S_KV("ecc_uncorrected", "%llu", ecc);
    S_KV("healthy", "%s", healthy ? "true" : "false");
#undef S_KV
    dr_buf_printf(b, "{");
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (drop && strcmp(drop, f[i].k) == 0)
            continue;
        dr_buf_printf(b, "%s\"%s\": %s", first ? "" : ", ", f[i].k, f[i].v);
        first = 0;
    }
    dr_buf_printf(b, "%s}", extra ? extra : "");
}

/* {"gpus":[ n GPUs ]}; GPU i is unhealthy when bit i of sick is set. */
static char *s_inventory(unsigned n, unsigned sick)
{
    dr_buf_t b = {0};
    dr_buf_printf(&b, "{\"gpus\": [");
    for (unsigned i = 0; i < n; i++) {
        char uuid[64];
        snprintf(uuid, sizeof uuid, "GPU-test-%u", i);
        if (i)
            dr_buf_printf(&b, ", ");
        s_gpu_obj(&b, i, uuid, !(sick & (1u << i)), 0, NULL, NULL);
    }
    dr_buf_printf(&b, "]}\n");
    return b.data;
}

static int s_parse_text(const char *text, gpu_list_t *l, char *err, size_t n)
{
    return gpu_inventory_parse(text, strlen(text), l, err, n);
}

/* ---- the inventory file -----------------------------------------------------
 */

START_TEST(test_inventory_good)
{
    dr_buf_t b = {0};
    dr_buf_printf(&b, "{\"gpus\": [");
    s_gpu_obj(&b, 1, "GPU-b", 1, 0, NULL, NULL);
    dr_buf_printf(&b, ", ");
    s_gpu_obj(&b, 0, "GPU-a", 1, 0, NULL, NULL);
    dr_buf_printf(&b, ", ");
    s_gpu_obj(&b, 3, "GPU-d", 1, 2, NULL, NULL); /* ECC: unhealthy */
    dr_buf_printf(&b, ", ");
    s_gpu_obj(&b, 2, "GPU-c", 0, 0, NULL, ", \"health_reason\": \"xid 79\"");
    dr_buf_printf(&b, "], \"source\": \"file\", \"reason\": null}");
    gpu_list_t l;
    char err[256] = "";
    ck_assert_int_eq(s_parse_text(b.data, &l, err, sizeof err), 0);
    ck_assert_int_eq(l.count, 4);
    for (unsigned i = 0; i < 4; i++)
        ck_assert_int_eq(l.gpus[i].index, i); /* sorted */
    const gpu_info_t *g = gpu_list_find(&l, 1);
    ck_assert_ptr_nonnull(g);
    ck_assert_str_eq(g->uuid, "GPU-b");
    ck_assert_str_eq(g->name, "Tesla V100-PCIE-16GB");
    ck_assert_int_eq(g->memory_total_mb, 16384);
    ck_assert_int_eq(g->memory_used_mb, 101);
    ck_assert_int_eq(g->utilization_gpu, 6);
    ck_assert_int_eq(g->utilization_memory, 8);
    ck_assert_int_eq(g->temperature_c, 41);
    ck_assert_int_eq(g->power_mw, 50000);
    ck_assert_int_eq(g->power_limit_mw, 250000);
    ck_assert_int_eq(g->healthy, 1);
    ck_assert_str_eq(g->health_reason, "");
    /* the health verdict: ECC errors override "healthy": true */
    g = gpu_list_find(&l, 3);
    ck_assert_int_eq(g->healthy, 0);
    ck_assert_int_eq(g->ecc_uncorrected, 2);
    ck_assert_str_eq(g->health_reason, "2 uncorrected ECC error(s)");
    g = gpu_list_find(&l, 2);
    ck_assert_int_eq(g->healthy, 0);
    ck_assert_str_eq(g->health_reason, "xid 79");
    ck_assert_ptr_null(gpu_list_find(&l, 4));

    /* what --print-gpus prints reads back the same */
    char *js = gpu_inventory_to_json(&l, "file", "why not");
    gpu_list_t l2;
    ck_assert_int_eq(s_parse_text(js, &l2, err, sizeof err), 0);
    ck_assert_int_eq(l2.count, 4);
    ck_assert_int_eq(memcmp(&l, &l2, sizeof l), 0);
    free(js);

    /* zero GPUs is a valid inventory */
    ck_assert_int_eq(s_parse_text("{\"gpus\": []}", &l, err, sizeof err), 0);
    ck_assert_int_eq(l.count, 0);
    dr_buf_free(&b);

    /* from a file */
    char *p = s_path("inv.json");
    char *inv = s_inventory(3, 0);
    s_write(p, inv);
    ck_assert_int_eq(gpu_inventory_load(p, &l, err, sizeof err), 0);
    ck_assert_int_eq(l.count, 3);
    free(inv);
    free(p);
}
END_TEST

START_TEST(test_inventory_bad)
{
    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        {"", "bad JSON"},
        {"{\"gpus\": [", "bad JSON"},
        {"[]", "top level is not an object"},
        {"{}", "'gpus' is missing or not an array"},
        {"{\"gpus\": {}}", "'gpus' is missing or not an array"},
        {"{\"gpus\": [], \"gpus\": []}", "bad JSON"}, /* duplicate key */
        {"{\"gpus\": [], \"extra\": 1}", "unknown top-level field 'extra'"},
        {"{\"gpus\": [1]}", "gpus[0]: not an object"},
    };
    gpu_list_t l;
    memset(&l, 0x5a, sizeof l);
    gpu_list_t before = l;
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        ck_assert_int_eq(s_parse_text(bad[i].text, &l, err, sizeof err),
                         DR_EINVAL);
        ck_assert_msg(strstr(err, bad[i].why), "case %zu: '%s' lacks '%s'", i,
                      err, bad[i].why);
    }

    /* every field is required (but health_reason) */
    static const char *fields[] = {"index",
                                   "uuid",
                                   "name",
                                   "memory_total_mb",
                                   "memory_used_mb",
                                   "utilization_gpu",
                                   "utilization_memory",
                                   "temperature_c",
                                   "power_mw",
                                   "power_limit_mw",
                                   "ecc_uncorrected",
                                   "healthy"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        dr_buf_t b = {0};
        dr_buf_printf(&b, "{\"gpus\": [");
        s_gpu_obj(&b, 0, "GPU-a", 1, 0, NULL, NULL);
        dr_buf_printf(&b, ", ");
        s_gpu_obj(&b, 1, "GPU-b", 1, 0, fields[i], NULL);
        dr_buf_printf(&b, "]}");
        ck_assert_int_eq(s_parse_text(b.data, &l, err, sizeof err), DR_EINVAL);
        char want[96];
        snprintf(want, sizeof want, "gpus[1]: missing field '%s'", fields[i]);
        ck_assert_str_eq(err, want);
        dr_buf_free(&b);
    }

    /* bad values inside one GPU */
    static const struct {
        const char *extra_or_uuid; /* starts with ',' = extra field */
        const char *why;
    } vals[] = {
        {", \"bogus\": 1", "unknown field 'bogus'"},
        {", \"health_reason\": 7", "'health_reason' is not a string"},
        {"GPU-has,comma", "uuid 'GPU-has,comma' is not"},
        {"GPU has space", "is not 1-95 characters"},
        {"", "is not 1-95 characters"},
    };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        dr_buf_t b = {0};
        dr_buf_printf(&b, "{\"gpus\": [");
        int extra = vals[i].extra_or_uuid[0] == ',';
        s_gpu_obj(&b, 0, extra ? "GPU-a" : vals[i].extra_or_uuid, 1, 0, NULL,
                  extra ? vals[i].extra_or_uuid : NULL);
        dr_buf_printf(&b, "]}");
        ck_assert_int_eq(s_parse_text(b.data, &l, err, sizeof err), DR_EINVAL);
        ck_assert_msg(strstr(err, vals[i].why), "val %zu: '%s' lacks '%s'", i,
                      err, vals[i].why);
        dr_buf_free(&b);
    }

    /* numbers: negative, fractional, strings, out of range; bad types */
    static const struct {
        const char *field, *value, *why;
    } nums[] = {
        {"memory_total_mb", "-1", "'memory_total_mb' is not a whole number"},
        {"temperature_c", "-5", "'temperature_c' is not a whole number"},
        {"power_mw", "1.5", "'power_mw' is not a whole number"},
        {"power_mw", "\"5\"", "'power_mw' is not a whole number"},
        {"power_mw", "4294967296", "'power_mw' is not a whole number"},
        {"utilization_gpu", "101", "'utilization_gpu' is not a whole number"},
        {"index", "64", "'index' is not a whole number in 0..63"},
        {"memory_used_mb", "20000", "above memory_total_mb"},
        {"healthy", "1", "'healthy' is not true or false"},
        {"name", "\"\"", "name is empty"},
        {"name", "\"a\\u0001b\"", "control characters"},
        {"name", "\"a\\u0000b\"", "is not allowed"}, /* jansson */
        {"uuid", "null", "'uuid' is not a string"},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        dr_buf_t b = {0};
        char extra[128];
        snprintf(extra, sizeof extra, ", \"%s\": %s", nums[i].field,
                 nums[i].value);
        dr_buf_printf(&b, "{\"gpus\": [");
        s_gpu_obj(&b, 0, "GPU-a", 1, 0, nums[i].field, extra);
        dr_buf_printf(&b, "]}");
        ck_assert_int_eq(s_parse_text(b.data, &l, err, sizeof err), DR_EINVAL);
        ck_assert_msg(strstr(err, nums[i].why), "num %zu: '%s' lacks '%s'", i,
                      err, nums[i].why);
        dr_buf_free(&b);
    }

    /* duplicate index, duplicate uuid */
    dr_buf_t b = {0};
    dr_buf_printf(&b, "{\"gpus\": [");
    s_gpu_obj(&b, 0, "GPU-a", 1, 0, NULL, NULL);
    dr_buf_printf(&b, ", ");
    s_gpu_obj(&b, 0, "GPU-b", 1, 0, NULL, NULL);
    dr_buf_printf(&b, "]}");
    ck_assert_int_eq(s_parse_text(b.data, &l, err, sizeof err), DR_EINVAL);
    ck_assert_str_eq(err, "gpus[1]: index 0 is also gpus[0]'s");
    dr_buf_free(&b);
    dr_buf_printf(&b, "{\"gpus\": [");
    s_gpu_obj(&b, 0, "GPU-a", 1, 0, NULL, NULL);
    dr_buf_printf(&b, ", ");
    s_gpu_obj(&b, 1, "GPU-a", 1, 0, NULL, NULL);
    dr_buf_printf(&b, "]}");
    ck_assert_int_eq(s_parse_text(b.data, &l, err, sizeof err), DR_EINVAL);
    ck_assert_str_eq(err, "gpus[1]: uuid GPU-a is also gpus[0]'s");
    dr_buf_free(&b);

    /* more than 64 GPUs */
    dr_buf_printf(&b, "{\"gpus\": [");
    for (unsigned i = 0; i < 65; i++) {
        char uuid[32];
        snprintf(uuid, sizeof uuid, "GPU-%u", i);
        if (i)
            dr_buf_printf(&b, ",");
        s_gpu_obj(&b, i, uuid, 1, 0, NULL, NULL);
    }
    dr_buf_printf(&b, "]}");
    ck_assert_int_eq(s_parse_text(b.data, &l, err, sizeof err), DR_EINVAL);
    ck_assert_str_eq(err, "65 GPUs (at most 64)");
    dr_buf_free(&b);

    /* a failed parse leaves the caller's list untouched */
    ck_assert_int_eq(memcmp(&l, &before, sizeof l), 0);

    /* files: missing, a directory, too large */
    char *p = s_path("missing.json");
    ck_assert_int_eq(gpu_inventory_load(p, &l, err, sizeof err), DR_EIO);
    ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
    ck_assert_ptr_nonnull(strstr(err, p));
    free(p);
    ck_assert_int_eq(gpu_inventory_load(s_dir, &l, err, sizeof err), DR_EIO);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
    p = s_path("huge.json");
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    for (unsigned i = 0; i < GPU_INVENTORY_MAX_BYTES / 8 + 1; i++)
        fputs("        ", f);
    fclose(f);
    ck_assert_int_eq(gpu_inventory_load(p, &l, err, sizeof err), DR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "larger than"));
    free(p);
    ck_assert_int_eq(memcmp(&l, &before, sizeof l), 0);
}
END_TEST

START_TEST(test_inventory_write)
{
    char *p = s_path("synthetic.json");
    ck_assert_int_eq(
        gpu_inventory_write(p, 4, "Tesla V100-PCIE-16GB", 16, "gpu-node-1"), 0);
    gpu_list_t l, l2;
    char err[256];
    ck_assert_int_eq(gpu_inventory_load(p, &l, err, sizeof err), 0);
    ck_assert_int_eq(l.count, 4);
    regex_t re;
    ck_assert_int_eq(regcomp(&re,
                             "^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                             "[0-9a-f]{4}-[0-9a-f]{12}$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    for (unsigned i = 0; i < 4; i++) {
        const gpu_info_t *g = &l.gpus[i];
        ck_assert_int_eq(g->index, i);
        ck_assert_str_eq(g->name, "Tesla V100-PCIE-16GB");
        ck_assert_int_eq(g->memory_total_mb, 16384);
        ck_assert_int_eq(g->memory_used_mb, 0);
        ck_assert_int_eq(g->healthy, 1);
        ck_assert_int_eq(g->ecc_uncorrected, 0);
        ck_assert_msg(regexec(&re, g->uuid, 0, NULL, 0) == 0, "uuid %s",
                      g->uuid);
    }
    regfree(&re);
    /* deterministic per node name, different across nodes */
    ck_assert_int_eq(
        gpu_inventory_write(p, 4, "Tesla V100-PCIE-16GB", 16, "gpu-node-1"), 0);
    ck_assert_int_eq(gpu_inventory_load(p, &l2, err, sizeof err), 0);
    ck_assert_int_eq(memcmp(&l, &l2, sizeof l), 0);
    ck_assert_int_eq(
        gpu_inventory_write(p, 4, "Tesla V100-PCIE-16GB", 16, "gpu-node-2"), 0);
    ck_assert_int_eq(gpu_inventory_load(p, &l2, err, sizeof err), 0);
    for (unsigned i = 0; i < 4; i++)
        for (unsigned j = 0; j < 4; j++)
            ck_assert_str_ne(l.gpus[i].uuid, l2.gpus[j].uuid);
    /* no temporary file left behind */
    char *tmp = dr_asprintf("%s.tmp.%d", p, (int)getpid());
    ck_assert_int_ne(access(tmp, F_OK), 0);
    free(tmp);
    /* zero GPUs (a CPU vm size) */
    ck_assert_int_eq(gpu_inventory_write(p, 0, NULL, 0, "cpu-1"), 0);
    ck_assert_int_eq(gpu_inventory_load(p, &l, err, sizeof err), 0);
    ck_assert_int_eq(l.count, 0);
    /* bad arguments */
    ck_assert_int_eq(gpu_inventory_write(p, 65, "X", 16, "n"), DR_EINVAL);
    ck_assert_int_eq(gpu_inventory_write(p, 1, "", 16, "n"), DR_EINVAL);
    ck_assert_int_eq(gpu_inventory_write(p, 1, NULL, 16, "n"), DR_EINVAL);
    ck_assert_int_eq(gpu_inventory_write(p, 1, "X", 0, "n"), DR_EINVAL);
    ck_assert_int_eq(gpu_inventory_write(p, 1, "X", 16, "bad name"), DR_EINVAL);
    ck_assert_int_eq(gpu_inventory_write(p, 1, "X", 16, NULL), DR_EINVAL);
    ck_assert_int_eq(gpu_inventory_write("", 1, "X", 16, "n"), DR_EINVAL);
    ck_assert_int_eq(
        gpu_inventory_write("/nonexistent-dir/x.json", 1, "X", 16, "n"),
        DR_EIO);
    /* 64 is allowed */
    ck_assert_int_eq(gpu_inventory_write(p, 64, "X", 1, "n"), 0);
    ck_assert_int_eq(gpu_inventory_load(p, &l, err, sizeof err), 0);
    ck_assert_int_eq(l.count, 64);
    free(p);
}
END_TEST

/* ---- checks, env, wire ------------------------------------------------------
 */

START_TEST(test_check_and_env)
{
    gpu_list_t l;
    char err[256], why[256];
    char *inv = s_inventory(3, 1u << 1);
    ck_assert_int_eq(s_parse_text(inv, &l, err, sizeof err), 0);
    free(inv);
    uint32_t ok[] = {2, 0};
    ck_assert_int_eq(gpu_list_check(&l, ok, 2, "n1", why, sizeof why), 0);
    ck_assert_int_eq(gpu_list_check(&l, NULL, 0, "n1", why, sizeof why), 0);
    uint32_t missing[] = {0, 3};
    ck_assert_int_eq(gpu_list_check(&l, missing, 2, "n1", why, sizeof why),
                     DR_ENOENT);
    ck_assert_str_eq(why, "gpu 3 does not exist on node n1");
    uint32_t sick[] = {1};
    ck_assert_int_eq(gpu_list_check(&l, sick, 1, "n1", why, sizeof why),
                     DR_ESTATE);
    ck_assert_str_eq(why, "gpu 1 on node n1 is unhealthy (reported unhealthy)");
    uint32_t twice[] = {0, 0};
    ck_assert_int_eq(gpu_list_check(&l, twice, 2, "n1", why, sizeof why),
                     DR_EINVAL);
    ck_assert_str_eq(why, "gpu 0 is assigned twice");

    char *env[GPU_ENV_MAX + 1];
    ck_assert_int_eq(gpu_task_env(&l, ok, 2, env), 4);
    ck_assert_str_eq(env[0], "CUDA_VISIBLE_DEVICES=2,0");
    ck_assert_str_eq(env[1], "NVIDIA_VISIBLE_DEVICES=2,0");
    ck_assert_str_eq(env[2], "DROVER_GPU_UUIDS=GPU-test-2,GPU-test-0");
    ck_assert_str_eq(env[3], "CUDA_DEVICE_ORDER=PCI_BUS_ID");
    ck_assert_ptr_null(env[4]);
    for (int i = 0; i < 4; i++)
        free(env[i]);
    ck_assert_int_eq(gpu_task_env(&l, NULL, 0, env), 2);
    ck_assert_str_eq(env[0], "CUDA_VISIBLE_DEVICES=");
    ck_assert_str_eq(env[1], "NVIDIA_VISIBLE_DEVICES=void");
    ck_assert_ptr_null(env[2]);
    free(env[0]);
    free(env[1]);
}
END_TEST

START_TEST(test_proto)
{
    gpu_list_t l, back;
    char err[256], why[256];
    char *inv = s_inventory(3, 1u << 2);
    ck_assert_int_eq(s_parse_text(inv, &l, err, sizeof err), 0);
    free(inv);
    Drover__GpuInfo msgs[GPU_INVENTORY_MAX], *ptrs[GPU_INVENTORY_MAX + 1];
    gpu_list_to_proto(&l, msgs, ptrs);
    ck_assert_int_eq(ptrs[1]->index, 1);
    ck_assert_str_eq(ptrs[1]->uuid, "GPU-test-1");
    ck_assert_int_eq(ptrs[1]->memory_used_mb, 101);
    ck_assert_int_eq(ptrs[2]->healthy, 0);
    /* through the real encoding */
    Drover__Heartbeat hb = DROVER__HEARTBEAT__INIT;
    hb.gpus = ptrs;
    hb.n_gpus = l.count;
    size_t n = drover__heartbeat__get_packed_size(&hb);
    uint8_t *buf = dr_malloc(n);
    drover__heartbeat__pack(&hb, buf);
    Drover__Heartbeat *u = drover__heartbeat__unpack(NULL, n, buf);
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(
        gpu_list_from_proto(u->gpus, u->n_gpus, &back, why, sizeof why), 0);
    ck_assert_int_eq(back.count, 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq(back.gpus[i].uuid, l.gpus[i].uuid);
        ck_assert_int_eq(back.gpus[i].healthy, l.gpus[i].healthy);
        ck_assert_int_eq(back.gpus[i].temperature_c, l.gpus[i].temperature_c);
    }
    ck_assert_str_eq(back.gpus[2].health_reason, "reported unhealthy");
    drover__heartbeat__free_unpacked(u, NULL);
    free(buf);

    /* bad reports */
    msgs[0].utilization_gpu = 101;
    ck_assert_int_eq(gpu_list_from_proto(ptrs, 3, &back, why, sizeof why),
                     DR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "gpus[0]: utilization over 100%"));
    msgs[0].utilization_gpu = 0;
    msgs[1].uuid = msgs[0].uuid;
    ck_assert_int_eq(gpu_list_from_proto(ptrs, 3, &back, why, sizeof why),
                     DR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "uuid GPU-test-0 is also"));
    msgs[1].uuid = NULL;
    ck_assert_int_eq(gpu_list_from_proto(ptrs, 3, &back, why, sizeof why),
                     DR_EINVAL);
    msgs[1].uuid = (char *)"GPU-x";
    msgs[1].index = 64;
    ck_assert_int_eq(gpu_list_from_proto(ptrs, 3, &back, why, sizeof why),
                     DR_EINVAL);
    msgs[1].index = 0;
    ck_assert_int_eq(gpu_list_from_proto(ptrs, 3, &back, why, sizeof why),
                     DR_EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "index 0 is also"));
    msgs[1].index = 1;
    msgs[1].memory_used_mb = msgs[1].memory_total_mb + 1;
    ck_assert_int_eq(gpu_list_from_proto(ptrs, 3, &back, why, sizeof why),
                     DR_EINVAL);
    msgs[1].memory_used_mb = 0;
    ck_assert_int_eq(gpu_list_from_proto(ptrs, 3, &back, why, sizeof why), 0);
    ck_assert_int_eq(gpu_list_from_proto(ptrs, 65, &back, why, sizeof why),
                     DR_EINVAL);
}
END_TEST

/* ---- gpu_t: the file source -------------------------------------------------
 */

START_TEST(test_file_reread)
{
    char *p = s_path("inv.json");
    char *inv = s_inventory(2, 0);
    s_write(p, inv);
    free(inv);
    gpu_t *g = NULL;
    char err[256];
    ck_assert_int_eq(gpu_new(p, NULL, "n1", &g, err, sizeof err), 0);
    ck_assert_str_eq(gpu_source(g), "file");
    ck_assert_ptr_null(gpu_reason(g));
    ck_assert_int_eq(gpu_list(g)->count, 2);
    ck_assert_int_eq(gpu_list(g)->gpus[1].healthy, 1);
    ck_assert_int_eq(gpu_refresh(g, 0), 0); /* unchanged */

    /* flip GPU 1 to unhealthy: seen on the next refresh */
    inv = s_inventory(2, 1u << 1);
    s_write(p, inv);
    free(inv);
    ck_assert_int_eq(gpu_refresh(g, 1000000), 0); /* no rate limit on files */
    ck_assert_int_eq(gpu_list(g)->gpus[1].healthy, 0);

    /* a bad file keeps the last good inventory, until it is fixed */
    s_write(p, "{\"gpus\": [{\"index\": 0}]}");
    ck_assert_int_eq(gpu_refresh(g, 0), DR_EINVAL);
    ck_assert_int_eq(gpu_list(g)->count, 2);
    ck_assert_int_eq(gpu_list(g)->gpus[1].healthy, 0);
    ck_assert_int_eq(gpu_refresh(g, 0), 0); /* logged once, not re-read */
    ck_assert_int_eq(unlink(p), 0);
    ck_assert_int_eq(gpu_refresh(g, 0), DR_EIO);
    ck_assert_int_eq(gpu_list(g)->count, 2);
    inv = s_inventory(3, 0);
    s_write(p, inv);
    free(inv);
    ck_assert_int_eq(gpu_refresh(g, 0), 0);
    ck_assert_int_eq(gpu_list(g)->count, 3);
    ck_assert_int_eq(gpu_list(g)->gpus[1].healthy, 1);
    gpu_destroy(&g);
    ck_assert_ptr_null(g);
    gpu_destroy(&g); /* NULL is fine */

    /* a bad file at start is an error with the reason */
    s_write(p, "not json");
    ck_assert_int_eq(gpu_new(p, NULL, "n1", &g, err, sizeof err), DR_EINVAL);
    ck_assert_ptr_null(g);
    ck_assert_ptr_nonnull(strstr(err, "bad JSON"));
    char *q = s_path("nope.json");
    ck_assert_int_eq(gpu_new(q, NULL, "n1", &g, err, sizeof err), DR_EIO);
    free(q);
    free(p);
}
END_TEST

/* ---- gpu_t: NVML ------------------------------------------------------------
 */

START_TEST(test_nvml_absent)
{
    gpu_t *g = NULL;
    char err[256];
    ck_assert_int_eq(
        gpu_new(NULL, "libdrover-no-such-nvml.so.1", "n1", &g, err, sizeof err),
        0);
    ck_assert_str_eq(gpu_source(g), "none");
    ck_assert_int_eq(gpu_list(g)->count, 0);
    ck_assert_ptr_nonnull(gpu_reason(g));
    ck_assert_ptr_nonnull(strstr(gpu_reason(g),
                                 "NVML not available: libdrover-no-such-nvml."
                                 "so.1: cannot open shared object file"));
    ck_assert_int_eq(gpu_refresh(g, 0), 0);
    ck_assert_int_eq(gpu_list(g)->count, 0);
    gpu_destroy(&g);

    /* the real name: on a host without a driver, the reason names it */
    ck_assert_int_eq(gpu_new(NULL, NULL, "n1", &g, err, sizeof err), 0);
    void *h = dlopen(GPU_NVML_LIB, RTLD_NOW | RTLD_NOLOAD);
    if (!h && access("/dev/nvidiactl", F_OK) != 0) {
        ck_assert_str_eq(gpu_source(g), "none");
        ck_assert_int_eq(gpu_list(g)->count, 0);
        ck_assert_ptr_nonnull(strstr(gpu_reason(g),
                                     "NVML not available: libnvidia-ml.so.1: "
                                     "cannot open shared object file"));
    }
    if (h)
        dlclose(h);
    gpu_destroy(&g);

    /* a library without the NVML symbols */
    ck_assert_int_eq(gpu_new(NULL, "libm.so.6", "n1", &g, err, sizeof err), 0);
    ck_assert_str_eq(gpu_source(g), "none");
    ck_assert_ptr_nonnull(strstr(gpu_reason(g), "has no nvmlInit_v2"));
    gpu_destroy(&g);
}
END_TEST

typedef struct {
    void *h;
    void (*reset)(unsigned int);
    void (*init_rc)(int);
    void (*count_rc)(int);
    void (*ecc)(unsigned int, long long);
    void (*lost)(unsigned int, int);
    int (*inited)(void);
} s_fake_nvml_t;

static void s_fake_nvml(s_fake_nvml_t *f)
{
    f->h = dlopen(FAKE_NVML_PATH, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(f->h != NULL, "dlopen %s: %s", FAKE_NVML_PATH, dlerror());
    struct {
        const char *name;
        void *dst;
    } syms[] = {
        {"fake_nvml_reset", &f->reset},
        {"fake_nvml_set_init_rc", &f->init_rc},
        {"fake_nvml_set_count_rc", &f->count_rc},
        {"fake_nvml_set_ecc", &f->ecc},
        {"fake_nvml_set_lost", &f->lost},
        {"fake_nvml_inited", &f->inited},
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        void *p = dlsym(f->h, syms[i].name);
        ck_assert_ptr_nonnull(p);
        memcpy(syms[i].dst, &p, sizeof p);
    }
}

START_TEST(test_nvml_fake)
{
    s_fake_nvml_t f;
    s_fake_nvml(&f);
    f.reset(4);
    f.ecc(1, 3);  /* uncorrected ECC errors: unhealthy */
    f.ecc(2, -1); /* ECC unsupported: healthy */
    gpu_t *g = NULL;
    char err[256];
    ck_assert_int_eq(gpu_new(NULL, FAKE_NVML_PATH, "n1", &g, err, sizeof err),
                     0);
    ck_assert_str_eq(gpu_source(g), "nvml");
    ck_assert_ptr_null(gpu_reason(g));
    ck_assert_int_eq(f.inited(), 1);
    const gpu_list_t *l = gpu_list(g);
    ck_assert_int_eq(l->count, 4);
    const gpu_info_t *g0 = &l->gpus[0];
    ck_assert_int_eq(g0->index, 0);
    ck_assert_str_eq(g0->uuid, "GPU-fake-0");
    ck_assert_str_eq(g0->name, "Fake H100 80GB");
    ck_assert_int_eq(g0->memory_total_mb, 80 * 1024);
    ck_assert_int_eq(g0->memory_used_mb, 1024);
    ck_assert_int_eq(g0->utilization_gpu, 10);
    ck_assert_int_eq(g0->utilization_memory, 20);
    ck_assert_int_eq(g0->temperature_c, 35);
    ck_assert_int_eq(g0->power_mw, 70000);
    ck_assert_int_eq(g0->power_limit_mw, 700000);
    ck_assert_int_eq(g0->ecc_uncorrected, 0);
    ck_assert_int_eq(g0->healthy, 1);
    ck_assert_int_eq(l->gpus[1].healthy, 0);
    ck_assert_int_eq(l->gpus[1].ecc_uncorrected, 3);
    ck_assert_str_eq(l->gpus[1].health_reason, "3 uncorrected ECC error(s)");
    ck_assert_int_eq(l->gpus[2].healthy, 1);
    ck_assert_int_eq(l->gpus[2].ecc_uncorrected, 0);
    ck_assert_int_eq(l->gpus[3].healthy, 1);
    /* what NVML gives is valid for the wire */
    Drover__GpuInfo msgs[GPU_INVENTORY_MAX], *ptrs[GPU_INVENTORY_MAX];
    gpu_list_t back;
    gpu_list_to_proto(l, msgs, ptrs);
    ck_assert_int_eq(gpu_list_from_proto(ptrs, l->count, &back, err, 256), 0);

    /* lost from the bus: at the handle (the uuid is kept from before), at
     * the uuid, or on any other query */
    f.lost(0, 1);
    f.lost(2, 3);
    f.lost(3, 4);
    ck_assert_int_eq(gpu_refresh(g, 0), 0);
    l = gpu_list(g);
    ck_assert_int_eq(l->count, 4);
    ck_assert_int_eq(l->gpus[0].healthy, 0);
    ck_assert_str_eq(l->gpus[0].uuid, "GPU-fake-0");
    ck_assert_str_eq(l->gpus[0].health_reason,
                     "lost from the bus (NVML_ERROR_GPU_IS_LOST)");
    ck_assert_int_eq(l->gpus[2].healthy, 0);
    ck_assert_int_eq(l->gpus[3].healthy, 0);
    ck_assert_int_eq(l->gpus[1].healthy, 0); /* still its ECC errors */
    f.lost(2, 0);
    f.lost(3, 2);
    f.ecc(1, 0);
    /* the rate limit holds the old answer */
    ck_assert_int_eq(gpu_refresh(g, 60000), 0);
    ck_assert_int_eq(gpu_list(g)->gpus[2].healthy, 0);
    ck_assert_int_eq(gpu_refresh(g, 0), 0);
    l = gpu_list(g);
    ck_assert_int_eq(l->gpus[1].healthy, 1);
    ck_assert_int_eq(l->gpus[2].healthy, 1);
    ck_assert_int_eq(l->gpus[3].healthy, 0);
    ck_assert_str_eq(l->gpus[3].uuid, "GPU-fake-3");

    /* the device count failing: every GPU unhealthy, none forgotten */
    f.count_rc(9);
    ck_assert_int_eq(gpu_refresh(g, 0), DR_EIO);
    l = gpu_list(g);
    ck_assert_int_eq(l->count, 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(l->gpus[i].healthy, 0);
    ck_assert_ptr_nonnull(
        strstr(l->gpus[2].health_reason, "Driver Not Loaded"));
    gpu_destroy(&g);
    ck_assert_int_eq(f.inited(), 0); /* nvmlShutdown was called */

    /* a GPU lost before it was ever seen still gets a name */
    f.reset(2);
    f.lost(1, 1);
    ck_assert_int_eq(gpu_new(NULL, FAKE_NVML_PATH, "n1", &g, err, sizeof err),
                     0);
    ck_assert_str_eq(gpu_list(g)->gpus[1].uuid, "GPU-unknown-1");
    ck_assert_int_eq(gpu_list(g)->gpus[1].healthy, 0);
    gpu_destroy(&g);

    /* nvmlInit failing (library present, driver not loaded) */
    f.reset(2);
    f.init_rc(9);
    ck_assert_int_eq(gpu_new(NULL, FAKE_NVML_PATH, "n1", &g, err, sizeof err),
                     0);
    ck_assert_str_eq(gpu_source(g), "none");
    ck_assert_int_eq(gpu_list(g)->count, 0);
    ck_assert_str_eq(gpu_reason(g),
                     "NVML not available: nvmlInit: Driver Not Loaded");
    gpu_destroy(&g);
    dlclose(f.h);
}
END_TEST

/* ---- flags ------------------------------------------------------------------
 */

START_TEST(test_flags)
{
    agent_cfg_t cfg;
    char err[512];
    char *p = s_path("inv.json");
    char *inv = s_inventory(2, 0);
    s_write(p, inv);
    free(inv);
    const char *ok[] = {S_BASE, "--gpu-inventory", p, NULL};
    ck_assert_int_eq(s_parse(&cfg, ok, err, sizeof err), 0);
    ck_assert_str_eq(cfg.gpu_inventory, p);
    ck_assert_int_eq(cfg.print_gpus, 0);
    agent_cfg_free(&cfg);
    /* --print-gpus needs none of the required flags */
    const char *pr[] = {"--print-gpus", NULL};
    ck_assert_int_eq(s_parse(&cfg, pr, err, sizeof err), 0);
    ck_assert_int_eq(cfg.print_gpus, 1);
    agent_cfg_free(&cfg);
    const char *pr2[] = {"--print-gpus", "--gpu-inventory", p, NULL};
    ck_assert_int_eq(s_parse(&cfg, pr2, err, sizeof err), 0);
    agent_cfg_free(&cfg);
    /* a bad file is a flag error that says why */
    s_write(p, "{\"gpus\": [{\"index\": -1}]}");
    ck_assert_int_eq(s_parse(&cfg, ok, err, sizeof err), DR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "--gpu-inventory: "));
    ck_assert_ptr_nonnull(strstr(err, "'index' is not a whole number"));
    const char *missing[] = {S_BASE, "--gpu-inventory", "/no/such.json", NULL};
    ck_assert_int_eq(s_parse(&cfg, missing, err, sizeof err), DR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
    const char *noval[] = {S_BASE, "--gpu-inventory", NULL};
    ck_assert_int_eq(s_parse(&cfg, noval, err, sizeof err), DR_EINVAL);
    free(p);
}
END_TEST

/* ---- the agent against a fake scheduler
 * ---------------------------------------
 */

static void s_fake_start(s_fake_t *f, const char *inventory)
{
    const char *a[] = {
        S_BASE, "--heartbeat-ms", "100", "--gpu-inventory", inventory, NULL};
    s_fake_init(f, 0);
    s_fake_agent(f, a);
}

static void s_task_start(s_fake_t *f, uint64_t job, char **argv, size_t argc,
                         uint32_t *gpus, size_t ngpus)
{
    Drover__TaskStart ts = DROVER__TASK_START__INIT;
    Drover__KeyValue kv = DROVER__KEY_VALUE__INIT;
    Drover__KeyValue *kvs[] = {&kv};
    kv.key = (char *)"CUDA_VISIBLE_DEVICES"; /* the job may not widen it */
    kv.value = (char *)"0,1,2,3";
    ts.job_id = job;
    ts.attempt = 1;
    ts.argv = argv;
    ts.n_argv = argc;
    ts.cpus = 1;
    ts.nodes = 1;
    ts.env = kvs;
    ts.n_env = 1;
    ts.gpu_indices = gpus;
    ts.n_gpu_indices = ngpus;
    s_send_task_start(f, &ts);
}

/* Runs one task to its end and returns its stdout (caller frees). */
static char *s_run(s_fake_t *f, uint64_t job, uint32_t *gpus, size_t ngpus)
{
    char *argv[] = {"sh", "-c",
                    "echo \"[${CUDA_VISIBLE_DEVICES-unset}]"
                    "[${NVIDIA_VISIBLE_DEVICES-unset}]"
                    "[${DROVER_GPU_UUIDS-unset}]"
                    "[${CUDA_DEVICE_ORDER-unset}]\""};
    f->out[0].len = 0;
    s_task_start(f, job, argv, 3, gpus, ngpus);
    dr_env_t *env = s_expect(f, DROVER__ENVELOPE__BODY_TASK_UPDATE,
                             DROVER__TASK_STATE__TASK_EXITED, 5000);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_eq(env->task_update->report->exit_code, 0);
    s_ack(f, env->task_update->report);
    wire_free(&env);
    return dr_strndup(f->out[0].data ? f->out[0].data : "", f->out[0].len);
}

START_TEST(test_agent_gpus)
{
    char *p = s_path("inv.json");
    char *inv = s_inventory(2, 0);
    s_write(p, inv);
    free(inv);
    s_fake_t f;
    s_fake_start(&f, p);

    /* Register carries the inventory */
    dr_env_t *env = s_expect(&f, DROVER__ENVELOPE__BODY_REGISTER, 0, 5000);
    ck_assert_ptr_nonnull(env);
    Drover__Register *r = env->register_;
    ck_assert_int_eq(r->n_gpus, 2);
    ck_assert_int_eq(r->gpus[1]->index, 1);
    ck_assert_str_eq(r->gpus[1]->uuid, "GPU-test-1");
    ck_assert_str_eq(r->gpus[1]->name, "Tesla V100-PCIE-16GB");
    ck_assert_int_eq(r->gpus[1]->memory_total_mb, 16384);
    ck_assert_int_eq(r->gpus[1]->healthy, 1);
    wire_free(&env);
    s_register_ack(&f, 0);
    env = s_expect(&f, DROVER__ENVELOPE__BODY_HEARTBEAT, 0, 2000);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_eq(env->heartbeat->n_gpus, 2);
    ck_assert_int_eq(env->heartbeat->gpus[0]->healthy, 1);
    wire_free(&env);

    /* a task with GPUs 1 and 0, one with none */
    uint32_t both[] = {1, 0};
    char *out = s_run(&f, 10, both, 2);
    ck_assert_str_eq(out, "[1,0][1,0][GPU-test-1,GPU-test-0][PCI_BUS_ID]\n");
    free(out);
    out = s_run(&f, 11, NULL, 0);
    ck_assert_str_eq(out, "[][void][unset][unset]\n");
    free(out);

    /* a GPU that does not exist: the task fails with the reason */
    uint32_t three[] = {3};
    char *argv[] = {"true"};
    s_task_start(&f, 12, argv, 1, three, 1);
    env = s_expect(&f, DROVER__ENVELOPE__BODY_TASK_UPDATE,
                   DROVER__TASK_STATE__TASK_FAILED, 3000);
    ck_assert_ptr_nonnull(env);
    ck_assert_str_eq(env->task_update->report->reason,
                     "gpu 3 does not exist on node n1");
    s_ack(&f, env->task_update->report);
    wire_free(&env);

    /* GPU 1 turns unhealthy in the file: the next heartbeat says so, and
     * a task on it fails */
    inv = s_inventory(2, 1u << 1);
    s_write(p, inv);
    free(inv);
    env = s_expect(&f, DROVER__ENVELOPE__BODY_HEARTBEAT, 0, 2000);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_eq(env->heartbeat->n_gpus, 2);
    ck_assert_int_eq(env->heartbeat->gpus[1]->healthy, 0);
    ck_assert_int_eq(env->heartbeat->gpus[0]->healthy, 1);
    wire_free(&env);
    uint32_t one[] = {1};
    s_task_start(&f, 13, argv, 1, one, 1);
    env = s_expect(&f, DROVER__ENVELOPE__BODY_TASK_UPDATE,
                   DROVER__TASK_STATE__TASK_FAILED, 3000);
    ck_assert_ptr_nonnull(env);
    ck_assert_str_eq(env->task_update->report->reason,
                     "gpu 1 on node n1 is unhealthy (reported unhealthy)");
    s_ack(&f, env->task_update->report);
    wire_free(&env);

    /* a broken file keeps the last good inventory */
    s_write(p, "{");
    env = s_expect(&f, DROVER__ENVELOPE__BODY_HEARTBEAT, 0, 2000);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_eq(env->heartbeat->n_gpus, 2);
    ck_assert_int_eq(env->heartbeat->gpus[1]->healthy, 0);
    wire_free(&env);
    s_fake_stop(&f);
    free(p);
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("gpu");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, s_setup, s_dir_remove);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_inventory_good);
    tcase_add_test(tc, test_inventory_bad);
    tcase_add_test(tc, test_inventory_write);
    tcase_add_test(tc, test_check_and_env);
    tcase_add_test(tc, test_proto);
    tcase_add_test(tc, test_file_reread);
    tcase_add_test(tc, test_nvml_absent);
    tcase_add_test(tc, test_nvml_fake);
    tcase_add_test(tc, test_flags);
    tcase_add_test(tc, test_agent_gpus);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(s_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
