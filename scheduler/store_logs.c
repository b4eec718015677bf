/* store_logs.c - job output in the store (see store.h, store_log_*).
 *
 * A job's log is a run of chunks keyed by (job, byte offset): an append
 * is one INSERT in the loop's open transaction, so output is committed
 * with the pass that received it and a standby on the same PostgreSQL
 * database has all of it.  A read finds the chunk that holds the offset
 * through the primary key and copies on from there.  Both backends keep
 * the same table: SQLite here, PostgreSQL in store_pg_logs.c.
 */
#include "dr_err.h"
#include "store_int.h"
#include "store_pg_logs.h"

#include <string.h>

const char store_logs_schema[] =
    "CREATE TABLE IF NOT EXISTS job_logs("
    " job_id INTEGER NOT NULL, off INTEGER NOT NULL, data BLOB NOT NULL,"
    " attempt INTEGER NOT NULL DEFAULT 0, src INTEGER NOT NULL DEFAULT -1,"
    " src_end INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(job_id, off));";

enum { SL_APPEND, SL_SIZE, SL_READ, SL_CLEAR, SL_EACH, SL_ENDS, SL_COUNT };
_Static_assert(SL_COUNT <= STORE_LOG_NST, "store_int.h: raise STORE_LOG_NST");

static const char *s_sql[SL_COUNT] = {
    [SL_APPEND] = "INSERT INTO job_logs(job_id, off, data, attempt, src,"
                  " src_end) VALUES(?,?,?,?,?,?)",
    [SL_SIZE] = "SELECT off + length(data) FROM job_logs WHERE job_id = ?"
                " ORDER BY off DESC LIMIT 1",
    [SL_READ] = "SELECT off, data FROM job_logs WHERE job_id = ?1 AND off >="
                " COALESCE((SELECT max(off) FROM job_logs WHERE job_id = ?1"
                " AND off <= ?2), 0) ORDER BY off",
    [SL_CLEAR] = "DELETE FROM job_logs WHERE job_id = ?",
    [SL_EACH] = "SELECT job_id, sum(length(data)) FROM job_logs"
                " GROUP BY job_id ORDER BY job_id",
    [SL_ENDS] = "SELECT src, max(src_end) FROM job_logs WHERE job_id = ?"
                " AND attempt = ? AND src >= 0 GROUP BY src",
};

int store_logs_prepare(store_t *self)
{
    for (int i = 0; i < SL_COUNT; i++)
        if (sqlite3_prepare_v3(self->db, s_sql[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &self->log_st[i],
                               NULL) != SQLITE_OK)
            return store_sq_fail(self, s_sql[i]);
    return 0;
}

void store_logs_finalize(store_t *self)
{
    for (int i = 0; i < SL_COUNT; i++) {
        sqlite3_finalize(self->log_st[i]);
        self->log_st[i] = NULL;
    }
}

/* Runs a statement that returns no rows, and resets it. */
static int s_done(store_t *self, int which)
{
    sqlite3_stmt *st = self->log_st[which];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, s_sql[which]);
}

int store_log_append(store_t *self, uint64_t job_id, uint64_t off,
                     const void *data, size_t len, const store_log_src_t *from)
{
    static const store_log_src_t none = {0, -1, 0};
    if (!from)
        from = &none;
    if (self->pg)
        return store_pg_log_append(self->pg, job_id, off, data, len, from);
    if (len == 0)
        return 0;
    sqlite3_stmt *st = self->log_st[SL_APPEND];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)job_id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)off);
    sqlite3_bind_blob64(st, 3, data, len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, from->attempt);
    sqlite3_bind_int64(st, 5, from->src);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)from->end);
    return s_done(self, SL_APPEND);
}

int store_log_ends(store_t *self, uint64_t job_id, uint32_t attempt,
                   store_log_end_cb cb, void *arg)
{
    if (self->pg)
        return store_pg_log_ends(self->pg, job_id, attempt, cb, arg);
    sqlite3_stmt *st = self->log_st[SL_ENDS];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)job_id);
    sqlite3_bind_int64(st, 2, attempt);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cb(arg, (int32_t)sqlite3_column_int64(st, 0),
           (uint64_t)sqlite3_column_int64(st, 1));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, s_sql[SL_ENDS]);
}

int store_log_size(store_t *self, uint64_t job_id, uint64_t *size)
{
    if (self->pg)
        return store_pg_log_size(self->pg, job_id, size);
    sqlite3_stmt *st = self->log_st[SL_SIZE];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)job_id);
    int rc = sqlite3_step(st);
    *size = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? 0
               : store_sq_fail(self, s_sql[SL_SIZE]);
}

size_t store_log_copy(uint64_t want, uint8_t *buf, size_t max, size_t got,
                      uint64_t off, const void *data, size_t len)
{
    /* the chunk [off, off+len) against the wanted [want+got, want+max) */
    uint64_t at = want + got;
    if (got >= max || off + len <= at || off > at)
        return got;
    size_t skip = (size_t)(at - off), n = len - skip;
    if (n > max - got)
        n = max - got;
    memcpy(buf + got, (const uint8_t *)data + skip, n);
    return got + n;
}

int store_log_read(store_t *self, uint64_t job_id, uint64_t off, uint8_t *buf,
                   size_t max, size_t *got)
{
    if (self->pg)
        return store_pg_log_read(self->pg, job_id, off, buf, max, got);
    sqlite3_stmt *st = self->log_st[SL_READ];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)job_id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)off);
    *got = 0;
    int rc = SQLITE_DONE;
    while (*got < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
        *got = store_log_copy(
            off, buf, max, *got, (uint64_t)sqlite3_column_int64(st, 0),
            sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
    if (*got < max && rc != SQLITE_DONE) {
        int ret = store_sq_fail(self, s_sql[SL_READ]);
        sqlite3_reset(st);
        return ret;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return 0;
}

int store_log_clear(store_t *self, uint64_t job_id)
{
    if (self->pg)
        return store_pg_log_clear(self->pg, job_id);
    sqlite3_bind_int64(self->log_st[SL_CLEAR], 1, (sqlite3_int64)job_id);
    return s_done(self, SL_CLEAR);
}

int store_log_each(store_t *self, store_log_cb cb, void *arg)
{
    if (self->pg)
        return store_pg_log_each(self->pg, cb, arg);
    sqlite3_stmt *st = self->log_st[SL_EACH];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cb(arg, (uint64_t)sqlite3_column_int64(st, 0),
           sqlite3_column_int64(st, 1));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, s_sql[SL_EACH]);
}
