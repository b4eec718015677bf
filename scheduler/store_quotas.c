/* store_quotas.c - core quota rows in the store (see store.h,
 * store_quota_*): one per (location, family), location "" for a family in
 * every location and family "" for a location's total.  SQLite here,
 * PostgreSQL in store_pg_quotas.c. */
#include "dr_err.h"
#include "store_int.h"
#include "store_pg_quotas.h"

#include <string.h>

/* 8: versions before it keyed quotas by family alone; those rows become
 * the family's limit in every location (location ''). */
int store_quotas_migrate(store_t *self)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db, "PRAGMA table_info(quotas)", -1, &st,
                           NULL) != SQLITE_OK)
        return store_sq_fail(self, "table_info");
    int has_location = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *col = sqlite3_column_text(st, 1);
        has_location |= col && strcmp((const char *)col, "location") == 0;
    }
    sqlite3_finalize(st);
    if (has_location)
        return 0;
    return store_sq_exec(
        self, "SAVEPOINT quotas8;"
              "CREATE TABLE quotas_new("
              " location TEXT NOT NULL COLLATE NOCASE DEFAULT '',"
              " family TEXT NOT NULL COLLATE NOCASE,"
              " dedicated_cores INTEGER NOT NULL DEFAULT -1,"
              " lowpriority_cores INTEGER NOT NULL DEFAULT -1,"
              " PRIMARY KEY(location, family));"
              "INSERT INTO quotas_new(location, family, dedicated_cores,"
              " lowpriority_cores) SELECT '', family, dedicated_cores,"
              " lowpriority_cores FROM quotas;"
              "DROP TABLE quotas;"
              "ALTER TABLE quotas_new RENAME TO quotas;"
              "RELEASE quotas8;");
}

int store_quota_put(store_t *self, const char *location, const char *family,
                    int64_t dedicated, int64_t lowpriority)
{
    if (self->pg)
        return store_pg_quota_put(self->pg, location, family, dedicated,
                                  lowpriority);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "INSERT OR REPLACE INTO quotas(location, family,"
                           " dedicated_cores, lowpriority_cores)"
                           " VALUES(?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sq_fail(self, "quota put");
    sqlite3_bind_text(st, 1, location, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, family, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, dedicated);
    sqlite3_bind_int64(st, 4, lowpriority);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, "quota put");
}

int store_quota_each(store_t *self, store_quota_cb cb, void *arg)
{
    if (self->pg)
        return store_pg_quota_each(self->pg, cb, arg);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT location, family, dedicated_cores,"
                           " lowpriority_cores FROM quotas"
                           " ORDER BY location, family",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sq_fail(self, "quota scan");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cb(arg, (const char *)sqlite3_column_text(st, 0),
           (const char *)sqlite3_column_text(st, 1),
           sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, "quota scan");
}
