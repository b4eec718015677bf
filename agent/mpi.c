/* mpi.c - see mpi.h. */
#include "mpi.h"
#include "dr_err.h"
#include "log.h"
#include "msi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- hostfile, argv, environment ----------------------------------------- */

int mpi_hostfile_write(const char *path, char *const *hosts, size_t nhosts,
                       const char *head_alias, uint32_t slots)
{
    dr_buf_t b = {0};
    for (size_t i = 0; i < nhosts; i++)
        dr_buf_printf(&b, "%s slots=%u\n", i == 0 ? head_alias : hosts[i],
                      slots);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 || dr_write_all(fd, b.data, b.len) < 0 ? DR_EIO : 0;
    if (fd >= 0 && close(fd) < 0)
        rc = DR_EIO;
    dr_buf_free(&b);
    return rc;
}

char **mpi_head_argv(const char *hostfile, uint32_t nodes, uint32_t slots,
                     char *const *argv, size_t argc)
{
    char **v = dr_calloc(argc + 9, sizeof *v);
    size_t n = 0;
    v[n++] = dr_strdup("mpirun");
    v[n++] = dr_strdup("--hostfile");
    v[n++] = dr_strdup(hostfile);
    v[n++] = dr_strdup("-np");
    v[n++] = dr_asprintf("%u", nodes * slots);
    v[n++] = dr_strdup("--map-by");
    v[n++] = dr_asprintf("ppr:%u:node", slots);
    for (size_t i = 0; i < argc; i++)
        v[n++] = dr_strdup(argv[i]);
    v[n] = NULL;
    return v;
}

void mpi_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

size_t mpi_env_defaults(const char *launcher, const char *iface,
                        int shared_host, char **out)
{
    size_t n = 0;
    out[n++] = dr_asprintf("OMPI_MCA_plm_rsh_agent=%s", launcher);
    /* only mpirun launches (no tree of launches from the workers), and
     * orted stays attached to its launch so that it ends with the task */
    out[n++] = dr_strdup("OMPI_MCA_plm_rsh_no_tree_spawn=1");
    out[n++] = dr_strdup("OMPI_MCA_orte_leave_session_attached=1");
    out[n++] = dr_strdup("OMPI_MCA_orte_tag_output=1");
    if (shared_host) {
        /* several nodes on one machine: shared memory (vader) would be
         * tried between ranks of different nodes' tasks, which do not
         * share it; and each node advertises its own slots, so idle
         * ranks must yield the cores they share */
        out[n++] = dr_strdup("OMPI_MCA_btl=self,tcp");
        out[n++] = dr_strdup("OMPI_MCA_mpi_yield_when_idle=1");
    } else {
        /* ranks on one node share its memory; nodes talk TCP.  No
         * single-copy (CMA needs ptrace rights a container lacks) */
        out[n++] = dr_strdup("OMPI_MCA_btl=self,vader,tcp");
        out[n++] = dr_strdup("OMPI_MCA_btl_vader_single_copy_mechanism=none");
    }
    /* OpenMPI 4.1's rtc/hwloc maps the topology into the "biggest" hole
     * of orted's address space, just under the stack, and orted dies
     * there now and then (SIGSEGV in hwloc_shmem_topology_write, 1 run in
     * 20 here); it only binds processes, which drover leaves alone */
    out[n++] = dr_strdup("OMPI_MCA_rtc=^hwloc");
    if (iface && *iface) {
        out[n++] = dr_asprintf("OMPI_MCA_btl_tcp_if_include=%s", iface);
        out[n++] = dr_asprintf("OMPI_MCA_oob_tcp_if_include=%s", iface);
    }
    if (geteuid() == 0) {
        out[n++] = dr_strdup("OMPI_ALLOW_RUN_AS_ROOT=1");
        out[n++] = dr_strdup("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1");
    }
    return n;
}

/* ---- the launch server ----------------------------------------------------
 */

#define SRV_MAX_CONNS 256
#define SRV_HEADER_MAX 512
#define SRV_OUT_MAX (16u << 20) /* output held for a launcher that is slow */
/* what a refused launcher may still send: the rest of a whole request */
#define SRV_DROP_MAX (SRV_HEADER_MAX + 1 + MPI_LAUNCH_MAX_COMMAND)

typedef struct {
    int fd;
    uint64_t launch_id; /* 0 until the request is complete */
    int64_t deadline;   /* mono ms: the request must be whole by then */
    dr_buf_t in;        /* header and command as they arrive */
    size_t need;        /* total request bytes once the header is read */
    size_t cmd_off;     /* where the command starts */
    dr_buf_t out;       /* frames not written yet */
    size_t out_off;
    int closing;    /* the exit frame is queued: close once written */
    int refused;    /* ...and the request was refused: see s_flush */
    size_t dropped; /* bytes read and dropped since the refusal */
} srv_conn_t;

struct mpi_srv {
    int listen_fd;
    char token[MSI_SECRET_LEN + 1];
    srv_conn_t *conns;
    size_t nconns, cap;
    uint64_t next_id;
};

