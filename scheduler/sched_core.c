/* sched_core.c - the scheduler's model and its single-threaded event loop.
 *
 * The loop's phases, in order, every pass (libuv style):
 *   1. poll   - zmq_poll over the agent ROUTER, the client ROUTER and the
 *               wake pipe, with the time to the next timer as timeout;
 *   2. begin  - open the pass's transaction;
 *   3. drain  - bounded, non-blocking reads from both sockets, each message
 *               validated and dispatched through its RPC table;
 *   4. timers - lost nodes, start timeouts, autoscaler, child reaping;
 *   5. place  - placement passes for clusters whose capacity grew;
 *   6. commit - one fsync'd commit for everything the pass changed;
 *   7. flush  - only now do replies and agent commands leave.
 * Nothing here blocks except the poll and the commit.
 */
#include "sched_core.h"
#include "api_agent.h"
#include "auth.h"
#include "identity.h"
#include "api_client.h"
#include "autoscaler.h"
#include "dr_err.h"
#include "log.h"
#include "placement.h"
#include "provider.h"
#include "queue.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#define DRAIN_BUDGET 2000

static const char *s_job_states[] = {"queued",    "starting", "running",
                                     "succeeded", "failed",   "canceled"};

const char *job_state_name(job_state_t s)
{
    return (unsigned)s < 6 ? s_job_states[s] : "unknown";
}

int job_state_parse(const char *s, job_state_t *out)
{
    for (int i = 0; i < 6; i++) {
        if (s && strcmp(s, s_job_states[i]) == 0) {
            *out = (job_state_t)i;
            return 0;
        }
    }
    return DR_EINVAL;
}

int job_state_terminal(job_state_t s)
{
    return s == JOB_SUCCEEDED || s == JOB_FAILED || s == JOB_CANCELED;
}

int node_is_idle(const node_t *n)
{
    return n->njobs == 0 && !n->resv_job; /* held for a gang: not idle */
}

const char *node_state_name(const node_t *n)
{
    switch (n->state) {
    case NODE_PREPARING:
        return "preparing";
    case NODE_READY:
        return n->njobs ? "running" : "idle";
    case NODE_LEAVING:
        return "leaving";
    case NODE_UNKNOWN:
        return "unknown";
    }
    return "unknown";
}

uint32_t node_free_gpus(const node_t *n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n->ngpus; i++)
        k += n->gpus[i].healthy && !n->gpus[i].holder;
    return k;
}

static node_gpu_t *s_gpu_by_index(node_t *n, uint32_t index)
{
    for (uint32_t i = 0; i < n->ngpus; i++)
        if (n->gpus[i].index == index)
            return &n->gpus[i];
    return NULL;
}

void sched_node_set_gpus(sched_t *self, node_t *n, Drover__GpuInfo **gpus,
                         size_t ngpus)
{
    if (ngpus > DR_MAX_GPUS)
        ngpus = DR_MAX_GPUS;
    int was_healthy[DR_MAX_GPUS] = {0};
    uint32_t was_index[DR_MAX_GPUS] = {0};
    uint32_t was_n = n->ngpus;
    for (uint32_t i = 0; i < was_n; i++) {
        was_healthy[i] = n->gpus[i].healthy;
        was_index[i] = n->gpus[i].index;
    }
    /* most nodes have none: only a node with GPUs pays for their table */
    if (ngpus && !n->gpus)
        n->gpus = dr_calloc(DR_MAX_GPUS, sizeof *n->gpus);
    if (n->gpus)
        memset(n->gpus, 0, DR_MAX_GPUS * sizeof *n->gpus);
    n->ngpus = 0;
    for (size_t i = 0; i < ngpus; i++) {
        const Drover__GpuInfo *g = gpus[i];
        if (!g || s_gpu_by_index(n, g->index))
            continue; /* duplicates are dropped: an index names one GPU */
        node_gpu_t *d = &n->gpus[n->ngpus++];
        d->index = g->index;
        snprintf(d->uuid, sizeof d->uuid, "%s", g->uuid ? g->uuid : "");
        snprintf(d->name, sizeof d->name, "%s", g->name ? g->name : "");
        d->memory_total_mb = g->memory_total_mb;
        d->memory_used_mb = g->memory_used_mb;
        d->utilization_gpu = g->utilization_gpu;
        d->utilization_memory = g->utilization_memory;
        d->temperature_c = g->temperature_c;
        d->power_mw = g->power_mw;
        d->power_limit_mw = g->power_limit_mw;
        d->ecc_uncorrected = g->ecc_uncorrected;
        d->healthy = g->healthy;
        for (uint32_t k = 0; k < was_n; k++)
            if (was_index[k] == d->index && !was_healthy[k] && d->healthy)
                placement_capacity_grew(n->cluster); /* back in service */
    }
    /* holders follow the jobs' assignments; a job whose GPU vanished or
     * turned unhealthy fails over */
    job_t *lost[DR_MAX_GPUS];
    char why[DR_MAX_GPUS][160];
    size_t nlost = 0;
    for (size_t k = 0; k < n->njobs; k++) {
        job_t *j = n->jobs[k];
        const job_task_t *t = job_task_on(j, n);
        for (uint32_t i = 0; t && i < t->n_gpu_idx; i++) {
            node_gpu_t *g = s_gpu_by_index(n, t->gpu_idx[i]);
            if (g && g->healthy) {
                g->holder = j;
                continue;
            }
            if (nlost < DR_MAX_GPUS) {
                snprintf(why[nlost], sizeof why[nlost],
                         g ? "gpu %u on node %s became unhealthy"
                           : "gpu %u on node %s disappeared",
                         t->gpu_idx[i], n->name);
                lost[nlost++] = j;
            }
            break;
        }
    }
    for (size_t k = 0; k < nlost; k++) {
        (void)store_event(self->store, "gpu_unhealthy", n->cluster->cfg.name,
                          n->name, lost[k]->id, "%s", why[k]);
        sched_task_cancel(self, lost[k], why[k]);
        sched_job_requeue(self, lost[k], why[k]);
    }
}

/* ---- outboxes --------------------------------------------------------- */

static void s_outbox_push(outbox_t *ob, const char *rid, const dr_env_t *env)
{
    if (ob->n == ob->cap) {
        ob->cap = ob->cap ? ob->cap * 2 : 64;
        ob->msgs = dr_realloc(ob->msgs, ob->cap * sizeof *ob->msgs);
    }
    outmsg_t *m = &ob->msgs[ob->n++];
    m->rid = dr_strdup(rid);
    m->len = drover__envelope__get_packed_size(env);
    m->data = dr_malloc(m->len);
    drover__envelope__pack(env, m->data);
}

