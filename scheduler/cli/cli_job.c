/* cli_job.c - `drover job submit|list|show|cancel|logs`.
 *
 * Handlers parse and validate flags (cli_parse.c), talk to the scheduler
 * through cli_call and print through cli_output.c.  Two of them loop:
 * `submit --wait` polls job_show until the job ends and leaves the job's
 * exit status in ctx->exit_code; `logs` pages through JobLogs replies
 * writing the bytes raw to the output stream, and with -f keeps polling
 * until the scheduler says eof.  Every reply envelope is freed before the
 * next request; nothing here exits the process.
 */
#include "cli.h"
#include "dr_err.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int cli_job_exit_status(const Drover__Job *j)
{
    const char *st = j->state ? j->state : "";
    if (strcmp(st, "succeeded") == 0)
        return 0;
    if (strcmp(st, "canceled") == 0)
        return 130;
    if (strcmp(st, "timeout") == 0)
        return 124; /* as timeout(1) */
    if (strcmp(st, "failed") == 0)
        return j->exit_code > 0 && j->exit_code < 256 ? j->exit_code : 1;
    return -1;
}

static const opt_def_t s_logs_opts[] = {
    CLI_FLAG("follow", 'f',
             "keep printing the output as it comes, until the job ends"),
};

const cli_optset_t cli_opts_job_logs = CLI_OPTSET(s_logs_opts);

/* Parses exactly one positional job id (and, if follow is not NULL, -f). */
static int s_parse_id(cli_ctx_t *ctx, int argc, char **argv, uint64_t *id,
                      int *follow)
{
    cli_args_t a;
    int rc =
        cli_args_parse(ctx, cli_opts_job_logs.defs,
                       follow ? cli_opts_job_logs.n : 0, NULL, argc, argv, &a);
    if (rc < 0)
        goto out;
    if (a.dashdash && a.nrest > 0 && a.npos == 0) {
        /* "drover job show -- 12" is fine too. */
        a.pos[a.npos++] = a.rest[0];
        if (a.nrest > 1) {
            rc = cli_usage(ctx, "unexpected argument '%s'", a.rest[1]);
            goto out;
        }
    } else if (a.dashdash && a.nrest > 0) {
        rc = cli_usage(ctx, "unexpected argument '%s'", a.rest[0]);
        goto out;
    }
    if (a.npos == 0) {
        rc = cli_usage(ctx, "missing job ID");
        goto out;
    }
    if (a.npos > 1) {
        rc = cli_usage(ctx, "unexpected argument '%s'", a.pos[1]);
        goto out;
    }
    if ((rc = cli_parse_job_id(ctx, a.pos[0], id)) < 0)
        goto out;
    if (follow)
        *follow = a.seen[0] > 0;
out:
    cli_args_free(&a);
    return rc;
}

/* A JobShow request for the job ref names. */
static void s_show_req(dr_env_t *req, Drover__JobRef *ref, uint64_t id)
{
    drover__job_ref__init(ref);
    ref->id = id;
    wire_env_init(req, 0);
    req->body_case = DROVER__ENVELOPE__BODY_JOB_SHOW;
    req->job_show = ref;
}

/* Asks for one job; *rep holds job_info on success. */
static int s_job_show(cli_ctx_t *ctx, uint64_t id, dr_env_t **rep)
{
    Drover__JobRef ref;
    dr_env_t req;
    s_show_req(&req, &ref, id);
    int rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_JOB_INFO, rep);
    if (rc == 0 && !(*rep)->job_info) {
        wire_free(rep);
        rc = cli_fail(ctx, DR_EPROTO, "empty job_info reply");
    }
    return rc;
}

