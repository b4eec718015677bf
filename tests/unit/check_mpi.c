/* check_mpi.c - unit tests of the agent's MPI pieces (agent/mpi.c): the
 * hostfile, mpirun's argv and MCA environment, the
 * launch server driven by a poll loop here with plain AF_UNIX clients, and
 * the real drover-launch binary (forked and exec'ed) against that server.
 *
 * drover-launch is looked up in $DROVER_BIN, else next to this program
 * (the build directory).  Socket names carry the test's pid so that runs
 * in parallel never meet.
 */
#include "dr_err.h"
#include "mpi.h"
#include "msi.h"
#include "util.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------- */

static char *s_read_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    dr_buf_t b = {0};
    char buf[4096];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        dr_buf_append(&b, buf, (size_t)r);
    close(fd);
    dr_buf_append(&b, "", 0); /* "" for an empty file, not NULL */
    return b.data;
}

/* A string of what b holds (it keeps a NUL after its data). */
static const char *s_str(const dr_buf_t *b)
{
    return b->data ? b->data : "";
}

/* ---- hostfile, argv, environment ----------------------------------------- */

START_TEST(test_hostfile)
{
    char dir[] = "/tmp/check_mpi.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *path = dr_asprintf("%s/hostfile", dir);
    char *hosts[] = {"head", "node2", "node3"};

    ck_assert_int_eq(mpi_hostfile_write(path, hosts, 3, "localhost", 4), 0);
    char *got = s_read_file(path);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, "localhost slots=4\nnode2 slots=4\nnode3 slots=4\n");
    free(got);

    /* rewritten, not appended to */
    ck_assert_int_eq(mpi_hostfile_write(path, hosts, 2, "head-alias", 1), 0);
    got = s_read_file(path);
    ck_assert_str_eq(got, "head-alias slots=1\nnode2 slots=1\n");
    free(got);

    /* one node: the head alone */
    ck_assert_int_eq(mpi_hostfile_write(path, hosts, 1, "me", 8), 0);
    got = s_read_file(path);
    ck_assert_str_eq(got, "me slots=8\n");
    free(got);

    /* no such directory, a directory, a device that is always full */
    char *missing = dr_asprintf("%s/no/such/dir/hostfile", dir);
    ck_assert_int_eq(mpi_hostfile_write(missing, hosts, 3, "h", 1), DR_EIO);
    ck_assert_int_eq(mpi_hostfile_write(dir, hosts, 3, "h", 1), DR_EIO);
    if (access("/dev/full", W_OK) == 0)
        ck_assert_int_eq(mpi_hostfile_write("/dev/full", hosts, 3, "h", 1),
                         DR_EIO);
    free(missing);

    unlink(path);
    free(path);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_head_argv)
{
    char *job[] = {"./ring", "--rounds", "5"};
    char **v = mpi_head_argv("/scratch/hostfile", 3, 4, job, 3);
    const char *want[] = {"mpirun",     "--hostfile", "/scratch/hostfile",
                          "-np",        "12",         "--map-by",
                          "ppr:4:node", "./ring",     "--rounds",
                          "5"};
    size_t n = sizeof want / sizeof want[0];
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(v[i]);
        ck_assert_str_eq(v[i], want[i]);
    }
    ck_assert_ptr_null(v[n]);
    /* the strings are its own, not the caller's */
    ck_assert_ptr_ne(v[7], job[0]);
    mpi_argv_free(v);

    /* no program words at all, one slot per node */
    v = mpi_head_argv("hf", 2, 1, NULL, 0);
    ck_assert_str_eq(v[4], "2");
    ck_assert_str_eq(v[6], "ppr:1:node");
    ck_assert_ptr_null(v[7]);
    mpi_argv_free(v);

    mpi_argv_free(NULL); /* accepted */
}
END_TEST

static const char *s_env_find(char **env, size_t n, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < n; i++)
        if (strncmp(env[i], key, kl) == 0 && env[i][kl] == '=')
            return env[i] + kl + 1;
    return NULL;
}

START_TEST(test_env_defaults)
{
    char *env[MPI_ENV_MAX + 1];
    size_t root = geteuid() == 0 ? 2 : 0;

    memset(env, 0, sizeof env);
    size_t n = mpi_env_defaults("/opt/drover/drover-launch", "lo", 1, env);
    ck_assert_uint_le(n, MPI_ENV_MAX);
    ck_assert_uint_eq(n, 9 + root);
    ck_assert_ptr_null(env[n]); /* nothing written past what it counts */
    ck_assert_str_eq(s_env_find(env, n, "OMPI_MCA_plm_rsh_agent"),
                     "/opt/drover/drover-launch");
    ck_assert_str_eq(s_env_find(env, n, "OMPI_MCA_plm_rsh_no_tree_spawn"), "1");
    ck_assert_str_eq(s_env_find(env, n, "OMPI_MCA_orte_leave_session_attached"),
                     "1");
    ck_assert_str_eq(s_env_find(env, n, "OMPI_MCA_orte_tag_output"), "1");
    ck_assert_str_eq(s_env_find(env, n, "OMPI_MCA_btl"), "self,tcp");
    ck_assert_str_eq(s_env_find(env, n, "OMPI_MCA_mpi_yield_when_idle"), "1");
    ck_assert_str_eq(s_env_find(env, n, "OMPI_MCA_rtc"), "^hwloc");
    ck_assert_str_eq(s_env_find(env, n, "OMPI_MCA_btl_tcp_if_include"), "lo");
    ck_assert_str_eq(s_env_find(env, n, "OMPI_MCA_oob_tcp_if_include"), "lo");
    if (root) {
        ck_assert_str_eq(s_env_find(env, n, "OMPI_ALLOW_RUN_AS_ROOT"), "1");
        ck_assert_str_eq(s_env_find(env, n, "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"),
                         "1");
    } else {
        ck_assert_ptr_null(s_env_find(env, n, "OMPI_ALLOW_RUN_AS_ROOT"));
    }
    for (size_t i = 0; i < n; i++) /* each a distinct K=V */
        ck_assert_ptr_nonnull(strchr(env[i], '='));
    for (size_t i = 0; i < n; i++)
        free(env[i]);

    /* no interface ("" or NULL): OpenMPI picks, nothing restricts it */
    const char *none[] = {"", NULL};
    for (size_t k = 0; k < 2; k++) {
        memset(env, 0, sizeof env);
        n = mpi_env_defaults("/l", none[k], 0, env);
        ck_assert_uint_eq(n, 7 + root);
        /* nodes that are separate hosts: shared memory on each */
        ck_assert_str_eq(s_env_find(env, n, "OMPI_MCA_btl"), "self,vader,tcp");
        ck_assert_ptr_null(s_env_find(env, n, "OMPI_MCA_mpi_yield_when_idle"));
        ck_assert_ptr_null(s_env_find(env, n, "OMPI_MCA_btl_tcp_if_include"));
        ck_assert_ptr_null(s_env_find(env, n, "OMPI_MCA_oob_tcp_if_include"));
        ck_assert_str_eq(s_env_find(env, n, "OMPI_MCA_plm_rsh_agent"), "/l");
        for (size_t i = 0; i < n; i++)
            free(env[i]);
    }
}
END_TEST

/* ---- the launch server ----------------------------------------------------
 */

