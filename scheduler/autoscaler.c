/* autoscaler.c - see autoscaler.h. */
#include "autoscaler.h"
#include "auth.h"
#include "dr_err.h"
#include "log.h"
#include "placement.h"
#include "util.h"

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

/* A node-shaped bin of free capacity, for the demand's first fit. */
typedef struct {
    uint64_t cpus, mem, gpus;
} bin_t;

/* Puts one task of j into bin b if it has room: 1, else 0. */
static int s_bin_take(bin_t *b, const job_t *j)
{
    if (b->cpus < j->cpus || b->mem < j->memory_mb || b->gpus < j->gpus)
        return 0;
    b->cpus -= j->cpus;
    b->mem -= j->memory_mb;
    b->gpus -= j->gpus;
    return 1;
}

/* A new node's bin with one task of j in it (j NULL: an empty one). */
static bin_t s_bin_new(const cluster_t *c, const job_t *j)
{
    bin_t b = {c->vm->vcpus, c->vm->memory_mb, c->vm->gpus};
    if (j) {
        b.cpus -= j->cpus;
        b.mem -= j->memory_mb;
        b.gpus -= j->gpus;
    }
    return b;
}

/* A gang needs its nodes at once: ready nodes with room count, the rest
 * take one bin each.  0, or -1 when every node we may add is spoken for. */
static int s_demand_gang(const cluster_t *c, const job_t *j, bin_t *bins,
                         int *nbins, int nbins_max)
{
    if (j->nodes > (uint32_t)c->cfg.max_nodes)
        return 0;
    uint32_t need = j->nodes;
    for (size_t i = 0; i < c->nnodes && need; i++)
        need -= (uint32_t)placement_fits(c->nodes[i], j);
    for (int b = 0; b < *nbins && need; b++) /* one task per node */
        need -= (uint32_t)s_bin_take(&bins[b], j);
    while (need && *nbins < nbins_max) {
        bins[(*nbins)++] = s_bin_new(c, j);
        need--;
    }
    return need ? -1 : 0;
}

/* A homogeneous cluster whose ready nodes lack docker will not get it
 * from more of the same nodes: such jobs do not drive scale-out. */
static int s_image_ok(const cluster_t *c)
{
    int ready = 0, docker = 0;
    for (size_t i = 0; i < c->nnodes; i++) {
        if (c->nodes[i]->state == NODE_READY) {
            ready++;
            docker += (c->nodes[i]->runtimes & RT_DOCKER) != 0;
        }
    }
    return !ready || docker;
}

int autoscaler_demand(const cluster_t *c, int headroom)
{
    node_counts_t k;
    autoscaler_count(c, &k);
    int nbins_max = k.preparing + (headroom > 0 ? headroom : 0);
    if (nbins_max <= 0 || queue_len(c->queue) == 0)
        return 0;
    int image_ok = s_image_ok(c);
    bin_t *bins = dr_calloc((size_t)nbins_max, sizeof *bins);
    int nbins = 0;
    /* nodes being prepared are empty bins already paid for */
    for (int i = 0; i < k.preparing; i++)
        bins[nbins++] = s_bin_new(c, NULL);
    for (job_t *j = queue_first(c->queue); j; j = queue_next(c->queue, j)) {
        if (j->cancel_requested || j->held)
            continue;
        if (j->cpus > c->vm->vcpus || j->memory_mb > c->vm->memory_mb ||
            j->gpus > c->vm->gpus || (j->has_image && !image_ok))
            continue; /* never fits such nodes */
        if (j->nodes > 1) {
            if (s_demand_gang(c, j, bins, &nbins, nbins_max) < 0)
                break; /* every node we may add is spoken for */
            continue;
        }
        int placed = 0;
        for (int b = 0; b < nbins && !placed; b++)
            placed = s_bin_take(&bins[b], j);
        if (placed)
            continue;
        if (nbins == nbins_max)
            break; /* every node we may add is spoken for */
        bins[nbins++] = s_bin_new(c, j);
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
            /* a join token for the node: it makes its own key and joins */
            char why[256];
            if (join_token_for_node(s, c, name, why, sizeof why) < 0) {
                cluster_set_error(s, c, "node %s: %s", name, why);
                return;
            }
        }
        int pid = 0;
        int rc = c->provider->ops->create(c->provider, &c->pinfo, name, &pid,
                                          err, sizeof err);
        if (rc < 0) {
            cluster_set_error(s, c, "provider %s: create %s failed: %s",
                              c->provider->ops->name, name, err);
            cluster_create_failed(c, now);
            metrics_inc(s->metrics, MC_PROVIDER_ERRORS, c->cfg.name, "create",
                        1);
            return;
        }
        (void)node_create(s, c, name, pid, now);
        metrics_inc(s->metrics, MC_AUTOSCALER, c->cfg.name, "scale_out", 1);
    }
    c->last_scale_out = now;
}

/* Drains one idle node (node_release); a provider's refusal is written
 * on the cluster. */
static void s_release(sched_t *s, cluster_t *c, node_t *n, const char *why)
{
    char err[256];
    metrics_inc(s->metrics, MC_AUTOSCALER, c->cfg.name, "scale_in", 1);
    if (node_release(s, n, why, err, sizeof err) < 0) {
        cluster_set_error(s, c, "provider %s: delete %s failed: %s",
                          c->provider->ops->name, n->name, err);
        metrics_inc(s->metrics, MC_PROVIDER_ERRORS, c->cfg.name, "delete", 1);
    }
}

