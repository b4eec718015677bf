/* drover.c - main() of `drover`, the command-line client of the scheduler.
 *
 * Owns the command table and dispatch, in the manner of redis-cli and
 * Redis's lookupCommand: global options (--scheduler, -o) come first, then
 * "GROUP NAME" selects a row of the table and its handler parses the rest.
 * The global options are rows of the common option table (common/opts.h).
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

static int s_version(cli_ctx_t *ctx, int argc, char **argv);

static const cli_cmd_t s_commands[] = {
    {"cluster", "create", cli_cluster_create,
     "-f compute.yml | -n NAME -s VM_SIZE [--min-nodes N] [--max-nodes N] "
     "[--idle-seconds-before-scaledown S] [--vm-priority "
     "dedicated|lowpriority] [--location L] [--provider "
     "local|exec|http|docker] "
     "[--resume-program PATH --suspend-program PATH] [--provider-url URL] "
     "[--assign-identity '[system]'|ID]"},
    {"cluster", "identity", cli_cluster_identity,
     "assign -n NAME --identities '[system]'|ID"},
    {"cluster", "update", cli_cluster_update,
     "-n NAME [--min-nodes N] [--max-nodes N] "
     "[--idle-seconds-before-scaledown S]"},
    {"cluster", "show", cli_cluster_show, "-n NAME"},
    {"cluster", "list", cli_cluster_list, ""},
    {"cluster", "delete", cli_cluster_delete, "-n NAME"},
    {"cluster", "lock", cli_cluster_lock, "-n NAME"},
    {"cluster", "unlock", cli_cluster_unlock, "-n NAME"},
    {"cluster", "events", cli_cluster_events, "-n NAME [--limit N]"},
    {"cluster", "join-token", cli_cluster_join_token,
     "create -n CLUSTER [--ttl 24h] [--uses N] | list [-n CLUSTER] | "
     "revoke -n CLUSTER TOKEN"},
    {"job", "submit", cli_job_submit,
     "--cluster NAME [--name N] [--cpus C] [--memory 2G] [--gpus G] "
     "[--nodes N] [--procs-per-node P] [--distribution mpi|pytorch] "
     "[--priority P] "
     "[--max-retries R] [--dependency afterok:ID[:ID...],afterany:ID,"
     "afternotok:ID,singleton] "
     "[--time-limit 30m] "
     "[--image IMG] [--env K=V]... [--wait] -- COMMAND [ARG...]"},
    {"job", "create", cli_job_create,
     "-f job.yml [--cluster NAME] [--wait]  (an Azure ML v2 command job)"},
    {"job", "list", cli_job_list, "[--cluster NAME] [--state S]"},
    {"job", "show", cli_job_show, "ID"},
    {"job", "cancel", cli_job_cancel, "ID"},
    {"job", "logs", cli_job_logs, "ID [-f]"},
    {"node", "list", cli_node_list, "[--cluster NAME]"},
    {"node", "show", cli_node_show, "NAME"},
    {"node", "preempt", cli_node_preempt, "NAME"},
    {"node", "drain", cli_node_drain, "NAME"},
    {"node", "resume", cli_node_resume, "NAME"},
    {"quota", "set", cli_quota_set,
     "--family FAMILY --cores N [--vm-priority dedicated|lowpriority]"},
    {"quota", "list", cli_quota_list, ""},
    {"keys", "generate", cli_keys_generate, "[--name NAME] [--dir DIR]"},
    {"keys", "add-user", cli_keys_add_user,
     "NAME --role user|admin PUBKEYFILE"},
    {"keys", "add-agent", cli_keys_add_agent, "NAME PUBKEYFILE"},
    {"keys", "list", cli_keys_list, ""},
    {"keys", "revoke", cli_keys_revoke, "NAME"},
    {"keys", "token", cli_keys_token, "create NAME"},
    {"identity", "verify", cli_identity_verify, "TOKEN"},
    {"version", NULL, s_version, ""},
};

#define NCOMMANDS (sizeof s_commands / sizeof s_commands[0])

static const char s_global_usage[] =
    "usage: drover [--scheduler ENDPOINT] [--key FILE] [--scheduler-key "
    "FILE|Z85] [--insecure] [-o table|json] COMMAND [ARGS]";

static int s_version(cli_ctx_t *ctx, int argc, char **argv)
{
    int rc = cli_parse_none(ctx, argc, argv);
    if (rc < 0)
        return rc;
    dr_buf_t b = {0};
    if (ctx->out == CLI_OUT_JSON)
        cli_json_render(&b, cli_json_check(json_pack("{s:s, s:i}", "version",
                                                     DROVER_VERSION, "protocol",
                                                     DR_PROTO_VERSION)));
    else
        dr_buf_printf(&b, "drover %s (protocol %d)\n", DROVER_VERSION,
                      DR_PROTO_VERSION);
    rc = cli_emit(ctx, &b);
    dr_buf_free(&b);
    return rc;
}

static void s_print_usage(FILE *f, const cli_cmd_t *c)
{
    fprintf(f, "usage: drover %s%s%s%s%s\n", c->group, c->name ? " " : "",
            c->name ? c->name : "", *c->usage ? " " : "", c->usage);
}

static void s_help(FILE *f)
{
    fprintf(f, "%s\n\ncommands:\n", s_global_usage);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const cli_cmd_t *c = &s_commands[i];
        fprintf(f, "  %s%s%s%s%s\n", c->group, c->name ? " " : "",
                c->name ? c->name : "", *c->usage ? " " : "", c->usage);
    }
    fprintf(f,
            "\nenvironment: DROVER_SCHEDULER (default %s), "
            "DROVER_TIMEOUT_MS (default %d)\n",
            CLI_DEFAULT_ENDPOINT, CLI_DEFAULT_TIMEOUT_MS);
}

/* Finds the command named by argv[0] (and argv[1]); *used says how many
 * words it took.  NULL with a usage error in ctx when there is none. */
