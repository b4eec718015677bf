/* cli_submit.c - the line of `drover job submit` (cli_parse_submit): its
 * option rows (which also make its --help and completion), the shape of
 * the line (options, "--", the command) and the values no row checks (the
 * memory and time forms, the distribution's flags, an array spec, the
 * environment, the code folder and named outputs through cli_files.c).
 * Pure, as cli_parse.c: no sockets, no printing.
 */
#include "array_spec.h"
#include "cli.h"
#include "dr_err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    SUB_FOLLOW,
    SUB_GPUS,
    SUB_NODES,
    SUB_PPN,
    SUB_IMAGE,
    SUB_DIST,
    SUB_DEP,
    SUB_ARRAY,
    SUB_CODE,
    SUB_OUTPUT,
    SUB_WORKERS,
    SUB_PS,
    SUB_EACH,
    SUB_N
};

#define SJ(f) OPT_AT(cli_submit_t, job.f)

static const opt_def_t s_submit_opts[] = {
    [SUB_CLUSTER] = {"cluster", 'c', OPT_ARG, 0, SJ(cluster), NULL, 0, 0, NULL,
                     "NAME", "the cluster to run on (required)"},
    [SUB_NAME] = {"name", 'n', OPT_ARG, 0, SJ(name), NULL, 0, 0, NULL, "NAME",
                  "a name for the job"},
    [SUB_CPUS] = {"cpus", 0, OPT_INT, 0, SJ(cpus),
                  CLI_COUNT("1", 1, "N", "cpus per node")},
    [SUB_MEMORY] = {"memory", 0, OPT_ARG, 0, OPT_NONE, "512M", 0, 0, NULL,
                    "SIZE", "memory per node: 512M, 2G, 1T; bare = MiB"},
    [SUB_PRIORITY] = {"priority", 0, OPT_INT, 0, SJ(priority), "0", INT32_MIN,
                      INT32_MAX, NULL, "N", "higher runs first"},
    [SUB_RETRIES] = {"max-retries", 0, OPT_INT, 0, SJ(max_retries),
                     CLI_COUNT("3", 0, "N", "requeues after a lost node")},
    [SUB_TLIMIT] = {"time-limit", 0, OPT_ARG, 0, OPT_NONE, NULL, 0, 0, NULL,
                    "TIME",
                    "wall-clock limit per attempt: 90s, 30m, 1h30m, 2d, "
                    "MM:SS, HH:MM:SS, D-HH[:MM[:SS]] (default: none)"},
    [SUB_ENV] = {"env", 'e', OPT_ARG, OPT_MULTI, OPT_NONE, NULL, 0, 0, NULL,
                 "K=V", "an environment variable of the job; repeatable"},
    [SUB_WAIT] = {"wait", 'w', OPT_FLAG, 0, OPT_AT(cli_submit_t, wait), NULL, 0,
                  0, NULL, NULL,
                  "follow the job on stderr (state, wait reason) and exit "
                  "with its exit code"},
    [SUB_FOLLOW] = {"follow", 0, OPT_FLAG, 0, OPT_AT(cli_submit_t, follow),
                    NULL, 0, 0, NULL, NULL, CLI_FOLLOW_HELP},
    [SUB_GPUS] = {"gpus", 0, OPT_INT, 0, SJ(gpus),
                  CLI_COUNT("0", 0, "N", "GPUs per node")},
    [SUB_NODES] = {"nodes", 0, OPT_INT, 0, SJ(nodes),
                   CLI_COUNT("1", 1, "N", "nodes, placed all at once")},
    [SUB_PPN] = {"procs-per-node", 0, OPT_INT, 0, SJ(procs_per_node),
                 CLI_COUNT("1", 1, "N", "MPI ranks per node")},
    [SUB_IMAGE] = {"image", 0, OPT_ARG, 0, SJ(image), NULL, 0, 0, NULL, "IMG",
                   "run in a container of this image (default: a process)"},
    [SUB_DIST] = {"distribution", 0, OPT_ARG, 0, OPT_NONE, NULL, 0, 0, NULL,
                  "mpi|pytorch|tensorflow",
                  "mpi: one mpirun over the nodes, launched without SSH; "
                  "pytorch: each node starts its processes with RANK, "
                  "MASTER_ADDR, ...; tensorflow: --worker-count tasks "
                  "spread over the nodes, each with its TF_CONFIG"},
    [SUB_WORKERS] = {"worker-count", 0, OPT_INT, 0, SJ(worker_count), NULL, 1,
                     INT32_MAX, NULL, "N",
                     "tensorflow: workers in all, spread over the nodes "
                     "(default: one per node)"},
    [SUB_PS] = {"parameter-server-count", 0, OPT_INT, 0,
                SJ(parameter_server_count),
                CLI_COUNT("0", 0, "N",
                          "tensorflow: parameter servers (ps tasks)")},
    [SUB_DEP] = {"dependency", 'd', OPT_ARG, OPT_NONEMPTY, SJ(dependency), NULL,
                 0, 0, NULL, "SPEC",
                 "afterok:ID[:ID...],afterany:ID,afternotok:ID,singleton: "
                 "held until they hold (Slurm's)"},
    [SUB_CODE] = {"code", 0, OPT_ARG, OPT_NONEMPTY, OPT_NONE, NULL, 0, 0, NULL,
                  "DIR",
                  "a local folder sent with the job (a gzip tar of at most "
                  "the scheduler's --max-code-size, 4 MiB by default) and "
                  "unpacked as its working directory on each node"},
    [SUB_OUTPUT] = {"output-name", 0, OPT_ARG, OPT_MULTI, OPT_NONE, NULL, 0, 0,
                    NULL, "NAME",
                    "a named output: outputs/NAME is made in the working "
                    "directory (AZURE_ML_OUTPUT_NAME holds its path) and "
                    "collected when the job ends (drover job download); "
                    "repeatable"},
    [SUB_ARRAY] = {"array", 'a', OPT_ARG, OPT_NONEMPTY, SJ(array), NULL, 0, 0,
                   NULL, "SPEC",
                   "a job array, one job per index: 0-99, 0-99:4, 1,3,5-7; "
                   "%N: at most N at once (Slurm's); prints the array's id"},
    [SUB_EACH] = {"each-line", 0, OPT_ARG, OPT_NONEMPTY,
                  OPT_AT(cli_submit_t, each_line), NULL, 0, 0, NULL, "FILE",
                  "one job per line of FILE (- for stdin), each running the "
                  "line with sh -c and the other options; blank lines and "
                  "#-comments are skipped; sent in few round trips (each of "
                  "up to 10,000 jobs queued all or none); prints every id"},
};

