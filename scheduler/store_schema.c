/* store_schema.c - the SQLite store's schema (store.c makes it on a new
 * database) and the migrations that bring an older database up to it,
 * each step idempotent, with the schema_version it reaches.  The tables
 * of one kind of row keep their own schema beside their statements
 * (store_logs.c, store_files.c, store_usage.c, store_quotas.c,
 * store_keys.c); the steps here run them in order. */
#include "dr_err.h"
#include "store_int.h"
#include "store_pg_usage.h"

#include <stdio.h>
#include <string.h>

const char store_schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS clusters("
    " name TEXT PRIMARY KEY COLLATE NOCASE, vm_size TEXT NOT NULL,"
    " min_nodes INTEGER NOT NULL, max_nodes INTEGER NOT NULL,"
    " idle_seconds INTEGER NOT NULL, vm_priority TEXT NOT NULL,"
    " location TEXT NOT NULL, provider TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, last_error TEXT NOT NULL DEFAULT '',"
    " resume_program TEXT NOT NULL DEFAULT '',"
    " suspend_program TEXT NOT NULL DEFAULT '',"
    " provider_url TEXT NOT NULL DEFAULT '',"
    " locked INTEGER NOT NULL DEFAULT 0,"
    " identity TEXT NOT NULL DEFAULT '',"
    " identity_principal TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS principals("
    " name TEXT PRIMARY KEY, kind TEXT NOT NULL, role TEXT NOT NULL,"
    " public_key TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS quotas("
    " family TEXT PRIMARY KEY COLLATE NOCASE,"
    " dedicated_cores INTEGER NOT NULL DEFAULT -1,"
    " lowpriority_cores INTEGER NOT NULL DEFAULT -1);"
    "CREATE TABLE IF NOT EXISTS nodes("
    " name TEXT PRIMARY KEY, cluster TEXT NOT NULL, state TEXT NOT NULL,"
    " cpus INTEGER NOT NULL, memory_mb INTEGER NOT NULL,"
    " vm_size TEXT NOT NULL, pid INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL, joined INTEGER NOT NULL DEFAULT 0,"
    " drain INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS jobs("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
    " cluster TEXT NOT NULL, state TEXT NOT NULL,"
    " priority INTEGER NOT NULL, cpus INTEGER NOT NULL,"
    " memory_mb INTEGER NOT NULL, nodes INTEGER NOT NULL,"
    " procs_per_node INTEGER NOT NULL, gpus INTEGER NOT NULL,"
    " max_retries INTEGER NOT NULL, time_limit_s INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, exit_code INTEGER,"
    " reason TEXT NOT NULL DEFAULT '', node_names TEXT NOT NULL DEFAULT '',"
    " owner TEXT NOT NULL DEFAULT '', submitted_at INTEGER NOT NULL,"
    " started_at INTEGER NOT NULL DEFAULT 0,"
    " ended_at INTEGER NOT NULL DEFAULT 0, spec BLOB NOT NULL,"
    " gpu_indices TEXT NOT NULL DEFAULT '',"
    " preemptions INTEGER NOT NULL DEFAULT 0,"
    " time_limit_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, id);"
    "CREATE INDEX IF NOT EXISTS jobs_cluster ON jobs(cluster, id);"
    "CREATE TABLE IF NOT EXISTS tasks("
    " job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, node TEXT NOT NULL,"
    " state TEXT NOT NULL, exit_code INTEGER, reason TEXT NOT NULL DEFAULT '',"
    " updated_at INTEGER NOT NULL, PRIMARY KEY(job_id, attempt, node));"
    "CREATE TABLE IF NOT EXISTS events("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,"
    " kind TEXT NOT NULL, cluster TEXT NOT NULL DEFAULT '',"
    " node TEXT NOT NULL DEFAULT '', job_id INTEGER NOT NULL DEFAULT 0,"
    " message TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS events_cluster ON events(cluster, id);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '1');";

/* Whether table has a column named col: 1 or 0, or a negative code. */
static int s_has_column(store_t *self, const char *table, const char *col)
{
    sqlite3_stmt *st = NULL;
    char sql[64];
    int found = 0;
    snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
    if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_sq_fail(self, "table_info");
    while (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 1);
        if (name && strcmp((const char *)name, col) == 0)
            found = 1;
    }
    sqlite3_finalize(st);
    return found;
}

