/* join.c - see join.h. */
#include "join.h"
#include "endpoints.h"
#include "dr_err.h"
#include "keys.h"
#include "log.h"
#include "util.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define JOIN_RESEND_MS 5000
#define DR_EINTR_JOIN (-1000) /* stopped: a private code, never returned */

/* The node's key: the one a join that got no answer made, or a new one. */
static int s_key(const char *path, dr_keypair_t *kp)
{
    char err[600];
    int created;
    int rc = keys_load_or_create(path, NULL, kp, &created, err, sizeof err);
    if (created)
        log_info("join: made this node's key pair in %s", path);
    if (rc < 0)
        log_error("join: %s", err);
    return rc;
}

int join_write_state(const agent_cfg_t *cfg)
{
    char *path = dr_asprintf("%s/%s", cfg->work_dir, AGENT_JOINED_FILE);
    char *tmp = dr_asprintf("%s.tmp", path);
    char *text = dr_asprintf("# written by drover-agent when it joined\n"
                             "name = %s\ncluster = %s\nvm-size = %s\n"
                             "cpus = %lld\nmemory-mb = %lld\n",
                             cfg->name, cfg->cluster, cfg->vm_size,
                             (long long)cfg->cpus, (long long)cfg->memory_mb);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t len = strlen(text);
    int ok = fd >= 0 && write(fd, text, len) == (ssize_t)len;
    if (fd >= 0 && close(fd) < 0)
        ok = 0;
    if (ok && rename(tmp, path) < 0)
        ok = 0;
    if (!ok) {
        log_warn_errno("join: cannot write %s", path);
        (void)unlink(tmp);
    }
    free(path);
    free(tmp);
    free(text);
    return ok ? 0 : DR_EIO;
}

