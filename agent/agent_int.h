/* agent_int.h - the node agent's private header (OpenBSD ntpd style): the
 * types its files share and the functions they call in one another.
 *
 * Only the agent's .c files include it; agent.h stays the public, opaque
 * face.  The files sit in layers, each calling only those below it: the
 * runtimes behind task_runtime.h (process, docker, hollow) and the
 * services (msi, mpi, gpu, sched_events) at the bottom; task.c (the task
 * table: states, reports, output, the one time-limit / grace / drain
 * path) above them; then task_mpi.c (MPI glue), task_start.c (TaskStart,
 * MpiLaunch), session.c (register, heartbeat, leave, the handler table),
 * node_docker.c (availability, adoption) and agent.c (the loop) on top.
 * Nothing here blocks.
 */
#ifndef DR_AGENT_INT_H
#define DR_AGENT_INT_H

#include "agent.h"
#include "dr_err.h"
#include "envv.h"
#include "evloop.h"
#include "gpu.h"
#include "lease.h"
#include "log.h"
#include "mpi.h"
#include "msi.h"
#include "runtime_docker.h"
#include "sched_events.h"
#include "task_runtime.h"
#include "util.h"
#include "wire.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <zmq.h>

#define AGENT_CHUNK (64 * 1024)
#define AGENT_REGISTER_RETRY_MS 2000
/* A Register refused because another live agent holds the node name: the
 * first retry after this long, doubling up to the max */
#define AGENT_REFUSED_RETRY_MS 5000
#define AGENT_REFUSED_RETRY_MAX_MS 60000
/* messages about work held until the first RegisterAck, at most */
#define AGENT_HELD_MAX 1024
#define AGENT_RESEND_MS 1000
#define AGENT_DRAIN_MS 2000
#define AGENT_LEAVE_ACK_MS 5000
#define AGENT_RECV_BATCH 64
#define AGENT_PUMP_BATCH 4
#define AGENT_MAX_ARGV 1024
#define AGENT_MAX_ENV 4096
#define AGENT_MAX_ARG_BYTES (1u << 20)
#define AGENT_NO_TIMER INT64_MAX
/* With --simulate, at most one loop pass per this many ms: polling a
 * thousand sockets per message would cost more than the messages. */
#define AGENT_SIM_PASS_MS 10
/* NVML is asked again at most this often (N simulated nodes share it). */
#define AGENT_GPU_REFRESH_MS 1000

/* The order in which one pass handles what is ready: dockerd's answers
 * first (they only change container states), then task output, launch
 * requests, token requests, signals, and the node's messages last, since
 * handling them may free tasks.  The tick runs after everything. */
enum {
    AGENT_PRIO_DOCKER = DR_LOOP_PRIO_FIRST,
    AGENT_PRIO_SEV,
    AGENT_PRIO_PIPES,
    AGENT_PRIO_LAUNCH,
    AGENT_PRIO_IDENT,
    AGENT_PRIO_SIGNAL,
    AGENT_PRIO_NODE = DR_LOOP_PRIO_LAST,
    AGENT_PRIO_TICK,
};
typedef Drover__TaskState task_state_t;
#define TASK_ST(x) DROVER__TASK_STATE__TASK_##x

typedef struct task task_t;
typedef struct node node_t;

