/* provider_http.c - nodes created and deleted through a webhook / cloud
 * REST endpoint.
 *
 * create() and destroy() queue a JSON POST; poll() drives the transfers
 * with curl-multi, never blocking the loop.  Each request has a 10 s
 * timeout and up to HTTP_TRIES attempts with doubling backoff when the
 * endpoint cannot be reached or answers 5xx; TLS peers are verified
 * (libcurl's default, never turned off).  An answer counts only if it is
 * 2xx with a JSON object body that does not say {"ok": false}; anything
 * else is reported as a failure with the reason.  Owns its requests.
 */
#include "dr_err.h"
#include "log.h"
#include "provider.h"
#include "util.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HTTP_TRIES 3
#define HTTP_TIMEOUT_MS 10000
#define HTTP_MAX_ANSWER (64 * 1024)
#define HTTP_MAX_PENDING 256

typedef struct {
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    dr_buf_t answer;
    char cluster[64];
    char node[64];
    const char *op;
    int attempt;
    int64_t next_try; /* mono ms; 0 while in flight */
    char curl_err[CURL_ERROR_SIZE];
} req_t;

typedef struct {
    char *url;
    char *connect;
    char *state_dir;
    CURLM *multi;
    req_t *reqs[HTTP_MAX_PENDING];
    size_t nreqs;
} http_t;

static size_t s_write(char *data, size_t sz, size_t n, void *arg)
{
    dr_buf_t *b = arg;
    if (b->len + sz * n > HTTP_MAX_ANSWER)
        return 0; /* too large: the transfer fails */
    dr_buf_append(b, data, sz * n);
    return sz * n;
}

static void s_req_free(req_t *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    free(r->body);
    dr_buf_free(&r->answer);
    free(r);
}

static int s_queue(provider_t *p, const provider_cluster_t *c, const char *node,
                   const char *op, char *err, size_t errlen)
{
    http_t *h = p->ctx;
    if (h->nreqs == HTTP_MAX_PENDING) {
        snprintf(err, errlen, "%d requests already pending", HTTP_MAX_PENDING);
        return DR_EAGAIN;
    }
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:s}", "action", op,
                  "cluster", c->name, "node", node, "nodes", node, "vm_size",
                  c->vm->name, "vm_priority", c->vm_priority, "location",
                  c->location, "agent_endpoint", h->connect);
    if (!o) {
        snprintf(err, errlen, "cannot build the request");
        return DR_EPROVIDER;
    }
    /* with CURVE on, where the node's key and the scheduler's public key
     * are; a cloud provider hands them to the VM (e.g. through cloud-init) */
    char *key = dr_asprintf("%s/nodes/%s.key", h->state_dir, node);
    if (strcmp(op, "create") == 0 && access(key, F_OK) == 0) {
        char *spub = dr_asprintf("%s/keys/scheduler.pub", h->state_dir);
        json_object_set_new(o, "agent_key_file", json_string(key));
        json_object_set_new(o, "scheduler_key_file", json_string(spub));
        free(spub);
    }
    free(key);
    req_t *r = dr_calloc(1, sizeof *r);
    r->body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!r->body) {
        fprintf(stderr, "out of memory at %s:%d\n", __FILE__, __LINE__);
        abort();
    }
    snprintf(r->cluster, sizeof r->cluster, "%s", c->name);
    snprintf(r->node, sizeof r->node, "%s", node);
    r->op = op;
    r->next_try = dr_mono_ms();
    h->reqs[h->nreqs++] = r;
    return 0;
}

static int s_create(provider_t *p, const provider_cluster_t *c,
                    const char *node_name, int *pid_out, char *err,
                    size_t errlen)
{
    *pid_out = 0;
    return s_queue(p, c, node_name, "create", err, errlen);
}

static int s_destroy(provider_t *p, const provider_cluster_t *c,
                     const char *node_name, int pid, char *err, size_t errlen)
{
    (void)pid;
    return s_queue(p, c, node_name, "delete", err, errlen);
}

static int s_start(http_t *h, req_t *r)
{
    r->easy = curl_easy_init();
    if (!r->easy)
        return DR_EPROVIDER;
    dr_buf_free(&r->answer);
    r->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, h->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)HTTP_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->answer);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_err);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    r->curl_err[0] = '\0';
    r->attempt++;
    r->next_try = 0;
    return curl_multi_add_handle(h->multi, e) == CURLM_OK ? 0 : DR_EPROVIDER;
}

