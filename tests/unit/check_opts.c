/* check_opts.c - unit tests of common/opts: the one option parser of the
 * scheduler, the agent and the CLI.
 *
 * A small table of every row type fills a test struct from argv and from
 * config text; each error path is checked for its message, which must name
 * the option.
 */
#include "agent_cfg.h"
#include "config.h"
#include "dr_err.h"
#include "log.h"
#include "opts.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[16];
    char *owned;
    char *name;
    const char *arg;
    int32_t count;
    int64_t big;
    int interval_ms;
    int64_t legacy_ms;
    uint32_t limit_s;
    int flag;
    const char *color;
    int level;
    int64_t size_mb;
} t_opts_t;

static const char *const s_colors[] = {"red", "green", "blue", NULL};

#define T(f) OPT_AT(t_opts_t, f)

static const opt_def_t s_rows[] = {
    {"dir", 'd', OPT_STR, 0, T(dir), "/tmp", 0, 0, NULL, "DIR", "a directory"},
    {"owned", 0, OPT_STR, OPT_NONEMPTY, OPT_PTR(t_opts_t, owned), "x", 0, 8,
     NULL, NULL, "a copied string"},
    {"name", 'n', OPT_NAME, OPT_REQUIRED, OPT_PTR(t_opts_t, name), NULL, 0, 0,
     NULL, "NAME", "a name"},
    {"arg", 0, OPT_ARG, OPT_MULTI, T(arg), NULL, 0, 0, NULL, NULL, "argv"},
    {"count", 'c', OPT_INT, 0, T(count), "3", 1, 10, NULL, NULL, "a count"},
    {"big", 0, OPT_INT, 0, T(big), NULL, 0, INT64_MAX, NULL, NULL, "big"},
    {"interval", 0, OPT_DURATION, 0, T(interval_ms), "5s", 100, 3600000, NULL,
     NULL, "an interval"},
    {"interval-ms", 0, OPT_MS, OPT_ALIAS, T(interval_ms), NULL, 100, 3600000,
     NULL, NULL, "the same in ms"},
    {"legacy-ms", 0, OPT_MS, 0, T(legacy_ms), "250", 0, 1000, NULL, NULL, "ms"},
    {"limit", 0, OPT_DURATION, OPT_SECONDS, T(limit_s), NULL, 0, 86400, NULL,
     NULL, "seconds"},
    {"flag", 'f', OPT_FLAG, 0, T(flag), "no", 0, 0, NULL, NULL, "a flag"},
    {"color", 0, OPT_ENUM, 0, T(color), "red", 0, 0, s_colors, NULL, "hue"},
    {"log-level", 0, OPT_LEVEL, 0, T(level), "info", 0, 0, NULL, NULL, "lvl"},
    {"size", 0, OPT_SIZE, 0, T(size_mb), "64M", 1, 1 << 20, NULL, NULL, "sz"},
};

static const opts_table_t s_table = {s_rows, sizeof s_rows / sizeof s_rows[0],
                                     OPTS_HELP | OPTS_POSITIONAL |
                                         OPTS_DASHDASH};

#define ARGV(...)                                                              \
    (char *[])                                                                 \
    {                                                                          \
        __VA_ARGS__, NULL                                                      \
    }
#define ARGC(...) ((int)(sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)))
#define PARSE(o, a, err, ...)                                                  \
    opts_parse_args(&s_table, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (a),  \
                    (err), sizeof(err))

static void s_init(t_opts_t *o)
{
    char err[256];
    memset(o, 0, sizeof *o);
    ck_assert_int_eq(opts_defaults(&s_table, o, err, sizeof err), 0);
}

