/* store.c - SQLite persistence for the scheduler (see store.h).
 *
 * Owns the sqlite3 handle and every prepared statement.  It never decides
 * anything: its callers (the model: job_mgr.c, node_mgr.c, cluster_mgr.c
 * and the rest) hold the in-memory truth and write it through here
 * inside the loop's open transaction.  Errors are returned as DR_EDB
 * with the SQLite message logged once, here, where the statement is known.
 */
#include "store.h"
#include "dr_err.h"
#include "store_int.h"
#include "store_pg.h"
#include "store_pg_usage.h"
#include "log.h"
#include "util.h"
#include "wire.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    ST_CLUSTER_PUT,
    ST_CLUSTER_DEL,
    ST_CLUSTER_ERR,
    ST_CLUSTER_ALL,
    ST_NODE_PUT,
    ST_NODE_STATE,
    ST_NODE_DEL,
    ST_NODE_ALL,
    ST_JOB_INSERT,
    ST_JOB_UPDATE,
    ST_JOB_GET,
    ST_TASK_PUT,
    ST_EVENT,
    ST_COUNT
};
_Static_assert(ST_COUNT <= STORE_NST, "store_int.h: raise STORE_NST");

/* A job's limit in ms (issue 17).  A row without one but with seconds is
 * a row an older scheduler wrote after the migration (SQLite lets it
 * open a newer schema): its seconds, times 1000. */
#define S_LIMIT_MS                                                             \
    " CASE WHEN time_limit_ms > 0 THEN time_limit_ms"                          \
    " ELSE time_limit_s * 1000 END"

static const char *s_sql[ST_COUNT] = {
    [ST_CLUSTER_PUT] =
        "INSERT OR REPLACE INTO clusters(name, vm_size, min_nodes, max_nodes,"
        " idle_seconds, vm_priority, location, provider, created_at,"
        " last_error, resume_program, suspend_program, provider_url, locked,"
        " identity, identity_principal)"
        " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_CLUSTER_DEL] = "DELETE FROM clusters WHERE name = ?",
    [ST_CLUSTER_ERR] = "UPDATE clusters SET last_error = ? WHERE name = ?",
    [ST_CLUSTER_ALL] =
        "SELECT name, vm_size, min_nodes, max_nodes, idle_seconds,"
        " vm_priority, location, provider, created_at, last_error,"
        " resume_program, suspend_program, provider_url, locked, identity,"
        " identity_principal FROM clusters ORDER BY name",
    [ST_NODE_PUT] = "INSERT OR REPLACE INTO nodes(name, cluster, state, cpus,"
                    " memory_mb, vm_size, pid, created_at, joined, drain)"
                    " VALUES(?,?,?,?,?,?,?,?,?,?)",
    [ST_NODE_STATE] = "UPDATE nodes SET state = ? WHERE name = ?",
    [ST_NODE_DEL] = "DELETE FROM nodes WHERE name = ?",
    [ST_NODE_ALL] = "SELECT name, cluster, state, cpus, memory_mb, vm_size,"
                    " pid, created_at, joined, drain FROM nodes ORDER BY name",
    [ST_JOB_INSERT] =
        "INSERT INTO jobs(name, cluster, state, priority, cpus, memory_mb,"
        " nodes, procs_per_node, gpus, max_retries, time_limit_ms, attempts,"
        " exit_code, reason, node_names, owner, submitted_at, started_at,"
        " ended_at, spec, gpu_indices, preemptions, time_limit_s)"
        " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_JOB_UPDATE] = "UPDATE jobs SET state = ?, attempts = ?, exit_code = ?,"
                      " reason = ?, node_names = ?, started_at = ?,"
                      " ended_at = ?, gpu_indices = ?, preemptions = ?"
                      " WHERE id = ?",
    [ST_JOB_GET] = "SELECT id, name, cluster, state, priority, cpus, memory_mb,"
                   " nodes, procs_per_node, gpus, max_retries," S_LIMIT_MS ","
                   " attempts, exit_code, reason, node_names, owner,"
                   " submitted_at, started_at, ended_at, spec, gpu_indices,"
                   " preemptions FROM jobs"
                   " WHERE id = ?",
    [ST_TASK_PUT] = "INSERT OR REPLACE INTO tasks(job_id, attempt, node, state,"
                    " exit_code, reason, updated_at) VALUES(?,?,?,?,?,?,?)",
    [ST_EVENT] = "INSERT INTO events(ts, kind, cluster, node, job_id, message)"
                 " VALUES(?,?,?,?,?,?)",
};

