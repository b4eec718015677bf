/* api_agent.c - the agent-facing RPC table (Slurm proc_req style).
 *
 * One handler per envelope body an agent may send; anything else gets an
 * error reply.  A handler decodes and checks every field, makes one call
 * into the model and replies: it never writes the store and never moves
 * a job from one state to another.  An agent speaks only for the node
 * named by its routing id, and a message about a task that is not that
 * node's current attempt is answered (acked, or the stray task
 * cancelled) but changes nothing.
 */
#include "api_agent.h"
#include "dr_err.h"
#include "identity.h"
#include "keys.h"
#include "log.h"
#include "sched_int.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TASKS_PER_REPORT 10000
#define MAX_OUTPUT_CHUNK (1u << 20)
#define MAX_LAUNCH_COMMAND (64u << 10)

typedef void (*agent_fn)(sched_t *s, const char *rid, dr_env_t *env);

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

/* The fields of a Register, before anything is looked up; 0 or a code. */
static int s_register_valid(const Drover__Register *r, const char *rid,
                            char *why, size_t cap)
{
    if (!r->node_name || !dr_valid_name(r->node_name)) {
        snprintf(why, cap, "register: invalid node name");
        return DR_EINVAL;
    }
    if (strcmp(r->node_name, rid) != 0) {
        snprintf(why, cap,
                 "register: node name %s does not match the connection's "
                 "identity %s",
                 r->node_name, rid);
        return DR_EPERM;
    }
    if (!r->cluster || !*r->cluster || r->cpus == 0 || r->cpus > 100000 ||
        r->memory_mb == 0 || r->n_tasks > MAX_TASKS_PER_REPORT ||
        r->n_gpus > DR_MAX_GPUS || r->n_runtimes > 16) {
        snprintf(why, cap,
                 "register: cluster, cpus and memory_mb are required");
        return DR_EINVAL;
    }
    for (size_t i = 0; i < r->n_tasks; i++) {
        char w[128];
        if (!s_report_valid(r->tasks[i], w, sizeof w)) {
            snprintf(why, cap, "register: %s", w);
            return DR_EINVAL;
        }
    }
    return 0;
}

static void s_register(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__Register *r = env->register_;
    uint64_t req = env->request_id;
    char why[256];
    node_reg_result_t res;
    int rc = s_register_valid(r, rid, why, sizeof why);
    if (rc == 0)
        rc = node_register(s, rid, r, &res, why, sizeof why);
    if (rc < 0) {
        sched_agent_error(s, rid, req, rc, "%s", why);
        return;
    }
    dr_env_t out;
    if (res.leaving) {
        Drover__Shutdown sd = DROVER__SHUTDOWN__INIT;
        sd.reason = "node is being released";
        wire_env_body(&out, req, DROVER__ENVELOPE__BODY_SHUTDOWN, &sd);
        sched_send_agent(s, rid, &out);
        return;
    }
    Drover__RegisterAck ack = DROVER__REGISTER_ACK__INIT;
    ack.heartbeat_interval_ms = (uint32_t)s->opts.heartbeat_interval_ms;
    ack.lease_ms = (uint32_t)s->opts.heartbeat_timeout_ms;
    ack.n_cancel_job_ids = res.ncancel;
    ack.cancel_job_ids = res.cancel;
    wire_env_body(&out, req, DROVER__ENVELOPE__BODY_REGISTER_ACK, &ack);
    sched_send_agent(s, rid, &out);
    free(res.cancel);
}

static void s_heartbeat(sched_t *s, const char *rid, dr_env_t *env)
{
    /* While writes are held, a node the store knows is answered (its
     * lease, and so its tasks, live on) and nothing is changed; it
     * registers again once the disk takes writes. */
    node_t *n = s->disk == DISK_FULL ? sched_node_find(s, rid)
                                     : node_registered(s, rid, env->request_id);
    if (!n)
        return;
    if (env->heartbeat->n_gpus > DR_MAX_GPUS) {
        sched_agent_error(s, rid, env->request_id, DR_EINVAL,
                          "heartbeat: more than %d GPUs", DR_MAX_GPUS);
        return;
    }
    if (s->disk == DISK_FULL)
        n->last_seen = dr_mono_ms();
    else
        node_heartbeat(s, n, env->heartbeat);
    dr_env_t out;
    Drover__HeartbeatAck ack = DROVER__HEARTBEAT_ACK__INIT;
    ack.seq = env->heartbeat->seq;
    wire_env_body(&out, env->request_id, DROVER__ENVELOPE__BODY_HEARTBEAT_ACK,
                  &ack);
    sched_send_agent(s, rid, &out);
}

