/* check_msi.c - unit tests of the managed-identity token endpoint:
 * the request parser, secrets, the JSON answers, the server alone (driven
 * by a poll loop here, with a fake `ask`), and the agent end to end against
 * a fake scheduler (a ROUTER socket answering TokenRequest). */
#include "agent.h"
#include "agent_cfg.h"
#include "dr_err.h"
#include "msi.h"
#include "util.h"
#include "wire.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

/* A TokenRequest the fake received, kept until the test answers it. */
#define S_FAKE_EXTRA dr_env_t *got;
#define S_FAKE_EXTRA_FREE(f) wire_free(&(f)->got)
#include "fake_sched.h"

/* ---- parser ----------------------------------------------------------------
 */

#define S_GOOD                                                                 \
    "GET /msi/token?resource=https%3A%2F%2Fstorage.example&api-version="       \
    "2019-08-01 HTTP/1.1\r\nHost: 127.0.0.1\r\n"                               \
    "X-IDENTITY-HEADER: 0123456789abcdef0123456789abcdef\r\n\r\n"

START_TEST(test_parse_good)
{
    msi_http_req_t r;
    ck_assert_int_eq(msi_parse(S_GOOD, strlen(S_GOOD), &r), 1);
    ck_assert_str_eq(r.method, "GET");
    ck_assert_str_eq(r.path, "/msi/token");
    ck_assert_str_eq(r.resource, "https://storage.example");
    ck_assert_str_eq(r.api_version, "2019-08-01");
    ck_assert_int_eq(r.has_secret, 1);
    ck_assert_str_eq(r.secret, "0123456789abcdef0123456789abcdef");
    ck_assert_uint_eq(r.length, strlen(S_GOOD));

    /* bare LFs, lower-case header name, no query, HTTP/1.0 */
    const char *b = "GET /x HTTP/1.0\nx-identity-header:  abc \n\n";
    ck_assert_int_eq(msi_parse(b, strlen(b), &r), 1);
    ck_assert_str_eq(r.path, "/x");
    ck_assert_str_eq(r.secret, "abc");
    ck_assert_str_eq(r.resource, "");
    /* unencoded resource, '+' as space, other params ignored */
    b = "GET /msi/token?x=1&resource=https://a.b/c+d&api-version=v HTTP/1.1"
        "\r\n\r\n";
    ck_assert_int_eq(msi_parse(b, strlen(b), &r), 1);
    ck_assert_str_eq(r.resource, "https://a.b/c d");
    ck_assert_int_eq(r.has_secret, 0);
}
END_TEST

START_TEST(test_parse_partial)
{
    msi_http_req_t r;
    size_t n = strlen(S_GOOD);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(msi_parse(S_GOOD, i, &r) == 0, "prefix %zu", i);
}
END_TEST

START_TEST(test_parse_bad)
{
    const char *bad[] = {
        "\r\n\r\n",
        "GET\r\n\r\n",
        "GET /msi/token\r\n\r\n",
        "GET /msi/token HTTP/2.0\r\n\r\n",
        "GET msi/token HTTP/1.1\r\n\r\n",
        "G(T /msi/token HTTP/1.1\r\n\r\n",
        "GET  /msi/token HTTP/1.1\r\n\r\n",
        "GET /msi/token HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET /msi/token HTTP/1.1\r\n: empty name\r\n\r\n",
        "GET /msi/token HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET /msi/token HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
        "GET /msi/token HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        "GET /msi/token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET /msi/token HTTP/1.1\r\nX-IDENTITY-HEADER: a\r\n"
        "X-IDENTITY-HEADER: b\r\n\r\n",
        "GET /msi/token?resource=%zz HTTP/1.1\r\n\r\n",
        "GET /msi/token?resource=%2 HTTP/1.1\r\n\r\n",
        "GET /msi/token?resource=a%00b HTTP/1.1\r\n\r\n",
        "GET /msi/token HTTP/1.1\r\nA: b\rc\r\n\r\n",
        "GET /msi/token HTTP/1.1\r\nA: \x01\r\n\r\n",
    };
    msi_http_req_t r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(msi_parse(bad[i], strlen(bad[i]), &r) == DR_EINVAL,
                      "case %zu accepted", i);
    const char nul[] = "GET /msi/token HTTP/1.1\r\nA: \0b\r\n\r\n";
    ck_assert_int_eq(msi_parse(nul, sizeof nul - 1, &r), DR_EINVAL);
    /* a resource over the limit */
    dr_buf_t b = {0};
    dr_buf_printf(&b, "GET /msi/token?resource=");
    for (int i = 0; i < MSI_RESOURCE_MAX; i++)
        dr_buf_printf(&b, "a");
    dr_buf_printf(&b, " HTTP/1.1\r\n\r\n");
    ck_assert_int_eq(msi_parse(b.data, b.len, &r), DR_EINVAL);
    dr_buf_free(&b);
}
END_TEST