static void s_outbox_flush(void *sock, outbox_t *ob, const char *what)
{
    for (size_t i = 0; i < ob->n; i++) {
        outmsg_t *m = &ob->msgs[i];
        unsigned char rid[DR_MAX_ROUTING_ID];
        size_t ridlen = wire_rid_decode(m->rid, rid);
        if (zmq_send(sock, rid, ridlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(sock, m->data, m->len, ZMQ_DONTWAIT) < 0)
            log_debug("%s %s: message dropped: %s", what, m->rid,
                      zmq_strerror(errno));
        free(m->rid);
        free(m->data);
    }
    ob->n = 0;
}

static void s_outbox_free(outbox_t *ob)
{
    for (size_t i = 0; i < ob->n; i++) {
        free(ob->msgs[i].rid);
        free(ob->msgs[i].data);
    }
    free(ob->msgs);
    memset(ob, 0, sizeof *ob);
}

void sched_reply_client(sched_t *self, const char *rid, const dr_env_t *env)
{
    s_outbox_push(&self->client_out, rid, env);
}

void sched_send_agent(sched_t *self, const char *node, const dr_env_t *env)
{
    s_outbox_push(&self->agent_out, node, env);
}

static void s_verror(sched_t *self, outbox_t *ob, const char *rid, uint64_t req,
                     int code, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    dr_env_t env;
    Drover__Error err = DROVER__ERROR__INIT;
    wire_env_init(&env, req);
    err.code = code;
    err.message = msg;
    env.body_case = DROVER__ENVELOPE__BODY_ERROR;
    env.error = &err;
    (void)self;
    s_outbox_push(ob, rid, &env);
}

void sched_client_error(sched_t *self, const char *rid, uint64_t req, int code,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_verror(self, &self->client_out, rid, req, code, fmt, ap);
    va_end(ap);
}

void sched_agent_error(sched_t *self, const char *rid, uint64_t req, int code,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_verror(self, &self->agent_out, rid, req, code, fmt, ap);
    va_end(ap);
}

/* ---- model -------------------------------------------------------------- */

cluster_t *sched_cluster_find(sched_t *self, const char *name)
{
    for (cluster_t *c = self->clusters; c; c = c->next)
        if (dr_streq_ci(c->cfg.name, name))
            return c;
    return NULL;
}

node_t *sched_node_find(sched_t *self, const char *name)
{
    return name ? dict_get_str(self->nodes, name) : NULL;
}

job_t *sched_job_find(sched_t *self, uint64_t id)
{
    return dict_get_u64(self->jobs, id);
}

/* What a provider says of finished work: written as an event; a failure
 * goes on the cluster, and a node whose creation failed is dropped. */
static void s_provider_report(void *arg, const char *cluster, const char *node,
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
            sched_node_remove(self, gone, "released by the provider");
        return;
    }
    if (!c)
        return;
    autoscaler_set_error(self, c, "provider %s: %s %s failed: %s",
                         c->provider->ops->name, op, node, detail);
    if (strcmp(op, "create") == 0)
        autoscaler_create_failed(c, dr_mono_ms());
    node_t *n = sched_node_find(self, node);
    if (n && n->cluster == c && strcmp(op, "create") == 0 &&
        n->state == NODE_PREPARING)
        sched_node_remove(self, n, "provider could not create it");
}

static provider_t *s_cluster_provider(sched_t *self, const store_cluster_t *c)
{
    provider_t *p = NULL;
    if (strcmp(c->provider, "exec") == 0)
        p = provider_exec_new(c->resume_program, c->suspend_program,
                              self->opts.agent_bin, self->opts.agent_connect,
                              self->opts.state_dir);
    else if (strcmp(c->provider, "http") == 0)
        p = provider_http_new(c->provider_url, self->opts.agent_connect,
                              self->opts.state_dir);
    else
        return self->local;
    if (p) {
        p->report = s_provider_report;
        p->report_arg = self;
    }
    return p;
}

static void s_cluster_free(sched_t *self, cluster_t *c)
{
    if (c->provider != self->local)
        provider_destroy(&c->provider);
    queue_destroy(&c->queue);
    free(c->nodes);
    free(c);
}

int sched_cluster_add(sched_t *self, const store_cluster_t *cfg,
                      cluster_t **out)
{
    const vm_size_t *vm = catalog_find(self->catalog, cfg->vm_size);
    if (!vm)
        return DR_EINVAL;
    provider_t *p = s_cluster_provider(self, cfg);
    if (!p)
        return DR_EPROVIDER;
    cluster_t *c = dr_calloc(1, sizeof *c);
    c->cfg = *cfg;
    c->vm = vm;
    c->queue = queue_new();
    c->provider = p;
    c->dirty = 1;
    cluster_t **pp = &self->clusters;
    while (*pp)
        pp = &(*pp)->next;
    *pp = c;
    *out = c;
    return 0;
}

static void s_job_free(job_t *j)
{
    free(j->fail_reason);
    free(j->tasks);
    free(j->gpu_assign);
    free(j->name);
    free(j->reason);
    free(j->owner);
    free(j->spec);
    free(j);
}

void sched_cluster_remove(sched_t *self, cluster_t *c)
{
    while (c->nnodes)
        sched_node_remove(self, c->nodes[c->nnodes - 1], "cluster removed");
    job_t *j;
    while ((j = queue_first(c->queue))) {
        queue_remove(c->queue, j);
        dict_del_u64(self->jobs, j->id);
        s_job_free(j);
    }
    cluster_t **pp = &self->clusters;
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    s_cluster_free(self, c);
}

node_t *sched_node_add(sched_t *self, cluster_t *c, const char *name,
                       node_state_t state)
{
    node_t *n = dr_calloc(1, sizeof *n);
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->vm_size, sizeof n->vm_size, "%s", c->vm->name);
    n->cluster = c;
    n->state = state;
    n->cpus = c->vm->vcpus;
    n->memory_mb = c->vm->memory_mb;
    n->last_seen = n->idle_since = n->requested_at = dr_mono_ms();
    n->created_at_ms = dr_now_ms();
    if (c->nnodes == c->nodes_cap) {
        c->nodes_cap = c->nodes_cap ? c->nodes_cap * 2 : 8;
        c->nodes = dr_realloc(c->nodes, c->nodes_cap * sizeof *c->nodes);
    }
    c->nodes[c->nnodes++] = n;
    dict_put_str(self->nodes, n->name, n);
    return n;
}