START_TEST(test_durations)
{
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {{"500ms", 500},  {"0ms", 0},       {"5s", 5000},
              {"90", 90000},   {"30m", 1800000}, {"5min", 300000},
              {"2h", 7200000}, {"1d", 86400000}, {"1.5s", 2000},
              {"0", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = -1;
        ck_assert_msg(opts_parse_duration_ms(ok[i].s, &ms) == 0, "%s", ok[i].s);
        ck_assert_msg(ms == ok[i].ms, "%s: %lld", ok[i].s, (long long)ms);
    }
    const char *bad[] = {"",    "ms",   "5x",
                         "-1s", "-5ms", "1.5ms",
                         "s",   "5 s",  "9999999999999999999999ms"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        ck_assert_msg(opts_parse_duration_ms(bad[i], &ms) == DR_EINVAL,
                      "'%s' accepted", bad[i]);
    }
}
END_TEST

/* OPT_SIZE: whole MiB, rounded up; a bare number is MiB; out of range
 * and malformed sizes name the option. */
START_TEST(test_sizes)
{
    static const struct {
        const char *s;
        int64_t mb;
    } ok[] = {{"64M", 64},    {"1", 1},       {"512K", 1},
              {"10G", 10240}, {"1.5G", 1536}, {"2MiB", 2}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        t_opts_t o;
        s_init(&o);
        char text[64], err[256] = "";
        snprintf(text, sizeof text, "size = %s\n", ok[i].s);
        ck_assert_msg(opts_parse_text(&s_table, text, &o, err, sizeof err) == 0,
                      "%s: %s", ok[i].s, err);
        ck_assert_msg(o.size_mb == ok[i].mb, "%s: %lld", ok[i].s,
                      (long long)o.size_mb);
        opts_free(&s_table, &o);
    }
    const char *bad[] = {"0", "-5M", "lots", "2X", "2T", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t_opts_t o;
        s_init(&o);
        char text[64], err[256] = "";
        snprintf(text, sizeof text, "size = %s\n", bad[i]);
        ck_assert_msg(opts_parse_text(&s_table, text, &o, err, sizeof err) < 0,
                      "'%s' accepted", bad[i]);
        ck_assert_msg(strstr(err, "size") != NULL, "%s: %s", bad[i], err);
        ck_assert_int_eq(o.size_mb, 64);
        opts_free(&s_table, &o);
    }
}
END_TEST

START_TEST(test_defaults)
{
    t_opts_t o;
    s_init(&o);
    ck_assert_str_eq(o.dir, "/tmp");
    ck_assert_str_eq(o.owned, "x");
    ck_assert_ptr_null(o.name);
    ck_assert_int_eq(o.count, 3);
    ck_assert_int_eq(o.interval_ms, 5000);
    ck_assert_int_eq(o.legacy_ms, 250);
    ck_assert_int_eq(o.flag, 0);
    ck_assert_str_eq(o.color, "red");
    ck_assert_int_eq(o.level, LOG_LVL_INFO);
    opts_free(&s_table, &o);
    ck_assert_ptr_null(o.owned);
}
END_TEST

START_TEST(test_args)
{
    t_opts_t o;
    s_init(&o);
    opts_args_t a;
    char err[256] = "";
    int rc = PARSE(&o, &a, err, "-d", "/var", "--owned=abc", "--name", "n-1",
                   "pos", "--count=7", "--big", "9000000000", "--interval",
                   "500ms", "--legacy-ms", "1000", "--limit", "90s", "-f",
                   "--color", "blue", "--log-level", "debug", "--arg", "a1",
                   "--arg", "a2", "--", "rest", "--count");
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_str_eq(o.dir, "/var");
    ck_assert_str_eq(o.owned, "abc");
    ck_assert_str_eq(o.name, "n-1");
    ck_assert_int_eq(o.count, 7);
    ck_assert(o.big == 9000000000LL);
    ck_assert_int_eq(o.interval_ms, 500);
    ck_assert_int_eq(o.legacy_ms, 1000);
    ck_assert_uint_eq(o.limit_s, 90);
    ck_assert_int_eq(o.flag, 1);
    ck_assert_str_eq(o.color, "blue");
    ck_assert_int_eq(o.level, LOG_LVL_DEBUG);
    ck_assert_str_eq(o.arg, "a2");
    ck_assert_int_eq(a.nlist[3], 2);
    ck_assert_str_eq(a.list[3][0], "a1");
    ck_assert_int_eq(a.seen[4], 1);
    ck_assert_int_eq(a.npos, 1);
    ck_assert_str_eq(a.pos[0], "pos");
    ck_assert_int_eq(a.dashdash, 1);
    ck_assert_int_eq(a.nrest, 2);
    ck_assert_str_eq(a.rest[1], "--count");
    ck_assert_int_eq(opts_missing(&s_table, &a, err, sizeof err), 0);
    opts_args_free(&a);

    /* the alias fills the same field; seconds round up */
    ck_assert_int_eq(
        PARSE(&o, &a, err, "--interval-ms", "250", "--limit", "1500ms"), 0);
    ck_assert_int_eq(o.interval_ms, 250);
    ck_assert_uint_eq(o.limit_s, 2);
    ck_assert_int_eq(opts_missing(&s_table, &a, err, sizeof err), DR_EINVAL);
    ck_assert_str_eq(err, "missing required option --name");
    opts_args_free(&a);

    ck_assert_int_eq(PARSE(&o, &a, err, "-c", "2", "--help", "--bogus"), 1);
    opts_args_free(&a);
    opts_free(&s_table, &o);
}
END_TEST

/* Each bad line: is it a usage (shape) error, and the exact message. */
START_TEST(test_arg_errors)
{
    const struct {
        int argc;
        char **argv;
        int usage;
        const char *msg;
    } cases[] = {
        {1, ARGV("--bogus"), 1, "unknown option '--bogus'"},
        {1, ARGV("--bogus=1"), 1, "unknown option '--bogus'"},
        {1, ARGV("-x"), 1, "unknown option '-x'"},
        {1, ARGV("-dx"), 1, "unknown option '-dx'"},
        {1, ARGV("--count"), 1, "option '--count' needs a value"},
        {1, ARGV("-c"), 1, "option '-c' needs a value"},
        {1, ARGV("--flag=yes"), 1, "option '--flag' takes no value"},
        {2, ARGV("--count", "0"), 0,
         "invalid --count '0': expected an integer from 1 to 10"},
        {2, ARGV("-c", "4x"), 0,
         "invalid --count '4x': expected an integer from 1 to 10"},
        {2, ARGV("--interval", "soon"), 0,
         "malformed duration 'soon' for --interval (e.g. 500ms, 90s, 30m, "
         "2h, 1d; a bare number is seconds)"},
        {2, ARGV("--interval", "2h"), 0,
         "invalid --interval '2h': expected a duration from 100ms to 1h"},
        {2, ARGV("--interval-ms", "5s"), 0,
         "invalid --interval-ms '5s': expected milliseconds from 100 to "
         "3600000"},
        {2, ARGV("--limit", "2d"), 0,
         "invalid --limit '2d': expected a duration from 0ms to 1d"},
        {2, ARGV("--color", "pink"), 0,
         "invalid --color 'pink' (red, green or blue)"},
        {2, ARGV("--log-level", "loud"), 0,
         "invalid --log-level 'loud' (debug, info, warn or error)"},
        {2, ARGV("--name", "a b"), 0,
         "invalid --name 'a b' (1-63 letters, digits, '-' or '_', starting "
         "with a letter or digit)"},
        {2, ARGV("--owned", ""), 0, "empty --owned"},
        {2, ARGV("--owned", "123456789"), 0,
         "invalid --owned: longer than 8 bytes"},
        {2, ARGV("--dir", "/a/very/long/path"), 0,
         "invalid --dir: longer than 15 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t_opts_t o;
        s_init(&o);
        opts_args_t a;
        char err[256] = "";
        int rc = opts_parse_args(&s_table, cases[i].argc, cases[i].argv, &o, &a,
                                 err, sizeof err);
        ck_assert_msg(rc == DR_EINVAL, "case %zu rc %d", i, rc);
        ck_assert_msg(a.usage == cases[i].usage, "case %zu usage", i);
        ck_assert_msg(strcmp(err, cases[i].msg) == 0, "case %zu: '%s'", i, err);
        opts_args_free(&a);
        opts_free(&s_table, &o);
    }
}
END_TEST

START_TEST(test_table_flags)
{
    const opts_table_t once = {s_rows, s_table.n, OPTS_ONCE};
    const opts_table_t stop = {s_rows, s_table.n, OPTS_STOP};
    t_opts_t o;
    s_init(&o);
    opts_args_t a;
    char err[256];
    ck_assert_int_eq(opts_parse_args(&once, 4, ARGV("-c", "2", "-c", "3"), &o,
                                     &a, err, sizeof err),
                     DR_EINVAL);
    ck_assert_str_eq(err, "option '-c' given twice");
    opts_args_free(&a);
    ck_assert_int_eq(
        opts_parse_args(&once, 1, ARGV("stray"), &o, &a, err, sizeof err),
        DR_EINVAL);
    ck_assert_str_eq(err, "unexpected argument 'stray'");
    ck_assert_int_eq(a.usage, 1);
    opts_args_free(&a);
    ck_assert_int_eq(
        opts_parse_args(&once, 1, ARGV("--"), &o, &a, err, sizeof err),
        DR_EINVAL);
    ck_assert_str_eq(err, "unknown option '--'");
    opts_args_free(&a);
    ck_assert_int_eq(
        opts_parse_args(&once, 1, ARGV("--help"), &o, &a, err, sizeof err),
        DR_EINVAL);
    opts_args_free(&a);
    char *line[] = {"-f", "cmd", "-c", "x", NULL}; /* a.rest points in */
    ck_assert_int_eq(opts_parse_args(&stop, 4, line, &o, &a, err, sizeof err),
                     0);
    ck_assert_int_eq(o.flag, 1);
    ck_assert_int_eq(a.nrest, 3);
    ck_assert_str_eq(a.rest[0], "cmd");
    opts_args_free(&a);
    opts_free(&s_table, &o);
}
END_TEST

START_TEST(test_text)
{
    t_opts_t o;
    s_init(&o);
    char err[256];
    ck_assert_int_eq(opts_parse_text(&s_table,
                                     "# comment\n\n  dir = /etc \r\n"
                                     "log_level=warn\ninterval = 2m\n"
                                     "flag = yes\nowned = yy\n",
                                     &o, err, sizeof err),
                     0);
    ck_assert_str_eq(o.dir, "/etc");
    ck_assert_int_eq(o.level, LOG_LVL_WARN);
    ck_assert_int_eq(o.interval_ms, 120000);
    ck_assert_int_eq(o.flag, 1);
    ck_assert_str_eq(o.owned, "yy");
    ck_assert_int_eq(
        opts_parse_text(&s_table, "flag = 0\n", &o, err, sizeof err), 0);
    ck_assert_int_eq(o.flag, 0);
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"nonsense\n", "line 1: expected key = value"},
        {"\nfoo = 1\n", "line 2: unknown option 'foo'"},
        {"dir=/a\ninterval = soon", "line 2: malformed duration 'soon' for "
                                    "interval (e.g. 500ms, 90s, 30m, 2h, 1d; "
                                    "a bare number is seconds)"},
        {"flag = maybe\n", "line 1: invalid flag 'maybe' (yes or no)"},
        {"count = 11\n",
         "line 1: invalid count '11': expected an integer from 1 to 10"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(
            opts_parse_text(&s_table, bad[i].text, &o, err, sizeof err),
            DR_EINVAL);
        ck_assert_msg(strcmp(err, bad[i].msg) == 0, "case %zu: '%s'", i, err);
    }
    ck_assert_int_eq(
        opts_load_file(&s_table, "/nonexistent/x.conf", &o, err, sizeof err),
        DR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "config /nonexistent/x.conf: "));
    ck_assert_ptr_eq(opts_find_key(&s_table, "interval_ms"), &s_rows[7]);
    ck_assert_ptr_null(opts_find_key(&s_table, "interval_"));
    opts_free(&s_table, &o);
}
END_TEST

