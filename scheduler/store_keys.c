/* store_keys.c - the credentials rows of the SQLite store (see store.h):
 * principals (the CURVE keys of users, admins and agents), join tokens
 * (nodes that join by themselves: only a hash of the secret) and the HTTP
 * API's bearer tokens (only their SHA-256).  Each call hands itself to
 * PostgreSQL (store_pg.c) when that is the store. */
#include "dr_err.h"
#include "store_int.h"

#include <stdio.h>
#include <string.h>

const char store_join_token_schema[] =
    "CREATE TABLE IF NOT EXISTS join_tokens("
    " id TEXT PRIMARY KEY, cluster TEXT NOT NULL COLLATE NOCASE,"
    " secret_hash TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL, max_uses INTEGER NOT NULL DEFAULT 0,"
    " uses INTEGER NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0,"
    " created_by TEXT NOT NULL DEFAULT '', join_key TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS join_tokens_key ON join_tokens(join_key);";

const char store_api_token_schema[] =
    "CREATE TABLE IF NOT EXISTS api_tokens("
    " hash TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " created_by TEXT NOT NULL DEFAULT '');";

int store_principal_put(store_t *self, const char *name, const char *kind,
                        const char *role, const char *public_key,
                        int64_t created_at_ms)
{
    if (self->pg)
        return store_pg_principal_put(self->pg, name, kind, role, public_key,
                                      created_at_ms);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "INSERT OR REPLACE INTO principals(name, kind,"
                           " role, public_key, created_at) VALUES(?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sq_fail(self, "principal put");
    store_sq_text(st, 1, name);
    store_sq_text(st, 2, kind);
    store_sq_text(st, 3, role);
    store_sq_text(st, 4, public_key);
    sqlite3_bind_int64(st, 5, created_at_ms);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return DR_EEXIST;
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, "principal put");
}

int store_principal_delete(store_t *self, const char *name)
{
    if (self->pg)
        return store_pg_principal_delete(self->pg, name);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db, "DELETE FROM principals WHERE name = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sq_fail(self, "principal delete");
    store_sq_text(st, 1, name);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, "principal delete");
}

int store_principal_each(store_t *self, store_principal_cb cb, void *arg)
{
    if (self->pg)
        return store_pg_principal_each(self->pg, cb, arg);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT name, kind, role, public_key, created_at"
                           " FROM principals ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sq_fail(self, "principal scan");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cb(arg, (const char *)sqlite3_column_text(st, 0),
           (const char *)sqlite3_column_text(st, 1),
           (const char *)sqlite3_column_text(st, 2),
           (const char *)sqlite3_column_text(st, 3),
           sqlite3_column_int64(st, 4));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, "principal scan");
}

/* ---- join tokens ----------------------------------------------------------
 */

int store_join_token_put(store_t *self, const jt_row_t *t)
{
    if (self->pg)
        return store_pg_join_token_put(self->pg, t);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "INSERT OR REPLACE INTO join_tokens(id, cluster,"
                           " secret_hash, created_at, expires_at, max_uses,"
                           " uses, revoked, created_by, join_key)"
                           " VALUES(?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sq_fail(self, "join token put");
    store_sq_text(st, 1, t->id);
    store_sq_text(st, 2, t->cluster);
    store_sq_text(st, 3, t->secret_hash);
    sqlite3_bind_int64(st, 4, t->created_at_ms);
    sqlite3_bind_int64(st, 5, t->expires_at_ms);
    sqlite3_bind_int64(st, 6, t->max_uses);
    sqlite3_bind_int64(st, 7, t->uses);
    sqlite3_bind_int(st, 8, t->revoked);
    store_sq_text(st, 9, t->created_by);
    store_sq_text(st, 10, t->join_key);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return DR_EEXIST;
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, "join token put");
}

