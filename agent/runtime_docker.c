/* runtime_docker.c - the `docker` runtime (see runtime_docker.h).
 *
 * Owns one libcurl multi handle and every request in flight; a request
 * belongs either to a container (its control step, its wait, its logs
 * stream) or to the client (pings, lists, kills, removals of containers
 * given up).  libcurl tells us through its socket and timer callbacks what
 * to poll; completed transfers are handed to their `done` function from
 * s_check_done() only, which then frees the request: a done function never
 * frees its own request and never frees a container.  A container's
 * requests are aborted when it is destroyed, so no request outlives its
 * owner.  Nothing here blocks, except runtime_docker_destroy() for a
 * bounded time.
 */
#include "runtime_docker.h"
#include "dr_err.h"
#include "log.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S_CONNECT_MS 2000L
#define S_SHORT_MS 30000L  /* inspect, start, kill, list, ping */
#define S_LONG_MS 300000L  /* create and remove copy layers (vfs) */
#define S_PULL_MS 1800000L /* 30 min */
#define S_PING_MS 3000L
#define S_MAX_BODY (8u << 20) /* a plain answer larger than this is refused */
#define S_PULL_TAIL (256u << 10)
#define S_DESTROY_WAIT_MS 5000

typedef struct s_req s_req_t;
typedef void(s_done_fn)(s_req_t *r);

enum { S_REQ_PLAIN, S_REQ_LOGS, S_REQ_PULL };

struct s_req {
    runtime_docker_t *rd;
    s_req_t *prev, *next;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    char *what; /* "POST /containers/create", for reasons and logs */
    dr_buf_t resp;
    int kind;
    int too_big;
    int proto_err;
    long status;
    CURLcode cc;
    char errbuf[CURL_ERROR_SIZE];
    s_done_fn *done;
    runtime_docker_ctr_t *ctr; /* owner, NULL = the client's own */
};

typedef struct {
    int fd;
    int what; /* CURL_POLL_IN / OUT / INOUT */
} s_fd_t;

struct runtime_docker {
    CURLM *multi;
    char *socket;
    s_req_t *reqs;
    s_fd_t *fds;
    size_t nfds, fds_cap;
    int64_t timer_at;
    int probed;
    int available;
    char error[256];
    s_req_t *ping;
    s_req_t *list;
    runtime_docker_list_fn *list_fn;
    void *list_arg;
};

typedef enum {
    C_IMAGE,
    C_PULL,
    C_CREATE,
    C_CONFLICT_RM,
    C_START,
    C_RUN,
    C_INSPECT,
    C_REMOVE,
    C_DONE,
} s_step_t;

struct runtime_docker_ctr {
    runtime_docker_t *rd;
    s_step_t step;
    runtime_docker_phase_t phase;
    char *image;
    char *name;
    char *create_body;
    char id[72];
    int created; /* a container exists (id, or name while create flies) */
    int removed;
    s_req_t *ctl, *wait, *logs;
    int wait_done, logs_done;
    int wait_status;
    int wait_ok; /* wait_status came from a valid answer */
    int canceled;
    int conflict_retried;
    runtime_docker_demux_t demux;
    dr_buf_t out[2];
    size_t out_pos[2];
    runtime_docker_result_t res;
};

/* ---- pure helpers ----------------------------------------------------------
 */

int runtime_docker_demux_feed(runtime_docker_demux_t *d, const char *data,
                              size_t n, runtime_docker_emit_fn *emit, void *arg)
{
    while (n > 0) {
        if (d->left == 0) {
            size_t take = 8 - d->hlen;
            if (take > n)
                take = n;
            memcpy(d->hdr + d->hlen, data, take);
            d->hlen += take;
            data += take;
            n -= take;
            if (d->hlen < 8)
                return 0;
            d->hlen = 0;
            if (d->hdr[0] > 3 || d->hdr[1] || d->hdr[2] || d->hdr[3])
                return DR_EPROTO;
            d->stream =
                d->hdr[0] >= 2 ? RUNTIME_DOCKER_STDERR : RUNTIME_DOCKER_STDOUT;
            d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
                      (uint32_t)d->hdr[6] << 8 | (uint32_t)d->hdr[7];
            continue;
        }
        size_t take = d->left < n ? d->left : n;
        if (emit)
            emit(arg, d->stream, data, take);
        d->left -= (uint32_t)take;
        data += take;
        n -= take;
    }
    return 0;
}

int runtime_docker_demux_partial(const runtime_docker_demux_t *d)
{
    return d->hlen > 0 || d->left > 0;
}

int runtime_docker_valid_image(const char *image)
{
    if (!image || !image[0])
        return 0;
    size_t n = strlen(image);
    if (n > 255)
        return 0;
    if (!((image[0] >= 'a' && image[0] <= 'z') ||
          (image[0] >= 'A' && image[0] <= 'Z') ||
          (image[0] >= '0' && image[0] <= '9')))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = image[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || strchr("._:/@-", ch)))
            return 0;
    }
    return 1;
}

int runtime_docker_image_tagged(const char *image)
{
    if (strchr(image, '@'))
        return 1;
    const char *last = strrchr(image, '/');
    return strchr(last ? last + 1 : image, ':') != NULL;
}

