/* api_admin.c - the administrative requests: keys, quotas and managed
 * identities.  Thin handlers: decode, validate, one call into the model,
 * reply; who may call them is in the dispatch table (api_client.c).
 */
#include "api_client.h"
#include "auth.h"
#include "dr_err.h"
#include "identity.h"
#include "sched_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- quotas -------------------------------------------------------------- */

/* One row of the list: its limits and what the clusters it covers use. */
static Drover__Quota *s_quota_row(sched_t *s, Drover__Quota *q,
                                  const char *location, const char *family)
{
    drover__quota__init(q);
    q->location = (char *)location;
    q->family = (char *)family;
    q->total = *family == '\0';
    q->dedicated_cores = quota_limit(s, location, family, 0);
    q->lowpriority_cores = quota_limit(s, location, family, 1);
    q->dedicated_used = quota_used(s, location, family, 0);
    q->lowpriority_used = quota_used(s, location, family, 1);
    return q;
}

static int s_listed(Drover__Quota *const *ptrs, size_t n, const char *location,
                    const char *family)
{
    for (size_t k = 0; k < n; k++)
        if (dr_streq_ci(ptrs[k]->location, location) &&
            dr_streq_ci(ptrs[k]->family, family))
            return 1;
    return 0;
}

static void s_reply_quotas(sched_t *s, const char *rid, uint64_t req)
{
    /* every family of the catalog, in every location, with or without a
     * limit; then the rows set per location, and the total of every
     * location that has clusters */
    size_t nc = 0;
    for (const cluster_t *c = s->clusters; c; c = c->next)
        nc++;
    size_t cap = catalog_count(s->catalog) + s->nquotas + nc + 1;
    Drover__Quota *qs = dr_calloc(cap, sizeof *qs);
    Drover__Quota **ptrs = dr_calloc(cap, sizeof *ptrs);
    size_t n = 0;
    for (size_t i = 0; i < catalog_count(s->catalog); i++) {
        const char *fam = catalog_at(s->catalog, i)->family;
        if (!s_listed(ptrs, n, "", fam))
            ptrs[n] = s_quota_row(s, &qs[n], "", fam), n++;
    }
    for (size_t i = 0; i < s->nquotas; i++) {
        const quota_t *q = &s->quotas[i];
        if (q->location[0] && !s_listed(ptrs, n, q->location, q->family) &&
            (q->dedicated >= 0 || q->lowpriority >= 0))
            ptrs[n] = s_quota_row(s, &qs[n], q->location, q->family), n++;
    }
    for (const cluster_t *c = s->clusters; c; c = c->next)
        if (!s_listed(ptrs, n, c->cfg.location, ""))
            ptrs[n] = s_quota_row(s, &qs[n], c->cfg.location, ""), n++;
    dr_env_t out;
    Drover__QuotaList ql = DROVER__QUOTA_LIST__INIT;
    ql.n_quotas = n;
    ql.quotas = ptrs;
    wire_env_body(&out, req, DROVER__ENVELOPE__BODY_QUOTA_LIST_REPLY, &ql);
    sched_reply_client(s, rid, &out);
    free(qs);
    free(ptrs);
}

void api_quota_set(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__QuotaSet *q = env->quota_set;
    const char *loc = q->location ? q->location : "";
    const char *fam = "";
    if (*loc && !dr_valid_name(loc)) {
        API_ERR(DR_EINVAL,
                "invalid location '%s' (1-63 letters, digits, '-' or '_')",
                loc);
        return;
    }
    if (q->total) {
        int fam_too = q->family && *q->family;
        if (fam_too || !*loc) {
            API_ERR(DR_EINVAL, fam_too ? "give a family or the total, not both"
                                       : "a total quota needs a location");
            return;
        }
    } else if (!(fam = q->family ? cluster_family_name(s, q->family) : NULL)) {
        API_ERR(DR_EINVAL, "unknown VM family '%s' (see drover quota list)",
                q->family ? q->family : "");
        return;
    }
    if (q->cores < -1 || q->cores > 100000000) {
        API_ERR(DR_EINVAL,
                "cores must be between 0 and 100000000, or -1 (no limit)");
        return;
    }
    int low = 0;
    if (q->vm_priority && *q->vm_priority) {
        if (strcmp(q->vm_priority, "lowpriority") == 0)
            low = 1;
        else if (strcmp(q->vm_priority, "dedicated") != 0) {
            API_ERR(DR_EINVAL, "vm priority must be dedicated or lowpriority");
            return;
        }
    }
    if (quota_set(s, loc, fam, q->cores, low) < 0) {
        API_ERR(DR_EDB, "cannot store the quota");
        return;
    }
    s_reply_quotas(s, rid, env->request_id);
}

void api_quota_list(sched_t *s, const char *rid, dr_env_t *env)
{
    s_reply_quotas(s, rid, env->request_id);
}

/* ---- keys ---------------------------------------------------------------- */

