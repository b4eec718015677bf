/* session.c - a node's session with the scheduler: Register, heartbeats,
 * leaving, preemption, and the handler table of incoming messages (only
 * this file frees an unpacked message).  Never blocks.
 *
 * One node name, one live agent.  Every Register carries the agent's
 * session id, random per process and kept in WORK_DIR/agent.session with
 * the pid of the agent that was accepted with it; an agent started after
 * that process died takes the id over, so the restart after a crash that
 * container adoption relies on is "the same session" and is accepted at
 * once.  Any other agent with the node's name is another session, which
 * the scheduler refuses (DR_EBUSY) while the node's holder is alive.  A
 * refused agent logs why, disconnects (while it is connected, the
 * scheduler's ROUTER_HANDOVER gives the node's routing id to whichever of
 * the two connected last, and the live agent loses messages) and tries
 * again later, backing off.  Until its first RegisterAck an agent only
 * holds the messages about work that reach it: sent to the routing id
 * while it held it, they may be the live agent's, and are dropped if it
 * is refused.
 */
#include "agent_int.h"
#include "endpoints.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <zmq.h>

/* ---- the session id -------------------------------------------------- */

/* 1 when pid is a live drover-agent other than this one. */
static int s_pid_is_agent(long pid)
{
    if (pid <= 0 || pid == (long)getpid())
        return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    char comm[32] = "";
    int ok = fgets(comm, sizeof comm, f) != NULL;
    fclose(f);
    return ok && strncmp(comm, "drover-agent", 12) == 0;
}

uint64_t session_id_init(const char *work_dir)
{
    char *path = work_dir ? dr_asprintf("%s/agent.session", work_dir) : NULL;
    FILE *f = path ? fopen(path, "re") : NULL;
    unsigned long long id = 0;
    long pid = 0;
    int have = f && fscanf(f, "%16llx %ld", &id, &pid) == 2 && id != 0;
    if (f)
        fclose(f);
    free(path);
    if (have && !s_pid_is_agent(pid)) {
        log_info("agent session %016llx taken over from agent pid %ld, "
                 "which is gone",
                 id, pid);
        return id;
    }
    if (have)
        log_warn("work dir %s belongs to a live agent (pid %ld): this agent "
                 "starts a session of its own, which the scheduler refuses "
                 "for the node name while that agent is alive",
                 work_dir, pid);
    uint64_t fresh = 0;
    if (getrandom(&fresh, sizeof fresh, 0) != (ssize_t)sizeof fresh) {
        log_warn_errno("getrandom");
        fresh = (uint64_t)dr_now_ms() << 22 ^ (uint64_t)getpid();
    }
    return fresh ? fresh : 1;
}

/* The session file, once this process's session was accepted: a later
 * agent with this work dir takes the id over when this one is gone. */
static void s_session_save(agent_t *a)
{
    if (a->session_saved || !a->cfg->work_dir)
        return;
    a->session_saved = 1;
    const char *dir = a->cfg->work_dir;
    char *path = dr_asprintf("%s/agent.session", dir);
    char *tmp = dr_asprintf("%s.%ld", path, (long)getpid());
    FILE *f = dr_mkdirs(dir, 0755) == 0 ? fopen(tmp, "we") : NULL;
    int ok = f && fprintf(f, "%016" PRIx64 " %ld\n", a->session_id,
                          (long)getpid()) > 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) < 0) {
        log_warn_errno("cannot write %s", path);
        (void)unlink(tmp);
    }
    free(tmp);
    free(path);
}

static uint32_t s_load_milli(void)
{
    FILE *f = fopen("/proc/loadavg", "re");
    if (!f)
        return 0;
    double l = 0;
    int ok = fscanf(f, "%lf", &l) == 1;
    fclose(f);
    if (!ok || l < 0 || l > 4e6)
        return 0;
    return (uint32_t)(l * 1000.0);
}

static uint64_t s_mem_used_mb(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return 0;
    char line[256];
    unsigned long long total = 0, avail = 0, v;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemTotal: %llu kB", &v) == 1)
            total = v;
        else if (sscanf(line, "MemAvailable: %llu kB", &v) == 1)
            avail = v;
    }
    fclose(f);
    return total > avail ? (total - avail) / 1024 : 0;
}

/* A hollow node's GPUs are its own: the inventory's UUIDs (shared by
 * every node of a --simulate) with the last group made of a hash of the
 * node's name and the index, so that no two simulated nodes report one
 * device (the scheduler and /metrics key GPUs by UUID). */
