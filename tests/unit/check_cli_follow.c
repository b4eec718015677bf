/* check_cli_follow.c - unit tests of following a job (cli_follow.c)
 * against the scripted scheduler of cli_fake.h: `submit --wait` (each
 * state and wait reason once, the exit status), `submit --wait --follow`
 * (the output between the states, a state line before the output of that
 * state, the end after the last of it), `job logs -f` (paged by offset; a
 * queued job's wait reason on stderr) and the refused --follow lines.
 */
#include "cli_fake.h"

/* submit, then job_show answers: queued (waiting on "no node free", the
 * same again, then "cluster c1 is resizing"), running twice, failed
 * (exit 3). */
static void s_script_wait(fake_t *f, int i, const dr_env_t *req, dr_env_t *rep)
{
    static Drover__JobSubmitReply sr = DROVER__JOB_SUBMIT_REPLY__INIT;
    static Drover__Job j;
    static char *nodes[] = {"c-1"};
    if (i == 0) {
        snprintf(f->seen_argv0, sizeof f->seen_argv0, "%s",
                 req->job_submit->job->argv[0]);
        f->seen_nargv = req->job_submit->job->n_argv;
        sr.id = 12;
        rep->body_case = DROVER__ENVELOPE__BODY_JOB_SUBMIT_REPLY;
        rep->job_submit_reply = &sr;
        return;
    }
    drover__job__init(&j);
    j.id = req->job_show->id;
    j.state = i <= 3 ? "queued" : i <= 5 ? "running" : "failed";
    if (i <= 2)
        j.reason = "no node free";
    else if (i == 3)
        j.reason = "cluster c1 is resizing";
    if (i >= 4) {
        j.node_names = nodes;
        j.n_node_names = 1;
    }
    if (i == 6)
        j.exit_code = 3;
    rep->body_case = DROVER__ENVELOPE__BODY_JOB_INFO;
    rep->job_info = &j;
}

START_TEST(test_submit_wait)
{
    fake_t f;
    s_fake_start(&f, 7, s_script_wait);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    cap_t out = {0}, err = {0};
    s_capture(&ctx, &out, &err);
    int rc = cli_job_submit(
        &ctx, 6, ARGV("--cluster", "c1", "--wait", "--", "sh", "-c"));
    s_capture_end(&ctx, &out, &err);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(ctx.exit_code, 3);
    ck_assert_str_eq(out.buf, "12\n");
    /* each wait reason once, with the time waited (no submitted_at_ms
     * here: counted from the submission) */
    ck_assert_str_eq(err.buf, "job 12: queued: no node free (waited 0s)\n"
                              "job 12: queued: cluster c1 is resizing "
                              "(waited 1s)\n"
                              "job 12: running on c-1\n"
                              "job 12: failed (exit 3)\n");
    ck_assert_str_eq(f.seen_argv0, "sh");
    ck_assert_uint_eq(f.seen_nargv, 2);
    for (int i = 1; i < 7; i++)
        ck_assert_int_eq(f.seen_body[i], DROVER__ENVELOPE__BODY_JOB_SHOW);
    free(out.buf);
    free(err.buf);
}
END_TEST

/* Logs: "hello " then "world\n" then an empty eof reply. */
static void s_script_logs(fake_t *f, int i, const dr_env_t *req, dr_env_t *rep)
{
    static Drover__JobLogs jl;
    static const char *chunks[] = {"hello ", "world\n", ""};
    drover__job_logs__init(&jl);
    f->seen_offset[i] = req->job_logs->offset;
    jl.data.data = (uint8_t *)chunks[i];
    jl.data.len = strlen(chunks[i]);
    jl.next_offset = req->job_logs->offset + jl.data.len;
    jl.eof = i == 2;
    jl.state = "running";
    rep->body_case = DROVER__ENVELOPE__BODY_JOB_LOGS_REPLY;
    rep->job_logs_reply = &jl;
}

