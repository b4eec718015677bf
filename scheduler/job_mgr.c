/* job_mgr.c - the job state machine (Slurm's job_mgr.c):
 *
 *   queued --start--> starting --all tasks RUNNING--> running
 *      ^                  |                              |
 *      +---- requeue -----+------------------------------+
 *                         |                              |
 *                         +--> succeeded / failed / canceled (finish)
 *
 * Every transition is here and writes itself through to the store in the
 * same place it changes memory; what must reach an agent (TaskStart,
 * TaskCancel, a TaskUpdateAck) is only queued in the agent outbox, which
 * the loop flushes after the commit.  It never calls a policy: a new
 * submission is left in sched->fresh for placement to try.
 */
#include "dr_err.h"
#include "log.h"
#include "sched_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_set_reason(job_t *j, const char *reason)
{
    free(j->reason);
    j->reason = dr_strdup(reason ? reason : "");
}

int job_submit(sched_t *self, const Drover__Job *m, const char *owner,
               uint64_t *id_out, char *why, size_t cap)
{
    cluster_t *c = sched_cluster_find(self, m->cluster);
    if (!c)
        return DR_ENOENT;
    /* the spec keeps what the columns do not: argv, env, image */
    Drover__Job spec = DROVER__JOB__INIT;
    spec.n_argv = m->n_argv;
    spec.argv = m->argv;
    spec.n_env = m->n_env;
    spec.env = m->env;
    spec.image = m->image;
    spec.distribution = m->distribution;
    spec.dependency = m->dependency;
    spec.array_job_id = m->array_job_id;
    spec.array_task_id = m->array_task_id;
    spec.array_task_count = m->array_task_count;
    spec.array_task_min = m->array_task_min;
    spec.array_task_max = m->array_task_max;
    spec.array_max_running = m->array_max_running;
    spec.array_task_step = m->array_task_step;
    spec.worker_count = m->worker_count;
    spec.parameter_server_count = m->parameter_server_count;
    job_code_spec(m, &spec);
    job_t *j = dr_calloc(1, sizeof *j);
    j->spec_len = drover__job__get_packed_size(&spec);
    j->spec = dr_malloc(j->spec_len);
    drover__job__pack(&spec, j->spec);
    j->name = dr_strdup(m->name && *m->name ? m->name : m->argv[0]);
    j->cluster = c;
    j->state = JOB_QUEUED;
    j->priority = m->priority;
    j->cpus = m->cpus ? m->cpus : 1;
    j->memory_mb = m->memory_mb ? m->memory_mb : 512;
    j->nodes = m->nodes ? m->nodes : 1;
    j->procs_per_node = m->procs_per_node ? m->procs_per_node : 1;
    j->mpi = m->distribution && strcmp(m->distribution, "mpi") == 0;
    j->torch = m->distribution && strcmp(m->distribution, "pytorch") == 0;
    job_dist_from_spec(j, &spec);
    j->gpus = m->gpus;
    j->has_image = m->image && *m->image;
    j->max_retries = m->max_retries;
    j->time_limit_ms = wire_limit_ms(m->time_limit_ms, m->time_limit_s);
    j->reason = dr_strdup("");
    j->owner = dr_strdup(owner);
    j->submitted_at_ms = dr_now_ms();
    j->queued_at_ms = j->submitted_at_ms;
    int rc = job_deps_parse(self, j, m->dependency, why, cap);
    if (rc < 0) {
        job_free(j);
        return rc;
    }
    store_job_t row;
    job_row(j, &row);
    if (store_job_insert(self->store, &row) < 0 ||
        job_code_save(self, row.id, m) < 0) {
        job_free(j);
        snprintf(why, cap, "cannot store the job");
        return DR_EDB;
    }
    j->id = row.id;
    dict_put_u64(self->jobs, j->id, j);
    queue_push(c->queue, j);
    job_deps_hold(self, j);
    job_array_track(self, j, m, 0);
    if (self->nfresh == self->fresh_cap) {
        self->fresh_cap = self->fresh_cap ? self->fresh_cap * 2 : 64;
        self->fresh =
            dr_realloc(self->fresh, self->fresh_cap * sizeof *self->fresh);
    }
    self->fresh[self->nfresh++] = j->id;
    *id_out = j->id;
    return 0;
}

