/* check_http_async.c - unit tests of common/http_async: requests against
 * a small HTTP server in a child process (over TCP and over a unix
 * socket), driven through the reactor (http_async_source) and without
 * one (http_async_drive): answers and their status, a POST body, the
 * answer bound, a streaming callback that takes or refuses the answer,
 * a timeout, a refused connection, and a canceled request. */
#include "dr_err.h"
#include "evloop.h"
#include "http_async.h"
#include "util.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the server -------------------------------------------------------- */

static void s_reply(int c, const char *status, const char *body, size_t n)
{
    char hdr[256];
    int len = snprintf(hdr, sizeof hdr,
                       "HTTP/1.1 %s\r\nContent-Length: %zu\r\n"
                       "Connection: close\r\n\r\n",
                       status, n);
    (void)!write(c, hdr, (size_t)len);
    (void)!write(c, body, n);
}

/* One connection: GET /ok, /big, /missing, /hang; POST /echo. */
static void s_serve_one(int c)
{
    char req[8192];
    size_t got = 0;
    char *end = NULL;
    while (got < sizeof req - 1 && !end) {
        ssize_t n = read(c, req + got, sizeof req - 1 - got);
        if (n <= 0)
            return;
        got += (size_t)n;
        req[got] = '\0';
        end = strstr(req, "\r\n\r\n");
    }
    if (!end)
        return;
    if (strncmp(req, "POST /echo", 10) == 0) {
        const char *cl = strcasestr(req, "Content-Length:");
        size_t want = cl ? (size_t)atol(cl + 15) : 0;
        size_t have = got - (size_t)(end + 4 - req);
        while (have < want && got < sizeof req - 1) {
            ssize_t n = read(c, req + got, sizeof req - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            have += (size_t)n;
        }
        s_reply(c, "200 OK", end + 4, have);
    } else if (strncmp(req, "GET /ok", 7) == 0) {
        s_reply(c, "200 OK", "hello", 5);
    } else if (strncmp(req, "GET /big", 8) == 0) {
        char body[4000];
        memset(body, 'x', sizeof body);
        s_reply(c, "200 OK", body, sizeof body);
    } else if (strncmp(req, "GET /hang", 9) == 0) {
        sleep(10);
    } else {
        s_reply(c, "404 Not Found", "{\"message\":\"no\"}", 16);
    }
}

static pid_t s_server(int lfd)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid > 0)
        return pid;
    signal(SIGCHLD, SIG_IGN);
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        if (fork() == 0) {
            s_serve_one(c);
            close(c);
            _exit(0);
        }
        close(c);
    }
}

static int s_listen_tcp(int *port)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(lfd, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(lfd, 16), 0);
    socklen_t sl = sizeof sa;
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return lfd;
}

typedef struct {
    pid_t pid;
    int lfd;
    int port;
    char url[128];
} s_srv_t;

static void s_srv_start(s_srv_t *s)
{
    s->lfd = s_listen_tcp(&s->port);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    s->pid = s_server(s->lfd);
}

static void s_srv_stop(s_srv_t *s)
{
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    close(s->lfd);
}

/* ---- a client that records what its callbacks saw ---------------------- */

typedef struct {
    int calls;
    int failed, timed_out, too_big, aborted;
    long status;
    char body[8192];
    size_t len;
    char label[128];
    size_t streamed; /* bytes on_data took */
    int refuse;      /* on_data refuses the answer */
} s_rec_t;

static void s_done(void *arg, const http_result_t *r)
{
    s_rec_t *rec = arg;
    rec->calls++;
    rec->failed = r->failed;
    rec->timed_out = r->timed_out;
    rec->too_big = r->too_big;
    rec->aborted = r->aborted;
    rec->status = r->status;
    rec->len = r->len < sizeof rec->body ? r->len : sizeof rec->body - 1;
    memcpy(rec->body, r->body, rec->len);
    rec->body[rec->len] = '\0';
    snprintf(rec->label, sizeof rec->label, "%s", r->label);
    ck_assert(!r->failed || r->error[0]);
}

static int s_data(void *arg, long status, const char *data, size_t n)
{
    (void)data;
    s_rec_t *rec = arg;
    ck_assert_int_eq(status, 200);
    if (rec->refuse)
        return -1;
    rec->streamed += n;
    return 0;
}

