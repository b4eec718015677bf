/* http_async.c - HTTP requests over one libcurl multi handle (see
 * http_async.h).
 *
 * Owns the multi handle, every request in flight (a list) and the table of
 * sockets libcurl asked us to watch.  Finished transfers are handed to
 * their callback from s_check_done() only, which then frees the request:
 * a callback never frees its own request.  Nothing here blocks except
 * http_async_wait(), for the time it is given.
 */
#include "http_async.h"
#include "log.h"
#include "util.h"

#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEFAULT_MAX_BODY (1u << 20)
#define S_MAX_WAIT_FDS 64

typedef struct {
    int fd;
    int what; /* CURL_POLL_IN / OUT / INOUT */
} s_fd_t;

struct http_req {
    http_async_t *owner;
    http_req_t *prev, *next;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    char *label;
    dr_buf_t resp;
    size_t max_body;
    int keep_tail;
    int too_big;
    int aborted;
    http_data_fn *on_data;
    http_done_fn *done;
    void *arg;
    char errbuf[CURL_ERROR_SIZE];
};

struct http_async {
    CURLM *multi;
    http_req_t *reqs;
    s_fd_t *fds;
    size_t nfds, fds_cap;
    size_t count;
    int64_t timer_at;
};

/* ---- requests ---------------------------------------------------------- */

static void s_unlink(http_req_t *r)
{
    http_async_t *h = r->owner;
    if (r->prev)
        r->prev->next = r->next;
    else if (h->reqs == r)
        h->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    h->count--;
}

static void s_free(http_req_t *r)
{
    if (r->easy) {
        curl_multi_remove_handle(r->owner->multi, r->easy);
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->hdrs);
    free(r->body);
    free(r->label);
    dr_buf_free(&r->resp);
    free(r);
}

static size_t s_write_cb(char *p, size_t sz, size_t nm, void *ud)
{
    http_req_t *r = ud;
    size_t n = sz * nm;
    if (r->on_data) {
        long status = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        int rc = r->on_data(r->arg, status, p, n);
        if (rc < 0) {
            r->aborted = 1;
            return 0;
        }
        if (rc == 0)
            return n;
    }
    if (r->keep_tail) {
        /* keep only the tail: what matters (an error) is at the end */
        dr_buf_append(&r->resp, p, n);
        if (r->resp.len > r->max_body) {
            size_t keep = r->max_body / 2;
            memmove(r->resp.data, r->resp.data + r->resp.len - keep, keep);
            r->resp.len = keep;
            r->resp.data[keep] = '\0';
        }
        return n;
    }
    if (r->resp.len + n > r->max_body) {
        r->too_big = 1;
        return 0;
    }
    dr_buf_append(&r->resp, p, n);
    return n;
}

