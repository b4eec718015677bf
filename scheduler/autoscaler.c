/* autoscaler.c - see autoscaler.h. */
#include "autoscaler.h"
#include "auth.h"
#include "dr_err.h"
#include "log.h"
#include "placement.h"
#include "provider.h"
#include "queue.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void autoscaler_count(const cluster_t *c, node_counts_t *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < c->nnodes; i++) {
        const node_t *n = c->nodes[i];
        switch (n->state) {
        case NODE_READY:
            out->ready++;
            if (n->njobs)
                out->running++;
            else
                out->idle++;
            break;
        case NODE_PREPARING:
            out->preparing++;
            break;
        case NODE_LEAVING:
            out->leaving++;
            break;
        case NODE_UNKNOWN:
            out->unknown++;
            break;
        }
    }
}

int autoscaler_demand(const cluster_t *c, int headroom)
{
    node_counts_t k;
    autoscaler_count(c, &k);
    int nbins_max = k.preparing + (headroom > 0 ? headroom : 0);
    if (nbins_max <= 0 || queue_len(c->queue) == 0)
        return 0;
    typedef struct {
        uint64_t cpus, mem, gpus;
    } bin_t;
    /* a homogeneous cluster whose ready nodes lack docker will not get it
     * from more of the same nodes: such jobs do not drive scale-out */
    int ready = 0, docker = 0;
    for (size_t i = 0; i < c->nnodes; i++) {
        if (c->nodes[i]->state == NODE_READY) {
            ready++;
            docker += (c->nodes[i]->runtimes & RT_DOCKER) != 0;
        }
    }
    int image_ok = !ready || docker;
    bin_t *bins = dr_calloc((size_t)nbins_max, sizeof *bins);
    int nbins = 0;
    /* nodes being prepared are empty bins already paid for */
    for (int i = 0; i < k.preparing; i++) {
        bins[nbins].cpus = c->vm->vcpus;
        bins[nbins].mem = c->vm->memory_mb;
        bins[nbins].gpus = c->vm->gpus;
        nbins++;
    }
    for (job_t *j = queue_first(c->queue); j; j = queue_next(c->queue, j)) {
        if (j->cancel_requested)
            continue;
        if (j->cpus > c->vm->vcpus || j->memory_mb > c->vm->memory_mb ||
            j->gpus > c->vm->gpus || (j->has_image && !image_ok))
            continue; /* never fits such nodes */
        if (j->nodes > 1) {
            /* a gang needs its nodes at once: ready nodes with room count,
             * the rest take one bin each */
            if (j->nodes > (uint32_t)c->cfg.max_nodes)
                continue;
            uint32_t need = j->nodes;
            for (size_t i = 0; i < c->nnodes && need; i++)
                need -= (uint32_t)placement_fits(c->nodes[i], j);
            for (int b = 0; b < nbins && need; b++) {
                if (bins[b].cpus >= j->cpus && bins[b].mem >= j->memory_mb &&
                    bins[b].gpus >= j->gpus) {
                    bins[b].cpus -= j->cpus;
                    bins[b].mem -= j->memory_mb;
                    bins[b].gpus -= j->gpus;
                    need--;
                }
            }
            while (need && nbins < nbins_max) {
                bins[nbins].cpus = c->vm->vcpus - j->cpus;
                bins[nbins].mem = c->vm->memory_mb - j->memory_mb;
                bins[nbins].gpus = c->vm->gpus - j->gpus;
                nbins++;
                need--;
            }
            if (need)
                break; /* every node we may add is spoken for */
            continue;
        }
        int placed = 0;
        for (int b = 0; b < nbins && !placed; b++) {
            if (bins[b].cpus >= j->cpus && bins[b].mem >= j->memory_mb &&
                bins[b].gpus >= j->gpus) {
                bins[b].cpus -= j->cpus;
                bins[b].mem -= j->memory_mb;
                bins[b].gpus -= j->gpus;
                placed = 1;
            }
        }
        if (placed)
            continue;
        if (nbins == nbins_max)
            break; /* every node we may add is spoken for */
        bins[nbins].cpus = c->vm->vcpus - j->cpus;
        bins[nbins].mem = c->vm->memory_mb - j->memory_mb;
        bins[nbins].gpus = c->vm->gpus - j->gpus;
        nbins++;
    }
    free(bins);
    int extra = nbins - k.preparing;
    return extra > 0 ? extra : 0;
}

const char *autoscaler_allocation_state(const cluster_t *c)
{
    node_counts_t k;
    autoscaler_count(c, &k);
    int active = k.ready + k.preparing + k.unknown;
    if (k.preparing || k.leaving || active != c->target_nodes)
        return "resizing";
    return "steady";
}

