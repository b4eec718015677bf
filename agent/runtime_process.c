/* runtime_process.c - the `process` runtime (see runtime_process.h).
 *
 * Owns one child process and the fds attached to it.  Everything the child
 * needs (argv, envp, paths) is prepared by the caller before fork(): the
 * agent has ZeroMQ's background threads, so between fork() and exec() the
 * child only makes async-signal-safe calls and never allocates.  The child
 * leads its own process group so that a signal reaches everything it
 * started.  This file must never wait for a child that was not killed first.
 */
#include "runtime_process.h"
#include "dr_err.h"
#include "lease.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The namespaces of an isolated task: its own PIDs, and mounts of its own
 * for its /proc. */
#define S_NS_FLAGS (CLONE_NEWPID | CLONE_NEWNS)

struct runtime_process {
    pid_t pid;
    int exited;
    int status;     /* raw wait status, valid once exited */
    int pipe_fd[2]; /* read ends, -1 once closed */
};

/* What a child that failed before exec writes to the error pipe. */
typedef struct {
    int stage;
    int err;
} s_child_err_t;

enum {
    S_STAGE_SETPGID,
    S_STAGE_CHDIR,
    S_STAGE_STDIO,
    S_STAGE_EXEC,
    S_STAGE_ISOLATE
};

static void s_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* The shim's answer to its agent's death: the whole task goes with it. */
static void s_on_agent_death(int sig)
{
    (void)sig;
    kill(0, SIGKILL); /* our process group: the shim and the job's tree */
}

/* The job itself, in the shim's process group: only async-signal-safe
 * calls, never returns. */
static void s_exec_job(const runtime_process_spec_t *spec, int out_w, int err_w,
                       int errpipe_w)
{
    s_child_err_t ce = {S_STAGE_CHDIR, 0};
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (chdir(spec->task_dir) < 0)
        goto fail;
    ce.stage = S_STAGE_STDIO;
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 ||
        dup2(err_w, 2) < 0)
        goto fail;
    ce.stage = S_STAGE_EXEC;
    execvpe(spec->argv[0], spec->argv, spec->envp);
fail:
    ce.err = errno;
    ssize_t w = write(errpipe_w, &ce, sizeof ce);
    (void)w; /* nothing more a dying child can do */
    _exit(127);
}

/* Inside a new PID and mount namespace: makes the mounts private and
 * mounts a /proc that shows only this namespace's processes.  0 or -1
 * with errno.  Async-signal-safe: a task's init and the probe share it. */
static int s_private_proc(void)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -1;
    return mount("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV,
                 NULL);
}

/* The first process of the task's own PID namespace (its init): makes
 * the mount namespace private, mounts a /proc that shows only the task's
 * processes, starts the job, reaps whatever is reparented to it, and exits
 * the way the job did.  It installs no handler, so the group's SIGTERM
 * (cancel) reaches only the job, and when it exits the kernel kills what
 * is left in the namespace.  Async-signal-safe; never returns. */
static void s_ns_init(const runtime_process_spec_t *spec, int out_w, int err_w,
                      int errpipe_w)
{
    s_child_err_t ce = {S_STAGE_ISOLATE, 0};
    if (s_private_proc() < 0)
        goto fail;
    pid_t job = fork();
    if (job < 0)
        goto fail;
    if (job == 0)
        s_exec_job(spec, out_w, err_w, errpipe_w);
    close_range(3, ~0U, 0);
    int st;
    for (;;) {
        pid_t w = waitpid(-1, &st, 0);
        if (w == job)
            break;
        if (w < 0 && errno != EINTR)
            _exit(127);
    }
    if (WIFEXITED(st))
        _exit(WEXITSTATUS(st));
    /* pid 1 cannot die of its own signal: report it as a shell would */
    _exit(128 + WTERMSIG(st));
fail:
    ce.err = errno;
    ssize_t w = write(errpipe_w, &ce, sizeof ce);
    (void)w;
    _exit(127);
}

/* Waits for the job.  With a lease, wakes at least every 100 ms to check
 * it and kills the whole group (the shim too) once it has passed: the
 * scheduler may be starting this work elsewhere.  Async-signal-safe. */
static void s_wait_job(pid_t job, int *st, const volatile int64_t *lease)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    for (;;) {
        pid_t r = waitpid(job, st, lease ? WNOHANG : 0);
        if (r == job)
            return;
        if (r < 0 && errno != EINTR)
            _exit(127);
        if (lease_word_expired(lease))
            kill(0, SIGKILL);
        struct timespec tick = {0, 100 * 1000 * 1000};
        if (lease)
            (void)sigtimedwait(&chld, NULL, &tick);
    }
}

/* The agent's child is a small shim that leads the task's process group:
 * it starts the job, waits for it and exits the way the job did.  Its
 * reason to exist: a task must never outlive its agent (a node whose agent
 * died is lost and its work requeued elsewhere), and PR_SET_PDEATHSIG
 * reaches only one process; the shim turns it into a kill of the whole
 * group.  Signals are blocked on entry (since before fork).  Never
 * returns. */
