/* http_api.c - the HTTP listener: /metrics and the JSON API (http_api.h).
 *
 * libmicrohttpd runs in its external epoll mode: the loop polls one fd
 * and calls MHD_run; nothing here has a thread.  A request's life:
 *   1. MHD calls s_access as its header and body arrive; the body is
 *      kept up to HTTP_MAX_BODY (413 past it);
 *   2. once it is whole, /metrics is answered at once (a read of the
 *      model); an API request is authenticated (a bearer token, whose
 *      SHA-256 names a user principal: apitoken.c), routed (s_routes),
 *      turned into the protobuf request the CLI would send and dispatched
 *      through api_client_dispatch with a routing id of its own; the
 *      connection is suspended;
 *   3. after the pass's commit the loop calls http_api_take_replies: the
 *      reply is taken out of the client outbox, made JSON (http_json.c)
 *      and the connection resumed, which MHD sends on its next run.
 * Bad input (no or a wrong token, an unknown path or method, a body that
 * is not the JSON wanted, too big) is answered with its 4xx here and
 * never reaches a handler; what a handler refuses comes back as its
 * Error, mapped to a status (403, 404, 409, ...).  It owns the MHD
 * daemon and one hreq_t per connection; it never touches the store but
 * through the model (apitoken_lookup).
 */
#include "http_api.h"
#include "api_client.h"
#include "apitoken.h"
#include "dr_err.h"
#include "history.h"
#include "http_json.h"
#include "http_metrics.h"
#include "http_studio.h"
#include "log.h"
#include "sched_int.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { R_READING, R_WAITING, R_REPLIED } hreq_state_t;

typedef struct hreq {
    struct http_api *api;
    struct MHD_Connection *conn;
    hreq_state_t state;
    uint64_t id;
    dr_buf_t body;
    int too_big;
    const http_route_t *route; /* while waiting: how to read the reply */
    int status;
    char *out; /* the response body (owned) */
    size_t outlen;
    const char *ctype;
    const char *etag;           /* a Studio file's, or NULL */
    const char *const *headers; /* more headers (pairs, NULL-ended) */
    struct hreq *prev, *next;   /* the waiting list */
} hreq_t;

struct http_api {
    sched_t *s;
    struct MHD_Daemon *d;
    http_begin_fn begin;
    void *begin_arg;
    uint64_t next_id;
    hreq_t *waiting;
    /* connections were resumed: MHD is run in the next passes, whether or
     * not its fd turns readable (libmicrohttpd moves a resumed connection
     * back in one run and answers it in a later one) */
    int kick;
};

/* ---- the listen address ------------------------------------------------ */

int http_listen_parse(const char *spec, struct sockaddr_storage *out)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    const char *colon = strrchr(spec, ':');
    if (!colon || !colon[1] || strlen(colon + 1) > 5)
        return DR_EINVAL;
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return DR_EINVAL;
    char host[64];
    size_t hl = (size_t)(colon - spec);
    if (hl >= sizeof host)
        return DR_EINVAL;
    memcpy(host, spec, hl);
    host[hl] = '\0';
    if (host[0] == '[') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        if (hl < 3 || host[hl - 1] != ']')
            return DR_EINVAL;
        host[hl - 1] = '\0';
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
            return DR_EINVAL;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (!host[0])
            a->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return DR_EINVAL;
    }
    if (out)
        *out = ss;
    return 0;
}

/* ---- responses ---------------------------------------------------------- */

static void s_reply_text(hreq_t *r, int status, const char *ctype, char *text,
                         size_t len)
{
    free(r->out);
    r->out = text;
    r->outlen = len;
    r->status = status;
    r->ctype = ctype;
    r->state = R_REPLIED;
}

static void s_reply_json(hreq_t *r, int status, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(v);
    if (!s)
        log_fatal("out of memory at %s:%d", __FILE__, __LINE__);
    size_t n = strlen(s);
    s = dr_realloc(s, n + 2);
    s[n] = '\n';
    s[n + 1] = '\0';
    s_reply_text(r, status, "application/json", s, n + 1);
}

