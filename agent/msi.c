/* msi.c - the managed-identity token endpoint (see msi.h).
 *
 * Owns the listening socket, the connections and the tasks' secrets.  A
 * connection goes READ (collecting the request head) -> WAIT (a token
 * request is out with the scheduler) -> WRITE (the answer) -> DRAIN (our
 * side shut, discarding what the client still sends so that closing does
 * not reset the answer away) -> closed.  Each phase has a deadline; a
 * closed connection is only marked dead and freed by msi_tick(), so
 * that fds the loop polled in this pass stay meaningful.  Must never block
 * and never trust a byte a client sent.
 */
#include "msi.h"
#include "dr_err.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_ACCEPT_BATCH 64
#define S_DRAIN_MS 1000
#define S_NO_TIMER INT64_MAX

typedef enum { S_READ, S_WAIT, S_WRITE, S_DRAIN, S_DEAD } s_phase_t;

typedef struct {
    int fd;
    s_phase_t phase;
    int64_t deadline;
    char in[MSI_MAX_HEADER + 1];
    size_t in_len;
    char *out;
    size_t out_len, out_off;
    uint64_t request_id; /* S_WAIT: the TokenRequest's */
    uint64_t job_id;
    uint32_t attempt;
} s_conn_t;

typedef struct {
    uint64_t job_id;
    uint32_t attempt;
    char secret[MSI_SECRET_LEN + 1];
} s_secret_t;

struct msi {
    int lfd;
    int port;
    char endpoint[64];
    msi_ask_fn *ask;
    void *arg;
    s_conn_t **conns;
    size_t n_conns;
    s_secret_t *secrets;
    size_t n_secrets, cap_secrets;
};

/* ---- parsing ------------------------------------------------------------ */

static int s_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int s_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (cap bytes with the NUL); '+' is a
 * space.  0 or DR_EINVAL (bad escape, NUL, too long). */
static int s_urldecode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return DR_EINVAL;
            int h = s_hexval(s[i + 1]), l = s_hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return DR_EINVAL;
            c = h * 16 + l;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == 0 || o + 1 >= cap)
            return DR_EINVAL;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

static int s_parse_query(const char *q, size_t n, msi_http_req_t *out)
{
    size_t i = 0;
    while (i < n) {
        size_t end = i;
        while (end < n && q[end] != '&')
            end++;
        const char *eq = memchr(q + i, '=', end - i);
        size_t klen = eq ? (size_t)(eq - (q + i)) : end - i;
        const char *v = eq ? eq + 1 : q + end;
        size_t vlen = (size_t)(q + end - v);
        char key[32];
        if (klen > 0 && s_urldecode(q + i, klen, key, sizeof key) == 0) {
            if (strcmp(key, "resource") == 0) {
                if (s_urldecode(v, vlen, out->resource, sizeof out->resource) <
                    0)
                    return DR_EINVAL;
            } else if (strcmp(key, "api-version") == 0) {
                if (s_urldecode(v, vlen, out->api_version,
                                sizeof out->api_version) < 0)
                    return DR_EINVAL;
            }
        }
        i = end + 1;
    }
    return 0;
}

/* Where the head ends (just past its blank line) in buf[0..len), or 0. */
static size_t s_head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (buf[i + 1] == '\n')
            return i + 2;
        if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

