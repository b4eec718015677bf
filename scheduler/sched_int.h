/* sched_int.h - the scheduler daemon's private header (OpenBSD ntpd
 * style): the types its files share and the functions each file offers
 * the others.  Nothing outside scheduler/ (but the white-box unit tests
 * and the fuzzer) includes it.
 *
 * Layers, bottom up; a file calls only into the layers below it, never
 * up, so that there is no circle between files:
 *   services  store.c, dict.c, queue.c, catalog.c, auth.c, identity.c,
 *             provider*.c, outbox.c (the outboxes the loop flushes);
 *   model     index.c (lookups) <- node_mgr.c (nodes as resources) <-
 *             job_data.c (rows, logs, recovery of jobs) <- job_mgr.c (the
 *             job state machine) <- node_life.c (what agents report about
 *             nodes) <- join_mgr.c (join tokens, joining nodes' keys) <-
 *             cluster_mgr.c (clusters, quotas, keys, provider
 *             reports) <- model.c (open, load, close);
 *   policies  placement.c, autoscaler.c: they read the model and call it;
 *   RPC       api_reply.c <- api_clusters.c, api_jobs.c, api_nodes.c,
 *             api_admin.c (one file per resource) <- api_client.c and
 *             api_agent.c (the tables): decode, validate, one model call,
 *             reply;
 *   loop      sched_loop.c: sockets, timers, the pass, the flush.
 *
 * Invariants of the model:
 *  - a job is in exactly one place: its cluster's queue (queued) or bound
 *    to a node (starting, running); finished jobs are not in memory;
 *  - a node's cpus_used / memory_used are the sum of its jobs' requests;
 *  - every change of a job, node or cluster is written through to the
 *    store by the model function that makes it, in the pass's
 *    transaction;
 *  - nothing leaves through a socket before the store committed the state
 *    it reports: the model only queues messages in the outboxes, which the
 *    loop flushes after the commit.
 */
#ifndef DR_SCHED_INT_H
#define DR_SCHED_INT_H

#include "capidx.h"
#include "catalog.h"
#include "dict.h"
#include "gpu_inventory.h"
#include "keys.h"
#include "metrics.h"
#include "outbox.h"
#include "provider.h"
#include "queue.h"
#include "ratelim.h"
#include "sched.h"
#include "store.h"
#include "wire.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cluster cluster_t;
typedef struct node node_t;

typedef enum {
    JOB_QUEUED,
    JOB_STARTING,
    JOB_RUNNING,
    JOB_SUCCEEDED,
    JOB_FAILED,
    JOB_CANCELED,
    JOB_TIMEOUT, /* its time limit ended it (Slurm's TIMEOUT) */
} job_state_t;

#define DR_MAX_GPUS GPU_INVENTORY_MAX
/* PyTorch jobs' MASTER_PORTs on their head node (torchrun's default first)
 * and TensorFlow tasks' ports */
#define DR_TORCH_PORT_BASE 29500
#define DR_TORCH_PORTS 500
/* Nodes of one multi-node (gang) job. */
#define DR_MAX_JOB_NODES 32
/* How long past the heartbeat timeout a silent node is declared lost: its
 * lease (the timeout, counted from before the scheduler last heard from
 * it; agent/lease.h) has ended by then and its tasks are dead. */
#define DR_FENCE_MARGIN_MS 1000
#define DR_MAX_PREEMPTIONS 20
/* How long mpirun has to notice a failed worker and report it itself
 * (its diagnostics are worth keeping) before the job is ended anyway. */
#define DR_MPI_FAIL_GRACE_MS 10000

/* Runtimes a node's agent offers (Register.runtimes). */
enum { RT_PROCESS = 1, RT_DOCKER = 2 };

/* A node's GPUs as its agent last reported them, and who holds each. */
typedef struct {
    gpu_list_t list;
    job_t *holder[DR_MAX_GPUS]; /* of list.gpus[i], or NULL */
} node_gpus_t;

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

