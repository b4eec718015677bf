/* api_client.c - the client-facing RPC table.
 *
 * One handler per request body.  Each validates every field it reads,
 * answers with exactly one reply (or an Error) through the client outbox,
 * and changes nothing when it refuses.  Submissions are durable before the
 * reply leaves: the reply waits in the outbox until the loop pass commits.
 */
#include "api_client.h"
#include "auth.h"
#include "autoscaler.h"
#include "identity.h"
#include "dr_err.h"
#include "log.h"
#include "placement.h"
#include "provider.h"
#include "queue.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ARGS 1024
#define MAX_ARG_BYTES (64 * 1024)
#define MAX_ENV 1024
#define MAX_LIST 10000
#define DEFAULT_LIST 1000
#define DEFAULT_LOG_CHUNK (64 * 1024)
#define MAX_LOG_CHUNK (1024 * 1024)

typedef void (*client_fn)(sched_t *s, const char *rid, dr_env_t *env);

#define ERR(...) sched_client_error(s, rid, env->request_id, __VA_ARGS__)

/* Refuses a request that needs the admin role; 1 when refused. */
static int s_not_admin(sched_t *s, const char *rid, const dr_env_t *env,
                       const char *what)
{
    if (s->req.admin)
        return 0;
    (void)store_event(s->store, "refused", "", "", 0, "user %s: %s needs admin",
                      s->req.user, what);
    sched_client_error(s, rid, env->request_id, DR_EPERM,
                       "permission denied: %s needs the admin role (you are "
                       "%s)",
                       what, s->req.user);
    return 1;
}

/* Refuses acting on another user's job; 1 when refused. */
static int s_not_owner(sched_t *s, const char *rid, const dr_env_t *env,
                       uint64_t id, const char *owner, const char *what)
{
    if (s->req.admin || strcmp(owner, s->req.user) == 0)
        return 0;
    (void)store_event(s->store, "refused", "", "", id,
                      "user %s: %s of job %llu owned by %s", s->req.user, what,
                      (unsigned long long)id, owner);
    sched_client_error(s, rid, env->request_id, DR_EPERM,
                       "permission denied: job %llu belongs to %s",
                       (unsigned long long)id, owner);
    return 1;
}

static void s_reply(sched_t *s, const char *rid, dr_env_t *env)
{
    sched_reply_client(s, rid, env);
}

/* ---- clusters ---------------------------------------------------------- */

static void s_cluster_msg(const cluster_t *c, Drover__Cluster *m, char **errs)
{
    node_counts_t k;
    autoscaler_count(c, &k);
    drover__cluster__init(m);
    m->name = (char *)c->cfg.name;
    m->vm_size = (char *)c->vm->name;
    m->min_nodes = c->cfg.min_nodes;
    m->max_nodes = c->cfg.max_nodes;
    m->idle_seconds_before_scaledown = c->cfg.idle_seconds;
    m->vm_priority = (char *)c->cfg.vm_priority;
    m->location = (char *)c->cfg.location;
    m->provider = (char *)c->cfg.provider;
    m->current_nodes = k.ready + k.preparing + k.unknown + k.leaving;
    m->target_nodes = c->target_nodes;
    m->allocation_state = (char *)autoscaler_allocation_state(c);
    m->created_at_ms = c->cfg.created_at_ms;
    m->idle_nodes = k.idle;
    m->running_nodes = k.running;
    m->preparing_nodes = k.preparing + k.unknown;
    m->leaving_nodes = k.leaving;
    m->vm_cpus = c->vm->vcpus;
    m->vm_memory_mb = c->vm->memory_mb;
    m->vm_gpus = c->vm->gpus;
    m->resume_program = (char *)c->cfg.resume_program;
    m->suspend_program = (char *)c->cfg.suspend_program;
    m->provider_url = (char *)c->cfg.provider_url;
    m->locked = c->cfg.locked;
    m->vm_family = (char *)c->vm->family;
    m->wait_reason = (char *)c->wait_reason;
    m->identity = (char *)c->cfg.identity;
    m->identity_principal_id = (char *)c->cfg.identity_principal;
    for (size_t i = 0; i < c->nnodes; i++) {
        const node_t *n = c->nodes[i];
        if (n->preempted)
            m->preempted_nodes++;
        else if (n->state == NODE_UNKNOWN)
            m->unusable_nodes++;
        else if (n->state == NODE_READY && n->ngpus && !node_free_gpus(n) &&
                 !n->njobs)
            m->unusable_nodes++; /* every GPU unhealthy */
    }
    if (c->cfg.last_error[0]) {
        errs[0] = (char *)c->cfg.last_error;
        m->errors = errs;
        m->n_errors = 1;
    }
}

static void s_reply_cluster(sched_t *s, const char *rid, uint64_t req,
                            const cluster_t *c)
{
    dr_env_t out;
    Drover__Cluster m;
    char *errs[1];
    s_cluster_msg(c, &m, errs);
    wire_env_init(&out, req);
    out.body_case = DROVER__ENVELOPE__BODY_CLUSTER_INFO;
    out.cluster_info = &m;
    s_reply(s, rid, &out);
}

/* "[system]" / "system" -> "system"; a user-assigned id kept as it is;
 * DR_EINVAL for anything else.  out may be NULL (just validate). */