static json_t *s_strv(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

char *runtime_docker_create_body(const runtime_docker_spec_t *spec)
{
    if (!spec || !runtime_docker_valid_image(spec->image) || !spec->argv ||
        !spec->argv[0] || !spec->task_dir || spec->task_dir[0] != '/' ||
        !spec->node)
        return NULL;
    char buf[64];
    json_t *root = json_object();
    json_object_set_new(root, "Image", json_string(spec->image));
    json_object_set_new(root, "Cmd", s_strv(spec->argv));
    json_object_set_new(root, "Env", s_strv(spec->envp));
    json_object_set_new(root, "WorkingDir",
                        json_string(RUNTIME_DOCKER_SCRATCH));
    json_object_set_new(root, "Tty", json_false());
    json_object_set_new(root, "OpenStdin", json_false());
    json_object_set_new(root, "AttachStdin", json_false());
    json_object_set_new(root, "AttachStdout", json_false());
    json_object_set_new(root, "AttachStderr", json_false());
    json_t *labels = json_object();
    snprintf(buf, sizeof buf, "%" PRIu64, spec->job_id);
    json_object_set_new(labels, "drover.job", json_string(buf));
    snprintf(buf, sizeof buf, "%u", spec->attempt);
    json_object_set_new(labels, "drover.attempt", json_string(buf));
    json_object_set_new(labels, "drover.node", json_string(spec->node));
    json_object_set_new(labels, "drover.managed", json_string("true"));
    json_object_set_new(root, "Labels", labels);

    json_t *hc = json_object();
    if (spec->cpus)
        json_object_set_new(hc, "NanoCpus",
                            json_integer((json_int_t)spec->cpus * 1000000000));
    if (spec->memory_mb) {
        json_int_t bytes = (json_int_t)spec->memory_mb * 1024 * 1024;
        json_object_set_new(hc, "Memory", json_integer(bytes));
        json_object_set_new(hc, "MemorySwap", json_integer(bytes));
    }
    json_object_set_new(hc, "PidsLimit",
                        json_integer(RUNTIME_DOCKER_PIDS_LIMIT));
    char *bind =
        dr_asprintf("%s:%s:rw", spec->task_dir, RUNTIME_DOCKER_SCRATCH);
    json_t *binds = json_array();
    json_array_append_new(binds, json_string(bind));
    free(bind);
    json_object_set_new(hc, "Binds", binds);
    json_object_set_new(hc, "NetworkMode", json_string("host"));
    json_object_set_new(hc, "Privileged", json_false());
    json_t *capdrop = json_array();
    json_array_append_new(capdrop, json_string("ALL"));
    json_object_set_new(hc, "CapDrop", capdrop);
    json_t *secopt = json_array();
    json_array_append_new(secopt, json_string("no-new-privileges"));
    json_object_set_new(hc, "SecurityOpt", secopt);
    if (spec->n_gpu > 0) {
        json_t *ids = json_array();
        for (size_t i = 0; i < spec->n_gpu; i++) {
            snprintf(buf, sizeof buf, "%u", spec->gpu_indices[i]);
            json_array_append_new(ids, json_string(buf));
        }
        json_t *caps = json_array();
        json_t *inner = json_array();
        json_array_append_new(inner, json_string("gpu"));
        json_array_append_new(caps, inner);
        json_t *dr = json_object();
        json_object_set_new(dr, "Driver", json_string("nvidia"));
        json_object_set_new(dr, "DeviceIDs", ids);
        json_object_set_new(dr, "Capabilities", caps);
        json_t *drs = json_array();
        json_array_append_new(drs, dr);
        json_object_set_new(hc, "DeviceRequests", drs);
    }
    json_object_set_new(root, "HostConfig", hc);
    char *out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!out) {
        fprintf(stderr, "%s:%d: out of memory\n", __FILE__, __LINE__);
        abort();
    }
    return out;
}

static json_t *s_parse(const char *body, size_t n, char *why, size_t whylen)
{
    json_error_t e;
    json_t *j = json_loadb(body ? body : "", body ? n : 0, 0, &e);
    if (!j)
        snprintf(why, whylen, "answer is not JSON (%s, %zu bytes)", e.text, n);
    return j;
}

int runtime_docker_parse_id(const char *body, size_t n, char *id, size_t cap,
                            char *why, size_t whylen)
{
    json_t *j = s_parse(body, n, why, whylen);
    if (!j)
        return DR_EPROTO;
    const char *s = json_string_value(json_object_get(j, "Id"));
    int rc = 0;
    size_t len = s ? strlen(s) : 0;
    if (!s || len == 0 || len >= cap || strspn(s, "0123456789abcdef") != len) {
        snprintf(why, whylen, "no valid Id in the answer");
        rc = DR_EPROTO;
    } else {
        memcpy(id, s, len + 1);
    }
    json_decref(j);
    return rc;
}

int runtime_docker_parse_wait(const char *body, size_t n, int *status,
                              char *why, size_t whylen)
{
    json_t *j = s_parse(body, n, why, whylen);
    if (!j)
        return DR_EPROTO;
    json_t *sc = json_object_get(j, "StatusCode");
    int rc = 0;
    if (!json_is_integer(sc) || json_integer_value(sc) < -1 ||
        json_integer_value(sc) > 0xffff) {
        snprintf(why, whylen, "no StatusCode in the wait answer");
        rc = DR_EPROTO;
    } else {
        *status = (int)json_integer_value(sc);
    }
    json_decref(j);
    return rc;
}

int runtime_docker_parse_inspect(const char *body, size_t n,
                                 runtime_docker_state_t *st, char *why,
                                 size_t whylen)
{
    memset(st, 0, sizeof *st);
    json_t *j = s_parse(body, n, why, whylen);
    if (!j)
        return DR_EPROTO;
    json_t *s = json_object_get(j, "State");
    json_t *code = json_object_get(s, "ExitCode");
    int rc = 0;
    if (!json_is_object(s) || !json_is_integer(code)) {
        snprintf(why, whylen, "no State.ExitCode in the inspect answer");
        rc = DR_EPROTO;
    } else {
        st->exit_code = (int)json_integer_value(code);
        st->running = json_is_true(json_object_get(s, "Running"));
        st->oom_killed = json_is_true(json_object_get(s, "OOMKilled"));
        const char *e = json_string_value(json_object_get(s, "Error"));
        snprintf(st->error, sizeof st->error, "%s", e ? e : "");
    }
    json_decref(j);
    return rc;
}

