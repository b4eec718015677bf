/* check_sched.c - the scheduler in-process: store, queue order, placement,
 * autoscaler demand, and the client/agent APIs driven through real ZeroMQ
 * sockets and sched_run_once(), including every kind of bad input. */
#include "api_client.h"
#include "autoscaler.h"
#include "config.h"
#include "identity.h"
#include "dr_err.h"
#include "log.h"
#include "placement.h"
#include "queue.h"
#include "sched_int.h"
#include "store.h"
#include "util.h"
#include "wire.h"

#include <check.h>
#include <libpq-fe.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

typedef struct {
    char dir[128];
    sched_opts_t opts;
    sched_t *s;
    void *zctx;
    void *client;
    void *agent;
    uint64_t req;
} fx_t;

static void fx_open(fx_t *fx)
{
    sched_t *s = NULL;
    fx->s = NULL;
    s = sched_new(&fx->opts);
    ck_assert_ptr_nonnull(s);
    fx->s = s;
}

static void *fx_dealer(fx_t *fx, const char *endpoint, const char *id)
{
    void *d = zmq_socket(fx->zctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
    if (id)
        zmq_setsockopt(d, ZMQ_ROUTING_ID, id, strlen(id));
    ck_assert_int_eq(zmq_connect(d, endpoint), 0);
    return d;
}

/* ---- the backends ----------------------------------------------------------
 * A loop test runs once per backend (_i): 0 SQLite in the state dir, 1
 * PostgreSQL: a fresh database on the server that main() started
 * (tests/pg/pg_server.sh; DROVER_TEST_PG is its URI). */
enum { BACKENDS = 2 };

/* Runs sql on the database of uri. */
static void s_pg_exec(const char *uri, const char *sql)
{
    PGconn *c = PQconnectdb(uri);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
                      PQresultStatus(r) == PGRES_TUPLES_OK,
                  "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

/* uri: "" for SQLite, or the URI of a new, empty database. */
static void s_backend_uri(int backend, char *uri, size_t cap)
{
    uri[0] = '\0';
    if (backend == 0)
        return;
    static unsigned seq;
    char db[64], sql[128];
    snprintf(db, sizeof db, "t_%d_%u_%lld", (int)getpid(), ++seq,
             (long long)(dr_now_ms() % 1000000));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    const char *admin = getenv("DROVER_TEST_PG");
    ck_assert_msg(admin && admin[0], "no PostgreSQL server for the test");
    s_pg_exec(admin, sql);
    const char *q = strchr(admin, '?');
    ck_assert_ptr_nonnull(q);
    snprintf(uri, cap, "postgresql:///%s%s", db, q);
}

static void fx_setup_on(fx_t *fx, int backend)
{
    memset(fx, 0, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/drover-check-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fx->dir));
    config_defaults(&fx->opts);
    snprintf(fx->opts.state_dir, sizeof fx->opts.state_dir, "%s", fx->dir);
    snprintf(fx->opts.client_endpoint, sizeof fx->opts.client_endpoint,
             "ipc://%s/client.sock", fx->dir);
    snprintf(fx->opts.agent_endpoint, sizeof fx->opts.agent_endpoint,
             "ipc://%s/agent.sock", fx->dir);
    snprintf(fx->opts.agent_bin, sizeof fx->opts.agent_bin, "/bin/false");
    fx->opts.resume_timeout_ms = 3600000;
    fx->opts.insecure = 1; /* plain sockets here; test_security.sh does CURVE */
    s_backend_uri(backend, fx->opts.store, sizeof fx->opts.store);
    fx_open(fx);
    fx->zctx = zmq_ctx_new();
    fx->client = fx_dealer(fx, fx->opts.client_endpoint, "cli-test");
    fx->agent = fx_dealer(fx, fx->opts.agent_endpoint, "node-a");
    fx->req = 100;
}

static void fx_setup(fx_t *fx)
{
    fx_setup_on(fx, 0);
}

static void fx_teardown(fx_t *fx)
{
    zmq_close(fx->client);
    zmq_close(fx->agent);
    zmq_ctx_term(fx->zctx);
    sched_destroy(&fx->s);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Runs the scheduler until a message arrives on sock. */
static dr_env_t *fx_wait(fx_t *fx, void *sock)
{
    for (int i = 0; i < 200; i++) {
        sched_run_once(fx->s, 10, -1);
        dr_env_t *r = NULL;
        int rc = wire_recv(sock, NULL, ZMQ_DONTWAIT, &r);
        if (rc == 0)
            return r;
        wire_free(&r);
    }
    return NULL;
}

#define fx_call(fx, sock, env) fx_call_at((fx), (sock), (env), __LINE__)
static dr_env_t *fx_call_at(fx_t *fx, void *sock, dr_env_t *env, int line)
{
    env->request_id = ++fx->req;
    ck_assert_int_eq(wire_send(sock, NULL, env), 0);
    dr_env_t *r = fx_wait(fx, sock);
    ck_assert_ptr_nonnull(r);
    ck_assert_msg(
        r->request_id == env->request_id,
        "line %d: reply %s (%s) to request %llu has id %llu (job %llu)", line,
        wire_body_name(r->body_case),
        r->body_case == DROVER__ENVELOPE__BODY_ERROR ? r->error->message : "",
        (unsigned long long)env->request_id, (unsigned long long)r->request_id,
        r->body_case == DROVER__ENVELOPE__BODY_TASK_START
            ? (unsigned long long)r->task_start->job_id
            : 0ULL);
    return r;
}

static void fx_expect_error(fx_t *fx, void *sock, dr_env_t *env, int code,
                            const char *needle)
{
    dr_env_t *r = fx_call(fx, sock, env);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_ERROR);
    ck_assert_int_eq(r->error->code, code);
    ck_assert_msg(strstr(r->error->message, needle) != NULL,
                  "error '%s' lacks '%s'", r->error->message, needle);
    wire_free(&r);
}

static void fx_cluster(fx_t *fx, const char *name, const char *vm, int min,
                       int max)
{
    dr_env_t env;
    Drover__ClusterCreate cc = DROVER__CLUSTER_CREATE__INIT;
    Drover__Cluster c = DROVER__CLUSTER__INIT;
    wire_env_init(&env, 0);
    c.name = (char *)name;
    c.vm_size = (char *)vm;
    c.min_nodes = min;
    c.max_nodes = max;
    cc.cluster = &c;
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_CREATE;
    env.cluster_create = &cc;
    dr_env_t *r = fx_call(fx, fx->client, &env);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_CLUSTER_INFO);
    ck_assert_str_eq(r->cluster_info->name, name);
    wire_free(&r);
}

/* Submits jm as the client: its id. */
static uint64_t fx_submit_job(fx_t *fx, Drover__Job *jm)
{
    dr_env_t env;
    Drover__JobSubmit js = DROVER__JOB_SUBMIT__INIT;
    wire_env_init(&env, 0);
    js.job = jm;
    env.body_case = DROVER__ENVELOPE__BODY_JOB_SUBMIT;
    env.job_submit = &js;
    dr_env_t *r = fx_call(fx, fx->client, &env);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_JOB_SUBMIT_REPLY);
    uint64_t id = r->job_submit_reply->id;
    wire_free(&r);
    return id;
}

static uint64_t fx_submit(fx_t *fx, const char *cluster, uint32_t cpus,
                          int prio)
{
    Drover__Job j = DROVER__JOB__INIT;
    char *argv[] = {"true"};
    j.cluster = (char *)cluster;
    j.n_argv = 1;
    j.argv = argv;
    j.cpus = cpus;
    j.priority = prio;
    return fx_submit_job(fx, &j);
}

/* Registers node `name` on sock with cpus and 8 GB; addr: its address
 * (nodes of one machine share one), or NULL. */
static void fx_register_at(fx_t *fx, void *sock, const char *name,
                           const char *cluster, uint32_t cpus, const char *addr)
{
    dr_env_t env;
    Drover__Register reg = DROVER__REGISTER__INIT;
    wire_env_init(&env, 0);
    reg.node_name = (char *)name;
    reg.cluster = (char *)cluster;
    reg.cpus = cpus;
    reg.memory_mb = 8192;
    if (addr)
        reg.addr = (char *)addr;
    env.body_case = DROVER__ENVELOPE__BODY_REGISTER;
    env.register_ = &reg;
    dr_env_t *r = fx_call(fx, sock, &env);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_REGISTER_ACK);
    wire_free(&r);
}

static void fx_register_as(fx_t *fx, void *sock, const char *name,
                           const char *cluster, uint32_t cpus)
{
    fx_register_at(fx, sock, name, cluster, cpus, NULL);
}

static void fx_register(fx_t *fx, const char *cluster, uint32_t cpus)
{
    fx_register_as(fx, fx->agent, "node-a", cluster, cpus);
}

/* ---- store -----------------------------------------------------------------
 */

static void s_count_cluster(void *arg, const store_cluster_t *c)
{
    (void)c;
    (*(int *)arg)++;
}

/* A store of backend `backend` (0 SQLite, 1 PostgreSQL) that leads. */
static store_t *s_store_lead(const char *dir, const char *uri, int backend)
{
    store_t *st = store_open(dir, uri);
    ck_assert_ptr_nonnull(st);
    store_leader_t me = {.holder = "check", .client = "c", .agent = "a"}, who;
    ck_assert_int_eq(store_leader_poll(st, &me, 5000, &who), backend ? 2 : 1);
    return st;
}

/* A queued job's row on cluster c1 (its spec: n bytes of spec). */
static void s_job_fill(store_job_t *j, const char *name, uint8_t *spec,
                       size_t n)
{
    memset(j, 0, sizeof *j);
    snprintf(j->name, sizeof j->name, "%s", name);
    strcpy(j->cluster, "c1");
    strcpy(j->state, "queued");
    j->spec = spec;
    j->spec_len = n;
}

/* A new store of backend `backend` in a new folder dir (a template). */
static store_t *s_store_tmp(char *dir, char *uri, size_t cap, int backend)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    s_backend_uri(backend, uri, cap);
    store_t *st = s_store_lead(dir, uri, backend);
    ck_assert_int_eq(store_begin(st), 0);
    return st;
}

START_TEST(test_store_roundtrip)
{
    char dir[] = "/tmp/drover-store-XXXXXX";
    char uri[512];
    store_t *st = s_store_tmp(dir, uri, sizeof uri, _i);
    store_cluster_t c = {0};
    strcpy(c.name, "c1");
    strcpy(c.vm_size, "Standard_D2_v2");
    c.max_nodes = 3;
    ck_assert_int_eq(store_cluster_put(st, &c), 0);
    store_job_t j;
    uint8_t spec[] = {1, 2, 3};
    s_job_fill(&j, "train", spec, 3);
    j.cpus = 2;
    ck_assert_int_eq(store_job_insert(st, &j), 0);
    ck_assert_uint_eq(j.id, 1);
    ck_assert_int_eq(store_commit(st), 0);
    store_destroy(&st);
    ck_assert_ptr_null(st);

    st = s_store_lead(dir, uri, _i); /* reopen: what was committed is there */
    store_job_t got;
    ck_assert_int_eq(store_job_get(st, 1, &got), 0);
    ck_assert_str_eq(got.name, "train");
    ck_assert_uint_eq(got.cpus, 2);
    ck_assert_uint_eq(got.spec_len, 3);
    ck_assert_mem_eq(got.spec, spec, 3);
    ck_assert(!got.has_exit_code);
    store_job_clear(&got);
    ck_assert_int_eq(store_job_get(st, 99, &got), DR_ENOENT);
    /* an uncommitted write is gone after a rollback */
    ck_assert_int_eq(store_begin(st), 0);
    j.spec = spec;
    ck_assert_int_eq(store_job_insert(st, &j), 0);
    ck_assert_int_eq(store_rollback(st), 0);
    ck_assert_int_eq(store_job_get(st, j.id, &got), DR_ENOENT);
    /* events past their retention are pruned, a bounded batch at a time
     * (regression: the events table was never pruned) */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(store_event(st, "auth_refused", "", "", 0, "e%d", i),
                         0);
    int64_t later = dr_now_ms() + 1000;
    ck_assert_int_eq(store_event_prune(st, dr_now_ms() - 60000, 100), 0);
    ck_assert_int_eq(store_event_prune(st, later, 3), 3);
    ck_assert_int_eq(store_event_prune(st, later, 100), 2);
    ck_assert_int_eq(store_event_prune(st, later, 100), 0);
    store_destroy(&st);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Runs sql on the SQLite store in dir (a store that is closed). */
static void s_sq_exec(const char *dir, const char *sql)
{
    char path[512];
    sqlite3 *db = NULL;
    char *err = NULL;
    snprintf(path, sizeof path, "%s/drover.db", dir);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK,
                  "%s: %s", sql, err ? err : "?");
    sqlite3_close(db);
}

/* Time limits in ms (issue 17), on both backends: a sub-second limit
 * reads back as it was written; the time_limit_s column keeps the whole
 * seconds rounded up (for an older scheduler); a row from a database of
 * before (schema 10, no time_limit_ms column) reads back its seconds
 * times 1000 once migrated, and the schema says 11. */
