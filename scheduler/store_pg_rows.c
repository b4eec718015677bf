/* store_pg_rows.c - the model's rows on PostgreSQL: clusters, nodes, jobs,
 * their tasks and the events, through store_pg.c's prepared statements
 * (Q_*), its open transaction and its fencing.  The credentials rows stay
 * in store_pg.c, whose unique-violation path they share. */
#include "dr_err.h"
#include "log.h"
#include "store_pg_int.h"
#include "util.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

int store_pg_cluster_put(store_pg_t *self, const store_cluster_t *c)
{
    args_t a = {0};
    a_text(&a, c->name);
    a_text(&a, c->vm_size);
    a_i64(&a, c->min_nodes);
    a_i64(&a, c->max_nodes);
    a_i64(&a, c->idle_seconds);
    a_text(&a, c->vm_priority);
    a_text(&a, c->location);
    a_text(&a, c->provider);
    a_i64(&a, c->created_at_ms);
    a_text(&a, c->last_error);
    a_text(&a, c->resume_program);
    a_text(&a, c->suspend_program);
    a_text(&a, c->provider_url);
    a_i64(&a, c->locked);
    a_text(&a, c->identity);
    a_text(&a, c->identity_principal);
    return store_pg_write_q(self, Q_CLUSTER_PUT, &a, NULL);
}

int store_pg_cluster_delete(store_pg_t *self, const char *name)
{
    return store_pg_write_str(self, Q_CLUSTER_DEL, name, NULL);
}

int store_pg_cluster_set_error(store_pg_t *self, const char *name,
                               const char *err)
{
    return store_pg_write_str(self, Q_CLUSTER_ERR, err, name);
}

int store_pg_cluster_each(store_pg_t *self, store_cluster_cb cb, void *arg)
{
    PGresult *r = store_pg_run(self, Q_CLUSTER_ALL, NULL);
    if (!r)
        return DR_EDB;
    for (int i = 0; i < PQntuples(r); i++) {
        store_cluster_t c;
        memset(&c, 0, sizeof c);
        pg_str(c.name, sizeof c.name, r, i, 0);
        pg_str(c.vm_size, sizeof c.vm_size, r, i, 1);
        c.min_nodes = (int)pg_i64(r, i, 2);
        c.max_nodes = (int)pg_i64(r, i, 3);
        c.idle_seconds = (int)pg_i64(r, i, 4);
        pg_str(c.vm_priority, sizeof c.vm_priority, r, i, 5);
        pg_str(c.location, sizeof c.location, r, i, 6);
        pg_str(c.provider, sizeof c.provider, r, i, 7);
        c.created_at_ms = pg_i64(r, i, 8);
        pg_str(c.last_error, sizeof c.last_error, r, i, 9);
        pg_str(c.resume_program, sizeof c.resume_program, r, i, 10);
        pg_str(c.suspend_program, sizeof c.suspend_program, r, i, 11);
        pg_str(c.provider_url, sizeof c.provider_url, r, i, 12);
        c.locked = (int)pg_i64(r, i, 13);
        pg_str(c.identity, sizeof c.identity, r, i, 14);
        pg_str(c.identity_principal, sizeof c.identity_principal, r, i, 15);
        cb(arg, &c);
    }
    PQclear(r);
    return 0;
}

int store_pg_node_put(store_pg_t *self, const store_node_t *n)
{
    args_t a = {0};
    a_text(&a, n->name);
    a_text(&a, n->cluster);
    a_text(&a, n->state);
    a_i64(&a, n->cpus);
    a_i64(&a, (int64_t)n->memory_mb);
    a_text(&a, n->vm_size);
    a_i64(&a, n->pid);
    a_i64(&a, n->created_at_ms);
    a_i64(&a, n->joined);
    a_i64(&a, n->drain);
    return store_pg_write_q(self, Q_NODE_PUT, &a, NULL);
}

int store_pg_node_set_state(store_pg_t *self, const char *name,
                            const char *state)
{
    return store_pg_write_str(self, Q_NODE_STATE, state, name);
}

int store_pg_node_delete(store_pg_t *self, const char *name)
{
    return store_pg_write_str(self, Q_NODE_DEL, name, NULL);
}