#define JOB_COLS                                                               \
    "id, name, cluster, state, priority, cpus, memory_mb, nodes,"              \
    " procs_per_node, gpus, max_retries," S_LIMIT_MS ", attempts, exit_code,"  \
    " reason, node_names, owner, submitted_at, started_at, ended_at, spec,"    \
    " gpu_indices, preemptions"

/* A full disk, as SQLite and the OS say it. */
int store_sq_full(int code)
{
    return (code & 0xff) == SQLITE_FULL || code == SQLITE_IOERR_WRITE ||
           code == SQLITE_IOERR_FSYNC || code == SQLITE_IOERR_TRUNCATE ||
           code == SQLITE_IOERR_SHMSIZE;
}

int store_sq_fail(store_t *self, const char *what)
{
    int code = sqlite3_extended_errcode(self->db);
    self->last_err = code;
    if (self->in_tx && !self->tx_err)
        self->tx_err = code ? code : SQLITE_ERROR;
    log_error("store: %s: %s", what, sqlite3_errmsg(self->db));
    return store_sq_full(code) ? DR_ENOSPC : DR_EDB;
}

int store_sq_exec(store_t *self, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(self->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        int code = sqlite3_extended_errcode(self->db);
        self->last_err = code;
        if (self->in_tx && !self->tx_err)
            self->tx_err = code ? code : SQLITE_ERROR;
        log_error("store: %s: %s", sql, err ? err : "?");
        sqlite3_free(err);
        return store_sq_full(code) ? DR_ENOSPC : DR_EDB;
    }
    return 0;
}

/* Version 4: join tokens, keyed by their public ID; only the SHA-256 of
 * the secret part is kept. */
/* Version 5: the HTTP API's bearer tokens; only their SHA-256 is kept. */

int store_uri_valid(const char *uri)
{
    return !uri || !uri[0] || strncmp(uri, "postgresql://", 13) == 0 ||
           strncmp(uri, "postgres://", 11) == 0;
}

store_t *store_new(const char *state_dir)
{
    return store_open(state_dir, "");
}

