/* check_cli.c - unit tests of the drover CLI (scheduler/cli/).
 *
 * It links cli_core, the CLI built as a library (all but drover.c, which
 * holds main()).  It checks flag parsing
 * and validation, table and JSON rendering, the timeout path against an
 * endpoint nobody listens on, and whole commands against a small scripted
 * ROUTER "scheduler" running in a forked child (not a thread: the build's
 * -I scheduler makes <pthread.h> pick up scheduler/sched.h).  If the drover
 * binary sits in the working directory (ctest runs in the build dir) it also
 * checks the binary's error line and exit status.
 */
#include "cli.h"
#include "dr_err.h"
#include "wire.h"

#include <check.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

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

static void s_capture(cli_ctx_t *ctx, cap_t *out, cap_t *err)
{
    ctx->fout = open_memstream(&out->buf, &out->len);
    ck_assert_ptr_nonnull(ctx->fout);
    if (err) {
        ctx->ferr = open_memstream(&err->buf, &err->len);
        ck_assert_ptr_nonnull(ctx->ferr);
    }
}

static void s_capture_end(cli_ctx_t *ctx, cap_t *out, cap_t *err)
{
    fclose(ctx->fout);
    ctx->fout = stdout;
    if (err) {
        fclose(ctx->ferr);
        ctx->ferr = stderr;
    }
    (void)out;
}

/* ---- validation -----------------------------------------------------------
 */

START_TEST(test_validators)
{
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    uint64_t v;
    ck_assert_int_eq(cli_parse_memory(&ctx, "2G", &v), 0);
    ck_assert_uint_eq(v, 2048);
    ck_assert_int_eq(cli_parse_memory(&ctx, "512M", &v), 0);
    ck_assert_uint_eq(v, 512);
    ck_assert_int_eq(cli_parse_memory(&ctx, "2Q", &v), DR_EINVAL);
    ck_assert_str_eq(ctx.err, "malformed memory size '2Q'");
    ck_assert_int_eq(cli_parse_memory(&ctx, "-1G", &v), DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 0);

    ck_assert_int_eq(cli_parse_duration(&ctx, "30m", &v), 0);
    ck_assert_uint_eq(v, 1800);
    ck_assert_int_eq(cli_parse_duration(&ctx, "2h", &v), 0);
    ck_assert_uint_eq(v, 7200);
    ck_assert_int_eq(cli_parse_duration(&ctx, "5x", &v), DR_EINVAL);
    ck_assert_ptr_nonnull(strstr(ctx.err, "malformed duration '5x'"));

    char *k, *val;
    ck_assert_int_eq(cli_parse_env(&ctx, "FOO_1=a=b", &k, &val), 0);
    ck_assert_str_eq(k, "FOO_1");
    ck_assert_str_eq(val, "a=b");
    free(k);
    free(val);
    ck_assert_int_eq(cli_parse_env(&ctx, "_X=", &k, &val), 0);
    ck_assert_str_eq(val, "");
    free(k);
    free(val);
    const char *bad_env[] = {"=x", "FOO", "1A=b", "A-B=c", "", "A B=c"};
    for (size_t i = 0; i < sizeof bad_env / sizeof bad_env[0]; i++) {
        ck_assert_int_eq(cli_parse_env(&ctx, bad_env[i], &k, &val), DR_EINVAL);
        ck_assert_ptr_null(k);
        ck_assert_ptr_nonnull(strstr(ctx.err, "malformed --env"));
    }

    const char *good[] = {"queued",    "starting", "running",
                          "succeeded", "failed",   "canceled"};
    for (size_t i = 0; i < 6; i++)
        ck_assert_int_eq(cli_check_state(&ctx, good[i]), 0);
    ck_assert_int_eq(cli_check_state(&ctx, "done"), DR_EINVAL);
    ck_assert_int_eq(cli_check_state(&ctx, "Queued"), DR_EINVAL);
    ck_assert_ptr_nonnull(strstr(ctx.err, "unknown job state 'Queued'"));

    ck_assert_int_eq(cli_parse_job_id(&ctx, "12", &v), 0);
    ck_assert_uint_eq(v, 12);
    ck_assert_int_eq(cli_parse_job_id(&ctx, "0", &v), DR_EINVAL);
    ck_assert_int_eq(cli_parse_job_id(&ctx, "-3", &v), DR_EINVAL);
    ck_assert_int_eq(cli_parse_job_id(&ctx, "12x", &v), DR_EINVAL);
    ck_assert_int_eq(cli_check_name(&ctx, "cluster", "gpu-a_1"), 0);
    ck_assert_int_eq(cli_check_name(&ctx, "cluster", "-x"), DR_EINVAL);
    ck_assert_int_eq(cli_check_name(&ctx, "cluster", "a b"), DR_EINVAL);

    int ms;
    ck_assert_int_eq(cli_parse_timeout_env(&ctx, "500", &ms), 0);
    ck_assert_int_eq(ms, 500);
    ck_assert_int_eq(cli_parse_timeout_env(&ctx, "0", &ms), DR_EINVAL);
}
END_TEST

/* ---- option parsing ---------------------------------------------------------
 */

START_TEST(test_opts_generic)
{
    static const cli_opt_t specs[] = {{"--name", "-n", 1, 0},
                                      {"--flag", "-f", 0, 0},
                                      {"--env", "-e", 1, 1},
                                      {NULL, NULL, 0, 0}};
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    cli_args_t a;
    char **av = ARGV("pos1", "--name=x", "-f", "-e", "A=1", "--env", "B=2",
                     "-o", "json", "--", "rest", "--name");
    ck_assert_int_eq(cli_opts_parse(&ctx, specs, 12, av, &a), 0);
    ck_assert_int_eq(a.npos, 1);
    ck_assert_str_eq(a.pos[0], "pos1");
    ck_assert_str_eq(a.val[0], "x");
    ck_assert_int_eq(a.seen[1], 1);
    ck_assert_int_eq(a.nlist[2], 2);
    ck_assert_str_eq(a.list[2][1], "B=2");
    ck_assert_int_eq(ctx.out, CLI_OUT_JSON);
    ck_assert_int_eq(a.dashdash, 1);
    ck_assert_int_eq(a.nrest, 2);
    ck_assert_str_eq(a.rest[1], "--name");
    cli_args_free(&a);

    ck_assert_int_eq(cli_opts_parse(&ctx, specs, 1, ARGV("--bogus"), &a),
                     DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);
    ck_assert_str_eq(ctx.err, "unknown option '--bogus'");
    cli_args_free(&a);
    ctx.usage = 0;
    ck_assert_int_eq(cli_opts_parse(&ctx, specs, 1, ARGV("-n"), &a), DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);
    ck_assert_str_eq(ctx.err, "option '-n' needs a value");
    cli_args_free(&a);
    ctx.usage = 0;
    ck_assert_int_eq(cli_opts_parse(&ctx, specs, 1, ARGV("--flag=1"), &a),
                     DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);
    cli_args_free(&a);
    ctx.usage = 0;
    ck_assert_int_eq(cli_opts_parse(&ctx, specs, 2, ARGV("-o", "yaml"), &a),
                     DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);
    cli_args_free(&a);
}
END_TEST

START_TEST(test_submit_parse)
{
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    cli_submit_t s;
    char **av =
        ARGV("--cluster", "c1", "--name", "train", "--cpus", "4", "--memory",
             "2G", "--priority", "-5", "--max-retries", "0", "--time-limit",
             "30m", "--env", "A=1", "-e", "B=x y", "--wait", "--", "python",
             "-c", "print(1)", "--cpus", "9", "--");
    int ac =
        ARGC("--cluster", "c1", "--name", "train", "--cpus", "4", "--memory",
             "2G", "--priority", "-5", "--max-retries", "0", "--time-limit",
             "30m", "--env", "A=1", "-e", "B=x y", "--wait", "--", "python",
             "-c", "print(1)", "--cpus", "9", "--");
    ck_assert_int_eq(cli_parse_submit(&ctx, ac, av, &s), 0);
    ck_assert_str_eq(s.job.cluster, "c1");
    ck_assert_str_eq(s.job.name, "train");
    ck_assert_uint_eq(s.job.cpus, 4);
    ck_assert_uint_eq(s.job.memory_mb, 2048);
    ck_assert_int_eq(s.job.priority, -5);
    ck_assert_uint_eq(s.job.max_retries, 0);
    ck_assert_uint_eq(s.job.time_limit_s, 1800);
    ck_assert_uint_eq(s.job.nodes, 1);
    ck_assert_uint_eq(s.job.procs_per_node, 1);
    ck_assert_int_eq(s.wait, 1);
    ck_assert_uint_eq(s.job.n_env, 2);
    ck_assert_str_eq(s.job.env[1]->key, "B");
    ck_assert_str_eq(s.job.env[1]->value, "x y");
    ck_assert_uint_eq(s.job.n_argv, 6);
    ck_assert_str_eq(s.job.argv[0], "python");
    ck_assert_str_eq(s.job.argv[3], "--cpus");
    ck_assert_str_eq(s.job.argv[5], "--");
    /* the packed request round-trips */
    size_t n = drover__job__get_packed_size(&s.job);
    uint8_t *buf = malloc(n);
    drover__job__pack(&s.job, buf);
    Drover__Job *back = drover__job__unpack(NULL, n, buf);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(back->n_argv, 6);
    ck_assert_uint_eq(back->memory_mb, 2048);
    drover__job__free_unpacked(back, NULL);
    free(buf);
    cli_submit_free(&s);

    /* defaults */
    ck_assert_int_eq(
        cli_parse_submit(&ctx, 4, ARGV("--cluster", "c1", "--", "true"), &s),
        0);
    ck_assert_uint_eq(s.job.cpus, 1);
    ck_assert_uint_eq(s.job.memory_mb, 512);
    ck_assert_uint_eq(s.job.max_retries, 3);
    ck_assert_uint_eq(s.job.time_limit_s, 0);
    ck_assert_int_eq(s.job.priority, 0);
    ck_assert_int_eq(s.wait, 0);
    ck_assert_uint_eq(s.job.n_env, 0);
    ck_assert_str_eq(s.job.distribution, "");
    cli_submit_free(&s);

    /* a multi-node MPI job */
    ck_assert_int_eq(
        cli_parse_submit(&ctx, 10,
                         ARGV("--cluster", "c1", "--nodes", "3",
                              "--procs-per-node", "2", "--distribution", "mpi",
                              "--", "ring"),
                         &s),
        0);
    ck_assert_uint_eq(s.job.nodes, 3);
    ck_assert_uint_eq(s.job.procs_per_node, 2);
    ck_assert_str_eq(s.job.distribution, "mpi");
    cli_submit_free(&s);
}
END_TEST

