/* check_cli_wire.c - unit tests of the drover CLI's commands end to end:
 * the timeout path against an endpoint nobody listens on, and whole
 * commands against the scripted scheduler of cli_fake.h (following a job:
 * check_cli_follow.c).  If the drover binary sits in the working directory
 * (ctest runs in the build dir) it also checks the binary's error line and
 * exit status.
 */
#include "cli_fake.h"

static Drover__GpuInfo s_g0, s_g1;
static Drover__GpuInfo *s_gpus2[] = {&s_g0, &s_g1};

/* ---- talking to a scheduler
 * --------------------------------------------------- */

START_TEST(test_timeout)
{
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = "tcp://127.0.0.1:1";
    ctx.timeout_ms = 300;
    cap_t out = {0};
    s_capture(&ctx, &out, NULL);
    int64_t t0 = dr_mono_ms();
    int rc = cli_cluster_list(&ctx, 0, NULL);
    int64_t dt = dr_mono_ms() - t0;
    s_capture_end(&ctx, &out, NULL);
    cli_disconnect(&ctx);
    ck_assert_int_eq(rc, DR_ETIMEOUT);
    /* the time, then what is likely wrong and where to look */
    ck_assert_ptr_eq(strstr(ctx.err, "scheduler at tcp://127.0.0.1:1 did not "
                                     "answer within 0.3 s. Likely:\n"),
                     ctx.err);
    ck_assert_ptr_nonnull(strstr(ctx.err, "no scheduler listens there"));
    ck_assert_ptr_nonnull(strstr(ctx.err, "'ss -ltn sport = :1'"));
    ck_assert_ptr_nonnull(strstr(ctx.err, "--timeout 30s"));
    ck_assert_int_ge(dt, 290);
    ck_assert_int_lt(dt, 3000);
    ck_assert_uint_eq(out.len, 0);
    free(out.buf);

    cli_ctx_init(&ctx);
    ctx.endpoint = "tcp://127.0.0.1:1";
    ctx.timeout_ms = 1000;
    Drover__ClusterListReq lr = DROVER__CLUSTER_LIST_REQ__INIT;
    dr_env_t req, *rep = NULL;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_CLUSTER_LIST;
    req.cluster_list = &lr;
    ctx.timeout_ms = 100;
    ck_assert_int_eq(cli_call(&ctx, &req, 0, &rep), DR_ETIMEOUT);
    ck_assert_ptr_null(rep);
    uint64_t first = req.request_id;
    ck_assert_int_eq(cli_call(&ctx, &req, 0, &rep), DR_ETIMEOUT);
    ck_assert_uint_eq(req.request_id, first + 1);
    cli_disconnect(&ctx);
}
END_TEST

static void s_script_clusters(fake_t *f, int i, const dr_env_t *req,
                              dr_env_t *rep)
{
    (void)f;
    (void)i;
    (void)req;
    static Drover__Cluster c = DROVER__CLUSTER__INIT;
    static Drover__Cluster *cs[] = {&c};
    static Drover__ClusterList cl = DROVER__CLUSTER_LIST__INIT;
    c.name = "c1";
    c.vm_size = "S";
    c.max_nodes = 4;
    c.allocation_state = "steady";
    c.vm_priority = "dedicated";
    c.location = "local";
    cl.clusters = cs;
    cl.n_clusters = 1;
    rep->body_case = DROVER__ENVELOPE__BODY_CLUSTER_LIST_REPLY;
    rep->cluster_list_reply = &cl;
}

