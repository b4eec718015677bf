/* cli_fake.h - a scripted ROUTER "scheduler" for the CLI's unit tests
 * (check_cli_wire.c, check_cli_follow.c): it runs in a forked child (not a
 * thread: the build's -I scheduler makes <pthread.h> pick up
 * scheduler/sched.h), answers a fixed number of requests through a script
 * and sends back what it saw.  Header-only, static inline.
 */
#ifndef DR_CLI_FAKE_H
#define DR_CLI_FAKE_H

#include "cli_test.h"

#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#define FAKE_SEEN 16 /* requests whose body and offset are recorded */

/* The scripted scheduler: answers `nreq` requests with `script`, which
 * fills in the reply for request number i and may record what it saw. */
typedef struct fake fake_t;
typedef void (*fake_script_t)(fake_t *f, int i, const dr_env_t *req,
                              dr_env_t *rep);
struct fake {
    pid_t pid;
    int rfd;
    char endpoint[64];
    int nreq;
    fake_script_t script;
    /* what the scripted scheduler saw; sent back when it is done */
    uint64_t seen_after_id[FAKE_SEEN];
    uint64_t seen_offset[FAKE_SEEN];
    int seen_body[FAKE_SEEN];
    uint32_t seen_mask;
    char seen_argv0[64];
    size_t seen_nargv;
    char seen_name[64];
    char seen_prio[32];
    int64_t seen_cores;
    int seen_locked; /* 1 locked, 2 unlocked */
    uint32_t seen_limit;
};

static inline void s_read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        ck_assert_int_gt(r, 0);
        p += r;
        n -= (size_t)r;
    }
}

/* The child: serve nreq requests, then send f back and exit. */
static inline void s_fake_serve(fake_t *f, int wfd)
{
    void *zctx = zmq_ctx_new();
    void *sock = zctx ? zmq_socket(zctx, ZMQ_ROUTER) : NULL;
    int linger = 0, tmo = 10000;
    size_t len = sizeof f->endpoint;
    if (!sock || zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(sock, ZMQ_RCVTIMEO, &tmo, sizeof tmo) ||
        zmq_bind(sock, "tcp://127.0.0.1:*") ||
        zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, f->endpoint, &len))
        _exit(3);
    if (dr_write_all(wfd, f->endpoint, sizeof f->endpoint) < 0)
        _exit(3);
    for (int i = 0; i < f->nreq; i++) {
        char rid[DR_MAX_ROUTING_ID + 1];
        dr_env_t *req = NULL;
        if (wire_recv(sock, rid, 0, &req) < 0) {
            wire_free(&req);
            break;
        }
        if (i < FAKE_SEEN)
            f->seen_body[i] = (int)req->body_case;
        dr_env_t rep;
        wire_env_init(&rep, req->request_id);
        f->script(f, i, req, &rep);
        if (rep.body_case != DROVER__ENVELOPE__BODY__NOT_SET)
            wire_send(sock, rid, &rep);
        wire_free(&req);
    }
    int rc = dr_write_all(wfd, f, sizeof *f);
    zmq_close(sock);
    zmq_ctx_term(zctx);
    _exit(rc < 0 ? 3 : 0);
}

static inline void s_fake_start(fake_t *f, int nreq, fake_script_t script)
{
    memset(f, 0, sizeof *f);
    f->nreq = nreq;
    f->script = script;
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fflush(NULL);
    f->pid = fork();
    ck_assert_int_ge(f->pid, 0);
    if (f->pid == 0) {
        close(p[0]);
        s_fake_serve(f, p[1]);
    }
    close(p[1]);
    f->rfd = p[0];
    s_read_all(f->rfd, f->endpoint, sizeof f->endpoint);
}

/* Waits for the child and takes over what it saw. */
static inline void s_fake_stop(fake_t *f)
{
    fake_t back;
    s_read_all(f->rfd, &back, sizeof back);
    close(f->rfd);
    int st = 0;
    ck_assert_int_eq(waitpid(f->pid, &st, 0), f->pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    memcpy(f->seen_after_id, back.seen_after_id, sizeof f->seen_after_id);
    memcpy(f->seen_offset, back.seen_offset, sizeof f->seen_offset);
    memcpy(f->seen_body, back.seen_body, sizeof f->seen_body);
    memcpy(f->seen_argv0, back.seen_argv0, sizeof f->seen_argv0);
    f->seen_mask = back.seen_mask;
    f->seen_nargv = back.seen_nargv;
    memcpy(f->seen_name, back.seen_name, sizeof f->seen_name);
    memcpy(f->seen_prio, back.seen_prio, sizeof f->seen_prio);
    f->seen_cores = back.seen_cores;
    f->seen_locked = back.seen_locked;
    f->seen_limit = back.seen_limit;
}

#endif
