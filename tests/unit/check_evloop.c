/* check_evloop.c - unit tests of the reactor (common/evloop.c): fds and
 * ZeroMQ sockets, priority order, removal during a pass, timers (one-shot,
 * repeating, moved), sources with changing fds and their own timers; many
 * lazy sockets (the simulator's nodes), the same fd registered twice, and
 * thousands of registrations found, moved and removed by id. */
#include "evloop.h"
#include "util.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

/* What the handlers saw, in order. */
typedef struct {
    char log[64];
    size_t n;
    dr_loop_id_t remove_me; /* removed by the first handler that runs */
    dr_loop_t *loop;
} seen_t;

typedef struct {
    seen_t *seen;
    char tag;
    int fd;
} h_t;

static void s_io(dr_loop_t *loop, void *arg, short revents)
{
    h_t *h = arg;
    ck_assert(revents & ZMQ_POLLIN);
    char c;
    if (h->fd >= 0)
        ck_assert_int_eq(read(h->fd, &c, 1), 1);
    h->seen->log[h->seen->n++] = h->tag;
    if (h->seen->remove_me) {
        dr_loop_remove(loop, h->seen->remove_me);
        h->seen->remove_me = 0;
    }
}

static void s_timer(dr_loop_t *loop, void *arg)
{
    (void)loop;
    h_t *h = arg;
    h->seen->log[h->seen->n++] = h->tag;
}

static void s_pipe_ready(int p[2])
{
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
}

START_TEST(test_priority_order)
{
    dr_loop_t *loop = dr_loop_new();
    seen_t seen = {0};
    int a[2], b[2], c[2];
    s_pipe_ready(a);
    s_pipe_ready(b);
    s_pipe_ready(c);
    h_t ha = {&seen, 'a', a[0]}, hb = {&seen, 'b', b[0]},
        hc = {&seen, 'c', c[0]};
    /* registered c, a, b; priorities put a first, then b and c by order */
    dr_loop_add_fd(loop, c[0], ZMQ_POLLIN, 10, s_io, &hc);
    dr_loop_add_fd(loop, a[0], ZMQ_POLLIN, DR_LOOP_PRIO_FIRST, s_io, &ha);
    dr_loop_add_fd(loop, b[0], ZMQ_POLLIN, 10, s_io, &hb);
    ck_assert_int_eq(dr_loop_once(loop, 1000), 0);
    seen.log[seen.n] = 0;
    ck_assert_str_eq(seen.log, "acb");
    dr_loop_destroy(&loop);
    ck_assert_ptr_null(loop);
    dr_loop_destroy(&loop); /* NULL is fine */
    int *ps[] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        close(ps[i][0]);
        close(ps[i][1]);
    }
}
END_TEST

START_TEST(test_remove_during_pass)
{
    dr_loop_t *loop = dr_loop_new();
    seen_t seen = {0};
    int a[2], b[2];
    s_pipe_ready(a);
    s_pipe_ready(b);
    h_t ha = {&seen, 'a', a[0]}, hb = {&seen, 'b', b[0]};
    dr_loop_id_t ida = dr_loop_add_fd(loop, a[0], ZMQ_POLLIN, 0, s_io, &ha);
    dr_loop_id_t idb = dr_loop_add_fd(loop, b[0], ZMQ_POLLIN, 0, s_io, &hb);
    seen.remove_me = idb; /* a's handler removes b, which is ready too */
    ck_assert_int_eq(dr_loop_once(loop, 1000), 0);
    ck_assert_uint_eq(seen.n, 1);
    ck_assert_int_eq(seen.log[0], 'a');
    /* b stays ready but is gone; a no longer is: nothing runs */
    ck_assert_int_eq(dr_loop_once(loop, 0), 0);
    ck_assert_uint_eq(seen.n, 1);
    dr_loop_remove(loop, 0);    /* ignored */
    dr_loop_remove(loop, idb);  /* already gone: ignored */
    dr_loop_remove(loop, 9999); /* unknown: ignored */
    /* events 0: polled for nothing */
    dr_loop_remove(loop, ida);
    ck_assert_int_eq(write(a[1], "x", 1), 1);
    dr_loop_id_t ida2 = dr_loop_add_fd(loop, a[0], 0, 0, s_io, &ha);
    ck_assert_int_eq(dr_loop_once(loop, 0), 0);
    ck_assert_uint_eq(seen.n, 1);
    dr_loop_set_events(loop, ida2, ZMQ_POLLIN);
    ck_assert_int_eq(dr_loop_once(loop, 1000), 0);
    ck_assert_uint_eq(seen.n, 2);
    dr_loop_destroy(&loop);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}