int runtime_docker_parse_list(const char *body, size_t n,
                              runtime_docker_found_t **out, size_t *count,
                              char *why, size_t whylen)
{
    *out = NULL;
    *count = 0;
    json_t *j = s_parse(body, n, why, whylen);
    if (!j)
        return DR_EPROTO;
    if (!json_is_array(j)) {
        snprintf(why, whylen, "container list is not an array");
        json_decref(j);
        return DR_EPROTO;
    }
    size_t len = json_array_size(j);
    runtime_docker_found_t *v = dr_calloc(len + 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        json_t *c = json_array_get(j, i);
        const char *id = json_string_value(json_object_get(c, "Id"));
        json_t *lab = json_object_get(c, "Labels");
        const char *job = json_string_value(json_object_get(lab, "drover.job"));
        const char *att =
            json_string_value(json_object_get(lab, "drover.attempt"));
        const char *state = json_string_value(json_object_get(c, "State"));
        int64_t jv, av;
        if (!id || strlen(id) >= sizeof v[k].id ||
            strspn(id, "0123456789abcdef") != strlen(id) || !job || !att ||
            dr_parse_i64(job, 1, INT64_MAX, &jv) < 0 ||
            dr_parse_i64(att, 1, UINT32_MAX, &av) < 0)
            continue;
        snprintf(v[k].id, sizeof v[k].id, "%s", id);
        v[k].job_id = (uint64_t)jv;
        v[k].attempt = (uint32_t)av;
        v[k].running = state && strcmp(state, "running") == 0;
        k++;
    }
    json_decref(j);
    *out = v;
    *count = k;
    return 0;
}

int runtime_docker_pull_error(const char *body, size_t n, char *why,
                              size_t whylen)
{
    int found = 0;
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(body + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (body + i)) : n - i;
        json_t *j = json_loadb(body + i, len, 0, NULL);
        const char *e =
            j ? json_string_value(json_object_get(j, "error")) : NULL;
        if (e) {
            snprintf(why, whylen, "%s", e);
            found = 1;
        }
        json_decref(j);
        i += len + 1;
    }
    return found;
}

void runtime_docker_error_message(const char *body, size_t n, char *out,
                                  size_t cap)
{
    json_t *j = body && n ? json_loadb(body, n, 0, NULL) : NULL;
    const char *m = j ? json_string_value(json_object_get(j, "message")) : NULL;
    if (m) {
        snprintf(out, cap, "%s", m);
    } else {
        /* a short, printable quote of what came instead */
        size_t k = 0;
        for (size_t i = 0; i < n && k + 1 < cap && i < 160; i++) {
            unsigned char ch = (unsigned char)body[i];
            out[k++] = ch >= 32 && ch < 127 ? (char)ch : ' ';
        }
        while (k > 0 && out[k - 1] == ' ')
            k--;
        if (cap)
            out[k] = '\0';
        if (k == 0)
            snprintf(out, cap, "empty answer");
    }
    json_decref(j);
}

/* ---- requests --------------------------------------------------------------
 */

static size_t s_write_cb(char *p, size_t sz, size_t nm, void *ud);

static void s_req_unlink(s_req_t *r)
{
    runtime_docker_t *rd = r->rd;
    if (r->prev)
        r->prev->next = r->next;
    else if (rd->reqs == r)
        rd->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

static void s_req_free(s_req_t *r)
{
    if (!r)
        return;
    if (r->easy) {
        curl_multi_remove_handle(r->rd->multi, r->easy);
        curl_easy_cleanup(r->easy);
    }
    s_req_unlink(r);
    curl_slist_free_all(r->hdrs);
    free(r->body);
    free(r->what);
    dr_buf_free(&r->resp);
    free(r);
}

/* Queues a request; body (may be NULL) is taken.  NULL if libcurl refuses
 * it (logged); then body is freed. */
static s_req_t *s_req_new(runtime_docker_t *rd, const char *method,
                          const char *path, char *body, int kind,
                          long timeout_ms, s_done_fn *done,
                          runtime_docker_ctr_t *ctr)
{
    s_req_t *r = dr_calloc(1, sizeof *r);
    r->rd = rd;
    r->body = body;
    r->kind = kind;
    r->done = done;
    r->ctr = ctr;
    r->what = dr_asprintf("%s %s", method, path);
    r->easy = curl_easy_init();
    if (!r->easy) {
        log_error("docker: curl_easy_init failed");
        s_req_free(r);
        return NULL;
    }
    char *url = dr_asprintf("http://docker%s", path);
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, rd->socket);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, S_CONNECT_MS);
    if (timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    r->hdrs = curl_slist_append(NULL, "Expect:");
    if (body)
        r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
                         body ? (long)strlen(body) : 0L);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }
    r->next = rd->reqs;
    if (rd->reqs)
        rd->reqs->prev = r;
    rd->reqs = r;
    CURLMcode mc = curl_multi_add_handle(rd->multi, e);
    if (mc != CURLM_OK) {
        log_error("docker: %s: curl_multi_add_handle: %s", r->what,
                  curl_multi_strerror(mc));
        s_req_free(r);
        return NULL;
    }
    return r;
}

