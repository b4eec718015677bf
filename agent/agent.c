/* agent.c - the node agent's loop and protocol (see agent.h).
 *
 * Owns the ZeroMQ context, one DEALER per node, every node's task table and
 * the runtime objects of the tasks.  A task lives in its node's table from
 * TaskStart until the scheduler acked its final TaskUpdate; the latest
 * unacked update of each task is resent every second.  Incoming messages go
 * through one handler table indexed by the envelope's body case; only
 * s_recv_node() frees an unpacked message.  Nothing received is trusted:
 * every field is checked before use, and bad input is answered or logged,
 * never asserted.  This file must never block the loop (no blocking waits
 * on children, sockets or files) except in agent_destroy().
 */
#include "agent.h"
#include "dr_err.h"
#include "gpu.h"
#include "mpi.h"
#include "msi.h"
#include "log.h"
#include "runtime_docker.h"
#include "runtime_process.h"
#include "sched_events.h"
#include "sim.h"
#include "util.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define S_CHUNK (64 * 1024)
#define S_REGISTER_RETRY_MS 2000
#define S_RESEND_MS 1000
#define S_DRAIN_MS 2000
#define S_LEAVE_ACK_MS 5000
#define S_RECV_BATCH 64
#define S_PUMP_BATCH 4
#define S_MAX_ARGV 1024
#define S_MAX_ENV 4096
#define S_MAX_ARG_BYTES (1u << 20)
#define S_NO_TIMER INT64_MAX
/* With --simulate, at most one loop pass per this many ms: polling a
 * thousand sockets per message would cost more than the messages. */
#define S_SIM_PASS_MS 10
/* NVML is asked again at most this often (N simulated nodes share it). */
#define S_GPU_REFRESH_MS 1000

typedef Drover__TaskState s_state_t;
#define S_ST(x) DROVER__TASK_STATE__TASK_##x

typedef struct task task_t;
typedef struct node node_t;

struct task {
    task_t *next;
    uint64_t job_id;
    uint32_t attempt;
    uint32_t cpus;
    uint64_t memory_mb;
    uint32_t time_limit_s;
    s_state_t state; /* last state reported to the scheduler */
    int pending;     /* that report is not acked yet */
    int64_t resend_at;
    int exit_code;
    int term_signal;
    char *reason; /* of the last report, NULL = none */
    int64_t started_at_ms;
    int64_t ended_at_ms;
    int live;                /* running, or exited and draining its pipes */
    int hollow;              /* simulated: no process */
    runtime_process_t *proc; /* process runtime, until the task completes */
    int end_set;             /* cancel / time limit decided the outcome */
    s_state_t end_state;
    char *end_reason;
    int64_t deadline;    /* time limit, monotonic; 0 = none */
    int64_t kill_at;     /* SIGKILL after the grace; 0 = none */
    int64_t drain_until; /* once exited: force-close pipes after this */
    uint64_t offset[2];  /* bytes sent per stream */
    /* docker runtime (TaskStart.image), until the task completes */
    runtime_docker_ctr_t *ctr;
    int has_secret; /* its IDENTITY_HEADER is known to a->ident */
    /* multi-node MPI (mpi.h) */
    int mpi_worker;     /* waits for mpirun's launch of orted */
    uint8_t *start_msg; /* a worker's packed TaskStart, for the launch */
    size_t start_len;
    uint64_t launch_id;    /* the launch this worker runs, 0 = none */
    mpi_srv_t *launch_srv; /* the head: drover-launch's requests */
    mpi_tagger_t *tagger;  /* the head: rank tags -> node names */
    char *mpi_tmp;         /* OpenMPI's session dirs, removed with the task */
    dr_buf_t tagged;       /* the tagger's output, reused */
};

struct node {
    agent_t *agent;
    size_t index;
    char *name;
    void *sock; /* NULL once the node has left */
    int registered;
    int64_t next_register;
    int64_t last_register;
    int64_t next_hb;
    uint64_t hb_seq;
    uint64_t next_rid;
    task_t *tasks;
    int leaving;
    int64_t leave_ack_deadline;
    int64_t leave_hard_deadline;
    int preempted; /* NodePreempted sent: tasks were told to stop */
};

/* What a poll item stands for. */
typedef struct {
    enum {
        S_REF_SIG,
        S_REF_NODE,
        S_REF_PIPE,
        S_REF_DOCKER,
        S_REF_SEV,
        S_REF_IDENT,
        S_REF_LAUNCH
    } kind;
    node_t *node;
    task_t *task;
    int stream;
} s_ref_t;

struct agent {
    const agent_cfg_t *cfg;
    void *ctx;
    node_t *nodes;
    size_t n_nodes;
    size_t n_gone;
    int simulate;
    int sig_fd;
    int64_t hb_ms;
    zmq_pollitem_t *items;
    s_ref_t *refs;
    size_t items_cap;
    sim_heap_t *heap;
    char *chunk;
    char *base_env[3]; /* PATH, HOME, LANG of the agent, "K=V" or NULL */
    gpu_t *gpu;        /* this node's GPUs (NVML or --gpu-inventory) */
    int64_t last_pass; /* monotonic start of the previous pass */

    /* the docker runtime: NULL with --simulate */
    runtime_docker_t *docker;
    int64_t started_at;         /* monotonic, for the probe's time cap */
    int docker_hold;            /* first Register waits for probe + adoption */
    int docker_avail;           /* availability last registered */
    int docker_listing_started; /* the start-up list was sent */
    int docker_adopted;         /* ... and answered */
    int64_t docker_next_ping;
    int64_t docker_next_sweep;

    /* scheduled events (--scheduled-events-url): NULL when not polled */
    sched_events_t *sev;

    /* the token endpoint of managed identity: NULL with --simulate */
    msi_t *ident;
};

/* ---- small helpers --------------------------------------------------------
 */

static int s_final(s_state_t st)
{
    return st == S_ST(EXITED) || st == S_ST(FAILED) || st == S_ST(CANCELED);
}

static const char *s_state_name(s_state_t st)
{
    switch (st) {
    case S_ST(STARTING):
        return "starting";
    case S_ST(RUNNING):
        return "running";
    case S_ST(EXITED):
        return "exited";
    case S_ST(FAILED):
        return "failed";
    case S_ST(CANCELED):
        return "canceled";
    default:
        return "unknown";
    }
}

static void s_set_str(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? dr_strdup(src) : NULL;
}

static int64_t s_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static void s_env_init(node_t *node, dr_env_t *env)
{
    wire_env_init(env, ++node->next_rid);
}

static void s_send(node_t *node, const dr_env_t *env)
{
    if (!node->sock)
        return;
    int rc = wire_send(node->sock, NULL, env);
    if (rc < 0)
        log_warn("node %s: send %s failed: %s", node->name,
                 wire_body_name((int)env->body_case), dr_strerror(rc));
}

/* ---- host metrics
 * ------------------------------------------------------------ */

static uint32_t s_load_milli(void)
{
    FILE *f = fopen("/proc/loadavg", "re");
    if (!f)
        return 0;
    double l = 0;
    int ok = fscanf(f, "%lf", &l) == 1;
    fclose(f);
    if (!ok || l < 0 || l > 4e6)
        return 0;
    return (uint32_t)(l * 1000.0);
}

static uint64_t s_mem_used_mb(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return 0;
    char line[256];
    unsigned long long total = 0, avail = 0, v;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemTotal: %llu kB", &v) == 1)
            total = v;
        else if (sscanf(line, "MemAvailable: %llu kB", &v) == 1)
            avail = v;
    }
    fclose(f);
    return total > avail ? (total - avail) / 1024 : 0;
}

/* ---- task table -------------------------------------------------------------
 */

static task_t *s_task_find(node_t *node, uint64_t job_id, uint32_t attempt)
{
    for (task_t *t = node->tasks; t; t = t->next)
        if (t->job_id == job_id && t->attempt == attempt)
            return t;
    return NULL;
}

static task_t *s_task_add(node_t *node, uint64_t job_id, uint32_t attempt)
{
    task_t *t = dr_calloc(1, sizeof *t);
    t->job_id = job_id;
    t->attempt = attempt;
    t->state = S_ST(STARTING);
    t->next = node->tasks;
    node->tasks = t;
    return t;
}

static void s_task_free(task_t **tp)
{
    task_t *t = *tp;
    runtime_process_destroy(&t->proc);
    runtime_docker_ctr_destroy(&t->ctr);
    mpi_srv_destroy(&t->launch_srv);
    mpi_tagger_destroy(&t->tagger);
    dr_buf_free(&t->tagged);
    if (t->mpi_tmp && dr_rmtree(t->mpi_tmp) < 0)
        log_warn_errno("cannot remove %s", t->mpi_tmp);
    free(t->mpi_tmp);
    free(t->start_msg);
    free(t->reason);
    free(t->end_reason);
    free(t);
    *tp = NULL;
}

/* The task is over: its IDENTITY_HEADER is refused from now on. */
static void s_task_forget_secret(node_t *node, task_t *t)
{
    if (t->has_secret && node->agent->ident)
        msi_task_remove(node->agent->ident, t->job_id, t->attempt);
    t->has_secret = 0;
}

static void s_task_remove(node_t *node, task_t *t)
{
    s_task_forget_secret(node, t);
    for (task_t **pp = &node->tasks; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            s_task_free(&t);
            return;
        }
    }
}

static void s_fill_report(const task_t *t, Drover__TaskReport *r)
{
    drover__task_report__init(r);
    r->job_id = t->job_id;
    r->attempt = t->attempt;
    r->state = t->state;
    r->exit_code = t->exit_code;
    r->term_signal = t->term_signal;
    r->reason = t->reason ? t->reason : (char *)"";
    r->started_at_ms = t->started_at_ms;
    r->ended_at_ms = t->ended_at_ms;
}

