/* sched.h - the scheduler daemon as main.c and the tests see it: its
 * options, and one opaque sched_t that is created, run and destroyed.
 *
 * What is inside (the model, the policies, the loop, the RPC tables) is
 * private to scheduler/ and declared in sched_int.h.
 */
#ifndef DR_SCHED_H
#define DR_SCHED_H

#include <signal.h>
#include <stdint.h>

typedef struct sched sched_t;

/* Options of the daemon (config.c fills them in). */
typedef struct {
    char state_dir[1024];
    char client_endpoint[256];
    char agent_endpoint[256];
    /* the local endpoint: a unix socket whose peers the kernel names
     * (SO_PEERCRED), "" = none */
    char local_socket[108];
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
    int event_retention_s;      /* events older than this are pruned */
    int64_t job_log_limit_mb;   /* a job's log is cut at this size */
    int64_t log_total_limit_mb; /* all logs: the oldest finished go first */
    int64_t min_free_disk_mb;   /* below it writes are refused (disk full) */
    int64_t max_code_mb;        /* a job's code archive, at most */
    int64_t max_output_mb;      /* a node's collected outputs, at most */
    /* the docker provider: dockerd, the node image, the nodes' network */
    char docker_socket[256];
    char docker_node_image[256];
    char docker_network[64];
    /* the HTTP listener (/metrics, /api/v1/): ADDR:PORT, "" = off */
    char http_listen[256];
    /* the store: "" = SQLite in state_dir, or a libpq URI (postgresql://) */
    char store[1024];
    int leader_lease_ms; /* a standby takes over a leader silent this long */
} sched_opts_t;

/* Loads the state from opts->state_dir (recovering after a crash) and
 * binds both endpoints; NULL (logged) on failure. */
sched_t *sched_new(const sched_opts_t *opts);
void sched_destroy(sched_t **self_p);
/* Runs the loop until *stop becomes non-zero; wake_fd (or -1) is polled
 * so that a signal handler can interrupt the wait. */
int sched_run(sched_t *self, volatile sig_atomic_t *stop, int wake_fd);
/* One pass of the loop with the given poll timeout (tests drive this). */
int sched_run_once(sched_t *self, int timeout_ms, int wake_fd);
/* When the next autoscaler tick runs (mono ms; 0: in the next pass,
 * INT64_MAX: never).  For tests and the fuzzer. */
void sched_autoscale_at(sched_t *self, int64_t mono_ms);

#endif
