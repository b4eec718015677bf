/* check_cli.c - unit tests of the drover CLI (scheduler/cli/).
 *
 * The CLI is an executable, not a library, so this test #includes its
 * sources (all but drover.c, which holds main()).  It checks flag parsing
 * and validation, table and JSON rendering, the timeout path against an
 * endpoint nobody listens on, and whole commands against a small scripted
 * ROUTER "scheduler" running in a forked child (not a thread: the build's
 * -I scheduler makes <pthread.h> pick up scheduler/sched.h).  If the drover
 * binary sits in the working directory (ctest runs in the build dir) it also
 * checks the binary's error line and exit status.
 */
#include "../../scheduler/cli/cli_parse.c"
#include "../../scheduler/cli/cli_output.c"
#include "../../scheduler/cli/cli_conn.c"
#include "../../scheduler/cli/cli_cluster.c"
#include "../../scheduler/cli/cli_job.c"
#include "../../scheduler/cli/cli_node.c"

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
    ck_assert_int_eq(json_object_size(o), 20);
    json_decref(o);
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
    ck_assert_int_eq(json_object_size(o), 16);
    json_decref(o);

    b.len = 0;
    cli_render_cluster_show(&b, &c);
    ck_assert_ptr_nonnull(strstr(b.data, "name: c1\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "allocation_state: resizing\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "preparing_nodes: 1\n"));
    ck_assert_ptr_nonnull(
        strstr(b.data, "error: quota exceeded\nerror: provider down\n"));

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
    ck_assert_str_eq(b.data,
                     "NAME  CLUSTER  STATE    CPUS  MEMORY_MB   GPUS  TASKS\n"
                     "c1-0  c1       running  2/8   1024/16384  0     1\n");
    b.len = 0;
    cli_json_render(&b, cli_node_json(&n));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert(json_is_array(json_object_get(o, "gpus")));
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
    suite_add_tcase(s, tc);
    tc = tcase_create("output");
    tcase_add_test(tc, test_job_json);
    tcase_add_test(tc, test_cluster_json);
    tcase_add_test(tc, test_tables);
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
    tcase_add_test(tc, test_binary);
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
