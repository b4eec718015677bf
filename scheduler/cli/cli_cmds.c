/* cli_cmds.c - the command table of `drover`, its lookup, help and
 * completion.
 *
 * The table (Redis's command table) names each command once: its group and
 * verb, its handler, its usage line, a summary, and the option rows its
 * parser uses (cli_optset_t).  Everything a user reads about a command -
 * `drover help`, `drover GROUP --help`, `drover GROUP VERB --help`, the
 * bash completion (`drover __complete`) and "did you mean" - is made from
 * those rows, so it cannot drift from what the parser accepts.  Pure: it
 * renders into buffers and leaves errors in ctx; drover.c prints.
 */
#include "cli.h"
#include "dr_err.h"

#include <stdio.h>
#include <string.h>

static const cli_cmd_t s_commands[] = {
    {"cluster", "create", cli_cluster_create,
     "-f compute.yml | -n NAME -s VM_SIZE [--min-nodes N] [--max-nodes N] "
     "[--idle-seconds-before-scaledown S] [--vm-priority "
     "dedicated|lowpriority] [--location L] [--provider "
     "local|exec|http|docker] "
     "[--resume-program PATH --suspend-program PATH] [--provider-url URL] "
     "[--assign-identity '[system]'|ID]",
     "create an autoscaled cluster of one vm size", &cli_opts_cluster_create},
    {"cluster", "identity", cli_cluster_identity,
     "assign -n NAME ['[system]'|ID | --identities '[system]'|ID]",
     "give a cluster a managed identity (empty removes it)",
     &cli_opts_identity_assign},
    {"cluster", "update", cli_cluster_update,
     "-n NAME [--min-nodes N] [--max-nodes N] "
     "[--idle-seconds-before-scaledown S]",
     "change a cluster's bounds or its idle time", &cli_opts_cluster_update},
    {"cluster", "show", cli_cluster_show, "-n NAME",
     "a cluster: sizes, node counts, why work waits, errors",
     &cli_opts_cluster_name},
    {"cluster", "list", cli_cluster_list, "", "every cluster", NULL},
    {"cluster", "delete", cli_cluster_delete, "-n NAME", "delete a cluster",
     &cli_opts_cluster_name},
    {"cluster", "lock", cli_cluster_lock, "-n NAME",
     "refuse update and delete until unlocked", &cli_opts_cluster_name},
    {"cluster", "unlock", cli_cluster_unlock, "-n NAME", "undo lock",
     &cli_opts_cluster_name},
    {"cluster", "events", cli_cluster_events, "-n NAME [--limit N]",
     "a cluster's recent events", &cli_opts_cluster_events},
    {"cluster", "join-token", cli_cluster_join_token,
     "create -n CLUSTER [--ttl 24h] [--uses N] | list [-n CLUSTER] | "
     "revoke -n CLUSTER TOKEN",
     "the tokens with which nodes join a cluster (admin)",
     &cli_opts_join_token},
    {"job", "submit", cli_job_submit,
     "--cluster NAME [--name N] [--cpus C] [--memory 2G] [--gpus G] "
     "[--nodes N] [--procs-per-node P] [--distribution mpi|pytorch|tensorflow] "
     "[--worker-count W] [--parameter-server-count P] "
     "[--priority P] [--max-retries R] "
     "[--dependency afterok:ID[:ID...],afterany:ID,afternotok:ID,singleton] "
     "[--time-limit 30m] "
     "[--image IMG] [--env K=V]... [--array SPEC] [--wait] [--follow] "
     "{-- COMMAND [ARG...] | --each-line FILE}",
     "queue a job (or one a line of FILE); prints its id", &cli_opts_submit},
    {"job", "create", cli_job_create,
     "-f job.yml [--cluster NAME] [--wait] [--follow]",
     "queue a job from an Azure ML v2 command job file; prints its id",
     &cli_opts_job_create},
    {"job", "list", cli_job_list,
     "[--cluster NAME] [--state S] [--user U] [--since TIME] [--limit N]",
     "jobs, with their user and reason; optionally filtered",
     &cli_opts_job_list},
    {"job", "show", cli_job_show, "ID",
     "a job: state, wait reason, nodes, GPUs", NULL},
    {"job", "cancel", cli_job_cancel,
     "ID [ID...] | [--cluster C] [--state S] [--name N] [--user U]",
     "cancel jobs: by id, or every active job a filter matches (prints a "
     "count)",
     &cli_opts_job_cancel},
    {"job", "rerun", cli_job_rerun, "ID",
     "queue a new job with job ID's spec; prints its id", NULL},
    {"job", "logs", cli_job_logs, "ID [-f]", "a job's output",
     &cli_opts_job_logs},
    {"job", "download", cli_job_download,
     "ID [--output-name NAME] [--download-path DIR]",
     "fetch the outputs a job's nodes collected (outputs/ of its working "
     "directory) into DIR/named-outputs/",
     &cli_opts_job_download},
    {"node", "list", cli_node_list, "[--cluster NAME]",
     "nodes, optionally of one cluster", &cli_opts_node_list},
    {"node", "show", cli_node_show, "NAME", "a node and its GPUs", NULL},
    {"node", "preempt", cli_node_preempt, "NAME",
     "a preemption drill: act as if the VM got a Preempt event", NULL},
    {"node", "drain", cli_node_drain, "NAME",
     "no new tasks for the node; running ones finish", NULL},
    {"node", "resume", cli_node_resume, "NAME", "undo drain (admin)", NULL},
    {"quota", "set", cli_quota_set,
     "[--location L] --family FAMILY|--total --cores N|unlimited "
     "[--vm-priority dedicated|lowpriority]",
     "set a core limit per family or a location's total (admin)",
     &cli_opts_quota_set},
    {"quota", "list", cli_quota_list, "",
     "used and limit cores per family and location", NULL},
    {"keys", "generate", cli_keys_generate, "[--name NAME] [--dir DIR]",
     "make a CURVE key pair (local, no scheduler)", &cli_opts_keys_generate},
    {"keys", "add-user", cli_keys_add_user, "NAME --role user|admin PUBKEYFILE",
     "let a user's key in (admin)", &cli_opts_keys_add_user},
    {"keys", "add-agent", cli_keys_add_agent, "NAME PUBKEYFILE",
     "let an agent's key in, for that node name (admin)", NULL},
    {"keys", "list", cli_keys_list, "", "the keys the scheduler knows", NULL},
    {"keys", "revoke", cli_keys_revoke, "NAME", "refuse a key from now on",
     NULL},
    {"keys", "token", cli_keys_token, "create NAME",
     "an HTTP API token for a user, as the last word (admin)", NULL},
    {"identity", "verify", cli_identity_verify, "TOKEN",
     "check a managed-identity token and print its claims", NULL},
    {"usage", NULL, cli_usage_report,
     "[--since TIME] [--until TIME] [--by user|cluster|vm-size]",
     "accounting: jobs, CPU- and GPU-hours, waits, hours lost to "
     "preemption and failure",
     &cli_opts_usage},
    {"version", NULL, cli_version, "", "this client's version", NULL},
};

