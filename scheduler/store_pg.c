/* store_pg.c - the store on PostgreSQL through libpq (see store_pg.h).
 *
 * Owns two connections: `db`, where every statement is prepared and the
 * loop's transaction runs, and `lock`, a session of its own that holds
 * the leader's advisory lock and renews the lease.  The transaction opens
 * lazily: store_pg_begin only marks it, the first write sends BEGIN, so an
 * idle pass costs no round trip; its commit first reads the term row FOR
 * SHARE in the same transaction and commits only while the term is still
 * this store's (fencing: a takeover increments the term, and its UPDATE
 * waits for a commit that already checked).  A write outside
 * store_pg_begin is a transaction of its own, fenced the same way.
 *
 * A lost connection is "down": every call fails fast with DR_EDB until
 * store_pg_probe_write reconnects (at most once a second, the loop's
 * probe).  It never decides anything, as store.c does not.
 */
#include "store_pg.h"
#include "dr_err.h"
#include "store_pg_int.h"
#include "store_pg_usage.h"
#include "log.h"
#include "util.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the advisory lock of leadership (any constant; "drov") */
#define LEADER_KEY 0x64726f76LL
/* the advisory lock that serialises migrations */
#define MIGRATE_KEY 0x64726f6dLL

#define JOB_COLS                                                               \
    "id, name, cluster, state, priority, cpus, memory_mb, nodes,"              \
    " procs_per_node, gpus, max_retries, time_limit_ms, attempts, exit_code,"  \
    " reason, node_names, owner, submitted_at, started_at, ended_at, spec,"    \
    " gpu_indices, preemptions"

#define JT_COLS                                                                \
    "id, cluster, secret_hash, created_at, expires_at, max_uses, uses,"        \
    " revoked, created_by, join_key"