static int s_parse_request_line(const char *l, size_t n, msi_http_req_t *out)
{
    const char *sp1 = memchr(l, ' ', n);
    if (!sp1 || sp1 == l || (size_t)(sp1 - l) >= sizeof out->method)
        return DR_EINVAL;
    for (const char *p = l; p < sp1; p++)
        if (!s_tchar((unsigned char)*p))
            return DR_EINVAL;
    memcpy(out->method, l, (size_t)(sp1 - l));
    out->method[sp1 - l] = '\0';
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', n - (size_t)(t - l));
    if (!sp2 || sp2 == t || *t != '/')
        return DR_EINVAL;
    size_t vlen = n - (size_t)(sp2 + 1 - l);
    if (!((vlen == 8 && memcmp(sp2 + 1, "HTTP/1.1", 8) == 0) ||
          (vlen == 8 && memcmp(sp2 + 1, "HTTP/1.0", 8) == 0)))
        return DR_EINVAL;
    for (const char *p = t; p < sp2; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return DR_EINVAL;
    const char *q = memchr(t, '?', (size_t)(sp2 - t));
    const char *pend = q ? q : sp2;
    if ((size_t)(pend - t) >= sizeof out->path)
        return DR_EINVAL;
    memcpy(out->path, t, (size_t)(pend - t));
    out->path[pend - t] = '\0';
    if (q)
        return s_parse_query(q + 1, (size_t)(sp2 - q - 1), out);
    return 0;
}

static int s_parse_header(const char *l, size_t n, msi_http_req_t *out)
{
    const char *colon = memchr(l, ':', n);
    if (!colon || colon == l)
        return DR_EINVAL;
    for (const char *p = l; p < colon; p++)
        if (!s_tchar((unsigned char)*p))
            return DR_EINVAL;
    size_t klen = (size_t)(colon - l);
    const char *v = colon + 1, *e = l + n;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    size_t vlen = (size_t)(e - v);
    for (const char *p = v; p < e; p++)
        if (((unsigned char)*p < ' ' && *p != '\t') || *p == 0x7f)
            return DR_EINVAL;
#define S_IS(name) (klen == sizeof name - 1 && strncasecmp(l, name, klen) == 0)
    if (S_IS("X-IDENTITY-HEADER")) {
        if (out->has_secret || vlen >= sizeof out->secret)
            return DR_EINVAL;
        memcpy(out->secret, v, vlen);
        out->secret[vlen] = '\0';
        out->has_secret = 1;
    } else if (S_IS("Transfer-Encoding")) {
        return DR_EINVAL; /* GET has no body; none is read */
    } else if (S_IS("Content-Length")) {
        if (vlen != 1 || *v != '0')
            return DR_EINVAL;
    }
#undef S_IS
    return 0;
}

int msi_parse(const char *buf, size_t len, msi_http_req_t *out)
{
    memset(out, 0, sizeof *out);
    size_t scan = len < MSI_MAX_HEADER ? len : MSI_MAX_HEADER;
    size_t end = s_head_end(buf, scan);
    if (!end)
        return len >= MSI_MAX_HEADER ? DR_ETOOBIG : 0;
    if (memchr(buf, '\0', end))
        return DR_EINVAL;
    size_t i = 0;
    int first = 1;
    for (;;) {
        const char *nl = memchr(buf + i, '\n', end - i);
        size_t n = (size_t)(nl - (buf + i));
        if (n > 0 && buf[i + n - 1] == '\r')
            n--;
        if (n == 0) /* the blank line */
            break;
        if (memchr(buf + i, '\r', n))
            return DR_EINVAL;
        int rc = first ? s_parse_request_line(buf + i, n, out)
                 : (buf[i] == ' ' || buf[i] == '\t')
                     ? DR_EINVAL /* obsolete line folding */
                     : s_parse_header(buf + i, n, out);
        if (rc < 0)
            return rc;
        first = 0;
        i = (size_t)(nl - buf) + 1;
    }
    if (first)
        return DR_EINVAL; /* an empty head */
    out->length = end;
    return 1;
}

int msi_secret_eq(const char *a, const char *b)
{
    if (!a || !b || strlen(a) != MSI_SECRET_LEN || strlen(b) != MSI_SECRET_LEN)
        return 0;
    volatile unsigned char d = 0;
    for (size_t i = 0; i < MSI_SECRET_LEN; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

int msi_secret_new(char *out)
{
    unsigned char raw[MSI_SECRET_LEN / 2];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return DR_ESYS;
        }
        got += (size_t)n;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[MSI_SECRET_LEN] = '\0';
    return 0;
}

/* ---- answers ------------------------------------------------------------ */

static char *s_dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s) {
        fprintf(stderr, "%s:%d: out of memory\n", __FILE__, __LINE__);
        abort();
    }
    return s;
}

char *msi_json_token(const char *access_token, int64_t expires_on,
                     const char *resource, const char *client_id)
{
    char exp[32];
    snprintf(exp, sizeof exp, "%" PRId64, expires_on);
    json_t *o = json_object();
    json_object_set_new(o, "access_token", json_string(access_token));
    json_object_set_new(o, "expires_on", json_string(exp));
    json_object_set_new(o, "resource", json_string(resource));
    json_object_set_new(o, "token_type", json_string("Bearer"));
    json_object_set_new(o, "client_id", json_string(client_id));
    return s_dump(o);
}

