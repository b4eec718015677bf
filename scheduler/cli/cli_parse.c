/* cli_parse.c - option parsing and flag validation for the drover CLI.
 *
 * Owns the error-recording helpers (cli_fail, cli_usage), the small
 * per-command option parser and the validators that check every flag before
 * a request leaves the machine.  It is pure: no sockets, no printing, no
 * exit(), no main(); the unit test #includes this file.  Parsed values point
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

static int s_find_opt(const cli_opt_t *specs, const char *name, size_t len)
{
    for (int i = 0; specs[i].lname; i++) {
        if (strlen(specs[i].lname) == len &&
            strncmp(specs[i].lname, name, len) == 0)
            return i;
        if (specs[i].sname && strlen(specs[i].sname) == len &&
            strncmp(specs[i].sname, name, len) == 0)
            return i;
    }
    return -1;
}

int cli_opts_parse(cli_ctx_t *ctx, const cli_opt_t *specs, int argc,
                   char **argv, cli_args_t *out)
{
    memset(out, 0, sizeof *out);
    while (specs[out->nspec].lname)
        out->nspec++;
    if (out->nspec > CLI_MAX_OPTS)
        return cli_fail(ctx, DR_EINVAL, "internal error: too many options");
    out->pos = dr_calloc((size_t)argc + 1, sizeof *out->pos);
    for (int k = 0; k < out->nspec; k++)
        if (specs[k].multi)
            out->list[k] = dr_calloc((size_t)argc + 1, sizeof(char *));

    for (int i = 0; i < argc; i++) {
        char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            out->dashdash = 1;
            out->rest = argv + i + 1;
            out->nrest = argc - i - 1;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            out->pos[out->npos++] = arg;
            continue;
        }
        const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
        size_t namelen = eq ? (size_t)(eq - arg) : strlen(arg);
        const char *inline_val = eq ? eq + 1 : NULL;
        int is_output = (namelen == 2 && strncmp(arg, "-o", 2) == 0) ||
                        (namelen == 8 && strncmp(arg, "--output", 8) == 0);
        int k = is_output ? -1 : s_find_opt(specs, arg, namelen);
        if (!is_output && k < 0)
            return cli_usage(ctx, "unknown option '%.*s'", (int)namelen, arg);
        if (is_output || specs[k].has_arg) {
            const char *v = inline_val;
            if (!v) {
                if (i + 1 >= argc)
                    return cli_usage(ctx, "option '%.*s' needs a value",
                                     (int)namelen, arg);
                v = argv[++i];
            }
            if (is_output) {
                int rc = cli_parse_output(ctx, v);
                if (rc < 0)
                    return rc;
                continue;
            }
            out->val[k] = v;
            if (specs[k].multi)
                out->list[k][out->nlist[k]++] = v;
        } else {
            if (inline_val)
                return cli_usage(ctx, "option '%.*s' takes no value",
                                 (int)namelen, arg);
            out->val[k] = "1";
        }
        out->seen[k]++;
    }
    return 0;
}

void cli_args_free(cli_args_t *a)
{
    free(a->pos);
    a->pos = NULL;
    for (int k = 0; k < CLI_MAX_OPTS; k++) {
        free(a->list[k]);
        a->list[k] = NULL;
    }
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
    if (dr_parse_i64(s, min, max, out) == 0)
        return 0;
    return cli_fail(ctx, DR_EINVAL,
                    "invalid %s '%s': expected an integer from %lld to %lld",
                    flag, s, (long long)min, (long long)max);
}

int cli_parse_memory(cli_ctx_t *ctx, const char *s, uint64_t *mb)
{
    if (dr_parse_memory_mb(s, mb) == 0)
        return 0;
    return cli_fail(ctx, DR_EINVAL, "malformed memory size '%s'", s);
}

int cli_parse_duration(cli_ctx_t *ctx, const char *s, uint64_t *sec)
{
    if (dr_parse_duration_s(s, sec) == 0 && *sec <= UINT32_MAX)
        return 0;
    return cli_fail(ctx, DR_EINVAL,
                    "malformed duration '%s' (e.g. 90, 90s, 30m, 2h, 1d)", s);
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
                                       "succeeded", "failed",   "canceled"};

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
};

static const cli_opt_t s_submit_opts[] = {
    [SUB_CLUSTER] = {"--cluster", "-c", 1, 0},
    [SUB_NAME] = {"--name", "-n", 1, 0},
    [SUB_CPUS] = {"--cpus", NULL, 1, 0},
    [SUB_MEMORY] = {"--memory", NULL, 1, 0},
    [SUB_PRIORITY] = {"--priority", NULL, 1, 0},
    [SUB_RETRIES] = {"--max-retries", NULL, 1, 0},
    [SUB_TLIMIT] = {"--time-limit", NULL, 1, 0},
    [SUB_ENV] = {"--env", "-e", 1, 1},
    [SUB_WAIT] = {"--wait", "-w", 0, 0},
    [SUB_GPUS] = {"--gpus", NULL, 1, 0},
    [SUB_NODES] = {"--nodes", NULL, 1, 0},
    [SUB_PPN] = {"--procs-per-node", NULL, 1, 0},
    [SUB_IMAGE] = {"--image", NULL, 1, 0},
    [SUB_DIST] = {"--distribution", NULL, 1, 0},
    {NULL, NULL, 0, 0},
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

/* Parses an optional integer flag into *dst (type-converted by the caller). */
static int s_opt_int(cli_ctx_t *ctx, const cli_args_t *a, int k,
                     const char *flag, int64_t min, int64_t max, int64_t *dst)
{
    if (!a->seen[k])
        return 0;
    return cli_parse_int(ctx, flag, a->val[k], min, max, dst);
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
    int rc = cli_opts_parse(ctx, s_submit_opts, argc, argv, &a);
    if (rc < 0)
        goto out;
    if (a.npos > 0) {
        rc = cli_usage(ctx,
                       "unexpected argument '%s' (the command goes "
                       "after '--')",
                       a.pos[0]);
        goto out;
    }
    if (!a.seen[SUB_CLUSTER]) {
        rc = cli_usage(ctx, "missing required option --cluster");
        goto out;
    }
    if (!a.dashdash) {
        rc = cli_usage(ctx, "missing '--' before the job's command");
        goto out;
    }
    if (a.nrest == 0 || a.rest[0][0] == '\0') {
        rc = cli_usage(ctx, "missing the job's command after '--'");
        goto out;
    }
    if ((rc = cli_check_name(ctx, "cluster", a.val[SUB_CLUSTER])) < 0)
        goto out;
    j->cluster = (char *)a.val[SUB_CLUSTER];
    if (a.seen[SUB_NAME]) {
        if ((rc = cli_check_name(ctx, "job", a.val[SUB_NAME])) < 0)
            goto out;
        j->name = (char *)a.val[SUB_NAME];
    }
    int64_t v;
    v = j->cpus;
    if ((rc = s_opt_int(ctx, &a, SUB_CPUS, "--cpus", 1, INT32_MAX, &v)) < 0)
        goto out;
    j->cpus = (uint32_t)v;
    v = j->gpus;
    if ((rc = s_opt_int(ctx, &a, SUB_GPUS, "--gpus", 0, INT32_MAX, &v)) < 0)
        goto out;
    j->gpus = (uint32_t)v;
    v = j->nodes;
    if ((rc = s_opt_int(ctx, &a, SUB_NODES, "--nodes", 1, INT32_MAX, &v)) < 0)
        goto out;
    j->nodes = (uint32_t)v;
    v = j->procs_per_node;
    if ((rc = s_opt_int(ctx, &a, SUB_PPN, "--procs-per-node", 1, INT32_MAX,
                        &v)) < 0)
        goto out;
    j->procs_per_node = (uint32_t)v;
    v = j->priority;
    if ((rc = s_opt_int(ctx, &a, SUB_PRIORITY, "--priority", INT32_MIN,
                        INT32_MAX, &v)) < 0)
        goto out;
    j->priority = (int32_t)v;
    v = j->max_retries;
    if ((rc = s_opt_int(ctx, &a, SUB_RETRIES, "--max-retries", 0, INT32_MAX,
                        &v)) < 0)
        goto out;
    j->max_retries = (uint32_t)v;
    if (a.seen[SUB_MEMORY] &&
        (rc = cli_parse_memory(ctx, a.val[SUB_MEMORY], &j->memory_mb)) < 0)
        goto out;
    if (a.seen[SUB_TLIMIT]) {
        uint64_t sec;
        if ((rc = cli_parse_duration(ctx, a.val[SUB_TLIMIT], &sec)) < 0)
            goto out;
        j->time_limit_s = (uint32_t)sec;
    }
    if (a.seen[SUB_IMAGE])
        j->image = (char *)a.val[SUB_IMAGE];
    if (a.seen[SUB_DIST]) {
        if (strcmp(a.val[SUB_DIST], "mpi") != 0) {
            rc = cli_usage(ctx, "--distribution '%s' is not known (use mpi)",
                           a.val[SUB_DIST]);
            goto out;
        }
        j->distribution = (char *)a.val[SUB_DIST];
    }
    s->wait = a.seen[SUB_WAIT] > 0;

    int nenv = a.nlist[SUB_ENV];
    if (nenv > 0) {
        s->kv = dr_calloc((size_t)nenv, sizeof *s->kv);
        s->kvp = dr_calloc((size_t)nenv, sizeof *s->kvp);
        j->env = s->kvp;
        for (int i = 0; i < nenv; i++) {
            drover__key_value__init(&s->kv[i]);
            s->kvp[i] = &s->kv[i];
            /* n_env counts the entries whose strings are owned. */
            if ((rc = cli_parse_env(ctx, a.list[SUB_ENV][i], &s->kv[i].key,
                                    &s->kv[i].value)) < 0)
                goto out;
            j->n_env++;
        }
    }
    j->argv = dr_calloc((size_t)a.nrest, sizeof(char *));
    for (int i = 0; i < a.nrest; i++)
        j->argv[i] = a.rest[i];
    j->n_argv = (size_t)a.nrest;
    rc = 0;
out:
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
};

