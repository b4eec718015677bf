/* fake_sched.h - the fake scheduler that the agent tests (check_agent,
 * check_gpu, check_docker, check_msi) drive a real agent_t against: a ROUTER
 * socket in the test process, and the agent stepped by hand (agent_step), so
 * a test sees every message the agent sends and answers it itself.
 *
 * Test-only and header-only: every function is static inline, so a test that
 * uses part of it is not warned about the rest.  It owns the test's scratch
 * directory (s_dir) and the fake's socket, agent and collected output; it
 * never waits without a deadline.
 *
 * A test that keeps more per fake defines, before including this,
 * S_FAKE_EXTRA (more fields of s_fake_t) and S_FAKE_EXTRA_FREE(f) (frees
 * them at s_fake_stop).  Each test's own helpers stay in its file. */
#ifndef DROVER_TESTS_FAKE_SCHED_H
#define DROVER_TESTS_FAKE_SCHED_H

#include "agent.h"
#include "agent_cfg.h"
#include "dr_err.h"
#include "util.h"
#include "wire.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#ifndef S_FAKE_EXTRA
#define S_FAKE_EXTRA
#endif
#ifndef S_FAKE_EXTRA_FREE
#define S_FAKE_EXTRA_FREE(f) ((void)(f))
#endif

/* ---- the scratch directory
 * --------------------------------------------------- */

static char s_dir[256];

/* Makes /tmp/<tag>-<pid> and points s_dir at it (from a checked fixture). */
static inline void s_dir_make(const char *tag)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/%s-%d", tag, (int)getpid());
    ck_assert_int_eq(dr_mkdirs(s_dir, 0755), 0);
}

static inline void s_dir_remove(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", s_dir);
}

/* ---- agent flags
 * ------------------------------------------------------------- */

/* The flags a node needs: node n1 of cluster c1. */
#define S_BASE                                                                 \
    "--name", "n1", "--cluster", "c1", "--vm-size", "small", "--cpus", "4",    \
        "--memory-mb", "8192"

/* Parses drover-agent's flags; `args` is NULL-terminated, without argv[0].
 * A refusal's reason is left in err. */
static inline int s_parse(agent_cfg_t *cfg, const char *const *args, char *err,
                          size_t n)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"drover-agent";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    err[0] = '\0';
    return agent_cfg_parse(cfg, argc, argv, err, n);
}

/* ---- the fake
 * ---------------------------------------------------------------- */

typedef struct s_fake s_fake_t;

struct s_fake {
    void *ctx, *router;
    char endpoint[300];
    agent_cfg_t cfg;
    agent_t *agent;                  /* NULL while the test runs none here */
    char rid[DR_MAX_ROUTING_ID + 1]; /* who sent the last message */
    dr_buf_t out[2];                 /* TaskOutput: stdout, stderr */
    /* How s_expect takes a TaskOutput; NULL: appended as it comes. */
    void (*take_output)(s_fake_t *f, const Drover__TaskOutput *o);
    S_FAKE_EXTRA
};

/* Zeroes *f and binds its ROUTER at ipc://<s_dir>/sched.sock.  With
 * `handover`, as in the scheduler, a node's new connection replaces its old
 * one (an agent killed and started again). */
static inline void s_fake_init(s_fake_t *f, int handover)
{
    memset(f, 0, sizeof *f);
    snprintf(f->endpoint, sizeof f->endpoint, "ipc://%s/sched.sock", s_dir);
    f->ctx = zmq_ctx_new();
    f->router = zmq_socket(f->ctx, ZMQ_ROUTER);
    if (handover) {
        int one = 1;
        ck_assert_int_eq(
            zmq_setsockopt(f->router, ZMQ_ROUTER_HANDOVER, &one, sizeof one),
            0);
    }
    ck_assert_int_eq(zmq_bind(f->router, f->endpoint), 0);
}

/* Starts an agent with these flags (NULL-terminated), pointed at the fake and
 * working in <s_dir>/work. */
