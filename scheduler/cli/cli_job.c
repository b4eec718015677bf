/* cli_job.c - `drover job submit|create|list|show|logs`.
 *
 * Handlers parse and validate flags (cli_parse.c), talk to the scheduler
 * through cli_call and print through cli_output.c.  Following a job
 * (`--wait`, `--follow`, `logs -f`) is cli_follow.c's: it leaves the
 * job's exit status in ctx->exit_code.  Every reply envelope is freed
 * before the next request; nothing here exits the process.
 */
#include "cli.h"
#include "dr_err.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
             "keep printing the output as it comes, until the job ends; "
             "while it is queued, each wait reason on stderr"),
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

int cli_job_get(cli_ctx_t *ctx, uint64_t id, dr_env_t **rep)
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

/* Sends a JobSubmit; its reply in *rep. */
static int s_call_submit(cli_ctx_t *ctx, Drover__JobSubmit *js, dr_env_t **rep)
{
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_JOB_SUBMIT;
    req.job_submit = js;
    *rep = NULL;
    return cli_call(ctx, &req, DROVER__ENVELOPE__BODY_JOB_SUBMIT_REPLY, rep);
}

/* Submits a job; prints its id; then follows it as how says
 * (CLI_FOLLOW_WAIT, with or without CLI_FOLLOW_OUTPUT), or not (0). */
static int s_submit(cli_ctx_t *ctx, Drover__Job *job, unsigned how)
{
    int rc;
    Drover__JobSubmit js = DROVER__JOB_SUBMIT__INIT;
    js.job = job;
    dr_env_t *rep = NULL;
    dr_buf_t b = {0};
    rc = s_call_submit(ctx, &js, &rep);
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
    if (how)
        rc = cli_follow_job(ctx, id, how);
out:
    dr_buf_free(&b);
    wire_free(&rep);
    return rc;
}

/* --each-line: jobs a request, and bytes of commands a request (the
 * scheduler takes up to DR_MAX_MSG_BYTES a message) */
#define S_LINES_JOBS 10000
#define S_LINES_BYTES (4u << 20)

/* The lines of --each-line FILE that are commands, NUL-free. */
static int s_read_lines(cli_ctx_t *ctx, const char *path, char ***lines,
                        size_t **lineno, size_t *n)
{
    *lines = NULL;
    *lineno = NULL;
    *n = 0;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f)
        return cli_fail(ctx, DR_EIO, "--each-line %s: %s", path,
                        strerror(errno));
    char *line = NULL;
    size_t cap = 0, vcap = 0, no = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        no++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        const char *p = line + strspn(line, " \t");
        if (*p == '\0' || *p == '#')
            continue;
        if (strlen(line) != (size_t)len) {
            rc = cli_fail(ctx, DR_EINVAL, "%s:%zu: a NUL byte in the line",
                          path, no);
            break;
        }
        if (*n == vcap) {
            vcap = vcap ? vcap * 2 : 256;
            *lines = dr_realloc(*lines, vcap * sizeof **lines);
            *lineno = dr_realloc(*lineno, vcap * sizeof **lineno);
        }
        (*lines)[*n] = dr_strdup(line);
        (*lineno)[(*n)++] = no;
    }
    if (rc == 0 && ferror(f))
        rc = cli_fail(ctx, DR_EIO, "--each-line %s: read failed", path);
    else if (rc == 0 && *n == 0)
        rc = cli_usage(ctx, "--each-line %s: no command in the file", path);
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

/* One request of jobs [from, to) of the lines; their ids into ids. */
static int s_submit_chunk(cli_ctx_t *ctx, const Drover__Job *tmpl, char **lines,
                          size_t from, size_t to, uint64_t *ids)
{
    size_t n = to - from;
    Drover__Job *jobs = dr_calloc(n, sizeof *jobs);
    Drover__Job **ptrs = dr_calloc(n, sizeof *ptrs);
    char **argv = dr_calloc(3 * n, sizeof *argv);
    for (size_t i = 0; i < n; i++) {
        jobs[i] = *tmpl;
        argv[3 * i] = (char *)"sh";
        argv[3 * i + 1] = (char *)"-c";
        argv[3 * i + 2] = lines[from + i];
        jobs[i].argv = &argv[3 * i];
        jobs[i].n_argv = 3;
        ptrs[i] = &jobs[i];
    }
    Drover__JobSubmit js = DROVER__JOB_SUBMIT__INIT;
    js.jobs = ptrs;
    js.n_jobs = n;
    dr_env_t *rep;
    int rc = s_call_submit(ctx, &js, &rep);
    if (rc == 0 &&
        (!rep->job_submit_reply || rep->job_submit_reply->n_ids != n))
        rc =
            cli_fail(ctx, DR_EPROTO, "the scheduler did not return %zu ids", n);
    if (rc == 0)
        memcpy(ids, rep->job_submit_reply->ids, n * sizeof *ids);
    wire_free(&rep);
    free(argv);
    free(ptrs);
    free(jobs);
    return rc;
}