void autoscaler_set_error(sched_t *s, cluster_t *c, const char *fmt, ...)
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
    if (store_cluster_set_error(s->store, c->cfg.name, msg) < 0)
        log_error("cluster %s: cannot record error", c->cfg.name);
    if (*msg) {
        log_warn("cluster %s: %s", c->cfg.name, msg);
        (void)store_event(s->store, "resize_error", c->cfg.name, "", 0, "%s",
                          msg);
    }
}

void autoscaler_create_failed(cluster_t *c, int64_t now)
{
    int shift = c->create_failures < 8 ? c->create_failures : 8;
    int64_t delay = (int64_t)2000 << shift;
    if (delay > 300000)
        delay = 300000;
    c->create_failures++;
    c->scale_out_after = now + delay;
}

static void s_new_node_name(sched_t *s, cluster_t *c, char *out, size_t cap)
{
    for (;;) {
        c->node_seq++;
        snprintf(out, cap, "%.48s-%llu", c->cfg.name,
                 (unsigned long long)c->node_seq);
        if (!sched_node_find(s, out))
            return;
    }
}

static void s_scale_out(sched_t *s, cluster_t *c, int count, int64_t now)
{
    for (int i = 0; i < count; i++) {
        char name[64];
        char err[256] = "";
        s_new_node_name(s, c, name, sizeof name);
        if (!s->opts.insecure) {
            /* the node's own key, bound to its name, before it exists */
            char *key = dr_asprintf("%s/nodes/%s.key", s->opts.state_dir, name);
            int krc = auth_issue_agent_key(s->auth, name, key);
            free(key);
            if (krc < 0) {
                autoscaler_set_error(s, c, "cannot issue a key for node %s: %s",
                                     name, dr_strerror(krc));
                return;
            }
        }
        int pid = 0;
        int rc = c->provider->ops->create(c->provider, c, name, &pid, err,
                                          sizeof err);
        if (rc < 0) {
            autoscaler_set_error(s, c, "provider %s: create %s failed: %s",
                                 c->provider->ops->name, name, err);
            autoscaler_create_failed(c, now);
            return;
        }
        node_t *n = sched_node_add(s, c, name, NODE_PREPARING);
        n->pid = pid;
        n->requested_at = now;
        n->cpus = c->vm->vcpus;
        n->memory_mb = c->vm->memory_mb;
        store_node_t row = {0};
        snprintf(row.name, sizeof row.name, "%s", name);
        snprintf(row.cluster, sizeof row.cluster, "%s", c->cfg.name);
        snprintf(row.state, sizeof row.state, "preparing");
        snprintf(row.vm_size, sizeof row.vm_size, "%s", c->vm->name);
        row.cpus = n->cpus;
        row.memory_mb = n->memory_mb;
        row.pid = pid;
        row.created_at_ms = n->created_at_ms;
        if (store_node_put(s->store, &row) < 0)
            log_error("node %s: cannot persist", name);
        (void)store_event(s->store, "scale_out", c->cfg.name, name, 0,
                          "node %s requested (target %d)", name,
                          c->target_nodes);
        log_info("cluster %s: scale out: node %s requested (target %d)",
                 c->cfg.name, name, c->target_nodes);
    }
    c->last_scale_out = now;
}

/* Drains one idle node: it takes no new work from now on, its agent is
 * told to exit and the provider releases it. */
static void s_release(sched_t *s, cluster_t *c, node_t *n, const char *why)
{
    n->state = NODE_LEAVING;
    n->requested_at = dr_mono_ms();
    (void)store_node_set_state(s->store, n->name, "leaving");
    dr_env_t env;
    Drover__Shutdown sd = DROVER__SHUTDOWN__INIT;
    wire_env_init(&env, 0);
    sd.reason = (char *)why;
    env.body_case = DROVER__ENVELOPE__BODY_SHUTDOWN;
    env.shutdown = &sd;
    sched_send_agent(s, n->name, &env);
    char err[256] = "";
    if (c->provider->ops->destroy(c->provider, c, n->name, n->pid, err,
                                  sizeof err) < 0)
        autoscaler_set_error(s, c, "provider %s: delete %s failed: %s",
                             c->provider->ops->name, n->name, err);
    (void)store_event(s->store, "scale_in", c->cfg.name, n->name, 0,
                      "node %s released: %s", n->name, why);
    log_info("cluster %s: scale in: node %s released (%s)", c->cfg.name,
             n->name, why);
}