#define NCOMMANDS (sizeof s_commands / sizeof s_commands[0])

const cli_cmd_t *cli_commands(size_t *n)
{
    *n = NCOMMANDS;
    return s_commands;
}

int cli_version(cli_ctx_t *ctx, int argc, char **argv)
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

/* ---- nearest words ------------------------------------------------------ */

#define S_WORD_MAX 64

int cli_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n >= S_WORD_MAX || m >= S_WORD_MAX)
        return S_WORD_MAX;
    /* optimal string alignment: Levenshtein plus adjacent transpositions */
    int d[S_WORD_MAX + 1][S_WORD_MAX + 1];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

const char *cli_suggest(const char *word, const char *const *cands, size_t n)
{
    int limit = (int)strlen(word) / 3;
    if (limit < 2)
        limit = 2;
    const char *best = NULL;
    int best_d = limit + 1;
    for (size_t i = 0; i < n; i++) {
        if (!cands[i])
            continue;
        int d = cli_edit_distance(word, cands[i]);
        /* a prefix ("--max" of "--max-nodes") is as good as a typo */
        if (d > limit && strlen(word) >= 3 &&
            strncmp(word, cands[i], strlen(word)) == 0)
            d = limit;
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best;
}

const char *cli_suggest_option(const char *word, const opt_def_t *rows,
                               size_t n)
{
    const char *names[OPTS_MAX];
    size_t k = 0;
    for (size_t i = 0; i < n && k < OPTS_MAX; i++)
        names[k++] = rows[i].name;
    return cli_suggest(word, names, k);
}

void cli_hint_option(char *err, size_t len, const opt_def_t *rows, size_t n)
{
    static const char prefix[] = "unknown option '--";
    if (strncmp(err, prefix, sizeof prefix - 1) != 0)
        return;
    char word[S_WORD_MAX];
    const char *start = err + sizeof prefix - 1;
    const char *end = strchr(start, '\'');
    if (!end || (size_t)(end - start) >= sizeof word)
        return;
    memcpy(word, start, (size_t)(end - start));
    word[end - start] = '\0';
    const char *best = cli_suggest_option(word, rows, n);
    size_t used = strlen(err);
    if (best && used < len)
        snprintf(err + used, len - used, "; did you mean --%s?", best);
}

/* ---- lookup ------------------------------------------------------------- */

/* The distinct groups, in table order. */
static size_t s_groups(const char **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < NCOMMANDS && n < cap; i++) {
        size_t k = 0;
        while (k < n && strcmp(out[k], s_commands[i].group) != 0)
            k++;
        if (k == n)
            out[n++] = s_commands[i].group;
    }
    return n;
}