START_TEST(test_usage)
{
    dr_buf_t b = {0};
    opts_usage(&s_table, &b);
    ck_assert_ptr_nonnull(
        strstr(b.data, "  -d, --dir DIR" /* short, long and metavar */));
    ck_assert_ptr_nonnull(strstr(b.data, "a directory (default: /tmp)\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "      --interval DURATION"));
    ck_assert_ptr_nonnull(strstr(b.data, "      --interval-ms MS"));
    ck_assert_ptr_nonnull(strstr(b.data, "the same in ms\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "  -f, --flag  "));
    size_t lines = 0;
    for (const char *p = b.data; *p; p++)
        lines += *p == '\n';
    ck_assert_uint_eq(lines, s_table.n);
    dr_buf_free(&b);
    char err[64];
    opts_args_t a;
    ck_assert_int_eq(
        opts_parse_int("--x", "12", 0, 20, &(int64_t){0}, err, sizeof err), 0);
    ck_assert_int_eq(
        opts_parse_args(&s_table, 0, NULL, NULL, &a, err, sizeof err), 0);
    opts_args_free(&a);
}
END_TEST

/* The programs' own tables: the agent's durations and their old
 * millisecond aliases, the scheduler's flags and --config=FILE. */
START_TEST(test_programs)
{
    char err[512];
    agent_cfg_t cfg;
    char *ok[] = {"drover-agent",
                  "--name",
                  "n1",
                  "--cluster",
                  "c1",
                  "--vm-size",
                  "s",
                  "--cpus",
                  "2",
                  "--memory-mb",
                  "512",
                  "--heartbeat-interval",
                  "2s",
                  "--grace-period=500ms",
                  "--scheduled-events-interval",
                  "3",
                  NULL};
    ck_assert_int_eq(agent_cfg_parse(&cfg, 16, ok, err, sizeof err), 0);
    ck_assert_int_eq(cfg.heartbeat_ms, 2000);
    ck_assert_int_eq(cfg.grace_ms, 500);
    ck_assert_int_eq(cfg.scheduled_events_interval_ms, 3000);
    ck_assert_str_eq(cfg.docker_socket, "/var/run/docker.sock");
    agent_cfg_free(&cfg);
    ok[11] = "--heartbeat-ms";
    ok[12] = "750";
    ok[13] = "--grace-ms=20";
    ok[14] = "--scheduled-events-interval-ms";
    ok[15] = "200";
    ck_assert_int_eq(agent_cfg_parse(&cfg, 16, ok, err, sizeof err), 0);
    ck_assert_int_eq(cfg.heartbeat_ms, 750);
    ck_assert_int_eq(cfg.grace_ms, 20);
    ck_assert_int_eq(cfg.scheduled_events_interval_ms, 200);
    agent_cfg_free(&cfg);
    char *defaults[] = {"drover-agent", "--print-gpus", NULL};
    ck_assert_int_eq(agent_cfg_parse(&cfg, 2, defaults, err, sizeof err), 0);
    ck_assert_int_eq(cfg.heartbeat_ms, 5000);
    ck_assert_int_eq(cfg.grace_ms, 10000);
    ck_assert_int_eq(cfg.scheduled_events_interval_ms, 1000);
    agent_cfg_free(&cfg);
    char *bad[] = {"drover-agent", "--heartbeat-interval", "10ms", NULL};
    ck_assert_int_eq(agent_cfg_parse(&cfg, 3, bad, err, sizeof err), DR_EINVAL);
    ck_assert_str_eq(err, "invalid --heartbeat-interval '10ms': expected a "
                          "duration from 50ms to 1h");
    char *missing[] = {"drover-agent", "--name", "n1", NULL};
    ck_assert_int_eq(agent_cfg_parse(&cfg, 3, missing, err, sizeof err),
                     DR_EINVAL);
    ck_assert_str_eq(err, "missing required option --cluster");
    ck_assert_ptr_nonnull(strstr(agent_cfg_usage(), "--heartbeat-ms MS"));

    sched_opts_t o;
    char path[] = "/tmp/check_opts_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char text[] = "heartbeat_interval = 2s\nstate-dir = /x\n";
    ck_assert_int_eq(write(fd, text, sizeof text - 1), (int)sizeof text - 1);
    close(fd);
    char flag[64];
    snprintf(flag, sizeof flag, "--config=%s", path);
    char *sargv[] = {"drover-scheduler", "--state-dir", "/y", flag, NULL};
    ck_assert_int_eq(config_parse_args(4, sargv, &o, err, sizeof err), 0);
    unlink(path);
    ck_assert_int_eq(o.heartbeat_interval_ms, 2000);
    ck_assert_str_eq(o.state_dir, "/y"); /* flags win over the file */
    ck_assert_str_eq(o.config_file, path);
    char *sbad[] = {"drover-scheduler", "--nope", NULL};
    ck_assert_int_eq(config_parse_args(2, sbad, &o, err, sizeof err),
                     DR_EINVAL);
    ck_assert_str_eq(err, "unknown option '--nope' (see --help)");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("opts");
    TCase *tc = tcase_create("opts");
    tcase_add_test(tc, test_durations);
    tcase_add_test(tc, test_sizes);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_args);
    tcase_add_test(tc, test_arg_errors);
    tcase_add_test(tc, test_table_flags);
    tcase_add_test(tc, test_text);
    tcase_add_test(tc, test_usage);
    tcase_add_test(tc, test_programs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