/* The one-line progress report of --wait for the job's current state. */
static void s_wait_line(dr_buf_t *b, const Drover__Job *j)
{
    const char *st = j->state && *j->state ? j->state : "unknown";
    b->len = 0;
    dr_buf_printf(b, "job %" PRIu64 ": %s", j->id, st);
    if ((strcmp(st, "starting") == 0 || strcmp(st, "running") == 0) &&
        j->n_node_names > 0) {
        dr_buf_printf(b, " on ");
        for (size_t i = 0; i < j->n_node_names; i++)
            dr_buf_printf(b, "%s%s", i ? "," : "", j->node_names[i]);
    }
    if (strcmp(st, "succeeded") == 0 ||
        (strcmp(st, "failed") == 0 && j->exit_code != 0))
        dr_buf_printf(b, " (exit %d)", j->exit_code);
    if ((strcmp(st, "failed") == 0 || strcmp(st, "canceled") == 0 ||
         strcmp(st, "timeout") == 0 || strcmp(st, "queued") == 0) &&
        j->reason && *j->reason)
        dr_buf_printf(b, ": %s", j->reason);
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls the job until it ends, reporting each change on ctx->ferr: its
 * state, and while it is queued each new wait reason with the time it has
 * waited so far. */
static int s_wait(cli_ctx_t *ctx, uint64_t id)
{
    dr_buf_t last = {0}, line = {0};
    int64_t since = s_now_ms(); /* when submitted_at_ms is missing */
    int rc;
    for (;;) {
        dr_env_t *rep = NULL;
        if ((rc = s_job_show(ctx, id, &rep)) < 0)
            break;
        const Drover__Job *j = rep->job_info;
        s_wait_line(&line, j);
        if (!last.data || strcmp(last.data, line.data) != 0) {
            char waited[32] = "";
            if (j->state && strcmp(j->state, "queued") == 0) {
                int64_t t0 =
                    j->submitted_at_ms > 0 ? j->submitted_at_ms : since;
                char age[16];
                cli_fmt_age(age, sizeof age, s_now_ms(), t0);
                snprintf(waited, sizeof waited, " (waited %s)", age);
            }
            fprintf(ctx->ferr, "%s%s\n", line.data, waited);
            fflush(ctx->ferr);
            last.len = 0;
            dr_buf_append(&last, line.data, line.len);
        }
        int st = cli_job_exit_status(j);
        wire_free(&rep);
        if (st >= 0) {
            ctx->exit_code = st;
            rc = 0;
            break;
        }
        cli_sleep_ms(CLI_WAIT_POLL_MS);
    }
    dr_buf_free(&last);
    dr_buf_free(&line);
    return rc;
}

/* Submits a job; prints its id; with wait, follows it to its end. */
static int s_submit(cli_ctx_t *ctx, Drover__Job *job, int wait)
{
    int rc;
    Drover__JobSubmit js = DROVER__JOB_SUBMIT__INIT;
    js.job = job;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_JOB_SUBMIT;
    req.job_submit = &js;
    dr_env_t *rep = NULL;
    dr_buf_t b = {0};
    rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_JOB_SUBMIT_REPLY, &rep);
    if (rc < 0)
        goto out;
    if (!rep->job_submit_reply || rep->job_submit_reply->id == 0) {
        rc = cli_fail(ctx, DR_EPROTO, "scheduler returned no job id");
        goto out;
    }
    uint64_t id = rep->job_submit_reply->id;
    uint32_t count = rep->job_submit_reply->count;
    if (ctx->out == CLI_OUT_JSON && count)
        cli_json_render(
            &b, cli_json_check(json_pack("{s:I, s:I}", "id", (json_int_t)id,
                                         "count", (json_int_t)count)));
    else if (ctx->out == CLI_OUT_JSON)
        cli_json_render(
            &b, cli_json_check(json_pack("{s:I}", "id", (json_int_t)id)));
    else
        dr_buf_printf(&b, "%" PRIu64 "\n", id);
    if ((rc = cli_emit(ctx, &b)) < 0)
        goto out;
    if (wait)
        rc = s_wait(ctx, id);
out:
    dr_buf_free(&b);
    wire_free(&rep);
    return rc;
}

int cli_job_submit(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_submit_t s;
    int rc = cli_parse_submit(ctx, argc, argv, &s);
    if (rc < 0)
        return rc;
    rc = s_submit(ctx, &s.job, s.wait);
    cli_submit_free(&s);
    return rc;
}