void sched_node_remove(sched_t *self, node_t *n, const char *why)
{
    char reason[200];
    snprintf(reason, sizeof reason, "node %s removed: %s", n->name, why);
    while (n->njobs)
        sched_job_requeue(self, n->jobs[n->njobs - 1], reason);
    cluster_t *c = n->cluster;
    for (size_t i = 0; i < c->nnodes; i++) {
        if (c->nodes[i] == n) {
            memmove(&c->nodes[i], &c->nodes[i + 1],
                    (c->nnodes - i - 1) * sizeof *c->nodes);
            c->nnodes--;
            break;
        }
    }
    dict_del_str(self->nodes, n->name);
    if (store_node_delete(self->store, n->name) < 0)
        log_error("node %s: cannot delete row", n->name);
    if (self->auth) {
        /* its key dies with it: a node name is never trusted twice */
        (void)auth_revoke_agent(self->auth, n->name);
        char *key =
            dr_asprintf("%s/nodes/%s.key", self->opts.state_dir, n->name);
        (void)unlink(key);
        free(key);
    }
    (void)store_event(self->store, "node_removed", c->cfg.name, n->name, 0,
                      "%s", reason);
    log_info("%s", reason);
    free(n->jobs);
    free(n->gpus);
    free(n);
}

void sched_job_row(const job_t *j, store_job_t *row)
{
    memset(row, 0, sizeof *row);
    row->id = j->id;
    snprintf(row->name, sizeof row->name, "%s", j->name);
    snprintf(row->cluster, sizeof row->cluster, "%s", j->cluster->cfg.name);
    snprintf(row->state, sizeof row->state, "%s", job_state_name(j->state));
    row->priority = j->priority;
    row->cpus = j->cpus;
    row->memory_mb = j->memory_mb;
    row->nodes = j->nodes;
    row->procs_per_node = j->procs_per_node;
    row->gpus = j->gpus;
    row->max_retries = j->max_retries;
    row->time_limit_s = j->time_limit_s;
    row->attempts = j->attempts;
    row->exit_code = j->exit_code;
    row->has_exit_code = j->has_exit_code;
    snprintf(row->reason, sizeof row->reason, "%s", j->reason);
    size_t off = 0;
    for (uint32_t i = 0; i < j->ntasks && off < sizeof row->node_names; i++)
        off += (size_t)snprintf(row->node_names + off,
                                sizeof row->node_names - off, "%s%s",
                                i ? "," : "", j->tasks[i].node->name);
    snprintf(row->owner, sizeof row->owner, "%s", j->owner);
    snprintf(row->gpu_indices, sizeof row->gpu_indices, "%s",
             j->gpu_assign ? j->gpu_assign : "");
    row->preemptions = j->preemptions;
    row->submitted_at_ms = j->submitted_at_ms;
    row->started_at_ms = j->started_at_ms;
    row->ended_at_ms = j->ended_at_ms;
    row->spec = j->spec;
    row->spec_len = j->spec_len;
}

int sched_job_save(sched_t *self, job_t *j)
{
    store_job_t row;
    sched_job_row(j, &row);
    int rc = store_job_update(self->store, &row);
    if (rc < 0)
        log_error("job %llu: cannot save state", (unsigned long long)j->id);
    return rc;
}

static void s_set_reason(job_t *j, const char *reason)
{
    free(j->reason);
    j->reason = dr_strdup(reason ? reason : "");
}

job_task_t *job_task_on(job_t *j, const node_t *n)
{
    for (uint32_t i = 0; i < j->ntasks; i++)
        if (j->tasks[i].node == n)
            return &j->tasks[i];
    return NULL;
}

node_t *job_head(const job_t *j)
{
    return j->ntasks ? j->tasks[0].node : NULL;
}

/* Gives each task of j the lowest-indexed free healthy GPUs of its node
 * (placement checked that there are enough) and records
 * "index=uuid,..." per node, ';' between nodes. */
static void s_gpus_assign(job_t *j)
{
    free(j->gpu_assign);
    j->gpu_assign = NULL;
    if (!j->gpus)
        return;
    dr_buf_t b = {0};
    for (uint32_t k = 0; k < j->ntasks; k++) {
        job_task_t *t = &j->tasks[k];
        node_t *n = t->node;
        t->n_gpu_idx = 0;
        if (k)
            dr_buf_printf(&b, ";");
        for (uint32_t i = 0; i < n->ngpus && t->n_gpu_idx < j->gpus; i++) {
            node_gpu_t *g = &n->gpus[i];
            if (!g->healthy || g->holder)
                continue;
            g->holder = j;
            dr_buf_printf(&b, "%s%u=%s", t->n_gpu_idx ? "," : "", g->index,
                          g->uuid);
            t->gpu_idx[t->n_gpu_idx++] = g->index;
        }
    }
    j->gpu_assign = b.data ? b.data : dr_strdup("");
}

/* Parses a stored "index=uuid,...;..." back into the tasks' indices. */
static void s_gpus_parse(job_t *j, const char *s)
{
    free(j->gpu_assign);
    j->gpu_assign = *s ? dr_strdup(s) : NULL;
    for (uint32_t k = 0; k < j->ntasks && *s; k++) {
        job_task_t *t = &j->tasks[k];
        t->n_gpu_idx = 0;
        const char *group_end = strchr(s, ';');
        if (!group_end)
            group_end = s + strlen(s);
        while (s < group_end && t->n_gpu_idx < DR_MAX_GPUS) {
            char *end = NULL;
            unsigned long v = strtoul(s, &end, 10);
            if (end == s)
                break;
            t->gpu_idx[t->n_gpu_idx++] = (uint32_t)v;
            const char *comma = strchr(end, ',');
            if (!comma || comma > group_end)
                break;
            s = comma + 1;
        }
        s = *group_end ? group_end + 1 : group_end;
    }
}

static void s_node_bind(node_t *n, job_t *j)
{
    if (n->njobs == n->jobs_cap) {
        n->jobs_cap = n->jobs_cap ? n->jobs_cap * 2 : 4;
        n->jobs = dr_realloc(n->jobs, n->jobs_cap * sizeof *n->jobs);
    }
    n->jobs[n->njobs++] = j;
    n->cpus_used += j->cpus;
    n->memory_used_mb += j->memory_mb;
    n->resv_job = 0;
}

