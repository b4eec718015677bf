/* check_sched_events.c - unit tests of the scheduled-events poller: parsing
 * of good and bad documents, and polling a local endpoint that first hangs
 * (the 2 s timeout) and then answers with a Preempt event, without any
 * tick ever blocking. */
#include "dr_err.h"
#include "sched_events.h"
#include "util.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int s_parse(const char *doc, sched_events_doc_t *out, char *why)
{
    return sched_events_parse(doc, strlen(doc), "node-1", out, why, 256);
}

START_TEST(test_parse_good)
{
    sched_events_doc_t d;
    char why[256];
    ck_assert_int_eq(
        s_parse("{\"DocumentIncarnation\":1,\"Events\":[]}", &d, why), 0);
    ck_assert_int_eq(d.incarnation, 1);
    ck_assert_uint_eq(d.n_preempts, 0);
    ck_assert_str_eq(d.warning, "");

    const char *doc =
        "{\"DocumentIncarnation\":7,\"Events\":["
        "{\"EventId\":\"A\",\"EventType\":\"Preempt\",\"ResourceType\":"
        "\"VirtualMachine\",\"Resources\":[\"other\",\"NODE-1\"],"
        "\"EventStatus\":\"Scheduled\",\"NotBefore\":\"Mon, 19 Sep 2016 "
        "18:29:47 GMT\"},"
        "{\"EventId\":\"B\",\"EventType\":\"Preempt\",\"Resources\":[\"x\"]},"
        "{\"EventId\":\"C\",\"EventType\":\"Reboot\",\"Resources\":[]},"
        "{\"EventId\":\"D\",\"EventType\":\"Preempt\",\"Resources\":[]},"
        "{\"EventId\":\"E\",\"EventType\":\"Preempt\"},"
        "{\"EventId\":\"F\",\"EventType\":\"Preempt\",\"EventStatus\":"
        "\"Canceled\"}]}";
    ck_assert_int_eq(s_parse(doc, &d, why), 0);
    ck_assert_int_eq(d.incarnation, 7);
    ck_assert_uint_eq(d.n_preempts, 3);
    ck_assert_str_eq(d.preempts[0], "A");
    ck_assert_str_eq(d.preempts[1], "D");
    ck_assert_str_eq(d.preempts[2], "E");
    ck_assert_str_eq(d.warning, "");

    /* one malformed event is skipped; the good one still counts */
    doc = "{\"DocumentIncarnation\":2,\"Events\":[5,"
          "{\"EventId\":\"G\",\"EventType\":\"Preempt\",\"Resources\":[3]},"
          "{\"EventId\":\"H\",\"EventType\":\"Preempt\"}]}";
    ck_assert_int_eq(s_parse(doc, &d, why), 0);
    ck_assert_uint_eq(d.n_preempts, 1);
    ck_assert_str_eq(d.preempts[0], "H");
    ck_assert_ptr_nonnull(strstr(d.warning, "Events[0]"));
}
END_TEST

START_TEST(test_parse_bad)
{
    static const char *bad[] = {
        "",
        "not json",
        "{\"DocumentIncarnation\":1,\"Events\":[]",
        "[]",
        "42",
        "{\"Events\":[]}",
        "{\"DocumentIncarnation\":\"1\",\"Events\":[]}",
        "{\"DocumentIncarnation\":1.5,\"Events\":[]}",
        "{\"DocumentIncarnation\":1}",
        "{\"DocumentIncarnation\":1,\"Events\":{}}",
        "{\"DocumentIncarnation\":1,\"Events\":null}",
        "{\"DocumentIncarnation\":1,\"DocumentIncarnation\":2,\"Events\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sched_events_doc_t d;
        char why[256] = "";
        ck_assert_msg(s_parse(bad[i], &d, why) == DR_EINVAL, "accepted %s",
                      bad[i]);
        ck_assert_msg(why[0] != '\0', "no reason for %s", bad[i]);
        ck_assert_uint_eq(d.n_preempts, 0);
    }
    /* malformed events: skipped with a warning, never a preemption */
    static const char *ev[] = {
        "\"x\"",
        "{\"EventType\":\"Preempt\"}",
        "{\"EventId\":\"\",\"EventType\":\"Preempt\"}",
        "{\"EventId\":7,\"EventType\":\"Preempt\"}",
        "{\"EventId\":\"a\\nb\",\"EventType\":\"Preempt\"}",
        "{\"EventId\":\"I\",\"EventType\":1}",
        "{\"EventId\":\"I\",\"EventType\":\"Preempt\",\"Resources\":\"node-"
        "1\"}",
        "{\"EventId\":\"I\",\"EventType\":\"Preempt\",\"EventStatus\":1}",
    };
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) {
        char doc[512], why[256];
        snprintf(doc, sizeof doc, "{\"DocumentIncarnation\":1,\"Events\":[%s]}",
                 ev[i]);
        sched_events_doc_t d;
        ck_assert_int_eq(s_parse(doc, &d, why), 0);
        ck_assert_msg(d.n_preempts == 0, "preempted by %s", ev[i]);
        ck_assert_msg(d.warning[0] != '\0', "no warning for %s", ev[i]);
    }
    /* an overlong id */
    char doc[1024], why[256];
    char id[300];
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    snprintf(doc, sizeof doc,
             "{\"DocumentIncarnation\":1,\"Events\":[{\"EventId\":\"%s\","
             "\"EventType\":\"Preempt\"}]}",
             id);
    sched_events_doc_t d;
    ck_assert_int_eq(s_parse(doc, &d, why), 0);
    ck_assert_uint_eq(d.n_preempts, 0);
}
END_TEST

