/* auth.c - see auth.h. */
#include "auth.h"
#include "ratelim.h"
#include "dr_err.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_BUDGET 256

struct auth {
    store_t *store;
    dr_keypair_t server;
    principal_t *p;
    size_t n, cap;
    void *zap;
    ratelim_t *refusals; /* one log line and event a peer per 10 s */
};

/* Records a refusal (log line and event) unless the same peer was refused
 * the same way within the window. */
static void s_refused(auth_t *self, const char *domain, const char *address,
                      const char *what)
{
    char key[128];
    snprintf(key, sizeof key, "%s|%s|%.40s", domain, address, what);
    uint64_t left_out = 0;
    if (!ratelim_allow(self->refusals, key, dr_mono_ms(), &left_out))
        return;
    char more[64] = "";
    if (left_out)
        snprintf(more, sizeof more, " (%llu more like it not recorded)",
                 (unsigned long long)left_out);
    log_warn("auth: %s endpoint: %s from %s refused%s", domain, what, address,
             more);
    (void)store_event(self->store, "auth_refused", "", "", 0,
                      "%s endpoint: %s from %s refused%s", domain, what,
                      address, more);
}

static principal_t *s_find_name(const auth_t *self, const char *name)
{
    for (size_t i = 0; i < self->n; i++)
        if (strcmp(self->p[i].name, name) == 0)
            return &self->p[i];
    return NULL;
}

static principal_t *s_find_key(const auth_t *self, const char *z85)
{
    for (size_t i = 0; i < self->n; i++)
        if (strcmp(self->p[i].public_z85, z85) == 0)
            return &self->p[i];
    return NULL;
}

static void s_put(auth_t *self, const char *name, principal_kind_t kind,
                  int admin, const char *z85, int64_t created)
{
    principal_t *p = s_find_name(self, name);
    if (!p) {
        if (self->n == self->cap) {
            self->cap = self->cap ? self->cap * 2 : 16;
            self->p = dr_realloc(self->p, self->cap * sizeof *self->p);
        }
        p = &self->p[self->n++];
    }
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->kind = kind;
    p->admin = admin;
    snprintf(p->public_z85, sizeof p->public_z85, "%s", z85);
    p->created_at_ms = created;
}

static void s_load(void *arg, const char *name, const char *kind,
                   const char *role, const char *key, int64_t created)
{
    auth_t *self = arg;
    s_put(self, name,
          strcmp(kind, "agent") == 0 ? PRINCIPAL_AGENT : PRINCIPAL_USER,
          strcmp(role, "admin") == 0, key, created);
}

/* Loads dir/name.key or creates it (with name.pub beside it). */
static int s_keypair(const char *dir, const char *name, dr_keypair_t *kp,
                     int *created)
{
    char *sec = dr_asprintf("%s/%s.key", dir, name);
    char *pub = dr_asprintf("%s/%s.pub", dir, name);
    char err[512];
    int rc = keys_load_or_create(sec, pub, kp, created, err, sizeof err);
    if (rc < 0)
        log_error("keys: %s", err);
    free(sec);
    free(pub);
    return rc;
}

auth_t *auth_new(store_t *store, const char *keys_dir)
{
    auth_t *self = dr_calloc(1, sizeof *self);
    self->store = store;
    self->refusals = ratelim_new(10000);
    if (store_principal_each(store, s_load, self) < 0)
        goto fail;
    if (!keys_dir)
        return self;
    if (dr_mkdirs(keys_dir, 0700) < 0) {
        log_warn_errno("keys: cannot create %s", keys_dir);
        goto fail;
    }
    int created;
    if (s_keypair(keys_dir, "scheduler", &self->server, &created) < 0)
        goto fail;
    if (created)
        log_info("keys: created the scheduler's key pair in %s", keys_dir);
    dr_keypair_t admin;
    if (s_keypair(keys_dir, "admin", &admin, &created) < 0)
        goto fail;
    if (!s_find_key(self, admin.public_z85)) {
        /* the local admin of the embedded default: no manual step */
        if (store_begin(store) < 0 ||
            auth_add(self, "admin", PRINCIPAL_USER, 1, admin.public_z85) < 0 ||
            store_commit(store) < 0)
            goto fail;
        log_info("keys: local admin key %s/admin.key registered", keys_dir);
    }
    return self;
fail:
    auth_destroy(&self);
    return NULL;
}