void sched_node_unbind(node_t *n, job_t *j)
{
    for (uint32_t i = 0; i < n->ngpus; i++)
        if (n->gpus[i].holder == j)
            n->gpus[i].holder = NULL;
    for (size_t i = 0; i < n->njobs; i++) {
        if (n->jobs[i] == j) {
            n->jobs[i] = n->jobs[--n->njobs];
            n->cpus_used -= j->cpus;
            n->memory_used_mb -= j->memory_mb;
            break;
        }
    }
    if (n->njobs == 0)
        n->idle_since = dr_mono_ms();
}

/* Unbinds from every node, keeping the node names ("a,b") for the record.
 * The tasks of a gang that are still alive elsewhere are told to stop:
 * one node's failure ends the job on all of them. */
static void s_unbind(sched_t *self, job_t *j, const char *why, char *last_nodes,
                     size_t cap)
{
    last_nodes[0] = '\0';
    if (!j->ntasks)
        return;
    if (j->ntasks > 1)
        sched_task_cancel(self, j, why && *why ? why : "job ended");
    size_t off = 0;
    for (uint32_t i = 0; i < j->ntasks; i++) {
        node_t *n = j->tasks[i].node;
        if (off < cap)
            off += (size_t)snprintf(last_nodes + off, cap - off, "%s%s",
                                    i ? "," : "", n->name);
        sched_node_unbind(n, j);
    }
    if (j->ntasks == 1)
        memcpy(j->tail_off, j->tasks[0].out_off, sizeof j->tail_off);
    free(j->tasks);
    j->tasks = NULL;
    j->ntasks = 0;
    free(j->fail_reason); /* a worker's failure belongs to this attempt */
    j->fail_reason = NULL;
    placement_capacity_grew(j->cluster);
}

/* One tasks row per node of a "a,b,c" list. */
static void s_task_rows(sched_t *self, const job_t *j, const char *nodes,
                        const char *state, int exit_code, const char *reason)
{
    while (*nodes) {
        size_t len = strcspn(nodes, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)len, nodes);
        (void)store_task_put(self->store, j->id, j->attempts, name, state,
                             exit_code, reason, dr_now_ms());
        nodes += len + (nodes[len] == ',');
    }
}

void sched_job_finish(sched_t *self, job_t *j, job_state_t st, int has_exit,
                      int exit_code, const char *reason)
{
    char node[sizeof((store_job_t *)0)->node_names];
    if (j->state == JOB_QUEUED && j->q_level) {
        queue_remove(j->cluster->queue, j);
        placement_capacity_grew(j->cluster); /* a reservation may go */
    }
    s_unbind(self, j, reason, node, sizeof node);
    j->state = st;
    j->has_exit_code = has_exit;
    j->exit_code = exit_code;
    j->ended_at_ms = dr_now_ms();
    s_set_reason(j, reason);
    store_job_t row;
    sched_job_row(j, &row);
    if (node[0])
        snprintf(row.node_names, sizeof row.node_names, "%s", node);
    if (store_job_update(self->store, &row) < 0)
        log_error("job %llu: cannot save final state",
                  (unsigned long long)j->id);
    if (node[0] && j->attempts)
        s_task_rows(self, j, node, job_state_name(st), exit_code, j->reason);
    (void)store_event(self->store, "job_ended", j->cluster->cfg.name, node,
                      j->id, "job %llu %s%s%s", (unsigned long long)j->id,
                      job_state_name(st), *j->reason ? ": " : "", j->reason);
    log_info("job %llu %s%s%s (attempt %u%s%s)", (unsigned long long)j->id,
             job_state_name(st), *j->reason ? ": " : "", j->reason, j->attempts,
             node[0] ? ", node " : "", node);
    dict_del_u64(self->jobs, j->id);
    s_job_free(j);
}

static void s_requeue(sched_t *self, job_t *j, const char *why, int preempted)
{
    char node[sizeof((store_job_t *)0)->node_names];
    if (j->cancel_requested) {
        sched_job_finish(self, j, JOB_CANCELED, 0, 0, "canceled by user");
        return;
    }
    if (preempted && ++j->preemptions > DR_MAX_PREEMPTIONS) {
        char reason[256];
        snprintf(reason, sizeof reason, "%s; preempted %u times", why,
                 j->preemptions);
        sched_job_finish(self, j, JOB_FAILED, 0, 0, reason);
        return;
    }
    /* attempts lost to preemption are not failures */
    if (!preempted && j->attempts - j->preemptions > j->max_retries) {
        char reason[256];
        snprintf(reason, sizeof reason, "%s; no retries left (max %u)", why,
                 j->max_retries);
        sched_job_finish(self, j, JOB_FAILED, 0, 0, reason);
        return;
    }
    s_unbind(self, j, why, node, sizeof node);
    if (node[0])
        s_task_rows(self, j, node, "lost", 0, why);
    j->state = JOB_QUEUED;
    free(j->gpu_assign);
    j->gpu_assign = NULL;
    s_set_reason(j, why);
    queue_push(j->cluster->queue, j);
    placement_capacity_grew(j->cluster);
    (void)sched_job_save(self, j);
    (void)store_event(self->store, "job_requeued", j->cluster->cfg.name, node,
                      j->id, "job %llu requeued after attempt %u: %s",
                      (unsigned long long)j->id, j->attempts, why);
    log_warn("job %llu requeued after attempt %u: %s",
             (unsigned long long)j->id, j->attempts, why);
}

void sched_job_requeue(sched_t *self, job_t *j, const char *why)
{
    s_requeue(self, j, why, 0);
}

void sched_job_requeue_preempted(sched_t *self, job_t *j, const char *why)
{
    s_requeue(self, j, why, 1);
}

void sched_node_preempted(sched_t *self, node_t *n, const char *why)
{
    cluster_t *c = n->cluster;
    (void)store_event(self->store, "node_preempted", c->cfg.name, n->name, 0,
                      "node %s preempted: %s", n->name, why);
    log_warn("node %s preempted: %s", n->name, why);
    char reason[200];
    snprintf(reason, sizeof reason, "node %s preempted", n->name);
    while (n->njobs)
        sched_job_requeue_preempted(self, n->jobs[n->njobs - 1], reason);
    if (n->state == NODE_LEAVING && n->preempted)
        return;
    n->state = NODE_LEAVING;
    n->preempted = 1;
    n->requested_at = dr_mono_ms();
    (void)store_node_set_state(self->store, n->name, "leaving");
    char err[256] = "";
    if (c->provider->ops->destroy(c->provider, c, n->name, n->pid, err,
                                  sizeof err) < 0)
        log_warn("node %s: provider delete: %s", n->name, err);
}