store_t *store_open(const char *state_dir, const char *uri)
{
    store_t *self = dr_calloc(1, sizeof *self);
    if (!store_uri_valid(uri)) {
        log_error("store: '%.32s...' is not a store: give a libpq URI "
                  "(postgresql://...) or nothing (SQLite in the state dir)",
                  uri);
        free(self);
        return NULL;
    }
    if (uri && uri[0]) {
        self->pg = store_pg_new(uri);
        if (!self->pg) {
            free(self);
            return NULL;
        }
        return self;
    }
    char *path = dr_asprintf("%s/drover.db", state_dir);
    int rc = sqlite3_open_v2(
        path, &self->db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        log_error("store: cannot open %s: %s", path,
                  self->db ? sqlite3_errmsg(self->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_busy_timeout(self->db, 5000);
    if (store_sq_exec(self, "PRAGMA journal_mode=WAL") < 0 ||
        store_sq_exec(self, "PRAGMA synchronous=FULL") < 0 ||
        store_sq_exec(self, "PRAGMA foreign_keys=ON") < 0 ||
        store_sq_exec(self, "PRAGMA wal_autocheckpoint=0") < 0 ||
        store_sq_exec(self, store_schema) < 0 || store_migrate(self) < 0)
        goto fail;
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(self->db, s_sql[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &self->st[i],
                               NULL) != SQLITE_OK) {
            store_sq_fail(self, s_sql[i]);
            goto fail;
        }
    }
    if (store_logs_prepare(self) < 0)
        goto fail;
    free(path);
    return self;
fail:
    free(path);
    store_destroy(&self);
    return NULL;
}

void store_destroy(store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_t *self = *self_p;
    store_pg_destroy(&self->pg);
    if (self->in_tx)
        (void)store_rollback(self);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(self->st[i]);
    store_logs_finalize(self);
    sqlite3_finalize(self->usage_st);
    if (self->db) {
        (void)sqlite3_wal_checkpoint_v2(self->db, NULL,
                                        SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        sqlite3_close(self->db);
    }
    free(self);
    *self_p = NULL;
}

int store_begin(store_t *self)
{
    if (self->pg)
        return store_pg_begin(self->pg);
    if (self->in_tx)
        return 0;
    int rc = store_sq_exec(self, "BEGIN IMMEDIATE");
    if (rc == 0) {
        self->in_tx = 1;
        self->tx_err = 0;
    }
    return rc;
}

int store_commit(store_t *self)
{
    if (self->pg)
        return store_pg_commit(self->pg);
    if (!self->in_tx)
        return 0;
    if (self->tx_err) {
        /* a statement of it failed and may have been undone alone: what
         * is left is not what the caller wrote */
        int full = store_sq_full(self->tx_err);
        log_error("store: not committing a transaction in which a write "
                  "failed (%s)",
                  sqlite3_errstr(self->tx_err));
        self->last_err = self->tx_err;
        (void)store_rollback(self);
        return full ? DR_ENOSPC : DR_EDB;
    }
    int rc = store_sq_exec(self, "COMMIT");
    if (rc == 0)
        self->in_tx = 0;
    else
        (void)store_rollback(self);
    return rc;
}

int store_rollback(store_t *self)
{
    if (self->pg)
        return store_pg_rollback(self->pg);
    if (!self->in_tx)
        return 0;
    self->in_tx = 0;
    self->tx_err = 0;
    /* SQLite may have rolled the transaction back by itself (a full
     * disk can do that): then there is nothing left to undo */
    if (sqlite3_get_autocommit(self->db))
        return 0;
    return store_sq_exec(self, "ROLLBACK");
}

int store_last_full(const store_t *self)
{
    return store_sq_full(self->last_err);
}

int store_probe_write(store_t *self)
{
    if (self->pg)
        return store_pg_probe_write(self->pg);
    if (self->in_tx)
        return DR_ESTATE;
    int rc = store_begin(self);
    if (rc == 0)
        rc = store_sq_exec(self, "INSERT OR REPLACE INTO meta(key, value)"
                                 " VALUES('space_probe', randomblob(65536))");
    if (rc == 0)
        rc = store_sq_exec(self, "DELETE FROM meta WHERE key = 'space_probe'");
    if (rc == 0)
        rc = store_commit(self);
    else
        (void)store_rollback(self);
    if (rc == 0)
        self->last_err = 0;
    return rc;
}

int store_down(const store_t *self)
{
    return self->pg ? store_pg_down(self->pg) : 0;
}

int store_leader_poll(store_t *self, const store_leader_t *me, int64_t lease_ms,
                      store_leader_t *leader)
{
    if (self->pg)
        return store_pg_leader_poll(self->pg, me, lease_ms, leader);
    return 1; /* SQLite: the one scheduler of its state dir */
}

void store_checkpoint(store_t *self)
{
    if (self->pg || self->in_tx)
        return;
    int log = 0, ckpt = 0;
    if (sqlite3_wal_checkpoint_v2(self->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                  &log, &ckpt) != SQLITE_OK)
        log_warn("store: checkpoint: %s", sqlite3_errmsg(self->db));
}

/* Runs a bound write statement to completion and resets it. */
static int s_step_done(store_t *self, int which)
{
    sqlite3_stmt *st = self->st[which];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return store_sq_fail(self, s_sql[which]);
    return 0;
}

int store_cluster_put(store_t *self, const store_cluster_t *c)
{
    if (self->pg)
        return store_pg_cluster_put(self->pg, c);
    sqlite3_stmt *st = self->st[ST_CLUSTER_PUT];
    store_sq_text(st, 1, c->name);
    store_sq_text(st, 2, c->vm_size);
    sqlite3_bind_int(st, 3, c->min_nodes);
    sqlite3_bind_int(st, 4, c->max_nodes);
    sqlite3_bind_int(st, 5, c->idle_seconds);
    store_sq_text(st, 6, c->vm_priority);
    store_sq_text(st, 7, c->location);
    store_sq_text(st, 8, c->provider);
    sqlite3_bind_int64(st, 9, c->created_at_ms);
    store_sq_text(st, 10, c->last_error);
    store_sq_text(st, 11, c->resume_program);
    store_sq_text(st, 12, c->suspend_program);
    store_sq_text(st, 13, c->provider_url);
    sqlite3_bind_int(st, 14, c->locked);
    store_sq_text(st, 15, c->identity);
    store_sq_text(st, 16, c->identity_principal);
    return s_step_done(self, ST_CLUSTER_PUT);
}

int store_cluster_delete(store_t *self, const char *name)
{
    if (self->pg)
        return store_pg_cluster_delete(self->pg, name);
    store_sq_text(self->st[ST_CLUSTER_DEL], 1, name);
    return s_step_done(self, ST_CLUSTER_DEL);
}

int store_cluster_set_error(store_t *self, const char *name, const char *err)
{
    if (self->pg)
        return store_pg_cluster_set_error(self->pg, name, err);
    store_sq_text(self->st[ST_CLUSTER_ERR], 1, err);
    store_sq_text(self->st[ST_CLUSTER_ERR], 2, name);
    return s_step_done(self, ST_CLUSTER_ERR);
}

int store_cluster_each(store_t *self, store_cluster_cb cb, void *arg)
{
    if (self->pg)
        return store_pg_cluster_each(self->pg, cb, arg);
    sqlite3_stmt *st = self->st[ST_CLUSTER_ALL];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_cluster_t c;
        memset(&c, 0, sizeof c);
        store_sq_copy(c.name, sizeof c.name, sqlite3_column_text(st, 0));
        store_sq_copy(c.vm_size, sizeof c.vm_size, sqlite3_column_text(st, 1));
        c.min_nodes = sqlite3_column_int(st, 2);
        c.max_nodes = sqlite3_column_int(st, 3);
        c.idle_seconds = sqlite3_column_int(st, 4);
        store_sq_copy(c.vm_priority, sizeof c.vm_priority,
                      sqlite3_column_text(st, 5));
        store_sq_copy(c.location, sizeof c.location,
                      sqlite3_column_text(st, 6));
        store_sq_copy(c.provider, sizeof c.provider,
                      sqlite3_column_text(st, 7));
        c.created_at_ms = sqlite3_column_int64(st, 8);
        store_sq_copy(c.last_error, sizeof c.last_error,
                      sqlite3_column_text(st, 9));
        store_sq_copy(c.resume_program, sizeof c.resume_program,
                      sqlite3_column_text(st, 10));
        store_sq_copy(c.suspend_program, sizeof c.suspend_program,
                      sqlite3_column_text(st, 11));
        store_sq_copy(c.provider_url, sizeof c.provider_url,
                      sqlite3_column_text(st, 12));
        c.locked = sqlite3_column_int(st, 13);
        store_sq_copy(c.identity, sizeof c.identity,
                      sqlite3_column_text(st, 14));
        store_sq_copy(c.identity_principal, sizeof c.identity_principal,
                      sqlite3_column_text(st, 15));
        cb(arg, &c);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, "cluster scan");
}

int store_node_put(store_t *self, const store_node_t *n)
{
    if (self->pg)
        return store_pg_node_put(self->pg, n);
    sqlite3_stmt *st = self->st[ST_NODE_PUT];
    store_sq_text(st, 1, n->name);
    store_sq_text(st, 2, n->cluster);
    store_sq_text(st, 3, n->state);
    sqlite3_bind_int64(st, 4, n->cpus);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)n->memory_mb);
    store_sq_text(st, 6, n->vm_size);
    sqlite3_bind_int(st, 7, n->pid);
    sqlite3_bind_int64(st, 8, n->created_at_ms);
    sqlite3_bind_int(st, 9, n->joined);
    sqlite3_bind_int(st, 10, n->drain);
    return s_step_done(self, ST_NODE_PUT);
}

