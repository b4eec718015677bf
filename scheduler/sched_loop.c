/* sched_loop.c - the scheduler's single-threaded loop: the ROUTER
 * sockets (agents, clients and the local unix socket), the ZAP handler's
 * socket, the wake pipe, the timers and the order of a pass.
 *
 * It runs on the shared reactor (common/evloop.h): the ZAP socket, the
 * agent, client and local ROUTERs and the wake pipe are registered with
 * it, in that priority order, and three timers (heartbeat checks, autoscaler,
 * checkpoint) only mark their work due, so that the work runs in the
 * pass's fixed order.  The phases of a pass, in order (libuv style):
 *   1. poll   - dr_loop_once: at most until the next timer;
 *   2. begin  - the first handler (or phase 4) opens the transaction;
 *   3. drain  - bounded, non-blocking reads from both sockets, each message
 *               checked (who sent it) and dispatched through its RPC table;
 *   4. timers - children reaped, providers' transfers, lost nodes and job
 *               deadlines when due;
 *   5. place  - new submissions tried alone, then placement passes for the
 *               clusters whose capacity grew;
 *      autoscale - when due, after placement (it sizes what is left);
 *   6. commit - one fsync'd commit for everything the pass changed;
 *   7. flush  - only now do replies and agent commands leave; then the
 *               WAL checkpoint when due.
 * As the pass begins (its first handler, or phase 4), the disk of the
 * state dir is checked (a statvfs): with less than min_free_disk free the
 clients' writes
 * are refused with "disk full" (DISK_LOW), what is running goes on.  A
 * commit that fails all the same (the disk filled within the pass) keeps
 * nothing: every reply of the pass becomes an error, the agent commands
 * are dropped, the model is read back from the last commit (as after a
 * kill -9) and every write is held (DISK_FULL) until a probe write
 * commits; reads are answered throughout.  A lost database (PostgreSQL)
 * goes the same way, except that the model is read back only once the
 * database answers again (the leadership poll does it).
 * On a shared store (PostgreSQL) the leadership poll runs once a second
 * after the flush: a standby answers every message "not the leader, try
 * ENDPOINT" and runs no timers; a commit refused for another leader's
 * term (fencing) keeps nothing and makes this scheduler a standby.
 * It owns the sockets and the timers; the model it drives never sees
 * either.  Nothing here blocks except the poll and the commit.
 */
#include "api_agent.h"
#include "api_client.h"
#include "auth.h"
#include "autoscaler.h"
#include "dr_err.h"
#include "evloop.h"
#include "history.h"
#include "http_api.h"
#include "log.h"
#include "placement.h"
#include "ratelim.h"
#include "sched_int.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#define DRAIN_BUDGET 2000
/* The routing ids of the local socket's peers, inside the model. */
#define LOCAL_RID_PREFIX "~local "
/* Jobs placed per pass and cluster: the reports of the jobs a
 * pass starts (running, exited: two each) are drained in the next one,
 * within DRAIN_BUDGET, so that a short job's end is not queued behind one
 * huge pass that starts every job a drained queue has.  250: at 5,000
 * nodes (tests/bench/bench_placement.sh) it placed 14,000-21,000 jobs/s
 * with a running -> ended p99 of 62-114 ms; 500 placed a little more per
 * second, with a p99 of 125-258 ms. */
#define PLACE_BUDGET 250

struct sched_io {
    void *zctx;
    void *agent_sock;
    void *client_sock;
    void *local_sock; /* --local-socket, or NULL */
    dr_loop_t *loop;
    dr_loop_id_t wake_id; /* the wake pipe's registration, 0 = none */
    int wake_fd;
    dr_loop_id_t autoscale_timer;
    int poll_cap_ms; /* providers with transfers in flight: -1 = none */
    int rc;          /* a handler's failure to begin the transaction */
    int hb_due, autoscale_due, checkpoint_due;
    int64_t next_prune; /* mono ms of the next pruning of old events */
    int64_t next_disk;  /* mono ms of the next probe of a full disk */
    int began;          /* the pass's first s_begin ran (disk checked) */
    int64_t next_logs;  /* mono ms of the next check of the logs' total */
    int64_t next_lead;  /* mono ms of the next leadership poll */
    ratelim_t *noisy;   /* bad messages and refusals: one line a peer/10 s */
    uint64_t passes;
    http_api_t *http; /* --http-listen: /metrics and /api/v1/, or NULL */
};

