/* sched_events.c - the scheduled-events poller (see sched_events.h).
 *
 * Owns its http_async_t (at most one request in flight), the EventIds
 * already seen and the problems already logged.  The agent's loop calls
 * sched_events_tick() each pass; it drives the request and never waits.  An
 * answer is trusted in nothing: every member is type-checked, sizes are
 * bounded, and a bad document only costs a warning (once per distinct problem).
 */
#include "sched_events.h"
#include "dr_err.h"
#include "http_async.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_BODY (1u << 20)
#define S_SEEN_MAX 64
#define S_PROBLEMS_MAX 32

struct sched_events {
    char *url;
    char *node;
    int64_t interval_ms;
    http_async_t *http;
    http_req_t *req; /* the request in flight, NULL = none */
    int64_t next_poll;
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

static void s_answer(sched_events_t *self, const http_result_t *res)
{
    char msg[512];
    if (res->too_big) {
        snprintf(msg, sizeof msg, "answer larger than %u bytes", S_MAX_BODY);
        s_problem(self, msg);
        return;
    }
    if (res->failed) {
        snprintf(msg, sizeof msg, "request failed: %s", res->error);
        s_problem(self, msg);
        return;
    }
    if (res->status != 200) {
        snprintf(msg, sizeof msg, "HTTP status %ld", res->status);
        s_problem(self, msg);
        return;
    }
    sched_events_doc_t *doc = dr_malloc(sizeof *doc);
    char why[256];
    if (sched_events_parse(res->body, res->len, self->node, doc, why,
                           sizeof why) < 0) {
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

/* ---- the request
 * ------------------------------------------------------------------
 */

static void s_done(void *arg, const http_result_t *res)
{
    sched_events_t *self = arg;
    self->req = NULL;
    s_answer(self, res);
    /* the next poll counts from the end of this one: a slow endpoint
     * cannot pile up requests */
    self->next_poll = dr_mono_ms() + self->interval_ms;
}

static void s_request_start(sched_events_t *self)
{
    static const char *const hdrs[] = {"Metadata: true", NULL};
    http_opts_t o = {
        .url = self->url,
        .headers = hdrs,
        .connect_timeout_ms = SCHED_EVENTS_TIMEOUT_MS,
        .timeout_ms = SCHED_EVENTS_TIMEOUT_MS,
        .max_body = S_MAX_BODY,
        .protocols = "http,https",
        .no_proxy = 1, /* the metadata endpoint is link-local */
        .label = "scheduled events",
    };
    self->req = http_async_request(self->http, &o, s_done, self);
    if (!self->req)
        s_problem(self, "cannot start the request");
}

/* ---- the public face
 * ----------------------------------------------------------
 */

sched_events_t *sched_events_new(const char *url, const char *node,
                                 int64_t interval_ms)
{
    http_async_t *http = http_async_new();
    if (!http)
        return NULL;
    sched_events_t *self = dr_calloc(1, sizeof *self);
    self->http = http;
    self->url = dr_strdup(url);
    self->node = dr_strdup(node);
    self->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    self->next_poll = dr_mono_ms();
    log_info("node %s: polling scheduled events %s every %" PRId64 " ms", node,
             url, self->interval_ms);
    return self;
}

void sched_events_destroy(sched_events_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sched_events_t *self = *self_p;
    http_async_destroy(&self->http);
    free(self->url);
    free(self->node);
    free(self);
    *self_p = NULL;
}

int64_t sched_events_tick(sched_events_t *self, int64_t now)
{
    if (!self->req && now >= self->next_poll) {
        s_request_start(self);
        if (!self->req) {
            self->next_poll = now + self->interval_ms;
            return self->next_poll;
        }
    }
    if (self->req)
        http_async_drive(self->http);
    return self->req ? http_async_timer(self->http) : self->next_poll;
}

size_t sched_events_nfds(const sched_events_t *self)
{
    return http_async_nfds(self->http);
}

int sched_events_fd(const sched_events_t *self, size_t i, int *want_read,
                    int *want_write)
{
    return http_async_fd(self->http, i, want_read, want_write);
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
