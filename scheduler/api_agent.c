/* api_agent.c - the agent-facing RPC table (Slurm proc_req style).
 *
 * One handler per envelope body an agent may send; anything else gets an
 * error reply.  Every field is checked before use: an agent speaks only
 * for the node named by its routing id, and a message about a task that
 * is not that node's current attempt is answered (acked, or the stray task
 * cancelled) but changes nothing.
 */
#include "api_agent.h"
#include "autoscaler.h"
#include "identity.h"
#include "dr_err.h"
#include "log.h"
#include "placement.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TASKS_PER_REPORT 10000
#define MAX_OUTPUT_CHUNK (1u << 20)

typedef void (*agent_fn)(sched_t *s, const char *rid, dr_env_t *env);

static void s_ack_update(sched_t *s, const char *rid, uint64_t req,
                         const Drover__TaskReport *r)
{
    dr_env_t env;
    Drover__TaskUpdateAck ack = DROVER__TASK_UPDATE_ACK__INIT;
    wire_env_init(&env, req);
    ack.job_id = r->job_id;
    ack.attempt = r->attempt;
    ack.state = r->state;
    env.body_case = DROVER__ENVELOPE__BODY_TASK_UPDATE_ACK;
    env.task_update_ack = &ack;
    sched_send_agent(s, rid, &env);
}

static void s_cancel_stray(sched_t *s, const char *node, uint64_t job_id,
                           uint32_t attempt, const char *why)
{
    dr_env_t env;
    Drover__TaskCancel tc = DROVER__TASK_CANCEL__INIT;
    wire_env_init(&env, 0);
    tc.job_id = job_id;
    tc.attempt = attempt;
    tc.reason = (char *)why;
    env.body_case = DROVER__ENVELOPE__BODY_TASK_CANCEL;
    env.task_cancel = &tc;
    sched_send_agent(s, node, &env);
}

static int s_report_valid(const Drover__TaskReport *r, char *why, size_t n)
{
    if (!r) {
        snprintf(why, n, "task report missing");
        return 0;
    }
    if (r->job_id == 0 || r->attempt == 0) {
        snprintf(why, n, "task report needs job_id and attempt");
        return 0;
    }
    if (r->state < DROVER__TASK_STATE__TASK_STARTING ||
        r->state > DROVER__TASK_STATE__TASK_CANCELED) {
        snprintf(why, n, "task report has invalid state %d", (int)r->state);
        return 0;
    }
    return 1;
}

/* "node b (rank 1): " for the tasks of a gang, "" for a single node. */
static const char *s_where(const job_t *j, const node_t *n, char *buf,
                           size_t cap)
{
    buf[0] = '\0';
    if (j->ntasks > 1) {
        uint32_t rank = 0;
        while (rank < j->ntasks && j->tasks[rank].node != n)
            rank++;
        snprintf(buf, cap, "node %s (rank %u): ", n->name, rank);
    }
    return buf;
}

/* After a gang task's failure: "; node b silent for 3 s" for the nodes
 * of the gang not heard from in one and a half heartbeats (an agent that died
 * takes its part of the job with it, and mpirun on the head notices first). */
static void s_silent_nodes(const sched_t *s, const job_t *j, char *buf,
                           size_t cap)
{
    buf[0] = '\0';
    int64_t now = dr_mono_ms();
    size_t off = 0;
    for (uint32_t i = 0; i < j->ntasks && off < cap; i++) {
        const node_t *o = j->tasks[i].node;
        int64_t quiet = now - o->last_seen;
        if (quiet > 3 * (int64_t)s->opts.heartbeat_interval_ms / 2)
            off += (size_t)snprintf(buf + off, cap - off,
                                    "; node %s silent for %lld s", o->name,
                                    (long long)((quiet + 500) / 1000));
    }
}

/* A task of a gang ended well: the job is over when it was the MPI head
 * (mpirun's status is the job's) or the last one. */