int mpi_srv_new(const char *name, const char *token, mpi_srv_t **out)
{
    struct sockaddr_un sa;
    size_t nlen = strlen(name);
    if (nlen + 1 > sizeof sa.sun_path || strlen(token) != MSI_SECRET_LEN)
        return DR_EINVAL;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return DR_ESYS;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path + 1, name, nlen); /* abstract: leading NUL */
    socklen_t len =
        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + nlen);
    if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 64) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return DR_ESYS;
    }
    mpi_srv_t *self = dr_calloc(1, sizeof *self);
    self->listen_fd = fd;
    snprintf(self->token, sizeof self->token, "%s", token);
    *out = self;
    return 0;
}

static void s_conn_close(mpi_srv_t *self, size_t i)
{
    srv_conn_t *c = &self->conns[i];
    close(c->fd);
    dr_buf_free(&c->in);
    dr_buf_free(&c->out);
    self->conns[i] = self->conns[--self->nconns];
}

void mpi_srv_destroy(mpi_srv_t **self_p)
{
    mpi_srv_t *self = *self_p;
    if (!self)
        return;
    while (self->nconns)
        s_conn_close(self, self->nconns - 1);
    free(self->conns);
    close(self->listen_fd);
    explicit_bzero(self->token, sizeof self->token);
    free(self);
    *self_p = NULL;
}

size_t mpi_srv_nfds(const mpi_srv_t *self)
{
    return 1 + self->nconns;
}

size_t mpi_srv_nconns(const mpi_srv_t *self)
{
    return self->nconns;
}

int mpi_srv_fd(const mpi_srv_t *self, size_t i, int *want_read, int *want_write)
{
    if (i == 0) {
        *want_read = 1;
        *want_write = 0;
        return self->listen_fd;
    }
    const srv_conn_t *c = &self->conns[i - 1];
    *want_read = !c->closing || c->refused;
    *want_write = c->out.len > c->out_off;
    return c->fd;
}