/* Each bad submit: expected usage flag and a fragment of the message. */
START_TEST(test_submit_errors)
{
    struct {
        int argc;
        char **argv;
        int usage;
        const char *msg;
    } cases[] = {
        {3, ARGV("--cluster", "c1", "true"), 1, "unexpected argument 'true'"},
        {2, ARGV("--cluster", "c1"), 1, "missing '--'"},
        {3, ARGV("--cluster", "c1", "--"), 1, "missing the job's command"},
        {2, ARGV("--", "true"), 1, "missing required option --cluster"},
        {4, ARGV("--cluster", "c1", "--bogus", "--"), 1, "unknown option"},
        {1, ARGV("--cluster"), 1, "needs a value"},
        {6, ARGV("--cluster", "c1", "--memory", "2Q", "--", "x"), 0,
         "malformed memory size '2Q'"},
        {6, ARGV("--cluster", "c1", "--time-limit", "soon", "--", "x"), 0,
         "malformed duration 'soon'"},
        {6, ARGV("--cluster", "c1", "--env", "=v", "--", "x"), 0,
         "malformed --env '=v'"},
        {6, ARGV("--cluster", "c1", "--cpus", "0", "--", "x"), 0,
         "invalid --cpus '0'"},
        {6, ARGV("--cluster", "c1", "--max-retries", "-1", "--", "x"), 0,
         "invalid --max-retries"},
        {4, ARGV("--cluster", "bad name", "--", "x"), 0,
         "invalid cluster name 'bad name'"},
        {8, ARGV("--cluster", "c1", "--env", "A=1", "--env", "9=1", "--", "x"),
         0, "malformed --env '9=1'"},
        {6, ARGV("--cluster", "c1", "--distribution", "horovod", "--", "x"), 1,
         "--distribution 'horovod' is not known"},
        {6, ARGV("--cluster", "c1", "--nodes", "0", "--", "x"), 0,
         "invalid --nodes '0'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cli_ctx_t ctx;
        cli_ctx_init(&ctx);
        cli_submit_t s;
        int rc = cli_parse_submit(&ctx, cases[i].argc, cases[i].argv, &s);
        ck_assert_msg(rc == DR_EINVAL, "case %zu rc %d", i, rc);
        ck_assert_msg(ctx.usage == cases[i].usage, "case %zu usage %d", i,
                      ctx.usage);
        ck_assert_msg(strstr(ctx.err, cases[i].msg), "case %zu: '%s'", i,
                      ctx.err);
        ck_assert_ptr_null(s.job.argv);
        ck_assert_ptr_null(s.kv);
    }
}
END_TEST

START_TEST(test_cluster_parse)
{
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    Drover__Cluster c;
    ck_assert_int_eq(cli_parse_cluster_create(
                         &ctx, 4, ARGV("-n", "c1", "-s", "Standard_D4"), &c),
                     0);
    ck_assert_str_eq(c.name, "c1");
    ck_assert_str_eq(c.vm_size, "Standard_D4");
    ck_assert_int_eq(c.min_nodes, 0);
    ck_assert_int_eq(c.max_nodes, 4);
    ck_assert_int_eq(c.idle_seconds_before_scaledown, 120);
    ck_assert_str_eq(c.vm_priority, "dedicated");
    ck_assert_str_eq(c.location, "local");
    ck_assert_str_eq(c.provider, "local");

    cli_ctx_init(&ctx);
    ck_assert_int_eq(cli_parse_cluster_create(
                         &ctx, 11,
                         ARGV("--name", "c2", "--vm-size", "S", "--min-nodes",
                              "1", "--max-nodes", "8", "--vm-priority",
                              "lowpriority", "--location=eu"),
                         &c),
                     0);
    ck_assert_int_eq(c.min_nodes, 1);
    ck_assert_int_eq(c.max_nodes, 8);
    ck_assert_str_eq(c.vm_priority, "lowpriority");
    ck_assert_str_eq(c.location, "eu");

    ck_assert_int_eq(
        cli_parse_cluster_create(
            &ctx, 6, ARGV("-n", "c1", "-s", "S", "--min-nodes", "5"), &c),
        DR_EINVAL);
    ck_assert_str_eq(ctx.err,
                     "--min-nodes (5) must not exceed --max-nodes (4)");
    ck_assert_int_eq(
        cli_parse_cluster_create(
            &ctx, 6, ARGV("-n", "c1", "-s", "S", "--max-nodes", "-1"), &c),
        DR_EINVAL);
    ck_assert_int_eq(
        cli_parse_cluster_create(
            &ctx, 6, ARGV("-n", "c1", "-s", "S", "--vm-priority", "spot"), &c),
        DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 0);
    ck_assert_int_eq(cli_parse_cluster_create(&ctx, 2, ARGV("-s", "S"), &c),
                     DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);

    Drover__ClusterUpdate u;
    cli_ctx_init(&ctx);
    ck_assert_int_eq(
        cli_parse_cluster_update(&ctx, 6,
                                 ARGV("-n", "c1", "--max-nodes", "3",
                                      "--idle-seconds-before-scaledown", "60"),
                                 &u),
        0);
    ck_assert_uint_eq(u.set_mask, 2 | 4);
    ck_assert_int_eq(u.max_nodes, 3);
    ck_assert_int_eq(u.idle_seconds_before_scaledown, 60);
    ck_assert_int_eq(cli_parse_cluster_update(
                         &ctx, 4, ARGV("-n", "c1", "--min-nodes", "0"), &u),
                     0);
    ck_assert_uint_eq(u.set_mask, 1);
    ck_assert_int_eq(cli_parse_cluster_update(&ctx, 2, ARGV("-n", "c1"), &u),
                     DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);
    ck_assert_ptr_nonnull(strstr(ctx.err, "nothing to update"));
    cli_ctx_init(&ctx);
    ck_assert_int_eq(cli_parse_cluster_update(&ctx, 6,
                                              ARGV("-n", "c1", "--min-nodes",
                                                   "3", "--max-nodes", "2"),
                                              &u),
                     DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 0);
}
END_TEST

/* ---- rendering
 * ------------------------------------------------------------------ */

static char *s_nodes2[] = {"c-1", "c-2"};
static char *s_argv3[] = {"python", "train.py", "--lr=0.1 it's"};

static void s_fill_job(Drover__Job *j)
{
    drover__job__init(j);
    j->id = 12;
    j->name = "train";
    j->cluster = "c1";
    j->state = "failed";
    j->exit_code = 3;
    j->attempts = 2;
    j->node_names = s_nodes2;
    j->n_node_names = 2;
    j->reason = "exit status 3";
    j->cpus = 2;
    j->memory_mb = 2048;
    j->nodes = 2;
    j->gpus = 1;
    j->priority = -1;
    j->max_retries = 3;
    j->time_limit_s = 1800;
    j->argv = s_argv3;
    j->n_argv = 3;
    j->submitted_at_ms = 1700000000000;
    j->started_at_ms = 1700000001000;
    j->ended_at_ms = 0;
}

START_TEST(test_job_json)
{
    Drover__Job j;
    s_fill_job(&j);
    dr_buf_t b = {0};
    cli_json_render(&b, cli_job_json(&j));
    ck_assert_ptr_nonnull(strstr(b.data, "\n  \"id\": 12,\n"));
    json_error_t err;
    json_t *o = json_loads(b.data, 0, &err);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "id")), 12);
    ck_assert_str_eq(json_string_value(json_object_get(o, "name")), "train");
    ck_assert_str_eq(json_string_value(json_object_get(o, "cluster")), "c1");
    ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "failed");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "exit_code")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 2);
    json_t *nodes = json_object_get(o, "nodes");
    ck_assert(json_is_array(nodes));
    ck_assert_str_eq(json_string_value(json_array_get(nodes, 1)), "c-2");
    ck_assert_str_eq(json_string_value(json_object_get(o, "reason")),
                     "exit status 3");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "memory_mb")), 2048);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "node_count")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "priority")), -1);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "time_limit_s")),
                     1800);
    ck_assert_str_eq(json_string_value(json_object_get(o, "image")), "");
    json_t *cmd = json_object_get(o, "command");
    ck_assert_int_eq(json_array_size(cmd), 3);
    ck_assert_str_eq(json_string_value(json_array_get(cmd, 2)),
                     "--lr=0.1 it's");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "submitted_at")),
                     1700000000000LL);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "ended_at")), 0);
    const char *keys[] = {"cpus", "gpus", "max_retries", "started_at"};
    for (size_t i = 0; i < 4; i++)
        ck_assert(json_is_integer(json_object_get(o, keys[i])));
    ck_assert_int_eq(json_array_size(json_object_get(o, "gpu_indices")), 0);
    ck_assert_int_eq(json_array_size(json_object_get(o, "gpu_uuids")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "preemptions")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "distribution")), "");
    ck_assert_str_eq(json_string_value(json_object_get(o, "head_node")), "");
    ck_assert(json_is_integer(json_object_get(o, "procs_per_node")));
    ck_assert_int_eq(json_object_size(o), 26);
    json_decref(o);
    dr_buf_free(&b);
}
END_TEST

