/* task_start.c - TaskStart and MpiLaunch: checks a task's request,
 * builds its environment and starts it in its runtime (or as a waiting MPI
 * worker).  Nothing received is trusted: every field is checked first.
 */
#include "agent_int.h"
#include "dist_tf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_is_mpi(const Drover__TaskStart *ts)
{
    return ts->distribution && strcmp(ts->distribution, "mpi") == 0;
}

/* A PyTorch job: every node starts procs_per_node processes itself. */
static int s_is_torch(const Drover__TaskStart *ts)
{
    return ts->distribution && strcmp(ts->distribution, "pytorch") == 0;
}

/* PyTorch and TensorFlow: every node spawns its own processes. */
static int s_spawns(const Drover__TaskStart *ts)
{
    return s_is_torch(ts) || dist_tf_is(ts);
}

/* argv and env: counted, named, and bounded in bytes. */
static int s_check_args(const Drover__TaskStart *ts, char *why, size_t n)
{
    if (ts->n_argv > AGENT_MAX_ARGV) {
        snprintf(why, n, "argv has %zu entries (at most %d)", ts->n_argv,
                 AGENT_MAX_ARGV);
        return DR_EINVAL;
    }
    if (ts->n_env > AGENT_MAX_ENV) {
        snprintf(why, n, "env has %zu entries (at most %d)", ts->n_env,
                 AGENT_MAX_ENV);
        return DR_EINVAL;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < ts->n_argv; i++) {
        if (!ts->argv[i]) {
            snprintf(why, n, "argv[%zu] missing", i);
            return DR_EINVAL;
        }
        bytes += strlen(ts->argv[i]) + 1;
    }
    for (size_t i = 0; i < ts->n_env; i++) {
        const Drover__KeyValue *kv = ts->env[i];
        if (!kv || !kv->key || !kv->key[0] || strchr(kv->key, '=') ||
            !kv->value) {
            snprintf(why, n, "env entry %zu has an invalid name", i);
            return DR_EINVAL;
        }
        bytes += strlen(kv->key) + strlen(kv->value) + 2;
    }
    if (bytes > AGENT_MAX_ARG_BYTES) {
        snprintf(why, n, "argv and env are %zu bytes (at most %u)", bytes,
                 AGENT_MAX_ARG_BYTES);
        return DR_EINVAL;
    }
    return 0;
}

/* 0 or a DR_E* code with the reason in why. */
static int s_task_start_check(const agent_t *a, const Drover__TaskStart *ts,
                              char *why, size_t n)
{
    if (ts->job_id == 0) {
        snprintf(why, n, "job_id missing");
        return DR_EINVAL;
    }
    if (ts->n_argv == 0 || !ts->argv[0] || !ts->argv[0][0]) {
        snprintf(why, n, "empty argv");
        return DR_EINVAL;
    }
    int rc = s_check_args(ts, why, n);
    if (rc < 0)
        return rc;
    if (ts->cpus > 1000000 || ts->memory_mb > ((uint64_t)1 << 40) ||
        ts->nodes > 100000 || ts->procs_per_node > 100000 ||
        ts->n_gpu_indices > 1024) {
        snprintf(why, n, "absurd resource request");
        return DR_EINVAL;
    }
    if (ts->nodes > 0 && ts->node_rank >= ts->nodes) {
        snprintf(why, n, "node_rank %u outside %u nodes", ts->node_rank,
                 ts->nodes);
        return DR_EINVAL;
    }
    if (ts->distribution && ts->distribution[0] && !s_is_mpi(ts) &&
        !s_spawns(ts)) {
        snprintf(why, n, "unknown distribution '%.32s'", ts->distribution);
        return DR_EINVAL;
    }
    if (dist_tf_is(ts) && dist_tf_check(ts, why, n) < 0)
        return DR_EINVAL;
    if (ts->n_hosts > MPI_MAX_HOSTS ||
        (ts->nodes > 1 && ts->n_hosts != ts->nodes)) {
        snprintf(why, n, "%zu hosts for %u nodes", ts->n_hosts, ts->nodes);
        return DR_EINVAL;
    }
    for (size_t i = 0; i < ts->n_hosts; i++) {
        if (!ts->hosts[i] || !dr_valid_name(ts->hosts[i])) {
            snprintf(why, n, "hosts[%zu] is not a node name", i);
            return DR_EINVAL;
        }
    }
    if (ts->n_host_addrs && ts->n_host_addrs != ts->n_hosts) {
        snprintf(why, n, "%zu host addresses for %zu hosts", ts->n_host_addrs,
                 ts->n_hosts);
        return DR_EINVAL;
    }
    for (size_t i = 0; i < ts->n_host_addrs; i++) {
        if (!dr_valid_ip(ts->host_addrs[i])) {
            snprintf(why, n, "host_addrs[%zu] is not an IP address", i);
            return DR_EINVAL;
        }
    }
    if (ts->image && ts->image[0] && !a->simulate) {
        if (!runtime_docker_valid_image(ts->image)) {
            snprintf(why, n, "invalid image name '%.64s'", ts->image);
            return DR_EINVAL;
        }
        if (!a->docker || !runtime_docker_available(a->docker)) {
            snprintf(why, n, "docker runtime not available on node %s%s%.160s",
                     a->cfg->name, a->docker ? ": " : "",
                     a->docker ? runtime_docker_error(a->docker) : "");
            return DR_EUNSUPP;
        }
    }
    return 0;
}