int job_rerun(sched_t *self, uint64_t id, const char *owner, uint64_t *id_out,
              char *why, size_t cap)
{
    store_job_t row;
    if (!id || job_lookup(self, id, &row) < 0) {
        snprintf(why, cap, "unknown job %llu", (unsigned long long)id);
        return DR_ENOENT;
    }
    Drover__Job *spec = drover__job__unpack(NULL, row.spec_len, row.spec);
    int rc = spec ? 0 : DR_EPROTO;
    if (!spec)
        snprintf(why, cap, "job %llu: its stored spec is unreadable",
                 (unsigned long long)id);
    else if (!sched_cluster_find(self, row.cluster)) {
        snprintf(why, cap, "job %llu: its cluster %s is gone",
                 (unsigned long long)id, row.cluster);
        rc = DR_ENOENT;
    }
    if (rc == 0) {
        /* the columns and the spec together are what was submitted */
        Drover__Job m = *spec;
        m.name = row.name;
        m.cluster = row.cluster;
        m.cpus = row.cpus;
        m.memory_mb = row.memory_mb;
        m.nodes = row.nodes;
        m.procs_per_node = row.procs_per_node;
        m.gpus = row.gpus;
        m.priority = row.priority;
        m.max_retries = row.max_retries;
        m.time_limit_ms = row.time_limit_ms;
        m.time_limit_s = wire_limit_s(row.time_limit_ms);
        m.code_job_id = job_code_owner(id, spec); /* shared, not copied */
        rc = job_submit(self, &m, owner, id_out, why, cap);
        if (rc == DR_ENOENT)
            snprintf(why, cap, "job %llu: its cluster %s is gone",
                     (unsigned long long)id, row.cluster);
    }
    if (rc == 0)
        (void)store_event(self->store, "job_rerun", row.cluster, "", *id_out,
                          "job %llu is a rerun of job %llu by %s",
                          (unsigned long long)*id_out, (unsigned long long)id,
                          owner);
    if (spec)
        drover__job__free_unpacked(spec, NULL);
    job_row_clear(&row);
    return rc;
}

/* Sends the TaskStart of task `rank` of a bound job. */
static void s_task_send_start(sched_t *self, job_t *j, uint32_t rank)
{
    Drover__Job *spec = drover__job__unpack(NULL, j->spec_len, j->spec);
    if (!spec) {
        log_error("job %llu: stored spec is corrupt",
                  (unsigned long long)j->id);
        return;
    }
    job_task_t *t = &j->tasks[rank];
    char *hosts[DR_MAX_JOB_NODES], *addrs[DR_MAX_JOB_NODES];
    int all_addrs = 1;
    for (uint32_t i = 0; i < j->ntasks; i++) {
        hosts[i] = j->tasks[i].node->name;
        addrs[i] = j->tasks[i].node->addr;
        all_addrs &= addrs[i][0] != '\0';
    }
    dr_env_t env;
    Drover__TaskStart ts = DROVER__TASK_START__INIT;
    ts.job_id = j->id;
    ts.attempt = j->attempts;
    ts.n_argv = spec->n_argv;
    ts.argv = spec->argv;
    /* the job's own variables, then an array element's */
    Drover__KeyValue akv[JOB_ARRAY_NENV];
    char aval[JOB_ARRAY_NENV][24];
    size_t na = job_array_env(self, j, akv, aval);
    Drover__KeyValue **env_all =
        dr_calloc(spec->n_env + na + 1, sizeof *env_all);
    for (size_t i = 0; i < spec->n_env; i++)
        env_all[i] = spec->env[i];
    for (size_t i = 0; i < na; i++)
        env_all[spec->n_env + i] = &akv[i];
    ts.n_env = spec->n_env + na;
    ts.env = env_all;
    ts.cpus = j->cpus;
    ts.memory_mb = j->memory_mb;
    ts.time_limit_ms = j->time_limit_ms;
    ts.time_limit_s = wire_limit_s(j->time_limit_ms);
    ts.image = spec->image;
    ts.job_name = j->name;
    ts.nodes = j->ntasks;
    ts.node_rank = rank;
    ts.procs_per_node = j->procs_per_node;
    ts.distribution = j->mpi     ? "mpi"
                      : j->torch ? "pytorch"
                      : j->tf    ? "tensorflow"
                                 : "";
    if (j->torch) {
        if (!j->master_port)
            j->master_port = job_ports_pick(self, j, 1);
        ts.master_port = j->master_port;
    }
    if (j->tf) {
        if (!j->master_port)
            j->master_port = job_ports_pick(self, j, j->tf_workers + j->tf_ps);
        ts.tf_port = j->master_port;
        ts.worker_count = j->tf_workers;
        ts.parameter_server_count = j->tf_ps;
    }
    if (j->ntasks > 1) {
        ts.n_hosts = j->ntasks;
        ts.hosts = hosts;
        if (all_addrs) {
            ts.n_host_addrs = j->ntasks;
            ts.host_addrs = addrs;
        }
    }
    ts.n_gpu_indices = t->n_gpu_idx;
    ts.gpu_indices = t->gpu_idx;
    uint8_t *code = NULL;
    (void)job_code_attach(self, j->id, spec, &ts, &code);
    wire_env_body(&env, 0, DROVER__ENVELOPE__BODY_TASK_START, &ts);
    sched_send_agent(self, t->node->name, &env);
    t->started = 1;
    free(code);
    free(env_all);
    drover__job__free_unpacked(spec, NULL);
}