const cli_optset_t cli_opts_submit = CLI_OPTSET(s_submit_opts);

void cli_submit_free(cli_submit_t *s)
{
    for (size_t i = 0; s->kv && i < s->job.n_env; i++) {
        free(s->kv[i].key);
        free(s->kv[i].value);
    }
    free(s->kv);
    free(s->kvp);
    free(s->job.argv);
    dr_buf_free(&s->code);
    free(s->outputs);
    s->outputs = NULL;
    s->job.n_outputs = 0;
    s->job.code.len = 0;
    s->job.code.data = NULL;
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
    if (a->seen[SUB_EACH]) {
        static const int alone[] = {SUB_ARRAY, SUB_CODE, SUB_DEP, SUB_WAIT,
                                    SUB_FOLLOW};
        if (a->dashdash)
            return cli_usage(ctx, "--each-line takes the commands from its "
                                  "file: nothing goes after '--'");
        for (size_t i = 0; i < sizeof alone / sizeof alone[0]; i++)
            if (a->seen[alone[i]])
                return cli_usage(ctx,
                                 "--%s is for one job at a time, not with "
                                 "--each-line",
                                 s_submit_opts[alone[i]].name);
    } else if (!a->dashdash) {
        return cli_usage(ctx, "missing '--' before the job's command");
    } else if (a->nrest == 0 || a->rest[0][0] == '\0') {
        return cli_usage(ctx, "missing the job's command after '--'");
    }
    if (a->seen[SUB_DIST] && strcmp(a->val[SUB_DIST], "mpi") != 0 &&
        strcmp(a->val[SUB_DIST], "pytorch") != 0 &&
        strcmp(a->val[SUB_DIST], "tensorflow") != 0)
        return cli_usage(ctx,
                         "--distribution '%s' is not known (mpi, pytorch or "
                         "tensorflow)",
                         a->val[SUB_DIST]);
    int tf = a->seen[SUB_DIST] && strcmp(a->val[SUB_DIST], "tensorflow") == 0;
    if (tf && a->seen[SUB_PPN])
        return cli_usage(ctx, "--procs-per-node is not for --distribution "
                              "tensorflow (its tasks are --worker-count and "
                              "--parameter-server-count)");
    if (!tf && (a->seen[SUB_WORKERS] || a->seen[SUB_PS]))
        return cli_usage(ctx, "--%s is for --distribution tensorflow",
                         a->seen[SUB_WORKERS] ? "worker-count"
                                              : "parameter-server-count");
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
    const char *mem = a->seen[SUB_MEMORY] ? a->val[SUB_MEMORY]
                                          : s_submit_opts[SUB_MEMORY].def;
    if ((rc = cli_parse_memory(ctx, mem, &j->memory_mb)) < 0)
        return rc;
    if (a->seen[SUB_TLIMIT]) {
        uint64_t ms = 0;
        if ((rc = cli_parse_time_limit(ctx, a->val[SUB_TLIMIT], &ms)) < 0)
            return rc;
        j->time_limit_ms = ms;
        j->time_limit_s = wire_limit_s(ms); /* for an older scheduler */
    }
    if (a->seen[SUB_DIST])
        j->distribution = (char *)a->val[SUB_DIST];
    if ((rc = cli_check_follow(ctx, s->follow, &s->wait)) < 0)
        return rc;
    if (a->seen[SUB_ARRAY]) {
        dr_array_t arr;
        char why[160];
        if (dr_array_parse(j->array, &arr, why, sizeof why) < 0)
            return cli_fail(ctx, DR_EINVAL, "%s", why);
        dr_array_free(&arr);
        if (s->wait)
            return cli_usage(ctx,
                             "--%s follows one job, not an array "
                             "(see drover job list)",
                             s->follow ? "follow" : "wait");
    }
    if ((rc = cli_submit_files(ctx, a->seen[SUB_CODE] ? a->val[SUB_CODE] : NULL,
                               a->list[SUB_OUTPUT], a->nlist[SUB_OUTPUT], s)) <
        0)
        return rc;
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
    cli_args_t a; /* the defaults come from the rows */
    int rc = cli_args_parse(ctx, s_submit_opts, SUB_N, s, argc, argv, &a);
    if (rc == 0 && (rc = s_submit_shape(ctx, &a)) == 0 &&
        (rc = s_submit_values(ctx, &a, s)) == 0 && a.nrest > 0) {
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