/* What the server handed the test's callback. */
typedef struct {
    int n;          /* requests */
    uint64_t id[8]; /* their launch ids, in order */
    char host[80];  /* the last one's */
    char *command;
    int at_once; /* answer inside the callback: "now\n", exit 0 */
} s_calls_t;

static struct {
    char name[108]; /* abstract, without the '@' */
    char token[MSI_SECRET_LEN + 1];
    mpi_srv_t *srv;
    s_calls_t calls;
} s_t;

static void s_on_launch(void *arg, uint64_t launch_id, const char *host,
                        const char *command)
{
    s_calls_t *c = arg;
    if (c->n < 8)
        c->id[c->n] = launch_id;
    c->n++;
    snprintf(c->host, sizeof c->host, "%s", host);
    free(c->command);
    c->command = dr_strdup(command);
    if (c->at_once) {
        mpi_srv_output(s_t.srv, launch_id, 0, "now\n", 4);
        mpi_srv_exit(s_t.srv, launch_id, 0, NULL);
    }
}

static void s_srv_setup(void)
{
    static unsigned seq;
    memset(&s_t, 0, sizeof s_t);
    snprintf(s_t.name, sizeof s_t.name, "drover-test/check_mpi/%d-%u",
             (int)getpid(), seq++);
    ck_assert_int_eq(msi_secret_new(s_t.token), 0);
    ck_assert_int_eq(mpi_srv_new(s_t.name, s_t.token, &s_t.srv), 0);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 0);
    ck_assert_uint_eq(mpi_srv_nfds(s_t.srv), 1);
}

static void s_srv_teardown(void)
{
    mpi_srv_destroy(&s_t.srv);
    free(s_t.calls.command);
    s_t.calls.command = NULL;
}

/* One pass of a loop such as the agent's: poll the server's fds up to
 * `ms`, hand it what is ready. */
static void s_pump(int ms)
{
    if (!s_t.srv) {
        poll(NULL, 0, ms);
        return;
    }
    size_t n = mpi_srv_nfds(s_t.srv);
    struct pollfd *p = dr_calloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        int r = -1, w = -1;
        p[i].fd = mpi_srv_fd(s_t.srv, i, &r, &w);
        ck_assert(r == 0 || r == 1);
        ck_assert(w == 0 || w == 1);
        p[i].events = (short)((r ? POLLIN : 0) | (w ? POLLOUT : 0));
    }
    int rc = poll(p, (nfds_t)n, ms);
    for (size_t i = 0; rc > 0 && i < n; i++)
        if (p[i].revents)
            mpi_srv_on_fd(s_t.srv, p[i].fd,
                          !!(p[i].revents & (POLLIN | POLLHUP | POLLERR)),
                          !!(p[i].revents & POLLOUT), s_on_launch, &s_t.calls);
    free(p);
}

/* Pumps until cond() or `ms` pass; cond() then. */
static int s_pump_until(int (*cond)(void), int ms)
{
    int64_t end = dr_mono_ms() + ms;
    while (!cond() && dr_mono_ms() < end)
        s_pump(5);
    return cond();
}

static int s_no_conns(void)
{
    return mpi_srv_nconns(s_t.srv) == 0;
}

static int s_one_call(void)
{
    return s_t.calls.n >= 1;
}

/* Pumps until the callback has had `n` requests in all. */
static void s_wait_calls(int n)
{
    int64_t end = dr_mono_ms() + 5000;
    while (s_t.calls.n < n && dr_mono_ms() < end)
        s_pump(5);
    ck_assert_int_eq(s_t.calls.n, n);
}

/* A launcher's end of the socket: connected, non-blocking. */
static int s_client(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t nlen = strlen(name);
    memcpy(sa.sun_path + 1, name, nlen);
    socklen_t len =
        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + nlen);
    if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
        close(fd);
        return -1;
    }
    ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    return fd;
}

/* Sends it all, pumping the server while the socket is full. */
static void s_send(int fd, const void *data, size_t n)
{
    const char *p = data;
    int64_t end = dr_mono_ms() + 10000;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            ck_assert_msg(errno == EAGAIN || errno == EINTR, "send: %s",
                          strerror(errno));
            ck_assert_msg(dr_mono_ms() < end, "send stalls");
            s_pump(5);
            continue;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void s_send_str(int fd, const char *s)
{
    s_send(fd, s, strlen(s));
}

/* Reads what the server sends until it closes the connection, pumping it
 * meanwhile: 0 at EOF, 1 when reset (it closed with bytes of ours unread),
 * -1 when `ms` pass first. */
static int s_collect(int fd, dr_buf_t *in, int ms)
{
    int64_t end = dr_mono_ms() + ms;
    while (dr_mono_ms() < end) {
        s_pump(5);
        for (;;) {
            char buf[65536];
            ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (r > 0) {
                dr_buf_append(in, buf, (size_t)r);
                continue;
            }
            if (r == 0)
                return 0;
            if (errno == ECONNRESET)
                return 1;
            ck_assert_msg(errno == EAGAIN || errno == EINTR, "recv: %s",
                          strerror(errno));
            if (errno == EAGAIN)
                break;
        }
    }
    return -1;
}

/* Whatever has arrived so far, without waiting for the end. */
static void s_drain(int fd, dr_buf_t *in)
{
    for (int i = 0; i < 20; i++) {
        s_pump(2);
        char buf[65536];
        ssize_t r;
        while ((r = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
            dr_buf_append(in, buf, (size_t)r);
    }
}

typedef struct {
    int type;
    const char *data;
    size_t n;
} s_frame_t;

/* Splits what arrived into frames: how many, or -1 when it ends inside
 * one or holds more than `max`. */
static int s_frames(const dr_buf_t *in, s_frame_t *f, int max)
{
    size_t off = 0;
    int k = 0;
    while (off < in->len) {
        if (in->len - off < 5 || k == max)
            return -1;
        const unsigned char *h = (const unsigned char *)in->data + off;
        size_t n =
            (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
        if (in->len - off - 5 < n)
            return -1;
        f[k].type = h[0];
        f[k].data = in->data + off + 5;
        f[k].n = n;
        k++;
        off += 5 + n;
    }
    return k;
}

static uint32_t s_be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 |
           u[3];
}

/* The frame is an exit with `status`, and its message holds `why`
 * (NULL: it has none). */
static void s_assert_exit(const s_frame_t *f, uint32_t status, const char *why)
{
    ck_assert_int_eq(f->type, MPI_FRAME_EXIT);
    ck_assert_uint_ge(f->n, 4);
    ck_assert_uint_eq(s_be32(f->data), status);
    if (!why) {
        ck_assert_uint_eq(f->n, 4);
        return;
    }
    char *msg = dr_strndup(f->data + 4, f->n - 4);
    ck_assert_msg(strstr(msg, why), "exit message '%s' lacks '%s'", msg, why);
    free(msg);
}

static char *s_request(const char *token, const char *host, const char *command)
{
    return dr_asprintf("%s %s %s %zu\n%s", MPI_LAUNCH_MAGIC, token, host,
                       strlen(command), command);
}

/* Sends `req` on a new connection and expects it refused: one exit frame,
 * 255, `why`, then a clean EOF; no launch.  The server keeps its end open
 * until the launcher closes (it may still be writing its request). */
static void s_expect_refused(const void *req, size_t n, const char *why)
{
    int calls = s_t.calls.n;
    int fd = s_client(s_t.name);
    ck_assert_int_ge(fd, 0);
    s_send(fd, req, n);
    dr_buf_t in = {0};
    char *what = dr_strndup(req, n < 60 ? n : 60); /* for the messages */
    int end = s_collect(fd, &in, 5000);
    ck_assert_msg(end == 0, "'%s': %s", what, end > 0 ? "reset" : "no EOF");
    s_frame_t f[4];
    ck_assert_msg(s_frames(&in, f, 4) == 1, "not one frame for '%s'", what);
    s_assert_exit(&f[0], 255, why);
    ck_assert_msg(s_t.calls.n == calls, "'%s' was launched", what);
    free(what);
    s_pump(1);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 1);
    close(fd);
    ck_assert(s_pump_until(s_no_conns, 2000));
    dr_buf_free(&in);
}

START_TEST(test_srv_launch)
{
    int fd = s_client(s_t.name);
    ck_assert_int_ge(fd, 0);
    char *req = s_request(s_t.token, "node2", "orted -mca ess env");
    s_send_str(fd, req);
    free(req);
    ck_assert(s_pump_until(s_one_call, 5000));
    ck_assert_int_eq(s_t.calls.n, 1);
    ck_assert_uint_gt(s_t.calls.id[0], 0);
    ck_assert_str_eq(s_t.calls.host, "node2");
    ck_assert_str_eq(s_t.calls.command, "orted -mca ess env");
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 1);
    ck_assert_uint_eq(mpi_srv_nfds(s_t.srv), 2);

    /* the command runs: nothing comes until it prints */
    dr_buf_t in = {0};
    s_drain(fd, &in);
    ck_assert_uint_eq(in.len, 0);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 1);

    uint64_t id = s_t.calls.id[0];
    mpi_srv_output(s_t.srv, id, 0, "out", 3);
    mpi_srv_output(s_t.srv, id, 1, "err", 3);
    mpi_srv_output(s_t.srv, id, 0, "", 0); /* nothing: no frame */
    mpi_srv_exit(s_t.srv, id, 3, NULL);
    ck_assert_int_eq(s_collect(fd, &in, 5000), 0);
    s_frame_t f[8];
    ck_assert_int_eq(s_frames(&in, f, 8), 3);
    ck_assert_int_eq(f[0].type, MPI_FRAME_STDOUT);
    ck_assert_uint_eq(f[0].n, 3);
    ck_assert_int_eq(memcmp(f[0].data, "out", 3), 0);
    ck_assert_int_eq(f[1].type, MPI_FRAME_STDERR);
    ck_assert_uint_eq(f[1].n, 3);
    ck_assert_int_eq(memcmp(f[1].data, "err", 3), 0);
    s_assert_exit(&f[2], 3, NULL);
    /* the exact bytes on the wire */
    ck_assert_uint_eq(in.len, 8 + 8 + 9);
    ck_assert_int_eq(memcmp(in.data + 16, "x\0\0\0\4\0\0\0\3", 9), 0);

    ck_assert(s_pump_until(s_no_conns, 2000));
    ck_assert_int_eq(s_t.calls.n, 1);
    /* the id is gone with its connection: late news is ignored */
    mpi_srv_output(s_t.srv, id, 0, "late", 4);
    mpi_srv_exit(s_t.srv, id, 0, NULL);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 0);
    dr_buf_free(&in);
    close(fd);
}
END_TEST

