/* cli_parse.c - option parsing and flag validation for the drover CLI.
 *
 * Owns the error-recording helpers (cli_fail, cli_usage), the bridge from a
 * command's option rows to the common parser (common/opts.h: one parser, one
 * duration convention for the three programs), and the validators that check
 * every flag before a request leaves the machine.  Each command's options are
 * a table of rows that name the field they fill; what a row cannot say
 * (names, paths, which flags go together) is checked after the parse.  It is
 * pure: no sockets, no printing, no exit(), no main().  Parsed values point
 * into argv (which outlives the command) except where a struct says it owns
 * them.
 */
#include "cli.h"
#include "dr_err.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_ctx_init(cli_ctx_t *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->endpoint = CLI_DEFAULT_ENDPOINT;
    ctx->fd = -1;
    ctx->out = CLI_OUT_TABLE;
    ctx->timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
    ctx->fout = stdout;
    ctx->ferr = stderr;
    const char *ins = getenv("DROVER_INSECURE");
    ctx->insecure = ins && strcmp(ins, "1") == 0;
}

int cli_fail(cli_ctx_t *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
    va_end(ap);
    return code < 0 ? code : DR_EINVAL;
}

int cli_usage(cli_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
    va_end(ap);
    ctx->usage = 1;
    return DR_EINVAL;
}

int cli_parse_output(cli_ctx_t *ctx, const char *s)
{
    if (strcmp(s, "table") == 0)
        ctx->out = CLI_OUT_TABLE;
    else if (strcmp(s, "json") == 0)
        ctx->out = CLI_OUT_JSON;
    else if (strcmp(s, "yaml") == 0)
        ctx->out = CLI_OUT_YAML;
    else
        return cli_usage(ctx,
                         "unknown output format '%s' (table, json, or yaml "
                         "for job show)",
                         s);
    return cli_check_output(ctx);
}

int cli_check_output(cli_ctx_t *ctx)
{
    if (ctx->out == CLI_OUT_YAML && ctx->cmd &&
        ctx->cmd->handler != cli_job_show)
        return cli_usage(ctx, "-o yaml is for `drover job show ID` only (a "
                              "job file that `job create -f` takes)");
    return 0;
}

/* A single-valued option given more than once: which value was meant is
 * not for the parser to guess. */
static int s_repeated(cli_ctx_t *ctx, const opt_def_t *rows, size_t n,
                      const cli_args_t *a)
{
    for (size_t k = 0; k < n; k++)
        if (a->seen[k] > 1 && !(rows[k].flags & OPT_MULTI))
            return cli_usage(ctx,
                             "option --%s given %d times: it takes one value",
                             rows[k].name, a->seen[k]);
    return 0;
}

int cli_args_parse(cli_ctx_t *ctx, const opt_def_t *defs, size_t n, void *base,
                   int argc, char **argv, cli_args_t *a)
{
    opt_def_t rows[OPTS_MAX];
    if (n + 1 > OPTS_MAX) {
        memset(a, 0, sizeof *a);
        return cli_fail(ctx, DR_EINVAL, "internal error: too many options");
    }
    if (n > 0)
        memcpy(rows, defs, n * sizeof *defs);
    /* -o / --output: everywhere, as the global option */
    rows[n] = (opt_def_t){.name = "output",
                          .shortname = 'o',
                          .type = OPT_ARG,
                          .offset = OPT_NOFIELD};
    opts_table_t t = {rows, n + 1, OPTS_POSITIONAL | OPTS_DASHDASH};
    char err[sizeof ctx->err];
    if (base && opts_defaults(&t, base, err, sizeof err) < 0) {
        memset(a, 0, sizeof *a);
        return cli_fail(ctx, DR_EINVAL, "internal error: %s", err);
    }
    int rc = opts_parse_args(&t, argc, argv, base, a, err, sizeof err);
    a->nspec = (int)n;
    if (rc < 0 && a->usage)
        cli_hint_option(err, sizeof err, rows, n + 1);
    if (rc < 0)
        return a->usage ? cli_usage(ctx, "%s", err)
                        : cli_fail(ctx, rc, "%s", err);
    if ((rc = s_repeated(ctx, rows, n + 1, a)) < 0)
        return rc;
    return a->seen[n] ? cli_parse_output(ctx, a->val[n]) : 0;
}

