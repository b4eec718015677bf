/* check_agent.c - unit tests of the node agent: flags, the process runtime,
 * hollow-task timing, and the protocol against a fake scheduler (a ROUTER
 * socket in this process, driven step by step with agent_step()). */
#include "agent.h"
#include "agent_cfg.h"
#include "dr_err.h"
#include "fake_sched.h"
#include "lease.h"
#include "runtime_process.h"
#include "sim.h"
#include "util.h"
#include "wire.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

/* ---- helpers ----------------------------------------------------------------
 */

static void s_setup(void)
{
    s_dir_make("check-agent");
}

/* Alive = exists and is not a zombie. */
static int s_alive(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z';
}

typedef struct {
    dr_buf_t out[2];
    int exit_code, term_signal;
} s_result_t;

/* Runs the runtime's loop: poll the pipes, read, reap, until done or the
 * deadline; optionally signals the group after `signal_after_ms`. */
static int s_drive(runtime_process_t *p, s_result_t *res, int timeout_ms,
                   int signal_after_ms, int sig)
{
    int64_t start = dr_mono_ms();
    char buf[4096];
    memset(res, 0, sizeof *res);
    while (dr_mono_ms() - start < timeout_ms) {
        if (sig && signal_after_ms >= 0 &&
            dr_mono_ms() - start >= signal_after_ms) {
            ck_assert_int_eq(runtime_process_signal(p, sig), 0);
            signal_after_ms = -1;
        }
        struct pollfd pf[2];
        int n = 0;
        for (int s = 0; s < 2; s++) {
            int fd = runtime_process_fd(p, s);
            if (fd >= 0)
                pf[n++] = (struct pollfd){fd, POLLIN, 0};
        }
        if (n)
            poll(pf, (nfds_t)n, 20);
        else
            usleep(20000);
        for (int s = 0; s < 2; s++) {
            int r;
            while ((r = runtime_process_read(p, s, buf, sizeof buf)) > 0)
                dr_buf_append(&res->out[s], buf, (size_t)r);
        }
        runtime_process_poll_exit(p);
        if (runtime_process_done(p)) {
            ck_assert_int_eq(
                runtime_process_status(p, &res->exit_code, &res->term_signal),
                0);
            return 0;
        }
    }
    return DR_ETIMEOUT;
}

static char *s_env_default[] = {"PATH=/usr/local/bin:/usr/bin:/bin", NULL};

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = dr_calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* ---- flags
 * ------------------------------------------------------------------- */

/* s_parse, and a refusal must say why. */
static int s_flags(agent_cfg_t *cfg, const char *const *args)
{
    char err[256];
    int rc = s_parse(cfg, args, err, sizeof err);
    if (rc < 0)
        ck_assert_msg(err[0] != '\0', "error message expected");
    return rc;
}

START_TEST(test_flags_ok)
{
    agent_cfg_t cfg;
    const char *a[] = {S_BASE, "--heartbeat-ms=250", "--grace-ms",
                       "0",    "--log-level",        "debug",
                       NULL};
    ck_assert_int_eq(s_flags(&cfg, a), 0);
    ck_assert_str_eq(cfg.name, "n1");
    ck_assert_str_eq(cfg.scheduler, "tcp://127.0.0.1:7700");
    ck_assert_str_eq(cfg.work_dir, "/tmp/drover-agent-n1");
    ck_assert_int_eq(cfg.cpus, 4);
    ck_assert_int_eq(cfg.memory_mb, 8192);
    ck_assert_int_eq(cfg.heartbeat_ms, 250);
    ck_assert_int_eq(cfg.grace_ms, 0);
    ck_assert_int_eq(cfg.simulate, 0);
    agent_cfg_free(&cfg);
}
END_TEST

