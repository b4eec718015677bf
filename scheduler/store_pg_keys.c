/* store_pg_keys.c - the credentials rows on PostgreSQL: principals (the
 * CURVE keys), join tokens and the HTTP API's tokens, through store_pg.c's
 * prepared statements; a duplicate key is DR_EEXIST
 * (store_pg_write_unique). */
#include "dr_err.h"
#include "store_pg_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_pg_principal_put(store_pg_t *self, const char *name, const char *kind,
                           const char *role, const char *public_key,
                           int64_t created_at_ms)
{
    args_t a = {0};
    a_text(&a, name);
    a_text(&a, kind);
    a_text(&a, role);
    a_text(&a, public_key);
    a_i64(&a, created_at_ms);
    return store_pg_write_unique(self, Q_PRINCIPAL_PUT, &a);
}

int store_pg_principal_delete(store_pg_t *self, const char *name)
{
    return store_pg_write_str(self, Q_PRINCIPAL_DEL, name, NULL);
}

int store_pg_principal_each(store_pg_t *self, store_principal_cb cb, void *arg)
{
    PGresult *r = store_pg_run(self, Q_PRINCIPAL_ALL, NULL);
    if (!r)
        return DR_EDB;
    for (int i = 0; i < PQntuples(r); i++)
        cb(arg, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
           PQgetvalue(r, i, 3), pg_i64(r, i, 4));
    PQclear(r);
    return 0;
}

int store_pg_join_token_put(store_pg_t *self, const jt_row_t *t)
{
    args_t a = {0};
    a_text(&a, t->id);
    a_text(&a, t->cluster);
    a_text(&a, t->secret_hash);
    a_i64(&a, t->created_at_ms);
    a_i64(&a, t->expires_at_ms);
    a_i64(&a, t->max_uses);
    a_i64(&a, t->uses);
    a_i64(&a, t->revoked);
    a_text(&a, t->created_by);
    a_text(&a, t->join_key);
    return store_pg_write_unique(self, Q_JT_PUT, &a);
}

static void s_jt_row(const PGresult *r, int i, jt_row_t *t)
{
    memset(t, 0, sizeof *t);
    pg_str(t->id, sizeof t->id, r, i, 0);
    pg_str(t->cluster, sizeof t->cluster, r, i, 1);
    pg_str(t->secret_hash, sizeof t->secret_hash, r, i, 2);
    t->created_at_ms = pg_i64(r, i, 3);
    t->expires_at_ms = pg_i64(r, i, 4);
    t->max_uses = (uint32_t)pg_i64(r, i, 5);
    t->uses = (uint32_t)pg_i64(r, i, 6);
    t->revoked = (int)pg_i64(r, i, 7);
    pg_str(t->created_by, sizeof t->created_by, r, i, 8);
    pg_str(t->join_key, sizeof t->join_key, r, i, 9);
}

/* One row of query `which` keyed by one text argument: 0, DR_ENOENT. */
static int s_jt_one(store_pg_t *self, int which, const char *key, jt_row_t *out)
{
    args_t a = {0};
    a_text(&a, key);
    PGresult *r = store_pg_run(self, which, &a);
    if (!r)
        return DR_EDB;
    int rc = PQntuples(r) == 1 ? 0 : DR_ENOENT;
    if (rc == 0)
        s_jt_row(r, 0, out);
    PQclear(r);
    return rc;
}

int store_pg_join_token_get(store_pg_t *self, const char *id, jt_row_t *out)
{
    return s_jt_one(self, Q_JT_GET, id, out);
}

int store_pg_join_token_by_key(store_pg_t *self, const char *join_key,
                               jt_row_t *out)
{
    return s_jt_one(self, Q_JT_BY_KEY, join_key, out);
}

int store_pg_api_token_put(store_pg_t *self, const char *hash, const char *name,
                           int64_t created_at_ms, const char *by)
{
    args_t a = {0};
    a_text(&a, hash);
    a_text(&a, name);
    a_i64(&a, created_at_ms);
    a_text(&a, by);
    return store_pg_write_unique(self, Q_API_PUT, &a);
}

int store_pg_api_token_get(store_pg_t *self, const char *hash, char *name,
                           size_t cap)
{
    args_t a = {0};
    a_text(&a, hash);
    PGresult *r = store_pg_run(self, Q_API_GET, &a);
    if (!r)
        return DR_EDB;
    int rc = PQntuples(r) == 1 ? 0 : DR_ENOENT;
    if (rc == 0)
        pg_str(name, cap, r, 0, 0);
    PQclear(r);
    return rc;
}

int store_pg_join_token_each(store_pg_t *self, const char *cluster,
                             store_join_token_cb cb, void *arg)
{
    args_t a = {0};
    a_text(&a, cluster);
    PGresult *r = store_pg_run(self, Q_JT_ALL, &a);
    if (!r)
        return DR_EDB;
    for (int i = 0; i < PQntuples(r); i++) {
        jt_row_t t;
        s_jt_row(r, i, &t);
        cb(arg, &t);
    }
    PQclear(r);
    return 0;
}