static void s_set_method(http_req_t *r, const http_opts_t *o)
{
    CURL *e = r->easy;
    const char *m = o->method ? o->method : "GET";
    if (strcmp(m, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
                         r->body ? (long)strlen(r->body) : 0L);
    } else if (strcmp(m, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    }
}

static void s_set_headers(http_req_t *r, const http_opts_t *o)
{
    r->hdrs = curl_slist_append(NULL, "Expect:");
    if (r->body && o->content_type) {
        char *ct = dr_asprintf("Content-Type: %s", o->content_type);
        r->hdrs = curl_slist_append(r->hdrs, ct);
        free(ct);
    }
    for (size_t i = 0; o->headers && o->headers[i]; i++)
        r->hdrs = curl_slist_append(r->hdrs, o->headers[i]);
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
}

static void s_set_options(http_req_t *r, const http_opts_t *o)
{
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    if (o->unix_socket)
        curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, o->unix_socket);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (o->connect_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    if (o->timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    if (o->protocols)
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, o->protocols);
    if (o->no_proxy)
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    /* libcurl's defaults, said out loud: TLS peers are verified */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    s_set_headers(r, o);
    s_set_method(r, o);
}

http_req_t *http_async_request(http_async_t *self, const http_opts_t *opts,
                               http_done_fn *done, void *arg)
{
    http_req_t *r = dr_calloc(1, sizeof *r);
    r->owner = self;
    r->body = opts->body ? dr_strdup(opts->body) : NULL;
    r->label = dr_strdup(opts->label ? opts->label : opts->url);
    r->max_body = opts->max_body ? opts->max_body : S_DEFAULT_MAX_BODY;
    r->keep_tail = opts->keep_tail;
    r->on_data = opts->on_data;
    r->done = done;
    r->arg = arg;
    r->easy = curl_easy_init();
    if (!r->easy) {
        log_error("http: %s: curl_easy_init failed", r->label);
        s_free(r);
        return NULL;
    }
    s_set_options(r, opts);
    CURLMcode mc = curl_multi_add_handle(self->multi, r->easy);
    if (mc != CURLM_OK) {
        log_error("http: %s: curl_multi_add_handle: %s", r->label,
                  curl_multi_strerror(mc));
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
        s_free(r);
        return NULL;
    }
    r->next = self->reqs;
    if (self->reqs)
        self->reqs->prev = r;
    self->reqs = r;
    self->count++;
    return r;
}

void http_async_cancel(http_req_t *req)
{
    if (!req)
        return;
    s_unlink(req);
    s_free(req);
}

char *http_async_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e) {
        fprintf(stderr, "out of memory at %s:%d\n", __FILE__, __LINE__);
        abort();
    }
    char *out = dr_strdup(e);
    curl_free(e);
    return out;
}

size_t http_async_count(const http_async_t *self)
{
    return self->count;
}

static void s_finish(http_req_t *r, CURLcode cc)
{
    http_result_t res = {0};
    res.label = r->label;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
    res.failed = cc != CURLE_OK;
    res.timed_out = cc == CURLE_OPERATION_TIMEDOUT;
    res.too_big = r->too_big;
    res.aborted = r->aborted;
    res.error = !res.failed    ? ""
                : r->errbuf[0] ? r->errbuf
                               : curl_easy_strerror(cc);
    dr_buf_append(&r->resp, "", 0); /* NUL-terminates */
    res.body = r->resp.data ? r->resp.data : "";
    res.len = r->resp.len;
    curl_multi_remove_handle(r->owner->multi, r->easy);
    curl_easy_cleanup(r->easy);
    r->easy = NULL;
    s_unlink(r);
    if (r->done)
        r->done(r->arg, &res);
    s_free(r);
}

static void s_check_done(http_async_t *self)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(self->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        http_req_t *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r)
            s_finish(r, m->data.result);
    }
}

/* ---- the multi handle -------------------------------------------------- */

static int s_sock_cb(CURL *e, curl_socket_t s, int what, void *userp,
                     void *sockp)
{
    (void)e;
    (void)sockp;
    http_async_t *h = userp;
    size_t i;
    for (i = 0; i < h->nfds; i++)
        if (h->fds[i].fd == s)
            break;
    if (what == CURL_POLL_REMOVE) {
        if (i < h->nfds)
            h->fds[i] = h->fds[--h->nfds];
        return 0;
    }
    if (i == h->nfds) {
        if (h->nfds == h->fds_cap) {
            h->fds_cap = h->fds_cap ? h->fds_cap * 2 : 16;
            h->fds = dr_realloc(h->fds, h->fds_cap * sizeof *h->fds);
        }
        h->nfds++;
    }
    h->fds[i] = (s_fd_t){s, what};
    return 0;
}

static int s_timer_cb(CURLM *m, long ms, void *userp)
{
    (void)m;
    http_async_t *h = userp;
    h->timer_at = ms < 0 ? INT64_MAX : dr_mono_ms() + ms;
    return 0;
}

http_async_t *http_async_new(void)
{
    static int inited;
    if (!inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            log_error("http: curl_global_init failed");
            return NULL;
        }
        inited = 1;
    }
    http_async_t *h = dr_calloc(1, sizeof *h);
    h->timer_at = INT64_MAX;
    h->multi = curl_multi_init();
    if (!h->multi) {
        log_error("http: curl_multi_init failed");
        free(h);
        return NULL;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, s_sock_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, s_timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    return h;
}

