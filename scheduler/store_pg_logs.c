/* store_pg_logs.c - job output on PostgreSQL: the same table and
 * statements as store_logs.c's, run through store_pg.c (its open
 * transaction and fencing).  bytea comes back in hex and is unescaped
 * here. */
#include "dr_err.h"
#include "log.h"
#include "store_pg_int.h"
#include "store_pg_logs.h"

#include <stdlib.h>

const char store_pg_logs_schema[] =
    "CREATE TABLE job_logs(job_id BIGINT NOT NULL, off BIGINT NOT NULL,"
    " data BYTEA NOT NULL, attempt BIGINT NOT NULL DEFAULT 0,"
    " src BIGINT NOT NULL DEFAULT -1, src_end BIGINT NOT NULL DEFAULT 0,"
    " PRIMARY KEY(job_id, off));";

int store_pg_log_append(store_pg_t *self, uint64_t job_id, uint64_t off,
                        const void *data, size_t len,
                        const store_log_src_t *from)
{
    if (len == 0)
        return 0;
    args_t a = {0};
    a_i64(&a, (int64_t)job_id);
    a_i64(&a, (int64_t)off);
    a_blob(&a, data, len);
    a_i64(&a, from->attempt);
    a_i64(&a, from->src);
    a_i64(&a, (int64_t)from->end);
    return store_pg_write(self,
                          "INSERT INTO job_logs(job_id, off, data, attempt,"
                          " src, src_end) VALUES($1, $2, $3, $4, $5, $6)",
                          &a, NULL);
}

int store_pg_log_ends(store_pg_t *self, uint64_t job_id, uint32_t attempt,
                      store_log_end_cb cb, void *arg)
{
    args_t a = {0};
    a_i64(&a, (int64_t)job_id);
    a_i64(&a, attempt);
    PGresult *r = store_pg_query(self,
                                 "SELECT src, max(src_end) FROM job_logs"
                                 " WHERE job_id = $1 AND attempt = $2"
                                 " AND src >= 0 GROUP BY src",
                                 &a);
    if (!r)
        return DR_EDB;
    for (int i = 0; i < PQntuples(r); i++)
        cb(arg, (int32_t)strtol(PQgetvalue(r, i, 0), NULL, 10),
           strtoull(PQgetvalue(r, i, 1), NULL, 10));
    PQclear(r);
    return 0;
}

int store_pg_log_size(store_pg_t *self, uint64_t job_id, uint64_t *size)
{
    args_t a = {0};
    a_i64(&a, (int64_t)job_id);
    PGresult *r = store_pg_query(
        self,
        "SELECT off + octet_length(data) FROM job_logs WHERE job_id = $1"
        " ORDER BY off DESC LIMIT 1",
        &a);
    if (!r)
        return DR_EDB;
    *size = PQntuples(r) ? strtoull(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    return 0;
}

int store_pg_log_read(store_pg_t *self, uint64_t job_id, uint64_t off,
                      uint8_t *buf, size_t max, size_t *got)
{
    args_t a = {0};
    a_i64(&a, (int64_t)job_id);
    a_i64(&a, (int64_t)off);
    /* the chunks from the one holding `off`, no more than `max` can use
     * (a chunk is at least a byte) */
    a_i64(&a, (int64_t)max);
    PGresult *r = store_pg_query(
        self,
        "SELECT off, data FROM job_logs WHERE job_id = $1 AND off >="
        " COALESCE((SELECT max(off) FROM job_logs WHERE job_id = $1"
        " AND off <= $2), 0) ORDER BY off LIMIT $3",
        &a);
    *got = 0;
    if (!r)
        return DR_EDB;
    for (int i = 0; i < PQntuples(r) && *got < max; i++) {
        size_t n = 0;
        unsigned char *b =
            PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 1), &n);
        if (!b)
            log_fatal("out of memory (libpq)");
        *got = store_log_copy(off, buf, max, *got,
                              strtoull(PQgetvalue(r, i, 0), NULL, 10), b, n);
        PQfreemem(b);
    }
    PQclear(r);
    return 0;
}

int store_pg_log_clear(store_pg_t *self, uint64_t job_id)
{
    args_t a = {0};
    a_i64(&a, (int64_t)job_id);
    return store_pg_write(self, "DELETE FROM job_logs WHERE job_id = $1", &a,
                          NULL);
}

int store_pg_log_each(store_pg_t *self, store_log_cb cb, void *arg)
{
    PGresult *r = store_pg_query(self,
                                 "SELECT job_id, sum(octet_length(data))"
                                 " FROM job_logs GROUP BY job_id"
                                 " ORDER BY job_id",
                                 NULL);
    if (!r)
        return DR_EDB;
    for (int i = 0; i < PQntuples(r); i++)
        cb(arg, strtoull(PQgetvalue(r, i, 0), NULL, 10),
           strtoll(PQgetvalue(r, i, 1), NULL, 10));
    PQclear(r);
    return 0;
}