static int s_identity_norm(const char *in, char *out, size_t cap)
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
        (void)s_identity_norm(value, norm, sizeof norm);
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
        s_identity_norm(c->identity, NULL, 0) < 0) {
        snprintf(why, n,
                 "identity must be '[system]' or a user-assigned identity id "
                 "(1-200 of A-Za-z0-9/_.:-)");
        return DR_EINVAL;
    }
    if (c->location && strlen(c->location) > 63) {
        snprintf(why, n, "location is too long");
        return DR_EINVAL;
    }
    const char *prov = c->provider && *c->provider ? c->provider : "local";
    if (!provider_known(prov)) {
        snprintf(why, n, "unknown provider '%s' (local, exec or http)", prov);
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

static void s_cluster_create(sched_t *s, const char *rid, dr_env_t *env)
{
    if (s_not_admin(s, rid, env, "cluster create"))
        return;
    const Drover__Cluster *m = env->cluster_create->cluster;
    char why[256];
    if (!m) {
        ERR(DR_EINVAL, "cluster_create: cluster missing");
        return;
    }
    int rc = api_cluster_validate(s, m, why, sizeof why);
    if (rc < 0) {
        ERR(rc, "%s", why);
        return;
    }
    if (sched_cluster_find(s, m->name)) {
        ERR(DR_EEXIST, "cluster %s already exists", m->name);
        return;
    }
    store_cluster_t cfg = {0};
    snprintf(cfg.name, sizeof cfg.name, "%s", m->name);
    snprintf(cfg.vm_size, sizeof cfg.vm_size, "%s",
             catalog_find(s->catalog, m->vm_size)->name);
    cfg.min_nodes = m->min_nodes;
    cfg.max_nodes = m->max_nodes;
    cfg.idle_seconds = m->idle_seconds_before_scaledown
                           ? m->idle_seconds_before_scaledown
                           : 120;
    snprintf(cfg.vm_priority, sizeof cfg.vm_priority, "%s",
             m->vm_priority && *m->vm_priority ? m->vm_priority : "dedicated");
    snprintf(cfg.location, sizeof cfg.location, "%s",
             m->location && *m->location ? m->location : "local");
    snprintf(cfg.provider, sizeof cfg.provider, "%s",
             m->provider && *m->provider ? m->provider : "local");
    snprintf(cfg.resume_program, sizeof cfg.resume_program, "%s",
             m->resume_program ? m->resume_program : "");
    snprintf(cfg.suspend_program, sizeof cfg.suspend_program, "%s",
             m->suspend_program ? m->suspend_program : "");
    snprintf(cfg.provider_url, sizeof cfg.provider_url, "%s",
             m->provider_url ? m->provider_url : "");
    s_identity_set(&cfg, m->identity);
    cfg.created_at_ms = dr_now_ms();
    cluster_t *c = NULL;
    rc = sched_cluster_add(s, &cfg, &c);
    if (rc < 0 || store_cluster_put(s->store, &cfg) < 0) {
        if (c)
            sched_cluster_remove(s, c);
        ERR(DR_EDB, "cannot store cluster %s", m->name);
        return;
    }
    (void)store_event(s->store, "cluster_created", cfg.name, "", 0,
                      "cluster %s created: %s, %d-%d nodes", cfg.name,
                      cfg.vm_size, cfg.min_nodes, cfg.max_nodes);
    log_info("cluster %s created (%s, min %d, max %d)", cfg.name, cfg.vm_size,
             cfg.min_nodes, cfg.max_nodes);
    c->target_nodes = cfg.min_nodes;
    s_reply_cluster(s, rid, env->request_id, c);
}

static void s_cluster_update(sched_t *s, const char *rid, dr_env_t *env)
{
    if (s_not_admin(s, rid, env, "cluster update"))
        return;
    const Drover__ClusterUpdate *u = env->cluster_update;
    cluster_t *c = u->name ? sched_cluster_find(s, u->name) : NULL;
    if (!c) {
        ERR(DR_ENOENT, "unknown cluster '%s'", u->name ? u->name : "");
        return;
    }
    if (c->cfg.locked) {
        (void)store_event(s->store, "refused", c->cfg.name, "", 0,
                          "update refused: cluster is locked");
        ERR(DR_ESTATE, "cluster %s is locked: unlock it to resize by hand",
            c->cfg.name);
        return;
    }
    if (u->set_mask == 0 || (u->set_mask & ~7u)) {
        ERR(DR_EINVAL, "cluster update: nothing to change");
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
    if (rc < 0) {
        ERR(rc, "%s", why);
        return;
    }
    c->cfg.min_nodes = min;
    c->cfg.max_nodes = max;
    c->cfg.idle_seconds = idle;
    if (store_cluster_put(s->store, &c->cfg) < 0) {
        ERR(DR_EDB, "cannot store cluster %s", c->cfg.name);
        return;
    }
    (void)store_event(s->store, "cluster_updated", c->cfg.name, "", 0,
                      "min %d max %d idle %d s", min, max, idle);
    s->next_autoscale = 0; /* act on it now */
    s_reply_cluster(s, rid, env->request_id, c);
}

static void s_cluster_show(sched_t *s, const char *rid, dr_env_t *env)
{
    const char *name = env->cluster_show->name;
    cluster_t *c = name ? sched_cluster_find(s, name) : NULL;
    if (!c) {
        ERR(DR_ENOENT, "unknown cluster '%s'", name ? name : "");
        return;
    }
    s_reply_cluster(s, rid, env->request_id, c);
}

static void s_cluster_list(sched_t *s, const char *rid, dr_env_t *env)
{
    size_t n = 0;
    for (cluster_t *c = s->clusters; c; c = c->next)
        n++;
    Drover__Cluster *ms = dr_calloc(n + 1, sizeof *ms);
    Drover__Cluster **ptrs = dr_calloc(n + 1, sizeof *ptrs);
    char **errs = dr_calloc(n + 1, sizeof *errs);
    size_t i = 0;
    for (cluster_t *c = s->clusters; c; c = c->next, i++) {
        s_cluster_msg(c, &ms[i], &errs[i]);
        ptrs[i] = &ms[i];
    }
    dr_env_t out;
    Drover__ClusterList list = DROVER__CLUSTER_LIST__INIT;
    list.n_clusters = n;
    list.clusters = ptrs;
    wire_env_init(&out, env->request_id);
    out.body_case = DROVER__ENVELOPE__BODY_CLUSTER_LIST_REPLY;
    out.cluster_list_reply = &list;
    s_reply(s, rid, &out);
    free(ms);
    free(ptrs);
    free(errs);
}

static void s_cluster_delete(sched_t *s, const char *rid, dr_env_t *env)
{
    if (s_not_admin(s, rid, env, "cluster delete"))
        return;
    const char *name = env->cluster_delete->name;
    cluster_t *c = name ? sched_cluster_find(s, name) : NULL;
    if (!c) {
        ERR(DR_ENOENT, "unknown cluster '%s'", name ? name : "");
        return;
    }
    if (c->cfg.locked) {
        (void)store_event(s->store, "refused", c->cfg.name, "", 0,
                          "delete refused: cluster is locked");
        ERR(DR_ESTATE, "cluster %s is locked: unlock it to delete it",
            c->cfg.name);
        return;
    }
    size_t active = queue_len(c->queue);
    for (size_t i = 0; i < c->nnodes; i++)
        active += c->nodes[i]->njobs;
    if (active) {
        ERR(DR_ESTATE,
            "cluster %s has %zu queued or running jobs; cancel them first",
            c->cfg.name, active);
        return;
    }
    char cname[64];
    snprintf(cname, sizeof cname, "%s", c->cfg.name);
    while (c->nnodes) {
        node_t *n = c->nodes[c->nnodes - 1];
        char err[256];
        dr_env_t sd_env;
        Drover__Shutdown sd = DROVER__SHUTDOWN__INIT;
        wire_env_init(&sd_env, 0);
        sd.reason = "cluster deleted";
        sd_env.body_case = DROVER__ENVELOPE__BODY_SHUTDOWN;
        sd_env.shutdown = &sd;
        sched_send_agent(s, n->name, &sd_env);
        if (c->provider->ops->destroy(c->provider, c, n->name, n->pid, err,
                                      sizeof err) < 0)
            log_warn("cluster %s: delete node %s: %s", cname, n->name, err);
        sched_node_remove(s, n, "cluster deleted");
    }
    if (store_cluster_delete(s->store, cname) < 0) {
        ERR(DR_EDB, "cannot delete cluster %s", cname);
        return;
    }
    (void)store_event(s->store, "cluster_deleted", cname, "", 0,
                      "cluster %s deleted", cname);
    sched_cluster_remove(s, c);
    log_info("cluster %s deleted", cname);
    dr_env_t out;
    Drover__Ok ok = DROVER__OK__INIT;
    char msg[128];
    snprintf(msg, sizeof msg, "cluster %s deleted", cname);
    ok.message = msg;
    wire_env_init(&out, env->request_id);
    out.body_case = DROVER__ENVELOPE__BODY_OK;
    out.ok = &ok;
    s_reply(s, rid, &out);
}

/* ---- jobs ------------------------------------------------------------------
 */

static int s_env_key_ok(const char *k)
{
    if (!k || !(isalpha((unsigned char)*k) || *k == '_'))
        return 0;
    for (; *k; k++)
        if (!(isalnum((unsigned char)*k) || *k == '_'))
            return 0;
    return 1;
}

int api_job_validate(const sched_t *s, const Drover__Job *j, char *why,
                     size_t n)
{
    const cluster_t *c =
        j->cluster ? sched_cluster_find((sched_t *)s, j->cluster) : NULL;
    if (!c) {
        snprintf(why, n, "unknown cluster '%s'", j->cluster ? j->cluster : "");
        return DR_ENOENT;
    }
    if (j->n_argv == 0 || !j->argv[0] || !*j->argv[0]) {
        snprintf(why, n, "a job needs a command");
        return DR_EINVAL;
    }
    if (j->n_argv > MAX_ARGS) {
        snprintf(why, n, "too many arguments (%zu > %d)", j->n_argv, MAX_ARGS);
        return DR_EINVAL;
    }
    for (size_t i = 0; i < j->n_argv; i++) {
        if (!j->argv[i] || strlen(j->argv[i]) > MAX_ARG_BYTES) {
            snprintf(why, n, "argument %zu is missing or too long", i);
            return DR_EINVAL;
        }
    }
    if (j->n_env > MAX_ENV) {
        snprintf(why, n, "too many environment variables");
        return DR_EINVAL;
    }
    for (size_t i = 0; i < j->n_env; i++) {
        if (!j->env[i] || !s_env_key_ok(j->env[i]->key) || !j->env[i]->value ||
            strlen(j->env[i]->value) > MAX_ARG_BYTES) {
            snprintf(why, n, "invalid environment variable '%s'",
                     j->env[i] && j->env[i]->key ? j->env[i]->key : "");
            return DR_EINVAL;
        }
    }
    if (j->name && strlen(j->name) > 127) {
        snprintf(why, n, "job name is longer than 127 characters");
        return DR_EINVAL;
    }
    uint32_t cpus = j->cpus ? j->cpus : 1;
    uint64_t mem = j->memory_mb ? j->memory_mb : 512;
    if (cpus > c->vm->vcpus) {
        snprintf(why, n, "job asks for %u cpus but %s has %u", cpus,
                 c->vm->name, c->vm->vcpus);
        return DR_ENOFIT;
    }
    if (mem > c->vm->memory_mb) {
        snprintf(why, n, "job asks for %llu MB but %s has %llu MB",
                 (unsigned long long)mem, c->vm->name,
                 (unsigned long long)c->vm->memory_mb);
        return DR_ENOFIT;
    }
    if (j->nodes > DR_MAX_JOB_NODES) {
        snprintf(why, n, "nodes %u above the limit of %d", j->nodes,
                 DR_MAX_JOB_NODES);
        return DR_EINVAL;
    }
    const char *dist = j->distribution ? j->distribution : "";
    if (*dist && strcmp(dist, "mpi") != 0) {
        snprintf(why, n, "distribution '%.32s' is not known (use mpi)", dist);
        return DR_EINVAL;
    }
    if (*dist && j->nodes <= 1 && j->procs_per_node <= 1) {
        snprintf(why, n,
                 "distribution mpi needs --nodes or --procs-per-node "
                 "above 1");
        return DR_EINVAL;
    }
    if (j->gpus > c->vm->gpus) {
        snprintf(why, n, "job asks for %u GPUs but %s has %u", j->gpus,
                 c->vm->name, c->vm->gpus);
        return DR_ENOFIT;
    }
    if (j->gpus > DR_MAX_GPUS) {
        snprintf(why, n, "gpus %u out of range", j->gpus);
        return DR_EINVAL;
    }
    if (j->image && (strlen(j->image) > 255 || strchr(j->image, ' '))) {
        snprintf(why, n, "invalid image reference '%.64s'", j->image);
        return DR_EINVAL;
    }
    if (j->priority < -1000 || j->priority > 1000) {
        snprintf(why, n, "priority %d out of range [-1000, 1000]", j->priority);
        return DR_EINVAL;
    }
    if (j->max_retries > 100) {
        snprintf(why, n, "max retries %u above the limit of 100",
                 j->max_retries);
        return DR_EINVAL;
    }
    if (j->procs_per_node > 1024) {
        snprintf(why, n, "procs per node %u out of range", j->procs_per_node);
        return DR_EINVAL;
    }
    return 0;
}

static void s_job_submit(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__Job *m = env->job_submit->job;
    char why[256];
    if (!m) {
        ERR(DR_EINVAL, "job_submit: job missing");
        return;
    }
    int rc = api_job_validate(s, m, why, sizeof why);
    if (rc < 0) {
        ERR(rc, "%s", why);
        return;
    }
    cluster_t *c = sched_cluster_find(s, m->cluster);
    /* the spec keeps what the columns do not: argv, env, image */
    Drover__Job spec = DROVER__JOB__INIT;
    spec.n_argv = m->n_argv;
    spec.argv = m->argv;
    spec.n_env = m->n_env;
    spec.env = m->env;
    spec.image = m->image;
    spec.distribution = m->distribution;
    job_t *j = dr_calloc(1, sizeof *j);
    j->spec_len = drover__job__get_packed_size(&spec);
    j->spec = dr_malloc(j->spec_len);
    drover__job__pack(&spec, j->spec);
    j->name = dr_strdup(m->name && *m->name ? m->name : m->argv[0]);
    j->cluster = c;
    j->state = JOB_QUEUED;
    j->priority = m->priority;
    j->cpus = m->cpus ? m->cpus : 1;
    j->memory_mb = m->memory_mb ? m->memory_mb : 512;
    j->nodes = m->nodes ? m->nodes : 1;
    j->procs_per_node = m->procs_per_node ? m->procs_per_node : 1;
    j->mpi = m->distribution && strcmp(m->distribution, "mpi") == 0;
    j->gpus = m->gpus;
    j->has_image = m->image && *m->image;
    j->max_retries = m->max_retries;
    j->time_limit_s = m->time_limit_s;
    j->reason = dr_strdup("");
    j->owner = dr_strdup(s->req.user);
    j->submitted_at_ms = dr_now_ms();
    store_job_t row;
    sched_job_row(j, &row);
    if (store_job_insert(s->store, &row) < 0) {
        free(j->spec);
        free(j->name);
        free(j->reason);
        free(j->owner);
        free(j);
        ERR(DR_EDB, "cannot store the job");
        return;
    }
    j->id = row.id;
    dict_put_u64(s->jobs, j->id, j);
    queue_push(c->queue, j);
    if (!c->dirty)
        (void)placement_try(s, c, j);
    dr_env_t out;
    Drover__JobSubmitReply r = DROVER__JOB_SUBMIT_REPLY__INIT;
    r.id = j->id;
    wire_env_init(&out, env->request_id);
    out.body_case = DROVER__ENVELOPE__BODY_JOB_SUBMIT_REPLY;
    out.job_submit_reply = &r;
    s_reply(s, rid, &out);
}

/* Fills a Job message from a row; *spec_out (free with
 * drover__job__free_unpacked) owns the argv/env strings. */
typedef struct {
    char *names[DR_MAX_JOB_NODES];
    char namebuf[sizeof((store_job_t *)0)->node_names];
    char reason[256];
    char gpubuf[sizeof((store_job_t *)0)->gpu_indices];
    char *uuids[DR_MAX_GPUS];
    uint32_t idx[DR_MAX_GPUS];
} job_scratch_t;

static void s_job_msg(const sched_t *s, const store_job_t *row, Drover__Job *m,
                      Drover__Job **spec_out, job_scratch_t *x)
{
    char **names = x->names;
    char *reason_buf = x->reason;
    size_t reason_cap = sizeof x->reason;
    drover__job__init(m);
    Drover__Job *spec = drover__job__unpack(NULL, row->spec_len, row->spec);
    *spec_out = spec;
    m->id = row->id;
    m->name = (char *)row->name;
    m->cluster = (char *)row->cluster;
    if (spec) {
        m->n_argv = spec->n_argv;
        m->argv = spec->argv;
        m->n_env = spec->n_env;
        m->env = spec->env;
        m->image = spec->image;
        m->distribution = spec->distribution;
    }
    m->cpus = row->cpus;
    m->memory_mb = row->memory_mb;
    m->nodes = row->nodes;
    m->procs_per_node = row->procs_per_node;
    m->gpus = row->gpus;
    m->priority = row->priority;
    m->max_retries = row->max_retries;
    m->time_limit_s = row->time_limit_s;
    m->state = (char *)row->state;
    m->exit_code = row->has_exit_code ? row->exit_code : 0;
    m->attempts = row->attempts;
    m->preemptions = row->preemptions;
    /* "head,worker,..." in rank order */
    snprintf(x->namebuf, sizeof x->namebuf, "%s", row->node_names);
    char *nsave = NULL;
    for (char *t = strtok_r(x->namebuf, ",", &nsave);
         t && m->n_node_names < DR_MAX_JOB_NODES;
         t = strtok_r(NULL, ",", &nsave))
        names[m->n_node_names++] = t;
    m->node_names = names;
    if (m->n_node_names > 1)
        m->head_node = names[0];
    snprintf(reason_buf, reason_cap, "%s", row->reason);
    if (!reason_buf[0] && strcmp(row->state, "queued") == 0) {
        const job_t *j = sched_job_find((sched_t *)s, row->id);
        if (j)
            (void)placement_wait_reason(s, j, reason_buf, reason_cap);
    }
    /* "0=GPU-a,1=GPU-b" -> indices and uuids */
    snprintf(x->gpubuf, sizeof x->gpubuf, "%s", row->gpu_indices);
    char *save = NULL;
    for (char *t = strtok_r(x->gpubuf, ",;", &save);
         t && m->n_gpu_uuids < DR_MAX_GPUS; t = strtok_r(NULL, ",;", &save)) {
        char *eq = strchr(t, '=');
        if (!eq)
            continue;
        *eq = '\0';
        x->idx[m->n_gpu_indices++] = (uint32_t)strtoul(t, NULL, 10);
        x->uuids[m->n_gpu_uuids++] = eq + 1;
    }
    m->gpu_indices = x->idx;
    m->gpu_uuids = x->uuids;
    m->reason = reason_buf;
    m->submitted_at_ms = row->submitted_at_ms;
    m->started_at_ms = row->started_at_ms;
    m->ended_at_ms = row->ended_at_ms;
    m->owner = (char *)row->owner;
}

/* The job as clients see it: from memory when active, else the store. */
static int s_job_load(sched_t *s, uint64_t id, store_job_t *row)
{
    job_t *j = sched_job_find(s, id);
    if (j) {
        sched_job_row(j, row);
        row->spec = dr_malloc(j->spec_len);
        memcpy(row->spec, j->spec, j->spec_len);
        return 0;
    }
    return store_job_get(s->store, id, row);
}

static void s_job_show(sched_t *s, const char *rid, dr_env_t *env)
{
    uint64_t id = env->job_show->id;
    store_job_t row;
    int rc = id ? s_job_load(s, id, &row) : DR_ENOENT;
    if (rc < 0) {
        ERR(rc == DR_ENOENT ? DR_ENOENT : rc, "unknown job %llu",
            (unsigned long long)id);
        return;
    }
    Drover__Job m;
    Drover__Job *spec = NULL;
    job_scratch_t *x = dr_calloc(1, sizeof *x);
    s_job_msg(s, &row, &m, &spec, x);
    dr_env_t out;
    wire_env_init(&out, env->request_id);
    out.body_case = DROVER__ENVELOPE__BODY_JOB_INFO;
    out.job_info = &m;
    s_reply(s, rid, &out);
    if (spec)
        drover__job__free_unpacked(spec, NULL);
    free(x);
    store_job_clear(&row);
}

typedef struct {
    const sched_t *s;
    Drover__Job **msgs;
    Drover__Job **specs;
    store_job_t *rows;
    job_scratch_t *scratch;
    size_t n, cap;
} list_acc_t;

static int s_list_cb(void *arg, const store_job_t *row)
{
    list_acc_t *a = arg;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->msgs = dr_realloc(a->msgs, a->cap * sizeof *a->msgs);
        a->specs = dr_realloc(a->specs, a->cap * sizeof *a->specs);
        a->rows = dr_realloc(a->rows, a->cap * sizeof *a->rows);
        a->scratch = dr_realloc(a->scratch, a->cap * sizeof *a->scratch);
    }
    size_t i = a->n++;
    a->rows[i] = *row;
    a->rows[i].spec = dr_malloc(row->spec_len);
    memcpy(a->rows[i].spec, row->spec, row->spec_len);
    a->msgs[i] = dr_malloc(sizeof(Drover__Job));
    return 0;
}

static void s_job_list(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__JobListReq *q = env->job_list;
    if (q->cluster && *q->cluster && !sched_cluster_find(s, q->cluster)) {
        /* a deleted cluster's jobs can still be listed from the store */
        if (strlen(q->cluster) > 63) {
            ERR(DR_EINVAL, "invalid cluster name");
            return;
        }
    }
    job_state_t st;
    if (q->state && *q->state && job_state_parse(q->state, &st) < 0) {
        ERR(DR_EINVAL,
            "unknown job state '%s' (queued, starting, running, succeeded, "
            "failed, canceled)",
            q->state);
        return;
    }
    uint32_t limit = q->limit ? q->limit : DEFAULT_LIST;
    if (limit > MAX_LIST)
        limit = MAX_LIST;
    list_acc_t a = {.s = s};
    int more = 0;
    int rc = store_job_list(s->store, q->cluster ? q->cluster : "",
                            q->state ? q->state : "", q->after_id, limit,
                            s_list_cb, &a, &more);
    if (rc < 0) {
        ERR(rc, "cannot list jobs");
    } else {
        for (size_t i = 0; i < a.n; i++)
            s_job_msg(s, &a.rows[i], a.msgs[i], &a.specs[i], &a.scratch[i]);
        dr_env_t out;
        Drover__JobList list = DROVER__JOB_LIST__INIT;
        list.n_jobs = a.n;
        list.jobs = a.msgs;
        list.more = more;
        wire_env_init(&out, env->request_id);
        out.body_case = DROVER__ENVELOPE__BODY_JOB_LIST_REPLY;
        out.job_list_reply = &list;
        s_reply(s, rid, &out);
    }
    for (size_t i = 0; i < a.n; i++) {
        if (a.specs[i])
            drover__job__free_unpacked(a.specs[i], NULL);
        store_job_clear(&a.rows[i]);
        free(a.msgs[i]);
    }
    free(a.msgs);
    free(a.specs);
    free(a.rows);
    free(a.scratch);
}

static void s_ok(sched_t *s, const char *rid, uint64_t req, const char *msg)
{
    dr_env_t out;
    Drover__Ok ok = DROVER__OK__INIT;
    ok.message = (char *)msg;
    wire_env_init(&out, req);
    out.body_case = DROVER__ENVELOPE__BODY_OK;
    out.ok = &ok;
    s_reply(s, rid, &out);
}

static void s_job_cancel(sched_t *s, const char *rid, dr_env_t *env)
{
    uint64_t id = env->job_cancel->id;
    job_t *j = id ? sched_job_find(s, id) : NULL;
    char msg[128];
    if (!j) {
        store_job_t row;
        int rc = id ? store_job_get(s->store, id, &row) : DR_ENOENT;
        if (rc < 0) {
            ERR(DR_ENOENT, "unknown job %llu", (unsigned long long)id);
            return;
        }
        if (!s_not_owner(s, rid, env, id, row.owner, "cancel"))
            ERR(DR_ESTATE, "job %llu already ended (%s)",
                (unsigned long long)id, row.state);
        store_job_clear(&row);
        return;
    }
    if (s_not_owner(s, rid, env, id, j->owner, "cancel"))
        return;
    if (j->state == JOB_QUEUED) {
        queue_remove(j->cluster->queue, j);
        snprintf(msg, sizeof msg, "job %llu canceled", (unsigned long long)id);
        sched_job_finish(s, j, JOB_CANCELED, 0, 0, "canceled by user");
    } else {
        if (!j->cancel_requested) {
            j->cancel_requested = 1;
            sched_task_cancel(s, j, "canceled by user");
        }
        snprintf(msg, sizeof msg, "job %llu: cancel requested",
                 (unsigned long long)id);
    }
    s_ok(s, rid, env->request_id, msg);
}

static void s_job_logs(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__JobLogsReq *q = env->job_logs;
    store_job_t row;
    int rc = q->id ? s_job_load(s, q->id, &row) : DR_ENOENT;
    if (rc < 0) {
        ERR(DR_ENOENT, "unknown job %llu", (unsigned long long)q->id);
        return;
    }
    if (s_not_owner(s, rid, env, q->id, row.owner, "logs")) {
        store_job_clear(&row);
        return;
    }
    uint32_t max = q->max_bytes ? q->max_bytes : DEFAULT_LOG_CHUNK;
    if (max > MAX_LOG_CHUNK)
        max = MAX_LOG_CHUNK;
    job_state_t st = JOB_QUEUED;
    (void)job_state_parse(row.state, &st);
    char *path = dr_asprintf("%s/logs/%llu.log", s->opts.state_dir,
                             (unsigned long long)q->id);
    uint8_t *buf = dr_malloc(max);
    ssize_t got = 0;
    uint64_t size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat sb;
        if (fstat(fd, &sb) == 0)
            size = (uint64_t)sb.st_size;
        if (q->offset < size) {
            got = pread(fd, buf, max, (off_t)q->offset);
            if (got < 0) {
                log_warn_errno("job %llu: read %s", (unsigned long long)q->id,
                               path);
                got = 0;
            }
        }
        close(fd);
    }
    dr_env_t out;
    Drover__JobLogs r = DROVER__JOB_LOGS__INIT;
    r.data.data = buf;
    r.data.len = (size_t)got;
    r.next_offset = q->offset + (uint64_t)got;
    r.eof = job_state_terminal(st) && r.next_offset >= size;
    r.state = row.state;
    wire_env_init(&out, env->request_id);
    out.body_case = DROVER__ENVELOPE__BODY_JOB_LOGS_REPLY;
    out.job_logs_reply = &r;
    s_reply(s, rid, &out);
    free(buf);
    free(path);
    store_job_clear(&row);
}

