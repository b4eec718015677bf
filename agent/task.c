/* task.c - the node agent's task table (see agent_int.h).
 *
 * Owns every node's list of tasks: their state machine (STARTING, RUNNING,
 * then one final state), the reports of it to the scheduler (resent every
 * second until acked), their output streams, and how a task ends (cancel,
 * time limit, SIGKILL after the grace, output drained).  A task lives from
 * TaskStart until the scheduler acked its final TaskUpdate.  Calls nothing
 * above it (no session, no loop); never blocks.
 */
#include "agent_int.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

task_t *task_find(node_t *node, uint64_t job_id, uint32_t attempt)
{
    for (task_t *t = node->tasks; t; t = t->next)
        if (t->job_id == job_id && t->attempt == attempt)
            return t;
    return NULL;
}

task_t *task_add(node_t *node, uint64_t job_id, uint32_t attempt)
{
    task_t *t = dr_calloc(1, sizeof *t);
    t->job_id = job_id;
    t->attempt = attempt;
    t->node = node;
    t->state = TASK_ST(STARTING);
    t->next = node->tasks;
    node->tasks = t;
    return t;
}

/* Its program is over: out of the loop, then gone. */
static void s_rt_drop(task_t *t)
{
    dr_loop_remove(t->node->agent->loop, t->out_reg);
    t->out_reg = 0;
    task_rt_destroy(&t->rt);
}

/* The head's launch server is no longer needed. */
static void s_launch_drop(task_t *t)
{
    dr_loop_remove(t->node->agent->loop, t->launch_reg);
    t->launch_reg = 0;
    mpi_srv_destroy(&t->launch_srv);
}

void task_free(task_t **tp)
{
    task_t *t = *tp;
    s_rt_drop(t);
    s_launch_drop(t);
    mpi_tagger_destroy(&t->tagger);
    dr_buf_free(&t->tagged);
    if (t->mpi_tmp && dr_rmtree(t->mpi_tmp) < 0)
        log_warn_errno("cannot remove %s", t->mpi_tmp);
    free(t->mpi_tmp);
    free(t->start_msg);
    task_files_free(t);
    free(t->reason);
    free(t->end_reason);
    free(t);
    *tp = NULL;
}

/* The task is over: its IDENTITY_HEADER is refused from now on. */
void task_forget_secret(node_t *node, task_t *t)
{
    if (t->has_secret && node->agent->ident)
        msi_task_remove(node->agent->ident, t->job_id, t->attempt);
    t->has_secret = 0;
}

void task_remove(node_t *node, task_t *t)
{
    task_forget_secret(node, t);
    for (task_t **pp = &node->tasks; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            task_free(&t);
            return;
        }
    }
}

void task_fill_report(const task_t *t, Drover__TaskReport *r)
{
    drover__task_report__init(r);
    r->job_id = t->job_id;
    r->attempt = t->attempt;
    r->state = t->state;
    r->exit_code = t->exit_code;
    r->term_signal = t->term_signal;
    r->reason = t->reason ? t->reason : (char *)"";
    r->started_at_ms = t->started_at_ms;
    r->ended_at_ms = t->ended_at_ms;
    r->timed_out = t->timed_out;
}

