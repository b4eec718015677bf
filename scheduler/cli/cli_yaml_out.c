/* cli_yaml_out.c - `drover job show ID -o yaml`: a job written back as an
 * Azure ML v2 command job file, which `drover job create -f` (cli_yaml.c)
 * reads into the same request again.
 *
 * What is written: $schema, type, display_name (when the job's name is a
 * name: a file without one gets the command's first word), compute
 * (azureml:CLUSTER), command (a file's job runs `/bin/sh -c COMMAND`, so
 * that is given back as it was; any other argv is quoted for the shell),
 * environment.image, resources.instance_count, distribution with its
 * counts, environment_variables, tags (the DROVER_TAG_* variables that a
 * file's tags became) and limits.timeout.  What Azure ML's job file has no
 * key for (cpus, memory, GPUs, priority, retries, a dependency, processes
 * per node without a distribution) is listed in a comment, not carried:
 * give those with `drover job submit`.  The inputs and outputs of the
 * file the job came from are already part of its command; its named
 * outputs are listed again; its code is not given back (a comment says
 * so).
 *
 * Every string is written double-quoted with YAML's escapes, so that no
 * value (a newline, a quote, a '#', a leading '*') changes the file's
 * shape.  It only formats; it never talks to the scheduler.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_PREFIX "DROVER_TAG_"

/* s as a double-quoted YAML scalar. */
static void s_quoted(dr_buf_t *b, const char *s)
{
    dr_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;
         p++) {
        switch (*p) {
        case '"':
            dr_buf_append(b, "\\\"", 2);
            break;
        case '\\':
            dr_buf_append(b, "\\\\", 2);
            break;
        case '\n':
            dr_buf_append(b, "\\n", 2);
            break;
        case '\t':
            dr_buf_append(b, "\\t", 2);
            break;
        case '\r':
            dr_buf_append(b, "\\r", 2);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                dr_buf_printf(b, "\\x%02x", *p);
            else
                dr_buf_append(b, p, 1);
        }
    }
    dr_buf_append(b, "\"", 1);
}

/* The command a file gives: what /bin/sh -c runs, or the argv quoted. */
static void s_command(dr_buf_t *b, const Drover__Job *j)
{
    if (j->n_argv == 3 && strcmp(j->argv[0], "/bin/sh") == 0 &&
        strcmp(j->argv[1], "-c") == 0) {
        s_quoted(b, j->argv[2]);
        return;
    }
    dr_buf_t cmd = {0};
    cli_fmt_command(&cmd, j->argv, j->n_argv);
    dr_buf_append(&cmd, "", 1);
    s_quoted(b, cmd.data);
    dr_buf_free(&cmd);
}

static int s_is_tag(const Drover__KeyValue *kv)
{
    return strncmp(kv->key, TAG_PREFIX, sizeof TAG_PREFIX - 1) == 0 &&
           kv->key[sizeof TAG_PREFIX - 1] != '\0';
}

/* environment_variables, then tags (the order cli_yaml.c makes them in). */
static void s_env(dr_buf_t *b, const Drover__Job *j)
{
    for (int pass = 0; pass < 2; pass++) {
        int first = 1;
        for (size_t i = 0; i < j->n_env; i++) {
            const Drover__KeyValue *kv = j->env[i];
            if (!kv || !kv->key || s_is_tag(kv) != pass)
                continue;
            if (first)
                dr_buf_printf(b, "%s:\n",
                              pass ? "tags" : "environment_variables");
            first = 0;
            if (pass) {
                /* the tag's key as a file gives it (DROVER_TAG_TEAM from
                 * team: the name is made upper case again on the way in) */
                dr_buf_append(b, "  ", 2);
                for (const char *c = kv->key + sizeof TAG_PREFIX - 1; *c; c++) {
                    char l = *c >= 'A' && *c <= 'Z' ? (char)(*c + 32) : *c;
                    dr_buf_append(b, &l, 1);
                }
            } else {
                dr_buf_printf(b, "  %s", kv->key);
            }
            dr_buf_append(b, ": ", 2);
            s_quoted(b, kv->value);
            dr_buf_append(b, "\n", 1);
        }
    }
}