/* One term of a --dependency. */
typedef enum { DEP_AFTEROK, DEP_AFTERANY, DEP_AFTERNOTOK } dep_kind_t;
typedef struct {
    dep_kind_t kind;
    uint64_t id;
    int done; /* that job ended and the term holds */
} job_dep_t;

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
    uint64_t time_limit_ms; /* 0 = none */
    uint32_t attempts;
    int exit_code;
    int has_exit_code;
    char *reason;
    char *owner;
    int64_t submitted_at_ms;
    int64_t queued_at_ms; /* this attempt entered the queue (accounting) */
    int64_t started_at_ms;
    int64_t ended_at_ms;
    uint8_t *spec; /* packed Drover__Job: argv, env, image */
    size_t spec_len;
    job_task_t *tasks; /* while starting / running: one per node, owned */
    uint32_t ntasks;   /* 0 while queued, else nodes */
    int mpi;           /* distribution mpi: the head runs mpirun */
    int torch;         /* distribution pytorch: every node spawns its ranks */
    int tf;            /* distribution tensorflow: every node spawns tasks */
    uint32_t tf_workers, tf_ps; /* tensorflow: workers, parameter servers */
    /* --dependency (job_deps.c): held while it does not hold yet */
    job_dep_t *deps;
    size_t ndeps;
    int singleton;
    int held;
    char *hold_reason; /* what it waits for, while held */
    /* job arrays (job_array.c): the array's id (0: not an element), this
     * element's index, and whether it is held by the array's %N */
    uint64_t array_id;
    uint32_t array_task;
    int array_wait;
    /* the ports it holds this attempt, 0 = none: pytorch, MASTER_PORT on
     * the head; tensorflow, the first of its tasks' on every node */
    uint32_t master_port;
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
    char addr[64]; /* what other nodes reach it at (Register.addr), or "" */
    uint32_t load_milli;
    uint64_t reported_mem_used_mb;
    char vm_size[64];
    unsigned runtimes; /* RT_* bits */
    int preempted;     /* leaving because it was preempted */
    int drain;         /* drained (drover node drain): no new tasks */
    int departing;     /* leaving because its agent stops (NodeLeaving): it
                        * may register again (a restart) */
    int joined;        /* registered without its provider creating it (by hand):
                        * never released by scale-in, never deleted by the
                        * provider, and its key outlives a loss */
    uint64_t session;  /* Register.session_id of the agent session that
                        * holds the node; 0 = not known (an older agent, or
                        * none since this scheduler started) */
    int resync;        /* another agent's Register was refused: the rid was
                        * handed over to it for a while, so messages to this
                        * node may be lost; its next message is answered
                        * "register again" (node_registered) */
    uint64_t resv_job; /* held for a waiting gang job (placement.c) */
    int64_t resv_until; /* wall ms it is expected free; INT64_MAX: unknown */
    node_gpus_t *gpus;  /* NULL for nodes that never reported a GPU */
    capidx_link_t cap;  /* its place in its cluster's capidx */
};

struct cluster {
    store_cluster_t cfg;
    const vm_size_t *vm;
    provider_cluster_t pinfo; /* what its provider is told (borrows cfg) */
    node_t **nodes;
    size_t nnodes, nodes_cap;
    capidx_t *capidx; /* the same nodes by free capacity (best fit) */
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
    int resv_done;     /* this pass held nodes for a waiting gang */
    size_t place_left; /* jobs this loop pass may still place (sched_loop) */
    int target_nodes;
    int64_t last_scale_out;  /* mono ms */
    char wait_reason[160];   /* why pending work gets no nodes, or "" */
    int create_failures;     /* in a row, since a node last registered */
    int64_t scale_out_after; /* mono ms: backoff after a failed create */
    uint64_t node_seq;
    cluster_t *next;
};

/* Who sent the message being dispatched (set by the loop). */
typedef struct {
    char user[64]; /* principal name ("" when --insecure for clients) */
    int admin;
    /* an agent whose key is not known yet (auth.h): it may only Join */
    char joining_key[DR_Z85_KEY_LEN + 1];
} req_ctx_t;

typedef struct {
    char location[64];   /* "" = every location (a family's own limit) */
    char family[64];     /* "" = the location's total */
    int64_t dedicated;   /* cores; -1 = no limit */
    int64_t lowpriority; /* cores; -1 = no limit */
} quota_t;

/* What the loop alone touches (sockets, timers): sched_loop.c. */
typedef struct sched_io sched_io_t;

