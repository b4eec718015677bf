/* store_files.c - a job's files in the store (see store.h,
 * store_file_*): its code archive and each node rank's collected outputs,
 * one row per (job, kind, node rank), written in the pass's transaction
 * like every other row, so what the scheduler acknowledged survives a
 * kill -9 and a standby on the same PostgreSQL database has it.  Its SQL
 * is one text for both backends (SQLite binds $1... by position);
 * PostgreSQL runs it in store_pg_files.c. */
#include "dr_err.h"
#include "store_int.h"
#include "store_pg_files.h"
#include "util.h"

#include <string.h>

const char store_files_schema[] =
    "CREATE TABLE IF NOT EXISTS job_files(job_id INTEGER NOT NULL,"
    " kind TEXT NOT NULL, node_rank INTEGER NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY(job_id, kind, node_rank));";

const char store_file_put_sql[] =
    "INSERT INTO job_files(job_id, kind, node_rank, data)"
    " VALUES($1, $2, $3, $4) ON CONFLICT(job_id, kind, node_rank)"
    " DO UPDATE SET data = excluded.data";
const char store_file_get_sql[] =
    "SELECT data FROM job_files WHERE job_id = $1 AND kind = $2"
    " AND node_rank = $3";
const char store_file_clear_sql[] =
    "DELETE FROM job_files WHERE job_id = $1 AND kind = $2";

static int s_prepare(store_t *self, const char *sql, sqlite3_stmt **st)
{
    return sqlite3_prepare_v2(self->db, sql, -1, st, NULL) == SQLITE_OK
               ? 0
               : store_sq_fail(self, sql);
}

int store_file_put(store_t *self, uint64_t job_id, const char *kind,
                   uint32_t rank, const void *data, size_t len)
{
    if (self->pg)
        return store_pg_file_put(self->pg, job_id, kind, rank, data, len);
    sqlite3_stmt *st = NULL;
    if (s_prepare(self, store_file_put_sql, &st) < 0)
        return DR_EDB;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)job_id);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, rank);
    sqlite3_bind_blob64(st, 4, len ? data : "", len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, "job file put");
}

int store_file_get(store_t *self, uint64_t job_id, const char *kind,
                   uint32_t rank, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (self->pg)
        return store_pg_file_get(self->pg, job_id, kind, rank, data, len);
    sqlite3_stmt *st = NULL;
    if (s_prepare(self, store_file_get_sql, &st) < 0)
        return DR_EDB;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)job_id);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, rank);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(st, 0);
        *data = dr_malloc(*len ? *len : 1);
        if (*len)
            memcpy(*data, sqlite3_column_blob(st, 0), *len);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? DR_ENOENT : store_sq_fail(self, "job file get");
}

int store_file_clear(store_t *self, uint64_t job_id, const char *kind)
{
    if (self->pg)
        return store_pg_file_clear(self->pg, job_id, kind);
    sqlite3_stmt *st = NULL;
    if (s_prepare(self, store_file_clear_sql, &st) < 0)
        return DR_EDB;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)job_id);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, "job file clear");
}