static void s_task_update(sched_t *s, const char *rid, dr_env_t *env)
{
    node_t *n = node_registered(s, rid, env->request_id);
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
        if (r->state >= DROVER__TASK_STATE__TASK_EXITED)
            job_outputs_put(s, j, (uint32_t)(jt - j->tasks), env->task_update);
        job_task_report(s, n, j, jt, r);
    } else if (jt) {
        /* a worker's part ended already: nothing more to learn */
    } else if (r->state < DROVER__TASK_STATE__TASK_EXITED) {
        log_warn("node %s reports job %llu attempt %u which is not its task; "
                 "cancelling it",
                 n->name, (unsigned long long)r->job_id, r->attempt);
        node_cancel_stray(s, n, r->job_id, r->attempt, "not this node's task");
    }
    node_ack_report(s, rid, env->request_id, r);
}

static void s_task_output(sched_t *s, const char *rid, dr_env_t *env)
{
    if (s->disk == DISK_FULL)
        return; /* not kept; the next chunk kept says how much was lost */
    node_t *n = node_registered(s, rid, env->request_id);
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
    job_output(s, n, o);
}

/* A node's own word that it goes away: what it said (or `dflt`), applied
 * by `fn`, and an Ok saying so. */
static void s_node_goes(sched_t *s, const char *rid, uint64_t req,
                        const char *said, const char *dflt,
                        void (*fn)(sched_t *, node_t *, const char *),
                        const char *ack)
{
    node_t *n = node_registered(s, rid, req);
    if (!n)
        return;
    char reason[200];
    snprintf(reason, sizeof reason, "%.190s", said && *said ? said : dflt);
    fn(s, n, reason);
    dr_env_t out;
    Drover__Ok ok = DROVER__OK__INIT;
    ok.message = (char *)ack;
    wire_env_body(&out, req, DROVER__ENVELOPE__BODY_OK, &ok);
    sched_send_agent(s, rid, &out);
}

static void s_node_preempted(sched_t *s, const char *rid, dr_env_t *env)
{
    s_node_goes(s, rid, env->request_id, env->node_preempted->reason,
                "Preempt scheduled event", node_preempted,
                "preemption recorded");
}

static void s_node_leaving(sched_t *s, const char *rid, dr_env_t *env)
{
    s_node_goes(s, rid, env->request_id, env->node_leaving->reason,
                "node shutting down", node_leaving, "leaving recorded");
}

static void s_token_request(sched_t *s, const char *rid, dr_env_t *env)
{
    node_t *n = node_registered(s, rid, env->request_id);
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
    metrics_inc(s->metrics, MC_IDENTITY_TOKENS, c->cfg.name, NULL, 1);
    dr_env_t out;
    Drover__TokenReply tr = DROVER__TOKEN_REPLY__INIT;
    tr.access_token = tok;
    tr.expires_on = exp;
    tr.resource = (char *)res;
    tr.client_id = (char *)c->cfg.identity_principal;
    wire_env_body(&out, env->request_id, DROVER__ENVELOPE__BODY_TOKEN_REPLY,
                  &tr);
    sched_send_agent(s, rid, &out);
    free(tok);
    log_info("job %llu on node %s: token for identity %s (%s)",
             (unsigned long long)j->id, n->name, c->cfg.identity, res);
}

/* ---- MPI without SSH: launches relayed between a gang's agents ---------- */

/* Passes a launch message on to node `to`, with `node` naming the sender
 * (the head for MpiLaunch, the worker for MpiLaunchIo). */
static void s_forward(sched_t *s, const char *to, Drover__Envelope__BodyCase b,
                      void *msg)
{
    dr_env_t out;
    wire_env_body(&out, 0, b, msg);
    sched_send_agent(s, to, &out);
}

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
    Drover__MpiLaunchIo io = DROVER__MPI_LAUNCH_IO__INIT;
    io.job_id = m->job_id;
    io.attempt = m->attempt;
    io.launch_id = m->launch_id;
    io.node = m->node ? m->node : (char *)"";
    io.exited = 1;
    io.exit_code = 255;
    io.error = why;
    s_forward(s, rid, DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO, &io);
    log_warn("launch %llu of job %llu refused: %s",
             (unsigned long long)m->launch_id, (unsigned long long)m->job_id,
             why);
}

/* The head's agent asks that a command (OpenMPI's orted) start inside the
 * job's task on another node of the gang: checked, then passed on with
 * `node` naming the head. */
static void s_mpi_launch(sched_t *s, const char *rid, dr_env_t *env)
{
    node_t *n = node_registered(s, rid, env->request_id);
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
    Drover__MpiLaunch fw = DROVER__MPI_LAUNCH__INIT;
    fw.job_id = m->job_id;
    fw.attempt = m->attempt;
    fw.launch_id = m->launch_id;
    fw.node = n->name;
    fw.command = m->command;
    s_forward(s, target->name, DROVER__ENVELOPE__BODY_MPI_LAUNCH, &fw);
    log_debug("job %llu: launch %llu from %s on %s", (unsigned long long)j->id,
              (unsigned long long)m->launch_id, n->name, target->name);
}