static const cli_opt_t s_create_opts[] = {
    [CC_NAME] = {"--name", "-n", 1, 0},
    [CC_SIZE] = {"--vm-size", "-s", 1, 0},
    [CC_MIN] = {"--min-nodes", NULL, 1, 0},
    [CC_MAX] = {"--max-nodes", NULL, 1, 0},
    [CC_IDLE] = {"--idle-seconds-before-scaledown", NULL, 1, 0},
    [CC_PRIO] = {"--vm-priority", NULL, 1, 0},
    [CC_LOC] = {"--location", "-l", 1, 0},
    [CC_PROV] = {"--provider", NULL, 1, 0},
    [CC_RESUME] = {"--resume-program", NULL, 1, 0},
    [CC_SUSPEND] = {"--suspend-program", NULL, 1, 0},
    [CC_URL] = {"--provider-url", NULL, 1, 0},
    [CC_IDENT] = {"--assign-identity", NULL, 1, 0},
    {NULL, NULL, 0, 0},
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
    if (a->seen[CC_PROV]) {
        const char *p = a->val[CC_PROV];
        if (strcmp(p, "local") != 0 && strcmp(p, "exec") != 0 &&
            strcmp(p, "http") != 0)
            return cli_fail(ctx, DR_EINVAL,
                            "invalid --provider '%s' (local, exec or http)", p);
        c->provider = (char *)p;
    }
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
    int rc = cli_opts_parse(ctx, s_create_opts, argc, argv, &a);
    if (rc < 0)
        goto out;
    if (a.npos > 0) {
        rc = cli_usage(ctx, "unexpected argument '%s'", a.pos[0]);
        goto out;
    }
    if (a.dashdash) {
        rc = cli_usage(ctx, "unexpected '--'");
        goto out;
    }
    if (!a.seen[CC_NAME] || !a.seen[CC_SIZE]) {
        rc = cli_usage(ctx, "missing required option %s",
                       !a.seen[CC_NAME] ? "-n NAME" : "-s VM_SIZE");
        goto out;
    }
    if ((rc = cli_check_name(ctx, "cluster", a.val[CC_NAME])) < 0)
        goto out;
    c->name = (char *)a.val[CC_NAME];
    if (a.val[CC_SIZE][0] == '\0') {
        rc = cli_fail(ctx, DR_EINVAL, "empty vm size");
        goto out;
    }
    c->vm_size = (char *)a.val[CC_SIZE];
    int64_t v = 0;
    if ((rc = s_opt_int(ctx, &a, CC_MIN, "--min-nodes", 0, INT32_MAX, &v)) < 0)
        goto out;
    c->min_nodes = (int32_t)v;
    v = c->max_nodes;
    if ((rc = s_opt_int(ctx, &a, CC_MAX, "--max-nodes", 0, INT32_MAX, &v)) < 0)
        goto out;
    c->max_nodes = (int32_t)v;
    v = c->idle_seconds_before_scaledown;
    if ((rc = s_opt_int(ctx, &a, CC_IDLE, "--idle-seconds-before-scaledown", 0,
                        INT32_MAX, &v)) < 0)
        goto out;
    c->idle_seconds_before_scaledown = (int32_t)v;
    if (c->min_nodes > c->max_nodes) {
        rc = cli_fail(ctx, DR_EINVAL,
                      "--min-nodes (%d) must not exceed --max-nodes (%d)",
                      c->min_nodes, c->max_nodes);
        goto out;
    }
    if (a.seen[CC_PRIO]) {
        const char *p = a.val[CC_PRIO];
        if (strcmp(p, "dedicated") != 0 && strcmp(p, "lowpriority") != 0) {
            rc = cli_fail(ctx, DR_EINVAL,
                          "invalid --vm-priority '%s' (dedicated or "
                          "lowpriority)",
                          p);
            goto out;
        }
        c->vm_priority = (char *)p;
    }
    if (a.seen[CC_LOC]) {
        if (a.val[CC_LOC][0] == '\0') {
            rc = cli_fail(ctx, DR_EINVAL, "empty --location");
            goto out;
        }
        c->location = (char *)a.val[CC_LOC];
    }
    if ((rc = s_parse_provider(ctx, &a, c)) < 0)
        goto out;
    if (a.seen[CC_IDENT]) {
        if (a.val[CC_IDENT][0] == '\0') {
            rc = cli_fail(ctx, DR_EINVAL, "empty --assign-identity");
            goto out;
        }
        c->identity = (char *)a.val[CC_IDENT];
    }
    rc = 0;
out:
    cli_args_free(&a);
    return rc;
}