typedef void (*dispatch_fn)(sched_t *s, const char *rid, dr_env_t *env);

static void s_register(sched_t *self);
static int s_http(sched_t *self);

static void *s_router(void *ctx, const char *endpoint, int sndhwm,
                      const dr_keypair_t *keys, const char *domain)
{
    void *sock = zmq_socket(ctx, ZMQ_ROUTER);
    if (!sock)
        return NULL;
    if (keys && keys_apply_server(sock, keys, domain) < 0) {
        log_error("cannot make %s a CURVE server: %s", endpoint,
                  zmq_strerror(errno));
        zmq_close(sock);
        return NULL;
    }
    int one = 1, zero = 0;
    int64_t maxmsg = DR_MAX_MSG_BYTES;
    int hwm = sndhwm;
    if (zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) < 0 ||
        zmq_setsockopt(sock, ZMQ_ROUTER_HANDOVER, &one, sizeof one) < 0 ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) < 0 ||
        zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm) < 0 ||
        zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm) < 0 ||
        zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_bind(sock, endpoint) < 0) {
        log_error("cannot bind %s: %s", endpoint, zmq_strerror(errno));
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

/* The local endpoint: no CURVE, for the kernel names each peer (the
 * uid libzmq reads with SO_PEERCRED, s_local_peer).  Any local user may
 * connect (0666, as a socket the permissions of its folder do not open
 * would be of no use to them); who may do what is decided per message. */
static int s_local(sched_t *self)
{
    char ep[sizeof self->opts.local_socket + 8];
    snprintf(ep, sizeof ep, "ipc://%s", self->opts.local_socket);
    self->io->local_sock = s_router(self->io->zctx, ep, 100000, NULL, NULL);
    if (!self->io->local_sock)
        return DR_EIO;
    if (chmod(self->opts.local_socket, 0666) < 0) {
        log_error("cannot open %s to local users: %s", self->opts.local_socket,
                  strerror(errno));
        return DR_EIO;
    }
    return 0;
}

static int s_sockets(sched_t *self)
{
    sched_io_t *io = self->io;
    io->zctx = zmq_ctx_new();
    if (!io->zctx)
        return DR_EIO;
    int maxs = 65536;
    (void)zmq_ctx_set(io->zctx, ZMQ_MAX_SOCKETS, maxs);
    const dr_keypair_t *keys = NULL;
    if (!self->opts.insecure) {
        if (auth_zap_bind(self->auth, io->zctx) < 0)
            return DR_EIO;
        keys = auth_server_keys(self->auth);
    }
    io->agent_sock = s_router(io->zctx, self->opts.agent_endpoint, 100000, keys,
                              AUTH_DOMAIN_AGENTS);
    io->client_sock = s_router(io->zctx, self->opts.client_endpoint, 100000,
                               keys, AUTH_DOMAIN_CLIENTS);
    if (!io->agent_sock || !io->client_sock)
        return DR_EIO;
    if (self->opts.local_socket[0] && s_local(self) < 0)
        return DR_EIO;
    s_register(self);
    if (self->opts.http_listen[0] && s_http(self) < 0)
        return DR_EIO;
    log_info("listening: agents on %s, clients on %s%s%s",
             self->opts.agent_endpoint, self->opts.client_endpoint,
             io->local_sock ? " and ipc://" : "",
             io->local_sock ? self->opts.local_socket : "");
    return 0;
}

sched_t *sched_new(const sched_opts_t *opts)
{
    sched_t *self = dr_calloc(1, sizeof *self);
    self->io = dr_calloc(1, sizeof *self->io);
    self->io->poll_cap_ms = -1;
    self->io->wake_fd = -1;
    self->io->loop = dr_loop_new();
    self->io->noisy = ratelim_new(10000);
    self->metrics = metrics_new();
    self->history = history_new(HISTORY_INTERVAL_MS, HISTORY_SAMPLES);
    if (model_open(self, opts) < 0 || s_sockets(self) < 0) {
        sched_destroy(&self);
        return NULL;
    }
    return self;
}

void sched_destroy(sched_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sched_t *self = *self_p;
    sched_io_t *io = self->io;
    if (io)
        http_api_destroy(&io->http);
    if (io && io->agent_sock)
        zmq_close(io->agent_sock);
    if (io && io->client_sock)
        zmq_close(io->client_sock);
    if (io && io->local_sock) {
        zmq_close(io->local_sock);
        (void)unlink(self->opts.local_socket); /* ours: bound above */
    }
    /* the ZAP socket is the auth's: it closes before the context ends */
    model_close(self);
    if (io && io->zctx)
        zmq_ctx_term(io->zctx);
    if (io) {
        dr_loop_destroy(&io->loop);
        ratelim_destroy(&io->noisy);
    }
    free(io);
    metrics_destroy(&self->metrics);
    history_destroy(&self->history);
    free(self);
    *self_p = NULL;
}

void sched_autoscale_at(sched_t *self, int64_t mono_ms)
{
    self->autoscale_now = 0;
    self->io->autoscale_due = 0;
    dr_loop_timer_set(self->io->loop, self->io->autoscale_timer, mono_ms);
}

/* ---- the pass ------------------------------------------------------------ */

static void s_send(void *sock, const char *rid_str, const outmsg_t *m,
                   const char *what)
{
    unsigned char rid[DR_MAX_ROUTING_ID];
    size_t ridlen = wire_rid_decode(rid_str, rid);
    if (zmq_send(sock, rid, ridlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(sock, m->data, m->len, ZMQ_DONTWAIT) < 0)
        log_debug("%s %s: message dropped: %s", what, m->rid,
                  zmq_strerror(errno));
}

static void s_flush(void *sock, outbox_t *ob, const char *what)
{
    for (size_t i = 0; i < ob->n; i++)
        s_send(sock, ob->msgs[i].rid, &ob->msgs[i], what);
    outbox_clear(ob);
}

/* The clients' outbox: a local peer's (LOCAL_RID_PREFIX) through the
 * local socket, the others' through the client socket. */
static void s_flush_clients(sched_io_t *io, outbox_t *ob)
{
    size_t k = strlen(LOCAL_RID_PREFIX);
    for (size_t i = 0; i < ob->n; i++) {
        const outmsg_t *m = &ob->msgs[i];
        if (strncmp(m->rid, LOCAL_RID_PREFIX, k) != 0)
            s_send(io->client_sock, m->rid, m, "client");
        else if (io->local_sock)
            s_send(io->local_sock, m->rid + k, m, "local client");
    }
    outbox_clear(ob);
}

/* A local peer's routing id as the model sees it: LOCAL_RID_PREFIX and
 * its own, so that its replies go back through the local socket
 * (s_flush_clients).  DR_ETOOBIG for an id with no room for the prefix. */
static int s_local_rid(char *rid)
{
    size_t n = strlen(rid), k = strlen(LOCAL_RID_PREFIX);
    if (n + k > DR_MAX_ROUTING_ID)
        return DR_ETOOBIG;
    memmove(rid + k, rid, n + 1);
    memcpy(rid, LOCAL_RID_PREFIX, k);
    return 0;
}

/* local: the local socket (clients, who are named by their uid). */
static void s_drain(sched_t *self, void *sock, int is_agent, int local,
                    dispatch_fn fn)
{
    const char *side = is_agent ? "agent" : local ? "local client" : "client";
    for (int i = 0; i < DRAIN_BUDGET; i++) {
        char rid[DR_MAX_ROUTING_ID + 1] = "";
        char user[128] = "";
        dr_env_t *env = NULL;
        int rc =
            wire_recv_ex(sock, rid, ZMQ_DONTWAIT, &env,
                         local ? "Peer-Address" : "User-Id", user, sizeof user);
        if (local && rc != DR_EAGAIN && rc != DR_EIO && rid[0] &&
            s_local_rid(rid) < 0) {
            log_debug("local client: a routing id too long, dropped");
            wire_free(&env);
            continue;
        }
        if (rc == DR_EAGAIN)
            break;
        if (rc == DR_EIO) {
            log_warn("%s socket: receive failed: %s", side,
                     zmq_strerror(errno));
            wire_free(&env);
            break;
        }
        if (rc < 0) {
            char key[320];
            uint64_t left_out = 0;
            snprintf(key, sizeof key, "bad|%s|%s|%d", side, rid, rc);
            if (ratelim_allow(self->io->noisy, key, dr_mono_ms(), &left_out))
                log_warn("%s %s: bad message: %s%s", side, rid[0] ? rid : "?",
                         dr_strerror(rc),
                         left_out ? " (and more, not logged)" : "");
            metrics_inc(self->metrics, MC_REFUSED, "bad_message", NULL, 1);
            if (rid[0])
                sched_peer_error(self, is_agent, rid, env ? env->request_id : 0,
                                 rc, dr_strerror(rc));
            wire_free(&env);
            continue;
        }
        if (self->standby)
            outbox_not_leader(is_agent ? &self->agent_out : &self->client_out,
                              rid, env->request_id,
                              is_agent ? self->leader.agent
                                       : self->leader.client);
        else if (sched_peer_check(self, self->io->noisy, is_agent, local, rid,
                                  user, env) == 0)
            fn(self, rid, env);
        self->req = (req_ctx_t){0};
        wire_free(&env);
    }
}

/* One reaper for every child of the scheduler (agents of the local
 * provider, programs of exec providers): each provider claims its own. */
static void s_reap_children(sched_t *self)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int claimed = 0;
        for (cluster_t *c = self->clusters; c && !claimed; c = c->next)
            if (c->provider != self->local && c->provider->ops->child_exited)
                claimed =
                    c->provider->ops->child_exited(c->provider, pid, status);
        if (!claimed && self->local->ops->child_exited)
            (void)self->local->ops->child_exited(self->local, pid, status);
    }
}

