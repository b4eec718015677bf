/* sched_core.h - the scheduler's in-memory model and its one event loop.
 *
 * sched_t owns everything the daemon holds: the store, both ROUTER sockets,
 * the clusters (each with its nodes and its queue of waiting jobs), the
 * active jobs (queued, starting, running) indexed by id, the outboxes and
 * the providers.  Finished jobs live only in the store.
 *
 * Invariants:
 *  - a job is in exactly one place: its cluster's queue (queued) or bound
 *    to a node (starting, running); finished jobs are not in memory;
 *  - a node's cpus_used / memory_used are the sum of its jobs' requests;
 *  - nothing leaves through a socket before the store committed the state
 *    it reports (replies and agent commands wait in the outboxes until the
 *    end of the loop pass).
 */
#ifndef DR_SCHED_H
#define DR_SCHED_H

#include "catalog.h"
#include "dict.h"
#include "store.h"
#include "wire.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cluster cluster_t;
typedef struct node node_t;
typedef struct job job_t;
typedef struct queue queue_t;
typedef struct sched sched_t;
typedef struct provider provider_t;

typedef enum {
    JOB_QUEUED,
    JOB_STARTING,
    JOB_RUNNING,
    JOB_SUCCEEDED,
    JOB_FAILED,
    JOB_CANCELED,
} job_state_t;

#define DR_MAX_GPUS 64
/* Nodes of one multi-node (gang) job. */
#define DR_MAX_JOB_NODES 32

/* Runtimes a node's agent offers (Register.runtimes). */
enum { RT_PROCESS = 1, RT_DOCKER = 2 };

/* One GPU of a node as its agent last reported it, and who holds it. */
typedef struct {
    uint32_t index;
    char uuid[96];
    char name[96];
    uint64_t memory_total_mb;
    uint64_t memory_used_mb;
    uint32_t utilization_gpu;
    uint32_t utilization_memory;
    int32_t temperature_c;
    uint32_t power_mw;
    uint32_t power_limit_mw;
    uint64_t ecc_uncorrected;
    int healthy;
    job_t *holder; /* the job it is assigned to, or NULL */
} node_gpu_t;

typedef enum {
    NODE_PREPARING, /* asked of the provider, not registered yet */
    NODE_READY,     /* registered; idle or running by its task count */
    NODE_LEAVING,   /* draining for scale-in / delete: takes no work */
    NODE_UNKNOWN,   /* loaded after a restart, waiting to re-register */
} node_state_t;

/* One node's share of a bound job: a single-node job has one, a gang one
 * per node in rank order (rank 0, the head, first). */
typedef struct {
    node_t *node;
    uint32_t gpu_idx[DR_MAX_GPUS]; /* GPU indices held on that node */
    uint32_t n_gpu_idx;
    uint64_t out_off[2]; /* output bytes stored per stream this attempt */
    int running;         /* its agent reported RUNNING */
    int started;         /* its TaskStart was sent this attempt */
    int ended;           /* it exited 0 (a worker whose part is done) */
} job_task_t;

const char *job_state_name(job_state_t s);
int job_state_parse(const char *s, job_state_t *out);
int job_state_terminal(job_state_t s);

struct job {
    uint64_t id;
    char *name;
    cluster_t *cluster;
    job_state_t state;
    int priority;
    uint32_t cpus;
    uint64_t memory_mb;
    uint32_t nodes;
    uint32_t procs_per_node;
    uint32_t gpus;
    uint32_t max_retries;
    uint32_t time_limit_s;
    uint32_t attempts;
    int exit_code;
    int has_exit_code;
    char *reason;
    char *owner;
    int64_t submitted_at_ms;
    int64_t started_at_ms;
    int64_t ended_at_ms;
    uint8_t *spec; /* packed Drover__Job: argv, env, image */
    size_t spec_len;
    job_task_t *tasks; /* while starting / running: one per node, owned */
    uint32_t ntasks;   /* 0 while queued, else nodes */
    int mpi;           /* distribution mpi: the head runs mpirun */
    char *fail_reason; /* a worker failed: the job fails when mpirun ends */
    int64_t fail_at;   /* ... or at this mono ms, whichever comes first */
    int cancel_requested;
    int64_t start_deadline; /* mono ms: give up waiting for RUNNING */
    uint64_t tail_off[2];   /* preempted: offsets of the attempt's tail */
    int has_image;          /* runs in a container: needs RT_DOCKER */
    char *gpu_assign; /* "index=uuid,...;..." per node this attempt, or NULL */
    uint32_t preemptions; /* requeues caused by preemption: not failures */
    /* queue links (queue.c) */
    job_t *q_prev, *q_next;
    void *q_level;
};

