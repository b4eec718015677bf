/* agent.c - the node agent's loop (see agent.h and agent_int.h).
 *
 * Owns the ZeroMQ context, one DEALER per node, every node's task table and
 * the runtime objects of the tasks.  A task lives in its node's table from
 * TaskStart until the scheduler acked its final TaskUpdate; the latest
 * unacked update of each task is resent every second.  Incoming messages go
 * through one handler table indexed by the envelope's body case; only
 * s_recv_node() frees an unpacked message.  Nothing received is trusted:
 * every field is checked before use, and bad input is answered or logged,
 * never asserted.  This file must never block the loop (no blocking waits
 * on children, sockets or files) except in agent_destroy().
 */
#include "agent_int.h"

#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void s_item_add(agent_t *a, size_t *n, void *sock, int fd, s_ref_t ref)
{
    if (*n == a->items_cap) {
        a->items_cap = a->items_cap ? a->items_cap * 2 : 64;
        a->items = dr_realloc(a->items, a->items_cap * sizeof *a->items);
        a->refs = dr_realloc(a->refs, a->items_cap * sizeof *a->refs);
    }
    a->items[*n] = (zmq_pollitem_t){sock, fd, ZMQ_POLLIN, 0};
    a->refs[*n] = ref;
    (*n)++;
}

