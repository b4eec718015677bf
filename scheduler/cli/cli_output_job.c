/* cli_output_job.c - how the drover CLI shows jobs: the job view's JSON
 * fields, its table columns (the exit status or signal, the age, the
 * reason, an array folded into one row) and its "key: value" form, as
 * cli_output.c shows the other messages. */
#include "cli_output_int.h"
#include "dr_err.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ITEMS(s_job_items, job_list_reply, jobs, n_jobs)
ONE(s_job_one, job_info)

static const cli_field_t s_kv_fields[] = {
    FLD("key", CLI_F_STR, Drover__KeyValue, key),
    FLD("value", CLI_F_STR, Drover__KeyValue, value),
};

static const cli_view_t s_kv_view = {
    .fields = s_kv_fields,
    .nfields = NROWS(s_kv_fields),
};

static const cli_field_t s_job_fields[] = {
    FLD("id", CLI_F_U64, Drover__Job, id),
    FLD("name", CLI_F_STR, Drover__Job, name),
    FLD("cluster", CLI_F_STR, Drover__Job, cluster),
    FLD("owner", CLI_F_STR, Drover__Job, owner),
    FLD("state", CLI_F_STR, Drover__Job, state),
    FLD("exit_code", CLI_F_I32, Drover__Job, exit_code),
    FLD("attempts", CLI_F_U32, Drover__Job, attempts),
    REP("nodes", CLI_F_STRS, Drover__Job, node_names),
    FLD("reason", CLI_F_STR, Drover__Job, reason),
    FLD("cpus", CLI_F_U32, Drover__Job, cpus),
    FLD("memory_mb", CLI_F_U64, Drover__Job, memory_mb),
    FLD("node_count", CLI_F_U32, Drover__Job, nodes),
    FLD("procs_per_node", CLI_F_U32, Drover__Job, procs_per_node),
    FLD("distribution", CLI_F_STR, Drover__Job, distribution),
    FLD("worker_count", CLI_F_U32, Drover__Job, worker_count),
    FLD("parameter_server_count", CLI_F_U32, Drover__Job,
        parameter_server_count),
    FLD("head_node", CLI_F_STR, Drover__Job, head_node),
    FLD("gpus", CLI_F_U32, Drover__Job, gpus),
    FLD("priority", CLI_F_I32, Drover__Job, priority),
    FLD("max_retries", CLI_F_U32, Drover__Job, max_retries),
    FLD("time_limit_s", CLI_F_U32, Drover__Job, time_limit_s),
    FLD("time_limit_ms", CLI_F_U64, Drover__Job, time_limit_ms),
    FLD("image", CLI_F_STR, Drover__Job, image),
    REP("command", CLI_F_STRS, Drover__Job, argv),
    {"env", CLI_F_OBJS, offsetof(Drover__Job, env),
     offsetof(Drover__Job, n_env), &s_kv_view},
    FLD("submitted_at", CLI_F_I64, Drover__Job, submitted_at_ms),
    FLD("started_at", CLI_F_I64, Drover__Job, started_at_ms),
    FLD("ended_at", CLI_F_I64, Drover__Job, ended_at_ms),
    REP("gpu_indices", CLI_F_U32S, Drover__Job, gpu_indices),
    REP("gpu_uuids", CLI_F_STRS, Drover__Job, gpu_uuids),
    FLD("preemptions", CLI_F_U32, Drover__Job, preemptions),
    FLD("predicted_start", CLI_F_TIMEN, Drover__Job, predicted_start_ms),
    FLD("array_job_id", CLI_F_U64, Drover__Job, array_job_id),
    FLD("array_task_id", CLI_F_U32, Drover__Job, array_task_id),
    FLD("array_task_count", CLI_F_U32, Drover__Job, array_task_count),
    FLD("code_size", CLI_F_U64, Drover__Job, code_size),
    REP("outputs", CLI_F_STRS, Drover__Job, outputs),
};

/* The exit code of a job that ended by itself; "-" otherwise. */
static void s_job_exit(dr_buf_t *b, const Drover__Job *j)
{
    if (cli_out_job_finished(j->state) && strcmp(j->state, "canceled") != 0)
        dr_buf_printf(b, "%d", j->exit_code);
    else
        dr_buf_printf(b, "-");
}