/* A one-line reason for a failed request: transport error or HTTP error. */
static void s_req_why(const s_req_t *r, char *why, size_t n)
{
    if (r->cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(why, n, "docker API call timed out (%s): %s", r->what,
                 r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->cc));
    } else if (r->too_big) {
        snprintf(why, n, "docker answer to %s larger than %u bytes", r->what,
                 S_MAX_BODY);
    } else if (r->proto_err) {
        snprintf(why, n, "docker stream of %s is malformed", r->what);
    } else if (r->cc != CURLE_OK) {
        snprintf(why, n, "docker daemon unreachable: %s",
                 r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->cc));
    } else {
        char msg[400];
        runtime_docker_error_message(r->resp.data, r->resp.len, msg,
                                     sizeof msg);
        snprintf(why, n, "%s (HTTP %ld)", msg, r->status);
    }
}

static void s_check_done(runtime_docker_t *rd)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(rd->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        s_req_t *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (!r)
            continue;
        r->cc = m->data.result;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
        curl_multi_remove_handle(rd->multi, r->easy);
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
        s_req_unlink(r);
        if (r->done)
            r->done(r);
        s_req_free(r);
    }
}

/* ---- the client
 * --------------------------------------------------------------
 */

static int s_sock_cb(CURL *e, curl_socket_t s, int what, void *userp,
                     void *sockp)
{
    (void)e;
    (void)sockp;
    runtime_docker_t *rd = userp;
    size_t i;
    for (i = 0; i < rd->nfds; i++)
        if (rd->fds[i].fd == s)
            break;
    if (what == CURL_POLL_REMOVE) {
        if (i < rd->nfds)
            rd->fds[i] = rd->fds[--rd->nfds];
        return 0;
    }
    if (i == rd->nfds) {
        if (rd->nfds == rd->fds_cap) {
            rd->fds_cap = rd->fds_cap ? rd->fds_cap * 2 : 16;
            rd->fds = dr_realloc(rd->fds, rd->fds_cap * sizeof *rd->fds);
        }
        rd->nfds++;
    }
    rd->fds[i] = (s_fd_t){s, what};
    return 0;
}

static int s_timer_cb(CURLM *m, long ms, void *userp)
{
    (void)m;
    runtime_docker_t *rd = userp;
    rd->timer_at = ms < 0 ? INT64_MAX : dr_mono_ms() + ms;
    return 0;
}

static size_t s_write_cb(char *p, size_t sz, size_t nm, void *ud);

runtime_docker_t *runtime_docker_new(const char *socket_path)
{
    static int inited;
    if (!inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            log_error("docker: curl_global_init failed");
            return NULL;
        }
        inited = 1;
    }
    runtime_docker_t *rd = dr_calloc(1, sizeof *rd);
    rd->socket = dr_strdup(socket_path);
    rd->timer_at = INT64_MAX;
    snprintf(rd->error, sizeof rd->error, "not probed yet");
    rd->multi = curl_multi_init();
    if (!rd->multi) {
        log_error("docker: curl_multi_init failed");
        free(rd->socket);
        free(rd);
        return NULL;
    }
    curl_multi_setopt(rd->multi, CURLMOPT_SOCKETFUNCTION, s_sock_cb);
    curl_multi_setopt(rd->multi, CURLMOPT_SOCKETDATA, rd);
    curl_multi_setopt(rd->multi, CURLMOPT_TIMERFUNCTION, s_timer_cb);
    curl_multi_setopt(rd->multi, CURLMOPT_TIMERDATA, rd);
    runtime_docker_ping(rd);
    return rd;
}

void runtime_docker_destroy(runtime_docker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    runtime_docker_t *rd = *self_p;
    /* Give the client's own removals a bounded time to finish; the
     * followed streams of containers still owned are not ours to wait
     * for (their owners were destroyed first, or they are left to the
     * next agent). */
    int64_t end = dr_mono_ms() + S_DESTROY_WAIT_MS;
    for (;;) {
        int pending = 0;
        for (s_req_t *r = rd->reqs; r; r = r->next)
            if (!r->ctr && r != rd->ping && r != rd->list)
                pending = 1;
        int64_t now = dr_mono_ms();
        if (!pending || now >= end)
            break;
        struct pollfd pf[64];
        nfds_t n = 0;
        for (size_t i = 0; i < rd->nfds && n < 64; i++) {
            int w = rd->fds[i].what;
            pf[n++] =
                (struct pollfd){rd->fds[i].fd,
                                (short)((w & CURL_POLL_IN ? POLLIN : 0) |
                                        (w & CURL_POLL_OUT ? POLLOUT : 0)),
                                0};
        }
        int64_t wait = rd->timer_at == INT64_MAX ? 50 : rd->timer_at - now;
        if (wait > 50)
            wait = 50;
        if (wait < 0)
            wait = 0;
        if (poll(pf, n, (int)wait) > 0) {
            for (nfds_t i = 0; i < n; i++)
                if (pf[i].revents)
                    runtime_docker_on_fd(
                        rd, pf[i].fd,
                        !!(pf[i].revents & (POLLIN | POLLERR | POLLHUP)),
                        !!(pf[i].revents & POLLOUT));
        }
        if (dr_mono_ms() >= rd->timer_at)
            runtime_docker_on_timer(rd);
    }
    while (rd->reqs) {
        s_req_t *r = rd->reqs;
        if (r->ctr) {
            /* owned by a container that was not destroyed: detach */
            runtime_docker_ctr_t *c = r->ctr;
            if (c->ctl == r)
                c->ctl = NULL;
            if (c->wait == r)
                c->wait = NULL;
            if (c->logs == r)
                c->logs = NULL;
        }
        s_req_free(r);
    }
    curl_multi_cleanup(rd->multi);
    free(rd->fds);
    free(rd->socket);
    free(rd);
    *self_p = NULL;
}

