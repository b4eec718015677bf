/* task_mpi.c - the agent's MPI glue: the hostfile and session dir of an
 * MPI task, the head's launch server (drover-launch asks it for commands
 * on other nodes) and the relay of those launches and their output
 * through the scheduler.  Calls only the task table below it.
 */
#include "agent_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the head's launch server in the loop ------------------------------ */

/* What a launch request concerns. */
typedef struct {
    node_t *node;
    task_t *task;
} s_launch_ctx_t;

static void s_launch_request(void *arg, uint64_t launch_id, const char *host,
                             const char *command);

static size_t s_srv_nfds(void *arg)
{
    task_t *t = arg;
    return t->launch_srv ? mpi_srv_nfds(t->launch_srv) : 0;
}

static int s_srv_fd(void *arg, size_t i, int *want_read, int *want_write)
{
    task_t *t = arg;
    return mpi_srv_fd(t->launch_srv, i, want_read, want_write);
}

static void s_srv_on_fd(void *arg, int fd, int readable, int writable)
{
    task_t *t = arg;
    s_launch_ctx_t x = {t->node, t};
    if (t->launch_srv)
        mpi_srv_on_fd(t->launch_srv, fd, readable, writable, s_launch_request,
                      &x);
    agent_wake(t->node->agent);
}

static const dr_loop_source_t s_srv_source = {
    .nfds = s_srv_nfds,
    .fd = s_srv_fd,
    .on_fd = s_srv_on_fd,
};

/* Every task of an MPI job: the hostfile (DROVER_HOSTFILE) and, in a
 * container, drover-launch (OpenMPI wants its plm_rsh_agent present on
 * every node), both in the task's scratch dir.  The head also gets its
 * launch server and the mpirun command line around the job's argv
 * (head_argv).  0, or -1 with the reason. */