char *msi_json_error(const char *error, const char *description)
{
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(error));
    /* A message from elsewhere may not be UTF-8: jansson refuses those. */
    json_t *d = json_string(description);
    json_object_set_new(o, "error_description",
                        d ? d : json_string("(not valid UTF-8)"));
    return s_dump(o);
}

static const char *s_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Error";
    }
}

char *msi_http_response(int status, const char *json, size_t *len)
{
    char *r = dr_asprintf("HTTP/1.1 %d %s\r\n"
                          "Content-Type: application/json; charset=utf-8\r\n"
                          "Content-Length: %zu\r\n"
                          "Cache-Control: no-store\r\n"
                          "Connection: close\r\n\r\n%s",
                          status, s_reason(status), strlen(json), json);
    *len = strlen(r);
    return r;
}

/* ---- connections -------------------------------------------------------- */

static void s_close(s_conn_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->phase = S_DEAD;
}

/* Queues the answer and starts writing it. */
static void s_answer(s_conn_t *c, int status, const char *json)
{
    free(c->out);
    c->out = msi_http_response(status, json, &c->out_len);
    c->out_off = 0;
    c->phase = S_WRITE;
    c->deadline = dr_mono_ms() + MSI_DEADLINE_MS;
    log_debug("identity: answering %d on fd %d", status, c->fd);
}

static void s_answer_error(s_conn_t *c, int status, const char *error,
                           const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void s_answer_error(s_conn_t *c, int status, const char *error,
                           const char *fmt, ...)
{
    char desc[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof desc, fmt, ap);
    va_end(ap);
    char *j = msi_json_error(error, desc);
    s_answer(c, status, j);
    free(j);
}

static const s_secret_t *s_find_secret(const msi_t *self, const char *s)
{
    const s_secret_t *hit = NULL;
    for (size_t i = 0; i < self->n_secrets; i++)
        if (msi_secret_eq(self->secrets[i].secret, s))
            hit = &self->secrets[i];
    return hit;
}

/* A whole head is in: decide, and ask the scheduler when it is due. */
static void s_handle(msi_t *self, s_conn_t *c, const msi_http_req_t *r)
{
    if (strcmp(r->path, MSI_PATH) != 0) {
        s_answer_error(c, 404, "not_found", "no such path (only %s)", MSI_PATH);
        return;
    }
    if (strcmp(r->method, "GET") != 0) {
        s_answer_error(c, 405, "invalid_request", "only GET is supported");
        return;
    }
    const s_secret_t *s = r->has_secret ? s_find_secret(self, r->secret) : NULL;
    if (!s) {
        log_info("identity: token request with %s X-IDENTITY-HEADER refused",
                 r->has_secret ? "an unknown" : "no");
        s_answer_error(c, 401, "unauthorized",
                       "%s X-IDENTITY-HEADER (use the value of "
                       "$IDENTITY_HEADER)",
                       r->has_secret ? "unknown" : "missing");
        return;
    }
    if (strcmp(r->api_version, MSI_API_VERSION) != 0) {
        s_answer_error(c, 400, "invalid_request", "api-version must be %s",
                       MSI_API_VERSION);
        return;
    }
    uint64_t rid = self->ask(self->arg, s->job_id, s->attempt, r->resource);
    if (!rid) {
        s_answer_error(c, 503, "unavailable",
                       "the node is not connected to the scheduler now");
        return;
    }
    log_info("job %" PRIu64 " attempt %u: token requested for '%.200s'",
             s->job_id, s->attempt, r->resource);
    c->phase = S_WAIT;
    c->request_id = rid;
    c->job_id = s->job_id;
    c->attempt = s->attempt;
    c->deadline = dr_mono_ms() + MSI_DEADLINE_MS;
}

static void s_on_read(msi_t *self, s_conn_t *c)
{
    char junk[4096];
    for (int pass = 0; pass < 16; pass++) {
        char *dst = c->phase == S_READ ? c->in + c->in_len : junk;
        size_t room =
            c->phase == S_READ ? sizeof c->in - 1 - c->in_len : sizeof junk;
        if (room == 0)
            break;
        ssize_t n = read(c->fd, dst, room);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                s_close(c);
            return;
        }
        if (n == 0) {
            /* The client gave up (or finished, in DRAIN): nobody to answer. */
            s_close(c);
            return;
        }
        if (c->phase != S_READ)
            continue; /* WAIT/WRITE/DRAIN: more than one request is not read */
        c->in_len += (size_t)n;
        msi_http_req_t req;
        int rc = msi_parse(c->in, c->in_len, &req);
        if (rc == 0)
            continue;
        if (rc == DR_ETOOBIG)
            s_answer_error(c, 400, "invalid_request",
                           "request head over %d bytes", MSI_MAX_HEADER);
        else if (rc < 0)
            s_answer_error(c, 400, "invalid_request", "malformed request");
        else
            s_handle(self, c, &req);
        return;
    }
}