START_TEST(test_flags_bad)
{
    agent_cfg_t cfg;
    const char *bad[][16] = {
        {S_BASE, "--bogus", "1", NULL},
        {S_BASE, "--heartbeat-ms", NULL},
        {"--name", "n1", "--cluster", "c1", "--vm-size", "small", "--cpus", "0",
         "--memory-mb", "8192", NULL},
        {"--name", "n1", "--cluster", "c1", "--vm-size", "small", "--cpus",
         "-3", "--memory-mb", "8192", NULL},
        {"--name", "n1", "--cluster", "c1", "--vm-size", "small", "--cpus",
         "4x", "--memory-mb", "8192", NULL},
        {"--name", "bad name", "--cluster", "c1", "--vm-size", "small",
         "--cpus", "4", "--memory-mb", "8192", NULL},
        {"--name", "-n", "--cluster", "c1", "--vm-size", "small", "--cpus", "4",
         "--memory-mb", "8192", NULL},
        {"--name", "n1", "--cluster", "c1", "--vm-size", "small", "--cpus", "4",
         NULL},
        {S_BASE, "--log-level", "loud", NULL},
        {S_BASE, "--simulate", "0", NULL},
        {S_BASE, "--simulate", "many", NULL},
        {S_BASE, "--cpus", "8", NULL},
        {S_BASE, "stray", NULL},
        {S_BASE, "--memory-mb", "", NULL},
        {S_BASE, "--scheduler", "localhost:7700", NULL},
        {S_BASE, "--work-dir", "relative/dir", NULL},
        {S_BASE, "--name", "again", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(s_flags(&cfg, bad[i]) == DR_EINVAL, "case %zu accepted",
                      i);
}
END_TEST

/* ---- runtime
 * ------------------------------------------------------------------ */

START_TEST(test_runtime_exit_and_output)
{
    char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    char dir[300], reason[256] = "";
    snprintf(dir, sizeof dir, "%s/t1", s_dir);
    runtime_process_spec_t spec = {argv, s_env_default, dir, NULL, 0};
    runtime_process_t *p = NULL;
    ck_assert_int_eq(runtime_process_start(&spec, &p, reason, sizeof reason),
                     0);
    s_result_t res;
    ck_assert_int_eq(s_drive(p, &res, 10000, -1, 0), 0);
    ck_assert_int_eq(res.exit_code, 3);
    ck_assert_int_eq(res.term_signal, 0);
    ck_assert_str_eq(res.out[0].data, "out\n");
    ck_assert_str_eq(res.out[1].data, "err\n");
    runtime_process_destroy(&p);
    ck_assert_ptr_null(p);
    /* one copy of the output: the scheduler's log, none in the task dir */
    char path[400];
    snprintf(path, sizeof path, "%s/stdout", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/stderr", dir);
    ck_assert_int_ne(access(path, F_OK), 0);
    dr_buf_free(&res.out[0]);
    dr_buf_free(&res.out[1]);
}
END_TEST

/* The node's lease runs out while the task runs: its shim kills the whole
 * task by itself (the agent may be frozen), well before the task would
 * end; a lease that is renewed in time kills nothing. */
START_TEST(test_runtime_lease_fences)
{
    char *argv[] = {"sh", "-c", "sleep 30 & sleep 30; wait", NULL};
    char dir[300], reason[256] = "";
    snprintf(dir, sizeof dir, "%s/t-lease", s_dir);
    lease_t *l = lease_new();
    ck_assert_ptr_nonnull(l);
    lease_sent(l, 0, dr_mono_ms());
    lease_answered(l, 0, 400);
    runtime_process_spec_t spec = {argv, s_env_default, dir, lease_word(l), 0};
    runtime_process_t *p = NULL;
    ck_assert_int_eq(runtime_process_start(&spec, &p, reason, sizeof reason),
                     0);
    int64_t t0 = dr_mono_ms();
    s_result_t res;
    ck_assert_int_eq(s_drive(p, &res, 10000, -1, 0), 0);
    int64_t took = dr_mono_ms() - t0;
    ck_assert_int_eq(res.term_signal, SIGKILL);
    ck_assert_int_lt(took, 3000);
    runtime_process_destroy(&p);
    dr_buf_free(&res.out[0]);
    dr_buf_free(&res.out[1]);

    /* renewed every 100 ms: the task ends by itself */
    char *argv2[] = {"sh", "-c", "sleep 1; exit 5", NULL};
    runtime_process_spec_t spec2 = {argv2, s_env_default, dir, lease_word(l),
                                    0};
    lease_sent(l, 1, dr_mono_ms());
    lease_answered(l, 1, 400);
    ck_assert_int_eq(runtime_process_start(&spec2, &p, reason, sizeof reason),
                     0);
    int64_t start = dr_mono_ms();
    uint64_t seq = 2;
    while (!runtime_process_poll_exit(p) && dr_mono_ms() - start < 5000) {
        lease_sent(l, seq, dr_mono_ms());
        lease_answered(l, seq++, 400);
        usleep(100000);
    }
    int code = -1, sig = -1;
    ck_assert_int_eq(runtime_process_status(p, &code, &sig), 0);
    ck_assert_int_eq(code, 5);
    ck_assert_int_eq(sig, 0);
    runtime_process_destroy(&p);
    lease_destroy(&l);
}
END_TEST

/* Isolated tasks (their own PID and mount namespaces): one task cannot
 * see another's processes or read its environment (where its identity
 * secret lives), and the group's SIGTERM still ends it as before. */
START_TEST(test_runtime_isolation)
{
    char why[256];
    if (!runtime_process_can_isolate(why, sizeof why)) {
        /* as root (CI, the agent's systemd unit) isolation must work; a
         * plain user's build only says that it could not test it */
        ck_assert_msg(geteuid() != 0, "root cannot isolate tasks: %s", why);
        fprintf(stderr, "test_runtime_isolation: not root: not tested\n");
        return;
    }
    char dir[300], reason[256] = "";
    snprintf(dir, sizeof dir, "%s/t-iso-a", s_dir);
    char *envp_a[] = {"PATH=/usr/bin:/bin", "SECRET_TOKEN=s3cr3t-of-a", NULL};
    char *argv_a[] = {"sleep", "30", NULL};
    runtime_process_spec_t a = {argv_a, envp_a, dir, NULL, 1};
    runtime_process_t *pa = NULL;
    ck_assert_int_eq(runtime_process_start(&a, &pa, reason, sizeof reason), 0);
    /* b looks for a's secret in every environ it can see, and counts the
     * processes it sees */
    char *argv_b[] = {"sh", "-c",
                      "cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' "
                      "| grep -c s3cr3t; ls -d /proc/[0-9]* | wc -l; "
                      "echo pid=$$",
                      NULL};
    snprintf(dir, sizeof dir, "%s/t-iso-b", s_dir);
    runtime_process_spec_t b = {argv_b, s_env_default, dir, NULL, 1};
    runtime_process_t *pb = NULL;
    ck_assert_int_eq(runtime_process_start(&b, &pb, reason, sizeof reason), 0);
    s_result_t res;
    ck_assert_int_eq(s_drive(pb, &res, 10000, -1, 0), 0);
    ck_assert_int_eq(res.exit_code, 0);
    /* no secret; init, sh and the pipeline's few processes; sh is pid 2 */
    ck_assert_msg(strncmp(res.out[0].data, "0\n", 2) == 0, "saw: %s",
                  res.out[0].data);
    int nproc = atoi(strchr(res.out[0].data, '\n') + 1);
    ck_assert_int_le(nproc, 6);
    ck_assert_ptr_nonnull(strstr(res.out[0].data, "pid=2\n"));
    runtime_process_destroy(&pb);
    dr_buf_free(&res.out[0]);
    dr_buf_free(&res.out[1]);
    /* the cancel path: SIGTERM to the group ends the job with 143 */
    ck_assert_int_eq(s_drive(pa, &res, 10000, 100, SIGTERM), 0);
    ck_assert_int_eq(res.exit_code, 128 + SIGTERM);
    runtime_process_destroy(&pa);
    dr_buf_free(&res.out[0]);
    dr_buf_free(&res.out[1]);
}
END_TEST

START_TEST(test_runtime_env_and_cwd)
{
    char *argv[] = {"sh", "-c", "echo \"$FOO $(pwd)\"; cat", NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", "FOO=bar", NULL};
    char dir[300], reason[256] = "";
    snprintf(dir, sizeof dir, "%s/t-env", s_dir);
    runtime_process_spec_t spec = {argv, envp, dir, NULL, 0};
    runtime_process_t *p = NULL;
    ck_assert_int_eq(runtime_process_start(&spec, &p, reason, sizeof reason),
                     0);
    s_result_t res;
    ck_assert_int_eq(s_drive(p, &res, 10000, -1, 0), 0);
    ck_assert_int_eq(res.exit_code, 0); /* cat read /dev/null */
    char want[400];
    snprintf(want, sizeof want, "bar %s\n", dir);
    ck_assert_str_eq(res.out[0].data, want);
    runtime_process_destroy(&p);
    dr_buf_free(&res.out[0]);
    dr_buf_free(&res.out[1]);
}
END_TEST

START_TEST(test_runtime_exec_failure)
{
    char *argv[] = {"drover-no-such-command", "x", NULL};
    char dir[300], reason[256] = "";
    snprintf(dir, sizeof dir, "%s/t2", s_dir);
    runtime_process_spec_t spec = {argv, s_env_default, dir, NULL, 0};
    runtime_process_t *p = NULL;
    int rc = runtime_process_start(&spec, &p, reason, sizeof reason);
    ck_assert_int_eq(rc, DR_ESYS);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(
        reason, "exec 'drover-no-such-command': No such file or directory");
    /* No zombie left behind. */
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(test_runtime_cancel_group)
{
    char *argv[] = {"sh", "-c", "sleep 60 & echo $! > bg.pid; sleep 60", NULL};
    char dir[300], reason[256] = "";
    snprintf(dir, sizeof dir, "%s/t3", s_dir);
    runtime_process_spec_t spec = {argv, s_env_default, dir, NULL, 0};
    runtime_process_t *p = NULL;
    ck_assert_int_eq(runtime_process_start(&spec, &p, reason, sizeof reason),
                     0);
    /* Wait for the background child to exist. */
    char path[400];
    snprintf(path, sizeof path, "%s/bg.pid", dir);
    pid_t bg = 0;
    for (int i = 0; i < 200 && bg <= 0; i++) {
        char *s = s_slurp(path);
        if (s)
            bg = atoi(s);
        free(s);
        if (bg <= 0)
            usleep(10000);
    }
    ck_assert_int_gt(bg, 0);
    ck_assert(s_alive(bg));
    int64_t t0 = dr_mono_ms();
    s_result_t res;
    ck_assert_int_eq(s_drive(p, &res, 3000, 0, SIGTERM), 0);
    ck_assert_int_lt(dr_mono_ms() - t0, 3000);
    ck_assert_int_eq(res.term_signal, SIGTERM);
    ck_assert_int_eq(res.exit_code, 128 + SIGTERM);
    for (int i = 0; i < 100 && s_alive(bg); i++)
        usleep(10000);
    ck_assert_msg(!s_alive(bg), "background child %d survived", (int)bg);
    runtime_process_destroy(&p);
    dr_buf_free(&res.out[0]);
    dr_buf_free(&res.out[1]);
}
END_TEST

START_TEST(test_runtime_destroy_kills)
{
    char *argv[] = {"sleep", "60", NULL};
    char dir[300], reason[256] = "";
    snprintf(dir, sizeof dir, "%s/t4", s_dir);
    runtime_process_spec_t spec = {argv, s_env_default, dir, NULL, 0};
    runtime_process_t *p = NULL;
    ck_assert_int_eq(runtime_process_start(&spec, &p, reason, sizeof reason),
                     0);
    pid_t pid = runtime_process_pid(p);
    ck_assert(s_alive(pid));
    runtime_process_destroy(&p);
    ck_assert(!s_alive(pid));
    runtime_process_destroy(&p); /* NULL is fine */
}
END_TEST

/* ---- sim --------------------------------------------------------------------
 */

START_TEST(test_sim_duration_and_heap)
{
    char *a1[] = {"sleep", "1.5"}, *a2[] = {"sleep", "-1"},
         *a3[] = {"echo", "hi"}, *a4[] = {"sleep", "2x"},
         *a5[] = {"sleep", "nan"};
    ck_assert_int_eq(sim_duration_ms(a1, 2), 1500);
    ck_assert_int_eq(sim_duration_ms(a2, 2), 0);
    ck_assert_int_eq(sim_duration_ms(a3, 2), 0);
    ck_assert_int_eq(sim_duration_ms(a4, 2), 0);
    ck_assert_int_eq(sim_duration_ms(a5, 2), 0);
    ck_assert_int_eq(sim_duration_ms(a1, 1), 0);
    sim_heap_t *h = sim_heap_new();
    for (int i = 0; i < 1000; i++) {
        sim_timer_t t = {(i * 7919) % 1000, (size_t)i, (uint64_t)i, 1};
        sim_heap_push(h, &t);
    }
    sim_timer_t t;
    int64_t last = -1;
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(sim_heap_pop(h, &t), 0);
        ck_assert_int_ge(t.at_ms, last);
        last = t.at_ms;
    }
    ck_assert_int_eq(sim_heap_pop(h, &t), DR_ENOENT);
    sim_heap_destroy(&h);
    ck_assert_ptr_null(h);
}
END_TEST

/* ---- the agent against a fake scheduler
 * ---------------------------------------- */

/* Output must come in order: each chunk starts where the last one ended. */
static void s_take_in_order(s_fake_t *f, const Drover__TaskOutput *o)
{
    int s = o->stream == DROVER__STREAM__STREAM_STDERR;
    ck_assert_int_eq(o->offset, f->out[s].len);
    dr_buf_append(&f->out[s], o->data.data, o->data.len);
}

static void s_fake_start(s_fake_t *f, const char *extra1, const char *extra2)
{
    const char *a[] = {S_BASE, "--heartbeat-ms", "200",  "--grace-ms",
                       "300",  extra1,           extra2, NULL};
    s_fake_init(f, 0);
    f->take_output = s_take_in_order;
    s_fake_agent(f, a);
}

static void s_register(s_fake_t *f)
{
    dr_env_t *env = s_expect(f, DROVER__ENVELOPE__BODY_REGISTER, 0, 5000);
    ck_assert_ptr_nonnull(env);
    ck_assert_str_eq(f->rid, "n1");
    ck_assert_str_eq(env->register_->node_name, "n1");
    ck_assert_str_eq(env->register_->cluster, "c1");
    ck_assert_int_eq(env->register_->cpus, 4);
    ck_assert_int_ge(env->register_->n_runtimes, 1); /* + docker */
    ck_assert_str_eq(env->register_->runtimes[0], "process");
    wire_free(&env);
    s_register_ack(f, 0);
}

static void s_task_start(s_fake_t *f, uint64_t job, uint32_t attempt,
                         char **argv, size_t argc, uint32_t limit)
{
    Drover__TaskStart ts = DROVER__TASK_START__INIT;
    ts.job_id = job;
    ts.attempt = attempt;
    ts.argv = argv;
    ts.n_argv = argc;
    ts.time_limit_s = limit;
    ts.cpus = 1;
    ts.nodes = 1;
    s_send_task_start(f, &ts);
}

START_TEST(test_agent_task_lifecycle)
{
    s_fake_t f;
    s_fake_start(&f, NULL, NULL);
    s_register(&f);
    dr_env_t *env = s_expect(&f, DROVER__ENVELOPE__BODY_HEARTBEAT, 0, 2000);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_ge(env->heartbeat->seq, 1);
    wire_free(&env);

    char *argv[] = {
        "sh", "-c",
        "echo out $DROVER_JOB_ID $DROVER_ATTEMPT $DROVER_NODE_NAME; "
        "echo err >&2; exit 3"};
    s_task_start(&f, 12, 1, argv, 3, 0);
    env = s_expect(&f, DROVER__ENVELOPE__BODY_TASK_UPDATE,
                   DROVER__TASK_STATE__TASK_RUNNING, 5000);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_gt(env->task_update->report->started_at_ms, 0);
    s_ack(&f, env->task_update->report);
    wire_free(&env);
    /* A duplicate TaskStart is ignored. */
    s_task_start(&f, 12, 1, argv, 3, 0);
    env = s_expect(&f, DROVER__ENVELOPE__BODY_TASK_UPDATE,
                   DROVER__TASK_STATE__TASK_EXITED, 5000);
    ck_assert_ptr_nonnull(env);
    Drover__TaskReport *r = env->task_update->report;
    ck_assert_int_eq(r->job_id, 12);
    ck_assert_int_eq(r->exit_code, 3);
    ck_assert_int_eq(r->term_signal, 0);
    ck_assert_int_gt(r->ended_at_ms, 0);
    ck_assert_str_eq(f.out[0].data, "out 12 1 n1\n");
    ck_assert_str_eq(f.out[1].data, "err\n");
    /* Unacked: it is resent. */
    wire_free(&env);
    env = s_expect(&f, DROVER__ENVELOPE__BODY_TASK_UPDATE,
                   DROVER__TASK_STATE__TASK_EXITED, 3000);
    ck_assert_ptr_nonnull(env);
    s_ack(&f, env->task_update->report);
    wire_free(&env);

    /* Not registered any more: re-registers, and the acked task is gone. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(agent_step(f.agent, 10), 0);
    dr_env_t e;
    Drover__Error err = DROVER__ERROR__INIT;
    wire_env_init(&e, 9);
    err.code = DR_ENOTREG;
    err.message = "who are you";
    e.body_case = DROVER__ENVELOPE__BODY_ERROR;
    e.error = &err;
    s_send_to(&f, &e);
    env = s_expect(&f, DROVER__ENVELOPE__BODY_REGISTER, 0, 2000);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_eq(env->register_->n_tasks, 0);
    wire_free(&env);
    s_fake_stop(&f);
}
END_TEST

START_TEST(test_agent_bad_input)
{
    s_fake_t f;
    s_fake_start(&f, NULL, NULL);
    s_register(&f);
    /* Garbage frame, then an empty TaskStart. */
    ck_assert_int_eq(zmq_send(f.router, f.rid, strlen(f.rid), ZMQ_SNDMORE), 2);
    ck_assert_int_eq(zmq_send(f.router, "\xff\xff\xff", 3, 0), 3);
    s_task_start(&f, 5, 1, NULL, 0, 0);
    dr_env_t *env = s_expect(&f, DROVER__ENVELOPE__BODY_ERROR, 0, 3000);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_eq(env->error->code, DR_EINVAL);
    wire_free(&env);
    env = s_expect(&f, DROVER__ENVELOPE__BODY_TASK_UPDATE,
                   DROVER__TASK_STATE__TASK_FAILED, 3000);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_eq(env->task_update->report->job_id, 5);
    wire_free(&env);
    /* Exec failure is reported with its reason. */
    char *argv[] = {"drover-no-such-command"};
    s_task_start(&f, 6, 2, argv, 1, 0);
    env = s_expect(&f, DROVER__ENVELOPE__BODY_TASK_UPDATE,
                   DROVER__TASK_STATE__TASK_FAILED, 3000);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_eq(env->task_update->report->job_id, 6);
    ck_assert_str_eq(
        env->task_update->report->reason,
        "exec 'drover-no-such-command': No such file or directory");
    wire_free(&env);
    s_fake_stop(&f);
}
END_TEST

START_TEST(test_agent_cancel_and_time_limit)
{
    s_fake_t f;
    s_fake_start(&f, NULL, NULL);
    s_register(&f);
    /* Ignores SIGTERM: needs the SIGKILL after the 300 ms grace. */
    char *argv[] = {"sh", "-c", "trap '' TERM; sleep 60 & sleep 60"};
    s_task_start(&f, 20, 1, argv, 3, 0);
    dr_env_t *env = s_expect(&f, DROVER__ENVELOPE__BODY_TASK_UPDATE,
                             DROVER__TASK_STATE__TASK_RUNNING, 5000);
    ck_assert_ptr_nonnull(env);
    wire_free(&env);
    usleep(100000);
    dr_env_t c;
    Drover__TaskCancel tc = DROVER__TASK_CANCEL__INIT;
    tc.job_id = 20;
    tc.attempt = 0;
    tc.reason = "user asked";
    wire_env_init(&c, 3);
    c.body_case = DROVER__ENVELOPE__BODY_TASK_CANCEL;
    c.task_cancel = &tc;
    int64_t t0 = dr_mono_ms();
    s_send_to(&f, &c);
    env = s_expect(&f, DROVER__ENVELOPE__BODY_TASK_UPDATE,
                   DROVER__TASK_STATE__TASK_CANCELED, 5000);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_lt(dr_mono_ms() - t0, 2000);
    ck_assert_str_eq(env->task_update->report->reason, "user asked");
    ck_assert_int_eq(env->task_update->report->term_signal, SIGKILL);
    wire_free(&env);

    char *argv2[] = {"sleep", "30"};
    s_task_start(&f, 21, 1, argv2, 2, 1);
    env = s_expect(&f, DROVER__ENVELOPE__BODY_TASK_UPDATE,
                   DROVER__TASK_STATE__TASK_FAILED, 5000);
    ck_assert_ptr_nonnull(env);
    ck_assert_str_eq(env->task_update->report->reason,
                     "time limit of 1 s exceeded");
    wire_free(&env);
    s_fake_stop(&f);
}
END_TEST

START_TEST(test_agent_shutdown)
{
    s_fake_t f;
    s_fake_start(&f, NULL, NULL);
    s_register(&f);
    char *argv[] = {"sleep", "60"};
    s_task_start(&f, 30, 1, argv, 2, 0);
    dr_env_t *env = s_expect(&f, DROVER__ENVELOPE__BODY_TASK_UPDATE,
                             DROVER__TASK_STATE__TASK_RUNNING, 5000);
    ck_assert_ptr_nonnull(env);
    wire_free(&env);
    dr_env_t s;
    Drover__Shutdown sd = DROVER__SHUTDOWN__INIT;
    sd.reason = "scale-in";
    wire_env_init(&s, 4);
    s.body_case = DROVER__ENVELOPE__BODY_SHUTDOWN;
    s.shutdown = &sd;
    s_send_to(&f, &s);
    env = s_expect(&f, DROVER__ENVELOPE__BODY_TASK_UPDATE,
                   DROVER__TASK_STATE__TASK_CANCELED, 5000);
    ck_assert_ptr_nonnull(env);
    s_ack(&f, env->task_update->report);
    wire_free(&env);
    int rc = 0;
    int64_t end = dr_mono_ms() + 3000;
    while (rc == 0 && dr_mono_ms() < end)
        rc = agent_step(f.agent, 10);
    ck_assert_int_eq(rc, 1);
    s_fake_stop(&f);
}
END_TEST

START_TEST(test_agent_simulated)
{
    s_fake_t f;
    s_fake_start(&f, "--simulate", "3");
    /* Three nodes register, each under its own routing id. */
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        dr_env_t *env = s_expect(&f, DROVER__ENVELOPE__BODY_REGISTER, 0, 5000);
        ck_assert_ptr_nonnull(env);
        char want[16];
        snprintf(want, sizeof want, "n1-%c", f.rid[3]);
        ck_assert_str_eq(f.rid, want);
        ck_assert_str_eq(env->register_->node_name, f.rid);
        seen |= 1 << (f.rid[3] - '0');
        s_register_ack(&f, 0);
        wire_free(&env);
    }
    ck_assert_int_eq(seen, 7);
    /* f.rid is the last node: start a hollow 0.3 s task there. */
    char *argv[] = {"sleep", "0.3"};
    s_task_start(&f, 40, 1, argv, 2, 0);
    int64_t t0 = dr_mono_ms();
    dr_env_t *env = s_expect(&f, DROVER__ENVELOPE__BODY_TASK_UPDATE,
                             DROVER__TASK_STATE__TASK_EXITED, 5000);
    ck_assert_ptr_nonnull(env);
    ck_assert_int_ge(dr_mono_ms() - t0, 250);
    ck_assert_int_eq(env->task_update->report->exit_code, 0);
    char want[300];
    snprintf(want, sizeof want, "simulated on %s\n", f.rid);
    ck_assert_str_eq(f.out[0].data, want);
    wire_free(&env);
    s_fake_stop(&f);
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("agent");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, s_setup, s_dir_remove);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_flags_ok);
    tcase_add_test(tc, test_flags_bad);
    tcase_add_test(tc, test_runtime_exit_and_output);
    tcase_add_test(tc, test_runtime_lease_fences);
    tcase_add_test(tc, test_runtime_isolation);
    tcase_add_test(tc, test_runtime_env_and_cwd);
    tcase_add_test(tc, test_runtime_exec_failure);
    tcase_add_test(tc, test_runtime_cancel_group);
    tcase_add_test(tc, test_runtime_destroy_kills);
    tcase_add_test(tc, test_sim_duration_and_heap);
    tcase_add_test(tc, test_agent_task_lifecycle);
    tcase_add_test(tc, test_agent_bad_input);
    tcase_add_test(tc, test_agent_cancel_and_time_limit);
    tcase_add_test(tc, test_agent_shutdown);
    tcase_add_test(tc, test_agent_simulated);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(s_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
