/* runtime_docker_ctr.c - one container's life (see runtime_docker.h),
 * a state machine driven by the answers of dockerd: image present? (else
 * pull), create, start, then its wait and its followed logs side by side,
 * inspect (exit code, OOM kill) and remove.
 *
 * Owns its control request, its wait and its logs stream (aborted when it
 * is destroyed: no request outlives it) and its output buffers.  A done
 * callback never frees its own request (http_async does, after it) and
 * never frees a container.  Calls only the client (runtime_docker.c).
 */
#include "dr_err.h"
#include "log.h"
#include "runtime_docker_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void s_emit(void *arg, int stream, const char *data, size_t n)
{
    runtime_docker_ctr_t *c = arg;
    dr_buf_append(&c->out[stream], data, n);
}

/* The followed logs: demultiplexed into the container's buffers while the
 * answer is 200 (an error answer is kept as the body). */
static int s_logs_data(void *arg, long status, const char *data, size_t n)
{
    runtime_docker_ctr_t *c = arg;
    if (status != 200)
        return 1;
    return runtime_docker_demux_feed(&c->demux, data, n, s_emit, c) < 0 ? -1
                                                                        : 0;
}

static void s_ctr_next(runtime_docker_ctr_t *c);
static void s_ctl_done(void *arg, const http_result_t *r);

/* Sends the request of a control step (path taken). */
static void s_ctr_send(runtime_docker_ctr_t *c, const char *method, char *path,
                       const char *body, int pull, long timeout_ms)
{
    rd_req_t q = {.method = method,
                  .path = path,
                  .body = body,
                  .timeout_ms = timeout_ms,
                  .pull = pull,
                  .done = s_ctl_done,
                  .arg = c};
    c->ctl = c->rd ? runtime_docker_req(c->rd, &q) : NULL;
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
    http_async_cancel(c->wait);
    c->wait = NULL;
    http_async_cancel(c->logs);
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

static void s_wait_done(void *arg, const http_result_t *r)
{
    runtime_docker_ctr_t *c = arg;
    c->wait = NULL;
    char why[512];
    if (r->failed || r->status != 200) {
        runtime_docker_why(r, why, sizeof why);
        log_warn("docker: container %.12s: wait failed: %s", s_ctr_ref(c), why);
        s_ctr_fail(c, why, r->failed);
        return;
    }
    if (runtime_docker_parse_wait(r->body, r->len, &c->wait_status, why,
                                  sizeof why) < 0)
        log_warn("docker: container %.12s: wait: %s", s_ctr_ref(c), why);
    else
        c->wait_ok = 1;
    c->wait_done = 1;
    c->phase = RUNTIME_DOCKER_ENDING;
    s_run_check(c);
}

static void s_logs_done(void *arg, const http_result_t *r)
{
    runtime_docker_ctr_t *c = arg;
    c->logs = NULL;
    if (r->failed || r->status != 200) {
        char why[512];
        runtime_docker_why(r, why, sizeof why);
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
    rd_req_t q = {.method = "POST", .path = p, .done = s_wait_done, .arg = c};
    c->wait = c->rd ? runtime_docker_req(c->rd, &q) : NULL;
    free(p);
    p = dr_asprintf(RUNTIME_DOCKER_API
                    "/containers/%s/logs?follow=1&stdout=1&stderr=1",
                    c->id);
    q = (rd_req_t){.method = "GET",
                   .path = p,
                   .on_data = s_logs_data,
                   .done = s_logs_done,
                   .arg = c};
    c->logs = c->rd ? runtime_docker_req(c->rd, &q) : NULL;
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
                   NULL, 0, RD_SHORT_MS);
        break;
    case C_PULL: {
        char *esc = http_async_escape(c->image);
        s_ctr_send(
            c, "POST",
            dr_asprintf(RUNTIME_DOCKER_API "/images/create?fromImage=%s%s", esc,
                        runtime_docker_image_tagged(c->image) ? ""
                                                              : "&tag=latest"),
            NULL, 1, RD_PULL_MS);
        free(esc);
        break;
    }
    case C_CREATE:
        c->created = 1; /* maybe, from now on: removal by name */
        s_ctr_send(c, "POST",
                   dr_asprintf(RUNTIME_DOCKER_API "/containers/create?name=%s",
                               c->name),
                   c->create_body, 0, RD_LONG_MS);
        break;
    case C_CONFLICT_RM:
        s_ctr_send(c, "DELETE",
                   dr_asprintf(RUNTIME_DOCKER_API "/containers/%s?force=1&v=1",
                               c->name),
                   NULL, 0, RD_LONG_MS);
        break;
    case C_START:
        s_ctr_send(
            c, "POST",
            dr_asprintf(RUNTIME_DOCKER_API "/containers/%s/start", c->id), NULL,
            0, RD_SHORT_MS);
        break;
    case C_RUN:
        s_ctr_follow(c);
        break;
    case C_INSPECT:
        s_ctr_send(c, "GET",
                   dr_asprintf(RUNTIME_DOCKER_API "/containers/%s/json", c->id),
                   NULL, 0, RD_SHORT_MS);
        break;
    case C_REMOVE:
        s_ctr_send(c, "DELETE",
                   dr_asprintf(RUNTIME_DOCKER_API "/containers/%s?force=1&v=1",
                               s_ctr_ref(c)),
                   NULL, 0, RD_LONG_MS);
        break;
    case C_DONE:
        c->phase = RUNTIME_DOCKER_DONE;
        break;
    }
}