START_TEST(test_parse_oversized)
{
    msi_http_req_t r;
    dr_buf_t b = {0};
    dr_buf_printf(&b, "GET /msi/token HTTP/1.1\r\n");
    while (b.len < MSI_MAX_HEADER - 10)
        dr_buf_printf(&b, "X-Pad: %s\r\n", "0123456789012345678901234567890");
    ck_assert_int_eq(msi_parse(b.data, b.len, &r), 0); /* no end yet */
    while (b.len < MSI_MAX_HEADER + 100)
        dr_buf_printf(&b, "X-Pad: %s\r\n", "0123456789012345678901234567890");
    ck_assert_int_eq(msi_parse(b.data, b.len, &r), DR_ETOOBIG);
    dr_buf_printf(&b, "\r\n"); /* a whole head, but too long */
    ck_assert_int_eq(msi_parse(b.data, b.len, &r), DR_ETOOBIG);
    dr_buf_free(&b);
}
END_TEST

/* ---- secrets and JSON -----------------------------------------------------
 */

START_TEST(test_secrets)
{
    char a[MSI_SECRET_LEN + 1], b[MSI_SECRET_LEN + 1];
    ck_assert_int_eq(msi_secret_new(a), 0);
    ck_assert_int_eq(msi_secret_new(b), 0);
    ck_assert_uint_eq(strlen(a), MSI_SECRET_LEN);
    ck_assert_uint_eq(strspn(a, "0123456789abcdef"), MSI_SECRET_LEN);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(msi_secret_eq(a, a), 1);
    ck_assert_int_eq(msi_secret_eq(a, b), 0);
    char c[MSI_SECRET_LEN + 1];
    memcpy(c, a, sizeof c);
    c[MSI_SECRET_LEN - 1] ^= 1;
    ck_assert_int_eq(msi_secret_eq(a, c), 0);
    c[MSI_SECRET_LEN - 1] = '\0';
    ck_assert_int_eq(msi_secret_eq(a, c), 0); /* prefix */
    ck_assert_int_eq(msi_secret_eq(a, ""), 0);
    ck_assert_int_eq(msi_secret_eq(a, NULL), 0);
    ck_assert_int_eq(msi_secret_eq(NULL, NULL), 0);
}
END_TEST

START_TEST(test_json)
{
    char *s = msi_json_token("tok", 1700000000, "https://r", "pid-1");
    json_error_t je;
    json_t *o = json_loads(s, 0, &je);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "access_token")),
                     "tok");
    ck_assert_str_eq(json_string_value(json_object_get(o, "expires_on")),
                     "1700000000");
    ck_assert_str_eq(json_string_value(json_object_get(o, "resource")),
                     "https://r");
    ck_assert_str_eq(json_string_value(json_object_get(o, "token_type")),
                     "Bearer");
    ck_assert_str_eq(json_string_value(json_object_get(o, "client_id")),
                     "pid-1");
    json_decref(o);
    free(s);
    s = msi_json_error("forbidden", "quote \" and \xff");
    o = json_loads(s, 0, &je);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "error")),
                     "forbidden");
    ck_assert_ptr_nonnull(json_object_get(o, "error_description"));
    json_decref(o);
    size_t n;
    char *r = msi_http_response(401, s, &n);
    ck_assert_uint_eq(n, strlen(r));
    ck_assert(strncmp(r, "HTTP/1.1 401 Unauthorized\r\n", 27) == 0);
    ck_assert_ptr_nonnull(strstr(r, "Connection: close\r\n"));
    ck_assert_ptr_nonnull(strstr(r, "\r\n\r\n{\"error\""));
    free(r);
    free(s);
}
END_TEST

/* ---- HTTP clients ---------------------------------------------------------
 */