int64_t sched_quota_limit(const sched_t *self, const char *family,
                          int lowpriority)
{
    for (size_t i = 0; i < self->nquotas; i++)
        if (dr_streq_ci(self->quotas[i].family, family))
            return lowpriority ? self->quotas[i].lowpriority
                               : self->quotas[i].dedicated;
    return -1;
}

int64_t sched_cores_used(const sched_t *self, const char *family,
                         int lowpriority)
{
    int64_t used = 0;
    for (const cluster_t *c = self->clusters; c; c = c->next) {
        if (!dr_streq_ci(c->vm->family, family) ||
            (strcmp(c->cfg.vm_priority, "lowpriority") == 0) != !!lowpriority)
            continue;
        for (size_t i = 0; i < c->nnodes; i++)
            used += c->nodes[i]->cpus ? c->nodes[i]->cpus : c->vm->vcpus;
    }
    return used;
}

int sched_quota_set(sched_t *self, const char *family, int64_t cores,
                    int lowpriority)
{
    quota_t *q = NULL;
    for (size_t i = 0; i < self->nquotas; i++)
        if (dr_streq_ci(self->quotas[i].family, family))
            q = &self->quotas[i];
    if (!q) {
        self->quotas = dr_realloc(self->quotas,
                                  (self->nquotas + 1) * sizeof *self->quotas);
        q = &self->quotas[self->nquotas++];
        snprintf(q->family, sizeof q->family, "%s", family);
        q->dedicated = q->lowpriority = -1;
    }
    if (lowpriority)
        q->lowpriority = cores;
    else
        q->dedicated = cores;
    self->next_autoscale = 0;
    return store_quota_put(self->store, q->family, q->dedicated,
                           q->lowpriority);
}

/* Sends the TaskStart of task `rank` of a bound job. */
static void s_task_send_start(sched_t *self, job_t *j, uint32_t rank)
{
    Drover__Job *spec = drover__job__unpack(NULL, j->spec_len, j->spec);
    if (!spec) {
        log_error("job %llu: stored spec is corrupt",
                  (unsigned long long)j->id);
        return;
    }
    job_task_t *t = &j->tasks[rank];
    char *hosts[DR_MAX_JOB_NODES];
    for (uint32_t i = 0; i < j->ntasks; i++)
        hosts[i] = j->tasks[i].node->name;
    dr_env_t env;
    Drover__TaskStart ts = DROVER__TASK_START__INIT;
    wire_env_init(&env, 0);
    ts.job_id = j->id;
    ts.attempt = j->attempts;
    ts.n_argv = spec->n_argv;
    ts.argv = spec->argv;
    ts.n_env = spec->n_env;
    ts.env = spec->env;
    ts.cpus = j->cpus;
    ts.memory_mb = j->memory_mb;
    ts.time_limit_s = j->time_limit_s;
    ts.image = spec->image;
    ts.job_name = j->name;
    ts.nodes = j->ntasks;
    ts.node_rank = rank;
    ts.procs_per_node = j->procs_per_node;
    ts.distribution = j->mpi ? "mpi" : "";
    if (j->ntasks > 1) {
        ts.n_hosts = j->ntasks;
        ts.hosts = hosts;
    }
    ts.n_gpu_indices = t->n_gpu_idx;
    ts.gpu_indices = t->gpu_idx;
    env.body_case = DROVER__ENVELOPE__BODY_TASK_START;
    env.task_start = &ts;
    sched_send_agent(self, t->node->name, &env);
    t->started = 1;
    drover__job__free_unpacked(spec, NULL);
}

/* The readiness barrier: an MPI head starts once this is true. */
static int s_workers_up(const job_t *j)
{
    for (uint32_t i = 1; i < j->ntasks; i++)
        if (!j->tasks[i].running && !j->tasks[i].ended)
            return 0;
    return 1;
}

void sched_job_send_starts(sched_t *self, job_t *j)
{
    int workers_up = s_workers_up(j);
    for (uint32_t i = 0; i < j->ntasks; i++) {
        job_task_t *t = &j->tasks[i];
        if (t->running || t->ended || t->started)
            continue;
        if (j->mpi && i == 0 && !workers_up)
            continue; /* mpirun waits for every node's task */
        s_task_send_start(self, j, i);
    }
}

int sched_job_start(sched_t *self, job_t *j, node_t *const *nodes,
                    uint32_t count)
{
    queue_remove(j->cluster->queue, j);
    j->tasks = dr_calloc(count, sizeof *j->tasks);
    j->ntasks = count;
    for (uint32_t i = 0; i < count; i++) {
        j->tasks[i].node = nodes[i];
        s_node_bind(nodes[i], j);
    }
    s_gpus_assign(j);
    j->attempts++;
    j->state = JOB_STARTING;
    j->start_deadline = dr_mono_ms() + self->opts.start_timeout_ms;
    s_set_reason(j, "");
    (void)sched_job_save(self, j);
    for (uint32_t i = 0; i < count; i++)
        (void)store_task_put(self->store, j->id, j->attempts, nodes[i]->name,
                             "starting", 0, "", dr_now_ms());
    if (j->attempts > 1) {
        char *path = dr_asprintf("%s/logs/%llu.log", self->opts.state_dir,
                                 (unsigned long long)j->id);
        int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd >= 0) {
            char line[160];
            int len = snprintf(
                line, sizeof line, "[drover: attempt %u on node %s%s]\n",
                j->attempts, nodes[0]->name, count > 1 ? " and others" : "");
            (void)dr_write_all(fd, line, (size_t)len);
            close(fd);
        }
        free(path);
    }
    sched_job_send_starts(self, j);
    log_info("job %llu attempt %u placed on node %s%s",
             (unsigned long long)j->id, j->attempts, nodes[0]->name,
             count > 1 ? " (head of a gang)" : "");
    return 0;
}

void sched_task_cancel(sched_t *self, job_t *j, const char *reason)
{
    dr_env_t env;
    Drover__TaskCancel tc = DROVER__TASK_CANCEL__INIT;
    wire_env_init(&env, 0);
    tc.job_id = j->id;
    tc.attempt = j->attempts;
    tc.reason = (char *)reason;
    env.body_case = DROVER__ENVELOPE__BODY_TASK_CANCEL;
    env.task_cancel = &tc;
    for (uint32_t i = 0; i < j->ntasks; i++)
        if (!j->tasks[i].ended)
            sched_send_agent(self, j->tasks[i].node->name, &env);
}