/* What has no key in Azure ML's job file, when it is not the default a
 * file gets. */
static void s_not_carried(dr_buf_t *b, const Drover__Job *j)
{
    dr_buf_t l = {0};
    if (j->cpus > 1)
        dr_buf_printf(&l, " cpus %u,", j->cpus);
    if (j->memory_mb && j->memory_mb != 512)
        dr_buf_printf(&l, " memory %llu MB,", (unsigned long long)j->memory_mb);
    if (j->gpus)
        dr_buf_printf(&l, " gpus %u,", j->gpus);
    if (j->priority)
        dr_buf_printf(&l, " priority %d,", j->priority);
    if (j->max_retries)
        dr_buf_printf(&l, " max_retries %u,", j->max_retries);
    if (j->dependency && *j->dependency)
        dr_buf_printf(&l, " dependency %s,", j->dependency);
    if ((!j->distribution || !*j->distribution) && j->procs_per_node > 1)
        dr_buf_printf(&l, " procs_per_node %u,", j->procs_per_node);
    if (l.len) {
        l.data[l.len - 1] = '\0';
        dr_buf_printf(b,
                      "# not carried (Azure ML's job file has no key for "
                      "them; give them to `drover job submit`):%s\n",
                      l.data);
    }
    dr_buf_free(&l);
}

void cli_yaml_out_job(dr_buf_t *b, const Drover__Job *j)
{
    dr_buf_printf(b,
                  "# drover job %llu as an Azure ML command job: `drover "
                  "job create -f FILE` submits it again\n",
                  (unsigned long long)j->id);
    s_not_carried(b, j);
    dr_buf_printf(b, "$schema: https://azuremlschemas.azureedge.net/latest/"
                     "commandJob.schema.json\ntype: command\n");
    if (j->name && dr_valid_name(j->name)) {
        dr_buf_printf(b, "display_name: ");
        s_quoted(b, j->name);
        dr_buf_append(b, "\n", 1);
    }
    dr_buf_printf(b, "compute: ");
    char *compute = dr_asprintf("azureml:%s", j->cluster ? j->cluster : "");
    s_quoted(b, compute);
    free(compute);
    dr_buf_printf(b, "\ncommand: ");
    s_command(b, j);
    dr_buf_append(b, "\n", 1);
    if (j->image && *j->image) {
        dr_buf_printf(b, "environment:\n  image: ");
        s_quoted(b, j->image);
        dr_buf_append(b, "\n", 1);
    }
    dr_buf_printf(b, "resources:\n  instance_count: %u\n",
                  j->nodes ? j->nodes : 1);
    const char *d = j->distribution ? j->distribution : "";
    if (strcmp(d, "tensorflow") == 0) {
        dr_buf_printf(b, "distribution:\n  type: tensorflow\n");
        if (j->worker_count)
            dr_buf_printf(b, "  worker_count: %u\n", j->worker_count);
        if (j->parameter_server_count)
            dr_buf_printf(b, "  parameter_server_count: %u\n",
                          j->parameter_server_count);
    } else if (*d) {
        dr_buf_printf(b,
                      "distribution:\n  type: %s\n  "
                      "process_count_per_instance: %u\n",
                      strcmp(d, "mpi") == 0 ? "mpi" : "pytorch",
                      j->procs_per_node ? j->procs_per_node : 1);
    }
    s_env(b, j);
    if (j->time_limit_s) /* Azure ML's: whole seconds (rounded up) */
        dr_buf_printf(b, "limits:\n  timeout: %u\n", j->time_limit_s);
    if (j->n_outputs)
        dr_buf_printf(b, "outputs:\n");
    for (size_t i = 0; i < j->n_outputs; i++)
        if (dr_valid_name(j->outputs[i]))
            dr_buf_printf(b, "  %s:\n    type: uri_folder\n", j->outputs[i]);
    if (j->code_size)
        dr_buf_printf(b,
                      "# this job was sent with %llu bytes of code and "
                      "inputs, which the scheduler does not give back: add "
                      "code: FOLDER (and the inputs) to send them again\n",
                      (unsigned long long)j->code_size);
}