START_TEST(test_store_limit_ms)
{
    char dir[] = "/tmp/drover-store-XXXXXX";
    char uri[512];
    store_t *st = s_store_tmp(dir, uri, sizeof uri, _i);
    store_job_t j;
    uint8_t spec[] = {0};
    s_job_fill(&j, "short", spec, 1);
    uint64_t limits[] = {300, 0, 1500, 366ull * 86400 * 1000};
    for (int k = 0; k < 4; k++) {
        j.time_limit_ms = limits[k];
        ck_assert_int_eq(store_job_insert(st, &j), 0);
        ck_assert_uint_eq(j.id, (uint64_t)k + 1);
    }
    ck_assert_int_eq(store_commit(st), 0);
    store_destroy(&st);
    st = s_store_lead(dir, uri, _i);
    store_job_t got;
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(store_job_get(st, (uint64_t)k + 1, &got), 0);
        ck_assert_uint_eq(got.time_limit_ms, limits[k]);
        store_job_clear(&got);
    }
    store_destroy(&st);
    /* the seconds column, rounded up; then the database made old again:
     * its rows in whole seconds, no ms column, schema 10 */
    const char *check = "SELECT CASE WHEN (SELECT group_concat(time_limit_s,"
                        " ',') FROM (SELECT time_limit_s FROM jobs ORDER BY"
                        " id) AS x) = '1,0,2,31622400' THEN 1 ELSE"
                        " abs(-9223372036854775807 - 1) END";
    const char *old_pg = "UPDATE jobs SET time_limit_s = 7 WHERE id = 1;"
                         "ALTER TABLE jobs DROP COLUMN time_limit_ms;"
                         "UPDATE meta SET value = '10' WHERE key ="
                         " 'schema_version'";
    if (_i) {
        s_pg_exec(uri, "DO $$ BEGIN IF (SELECT string_agg(time_limit_s::text,"
                       " ',' ORDER BY id) FROM jobs) <> '1,0,2,31622400'"
                       " THEN RAISE 'bad seconds'; END IF; END $$");
        s_pg_exec(uri, old_pg);
    } else {
        s_sq_exec(dir, check); /* abs(INT64_MIN): an error if not */
        s_sq_exec(dir, old_pg);
    }
    st = s_store_lead(dir, uri, _i);
    ck_assert_int_eq(store_job_get(st, 1, &got), 0);
    ck_assert_uint_eq(got.time_limit_ms, 7000);
    store_job_clear(&got);
    ck_assert_int_eq(store_job_get(st, 2, &got), 0);
    ck_assert_uint_eq(got.time_limit_ms, 0); /* none stays none */
    store_job_clear(&got);
    ck_assert_int_eq(store_job_get(st, 3, &got), 0);
    ck_assert_uint_eq(got.time_limit_ms, 2000); /* what an old row knew */
    store_job_clear(&got);
    store_destroy(&st);
    if (_i)
        s_pg_exec(uri, "DO $$ BEGIN IF (SELECT value FROM meta WHERE key ="
                       " 'schema_version') <> '11' THEN RAISE 'bad version';"
                       " END IF; END $$");
    else {
        s_sq_exec(dir, "SELECT CASE WHEN (SELECT value FROM meta WHERE key ="
                       " 'schema_version') = '11' THEN 1 ELSE"
                       " abs(-9223372036854775807 - 1) END");
        /* a row written after the migration by an older scheduler (which
         * knows only time_limit_s) reads back in its seconds too */
        s_sq_exec(dir, "INSERT INTO jobs(id, name, cluster, state, priority,"
                       " cpus, memory_mb, nodes, procs_per_node, gpus,"
                       " max_retries, time_limit_s, attempts, submitted_at,"
                       " spec) VALUES(9, 'old', 'c1', 'queued', 0, 1, 0, 1,"
                       " 1, 0, 0, 9, 0, 0, x'00')");
        st = s_store_lead(dir, uri, _i);
        ck_assert_int_eq(store_job_get(st, 9, &got), 0);
        ck_assert_uint_eq(got.time_limit_ms, 9000);
        store_job_clear(&got);
        store_destroy(&st);
    }
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static void s_log_count(void *arg, uint64_t job_id, int64_t bytes)
{
    int64_t *v = arg; /* [0] = jobs, [1] = bytes, [2] = last id */
    ck_assert_uint_gt(job_id, (uint64_t)v[2]);
    v[0]++;
    v[1] += bytes;
    v[2] = (int64_t)job_id;
}

static void s_log_end(void *arg, int32_t src, uint64_t end)
{
    ck_assert(src == 0 || src == 1);
    ((uint64_t *)arg)[src] = end;
}

/* Job output in the store (issue 14), on both backends: chunks read back
 * across their bounds, from any offset; committed, they survive a reopen;
 * rolled back, they are gone; cleared, a log is empty. */
START_TEST(test_store_logs)
{
    char dir[] = "/tmp/drover-store-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char uri[512];
    s_backend_uri(_i, uri, sizeof uri);
    store_t *st = s_store_lead(dir, uri, _i);
    const char *chunks[] = {"hello ", "world\n", "x", "", "line two\n"};
    char all[64] = "";
    uint64_t size = 0;
    ck_assert_int_eq(store_begin(st), 0);
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        size_t n = strlen(chunks[k]);
        store_log_src_t from = {2, (int32_t)(k % 2), size + n};
        ck_assert_int_eq(store_log_append(st, 7, size, chunks[k], n, &from), 0);
        size += n;
        strcat(all, chunks[k]);
    }
    ck_assert_int_eq(store_log_append(st, 9, 0, "nine", 4, NULL), 0);
    ck_assert_int_eq(store_commit(st), 0);
    store_destroy(&st);
    st = s_store_lead(dir, uri, _i);
    uint64_t got_size = 99;
    ck_assert_int_eq(store_log_size(st, 7, &got_size), 0);
    ck_assert_uint_eq(got_size, strlen(all));
    ck_assert_int_eq(store_log_size(st, 8, &got_size), 0);
    ck_assert_uint_eq(got_size, 0);
    /* every offset and length reads what the concatenation holds */
    for (size_t off = 0; off <= strlen(all); off++) {
        for (size_t max = 1; max <= 8; max += 3) {
            uint8_t buf[16];
            size_t got = 99;
            ck_assert_int_eq(store_log_read(st, 7, off, buf, max, &got), 0);
            size_t want = strlen(all) - off < max ? strlen(all) - off : max;
            ck_assert_uint_eq(got, want);
            ck_assert_mem_eq(buf, all + off, got);
        }
    }
    int64_t v[3] = {0, 0, 0};
    ck_assert_int_eq(store_log_each(st, s_log_count, v), 0);
    ck_assert_int_eq(v[0], 2);
    ck_assert_int_eq(v[1], (int64_t)strlen(all) + 4);
    /* a rolled back append is gone; a cleared log is empty */
    ck_assert_int_eq(store_begin(st), 0);
    ck_assert_int_eq(store_log_append(st, 9, 4, "more", 4, NULL), 0);
    ck_assert_int_eq(store_rollback(st), 0);
    ck_assert_int_eq(store_log_size(st, 9, &got_size), 0);
    ck_assert_uint_eq(got_size, 4);
    ck_assert_int_eq(store_log_clear(st, 9), 0);
    ck_assert_int_eq(store_log_size(st, 9, &got_size), 0);
    ck_assert_uint_eq(got_size, 0);
    /* one offset twice is refused (a chunk is never overwritten) */
    ck_assert_int_lt(store_log_append(st, 7, 0, "dup", 3, NULL), 0);
    /* how far each source's stream is kept, for a scheduler that starts
     * over: source 0 ended with "line two\n" (its end 22), source 1 with
     * "world\n" (12); the empty chunk is not kept; attempt 1 has none */
    uint64_t ends[2] = {0, 0};
    ck_assert_int_eq(store_log_ends(st, 7, 2, s_log_end, ends), 0);
    ck_assert_uint_eq(ends[0], 22);
    ck_assert_uint_eq(ends[1], 12);
    ends[0] = ends[1] = 0;
    ck_assert_int_eq(store_log_ends(st, 7, 1, s_log_end, ends), 0);
    ck_assert_uint_eq(ends[0] + ends[1], 0);
    store_destroy(&st);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

typedef struct {
    char keys[4][16];
    int64_t v[4][6];
    int64_t waits[16];
    int nkeys, nwaits;
} s_usage_seen_t;

static void s_usage_sum(void *arg, const char *key, const int64_t v[6])
{
    s_usage_seen_t *u = arg;
    ck_assert_int_lt(u->nkeys, 4);
    snprintf(u->keys[u->nkeys], sizeof u->keys[0], "%s", key);
    memcpy(u->v[u->nkeys++], v, 6 * sizeof *v);
}

static void s_usage_wait(void *arg, const char *key, int64_t wait_ms)
{
    s_usage_seen_t *u = arg;
    (void)key;
    ck_assert_int_lt(u->nwaits, 16);
    u->waits[u->nwaits++] = wait_ms;
}

/* Accounting rows (issue 15) on both backends: sums per key in key order,
 * attempts that never ran count no hours, waits ascending, the range
 * bounds by the end time; an unknown grouping is refused. */
START_TEST(test_store_usage)
{
    char dir[] = "/tmp/drover-store-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char uri[512];
    s_backend_uri(_i, uri, sizeof uri);
    store_t *st = s_store_lead(dir, uri, _i);
    /* bob: 2 nodes x 4 cpus x 1 h, preempted, then 1 h that succeeded;
     * alice: one that failed after 30 min on 2 cpus with a GPU, and one
     * canceled while queued */
    store_usage_t rows[] = {
        {1, 1, 0, "bob", "c", "D4", "preempted", 4, 0, 2, 1000, 2000,
         2000 + 3600000},
        {1, 2, 1, "bob", "c", "D4", "succeeded", 4, 0, 2, 3602000, 3603000,
         7203000},
        {2, 1, 1, "alice", "c", "D4", "failed", 2, 1, 1, 0, 5000,
         5000 + 1800000},
        {3, 1, 1, "alice", "c", "D4", "canceled", 2, 0, 1, 0, 0, 9000},
    };
    for (size_t k = 0; k < 4; k++)
        ck_assert_int_eq(store_usage_put(st, &rows[k]), 0);
    /* the same attempt again: its end is updated, not counted twice */
    ck_assert_int_eq(store_usage_put(st, &rows[3]), 0);
    s_usage_seen_t u = {0};
    ck_assert_int_eq(store_usage_report(st, "user", 0, 1 << 30, s_usage_sum,
                                        s_usage_wait, &u),
                     0);
    ck_assert_int_eq(u.nkeys, 2);
    ck_assert_str_eq(u.keys[0], "alice");
    ck_assert_str_eq(u.keys[1], "bob");
    int64_t alice[6] = {2, 2, 2 * 1800000LL, 1800000LL, 0, 2 * 1800000LL};
    int64_t bob[6] = {1, 2, 16 * 3600000LL, 0, 8 * 3600000LL, 0};
    ck_assert_mem_eq(u.v[0], alice, sizeof alice);
    ck_assert_mem_eq(u.v[1], bob, sizeof bob);
    /* waits of the attempts that ran: alice 5000; bob 1000 and 1000 */
    ck_assert_int_eq(u.nwaits, 3);
    ck_assert_int_eq(u.waits[0], 5000);
    ck_assert_int_eq(u.waits[1], 1000);
    /* the range: only what ended in it */
    memset(&u, 0, sizeof u);
    ck_assert_int_eq(store_usage_report(st, "cluster", 3700000, 1 << 30,
                                        s_usage_sum, s_usage_wait, &u),
                     0);
    ck_assert_int_eq(u.nkeys, 1);
    ck_assert_int_eq(u.v[0][1], 1); /* bob's second attempt */
    ck_assert_int_eq(
        store_usage_report(st, "host", 0, 1, s_usage_sum, s_usage_wait, &u),
        DR_EINVAL);
    store_destroy(&st);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_store_bad_dir)
{
    ck_assert_ptr_null(store_new("/nonexistent/dir/for/drover"));
    /* a server that is not there, a URI that is no store's */
    ck_assert_ptr_null(store_open(
        "/tmp", "postgresql:///x?host=/nonexistent/drover&connect_timeout=1"));
    ck_assert_ptr_null(store_open("/tmp", "mysql://localhost/drover"));
    ck_assert(!store_uri_valid("sqlite"));
    ck_assert(store_uri_valid("postgres://u@h/db"));
}
END_TEST

/* Two stores on one PostgreSQL: one leads, the other is a standby that
 * knows where the leader answers; a term taken over (the term row moved
 * on) fences the old leader: its open transaction commits nothing, and
 * its next poll makes it a standby. */
