/* drover.c - main() of `drover`, the command-line client of the scheduler.
 *
 * Owns the command table and dispatch, in the manner of redis-cli and
 * Redis's lookupCommand: global options (--scheduler, -o) come first, then
 * "GROUP NAME" selects a row of the table and its handler parses the rest.
 * The global options are rows of the common option table (common/opts.h).
 * The command table, help and completion are in cli_cmds.c.
 * main() owns the one cli_ctx_t and is the only place that prints errors
 * and chooses the exit status: 0 success, 1 error, 2 usage error, or what
 * a handler put in ctx.exit_code (`job submit --wait`).  Errors print one
 * line "drover: error: MESSAGE" on stderr (usage errors add a usage line).
 */
#include "cli.h"
#include "dr_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void s_print_usage(FILE *f, const cli_cmd_t *c)
{
    dr_buf_t b = {0};
    cli_render_usage(&b, c);
    fputs(b.data, f);
    dr_buf_free(&b);
}

/* True when -h/--help appears among the command's options. */
static int s_wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

enum {
    G_SCHED,
    G_KEY,
    G_SKEY,
    G_INSECURE,
    G_TIMEOUT,
    G_VERSION,
    G_OUTPUT,
    G_N
};

#define G_AT(f) OPT_AT(cli_ctx_t, f)

static const opt_def_t s_global_opts[] = {
    [G_SCHED] = {"scheduler", 0, OPT_ARG, OPT_NONEMPTY, G_AT(endpoint), NULL, 0,
                 0, NULL, "ENDPOINT",
                 "the scheduler's client endpoint (default: "
                 "$DROVER_SCHEDULER, else " CLI_DEFAULT_ENDPOINT ")"},
    [G_KEY] = {"key", 0, OPT_ARG, OPT_NONEMPTY, G_AT(key_file), NULL, 0, 0,
               NULL, "FILE",
               "this client's key pair (default: $DROVER_KEY, else "
               "$DROVER_HOME/admin.key)"},
    [G_SKEY] = {"scheduler-key", 0, OPT_ARG, OPT_NONEMPTY, G_AT(server_key),
                NULL, 0, 0, NULL, "FILE|Z85",
                "the scheduler's public key (default: $DROVER_SCHEDULER_KEY, "
                "else $DROVER_HOME/scheduler.pub)"},
    [G_INSECURE] = {"insecure", 0, OPT_FLAG, 0, G_AT(insecure), NULL, 0, 0,
                    NULL, NULL,
                    "no CURVE (a scheduler started with --insecure)"},
    [G_TIMEOUT] = {"timeout", 0, OPT_DURATION, 0, G_AT(timeout_ms), NULL, 1,
                   CLI_TIMEOUT_MAX_MS, NULL, "DURATION",
                   "how long to wait for each answer: 500ms, 10s, 2m "
                   "(default: $DROVER_TIMEOUT_MS ms, else 10s)"},
    [G_VERSION] = {"version", 0, OPT_FLAG, 0, OPT_NONE, NULL, 0, 0, NULL, NULL,
                   "print the version and exit"},
    [G_OUTPUT] = {"output", 'o', OPT_ARG, 0, OPT_NONE, NULL, 0, 0, NULL,
                  "table|json|yaml",
                  "output format (default: table; yaml: job show's job "
                  "file)"},
};

static const opts_table_t s_globals_table = {s_global_opts, G_N,
                                             OPTS_HELP | OPTS_STOP};

/* Prints the program's help on f. */
static void s_help(FILE *f)
{
    dr_buf_t b = {0};
    cli_render_help(&b, &s_globals_table);
    fputs(b.data, f);
    dr_buf_free(&b);
}

/* Parses the global options, up to the command word; *first gets its
 * index (-1 for --version).  Returns 1 when help was printed and nothing
 * else is to be done.  Every error here is a usage error. */
static int s_globals(cli_ctx_t *ctx, int argc, char **argv, int *first,
                     int *seen)
{
    opts_args_t a;
    char err[sizeof ctx->err];
    int rc = opts_parse_args(&s_globals_table, argc - 1, argv + 1, ctx, &a, err,
                             sizeof err);
    if (rc < 0 && a.usage)
        cli_hint_option(err, sizeof err, s_global_opts, G_N);
    if (rc == 1)
        s_help(ctx->fout);
    else if (rc < 0)
        rc = a.usage ? cli_usage(ctx, "%s", err) : cli_fail(ctx, rc, "%s", err);
    else if (a.seen[G_OUTPUT])
        rc = cli_parse_output(ctx, a.val[G_OUTPUT]);
    for (int k = 0; rc == 0 && k < G_N; k++)
        if (a.seen[k] > 1)
            rc =
                cli_usage(ctx, "option --%s given %d times: it takes one value",
                          s_global_opts[k].name, a.seen[k]);
    *first = a.seen[G_VERSION] ? -1 : argc - a.nrest;
    for (int k = 0; k < G_N; k++)
        seen[k] = a.seen[k];
    opts_args_free(&a);
    return rc;
}

/* `drover GROUP` alone (usage error: help on stderr) or `drover GROUP
 * --help` (help on stdout); 1 when it was one of them. */