struct task {
    task_t *next;
    node_t *node; /* the node whose table holds it */
    uint64_t job_id;
    uint32_t attempt;
    uint32_t cpus;
    uint64_t memory_mb;
    uint64_t time_limit_ms; /* 0 = none */
    task_state_t state;     /* last state reported to the scheduler */
    int pending;            /* that report is not acked yet */
    int64_t resend_at;
    int exit_code;
    int term_signal;
    char *reason; /* of the last report, NULL = none */
    int64_t started_at_ms;
    int64_t ended_at_ms;
    int live;      /* running, or exited and draining its output */
    task_rt_t *rt; /* its program, until it completes (NULL: none yet) */
    int end_set;   /* cancel / time limit decided the outcome */
    int timed_out; /* ... the time limit did */
    task_state_t end_state;
    char *end_reason;
    int64_t deadline;     /* time limit, monotonic; 0 = none */
    int64_t kill_at;      /* SIGKILL after the grace; 0 = none */
    int64_t drain_until;  /* once exited: close its output after this */
    int output_closed;    /* ... and it was */
    uint64_t offset[2];   /* bytes sent per stream */
    dr_loop_id_t out_reg; /* its output fds in the loop, 0 = none */
    int has_secret;       /* its IDENTITY_HEADER is known to a->ident */
    /* multi-node MPI (mpi.h) */
    int mpi_worker;     /* waits for mpirun's launch of orted */
    uint8_t *start_msg; /* a worker's packed TaskStart, for the launch */
    size_t start_len;
    uint64_t launch_id;      /* the launch this worker runs, 0 = none */
    mpi_srv_t *launch_srv;   /* the head: drover-launch's requests */
    dr_loop_id_t launch_reg; /* ... in the loop */
    mpi_tagger_t *tagger;    /* the head: rank tags -> node names */
    char *mpi_tmp;           /* OpenMPI's session dirs, removed with the task */
    dr_buf_t tagged;         /* the tagger's output, reused */
    /* its files (task_files.c) */
    char *files_dir;     /* the task dir, once prepared; NULL: none */
    int outputs_done;    /* outputs/ was packed (or found missing) */
    dr_buf_t outputs;    /* ... into this gzip tar */
    char *outputs_error; /* ... or why not */
};

struct node {
    agent_t *agent;
    size_t index;
    char *name;
    void *sock; /* NULL once the node has left */
    dr_loop_id_t sock_reg;
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
    int preempted;     /* NodePreempted sent: tasks were told to stop */
    lease_t *lease;    /* its lease on its tasks; NULL for hollow nodes */
    uint32_t lease_ms; /* as the scheduler announced it; 0: none */
    int fenced;        /* the lease ran out and its tasks were killed */
    /* one node name, one live agent (session.c) */
    uint64_t register_rid; /* request id of the last Register sent */
    int accepted;          /* a Register of this process was acked */
    int refused;           /* disconnected after a refusal, until the retry */
    int64_t refused_backoff_ms;
    int64_t last_heard;     /* mono ms of the last message received */
    int64_t last_reconnect; /* mono ms of the last reconnect (s_mute) */
    dr_env_t **held;        /* work that came before the first ack (owned) */
    size_t nheld;
    /* several schedulers (--scheduler A,B,...): the entry this node talks
     * to, and when it last moved */
    int ep;
    int64_t last_switch;
};