int store_node_set_state(store_t *self, const char *name, const char *state)
{
    if (self->pg)
        return store_pg_node_set_state(self->pg, name, state);
    store_sq_text(self->st[ST_NODE_STATE], 1, state);
    store_sq_text(self->st[ST_NODE_STATE], 2, name);
    return s_step_done(self, ST_NODE_STATE);
}

int store_node_delete(store_t *self, const char *name)
{
    if (self->pg)
        return store_pg_node_delete(self->pg, name);
    store_sq_text(self->st[ST_NODE_DEL], 1, name);
    return s_step_done(self, ST_NODE_DEL);
}

int store_node_each(store_t *self, store_node_cb cb, void *arg)
{
    if (self->pg)
        return store_pg_node_each(self->pg, cb, arg);
    sqlite3_stmt *st = self->st[ST_NODE_ALL];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_node_t n;
        memset(&n, 0, sizeof n);
        store_sq_copy(n.name, sizeof n.name, sqlite3_column_text(st, 0));
        store_sq_copy(n.cluster, sizeof n.cluster, sqlite3_column_text(st, 1));
        store_sq_copy(n.state, sizeof n.state, sqlite3_column_text(st, 2));
        n.cpus = (uint32_t)sqlite3_column_int64(st, 3);
        n.memory_mb = (uint64_t)sqlite3_column_int64(st, 4);
        store_sq_copy(n.vm_size, sizeof n.vm_size, sqlite3_column_text(st, 5));
        n.pid = sqlite3_column_int(st, 6);
        n.created_at_ms = sqlite3_column_int64(st, 7);
        n.joined = sqlite3_column_int(st, 8);
        n.drain = sqlite3_column_int(st, 9);
        cb(arg, &n);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, "node scan");
}