void http_async_destroy(http_async_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    http_async_t *h = *self_p;
    while (h->reqs)
        http_async_cancel(h->reqs);
    curl_multi_cleanup(h->multi);
    free(h->fds);
    free(h);
    *self_p = NULL;
}

size_t http_async_nfds(const http_async_t *self)
{
    return self->nfds;
}

int http_async_fd(const http_async_t *self, size_t i, int *want_read,
                  int *want_write)
{
    if (i >= self->nfds)
        return -1;
    int w = self->fds[i].what;
    *want_read = w == CURL_POLL_IN || w == CURL_POLL_INOUT;
    *want_write = w == CURL_POLL_OUT || w == CURL_POLL_INOUT;
    return self->fds[i].fd;
}

void http_async_on_fd(http_async_t *self, int fd, int readable, int writable)
{
    int running = 0;
    int ev =
        (readable ? CURL_CSELECT_IN : 0) | (writable ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(self->multi, fd, ev, &running);
    s_check_done(self);
}

int64_t http_async_timer(const http_async_t *self)
{
    return self->timer_at;
}

void http_async_on_timer(http_async_t *self)
{
    int running = 0;
    self->timer_at = INT64_MAX; /* one-shot: libcurl arms it again */
    curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    s_check_done(self);
}

void http_async_drive(http_async_t *self)
{
    int running = 0;
    /* libcurl checks each socket's state itself (mask 0); the set may
     * change under us, so walk a copy */
    size_t n = self->nfds;
    s_fd_t *fds = n ? dr_malloc(n * sizeof *fds) : NULL;
    if (n)
        memcpy(fds, self->fds, n * sizeof *fds);
    for (size_t i = 0; i < n; i++)
        curl_multi_socket_action(self->multi, fds[i].fd, 0, &running);
    free(fds);
    if (dr_mono_ms() >= self->timer_at) {
        self->timer_at = INT64_MAX;
        curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    s_check_done(self);
}

void http_async_wait(http_async_t *self, int max_ms)
{
    struct pollfd pf[S_MAX_WAIT_FDS];
    nfds_t n = 0;
    for (size_t i = 0; i < self->nfds && n < S_MAX_WAIT_FDS; i++) {
        int w = self->fds[i].what;
        pf[n++] = (struct pollfd){self->fds[i].fd,
                                  (short)((w & CURL_POLL_IN ? POLLIN : 0) |
                                          (w & CURL_POLL_OUT ? POLLOUT : 0)),
                                  0};
    }
    int64_t now = dr_mono_ms();
    int64_t wait = self->timer_at == INT64_MAX ? max_ms : self->timer_at - now;
    if (wait > max_ms)
        wait = max_ms;
    if (wait < 0)
        wait = 0;
    if (poll(pf, n, (int)wait) > 0) {
        for (nfds_t i = 0; i < n; i++)
            if (pf[i].revents)
                http_async_on_fd(
                    self, pf[i].fd,
                    !!(pf[i].revents & (POLLIN | POLLERR | POLLHUP)),
                    !!(pf[i].revents & POLLOUT));
    }
    if (dr_mono_ms() >= self->timer_at)
        http_async_on_timer(self);
}

/* ---- as a reactor source ---------------------------------------------- */

static size_t s_src_nfds(void *self)
{
    return http_async_nfds(self);
}

static int s_src_fd(void *self, size_t i, int *want_read, int *want_write)
{
    return http_async_fd(self, i, want_read, want_write);
}

static void s_src_on_fd(void *self, int fd, int readable, int writable)
{
    http_async_on_fd(self, fd, readable, writable);
}

static int64_t s_src_timer(void *self)
{
    return http_async_timer(self);
}

static void s_src_on_timer(void *self)
{
    http_async_on_timer(self);
}

const dr_loop_source_t http_async_source = {
    .nfds = s_src_nfds,
    .fd = s_src_fd,
    .on_fd = s_src_on_fd,
    .timer = s_src_timer,
    .on_timer = s_src_on_timer,
};
