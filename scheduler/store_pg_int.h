/* store_pg_int.h - what the PostgreSQL store's files share: store_pg.c
 * owns the connections, the transaction and the fencing; the files of
 * one kind of row (store_pg_logs.c) run their statements through here. */
#ifndef DR_STORE_PG_INT_H
#define DR_STORE_PG_INT_H

#include "store_pg.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

/* The prepared statements of store_pg.c (its s_sql). */
enum {
    Q_CLUSTER_PUT,
    Q_CLUSTER_DEL,
    Q_CLUSTER_ERR,
    Q_CLUSTER_ALL,
    Q_NODE_PUT,
    Q_NODE_STATE,
    Q_NODE_DEL,
    Q_NODE_ALL,
    Q_JOB_INSERT,
    Q_JOB_UPDATE,
    Q_JOB_GET,
    Q_JOB_STATES,
    Q_JOB_LIST,
    Q_TASK_PUT,
    Q_EVENT,
    Q_EVENT_PRUNE,
    Q_EVENT_LIST,
    Q_PRINCIPAL_PUT,
    Q_PRINCIPAL_DEL,
    Q_PRINCIPAL_ALL,
    Q_JT_PUT,
    Q_JT_GET,
    Q_JT_BY_KEY,
    Q_JT_ALL,
    Q_API_PUT,
    Q_API_GET,
    Q_TERM,
    Q_COUNT
};

/* Prepared statement `which`: as store_pg_query, and as store_pg_write
 * (in the open transaction, or fenced alone). */
PGresult *store_pg_run(store_pg_t *self, int which, const args_t *a);
int store_pg_write_q(store_pg_t *self, int which, const args_t *a,
                     PGresult **out);
/* A write whose arguments are one or two strings (t2 NULL: one). */
int store_pg_write_str(store_pg_t *self, int which, const char *t1,
                       const char *t2);

/* A write whose unique violation is DR_EEXIST ("another row has it"). */
int store_pg_write_unique(store_pg_t *self, int which, const args_t *a);
/* store_pg_schema.c: migration i brings schema_version i to i + 1. */
extern const char *const store_pg_migrations[];
extern const int store_pg_nmigrations;

/* A column as a number, and as text copied into dst. */
static inline int64_t pg_i64(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}
static inline void pg_str(char *dst, size_t cap, const PGresult *r, int row,
                          int col)
{
    snprintf(dst, cap, "%s", PQgetvalue(r, row, col));
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