/* The job's nodes are one machine: their addresses are all the same (or
 * unknown, from a scheduler that sends none). */
static int s_shared_host(const Drover__TaskStart *ts)
{
    if (ts->n_hosts < 2)
        return 0;
    if (ts->n_host_addrs != ts->n_hosts)
        return 1;
    for (size_t i = 1; i < ts->n_host_addrs; i++)
        if (strcmp(ts->host_addrs[i], ts->host_addrs[0]) != 0)
            return 0;
    return 1;
}

/* ALL=the list, comma-separated in rank order, and HEAD=its first. */
static void s_env_list(envv_t *env, const char *all, const char *head,
                       char *const *v, size_t n)
{
    dr_buf_t b = {0};
    for (size_t i = 0; i < n; i++)
        dr_buf_printf(&b, "%s%s", i ? "," : "", v[i]);
    envv_put(env, dr_asprintf("%s=%s", all, b.data));
    envv_put(env, dr_asprintf("%s=%s", head, v[0]));
    dr_buf_free(&b);
}

/* The env every task gets: the agent's PATH, HOME and LANG, drover's MCA
 * settings for MPI, the job's own env, then drover's DROVER_* (not the
 * job's to change). */
static void s_env_base(node_t *node, task_t *t, const Drover__TaskStart *ts,
                       const char *task_dir, int in_container, envv_t *env)
{
    agent_t *a = node->agent;
    const agent_cfg_t *cfg = a->cfg;
    for (int i = 0; i < 3; i++)
        if (a->base_env[i])
            envv_put(env, dr_strdup(a->base_env[i]));
    if (s_is_mpi(ts)) {
        /* drover's MCA settings; the job's env may override them */
        char *mca[MPI_ENV_MAX];
        const char *launcher = in_container ? RUNTIME_DOCKER_SCRATCH
                                   "/drover-launch"
                                            : cfg->launcher;
        size_t nmca =
            mpi_env_defaults(launcher, cfg->mpi_iface, s_shared_host(ts), mca);
        for (size_t i = 0; i < nmca; i++)
            envv_put(env, mca[i]);
    }
    for (size_t i = 0; i < ts->n_env; i++)
        envv_put(env, dr_asprintf("%s=%s", ts->env[i]->key, ts->env[i]->value));
    envv_put(env, dr_asprintf("DROVER_JOB_ID=%" PRIu64, t->job_id));
    envv_put(env, dr_asprintf("DROVER_ATTEMPT=%u", t->attempt));
    envv_put(env, dr_asprintf("DROVER_NODE_NAME=%s", node->name));
    envv_put(env, dr_asprintf("DROVER_CLUSTER=%s", cfg->cluster));
    envv_put(env, dr_asprintf("DROVER_TASK_DIR=%s", task_dir));
    task_files_env(ts, in_container ? RUNTIME_DOCKER_SCRATCH : task_dir, env);
    envv_put(env, dr_asprintf("DROVER_NODE_RANK=%u", ts->node_rank));
    envv_put(env,
             dr_asprintf("DROVER_NUM_NODES=%u", ts->nodes ? ts->nodes : 1));
    if (ts->job_name && ts->job_name[0])
        envv_put(env, dr_asprintf("DROVER_JOB_NAME=%s", ts->job_name));
    if (ts->n_hosts)
        s_env_list(env, "DROVER_HOSTS", "DROVER_HEAD_NODE", ts->hosts,
                   ts->n_hosts);
    if (ts->n_host_addrs && ts->n_host_addrs == ts->n_hosts)
        /* addresses every node can reach, not just names */
        s_env_list(env, "DROVER_HOST_ADDRS", "DROVER_HEAD_ADDR", ts->host_addrs,
                   ts->n_host_addrs);
    if (s_is_mpi(ts) || s_is_torch(ts))
        envv_put(env, dr_asprintf("DROVER_PROCS_PER_NODE=%u",
                                  ts->procs_per_node ? ts->procs_per_node : 1));
    if (s_is_torch(ts)) {
        /* as Azure ML sets them for distribution: pytorch (RANK,
         * LOCAL_RANK and LOCAL_WORLD_SIZE per process, by the spawner) */
        uint32_t nodes = ts->nodes ? ts->nodes : 1;
        uint32_t ppn = ts->procs_per_node ? ts->procs_per_node : 1;
        const char *master = ts->n_host_addrs ? ts->host_addrs[0]
                             : ts->n_hosts    ? ts->hosts[0]
                                              : "127.0.0.1";
        envv_put(env, dr_asprintf("MASTER_ADDR=%s", master));
        envv_put(env, dr_asprintf("MASTER_PORT=%u", ts->master_port));
        envv_put(env, dr_asprintf("WORLD_SIZE=%u", nodes * ppn));
        envv_put(env, dr_asprintf("NODE_RANK=%u", ts->node_rank));
    }
    if (dist_tf_is(ts))
        dist_tf_env(ts, env); /* each process's TF_CONFIG, by the spawner */
}

