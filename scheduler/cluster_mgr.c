/* cluster_mgr.c - clusters: their config and its rows, their provider and
 * what it reports, their resize errors and backoff (core quotas are
 * quota.c's).
 *
 * The top of the model's managers: deleting a cluster removes its nodes
 * (node_life.c) and forgets its queued jobs (job_mgr.c).  It never calls
 * a policy; the autoscaler reads what it records here.
 */
#include "auth.h"
#include "dr_err.h"
#include "identity.h"
#include "log.h"
#include "sched_int.h"
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cluster_set_error(sched_t *self, cluster_t *c, const char *fmt, ...)
{
    char msg[256] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    if (strcmp(msg, c->cfg.last_error) == 0)
        return;
    snprintf(c->cfg.last_error, sizeof c->cfg.last_error, "%s", msg);
    if (store_cluster_set_error(self->store, c->cfg.name, msg) < 0)
        log_error("cluster %s: cannot record error", c->cfg.name);
    if (*msg) {
        log_warn("cluster %s: %s", c->cfg.name, msg);
        (void)store_event(self->store, "resize_error", c->cfg.name, "", 0, "%s",
                          msg);
    }
}

void cluster_create_failed(cluster_t *c, int64_t now)
{
    int shift = c->create_failures < 8 ? c->create_failures : 8;
    int64_t delay = (int64_t)2000 << shift;
    if (delay > 300000)
        delay = 300000;
    c->create_failures++;
    c->scale_out_after = now + delay;
}

void cluster_refused(sched_t *self, const char *node, uint64_t job_id,
                     const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    (void)store_event(self->store, "refused", "", node, job_id, "%s", msg);
}

/* What a provider says of finished work: written as an event; a failure
 * goes on the cluster, and a node whose creation failed is dropped. */
void cluster_provider_report(void *arg, const char *cluster, const char *node,
                             const char *op, int ok, const char *detail)
{
    sched_t *self = arg;
    cluster_t *c = sched_cluster_find(self, cluster);
    char kind[32];
    snprintf(kind, sizeof kind, "provider_%s%s", op, ok ? "" : "_failed");
    (void)store_event(self->store, kind, cluster, node, 0, "%s %s: %s", op,
                      node, detail);
    if (ok) {
        log_info("cluster %s: provider %s %s: %s", cluster, op, node, detail);
        /* the provider released it: a leaving node is gone now */
        node_t *gone = sched_node_find(self, node);
        if (gone && strcmp(op, "delete") == 0 && gone->state == NODE_LEAVING)
            node_remove(self, gone, "released by the provider");
        return;
    }
    if (!c)
        return;
    metrics_inc(self->metrics, MC_PROVIDER_ERRORS, c->cfg.name, op, 1);
    cluster_set_error(self, c, "provider %s: %s %s failed: %s",
                      c->provider->ops->name, op, node, detail);
    if (strcmp(op, "create") == 0)
        cluster_create_failed(c, dr_mono_ms());
    node_t *n = sched_node_find(self, node);
    if (n && n->cluster == c && strcmp(op, "create") == 0 &&
        n->state == NODE_PREPARING)
        node_remove(self, n, "provider could not create it");
}

provider_t *cluster_provider_new(sched_t *self, const store_cluster_t *c)
{
    provider_t *p = NULL;
    if (strcmp(c->provider, "exec") == 0)
        p = provider_exec_new(c->resume_program, c->suspend_program,
                              self->opts.agent_bin, self->opts.agent_connect,
                              self->opts.state_dir);
    else if (strcmp(c->provider, "http") == 0)
        p = provider_http_new(c->provider_url, self->opts.agent_connect,
                              self->opts.state_dir);
    else if (strcmp(c->provider, "docker") == 0)
        p = provider_docker_new(
            self->opts.docker_socket, self->opts.docker_node_image,
            self->opts.docker_network, self->opts.agent_endpoint,
            self->opts.state_dir);
    else
        return self->local;
    if (p) {
        p->report = cluster_provider_report;
        p->report_arg = self;
    }
    return p;
}