/* Issue 4/6 fields of a job: the GPUs it holds and its preemptions. */
START_TEST(test_job_gpus)
{
    Drover__Job j;
    s_fill_job(&j);
    uint32_t idx[] = {1, 3};
    char *uuids[] = {"GPU-aaaa", "GPU-bbbb"};
    j.gpus = 2;
    j.gpu_indices = idx;
    j.n_gpu_indices = 2;
    j.gpu_uuids = uuids;
    j.n_gpu_uuids = 2;
    j.preemptions = 4;
    dr_buf_t b = {0};
    cli_json_render(&b, cli_job_json(&j));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    json_t *gi = json_object_get(o, "gpu_indices");
    ck_assert_int_eq(json_array_size(gi), 2);
    ck_assert_int_eq(json_integer_value(json_array_get(gi, 1)), 3);
    json_t *gu = json_object_get(o, "gpu_uuids");
    ck_assert_str_eq(json_string_value(json_array_get(gu, 0)), "GPU-aaaa");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "preemptions")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "gpus")), 2);
    json_decref(o);

    b.len = 0;
    cli_render_job_show(&b, &j);
    ck_assert_ptr_nonnull(
        strstr(b.data, "\ngpus: 2 (1=GPU-aaaa, 3=GPU-bbbb)\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "\npreemptions: 4\n"));

    /* indices without uuids (an agent without NVML): just the indices */
    j.n_gpu_uuids = 0;
    b.len = 0;
    cli_render_job_show(&b, &j);
    ck_assert_ptr_nonnull(strstr(b.data, "\ngpus: 2 (1, 3)\n"));
    /* nothing assigned: the count alone */
    j.n_gpu_indices = 0;
    j.preemptions = 0;
    b.len = 0;
    cli_render_job_show(&b, &j);
    ck_assert_ptr_nonnull(strstr(b.data, "\ngpus: 2\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "\npreemptions: 0\n"));
    dr_buf_free(&b);
}
END_TEST

START_TEST(test_cluster_json)
{
    Drover__Cluster c;
    drover__cluster__init(&c);
    char *errs[] = {"quota exceeded", "provider down"};
    c.name = "c1";
    c.vm_size = "Standard_D4";
    c.min_nodes = 1;
    c.max_nodes = 4;
    c.current_nodes = 2;
    c.target_nodes = 3;
    c.allocation_state = "resizing";
    c.vm_priority = "dedicated";
    c.location = "local";
    c.provider = "local";
    c.idle_seconds_before_scaledown = 120;
    c.errors = errs;
    c.n_errors = 2;
    c.running_nodes = 2;
    c.preparing_nodes = 1;
    dr_buf_t b = {0};
    cli_json_render(&b, cli_cluster_json(&c));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "name")), "c1");
    ck_assert_str_eq(json_string_value(json_object_get(o, "allocation_state")),
                     "resizing");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "target_nodes")), 3);
    ck_assert_int_eq(
        json_integer_value(json_object_get(o, "idle_seconds_before_scaledown")),
        120);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "preparing_nodes")),
                     1);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "leaving_nodes")),
                     0);
    json_t *e = json_object_get(o, "errors");
    ck_assert_int_eq(json_array_size(e), 2);
    ck_assert_str_eq(json_string_value(json_array_get(e, 1)), "provider down");
    ck_assert(json_is_false(json_object_get(o, "locked")));
    ck_assert_str_eq(json_string_value(json_object_get(o, "wait_reason")), "");
    ck_assert_str_eq(json_string_value(json_object_get(o, "provider_url")), "");
    ck_assert_int_eq(json_object_size(o), 26);
    json_decref(o);

    b.len = 0;
    cli_render_cluster_show(&b, &c);
    ck_assert_ptr_nonnull(strstr(b.data, "name: c1\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "allocation_state: resizing\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "preparing_nodes: 1\n"));
    ck_assert_ptr_nonnull(
        strstr(b.data, "error: quota exceeded\nerror: provider down\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "\nlocked: no\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "\nvm_family: -\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "\npreempted_nodes: 0\n"));
    ck_assert_ptr_null(strstr(b.data, "wait_reason"));
    ck_assert_ptr_null(strstr(b.data, "resume_program"));
    ck_assert_ptr_null(strstr(b.data, "provider_url"));

    b.len = 0;
    Drover__Cluster *list[] = {&c};
    cli_render_clusters(&b, list, 1);
    ck_assert_str_eq(b.data, "NAME  VM_SIZE      MIN  MAX  CURRENT  TARGET  "
                             "STATE     PRIORITY   LOCATION\n"
                             "c1    Standard_D4  1    4    2        3       "
                             "resizing  dedicated  local\n");
    dr_buf_free(&b);
}
END_TEST

START_TEST(test_tables)
{
    Drover__Job j1, j2;
    s_fill_job(&j1);
    drover__job__init(&j2);
    j2.id = 7;
    j2.cluster = "gpu";
    j2.state = "queued";
    j2.submitted_at_ms = 1700000000000 + 3000;
    Drover__Job *jobs[] = {&j1, &j2};
    dr_buf_t b = {0};
    cli_render_jobs(&b, jobs, 2, 1700000000000 + 10 * 60 * 1000);
    ck_assert_str_eq(
        b.data, "ID  NAME   CLUSTER  STATE   EXIT  ATTEMPTS  NODES    AGE\n"
                "12  train  c1       failed  3     2         c-1,c-2  10m\n"
                "7   -      gpu      queued  -     0         -        9m\n");
    b.len = 0;
    cli_render_job_show(&b, &j1);
    ck_assert_ptr_nonnull(strstr(b.data, "id: 12\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "exit_code: 3\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "reason: exit status 3\n"));
    ck_assert_ptr_nonnull(
        strstr(b.data, "command: python train.py '--lr=0.1 it'\\''s'\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "submitted: 2023-11-14T22:13:20Z\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "started: 2023-11-14T22:13:21Z\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "ended: -\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "time_limit_s: 1800\n"));

    Drover__Node n;
    drover__node__init(&n);
    n.name = "c1-0";
    n.cluster = "c1";
    n.state = "running";
    n.cpus = 8;
    n.cpus_used = 2;
    n.memory_mb = 16384;
    n.memory_used_mb = 1024;
    n.tasks = 1;
    Drover__Node *ns[] = {&n};
    b.len = 0;
    cli_render_nodes(&b, ns, 1);
    ck_assert_str_eq(
        b.data,
        "NAME  CLUSTER  STATE    CPUS  MEMORY_MB   GPUS  RUNTIMES  TASKS\n"
        "c1-0  c1       running  2/8   1024/16384  -     -         1\n");
    b.len = 0;
    cli_json_render(&b, cli_node_json(&n));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert(json_is_array(json_object_get(o, "gpus")));
    ck_assert_int_eq(json_array_size(json_object_get(o, "runtimes")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "reason")), "");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "cpus_used")), 2);
    json_decref(o);
    dr_buf_free(&b);

    char age[16];
    cli_fmt_age(age, sizeof age, 100000, 95000);
    ck_assert_str_eq(age, "5s");
    cli_fmt_age(age, sizeof age, 3LL * 86400 * 1000 + 1, 1);
    ck_assert_str_eq(age, "3d");
    cli_fmt_age(age, sizeof age, 5, 0);
    ck_assert_str_eq(age, "-");
}
END_TEST

/* A node with two V100s (one unhealthy) and both runtimes. */
static Drover__GpuInfo s_g0, s_g1;
static Drover__GpuInfo *s_gpus2[] = {&s_g0, &s_g1};
static char *s_rts2[] = {"process", "docker"};

static void s_fill_gpu_node(Drover__Node *n)
{
    drover__gpu_info__init(&s_g0);
    s_g0.index = 0;
    s_g0.uuid = "GPU-0000";
    s_g0.name = "Tesla V100-PCIE-16GB";
    s_g0.memory_total_mb = 16384;
    s_g0.memory_used_mb = 1200;
    s_g0.utilization_gpu = 12;
    s_g0.utilization_memory = 3;
    s_g0.temperature_c = 45;
    s_g0.power_mw = 60000;
    s_g0.power_limit_mw = 250000;
    s_g0.ecc_uncorrected = 0;
    s_g0.healthy = 1;
    s_g1 = s_g0;
    s_g1.index = 1;
    s_g1.uuid = "GPU-1111";
    s_g1.utilization_gpu = 15;
    s_g1.ecc_uncorrected = 7;
    s_g1.healthy = 0;
    drover__node__init(n);
    n->name = "g-0";
    n->cluster = "gpu";
    n->state = "idle";
    n->reason = "1 GPU unhealthy";
    n->cpus = 8;
    n->memory_mb = 65536;
    n->vm_size = "Standard_NC12";
    n->gpus = s_gpus2;
    n->n_gpus = 2;
    n->runtimes = s_rts2;
    n->n_runtimes = 2;
    n->last_seen_ms = 1700000000000;
    n->created_at_ms = 1700000000000 - 60000;
}