START_TEST(test_srv_wrong_token)
{
    char bad[MSI_SECRET_LEN + 1];
    snprintf(bad, sizeof bad, "%s", s_t.token);
    bad[0] = bad[0] == 'a' ? 'b' : 'a';
    char *req = s_request(bad, "node2", "true");
    s_expect_refused(req, strlen(req), "wrong launch token");
    free(req);
    /* the right one upper-cased, one char short or long, another task's */
    char other[MSI_SECRET_LEN + 1];
    ck_assert_int_eq(msi_secret_new(other), 0);
    char upper[MSI_SECRET_LEN + 1];
    for (size_t i = 0; i <= MSI_SECRET_LEN; i++)
        upper[i] = (s_t.token[i] >= 'a' && s_t.token[i] <= 'f')
                       ? (char)(s_t.token[i] - 'a' + 'A')
                       : s_t.token[i];
    char *tokens[] = {upper, dr_strndup(s_t.token, MSI_SECRET_LEN - 1),
                      dr_asprintf("%s0", s_t.token), other};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(tokens[i], s_t.token) == 0)
            continue; /* a token of digits alone: no upper case */
        req = s_request(tokens[i], "node2", "true");
        s_expect_refused(req, strlen(req), "wrong launch token");
        free(req);
    }
    free(tokens[1]);
    free(tokens[2]);
    ck_assert_int_eq(s_t.calls.n, 0);
}
END_TEST

START_TEST(test_srv_malformed)
{
    const char *t = s_t.token;
    char *bad[] = {
        dr_asprintf("DRL2 %s node2 4\ntrue", t),    /* magic */
        dr_asprintf("drl1 %s node2 4\ntrue", t),    /* magic's case */
        dr_asprintf("DRL1 %s node2 four\ntrue", t), /* length */
        dr_asprintf("DRL1 %s node2 4x\ntrue", t),   /* length */
        dr_asprintf("DRL1 %s node2 -4\ntrue", t),   /* length */
        dr_asprintf("DRL1 %s node2 0\n", t),        /* empty command */
        dr_asprintf("DRL1 %s node2 %u\n", t,        /* too long */
                    MPI_LAUNCH_MAX_COMMAND + 1),
        dr_asprintf("DRL1 %s node2 99999999999999999999999\ntrue", t),
        dr_asprintf("DRL1 %s no/de 4\ntrue", t), /* host */
        dr_asprintf("DRL1 %s ../x 4\ntrue", t),  /* host */
        dr_asprintf("DRL1 %s -node 4\ntrue", t), /* host */
        dr_asprintf("DRL1 %s %s 4\ntrue", t,     /* host too long */
                    "n234567890123456789012345678901234567890123456789012"
                    "345678901234"),
        dr_asprintf("DRL1 %s node2 4 5\ntrue", t), /* extra field */
        dr_asprintf("DRL1 %s node2 4 \ntrue", t),  /* trailing blank */
        dr_asprintf("DRL1 %s node2\ntrue", t),     /* no length */
        dr_asprintf("DRL1 %s\ntrue", t),           /* no host */
        dr_asprintf("DRL1\ntrue"),                 /* nothing */
        dr_asprintf("\ntrue"),                     /* empty header */
    };
    size_t nbad = sizeof bad / sizeof bad[0];
    for (size_t i = 0; i < nbad; i++) {
        s_expect_refused(bad[i], strlen(bad[i]), "malformed request");
        free(bad[i]);
    }
    /* a NUL inside the header */
    char *nul = dr_asprintf("DRL1 %s node2 4\ntrue", t);
    nul[4] = '\0';
    s_expect_refused(nul, strlen(t) + 18, "malformed request");
    free(nul);
    /* a malformed header is refused before its token is looked at */
    char *both = dr_asprintf("DRL1 %s no/de 4\ntrue", "0123");
    s_expect_refused(both, strlen(both), "malformed request");
    free(both);
    ck_assert_int_eq(s_t.calls.n, 0);
}
END_TEST