/* The readiness barrier: an MPI head starts once this is true. */
static int s_workers_up(const job_t *j)
{
    for (uint32_t i = 1; i < j->ntasks; i++)
        if (!j->tasks[i].running && !j->tasks[i].ended)
            return 0;
    return 1;
}

void job_send_starts(sched_t *self, job_t *j)
{
    int workers_up = s_workers_up(j);
    for (uint32_t i = 0; i < j->ntasks; i++) {
        job_task_t *t = &j->tasks[i];
        if (t->running || t->ended || t->started)
            continue;
        if (j->mpi && i == 0 && !workers_up)
            continue; /* mpirun waits for every node's task */
        s_task_send_start(self, j, i);
    }
}

int job_start(sched_t *self, job_t *j, node_t *const *nodes, uint32_t count)
{
    queue_remove(j->cluster->queue, j);
    j->tasks = dr_calloc(count, sizeof *j->tasks);
    j->ntasks = count;
    for (uint32_t i = 0; i < count; i++) {
        j->tasks[i].node = nodes[i];
        node_bind(nodes[i], j);
    }
    node_gpus_assign(j);
    j->attempts++;
    if (j->attempts == 1)
        metrics_observe(self->metrics, MH_QUEUE_WAIT, j->cluster->cfg.name,
                        (double)(dr_now_ms() - j->submitted_at_ms) / 1000.0);
    j->state = JOB_STARTING;
    self->deps_due = self->nheld > 0; /* holds name its state */
    j->start_deadline = dr_mono_ms() + self->opts.start_timeout_ms;
    s_set_reason(j, "");
    (void)job_save(self, j);
    job_outputs_reset(self, j);
    for (uint32_t i = 0; i < count; i++)
        (void)store_task_put(self->store, j->id, j->attempts, nodes[i]->name,
                             "starting", 0, "", dr_now_ms());
    if (j->attempts > 1) {
        char line[160];
        snprintf(line, sizeof line, "[drover: attempt %u on node %s%s]\n",
                 j->attempts, nodes[0]->name, count > 1 ? " and others" : "");
        job_log_line(self, j->id, line);
    }
    job_send_starts(self, j);
    log_info("job %llu attempt %u placed on node %s%s",
             (unsigned long long)j->id, j->attempts, nodes[0]->name,
             count > 1 ? " (head of a gang)" : "");
    return 0;
}

void job_cancel_tasks(sched_t *self, job_t *j, const char *reason)
{
    dr_env_t env;
    Drover__TaskCancel tc = DROVER__TASK_CANCEL__INIT;
    tc.job_id = j->id;
    tc.attempt = j->attempts;
    tc.reason = (char *)reason;
    wire_env_body(&env, 0, DROVER__ENVELOPE__BODY_TASK_CANCEL, &tc);
    for (uint32_t i = 0; i < j->ntasks; i++)
        if (!j->tasks[i].ended)
            sched_send_agent(self, j->tasks[i].node->name, &env);
}

/* Unbinds from every node, keeping the node names ("a,b") for the record.
 * The tasks of a gang that are still alive elsewhere are told to stop:
 * one node's failure ends the job on all of them. */
