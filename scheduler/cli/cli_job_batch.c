/* cli_job_batch.c - the batch user's commands over many jobs: `job
 * cancel` of several ids or of every job a filter matches (as scancel),
 * `job rerun ID` (a new job with the same spec) and `drover usage`
 * (accounting, as sacct / sreport). */
#include "cli.h"
#include "dr_err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- job cancel ---------------------------------------------------------- */

enum { JC_CLUSTER, JC_STATE, JC_NAME, JC_USER, JC_N };

static const opt_def_t s_cancel_opts[] = {
    [JC_CLUSTER] = CLI_ARG("cluster", 'c', "NAME", "every job of this cluster"),
    [JC_STATE] = CLI_ARG("state", 0, "STATE",
                         "only jobs in this state: queued, starting or "
                         "running (default: all three)"),
    [JC_NAME] = CLI_ARG("name", 'n', "NAME", "only jobs of this name"),
    [JC_USER] = CLI_ARG("user", 'u', "USER", "only this user's jobs"),
};

const cli_optset_t cli_opts_job_cancel = CLI_OPTSET(s_cancel_opts);

/* Cancels one job; its message (or the error) goes to out / ferr. */
static int s_cancel_one(cli_ctx_t *ctx, uint64_t id, int quiet)
{
    Drover__JobRef ref = DROVER__JOB_REF__INIT;
    ref.id = id;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_JOB_CANCEL;
    req.job_cancel = &ref;
    dr_env_t *rep = NULL;
    int rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_OK, &rep);
    if (rc == 0 && !quiet)
        rc = cli_print_ok(ctx, rep->ok, "id", json_integer((json_int_t)id),
                          "job %" PRIu64 ": cancel requested", id);
    wire_free(&rep);
    return rc;
}

/* The ids of the active jobs a filter matches (a state given, or each of
 * queued, starting and running); *ids is the caller's to free. */
static int s_match(cli_ctx_t *ctx, const cli_args_t *a, uint64_t **ids,
                   size_t *n)
{
    static const char *const active[] = {"queued", "starting", "running"};
    int rc = 0;
    size_t cap = 0;
    for (size_t k = 0; rc == 0 && k < 3; k++) {
        Drover__JobListReq lr = DROVER__JOB_LIST_REQ__INIT;
        lr.cluster = a->seen[JC_CLUSTER] ? (char *)a->val[JC_CLUSTER] : NULL;
        lr.owner = a->seen[JC_USER] ? (char *)a->val[JC_USER] : NULL;
        lr.state =
            a->seen[JC_STATE] ? (char *)a->val[JC_STATE] : (char *)active[k];
        lr.limit = CLI_JOB_PAGE;
        dr_env_t **pages = NULL;
        size_t npages = 0, njobs = 0;
        Drover__Job **jobs = NULL;
        rc = cli_fetch_jobs(ctx, &lr, &pages, &npages, &jobs, &njobs);
        for (size_t i = 0; rc == 0 && i < njobs; i++) {
            if (a->seen[JC_NAME] &&
                strcmp(jobs[i]->name ? jobs[i]->name : "", a->val[JC_NAME]))
                continue;
            if (*n == cap) {
                cap = cap ? cap * 2 : 64;
                *ids = dr_realloc(*ids, cap * sizeof **ids);
            }
            (*ids)[(*n)++] = jobs[i]->id;
        }
        free(jobs);
        for (size_t i = 0; i < npages; i++)
            wire_free(&pages[i]);
        free(pages);
        if (a->seen[JC_STATE])
            break;
    }
    return rc;
}

