/* store.h - the scheduler's durable state: SQLite (WAL mode, the embedded
 * default, store.c) or PostgreSQL (store_pg.c, for several schedulers on
 * one database), one interface and one schema.
 *
 * The store owns the database handle and its prepared statements.  Writes
 * happen inside one transaction per event-loop pass (store_begin /
 * store_commit): the loop acknowledges nothing until store_commit() has
 * returned 0, so whatever a client or agent saw acknowledged survives a
 * kill -9.  Rows are the truth after a restart; the in-memory structures
 * (queue, nodes, clusters) are rebuilt from them by the loaders here.
 */
#ifndef DR_STORE_H
#define DR_STORE_H

#include "jointoken.h"

#include <stddef.h>
#include <stdint.h>

typedef struct store store_t;

typedef struct {
    char name[64];
    char vm_size[64];
    int min_nodes;
    int max_nodes;
    int idle_seconds;
    char vm_priority[16];
    char location[64];
    char provider[32];
    int64_t created_at_ms;
    char last_error[256];
    char resume_program[512]; /* exec provider */
    char suspend_program[512];
    char provider_url[512]; /* http provider */
    int locked;
    char identity[256]; /* "", "system" or a user-assigned id */
    char identity_principal[64];
} store_cluster_t;

typedef struct {
    char name[64];
    char cluster[64];
    char state[16];
    uint32_t cpus;
    uint64_t memory_mb;
    char vm_size[64];
    int pid;
    int64_t created_at_ms;
    int joined; /* registered without its provider creating it */
    int drain;  /* drained by an admin: takes no new tasks */
} store_node_t;

typedef struct {
    uint64_t id;
    char name[128];
    char cluster[64];
    char state[16];
    int priority;
    uint32_t cpus;
    uint64_t memory_mb;
    uint32_t nodes;
    uint32_t procs_per_node;
    uint32_t gpus;
    uint32_t max_retries;
    uint64_t time_limit_ms; /* 0 = none; the time_limit_s column (issue 17:
                             * whole seconds, rounded up) is written for an
                             * older scheduler and never read */
    uint32_t attempts;
    int exit_code;
    int has_exit_code;
    char reason[256];
    char node_names[2112]; /* "head,worker,...": DR_MAX_JOB_NODES names */
    char owner[64];
    uint32_t preemptions;
    char gpu_indices[4096]; /* "0=GPU-uuid,1=GPU-uuid;...": per node */
    int64_t submitted_at_ms;
    int64_t started_at_ms;
    int64_t ended_at_ms;
    uint8_t *spec; /* packed Drover__Job (argv, env, image); owned */
    size_t spec_len;
} store_job_t;

/* Opens (creating) <dir>/drover.db, sets WAL + synchronous=FULL, creates
 * the schema.  NULL on failure with the reason logged. */
store_t *store_new(const char *state_dir);
/* As store_new with uri "" (SQLite in state_dir), or a libpq connection
 * URI (postgresql://... or postgres://...): PostgreSQL.  Anything else is
 * refused with a line that says what is accepted. */
store_t *store_open(const char *state_dir, const char *uri);
/* Whether uri names a store store_open accepts ("" included). */
int store_uri_valid(const char *uri);
void store_destroy(store_t **self_p);

/* Transaction per loop pass.  begin is idempotent while one is open. */
int store_begin(store_t *self);
int store_commit(store_t *self);
int store_rollback(store_t *self);
/* Whether the last failure was the disk being full (SQLITE_FULL or a
 * failed write of the file). */
int store_last_full(const store_t *self);
/* Commits a throwaway 64 KiB write outside any transaction: 0 once the
 * disk takes writes again, DR_ENOSPC while it is full. */
int store_probe_write(store_t *self);
/* Whether the database server was lost (PostgreSQL): writes fail until
 * store_probe_write reconnects.  Always 0 on SQLite. */
int store_down(const store_t *self);

/* Leadership (PostgreSQL; SQLite is always its one scheduler's).  Who
 * leads and where it answers. */
typedef struct {
    int64_t term;
    char holder[128]; /* host:pid of the scheduler */
    char client[256]; /* its client endpoint */
    char agent[256];  /* the endpoint its agents connect to */
} store_leader_t;
/* Once a second: the leader renews its lease; a standby takes the lock
 * when it is free (and ends the sessions of a leader whose lease is older
 * than lease_ms).  2: this store just became leader (a new term: load the
 * state); 1: still leader; 0: standby, *leader says who leads; <0: the
 * server is unreachable.  Every write transaction commits only in this
 * store's term (DR_ENOTLEADER otherwise). */