static void s_unbind(sched_t *self, job_t *j, const char *why, char *last_nodes,
                     size_t cap)
{
    last_nodes[0] = '\0';
    j->master_port = 0; /* the next attempt's head chooses again */
    if (!j->ntasks)
        return;
    if (j->ntasks > 1)
        job_cancel_tasks(self, j, why && *why ? why : "job ended");
    size_t off = 0;
    for (uint32_t i = 0; i < j->ntasks; i++) {
        node_t *n = j->tasks[i].node;
        if (off < cap)
            off += (size_t)snprintf(last_nodes + off, cap - off, "%s%s",
                                    i ? "," : "", n->name);
        node_unbind(n, j);
    }
    if (j->ntasks == 1)
        memcpy(j->tail_off, j->tasks[0].out_off, sizeof j->tail_off);
    free(j->tasks);
    j->tasks = NULL;
    j->ntasks = 0;
    free(j->fail_reason); /* a worker's failure belongs to this attempt */
    j->fail_reason = NULL;
    cluster_capacity_grew(j->cluster);
}

void job_finish(sched_t *self, job_t *j, job_state_t st, int has_exit,
                int exit_code, const char *reason)
{
    char node[sizeof((store_job_t *)0)->node_names];
    job_acct_end(self, j, job_state_name(st), 1);
    if (j->state == JOB_QUEUED && j->q_level) {
        queue_remove(j->cluster->queue, j);
        cluster_capacity_grew(j->cluster); /* a reservation may go */
    }
    s_unbind(self, j, reason, node, sizeof node);
    j->state = st;
    metrics_inc(self->metrics, MC_JOBS_ENDED, j->cluster->cfg.name,
                job_state_name(st), 1);
    j->has_exit_code = has_exit;
    j->exit_code = exit_code;
    j->ended_at_ms = dr_now_ms();
    s_set_reason(j, reason);
    store_job_t row;
    job_row(j, &row);
    if (node[0])
        snprintf(row.node_names, sizeof row.node_names, "%s", node);
    if (store_job_update(self->store, &row) < 0)
        log_error("job %llu: cannot save final state",
                  (unsigned long long)j->id);
    if (node[0] && j->attempts)
        job_task_rows(self, j, node, job_state_name(st), exit_code, j->reason);
    (void)store_event(self->store, "job_ended", j->cluster->cfg.name, node,
                      j->id, "job %llu %s%s%s", (unsigned long long)j->id,
                      job_state_name(st), *j->reason ? ": " : "", j->reason);
    log_info("job %llu %s%s%s (attempt %u%s%s)", (unsigned long long)j->id,
             job_state_name(st), *j->reason ? ": " : "", j->reason, j->attempts,
             node[0] ? ", node " : "", node);
    job_array_untrack(self, j);
    dict_del_u64(self->jobs, j->id);
    job_free(j);
    self->deps_due = 1; /* a job that waited for this one may go */
}

static void s_requeue(sched_t *self, job_t *j, const char *why, int preempted)
{
    char node[sizeof((store_job_t *)0)->node_names];
    if (j->cancel_requested) {
        job_finish(self, j, JOB_CANCELED, 0, 0, "canceled by user");
        return;
    }
    if (preempted && ++j->preemptions > DR_MAX_PREEMPTIONS) {
        char reason[256];
        snprintf(reason, sizeof reason, "%s; preempted %u times", why,
                 j->preemptions);
        job_finish(self, j, JOB_FAILED, 0, 0, reason);
        return;
    }
    /* attempts lost to preemption are not failures */
    if (!preempted && j->attempts - j->preemptions > j->max_retries) {
        char reason[256];
        snprintf(reason, sizeof reason, "%s; no retries left (max %u)", why,
                 j->max_retries);
        job_finish(self, j, JOB_FAILED, 0, 0, reason);
        return;
    }
    job_acct_end(self, j, preempted ? "preempted" : "lost", 0);
    s_unbind(self, j, why, node, sizeof node);
    if (node[0])
        job_task_rows(self, j, node, "lost", 0, why);
    j->state = JOB_QUEUED;
    j->queued_at_ms = dr_now_ms();
    free(j->gpu_assign);
    j->gpu_assign = NULL;
    s_set_reason(j, why);
    queue_push(j->cluster->queue, j);
    cluster_capacity_grew(j->cluster);
    (void)job_save(self, j);
    (void)store_event(self->store, "job_requeued", j->cluster->cfg.name, node,
                      j->id, "job %llu requeued after attempt %u: %s",
                      (unsigned long long)j->id, j->attempts, why);
    log_warn("job %llu requeued after attempt %u: %s",
             (unsigned long long)j->id, j->attempts, why);
}