static void s_cluster_free(sched_t *self, cluster_t *c)
{
    if (c->provider != self->local)
        provider_destroy(&c->provider);
    queue_destroy(&c->queue);
    capidx_destroy(&c->capidx);
    free(c->nodes);
    free(c);
}

int cluster_add(sched_t *self, const store_cluster_t *cfg, cluster_t **out)
{
    const vm_size_t *vm = catalog_find(self->catalog, cfg->vm_size);
    if (!vm)
        return DR_EINVAL;
    provider_t *p = cluster_provider_new(self, cfg);
    if (!p)
        return DR_EPROVIDER;
    cluster_t *c = dr_calloc(1, sizeof *c);
    c->cfg = *cfg;
    c->vm = vm;
    c->pinfo.name = c->cfg.name;
    c->pinfo.vm = vm;
    c->pinfo.vm_priority = c->cfg.vm_priority;
    c->pinfo.location = c->cfg.location;
    c->queue = queue_new();
    c->capidx = capidx_new();
    c->provider = p;
    c->dirty = 1;
    cluster_t **pp = &self->clusters;
    while (*pp)
        pp = &(*pp)->next;
    *pp = c;
    *out = c;
    return 0;
}

void cluster_remove(sched_t *self, cluster_t *c)
{
    while (c->nnodes)
        node_remove(self, c->nodes[c->nnodes - 1], "cluster removed");
    job_t *j;
    while ((j = queue_first(c->queue)))
        job_forget(self, j);
    cluster_t **pp = &self->clusters;
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    s_cluster_free(self, c);
}

/* Frees every cluster in memory only: rows stay for the next start. */
void cluster_free_all(sched_t *self)
{
    while (self->clusters) {
        cluster_t *c = self->clusters;
        while (c->nnodes) {
            node_t *n = c->nodes[--c->nnodes];
            dict_del_str(self->nodes, n->name);
            free(n->jobs);
            free(n->gpus);
            free(n);
        }
        self->clusters = c->next;
        s_cluster_free(self, c);
    }
}

int cluster_identity_norm(const char *in, char *out, size_t cap)
{
    const char *v = in;
    if (strcmp(in, "[system]") == 0 || strcmp(in, "system") == 0 ||
        strcmp(in, "'[system]'") == 0)
        v = "system";
    else {
        size_t len = strlen(in);
        if (len == 0 || len > 200)
            return DR_EINVAL;
        for (const char *p = in; *p; p++)
            if (!(isalnum((unsigned char)*p) || strchr("/_.:-", *p)))
                return DR_EINVAL;
    }
    if (out)
        snprintf(out, cap, "%s", v);
    return 0;
}

/* Sets a cluster's identity (validated): a system-assigned one gets a new
 * principal id unless it had one; a user-assigned one is its own id. */
static void s_identity_set(store_cluster_t *cfg, const char *value)
{
    char norm[256] = "";
    if (value && *value)
        (void)cluster_identity_norm(value, norm, sizeof norm);
    int was_system = strcmp(cfg->identity, "system") == 0;
    snprintf(cfg->identity, sizeof cfg->identity, "%s", norm);
    if (!norm[0])
        cfg->identity_principal[0] = '\0';
    else if (strcmp(norm, "system") == 0) {
        if (!was_system || !cfg->identity_principal[0])
            identity_new_principal(cfg->identity_principal,
                                   sizeof cfg->identity_principal);
    } else {
        snprintf(cfg->identity_principal, sizeof cfg->identity_principal,
                 "%.63s", norm);
    }
}

/* "%s" of a message string, or the default when it is NULL or empty. */
static const char *s_or(const char *v, const char *dflt)
{
    return v && *v ? v : dflt;
}