START_TEST(test_store_pg_fencing)
{
    char uri[512];
    s_backend_uri(1, uri, sizeof uri);
    store_t *a = store_open("/tmp", uri);
    store_t *b = store_open("/tmp", uri);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    store_leader_t ma = {
        .holder = "a", .client = "tcp://a:1", .agent = "tcp://a:2"};
    store_leader_t mb = {
        .holder = "b", .client = "tcp://b:1", .agent = "tcp://b:2"};
    store_leader_t who;
    ck_assert_int_eq(store_leader_poll(a, &ma, 60000, &who), 2);
    ck_assert_int_eq(store_leader_poll(b, &mb, 60000, &who), 0);
    ck_assert_str_eq(who.holder, "a");
    ck_assert_str_eq(who.client, "tcp://a:1");
    ck_assert_int_eq(who.term, 1);
    ck_assert_int_eq(store_leader_poll(a, &ma, 60000, &who), 1);
    /* a writes and commits in its term */
    store_cluster_t c = {0};
    strcpy(c.name, "c1");
    strcpy(c.vm_size, "Standard_D2_v2");
    ck_assert_int_eq(store_begin(a), 0);
    ck_assert_int_eq(store_cluster_put(a, &c), 0);
    ck_assert_int_eq(store_commit(a), 0);
    /* a's next transaction is open when the term moves on */
    ck_assert_int_eq(store_begin(a), 0);
    strcpy(c.name, "c2");
    ck_assert_int_eq(store_cluster_put(a, &c), 0);
    s_pg_exec(uri, "UPDATE leader SET term = term + 1, holder = 'b'");
    ck_assert_int_eq(store_commit(a), DR_ENOTLEADER);
    /* nor does a write outside a transaction get in */
    strcpy(c.name, "c3");
    ck_assert_int_eq(store_cluster_put(a, &c), DR_ENOTLEADER);
    int n = 0;
    ck_assert_int_eq(store_cluster_each(b, s_count_cluster, &n), 0);
    ck_assert_int_eq(n, 1);
    /* a stale lease: b ends a's sessions and leads in a new term */
    ck_assert_int_eq(store_leader_poll(b, &mb, 0, &who), 0);
    int rc = 0; /* the ended session lets go of its lock soon after */
    for (int i = 0; i < 100 && rc != 2; i++) {
        usleep(20000);
        rc = store_leader_poll(b, &mb, 0, &who);
    }
    ck_assert_int_eq(rc, 2);
    ck_assert_int_eq(store_leader_poll(a, &ma, 60000, &who), 0);
    ck_assert_str_eq(who.holder, "b");
    ck_assert_int_eq(who.term, 3);
    store_destroy(&a);
    /* the schema is versioned: the row says what this build made */
    s_pg_exec(uri, "DO $$ BEGIN IF (SELECT value FROM meta WHERE key ="
                   " 'schema_version') <> '11' THEN RAISE 'bad version';"
                   " END IF; END $$");
    store_destroy(&b);
    /* a newer schema than this build's is refused */
    s_pg_exec(uri, "UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    ck_assert_ptr_null(store_open("/tmp", uri));
}
END_TEST

/* ---- queue & placement -------------------------------------------------- */

START_TEST(test_queue_order)
{
    queue_t *q = queue_new();
    job_t j[6];
    memset(j, 0, sizeof j);
    int prio[] = {0, 5, 0, 5, -1, 0};
    for (int i = 0; i < 6; i++) {
        j[i].id = (uint64_t)i + 1;
        j[i].priority = prio[i];
    }
    /* push out of id order to exercise the requeue path */
    int order[] = {0, 1, 2, 3, 5, 4};
    for (int i = 0; i < 6; i++)
        queue_push(q, &j[order[i]]);
    queue_remove(q, &j[2]);
    queue_push(q, &j[2]); /* a requeued job goes back to its place */
    uint64_t expect[] = {2, 4, 1, 3, 6, 5};
    size_t k = 0;
    for (job_t *it = queue_first(q); it; it = queue_next(q, it))
        ck_assert_uint_eq(it->id, expect[k++]);
    ck_assert_uint_eq(k, 6);
    ck_assert_uint_eq(queue_len(q), 6);
    for (int i = 0; i < 6; i++)
        queue_remove(q, &j[i]);
    ck_assert_ptr_null(queue_first(q));
    queue_destroy(&q);
}
END_TEST

START_TEST(test_placement_priority_backfill)
{
    fx_t fx;
    fx_setup(&fx);
    fx_cluster(&fx, "c1", "Standard_D3_v2", 0, 0); /* 4 cpus, no scaling */
    fx_register(&fx, "c1", 4);
    uint64_t big = fx_submit(&fx, "c1", 3, 0);   /* placed: 1 cpu left */
    uint64_t big2 = fx_submit(&fx, "c1", 3, 9);  /* waits */
    uint64_t small = fx_submit(&fx, "c1", 1, 0); /* backfilled */
    job_t *jb = sched_job_find(fx.s, big);
    job_t *jb2 = sched_job_find(fx.s, big2);
    job_t *js = sched_job_find(fx.s, small);
    ck_assert_int_eq(jb->state, JOB_STARTING);
    ck_assert_int_eq(jb2->state, JOB_QUEUED);
    ck_assert_int_eq(js->state, JOB_STARTING);
    node_t *n = sched_node_find(fx.s, "node-a");
    ck_assert_uint_eq(n->cpus_used, 4);
    char why[160];
    ck_assert_str_eq(placement_wait_reason(fx.s, jb2, why, sizeof why),
                     "cluster max_nodes is 0");
    /* the big job finishing lets the high-priority one in */
    job_finish(fx.s, jb, JOB_SUCCEEDED, 1, 0, "");
    sched_run_once(fx.s, 0, -1);
    ck_assert_int_eq(jb2->state, JOB_STARTING);
    ck_assert_uint_eq(n->cpus_used, 4);
    fx_teardown(&fx);
}
END_TEST

START_TEST(test_placement_best_fit)
{
    fx_t fx;
    fx_setup(&fx);
    fx_cluster(&fx, "c1", "Standard_D3_v2", 0, 0);
    cluster_t *c = sched_cluster_find(fx.s, "c1");
    node_t *a = node_add(fx.s, c, "n-a", NODE_READY);
    node_t *b = node_add(fx.s, c, "n-b", NODE_READY);
    node_t *p = node_add(fx.s, c, "n-p", NODE_PREPARING);
    (void)p;
    a->cpus_used = 1; /* fuller: preferred */
    capidx_update(c->capidx, a);
    uint64_t id = fx_submit(&fx, "c1", 2, 0);
    job_t *j = sched_job_find(fx.s, id);
    ck_assert_ptr_eq(job_head(j), a);
    ck_assert_uint_eq(a->cpus_used, 3);
    ck_assert_uint_eq(b->cpus_used, 0);
    fx_teardown(&fx);
}
END_TEST

/* A pass places at most its budget and leaves the rest (the cluster
 * dirty) to the next, in queue order; a pass that runs out of room ends
 * clean. */
START_TEST(test_placement_pass_budget)
{
    fx_t fx;
    fx_setup(&fx);
    fx_cluster(&fx, "c1", "Standard_D5_v2", 0, 0); /* 16 cpus, no scaling */
    cluster_t *c = sched_cluster_find(fx.s, "c1");
    uint64_t ids[10];
    for (int i = 0; i < 10; i++)
        ids[i] = fx_submit(&fx, "c1", 1, 0); /* no node: all wait */
    node_t *n = node_add(fx.s, c, "n-a", NODE_READY);
    node_capacity_set(n, 4, 8192);
    cluster_capacity_grew(c);
    ck_assert_uint_eq(placement_pass(fx.s, c, 3), 3);
    ck_assert_int_eq(c->dirty, 1); /* more may fit: the next pass goes on */
    ck_assert_int_eq(sched_job_find(fx.s, ids[2])->state, JOB_STARTING);
    ck_assert_int_eq(sched_job_find(fx.s, ids[3])->state, JOB_QUEUED);
    ck_assert_uint_eq(placement_pass(fx.s, c, 3), 1); /* the node is full */
    ck_assert_int_eq(c->dirty, 0);
    ck_assert_int_eq(sched_job_find(fx.s, ids[3])->state, JOB_STARTING);
    ck_assert_int_eq(sched_job_find(fx.s, ids[4])->state, JOB_QUEUED);
    ck_assert_uint_eq(placement_pass(fx.s, c, 3), 0); /* clean: no pass */
    ck_assert_uint_eq(n->cpus_used, 4);
    fx_teardown(&fx);
}
END_TEST

static uint64_t fx_submit_gpu(fx_t *fx, const char *cluster, uint32_t gpus,
                              const char *image)
{
    dr_env_t env;
    Drover__JobSubmit js = DROVER__JOB_SUBMIT__INIT;
    Drover__Job j = DROVER__JOB__INIT;
    char *argv[] = {"true"};
    wire_env_init(&env, 0);
    j.cluster = (char *)cluster;
    j.n_argv = 1;
    j.argv = argv;
    j.gpus = gpus;
    j.image = (char *)image;
    j.max_retries = 3;
    js.job = &j;
    env.body_case = DROVER__ENVELOPE__BODY_JOB_SUBMIT;
    env.job_submit = &js;
    dr_env_t *r = fx_call(fx, fx->client, &env);
    ck_assert_msg(
        r->body_case == DROVER__ENVELOPE__BODY_JOB_SUBMIT_REPLY,
        "submit refused: %s",
        r->body_case == DROVER__ENVELOPE__BODY_ERROR ? r->error->message : "?");
    uint64_t id = r->job_submit_reply->id;
    wire_free(&r);
    return id;
}

/* A node of cluster c with n GPUs, all healthy but those in `sick`. */
static node_t *fx_gpu_node(fx_t *fx, cluster_t *c, const char *name, uint32_t n,
                           uint64_t sick)
{
    node_t *nd = node_add(fx->s, c, name, NODE_READY);
    nd->runtimes = RT_PROCESS;
    Drover__GpuInfo g[8], *gp[8];
    char uuids[8][32];
    for (uint32_t i = 0; i < n; i++) {
        drover__gpu_info__init(&g[i]);
        g[i].index = i;
        snprintf(uuids[i], sizeof uuids[i], "GPU-%s-%u", name, i);
        g[i].uuid = uuids[i];
        g[i].name = "Tesla V100";
        g[i].healthy = !(sick & (1u << i));
        gp[i] = &g[i];
    }
    node_set_gpus(fx->s, nd, gp, n);
    return nd;
}

START_TEST(test_gpu_placement)
{
    fx_t fx;
    fx_setup(&fx);
    fx_cluster(&fx, "g", "Standard_NC24s_v3", 0, 0); /* 4 GPUs per node */
    cluster_t *c = sched_cluster_find(fx.s, "g");
    /* GPU 0 is unhealthy: never handed out */
    node_t *n = fx_gpu_node(&fx, c, "g-a", 4, 1u << 0);
    ck_assert_uint_eq(node_free_gpus(n), 3);
    job_t *a = sched_job_find(fx.s, fx_submit_gpu(&fx, "g", 1, NULL));
    job_t *b = sched_job_find(fx.s, fx_submit_gpu(&fx, "g", 1, NULL));
    ck_assert_int_eq(a->state, JOB_STARTING);
    ck_assert_int_eq(b->state, JOB_STARTING);
    ck_assert_uint_eq(a->tasks[0].n_gpu_idx, 1);
    ck_assert_uint_eq(a->tasks[0].gpu_idx[0], 1);
    ck_assert_uint_eq(b->tasks[0].gpu_idx[0],
                      2); /* never two jobs on one GPU */
    ck_assert_str_eq(a->gpu_assign, "1=GPU-g-a-1");
    /* 2 GPUs asked, 1 free: it waits, with the reason */
    job_t *w = sched_job_find(fx.s, fx_submit_gpu(&fx, "g", 2, NULL));
    ck_assert_int_eq(w->state, JOB_QUEUED);
    char why[160];
    ck_assert_str_eq(placement_wait_reason(fx.s, w, why, sizeof why),
                     "waiting for 2 free GPUs on one node");
    /* a freed GPU lets it start on exactly the free ones */
    job_finish(fx.s, a, JOB_SUCCEEDED, 1, 0, "");
    sched_run_once(fx.s, 0, -1);
    ck_assert_int_eq(w->state, JOB_STARTING);
    ck_assert_uint_eq(w->tasks[0].gpu_idx[0], 1);
    ck_assert_uint_eq(w->tasks[0].gpu_idx[1], 3);
    /* GPU 2 turns unhealthy mid-job: b fails over (requeued, attempt
     * kept for the next start) and GPU 2 stays out of use */
    Drover__GpuInfo g[4], *gp[4];
    char uuids[4][32];
    for (uint32_t i = 0; i < 4; i++) {
        drover__gpu_info__init(&g[i]);
        g[i].index = i;
        snprintf(uuids[i], sizeof uuids[i], "GPU-g-a-%u", i);
        g[i].uuid = uuids[i];
        g[i].healthy = i != 0 && i != 2;
        gp[i] = &g[i];
    }
    node_set_gpus(fx.s, n, gp, 4);
    ck_assert_int_eq(b->state, JOB_QUEUED);
    ck_assert_str_eq(b->reason, "gpu 2 on node g-a became unhealthy");
    ck_assert_uint_eq(node_free_gpus(n), 0);
    ck_assert_int_eq(w->state, JOB_STARTING); /* its GPUs are fine */
    /* more GPUs than the vm size has: refused at submit */
    dr_env_t env;
    Drover__JobSubmit js = DROVER__JOB_SUBMIT__INIT;
    Drover__Job jm = DROVER__JOB__INIT;
    char *argv[] = {"true"};
    wire_env_init(&env, 0);
    jm.cluster = "g";
    jm.n_argv = 1;
    jm.argv = argv;
    jm.gpus = 5;
    js.job = &jm;
    env.body_case = DROVER__ENVELOPE__BODY_JOB_SUBMIT;
    env.job_submit = &js;
    fx_expect_error(&fx, fx.client, &env, DR_ENOFIT,
                    "job asks for 5 GPUs but Standard_NC24s_v3 has 4");
    fx_teardown(&fx);
}
END_TEST

START_TEST(test_image_needs_docker)
{
    fx_t fx;
    fx_setup(&fx);
    fx_cluster(&fx, "d", "Standard_D2_v2", 0, 0);
    cluster_t *c = sched_cluster_find(fx.s, "d");
    node_t *p = node_add(fx.s, c, "d-p", NODE_READY);
    p->runtimes = RT_PROCESS;
    job_t *j = sched_job_find(fx.s, fx_submit_gpu(&fx, "d", 0, "busybox"));
    ck_assert_int_eq(j->state, JOB_QUEUED);
    char why[160];
    ck_assert_str_eq(placement_wait_reason(fx.s, j, why, sizeof why),
                     "no ready node of cluster d has the docker runtime");
    ck_assert_int_eq(autoscaler_demand(c, 3), 0); /* no pointless scale-out */
    node_t *dn = node_add(fx.s, c, "d-d", NODE_READY);
    dn->runtimes = RT_PROCESS | RT_DOCKER;
    cluster_capacity_grew(c);
    sched_run_once(fx.s, 0, -1);
    ck_assert_int_eq(j->state, JOB_STARTING);
    ck_assert_ptr_eq(job_head(j), dn);
    fx_teardown(&fx);
}
END_TEST

START_TEST(test_quota_lock_preemption)
{
    fx_t fx;
    fx_setup(&fx);
    /* the exec provider stands in: /bin/true "creates" nodes that never
     * register, so the autoscaler's bookkeeping is what is tested */
    dr_env_t env;
    Drover__ClusterCreate cc = DROVER__CLUSTER_CREATE__INIT;
    Drover__Cluster c = DROVER__CLUSTER__INIT;
    wire_env_init(&env, 0);
    c.name = "q";
    c.vm_size = "Standard_NC6s_v3"; /* 6 cores, standardNCSv3Family */
    c.max_nodes = 10;
    c.provider = "exec";
    c.resume_program = "/bin/true";
    c.suspend_program = "relative/path";
    cc.cluster = &c;
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_CREATE;
    env.cluster_create = &cc;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "absolute resume");
    c.suspend_program = "/bin/true";
    c.provider_url = "http://x";
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "needs --provider http");
    c.provider_url = NULL;
    dr_env_t *r = fx_call(&fx, fx.client, &env);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_CLUSTER_INFO);
    ck_assert_str_eq(r->cluster_info->vm_family, "standardNCSv3Family");
    wire_free(&r);

    /* a quota of 12 cores: two 6-core nodes, not three */
    Drover__QuotaSet qs = DROVER__QUOTA_SET__INIT;
    qs.family = "nofamily";
    qs.cores = 12;
    env.body_case = DROVER__ENVELOPE__BODY_QUOTA_SET;
    env.quota_set = &qs;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "unknown VM family");
    qs.family = "standardncsv3family"; /* case-insensitive */
    qs.cores = -2;                     /* -1 is "no limit" */
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "cores must be");
    /* regional quotas (issue 19): a total needs a location and no family;
     * a location is a name */
    qs.cores = 12;
    qs.total = 1;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "not both");
    qs.family = "";
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "needs a location");
    qs.location = "west us";
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "invalid location");
    qs.location = NULL;
    qs.total = 0;
    qs.family = "standardncsv3family";
    qs.cores = 12;
    r = fx_call(&fx, fx.client, &env);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_QUOTA_LIST_REPLY);
    int found = 0;
    for (size_t i = 0; i < r->quota_list_reply->n_quotas; i++) {
        Drover__Quota *q = r->quota_list_reply->quotas[i];
        if (strcmp(q->family, "standardNCSv3Family") == 0) {
            found = 1;
            ck_assert_int_eq(q->dedicated_cores, 12);
            ck_assert_int_eq(q->lowpriority_cores, -1);
        }
    }
    ck_assert(found);
    wire_free(&r);
    uint64_t ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = fx_submit(&fx, "q", 6, 0);
    cluster_t *cl = sched_cluster_find(fx.s, "q");
    sched_autoscale_at(fx.s, 0);
    sched_run_once(fx.s, 0, -1);
    ck_assert_uint_eq(cl->nnodes, 2);
    ck_assert_str_eq(cl->wait_reason,
                     "quota exceeded: standardNCSv3Family 12/12 cores");
    ck_assert_str_eq(cl->cfg.last_error,
                     "quota exceeded: standardNCSv3Family 12/12 cores");
    ck_assert_int_eq(quota_used(fx.s, "", "standardNCSv3Family", 0), 12);
    char why[160];
    ck_assert_str_eq(placement_wait_reason(fx.s, sched_job_find(fx.s, ids[2]),
                                           why, sizeof why),
                     "quota exceeded: standardNCSv3Family 12/12 cores");

    /* a locked cluster is not resized or deleted by hand */
    Drover__ClusterLock lk = DROVER__CLUSTER_LOCK__INIT;
    lk.name = "q";
    lk.locked = 1;
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_LOCK;
    env.cluster_lock = &lk;
    r = fx_call(&fx, fx.client, &env);
    ck_assert(r->cluster_info->locked);
    wire_free(&r);
    Drover__ClusterUpdate cu = DROVER__CLUSTER_UPDATE__INIT;
    cu.name = "q";
    cu.max_nodes = 1;
    cu.set_mask = 2;
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_UPDATE;
    env.cluster_update = &cu;
    fx_expect_error(&fx, fx.client, &env, DR_ESTATE, "is locked");
    Drover__ClusterRef cr = DROVER__CLUSTER_REF__INIT;
    cr.name = "q";
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_DELETE;
    env.cluster_delete = &cr;
    fx_expect_error(&fx, fx.client, &env, DR_ESTATE, "is locked");

    /* preemption: the job is requeued; preemptions are counted apart and
     * do not use up failure retries (max_retries is 0 here) */
    node_t *n = cl->nodes[0];
    n->state = NODE_READY;
    n->runtimes = RT_PROCESS;
    cluster_capacity_grew(cl);
    sched_run_once(fx.s, 0, -1);
    job_t *j = sched_job_find(fx.s, ids[0]);
    ck_assert_ptr_eq(job_head(j), n);
    ck_assert_uint_eq(j->max_retries, 0);
    node_preempted(fx.s, n, "Preempt scheduled event");
    ck_assert_int_eq(j->state, JOB_QUEUED);
    ck_assert_uint_eq(j->preemptions, 1);
    ck_assert_uint_eq(j->attempts, 1);
    ck_assert(n->preempted);
    ck_assert_int_eq(n->state, NODE_LEAVING);
    /* the events say what happened */
    Drover__ClusterEventsReq er = DROVER__CLUSTER_EVENTS_REQ__INIT;
    er.name = "q";
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_EVENTS;
    env.cluster_events = &er;
    r = fx_call(&fx, fx.client, &env);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_EVENT_LIST_REPLY);
    int preempted = 0, scale_out = 0, refused = 0;
    for (size_t i = 0; i < r->event_list_reply->n_events; i++) {
        const char *k = r->event_list_reply->events[i]->kind;
        preempted += strcmp(k, "node_preempted") == 0;
        scale_out += strcmp(k, "scale_out") == 0;
        refused += strcmp(k, "refused") == 0;
    }
    ck_assert_int_eq(preempted, 1);
    ck_assert_int_eq(scale_out, 2);
    ck_assert_int_eq(refused, 2);
    wire_free(&r);
    fx_teardown(&fx);
}
END_TEST