int cli_optset_parse(cli_ctx_t *ctx, const cli_optset_t *set, void *base,
                     int argc, char **argv, cli_args_t *a)
{
    return cli_args_parse(ctx, set->defs, set->n, base, argc, argv, a);
}

void cli_args_free(cli_args_t *a)
{
    opts_args_free(a);
}

int cli_args_none(cli_ctx_t *ctx, const cli_args_t *a)
{
    if (a->npos > 0 || a->dashdash)
        return cli_usage(ctx, "unexpected argument '%s'",
                         a->npos > 0 ? a->pos[0] : "--");
    return 0;
}

int cli_parse_none(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_args_parse(ctx, NULL, 0, NULL, argc, argv, &a);
    if (rc == 0)
        rc = cli_args_none(ctx, &a);
    cli_args_free(&a);
    return rc;
}

/* ---- validators ------------------------------------------------------------
 */

int cli_check_name(cli_ctx_t *ctx, const char *what, const char *s)
{
    if (dr_valid_name(s))
        return 0;
    return cli_fail(ctx, DR_EINVAL,
                    "invalid %s name '%s' (1-63 letters, digits, '-' or '_', "
                    "starting with a letter or digit)",
                    what, s);
}

int cli_parse_int(cli_ctx_t *ctx, const char *flag, const char *s, int64_t min,
                  int64_t max, int64_t *out)
{
    return opts_parse_int(flag, s, min, max, out, ctx->err, sizeof ctx->err);
}

int cli_parse_memory(cli_ctx_t *ctx, const char *s, uint64_t *mb)
{
    if (dr_parse_memory_mb(s, mb) == 0)
        return 0;
    return cli_fail(ctx, DR_EINVAL, "malformed memory size '%s'", s);
}

int cli_parse_duration(cli_ctx_t *ctx, const char *s, uint64_t *sec)
{
    int64_t ms;
    if (opts_parse_duration_ms(s, &ms) == 0 &&
        (ms + 999) / 1000 <= UINT32_MAX) {
        *sec = (uint64_t)(ms + 999) / 1000;
        return 0;
    }
    return cli_fail(ctx, DR_EINVAL,
                    "malformed duration '%s' (e.g. 90, 90s, 30m, 2h, 1d, "
                    "500ms)",
                    s);
}

/* "1h30m", "90s", "2d", "1s500ms", "300ms": whole numbers, each with a
 * unit, largest first; and seconds with up to three decimals ("1.5s",
 * "1m0.25s"), last; in ms. */
static int s_units_ms(const char *s, uint64_t *ms)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {
        {"d", 86400000}, {"h", 3600000}, {"ms", 1}, {"m", 60000}, {"s", 1000}};
    /* the order units must come in ("ms" is tried before "m", but is the
     * smallest) */
    static const int rank[] = {0, 1, 4, 2, 3};
    int next = 0;
    uint64_t total = 0;
    const char *p = s;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return DR_EINVAL;
        uint64_t v = 0;
        for (; isdigit((unsigned char)*p); p++)
            if ((v = v * 10 + (uint64_t)(*p - '0')) > 100000000)
                return DR_EINVAL;
        if (*p == '.') { /* seconds, to the ms: the last of the units */
            uint64_t frac = 0, scale = 100;
            const char *d = ++p;
            for (; isdigit((unsigned char)*p) && p - d < 3; p++, scale /= 10)
                frac += (uint64_t)(*p - '0') * scale;
            if (p == d || strcmp(p, "s") != 0 || next > rank[4])
                return DR_EINVAL; /* "1.s", "1.2345s", "1.5m", "1m2s0.5s" */
            *ms = total + v * 1000 + frac;
            return 0;
        }
        size_t k = 0, n = sizeof units / sizeof units[0];
        while (k < n && strncmp(p, units[k].unit, strlen(units[k].unit)) != 0)
            k++;
        if (k == n || rank[k] < next) /* no unit, unknown, out of order */
            return DR_EINVAL;
        total += v * units[k].ms;
        next = rank[k] + 1;
        p += strlen(units[k].unit);
    }
    *ms = total;
    return p == s ? DR_EINVAL : 0;
}

/* One field of a clock form: digits only; the fields after the first
 * are below `below` (60 for minutes and seconds, 24 for D-HH hours). */