static void s_send_update(node_t *node, task_t *t)
{
    dr_env_t env;
    Drover__TaskUpdate up = DROVER__TASK_UPDATE__INIT;
    Drover__TaskReport rep;
    s_fill_report(t, &rep);
    up.report = &rep;
    s_env_init(node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_TASK_UPDATE;
    env.task_update = &up;
    s_send(node, &env);
}

/* Records a new state, sends it, and keeps it for resending until acked. */
static void s_task_report(node_t *node, task_t *t, s_state_t st,
                          const char *reason)
{
    t->state = st;
    s_set_str(&t->reason, reason && *reason ? reason : NULL);
    t->pending = 1;
    t->resend_at = dr_mono_ms() + S_RESEND_MS;
    s_send_update(node, t);
}

static void s_send_output(node_t *node, task_t *t, int stream, const char *data,
                          size_t n)
{
    dr_env_t env;
    Drover__TaskOutput o = DROVER__TASK_OUTPUT__INIT;
    o.job_id = t->job_id;
    o.attempt = t->attempt;
    o.stream = stream == RUNTIME_PROCESS_STDERR ? DROVER__STREAM__STREAM_STDERR
                                                : DROVER__STREAM__STREAM_STDOUT;
    o.data.data = (uint8_t *)data;
    o.data.len = n;
    o.offset = t->offset[stream];
    s_env_init(node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_TASK_OUTPUT;
    env.task_output = &o;
    s_send(node, &env);
    t->offset[stream] += n;
}

/* What a worker's launched command prints, or its end, for the head's
 * drover-launch (through the scheduler). */
static void s_send_launch_io(node_t *node, task_t *t, int stream,
                             const char *data, size_t n, int exited, int status,
                             const char *error)
{
    dr_env_t env;
    Drover__MpiLaunchIo io = DROVER__MPI_LAUNCH_IO__INIT;
    io.job_id = t->job_id;
    io.attempt = t->attempt;
    io.launch_id = t->launch_id;
    io.node = node->name;
    io.stream = stream == RUNTIME_PROCESS_STDERR
                    ? DROVER__STREAM__STREAM_STDERR
                    : DROVER__STREAM__STREAM_STDOUT;
    io.data.data = (uint8_t *)data;
    io.data.len = n;
    io.exited = exited;
    io.exit_code = status;
    io.error = (char *)(error ? error : "");
    s_env_init(node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO;
    env.mpi_launch_io = &io;
    s_send(node, &env);
}

/* Passes output on: a launched orted's to its launcher, an MPI head's
 * with its rank tags made node names, anything else as it is. */
static void s_output(node_t *node, task_t *t, int stream, const char *data,
                     size_t n, int eof)
{
    if (t->launch_id) {
        if (n)
            s_send_launch_io(node, t, stream, data, n, 0, 0, NULL);
        return;
    }
    if (t->tagger) {
        t->tagged.len = 0;
        mpi_tagger_feed(t->tagger, stream, data, n, eof, &t->tagged);
        if (t->tagged.len)
            s_send_output(node, t, stream, t->tagged.data, t->tagged.len);
        return;
    }
    if (n)
        s_send_output(node, t, stream, data, n);
}

/* Reads what a task's pipe holds (bounded) and streams it. */
static void s_pump(node_t *node, task_t *t, int stream, int batches)
{
    char *buf = node->agent->chunk;
    for (int i = 0; i < batches && (t->proc || t->ctr); i++) {
        int n = t->ctr ? runtime_docker_ctr_read(t->ctr, stream, buf, S_CHUNK)
                       : runtime_process_read(t->proc, stream, buf, S_CHUNK);
        if (n <= 0)
            return;
        s_output(node, t, stream, buf, (size_t)n, 0);
    }
}

/* The task's process (or hollow run) is over: report the final state. */
static void s_task_complete(node_t *node, task_t *t, int exit_code,
                            int term_signal)
{
    t->live = 0;
    s_task_forget_secret(node, t);
    if (t->tagger) {
        s_output(node, t, RUNTIME_PROCESS_STDOUT, "", 0, 1);
        s_output(node, t, RUNTIME_PROCESS_STDERR, "", 0, 1);
    }
    if (t->launch_id)
        s_send_launch_io(node, t, 0, NULL, 0, 1,
                         term_signal ? 128 + term_signal : exit_code, NULL);
    mpi_srv_destroy(&t->launch_srv);
    t->exit_code = exit_code;
    t->term_signal = term_signal;
    t->ended_at_ms = dr_now_ms();
    runtime_process_destroy(&t->proc);
    runtime_docker_ctr_destroy(&t->ctr);
    s_state_t st = t->end_set ? t->end_state : S_ST(EXITED);
    char sigbuf[64] = "";
    const char *reason = t->end_set ? t->end_reason : NULL;
    if (!reason && term_signal) {
        snprintf(sigbuf, sizeof sigbuf, "killed by signal %d (%s)", term_signal,
                 strsignal(term_signal));
        reason = sigbuf;
    }
    if (st == S_ST(EXITED))
        log_info("job %" PRIu64 " attempt %u on node %s: exited %d%s%s",
                 t->job_id, t->attempt, node->name, exit_code,
                 reason ? ", " : "", reason ? reason : "");
    else
        log_info("job %" PRIu64 " attempt %u on node %s: %s (%s), exit %d",
                 t->job_id, t->attempt, node->name, s_state_name(st),
                 reason ? reason : "", exit_code);
    s_task_report(node, t, st, reason);
}

/* A task that never ran: report FAILED right away. */
static void s_task_fail(node_t *node, task_t *t, int exit_code,
                        const char *reason)
{
    t->live = 0;
    s_task_forget_secret(node, t);
    if (t->launch_id)
        s_send_launch_io(node, t, 0, NULL, 0, 1, 255, reason);
    mpi_srv_destroy(&t->launch_srv);
    t->exit_code = exit_code;
    t->ended_at_ms = dr_now_ms();
    log_warn("job %" PRIu64 " attempt %u on node %s: failed: %s", t->job_id,
             t->attempt, node->name, reason);
    s_task_report(node, t, S_ST(FAILED), reason);
}

/* Asks a live task to end with the given outcome: SIGTERM to its process
 * group, SIGKILL after the grace (or at once with `now_kill`). */
static void s_task_stop(node_t *node, task_t *t, s_state_t st,
                        const char *reason, int now_kill)
{
    if (!t->live)
        return;
    if (!t->end_set) {
        t->end_set = 1;
        t->end_state = st;
        s_set_str(&t->end_reason, reason);
    }
    log_info("job %" PRIu64 " attempt %u on node %s: stopping: %s", t->job_id,
             t->attempt, node->name, reason);
    if (t->hollow) {
        s_task_complete(node, t, 128 + SIGTERM, SIGTERM);
        return;
    }
    if (t->mpi_worker && !t->proc && !t->ctr) {
        s_task_complete(node, t, 0, 0); /* nothing was launched */
        return;
    }
    int64_t grace = node->agent->cfg->grace_ms;
    int sig = now_kill || grace <= 0 ? SIGKILL : SIGTERM;
    if (t->ctr)
        (void)runtime_docker_ctr_signal(t->ctr, sig);
    else if (runtime_process_signal(t->proc, sig) < 0)
        log_warn_errno("job %" PRIu64 " attempt %u on node %s: kill", t->job_id,
                       t->attempt, node->name);
    if (sig == SIGTERM && !t->kill_at)
        t->kill_at = dr_mono_ms() + grace;
}

/* ---- starting tasks --------------------------------------------------------
 */

typedef struct {
    char **v;
    size_t n, cap;
} s_envv_t;

static void s_envv_put(s_envv_t *e, char *kv)
{
    size_t kl = strcspn(kv, "=");
    for (size_t i = 0; i < e->n; i++) {
        if (strncmp(e->v[i], kv, kl) == 0 && e->v[i][kl] == '=') {
            free(e->v[i]);
            e->v[i] = kv;
            return;
        }
    }
    if (e->n + 2 > e->cap) {
        e->cap = e->cap ? e->cap * 2 : 32;
        e->v = dr_realloc(e->v, e->cap * sizeof *e->v);
    }
    e->v[e->n++] = kv;
    e->v[e->n] = NULL;
}

static void s_envv_free(s_envv_t *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    e->v = NULL;
    e->n = e->cap = 0;
}

static int s_is_mpi(const Drover__TaskStart *ts)
{
    return ts->distribution && strcmp(ts->distribution, "mpi") == 0;
}

/* 0 or a DR_E* code with the reason in why. */
static int s_task_start_check(const agent_t *a, const Drover__TaskStart *ts,
                              char *why, size_t n)
{
    if (ts->job_id == 0) {
        snprintf(why, n, "job_id missing");
        return DR_EINVAL;
    }
    if (ts->n_argv == 0 || !ts->argv[0] || !ts->argv[0][0]) {
        snprintf(why, n, "empty argv");
        return DR_EINVAL;
    }
    if (ts->n_argv > S_MAX_ARGV) {
        snprintf(why, n, "argv has %zu entries (at most %d)", ts->n_argv,
                 S_MAX_ARGV);
        return DR_EINVAL;
    }
    if (ts->n_env > S_MAX_ENV) {
        snprintf(why, n, "env has %zu entries (at most %d)", ts->n_env,
                 S_MAX_ENV);
        return DR_EINVAL;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < ts->n_argv; i++) {
        if (!ts->argv[i]) {
            snprintf(why, n, "argv[%zu] missing", i);
            return DR_EINVAL;
        }
        bytes += strlen(ts->argv[i]) + 1;
    }
    for (size_t i = 0; i < ts->n_env; i++) {
        const Drover__KeyValue *kv = ts->env[i];
        if (!kv || !kv->key || !kv->key[0] || strchr(kv->key, '=') ||
            !kv->value) {
            snprintf(why, n, "env entry %zu has an invalid name", i);
            return DR_EINVAL;
        }
        bytes += strlen(kv->key) + strlen(kv->value) + 2;
    }
    if (bytes > S_MAX_ARG_BYTES) {
        snprintf(why, n, "argv and env are %zu bytes (at most %u)", bytes,
                 S_MAX_ARG_BYTES);
        return DR_EINVAL;
    }
    if (ts->cpus > 1000000 || ts->memory_mb > ((uint64_t)1 << 40) ||
        ts->nodes > 100000 || ts->procs_per_node > 100000 ||
        ts->n_gpu_indices > 1024) {
        snprintf(why, n, "absurd resource request");
        return DR_EINVAL;
    }
    if (ts->nodes > 0 && ts->node_rank >= ts->nodes) {
        snprintf(why, n, "node_rank %u outside %u nodes", ts->node_rank,
                 ts->nodes);
        return DR_EINVAL;
    }
    if (ts->distribution && ts->distribution[0] && !s_is_mpi(ts)) {
        snprintf(why, n, "unknown distribution '%.32s'", ts->distribution);
        return DR_EINVAL;
    }
    if (ts->n_hosts > MPI_MAX_HOSTS ||
        (ts->nodes > 1 && ts->n_hosts != ts->nodes)) {
        snprintf(why, n, "%zu hosts for %u nodes", ts->n_hosts, ts->nodes);
        return DR_EINVAL;
    }
    for (size_t i = 0; i < ts->n_hosts; i++) {
        if (!ts->hosts[i] || !dr_valid_name(ts->hosts[i])) {
            snprintf(why, n, "hosts[%zu] is not a node name", i);
            return DR_EINVAL;
        }
    }
    if (ts->image && ts->image[0] && !a->simulate) {
        if (!runtime_docker_valid_image(ts->image)) {
            snprintf(why, n, "invalid image name '%.64s'", ts->image);
            return DR_EINVAL;
        }
        if (!a->docker || !runtime_docker_available(a->docker)) {
            snprintf(why, n, "docker runtime not available on node %s%s%.160s",
                     a->cfg->name, a->docker ? ": " : "",
                     a->docker ? runtime_docker_error(a->docker) : "");
            return DR_EUNSUPP;
        }
    }
    return 0;
}

static void s_send_register(node_t *node);

/* ---- the docker runtime
 * ------------------------------------------------------ */

/* A task whose TaskStart names an image runs as a container (t->ctr); its
 * life is driven by the answers of dockerd, which the loop polls.  The
 * scheduler hears RUNNING once the container started, and the result once
 * it is inspected and removed.  A container found at start-up that carries
 * this node's labels is adopted: reported at registration, its wait and
 * logs followed again (logs from the beginning, offsets from 0: the
 * scheduler drops what it already has, so the log stays whole). */

#define S_DOCKER_PING_MS 5000
#define S_DOCKER_SWEEP_MS 60000
#define S_DOCKER_PROBE_MAX_MS 5000

static void s_docker_spawn(node_t *node, task_t *t, const Drover__TaskStart *ts,
                           char **argv, s_envv_t *env, const char *task_dir)
{
    agent_t *a = node->agent;
    /* The image brings its own PATH, HOME and LANG: the agent's are not
     * passed on (a job's own values are, through its env). */
    for (size_t i = 0; i < env->n;) {
        int drop = 0;
        for (int k = 0; k < 3; k++)
            if (a->base_env[k] && strcmp(env->v[i], a->base_env[k]) == 0)
                drop = 1;
        if (drop) {
            free(env->v[i]);
            memmove(&env->v[i], &env->v[i + 1],
                    (env->n - i) * sizeof *env->v); /* with the NULL */
            env->n--;
        } else {
            i++;
        }
    }
    s_envv_put(env, dr_asprintf("DROVER_TASK_DIR=%s", RUNTIME_DOCKER_SCRATCH));
    if (ts->n_gpu_indices > 0) {
        /* Inside the container its GPUs are numbered from 0. */
        dr_buf_t b = {0};
        dr_buf_printf(&b, "CUDA_VISIBLE_DEVICES=");
        for (size_t i = 0; i < ts->n_gpu_indices; i++)
            dr_buf_printf(&b, "%s%zu", i ? "," : "", i);
        s_envv_put(env, dr_strdup(b.data));
        dr_buf_free(&b);
    }
    runtime_docker_spec_t spec = {
        .image = ts->image,
        .argv = argv,
        .envp = env->v,
        .task_dir = task_dir,
        .cpus = ts->cpus,
        .memory_mb = ts->memory_mb,
        .gpu_indices = ts->gpu_indices,
        .n_gpu = ts->n_gpu_indices,
        .job_id = t->job_id,
        .attempt = t->attempt,
        .node = node->name,
    };
    int rc = runtime_docker_ctr_start(a->docker, &spec, &t->ctr);
    if (rc < 0) {
        char reason[256];
        snprintf(reason, sizeof reason, "cannot prepare the container: %s",
                 dr_strerror(rc));
        s_task_fail(node, t, 0, reason);
        return;
    }
    t->live = 1;
    log_info("job %" PRIu64 " attempt %u on node %s: starting '%s' in image "
             "%s",
             t->job_id, t->attempt, node->name, argv[0], ts->image);
}

/* The container's life is over: report it as the process runtime would. */
static void s_docker_complete(node_t *node, task_t *t)
{
    runtime_docker_result_t res;
    if (runtime_docker_ctr_result(t->ctr, &res) < 0)
        return;
    if (!res.started && !t->end_set) {
        runtime_docker_ctr_destroy(&t->ctr);
        s_task_fail(node, t, res.exit_code, res.reason);
        return;
    }
    int code = res.started ? res.exit_code : 0, sig = 0;
    if (res.lost && !t->end_set) {
        t->end_set = 1;
        t->end_state = S_ST(FAILED);
        s_set_str(&t->end_reason, res.reason);
        code = 0;
    } else if (res.oom_killed && !t->end_set) {
        t->end_set = 1;
        t->end_state = S_ST(EXITED);
        s_set_str(&t->end_reason, RUNTIME_DOCKER_OOM_REASON);
    }
    if (code > 128 && code <= 128 + 64 && (t->end_set || res.oom_killed))
        sig = code - 128;
    s_task_complete(node, t, code, sig);
}

/* Does what a container task's phase and clocks call for. */
static int64_t s_docker_tick_task(node_t *node, task_t *t, int64_t now)
{
    int64_t next = S_NO_TIMER;
    runtime_docker_phase_t ph = runtime_docker_ctr_phase(t->ctr);
    s_pump(node, t, RUNTIME_DOCKER_STDOUT, 64);
    s_pump(node, t, RUNTIME_DOCKER_STDERR, 64);
    if (runtime_docker_ctr_started(t->ctr) && !t->started_at_ms) {
        t->started_at_ms = dr_now_ms();
        if (t->time_limit_s)
            t->deadline = now + (int64_t)t->time_limit_s * 1000;
        log_info("job %" PRIu64 " attempt %u on node %s: container %.12s "
                 "started",
                 t->job_id, t->attempt, node->name,
                 runtime_docker_ctr_id(t->ctr));
        if (!t->end_set)
            s_task_report(node, t, S_ST(RUNNING), NULL);
    }
    if (ph == RUNTIME_DOCKER_RUNNING) {
        if (t->deadline && now >= t->deadline && !t->end_set) {
            char *r =
                dr_asprintf("time limit of %u s exceeded", t->time_limit_s);
            s_task_stop(node, t, S_ST(FAILED), r, 0);
            free(r);
        }
        if (t->kill_at && now >= t->kill_at) {
            log_info("job %" PRIu64 " attempt %u on node %s: grace over, "
                     "SIGKILL",
                     t->job_id, t->attempt, node->name);
            (void)runtime_docker_ctr_signal(t->ctr, SIGKILL);
            t->kill_at = 0;
        }
        if (t->deadline && !t->end_set)
            next = s_min(next, t->deadline);
        if (t->kill_at)
            next = s_min(next, t->kill_at);
    } else if (ph == RUNTIME_DOCKER_ENDING) {
        if (!t->drain_until)
            t->drain_until = now + S_DRAIN_MS;
        if (now >= t->drain_until)
            runtime_docker_ctr_close_output(t->ctr);
        else
            next = s_min(next, t->drain_until);
    } else if (ph == RUNTIME_DOCKER_DONE) {
        s_docker_complete(node, t);
    }
    return next;
}

static task_t *s_docker_task_of(node_t *node, uint64_t job, uint32_t attempt)
{
    task_t *t = s_task_find(node, job, attempt);
    return t && t->ctr ? t : NULL;
}

/* The list of this node's containers: adopted at start-up, removed when
 * no task owns them later (a leftover of a lost daemon or agent). */
static void s_docker_listed(void *arg, int rc, const runtime_docker_found_t *v,
                            size_t n, const char *why)
{
    node_t *node = arg;
    agent_t *a = node->agent;
    int startup = !a->docker_adopted;
    a->docker_adopted = 1;
    if (rc < 0) {
        log_warn("node %s: listing drover's containers failed: %s", node->name,
                 why);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (s_docker_task_of(node, v[i].job_id, v[i].attempt))
            continue;
        if (!startup || s_task_find(node, v[i].job_id, v[i].attempt) ||
            node->leaving) {
            log_info("node %s: removing leftover container %.12s of job "
                     "%" PRIu64 " attempt %u",
                     node->name, v[i].id, v[i].job_id, v[i].attempt);
            runtime_docker_remove(a->docker, v[i].id);
            continue;
        }
        task_t *t = s_task_add(node, v[i].job_id, v[i].attempt);
        if (runtime_docker_ctr_adopt(a->docker, v[i].id, &t->ctr) < 0) {
            s_task_remove(node, t);
            continue;
        }
        t->live = 1;
        t->state = S_ST(RUNNING);
        t->started_at_ms = dr_now_ms();
        log_info("job %" PRIu64 " attempt %u on node %s: adopted container "
                 "%.12s (%s)",
                 t->job_id, t->attempt, node->name, v[i].id,
                 v[i].running ? "running" : "exited");
    }
}

/* Pings, start-up adoption, availability changes, sweeps.  Returns 1 while
 * the first registration must wait (probe and adoption not done yet). */
static int s_docker_tick_agent(agent_t *a, int64_t now, int64_t *next)
{
    if (!a->docker)
        return 0;
    node_t *node = &a->nodes[0];
    if (now >= a->docker_next_ping) {
        runtime_docker_ping(a->docker);
        a->docker_next_ping = now + S_DOCKER_PING_MS;
    }
    *next = s_min(*next, a->docker_next_ping);
    int avail =
        runtime_docker_probed(a->docker) && runtime_docker_available(a->docker);
    if (avail && !a->docker_listing_started) {
        a->docker_listing_started = 1;
        a->docker_next_sweep = now + S_DOCKER_SWEEP_MS;
        int rc =
            runtime_docker_list(a->docker, node->name, s_docker_listed, node);
        if (rc < 0)
            a->docker_adopted = 1; /* nothing to adopt then */
    } else if (avail && a->docker_adopted && now >= a->docker_next_sweep) {
        a->docker_next_sweep = now + S_DOCKER_SWEEP_MS;
        (void)runtime_docker_list(a->docker, node->name, s_docker_listed, node);
    }
    if (a->docker_adopted)
        *next = s_min(*next, a->docker_next_sweep);
    if (runtime_docker_probed(a->docker) && avail != a->docker_avail) {
        a->docker_avail = avail;
        if (avail && a->docker_adopted) /* back: sweep what was left */
            a->docker_next_sweep = now;
        if (node->registered && node->sock) {
            log_info("node %s: docker runtime %s; registering again",
                     node->name, avail ? "available" : "gone");
            s_send_register(node);
        }
    }
    int waiting =
        !runtime_docker_probed(a->docker) || (avail && !a->docker_adopted);
    if (waiting && now - a->started_at < S_DOCKER_PROBE_MAX_MS) {
        *next = s_min(*next, now + 20);
        return 1;
    }
    return 0;
}

/* Every task of an MPI job: the hostfile (DROVER_HOSTFILE) and, in a
 * container, drover-launch (OpenMPI wants its plm_rsh_agent present on
 * every node), both in the task's scratch dir.  The head also gets its
 * launch server and the mpirun command line around the job's argv
 * (head_argv).  0, or -1 with the reason. */
static int s_mpi_prepare(node_t *node, task_t *t, const Drover__TaskStart *ts,
                         const char *task_dir, int in_container, s_envv_t *env,
                         char ***head_argv, char *why, size_t whylen)
{
    const agent_cfg_t *cfg = node->agent->cfg;
    char host[256];
    if (gethostname(host, sizeof host) < 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    char *one[1] = {node->name};
    char *const *hosts = ts->n_hosts ? ts->hosts : one;
    size_t nhosts = ts->n_hosts ? ts->n_hosts : 1;
    uint32_t slots = ts->procs_per_node ? ts->procs_per_node : 1;
    char *hostfile = dr_asprintf("%s/hostfile", task_dir);
    char *launcher = dr_asprintf("%s/drover-launch", task_dir);
    int rc = dr_mkdirs(task_dir, 0755) < 0
                 ? DR_EIO
                 : mpi_hostfile_write(hostfile, hosts, nhosts, host, slots);
    if (rc == 0 && in_container)
        rc = dr_copy_file(cfg->launcher, launcher, 0755);
    free(hostfile);
    free(launcher);
    if (rc < 0) {
        snprintf(why, whylen,
                 "cannot write the MPI hostfile or copy %s in "
                 "%s: %s",
                 cfg->launcher, task_dir, strerror(errno));
        return -1;
    }
    const char *inner = in_container ? RUNTIME_DOCKER_SCRATCH : task_dir;
    s_envv_put(env, dr_asprintf("DROVER_HOSTFILE=%s/hostfile", inner));
    if (!in_container && !t->mpi_tmp) {
        /* Tasks of one machine must not share OpenMPI's session dir under
         * /tmp: orteds starting at once race to create it (open-mpi/ompi
         * #8510).  A short path of the task's own (PMIx puts unix sockets
         * in it), as TMPDIR: mpirun passes its MCA settings on to every
         * orted, so orte_tmpdir_base would be the head's everywhere. */
        t->mpi_tmp = dr_asprintf("/tmp/drover-mpi.%s.%" PRIu64 ".%u",
                                 node->name, t->job_id, t->attempt);
        if (dr_rmtree(t->mpi_tmp) < 0 || mkdir(t->mpi_tmp, 0700) < 0) {
            snprintf(why, whylen, "cannot make %s: %s", t->mpi_tmp,
                     strerror(errno));
            return -1;
        }
        int job_tmpdir = 0;
        for (size_t i = 0; i < ts->n_env; i++)
            job_tmpdir |= strcmp(ts->env[i]->key, "TMPDIR") == 0;
        if (!job_tmpdir)
            s_envv_put(env, dr_asprintf("TMPDIR=%s", t->mpi_tmp));
    }
    if (!head_argv)
        return 0;
    char token[MSI_SECRET_LEN + 1];
    char *sock = dr_asprintf("drover-launch/%s/%" PRIu64 "-%u", node->name,
                             t->job_id, t->attempt);
    if (msi_secret_new(token) < 0 ||
        mpi_srv_new(sock, token, &t->launch_srv) < 0) {
        snprintf(why, whylen, "cannot open the MPI launch socket @%s: %s", sock,
                 strerror(errno));
        free(sock);
        return -1;
    }
    s_envv_put(env, dr_asprintf("DROVER_LAUNCH_SOCKET=@%s", sock));
    s_envv_put(env, dr_asprintf("DROVER_LAUNCH_TOKEN=%s", token));
    explicit_bzero(token, sizeof token);
    free(sock);
    t->tagger = mpi_tagger_new(hosts, nhosts, slots);
    char *hf = dr_asprintf("%s/hostfile", inner);
    *head_argv =
        mpi_head_argv(hf, (uint32_t)nhosts, slots, ts->argv, ts->n_argv);
    free(hf);
    return 0;
}

/* Starts a task's program: the job's argv, mpirun around it for an MPI
 * head, or (launch_cmd) the command mpirun launches on a worker. */
static void s_task_spawn(node_t *node, task_t *t, const Drover__TaskStart *ts,
                         const char *launch_cmd)
{
    agent_t *a = node->agent;
    const agent_cfg_t *cfg = a->cfg;
    char reason[512];
    char *task_dir = dr_asprintf("%s/tasks/%" PRIu64 "-%u", cfg->work_dir,
                                 t->job_id, t->attempt);
    int in_container = ts->image && ts->image[0];
    int mpi_head = s_is_mpi(ts) && ts->node_rank == 0 && !launch_cmd;
    char **argv = dr_calloc(ts->n_argv + 4, sizeof *argv);
    if (launch_cmd) {
        argv[0] = "/bin/sh";
        argv[1] = "-c";
        argv[2] = (char *)launch_cmd;
    } else {
        for (size_t i = 0; i < ts->n_argv; i++)
            argv[i] = ts->argv[i];
    }
    char **mpi_argv = NULL;
    s_envv_t env = {0};
    for (int i = 0; i < 3; i++)
        if (a->base_env[i])
            s_envv_put(&env, dr_strdup(a->base_env[i]));
    if (s_is_mpi(ts)) {
        /* drover's MCA settings; the job's env may override them */
        char *mca[MPI_ENV_MAX];
        const char *launcher = in_container ? RUNTIME_DOCKER_SCRATCH
                                   "/drover-launch"
                                            : cfg->launcher;
        size_t nmca = mpi_env_defaults(launcher, cfg->mpi_iface, mca);
        for (size_t i = 0; i < nmca; i++)
            s_envv_put(&env, mca[i]);
    }
    for (size_t i = 0; i < ts->n_env; i++)
        s_envv_put(&env,
                   dr_asprintf("%s=%s", ts->env[i]->key, ts->env[i]->value));
    s_envv_put(&env, dr_asprintf("DROVER_JOB_ID=%" PRIu64, t->job_id));
    s_envv_put(&env, dr_asprintf("DROVER_ATTEMPT=%u", t->attempt));
    s_envv_put(&env, dr_asprintf("DROVER_NODE_NAME=%s", node->name));
    s_envv_put(&env, dr_asprintf("DROVER_CLUSTER=%s", cfg->cluster));
    s_envv_put(&env, dr_asprintf("DROVER_TASK_DIR=%s", task_dir));
    s_envv_put(&env, dr_asprintf("DROVER_NODE_RANK=%u", ts->node_rank));
    s_envv_put(&env,
               dr_asprintf("DROVER_NUM_NODES=%u", ts->nodes ? ts->nodes : 1));
    if (ts->job_name && ts->job_name[0])
        s_envv_put(&env, dr_asprintf("DROVER_JOB_NAME=%s", ts->job_name));
    if (ts->n_hosts) {
        dr_buf_t hb = {0};
        for (size_t i = 0; i < ts->n_hosts; i++)
            dr_buf_printf(&hb, "%s%s", i ? "," : "", ts->hosts[i]);
        s_envv_put(&env, dr_asprintf("DROVER_HOSTS=%s", hb.data));
        s_envv_put(&env, dr_asprintf("DROVER_HEAD_NODE=%s", ts->hosts[0]));
        dr_buf_free(&hb);
    }
    if (s_is_mpi(ts))
        s_envv_put(&env,
                   dr_asprintf("DROVER_PROCS_PER_NODE=%u",
                               ts->procs_per_node ? ts->procs_per_node : 1));
    if (s_is_mpi(ts) &&
        s_mpi_prepare(node, t, ts, task_dir, in_container, &env,
                      mpi_head ? &mpi_argv : NULL, reason, sizeof reason) < 0) {
        s_task_fail(node, t, 0, reason);
        goto out;
    }
    if (mpi_argv) {
        free(argv);
        argv = mpi_argv;
    }
    /* After the job's own env: the GPUs it was given are not its to widen. */
    char *genv[GPU_ENV_MAX + 1];
    size_t ngenv = gpu_task_env(gpu_list(a->gpu), ts->gpu_indices,
                                ts->n_gpu_indices, genv);
    for (size_t i = 0; i < ngenv; i++)
        s_envv_put(&env, genv[i]);
    /* Managed identity: the endpoint and this task's secret, after the
     * job's env (a job cannot point another job's requests elsewhere).
     * Containers share the host's network, so 127.0.0.1 reaches us. */
    char secret[MSI_SECRET_LEN + 1];
    if (a->ident && msi_secret_new(secret) == 0) {
        msi_task_add(a->ident, t->job_id, t->attempt, secret);
        t->has_secret = 1;
        s_envv_put(&env,
                   dr_asprintf("IDENTITY_ENDPOINT=%s", msi_endpoint(a->ident)));
        s_envv_put(&env, dr_asprintf("IDENTITY_HEADER=%s", secret));
        explicit_bzero(secret, sizeof secret);
    } else if (a->ident) {
        log_warn_errno("job %" PRIu64 " attempt %u on node %s: getrandom; "
                       "no identity endpoint for it",
                       t->job_id, t->attempt, node->name);
    }

    if (ts->image && ts->image[0]) {
        s_docker_spawn(node, t, ts, argv, &env, task_dir);
        goto out;
    }
    runtime_process_spec_t spec = {argv, env.v, task_dir};
    int rc = runtime_process_start(&spec, &t->proc, reason, sizeof reason);
    if (rc < 0) {
        s_task_fail(node, t, rc == DR_ESYS ? 127 : 0, reason);
    } else {
        t->live = 1;
        t->started_at_ms = dr_now_ms();
        if (t->time_limit_s)
            t->deadline = dr_mono_ms() + (int64_t)t->time_limit_s * 1000;
        log_info("job %" PRIu64 " attempt %u on node %s: started '%s' as pid "
                 "%d in %s",
                 t->job_id, t->attempt, node->name, argv[0],
                 (int)runtime_process_pid(t->proc), task_dir);
        if (t->state != S_ST(RUNNING)) /* a launch: the task was running */
            s_task_report(node, t, S_ST(RUNNING), NULL);
    }
out:
    s_envv_free(&env);
    if (mpi_argv)
        mpi_argv_free(mpi_argv);
    else
        free(argv);
    free(task_dir);
}

/* A worker of an MPI job is ready as soon as it is here: it runs what
 * mpirun launches on it (orted), when the launch comes. */
static void s_task_wait_launch(node_t *node, task_t *t,
                               const Drover__TaskStart *ts)
{
    t->mpi_worker = 1;
    t->start_len = drover__task_start__get_packed_size(ts);
    t->start_msg = dr_malloc(t->start_len);
    drover__task_start__pack(ts, t->start_msg);
    t->live = 1;
    t->started_at_ms = dr_now_ms();
    log_info("job %" PRIu64 " attempt %u on node %s: MPI rank %u of %u nodes "
             "ready for its launch",
             t->job_id, t->attempt, node->name, ts->node_rank, ts->nodes);
    s_task_report(node, t, S_ST(RUNNING), NULL);
}

static void s_task_hollow(node_t *node, task_t *t, const Drover__TaskStart *ts)
{
    agent_t *a = node->agent;
    int64_t dur = sim_duration_ms(ts->argv, ts->n_argv);
    t->hollow = 1;
    t->live = 1;
    t->started_at_ms = dr_now_ms();
    sim_timer_t tm = {dr_mono_ms() + dur, node->index, t->job_id, t->attempt};
    sim_heap_push(a->heap, &tm);
    log_debug("job %" PRIu64 " attempt %u on node %s: hollow run of %" PRId64
              " ms",
              t->job_id, t->attempt, node->name, dur);
    s_task_report(node, t, S_ST(RUNNING), NULL);
    char line[128];
    int n = snprintf(line, sizeof line, "simulated on %s\n", node->name);
    if (n > 0 && (size_t)n < sizeof line)
        s_send_output(node, t, RUNTIME_PROCESS_STDOUT, line, (size_t)n);
}

/* ---- registration and heartbeats
 * --------------------------------------------- */

/* The node's GPUs, brought up to date, as the `gpus` of a Register or
 * Heartbeat; msgs and ptrs hold GPU_INVENTORY_MAX.  The messages borrow
 * the gpu_t's list until its next refresh. */
static size_t s_gpus_fill(agent_t *a, Drover__GpuInfo *msgs,
                          Drover__GpuInfo **ptrs)
{
    (void)gpu_refresh(a->gpu, S_GPU_REFRESH_MS); /* a bad re-read is logged */
    const gpu_list_t *l = gpu_list(a->gpu);
    gpu_list_to_proto(l, msgs, ptrs);
    return l->count;
}

static void s_send_register(node_t *node)
{
    agent_t *a = node->agent;
    const agent_cfg_t *cfg = a->cfg;
    size_t n = 0;
    for (task_t *t = node->tasks; t; t = t->next)
        n++;
    Drover__TaskReport *reps = n ? dr_calloc(n, sizeof *reps) : NULL;
    Drover__TaskReport **ptrs = n ? dr_calloc(n, sizeof *ptrs) : NULL;
    size_t i = 0;
    for (task_t *t = node->tasks; t; t = t->next, i++) {
        s_fill_report(t, &reps[i]);
        ptrs[i] = &reps[i];
    }
    char *runtimes[] = {(char *)"process", (char *)"docker"};
    Drover__GpuInfo gmsgs[GPU_INVENTORY_MAX];
    Drover__GpuInfo *gptrs[GPU_INVENTORY_MAX];
    Drover__Register reg = DROVER__REGISTER__INIT;
    reg.n_gpus = s_gpus_fill(a, gmsgs, gptrs);
    reg.gpus = gptrs;
    reg.node_name = node->name;
    reg.cluster = cfg->cluster;
    reg.vm_size = cfg->vm_size;
    reg.cpus = (uint32_t)cfg->cpus;
    reg.memory_mb = (uint64_t)cfg->memory_mb;
    reg.n_tasks = n;
    reg.tasks = ptrs;
    reg.agent_version = (char *)AGENT_VERSION;
    reg.n_runtimes = a->docker && runtime_docker_available(a->docker) ? 2 : 1;
    reg.runtimes = runtimes;
    reg.pid = (uint32_t)getpid();
    dr_env_t env;
    s_env_init(node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_REGISTER;
    env.register_ = &reg;
    log_debug("node %s: register with %zu task(s)", node->name, n);
    s_send(node, &env);
    free(reps);
    free(ptrs);
    node->last_register = dr_mono_ms();
    node->next_register = node->last_register + S_REGISTER_RETRY_MS;
}

static void s_send_heartbeat(node_t *node)
{
    agent_t *a = node->agent;
    Drover__Heartbeat hb = DROVER__HEARTBEAT__INIT;
    uint32_t running = 0, cpus = 0;
    uint64_t mem = 0;
    for (task_t *t = node->tasks; t; t = t->next) {
        if (t->live) {
            running++;
            cpus += t->cpus;
            mem += t->memory_mb;
        }
    }
    hb.running_tasks = running;
    if (a->simulate) {
        hb.cpu_load_milli = cpus * 1000;
        hb.memory_used_mb = mem;
    } else {
        hb.cpu_load_milli = s_load_milli();
        hb.memory_used_mb = s_mem_used_mb();
    }
    hb.seq = ++node->hb_seq;
    Drover__GpuInfo gmsgs[GPU_INVENTORY_MAX];
    Drover__GpuInfo *gptrs[GPU_INVENTORY_MAX];
    hb.n_gpus = s_gpus_fill(a, gmsgs, gptrs);
    hb.gpus = gptrs;
    dr_env_t env;
    s_env_init(node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    s_send(node, &env);
}

/* Heartbeats of N nodes spread over one interval, not all in one ms. */
static int64_t s_hb_phase(const node_t *node)
{
    const agent_t *a = node->agent;
    return a->hb_ms * (int64_t)(node->index + 1) / (int64_t)a->n_nodes;
}

/* ---- leaving ----------------------------------------------------------------
 */

static void s_node_leave(node_t *node, const char *reason)
{
    if (node->leaving || !node->sock)
        return;
    node->leaving = 1;
    node->leave_hard_deadline =
        dr_mono_ms() + node->agent->cfg->grace_ms + S_LEAVE_ACK_MS + 2000;
    log_info("node %s: shutting down (%s)", node->name, reason);
    char *why = dr_asprintf("node shutting down: %s", reason);
    for (task_t *t = node->tasks; t; t = t->next)
        s_task_stop(node, t, S_ST(CANCELED), why, 0);
    free(why);
}

static void s_node_gone(node_t *node)
{
    log_info("node %s: left", node->name);
    while (node->tasks) {
        task_t *t = node->tasks;
        node->tasks = t->next;
        if (t->pending)
            log_warn("job %" PRIu64 " attempt %u on node %s: final state %s "
                     "not acked",
                     t->job_id, t->attempt, node->name, s_state_name(t->state));
        s_task_forget_secret(node, t);
        s_task_free(&t);
    }
    zmq_close(node->sock);
    node->sock = NULL;
    node->agent->n_gone++;
}

/* ---- preemption -------------------------------------------------------------
 */

/* The node is being preempted (a Preempt scheduled event, or the
 * scheduler's drill): tell the scheduler first, so that it requeues the
 * jobs as preempted before any of their final reports arrives (one socket,
 * in order), then TERM the tasks (KILL after the grace) so that they can
 * checkpoint.  The node stays up and heartbeating until the scheduler's
 * Shutdown or a SIGTERM ends it.  Once per node. */
static void s_node_preempt(node_t *node, const char *reason,
                           const char *event_id)
{
    if (!node->sock || node->preempted) {
        log_debug("node %s: already preempted; ignoring %s", node->name,
                  reason);
        return;
    }
    node->preempted = 1;
    log_warn("node %s: preempted: %s", node->name, reason);
    Drover__NodePreempted np = DROVER__NODE_PREEMPTED__INIT;
    np.reason = (char *)reason;
    np.event_id = (char *)(event_id ? event_id : "");
    dr_env_t env;
    s_env_init(node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_NODE_PREEMPTED;
    env.node_preempted = &np;
    s_send(node, &env);
    char *why = dr_asprintf("node preempted: %s", reason);
    for (task_t *t = node->tasks; t; t = t->next)
        s_task_stop(node, t, S_ST(CANCELED), why, 0);
    free(why);
}

/* Drives the scheduled-events poller; a Preempt event preempts the node
 * (a real node has exactly one).  Returns the poller's next due time. */
static int64_t s_tick_sev(agent_t *a, int64_t now)
{
    if (!a->sev)
        return S_NO_TIMER;
    int64_t next = sched_events_tick(a->sev, now);
    char id[SCHED_EVENTS_ID_MAX];
    while (sched_events_take(a->sev, id, sizeof id)) {
        char *r = dr_asprintf("Preempt scheduled event %s", id);
        s_node_preempt(&a->nodes[0], r, id);
        free(r);
    }
    return next;
}

/* ---- message handlers -------------------------------------------------------
 */

typedef void(s_handler_fn)(node_t *node, const dr_env_t *env);

static void s_on_ok(node_t *node, const dr_env_t *env)
{
    (void)env;
    log_debug("node %s: ok from scheduler", node->name);
}

static void s_on_error(node_t *node, const dr_env_t *env)
{
    const Drover__Error *e = env->error;
    agent_t *a = node->agent;
    if (a->ident &&
        msi_on_error(a->ident, env->request_id, e->code, e->message) &&
        e->code != DR_ENOTREG)
        return; /* the answer of a token request, given to its job */
    if (e->code == DR_ENOTREG) {
        log_info("node %s: scheduler says not registered; registering",
                 node->name);
        /* A burst of such errors (one per queued message) must not turn
         * into a burst of Registers. */
        int recent =
            node->last_register && dr_mono_ms() - node->last_register < 250;
        node->registered = 0;
        if (!recent)
            s_send_register(node);
        return;
    }
    log_warn("node %s: scheduler error %d (%s): %.200s", node->name, e->code,
             dr_errname(e->code), e->message ? e->message : "");
}

static void s_on_register_ack(node_t *node, const dr_env_t *env)
{
    agent_t *a = node->agent;
    const Drover__RegisterAck *ack = env->register_ack;
    if (ack->heartbeat_interval_ms) {
        uint32_t ms = ack->heartbeat_interval_ms;
        if (ms < 100 || ms > 3600000)
            log_warn("node %s: ignoring heartbeat interval %u ms", node->name,
                     ms);
        else
            a->hb_ms = ms;
    }
    if (!node->registered)
        log_info("node %s: registered with %s, heartbeat every %" PRId64 " ms",
                 node->name, a->cfg->scheduler, a->hb_ms);
    node->registered = 1;
    node->next_hb = dr_mono_ms() + s_hb_phase(node);
    for (size_t i = 0; i < ack->n_cancel_job_ids; i++) {
        for (task_t *t = node->tasks; t; t = t->next) {
            if (t->job_id == ack->cancel_job_ids[i])
                s_task_stop(node, t, S_ST(CANCELED),
                            "canceled by the scheduler at registration", 0);
        }
    }
}

static void s_on_heartbeat_ack(node_t *node, const dr_env_t *env)
{
    log_debug("node %s: heartbeat %" PRIu64 " acked", node->name,
              env->heartbeat_ack->seq);
}

static void s_on_task_start(node_t *node, const dr_env_t *env)
{
    agent_t *a = node->agent;
    const Drover__TaskStart *ts = env->task_start;
    char why[256];
    int rc = s_task_start_check(a, ts, why, sizeof why);
    if (rc == 0 && (node->leaving || node->preempted)) {
        snprintf(why, sizeof why, "node %s is %s", node->name,
                 node->leaving ? "shutting down" : "being preempted");
        rc = DR_ESTATE;
    }
    if (rc == 0) {
        (void)gpu_refresh(a->gpu, S_GPU_REFRESH_MS);
        rc = gpu_list_check(gpu_list(a->gpu), ts->gpu_indices,
                            ts->n_gpu_indices, node->name, why, sizeof why);
    }
    task_t *t = s_task_find(node, ts->job_id, ts->attempt);
    if (t) {
        log_debug("job %" PRIu64 " attempt %u on node %s: duplicate TaskStart",
                  ts->job_id, ts->attempt, node->name);
        if (t->pending)
            s_send_update(node, t);
        return;
    }
    if (rc < 0) {
        log_warn("job %" PRIu64 " attempt %u on node %s: rejected TaskStart: "
                 "%s",
                 ts->job_id, ts->attempt, node->name, why);
        int wrc = wire_send_error(node->sock, NULL, env->request_id, rc,
                                  "job %" PRIu64 " attempt %u: %s", ts->job_id,
                                  ts->attempt, why);
        if (wrc < 0)
            log_warn("node %s: send error reply: %s", node->name,
                     dr_strerror(wrc));
        if (ts->job_id != 0) {
            t = s_task_add(node, ts->job_id, ts->attempt);
            s_task_fail(node, t, 0, why);
        }
        return;
    }
    for (task_t *o = node->tasks; o; o = o->next) {
        if (o->job_id == ts->job_id && o->live) {
            char *r = dr_asprintf("superseded by attempt %u", ts->attempt);
            s_task_stop(node, o, S_ST(CANCELED), r, 1);
            free(r);
        }
    }
    t = s_task_add(node, ts->job_id, ts->attempt);
    t->cpus = ts->cpus;
    t->memory_mb = ts->memory_mb;
    t->time_limit_s = ts->time_limit_s;
    if (a->simulate)
        s_task_hollow(node, t, ts);
    else if (s_is_mpi(ts) && ts->nodes > 1 && ts->node_rank > 0)
        s_task_wait_launch(node, t, ts);
    else
        s_task_spawn(node, t, ts, NULL);
}

static void s_on_task_cancel(node_t *node, const dr_env_t *env)
{
    const Drover__TaskCancel *tc = env->task_cancel;
    if (tc->job_id == 0) {
        log_warn("node %s: TaskCancel without job_id", node->name);
        int rc = wire_send_error(node->sock, NULL, env->request_id, DR_EINVAL,
                                 "TaskCancel without job_id");
        if (rc < 0)
            log_warn("node %s: send error reply: %s", node->name,
                     dr_strerror(rc));
        return;
    }
    const char *reason =
        tc->reason && tc->reason[0] ? tc->reason : "canceled by the scheduler";
    int found = 0;
    for (task_t *t = node->tasks; t; t = t->next) {
        if (t->job_id != tc->job_id ||
            (tc->attempt != 0 && t->attempt != tc->attempt))
            continue;
        found = 1;
        if (t->live)
            s_task_stop(node, t, S_ST(CANCELED), reason, 0);
        else if (t->pending)
            s_send_update(node, t); /* already over: repeat the result */
    }
    if (found)
        return;
    log_info("job %" PRIu64 " attempt %u on node %s: cancel for a task not "
             "here",
             tc->job_id, tc->attempt, node->name);
    if (tc->attempt == 0) {
        int rc = wire_send_error(node->sock, NULL, env->request_id, DR_ENOENT,
                                 "job %" PRIu64 " has no task on node %s",
                                 tc->job_id, node->name);
        if (rc < 0)
            log_warn("node %s: send error reply: %s", node->name,
                     dr_strerror(rc));
        return;
    }
    /* Tell the scheduler it is not running here, once, untracked: a later
     * ack for it finds nothing and is ignored. */
    task_t tmp = {0};
    tmp.job_id = tc->job_id;
    tmp.attempt = tc->attempt;
    tmp.state = S_ST(CANCELED);
    tmp.reason = (char *)"task not running on this node";
    tmp.ended_at_ms = dr_now_ms();
    s_send_update(node, &tmp);
}

static void s_on_task_update_ack(node_t *node, const dr_env_t *env)
{
    const Drover__TaskUpdateAck *ack = env->task_update_ack;
    task_t *t = s_task_find(node, ack->job_id, ack->attempt);
    if (!t) {
        log_debug("job %" PRIu64 " attempt %u on node %s: ack for unknown "
                  "task",
                  ack->job_id, ack->attempt, node->name);
        return;
    }
    if (ack->state != t->state)
        return; /* an older state; the latest is still pending */
    t->pending = 0;
    if (s_final(t->state) && !t->live) {
        log_debug("job %" PRIu64 " attempt %u on node %s: final state acked",
                  t->job_id, t->attempt, node->name);
        s_task_remove(node, t);
    }
}

static void s_on_preempt_notice(node_t *node, const dr_env_t *env)
{
    const char *r = env->preempt_notice->reason;
    char reason[256];
    snprintf(reason, sizeof reason, "%.200s",
             r && r[0] ? r : "preemption notice from the scheduler");
    s_node_preempt(node, reason, "");
}

static void s_on_token_reply(node_t *node, const dr_env_t *env)
{
    agent_t *a = node->agent;
    const Drover__TokenReply *r = env->token_reply;
    if (!a->ident || !msi_on_reply(a->ident, env->request_id, r->access_token,
                                   r->expires_on, r->resource, r->client_id))
        log_info("node %s: token reply %" PRIu64 " for no waiting request "
                 "(late or unknown); dropped",
                 node->name, env->request_id);
}

/* msi_ask_fn: a job's TokenRequest, sent on the node's socket. */
static uint64_t s_ident_ask(void *arg, uint64_t job_id, uint32_t attempt,
                            const char *resource)
{
    node_t *node = arg;
    if (!node->sock || !node->registered)
        return 0;
    Drover__TokenRequest tr = DROVER__TOKEN_REQUEST__INIT;
    tr.job_id = job_id;
    tr.attempt = attempt;
    tr.resource = (char *)resource;
    dr_env_t env;
    s_env_init(node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_TOKEN_REQUEST;
    env.token_request = &tr;
    if (wire_send(node->sock, NULL, &env) < 0)
        return 0;
    return env.request_id;
}

/* The scheduler passes on a launch from the head's mpirun: start the
 * command inside this node's task of the job. */
static void s_on_mpi_launch(node_t *node, const dr_env_t *env)
{
    const Drover__MpiLaunch *m = env->mpi_launch;
    task_t *t = s_task_find(node, m->job_id, m->attempt);
    const char *why = NULL;
    if (!m->command || !m->command[0] || m->launch_id == 0)
        why = "launch without a command or id";
    else if (!t || !t->mpi_worker)
        why = "no MPI task of this job and attempt on this node";
    else if (t->launch_id || t->proc || t->ctr)
        why = "the task already runs a launch";
    else if (!t->live || t->end_set)
        why = "the task is ending";
    if (why) {
        task_t tmp = {0};
        tmp.job_id = m->job_id;
        tmp.attempt = m->attempt;
        tmp.launch_id = m->launch_id;
        char *msg = dr_asprintf("node %s: %s", node->name, why);
        s_send_launch_io(node, &tmp, 0, NULL, 0, 1, 255, msg);
        log_warn("job %" PRIu64 " attempt %u: launch refused: %s", m->job_id,
                 m->attempt, msg);
        free(msg);
        return;
    }
    Drover__TaskStart *ts =
        drover__task_start__unpack(NULL, t->start_len, t->start_msg);
    if (!ts) {
        s_task_fail(node, t, 0, "its TaskStart could not be read again");
        return;
    }
    t->launch_id = m->launch_id;
    t->started_at_ms = 0; /* a container reports its own start */
    log_info("job %" PRIu64 " attempt %u on node %s: launch %" PRIu64
             " from %s",
             t->job_id, t->attempt, node->name, m->launch_id,
             m->node ? m->node : "?");
    s_task_spawn(node, t, ts, m->command);
    drover__task_start__free_unpacked(ts, NULL);
}

/* What a launched command on another node printed, or its end: for the
 * drover-launch that asked for it. */
static void s_on_mpi_launch_io(node_t *node, const dr_env_t *env)
{
    const Drover__MpiLaunchIo *m = env->mpi_launch_io;
    task_t *t = s_task_find(node, m->job_id, m->attempt);
    if (!t || !t->launch_srv)
        return; /* mpirun is gone already */
    if (m->data.len)
        mpi_srv_output(t->launch_srv, m->launch_id,
                       m->stream == DROVER__STREAM__STREAM_STDERR, m->data.data,
                       m->data.len);
    if (m->exited)
        mpi_srv_exit(t->launch_srv, m->launch_id, m->exit_code, m->error);
}

/* drover-launch asked (on the head) for a command on another node. */
typedef struct {
    node_t *node;
    task_t *task;
} s_launch_ctx_t;

static void s_launch_request(void *arg, uint64_t launch_id, const char *host,
                             const char *command)
{
    s_launch_ctx_t *x = arg;
    dr_env_t env;
    Drover__MpiLaunch m = DROVER__MPI_LAUNCH__INIT;
    m.job_id = x->task->job_id;
    m.attempt = x->task->attempt;
    m.launch_id = launch_id;
    m.node = (char *)host;
    m.command = (char *)command;
    s_env_init(x->node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_MPI_LAUNCH;
    env.mpi_launch = &m;
    s_send(x->node, &env);
    log_info("job %" PRIu64 " attempt %u on node %s: launch %" PRIu64 " on %s",
             m.job_id, m.attempt, x->node->name, launch_id, host);
}

static void s_on_shutdown(node_t *node, const dr_env_t *env)
{
    const char *r = env->shutdown->reason;
    s_node_leave(node, r && r[0] ? r : "scheduler asked");
}

static s_handler_fn *const s_handlers[] = {
    [DROVER__ENVELOPE__BODY_ERROR] = s_on_error,
    [DROVER__ENVELOPE__BODY_OK] = s_on_ok,
    [DROVER__ENVELOPE__BODY_REGISTER_ACK] = s_on_register_ack,
    [DROVER__ENVELOPE__BODY_HEARTBEAT_ACK] = s_on_heartbeat_ack,
    [DROVER__ENVELOPE__BODY_TASK_START] = s_on_task_start,
    [DROVER__ENVELOPE__BODY_TASK_CANCEL] = s_on_task_cancel,
    [DROVER__ENVELOPE__BODY_TASK_UPDATE_ACK] = s_on_task_update_ack,
    [DROVER__ENVELOPE__BODY_SHUTDOWN] = s_on_shutdown,
    [DROVER__ENVELOPE__BODY_PREEMPT_NOTICE] = s_on_preempt_notice,
    [DROVER__ENVELOPE__BODY_TOKEN_REPLY] = s_on_token_reply,
    [DROVER__ENVELOPE__BODY_MPI_LAUNCH] = s_on_mpi_launch,
    [DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO] = s_on_mpi_launch_io,
};
#define S_NHANDLERS (sizeof s_handlers / sizeof s_handlers[0])

static void s_recv_node(node_t *node)
{
    for (int i = 0; i < S_RECV_BATCH && node->sock; i++) {
        dr_env_t *env = NULL;
        int rc = wire_recv(node->sock, NULL, ZMQ_DONTWAIT, &env);
        if (rc == DR_EAGAIN)
            break;
        if (rc < 0) {
            log_warn("node %s: dropped a bad message: %s", node->name,
                     dr_strerror(rc));
            wire_free(&env);
            if (rc == DR_EIO)
                break;
            continue;
        }
        unsigned bc = (unsigned)env->body_case;
        s_handler_fn *fn = bc < S_NHANDLERS ? s_handlers[bc] : NULL;
        if (!fn)
            log_warn("node %s: dropped unexpected %s message (body %u)",
                     node->name, wire_body_name((int)bc), bc);
        else
            fn(node, env);
        wire_free(&env);
    }
}

/* ---- timers
 * ------------------------------------------------------------------ */

/* Does what a task's clocks and child call for; returns its next due time.
 * Never frees t: tasks are only freed on acks and when their node goes. */
static int64_t s_tick_task(node_t *node, task_t *t, int64_t now)
{
    int64_t next = S_NO_TIMER;
    if (t->launch_srv)
        next = mpi_srv_tick(t->launch_srv, now);
    if (t->ctr)
        next = s_docker_tick_task(node, t, now);
    if (t->proc) {
        if (!runtime_process_poll_exit(t->proc)) {
            if (t->deadline && now >= t->deadline && !t->end_set) {
                char *r =
                    dr_asprintf("time limit of %u s exceeded", t->time_limit_s);
                s_task_stop(node, t, S_ST(FAILED), r, 0);
                free(r);
            }
            if (t->kill_at && now >= t->kill_at) {
                log_info("job %" PRIu64 " attempt %u on node %s: grace over, "
                         "SIGKILL",
                         t->job_id, t->attempt, node->name);
                if (runtime_process_signal(t->proc, SIGKILL) < 0)
                    log_warn_errno("job %" PRIu64 " attempt %u on node %s: "
                                   "kill",
                                   t->job_id, t->attempt, node->name);
                t->kill_at = 0;
            }
            if (t->deadline && !t->end_set)
                next = s_min(next, t->deadline);
            if (t->kill_at)
                next = s_min(next, t->kill_at);
            if (node->agent->sig_fd < 0)
                next = s_min(next, now + 50); /* no SIGCHLD: poll */
        } else {
            if (!t->drain_until)
                t->drain_until = now + S_DRAIN_MS;
            s_pump(node, t, RUNTIME_PROCESS_STDOUT, 64);
            s_pump(node, t, RUNTIME_PROCESS_STDERR, 64);
            if (!runtime_process_done(t->proc) && now >= t->drain_until) {
                log_warn("job %" PRIu64 " attempt %u on node %s: output still "
                         "open %d ms after exit; closing it",
                         t->job_id, t->attempt, node->name, S_DRAIN_MS);
                runtime_process_close_output(t->proc);
            }
            if (runtime_process_done(t->proc)) {
                int code = 0, sig = 0;
                if (runtime_process_status(t->proc, &code, &sig) < 0)
                    code = -1;
                s_task_complete(node, t, code, sig);
            } else {
                next = s_min(next, t->drain_until);
            }
        }
    }
    if (t->pending) {
        if (now >= t->resend_at) {
            s_send_update(node, t);
            t->resend_at = now + S_RESEND_MS;
        }
        next = s_min(next, t->resend_at);
    }
    return next;
}

static int64_t s_tick_node(node_t *node, int64_t now)
{
    agent_t *a = node->agent;
    int64_t next = S_NO_TIMER;
    if (!node->sock)
        return next;
    if (!node->registered) {
        if (now >= node->next_register && !a->docker_hold)
            s_send_register(node);
        next = s_min(next, node->next_register);
    } else {
        if (now >= node->next_hb) {
            s_send_heartbeat(node);
            node->next_hb += a->hb_ms;
            if (node->next_hb <= now)
                node->next_hb = now + a->hb_ms;
        }
        next = s_min(next, node->next_hb);
    }
    int live = 0;
    for (task_t *t = node->tasks; t; t = t->next) {
        next = s_min(next, s_tick_task(node, t, now));
        live += t->live;
    }
    if (node->leaving) {
        if (!live && !node->leave_ack_deadline)
            node->leave_ack_deadline = now + S_LEAVE_ACK_MS;
        if ((!live && !node->tasks) ||
            (node->leave_ack_deadline && now >= node->leave_ack_deadline)) {
            s_node_gone(node);
            return S_NO_TIMER;
        }
        if (now >= node->leave_hard_deadline) {
            log_warn("node %s: tasks did not end in time; leaving anyway",
                     node->name);
            s_node_gone(node);
            return S_NO_TIMER;
        }
        next = s_min(next, node->leave_hard_deadline);
        if (node->leave_ack_deadline)
            next = s_min(next, node->leave_ack_deadline);
    }
    return next;
}

static int64_t s_tick_sim(agent_t *a, int64_t now)
{
    sim_timer_t tm;
    while (sim_heap_peek(a->heap, &tm) == 0 && tm.at_ms <= now) {
        if (sim_heap_pop(a->heap, &tm) < 0)
            break;
        if (tm.node >= a->n_nodes)
            continue;
        node_t *node = &a->nodes[tm.node];
        task_t *t = s_task_find(node, tm.job_id, tm.attempt);
        if (t && t->live && t->hollow && node->sock)
            s_task_complete(node, t, 0, 0);
    }
    return sim_heap_peek(a->heap, &tm) == 0 ? tm.at_ms : S_NO_TIMER;
}

/* ---- the loop
 * ------------------------------------------------------------------ */

static void s_item_add(agent_t *a, size_t *n, void *sock, int fd, s_ref_t ref)
{
    if (*n == a->items_cap) {
        a->items_cap = a->items_cap ? a->items_cap * 2 : 64;
        a->items = dr_realloc(a->items, a->items_cap * sizeof *a->items);
        a->refs = dr_realloc(a->refs, a->items_cap * sizeof *a->refs);
    }
    a->items[*n] = (zmq_pollitem_t){sock, fd, ZMQ_POLLIN, 0};
    a->refs[*n] = ref;
    (*n)++;
}

static void s_read_signals(agent_t *a)
{
    char buf[64];
    ssize_t n;
    while ((n = read(a->sig_fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == 'T')
                agent_shutdown(a, "signal");
    }
}

int agent_step(agent_t *self, int max_wait_ms)
{
    if (self->n_gone == self->n_nodes)
        return 1;
    int64_t now = dr_mono_ms();
    if (self->simulate && now - self->last_pass < S_SIM_PASS_MS) {
        /* Batch the work of many hollow nodes into fewer passes. */
        int64_t pause = S_SIM_PASS_MS - (now - self->last_pass);
        if (max_wait_ms >= 0 && pause > max_wait_ms)
            pause = max_wait_ms;
        usleep((useconds_t)pause * 1000);
        now = dr_mono_ms();
    }
    self->last_pass = now;
    int64_t next = S_NO_TIMER;
    self->docker_hold = s_docker_tick_agent(self, now, &next);
    for (size_t i = 0; i < self->n_nodes; i++)
        next = s_min(next, s_tick_node(&self->nodes[i], now));
    if (self->simulate)
        next = s_min(next, s_tick_sim(self, now));
    next = s_min(next, s_tick_sev(self, now));
    if (self->ident)
        next = s_min(next, msi_tick(self->ident, now));
    if (self->n_gone == self->n_nodes)
        return 1;

    size_t n = 0;
    for (size_t i = 0; i < self->n_nodes; i++) {
        node_t *node = &self->nodes[i];
        if (!node->sock)
            continue;
        s_item_add(self, &n, node->sock, 0, (s_ref_t){S_REF_NODE, node, 0, 0});
        for (task_t *t = node->tasks; t; t = t->next) {
            for (int s = 0; t->proc && s < 2; s++) {
                int fd = runtime_process_fd(t->proc, s);
                if (fd >= 0)
                    s_item_add(self, &n, NULL, fd,
                               (s_ref_t){S_REF_PIPE, node, t, s});
            }
            for (size_t k = 0; t->launch_srv && k < mpi_srv_nfds(t->launch_srv);
                 k++) {
                int want_r = 0, want_w = 0;
                int fd = mpi_srv_fd(t->launch_srv, k, &want_r, &want_w);
                s_item_add(self, &n, NULL, fd,
                           (s_ref_t){S_REF_LAUNCH, node, t, 0});
                self->items[n - 1].events = (short)((want_r ? ZMQ_POLLIN : 0) |
                                                    (want_w ? ZMQ_POLLOUT : 0));
            }
        }
    }
    if (self->sig_fd >= 0)
        s_item_add(self, &n, NULL, self->sig_fd,
                   (s_ref_t){S_REF_SIG, NULL, NULL, 0});

    for (size_t i = 0; self->docker && i < runtime_docker_nfds(self->docker);
         i++) {
        int want_r = 0, want_w = 0;
        int fd = runtime_docker_fd(self->docker, i, &want_r, &want_w);
        s_item_add(self, &n, NULL, fd, (s_ref_t){S_REF_DOCKER, NULL, NULL, 0});
        self->items[n - 1].events =
            (short)((want_r ? ZMQ_POLLIN : 0) | (want_w ? ZMQ_POLLOUT : 0));
    }
    if (self->docker)
        next = s_min(next, runtime_docker_timer(self->docker));
    for (size_t i = 0; self->sev && i < sched_events_nfds(self->sev); i++) {
        int want_r = 0, want_w = 0;
        int fd = sched_events_fd(self->sev, i, &want_r, &want_w);
        s_item_add(self, &n, NULL, fd, (s_ref_t){S_REF_SEV, NULL, NULL, 0});
        self->items[n - 1].events =
            (short)((want_r ? ZMQ_POLLIN : 0) | (want_w ? ZMQ_POLLOUT : 0));
    }

    for (size_t i = 0; self->ident && i < msi_nfds(self->ident); i++) {
        int want_r = 0, want_w = 0;
        int fd = msi_fd(self->ident, i, &want_r, &want_w);
        s_item_add(self, &n, NULL, fd, (s_ref_t){S_REF_IDENT, NULL, NULL, 0});
        self->items[n - 1].events =
            (short)((want_r ? ZMQ_POLLIN : 0) | (want_w ? ZMQ_POLLOUT : 0));
    }

    now = dr_mono_ms();
    int64_t wait = next == S_NO_TIMER ? max_wait_ms : next - now;
    if (wait < 0)
        wait = 0;
    if (max_wait_ms >= 0 && wait > max_wait_ms)
        wait = max_wait_ms;
    int rc = zmq_poll(self->items, (int)n, (long)wait);
    if (rc < 0) {
        if (errno == EINTR)
            return 0;
        log_warn_errno("zmq_poll");
        return DR_EIO;
    }
    /* Docker first: its answers only change container states. */
    for (size_t i = 0; i < n && rc > 0; i++) {
        zmq_pollitem_t *it = &self->items[i];
        if (self->refs[i].kind == S_REF_DOCKER && it->revents)
            runtime_docker_on_fd(self->docker, it->fd,
                                 !!(it->revents & (ZMQ_POLLIN | ZMQ_POLLERR)),
                                 !!(it->revents & ZMQ_POLLOUT));
    }
    if (self->docker && dr_mono_ms() >= runtime_docker_timer(self->docker))
        runtime_docker_on_timer(self->docker);
    /* The poller checks its sockets itself; a Preempt stops tasks but
     * frees none, so the pipe refs below stay valid. */
    (void)s_tick_sev(self, dr_mono_ms());
    /* Pipes first: handling messages may free tasks the refs point at. */
    for (size_t i = 0; i < n && rc > 0; i++) {
        s_ref_t *r = &self->refs[i];
        if (r->kind == S_REF_PIPE &&
            (self->items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
            s_pump(r->node, r->task, r->stream, S_PUMP_BATCH);
    }
    /* Launch requests too: messages may free the tasks. */
    for (size_t i = 0; i < n && rc > 0; i++) {
        s_ref_t *r = &self->refs[i];
        zmq_pollitem_t *it = &self->items[i];
        if (r->kind == S_REF_LAUNCH && it->revents && r->task->launch_srv) {
            s_launch_ctx_t x = {r->node, r->task};
            mpi_srv_on_fd(r->task->launch_srv, it->fd,
                          !!(it->revents & (ZMQ_POLLIN | ZMQ_POLLERR)),
                          !!(it->revents & ZMQ_POLLOUT), s_launch_request, &x);
        }
    }
    /* Token requests before the node's messages: a reply in this pass
     * then finds its connection waiting. */
    for (size_t i = 0; i < n && rc > 0; i++) {
        zmq_pollitem_t *it = &self->items[i];
        if (self->refs[i].kind == S_REF_IDENT && it->revents)
            msi_on_fd(self->ident, it->fd,
                      !!(it->revents & (ZMQ_POLLIN | ZMQ_POLLERR)),
                      !!(it->revents & ZMQ_POLLOUT));
    }
    for (size_t i = 0; i < n && rc > 0; i++) {
        s_ref_t *r = &self->refs[i];
        if (r->kind == S_REF_SIG && self->items[i].revents)
            s_read_signals(self);
    }
    for (size_t i = 0; i < n && rc > 0; i++) {
        s_ref_t *r = &self->refs[i];
        if (r->kind == S_REF_NODE && (self->items[i].revents & ZMQ_POLLIN))
            s_recv_node(r->node);
    }
    return self->n_gone == self->n_nodes ? 1 : 0;
}

int agent_run(agent_t *self)
{
    for (;;) {
        int rc = agent_step(self, 1000);
        if (rc < 0)
            return rc;
        if (rc > 0)
            return 0;
    }
}

void agent_shutdown(agent_t *self, const char *reason)
{
    for (size_t i = 0; i < self->n_nodes; i++)
        s_node_leave(&self->nodes[i], reason);
}

void agent_set_signal_fd(agent_t *self, int fd)
{
    self->sig_fd = fd;
}

/* ---- construction
 * ------------------------------------------------------------- */

static void s_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        log_warn_errno("getrlimit");
        return;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_warn_errno("setrlimit NOFILE");
    }
}

static int s_setopt_int(void *sock, int opt, int v, const char *what)
{
    if (zmq_setsockopt(sock, opt, &v, sizeof v) < 0) {
        log_error("zmq_setsockopt %s: %s", what, zmq_strerror(errno));
        return DR_EIO;
    }
    return 0;
}

static void *s_open_socket(agent_t *a, const char *name)
{
    void *s = zmq_socket(a->ctx, ZMQ_DEALER);
    if (!s) {
        log_error("node %s: zmq_socket: %s", name, zmq_strerror(errno));
        return NULL;
    }
    int64_t maxmsg = DR_MAX_MSG_BYTES;
    if (zmq_setsockopt(s, ZMQ_ROUTING_ID, name, strlen(name)) < 0 ||
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) < 0 ||
        s_setopt_int(s, ZMQ_LINGER, 500, "LINGER") < 0 ||
        s_setopt_int(s, ZMQ_SNDHWM, 100000, "SNDHWM") < 0 ||
        s_setopt_int(s, ZMQ_RCVHWM, 100000, "RCVHWM") < 0 ||
        s_setopt_int(s, ZMQ_RECONNECT_IVL, 200, "RECONNECT_IVL") < 0 ||
        s_setopt_int(s, ZMQ_RECONNECT_IVL_MAX, 2000, "RECONNECT_IVL_MAX") < 0) {
        log_error("node %s: socket options: %s", name, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (a->cfg->key_file &&
        keys_apply_client(s, &a->cfg->keys, a->cfg->server_z85) < 0) {
        log_error("node %s: CURVE options: %s", name, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (zmq_connect(s, a->cfg->scheduler) < 0) {
        log_error("node %s: connect %s: %s", name, a->cfg->scheduler,
                  zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

agent_t *agent_new(const agent_cfg_t *cfg)
{
    agent_t *self = dr_calloc(1, sizeof *self);
    self->cfg = cfg;
    if (!cfg->key_file)
        log_warn("%s: no --key: connecting without CURVE; only a scheduler "
                 "started with --insecure accepts that (loopback debugging)",
                 cfg->insecure ? "INSECURE" : "WARNING");
    self->sig_fd = -1;
    self->hb_ms = cfg->heartbeat_ms;
    self->simulate = cfg->simulate > 0;
    self->n_nodes = self->simulate ? (size_t)cfg->simulate : 1;
    self->chunk = dr_malloc(S_CHUNK);
    self->heap = sim_heap_new();
    self->started_at = dr_mono_ms();
    if (!self->simulate) {
        self->docker = runtime_docker_new(
            cfg->docker_socket ? cfg->docker_socket : "/var/run/docker.sock");
        if (!self->docker)
            goto fail;
    }
    static const char *keep[3] = {"PATH", "HOME", "LANG"};
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(keep[i]);
        if (v)
            self->base_env[i] = dr_asprintf("%s=%s", keep[i], v);
    }
    char gerr[512];
    if (gpu_new(cfg->gpu_inventory, NULL, cfg->name, &self->gpu, gerr,
                sizeof gerr) < 0) {
        log_error("gpu: --gpu-inventory: %s", gerr);
        goto fail;
    }
    if (gpu_reason(self->gpu))
        log_info("gpu: %s", gpu_reason(self->gpu));
    else
        log_info("gpu: %zu GPU(s) from %s", gpu_list(self->gpu)->count,
                 gpu_source(self->gpu));
    self->ctx = zmq_ctx_new();
    if (!self->ctx) {
        log_error("zmq_ctx_new: %s", zmq_strerror(errno));
        goto fail;
    }
    if (self->simulate) {
        s_raise_nofile();
        if (zmq_ctx_set(self->ctx, ZMQ_MAX_SOCKETS, (int)self->n_nodes + 64) <
                0 ||
            zmq_ctx_set(self->ctx, ZMQ_IO_THREADS,
                        self->n_nodes > 200 ? 2 : 1) < 0) {
            log_error("zmq_ctx_set: %s", zmq_strerror(errno));
            goto fail;
        }
    }
    self->nodes = dr_calloc(self->n_nodes, sizeof *self->nodes);
    int64_t now = dr_mono_ms();
    for (size_t i = 0; i < self->n_nodes; i++) {
        node_t *node = &self->nodes[i];
        node->agent = self;
        node->index = i;
        node->name = self->simulate ? dr_asprintf("%s-%zu", cfg->name, i)
                                    : dr_strdup(cfg->name);
        /* First Register of N nodes spread over one second. */
        node->next_register = now + (int64_t)(i * 1000 / self->n_nodes);
    }
    for (size_t i = 0; i < self->n_nodes; i++) {
        self->nodes[i].sock = s_open_socket(self, self->nodes[i].name);
        if (!self->nodes[i].sock)
            goto fail;
    }
    if (!self->simulate) {
        /* OpenMPI session dirs of tasks a killed agent left behind: the
         * process runtime's tasks did not survive it */
        char *pat = dr_asprintf("/tmp/drover-mpi.%s.*", self->nodes[0].name);
        glob_t g;
        if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
            for (size_t k = 0; k < g.gl_pathc; k++)
                if (dr_rmtree(g.gl_pathv[k]) < 0)
                    log_warn_errno("cannot remove %s", g.gl_pathv[k]);
            globfree(&g);
        }
        free(pat);
        self->ident = msi_new(0, s_ident_ask, &self->nodes[0]);
        if (!self->ident)
            goto fail;
    }
    if (cfg->scheduled_events_url && !self->simulate) {
        self->sev =
            sched_events_new(cfg->scheduled_events_url, self->nodes[0].name,
                             cfg->scheduled_events_interval_ms);
        if (!self->sev)
            goto fail;
    }
    log_info("agent %s: %zu node(s) connecting to %s", cfg->name, self->n_nodes,
             cfg->scheduler);
    return self;
fail:
    agent_destroy(&self);
    return NULL;
}

void agent_destroy(agent_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    agent_t *self = *self_p;
    for (size_t i = 0; self->nodes && i < self->n_nodes; i++) {
        node_t *node = &self->nodes[i];
        while (node->tasks) {
            task_t *t = node->tasks;
            node->tasks = t->next;
            s_task_free(&t); /* SIGKILLs and reaps a process still running */
        }
        if (node->sock)
            zmq_close(node->sock);
        free(node->name);
    }
    free(self->nodes);
    sched_events_destroy(&self->sev);
    msi_destroy(&self->ident);
    runtime_docker_destroy(&self->docker); /* after the tasks' removals */
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    sim_heap_destroy(&self->heap);
    gpu_destroy(&self->gpu);
    for (int i = 0; i < 3; i++)
        free(self->base_env[i]);
    free(self->items);
    free(self->refs);
    free(self->chunk);
    free(self);
    *self_p = NULL;
}
