/* provider_local.c - the embedded default provider: nodes are drover-agent
 * processes on this machine.
 *
 * Owns nothing but its configuration strings.  Agents are started in their
 * own sessions' process group of the scheduler (so that a test harness that
 * kills the scheduler's group takes them too) and survive a kill -9 of the
 * scheduler, as VMs survive a restart of their control plane.
 *
 * With CURVE on, each agent is started with the single-use join token the
 * scheduler made for its node (--join-token): it makes its own key pair
 * in its work directory and joins, as a VM of a cloud provider would.
 *
 * Its own records say which nodes it started: <state_dir>/nodes/NAME.pid,
 * written when it forks the agent.  destroy() and gone() go by that record
 * alone, never by a pid a node reported, so a node that joined by hand
 * (an operator's agent) is never signalled; and SIGTERM goes only to a pid
 * that is still a drover-agent with that node name, so a recycled pid is
 * never hit.
 *
 * It also keeps the agents it started in memory (pid, node, cluster, where
 * their log stood at the start).  An agent that exits before it registers
 * - a bad --agent-bin, a missing library, a refused join - fails its node
 * at once: a failed create is reported with the exit status and the last
 * line of its log (nodes/NAME.log), so that `drover cluster show` says
 * why instead of the node waiting out the resume timeout.
 */
#include "provider.h"
#include "dr_err.h"
#include "gpu_inventory.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* An agent this provider started and has not yet reaped. */
typedef struct s_child {
    pid_t pid;
    char node[64];
    char cluster[64];
    off_t log_from; /* its log's size before it started */
    int stopping;   /* destroy() sent it SIGTERM */
    struct s_child *next;
} child_t;

typedef struct {
    char events_url[512]; /* scheduled events, for low-priority nodes */
    child_t *children;
    char *agent_bin;
    char *connect;
    char *state_dir;
    int heartbeat_ms;
} local_t;

static char *s_record(const local_t *l, const char *node_name)
{
    return dr_asprintf("%s/nodes/%s.pid", l->state_dir, node_name);
}

/* The pid this provider started for node_name, or 0 if it started none. */
static int s_own_pid(const local_t *l, const char *node_name)
{
    char *path = s_record(l, node_name);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return 0;
    int pid = 0;
    if (fscanf(f, "%d", &pid) != 1 || pid <= 0)
        pid = 0;
    fclose(f);
    return pid;
}

static void s_forget(const local_t *l, const char *node_name)
{
    char *path = s_record(l, node_name);
    if (unlink(path) < 0 && errno != ENOENT)
        log_warn_errno("local provider: cannot remove %s", path);
    free(path);
}

/* Writes the record of a started agent; 0, or DR_EPROVIDER (then the
 * agent is stopped: without its record it could never be). */
static int s_remember(const local_t *l, const char *node_name, pid_t pid,
                      char *err, size_t errlen)
{
    char *rec = s_record(l, node_name);
    FILE *f = fopen(rec, "w");
    int ok = f && fprintf(f, "%d\n", (int)pid) > 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        snprintf(err, errlen, "cannot write %s: %s", rec, strerror(errno));
        (void)kill(pid, SIGTERM);
    }
    free(rec);
    return ok ? 0 : DR_EPROVIDER;
}

/* A node of this name that was here before left its key pair and join
 * record in the work dir (agent/agent_cfg.h: node.key, node.conf); an
 * agent that finds them uses that key and ignores its token, but the
 * scheduler revoked that key when it removed the node, so the new node
 * would be refused for ever.  A new node is a new identity: forget the
 * old one.  0, or DR_EPROVIDER with the reason in err. */
static int s_forget_identity(const char *dir, char *err, size_t errlen)
{
    static const char *const files[] = {"node.key", "node.conf"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *path = dr_asprintf("%s/%s", dir, files[i]);
        int bad = unlink(path) < 0 && errno != ENOENT;
        if (bad)
            snprintf(err, errlen, "cannot remove the old node's %s: %s", path,
                     strerror(errno));
        free(path);
        if (bad)
            return DR_EPROVIDER;
    }
    return 0;
}

/* The arguments every local agent gets; returns how many. */
static int s_base_args(local_t *l, const provider_cluster_t *c,
                       const char *node_name, char *dir, char *cpus, char *mem,
                       char *hb, char **argv)
{
    int ac = 0;
    argv[ac++] = l->agent_bin;
    argv[ac++] = "--scheduler";
    argv[ac++] = l->connect;
    argv[ac++] = "--name";
    argv[ac++] = (char *)node_name;
    argv[ac++] = "--cluster";
    argv[ac++] = (char *)c->name;
    argv[ac++] = "--vm-size";
    argv[ac++] = (char *)c->vm->name;
    argv[ac++] = "--cpus";
    argv[ac++] = cpus;
    argv[ac++] = "--memory-mb";
    argv[ac++] = mem;
    argv[ac++] = "--work-dir";
    argv[ac++] = dir;
    argv[ac++] = "--heartbeat-ms";
    argv[ac++] = hb;
    /* its nodes share this machine: MPI between them goes over loopback */
    argv[ac++] = "--mpi-iface";
    argv[ac++] = "lo";
    return ac;
}

