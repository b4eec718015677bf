/* task_runtime.c - the generic calls of task_runtime.h, and its two small
 * implementations: the process runtime (over runtime_process.h) and the
 * hollow runtime of simulated nodes (no program: a run as long as its
 * argv says, see sim.h).  The docker runtime is in task_rt_docker.c.
 * Owns only the wrappers; never blocks.
 */
#include "task_runtime.h"
#include "dr_err.h"
#include "runtime_process.h"
#include "sim.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int task_rt_start(const task_rt_ops_t *ops, void *ctx,
                  const task_rt_spec_t *spec, task_rt_t **out, char *why,
                  size_t whylen)
{
    void *impl = NULL;
    int rc = ops->start(ctx, spec, &impl, why, whylen);
    if (rc < 0)
        return rc;
    *out = task_rt_wrap(ops, impl);
    return 0;
}

task_rt_t *task_rt_wrap(const task_rt_ops_t *ops, void *impl)
{
    task_rt_t *rt = dr_calloc(1, sizeof *rt);
    rt->ops = ops;
    rt->impl = impl;
    return rt;
}

void task_rt_destroy(task_rt_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    task_rt_t *rt = *self_p;
    rt->ops->destroy(rt->impl);
    free(rt);
    *self_p = NULL;
}

/* ---- process: one forked child ------------------------------------------ */

static int s_proc_start(void *ctx, const task_rt_spec_t *spec, void **impl,
                        char *why, size_t whylen)
{
    (void)ctx;
    runtime_process_spec_t ps = {spec->argv, spec->envp, spec->task_dir};
    runtime_process_t *p = NULL;
    int rc = runtime_process_start(&ps, &p, why, whylen);
    if (rc == 0)
        *impl = p;
    return rc;
}

static task_rt_phase_t s_proc_poll(void *impl, int64_t now)
{
    (void)now;
    if (!runtime_process_poll_exit(impl))
        return TASK_RT_RUNNING;
    return runtime_process_done(impl) ? TASK_RT_DONE : TASK_RT_ENDING;
}

static int s_proc_started(const void *impl)
{
    (void)impl;
    return 1; /* runtime_process_start() returns once it execs */
}

static int s_proc_fd(const void *impl, int stream)
{
    return runtime_process_fd(impl, stream);
}

static int s_proc_read(void *impl, int stream, char *buf, size_t cap)
{
    return runtime_process_read(impl, stream, buf, cap);
}

static int s_proc_signal(void *impl, int sig)
{
    return runtime_process_signal(impl, sig);
}

static void s_proc_close_output(void *impl)
{
    runtime_process_close_output(impl);
}

static int s_proc_result(const void *impl, task_rt_result_t *res)
{
    if (!runtime_process_done(impl))
        return DR_ESTATE;
    *res = (task_rt_result_t){.started = 1};
    if (runtime_process_status(impl, &res->exit_code, &res->term_signal) < 0)
        res->exit_code = -1;
    return 0;
}

static void s_proc_describe(const void *impl, char *buf, size_t n)
{
    snprintf(buf, n, "pid %d", (int)runtime_process_pid(impl));
}

static void s_proc_destroy(void *impl)
{
    runtime_process_t *p = impl;
    runtime_process_destroy(&p);
}

const task_rt_ops_t task_rt_process_ops = {
    .kind = "process",
    .polled_exit = 1,
    .start = s_proc_start,
    .poll = s_proc_poll,
    .started = s_proc_started,
    .fd = s_proc_fd,
    .read = s_proc_read,
    .signal = s_proc_signal,
    .close_output = s_proc_close_output,
    .result = s_proc_result,
    .describe = s_proc_describe,
    .destroy = s_proc_destroy,
};

/* ---- hollow: a simulated node's task ------------------------------------ */

typedef struct {
    int64_t end_at;  /* monotonic */
    int64_t ms;      /* how long it runs */
    int ended;       /* by its clock, or by a signal */
    int term_signal; /* the signal that ended it, 0 = none */
    char line[128];  /* its one line of output, until read */
    size_t line_len;
} s_hollow_t;

static int s_hollow_start(void *ctx, const task_rt_spec_t *spec, void **impl,
                          char *why, size_t whylen)
{
    (void)ctx;
    (void)why;
    (void)whylen;
    s_hollow_t *h = dr_calloc(1, sizeof *h);
    size_t argc = 0;
    while (spec->argv[argc])
        argc++;
    h->ms = sim_duration_ms(spec->argv, argc);
    h->end_at = dr_mono_ms() + h->ms;
    int n = snprintf(h->line, sizeof h->line, "simulated on %s\n", spec->node);
    h->line_len = n > 0 && (size_t)n < sizeof h->line ? (size_t)n : 0;
    *impl = h;
    return 0;
}

static task_rt_phase_t s_hollow_poll(void *impl, int64_t now)
{
    s_hollow_t *h = impl;
    if (now >= h->end_at)
        h->ended = 1;
    return h->ended ? TASK_RT_DONE : TASK_RT_RUNNING;
}

static int s_hollow_started(const void *impl)
{
    (void)impl;
    return 1;
}

static int s_hollow_fd(const void *impl, int stream)
{
    (void)impl;
    (void)stream;
    return -1;
}

static int s_hollow_read(void *impl, int stream, char *buf, size_t cap)
{
    s_hollow_t *h = impl;
    if (stream != TASK_RT_STDOUT || !h->line_len || cap < h->line_len)
        return 0;
    memcpy(buf, h->line, h->line_len);
    int n = (int)h->line_len;
    h->line_len = 0;
    return n;
}

/* Any signal ends it at once, as a program that honours its SIGTERM. */
static int s_hollow_signal(void *impl, int sig)
{
    (void)sig;
    s_hollow_t *h = impl;
    if (!h->ended) {
        h->ended = 1;
        h->term_signal = SIGTERM;
    }
    return 0;
}

static void s_hollow_close_output(void *impl)
{
    (void)impl;
}

static int s_hollow_result(const void *impl, task_rt_result_t *res)
{
    const s_hollow_t *h = impl;
    if (!h->ended)
        return DR_ESTATE;
    *res = (task_rt_result_t){.started = 1, .term_signal = h->term_signal};
    res->exit_code = h->term_signal ? 128 + h->term_signal : 0;
    return 0;
}

static int64_t s_hollow_timer(const void *impl)
{
    const s_hollow_t *h = impl;
    return h->ended ? INT64_MAX : h->end_at;
}

static void s_hollow_describe(const void *impl, char *buf, size_t n)
{
    snprintf(buf, n, "hollow run of %lld ms",
             (long long)((const s_hollow_t *)impl)->ms);
}

static void s_hollow_destroy(void *impl)
{
    free(impl);
}

const task_rt_ops_t task_rt_hollow_ops = {
    .kind = "hollow",
    .start = s_hollow_start,
    .poll = s_hollow_poll,
    .started = s_hollow_started,
    .fd = s_hollow_fd,
    .read = s_hollow_read,
    .signal = s_hollow_signal,
    .close_output = s_hollow_close_output,
    .result = s_hollow_result,
    .timer = s_hollow_timer,
    .describe = s_hollow_describe,
    .destroy = s_hollow_destroy,
};