void *join_socket(void *ctx, const agent_cfg_t *cfg, const char *name,
                  const dr_keypair_t *jk, const char *mon_ep)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    if (!s) {
        log_error("join: socket of %s: %s", name, zmq_strerror(errno));
        return NULL;
    }
    if (mon_ep &&
        zmq_socket_monitor(s, mon_ep, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) < 0) {
        log_error("join: monitor: %s", zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    char rid[DR_MAX_ROUTING_ID];
    snprintf(rid, sizeof rid, "%s%s", DR_JOIN_RID_PREFIX, name);
    int zero = 0;
    int64_t maxmsg = 64 * 1024;
    char ep[512]; /* a list: its first scheduler (a standby refuses) */
    if (dr_ep_get(cfg->scheduler, 0, ep, sizeof ep) < 0 ||
        zmq_setsockopt(s, ZMQ_ROUTING_ID, rid, strlen(rid)) < 0 ||
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) < 0 ||
        keys_apply_client(s, jk, cfg->server_z85) < 0 ||
        zmq_connect(s, ep) < 0) {
        log_error("join: socket of %s to %s: %s", name, cfg->scheduler,
                  zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

int join_apply_ack(agent_cfg_t *cfg, const dr_env_t *rep, int quiet)
{
    if (rep->body_case == DROVER__ENVELOPE__BODY_ERROR) {
        log_error("join refused by the scheduler: %s",
                  rep->error->message ? rep->error->message : "?");
        return DR_EPERM;
    }
    if (rep->body_case != DROVER__ENVELOPE__BODY_JOIN_ACK)
        return DR_EAGAIN;
    const Drover__JoinAck *a = rep->join_ack;
    if (!a->cluster || !dr_valid_name(a->cluster) || !a->vm_size ||
        !dr_valid_name(a->vm_size) || a->cpus == 0 || a->memory_mb == 0) {
        log_error("join: the scheduler's answer lacks the node's cluster, "
                  "vm size, cpus or memory");
        return DR_EIO;
    }
    if (!cfg->cluster)
        cfg->cluster = dr_strdup(a->cluster);
    if (!cfg->vm_size)
        cfg->vm_size = dr_strdup(a->vm_size);
    if (!cfg->cpus)
        cfg->cpus = a->cpus;
    if (!cfg->memory_mb)
        cfg->memory_mb = (int64_t)a->memory_mb;
    if (!quiet)
        log_info("join: node %s joined cluster %s (%s)", cfg->name,
                 cfg->cluster, cfg->vm_size);
    return 0;
}

/* A monitor event: DR_EPERM when the handshake was refused (logged). */
static int s_monitor_event(void *mon)
{
    zmq_msg_t ev, ep;
    zmq_msg_init(&ev);
    zmq_msg_init(&ep);
    int rc = DR_EAGAIN;
    if (zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) >= 0 &&
        zmq_msg_recv(&ep, mon, ZMQ_DONTWAIT) >= 0 && zmq_msg_size(&ev) >= 6) {
        const uint8_t *d = zmq_msg_data(&ev);
        uint16_t id = (uint16_t)(d[0] | d[1] << 8);
        uint32_t status = (uint32_t)d[2] | (uint32_t)d[3] << 8 |
                          (uint32_t)d[4] << 16 | (uint32_t)d[5] << 24;
        if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            log_error("join refused by the scheduler: unknown join token (it "
                      "admitted no connection for it: status %u); check the "
                      "token with drover cluster join-token list",
                      status);
            rc = DR_EPERM;
        }
    }
    zmq_msg_close(&ev);
    zmq_msg_close(&ep);
    return rc;
}

/* 1 when a stop signal's byte is waiting on fd. */
static int s_stop_signal(int fd)
{
    char buf[64];
    ssize_t n;
    int stop = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            stop |= buf[i] == 'T';
    return stop;
}

int agent_join(agent_cfg_t *cfg, int sig_fd)
{
    if (dr_mkdirs(cfg->work_dir, 0700) < 0) {
        log_error("join: cannot create %s: %s", cfg->work_dir, strerror(errno));
        return DR_EIO;
    }
    char *path = dr_asprintf("%s/%s", cfg->work_dir, AGENT_KEY_FILE);
    dr_keypair_t kp, jk;
    void *ctx = NULL, *sock = NULL, *mon = NULL;
    char mon_ep[64];
    snprintf(mon_ep, sizeof mon_ep, "inproc://drover-join-monitor");
    int rc = s_key(path, &kp);
    if (rc == 0 && (rc = keys_join_pair(cfg->join_token, &jk)) < 0)
        log_error("join: cannot derive the token's join key");
    if (rc < 0)
        goto out;
    ctx = zmq_ctx_new();
    sock = ctx ? join_socket(ctx, cfg, cfg->name, &jk, mon_ep) : NULL;
    mon = sock ? zmq_socket(ctx, ZMQ_PAIR) : NULL;
    if (!mon || zmq_connect(mon, mon_ep) < 0) {
        rc = DR_EIO;
        goto out;
    }
    Drover__Join j = DROVER__JOIN__INIT;
    j.token = cfg->join_token;
    j.node_name = cfg->name;
    j.cluster = cfg->cluster ? cfg->cluster : "";
    j.public_key = kp.public_z85;
    log_info("join: node %s joining %s with token %.6s...", cfg->name,
             cfg->scheduler, cfg->join_token);
    rc = DR_EAGAIN;
    for (uint64_t req = 1; rc == DR_EAGAIN; req++) {
        dr_env_t env;
        wire_env_body(&env, req, DROVER__ENVELOPE__BODY_JOIN, &j);
        if (wire_send(sock, NULL, &env) < 0)
            log_debug("join: send: %s", zmq_strerror(errno));
        int64_t until = dr_mono_ms() + JOIN_RESEND_MS;
        while (rc == DR_EAGAIN && dr_mono_ms() < until) {
            zmq_pollitem_t it[3] = {{sock, 0, ZMQ_POLLIN, 0},
                                    {mon, 0, ZMQ_POLLIN, 0},
                                    {NULL, sig_fd, ZMQ_POLLIN, 0}};
            int n =
                zmq_poll(it, sig_fd >= 0 ? 3 : 2, (long)(until - dr_mono_ms()));
            if (n < 0 && errno != EINTR) {
                rc = DR_EIO;
                break;
            }
            if ((it[1].revents & ZMQ_POLLIN) &&
                s_monitor_event(mon) == DR_EPERM) {
                rc = DR_EPERM;
                break;
            }
            if (sig_fd >= 0 && (it[2].revents & ZMQ_POLLIN) &&
                s_stop_signal(sig_fd)) {
                log_info("join: stopped by a signal before an answer");
                rc = DR_EINTR_JOIN;
                break;
            }
            if (!(it[0].revents & ZMQ_POLLIN))
                continue;
            dr_env_t *rep = NULL;
            if (wire_recv(sock, NULL, ZMQ_DONTWAIT, &rep) == 0 &&
                rep->request_id == req)
                rc = join_apply_ack(cfg, rep, 0);
            wire_free(&rep);
        }
        if (rc == DR_EAGAIN)
            log_warn("join: no answer from %s yet; trying again",
                     cfg->scheduler);
    }
    if (rc == DR_EINTR_JOIN)
        rc = DR_EAGAIN;
    if (rc == 0 && (rc = join_write_state(cfg)) == 0) {
        cfg->key_file = path;
        path = NULL;
        cfg->keys = kp;
    }
out:
    if (mon)
        zmq_close(mon);
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    memset(&kp, 0, sizeof kp);
    memset(&jk, 0, sizeof jk);
    free(path);
    return rc;
}