/* Output and end of a launched command, from the worker to the head. */
static void s_mpi_launch_io(sched_t *s, const char *rid, dr_env_t *env)
{
    node_t *n = node_registered(s, rid, env->request_id);
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
    Drover__MpiLaunchIo fw = *m;
    fw.base.unknown_fields = NULL;
    fw.base.n_unknown_fields = 0;
    fw.node = n->name;
    s_forward(s, j->tasks[0].node->name, DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO,
              &fw);
}

/* A joining peer (the loop let only a Join of one through) presents a
 * token for a node name: its connection's key becomes that node's. */
static void s_join(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__Join *m = env->join;
    uint64_t req = env->request_id;
    if (!s->req.joining_key[0]) {
        sched_agent_error(s, rid, req, DR_EEXIST,
                          "join: this connection's key is already a node's");
        return;
    }
    if (!m->token || !*m->token || strlen(m->token) > 128) {
        sched_agent_error(s, rid, req, DR_EINVAL, "join: a token is required");
        return;
    }
    if (!m->node_name || !dr_valid_name(m->node_name)) {
        sched_agent_error(s, rid, req, DR_EINVAL,
                          "join: invalid node name (letters, digits, - and "
                          "_, at most 63, beginning with a letter or digit)");
        return;
    }
    if (m->cluster && *m->cluster && !dr_valid_name(m->cluster)) {
        sched_agent_error(s, rid, req, DR_EINVAL, "join: invalid cluster name");
        return;
    }
    char why[256];
    join_result_t res;
    if (!m->public_key || !keys_valid_z85(m->public_key)) {
        sched_agent_error(s, rid, req, DR_EINVAL,
                          "join: the node's public key (Z85) is required");
        return;
    }
    int rc =
        join_admit(s, m->token, m->node_name, m->cluster, s->req.joining_key,
                   m->public_key, &res, why, sizeof why);
    if (rc < 0) {
        log_warn("join of node %s refused: %s", m->node_name, why);
        sched_agent_error(s, rid, req, rc, "join refused: %s", why);
        return;
    }
    const cluster_t *c = res.cluster;
    Drover__JoinAck ack = DROVER__JOIN_ACK__INIT;
    ack.node_name = m->node_name;
    ack.cluster = (char *)c->cfg.name;
    ack.vm_size = (char *)c->vm->name;
    ack.cpus = c->vm->vcpus;
    ack.memory_mb = c->vm->memory_mb;
    dr_env_t out;
    wire_env_body(&out, req, DROVER__ENVELOPE__BODY_JOIN_ACK, &ack);
    sched_send_agent(s, rid, &out);
}

/* W_STATE: the handler writes the store; while writes are held (a full
 * disk) such a message is answered "disk full" and the agent sends it
 * again later (reports are resent until acked). */
enum { W_STATE = 1 };

static const struct {
    int body;
    agent_fn fn;
    int flags;
} s_table[] = {
    {DROVER__ENVELOPE__BODY_JOIN, s_join, W_STATE},
    {DROVER__ENVELOPE__BODY_MPI_LAUNCH, s_mpi_launch, 0},
    {DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO, s_mpi_launch_io, 0},
    {DROVER__ENVELOPE__BODY_TOKEN_REQUEST, s_token_request, 0},
    {DROVER__ENVELOPE__BODY_NODE_PREEMPTED, s_node_preempted, W_STATE},
    {DROVER__ENVELOPE__BODY_NODE_LEAVING, s_node_leaving, W_STATE},
    {DROVER__ENVELOPE__BODY_REGISTER, s_register, W_STATE},
    {DROVER__ENVELOPE__BODY_HEARTBEAT, s_heartbeat, 0},
    {DROVER__ENVELOPE__BODY_TASK_UPDATE, s_task_update, W_STATE},
    {DROVER__ENVELOPE__BODY_TASK_OUTPUT, s_task_output, 0},
};

void api_agent_dispatch(sched_t *s, const char *rid, dr_env_t *env)
{
    for (size_t i = 0; i < sizeof s_table / sizeof s_table[0]; i++) {
        if ((int)env->body_case != s_table[i].body)
            continue;
        if ((s_table[i].flags & W_STATE) && s->disk == DISK_FULL && s->db_down)
            sched_agent_error(s, rid, env->request_id, DR_EDB,
                              "database unreachable: the scheduler holds "
                              "every write until it returns; send it again "
                              "later");
        else if ((s_table[i].flags & W_STATE) && s->disk == DISK_FULL)
            sched_agent_error(s, rid, env->request_id, DR_ENOSPC,
                              "disk full: the scheduler holds every write "
                              "until space returns; send it again later");
        else
            s_table[i].fn(s, rid, env);
        return;
    }
    log_warn("agent %s: unexpected message %s", rid,
             wire_body_name(env->body_case));
    sched_agent_error(s, rid, env->request_id, DR_EPROTO,
                      "message %s is not accepted on the agent endpoint",
                      wire_body_name(env->body_case));
}