START_TEST(test_srv_header_too_long)
{
    char big[600];
    memset(big, 'A', sizeof big);
    s_expect_refused(big, sizeof big, "request header too long");
    /* long, with its newline too late */
    char *late = dr_malloc(601 + 4);
    memset(late, 'B', 600);
    memcpy(late + 600, "\ntru", 5);
    s_expect_refused(late, 604, "request header too long");
    free(late);
    /* way too long, in one go: refused all the same */
    size_t huge = 20000;
    char *h = dr_malloc(huge);
    memset(h, 'C', huge);
    s_expect_refused(h, huge, "request header too long");
    free(h);

    /* 512 bytes and no newline yet: it waits; the newline then makes it a
     * (malformed) header, not a too long one */
    int fd = s_client(s_t.name);
    memset(big, 'D', 512);
    s_send(fd, big, 512);
    dr_buf_t in = {0};
    s_drain(fd, &in);
    ck_assert_uint_eq(in.len, 0);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 1);
    s_send_str(fd, "\n");
    ck_assert_int_ge(s_collect(fd, &in, 5000), 0);
    s_frame_t f[2];
    ck_assert_int_eq(s_frames(&in, f, 2), 1);
    s_assert_exit(&f[0], 255, "malformed request");
    dr_buf_free(&in);
    close(fd);
    ck_assert_int_eq(s_t.calls.n, 0);
}
END_TEST

/* Regression: a request was refused as soon as its header was read, and
 * the connection closed at once, while drover-launch was still writing its
 * command: the launcher died of SIGPIPE (1 run in 4) instead of printing
 * why.  Now the server drops what still comes until the launcher closes. */
START_TEST(test_srv_refused_linger)
{
    char other[MSI_SECRET_LEN + 1];
    ck_assert_int_eq(msi_secret_new(other), 0);
    char *req = s_request(other, "node2", "orted --with a long command");
    char *cmd = strchr(req, '\n') + 1;
    int fd = s_client(s_t.name);
    s_send(fd, req, (size_t)(cmd - req)); /* the header alone */
    dr_buf_t in = {0};
    ck_assert_int_eq(s_collect(fd, &in, 5000), 0); /* why, then EOF */
    s_frame_t f[2];
    ck_assert_int_eq(s_frames(&in, f, 2), 1);
    s_assert_exit(&f[0], 255, "wrong launch token");
    /* the rest of the request still goes, and is dropped */
    ck_assert_int_eq(send(fd, cmd, strlen(cmd), MSG_NOSIGNAL),
                     (ssize_t)strlen(cmd));
    for (int i = 0; i < 5; i++)
        s_pump(1);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 1);
    int r = 0, w = 1;
    mpi_srv_fd(s_t.srv, 1, &r, &w);
    ck_assert_int_eq(r, 1);
    ck_assert_int_eq(w, 0);
    close(fd);
    ck_assert(s_pump_until(s_no_conns, 2000));
    free(req);

    /* but not without end: past a whole request's worth, it hangs up */
    fd = s_client(s_t.name);
    s_send_str(fd, "DRL1 x y z\n");
    in.len = 0;
    ck_assert_int_eq(s_collect(fd, &in, 5000), 0);
    ck_assert_int_eq(s_frames(&in, f, 2), 1);
    s_assert_exit(&f[0], 255, "malformed request");
    char junk[4096];
    memset(junk, 'j', sizeof junk);
    size_t sent = 0;
    int64_t end = dr_mono_ms() + 10000;
    while (dr_mono_ms() < end) {
        ssize_t n = send(fd, junk, sizeof junk, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            sent += (size_t)n;
        else if (errno == EPIPE || errno == ECONNRESET)
            break;
        s_pump(1);
    }
    ck_assert_msg(dr_mono_ms() < end, "still reading after %zu bytes", sent);
    ck_assert_uint_ge(sent, MPI_LAUNCH_MAX_COMMAND);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 0);
    close(fd);
    dr_buf_free(&in);
}
END_TEST

START_TEST(test_srv_split_and_extra)
{
    /* a byte at a time */
    int fd = s_client(s_t.name);
    char *req = s_request(s_t.token, "node-3_x", "sh -c 'echo a\nb'");
    for (size_t i = 0; req[i]; i++) {
        s_send(fd, req + i, 1);
        for (int k = 0; k < 3; k++)
            s_pump(0);
        if (req[i + 1])
            ck_assert_int_eq(s_t.calls.n, 0);
    }
    ck_assert(s_pump_until(s_one_call, 5000));
    ck_assert_str_eq(s_t.calls.host, "node-3_x");
    ck_assert_str_eq(s_t.calls.command, "sh -c 'echo a\nb'");
    mpi_srv_exit(s_t.srv, s_t.calls.id[0], 0, NULL);
    dr_buf_t in = {0};
    ck_assert_int_eq(s_collect(fd, &in, 5000), 0);
    s_frame_t f[2];
    ck_assert_int_eq(s_frames(&in, f, 2), 1);
    s_assert_exit(&f[0], 0, NULL);
    close(fd);
    free(req);

    /* header, then the command in two pieces */
    fd = s_client(s_t.name);
    req = s_request(s_t.token, "node2", "0123456789");
    char *cmd = strchr(req, '\n') + 1;
    s_send(fd, req, (size_t)(cmd - req));
    s_drain(fd, &in);
    s_send(fd, cmd, 4);
    s_drain(fd, &in);
    ck_assert_int_eq(s_t.calls.n, 1);
    s_send_str(fd, cmd + 4);
    s_wait_calls(2);
    ck_assert_str_eq(s_t.calls.command, "0123456789");
    ck_assert_uint_ne(s_t.calls.id[1], s_t.calls.id[0]);
    mpi_srv_exit(s_t.srv, s_t.calls.id[1], 1, NULL);
    in.len = 0;
    ck_assert_int_eq(s_collect(fd, &in, 5000), 0);
    ck_assert_int_eq(s_frames(&in, f, 2), 1);
    s_assert_exit(&f[0], 1, NULL);
    close(fd);
    free(req);

    /* more bytes than the header said */
    req = s_request(s_t.token, "node2", "true");
    char *more = dr_asprintf("%sEXTRA", req);
    s_expect_refused(more, strlen(more), "malformed command");
    free(more);
    /* the extra bytes in the piece that completes the command */
    fd = s_client(s_t.name);
    s_send(fd, req, strlen(req) - 2);
    s_drain(fd, &in);
    s_send_str(fd, "uee");
    in.len = 0;
    ck_assert_int_ge(s_collect(fd, &in, 5000), 0);
    ck_assert_int_eq(s_frames(&in, f, 2), 1);
    s_assert_exit(&f[0], 255, "malformed command");
    close(fd);
    free(req);
    /* a NUL inside the command */
    dr_buf_t nul = {0};
    dr_buf_printf(&nul, "DRL1 %s node2 5\n", s_t.token);
    dr_buf_append(&nul, "ab\0cd", 5);
    s_expect_refused(nul.data, nul.len, "malformed command");
    dr_buf_free(&nul);
    ck_assert_int_eq(s_t.calls.n, 2);
    ck_assert(s_pump_until(s_no_conns, 2000));
    dr_buf_free(&in);
}
END_TEST

