/* check_cli.c - unit tests of the drover CLI's flag parsing and
 * validation (scheduler/cli/cli_parse.c on common/opts).
 *
 * It links cli_core, the CLI built as a library (all but drover.c, which
 * holds main()).  Rendering is tested in check_cli_output.c, whole commands
 * against a scripted scheduler in check_cli_wire.c.
 */
#include "cli_test.h"

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
    static const opt_def_t specs[] = {
        CLI_ARG("name", 'n', "NAME", "a name"),
        CLI_FLAG("flag", 'f', "a flag"),
        {"env", 'e', OPT_ARG, OPT_MULTI, OPT_NONE, NULL, 0, 0, NULL, "K=V",
         "repeatable"},
    };
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    cli_args_t a;
    char **av = ARGV("pos1", "--name=x", "-f", "-e", "A=1", "--env", "B=2",
                     "-o", "json", "--", "rest", "--name");
    ck_assert_int_eq(cli_args_parse(&ctx, specs, 3, NULL, 12, av, &a), 0);
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

    ck_assert_int_eq(
        cli_args_parse(&ctx, specs, 3, NULL, 1, ARGV("--bogus"), &a),
        DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);
    ck_assert_str_eq(ctx.err, "unknown option '--bogus'");
    cli_args_free(&a);
    ctx.usage = 0;
    ck_assert_int_eq(cli_args_parse(&ctx, specs, 3, NULL, 1, ARGV("-n"), &a),
                     DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);
    ck_assert_str_eq(ctx.err, "option '-n' needs a value");
    cli_args_free(&a);
    ctx.usage = 0;
    ck_assert_int_eq(
        cli_args_parse(&ctx, specs, 3, NULL, 1, ARGV("--flag=1"), &a),
        DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);
    cli_args_free(&a);
    ctx.usage = 0;
    ck_assert_int_eq(
        cli_args_parse(&ctx, specs, 3, NULL, 2, ARGV("-o", "xml"), &a),
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
    ck_assert_uint_eq(s.job.time_limit_ms, 1800000);
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
         "malformed --time-limit 'soon'"},
        {6, ARGV("--cluster", "c1", "--time-limit", "90", "--", "x"), 0,
         "ambiguous --time-limit '90'"},
        {8, ARGV("--cluster", "c1", "--cpus", "1", "--cpus", "2", "--", "x"), 1,
         "option --cpus given 2 times: it takes one value"},
        {4, ARGV("--cluster", "c1", "--cpu", "--"), 1,
         "unknown option '--cpu'; did you mean --cpus?"},
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
    /* az ml's and the Studio's spellings of the priority */
    const char *lows[] = {"low_priority", "LowPriority", "lowpriority"};
    for (size_t k = 0; k < 3; k++) {
        ck_assert_int_eq(
            cli_parse_cluster_create(
                &ctx, 6,
                ARGV("-n", "c1", "-s", "S", "--vm-priority", (char *)lows[k]),
                &c),
            0);
        ck_assert_str_eq(c.vm_priority, "lowpriority");
    }
    ck_assert_int_eq(
        cli_parse_cluster_create(
            &ctx, 6, ARGV("-n", "c1", "-s", "S", "--vm-priority", "Dedicated"),
            &c),
        0);
    ck_assert_str_eq(c.vm_priority, "dedicated");
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
         "invalid --provider 'azure' (local, exec, http or docker)"},
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
    /* regional quotas: a family in a location, a location's total, and a
     * limit removed again */
    ck_assert_int_eq(
        cli_parse_quota_set(
            &ctx, 6,
            ARGV("--location", "westus", "--family", "NC_v3", "--cores", "8"),
            &q),
        0);
    ck_assert_str_eq(q.location, "westus");
    ck_assert(!q.total);
    ck_assert_int_eq(cli_parse_quota_set(&ctx, 5,
                                         ARGV("-l", "westus", "--total",
                                              "--cores", "unlimited"),
                                         &q),
                     0);
    ck_assert(q.total);
    ck_assert_int_eq(q.cores, -1);

    bad_case_t cases[] = {
        {2, ARGV("--cores", "4"), 1, "missing --family FAMILY (or --total)"},
        {3, ARGV("--total", "--cores", "4"), 1,
         "--total needs --location LOCATION"},
        {7, ARGV("--total", "--family", "f", "-l", "x", "--cores", "4"), 1,
         "give --family or --total, not both"},
        {6, ARGV("-l", "west us", "--family", "f", "--cores", "4"), 0,
         "invalid --location 'west us'"},
        {5, ARGV("-l", "w", "--total", "--cores", "lots"), 0,
         "invalid --cores 'lots'"},
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

/* ---- time limits ------------------------------------------------------------
 */

START_TEST(test_time_limit)
{
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    static const struct {
        const char *s;
        uint64_t sec; /* in ms for the ms forms below */
    } good[] = {
        {"90s", 90},       {"30m", 1800},         {"2h", 7200},
        {"1d", 86400},     {"1h30m", 5400},       {"1d2h3m4s", 93784},
        {"2h5s", 7205},    {"05:30", 330},        {"90:00", 5400},
        {"1:02:03", 3723}, {"100:00:00", 360000}, {"2-0", 172800},
        {"1-12", 129600},  {"1-02:30", 95400},    {"1-02:03:04", 93784},
        {"0:01", 1},       {"366d", 366 * 86400}, {"365-23:59:59", 31622399},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t v = 0;
        ck_assert_msg(cli_parse_time_limit(&ctx, good[i].s, &v) == 0,
                      "'%s': %s", good[i].s, ctx.err);
        ck_assert_msg(v == good[i].sec * 1000, "'%s' = %llu ms, not %llu s",
                      good[i].s, (unsigned long long)v,
                      (unsigned long long)good[i].sec);
    }
    /* milliseconds inside: 500ms, 1s500ms, 1m30s250ms; and seconds with
     * up to three decimals, last */
    static const struct {
        const char *s;
        uint64_t ms;
    } good_ms[] = {{"500ms", 500},         {"1ms", 1},
                   {"1s500ms", 1500},      {"1m30s250ms", 90250},
                   {"2h1ms", 7200001},     {"1500ms", 1500},
                   {"1.5s", 1500},         {"0.3s", 300},
                   {"2.125s", 2125},       {"1m0.25s", 60250},
                   {"1h30m0.5s", 5400500}, {"0.001s", 1},
                   {"10.10s", 10100}};
    for (size_t i = 0; i < sizeof good_ms / sizeof good_ms[0]; i++) {
        uint64_t v = 0;
        ck_assert_msg(cli_parse_time_limit(&ctx, good_ms[i].s, &v) == 0,
                      "'%s': %s", good_ms[i].s, ctx.err);
        ck_assert_msg(v == good_ms[i].ms, "'%s' = %llu ms", good_ms[i].s,
                      (unsigned long long)v);
    }
    static const struct {
        const char *s, *msg;
    } bad[] = {
        {"", "malformed"},
        {"soon", "malformed"},
        {"90", "ambiguous"},
        {"0", "ambiguous"},
        {"30m1h", "malformed"},
        {"1h1h", "malformed"},
        {"1.5h", "malformed"},
        {"h", "malformed"},
        {"10x", "malformed"},
        {"-5m", "malformed"},
        {"500ms1s", "malformed"},
        {"1ms1ms", "malformed"},
        {"5mss", "malformed"},
        {"1.s", "malformed"},
        {".5s", "malformed"},
        {"1.2345s", "malformed"},
        {"1.5ms", "malformed"},
        {"1.5", "malformed"},
        {"1.5m", "malformed"},
        {"1s0.5s", "malformed"},
        {"0.5s1ms", "malformed"},
        {"1.5.5s", "malformed"},
        {"0.000s", "from 1ms to 366d"},
        {"0ms", "from 1ms to 366d"},
        {"1:60", "malformed"},
        {"1:2:3:4", "malformed"},
        {"1:", "malformed"},
        {":30", "malformed"},
        {"1-24", "malformed"},
        {"1-", "malformed"},
        {"-1", "malformed"},
        {"1-2-3", "malformed"},
        {"1-1:60", "malformed"},
        {"a:b", "malformed"},
        {"1d 2h", "malformed"},
        {"0s", "from 1ms to 366d"},
        {"00:00", "from 1ms to 366d"},
        {"367d", "from 1ms to 366d"},
        {"99999999999d", "malformed"},
        {"1000000000:00:00", "malformed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 7;
        ck_assert_msg(cli_parse_time_limit(&ctx, bad[i].s, &v) == DR_EINVAL,
                      "'%s' accepted", bad[i].s);
        ck_assert_msg(strstr(ctx.err, bad[i].msg), "'%s': %s", bad[i].s,
                      ctx.err);
        ck_assert_uint_eq(v, 7);
    }
    /* the message names the flag and the forms */
    ck_assert_int_eq(cli_parse_time_limit(&ctx, "soon", &(uint64_t){0}),
                     DR_EINVAL);
    ck_assert_ptr_nonnull(
        strstr(ctx.err, "malformed --time-limit 'soon' (e.g."));
    ck_assert_ptr_nonnull(strstr(ctx.err, "D-HH:MM:SS"));
}
END_TEST

/* ---- suggestions, help, completion -----------------------------------------
 */

START_TEST(test_suggest)
{
    ck_assert_int_eq(cli_edit_distance("submit", "submit"), 0);
    ck_assert_int_eq(cli_edit_distance("sumbit", "submit"), 1);
    ck_assert_int_eq(cli_edit_distance("max-node", "max-nodes"), 1);
    ck_assert_int_eq(cli_edit_distance("", "abc"), 3);
    ck_assert_int_eq(cli_edit_distance("kitten", "sitting"), 3);
    static const char *const verbs[] = {"submit", "list", "show", "cancel",
                                        "logs"};
    ck_assert_str_eq(cli_suggest("sumbit", verbs, 5), "submit");
    ck_assert_str_eq(cli_suggest("lst", verbs, 5), "list");
    ck_assert_str_eq(cli_suggest("canel", verbs, 5), "cancel");
    ck_assert_ptr_null(cli_suggest("frobnicate", verbs, 5));
    ck_assert_ptr_null(cli_suggest("x", NULL, 0));
    /* a long word gets a third of its length */
    static const char *const flags[] = {"idle-seconds-before-scaledown",
                                        "min-nodes"};
    ck_assert_str_eq(cli_suggest("idle-second-befor-scaledown", flags, 2),
                     "idle-seconds-before-scaledown");
    ck_assert_str_eq(cli_suggest("idle", flags, 2),
                     "idle-seconds-before-scaledown");

    const cli_optset_t *c = &cli_opts_cluster_create;
    ck_assert_str_eq(cli_suggest_option("max-node", c->defs, c->n),
                     "max-nodes");
    ck_assert_str_eq(cli_suggest_option("vmsize", c->defs, c->n), "vm-size");
    ck_assert_ptr_null(cli_suggest_option("zzzzzz", c->defs, c->n));
    char err[128] = "unknown option '--max-node'";
    cli_hint_option(err, sizeof err, c->defs, c->n);
    ck_assert_str_eq(err,
                     "unknown option '--max-node'; did you mean --max-nodes?");
    snprintf(err, sizeof err, "option '-n' needs a value");
    cli_hint_option(err, sizeof err, c->defs, c->n);
    ck_assert_str_eq(err, "option '-n' needs a value");
    char small[32] = "unknown option '--max-node'";
    cli_hint_option(small, sizeof small, c->defs, c->n); /* truncated, safe */
    ck_assert_uint_eq(strlen(small), sizeof small - 1);

    /* the whole path: a command's parser */
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    Drover__Cluster cl;
    ck_assert_int_eq(
        cli_parse_cluster_create(
            &ctx, 6, ARGV("-n", "c", "-s", "S", "--max-node", "3"), &cl),
        DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);
    ck_assert_str_eq(ctx.err,
                     "unknown option '--max-node'; did you mean --max-nodes?");
}
END_TEST

START_TEST(test_lookup)
{
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    int used = 0;
    const cli_cmd_t *c = cli_lookup(&ctx, 2, ARGV("job", "submit"), &used);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(used, 2);
    ck_assert_ptr_eq(c->opts, &cli_opts_submit);
    c = cli_lookup(&ctx, 1, ARGV("version"), &used);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(used, 1);

    ck_assert_ptr_null(cli_lookup(&ctx, 2, ARGV("job", "sumbit"), &used));
    ck_assert_int_eq(ctx.usage, 1);
    ck_assert_str_eq(
        ctx.err, "unknown command 'job sumbit'; did you mean 'job submit'?");
    ck_assert_ptr_null(cli_lookup(&ctx, 2, ARGV("jbo", "list"), &used));
    ck_assert_str_eq(ctx.err, "unknown command 'jbo'; did you mean 'job'?");
    ck_assert_ptr_null(cli_lookup(&ctx, 1, ARGV("frobnicate"), &used));
    ck_assert_str_eq(ctx.err,
                     "unknown command 'frobnicate' (try 'drover help')");
    ck_assert_ptr_null(cli_lookup(&ctx, 2, ARGV("job", "zzzzzzzz"), &used));
    ck_assert_str_eq(
        ctx.err, "unknown command 'job zzzzzzzz' (try 'drover job --help')");
    ck_assert_ptr_null(cli_lookup(&ctx, 1, ARGV("node"), &used));
    ck_assert_ptr_nonnull(strstr(ctx.err, "missing subcommand for 'node'"));
}
END_TEST

START_TEST(test_help_render)
{
    size_t n = 0;
    const cli_cmd_t *cmds = cli_commands(&n);
    ck_assert_uint_gt(n, 20);
    for (size_t i = 0; i < n; i++) {
        dr_buf_t b = {0};
        cli_render_cmd_help(&b, &cmds[i]);
        ck_assert_msg(cmds[i].summary && *cmds[i].summary, "%s %s: summary",
                      cmds[i].group, cmds[i].name ? cmds[i].name : "");
        ck_assert_ptr_eq(strstr(b.data, "usage: drover "), b.data);
        ck_assert_ptr_nonnull(strstr(b.data, "-o, --output table|json"));
        /* every row of its table, with its help text */
        for (size_t k = 0; cmds[i].opts && k < cmds[i].opts->n; k++) {
            const opt_def_t *o = &cmds[i].opts->defs[k];
            char flag[80];
            snprintf(flag, sizeof flag, "--%s", o->name);
            ck_assert_msg(strstr(b.data, flag), "%s %s: no %s", cmds[i].group,
                          cmds[i].name, flag);
            ck_assert_msg(o->help && *o->help, "%s: no help", flag);
        }
        dr_buf_free(&b);
        ck_assert_int_eq(cli_render_group_help(&b, cmds[i].group), 0);
        dr_buf_free(&b);
    }
    dr_buf_t b = {0};
    cli_render_cmd_help(&b, &cmds[0]);
    ck_assert_ptr_nonnull(strstr(b.data, "--max-nodes N"));
    ck_assert_ptr_nonnull(strstr(b.data, "(default: 4)"));
    ck_assert_ptr_nonnull(strstr(b.data, "(default: 120)"));
    dr_buf_free(&b);
    ck_assert_int_eq(cli_render_group_help(&b, "job"), 0);
    ck_assert_ptr_nonnull(strstr(b.data, "  job submit "));
    ck_assert_ptr_nonnull(strstr(b.data, "  job logs "));
    ck_assert_ptr_null(strstr(b.data, "cluster create"));
    dr_buf_free(&b);
    ck_assert_int_eq(cli_render_group_help(&b, "nope"), DR_ENOENT);
    dr_buf_free(&b);
}
END_TEST

START_TEST(test_completion)
{
    static const opt_def_t g[] = {
        CLI_ARG("scheduler", 0, "ENDPOINT", "x"),
        CLI_FLAG("insecure", 0, "x"),
        CLI_ARG("output", 'o', "FMT", "x"),
    };
    const opts_table_t t = {g, 3, 0};
    dr_buf_t b = {0};
    cli_render_completion(&b, &t, 0, NULL);
    ck_assert_ptr_nonnull(strstr(b.data, "cluster\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "job\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "--insecure\n"));
    dr_buf_free(&b);
    cli_render_completion(&b, &t, 1, ARGV("job"));
    ck_assert_str_eq(
        b.data, "submit\ncreate\nlist\nshow\ncancel\nrerun\nlogs\ndownload\n");
    dr_buf_free(&b);
    /* global options and their values are skipped */
    cli_render_completion(
        &b, &t, 5,
        ARGV("--scheduler", "tcp://x:1", "--insecure", "-o", "json"));
    ck_assert_ptr_nonnull(strstr(b.data, "quota\n"));
    dr_buf_free(&b);
    cli_render_completion(&b, &t, 3,
                          ARGV("--scheduler=tcp://x:1", "job", "submit"));
    ck_assert_ptr_nonnull(strstr(b.data, "--time-limit\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "--env\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "--output\n--help\n"));
    dr_buf_free(&b);
    cli_render_completion(&b, &t, 1, ARGV("--scheduler"));
    ck_assert_uint_eq(b.len, 0); /* its value: nothing to offer */
    dr_buf_free(&b);
    cli_render_completion(&b, &t, 2, ARGV("job", "nosuch"));
    ck_assert_uint_eq(b.len, 0);
    dr_buf_free(&b);
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc_parse = tcase_create("parse");
    tcase_add_test(tc_parse, test_validators);
    tcase_add_test(tc_parse, test_opts_generic);
    tcase_add_test(tc_parse, test_time_limit);
    tcase_add_test(tc_parse, test_suggest);
    tcase_add_test(tc_parse, test_lookup);
    tcase_add_test(tc_parse, test_help_render);
    tcase_add_test(tc_parse, test_completion);
    tcase_add_test(tc_parse, test_submit_parse);
    tcase_add_test(tc_parse, test_submit_errors);
    tcase_add_test(tc_parse, test_cluster_parse);
    tcase_add_test(tc_parse, test_cluster_provider_parse);
    tcase_add_test(tc_parse, test_quota_parse);
    tcase_add_test(tc_parse, test_events_node_parse);
    suite_add_tcase(s, tc_parse);
    return s;
}

int main(void)
{
    return cli_test_run(s_suite());
}
