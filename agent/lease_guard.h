/* lease_guard.h - the fence of a container whose agent cannot act.
 *
 * A process task's shim kills it when the node's lease ends (lease.h); a
 * container has no shim, and a frozen agent (SIGSTOP, a stalled host
 * process) cannot stop it, so the scheduler's requeued attempt would run
 * beside it.  A guard is a small child of the agent, one per running
 * container, that watches the node's lease word and, once the lease has
 * passed, kills the container through dockerd's API (POST
 * /containers/ID/kill on the unix socket) and exits.  It dies with the
 * agent (PR_SET_PDEATHSIG): a restarted agent adopts its containers and
 * renews their lease itself.
 *
 * Between fork() and its end the guard makes only async-signal-safe calls
 * (the agent has ZeroMQ's threads): the request is formatted before.
 */
#ifndef DR_LEASE_GUARD_H
#define DR_LEASE_GUARD_H

#include <stdint.h>

typedef struct lease_guard lease_guard_t;

/* Forks the guard of container_id; NULL (logged) when it cannot (the
 * agent's own fence still applies). */
lease_guard_t *lease_guard_start(const volatile int64_t *lease,
                                 const char *docker_socket,
                                 const char *container_id);
/* Stops and reaps it.  Accepts NULL; nulls *self_p. */
void lease_guard_stop(lease_guard_t **self_p);
/* The guard's pid (tests). */
int lease_guard_pid(const lease_guard_t *self);

#endif
