/* capidx.h - a cluster's nodes ordered by free capacity, for best fit.
 *
 * A skip list of every node of one cluster (whatever its state), keyed by
 * (free cpus, free memory, seq): seq grows as nodes are added, and the
 * cluster's node array keeps nodes in the order they were added (removal
 * preserves it), so the key's order among equal free capacity is the
 * array's.  Best fit (placement.c) is then the first node at or after
 * (cpus, memory) of a request that passes the other checks, found in
 * O(log nodes) instead of a scan of every node.  The index links nodes
 * through their cap field and never owns them.
 *
 * Invariant: a node's key is its free capacity now.  node_mgr.c keeps it:
 * every change of a node's cpus, memory or what its jobs hold is followed
 * by capidx_update (node_bind, node_unbind, node_capacity_set).
 */
#ifndef DR_CAPIDX_H
#define DR_CAPIDX_H

#include <stdint.h>

#define CAPIDX_LEVELS 12 /* 4^12 = 16 million nodes at p = 1/4 */

typedef struct node node_t;
typedef struct capidx capidx_t;

/* The index's part of a node. */
typedef struct {
    int64_t cpus;   /* free cpus when last keyed (negative: over-used) */
    int64_t mem_mb; /* free memory when last keyed */
    uint64_t seq;
    int levels; /* 0: not in an index */
    node_t *next[CAPIDX_LEVELS];
} capidx_link_t;

capidx_t *capidx_new(void);
/* The index only: its nodes are not freed. */
void capidx_destroy(capidx_t **self_p);
/* Adds n (not in an index yet) after every node added before it. */
void capidx_insert(capidx_t *self, node_t *n);
/* Takes n out (a no-op when it is not in). */
void capidx_remove(capidx_t *self, node_t *n);
/* Re-keys n by its free capacity now. */
void capidx_update(capidx_t *self, node_t *n);
/* The first node of key order at or after (cpus, mem_mb, seq 0), or
 * NULL: its free cpus are >= cpus, and its free memory >= mem_mb when its
 * free cpus are exactly cpus (one with more free cpus may have less). */
node_t *capidx_seek(const capidx_t *self, int64_t cpus, int64_t mem_mb);
/* The node after n in key order, or NULL. */
node_t *capidx_next(const node_t *n);
/* The most free cpus of any node, or -1 when there are no nodes. */
int64_t capidx_max_cpus(const capidx_t *self);

#endif