void auth_destroy(auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    auth_t *self = *self_p;
    if (self->zap)
        zmq_close(self->zap);
    free(self->p);
    ratelim_destroy(&self->refusals);
    memset(&self->server, 0, sizeof self->server);
    free(self);
    *self_p = NULL;
}

const dr_keypair_t *auth_server_keys(const auth_t *self)
{
    return &self->server;
}

int auth_zap_bind(auth_t *self, void *zctx)
{
    self->zap = zmq_socket(zctx, ZMQ_REP);
    int zero = 0;
    if (!self->zap ||
        zmq_setsockopt(self->zap, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_bind(self->zap, ZAP_ENDPOINT) < 0) {
        log_error("zap: cannot bind %s: %s", ZAP_ENDPOINT, zmq_strerror(errno));
        return DR_EIO;
    }
    return 0;
}

void *auth_zap_socket(const auth_t *self)
{
    return self->zap;
}

/* Reads one frame into buf (NUL-terminated, truncated); returns its size
 * or -1. */
static int s_frame(void *sock, char *buf, size_t cap, int *more)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, 0) < 0) {
        zmq_msg_close(&m);
        return -1;
    }
    size_t n = zmq_msg_size(&m);
    size_t c = n < cap - 1 ? n : cap - 1;
    memcpy(buf, zmq_msg_data(&m), c);
    buf[c] = '\0';
    *more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    return (int)n;
}

static void s_zap_reply(void *sock, const char *req_id, size_t req_len,
                        const char *code, const char *text, const char *user)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, req_id, req_len, ZMQ_SNDMORE);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

void auth_zap_handle(auth_t *self)
{
    for (int k = 0; k < ZAP_BUDGET; k++) {
        zmq_pollitem_t it = {self->zap, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 0) <= 0)
            return;
        /* version, request id, domain, address, identity, mechanism,
         * credentials... */
        char f[8][256];
        int len[8] = {0};
        int more = 1, nf = 0;
        while (more && nf < 8) {
            len[nf] = s_frame(self->zap, f[nf], sizeof f[nf], &more);
            if (len[nf] < 0)
                return;
            nf++;
        }
        while (more) { /* more frames than ZAP has: drain them */
            char junk[8];
            if (s_frame(self->zap, junk, sizeof junk, &more) < 0)
                return;
        }
        const char *reqid = nf > 1 ? f[1] : "";
        size_t reqlen = nf > 1 ? (size_t)len[1] : 0;
        if (nf < 6 || strcmp(f[0], "1.0") != 0) {
            s_zap_reply(self->zap, reqid, reqlen, "500", "bad ZAP request", "");
            continue;
        }
        const char *domain = f[2], *address = f[3], *mech = f[5];
        if (strcmp(mech, "CURVE") != 0 || nf < 7 || len[6] != 32) {
            char what[64];
            snprintf(what, sizeof what, "mechanism %.16s", mech);
            s_refused(self, domain, address, what);
            s_zap_reply(self->zap, reqid, reqlen, "400", "CURVE required", "");
            continue;
        }
        char z85[DR_Z85_KEY_LEN + 1];
        if (!zmq_z85_encode(z85, (const uint8_t *)f[6], 32)) {
            s_zap_reply(self->zap, reqid, reqlen, "400", "bad key", "");
            continue;
        }
        const principal_t *p = s_find_key(self, z85);
        int agents = strcmp(domain, AUTH_DOMAIN_AGENTS) == 0;
        jt_row_t tok;
        if (agents && !p &&
            store_join_token_by_key(self->store, z85, &tok) < 0) {
            /* neither a node's key nor a join token's: a stranger never
             * gets a connection (and so never a routing id of a node) */
            char what[96];
            snprintf(what, sizeof what,
                     "key %.8s... (not a known agent key, nor a join "
                     "token's)",
                     z85);
            s_refused(self, domain, address, what);
            s_zap_reply(self->zap, reqid, reqlen, "400", "unknown key", "");
            continue;
        }
        if (agents && !p) {
            /* a node that is joining, with its token's join key: admitted
             * as "joining", which the loop lets send nothing but Join (the
             * Join says whether the token is still good) */
            char user[96];
            snprintf(user, sizeof user, "%s%s", AUTH_JOINING_PREFIX, z85);
            s_zap_reply(self->zap, reqid, reqlen, "200", "OK", user);
            continue;
        }
        if (!p ||
            (agents ? p->kind != PRINCIPAL_AGENT : p->kind != PRINCIPAL_USER)) {
            char what[96];
            snprintf(what, sizeof what, "key %.8s... (not a known %s key)", z85,
                     agents ? "agent" : "user");
            s_refused(self, domain, address, what);
            s_zap_reply(self->zap, reqid, reqlen, "400", "unknown key", "");
            continue;
        }
        char user[96];
        snprintf(user, sizeof user, "%s", z85);
        s_zap_reply(self->zap, reqid, reqlen, "200", "OK", user);
    }
}