struct node {
    char name[64];
    cluster_t *cluster;
    node_state_t state;
    uint32_t cpus;
    uint64_t memory_mb;
    uint32_t cpus_used;
    uint64_t memory_used_mb;
    job_t **jobs; /* bound jobs (borrowed; owned by sched->jobs) */
    size_t njobs, jobs_cap;
    int64_t last_seen;    /* mono ms */
    int64_t idle_since;   /* mono ms, when njobs became 0 */
    int64_t requested_at; /* mono ms, when the provider was asked */
    int64_t created_at_ms;
    int pid;
    uint32_t load_milli;
    uint64_t reported_mem_used_mb;
    char vm_size[64];
    unsigned runtimes;  /* RT_* bits */
    int preempted;      /* leaving because it was preempted */
    uint64_t resv_job;  /* held for a waiting gang job (placement.c) */
    int64_t resv_until; /* wall ms it is expected free; INT64_MAX: unknown */
    node_gpu_t *gpus;   /* ngpus of them, owned; NULL for CPU nodes */
    uint32_t ngpus;
};

struct cluster {
    store_cluster_t cfg;
    const vm_size_t *vm;
    node_t **nodes;
    size_t nnodes, nodes_cap;
    queue_t *queue;
    provider_t *provider;
    int dirty; /* capacity grew: the next pass starts from the head */
    /* shapes (cpus, memory) that found no node since capacity last grew */
    struct {
        uint32_t cpus;
        uint64_t memory_mb;
        uint32_t gpus;
        int has_image;
    } blocked[8];
    int nblocked;
    int resv_done; /* this pass held nodes for a waiting gang */
    int target_nodes;
    int64_t last_scale_out;  /* mono ms */
    char wait_reason[160];   /* why pending work gets no nodes, or "" */
    int create_failures;     /* in a row, since a node last registered */
    int64_t scale_out_after; /* mono ms: backoff after a failed create */
    uint64_t node_seq;
    cluster_t *next;
};

/* Options of the daemon (config.c fills them in). */
typedef struct {
    char state_dir[1024];
    char client_endpoint[256];
    char agent_endpoint[256];
    char agent_connect[256]; /* what local agents connect to */
    char agent_bin[1024];
    char vm_catalog[1024];
    char config_file[1024];
    char scheduled_events_url[512];
    int heartbeat_interval_ms;
    int heartbeat_timeout_ms;
    int autoscale_interval_ms;
    int start_timeout_ms;
    int resume_timeout_ms;
    int grace_ms;
    int log_level;
    int insecure; /* no CURVE: loopback debugging only */
    int identity_ttl_ms;
} sched_opts_t;

typedef struct {
    char user[64]; /* principal name ("" when --insecure for clients) */
    int admin;
} req_ctx_t;

typedef struct {
    char *rid; /* NULL: none (never for ROUTER outboxes) */
    uint8_t *data;
    size_t len;
} outmsg_t;

typedef struct {
    outmsg_t *msgs;
    size_t n, cap;
} outbox_t;

#define DR_MAX_PREEMPTIONS 20
/* How long mpirun has to notice a failed worker and report it itself
 * (its diagnostics are worth keeping) before the job is ended anyway. */
#define DR_MPI_FAIL_GRACE_MS 10000

typedef struct {
    char family[64];
    int64_t dedicated;   /* cores; -1 = no limit */
    int64_t lowpriority; /* cores; -1 = no limit */
} quota_t;

struct sched {
    sched_opts_t opts;
    store_t *store;
    catalog_t *catalog;
    void *zctx;
    void *agent_sock;
    void *client_sock;
    cluster_t *clusters;
    dict_t *jobs;      /* id -> job_t* (owned) */
    dict_t *nodes;     /* name -> node_t* (owned) */
    provider_t *local; /* the local provider, shared by its clusters */
    quota_t *quotas;
    size_t nquotas;
    int poll_cap_ms; /* providers with transfers in flight: -1 = none */
    struct auth *auth;
    struct identity *identity; /* managed identities' token signer */
    /* the message being dispatched: who sent it (set by the loop) */
    req_ctx_t req;
    outbox_t agent_out;
    outbox_t client_out;
    int64_t next_hb_check;
    int64_t next_autoscale;
    int64_t next_checkpoint;
    uint64_t passes;
    int stopping;
};

