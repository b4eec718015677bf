/* cli_output_int.h - what the CLI's view files share (cli_output.c,
 * cli_output_job.c): the initialisers of their field and column rows and
 * a few formatters.  Not for the rest of the CLI: it sees cli.h. */
#ifndef DR_CLI_OUTPUT_INT_H
#define DR_CLI_OUTPUT_INT_H

#include "cli.h"

#include <stddef.h>

/* Field and column initialisers: FLD(key, type, Msg, field), ... */
#define FLD(k, t, m, f)                                                        \
    {                                                                          \
        k, t, offsetof(m, f), 0, NULL                                          \
    }
#define REP(k, t, m, f)                                                        \
    {                                                                          \
        k, t, offsetof(m, f), offsetof(m, n_##f), NULL                         \
    }
#define COL(h, t, m, f)                                                        \
    {                                                                          \
        h, t, offsetof(m, f), 0, NULL, 0                                       \
    }
#define COLN(h, m, f)                                                          \
    {                                                                          \
        h, CLI_F_STRS, offsetof(m, f), offsetof(m, n_##f), NULL, 0             \
    }
#define COLF(h, fn)                                                            \
    {                                                                          \
        h, CLI_F_STR, 0, 0, fn, 0                                              \
    }
#define NROWS(a) (sizeof(a) / sizeof(a)[0])

/* The list a reply carries and the one message it carries, for the views. */
#define ITEMS(fn, body, list, count)                                           \
    static const void *const *fn(const dr_env_t *rep, size_t *n)               \
    {                                                                          \
        *n = rep->body ? rep->body->count : 0;                                 \
        return rep->body ? (const void *const *)rep->body->list : NULL;        \
    }
#define ONE(fn, body)                                                          \
    static const void *fn(const dr_env_t *rep)                                 \
    {                                                                          \
        return rep->body;                                                      \
    }

/* s, or "-" for NULL and "". */
const char *cli_out_or_dash(const char *s);
/* Names joined with commas into b (cleared first). */
void cli_out_join(dr_buf_t *b, char *const *v, size_t n);
/* succeeded, failed, canceled or timeout. */
int cli_out_job_finished(const char *state);

#endif