/* Runs the reactor until every request ended or ms passed. */
static void s_run_loop(http_async_t *h, int ms)
{
    dr_loop_t *loop = dr_loop_new();
    dr_loop_add_source(loop, &http_async_source, h, 0);
    int64_t end = dr_mono_ms() + ms;
    while (http_async_count(h) > 0 && dr_mono_ms() < end)
        ck_assert_int_eq(dr_loop_once(loop, 50), 0);
    dr_loop_destroy(&loop);
}

static http_req_t *s_get(http_async_t *h, const char *base, const char *path,
                         s_rec_t *rec, size_t max_body, long timeout_ms)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    http_opts_t o = {.url = url,
                     .max_body = max_body,
                     .timeout_ms = timeout_ms,
                     .connect_timeout_ms = 2000,
                     .label = path};
    return http_async_request(h, &o, s_done, rec);
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(test_get_and_status)
{
    s_srv_t s;
    s_srv_start(&s);
    http_async_t *h = http_async_new();
    ck_assert_ptr_nonnull(h);
    s_rec_t ok = {0}, missing = {0};
    ck_assert_ptr_nonnull(s_get(h, s.url, "/ok", &ok, 0, 5000));
    ck_assert_ptr_nonnull(s_get(h, s.url, "/missing", &missing, 0, 5000));
    ck_assert_uint_eq(http_async_count(h), 2);
    s_run_loop(h, 5000);
    ck_assert_uint_eq(http_async_count(h), 0);
    ck_assert_int_eq(ok.calls, 1);
    ck_assert_int_eq(ok.failed, 0);
    ck_assert_int_eq(ok.status, 200);
    ck_assert_str_eq(ok.body, "hello");
    ck_assert_str_eq(ok.label, "/ok");
    ck_assert_int_eq(missing.calls, 1);
    ck_assert_int_eq(missing.failed, 0);
    ck_assert_int_eq(missing.status, 404);
    ck_assert_str_eq(missing.body, "{\"message\":\"no\"}");
    http_async_destroy(&h);
    ck_assert_ptr_null(h);
    http_async_destroy(&h); /* NULL is fine */
    s_srv_stop(&s);
}
END_TEST

START_TEST(test_post_body_and_drive)
{
    s_srv_t s;
    s_srv_start(&s);
    http_async_t *h = http_async_new();
    char url[256];
    snprintf(url, sizeof url, "%s/echo", s.url);
    static const char *const hdrs[] = {"X-Test: 1", NULL};
    http_opts_t o = {.method = "POST",
                     .url = url,
                     .body = "{\"a\":1}",
                     .content_type = "application/json",
                     .headers = hdrs,
                     .timeout_ms = 5000};
    s_rec_t rec = {0};
    ck_assert_ptr_nonnull(http_async_request(h, &o, s_done, &rec));
    /* without a reactor: drive it until it ends */
    int64_t end = dr_mono_ms() + 5000;
    while (http_async_count(h) > 0 && dr_mono_ms() < end) {
        http_async_drive(h);
        usleep(5000);
    }
    ck_assert_int_eq(rec.calls, 1);
    ck_assert_int_eq(rec.status, 200);
    ck_assert_str_eq(rec.body, "{\"a\":1}");
    ck_assert_str_eq(rec.label, url); /* no label: the URL */
    http_async_destroy(&h);
    s_srv_stop(&s);
}
END_TEST

START_TEST(test_answer_bound_and_tail)
{
    s_srv_t s;
    s_srv_start(&s);
    http_async_t *h = http_async_new();
    s_rec_t small = {0}, tail = {0};
    ck_assert_ptr_nonnull(s_get(h, s.url, "/big", &small, 100, 5000));
    char url[256];
    snprintf(url, sizeof url, "%s/big", s.url);
    http_opts_t o = {.url = url, .max_body = 1024, .keep_tail = 1};
    ck_assert_ptr_nonnull(http_async_request(h, &o, s_done, &tail));
    s_run_loop(h, 5000);
    ck_assert_int_eq(small.calls, 1);
    ck_assert_int_eq(small.failed, 1);
    ck_assert_int_eq(small.too_big, 1);
    ck_assert_int_eq(tail.calls, 1);
    ck_assert_int_eq(tail.failed, 0);
    ck_assert_int_eq(tail.status, 200);
    ck_assert_uint_le(tail.len, 1024);
    ck_assert_uint_gt(tail.len, 0);
    ck_assert_int_eq(tail.body[tail.len - 1], 'x');
    http_async_destroy(&h);
    s_srv_stop(&s);
}
END_TEST