/* Serves one canned answer per connection until killed. */
static void s_serve(int lfd, const char *body)
{
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        char buf[4096];
        ssize_t n = read(c, buf, sizeof buf - 1);
        if (n > 0) {
            buf[n] = '\0';
            int hdr = strstr(buf, "Metadata: true") != NULL;
            char resp[2048];
            int len = snprintf(
                resp, sizeof resp,
                "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                hdr ? "200 OK" : "400 Bad Request", strlen(body), body);
            (void)!write(c, resp, (size_t)len);
        }
        close(c);
    }
}

/* Drives the poller as the agent does until a Preempt is taken or
 * until_ms passes; fails if any tick takes more than 100 ms. */
static int s_drive(sched_events_t *se, int64_t until_ms, char *id)
{
    while (dr_mono_ms() < until_ms) {
        int64_t t0 = dr_mono_ms();
        int64_t next = sched_events_tick(se, t0);
        ck_assert_int_lt(dr_mono_ms() - t0, 100);
        if (sched_events_take(se, id, SCHED_EVENTS_ID_MAX))
            return 1;
        struct pollfd p[8];
        size_t n = sched_events_nfds(se);
        for (size_t i = 0; i < n && i < 8; i++) {
            int r, w;
            p[i].fd = sched_events_fd(se, i, &r, &w);
            p[i].events = (short)((r ? POLLIN : 0) | (w ? POLLOUT : 0));
        }
        int64_t wait = next - dr_mono_ms();
        if (wait < 0)
            wait = 0;
        if (wait > 50)
            wait = 50;
        (void)poll(p, n < 8 ? n : 8, (int)wait);
    }
    return 0;
}

START_TEST(test_poll_hang_then_preempt)
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
    char url[128];
    snprintf(url, sizeof url,
             "http://127.0.0.1:%d/metadata/scheduledevents"
             "?api-version=2020-07-01",
             ntohs(sa.sin_port));

    sched_events_t *se = sched_events_new(url, "node-1", 100);
    ck_assert_ptr_nonnull(se);
    char id[SCHED_EVENTS_ID_MAX];
    /* nobody accepts: requests hang, time out, and polling goes on */
    int64_t start = dr_mono_ms();
    ck_assert_int_eq(s_drive(se, start + SCHED_EVENTS_TIMEOUT_MS + 700, id), 0);

    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        s_serve(lfd, "{\"DocumentIncarnation\":3,\"Events\":[{\"EventId\":"
                     "\"EV-1\",\"EventType\":\"Preempt\",\"ResourceType\":"
                     "\"VirtualMachine\",\"Resources\":[\"node-1\"],"
                     "\"EventStatus\":\"Scheduled\"}]}");
        _exit(0);
    }
    int got =
        s_drive(se, dr_mono_ms() + 2 * SCHED_EVENTS_TIMEOUT_MS + 2000, id);
    ck_assert_int_eq(got, 1);
    ck_assert_str_eq(id, "EV-1");
    /* the same event, answered again and again, is taken once */
    ck_assert_int_eq(s_drive(se, dr_mono_ms() + 600, id), 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    sched_events_destroy(&se);
    ck_assert_ptr_null(se);
    sched_events_destroy(&se); /* NULL is fine */
    close(lfd);
}
END_TEST

START_TEST(test_poll_bad_answers)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(lfd, 16), 0);
    socklen_t sl = sizeof sa;
    ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        s_serve(lfd, "{\"DocumentIncarnation\":\"x\",\"Events\":[{]");
        _exit(0);
    }
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metadata/scheduledevents",
             ntohs(sa.sin_port));
    sched_events_t *se = sched_events_new(url, "node-1", 100);
    ck_assert_ptr_nonnull(se);
    char id[SCHED_EVENTS_ID_MAX];
    ck_assert_int_eq(s_drive(se, dr_mono_ms() + 800, id), 0);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    /* nobody listens any more: connection refused, still no crash */
    close(lfd);
    ck_assert_int_eq(s_drive(se, dr_mono_ms() + 400, id), 0);
    sched_events_destroy(&se);
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("sched_events");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_parse_good);
    tcase_add_test(tc, test_parse_bad);
    tcase_add_test(tc, test_poll_hang_then_preempt);
    tcase_add_test(tc, test_poll_bad_answers);
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
