/* bench_submit.c - submission throughput and submit->running latency.
 *
 * Talks to a running drover-scheduler like the CLI does (one DEALER, many
 * requests in flight), then reads the scheduler's database (read-only) for
 * each job's submitted_at and started_at.  Prints figures; it is not a
 * pass/fail test.  tests/bench/run_bench.sh sets up the scheduler and the
 * simulated nodes.
 *
 *   bench_submit --scheduler EP --cluster NAME --db PATH [--jobs N]
 *                [--inflight K] [--duration S] [--no-wait]
 */
#include "util.h"
#include "wire.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

typedef struct {
    const char *endpoint;
    const char *cluster;
    const char *db;
    long jobs;
    long inflight;
    const char *duration;
    int wait;
} bench_opts_t;

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int s_usage(void)
{
    fprintf(stderr, "usage: bench_submit --scheduler EP --cluster NAME --db "
                    "PATH [--jobs N] [--inflight K] [--duration S] "
                    "[--no-wait]\n");
    return 2;
}

static int s_parse(int argc, char **argv, bench_opts_t *o)
{
    *o = (bench_opts_t){"tcp://127.0.0.1:7701", NULL, NULL, 10000, 256, "1", 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        if (strcmp(a, "--no-wait") == 0) {
            o->wait = 0;
            continue;
        }
        if (!v)
            return -1;
        i++;
        if (strcmp(a, "--scheduler") == 0)
            o->endpoint = v;
        else if (strcmp(a, "--cluster") == 0)
            o->cluster = v;
        else if (strcmp(a, "--db") == 0)
            o->db = v;
        else if (strcmp(a, "--duration") == 0)
            o->duration = v;
        else if (strcmp(a, "--jobs") == 0 &&
                 dr_parse_i64(v, 1, 10000000, &n) == 0)
            o->jobs = (long)n;
        else if (strcmp(a, "--inflight") == 0 &&
                 dr_parse_i64(v, 1, 100000, &n) == 0)
            o->inflight = (long)n;
        else
            return -1;
    }
    return o->cluster && o->db ? 0 : -1;
}

static int s_send_submit(void *sock, const bench_opts_t *o, uint64_t req)
{
    dr_env_t env;
    Drover__JobSubmit js = DROVER__JOB_SUBMIT__INIT;
    Drover__Job j = DROVER__JOB__INIT;
    char *argv[] = {"sleep", (char *)o->duration};
    char name[32];
    snprintf(name, sizeof name, "bench-%llu", (unsigned long long)req);
    wire_env_init(&env, req);
    j.cluster = (char *)o->cluster;
    j.name = name;
    j.n_argv = 2;
    j.argv = argv;
    j.cpus = 1;
    j.memory_mb = 256;
    js.job = &j;
    env.body_case = DROVER__ENVELOPE__BODY_JOB_SUBMIT;
    env.job_submit = &js;
    return wire_send(sock, NULL, &env);
}

/* Submits o->jobs jobs keeping o->inflight unanswered; returns acked. */
static long s_submit_all(void *sock, const bench_opts_t *o, double *secs)
{
    long sent = 0, acked = 0, errors = 0;
    int64_t t0 = dr_mono_ms();
    while (acked + errors < o->jobs) {
        while (sent < o->jobs && sent - acked - errors < o->inflight) {
            if (s_send_submit(sock, o, (uint64_t)sent + 1) < 0) {
                fprintf(stderr, "bench_submit: send failed\n");
                return -1;
            }
            sent++;
        }
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 10000) <= 0) {
            fprintf(stderr, "bench_submit: no answer for 10 s\n");
            return -1;
        }
        dr_env_t *r = NULL;
        while (wire_recv(sock, NULL, ZMQ_DONTWAIT, &r) == 0) {
            if (r->body_case == DROVER__ENVELOPE__BODY_JOB_SUBMIT_REPLY) {
                acked++;
            } else {
                if (errors++ < 3)
                    fprintf(stderr, "bench_submit: error: %s\n",
                            r->body_case == DROVER__ENVELOPE__BODY_ERROR
                                ? r->error->message
                                : "?");
            }
            wire_free(&r);
        }
        wire_free(&r);
    }
    *secs = (double)(dr_mono_ms() - t0) / 1000.0;
    return acked;
}

static int s_count(sqlite3 *db, const char *sql, long *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        *out = (long)sqlite3_column_int64(st, 0);
    else
        rc = SQLITE_ERROR;
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    bench_opts_t o;
    if (s_parse(argc, argv, &o) < 0)
        return s_usage();
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    char id[32];
    snprintf(id, sizeof id, "bench-%d", (int)getpid());
    int zero = 0, hwm = 1000000;
    zmq_setsockopt(sock, ZMQ_ROUTING_ID, id, strlen(id));
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_connect(sock, o.endpoint) < 0) {
        fprintf(stderr, "bench_submit: connect %s failed\n", o.endpoint);
        return 1;
    }
    double secs = 0;
    long acked = s_submit_all(sock, &o, &secs);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    if (acked < 0)
        return 1;
    printf("submissions: %ld acknowledged in %.2f s = %.0f jobs/s "
           "(%ld in flight, each durable before its reply)\n",
           acked, secs, (double)acked / secs, o.inflight);
    if (!o.wait)
        return 0;

    sqlite3 *db = NULL;
    if (sqlite3_open_v2(o.db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_submit: open %s: %s\n", o.db,
                sqlite3_errmsg(db));
        sqlite3_close(db);
        return 1;
    }
    sqlite3_busy_timeout(db, 5000);
    int64_t t0 = dr_mono_ms();
    long pending = 1;
    while (pending > 0) {
        if (s_count(db,
                    "SELECT count(*) FROM jobs WHERE name LIKE 'bench-%' AND "
                    "started_at = 0 AND state NOT IN "
                    "('succeeded','failed','canceled')",
                    &pending) < 0) {
            fprintf(stderr, "bench_submit: query failed: %s\n",
                    sqlite3_errmsg(db));
            sqlite3_close(db);
            return 1;
        }
        if (dr_mono_ms() - t0 > 600000) {
            fprintf(stderr, "bench_submit: %ld jobs never started\n", pending);
            sqlite3_close(db);
            return 1;
        }
        if (pending > 0)
            usleep(100000);
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT started_at - submitted_at FROM jobs WHERE "
                           "name LIKE 'bench-%' AND started_at > 0",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_submit: %s\n", sqlite3_errmsg(db));
        sqlite3_close(db);
        return 1;
    }
    size_t n = 0, cap = 1024;
    int64_t *lat = dr_malloc(cap * sizeof *lat);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap *= 2;
            lat = dr_realloc(lat, cap * sizeof *lat);
        }
        lat[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (n == 0) {
        fprintf(stderr, "bench_submit: no job started\n");
        free(lat);
        return 1;
    }
    qsort(lat, n, sizeof *lat, s_cmp_i64);
    printf("submit->running: %zu jobs, median %lld ms, p90 %lld ms, p99 %lld "
           "ms, max %lld ms\n",
           n, (long long)lat[n / 2], (long long)lat[n * 90 / 100],
           (long long)lat[n * 99 / 100], (long long)lat[n - 1]);
    free(lat);
    return 0;
}