/* Progress of the providers' transfers; the most the next poll may wait. */
static int s_poll_providers(sched_t *self)
{
    int wait_cap = -1;
    for (cluster_t *c = self->clusters; c; c = c->next) {
        if (c->provider != self->local && c->provider->ops->poll) {
            int w = c->provider->ops->poll(c->provider);
            if (w >= 0 && (wait_cap < 0 || w < wait_cap))
                wait_cap = w;
        }
    }
    return wait_cap;
}

/* Phase 4: what is due. */
static void s_timers(sched_t *self, int64_t now)
{
    sched_io_t *io = self->io;
    s_reap_children(self);
    io->poll_cap_ms = s_poll_providers(self);
    if (io->hb_due) {
        io->hb_due = 0;
        node_check_all(self, now);
    }
    if (now >= io->next_prune) {
        /* bounded per pass: a backlog goes in steps, never stalls the loop */
        int64_t before =
            dr_now_ms() - (int64_t)self->opts.event_retention_s * 1000;
        int n = store_event_prune(self->store, before, 5000);
        if (n > 0)
            log_info("pruned %d events older than %d s", n,
                     self->opts.event_retention_s);
        io->next_prune = now + (n == 5000 ? 1000 : 60000);
    }
    if (now >= io->next_logs) {
        io->next_logs = now + 10000;
        if (self->opts.log_total_limit_mb > 0 &&
            self->log_bytes > self->opts.log_total_limit_mb << 20)
            job_logs_rotate(self);
    }
}

