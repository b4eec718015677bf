/* spawn.c - `drover-launch --spawn P COMMAND...`: P processes of a job on
 * one node, as Azure ML starts `process_count_per_instance` of a PyTorch
 * job (and torchrun would).
 *
 * Each process gets LOCAL_RANK (0..P-1), RANK (DROVER_NODE_RANK * P +
 * LOCAL_RANK) and LOCAL_WORLD_SIZE (P) on top of the task's environment,
 * which holds the rest (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, NODE_RANK).
 * A TensorFlow job's task instead holds DROVER_TF_CLUSTER (TF_CONFIG's
 * cluster object), DROVER_TF_TASKS (this node's tasks, "worker:2,ps:0")
 * and DROVER_SPAWN_FIRST_RANK: process i gets TF_CONFIG with the i-th
 * task, and its rank (for the tags) is the first rank + i.
 * Their output lines are tagged "[1,RANK]<stdout>:" (OpenMPI's own tags)
 * so that the agent names each line's node and rank as it does for MPI.
 * The first process that fails takes the others down (SIGTERM); the exit
 * status is that failure's (128 + its signal when killed), else 0.  A
 * SIGTERM or SIGINT to the spawner goes on to every process.
 *
 * libc only, like the rest of drover-launch: it also runs in any image.
 */
#include "spawn.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SPAWN_MAX 256
#define LINE_MAX_BYTES (64u << 10)

typedef struct {
    pid_t pid;
    int rank;
    char *tf_config; /* tensorflow: this process's TF_CONFIG, or NULL */
    int fd[2];       /* stdout, stderr read ends; -1 at EOF */
    char *carry[2];  /* an incomplete line per stream */
    size_t carry_len[2];
    int done;
    int status;
} s_proc_t;

/* The signal that asks us to stop, or 0: set by the handler only. */
static volatile sig_atomic_t s_stop_sig;

static void s_on_stop(int sig)
{
    s_stop_sig = sig;
}

int launch_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One line (with its '\n' if any) to our stdout or stderr, tagged. */
static void s_emit(const s_proc_t *p, int stream, const char *line, size_t n)
{
    char tag[48];
    int tn = snprintf(tag, sizeof tag, "[1,%d]<%s>:", p->rank,
                      stream ? "stderr" : "stdout");
    int out = stream ? STDERR_FILENO : STDOUT_FILENO;
    (void)launch_write_all(out, tag, (size_t)tn);
    (void)launch_write_all(out, line, n);
}

static void s_feed(s_proc_t *p, int stream, const char *data, size_t n, int eof)
{
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(data + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (data + i)) + 1 : n - i;
        size_t cl = p->carry_len[stream];
        if (!nl || cl) {
            char *c = realloc(p->carry[stream], cl + len);
            if (!c)
                abort();
            memcpy(c + cl, data + i, len);
            p->carry[stream] = c;
            p->carry_len[stream] = cl + len;
            if (nl || p->carry_len[stream] >= LINE_MAX_BYTES) {
                s_emit(p, stream, c, p->carry_len[stream]);
                p->carry_len[stream] = 0;
            }
        } else {
            s_emit(p, stream, data + i, len);
        }
        i += len;
    }
    if (eof && p->carry_len[stream]) {
        /* a last line without its newline: given one, as a line */
        s_feed(p, stream, "\n", 1, 0);
    }
}

static int s_env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    char *end = NULL;
    long x = v ? strtol(v, &end, 10) : dflt;
    return v && (end == v || *end || x < 0 || x > 1000000) ? dflt : (int)x;
}

/* TensorFlow: each process's TF_CONFIG from DROVER_TF_CLUSTER and the
 * nprocs entries "TYPE:INDEX" of DROVER_TF_TASKS.  0 when the task is
 * not TensorFlow's or it is done, -1 when the variables are malformed. */
static int s_tf_configs(s_proc_t *v, int nprocs)
{
    const char *cluster = getenv("DROVER_TF_CLUSTER");
    const char *tasks = getenv("DROVER_TF_TASKS");
    if (!cluster)
        return 0;
    if (!tasks || cluster[0] != '{')
        return -1;
    const char *p = tasks;
    for (int i = 0; i < nprocs; i++) {
        char type[8];
        int index = -1, used = 0;
        if (sscanf(p, "%7[a-z]:%d%n", type, &index, &used) != 2 || index < 0 ||
            (strcmp(type, "worker") != 0 && strcmp(type, "ps") != 0))
            return -1;
        p += used;
        if (*p != (i + 1 < nprocs ? ',' : '\0'))
            return -1;
        p += *p == ',';
        size_t n = strlen(cluster) + 96;
        v[i].tf_config = malloc(n);
        if (!v[i].tf_config)
            abort();
        snprintf(v[i].tf_config, n,
                 "{\"cluster\": %s, \"task\": {\"type\": \"%s\", \"index\": "
                 "%d}, \"environment\": \"cloud\"}",
                 cluster, type, index);
    }
    return 0;
}