/* What the job's own env cannot override: the GPUs it was given and its
 * identity endpoint. */
static void s_env_guard(node_t *node, task_t *t, const Drover__TaskStart *ts,
                        envv_t *env)
{
    agent_t *a = node->agent;
    /* After the job's own env: the GPUs it was given are not its to widen. */
    char *genv[GPU_ENV_MAX + 1];
    size_t ngenv = gpu_task_env(gpu_list(a->gpu), ts->gpu_indices,
                                ts->n_gpu_indices, genv);
    for (size_t i = 0; i < ngenv; i++)
        envv_put(env, genv[i]);
    /* Managed identity: the endpoint and this task's secret, after the
     * job's env (a job cannot point another job's requests elsewhere).
     * Containers share the host's network, so 127.0.0.1 reaches us. */
    char secret[MSI_SECRET_LEN + 1];
    if (a->ident && msi_secret_new(secret) == 0) {
        msi_task_add(a->ident, t->job_id, t->attempt, secret);
        t->has_secret = 1;
        envv_put(env,
                 dr_asprintf("IDENTITY_ENDPOINT=%s", msi_endpoint(a->ident)));
        envv_put(env, dr_asprintf("IDENTITY_HEADER=%s", secret));
        explicit_bzero(secret, sizeof secret);
    } else if (a->ident) {
        log_warn_errno("job %" PRIu64 " attempt %u on node %s: getrandom; "
                       "no identity endpoint for it",
                       t->job_id, t->attempt, node->name);
    }
}

/* Starts t's program in the runtime of ops; a failure to start is
 * reported as FAILED at once. */
static void s_run(node_t *node, task_t *t, const task_rt_ops_t *ops, void *ctx,
                  const task_rt_spec_t *spec)
{
    char why[512], what[128];
    int rc = task_rt_start(ops, ctx, spec, &t->rt, why, sizeof why);
    if (rc < 0) {
        task_fail(node, t, rc == DR_ESYS ? 127 : 0, why);
        return;
    }
    t->live = 1;
    ops->describe(t->rt->impl, what, sizeof what);
    log_info("job %" PRIu64 " attempt %u on node %s: starting '%s' as %s "
             "(%s runtime)",
             t->job_id, t->attempt, node->name, spec->argv[0], what, ops->kind);
    if (ops->started(t->rt->impl))
        task_started(node, t, dr_mono_ms(), 0);
    task_pump(node, t, TASK_RT_STDOUT, 1);
    task_watch_output(t);
}

/* Starts a task's program: the job's argv, mpirun around it for an MPI
 * head, or (launch_cmd) the command mpirun launches on a worker; in a
 * container when the TaskStart names an image. */