static void s_sim_uuids(const node_t *node, Drover__GpuInfo *msgs, size_t n,
                        char (*buf)[GPU_UUID_MAX])
{
    for (size_t i = 0; i < n; i++) {
        uint64_t h = 1469598103934665603ull; /* FNV-1a */
        for (const char *c = node->name; *c; c++)
            h = (h ^ (uint8_t)*c) * 1099511628211ull;
        h = (h ^ i) * 1099511628211ull;
        const char *u = msgs[i].uuid ? msgs[i].uuid : "GPU-sim";
        const char *dash = strrchr(u, '-');
        int keep = dash ? (int)(dash - u) : (int)strlen(u);
        snprintf(buf[i], GPU_UUID_MAX, "%.*s-%012llx", keep > 40 ? 40 : keep, u,
                 (unsigned long long)(h & 0xffffffffffffull));
        msgs[i].uuid = buf[i];
    }
}

/* The node's GPUs, brought up to date, as the `gpus` of a Register or
 * Heartbeat; msgs, ptrs and uuids hold GPU_INVENTORY_MAX.  The messages
 * borrow the gpu_t's list until its next refresh (a simulated node's
 * UUIDs: uuids). */
static size_t s_gpus_fill(node_t *node, Drover__GpuInfo *msgs,
                          Drover__GpuInfo **ptrs, char (*uuids)[GPU_UUID_MAX])
{
    agent_t *a = node->agent;
    (void)gpu_refresh(a->gpu,
                      AGENT_GPU_REFRESH_MS); /* a bad re-read is logged */
    const gpu_list_t *l = gpu_list(a->gpu);
    gpu_list_to_proto(l, msgs, ptrs);
    if (a->simulate)
        s_sim_uuids(node, msgs, l->count, uuids);
    return l->count;
}

void session_send_register(node_t *node)
{
    agent_t *a = node->agent;
    const agent_cfg_t *cfg = a->cfg;
    size_t n = 0;
    for (task_t *t = node->tasks; t; t = t->next)
        n++;
    Drover__TaskReport *reps = n ? dr_calloc(n, sizeof *reps) : NULL;
    Drover__TaskReport **ptrs = n ? dr_calloc(n, sizeof *ptrs) : NULL;
    size_t i = 0;
    for (task_t *t = node->tasks; t; t = t->next, i++) {
        task_fill_report(t, &reps[i]);
        ptrs[i] = &reps[i];
    }
    char *runtimes[] = {(char *)"process", (char *)"docker"};
    Drover__GpuInfo gmsgs[GPU_INVENTORY_MAX];
    Drover__GpuInfo *gptrs[GPU_INVENTORY_MAX];
    char uuids[GPU_INVENTORY_MAX][GPU_UUID_MAX];
    Drover__Register reg = DROVER__REGISTER__INIT;
    reg.n_gpus = s_gpus_fill(node, gmsgs, gptrs, uuids);
    reg.gpus = gptrs;
    reg.node_name = node->name;
    reg.cluster = cfg->cluster;
    reg.vm_size = cfg->vm_size;
    reg.cpus = (uint32_t)cfg->cpus;
    reg.memory_mb = (uint64_t)cfg->memory_mb;
    reg.n_tasks = n;
    reg.tasks = ptrs;
    reg.agent_version = (char *)AGENT_VERSION;
    reg.n_runtimes = a->docker && runtime_docker_available(a->docker) ? 2 : 1;
    reg.runtimes = runtimes;
    reg.pid = (uint32_t)getpid();
    reg.addr = a->cfg->advertise_addr ? a->cfg->advertise_addr : "";
    reg.session_id = a->session_id;
    dr_env_t env;
    node_env_init(node, &env);
    node->register_rid = env.request_id;
    env.body_case = DROVER__ENVELOPE__BODY_REGISTER;
    env.register_ = &reg;
    log_debug("node %s: register with %zu task(s)", node->name, n);
    node_send(node, &env);
    free(reps);
    free(ptrs);
    node->last_register = dr_mono_ms();
    node->next_register = node->last_register + AGENT_REGISTER_RETRY_MS;
    if (node->lease)
        lease_sent(node->lease, 0, node->last_register);
}