static void s_task_done(sched_t *s, node_t *n, job_t *j, job_task_t *t)
{
    t->ended = 1;
    t->running = 0;
    if (j->fail_reason && (!j->mpi || t == &j->tasks[0])) {
        /* mpirun ended well, yet a worker had failed */
        char full[1200];
        snprintf(full, sizeof full, "%s; then mpirun exited with code 0",
                 j->fail_reason);
        sched_job_finish(s, j, JOB_FAILED, 1, 0, full);
        return;
    }
    uint32_t left = 0;
    for (uint32_t i = 0; i < j->ntasks; i++)
        left += !j->tasks[i].ended;
    if (left == 0 || (j->mpi && t == &j->tasks[0])) {
        sched_job_finish(s, j, JOB_SUCCEEDED, 1, 0, "");
        return;
    }
    (void)store_task_put(s->store, j->id, j->attempts, n->name, "succeeded", 0,
                         "", dr_now_ms());
}

/* A task failed: the job fails.  When it is a worker of an MPI job whose
 * mpirun still runs, mpirun gets DR_MPI_FAIL_GRACE_MS to notice and end
 * with its own diagnostics in the log (the job fails then, with both
 * reasons), instead of being killed at once. */
static void s_task_failed(sched_t *s, job_t *j, job_task_t *t, int has_exit,
                          int code, const char *why)
{
    job_task_t *head = &j->tasks[0];
    if (j->mpi && t != head && head->running && !head->ended) {
        t->running = 0;
        t->ended = 1; /* nothing to cancel there any more */
        if (!j->fail_reason) {
            j->fail_reason = dr_strdup(why);
            j->fail_at = dr_mono_ms() + DR_MPI_FAIL_GRACE_MS;
            log_warn("job %llu: %s; waiting for mpirun to end",
                     (unsigned long long)j->id, why);
        }
        return;
    }
    if (j->fail_reason) {
        char full[1200];
        snprintf(full, sizeof full, "%s; then %s", j->fail_reason, why);
        sched_job_finish(s, j, JOB_FAILED, has_exit, code, full);
        return;
    }
    sched_job_finish(s, j, JOB_FAILED, has_exit, code, why);
}

/* Applies a report about the current attempt of job j on node n (its task
 * t).  For a gang, one task's failure is the job's: the others are
 * stopped by sched_job_finish / sched_job_requeue. */
static void s_apply_report(sched_t *s, node_t *n, job_t *j, job_task_t *t,
                           const Drover__TaskReport *r)
{
    const char *reason = r->reason && *r->reason ? r->reason : NULL;
    char buf[256], where[96], full[600], silent[160];
    (void)s_where(j, n, where, sizeof where);
    s_silent_nodes(s, j, silent, sizeof silent);
    switch (r->state) {
    case DROVER__TASK_STATE__TASK_STARTING:
        break;
    case DROVER__TASK_STATE__TASK_RUNNING: {
        if (t->running || t->ended)
            break;
        t->running = 1;
        uint32_t up = 0;
        for (uint32_t i = 0; i < j->ntasks; i++)
            up += j->tasks[i].running;
        if (up < j->ntasks) {
            sched_job_send_starts(s, j); /* the barrier may open */
            break;
        }
        if (j->state == JOB_STARTING) {
            j->state = JOB_RUNNING;
            j->started_at_ms =
                r->started_at_ms > 0 ? r->started_at_ms : dr_now_ms();
            (void)sched_job_save(s, j);
            for (uint32_t i = 0; i < j->ntasks; i++)
                (void)store_task_put(s->store, j->id, j->attempts,
                                     j->tasks[i].node->name, "running", 0, "",
                                     dr_now_ms());
            log_info("job %llu attempt %u running on node %s%s",
                     (unsigned long long)j->id, j->attempts, n->name,
                     j->ntasks > 1 ? " and the rest of its gang" : "");
        }
        break;
    }
    case DROVER__TASK_STATE__TASK_EXITED:
        if (j->cancel_requested) {
            sched_job_finish(s, j, JOB_CANCELED, 1, r->exit_code,
                             "canceled by user");
        } else if (r->exit_code == 0 && r->term_signal == 0) {
            s_task_done(s, n, j, t);
        } else {
            if (r->term_signal)
                snprintf(buf, sizeof buf, "killed by signal %d",
                         r->term_signal);
            else
                snprintf(buf, sizeof buf, "exited with code %d", r->exit_code);
            snprintf(full, sizeof full, "%s%s%s%s", where,
                     j->mpi && t == &j->tasks[0] ? "mpirun " : "",
                     reason ? reason : buf, silent);
            s_task_failed(s, j, t, 1, r->exit_code, full);
        }
        break;
    case DROVER__TASK_STATE__TASK_FAILED:
        snprintf(full, sizeof full, "%s%s%s", where,
                 reason ? reason : "task failed on the node", silent);
        if (j->cancel_requested)
            sched_job_finish(s, j, JOB_CANCELED, r->exit_code != 0,
                             r->exit_code, full);
        else
            s_task_failed(s, j, t, r->exit_code != 0, r->exit_code, full);
        break;
    case DROVER__TASK_STATE__TASK_CANCELED:
        if (j->cancel_requested) {
            sched_job_finish(s, j, JOB_CANCELED, 0, 0,
                             reason ? reason : "canceled by user");
        } else {
            snprintf(buf, sizeof buf, "task stopped by node %s: %s", n->name,
                     reason ? reason : "agent shutting down");
            sched_job_requeue(s, j, buf);
        }
        break;
    default:
        break;
    }
}