START_TEST(test_node_gpus)
{
    Drover__Node n;
    s_fill_gpu_node(&n);
    Drover__Node *ns[] = {&n};
    dr_buf_t b = {0};
    cli_render_nodes(&b, ns, 1);
    ck_assert_str_eq(b.data,
                     "NAME  CLUSTER  STATE  CPUS  MEMORY_MB  GPUS            "
                     "                  RUNTIMES        TASKS\n"
                     "g-0   gpu      idle   0/8   0/65536    2 V100-PCIE-16GB "
                     "(1 healthy) 14%  process,docker  0\n");

    /* the GPU cell: mixed models, vendor prefixes, rounding */
    b.len = 0;
    cli_fmt_gpus(&b, NULL, 0);
    ck_assert_str_eq(b.data, "-");
    s_g1.name = "NVIDIA A100-SXM4-80GB";
    s_g1.utilization_gpu = 13;
    b.len = 0;
    cli_fmt_gpus(&b, s_gpus2, 2);
    ck_assert_str_eq(b.data, "2 mixed (1 healthy) 13%");
    s_g0.name = "NVIDIA GeForce RTX 3090";
    b.len = 0;
    cli_fmt_gpus(&b, s_gpus2, 1);
    ck_assert_str_eq(b.data, "1 RTX 3090 (1 healthy) 12%");
    s_g0.name = "";
    b.len = 0;
    cli_fmt_gpus(&b, s_gpus2, 1);
    ck_assert_str_eq(b.data, "1 ? (1 healthy) 12%");

    s_fill_gpu_node(&n);
    b.len = 0;
    cli_render_node_show(&b, &n);
    ck_assert_str_eq(
        b.data,
        "name: g-0\n"
        "cluster: gpu\n"
        "state: idle\n"
        "reason: 1 GPU unhealthy\n"
        "vm_size: Standard_NC12\n"
        "cpus: 8\n"
        "cpus_used: 0\n"
        "memory_mb: 65536\n"
        "memory_used_mb: 0\n"
        "tasks: 0\n"
        "runtimes: process,docker\n"
        "gpus: 2 V100-PCIE-16GB (1 healthy) 14%\n"
        "last_seen: 2023-11-14T22:13:20Z\n"
        "created: 2023-11-14T22:12:20Z\n"
        "gpu 0: GPU-0000 Tesla V100-PCIE-16GB 16384 MB, used 1200 MB, util "
        "12%/3%, 45 C, 60/250 W, ecc 0, healthy\n"
        "gpu 1: GPU-1111 Tesla V100-PCIE-16GB 16384 MB, used 1200 MB, util "
        "15%/3%, 45 C, 60/250 W, ecc 7, unhealthy\n");

    b.len = 0;
    cli_json_render(&b, cli_node_json(&n));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "reason")),
                     "1 GPU unhealthy");
    json_t *rts = json_object_get(o, "runtimes");
    ck_assert_int_eq(json_array_size(rts), 2);
    ck_assert_str_eq(json_string_value(json_array_get(rts, 1)), "docker");
    json_t *gpus = json_object_get(o, "gpus");
    ck_assert_int_eq(json_array_size(gpus), 2);
    json_t *g = json_array_get(gpus, 1);
    ck_assert_int_eq(json_object_size(g), 12);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "index")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(g, "uuid")), "GPU-1111");
    ck_assert_str_eq(json_string_value(json_object_get(g, "name")),
                     "Tesla V100-PCIE-16GB");
    ck_assert_int_eq(json_integer_value(json_object_get(g, "memory_total_mb")),
                     16384);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "memory_used_mb")),
                     1200);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "utilization_gpu")),
                     15);
    ck_assert_int_eq(
        json_integer_value(json_object_get(g, "utilization_memory")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "temperature_c")),
                     45);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "power_mw")), 60000);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "power_limit_mw")),
                     250000);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "ecc_uncorrected")),
                     7);
    ck_assert(json_is_false(json_object_get(g, "healthy")));
    ck_assert(
        json_is_true(json_object_get(json_array_get(gpus, 0), "healthy")));
    ck_assert_int_eq(json_integer_value(json_object_get(o, "last_seen_at")),
                     1700000000000LL);
    json_decref(o);
    dr_buf_free(&b);
}
END_TEST

START_TEST(test_cluster_new_fields)
{
    Drover__Cluster c;
    drover__cluster__init(&c);
    c.name = "ex";
    c.vm_size = "S";
    c.provider = "exec";
    c.resume_program = "/opt/resume.sh";
    c.suspend_program = "/opt/suspend.sh";
    c.locked = 1;
    c.vm_family = "standardDv2Family";
    c.preempted_nodes = 2;
    c.unusable_nodes = 1;
    c.wait_reason = "quota standardDv2Family: 8 of 8 dedicated cores in use";
    dr_buf_t b = {0};
    cli_render_cluster_show(&b, &c);
    ck_assert_ptr_nonnull(strstr(b.data, "provider: exec\n"
                                         "resume_program: /opt/resume.sh\n"
                                         "suspend_program: /opt/suspend.sh\n"
                                         "vm_family: standardDv2Family\n"
                                         "locked: yes\n"));
    ck_assert_ptr_nonnull(strstr(b.data,
                                 "\npreempted_nodes: 2\n"
                                 "unusable_nodes: 1\n"
                                 "wait_reason: quota standardDv2Family: "
                                 "8 of 8 dedicated cores in use\n"));
    ck_assert_ptr_null(strstr(b.data, "provider_url"));
    b.len = 0;
    cli_json_render(&b, cli_cluster_json(&c));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert(json_is_true(json_object_get(o, "locked")));
    ck_assert_str_eq(json_string_value(json_object_get(o, "vm_family")),
                     "standardDv2Family");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "preempted_nodes")),
                     2);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "unusable_nodes")),
                     1);
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(o, "wait_reason")), "8 of 8"));
    ck_assert_str_eq(json_string_value(json_object_get(o, "resume_program")),
                     "/opt/resume.sh");
    ck_assert_str_eq(json_string_value(json_object_get(o, "suspend_program")),
                     "/opt/suspend.sh");
    ck_assert_str_eq(json_string_value(json_object_get(o, "provider_url")), "");
    json_decref(o);

    c.provider = "http";
    c.resume_program = c.suspend_program = "";
    c.provider_url = "https://prov.example/api";
    c.locked = 0;
    b.len = 0;
    cli_render_cluster_show(&b, &c);
    ck_assert_ptr_nonnull(strstr(b.data,
                                 "provider: http\n"
                                 "provider_url: https://prov.example/api\n"
                                 "vm_family: standardDv2Family\n"
                                 "locked: no\n"));
    dr_buf_free(&b);
}
END_TEST

START_TEST(test_quota_render)
{
    Drover__Quota q1, q2;
    drover__quota__init(&q1);
    drover__quota__init(&q2);
    q1.family = "standardDv2Family";
    q1.dedicated_cores = 16;
    q1.dedicated_used = 4;
    q1.lowpriority_cores = -1;
    q1.lowpriority_used = 2;
    q2.family = "standardNCFamily";
    q2.dedicated_cores = -1;
    q2.lowpriority_cores = 0;
    Drover__Quota *qs[] = {&q1, &q2};
    dr_buf_t b = {0};
    cli_render_quotas(&b, qs, 2);
    ck_assert_str_eq(b.data, "FAMILY             DEDICATED    LOWPRIORITY\n"
                             "standardDv2Family  4/16         2/unlimited\n"
                             "standardNCFamily   0/unlimited  0/0\n");
    b.len = 0;
    cli_render_quotas(&b, NULL, 0);
    ck_assert_str_eq(b.data, "FAMILY  DEDICATED  LOWPRIORITY\n");
    b.len = 0;
    cli_json_render(&b, cli_quota_json(&q1));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(json_object_size(o), 5);
    ck_assert_str_eq(json_string_value(json_object_get(o, "family")),
                     "standardDv2Family");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "dedicated_cores")),
                     16);
    ck_assert_int_eq(
        json_integer_value(json_object_get(o, "lowpriority_cores")), -1);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "dedicated_used")),
                     4);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "lowpriority_used")),
                     2);
    json_decref(o);
    dr_buf_free(&b);
}
END_TEST

START_TEST(test_event_render)
{
    Drover__Event e1, e2;
    drover__event__init(&e1);
    drover__event__init(&e2);
    e1.ts_ms = 1700000000000;
    e1.kind = "scale_out";
    e1.cluster = "c1";
    e1.message = "target 0 -> 2";
    e2.ts_ms = 1700000061000;
    e2.kind = "node_preempted";
    e2.cluster = "c1";
    e2.node = "c1-0";
    e2.job_id = 12;
    e2.message = "Preempt event";
    Drover__Event *es[] = {&e1, &e2};
    dr_buf_t b = {0};
    cli_render_events(&b, es, 2);
    ck_assert_str_eq(
        b.data,
        "TIME                  KIND            NODE  JOB  MESSAGE\n"
        "2023-11-14T22:13:20Z  scale_out       -     -    target 0 -> 2\n"
        "2023-11-14T22:14:21Z  node_preempted  c1-0  12   Preempt event\n");
    b.len = 0;
    cli_json_render(&b, cli_event_json(&e2));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(json_object_size(o), 6);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "ts")),
                     1700000061000LL);
    ck_assert_str_eq(json_string_value(json_object_get(o, "kind")),
                     "node_preempted");
    ck_assert_str_eq(json_string_value(json_object_get(o, "cluster")), "c1");
    ck_assert_str_eq(json_string_value(json_object_get(o, "node")), "c1-0");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "job_id")), 12);
    ck_assert_str_eq(json_string_value(json_object_get(o, "message")),
                     "Preempt event");
    json_decref(o);
    dr_buf_free(&b);
}
END_TEST

/* One bad command line: expected usage flag and a fragment of the message. */
typedef struct {
    int argc;
    char **argv;
    int usage;
    const char *msg;
} bad_case_t;

#define CHECK_BAD(cases, call)                                                 \
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {              \
        cli_ctx_t ctx;                                                         \
        cli_ctx_init(&ctx);                                                    \
        int argc = cases[i].argc;                                              \
        char **argv = cases[i].argv;                                           \
        int rc = (call);                                                       \
        ck_assert_msg(rc == DR_EINVAL, "case %zu rc %d", i, rc);               \
        ck_assert_msg(ctx.usage == cases[i].usage, "case %zu usage %d: %s", i, \
                      ctx.usage, ctx.err);                                     \
        ck_assert_msg(strstr(ctx.err, cases[i].msg), "case %zu: '%s'", i,      \
                      ctx.err);                                                \
    }