static const char *s_sql[Q_COUNT] = {
    [Q_CLUSTER_PUT] =
        "INSERT INTO clusters(name, vm_size, min_nodes, max_nodes,"
        " idle_seconds, vm_priority, location, provider, created_at,"
        " last_error, resume_program, suspend_program, provider_url, locked,"
        " identity, identity_principal)"
        " VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)"
        " ON CONFLICT ((lower(name))) DO UPDATE SET name = EXCLUDED.name,"
        " vm_size = EXCLUDED.vm_size, min_nodes = EXCLUDED.min_nodes,"
        " max_nodes = EXCLUDED.max_nodes,"
        " idle_seconds = EXCLUDED.idle_seconds,"
        " vm_priority = EXCLUDED.vm_priority, location = EXCLUDED.location,"
        " provider = EXCLUDED.provider, created_at = EXCLUDED.created_at,"
        " last_error = EXCLUDED.last_error,"
        " resume_program = EXCLUDED.resume_program,"
        " suspend_program = EXCLUDED.suspend_program,"
        " provider_url = EXCLUDED.provider_url, locked = EXCLUDED.locked,"
        " identity = EXCLUDED.identity,"
        " identity_principal = EXCLUDED.identity_principal",
    [Q_CLUSTER_DEL] = "DELETE FROM clusters WHERE lower(name) = lower($1)",
    [Q_CLUSTER_ERR] =
        "UPDATE clusters SET last_error = $1 WHERE lower(name) = lower($2)",
    [Q_CLUSTER_ALL] =
        "SELECT name, vm_size, min_nodes, max_nodes, idle_seconds,"
        " vm_priority, location, provider, created_at, last_error,"
        " resume_program, suspend_program, provider_url, locked, identity,"
        " identity_principal FROM clusters ORDER BY lower(name)",
    [Q_NODE_PUT] =
        "INSERT INTO nodes(name, cluster, state, cpus, memory_mb, vm_size,"
        " pid, created_at, joined, drain) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,"
        "$10) ON CONFLICT (name) DO UPDATE SET cluster = EXCLUDED.cluster,"
        " state = EXCLUDED.state, cpus = EXCLUDED.cpus,"
        " memory_mb = EXCLUDED.memory_mb, vm_size = EXCLUDED.vm_size,"
        " pid = EXCLUDED.pid, created_at = EXCLUDED.created_at,"
        " joined = EXCLUDED.joined, drain = EXCLUDED.drain",
    [Q_NODE_STATE] = "UPDATE nodes SET state = $1 WHERE name = $2",
    [Q_NODE_DEL] = "DELETE FROM nodes WHERE name = $1",
    [Q_NODE_ALL] = "SELECT name, cluster, state, cpus, memory_mb, vm_size,"
                   " pid, created_at, joined, drain FROM nodes ORDER BY name",
    [Q_JOB_INSERT] =
        "INSERT INTO jobs(name, cluster, state, priority, cpus, memory_mb,"
        " nodes, procs_per_node, gpus, max_retries, time_limit_ms, attempts,"
        " exit_code, reason, node_names, owner, submitted_at, started_at,"
        " ended_at, spec, gpu_indices, preemptions, time_limit_s)"
        " VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,"
        "$18,$19,$20,$21,$22,$23) RETURNING id",
    [Q_JOB_UPDATE] = "UPDATE jobs SET state = $1, attempts = $2,"
                     " exit_code = $3, reason = $4, node_names = $5,"
                     " started_at = $6, ended_at = $7, gpu_indices = $8,"
                     " preemptions = $9 WHERE id = $10",
    [Q_JOB_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = $1",
    [Q_JOB_STATES] = "SELECT " JOB_COLS " FROM jobs WHERE state ="
                     " ANY(string_to_array($1, ',')) ORDER BY id",
    [Q_JOB_LIST] = "SELECT " JOB_COLS " FROM jobs WHERE id > $1"
                   " AND ($2 = '' OR lower(cluster) = lower($2))"
                   " AND ($3 = '' OR state = $3)"
                   " AND ($5 = '' OR owner = $5) AND submitted_at >= $6"
                   " ORDER BY id LIMIT $4",
    [Q_TASK_PUT] =
        "INSERT INTO tasks(job_id, attempt, node, state, exit_code, reason,"
        " updated_at) VALUES($1,$2,$3,$4,$5,$6,$7)"
        " ON CONFLICT (job_id, attempt, node) DO UPDATE SET"
        " state = EXCLUDED.state, exit_code = EXCLUDED.exit_code,"
        " reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at",
    [Q_EVENT] = "INSERT INTO events(ts, kind, cluster, node, job_id, message)"
                " VALUES($1,$2,$3,$4,$5,$6)",
    [Q_EVENT_PRUNE] = "DELETE FROM events WHERE id IN (SELECT id FROM events"
                      " WHERE ts < $1 ORDER BY id LIMIT $2)",
    [Q_EVENT_LIST] = "SELECT ts, kind, cluster, node, job_id, message"
                     " FROM events WHERE $1 = '' OR lower(cluster) ="
                     " lower($1) ORDER BY id DESC LIMIT $2",
    [Q_PRINCIPAL_PUT] =
        "INSERT INTO principals(name, kind, role, public_key, created_at)"
        " VALUES($1,$2,$3,$4,$5) ON CONFLICT (name) DO UPDATE SET"
        " kind = EXCLUDED.kind, role = EXCLUDED.role,"
        " public_key = EXCLUDED.public_key,"
        " created_at = EXCLUDED.created_at",
    [Q_PRINCIPAL_DEL] = "DELETE FROM principals WHERE name = $1",
    [Q_PRINCIPAL_ALL] = "SELECT name, kind, role, public_key, created_at"
                        " FROM principals ORDER BY name",
    [Q_JT_PUT] =
        "INSERT INTO join_tokens(" JT_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,"
        "$9,$10) ON CONFLICT (id) DO UPDATE SET cluster = EXCLUDED.cluster,"
        " secret_hash = EXCLUDED.secret_hash,"
        " created_at = EXCLUDED.created_at,"
        " expires_at = EXCLUDED.expires_at, max_uses = EXCLUDED.max_uses,"
        " uses = EXCLUDED.uses, revoked = EXCLUDED.revoked,"
        " created_by = EXCLUDED.created_by, join_key = EXCLUDED.join_key",
    [Q_JT_GET] = "SELECT " JT_COLS " FROM join_tokens WHERE id = $1",
    [Q_JT_BY_KEY] = "SELECT " JT_COLS " FROM join_tokens WHERE join_key = $1"
                    " AND join_key <> ''",
    [Q_API_PUT] = "INSERT INTO api_tokens(hash, name, created_at, created_by)"
                  " VALUES($1,$2,$3,$4)",
    [Q_API_GET] = "SELECT name FROM api_tokens WHERE hash = $1",
    [Q_JT_ALL] = "SELECT " JT_COLS " FROM join_tokens WHERE $1 = ''"
                 " OR lower(cluster) = lower($1) ORDER BY created_at, id",
    [Q_TERM] = "SELECT term FROM leader WHERE id = 1 FOR SHARE",
};

struct store_pg {
    char *uri;
    PGconn *db;   /* statements and the loop's transaction */
    PGconn *lock; /* the advisory lock and the lease; NULL until tried */
    int in_tx;    /* store_pg_begin was called */
    int tx_open;  /* BEGIN was sent */
    int tx_err;   /* a statement of the open transaction failed */
    int wrote;    /* a write was tried in it (sent or refused) */
    int down;     /* the connection was lost: every call fails fast */
    int fenced;   /* the last commit found another leader's term */
    int leader;   /* this store holds the lock and `term` */
    int64_t term; /* the term this store leads in; 0 = none */
};

/* ---- connections ----------------------------------------------------------
 */

static void s_notice(void *arg, const char *msg)
{
    (void)arg;
    log_debug("store: postgresql: %s", msg);
}

/* A connection with a short connect timeout (unless the URI sets one),
 * so that an unreachable server never stalls the loop for long. */
static PGconn *s_connect(const char *uri)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name",
                          NULL};
    const char *vals[] = {uri, "3", "drover-scheduler", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c)
        log_fatal("out of memory (libpq)");
    PQsetNoticeProcessor(c, s_notice, NULL);
    return c;
}