static node_t *s_registered(sched_t *s, const char *rid, uint64_t req)
{
    node_t *n = sched_node_find(s, rid);
    if (!n || n->state == NODE_PREPARING || n->state == NODE_UNKNOWN) {
        sched_agent_error(s, rid, req, DR_ENOTREG, "node %s is not registered",
                          rid);
        return NULL;
    }
    n->last_seen = dr_mono_ms();
    return n;
}

static void s_register(sched_t *s, const char *rid, dr_env_t *env)
{
    Drover__Register *r = env->register_;
    uint64_t req = env->request_id;
    if (!r->node_name || !dr_valid_name(r->node_name)) {
        sched_agent_error(s, rid, req, DR_EINVAL,
                          "register: invalid node name");
        return;
    }
    if (strcmp(r->node_name, rid) != 0) {
        sched_agent_error(s, rid, req, DR_EPERM,
                          "register: node name %s does not match the "
                          "connection's identity %s",
                          r->node_name, rid);
        return;
    }
    if (!r->cluster || !*r->cluster || r->cpus == 0 || r->cpus > 100000 ||
        r->memory_mb == 0 || r->n_tasks > MAX_TASKS_PER_REPORT ||
        r->n_gpus > DR_MAX_GPUS || r->n_runtimes > 16) {
        sched_agent_error(s, rid, req, DR_EINVAL,
                          "register: cluster, cpus and memory_mb are required");
        return;
    }
    cluster_t *c = sched_cluster_find(s, r->cluster);
    if (!c) {
        sched_agent_error(s, rid, req, DR_ENOENT,
                          "register: unknown cluster %s", r->cluster);
        return;
    }
    node_t *n = sched_node_find(s, rid);
    if (n && n->cluster != c) {
        sched_agent_error(s, rid, req, DR_EEXIST,
                          "register: node %s belongs to cluster %s", rid,
                          n->cluster->cfg.name);
        return;
    }
    if (n && n->state == NODE_LEAVING) {
        dr_env_t out;
        Drover__Shutdown sd = DROVER__SHUTDOWN__INIT;
        wire_env_init(&out, req);
        sd.reason = "node is being released";
        out.body_case = DROVER__ENVELOPE__BODY_SHUTDOWN;
        out.shutdown = &sd;
        sched_send_agent(s, rid, &out);
        return;
    }
    for (size_t i = 0; i < r->n_tasks; i++) {
        char why[128];
        if (!s_report_valid(r->tasks[i], why, sizeof why)) {
            sched_agent_error(s, rid, req, DR_EINVAL, "register: %s", why);
            return;
        }
    }
    if (!n)
        n = sched_node_add(s, c, rid, NODE_READY);
    int was = n->state;
    n->state = NODE_READY;
    n->cpus = r->cpus;
    n->memory_mb = r->memory_mb;
    n->pid = (int)r->pid;
    n->runtimes = 0;
    for (size_t i = 0; i < r->n_runtimes; i++) {
        if (r->runtimes[i] && strcmp(r->runtimes[i], "process") == 0)
            n->runtimes |= RT_PROCESS;
        else if (r->runtimes[i] && strcmp(r->runtimes[i], "docker") == 0)
            n->runtimes |= RT_DOCKER;
    }
    if (!n->runtimes)
        n->runtimes = RT_PROCESS;
    n->last_seen = dr_mono_ms();
    if (!n->njobs)
        n->idle_since = n->last_seen;
    store_node_t row = {0};
    snprintf(row.name, sizeof row.name, "%s", n->name);
    snprintf(row.cluster, sizeof row.cluster, "%s", c->cfg.name);
    snprintf(row.state, sizeof row.state, "ready");
    snprintf(row.vm_size, sizeof row.vm_size, "%s",
             r->vm_size && *r->vm_size ? r->vm_size : c->vm->name);
    snprintf(n->vm_size, sizeof n->vm_size, "%s", row.vm_size);
    row.cpus = n->cpus;
    row.memory_mb = n->memory_mb;
    row.pid = n->pid;
    row.created_at_ms = n->created_at_ms;
    (void)store_node_put(s->store, &row);
    if (was == NODE_PREPARING)
        c->create_failures = 0; /* the provider works again */
    if (was != NODE_READY)
        (void)store_event(s->store, "node_ready", c->cfg.name, n->name, 0,
                          "node %s registered (%u cpus, %llu MB, %zu tasks)",
                          n->name, n->cpus, (unsigned long long)n->memory_mb,
                          r->n_tasks);
    log_info("node %s registered in cluster %s (%u cpus, %llu MB, %zu tasks)",
             n->name, c->cfg.name, n->cpus, (unsigned long long)n->memory_mb,
             r->n_tasks);

    /* Reconcile what the agent runs with what we believe it runs. */
    uint64_t *cancel = dr_calloc(r->n_tasks + 1, sizeof *cancel);
    size_t ncancel = 0;
    for (size_t i = 0; i < r->n_tasks; i++) {
        const Drover__TaskReport *t = r->tasks[i];
        job_t *j = sched_job_find(s, t->job_id);
        int terminal = t->state >= DROVER__TASK_STATE__TASK_EXITED;
        job_task_t *jt =
            j && j->attempts == t->attempt ? job_task_on(j, n) : NULL;
        if (jt && !jt->ended) {
            s_apply_report(s, n, j, jt, t);
        } else if (!terminal) {
            cancel[ncancel++] = t->job_id;
        }
        if (terminal)
            s_ack_update(s, rid, 0, t);
    }
    /* tasks we bound here that the agent does not know */
    for (size_t i = 0; i < n->njobs;) {
        job_t *j = n->jobs[i];
        int reported = 0;
        for (size_t k = 0; k < r->n_tasks; k++)
            if (r->tasks[k]->job_id == j->id &&
                r->tasks[k]->attempt == j->attempts)
                reported = 1;
        job_task_t *jt = job_task_on(j, n);
        if (reported || jt->ended) {
            i++;
        } else if (!jt->running) {
            /* the TaskStart may have been lost with the old connection */
            jt->started = 0;
            sched_job_send_starts(s, j);
            i++;
        } else {
            char why[160];
            snprintf(why, sizeof why, "node %s re-registered without the task",
                     n->name);
            sched_job_requeue(s, j, why); /* unbinds: do not advance */
        }
    }
    sched_node_set_gpus(s, n, r->gpus, r->n_gpus);
    dr_env_t out;
    Drover__RegisterAck ack = DROVER__REGISTER_ACK__INIT;
    wire_env_init(&out, req);
    ack.heartbeat_interval_ms = (uint32_t)s->opts.heartbeat_interval_ms;
    ack.n_cancel_job_ids = ncancel;
    ack.cancel_job_ids = cancel;
    out.body_case = DROVER__ENVELOPE__BODY_REGISTER_ACK;
    out.register_ack = &ack;
    sched_send_agent(s, rid, &out);
    free(cancel);
    placement_capacity_grew(c);
}

