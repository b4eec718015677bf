/* sched_events.c - the scheduled-events poller (see sched_events.h).
 *
 * Owns one libcurl multi handle with at most one request in flight, the
 * answer buffer, the EventIds already seen and the problems already logged.
 * The agent's loop calls sched_events_tick() each pass; it drives libcurl
 * with curl_multi_socket_action() and never waits.  An answer is trusted in
 * nothing: every member is type-checked, sizes are bounded, and a bad
 * document only costs a warning (once per distinct problem).
 */
#include "sched_events.h"
#include "dr_err.h"
#include "log.h"
#include "util.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_BODY (1u << 20)
#define S_SEEN_MAX 64
#define S_PROBLEMS_MAX 32
#define S_NO_TIMER INT64_MAX

typedef struct {
    int fd;
    int what; /* CURL_POLL_* */
} s_fd_t;

struct sched_events {
    char *url;
    char *node;
    int64_t interval_ms;
    CURLM *multi;
    CURL *easy; /* the request in flight, NULL = none */
    struct curl_slist *hdrs;
    char errbuf[CURL_ERROR_SIZE];
    char *body;
    size_t body_len;
    int body_over; /* answer exceeded S_MAX_BODY */
    int64_t next_poll;
    int64_t timer_at;
    s_fd_t fds[8];
    size_t nfds;
    /* EventIds seen (a ring), and those not taken yet (a queue) */
    char seen[S_SEEN_MAX][SCHED_EVENTS_ID_MAX];
    size_t n_seen, seen_next;
    char todo[SCHED_EVENTS_MAX_PREEMPTS][SCHED_EVENTS_ID_MAX];
    size_t n_todo;
    /* problems already logged (a ring of hashes) */
    uint64_t problems[S_PROBLEMS_MAX];
    size_t n_problems, problems_next;
    int failing; /* the last poll had a problem */
};

/* ---- parsing ----------------------------------------------------------------
 */

static int s_valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= SCHED_EVENTS_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            return 0;
    return 1;
}

/* 1 if event ev (an object) is a Preempt for node, 0 if not, -1 if it is
 * malformed (why says how). */
static int s_event_preempts(json_t *ev, size_t idx, const char *node,
                            const char **id_out, char *why, size_t n)
{
    if (!json_is_object(ev)) {
        snprintf(why, n, "Events[%zu] is not an object", idx);
        return -1;
    }
    json_t *id = json_object_get(ev, "EventId");
    json_t *type = json_object_get(ev, "EventType");
    json_t *res = json_object_get(ev, "Resources");
    json_t *status = json_object_get(ev, "EventStatus");
    if (!json_is_string(id) || !s_valid_id(json_string_value(id))) {
        snprintf(why, n,
                 "Events[%zu].EventId is not a string of 1-%d "
                 "printable characters",
                 idx, SCHED_EVENTS_ID_MAX - 1);
        return -1;
    }
    if (!json_is_string(type)) {
        snprintf(why, n, "Events[%zu].EventType is not a string", idx);
        return -1;
    }
    if (res && !json_is_null(res) && !json_is_array(res)) {
        snprintf(why, n, "Events[%zu].Resources is not an array", idx);
        return -1;
    }
    if (status && !json_is_null(status) && !json_is_string(status)) {
        snprintf(why, n, "Events[%zu].EventStatus is not a string", idx);
        return -1;
    }
    *id_out = json_string_value(id);
    if (strcmp(json_string_value(type), "Preempt") != 0)
        return 0;
    const char *st = json_is_string(status) ? json_string_value(status) : "";
    if (strcmp(st, "Canceled") == 0 || strcmp(st, "Completed") == 0)
        return 0;
    if (!json_is_array(res) || json_array_size(res) == 0)
        return 1; /* no resources named: the whole deployment */
    size_t i;
    json_t *r;
    int ours = 0;
    json_array_foreach(res, i, r)
    {
        if (!json_is_string(r)) {
            snprintf(why, n, "Events[%zu].Resources[%zu] is not a string", idx,
                     i);
            return -1;
        }
        if (dr_streq_ci(json_string_value(r), node))
            ours = 1;
    }
    return ours;
}