/* Nodes that never came up, and leaving nodes that are gone. */
static void s_drop_stale(sched_t *s, cluster_t *c, int64_t now)
{
    for (size_t i = 0; i < c->nnodes;) {
        node_t *n = c->nodes[i];
        if (n->state == NODE_PREPARING &&
            now - n->requested_at > s->opts.resume_timeout_ms) {
            cluster_set_error(s, c,
                              "node %s did not register within %d s; "
                              "released",
                              n->name, s->opts.resume_timeout_ms / 1000);
            char err[256];
            (void)c->provider->ops->destroy(c->provider, &c->pinfo, n->name,
                                            n->pid, err, sizeof err);
            node_remove(s, n, "resume timeout");
            continue;
        }
        if (n->state == NODE_LEAVING &&
            ((c->provider->ops->gone &&
              c->provider->ops->gone(c->provider, n->name, n->pid)) ||
             now - n->last_seen > 2 * s->opts.heartbeat_interval_ms + 2000 ||
             now - n->requested_at > 30000)) {
            if (n->departing && n->joined)
                node_lose_joined(s, n, "its agent stopped");
            else
                node_remove(s, n,
                            n->departing ? "its agent stopped" : "released");
            continue;
        }
        i++;
    }
}

/* The nodes c should have now, between min and max; what max_nodes holds
 * back of the demand is said in reason. */
static int s_target(const cluster_t *c, const node_counts_t *k, int64_t now,
                    char *reason, size_t cap)
{
    int active = k->ready + k->preparing + k->unknown;
    int headroom = c->cfg.max_nodes - active;
    /* one pass over the queue: first fit gives the same bins up to any
     * cap, so what max_nodes allows is the smaller of the two */
    int wanted = autoscaler_demand(c, headroom > 0 ? headroom + 64 : 64);
    int extra = wanted < headroom ? wanted : (headroom > 0 ? headroom : 0);
    /* demand that max_nodes or the family's quota holds back is said on
     * the cluster and on the jobs that wait for it */
    reason[0] = '\0';
    if (wanted > extra)
        snprintf(reason, cap, "max nodes reached (%d)", c->cfg.max_nodes);
    int target = k->ready + k->unknown + k->preparing + extra;
    /* nodes idle past their deadline do not count towards the target */
    int idle_expired = 0;
    int64_t idle_ms = (int64_t)c->cfg.idle_seconds * 1000;
    for (size_t i = 0; i < c->nnodes; i++) {
        node_t *n = c->nodes[i];
        if (n->state == NODE_READY && node_is_idle(n) && !n->joined &&
            now - n->idle_since >= idle_ms)
            idle_expired++;
    }
    if (queue_len(c->queue) == 0 || extra == 0)
        target -= idle_expired;
    if (target < c->cfg.min_nodes)
        target = c->cfg.min_nodes;
    if (target > c->cfg.max_nodes)
        target = c->cfg.max_nodes;
    return target;
}

/* Asks for `count` nodes, or as many as the quotas still allow (the rest
 * is said in reason and on the cluster). */
static void s_grow(sched_t *s, cluster_t *c, int count, int64_t now,
                   char *reason, size_t cap)
{
    int fit = quota_fit(s, c, count, reason, cap);
    if (fit < count) {
        if (strcmp(c->wait_reason, reason) != 0)
            cluster_set_error(s, c, "%s", reason);
        count = fit;
    }
    snprintf(c->wait_reason, sizeof c->wait_reason, "%s", reason);
    if (count > 0)
        s_scale_out(s, c, count, now);
}

/* Releases idle nodes past their idle time (or at once above max_nodes,
 * lowered by hand) until `to_release` went. */
static void s_shrink(sched_t *s, cluster_t *c, int active, int to_release,
                     int64_t now)
{
    int over_max = active - c->cfg.max_nodes;
    int64_t idle_ms = (int64_t)c->cfg.idle_seconds * 1000;
    for (size_t i = 0; i < c->nnodes && to_release > 0; i++) {
        node_t *n = c->nodes[i];
        /* a node joined by hand is the operator's, not scale-in's */
        if (n->state != NODE_READY || !node_is_idle(n) || n->joined)
            continue;
        int expired = now - n->idle_since >= idle_ms;
        if (!expired && over_max <= 0)
            continue;
        char why[96];
        if (expired)
            snprintf(why, sizeof why, "idle for %lld s",
                     (long long)((now - n->idle_since) / 1000));
        else
            snprintf(why, sizeof why, "above max_nodes %d", c->cfg.max_nodes);
        over_max--;
        s_release(s, c, n, why);
        to_release--;
    }
}

void autoscaler_tick(sched_t *s, cluster_t *c, int64_t now)
{
    s_drop_stale(s, c, now);
    node_counts_t k;
    autoscaler_count(c, &k);
    int active = k.ready + k.preparing + k.unknown;
    char reason[160];
    int target = s_target(c, &k, now, reason, sizeof reason);
    c->target_nodes = target;
    if (active < target && now < c->scale_out_after) {
        snprintf(c->wait_reason, sizeof c->wait_reason,
                 "provider %s failed; next try in %lld s",
                 c->provider->ops->name,
                 (long long)((c->scale_out_after - now + 999) / 1000));
        return;
    }
    if (active < target) {
        s_grow(s, c, target - active, now, reason, sizeof reason);
        return;
    }
    snprintf(c->wait_reason, sizeof c->wait_reason, "%s", reason);
    if (active > target)
        s_shrink(s, c, active, active - target, now);
}
