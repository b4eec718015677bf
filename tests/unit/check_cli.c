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

static Suite *s_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc_parse = tcase_create("parse");
    tcase_add_test(tc_parse, test_validators);
    tcase_add_test(tc_parse, test_opts_generic);
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
