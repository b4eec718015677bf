/* cli_conn.c - the CLI's one connection to the scheduler.
 *
 * Owns the zmq context and the DEALER socket in cli_ctx_t; both are made on
 * the first request (so `drover version` and usage errors never touch the
 * network) and closed by cli_disconnect.  Each request gets the next id of a
 * random 64-bit sequence; wire_call drops stale replies to earlier ids.  The
 * socket has linger 0: a CLI that gave up on a scheduler must not hang on
 * exit.  The DEALER gets a printable routing id ("cli-" and 16 random hex
 * digits): the scheduler's ROUTER passes routing ids around as C strings
 * (wire_send uses strlen), and zmq's generated ids begin with a 0 byte.
 * The endpoint may be a comma-separated list (schedulers that share one
 * PostgreSQL): a standby's "not the leader, try ENDPOINT" and a scheduler
 * that does not answer move the request to another entry (the one named,
 * else the next), a bounded number of times.  A request that timed out
 * may have been done all the same by a scheduler that died after its
 * commit: then the retry does it twice (a submission gets a second job),
 * never zero times.
 * It never prints; failures are left in ctx->err.
 */
#include "cli.h"
#include "cli_zmq.h"
#include "dr_err.h"
#include "endpoints.h"
#include "keys.h"
#include "wire.h"
#include "zmtp.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t s_random_u64(void)
{
    uint64_t v = 0;
    ssize_t n = getrandom(&v, sizeof v, GRND_NONBLOCK);
    if (n != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
            ((uint64_t)getpid() << 16);
    }
    return v ? v : 1;
}

/* CURVE unless --insecure: our key pair from --key, DROVER_KEY or
 * DROVER_HOME/admin.key (the local admin of the embedded default); the
 * scheduler's public key from --scheduler-key, DROVER_SCHEDULER_KEY or
 * DROVER_HOME/scheduler.pub. */
static int s_apply_keys(cli_ctx_t *ctx)
{
    if (ctx->insecure)
        return 0;
    const char *home = ctx->home;
    char kpath[1024] = "", spath[1024] = "";
    if (ctx->key_file)
        snprintf(kpath, sizeof kpath, "%s", ctx->key_file);
    else if (home)
        snprintf(kpath, sizeof kpath, "%s/admin.key", home);
    if (!kpath[0])
        return cli_fail(ctx, DR_EPERM,
                        "no client key: set DROVER_HOME (the scheduler's "
                        "<state-dir>/keys) or DROVER_KEY and "
                        "DROVER_SCHEDULER_KEY, or use --insecure against a "
                        "scheduler started with --insecure");
    dr_keypair_t me, srv;
    char err[600];
    int rc = keys_load(kpath, &me, err, sizeof err);
    if (rc == 0 && !me.secret_z85[0])
        return cli_fail(ctx, DR_EINVAL, "%s holds no secret key", kpath);
    if (rc < 0)
        return cli_fail(ctx, rc, "%s", err);
    const char *sk = ctx->server_key;
    if (!sk && home) {
        snprintf(spath, sizeof spath, "%s/scheduler.pub", home);
        sk = spath;
    }
    if (!sk)
        return cli_fail(ctx, DR_EINVAL,
                        "no scheduler key: set DROVER_SCHEDULER_KEY or "
                        "--scheduler-key (FILE or Z85)");
    if ((rc = keys_public_arg(sk, srv.public_z85, err, sizeof err)) < 0)
        return cli_fail(ctx, rc, "%s", err);
    const cli_zmq_t *z = ctx->zmq;
    if (z->zmq_setsockopt(ctx->sock, ZMQ_CURVE_SERVERKEY, srv.public_z85,
                          DR_Z85_KEY_LEN) < 0 ||
        z->zmq_setsockopt(ctx->sock, ZMQ_CURVE_PUBLICKEY, me.public_z85,
                          DR_Z85_KEY_LEN) < 0 ||
        z->zmq_setsockopt(ctx->sock, ZMQ_CURVE_SECRETKEY, me.secret_z85,
                          DR_Z85_KEY_LEN) < 0)
        return cli_fail(ctx, DR_EIO, "cannot set CURVE options: %s",
                        z->zmq_strerror(errno));
    return 0;
}

static int s_timeout(cli_ctx_t *ctx);