static void s_job_exit_cell(dr_buf_t *b, const void *msg, int64_t now_ms)
{
    (void)now_ms;
    s_job_exit(b, msg);
}

static void s_job_age_cell(dr_buf_t *b, const void *msg, int64_t now_ms)
{
    char age[16];
    cli_fmt_age(age, sizeof age, now_ms,
                ((const Drover__Job *)msg)->submitted_at_ms);
    dr_buf_printf(b, "%s", age);
}

/* Why a job waits or how it failed, cut to one short cell (job show has
 * all of it); "-" for a job that succeeded or runs. */
static void s_job_reason_cell(dr_buf_t *b, const void *msg, int64_t now_ms)
{
    const Drover__Job *j = msg;
    (void)now_ms;
    const char *r = j->reason && *j->reason ? j->reason : "-";
    size_t n = strlen(r);
    if (n <= 48)
        dr_buf_printf(b, "%s", r);
    else
        dr_buf_printf(b, "%.45s...", r);
}

/* A job's id; an array element's "12_7 (19)" (array 12, index 7, job
 * 19); a folded array's "12_[0-99]" (cli_job_fold). */
static void s_job_id_cell(dr_buf_t *b, const void *msg, int64_t now_ms)
{
    const Drover__Job *j = msg;
    (void)now_ms;
    if (j->array_task_count && !j->array_job_id)
        dr_buf_printf(b, "%" PRIu64 "_[%u-%u]", j->id, j->array_task_min,
                      j->array_task_max);
    else if (j->array_job_id)
        dr_buf_printf(b, "%" PRIu64 "_%u (%" PRIu64 ")", j->array_job_id,
                      j->array_task_id, j->id);
    else
        dr_buf_printf(b, "%" PRIu64, j->id);
}

static const cli_col_t s_job_cols[] = {
    COLF("ID", s_job_id_cell),
    COL("NAME", CLI_F_STR, Drover__Job, name),
    COL("USER", CLI_F_STR, Drover__Job, owner),
    COL("CLUSTER", CLI_F_STR, Drover__Job, cluster),
    COL("STATE", CLI_F_STR, Drover__Job, state),
    COLF("EXIT", s_job_exit_cell),
    COL("ATTEMPTS", CLI_F_U32, Drover__Job, attempts),
    COLN("NODES", Drover__Job, node_names),
    COLF("AGE", s_job_age_cell),
    COLF("REASON", s_job_reason_cell),
};

/* "Predicted start: 2026-...Z (in 5m)", or "unknown" when no time limit
 * bounds the wait. */
static void s_job_predicted(dr_buf_t *b, const Drover__Job *j)
{
    if (!j->predicted_start_ms) {
        dr_buf_printf(b, "Predicted start: unknown\n");
        return;
    }
    char when[64];
    cli_fmt_time(when, sizeof when, j->predicted_start_ms);
    int64_t left = (j->predicted_start_ms - dr_now_ms()) / 1000;
    if (left <= 0)
        dr_buf_printf(b, "Predicted start: %s (now)\n", when);
    else if (left < 3600)
        dr_buf_printf(b, "Predicted start: %s (in %lldm%02llds)\n", when,
                      (long long)(left / 60), (long long)(left % 60));
    else
        dr_buf_printf(b, "Predicted start: %s (in %lldh%02lldm)\n", when,
                      (long long)(left / 3600), (long long)(left / 60 % 60));
}