void autoscaler_tick(sched_t *s, cluster_t *c, int64_t now)
{
    /* nodes that never came up, and leaving nodes that are gone */
    for (size_t i = 0; i < c->nnodes;) {
        node_t *n = c->nodes[i];
        if (n->state == NODE_PREPARING &&
            now - n->requested_at > s->opts.resume_timeout_ms) {
            autoscaler_set_error(s, c,
                                 "node %s did not register within %d s; "
                                 "released",
                                 n->name, s->opts.resume_timeout_ms / 1000);
            char err[256];
            (void)c->provider->ops->destroy(c->provider, c, n->name, n->pid,
                                            err, sizeof err);
            sched_node_remove(s, n, "resume timeout");
            continue;
        }
        if (n->state == NODE_LEAVING &&
            ((c->provider->ops->gone &&
              c->provider->ops->gone(c->provider, n->name, n->pid)) ||
             now - n->last_seen > 2 * s->opts.heartbeat_interval_ms + 2000 ||
             now - n->requested_at > 30000)) {
            sched_node_remove(s, n, "released");
            continue;
        }
        i++;
    }
    node_counts_t k;
    autoscaler_count(c, &k);
    int active = k.ready + k.preparing + k.unknown;
    int headroom = c->cfg.max_nodes - active;
    /* one pass over the queue: first fit gives the same bins up to any
     * cap, so what max_nodes allows is the smaller of the two */
    int wanted = autoscaler_demand(c, headroom > 0 ? headroom + 64 : 64);
    int extra = wanted < headroom ? wanted : (headroom > 0 ? headroom : 0);
    /* demand that max_nodes or the family's quota holds back is said on
     * the cluster and on the jobs that wait for it */
    char reason[160] = "";
    if (wanted > extra)
        snprintf(reason, sizeof reason, "max nodes reached (%d)",
                 c->cfg.max_nodes);

    int target = k.ready + k.unknown + k.preparing + extra;
    /* nodes idle past their deadline do not count towards the target */
    int idle_expired = 0;
    int64_t idle_ms = (int64_t)c->cfg.idle_seconds * 1000;
    for (size_t i = 0; i < c->nnodes; i++) {
        node_t *n = c->nodes[i];
        if (n->state == NODE_READY && node_is_idle(n) &&
            now - n->idle_since >= idle_ms)
            idle_expired++;
    }
    if (queue_len(c->queue) == 0 || extra == 0)
        target -= idle_expired;
    if (target < c->cfg.min_nodes)
        target = c->cfg.min_nodes;
    if (target > c->cfg.max_nodes)
        target = c->cfg.max_nodes;
    c->target_nodes = target;

    if (active < target && now < c->scale_out_after) {
        snprintf(c->wait_reason, sizeof c->wait_reason,
                 "provider %s failed; next try in %lld s",
                 c->provider->ops->name,
                 (long long)((c->scale_out_after - now + 999) / 1000));
        return;
    }
    if (active < target) {
        int count = target - active;
        int lowpri = strcmp(c->cfg.vm_priority, "lowpriority") == 0;
        int64_t limit = sched_quota_limit(s, c->vm->family, lowpri);
        if (limit >= 0) {
            int64_t used = sched_cores_used(s, c->vm->family, lowpri);
            int64_t fit = (limit - used) / (int64_t)c->vm->vcpus;
            if (fit < 0)
                fit = 0;
            if (fit < count) {
                /* the use once what still fits is created */
                long long will = (long long)(used + fit * c->vm->vcpus);
                snprintf(reason, sizeof reason,
                         "quota exceeded: %s %lld/%lld cores%s", c->vm->family,
                         will, (long long)limit,
                         lowpri ? " (low priority)" : "");
                if (strcmp(c->wait_reason, reason) != 0)
                    autoscaler_set_error(s, c, "%s", reason);
                count = fit > 0 ? (int)fit : 0;
            }
        }
        snprintf(c->wait_reason, sizeof c->wait_reason, "%s", reason);
        if (count > 0)
            s_scale_out(s, c, count, now);
        return;
    }
    snprintf(c->wait_reason, sizeof c->wait_reason, "%s", reason);
    if (active > target) {
        int to_release = active - target;
        /* above max_nodes (lowered by hand): idle nodes go at once */
        int over_max = active - c->cfg.max_nodes;
        for (size_t i = 0; i < c->nnodes && to_release > 0; i++) {
            node_t *n = c->nodes[i];
            if (n->state != NODE_READY || !node_is_idle(n))
                continue;
            int expired = now - n->idle_since >= idle_ms;
            if (!expired && over_max <= 0)
                continue;
            char why[96];
            if (expired)
                snprintf(why, sizeof why, "idle for %lld s",
                         (long long)((now - n->idle_since) / 1000));
            else
                snprintf(why, sizeof why, "above max_nodes %d",
                         c->cfg.max_nodes);
            over_max--;
            s_release(s, c, n, why);
            to_release--;
        }
    }
}
