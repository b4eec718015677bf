/* statedir.h - the scheduler's claim on its state directory.
 *
 * One scheduler per state dir: two serving one database would each think
 * they own every job.  statedir_lock() takes an exclusive flock on
 * <state_dir>/lock and writes who holds it (pid, host, start time) into
 * it, so that a second scheduler is refused with the holder named.  The
 * lock lives as long as the returned fd (the kernel drops it when the
 * process dies, kill -9 included).
 *
 * statedir_check() refuses a state dir whose database is empty while its
 * keys/ exist: that is a lost or truncated database, not a fresh install,
 * and starting on it would silently forget every job.
 */
#ifndef DR_STATEDIR_H
#define DR_STATEDIR_H

#include <stddef.h>

/* Creates the state dir if needed and locks it.  Returns the lock's fd
 * (>= 0; keep it open), or a negative DR_E* code with the reason in err:
 * DR_ESTATE when another process holds it. */
int statedir_lock(const char *state_dir, char *err, size_t errlen);

/* 0, or DR_EINVAL with the reason in err when drover.db is empty next to
 * an existing keys/ directory. */
int statedir_check(const char *state_dir, char *err, size_t errlen);

#endif
