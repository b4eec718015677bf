/* cli_follow.c - following a job to its end: `job submit|create --wait`
 * (its state on stderr, then its exit status), `--wait --follow` (the same
 * with its output streamed on stdout, as `az ml job stream`) and `job
 * logs [-f]` (its output; with -f until it ends, each wait reason on
 * stderr while it is queued).
 *
 * Two polls: JobShow for the state and wait reason (every
 * CLI_WAIT_POLL_MS while only waiting) and JobLogs for the output (every
 * CLI_LOGS_POLL_MS when a reply brought nothing new).  A JobLogs reply
 * names the job's state: a JobShow is added when that state changed
 * (--wait) or the job is queued.  The output is written raw, as the
 * scheduler keeps it (a multi-node job's lines already tagged with their
 * node or rank).  Every reply envelope is freed before the next request;
 * nothing here exits the process.
 */
#include "cli.h"
#include "dr_err.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct {
    cli_ctx_t *ctx;
    uint64_t id;
    unsigned how;     /* CLI_FOLLOW_* */
    dr_buf_t last;    /* the state line reported last ("" for none) */
    dr_buf_t line;    /* scratch */
    int64_t since_ms; /* when we started, if submitted_at_ms is missing */
    uint64_t offset;  /* of the output printed so far */
} s_follow_t;

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int s_is(const char *state, const char *name)
{
    return state && strcmp(state, name) == 0;
}

/* The one-line progress report of --wait for the job's current state. */
static void s_wait_line(dr_buf_t *b, const Drover__Job *j)
{
    const char *st = j->state && *j->state ? j->state : "unknown";
    b->len = 0;
    dr_buf_printf(b, "job %" PRIu64 ": %s", j->id, st);
    if ((s_is(st, "starting") || s_is(st, "running")) && j->n_node_names > 0) {
        dr_buf_printf(b, " on ");
        for (size_t i = 0; i < j->n_node_names; i++)
            dr_buf_printf(b, "%s%s", i ? "," : "", j->node_names[i]);
    }
    if (s_is(st, "succeeded") || (s_is(st, "failed") && j->exit_code != 0))
        dr_buf_printf(b, " (exit %d)", j->exit_code);
    if ((s_is(st, "failed") || s_is(st, "canceled") || s_is(st, "timeout") ||
         s_is(st, "queued")) &&
        j->reason && *j->reason)
        dr_buf_printf(b, ": %s", j->reason);
}

/* Prints the job's state line on ctx->ferr when it differs from the last
 * one: with CLI_FOLLOW_WAIT every state (an ending one only when may_end:
 * while the output streams, the end waits for its last bytes); without,
 * only a queued job's.  A queued line carries the time waited so far. */
static void s_report(s_follow_t *f, const Drover__Job *j, int may_end)
{
    int queued = s_is(j->state, "queued");
    if (!(f->how & CLI_FOLLOW_WAIT) && !queued) {
        f->last.len = 0; /* a requeue is reported again */
        return;
    }
    if (!may_end && cli_job_exit_status(j) >= 0)
        return;
    s_wait_line(&f->line, j);
    if (f->last.len == f->line.len &&
        memcmp(f->last.data, f->line.data, f->line.len) == 0)
        return;
    char waited[32] = "";
    if (queued) {
        char age[16];
        cli_fmt_age(age, sizeof age, s_now_ms(),
                    j->submitted_at_ms > 0 ? j->submitted_at_ms : f->since_ms);
        snprintf(waited, sizeof waited, " (waited %s)", age);
    }
    fprintf(f->ctx->ferr, "%s%s\n", f->line.data, waited);
    fflush(f->ctx->ferr);
    f->last.len = 0;
    dr_buf_append(&f->last, f->line.data, f->line.len);
}

/* One JobShow, reported; *status is the job's exit status (-1 while it
 * has not ended). */
static int s_poll_state(s_follow_t *f, int may_end, int *status)
{
    dr_env_t *rep = NULL;
    int rc = cli_job_get(f->ctx, f->id, &rep);
    if (rc < 0)
        return rc;
    s_report(f, rep->job_info, may_end);
    *status = cli_job_exit_status(rep->job_info);
    wire_free(&rep);
    return 0;
}

