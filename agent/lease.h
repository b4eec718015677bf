/* lease.h - the node's lease on its tasks (fencing).
 *
 * The scheduler gives a lost node's work to another node once the node has
 * been silent for the heartbeat timeout (and a margin).  By then the node
 * must have stopped that work, even when the agent itself is frozen
 * (SIGSTOP, a paused VM) or cut off (a partition).  The lease says until
 * when the node may run tasks: the send time of the latest heartbeat or
 * register that the scheduler answered, plus the lease the scheduler
 * announced (RegisterAck.lease_ms).  Since the scheduler received that
 * message after it was sent, the lease always ends before the scheduler's
 * deadline for the node.
 *
 * The expiry lives in a shared anonymous mapping that every process task's
 * shim inherits across fork(): a shim checks it itself (lease_expired() is
 * async-signal-safe: one atomic load and clock_gettime) and kills its
 * process group once it passed, so a frozen agent's tasks still die on
 * time.  The agent checks it in its loop too and stops every task of any
 * runtime; a container has no shim, its guard (lease_guard.h) kills it.
 *
 * One lease per node; it owns its mapping.  A lease that was never armed
 * (lease_ms 0, or no answer yet) never expires.
 */
#ifndef DR_LEASE_H
#define DR_LEASE_H

#include <stdint.h>

typedef struct lease lease_t;

/* A lease that is not armed.  NULL only if mmap failed (logged). */
lease_t *lease_new(void);
/* Unmaps it (shims keep their own mapping).  Accepts NULL; nulls *self_p. */
void lease_destroy(lease_t **self_p);

/* A message that the scheduler answers was sent at mono ms sent_at. */
void lease_sent(lease_t *self, uint64_t seq, int64_t sent_at);
/* The scheduler answered message seq (a heartbeat's seq, or 0 for the
 * register) and announced lease_ms (0: no lease): the lease now runs to
 * that message's send time + lease_ms, if that is later.  An answer to a
 * message this lease does not remember (too old) renews nothing. */
void lease_answered(lease_t *self, uint64_t seq, uint32_t lease_ms);
/* Ends the lease now (the node leaves, or the scheduler refused it). */
void lease_end(lease_t *self);

/* Mono ms at which the lease ends; INT64_MAX while it is not armed. */
int64_t lease_expiry(const lease_t *self);
/* 1 once the lease has passed.  Async-signal-safe: shims call it. */
int lease_expired(const lease_t *self);
/* The lease as the shims see it (the shared word), for runtime_process. */
const volatile int64_t *lease_word(const lease_t *self);
/* The same check on a shared word (NULL: never expires). */
int lease_word_expired(const volatile int64_t *word);

#endif
