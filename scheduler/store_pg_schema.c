/* store_pg_schema.c - the PostgreSQL store's migrations, in order
 * (store_pg.c runs the ones a database lacks, under an advisory lock). */
#include "store_pg_int.h"
#include "store_pg_usage.h"

/* The migrations: step i brings schema_version i-1 to i.  The numbers
 * are SQLite's (store.c) up to 5; 6 (the leader row) is PostgreSQL's
 * alone. */
const char *const store_pg_migrations[] = {
    /* 1: the tables */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE clusters(name TEXT NOT NULL, vm_size TEXT NOT NULL,"
    " min_nodes BIGINT NOT NULL, max_nodes BIGINT NOT NULL,"
    " idle_seconds BIGINT NOT NULL, vm_priority TEXT NOT NULL,"
    " location TEXT NOT NULL, provider TEXT NOT NULL,"
    " created_at BIGINT NOT NULL, last_error TEXT NOT NULL DEFAULT '',"
    " resume_program TEXT NOT NULL DEFAULT '',"
    " suspend_program TEXT NOT NULL DEFAULT '',"
    " provider_url TEXT NOT NULL DEFAULT '',"
    " locked BIGINT NOT NULL DEFAULT 0, identity TEXT NOT NULL DEFAULT '',"
    " identity_principal TEXT NOT NULL DEFAULT '');"
    "CREATE UNIQUE INDEX clusters_name ON clusters(lower(name));"
    "CREATE TABLE principals(name TEXT PRIMARY KEY, kind TEXT NOT NULL,"
    " role TEXT NOT NULL, public_key TEXT NOT NULL UNIQUE,"
    " created_at BIGINT NOT NULL);"
    "CREATE TABLE quotas(family TEXT NOT NULL,"
    " dedicated_cores BIGINT NOT NULL DEFAULT -1,"
    " lowpriority_cores BIGINT NOT NULL DEFAULT -1);"
    "CREATE UNIQUE INDEX quotas_family ON quotas(lower(family));"
    "CREATE TABLE nodes(name TEXT PRIMARY KEY, cluster TEXT NOT NULL,"
    " state TEXT NOT NULL, cpus BIGINT NOT NULL, memory_mb BIGINT NOT NULL,"
    " vm_size TEXT NOT NULL, pid BIGINT NOT NULL DEFAULT 0,"
    " created_at BIGINT NOT NULL);"
    "CREATE TABLE jobs(id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL,"
    " cluster TEXT NOT NULL, state TEXT NOT NULL, priority BIGINT NOT NULL,"
    " cpus BIGINT NOT NULL, memory_mb BIGINT NOT NULL,"
    " nodes BIGINT NOT NULL, procs_per_node BIGINT NOT NULL,"
    " gpus BIGINT NOT NULL, max_retries BIGINT NOT NULL,"
    " time_limit_s BIGINT NOT NULL, attempts BIGINT NOT NULL,"
    " exit_code BIGINT, reason TEXT NOT NULL DEFAULT '',"
    " node_names TEXT NOT NULL DEFAULT '', owner TEXT NOT NULL DEFAULT '',"
    " submitted_at BIGINT NOT NULL, started_at BIGINT NOT NULL DEFAULT 0,"
    " ended_at BIGINT NOT NULL DEFAULT 0, spec BYTEA NOT NULL,"
    " gpu_indices TEXT NOT NULL DEFAULT '',"
    " preemptions BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_state ON jobs(state, id);"
    "CREATE INDEX jobs_cluster ON jobs(lower(cluster), id);"
    "CREATE TABLE tasks(job_id BIGINT NOT NULL, attempt BIGINT NOT NULL,"
    " node TEXT NOT NULL, state TEXT NOT NULL, exit_code BIGINT,"
    " reason TEXT NOT NULL DEFAULT '', updated_at BIGINT NOT NULL,"
    " PRIMARY KEY(job_id, attempt, node));"
    "CREATE TABLE events(id BIGSERIAL PRIMARY KEY, ts BIGINT NOT NULL,"
    " kind TEXT NOT NULL, cluster TEXT NOT NULL DEFAULT '',"
    " node TEXT NOT NULL DEFAULT '', job_id BIGINT NOT NULL DEFAULT 0,"
    " message TEXT NOT NULL);"
    "CREATE INDEX events_cluster ON events(lower(cluster), id);"
    "INSERT INTO meta(key, value) VALUES('schema_version', '0');",
    /* 2: nodes that joined by hand are told apart from the provider's */
    "ALTER TABLE nodes ADD COLUMN joined BIGINT NOT NULL DEFAULT 0;",
    /* 3: drained nodes (drover node drain) */
    "ALTER TABLE nodes ADD COLUMN drain BIGINT NOT NULL DEFAULT 0;",
    /* 4: join tokens (drover cluster join-token) */
    "CREATE TABLE join_tokens(id TEXT PRIMARY KEY, cluster TEXT NOT NULL,"
    " secret_hash TEXT NOT NULL, created_at BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL, max_uses BIGINT NOT NULL DEFAULT 0,"
    " uses BIGINT NOT NULL DEFAULT 0, revoked BIGINT NOT NULL DEFAULT 0,"
    " created_by TEXT NOT NULL DEFAULT '', join_key TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX join_tokens_key ON join_tokens(join_key);",
    /* 5: the HTTP API's bearer tokens (SHA-256 only) */
    "CREATE TABLE api_tokens(hash TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " created_at BIGINT NOT NULL, created_by TEXT NOT NULL DEFAULT '');",
    /* 6: the leader's term and lease (several schedulers, one leader) */
    "CREATE TABLE leader(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " term BIGINT NOT NULL, holder TEXT NOT NULL DEFAULT '',"
    " client_endpoint TEXT NOT NULL DEFAULT '',"
    " agent_endpoint TEXT NOT NULL DEFAULT '',"
    " data_pid INTEGER NOT NULL DEFAULT 0,"
    " renewed_at TIMESTAMPTZ NOT NULL DEFAULT now());"
    "INSERT INTO leader(id, term) VALUES(1, 0);",
    /* 7: job output, in chunks (store_pg_logs.c) */
    store_pg_logs_schema,
    /* 8: quotas per location (store_pg_quotas.c) */
    store_pg_quotas_schema,
    /* 9: accounting, one row per ended attempt (store_usage.c) */
    store_usage_schema,
    /* 10: a job's code and collected outputs (store_pg_files.c) */
    store_pg_files_schema,
    /* 11: time limits in ms (issue 17); a row from before has its whole
     * seconds, times 1000; time_limit_s stays, rounded up, for an older
     * scheduler */
    "ALTER TABLE jobs ADD COLUMN time_limit_ms BIGINT NOT NULL DEFAULT 0;"
    "UPDATE jobs SET time_limit_ms = time_limit_s * 1000;",
};
const int store_pg_nmigrations =
    (int)(sizeof store_pg_migrations / sizeof store_pg_migrations[0]);