static int s_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static int s_send_req(int port, const char *req)
{
    int fd = s_connect(port);
    ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    return fd;
}

typedef void(s_drive_fn)(void *arg);

/* Reads the answer on fd until EOF, driving the server in between.
 * Returns the HTTP status (0 = no answer, -1 = closed without one); the
 * body, when wanted, in *body (caller frees). */
static int s_answer(int fd, s_drive_fn *drive, void *arg, int timeout_ms,
                    char **body)
{
    dr_buf_t b = {0};
    int64_t end = dr_mono_ms() + timeout_ms;
    int eof = 0;
    while (!eof && dr_mono_ms() < end) {
        drive(arg);
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
            dr_buf_append(&b, buf, (size_t)n);
        if (n == 0 || (n < 0 && errno != EAGAIN))
            eof = 1;
    }
    close(fd);
    int status = 0;
    if (!eof)
        status = 0;
    else if (!b.len || sscanf(b.data, "HTTP/1.1 %d", &status) != 1)
        status = -1;
    if (body) {
        const char *p = b.len ? strstr(b.data, "\r\n\r\n") : NULL;
        *body = p ? dr_strdup(p + 4) : NULL;
    }
    dr_buf_free(&b);
    return status;
}

/* ---- the server alone -----------------------------------------------------
 */

typedef struct {
    msi_t *id;
    int asks;
    uint64_t job;
    uint32_t attempt;
    char resource[256];
    uint64_t next_rid;
} s_srv_t;

static uint64_t s_fake_ask(void *arg, uint64_t job, uint32_t attempt,
                           const char *resource)
{
    s_srv_t *s = arg;
    s->asks++;
    s->job = job;
    s->attempt = attempt;
    snprintf(s->resource, sizeof s->resource, "%s", resource);
    return ++s->next_rid;
}

static void s_srv_drive(void *arg)
{
    s_srv_t *s = arg;
    msi_tick(s->id, dr_mono_ms());
    size_t n = msi_nfds(s->id);
    struct pollfd pf[MSI_MAX_CONNS + 1];
    for (size_t i = 0; i < n; i++) {
        int r = 0, w = 0;
        pf[i].fd = msi_fd(s->id, i, &r, &w);
        pf[i].events = (short)((r ? POLLIN : 0) | (w ? POLLOUT : 0));
        pf[i].revents = 0;
    }
    poll(pf, (nfds_t)n, 10);
    for (size_t i = 0; i < n; i++)
        if (pf[i].revents)
            msi_on_fd(s->id, pf[i].fd,
                      !!(pf[i].revents & (POLLIN | POLLERR | POLLHUP)),
                      !!(pf[i].revents & POLLOUT));
}

static void s_drive_ms(s_srv_t *s, int ms)
{
    int64_t end = dr_mono_ms() + ms;
    while (dr_mono_ms() < end)
        s_srv_drive(s);
}

#define S_SECRET "00112233445566778899aabbccddeeff"
#define S_REQ(secret)                                                          \
    "GET /msi/token?resource=https://storage.example&api-version=2019-08-01 "  \
    "HTTP/1.1\r\nHost: x\r\nX-IDENTITY-HEADER: " secret "\r\n\r\n"