static void s_join_token_row(sqlite3_stmt *st, jt_row_t *t)
{
    memset(t, 0, sizeof *t);
    store_sq_copy(t->id, sizeof t->id, sqlite3_column_text(st, 0));
    store_sq_copy(t->cluster, sizeof t->cluster, sqlite3_column_text(st, 1));
    store_sq_copy(t->secret_hash, sizeof t->secret_hash,
                  sqlite3_column_text(st, 2));
    t->created_at_ms = sqlite3_column_int64(st, 3);
    t->expires_at_ms = sqlite3_column_int64(st, 4);
    t->max_uses = (uint32_t)sqlite3_column_int64(st, 5);
    t->uses = (uint32_t)sqlite3_column_int64(st, 6);
    t->revoked = sqlite3_column_int(st, 7);
    store_sq_copy(t->created_by, sizeof t->created_by,
                  sqlite3_column_text(st, 8));
    store_sq_copy(t->join_key, sizeof t->join_key, sqlite3_column_text(st, 9));
}

#define JOIN_TOKEN_COLS                                                        \
    "id, cluster, secret_hash, created_at, expires_at, max_uses, uses,"        \
    " revoked, created_by, join_key"

/* The one join token a SELECT of JOIN_TOKEN_COLS keyed by one text finds;
 * DR_ENOENT when none. */
static int s_join_token_one(store_t *self, const char *sql, const char *key,
                            const char *what, jt_row_t *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) != SQLITE_OK)
        return store_sq_fail(self, what);
    store_sq_text(st, 1, key);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc == SQLITE_ROW)
        s_join_token_row(st, out);
    else if (rc == SQLITE_DONE)
        ret = DR_ENOENT;
    else
        ret = store_sq_fail(self, what);
    sqlite3_finalize(st);
    return ret;
}

int store_join_token_get(store_t *self, const char *id, jt_row_t *out)
{
    if (self->pg)
        return store_pg_join_token_get(self->pg, id, out);
    return s_join_token_one(
        self, "SELECT " JOIN_TOKEN_COLS " FROM join_tokens WHERE id = ?", id,
        "join token get", out);
}

int store_join_token_by_key(store_t *self, const char *join_key, jt_row_t *out)
{
    if (self->pg)
        return store_pg_join_token_by_key(self->pg, join_key, out);
    return s_join_token_one(self,
                            "SELECT " JOIN_TOKEN_COLS
                            " FROM join_tokens WHERE join_key = ? AND"
                            " join_key != ''",
                            join_key, "join token by key", out);
}

int store_join_token_each(store_t *self, const char *cluster,
                          store_join_token_cb cb, void *arg)
{
    if (self->pg)
        return store_pg_join_token_each(self->pg, cluster, cb, arg);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT " JOIN_TOKEN_COLS " FROM join_tokens"
                           " WHERE ?1 = '' OR cluster = ?1 COLLATE NOCASE"
                           " ORDER BY created_at, id",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sq_fail(self, "join token scan");
    store_sq_text(st, 1, cluster);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        jt_row_t t;
        s_join_token_row(st, &t);
        cb(arg, &t);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, "join token scan");
}

/* ---- the HTTP API's tokens ------------------------------------------------
 */

int store_api_token_put(store_t *self, const char *hash, const char *name,
                        int64_t created_at_ms, const char *by)
{
    if (self->pg)
        return store_pg_api_token_put(self->pg, hash, name, created_at_ms, by);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "INSERT INTO api_tokens(hash, name, created_at,"
                           " created_by) VALUES(?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return store_sq_fail(self, "api token put");
    store_sq_text(st, 1, hash);
    store_sq_text(st, 2, name);
    sqlite3_bind_int64(st, 3, created_at_ms);
    store_sq_text(st, 4, by);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return DR_EEXIST;
    return rc == SQLITE_DONE ? 0 : store_sq_fail(self, "api token put");
}

int store_api_token_get(store_t *self, const char *hash, char *name, size_t cap)
{
    if (self->pg)
        return store_pg_api_token_get(self->pg, hash, name, cap);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT name FROM api_tokens WHERE hash = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return store_sq_fail(self, "api token get");
    store_sq_text(st, 1, hash);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc == SQLITE_ROW)
        store_sq_copy(name, cap, sqlite3_column_text(st, 0));
    else if (rc == SQLITE_DONE)
        ret = DR_ENOENT;
    else
        ret = store_sq_fail(self, "api token get");
    sqlite3_finalize(st);
    return ret;
}