/* ---- nodes --------------------------------------------------------------- */

static void s_node_fill(const node_t *nd, Drover__Node *m, char **rts,
                        Drover__GpuInfo **gbuf, Drover__GpuInfo ***gptr)
{
    static char *const rt_names[] = {"process", "docker"};
    const cluster_t *c = nd->cluster;
    drover__node__init(m);
    m->name = (char *)nd->name;
    m->cluster = (char *)c->cfg.name;
    m->state = nd->preempted ? "preempted" : (char *)node_state_name(nd);
    m->cpus = nd->cpus;
    m->memory_mb = nd->memory_mb;
    m->cpus_used = nd->cpus_used;
    m->memory_used_mb = nd->memory_used_mb;
    m->tasks = (uint32_t)nd->njobs;
    m->vm_size = (char *)(nd->vm_size[0] ? nd->vm_size : c->vm->name);
    m->created_at_ms = nd->created_at_ms;
    m->last_seen_ms = dr_now_ms() - (dr_mono_ms() - nd->last_seen);
    if (nd->runtimes & RT_PROCESS)
        rts[m->n_runtimes++] = rt_names[0];
    if (nd->runtimes & RT_DOCKER)
        rts[m->n_runtimes++] = rt_names[1];
    m->runtimes = rts;
    if (nd->state == NODE_LEAVING)
        m->reason = nd->preempted ? "preempted" : "being released";
    else if (nd->state == NODE_UNKNOWN)
        m->reason = "waiting for its agent to re-register";
    if (!nd->ngpus)
        return;
    *gbuf = dr_calloc(nd->ngpus, sizeof **gbuf);
    *gptr = dr_calloc(nd->ngpus, sizeof **gptr);
    for (uint32_t g = 0; g < nd->ngpus; g++) {
        const node_gpu_t *src = &nd->gpus[g];
        Drover__GpuInfo *d = &(*gbuf)[g];
        drover__gpu_info__init(d);
        d->index = src->index;
        d->uuid = (char *)src->uuid;
        d->name = (char *)src->name;
        d->memory_total_mb = src->memory_total_mb;
        d->memory_used_mb = src->memory_used_mb;
        d->utilization_gpu = src->utilization_gpu;
        d->utilization_memory = src->utilization_memory;
        d->temperature_c = src->temperature_c;
        d->power_mw = src->power_mw;
        d->power_limit_mw = src->power_limit_mw;
        d->ecc_uncorrected = src->ecc_uncorrected;
        d->healthy = src->healthy;
        (*gptr)[g] = d;
    }
    m->n_gpus = nd->ngpus;
    m->gpus = *gptr;
}