static void s_on_write(s_conn_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                s_close(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    shutdown(c->fd, SHUT_WR);
    c->phase = S_DRAIN;
    c->deadline = dr_mono_ms() + S_DRAIN_MS;
}

static void s_accept(msi_t *self)
{
    for (int i = 0; i < S_ACCEPT_BATCH; i++) {
        int fd = accept4(self->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn_errno("identity: accept");
            return;
        }
        if (self->n_conns >= MSI_MAX_CONNS) {
            log_warn("identity: %d connections open; refusing another",
                     MSI_MAX_CONNS);
            close(fd);
            continue;
        }
        s_conn_t *c = dr_calloc(1, sizeof *c);
        c->fd = fd;
        c->phase = S_READ;
        c->deadline = dr_mono_ms() + MSI_DEADLINE_MS;
        self->conns =
            dr_realloc(self->conns, (self->n_conns + 1) * sizeof *self->conns);
        self->conns[self->n_conns++] = c;
    }
}

/* ---- the server --------------------------------------------------------- */

msi_t *msi_new(int port, msi_ask_fn *ask, void *arg)
{
    msi_t *self = dr_calloc(1, sizeof *self);
    self->ask = ask;
    self->arg = arg;
    self->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (self->lfd < 0) {
        log_warn_errno("identity: socket");
        goto fail;
    }
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    socklen_t sl = sizeof sa;
    if (bind(self->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(self->lfd, 128) < 0 ||
        getsockname(self->lfd, (struct sockaddr *)&sa, &sl) < 0) {
        log_warn_errno("identity: listen on 127.0.0.1:%d", port);
        goto fail;
    }
    self->port = ntohs(sa.sin_port);
    snprintf(self->endpoint, sizeof self->endpoint,
             "http://127.0.0.1:%d" MSI_PATH, self->port);
    log_info("identity: token endpoint %s", self->endpoint);
    return self;
fail:
    msi_destroy(&self);
    return NULL;
}

void msi_destroy(msi_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    msi_t *self = *self_p;
    for (size_t i = 0; i < self->n_conns; i++) {
        s_close(self->conns[i]);
        free(self->conns[i]->out);
        free(self->conns[i]);
    }
    free(self->conns);
    if (self->secrets)
        explicit_bzero(self->secrets,
                       self->cap_secrets * sizeof *self->secrets);
    free(self->secrets);
    if (self->lfd >= 0)
        close(self->lfd);
    free(self);
    *self_p = NULL;
}

int msi_port(const msi_t *self)
{
    return self->port;
}

const char *msi_endpoint(const msi_t *self)
{
    return self->endpoint;
}

void msi_task_add(msi_t *self, uint64_t job_id, uint32_t attempt,
                  const char *secret)
{
    msi_task_remove(self, job_id, attempt);
    if (self->n_secrets == self->cap_secrets) {
        size_t cap = self->cap_secrets ? self->cap_secrets * 2 : 16;
        s_secret_t *v = dr_calloc(cap, sizeof *v);
        if (self->n_secrets)
            memcpy(v, self->secrets, self->n_secrets * sizeof *v);
        if (self->secrets)
            explicit_bzero(self->secrets,
                           self->cap_secrets * sizeof *self->secrets);
        free(self->secrets);
        self->secrets = v;
        self->cap_secrets = cap;
    }
    s_secret_t *s = &self->secrets[self->n_secrets++];
    s->job_id = job_id;
    s->attempt = attempt;
    snprintf(s->secret, sizeof s->secret, "%s", secret);
}

void msi_task_remove(msi_t *self, uint64_t job_id, uint32_t attempt)
{
    for (size_t i = 0; i < self->n_secrets; i++) {
        if (self->secrets[i].job_id == job_id &&
            self->secrets[i].attempt == attempt) {
            self->secrets[i] = self->secrets[--self->n_secrets];
            explicit_bzero(&self->secrets[self->n_secrets],
                           sizeof *self->secrets);
            return;
        }
    }
}

size_t msi_nfds(const msi_t *self)
{
    return 1 + self->n_conns;
}

int msi_fd(const msi_t *self, size_t i, int *want_read, int *want_write)
{
    if (i == 0) {
        *want_read = self->n_conns < MSI_MAX_CONNS;
        *want_write = 0;
        return self->lfd;
    }
    const s_conn_t *c = self->conns[i - 1];
    /* WAIT still reads: an EOF there frees the connection early. */
    *want_read = c->phase != S_WRITE && c->phase != S_DEAD;
    *want_write = c->phase == S_WRITE;
    return c->fd;
}

void msi_on_fd(msi_t *self, int fd, int readable, int writable)
{
    if (fd < 0)
        return;
    if (fd == self->lfd) {
        if (readable)
            s_accept(self);
        return;
    }
    for (size_t i = 0; i < self->n_conns; i++) {
        s_conn_t *c = self->conns[i];
        if (c->fd != fd || c->phase == S_DEAD)
            continue;
        if (readable)
            s_on_read(self, c);
        if (c->phase == S_WRITE && (writable || readable))
            s_on_write(c);
        return;
    }
}

int64_t msi_tick(msi_t *self, int64_t now)
{
    int64_t next = S_NO_TIMER;
    size_t keep = 0;
    for (size_t i = 0; i < self->n_conns; i++) {
        s_conn_t *c = self->conns[i];
        if (c->phase != S_DEAD && now >= c->deadline) {
            switch (c->phase) {
            case S_READ:
                log_debug("identity: fd %d sent no whole request in %d ms",
                          c->fd, MSI_DEADLINE_MS);
                s_close(c);
                break;
            case S_WAIT:
                log_warn("job %" PRIu64 " attempt %u: the scheduler did not "
                         "answer a token request in %d ms",
                         c->job_id, c->attempt, MSI_DEADLINE_MS);
                s_answer_error(c, 504, "timeout",
                               "the scheduler did not answer in %d ms",
                               MSI_DEADLINE_MS);
                s_on_write(c);
                break;
            default: /* WRITE: not read by the client; DRAIN: done */
                s_close(c);
                break;
            }
        }
        if (c->phase == S_DEAD) {
            free(c->out);
            free(c);
            continue;
        }
        next = c->deadline < next ? c->deadline : next;
        self->conns[keep++] = c;
    }
    self->n_conns = keep;
    return next;
}

static s_conn_t *s_waiting(msi_t *self, uint64_t request_id)
{
    if (!request_id)
        return NULL;
    for (size_t i = 0; i < self->n_conns; i++)
        if (self->conns[i]->phase == S_WAIT &&
            self->conns[i]->request_id == request_id)
            return self->conns[i];
    return NULL;
}

int msi_on_reply(msi_t *self, uint64_t request_id, const char *access_token,
                 int64_t expires_on, const char *resource,
                 const char *client_id)
{
    s_conn_t *c = s_waiting(self, request_id);
    if (!c)
        return 0;
    if (!access_token || !access_token[0]) {
        s_answer_error(c, 500, "internal_error",
                       "the scheduler sent an empty token");
    } else {
        char *j =
            msi_json_token(access_token, expires_on, resource ? resource : "",
                           client_id ? client_id : "");
        log_info("job %" PRIu64 " attempt %u: token issued, expires at "
                 "%" PRId64,
                 c->job_id, c->attempt, expires_on);
        s_answer(c, 200, j);
        free(j);
    }
    s_on_write(c);
    return 1;
}

int msi_on_error(msi_t *self, uint64_t request_id, int code,
                 const char *message)
{
    s_conn_t *c = s_waiting(self, request_id);
    if (!c)
        return 0;
    int status = 400;
    const char *err = "invalid_request";
    if (code == DR_EPERM) {
        status = 403;
        err = "forbidden";
    } else if (code == DR_ENOTREG || code == DR_EAGAIN) {
        status = 503;
        err = "unavailable";
    }
    log_info("job %" PRIu64 " attempt %u: token refused: %.200s", c->job_id,
             c->attempt, message ? message : "");
    s_answer_error(c, status, err, "%s",
                   message && message[0] ? message : dr_strerror(code));
    s_on_write(c);
    return 1;
}
