/* store_pg.h - the PostgreSQL backend of the store (store.h), over libpq.
 *
 * store.c is the SQLite backend and the one public face: each public
 * store_* function hands its call here when the store was opened with a
 * postgresql:// URI.  The operations mean what store.h says of them; what
 * is PostgreSQL's own is leadership (an advisory lock on a session of its
 * own plus a term row that every write transaction checks, so that a
 * deposed leader cannot commit) and losing the server (reported as
 * "down", retried by the probe).
 */
#ifndef DR_STORE_PG_H
#define DR_STORE_PG_H

#include "store.h"

typedef struct store_pg store_pg_t;

/* Connects to uri (a libpq connection URI), brings the schema up to date
 * (migrations under an advisory lock, so that schedulers that start
 * together do not race) and prepares every statement.  NULL, logged, on
 * failure. */
store_pg_t *store_pg_new(const char *uri);
void store_pg_destroy(store_pg_t **self_p);

int store_pg_begin(store_pg_t *self);
int store_pg_commit(store_pg_t *self);
int store_pg_rollback(store_pg_t *self);
int store_pg_down(const store_pg_t *self);
int store_pg_probe_write(store_pg_t *self);
int store_pg_leader_poll(store_pg_t *self, const store_leader_t *me,
                         int64_t lease_ms, store_leader_t *leader);
int64_t store_pg_term(const store_pg_t *self);

int store_pg_cluster_put(store_pg_t *self, const store_cluster_t *c);
int store_pg_cluster_delete(store_pg_t *self, const char *name);
int store_pg_cluster_set_error(store_pg_t *self, const char *name,
                               const char *err);
int store_pg_cluster_each(store_pg_t *self, store_cluster_cb cb, void *arg);
int store_pg_node_put(store_pg_t *self, const store_node_t *n);
int store_pg_node_set_state(store_pg_t *self, const char *name,
                            const char *state);
int store_pg_node_delete(store_pg_t *self, const char *name);
int store_pg_node_each(store_pg_t *self, store_node_cb cb, void *arg);
int store_pg_job_insert(store_pg_t *self, store_job_t *j);
int store_pg_job_update(store_pg_t *self, const store_job_t *j);
int store_pg_job_get(store_pg_t *self, uint64_t id, store_job_t *out);
int store_pg_job_each_in_states(store_pg_t *self, const char *states,
                                store_job_cb cb, void *arg);
int store_pg_job_list(store_pg_t *self, const store_job_filter_t *f,
                      store_job_cb cb, void *arg, int *more);
int store_pg_principal_put(store_pg_t *self, const char *name, const char *kind,
                           const char *role, const char *public_key,
                           int64_t created_at_ms);
int store_pg_principal_delete(store_pg_t *self, const char *name);
int store_pg_principal_each(store_pg_t *self, store_principal_cb cb, void *arg);
int store_pg_event_list(store_pg_t *self, const char *cluster, uint32_t limit,
                        store_event_cb cb, void *arg);
int store_pg_task_put(store_pg_t *self, uint64_t job_id, uint32_t attempt,
                      const char *node, const char *state, int exit_code,
                      const char *reason, int64_t ts_ms);
int store_pg_event_prune(store_pg_t *self, int64_t before_ms, int limit);
int store_pg_event(store_pg_t *self, const char *kind, const char *cluster,
                   const char *node, uint64_t job_id, const char *msg);
int store_pg_join_token_put(store_pg_t *self, const jt_row_t *t);
int store_pg_join_token_get(store_pg_t *self, const char *id, jt_row_t *out);
int store_pg_join_token_by_key(store_pg_t *self, const char *join_key,
                               jt_row_t *out);
int store_pg_api_token_put(store_pg_t *self, const char *hash, const char *name,
                           int64_t created_at_ms, const char *by);
int store_pg_api_token_get(store_pg_t *self, const char *hash, char *name,
                           size_t cap);
int store_pg_join_token_each(store_pg_t *self, const char *cluster,
                             store_join_token_cb cb, void *arg);

#endif