struct sched {
    sched_opts_t opts;
    store_t *store;
    catalog_t *catalog;
    cluster_t *clusters;
    dict_t *jobs;      /* id -> job_t* (owned) */
    dict_t *arrays;    /* array id -> job_array_t* (owned), job_array.c */
    dict_t *nodes;     /* name -> node_t* (owned) */
    provider_t *local; /* the local provider, shared by its clusters */
    quota_t *quotas;
    size_t nquotas;
    struct auth *auth;
    struct identity *identity; /* managed identities' token signer */
    /* the message being dispatched: who sent it (set by the loop) */
    req_ctx_t req;
    /* replies and agent commands, flushed by the loop after the commit */
    outbox_t agent_out;
    outbox_t client_out;
    /* jobs submitted this pass, for placement to try alone (ids) */
    uint64_t *fresh;
    size_t nfresh, fresh_cap;
    int autoscale_now; /* the model asks for an autoscaler tick soon */
    int deps_due;      /* a job ended or a held one came: check the holds */
    uint64_t *held;    /* ids of the jobs held by a dependency */
    size_t nheld, held_cap;
    /* The disk of the state dir: DISK_OK; DISK_LOW (less than
     * min_free_disk free: clients' writes are refused, job output is
     * held back); DISK_FULL (a commit failed: every write is held until
     * a probe write commits).  Set by the loop, read by the handlers. */
    int disk;
    /* Several schedulers on one PostgreSQL (store.h): a standby keeps no
     * model and answers every message "not the leader, try ..."; need_load
     * says the model is not the last commit (a lost database, a lost
     * term) and must be read back before writes are taken; db_down that
     * the database was lost (writes are held as with DISK_FULL, heartbeats
     * and reads are answered).  Set by the loop and model_open. */
    int standby;
    int need_load;
    int db_down;
    store_leader_t leader; /* who leads, as the last poll said */
    int64_t log_bytes;     /* all job logs, counted at load and as written */
    sched_io_t *io;
    /* counters and histograms of /metrics (metrics.h; NULL: none) */
    metrics_t *metrics;
    /* the clusters' sampled history of the Studio's charts (history.h) */
    struct history *history;
};

enum { DISK_OK = 0, DISK_LOW = 1, DISK_FULL = 2 };

/* ---- index.c: lookups (the model's indexes) --------------------------- */

cluster_t *sched_cluster_find(sched_t *self, const char *name);
node_t *sched_node_find(sched_t *self, const char *name);
job_t *sched_job_find(sched_t *self, uint64_t id);
/* The task of a bound job on node n, or NULL; rank 0's node, or NULL. */
job_task_t *job_task_on(job_t *j, const node_t *n);
node_t *job_head(const job_t *j);
/* Marks that a cluster's capacity grew: its next placement pass starts
 * over from the head of the queue. */
void cluster_capacity_grew(cluster_t *c);

/* ---- outboxes: what the model and the handlers send ------------------- */

