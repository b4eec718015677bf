/* task_rt_docker.c - the docker runtime behind task_runtime.h: one task =
 * one container of runtime_docker.h.
 *
 * It shapes the task for a container (the image brings its own PATH, HOME
 * and LANG; the scratch dir is /scratch inside; its GPUs are numbered from
 * 0 there) and maps the container's phases and result onto the interface.
 * Owns its container handle; the docker client (the ctx) is borrowed.
 */
#include "dr_err.h"
#include "envv.h"
#include "lease_guard.h"
#include "runtime_docker.h"
#include "task_runtime.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    runtime_docker_ctr_t *ctr;
    char *image;
    int signaled; /* we sent it a signal: an exit above 128 is that signal */
    runtime_docker_t *rd;          /* borrowed: for the guard's socket */
    const volatile int64_t *lease; /* the node's lease, or NULL */
    lease_guard_t *guard;          /* kills it if the agent cannot */
} s_dk_t;

static int s_is_host(char *const *host_env, const char *kv)
{
    for (size_t k = 0; host_env && host_env[k]; k++)
        if (strcmp(kv, host_env[k]) == 0)
            return 1;
    return 0;
}

/* The container's env: the task's without the agent's own PATH, HOME and
 * LANG (a job's own values stay), the scratch dir inside, GPUs from 0. */
static void s_env(const task_rt_spec_t *spec, envv_t *env)
{
    for (size_t i = 0; spec->envp[i]; i++)
        if (!s_is_host(spec->host_env, spec->envp[i]))
            envv_put(env, dr_strdup(spec->envp[i]));
    envv_put(env, dr_asprintf("DROVER_TASK_DIR=%s", RUNTIME_DOCKER_SCRATCH));
    if (spec->n_gpu > 0) {
        dr_buf_t b = {0};
        dr_buf_printf(&b, "CUDA_VISIBLE_DEVICES=");
        for (size_t i = 0; i < spec->n_gpu; i++)
            dr_buf_printf(&b, "%s%zu", i ? "," : "", i);
        envv_put(env, dr_strdup(b.data));
        dr_buf_free(&b);
    }
}

static int s_start(void *ctx, const task_rt_spec_t *spec, void **impl,
                   char *why, size_t whylen)
{
    envv_t env = {0};
    s_env(spec, &env);
    runtime_docker_spec_t ds = *spec;
    ds.envp = env.v;
    runtime_docker_ctr_t *c = NULL;
    int rc = runtime_docker_ctr_start(ctx, &ds, &c);
    envv_free(&env);
    if (rc < 0) {
        snprintf(why, whylen, "cannot prepare the container: %s",
                 dr_strerror(rc));
        return rc;
    }
    s_dk_t *d = dr_calloc(1, sizeof *d);
    d->ctr = c;
    d->image = dr_strdup(spec->image);
    d->rd = ctx;
    d->lease = spec->lease;
    *impl = d;
    return 0;
}

static task_rt_phase_t s_poll(void *impl, int64_t now)
{
    (void)now;
    s_dk_t *d = impl;
    switch (runtime_docker_ctr_phase(d->ctr)) {
    case RUNTIME_DOCKER_PREPARING:
        return TASK_RT_STARTING;
    case RUNTIME_DOCKER_RUNNING:
        if (d->lease && !d->guard)
            d->guard = lease_guard_start(d->lease, runtime_docker_socket(d->rd),
                                         runtime_docker_ctr_id(d->ctr));
        return TASK_RT_RUNNING;
    case RUNTIME_DOCKER_ENDING:
        return TASK_RT_ENDING;
    case RUNTIME_DOCKER_DONE:
        break;
    }
    return TASK_RT_DONE;
}

static int s_started(const void *impl)
{
    return runtime_docker_ctr_started(((const s_dk_t *)impl)->ctr);
}

static int s_fd(const void *impl, int stream)
{
    (void)impl;
    (void)stream;
    return -1; /* its output arrives through the docker client's fds */
}

static int s_read(void *impl, int stream, char *buf, size_t cap)
{
    return runtime_docker_ctr_read(((s_dk_t *)impl)->ctr, stream, buf, cap);
}

static int s_signal(void *impl, int sig)
{
    s_dk_t *d = impl;
    d->signaled = 1;
    return runtime_docker_ctr_signal(d->ctr, sig);
}

static void s_close_output(void *impl)
{
    runtime_docker_ctr_close_output(((s_dk_t *)impl)->ctr);
}

static int s_result(const void *impl, task_rt_result_t *res)
{
    const s_dk_t *d = impl;
    runtime_docker_result_t r;
    int rc = runtime_docker_ctr_result(d->ctr, &r);
    if (rc < 0)
        return rc;
    *res = (task_rt_result_t){.started = r.started,
                              .exit_code = r.exit_code,
                              .oom_killed = r.oom_killed,
                              .lost = r.lost};
    snprintf(res->reason, sizeof res->reason, "%s", r.reason);
    int code = r.started ? r.exit_code : 0;
    if (code > 128 && code <= 128 + 64 && (d->signaled || r.oom_killed))
        res->term_signal = code - 128;
    return 0;
}

static void s_describe(const void *impl, char *buf, size_t n)
{
    const s_dk_t *d = impl;
    const char *id = runtime_docker_ctr_id(d->ctr);
    if (id[0])
        snprintf(buf, n, "container %.12s", id);
    else
        snprintf(buf, n, "container of image %s", d->image);
}

static void s_destroy(void *impl)
{
    s_dk_t *d = impl;
    lease_guard_stop(&d->guard);
    runtime_docker_ctr_destroy(&d->ctr);
    free(d->image);
    free(d);
}

const task_rt_ops_t task_rt_docker_ops = {
    .kind = "docker",
    .start = s_start,
    .poll = s_poll,
    .started = s_started,
    .fd = s_fd,
    .read = s_read,
    .signal = s_signal,
    .close_output = s_close_output,
    .result = s_result,
    .describe = s_describe,
    .destroy = s_destroy,
};

int task_rt_docker_adopt(void *ctx, const char *id, task_rt_t **out)
{
    runtime_docker_ctr_t *c = NULL;
    int rc = runtime_docker_ctr_adopt(ctx, id, &c);
    if (rc < 0)
        return rc;
    s_dk_t *d = dr_calloc(1, sizeof *d);
    d->ctr = c;
    d->image = dr_strdup("");
    *out = task_rt_wrap(&task_rt_docker_ops, d);
    return 0;
}