int cluster_create(sched_t *self, const Drover__Cluster *m, cluster_t **out,
                   char *why, size_t cap)
{
    if (sched_cluster_find(self, m->name)) {
        snprintf(why, cap, "cluster %s already exists", m->name);
        return DR_EEXIST;
    }
    store_cluster_t cfg = {0};
    snprintf(cfg.name, sizeof cfg.name, "%s", m->name);
    snprintf(cfg.vm_size, sizeof cfg.vm_size, "%s",
             catalog_find(self->catalog, m->vm_size)->name);
    cfg.min_nodes = m->min_nodes;
    cfg.max_nodes = m->max_nodes;
    cfg.idle_seconds = m->idle_seconds_before_scaledown
                           ? m->idle_seconds_before_scaledown
                           : 120;
    snprintf(cfg.vm_priority, sizeof cfg.vm_priority, "%s",
             s_or(m->vm_priority, "dedicated"));
    snprintf(cfg.location, sizeof cfg.location, "%s",
             s_or(m->location, "local"));
    snprintf(cfg.provider, sizeof cfg.provider, "%s",
             s_or(m->provider, "local"));
    snprintf(cfg.resume_program, sizeof cfg.resume_program, "%s",
             s_or(m->resume_program, ""));
    snprintf(cfg.suspend_program, sizeof cfg.suspend_program, "%s",
             s_or(m->suspend_program, ""));
    snprintf(cfg.provider_url, sizeof cfg.provider_url, "%s",
             s_or(m->provider_url, ""));
    s_identity_set(&cfg, m->identity);
    cfg.created_at_ms = dr_now_ms();
    cluster_t *c = NULL;
    int rc = cluster_add(self, &cfg, &c);
    if (rc < 0 || store_cluster_put(self->store, &cfg) < 0) {
        if (c)
            cluster_remove(self, c);
        snprintf(why, cap, "cannot store cluster %s", m->name);
        return DR_EDB;
    }
    (void)store_event(self->store, "cluster_created", cfg.name, "", 0,
                      "cluster %s created: %s, %d-%d nodes", cfg.name,
                      cfg.vm_size, cfg.min_nodes, cfg.max_nodes);
    log_info("cluster %s created (%s, min %d, max %d)", cfg.name, cfg.vm_size,
             cfg.min_nodes, cfg.max_nodes);
    c->target_nodes = cfg.min_nodes;
    *out = c;
    return 0;
}

/* A locked cluster is resized only by the autoscaler: 1 (and the refusal
 * recorded) when c is locked. */
static int s_locked(sched_t *self, cluster_t *c, const char *what, char *why,
                    size_t cap, const char *hint)
{
    if (!c->cfg.locked)
        return 0;
    (void)store_event(self->store, "refused", c->cfg.name, "", 0,
                      "%s refused: cluster is locked", what);
    snprintf(why, cap, "cluster %s is locked: unlock it to %s", c->cfg.name,
             hint);
    return 1;
}

int cluster_update(sched_t *self, cluster_t *c, int min, int max, int idle,
                   char *why, size_t cap)
{
    if (s_locked(self, c, "update", why, cap, "resize by hand"))
        return DR_ESTATE;
    c->cfg.min_nodes = min;
    c->cfg.max_nodes = max;
    c->cfg.idle_seconds = idle;
    if (store_cluster_put(self->store, &c->cfg) < 0) {
        snprintf(why, cap, "cannot store cluster %s", c->cfg.name);
        return DR_EDB;
    }
    (void)store_event(self->store, "cluster_updated", c->cfg.name, "", 0,
                      "min %d max %d idle %d s", min, max, idle);
    self->autoscale_now = 1; /* act on it now */
    return 0;
}