START_TEST(test_srv_longest_command)
{
    size_t n = MPI_LAUNCH_MAX_COMMAND;
    char *cmd = dr_malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        cmd[i] = (char)('a' + i % 26);
    cmd[n] = '\0';
    int fd = s_client(s_t.name);
    char *req = s_request(s_t.token, "node2", cmd);
    s_send_str(fd, req);
    ck_assert(s_pump_until(s_one_call, 5000));
    ck_assert_uint_eq(strlen(s_t.calls.command), n);
    ck_assert_str_eq(s_t.calls.command, cmd);
    mpi_srv_exit(s_t.srv, s_t.calls.id[0], 0, NULL);
    dr_buf_t in = {0};
    ck_assert_int_eq(s_collect(fd, &in, 5000), 0);
    dr_buf_free(&in);
    close(fd);
    free(req);
    free(cmd);
}
END_TEST

static int s_nconns_is_1(void)
{
    return mpi_srv_nconns(s_t.srv) == 1;
}

START_TEST(test_srv_client_leaves)
{
    /* before a byte */
    int fd = s_client(s_t.name);
    ck_assert(s_pump_until(s_nconns_is_1, 2000));
    close(fd);
    ck_assert(s_pump_until(s_no_conns, 2000));

    /* in the middle of the header */
    char *req = s_request(s_t.token, "node2", "hostname");
    fd = s_client(s_t.name);
    s_send(fd, req, 10);
    ck_assert(s_pump_until(s_nconns_is_1, 2000));
    close(fd);
    ck_assert(s_pump_until(s_no_conns, 2000));

    /* with the command half sent */
    fd = s_client(s_t.name);
    s_send(fd, req, strlen(req) - 3);
    ck_assert(s_pump_until(s_nconns_is_1, 2000));
    close(fd);
    ck_assert(s_pump_until(s_no_conns, 2000));
    ck_assert_int_eq(s_t.calls.n, 0);

    /* while its command runs (mpirun killed it): the connection goes,
     * what comes for it later is dropped */
    fd = s_client(s_t.name);
    s_send_str(fd, req);
    ck_assert(s_pump_until(s_one_call, 5000));
    close(fd);
    ck_assert(s_pump_until(s_no_conns, 2000));
    mpi_srv_output(s_t.srv, s_t.calls.id[0], 0, "late\n", 5);
    mpi_srv_exit(s_t.srv, s_t.calls.id[0], 0, "gone");
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 0);
    free(req);
}
END_TEST

/* A connection that never sends a whole request is closed at its
 * deadline; one whose launch runs is not. */
START_TEST(test_srv_request_timeout)
{
    int idle = s_client(s_t.name);
    ck_assert(s_pump_until(s_nconns_is_1, 2000));
    int64_t now = dr_mono_ms();
    ck_assert(mpi_srv_tick(s_t.srv, now) <= now + MPI_REQUEST_TIMEOUT_MS);
    ck_assert(mpi_srv_tick(s_t.srv, now) > now);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 1);
    char *req = s_request(s_t.token, "node2", "hostname");
    int busy = s_client(s_t.name);
    s_send_str(busy, req);
    free(req);
    ck_assert(s_pump_until(s_one_call, 5000));
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 2);
    int64_t later = dr_mono_ms() + MPI_REQUEST_TIMEOUT_MS + 1000;
    ck_assert(mpi_srv_tick(s_t.srv, later) == INT64_MAX);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 1); /* the busy one */
    char c;
    ck_assert_int_eq(read(idle, &c, 1), 0); /* closed */
    close(idle);
    close(busy);
}
END_TEST

START_TEST(test_srv_exit_message)
{
    int fd = s_client(s_t.name);
    char *req = s_request(s_t.token, "node7", "orted");
    s_send_str(fd, req);
    free(req);
    ck_assert(s_pump_until(s_one_call, 5000));
    uint64_t id = s_t.calls.id[0];
    /* unknown ids change nothing */
    mpi_srv_output(s_t.srv, id + 1, 0, "stray", 5);
    mpi_srv_exit(s_t.srv, id + 1, 9, "stray");
    mpi_srv_output(s_t.srv, 0, 0, "stray", 5);
    mpi_srv_exit(s_t.srv, 0, 9, "stray");
    dr_buf_t in = {0};
    s_drain(fd, &in);
    ck_assert_uint_eq(in.len, 0);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 1);

    mpi_srv_exit(s_t.srv, id, 255, "node node7 is gone");
    /* after its exit, nothing more goes out for it */
    mpi_srv_output(s_t.srv, id, 0, "after", 5);
    mpi_srv_exit(s_t.srv, id, 0, NULL);
    ck_assert_int_eq(s_collect(fd, &in, 5000), 0);
    s_frame_t f[4];
    ck_assert_int_eq(s_frames(&in, f, 4), 1);
    ck_assert_int_eq(f[0].type, MPI_FRAME_EXIT);
    ck_assert_uint_eq(f[0].n, 4 + strlen("node node7 is gone"));
    ck_assert_uint_eq(s_be32(f[0].data), 255);
    ck_assert_int_eq(memcmp(f[0].data + 4, "node node7 is gone", 18), 0);
    close(fd);

    /* an empty error is no error; a negative status goes as its bits */
    fd = s_client(s_t.name);
    req = s_request(s_t.token, "node7", "orted");
    s_send_str(fd, req);
    free(req);
    s_wait_calls(2);
    mpi_srv_exit(s_t.srv, s_t.calls.id[1], -1, "");
    in.len = 0;
    ck_assert_int_eq(s_collect(fd, &in, 5000), 0);
    ck_assert_int_eq(s_frames(&in, f, 4), 1);
    s_assert_exit(&f[0], 0xffffffffu, NULL);
    close(fd);
    dr_buf_free(&in);
}
END_TEST

START_TEST(test_srv_answer_at_once)
{
    s_t.calls.at_once = 1;
    int fd = s_client(s_t.name);
    char *req = s_request(s_t.token, "node2", "true");
    s_send_str(fd, req);
    free(req);
    dr_buf_t in = {0};
    ck_assert_int_eq(s_collect(fd, &in, 5000), 0);
    ck_assert_int_eq(s_t.calls.n, 1);
    s_frame_t f[4];
    ck_assert_int_eq(s_frames(&in, f, 4), 2);
    ck_assert_int_eq(f[0].type, MPI_FRAME_STDOUT);
    ck_assert_int_eq(memcmp(f[0].data, "now\n", 4), 0);
    s_assert_exit(&f[1], 0, NULL);
    ck_assert(s_pump_until(s_no_conns, 2000));
    dr_buf_free(&in);
    close(fd);
}
END_TEST