/* Polls the job's state until it ends; its exit status goes to
 * ctx->exit_code. */
static int s_wait(s_follow_t *f)
{
    for (;;) {
        int st = -1;
        int rc = s_poll_state(f, 1, &st);
        if (rc < 0)
            return rc;
        if (st >= 0) {
            f->ctx->exit_code = st;
            return 0;
        }
        cli_sleep_ms(CLI_WAIT_POLL_MS);
    }
}

/* One JobLogs request from f->offset; *rep holds its reply. */
static int s_logs_req(s_follow_t *f, dr_env_t **rep)
{
    Drover__JobLogsReq lr = DROVER__JOB_LOGS_REQ__INIT;
    lr.id = f->id;
    lr.offset = f->offset;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_JOB_LOGS;
    req.job_logs = &lr;
    return cli_call(f->ctx, &req, DROVER__ENVELOPE__BODY_JOB_LOGS_REPLY, rep);
}

/* Writes a JobLogs reply's bytes to ctx->fout and moves f->offset. */
static int s_logs_write(s_follow_t *f, const Drover__JobLogs *jl)
{
    size_t n = jl ? jl->data.len : 0;
    if (n > 0 && (fwrite(jl->data.data, 1, n, f->ctx->fout) != n ||
                  fflush(f->ctx->fout) != 0))
        return cli_fail(f->ctx, DR_EIO, "cannot write output");
    if (jl && jl->next_offset > f->offset)
        f->offset = jl->next_offset;
    else
        f->offset += n;
    return 0;
}

/* Prints the output from the start: what there is now or, with
 * CLI_FOLLOW_OUTPUT, all of it until the job ends.  When a reply names
 * another state than the last one (with CLI_FOLLOW_WAIT), or the job is
 * queued, the state is asked for and reported before the reply's bytes
 * are written, so that a state line comes before the output of that
 * state. */
static int s_stream(s_follow_t *f)
{
    char seen[16] = "";
    for (;;) {
        dr_env_t *rep = NULL;
        int rc = s_logs_req(f, &rep);
        if (rc < 0)
            return rc;
        const Drover__JobLogs *jl = rep->job_logs_reply;
        size_t n = jl ? jl->data.len : 0;
        int eof = jl ? jl->eof : 1;
        const char *st = jl && jl->state ? jl->state : "";
        int changed = strncmp(seen, st, sizeof seen) != 0;
        int queued = s_is(st, "queued");
        int st_rc = 0, status = -1;
        if ((f->how & CLI_FOLLOW_OUTPUT) &&
            (((f->how & CLI_FOLLOW_WAIT) && changed) ||
             (queued && (changed || n == 0))))
            st_rc = s_poll_state(f, 0, &status);
        else if (!queued && !(f->how & CLI_FOLLOW_WAIT))
            f->last.len = 0; /* logs -f: a requeue is reported again */
        snprintf(seen, sizeof seen, "%s", st);
        if (st_rc == 0)
            rc = s_logs_write(f, jl);
        wire_free(&rep);
        if (st_rc < 0 || rc < 0 || eof)
            return st_rc < 0 ? st_rc : rc;
        if (n > 0)
            continue;
        if (!(f->how & CLI_FOLLOW_OUTPUT))
            return 0;
        cli_sleep_ms(CLI_LOGS_POLL_MS);
    }
}

int cli_follow_job(cli_ctx_t *ctx, uint64_t id, unsigned how)
{
    s_follow_t f = {.ctx = ctx, .id = id, .how = how, .since_ms = s_now_ms()};
    int rc = 0;
    if (how & CLI_FOLLOW_OUTPUT || !(how & CLI_FOLLOW_WAIT))
        rc = s_stream(&f);
    /* the end, once the last of the output is out */
    if (rc == 0 && (how & CLI_FOLLOW_WAIT))
        rc = s_wait(&f);
    dr_buf_free(&f.last);
    dr_buf_free(&f.line);
    return rc;
}

int cli_check_follow(cli_ctx_t *ctx, int follow, int *wait)
{
    if (!follow)
        return 0;
    if (ctx->out == CLI_OUT_JSON)
        return cli_usage(ctx, "--follow prints the job's output as it is, "
                              "not JSON: leave out -o json (or use --wait)");
    *wait = 1;
    return 0;
}