/* The local socket: ZMTP spoken here (common/zmtp.h), no libzmq, no key:
 * the kernel tells the scheduler who this is (SO_PEERCRED).  A missing
 * file is said at once (a TCP endpoint would only time out). */
static int s_connect_local(cli_ctx_t *ctx, const char *ep, const char *id)
{
    const char *path = ep + strlen("ipc://");
    struct stat st;
    const char *why = stat(path, &st) < 0     ? strerror(errno)
                      : !S_ISSOCK(st.st_mode) ? "not a socket"
                                              : NULL;
    if (why)
        return cli_fail(ctx, DR_ENOENT,
                        "no scheduler socket at %s (%s): is drover-scheduler "
                        "running with that --local-socket?",
                        path, why);
    char err[512];
    int fd =
        zmtp_connect(path, id, dr_mono_ms() + ctx->timeout_ms, err, sizeof err);
    if (fd == DR_ETIMEOUT)
        return s_timeout(ctx);
    if (fd < 0)
        return cli_fail(ctx, fd, "cannot talk to the scheduler at %s: %s", ep,
                        err);
    ctx->fd = fd;
    return 0;
}

/* TCP: libzmq, loaded now (cli_zmq.h), a DEALER with CURVE. */
static int s_connect_zmq(cli_ctx_t *ctx, const char *ep, const char *id)
{
    char why[512];
    if (!ctx->zmq && !(ctx->zmq = cli_zmq_load(why, sizeof why)))
        return cli_fail(ctx, DR_EIO, "%s", why);
    const cli_zmq_t *z = ctx->zmq;
    ctx->zctx = z->zmq_ctx_new();
    if (!ctx->zctx)
        return cli_fail(ctx, DR_EIO, "cannot create a zmq context: %s",
                        z->zmq_strerror(errno));
    ctx->sock = z->zmq_socket(ctx->zctx, ZMQ_DEALER);
    if (!ctx->sock)
        return cli_fail(ctx, DR_EIO, "cannot create a zmq socket: %s",
                        z->zmq_strerror(errno));
    int linger = 0;
    if (z->zmq_setsockopt(ctx->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        z->zmq_setsockopt(ctx->sock, ZMQ_ROUTING_ID, id, strlen(id)) < 0)
        return cli_fail(ctx, DR_EIO, "cannot set socket options: %s",
                        z->zmq_strerror(errno));
    int rc = s_apply_keys(ctx);
    if (rc < 0)
        return rc;
    if (z->zmq_connect(ctx->sock, ep) < 0)
        return cli_fail(ctx, DR_EINVAL, "cannot connect to '%s': %s",
                        ctx->endpoint, z->zmq_strerror(errno));
    return 0;
}

static int s_connect(cli_ctx_t *ctx)
{
    if (ctx->sock || ctx->fd >= 0)
        return 0;
    char ep[512], id[32];
    if (dr_ep_get(ctx->endpoint, ctx->ep, ep, sizeof ep) < 0)
        return cli_fail(ctx, DR_EINVAL, "cannot connect to '%s'",
                        ctx->endpoint);
    snprintf(id, sizeof id, "cli-%016llx", (unsigned long long)s_random_u64());
    int rc = strncmp(ep, "ipc://", 6) == 0 ? s_connect_local(ctx, ep, id)
                                           : s_connect_zmq(ctx, ep, id);
    if (rc < 0)
        return rc;
    if (ctx->next_rid == 0)
        ctx->next_rid = s_random_u64();
    return 0;
}

void cli_disconnect(cli_ctx_t *ctx)
{
    if (ctx->fd >= 0) {
        (void)close(ctx->fd);
        ctx->fd = -1;
    }
    if (ctx->sock) {
        ctx->zmq->zmq_close(ctx->sock);
        ctx->sock = NULL;
    }
    if (ctx->zctx) {
        while (ctx->zmq->zmq_ctx_term(ctx->zctx) < 0 && errno == EINTR)
            ;
        ctx->zctx = NULL;
    }
    cli_zmq_unload(&ctx->zmq);
}

/* One message from whichever connection is open: 0 with the bytes in
 * out, DR_ETIMEOUT, or another error with why. */
static int s_recv(cli_ctx_t *ctx, dr_buf_t *out, int64_t deadline, char *why,
                  size_t cap)
{
    if (ctx->fd >= 0)
        return zmtp_recv(ctx->fd, out, DR_MAX_MSG_BYTES, deadline, why, cap);
    const cli_zmq_t *z = ctx->zmq;
    for (;;) {
        int64_t left = deadline - dr_mono_ms();
        if (left <= 0)
            return DR_ETIMEOUT;
        zmq_pollitem_t it = {ctx->sock, 0, ZMQ_POLLIN, 0};
        int n = z->zmq_poll(&it, 1, (long)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, cap, "%s", z->zmq_strerror(errno));
            return DR_EIO;
        }
        if (n == 0)
            continue;
        zmq_msg_t m;
        z->zmq_msg_init(&m);
        if (z->zmq_msg_recv(&m, ctx->sock, ZMQ_DONTWAIT) < 0) {
            int e = errno;
            z->zmq_msg_close(&m);
            if (e == EAGAIN)
                continue;
            snprintf(why, cap, "%s", z->zmq_strerror(e));
            return DR_EIO;
        }
        out->len = 0;
        dr_buf_append(out, z->zmq_msg_data(&m), z->zmq_msg_size(&m));
        z->zmq_msg_close(&m);
        return 0;
    }
}

