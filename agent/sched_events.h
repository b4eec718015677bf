/* sched_events.h - the scheduled-events poller (Azure instance metadata).
 *
 * A sched_events_t asks a scheduled-events endpoint (GET URL, header
 * "Metadata: true") every interval and remembers the Preempt events that
 * name this node (or name no resource at all), each EventId once.  It never
 * blocks: the request runs on a libcurl multi handle that the agent's loop
 * drives through sched_events_tick(), polling the fds that
 * sched_events_fd() names; a request that hangs is given up after 2 s.
 * Bad answers (transport errors, HTTP errors, non-JSON, wrong types) are
 * logged once per distinct problem and polling goes on.  Nothing here knows
 * ZeroMQ, tasks or the scheduler.
 */
#ifndef DR_SCHED_EVENTS_H
#define DR_SCHED_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#define SCHED_EVENTS_TIMEOUT_MS 2000
#define SCHED_EVENTS_MAX_PREEMPTS 16
#define SCHED_EVENTS_ID_MAX 128

typedef struct sched_events sched_events_t;

/* One parsed document: the Preempt events for `node`. */
typedef struct {
    int64_t incarnation;
    size_t n_preempts;
    char preempts[SCHED_EVENTS_MAX_PREEMPTS][SCHED_EVENTS_ID_MAX];
    char warning[256]; /* an event that was skipped, and why; "" = none */
} sched_events_doc_t;

/* Parses a scheduled-events document for `node`.  0, or DR_EINVAL with the
 * problem in why (then out is empty).  A malformed single event is skipped
 * and named in out->warning; the other events still count. */
int sched_events_parse(const char *doc, size_t len, const char *node,
                       sched_events_doc_t *out, char *why, size_t whylen);

/* Starts polling url (http:// or https://) for node, every interval_ms
 * (first poll at once).  NULL on failure (logged).  Strings are copied. */
sched_events_t *sched_events_new(const char *url, const char *node,
                                 int64_t interval_ms);

/* Aborts a request in flight.  Accepts NULL; nulls *self_p. */
void sched_events_destroy(sched_events_t **self_p);

/* Starts a due poll and completes what finished, without blocking.
 * Returns the monotonic ms at which it wants to be called again. */
int64_t sched_events_tick(sched_events_t *self, int64_t now);

/* The sockets of the request in flight, for the loop's poll.
 * sched_events_fd() returns the fd and sets *want_read / *want_write. */
size_t sched_events_nfds(const sched_events_t *self);
int sched_events_fd(const sched_events_t *self, size_t i, int *want_read,
                    int *want_write);

/* Takes the oldest Preempt event not taken yet: 1 with its id in id,
 * 0 when there is none. */
int sched_events_take(sched_events_t *self, char *id, size_t idlen);

#endif