START_TEST(test_identity_tokens)
{
    char dir[] = "/tmp/drover-ident-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    identity_t *id = identity_new(dir, 1);
    ck_assert_ptr_nonnull(id);
    int64_t exp = 0;
    char *tok = identity_sign(id, "principal-1", "c1", 42, "https://x/", &exp);
    identity_claims_t cl;
    char why[160];
    ck_assert_int_eq(identity_verify(id, tok, &cl, why, sizeof why), 0);
    ck_assert_str_eq(cl.subject, "principal-1");
    ck_assert_str_eq(cl.cluster, "c1");
    ck_assert_uint_eq(cl.job_id, 42);
    ck_assert_str_eq(cl.resource, "https://x/");
    ck_assert_int_eq(cl.expires_on, exp);
    /* a changed payload or signature fails */
    char *bad = dr_strdup(tok);
    bad[5] = bad[5] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(identity_verify(id, bad, &cl, why, sizeof why), DR_EPERM);
    ck_assert_str_eq(why, "bad signature");
    free(bad);
    ck_assert_int_eq(identity_verify(id, "v1.x.y", &cl, why, sizeof why),
                     DR_EINVAL);
    ck_assert_int_eq(identity_verify(id, "garbage", &cl, why, sizeof why),
                     DR_EINVAL);
    /* another scheduler's key does not verify it; the key file persists */
    identity_destroy(&id);
    char dir2[] = "/tmp/drover-ident2-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir2));
    identity_t *other = identity_new(dir2, 1);
    ck_assert_int_eq(identity_verify(other, tok, &cl, why, sizeof why),
                     DR_EPERM);
    identity_destroy(&other);
    id = identity_new(dir, 1);
    ck_assert_int_eq(identity_verify(id, tok, &cl, why, sizeof why), 0);
    /* and it expires */
    usleep(1200 * 1000);
    ck_assert_int_eq(identity_verify(id, tok, &cl, why, sizeof why),
                     DR_ETIMEOUT);
    ck_assert(strstr(why, "expired") != NULL);
    free(tok);
    identity_destroy(&id);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, dir2);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_autoscaler_demand)
{
    fx_t fx;
    fx_setup(&fx);
    fx_cluster(&fx, "c1", "Standard_D2_v2", 0, 3); /* 2 cpus per node */
    cluster_t *c = sched_cluster_find(fx.s, "c1");
    for (int i = 0; i < 5; i++)
        (void)fx_submit(&fx, "c1", 1, 0);
    ck_assert_int_eq(autoscaler_demand(c, 3), 3); /* 5 cpus -> 3 nodes */
    ck_assert_int_eq(autoscaler_demand(c, 2), 2); /* clamped by headroom */
    ck_assert_int_eq(autoscaler_demand(c, 0), 0);
    node_t *p = node_add(fx.s, c, "c1-x", NODE_PREPARING);
    (void)p;
    ck_assert_int_eq(autoscaler_demand(c, 2), 2); /* one is on its way */
    fx_teardown(&fx);
}
END_TEST

/* ---- client API and bad input ----------------------------------------------
 */