END_TEST

START_TEST(test_timers)
{
    dr_loop_t *loop = dr_loop_new();
    seen_t seen = {0};
    h_t once = {&seen, 'o', -1}, rep = {&seen, 'r', -1},
        later = {&seen, 'l', -1};
    ck_assert(dr_loop_next_due(loop) == INT64_MAX);
    int64_t t0 = dr_mono_ms();
    dr_loop_add_timer(loop, 30, 0, s_timer, &once);
    dr_loop_add_timer(loop, 10, 10, s_timer, &rep);
    dr_loop_id_t idl = dr_loop_add_timer(loop, 100000, 0, s_timer, &later);
    ck_assert(dr_loop_next_due(loop) <= t0 + 10 + 5);
    while (dr_mono_ms() - t0 < 60)
        ck_assert_int_eq(dr_loop_once(loop, -1), 0);
    int o = 0, r = 0;
    for (size_t i = 0; i < seen.n; i++) {
        o += seen.log[i] == 'o';
        r += seen.log[i] == 'r';
        ck_assert_int_ne(seen.log[i], 'l');
    }
    ck_assert_int_eq(o, 1); /* one-shot: once */
    ck_assert_int_ge(r, 3); /* every 10 ms over 60 ms */
    ck_assert_int_le(r, 7);
    /* moving the far timer to now runs it in the next pass */
    dr_loop_timer_set(loop, idl, dr_mono_ms());
    ck_assert_int_eq(dr_loop_once(loop, 1000), 0);
    ck_assert_int_eq(seen.log[seen.n - 1], 'l');
    dr_loop_destroy(&loop);
}
END_TEST

/* A source with two pipes, of which it wants only the ones not yet read,
 * and a timer that is due once. */
typedef struct {
    int fds[2][2];
    int done[2];
    int64_t due;
    int timer_runs;
    int fd_calls;
} src_t;

static size_t s_src_nfds(void *self)
{
    (void)self;
    return 2;
}

static int s_src_fd(void *self, size_t i, int *r, int *w)
{
    src_t *s = self;
    *r = !s->done[i];
    *w = 0;
    return s->fds[i][0];
}

static void s_src_on_fd(void *self, int fd, int readable, int writable)
{
    src_t *s = self;
    ck_assert(readable && !writable);
    for (int i = 0; i < 2; i++)
        if (s->fds[i][0] == fd) {
            char c;
            ck_assert_int_eq(read(fd, &c, 1), 1);
            s->done[i] = 1;
        }
    s->fd_calls++;
}

static int64_t s_src_timer(void *self)
{
    return ((src_t *)self)->due;
}

static void s_src_on_timer(void *self)
{
    src_t *s = self;
    s->timer_runs++;
    s->due = INT64_MAX;
}

static const dr_loop_source_t s_src_ops = {s_src_nfds, s_src_fd, s_src_on_fd,
                                           s_src_timer, s_src_on_timer};

START_TEST(test_source)
{
    dr_loop_t *loop = dr_loop_new();
    src_t s = {.due = dr_mono_ms() + 20};
    s_pipe_ready(s.fds[0]);
    s_pipe_ready(s.fds[1]);
    dr_loop_id_t id = dr_loop_add_source(loop, &s_src_ops, &s, 0);
    ck_assert_int_eq(dr_loop_once(loop, 1000), 0);
    ck_assert_int_eq(s.fd_calls, 2);
    ck_assert_int_eq(s.timer_runs, 0);
    ck_assert(dr_loop_next_due(loop) == s.due);
    /* no fd wanted now: the pass waits for the source's timer */
    int64_t t0 = dr_mono_ms();
    ck_assert_int_eq(dr_loop_once(loop, 1000), 0);
    ck_assert_int_eq(s.timer_runs, 1);
    ck_assert_int_lt(dr_mono_ms() - t0, 500);
    ck_assert_int_eq(s.fd_calls, 2);
    dr_loop_remove(loop, id);
    ck_assert(dr_loop_next_due(loop) == INT64_MAX);
    dr_loop_destroy(&loop);
    for (int i = 0; i < 2; i++) {
        close(s.fds[i][0]);
        close(s.fds[i][1]);
    }
}
END_TEST