static void s_node_list(sched_t *s, const char *rid, dr_env_t *env)
{
    const char *filter = env->node_list->cluster;
    cluster_t *only = NULL;
    if (filter && *filter) {
        only = sched_cluster_find(s, filter);
        if (!only) {
            ERR(DR_ENOENT, "unknown cluster '%s'", filter);
            return;
        }
    }
    size_t n = 0;
    for (cluster_t *c = s->clusters; c; c = c->next)
        if (!only || c == only)
            n += c->nnodes;
    Drover__Node *ms = dr_calloc(n + 1, sizeof *ms);
    Drover__Node **ptrs = dr_calloc(n + 1, sizeof *ptrs);
    /* per node: its GPUs (messages and pointers) and runtime names */
    Drover__GpuInfo **gbufs = dr_calloc(n + 1, sizeof *gbufs);
    Drover__GpuInfo ***gptrs = dr_calloc(n + 1, sizeof *gptrs);
    char *(*rts)[2] = dr_calloc(n + 1, sizeof *rts);
    size_t i = 0;
    for (cluster_t *c = s->clusters; c; c = c->next) {
        if (only && c != only)
            continue;
        for (size_t k = 0; k < c->nnodes; k++, i++) {
            const node_t *nd = c->nodes[k];
            Drover__Node *m = &ms[i];
            s_node_fill(nd, m, rts[i], &gbufs[i], &gptrs[i]);
            ptrs[i] = m;
        }
    }
    dr_env_t out;
    Drover__NodeList list = DROVER__NODE_LIST__INIT;
    list.n_nodes = n;
    list.nodes = ptrs;
    wire_env_init(&out, env->request_id);
    out.body_case = DROVER__ENVELOPE__BODY_NODE_LIST_REPLY;
    out.node_list_reply = &list;
    s_reply(s, rid, &out);
    for (size_t k = 0; k < n; k++) {
        free(gbufs[k]);
        free(gptrs[k]);
    }
    free(gbufs);
    free(gptrs);
    free(rts);
    free(ms);
    free(ptrs);
}