int cli_job_cancel(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_optset_parse(ctx, &cli_opts_job_cancel, NULL, argc, argv, &a);
    int filtered = 0;
    for (int i = 0; i < JC_N; i++)
        filtered |= rc == 0 && a.seen[i];
    if (rc == 0 && a.dashdash)
        rc = cli_usage(ctx, "unexpected '--'");
    if (rc == 0 && !filtered && a.npos == 0)
        rc = cli_usage(ctx, "missing job ID (or a filter: --cluster, "
                            "--state, --name, --user)");
    if (rc == 0 && filtered && a.npos > 0)
        rc = cli_usage(ctx, "give job IDs or filters, not both");
    if (rc == 0 && a.seen[JC_CLUSTER])
        rc = cli_check_name(ctx, "cluster", a.val[JC_CLUSTER]);
    if (rc == 0 && a.seen[JC_USER])
        rc = cli_check_name(ctx, "user", a.val[JC_USER]);
    if (rc == 0 && a.seen[JC_STATE] && strcmp(a.val[JC_STATE], "queued") &&
        strcmp(a.val[JC_STATE], "starting") &&
        strcmp(a.val[JC_STATE], "running"))
        rc = cli_fail(ctx, DR_EINVAL,
                      "--state '%s': only queued, starting or running jobs "
                      "can be canceled",
                      a.val[JC_STATE]);
    uint64_t *ids = NULL;
    size_t n = 0;
    for (int i = 0; rc == 0 && i < a.npos; i++) {
        ids = dr_realloc(ids, (n + 1) * sizeof *ids);
        rc = cli_parse_job_id(ctx, a.pos[i], &ids[n++]);
    }
    if (rc == 0 && filtered)
        rc = s_match(ctx, &a, &ids, &n);
    /* one id: its answer, as before; several: each id's, then a count */
    size_t done = 0, failed = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int one = s_cancel_one(ctx, ids[i], n > 1 || filtered);
        if (one == 0)
            done++;
        else if (n > 1 || filtered) {
            fprintf(ctx->ferr, "drover: job %" PRIu64 ": %s\n", ids[i],
                    ctx->err);
            failed++;
        } else {
            rc = one; /* the one error, as cli_fail recorded it */
        }
    }
    if (rc == 0 && (n > 1 || filtered)) {
        dr_buf_t b = {0};
        if (ctx->out == CLI_OUT_JSON)
            cli_json_render(&b, cli_json_check(json_pack(
                                    "{s:I, s:I}", "canceled", (json_int_t)done,
                                    "failed", (json_int_t)failed)));
        else
            dr_buf_printf(&b, "canceled %zu job%s%s\n", done,
                          done == 1 ? "" : "s",
                          failed ? " (some could not be: see above)" : "");
        rc = cli_emit(ctx, &b);
        dr_buf_free(&b);
        if (rc == 0 && failed)
            rc = cli_fail(ctx, DR_EINVAL, "%zu of %zu jobs not canceled",
                          failed, n);
    }
    free(ids);
    cli_args_free(&a);
    return rc;
}

/* ---- job rerun ----------------------------------------------------------- */

int cli_job_rerun(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_args_parse(ctx, NULL, 0, NULL, argc, argv, &a);
    uint64_t id = 0;
    if (rc == 0 && (a.npos != 1 || a.dashdash))
        rc = cli_usage(ctx, a.npos ? "give one job ID" : "missing job ID");
    if (rc == 0)
        rc = cli_parse_job_id(ctx, a.pos[0], &id);
    cli_args_free(&a);
    if (rc < 0)
        return rc;
    Drover__JobRef ref = DROVER__JOB_REF__INIT;
    ref.id = id;
    dr_env_t req, *rep = NULL;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_JOB_RERUN;
    req.job_rerun = &ref;
    rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_JOB_SUBMIT_REPLY, &rep);
    if (rc < 0)
        return rc;
    uint64_t nid = rep->job_submit_reply ? rep->job_submit_reply->id : 0;
    wire_free(&rep);
    dr_buf_t b = {0};
    if (ctx->out == CLI_OUT_JSON)
        cli_json_render(
            &b, cli_json_check(json_pack("{s:I, s:I}", "id", (json_int_t)nid,
                                         "rerun_of", (json_int_t)id)));
    else
        dr_buf_printf(&b, "%" PRIu64 "\n", nid);
    rc = cli_emit(ctx, &b);
    dr_buf_free(&b);
    return rc;
}

/* ---- usage --------------------------------------------------------------- */

enum { US_SINCE, US_UNTIL, US_BY, US_N };

static const opt_def_t s_usage_opts[] = {
    [US_SINCE] = CLI_ARG("since", 'S', "TIME",
                         "from TIME: 2026-12-01, 2026-12-01T08:00 (UTC), or "
                         "a duration ago, 7d (default: 1d)"),
    [US_UNTIL] = CLI_ARG("until", 'E', "TIME", "until TIME (default: now)"),
    [US_BY] = CLI_ARG("by", 0, "user|cluster|vm-size",
                      "one row per user (default), cluster or VM size"),
};

