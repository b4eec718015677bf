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
#include "dr_err.h"
#include "endpoints.h"
#include "keys.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

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
    if (keys_apply_client(ctx->sock, &me, srv.public_z85) < 0)
        return cli_fail(ctx, DR_EIO, "cannot set CURVE options: %s",
                        zmq_strerror(errno));
    return 0;
}

static int s_connect(cli_ctx_t *ctx)
{
    if (ctx->sock)
        return 0;
    ctx->zctx = zmq_ctx_new();
    if (!ctx->zctx)
        return cli_fail(ctx, DR_EIO, "cannot create a zmq context: %s",
                        zmq_strerror(errno));
    ctx->sock = zmq_socket(ctx->zctx, ZMQ_DEALER);
    if (!ctx->sock)
        return cli_fail(ctx, DR_EIO, "cannot create a zmq socket: %s",
                        zmq_strerror(errno));
    int linger = 0;
    if (zmq_setsockopt(ctx->sock, ZMQ_LINGER, &linger, sizeof linger) < 0)
        return cli_fail(ctx, DR_EIO, "cannot set ZMQ_LINGER: %s",
                        zmq_strerror(errno));
    char id[32];
    snprintf(id, sizeof id, "cli-%016llx", (unsigned long long)s_random_u64());
    if (zmq_setsockopt(ctx->sock, ZMQ_ROUTING_ID, id, strlen(id)) < 0)
        return cli_fail(ctx, DR_EIO, "cannot set ZMQ_ROUTING_ID: %s",
                        zmq_strerror(errno));
    char ep[512];
    if (dr_ep_get(ctx->endpoint, ctx->ep, ep, sizeof ep) < 0)
        return cli_fail(ctx, DR_EINVAL, "cannot connect to '%s'",
                        ctx->endpoint);
    /* the local socket needs no key: the kernel tells the scheduler who
     * this is (SO_PEERCRED); its file must be there, or nothing would
     * answer until the timeout */
    int local = strncmp(ep, "ipc://", 6) == 0;
    struct stat st;
    const char *why = !local                  ? NULL
                      : stat(ep + 6, &st) < 0 ? strerror(errno)
                      : !S_ISSOCK(st.st_mode) ? "not a socket"
                                              : NULL;
    if (why)
        return cli_fail(ctx, DR_ENOENT,
                        "no scheduler socket at %s (%s): is drover-scheduler "
                        "running with that --local-socket?",
                        ep + 6, why);
    int rc = local ? 0 : s_apply_keys(ctx);
    if (rc < 0)
        return rc;
    if (zmq_connect(ctx->sock, ep) < 0)
        return cli_fail(ctx, DR_EINVAL, "cannot connect to '%s': %s",
                        ctx->endpoint, zmq_strerror(errno));
    if (ctx->next_rid == 0)
        ctx->next_rid = s_random_u64();
    return 0;
}

void cli_disconnect(cli_ctx_t *ctx)
{
    if (ctx->sock) {
        zmq_close(ctx->sock);
        ctx->sock = NULL;
    }
    if (ctx->zctx) {
        while (zmq_ctx_term(ctx->zctx) < 0 && errno == EINTR)
            ;
        ctx->zctx = NULL;
    }
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
    if (ctx->insecure)
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
    rc = wire_call(ctx->sock, req, ctx->timeout_ms, &rep);
    if (rc == DR_ETIMEOUT || rc == DR_EAGAIN)
        return s_timeout(ctx);
    if (rc == DR_EVERSION)
        return cli_fail(ctx, rc,
                        "scheduler at %s speaks another protocol version "
                        "(this client speaks %d)",
                        ctx->endpoint, DR_PROTO_VERSION);
    if (rc < 0)
        return cli_fail(ctx, rc, "talking to scheduler at %s: %s",
                        ctx->endpoint, dr_strerror(rc));
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