static const cli_cmd_t *s_lookup(cli_ctx_t *ctx, int argc, char **argv,
                                 int *used)
{
    const char *group = argv[0];
    const cli_cmd_t *one_word = NULL;
    int known_group = 0;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(s_commands[i].group, group) != 0)
            continue;
        known_group = 1;
        if (!s_commands[i].name)
            one_word = &s_commands[i];
    }
    if (one_word) {
        *used = 1;
        return one_word;
    }
    if (!known_group) {
        cli_usage(ctx, "unknown command '%s' (try 'drover help')", group);
        return NULL;
    }
    if (argc < 2 || argv[1][0] == '-') {
        dr_buf_t names = {0};
        for (size_t i = 0; i < NCOMMANDS; i++)
            if (strcmp(s_commands[i].group, group) == 0)
                dr_buf_printf(&names, "%s%s", names.len ? ", " : "",
                              s_commands[i].name);
        cli_usage(ctx, "missing subcommand for '%s' (%s)", group, names.data);
        dr_buf_free(&names);
        return NULL;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(s_commands[i].group, group) == 0 &&
            strcmp(s_commands[i].name, argv[1]) == 0) {
            *used = 2;
            return &s_commands[i];
        }
    cli_usage(ctx, "unknown command '%s %s' (try 'drover help')", group,
              argv[1]);
    return NULL;
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

enum { G_SCHED, G_KEY, G_SKEY, G_INSECURE, G_VERSION, G_OUTPUT, G_N };

#define G_AT(f) OPT_AT(cli_ctx_t, f)

static const opt_def_t s_global_opts[] = {
    [G_SCHED] = {"scheduler", 0, OPT_ARG, OPT_NONEMPTY, G_AT(endpoint)},
    [G_KEY] = {"key", 0, OPT_ARG, OPT_NONEMPTY, G_AT(key_file)},
    [G_SKEY] = {"scheduler-key", 0, OPT_ARG, OPT_NONEMPTY, G_AT(server_key)},
    [G_INSECURE] = {"insecure", 0, OPT_FLAG, 0, G_AT(insecure)},
    [G_VERSION] = {"version", 0, OPT_FLAG, 0, OPT_NONE},
    [G_OUTPUT] = {"output", 'o', OPT_ARG, 0, OPT_NONE},
};

/* Parses the global options, up to the command word; *first gets its
 * index (-1 for --version).  Returns 1 when help was printed and nothing
 * else is to be done.  Every error here is a usage error. */
static int s_globals(cli_ctx_t *ctx, int argc, char **argv, int *first,
                     int *have_sched)
{
    const opts_table_t t = {s_global_opts, G_N, OPTS_HELP | OPTS_STOP};
    opts_args_t a;
    char err[sizeof ctx->err];
    int rc = opts_parse_args(&t, argc - 1, argv + 1, ctx, &a, err, sizeof err);
    if (rc == 1)
        s_help(ctx->fout);
    else if (rc < 0)
        rc = cli_usage(ctx, "%s", err);
    else if (a.seen[G_OUTPUT])
        rc = cli_parse_output(ctx, a.val[G_OUTPUT]);
    *first = a.seen[G_VERSION] ? -1 : argc - a.nrest;
    *have_sched = a.seen[G_SCHED] > 0;
    opts_args_free(&a);
    return rc;
}

static int s_run(cli_ctx_t *ctx, int argc, char **argv)
{
    int first = 0, have_sched = 0;
    int rc = s_globals(ctx, argc, argv, &first, &have_sched);
    if (rc != 0)
        return rc;
    if (first < 0)
        return s_version(ctx, 0, NULL);
    if (!have_sched) {
        const char *ep = getenv("DROVER_SCHEDULER");
        if (ep && *ep)
            ctx->endpoint = ep;
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
    if (tmo && *tmo &&
        (rc = cli_parse_timeout_env(ctx, tmo, &ctx->timeout_ms)) < 0)
        return rc;
    if (first >= argc)
        return cli_usage(ctx, "missing command (try 'drover help')");
    if (strcmp(argv[first], "help") == 0) {
        s_help(ctx->fout);
        return 0;
    }
    int used = 0;
    const cli_cmd_t *cmd = s_lookup(ctx, argc - first, argv + first, &used);
    if (!cmd)
        return DR_EINVAL;
    ctx->cmd = cmd;
    int cargc = argc - first - used;
    char **cargv = argv + first + used;
    if (s_wants_help(cargc, cargv)) {
        s_print_usage(ctx->fout, cmd);
        return 0;
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
        if (ctx.usage) {
            if (ctx.cmd)
                s_print_usage(stderr, ctx.cmd);
            else
                fprintf(stderr, "%s\n", s_global_usage);
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