START_TEST(test_cluster_list_roundtrip)
{
    fake_t f;
    s_fake_start(&f, 2, s_script_clusters);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    cap_t out = {0};
    s_capture(&ctx, &out, NULL);
    ck_assert_int_eq(cli_cluster_list(&ctx, 0, NULL), 0);
    ck_assert_int_eq(cli_cluster_list(&ctx, 2, ARGV("-o", "json")), 0);
    s_capture_end(&ctx, &out, NULL);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(f.seen_body[0], DROVER__ENVELOPE__BODY_CLUSTER_LIST);
    const char *table = "NAME  VM_SIZE  MIN  MAX  CURRENT  TARGET  STATE   "
                        "PRIORITY   LOCATION\n"
                        "c1    S        0    4    0        0       steady  "
                        "dedicated  local\n";
    ck_assert_int_eq(strncmp(out.buf, table, strlen(table)), 0);
    json_t *arr = json_loads(out.buf + strlen(table), 0, NULL);
    ck_assert(json_is_array(arr));
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(arr, 0), "name")),
        "c1");
    json_decref(arr);
    free(out.buf);
}
END_TEST

static void s_script_error(fake_t *f, int i, const dr_env_t *req, dr_env_t *rep)
{
    (void)i;
    static Drover__Error e = DROVER__ERROR__INIT;
    e.code = DR_EEXIST;
    e.message = "cluster 'c1' already exists";
    if (req->body_case == DROVER__ENVELOPE__BODY_CLUSTER_UPDATE)
        f->seen_mask = req->cluster_update->set_mask;
    rep->body_case = DROVER__ENVELOPE__BODY_ERROR;
    rep->error = &e;
}

START_TEST(test_error_reply)
{
    fake_t f;
    s_fake_start(&f, 2, s_script_error);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    ck_assert_int_eq(cli_cluster_create(&ctx, 4, ARGV("-n", "c1", "-s", "S")),
                     DR_EEXIST);
    ck_assert_str_eq(ctx.err, "cluster 'c1' already exists");
    ck_assert_int_eq(ctx.usage, 0);
    ck_assert_int_eq(
        cli_cluster_update(&ctx, 4, ARGV("-n", "c1", "--max-nodes", "2")),
        DR_EEXIST);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(f.seen_body[0], DROVER__ENVELOPE__BODY_CLUSTER_CREATE);
    ck_assert_int_eq(f.seen_body[1], DROVER__ENVELOPE__BODY_CLUSTER_UPDATE);
    ck_assert_uint_eq(f.seen_mask, 2);
}
END_TEST

/* Two pages of jobs: ids 1,2 (more) then 3. */
static void s_script_pages(fake_t *f, int i, const dr_env_t *req, dr_env_t *rep)
{
    static Drover__Job js[3];
    static Drover__Job *p0[] = {&js[0], &js[1]}, *p1[] = {&js[2]};
    static Drover__JobList jl;
    for (int k = 0; k < 3; k++) {
        drover__job__init(&js[k]);
        js[k].id = (uint64_t)k + 1;
        js[k].cluster = "c1";
        js[k].state = "queued";
    }
    drover__job_list__init(&jl);
    f->seen_after_id[i] = req->job_list->after_id;
    jl.jobs = i == 0 ? p0 : p1;
    jl.n_jobs = i == 0 ? 2 : 1;
    jl.more = i == 0;
    rep->body_case = DROVER__ENVELOPE__BODY_JOB_LIST_REPLY;
    rep->job_list_reply = &jl;
}

START_TEST(test_job_list_paging)
{
    fake_t f;
    s_fake_start(&f, 2, s_script_pages);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    cap_t out = {0};
    s_capture(&ctx, &out, NULL);
    int rc = cli_job_list(
        &ctx, 5, ARGV("--cluster", "c1", "--state", "queued", "-ojson"));
    /* "-ojson" is not an option form we accept: usage error, no request. */
    ck_assert_int_eq(rc, DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);
    ctx.usage = 0;
    rc = cli_job_list(
        &ctx, 6, ARGV("--cluster", "c1", "--state", "queued", "-o", "json"));
    s_capture_end(&ctx, &out, NULL);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(f.seen_after_id[0], 0);
    ck_assert_uint_eq(f.seen_after_id[1], 2);
    json_t *arr = json_loads(out.buf, 0, NULL);
    ck_assert_int_eq(json_array_size(arr), 3);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_array_get(arr, 2), "id")), 3);
    json_decref(arr);
    free(out.buf);
}
END_TEST