static void s_ping_done(s_req_t *r)
{
    runtime_docker_t *rd = r->rd;
    rd->ping = NULL;
    int was = rd->available, first = !rd->probed;
    rd->probed = 1;
    if (r->cc == CURLE_OK && r->status == 200 && r->resp.len >= 2 &&
        memcmp(r->resp.data, "OK", 2) == 0) {
        rd->available = 1;
        rd->error[0] = '\0';
    } else {
        rd->available = 0;
        s_req_why(r, rd->error, sizeof rd->error);
    }
    if (rd->available && (!was || first))
        log_info("docker: daemon at %s answers", rd->socket);
    else if (!rd->available && (was || first))
        log_warn("docker: daemon at %s not available: %s", rd->socket,
                 rd->error);
}

void runtime_docker_ping(runtime_docker_t *self)
{
    if (self->ping)
        return;
    self->ping = s_req_new(self, "GET", "/_ping", NULL, S_REQ_PLAIN, S_PING_MS,
                           s_ping_done, NULL);
}

int runtime_docker_probed(const runtime_docker_t *self)
{
    return self->probed;
}

int runtime_docker_available(const runtime_docker_t *self)
{
    return self->available;
}

const char *runtime_docker_error(const runtime_docker_t *self)
{
    return self->available ? "" : self->error;
}

size_t runtime_docker_nfds(const runtime_docker_t *self)
{
    return self->nfds;
}

int runtime_docker_fd(const runtime_docker_t *self, size_t i, int *want_read,
                      int *want_write)
{
    if (i >= self->nfds)
        return -1;
    int w = self->fds[i].what;
    *want_read = w == CURL_POLL_IN || w == CURL_POLL_INOUT;
    *want_write = w == CURL_POLL_OUT || w == CURL_POLL_INOUT;
    return self->fds[i].fd;
}

void runtime_docker_on_fd(runtime_docker_t *self, int fd, int readable,
                          int writable)
{
    int running = 0;
    int ev =
        (readable ? CURL_CSELECT_IN : 0) | (writable ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(self->multi, fd, ev, &running);
    s_check_done(self);
}

int64_t runtime_docker_timer(const runtime_docker_t *self)
{
    return self->timer_at;
}

void runtime_docker_on_timer(runtime_docker_t *self)
{
    int running = 0;
    self->timer_at = INT64_MAX; /* one-shot: libcurl arms it again */
    curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    s_check_done(self);
}

static void s_list_done(s_req_t *r)
{
    runtime_docker_t *rd = r->rd;
    rd->list = NULL;
    runtime_docker_list_fn *fn = rd->list_fn;
    void *arg = rd->list_arg;
    char why[512] = "";
    runtime_docker_found_t *v = NULL;
    size_t n = 0;
    int rc = 0;
    if (r->cc != CURLE_OK || r->status != 200) {
        s_req_why(r, why, sizeof why);
        rc = r->cc != CURLE_OK ? DR_EIO : DR_EPROTO;
    } else {
        rc = runtime_docker_parse_list(r->resp.data, r->resp.len, &v, &n, why,
                                       sizeof why);
    }
    if (fn)
        fn(arg, rc, v, n, why);
    free(v);
}

int runtime_docker_list(runtime_docker_t *self, const char *node,
                        runtime_docker_list_fn *fn, void *arg)
{
    if (self->list)
        return DR_ESTATE;
    char *filters = dr_asprintf(
        "{\"label\":[\"drover.managed=true\",\"drover.node=%s\"]}", node);
    char *esc = curl_easy_escape(NULL, filters, 0);
    free(filters);
    if (!esc)
        return DR_ENOMEM;
    char *path = dr_asprintf(RUNTIME_DOCKER_API "/containers/json?all=1&"
                                                "filters=%s",
                             esc);
    curl_free(esc);
    self->list_fn = fn;
    self->list_arg = arg;
    self->list = s_req_new(self, "GET", path, NULL, S_REQ_PLAIN, S_SHORT_MS,
                           s_list_done, NULL);
    free(path);
    return self->list ? 0 : DR_EIO;
}

static void s_detached_done(s_req_t *r)
{
    if (r->cc != CURLE_OK ||
        (r->status >= 400 && r->status != 404 && r->status != 409)) {
        char why[512];
        s_req_why(r, why, sizeof why);
        log_warn("docker: %s failed: %s", r->what, why);
    }
}

/* Fire and forget: a kill, or the removal of a container given up. */
static void s_detached(runtime_docker_t *rd, const char *method,
                       const char *path, long timeout_ms)
{
    (void)s_req_new(rd, method, path, NULL, S_REQ_PLAIN, timeout_ms,
                    s_detached_done, NULL);
}

void runtime_docker_remove(runtime_docker_t *self, const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > 64 || strspn(id, "0123456789abcdef") != len)
        return;
    char *p = dr_asprintf(RUNTIME_DOCKER_API "/containers/%s?force=1&v=1", id);
    s_detached(self, "DELETE", p, S_LONG_MS);
    free(p);
}

/* ---- one container
 * -----------------------------------------------------------
 */

static void s_emit(void *arg, int stream, const char *data, size_t n)
{
    runtime_docker_ctr_t *c = arg;
    dr_buf_append(&c->out[stream], data, n);
}