static void s_send_heartbeat(node_t *node)
{
    agent_t *a = node->agent;
    Drover__Heartbeat hb = DROVER__HEARTBEAT__INIT;
    uint32_t running = 0, cpus = 0;
    uint64_t mem = 0;
    for (task_t *t = node->tasks; t; t = t->next) {
        if (t->live) {
            running++;
            cpus += t->cpus;
            mem += t->memory_mb;
        }
    }
    hb.running_tasks = running;
    if (a->simulate) {
        hb.cpu_load_milli = cpus * 1000;
        hb.memory_used_mb = mem;
    } else {
        hb.cpu_load_milli = s_load_milli();
        hb.memory_used_mb = s_mem_used_mb();
    }
    hb.seq = ++node->hb_seq;
    if (node->lease)
        lease_sent(node->lease, hb.seq, dr_mono_ms());
    Drover__GpuInfo gmsgs[GPU_INVENTORY_MAX];
    Drover__GpuInfo *gptrs[GPU_INVENTORY_MAX];
    char uuids[GPU_INVENTORY_MAX][GPU_UUID_MAX];
    hb.n_gpus = s_gpus_fill(node, gmsgs, gptrs, uuids);
    hb.gpus = gptrs;
    dr_env_t env;
    node_env_init(node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    node_send(node, &env);
}

/* Heartbeats of N nodes spread over one interval, not all in one ms. */
static int64_t s_hb_phase(const node_t *node)
{
    const agent_t *a = node->agent;
    return a->hb_ms * (int64_t)(node->index + 1) / (int64_t)a->n_nodes;
}

void session_leave(node_t *node, const char *reason)
{
    if (node->leaving || !node->sock)
        return;
    node->leaving = 1;
    node->leave_hard_deadline =
        dr_mono_ms() + node->agent->cfg->grace_ms + AGENT_LEAVE_ACK_MS + 2000;
    log_info("node %s: shutting down (%s)", node->name, reason);
    char *why = dr_asprintf("node shutting down: %s", reason);
    if (node->registered) {
        /* first, so that the scheduler gives this node no new work and
         * requeues its jobs as no failure of theirs */
        Drover__NodeLeaving nl = DROVER__NODE_LEAVING__INIT;
        nl.reason = why;
        dr_env_t env;
        node_env_init(node, &env);
        env.body_case = DROVER__ENVELOPE__BODY_NODE_LEAVING;
        env.node_leaving = &nl;
        node_send(node, &env);
    }
    for (task_t *t = node->tasks; t; t = t->next)
        task_stop(node, t, TASK_ST(CANCELED), why, 0);
    free(why);
}

static void s_node_gone(node_t *node)
{
    log_info("node %s: left", node->name);
    while (node->tasks) {
        task_t *t = node->tasks;
        node->tasks = t->next;
        if (t->pending)
            log_warn("job %" PRIu64 " attempt %u on node %s: final state %s "
                     "not acked",
                     t->job_id, t->attempt, node->name,
                     task_state_name(t->state));
        task_forget_secret(node, t);
        task_free(&t);
    }
    dr_loop_remove(node->agent->loop, node->sock_reg);
    node->sock_reg = 0;
    zmq_close(node->sock);
    node->sock = NULL;
    node->agent->n_gone++;
}

/* The node is being preempted (a Preempt scheduled event, or the
 * scheduler's drill): tell the scheduler first, so that it requeues the
 * jobs as preempted before any of their final reports arrives (one socket,
 * in order), then TERM the tasks (KILL after the grace) so that they can
 * checkpoint.  The node stays up and heartbeating until the scheduler's
 * Shutdown or a SIGTERM ends it.  Once per node. */
static void s_node_preempt(node_t *node, const char *reason,
                           const char *event_id)
{
    if (!node->sock || node->preempted) {
        log_debug("node %s: already preempted; ignoring %s", node->name,
                  reason);
        return;
    }
    node->preempted = 1;
    log_warn("node %s: preempted: %s", node->name, reason);
    Drover__NodePreempted np = DROVER__NODE_PREEMPTED__INIT;
    np.reason = (char *)reason;
    np.event_id = (char *)(event_id ? event_id : "");
    dr_env_t env;
    node_env_init(node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_NODE_PREEMPTED;
    env.node_preempted = &np;
    node_send(node, &env);
    char *why = dr_asprintf("node preempted: %s", reason);
    for (task_t *t = node->tasks; t; t = t->next)
        task_stop(node, t, TASK_ST(CANCELED), why, 0);
    free(why);
}

/* Drives the scheduled-events poller; a Preempt event preempts the node
 * (a real node has exactly one).  Returns the poller's next due time. */
int64_t session_tick_sev(agent_t *a, int64_t now)
{
    if (!a->sev)
        return AGENT_NO_TIMER;
    int64_t next = sched_events_tick(a->sev, now);
    char id[SCHED_EVENTS_ID_MAX];
    while (sched_events_take(a->sev, id, sizeof id)) {
        char *r = dr_asprintf("Preempt scheduled event %s", id);
        s_node_preempt(&a->nodes[0], r, id);
        free(r);
    }
    return next;
}
typedef void(s_handler_fn)(node_t *node, const dr_env_t *env);
static void s_replay_held(node_t *node);

void session_drop_held(node_t *node)
{
    for (size_t i = 0; i < node->nheld; i++)
        wire_free(&node->held[i]);
    free(node->held);
    node->held = NULL;
    node->nheld = 0;
}

/* Another live agent holds the node name.  A refusal that does not answer
 * our latest Register, or that comes while we are registered, answers the
 * other agent's (the routing id was ours when it was sent): ignored. */
static void s_refused(node_t *node, uint64_t req, const char *msg)
{
    if (node->registered || req != node->register_rid) {
        log_info("node %s: ignoring a refusal meant for another agent with "
                 "this name: %.300s",
                 node->name, msg);
        return;
    }
    node->refused_backoff_ms = node->refused_backoff_ms
                                   ? agent_min(2 * node->refused_backoff_ms,
                                               AGENT_REFUSED_RETRY_MAX_MS)
                                   : AGENT_REFUSED_RETRY_MS;
    log_error("node %s: registration refused by the scheduler: %.300s; "
              "trying again in %" PRId64 " s",
              node->name, msg, node->refused_backoff_ms / 1000);
    if (node->nheld)
        log_info("node %s: dropping %zu message(s) meant for the agent that "
                 "holds the name",
                 node->name, node->nheld);
    session_drop_held(node);
    /* off the scheduler until the retry: connected, this agent and the
     * live one would take the routing id from each other without end */
    if (zmq_disconnect(node->sock, node->agent->cfg->scheduler) < 0)
        log_warn("node %s: disconnect: %s", node->name, zmq_strerror(errno));
    else
        node->refused = 1;
    node->next_register = dr_mono_ms() + node->refused_backoff_ms;
}

static void s_on_ok(node_t *node, const dr_env_t *env)
{
    (void)env;
    log_debug("node %s: ok from scheduler", node->name);
}

/* Moves the node to another of the --scheduler list: the one hint names
 * (a standby's "not the leader, try ENDPOINT") or the next; it registers
 * there again, with the tasks it still runs.  Not more than once in
 * 300 ms: a burst of refusals is one move. */
static void s_follow(node_t *node, const char *hint, const char *why)
{
    const char *list = node->agent->cfg->scheduler;
    int64_t now = dr_mono_ms();
    if (dr_ep_count(list) < 2 || now - node->last_switch < 300)
        return;
    int k = dr_ep_follow(list, node->ep, hint);
    char from[512], to[512];
    if (dr_ep_get(list, node->ep, from, sizeof from) < 0 ||
        dr_ep_get(list, k, to, sizeof to) < 0)
        return;
    if (zmq_disconnect(node->sock, from) < 0)
        log_debug("node %s: disconnect %s: %s", node->name, from,
                  zmq_strerror(errno));
    if (zmq_connect(node->sock, to) < 0) {
        log_warn("node %s: connect %s: %s", node->name, to,
                 zmq_strerror(errno));
        return;
    }
    log_info("node %s: %s; following the scheduler at %s", node->name, why, to);
    node->ep = k;
    node->last_switch = node->last_heard = now;
    node->registered = 0;
    node->next_register = now;
}

static void s_on_error(node_t *node, const dr_env_t *env)
{
    const Drover__Error *e = env->error;
    agent_t *a = node->agent;
    if (e->code == DR_ENOTLEADER) {
        s_follow(node, e->leader, "the scheduler is a standby");
        return;
    }
    if (a->ident &&
        msi_on_error(a->ident, env->request_id, e->code, e->message) &&
        e->code != DR_ENOTREG)
        return; /* the answer of a token request, given to its job */
    if (e->code == DR_ENOTREG) {
        log_info("node %s: scheduler says not registered; registering",
                 node->name);
        /* A burst of such errors (one per queued message) must not turn
         * into a burst of Registers. */
        int recent =
            node->last_register && dr_mono_ms() - node->last_register < 250;
        node->registered = 0;
        if (!recent)
            session_send_register(node);
        return;
    }
    if (e->code == DR_EBUSY) {
        s_refused(node, env->request_id, e->message ? e->message : "");
        return;
    }
    log_warn("node %s: scheduler error %d (%s): %.200s", node->name, e->code,
             dr_errname(e->code), e->message ? e->message : "");
}

static void s_on_register_ack(node_t *node, const dr_env_t *env)
{
    agent_t *a = node->agent;
    const Drover__RegisterAck *ack = env->register_ack;
    if (ack->heartbeat_interval_ms) {
        uint32_t ms = ack->heartbeat_interval_ms;
        if (ms < 100 || ms > 3600000)
            log_warn("node %s: ignoring heartbeat interval %u ms", node->name,
                     ms);
        else
            a->hb_ms = ms;
    }
    if (!node->registered)
        log_info("node %s: registered with %s, heartbeat every %" PRId64 " ms",
                 node->name, a->cfg->scheduler, a->hb_ms);
    node->registered = 1;
    node->next_hb = dr_mono_ms() + s_hb_phase(node);
    node->lease_ms = ack->lease_ms;
    if (node->lease)
        lease_answered(node->lease, 0, node->lease_ms);
    for (size_t i = 0; i < ack->n_cancel_job_ids; i++) {
        for (task_t *t = node->tasks; t; t = t->next) {
            if (t->job_id == ack->cancel_job_ids[i])
                task_stop(node, t, TASK_ST(CANCELED),
                          "canceled by the scheduler at registration", 0);
        }
    }
    if (!node->accepted) {
        node->accepted = 1;
        node->refused_backoff_ms = 0;
        s_session_save(a);
        s_replay_held(node); /* ours after all: the session is */
    }
}

static void s_on_heartbeat_ack(node_t *node, const dr_env_t *env)
{
    log_debug("node %s: heartbeat %" PRIu64 " acked", node->name,
              env->heartbeat_ack->seq);
    if (node->lease)
        lease_answered(node->lease, env->heartbeat_ack->seq, node->lease_ms);
}

static void s_on_preempt_notice(node_t *node, const dr_env_t *env)
{
    const char *r = env->preempt_notice->reason;
    char reason[256];
    snprintf(reason, sizeof reason, "%.200s",
             r && r[0] ? r : "preemption notice from the scheduler");
    s_node_preempt(node, reason, "");
}

static void s_on_token_reply(node_t *node, const dr_env_t *env)
{
    agent_t *a = node->agent;
    const Drover__TokenReply *r = env->token_reply;
    if (!a->ident || !msi_on_reply(a->ident, env->request_id, r->access_token,
                                   r->expires_on, r->resource, r->client_id))
        log_info("node %s: token reply %" PRIu64 " for no waiting request "
                 "(late or unknown); dropped",
                 node->name, env->request_id);
}

/* msi_ask_fn: a job's TokenRequest, sent on the node's socket. */
uint64_t session_ident_ask(void *arg, uint64_t job_id, uint32_t attempt,
                           const char *resource)
{
    node_t *node = arg;
    if (!node->sock || !node->registered)
        return 0;
    Drover__TokenRequest tr = DROVER__TOKEN_REQUEST__INIT;
    tr.job_id = job_id;
    tr.attempt = attempt;
    tr.resource = (char *)resource;
    dr_env_t env;
    node_env_init(node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_TOKEN_REQUEST;
    env.token_request = &tr;
    if (node_wire_send(node, &env) < 0)
        return 0;
    return env.request_id;
}

static void s_on_shutdown(node_t *node, const dr_env_t *env)
{
    const char *r = env->shutdown->reason;
    session_leave(node, r && r[0] ? r : "scheduler asked");
}

static s_handler_fn *const s_handlers[] = {
    [DROVER__ENVELOPE__BODY_ERROR] = s_on_error,
    [DROVER__ENVELOPE__BODY_OK] = s_on_ok,
    [DROVER__ENVELOPE__BODY_REGISTER_ACK] = s_on_register_ack,
    [DROVER__ENVELOPE__BODY_HEARTBEAT_ACK] = s_on_heartbeat_ack,
    [DROVER__ENVELOPE__BODY_TASK_START] = task_start_on_start,
    [DROVER__ENVELOPE__BODY_TASK_CANCEL] = task_on_cancel,
    [DROVER__ENVELOPE__BODY_TASK_UPDATE_ACK] = task_on_update_ack,
    [DROVER__ENVELOPE__BODY_SHUTDOWN] = s_on_shutdown,
    [DROVER__ENVELOPE__BODY_PREEMPT_NOTICE] = s_on_preempt_notice,
    [DROVER__ENVELOPE__BODY_TOKEN_REPLY] = s_on_token_reply,
    [DROVER__ENVELOPE__BODY_MPI_LAUNCH] = task_start_on_mpi_launch,
    [DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO] = task_mpi_on_launch_io,
};
#define S_NHANDLERS (sizeof s_handlers / sizeof s_handlers[0])

static void s_dispatch(node_t *node, const dr_env_t *env)
{
    unsigned bc = (unsigned)env->body_case;
    s_handler_fn *fn = bc < S_NHANDLERS ? s_handlers[bc] : NULL;
    if (!fn)
        log_warn("node %s: dropped unexpected %s message (body %u)", node->name,
                 wire_body_name((int)bc), bc);
    else
        fn(node, env);
}

/* Work, which only an accepted session may act on. */
static int s_is_work(int body)
{
    switch (body) {
    case DROVER__ENVELOPE__BODY_TASK_START:
    case DROVER__ENVELOPE__BODY_TASK_CANCEL:
    case DROVER__ENVELOPE__BODY_TASK_UPDATE_ACK:
    case DROVER__ENVELOPE__BODY_PREEMPT_NOTICE:
    case DROVER__ENVELOPE__BODY_MPI_LAUNCH:
    case DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO:
        return 1;
    default:
        return 0;
    }
}

/* Takes env (the caller must not free it). */
static void s_hold(node_t *node, dr_env_t *env)
{
    if (node->nheld >= AGENT_HELD_MAX) {
        log_warn("node %s: more than %d messages before registration; "
                 "dropping %s",
                 node->name, AGENT_HELD_MAX,
                 wire_body_name((int)env->body_case));
        wire_free(&env);
        return;
    }
    node->held = dr_realloc(node->held, (node->nheld + 1) * sizeof *node->held);
    node->held[node->nheld++] = env;
}

static void s_replay_held(node_t *node)
{
    dr_env_t **v = node->held;
    size_t n = node->nheld;
    node->held = NULL;
    node->nheld = 0;
    for (size_t i = 0; i < n; i++) {
        if (node->sock)
            s_dispatch(node, v[i]);
        wire_free(&v[i]);
    }
    free(v);
}

void session_recv(node_t *node)
{
    for (int i = 0; i < AGENT_RECV_BATCH && node->sock; i++) {
        dr_env_t *env = NULL;
        int rc = wire_recv(node->sock, NULL, ZMQ_DONTWAIT, &env);
        if (rc == DR_EAGAIN)
            break;
        if (rc < 0) {
            log_warn("node %s: dropped a bad message: %s", node->name,
                     dr_strerror(rc));
            wire_free(&env);
            if (rc == DR_EIO)
                break;
            continue;
        }
        node->last_heard = dr_mono_ms();
        if (!node->accepted && s_is_work((int)env->body_case)) {
            s_hold(node, env);
            continue;
        }
        s_dispatch(node, env);
        wire_free(&env);
    }
}

/* The lease ran out: the scheduler may already give this node's work to
 * another node, so every task dies now, without a grace period (process
 * tasks' shims have killed theirs already). */
static void s_node_fence(node_t *node)
{
    node->fenced = 1;
    if (!node->tasks)
        return;
    char *why = dr_asprintf("killed: the node's lease ran out (no answer "
                            "from the scheduler for %u ms)",
                            node->lease_ms);
    log_warn("node %s: %s", node->name, why);
    for (task_t *t = node->tasks; t; t = t->next)
        task_stop(node, t, TASK_ST(FAILED), why, 1);
    free(why);
}

/* Fences the node once its lease ran out; the lease's end while tasks run
 * is a timer of the tick. */
static int64_t s_check_lease(node_t *node)
{
    if (!node->lease)
        return AGENT_NO_TIMER;
    if (lease_expired(node->lease)) {
        if (!node->fenced)
            s_node_fence(node);
        return AGENT_NO_TIMER;
    }
    node->fenced = 0; /* answered again */
    return node->tasks ? lease_expiry(node->lease) : AGENT_NO_TIMER;
}

/* Back on the scheduler after a refusal's wait. */
static int s_reconnect(node_t *node)
{
    if (!node->refused)
        return 0;
    if (zmq_connect(node->sock, node->agent->cfg->scheduler) < 0) {
        log_warn("node %s: connect %s: %s", node->name,
                 node->agent->cfg->scheduler, zmq_strerror(errno));
        node->next_register = dr_mono_ms() + AGENT_REGISTER_RETRY_MS;
        return DR_EIO;
    }
    node->refused = 0;
    return 0;
}

/* A connection that is up but mute: when another agent with this node's
 * name connected, the scheduler's ROUTER_HANDOVER gave it the routing id,
 * and what this agent sends on its old connection is dropped there
 * without a word (libzmq keeps the connection).  No answer for half the
 * lease (8 s before one is known; two heartbeats at least): connect
 * anew, which takes the routing id back, well before the lease ends.
 * What was queued on the old connection is lost; reports are resent until
 * acked.  Returns the next time to look. */
static int64_t s_check_mute(node_t *node, int64_t now)
{
    agent_t *a = node->agent;
    if (node->refused || node->leaving)
        return AGENT_NO_TIMER;
    int64_t quiet = node->lease_ms ? node->lease_ms / 2 : 8000;
    if (quiet < 2 * a->hb_ms)
        quiet = 2 * a->hb_ms;
    if (!node->last_heard)
        node->last_heard = now;
    int64_t since = node->last_heard > node->last_reconnect
                        ? node->last_heard
                        : node->last_reconnect;
    if (now - since < quiet)
        return since + quiet;
    node->last_reconnect = now;
    log_warn("node %s: no answer from the scheduler for %" PRId64
             " ms; connecting anew (another agent with this name may have "
             "taken the connection's routing id)",
             node->name, now - node->last_heard);
    if (zmq_disconnect(node->sock, a->cfg->scheduler) < 0 ||
        zmq_connect(node->sock, a->cfg->scheduler) < 0)
        log_warn("node %s: reconnect %s: %s", node->name, a->cfg->scheduler,
                 zmq_strerror(errno));
    return now + quiet;
}

int64_t session_tick(node_t *node, int64_t now)
{
    agent_t *a = node->agent;
    int64_t next = AGENT_NO_TIMER;
    if (!node->sock)
        return next;
    /* silence from this scheduler (killed, cut off): try the next one
     * well before the lease runs out */
    int64_t silence = a->hb_ms * 3 < 1500 ? 1500 : a->hb_ms * 3;
    if (a->n_schedulers > 1) {
        if (!node->last_heard)
            node->last_heard = now;
        if (now - node->last_heard > silence)
            s_follow(node, NULL, "no answer from the scheduler");
        next = agent_min(next, node->last_heard + silence + 1);
    }
    if (!node->registered) {
        if (now >= node->next_register && !a->docker_hold &&
            s_reconnect(node) == 0)
            session_send_register(node);
        if (!a->docker_hold) /* held: the docker tick says when to look */
            next = agent_min(next, node->next_register);
    } else {
        if (now >= node->next_hb) {
            s_send_heartbeat(node);
            node->next_hb += a->hb_ms;
            if (node->next_hb <= now)
                node->next_hb = now + a->hb_ms;
        }
        next = agent_min(next, node->next_hb);
    }
    next = agent_min(next, s_check_lease(node));
    next = agent_min(next, s_check_mute(node, now));
    int live = 0;
    for (task_t *t = node->tasks; t; t = t->next) {
        next = agent_min(next, task_tick(node, t, now));
        live += t->live;
    }
    if (node->leaving) {
        if (!live && !node->leave_ack_deadline)
            node->leave_ack_deadline = now + AGENT_LEAVE_ACK_MS;
        if ((!live && !node->tasks) ||
            (node->leave_ack_deadline && now >= node->leave_ack_deadline)) {
            s_node_gone(node);
            return AGENT_NO_TIMER;
        }
        if (now >= node->leave_hard_deadline) {
            log_warn("node %s: tasks did not end in time; leaving anyway",
                     node->name);
            s_node_gone(node);
            return AGENT_NO_TIMER;
        }
        next = agent_min(next, node->leave_hard_deadline);
        if (node->leave_ack_deadline)
            next = agent_min(next, node->leave_ack_deadline);
    }
    return next;
}
