/* sim_join.c - the keys of a simulator's hollow nodes (see join.h,
 * sim_join): `drover-agent --simulate N --join-token TOKEN` gives every
 * node its own CURVE key pair, joined with the token as a real node
 * joins, so that a scale benchmark runs with CURVE on as users run it
 * (and the scheduler sees N keys, N handshakes, N principals).
 *
 * The pairs live in one file of the work dir (SIM_KEYS_FILE: a line
 * "NAME PUBLIC SECRET" per node that joined, 0600), written once when the
 * joins are done (or some were refused: those admitted keep their keys),
 * so that a restart needs the token no more, or only for the rest.  The joins
 * are pipelined: up to SIM_JOIN_BATCH join sockets at once, each sending its
 * Join and closing on its JoinAck; one refusal stops the start.
 */
#include "dr_err.h"
#include "join.h"
#include "keys.h"
#include "log.h"
#include "util.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define SIM_KEYS_FILE "sim-keys"
#define SIM_JOIN_BATCH 256
#define SIM_JOIN_RESEND_MS 5000
#define SIM_JOIN_TIMEOUT_MS 60000

/* Reads the keys file into keys (by node index; a node that has its line
 * joined before); *nfound: how many had one.  A missing file is none. */
static int s_load(const char *path, const agent_cfg_t *cfg, size_t n,
                  dr_keypair_t *keys, size_t *nfound)
{
    *nfound = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : DR_EIO;
    size_t found = 0, plen = strlen(cfg->name);
    char line[256], name[128], pub[64], sec[64];
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%127s %63s %63s", name, pub, sec) != 3 ||
            strncmp(name, cfg->name, plen) != 0 || name[plen] != '-' ||
            !keys_valid_z85(pub) || !keys_valid_z85(sec))
            continue;
        char *end = NULL;
        unsigned long long i = strtoull(name + plen + 1, &end, 10);
        if (*end || i >= n || keys[i].secret_z85[0])
            continue;
        /* keys_valid_z85: exactly DR_Z85_KEY_LEN characters each */
        memcpy(keys[i].public_z85, pub, DR_Z85_KEY_LEN + 1);
        memcpy(keys[i].secret_z85, sec, DR_Z85_KEY_LEN + 1);
        found++;
    }
    fclose(f);
    *nfound = found;
    return 0;
}

/* The keys of the nodes that joined (joined[i]), written whole. */
static int s_save(const char *path, const agent_cfg_t *cfg, size_t n,
                  const dr_keypair_t *keys, const uint8_t *joined)
{
    char *tmp = dr_asprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int ok = f != NULL;
    for (size_t i = 0; ok && i < n; i++)
        if (joined[i])
            ok = fprintf(f, "%s-%zu %s %s\n", cfg->name, i, keys[i].public_z85,
                         keys[i].secret_z85) > 0;
    if (ok && (fflush(f) != 0 || fsync(fd) < 0))
        ok = 0;
    if (f && fclose(f) != 0)
        ok = 0;
    else if (!f && fd >= 0)
        (void)close(fd);
    if (ok && rename(tmp, path) < 0)
        ok = 0;
    if (!ok) {
        log_error("simulate: cannot write the nodes' keys to %s: %s", path,
                  strerror(errno));
        (void)unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : DR_EIO;
}

typedef struct {
    void *sock;
    size_t node;
    int64_t sent_at;
} s_pending_t;

static void s_send_join(const agent_cfg_t *cfg, s_pending_t *p,
                        const dr_keypair_t *keys)
{
    char name[128];
    snprintf(name, sizeof name, "%s-%zu", cfg->name, p->node);
    Drover__Join j = DROVER__JOIN__INIT;
    j.token = cfg->join_token;
    j.node_name = name;
    j.cluster = cfg->cluster ? cfg->cluster : "";
    j.public_key = (char *)keys[p->node].public_z85;
    dr_env_t env;
    wire_env_body(&env, p->node + 1, DROVER__ENVELOPE__BODY_JOIN, &j);
    if (wire_send(p->sock, NULL, &env) < 0)
        log_debug("simulate: join of %s: send: %s", name, zmq_strerror(errno));
    p->sent_at = dr_mono_ms();
}

/* One batch of joins, of the nodes idx[0..n): 0 when every one was
 * admitted; joined[node] set for each that was. */
static int s_batch(void *ctx, agent_cfg_t *cfg, const size_t *idx, size_t n,
                   const dr_keypair_t *keys, const dr_keypair_t *jk,
                   uint8_t *joined, int sig_fd)
{
    size_t left = n;
    int refused = 0;
    s_pending_t *p = dr_calloc(n, sizeof *p);
    zmq_pollitem_t *it = dr_calloc(n + 1, sizeof *it);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s-%zu", cfg->name, idx[i]);
        p[i].node = idx[i];
        if (!(p[i].sock = join_socket(ctx, cfg, name, jk, NULL))) {
            rc = DR_EIO;
            break;
        }
        s_send_join(cfg, &p[i], keys);
    }
    int64_t deadline = dr_mono_ms() + SIM_JOIN_TIMEOUT_MS;
    while (rc == 0 && left > 0) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (p[i].sock)
                it[k++] = (zmq_pollitem_t){p[i].sock, 0, ZMQ_POLLIN, 0};
        it[k] = (zmq_pollitem_t){NULL, sig_fd, ZMQ_POLLIN, 0};
        if (zmq_poll(it, (int)k + (sig_fd >= 0), 500) < 0 && errno != EINTR) {
            log_error("simulate: joining: poll: %s", zmq_strerror(errno));
            rc = DR_EIO;
            break;
        }
        if (sig_fd >= 0 && (it[k].revents & ZMQ_POLLIN)) {
            log_info("simulate: stopped by a signal while joining");
            rc = DR_EAGAIN;
            break;
        }
        int64_t now = dr_mono_ms();
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (!p[i].sock)
                continue;
            dr_env_t *rep = NULL;
            if (wire_recv(p[i].sock, NULL, ZMQ_DONTWAIT, &rep) == 0 &&
                rep->request_id == p[i].node + 1) {
                int arc = join_apply_ack(cfg, rep, 1);
                if (arc != DR_EAGAIN) { /* an answer: this node is done */
                    zmq_close(p[i].sock);
                    p[i].sock = NULL;
                    joined[p[i].node] = arc == 0;
                    left--;
                    /* a refusal ends the start, once every other node of
                     * the batch has its answer (an admitted one keeps its
                     * key: its name is taken) */
                    if (arc < 0 && refused == 0)
                        refused = arc;
                }
            } else if (now - p[i].sent_at >= SIM_JOIN_RESEND_MS) {
                s_send_join(cfg, &p[i], keys);
            }
            wire_free(&rep);
        }
        if (rc == 0 && left > 0 && now >= deadline) {
            log_error("simulate: %zu of %zu joins got no answer in %d s (is "
                      "the token right, with enough uses?)",
                      left, n, SIM_JOIN_TIMEOUT_MS / 1000);
            rc = DR_EIO;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (p[i].sock)
            zmq_close(p[i].sock);
    free(p);
    free(it);
    return rc < 0 ? rc : refused;
}