void job_requeue(sched_t *self, job_t *j, const char *why)
{
    s_requeue(self, j, why, 0);
}

void job_requeue_preempted(sched_t *self, job_t *j, const char *why)
{
    s_requeue(self, j, why, 1);
}

int job_cancel(sched_t *self, uint64_t id, char *msg, size_t cap)
{
    job_t *j = id ? sched_job_find(self, id) : NULL;
    if (!j) {
        store_job_t row;
        if (!id || store_job_get(self->store, id, &row) < 0) {
            snprintf(msg, cap, "unknown job %llu", (unsigned long long)id);
            return DR_ENOENT;
        }
        snprintf(msg, cap, "job %llu already ended (%s)",
                 (unsigned long long)id, row.state);
        store_job_clear(&row);
        return DR_ESTATE;
    }
    if (j->state == JOB_QUEUED) {
        queue_remove(j->cluster->queue, j);
        snprintf(msg, cap, "job %llu canceled", (unsigned long long)id);
        job_finish(self, j, JOB_CANCELED, 0, 0, "canceled by user");
        return 0;
    }
    if (!j->cancel_requested) {
        j->cancel_requested = 1;
        job_cancel_tasks(self, j, "canceled by user");
    }
    snprintf(msg, cap, "job %llu: cancel requested", (unsigned long long)id);
    return 0;
}

/* "node b (rank 1): " for the tasks of a gang, "" for a single node. */
static const char *s_where(const job_t *j, const node_t *n, char *buf,
                           size_t cap)
{
    buf[0] = '\0';
    if (j->ntasks > 1) {
        uint32_t rank = 0;
        while (rank < j->ntasks && j->tasks[rank].node != n)
            rank++;
        snprintf(buf, cap, "node %s (node rank %u): ", n->name, rank);
    }
    return buf;
}

/* After a gang task's failure: "; node b silent for 3 s" for the nodes
 * of the gang not heard from in one and a half heartbeats (an agent that
 * died takes its part of the job with it, and mpirun on the head notices
 * first). */
static void s_silent_nodes(const sched_t *s, const job_t *j, char *buf,
                           size_t cap)
{
    buf[0] = '\0';
    int64_t now = dr_mono_ms();
    size_t off = 0;
    for (uint32_t i = 0; i < j->ntasks && off < cap; i++) {
        const node_t *o = j->tasks[i].node;
        int64_t quiet = now - o->last_seen;
        if (quiet > 3 * (int64_t)s->opts.heartbeat_interval_ms / 2)
            off += (size_t)snprintf(buf + off, cap - off,
                                    "; node %s silent for %lld s", o->name,
                                    (long long)((quiet + 500) / 1000));
    }
}

/* A task of a gang ended well: the job is over when it was the MPI head
 * (mpirun's status is the job's) or the last one. */
static void s_task_done(sched_t *s, node_t *n, job_t *j, job_task_t *t)
{
    t->ended = 1;
    t->running = 0;
    if (j->fail_reason && (!j->mpi || t == &j->tasks[0])) {
        /* mpirun ended well, yet a worker had failed */
        char full[1200];
        snprintf(full, sizeof full, "%s; then mpirun exited with code 0",
                 j->fail_reason);
        job_finish(s, j, JOB_FAILED, 1, 0, full);
        return;
    }
    uint32_t left = 0;
    for (uint32_t i = 0; i < j->ntasks; i++)
        left += !j->tasks[i].ended;
    if (left == 0 || (j->mpi && t == &j->tasks[0])) {
        job_finish(s, j, JOB_SUCCEEDED, 1, 0, "");
        return;
    }
    (void)store_task_put(s->store, j->id, j->attempts, n->name, "succeeded", 0,
                         "", dr_now_ms());
}