/* Brings a database made by an older version up to this schema; each
 * step is idempotent and says what it adds. */
int store_migrate(store_t *self)
{
    int has_joined = s_has_column(self, "nodes", "joined");
    int has_drain = s_has_column(self, "nodes", "drain");
    int has_limit_ms = s_has_column(self, "jobs", "time_limit_ms");
    if (has_joined < 0 || has_drain < 0 || has_limit_ms < 0)
        return DR_EDB;
    /* 2: nodes that joined by hand are told apart from the provider's */
    if (!has_joined &&
        store_sq_exec(self,
                      "ALTER TABLE nodes ADD COLUMN joined INTEGER NOT NULL "
                      "DEFAULT 0") < 0)
        return DR_EDB;
    /* 3: drained nodes (drover node drain) */
    if (!has_drain &&
        store_sq_exec(self,
                      "ALTER TABLE nodes ADD COLUMN drain INTEGER NOT NULL "
                      "DEFAULT 0") < 0)
        return DR_EDB;
    /* 4: join tokens (drover cluster join-token) */
    if (store_sq_exec(self, store_join_token_schema) < 0)
        return DR_EDB;
    if (store_sq_exec(self,
                      "UPDATE meta SET value = '4' WHERE key = "
                      "'schema_version' AND CAST(value AS INTEGER) < 4") < 0)
        return DR_EDB;
    /* 5: the HTTP API's bearer tokens (drover keys token create) */
    if (store_sq_exec(self, store_api_token_schema) < 0)
        return DR_EDB;
    if (store_sq_exec(self,
                      "UPDATE meta SET value = '5' WHERE key = "
                      "'schema_version' AND CAST(value AS INTEGER) < 5") < 0)
        return DR_EDB;
    /* 7: job output, in chunks (store_logs.c) */
    if (store_sq_exec(self, store_logs_schema) < 0)
        return DR_EDB;
    if (store_sq_exec(self, "UPDATE meta SET value = '7' WHERE key = "
                            "'schema_version' AND CAST(value AS INTEGER) < "
                            "7") < 0)
        return DR_EDB;
    /* 8: quotas per location (store_quotas.c) */
    if (store_quotas_migrate(self) < 0)
        return DR_EDB;
    if (store_sq_exec(self, "UPDATE meta SET value = '8' WHERE key = "
                            "'schema_version' AND CAST(value AS INTEGER) "
                            "< 8") < 0)
        return DR_EDB;
    /* 9: accounting, one row per ended attempt (store_usage.c) */
    if (store_sq_exec(self, store_usage_schema) < 0)
        return DR_EDB;
    if (store_sq_exec(self, "UPDATE meta SET value = '9' WHERE key = "
                            "'schema_version' AND CAST(value AS INTEGER) "
                            "< 9") < 0)
        return DR_EDB;
    /* 10: a job's code and collected outputs (store_files.c) */
    if (store_sq_exec(self, store_files_schema) < 0)
        return DR_EDB;
    if (store_sq_exec(self, "UPDATE meta SET value = '10' WHERE key = "
                            "'schema_version' AND CAST(value AS INTEGER) "
                            "< 10") < 0)
        return DR_EDB;
    /* 11: time limits in ms (issue 17); a row from before has its whole
     * seconds, times 1000.  The column and its values in one transaction:
     * a crash between them would leave old limits at 0 (none).  The
     * time_limit_s column stays, rounded up, for an older scheduler. */
    if (!has_limit_ms &&
        store_sq_exec(self, "BEGIN;"
                            "ALTER TABLE jobs ADD COLUMN time_limit_ms "
                            "INTEGER NOT NULL DEFAULT 0;"
                            "UPDATE jobs SET time_limit_ms = time_limit_s * "
                            "1000;"
                            "COMMIT;") < 0)
        return DR_EDB;
    return store_sq_exec(self, "UPDATE meta SET value = '11' WHERE key = "
                               "'schema_version' AND CAST(value AS INTEGER) "
                               "< 11");
}