static size_t s_write_cb(char *p, size_t sz, size_t nm, void *ud)
{
    s_req_t *r = ud;
    size_t n = sz * nm;
    if (r->kind == S_REQ_LOGS && r->ctr) {
        long st = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &st);
        if (st == 200) {
            if (runtime_docker_demux_feed(&r->ctr->demux, p, n, s_emit,
                                          r->ctr) < 0) {
                r->proto_err = 1;
                return 0;
            }
            return n;
        }
    }
    if (r->kind == S_REQ_PULL && r->resp.len + n > S_PULL_TAIL) {
        /* keep only the tail: the error, if any, is at the end */
        size_t keep = S_PULL_TAIL / 2;
        if (r->resp.len > keep) {
            memmove(r->resp.data, r->resp.data + r->resp.len - keep, keep);
            r->resp.len = keep;
        }
    }
    if (r->resp.len + n > S_MAX_BODY) {
        r->too_big = 1;
        return 0;
    }
    dr_buf_append(&r->resp, p, n);
    return n;
}

static void s_ctr_next(runtime_docker_ctr_t *c);
static void s_ctl_done(s_req_t *r);

static void s_ctr_send(runtime_docker_ctr_t *c, const char *method, char *path,
                       char *body, int kind, long timeout_ms)
{
    c->ctl =
        s_req_new(c->rd, method, path, body, kind, timeout_ms, s_ctl_done, c);
    free(path);
    if (!c->ctl) {
        snprintf(c->res.reason, sizeof c->res.reason,
                 "docker: could not queue a request");
        c->step = C_DONE;
        c->phase = RUNTIME_DOCKER_DONE;
    }
}

/* What to remove by: the id once known, the name while create flies. */
static const char *s_ctr_ref(const runtime_docker_ctr_t *c)
{
    return c->id[0] ? c->id : c->name;
}

/* Fails the container: remove what exists, then DONE. */
static void s_ctr_fail(runtime_docker_ctr_t *c, const char *why, int lost)
{
    if (!c->res.reason[0] && why)
        snprintf(c->res.reason, sizeof c->res.reason, "%s", why);
    if (lost)
        c->res.lost = 1;
    s_req_free(c->wait);
    c->wait = NULL;
    s_req_free(c->logs);
    c->logs = NULL;
    c->phase = RUNTIME_DOCKER_ENDING;
    c->step = c->created && !c->removed ? C_REMOVE : C_DONE;
    s_ctr_next(c);
}

static void s_run_check(runtime_docker_ctr_t *c)
{
    if (c->step == C_RUN && c->wait_done && c->logs_done) {
        c->step = C_INSPECT;
        s_ctr_next(c);
    }
}

static void s_wait_done(s_req_t *r)
{
    runtime_docker_ctr_t *c = r->ctr;
    c->wait = NULL;
    char why[512];
    if (r->cc != CURLE_OK || r->status != 200) {
        s_req_why(r, why, sizeof why);
        log_warn("docker: container %.12s: wait failed: %s", s_ctr_ref(c), why);
        s_ctr_fail(c, why, r->cc != CURLE_OK);
        return;
    }
    if (runtime_docker_parse_wait(r->resp.data, r->resp.len, &c->wait_status,
                                  why, sizeof why) < 0)
        log_warn("docker: container %.12s: wait: %s", s_ctr_ref(c), why);
    else
        c->wait_ok = 1;
    c->wait_done = 1;
    c->phase = RUNTIME_DOCKER_ENDING;
    s_run_check(c);
}

static void s_logs_done(s_req_t *r)
{
    runtime_docker_ctr_t *c = r->ctr;
    c->logs = NULL;
    if (r->cc != CURLE_OK || r->status != 200) {
        char why[512];
        s_req_why(r, why, sizeof why);
        log_warn("docker: container %.12s: logs: %s", s_ctr_ref(c), why);
    } else if (runtime_docker_demux_partial(&c->demux)) {
        log_warn("docker: container %.12s: log stream ended inside a frame",
                 s_ctr_ref(c));
    }
    c->logs_done = 1;
    s_run_check(c);
}

static void s_ctr_follow(runtime_docker_ctr_t *c)
{
    char *p = dr_asprintf(RUNTIME_DOCKER_API "/containers/%s/wait", c->id);
    c->wait = s_req_new(c->rd, "POST", p, NULL, S_REQ_PLAIN, 0, s_wait_done, c);
    free(p);
    p = dr_asprintf(RUNTIME_DOCKER_API
                    "/containers/%s/logs?follow=1&stdout=1&stderr=1",
                    c->id);
    c->logs = s_req_new(c->rd, "GET", p, NULL, S_REQ_LOGS, 0, s_logs_done, c);
    free(p);
    c->step = C_RUN;
    c->phase = RUNTIME_DOCKER_RUNNING;
    c->res.started = 1;
    if (!c->wait) {
        s_ctr_fail(c, "docker: could not queue the wait", 0);
        return;
    }
    if (!c->logs)
        c->logs_done = 1;
}