/* {"error": message, "status": N} */
static void s_reply_error(hreq_t *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_reply_error(hreq_t *r, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *o = json_object();
    json_t *m = json_string(msg);
    if (!m)
        m = json_string("(message not UTF-8)");
    if (!o || !m || json_object_set_new(o, "error", m) < 0 ||
        json_object_set_new(o, "status", json_integer(status)) < 0)
        log_fatal("out of memory at %s:%d", __FILE__, __LINE__);
    s_reply_json(r, status, o);
}

static enum MHD_Result s_queue(hreq_t *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->outlen, r->out, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    r->out = NULL; /* the response owns it now */
    char code[16];
    snprintf(code, sizeof code, "%d", r->status);
    metrics_inc(r->api->s->metrics, MC_HTTP_REQUESTS, code, NULL, 1);
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype) ==
            MHD_NO ||
        (r->status == 401 &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                 "Bearer realm=\"drover\"") == MHD_NO)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    for (size_t i = 0; r->headers && r->headers[i]; i += 2)
        if (MHD_add_response_header(resp, r->headers[i], r->headers[i + 1]) ==
            MHD_NO) {
            MHD_destroy_response(resp);
            return MHD_NO;
        }
    if (r->etag && MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG,
                                           r->etag) == MHD_NO) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* ---- the API ------------------------------------------------------------ */

/* The caller's principal from "Authorization: Bearer TOKEN", or a 401. */
static int s_auth(http_api_t *self, hreq_t *r, req_ctx_t *who)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        metrics_inc(self->s->metrics, MC_REFUSED, "http_no_token", NULL, 1);
        s_reply_error(r, 401,
                      "missing bearer token: send 'Authorization: Bearer "
                      "TOKEN' (drover keys token create NAME makes one)");
        return -1;
    }
    char why[160];
    int admin = 0;
    if (apitoken_lookup(self->s, h + 7, who->user, sizeof who->user, &admin,
                        why, sizeof why) < 0) {
        metrics_inc(self->s->metrics, MC_REFUSED, "http_bad_token", NULL, 1);
        s_reply_error(r, 401, "%s", why);
        return -1;
    }
    who->admin = admin;
    return 0;
}

static void s_wait_add(http_api_t *self, hreq_t *r)
{
    r->prev = NULL;
    r->next = self->waiting;
    if (self->waiting)
        self->waiting->prev = r;
    self->waiting = r;
}

static void s_wait_del(http_api_t *self, hreq_t *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else if (self->waiting == r)
        self->waiting = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

typedef struct {
    http_kv_t kv[HTTP_MAX_QUERY];
    size_t n;
    int over;
} query_t;

static enum MHD_Result s_query_kv(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value)
{
    (void)kind;
    query_t *q = cls;
    if (q->n == HTTP_MAX_QUERY) {
        q->over = 1;
        return MHD_NO;
    }
    q->kv[q->n].key = key;
    q->kv[q->n].value = value ? value : "";
    q->n++;
    return MHD_YES;
}

/* whoami, and a cluster's history (history.h): reads of the model that
 * no handler of the client table serves. */
static void s_local(http_api_t *self, hreq_t *r, const http_call_t *call,
                    const req_ctx_t *who)
{
    if (call->local == HTTP_LOCAL_WHOAMI) {
        s_reply_json(r, 200, http_whoami(who));
        return;
    }
    const cluster_t *c = sched_cluster_find(self->s, call->arg);
    if (!c || !self->s->history) {
        s_reply_error(r, 404, "no cluster named '%s'", call->arg);
        return;
    }
    s_reply_json(r, 200, history_json(self->s->history, self->s, c));
}

static void s_api(http_api_t *self, hreq_t *r, const char *url,
                  const char *method)
{
    req_ctx_t who = {0};
    if (s_auth(self, r, &who) < 0)
        return;
    query_t q = {0};
    (void)MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, s_query_kv,
                                    &q);
    if (q.over) {
        s_reply_error(r, 400, "more than %d query parameters", HTTP_MAX_QUERY);
        return;
    }
    http_call_t call;
    char why[512];
    int status = http_route(url + strlen("/api/v1"), method, q.kv, q.n,
                            r->body.data, r->body.len, &call, why, sizeof why);
    if (status == 200 && call.local) {
        /* answered without a handler: a read of the model */
        s_local(self, r, &call, &who);
        http_call_free(&call);
        return;
    }
    if (status != 200) {
        s_reply_error(r, status, "%s", why);
        return;
    }
    if (self->begin(self->begin_arg) < 0) {
        http_call_free(&call);
        s_reply_error(r, 503, "the scheduler cannot open a transaction");
        return;
    }
    char rid[64];
    r->id = ++self->next_id;
    snprintf(rid, sizeof rid, HTTP_RID_PREFIX "%llu",
             (unsigned long long)r->id);
    call.env.request_id = r->id;
    r->route = call.route;
    sched_t *s = self->s;
    s->req = who;
    api_client_dispatch(s, rid, &call.env);
    s->req = (req_ctx_t){0};
    http_call_free(&call);
    r->state = R_WAITING;
    s_wait_add(self, r);
    MHD_suspend_connection(r->conn);
}