const cli_cmd_t *cli_lookup(cli_ctx_t *ctx, int argc, char **argv, int *used)
{
    const char *group = argv[0];
    const char *names[NCOMMANDS];
    size_t nnames = 0;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(s_commands[i].group, group) != 0)
            continue;
        if (!s_commands[i].name) {
            *used = 1;
            return &s_commands[i];
        }
        names[nnames++] = s_commands[i].name;
    }
    if (nnames == 0) {
        const char *groups[NCOMMANDS];
        const char *best =
            cli_suggest(group, groups, s_groups(groups, NCOMMANDS));
        if (best)
            cli_usage(ctx, "unknown command '%s'; did you mean '%s'?", group,
                      best);
        else
            cli_usage(ctx, "unknown command '%s' (try 'drover help')", group);
        return NULL;
    }
    if (argc < 2 || argv[1][0] == '-') {
        dr_buf_t b = {0};
        for (size_t i = 0; i < nnames; i++)
            dr_buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
        cli_usage(ctx,
                  "missing subcommand for '%s' (%s; try 'drover %s --help')",
                  group, b.data, group);
        dr_buf_free(&b);
        return NULL;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(s_commands[i].group, group) == 0 &&
            strcmp(s_commands[i].name, argv[1]) == 0) {
            *used = 2;
            return &s_commands[i];
        }
    const char *best = cli_suggest(argv[1], names, nnames);
    if (best)
        cli_usage(ctx, "unknown command '%s %s'; did you mean '%s %s'?", group,
                  argv[1], group, best);
    else
        cli_usage(ctx, "unknown command '%s %s' (try 'drover %s --help')",
                  group, argv[1], group);
    return NULL;
}

/* ---- help --------------------------------------------------------------- */

static void s_cmd_line(dr_buf_t *b, const cli_cmd_t *c)
{
    dr_buf_printf(b, "%s%s%s%s%s", c->group, c->name ? " " : "",
                  c->name ? c->name : "", *c->usage ? " " : "", c->usage);
}

void cli_render_usage(dr_buf_t *b, const cli_cmd_t *c)
{
    dr_buf_printf(b, "usage: drover ");
    s_cmd_line(b, c);
    dr_buf_printf(b, "\n");
}

/* -o / --output, which every command takes (cli_args_parse adds it). */
static const opt_def_t s_output_row[] = {
    {"output", 'o', OPT_ARG, 0, OPT_NONE, "table", 0, 0, NULL, "table|json",
     "output format"},
};