START_TEST(test_srv_concurrent)
{
    int fd[3];
    const char *host[] = {"n1", "n2", "n3"};
    for (int i = 0; i < 3; i++) {
        fd[i] = s_client(s_t.name);
        ck_assert_int_ge(fd[i], 0);
    }
    /* sent in reverse order, so that ids do not follow connections */
    for (int i = 2; i >= 0; i--) {
        char *cmd = dr_asprintf("orted %d", i);
        char *req = s_request(s_t.token, host[i], cmd);
        s_send_str(fd[i], req);
        free(req);
        free(cmd);
        s_wait_calls(3 - i);
        ck_assert_str_eq(s_t.calls.host, host[i]);
    }
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 3);
    ck_assert_uint_ne(s_t.calls.id[0], s_t.calls.id[1]);
    ck_assert_uint_ne(s_t.calls.id[1], s_t.calls.id[2]);
    ck_assert_uint_ne(s_t.calls.id[0], s_t.calls.id[2]);
    /* id[k] belongs to fd[2 - k]; the middle one ends first */
    for (int k = 0; k < 3; k++) {
        char *msg = dr_asprintf("from %d", 2 - k);
        mpi_srv_output(s_t.srv, s_t.calls.id[k], k & 1, msg, strlen(msg));
        free(msg);
    }
    mpi_srv_exit(s_t.srv, s_t.calls.id[1], 11, NULL);
    dr_buf_t in = {0};
    ck_assert_int_eq(s_collect(fd[1], &in, 5000), 0);
    s_frame_t f[4];
    ck_assert_int_eq(s_frames(&in, f, 4), 2);
    ck_assert_int_eq(f[0].type, MPI_FRAME_STDERR);
    ck_assert_uint_eq(f[0].n, 6);
    ck_assert_int_eq(memcmp(f[0].data, "from 1", 6), 0);
    s_assert_exit(&f[1], 11, NULL);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 2);
    mpi_srv_exit(s_t.srv, s_t.calls.id[0], 10, NULL);
    mpi_srv_exit(s_t.srv, s_t.calls.id[2], 12, NULL);
    for (int i = 0; i < 3; i += 2) {
        in.len = 0;
        ck_assert_int_eq(s_collect(fd[i], &in, 5000), 0);
        ck_assert_int_eq(s_frames(&in, f, 4), 2);
        char *want = dr_asprintf("from %d", i);
        ck_assert_uint_eq(f[0].n, strlen(want));
        ck_assert_int_eq(memcmp(f[0].data, want, f[0].n), 0);
        free(want);
        s_assert_exit(&f[1], (uint32_t)(10 + (2 - i)), NULL);
        close(fd[i]);
    }
    close(fd[1]);
    ck_assert(s_pump_until(s_no_conns, 2000));
    dr_buf_free(&in);
}
END_TEST

START_TEST(test_srv_backpressure)
{
    int fd = s_client(s_t.name);
    char *req = s_request(s_t.token, "node2", "cat big");
    s_send_str(fd, req);
    free(req);
    ck_assert(s_pump_until(s_one_call, 5000));
    uint64_t id = s_t.calls.id[0];

    /* 4 MiB while the launcher reads nothing: more than the socket holds */
    size_t chunk = 64u << 10, total = 4u << 20;
    char *data = dr_malloc(chunk);
    for (size_t off = 0; off < total; off += chunk) {
        for (size_t i = 0; i < chunk; i++)
            data[i] = (char)((off + i) % 251);
        mpi_srv_output(s_t.srv, id, 0, data, chunk);
    }
    free(data);
    mpi_srv_exit(s_t.srv, id, 0, NULL);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 1);
    int r = 0, w = 0;
    mpi_srv_fd(s_t.srv, 1, &r, &w);
    ck_assert_int_eq(r, 0); /* done reading: its exit is queued */
    ck_assert_int_eq(w, 1);

    dr_buf_t in = {0};
    ck_assert_int_eq(s_collect(fd, &in, 10000), 0);
    s_frame_t *f = dr_calloc(128, sizeof *f);
    int nf = s_frames(&in, f, 128);
    ck_assert_int_eq(nf, (int)(total / chunk) + 1);
    size_t got = 0;
    for (int k = 0; k < nf - 1; k++) {
        ck_assert_int_eq(f[k].type, MPI_FRAME_STDOUT);
        for (size_t i = 0; i < f[k].n; i++)
            if ((unsigned char)f[k].data[i] != (got + i) % 251)
                ck_abort_msg("byte %zu is wrong", got + i);
        got += f[k].n;
    }
    ck_assert_uint_eq(got, total);
    s_assert_exit(&f[nf - 1], 0, NULL);
    ck_assert(s_pump_until(s_no_conns, 2000));
    free(f);
    dr_buf_free(&in);
    close(fd);
}
END_TEST

START_TEST(test_srv_max_conns)
{
    /* 256 connections at once; more are closed as they come */
    enum { NCONN = 256 }; /* the server's limit */
    int fd[NCONN + 1];
    for (int i = 0; i <= NCONN; i++) {
        fd[i] = s_client(s_t.name);
        ck_assert_int_ge(fd[i], 0);
        s_pump(0);
    }
    for (int i = 0; i < 10; i++)
        s_pump(1);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), NCONN);
    ck_assert_uint_eq(mpi_srv_nfds(s_t.srv), NCONN + 1);
    dr_buf_t in = {0};
    ck_assert_int_eq(s_collect(fd[NCONN], &in, 2000), 0);
    ck_assert_uint_eq(in.len, 0);
    close(fd[NCONN]);
    /* the others still work */
    char *req = s_request(s_t.token, "node2", "true");
    s_send_str(fd[NCONN - 1], req);
    free(req);
    ck_assert(s_pump_until(s_one_call, 5000));
    mpi_srv_exit(s_t.srv, s_t.calls.id[0], 0, NULL);
    ck_assert_int_eq(s_collect(fd[NCONN - 1], &in, 2000), 0);
    ck_assert_uint_eq(in.len, 9);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), NCONN - 1);
    /* and one leaving makes room for another */
    fd[NCONN] = s_client(s_t.name);
    for (int i = 0; i < 10; i++)
        s_pump(1);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), NCONN);
    for (int i = 0; i <= NCONN; i++)
        close(fd[i]);
    ck_assert(s_pump_until(s_no_conns, 5000));
    dr_buf_free(&in);
}
END_TEST

START_TEST(test_srv_destroy_closes)
{
    int fd = s_client(s_t.name);
    char *req = s_request(s_t.token, "node2", "sleep 100");
    s_send_str(fd, req);
    free(req);
    ck_assert(s_pump_until(s_one_call, 5000));
    int idle = s_client(s_t.name);
    s_pump(5);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 2);
    mpi_srv_destroy(&s_t.srv);
    ck_assert_ptr_null(s_t.srv);
    mpi_srv_destroy(&s_t.srv); /* NULL is fine */
    dr_buf_t in = {0};
    ck_assert_int_eq(s_collect(fd, &in, 2000), 0);
    ck_assert_uint_eq(in.len, 0); /* EOF, no exit frame */
    ck_assert_int_eq(s_collect(idle, &in, 2000), 0);
    close(fd);
    close(idle);
    /* the name is free again */
    ck_assert_int_lt(s_client(s_t.name), 0);
    ck_assert_int_eq(mpi_srv_new(s_t.name, s_t.token, &s_t.srv), 0);
    dr_buf_free(&in);
}
END_TEST