int sched_events_parse(const char *doc, size_t len, const char *node,
                       sched_events_doc_t *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc = DR_EINVAL;
    if (!root) {
        snprintf(why, whylen, "not JSON: %s", jerr.text);
        return DR_EINVAL;
    }
    if (!json_is_object(root)) {
        snprintf(why, whylen, "the document is not a JSON object");
        goto out;
    }
    json_t *inc = json_object_get(root, "DocumentIncarnation");
    json_t *evs = json_object_get(root, "Events");
    if (!json_is_integer(inc)) {
        snprintf(why, whylen, "DocumentIncarnation is not an integer");
        goto out;
    }
    if (!json_is_array(evs)) {
        snprintf(why, whylen, "Events is not an array");
        goto out;
    }
    out->incarnation = (int64_t)json_integer_value(inc);
    size_t i;
    json_t *ev;
    json_array_foreach(evs, i, ev)
    {
        const char *id = NULL;
        char ewhy[sizeof out->warning];
        int p = s_event_preempts(ev, i, node, &id, ewhy, sizeof ewhy);
        if (p < 0) {
            if (!out->warning[0])
                snprintf(out->warning, sizeof out->warning, "%.200s (skipped)",
                         ewhy);
            continue;
        }
        if (p == 0 || out->n_preempts == SCHED_EVENTS_MAX_PREEMPTS)
            continue;
        snprintf(out->preempts[out->n_preempts++], SCHED_EVENTS_ID_MAX, "%s",
                 id);
    }
    rc = 0;
out:
    json_decref(root);
    if (rc < 0)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- problems and events ----------------------------------------------------
 */

static uint64_t s_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Logs a problem unless this one was logged already. */
static void s_problem(sched_events_t *self, const char *what)
{
    self->failing = 1;
    uint64_t h = s_hash(what);
    for (size_t i = 0; i < self->n_problems; i++)
        if (self->problems[i] == h)
            return;
    self->problems[self->problems_next] = h;
    self->problems_next = (self->problems_next + 1) % S_PROBLEMS_MAX;
    if (self->n_problems < S_PROBLEMS_MAX)
        self->n_problems++;
    log_warn("node %s: scheduled events %s: %s (polling goes on)", self->node,
             self->url, what);
}

static void s_event_seen(sched_events_t *self, const char *id)
{
    for (size_t i = 0; i < self->n_seen; i++)
        if (strcmp(self->seen[i], id) == 0)
            return;
    snprintf(self->seen[self->seen_next], SCHED_EVENTS_ID_MAX, "%s", id);
    self->seen_next = (self->seen_next + 1) % S_SEEN_MAX;
    if (self->n_seen < S_SEEN_MAX)
        self->n_seen++;
    if (self->n_todo == SCHED_EVENTS_MAX_PREEMPTS) {
        log_warn("node %s: too many Preempt events queued; dropping %s",
                 self->node, id);
        return;
    }
    log_warn("node %s: scheduled event Preempt %s", self->node, id);
    snprintf(self->todo[self->n_todo++], SCHED_EVENTS_ID_MAX, "%s", id);
}

static void s_answer(sched_events_t *self, CURLcode cc, long status)
{
    char msg[512];
    if (cc != CURLE_OK) {
        snprintf(msg, sizeof msg, "request failed: %s",
                 self->errbuf[0] ? self->errbuf : curl_easy_strerror(cc));
        s_problem(self, msg);
        return;
    }
    if (self->body_over) {
        snprintf(msg, sizeof msg, "answer larger than %u bytes", S_MAX_BODY);
        s_problem(self, msg);
        return;
    }
    if (status != 200) {
        snprintf(msg, sizeof msg, "HTTP status %ld", status);
        s_problem(self, msg);
        return;
    }
    sched_events_doc_t *doc = dr_malloc(sizeof *doc);
    char why[256];
    if (sched_events_parse(self->body ? self->body : "", self->body_len,
                           self->node, doc, why, sizeof why) < 0) {
        snprintf(msg, sizeof msg, "bad answer: %s", why);
        s_problem(self, msg);
        free(doc);
        return;
    }
    if (doc->warning[0])
        s_problem(self, doc->warning);
    else if (self->failing)
        log_info("node %s: scheduled events %s answer again", self->node,
                 self->url);
    self->failing = doc->warning[0] != 0;
    for (size_t i = 0; i < doc->n_preempts; i++)
        s_event_seen(self, doc->preempts[i]);
    free(doc);
}

/* ---- libcurl
 * ------------------------------------------------------------------
 */

static size_t s_write_cb(char *p, size_t sz, size_t nm, void *ud)
{
    sched_events_t *self = ud;
    size_t n = sz * nm;
    if (self->body_len + n > S_MAX_BODY) {
        self->body_over = 1;
        return 0; /* aborts the transfer */
    }
    self->body = dr_realloc(self->body, self->body_len + n + 1);
    memcpy(self->body + self->body_len, p, n);
    self->body_len += n;
    self->body[self->body_len] = '\0';
    return n;
}

static int s_sock_cb(CURL *e, curl_socket_t s, int what, void *userp,
                     void *sockp)
{
    (void)e;
    (void)sockp;
    sched_events_t *self = userp;
    size_t i;
    for (i = 0; i < self->nfds; i++)
        if (self->fds[i].fd == s)
            break;
    if (what == CURL_POLL_REMOVE) {
        if (i < self->nfds)
            self->fds[i] = self->fds[--self->nfds];
        return 0;
    }
    if (i == self->nfds) {
        if (self->nfds == sizeof self->fds / sizeof self->fds[0])
            return -1; /* libcurl fails the transfer */
        self->nfds++;
    }
    self->fds[i] = (s_fd_t){s, what};
    return 0;
}

static int s_timer_cb(CURLM *m, long ms, void *userp)
{
    (void)m;
    sched_events_t *self = userp;
    self->timer_at = ms < 0 ? S_NO_TIMER : dr_mono_ms() + ms;
    return 0;
}

static void s_request_end(sched_events_t *self)
{
    if (self->easy) {
        curl_multi_remove_handle(self->multi, self->easy);
        curl_easy_cleanup(self->easy);
        self->easy = NULL;
    }
    curl_slist_free_all(self->hdrs);
    self->hdrs = NULL;
    free(self->body);
    self->body = NULL;
    self->body_len = 0;
    self->body_over = 0;
    self->nfds = 0;
    self->timer_at = S_NO_TIMER;
}

static void s_request_start(sched_events_t *self)
{
    CURL *e = curl_easy_init();
    if (!e) {
        s_problem(self, "curl_easy_init failed");
        return;
    }
    self->errbuf[0] = '\0';
    self->hdrs = curl_slist_append(NULL, "Metadata: true");
    curl_easy_setopt(e, CURLOPT_URL, self->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, self->hdrs);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* the metadata endpoint is link-local: never through a proxy */
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)SCHED_EVENTS_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)SCHED_EVENTS_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, self->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, self);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLMcode mc = curl_multi_add_handle(self->multi, e);
    if (mc != CURLM_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "curl_multi_add_handle: %s",
                 curl_multi_strerror(mc));
        curl_easy_cleanup(e);
        s_request_end(self);
        s_problem(self, msg);
        return;
    }
    self->easy = e;
}