void task_send_update(node_t *node, task_t *t)
{
    dr_env_t env;
    Drover__TaskUpdate up = DROVER__TASK_UPDATE__INIT;
    Drover__TaskReport rep;
    task_fill_report(t, &rep);
    up.report = &rep;
    task_files_fill(t, &up);
    node_env_init(node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_TASK_UPDATE;
    env.task_update = &up;
    node_send(node, &env);
}

/* Records a new state, sends it, and keeps it for resending until acked. */
void task_report(node_t *node, task_t *t, task_state_t st, const char *reason)
{
    t->state = st;
    agent_set_str(&t->reason, reason && *reason ? reason : NULL);
    if (st >= TASK_ST(EXITED))
        task_files_collect(node, t);
    t->pending = 1;
    t->resend_at = dr_mono_ms() + AGENT_RESEND_MS;
    task_send_update(node, t);
}

void task_send_output(node_t *node, task_t *t, int stream, const char *data,
                      size_t n)
{
    dr_env_t env;
    Drover__TaskOutput o = DROVER__TASK_OUTPUT__INIT;
    o.job_id = t->job_id;
    o.attempt = t->attempt;
    o.stream = stream == TASK_RT_STDERR ? DROVER__STREAM__STREAM_STDERR
                                        : DROVER__STREAM__STREAM_STDOUT;
    o.data.data = (uint8_t *)data;
    o.data.len = n;
    o.offset = t->offset[stream];
    node_env_init(node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_TASK_OUTPUT;
    env.task_output = &o;
    node_send(node, &env);
    t->offset[stream] += n;
}

/* What a worker's launched command prints, or its end, for the head's
 * drover-launch (through the scheduler). */
void task_send_launch_io(node_t *node, task_t *t, int stream, const char *data,
                         size_t n, int exited, int status, const char *error)
{
    dr_env_t env;
    Drover__MpiLaunchIo io = DROVER__MPI_LAUNCH_IO__INIT;
    io.job_id = t->job_id;
    io.attempt = t->attempt;
    io.launch_id = t->launch_id;
    io.node = node->name;
    io.stream = stream == TASK_RT_STDERR ? DROVER__STREAM__STREAM_STDERR
                                         : DROVER__STREAM__STREAM_STDOUT;
    io.data.data = (uint8_t *)data;
    io.data.len = n;
    io.exited = exited;
    io.exit_code = status;
    io.error = (char *)(error ? error : "");
    node_env_init(node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO;
    env.mpi_launch_io = &io;
    node_send(node, &env);
}

/* Passes output on: a launched orted's to its launcher, an MPI head's
 * with its rank tags made node names, anything else as it is. */
static void s_output(node_t *node, task_t *t, int stream, const char *data,
                     size_t n, int eof)
{
    if (t->launch_id) {
        if (n)
            task_send_launch_io(node, t, stream, data, n, 0, 0, NULL);
        return;
    }
    if (t->tagger) {
        t->tagged.len = 0;
        mpi_tagger_feed(t->tagger, stream, data, n, eof, &t->tagged);
        if (t->tagged.len)
            task_send_output(node, t, stream, t->tagged.data, t->tagged.len);
        return;
    }
    if (n)
        task_send_output(node, t, stream, data, n);
}

/* Reads what a task's runtime holds of one stream (bounded) and streams
 * it. */
void task_pump(node_t *node, task_t *t, int stream, int batches)
{
    char *buf = node->agent->chunk;
    for (int i = 0; i < batches && t->rt; i++) {
        int n = t->rt->ops->read(t->rt->impl, stream, buf, AGENT_CHUNK);
        if (n <= 0)
            return;
        s_output(node, t, stream, buf, (size_t)n, 0);
    }
}

/* ---- its output fds in the loop: a source, as their set shrinks at EOF */

static size_t s_out_nfds(void *arg)
{
    task_t *t = arg;
    size_t n = 0;
    for (int s = 0; t->rt && s < 2; s++)
        n += t->rt->ops->fd(t->rt->impl, s) >= 0;
    return n;
}

static int s_out_fd(void *arg, size_t i, int *want_read, int *want_write)
{
    task_t *t = arg;
    for (int s = 0; t->rt && s < 2; s++) {
        int fd = t->rt->ops->fd(t->rt->impl, s);
        if (fd >= 0 && i-- == 0) {
            *want_read = 1;
            *want_write = 0;
            return fd;
        }
    }
    return -1;
}

static void s_out_on_fd(void *arg, int fd, int readable, int writable)
{
    (void)readable;
    (void)writable;
    task_t *t = arg;
    for (int s = 0; t->rt && s < 2; s++)
        if (t->rt->ops->fd(t->rt->impl, s) == fd)
            task_pump(t->node, t, s, AGENT_PUMP_BATCH);
    agent_wake(t->node->agent);
}

static const dr_loop_source_t s_out_source = {
    .nfds = s_out_nfds,
    .fd = s_out_fd,
    .on_fd = s_out_on_fd,
};

void task_watch_output(task_t *t)
{
    if (!t->out_reg && s_out_nfds(t) > 0)
        t->out_reg = dr_loop_add_source(t->node->agent->loop, &s_out_source, t,
                                        AGENT_PRIO_PIPES);
}

/* The task's program is over: report the final state. */
void task_complete(node_t *node, task_t *t, int exit_code, int term_signal)
{
    t->live = 0;
    task_forget_secret(node, t);
    if (t->tagger) {
        s_output(node, t, TASK_RT_STDOUT, "", 0, 1);
        s_output(node, t, TASK_RT_STDERR, "", 0, 1);
    }
    if (t->launch_id)
        task_send_launch_io(node, t, 0, NULL, 0, 1,
                            term_signal ? 128 + term_signal : exit_code, NULL);
    s_launch_drop(t);
    t->exit_code = exit_code;
    t->term_signal = term_signal;
    t->ended_at_ms = dr_now_ms();
    s_rt_drop(t);
    task_state_t st = t->end_set ? t->end_state : TASK_ST(EXITED);
    char sigbuf[64] = "";
    const char *reason = t->end_set ? t->end_reason : NULL;
    char culprit[400];
    if (!reason && (exit_code || term_signal) &&
        mpi_tagger_culprit(t->tagger)) {
        /* an MPI head: the rank that died first, then mpirun's status */
        snprintf(culprit, sizeof culprit, "%s; mpirun exited with code %d",
                 mpi_tagger_culprit(t->tagger),
                 term_signal ? 128 + term_signal : exit_code);
        reason = culprit;
    }
    if (!reason && term_signal) {
        snprintf(sigbuf, sizeof sigbuf, "killed by signal %d (%s)", term_signal,
                 strsignal(term_signal));
        reason = sigbuf;
    }
    if (st == TASK_ST(EXITED))
        log_info("job %" PRIu64 " attempt %u on node %s: exited %d%s%s",
                 t->job_id, t->attempt, node->name, exit_code,
                 reason ? ", " : "", reason ? reason : "");
    else
        log_info("job %" PRIu64 " attempt %u on node %s: %s (%s), exit %d",
                 t->job_id, t->attempt, node->name, task_state_name(st),
                 reason ? reason : "", exit_code);
    task_report(node, t, st, reason);
}

/* A task that never ran: report FAILED right away. */
void task_fail(node_t *node, task_t *t, int exit_code, const char *reason)
{
    t->live = 0;
    task_forget_secret(node, t);
    s_rt_drop(t);
    if (t->launch_id)
        task_send_launch_io(node, t, 0, NULL, 0, 1, 255, reason);
    s_launch_drop(t);
    t->exit_code = exit_code;
    t->ended_at_ms = dr_now_ms();
    log_warn("job %" PRIu64 " attempt %u on node %s: failed: %s", t->job_id,
             t->attempt, node->name, reason);
    task_report(node, t, TASK_ST(FAILED), reason);
}

/* The runtime's result is ready: report it.  A program that never ran
 * failed (unless it was stopped first); one whose end is unknown failed
 * too; an OOM kill is an exit with that reason. */
static void s_rt_done(node_t *node, task_t *t)
{
    task_rt_result_t res;
    if (t->rt->ops->result(t->rt->impl, &res) < 0)
        return;
    if (!res.started && !t->end_set) {
        task_fail(node, t, res.exit_code, res.reason);
        return;
    }
    int code = res.started ? res.exit_code : 0, sig = res.term_signal;
    if (res.lost && !t->end_set) {
        t->end_set = 1;
        t->end_state = TASK_ST(FAILED);
        agent_set_str(&t->end_reason, res.reason);
        code = 0;
        sig = 0;
    } else if (res.oom_killed && !t->end_set) {
        t->end_set = 1;
        t->end_state = TASK_ST(EXITED);
        agent_set_str(&t->end_reason, RUNTIME_DOCKER_OOM_REASON);
    }
    task_complete(node, t, code, sig);
}

static void s_signal(node_t *node, task_t *t, int sig)
{
    if (t->rt->ops->signal(t->rt->impl, sig) < 0)
        log_warn_errno("job %" PRIu64 " attempt %u on node %s: kill", t->job_id,
                       t->attempt, node->name);
}

/* Asks a live task to end with the given outcome: SIGTERM, SIGKILL after
 * the grace (or at once with `now_kill`).  A runtime that ends at once
 * (a hollow run, a container not created yet) is reported at once. */
void task_stop(node_t *node, task_t *t, task_state_t st, const char *reason,
               int now_kill)
{
    if (!t->live)
        return;
    if (!t->end_set) {
        t->end_set = 1;
        t->end_state = st;
        agent_set_str(&t->end_reason, reason);
    }
    log_info("job %" PRIu64 " attempt %u on node %s: stopping: %s", t->job_id,
             t->attempt, node->name, reason);
    if (!t->rt) {
        task_complete(node, t, 0, 0); /* an MPI worker: nothing launched */
        return;
    }
    int64_t grace = node->agent->cfg->grace_ms;
    int sig = now_kill || grace <= 0 ? SIGKILL : SIGTERM;
    s_signal(node, t, sig);
    if (sig == SIGTERM && !t->kill_at)
        t->kill_at = dr_mono_ms() + grace;
    if (t->rt->ops->poll(t->rt->impl, dr_mono_ms()) == TASK_RT_DONE)
        s_rt_done(node, t);
}

/* The runtime says the program runs: the scheduler hears RUNNING (unless
 * it knows already: a launch in a running task, or a stop came first; or
 * the program has ended too: its end, in this same pass, says both, one
 * report instead of two for a short task) and the time limit starts. */
void task_started(node_t *node, task_t *t, int64_t now, int ended)
{
    char what[128];
    t->started_at_ms = dr_now_ms();
    if (t->time_limit_ms)
        t->deadline = now + (int64_t)t->time_limit_ms;
    t->rt->ops->describe(t->rt->impl, what, sizeof what);
    log_info("job %" PRIu64 " attempt %u on node %s: %s started", t->job_id,
             t->attempt, node->name, what);
    if (!t->end_set && !ended && t->state != TASK_ST(RUNNING))
        task_report(node, t, TASK_ST(RUNNING), NULL);
}

/* While it runs: the time limit, then SIGKILL once the grace is over. */
static int64_t s_tick_running(node_t *node, task_t *t, int64_t now)
{
    int64_t next = AGENT_NO_TIMER;
    if (t->deadline && now >= t->deadline && !t->end_set) {
        char *r =
            t->time_limit_ms % 1000
                ? dr_asprintf("time limit of %.3f s exceeded",
                              (double)t->time_limit_ms / 1000)
                : dr_asprintf("time limit of %llu s exceeded",
                              (unsigned long long)(t->time_limit_ms / 1000));
        t->timed_out = 1;
        task_stop(node, t, TASK_ST(FAILED), r, 0);
        free(r);
        if (!t->rt)
            return next;
    }
    if (t->kill_at && now >= t->kill_at) {
        log_info("job %" PRIu64 " attempt %u on node %s: grace over, SIGKILL",
                 t->job_id, t->attempt, node->name);
        s_signal(node, t, SIGKILL);
        t->kill_at = 0;
    }
    if (t->deadline && !t->end_set)
        next = agent_min(next, t->deadline);
    if (t->kill_at)
        next = agent_min(next, t->kill_at);
    if (t->rt->ops->timer)
        next = agent_min(next, t->rt->ops->timer(t->rt->impl));
    if (t->rt->ops->polled_exit && node->agent->sig_fd < 0)
        next = agent_min(next, now + 50); /* no SIGCHLD: poll */
    return next;
}

/* Drives a task's runtime: its output, its start, its clocks, the drain
 * of its output once it exited, its result.  The one path for every
 * runtime. */
static int64_t s_tick_runtime(node_t *node, task_t *t, int64_t now)
{
    const task_rt_ops_t *ops = t->rt->ops;
    task_rt_phase_t ph = ops->poll(t->rt->impl, now);
    task_pump(node, t, TASK_RT_STDOUT, 64);
    task_pump(node, t, TASK_RT_STDERR, 64);
    if (!t->started_at_ms && ops->started(t->rt->impl))
        task_started(node, t, now, ph == TASK_RT_DONE);
    if (ph == TASK_RT_RUNNING)
        return s_tick_running(node, t, now);
    if (ph == TASK_RT_ENDING) {
        if (!t->drain_until)
            t->drain_until = now + AGENT_DRAIN_MS;
        if (now < t->drain_until)
            return t->drain_until;
        if (!t->output_closed) {
            log_warn("job %" PRIu64 " attempt %u on node %s: output still "
                     "open %d ms after exit; closing it",
                     t->job_id, t->attempt, node->name, AGENT_DRAIN_MS);
            t->output_closed = 1;
            ops->close_output(t->rt->impl);
            ph = ops->poll(t->rt->impl, now);
        }
    }
    if (ph == TASK_RT_DONE)
        s_rt_done(node, t);
    return AGENT_NO_TIMER;
}

/* Does what a task's clocks and runtime call for; returns its next due
 * time.  Never frees t: tasks are only freed on acks and when their node
 * goes. */
int64_t task_tick(node_t *node, task_t *t, int64_t now)
{
    int64_t next = AGENT_NO_TIMER;
    if (t->launch_srv)
        next = mpi_srv_tick(t->launch_srv, now);
    if (t->rt)
        next = agent_min(next, s_tick_runtime(node, t, now));
    if (t->pending) {
        if (now >= t->resend_at) {
            task_send_update(node, t);
            t->resend_at = now + AGENT_RESEND_MS;
        }
        next = agent_min(next, t->resend_at);
    }
    return next;
}

void task_on_cancel(node_t *node, const dr_env_t *env)
{
    const Drover__TaskCancel *tc = env->task_cancel;
    if (tc->job_id == 0) {
        log_warn("node %s: TaskCancel without job_id", node->name);
        int rc = wire_send_error(node->sock, NULL, env->request_id, DR_EINVAL,
                                 "TaskCancel without job_id");
        if (rc < 0)
            log_warn("node %s: send error reply: %s", node->name,
                     dr_strerror(rc));
        return;
    }
    const char *reason =
        tc->reason && tc->reason[0] ? tc->reason : "canceled by the scheduler";
    int found = 0;
    for (task_t *t = node->tasks; t; t = t->next) {
        if (t->job_id != tc->job_id ||
            (tc->attempt != 0 && t->attempt != tc->attempt))
            continue;
        found = 1;
        if (t->live)
            task_stop(node, t, TASK_ST(CANCELED), reason, 0);
        else if (t->pending)
            task_send_update(node, t); /* already over: repeat the result */
    }
    if (found)
        return;
    log_info("job %" PRIu64 " attempt %u on node %s: cancel for a task not "
             "here",
             tc->job_id, tc->attempt, node->name);
    if (tc->attempt == 0) {
        int rc = wire_send_error(node->sock, NULL, env->request_id, DR_ENOENT,
                                 "job %" PRIu64 " has no task on node %s",
                                 tc->job_id, node->name);
        if (rc < 0)
            log_warn("node %s: send error reply: %s", node->name,
                     dr_strerror(rc));
        return;
    }
    /* Tell the scheduler it is not running here, once, untracked: a later
     * ack for it finds nothing and is ignored. */
    task_t tmp = {0};
    tmp.job_id = tc->job_id;
    tmp.attempt = tc->attempt;
    tmp.state = TASK_ST(CANCELED);
    tmp.reason = (char *)"task not running on this node";
    tmp.ended_at_ms = dr_now_ms();
    task_send_update(node, &tmp);
}

void task_on_update_ack(node_t *node, const dr_env_t *env)
{
    const Drover__TaskUpdateAck *ack = env->task_update_ack;
    task_t *t = task_find(node, ack->job_id, ack->attempt);
    if (!t) {
        log_debug("job %" PRIu64 " attempt %u on node %s: ack for unknown "
                  "task",
                  ack->job_id, ack->attempt, node->name);
        return;
    }
    if (ack->state != t->state)
        return; /* an older state; the latest is still pending */
    t->pending = 0;
    if (task_state_final(t->state) && !t->live) {
        log_debug("job %" PRIu64 " attempt %u on node %s: final state acked",
                  t->job_id, t->attempt, node->name);
        task_remove(node, t);
    }
}

const char *task_state_name(task_state_t st)
{
    switch (st) {
    case TASK_ST(STARTING):
        return "starting";
    case TASK_ST(RUNNING):
        return "running";
    case TASK_ST(EXITED):
        return "exited";
    case TASK_ST(FAILED):
        return "failed";
    case TASK_ST(CANCELED):
        return "canceled";
    default:
        return "unknown";
    }
}