START_TEST(test_server_answers)
{
    s_srv_t s = {0};
    s.id = msi_new(0, s_fake_ask, &s);
    ck_assert_ptr_nonnull(s.id);
    int port = msi_port(s.id);
    ck_assert_int_gt(port, 0);
    char want[64];
    snprintf(want, sizeof want, "http://127.0.0.1:%d/msi/token", port);
    ck_assert_str_eq(msi_endpoint(s.id), want);
    msi_task_add(s.id, 42, 2, S_SECRET);

    char *body = NULL;
    /* wrong, missing header: 401, nobody asked */
    int fd = s_send_req(port, S_REQ("ffffffffffffffffffffffffffffffff"));
    ck_assert_int_eq(s_answer(fd, s_srv_drive, &s, 2000, &body), 401);
    ck_assert_ptr_nonnull(strstr(body, "\"error\""));
    free(body);
    fd = s_send_req(port, "GET /msi/token?api-version=2019-08-01 HTTP/1.1"
                          "\r\n\r\n");
    ck_assert_int_eq(s_answer(fd, s_srv_drive, &s, 2000, NULL), 401);
    ck_assert_int_eq(s.asks, 0);
    /* unknown path, malformed, bad api-version */
    fd = s_send_req(port, "GET /other HTTP/1.1\r\n\r\n");
    ck_assert_int_eq(s_answer(fd, s_srv_drive, &s, 2000, NULL), 404);
    fd = s_send_req(port, "BLAH\r\n\r\n");
    ck_assert_int_eq(s_answer(fd, s_srv_drive, &s, 2000, NULL), 400);
    fd = s_send_req(port, "GET /msi/token?api-version=1 HTTP/1.1\r\n"
                          "X-IDENTITY-HEADER: " S_SECRET "\r\n\r\n");
    ck_assert_int_eq(s_answer(fd, s_srv_drive, &s, 2000, NULL), 400);
    ck_assert_int_eq(s.asks, 0);
    /* oversized head: 400 */
    fd = s_connect(port);
    char pad[1024];
    memset(pad, 'a', sizeof pad);
    ssize_t sent = 0;
    for (int i = 0; i < 12; i++) {
        ssize_t w = write(fd, pad, sizeof pad);
        if (w > 0)
            sent += w;
        s_srv_drive(&s);
    }
    ck_assert_int_gt(sent, MSI_MAX_HEADER);
    ck_assert_int_eq(s_answer(fd, s_srv_drive, &s, 2000, NULL), 400);

    /* a good request: asked, then answered from the reply */
    fd = s_send_req(port, S_REQ(S_SECRET));
    s_drive_ms(&s, 100);
    ck_assert_int_eq(s.asks, 1);
    ck_assert_int_eq(s.job, 42);
    ck_assert_int_eq(s.attempt, 2);
    ck_assert_str_eq(s.resource, "https://storage.example");
    ck_assert_int_eq(msi_on_reply(s.id, 999, "x", 1, "", ""), 0);
    ck_assert_int_eq(
        msi_on_reply(s.id, s.next_rid, "tok", 1700000000, "r", "c"), 1);
    ck_assert_int_eq(s_answer(fd, s_srv_drive, &s, 2000, &body), 200);
    ck_assert_ptr_nonnull(strstr(body, "\"access_token\":\"tok\""));
    ck_assert_ptr_nonnull(strstr(body, "\"expires_on\":\"1700000000\""));
    free(body);
    /* ... a second reply finds nobody waiting */
    ck_assert_int_eq(msi_on_reply(s.id, s.next_rid, "t", 1, "", ""), 0);

    /* an Error reply: 403 for a permission error, 400 otherwise */
    fd = s_send_req(port, S_REQ(S_SECRET));
    s_drive_ms(&s, 100);
    ck_assert_int_eq(msi_on_error(s.id, s.next_rid, DR_EPERM,
                                  "cluster has no managed identity"),
                     1);
    ck_assert_int_eq(s_answer(fd, s_srv_drive, &s, 2000, &body), 403);
    ck_assert_ptr_nonnull(strstr(body, "cluster has no managed identity"));
    free(body);
    fd = s_send_req(port, S_REQ(S_SECRET));
    s_drive_ms(&s, 100);
    ck_assert_int_eq(msi_on_error(s.id, s.next_rid, DR_EINVAL, "bad"), 1);
    ck_assert_int_eq(s_answer(fd, s_srv_drive, &s, 2000, NULL), 400);

    /* the task ended: its secret is refused */
    msi_task_remove(s.id, 42, 2);
    msi_task_remove(s.id, 42, 2);
    int asks = s.asks;
    fd = s_send_req(port, S_REQ(S_SECRET));
    ck_assert_int_eq(s_answer(fd, s_srv_drive, &s, 2000, NULL), 401);
    ck_assert_int_eq(s.asks, asks);
    msi_destroy(&s.id);
    ck_assert_ptr_null(s.id);
    msi_destroy(NULL);
}
END_TEST