static void s_node_show(sched_t *s, const char *rid, dr_env_t *env)
{
    const char *name = env->node_show->name;
    node_t *nd = name ? sched_node_find(s, name) : NULL;
    if (!nd) {
        ERR(DR_ENOENT, "unknown node '%s'", name ? name : "");
        return;
    }
    Drover__Node m;
    char *rts[2];
    Drover__GpuInfo *gbuf = NULL, **gptr = NULL;
    s_node_fill(nd, &m, rts, &gbuf, &gptr);
    dr_env_t out;
    wire_env_init(&out, env->request_id);
    out.body_case = DROVER__ENVELOPE__BODY_NODE_INFO;
    out.node_info = &m;
    s_reply(s, rid, &out);
    free(gbuf);
    free(gptr);
}

static void s_node_preempt(sched_t *s, const char *rid, dr_env_t *env)
{
    if (s_not_admin(s, rid, env, "node preempt"))
        return;
    const char *name = env->node_preempt->name;
    node_t *nd = name ? sched_node_find(s, name) : NULL;
    if (!nd) {
        ERR(DR_ENOENT, "unknown node '%s'", name ? name : "");
        return;
    }
    if (nd->state != NODE_READY) {
        ERR(DR_ESTATE, "node %s is %s, not ready", nd->name,
            node_state_name(nd));
        return;
    }
    /* the drill goes through the agent, as a real eviction notice would:
     * it signals its tasks and answers NodePreempted */
    dr_env_t out;
    Drover__PreemptNotice pn = DROVER__PREEMPT_NOTICE__INIT;
    pn.reason = "preemption drill (drover node preempt)";
    wire_env_init(&out, 0);
    out.body_case = DROVER__ENVELOPE__BODY_PREEMPT_NOTICE;
    out.preempt_notice = &pn;
    sched_send_agent(s, nd->name, &out);
    (void)store_event(s->store, "preempt_drill", nd->cluster->cfg.name,
                      nd->name, 0, "preemption drill requested");
    char msg[160];
    snprintf(msg, sizeof msg, "node %s: preemption notice sent", nd->name);
    s_ok(s, rid, env->request_id, msg);
}