/* A task failed: the job fails.  When it is a worker of an MPI job whose
 * mpirun still runs, mpirun gets DR_MPI_FAIL_GRACE_MS to notice and end
 * with its own diagnostics in the log (the job fails then, with both
 * reasons), instead of being killed at once. */
static void s_task_failed(sched_t *s, job_t *j, job_task_t *t, int has_exit,
                          int code, const char *why)
{
    job_task_t *head = &j->tasks[0];
    if (j->mpi && t != head && head->running && !head->ended) {
        t->running = 0;
        t->ended = 1; /* nothing to cancel there any more */
        if (!j->fail_reason) {
            j->fail_reason = dr_strdup(why);
            j->fail_at = dr_mono_ms() + DR_MPI_FAIL_GRACE_MS;
            log_warn("job %llu: %s; waiting for mpirun to end",
                     (unsigned long long)j->id, why);
        }
        return;
    }
    if (j->fail_reason) {
        char full[1200];
        if (strncmp(why, "MPI rank ", 9) == 0) /* the root cause first */
            snprintf(full, sizeof full, "%s; before that %s", why,
                     j->fail_reason);
        else
            snprintf(full, sizeof full, "%s; then %s", j->fail_reason, why);
        job_finish(s, j, JOB_FAILED, has_exit, code, full);
        return;
    }
    job_finish(s, j, JOB_FAILED, has_exit, code, why);
}

/* A task runs: when all of them do, the job is running. */
static void s_task_running(sched_t *s, node_t *n, job_t *j, job_task_t *t,
                           const Drover__TaskReport *r)
{
    if (t->running || t->ended)
        return;
    t->running = 1;
    uint32_t up = 0;
    for (uint32_t i = 0; i < j->ntasks; i++)
        up += j->tasks[i].running;
    if (up < j->ntasks) {
        job_send_starts(s, j); /* the barrier may open */
        return;
    }
    if (j->state != JOB_STARTING)
        return;
    j->state = JOB_RUNNING;
    s->deps_due = s->nheld > 0;
    j->started_at_ms = r->started_at_ms > 0 ? r->started_at_ms : dr_now_ms();
    if (j->attempts == 1)
        metrics_observe(s->metrics, MH_SUBMIT_RUNNING, j->cluster->cfg.name,
                        (double)(j->started_at_ms - j->submitted_at_ms) /
                            1000.0);
    (void)job_save(s, j);
    for (uint32_t i = 0; i < j->ntasks; i++)
        (void)store_task_put(s->store, j->id, j->attempts,
                             j->tasks[i].node->name, "running", 0, "",
                             dr_now_ms());
    log_info("job %llu attempt %u running on node %s%s",
             (unsigned long long)j->id, j->attempts, n->name,
             j->ntasks > 1 ? " and the rest of its gang" : "");
}

/* Applies a report about the current attempt of job j on node n (its task
 * t).  For a gang, one task's failure is the job's: the others are
 * stopped by job_finish / job_requeue.  A flat state machine
 * over the report's state. */