int store_pg_node_each(store_pg_t *self, store_node_cb cb, void *arg)
{
    PGresult *r = store_pg_run(self, Q_NODE_ALL, NULL);
    if (!r)
        return DR_EDB;
    for (int i = 0; i < PQntuples(r); i++) {
        store_node_t n;
        memset(&n, 0, sizeof n);
        pg_str(n.name, sizeof n.name, r, i, 0);
        pg_str(n.cluster, sizeof n.cluster, r, i, 1);
        pg_str(n.state, sizeof n.state, r, i, 2);
        n.cpus = (uint32_t)pg_i64(r, i, 3);
        n.memory_mb = (uint64_t)pg_i64(r, i, 4);
        pg_str(n.vm_size, sizeof n.vm_size, r, i, 5);
        n.pid = (int)pg_i64(r, i, 6);
        n.created_at_ms = pg_i64(r, i, 7);
        n.joined = (int)pg_i64(r, i, 8);
        n.drain = (int)pg_i64(r, i, 9);
        cb(arg, &n);
    }
    PQclear(r);
    return 0;
}

int store_pg_job_insert(store_pg_t *self, store_job_t *j)
{
    args_t a = {0};
    a_text(&a, j->name);
    a_text(&a, j->cluster);
    a_text(&a, j->state);
    a_i64(&a, j->priority);
    a_i64(&a, j->cpus);
    a_i64(&a, (int64_t)j->memory_mb);
    a_i64(&a, j->nodes);
    a_i64(&a, j->procs_per_node);
    a_i64(&a, j->gpus);
    a_i64(&a, j->max_retries);
    a_i64(&a, (int64_t)j->time_limit_ms);
    a_i64(&a, j->attempts);
    if (j->has_exit_code)
        a_i64(&a, j->exit_code);
    else
        a_null(&a);
    a_text(&a, j->reason);
    a_text(&a, j->node_names);
    a_text(&a, j->owner);
    a_i64(&a, j->submitted_at_ms);
    a_i64(&a, j->started_at_ms);
    a_i64(&a, j->ended_at_ms);
    a_blob(&a, j->spec, j->spec_len);
    a_text(&a, j->gpu_indices);
    a_i64(&a, j->preemptions);
    /* whole seconds, rounded up, for a downgraded scheduler */
    a_i64(&a, (int64_t)wire_limit_s(j->time_limit_ms));
    PGresult *r = NULL;
    int rc = store_pg_write_q(self, Q_JOB_INSERT, &a, &r);
    if (rc == 0) {
        j->id = PQntuples(r) == 1 ? (uint64_t)pg_i64(r, 0, 0) : 0;
        PQclear(r);
    }
    return rc;
}

int store_pg_job_update(store_pg_t *self, const store_job_t *j)
{
    args_t a = {0};
    a_text(&a, j->state);
    a_i64(&a, j->attempts);
    if (j->has_exit_code)
        a_i64(&a, j->exit_code);
    else
        a_null(&a);
    a_text(&a, j->reason);
    a_text(&a, j->node_names);
    a_i64(&a, j->started_at_ms);
    a_i64(&a, j->ended_at_ms);
    a_text(&a, j->gpu_indices);
    a_i64(&a, j->preemptions);
    a_i64(&a, (int64_t)j->id);
    return store_pg_write_q(self, Q_JOB_UPDATE, &a, NULL);
}

static void s_job_row(const PGresult *r, int i, store_job_t *j)
{
    memset(j, 0, sizeof *j);
    j->id = (uint64_t)pg_i64(r, i, 0);
    pg_str(j->name, sizeof j->name, r, i, 1);
    pg_str(j->cluster, sizeof j->cluster, r, i, 2);
    pg_str(j->state, sizeof j->state, r, i, 3);
    j->priority = (int)pg_i64(r, i, 4);
    j->cpus = (uint32_t)pg_i64(r, i, 5);
    j->memory_mb = (uint64_t)pg_i64(r, i, 6);
    j->nodes = (uint32_t)pg_i64(r, i, 7);
    j->procs_per_node = (uint32_t)pg_i64(r, i, 8);
    j->gpus = (uint32_t)pg_i64(r, i, 9);
    j->max_retries = (uint32_t)pg_i64(r, i, 10);
    j->time_limit_ms = (uint64_t)pg_i64(r, i, 11);
    j->attempts = (uint32_t)pg_i64(r, i, 12);
    j->has_exit_code = !PQgetisnull(r, i, 13);
    j->exit_code = (int)pg_i64(r, i, 13);
    pg_str(j->reason, sizeof j->reason, r, i, 14);
    pg_str(j->node_names, sizeof j->node_names, r, i, 15);
    pg_str(j->owner, sizeof j->owner, r, i, 16);
    j->submitted_at_ms = pg_i64(r, i, 17);
    j->started_at_ms = pg_i64(r, i, 18);
    j->ended_at_ms = pg_i64(r, i, 19);
    size_t n = 0;
    unsigned char *b =
        PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 20), &n);
    if (!b)
        log_fatal("out of memory (libpq)");
    j->spec = dr_malloc(n ? n : 1);
    memcpy(j->spec, b, n);
    j->spec_len = n;
    PQfreemem(b);
    pg_str(j->gpu_indices, sizeof j->gpu_indices, r, i, 21);
    j->preemptions = (uint32_t)pg_i64(r, i, 22);
}