/* ---- loading after a restart -------------------------------------------- */

static void s_load_quota(void *arg, const char *family, int64_t dedicated,
                         int64_t lowpriority)
{
    sched_t *self = arg;
    self->quotas =
        dr_realloc(self->quotas, (self->nquotas + 1) * sizeof *self->quotas);
    quota_t *q = &self->quotas[self->nquotas++];
    snprintf(q->family, sizeof q->family, "%s", family ? family : "");
    q->dedicated = dedicated;
    q->lowpriority = lowpriority;
}

static void s_load_cluster(void *arg, const store_cluster_t *cfg)
{
    sched_t *self = arg;
    cluster_t *c = NULL;
    if (sched_cluster_add(self, cfg, &c) < 0) {
        log_error("cluster %s: vm size %s is not in the catalog; skipped",
                  cfg->name, cfg->vm_size);
        return;
    }
    c->target_nodes = cfg->min_nodes;
}

static void s_load_node(void *arg, const store_node_t *row)
{
    sched_t *self = arg;
    cluster_t *c = sched_cluster_find(self, row->cluster);
    if (!c) {
        (void)store_node_delete(self->store, row->name);
        return;
    }
    node_state_t st = NODE_UNKNOWN;
    if (strcmp(row->state, "preparing") == 0)
        st = NODE_PREPARING;
    else if (strcmp(row->state, "leaving") == 0)
        st = NODE_LEAVING;
    node_t *n = sched_node_add(self, c, row->name, st);
    n->cpus = row->cpus;
    n->memory_mb = row->memory_mb;
    n->pid = row->pid;
    n->created_at_ms = row->created_at_ms;
    snprintf(n->vm_size, sizeof n->vm_size, "%s", row->vm_size);
    /* keep counting the node sequence from the names we already used */
    size_t cl = strlen(c->cfg.name);
    if (strncmp(row->name, c->cfg.name, cl) == 0 && row->name[cl] == '-') {
        unsigned long long k = strtoull(row->name + cl + 1, NULL, 10);
        if (k > c->node_seq)
            c->node_seq = k;
    }
}

static int s_load_job(void *arg, const store_job_t *row)
{
    sched_t *self = arg;
    cluster_t *c = sched_cluster_find(self, row->cluster);
    if (!c) {
        log_warn("job %llu: cluster %s is gone", (unsigned long long)row->id,
                 row->cluster);
        return 0;
    }
    job_t *j = dr_calloc(1, sizeof *j);
    j->id = row->id;
    j->name = dr_strdup(row->name);
    j->cluster = c;
    (void)job_state_parse(row->state, &j->state);
    j->priority = row->priority;
    j->cpus = row->cpus;
    j->memory_mb = row->memory_mb;
    j->nodes = row->nodes;
    j->procs_per_node = row->procs_per_node;
    j->gpus = row->gpus;
    j->max_retries = row->max_retries;
    j->time_limit_s = row->time_limit_s;
    j->attempts = row->attempts;
    j->exit_code = row->exit_code;
    j->has_exit_code = row->has_exit_code;
    j->reason = dr_strdup(row->reason);
    j->owner = dr_strdup(row->owner);
    j->submitted_at_ms = row->submitted_at_ms;
    j->started_at_ms = row->started_at_ms;
    j->ended_at_ms = row->ended_at_ms;
    j->spec = dr_malloc(row->spec_len);
    memcpy(j->spec, row->spec, row->spec_len);
    j->spec_len = row->spec_len;
    j->preemptions = row->preemptions;
    Drover__Job *spec = drover__job__unpack(NULL, j->spec_len, j->spec);
    j->has_image = spec && spec->image && *spec->image;
    j->mpi = spec && spec->distribution && !strcmp(spec->distribution, "mpi");
    if (spec)
        drover__job__free_unpacked(spec, NULL);
    dict_put_u64(self->jobs, j->id, j);
    /* the nodes it was bound to, in rank order */
    node_t *nodes[DR_MAX_JOB_NODES];
    uint32_t count = 0;
    int all_found = row->node_names[0] != '\0';
    for (const char *p = row->node_names; *p && count < DR_MAX_JOB_NODES;) {
        size_t len = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        node_t *n = sched_node_find(self, name);
        if (n)
            nodes[count++] = n;
        else
            all_found = 0;
        p += len + (p[len] == ',');
    }
    if (j->state == JOB_QUEUED) {
        queue_push(c->queue, j);
    } else if (all_found && count) {
        /* bound again; the agents' registrations confirm or requeue it */
        j->tasks = dr_calloc(count, sizeof *j->tasks);
        j->ntasks = count;
        for (uint32_t i = 0; i < count; i++) {
            j->tasks[i].node = nodes[i];
            j->tasks[i].started = 1;
            j->tasks[i].running = j->state == JOB_RUNNING;
            s_node_bind(nodes[i], j);
        }
        s_gpus_parse(j, row->gpu_indices);
        j->start_deadline = dr_mono_ms() + self->opts.start_timeout_ms;
    } else {
        /* requeued after the scan: no writes while the SELECT runs */
        j->start_deadline = -1;
    }
    return 0;
}

static void s_requeue_orphans(sched_t *self)
{
    size_t n = 0, it = 0;
    job_t *j;
    while ((j = dict_next(self->jobs, &it)))
        n += j->start_deadline == -1;
    if (!n)
        return;
    job_t **list = dr_calloc(n, sizeof *list);
    size_t k = 0;
    it = 0;
    while ((j = dict_next(self->jobs, &it)))
        if (j->start_deadline == -1)
            list[k++] = j;
    for (size_t i = 0; i < k; i++) {
        list[i]->start_deadline = 0;
        sched_job_requeue(self, list[i], "its node is gone after a restart");
    }
    free(list);
}

/* ---- sockets ----------------------------------------------------------------
 */

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