START_TEST(test_exit_status)
{
    Drover__Job j;
    drover__job__init(&j);
    j.state = "succeeded";
    ck_assert_int_eq(cli_job_exit_status(&j), 0);
    j.state = "failed";
    ck_assert_int_eq(cli_job_exit_status(&j), 1);
    j.exit_code = 7;
    ck_assert_int_eq(cli_job_exit_status(&j), 7);
    j.state = "canceled";
    ck_assert_int_eq(cli_job_exit_status(&j), 130);
    j.state = "running";
    ck_assert_int_eq(cli_job_exit_status(&j), -1);
}
END_TEST

/* quota set, then quota list; both answered with the same two quotas. */
static void s_script_quota(fake_t *f, int i, const dr_env_t *req, dr_env_t *rep)
{
    static Drover__Quota q1, q2;
    static Drover__Quota *qs[] = {&q1, &q2};
    static Drover__QuotaList ql;
    if (i == 0 && req->quota_set) {
        snprintf(f->seen_name, sizeof f->seen_name, "%s",
                 req->quota_set->family);
        snprintf(f->seen_prio, sizeof f->seen_prio, "%s",
                 req->quota_set->vm_priority);
        f->seen_cores = req->quota_set->cores;
    }
    drover__quota__init(&q1);
    drover__quota__init(&q2);
    q1.family = "standardDv2Family";
    q1.dedicated_cores = -1;
    q1.lowpriority_cores = 8;
    q1.dedicated_used = 6;
    q2.family = "standardNCFamily";
    q2.dedicated_cores = 24;
    q2.lowpriority_cores = -1;
    q2.dedicated_used = 12;
    q2.lowpriority_used = 4;
    drover__quota_list__init(&ql);
    ql.quotas = qs;
    ql.n_quotas = 2;
    rep->body_case = DROVER__ENVELOPE__BODY_QUOTA_LIST_REPLY;
    rep->quota_list_reply = &ql;
}

START_TEST(test_quota_roundtrip)
{
    fake_t f;
    s_fake_start(&f, 2, s_script_quota);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    cap_t out = {0};
    s_capture(&ctx, &out, NULL);
    ck_assert_int_eq(
        cli_quota_set(&ctx, 6,
                      ARGV("--family", "standardDv2Family", "--cores", "8",
                           "--vm-priority", "lowpriority")),
        0);
    /* a bad flag never reaches the scheduler */
    ck_assert_int_eq(cli_quota_list(&ctx, 1, ARGV("extra")), DR_EINVAL);
    ck_assert_int_eq(ctx.usage, 1);
    ctx.usage = 0;
    ck_assert_int_eq(cli_quota_list(&ctx, 2, ARGV("-o", "json")), 0);
    s_capture_end(&ctx, &out, NULL);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(f.seen_body[0], DROVER__ENVELOPE__BODY_QUOTA_SET);
    ck_assert_int_eq(f.seen_body[1], DROVER__ENVELOPE__BODY_QUOTA_LIST);
    ck_assert_str_eq(f.seen_name, "standardDv2Family");
    ck_assert_str_eq(f.seen_prio, "lowpriority");
    ck_assert_int_eq(f.seen_cores, 8);
    const char *table =
        "LOCATION  FAMILY             DEDICATED    LOWPRIORITY\n"
        "(all)     standardDv2Family  6/unlimited  0/8\n"
        "(all)     standardNCFamily   12/24        4/unlimited\n";
    ck_assert_int_eq(strncmp(out.buf, table, strlen(table)), 0);
    json_t *arr = json_loads(out.buf + strlen(table), 0, NULL);
    ck_assert(json_is_array(arr));
    ck_assert_int_eq(json_array_size(arr), 2);
    json_t *q = json_array_get(arr, 0);
    ck_assert_str_eq(json_string_value(json_object_get(q, "family")),
                     "standardDv2Family");
    ck_assert_int_eq(json_integer_value(json_object_get(q, "dedicated_cores")),
                     -1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(arr, 1),
                                                        "lowpriority_used")),
                     4);
    json_decref(arr);
    free(out.buf);
}
END_TEST