int store_leader_poll(store_t *self, const store_leader_t *me, int64_t lease_ms,
                      store_leader_t *leader);
/* Cheap WAL checkpoint (PASSIVE), called from a timer. */
void store_checkpoint(store_t *self);

int store_cluster_put(store_t *self, const store_cluster_t *c);
int store_cluster_delete(store_t *self, const char *name);
int store_cluster_set_error(store_t *self, const char *name, const char *err);
typedef void (*store_cluster_cb)(void *arg, const store_cluster_t *c);
int store_cluster_each(store_t *self, store_cluster_cb cb, void *arg);

int store_node_put(store_t *self, const store_node_t *n);
int store_node_set_state(store_t *self, const char *name, const char *state);
int store_node_delete(store_t *self, const char *name);
typedef void (*store_node_cb)(void *arg, const store_node_t *n);
int store_node_each(store_t *self, store_node_cb cb, void *arg);

/* Inserts a job; assigns j->id. */
int store_job_insert(store_t *self, store_job_t *j);
/* Updates the mutable columns (state, attempts, exit, reason, nodes,
 * times). */
int store_job_update(store_t *self, const store_job_t *j);
/* Loads one job (spec included, caller frees with store_job_clear). */
int store_job_get(store_t *self, uint64_t id, store_job_t *out);
void store_job_clear(store_job_t *j);
/* Jobs in the given states (comma list, e.g. "queued,starting,running"),
 * in id order; the callback borrows the row. */
typedef int (*store_job_cb)(void *arg, const store_job_t *j);
int store_job_each_in_states(store_t *self, const char *states, store_job_cb cb,
                             void *arg);
/* Listing for clients: optional cluster and state filters, ids > after,
 * at most limit rows; *more set when rows remain. */
/* Which jobs store_job_list returns: "" / 0 fields match all; ids above
 * `after`, at most `limit`, ascending. */
typedef struct {
    const char *cluster, *state, *owner;
    int64_t since_ms; /* submitted at or after */
    uint64_t after;
    uint32_t limit;
} store_job_filter_t;
int store_job_list(store_t *self, const store_job_filter_t *f, store_job_cb cb,
                   void *arg, int *more);

/* Who may connect: CURVE public keys of users (with a role) and agents.
 * put returns DR_EEXIST when the public key belongs to another name. */
int store_principal_put(store_t *self, const char *name, const char *kind,
                        const char *role, const char *public_key,
                        int64_t created_at_ms);
int store_principal_delete(store_t *self, const char *name);
typedef void (*store_principal_cb)(void *arg, const char *name,
                                   const char *kind, const char *role,
                                   const char *public_key,
                                   int64_t created_at_ms);
int store_principal_each(store_t *self, store_principal_cb cb, void *arg);

/* Core quotas per (location, family) (store_quotas.c): location "" = the
 * family in every location, family "" = the location's total; a limit
 * of -1 means none. */
int store_quota_put(store_t *self, const char *location, const char *family,
                    int64_t dedicated, int64_t lowpriority);
typedef void (*store_quota_cb)(void *arg, const char *location,
                               const char *family, int64_t dedicated,
                               int64_t lowpriority);
int store_quota_each(store_t *self, store_quota_cb cb, void *arg);

/* The newest events of a cluster (or all, with ""), newest first. */
typedef void (*store_event_cb)(void *arg, int64_t ts_ms, const char *kind,
                               const char *cluster, const char *node,
                               uint64_t job_id, const char *message);
int store_event_list(store_t *self, const char *cluster, uint32_t limit,
                     store_event_cb cb, void *arg);

int store_task_put(store_t *self, uint64_t job_id, uint32_t attempt,
                   const char *node, const char *state, int exit_code,
                   const char *reason, int64_t ts_ms);

/* Deletes the events older than before_ms (wall ms), at most `limit` of
 * them, oldest first; how many it deleted, or DR_EDB. */
