/* node_mgr.c - nodes as resources: their table, their share of the jobs
 * bound to them (cpus, memory, GPUs) and their rows in the store.
 *
 * The bottom of the model: it moves no job from one state to another
 * (node_life.c does what a node's events do to its jobs) and never sends
 * anything but the Shutdown of a node it releases.
 */
#include "auth.h"
#include "dr_err.h"
#include "log.h"
#include "sched_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
        if (n->drain)
            return n->njobs ? "draining" : "drained";
        return n->njobs ? "running" : "idle";
    case NODE_LEAVING:
        return "leaving";
    case NODE_UNKNOWN:
        return "unknown";
    }
    return "unknown";
}

uint32_t node_gpu_count(const node_t *n)
{
    return n->gpus ? (uint32_t)n->gpus->list.count : 0;
}

uint32_t node_healthy_gpus(const node_t *n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < node_gpu_count(n); i++)
        k += n->gpus->list.gpus[i].healthy != 0;
    return k;
}

uint32_t node_free_gpus(const node_t *n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < node_gpu_count(n); i++)
        k += n->gpus->list.gpus[i].healthy && !n->gpus->holder[i];
    return k;
}

/* Position of the GPU with this index in n's list, or -1. */
static int s_gpu_pos(const node_t *n, uint32_t index)
{
    for (uint32_t i = 0; i < node_gpu_count(n); i++)
        if (n->gpus->list.gpus[i].index == index)
            return (int)i;
    return -1;
}

static void s_gpu_copy(gpu_info_t *d, const Drover__GpuInfo *g)
{
    memset(d, 0, sizeof *d);
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
}

size_t node_gpus_update(node_t *n, Drover__GpuInfo **gpus, size_t ngpus,
                        job_t **lost, char (*why)[160])
{
    if (ngpus > DR_MAX_GPUS)
        ngpus = DR_MAX_GPUS;
    int was_healthy[DR_MAX_GPUS] = {0};
    uint32_t was_index[DR_MAX_GPUS] = {0};
    uint32_t was_n = node_gpu_count(n);
    for (uint32_t i = 0; i < was_n; i++) {
        was_healthy[i] = n->gpus->list.gpus[i].healthy;
        was_index[i] = n->gpus->list.gpus[i].index;
    }
    /* most nodes have none: only a node with GPUs pays for their table */
    if (ngpus && !n->gpus)
        n->gpus = dr_calloc(1, sizeof *n->gpus);
    if (n->gpus)
        memset(n->gpus, 0, sizeof *n->gpus);
    for (size_t i = 0; i < ngpus; i++) {
        const Drover__GpuInfo *g = gpus[i];
        if (!g || s_gpu_pos(n, g->index) >= 0)
            continue; /* duplicates are dropped: an index names one GPU */
        gpu_info_t *d = &n->gpus->list.gpus[n->gpus->list.count++];
        s_gpu_copy(d, g);
        for (uint32_t k = 0; k < was_n; k++)
            if (was_index[k] == d->index && !was_healthy[k] && d->healthy)
                cluster_capacity_grew(n->cluster); /* back in service */
    }
    /* holders follow the jobs' assignments; a job whose GPU vanished or
     * turned unhealthy fails over */
    size_t nlost = 0;
    for (size_t k = 0; k < n->njobs; k++) {
        job_t *j = n->jobs[k];
        const job_task_t *t = job_task_on(j, n);
        for (uint32_t i = 0; t && i < t->n_gpu_idx; i++) {
            int pos = s_gpu_pos(n, t->gpu_idx[i]);
            if (pos >= 0 && n->gpus->list.gpus[pos].healthy) {
                n->gpus->holder[pos] = j;
                continue;
            }
            if (nlost < DR_MAX_GPUS) {
                snprintf(why[nlost], sizeof why[nlost],
                         pos >= 0 ? "gpu %u on node %s became unhealthy"
                                  : "gpu %u on node %s disappeared",
                         t->gpu_idx[i], n->name);
                lost[nlost++] = j;
            }
            break;
        }
    }
    return nlost;
}

void node_gpus_assign(job_t *j)
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
        for (uint32_t i = 0; i < node_gpu_count(n) && t->n_gpu_idx < j->gpus;
             i++) {
            const gpu_info_t *g = &n->gpus->list.gpus[i];
            if (!g->healthy || n->gpus->holder[i])
                continue;
            n->gpus->holder[i] = j;
            dr_buf_printf(&b, "%s%u=%s", t->n_gpu_idx ? "," : "", g->index,
                          g->uuid);
            t->gpu_idx[t->n_gpu_idx++] = g->index;
        }
    }
    j->gpu_assign = b.data ? b.data : dr_strdup("");
}

void node_bind(node_t *n, job_t *j)
{
    if (n->njobs == n->jobs_cap) {
        n->jobs_cap = n->jobs_cap ? n->jobs_cap * 2 : 4;
        n->jobs = dr_realloc(n->jobs, n->jobs_cap * sizeof *n->jobs);
    }
    n->jobs[n->njobs++] = j;
    n->cpus_used += j->cpus;
    n->memory_used_mb += j->memory_mb;
    n->resv_job = 0;
    capidx_update(n->cluster->capidx, n);
}