/* Issues the request of the current step. */
static void s_ctr_next(runtime_docker_ctr_t *c)
{
    switch (c->step) {
    case C_IMAGE:
        s_ctr_send(c, "GET",
                   dr_asprintf(RUNTIME_DOCKER_API "/images/%s/json", c->image),
                   NULL, S_REQ_PLAIN, S_SHORT_MS);
        break;
    case C_PULL: {
        char *esc = curl_easy_escape(NULL, c->image, 0);
        s_ctr_send(
            c, "POST",
            dr_asprintf(RUNTIME_DOCKER_API "/images/create?fromImage=%s%s",
                        esc ? esc : "",
                        runtime_docker_image_tagged(c->image) ? ""
                                                              : "&tag=latest"),
            NULL, S_REQ_PULL, S_PULL_MS);
        curl_free(esc);
        break;
    }
    case C_CREATE:
        c->created = 1; /* maybe, from now on: removal by name */
        s_ctr_send(c, "POST",
                   dr_asprintf(RUNTIME_DOCKER_API "/containers/create?name=%s",
                               c->name),
                   dr_strdup(c->create_body), S_REQ_PLAIN, S_LONG_MS);
        break;
    case C_CONFLICT_RM:
        s_ctr_send(c, "DELETE",
                   dr_asprintf(RUNTIME_DOCKER_API "/containers/%s?force=1&v=1",
                               c->name),
                   NULL, S_REQ_PLAIN, S_LONG_MS);
        break;
    case C_START:
        s_ctr_send(
            c, "POST",
            dr_asprintf(RUNTIME_DOCKER_API "/containers/%s/start", c->id), NULL,
            S_REQ_PLAIN, S_SHORT_MS);
        break;
    case C_RUN:
        s_ctr_follow(c);
        break;
    case C_INSPECT:
        s_ctr_send(c, "GET",
                   dr_asprintf(RUNTIME_DOCKER_API "/containers/%s/json", c->id),
                   NULL, S_REQ_PLAIN, S_SHORT_MS);
        break;
    case C_REMOVE:
        s_ctr_send(c, "DELETE",
                   dr_asprintf(RUNTIME_DOCKER_API "/containers/%s?force=1&v=1",
                               s_ctr_ref(c)),
                   NULL, S_REQ_PLAIN, S_LONG_MS);
        break;
    case C_DONE:
        c->phase = RUNTIME_DOCKER_DONE;
        break;
    }
}

static void s_ctl_done(s_req_t *r)
{
    runtime_docker_ctr_t *c = r->ctr;
    c->ctl = NULL;
    char why[640], msg[512];
    int ok = r->cc == CURLE_OK && r->status >= 200 && r->status < 300;
    int lost = r->cc != CURLE_OK && r->cc != CURLE_OPERATION_TIMEDOUT;
    s_req_why(r, msg, sizeof msg);
    switch (c->step) {
    case C_IMAGE:
        if (ok)
            c->step = C_CREATE;
        else if (r->cc == CURLE_OK && r->status == 404)
            c->step = C_PULL;
        else {
            snprintf(why, sizeof why, "image %s: %s", c->image, msg);
            s_ctr_fail(c, why, lost);
            return;
        }
        if (c->step == C_PULL)
            log_info("docker: pulling image %s", c->image);
        break;
    case C_PULL:
        if (ok && runtime_docker_pull_error(r->resp.data, r->resp.len, msg,
                                            sizeof msg))
            ok = 0;
        if (!ok) {
            snprintf(why, sizeof why, "pulling image %s failed: %s", c->image,
                     msg);
            s_ctr_fail(c, why, lost);
            return;
        }
        c->step = C_CREATE;
        break;
    case C_CREATE:
        if (r->cc == CURLE_OK && r->status == 409 && !c->conflict_retried &&
            !c->canceled) {
            /* a leftover of ours under this name (an agent that died
             * between create and start): replace it */
            c->conflict_retried = 1;
            log_warn("docker: container name %s taken; removing the old one",
                     c->name);
            c->step = C_CONFLICT_RM;
            break;
        }
        if (!ok || runtime_docker_parse_id(r->resp.data, r->resp.len, c->id,
                                           sizeof c->id, msg, sizeof msg) < 0) {
            if (r->cc == CURLE_OK && r->status != 409 && !ok)
                c->created = 0; /* the daemon refused: nothing exists */
            snprintf(why, sizeof why, "creating the container failed: %s", msg);
            s_ctr_fail(c, why, lost);
            return;
        }
        if (c->canceled) {
            s_ctr_fail(c, "canceled before start", 0);
            return;
        }
        c->step = C_START;
        break;
    case C_CONFLICT_RM:
        c->step = C_CREATE;
        break;
    case C_START:
        if (!ok) {
            snprintf(why, sizeof why, "starting the container failed: %s", msg);
            if (strstr(msg, "executable file not found") ||
                strstr(msg, "no such file or directory"))
                c->res.exit_code = 127;
            s_ctr_fail(c, why, lost);
            return;
        }
        if (c->canceled) {
            s_ctr_fail(c, "canceled before start", 0);
            return;
        }
        c->step = C_RUN;
        break;
    case C_INSPECT: {
        runtime_docker_state_t st;
        c->res.exit_code = c->wait_status;
        if (!ok) {
            log_warn("docker: container %.12s: inspect: %s", c->id, msg);
            if (lost) {
                s_ctr_fail(c, msg, 1);
                return;
            }
        } else if (runtime_docker_parse_inspect(r->resp.data, r->resp.len, &st,
                                                msg, sizeof msg) < 0) {
            log_warn("docker: container %.12s: inspect: %s", c->id, msg);
            if (!c->wait_ok) {
                /* neither answer says how it ended: do not guess */
                snprintf(c->res.reason, sizeof c->res.reason,
                         "docker: exit status unknown: %.400s", msg);
                c->res.lost = 1;
            }
        } else {
            c->res.exit_code = st.exit_code;
            c->res.oom_killed = st.oom_killed;
        }
        c->step = C_REMOVE;
        break;
    }
    case C_REMOVE:
        if (ok || (r->cc == CURLE_OK && r->status == 404)) {
            c->removed = 1;
        } else {
            log_warn("docker: removing container %.12s failed: %s",
                     s_ctr_ref(c), msg);
            if (lost && !c->res.reason[0]) {
                snprintf(c->res.reason, sizeof c->res.reason, "%s", msg);
                c->res.lost = 1;
            }
        }
        c->step = C_DONE;
        break;
    case C_RUN:
    case C_DONE:
        break;
    }
    s_ctr_next(c);
}

