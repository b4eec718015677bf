/* join_mgr.c - join tokens and the nodes that join with them (model).
 *
 * A token is bound to one cluster, expires, may have a use limit and is
 * kept hashed (jointoken.h, rows in the store's join_tokens table).  A
 * node that joins presents a token and its own CURVE public key, which it
 * made itself and whose secret never leaves it: a valid token makes that
 * key the node's agent key (auth.c, the same table `drover keys` and the
 * keys issued to local agents use) and spends one use.  A name already
 * bound to another key is never taken over.  Every decision is written as
 * an event.  Owns nothing: rows live in the store, keys in the auth.
 */
#include "auth.h"
#include "dr_err.h"
#include "jointoken.h"
#include "log.h"
#include "sched_int.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int join_token_create(sched_t *self, const cluster_t *c, int64_t ttl_ms,
                      uint32_t max_uses, const char *by, char *token,
                      jt_row_t *row)
{
    char id[JT_ID_LEN + 1], secret[JT_SECRET_LEN + 1];
    int rc = 0;
    for (int tries = 0; tries < 5; tries++) {
        jt_row_t other;
        if ((rc = jt_generate(token)) < 0 ||
            (rc = jt_parse(token, id, secret)) < 0)
            return rc;
        rc = store_join_token_get(self->store, id, &other);
        if (rc == DR_ENOENT)
            break;
        if (rc < 0)
            return rc;
        rc = DR_EEXIST; /* an ID in use: draw again */
    }
    if (rc != DR_ENOENT)
        return rc < 0 ? rc : DR_EEXIST;
    memset(row, 0, sizeof *row);
    snprintf(row->id, sizeof row->id, "%s", id);
    snprintf(row->cluster, sizeof row->cluster, "%s", c->cfg.name);
    jt_hash(secret, row->secret_hash);
    row->created_at_ms = dr_now_ms();
    row->expires_at_ms =
        row->created_at_ms + (ttl_ms > 0 ? ttl_ms : JT_DEFAULT_TTL_MS);
    row->max_uses = max_uses;
    snprintf(row->created_by, sizeof row->created_by, "%s", by);
    memset(secret, 0, sizeof secret);
    dr_keypair_t jk;
    if ((rc = keys_join_pair(token, &jk)) < 0)
        return rc;
    snprintf(row->join_key, sizeof row->join_key, "%s", jk.public_z85);
    memset(&jk, 0, sizeof jk);
    if ((rc = store_join_token_put(self->store, row)) < 0)
        return rc;
    (void)store_event(
        self->store, "join_token_created", c->cfg.name, "", 0,
        "join token %s created by %s (ttl %lld s, %u uses)", row->id, by,
        (long long)((row->expires_at_ms - row->created_at_ms) / 1000),
        max_uses);
    return 0;
}

int join_token_list(sched_t *self, const char *cluster, store_join_token_cb cb,
                    void *arg)
{
    return store_join_token_each(self->store, cluster ? cluster : "", cb, arg);
}

int join_token_revoke(sched_t *self, const cluster_t *c, const char *token,
                      const char *by, char *why, size_t cap)
{
    char id[JT_ID_LEN + 1], secret[JT_SECRET_LEN + 1];
    if (jt_valid_id(token)) {
        snprintf(id, sizeof id, "%s", token);
    } else if (jt_parse(token, id, secret) < 0) {
        snprintf(why, cap,
                 "malformed join token: expected ID.SECRET (or the ID)");
        return DR_EINVAL;
    }
    jt_row_t row;
    int rc = store_join_token_get(self->store, id, &row);
    if (rc == 0 && strcasecmp(row.cluster, c->cfg.name) != 0)
        rc = DR_ENOENT; /* another cluster's: not this one's to revoke */
    if (rc == DR_ENOENT) {
        snprintf(why, cap, "cluster %s has no join token %s", c->cfg.name, id);
        return rc;
    }
    if (rc < 0) {
        snprintf(why, cap, "%s", dr_strerror(rc));
        return rc;
    }
    if (row.revoked)
        return 0;
    row.revoked = 1;
    if ((rc = store_join_token_put(self->store, &row)) < 0) {
        snprintf(why, cap, "%s", dr_strerror(rc));
        return rc;
    }
    (void)store_event(self->store, "join_token_revoked", c->cfg.name, "", 0,
                      "join token %s revoked by %s", id, by);
    return 0;
}