/* ---- the disk ------------------------------------------------------------ */

/* Free MiB on the state dir's file system, or -1. */
static int64_t s_free_mb(const char *dir)
{
    struct statvfs sv;
    if (statvfs(dir, &sv) < 0)
        return -1;
    return (int64_t)(((uint64_t)sv.f_bavail * sv.f_frsize) >> 20);
}

/* Before the pass: DISK_LOW while less than min_free_disk is free;
 * DISK_FULL (a failed commit) until a probe write commits. */
static void s_disk_check(sched_t *self, int64_t now)
{
    sched_io_t *io = self->io;
    if (self->disk == DISK_FULL && now < io->next_disk)
        return; /* the probe is a write: once a second */
    io->next_disk = now + 1000;
    int64_t free_mb = s_free_mb(self->opts.state_dir);
    int low = free_mb >= 0 && free_mb < self->opts.min_free_disk_mb;
    int was = self->disk;
    if (was == DISK_FULL &&
        (store_probe_write(self->store) < 0 || self->need_load))
        return; /* a model to read back waits for the leadership poll */
    self->disk = low ? DISK_LOW : DISK_OK;
    if (self->disk == was)
        return;
    if (self->disk == DISK_OK) {
        log_info("disk: %lld MiB free in %s again: writes are accepted",
                 (long long)free_mb, self->opts.state_dir);
        (void)store_event(self->store, "disk", "", "", 0,
                          "disk space returned (%lld MiB free): writes "
                          "accepted again",
                          (long long)free_mb);
    } else {
        log_warn("disk: %lld MiB free in %s (min-free-disk %lld MiB): "
                 "clients' writes are refused until space returns",
                 (long long)free_mb, self->opts.state_dir,
                 (long long)self->opts.min_free_disk_mb);
    }
}

