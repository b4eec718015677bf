/* agent.c - the node agent's loop (see agent.h and agent_int.h).
 *
 * Owns the ZeroMQ context, the reactor (common/evloop) and what registers
 * with it: one DEALER per node, the signal fd, the docker client's
 * requests, the token endpoint, the scheduled-events poller (tasks
 * register their own output and launch servers).  Ready items are handled
 * in the order of AGENT_PRIO_* (dockerd's answers first, the node's
 * messages last), then one tick does what the clocks call for.  This file
 * builds and tears down the agent and never blocks the loop (no blocking
 * waits on children, sockets or files) except in agent_destroy().
 */
#include "agent_int.h"
#include "endpoints.h"
#include "runtime_process.h"

#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- what the loop watches ----------------------------------------------
 *
 * Every handler only does its own part and wakes the tick (agent_wake):
 * the tick -- registrations, heartbeats, every task's clocks and runtime,
 * leaving, docker's availability, scheduled events, the token endpoint's
 * timeouts -- then runs once, at the end of the pass. */

static void s_on_node(dr_loop_t *loop, void *arg, short revents)
{
    (void)loop;
    node_t *node = arg;
    if (revents & ZMQ_POLLIN)
        session_recv(node);
    agent_wake(node->agent);
}

static void s_on_signal(dr_loop_t *loop, void *arg, short revents)
{
    (void)loop;
    (void)revents;
    agent_t *a = arg;
    char buf[64];
    ssize_t n;
    while ((n = read(a->sig_fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == 'T')
                agent_shutdown(a, "signal");
    }
    agent_wake(a); /* SIGCHLD: a process may have ended */
}

/* dockerd's answers: they only change container states. */
static size_t s_docker_nfds(void *arg)
{
    return http_async_nfds(runtime_docker_http(((agent_t *)arg)->docker));
}

static int s_docker_fd(void *arg, size_t i, int *want_read, int *want_write)
{
    return http_async_fd(runtime_docker_http(((agent_t *)arg)->docker), i,
                         want_read, want_write);
}

static void s_docker_on_fd(void *arg, int fd, int readable, int writable)
{
    agent_t *a = arg;
    http_async_on_fd(runtime_docker_http(a->docker), fd, readable, writable);
    agent_wake(a);
}

static int64_t s_docker_timer(void *arg)
{
    return http_async_timer(runtime_docker_http(((agent_t *)arg)->docker));
}

static void s_docker_on_timer(void *arg)
{
    agent_t *a = arg;
    http_async_on_timer(runtime_docker_http(a->docker));
    agent_wake(a);
}

static const dr_loop_source_t s_docker_source = {
    .nfds = s_docker_nfds,
    .fd = s_docker_fd,
    .on_fd = s_docker_on_fd,
    .timer = s_docker_timer,
    .on_timer = s_docker_on_timer,
};

/* The scheduled-events poller checks its sockets itself, in the tick. */
static size_t s_sev_nfds(void *arg)
{
    return sched_events_nfds(((agent_t *)arg)->sev);
}

static int s_sev_fd(void *arg, size_t i, int *want_read, int *want_write)
{
    return sched_events_fd(((agent_t *)arg)->sev, i, want_read, want_write);
}

static void s_sev_on_fd(void *arg, int fd, int readable, int writable)
{
    (void)fd;
    (void)readable;
    (void)writable;
    agent_wake(arg);
}

static const dr_loop_source_t s_sev_source = {
    .nfds = s_sev_nfds,
    .fd = s_sev_fd,
    .on_fd = s_sev_on_fd,
};

/* Token requests, before the node's messages: a reply in this pass then
 * finds its connection waiting. */
static size_t s_ident_nfds(void *arg)
{
    return msi_nfds(((agent_t *)arg)->ident);
}

static int s_ident_fd(void *arg, size_t i, int *want_read, int *want_write)
{
    return msi_fd(((agent_t *)arg)->ident, i, want_read, want_write);
}

static void s_ident_on_fd(void *arg, int fd, int readable, int writable)
{
    agent_t *a = arg;
    msi_on_fd(a->ident, fd, readable, writable);
    agent_wake(a);
}

static const dr_loop_source_t s_ident_source = {
    .nfds = s_ident_nfds,
    .fd = s_ident_fd,
    .on_fd = s_ident_on_fd,
};

/* ---- the tick ------------------------------------------------------------ */

static int64_t s_tick(agent_t *a, int64_t now)
{
    int64_t next = AGENT_NO_TIMER;
    a->docker_hold = node_docker_tick(a, now, &next);
    for (size_t i = 0; i < a->n_nodes; i++)
        next = agent_min(next, session_tick(&a->nodes[i], now));
    next = agent_min(next, session_tick_sev(a, now));
    if (a->ident)
        next = agent_min(next, msi_tick(a->ident, now));
    return next;
}

static int64_t s_tick_timer(void *arg)
{
    agent_t *a = arg;
    return a->tick_due ? 0 : a->tick_next;
}

static void s_tick_on_timer(void *arg)
{
    agent_t *a = arg;
    a->tick_due = 0;
    a->tick_next = s_tick(a, dr_mono_ms());
}

static const dr_loop_source_t s_tick_source = {
    .timer = s_tick_timer,
    .on_timer = s_tick_on_timer,
};

int agent_step(agent_t *self, int max_wait_ms)
{
    if (self->n_gone == self->n_nodes)
        return 1;
    int64_t now = dr_mono_ms();
    if (self->simulate && now - self->last_pass < AGENT_SIM_PASS_MS) {
        /* Batch the work of many hollow nodes into fewer passes. */
        int64_t pause = AGENT_SIM_PASS_MS - (now - self->last_pass);
        if (max_wait_ms >= 0 && pause > max_wait_ms)
            pause = max_wait_ms;
        usleep((useconds_t)pause * 1000);
        now = dr_mono_ms();
    }
    self->last_pass = now;
    int rc = dr_loop_once(self->loop, max_wait_ms);
    if (rc < 0)
        return rc;
    return self->n_gone == self->n_nodes ? 1 : 0;
}

int agent_run(agent_t *self)
{
    for (;;) {
        int rc = agent_step(self, 1000);
        if (rc < 0)
            return rc;
        if (rc > 0)
            return 0;
    }
}

void agent_shutdown(agent_t *self, const char *reason)
{
    for (size_t i = 0; i < self->n_nodes; i++)
        session_leave(&self->nodes[i], reason);
}

void agent_set_signal_fd(agent_t *self, int fd)
{
    dr_loop_remove(self->loop, self->sig_reg);
    self->sig_fd = fd;
    self->sig_reg = fd < 0
                        ? 0
                        : dr_loop_add_fd(self->loop, fd, ZMQ_POLLIN,
                                         AGENT_PRIO_SIGNAL, s_on_signal, self);
}

static void s_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        log_warn_errno("getrlimit");
        return;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_warn_errno("setrlimit NOFILE");
    }
}