START_TEST(test_cluster_provider_parse)
{
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    Drover__Cluster c;
    ck_assert_int_eq(
        cli_parse_cluster_create(&ctx, 9,
                                 ARGV("-n", "ex", "-s", "S", "--provider",
                                      "exec", "--resume-program", "/bin/r",
                                      "--suspend-program=/bin/s"),
                                 &c),
        0);
    ck_assert_str_eq(c.provider, "exec");
    ck_assert_str_eq(c.resume_program, "/bin/r");
    ck_assert_str_eq(c.suspend_program, "/bin/s");
    ck_assert_str_eq(c.provider_url, "");
    ck_assert_int_eq(cli_parse_cluster_create(
                         &ctx, 8,
                         ARGV("-n", "h", "-s", "S", "--provider", "http",
                              "--provider-url", "https://10.0.0.1:8080/nodes"),
                         &c),
                     0);
    ck_assert_str_eq(c.provider, "http");
    ck_assert_str_eq(c.provider_url, "https://10.0.0.1:8080/nodes");
    ck_assert_str_eq(c.resume_program, "");
    ck_assert_int_eq(cli_parse_cluster_create(
                         &ctx, 8,
                         ARGV("-n", "h", "-s", "S", "--provider", "http",
                              "--provider-url", "http://localhost"),
                         &c),
                     0);
    ck_assert_int_eq(
        cli_parse_cluster_create(
            &ctx, 6, ARGV("-n", "l", "-s", "S", "--provider", "local"), &c),
        0);
    ck_assert_str_eq(c.provider, "local");

    bad_case_t cases[] = {
        {6, ARGV("-n", "x", "-s", "S", "--provider", "azure"), 0,
         "invalid --provider 'azure' (local, exec or http)"},
        {6, ARGV("-n", "x", "-s", "S", "--provider", ""), 0,
         "invalid --provider ''"},
        {6, ARGV("-n", "x", "-s", "S", "--resume-program", "/r"), 1,
         "--resume-program needs --provider exec"},
        {8,
         ARGV("-n", "x", "-s", "S", "--provider", "local", "--suspend-program",
              "/s"),
         1, "--suspend-program needs --provider exec"},
        {6, ARGV("-n", "x", "-s", "S", "--provider-url", "http://h"), 1,
         "--provider-url needs --provider http"},
        {10,
         ARGV("-n", "x", "-s", "S", "--provider", "exec", "--resume-program",
              "/r", "--provider-url", "http://h"),
         1, "--provider-url needs --provider http"},
        {8,
         ARGV("-n", "x", "-s", "S", "--provider", "http", "--resume-program",
              "/r"),
         1, "--resume-program needs --provider exec"},
        {6, ARGV("-n", "x", "-s", "S", "--provider", "exec"), 1,
         "--provider exec needs --resume-program PATH"},
        {8,
         ARGV("-n", "x", "-s", "S", "--provider", "exec", "--resume-program",
              "/r"),
         1, "--provider exec needs --suspend-program PATH"},
        {6, ARGV("-n", "x", "-s", "S", "--provider", "http"), 1,
         "--provider http needs --provider-url URL"},
        {10,
         ARGV("-n", "x", "-s", "S", "--provider", "exec", "--resume-program",
              "r.sh", "--suspend-program", "/s"),
         0, "invalid --resume-program 'r.sh': expected an absolute path"},
        {10,
         ARGV("-n", "x", "-s", "S", "--provider", "exec", "--resume-program",
              "/r", "--suspend-program", ""),
         0, "invalid --suspend-program ''"},
        {8,
         ARGV("-n", "x", "-s", "S", "--provider", "http", "--provider-url",
              "ftp://h"),
         0, "invalid --provider-url 'ftp://h'"},
        {8,
         ARGV("-n", "x", "-s", "S", "--provider", "http", "--provider-url",
              "http://"),
         0, "invalid --provider-url 'http://'"},
        {8,
         ARGV("-n", "x", "-s", "S", "--provider", "http", "--provider-url",
              "https://a b"),
         0, "invalid --provider-url"},
        {8,
         ARGV("-n", "x", "-s", "S", "--provider", "http", "--provider-url",
              "prov.example"),
         0, "invalid --provider-url"},
    };
    CHECK_BAD(cases, cli_parse_cluster_create(&ctx, argc, argv, &c));
}
END_TEST

START_TEST(test_quota_parse)
{
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    Drover__QuotaSet q;
    ck_assert_int_eq(cli_parse_quota_set(
                         &ctx, 4,
                         ARGV("--family", "standardDv2Family", "--cores", "16"),
                         &q),
                     0);
    ck_assert_str_eq(q.family, "standardDv2Family");
    ck_assert_int_eq(q.cores, 16);
    ck_assert_str_eq(q.vm_priority, "dedicated");
    ck_assert_int_eq(cli_parse_quota_set(&ctx, 5,
                                         ARGV("--cores=0", "--family", "NC_v3",
                                              "--vm-priority", "lowpriority"),
                                         &q),
                     0);
    ck_assert_int_eq(q.cores, 0);
    ck_assert_str_eq(q.vm_priority, "lowpriority");
    ck_assert_str_eq(q.family, "NC_v3");

    bad_case_t cases[] = {
        {2, ARGV("--cores", "4"), 1, "missing required option --family"},
        {2, ARGV("--family", "f"), 1, "missing required option --cores"},
        {5, ARGV("--family", "f", "--cores", "4", "extra"), 1,
         "unexpected argument 'extra'"},
        {4, ARGV("--family", "f", "--cpus", "4"), 1, "unknown option '--cpus'"},
        {4, ARGV("--family", "", "--cores", "4"), 0, "invalid --family ''"},
        {4, ARGV("--family", "std-Dv2", "--cores", "4"), 0,
         "invalid --family 'std-Dv2'"},
        {4, ARGV("--family", "a b", "--cores", "4"), 0, "invalid --family"},
        {4,
         ARGV(
             "--family",
             "f123456789012345678901234567890123456789012345678901234567890123",
             "--cores", "4"),
         0, "invalid --family"},
        {4, ARGV("--family", "f", "--cores", "-1"), 0,
         "invalid --cores '-1': expected an integer from 0"},
        {4, ARGV("--family", "f", "--cores", "4x"), 0, "invalid --cores '4x'"},
        {4, ARGV("--family", "f", "--cores", "100000001"), 0,
         "invalid --cores '100000001': expected an integer from 0 to "
         "100000000"},
        {4, ARGV("--family", "f", "--cores", ""), 0, "invalid --cores ''"},
        {6, ARGV("--family", "f", "--cores", "4", "--vm-priority", "spot"), 0,
         "invalid --vm-priority 'spot'"},
    };
    CHECK_BAD(cases, cli_parse_quota_set(&ctx, argc, argv, &q));
}
END_TEST

START_TEST(test_events_node_parse)
{
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    Drover__ClusterEventsReq e;
    ck_assert_int_eq(cli_parse_cluster_events(&ctx, 2, ARGV("-n", "c1"), &e),
                     0);
    ck_assert_str_eq(e.name, "c1");
    ck_assert_uint_eq(e.limit, 0);
    ck_assert_int_eq(cli_parse_cluster_events(
                         &ctx, 3, ARGV("--name", "c1", "--limit=20"), &e),
                     0);
    ck_assert_uint_eq(e.limit, 20);
    bad_case_t ev[] = {
        {0, ARGV(NULL), 1, "missing required option -n NAME"},
        {2, ARGV("--limit", "5"), 1, "missing required option -n NAME"},
        {3, ARGV("-n", "c1", "x"), 1, "unexpected argument 'x'"},
        {1, ARGV("-n"), 1, "needs a value"},
        {2, ARGV("-n", "bad name"), 0, "invalid cluster name 'bad name'"},
        {4, ARGV("-n", "c1", "--limit", "0"), 0, "invalid --limit '0'"},
        {4, ARGV("-n", "c1", "--limit", "ten"), 0, "invalid --limit 'ten'"},
        {4, ARGV("-n", "c1", "--limit", "10001"), 0,
         "expected an integer from 1 to 10000"},
    };
    CHECK_BAD(ev, cli_parse_cluster_events(&ctx, argc, argv, &e));

    Drover__NodeRef r;
    ck_assert_int_eq(cli_parse_node_ref(&ctx, 1, ARGV("c1-0"), &r), 0);
    ck_assert_str_eq(r.name, "c1-0");
    ck_assert_int_eq(
        cli_parse_node_ref(&ctx, 3, ARGV("-o", "json", "c1-0"), &r), 0);
    ck_assert_int_eq(ctx.out, CLI_OUT_JSON);
    ck_assert_int_eq(cli_parse_node_ref(&ctx, 2, ARGV("--", "c1-0"), &r),
                     DR_EINVAL);
    bad_case_t nr[] = {
        {0, ARGV(NULL), 1, "missing node NAME"},
        {2, ARGV("a", "b"), 1, "unexpected argument 'b'"},
        {2, ARGV("a", "--force"), 1, "unknown option '--force'"},
        {1, ARGV("a.b"), 0, "invalid node name 'a.b'"},
        {1, ARGV(""), 0, "invalid node name ''"},
    };
    CHECK_BAD(nr, cli_parse_node_ref(&ctx, argc, argv, &r));
}
END_TEST

/* ---- talking to a scheduler
 * --------------------------------------------------- */