/* node show, node preempt, cluster lock, cluster events, node show of a
 * node the scheduler does not know. */
static void s_script_node(fake_t *f, int i, const dr_env_t *req, dr_env_t *rep)
{
    static Drover__Node n;
    static Drover__Ok ok = DROVER__OK__INIT;
    static Drover__Cluster c = DROVER__CLUSTER__INIT;
    static Drover__Event ev = DROVER__EVENT__INIT;
    static Drover__Event *evs[] = {&ev};
    static Drover__EventList el = DROVER__EVENT_LIST__INIT;
    static Drover__Error e = DROVER__ERROR__INIT;
    switch (req->body_case) {
    case DROVER__ENVELOPE__BODY_NODE_SHOW:
        if (strcmp(req->node_show->name, "g-0") != 0) {
            e.code = DR_ENOENT;
            e.message = "no node 'nope'";
            rep->body_case = DROVER__ENVELOPE__BODY_ERROR;
            rep->error = &e;
            return;
        }
        cli_test_gpu_node(&n, s_gpus2);
        rep->body_case = DROVER__ENVELOPE__BODY_NODE_INFO;
        rep->node_info = &n;
        return;
    case DROVER__ENVELOPE__BODY_NODE_PREEMPT:
        snprintf(f->seen_name, sizeof f->seen_name, "%s",
                 req->node_preempt->name);
        ok.message = i == 1 ? "node g-0: preemption drill started" : "";
        rep->body_case = DROVER__ENVELOPE__BODY_OK;
        rep->ok = &ok;
        return;
    case DROVER__ENVELOPE__BODY_CLUSTER_LOCK:
        f->seen_locked = req->cluster_lock->locked ? 1 : 2;
        c.name = req->cluster_lock->name;
        c.locked = req->cluster_lock->locked;
        rep->body_case = DROVER__ENVELOPE__BODY_CLUSTER_INFO;
        rep->cluster_info = &c;
        return;
    case DROVER__ENVELOPE__BODY_CLUSTER_EVENTS:
        f->seen_limit = req->cluster_events->limit;
        ev.ts_ms = 1700000000000;
        ev.kind = "cluster_locked";
        ev.cluster = req->cluster_events->name;
        el.events = evs;
        el.n_events = 1;
        rep->body_case = DROVER__ENVELOPE__BODY_EVENT_LIST_REPLY;
        rep->event_list_reply = &el;
        return;
    default:
        return;
    }
    (void)i;
}