void job_task_report(sched_t *s, node_t *n, job_t *j, job_task_t *t,
                     const Drover__TaskReport *r)
{
    const char *reason = r->reason && *r->reason ? r->reason : NULL;
    char buf[256], where[96], full[600], silent[160];
    (void)s_where(j, n, where, sizeof where);
    s_silent_nodes(s, j, silent, sizeof silent);
    switch (r->state) {
    case DROVER__TASK_STATE__TASK_STARTING:
        break;
    case DROVER__TASK_STATE__TASK_RUNNING:
        s_task_running(s, n, j, t, r);
        break;
    case DROVER__TASK_STATE__TASK_EXITED:
        /* a task that started and ended within one pass of its agent
         * says both in this one report (its started_at_ms): it ran */
        if (!t->running && !t->ended && r->started_at_ms > 0)
            s_task_running(s, n, j, t, r);
        if (j->cancel_requested) {
            job_finish(s, j, JOB_CANCELED, 1, r->exit_code, "canceled by user");
        } else if (r->exit_code == 0 && r->term_signal == 0) {
            s_task_done(s, n, j, t);
        } else {
            if (r->term_signal)
                snprintf(buf, sizeof buf, "killed by signal %d",
                         r->term_signal);
            else
                snprintf(buf, sizeof buf, "exited with code %d", r->exit_code);
            if (reason && strncmp(reason, "MPI rank ", 9) == 0)
                /* the root cause first: the rank that died, its node */
                snprintf(full, sizeof full, "%s (reported by %s)%s", reason,
                         n->name, silent);
            else
                snprintf(full, sizeof full, "%s%s%s%s", where,
                         j->mpi && t == &j->tasks[0] ? "mpirun " : "",
                         reason ? reason : buf, silent);
            s_task_failed(s, j, t, 1, r->exit_code, full);
        }
        break;
    case DROVER__TASK_STATE__TASK_FAILED:
        snprintf(full, sizeof full, "%s%s%s", where,
                 reason ? reason : "task failed on the node", silent);
        if (j->cancel_requested)
            job_finish(s, j, JOB_CANCELED, r->exit_code != 0, r->exit_code,
                       full);
        else if (r->timed_out)
            job_finish(s, j, JOB_TIMEOUT, r->exit_code != 0, r->exit_code,
                       full); /* the limit is the job's: its gang goes */
        else
            s_task_failed(s, j, t, r->exit_code != 0, r->exit_code, full);
        break;
    case DROVER__TASK_STATE__TASK_CANCELED:
        if (j->cancel_requested) {
            job_finish(s, j, JOB_CANCELED, 0, 0,
                       reason ? reason : "canceled by user");
        } else {
            snprintf(buf, sizeof buf, "task stopped by node %s: %s", n->name,
                     reason ? reason : "agent shutting down");
            job_requeue(s, j, buf);
        }
        break;
    default:
        break;
    }
}

/* "node a did not get its task running within 60 s" for the nodes of a
 * starting job that are not ready (an MPI head that waits for the others
 * is not one of them). */
static void s_not_ready(const sched_t *self, const job_t *j, char *why,
                        size_t cap)
{
    int workers_up = s_workers_up(j);
    char names[256] = "";
    size_t off = 0;
    int count = 0;
    for (uint32_t i = 0; i < j->ntasks; i++) {
        const job_task_t *t = &j->tasks[i];
        if (t->running || t->ended || (j->mpi && i == 0 && !workers_up))
            continue;
        if (off < sizeof names)
            off += (size_t)snprintf(names + off, sizeof names - off, "%s%s",
                                    count ? ", " : "", t->node->name);
        count++;
    }
    snprintf(why, cap, "%s %s did not get %s task running within %d s",
             count > 1 ? "nodes" : "node", names, count > 1 ? "their" : "its",
             self->opts.start_timeout_ms / 1000);
}

int job_check_deadlines(sched_t *self, node_t *n, int64_t now)
{
    for (size_t k = 0; k < n->njobs; k++) {
        job_t *j = n->jobs[k];
        if (j->fail_reason && now >= j->fail_at) {
            char why[600];
            snprintf(why, sizeof why, "%s; mpirun did not end within %d s",
                     j->fail_reason, DR_MPI_FAIL_GRACE_MS / 1000);
            job_finish(self, j, JOB_FAILED, 0, 0, why);
            return 1; /* n->jobs changed */
        }
        if (j->state == JOB_STARTING && now > j->start_deadline &&
            n->state == NODE_READY) {
            char why[200];
            s_not_ready(self, j, why, sizeof why);
            job_cancel_tasks(self, j, why);
            job_requeue(self, j, why);
            return 1; /* n->jobs changed */
        }
    }
    return 0;
}

void job_requeue_orphans(sched_t *self)
{
    size_t n = 0, it = 0;
    job_t *j;
    while ((j = dict_next(self->jobs, &it)))
        n += j->start_deadline == -1;
    if (!n)
        return;
    job_t **list = dr_calloc(n, sizeof *list);
    size_t k = 0;
    it = 0;
    while ((j = dict_next(self->jobs, &it)))
        if (j->start_deadline == -1)
            list[k++] = j;
    for (size_t i = 0; i < k; i++) {
        list[i]->start_deadline = 0;
        job_requeue(self, list[i], "its node is gone after a restart");
    }
    free(list);
}

void job_forget(sched_t *self, job_t *j)
{
    if (j->q_level)
        queue_remove(j->cluster->queue, j);
    job_array_untrack(self, j);
    dict_del_u64(self->jobs, j->id);
    job_free(j);
}