sched_t *sched_new(const sched_opts_t *opts)
{
    sched_t *self = dr_calloc(1, sizeof *self);
    self->opts = *opts;
    char *logs = dr_asprintf("%s/logs", opts->state_dir);
    char *nodes = dr_asprintf("%s/nodes", opts->state_dir);
    int ok = dr_mkdirs(logs, 0750) == 0 && dr_mkdirs(nodes, 0750) == 0;
    if (!ok)
        log_warn_errno("cannot create state dir %s", opts->state_dir);
    free(logs);
    free(nodes);
    if (!ok)
        goto fail;
    if (opts->vm_catalog[0]) {
        char err[256];
        if (catalog_load(opts->vm_catalog, &self->catalog, err, sizeof err) <
            0) {
            log_error("vm catalog: %s", err);
            goto fail;
        }
    } else {
        self->catalog = catalog_new_default();
    }
    self->jobs = dict_new_u64();
    self->nodes = dict_new_str();
    self->local = provider_local_new(
        opts->agent_bin, opts->agent_connect, opts->state_dir,
        opts->heartbeat_interval_ms, opts->scheduled_events_url);
    self->local->report = s_provider_report;
    self->local->report_arg = self;
    self->store = store_new(opts->state_dir);
    if (!self->store)
        goto fail;
    char *keys_dir = dr_asprintf("%s/keys", opts->state_dir);
    self->auth = auth_new(self->store, opts->insecure ? NULL : keys_dir);
    self->identity = identity_new(keys_dir, opts->identity_ttl_ms / 1000);
    free(keys_dir);
    if (!self->auth || !self->identity)
        goto fail;
    if (opts->insecure)
        log_warn("INSECURE: --insecure turns CURVE off: anyone who reaches the "
                 "endpoints can run jobs and act as any node; use it only "
                 "on loopback for debugging");
    if (store_quota_each(self->store, s_load_quota, self) < 0 ||
        store_cluster_each(self->store, s_load_cluster, self) < 0 ||
        store_node_each(self->store, s_load_node, self) < 0)
        goto fail;
    if (store_begin(self->store) < 0 ||
        store_job_each_in_states(self->store, "queued,starting,running",
                                 s_load_job, self) < 0)
        goto fail;
    s_requeue_orphans(self);
    if (store_commit(self->store) < 0)
        goto fail;
    log_info("state loaded from %s: %zu active jobs, %zu nodes",
             opts->state_dir, dict_size(self->jobs), dict_size(self->nodes));
    self->zctx = zmq_ctx_new();
    if (!self->zctx)
        goto fail;
    int maxs = 65536;
    (void)zmq_ctx_set(self->zctx, ZMQ_MAX_SOCKETS, maxs);
    const dr_keypair_t *keys = NULL;
    if (!opts->insecure) {
        if (auth_zap_bind(self->auth, self->zctx) < 0)
            goto fail;
        keys = auth_server_keys(self->auth);
    }
    self->agent_sock = s_router(self->zctx, opts->agent_endpoint, 100000, keys,
                                AUTH_DOMAIN_AGENTS);
    self->client_sock = s_router(self->zctx, opts->client_endpoint, 100000,
                                 keys, AUTH_DOMAIN_CLIENTS);
    if (!self->agent_sock || !self->client_sock)
        goto fail;
    log_info("listening: agents on %s, clients on %s", opts->agent_endpoint,
             opts->client_endpoint);
    return self;
fail:
    sched_destroy(&self);
    return NULL;
}