START_TEST(test_srv_new_errors)
{
    mpi_srv_t *srv = NULL;
    /* tokens of the wrong length */
    char *tokens[] = {dr_strdup(""), dr_strdup("abc"),
                      dr_strndup(s_t.token, MSI_SECRET_LEN - 1),
                      dr_asprintf("%sa", s_t.token)};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(mpi_srv_new("drover-test/x", tokens[i], &srv),
                         DR_EINVAL);
        free(tokens[i]);
    }
    ck_assert_ptr_null(srv);

    /* the longest name sun_path holds, and one more */
    struct sockaddr_un sa;
    size_t room = sizeof sa.sun_path - 1; /* after the leading NUL */
    char *name = dr_asprintf("drover-test/%d/", (int)getpid());
    size_t have = strlen(name);
    name = dr_realloc(name, room + 2);
    memset(name + have, 'n', room + 1 - have);
    name[room + 1] = '\0';
    ck_assert_int_eq(mpi_srv_new(name, s_t.token, &srv), DR_EINVAL);
    ck_assert_ptr_null(srv);
    name[room] = '\0';
    ck_assert_int_eq(mpi_srv_new(name, s_t.token, &srv), 0);
    int fd = s_client(name);
    ck_assert_int_ge(fd, 0);
    close(fd);
    mpi_srv_destroy(&srv);
    free(name);

    /* one name, one server */
    ck_assert_int_eq(mpi_srv_new(s_t.name, s_t.token, &srv), DR_ESYS);
    ck_assert_int_eq(errno, EADDRINUSE);
    ck_assert_ptr_null(srv);
}
END_TEST

/* ---- drover-launch --------------------------------------------------------
 */

static char *s_launcher(void)
{
    const char *bin = getenv("DROVER_BIN");
    char *path;
    if (bin && *bin) {
        path = dr_asprintf("%s/drover-launch", bin);
    } else {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        ck_assert_int_gt(n, 0);
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        ck_assert_ptr_nonnull(slash);
        *slash = '\0';
        path = dr_asprintf("%s/drover-launch", self);
    }
    ck_assert_msg(access(path, X_OK) == 0, "no launcher at %s", path);
    return path;
}

/* How the test answers a request that reaches it during s_run. */
static struct {
    int on;
    const char *out, *err; /* printed first (NULL: nothing) */
    int status;
    const char *error;
    int destroy; /* the agent goes away instead */
} s_answer;

typedef struct {
    int status; /* exit code, or 1000 + signal */
    dr_buf_t out, err;
} s_run_t;

static void s_drain_pipe(int *fd, dr_buf_t *b)
{
    if (*fd < 0)
        return;
    char buf[4096];
    for (;;) {
        ssize_t r = read(*fd, buf, sizeof buf);
        if (r > 0) {
            dr_buf_append(b, buf, (size_t)r);
            continue;
        }
        if (r == 0) {
            close(*fd);
            *fd = -1;
        }
        return;
    }
}

/* Runs drover-launch with argv (after argv[0]) and env, serving s_t.srv
 * meanwhile, until it exits and its output ends. */
static void s_run(char *const *args, char *const *env, s_run_t *run)
{
    char *path = s_launcher();
    char *argv[16] = {path};
    for (size_t i = 0; args[i]; i++) {
        ck_assert_uint_lt(i + 2, 16);
        argv[i + 1] = args[i];
    }
    int po[2], pe[2];
    ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(pe, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        execve(path, argv, env);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    fcntl(po[0], F_SETFL, O_NONBLOCK);
    fcntl(pe[0], F_SETFL, O_NONBLOCK);
    memset(run, 0, sizeof *run);
    run->status = -1;
    int answered = s_t.calls.n;
    int64_t end = dr_mono_ms() + 20000;
    while ((run->status < 0 || po[0] >= 0 || pe[0] >= 0) &&
           dr_mono_ms() < end) {
        s_pump(5);
        if (s_answer.on && s_t.calls.n > answered) {
            uint64_t id = s_t.calls.id[answered];
            answered = s_t.calls.n;
            if (s_answer.destroy) {
                mpi_srv_destroy(&s_t.srv);
            } else {
                if (s_answer.out)
                    mpi_srv_output(s_t.srv, id, 0, s_answer.out,
                                   strlen(s_answer.out));
                if (s_answer.err)
                    mpi_srv_output(s_t.srv, id, 1, s_answer.err,
                                   strlen(s_answer.err));
                mpi_srv_exit(s_t.srv, id, s_answer.status, s_answer.error);
            }
        }
        s_drain_pipe(&po[0], &run->out);
        s_drain_pipe(&pe[0], &run->err);
        int ws;
        if (run->status < 0 && waitpid(pid, &ws, WNOHANG) == pid)
            run->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 1000 + WTERMSIG(ws);
    }
    if (run->status < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ck_abort_msg("drover-launch did not end; stderr: %s", s_str(&run->err));
    }
    if (po[0] >= 0)
        close(po[0]);
    if (pe[0] >= 0)
        close(pe[0]);
    free(path);
}

static void s_run_free(s_run_t *run)
{
    dr_buf_free(&run->out);
    dr_buf_free(&run->err);
}

static void s_assert_has(const dr_buf_t *b, const char *what)
{
    ck_assert_msg(strstr(s_str(b), what), "'%s' lacks '%s'", s_str(b), what);
}

/* The launcher's environment, pointing at the test's server. */
static char **s_env(const char *sock, const char *token)
{
    static char *env[4];
    static char s[200], t[200];
    size_t n = 0;
    env[n++] = "PATH=/usr/bin:/bin";
    if (sock) {
        snprintf(s, sizeof s, "DROVER_LAUNCH_SOCKET=%s", sock);
        env[n++] = s;
    }
    if (token) {
        snprintf(t, sizeof t, "DROVER_LAUNCH_TOKEN=%s", token);
        env[n++] = t;
    }
    env[n] = NULL;
    return env;
}

START_TEST(test_launch_no_job)
{
    char *sock = dr_asprintf("@%s", s_t.name);
    char *args[] = {"nodeB", "hostname", NULL};
    s_run_t run;
    struct {
        const char *sock, *token;
    } envs[] = {{NULL, NULL},      {sock, NULL},
                {NULL, s_t.token}, {s_t.name, s_t.token}, /* not abstract */
                {"@", s_t.token},  {sock, ""}};
    for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
        s_run(args, s_env(envs[i].sock, envs[i].token), &run);
        ck_assert_int_eq(run.status, 255);
        s_assert_has(&run.err, "drover-launch: nodeB: ");
        s_assert_has(&run.err, "not inside a drover MPI job");
        ck_assert_uint_eq(run.out.len, 0);
        s_run_free(&run);
    }
    ck_assert_int_eq(s_t.calls.n, 0);
    free(sock);
}
END_TEST

START_TEST(test_launch_usage)
{
    char *sock = dr_asprintf("@%s", s_t.name);
    char **env = s_env(sock, s_t.token);
    char *none[] = {NULL};
    char *one[] = {"nodeB", NULL};
    char *opts[] = {"-x", "-oBatchMode=yes", "nodeB", NULL};
    char **cases[] = {none, one, opts};
    for (size_t i = 0; i < 3; i++) {
        s_run_t run;
        s_run(cases[i], env, &run);
        ck_assert_int_eq(run.status, 255);
        s_assert_has(&run.err, "usage: drover-launch NODE COMMAND");
        s_run_free(&run);
    }
    ck_assert_int_eq(s_t.calls.n, 0);
    ck_assert_uint_eq(mpi_srv_nconns(s_t.srv), 0);
    free(sock);
}
END_TEST

START_TEST(test_launch_no_agent)
{
    char *sock = dr_asprintf("@drover-test/check_mpi/nobody-%d", getpid());
    char *args[] = {"nodeB", "hostname", NULL};
    s_run_t run;
    s_run(args, s_env(sock, s_t.token), &run);
    ck_assert_int_eq(run.status, 255);
    s_assert_has(&run.err, "drover-launch: nodeB: cannot reach the node agent");
    s_run_free(&run);
    free(sock);
}
END_TEST