static int s_conn_bad(PGconn *c)
{
    return !c || PQstatus(c) != CONNECTION_OK;
}

/* A failure of the last statement: logged once, here; remembered. */
static int s_fail(store_pg_t *self, PGconn *c, const PGresult *res,
                  const char *what)
{
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!msg || !msg[0])
        msg = PQerrorMessage(c);
    /* a connection lost, or a server shutting down (57P: the backend says
     * so before it closes the connection) */
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int lost =
        s_conn_bad(c) || !res ||
        (st && (strncmp(st, "08", 2) == 0 || strncmp(st, "57P", 3) == 0));
    if (lost && c == self->db) {
        if (!self->down)
            log_error("store: the PostgreSQL server is unreachable (%s): "
                      "writes are refused until it returns",
                      msg);
        self->down = 1;
    } else {
        log_error("store: %s: %s", what, msg);
    }
    if (c == self->db && self->in_tx)
        self->tx_err = 1;
    return DR_EDB;
}

static int s_exec(store_pg_t *self, PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
             PQresultStatus(r) == PGRES_TUPLES_OK;
    int rc = ok ? 0 : s_fail(self, c, r, sql);
    PQclear(r);
    return rc;
}

static int s_prepare(store_pg_t *self)
{
    for (int i = 0; i < Q_COUNT; i++) {
        char name[16];
        snprintf(name, sizeof name, "q%d", i);
        PGresult *r = PQprepare(self->db, name, s_sql[i], 0, NULL);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            (void)s_fail(self, self->db, r, s_sql[i]);
        PQclear(r);
        if (!ok)
            return DR_EDB;
    }
    return 0;
}