/* A commit failed: nothing of the pass may be acknowledged, and memory
 * is ahead of the disk. */
static void s_commit_failed(sched_t *self, int rc, int64_t now)
{
    if (rc == DR_ENOTLEADER) {
        /* fenced: another scheduler took the term; it has the state */
        log_error("store: commit refused: another scheduler leads now; "
                  "nothing of this pass is kept; this one is a standby");
        outbox_fail_all(&self->client_out, DR_ENOTLEADER,
                        "not the leader: another scheduler took over; this "
                        "request was not saved; try the others");
        outbox_clear(&self->agent_out);
        self->standby = 1;
        self->need_load = 1;
        return;
    }
    /* memory is read back from the last commit, unless the database is
     * gone: then it waits for it (the leadership poll reads it back) */
    int reloaded = !store_down(self->store) && model_reload(self) == 0;
    if (!reloaded && store_down(self->store)) {
        log_error("store: commit failed: the database is unreachable; "
                  "nothing of this pass is kept; writes are held until it "
                  "returns");
        outbox_fail_all(&self->client_out, DR_EDB,
                        "database unreachable: the scheduler cannot reach "
                        "its PostgreSQL store; this request was not saved "
                        "(nothing of it was kept); retry when it returns");
        outbox_clear(&self->agent_out);
        self->db_down = 1;
        self->need_load = 1;
        self->disk = DISK_FULL;
        self->io->next_disk = now + 1000;
        return;
    }
    int full = store_last_full(self->store);
    log_error("store: commit failed (%s): nothing of this pass is kept; "
              "the state is read back from the last commit",
              full ? "disk full" : "database error");
    outbox_fail_all(&self->client_out, full ? DR_ENOSPC : DR_EDB,
                    full ? "disk full: the scheduler's disk is full; this "
                           "request was not saved (nothing of it was kept); "
                           "retry when space returns"
                         : "database error: this request was not saved "
                           "(nothing of it was kept)");
    if (!reloaded)
        log_fatal("store: cannot read the state back; exiting so that a "
                  "restart recovers from the last committed state");
    self->disk = DISK_FULL;
    self->io->next_disk = now + 1000;
}

/* Phase 5: placement, a policy over the model.  A new submission is tried
 * alone when its cluster's capacity did not grow (else the pass sees it).
 * At most PLACE_BUDGET jobs are placed: what is left makes its cluster
 * dirty, and the next poll does not wait. */