/* A file of the Studio page: 304 when the browser has it already. */
static void s_studio(hreq_t *r, const http_asset_t *a, const char *method)
{
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        s_reply_error(r, 405, "%s takes GET", a->path);
        return;
    }
    const char *inm = MHD_lookup_connection_value(
        r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    r->headers = http_studio_headers();
    r->etag = a->etag;
    if (inm && strstr(inm, a->etag)) {
        s_reply_text(r, 304, a->ctype, NULL, 0);
        return;
    }
    char *copy = dr_malloc(a->len + 1);
    memcpy(copy, a->data, a->len + 1);
    s_reply_text(r, 200, a->ctype, copy, a->len);
}

static void s_handle(http_api_t *self, hreq_t *r, const char *url,
                     const char *method)
{
    if (r->too_big) {
        s_reply_error(r, 413, "request body over %d bytes", HTTP_MAX_BODY);
        return;
    }
    if (strcmp(url, "/metrics") == 0) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
            s_reply_error(r, 405, "/metrics takes GET");
            return;
        }
        dr_buf_t b = {0};
        http_metrics_text(self->s, &b);
        dr_buf_append(&b, "", 1); /* never an empty buffer */
        s_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data,
                     b.len - 1);
        return;
    }
    if (strcmp(url, "/api/v1") == 0 || strncmp(url, "/api/v1/", 8) == 0) {
        s_api(self, r, url, method);
        return;
    }
    const http_asset_t *a = http_studio_find(url);
    if (a) {
        s_studio(r, a, method);
        return;
    }
    s_reply_error(r, 404, "no such path: %s (try /, /metrics or /api/v1/)",
                  url);
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn,
                                const char *url, const char *method,
                                const char *version, const char *upload,
                                size_t *upload_size, void **con_cls)
{
    (void)version;
    http_api_t *self = cls;
    hreq_t *r = *con_cls;
    if (!r) {
        r = dr_calloc(1, sizeof *r);
        r->api = self;
        r->conn = conn;
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!r->too_big && r->body.len + *upload_size > HTTP_MAX_BODY)
            r->too_big = 1;
        if (!r->too_big)
            dr_buf_append(&r->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->state == R_READING)
        s_handle(self, r, url, method);
    if (r->state == R_REPLIED)
        return s_queue(r);
    return MHD_YES; /* waiting for the commit */
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    http_api_t *self = cls;
    hreq_t *r = *con_cls;
    if (!r)
        return;
    if (r->state == R_WAITING)
        s_wait_del(self, r);
    dr_buf_free(&r->body);
    free(r->out);
    free(r);
    *con_cls = NULL;
}