START_TEST(test_client_validation)
{
    fx_t fx;
    fx_setup_on(&fx, _i);
    dr_env_t env;
    Drover__ClusterCreate cc = DROVER__CLUSTER_CREATE__INIT;
    Drover__Cluster c = DROVER__CLUSTER__INIT;
    wire_env_init(&env, 0);
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_CREATE;
    env.cluster_create = &cc;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "cluster missing");
    cc.cluster = &c;
    c.name = "c1";
    c.vm_size = "Standard_Nope";
    c.max_nodes = 2;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "unknown vm size");
    c.vm_size = "standard_d2_V2";
    c.min_nodes = 3;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL,
                    "min_nodes 3 is greater than max_nodes 2");
    c.min_nodes = -1;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "must not be negative");
    c.min_nodes = 0;
    c.name = "bad name!";
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "invalid cluster name");
    c.name = "c1";
    c.vm_priority = "cheap";
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "vm priority");
    c.vm_priority = "lowpriority";
    c.provider = "aws";
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "unknown provider");
    c.provider = NULL;
    dr_env_t *r = fx_call(&fx, fx.client, &env);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_CLUSTER_INFO);
    ck_assert_str_eq(r->cluster_info->vm_size, "Standard_D2_v2");
    ck_assert_int_eq(r->cluster_info->idle_seconds_before_scaledown, 120);
    wire_free(&r);
    fx_expect_error(&fx, fx.client, &env, DR_EEXIST, "already exists");

    /* jobs */
    Drover__JobSubmit js = DROVER__JOB_SUBMIT__INIT;
    Drover__Job j = DROVER__JOB__INIT;
    char *argv[] = {"true"};
    env.body_case = DROVER__ENVELOPE__BODY_JOB_SUBMIT;
    env.job_submit = &js;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "job missing");
    js.job = &j;
    j.cluster = "nope";
    fx_expect_error(&fx, fx.client, &env, DR_ENOENT, "unknown cluster 'nope'");
    j.cluster = "c1";
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "needs a command");
    j.n_argv = 1;
    j.argv = argv;
    j.cpus = 3;
    fx_expect_error(&fx, fx.client, &env, DR_ENOFIT,
                    "job asks for 3 cpus but Standard_D2_v2 has 2");
    j.cpus = 1;
    j.memory_mb = 1 << 20;
    fx_expect_error(&fx, fx.client, &env, DR_ENOFIT, "MB but Standard_D2_v2");
    j.memory_mb = 0;
    Drover__KeyValue kv = DROVER__KEY_VALUE__INIT;
    Drover__KeyValue *kvs[] = {&kv};
    kv.key = "1BAD";
    kv.value = "x";
    j.n_env = 1;
    j.env = kvs;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "environment variable");
    j.n_env = 0;
    j.priority = 5000;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "priority");
    j.priority = 0;
    j.nodes = DR_MAX_JOB_NODES + 1;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "above the limit");
    j.nodes = 2;
    j.distribution = "horovod";
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "distribution");
    j.nodes = 1;
    j.distribution = "mpi";
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "above 1");
    /* tensorflow: at least a task per node, at most DIST_MAX_TASKS; its
     * counts are refused for the other distributions */
    j.nodes = 2;
    j.distribution = "tensorflow";
    j.worker_count = 1;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "between the nodes (2)");
    j.worker_count = 200;
    j.parameter_server_count = 57;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "is 257");
    j.worker_count = 0;
    j.parameter_server_count = 1;
    j.distribution = "pytorch";
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "tensorflow only");
    j.parameter_server_count = 0;
    j.nodes = 1;
    j.distribution = NULL;
    /* names, ranges and images are checked here, not only by the CLI: a
     * raw client's name with a newline and an ANSI escape would forge a
     * row of `job list` (regression) */
    j.name = "ok\n42  evil  c1  succeeded\x1b[2K";
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "invalid job name");
    j.name = "-dash-first";
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "invalid job name");
    j.name = "train_1-a";
    j.time_limit_s = UINT32_MAX;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "time limit");
    j.time_limit_s = 366 * 24 * 3600 + 1;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "above the limit of");
    j.time_limit_s = 0;
    /* in ms (issue 17): the same cap, whichever is given */
    j.time_limit_ms = 366ull * 24 * 3600 * 1000 + 1;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "above the limit of");
    j.time_limit_s = 10;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "above the limit of");
    /* both, and not one limit: refused; both, the seconds rounded up (as
     * the CLI sends them): one limit */
    j.time_limit_ms = 300;
    j.time_limit_s = 5;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "disagree");
    j.time_limit_ms = 1001;
    j.time_limit_s = 1;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "disagree");
    j.time_limit_s = 0;
    j.time_limit_ms = 0;
    j.image = "busybox\n:latest";
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "invalid image");
    j.image = NULL;

    /* unknown things */
    Drover__JobRef ref = DROVER__JOB_REF__INIT;
    ref.id = 12345;
    env.body_case = DROVER__ENVELOPE__BODY_JOB_SHOW;
    env.job_show = &ref;
    fx_expect_error(&fx, fx.client, &env, DR_ENOENT, "unknown job 12345");
    env.body_case = DROVER__ENVELOPE__BODY_JOB_CANCEL;
    env.job_cancel = &ref;
    fx_expect_error(&fx, fx.client, &env, DR_ENOENT, "unknown job 12345");
    Drover__ClusterRef cr = DROVER__CLUSTER_REF__INIT;
    cr.name = "ghost";
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_SHOW;
    env.cluster_show = &cr;
    fx_expect_error(&fx, fx.client, &env, DR_ENOENT, "unknown cluster");
    Drover__JobListReq jl = DROVER__JOB_LIST_REQ__INIT;
    jl.state = "sleeping";
    env.body_case = DROVER__ENVELOPE__BODY_JOB_LIST;
    env.job_list = &jl;
    fx_expect_error(&fx, fx.client, &env, DR_EINVAL, "unknown job state");
    /* an agent message on the client endpoint */
    Drover__Heartbeat hb = DROVER__HEARTBEAT__INIT;
    env.body_case = DROVER__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    fx_expect_error(&fx, fx.client, &env, DR_EPROTO, "not a client request");
    fx_teardown(&fx);
}
END_TEST

START_TEST(test_garbage_on_both_sockets)
{
    fx_t fx;
    fx_setup(&fx);
    void *socks[] = {fx.client, fx.agent};
    for (int k = 0; k < 2; k++) {
        void *sock = socks[k];
        /* random bytes */
        const char junk[] = "\xff\xfe garbage \x01\x02";
        ck_assert_int_ge(zmq_send(sock, junk, sizeof junk, 0), 0);
        dr_env_t *r = fx_wait(&fx, sock);
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_ERROR);
        ck_assert_int_eq(r->error->code, DR_EPROTO);
        wire_free(&r);
        /* an empty message */
        ck_assert_int_ge(zmq_send(sock, "", 0, 0), 0);
        r = fx_wait(&fx, sock);
        ck_assert_int_eq(r->error->code, DR_EPROTO);
        wire_free(&r);
        /* two frames */
        ck_assert_int_ge(zmq_send(sock, "a", 1, ZMQ_SNDMORE), 0);
        ck_assert_int_ge(zmq_send(sock, "b", 1, 0), 0);
        r = fx_wait(&fx, sock);
        ck_assert_int_eq(r->error->code, DR_EPROTO);
        wire_free(&r);
        /* another protocol version: the reply quotes its request id */
        dr_env_t env;
        Drover__ClusterListReq cl = DROVER__CLUSTER_LIST_REQ__INIT;
        wire_env_init(&env, 0);
        env.version = 99;
        env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_LIST;
        env.cluster_list = &cl;
        fx_expect_error(&fx, sock, &env, DR_EVERSION, "version");
    }
    /* an oversized message drops the peer; the scheduler keeps serving */
    size_t big = DR_MAX_MSG_BYTES + 1024;
    char *buf = dr_calloc(1, big);
    ck_assert_int_ge(zmq_send(fx.client, buf, big, 0), 0);
    free(buf);
    for (int i = 0; i < 20; i++)
        sched_run_once(fx.s, 10, -1);
    void *fresh = fx_dealer(&fx, fx.opts.client_endpoint, "cli-2");
    dr_env_t env;
    Drover__ClusterListReq cl = DROVER__CLUSTER_LIST_REQ__INIT;
    wire_env_init(&env, 0);
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_LIST;
    env.cluster_list = &cl;
    dr_env_t *r = fx_call(&fx, fresh, &env);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_CLUSTER_LIST_REPLY);
    wire_free(&r);
    zmq_close(fresh);
    fx_teardown(&fx);
}
END_TEST

START_TEST(test_agent_protocol_errors)
{
    fx_t fx;
    fx_setup(&fx);
    fx_cluster(&fx, "c1", "Standard_D2_v2", 0, 1);
    dr_env_t env;
    wire_env_init(&env, 0);
    /* heartbeat before registering */
    Drover__Heartbeat hb = DROVER__HEARTBEAT__INIT;
    env.body_case = DROVER__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    fx_expect_error(&fx, fx.agent, &env, DR_ENOTREG, "not registered");
    /* speaking for another node */
    Drover__Register reg = DROVER__REGISTER__INIT;
    reg.node_name = "node-b";
    reg.cluster = "c1";
    reg.cpus = 2;
    reg.memory_mb = 100;
    env.body_case = DROVER__ENVELOPE__BODY_REGISTER;
    env.register_ = &reg;
    fx_expect_error(&fx, fx.agent, &env, DR_EPERM, "does not match");
    reg.node_name = "node-a";
    reg.cluster = "ghost";
    fx_expect_error(&fx, fx.agent, &env, DR_ENOENT, "unknown cluster ghost");
    reg.cluster = "c1";
    reg.cpus = 0;
    fx_expect_error(&fx, fx.agent, &env, DR_EINVAL, "required");
    reg.cpus = 2;
    Drover__TaskReport bad = DROVER__TASK_REPORT__INIT;
    Drover__TaskReport *tasks[] = {&bad};
    reg.n_tasks = 1;
    reg.tasks = tasks;
    fx_expect_error(&fx, fx.agent, &env, DR_EINVAL, "job_id and attempt");
    reg.n_tasks = 0;
    fx_register(&fx, "c1", 2);
    /* a bad task update */
    Drover__TaskUpdate tu = DROVER__TASK_UPDATE__INIT;
    env.body_case = DROVER__ENVELOPE__BODY_TASK_UPDATE;
    env.task_update = &tu;
    fx_expect_error(&fx, fx.agent, &env, DR_EINVAL, "report missing");
    Drover__TaskReport rep = DROVER__TASK_REPORT__INIT;
    rep.job_id = 1;
    rep.attempt = 1;
    rep.state = 77;
    tu.report = &rep;
    fx_expect_error(&fx, fx.agent, &env, DR_EINVAL, "invalid state");
    /* a client request on the agent endpoint */
    Drover__ClusterListReq cl = DROVER__CLUSTER_LIST_REQ__INIT;
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_LIST;
    env.cluster_list = &cl;
    fx_expect_error(&fx, fx.agent, &env, DR_EPROTO, "not accepted");
    /* a report about a job that is not this node's is acked, not applied */
    rep.state = DROVER__TASK_STATE__TASK_EXITED;
    rep.job_id = 4242;
    env.body_case = DROVER__ENVELOPE__BODY_TASK_UPDATE;
    env.task_update = &tu; /* the body is a union: set it again */
    dr_env_t *r = fx_call(&fx, fx.agent, &env);
    ck_assert_msg(
        r->body_case == DROVER__ENVELOPE__BODY_TASK_UPDATE_ACK, "got %s: %s",
        wire_body_name(r->body_case),
        r->body_case == DROVER__ENVELOPE__BODY_ERROR ? r->error->message : "");
    wire_free(&r);
    fx_teardown(&fx);
}
END_TEST

START_TEST(test_job_lifecycle_and_restart)
{
    fx_t fx;
    fx_setup_on(&fx, _i);
    fx_cluster(&fx, "c1", "Standard_D2_v2", 0, 0);
    uint64_t queued = fx_submit(&fx, "c1", 2, 0);
    fx_register(&fx, "c1", 2);
    /* registration placed it: a TaskStart reaches the agent */
    dr_env_t *r = fx_wait(&fx, fx.agent);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_TASK_START);
    ck_assert_uint_eq(r->task_start->job_id, queued);
    ck_assert_uint_eq(r->task_start->attempt, 1);
    ck_assert_str_eq(r->task_start->argv[0], "true");
    wire_free(&r);
    uint64_t waiting = fx_submit(&fx, "c1", 1, 0);
    /* RUNNING, then output, then exit 0 */
    dr_env_t env;
    Drover__TaskUpdate tu = DROVER__TASK_UPDATE__INIT;
    Drover__TaskReport rep = DROVER__TASK_REPORT__INIT;
    wire_env_init(&env, 0);
    rep.job_id = queued;
    rep.attempt = 1;
    rep.state = DROVER__TASK_STATE__TASK_RUNNING;
    tu.report = &rep;
    env.body_case = DROVER__ENVELOPE__BODY_TASK_UPDATE;
    env.task_update = &tu;
    r = fx_call(&fx, fx.agent, &env);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_TASK_UPDATE_ACK);
    wire_free(&r);
    ck_assert_int_eq(sched_job_find(fx.s, queued)->state, JOB_RUNNING);

    /* restart: the running job and the queued one come back */
    sched_destroy(&fx.s);
    fx_open(&fx);
    job_t *jr = sched_job_find(fx.s, queued);
    job_t *jw = sched_job_find(fx.s, waiting);
    ck_assert_ptr_nonnull(jr);
    ck_assert_ptr_nonnull(jw);
    ck_assert_int_eq(jr->state, JOB_RUNNING);
    ck_assert_int_eq(jw->state, JOB_QUEUED);
    node_t *n = sched_node_find(fx.s, "node-a");
    ck_assert_int_eq(n->state, NODE_UNKNOWN);
    /* heartbeats are refused until the agent re-registers with its task */
    Drover__Heartbeat hb = DROVER__HEARTBEAT__INIT;
    env.body_case = DROVER__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    fx_expect_error(&fx, fx.agent, &env, DR_ENOTREG, "not registered");
    Drover__Register reg = DROVER__REGISTER__INIT;
    Drover__TaskReport *tasks[] = {&rep};
    reg.node_name = "node-a";
    reg.cluster = "c1";
    reg.cpus = 2;
    reg.memory_mb = 8192;
    reg.n_tasks = 1;
    reg.tasks = tasks;
    env.body_case = DROVER__ENVELOPE__BODY_REGISTER;
    env.register_ = &reg;
    r = fx_call(&fx, fx.agent, &env);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_REGISTER_ACK);
    ck_assert_uint_eq(r->register_ack->n_cancel_job_ids, 0);
    wire_free(&r);
    ck_assert_int_eq(jr->state, JOB_RUNNING);
    ck_assert_ptr_eq(job_head(jr), n);
    /* it exits 3: failed with the code; the waiting job gets the node */
    rep.state = DROVER__TASK_STATE__TASK_EXITED;
    rep.exit_code = 3;
    env.body_case = DROVER__ENVELOPE__BODY_TASK_UPDATE;
    env.task_update = &tu;
    r = fx_call(&fx, fx.agent, &env);
    wire_free(&r);
    ck_assert_ptr_null(sched_job_find(fx.s, queued));
    store_job_t row;
    ck_assert_int_eq(store_job_get(fx.s->store, queued, &row), 0);
    ck_assert_str_eq(row.state, "failed");
    ck_assert_int_eq(row.exit_code, 3);
    ck_assert_str_eq(row.reason, "exited with code 3");
    store_job_clear(&row);
    ck_assert_int_eq(jw->state, JOB_STARTING);
    r = fx_wait(&fx, fx.agent);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_TASK_START);
    ck_assert_uint_eq(r->task_start->job_id, waiting);
    wire_free(&r);
    /* a job the scheduler no longer wants is cancelled at registration;
     * the starting job it did not report is sent again */
    rep.job_id = 999;
    rep.state = DROVER__TASK_STATE__TASK_RUNNING;
    env.body_case = DROVER__ENVELOPE__BODY_REGISTER;
    env.register_ = &reg;
    ck_assert_int_eq(wire_send(fx.agent, NULL, &env), 0);
    r = fx_wait(&fx, fx.agent);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_TASK_START);
    ck_assert_uint_eq(r->task_start->job_id, waiting);
    wire_free(&r);
    r = fx_wait(&fx, fx.agent);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_REGISTER_ACK);
    ck_assert_uint_eq(r->register_ack->n_cancel_job_ids, 1);
    ck_assert_uint_eq(r->register_ack->cancel_job_ids[0], 999);
    wire_free(&r);
    fx_teardown(&fx);
}
END_TEST