/* Starts the agent with its output appended to logp: its pid, or -1. */
__attribute__((noreturn)) static void s_exec(const char *bin, char **argv,
                                             const char *logp);

/* Starts the agent with its output appended to logp: its pid, or -1. */
static pid_t s_spawn(const char *bin, char **argv, const char *logp)
{
    pid_t pid = fork();
    if (pid == 0)
        s_exec(bin, argv, logp);
    return pid;
}

static void s_exec(const char *bin, char **argv, const char *logp)
{
    int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int nul = open("/dev/null", O_RDONLY);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    if (nul >= 0)
        dup2(nul, 0);
    /* close everything else the scheduler holds (sockets, db) */
    for (int i = 3; i < 1024; i++)
        close(i);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(bin, argv);
    _exit(127);
}

static int s_create(provider_t *p, const provider_cluster_t *c,
                    const char *node_name, int *pid_out, char *err,
                    size_t errlen)
{
    local_t *l = p->ctx;
    char cpus[16], mem[32], hb[16];
    snprintf(cpus, sizeof cpus, "%u", c->vm->vcpus);
    snprintf(mem, sizeof mem, "%llu", (unsigned long long)c->vm->memory_mb);
    snprintf(hb, sizeof hb, "%d", l->heartbeat_ms);
    char *dir = dr_asprintf("%s/nodes/%s", l->state_dir, node_name);
    char *logp = dr_asprintf("%s/nodes/%s.log", l->state_dir, node_name);
    char *inv = dr_asprintf("%s/nodes/%s.gpus.json", l->state_dir, node_name);
    char *token = provider_join_token(l->state_dir, node_name);
    char *spub = dr_asprintf("%s/keys/scheduler.pub", l->state_dir);
    int rc = 0;
    if (dr_mkdirs(dir, 0755) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        rc = DR_EPROVIDER;
        goto out;
    }
    if (access(l->agent_bin, X_OK) < 0) {
        snprintf(err, errlen, "agent binary %s: %s", l->agent_bin,
                 strerror(errno));
        rc = DR_EPROVIDER;
        goto out;
    }
    /* a GPU vm size gets its catalog GPUs through an inventory file */
    char *argv[40];
    int ac = 0;
    ac = s_base_args(l, c, node_name, dir, cpus, mem, hb, argv);
    if (c->vm->gpus) {
        if (gpu_inventory_write(inv, c->vm->gpus, c->vm->gpu_model,
                                c->vm->gpu_memory_gb, node_name) < 0) {
            snprintf(err, errlen, "cannot write the GPU inventory %s", inv);
            rc = DR_EPROVIDER;
            goto out;
        }
        argv[ac++] = "--gpu-inventory";
        argv[ac++] = inv;
    }
    if (token) {
        /* the agent makes its own key pair and joins with the token */
        if ((rc = s_forget_identity(dir, err, errlen)) < 0)
            goto out;
        argv[ac++] = "--join-token";
        argv[ac++] = token;
        argv[ac++] = "--scheduler-key";
        argv[ac++] = spub;
    }
    if (l->events_url[0] && strcmp(c->vm_priority, "lowpriority") == 0) {
        argv[ac++] = "--scheduled-events-url";
        argv[ac++] = l->events_url;
    }
    argv[ac] = NULL;
    struct stat st;
    off_t log_from = stat(logp, &st) == 0 ? st.st_size : 0;
    pid_t pid = s_spawn(l->agent_bin, argv, logp);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        rc = DR_EPROVIDER;
        goto out;
    }
    *pid_out = (int)pid;
    log_info("local provider: started agent for node %s (pid %d)", node_name,
             (int)pid);
    child_t *ch = dr_calloc(1, sizeof *ch);
    ch->pid = pid;
    snprintf(ch->node, sizeof ch->node, "%s", node_name);
    snprintf(ch->cluster, sizeof ch->cluster, "%s", c->name);
    ch->log_from = log_from;
    ch->next = l->children;
    l->children = ch;
    rc = s_remember(l, node_name, pid, err, errlen);
    if (rc < 0) /* stopped there, and this failure is reported already */
        ch->stopping = 1;
out:
    free(dir);
    free(logp);
    free(inv);
    free(token);
    free(spub);
    return rc;
}

/* 1 if pid is a drover-agent process running as node `name`. */
static int s_is_our_agent(int pid, const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    int agent = 0, named = 0, next_is_name = 0;
    for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
        const char *a = buf + i;
        if (strstr(a, "drover-agent"))
            agent = 1;
        if (next_is_name && strcmp(a, name) == 0)
            named = 1;
        next_is_name = strcmp(a, "--name") == 0;
    }
    return agent && named;
}