int store_job_insert(store_t *self, store_job_t *j)
{
    if (self->pg)
        return store_pg_job_insert(self->pg, j);
    sqlite3_stmt *st = self->st[ST_JOB_INSERT];
    store_sq_text(st, 1, j->name);
    store_sq_text(st, 2, j->cluster);
    store_sq_text(st, 3, j->state);
    sqlite3_bind_int(st, 4, j->priority);
    sqlite3_bind_int64(st, 5, j->cpus);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)j->memory_mb);
    sqlite3_bind_int64(st, 7, j->nodes);
    sqlite3_bind_int64(st, 8, j->procs_per_node);
    sqlite3_bind_int64(st, 9, j->gpus);
    sqlite3_bind_int64(st, 10, j->max_retries);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)j->time_limit_ms);
    sqlite3_bind_int64(st, 12, j->attempts);
    if (j->has_exit_code)
        sqlite3_bind_int(st, 13, j->exit_code);
    else
        sqlite3_bind_null(st, 13);
    store_sq_text(st, 14, j->reason);
    store_sq_text(st, 15, j->node_names);
    store_sq_text(st, 16, j->owner);
    sqlite3_bind_int64(st, 17, j->submitted_at_ms);
    sqlite3_bind_int64(st, 18, j->started_at_ms);
    sqlite3_bind_int64(st, 19, j->ended_at_ms);
    sqlite3_bind_blob(st, 20, j->spec ? (const void *)j->spec : "",
                      (int)j->spec_len, SQLITE_TRANSIENT);
    store_sq_text(st, 21, j->gpu_indices);
    sqlite3_bind_int64(st, 22, j->preemptions);
    /* whole seconds, rounded up, for a downgraded scheduler */
    sqlite3_bind_int64(st, 23, (sqlite3_int64)wire_limit_s(j->time_limit_ms));
    int rc = s_step_done(self, ST_JOB_INSERT);
    if (rc == 0)
        j->id = (uint64_t)sqlite3_last_insert_rowid(self->db);
    return rc;
}

int store_job_update(store_t *self, const store_job_t *j)
{
    if (self->pg)
        return store_pg_job_update(self->pg, j);
    sqlite3_stmt *st = self->st[ST_JOB_UPDATE];
    store_sq_text(st, 1, j->state);
    sqlite3_bind_int64(st, 2, j->attempts);
    if (j->has_exit_code)
        sqlite3_bind_int(st, 3, j->exit_code);
    else
        sqlite3_bind_null(st, 3);
    store_sq_text(st, 4, j->reason);
    store_sq_text(st, 5, j->node_names);
    sqlite3_bind_int64(st, 6, j->started_at_ms);
    sqlite3_bind_int64(st, 7, j->ended_at_ms);
    store_sq_text(st, 8, j->gpu_indices);
    sqlite3_bind_int64(st, 9, j->preemptions);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)j->id);
    return s_step_done(self, ST_JOB_UPDATE);
}

