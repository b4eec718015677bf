/* provider.h - how nodes come into being and go away.
 *
 * A provider is a table of functions chosen per cluster (Slurm's plugin
 * style).  create() asks for one node with a given name and returns at
 * once; the node counts as "preparing" until its agent registers.
 * destroy() releases it.  Providers must not block the loop: the local one
 * forks and returns; slow ones (exec, http) would run on an actor thread.
 */
#ifndef DR_PROVIDER_H
#define DR_PROVIDER_H

#include "sched_core.h"

#include <stddef.h>

typedef struct {
    const char *name;
    /* Starts a node; *pid_out gets a local pid when there is one. */
    int (*create)(provider_t *p, const cluster_t *c, const char *node_name,
                  int *pid_out, char *err, size_t errlen);
    /* Releases a node (pid 0 when unknown). */
    int (*destroy)(provider_t *p, const char *node_name, int pid, char *err,
                   size_t errlen);
    /* 1 when the node's machine or process is certainly gone (a leaving
     * node can then be forgotten at once); may be NULL. */
    int (*gone)(provider_t *p, const char *node_name, int pid);
    /* Reaps finished children etc.; may be NULL. */
    void (*poll)(provider_t *p);
    void (*free)(provider_t *p);
} provider_ops_t;

struct provider {
    const provider_ops_t *ops;
    void *ctx;
};

/* The local provider: each node is a drover-agent process on this host
 * with the vm size's cpus and memory.  agent_bin is the agent executable,
 * connect the scheduler's agent endpoint as agents reach it, state_dir
 * where node work dirs and logs go. */
provider_t *provider_local_new(const char *agent_bin, const char *connect,
                               const char *state_dir, int heartbeat_ms);

/* Looks a provider up by name ("local"); NULL when unknown. */
int provider_known(const char *name);

void provider_destroy(provider_t **self_p);

#endif
