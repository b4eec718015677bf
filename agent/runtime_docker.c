/* runtime_docker.c - the docker runtime's client of one dockerd (see
 * runtime_docker.h): its Engine API requests over common/http_async on
 * the daemon's unix socket, the pings that say whether it answers, the
 * list of drover's containers, the removal of leftovers.
 *
 * Owns the http_async_t and so every request in flight, the containers'
 * included: when it is destroyed first, the containers still alive lose
 * their requests (their handles are cleared, never left dangling).  The
 * life of one container is runtime_docker_ctr.c.  Nothing here blocks,
 * except runtime_docker_destroy() for a bounded time.
 */
#include "dr_err.h"
#include "log.h"
#include "runtime_docker_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DESTROY_WAIT_MS 5000

/* ---- requests ------------------------------------------------------------ */

http_req_t *runtime_docker_req(runtime_docker_t *rd, const rd_req_t *q)
{
    char *url = dr_asprintf("http://docker%s", q->path);
    char *label = dr_asprintf("%s %s", q->method, q->path);
    http_opts_t o = {
        .method = q->method,
        .url = url,
        .unix_socket = rd->socket,
        .body = q->body,
        .content_type = "application/json",
        .connect_timeout_ms = RD_CONNECT_MS,
        .timeout_ms = q->timeout_ms,
        .max_body = q->pull ? RD_PULL_TAIL : RD_MAX_BODY,
        .keep_tail = q->pull,
        .label = label,
        .on_data = q->on_data,
    };
    http_req_t *r = http_async_request(rd->http, &o, q->done, q->arg);
    free(url);
    free(label);
    return r;
}

void runtime_docker_why(const http_result_t *r, char *why, size_t n)
{
    if (r->timed_out) {
        snprintf(why, n, "docker API call timed out (%s): %s", r->label,
                 r->error);
    } else if (r->too_big) {
        snprintf(why, n, "docker answer to %s larger than %u bytes", r->label,
                 RD_MAX_BODY);
    } else if (r->aborted) {
        snprintf(why, n, "docker stream of %s is malformed", r->label);
    } else if (r->failed) {
        snprintf(why, n, "docker daemon unreachable: %s", r->error);
    } else {
        char msg[400];
        runtime_docker_error_message(r->body, r->len, msg, sizeof msg);
        snprintf(why, n, "%s (HTTP %ld)", msg, r->status);
    }
}

static void s_detached_done(void *arg, const http_result_t *r)
{
    runtime_docker_t *rd = arg;
    rd->detached--;
    if (r->failed ||
        (r->status >= 400 && r->status != 404 && r->status != 409)) {
        char why[512];
        runtime_docker_why(r, why, sizeof why);
        log_warn("docker: %s failed: %s", r->label, why);
    }
}

void runtime_docker_detached(runtime_docker_t *rd, const char *method,
                             const char *path, long timeout_ms)
{
    rd_req_t q = {.method = method,
                  .path = path,
                  .timeout_ms = timeout_ms,
                  .done = s_detached_done,
                  .arg = rd};
    if (runtime_docker_req(rd, &q))
        rd->detached++;
}

/* ---- the client ---------------------------------------------------------- */

runtime_docker_t *runtime_docker_new(const char *socket_path,
                                     const char *installation)
{
    http_async_t *http = http_async_new();
    if (!http)
        return NULL;
    runtime_docker_t *rd = dr_calloc(1, sizeof *rd);
    rd->http = http;
    rd->socket = dr_strdup(socket_path);
    rd->installation = dr_strdup(installation);
    snprintf(rd->error, sizeof rd->error, "not probed yet");
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
    while (rd->detached && dr_mono_ms() < end)
        http_async_wait(rd->http, 50);
    for (runtime_docker_ctr_t *c = rd->ctrs; c; c = c->next) {
        c->ctl = c->wait = c->logs = NULL; /* aborted below */
        c->rd = NULL;
    }
    http_async_destroy(&rd->http);
    free(rd->socket);
    free(rd->installation);
    free(rd);
    *self_p = NULL;
}

static void s_ping_done(void *arg, const http_result_t *r)
{
    runtime_docker_t *rd = arg;
    rd->ping = NULL;
    int was = rd->available, first = !rd->probed;
    rd->probed = 1;
    if (!r->failed && r->status == 200 && r->len >= 2 &&
        memcmp(r->body, "OK", 2) == 0) {
        rd->available = 1;
        rd->error[0] = '\0';
    } else {
        rd->available = 0;
        runtime_docker_why(r, rd->error, sizeof rd->error);
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
    rd_req_t q = {.method = "GET",
                  .path = "/_ping",
                  .timeout_ms = RD_PING_MS,
                  .done = s_ping_done,
                  .arg = self};
    self->ping = runtime_docker_req(self, &q);
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

http_async_t *runtime_docker_http(runtime_docker_t *self)
{
    return self->http;
}

const char *runtime_docker_installation(const runtime_docker_t *self)
{
    return self->installation;
}

static void s_list_done(void *arg, const http_result_t *r)
{
    runtime_docker_t *rd = arg;
    rd->list = NULL;
    char why[512] = "";
    runtime_docker_found_t *v = NULL;
    size_t n = 0;
    int rc = 0;
    if (r->failed || r->status != 200) {
        runtime_docker_why(r, why, sizeof why);
        rc = r->failed ? DR_EIO : DR_EPROTO;
    } else {
        rc =
            runtime_docker_parse_list(r->body, r->len, &v, &n, why, sizeof why);
    }
    if (rd->list_fn)
        rd->list_fn(rd->list_arg, rc, v, n, why);
    free(v);
}

int runtime_docker_list(runtime_docker_t *self, const char *node,
                        runtime_docker_list_fn *fn, void *arg)
{
    if (self->list)
        return DR_ESTATE;
    char *filters = dr_asprintf(
        "{\"label\":[\"drover.managed=true\",\"drover.node=%s\"]}", node);
    char *esc = http_async_escape(filters);
    free(filters);
    char *path = dr_asprintf(RUNTIME_DOCKER_API "/containers/json?all=1&"
                                                "filters=%s",
                             esc);
    free(esc);
    self->list_fn = fn;
    self->list_arg = arg;
    rd_req_t q = {.method = "GET",
                  .path = path,
                  .timeout_ms = RD_SHORT_MS,
                  .done = s_list_done,
                  .arg = self};
    self->list = runtime_docker_req(self, &q);
    free(path);
    return self->list ? 0 : DR_EIO;
}

void runtime_docker_remove(runtime_docker_t *self, const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > 64 || strspn(id, "0123456789abcdef") != len)
        return;
    char *p = dr_asprintf(RUNTIME_DOCKER_API "/containers/%s?force=1&v=1", id);
    runtime_docker_detached(self, "DELETE", p, RD_LONG_MS);
    free(p);
}

const char *runtime_docker_socket(const runtime_docker_t *self)
{
    return self->socket;
}