static int s_field(const char *p, size_t len, uint64_t below, uint64_t *v)
{
    *v = 0;
    if (len == 0 || len > 9)
        return DR_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)p[i]))
            return DR_EINVAL;
        *v = *v * 10 + (uint64_t)(p[i] - '0');
    }
    return below && *v >= below ? DR_EINVAL : 0;
}

/* Slurm's forms: MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS. */
static int s_clock_s(const char *s, uint64_t *sec)
{
    uint64_t days = 0, f[3];
    int has_days = 0, n = 0;
    const char *dash = strchr(s, '-');
    if (dash) {
        if (s_field(s, (size_t)(dash - s), 0, &days) < 0)
            return DR_EINVAL;
        has_days = 1;
        s = dash + 1;
    }
    for (const char *p = s;; n++) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        uint64_t below = n == 0 ? (has_days ? 24 : 0) : 60;
        if (n == 3 || s_field(p, len, below, &f[n]) < 0)
            return DR_EINVAL;
        if (!colon) {
            n++;
            break;
        }
        p = colon + 1;
    }
    if (!has_days && n == 1) /* no ':' and no '-': not a clock form */
        return DR_EINVAL;
    uint64_t t;
    if (has_days) /* D-HH, D-HH:MM, D-HH:MM:SS */
        t = f[0] * 3600 + (n > 1 ? f[1] * 60 : 0) + (n > 2 ? f[2] : 0);
    else if (n == 2) /* MM:SS */
        t = f[0] * 60 + f[1];
    else /* HH:MM:SS */
        t = f[0] * 3600 + f[1] * 60 + f[2];
    *sec = days * 86400 + t;
    return 0;
}

int cli_parse_time_limit(cli_ctx_t *ctx, const char *s, uint64_t *ms)
{
    size_t len = strlen(s);
    if (len > 0 && strspn(s, "0123456789") == len)
        return cli_fail(ctx, DR_EINVAL,
                        "ambiguous --time-limit '%s': give a unit (%sm for "
                        "minutes, as Slurm reads a bare number, or %ss)",
                        s, s, s);
    uint64_t v = 0;
    int clock = strpbrk(s, ":-") != NULL;
    int rc = clock ? s_clock_s(s, &v) : s_units_ms(s, &v);
    if (rc < 0)
        return cli_fail(ctx, DR_EINVAL,
                        "malformed --time-limit '%s' (e.g. 90s, 30m, 1h30m, "
                        "2d, 500ms, 1s500ms, 1.5s, MM:SS, HH:MM:SS, D-HH, "
                        "D-HH:MM, D-HH:MM:SS)",
                        s);
    if (clock)
        v *= 1000;
    if (v == 0 || v > (uint64_t)CLI_TIME_LIMIT_MAX_S * 1000)
        return cli_fail(ctx, DR_EINVAL,
                        "invalid --time-limit '%s': expected from 1ms to 366d "
                        "(leave it out for no limit)",
                        s);
    *ms = v;
    return 0;
}