static void s_heartbeat(sched_t *s, const char *rid, dr_env_t *env)
{
    node_t *n = s_registered(s, rid, env->request_id);
    if (!n)
        return;
    n->load_milli = env->heartbeat->cpu_load_milli;
    n->reported_mem_used_mb = env->heartbeat->memory_used_mb;
    if (env->heartbeat->n_gpus > DR_MAX_GPUS) {
        sched_agent_error(s, rid, env->request_id, DR_EINVAL,
                          "heartbeat: more than %d GPUs", DR_MAX_GPUS);
        return;
    }
    sched_node_set_gpus(s, n, env->heartbeat->gpus, env->heartbeat->n_gpus);
    dr_env_t out;
    Drover__HeartbeatAck ack = DROVER__HEARTBEAT_ACK__INIT;
    wire_env_init(&out, env->request_id);
    ack.seq = env->heartbeat->seq;
    out.body_case = DROVER__ENVELOPE__BODY_HEARTBEAT_ACK;
    out.heartbeat_ack = &ack;
    sched_send_agent(s, rid, &out);
}

static void s_task_update(sched_t *s, const char *rid, dr_env_t *env)
{
    node_t *n = s_registered(s, rid, env->request_id);
    if (!n)
        return;
    const Drover__TaskReport *r = env->task_update->report;
    char why[128];
    if (!s_report_valid(r, why, sizeof why)) {
        sched_agent_error(s, rid, env->request_id, DR_EINVAL, "task_update: %s",
                          why);
        return;
    }
    job_t *j = sched_job_find(s, r->job_id);
    job_task_t *jt = j && j->attempts == r->attempt ? job_task_on(j, n) : NULL;
    if (jt && !jt->ended) {
        s_apply_report(s, n, j, jt, r);
    } else if (jt) {
        /* a worker's part ended already: nothing more to learn */
    } else if (r->state < DROVER__TASK_STATE__TASK_EXITED) {
        log_warn("node %s reports job %llu attempt %u which is not its task; "
                 "cancelling it",
                 n->name, (unsigned long long)r->job_id, r->attempt);
        s_cancel_stray(s, n->name, r->job_id, r->attempt,
                       "not this node's task");
    }
    s_ack_update(s, rid, env->request_id, r);
}