/* The schema_version row, or -1 when there is no meta table yet. */
static int s_version(store_pg_t *self)
{
    PGresult *r = PQexec(self->db, "SELECT value FROM meta WHERE key ="
                                   " 'schema_version'");
    int v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* Each step in a transaction of its own with its version bump, under a
 * transaction-level advisory lock; a newer schema than this program knows
 * is refused. */
static int s_migrate(store_pg_t *self)
{
    if (s_exec(self, self->db, "BEGIN") < 0)
        return DR_EDB;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%lld)",
             MIGRATE_KEY);
    int rc = s_exec(self, self->db, sql);
    PGresult *r = PQexec(self->db, "SELECT to_regclass('meta') IS NOT NULL");
    int has_meta = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                   PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    int v = has_meta ? s_version(self) : 0;
    if (rc == 0 && v > store_pg_nmigrations) {
        log_error("store: the database's schema is version %d, newer than "
                  "this scheduler's (%d): upgrade the scheduler",
                  v, store_pg_nmigrations);
        rc = DR_EDB;
    }
    for (int i = v; rc == 0 && i < store_pg_nmigrations; i++) {
        rc = s_exec(self, self->db, store_pg_migrations[i]);
        snprintf(sql, sizeof sql,
                 "UPDATE meta SET value = '%d' WHERE key = 'schema_version'",
                 i + 1);
        if (rc == 0)
            rc = s_exec(self, self->db, sql);
        if (rc == 0)
            log_info("store: schema migrated to version %d", i + 1);
    }
    if (rc == 0)
        return s_exec(self, self->db, "COMMIT");
    (void)s_exec(self, self->db, "ROLLBACK");
    return rc;
}

store_pg_t *store_pg_new(const char *uri)
{
    store_pg_t *self = dr_calloc(1, sizeof *self);
    self->uri = dr_strdup(uri);
    self->db = s_connect(uri);
    if (s_conn_bad(self->db)) {
        log_error("store: cannot connect to PostgreSQL: %s",
                  PQerrorMessage(self->db));
        goto fail;
    }
    if (s_exec(self, self->db, "SET synchronous_commit = on") < 0 ||
        s_migrate(self) < 0 || s_prepare(self) < 0)
        goto fail;
    log_info("store: PostgreSQL database %s on %s, schema version %d",
             PQdb(self->db), PQhost(self->db), store_pg_nmigrations);
    return self;
fail:
    store_pg_destroy(&self);
    return NULL;
}

void store_pg_destroy(store_pg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_pg_t *self = *self_p;
    if (self->tx_open && !s_conn_bad(self->db))
        (void)s_exec(self, self->db, "ROLLBACK");
    if (self->db)
        PQfinish(self->db);
    if (self->lock)
        PQfinish(self->lock);
    free(self->uri);
    free(self);
    *self_p = NULL;
}

/* ---- statements ---------------------------------------------------------- */

/* Runs prepared statement `name` (or, with name NULL, `sql` itself);
 * NULL (failure recorded) or a result the caller clears. */