START_TEST(test_timeout)
{
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = "tcp://127.0.0.1:1";
    ctx.timeout_ms = 300;
    cap_t out = {0};
    s_capture(&ctx, &out, NULL);
    int64_t t0 = dr_mono_ms();
    int rc = cli_cluster_list(&ctx, 0, NULL);
    int64_t dt = dr_mono_ms() - t0;
    s_capture_end(&ctx, &out, NULL);
    cli_disconnect(&ctx);
    ck_assert_int_eq(rc, DR_ETIMEOUT);
    ck_assert_str_eq(ctx.err, "scheduler at tcp://127.0.0.1:1 did not answer "
                              "within 0.3 s");
    ck_assert_int_ge(dt, 290);
    ck_assert_int_lt(dt, 3000);
    ck_assert_uint_eq(out.len, 0);
    free(out.buf);

    cli_ctx_init(&ctx);
    ctx.endpoint = "tcp://127.0.0.1:1";
    ctx.timeout_ms = 1000;
    Drover__ClusterListReq lr = DROVER__CLUSTER_LIST_REQ__INIT;
    dr_env_t req, *rep = NULL;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_CLUSTER_LIST;
    req.cluster_list = &lr;
    ctx.timeout_ms = 100;
    ck_assert_int_eq(cli_call(&ctx, &req, 0, &rep), DR_ETIMEOUT);
    ck_assert_ptr_null(rep);
    uint64_t first = req.request_id;
    ck_assert_int_eq(cli_call(&ctx, &req, 0, &rep), DR_ETIMEOUT);
    ck_assert_uint_eq(req.request_id, first + 1);
    cli_disconnect(&ctx);
}
END_TEST

/* The scripted scheduler: answers `nreq` requests with `script`, which
 * fills in the reply for request number i and may record what it saw. */
typedef struct fake fake_t;
typedef void (*fake_script_t)(fake_t *f, int i, const dr_env_t *req,
                              dr_env_t *rep);
struct fake {
    pid_t pid;
    int rfd;
    char endpoint[64];
    int nreq;
    fake_script_t script;
    /* what the scripted scheduler saw; sent back when it is done */
    uint64_t seen_after_id[8];
    uint64_t seen_offset[8];
    int seen_body[8];
    uint32_t seen_mask;
    char seen_argv0[64];
    size_t seen_nargv;
    char seen_name[64];
    char seen_prio[32];
    int64_t seen_cores;
    int seen_locked; /* 1 locked, 2 unlocked */
    uint32_t seen_limit;
};

static void s_read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        ck_assert_int_gt(r, 0);
        p += r;
        n -= (size_t)r;
    }
}

/* The child: serve nreq requests, then send f back and exit. */
static void s_fake_serve(fake_t *f, int wfd)
{
    void *zctx = zmq_ctx_new();
    void *sock = zctx ? zmq_socket(zctx, ZMQ_ROUTER) : NULL;
    int linger = 0, tmo = 10000;
    size_t len = sizeof f->endpoint;
    if (!sock || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(sock, ZMQ_RCVTIMEO, &tmo, sizeof tmo) ||
        zmq_bind(sock, "tcp://127.0.0.1:*") ||
        zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, f->endpoint, &len))
        _exit(3);
    if (dr_write_all(wfd, f->endpoint, sizeof f->endpoint) < 0)
        _exit(3);
    for (int i = 0; i < f->nreq; i++) {
        char rid[DR_MAX_ROUTING_ID + 1];
        dr_env_t *req = NULL;
        if (wire_recv(sock, rid, 0, &req) < 0) {
            wire_free(&req);
            break;
        }
        if (i < 8)
            f->seen_body[i] = (int)req->body_case;
        dr_env_t rep;
        wire_env_init(&rep, req->request_id);
        f->script(f, i, req, &rep);
        if (rep.body_case != DROVER__ENVELOPE__BODY__NOT_SET)
            wire_send(sock, rid, &rep);
        wire_free(&req);
    }
    int rc = dr_write_all(wfd, f, sizeof *f);
    zmq_close(sock);
    zmq_ctx_term(zctx);
    _exit(rc < 0 ? 3 : 0);
}

static void s_fake_start(fake_t *f, int nreq, fake_script_t script)
{
    memset(f, 0, sizeof *f);
    f->nreq = nreq;
    f->script = script;
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fflush(NULL);
    f->pid = fork();
    ck_assert_int_ge(f->pid, 0);
    if (f->pid == 0) {
        close(p[0]);
        s_fake_serve(f, p[1]);
    }
    close(p[1]);
    f->rfd = p[0];
    s_read_all(f->rfd, f->endpoint, sizeof f->endpoint);
}

/* Waits for the child and takes over what it saw. */
static void s_fake_stop(fake_t *f)
{
    fake_t back;
    s_read_all(f->rfd, &back, sizeof back);
    close(f->rfd);
    int st = 0;
    ck_assert_int_eq(waitpid(f->pid, &st, 0), f->pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    memcpy(f->seen_after_id, back.seen_after_id, sizeof f->seen_after_id);
    memcpy(f->seen_offset, back.seen_offset, sizeof f->seen_offset);
    memcpy(f->seen_body, back.seen_body, sizeof f->seen_body);
    memcpy(f->seen_argv0, back.seen_argv0, sizeof f->seen_argv0);
    f->seen_mask = back.seen_mask;
    f->seen_nargv = back.seen_nargv;
    memcpy(f->seen_name, back.seen_name, sizeof f->seen_name);
    memcpy(f->seen_prio, back.seen_prio, sizeof f->seen_prio);
    f->seen_cores = back.seen_cores;
    f->seen_locked = back.seen_locked;
    f->seen_limit = back.seen_limit;
}

static void s_script_clusters(fake_t *f, int i, const dr_env_t *req,
                              dr_env_t *rep)
{
    (void)f;
    (void)i;
    (void)req;
    static Drover__Cluster c = DROVER__CLUSTER__INIT;
    static Drover__Cluster *cs[] = {&c};
    static Drover__ClusterList cl = DROVER__CLUSTER_LIST__INIT;
    c.name = "c1";
    c.vm_size = "S";
    c.max_nodes = 4;
    c.allocation_state = "steady";
    c.vm_priority = "dedicated";
    c.location = "local";
    cl.clusters = cs;
    cl.n_clusters = 1;
    rep->body_case = DROVER__ENVELOPE__BODY_CLUSTER_LIST_REPLY;
    rep->cluster_list_reply = &cl;
}

START_TEST(test_cluster_list_roundtrip)
{
    fake_t f;
    s_fake_start(&f, 2, s_script_clusters);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    cap_t out = {0};
    s_capture(&ctx, &out, NULL);
    ck_assert_int_eq(cli_cluster_list(&ctx, 0, NULL), 0);
    ck_assert_int_eq(cli_cluster_list(&ctx, 2, ARGV("-o", "json")), 0);
    s_capture_end(&ctx, &out, NULL);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(f.seen_body[0], DROVER__ENVELOPE__BODY_CLUSTER_LIST);
    const char *table = "NAME  VM_SIZE  MIN  MAX  CURRENT  TARGET  STATE   "
                        "PRIORITY   LOCATION\n"
                        "c1    S        0    4    0        0       steady  "
                        "dedicated  local\n";
    ck_assert_int_eq(strncmp(out.buf, table, strlen(table)), 0);
    json_t *arr = json_loads(out.buf + strlen(table), 0, NULL);
    ck_assert(json_is_array(arr));
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(arr, 0), "name")),
        "c1");
    json_decref(arr);
    free(out.buf);
}
END_TEST

static void s_script_error(fake_t *f, int i, const dr_env_t *req, dr_env_t *rep)
{
    (void)i;
    static Drover__Error e = DROVER__ERROR__INIT;
    e.code = DR_EEXIST;
    e.message = "cluster 'c1' already exists";
    if (req->body_case == DROVER__ENVELOPE__BODY_CLUSTER_UPDATE)
        f->seen_mask = req->cluster_update->set_mask;
    rep->body_case = DROVER__ENVELOPE__BODY_ERROR;
    rep->error = &e;
}

START_TEST(test_error_reply)
{
    fake_t f;
    s_fake_start(&f, 2, s_script_error);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    ck_assert_int_eq(cli_cluster_create(&ctx, 4, ARGV("-n", "c1", "-s", "S")),
                     DR_EEXIST);
    ck_assert_str_eq(ctx.err, "cluster 'c1' already exists");
    ck_assert_int_eq(ctx.usage, 0);
    ck_assert_int_eq(
        cli_cluster_update(&ctx, 4, ARGV("-n", "c1", "--max-nodes", "2")),
        DR_EEXIST);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(f.seen_body[0], DROVER__ENVELOPE__BODY_CLUSTER_CREATE);
    ck_assert_int_eq(f.seen_body[1], DROVER__ENVELOPE__BODY_CLUSTER_UPDATE);
    ck_assert_uint_eq(f.seen_mask, 2);
}
END_TEST

/* submit, then three job_show answers: queued, running, failed (exit 3). */
static void s_script_wait(fake_t *f, int i, const dr_env_t *req, dr_env_t *rep)
{
    static Drover__JobSubmitReply sr = DROVER__JOB_SUBMIT_REPLY__INIT;
    static Drover__Job j;
    static char *nodes[] = {"c-1"};
    if (i == 0) {
        snprintf(f->seen_argv0, sizeof f->seen_argv0, "%s",
                 req->job_submit->job->argv[0]);
        f->seen_nargv = req->job_submit->job->n_argv;
        sr.id = 12;
        rep->body_case = DROVER__ENVELOPE__BODY_JOB_SUBMIT_REPLY;
        rep->job_submit_reply = &sr;
        return;
    }
    drover__job__init(&j);
    j.id = req->job_show->id;
    j.state = i == 1 ? "queued" : i <= 3 ? "running" : "failed";
    if (i >= 2) {
        j.node_names = nodes;
        j.n_node_names = 1;
    }
    if (i == 4)
        j.exit_code = 3;
    rep->body_case = DROVER__ENVELOPE__BODY_JOB_INFO;
    rep->job_info = &j;
}