static void s_place(sched_t *self)
{
    for (cluster_t *c = self->clusters; c; c = c->next)
        c->place_left = PLACE_BUDGET;
    for (size_t i = 0; i < self->nfresh; i++) {
        job_t *j = sched_job_find(self, self->fresh[i]);
        if (!j || j->state != JOB_QUEUED || j->cluster->dirty)
            continue;
        if (!j->cluster->place_left)
            cluster_capacity_grew(j->cluster); /* the pass finds it */
        else if (placement_try(self, j->cluster, j))
            j->cluster->place_left--;
    }
    self->nfresh = 0;
    int more = 0;
    for (cluster_t *c = self->clusters; c; c = c->next) {
        (void)placement_pass(self, c, c->place_left);
        more |= c->dirty;
    }
    if (more)
        self->io->poll_cap_ms = 0;
}

static void s_autoscale(sched_t *self, int64_t now)
{
    sched_io_t *io = self->io;
    if (!io->autoscale_due && !self->autoscale_now)
        return;
    io->autoscale_due = self->autoscale_now = 0;
    for (cluster_t *c = self->clusters; c; c = c->next)
        autoscaler_tick(self, c, now);
    history_tick(self->history, self, now);
    /* the next tick comes an interval after this one */
    dr_loop_timer_set(io->loop, io->autoscale_timer,
                      now + self->opts.autoscale_interval_ms);
}

/* ---- what the reactor calls ---------------------------------------------- */

/* The transaction of the pass opens with its first handler. */
static int s_begin(sched_t *self)
{
    if (!self->io->began) {
        /* the pass's first handler: how the disk stands decides what it
         * may write (a statvfs, cheap) */
        self->io->began = 1;
        s_disk_check(self, dr_mono_ms());
    }
    if (store_begin(self->store) < 0) {
        self->io->rc = DR_EDB;
        return DR_EDB;
    }
    return 0;
}

static void s_on_zap(dr_loop_t *loop, void *arg, short revents)
{
    (void)loop;
    (void)revents;
    sched_t *self = arg;
    if (s_begin(self) == 0)
        auth_zap_handle(self->auth);
}

static void s_on_agent(dr_loop_t *loop, void *arg, short revents)
{
    (void)loop;
    (void)revents;
    sched_t *self = arg;
    if (s_begin(self) == 0)
        s_drain(self, self->io->agent_sock, 1, 0, api_agent_dispatch);
}

static void s_on_client(dr_loop_t *loop, void *arg, short revents)
{
    (void)loop;
    (void)revents;
    sched_t *self = arg;
    if (s_begin(self) == 0)
        s_drain(self, self->io->client_sock, 0, 0, api_client_dispatch);
}

static void s_on_local(dr_loop_t *loop, void *arg, short revents)
{
    (void)loop;
    (void)revents;
    sched_t *self = arg;
    if (s_begin(self) == 0)
        s_drain(self, self->io->local_sock, 0, 1, api_client_dispatch);
}

static void s_on_wake(dr_loop_t *loop, void *arg, short revents)
{
    (void)loop;
    (void)revents;
    char buf[64];
    while (read(*(int *)arg, buf, sizeof buf) > 0)
        ;
}

static void s_hb_due(dr_loop_t *loop, void *arg)
{
    (void)loop;
    ((sched_io_t *)arg)->hb_due = 1;
}

static void s_autoscale_due(dr_loop_t *loop, void *arg)
{
    (void)loop;
    ((sched_io_t *)arg)->autoscale_due = 1;
}

static void s_checkpoint_due(dr_loop_t *loop, void *arg)
{
    (void)loop;
    ((sched_io_t *)arg)->checkpoint_due = 1;
}

/* The sockets in the order the pass drains them, and the timers (all due
 * in the first pass). */
