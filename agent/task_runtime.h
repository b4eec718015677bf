/* task_runtime.h - the one interface every task runtime implements (after
 * Nomad's task drivers and Slurm's plugin structs).
 *
 * A task_rt_t is one task's program in some runtime: a forked process
 * (task_rt_process), a container (task_rt_docker) or a hollow run of a
 * simulated node (task_rt_hollow).  The task table drives each one with
 * the same calls -- poll its phase, read its output, signal it, close its
 * output after the drain deadline, take its result, destroy it -- so that
 * time limits, the SIGKILL after the grace and the output drain are
 * written once, in task.c, and no caller asks which kind it holds.  Only
 * the start differs in what it needs: a runtime is started through its
 * ops' start() with its own context (the docker client, or nothing).
 *
 * Nothing here blocks, knows ZeroMQ, or reports to the scheduler.
 */
#ifndef DR_TASK_RUNTIME_H
#define DR_TASK_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TASK_RT_STARTING = 0, /* being prepared (image, create): not run yet */
    TASK_RT_RUNNING,      /* running */
    TASK_RT_ENDING,       /* exited (or failed): its output drains */
    TASK_RT_DONE,         /* result ready; nothing left in flight */
} task_rt_phase_t;

enum { TASK_RT_STDOUT = 0, TASK_RT_STDERR = 1 };

/* What a task needs to start, whatever its runtime. */
typedef struct {
    char *const *argv;     /* NULL-terminated */
    char *const *envp;     /* NULL-terminated "K=V", the whole env */
    char *const *host_env; /* NULL-terminated: entries of envp taken from the
                            * agent's own env (PATH, HOME, LANG); a runtime
                            * with an environment of its own drops them */
    const char *task_dir;  /* host dir, created: cwd, output files, scratch */
    const char *image;     /* a container runtime's image */
    uint32_t cpus;         /* 0 = no limit */
    uint64_t memory_mb;    /* 0 = no limit */
    const uint32_t *gpu_indices;
    size_t n_gpu;
    uint64_t job_id;
    uint32_t attempt;
    const char *node;
    /* the node's lease (a process task's shim, a container's guard kill
     * the task when it ends), and whether process tasks get their own
     * PID and mount namespaces */
    const volatile int64_t *lease;
    int isolate;
    const char *network_mode; /* containers: NetworkMode; NULL = host */
    const char *bind_dir;     /* containers: task_dir as dockerd sees it */
} task_rt_spec_t;

typedef struct {
    int started;     /* it ran (else it could not start: see reason) */
    int exit_code;   /* 128+signal when a signal ended it */
    int term_signal; /* 0 = none */
    int oom_killed;  /* the memory limit ended it */
    int lost;        /* its end is unknown (see reason) */
    char reason[512];
} task_rt_result_t;

typedef struct task_rt task_rt_t;

typedef struct {
    const char *kind; /* "process", "docker", "hollow": for logs only */
    /* The end of a process is noticed only by polling: without SIGCHLD
     * waking the loop, it must be polled often. */
    int polled_exit;
    /* Starts a task; ctx is the runtime's own (the docker client).  0 and
     * *impl, or a DR_E* code with the reason in why (DR_ESYS: the program
     * could not be executed). */
    int (*start)(void *ctx, const task_rt_spec_t *spec, void **impl, char *why,
                 size_t whylen);
    /* Advances without blocking (reaps, reads what arrived) and says where
     * it is. */
    task_rt_phase_t (*poll)(void *impl, int64_t now);
    /* 1 once it ran (or runs). */
    int (*started)(const void *impl);
    /* The fd that carries a stream's output, to be polled; -1 when there
     * is none (the output arrives some other way and is read each pass). */
    int (*fd)(const void *impl, int stream);
    /* Up to cap bytes of a stream's output: the count, 0 when none. */
    int (*read)(void *impl, int stream, char *buf, size_t cap);
    /* Sends sig.  0, or DR_ESYS (errno set). */
    int (*signal)(void *impl, int sig);
    /* Stops waiting for the rest of the output (drain deadline). */
    void (*close_output)(void *impl);
    /* The result, once DONE; DR_ESTATE before. */
    int (*result)(const void *impl, task_rt_result_t *res);
    /* Mono ms at which poll() has something to do by itself, INT64_MAX if
     * never (NULL: never). */
    int64_t (*timer)(const void *impl);
    /* "pid 123", "container 0123456789ab", for logs. */
    void (*describe)(const void *impl, char *buf, size_t n);
    void (*destroy)(void *impl);
} task_rt_ops_t;

struct task_rt {
    const task_rt_ops_t *ops;
    void *impl;
};

extern const task_rt_ops_t task_rt_process_ops;
extern const task_rt_ops_t task_rt_docker_ops; /* ctx: runtime_docker_t */
extern const task_rt_ops_t task_rt_hollow_ops; /* argv says how long */

/* Starts a task in the runtime of ops.  0 and *out, or what start()
 * returned (why says it). */
int task_rt_start(const task_rt_ops_t *ops, void *ctx,
                  const task_rt_spec_t *spec, task_rt_t **out, char *why,
                  size_t whylen);

/* Wraps a running implementation (an adopted container). */
task_rt_t *task_rt_wrap(const task_rt_ops_t *ops, void *impl);

/* Accepts NULL; nulls *self_p. */
void task_rt_destroy(task_rt_t **self_p);

/* Takes over a container found by runtime_docker_list() (see
 * runtime_docker_ctr_adopt).  ctx: the runtime_docker_t. */
int task_rt_docker_adopt(void *ctx, const char *id, task_rt_t **out);

#endif