static int s_setopt_int(void *sock, int opt, int v, const char *what)
{
    if (zmq_setsockopt(sock, opt, &v, sizeof v) < 0) {
        log_error("zmq_setsockopt %s: %s", what, zmq_strerror(errno));
        return DR_EIO;
    }
    return 0;
}

static void *s_open_socket(agent_t *a, const node_t *node)
{
    const char *name = node->name;
    const dr_keypair_t *kp =
        a->cfg->sim_keys ? &a->cfg->sim_keys[node->index] : &a->cfg->keys;
    void *s = zmq_socket(a->ctx, ZMQ_DEALER);
    if (!s) {
        log_error("node %s: zmq_socket: %s", name, zmq_strerror(errno));
        return NULL;
    }
    int64_t maxmsg = DR_MAX_MSG_BYTES;
    if (zmq_setsockopt(s, ZMQ_ROUTING_ID, name, strlen(name)) < 0 ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) < 0 ||
        s_setopt_int(s, ZMQ_LINGER, 500, "LINGER") < 0 ||
        s_setopt_int(s, ZMQ_SNDHWM, 100000, "SNDHWM") < 0 ||
        s_setopt_int(s, ZMQ_RCVHWM, 100000, "RCVHWM") < 0 ||
        s_setopt_int(s, ZMQ_RECONNECT_IVL, 200, "RECONNECT_IVL") < 0 ||
        s_setopt_int(s, ZMQ_RECONNECT_IVL_MAX, 2000, "RECONNECT_IVL_MAX") < 0) {
        log_error("node %s: socket options: %s", name, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if ((a->cfg->key_file || a->cfg->sim_keys) &&
        keys_apply_client(s, kp, a->cfg->server_z85) < 0) {
        log_error("node %s: CURVE options: %s", name, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    char ep[512];
    if (dr_ep_get(a->cfg->scheduler, 0, ep, sizeof ep) < 0 ||
        zmq_connect(s, ep) < 0) {
        log_error("node %s: connect %s: %s", name, a->cfg->scheduler,
                  zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int s_open_gpu(agent_t *self)
{
    const agent_cfg_t *cfg = self->cfg;
    char gerr[512];
    if (gpu_new(cfg->gpu_inventory, NULL, cfg->name, &self->gpu, gerr,
                sizeof gerr) < 0) {
        log_error("gpu: --gpu-inventory: %s", gerr);
        return DR_EINVAL;
    }
    if (gpu_reason(self->gpu))
        log_info("gpu: %s", gpu_reason(self->gpu));
    else
        log_info("gpu: %zu GPU(s) from %s", gpu_list(self->gpu)->count,
                 gpu_source(self->gpu));
    return 0;
}

static int s_open_ctx(agent_t *self)
{
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        log_error("zmq_ctx_new: %s", zmq_strerror(errno));
        return DR_EIO;
    }
    if (!self->simulate)
        return 0;
    s_raise_nofile();
    if (zmq_ctx_set(self->ctx, ZMQ_MAX_SOCKETS, (int)self->n_nodes + 64) < 0 ||
        zmq_ctx_set(self->ctx, ZMQ_IO_THREADS, self->n_nodes > 200 ? 2 : 1) <
            0) {
        log_error("zmq_ctx_set: %s", zmq_strerror(errno));
        return DR_EIO;
    }
    return 0;
}

static int s_open_nodes(agent_t *self)
{
    const agent_cfg_t *cfg = self->cfg;
    self->nodes = dr_calloc(self->n_nodes, sizeof *self->nodes);
    int64_t now = dr_mono_ms();
    for (size_t i = 0; i < self->n_nodes; i++) {
        node_t *node = &self->nodes[i];
        node->agent = self;
        node->index = i;
        node->name = self->simulate ? dr_asprintf("%s-%zu", cfg->name, i)
                                    : dr_strdup(cfg->name);
        /* First Register of N nodes spread over one second. */
        node->next_register = now + (int64_t)(i * 1000 / self->n_nodes);
        if (!self->simulate && !(node->lease = lease_new()))
            return DR_ESYS;
    }
    for (size_t i = 0; i < self->n_nodes; i++) {
        node_t *node = &self->nodes[i];
        node->sock = s_open_socket(self, node);
        if (!node->sock)
            return DR_EIO;
        node->sock_reg = dr_loop_add_socket_lazy(
            self->loop, node->sock, AGENT_PRIO_NODE, s_on_node, node);
    }
    return 0;
}

/* OpenMPI session dirs of tasks a killed agent left behind: the process
 * runtime's tasks did not survive it. */
static void s_clean_mpi_tmp(agent_t *self)
{
    char *pat = dr_asprintf("/tmp/drover-mpi.%s.*", self->nodes[0].name);
    glob_t g;
    if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
        for (size_t k = 0; k < g.gl_pathc; k++)
            if (dr_rmtree(g.gl_pathv[k]) < 0)
                log_warn_errno("cannot remove %s", g.gl_pathv[k]);
        globfree(&g);
    }
    free(pat);
}

/* A real node's services: docker, the token endpoint, scheduled events. */
static int s_open_services(agent_t *self)
{
    const agent_cfg_t *cfg = self->cfg;
    if (self->simulate)
        return 0;
    self->docker = runtime_docker_new(
        cfg->docker_socket ? cfg->docker_socket : "/var/run/docker.sock",
        cfg->installation);
    if (!self->docker)
        return DR_EIO;
    log_info("docker: this installation's containers are labelled "
             "drover.installation=%s",
             cfg->installation);
    dr_loop_add_source(self->loop, &s_docker_source, self, AGENT_PRIO_DOCKER);
    s_clean_mpi_tmp(self);
    char why[256];
    self->isolate = runtime_process_can_isolate(why, sizeof why);
    if (self->isolate)
        log_info("process tasks run in their own PID and mount namespaces");
    else
        log_warn("process tasks are not isolated from each other: %s", why);
    self->ident = msi_new(0, session_ident_ask, &self->nodes[0]);
    if (!self->ident)
        return DR_EIO;
    dr_loop_add_source(self->loop, &s_ident_source, self, AGENT_PRIO_IDENT);
    if (cfg->scheduled_events_url) {
        self->sev =
            sched_events_new(cfg->scheduled_events_url, self->nodes[0].name,
                             cfg->scheduled_events_interval_ms);
        if (!self->sev)
            return DR_EIO;
        dr_loop_add_source(self->loop, &s_sev_source, self, AGENT_PRIO_SEV);
    }
    return 0;
}

agent_t *agent_new(const agent_cfg_t *cfg)
{
    agent_t *self = dr_calloc(1, sizeof *self);
    self->cfg = cfg;
    if (!cfg->key_file && !cfg->sim_keys)
        log_warn("%s: no --key: connecting without CURVE; only a scheduler "
                 "started with --insecure accepts that (loopback debugging)",
                 cfg->insecure ? "INSECURE" : "WARNING");
    self->sig_fd = -1;
    self->hb_ms = cfg->heartbeat_ms;
    self->simulate = cfg->simulate > 0;
    self->n_nodes = self->simulate ? (size_t)cfg->simulate : 1;
    self->chunk = dr_malloc(AGENT_CHUNK);
    self->started_at = dr_mono_ms();
    self->session_id = session_id_init(cfg->work_dir);
    self->loop = dr_loop_new();
    self->n_schedulers = dr_ep_count(cfg->scheduler);
    self->tick_due = 1; /* the first pass registers */
    dr_loop_add_source(self->loop, &s_tick_source, self, AGENT_PRIO_TICK);
    static const char *keep[3] = {"PATH", "HOME", "LANG"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(keep[i]);
        if (v)
            self->base_env[i] = dr_asprintf("%s=%s", keep[i], v);
    }
    if (s_open_gpu(self) < 0 || s_open_ctx(self) < 0 ||
        s_open_nodes(self) < 0 || s_open_services(self) < 0) {
        agent_destroy(&self);
        return NULL;
    }
    log_info("agent %s: %zu node(s) connecting to %s", cfg->name, self->n_nodes,
             cfg->scheduler);
    return self;
}

void agent_destroy(agent_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    agent_t *self = *self_p;
    for (size_t i = 0; self->nodes && i < self->n_nodes; i++) {
        node_t *node = &self->nodes[i];
        while (node->tasks) {
            task_t *t = node->tasks;
            node->tasks = t->next;
            task_free(&t); /* SIGKILLs and reaps a process still running */
        }
        session_drop_held(node);
        if (node->sock)
            zmq_close(node->sock);
        free(node->name);
        lease_destroy(&node->lease);
    }
    free(self->nodes);
    sched_events_destroy(&self->sev);
    msi_destroy(&self->ident);
    runtime_docker_destroy(&self->docker); /* after the tasks' removals */
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    gpu_destroy(&self->gpu);
    for (int i = 0; i < 3; i++)
        free(self->base_env[i]);
    dr_loop_destroy(&self->loop); /* last: the tasks left it on the way */
    free(self->chunk);
    free(self);
    *self_p = NULL;
}