static void s_reply_keys(sched_t *s, const char *rid, uint64_t req)
{
    size_t n = auth_count(s->auth);
    Drover__KeyInfo *ks = dr_calloc(n + 1, sizeof *ks);
    Drover__KeyInfo **ptrs = dr_calloc(n + 1, sizeof *ptrs);
    for (size_t i = 0; i < n; i++) {
        const principal_t *p = auth_at(s->auth, i);
        drover__key_info__init(&ks[i]);
        ks[i].name = (char *)p->name;
        ks[i].kind = p->kind == PRINCIPAL_AGENT ? "agent" : "user";
        ks[i].role = p->kind == PRINCIPAL_AGENT ? ""
                     : p->admin                 ? "admin"
                                                : "user";
        ks[i].public_key = (char *)p->public_z85;
        ks[i].created_at_ms = p->created_at_ms;
        ptrs[i] = &ks[i];
    }
    dr_env_t out;
    Drover__KeyList kl = DROVER__KEY_LIST__INIT;
    kl.n_keys = n;
    kl.keys = ptrs;
    wire_env_body(&out, req, DROVER__ENVELOPE__BODY_KEY_LIST_REPLY, &kl);
    sched_reply_client(s, rid, &out);
    free(ks);
    free(ptrs);
}

void api_key_add(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__KeyInfo *k = env->key_add->key;
    if (!k || !k->name || !dr_valid_name(k->name)) {
        API_ERR(DR_EINVAL, "invalid key name");
        return;
    }
    if (!k->public_key || !keys_valid_z85(k->public_key)) {
        API_ERR(DR_EINVAL, "the public key must be 40 characters of Z85");
        return;
    }
    int agent = k->kind && strcmp(k->kind, "agent") == 0;
    if (!agent && (!k->kind || strcmp(k->kind, "user") != 0)) {
        API_ERR(DR_EINVAL, "key kind must be user or agent");
        return;
    }
    int admin = 0;
    if (!agent) {
        if (k->role && strcmp(k->role, "admin") == 0)
            admin = 1;
        else if (!k->role || strcmp(k->role, "user") != 0) {
            API_ERR(DR_EINVAL, "role must be user or admin");
            return;
        }
    }
    int rc =
        cluster_key_add(s, k->name, agent, admin, k->public_key, s->req.user);
    if (rc == DR_EEXIST) {
        API_ERR(rc, "that public key already belongs to another name");
        return;
    }
    if (rc < 0) {
        API_ERR(rc, "cannot store the key");
        return;
    }
    s_reply_keys(s, rid, env->request_id);
}

void api_key_revoke(sched_t *s, const char *rid, dr_env_t *env)
{
    const char *name = env->key_revoke->name;
    if (!name || !*name) {
        API_ERR(DR_EINVAL, "which key?");
        return;
    }
    int rc = cluster_key_revoke(s, name, s->req.user);
    if (rc == DR_ENOENT) {
        API_ERR(rc, "unknown key '%s'", name);
        return;
    }
    if (rc < 0) {
        API_ERR(rc, "cannot revoke '%s'", name);
        return;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "key %s revoked", name);
    api_reply_ok(s, rid, env->request_id, msg);
}

void api_key_list(sched_t *s, const char *rid, dr_env_t *env)
{
    s_reply_keys(s, rid, env->request_id);
}

/* ---- managed identity ---------------------------------------------------- */

void api_identity_assign(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__IdentityAssign *a = env->identity_assign;
    cluster_t *c = api_cluster_arg(s, rid, env->request_id, a->cluster);
    if (!c)
        return;
    if (a->identity && *a->identity &&
        cluster_identity_norm(a->identity, NULL, 0) < 0) {
        API_ERR(DR_EINVAL, "identity must be '[system]' or a user-assigned "
                           "identity id (1-200 of A-Za-z0-9/_.:-)");
        return;
    }
    if (cluster_identity_assign(s, c, a->identity, s->req.user) < 0) {
        API_ERR(DR_EDB, "cannot store cluster %s", c->cfg.name);
        return;
    }
    api_reply_cluster(s, rid, env->request_id, c);
}

void api_identity_verify(sched_t *s, const char *rid, dr_env_t *env)
{
    identity_claims_t cl;
    char why[160] = "";
    int rc = identity_verify(s->identity, env->identity_verify->token, &cl, why,
                             sizeof why);
    dr_env_t out;
    Drover__IdentityClaims m = DROVER__IDENTITY_CLAIMS__INIT;
    m.valid = rc == 0;
    m.reason = why;
    m.subject = cl.subject;
    m.cluster = cl.cluster;
    m.job_id = cl.job_id;
    m.resource = cl.resource;
    m.issued_at = cl.issued_at;
    m.expires_on = cl.expires_on;
    wire_env_body(&out, env->request_id, DROVER__ENVELOPE__BODY_IDENTITY_CLAIMS,
                  &m);
    sched_reply_client(s, rid, &out);
}
