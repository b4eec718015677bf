/* provider_http.c - nodes created and deleted through a webhook / cloud
 * REST endpoint.
 *
 * create() and destroy() queue a JSON POST; poll() drives the transfers
 * through common/http_async, never blocking the loop.  Each request has a 10 s
 * timeout and up to HTTP_TRIES attempts with doubling backoff when the
 * endpoint cannot be reached or answers 5xx; TLS peers are verified
 * (libcurl's default, never turned off).  An answer counts only if it is
 * 2xx with a JSON object body that does not say {"ok": false}; anything
 * else is reported as a failure with the reason.  Owns its requests.
 */
#include "dr_err.h"
#include "http_async.h"
#include "keys.h"
#include "log.h"
#include "provider.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HTTP_TRIES 3
#define HTTP_TIMEOUT_MS 10000
#define HTTP_MAX_ANSWER (64 * 1024)
#define HTTP_MAX_PENDING 256

typedef struct http http_t;

typedef struct {
    http_t *owner;
    provider_t *p;
    http_req_t *req; /* in flight, NULL = none */
    char *body;
    char cluster[64];
    char node[64];
    const char *op;
    int attempt;
    int64_t next_try; /* mono ms; 0 while in flight */
} req_t;

struct http {
    char *url;
    char *connect;
    char *state_dir;
    http_async_t *http;
    req_t *reqs[HTTP_MAX_PENDING];
    size_t nreqs;
};

static void s_req_free(req_t *r)
{
    http_async_cancel(r->req);
    free(r->body);
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
    /* with CURVE on, the node's join token and the scheduler's public key:
     * a cloud provider hands them to the VM (e.g. through cloud-init), whose
     * agent makes its own key pair and joins; no key file leaves here */
    char *token = strcmp(op, "create") == 0
                      ? provider_join_token(h->state_dir, node)
                      : NULL;
    if (token) {
        char *spub = dr_asprintf("%s/keys/scheduler.pub", h->state_dir);
        dr_keypair_t kp;
        char why[512];
        if (keys_load(spub, &kp, why, sizeof why) == 0) {
            json_object_set_new(o, "join_token", json_string(token));
            json_object_set_new(o, "scheduler_key", json_string(kp.public_z85));
        } else {
            log_warn("http provider: node %s: %s", node, why);
        }
        free(spub);
        free(token);
    }
    req_t *r = dr_calloc(1, sizeof *r);
    r->owner = h;
    r->p = p;
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

/* Judges a finished transfer: 1 done (ok or not), 0 retry later. */
static int s_judge(provider_t *p, req_t *r, const http_result_t *res)
{
    char why[300] = "";
    int retry = 0;
    if (res->failed) {
        snprintf(why, sizeof why, "%s", res->error);
        retry = 1;
    } else if (res->status >= 500) {
        snprintf(why, sizeof why, "HTTP %ld", res->status);
        retry = 1;
    } else if (res->status < 200 || res->status > 299) {
        snprintf(why, sizeof why, "HTTP %ld", res->status);
    } else {
        json_error_t jerr;
        json_t *a = res->len ? json_loadb(res->body, res->len, 0, &jerr) : NULL;
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
                            res->status);
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

static void s_forget(http_t *h, req_t *r)
{
    for (size_t i = 0; i < h->nreqs; i++) {
        if (h->reqs[i] == r) {
            h->reqs[i] = h->reqs[--h->nreqs];
            break;
        }
    }
    s_req_free(r);
}

static void s_done(void *arg, const http_result_t *res)
{
    req_t *r = arg;
    r->req = NULL;
    if (s_judge(r->p, r, res))
        s_forget(r->owner, r);
}

static int s_start(http_t *h, req_t *r)
{
    http_opts_t o = {
        .method = "POST",
        .url = h->url,
        .body = r->body,
        .content_type = "application/json",
        .connect_timeout_ms = 5000,
        .timeout_ms = HTTP_TIMEOUT_MS,
        .max_body = HTTP_MAX_ANSWER,
        .protocols = "http,https",
        .label = r->op,
    };
    r->attempt++;
    r->next_try = 0;
    r->req = http_async_request(h->http, &o, s_done, r);
    return r->req ? 0 : DR_EPROVIDER;
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
    http_async_drive(h->http);
    return h->nreqs ? 20 : -1;
}

static void s_free(provider_t *p)
{
    http_t *h = p->ctx;
    for (size_t i = 0; i < h->nreqs; i++)
        s_req_free(h->reqs[i]);
    http_async_destroy(&h->http);
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
    h->http = http_async_new();
    if (!h->http) {
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