static void s_frame(srv_conn_t *c, int type, const void *data, size_t n)
{
    unsigned char h[5] = {(unsigned char)type, (unsigned char)(n >> 24),
                          (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                          (unsigned char)n};
    dr_buf_append(&c->out, h, sizeof h);
    if (n)
        dr_buf_append(&c->out, data, n);
}

static void s_exit_frame(srv_conn_t *c, int status, const char *error)
{
    size_t elen = error ? strlen(error) : 0;
    unsigned char *p = dr_malloc(4 + elen);
    p[0] = (unsigned char)((uint32_t)status >> 24);
    p[1] = (unsigned char)((uint32_t)status >> 16);
    p[2] = (unsigned char)((uint32_t)status >> 8);
    p[3] = (unsigned char)status;
    if (elen)
        memcpy(p + 4, error, elen);
    s_frame(c, MPI_FRAME_EXIT, p, 4 + elen);
    free(p);
    c->closing = 1;
}

/* Refuses the request: an exit frame with 255 and why. */
static void s_refuse(srv_conn_t *c, const char *why)
{
    s_exit_frame(c, 255, why);
    c->refused = 1;
}

/* Writes what it can; 0, or -1 when the connection is to be closed. */
static int s_flush(srv_conn_t *c)
{
    while (c->out.len > c->out_off) {
        ssize_t w = send(c->fd, c->out.data + c->out_off,
                         c->out.len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        c->out_off += (size_t)w;
    }
    c->out.len = c->out_off = 0;
    if (!c->closing)
        return 0;
    if (!c->refused)
        return -1;
    /* A request is refused as soon as its header is read, and the launcher
     * may still be writing the command: closing now would fail its write
     * (EPIPE; SIGPIPE kills it) or reset the connection before it reads
     * why.  Say we are done, and close when it does (mpi_srv_on_fd). */
    shutdown(c->fd, SHUT_WR);
    return 0;
}

/* A request is "DRL1 TOKEN HOST LEN\n" + LEN bytes: parses what arrived;
 * 1 complete, 0 more to come, -1 refused (an exit frame says why). */
static int s_parse(mpi_srv_t *self, srv_conn_t *c, char *host, size_t hcap)
{
    const char *nl = c->in.len ? memchr(c->in.data, '\n', c->in.len) : NULL;
    if (!nl) {
        if (c->in.len > SRV_HEADER_MAX) {
            s_refuse(c, "request header too long");
            return -1;
        }
        return 0;
    }
    char hdr[SRV_HEADER_MAX + 1];
    size_t hl = (size_t)(nl - c->in.data);
    if (hl > SRV_HEADER_MAX) {
        s_refuse(c, "request header too long");
        return -1;
    }
    memcpy(hdr, c->in.data, hl);
    hdr[hl] = '\0';
    char magic[8], token[MSI_SECRET_LEN + 2], name[72];
    unsigned long len = 0;
    int used = 0;
    if (sscanf(hdr, "%7s %33s %71s %lu%n", magic, token, name, &len, &used) !=
            4 ||
        (size_t)used != hl || strcmp(magic, MPI_LAUNCH_MAGIC) != 0 ||
        len == 0 || len > MPI_LAUNCH_MAX_COMMAND || !dr_valid_name(name)) {
        s_refuse(c, "malformed request");
        return -1;
    }
    if (!msi_secret_eq(token, self->token)) {
        s_refuse(c, "wrong launch token");
        return -1;
    }
    c->cmd_off = hl + 1;
    c->need = hl + 1 + len;
    if (c->in.len < c->need)
        return 0;
    if (c->in.len > c->need || memchr(nl + 1, '\0', len)) {
        s_refuse(c, "malformed command");
        return -1;
    }
    snprintf(host, hcap, "%s", name);
    return 1;
}

static void s_accept(mpi_srv_t *self)
{
    for (;;) {
        int fd =
            accept4(self->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (self->nconns == SRV_MAX_CONNS) {
            close(fd);
            continue;
        }
        if (self->nconns == self->cap) {
            self->cap = self->cap ? self->cap * 2 : 8;
            self->conns =
                dr_realloc(self->conns, self->cap * sizeof *self->conns);
        }
        srv_conn_t *c = &self->conns[self->nconns++];
        memset(c, 0, sizeof *c);
        c->fd = fd;
        c->deadline = dr_mono_ms() + MPI_REQUEST_TIMEOUT_MS;
    }
}

void mpi_srv_on_fd(mpi_srv_t *self, int fd, int readable, int writable,
                   mpi_launch_fn cb, void *arg)
{
    if (fd == self->listen_fd) {
        if (readable)
            s_accept(self);
        return;
    }
    size_t i = 0;
    while (i < self->nconns && self->conns[i].fd != fd)
        i++;
    if (i == self->nconns)
        return;
    srv_conn_t *c = &self->conns[i];
    if (readable && c->refused) {
        /* drop what the refused launcher still sends until it closes */
        char buf[4096];
        ssize_t r = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR) ||
            (r > 0 && (c->dropped += (size_t)r) > SRV_DROP_MAX)) {
            s_conn_close(self, i);
            return;
        }
    } else if (readable && !c->closing) {
        char buf[4096];
        ssize_t r = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            /* the launcher went away (mpirun killed it) */
            s_conn_close(self, i);
            return;
        }
        if (r > 0 && !c->launch_id) {
            dr_buf_append(&c->in, buf, (size_t)r);
            char host[72];
            int p = s_parse(self, c, host, sizeof host);
            if (p > 0) {
                c->launch_id = ++self->next_id;
                size_t start = c->cmd_off;
                char *cmd = dr_malloc(c->in.len - start + 1);
                memcpy(cmd, c->in.data + start, c->in.len - start);
                cmd[c->in.len - start] = '\0';
                dr_buf_free(&c->in);
                uint64_t id = c->launch_id;
                cb(arg, id, host, cmd); /* may answer at once */
                free(cmd);
                /* c may have moved: find it again by fd */
                for (i = 0; i < self->nconns && self->conns[i].fd != fd; i++)
                    ;
                if (i == self->nconns)
                    return;
                c = &self->conns[i];
            } else if (p < 0) {
                writable = 1;
            }
        }
    }
    if ((writable || c->out.len > c->out_off) && s_flush(c) < 0)
        s_conn_close(self, i);
}

int64_t mpi_srv_tick(mpi_srv_t *self, int64_t now)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < self->nconns;) {
        srv_conn_t *c = &self->conns[i];
        if (c->launch_id || (c->closing && !c->refused)) {
            i++;
            continue;
        }
        if (now >= c->deadline) {
            /* a connection that never sends a whole request */
            s_conn_close(self, i);
            continue;
        }
        if (c->deadline < next)
            next = c->deadline;
        i++;
    }
    return next;
}

static srv_conn_t *s_conn_of(mpi_srv_t *self, uint64_t launch_id)
{
    for (size_t i = 0; i < self->nconns; i++)
        if (self->conns[i].launch_id == launch_id && !self->conns[i].closing)
            return &self->conns[i];
    return NULL;
}

void mpi_srv_output(mpi_srv_t *self, uint64_t launch_id, int stream,
                    const void *data, size_t n)
{
    srv_conn_t *c = s_conn_of(self, launch_id);
    if (!c || !n)
        return;
    if (c->out.len - c->out_off > SRV_OUT_MAX) {
        /* a launcher that does not read: its command's output goes */
        log_warn("launch %llu: launcher not reading; %zu bytes dropped",
                 (unsigned long long)launch_id, n);
        return;
    }
    s_frame(c, stream ? MPI_FRAME_STDERR : MPI_FRAME_STDOUT, data, n);
    if (s_flush(c) < 0)
        s_conn_close(self, (size_t)(c - self->conns));
}

void mpi_srv_exit(mpi_srv_t *self, uint64_t launch_id, int status,
                  const char *error)
{
    srv_conn_t *c = s_conn_of(self, launch_id);
    if (!c)
        return;
    s_exit_frame(c, status, error && *error ? error : NULL);
    if (s_flush(c) < 0)
        s_conn_close(self, (size_t)(c - self->conns));
}