static void s_read_signals(agent_t *a)
{
    char buf[64];
    ssize_t n;
    while ((n = read(a->sig_fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == 'T')
                agent_shutdown(a, "signal");
    }
}

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
    int64_t next = AGENT_NO_TIMER;
    self->docker_hold = node_docker_tick(self, now, &next);
    for (size_t i = 0; i < self->n_nodes; i++)
        next = agent_min(next, session_tick(&self->nodes[i], now));
    next = agent_min(next, session_tick_sev(self, now));
    if (self->ident)
        next = agent_min(next, msi_tick(self->ident, now));
    if (self->n_gone == self->n_nodes)
        return 1;

    size_t n = 0;
    for (size_t i = 0; i < self->n_nodes; i++) {
        node_t *node = &self->nodes[i];
        if (!node->sock)
            continue;
        s_item_add(self, &n, node->sock, 0, (s_ref_t){S_REF_NODE, node, 0, 0});
        for (task_t *t = node->tasks; t; t = t->next) {
            for (int s = 0; t->rt && s < 2; s++) {
                int fd = t->rt->ops->fd(t->rt->impl, s);
                if (fd >= 0)
                    s_item_add(self, &n, NULL, fd,
                               (s_ref_t){S_REF_PIPE, node, t, s});
            }
            for (size_t k = 0; t->launch_srv && k < mpi_srv_nfds(t->launch_srv);
                 k++) {
                int want_r = 0, want_w = 0;
                int fd = mpi_srv_fd(t->launch_srv, k, &want_r, &want_w);
                s_item_add(self, &n, NULL, fd,
                           (s_ref_t){S_REF_LAUNCH, node, t, 0});
                self->items[n - 1].events = (short)((want_r ? ZMQ_POLLIN : 0) |
                                                    (want_w ? ZMQ_POLLOUT : 0));
            }
        }
    }
    if (self->sig_fd >= 0)
        s_item_add(self, &n, NULL, self->sig_fd,
                   (s_ref_t){S_REF_SIG, NULL, NULL, 0});

    for (size_t i = 0;
         self->docker && i < http_async_nfds(runtime_docker_http(self->docker));
         i++) {
        int want_r = 0, want_w = 0;
        int fd = http_async_fd(runtime_docker_http(self->docker), i, &want_r,
                               &want_w);
        s_item_add(self, &n, NULL, fd, (s_ref_t){S_REF_DOCKER, NULL, NULL, 0});
        self->items[n - 1].events =
            (short)((want_r ? ZMQ_POLLIN : 0) | (want_w ? ZMQ_POLLOUT : 0));
    }
    if (self->docker)
        next = agent_min(next,
                         http_async_timer(runtime_docker_http(self->docker)));
    for (size_t i = 0; self->sev && i < sched_events_nfds(self->sev); i++) {
        int want_r = 0, want_w = 0;
        int fd = sched_events_fd(self->sev, i, &want_r, &want_w);
        s_item_add(self, &n, NULL, fd, (s_ref_t){S_REF_SEV, NULL, NULL, 0});
        self->items[n - 1].events =
            (short)((want_r ? ZMQ_POLLIN : 0) | (want_w ? ZMQ_POLLOUT : 0));
    }

    for (size_t i = 0; self->ident && i < msi_nfds(self->ident); i++) {
        int want_r = 0, want_w = 0;
        int fd = msi_fd(self->ident, i, &want_r, &want_w);
        s_item_add(self, &n, NULL, fd, (s_ref_t){S_REF_IDENT, NULL, NULL, 0});
        self->items[n - 1].events =
            (short)((want_r ? ZMQ_POLLIN : 0) | (want_w ? ZMQ_POLLOUT : 0));
    }

    now = dr_mono_ms();
    int64_t wait = next == AGENT_NO_TIMER ? max_wait_ms : next - now;
    if (wait < 0)
        wait = 0;
    if (max_wait_ms >= 0 && wait > max_wait_ms)
        wait = max_wait_ms;
    int rc = zmq_poll(self->items, (int)n, (long)wait);
    if (rc < 0) {
        if (errno == EINTR)
            return 0;
        log_warn_errno("zmq_poll");
        return DR_EIO;
    }
    /* Docker first: its answers only change container states. */
    for (size_t i = 0; i < n && rc > 0; i++) {
        zmq_pollitem_t *it = &self->items[i];
        if (self->refs[i].kind == S_REF_DOCKER && it->revents)
            http_async_on_fd(runtime_docker_http(self->docker), it->fd,
                             !!(it->revents & (ZMQ_POLLIN | ZMQ_POLLERR)),
                             !!(it->revents & ZMQ_POLLOUT));
    }
    if (self->docker &&
        dr_mono_ms() >= http_async_timer(runtime_docker_http(self->docker)))
        http_async_on_timer(runtime_docker_http(self->docker));
    /* The poller checks its sockets itself; a Preempt stops tasks but
     * frees none, so the pipe refs below stay valid. */
    (void)session_tick_sev(self, dr_mono_ms());
    /* Pipes first: handling messages may free tasks the refs point at. */
    for (size_t i = 0; i < n && rc > 0; i++) {
        s_ref_t *r = &self->refs[i];
        if (r->kind == S_REF_PIPE &&
            (self->items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
            task_pump(r->node, r->task, r->stream, AGENT_PUMP_BATCH);
    }
    /* Launch requests too: messages may free the tasks. */
    for (size_t i = 0; i < n && rc > 0; i++) {
        s_ref_t *r = &self->refs[i];
        zmq_pollitem_t *it = &self->items[i];
        if (r->kind == S_REF_LAUNCH && it->revents && r->task->launch_srv) {
            task_mpi_ctx_t x = {r->node, r->task};
            mpi_srv_on_fd(r->task->launch_srv, it->fd,
                          !!(it->revents & (ZMQ_POLLIN | ZMQ_POLLERR)),
                          !!(it->revents & ZMQ_POLLOUT),
                          task_mpi_launch_request, &x);
        }
    }
    /* Token requests before the node's messages: a reply in this pass
     * then finds its connection waiting. */
    for (size_t i = 0; i < n && rc > 0; i++) {
        zmq_pollitem_t *it = &self->items[i];
        if (self->refs[i].kind == S_REF_IDENT && it->revents)
            msi_on_fd(self->ident, it->fd,
                      !!(it->revents & (ZMQ_POLLIN | ZMQ_POLLERR)),
                      !!(it->revents & ZMQ_POLLOUT));
    }
    for (size_t i = 0; i < n && rc > 0; i++) {
        s_ref_t *r = &self->refs[i];
        if (r->kind == S_REF_SIG && self->items[i].revents)
            s_read_signals(self);
    }
    for (size_t i = 0; i < n && rc > 0; i++) {
        s_ref_t *r = &self->refs[i];
        if (r->kind == S_REF_NODE && (self->items[i].revents & ZMQ_POLLIN))
            session_recv(r->node);
    }
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
    self->sig_fd = fd;
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

static void *s_open_socket(agent_t *a, const char *name)
{
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
    if (a->cfg->key_file &&
        keys_apply_client(s, &a->cfg->keys, a->cfg->server_z85) < 0) {
        log_error("node %s: CURVE options: %s", name, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (zmq_connect(s, a->cfg->scheduler) < 0) {
        log_error("node %s: connect %s: %s", name, a->cfg->scheduler,
                  zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

agent_t *agent_new(const agent_cfg_t *cfg)
{
    agent_t *self = dr_calloc(1, sizeof *self);
    self->cfg = cfg;
    if (!cfg->key_file)
        log_warn("%s: no --key: connecting without CURVE; only a scheduler "
                 "started with --insecure accepts that (loopback debugging)",
                 cfg->insecure ? "INSECURE" : "WARNING");
    self->sig_fd = -1;
    self->hb_ms = cfg->heartbeat_ms;
    self->simulate = cfg->simulate > 0;
    self->n_nodes = self->simulate ? (size_t)cfg->simulate : 1;
    self->chunk = dr_malloc(AGENT_CHUNK);
    self->started_at = dr_mono_ms();
    if (!self->simulate) {
        self->docker = runtime_docker_new(
            cfg->docker_socket ? cfg->docker_socket : "/var/run/docker.sock");
        if (!self->docker)
            goto fail;
    }
    static const char *keep[3] = {"PATH", "HOME", "LANG"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(keep[i]);
        if (v)
            self->base_env[i] = dr_asprintf("%s=%s", keep[i], v);
    }
    char gerr[512];
    if (gpu_new(cfg->gpu_inventory, NULL, cfg->name, &self->gpu, gerr,
                sizeof gerr) < 0) {
        log_error("gpu: --gpu-inventory: %s", gerr);
        goto fail;
    }
    if (gpu_reason(self->gpu))
        log_info("gpu: %s", gpu_reason(self->gpu));
    else
        log_info("gpu: %zu GPU(s) from %s", gpu_list(self->gpu)->count,
                 gpu_source(self->gpu));
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        log_error("zmq_ctx_new: %s", zmq_strerror(errno));
        goto fail;
    }
    if (self->simulate) {
        s_raise_nofile();
        if (zmq_ctx_set(self->ctx, ZMQ_MAX_SOCKETS, (int)self->n_nodes + 64) <
                0 ||
            zmq_ctx_set(self->ctx, ZMQ_IO_THREADS,
                        self->n_nodes > 200 ? 2 : 1) < 0) {
            log_error("zmq_ctx_set: %s", zmq_strerror(errno));
            goto fail;
        }
    }
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
    }
    for (size_t i = 0; i < self->n_nodes; i++) {
        self->nodes[i].sock = s_open_socket(self, self->nodes[i].name);
        if (!self->nodes[i].sock)
            goto fail;
    }
    if (!self->simulate) {
        /* OpenMPI session dirs of tasks a killed agent left behind: the
         * process runtime's tasks did not survive it */
        char *pat = dr_asprintf("/tmp/drover-mpi.%s.*", self->nodes[0].name);
        glob_t g;
        if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
            for (size_t k = 0; k < g.gl_pathc; k++)
                if (dr_rmtree(g.gl_pathv[k]) < 0)
                    log_warn_errno("cannot remove %s", g.gl_pathv[k]);
            globfree(&g);
        }
        free(pat);
        self->ident = msi_new(0, session_ident_ask, &self->nodes[0]);
        if (!self->ident)
            goto fail;
    }
    if (cfg->scheduled_events_url && !self->simulate) {
        self->sev =
            sched_events_new(cfg->scheduled_events_url, self->nodes[0].name,
                             cfg->scheduled_events_interval_ms);
        if (!self->sev)
            goto fail;
    }
    log_info("agent %s: %zu node(s) connecting to %s", cfg->name, self->n_nodes,
             cfg->scheduler);
    return self;
fail:
    agent_destroy(&self);
    return NULL;
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
        if (node->sock)
            zmq_close(node->sock);
        free(node->name);
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
    free(self->items);
    free(self->refs);
    free(self->chunk);
    free(self);
    *self_p = NULL;
}
