/* api_clusters.c - the cluster requests: create, update, show, list,
 * delete, lock and the event log.  Thin handlers: decode, validate, one
 * call into cluster_mgr.c, reply.
 */
#include "api_client.h"
#include "autoscaler.h"
#include "dr_err.h"
#include "sched_int.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The provider of a new cluster, and the programs or URL it needs. */
static int s_provider_valid(const Drover__Cluster *c, char *why, size_t n)
{
    const char *prov = c->provider && *c->provider ? c->provider : "local";
    if (!provider_known(prov)) {
        snprintf(why, n, "unknown provider '%s' (local, exec, http or docker)",
                 prov);
        return DR_EINVAL;
    }
    int has_exec = (c->resume_program && *c->resume_program) ||
                   (c->suspend_program && *c->suspend_program);
    int has_url = c->provider_url && *c->provider_url;
    if (strcmp(prov, "exec") == 0) {
        const char *progs[2] = {c->resume_program, c->suspend_program};
        for (int i = 0; i < 2; i++) {
            if (!progs[i] || progs[i][0] != '/' || strlen(progs[i]) > 500) {
                snprintf(why, n,
                         "the exec provider needs absolute resume and "
                         "suspend programs");
                return DR_EINVAL;
            }
            if (access(progs[i], X_OK) < 0) {
                snprintf(why, n, "program %s: %s", progs[i], strerror(errno));
                return DR_EINVAL;
            }
        }
    } else if (has_exec) {
        snprintf(why, n, "resume/suspend programs need --provider exec");
        return DR_EINVAL;
    }
    if (strcmp(prov, "http") == 0) {
        if (!has_url || strlen(c->provider_url) > 500 ||
            (strncmp(c->provider_url, "http://", 7) != 0 &&
             strncmp(c->provider_url, "https://", 8) != 0)) {
            snprintf(why, n,
                     "the http provider needs an http:// or https:// "
                     "provider URL");
            return DR_EINVAL;
        }
    } else if (has_url) {
        snprintf(why, n, "a provider URL needs --provider http");
        return DR_EINVAL;
    }
    return 0;
}

int api_cluster_validate(const sched_t *s, const Drover__Cluster *c, char *why,
                         size_t n)
{
    if (!c->name || !dr_valid_name(c->name)) {
        snprintf(why, n,
                 "invalid cluster name '%s' (1-63 letters, digits, - or _)",
                 c->name ? c->name : "");
        return DR_EINVAL;
    }
    if (!c->vm_size || !catalog_find(s->catalog, c->vm_size)) {
        snprintf(why, n, "unknown vm size '%s'", c->vm_size ? c->vm_size : "");
        return DR_EINVAL;
    }
    if (c->min_nodes < 0 || c->max_nodes < 0) {
        snprintf(why, n, "node counts must not be negative (min %d, max %d)",
                 c->min_nodes, c->max_nodes);
        return DR_EINVAL;
    }
    if (c->min_nodes > c->max_nodes) {
        snprintf(why, n, "min_nodes %d is greater than max_nodes %d",
                 c->min_nodes, c->max_nodes);
        return DR_EINVAL;
    }
    if (c->max_nodes > 10000) {
        snprintf(why, n, "max_nodes %d is above the limit of 10000",
                 c->max_nodes);
        return DR_EINVAL;
    }
    if (c->idle_seconds_before_scaledown < 0 ||
        c->idle_seconds_before_scaledown > 7 * 86400) {
        snprintf(why, n, "idle_seconds_before_scaledown %d out of range",
                 c->idle_seconds_before_scaledown);
        return DR_EINVAL;
    }
    if (c->vm_priority && *c->vm_priority &&
        strcmp(c->vm_priority, "dedicated") != 0 &&
        strcmp(c->vm_priority, "lowpriority") != 0) {
        snprintf(why, n,
                 "vm priority must be dedicated or lowpriority, not '%s'",
                 c->vm_priority);
        return DR_EINVAL;
    }
    if (c->identity && *c->identity &&
        cluster_identity_norm(c->identity, NULL, 0) < 0) {
        snprintf(why, n,
                 "identity must be '[system]' or a user-assigned identity id "
                 "(1-200 of A-Za-z0-9/_.:-)");
        return DR_EINVAL;
    }
    if (c->location && strlen(c->location) > 63) {
        snprintf(why, n, "location is too long");
        return DR_EINVAL;
    }
    return s_provider_valid(c, why, n);
}

void api_cluster_create(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__Cluster *m = env->cluster_create->cluster;
    char why[256];
    if (!m) {
        API_ERR(DR_EINVAL, "cluster_create: cluster missing");
        return;
    }
    cluster_t *c = NULL;
    int rc = api_cluster_validate(s, m, why, sizeof why);
    if (rc == 0)
        rc = cluster_create(s, m, &c, why, sizeof why);
    if (rc < 0) {
        API_ERR(rc, "%s", why);
        return;
    }
    api_reply_cluster(s, rid, env->request_id, c);
}

