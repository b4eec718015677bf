/* placement.c - see placement.h.  A policy over the model: it reads
 * clusters, nodes and queues and binds jobs with job_start; the
 * model never calls it (the loop does). */
#include "placement.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

int placement_fits(const node_t *n, const job_t *j)
{
    return n->state == NODE_READY && !n->drain &&
           n->cpus_used + j->cpus <= n->cpus &&
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

/* Adds j's shape to the blocked frontier (s_blocked said no shape there
 * covers it).  The shapes it covers go: they are implied, and the
 * frontier stays the fewest shapes, so that its few slots hold more. */
static void s_block(cluster_t *c, const job_t *j)
{
    for (int i = 0; i < c->nblocked;) {
        if (j->cpus <= c->blocked[i].cpus &&
            j->memory_mb <= c->blocked[i].memory_mb &&
            j->gpus <= c->blocked[i].gpus &&
            j->has_image <= c->blocked[i].has_image)
            c->blocked[i] = c->blocked[--c->nblocked];
        else
            i++;
    }
    if (c->nblocked == (int)(sizeof c->blocked / sizeof c->blocked[0]))
        return;
    c->blocked[c->nblocked].cpus = j->cpus;
    c->blocked[c->nblocked].memory_mb = j->memory_mb;
    c->blocked[c->nblocked].gpus = j->gpus;
    c->blocked[c->nblocked].has_image = j->has_image;
    c->nblocked++;
}

/* A node held for a waiting gang takes other work only when that work
 * ends (by its time limit) before the gang is expected to start there:
 * backfill, as Slurm's. */
static int s_resv_allows(const node_t *n, const job_t *j, int64_t now_ms)
{
    if (!n->resv_job || n->resv_job == j->id)
        return 1;
    return j->time_limit_ms && n->resv_until != INT64_MAX &&
           now_ms + (int64_t)j->time_limit_ms <= n->resv_until;
}

static int s_usable(const node_t *n, const job_t *j, int64_t now_ms)
{
    return placement_fits(n, j) && s_resv_allows(n, j, now_ms);
}

/* The first node of c's capacity index, from (cpus, mem_mb) on, with at
 * least that much free that ok accepts: nodes with the cpus but too
 * little memory are stepped over a whole run of equal free cpus at a
 * time. */
static node_t *s_first_with(const cluster_t *c, int64_t cpus, int64_t mem_mb,
                            int (*ok)(const node_t *, const job_t *, int64_t),
                            const job_t *j, int64_t now)
{
    node_t *n = capidx_seek(c->capidx, cpus, mem_mb);
    while (n) {
        if (n->cap.mem_mb < mem_mb)
            n = capidx_seek(c->capidx, n->cap.cpus, mem_mb);
        else if (ok(n, j, now))
            return n;
        else
            n = capidx_next(n);
    }
    return NULL;
}

/* Best fit: least free cpus after placement, then least free memory, then
 * the node added first (the order of c->nodes) - what a scan of every
 * node keeping the least found.  In the capacity index that is the first
 * usable node from j's request on: O(log nodes) when it is usable, plus
 * the nodes stepped over (not ready, drained, without docker or the
 * GPUs, held for a gang). */
node_t *placement_best_node(const cluster_t *c, const job_t *j)
{
    return s_first_with(c, j->cpus, (int64_t)j->memory_mb, s_usable, j,
                        dr_now_ms());
}

static int s_takes_work(const node_t *n, const job_t *j, int64_t now)
{
    (void)j;
    (void)now;
    return n->state == NODE_READY && !n->drain;
}

/* Has any node that takes work a cpu free?  Every job asks at least
 * one, so with none the rest of a pass can place nothing. */
static int s_room(const cluster_t *c)
{
    return s_first_with(c, 1, 0, s_takes_work, NULL, 0) != NULL;
}

/* Keeps in pick[0..*n) the (at most cap) nodes of smallest key seen so
 * far, sorted by key. */
static void s_keep_smallest(node_t **pick, int64_t *key, uint32_t *n,
                            uint32_t cap, node_t *nd, int64_t k)
{
    uint32_t i = *n;
    if (i == cap) {
        if (k >= key[cap - 1])
            return;
        i--; /* the largest goes */
    } else {
        (*n)++;
    }
    while (i > 0 && key[i - 1] > k) {
        pick[i] = pick[i - 1];
        key[i] = key[i - 1];
        i--;
    }
    pick[i] = nd;
    key[i] = k;
}

/* Could n ever run one task of j (with all its work gone)? */
static int s_could_host(const node_t *n, const job_t *j)
{
    uint32_t healthy = node_healthy_gpus(n);
    return n->state == NODE_READY && !n->drain && j->cpus <= n->cpus &&
           j->memory_mb <= n->memory_mb &&
           (!j->has_image || (n->runtimes & RT_DOCKER)) && j->gpus <= healthy;
}

/* When n is expected to have room for j: now, when its jobs' time limits
 * run out, or INT64_MAX when one of them has none. */
static int64_t s_free_at(const node_t *n, const job_t *j, int64_t now)
{
    if (placement_fits(n, j))
        return now;
    int64_t at = now;
    for (size_t i = 0; i < n->njobs; i++) {
        const job_t *o = n->jobs[i];
        if (!o->time_limit_ms)
            return INT64_MAX;
        int64_t start = o->started_at_ms > 0 ? o->started_at_ms : now;
        int64_t end = start + (int64_t)o->time_limit_ms;
        if (end > at)
            at = end;
    }
    return at;
}

/* The (at most j->nodes) nodes of c where j can start soonest, soonest
 * first, with when (s_free_at): of those that could ever host it and are
 * not held for another gang.  Their count; 0 when j asks too many. */
static uint32_t s_soonest(const cluster_t *c, const job_t *j, int64_t now,
                          node_t **pick, int64_t *at)
{
    uint32_t n = 0;
    if (j->nodes > DR_MAX_JOB_NODES)
        return 0;
    for (size_t i = 0; i < c->nnodes; i++) {
        node_t *nd = c->nodes[i];
        if ((nd->resv_job && nd->resv_job != j->id) || !s_could_host(nd, j))
            continue;
        s_keep_smallest(pick, at, &n, j->nodes, nd, s_free_at(nd, j, now));
    }
    return n;
}

/* Holds for gang j the nodes where it can start soonest, so that a stream
 * of small jobs cannot starve it; the expected start is what backfill
 * measures against.  With fewer such nodes than it needs (scale-out is
 * coming), those there are are held with no expected start. */
static void s_reserve(cluster_t *c, const job_t *j)
{
    if (j->nodes > (uint32_t)c->cfg.max_nodes)
        return; /* never fits: holding nodes would only idle them */
    node_t *pick[DR_MAX_JOB_NODES];
    int64_t at[DR_MAX_JOB_NODES];
    uint32_t n = s_soonest(c, j, dr_now_ms(), pick, at);
    int64_t until = n < j->nodes ? INT64_MAX : (n ? at[n - 1] : INT64_MAX);
    for (uint32_t i = 0; i < n; i++) {
        pick[i]->resv_job = j->id;
        pick[i]->resv_until = until;
    }
}

int64_t placement_predicted_start(const sched_t *s, const job_t *j)
{
    (void)s;
    const cluster_t *c = j->cluster;
    if (j->held || j->cancel_requested || j->state != JOB_QUEUED || !c ||
        !j->nodes)
        return 0;
    node_t *pick[DR_MAX_JOB_NODES];
    int64_t at[DR_MAX_JOB_NODES];
    uint32_t n = s_soonest(c, j, dr_now_ms(), pick, at);
    if (n < j->nodes || at[n - 1] == INT64_MAX)
        return 0;
    return at[n - 1];
}

/* All of a gang's nodes at once, or none: the best-fitting usable nodes,
 * the fullest first (it becomes the head). */
static int s_try_gang(sched_t *s, cluster_t *c, job_t *j)
{
    node_t *pick[DR_MAX_JOB_NODES];
    int64_t left[DR_MAX_JOB_NODES];
    uint32_t n = 0;
    int64_t now = dr_now_ms();
    for (size_t i = 0; i < c->nnodes; i++) {
        node_t *nd = c->nodes[i];
        if (s_usable(nd, j, now))
            s_keep_smallest(pick, left, &n, j->nodes, nd,
                            (int64_t)(nd->cpus - nd->cpus_used - j->cpus));
    }
    if (n < j->nodes) {
        if (!c->resv_done) {
            s_reserve(c, j);
            c->resv_done = 1;
        }
        return 0;
    }
    return job_start(s, j, pick, n) == 0;
}

int placement_try(sched_t *s, cluster_t *c, job_t *j)
{
    if (j->cancel_requested || j->held)
        return 0;
    if (j->nodes > 1)
        return s_try_gang(s, c, j);
    if (s_blocked(c, j))
        return 0;
    node_t *n = placement_best_node(c, j);
    if (!n) {
        s_block(c, j);
        return 0;
    }
    return job_start(s, j, &n, 1) == 0;
}

static size_t s_pass(sched_t *s, cluster_t *c, size_t budget);

size_t placement_pass(sched_t *s, cluster_t *c, size_t budget)
{
    if (!c->dirty || !budget)
        return 0;
    struct timespec t0, t1;
    (void)clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t n = s_pass(s, c, budget);
    (void)clock_gettime(CLOCK_MONOTONIC, &t1);
    metrics_observe(s->metrics, MH_PLACEMENT, NULL,
                    (double)(t1.tv_sec - t0.tv_sec) +
                        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return n;
}

/* The pass itself: from the head of the queue, with backfill. */
static size_t s_pass(sched_t *s, cluster_t *c, size_t budget)
{
    c->dirty = 0;
    c->nblocked = 0;
    /* reservations are made again, for the first gang that waits */
    c->resv_done = 0;
    for (size_t i = 0; i < c->nnodes; i++)
        c->nodes[i]->resv_job = 0;
    size_t placed = 0;
    job_t *j = queue_first(c->queue);
    while (j) {
        job_t *next = queue_next(c->queue, j);
        int waits = !j->held && !j->cancel_requested;
        if (placement_try(s, c, j)) {
            if (++placed == budget) {
                c->dirty = 1; /* the rest in the next pass */
                break;
            }
        } else if (waits && !s_room(c)) {
            break; /* no node has a cpu free: no job behind it can fit */
        }
        j = next;
    }
    return placed;
}

const char *placement_wait_reason(const sched_t *s, const job_t *j, char *buf,
                                  size_t cap)
{
    (void)s;
    if (j->held && j->hold_reason) {
        snprintf(buf, cap, "%s", j->hold_reason);
        return buf;
    }
    const cluster_t *c = j->cluster;
    int ready = 0, preparing = 0, docker = 0;
    uint32_t max_free_gpus = 0, max_healthy_gpus = 0;
    for (size_t i = 0; i < c->nnodes; i++) {
        const node_t *n = c->nodes[i];
        if (n->state == NODE_READY) {
            ready++;
            docker += (n->runtimes & RT_DOCKER) != 0;
            uint32_t f = node_free_gpus(n), h = node_healthy_gpus(n);
            if (f > max_free_gpus)
                max_free_gpus = f;
            if (h > max_healthy_gpus)
                max_healthy_gpus = h;
        } else if (n->state == NODE_PREPARING) {
            preparing++;
        }
    }
    /* gangs, and nodes held for them */
    uint32_t room = 0, held = 0;
    uint64_t holder = 0;
    int64_t now = dr_now_ms();
    for (size_t i = 0; i < c->nnodes; i++) {
        const node_t *n = c->nodes[i];
        if (!placement_fits(n, j))
            continue;
        if (s_resv_allows(n, j, now)) {
            room++;
        } else {
            held++;
            holder = n->resv_job;
        }
    }
    if (j->nodes > 1 && j->nodes > (uint32_t)c->cfg.max_nodes)
        snprintf(buf, cap,
                 "needs %u nodes at once but cluster %s has at most "
                 "%d",
                 j->nodes, c->cfg.name, c->cfg.max_nodes);
    else if (j->nodes > 1)
        snprintf(buf, cap,
                 "waiting for %u nodes at once (%u with room now)%s%s",
                 j->nodes, room, c->wait_reason[0] ? "; " : "", c->wait_reason);
    else if (!room && held)
        snprintf(buf, cap,
                 "nodes with room are held for gang job %llu; a job "
                 "whose time limit ends before that one starts may backfill",
                 (unsigned long long)holder);
    else if (j->has_image && ready && !docker)
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