START_TEST(test_server_deadlines)
{
    s_srv_t s = {0};
    s.id = msi_new(0, s_fake_ask, &s);
    ck_assert_ptr_nonnull(s.id);
    int port = msi_port(s.id);
    msi_task_add(s.id, 7, 1, S_SECRET);
    /* many at once: slow clients (half a head) and one waiting for the
     * scheduler, while others are served */
    int slow[20];
    for (int i = 0; i < 20; i++)
        slow[i] = s_send_req(port, "GET /msi/token HTTP/1.1\r\nHost");
    int waiting = s_send_req(port, S_REQ(S_SECRET));
    s_drive_ms(&s, 100);
    ck_assert_int_eq(s.asks, 1);
    for (int i = 0; i < 5; i++) {
        int fd = s_send_req(port, "GET /nope HTTP/1.1\r\n\r\n");
        ck_assert_int_eq(s_answer(fd, s_srv_drive, &s, 2000, NULL), 404);
    }
    /* nobody answers: 504 after 5 s; the slow ones are just closed */
    int64_t t0 = dr_mono_ms();
    ck_assert_int_eq(s_answer(waiting, s_srv_drive, &s, 7000, NULL), 504);
    ck_assert_int_ge(dr_mono_ms() - t0, MSI_DEADLINE_MS - 200);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(s_answer(slow[i], s_srv_drive, &s, 1000, NULL), -1);
    s_drive_ms(&s, 50);
    ck_assert_uint_eq(msi_nfds(s.id), 1); /* all freed */
    msi_destroy(&s.id);
}
END_TEST

/* ---- the agent end to end ------------------------------------------------
 */

static void s_setup(void)
{
    s_dir_make("check-msi");
}

static void s_fake_start(s_fake_t *f)
{
    const char *a[] = {S_BASE, "--grace-ms", "300", NULL};
    s_fake_init(f, 0);
    s_fake_agent(f, a);
}

/* One agent pass; takes what the fake scheduler received: stdout is
 * collected, TaskUpdates acked, a TokenRequest kept in f->got. */
static void s_fake_drive(void *arg)
{
    s_fake_t *f = arg;
    ck_assert_int_ge(agent_step(f->agent, 10), 0);
    dr_env_t *env = NULL;
    while (wire_recv(f->router, f->rid, ZMQ_DONTWAIT, &env) == 0) {
        if (env->body_case == DROVER__ENVELOPE__BODY_TASK_OUTPUT) {
            dr_buf_append(&f->out[0], env->task_output->data.data,
                          env->task_output->data.len);
        } else if (env->body_case == DROVER__ENVELOPE__BODY_REGISTER) {
            s_register_ack(f, 0);
        } else if (env->body_case == DROVER__ENVELOPE__BODY_TOKEN_REQUEST) {
            wire_free(&f->got);
            f->got = env;
            env = NULL;
        }
        wire_free(&env);
    }
}

static void s_fake_token(s_fake_t *f, int error_code)
{
    dr_env_t env;
    wire_env_init(&env, f->got->request_id);
    Drover__TokenReply tr = DROVER__TOKEN_REPLY__INIT;
    Drover__Error e = DROVER__ERROR__INIT;
    if (error_code) {
        e.code = error_code;
        e.message = "cluster c1 has no managed identity";
        env.body_case = DROVER__ENVELOPE__BODY_ERROR;
        env.error = &e;
    } else {
        tr.access_token = "header.claims.sig";
        tr.expires_on = 1900000000;
        tr.resource = f->got->token_request->resource;
        tr.client_id = "principal-1";
        env.body_case = DROVER__ENVELOPE__BODY_TOKEN_REPLY;
        env.token_reply = &tr;
    }
    ck_assert_int_eq(wire_send(f->router, f->rid, &env), 0);
    wire_free(&f->got);
}