static int s_group_help(cli_ctx_t *ctx, int argc, char **argv, int *rc)
{
    int help = argc == 2 &&
               (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    if (argc != 1 && !help)
        return 0;
    size_t n = 0;
    const cli_cmd_t *cmds = cli_commands(&n);
    for (size_t i = 0; i < n; i++)
        if (!cmds[i].name && strcmp(cmds[i].group, argv[0]) == 0)
            return 0; /* a one-word command: its own help */
    dr_buf_t b = {0};
    int found = cli_render_group_help(&b, argv[0]) == 0;
    if (found) {
        fputs(b.data, help ? ctx->fout : ctx->ferr);
        if (help) {
            *rc = 1;
        } else {
            *rc = cli_usage(ctx, "missing subcommand for '%s'", argv[0]);
            ctx->usage = 2; /* the group's help was the usage text */
        }
    }
    dr_buf_free(&b);
    return found;
}

/* `drover help [GROUP [COMMAND]]`. */
static int s_help_cmd(cli_ctx_t *ctx, int argc, char **argv)
{
    if (argc == 0) {
        s_help(ctx->fout);
        return 0;
    }
    int rc = 0;
    if (argc == 1 && s_group_help(ctx, 2, (char *[]){argv[0], "--help"}, &rc))
        return rc;
    int used = 0;
    const cli_cmd_t *cmd = cli_lookup(ctx, argc, argv, &used);
    if (!cmd)
        return DR_EINVAL;
    if (used < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[used]);
    dr_buf_t b = {0};
    cli_render_cmd_help(&b, cmd);
    rc = cli_emit(ctx, &b);
    dr_buf_free(&b);
    return rc;
}

static int s_run(cli_ctx_t *ctx, int argc, char **argv)
{
    int first = 0, seen[G_N] = {0};
    int rc = s_globals(ctx, argc, argv, &first, seen);
    if (rc != 0)
        return rc;
    if (first < 0)
        return cli_version(ctx, 0, NULL);
    if (!seen[G_SCHED]) {
        const char *ep = getenv("DROVER_SCHEDULER");
        if (ep && *ep)
            ctx->endpoint = ep;
        else if (access(CLI_LOCAL_SOCKET, W_OK) == 0)
            ctx->endpoint = "ipc://" CLI_LOCAL_SOCKET;
    }
    const char *env_key = getenv("DROVER_KEY");
    if (!ctx->key_file && env_key && *env_key)
        ctx->key_file = env_key;
    const char *env_skey = getenv("DROVER_SCHEDULER_KEY");
    if (!ctx->server_key && env_skey && *env_skey)
        ctx->server_key = env_skey;
    const char *home = getenv("DROVER_HOME");
    if (home && *home)
        ctx->home = home;
    else if (access("/var/lib/drover/keys/admin.key", R_OK) == 0)
        ctx->home = "/var/lib/drover/keys";
    const char *tmo = getenv("DROVER_TIMEOUT_MS");
    if (!seen[G_TIMEOUT] && tmo && *tmo &&
        (rc = cli_parse_timeout_env(ctx, tmo, &ctx->timeout_ms)) < 0)
        return rc;
    if (first >= argc)
        return cli_usage(ctx, "missing command (try 'drover help')");
    if (strcmp(argv[first], "help") == 0)
        return s_help_cmd(ctx, argc - first - 1, argv + first + 1);
    if (strcmp(argv[first], "__complete") == 0) {
        dr_buf_t b = {0};
        cli_render_completion(&b, &s_globals_table, argc - first - 1,
                              argv + first + 1);
        rc = cli_emit(ctx, &b);
        dr_buf_free(&b);
        return rc;
    }
    if (s_group_help(ctx, argc - first, argv + first, &rc))
        return rc;
    int used = 0;
    const cli_cmd_t *cmd = cli_lookup(ctx, argc - first, argv + first, &used);
    if (!cmd)
        return DR_EINVAL;
    ctx->cmd = cmd;
    if ((rc = cli_check_output(ctx)) < 0)
        return rc;
    int cargc = argc - first - used;
    char **cargv = argv + first + used;
    if (s_wants_help(cargc, cargv)) {
        dr_buf_t b = {0};
        cli_render_cmd_help(&b, cmd);
        rc = cli_emit(ctx, &b);
        dr_buf_free(&b);
        return rc;
    }
    return cmd->handler(ctx, cargc, cargv);
}

int main(int argc, char **argv)
{
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    int rc = s_run(&ctx, argc, argv);
    cli_disconnect(&ctx);
    if (rc > 0) /* help printed */
        rc = 0;
    if (rc < 0) {
        fprintf(stderr, "drover: error: %s\n",
                ctx.err[0] ? ctx.err : dr_strerror(rc));
        if (ctx.usage == 2) /* the group's help was printed */
            return 2;
        if (ctx.usage) {
            if (ctx.cmd)
                s_print_usage(stderr, ctx.cmd);
            else
                fprintf(stderr, "usage: drover [OPTIONS] COMMAND [ARGS] "
                                "(try 'drover help')\n");
            return 2;
        }
        return 1;
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "drover: error: cannot write output\n");
        return 1;
    }
    return ctx.exit_code;
}