void cli_render_job_show(dr_buf_t *b, const Drover__Job *j)
{
    char t1[64], t2[64], t3[64];
    dr_buf_t tmp = {0};
    dr_buf_printf(b, "id: %" PRIu64 "\n", j->id);
    if (j->array_job_id)
        dr_buf_printf(b, "array: %" PRIu64 "_%u (one of %u: %u-%u)\n",
                      j->array_job_id, j->array_task_id, j->array_task_count,
                      j->array_task_min, j->array_task_max);
    dr_buf_printf(b, "name: %s\n", cli_out_or_dash(j->name));
    dr_buf_printf(b, "cluster: %s\n", cli_out_or_dash(j->cluster));
    dr_buf_printf(b, "state: %s\n", cli_out_or_dash(j->state));
    dr_buf_printf(b, "exit_code: ");
    s_job_exit(b, j);
    dr_buf_printf(b, "\n");
    dr_buf_printf(b, "reason: %s\n", cli_out_or_dash(j->reason));
    if (j->state && strcmp(j->state, "queued") == 0)
        s_job_predicted(b, j);
    dr_buf_printf(b, "attempts: %u\n", j->attempts);
    cli_out_join(&tmp, j->node_names, j->n_node_names);
    dr_buf_printf(b, "nodes: %s\n", cli_out_or_dash(tmp.data));
    if (j->head_node && *j->head_node)
        dr_buf_printf(b, "head_node: %s\n", j->head_node);
    tmp.len = 0;
    cli_fmt_command(&tmp, j->argv, j->n_argv);
    dr_buf_printf(b, "command: %s\n", tmp.data);
    dr_buf_free(&tmp);
    dr_buf_printf(b, "image: %s\n", cli_out_or_dash(j->image));
    dr_buf_printf(b, "cpus: %u\n", j->cpus);
    dr_buf_printf(b, "memory_mb: %" PRIu64 "\n", j->memory_mb);
    dr_buf_printf(b, "gpus: %u", j->gpus);
    for (size_t i = 0; i < j->n_gpu_indices; i++) {
        const char *uuid =
            i < j->n_gpu_uuids && j->gpu_uuids[i] && *j->gpu_uuids[i]
                ? j->gpu_uuids[i]
                : NULL;
        dr_buf_printf(b, "%s%u%s%s", i ? ", " : " (", j->gpu_indices[i],
                      uuid ? "=" : "", uuid ? uuid : "");
    }
    dr_buf_printf(b, "%s\n", j->n_gpu_indices ? ")" : "");
    dr_buf_printf(b, "node_count: %u\n", j->nodes);
    dr_buf_printf(b, "procs_per_node: %u\n", j->procs_per_node);
    dr_buf_printf(b, "distribution: %s\n", cli_out_or_dash(j->distribution));
    if (j->distribution && strcmp(j->distribution, "tensorflow") == 0)
        dr_buf_printf(b, "worker_count: %u\nparameter_server_count: %u\n",
                      j->worker_count, j->parameter_server_count);
    dr_buf_printf(b, "priority: %d\n", j->priority);
    dr_buf_printf(b, "max_retries: %u\n", j->max_retries);
    dr_buf_printf(b, "preemptions: %u\n", j->preemptions);
    if (j->time_limit_s)
        dr_buf_printf(b, "time_limit_s: %u\n", j->time_limit_s);
    else
        dr_buf_printf(b, "time_limit_s: none\n");
    /* a limit that is no whole number of seconds (issue 17): the seconds
     * above are rounded up, this is the limit */
    if (j->time_limit_ms % 1000)
        dr_buf_printf(b, "time_limit_ms: %llu\n",
                      (unsigned long long)j->time_limit_ms);
    for (size_t i = 0; i < j->n_env; i++)
        dr_buf_printf(b, "env: %s=%s\n", j->env[i]->key, j->env[i]->value);
    cli_fmt_time(t1, sizeof t1, j->submitted_at_ms);
    cli_fmt_time(t2, sizeof t2, j->started_at_ms);
    cli_fmt_time(t3, sizeof t3, j->ended_at_ms);
    dr_buf_printf(b, "submitted: %s\n", t1);
    dr_buf_printf(b, "started: %s\n", t2);
    dr_buf_printf(b, "ended: %s\n", t3);
}

static void s_job_show(dr_buf_t *b, const void *msg)
{
    cli_render_job_show(b, msg);
}

const cli_view_t cli_job_view = {
    .fields = s_job_fields,
    .nfields = NROWS(s_job_fields),
    .cols = s_job_cols,
    .ncols = NROWS(s_job_cols),
    .show = s_job_show,
    .list_body = DROVER__ENVELOPE__BODY_JOB_LIST_REPLY,
    .items = s_job_items,
    .one_body = DROVER__ENVELOPE__BODY_JOB_INFO,
    .one = s_job_one,
    .one_name = "job_info",
};

json_t *cli_job_json(const Drover__Job *j)
{
    return cli_view_json(&cli_job_view, j);
}

void cli_render_jobs(dr_buf_t *b, Drover__Job *const *jobs, size_t n,
                     int64_t now_ms)
{
    cli_view_table(b, &cli_job_view, (const void *const *)jobs, n, now_ms);
}

/* ---- GPUs and nodes ---------------------------------------------------------
 */
