/* store_usage.c - the accounting table (see store.h, store_usage_*): one
 * row per ended attempt of a job, as Slurm's sacct keeps steps, read back
 * summed by user, cluster or vm size for `drover usage`.  Its SQL is one
 * text for both backends (SQLite binds $1... by position as PostgreSQL
 * does); PostgreSQL runs it in store_pg_usage.c. */
#include "dr_err.h"
#include "store_int.h"
#include "store_pg_usage.h"

#include <stdio.h>
#include <string.h>

const char store_usage_schema[] =
    "CREATE TABLE IF NOT EXISTS job_usage("
    " job_id BIGINT NOT NULL, attempt BIGINT NOT NULL,"
    " final BIGINT NOT NULL, owner TEXT NOT NULL, cluster TEXT NOT NULL,"
    " vm_size TEXT NOT NULL, cpus BIGINT NOT NULL, gpus BIGINT NOT NULL,"
    " nodes BIGINT NOT NULL, queued_at BIGINT NOT NULL,"
    " started_at BIGINT NOT NULL, ended_at BIGINT NOT NULL,"
    " outcome TEXT NOT NULL, PRIMARY KEY(job_id, attempt));"
    "CREATE INDEX IF NOT EXISTS job_usage_ended ON job_usage(ended_at);";

const char store_usage_put_sql[] =
    "INSERT INTO job_usage(job_id, attempt, final, owner, cluster, vm_size,"
    " cpus, gpus, nodes, queued_at, started_at, ended_at, outcome)"
    " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    " ON CONFLICT(job_id, attempt) DO UPDATE SET final = excluded.final,"
    " ended_at = excluded.ended_at, outcome = excluded.outcome";

/* The column a report groups by; NULL for an unknown `by`. */
static const char *s_key(const char *by)
{
    if (strcmp(by, "user") == 0)
        return "owner";
    if (strcmp(by, "cluster") == 0)
        return "cluster";
    if (strcmp(by, "vm-size") == 0)
        return "vm_size";
    return NULL;
}

#define RAN "started_at > 0"
#define CORE_MS "(ended_at - started_at) * cpus * nodes"

int store_usage_sql(int waits, const char *by, char *buf, size_t cap)
{
    const char *k = s_key(by);
    if (!k)
        return DR_EINVAL;
    if (waits)
        snprintf(buf, cap,
                 "SELECT %s, started_at - queued_at FROM job_usage"
                 " WHERE ended_at >= $1 AND ended_at < $2 AND " RAN
                 " ORDER BY 1, 2",
                 k);
    else
        snprintf(buf, cap,
                 "SELECT %s, sum(final), count(*),"
                 " sum(CASE WHEN " RAN " THEN " CORE_MS " ELSE 0 END),"
                 " sum(CASE WHEN " RAN " THEN (ended_at - started_at) * gpus"
                 " * nodes ELSE 0 END),"
                 " sum(CASE WHEN " RAN
                 " AND outcome = 'preempted' THEN " CORE_MS " ELSE 0 END),"
                 " sum(CASE WHEN " RAN " AND outcome IN ('failed', 'timeout',"
                 " 'lost') THEN " CORE_MS " ELSE 0 END)"
                 " FROM job_usage WHERE ended_at >= $1 AND ended_at < $2"
                 " GROUP BY 1 ORDER BY 1",
                 k);
    return 0;
}

int store_usage_put(store_t *self, const store_usage_t *u)
{
    if (self->pg)
        return store_pg_usage_put(self->pg, u);
    /* one row per ended attempt: prepared once, not per job */
    if (!self->usage_st &&
        sqlite3_prepare_v3(self->db, store_usage_put_sql, -1,
                           SQLITE_PREPARE_PERSISTENT, &self->usage_st,
                           NULL) != SQLITE_OK)
        return store_sq_fail(self, "usage put");
    sqlite3_stmt *st = self->usage_st;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)u->job_id);
    sqlite3_bind_int64(st, 2, u->attempt);
    sqlite3_bind_int64(st, 3, u->final);
    sqlite3_bind_text(st, 4, u->owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, u->cluster, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, u->vm_size, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, u->cpus);
    sqlite3_bind_int64(st, 8, u->gpus);
    sqlite3_bind_int64(st, 9, u->nodes);
    sqlite3_bind_int64(st, 10, u->queued_at_ms);
    sqlite3_bind_int64(st, 11, u->started_at_ms);
    sqlite3_bind_int64(st, 12, u->ended_at_ms);
    sqlite3_bind_text(st, 13, u->outcome, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, "usage put");
}

int store_usage_report(store_t *self, const char *by, int64_t since_ms,
                       int64_t until_ms, store_usage_sum_cb sum,
                       store_usage_wait_cb wait, void *arg)
{
    if (self->pg)
        return store_pg_usage_report(self->pg, by, since_ms, until_ms, sum,
                                     wait, arg);
    char sql[1024];
    for (int waits = 0; waits < 2; waits++) {
        if (store_usage_sql(waits, by, sql, sizeof sql) < 0)
            return DR_EINVAL;
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) != SQLITE_OK)
            return store_sq_fail(self, "usage report");
        sqlite3_bind_int64(st, 1, since_ms);
        sqlite3_bind_int64(st, 2, until_ms);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *key = (const char *)sqlite3_column_text(st, 0);
            if (waits) {
                wait(arg, key ? key : "", sqlite3_column_int64(st, 1));
                continue;
            }
            int64_t v[6];
            for (int i = 0; i < 6; i++)
                v[i] = sqlite3_column_int64(st, i + 1);
            sum(arg, key ? key : "", v);
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return store_sq_fail(self, "usage report");
    }
    return 0;
}