START_TEST(test_node_roundtrip)
{
    fake_t f;
    s_fake_start(&f, 7, s_script_node);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    ctx.endpoint = f.endpoint;
    cap_t out = {0};
    s_capture(&ctx, &out, NULL);
    ck_assert_int_eq(cli_node_show(&ctx, 1, ARGV("g-0")), 0);
    ck_assert_int_eq(cli_node_preempt(&ctx, 1, ARGV("g-0")), 0);
    ck_assert_int_eq(cli_cluster_lock(&ctx, 2, ARGV("-n", "c1")), 0);
    ck_assert_int_eq(
        cli_cluster_events(&ctx, 4, ARGV("-n", "c1", "--limit", "5")), 0);
    ck_assert_int_eq(cli_node_show(&ctx, 1, ARGV("nope")), DR_ENOENT);
    ck_assert_str_eq(ctx.err, "no node 'nope'");
    ck_assert_int_eq(ctx.usage, 0);
    size_t text_len = 0;
    fflush(ctx.fout);
    text_len = out.len;
    ctx.out = CLI_OUT_JSON;
    ck_assert_int_eq(cli_node_show(&ctx, 1, ARGV("g-0")), 0);
    ck_assert_int_eq(cli_node_preempt(&ctx, 1, ARGV("g-0")), 0);
    s_capture_end(&ctx, &out, NULL);
    cli_disconnect(&ctx);
    s_fake_stop(&f);
    ck_assert_int_eq(f.seen_body[0], DROVER__ENVELOPE__BODY_NODE_SHOW);
    ck_assert_int_eq(f.seen_body[1], DROVER__ENVELOPE__BODY_NODE_PREEMPT);
    ck_assert_int_eq(f.seen_body[2], DROVER__ENVELOPE__BODY_CLUSTER_LOCK);
    ck_assert_int_eq(f.seen_body[3], DROVER__ENVELOPE__BODY_CLUSTER_EVENTS);
    ck_assert_str_eq(f.seen_name, "g-0");
    ck_assert_int_eq(f.seen_locked, 1);
    ck_assert_uint_eq(f.seen_limit, 5);

    char *text = strndup(out.buf, text_len);
    ck_assert_ptr_nonnull(strstr(text, "name: g-0\ncluster: gpu\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "gpu 1: GPU-1111 Tesla V100-PCIE-16GB 16384 MB, used "
                     "1200 MB, util 15%/3%, 45 C, 60/250 W, ecc 7, "
                     "unhealthy\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nnode g-0: preemption drill started\n"
                                       "name: c1\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nlocked: yes\n"));
    ck_assert_ptr_nonnull(strstr(
        text, "TIME                  KIND            NODE  JOB  MESSAGE\n"
              "2023-11-14T22:13:20Z  cluster_locked  -     -    -\n"));
    free(text);

    /* the JSON node object, then the preempt answer with no message */
    json_error_t jerr;
    json_t *o = json_loads(out.buf + text_len, JSON_DISABLE_EOF_CHECK, &jerr);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "name")), "g-0");
    ck_assert_int_eq(json_array_size(json_object_get(o, "gpus")), 2);
    json_decref(o);
    json_t *p = json_loads(out.buf + text_len + jerr.position,
                           JSON_DISABLE_EOF_CHECK, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(json_string_value(json_object_get(p, "name")), "g-0");
    ck_assert_str_eq(json_string_value(json_object_get(p, "message")), "");
    json_decref(p);
    free(out.buf);
}
END_TEST