/* A control step's answer, as the step handlers see it. */
typedef struct {
    const http_result_t *r;
    int ok;   /* 2xx */
    int lost; /* the daemon is unreachable (not a timeout) */
    char msg[512];
} s_ans_t;

/* Each returns 0 with c->step moved on, or -1 once it failed c. */
static int s_image_done(runtime_docker_ctr_t *c, s_ans_t *a)
{
    char why[640];
    if (a->ok) {
        c->step = C_CREATE;
        return 0;
    }
    if (!a->r->failed && a->r->status == 404) {
        log_info("docker: pulling image %s", c->image);
        c->step = C_PULL;
        return 0;
    }
    snprintf(why, sizeof why, "image %s: %s", c->image, a->msg);
    s_ctr_fail(c, why, a->lost);
    return -1;
}

static int s_pull_done(runtime_docker_ctr_t *c, s_ans_t *a)
{
    char why[640];
    if (a->ok &&
        runtime_docker_pull_error(a->r->body, a->r->len, a->msg, sizeof a->msg))
        a->ok = 0;
    if (!a->ok) {
        snprintf(why, sizeof why, "pulling image %s failed: %s", c->image,
                 a->msg);
        s_ctr_fail(c, why, a->lost);
        return -1;
    }
    c->step = C_CREATE;
    return 0;
}

static int s_create_done(runtime_docker_ctr_t *c, s_ans_t *a)
{
    const http_result_t *r = a->r;
    char why[640];
    if (!r->failed && r->status == 409 && !c->conflict_retried &&
        !c->canceled) {
        /* a leftover of ours under this name (an agent that died between
         * create and start): replace it */
        c->conflict_retried = 1;
        log_warn("docker: container name %s taken; removing the old one",
                 c->name);
        c->step = C_CONFLICT_RM;
        return 0;
    }
    if (!a->ok || runtime_docker_parse_id(r->body, r->len, c->id, sizeof c->id,
                                          a->msg, sizeof a->msg) < 0) {
        if (!r->failed && r->status != 409 && !a->ok)
            c->created = 0; /* the daemon refused: nothing exists */
        snprintf(why, sizeof why, "creating the container failed: %s", a->msg);
        s_ctr_fail(c, why, a->lost);
        return -1;
    }
    if (c->canceled) {
        s_ctr_fail(c, "canceled before start", 0);
        return -1;
    }
    c->step = C_START;
    return 0;
}

static int s_start_done(runtime_docker_ctr_t *c, s_ans_t *a)
{
    char why[640];
    if (!a->ok) {
        snprintf(why, sizeof why, "starting the container failed: %s", a->msg);
        if (strstr(a->msg, "executable file not found") ||
            strstr(a->msg, "no such file or directory"))
            c->res.exit_code = 127;
        s_ctr_fail(c, why, a->lost);
        return -1;
    }
    if (c->canceled) {
        s_ctr_fail(c, "canceled before start", 0);
        return -1;
    }
    c->step = C_RUN;
    return 0;
}