void http_api_take_replies(http_api_t *self, outbox_t *ob)
{
    if (!self)
        return;
    size_t plen = strlen(HTTP_RID_PREFIX), k = 0;
    for (size_t i = 0; i < ob->n; i++) {
        outmsg_t *m = &ob->msgs[i];
        if (strncmp(m->rid, HTTP_RID_PREFIX, plen) != 0) {
            ob->msgs[k++] = *m;
            continue;
        }
        uint64_t id = strtoull(m->rid + plen, NULL, 10);
        hreq_t *r = self->waiting;
        while (r && r->id != id)
            r = r->next;
        if (r) {
            dr_env_t *env = drover__envelope__unpack(NULL, m->len, m->data);
            char why[256];
            json_t *body = NULL;
            int status =
                env ? http_reply_json(r->route, env, &body, why, sizeof why)
                    : 500;
            if (!env)
                snprintf(why, sizeof why, "the reply could not be read");
            if (body)
                s_reply_json(r, status, body);
            else
                s_reply_error(r, status, "%s", why);
            if (env)
                drover__envelope__free_unpacked(env, NULL);
            s_wait_del(self, r);
            MHD_resume_connection(r->conn);
            self->kick = 3;
        }
        free(m->rid);
        free(m->data);
    }
    ob->n = k;
    /* a handler answers every request in its pass: one that did not is a
     * bug, and its client is not left hanging */
    while (self->waiting) {
        hreq_t *r = self->waiting;
        s_wait_del(self, r);
        s_reply_error(r, 500, "the scheduler sent no reply");
        MHD_resume_connection(r->conn);
        self->kick = 3;
    }
}

/* ---- the loop source ---------------------------------------------------- */

static size_t s_nfds(void *arg)
{
    (void)arg;
    return 1;
}

static int s_fd(void *arg, size_t i, int *want_read, int *want_write)
{
    (void)i;
    http_api_t *self = arg;
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(self->d, MHD_DAEMON_INFO_EPOLL_FD);
    *want_read = 1;
    *want_write = 0;
    return info ? info->epoll_fd : -1;
}

static void s_run(http_api_t *self)
{
    if (self->kick > 0)
        self->kick--;
    if (MHD_run(self->d) == MHD_NO)
        log_debug("http: MHD_run failed");
}

static void s_on_fd(void *arg, int fd, int readable, int writable)
{
    (void)fd;
    (void)readable;
    (void)writable;
    s_run(arg);
}

static int64_t s_timer(void *arg)
{
    http_api_t *self = arg;
    MHD_UNSIGNED_LONG_LONG ms = 0;
    if (self->kick > 0)
        return dr_mono_ms();
    if (MHD_get_timeout(self->d, &ms) == MHD_NO)
        return INT64_MAX;
    if (ms > 3600000)
        ms = 3600000;
    return dr_mono_ms() + (int64_t)ms;
}

static void s_on_timer(void *arg)
{
    s_run(arg);
}

static const dr_loop_source_t s_source = {s_nfds, s_fd, s_on_fd, s_timer,
                                          s_on_timer};

const dr_loop_source_t *http_api_source(void)
{
    return &s_source;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_debug("http: %s", msg);
}

http_api_t *http_api_new(sched_t *s, const char *listen, http_begin_fn begin,
                         void *begin_arg)
{
    struct sockaddr_storage ss;
    if (http_listen_parse(listen, &ss) < 0) {
        log_error("http-listen '%s': expected ADDR:PORT", listen);
        return NULL;
    }
    http_api_t *self = dr_calloc(1, sizeof *self);
    self->s = s;
    self->begin = begin;
    self->begin_arg = begin_arg;
    unsigned flags =
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    self->d = MHD_start_daemon(
        flags, 0, NULL, NULL, s_access, self, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL, MHD_OPTION_END);
    if (!self->d) {
        log_error("http: cannot listen on %s: %s", listen, strerror(errno));
        free(self);
        return NULL;
    }
    log_info("http: listening on %s (/ the Studio page, /metrics, /api/v1/)",
             listen);
    return self;
}

void http_api_destroy(http_api_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    http_api_t *self = *self_p;
    while (self->waiting) {
        hreq_t *r = self->waiting;
        s_wait_del(self, r);
        s_reply_error(r, 503, "the scheduler is stopping");
        MHD_resume_connection(r->conn);
    }
    MHD_stop_daemon(self->d);
    free(self);
    *self_p = NULL;
}
