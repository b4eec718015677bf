/* ratelim.h - at most one log line and event row per peer and kind of
 * refusal in a window.
 *
 * A peer that retries a refused connection or keeps sending bad messages
 * would otherwise write a log line and an events row each time.  The
 * limiter keeps a small table of keys (peer and kind); the first refusal
 * of a key in a window is recorded, the rest only counted, and the next
 * recorded one says how many were left out.  A full table forgets its
 * oldest key.  Owns only its table; no I/O.
 */
#ifndef DR_RATELIM_H
#define DR_RATELIM_H

#include <stdint.h>

typedef struct ratelim ratelim_t;

/* window_ms per key; NULL only on out of memory (which aborts). */
ratelim_t *ratelim_new(int64_t window_ms);
void ratelim_destroy(ratelim_t **self_p);

/* 1 if this refusal of `key` at mono ms `now` is to be recorded, with
 * *suppressed = how many of the same key were left out since the last
 * one recorded; 0 if it is to be left out (counted). */
int ratelim_allow(ratelim_t *self, const char *key, int64_t now,
                  uint64_t *suppressed);

#endif