/* The real binary, when ctest runs us next to it. */
START_TEST(test_binary)
{
    if (access("./drover", X_OK) != 0)
        return;
    int st = system("DROVER_TIMEOUT_MS=500 ./drover --scheduler "
                    "tcp://127.0.0.1:1 cluster list >cli_out.txt "
                    "2>cli_err.txt");
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 1);
    FILE *fp = fopen("cli_err.txt", "r");
    ck_assert_ptr_nonnull(fp);
    char line[1024] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    ck_assert_str_eq(line, "drover: error: scheduler at tcp://127.0.0.1:1 did "
                           "not answer within 0.5 s. Likely:\n");
    /* the next lines: both causes, each with the command that checks it */
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    ck_assert_ptr_nonnull(strstr(line, "pgrep -a drover-scheduler"));
    ck_assert_ptr_nonnull(strstr(line, "ss -ltn sport = :1"));
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    /* cli_test.h sets DROVER_INSECURE=1 (for the fake scheduler) */
    ck_assert_msg(strstr(line, "grep refused") || strstr(line, "--insecure"),
                  "%s", line);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    ck_assert_ptr_nonnull(strstr(line, "--timeout 30s"));
    fclose(fp);
    st = system("./drover job submit --cluster c1 true >cli_out.txt "
                "2>cli_err.txt");
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 2);
    st = system("./drover job submit --cluster c1 --memory 2Q -- true "
                ">cli_out.txt 2>cli_err.txt");
    ck_assert_int_eq(WEXITSTATUS(st), 1);
    fp = fopen("cli_err.txt", "r");
    ck_assert_ptr_nonnull(fp);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    fclose(fp);
    ck_assert_str_eq(line, "drover: error: malformed memory size '2Q'\n");

    /* the new commands: usage errors exit 2, bad values 1, before any
     * request (the endpoint answers nobody) */
    static const struct {
        const char *args;
        int status;
        const char *err;
    } cmds[] = {
        {"quota set --cores 4", 2,
         "drover: error: missing --family FAMILY (or --total)\n"},
        {"quota set --family std-x --cores 4", 1,
         "drover: error: invalid --family 'std-x' (1-63 letters, digits or "
         "'_', e.g. standardDv2Family)\n"},
        {"quota set --family f --cores -2", 1,
         "drover: error: invalid --cores '-2': expected an integer from 0 to "
         "100000000\n"},
        {"quota list x", 2, "drover: error: unexpected argument 'x'\n"},
        {"node show", 2, "drover: error: missing node NAME\n"},
        {"node preempt a/b", 1,
         "drover: error: invalid node name 'a/b' (1-63 letters, digits, '-' "
         "or '_', starting with a letter or digit)\n"},
        {"cluster lock", 2,
         "drover: error: missing required option -n "
         "NAME\n"},
        {"cluster unlock -n c1 x", 2,
         "drover: error: unexpected argument "
         "'x'\n"},
        {"cluster events -n c1 --limit 0", 1,
         "drover: error: invalid --limit '0': expected an integer from 1 to "
         "10000\n"},
        {"cluster create -n c1 -s S --resume-program /r", 2,
         "drover: error: --resume-program needs --provider exec\n"},
        {"cluster create -n c1 -s S --provider http --provider-url x", 1,
         "drover: error: invalid --provider-url 'x': expected http://HOST... "
         "or https://HOST...\n"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "DROVER_TIMEOUT_MS=200 ./drover --scheduler tcp://127.0.0.1:1 "
                 "%s >cli_out.txt 2>cli_err.txt",
                 cmds[i].args);
        st = system(cmd);
        ck_assert(WIFEXITED(st));
        ck_assert_msg(WEXITSTATUS(st) == cmds[i].status, "'%s' exit %d",
                      cmds[i].args, WEXITSTATUS(st));
        fp = fopen("cli_err.txt", "r");
        ck_assert_ptr_nonnull(fp);
        line[0] = '\0';
        ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
        fclose(fp);
        ck_assert_str_eq(line, cmds[i].err);
    }
    /* help lists every new command */
    st = system("./drover help >cli_out.txt 2>cli_err.txt");
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    fp = fopen("cli_out.txt", "r");
    ck_assert_ptr_nonnull(fp);
    char help[8192];
    size_t hn = fread(help, 1, sizeof help - 1, fp);
    help[hn] = '\0';
    fclose(fp);
    const char *want[] = {"  quota set [--location L] --family FAMILY|--total "
                          "--cores N|unlimited",
                          "  quota list\n",
                          "  node show NAME\n",
                          "  node preempt NAME\n",
                          "  cluster lock -n NAME\n",
                          "  cluster unlock -n NAME\n",
                          "  cluster events -n NAME [--limit N]\n",
                          "--provider local|exec|http",
                          "--provider-url URL"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(help, want[i]), "help lacks '%s'", want[i]);
    unlink("cli_out.txt");
    unlink("cli_err.txt");
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc_output = tcase_create("output");
    tcase_add_test(tc_output, test_exit_status);
    suite_add_tcase(s, tc_output);
    TCase *tc_wire = tcase_create("wire");
    tcase_set_timeout(tc_wire, 30);
    tcase_add_test(tc_wire, test_timeout);
    tcase_add_test(tc_wire, test_cluster_list_roundtrip);
    tcase_add_test(tc_wire, test_error_reply);
    tcase_add_test(tc_wire, test_job_list_paging);
    tcase_add_test(tc_wire, test_quota_roundtrip);
    tcase_add_test(tc_wire, test_node_roundtrip);
    tcase_add_test(tc_wire, test_binary);
    suite_add_tcase(s, tc_wire);
    return s;
}

int main(void)
{
    return cli_test_run(s_suite());
}