int cli_parse_env(cli_ctx_t *ctx, const char *s, char **key, char **val)
{
    *key = *val = NULL;
    const char *eq = strchr(s, '=');
    int ok = eq && eq != s && (isalpha((unsigned char)s[0]) || s[0] == '_');
    for (const char *p = s; ok && p < eq; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            ok = 0;
    if (!ok)
        return cli_fail(ctx, DR_EINVAL,
                        "malformed --env '%s': expected KEY=VALUE with KEY of "
                        "[A-Za-z_][A-Za-z0-9_]*",
                        s);
    *key = dr_strndup(s, (size_t)(eq - s));
    *val = dr_strdup(eq + 1);
    return 0;
}

static const char *const s_states[] = {"queued",    "starting", "running",
                                       "succeeded", "failed",   "canceled",
                                       "timeout"};

int cli_check_state(cli_ctx_t *ctx, const char *s)
{
    for (size_t i = 0; i < sizeof s_states / sizeof s_states[0]; i++)
        if (strcmp(s, s_states[i]) == 0)
            return 0;
    return cli_fail(ctx, DR_EINVAL,
                    "unknown job state '%s' (queued, starting, running, "
                    "succeeded, failed, canceled, timeout)",
                    s);
}

int cli_parse_job_id(cli_ctx_t *ctx, const char *s, uint64_t *id)
{
    int64_t v;
    if (dr_parse_i64(s, 1, INT64_MAX, &v) < 0)
        return cli_fail(ctx, DR_EINVAL,
                        "invalid job id '%s': expected a positive integer", s);
    *id = (uint64_t)v;
    return 0;
}

int cli_parse_timeout_env(cli_ctx_t *ctx, const char *s, int *ms)
{
    int64_t v;
    if (dr_parse_i64(s, 1, 3600 * 1000, &v) < 0)
        return cli_fail(ctx, DR_EINVAL,
                        "invalid DROVER_TIMEOUT_MS '%s': expected milliseconds "
                        "from 1 to 3600000",
                        s);
    *ms = (int)v;
    return 0;
}

/* ---- cluster create / update
 * --------------------------------------------------- */

enum {
    CC_NAME,
    CC_SIZE,
    CC_MIN,
    CC_MAX,
    CC_IDLE,
    CC_PRIO,
    CC_LOC,
    CC_PROV,
    CC_RESUME,
    CC_SUSPEND,
    CC_URL,
    CC_IDENT,
    CC_N
};

#define CL(f) OPT_AT(Drover__Cluster, f)

/* dedicated | lowpriority, and the spellings of az ml and the Studio */
static const char *const s_priorities[] = {
    "dedicated",    "lowpriority", "low_priority", "LowPriority", "Dedicated",
    "Low_Priority", NULL};

/* The scheduler's spelling of a priority s_priorities accepted. */
static char *s_priority_norm(const char *p)
{
    return (char *)(p && (p[0] == 'l' || p[0] == 'L') ? "lowpriority"
                                                      : "dedicated");
}
static const char *const s_providers[] = {"local", "exec", "http", "docker",
                                          NULL};

#define HELP_MIN "the autoscaler's lower bound, in nodes"
#define HELP_MAX "the autoscaler's upper bound, in nodes"
#define HELP_IDLE "seconds a node may sit idle before it is released"

static const opt_def_t s_create_opts[] = {
    [CC_NAME] = {"name", 'n', OPT_ARG, 0, CL(name), NULL, 0, 0, NULL, "NAME",
                 "the cluster (required)"},
    [CC_SIZE] = {"vm-size", 's', OPT_ARG, 0, CL(vm_size), NULL, 0, 0, NULL,
                 "VM_SIZE",
                 "a size of the catalog, e.g. Standard_D2_v2 (required)"},
    [CC_MIN] = {"min-nodes", 0, OPT_INT, 0, CL(min_nodes),
                CLI_COUNT("0", 0, "N", HELP_MIN)},
    [CC_MAX] = {"max-nodes", 0, OPT_INT, 0, CL(max_nodes),
                CLI_COUNT("4", 0, "N", HELP_MAX)},
    [CC_IDLE] = {"idle-seconds-before-scaledown", 0, OPT_INT, 0,
                 CL(idle_seconds_before_scaledown),
                 CLI_COUNT("120", 0, "S", HELP_IDLE)},
    [CC_PRIO] = {"vm-priority", 0, OPT_ENUM, 0, CL(vm_priority), "dedicated", 0,
                 0, s_priorities, "dedicated|lowpriority",
                 "low-priority nodes may be preempted"},
    [CC_LOC] = {"location", 'l', OPT_ARG, OPT_NONEMPTY, CL(location), "local",
                0, 0, NULL, "L",
                "where nodes are made (passed to the provider)"},
    [CC_PROV] = {"provider", 0, OPT_ENUM, 0, CL(provider), "local", 0, 0,
                 s_providers, "local|exec|http|docker",
                 "what creates and deletes the nodes"},
    [CC_RESUME] = {"resume-program", 0, OPT_ARG, 0, OPT_NONE, NULL, 0, 0, NULL,
                   "PATH",
                   "exec provider: absolute path of the create program"},
    [CC_SUSPEND] = {"suspend-program", 0, OPT_ARG, 0, OPT_NONE, NULL, 0, 0,
                    NULL, "PATH",
                    "exec provider: absolute path of the delete program"},
    [CC_URL] = {"provider-url", 0, OPT_ARG, 0, OPT_NONE, NULL, 0, 0, NULL,
                "URL", "http provider: the webhook, http:// or https://"},
    [CC_IDENT] = {"assign-identity", 0, OPT_ARG, OPT_NONEMPTY, CL(identity),
                  NULL, 0, 0, NULL, "'[system]'|ID",
                  "a managed identity for the cluster's jobs"},
};

const cli_optset_t cli_opts_cluster_create = CLI_OPTSET(s_create_opts);

/* A program the exec provider runs.  The scheduler runs it from its own
 * working directory, so a relative path would name another file there. */
static int s_check_program(cli_ctx_t *ctx, const char *flag, const char *s)
{
    if (s[0] != '/')
        return cli_fail(ctx, DR_EINVAL,
                        "invalid %s '%s': expected an absolute path (the "
                        "scheduler runs it)",
                        flag, s);
    return 0;
}

static int s_check_url(cli_ctx_t *ctx, const char *s)
{
    size_t skip = strncmp(s, "http://", 7) == 0    ? 7
                  : strncmp(s, "https://", 8) == 0 ? 8
                                                   : 0;
    int ok = skip > 0 && s[skip] != '\0' && s[skip] != '/';
    for (const char *p = s; ok && *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            ok = 0;
    if (!ok)
        return cli_fail(ctx, DR_EINVAL,
                        "invalid --provider-url '%s': expected http://HOST... "
                        "or https://HOST...",
                        s);
    return 0;
}

/* The provider flags of `cluster create`: --provider picks which of
 * --resume-program / --suspend-program (exec) and --provider-url (http)
 * are required, and the others are refused rather than ignored. */
static int s_parse_provider(cli_ctx_t *ctx, const cli_args_t *a,
                            Drover__Cluster *c)
{
    int exec = strcmp(c->provider, "exec") == 0;
    int http = strcmp(c->provider, "http") == 0;
    if (!exec && (a->seen[CC_RESUME] || a->seen[CC_SUSPEND]))
        return cli_usage(ctx, "%s needs --provider exec",
                         a->seen[CC_RESUME] ? "--resume-program"
                                            : "--suspend-program");
    if (!http && a->seen[CC_URL])
        return cli_usage(ctx, "--provider-url needs --provider http");
    if (exec && (!a->seen[CC_RESUME] || !a->seen[CC_SUSPEND]))
        return cli_usage(ctx, "--provider exec needs %s",
                         !a->seen[CC_RESUME] ? "--resume-program PATH"
                                             : "--suspend-program PATH");
    if (http && !a->seen[CC_URL])
        return cli_usage(ctx, "--provider http needs --provider-url URL");
    int rc;
    if (exec) {
        if ((rc = s_check_program(ctx, "--resume-program", a->val[CC_RESUME])) <
                0 ||
            (rc = s_check_program(ctx, "--suspend-program",
                                  a->val[CC_SUSPEND])) < 0)
            return rc;
        c->resume_program = (char *)a->val[CC_RESUME];
        c->suspend_program = (char *)a->val[CC_SUSPEND];
    }
    if (http) {
        if ((rc = s_check_url(ctx, a->val[CC_URL])) < 0)
            return rc;
        c->provider_url = (char *)a->val[CC_URL];
    }
    return 0;
}

static int s_check_min_max(cli_ctx_t *ctx, int32_t min, int32_t max)
{
    if (min > max)
        return cli_fail(ctx, DR_EINVAL,
                        "--min-nodes (%d) must not exceed --max-nodes (%d)",
                        min, max);
    return 0;
}

int cli_parse_cluster_create(cli_ctx_t *ctx, int argc, char **argv,
                             Drover__Cluster *c)
{
    drover__cluster__init(c);
    cli_args_t a; /* the defaults come from the rows */
    int rc = cli_args_parse(ctx, s_create_opts, CC_N, c, argc, argv, &a);
    if (rc < 0)
        goto out;
    c->vm_priority = s_priority_norm(c->vm_priority);
    if (a.npos > 0) {
        rc = cli_usage(ctx, "unexpected argument '%s'", a.pos[0]);
    } else if (a.dashdash) {
        rc = cli_usage(ctx, "unexpected '--'");
    } else if (!a.seen[CC_NAME] || !a.seen[CC_SIZE]) {
        rc = cli_usage(ctx, "missing required option %s",
                       !a.seen[CC_NAME] ? "-n NAME" : "-s VM_SIZE");
    } else if ((rc = cli_check_name(ctx, "cluster", c->name)) == 0) {
        if (c->vm_size[0] == '\0')
            rc = cli_fail(ctx, DR_EINVAL, "empty vm size");
        else if ((rc = s_check_min_max(ctx, c->min_nodes, c->max_nodes)) == 0)
            rc = s_parse_provider(ctx, &a, c);
    }
out:
    cli_args_free(&a);
    return rc;
}

enum { CU_NAME, CU_MIN, CU_MAX, CU_IDLE, CU_N };

#define CU(f) OPT_AT(Drover__ClusterUpdate, f)

static const opt_def_t s_update_opts[] = {
    [CU_NAME] = {"name", 'n', OPT_ARG, 0, CU(name), NULL, 0, 0, NULL, "NAME",
                 "the cluster (required)"},
    [CU_MIN] = {"min-nodes", 0, OPT_INT, 0, CU(min_nodes),
                CLI_COUNT(NULL, 0, "N", HELP_MIN)},
    [CU_MAX] = {"max-nodes", 0, OPT_INT, 0, CU(max_nodes),
                CLI_COUNT(NULL, 0, "N", HELP_MAX)},
    [CU_IDLE] = {"idle-seconds-before-scaledown", 0, OPT_INT, 0,
                 CU(idle_seconds_before_scaledown),
                 CLI_COUNT(NULL, 0, "S", HELP_IDLE)},
};

const cli_optset_t cli_opts_cluster_update = CLI_OPTSET(s_update_opts);

int cli_parse_cluster_update(cli_ctx_t *ctx, int argc, char **argv,
                             Drover__ClusterUpdate *u)
{
    drover__cluster_update__init(u);
    cli_args_t a;
    int rc = cli_args_parse(ctx, s_update_opts, CU_N, u, argc, argv, &a);
    if (rc == 0)
        rc = cli_args_none(ctx, &a);
    if (rc < 0)
        goto out;
    u->set_mask = (a.seen[CU_MIN] ? 1u : 0) | (a.seen[CU_MAX] ? 2u : 0) |
                  (a.seen[CU_IDLE] ? 4u : 0);
    if (!a.seen[CU_NAME])
        rc = cli_usage(ctx, "missing required option -n NAME");
    else if (!u->set_mask)
        rc = cli_usage(ctx, "nothing to update: give --min-nodes, "
                            "--max-nodes or --idle-seconds-before-scaledown");
    else if ((rc = cli_check_name(ctx, "cluster", u->name)) == 0 &&
             (u->set_mask & 3) == 3)
        rc = s_check_min_max(ctx, u->min_nodes, u->max_nodes);
out:
    cli_args_free(&a);
    return rc;
}

/* ---- quota set, cluster events, node NAME
 * --------------------------------------------------- */

int cli_check_family(cli_ctx_t *ctx, const char *s)
{
    size_t n = 0;
    int ok = *s != '\0';
    for (const char *p = s; ok && *p; p++, n++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            ok = 0;
    if (ok && n <= 63)
        return 0;
    return cli_fail(ctx, DR_EINVAL,
                    "invalid --family '%s' (1-63 letters, digits or '_', "
                    "e.g. standardDv2Family)",
                    s);
}

enum { QS_FAMILY, QS_LOCATION, QS_TOTAL, QS_CORES, QS_PRIO, QS_N };

#define QS(f) OPT_AT(Drover__QuotaSet, f)

static const opt_def_t s_quota_opts[] = {
    [QS_FAMILY] = {"family", 0, OPT_ARG, 0, QS(family), NULL, 0, 0, NULL,
                   "FAMILY",
                   "a VM family, e.g. standardDv2Family (or --total)"},
    [QS_LOCATION] = {"location", 'l', OPT_ARG, 0, QS(location), NULL, 0, 0,
                     NULL, "LOCATION",
                     "the region the limit is for, e.g. westus (default: "
                     "the family in every location)"},
    [QS_TOTAL] = {"total", 0, OPT_FLAG, 0, QS(total), NULL, 0, 0, NULL, NULL,
                  "the location's total over all families (needs "
                  "--location)"},
    [QS_CORES] = {"cores", 0, OPT_ARG, 0, OPT_NONE, NULL, 0, 0, NULL,
                  "N|unlimited",
                  "the core limit; unlimited removes it (required)"},
    [QS_PRIO] = {"vm-priority", 0, OPT_ENUM, 0, QS(vm_priority), "dedicated", 0,
                 0, s_priorities, "dedicated|lowpriority",
                 "which of the two limits"},
};

const cli_optset_t cli_opts_quota_set = CLI_OPTSET(s_quota_opts);

int cli_parse_quota_set(cli_ctx_t *ctx, int argc, char **argv,
                        Drover__QuotaSet *q)
{
    drover__quota_set__init(q);
    cli_args_t a;
    int rc = cli_args_parse(ctx, s_quota_opts, QS_N, q, argc, argv, &a);
    if (rc == 0)
        q->vm_priority = s_priority_norm(q->vm_priority);
    if (rc == 0)
        rc = cli_args_none(ctx, &a);
    if (rc == 0 && !a.seen[QS_CORES])
        rc = cli_usage(ctx, "missing required option --cores N");
    if (rc == 0 && a.seen[QS_FAMILY] == q->total)
        rc = cli_usage(ctx, q->total ? "give --family or --total, not both"
                                     : "missing --family FAMILY (or --total)");
    if (rc == 0 && q->total && !a.seen[QS_LOCATION])
        rc = cli_usage(ctx, "--total needs --location LOCATION");
    if (rc == 0 && a.seen[QS_FAMILY])
        rc = cli_check_family(ctx, q->family);
    if (rc == 0 && a.seen[QS_LOCATION] && !dr_valid_name(q->location))
        rc = cli_fail(ctx, DR_EINVAL,
                      "invalid --location '%s' (1-63 letters, digits, '-' or "
                      "'_', e.g. westus)",
                      q->location);
    if (rc == 0 && strcmp(a.val[QS_CORES], "unlimited") == 0)
        q->cores = -1;
    else if (rc == 0)
        rc = cli_parse_int(ctx, "--cores", a.val[QS_CORES], 0,
                           CLI_QUOTA_CORES_MAX, &q->cores);
    cli_args_free(&a);
    return rc;
}

enum { CE_NAME, CE_LIMIT, CE_N };

static const opt_def_t s_events_opts[] = {
    [CE_NAME] = {"name", 'n', OPT_ARG, 0,
                 OPT_AT(Drover__ClusterEventsReq, name), NULL, 0, 0, NULL,
                 "NAME", "the cluster (required)"},
    [CE_LIMIT] = {"limit", 0, OPT_INT, 0,
                  OPT_AT(Drover__ClusterEventsReq, limit), NULL, 1,
                  CLI_EVENTS_MAX, NULL, "N",
                  "the newest N events, at most 10000 (default: 100)"},
};

const cli_optset_t cli_opts_cluster_events = CLI_OPTSET(s_events_opts);

int cli_parse_cluster_events(cli_ctx_t *ctx, int argc, char **argv,
                             Drover__ClusterEventsReq *e)
{
    drover__cluster_events_req__init(e); /* limit 0: the scheduler's default */
    cli_args_t a;
    int rc = cli_args_parse(ctx, s_events_opts, CE_N, e, argc, argv, &a);
    if (rc == 0)
        rc = cli_args_none(ctx, &a);
    if (rc == 0 && !a.seen[CE_NAME])
        rc = cli_usage(ctx, "missing required option -n NAME");
    if (rc == 0)
        rc = cli_check_name(ctx, "cluster", e->name);
    cli_args_free(&a);
    return rc;
}

int cli_parse_node_ref(cli_ctx_t *ctx, int argc, char **argv,
                       Drover__NodeRef *r)
{
    drover__node_ref__init(r);
    cli_args_t a;
    int rc = cli_args_parse(ctx, NULL, 0, NULL, argc, argv, &a);
    if (rc < 0)
        goto out;
    if (a.dashdash && a.nrest > 0)
        rc = cli_usage(ctx, "unexpected argument '%s'", a.rest[0]);
    else if (a.npos == 0)
        rc = cli_usage(ctx, "missing node NAME");
    else if (a.npos > 1)
        rc = cli_usage(ctx, "unexpected argument '%s'", a.pos[1]);
    else if ((rc = cli_check_name(ctx, "node", a.pos[0])) == 0)
        r->name = a.pos[0];
out:
    cli_args_free(&a);
    return rc;
}