/* A task that started and ended within one pass of its agent is said in
 * one report, its end with its started_at_ms (issue 17: batched reports):
 * the job ran (its start kept), then succeeded. */
START_TEST(test_report_start_and_end_together)
{
    fx_t fx;
    fx_setup_on(&fx, _i);
    fx_cluster(&fx, "c1", "Standard_D2_v2", 0, 0);
    uint64_t id = fx_submit(&fx, "c1", 1, 0);
    fx_register(&fx, "c1", 2);
    dr_env_t *r = fx_wait(&fx, fx.agent);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_TASK_START);
    wire_free(&r);
    ck_assert_int_eq(sched_job_find(fx.s, id)->state, JOB_STARTING);
    dr_env_t env;
    Drover__TaskUpdate tu = DROVER__TASK_UPDATE__INIT;
    Drover__TaskReport rep = DROVER__TASK_REPORT__INIT;
    wire_env_init(&env, 0);
    int64_t started = dr_now_ms() - 7;
    rep.job_id = id;
    rep.attempt = 1;
    rep.state = DROVER__TASK_STATE__TASK_EXITED;
    rep.started_at_ms = started;
    rep.ended_at_ms = started + 2;
    tu.report = &rep;
    env.body_case = DROVER__ENVELOPE__BODY_TASK_UPDATE;
    env.task_update = &tu;
    r = fx_call(&fx, fx.agent, &env);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_TASK_UPDATE_ACK);
    wire_free(&r);
    ck_assert_ptr_null(sched_job_find(fx.s, id));
    store_job_t row;
    ck_assert_int_eq(store_job_get(fx.s->store, id, &row), 0);
    ck_assert_str_eq(row.state, "succeeded");
    ck_assert_int_eq(row.started_at_ms, started);
    ck_assert_int_ge(row.ended_at_ms, started);
    store_job_clear(&row);
    fx_teardown(&fx);
}
END_TEST

/* Sends a task report for (job, attempt 1) from sock; the ack is read. */
static void fx_report(fx_t *fx, void *sock, uint64_t job, int state, int code)
{
    dr_env_t env;
    Drover__TaskUpdate tu = DROVER__TASK_UPDATE__INIT;
    Drover__TaskReport rep = DROVER__TASK_REPORT__INIT;
    wire_env_init(&env, 0);
    rep.job_id = job;
    rep.attempt = 1;
    rep.state = state;
    rep.exit_code = code;
    tu.report = &rep;
    env.body_case = DROVER__ENVELOPE__BODY_TASK_UPDATE;
    env.task_update = &tu;
    ck_assert_int_eq(wire_send(sock, NULL, &env), 0);
    for (;;) {
        dr_env_t *r = fx_wait(fx, sock);
        ck_assert_ptr_nonnull(r);
        int ack = r->body_case == DROVER__ENVELOPE__BODY_TASK_UPDATE_ACK;
        wire_free(&r);
        if (ack)
            return;
    }
}

/* An MPI job of `nodes` x `ppn` on c1, 2 cpus per node, no retries. */
static uint64_t fx_submit_mpi(fx_t *fx, uint32_t nodes, uint32_t ppn)
{
    Drover__Job jm = DROVER__JOB__INIT;
    char *argv[] = {"mpi_ring"};
    jm.cluster = "c1";
    jm.n_argv = 1;
    jm.argv = argv;
    jm.cpus = 2;
    jm.nodes = nodes;
    jm.procs_per_node = ppn;
    jm.distribution = "mpi";
    return fx_submit_job(fx, &jm);
}

/* The next message of a body on sock, skipping others. */
static dr_env_t *fx_expect(fx_t *fx, void *sock, int body)
{
    for (int i = 0; i < 10; i++) {
        dr_env_t *r = fx_wait(fx, sock);
        ck_assert_ptr_nonnull(r);
        if ((int)r->body_case == body)
            return r;
        wire_free(&r);
    }
    ck_abort_msg("no %s arrived", wire_body_name(body));
    return NULL;
}

/* A TensorFlow job of 2 whole nodes, w workers and ps parameter servers. */
static uint64_t fx_submit_tf(fx_t *fx, uint32_t w, uint32_t ps)
{
    Drover__Job jm = DROVER__JOB__INIT;
    char *argv[] = {"train"};
    jm.cluster = "c1";
    jm.n_argv = 1;
    jm.argv = argv;
    jm.cpus = 2;
    jm.nodes = 2;
    jm.distribution = "tensorflow";
    jm.worker_count = w;
    jm.parameter_server_count = ps;
    return fx_submit_job(fx, &jm);
}

/* distribution tensorflow: every node's TaskStart carries the counts and
 * the job's first port.  Two jobs on whole nodes (2 cpus each) of four,
 * two nodes on each of two machines: the second job's ports are apart
 * from the first's exactly when one of its nodes shares a machine with
 * one of the first's.  One layout of machines; whether the second job's nodes
 * shared one with the first's. */
static int s_tf_ports_layout(int backend, const char *const addrs[4])
{
    fx_t fx;
    fx_setup_on(&fx, backend);
    fx_cluster(&fx, "c1", "Standard_D2_v2", 0, 4);
    const char *names[4] = {"node-a", "node-b", "node-c", "node-d"};
    void *sock[4] = {fx.agent};
    for (int n = 0; n < 4; n++) {
        if (n)
            sock[n] = fx_dealer(&fx, fx.opts.agent_endpoint, names[n]);
        fx_register_at(&fx, sock[n], names[n], "c1", 2, addrs[n]);
    }
    uint32_t first[2] = {0, 0};
    int on[2][2]; /* the nodes of each job */
    for (int k = 0; k < 2; k++) {
        uint64_t id = k ? fx_submit_tf(&fx, 2, 0) : fx_submit_tf(&fx, 3, 1);
        for (int i = 0; i < 5; i++)
            sched_run_once(fx.s, 5, -1);
        job_t *j = sched_job_find(fx.s, id);
        ck_assert_uint_eq(j->ntasks, 2);
        for (uint32_t t = 0; t < 2; t++) {
            int n = 0;
            while (strcmp(names[n], j->tasks[t].node->name) != 0)
                n++;
            on[k][t] = n;
            dr_env_t *r =
                fx_expect(&fx, sock[n], DROVER__ENVELOPE__BODY_TASK_START);
            const Drover__TaskStart *ts = r->task_start;
            ck_assert_uint_eq(ts->job_id, id);
            ck_assert_str_eq(ts->distribution, "tensorflow");
            ck_assert_uint_eq(ts->worker_count, k ? 2 : 3);
            ck_assert_uint_eq(ts->parameter_server_count, k ? 0 : 1);
            ck_assert_uint_eq(ts->n_host_addrs, 2);
            if (t == 0)
                first[k] = ts->tf_port;
            ck_assert_uint_eq(ts->tf_port, first[k]);
            wire_free(&r);
        }
    }
    int near = 0;
    for (int x = 0; x < 2; x++)
        for (int y = 0; y < 2; y++)
            near |= strcmp(addrs[on[0][x]], addrs[on[1][y]]) == 0;
    ck_assert_uint_eq(first[0], DR_TORCH_PORT_BASE);
    /* the first job holds 29500-29503 on its machines */
    ck_assert_uint_eq(first[1], DR_TORCH_PORT_BASE + (near ? 4 : 0));
    for (int n = 1; n < 4; n++)
        zmq_close(sock[n]);
    fx_teardown(&fx);
    return near;
}

START_TEST(test_tf_ports)
{
    /* placement puts the jobs on the same nodes in both layouts; in one
     * of them the nodes of the second job share a machine with the
     * first's, in the other not */
    static const char *const ab[4] = {"10.0.0.7", "10.0.0.7", "10.0.0.8",
                                      "10.0.0.8"};
    static const char *const ac[4] = {"10.0.0.7", "10.0.0.8", "10.0.0.7",
                                      "10.0.0.8"};
    int n1 = s_tf_ports_layout(_i, ab), n2 = s_tf_ports_layout(_i, ac);
    ck_assert_int_ne(n1, n2);
}
END_TEST

