/* cli_test.h - what the CLI's unit tests (check_cli*.c) share: literal
 * argv arrays and capturing a command's output.  Header-only, static
 * inline, so that each test program takes what it uses.
 */
#ifndef DR_CLI_TEST_H
#define DR_CLI_TEST_H

#include "cli.h"
#include "dr_err.h"
#include "wire.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------------
 */

/* Runs a parse with a NULL-terminated literal argv. */
#define ARGV(...)                                                              \
    (char *[])                                                                 \
    {                                                                          \
        __VA_ARGS__, NULL                                                      \
    }
#define ARGC(...) ((int)(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)))

typedef struct {
    char *buf;
    size_t len;
} cap_t;

static inline void s_capture(cli_ctx_t *ctx, cap_t *out, cap_t *err)
{
    ctx->fout = open_memstream(&out->buf, &out->len);
    ck_assert_ptr_nonnull(ctx->fout);
    if (err) {
        ctx->ferr = open_memstream(&err->buf, &err->len);
        ck_assert_ptr_nonnull(ctx->ferr);
    }
}

static inline void s_capture_end(cli_ctx_t *ctx, cap_t *out, cap_t *err)
{
    fclose(ctx->fout);
    ctx->fout = stdout;
    if (err) {
        fclose(ctx->ferr);
        ctx->ferr = stderr;
    }
    (void)out;
}

/* A node "g-0" with two GPUs, *gpus[0] and *gpus[1] (the second one
 * unhealthy), which the caller keeps. */
static inline void cli_test_gpu_node(Drover__Node *n,
                                     Drover__GpuInfo *const *gpus)
{
    static char *rts[] = {"process", "docker"};
    Drover__GpuInfo *g0 = gpus[0], *g1 = gpus[1];
    drover__gpu_info__init(g0);
    g0->index = 0;
    g0->uuid = "GPU-0000";
    g0->name = "Tesla V100-PCIE-16GB";
    g0->memory_total_mb = 16384;
    g0->memory_used_mb = 1200;
    g0->utilization_gpu = 12;
    g0->utilization_memory = 3;
    g0->temperature_c = 45;
    g0->power_mw = 60000;
    g0->power_limit_mw = 250000;
    g0->ecc_uncorrected = 0;
    g0->healthy = 1;
    *g1 = *g0;
    g1->index = 1;
    g1->uuid = "GPU-1111";
    g1->utilization_gpu = 15;
    g1->ecc_uncorrected = 7;
    g1->healthy = 0;
    drover__node__init(n);
    n->name = "g-0";
    n->cluster = "gpu";
    n->state = "idle";
    n->reason = "1 GPU unhealthy";
    n->cpus = 8;
    n->memory_mb = 65536;
    n->vm_size = "Standard_NC12";
    n->gpus = (Drover__GpuInfo **)gpus;
    n->n_gpus = 2;
    n->runtimes = rts;
    n->n_runtimes = 2;
    n->last_seen_ms = 1700000000000;
    n->created_at_ms = 1700000000000 - 60000;
}

/* Runs the suite as every check_cli* program does; the exit status. */
static inline int cli_test_run(Suite *s)
{
    /* the fake schedulers here speak plain ZeroMQ; CURVE is tested with
     * the real daemons in tests/integration/test_security.sh */
    setenv("DROVER_INSECURE", "1", 1);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