START_TEST(test_job_logs)
{
    fake_t f;
    s_fake_start(&f, 3, s_script_logs);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    cap_t out = {0};
    s_capture(&ctx, &out, NULL);
    int rc = cli_job_logs(&ctx, 2, ARGV("5", "-f"));
    s_capture_end(&ctx, &out, NULL);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out.buf, "hello world\n");
    ck_assert_uint_eq(f.seen_offset[1], 6);
    ck_assert_uint_eq(f.seen_offset[2], 12);
    free(out.buf);
}
END_TEST
/* submit; then, by request kind: JobLogs queued and empty, JobShow
 * queued ("no node free"), JobLogs running with "a\n", JobShow running on
 * c-1, JobLogs running and empty, JobLogs failed with "b\n" and eof,
 * JobShow failed (exit 3), twice. */
static void s_script_follow(fake_t *f, int i, const dr_env_t *req,
                            dr_env_t *rep)
{
    static Drover__JobSubmitReply sr = DROVER__JOB_SUBMIT_REPLY__INIT;
    static Drover__JobLogs jl;
    static Drover__Job j;
    static char *nodes[] = {"c-1"};
    static const char *const logs[][2] = {[1] = {"queued", ""},
                                          [3] = {"running", "a\n"},
                                          [5] = {"running", ""},
                                          [6] = {"failed", "b\n"}};
    if (i == 0) {
        sr.id = 12;
        rep->body_case = DROVER__ENVELOPE__BODY_JOB_SUBMIT_REPLY;
        rep->job_submit_reply = &sr;
        return;
    }
    if (req->body_case == DROVER__ENVELOPE__BODY_JOB_LOGS) {
        f->seen_offset[i] = req->job_logs->offset;
        drover__job_logs__init(&jl);
        const char *st = i < 7 && logs[i][0] ? logs[i][0] : "failed";
        const char *data = i < 7 && logs[i][1] ? logs[i][1] : "";
        jl.state = (char *)st;
        jl.data.data = (uint8_t *)data;
        jl.data.len = strlen(data);
        jl.next_offset = req->job_logs->offset + jl.data.len;
        jl.eof = strcmp(st, "failed") == 0;
        rep->body_case = DROVER__ENVELOPE__BODY_JOB_LOGS_REPLY;
        rep->job_logs_reply = &jl;
        return;
    }
    drover__job__init(&j);
    j.id = req->job_show->id;
    j.state = i <= 2 ? "queued" : i <= 4 ? "running" : "failed";
    j.reason = i <= 2 ? "no node free" : "";
    if (i >= 4) {
        j.node_names = nodes;
        j.n_node_names = 1;
    }
    j.exit_code = i >= 7 ? 3 : 0;
    rep->body_case = DROVER__ENVELOPE__BODY_JOB_INFO;
    rep->job_info = &j;
}

START_TEST(test_submit_follow)
{
    fake_t f;
    s_fake_start(&f, 9, s_script_follow);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    cap_t out = {0}, err = {0};
    s_capture(&ctx, &out, &err);
    /* --follow implies --wait */
    int rc =
        cli_job_submit(&ctx, 5, ARGV("--cluster", "c1", "--follow", "--", "x"));
    s_capture_end(&ctx, &out, &err);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(ctx.exit_code, 3);
    ck_assert_str_eq(out.buf, "12\na\nb\n");
    /* the failed line of request 7 waits for the last output: once */
    ck_assert_str_eq(err.buf, "job 12: queued: no node free (waited 0s)\n"
                              "job 12: running on c-1\n"
                              "job 12: failed (exit 3)\n");
    const int L = DROVER__ENVELOPE__BODY_JOB_LOGS,
              S = DROVER__ENVELOPE__BODY_JOB_SHOW;
    const int want[] = {
        DROVER__ENVELOPE__BODY_JOB_SUBMIT, L, S, L, S, L, L, S, S};
    for (int i = 0; i < 9; i++)
        ck_assert_int_eq(f.seen_body[i], want[i]);
    ck_assert_uint_eq(f.seen_offset[5], 2);
    ck_assert_uint_eq(f.seen_offset[6], 2);
    free(out.buf);
    free(err.buf);
}
END_TEST

