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
    else
        return cli_usage(ctx, "unknown output format '%s' (table or json)", s);
    return 0;
}

int cli_opt_index(const cli_opt_t *specs, const char *lname)
{
    for (int i = 0; specs[i].lname; i++)
        if (strcmp(specs[i].lname, lname) == 0)
            return i;
    return -1;
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
    int rc = opts_parse_args(&t, argc, argv, base, a, err, sizeof err);
    a->nspec = (int)n;
    if (rc < 0)
        return a->usage ? cli_usage(ctx, "%s", err)
                        : cli_fail(ctx, rc, "%s", err);
    return a->seen[n] ? cli_parse_output(ctx, a->val[n]) : 0;
}

int cli_opts_parse(cli_ctx_t *ctx, const cli_opt_t *specs, int argc,
                   char **argv, cli_args_t *out)
{
    opt_def_t rows[OPTS_MAX];
    size_t n = 0;
    for (; specs[n].lname; n++) {
        if (n + 1 >= OPTS_MAX) {
            memset(out, 0, sizeof *out);
            return cli_fail(ctx, DR_EINVAL, "internal error: too many options");
        }
        rows[n] =
            (opt_def_t){.name = specs[n].lname + 2,
                        .shortname = specs[n].sname ? specs[n].sname[1] : 0,
                        .type = specs[n].has_arg ? OPT_ARG : OPT_FLAG,
                        .flags = specs[n].multi ? OPT_MULTI : 0,
                        .offset = OPT_NOFIELD};
    }
    return cli_args_parse(ctx, rows, n, NULL, argc, argv, out);
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
                    "succeeded, failed, canceled)",
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

/* ---- job submit
 * ---------------------------------------------------------------- */

enum {
    SUB_CLUSTER,
    SUB_NAME,
    SUB_CPUS,
    SUB_MEMORY,
    SUB_PRIORITY,
    SUB_RETRIES,
    SUB_TLIMIT,
    SUB_ENV,
    SUB_WAIT,
    SUB_GPUS,
    SUB_NODES,
    SUB_PPN,
    SUB_IMAGE,
    SUB_DIST,
    SUB_DEP,
    SUB_N
};

#define SJ(f) OPT_AT(cli_submit_t, job.f)
#define COUNT(lo) NULL, lo, INT32_MAX /* def, min, max of a count */

static const opt_def_t s_submit_opts[] = {
    [SUB_CLUSTER] = {"cluster", 'c', OPT_ARG, 0, SJ(cluster)},
    [SUB_NAME] = {"name", 'n', OPT_ARG, 0, SJ(name)},
    [SUB_CPUS] = {"cpus", 0, OPT_INT, 0, SJ(cpus), COUNT(1)},
    [SUB_MEMORY] = {"memory", 0, OPT_ARG, 0, OPT_NONE},
    [SUB_PRIORITY] = {"priority", 0, OPT_INT, 0, SJ(priority), NULL, INT32_MIN,
                      INT32_MAX},
    [SUB_RETRIES] = {"max-retries", 0, OPT_INT, 0, SJ(max_retries), COUNT(0)},
    [SUB_TLIMIT] = {"time-limit", 0, OPT_ARG, 0, OPT_NONE},
    [SUB_ENV] = {"env", 'e', OPT_ARG, OPT_MULTI, OPT_NONE},
    [SUB_WAIT] = {"wait", 'w', OPT_FLAG, 0, OPT_AT(cli_submit_t, wait)},
    [SUB_GPUS] = {"gpus", 0, OPT_INT, 0, SJ(gpus), COUNT(0)},
    [SUB_NODES] = {"nodes", 0, OPT_INT, 0, SJ(nodes), COUNT(1)},
    [SUB_PPN] = {"procs-per-node", 0, OPT_INT, 0, SJ(procs_per_node), COUNT(1)},
    [SUB_IMAGE] = {"image", 0, OPT_ARG, 0, SJ(image)},
    [SUB_DIST] = {"distribution", 0, OPT_ARG, 0, OPT_NONE},
    [SUB_DEP] = {"dependency", 'd', OPT_ARG, OPT_NONEMPTY, SJ(dependency)},
};

void cli_submit_free(cli_submit_t *s)
{
    for (size_t i = 0; s->kv && i < s->job.n_env; i++) {
        free(s->kv[i].key);
        free(s->kv[i].value);
    }
    free(s->kv);
    free(s->kvp);
    free(s->job.argv);
    s->kv = NULL;
    s->kvp = NULL;
    s->job.argv = NULL;
    s->job.n_env = 0;
    s->job.env = NULL;
    s->job.n_argv = 0;
}

/* The shape of a submit line: options, "--", then the job's command. */
static int s_submit_shape(cli_ctx_t *ctx, const cli_args_t *a)
{
    if (a->npos > 0)
        return cli_usage(ctx,
                         "unexpected argument '%s' (the command goes "
                         "after '--')",
                         a->pos[0]);
    if (!a->seen[SUB_CLUSTER])
        return cli_usage(ctx, "missing required option --cluster");
    if (!a->dashdash)
        return cli_usage(ctx, "missing '--' before the job's command");
    if (a->nrest == 0 || a->rest[0][0] == '\0')
        return cli_usage(ctx, "missing the job's command after '--'");
    if (a->seen[SUB_DIST] && strcmp(a->val[SUB_DIST], "mpi") != 0 &&
        strcmp(a->val[SUB_DIST], "pytorch") != 0)
        return cli_usage(ctx,
                         "--distribution '%s' is not known (mpi or pytorch)",
                         a->val[SUB_DIST]);
    return 0;
}

/* The values of a submit that its rows do not check. */
static int s_submit_values(cli_ctx_t *ctx, const cli_args_t *a, cli_submit_t *s)
{
    Drover__Job *j = &s->job;
    int rc;
    if ((rc = cli_check_name(ctx, "cluster", j->cluster)) < 0 ||
        (a->seen[SUB_NAME] && (rc = cli_check_name(ctx, "job", j->name)) < 0))
        return rc;
    if (a->seen[SUB_MEMORY] &&
        (rc = cli_parse_memory(ctx, a->val[SUB_MEMORY], &j->memory_mb)) < 0)
        return rc;
    if (a->seen[SUB_TLIMIT]) {
        uint64_t sec = 0;
        if ((rc = cli_parse_duration(ctx, a->val[SUB_TLIMIT], &sec)) < 0)
            return rc;
        j->time_limit_s = (uint32_t)sec;
    }
    if (a->seen[SUB_DIST])
        j->distribution = (char *)a->val[SUB_DIST];
    int nenv = a->nlist[SUB_ENV];
    if (nenv > 0) {
        s->kv = dr_calloc((size_t)nenv, sizeof *s->kv);
        s->kvp = dr_calloc((size_t)nenv, sizeof *s->kvp);
        j->env = s->kvp;
        for (int i = 0; i < nenv; i++) {
            drover__key_value__init(&s->kv[i]);
            s->kvp[i] = &s->kv[i];
            /* n_env counts the entries whose strings are owned. */
            if ((rc = cli_parse_env(ctx, a->list[SUB_ENV][i], &s->kv[i].key,
                                    &s->kv[i].value)) < 0)
                return rc;
            j->n_env++;
        }
    }
    return 0;
}

int cli_parse_submit(cli_ctx_t *ctx, int argc, char **argv, cli_submit_t *s)
{
    memset(s, 0, sizeof *s);
    drover__job__init(&s->job);
    Drover__Job *j = &s->job;
    j->cpus = 1;
    j->memory_mb = 512;
    j->nodes = 1;
    j->procs_per_node = 1;
    j->max_retries = 3;

    cli_args_t a;
    int rc = cli_args_parse(ctx, s_submit_opts, SUB_N, s, argc, argv, &a);
    if (rc == 0 && (rc = s_submit_shape(ctx, &a)) == 0 &&
        (rc = s_submit_values(ctx, &a, s)) == 0) {
        j->argv = dr_calloc((size_t)a.nrest, sizeof(char *));
        for (int i = 0; i < a.nrest; i++)
            j->argv[i] = a.rest[i];
        j->n_argv = (size_t)a.nrest;
    }
    cli_args_free(&a);
    if (rc < 0)
        cli_submit_free(s);
    return rc;
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

static const char *const s_priorities[] = {"dedicated", "lowpriority", NULL};
static const char *const s_providers[] = {"local", "exec", "http", "docker",
                                          NULL};

static const opt_def_t s_create_opts[] = {
    [CC_NAME] = {"name", 'n', OPT_ARG, 0, CL(name)},
    [CC_SIZE] = {"vm-size", 's', OPT_ARG, 0, CL(vm_size)},
    [CC_MIN] = {"min-nodes", 0, OPT_INT, 0, CL(min_nodes), COUNT(0)},
    [CC_MAX] = {"max-nodes", 0, OPT_INT, 0, CL(max_nodes), COUNT(0)},
    [CC_IDLE] = {"idle-seconds-before-scaledown", 0, OPT_INT, 0,
                 CL(idle_seconds_before_scaledown), COUNT(0)},
    [CC_PRIO] = {"vm-priority", 0, OPT_ENUM, 0, CL(vm_priority), NULL, 0, 0,
                 s_priorities},
    [CC_LOC] = {"location", 'l', OPT_ARG, OPT_NONEMPTY, CL(location)},
    [CC_PROV] = {"provider", 0, OPT_ENUM, 0, CL(provider), NULL, 0, 0,
                 s_providers},
    [CC_RESUME] = {"resume-program", 0, OPT_ARG, 0, OPT_NONE},
    [CC_SUSPEND] = {"suspend-program", 0, OPT_ARG, 0, OPT_NONE},
    [CC_URL] = {"provider-url", 0, OPT_ARG, 0, OPT_NONE},
    [CC_IDENT] = {"assign-identity", 0, OPT_ARG, OPT_NONEMPTY, CL(identity)},
};

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
    c->min_nodes = 0;
    c->max_nodes = 4;
    c->idle_seconds_before_scaledown = 120;
    c->vm_priority = (char *)"dedicated";
    c->location = (char *)"local";
    c->provider = (char *)"local";

    cli_args_t a;
    int rc = cli_args_parse(ctx, s_create_opts, CC_N, c, argc, argv, &a);
    if (rc < 0)
        goto out;
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
    [CU_NAME] = {"name", 'n', OPT_ARG, 0, CU(name)},
    [CU_MIN] = {"min-nodes", 0, OPT_INT, 0, CU(min_nodes), COUNT(0)},
    [CU_MAX] = {"max-nodes", 0, OPT_INT, 0, CU(max_nodes), COUNT(0)},
    [CU_IDLE] = {"idle-seconds-before-scaledown", 0, OPT_INT, 0,
                 CU(idle_seconds_before_scaledown), COUNT(0)},
};

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

enum { QS_FAMILY, QS_CORES, QS_PRIO, QS_N };

#define QS(f) OPT_AT(Drover__QuotaSet, f)

static const opt_def_t s_quota_opts[] = {
    [QS_FAMILY] = {"family", 0, OPT_ARG, 0, QS(family)},
    [QS_CORES] = {"cores", 0, OPT_INT, 0, QS(cores), NULL, 0,
                  CLI_QUOTA_CORES_MAX},
    [QS_PRIO] = {"vm-priority", 0, OPT_ENUM, 0, QS(vm_priority), NULL, 0, 0,
                 s_priorities},
};

int cli_parse_quota_set(cli_ctx_t *ctx, int argc, char **argv,
                        Drover__QuotaSet *q)
{
    drover__quota_set__init(q);
    q->vm_priority = (char *)"dedicated";
    cli_args_t a;
    int rc = cli_args_parse(ctx, s_quota_opts, QS_N, q, argc, argv, &a);
    if (rc == 0)
        rc = cli_args_none(ctx, &a);
    if (rc == 0 && (!a.seen[QS_FAMILY] || !a.seen[QS_CORES]))
        rc = cli_usage(ctx, "missing required option %s",
                       !a.seen[QS_FAMILY] ? "--family FAMILY" : "--cores N");
    if (rc == 0)
        rc = cli_check_family(ctx, q->family);
    cli_args_free(&a);
    return rc;
}

enum { CE_NAME, CE_LIMIT, CE_N };

static const opt_def_t s_events_opts[] = {
    [CE_NAME] = {"name", 'n', OPT_ARG, 0,
                 OPT_AT(Drover__ClusterEventsReq, name)},
    [CE_LIMIT] = {"limit", 0, OPT_INT, 0,
                  OPT_AT(Drover__ClusterEventsReq, limit), NULL, 1,
                  CLI_EVENTS_MAX},
};

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
