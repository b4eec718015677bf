/* array_spec.h - a job array's index spec, as Slurm's `sbatch --array`:
 * "0-99", "0-99:4" (a step), "1,3,5-7" (a list of indices and ranges),
 * each optionally ending in "%N" (at most N elements run at once).
 * Used by the CLI (an early error) and the scheduler (the one that
 * counts). */
#ifndef DR_ARRAY_SPEC_H
#define DR_ARRAY_SPEC_H

#include <stddef.h>
#include <stdint.h>

#define DR_ARRAY_MAX_ELEMS 100000u   /* elements of one array */
#define DR_ARRAY_MAX_INDEX 10000000u /* the highest index */

typedef struct {
    uint32_t *idx; /* the indices, ascending, no repeats; owned */
    size_t n;
    uint32_t max_running; /* 0 = no limit */
    uint32_t step;        /* of a single range "A-B:S"; 1 otherwise */
} dr_array_t;

/* Parses spec into *out (free with dr_array_free); DR_EINVAL with why
 * set on a malformed spec, an empty one, a descending range, more than
 * DR_ARRAY_MAX_ELEMS elements or an index above DR_ARRAY_MAX_INDEX. */
int dr_array_parse(const char *spec, dr_array_t *out, char *why, size_t cap);
void dr_array_free(dr_array_t *a);

#endif