static void s_task_output(sched_t *s, const char *rid, dr_env_t *env)
{
    node_t *n = s_registered(s, rid, env->request_id);
    if (!n)
        return;
    const Drover__TaskOutput *o = env->task_output;
    if (o->job_id == 0 || o->attempt == 0 || o->data.len > MAX_OUTPUT_CHUNK ||
        (o->stream != DROVER__STREAM__STREAM_STDOUT &&
         o->stream != DROVER__STREAM__STREAM_STDERR)) {
        sched_agent_error(s, rid, env->request_id, DR_EINVAL,
                          "task_output: bad job, attempt, stream or size");
        return;
    }
    job_t *j = sched_job_find(s, o->job_id);
    /* A preempted attempt is requeued before its tasks end (NodePreempted
     * comes first): what it prints after the TERM (checkpointing) is still
     * kept until the next attempt starts. */
    int preempted_tail = j && !j->ntasks && j->state == JOB_QUEUED &&
                         j->preemptions > 0 && j->attempts == o->attempt;
    job_task_t *jt = j && j->attempts == o->attempt ? job_task_on(j, n) : NULL;
    if (!jt && !preempted_tail)
        return; /* output of a stale attempt: not kept */
    uint64_t *off = jt ? &jt->out_off[o->stream] : &j->tail_off[o->stream];
    size_t skip = 0;
    if (o->offset < *off) {
        if (o->offset + o->data.len <= *off)
            return; /* duplicate */
        skip = (size_t)(*off - o->offset);
    }
    char *path = dr_asprintf("%s/logs/%llu.log", s->opts.state_dir,
                             (unsigned long long)j->id);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        log_warn_errno("job %llu: cannot open %s", (unsigned long long)j->id,
                       path);
    } else {
        if (o->offset > *off) {
            char gap[96];
            int gn = snprintf(gap, sizeof gap,
                              "[drover: %llu bytes of output lost]\n",
                              (unsigned long long)(o->offset - *off));
            (void)dr_write_all(fd, gap, (size_t)gn);
        }
        if (o->data.len > skip && /* an empty chunk may carry no pointer */
            dr_write_all(fd, o->data.data + skip, o->data.len - skip) < 0)
            log_warn_errno("job %llu: cannot write %s",
                           (unsigned long long)j->id, path);
        close(fd);
    }
    *off = o->offset + o->data.len;
    free(path);
}

static void s_node_preempted(sched_t *s, const char *rid, dr_env_t *env)
{
    node_t *n = s_registered(s, rid, env->request_id);
    if (!n)
        return;
    const char *why = env->node_preempted->reason;
    char reason[200];
    snprintf(reason, sizeof reason, "%s",
             why && *why ? why : "Preempt scheduled event");
    sched_node_preempted(s, n, reason);
    dr_env_t out;
    Drover__Ok ok = DROVER__OK__INIT;
    ok.message = "preemption recorded";
    wire_env_init(&out, env->request_id);
    out.body_case = DROVER__ENVELOPE__BODY_OK;
    out.ok = &ok;
    sched_send_agent(s, rid, &out);
}