/* Forks process i with its ranks; 0 or -1 (errno). */
static int s_start(s_proc_t *p, int local, int nprocs, int first_rank,
                   char **cmd)
{
    int out[2], err[2];
    if (pipe(out) < 0)
        return -1;
    if (pipe(err) < 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    p->rank = first_rank + local;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char buf[16];
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        if (p->tf_config) {
            setenv("TF_CONFIG", p->tf_config, 1);
        } else {
            snprintf(buf, sizeof buf, "%d", local);
            setenv("LOCAL_RANK", buf, 1);
            snprintf(buf, sizeof buf, "%d", p->rank);
            setenv("RANK", buf, 1);
            snprintf(buf, sizeof buf, "%d", nprocs);
            setenv("LOCAL_WORLD_SIZE", buf, 1);
        }
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        execvp(cmd[0], cmd);
        fprintf(stderr, "drover-launch: exec %s: %s\n", cmd[0],
                strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    p->pid = pid;
    p->fd[0] = out[0];
    p->fd[1] = err[0];
    return 0;
}

static void s_kill_all(s_proc_t *v, int n, int sig)
{
    for (int i = 0; i < n; i++)
        if (v[i].pid > 0 && !v[i].done)
            kill(v[i].pid, sig);
}

int launch_spawn(int nprocs, char **cmd)
{
    if (nprocs < 1 || nprocs > SPAWN_MAX || !cmd[0]) {
        fprintf(stderr, "drover-launch: --spawn needs 1..%d and a command\n",
                SPAWN_MAX);
        return 255;
    }
    int first_rank = s_env_int("DROVER_SPAWN_FIRST_RANK",
                               s_env_int("DROVER_NODE_RANK", 0) * nprocs);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    s_proc_t *v = calloc((size_t)nprocs, sizeof *v);
    if (!v)
        return 255;
    if (s_tf_configs(v, nprocs) < 0) {
        fprintf(stderr,
                "drover-launch: DROVER_TF_TASKS does not name %d "
                "tasks (TYPE:INDEX,...)\n",
                nprocs);
        for (int i = 0; i < nprocs; i++)
            free(v[i].tf_config);
        free(v);
        return 255;
    }
    int started = 0, rc = 0, failed = 0;
    for (; started < nprocs; started++) {
        if (s_start(&v[started], started, nprocs, first_rank, cmd) < 0) {
            fprintf(stderr, "drover-launch: cannot start process %d: %s\n",
                    started, strerror(errno));
            rc = 255;
            failed = 1;
            break;
        }
    }
    if (failed)
        s_kill_all(v, started, SIGTERM);
    int forwarded = 0;
    for (;;) {
        if (s_stop_sig && !forwarded) {
            s_kill_all(v, started, s_stop_sig);
            forwarded = 1;
        }
        struct pollfd pfd[2 * SPAWN_MAX];
        int np = 0, map[2 * SPAWN_MAX];
        for (int i = 0; i < started; i++)
            for (int s = 0; s < 2; s++)
                if (v[i].fd[s] >= 0) {
                    pfd[np] = (struct pollfd){v[i].fd[s], POLLIN, 0};
                    map[np++] = i * 2 + s;
                }
        int alive = 0;
        for (int i = 0; i < started; i++)
            alive += !v[i].done;
        if (!np && !alive)
            break;
        if (np && poll(pfd, (nfds_t)np, 200) < 0 && errno != EINTR)
            break;
        if (!np)
            usleep(20000);
        for (int k = 0; k < np; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            s_proc_t *p = &v[map[k] / 2];
            int s = map[k] % 2;
            char buf[16384];
            ssize_t r = read(p->fd[s], buf, sizeof buf);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                s_feed(p, s, "", 0, 1);
                close(p->fd[s]);
                p->fd[s] = -1;
            } else {
                s_feed(p, s, buf, (size_t)r, 0);
            }
        }
        int st;
        pid_t pid;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
            for (int i = 0; i < started; i++) {
                if (v[i].pid != pid)
                    continue;
                v[i].done = 1;
                v[i].status = st;
                int code = WIFEXITED(st)     ? WEXITSTATUS(st)
                           : WIFSIGNALED(st) ? 128 + WTERMSIG(st)
                                             : 1;
                if (code != 0 && !failed) {
                    failed = 1;
                    rc = code;
                    fprintf(stderr,
                            "drover-launch: process rank %d %s %d; stopping "
                            "the others\n",
                            v[i].rank,
                            WIFSIGNALED(st) ? "killed by signal"
                                            : "exited with code",
                            WIFSIGNALED(st) ? WTERMSIG(st) : code);
                    s_kill_all(v, started, SIGTERM);
                }
            }
        }
    }
    for (int i = 0; i < nprocs; i++) {
        free(v[i].carry[0]);
        free(v[i].carry[1]);
        free(v[i].tf_config);
    }
    free(v);
    if (!failed && s_stop_sig)
        rc = 128 + s_stop_sig;
    return rc;
}