int sim_join(agent_cfg_t *cfg, int sig_fd)
{
    size_t n = (size_t)cfg->simulate, nfound = 0;
    if (dr_mkdirs(cfg->work_dir, 0700) < 0) {
        log_error("simulate: cannot create %s: %s", cfg->work_dir,
                  strerror(errno));
        return DR_EIO;
    }
    char *path = dr_asprintf("%s/%s", cfg->work_dir, SIM_KEYS_FILE);
    dr_keypair_t *keys = dr_calloc(n, sizeof *keys);
    uint8_t *joined = dr_calloc(n, 1);
    size_t *todo = dr_calloc(n, sizeof *todo), ntodo = 0;
    int rc = s_load(path, cfg, n, keys, &nfound);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        joined[i] = keys[i].secret_z85[0] != '\0';
        if (!joined[i]) {
            todo[ntodo++] = i;
            rc = keys_generate(&keys[i]);
        }
    }
    if (rc == 0 && ntodo == 0)
        log_info("simulate: the %zu nodes joined before (keys in %s)", n, path);
    if (rc == 0 && ntodo > 0) {
        dr_keypair_t jk;
        if ((rc = keys_join_pair(cfg->join_token, &jk)) < 0)
            log_error("simulate: cannot derive the token's join key");
        void *ctx = rc == 0 ? zmq_ctx_new() : NULL;
        /* closed join sockets are reaped by libzmq's own thread, a
         * while later: room for all of them, not just a batch */
        if (rc == 0 &&
            (!ctx || zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS,
                                 (int)ntodo + SIM_JOIN_BATCH + 64) < 0))
            rc = DR_EIO;
        int64_t t0 = dr_mono_ms();
        log_info("simulate: %zu of %zu nodes joining %s with token %.6s...",
                 ntodo, n, cfg->scheduler, cfg->join_token);
        for (size_t k = 0; rc == 0 && k < ntodo; k += SIM_JOIN_BATCH)
            rc =
                s_batch(ctx, cfg, todo + k,
                        ntodo - k < SIM_JOIN_BATCH ? ntodo - k : SIM_JOIN_BATCH,
                        keys, &jk, joined, sig_fd);
        if (ctx)
            zmq_ctx_term(ctx);
        explicit_bzero(&jk, sizeof jk);
        /* the nodes admitted keep their keys, even when others were not:
         * their names are taken now, and a retry joins only the rest */
        int src = nfound + ntodo > 0 ? s_save(path, cfg, n, keys, joined) : 0;
        if (rc == 0)
            rc = src;
        if (rc == 0)
            rc = join_write_state(cfg);
        if (rc == 0)
            log_info("simulate: %zu nodes joined in %lld ms", ntodo,
                     (long long)(dr_mono_ms() - t0));
    }
    if (rc == 0) {
        cfg->sim_keys = keys;
        keys = NULL;
    } else {
        explicit_bzero(keys, n * sizeof *keys);
    }
    free(keys);
    free(joined);
    free(todo);
    free(path);
    return rc;
}
