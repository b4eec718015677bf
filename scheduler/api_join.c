/* api_join.c - the join-token requests (`drover cluster join-token ...`).
 * Thin handlers: decode, validate, one call into the model (join_mgr.c),
 * reply; who may call them (admins) is in the dispatch table
 * (api_client.c).  The token's secret leaves only in the create reply.
 */
#include "api_client.h"
#include "dr_err.h"
#include "jointoken.h"
#include "sched_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_info(const jt_row_t *t, Drover__JoinTokenInfo *m)
{
    drover__join_token_info__init(m);
    m->id = (char *)t->id;
    m->cluster = (char *)t->cluster;
    m->created_at_ms = t->created_at_ms;
    m->expires_at_ms = t->expires_at_ms;
    m->max_uses = t->max_uses;
    m->uses = t->uses;
    m->revoked = t->revoked != 0;
    m->created_by = (char *)t->created_by;
}

void api_join_token_create(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__JoinTokenCreate *m = env->join_token_create;
    cluster_t *c = api_cluster_arg(s, rid, env->request_id, m->cluster);
    if (!c)
        return;
    if (m->ttl_ms < 0 || m->ttl_ms > JT_MAX_TTL_MS) {
        API_ERR(DR_EINVAL, "ttl must be from 1s to 365d");
        return;
    }
    if (m->max_uses > 1000000) {
        API_ERR(DR_EINVAL, "uses must be from 1 to 1000000 (0: no limit)");
        return;
    }
    char token[JT_TOKEN_LEN + 1];
    jt_row_t row;
    int rc = join_token_create(s, c, m->ttl_ms, m->max_uses, s->req.user, token,
                               &row);
    if (rc < 0) {
        API_ERR(rc, "cannot create a join token: %s", dr_strerror(rc));
        return;
    }
    Drover__JoinTokenInfo info;
    s_info(&row, &info);
    info.token = token;
    dr_env_t out;
    wire_env_body(&out, env->request_id, DROVER__ENVELOPE__BODY_JOIN_TOKEN_INFO,
                  &info);
    sched_reply_client(s, rid, &out);
    memset(token, 0, sizeof token);
}

typedef struct {
    jt_row_t *rows;
    size_t n, cap;
} s_rows_t;

static void s_collect(void *arg, const jt_row_t *t)
{
    s_rows_t *r = arg;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->rows = dr_realloc(r->rows, r->cap * sizeof *r->rows);
    }
    r->rows[r->n++] = *t;
}

void api_join_token_list(sched_t *s, const char *rid, dr_env_t *env)
{
    const char *cl = env->join_token_list->cluster;
    if (cl && *cl && !api_cluster_arg(s, rid, env->request_id, cl))
        return;
    s_rows_t r = {0};
    int rc = join_token_list(s, cl, s_collect, &r);
    if (rc < 0) {
        free(r.rows);
        API_ERR(rc, "cannot list join tokens: %s", dr_strerror(rc));
        return;
    }
    Drover__JoinTokenInfo *infos = dr_calloc(r.n + 1, sizeof *infos);
    Drover__JoinTokenInfo **ptrs = dr_calloc(r.n + 1, sizeof *ptrs);
    for (size_t i = 0; i < r.n; i++) {
        s_info(&r.rows[i], &infos[i]);
        ptrs[i] = &infos[i];
    }
    Drover__JoinTokenList l = DROVER__JOIN_TOKEN_LIST__INIT;
    l.n_tokens = r.n;
    l.tokens = ptrs;
    dr_env_t out;
    wire_env_body(&out, env->request_id,
                  DROVER__ENVELOPE__BODY_JOIN_TOKEN_LIST_REPLY, &l);
    sched_reply_client(s, rid, &out);
    free(infos);
    free(ptrs);
    free(r.rows);
}

void api_join_token_revoke(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__JoinTokenRevoke *m = env->join_token_revoke;
    cluster_t *c = api_cluster_arg(s, rid, env->request_id, m->cluster);
    if (!c)
        return;
    if (!m->token || !*m->token || strlen(m->token) > 128) {
        API_ERR(DR_EINVAL, "a token (or its ID) is required");
        return;
    }
    char why[200];
    int rc = join_token_revoke(s, c, m->token, s->req.user, why, sizeof why);
    if (rc < 0) {
        API_ERR(rc, "%s", why);
        return;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "join token %.6s of cluster %s revoked", m->token,
             c->cfg.name);
    api_reply_ok(s, rid, env->request_id, msg);
}
