/* check_zmtp.c - unit tests of common/zmtp.c against a real libzmq ROUTER
 * on an ipc:// socket (as the scheduler's local socket is), and against
 * peers that break the protocol: a silent one, one that sends garbage,
 * a CURVE endpoint, a socket of the wrong type, a multi-frame and a too
 * large message. */
#include "dr_err.h"
#include "keys.h"
#include "util.h"
#include "zmtp.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

typedef struct {
    char path[108];
    char ep[120];
    void *zctx, *sock;
} peer_t;

static void s_peer(peer_t *p, int type, int curve)
{
    snprintf(p->path, sizeof p->path, "/tmp/ckzmtp-%d-%d.sock", (int)getpid(),
             type);
    snprintf(p->ep, sizeof p->ep, "ipc://%s", p->path);
    p->zctx = zmq_ctx_new();
    p->sock = zmq_socket(p->zctx, type);
    ck_assert_ptr_nonnull(p->sock);
    int zero = 0;
    ck_assert_int_eq(zmq_setsockopt(p->sock, ZMQ_LINGER, &zero, sizeof zero),
                     0);
    if (curve) {
        dr_keypair_t kp;
        ck_assert_int_eq(keys_generate(&kp), 0);
        int one = 1;
        ck_assert_int_eq(
            zmq_setsockopt(p->sock, ZMQ_CURVE_SERVER, &one, sizeof one), 0);
        ck_assert_int_eq(zmq_setsockopt(p->sock, ZMQ_CURVE_SECRETKEY,
                                        kp.secret_z85, DR_Z85_KEY_LEN),
                         0);
    }
    ck_assert_int_eq(zmq_bind(p->sock, p->ep), 0);
}

static void s_peer_end(peer_t *p)
{
    zmq_close(p->sock);
    zmq_ctx_term(p->zctx);
    unlink(p->path);
}

static int64_t s_in(int ms)
{
    return dr_mono_ms() + ms;
}

/* A request and its reply, small and large (a long frame each way); the
 * ROUTER sees the routing id given and the kernel's uid of this peer. */
START_TEST(test_router_roundtrip)
{
    peer_t p;
    s_peer(&p, ZMQ_ROUTER, 0);
    char why[256] = "";
    int fd = zmtp_connect(p.path, "cli-0123456789abcdef", s_in(5000), why,
                          sizeof why);
    ck_assert_msg(fd >= 0, "connect: %s", why);
    size_t sizes[] = {5, 255, 256, 1 << 20};
    dr_buf_t in = {0};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        char *msg = malloc(n);
        for (size_t i = 0; i < n; i++)
            msg[i] = (char)('a' + (i + k) % 26);
        ck_assert_int_eq(zmtp_send(fd, msg, n, s_in(5000), why, sizeof why), 0);
        zmq_msg_t rid, body;
        zmq_msg_init(&rid);
        zmq_msg_init(&body);
        ck_assert_int_ge(zmq_msg_recv(&rid, p.sock, 0), 0);
        ck_assert_int_ge(zmq_msg_recv(&body, p.sock, 0), 0);
        ck_assert_int_eq(zmq_msg_size(&rid), 20);
        ck_assert(memcmp(zmq_msg_data(&rid), "cli-0123456789abcdef", 20) == 0);
        ck_assert_int_eq(zmq_msg_size(&body), n);
        ck_assert(memcmp(zmq_msg_data(&body), msg, n) == 0);
        const char *addr = zmq_msg_gets(&body, "Peer-Address");
        char uid[32];
        snprintf(uid, sizeof uid, ":%d:", (int)getuid());
        ck_assert_ptr_nonnull(addr);
        ck_assert_ptr_nonnull(strstr(addr, uid));
        /* the reply: the same bytes reversed */
        for (size_t i = 0; i < n / 2; i++) {
            char t = msg[i];
            msg[i] = msg[n - 1 - i];
            msg[n - 1 - i] = t;
        }
        ck_assert_int_ge(
            zmq_send(p.sock, "cli-0123456789abcdef", 20, ZMQ_SNDMORE), 0);
        ck_assert_int_ge(zmq_send(p.sock, msg, n, 0), 0);
        ck_assert_int_eq(
            zmtp_recv(fd, &in, 2 << 20, s_in(5000), why, sizeof why), 0);
        ck_assert_int_eq(in.len, n);
        ck_assert(memcmp(in.data, msg, n) == 0);
        zmq_msg_close(&rid);
        zmq_msg_close(&body);
        free(msg);
    }
    /* a message past max is refused, a multi-frame one too */
    char big[300] = {0};
    ck_assert_int_ge(zmq_send(p.sock, "cli-0123456789abcdef", 20, ZMQ_SNDMORE),
                     0);
    ck_assert_int_ge(zmq_send(p.sock, big, sizeof big, 0), 0);
    ck_assert_int_eq(zmtp_recv(fd, &in, 100, s_in(5000), why, sizeof why),
                     DR_ETOOBIG);
    close(fd);
    fd = zmtp_connect(p.path, "cli-2", s_in(5000), why, sizeof why);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(zmtp_send(fd, "x", 1, s_in(5000), why, sizeof why), 0);
    zmq_msg_t m;
    zmq_msg_init(&m);
    ck_assert_int_ge(zmq_msg_recv(&m, p.sock, 0), 0);
    ck_assert_int_ge(zmq_msg_recv(&m, p.sock, 0), 0);
    zmq_msg_close(&m);
    ck_assert_int_ge(zmq_send(p.sock, "cli-2", 5, ZMQ_SNDMORE), 0);
    ck_assert_int_ge(zmq_send(p.sock, "a", 1, ZMQ_SNDMORE), 0);
    ck_assert_int_ge(zmq_send(p.sock, "b", 1, 0), 0);
    ck_assert_int_eq(zmtp_recv(fd, &in, 100, s_in(5000), why, sizeof why),
                     DR_EPROTO);
    ck_assert_ptr_nonnull(strstr(why, "more than one frame"));
    /* nothing more comes: the deadline holds */
    int64_t t0 = dr_mono_ms();
    ck_assert_int_eq(zmtp_recv(fd, &in, 100, s_in(200), why, sizeof why),
                     DR_ETIMEOUT);
    ck_assert_int_ge(dr_mono_ms() - t0, 190);
    close(fd);
    dr_buf_free(&in);
    s_peer_end(&p);
}
END_TEST