START_TEST(test_mpi_gang)
{
    fx_t fx;
    fx_setup_on(&fx, _i);
    fx_cluster(&fx, "c1", "Standard_D2_v2", 0, 3);
    void *b = fx_dealer(&fx, fx.opts.agent_endpoint, "node-b");
    void *c = fx_dealer(&fx, fx.opts.agent_endpoint, "node-c");
    fx_register_as(&fx, fx.agent, "node-a", "c1", 2);
    fx_register_as(&fx, b, "node-b", "c1", 2);
    /* two nodes for a 3-node gang: nothing starts (all or none) */
    uint64_t id = fx_submit_mpi(&fx, 3, 2);
    dr_env_t env;
    dr_env_t *r;
    wire_env_init(&env, 0);
    for (int i = 0; i < 5; i++)
        sched_run_once(fx.s, 5, -1);
    job_t *j = sched_job_find(fx.s, id);
    ck_assert_int_eq(j->state, JOB_QUEUED);
    ck_assert_uint_eq(j->ntasks, 0);
    ck_assert_uint_eq(sched_node_find(fx.s, "node-a")->cpus_used, 0);
    char why[256];
    ck_assert_ptr_nonnull(
        strstr(placement_wait_reason(fx.s, j, why, sizeof why),
               "waiting for 3 nodes at once"));
    /* the waiting gang holds the free nodes: a small job without a time
     * limit does not take them */
    uint64_t small = fx_submit(&fx, "c1", 1, 0);
    ck_assert_int_eq(sched_job_find(fx.s, small)->state, JOB_QUEUED);
    ck_assert_ptr_nonnull(
        strstr(placement_wait_reason(fx.s, sched_job_find(fx.s, small), why,
                                     sizeof why),
               "held for gang job"));
    Drover__JobRef ref = DROVER__JOB_REF__INIT;
    ref.id = small;
    env.body_case = DROVER__ENVELOPE__BODY_JOB_CANCEL;
    env.job_cancel = &ref;
    r = fx_call(&fx, fx.client, &env);
    wire_free(&r);

    /* the third node: workers get their TaskStart, the head waits */
    fx_register_as(&fx, c, "node-c", "c1", 2);
    r = fx_expect(&fx, b, DROVER__ENVELOPE__BODY_TASK_START);
    ck_assert_uint_eq(r->task_start->job_id, id);
    ck_assert_uint_eq(r->task_start->nodes, 3);
    ck_assert_uint_eq(r->task_start->procs_per_node, 2);
    ck_assert_str_eq(r->task_start->distribution, "mpi");
    ck_assert_uint_eq(r->task_start->n_hosts, 3);
    uint32_t rank_b = r->task_start->node_rank;
    ck_assert_str_eq(r->task_start->hosts[rank_b], "node-b");
    const char *head = job_head(j)->name;
    ck_assert_str_ne(head, "node-b");
    wire_free(&r);
    void *hs = strcmp(head, "node-a") == 0 ? fx.agent : c;
    void *other = hs == fx.agent ? c : fx.agent;
    r = fx_expect(&fx, other, DROVER__ENVELOPE__BODY_TASK_START);
    ck_assert_uint_ne(r->task_start->node_rank, 0);
    wire_free(&r);
    for (int i = 0; i < 5; i++)
        sched_run_once(fx.s, 5, -1);
    r = NULL;
    ck_assert_int_eq(wire_recv(hs, NULL, ZMQ_DONTWAIT, &r), DR_EAGAIN);
    wire_free(&r);
    ck_assert_int_eq(j->state, JOB_STARTING);
    /* the readiness barrier opens when both workers run */
    fx_report(&fx, b, id, DROVER__TASK_STATE__TASK_RUNNING, 0);
    fx_report(&fx, other, id, DROVER__TASK_STATE__TASK_RUNNING, 0);
    r = fx_expect(&fx, hs, DROVER__ENVELOPE__BODY_TASK_START);
    ck_assert_uint_eq(r->task_start->node_rank, 0);
    ck_assert_str_eq(r->task_start->hosts[0], head);
    wire_free(&r);
    ck_assert_int_eq(j->state, JOB_STARTING);
    fx_report(&fx, hs, id, DROVER__TASK_STATE__TASK_RUNNING, 0);
    ck_assert_int_eq(j->state, JOB_RUNNING);

    /* launches: only from the head, only to a worker, fields checked */
    Drover__MpiLaunch ml = DROVER__MPI_LAUNCH__INIT;
    ml.job_id = id;
    ml.attempt = 1;
    ml.launch_id = 7;
    ml.node = "node-b";
    ml.command = "orted -mca ess env";
    env.body_case = DROVER__ENVELOPE__BODY_MPI_LAUNCH;
    env.mpi_launch = &ml;
    ck_assert_int_eq(wire_send(b, NULL, &env), 0); /* not the head */
    r = fx_expect(&fx, b, DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO);
    ck_assert(r->mpi_launch_io->exited);
    ck_assert_int_eq(r->mpi_launch_io->exit_code, 255);
    ck_assert_ptr_nonnull(strstr(r->mpi_launch_io->error, "as its head"));
    wire_free(&r);
    ml.node = "node-z";
    ck_assert_int_eq(wire_send(hs, NULL, &env), 0);
    r = fx_expect(&fx, hs, DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO);
    ck_assert_ptr_nonnull(strstr(r->mpi_launch_io->error, "not a worker"));
    wire_free(&r);
    ml.node = "bad/name";
    fx_expect_error(&fx, hs, &env, DR_EINVAL, "mpi_launch");
    ml.node = "node-b";
    ml.launch_id = 0;
    fx_expect_error(&fx, hs, &env, DR_EINVAL, "mpi_launch");
    ml.launch_id = 7;
    ml.command = "";
    fx_expect_error(&fx, hs, &env, DR_EINVAL, "mpi_launch");
    ml.command = "orted -mca ess env";
    ck_assert_int_eq(wire_send(hs, NULL, &env), 0);
    r = fx_expect(&fx, b, DROVER__ENVELOPE__BODY_MPI_LAUNCH);
    ck_assert_str_eq(r->mpi_launch->node, head);
    ck_assert_str_eq(r->mpi_launch->command, "orted -mca ess env");
    ck_assert_uint_eq(r->mpi_launch->launch_id, 7);
    wire_free(&r);
    /* the worker's output and end go back to the head */
    Drover__MpiLaunchIo io = DROVER__MPI_LAUNCH_IO__INIT;
    io.job_id = id;
    io.attempt = 1;
    io.launch_id = 7;
    io.data.data = (uint8_t *)"daemon up\n";
    io.data.len = 10;
    env.body_case = DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO;
    env.mpi_launch_io = &io;
    ck_assert_int_eq(wire_send(b, NULL, &env), 0);
    r = fx_expect(&fx, hs, DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO);
    ck_assert_str_eq(r->mpi_launch_io->node, "node-b");
    ck_assert_uint_eq(r->mpi_launch_io->data.len, 10);
    wire_free(&r);
    io.stream = 9;
    fx_expect_error(&fx, b, &env, DR_EINVAL, "mpi_launch_io");
    io.stream = 0;
    io.launch_id = 0;
    fx_expect_error(&fx, b, &env, DR_EINVAL, "mpi_launch_io");

    /* one worker done well, the other fails: mpirun gets its grace to
     * notice and end; the job fails with both reasons */
    fx_report(&fx, other, id, DROVER__TASK_STATE__TASK_EXITED, 0);
    ck_assert_int_eq(j->state, JOB_RUNNING);
    fx_report(&fx, b, id, DROVER__TASK_STATE__TASK_EXITED, 1);
    ck_assert_ptr_nonnull(sched_job_find(fx.s, id));
    ck_assert_ptr_nonnull(j->fail_reason);
    fx_report(&fx, hs, id, DROVER__TASK_STATE__TASK_EXITED, 205);
    ck_assert_ptr_null(sched_job_find(fx.s, id));
    store_job_t row;
    ck_assert_int_eq(store_job_get(fx.s->store, id, &row), 0);
    ck_assert_str_eq(row.state, "failed");
    ck_assert_int_eq(row.exit_code, 205);
    ck_assert_ptr_nonnull(strstr(row.reason, "node node-b (node rank"));
    ck_assert_ptr_nonnull(strstr(row.reason, "exited with code 1; then"));
    ck_assert_ptr_nonnull(strstr(row.reason, "mpirun exited with code 205"));
    ck_assert_ptr_nonnull(strstr(row.node_names, "node-b"));
    store_job_clear(&row);
    ck_assert_uint_eq(sched_node_find(fx.s, "node-a")->cpus_used, 0);
    ck_assert_uint_eq(sched_node_find(fx.s, "node-b")->cpus_used, 0);
    ck_assert_uint_eq(sched_node_find(fx.s, "node-c")->cpus_used, 0);
    zmq_close(b);
    zmq_close(c);
    fx_teardown(&fx);
}
END_TEST

/* A worker that never gets its task running: the head is never started,
 * and the attempt ends at the start timeout with that node named. */
/* Cluster c1 with node-a (fx->agent) and node-b (returned in *b), and a
 * 2-node MPI job placed on them; *hs and *ws are the head's and the
 * worker's sockets. */
static uint64_t fx_two_node_gang(fx_t *fx, void **b, void **hs, void **ws)
{
    fx_cluster(fx, "c1", "Standard_D2_v2", 0, 2);
    *b = fx_dealer(fx, fx->opts.agent_endpoint, "node-b");
    fx_register_as(fx, fx->agent, "node-a", "c1", 2);
    fx_register_as(fx, *b, "node-b", "c1", 2);
    uint64_t id = fx_submit_mpi(fx, 2, 1);
    job_t *j = sched_job_find(fx->s, id);
    ck_assert_int_eq(j->state, JOB_STARTING);
    *hs = strcmp(job_head(j)->name, "node-a") == 0 ? fx->agent : *b;
    *ws = *hs == *b ? fx->agent : *b;
    return id;
}

START_TEST(test_gang_not_ready)
{
    fx_t fx;
    fx_setup_on(&fx, _i);
    fx.opts.start_timeout_ms = 300;
    sched_destroy(&fx.s);
    fx_open(&fx);
    void *b, *hs, *ws;
    uint64_t id = fx_two_node_gang(&fx, &b, &hs, &ws);
    dr_env_t env;
    dr_env_t *r;
    wire_env_init(&env, 0);
    const char *worker = hs == b ? "node-a" : "node-b";
    r = fx_expect(&fx, ws, DROVER__ENVELOPE__BODY_TASK_START);
    wire_free(&r);
    /* the worker never reports RUNNING; heartbeats keep both alive */
    int64_t until = dr_mono_ms() + 1500;
    while (sched_job_find(fx.s, id) && dr_mono_ms() < until) {
        Drover__Heartbeat hb = DROVER__HEARTBEAT__INIT;
        env.body_case = DROVER__ENVELOPE__BODY_HEARTBEAT;
        env.heartbeat = &hb;
        ck_assert_int_eq(wire_send(fx.agent, NULL, &env), 0);
        ck_assert_int_eq(wire_send(b, NULL, &env), 0);
        sched_run_once(fx.s, 20, -1);
        dr_env_t *m = NULL;
        while (wire_recv(hs, NULL, ZMQ_DONTWAIT, &m) == 0) {
            ck_assert_int_ne(m->body_case, DROVER__ENVELOPE__BODY_TASK_START);
            wire_free(&m);
        }
        wire_free(&m);
    }
    ck_assert_ptr_null(sched_job_find(fx.s, id));
    store_job_t row;
    ck_assert_int_eq(store_job_get(fx.s->store, id, &row), 0);
    ck_assert_str_eq(row.state, "failed");
    char want[96];
    snprintf(want, sizeof want, "node %s did not get its task running", worker);
    ck_assert_msg(strstr(row.reason, want), "reason '%s'", row.reason);
    store_job_clear(&row);
    zmq_close(b);
    fx_teardown(&fx);
}
END_TEST

/* A worker's failure waits for mpirun; when the attempt is requeued
 * instead (the head's task stopped by its node), the next attempt starts
 * clean. */
START_TEST(test_gang_requeue_clears_failure)
{
    fx_t fx;
    fx_setup(&fx);
    void *b, *hs, *ws;
    uint64_t id = fx_two_node_gang(&fx, &b, &hs, &ws);
    job_t *j = sched_job_find(fx.s, id);
    j->max_retries = 1;
    fx_report(&fx, ws, id, DROVER__TASK_STATE__TASK_RUNNING, 0);
    fx_report(&fx, hs, id, DROVER__TASK_STATE__TASK_RUNNING, 0);
    ck_assert_int_eq(j->state, JOB_RUNNING);
    fx_report(&fx, ws, id, DROVER__TASK_STATE__TASK_EXITED, 1);
    ck_assert_ptr_nonnull(j->fail_reason);
    fx_report(&fx, hs, id, DROVER__TASK_STATE__TASK_CANCELED, 0);
    ck_assert_ptr_eq(sched_job_find(fx.s, id), j);
    ck_assert_ptr_null(j->fail_reason);
    ck_assert_uint_eq(j->attempts, 2);
    ck_assert_int_eq(j->state, JOB_STARTING);
    zmq_close(b);
    fx_teardown(&fx);
}
END_TEST

/* A gang with GPUs: each node's task gets its own node's GPUs, the
 * assignment is stored per node and comes back after a restart. */
START_TEST(test_gang_gpus_restart)
{
    fx_t fx;
    fx_setup_on(&fx, _i);
    fx_cluster(&fx, "g", "Standard_NC12", 0, 2);
    void *b = fx_dealer(&fx, fx.opts.agent_endpoint, "node-b");
    void *socks[2] = {fx.agent, b};
    const char *names[2] = {"node-a", "node-b"};
    for (int k = 0; k < 2; k++) {
        Drover__GpuInfo g[2], *gp[2];
        char uuid[2][32];
        for (int i = 0; i < 2; i++) {
            drover__gpu_info__init(&g[i]);
            g[i].index = (uint32_t)i;
            snprintf(uuid[i], sizeof uuid[i], "GPU-%s-%d", names[k], i);
            g[i].uuid = uuid[i];
            g[i].healthy = 1;
            gp[i] = &g[i];
        }
        dr_env_t env;
        Drover__Register reg = DROVER__REGISTER__INIT;
        wire_env_init(&env, 0);
        reg.node_name = (char *)names[k];
        reg.cluster = "g";
        reg.cpus = 12;
        reg.memory_mb = 8192;
        reg.n_gpus = 2;
        reg.gpus = gp;
        env.body_case = DROVER__ENVELOPE__BODY_REGISTER;
        env.register_ = &reg;
        dr_env_t *r = fx_call(&fx, socks[k], &env);
        ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_REGISTER_ACK);
        wire_free(&r);
    }
    /* one GPU taken on node-a first: the gang's task there gets GPU 1 */
    uint64_t one = fx_submit_gpu(&fx, "g", 1, NULL);
    node_t *first = job_head(sched_job_find(fx.s, one));
    dr_env_t env;
    Drover__JobSubmit js = DROVER__JOB_SUBMIT__INIT;
    Drover__Job jm = DROVER__JOB__INIT;
    char *argv[] = {"train"};
    wire_env_init(&env, 0);
    jm.cluster = "g";
    jm.n_argv = 1;
    jm.argv = argv;
    jm.nodes = 2;
    jm.gpus = 1;
    js.job = &jm;
    env.body_case = DROVER__ENVELOPE__BODY_JOB_SUBMIT;
    env.job_submit = &js;
    dr_env_t *r = fx_call(&fx, fx.client, &env);
    uint64_t id = r->job_submit_reply->id;
    wire_free(&r);
    job_t *j = sched_job_find(fx.s, id);
    ck_assert_uint_eq(j->ntasks, 2);
    for (uint32_t i = 0; i < 2; i++) {
        ck_assert_uint_eq(j->tasks[i].n_gpu_idx, 1);
        ck_assert_uint_eq(j->tasks[i].gpu_idx[0],
                          j->tasks[i].node == first ? 1 : 0);
    }
    ck_assert_ptr_nonnull(strchr(j->gpu_assign, ';'));
    /* a plain (non-MPI) gang sends every node its TaskStart at once */
    for (int k = 0; k < 2; k++) {
        for (;;) {
            r = fx_expect(&fx, socks[k], DROVER__ENVELOPE__BODY_TASK_START);
            uint64_t got = r->task_start->job_id;
            if (got == id) {
                ck_assert_uint_eq(r->task_start->n_gpu_indices, 1);
                ck_assert_uint_eq(r->task_start->nodes, 2);
                ck_assert_str_eq(r->task_start->distribution, "");
            }
            wire_free(&r);
            if (got == id)
                break;
        }
    }
    uint32_t want[2] = {j->tasks[0].gpu_idx[0], j->tasks[1].gpu_idx[0]};
    char head[64];
    snprintf(head, sizeof head, "%s", job_head(j)->name);
    /* restart: bound to both nodes again, with the same GPUs */
    sched_destroy(&fx.s);
    fx_open(&fx);
    j = sched_job_find(fx.s, id);
    ck_assert_ptr_nonnull(j);
    ck_assert_uint_eq(j->ntasks, 2);
    ck_assert_str_eq(job_head(j)->name, head);
    for (uint32_t i = 0; i < 2; i++) {
        ck_assert_uint_eq(j->tasks[i].n_gpu_idx, 1);
        ck_assert_uint_eq(j->tasks[i].gpu_idx[0], want[i]);
    }
    /* the gang's cpu on each node, and the single job's */
    ck_assert_uint_eq(j->tasks[0].node->cpus_used + j->tasks[1].node->cpus_used,
                      3);
    zmq_close(b);
    fx_teardown(&fx);
}
END_TEST