int cluster_delete(sched_t *self, cluster_t *c, char *why, size_t cap)
{
    if (s_locked(self, c, "delete", why, cap, "delete it"))
        return DR_ESTATE;
    size_t active = queue_len(c->queue);
    for (size_t i = 0; i < c->nnodes; i++)
        active += c->nodes[i]->njobs;
    if (active) {
        snprintf(why, cap,
                 "cluster %s has %zu queued or running jobs; cancel them "
                 "first",
                 c->cfg.name, active);
        return DR_ESTATE;
    }
    char cname[64];
    snprintf(cname, sizeof cname, "%s", c->cfg.name);
    dr_env_t sd_env;
    Drover__Shutdown sd = DROVER__SHUTDOWN__INIT;
    sd.reason = "cluster deleted";
    wire_env_body(&sd_env, 0, DROVER__ENVELOPE__BODY_SHUTDOWN, &sd);
    while (c->nnodes) {
        node_t *n = c->nodes[c->nnodes - 1];
        char err[256];
        sched_send_agent(self, n->name, &sd_env);
        if (c->provider->ops->destroy(c->provider, &c->pinfo, n->name, n->pid,
                                      err, sizeof err) < 0)
            log_warn("cluster %s: delete node %s: %s", cname, n->name, err);
        node_remove(self, n, "cluster deleted");
    }
    if (store_cluster_delete(self->store, cname) < 0) {
        snprintf(why, cap, "cannot delete cluster %s", cname);
        return DR_EDB;
    }
    (void)store_event(self->store, "cluster_deleted", cname, "", 0,
                      "cluster %s deleted", cname);
    cluster_remove(self, c);
    log_info("cluster %s deleted", cname);
    return 0;
}

int cluster_lock(sched_t *self, cluster_t *c, int locked)
{
    c->cfg.locked = locked ? 1 : 0;
    if (store_cluster_put(self->store, &c->cfg) < 0)
        return DR_EDB;
    (void)store_event(self->store, locked ? "locked" : "unlocked", c->cfg.name,
                      "", 0, "cluster %s %s", c->cfg.name,
                      locked ? "locked" : "unlocked");
    return 0;
}

int cluster_identity_assign(sched_t *self, cluster_t *c, const char *value,
                            const char *by)
{
    s_identity_set(&c->cfg, value);
    if (store_cluster_put(self->store, &c->cfg) < 0)
        return DR_EDB;
    (void)store_event(self->store, "identity", c->cfg.name, "", 0,
                      "identity %s (%s) assigned by %s",
                      c->cfg.identity[0] ? c->cfg.identity : "none",
                      c->cfg.identity_principal, by);
    return 0;
}

/* ---- VM families --------------------------------------------------------- */

const char *cluster_family_name(const sched_t *self, const char *family)
{
    for (size_t i = 0; i < catalog_count(self->catalog); i++)
        if (dr_streq_ci(catalog_at(self->catalog, i)->family, family))
            return catalog_at(self->catalog, i)->family;
    return NULL;
}

/* ---- keys and the event log --------------------------------------------- */

int cluster_events(sched_t *self, const char *cluster, uint32_t limit,
                   store_event_cb cb, void *arg)
{
    return store_event_list(self->store, cluster, limit, cb, arg);
}

int cluster_key_add(sched_t *self, const char *name, int agent, int admin,
                    const char *public_key, const char *by)
{
    int rc =
        auth_add(self->auth, name, agent ? PRINCIPAL_AGENT : PRINCIPAL_USER,
                 admin, public_key);
    if (rc < 0)
        return rc;
    (void)store_event(self->store, "key_added", "", agent ? name : "", 0,
                      "%s %s added%s%s by %s", agent ? "agent" : "user", name,
                      agent ? "" : " as ",
                      agent   ? ""
                      : admin ? "admin"
                              : "user",
                      by);
    return 0;
}

int cluster_key_revoke(sched_t *self, const char *name, const char *by)
{
    int rc = auth_revoke(self->auth, name);
    if (rc < 0)
        return rc;
    (void)store_event(self->store, "key_revoked", "", "", 0,
                      "key %s revoked by %s", name, by);
    /* a node whose key is revoked is no longer trusted: it is lost now */
    node_t *n = sched_node_find(self, name);
    if (n) {
        cluster_t *c = n->cluster;
        char err[256];
        (void)c->provider->ops->destroy(c->provider, &c->pinfo, n->name, n->pid,
                                        err, sizeof err);
        node_remove(self, n, "its key was revoked");
    }
    return 0;
}