/* --each-line FILE: one job a line, sh -c LINE with the other options, in
 * requests of up to S_LINES_JOBS jobs (S_LINES_BYTES of commands), each
 * queued all or none; prints every id queued, one a line (or a JSON
 * array).  A refused request stops there: what went before stays queued,
 * and the message says from which line nothing was. */
static int s_submit_lines(cli_ctx_t *ctx, cli_submit_t *s)
{
    char **lines;
    size_t *lineno, n;
    int rc = s_read_lines(ctx, s->each_line, &lines, &lineno, &n);
    if (rc < 0)
        return rc;
    uint64_t *ids = dr_calloc(n, sizeof *ids);
    size_t done = 0;
    while (rc == 0 && done < n) {
        size_t to = done, bytes = 0;
        while (to < n && to - done < S_LINES_JOBS &&
               (to == done || bytes + strlen(lines[to]) <= S_LINES_BYTES))
            bytes += strlen(lines[to++]);
        rc = s_submit_chunk(ctx, &s->job, lines, done, to, &ids[done]);
        if (rc < 0) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%.1000s", ctx->err);
            snprintf(ctx->err, sizeof ctx->err,
                     "%.256s:%zu-%zu: %s; nothing from line %zu on was "
                     "queued (%zu job(s) before it were)",
                     s->each_line, lineno[done], lineno[to - 1], msg,
                     lineno[done], done);
        } else {
            done = to;
        }
    }
    dr_buf_t b = {0};
    if (ctx->out == CLI_OUT_JSON) {
        json_t *arr = cli_json_check(json_array());
        for (size_t i = 0; i < done; i++)
            cli_json_push(arr, json_integer((json_int_t)ids[i]));
        cli_json_render(&b, cli_json_check(json_pack("{s:o}", "ids", arr)));
    } else {
        for (size_t i = 0; i < done; i++)
            dr_buf_printf(&b, "%" PRIu64 "\n", ids[i]);
    }
    int erc = cli_emit(ctx, &b);
    dr_buf_free(&b);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    free(lineno);
    free(ids);
    return rc < 0 ? rc : erc;
}

static unsigned s_how(int wait, int follow)
{
    return (wait ? CLI_FOLLOW_WAIT : 0u) | (follow ? CLI_FOLLOW_OUTPUT : 0u);
}

int cli_job_submit(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_submit_t s;
    int rc = cli_parse_submit(ctx, argc, argv, &s);
    if (rc < 0)
        return rc;
    if (s.each_line)
        rc = s_submit_lines(ctx, &s);
    else
        rc = s_submit(ctx, &s.job, s_how(s.wait, s.follow));
    cli_submit_free(&s);
    return rc;
}

enum { JCR_FILE, JCR_CLUSTER, JCR_WAIT, JCR_FOLLOW };

static const opt_def_t s_create_opts[] = {
    [JCR_FILE] = CLI_ARG("file", 'f', "FILE",
                         "the Azure ML v2 command job file (required)"),
    [JCR_CLUSTER] = CLI_ARG("cluster", 0, "NAME",
                            "the cluster to run on (default: the file's "
                            "compute)"),
    [JCR_WAIT] = CLI_FLAG("wait", 'w',
                          "follow the job on stderr (state, wait reason) and "
                          "exit with its exit code"),
    [JCR_FOLLOW] = CLI_FLAG("follow", 0, CLI_FOLLOW_HELP),
};

const cli_optset_t cli_opts_job_create = CLI_OPTSET(s_create_opts);

int cli_job_create(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_optset_parse(ctx, &cli_opts_job_create, NULL, argc, argv, &a);
    if (rc == 0)
        rc = cli_args_none(ctx, &a);
    if (rc == 0 && !a.seen[JCR_FILE])
        rc = cli_usage(ctx, "missing required option -f FILE");
    int wait = rc == 0 && a.seen[JCR_WAIT],
        follow = rc == 0 && a.seen[JCR_FOLLOW];
    if (rc == 0)
        rc = cli_check_follow(ctx, follow, &wait);
    const char *file = rc == 0 ? a.val[JCR_FILE] : NULL;
    const char *cluster = rc == 0 ? a.val[JCR_CLUSTER] : NULL;
    cli_yaml_t *y = rc == 0 ? cli_yaml_load(ctx, file) : NULL;
    if (rc == 0 && !y)
        rc = DR_EINVAL;
    Drover__Job job;
    drover__job__init(&job);
    if (rc == 0)
        rc = cli_yaml_job(ctx, y, &job);
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
        rc = s_submit(ctx, &job, s_how(wait, follow));
    cli_yaml_free(&y);
    cli_args_free(&a);
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
    return cli_follow_job(ctx, id, follow ? CLI_FOLLOW_OUTPUT : 0);
}