int cli_job_create(cli_ctx_t *ctx, int argc, char **argv)
{
    const char *file = NULL, *cluster = NULL;
    int wait = 0;
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "-f") || !strcmp(argv[i], "--file")) &&
            i + 1 < argc)
            file = argv[++i];
        else if (!strcmp(argv[i], "--cluster") && i + 1 < argc)
            cluster = argv[++i];
        else if (!strcmp(argv[i], "--wait"))
            wait = 1;
        else
            return cli_usage(ctx, "unexpected argument '%s'", argv[i]);
    }
    if (!file)
        return cli_usage(ctx, "missing required option -f FILE");
    cli_yaml_t *y = cli_yaml_load(ctx, file);
    if (!y)
        return DR_EINVAL;
    Drover__Job job;
    drover__job__init(&job);
    int rc = cli_yaml_job(ctx, y, &job);
    if (rc == 0 && cluster)
        job.cluster = (char *)cluster;
    if (rc == 0 && (!job.cluster || !*job.cluster))
        rc = cli_usage(ctx,
                       "%s names no compute: add 'compute: NAME' or "
                       "give --cluster NAME",
                       file);
    if (rc == 0)
        rc = cli_check_name(ctx, "cluster", job.cluster);
    if (rc == 0)
        rc = s_submit(ctx, &job, wait);
    cli_yaml_free(&y);
    return rc;
}

int cli_job_show(cli_ctx_t *ctx, int argc, char **argv)
{
    uint64_t id;
    int rc = s_parse_id(ctx, argc, argv, &id, NULL);
    if (rc < 0)
        return rc;
    Drover__JobRef ref;
    dr_env_t req;
    s_show_req(&req, &ref, id);
    if (ctx->out != CLI_OUT_YAML)
        return cli_call_one(ctx, &req, &cli_job_view);
    dr_env_t *rep = NULL;
    if ((rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_JOB_INFO, &rep)) < 0)
        return rc;
    if (!rep->job_info) {
        wire_free(&rep);
        return cli_fail(ctx, DR_EPROTO, "empty job_info reply");
    }
    dr_buf_t b = {0};
    cli_yaml_out_job(&b, rep->job_info);
    rc = cli_emit(ctx, &b);
    dr_buf_free(&b);
    wire_free(&rep);
    return rc;
}

enum { JL_CLUSTER, JL_STATE, JL_USER, JL_SINCE, JL_LIMIT, JL_EXPAND };

static const opt_def_t s_list_opts[] = {
    [JL_CLUSTER] = CLI_ARG("cluster", 'c', "NAME", "only this cluster's jobs"),
    [JL_STATE] = CLI_ARG("state", 0, "STATE",
                         "only jobs in this state: queued, starting, running, "
                         "succeeded, failed, canceled or timeout (one state)"),
    [JL_USER] = CLI_ARG("user", 'u', "USER", "only this user's jobs"),
    [JL_SINCE] = CLI_ARG("since", 0, "TIME",
                         "only jobs submitted since TIME: 2026-12-01, "
                         "2026-12-01T08:00 (UTC), or a duration ago (2h, 1d)"),
    [JL_LIMIT] = CLI_ARG("limit", 0, "N", "only the newest N of them"),
    [JL_EXPAND] = CLI_FLAG("expand", 'r',
                           "one row per array element (the table folds an "
                           "array into one row; JSON never does)"),
};

const cli_optset_t cli_opts_job_list = CLI_OPTSET(s_list_opts);

int cli_fetch_jobs(cli_ctx_t *ctx, Drover__JobListReq *lr, dr_env_t ***pages,
                   size_t *npages, Drover__Job ***jobs, size_t *njobs)
{
    size_t cap = 0;
    for (;;) {
        dr_env_t req, *rep = NULL;
        wire_env_init(&req, 0);
        req.body_case = DROVER__ENVELOPE__BODY_JOB_LIST;
        req.job_list = lr;
        int rc =
            cli_call(ctx, &req, DROVER__ENVELOPE__BODY_JOB_LIST_REPLY, &rep);
        if (rc < 0)
            return rc;
        *pages = dr_realloc(*pages, (*npages + 1) * sizeof **pages);
        (*pages)[(*npages)++] = rep;
        Drover__JobList *jl = rep->job_list_reply;
        if (!jl)
            return 0;
        uint64_t last = lr->after_id;
        for (size_t i = 0; i < jl->n_jobs; i++) {
            if (*njobs == cap) {
                cap = cap ? cap * 2 : 64;
                *jobs = dr_realloc(*jobs, cap * sizeof **jobs);
            }
            (*jobs)[(*njobs)++] = jl->jobs[i];
            if (jl->jobs[i]->id > last)
                last = jl->jobs[i]->id;
        }
        /* A page that does not advance would loop forever. */
        if (!jl->more || last <= lr->after_id)
            return 0;
        lr->after_id = last;
    }
}

