/* provider.h - how nodes come into being and go away.
 *
 * A provider is a table of functions chosen per cluster (Slurm's plugin
 * style): `local` (agent processes on this machine, shared by all local
 * clusters), `exec` (an operator's resume/suspend programs, like Slurm's
 * ResumeProgram/SuspendProgram), `http` (a webhook / cloud REST call) and
 * `docker` (each node a container on a Docker network: a separate host).
 * create() and destroy() only start the work and return at once; the node
 * counts as "preparing" until its agent registers.  What finishes later
 * (a script's exit, an HTTP answer) is told through the report callback:
 * a failed create removes the preparing node and is written on the
 * cluster.  Nothing here may block the scheduler's loop.
 */
#ifndef DR_PROVIDER_H
#define DR_PROVIDER_H

#include "catalog.h"

#include <stddef.h>
#include <sys/types.h>

typedef struct provider provider_t;

/* What a provider knows of the cluster it makes nodes for (borrowed from
 * the cluster, which outlives every call). */
typedef struct {
    const char *name;
    const vm_size_t *vm;
    const char *vm_priority; /* "dedicated" or "lowpriority" */
    const char *location;
} provider_cluster_t;

/* ok = 0 on failure; detail says what happened (exit code, HTTP status,
 * the end of a script's stderr). */
typedef void(provider_report_fn)(void *arg, const char *cluster,
                                 const char *node, const char *op, int ok,
                                 const char *detail);

typedef struct {
    const char *name;
    /* Starts a node; *pid_out gets a local pid when there is one. */
    int (*create)(provider_t *p, const provider_cluster_t *c,
                  const char *node_name, int *pid_out, char *err,
                  size_t errlen);
    /* Releases a node (pid 0 when unknown). */
    int (*destroy)(provider_t *p, const provider_cluster_t *c,
                   const char *node_name, int pid, char *err, size_t errlen);
    /* 1 when the node's machine or process is certainly gone (a leaving
     * node can then be forgotten at once); may be NULL. */
    int (*gone)(provider_t *p, const char *node_name, int pid);
    /* A child process of the scheduler ended: 1 if it was this
     * provider's (then it is handled), 0 otherwise; may be NULL. */
    int (*child_exited)(provider_t *p, pid_t pid, int status);
    /* Progress for asynchronous work (HTTP transfers); returns the most
     * milliseconds the loop may sleep, or -1 for no limit; may be NULL. */
    int (*poll)(provider_t *p);
    void (*free)(provider_t *p);
} provider_ops_t;

struct provider {
    const provider_ops_t *ops;
    void *ctx;
    provider_report_fn *report;
    void *report_arg;
};

/* The local provider: each node is a drover-agent process on this host
 * with the vm size's cpus and memory. */
provider_t *provider_local_new(const char *agent_bin, const char *connect,
                               const char *state_dir, int heartbeat_ms,
                               const char *events_url);

/* The exec provider of one cluster: runs resume_program / suspend_program
 * with arguments CLUSTER NODE_NAMES VM_SIZE PRIORITY LOCATION and the
 * environment DROVER_AGENT_ENDPOINT, DROVER_AGENT_BIN, DROVER_VM_CPUS,
 * DROVER_VM_MEMORY_MB; output goes to <state_dir>/providers/CLUSTER.log. */
provider_t *provider_exec_new(const char *resume_program,
                              const char *suspend_program,
                              const char *agent_bin, const char *connect,
                              const char *state_dir);

/* The http provider of one cluster: POSTs JSON create / delete requests
 * to url with a timeout, retries with backoff and TLS verification. */
provider_t *provider_http_new(const char *url, const char *connect,
                              const char *state_dir);

/* The join token the scheduler wrote for a node it asks a provider to
 * create (<state_dir>/nodes/NODE.token), malloc'd, or NULL when there is
 * none (--insecure).  The caller frees it. */
char *provider_join_token(const char *state_dir, const char *node);

/* The docker provider (shared by its clusters): each node a container of
 * image on the user-defined network (made when missing) through dockerd
 * at socket; its agent joins by token and reaches the scheduler at the
 * network's gateway, on agent_endpoint's port.  NULL if agent_endpoint
 * is not tcp://HOST:PORT (logged). */
provider_t *provider_docker_new(const char *socket, const char *image,
                                const char *network, const char *agent_endpoint,
                                const char *state_dir);

/* 1 for "local", "exec", "http", "docker". */
int provider_known(const char *name);

void provider_destroy(provider_t **self_p);

/* Shared by providers: tells the report callback, if any. */
void provider_report(provider_t *p, const char *cluster, const char *node,
                     const char *op, int ok, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#endif