static void s_cluster_lock(sched_t *s, const char *rid, dr_env_t *env)
{
    if (s_not_admin(s, rid, env, "cluster lock"))
        return;
    const Drover__ClusterLock *l = env->cluster_lock;
    cluster_t *c = l->name ? sched_cluster_find(s, l->name) : NULL;
    if (!c) {
        ERR(DR_ENOENT, "unknown cluster '%s'", l->name ? l->name : "");
        return;
    }
    c->cfg.locked = l->locked ? 1 : 0;
    if (store_cluster_put(s->store, &c->cfg) < 0) {
        ERR(DR_EDB, "cannot store cluster %s", c->cfg.name);
        return;
    }
    (void)store_event(s->store, l->locked ? "locked" : "unlocked", c->cfg.name,
                      "", 0, "cluster %s %s", c->cfg.name,
                      l->locked ? "locked" : "unlocked");
    s_reply_cluster(s, rid, env->request_id, c);
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

static void s_cluster_events(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__ClusterEventsReq *q = env->cluster_events;
    if (q->name && *q->name && !sched_cluster_find(s, q->name) &&
        !dr_valid_name(q->name)) {
        ERR(DR_EINVAL, "invalid cluster name");
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
    if (store_event_list(s->store, q->name ? q->name : "", limit, s_event_cb,
                         &a) < 0) {
        ERR(DR_EDB, "cannot read events");
    } else {
        dr_env_t out;
        Drover__EventList el = DROVER__EVENT_LIST__INIT;
        el.n_events = a.n;
        el.events = a.ptrs;
        wire_env_init(&out, env->request_id);
        out.body_case = DROVER__ENVELOPE__BODY_EVENT_LIST_REPLY;
        out.event_list_reply = &el;
        s_reply(s, rid, &out);
    }
    for (size_t i = 0; i < a.n * 4; i++)
        free(a.strs[i]);
    free(a.strs);
    free(a.evs);
    free(a.ptrs);
}

/* ---- managed identity -----------------------------------------------------
 */

static void s_identity_assign(sched_t *s, const char *rid, dr_env_t *env)
{
    if (s_not_admin(s, rid, env, "identity assign"))
        return;
    const Drover__IdentityAssign *a = env->identity_assign;
    cluster_t *c = a->cluster ? sched_cluster_find(s, a->cluster) : NULL;
    if (!c) {
        ERR(DR_ENOENT, "unknown cluster '%s'", a->cluster ? a->cluster : "");
        return;
    }
    if (a->identity && *a->identity &&
        s_identity_norm(a->identity, NULL, 0) < 0) {
        ERR(DR_EINVAL, "identity must be '[system]' or a user-assigned "
                       "identity id (1-200 of A-Za-z0-9/_.:-)");
        return;
    }
    s_identity_set(&c->cfg, a->identity);
    if (store_cluster_put(s->store, &c->cfg) < 0) {
        ERR(DR_EDB, "cannot store cluster %s", c->cfg.name);
        return;
    }
    (void)store_event(s->store, "identity", c->cfg.name, "", 0,
                      "identity %s (%s) assigned by %s",
                      c->cfg.identity[0] ? c->cfg.identity : "none",
                      c->cfg.identity_principal, s->req.user);
    s_reply_cluster(s, rid, env->request_id, c);
}

static void s_identity_verify(sched_t *s, const char *rid, dr_env_t *env)
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
    wire_env_init(&out, env->request_id);
    out.body_case = DROVER__ENVELOPE__BODY_IDENTITY_CLAIMS;
    out.identity_claims = &m;
    s_reply(s, rid, &out);
}

/* ---- keys
 * -------------------------------------------------------------------- */

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
    wire_env_init(&out, req);
    out.body_case = DROVER__ENVELOPE__BODY_KEY_LIST_REPLY;
    out.key_list_reply = &kl;
    s_reply(s, rid, &out);
    free(ks);
    free(ptrs);
}

