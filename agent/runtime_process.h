/* runtime_process.h - the `process` runtime: one task = one forked child.
 *
 * A runtime_process_t owns one child process (leader of its own process
 * group) and the two pipes that carry its stdout and stderr (the caller
 * sends the bytes on: no copy is kept on the node).  It knows nothing of
 * ZeroMQ, jobs or the scheduler, so that tests drive it with a small loop.
 * It never blocks the caller except in runtime_process_destroy() on a child
 * it has just SIGKILLed, and never installs signal handlers.
 */
#ifndef DR_RUNTIME_PROCESS_H
#define DR_RUNTIME_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct runtime_process runtime_process_t;

enum { RUNTIME_PROCESS_STDOUT = 0, RUNTIME_PROCESS_STDERR = 1 };

typedef struct {
    char *const *argv;    /* NULL-terminated; argv[0] is looked up in PATH */
    char *const *envp;    /* NULL-terminated "KEY=VALUE", the whole env */
    const char *task_dir; /* created if missing; the task's cwd */
    /* the node's lease (lease_word()), or NULL: the shim kills the task
     * once it passed, even while the agent is frozen */
    const volatile int64_t *lease;
    /* run the task in its own PID and mount namespaces with its own /proc,
     * so that it sees no other task's processes, environment or secrets
     * (runtime_process_can_isolate() says whether this host allows it) */
    int isolate;
} runtime_process_spec_t;

/* 1 if tasks can be isolated here (root, and the kernel lets us create
 * PID and mount namespaces and mount /proc in them); else 0 with the
 * reason in why.  Forks a short-lived probe. */
int runtime_process_can_isolate(char *why, size_t whylen);

/* Forks and execs the task.  Returns 0 and *out on success.  On failure
 * returns DR_EIO (task dir), DR_ESYS (fork/pipe, or the child could
 * not exec: then `reason` says e.g. "exec 'foo': No such file or
 * directory") and fills `reason`.  Exec failure is detected through a
 * close-on-exec error pipe, so success means the new program is running. */
int runtime_process_start(const runtime_process_spec_t *spec,
                          runtime_process_t **out, char *reason,
                          size_t reason_len);

/* SIGKILLs the process group if the child was not reaped yet, reaps it,
 * closes the pipes and files.  Accepts NULL; nulls *self_p. */
void runtime_process_destroy(runtime_process_t **self_p);

pid_t runtime_process_pid(const runtime_process_t *self);

/* The read end of a stream's pipe, or -1 once it reached EOF/was closed. */
int runtime_process_fd(const runtime_process_t *self, int stream);

/* Reads what is available (non-blocking) from one stream into buf, and
 * appends it to the stream's file.  Returns the byte count (>0), 0 when
 * nothing is waiting or on EOF (then the fd is closed and becomes -1), or
 * DR_EINVAL for a bad stream. */
int runtime_process_read(runtime_process_t *self, int stream, char *buf,
                         size_t cap);

/* Reaps the child without blocking.  Returns 1 once it has exited (and from
 * then on), 0 while it runs.  On the exit it SIGKILLs what is left of the
 * process group, so background children cannot hold the pipes open. */
int runtime_process_poll_exit(runtime_process_t *self);

/* After exit: exit_code is WEXITSTATUS, or 128+signal with term_signal set.
 * DR_ESTATE while the child still runs. */
int runtime_process_status(const runtime_process_t *self, int *exit_code,
                           int *term_signal);

/* Sends sig to the whole process group.  0 (also when it is already gone)
 * or DR_ESYS. */
int runtime_process_signal(runtime_process_t *self, int sig);

/* Closes both pipes at once (the drain deadline passed). */
void runtime_process_close_output(runtime_process_t *self);

/* True once the child was reaped and both pipes are closed. */
int runtime_process_done(const runtime_process_t *self);

#endif