int store_pg_job_get(store_pg_t *self, uint64_t id, store_job_t *out)
{
    args_t a = {0};
    a_i64(&a, (int64_t)id);
    PGresult *r = store_pg_run(self, Q_JOB_GET, &a);
    if (!r)
        return DR_EDB;
    int rc = PQntuples(r) == 1 ? 0 : DR_ENOENT;
    if (rc == 0)
        s_job_row(r, 0, out);
    PQclear(r);
    return rc;
}

static int s_jobs(PGresult *r, store_job_cb cb, void *arg, uint32_t limit,
                  int *more)
{
    int ret = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        if (limit && (uint32_t)i == limit) {
            if (more)
                *more = 1;
            break;
        }
        store_job_t j;
        s_job_row(r, i, &j);
        int crc = cb(arg, &j);
        store_job_clear(&j);
        if (crc < 0) {
            ret = crc;
            break;
        }
    }
    PQclear(r);
    return ret;
}

int store_pg_job_each_in_states(store_pg_t *self, const char *states,
                                store_job_cb cb, void *arg)
{
    args_t a = {0};
    a_text(&a, states);
    PGresult *r = store_pg_run(self, Q_JOB_STATES, &a);
    return r ? s_jobs(r, cb, arg, 0, NULL) : DR_EDB;
}

int store_pg_job_list(store_pg_t *self, const store_job_filter_t *f,
                      store_job_cb cb, void *arg, int *more)
{
    args_t a = {0};
    a_i64(&a, (int64_t)f->after);
    a_text(&a, f->cluster);
    a_text(&a, f->state);
    a_i64(&a, (int64_t)f->limit + 1);
    a_text(&a, f->owner);
    a_i64(&a, f->since_ms);
    if (more)
        *more = 0;
    PGresult *r = store_pg_run(self, Q_JOB_LIST, &a);
    return r ? s_jobs(r, cb, arg, f->limit, more) : DR_EDB;
}

int store_pg_task_put(store_pg_t *self, uint64_t job_id, uint32_t attempt,
                      const char *node, const char *state, int exit_code,
                      const char *reason, int64_t ts_ms)
{
    args_t a = {0};
    a_i64(&a, (int64_t)job_id);
    a_i64(&a, attempt);
    a_text(&a, node);
    a_text(&a, state);
    a_i64(&a, exit_code);
    a_text(&a, reason);
    a_i64(&a, ts_ms);
    return store_pg_write_q(self, Q_TASK_PUT, &a, NULL);
}

int store_pg_event(store_pg_t *self, const char *kind, const char *cluster,
                   const char *node, uint64_t job_id, const char *msg)
{
    args_t a = {0};
    a_i64(&a, dr_now_ms());
    a_text(&a, kind);
    a_text(&a, cluster);
    a_text(&a, node);
    a_i64(&a, (int64_t)job_id);
    a_text(&a, msg);
    return store_pg_write_q(self, Q_EVENT, &a, NULL);
}

int store_pg_event_prune(store_pg_t *self, int64_t before_ms, int limit)
{
    args_t a = {0};
    a_i64(&a, before_ms);
    a_i64(&a, limit);
    PGresult *r = NULL;
    int rc = store_pg_write_q(self, Q_EVENT_PRUNE, &a, &r);
    if (rc < 0)
        return rc;
    int n = atoi(PQcmdTuples(r));
    PQclear(r);
    return n;
}

int store_pg_event_list(store_pg_t *self, const char *cluster, uint32_t limit,
                        store_event_cb cb, void *arg)
{
    args_t a = {0};
    a_text(&a, cluster);
    a_i64(&a, limit);
    PGresult *r = store_pg_run(self, Q_EVENT_LIST, &a);
    if (!r)
        return DR_EDB;
    for (int i = 0; i < PQntuples(r); i++)
        cb(arg, pg_i64(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
           PQgetvalue(r, i, 3), (uint64_t)pg_i64(r, i, 4), PQgetvalue(r, i, 5));
    PQclear(r);
    return 0;
}