static void s_key_add(sched_t *s, const char *rid, dr_env_t *env)
{
    if (s_not_admin(s, rid, env, "keys add"))
        return;
    const Drover__KeyInfo *k = env->key_add->key;
    if (!k || !k->name || !dr_valid_name(k->name)) {
        ERR(DR_EINVAL, "invalid key name");
        return;
    }
    if (!k->public_key || !keys_valid_z85(k->public_key)) {
        ERR(DR_EINVAL, "the public key must be 40 characters of Z85");
        return;
    }
    int agent = k->kind && strcmp(k->kind, "agent") == 0;
    if (!agent && (!k->kind || strcmp(k->kind, "user") != 0)) {
        ERR(DR_EINVAL, "key kind must be user or agent");
        return;
    }
    int admin = 0;
    if (!agent) {
        if (k->role && strcmp(k->role, "admin") == 0)
            admin = 1;
        else if (!k->role || strcmp(k->role, "user") != 0) {
            ERR(DR_EINVAL, "role must be user or admin");
            return;
        }
    }
    int rc =
        auth_add(s->auth, k->name, agent ? PRINCIPAL_AGENT : PRINCIPAL_USER,
                 admin, k->public_key);
    if (rc == DR_EEXIST) {
        ERR(rc, "that public key already belongs to another name");
        return;
    }
    if (rc < 0) {
        ERR(rc, "cannot store the key");
        return;
    }
    (void)store_event(s->store, "key_added", "", agent ? k->name : "", 0,
                      "%s %s added%s%s by %s", agent ? "agent" : "user",
                      k->name, agent ? "" : " as ",
                      agent   ? ""
                      : admin ? "admin"
                              : "user",
                      s->req.user);
    s_reply_keys(s, rid, env->request_id);
}

static void s_key_revoke(sched_t *s, const char *rid, dr_env_t *env)
{
    if (s_not_admin(s, rid, env, "keys revoke"))
        return;
    const char *name = env->key_revoke->name;
    if (!name || !*name) {
        ERR(DR_EINVAL, "which key?");
        return;
    }
    int rc = auth_revoke(s->auth, name);
    if (rc == DR_ENOENT) {
        ERR(rc, "unknown key '%s'", name);
        return;
    }
    if (rc < 0) {
        ERR(rc, "cannot revoke '%s'", name);
        return;
    }
    (void)store_event(s->store, "key_revoked", "", "", 0,
                      "key %s revoked by %s", name, s->req.user);
    /* a node whose key is revoked is no longer trusted: it is lost now */
    node_t *n = sched_node_find(s, name);
    if (n) {
        char err[256];
        (void)n->cluster->provider->ops->destroy(
            n->cluster->provider, n->cluster, n->name, n->pid, err, sizeof err);
        sched_node_remove(s, n, "its key was revoked");
    }
    char msg[128];
    snprintf(msg, sizeof msg, "key %s revoked", name);
    s_ok(s, rid, env->request_id, msg);
}

