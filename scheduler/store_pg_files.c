/* store_pg_files.c - a job's files on PostgreSQL: store_files.c's SQL,
 * run through store_pg.c (its open transaction and fencing).  bytea
 * comes back in hex and is unescaped here. */
#include "dr_err.h"
#include "log.h"
#include "store_pg_files.h"
#include "store_pg_int.h"
#include "util.h"

#include <string.h>

const char store_pg_files_schema[] =
    "CREATE TABLE job_files(job_id BIGINT NOT NULL, kind TEXT NOT NULL,"
    " node_rank BIGINT NOT NULL, data BYTEA NOT NULL,"
    " PRIMARY KEY(job_id, kind, node_rank));";

int store_pg_file_put(store_pg_t *self, uint64_t job_id, const char *kind,
                      uint32_t rank, const void *data, size_t len)
{
    args_t a = {0};
    a_i64(&a, (int64_t)job_id);
    a_text(&a, kind);
    a_i64(&a, rank);
    a_blob(&a, data, len);
    return store_pg_write(self, store_file_put_sql, &a, NULL);
}

int store_pg_file_get(store_pg_t *self, uint64_t job_id, const char *kind,
                      uint32_t rank, uint8_t **data, size_t *len)
{
    args_t a = {0};
    a_i64(&a, (int64_t)job_id);
    a_text(&a, kind);
    a_i64(&a, rank);
    PGresult *r = store_pg_query(self, store_file_get_sql, &a);
    if (!r)
        return DR_EDB;
    int rc = DR_ENOENT;
    if (PQntuples(r) > 0) {
        size_t n = 0;
        unsigned char *b =
            PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 0), &n);
        if (!b)
            log_fatal("out of memory (libpq)");
        *data = dr_malloc(n ? n : 1);
        memcpy(*data, b, n);
        *len = n;
        PQfreemem(b);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

int store_pg_file_clear(store_pg_t *self, uint64_t job_id, const char *kind)
{
    args_t a = {0};
    a_i64(&a, (int64_t)job_id);
    a_text(&a, kind);
    return store_pg_write(self, store_file_clear_sql, &a, NULL);
}