static inline void s_fake_agent(s_fake_t *f, const char *const *args)
{
    char sched[320], wd[300], err[512];
    const char *a[32];
    size_t n = 0;
    snprintf(sched, sizeof sched, "--scheduler=%s", f->endpoint);
    snprintf(wd, sizeof wd, "--work-dir=%s/work", s_dir);
    for (; *args; args++)
        a[n++] = *args;
    a[n++] = sched;
    a[n++] = wd;
    a[n] = NULL;
    ck_assert_int_eq(s_parse(&f->cfg, a, err, sizeof err), 0);
    f->agent = agent_new(&f->cfg);
    ck_assert_ptr_nonnull(f->agent);
}

static inline void s_fake_stop(s_fake_t *f)
{
    agent_destroy(&f->agent);
    agent_cfg_free(&f->cfg);
    S_FAKE_EXTRA_FREE(f);
    zmq_close(f->router);
    zmq_ctx_term(f->ctx);
    dr_buf_free(&f->out[0]);
    dr_buf_free(&f->out[1]);
}

/* Steps the agent (or, with none, waits) until the fake receives a message
 * with this body case (and, for task updates, this state); NULL after
 * timeout_ms.  TaskOutput seen on the way is collected in f->out. */
static inline dr_env_t *s_expect(s_fake_t *f, int body, int state,
                                 int timeout_ms)
{
    int64_t end = dr_mono_ms() + timeout_ms;
    while (dr_mono_ms() < end) {
        int rc = f->agent ? agent_step(f->agent, 10) : (usleep(10000), 0);
        ck_assert_int_ge(rc, 0);
        dr_env_t *env = NULL;
        while ((rc = wire_recv(f->router, f->rid, ZMQ_DONTWAIT, &env)) == 0) {
            if (env->body_case == DROVER__ENVELOPE__BODY_TASK_OUTPUT) {
                Drover__TaskOutput *o = env->task_output;
                int s = o->stream == DROVER__STREAM__STREAM_STDERR;
                if (f->take_output)
                    f->take_output(f, o);
                else
                    dr_buf_append(&f->out[s], o->data.data, o->data.len);
            }
            if ((int)env->body_case == body &&
                (body != DROVER__ENVELOPE__BODY_TASK_UPDATE ||
                 (int)env->task_update->report->state == state))
                return env;
            wire_free(&env);
        }
        ck_assert_int_eq(rc, DR_EAGAIN);
    }
    return NULL;
}

/* Sends to the node that sent the last message. */
static inline void s_send_to(s_fake_t *f, dr_env_t *env)
{
    ck_assert_int_eq(wire_send(f->router, f->rid, env), 0);
}

/* Acks a Register; a non-zero `cancel` tells the node to cancel that job. */
static inline void s_register_ack(s_fake_t *f, uint64_t cancel)
{
    dr_env_t ack;
    Drover__RegisterAck ra = DROVER__REGISTER_ACK__INIT;
    ra.n_cancel_job_ids = cancel ? 1 : 0;
    ra.cancel_job_ids = &cancel;
    wire_env_init(&ack, 1);
    ack.body_case = DROVER__ENVELOPE__BODY_REGISTER_ACK;
    ack.register_ack = &ra;
    s_send_to(f, &ack);
}

/* Sends a TaskStart the test filled in, as request 100 + its job id. */
static inline void s_send_task_start(s_fake_t *f, Drover__TaskStart *ts)
{
    dr_env_t env;
    wire_env_init(&env, 100 + ts->job_id);
    env.body_case = DROVER__ENVELOPE__BODY_TASK_START;
    env.task_start = ts;
    s_send_to(f, &env);
}

/* Acks a task's report, as the scheduler does once it has stored it. */
static inline void s_ack(s_fake_t *f, const Drover__TaskReport *r)
{
    dr_env_t env;
    Drover__TaskUpdateAck a = DROVER__TASK_UPDATE_ACK__INIT;
    a.job_id = r->job_id;
    a.attempt = r->attempt;
    a.state = r->state;
    wire_env_init(&env, 7);
    env.body_case = DROVER__ENVELOPE__BODY_TASK_UPDATE_ACK;
    env.task_update_ack = &a;
    s_send_to(f, &env);
}

#endif