/* Life cycle (sched.c). */
sched_t *sched_new(const sched_opts_t *opts);
void sched_destroy(sched_t **self_p);
/* Runs the loop until *stop becomes non-zero; wake_fd (or -1) is polled
 * so that a signal handler can interrupt the wait. */
int sched_run(sched_t *self, volatile sig_atomic_t *stop, int wake_fd);
/* One pass of the loop with the given poll timeout (tests drive this). */
int sched_run_once(sched_t *self, int timeout_ms, int wake_fd);

/* Outboxes: queue an envelope to a peer; sent after the pass commits. */
void sched_reply_client(sched_t *self, const char *rid, const dr_env_t *env);
void sched_send_agent(sched_t *self, const char *node, const dr_env_t *env);
void sched_client_error(sched_t *self, const char *rid, uint64_t req, int code,
                        const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void sched_agent_error(sched_t *self, const char *rid, uint64_t req, int code,
                       const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Model operations (sched.c). */
cluster_t *sched_cluster_find(sched_t *self, const char *name);
node_t *sched_node_find(sched_t *self, const char *name);
job_t *sched_job_find(sched_t *self, uint64_t id);
int sched_cluster_add(sched_t *self, const store_cluster_t *cfg,
                      cluster_t **out);
void sched_cluster_remove(sched_t *self, cluster_t *c);
node_t *sched_node_add(sched_t *self, cluster_t *c, const char *name,
                       node_state_t state);
void sched_node_remove(sched_t *self, node_t *n, const char *why);
/* Persists a job's mutable columns. */
int sched_job_save(sched_t *self, job_t *j);
/* Ends a job (terminal state): unbinds, persists, frees it. */
void sched_job_finish(sched_t *self, job_t *j, job_state_t st, int has_exit,
                      int exit_code, const char *reason);
/* Requeues a starting/running job after a node failure: attempt+1, or
 * fails it when max_retries is spent. */
void sched_job_requeue(sched_t *self, job_t *j, const char *why);
/* The same after a preemption: counted apart from failures, with its own
 * cap (DR_MAX_PREEMPTIONS). */
void sched_job_requeue_preempted(sched_t *self, job_t *j, const char *why);
/* A node is being preempted: its jobs are requeued, it is released. */
void sched_node_preempted(sched_t *self, node_t *n, const char *why);
/* Quota of a VM family (-1 = none) and the cores its nodes use now. */
int64_t sched_quota_limit(const sched_t *self, const char *family,
                          int lowpriority);
int64_t sched_cores_used(const sched_t *self, const char *family,
                         int lowpriority);
int sched_quota_set(sched_t *self, const char *family, int64_t cores,
                    int lowpriority);
/* Binds a queued job to its nodes (rank order) and sends TaskStart
 * (placement.c calls it). */
int sched_job_start(sched_t *self, job_t *j, node_t *const *nodes,
                    uint32_t count);
void sched_node_unbind(node_t *n, job_t *j);
/* The task of a bound job on node n, or NULL. */
job_task_t *job_task_on(job_t *j, const node_t *n);
/* Rank 0's node of a bound job, or NULL. */
node_t *job_head(const job_t *j);
/* Sends the TaskStarts a bound job's tasks still need (not sent this
 * attempt; clear `started` to send one again): all at once, but an MPI
 * head only when every other node's task is running (the readiness
 * barrier). */
void sched_job_send_starts(sched_t *self, job_t *j);
/* A job's row as the store sees it (shallow: strings borrowed from j). */
void sched_job_row(const job_t *j, store_job_t *row);
/* Asks the agents of a job's nodes to stop its tasks (all but those
 * that already ended). */
void sched_task_cancel(sched_t *self, job_t *j, const char *reason);
/* No task and not held for a waiting gang: scale-in may take it. */
int node_is_idle(const node_t *n);
/* Healthy GPUs of n that no job holds. */
uint32_t node_free_gpus(const node_t *n);
/* Replaces a node's GPU list with a report, keeping assignments by index;
 * jobs holding a GPU that vanished or turned unhealthy are requeued. */
void sched_node_set_gpus(sched_t *self, node_t *n, Drover__GpuInfo **gpus,
                         size_t ngpus);
const char *node_state_name(const node_t *n);

#endif