START_TEST(test_agent_end_to_end)
{
    s_fake_t f;
    s_fake_start(&f);
    int64_t end = dr_mono_ms() + 6000;
    while (!f.rid[0] && dr_mono_ms() < end)
        s_fake_drive(&f);
    ck_assert_str_eq(f.rid, "n1");
    for (int i = 0; i < 20; i++)
        s_fake_drive(&f);

    char *argv[] = {"sh", "-c",
                    "echo \"$IDENTITY_ENDPOINT $IDENTITY_HEADER\"; sleep 30"};
    dr_env_t env;
    Drover__TaskStart ts = DROVER__TASK_START__INIT;
    ts.job_id = 5;
    ts.attempt = 1;
    ts.argv = argv;
    ts.n_argv = 3;
    ts.cpus = 1;
    ts.nodes = 1;
    wire_env_init(&env, 50);
    env.body_case = DROVER__ENVELOPE__BODY_TASK_START;
    env.task_start = &ts;
    ck_assert_int_eq(wire_send(f.router, f.rid, &env), 0);
    end = dr_mono_ms() + 5000;
    while (!memchr(f.out[0].data ? f.out[0].data : "", '\n', f.out[0].len) &&
           dr_mono_ms() < end)
        s_fake_drive(&f);
    ck_assert_ptr_nonnull(f.out[0].data);
    int port = 0;
    char secret[64] = "";
    ck_assert_int_eq(sscanf(f.out[0].data, "http://127.0.0.1:%d/msi/token %63s",
                            &port, secret),
                     2);
    ck_assert_int_gt(port, 0);
    ck_assert_uint_eq(strlen(secret), MSI_SECRET_LEN);

    char req[512];
    snprintf(req, sizeof req,
             "GET /msi/token?resource=https%%3A%%2F%%2Fstorage.example&"
             "api-version=2019-08-01 HTTP/1.1\r\nHost: x\r\n"
             "X-IDENTITY-HEADER: %s\r\n\r\n",
             secret);
    /* a token */
    int fd = s_send_req(port, req);
    end = dr_mono_ms() + 3000;
    while (!f.got && dr_mono_ms() < end)
        s_fake_drive(&f);
    ck_assert_ptr_nonnull(f.got);
    ck_assert_int_eq(f.got->token_request->job_id, 5);
    ck_assert_int_eq(f.got->token_request->attempt, 1);
    ck_assert_str_eq(f.got->token_request->resource, "https://storage.example");
    s_fake_token(&f, 0);
    char *body = NULL;
    ck_assert_int_eq(s_answer(fd, s_fake_drive, &f, 3000, &body), 200);
    json_error_t je;
    json_t *o = json_loads(body, 0, &je);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "access_token")),
                     "header.claims.sig");
    ck_assert_str_eq(json_string_value(json_object_get(o, "expires_on")),
                     "1900000000");
    ck_assert_str_eq(json_string_value(json_object_get(o, "client_id")),
                     "principal-1");
    ck_assert_str_eq(json_string_value(json_object_get(o, "resource")),
                     "https://storage.example");
    json_decref(o);
    free(body);

    /* refused by the scheduler */
    fd = s_send_req(port, req);
    end = dr_mono_ms() + 3000;
    while (!f.got && dr_mono_ms() < end)
        s_fake_drive(&f);
    ck_assert_ptr_nonnull(f.got);
    s_fake_token(&f, DR_EPERM);
    ck_assert_int_eq(s_answer(fd, s_fake_drive, &f, 3000, &body), 403);
    ck_assert_ptr_nonnull(strstr(body, "has no managed identity"));
    free(body);

    /* no header: 401, and the scheduler hears nothing */
    fd = s_send_req(port, "GET /msi/token?resource=r&api-version=2019-08-01 "
                          "HTTP/1.1\r\n\r\n");
    ck_assert_int_eq(s_answer(fd, s_fake_drive, &f, 3000, NULL), 401);
    ck_assert_ptr_null(f.got);

    /* the task is canceled: its secret is forgotten */
    Drover__TaskCancel tc = DROVER__TASK_CANCEL__INIT;
    tc.job_id = 5;
    tc.attempt = 1;
    wire_env_init(&env, 51);
    env.body_case = DROVER__ENVELOPE__BODY_TASK_CANCEL;
    env.task_cancel = &tc;
    ck_assert_int_eq(wire_send(f.router, f.rid, &env), 0);
    for (int i = 0; i < 100; i++)
        s_fake_drive(&f);
    fd = s_send_req(port, req);
    ck_assert_int_eq(s_answer(fd, s_fake_drive, &f, 3000, NULL), 401);
    ck_assert_ptr_null(f.got);
    s_fake_stop(&f);
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("msi");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, s_setup, s_dir_remove);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_parse_good);
    tcase_add_test(tc, test_parse_partial);
    tcase_add_test(tc, test_parse_bad);
    tcase_add_test(tc, test_parse_oversized);
    tcase_add_test(tc, test_secrets);
    tcase_add_test(tc, test_json);
    tcase_add_test(tc, test_server_answers);
    tcase_add_test(tc, test_server_deadlines);
    tcase_add_test(tc, test_agent_end_to_end);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(s_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