START_TEST(test_submit_wait)
{
    fake_t f;
    s_fake_start(&f, 5, s_script_wait);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    cap_t out = {0}, err = {0};
    s_capture(&ctx, &out, &err);
    int rc = cli_job_submit(
        &ctx, 6, ARGV("--cluster", "c1", "--wait", "--", "sh", "-c"));
    s_capture_end(&ctx, &out, &err);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(ctx.exit_code, 3);
    ck_assert_str_eq(out.buf, "12\n");
    ck_assert_str_eq(err.buf, "job 12: queued\n"
                              "job 12: running on c-1\n"
                              "job 12: failed (exit 3)\n");
    ck_assert_str_eq(f.seen_argv0, "sh");
    ck_assert_uint_eq(f.seen_nargv, 2);
    for (int i = 1; i < 5; i++)
        ck_assert_int_eq(f.seen_body[i], DROVER__ENVELOPE__BODY_JOB_SHOW);
    free(out.buf);
    free(err.buf);
}
END_TEST

/* Two pages of jobs: ids 1,2 (more) then 3. */
static void s_script_pages(fake_t *f, int i, const dr_env_t *req, dr_env_t *rep)
{
    static Drover__Job js[3];
    static Drover__Job *p0[] = {&js[0], &js[1]}, *p1[] = {&js[2]};
    static Drover__JobList jl;
    for (int k = 0; k < 3; k++) {
        drover__job__init(&js[k]);
        js[k].id = (uint64_t)k + 1;
        js[k].cluster = "c1";
        js[k].state = "queued";
    }
    drover__job_list__init(&jl);
    f->seen_after_id[i] = req->job_list->after_id;
    jl.jobs = i == 0 ? p0 : p1;
    jl.n_jobs = i == 0 ? 2 : 1;
    jl.more = i == 0;
    rep->body_case = DROVER__ENVELOPE__BODY_JOB_LIST_REPLY;
    rep->job_list_reply = &jl;
}

START_TEST(test_job_list_paging)
{
    fake_t f;
    s_fake_start(&f, 2, s_script_pages);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    cap_t out = {0};
    s_capture(&ctx, &out, NULL);
    int rc = cli_job_list(
        &ctx, 5, ARGV("--cluster", "c1", "--state", "queued", "-ojson"));
    /* "-ojson" is not an option form we accept: usage error, no request. */
    ck_assert_int_eq(rc, DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);
    ctx.usage = 0;
    rc = cli_job_list(
        &ctx, 6, ARGV("--cluster", "c1", "--state", "queued", "-o", "json"));
    s_capture_end(&ctx, &out, NULL);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(f.seen_after_id[0], 0);
    ck_assert_uint_eq(f.seen_after_id[1], 2);
    json_t *arr = json_loads(out.buf, 0, NULL);
    ck_assert_int_eq(json_array_size(arr), 3);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(arr, 2), "id")), 3);
    json_decref(arr);
    free(out.buf);
}
END_TEST

/* Logs: "hello " then "world\n" then an empty eof reply. */
static void s_script_logs(fake_t *f, int i, const dr_env_t *req, dr_env_t *rep)
{
    static Drover__JobLogs jl;
    static const char *chunks[] = {"hello ", "world\n", ""};
    drover__job_logs__init(&jl);
    f->seen_offset[i] = req->job_logs->offset;
    jl.data.data = (uint8_t *)chunks[i];
    jl.data.len = strlen(chunks[i]);
    jl.next_offset = req->job_logs->offset + jl.data.len;
    jl.eof = i == 2;
    jl.state = "running";
    rep->body_case = DROVER__ENVELOPE__BODY_JOB_LOGS_REPLY;
    rep->job_logs_reply = &jl;
}

START_TEST(test_job_logs)
{
    fake_t f;
    s_fake_start(&f, 3, s_script_logs);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    cap_t out = {0};
    s_capture(&ctx, &out, NULL);
    int rc = cli_job_logs(&ctx, 2, ARGV("5", "-f"));
    s_capture_end(&ctx, &out, NULL);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out.buf, "hello world\n");
    ck_assert_uint_eq(f.seen_offset[1], 6);
    ck_assert_uint_eq(f.seen_offset[2], 12);
    free(out.buf);
}
END_TEST

START_TEST(test_exit_status)
{
    Drover__Job j;
    drover__job__init(&j);
    j.state = "succeeded";
    ck_assert_int_eq(cli_job_exit_status(&j), 0);
    j.state = "failed";
    ck_assert_int_eq(cli_job_exit_status(&j), 1);
    j.exit_code = 7;
    ck_assert_int_eq(cli_job_exit_status(&j), 7);
    j.state = "canceled";
    ck_assert_int_eq(cli_job_exit_status(&j), 130);
    j.state = "running";
    ck_assert_int_eq(cli_job_exit_status(&j), -1);
}
END_TEST

/* quota set, then quota list; both answered with the same two quotas. */
static void s_script_quota(fake_t *f, int i, const dr_env_t *req, dr_env_t *rep)
{
    static Drover__Quota q1, q2;
    static Drover__Quota *qs[] = {&q1, &q2};
    static Drover__QuotaList ql;
    if (i == 0 && req->quota_set) {
        snprintf(f->seen_name, sizeof f->seen_name, "%s",
                 req->quota_set->family);
        snprintf(f->seen_prio, sizeof f->seen_prio, "%s",
                 req->quota_set->vm_priority);
        f->seen_cores = req->quota_set->cores;
    }
    drover__quota__init(&q1);
    drover__quota__init(&q2);
    q1.family = "standardDv2Family";
    q1.dedicated_cores = -1;
    q1.lowpriority_cores = 8;
    q1.dedicated_used = 6;
    q2.family = "standardNCFamily";
    q2.dedicated_cores = 24;
    q2.lowpriority_cores = -1;
    q2.dedicated_used = 12;
    q2.lowpriority_used = 4;
    drover__quota_list__init(&ql);
    ql.quotas = qs;
    ql.n_quotas = 2;
    rep->body_case = DROVER__ENVELOPE__BODY_QUOTA_LIST_REPLY;
    rep->quota_list_reply = &ql;
}

START_TEST(test_quota_roundtrip)
{
    fake_t f;
    s_fake_start(&f, 2, s_script_quota);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    cap_t out = {0};
    s_capture(&ctx, &out, NULL);
    ck_assert_int_eq(
        cli_quota_set(&ctx, 6,
                      ARGV("--family", "standardDv2Family", "--cores", "8",
                           "--vm-priority", "lowpriority")),
        0);
    /* a bad flag never reaches the scheduler */
    ck_assert_int_eq(cli_quota_list(&ctx, 1, ARGV("extra")), DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);
    ctx.usage = 0;
    ck_assert_int_eq(cli_quota_list(&ctx, 2, ARGV("-o", "json")), 0);
    s_capture_end(&ctx, &out, NULL);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(f.seen_body[0], DROVER__ENVELOPE__BODY_QUOTA_SET);
    ck_assert_int_eq(f.seen_body[1], DROVER__ENVELOPE__BODY_QUOTA_LIST);
    ck_assert_str_eq(f.seen_name, "standardDv2Family");
    ck_assert_str_eq(f.seen_prio, "lowpriority");
    ck_assert_int_eq(f.seen_cores, 8);
    const char *table = "FAMILY             DEDICATED    LOWPRIORITY\n"
                        "standardDv2Family  6/unlimited  0/8\n"
                        "standardNCFamily   12/24        4/unlimited\n";
    ck_assert_int_eq(strncmp(out.buf, table, strlen(table)), 0);
    json_t *arr = json_loads(out.buf + strlen(table), 0, NULL);
    ck_assert(json_is_array(arr));
    ck_assert_int_eq(json_array_size(arr), 2);
    json_t *q = json_array_get(arr, 0);
    ck_assert_str_eq(json_string_value(json_object_get(q, "family")),
                     "standardDv2Family");
    ck_assert_int_eq(json_integer_value(json_object_get(q, "dedicated_cores")),
                     -1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(arr, 1),
                                                        "lowpriority_used")),
                     4);
    json_decref(arr);
    free(out.buf);
}
END_TEST

/* node show, node preempt, cluster lock, cluster events, node show of a
 * node the scheduler does not know. */
static void s_script_node(fake_t *f, int i, const dr_env_t *req, dr_env_t *rep)
{
    static Drover__Node n;
    static Drover__Ok ok = DROVER__OK__INIT;
    static Drover__Cluster c = DROVER__CLUSTER__INIT;
    static Drover__Event ev = DROVER__EVENT__INIT;
    static Drover__Event *evs[] = {&ev};
    static Drover__EventList el = DROVER__EVENT_LIST__INIT;
    static Drover__Error e = DROVER__ERROR__INIT;
    switch (req->body_case) {
    case DROVER__ENVELOPE__BODY_NODE_SHOW:
        if (strcmp(req->node_show->name, "g-0") != 0) {
            e.code = DR_ENOENT;
            e.message = "no node 'nope'";
            rep->body_case = DROVER__ENVELOPE__BODY_ERROR;
            rep->error = &e;
            return;
        }
        s_fill_gpu_node(&n);
        rep->body_case = DROVER__ENVELOPE__BODY_NODE_INFO;
        rep->node_info = &n;
        return;
    case DROVER__ENVELOPE__BODY_NODE_PREEMPT:
        snprintf(f->seen_name, sizeof f->seen_name, "%s",
                 req->node_preempt->name);
        ok.message = i == 1 ? "node g-0: preemption drill started" : "";
        rep->body_case = DROVER__ENVELOPE__BODY_OK;
        rep->ok = &ok;
        return;
    case DROVER__ENVELOPE__BODY_CLUSTER_LOCK:
        f->seen_locked = req->cluster_lock->locked ? 1 : 2;
        c.name = req->cluster_lock->name;
        c.locked = req->cluster_lock->locked;
        rep->body_case = DROVER__ENVELOPE__BODY_CLUSTER_INFO;
        rep->cluster_info = &c;
        return;
    case DROVER__ENVELOPE__BODY_CLUSTER_EVENTS:
        f->seen_limit = req->cluster_events->limit;
        ev.ts_ms = 1700000000000;
        ev.kind = "cluster_locked";
        ev.cluster = req->cluster_events->name;
        el.events = evs;
        el.n_events = 1;
        rep->body_case = DROVER__ENVELOPE__BODY_EVENT_LIST_REPLY;
        rep->event_list_reply = &el;
        return;
    default:
        return;
    }
    (void)i;
}