struct agent {
    const agent_cfg_t *cfg;
    void *ctx;
    uint64_t session_id; /* Register.session_id (session_id_init) */
    int session_saved;   /* ... written to the work dir once accepted */
    node_t *nodes;
    size_t n_nodes;
    size_t n_gone;
    int simulate;
    int isolate; /* process tasks get their own PID and mount namespaces */
    int sig_fd;
    int64_t hb_ms;
    size_t n_schedulers; /* endpoints in cfg->scheduler (failover if > 1) */
    dr_loop_t *loop;     /* the reactor everything registers with */
    int tick_due;        /* something happened: run the tick this pass */
    int64_t tick_next;   /* else the tick's next due time */
    dr_loop_id_t sig_reg;
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
/* Something changed: the tick runs at the end of this pass. */
static inline void agent_wake(agent_t *a)
{
    a->tick_due = 1;
}

static inline int task_state_final(task_state_t st)
{
    return st == TASK_ST(EXITED) || st == TASK_ST(FAILED) ||
           st == TASK_ST(CANCELED);
}

static inline void agent_set_str(char **dst, const char *src)
{
    free(*dst);
    *dst = src ? dr_strdup(src) : NULL;
}

static inline int64_t agent_min(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static inline void node_env_init(node_t *node, dr_env_t *env)
{
    wire_env_init(env, ++node->next_rid);
}

/* Sends on the node's socket.  The loop watches it lazily (thousands of
 * simulated nodes): a send may swallow its ZMQ_FD's wake-up, so the loop is
 * told to look at its input in the next pass.  Every send on a node's
 * socket outside its own handler goes through here. */
static inline int node_wire_send(node_t *node, const dr_env_t *env)
{
    int rc = wire_send(node->sock, NULL, env);
    dr_loop_touch(node->agent->loop, node->sock_reg);
    return rc;
}

static inline void node_send(node_t *node, const dr_env_t *env)
{
    if (!node->sock || node->refused)
        return;
    int rc = node_wire_send(node, env);
    if (rc < 0)
        log_warn("node %s: send %s failed: %s", node->name,
                 wire_body_name((int)env->body_case), dr_strerror(rc));
}

/* ---- the task table (task.c): tasks, their reports and output, their end */
task_t *task_add(node_t *node, uint64_t job_id, uint32_t attempt);
void task_complete(node_t *node, task_t *t, int exit_code, int term_signal);
void task_fail(node_t *node, task_t *t, int exit_code, const char *reason);
void task_fill_report(const task_t *t, Drover__TaskReport *r);
task_t *task_find(node_t *node, uint64_t job_id, uint32_t attempt);
void task_forget_secret(node_t *node, task_t *t);
void task_free(task_t **tp);
void task_on_cancel(node_t *node, const dr_env_t *env);
void task_on_update_ack(node_t *node, const dr_env_t *env);
void task_pump(node_t *node, task_t *t, int stream, int batches);
void task_remove(node_t *node, task_t *t);
void task_report(node_t *node, task_t *t, task_state_t st, const char *reason);
void task_send_launch_io(node_t *node, task_t *t, int stream, const char *data,
                         size_t n, int exited, int status, const char *error);
void task_send_output(node_t *node, task_t *t, int stream, const char *data,
                      size_t n);
void task_send_update(node_t *node, task_t *t);
const char *task_state_name(task_state_t st);
void task_stop(node_t *node, task_t *t, task_state_t st, const char *reason,
               int now_kill);
int64_t task_tick(node_t *node, task_t *t, int64_t now);
void task_started(node_t *node, task_t *t, int64_t now, int ended);
void task_watch_output(task_t *t);

/* Every task of a PyTorch or TensorFlow job: drover-launch (copied into
 * the scratch dir in a container) and the tagger of its processes' output
 * (this node's, by rank); the path of the launcher as the task sees it
 * into launcher (malloc'd).  0, or -1 with the reason. */
int task_spawn_prepare(node_t *node, task_t *t, const char *task_dir,
                       int in_container, char **launcher, char *why,
                       size_t whylen);
/* ---- MPI glue (task_mpi.c): hostfile, launch server, MpiLaunch relay */
void task_mpi_on_launch_io(node_t *node, const dr_env_t *env);
int task_mpi_prepare(node_t *node, task_t *t, const Drover__TaskStart *ts,
                     const char *task_dir, int in_container, envv_t *env,
                     char ***head_argv, char *why, size_t whylen);

/* ---- a task's files (task_files.c): prepare makes the task dir,
 * unpacks the job's code into it and makes its output folders (0, or a
 * DR_E* code with why); env adds AZURE_ML_OUTPUT_<NAME> (inner: the task
 * dir as the program sees it); collect packs outputs/ once the task is
 * over; fill puts that into a final TaskUpdate. */
int task_files_prepare(node_t *node, task_t *t, const Drover__TaskStart *ts,
                       const char *task_dir, char *why, size_t cap);
void task_files_env(const Drover__TaskStart *ts, const char *inner,
                    envv_t *env);
void task_files_collect(node_t *node, task_t *t);
void task_files_fill(const task_t *t, Drover__TaskUpdate *up);
void task_files_free(task_t *t);

/* ---- starting tasks (task_start.c) */
void task_start_on_mpi_launch(node_t *node, const dr_env_t *env);
void task_start_on_start(node_t *node, const dr_env_t *env);

/* ---- the session with the scheduler (session.c) */
uint64_t session_id_init(const char *work_dir);
void session_drop_held(node_t *node);
uint64_t session_ident_ask(void *arg, uint64_t job_id, uint32_t attempt,
                           const char *resource);
void session_leave(node_t *node, const char *reason);
void session_recv(node_t *node);
void session_send_register(node_t *node);
int64_t session_tick(node_t *node, int64_t now);
int64_t session_tick_sev(agent_t *a, int64_t now);

/* ---- docker availability and adoption (node_docker.c) */
int node_docker_tick(agent_t *a, int64_t now, int64_t *next);

#endif