static void s_task_spawn(node_t *node, task_t *t, const Drover__TaskStart *ts,
                         const char *launch_cmd)
{
    agent_t *a = node->agent;
    char reason[512];
    char *task_dir = dr_asprintf("%s/tasks/%" PRIu64 "-%u", a->cfg->work_dir,
                                 t->job_id, t->attempt);
    /* the node is a container: dockerd finds the dir under another path */
    char *bind_dir =
        a->cfg->host_work_dir
            ? dr_asprintf("%s/tasks/%" PRIu64 "-%u", a->cfg->host_work_dir,
                          t->job_id, t->attempt)
            : NULL;
    int in_container = ts->image && ts->image[0];
    int mpi_head = s_is_mpi(ts) && ts->node_rank == 0 && !launch_cmd;
    char **argv = dr_calloc(ts->n_argv + 4, sizeof *argv);
    if (launch_cmd) {
        argv[0] = "/bin/sh";
        argv[1] = "-c";
        argv[2] = (char *)launch_cmd;
    } else {
        for (size_t i = 0; i < ts->n_argv; i++)
            argv[i] = ts->argv[i];
    }
    char **mpi_argv = NULL;
    char *spawner = NULL, nprocs[16];
    envv_t env = {0};
    s_env_base(node, t, ts, task_dir, in_container, &env);
    if (s_is_mpi(ts) && task_mpi_prepare(node, t, ts, task_dir, in_container,
                                         &env, mpi_head ? &mpi_argv : NULL,
                                         reason, sizeof reason) < 0) {
        task_fail(node, t, 0, reason);
        goto out;
    }
    if (mpi_argv) {
        free(argv);
        argv = mpi_argv;
    }
    if (ts->nodes > 1 && !s_is_mpi(ts) && !s_spawns(ts) && !launch_cmd)
        /* a plain multi-node job: each line names its node */
        t->tagger = mpi_tagger_new_node(node->name);
    if (s_spawns(ts) && !launch_cmd) {
        if (task_spawn_prepare(node, t, task_dir, in_container, &spawner,
                               reason, sizeof reason) < 0) {
            task_fail(node, t, 0, reason);
            goto out;
        }
        snprintf(nprocs, sizeof nprocs, "%u",
                 dist_tf_is(ts)       ? dist_tf_local(ts)
                 : ts->procs_per_node ? ts->procs_per_node
                                      : 1);
        memmove(argv + 3, argv, ts->n_argv * sizeof *argv);
        argv[0] = spawner;
        argv[1] = "--spawn";
        argv[2] = nprocs;
        argv[3 + ts->n_argv] = NULL;
    }
    s_env_guard(node, t, ts, &env);
    char *host[4] = {0};
    for (int i = 0, k = 0; i < 3; i++)
        if (a->base_env[i])
            host[k++] = a->base_env[i];
    task_rt_spec_t spec = {
        .argv = argv,
        .envp = env.v,
        .host_env = host,
        .task_dir = task_dir,
        .image = ts->image,
        .cpus = ts->cpus,
        .memory_mb = ts->memory_mb,
        .gpu_indices = ts->gpu_indices,
        .n_gpu = ts->n_gpu_indices,
        .job_id = t->job_id,
        .attempt = t->attempt,
        .node = node->name,
        .lease = node->lease ? lease_word(node->lease) : NULL,
        .isolate = a->isolate,
        .network_mode = a->cfg->docker_network,
        .bind_dir = bind_dir,
    };
    if (in_container)
        s_run(node, t, &task_rt_docker_ops, a->docker, &spec);
    else
        s_run(node, t, &task_rt_process_ops, NULL, &spec);
out:
    envv_free(&env);
    if (mpi_argv)
        mpi_argv_free(mpi_argv);
    else
        free(argv);
    free(task_dir);
    free(bind_dir);
    free(spawner);
}

/* A worker of an MPI job is ready as soon as it is here: it runs what
 * mpirun launches on it (orted), when the launch comes. */
static void s_task_wait_launch(node_t *node, task_t *t,
                               const Drover__TaskStart *ts)
{
    t->mpi_worker = 1;
    t->start_len = drover__task_start__get_packed_size(ts);
    t->start_msg = dr_malloc(t->start_len);
    drover__task_start__pack(ts, t->start_msg);
    t->live = 1;
    t->started_at_ms = dr_now_ms();
    log_info("job %" PRIu64 " attempt %u on node %s: MPI rank %u of %u nodes "
             "ready for its launch",
             t->job_id, t->attempt, node->name, ts->node_rank, ts->nodes);
    task_report(node, t, TASK_ST(RUNNING), NULL);
}

/* A simulated node's task: a hollow run, no program. */
static void s_task_hollow(node_t *node, task_t *t, const Drover__TaskStart *ts)
{
    char **argv = dr_calloc(ts->n_argv + 1, sizeof *argv);
    for (size_t i = 0; i < ts->n_argv; i++)
        argv[i] = ts->argv[i];
    task_rt_spec_t spec = {.argv = argv,
                           .job_id = t->job_id,
                           .attempt = t->attempt,
                           .node = node->name};
    s_run(node, t, &task_rt_hollow_ops, NULL, &spec);
    free(argv);
}

