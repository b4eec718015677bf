/* bench_curve.c - what CURVE costs: handshakes and heartbeat throughput.
 *
 * Two processes on this machine, plain libzmq over TCP on 127.0.0.1:
 *   server (a forked child): a ROUTER that sends every message it gets
 *     straight back to its sender; with CURVE it is a CURVE server in ZAP
 *     domain "agents" and answers ZAP requests itself from a REP socket on
 *     inproc://zeromq.zap.01 in the same poll loop, admitting only the
 *     client's public key with 200 and the key as User-Id -- what the
 *     scheduler does (scheduler/auth.c).  Without CURVE: the NULL
 *     mechanism and no ZAP, as drover-scheduler --insecure.
 *   client (this process): DEALER sockets, one key pair for all of them
 *     (an agent has one key).
 * Figures, not pass/fail:
 *   a. connections/s: N sequential {new DEALER, connect, one request and
 *      its reply, close}; the per-connection median and p99 too;
 *   b. heartbeats/s: 1 and then C established connections sending a real
 *      Drover__Heartbeat envelope (wire.h encoding: 23 bytes for a CPU
 *      node, ~110 more per GPU) as fast
 *      as they can for S seconds with W unanswered per connection, replies
 *      counted; and one connection in lock step (W = 1: round trips/s).
 *
 *   bench_curve [--connections N] [--conns C] [--seconds S] [--window W]
 *               [--gpus G]   (G GpuInfo entries in the heartbeat, 0..16)
 */
#include "keys.h"
#include "util.h"
#include "wire.h"

