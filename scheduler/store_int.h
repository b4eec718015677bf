/* store_int.h - what the SQLite store's files share (store.c owns the
 * handle and the transaction; store_logs.c keeps the job logs).  Not for
 * the rest of the scheduler: it sees store.h only. */
#ifndef DR_STORE_INT_H
#define DR_STORE_INT_H

#include "store.h"
#include "store_pg.h"

#include <sqlite3.h>
#include <stdio.h>

#define STORE_NST 32    /* room for store.c's statements (ST_COUNT) */
#define STORE_LOG_NST 8 /* store_logs.c's */

struct store {
    store_pg_t *pg; /* the PostgreSQL backend: every call goes there */
    sqlite3 *db;
    sqlite3_stmt *st[STORE_NST];
    sqlite3_stmt *log_st[STORE_LOG_NST];
    sqlite3_stmt *usage_st; /* store_usage_put's, prepared at first use */
    int in_tx;
    int tx_err;   /* the first failure inside the open transaction: an
                   * extended SQLite code, 0 = none; such a transaction is
                   * never committed (a statement of it may be undone) */
    int last_err; /* the extended code of the last failure, 0 = none */
};

/* Records a failure of the last statement (poisoning the open
 * transaction) and logs it; DR_ENOSPC for a full disk, else DR_EDB. */
int store_sq_fail(store_t *self, const char *what);
/* Runs SQL with no result rows; a failure as store_sq_fail's. */
int store_sq_exec(store_t *self, const char *sql);
/* A full disk, as SQLite and the OS say it. */
int store_sq_full(int code);

/* A text parameter ("" for NULL), and a column's text copied into dst. */
static inline void store_sq_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_TRANSIENT);
}
static inline void store_sq_copy(char *dst, size_t cap,
                                 const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* store_schema.c: the schema of a new database, and the migrations of
 * an older one (0, or DR_EDB). */
extern const char store_schema[];
int store_migrate(store_t *self);

/* store_keys.c: the join token and API token tables (migrations 4, 5). */
extern const char store_join_token_schema[];
extern const char store_api_token_schema[];

/* store_logs.c: the job log table's schema (migration 7), and its
 * statements, prepared after the migrations and finalized at the end. */
extern const char store_logs_schema[];
int store_logs_prepare(store_t *self);
void store_logs_finalize(store_t *self);

/* store_files.c: the job files table (migration 10). */
extern const char store_files_schema[];

/* store_quotas.c: migration 8 (quotas keyed by location and family). */
int store_quotas_migrate(store_t *self);

#endif