/* Sends req and waits for the reply to its id (replies to earlier,
 * abandoned requests are dropped): wire_call, over either connection. */
static int s_exchange(cli_ctx_t *ctx, const dr_env_t *req, dr_env_t **reply,
                      char *why, size_t cap)
{
    *reply = NULL;
    size_t n = drover__envelope__get_packed_size(req);
    uint8_t *buf = dr_malloc(n ? n : 1);
    drover__envelope__pack(req, buf);
    int64_t deadline = dr_mono_ms() + ctx->timeout_ms;
    int rc;
    if (ctx->fd >= 0) {
        rc = zmtp_send(ctx->fd, buf, n, deadline, why, cap);
    } else {
        rc = ctx->zmq->zmq_send(ctx->sock, buf, n, ZMQ_DONTWAIT) < 0 ? DR_EIO
                                                                     : 0;
        if (rc < 0)
            snprintf(why, cap, "%s", ctx->zmq->zmq_strerror(errno));
    }
    free(buf);
    dr_buf_t in = {0};
    while (rc == 0) {
        if ((rc = s_recv(ctx, &in, deadline, why, cap)) < 0)
            break;
        dr_env_t *env = NULL;
        rc = wire_decode(in.data, in.len, &env);
        if (rc == 0 && env->request_id != req->request_id) {
            wire_free(&env);
            continue;
        }
        if (rc < 0) {
            if (rc != DR_EVERSION)
                snprintf(why, cap, "%s", dr_strerror(rc));
            wire_free(&env);
            break;
        }
        *reply = env;
        break;
    }
    dr_buf_free(&in);
    return rc;
}

/* "10 s", "0.5 s", for the timeout message. */
static void s_fmt_secs(char *buf, size_t len, int ms)
{
    if (ms % 1000 == 0)
        snprintf(buf, len, "%d s", ms / 1000);
    else
        snprintf(buf, len, "%g s", ms / 1000.0);
}

static int s_call_one(cli_ctx_t *ctx, dr_env_t *req, int want, dr_env_t **reply,
                      char *hint, size_t hint_cap);

/* "7701" of "tcp://host:7701", or "" */
static const char *s_port(const char *endpoint)
{
    const char *c = strrchr(endpoint, ':');
    return c && strncmp(endpoint, "tcp://", 6) == 0 ? c + 1 : "";
}

/* No answer.  CURVE gives a refused key no answer at all, so a dead
 * scheduler and a refused key look the same from here: say both, with
 * the commands that tell them apart. */