static void s_check_done(sched_events_t *self, int64_t now)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(self->multi, &left))) {
        if (m->msg != CURLMSG_DONE || m->easy_handle != self->easy)
            continue;
        CURLcode cc = m->data.result;
        long status = 0;
        curl_easy_getinfo(self->easy, CURLINFO_RESPONSE_CODE, &status);
        s_answer(self, cc, status);
        s_request_end(self);
        /* the next poll counts from the end of this one: a slow endpoint
         * cannot pile up requests */
        self->next_poll = now + self->interval_ms;
        return;
    }
}

/* ---- the public face
 * ----------------------------------------------------------
 */

sched_events_t *sched_events_new(const char *url, const char *node,
                                 int64_t interval_ms)
{
    static int inited;
    if (!inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            log_error("scheduled events: curl_global_init failed");
            return NULL;
        }
        inited = 1;
    }
    sched_events_t *self = dr_calloc(1, sizeof *self);
    self->multi = curl_multi_init();
    if (!self->multi) {
        log_error("scheduled events: curl_multi_init failed");
        free(self);
        return NULL;
    }
    self->url = dr_strdup(url);
    self->node = dr_strdup(node);
    self->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    self->timer_at = S_NO_TIMER;
    self->next_poll = dr_mono_ms();
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETFUNCTION, s_sock_cb);
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERFUNCTION, s_timer_cb);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERDATA, self);
    log_info("node %s: polling scheduled events %s every %" PRId64 " ms", node,
             url, self->interval_ms);
    return self;
}

void sched_events_destroy(sched_events_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sched_events_t *self = *self_p;
    s_request_end(self);
    curl_multi_cleanup(self->multi);
    free(self->url);
    free(self->node);
    free(self);
    *self_p = NULL;
}

int64_t sched_events_tick(sched_events_t *self, int64_t now)
{
    int running = 0;
    if (!self->easy && now >= self->next_poll) {
        s_request_start(self);
        if (!self->easy) {
            self->next_poll = now + self->interval_ms;
            return self->next_poll;
        }
        self->timer_at = now; /* kick it off below */
    }
    if (self->easy) {
        /* libcurl checks each socket's state itself (mask 0); the set may
         * change under us, so walk a copy */
        s_fd_t fds[sizeof self->fds / sizeof self->fds[0]];
        size_t n = self->nfds;
        memcpy(fds, self->fds, n * sizeof *fds);
        for (size_t i = 0; i < n; i++)
            curl_multi_socket_action(self->multi, fds[i].fd, 0, &running);
        if (dr_mono_ms() >= self->timer_at)
            curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0,
                                     &running);
        s_check_done(self, dr_mono_ms());
    }
    if (self->easy)
        return self->timer_at;
    return self->next_poll;
}

size_t sched_events_nfds(const sched_events_t *self)
{
    return self->nfds;
}

int sched_events_fd(const sched_events_t *self, size_t i, int *want_read,
                    int *want_write)
{
    int w = self->fds[i].what;
    *want_read = w == CURL_POLL_IN || w == CURL_POLL_INOUT;
    *want_write = w == CURL_POLL_OUT || w == CURL_POLL_INOUT;
    return self->fds[i].fd;
}

int sched_events_take(sched_events_t *self, char *id, size_t idlen)
{
    if (self->n_todo == 0)
        return 0;
    snprintf(id, idlen, "%s", self->todo[0]);
    memmove(self->todo[0], self->todo[1],
            (self->n_todo - 1) * sizeof self->todo[0]);
    self->n_todo--;
    return 1;
}