static void s_register(sched_t *self)
{
    sched_io_t *io = self->io;
    void *zap = self->opts.insecure ? NULL : auth_zap_socket(self->auth);
    if (zap)
        (void)dr_loop_add_socket(io->loop, zap, DR_LOOP_PRIO_FIRST, s_on_zap,
                                 self);
    (void)dr_loop_add_socket(io->loop, io->agent_sock, DR_LOOP_PRIO_DEFAULT,
                             s_on_agent, self);
    (void)dr_loop_add_socket(io->loop, io->client_sock, DR_LOOP_PRIO_DEFAULT,
                             s_on_client, self);
    if (io->local_sock)
        (void)dr_loop_add_socket(io->loop, io->local_sock, DR_LOOP_PRIO_DEFAULT,
                                 s_on_local, self);
    (void)dr_loop_add_timer(io->loop, 0, 1000, s_hb_due, io);
    io->autoscale_timer = dr_loop_add_timer(
        io->loop, 0, self->opts.autoscale_interval_ms, s_autoscale_due, io);
    (void)dr_loop_add_timer(io->loop, 0, 5000, s_checkpoint_due, io);
}

/* The HTTP listener (http_api.h): a source of the reactor, whose
 * requests open the pass's transaction as the sockets' do. */
static int s_http_begin(void *arg)
{
    return s_begin(arg);
}

static int s_http(sched_t *self)
{
    sched_io_t *io = self->io;
    io->http = http_api_new(self, self->opts.http_listen, s_http_begin, self);
    if (!io->http)
        return DR_EIO;
    (void)dr_loop_add_source(io->loop, http_api_source(), io->http,
                             DR_LOOP_PRIO_DEFAULT);
    return 0;
}

/* The wake pipe a caller passes (or -1): registered while it is the same. */
static void s_wake_fd(sched_io_t *io, int wake_fd)
{
    if (wake_fd == io->wake_fd)
        return;
    dr_loop_remove(io->loop, io->wake_id);
    io->wake_id = 0;
    io->wake_fd = wake_fd;
    if (wake_fd >= 0)
        io->wake_id =
            dr_loop_add_fd(io->loop, wake_fd, ZMQ_POLLIN, DR_LOOP_PRIO_LAST,
                           s_on_wake, &io->wake_fd);
}

int sched_run_once(sched_t *self, int timeout_ms, int wake_fd)
{
    sched_io_t *io = self->io;
    s_wake_fd(io, wake_fd);
    io->rc = 0;
    io->began = 0;
    if (dr_loop_once(io->loop, timeout_ms) < 0)
        return DR_EIO;
    if (io->rc < 0 || s_begin(self) < 0)
        return DR_EDB;
    int64_t now = dr_mono_ms();
    if (self->standby)
        s_reap_children(self);
    else if (self->disk != DISK_FULL) {
        s_timers(self, now);
        job_deps_check(self);
        s_place(self);
        s_autoscale(self, now);
    }
    int rc = store_commit(self->store);
    if (rc < 0)
        s_commit_failed(self, rc, now); /* memory was ahead of the disk */
    s_flush(io->agent_sock, &self->agent_out, "agent");
    http_api_take_replies(io->http, &self->client_out);
    s_flush_clients(io, &self->client_out);
    if (io->checkpoint_due) {
        io->checkpoint_due = 0;
        store_checkpoint(self->store);
    }
    if (now >= io->next_lead) {
        /* after the flush: what this pass committed is out before a
         * lost term turns this scheduler into a standby */
        io->next_lead = now + 1000;
        int was_standby = self->standby;
        (void)model_leader_tick(self);
        if (was_standby && !self->standby)
            dr_loop_timer_set(io->loop, io->autoscale_timer, now);
    }
    io->passes++;
    return 0;
}

int sched_run(sched_t *self, volatile sig_atomic_t *stop, int wake_fd)
{
    sched_io_t *io = self->io;
    while (!*stop) {
        /* the reactor waits until its next timer; a provider with
         * transfers in flight may want to be polled sooner */
        int timeout = 1000;
        if (io->poll_cap_ms >= 0 && timeout > io->poll_cap_ms)
            timeout = io->poll_cap_ms;
        int rc = sched_run_once(self, timeout, wake_fd);
        if (rc < 0)
            return rc;
    }
    log_info("scheduler stopping");
    return 0;
}