static int s_timeout(cli_ctx_t *ctx)
{
    char secs[32], keys[600];
    s_fmt_secs(secs, sizeof secs, ctx->timeout_ms);
    if (strncmp(ctx->endpoint, "ipc://", 6) == 0)
        snprintf(keys, sizeof keys,
                 "its local socket needs no key: the scheduler holding it "
                 "is stopped or stuck (its log says why)");
    else if (ctx->insecure)
        snprintf(keys, sizeof keys,
                 "this client runs with --insecure (DROVER_INSECURE=1): a "
                 "scheduler with CURVE (the default) does not answer it");
    else
        snprintf(keys, sizeof keys,
                 "this client's key (%s%s) or the scheduler key (%s%s) is not "
                 "that scheduler's: both come from its <state-dir>/keys "
                 "(export DROVER_HOME=<state-dir>/keys); its log says "
                 "'refused' for a key it does not know (journalctl -u "
                 "drover-scheduler | grep refused; after the quickstart: "
                 "grep refused .demo/scheduler.log)",
                 ctx->key_file ? ctx->key_file
                 : ctx->home   ? ctx->home
                               : "none",
                 !ctx->key_file && ctx->home ? "/admin.key" : "",
                 ctx->server_key ? ctx->server_key
                 : ctx->home     ? ctx->home
                                 : "none",
                 !ctx->server_key && ctx->home ? "/scheduler.pub" : "");
    const char *port = s_port(ctx->endpoint);
    return cli_fail(ctx, DR_ETIMEOUT,
                    "scheduler at %s did not answer within %s. Likely:\n"
                    "  - no scheduler listens there: check with "
                    "'pgrep -a drover-scheduler'%s%s%s, start it, or point "
                    "--scheduler / DROVER_SCHEDULER at it;\n"
                    "  - %s;\n"
                    "  - it is busy: wait longer with --timeout 30s "
                    "(or DROVER_TIMEOUT_MS).",
                    ctx->endpoint, secs, *port ? " and 'ss -ltn sport = :" : "",
                    port, *port ? "'" : "", keys);
}

int cli_call(cli_ctx_t *ctx, dr_env_t *req, int want, dr_env_t **reply)
{
    int n = dr_ep_count(ctx->endpoint);
    int tries = n > 1 ? 4 * n : 1;
    int rc = 0;
    for (int i = 0; i < tries; i++) {
        char hint[512] = "";
        rc = s_call_one(ctx, req, want, reply, hint, sizeof hint);
        if (n < 2 || (rc != DR_ENOTLEADER && rc != DR_ETIMEOUT))
            return rc;
        /* another scheduler: the leader the standby named, else the next;
         * a round without a leader (a takeover under way) waits a bit */
        int next = dr_ep_follow(ctx->endpoint, ctx->ep, hint);
        cli_disconnect(ctx);
        if (next <= ctx->ep && rc == DR_ENOTLEADER)
            cli_sleep_ms(300);
        ctx->ep = next;
    }
    return rc;
}

static int s_call_one(cli_ctx_t *ctx, dr_env_t *req, int want, dr_env_t **reply,
                      char *hint, size_t hint_cap)
{
    *reply = NULL;
    int rc = s_connect(ctx);
    if (rc < 0)
        return rc;
    req->version = DR_PROTO_VERSION;
    req->request_id = ctx->next_rid++;
    if (ctx->next_rid == 0)
        ctx->next_rid = 1;
    dr_env_t *rep = NULL;
    char why[512] = "";
    rc = s_exchange(ctx, req, &rep, why, sizeof why);
    if (rc == DR_ETIMEOUT || rc == DR_EAGAIN)
        return s_timeout(ctx);
    if (rc == DR_EVERSION)
        return cli_fail(ctx, rc,
                        "scheduler at %s speaks another protocol version "
                        "(this client speaks %d)",
                        ctx->endpoint, DR_PROTO_VERSION);
    if (rc < 0)
        return cli_fail(ctx, rc, "talking to scheduler at %s: %s",
                        ctx->endpoint, why[0] ? why : dr_strerror(rc));
    if (rep->body_case == DROVER__ENVELOPE__BODY_ERROR) {
        const Drover__Error *e = rep->error;
        if (e && e->code == DR_ENOTLEADER && e->leader)
            snprintf(hint, hint_cap, "%s", e->leader);
        rc = cli_fail(ctx, e && e->code < 0 ? e->code : DR_EIO, "%s",
                      e && e->message && *e->message ? e->message
                                                     : "scheduler error");
        wire_free(&rep);
        return rc;
    }
    if (want && (int)rep->body_case != want) {
        rc =
            cli_fail(ctx, DR_EPROTO,
                     "unexpected reply '%s' from scheduler (wanted '%s')",
                     wire_body_name((int)rep->body_case), wire_body_name(want));
        wire_free(&rep);
        return rc;
    }
    *reply = rep;
    return 0;
}

void cli_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}