void node_unbind(node_t *n, job_t *j)
{
    for (uint32_t i = 0; i < node_gpu_count(n); i++)
        if (n->gpus->holder[i] == j)
            n->gpus->holder[i] = NULL;
    for (size_t i = 0; i < n->njobs; i++) {
        if (n->jobs[i] == j) {
            n->jobs[i] = n->jobs[--n->njobs];
            n->cpus_used -= j->cpus;
            n->memory_used_mb -= j->memory_mb;
            capidx_update(n->cluster->capidx, n);
            break;
        }
    }
    if (n->njobs == 0)
        n->idle_since = dr_mono_ms();
}

void node_capacity_set(node_t *n, uint32_t cpus, uint64_t memory_mb)
{
    n->cpus = cpus;
    n->memory_mb = memory_mb;
    capidx_update(n->cluster->capidx, n);
}

node_t *node_add(sched_t *self, cluster_t *c, const char *name,
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
    capidx_insert(c->capidx, n);
    dict_put_str(self->nodes, n->name, n);
    return n;
}

void node_set_drain(sched_t *self, node_t *n, int drain)
{
    if (n->drain == !!drain)
        return;
    n->drain = !!drain;
    node_save(self, n,
              n->state == NODE_PREPARING ? "preparing"
              : n->state == NODE_LEAVING ? "leaving"
                                         : "ready");
    (void)store_event(self->store, drain ? "node_drain" : "node_resume",
                      n->cluster->cfg.name, n->name, 0, "node %s %s", n->name,
                      drain ? "drained: no new tasks" : "resumed");
    log_info("node %s: %s", n->name, drain ? "drained" : "resumed");
    if (!drain)
        cluster_capacity_grew(n->cluster);
}

void node_save(sched_t *self, const node_t *n, const char *state)
{
    store_node_t row = {0};
    snprintf(row.name, sizeof row.name, "%s", n->name);
    snprintf(row.cluster, sizeof row.cluster, "%s", n->cluster->cfg.name);
    snprintf(row.state, sizeof row.state, "%s", state);
    snprintf(row.vm_size, sizeof row.vm_size, "%s", n->vm_size);
    row.cpus = n->cpus;
    row.memory_mb = n->memory_mb;
    row.pid = n->pid;
    row.created_at_ms = n->created_at_ms;
    row.joined = n->joined;
    row.drain = n->drain;
    if (store_node_put(self->store, &row) < 0)
        log_error("node %s: cannot persist", n->name);
}

static void s_node_drop(sched_t *self, node_t *n, const char *reason,
                        int revoke);

void node_forget(sched_t *self, node_t *n, const char *reason)
{
    s_node_drop(self, n, reason, 1);
}

void node_forget_keep_key(sched_t *self, node_t *n, const char *reason)
{
    s_node_drop(self, n, reason, 0);
}

static void s_node_drop(sched_t *self, node_t *n, const char *reason,
                        int revoke)
{
    cluster_t *c = n->cluster;
    for (size_t i = 0; i < c->nnodes; i++) {
        if (c->nodes[i] == n) {
            memmove(&c->nodes[i], &c->nodes[i + 1],
                    (c->nnodes - i - 1) * sizeof *c->nodes);
            c->nnodes--;
            break;
        }
    }
    capidx_remove(c->capidx, n);
    dict_del_str(self->nodes, n->name);
    if (store_node_delete(self->store, n->name) < 0)
        log_error("node %s: cannot delete row", n->name);
    if (self->auth && revoke) {
        /* its key dies with it: a node name is never trusted twice */
        (void)auth_revoke_agent(self->auth, n->name);
        char *key =
            dr_asprintf("%s/nodes/%s.key", self->opts.state_dir, n->name);
        (void)unlink(key);
        free(key);
        char *tok =
            dr_asprintf("%s/nodes/%s.token", self->opts.state_dir, n->name);
        (void)unlink(tok);
        free(tok);
    }
    (void)store_event(self->store, "node_removed", c->cfg.name, n->name, 0,
                      "%s", reason);
    log_info("%s", reason);
    free(n->jobs);
    free(n->gpus);
    free(n);
}

node_t *node_create(sched_t *self, cluster_t *c, const char *name, int pid,
                    int64_t now)
{
    node_t *n = node_add(self, c, name, NODE_PREPARING);
    n->pid = pid;
    n->requested_at = now;
    node_capacity_set(n, c->vm->vcpus, c->vm->memory_mb);
    node_save(self, n, "preparing");
    (void)store_event(self->store, "scale_out", c->cfg.name, name, 0,
                      "node %s requested (target %d)", name, c->target_nodes);
    log_info("cluster %s: scale out: node %s requested (target %d)",
             c->cfg.name, name, c->target_nodes);
    return n;
}

int node_release(sched_t *self, node_t *n, const char *why, char *err,
                 size_t errlen)
{
    cluster_t *c = n->cluster;
    n->state = NODE_LEAVING;
    n->requested_at = dr_mono_ms();
    (void)store_node_set_state(self->store, n->name, "leaving");
    dr_env_t env;
    Drover__Shutdown sd = DROVER__SHUTDOWN__INIT;
    sd.reason = (char *)why;
    wire_env_body(&env, 0, DROVER__ENVELOPE__BODY_SHUTDOWN, &sd);
    sched_send_agent(self, n->name, &env);
    err[0] = '\0';
    int rc = c->provider->ops->destroy(c->provider, &c->pinfo, n->name, n->pid,
                                       err, errlen) < 0
                 ? DR_EPROVIDER
                 : 0;
    (void)store_event(self->store, "scale_in", c->cfg.name, n->name, 0,
                      "node %s released: %s", n->name, why);
    log_info("cluster %s: scale in: node %s released (%s)", c->cfg.name,
             n->name, why);
    return rc;
}