START_TEST(test_zmq_socket)
{
    void *ctx = zmq_ctx_new();
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    ck_assert_int_eq(zmq_bind(pull, "inproc://evloop"), 0);
    ck_assert_int_eq(zmq_connect(push, "inproc://evloop"), 0);
    dr_loop_t *loop = dr_loop_new();
    seen_t seen = {0};
    h_t h = {&seen, 'z', -1};
    dr_loop_add_socket(loop, pull, 0, s_io, &h);
    /* nothing sent: the pass times out */
    ck_assert_int_eq(dr_loop_once(loop, 10), 0);
    ck_assert_uint_eq(seen.n, 0);
    ck_assert_int_eq(zmq_send(push, "m", 1, 0), 1);
    ck_assert_int_eq(dr_loop_once(loop, 1000), 0);
    ck_assert_uint_eq(seen.n, 1);
    char buf[4];
    ck_assert_int_eq(zmq_recv(pull, buf, sizeof buf, 0), 1);
    dr_loop_destroy(&loop);
    zmq_close(push);
    zmq_close(pull);
    zmq_ctx_term(ctx);
}
END_TEST

/* A lazy socket's handler that takes one message a call. */
typedef struct {
    void *sock;
    int got;
} lazy_t;

static void s_take_one(dr_loop_t *loop, void *arg, short revents)
{
    (void)loop;
    lazy_t *l = arg;
    ck_assert(revents & ZMQ_POLLIN);
    char buf[8];
    if (zmq_recv(l->sock, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
        l->got++;
}

/* 500 socket pairs, lazy: a message to some of them reaches exactly those;
 * a handler that leaves input is called again without a new wake-up; a
 * message that arrives while its socket sends (which may swallow the
 * ZMQ_FD wake-up) is seen after dr_loop_touch. */
START_TEST(test_lazy_sockets)
{
    enum { N = 500 };
    void *ctx = zmq_ctx_new();
    ck_assert_int_eq(zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 4 * N), 0);
    void *tx[N];
    lazy_t rx[N];
    dr_loop_id_t id[N];
    dr_loop_t *loop = dr_loop_new();
    for (int i = 0; i < N; i++) {
        char ep[64];
        snprintf(ep, sizeof ep, "inproc://lazy-%d", i);
        rx[i].sock = zmq_socket(ctx, ZMQ_PAIR);
        rx[i].got = 0;
        tx[i] = zmq_socket(ctx, ZMQ_PAIR);
        ck_assert_int_eq(zmq_bind(rx[i].sock, ep), 0);
        ck_assert_int_eq(zmq_connect(tx[i], ep), 0);
        id[i] =
            dr_loop_add_socket_lazy(loop, rx[i].sock, 0, s_take_one, &rx[i]);
    }
    ck_assert_int_eq(dr_loop_once(loop, 10), 0); /* first looks: nothing */
    for (int i = 0; i < N; i += 7)
        ck_assert_int_eq(zmq_send(tx[i], "m", 1, 0), 1);
    for (int k = 0; k < 20; k++)
        ck_assert_int_eq(dr_loop_once(loop, 50), 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(rx[i].got, i % 7 == 0);
    /* three queued, one taken a call: three passes, no new signal */
    for (int j = 0; j < 3; j++)
        ck_assert_int_eq(zmq_send(tx[1], "m", 1, 0), 1);
    for (int k = 0; k < 10 && rx[1].got < 3; k++)
        ck_assert_int_eq(dr_loop_once(loop, 50), 0);
    ck_assert_int_eq(rx[1].got, 3);
    /* input arrives, then the socket itself sends (outside its handler) */
    ck_assert_int_eq(zmq_send(tx[2], "m", 1, 0), 1);
    usleep(10000);
    ck_assert_int_eq(zmq_send(rx[2].sock, "r", 1, 0), 1);
    dr_loop_touch(loop, id[2]);
    ck_assert_int_eq(dr_loop_once(loop, 1000), 0);
    ck_assert_int_eq(rx[2].got, 1);
    /* touching unknown and removed ids is harmless */
    dr_loop_remove(loop, id[3]);
    dr_loop_touch(loop, id[3]);
    dr_loop_touch(loop, 0);
    ck_assert_int_eq(zmq_send(tx[3], "m", 1, 0), 1);
    for (int k = 0; k < 5; k++)
        ck_assert_int_eq(dr_loop_once(loop, 10), 0);
    ck_assert_int_eq(rx[3].got, 0);
    dr_loop_destroy(&loop);
    for (int i = 0; i < N; i++) {
        zmq_close(tx[i]);
        zmq_close(rx[i].sock);
    }
    zmq_ctx_term(ctx);
}
END_TEST

/* epoll takes an fd once: the second registration of it is polled, and
 * both handlers run. */
START_TEST(test_fd_twice)
{
    int p[2];
    s_pipe_ready(p);
    dr_loop_t *loop = dr_loop_new();
    seen_t seen = {0};
    h_t a = {&seen, 'a', -1}, b = {&seen, 'b', -1};
    dr_loop_add_fd(loop, p[0], ZMQ_POLLIN, 0, s_io, &a);
    dr_loop_id_t idb = dr_loop_add_fd(loop, p[0], ZMQ_POLLIN, 1, s_io, &b);
    ck_assert_int_eq(dr_loop_once(loop, 100), 0);
    ck_assert_uint_eq(seen.n, 2);
    ck_assert_int_eq(memcmp(seen.log, "ab", 2), 0);
    /* waiting for nothing, then for input again */
    dr_loop_set_events(loop, idb, 0);
    ck_assert_int_eq(dr_loop_once(loop, 100), 0);
    ck_assert_uint_eq(seen.n, 3);
    dr_loop_set_events(loop, idb, ZMQ_POLLIN);
    ck_assert_int_eq(dr_loop_once(loop, 100), 0);
    ck_assert_uint_eq(seen.n, 5);
    dr_loop_destroy(&loop);
    close(p[0]);
    close(p[1]);
}
END_TEST

static void s_count(dr_loop_t *loop, void *arg)
{
    (void)loop;
    (*(int *)arg)++;
}

/* 3,000 timers: every other one removed in a scrambled order (the id
 * hash's deletions), the rest moved to now; exactly the rest run. */
START_TEST(test_many_ids)
{
    enum { N = 3000 };
    dr_loop_t *loop = dr_loop_new();
    static dr_loop_id_t id[N];
    static int runs[N];
    for (int i = 0; i < N; i++) {
        runs[i] = 0;
        id[i] = dr_loop_add_timer(loop, 60000, 0, s_count, &runs[i]);
    }
    for (int k = 0; k < N; k++) {
        int i = (int)(((unsigned)k * 7919u) % N);
        if (i % 2)
            dr_loop_remove(loop, id[i]);
    }
    int64_t now = dr_mono_ms();
    for (int i = 0; i < N; i += 2)
        dr_loop_timer_set(loop, id[i], now);
    ck_assert_int_eq(dr_loop_once(loop, 100), 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(runs[i], i % 2 == 0);
    ck_assert(dr_loop_next_due(loop) == INT64_MAX);
    dr_loop_destroy(&loop);
}
END_TEST

Suite *evloop_suite(void)
{
    Suite *s = suite_create("evloop");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_priority_order);
    tcase_add_test(tc, test_remove_during_pass);
    tcase_add_test(tc, test_timers);
    tcase_add_test(tc, test_source);
    tcase_add_test(tc, test_zmq_socket);
    tcase_add_test(tc, test_lazy_sockets);
    tcase_add_test(tc, test_fd_twice);
    tcase_add_test(tc, test_many_ids);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(evloop_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