/* The token's row when it is valid and usable for cluster (or any, ""). */
static int s_token_check(sched_t *self, const char *token, const char *cluster,
                         int again, jt_row_t *row, char *why, size_t cap)
{
    char id[JT_ID_LEN + 1], secret[JT_SECRET_LEN + 1];
    if (jt_parse(token, id, secret) < 0) {
        snprintf(why, cap,
                 "malformed join token: expected ID.SECRET "
                 "(6 and 32 characters of a-z, 0-9)");
        return DR_EINVAL;
    }
    int rc = store_join_token_get(self->store, id, row);
    if (rc == 0 && !jt_secret_matches(row, secret))
        rc = DR_ENOENT; /* a wrong secret reads as no such token */
    memset(secret, 0, sizeof secret);
    if (rc == DR_ENOENT) {
        snprintf(why, cap, "unknown join token %s", id);
        return DR_EPERM;
    }
    if (rc < 0) {
        snprintf(why, cap, "%s", dr_strerror(rc));
        return rc;
    }
    if (again) {
        /* the same node and key again (its answer was lost): the use it
         * spent is its own, so only a revocation stops it */
        jt_row_t r = *row;
        r.max_uses = 0;
        r.expires_at_ms = INT64_MAX;
        rc = jt_usable(&r, dr_now_ms(), why, cap);
    } else {
        rc = jt_usable(row, dr_now_ms(), why, cap);
    }
    if (rc < 0)
        return rc;
    if (cluster && *cluster && strcasecmp(cluster, row->cluster) != 0) {
        snprintf(why, cap, "join token %s is for cluster %s, not %s", id,
                 row->cluster, cluster);
        return DR_EPERM;
    }
    return 0;
}

int join_admit(sched_t *self, const char *token, const char *node_name,
               const char *cluster, const char *conn_key,
               const char *public_z85, join_result_t *out, char *why,
               size_t cap)
{
    memset(out, 0, sizeof *out);
    const principal_t *same = NULL;
    for (size_t i = 0; i < auth_count(self->auth); i++) {
        const principal_t *p = auth_at(self->auth, i);
        if (strcmp(p->name, node_name) == 0 &&
            strcmp(p->public_z85, public_z85) == 0)
            same = p; /* a join whose answer was lost: the same again */
    }
    jt_row_t row;
    int rc = s_token_check(self, token, cluster, same != NULL, &row, why, cap);
    if (rc == 0 && strcmp(row.join_key, conn_key) != 0) {
        /* admitted at the handshake for another token */
        snprintf(why, cap, "this connection's key is not join token %s's",
                 row.id);
        rc = DR_EPERM;
    }
    cluster_t *c = rc == 0 ? sched_cluster_find(self, row.cluster) : NULL;
    if (rc == 0 && !c) {
        snprintf(why, cap, "the cluster %s of join token %s is gone",
                 row.cluster, row.id);
        rc = DR_ENOENT;
    }
    for (size_t i = 0; rc == 0 && !same && i < auth_count(self->auth); i++) {
        const principal_t *p = auth_at(self->auth, i);
        if (strcmp(p->name, node_name) == 0 &&
            strcmp(p->public_z85, public_z85) != 0) {
            snprintf(why, cap,
                     "node name %s is already joined with another key "
                     "(revoke it first: drover keys revoke %s)",
                     node_name, node_name);
            rc = DR_EEXIST;
        } else if (strcmp(p->public_z85, public_z85) == 0) {
            snprintf(why, cap, "this key is already %s's", p->name);
            rc = DR_EEXIST;
        }
    }
    node_t *n = rc == 0 ? sched_node_find(self, node_name) : NULL;
    if (rc == 0 && n && n->cluster != c) {
        snprintf(why, cap, "node %s belongs to cluster %s", node_name,
                 n->cluster->cfg.name);
        rc = DR_EEXIST;
    }
    if (rc == 0 && !same) {
        rc = auth_add(self->auth, node_name, PRINCIPAL_AGENT, 0, public_z85);
        if (rc == 0) {
            row.uses++;
            rc = store_join_token_put(self->store, &row);
        }
        if (rc < 0)
            snprintf(why, cap, "cannot record the key: %s", dr_strerror(rc));
    }
    if (rc < 0) {
        cluster_refused(self, node_name, 0, "join of node %s refused: %s",
                        node_name, why);
        return rc;
    }
    (void)store_event(self->store, "node_joined", c->cfg.name, node_name, 0,
                      "node %s joined with token %s (key %.8s...)%s", node_name,
                      row.id, public_z85, same ? " again" : "");
    log_info("node %s joined cluster %s with token %s", node_name, c->cfg.name,
             row.id);
    out->cluster = c;
    return 0;
}

int join_token_for_node(sched_t *self, const cluster_t *c, const char *node,
                        char *why, size_t cap)
{
    char token[JT_TOKEN_LEN + 1];
    jt_row_t row;
    /* one use, and only as long as the node may take to register */
    int64_t ttl = (int64_t)self->opts.resume_timeout_ms + 60000;
    int rc = join_token_create(self, c, ttl, 1, "autoscaler", token, &row);
    if (rc < 0) {
        snprintf(why, cap, "cannot create a join token: %s", dr_strerror(rc));
        return rc;
    }
    char *path = dr_asprintf("%s/nodes/%s.token", self->opts.state_dir, node);
    char *dir = dr_asprintf("%s/nodes", self->opts.state_dir);
    int fd = dr_mkdirs(dir, 0755) == 0
                 ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
                 : -1;
    size_t len = strlen(token);
    int ok = fd >= 0 && write(fd, token, len) == (ssize_t)len;
    if (fd >= 0 && close(fd) < 0)
        ok = 0;
    if (!ok) {
        snprintf(why, cap, "cannot write %s: %s", path, strerror(errno));
        rc = DR_EIO;
    }
    memset(token, 0, sizeof token);
    free(path);
    free(dir);
    return rc;
}