static void s_job_row(sqlite3_stmt *st, store_job_t *j, int with_spec)
{
    memset(j, 0, sizeof *j);
    j->id = (uint64_t)sqlite3_column_int64(st, 0);
    store_sq_copy(j->name, sizeof j->name, sqlite3_column_text(st, 1));
    store_sq_copy(j->cluster, sizeof j->cluster, sqlite3_column_text(st, 2));
    store_sq_copy(j->state, sizeof j->state, sqlite3_column_text(st, 3));
    j->priority = sqlite3_column_int(st, 4);
    j->cpus = (uint32_t)sqlite3_column_int64(st, 5);
    j->memory_mb = (uint64_t)sqlite3_column_int64(st, 6);
    j->nodes = (uint32_t)sqlite3_column_int64(st, 7);
    j->procs_per_node = (uint32_t)sqlite3_column_int64(st, 8);
    j->gpus = (uint32_t)sqlite3_column_int64(st, 9);
    j->max_retries = (uint32_t)sqlite3_column_int64(st, 10);
    j->time_limit_ms = (uint64_t)sqlite3_column_int64(st, 11);
    j->attempts = (uint32_t)sqlite3_column_int64(st, 12);
    j->has_exit_code = sqlite3_column_type(st, 13) != SQLITE_NULL;
    j->exit_code = sqlite3_column_int(st, 13);
    store_sq_copy(j->reason, sizeof j->reason, sqlite3_column_text(st, 14));
    store_sq_copy(j->node_names, sizeof j->node_names,
                  sqlite3_column_text(st, 15));
    store_sq_copy(j->owner, sizeof j->owner, sqlite3_column_text(st, 16));
    j->submitted_at_ms = sqlite3_column_int64(st, 17);
    j->started_at_ms = sqlite3_column_int64(st, 18);
    j->ended_at_ms = sqlite3_column_int64(st, 19);
    store_sq_copy(j->gpu_indices, sizeof j->gpu_indices,
                  sqlite3_column_text(st, 21));
    j->preemptions = (uint32_t)sqlite3_column_int64(st, 22);
    if (with_spec) {
        int n = sqlite3_column_bytes(st, 20);
        const void *b = sqlite3_column_blob(st, 20);
        j->spec = dr_malloc((size_t)n);
        if (n)
            memcpy(j->spec, b, (size_t)n);
        j->spec_len = (size_t)n;
    }
}

int store_job_get(store_t *self, uint64_t id, store_job_t *out)
{
    if (self->pg)
        return store_pg_job_get(self->pg, id, out);
    sqlite3_stmt *st = self->st[ST_JOB_GET];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc == SQLITE_ROW)
        s_job_row(st, out, 1);
    else if (rc == SQLITE_DONE)
        ret = DR_ENOENT;
    else
        ret = store_sq_fail(self, "job get");
    sqlite3_reset(st);
    return ret;
}

void store_job_clear(store_job_t *j)
{
    free(j->spec);
    j->spec = NULL;
    j->spec_len = 0;
}

/* Runs an ad-hoc SELECT of JOB_COLS and hands each row to cb (spec
 * included: the callback may need argv). */
static int s_job_query(store_t *self, sqlite3_stmt *st, store_job_cb cb,
                       void *arg, uint32_t limit, int *more)
{
    int rc;
    uint32_t n = 0;
    int ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (limit && n == limit) {
            if (more)
                *more = 1;
            break;
        }
        store_job_t j;
        s_job_row(st, &j, 1);
        int crc = cb(arg, &j);
        store_job_clear(&j);
        n++;
        if (crc < 0) {
            ret = crc;
            break;
        }
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = store_sq_fail(self, "job scan");
    sqlite3_finalize(st);
    return ret;
}

int store_job_each_in_states(store_t *self, const char *states, store_job_cb cb,
                             void *arg)
{
    if (self->pg)
        return store_pg_job_each_in_states(self->pg, states, cb, arg);
    /* states is a trusted, caller-provided comma list of plain words */
    dr_buf_t sql = {0};
    dr_buf_printf(&sql, "SELECT " JOB_COLS " FROM jobs WHERE state IN (");
    char *copy = dr_strdup(states);
    char *save = NULL;
    int first = 1;
    for (char *w = strtok_r(copy, ",", &save); w;
         w = strtok_r(NULL, ",", &save)) {
        dr_buf_printf(&sql, "%s'%s'", first ? "" : ",", w);
        first = 0;
    }
    free(copy);
    dr_buf_printf(&sql, ") ORDER BY id");
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(self->db, sql.data, -1, &st, NULL);
    dr_buf_free(&sql);
    if (rc != SQLITE_OK)
        return store_sq_fail(self, "job state scan");
    return s_job_query(self, st, cb, arg, 0, NULL);
}

