/* store_pg_quotas.c - core quota rows on PostgreSQL: store_quotas.c's
 * table and statements, run through store_pg.c. */
#include "dr_err.h"
#include "store_pg_int.h"
#include "store_pg_quotas.h"

#include <stdlib.h>

/* rows from before regions become the family's limit everywhere */
const char store_pg_quotas_schema[] =
    "ALTER TABLE quotas ADD COLUMN location TEXT NOT NULL DEFAULT '';"
    "DROP INDEX quotas_family;"
    "CREATE UNIQUE INDEX quotas_location_family"
    " ON quotas(lower(location), lower(family));";

int store_pg_quota_put(store_pg_t *self, const char *location,
                       const char *family, int64_t dedicated,
                       int64_t lowpriority)
{
    args_t a = {0};
    a_text(&a, location);
    a_text(&a, family);
    a_i64(&a, dedicated);
    a_i64(&a, lowpriority);
    return store_pg_write(
        self,
        "INSERT INTO quotas(location, family, dedicated_cores,"
        " lowpriority_cores) VALUES($1, $2, $3, $4)"
        " ON CONFLICT ((lower(location)), (lower(family))) DO UPDATE SET"
        " location = EXCLUDED.location, family = EXCLUDED.family,"
        " dedicated_cores = EXCLUDED.dedicated_cores,"
        " lowpriority_cores = EXCLUDED.lowpriority_cores",
        &a, NULL);
}

int store_pg_quota_each(store_pg_t *self, store_quota_cb cb, void *arg)
{
    PGresult *r = store_pg_query(self,
                                 "SELECT location, family, dedicated_cores,"
                                 " lowpriority_cores FROM quotas"
                                 " ORDER BY lower(location), lower(family)",
                                 NULL);
    if (!r)
        return DR_EDB;
    for (int i = 0; i < PQntuples(r); i++)
        cb(arg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
           strtoll(PQgetvalue(r, i, 2), NULL, 10),
           strtoll(PQgetvalue(r, i, 3), NULL, 10));
    PQclear(r);
    return 0;
}