START_TEST(test_wrong_peers)
{
    char why[256] = "";
    /* a CURVE endpoint: the mechanism is named */
    peer_t c;
    s_peer(&c, ZMQ_ROUTER, 1);
    int rc = zmtp_connect(c.path, "cli-x", s_in(5000), why, sizeof why);
    ck_assert_msg(rc == DR_EPROTO, "CURVE: %d %s", rc, why);
    ck_assert_ptr_nonnull(strstr(why, "CURVE endpoint"));
    s_peer_end(&c);
    /* a PUB socket: not a ROUTER (libzmq may close at once, or send its
     * READY; either way the connect fails) */
    peer_t pub;
    s_peer(&pub, ZMQ_PUB, 0);
    rc = zmtp_connect(pub.path, "cli-x", s_in(5000), why, sizeof why);
    ck_assert_msg(rc == DR_EPROTO || rc == DR_EIO, "PUB: %d %s", rc, why);
    s_peer_end(&pub);
    /* no socket file, a bad id */
    ck_assert_int_eq(zmtp_connect("/tmp/ckzmtp-none.sock", "cli-x", s_in(1000),
                                  why, sizeof why),
                     DR_EIO);
    ck_assert_int_eq(
        zmtp_connect("/tmp/x.sock", "", s_in(1000), why, sizeof why),
        DR_EINVAL);
}
END_TEST

/* A fake peer on path, a child process: it accepts one connection,
 * writes len bytes of send and reads until EOF. */
static pid_t s_fake(const char *path, const char *send, size_t len)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    unlink(path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int c = accept(fd, NULL, NULL);
        if (c >= 0) {
            if (len)
                (void)!write(c, send, len);
            char buf[256];
            while (read(c, buf, sizeof buf) > 0)
                ;
        }
        _exit(0);
    }
    close(fd);
    return pid;
}

static void s_fake_end(pid_t pid, const char *path)
{
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    unlink(path);
}

START_TEST(test_garbage_and_silence)
{
    char path[108], why[256];
    snprintf(path, sizeof path, "/tmp/ckzmtp-fake-%d.sock", (int)getpid());
    struct {
        const char *bytes;
        size_t len;
        int want;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\n\r\n", 19, DR_EPROTO},        /* not ZMTP at all */
        {"\xff\0\0\0\0\0\0\0\x01\x7f\x02", 11, DR_EPROTO}, /* ZMTP 2 */
        {"", 0, DR_ETIMEOUT},                              /* says nothing */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pid_t pid = s_fake(path, cases[i].bytes, cases[i].len);
        int rc = zmtp_connect(path, "cli-x", s_in(cases[i].len ? 2000 : 300),
                              why, sizeof why);
        ck_assert_msg(rc == cases[i].want, "case %zu: %d %s", i, rc, why);
        s_fake_end(pid, path); /* it saw EOF: zmtp_connect closed */
    }
    /* a well-formed greeting and READY, but a PUB's */
    static const char ready_pub[] =
        "\xff\0\0\0\0\0\0\0\x01\x7f\x03\x00NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
        "\0"
        "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
        "\x04\x19\x05READY\x0bSocket-Type\0\0\0\x03PUB";
    pid_t pid = s_fake(path, ready_pub, sizeof ready_pub - 1);
    int rc = zmtp_connect(path, "cli-x", s_in(2000), why, sizeof why);
    ck_assert_msg(rc == DR_EPROTO, "PUB READY: %d %s", rc, why);
    ck_assert_ptr_nonnull(strstr(why, "not a ROUTER"));
    s_fake_end(pid, path);
}
END_TEST

Suite *zmtp_suite(void)
{
    Suite *s = suite_create("zmtp");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_router_roundtrip);
    tcase_add_test(tc, test_wrong_peers);
    tcase_add_test(tc, test_garbage_and_silence);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(zmtp_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