void cli_render_cmd_help(dr_buf_t *b, const cli_cmd_t *c)
{
    cli_render_usage(b, c);
    dr_buf_printf(b, "\n%s\n\noptions:\n", c->summary ? c->summary : "");
    if (c->opts) {
        const opts_table_t t = {c->opts->defs, c->opts->n, 0};
        opts_usage(&t, b);
    }
    const opts_table_t o = {s_output_row, 1, 0};
    opts_usage(&o, b);
    dr_buf_printf(b, "  %-40s %s\n", "-h, --help", "this help");
}

int cli_render_group_help(dr_buf_t *b, const char *group)
{
    int found = 0;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const cli_cmd_t *c = &s_commands[i];
        if (strcmp(c->group, group) != 0)
            continue;
        if (!found)
            dr_buf_printf(b,
                          "usage: drover %s COMMAND [OPTIONS]\n\n"
                          "commands:\n",
                          group);
        found = 1;
        char word[64];
        snprintf(word, sizeof word, "%s %s", group, c->name ? c->name : "");
        dr_buf_printf(b, "  %-20s %s\n", word, c->summary ? c->summary : "");
    }
    if (!found)
        return DR_ENOENT;
    dr_buf_printf(
        b, "\n'drover %s COMMAND --help' lists a command's options.\n", group);
    return 0;
}

void cli_render_help(dr_buf_t *b, const opts_table_t *globals)
{
    dr_buf_printf(b, "usage: drover [OPTIONS] COMMAND [ARGS]\n\noptions:\n");
    opts_usage(globals, b);
    dr_buf_printf(b, "\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        dr_buf_printf(b, "  ");
        s_cmd_line(b, &s_commands[i]);
        dr_buf_printf(b, "\n");
    }
    dr_buf_printf(b,
                  "\n'drover GROUP --help' and 'drover GROUP COMMAND --help' "
                  "say more.\n\nenvironment: DROVER_SCHEDULER (default %s), "
                  "DROVER_TIMEOUT_MS (default %d), DROVER_HOME, DROVER_KEY, "
                  "DROVER_SCHEDULER_KEY, DROVER_INSECURE\n",
                  CLI_DEFAULT_ENDPOINT, CLI_DEFAULT_TIMEOUT_MS);
}

/* ---- completion --------------------------------------------------------- */

static void s_complete_flags(dr_buf_t *b, const opt_def_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dr_buf_printf(b, "--%s\n", rows[i].name);
}

void cli_render_completion(dr_buf_t *b, const opts_table_t *globals, int argc,
                           char **argv)
{
    /* skip the global options (and the values of those that take one) */
    int i = 0;
    while (i < argc && argv[i][0] == '-') {
        const char *arg = argv[i++];
        const char *name = arg[1] == '-' ? arg + 2 : NULL;
        if (name && strchr(name, '='))
            continue;
        for (size_t k = 0; k < globals->n; k++) {
            const opt_def_t *o = &globals->defs[k];
            if (o->type != OPT_FLAG &&
                ((name && strcmp(o->name, name) == 0) ||
                 (!name && o->shortname == arg[1] && arg[2] == '\0'))) {
                i++; /* its value */
                break;
            }
        }
    }
    if (i > argc) /* the word is an option's value: nothing to offer */
        return;
    if (i >= argc) { /* the command word */
        const char *groups[NCOMMANDS];
        size_t n = s_groups(groups, NCOMMANDS);
        for (size_t k = 0; k < n; k++)
            dr_buf_printf(b, "%s\n", groups[k]);
        dr_buf_printf(b, "help\n");
        s_complete_flags(b, globals->defs, globals->n);
        return;
    }
    const char *group = argv[i];
    if (i + 1 >= argc) { /* the verb */
        for (size_t k = 0; k < NCOMMANDS; k++)
            if (strcmp(s_commands[k].group, group) == 0 && s_commands[k].name)
                dr_buf_printf(b, "%s\n", s_commands[k].name);
        return;
    }
    for (size_t k = 0; k < NCOMMANDS; k++) {
        const cli_cmd_t *c = &s_commands[k];
        if (strcmp(c->group, group) != 0 || !c->name ||
            strcmp(c->name, argv[i + 1]) != 0)
            continue;
        if (c->opts)
            s_complete_flags(b, c->opts->defs, c->opts->n);
        dr_buf_printf(b, "--output\n--help\n");
    }
}