START_TEST(test_streaming)
{
    s_srv_t s;
    s_srv_start(&s);
    http_async_t *h = http_async_new();
    char url[256];
    snprintf(url, sizeof url, "%s/big", s.url);
    s_rec_t take = {0}, refuse = {.refuse = 1};
    http_opts_t o = {.url = url, .max_body = 10, .on_data = s_data};
    ck_assert_ptr_nonnull(http_async_request(h, &o, s_done, &take));
    ck_assert_ptr_nonnull(http_async_request(h, &o, s_done, &refuse));
    s_run_loop(h, 5000);
    /* taken as it streams: nothing kept, so no bound passed */
    ck_assert_int_eq(take.calls, 1);
    ck_assert_int_eq(take.failed, 0);
    ck_assert_uint_eq(take.streamed, 4000);
    ck_assert_uint_eq(take.len, 0);
    ck_assert_int_eq(refuse.calls, 1);
    ck_assert_int_eq(refuse.failed, 1);
    ck_assert_int_eq(refuse.aborted, 1);
    http_async_destroy(&h);
    s_srv_stop(&s);
}
END_TEST

START_TEST(test_timeout_refused_cancel)
{
    s_srv_t s;
    s_srv_start(&s);
    http_async_t *h = http_async_new();
    s_rec_t hang = {0}, canceled = {0}, refused = {0};
    int64_t t0 = dr_mono_ms();
    ck_assert_ptr_nonnull(s_get(h, s.url, "/hang", &hang, 0, 300));
    http_req_t *c = s_get(h, s.url, "/hang", &canceled, 0, 0);
    ck_assert_ptr_nonnull(c);
    /* a port nobody listens on */
    int port;
    int lfd = s_listen_tcp(&port);
    close(lfd);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    ck_assert_ptr_nonnull(s_get(h, base, "/ok", &refused, 0, 2000));
    http_async_cancel(c);
    http_async_cancel(NULL); /* fine */
    ck_assert_uint_eq(http_async_count(h), 2);
    s_run_loop(h, 5000);
    ck_assert_int_eq(hang.calls, 1);
    ck_assert_int_eq(hang.failed, 1);
    ck_assert_int_eq(hang.timed_out, 1);
    ck_assert_int_lt(dr_mono_ms() - t0, 3000);
    ck_assert_int_eq(refused.calls, 1);
    ck_assert_int_eq(refused.failed, 1);
    ck_assert_int_eq(refused.timed_out, 0);
    ck_assert_int_eq(canceled.calls, 0);
    /* destroy aborts what is in flight without calling back */
    s_rec_t left = {0};
    ck_assert_ptr_nonnull(s_get(h, s.url, "/hang", &left, 0, 0));
    http_async_destroy(&h);
    ck_assert_int_eq(left.calls, 0);
    s_srv_stop(&s);
}
END_TEST

START_TEST(test_unix_socket)
{
    char path[108];
    snprintf(path, sizeof path, "/tmp/check-http-async-%d.sock", (int)getpid());
    unlink(path);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(lfd, 0);
    struct sockaddr_un sa = {0};
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(lfd, 16), 0);
    pid_t pid = s_server(lfd);
    http_async_t *h = http_async_new();
    s_rec_t rec = {0};
    http_opts_t o = {
        .url = "http://docker/ok", .unix_socket = path, .timeout_ms = 5000};
    ck_assert_ptr_nonnull(http_async_request(h, &o, s_done, &rec));
    s_run_loop(h, 5000);
    ck_assert_int_eq(rec.calls, 1);
    ck_assert_int_eq(rec.status, 200);
    ck_assert_str_eq(rec.body, "hello");
    http_async_destroy(&h);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(lfd);
    unlink(path);
}
END_TEST

START_TEST(test_escape)
{
    char *e = http_async_escape("{\"label\":[\"a=b c\"]}");
    ck_assert_str_eq(e, "%7B%22label%22%3A%5B%22a%3Db%20c%22%5D%7D");
    free(e);
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("http_async");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_get_and_status);
    tcase_add_test(tc, test_post_body_and_drive);
    tcase_add_test(tc, test_answer_bound_and_tail);
    tcase_add_test(tc, test_streaming);
    tcase_add_test(tc, test_timeout_refused_cancel);
    tcase_add_test(tc, test_unix_socket);
    tcase_add_test(tc, test_escape);
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