static int s_destroy(provider_t *p, const provider_cluster_t *c,
                     const char *node_name, int reported_pid, char *err,
                     size_t errlen)
{
    local_t *l = p->ctx;
    (void)c;
    (void)reported_pid; /* a node's word is no record of ours */
    int pid = s_own_pid(l, node_name);
    if (!pid) {
        log_info("local provider: node %s was not started by it: leaving "
                 "its agent alone",
                 node_name);
        return 0;
    }
    if (!s_is_our_agent(pid, node_name)) {
        s_forget(l, node_name);
        return 0; /* already gone: nothing to release */
    }
    for (child_t *ch = l->children; ch; ch = ch->next)
        if (ch->pid == pid)
            ch->stopping = 1; /* its exit is no failure */
    if (kill(pid, SIGTERM) < 0 && errno != ESRCH) {
        snprintf(err, errlen, "kill %d: %s", pid, strerror(errno));
        return DR_EPROVIDER;
    }
    log_info("local provider: stopped agent of node %s (pid %d)", node_name,
             pid);
    return 0;
}

static int s_gone(provider_t *p, const char *node_name, int reported_pid)
{
    const local_t *l = p->ctx;
    (void)reported_pid;
    int pid = s_own_pid(l, node_name);
    if (pid && !s_is_our_agent(pid, node_name)) {
        s_forget(l, node_name);
        return 1;
    }
    return 0;
}

/* The agent's log line once it is registered (agent/session.c). */
#define S_REGISTERED_MARK "registered with"

/* What the agent wrote to its log since log_from (at most the last 4 KiB):
 * its last non-empty line, control characters as '?', in line; and
 * whether it says it registered. */
static int s_log_tail(const char *path, off_t log_from, char *line, size_t len)
{
    snprintf(line, len, "(its log is empty)");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(line, len, "(no log: %s)", strerror(errno));
        return 0;
    }
    char buf[4097];
    struct stat st;
    off_t from = log_from;
    if (fstat(fd, &st) == 0 && st.st_size - from > 4096)
        from = st.st_size - 4096;
    ssize_t n = pread(fd, buf, sizeof buf - 1, from);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    int registered = strstr(buf, S_REGISTERED_MARK) != NULL;
    while (n > 0 &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    char *last = strrchr(buf, '\n');
    last = last ? last + 1 : buf;
    for (char *q = last; *q; q++)
        if ((unsigned char)*q < ' ' || *q == 0x7f)
            *q = '?';
    if (*last)
        snprintf(line, len, "%.300s", last);
    return registered;
}

/* The local provider's children are its agents; it is asked last, so
 * every child no other provider claimed is one of them. */
static int s_child_exited(provider_t *p, pid_t pid, int status)
{
    local_t *l = p->ctx;
    char how[64];
    if (WIFEXITED(status))
        snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
    else
        snprintf(how, sizeof how, "ended (wait status %d)", status);
    child_t **pp = &l->children;
    while (*pp && (*pp)->pid != pid)
        pp = &(*pp)->next;
    child_t *ch = *pp;
    if (!ch) {
        log_info("local provider: agent pid %d %s", (int)pid, how);
        return 1;
    }
    *pp = ch->next;
    char *logp = dr_asprintf("%s/nodes/%s.log", l->state_dir, ch->node);
    char last[320];
    int registered = s_log_tail(logp, ch->log_from, last, sizeof last);
    if (ch->stopping || registered) {
        log_info("local provider: agent of node %s (pid %d) %s", ch->node,
                 (int)pid, how);
    } else {
        log_warn("local provider: agent of node %s (pid %d) %s before it "
                 "registered; last line of %s: %s",
                 ch->node, (int)pid, how, logp, last);
        provider_report(p, ch->cluster, ch->node, "create", 0,
                        "its agent (pid %d) %s before it registered; last "
                        "line of %s: %s",
                        (int)pid, how, logp, last);
    }
    free(logp);
    free(ch);
    return 1;
}

static void s_free(provider_t *p)
{
    local_t *l = p->ctx;
    while (l->children) {
        child_t *next = l->children->next;
        free(l->children);
        l->children = next;
    }
    free(l->agent_bin);
    free(l->connect);
    free(l->state_dir);
    free(l);
}

static const provider_ops_t s_local_ops = {
    .name = "local",
    .create = s_create,
    .destroy = s_destroy,
    .gone = s_gone,
    .child_exited = s_child_exited,
    .free = s_free,
};

provider_t *provider_local_new(const char *agent_bin, const char *connect,
                               const char *state_dir, int heartbeat_ms,
                               const char *events_url)
{
    local_t *l = dr_calloc(1, sizeof *l);
    snprintf(l->events_url, sizeof l->events_url, "%s",
             events_url ? events_url : "");
    l->agent_bin = dr_strdup(agent_bin);
    l->connect = dr_strdup(connect);
    l->state_dir = dr_strdup(state_dir);
    l->heartbeat_ms = heartbeat_ms;
    provider_t *p = dr_calloc(1, sizeof *p);
    p->ops = &s_local_ops;
    p->ctx = l;
    return p;
}