START_TEST(test_node_roundtrip)
{
    fake_t f;
    s_fake_start(&f, 7, s_script_node);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    cap_t out = {0};
    s_capture(&ctx, &out, NULL);
    ck_assert_int_eq(cli_node_show(&ctx, 1, ARGV("g-0")), 0);
    ck_assert_int_eq(cli_node_preempt(&ctx, 1, ARGV("g-0")), 0);
    ck_assert_int_eq(cli_cluster_lock(&ctx, 2, ARGV("-n", "c1")), 0);
    ck_assert_int_eq(
        cli_cluster_events(&ctx, 4, ARGV("-n", "c1", "--limit", "5")), 0);
    ck_assert_int_eq(cli_node_show(&ctx, 1, ARGV("nope")), DR_ENOENT);
    ck_assert_str_eq(ctx.err, "no node 'nope'");
    ck_assert_int_eq(ctx.usage, 0);
    size_t text_len = 0;
    fflush(ctx.fout);
    text_len = out.len;
    ctx.out = CLI_OUT_JSON;
    ck_assert_int_eq(cli_node_show(&ctx, 1, ARGV("g-0")), 0);
    ck_assert_int_eq(cli_node_preempt(&ctx, 1, ARGV("g-0")), 0);
    s_capture_end(&ctx, &out, NULL);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(f.seen_body[0], DROVER__ENVELOPE__BODY_NODE_SHOW);
    ck_assert_int_eq(f.seen_body[1], DROVER__ENVELOPE__BODY_NODE_PREEMPT);
    ck_assert_int_eq(f.seen_body[2], DROVER__ENVELOPE__BODY_CLUSTER_LOCK);
    ck_assert_int_eq(f.seen_body[3], DROVER__ENVELOPE__BODY_CLUSTER_EVENTS);
    ck_assert_str_eq(f.seen_name, "g-0");
    ck_assert_int_eq(f.seen_locked, 1);
    ck_assert_uint_eq(f.seen_limit, 5);

    char *text = strndup(out.buf, text_len);
    ck_assert_ptr_nonnull(strstr(text, "name: g-0\ncluster: gpu\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "gpu 1: GPU-1111 Tesla V100-PCIE-16GB 16384 MB, used "
                     "1200 MB, util 15%/3%, 45 C, 60/250 W, ecc 7, "
                     "unhealthy\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nnode g-0: preemption drill started\n"
                                       "name: c1\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nlocked: yes\n"));
    ck_assert_ptr_nonnull(strstr(
        text, "TIME                  KIND            NODE  JOB  MESSAGE\n"
              "2023-11-14T22:13:20Z  cluster_locked  -     -    -\n"));
    free(text);

    /* the JSON node object, then the preempt answer with no message */
    json_error_t jerr;
    json_t *o = json_loads(out.buf + text_len, JSON_DISABLE_EOF_CHECK, &jerr);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "name")), "g-0");
    ck_assert_int_eq(json_array_size(json_object_get(o, "gpus")), 2);
    json_decref(o);
    json_t *p = json_loads(out.buf + text_len + jerr.position,
                           JSON_DISABLE_EOF_CHECK, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(json_string_value(json_object_get(p, "name")), "g-0");
    ck_assert_str_eq(json_string_value(json_object_get(p, "message")), "");
    json_decref(p);
    free(out.buf);
}
END_TEST

/* The real binary, when ctest runs us next to it. */
START_TEST(test_binary)
{
    if (access("./drover", X_OK) != 0)
        return;
    int st = system("DROVER_TIMEOUT_MS=500 ./drover --scheduler "
                    "tcp://127.0.0.1:1 cluster list >cli_out.txt "
                    "2>cli_err.txt");
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 1);
    FILE *fp = fopen("cli_err.txt", "r");
    ck_assert_ptr_nonnull(fp);
    char line[256] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    fclose(fp);
    ck_assert_str_eq(line, "drover: error: scheduler at tcp://127.0.0.1:1 did "
                           "not answer within 0.5 s\n");
    st = system("./drover job submit --cluster c1 true >cli_out.txt "
                "2>cli_err.txt");
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    st = system("./drover job submit --cluster c1 --memory 2Q -- true "
                ">cli_out.txt 2>cli_err.txt");
    ck_assert_int_eq(WEXITSTATUS(st), 1);
    fp = fopen("cli_err.txt", "r");
    ck_assert_ptr_nonnull(fp);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    fclose(fp);
    ck_assert_str_eq(line, "drover: error: malformed memory size '2Q'\n");

    /* the new commands: usage errors exit 2, bad values 1, before any
     * request (the endpoint answers nobody) */
    static const struct {
        const char *args;
        int status;
        const char *err;
    } cmds[] = {
        {"quota set --cores 4", 2,
         "drover: error: missing required option --family FAMILY\n"},
        {"quota set --family std-x --cores 4", 1,
         "drover: error: invalid --family 'std-x' (1-63 letters, digits or "
         "'_', e.g. standardDv2Family)\n"},
        {"quota set --family f --cores -2", 1,
         "drover: error: invalid --cores '-2': expected an integer from 0 to "
         "100000000\n"},
        {"quota list x", 2, "drover: error: unexpected argument 'x'\n"},
        {"node show", 2, "drover: error: missing node NAME\n"},
        {"node preempt a/b", 1,
         "drover: error: invalid node name 'a/b' (1-63 letters, digits, '-' "
         "or '_', starting with a letter or digit)\n"},
        {"cluster lock", 2,
         "drover: error: missing required option -n "
         "NAME\n"},
        {"cluster unlock -n c1 x", 2,
         "drover: error: unexpected argument "
         "'x'\n"},
        {"cluster events -n c1 --limit 0", 1,
         "drover: error: invalid --limit '0': expected an integer from 1 to "
         "10000\n"},
        {"cluster create -n c1 -s S --resume-program /r", 2,
         "drover: error: --resume-program needs --provider exec\n"},
        {"cluster create -n c1 -s S --provider http --provider-url x", 1,
         "drover: error: invalid --provider-url 'x': expected http://HOST... "
         "or https://HOST...\n"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "DROVER_TIMEOUT_MS=200 ./drover --scheduler tcp://127.0.0.1:1 "
                 "%s >cli_out.txt 2>cli_err.txt",
                 cmds[i].args);
        st = system(cmd);
        ck_assert(WIFEXITED(st));
        ck_assert_msg(WEXITSTATUS(st) == cmds[i].status, "'%s' exit %d",
                      cmds[i].args, WEXITSTATUS(st));
        fp = fopen("cli_err.txt", "r");
        ck_assert_ptr_nonnull(fp);
        line[0] = '\0';
        ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
        fclose(fp);
        ck_assert_str_eq(line, cmds[i].err);
    }
    /* help lists every new command */
    st = system("./drover help >cli_out.txt 2>cli_err.txt");
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    fp = fopen("cli_out.txt", "r");
    ck_assert_ptr_nonnull(fp);
    char help[8192];
    size_t hn = fread(help, 1, sizeof help - 1, fp);
    help[hn] = '\0';
    fclose(fp);
    const char *want[] = {"  quota set --family FAMILY --cores N",
                          "  quota list\n",
                          "  node show NAME\n",
                          "  node preempt NAME\n",
                          "  cluster lock -n NAME\n",
                          "  cluster unlock -n NAME\n",
                          "  cluster events -n NAME [--limit N]\n",
                          "--provider local|exec|http",
                          "--provider-url URL"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(help, want[i]), "help lacks '%s'", want[i]);
    unlink("cli_out.txt");
    unlink("cli_err.txt");
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_validators);
    tcase_add_test(tc, test_opts_generic);
    tcase_add_test(tc, test_submit_parse);
    tcase_add_test(tc, test_submit_errors);
    tcase_add_test(tc, test_cluster_parse);
    tcase_add_test(tc, test_cluster_provider_parse);
    tcase_add_test(tc, test_quota_parse);
    tcase_add_test(tc, test_events_node_parse);
    suite_add_tcase(s, tc);
    tc = tcase_create("output");
    tcase_add_test(tc, test_job_json);
    tcase_add_test(tc, test_cluster_json);
    tcase_add_test(tc, test_tables);
    tcase_add_test(tc, test_job_gpus);
    tcase_add_test(tc, test_node_gpus);
    tcase_add_test(tc, test_cluster_new_fields);
    tcase_add_test(tc, test_quota_render);
    tcase_add_test(tc, test_event_render);
    tcase_add_test(tc, test_exit_status);
    suite_add_tcase(s, tc);
    tc = tcase_create("wire");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_cluster_list_roundtrip);
    tcase_add_test(tc, test_error_reply);
    tcase_add_test(tc, test_submit_wait);
    tcase_add_test(tc, test_job_list_paging);
    tcase_add_test(tc, test_job_logs);
    tcase_add_test(tc, test_quota_roundtrip);
    tcase_add_test(tc, test_node_roundtrip);
    tcase_add_test(tc, test_binary);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* the fake schedulers here speak plain ZeroMQ; CURVE is tested with
     * the real daemons in tests/integration/test_security.sh */
    setenv("DROVER_INSECURE", "1", 1);
    SRunner *sr = srunner_create(s_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