/* A relative --state-dir is made absolute against the working directory
 * (its parent must exist); an unresolvable one is refused, named. */
START_TEST(test_config_state_dir)
{
    char tmpl[] = "/tmp/dr_statedir_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    char real[PATH_MAX], cwd[PATH_MAX];
    ck_assert_ptr_nonnull(realpath(tmpl, real));
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(real), 0);
    ck_assert_int_eq(mkdir("sub", 0755), 0);
    sched_opts_t o;
    char err[512], want[PATH_MAX + 32];
    struct {
        const char *arg, *tail;
    } ok[] = {{"state", "/state"},         {"./state/", "/state"},
              {"sub/state", "/sub/state"}, {"sub", "/sub"},
              {"sub/../state", "/state"},  {".", ""}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *av[] = {"x", "--state-dir", (char *)ok[i].arg};
        ck_assert_msg(config_parse_args(3, av, &o, err, sizeof err) == 0,
                      "%s: %s", ok[i].arg, err);
        snprintf(want, sizeof want, "%s%s", real, ok[i].tail);
        ck_assert_str_eq(o.state_dir, want);
    }
    char *bad[] = {"x", "--state-dir", "nosuch/parent/state"};
    ck_assert_int_eq(config_parse_args(3, bad, &o, err, sizeof err), DR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "state-dir 'nosuch/parent/state': "
                                      "cannot resolve its parent directory "
                                      "'nosuch/parent'"));
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_int_eq(rmdir(strcat(strcpy(want, real), "/sub")), 0);
    ck_assert_int_eq(rmdir(real), 0);
}
END_TEST

START_TEST(test_config)
{
    sched_opts_t o;
    char err[256];
    char *ok[] = {"x",
                  "--state-dir",
                  "/tmp/x",
                  "--heartbeat-timeout=45s",
                  "--autoscale-interval",
                  "200ms",
                  "--log-level",
                  "debug"};
    ck_assert_int_eq(config_parse_args(8, ok, &o, err, sizeof err), 0);
    ck_assert_str_eq(o.state_dir, "/tmp/x");
    ck_assert_int_eq(o.heartbeat_timeout_ms, 45000);
    ck_assert_int_eq(o.autoscale_interval_ms, 200);
    ck_assert_int_eq(o.heartbeat_interval_ms, 5000);
    ck_assert_str_eq(o.client_endpoint, "tcp://127.0.0.1:7701");
    ck_assert_str_eq(o.agent_connect, "tcp://127.0.0.1:7700");
    char *bad1[] = {"x", "--bogus", "1"};
    ck_assert_int_eq(config_parse_args(3, bad1, &o, err, sizeof err),
                     DR_EINVAL);
    ck_assert(strstr(err, "unknown option '--bogus'"));
    char *bad2[] = {"x", "--heartbeat-timeout", "-3s"};
    ck_assert_int_eq(config_parse_args(3, bad2, &o, err, sizeof err),
                     DR_EINVAL);
    char *bad3[] = {"x", "--state-dir"};
    ck_assert_int_eq(config_parse_args(2, bad3, &o, err, sizeof err),
                     DR_EINVAL);
    ck_assert(strstr(err, "needs a value"));
    char *bad4[] = {"x", "--heartbeat-interval", "40s"};
    ck_assert_int_eq(config_parse_args(3, bad4, &o, err, sizeof err),
                     DR_EINVAL);
    ck_assert(strstr(err, "must exceed"));
    char *bad5[] = {"x", "--log-level", "loud"};
    ck_assert_int_eq(config_parse_args(3, bad5, &o, err, sizeof err),
                     DR_EINVAL);
    config_defaults(&o);
    ck_assert_int_eq(config_parse_text("# c\nstate_dir = /a\n"
                                       "heartbeat-timeout=1m\n",
                                       &o, err, sizeof err),
                     0);
    ck_assert_str_eq(o.state_dir, "/a");
    ck_assert_int_eq(o.heartbeat_timeout_ms, 60000);
    ck_assert_int_eq(config_parse_text("nonsense\n", &o, err, sizeof err),
                     DR_EINVAL);
    ck_assert_str_eq(err, "line 1: expected key = value");
    ck_assert_int_eq(config_parse_text("\nfoo = 1\n", &o, err, sizeof err),
                     DR_EINVAL);
    ck_assert_str_eq(err, "line 2: unknown option 'foo'");
    /* the example shipped in deploy/ is valid */
    const char *src = getenv("DROVER_SOURCE_DIR");
    if (src) {
        char path[1024];
        snprintf(path, sizeof path, "%s/deploy/drover.conf.example", src);
        char *ex[] = {"x", "--config", path};
        ck_assert_int_eq(config_parse_args(3, ex, &o, err, sizeof err), 0);
        ck_assert_int_eq(o.heartbeat_timeout_ms, 30000);
    }
    char *missing[] = {"x", "--config", "/nonexistent.conf"};
    ck_assert_int_eq(config_parse_args(3, missing, &o, err, sizeof err),
                     DR_EINVAL);
}
END_TEST

/* One case per area, so that a failure names what broke. */
static TCase *s_case(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return tc;
}

/* JobSubmit.jobs: many jobs in one request, ids in order; one bad job
 * (or job and jobs both, an array, a dependency, an unknown cluster)
 * refuses the request and queues none of it. */
static dr_env_t *fx_submit_many(fx_t *fx, Drover__Job **jobs, size_t n,
                                Drover__Job *also)
{
    dr_env_t env;
    Drover__JobSubmit js = DROVER__JOB_SUBMIT__INIT;
    wire_env_init(&env, 0);
    js.jobs = jobs;
    js.n_jobs = n;
    js.job = also;
    env.body_case = DROVER__ENVELOPE__BODY_JOB_SUBMIT;
    env.job_submit = &js;
    return fx_call(fx, fx->client, &env);
}

static void fx_refused(fx_t *fx, Drover__Job **jobs, size_t n,
                       Drover__Job *also, const char *want)
{
    uint64_t next = fx_submit(fx, "m", 1, 0) + 1;
    dr_env_t *r = fx_submit_many(fx, jobs, n, also);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_ERROR);
    ck_assert_msg(strstr(r->error->message, want), "%s", r->error->message);
    wire_free(&r);
    ck_assert_ptr_null(sched_job_find(fx->s, next)); /* none of them */
}

START_TEST(test_submit_many)
{
    fx_t fx;
    fx_setup(&fx);
    fx_cluster(&fx, "m", "Standard_D2_v2", 0, 0);
    Drover__Job j[3], *jp[3];
    char *argv[3][3] = {
        {"sh", "-c", "echo 0"}, {"sh", "-c", "echo 1"}, {"sh", "-c", "echo 2"}};
    for (int i = 0; i < 3; i++) {
        drover__job__init(&j[i]);
        j[i].cluster = "m";
        j[i].argv = argv[i];
        j[i].n_argv = 3;
        jp[i] = &j[i];
    }
    j[2].cpus = 2;
    dr_env_t *r = fx_submit_many(&fx, jp, 3, NULL);
    ck_assert_int_eq(r->body_case, DROVER__ENVELOPE__BODY_JOB_SUBMIT_REPLY);
    ck_assert_uint_eq(r->job_submit_reply->n_ids, 3);
    for (int i = 0; i < 3; i++) {
        job_t *q = sched_job_find(fx.s, r->job_submit_reply->ids[i]);
        ck_assert_ptr_nonnull(q);
        ck_assert_int_eq(q->state, JOB_QUEUED);
        ck_assert_int_eq(q->cpus, i == 2 ? 2 : 1);
    }
    ck_assert_uint_eq(r->job_submit_reply->id, r->job_submit_reply->ids[0]);
    ck_assert_uint_eq(r->job_submit_reply->ids[2],
                      r->job_submit_reply->ids[0] + 2);
    wire_free(&r);

    fx_refused(&fx, jp, 3, &j[0], "give job or jobs, not both");
    j[1].cpus = 64; /* more than a Standard_D2_v2 has */
    fx_refused(&fx, jp, 3, NULL, "job 2 of 3: ");
    j[1].cpus = 1;
    j[1].cluster = "nope";
    fx_refused(&fx, jp, 3, NULL, "job 2 of 3: unknown cluster 'nope'");
    j[1].cluster = "m";
    j[2].array = "0-3";
    fx_refused(&fx, jp, 3, NULL, "job 3 of 3 is an array");
    j[2].array = NULL;
    j[0].dependency = "afterok:1";
    fx_refused(&fx, jp, 3, NULL, "job 1 of 3 has a dependency");
    j[0].dependency = NULL;
    fx_teardown(&fx);
}
END_TEST

Suite *sched_suite(void)
{
    Suite *s = suite_create("scheduler");
    TCase *tc = s_case(s, "store");
    tcase_add_loop_test(tc, test_store_roundtrip, 0, BACKENDS);
    tcase_add_loop_test(tc, test_store_limit_ms, 0, BACKENDS);
    tcase_add_loop_test(tc, test_store_logs, 0, BACKENDS);
    tcase_add_loop_test(tc, test_store_usage, 0, BACKENDS);
    tcase_add_test(tc, test_store_bad_dir);
    tcase_add_test(tc, test_store_pg_fencing);
    tcase_add_test(tc, test_queue_order);
    tc = s_case(s, "placement");
    tcase_add_test(tc, test_placement_priority_backfill);
    tcase_add_test(tc, test_placement_best_fit);
    tcase_add_test(tc, test_placement_pass_budget);
    tcase_add_test(tc, test_gpu_placement);
    tcase_add_test(tc, test_image_needs_docker);
    tc = s_case(s, "autoscaler");
    tcase_add_test(tc, test_autoscaler_demand);
    tcase_add_test(tc, test_quota_lock_preemption);
    tc = s_case(s, "identity");
    tcase_add_test(tc, test_identity_tokens);
    tc = s_case(s, "api");
    tcase_add_loop_test(tc, test_client_validation, 0, BACKENDS);
    tcase_add_test(tc, test_garbage_on_both_sockets);
    tcase_add_test(tc, test_agent_protocol_errors);
    tc = s_case(s, "lifecycle");
    tcase_add_loop_test(tc, test_job_lifecycle_and_restart, 0, BACKENDS);
    tcase_add_loop_test(tc, test_report_start_and_end_together, 0, BACKENDS);
    tc = s_case(s, "config");
    tcase_add_test(tc, test_config);
    tcase_add_test(tc, test_config_state_dir);
    tc = s_case(s, "gang");
    tcase_add_loop_test(tc, test_mpi_gang, 0, BACKENDS);
    tcase_add_loop_test(tc, test_tf_ports, 0, BACKENDS);
    tcase_add_loop_test(tc, test_gang_not_ready, 0, BACKENDS);
    tcase_add_loop_test(tc, test_gang_gpus_restart, 0, BACKENDS);
    tcase_add_test(tc, test_gang_requeue_clears_failure);
    tcase_add_test(tc, test_submit_many);
    return s;
}

/* A PostgreSQL server of the test's own (tests/pg/pg_server.sh) in a
 * temporary directory, for the tests that run on both backends. */
static int s_pg_start(char *dir, size_t cap)
{
    const char *src = getenv("DROVER_SOURCE_DIR");
    snprintf(dir, cap, "/tmp/drover-pgt-XXXXXX");
    if (!src || !mkdtemp(dir))
        return -1;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s/tests/pg/pg_server.sh' start '%s' >'%s.uri'",
             src, dir, dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "%s.uri", dir);
    FILE *f = fopen(cmd, "r");
    char uri[512] = "";
    if (!f || !fgets(uri, sizeof uri, f)) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    uri[strcspn(uri, "\n")] = '\0';
    return setenv("DROVER_TEST_PG", uri, 1);
}

static void s_pg_stop(const char *dir)
{
    const char *src = getenv("DROVER_SOURCE_DIR");
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "'%s/tests/pg/pg_server.sh' stop '%s' --kill; rm -rf '%s' "
             "'%s.uri'",
             src ? src : ".", dir, dir, dir);
    if (system(cmd) != 0)
        fprintf(stderr, "check_sched: could not stop PostgreSQL in %s\n", dir);
}

int main(void)
{
    log_init("check_sched", LOG_LVL_ERROR);
    char pgdir[256];
    if (s_pg_start(pgdir, sizeof pgdir) < 0) {
        fprintf(stderr, "check_sched: cannot start PostgreSQL for the "
                        "tests of the PostgreSQL store (is it installed? "
                        "deploy/install-deps.sh)\n");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(sched_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    s_pg_stop(pgdir);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