/* Queue an envelope to a client or an agent; sent after the commit. */
void sched_reply_client(sched_t *self, const char *rid, const dr_env_t *env);
void sched_send_agent(sched_t *self, const char *node, const dr_env_t *env);
void sched_client_error(sched_t *self, const char *rid, uint64_t req, int code,
                        const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void sched_agent_error(sched_t *self, const char *rid, uint64_t req, int code,
                       const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- sched_peer.c: who sent a message --------------------------------- */

/* An Error for the request req of an agent (is_agent) or a client. */
void sched_peer_error(sched_t *self, int is_agent, const char *rid,
                      uint64_t req, int code, const char *msg);
/* May this message be handled?  user: the ZAP User-Id of a CURVE peer,
 * or (local) the "HOST:UID:GID:PID" of a local socket's peer.  0 with
 * self->req set (the principal's name and role); otherwise the refusal is
 * answered and recorded (noisy: at most one record per peer and window)
 * and a DR_E* code returned. */
int sched_peer_check(sched_t *self, ratelim_t *noisy, int is_agent, int local,
                     const char *rid, const char *user, const dr_env_t *env);

/* ---- node_mgr.c: nodes as resources ----------------------------------- */

const char *node_state_name(const node_t *n);
/* No task and not held for a waiting gang: scale-in may take it. */
int node_is_idle(const node_t *n);
uint32_t node_gpu_count(const node_t *n);
/* Healthy GPUs of n, and those of them that no job holds. */
uint32_t node_healthy_gpus(const node_t *n);
uint32_t node_free_gpus(const node_t *n);
/* A node in memory only (the caller writes its row). */
node_t *node_add(sched_t *self, cluster_t *c, const char *name,
                 node_state_t state);
/* Writes n's row in the given state ("ready", "preparing", ...). */
void node_save(sched_t *self, const node_t *n, const char *state);
/* Drains a node (no new tasks; running ones finish) or resumes it. */
void node_set_drain(sched_t *self, node_t *n, int drain);
/* Binds job j to n (its share of cpus and memory) and back. */
void node_bind(node_t *n, job_t *j);
void node_unbind(node_t *n, job_t *j);
/* Sets what n offers (a row, a Register); its place in capidx follows. */
void node_capacity_set(node_t *n, uint32_t cpus, uint64_t memory_mb);
/* Gives each task of j the lowest-indexed free healthy GPUs of its node
 * (placement checked there are enough); records j->gpu_assign. */
void node_gpus_assign(job_t *j);
/* Replaces n's GPU list with a report, keeping holders by index; writes
 * to lost[] (at most DR_MAX_GPUS) the jobs whose GPU vanished or turned
 * unhealthy, with the reason, and returns how many. */
size_t node_gpus_update(node_t *n, Drover__GpuInfo **gpus, size_t ngpus,
                        job_t **lost, char (*why)[160]);
/* Forgets a node that holds no job: memory, row, key. */
void node_forget(sched_t *self, node_t *n, const char *reason);
/* The same, but its key stays valid (a lost node that joined by hand may
 * register again when it comes back). */
void node_forget_keep_key(sched_t *self, node_t *n, const char *reason);
/* A node asked of the provider: in memory, with its row and an event. */
node_t *node_create(sched_t *self, cluster_t *c, const char *name, int pid,
                    int64_t now);
/* Drains an idle node: it takes no new work, its agent is told to exit
 * and the provider asked to release it.  DR_EPROVIDER (err set) when the
 * provider refused; the node is leaving either way. */
int node_release(sched_t *self, node_t *n, const char *why, char *err,
                 size_t errlen);

/* ---- job_data.c: a job's rows, output and recovery -------------------- */

const char *job_state_name(job_state_t s);
int job_state_parse(const char *s, job_state_t *out);
int job_state_terminal(job_state_t s);
/* A job's row as the store sees it (shallow: strings borrowed from j). */
void job_row(const job_t *j, store_job_t *row);
/* Persists a job's mutable columns. */
int job_save(sched_t *self, job_t *j);
/* One tasks row per node of a "a,b,c" list. */
void job_task_rows(sched_t *self, const job_t *j, const char *nodes,
                   const char *state, int exit_code, const char *reason);
void job_free(job_t *j);
/* job_dist.c: a tensorflow job's counts from its spec (tf, tf_workers,
 * tf_ps; the workers default to one per node). */
void job_dist_from_spec(job_t *j, const Drover__Job *spec);
/* job_code.c: a job's code and collected outputs.  check: a submission's
 * code archive and output names (0, DR_ETOOBIG past --max-code-size,
 * DR_EINVAL); spec: what the stored spec keeps of them; save: the archive
 * into the store (submission's pass); attach: the code and output names
 * into a TaskStart (*buf owns the archive until it is sent; free it);
 * owner: the job whose row holds the code, 0 = none. */
int job_code_check(const sched_t *s, const Drover__Job *j, char *why,
                   size_t cap);
void job_code_spec(const Drover__Job *m, Drover__Job *spec);
int job_code_save(sched_t *s, uint64_t id, const Drover__Job *m);
uint64_t job_code_owner(uint64_t id, const Drover__Job *spec);
int job_code_attach(sched_t *s, uint64_t id, const Drover__Job *spec,
                    Drover__TaskStart *ts, uint8_t **buf);
/* An ended task's outputs (its final TaskUpdate) kept for node rank;
 * reset: a new attempt drops the last one's; get: as store_file_get. */
void job_outputs_put(sched_t *s, job_t *j, uint32_t rank,
                     const Drover__TaskUpdate *up);
void job_outputs_reset(sched_t *s, const job_t *j);
int job_outputs_get(sched_t *s, uint64_t id, uint32_t rank, uint8_t **data,
                    size_t *len);
/* A submission's distribution and its counts: 0, or DR_EINVAL with why. */
int job_dist_check(const Drover__Job *m, char *why, size_t cap);
/* The first of `want` consecutive ports of DR_TORCH_PORT_BASE's range that
 * no other job holds on j's nodes or on the nodes that share their
 * machines (j is bound to its nodes). */
uint32_t job_ports_pick(sched_t *self, const job_t *j, uint32_t want);
/* The job as clients see it: from memory when active, else the store
 * (row->spec owned; store_job_clear it).  0 or DR_ENOENT / DR_EDB. */
int job_lookup(sched_t *self, uint64_t id, store_job_t *row);
/* Frees what job_lookup or job_list gave (the row's spec). */
void job_row_clear(store_job_t *row);
/* Who owns job id (memory or store): 0, or DR_ENOENT. */
int job_owner(sched_t *self, uint64_t id, char *owner, size_t cap);
/* Jobs as the store lists them (see store_job_list). */
int job_list(sched_t *self, const store_job_filter_t *f, store_job_cb cb,
             void *arg, int *more);
/* Appends to / reads a job's output log (chunks in the store). */
void job_log_line(sched_t *self, uint64_t id, const char *line);
void job_output(sched_t *self, node_t *n, const Drover__TaskOutput *o);
/* Reads at most max bytes at offset: *got, and the log's size. */
void job_log_read(sched_t *self, uint64_t id, uint64_t offset, uint8_t *buf,
                  uint32_t max, size_t *got, uint64_t *size);
/* Counts the logs again (self->log_bytes); past log_total_limit, replaces
 * the logs of the oldest finished jobs by a line that says why, until
 * the total is under 90% of the limit. */
void job_logs_rotate(sched_t *self);
/* Moves the log files of an older version (<state_dir>/logs/) into the
 * store. */
void job_logs_import(sched_t *self);
/* Recovery: one active job's row back in memory (queued, or bound again
 * to its nodes; marked for requeue when they are gone). */
int job_load_row(sched_t *self, const store_job_t *row);

/* ---- job_mgr.c: the job state machine --------------------------------- */

/* A validated submission: the job is stored, queued and tried by the
 * next placement step (or held by its --dependency); *id_out gets its id.
 * DR_EDB when not stored, or the dependency's error; why says which. */
int job_submit(sched_t *self, const Drover__Job *m, const char *owner,
               uint64_t *id_out, char *why, size_t cap);
/* job_array.c: job arrays (drover job submit --array).  An array is
 * known while any element of it is in memory; its %N counts the elements
 * that may run (queued and not held by it, starting, running). */
typedef struct job_array job_array_t;
/* Queues one job per index of m->array; *first is the array's id (its
 * first element's), *count the elements. */
int job_array_submit(sched_t *self, const Drover__Job *m, const char *owner,
                     uint64_t *first, uint32_t *count, char *why, size_t cap);
/* An element came into memory (submitted, or loaded after a restart:
 * loading holds every queued element until the holds are checked). */
void job_array_track(sched_t *self, job_t *j, const Drover__Job *spec,
                     int loading);
/* An element leaves memory (it ended). */
void job_array_untrack(sched_t *self, job_t *j);
/* A held element may be released: 1 (and counted) when its array's %N
 * has room, else 0 with why set. */
int job_array_admit(sched_t *self, job_t *j, char *why, size_t cap);
/* The DROVER_ARRAY_* variables of an element's tasks (with Slurm's
 * SLURM_ARRAY_JOB_ID and SLURM_ARRAY_TASK_ID): their count, in kv, with
 * their values in val; 0 for a job that is no element. */
#define JOB_ARRAY_NENV 8
size_t job_array_env(const sched_t *self, const job_t *j,
                     Drover__KeyValue kv[JOB_ARRAY_NENV],
                     char val[JOB_ARRAY_NENV][24]);
/* Cancels every active element of array id, or (element) its element
 * `task`; DR_ENOENT when no element of it is active. */
int job_array_cancel(sched_t *self, uint64_t id, int element, uint32_t task,
                     char *msg, size_t cap);
void job_arrays_free(sched_t *self);

/* job_acct.c: accounting.  Records the attempt of j that ends now
 * (outcome: the job's end state, or "preempted" / "lost" when it is
 * requeued; final: the job ends with it). */
void job_acct_end(sched_t *self, const job_t *j, const char *outcome,
                  int final);
/* drover usage: the rows of a report (owned by the caller: free the
 * array and its keys with job_usage_free). */
typedef struct {
    char *key;
    uint64_t jobs, attempts;
    double cpu_hours, gpu_hours, wait_mean_s, wait_p95_s, preempted_cpu_hours,
        failed_cpu_hours;
} job_usage_row_t;
int job_usage_report(sched_t *self, const char *by, int64_t since_ms,
                     int64_t until_ms, job_usage_row_t **rows, size_t *n);
void job_usage_free(job_usage_row_t *rows, size_t n);
/* A new job with job id's spec (drover job rerun), owned by owner. */
int job_rerun(sched_t *self, uint64_t id, const char *owner, uint64_t *id_out,
              char *why, size_t cap);
/* Binds a queued job to its nodes (rank order) and sends TaskStart. */
int job_start(sched_t *self, job_t *j, node_t *const *nodes, uint32_t count);
/* Sends the TaskStarts a bound job's tasks still need (not sent this
 * attempt; clear `started` to send one again): all at once, but an MPI
 * head only when every other node's task is running (the readiness
 * barrier). */
void job_send_starts(sched_t *self, job_t *j);
/* Asks the agents of a job's nodes to stop its tasks (all but those
 * that already ended). */
void job_cancel_tasks(sched_t *self, job_t *j, const char *reason);
/* Ends a job (terminal state): unbinds, persists, frees it. */
void job_finish(sched_t *self, job_t *j, job_state_t st, int has_exit,
                int exit_code, const char *reason);
/* Requeues a starting/running job after a node failure: attempt+1, or
 * fails it when max_retries is spent. */
void job_requeue(sched_t *self, job_t *j, const char *why);
/* The same after a preemption: counted apart from failures, with its own
 * cap (DR_MAX_PREEMPTIONS). */
void job_requeue_preempted(sched_t *self, job_t *j, const char *why);
/* A user cancels: a queued job ends now, a bound one is asked to stop.
 * 0 with what happened in msg, DR_ENOENT, or DR_ESTATE (ended). */
int job_cancel(sched_t *self, uint64_t id, char *msg, size_t cap);
/* An agent reports on job j's task on node n (the current attempt). */
void job_task_report(sched_t *self, node_t *n, job_t *j, job_task_t *t,
                     const Drover__TaskReport *r);
/* Deadlines of the jobs bound to n: an MPI worker's failure past its
 * grace, a start past start_timeout.  1 when a job ended or moved. */
int job_check_deadlines(sched_t *self, node_t *n, int64_t now);
/* After loading: requeues the jobs whose nodes are gone. */
void job_requeue_orphans(sched_t *self);
/* Forgets a queued job without ending it (its cluster goes). */
void job_forget(sched_t *self, job_t *j);

/* ---- node_life.c: what the agents say about their nodes --------------- */

/* Requeues the node's jobs, then forgets it (row, key, event). */
void node_remove(sched_t *self, node_t *n, const char *why);
/* A lost node that joined by hand: its jobs are requeued and it is
 * forgotten, but not deleted and not expelled (its key stays valid). */
void node_lose_joined(sched_t *self, node_t *n, const char *why);
/* The node's agent is shutting down: no new work, its jobs requeued as no
 * failure of theirs (as after a preemption); it may come back. */
void node_leaving(sched_t *self, node_t *n, const char *why);
/* A node is being preempted: its jobs are requeued, it is released. */
void node_preempted(sched_t *self, node_t *n, const char *why);
/* Applies a GPU report; jobs holding a GPU that vanished or turned
 * unhealthy are requeued. */
void node_set_gpus(sched_t *self, node_t *n, Drover__GpuInfo **gpus,
                   size_t ngpus);
/* A registered node by its agent's routing id (last_seen refreshed), or
 * NULL with an error reply queued. */
node_t *node_registered(sched_t *self, const char *rid, uint64_t req);
typedef struct {
    int leaving;      /* told to shut down: nothing else was done */
    uint64_t *cancel; /* job ids the agent runs and must stop (owned) */
    size_t ncancel;
} node_reg_result_t;
/* A validated Register from the agent of node rid: the node is (again)
 * ready and what it runs is reconciled with what the model believes.
 * 0, or DR_ENOENT / DR_EEXIST with why, or DR_EBUSY when another agent
 * session holds the node and is alive (node_life.c: one node, one live
 * agent). */
int node_register(sched_t *self, const char *rid, const Drover__Register *r,
                  node_reg_result_t *out, char *why, size_t cap);
/* A heartbeat's figures and GPUs. */
void node_heartbeat(sched_t *self, node_t *n, const Drover__Heartbeat *hb);
/* Lost nodes (no heartbeat past the timeout) and job deadlines. */
void node_check_all(sched_t *self, int64_t now);
/* The TaskUpdateAck of a report (req 0 when it came in a Register). */
void node_ack_report(sched_t *self, const char *rid, uint64_t req,
                     const Drover__TaskReport *r);
/* The TaskCancel for a task that is not the node's (a stray attempt). */
void node_cancel_stray(sched_t *self, const node_t *n, uint64_t job_id,
                       uint32_t attempt, const char *why);

/* ---- quota.c: core quotas per location and family ---------------------
 * A row is (location, family): location "" = the family in every location,
 * family "" = the location's total over all families. */
/* The limit (-1 = none) and the cores the matching clusters' nodes use. */
int64_t quota_limit(const sched_t *self, const char *location,
                    const char *family, int lowpriority);
int64_t quota_used(const sched_t *self, const char *location,
                   const char *family, int lowpriority);
/* Recovery: a quota row back in memory. */
void quota_load(sched_t *self, const char *location, const char *family,
                int64_t dedicated, int64_t lowpriority);
/* Sets one of a row's limits (cores -1: no limit) and stores the row. */
int quota_set(sched_t *self, const char *location, const char *family,
              int64_t cores, int lowpriority);
/* How many of `count` new nodes of c every quota that applies allows; when
 * fewer, reason says which limit binds ("quota exceeded: westus total
 * 24/24 cores"). */
int quota_fit(const sched_t *self, const cluster_t *c, int count, char *reason,
              size_t cap);
/* "standardDv2Family", "westus standardDv2Family" or "westus total". */
void quota_name(const char *location, const char *family, char *buf,
                size_t cap);

/* ---- cluster_mgr.c: clusters, providers -------------------------------- */

int cluster_add(sched_t *self, const store_cluster_t *cfg, cluster_t **out);
/* A validated ClusterCreate: stored, added; *out the new cluster. */
int cluster_create(sched_t *self, const Drover__Cluster *m, cluster_t **out,
                   char *why, size_t cap);
/* min / max / idle (set_mask bits 1, 2, 4), already validated. */
int cluster_update(sched_t *self, cluster_t *c, int min, int max, int idle,
                   char *why, size_t cap);
/* Deletes an idle, unlocked cluster and its nodes.  0 or DR_ESTATE /
 * DR_EDB with why. */
int cluster_delete(sched_t *self, cluster_t *c, char *why, size_t cap);
int cluster_lock(sched_t *self, cluster_t *c, int locked);
/* "[system]" / "system" -> "system"; a user-assigned id kept as it is;
 * DR_EINVAL for anything else.  out may be NULL (just validate). */
int cluster_identity_norm(const char *in, char *out, size_t cap);
int cluster_identity_assign(sched_t *self, cluster_t *c, const char *value,
                            const char *by);
/* Frees a cluster in memory (nodes and queued jobs too); rows stay. */
void cluster_remove(sched_t *self, cluster_t *c);
/* Frees every cluster in memory only: rows stay for the next start. */
void cluster_free_all(sched_t *self);
/* Records (or clears, with NULL) the cluster's last resize error. */
void cluster_set_error(sched_t *self, cluster_t *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A create failed: the next scale-out of c waits, doubling from 2 s up
 * to 5 min, so a broken provider is not called on every tick. */
void cluster_create_failed(cluster_t *c, int64_t now_mono);
/* The catalog's spelling of a family, NULL when it has none such. */
const char *cluster_family_name(const sched_t *self, const char *family);
/* A principal asked for something it may not do: the event log keeps it. */
void cluster_refused(sched_t *self, const char *node, uint64_t job_id,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The provider of a new cluster's config (the local one is shared). */
provider_t *cluster_provider_new(sched_t *self, const store_cluster_t *c);
/* What a provider reports of finished work. */
provider_report_fn cluster_provider_report;

/* Keys: adds a principal's public key / revokes one (a node whose key
 * is revoked is lost at once).  0 or the auth's code. */
int cluster_key_add(sched_t *self, const char *name, int agent, int admin,
                    const char *public_key, const char *by);
int cluster_key_revoke(sched_t *self, const char *name, const char *by);
/* The event log, newest first (see store_event_list). */
int cluster_events(sched_t *self, const char *cluster, uint32_t limit,
                   store_event_cb cb, void *arg);
/* A preemption drill: the agent is sent a PreemptNotice. */
void node_preempt_drill(sched_t *self, node_t *n);

/* ---- join_mgr.c: join tokens and the nodes that join with them ------- */

/* A new token for cluster c (ttl_ms 0: the default; max_uses 0: no
 * limit): its text in token (JT_TOKEN_LEN + 1, shown once, never stored)
 * and its row.  0 or DR_E*. */
int join_token_create(sched_t *self, const cluster_t *c, int64_t ttl_ms,
                      uint32_t max_uses, const char *by, char *token,
                      jt_row_t *row);
/* Rows of one cluster's tokens ("" or NULL: every cluster). */
int join_token_list(sched_t *self, const char *cluster, store_join_token_cb cb,
                    void *arg);
/* Revokes a token of c, given whole or by its ID.  0, or DR_EINVAL /
 * DR_ENOENT with why. */
int join_token_revoke(sched_t *self, const cluster_t *c, const char *token,
                      const char *by, char *why, size_t cap);
/* A single-use, short-lived token for a node a provider is asked to
 * create, written to <state_dir>/nodes/NODE.token (0600) where the
 * providers find it (provider_join_token).  0 or DR_E* with why. */
int join_token_for_node(sched_t *self, const cluster_t *c, const char *node,
                        char *why, size_t cap);
typedef struct {
    cluster_t *cluster; /* the token's */
} join_result_t;
/* A joining peer, connected with conn_key (which must be the token's join
 * key), presents token for node_name (and cluster, "" = the token's) and
 * its own public_z85: on success that key is the node's agent key and a
 * use is spent.  DR_EINVAL (malformed), DR_EPERM (unknown, revoked,
 * expired, spent, another cluster's, another token's connection),
 * DR_EEXIST (the name is another key's) with why. */
int join_admit(sched_t *self, const char *token, const char *node_name,
               const char *cluster, const char *conn_key,
               const char *public_z85, join_result_t *out, char *why,
               size_t cap);

/* ---- job_deps.c: --dependency ------------------------------------------ */

/* Parses "afterok:ID[:ID...],afterany:ID,afternotok:ID,singleton" into j
 * (at most DR_MAX_DEPS terms); every ID must name an existing job other
 * than j.  0, or DR_EINVAL / DR_ENOENT with why. */
#define DR_MAX_DEPS 64
int job_deps_parse(sched_t *self, job_t *j, const char *spec, char *why,
                   size_t cap);
/* Holds j (it has id now) when it has a dependency. */
void job_deps_hold(sched_t *self, job_t *j);
/* Checks every held job (when self->deps_due): a job whose terms all hold
 * is released to placement; one that can never run fails with the reason;
 * the others say what they wait for. */
void job_deps_check(sched_t *self);

/* ---- model.c: the model as a whole ------------------------------------ */

/* Everything but the sockets: directories, catalog, store, providers,
 * keys; then the state as the store has it.  0 or a negative code. */
int model_open(sched_t *self, const sched_opts_t *opts);
/* Once a second (the loop): the store's leadership poll (store.h).  A new
 * term, or a leader whose model is not the last commit (need_load), reads
 * the state back; a lost term makes this scheduler a standby.  Returns
 * the poll's answer. */
int model_leader_tick(sched_t *self);
void model_close(sched_t *self);
/* After a failed commit: memory is thrown away and read back from the
 * store's last committed state, as a restart after kill -9 would (nodes
 * wait to re-register).  0 or a negative code. */
int model_reload(sched_t *self);

/* ---- RPC: the client handlers (api_*.c, table in api_client.c) ------- */

typedef void api_fn(sched_t *s, const char *rid, dr_env_t *env);
/* The error reply to the request being handled (s, rid, env in scope). */
#define API_ERR(...) sched_client_error(s, rid, env->request_id, __VA_ARGS__)
/* api_reply.c: replies several files send.  A Cluster message borrows
 * from c; errs holds the one error string it may point to. */
void api_cluster_msg(const cluster_t *c, Drover__Cluster *m, char **errs);
void api_reply_ok(sched_t *s, const char *rid, uint64_t req, const char *msg);
/* The cluster / node a request names, or NULL with "unknown ..." replied. */
cluster_t *api_cluster_arg(sched_t *s, const char *rid, uint64_t req,
                           const char *name);
node_t *api_node_arg(sched_t *s, const char *rid, uint64_t req,
                     const char *name);
void api_reply_cluster(sched_t *s, const char *rid, uint64_t req,
                       const cluster_t *c);
/* api_clusters.c */
api_fn api_cluster_create, api_cluster_update, api_cluster_show,
    api_cluster_list, api_cluster_delete, api_cluster_lock, api_cluster_events;
/* api_jobs.c */
api_fn api_job_submit, api_job_show, api_job_list, api_job_cancel, api_job_logs,
    api_job_rerun, api_usage, api_job_files;
/* api_nodes.c */
api_fn api_node_list, api_node_show, api_node_preempt, api_node_drain;
/* api_admin.c: keys, quotas, managed identities */
api_fn api_quota_set, api_quota_list, api_key_add, api_key_revoke, api_key_list,
    api_identity_assign, api_identity_verify;
/* api_join.c: join tokens */
api_fn api_join_token_create, api_join_token_list, api_join_token_revoke;
/* api_tokens.c: the HTTP API's bearer tokens */
api_fn api_token_create;

#endif