void sched_destroy(sched_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sched_t *self = *self_p;
    while (self->clusters) {
        cluster_t *c = self->clusters;
        /* free in memory only: rows stay for the next start */
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
    if (self->jobs) {
        size_t it = 0;
        job_t *j;
        while ((j = dict_next(self->jobs, &it)))
            s_job_free(j);
        dict_destroy(&self->jobs);
    }
    dict_destroy(&self->nodes);
    auth_destroy(&self->auth);
    identity_destroy(&self->identity);
    if (self->agent_sock)
        zmq_close(self->agent_sock);
    if (self->client_sock)
        zmq_close(self->client_sock);
    if (self->zctx)
        zmq_ctx_term(self->zctx);
    s_outbox_free(&self->agent_out);
    s_outbox_free(&self->client_out);
    store_destroy(&self->store);
    provider_destroy(&self->local);
    free(self->quotas);
    catalog_destroy(&self->catalog);
    free(self);
    *self_p = NULL;
}

/* ---- the loop ---------------------------------------------------------------
 */

typedef void (*dispatch_fn)(sched_t *s, const char *rid, dr_env_t *env);

/* Who sent this message: the ZAP verdict was per connection, so the key
 * is checked again here (a revoked key stops at its next message), and an
 * agent may only speak for the node its key names.  Sets self->req. */
static int s_authorize(sched_t *self, int is_agent, const char *rid,
                       const char *user, const dr_env_t *env)
{
    if (self->opts.insecure) {
        self->req.admin = 1;
        snprintf(self->req.user, sizeof self->req.user, "%.63s",
                 is_agent ? rid : "");
        return 0;
    }
    const principal_t *p = auth_peer(self->auth, user);
    const char *why = NULL;
    char buf[200];
    if (!p) {
        why = "key revoked or unknown";
    } else if (is_agent &&
               (p->kind != PRINCIPAL_AGENT || strcmp(p->name, rid) != 0)) {
        snprintf(buf, sizeof buf, "the key of %s may not speak for node %s",
                 p->name, rid);
        why = buf;
    }
    if (why) {
        log_warn("%s %s: refused: %s", is_agent ? "agent" : "client", rid, why);
        (void)store_event(self->store, "refused", "", is_agent ? rid : "", 0,
                          "%s %s: %s", is_agent ? "agent" : "client",
                          p ? p->name : rid, why);
        if (is_agent)
            sched_agent_error(self, rid, env->request_id, DR_EPERM, "%s", why);
        else
            sched_client_error(self, rid, env->request_id, DR_EPERM, "%s", why);
        return DR_EPERM;
    }
    snprintf(self->req.user, sizeof self->req.user, "%s", p->name);
    self->req.admin = p->admin;
    return 0;
}

static void s_drain(sched_t *self, void *sock, int is_agent, dispatch_fn fn)
{
    for (int i = 0; i < DRAIN_BUDGET; i++) {
        char rid[DR_MAX_ROUTING_ID + 1] = "";
        char user[128] = "";
        dr_env_t *env = NULL;
        int rc = wire_recv_ex(sock, rid, ZMQ_DONTWAIT, &env, user, sizeof user);
        if (rc == DR_EAGAIN)
            break;
        const char *side = is_agent ? "agent" : "client";
        if (rc == DR_EIO) {
            log_warn("%s socket: receive failed: %s", side,
                     zmq_strerror(errno));
            wire_free(&env);
            break;
        }
        if (rc < 0) {
            uint64_t req = env ? env->request_id : 0;
            log_warn("%s %s: bad message: %s", side, rid[0] ? rid : "?",
                     dr_strerror(rc));
            if (rid[0]) {
                if (is_agent)
                    sched_agent_error(self, rid, req, rc, "%s",
                                      dr_strerror(rc));
                else
                    sched_client_error(self, rid, req, rc, "%s",
                                       dr_strerror(rc));
            }
            wire_free(&env);
            continue;
        }
        if (s_authorize(self, is_agent, rid, user, env) == 0)
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

/* "node a did not get its task running within 60 s" for the nodes of a
 * starting job that are not ready (an MPI head that waits for the others
 * is not one of them). */
static void s_not_ready(const sched_t *self, const job_t *j, char *why,
                        size_t cap)
{
    int workers_up = s_workers_up(j);
    char names[256] = "";
    size_t off = 0;
    int count = 0;
    for (uint32_t i = 0; i < j->ntasks; i++) {
        const job_task_t *t = &j->tasks[i];
        if (t->running || t->ended || (j->mpi && i == 0 && !workers_up))
            continue;
        if (off < sizeof names)
            off += (size_t)snprintf(names + off, sizeof names - off, "%s%s",
                                    count ? ", " : "", t->node->name);
        count++;
    }
    snprintf(why, cap, "%s %s did not get %s task running within %d s",
             count > 1 ? "nodes" : "node", names, count > 1 ? "their" : "its",
             self->opts.start_timeout_ms / 1000);
}

static void s_check_nodes(sched_t *self, int64_t now)
{
    for (cluster_t *c = self->clusters; c; c = c->next) {
        for (size_t i = 0; i < c->nnodes;) {
            node_t *n = c->nodes[i];
            if ((n->state == NODE_READY || n->state == NODE_UNKNOWN) &&
                now - n->last_seen > self->opts.heartbeat_timeout_ms) {
                char why[160];
                snprintf(why, sizeof why, "lost: no heartbeat for %lld s",
                         (long long)((now - n->last_seen) / 1000));
                (void)store_event(self->store, "node_lost", c->cfg.name,
                                  n->name, 0, "node %s %s", n->name, why);
                char err[256];
                if (c->provider->ops->destroy(c->provider, c, n->name, n->pid,
                                              err, sizeof err) < 0)
                    log_warn("node %s: provider delete: %s", n->name, err);
                sched_node_remove(self, n, why);
                continue;
            }
            for (size_t k = 0; k < n->njobs; k++) {
                job_t *j = n->jobs[k];
                if (j->fail_reason && now >= j->fail_at) {
                    char why[600];
                    snprintf(why, sizeof why,
                             "%s; mpirun did not end within "
                             "%d s",
                             j->fail_reason, DR_MPI_FAIL_GRACE_MS / 1000);
                    sched_job_finish(self, j, JOB_FAILED, 0, 0, why);
                    break; /* n->jobs changed */
                }
                if (j->state == JOB_STARTING && now > j->start_deadline &&
                    n->state == NODE_READY) {
                    char why[200];
                    s_not_ready(self, j, why, sizeof why);
                    sched_task_cancel(self, j, why);
                    sched_job_requeue(self, j, why);
                    break; /* n->jobs changed */
                }
            }
            i++;
        }
    }
}

int sched_run_once(sched_t *self, int timeout_ms, int wake_fd)
{
    void *zap = self->opts.insecure ? NULL : auth_zap_socket(self->auth);
    zmq_pollitem_t items[4] = {
        {self->agent_sock, 0, ZMQ_POLLIN, 0},
        {self->client_sock, 0, ZMQ_POLLIN, 0},
        {zap, 0, ZMQ_POLLIN, 0},
        {NULL, wake_fd, ZMQ_POLLIN, 0},
    };
    int nitems = 2;
    if (zap)
        nitems = 3;
    if (wake_fd >= 0)
        items[nitems++] = (zmq_pollitem_t){NULL, wake_fd, ZMQ_POLLIN, 0};
    if (zmq_poll(items, nitems, timeout_ms) < 0 && errno != EINTR) {
        log_error("zmq_poll: %s", zmq_strerror(errno));
        return DR_EIO;
    }
    if (wake_fd >= 0 && (items[nitems - 1].revents & ZMQ_POLLIN)) {
        char buf[64];
        while (read(wake_fd, buf, sizeof buf) > 0)
            ;
    }
    if (store_begin(self->store) < 0)
        return DR_EDB;
    if (zap)
        auth_zap_handle(self->auth);
    s_drain(self, self->agent_sock, 1, api_agent_dispatch);
    s_drain(self, self->client_sock, 0, api_client_dispatch);
    int64_t now = dr_mono_ms();
    s_reap_children(self);
    int wait_cap = -1;
    for (cluster_t *c = self->clusters; c; c = c->next) {
        if (c->provider != self->local && c->provider->ops->poll) {
            int w = c->provider->ops->poll(c->provider);
            if (w >= 0 && (wait_cap < 0 || w < wait_cap))
                wait_cap = w;
        }
    }
    self->poll_cap_ms = wait_cap;
    if (now >= self->next_hb_check) {
        s_check_nodes(self, now);
        self->next_hb_check = now + 1000;
    }
    for (cluster_t *c = self->clusters; c; c = c->next)
        placement_pass(self, c);
    if (now >= self->next_autoscale) {
        for (cluster_t *c = self->clusters; c; c = c->next)
            autoscaler_tick(self, c, now);
        self->next_autoscale = now + self->opts.autoscale_interval_ms;
    }
    if (store_commit(self->store) < 0) {
        /* memory is ahead of the disk now: never acknowledge it */
        log_fatal("store: commit failed; exiting so that a restart "
                  "recovers from the last committed state");
    }
    s_outbox_flush(self->agent_sock, &self->agent_out, "agent");
    s_outbox_flush(self->client_sock, &self->client_out, "client");
    if (now >= self->next_checkpoint) {
        store_checkpoint(self->store);
        self->next_checkpoint = now + 5000;
    }
    self->passes++;
    return 0;
}

int sched_run(sched_t *self, volatile sig_atomic_t *stop, int wake_fd)
{
    while (!*stop) {
        int64_t now = dr_mono_ms();
        int64_t next = self->next_hb_check < self->next_autoscale
                           ? self->next_hb_check
                           : self->next_autoscale;
        int64_t timeout = next - now;
        if (timeout < 0)
            timeout = 0;
        if (timeout > 1000)
            timeout = 1000;
        if (self->poll_cap_ms >= 0 && timeout > self->poll_cap_ms)
            timeout = self->poll_cap_ms;
        int rc = sched_run_once(self, (int)timeout, wake_fd);
        if (rc < 0)
            return rc;
    }
    log_info("scheduler stopping");
    return 0;
}