enum { CU_NAME, CU_MIN, CU_MAX, CU_IDLE };

static const cli_opt_t s_update_opts[] = {
    [CU_NAME] = {"--name", "-n", 1, 0},
    [CU_MIN] = {"--min-nodes", NULL, 1, 0},
    [CU_MAX] = {"--max-nodes", NULL, 1, 0},
    [CU_IDLE] = {"--idle-seconds-before-scaledown", NULL, 1, 0},
    {NULL, NULL, 0, 0},
};

int cli_parse_cluster_update(cli_ctx_t *ctx, int argc, char **argv,
                             Drover__ClusterUpdate *u)
{
    drover__cluster_update__init(u);
    cli_args_t a;
    int rc = cli_opts_parse(ctx, s_update_opts, argc, argv, &a);
    if (rc < 0)
        goto out;
    if (a.npos > 0 || a.dashdash) {
        rc = cli_usage(ctx, "unexpected argument '%s'",
                       a.npos > 0 ? a.pos[0] : "--");
        goto out;
    }
    if (!a.seen[CU_NAME]) {
        rc = cli_usage(ctx, "missing required option -n NAME");
        goto out;
    }
    if (!a.seen[CU_MIN] && !a.seen[CU_MAX] && !a.seen[CU_IDLE]) {
        rc = cli_usage(ctx, "nothing to update: give --min-nodes, "
                            "--max-nodes or --idle-seconds-before-scaledown");
        goto out;
    }
    if ((rc = cli_check_name(ctx, "cluster", a.val[CU_NAME])) < 0)
        goto out;
    u->name = (char *)a.val[CU_NAME];
    int64_t v = 0;
    if (a.seen[CU_MIN]) {
        if ((rc = cli_parse_int(ctx, "--min-nodes", a.val[CU_MIN], 0, INT32_MAX,
                                &v)) < 0)
            goto out;
        u->min_nodes = (int32_t)v;
        u->set_mask |= 1;
    }
    if (a.seen[CU_MAX]) {
        if ((rc = cli_parse_int(ctx, "--max-nodes", a.val[CU_MAX], 0, INT32_MAX,
                                &v)) < 0)
            goto out;
        u->max_nodes = (int32_t)v;
        u->set_mask |= 2;
    }
    if (a.seen[CU_IDLE]) {
        if ((rc = cli_parse_int(ctx, "--idle-seconds-before-scaledown",
                                a.val[CU_IDLE], 0, INT32_MAX, &v)) < 0)
            goto out;
        u->idle_seconds_before_scaledown = (int32_t)v;
        u->set_mask |= 4;
    }
    if ((u->set_mask & 3) == 3 && u->min_nodes > u->max_nodes) {
        rc = cli_fail(ctx, DR_EINVAL,
                      "--min-nodes (%d) must not exceed --max-nodes (%d)",
                      u->min_nodes, u->max_nodes);
        goto out;
    }
    rc = 0;
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

enum { QS_FAMILY, QS_CORES, QS_PRIO };

static const cli_opt_t s_quota_opts[] = {
    [QS_FAMILY] = {"--family", NULL, 1, 0},
    [QS_CORES] = {"--cores", NULL, 1, 0},
    [QS_PRIO] = {"--vm-priority", NULL, 1, 0},
    {NULL, NULL, 0, 0},
};

int cli_parse_quota_set(cli_ctx_t *ctx, int argc, char **argv,
                        Drover__QuotaSet *q)
{
    drover__quota_set__init(q);
    q->vm_priority = (char *)"dedicated";
    cli_args_t a;
    int rc = cli_opts_parse(ctx, s_quota_opts, argc, argv, &a);
    if (rc < 0)
        goto out;
    if (a.npos > 0 || a.dashdash) {
        rc = cli_usage(ctx, "unexpected argument '%s'",
                       a.npos > 0 ? a.pos[0] : "--");
        goto out;
    }
    if (!a.seen[QS_FAMILY] || !a.seen[QS_CORES]) {
        rc = cli_usage(ctx, "missing required option %s",
                       !a.seen[QS_FAMILY] ? "--family FAMILY" : "--cores N");
        goto out;
    }
    if ((rc = cli_check_family(ctx, a.val[QS_FAMILY])) < 0)
        goto out;
    q->family = (char *)a.val[QS_FAMILY];
    int64_t v;
    if ((rc = cli_parse_int(ctx, "--cores", a.val[QS_CORES], 0,
                            CLI_QUOTA_CORES_MAX, &v)) < 0)
        goto out;
    q->cores = v;
    if (a.seen[QS_PRIO]) {
        const char *p = a.val[QS_PRIO];
        if (strcmp(p, "dedicated") != 0 && strcmp(p, "lowpriority") != 0) {
            rc = cli_fail(ctx, DR_EINVAL,
                          "invalid --vm-priority '%s' (dedicated or "
                          "lowpriority)",
                          p);
            goto out;
        }
        q->vm_priority = (char *)p;
    }
    rc = 0;
out:
    cli_args_free(&a);
    return rc;
}

enum { CE_NAME, CE_LIMIT };

static const cli_opt_t s_events_opts[] = {
    [CE_NAME] = {"--name", "-n", 1, 0},
    [CE_LIMIT] = {"--limit", NULL, 1, 0},
    {NULL, NULL, 0, 0},
};

int cli_parse_cluster_events(cli_ctx_t *ctx, int argc, char **argv,
                             Drover__ClusterEventsReq *e)
{
    drover__cluster_events_req__init(e);
    cli_args_t a;
    int rc = cli_opts_parse(ctx, s_events_opts, argc, argv, &a);
    if (rc < 0)
        goto out;
    if (a.npos > 0 || a.dashdash) {
        rc = cli_usage(ctx, "unexpected argument '%s'",
                       a.npos > 0 ? a.pos[0] : "--");
        goto out;
    }
    if (!a.seen[CE_NAME]) {
        rc = cli_usage(ctx, "missing required option -n NAME");
        goto out;
    }
    if ((rc = cli_check_name(ctx, "cluster", a.val[CE_NAME])) < 0)
        goto out;
    e->name = (char *)a.val[CE_NAME];
    int64_t v = 0;
    if ((rc = s_opt_int(ctx, &a, CE_LIMIT, "--limit", 1, CLI_EVENTS_MAX, &v)) <
        0)
        goto out;
    e->limit = (uint32_t)v; /* 0: the scheduler's default */
    rc = 0;
out:
    cli_args_free(&a);
    return rc;
}

int cli_parse_node_ref(cli_ctx_t *ctx, int argc, char **argv,
                       Drover__NodeRef *r)
{
    static const cli_opt_t none[] = {{NULL, NULL, 0, 0}};
    drover__node_ref__init(r);
    cli_args_t a;
    int rc = cli_opts_parse(ctx, none, argc, argv, &a);
    if (rc < 0)
        goto out;
    if (a.dashdash && a.nrest > 0) {
        rc = cli_usage(ctx, "unexpected argument '%s'", a.rest[0]);
        goto out;
    }
    if (a.npos == 0) {
        rc = cli_usage(ctx, "missing node NAME");
        goto out;
    }
    if (a.npos > 1) {
        rc = cli_usage(ctx, "unexpected argument '%s'", a.pos[1]);
        goto out;
    }
    if ((rc = cli_check_name(ctx, "node", a.pos[0])) < 0)
        goto out;
    r->name = a.pos[0];
out:
    cli_args_free(&a);
    return rc;
}