/* JobLogs queued and empty, JobShow queued ("no node free"), the same
 * again, then JobLogs canceled, empty, eof. */
static void s_script_logs_queued(fake_t *f, int i, const dr_env_t *req,
                                 dr_env_t *rep)
{
    static Drover__JobLogs jl;
    static Drover__Job j;
    (void)f;
    if (req->body_case == DROVER__ENVELOPE__BODY_JOB_LOGS) {
        drover__job_logs__init(&jl);
        jl.state = i < 4 ? "queued" : "canceled";
        jl.eof = i >= 4;
        rep->body_case = DROVER__ENVELOPE__BODY_JOB_LOGS_REPLY;
        rep->job_logs_reply = &jl;
        return;
    }
    drover__job__init(&j);
    j.id = req->job_show->id;
    j.state = "queued";
    j.reason = "no node free";
    rep->body_case = DROVER__ENVELOPE__BODY_JOB_INFO;
    rep->job_info = &j;
}

START_TEST(test_logs_follow_queued)
{
    fake_t f;
    s_fake_start(&f, 5, s_script_logs_queued);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    cap_t out = {0}, err = {0};
    s_capture(&ctx, &out, &err);
    int rc = cli_job_logs(&ctx, 2, ARGV("5", "-f"));
    s_capture_end(&ctx, &out, &err);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(ctx.exit_code, 0);
    ck_assert_uint_eq(out.len, 0);
    /* the reason once; no state line for the end */
    ck_assert_str_eq(err.buf, "job 5: queued: no node free (waited 0s)\n");
    free(out.buf);
    free(err.buf);
}
END_TEST

START_TEST(test_follow_refused)
{
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    cli_submit_t s;
    ck_assert_int_eq(cli_parse_submit(&ctx, 4,
                                      ARGV("--cluster", "c1", "--follow", "--"),
                                      &s),
                     DR_EINVAL); /* no command: the shape comes first */
    ck_assert_int_eq(
        cli_parse_submit(&ctx, 5,
                         ARGV("--cluster", "c1", "--follow", "--", "true"), &s),
        0);
    ck_assert_int_eq(s.wait, 1);
    ck_assert_int_eq(s.follow, 1);
    cli_submit_free(&s);
    ctx.usage = 0;
    ck_assert_int_eq(cli_parse_submit(&ctx, 7,
                                      ARGV("--cluster", "c1", "--array", "0-3",
                                           "--follow", "--", "true"),
                                      &s),
                     DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);
    ck_assert_str_eq(ctx.err, "--follow follows one job, not an array (see "
                              "drover job list)");
    ck_assert_int_eq(cli_parse_submit(&ctx, 7,
                                      ARGV("--cluster", "c1", "-o", "json",
                                           "--follow", "--", "true"),
                                      &s),
                     DR_EINVAL);
    ck_assert_ptr_nonnull(strstr(ctx.err, "not JSON: leave out -o json"));
    ctx.out = CLI_OUT_JSON;
    ck_assert_int_eq(cli_job_create(&ctx, 3, ARGV("-f", "x.yml", "--follow")),
                     DR_EINVAL);
    ck_assert_ptr_nonnull(strstr(ctx.err, "not JSON"));
    ctx.out = CLI_OUT_TABLE;
    ck_assert_int_eq(cli_job_create(&ctx, 1, ARGV("--wait")), DR_EINVAL);
    ck_assert_str_eq(ctx.err, "missing required option -f FILE");
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("cli_follow");
    TCase *tc = tcase_create("follow");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_submit_wait);
    tcase_add_test(tc, test_submit_follow);
    tcase_add_test(tc, test_job_logs);
    tcase_add_test(tc, test_logs_follow_queued);
    tcase_add_test(tc, test_follow_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cli_test_run(s_suite());
}