/* Judges a finished transfer: 1 done (ok or not), 0 retry later. */
static int s_judge(provider_t *p, req_t *r, CURLcode cc)
{
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    char why[300] = "";
    int retry = 0;
    if (cc != CURLE_OK) {
        snprintf(why, sizeof why, "%s",
                 r->curl_err[0] ? r->curl_err : curl_easy_strerror(cc));
        retry = 1;
    } else if (status >= 500) {
        snprintf(why, sizeof why, "HTTP %ld", status);
        retry = 1;
    } else if (status < 200 || status > 299) {
        snprintf(why, sizeof why, "HTTP %ld", status);
    } else {
        json_error_t jerr;
        json_t *a = r->answer.len
                        ? json_loadb(r->answer.data, r->answer.len, 0, &jerr)
                        : NULL;
        if (!a || !json_is_object(a)) {
            snprintf(why, sizeof why, "invalid answer: not a JSON object");
        } else {
            json_t *ok = json_object_get(a, "ok");
            json_t *msg = json_object_get(a, "error");
            if (ok && !json_is_boolean(ok))
                snprintf(why, sizeof why,
                         "invalid answer: \"ok\" is not a "
                         "boolean");
            else if (ok && json_is_false(ok))
                snprintf(why, sizeof why, "refused: %.200s",
                         json_is_string(msg) ? json_string_value(msg) : "?");
        }
        json_decref(a);
        if (!why[0]) {
            provider_report(p, r->cluster, r->node, r->op, 1, "HTTP %ld",
                            status);
            return 1;
        }
    }
    if (retry && r->attempt < HTTP_TRIES) {
        int64_t backoff = 1000LL << (r->attempt - 1);
        log_warn("http provider: %s %s: %s; retry %d in %lld ms", r->op,
                 r->node, why, r->attempt + 1, (long long)backoff);
        r->next_try = dr_mono_ms() + backoff;
        return 0;
    }
    provider_report(p, r->cluster, r->node, r->op, 0, "%s (after %d %s)", why,
                    r->attempt, r->attempt == 1 ? "try" : "tries");
    return 1;
}

static int s_poll(provider_t *p)
{
    http_t *h = p->ctx;
    int64_t now = dr_mono_ms();
    for (size_t i = 0; i < h->nreqs;) {
        req_t *r = h->reqs[i];
        if (r->next_try && r->next_try <= now && s_start(h, r) < 0) {
            provider_report(p, r->cluster, r->node, r->op, 0,
                            "cannot start the HTTP request");
            h->reqs[i] = h->reqs[--h->nreqs];
            s_req_free(r);
            continue;
        }
        i++;
    }
    int running = 0;
    curl_multi_perform(h->multi, &running);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        req_t *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode cc = m->data.result;
        curl_multi_remove_handle(h->multi, m->easy_handle);
        int done = s_judge(p, r, cc);
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
        curl_slist_free_all(r->hdrs);
        r->hdrs = NULL;
        if (done) {
            for (size_t i = 0; i < h->nreqs; i++) {
                if (h->reqs[i] == r) {
                    h->reqs[i] = h->reqs[--h->nreqs];
                    break;
                }
            }
            s_req_free(r);
        }
    }
    return h->nreqs ? 20 : -1;
}

static void s_free(provider_t *p)
{
    http_t *h = p->ctx;
    for (size_t i = 0; i < h->nreqs; i++) {
        if (h->reqs[i]->easy)
            curl_multi_remove_handle(h->multi, h->reqs[i]->easy);
        s_req_free(h->reqs[i]);
    }
    curl_multi_cleanup(h->multi);
    free(h->url);
    free(h->connect);
    free(h->state_dir);
    free(h);
}

static const provider_ops_t s_http_ops = {
    .name = "http",
    .create = s_create,
    .destroy = s_destroy,
    .poll = s_poll,
    .free = s_free,
};

provider_t *provider_http_new(const char *url, const char *connect,
                              const char *state_dir)
{
    http_t *h = dr_calloc(1, sizeof *h);
    h->state_dir = dr_strdup(state_dir);
    h->url = dr_strdup(url);
    h->connect = dr_strdup(connect);
    h->multi = curl_multi_init();
    if (!h->multi) {
        free(h->url);
        free(h->connect);
        free(h->state_dir);
        free(h);
        return NULL;
    }
    provider_t *p = dr_calloc(1, sizeof *p);
    p->ops = &s_http_ops;
    p->ctx = h;
    return p;
}