static void s_child(const runtime_process_spec_t *spec, int out_w, int err_w,
                    int errpipe_w)
{
    s_child_err_t ce = {S_STAGE_SETPGID, 0};
    pid_t agent = getppid();
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    if (setpgid(0, 0) < 0)
        goto fail;
    ce.stage = S_STAGE_ISOLATE;
    if (spec->isolate && unshare(S_NS_FLAGS) < 0)
        goto fail;
    pid_t job = fork();
    if (job < 0)
        goto fail;
    if (job == 0) {
        if (spec->isolate)
            s_ns_init(spec, out_w, err_w, errpipe_w);
        s_exec_job(spec, out_w, err_w, errpipe_w);
    }
    /* the shim: holds nothing of the agent's, survives the group's TERM
     * (cancel) to report how the job ended, dies with the agent */
    close_range(3, ~0U, 0);
    prctl(PR_SET_NAME, "drover-shim");
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_agent_death;
    sigaction(SIGHUP, &sa, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGHUP) < 0 || getppid() != agent)
        kill(0, SIGKILL);
    /* SIGCHLD stays blocked: the wait below takes it synchronously */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_SETMASK, &chld, NULL);
    int st;
    s_wait_job(job, &st, spec->lease);
    if (WIFEXITED(st))
        _exit(WEXITSTATUS(st));
    int sig = WTERMSIG(st);
    signal(sig, SIG_DFL);
    raise(sig);
    _exit(128 + sig);
fail:
    ce.err = errno;
    ssize_t w = write(errpipe_w, &ce, sizeof ce);
    (void)w;
    _exit(127);
}

int runtime_process_can_isolate(char *why, size_t whylen)
{
    if (geteuid() != 0) {
        snprintf(why, whylen, "not root");
        return 0;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        return 0;
    }
    if (pid == 0) {
        /* the same steps as a task's shim and init, then nothing */
        if (unshare(S_NS_FLAGS) < 0)
            _exit(10 + (errno & 0x3f));
        pid_t init = fork();
        if (init < 0)
            _exit(2);
        if (init == 0) {
            if (s_private_proc() < 0)
                _exit(100 + (errno & 0x3f));
            _exit(0);
        }
        int st;
        while (waitpid(init, &st, 0) < 0)
            if (errno != EINTR)
                _exit(3);
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 4);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            snprintf(why, whylen, "waitpid: %s", strerror(errno));
            return 0;
        }
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
    if (code == 0)
        return 1;
    if (code >= 100)
        snprintf(why, whylen, "mount /proc in a new namespace: %s",
                 strerror(code - 100));
    else if (code >= 10)
        snprintf(why, whylen, "unshare(CLONE_NEWPID|CLONE_NEWNS): %s",
                 strerror(code - 10));
    else
        snprintf(why, whylen, "probe failed (%d)", code);
    return 0;
}

/* The task dir: the job's working directory.  Its output is kept once,
 * in the scheduler's log, not in a copy here. */
static int s_task_dir(const char *dir, char *reason, size_t reason_len)
{
    if (dr_mkdirs(dir, 0755) < 0) {
        snprintf(reason, reason_len, "create task dir '%s': %s", dir,
                 strerror(errno));
        return DR_EIO;
    }
    return 0;
}

/* The child's report through the close-on-exec pipe: EOF means it
 * exec'd; a record says which stage failed (then it is reaped). */
static int s_child_failed(runtime_process_t *self, int ep,
                          const runtime_process_spec_t *spec, char *reason,
                          size_t reason_len)
{
    s_child_err_t ce;
    ssize_t n;
    do
        n = read(ep, &ce, sizeof ce);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof ce)
        return 0;
    static const char *stage_name[] = {"setpgid", "chdir", "redirect stdio",
                                       "exec", "isolate (namespaces)"};
    const char *what = ce.stage >= 0 && ce.stage <= S_STAGE_ISOLATE
                           ? stage_name[ce.stage]
                           : "start";
    if (ce.stage == S_STAGE_EXEC)
        snprintf(reason, reason_len, "exec '%s': %s", spec->argv[0],
                 strerror(ce.err));
    else
        snprintf(reason, reason_len, "%s: %s", what, strerror(ce.err));
    int st;
    while (waitpid(self->pid, &st, 0) < 0 && errno == EINTR)
        ;
    self->pid = -1;
    return 1;
}

static int s_nonblock(runtime_process_t *self, char *reason, size_t reason_len)
{
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(self->pipe_fd[i], F_GETFL);
        if (fl < 0 || fcntl(self->pipe_fd[i], F_SETFL, fl | O_NONBLOCK) < 0) {
            snprintf(reason, reason_len, "fcntl: %s", strerror(errno));
            return DR_ESYS;
        }
    }
    return 0;
}