void api_cluster_update(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__ClusterUpdate *u = env->cluster_update;
    cluster_t *c = api_cluster_arg(s, rid, env->request_id, u->name);
    if (!c)
        return;
    if (u->set_mask == 0 || (u->set_mask & ~7u)) {
        API_ERR(DR_EINVAL, "cluster update: nothing to change");
        return;
    }
    int min = (u->set_mask & 1) ? u->min_nodes : c->cfg.min_nodes;
    int max = (u->set_mask & 2) ? u->max_nodes : c->cfg.max_nodes;
    int idle = (u->set_mask & 4) ? u->idle_seconds_before_scaledown
                                 : c->cfg.idle_seconds;
    Drover__Cluster probe = DROVER__CLUSTER__INIT;
    probe.name = c->cfg.name;
    probe.vm_size = c->cfg.vm_size;
    probe.min_nodes = min;
    probe.max_nodes = max;
    probe.idle_seconds_before_scaledown = idle;
    char why[256];
    int rc = api_cluster_validate(s, &probe, why, sizeof why);
    if (rc == 0)
        rc = cluster_update(s, c, min, max, idle, why, sizeof why);
    if (rc < 0) {
        API_ERR(rc, "%s", why);
        return;
    }
    api_reply_cluster(s, rid, env->request_id, c);
}

void api_cluster_show(sched_t *s, const char *rid, dr_env_t *env)
{
    const char *name = env->cluster_show->name;
    cluster_t *c = api_cluster_arg(s, rid, env->request_id, name);
    if (!c)
        return;
    api_reply_cluster(s, rid, env->request_id, c);
}

void api_cluster_list(sched_t *s, const char *rid, dr_env_t *env)
{
    size_t n = 0;
    for (cluster_t *c = s->clusters; c; c = c->next)
        n++;
    Drover__Cluster *ms = dr_calloc(n + 1, sizeof *ms);
    Drover__Cluster **ptrs = dr_calloc(n + 1, sizeof *ptrs);
    char **errs = dr_calloc(n + 1, sizeof *errs);
    size_t i = 0;
    for (cluster_t *c = s->clusters; c; c = c->next, i++) {
        api_cluster_msg(c, &ms[i], &errs[i]);
        ptrs[i] = &ms[i];
    }
    dr_env_t out;
    Drover__ClusterList list = DROVER__CLUSTER_LIST__INIT;
    list.n_clusters = n;
    list.clusters = ptrs;
    wire_env_body(&out, env->request_id,
                  DROVER__ENVELOPE__BODY_CLUSTER_LIST_REPLY, &list);
    sched_reply_client(s, rid, &out);
    free(ms);
    free(ptrs);
    free(errs);
}

void api_cluster_delete(sched_t *s, const char *rid, dr_env_t *env)
{
    const char *name = env->cluster_delete->name;
    cluster_t *c = api_cluster_arg(s, rid, env->request_id, name);
    if (!c)
        return;
    char cname[64], why[256];
    snprintf(cname, sizeof cname, "%s", c->cfg.name);
    int rc = cluster_delete(s, c, why, sizeof why);
    if (rc < 0) {
        API_ERR(rc, "%s", why);
        return;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "cluster %s deleted", cname);
    api_reply_ok(s, rid, env->request_id, msg);
}

void api_cluster_lock(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__ClusterLock *l = env->cluster_lock;
    cluster_t *c = api_cluster_arg(s, rid, env->request_id, l->name);
    if (!c)
        return;
    if (cluster_lock(s, c, l->locked) < 0) {
        API_ERR(DR_EDB, "cannot store cluster %s", c->cfg.name);
        return;
    }
    api_reply_cluster(s, rid, env->request_id, c);
}

typedef struct {
    Drover__Event *evs;
    Drover__Event **ptrs;
    char **strs; /* kind, cluster, node, message per event */
    size_t n, cap;
} ev_acc_t;

static void s_event_cb(void *arg, int64_t ts, const char *kind,
                       const char *cluster, const char *node, uint64_t job_id,
                       const char *message)
{
    ev_acc_t *a = arg;
    if (a->n == a->cap)
        return;
    Drover__Event *e = &a->evs[a->n];
    drover__event__init(e);
    e->ts_ms = ts;
    char **st = &a->strs[a->n * 4];
    st[0] = dr_strdup(kind);
    st[1] = dr_strdup(cluster);
    st[2] = dr_strdup(node);
    st[3] = dr_strdup(message);
    e->kind = st[0];
    e->cluster = st[1];
    e->node = st[2];
    e->message = st[3];
    e->job_id = job_id;
    a->ptrs[a->n] = e;
    a->n++;
}

void api_cluster_events(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__ClusterEventsReq *q = env->cluster_events;
    if (q->name && *q->name && !sched_cluster_find(s, q->name) &&
        !dr_valid_name(q->name)) {
        API_ERR(DR_EINVAL, "invalid cluster name");
        return;
    }
    uint32_t limit = q->limit ? q->limit : 100;
    if (limit > 10000)
        limit = 10000;
    ev_acc_t a = {0};
    a.cap = limit;
    a.evs = dr_calloc(limit, sizeof *a.evs);
    a.ptrs = dr_calloc(limit, sizeof *a.ptrs);
    a.strs = dr_calloc((size_t)limit * 4, sizeof *a.strs);
    if (cluster_events(s, q->name ? q->name : "", limit, s_event_cb, &a) < 0) {
        API_ERR(DR_EDB, "cannot read events");
    } else {
        dr_env_t out;
        Drover__EventList el = DROVER__EVENT_LIST__INIT;
        el.n_events = a.n;
        el.events = a.ptrs;
        wire_env_body(&out, env->request_id,
                      DROVER__ENVELOPE__BODY_EVENT_LIST_REPLY, &el);
        sched_reply_client(s, rid, &out);
    }
    for (size_t i = 0; i < a.n * 4; i++)
        free(a.strs[i]);
    free(a.strs);
    free(a.evs);
    free(a.ptrs);
}
