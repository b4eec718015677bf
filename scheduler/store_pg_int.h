/* store_pg_int.h - what the PostgreSQL store's files share: store_pg.c
 * owns the connections, the transaction and the fencing; the files of
 * one kind of row (store_pg_logs.c) run their statements through here. */
#ifndef DR_STORE_PG_INT_H
#define DR_STORE_PG_INT_H

#include "store_pg.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>

#define MAX_ARGS 24

/* A statement's parameters: text, or binary where fmt is 1. */
typedef struct {
    const char *v[MAX_ARGS];
    int len[MAX_ARGS];
    int fmt[MAX_ARGS];
    char num[MAX_ARGS][24];
    int n;
} args_t;

static inline void a_text(args_t *a, const char *s)
{
    a->v[a->n] = s ? s : "";
    a->len[a->n] = 0;
    a->fmt[a->n++] = 0;
}

static inline void a_i64(args_t *a, int64_t x)
{
    snprintf(a->num[a->n], sizeof a->num[a->n], "%lld", (long long)x);
    a_text(a, a->num[a->n]);
}

static inline void a_null(args_t *a)
{
    a->v[a->n] = NULL;
    a->len[a->n] = 0;
    a->fmt[a->n++] = 0;
}

static inline void a_blob(args_t *a, const void *p, size_t n)
{
    a->v[a->n] = n ? (const char *)p : "";
    a->len[a->n] = (int)n;
    a->fmt[a->n++] = 1;
}

/* A read in the open transaction (or alone): NULL when it failed (logged,
 * and the transaction poisoned), else a result the caller clears. */
PGresult *store_pg_query(store_pg_t *self, const char *sql, const args_t *a);
/* A write: in the open transaction, or a fenced one of its own. */
int store_pg_write(store_pg_t *self, const char *sql, const args_t *a,
                   PGresult **out);

/* store_pg_logs.c: the job log table (migration 7). */
extern const char store_pg_logs_schema[];
/* store_pg_quotas.c: quotas per location (migration 8). */
extern const char store_pg_quotas_schema[];
/* store_pg_files.c: a job's code and outputs (migration 10). */
extern const char store_pg_files_schema[];

#endif