START_TEST(test_launch_end_to_end)
{
    char *sock = dr_asprintf("@%s", s_t.name);
    char **env = s_env(sock, s_t.token);
    s_run_t run;

    s_answer.on = 1;
    s_answer.out = "hello\n";
    s_answer.status = 7;
    char *args[] = {"-x", "-A", "nodeB", "echo", "hi", "there", NULL};
    s_run(args, env, &run);
    ck_assert_int_eq(s_t.calls.n, 1);
    ck_assert_str_eq(s_t.calls.host, "nodeB");
    ck_assert_str_eq(s_t.calls.command, "echo hi there");
    ck_assert_int_eq(run.status, 7);
    ck_assert_str_eq(s_str(&run.out), "hello\n");
    ck_assert_uint_eq(run.err.len, 0);
    s_run_free(&run);

    /* stderr goes to stderr; words keep their inner spaces */
    s_answer.out = "o1\n";
    s_answer.err = "e1\n";
    s_answer.status = 0;
    char *args2[] = {"node-c", "sh", "-c", "echo  a; exit 3", NULL};
    s_run(args2, env, &run);
    ck_assert_int_eq(s_t.calls.n, 2);
    ck_assert_str_eq(s_t.calls.host, "node-c");
    ck_assert_str_eq(s_t.calls.command, "sh -c echo  a; exit 3");
    ck_assert_int_eq(run.status, 0);
    ck_assert_str_eq(s_str(&run.out), "o1\n");
    ck_assert_str_eq(s_str(&run.err), "e1\n");
    s_run_free(&run);

    /* it could not run there: the reason, on stderr */
    s_answer.out = s_answer.err = NULL;
    s_answer.status = 255;
    s_answer.error = "node nodeB is not in the job";
    s_run(args, env, &run);
    ck_assert_int_eq(run.status, 255);
    ck_assert_str_eq(s_str(&run.err),
                     "drover-launch: nodeB: node nodeB is not in the job\n");
    ck_assert_uint_eq(run.out.len, 0);
    s_run_free(&run);

    /* a status over 255 ends as its low byte, as a shell's would */
    s_answer.error = NULL;
    s_answer.status = 256 + 9;
    s_run(args, env, &run);
    ck_assert_int_eq(run.status, 9);
    s_run_free(&run);

    ck_assert(s_pump_until(s_no_conns, 2000));
    free(sock);
}
END_TEST

START_TEST(test_launch_refused)
{
    char *sock = dr_asprintf("@%s", s_t.name);
    char other[MSI_SECRET_LEN + 1];
    ck_assert_int_eq(msi_secret_new(other), 0);
    s_answer.on = 1;
    s_run_t run;

    /* another task's token; a node name the agent refuses.  Many times:
     * the refusal races the launcher's write of its command (it died of
     * SIGPIPE when the agent closed first) */
    char *args[] = {"nodeB", "orted", "-mca", "ess", "env", NULL};
    char *bad[] = {"no/de", "orted", NULL};
    for (int i = 0; i < 20; i++) {
        s_run(args, s_env(sock, other), &run);
        ck_assert_msg(run.status == 255, "run %d: status %d, stderr '%s'", i,
                      run.status, s_str(&run.err));
        s_assert_has(&run.err, "drover-launch: nodeB: ");
        s_assert_has(&run.err, "wrong launch token");
        s_run_free(&run);

        s_run(bad, s_env(sock, s_t.token), &run);
        ck_assert_msg(run.status == 255, "run %d: status %d, stderr '%s'", i,
                      run.status, s_str(&run.err));
        s_assert_has(&run.err, "malformed request");
        s_run_free(&run);
    }
    ck_assert_int_eq(s_t.calls.n, 0);
    ck_assert(s_pump_until(s_no_conns, 2000));

    /* a command over the limit never leaves it */
    char *huge = dr_malloc(MPI_LAUNCH_MAX_COMMAND + 2);
    memset(huge, 'z', MPI_LAUNCH_MAX_COMMAND + 1);
    huge[MPI_LAUNCH_MAX_COMMAND + 1] = '\0';
    char *big[] = {"nodeB", huge, NULL};
    s_run(big, s_env(sock, s_t.token), &run);
    ck_assert_int_eq(run.status, 255);
    s_assert_has(&run.err, "drover-launch: nodeB: command too long");
    s_run_free(&run);
    ck_assert_int_eq(s_t.calls.n, 0);

    /* one under it goes through whole */
    huge[MPI_LAUNCH_MAX_COMMAND - 1] = '\0';
    s_answer.status = 0;
    s_run(big, s_env(sock, s_t.token), &run);
    ck_assert_int_eq(run.status, 0);
    ck_assert_int_eq(s_t.calls.n, 1);
    ck_assert_uint_eq(strlen(s_t.calls.command), MPI_LAUNCH_MAX_COMMAND - 1);
    s_run_free(&run);
    free(huge);
    free(sock);
}
END_TEST

START_TEST(test_launch_agent_gone)
{
    char *sock = dr_asprintf("@%s", s_t.name);
    s_answer.on = 1;
    s_answer.destroy = 1;
    char *args[] = {"nodeB", "orted", NULL};
    s_run_t run;
    s_run(args, s_env(sock, s_t.token), &run);
    ck_assert_ptr_null(s_t.srv);
    ck_assert_int_eq(run.status, 255);
    s_assert_has(&run.err,
                 "drover-launch: nodeB: the node agent closed the launch");
    s_run_free(&run);
    free(sock);
}
END_TEST

static void s_launch_setup(void)
{
    memset(&s_answer, 0, sizeof s_answer);
    s_srv_setup();
}

static Suite *s_suite(void)
{
    Suite *s = suite_create("mpi");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, test_hostfile);
    tcase_add_test(tc, test_head_argv);
    tcase_add_test(tc, test_env_defaults);
    suite_add_tcase(s, tc);

    tc = tcase_create("server");
    tcase_add_checked_fixture(tc, s_srv_setup, s_srv_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_srv_launch);
    tcase_add_test(tc, test_srv_wrong_token);
    tcase_add_test(tc, test_srv_malformed);
    tcase_add_test(tc, test_srv_header_too_long);
    tcase_add_test(tc, test_srv_refused_linger);
    tcase_add_test(tc, test_srv_split_and_extra);
    tcase_add_test(tc, test_srv_longest_command);
    tcase_add_test(tc, test_srv_client_leaves);
    tcase_add_test(tc, test_srv_request_timeout);
    tcase_add_test(tc, test_srv_exit_message);
    tcase_add_test(tc, test_srv_answer_at_once);
    tcase_add_test(tc, test_srv_concurrent);
    tcase_add_test(tc, test_srv_backpressure);
    tcase_add_test(tc, test_srv_max_conns);
    tcase_add_test(tc, test_srv_destroy_closes);
    tcase_add_test(tc, test_srv_new_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("launcher");
    tcase_add_checked_fixture(tc, s_launch_setup, s_srv_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_launch_no_job);
    tcase_add_test(tc, test_launch_usage);
    tcase_add_test(tc, test_launch_no_agent);
    tcase_add_test(tc, test_launch_end_to_end);
    tcase_add_test(tc, test_launch_refused);
    tcase_add_test(tc, test_launch_agent_gone);
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