int cli_job_list(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    dr_env_t **pages = NULL;
    size_t npages = 0, njobs = 0;
    Drover__Job **jobs = NULL;
    Drover__JobListReq lr = DROVER__JOB_LIST_REQ__INIT;
    int rc = cli_optset_parse(ctx, &cli_opts_job_list, NULL, argc, argv, &a);
    if (rc == 0)
        rc = cli_args_none(ctx, &a);
    if (rc == 0 && a.seen[JL_CLUSTER])
        rc = cli_check_name(ctx, "cluster", a.val[JL_CLUSTER]);
    if (rc == 0 && a.seen[JL_STATE])
        rc = cli_check_state(ctx, a.val[JL_STATE]);
    if (rc == 0 && a.seen[JL_USER])
        rc = cli_check_name(ctx, "user", a.val[JL_USER]);
    if (rc == 0 && a.seen[JL_SINCE])
        rc = cli_parse_since(ctx, "--since", a.val[JL_SINCE], &lr.since_ms);
    int64_t limit = 0;
    if (rc == 0 && a.seen[JL_LIMIT])
        rc = cli_parse_int(ctx, "--limit", a.val[JL_LIMIT], 1, 1000000, &limit);
    if (rc == 0) {
        if (a.seen[JL_CLUSTER])
            lr.cluster = (char *)a.val[JL_CLUSTER];
        if (a.seen[JL_STATE])
            lr.state = (char *)a.val[JL_STATE];
        if (a.seen[JL_USER])
            lr.owner = (char *)a.val[JL_USER];
        lr.limit = CLI_JOB_PAGE;
        rc = cli_fetch_jobs(ctx, &lr, &pages, &npages, &jobs, &njobs);
    }
    /* the newest `limit`: the store lists oldest first */
    size_t skip = limit && (size_t)limit < njobs ? njobs - (size_t)limit : 0;
    cli_fold_t *fold = NULL;
    if (rc == 0 && ctx->out != CLI_OUT_JSON && !a.seen[JL_EXPAND]) {
        fold = cli_job_fold(jobs + skip, njobs - skip);
        size_t nrows = 0;
        Drover__Job *const *rows = cli_fold_rows(fold, &nrows);
        rc =
            cli_emit_list(ctx, &cli_job_view, (const void *const *)rows, nrows);
    } else if (rc == 0) {
        rc = cli_emit_list(ctx, &cli_job_view, (const void *const *)jobs + skip,
                           njobs - skip);
    }
    cli_fold_free(&fold);
    free(jobs);
    for (size_t i = 0; i < npages; i++)
        wire_free(&pages[i]);
    free(pages);
    cli_args_free(&a);
    return rc;
}

int cli_job_logs(cli_ctx_t *ctx, int argc, char **argv)
{
    uint64_t id;
    int follow = 0;
    int rc = s_parse_id(ctx, argc, argv, &id, &follow);
    if (rc < 0)
        return rc;
    Drover__JobLogsReq lr = DROVER__JOB_LOGS_REQ__INIT;
    lr.id = id;
    lr.offset = 0;
    lr.max_bytes = 0;
    for (;;) {
        dr_env_t req;
        wire_env_init(&req, 0);
        req.body_case = DROVER__ENVELOPE__BODY_JOB_LOGS;
        req.job_logs = &lr;
        dr_env_t *rep = NULL;
        rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_JOB_LOGS_REPLY, &rep);
        if (rc < 0)
            return rc;
        const Drover__JobLogs *jl = rep->job_logs_reply;
        size_t n = jl ? jl->data.len : 0;
        int eof = jl ? jl->eof : 1;
        if (n > 0 && (fwrite(jl->data.data, 1, n, ctx->fout) != n ||
                      fflush(ctx->fout) != 0)) {
            wire_free(&rep);
            return cli_fail(ctx, DR_EIO, "cannot write output");
        }
        if (jl && jl->next_offset > lr.offset)
            lr.offset = jl->next_offset;
        else if (n > 0)
            lr.offset += n;
        wire_free(&rep);
        if (eof)
            return 0;
        if (n == 0) {
            if (!follow)
                return 0;
            cli_sleep_ms(CLI_LOGS_POLL_MS);
        }
    }
}