int auth_reload(auth_t *self)
{
    self->n = 0;
    return store_principal_each(self->store, s_load, self) < 0 ? DR_EDB : 0;
}

const char *auth_joining_key(const char *user_id)
{
    size_t n = strlen(AUTH_JOINING_PREFIX);
    if (!user_id || strncmp(user_id, AUTH_JOINING_PREFIX, n) != 0 ||
        !keys_valid_z85(user_id + n))
        return NULL;
    return user_id + n;
}

const principal_t *auth_user(const auth_t *self, const char *name)
{
    const principal_t *p = s_find_name(self, name);
    return p && p->kind == PRINCIPAL_USER ? p : NULL;
}

const principal_t *auth_peer(const auth_t *self, const char *user_id)
{
    return user_id && *user_id ? s_find_key(self, user_id) : NULL;
}

int auth_add(auth_t *self, const char *name, principal_kind_t kind, int admin,
             const char *public_z85)
{
    if (!dr_valid_name(name) || !keys_valid_z85(public_z85))
        return DR_EINVAL;
    const principal_t *other = s_find_key(self, public_z85);
    if (other && strcmp(other->name, name) != 0)
        return DR_EEXIST;
    int64_t now = dr_now_ms();
    int rc = store_principal_put(self->store, name,
                                 kind == PRINCIPAL_AGENT ? "agent" : "user",
                                 kind == PRINCIPAL_AGENT ? ""
                                 : admin                 ? "admin"
                                                         : "user",
                                 public_z85, now);
    if (rc < 0)
        return rc;
    s_put(self, name, kind, admin, public_z85, now);
    return 0;
}

int auth_revoke(auth_t *self, const char *name)
{
    principal_t *p = s_find_name(self, name);
    if (!p)
        return DR_ENOENT;
    int rc = store_principal_delete(self->store, name);
    if (rc < 0)
        return rc;
    *p = self->p[--self->n];
    return 0;
}

int auth_revoke_agent(auth_t *self, const char *name)
{
    const principal_t *p = s_find_name(self, name);
    if (!p || p->kind != PRINCIPAL_AGENT)
        return DR_ENOENT;
    return auth_revoke(self, name);
}

size_t auth_count(const auth_t *self)
{
    return self->n;
}

const principal_t *auth_at(const auth_t *self, size_t i)
{
    return i < self->n ? &self->p[i] : NULL;
}

int auth_issue_agent_key(auth_t *self, const char *node_name,
                         const char *secret_path)
{
    dr_keypair_t kp;
    char err[512];
    int rc = keys_generate(&kp);
    if (rc < 0)
        return rc;
    rc = keys_write(secret_path, NULL, &kp, err, sizeof err);
    if (rc < 0) {
        log_error("keys: node %s: %s", node_name, err);
        return rc;
    }
    rc = auth_add(self, node_name, PRINCIPAL_AGENT, 0, kp.public_z85);
    memset(&kp, 0, sizeof kp);
    return rc;
}