static void s_token_request(sched_t *s, const char *rid, dr_env_t *env)
{
    node_t *n = s_registered(s, rid, env->request_id);
    if (!n)
        return;
    const Drover__TokenRequest *t = env->token_request;
    job_t *j = sched_job_find(s, t->job_id);
    if (!j || j->attempts != t->attempt || !job_task_on(j, n) ||
        j->state != JOB_RUNNING) {
        sched_agent_error(s, rid, env->request_id, DR_EPERM,
                          "job %llu attempt %u is not running on node %s",
                          (unsigned long long)t->job_id, t->attempt, n->name);
        return;
    }
    const cluster_t *c = j->cluster;
    if (!c->cfg.identity[0]) {
        sched_agent_error(s, rid, env->request_id, DR_EPERM,
                          "cluster %s has no managed identity", c->cfg.name);
        return;
    }
    const char *res =
        t->resource && *t->resource ? t->resource : "https://drover/";
    if (strlen(res) > 255) {
        sched_agent_error(s, rid, env->request_id, DR_EINVAL,
                          "resource is too long");
        return;
    }
    int64_t exp = 0;
    char *tok = identity_sign(s->identity, c->cfg.identity_principal,
                              c->cfg.name, j->id, res, &exp);
    dr_env_t out;
    Drover__TokenReply tr = DROVER__TOKEN_REPLY__INIT;
    tr.access_token = tok;
    tr.expires_on = exp;
    tr.resource = (char *)res;
    tr.client_id = (char *)c->cfg.identity_principal;
    wire_env_init(&out, env->request_id);
    out.body_case = DROVER__ENVELOPE__BODY_TOKEN_REPLY;
    out.token_reply = &tr;
    sched_send_agent(s, rid, &out);
    free(tok);
    log_info("job %llu on node %s: token for identity %s (%s)",
             (unsigned long long)j->id, n->name, c->cfg.identity, res);
}

/* ---- MPI without SSH: launches relayed between a gang's agents ---------- */

#define MAX_LAUNCH_COMMAND (64u << 10)

/* Answers a launch that cannot happen as its command would have ended:
 * exit 255 and the reason, which drover-launch prints as ssh would. */