void task_start_on_start(node_t *node, const dr_env_t *env)
{
    agent_t *a = node->agent;
    const Drover__TaskStart *ts = env->task_start;
    char why[256];
    int rc = s_task_start_check(a, ts, why, sizeof why);
    if (rc == 0 && (node->leaving || node->preempted)) {
        snprintf(why, sizeof why, "node %s is %s", node->name,
                 node->leaving ? "shutting down" : "being preempted");
        rc = DR_ESTATE;
    }
    if (rc == 0) {
        (void)gpu_refresh(a->gpu, AGENT_GPU_REFRESH_MS);
        rc = gpu_list_check(gpu_list(a->gpu), ts->gpu_indices,
                            ts->n_gpu_indices, node->name, why, sizeof why);
    }
    task_t *t = task_find(node, ts->job_id, ts->attempt);
    if (t) {
        log_debug("job %" PRIu64 " attempt %u on node %s: duplicate TaskStart",
                  ts->job_id, ts->attempt, node->name);
        if (t->pending)
            task_send_update(node, t);
        return;
    }
    if (rc < 0) {
        log_warn("job %" PRIu64 " attempt %u on node %s: rejected TaskStart: "
                 "%s",
                 ts->job_id, ts->attempt, node->name, why);
        int wrc = wire_send_error(node->sock, NULL, env->request_id, rc,
                                  "job %" PRIu64 " attempt %u: %s", ts->job_id,
                                  ts->attempt, why);
        if (wrc < 0)
            log_warn("node %s: send error reply: %s", node->name,
                     dr_strerror(wrc));
        if (ts->job_id != 0) {
            t = task_add(node, ts->job_id, ts->attempt);
            task_fail(node, t, 0, why);
        }
        return;
    }
    for (task_t *o = node->tasks; o; o = o->next) {
        if (o->job_id == ts->job_id && o->live) {
            char *r = dr_asprintf("superseded by attempt %u", ts->attempt);
            task_stop(node, o, TASK_ST(CANCELED), r, 1);
            free(r);
        }
    }
    t = task_add(node, ts->job_id, ts->attempt);
    t->cpus = ts->cpus;
    t->memory_mb = ts->memory_mb;
    t->time_limit_ms = wire_limit_ms(ts->time_limit_ms, ts->time_limit_s);
    if (!a->simulate) {
        char *task_dir = dr_asprintf("%s/tasks/%" PRIu64 "-%u",
                                     a->cfg->work_dir, t->job_id, t->attempt);
        rc = task_files_prepare(node, t, ts, task_dir, why, sizeof why);
        free(task_dir);
        if (rc < 0) {
            task_fail(node, t, 0, why);
            return;
        }
    }
    if (a->simulate)
        s_task_hollow(node, t, ts);
    else if (s_is_mpi(ts) && ts->nodes > 1 && ts->node_rank > 0)
        s_task_wait_launch(node, t, ts);
    else
        s_task_spawn(node, t, ts, NULL);
}

/* The scheduler passes on a launch from the head's mpirun: start the
 * command inside this node's task of the job. */
void task_start_on_mpi_launch(node_t *node, const dr_env_t *env)
{
    const Drover__MpiLaunch *m = env->mpi_launch;
    task_t *t = task_find(node, m->job_id, m->attempt);
    const char *why = NULL;
    if (!m->command || !m->command[0] || m->launch_id == 0)
        why = "launch without a command or id";
    else if (!t || !t->mpi_worker)
        why = "no MPI task of this job and attempt on this node";
    else if (t->launch_id || t->rt)
        why = "the task already runs a launch";
    else if (!t->live || t->end_set)
        why = "the task is ending";
    if (why) {
        task_t tmp = {0};
        tmp.job_id = m->job_id;
        tmp.attempt = m->attempt;
        tmp.launch_id = m->launch_id;
        char *msg = dr_asprintf("node %s: %s", node->name, why);
        task_send_launch_io(node, &tmp, 0, NULL, 0, 1, 255, msg);
        log_warn("job %" PRIu64 " attempt %u: launch refused: %s", m->job_id,
                 m->attempt, msg);
        free(msg);
        return;
    }
    Drover__TaskStart *ts =
        drover__task_start__unpack(NULL, t->start_len, t->start_msg);
    if (!ts) {
        task_fail(node, t, 0, "its TaskStart could not be read again");
        return;
    }
    t->launch_id = m->launch_id;
    t->started_at_ms = 0; /* a container reports its own start */
    log_info("job %" PRIu64 " attempt %u on node %s: launch %" PRIu64
             " from %s",
             t->job_id, t->attempt, node->name, m->launch_id,
             m->node ? m->node : "?");
    s_task_spawn(node, t, ts, m->command);
    drover__task_start__free_unpacked(ts, NULL);
}