static int s_inspect_done(runtime_docker_ctr_t *c, s_ans_t *a)
{
    runtime_docker_state_t st;
    c->res.exit_code = c->wait_status;
    if (!a->ok) {
        log_warn("docker: container %.12s: inspect: %s", c->id, a->msg);
        if (a->lost) {
            s_ctr_fail(c, a->msg, 1);
            return -1;
        }
    } else if (runtime_docker_parse_inspect(a->r->body, a->r->len, &st, a->msg,
                                            sizeof a->msg) < 0) {
        log_warn("docker: container %.12s: inspect: %s", c->id, a->msg);
        if (!c->wait_ok) {
            /* neither answer says how it ended: do not guess */
            snprintf(c->res.reason, sizeof c->res.reason,
                     "docker: exit status unknown: %.400s", a->msg);
            c->res.lost = 1;
        }
    } else {
        c->res.exit_code = st.exit_code;
        c->res.oom_killed = st.oom_killed;
    }
    c->step = C_REMOVE;
    return 0;
}

static int s_remove_done(runtime_docker_ctr_t *c, s_ans_t *a)
{
    if (a->ok || (!a->r->failed && a->r->status == 404)) {
        c->removed = 1;
    } else {
        log_warn("docker: removing container %.12s failed: %s", s_ctr_ref(c),
                 a->msg);
        if (a->lost && !c->res.reason[0]) {
            snprintf(c->res.reason, sizeof c->res.reason, "%s", a->msg);
            c->res.lost = 1;
        }
    }
    c->step = C_DONE;
    return 0;
}

/* The answer of the current control step: the state machine's one flat
 * switch. */
static void s_ctl_done(void *arg, const http_result_t *r)
{
    runtime_docker_ctr_t *c = arg;
    c->ctl = NULL;
    s_ans_t a = {.r = r,
                 .ok = !r->failed && r->status >= 200 && r->status < 300,
                 .lost = r->failed && !r->timed_out};
    runtime_docker_why(r, a.msg, sizeof a.msg);
    int rc = 0;
    switch (c->step) {
    case C_IMAGE:
        rc = s_image_done(c, &a);
        break;
    case C_PULL:
        rc = s_pull_done(c, &a);
        break;
    case C_CREATE:
        rc = s_create_done(c, &a);
        break;
    case C_CONFLICT_RM:
        c->step = C_CREATE;
        break;
    case C_START:
        rc = s_start_done(c, &a);
        break;
    case C_INSPECT:
        rc = s_inspect_done(c, &a);
        break;
    case C_REMOVE:
        rc = s_remove_done(c, &a);
        break;
    case C_RUN:
    case C_DONE:
        break;
    }
    if (rc == 0)
        s_ctr_next(c);
}

static runtime_docker_ctr_t *s_ctr_alloc(runtime_docker_t *rd)
{
    runtime_docker_ctr_t *c = dr_calloc(1, sizeof *c);
    c->rd = rd;
    c->next = rd->ctrs;
    if (rd->ctrs)
        rd->ctrs->prev = c;
    rd->ctrs = c;
    return c;
}

int runtime_docker_ctr_start(runtime_docker_t *rd,
                             const runtime_docker_spec_t *spec,
                             runtime_docker_ctr_t **out)
{
    char *body = runtime_docker_create_body(spec, rd->installation);
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
    /* the installation in the name too: a name is unique per dockerd, and
     * a conflict is answered by removing the old container (a leftover of
     * ours), which must never be another installation's */
    c->name = dr_asprintf("drover-%s-%s-%" PRIu64 "-%u", rd->installation,
                          spec->node, spec->job_id, spec->attempt);
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
    http_async_cancel(c->ctl);
    http_async_cancel(c->wait);
    http_async_cancel(c->logs);
    if (c->created && !c->removed && c->rd) {
        char *p = dr_asprintf(RUNTIME_DOCKER_API "/containers/%s?force=1&v=1",
                              s_ctr_ref(c));
        runtime_docker_detached(c->rd, "DELETE", p, RD_LONG_MS);
        free(p);
    }
    if (c->rd) {
        if (c->prev)
            c->prev->next = c->next;
        else
            c->rd->ctrs = c->next;
        if (c->next)
            c->next->prev = c->prev;
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
        runtime_docker_detached(c->rd, "POST", p, RD_SHORT_MS);
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
    http_async_cancel(c->ctl);
    c->ctl = NULL;
    s_ctr_fail(c, "canceled before start", 0);
    return 0;
}

void runtime_docker_ctr_close_output(runtime_docker_ctr_t *c)
{
    if (c->logs) {
        http_async_cancel(c->logs);
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