#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define ZAP_EP "inproc://zeromq.zap.01"

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* nearest-rank percentile of sorted v[0..n) */
static double s_pct(const double *v, size_t n, double p)
{
    size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

/* ---- server ------------------------------------------------------------ */

static void s_zap(void *zap, const char *client_pub)
{
    char f[8][256];
    int len[8] = {0}, nf = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, zap, 0) < 0)
            return;
        if (nf < 8) {
            size_t n = zmq_msg_size(&m);
            size_t c = n < 255 ? n : 255;
            memcpy(f[nf], zmq_msg_data(&m), c);
            f[nf][c] = '\0';
            len[nf++] = (int)n;
        }
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    const char *code = "400", *text = "unknown key";
    char user[DR_Z85_KEY_LEN + 1] = "";
    if (nf >= 7 && strcmp(f[5], "CURVE") == 0 && len[6] == 32 &&
        zmq_z85_encode(user, (const uint8_t *)f[6], 32) &&
        strcmp(user, client_pub) == 0) {
        code = "200";
        text = "OK";
    } else {
        user[0] = '\0';
    }
    zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(zap, nf > 1 ? f[1] : "", nf > 1 ? (size_t)len[1] : 0, ZMQ_SNDMORE);
    zmq_send(zap, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(zap, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(zap, "", 0, 0);
}

/* Runs in the child; writes the bound port to fd, never returns. */
static void s_server(int curve, const dr_keypair_t *skp, const char *client_pub,
                     int fd)
{
    void *ctx = zmq_ctx_new();
    void *zap = NULL;
    if (curve) {
        zap = zmq_socket(ctx, ZMQ_REP);
        if (zmq_bind(zap, ZAP_EP) < 0)
            _exit(3);
    }
    void *r = zmq_socket(ctx, ZMQ_ROUTER);
    int hwm = 100000, zero = 0, one = 1;
    zmq_setsockopt(r, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(r, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(r, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(r, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    if (curve && keys_apply_server(r, skp, "agents") < 0)
        _exit(3);
    if (zmq_bind(r, "tcp://127.0.0.1:*") < 0)
        _exit(3);
    char ep[256];
    size_t epl = sizeof ep;
    zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &epl);
    if (write(fd, ep, strlen(ep) + 1) < 0)
        _exit(3);
    close(fd);
    zmq_pollitem_t it[2] = {{r, 0, ZMQ_POLLIN, 0}, {zap, 0, ZMQ_POLLIN, 0}};
    for (;;) {
        if (zmq_poll(it, zap ? 2 : 1, -1) < 0)
            continue;
        if (zap && (it[1].revents & ZMQ_POLLIN)) {
            while (zmq_poll(&it[1], 1, 0) > 0)
                s_zap(zap, client_pub);
        }
        if (!(it[0].revents & ZMQ_POLLIN))
            continue;
        /* echo whatever is waiting: [rid][payload] back to rid */
        for (int k = 0; k < 4096; k++) {
            zmq_msg_t id, body;
            zmq_msg_init(&id);
            if (zmq_msg_recv(&id, r, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&id);
                break;
            }
            zmq_msg_init(&body);
            zmq_msg_recv(&body, r, 0);
            while (zmq_msg_more(&body)) { /* one payload frame expected */
                zmq_msg_close(&body);
                zmq_msg_init(&body);
                zmq_msg_recv(&body, r, 0);
            }
            if (zmq_msg_send(&id, r, ZMQ_SNDMORE) < 0 ||
                zmq_msg_send(&body, r, 0) < 0) {
                zmq_msg_close(&id);
                zmq_msg_close(&body);
            }
        }
    }
}

typedef struct {
    pid_t pid;
    char ep[256];
} server_t;

static int s_server_start(server_t *s, int curve, const dr_keypair_t *skp,
                          const char *client_pub)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the client */
        if (getppid() == 1)
            _exit(0);
        close(p[0]);
        s_server(curve, skp, client_pub, p[1]);
        _exit(0);
    }
    close(p[1]);
    ssize_t n = read(p[0], s->ep, sizeof s->ep - 1);
    close(p[0]);
    if (n <= 0)
        return -1;
    s->ep[n] = '\0';
    return 0;
}

static void s_server_stop(server_t *s)
{
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
}

/* ---- client ------------------------------------------------------------ */

typedef struct {
    void *ctx;
    int curve;
    const dr_keypair_t *ckp;
    const char *server_pub;
    const char *ep;
} client_t;

static void *s_dealer(client_t *c)
{
    void *d = zmq_socket(c->ctx, ZMQ_DEALER);
    int zero = 0, hwm = 100000;
    zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(d, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(d, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (c->curve && keys_apply_client(d, c->ckp, c->server_pub) < 0) {
        fprintf(stderr, "bench_curve: keys_apply_client failed\n");
        exit(1);
    }
    if (zmq_connect(d, c->ep) < 0) {
        fprintf(stderr, "bench_curve: connect %s: %s\n", c->ep,
                zmq_strerror(zmq_errno()));
        exit(1);
    }
    return d;
}

/* a real heartbeat envelope, encoded once; a GPU node's carries every
 * GPU's full GpuInfo (agent.c fills them in each heartbeat) */
static size_t s_heartbeat(unsigned char *buf, size_t cap, int ngpus)
{
    dr_env_t env;
    Drover__Heartbeat hb = DROVER__HEARTBEAT__INIT;
    Drover__GpuInfo g[16], *gp[16];
    char uuid[16][48];
    for (int i = 0; i < ngpus; i++) {
        drover__gpu_info__init(&g[i]);
        snprintf(uuid[i], sizeof uuid[i], "GPU-3f8a1c2e-7b4d-4e91-a0c5-%012d",
                 i);
        g[i].index = (uint32_t)i;
        g[i].uuid = uuid[i];
        g[i].name = "NVIDIA A100-SXM4-80GB";
        g[i].memory_total_mb = 81920;
        g[i].memory_used_mb = 40960;
        g[i].utilization_gpu = 87;
        g[i].utilization_memory = 45;
        g[i].temperature_c = 61;
        g[i].power_mw = 312000;
        g[i].power_limit_mw = 400000;
        g[i].healthy = 1;
        gp[i] = &g[i];
    }
    hb.n_gpus = (size_t)ngpus;
    hb.gpus = gp;
    wire_env_init(&env, 123456);
    hb.running_tasks = 3;
    hb.cpu_load_milli = 1500;
    hb.memory_used_mb = 12345;
    hb.seq = 987654321;
    env.body_case = DROVER__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    size_t n = drover__envelope__get_packed_size(&env);
    if (n > cap)
        exit(1);
    drover__envelope__pack(&env, buf);
    return n;
}

static void s_handshakes(client_t *c, int n, const unsigned char *msg,
                         size_t len)
{
    double *lat = dr_calloc((size_t)n, sizeof *lat);
    char buf[4096];
    double t0 = s_now();
    for (int i = 0; i < n; i++) {
        double a = s_now();
        void *d = s_dealer(c);
        zmq_send(d, msg, len, 0);
        zmq_pollitem_t it = {d, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 10000) <= 0 ||
            zmq_recv(d, buf, sizeof buf, 0) < 0) {
            fprintf(stderr, "bench_curve: no reply in 10 s (connection %d)\n",
                    i);
            exit(1);
        }
        zmq_close(d);
        lat[i] = s_now() - a;
    }
    double secs = s_now() - t0;
    qsort(lat, (size_t)n, sizeof *lat, s_cmp_d);
    printf("  connect + 1 request/reply + close: %d in %.2f s = %.0f "
           "connections/s; per connection median %.2f ms, p99 %.2f ms\n",
           n, secs, n / secs, s_pct(lat, (size_t)n, 50) * 1e3,
           s_pct(lat, (size_t)n, 99) * 1e3);
    free(lat);
}

/* nconn established connections, window unanswered each, for secs. */
static double s_throughput(client_t *c, int nconn, int window, double secs,
                           const unsigned char *msg, size_t len)
{
    void **d = dr_calloc((size_t)nconn, sizeof *d);
    int *out = dr_calloc((size_t)nconn, sizeof *out);
    zmq_pollitem_t *it = dr_calloc((size_t)nconn, sizeof *it);
    char buf[4096];
    for (int i = 0; i < nconn; i++) {
        d[i] = s_dealer(c);
        it[i] = (zmq_pollitem_t){d[i], 0, ZMQ_POLLIN, 0};
    }
    /* establish every connection (handshake done) before timing */
    for (int i = 0; i < nconn; i++) {
        zmq_send(d[i], msg, len, 0);
        zmq_pollitem_t one = {d[i], 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&one, 1, 10000) <= 0) {
            fprintf(stderr, "bench_curve: connection %d not up in 10 s\n", i);
            exit(1);
        }
        zmq_recv(d[i], buf, sizeof buf, 0);
    }
    long replies = 0;
    double t0 = s_now(), end = t0 + secs;
    while (s_now() < end) {
        for (int i = 0; i < nconn; i++) {
            while (out[i] < window) {
                if (zmq_send(d[i], msg, len, ZMQ_DONTWAIT) < 0)
                    break;
                out[i]++;
            }
        }
        if (zmq_poll(it, nconn, 100) <= 0)
            continue;
        for (int i = 0; i < nconn; i++) {
            if (!(it[i].revents & ZMQ_POLLIN))
                continue;
            while (zmq_recv(d[i], buf, sizeof buf, ZMQ_DONTWAIT) >= 0) {
                out[i]--;
                replies++;
            }
        }
    }
    double el = s_now() - t0;
    for (int i = 0; i < nconn; i++)
        zmq_close(d[i]);
    free(d);
    free(out);
    free(it);
    return (double)replies / el;
}

static int s_usage(void)
{
    fprintf(stderr, "usage: bench_curve [--connections N] [--conns C] "
                    "[--seconds S] [--window W] [--gpus G]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int64_t nconnect = 500, conns = 100, seconds = 3, window = 16, gpus = 0;
    for (int i = 1; i < argc; i++) {
        int64_t *dst = NULL;
        if (strcmp(argv[i], "--connections") == 0)
            dst = &nconnect;
        else if (strcmp(argv[i], "--conns") == 0)
            dst = &conns;
        else if (strcmp(argv[i], "--seconds") == 0)
            dst = &seconds;
        else if (strcmp(argv[i], "--window") == 0)
            dst = &window;
        else if (strcmp(argv[i], "--gpus") == 0)
            dst = &gpus;
        if (!dst || i + 1 >= argc ||
            dr_parse_i64(argv[++i], dst == &gpus ? 0 : 1,
                         dst == &gpus ? 16 : 100000, dst) < 0)
            return s_usage();
    }
    if (!zmq_has("curve")) {
        fprintf(stderr, "bench_curve: this libzmq has no CURVE\n");
        return 1;
    }
    dr_keypair_t skp, ckp;
    if (keys_generate(&skp) < 0 || keys_generate(&ckp) < 0)
        return 1;
    unsigned char msg[4096];
    size_t len = s_heartbeat(msg, sizeof msg, (int)gpus);
    int maj, min, pat;
    zmq_version(&maj, &min, &pat);
    printf("== bench_curve: libzmq %d.%d.%d, %ld cores, TCP on 127.0.0.1, "
           "server and client in two processes; heartbeat envelope %zu "
           "bytes (%d GPUs)\n",
           maj, min, pat, sysconf(_SC_NPROCESSORS_ONLN), len, (int)gpus);
    double tp[2][3];
    for (int curve = 0; curve <= 1; curve++) {
        server_t srv;
        if (s_server_start(&srv, curve, &skp, ckp.public_z85) < 0) {
            fprintf(stderr, "bench_curve: server did not start\n");
            return 1;
        }
        client_t c = {zmq_ctx_new(), curve, &ckp, skp.public_z85, srv.ep};
        printf("-- %s\n", curve ? "CURVE (+ ZAP handler admitting the key)"
                                : "NULL (no security, no ZAP)");
        s_handshakes(&c, (int)nconnect, msg, len);
        tp[curve][0] = s_throughput(&c, 1, 1, (double)seconds, msg, len);
        printf("  1 connection, lock step (1 in flight): %.0f round trips/s\n",
               tp[curve][0]);
        tp[curve][1] =
            s_throughput(&c, 1, (int)window, (double)seconds, msg, len);
        printf("  1 connection, %d in flight: %.0f heartbeats/s\n", (int)window,
               tp[curve][1]);
        tp[curve][2] = s_throughput(&c, (int)conns, (int)window,
                                    (double)seconds, msg, len);
        printf("  %d connections, %d in flight each: %.0f heartbeats/s\n",
               (int)conns, (int)window, tp[curve][2]);
        zmq_ctx_term(c.ctx);
        s_server_stop(&srv);
    }
    printf("-- CURVE / NULL throughput: lock step %.2f, 1 conn %.2f, %d "
           "conns %.2f\n",
           tp[1][0] / tp[0][0], tp[1][1] / tp[0][1], (int)conns,
           tp[1][2] / tp[0][2]);
    printf("   (a heartbeat every 5 s from 1,000 nodes is 200 messages/s)\n");
    return 0;
}