static runtime_docker_ctr_t *s_ctr_alloc(runtime_docker_t *rd)
{
    runtime_docker_ctr_t *c = dr_calloc(1, sizeof *c);
    c->rd = rd;
    return c;
}

int runtime_docker_ctr_start(runtime_docker_t *rd,
                             const runtime_docker_spec_t *spec,
                             runtime_docker_ctr_t **out)
{
    char *body = runtime_docker_create_body(spec);
    if (!body)
        return DR_EINVAL;
    if (dr_mkdirs(spec->task_dir, 0755) < 0) {
        free(body);
        return DR_EIO;
    }
    /* The job runs as the image's user without capabilities: it can only
     * write its scratch directory when that is open to it. */
    if (chmod(spec->task_dir, 01777) < 0) {
        free(body);
        return DR_EIO;
    }
    runtime_docker_ctr_t *c = s_ctr_alloc(rd);
    c->create_body = body;
    c->image = dr_strdup(spec->image);
    c->name = dr_asprintf("drover-%s-%" PRIu64 "-%u", spec->node, spec->job_id,
                          spec->attempt);
    c->step = C_IMAGE;
    c->phase = RUNTIME_DOCKER_PREPARING;
    s_ctr_next(c);
    *out = c;
    return 0;
}

int runtime_docker_ctr_adopt(runtime_docker_t *rd, const char *id,
                             runtime_docker_ctr_t **out)
{
    size_t len = strlen(id);
    if (len == 0 || len >= sizeof((runtime_docker_ctr_t *)0)->id ||
        strspn(id, "0123456789abcdef") != len)
        return DR_EINVAL;
    runtime_docker_ctr_t *c = s_ctr_alloc(rd);
    memcpy(c->id, id, len + 1);
    c->name = dr_strdup(id);
    c->image = dr_strdup("");
    c->created = 1;
    c->step = C_RUN;
    s_ctr_next(c);
    *out = c;
    return 0;
}

void runtime_docker_ctr_destroy(runtime_docker_ctr_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    runtime_docker_ctr_t *c = *self_p;
    s_req_free(c->ctl);
    s_req_free(c->wait);
    s_req_free(c->logs);
    if (c->created && !c->removed && c->rd) {
        char *p = dr_asprintf(RUNTIME_DOCKER_API "/containers/%s?force=1&v=1",
                              s_ctr_ref(c));
        s_detached(c->rd, "DELETE", p, S_LONG_MS);
        free(p);
    }
    free(c->image);
    free(c->name);
    free(c->create_body);
    dr_buf_free(&c->out[0]);
    dr_buf_free(&c->out[1]);
    free(c);
    *self_p = NULL;
}

runtime_docker_phase_t runtime_docker_ctr_phase(const runtime_docker_ctr_t *c)
{
    return c->phase;
}

int runtime_docker_ctr_started(const runtime_docker_ctr_t *c)
{
    return c->res.started;
}

const char *runtime_docker_ctr_id(const runtime_docker_ctr_t *c)
{
    return c->id;
}

int runtime_docker_ctr_read(runtime_docker_ctr_t *c, int stream, char *buf,
                            size_t cap)
{
    if (stream != RUNTIME_DOCKER_STDOUT && stream != RUNTIME_DOCKER_STDERR)
        return DR_EINVAL;
    dr_buf_t *b = &c->out[stream];
    size_t avail = b->len - c->out_pos[stream];
    if (avail == 0)
        return 0;
    if (cap > INT32_MAX)
        cap = INT32_MAX;
    size_t n = avail < cap ? avail : cap;
    memcpy(buf, b->data + c->out_pos[stream], n);
    c->out_pos[stream] += n;
    if (c->out_pos[stream] == b->len) {
        b->len = 0;
        c->out_pos[stream] = 0;
    }
    return (int)n;
}

int runtime_docker_ctr_signal(runtime_docker_ctr_t *c, int sig)
{
    if (c->phase == RUNTIME_DOCKER_DONE)
        return 0;
    if (c->step == C_RUN) {
        if (c->wait_done)
            return 0;
        char *p = dr_asprintf(
            RUNTIME_DOCKER_API "/containers/%s/kill?signal=%d", c->id, sig);
        s_detached(c->rd, "POST", p, S_SHORT_MS);
        free(p);
        return 0;
    }
    if (c->phase != RUNTIME_DOCKER_PREPARING)
        return 0; /* ending already */
    c->canceled = 1;
    /* A create or start in flight is let finish (aborting a create could
     * leave a container we do not know of); its answer sees `canceled`. */
    if (c->step == C_CREATE || c->step == C_START || c->step == C_CONFLICT_RM)
        return 0;
    s_req_free(c->ctl);
    c->ctl = NULL;
    s_ctr_fail(c, "canceled before start", 0);
    return 0;
}

void runtime_docker_ctr_close_output(runtime_docker_ctr_t *c)
{
    if (c->logs) {
        s_req_free(c->logs);
        c->logs = NULL;
        c->logs_done = 1;
        s_run_check(c);
    }
}

int runtime_docker_ctr_result(const runtime_docker_ctr_t *c,
                              runtime_docker_result_t *res)
{
    if (c->phase != RUNTIME_DOCKER_DONE)
        return DR_ESTATE;
    *res = c->res;
    return 0;
}
