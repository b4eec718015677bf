/* store_pg_usage.c - the accounting table on PostgreSQL: store_usage.c's
 * schema and SQL, run through store_pg.c. */
#include "dr_err.h"
#include "store_pg_int.h"
#include "store_pg_usage.h"

#include <stdlib.h>

int store_pg_usage_put(store_pg_t *self, const store_usage_t *u)
{
    args_t a = {0};
    a_i64(&a, (int64_t)u->job_id);
    a_i64(&a, u->attempt);
    a_i64(&a, u->final);
    a_text(&a, u->owner);
    a_text(&a, u->cluster);
    a_text(&a, u->vm_size);
    a_i64(&a, u->cpus);
    a_i64(&a, u->gpus);
    a_i64(&a, u->nodes);
    a_i64(&a, u->queued_at_ms);
    a_i64(&a, u->started_at_ms);
    a_i64(&a, u->ended_at_ms);
    a_text(&a, u->outcome);
    return store_pg_write(self, store_usage_put_sql, &a, NULL);
}

int store_pg_usage_report(store_pg_t *self, const char *by, int64_t since_ms,
                          int64_t until_ms, store_usage_sum_cb sum,
                          store_usage_wait_cb wait, void *arg)
{
    char sql[1024];
    for (int waits = 0; waits < 2; waits++) {
        if (store_usage_sql(waits, by, sql, sizeof sql) < 0)
            return DR_EINVAL;
        args_t a = {0};
        a_i64(&a, since_ms);
        a_i64(&a, until_ms);
        PGresult *r = store_pg_query(self, sql, &a);
        if (!r)
            return DR_EDB;
        for (int i = 0; i < PQntuples(r); i++) {
            const char *key = PQgetvalue(r, i, 0);
            if (waits) {
                wait(arg, key, strtoll(PQgetvalue(r, i, 1), NULL, 10));
                continue;
            }
            int64_t v[6];
            for (int k = 0; k < 6; k++)
                v[k] = strtoll(PQgetvalue(r, i, k + 1), NULL, 10);
            sum(arg, key, v);
        }
        PQclear(r);
    }
    return 0;
}
