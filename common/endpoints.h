/* endpoints.h - a comma-separated list of scheduler endpoints, as the CLI
 * and the agents take them (--scheduler, DROVER_SCHEDULER) when several
 * schedulers share one PostgreSQL: one leads, the others answer "not the
 * leader, try ENDPOINT", and the peer follows.  Plain functions over the
 * string; nothing is allocated.
 */
#ifndef DR_ENDPOINTS_H
#define DR_ENDPOINTS_H

#include <stddef.h>

/* How many entries the list has (an empty list has none). */
int dr_ep_count(const char *list);
/* Entry i (0-based, modulo the count) into out; 0, or DR_EINVAL when
 * the list is empty or the entry does not fit. */
int dr_ep_get(const char *list, int i, char *out, size_t cap);
/* The index of ep in the list, or -1. */
int dr_ep_find(const char *list, const char *ep);
/* Where to go after `cur` when told "not the leader, try hint": the hint's
 * index when it is in the list, else the next entry. */
int dr_ep_follow(const char *list, int cur, const char *hint);
/* 0 when every entry is a tcp:// or ipc:// endpoint, else DR_EINVAL with
 * the first bad one in bad. */
int dr_ep_check(const char *list, char *bad, size_t cap);

#endif