static PGresult *s_run_sql(store_pg_t *self, const char *name, const char *sql,
                           const args_t *a)
{
    if (self->down || (self->in_tx && self->tx_err)) {
        /* fail fast: the server is gone, or the transaction is aborted
         * already (its first failure was logged) */
        if (self->in_tx)
            self->tx_err = 1;
        return NULL;
    }
    int n = a ? a->n : 0;
    const char *const *v = a ? a->v : NULL;
    const int *len = a ? a->len : NULL, *fmt = a ? a->fmt : NULL;
    PGresult *r = name ? PQexecPrepared(self->db, name, n, v, len, fmt, 0)
                       : PQexecParams(self->db, sql, n, NULL, v, len, fmt, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    (void)s_fail(self, self->db, r, sql);
    PQclear(r);
    return NULL;
}

PGresult *store_pg_run(store_pg_t *self, int which, const args_t *a)
{
    char name[16];
    snprintf(name, sizeof name, "q%d", which);
    return s_run_sql(self, name, s_sql[which], a);
}

PGresult *store_pg_query(store_pg_t *self, const char *sql, const args_t *a)
{
    return s_run_sql(self, NULL, sql, a);
}

/* The term check of a write transaction, in it. */
static int s_check_term(store_pg_t *self)
{
    PGresult *r = store_pg_run(self, Q_TERM, NULL);
    if (!r)
        return DR_EDB;
    int64_t t = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    if (self->term && t == self->term)
        return 0;
    if (!self->fenced)
        log_error("store: the leader's term is %lld, not this scheduler's "
                  "(%lld): another scheduler leads; nothing is committed",
                  (long long)t, (long long)self->term);
    self->fenced = 1;
    self->leader = 0;
    return DR_ENOTLEADER;
}

static int s_end_tx(store_pg_t *self, int commit)
{
    int rc = 0;
    if (self->tx_open) {
        if (commit && self->tx_err)
            rc = DR_EDB;
        if (commit && rc == 0)
            rc = s_check_term(self);
        if (commit && rc == 0) {
            PGresult *r = PQexec(self->db, "COMMIT");
            /* a COMMIT of an aborted transaction answers ROLLBACK */
            int ok = PQresultStatus(r) == PGRES_COMMAND_OK &&
                     strcmp(PQcmdStatus(r), "COMMIT") == 0;
            if (!ok)
                rc = s_fail(self, self->db, r, "COMMIT");
            PQclear(r);
            if (ok)
                self->tx_open = 0;
        }
        if (self->tx_open && !s_conn_bad(self->db)) {
            PGresult *r = PQexec(self->db, "ROLLBACK");
            PQclear(r);
        }
    }
    self->tx_open = 0;
    self->in_tx = 0;
    self->tx_err = 0;
    self->wrote = 0;
    return rc;
}

/* Before a write: opens the transaction (lazily); a write outside
 * store_pg_begin gets one of its own (*own set: commit it after). */
static int s_write_begin(store_pg_t *self, int *own)
{
    *own = 0;
    if (self->in_tx)
        self->wrote = 1; /* its commit must fail if this write does */
    if (self->down)
        return DR_EDB;
    if (!self->in_tx) {
        self->in_tx = 1;
        *own = 1;
    }
    if (self->tx_err)
        return DR_EDB;
    if (!self->tx_open) {
        if (s_exec(self, self->db, "BEGIN") < 0)
            return DR_EDB;
        self->tx_open = 1;
    }
    return 0;
}

/* A write statement (prepared `which`, or `sql` when which < 0); its
 * result (RETURNING) when out is set. */
static int s_write_any(store_pg_t *self, int which, const char *sql,
                       const args_t *a, PGresult **out)
{
    int own = 0;
    int rc = s_write_begin(self, &own);
    PGresult *r = NULL;
    if (rc == 0)
        r = which >= 0 ? store_pg_run(self, which, a)
                       : s_run_sql(self, NULL, sql, a);
    if (rc == 0 && !r)
        rc = DR_EDB;
    if (own) {
        int crc = s_end_tx(self, rc == 0);
        if (rc == 0)
            rc = crc;
    }
    if (out && rc == 0)
        *out = r;
    else
        PQclear(r);
    return rc;
}

int store_pg_write_q(store_pg_t *self, int which, const args_t *a,
                     PGresult **out)
{
    return s_write_any(self, which, NULL, a, out);
}

int store_pg_write(store_pg_t *self, const char *sql, const args_t *a,
                   PGresult **out)
{
    return s_write_any(self, -1, sql, a, out);
}

/* ---- transactions -------------------------------------------------------- */

int store_pg_begin(store_pg_t *self)
{
    if (self->in_tx)
        return 0;
    self->in_tx = 1;
    self->tx_err = self->down; /* nothing can be written while down */
    return 0;
}

int store_pg_commit(store_pg_t *self)
{
    if (!self->in_tx)
        return 0;
    if (!self->tx_open) {
        /* nothing was sent: nothing to commit, whether the server is
         * there or not (a pass of reads and heartbeats) -- unless a write
         * was refused (the server is gone): then the pass failed */
        int failed = self->wrote && self->tx_err;
        (void)s_end_tx(self, 0);
        return failed ? DR_EDB : 0;
    }
    return s_end_tx(self, 1);
}

int store_pg_rollback(store_pg_t *self)
{
    (void)s_end_tx(self, 0);
    return 0;
}

int store_pg_down(const store_pg_t *self)
{
    return self->down;
}

int64_t store_pg_term(const store_pg_t *self)
{
    return self->leader ? self->term : 0;
}

/* After a lost connection: a fresh one with its statements. */
static int s_reconnect(store_pg_t *self)
{
    PQreset(self->db);
    if (s_conn_bad(self->db)) {
        log_debug("store: PostgreSQL still unreachable: %s",
                  PQerrorMessage(self->db));
        return DR_EDB;
    }
    self->down = 0;
    if (s_prepare(self) < 0) {
        self->down = s_conn_bad(self->db);
        return DR_EDB;
    }
    log_info("store: PostgreSQL reachable again");
    return 0;
}

int store_pg_probe_write(store_pg_t *self)
{
    if (self->in_tx)
        return DR_ESTATE;
    if (self->down && s_reconnect(self) < 0)
        return DR_EDB;
    /* a transaction with the term check, as every write has */
    if (!self->leader)
        return 0; /* a standby writes nothing */
    int own = 0;
    int rc = s_write_begin(self, &own);
    PGresult *r = rc == 0 ? store_pg_run(self, Q_TERM, NULL) : NULL;
    PQclear(r);
    if (rc == 0 && !r)
        rc = DR_EDB;
    int crc = s_end_tx(self, rc == 0);
    return rc ? rc : crc;
}

/* ---- leadership ---------------------------------------------------------- */

static void s_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* The leader row as it stands (outside any transaction of ours). */
static int s_leader_row(store_pg_t *self, PGconn *c, store_leader_t *out,
                        int64_t *age_ms)
{
    PGresult *r = PQexec(c, "SELECT term, holder, client_endpoint,"
                            " agent_endpoint, (extract(epoch FROM now() -"
                            " renewed_at) * 1000)::bigint FROM leader"
                            " WHERE id = 1");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        int rc = s_fail(self, c, r, "leader row");
        PQclear(r);
        return rc;
    }
    memset(out, 0, sizeof *out);
    out->term = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    s_copy(out->holder, sizeof out->holder, PQgetvalue(r, 0, 1));
    s_copy(out->client, sizeof out->client, PQgetvalue(r, 0, 2));
    s_copy(out->agent, sizeof out->agent, PQgetvalue(r, 0, 3));
    if (age_ms)
        *age_ms = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
    PQclear(r);
    return 0;
}

