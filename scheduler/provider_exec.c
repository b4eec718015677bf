/* provider_exec.c - nodes created and deleted by an operator's programs,
 * like Slurm's ResumeProgram / SuspendProgram.
 *
 * Owns its configuration and the table of programs still running.  A
 * program runs as a child of the scheduler with its output appended to
 * <state_dir>/providers/CLUSTER.log; its exit is seen when the scheduler
 * reaps it (child_exited) and reported with the exit code.  A program that
 * runs past EXEC_TIMEOUT_MS is killed and reported as failed.  Nothing
 * waits: create() and destroy() return once the program is started.
 */
#include "dr_err.h"
#include "log.h"
#include "provider.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXEC_TIMEOUT_MS (5 * 60 * 1000)
#define MAX_RUNNING 256

typedef struct {
    pid_t pid;
    char cluster[64];
    char node[64];
    const char *op; /* "create" or "delete" */
    int64_t deadline;
} run_t;

typedef struct {
    char *resume;
    char *suspend;
    char *agent_bin;
    char *connect;
    char *state_dir;
    run_t runs[MAX_RUNNING];
    size_t nruns;
} exec_t;

/* In the forked child: output to fd, the environment the program reads,
 * then the program with CLUSTER NODE VM_SIZE PRIORITY LOCATION. */
__attribute__((noreturn)) static void s_child(const exec_t *x,
                                              const provider_cluster_t *c,
                                              const char *node,
                                              const char *prog, int fd)
{
    char cpus[16], mem[32];
    snprintf(cpus, sizeof cpus, "%u", c->vm->vcpus);
    snprintf(mem, sizeof mem, "%llu", (unsigned long long)c->vm->memory_mb);
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0)
        dup2(nul, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    for (int i = 3; i < 1024; i++)
        close(i);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setenv("DROVER_AGENT_ENDPOINT", x->connect, 1);
    setenv("DROVER_AGENT_BIN", x->agent_bin, 1);
    setenv("DROVER_VM_CPUS", cpus, 1);
    setenv("DROVER_VM_MEMORY_MB", mem, 1);
    setenv("DROVER_STATE_DIR", x->state_dir, 1);
    /* the node's join token (when CURVE is on) and the scheduler's public
     * key file: the program delivers them to the node it creates, whose
     * agent makes its own key pair and joins */
    char *token = provider_join_token(x->state_dir, node);
    if (token) {
        char path[1200];
        setenv("DROVER_JOIN_TOKEN", token, 1);
        snprintf(path, sizeof path, "%s/keys/scheduler.pub", x->state_dir);
        setenv("DROVER_SCHEDULER_KEY", path, 1);
        free(token);
    }
    execl(prog, prog, c->name, node, c->vm->name, c->vm_priority, c->location,
          (char *)NULL);
    _exit(127);
}

static int s_spawn(provider_t *p, const provider_cluster_t *c, const char *node,
                   const char *op, const char *prog, char *err, size_t errlen)
{
    exec_t *x = p->ctx;
    if (x->nruns == MAX_RUNNING) {
        snprintf(err, errlen, "%d provider programs already running",
                 MAX_RUNNING);
        return DR_EAGAIN;
    }
    char *dir = dr_asprintf("%s/providers", x->state_dir);
    char *logp = dr_asprintf("%s/%s.log", dir, c->name);
    int rc = 0;
    if (dr_mkdirs(dir, 0750) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        rc = DR_EPROVIDER;
        goto out;
    }
    if (access(prog, X_OK) < 0) {
        snprintf(err, errlen, "%s program %s: %s", op, prog, strerror(errno));
        rc = DR_EPROVIDER;
        goto out;
    }
    int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", logp, strerror(errno));
        rc = DR_EPROVIDER;
        goto out;
    }
    char head[256];
    int hn = snprintf(head, sizeof head, "=== %lld %s %s %s\n",
                      (long long)dr_now_ms(), op, c->name, node);
    (void)dr_write_all(fd, head, (size_t)hn);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fd);
        rc = DR_EPROVIDER;
        goto out;
    }
    if (pid == 0)
        s_child(x, c, node, prog, fd);
    close(fd);
    run_t *r = &x->runs[x->nruns++];
    r->pid = pid;
    snprintf(r->cluster, sizeof r->cluster, "%s", c->name);
    snprintf(r->node, sizeof r->node, "%s", node);
    r->op = op;
    r->deadline = dr_mono_ms() + EXEC_TIMEOUT_MS;
    log_info("exec provider: %s %s: started %s (pid %d)", op, node, prog,
             (int)pid);
out:
    free(dir);
    free(logp);
    return rc;
}

static int s_create(provider_t *p, const provider_cluster_t *c,
                    const char *node_name, int *pid_out, char *err,
                    size_t errlen)
{
    exec_t *x = p->ctx;
    *pid_out = 0; /* the program's pid is not the node's */
    return s_spawn(p, c, node_name, "create", x->resume, err, errlen);
}

static int s_destroy(provider_t *p, const provider_cluster_t *c,
                     const char *node_name, int pid, char *err, size_t errlen)
{
    exec_t *x = p->ctx;
    (void)pid;
    return s_spawn(p, c, node_name, "delete", x->suspend, err, errlen);
}

static int s_child_exited(provider_t *p, pid_t pid, int status)
{
    exec_t *x = p->ctx;
    for (size_t i = 0; i < x->nruns; i++) {
        if (x->runs[i].pid != pid)
            continue;
        run_t r = x->runs[i];
        x->runs[i] = x->runs[--x->nruns];
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (WIFEXITED(status))
            provider_report(p, r.cluster, r.node, r.op, ok,
                            "%s program exited %d", r.op, WEXITSTATUS(status));
        else
            provider_report(p, r.cluster, r.node, r.op, 0,
                            "%s program killed by signal %d", r.op,
                            WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return 1;
    }
    return 0;
}

static int s_poll(provider_t *p)
{
    exec_t *x = p->ctx;
    int64_t now = dr_mono_ms();
    for (size_t i = 0; i < x->nruns; i++) {
        if (x->runs[i].deadline && now > x->runs[i].deadline) {
            log_warn("exec provider: %s %s: program pid %d ran past %d s; "
                     "killing it",
                     x->runs[i].op, x->runs[i].node, (int)x->runs[i].pid,
                     EXEC_TIMEOUT_MS / 1000);
            kill(x->runs[i].pid, SIGKILL);
            x->runs[i].deadline = 0; /* reaped and reported as killed */
        }
    }
    return -1;
}

static void s_free(provider_t *p)
{
    exec_t *x = p->ctx;
    free(x->resume);
    free(x->suspend);
    free(x->agent_bin);
    free(x->connect);
    free(x->state_dir);
    free(x);
}

static const provider_ops_t s_exec_ops = {
    .name = "exec",
    .create = s_create,
    .destroy = s_destroy,
    .child_exited = s_child_exited,
    .poll = s_poll,
    .free = s_free,
};

provider_t *provider_exec_new(const char *resume_program,
                              const char *suspend_program,
                              const char *agent_bin, const char *connect,
                              const char *state_dir)
{
    exec_t *x = dr_calloc(1, sizeof *x);
    x->resume = dr_strdup(resume_program);
    x->suspend = dr_strdup(suspend_program);
    x->agent_bin = dr_strdup(agent_bin);
    x->connect = dr_strdup(connect);
    x->state_dir = dr_strdup(state_dir);
    provider_t *p = dr_calloc(1, sizeof *p);
    p->ops = &s_exec_ops;
    p->ctx = x;
    return p;
}
