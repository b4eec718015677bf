/* placement.c - see placement.h. */
#include "placement.h"
#include "queue.h"

#include <stdio.h>

int placement_fits(const node_t *n, const job_t *j)
{
    return n->state == NODE_READY && n->cpus_used + j->cpus <= n->cpus &&
           n->memory_used_mb + j->memory_mb <= n->memory_mb &&
           (!j->has_image || (n->runtimes & RT_DOCKER)) &&
           (!j->gpus || node_free_gpus(n) >= j->gpus);
}

static int s_blocked(const cluster_t *c, const job_t *j)
{
    for (int i = 0; i < c->nblocked; i++)
        if (c->blocked[i].cpus <= j->cpus &&
            c->blocked[i].memory_mb <= j->memory_mb &&
            c->blocked[i].gpus <= j->gpus &&
            c->blocked[i].has_image <= j->has_image)
            return 1;
    return 0;
}

static void s_block(cluster_t *c, const job_t *j)
{
    if (c->nblocked == (int)(sizeof c->blocked / sizeof c->blocked[0]))
        return;
    c->blocked[c->nblocked].cpus = j->cpus;
    c->blocked[c->nblocked].memory_mb = j->memory_mb;
    c->blocked[c->nblocked].gpus = j->gpus;
    c->blocked[c->nblocked].has_image = j->has_image;
    c->nblocked++;
}

/* Best fit: least free cpus after placement, then least free memory. */
static node_t *s_best_node(const cluster_t *c, const job_t *j)
{
    node_t *best = NULL;
    uint64_t best_cpu = UINT64_MAX, best_mem = UINT64_MAX;
    for (size_t i = 0; i < c->nnodes; i++) {
        node_t *n = c->nodes[i];
        if (!placement_fits(n, j))
            continue;
        uint64_t fc = n->cpus - n->cpus_used - j->cpus;
        uint64_t fm = n->memory_mb - n->memory_used_mb - j->memory_mb;
        if (fc < best_cpu || (fc == best_cpu && fm < best_mem)) {
            best = n;
            best_cpu = fc;
            best_mem = fm;
            if (fc == 0 && fm == 0)
                break;
        }
    }
    return best;
}

int placement_try(sched_t *s, cluster_t *c, job_t *j)
{
    if (j->cancel_requested || s_blocked(c, j))
        return 0;
    node_t *n = s_best_node(c, j);
    if (!n) {
        s_block(c, j);
        return 0;
    }
    return sched_job_start(s, j, n) == 0;
}

void placement_capacity_grew(cluster_t *c)
{
    c->dirty = 1;
}

size_t placement_pass(sched_t *s, cluster_t *c)
{
    if (!c->dirty)
        return 0;
    c->dirty = 0;
    c->nblocked = 0;
    size_t placed = 0;
    job_t *j = queue_first(c->queue);
    while (j) {
        job_t *next = queue_next(c->queue, j);
        placed += (size_t)placement_try(s, c, j);
        /* a 1-cpu, no-memory shape blocked means nothing else can fit */
        if (c->nblocked && c->blocked[0].cpus <= 1 &&
            c->blocked[0].memory_mb <= 1 && !c->blocked[0].gpus &&
            !c->blocked[0].has_image)
            break;
        j = next;
    }
    return placed;
}

const char *placement_wait_reason(const sched_t *s, const job_t *j, char *buf,
                                  size_t cap)
{
    (void)s;
    const cluster_t *c = j->cluster;
    int ready = 0, preparing = 0, docker = 0;
    uint32_t max_free_gpus = 0, max_healthy_gpus = 0;
    for (size_t i = 0; i < c->nnodes; i++) {
        const node_t *n = c->nodes[i];
        if (n->state == NODE_READY) {
            ready++;
            docker += (n->runtimes & RT_DOCKER) != 0;
            uint32_t f = node_free_gpus(n), h = 0;
            for (uint32_t k = 0; k < n->ngpus; k++)
                h += n->gpus[k].healthy;
            if (f > max_free_gpus)
                max_free_gpus = f;
            if (h > max_healthy_gpus)
                max_healthy_gpus = h;
        } else if (n->state == NODE_PREPARING) {
            preparing++;
        }
    }
    if (j->has_image && ready && !docker)
        snprintf(buf, cap, "no ready node of cluster %s has the docker runtime",
                 c->cfg.name);
    else if (j->gpus && ready && max_healthy_gpus < j->gpus && !preparing)
        snprintf(buf, cap, "no node has %u healthy GPUs (at most %u)", j->gpus,
                 max_healthy_gpus);
    else if (j->gpus && max_healthy_gpus >= j->gpus && max_free_gpus < j->gpus)
        snprintf(buf, cap, "waiting for %u free GPUs on one node%s%s", j->gpus,
                 c->wait_reason[0] ? "; " : "", c->wait_reason);
    else if (c->wait_reason[0])
        snprintf(buf, cap, "%s", c->wait_reason);
    else if (preparing)
        snprintf(buf, cap, "waiting for nodes being created (scaling out)");
    else if (c->cfg.max_nodes == 0)
        snprintf(buf, cap, "cluster max_nodes is 0");
    else if ((int)c->nnodes >= c->cfg.max_nodes)
        snprintf(buf, cap,
                 "max nodes reached (%d): waiting for running jobs to finish",
                 c->cfg.max_nodes);
    else if (!ready)
        snprintf(buf, cap, "no cluster capacity yet (scaling out)");
    else if (j->gpus && max_free_gpus < j->gpus)
        snprintf(buf, cap, "waiting for %u free GPUs on one node", j->gpus);
    else
        snprintf(buf, cap, "waiting for free capacity on a node");
    return buf;
}