static void s_launch_refuse(sched_t *s, const char *rid,
                            const Drover__MpiLaunch *m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void s_launch_refuse(sched_t *s, const char *rid,
                            const Drover__MpiLaunch *m, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    dr_env_t out;
    Drover__MpiLaunchIo io = DROVER__MPI_LAUNCH_IO__INIT;
    wire_env_init(&out, 0);
    io.job_id = m->job_id;
    io.attempt = m->attempt;
    io.launch_id = m->launch_id;
    io.node = m->node ? m->node : (char *)"";
    io.exited = 1;
    io.exit_code = 255;
    io.error = why;
    out.body_case = DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO;
    out.mpi_launch_io = &io;
    sched_send_agent(s, rid, &out);
    log_warn("launch %llu of job %llu refused: %s",
             (unsigned long long)m->launch_id, (unsigned long long)m->job_id,
             why);
}

/* The head's agent asks that a command (OpenMPI's orted) start inside the
 * job's task on another node of the gang: checked, then passed on with
 * `node` naming the head. */
static void s_mpi_launch(sched_t *s, const char *rid, dr_env_t *env)
{
    node_t *n = s_registered(s, rid, env->request_id);
    if (!n)
        return;
    const Drover__MpiLaunch *m = env->mpi_launch;
    if (m->job_id == 0 || m->attempt == 0 || m->launch_id == 0 || !m->node ||
        !dr_valid_name(m->node) || !m->command || !m->command[0] ||
        strlen(m->command) > MAX_LAUNCH_COMMAND) {
        sched_agent_error(s, rid, env->request_id, DR_EINVAL,
                          "mpi_launch: needs job_id, attempt, launch_id, a "
                          "node name and a command of at most %u bytes",
                          MAX_LAUNCH_COMMAND);
        return;
    }
    job_t *j = sched_job_find(s, m->job_id);
    if (!j || j->attempts != m->attempt || !j->mpi || job_head(j) != n ||
        j->state != JOB_RUNNING) {
        s_launch_refuse(s, rid, m,
                        "job %llu attempt %u is not an MPI job running with "
                        "node %s as its head",
                        (unsigned long long)m->job_id, m->attempt, n->name);
        return;
    }
    node_t *target = sched_node_find(s, m->node);
    job_task_t *t = target ? job_task_on(j, target) : NULL;
    if (!t || t == &j->tasks[0]) {
        s_launch_refuse(s, rid, m, "node %s is not a worker of job %llu",
                        m->node, (unsigned long long)j->id);
        return;
    }
    if (!t->running) {
        s_launch_refuse(s, rid, m, "the task on node %s is not running",
                        m->node);
        return;
    }
    dr_env_t out;
    Drover__MpiLaunch fw = DROVER__MPI_LAUNCH__INIT;
    wire_env_init(&out, 0);
    fw.job_id = m->job_id;
    fw.attempt = m->attempt;
    fw.launch_id = m->launch_id;
    fw.node = n->name;
    fw.command = m->command;
    out.body_case = DROVER__ENVELOPE__BODY_MPI_LAUNCH;
    out.mpi_launch = &fw;
    sched_send_agent(s, target->name, &out);
    log_debug("job %llu: launch %llu from %s on %s", (unsigned long long)j->id,
              (unsigned long long)m->launch_id, n->name, target->name);
}

/* Output and end of a launched command, from the worker to the head. */
static void s_mpi_launch_io(sched_t *s, const char *rid, dr_env_t *env)
{
    node_t *n = s_registered(s, rid, env->request_id);
    if (!n)
        return;
    const Drover__MpiLaunchIo *m = env->mpi_launch_io;
    if (m->job_id == 0 || m->attempt == 0 || m->launch_id == 0 ||
        m->data.len > MAX_OUTPUT_CHUNK ||
        (m->stream != DROVER__STREAM__STREAM_STDOUT &&
         m->stream != DROVER__STREAM__STREAM_STDERR) ||
        (m->error && strlen(m->error) > 1024)) {
        sched_agent_error(s, rid, env->request_id, DR_EINVAL,
                          "mpi_launch_io: bad job, attempt, launch, stream "
                          "or size");
        return;
    }
    job_t *j = sched_job_find(s, m->job_id);
    job_task_t *t =
        j && j->attempts == m->attempt && j->mpi ? job_task_on(j, n) : NULL;
    if (!t || t == &j->tasks[0])
        return; /* the job or its attempt is over: nobody listens */
    dr_env_t out;
    Drover__MpiLaunchIo fw = *m;
    fw.base.unknown_fields = NULL;
    fw.base.n_unknown_fields = 0;
    fw.node = n->name;
    wire_env_init(&out, 0);
    out.body_case = DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO;
    out.mpi_launch_io = &fw;
    sched_send_agent(s, j->tasks[0].node->name, &out);
}

static const struct {
    int body;
    agent_fn fn;
} s_table[] = {
    {DROVER__ENVELOPE__BODY_MPI_LAUNCH, s_mpi_launch},
    {DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO, s_mpi_launch_io},
    {DROVER__ENVELOPE__BODY_TOKEN_REQUEST, s_token_request},
    {DROVER__ENVELOPE__BODY_NODE_PREEMPTED, s_node_preempted},
    {DROVER__ENVELOPE__BODY_REGISTER, s_register},
    {DROVER__ENVELOPE__BODY_HEARTBEAT, s_heartbeat},
    {DROVER__ENVELOPE__BODY_TASK_UPDATE, s_task_update},
    {DROVER__ENVELOPE__BODY_TASK_OUTPUT, s_task_output},
};

void api_agent_dispatch(sched_t *s, const char *rid, dr_env_t *env)
{
    for (size_t i = 0; i < sizeof s_table / sizeof s_table[0]; i++) {
        if ((int)env->body_case == s_table[i].body) {
            s_table[i].fn(s, rid, env);
            return;
        }
    }
    log_warn("agent %s: unexpected message %s", rid,
             wire_body_name(env->body_case));
    sched_agent_error(s, rid, env->request_id, DR_EPROTO,
                      "message %s is not accepted on the agent endpoint",
                      wire_body_name(env->body_case));
}