static void s_key_list(sched_t *s, const char *rid, dr_env_t *env)
{
    if (s_not_admin(s, rid, env, "keys list"))
        return;
    s_reply_keys(s, rid, env->request_id);
}

/* ---- quotas ----------------------------------------------------------------
 */

static int s_family_known(const sched_t *s, const char *family)
{
    for (size_t i = 0; i < catalog_count(s->catalog); i++)
        if (dr_streq_ci(catalog_at(s->catalog, i)->family, family))
            return 1;
    return 0;
}

static void s_reply_quotas(sched_t *s, const char *rid, uint64_t req)
{
    /* every family of the catalog, with or without a limit */
    size_t nf = catalog_count(s->catalog);
    Drover__Quota *qs = dr_calloc(nf + 1, sizeof *qs);
    Drover__Quota **ptrs = dr_calloc(nf + 1, sizeof *ptrs);
    size_t n = 0;
    for (size_t i = 0; i < nf; i++) {
        const char *fam = catalog_at(s->catalog, i)->family;
        int seen = 0;
        for (size_t k = 0; k < n; k++)
            seen |= dr_streq_ci(qs[k].family, fam);
        if (seen)
            continue;
        Drover__Quota *q = &qs[n];
        drover__quota__init(q);
        q->family = (char *)fam;
        q->dedicated_cores = sched_quota_limit(s, fam, 0);
        q->lowpriority_cores = sched_quota_limit(s, fam, 1);
        q->dedicated_used = sched_cores_used(s, fam, 0);
        q->lowpriority_used = sched_cores_used(s, fam, 1);
        ptrs[n++] = q;
    }
    dr_env_t out;
    Drover__QuotaList ql = DROVER__QUOTA_LIST__INIT;
    ql.n_quotas = n;
    ql.quotas = ptrs;
    wire_env_init(&out, req);
    out.body_case = DROVER__ENVELOPE__BODY_QUOTA_LIST_REPLY;
    out.quota_list_reply = &ql;
    s_reply(s, rid, &out);
    free(qs);
    free(ptrs);
}

static void s_quota_set(sched_t *s, const char *rid, dr_env_t *env)
{
    if (s_not_admin(s, rid, env, "quota set"))
        return;
    const Drover__QuotaSet *q = env->quota_set;
    if (!q->family || !s_family_known(s, q->family)) {
        ERR(DR_EINVAL, "unknown VM family '%s' (see drover quota list)",
            q->family ? q->family : "");
        return;
    }
    if (q->cores < 0 || q->cores > 100000000) {
        ERR(DR_EINVAL, "cores must be between 0 and 100000000");
        return;
    }
    int low = 0;
    if (q->vm_priority && *q->vm_priority) {
        if (strcmp(q->vm_priority, "lowpriority") == 0)
            low = 1;
        else if (strcmp(q->vm_priority, "dedicated") != 0) {
            ERR(DR_EINVAL, "vm priority must be dedicated or lowpriority");
            return;
        }
    }
    const char *fam = NULL;
    for (size_t i = 0; i < catalog_count(s->catalog) && !fam; i++)
        if (dr_streq_ci(catalog_at(s->catalog, i)->family, q->family))
            fam = catalog_at(s->catalog, i)->family;
    if (sched_quota_set(s, fam, q->cores, low) < 0) {
        ERR(DR_EDB, "cannot store the quota");
        return;
    }
    (void)store_event(s->store, "quota_set", "", "", 0,
                      "%s %s quota: %lld cores", fam,
                      low ? "low-priority" : "dedicated", (long long)q->cores);
    s_reply_quotas(s, rid, env->request_id);
}

static void s_quota_list(sched_t *s, const char *rid, dr_env_t *env)
{
    s_reply_quotas(s, rid, env->request_id);
}

static const struct {
    int body;
    client_fn fn;
} s_table[] = {
    {DROVER__ENVELOPE__BODY_CLUSTER_CREATE, s_cluster_create},
    {DROVER__ENVELOPE__BODY_CLUSTER_UPDATE, s_cluster_update},
    {DROVER__ENVELOPE__BODY_CLUSTER_SHOW, s_cluster_show},
    {DROVER__ENVELOPE__BODY_CLUSTER_LIST, s_cluster_list},
    {DROVER__ENVELOPE__BODY_CLUSTER_DELETE, s_cluster_delete},
    {DROVER__ENVELOPE__BODY_JOB_SUBMIT, s_job_submit},
    {DROVER__ENVELOPE__BODY_JOB_SHOW, s_job_show},
    {DROVER__ENVELOPE__BODY_JOB_LIST, s_job_list},
    {DROVER__ENVELOPE__BODY_JOB_CANCEL, s_job_cancel},
    {DROVER__ENVELOPE__BODY_JOB_LOGS, s_job_logs},
    {DROVER__ENVELOPE__BODY_NODE_LIST, s_node_list},
    {DROVER__ENVELOPE__BODY_NODE_SHOW, s_node_show},
    {DROVER__ENVELOPE__BODY_NODE_PREEMPT, s_node_preempt},
    {DROVER__ENVELOPE__BODY_CLUSTER_LOCK, s_cluster_lock},
    {DROVER__ENVELOPE__BODY_CLUSTER_EVENTS, s_cluster_events},
    {DROVER__ENVELOPE__BODY_QUOTA_SET, s_quota_set},
    {DROVER__ENVELOPE__BODY_QUOTA_LIST, s_quota_list},
    {DROVER__ENVELOPE__BODY_KEY_ADD, s_key_add},
    {DROVER__ENVELOPE__BODY_KEY_REVOKE, s_key_revoke},
    {DROVER__ENVELOPE__BODY_KEY_LIST, s_key_list},
    {DROVER__ENVELOPE__BODY_IDENTITY_ASSIGN, s_identity_assign},
    {DROVER__ENVELOPE__BODY_IDENTITY_VERIFY, s_identity_verify},
};

void api_client_dispatch(sched_t *s, const char *rid, dr_env_t *env)
{
    for (size_t i = 0; i < sizeof s_table / sizeof s_table[0]; i++) {
        if ((int)env->body_case == s_table[i].body) {
            s_table[i].fn(s, rid, env);
            return;
        }
    }
    log_warn("client: unexpected message %s", wire_body_name(env->body_case));
    ERR(DR_EPROTO, "message %s is not a client request",
        wire_body_name(env->body_case));
}