int store_event_prune(store_t *self, int64_t before_ms, int limit);
int store_event(store_t *self, const char *kind, const char *cluster,
                const char *node, uint64_t job_id, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Join tokens (jointoken.h): a row by its ID (DR_ENOENT when none), all
 * rows of a cluster ("" = every cluster), and a write of a whole row
 * (insert, a use, a revocation). */
typedef void (*store_join_token_cb)(void *arg, const jt_row_t *t);
int store_join_token_put(store_t *self, const jt_row_t *t);
int store_join_token_get(store_t *self, const char *id, jt_row_t *out);
/* The token whose join key (keys_join_pair) this is; DR_ENOENT if none. */
int store_join_token_by_key(store_t *self, const char *join_key, jt_row_t *out);
int store_join_token_each(store_t *self, const char *cluster,
                          store_join_token_cb cb, void *arg);

/* The HTTP API's tokens (schema 5), by the hex SHA-256 of the token:
 * DR_EEXIST for a hash already there; get gives the user's name, or
 * DR_ENOENT. */
int store_api_token_put(store_t *self, const char *hash, const char *name,
                        int64_t created_at_ms, const char *by);
int store_api_token_get(store_t *self, const char *hash, char *name,
                        size_t cap);

/* Job output (store_logs.c): a job's log is its chunks by byte offset,
 * each appended at the log's end in the open transaction.  A chunk of a
 * task's output says where it came from: the attempt, the source (task
 * index * 2 + stream) and where in that stream it ends, so that a
 * scheduler that starts over (a restart, a failover) knows how much of
 * each stream it has; the scheduler's own lines have none (NULL). */
typedef struct {
    uint32_t attempt;
    int32_t src;
    uint64_t end;
} store_log_src_t;
int store_log_append(store_t *self, uint64_t job_id, uint64_t off,
                     const void *data, size_t len, const store_log_src_t *from);
/* For each source of the attempt: how far its stream is kept. */
typedef void (*store_log_end_cb)(void *arg, int32_t src, uint64_t end);
int store_log_ends(store_t *self, uint64_t job_id, uint32_t attempt,
                   store_log_end_cb cb, void *arg);
/* The log's length in bytes (0 when it has none). */
int store_log_size(store_t *self, uint64_t job_id, uint64_t *size);
/* Up to `max` bytes from `off`; *got short only at the end of the log. */
int store_log_read(store_t *self, uint64_t job_id, uint64_t off, uint8_t *buf,
                   size_t max, size_t *got);
int store_log_clear(store_t *self, uint64_t job_id);
/* Every log's length, by job id ascending. */
typedef void (*store_log_cb)(void *arg, uint64_t job_id, int64_t bytes);
int store_log_each(store_t *self, store_log_cb cb, void *arg);
/* Copies what a chunk [off, off+len) holds of [want+got, want+max) into
 * buf at got; the new got (both backends' reads). */
size_t store_log_copy(uint64_t want, uint8_t *buf, size_t max, size_t got,
                      uint64_t off, const void *data, size_t len);

/* A job's files (store_files.c): its code archive (kind
 * STORE_FILE_CODE, rank 0) and the outputs collected from each node rank
 * (STORE_FILE_OUTPUTS), one row per (job, kind, rank); a put replaces
 * that row.  get: *data malloc'd (the caller frees), DR_ENOENT when there
 * is none. */
#define STORE_FILE_CODE "code"
#define STORE_FILE_OUTPUTS "outputs"
int store_file_put(store_t *self, uint64_t job_id, const char *kind,
                   uint32_t rank, const void *data, size_t len);
int store_file_get(store_t *self, uint64_t job_id, const char *kind,
                   uint32_t rank, uint8_t **data, size_t *len);
int store_file_clear(store_t *self, uint64_t job_id, const char *kind);

/* Accounting (store_usage.c): one row per ended attempt of a job.  An
 * attempt that never ran has started_at_ms 0; `final` marks the job's
 * end; outcome is the job's end state, or "preempted" / "lost" for an
 * attempt that was requeued. */
typedef struct {
    uint64_t job_id;
    uint32_t attempt;
    int final;
    const char *owner, *cluster, *vm_size, *outcome;
    uint32_t cpus, gpus, nodes; /* cpus and gpus per node */
    int64_t queued_at_ms, started_at_ms, ended_at_ms;
} store_usage_t;
int store_usage_put(store_t *self, const store_usage_t *u);
/* The attempts that ended in [since, until) grouped by `by` (user,
 * cluster, vm-size), in key order: first `sum` once per key with v =
 * {jobs, attempts, core-ms, gpu-ms, preempted core-ms, failed core-ms},
 * then `wait` for each attempt that ran, its wait in ms, ascending within
 * a key.  DR_EINVAL for an unknown `by`. */
typedef void (*store_usage_sum_cb)(void *arg, const char *key,
                                   const int64_t v[6]);
typedef void (*store_usage_wait_cb)(void *arg, const char *key,
                                    int64_t wait_ms);
int store_usage_report(store_t *self, const char *by, int64_t since_ms,
                       int64_t until_ms, store_usage_sum_cb sum,
                       store_usage_wait_cb wait, void *arg);

#endif