/* Ends the session that holds the lock while its lease is older than
 * lease_ms (a stopped or hung leader keeps its session open). */
static void s_depose_stale(store_pg_t *self, int64_t age_ms, int64_t lease_ms,
                           const store_leader_t *cur)
{
    if (age_ms <= lease_ms)
        return;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
             " WHERE pid <> pg_backend_pid() AND (pid IN (SELECT pid FROM"
             " pg_locks WHERE locktype = 'advisory' AND granted AND"
             " objid = %lld AND classid = 0) OR pid = (SELECT data_pid"
             " FROM leader WHERE id = 1))",
             LEADER_KEY);
    log_warn("store: the leader %s (term %lld) has not renewed its lease "
             "for %lld ms (lease %lld ms): ending its sessions",
             cur->holder, (long long)cur->term, (long long)age_ms,
             (long long)lease_ms);
    (void)s_exec(self, self->lock, sql);
}

/* Takes the lock when free; with it, the next term. */
static int s_try_lead(store_pg_t *self, const store_leader_t *me)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%lld)", LEADER_KEY);
    PGresult *r = PQexec(self->lock, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        int rc = s_fail(self, self->lock, r, "advisory lock");
        PQclear(r);
        return rc;
    }
    int got = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!got)
        return 0;
    char pid[24];
    snprintf(pid, sizeof pid, "%d", PQbackendPID(self->db));
    const char *vals[4] = {me->holder, me->client, me->agent, pid};
    r = PQexecParams(self->lock,
                     "UPDATE leader SET term = term + 1, holder = $1,"
                     " client_endpoint = $2, agent_endpoint = $3,"
                     " data_pid = $4, renewed_at = now() WHERE id = 1"
                     " RETURNING term",
                     4, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        int rc = s_fail(self, self->lock, r, "new term");
        PQclear(r);
        return rc;
    }
    self->term = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    self->leader = 1;
    self->fenced = 0;
    log_info("store: this scheduler (%s) leads, term %lld", me->holder,
             (long long)self->term);
    return 2;
}