int task_mpi_prepare(node_t *node, task_t *t, const Drover__TaskStart *ts,
                     const char *task_dir, int in_container, envv_t *env,
                     char ***head_argv, char *why, size_t whylen)
{
    const agent_cfg_t *cfg = node->agent->cfg;
    char host[256];
    if (gethostname(host, sizeof host) < 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    char *one[1] = {node->name};
    char *const *hosts = ts->n_hosts ? ts->hosts : one;
    size_t nhosts = ts->n_hosts ? ts->n_hosts : 1;
    uint32_t slots = ts->procs_per_node ? ts->procs_per_node : 1;
    char *hostfile = dr_asprintf("%s/hostfile", task_dir);
    char *launcher = dr_asprintf("%s/drover-launch", task_dir);
    int rc = dr_mkdirs(task_dir, 0755) < 0
                 ? DR_EIO
                 : mpi_hostfile_write(hostfile, hosts, nhosts, host, slots);
    if (rc == 0 && in_container)
        rc = dr_copy_file(cfg->launcher, launcher, 0755);
    free(hostfile);
    free(launcher);
    if (rc < 0) {
        snprintf(why, whylen,
                 "cannot write the MPI hostfile or copy %s in "
                 "%s: %s",
                 cfg->launcher, task_dir, strerror(errno));
        return -1;
    }
    const char *inner = in_container ? RUNTIME_DOCKER_SCRATCH : task_dir;
    envv_put(env, dr_asprintf("DROVER_HOSTFILE=%s/hostfile", inner));
    if (!in_container && !t->mpi_tmp) {
        /* Tasks of one machine must not share OpenMPI's session dir under
         * /tmp: orteds starting at once race to create it (open-mpi/ompi
         * #8510).  A short path of the task's own (PMIx puts unix sockets
         * in it), as TMPDIR: mpirun passes its MCA settings on to every
         * orted, so orte_tmpdir_base would be the head's everywhere. */
        t->mpi_tmp = dr_asprintf("/tmp/drover-mpi.%s.%" PRIu64 ".%u",
                                 node->name, t->job_id, t->attempt);
        if (dr_rmtree(t->mpi_tmp) < 0 || mkdir(t->mpi_tmp, 0700) < 0) {
            snprintf(why, whylen, "cannot make %s: %s", t->mpi_tmp,
                     strerror(errno));
            return -1;
        }
        int job_tmpdir = 0;
        for (size_t i = 0; i < ts->n_env; i++)
            job_tmpdir |= strcmp(ts->env[i]->key, "TMPDIR") == 0;
        if (!job_tmpdir)
            envv_put(env, dr_asprintf("TMPDIR=%s", t->mpi_tmp));
    }
    if (!head_argv)
        return 0;
    char token[MSI_SECRET_LEN + 1];
    char *sock = dr_asprintf("drover-launch/%s/%" PRIu64 "-%u", node->name,
                             t->job_id, t->attempt);
    if (msi_secret_new(token) < 0 ||
        mpi_srv_new(sock, token, &t->launch_srv) < 0) {
        snprintf(why, whylen, "cannot open the MPI launch socket @%s: %s", sock,
                 strerror(errno));
        free(sock);
        return -1;
    }
    t->launch_reg = dr_loop_add_source(node->agent->loop, &s_srv_source, t,
                                       AGENT_PRIO_LAUNCH);
    envv_put(env, dr_asprintf("DROVER_LAUNCH_SOCKET=@%s", sock));
    envv_put(env, dr_asprintf("DROVER_LAUNCH_TOKEN=%s", token));
    explicit_bzero(token, sizeof token);
    free(sock);
    t->tagger = mpi_tagger_new(hosts, nhosts, slots);
    char *hf = dr_asprintf("%s/hostfile", inner);
    *head_argv =
        mpi_head_argv(hf, (uint32_t)nhosts, slots, ts->argv, ts->n_argv);
    free(hf);
    return 0;
}

int task_spawn_prepare(node_t *node, task_t *t, const char *task_dir,
                       int in_container, char **launcher, char *why,
                       size_t whylen)
{
    const agent_cfg_t *cfg = node->agent->cfg;
    *launcher = NULL;
    if (in_container) {
        char *copy = dr_asprintf("%s/drover-launch", task_dir);
        int rc = dr_mkdirs(task_dir, 0755) < 0
                     ? DR_EIO
                     : dr_copy_file(cfg->launcher, copy, 0755);
        free(copy);
        if (rc < 0) {
            snprintf(why, whylen, "cannot copy %s into %s: %s", cfg->launcher,
                     task_dir, strerror(errno));
            return -1;
        }
        *launcher = dr_asprintf("%s/drover-launch", RUNTIME_DOCKER_SCRATCH);
    } else {
        *launcher = dr_strdup(cfg->launcher);
    }
    t->tagger = mpi_tagger_new_local(node->name);
    return 0;
}

/* drover-launch asked (on the head) for a command on another node. */
static void s_launch_request(void *arg, uint64_t launch_id, const char *host,
                             const char *command)
{
    s_launch_ctx_t *x = arg;
    dr_env_t env;
    Drover__MpiLaunch m = DROVER__MPI_LAUNCH__INIT;
    m.job_id = x->task->job_id;
    m.attempt = x->task->attempt;
    m.launch_id = launch_id;
    m.node = (char *)host;
    m.command = (char *)command;
    node_env_init(x->node, &env);
    env.body_case = DROVER__ENVELOPE__BODY_MPI_LAUNCH;
    env.mpi_launch = &m;
    node_send(x->node, &env);
    log_info("job %" PRIu64 " attempt %u on node %s: launch %" PRIu64 " on %s",
             m.job_id, m.attempt, x->node->name, launch_id, host);
}
/* What a launched command on another node printed, or its end: for the
 * drover-launch that asked for it. */
void task_mpi_on_launch_io(node_t *node, const dr_env_t *env)
{
    const Drover__MpiLaunchIo *m = env->mpi_launch_io;
    task_t *t = task_find(node, m->job_id, m->attempt);
    if (!t || !t->launch_srv)
        return; /* mpirun is gone already */
    if (m->data.len)
        mpi_srv_output(t->launch_srv, m->launch_id,
                       m->stream == DROVER__STREAM__STREAM_STDERR, m->data.data,
                       m->data.len);
    if (m->exited)
        mpi_srv_exit(t->launch_srv, m->launch_id, m->exit_code, m->error);
}