const cli_optset_t cli_opts_usage = CLI_OPTSET(s_usage_opts);

static void s_usage_table(dr_buf_t *b, const Drover__UsageReport *r)
{
    const char *head = strcmp(r->by, "vm-size") == 0   ? "VM_SIZE"
                       : strcmp(r->by, "cluster") == 0 ? "CLUSTER"
                                                       : "USER";
    size_t w = strlen(head);
    for (size_t i = 0; i < r->n_rows; i++)
        if (strlen(r->rows[i]->key) > w)
            w = strlen(r->rows[i]->key);
    dr_buf_printf(b, "%-*s  %6s  %8s  %10s  %10s  %10s  %10s  %11s\n", (int)w,
                  head, "JOBS", "ATTEMPTS", "CPU_HOURS", "GPU_HOURS",
                  "WAIT_MEAN", "WAIT_P95", "WASTE_HOURS");
    for (size_t i = 0; i < r->n_rows; i++) {
        const Drover__UsageRow *u = r->rows[i];
        char mean[16], p95[16];
        snprintf(mean, sizeof mean, "%.1fs", u->wait_mean_s);
        snprintf(p95, sizeof p95, "%.1fs", u->wait_p95_s);
        dr_buf_printf(b,
                      "%-*s  %6" PRIu64 "  %8" PRIu64
                      "  %10.3f  %10.3f  %10s  %10s  %11.3f\n",
                      (int)w, u->key, u->jobs, u->attempts, u->cpu_hours,
                      u->gpu_hours, mean, p95, u->waste_cpu_hours);
    }
}

static json_t *s_usage_json(const Drover__UsageReport *r)
{
    json_t *rows = cli_json_check(json_array());
    for (size_t i = 0; i < r->n_rows; i++) {
        const Drover__UsageRow *u = r->rows[i];
        cli_json_push(
            rows,
            cli_json_check(json_pack(
                "{s:s, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "key",
                u->key, "jobs", (json_int_t)u->jobs, "attempts",
                (json_int_t)u->attempts, "cpu_hours", u->cpu_hours, "gpu_hours",
                u->gpu_hours, "wait_mean_s", u->wait_mean_s, "wait_p95_s",
                u->wait_p95_s, "waste_cpu_hours", u->waste_cpu_hours,
                "preempted_cpu_hours", u->preempted_cpu_hours,
                "failed_cpu_hours", u->failed_cpu_hours)));
    }
    return cli_json_check(json_pack("{s:s, s:I, s:I, s:o}", "by", r->by,
                                    "since", (json_int_t)r->since_ms, "until",
                                    (json_int_t)r->until_ms, "rows", rows));
}

int cli_usage_report(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_optset_parse(ctx, &cli_opts_usage, NULL, argc, argv, &a);
    if (rc == 0)
        rc = cli_args_none(ctx, &a);
    Drover__UsageReq q = DROVER__USAGE_REQ__INIT;
    if (rc == 0)
        rc = cli_parse_since(ctx, "--since",
                             a.seen[US_SINCE] ? a.val[US_SINCE] : "1d",
                             &q.since_ms);
    if (rc == 0 && a.seen[US_UNTIL])
        rc = cli_parse_since(ctx, "--until", a.val[US_UNTIL], &q.until_ms);
    if (rc == 0 && a.seen[US_UNTIL] && q.until_ms <= q.since_ms)
        rc = cli_fail(ctx, DR_EINVAL, "--until must be after --since");
    if (rc == 0 && a.seen[US_BY]) {
        q.by = (char *)a.val[US_BY];
        if (strcmp(q.by, "user") && strcmp(q.by, "cluster") &&
            strcmp(q.by, "vm-size"))
            rc = cli_fail(ctx, DR_EINVAL,
                          "invalid --by '%s' (user, cluster or vm-size)", q.by);
    }
    dr_env_t req, *rep = NULL;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_USAGE;
    req.usage = &q;
    if (rc == 0)
        rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_USAGE_REPORT, &rep);
    cli_args_free(&a);
    if (rc < 0)
        return rc;
    dr_buf_t b = {0};
    if (ctx->out == CLI_OUT_JSON)
        cli_json_render(&b, s_usage_json(rep->usage_report));
    else
        s_usage_table(&b, rep->usage_report);
    rc = cli_emit(ctx, &b);
    dr_buf_free(&b);
    wire_free(&rep);
    return rc;
}