/* Renews the lease; 1 while the term is still ours, 0 when deposed. */
static int s_renew(store_pg_t *self)
{
    char t[24], pid[24];
    snprintf(t, sizeof t, "%lld", (long long)self->term);
    snprintf(pid, sizeof pid, "%d", PQbackendPID(self->db));
    const char *vals[2] = {t, pid};
    PGresult *r = PQexecParams(self->lock,
                               "UPDATE leader SET renewed_at = now(),"
                               " data_pid = $2 WHERE id = 1 AND term = $1",
                               2, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        int rc = s_fail(self, self->lock, r, "lease renewal");
        PQclear(r);
        return rc;
    }
    int kept = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    return kept;
}

static int s_poll(store_pg_t *self, const store_leader_t *me, int64_t lease_ms,
                  store_leader_t *leader)
{
    if (s_conn_bad(self->lock)) {
        /* the session (and its lock) is gone: whatever term we had is
         * over; a new one starts only with the lock again */
        if (self->lock)
            PQfinish(self->lock);
        self->lock = s_connect(self->uri);
        if (self->leader)
            log_warn("store: the leader's session ended (%s): leadership "
                     "is lost until the lock is taken again",
                     PQerrorMessage(self->lock));
        self->leader = 0;
        if (s_conn_bad(self->lock))
            return DR_EDB;
        /* never wait long on the term row (a stopped leader may hold it) */
        if (s_exec(self, self->lock, "SET lock_timeout = '2s'") < 0)
            return DR_EDB;
    }
    if (self->leader) {
        int kept = s_renew(self);
        if (kept < 0)
            return kept;
        if (kept)
            return 1;
        log_warn("store: term %lld is over (another scheduler took over)",
                 (long long)self->term);
        self->leader = 0;
        /* the lock may still be ours (a term taken over by force):
         * release it so that this session cannot lead by mistake */
        PQfinish(self->lock);
        self->lock = NULL;
        return 0;
    }
    int rc = s_try_lead(self, me);
    if (rc != 0)
        return rc;
    int64_t age = 0;
    if (s_leader_row(self, self->lock, leader, &age) < 0)
        return DR_EDB;
    s_depose_stale(self, age, lease_ms, leader);
    return 0;
}

int store_pg_leader_poll(store_pg_t *self, const store_leader_t *me,
                         int64_t lease_ms, store_leader_t *leader)
{
    int rc = s_poll(self, me, lease_ms, leader);
    if (rc < 0 && s_conn_bad(self->lock))
        rc = s_poll(self, me, lease_ms, leader); /* a fresh session */
    return rc;
}

/* ---- rows (the others: store_pg_rows.c) ---------------------------------- */

/* A write whose arguments are one or two strings (t2 NULL: one). */
int store_pg_write_str(store_pg_t *self, int which, const char *t1,
                       const char *t2)
{
    args_t a = {0};
    a_text(&a, t1);
    if (t2)
        a_text(&a, t2);
    return store_pg_write_q(self, which, &a, NULL);
}

/* A write whose unique violation means "another row has it". */
int store_pg_write_unique(store_pg_t *self, int which, const args_t *a)
{
    int own = 0;
    int rc = s_write_begin(self, &own);
    if (rc == 0) {
        char name[16];
        snprintf(name, sizeof name, "q%d", which);
        PGresult *r =
            PQexecPrepared(self->db, name, a->n, a->v, a->len, a->fmt, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (st && strcmp(st, "23505") == 0) {
                /* the transaction is aborted all the same */
                if (self->in_tx)
                    self->tx_err = 1;
                rc = DR_EEXIST;
            } else {
                rc = s_fail(self, self->db, r, s_sql[which]);
            }
        }
        PQclear(r);
    }
    if (own) {
        int crc = s_end_tx(self, rc == 0);
        if (rc == 0)
            rc = crc;
    }
    return rc;
}