int store_job_list(store_t *self, const store_job_filter_t *f, store_job_cb cb,
                   void *arg, int *more)
{
    if (self->pg)
        return store_pg_job_list(self->pg, f, cb, arg, more);
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT " JOB_COLS " FROM jobs WHERE id > ?1"
                      " AND (?2 = '' OR cluster = ?2 COLLATE NOCASE)"
                      " AND (?3 = '' OR state = ?3)"
                      " AND (?5 = '' OR owner = ?5) AND submitted_at >= ?6"
                      " ORDER BY id LIMIT ?4";
    if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_sq_fail(self, "job list");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)f->after);
    store_sq_text(st, 2, f->cluster);
    store_sq_text(st, 3, f->state);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)f->limit + 1);
    store_sq_text(st, 5, f->owner);
    sqlite3_bind_int64(st, 6, f->since_ms);
    if (more)
        *more = 0;
    return s_job_query(self, st, cb, arg, f->limit, more);
}

int store_task_put(store_t *self, uint64_t job_id, uint32_t attempt,
                   const char *node, const char *state, int exit_code,
                   const char *reason, int64_t ts_ms)
{
    if (self->pg)
        return store_pg_task_put(self->pg, job_id, attempt, node, state,
                                 exit_code, reason, ts_ms);
    sqlite3_stmt *st = self->st[ST_TASK_PUT];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)job_id);
    sqlite3_bind_int64(st, 2, attempt);
    store_sq_text(st, 3, node);
    store_sq_text(st, 4, state);
    sqlite3_bind_int(st, 5, exit_code);
    store_sq_text(st, 6, reason);
    sqlite3_bind_int64(st, 7, ts_ms);
    return s_step_done(self, ST_TASK_PUT);
}

int store_event(store_t *self, const char *kind, const char *cluster,
                const char *node, uint64_t job_id, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (self->pg)
        return store_pg_event(self->pg, kind, cluster, node, job_id, msg);
    sqlite3_stmt *st = self->st[ST_EVENT];
    sqlite3_bind_int64(st, 1, dr_now_ms());
    store_sq_text(st, 2, kind);
    store_sq_text(st, 3, cluster);
    store_sq_text(st, 4, node);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)job_id);
    store_sq_text(st, 6, msg);
    return s_step_done(self, ST_EVENT);
}

int store_event_prune(store_t *self, int64_t before_ms, int limit)
{
    if (self->pg)
        return store_pg_event_prune(self->pg, before_ms, limit);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "DELETE FROM events WHERE id IN (SELECT id FROM "
                           "events WHERE ts < ? ORDER BY id LIMIT ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sq_fail(self, "event prune");
    sqlite3_bind_int64(st, 1, before_ms);
    sqlite3_bind_int(st, 2, limit);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store_sq_fail(self, "event prune");
    return sqlite3_changes(self->db);
}

int store_event_list(store_t *self, const char *cluster, uint32_t limit,
                     store_event_cb cb, void *arg)
{
    if (self->pg)
        return store_pg_event_list(self->pg, cluster, limit, cb, arg);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT ts, kind, cluster, node, job_id, message"
                           " FROM events WHERE ?1 = '' OR cluster = ?1"
                           " COLLATE NOCASE ORDER BY id DESC LIMIT ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sq_fail(self, "event list");
    store_sq_text(st, 1, cluster);
    sqlite3_bind_int64(st, 2, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cb(arg, sqlite3_column_int64(st, 0),
           (const char *)sqlite3_column_text(st, 1),
           (const char *)sqlite3_column_text(st, 2),
           (const char *)sqlite3_column_text(st, 3),
           (uint64_t)sqlite3_column_int64(st, 4),
           (const char *)sqlite3_column_text(st, 5));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, "event list");
}