int runtime_process_start(const runtime_process_spec_t *spec,
                          runtime_process_t **out, char *reason,
                          size_t reason_len)
{
    *out = NULL;
    if (!spec->argv || !spec->argv[0] || !spec->argv[0][0] || !spec->envp ||
        !spec->task_dir) {
        snprintf(reason, reason_len, "empty command");
        return DR_EINVAL;
    }
    runtime_process_t *self = dr_calloc(1, sizeof *self);
    self->pid = -1;
    self->pipe_fd[0] = self->pipe_fd[1] = -1;
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, ep[2] = {-1, -1};
    int rc = 0;

    rc = s_task_dir(spec->task_dir, reason, reason_len);
    if (rc < 0)
        goto out;
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
        pipe2(ep, O_CLOEXEC) < 0) {
        snprintf(reason, reason_len, "pipe: %s", strerror(errno));
        rc = DR_ESYS;
        goto out;
    }
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t pid = fork();
    int fork_errno = errno;
    if (pid == 0)
        s_child(spec, outp[1], errp[1], ep[1]);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        snprintf(reason, reason_len, "fork: %s", strerror(fork_errno));
        rc = DR_ESYS;
        goto out;
    }

    /* Parent.  Also set the group here so that a signal sent right after
     * this returns reaches the child even if it has not run yet; EACCES
     * (the child already exec'd) is harmless. */
    self->pid = pid;
    if (setpgid(pid, pid) < 0 && errno != EACCES && errno != ESRCH)
        log_debug("setpgid %d: %s", (int)pid, strerror(errno));
    s_close(&outp[1]);
    s_close(&errp[1]);
    s_close(&ep[1]);

    if (s_child_failed(self, ep[0], spec, reason, reason_len)) {
        rc = DR_ESYS;
        goto out;
    }
    self->pipe_fd[0] = outp[0];
    self->pipe_fd[1] = errp[0];
    outp[0] = errp[0] = -1;
    if (s_nonblock(self, reason, reason_len) < 0) {
        rc = DR_ESYS;
        goto out;
    }
    *out = self;
    self = NULL;
out:
    s_close(&outp[0]);
    s_close(&outp[1]);
    s_close(&errp[0]);
    s_close(&errp[1]);
    s_close(&ep[0]);
    s_close(&ep[1]);
    runtime_process_destroy(&self);
    return rc;
}

void runtime_process_destroy(runtime_process_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    runtime_process_t *self = *self_p;
    if (self->pid > 0 && !self->exited) {
        kill(-self->pid, SIGKILL);
        kill(self->pid, SIGKILL);
        int st;
        while (waitpid(self->pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    for (int i = 0; i < 2; i++) {
        s_close(&self->pipe_fd[i]);
    }
    free(self);
    *self_p = NULL;
}

pid_t runtime_process_pid(const runtime_process_t *self)
{
    return self->pid;
}

int runtime_process_fd(const runtime_process_t *self, int stream)
{
    if (stream != RUNTIME_PROCESS_STDOUT && stream != RUNTIME_PROCESS_STDERR)
        return -1;
    return self->pipe_fd[stream];
}

int runtime_process_read(runtime_process_t *self, int stream, char *buf,
                         size_t cap)
{
    if (stream != RUNTIME_PROCESS_STDOUT && stream != RUNTIME_PROCESS_STDERR)
        return DR_EINVAL;
    if (self->pipe_fd[stream] < 0 || cap == 0)
        return 0;
    if (cap > 1u << 20)
        cap = 1u << 20;
    ssize_t n;
    do
        n = read(self->pipe_fd[stream], buf, cap);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (n <= 0) {
        if (n < 0)
            log_warn_errno("read task pipe of pid %d", (int)self->pid);
        s_close(&self->pipe_fd[stream]);
        return 0;
    }
    return (int)n;
}

int runtime_process_poll_exit(runtime_process_t *self)
{
    if (self->exited)
        return 1;
    if (self->pid <= 0)
        return 1;
    int st;
    pid_t r = waitpid(self->pid, &st, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return 0;
    if (r < 0) {
        /* ECHILD: someone else reaped it; treat it as killed. */
        log_warn_errno("waitpid %d", (int)self->pid);
        st = SIGKILL; /* a raw status meaning "killed by SIGKILL" */
    }
    self->exited = 1;
    self->status = st;
    kill(-self->pid, SIGKILL); /* leftovers of the group */
    return 1;
}

int runtime_process_status(const runtime_process_t *self, int *exit_code,
                           int *term_signal)
{
    if (!self->exited)
        return DR_ESTATE;
    if (WIFSIGNALED(self->status)) {
        *term_signal = WTERMSIG(self->status);
        *exit_code = 128 + *term_signal;
    } else {
        *term_signal = 0;
        *exit_code = WEXITSTATUS(self->status);
    }
    return 0;
}

int runtime_process_signal(runtime_process_t *self, int sig)
{
    if (self->pid <= 0 || self->exited)
        return 0;
    if (kill(-self->pid, sig) < 0) {
        if (errno == ESRCH)
            return kill(self->pid, sig) < 0 && errno != ESRCH ? DR_ESYS : 0;
        return DR_ESYS;
    }
    return 0;
}

void runtime_process_close_output(runtime_process_t *self)
{
    s_close(&self->pipe_fd[0]);
    s_close(&self->pipe_fd[1]);
}

int runtime_process_done(const runtime_process_t *self)
{
    return self->exited && self->pipe_fd[0] < 0 && self->pipe_fd[1] < 0;
}
