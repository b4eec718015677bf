/* node_life.c - what a node's agent says, and what it does to the node's
 * jobs: registration (and the reconciliation of what the agent runs with
 * what the model believes), heartbeats and GPU reports, preemption, the
 * loss of a node and its removal.
 *
 * Above job_mgr.c (it requeues and ends jobs) and node_mgr.c; it never
 * calls a policy and sends only through the agent outbox.
 */
#include "dr_err.h"
#include "log.h"
#include "sched_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void node_remove(sched_t *self, node_t *n, const char *why)
{
    char reason[200];
    snprintf(reason, sizeof reason, "node %s removed: %s", n->name, why);
    while (n->njobs)
        job_requeue(self, n->jobs[n->njobs - 1], reason);
    node_forget(self, n, reason);
}

void node_lose_joined(sched_t *self, node_t *n, const char *why)
{
    char reason[200];
    snprintf(reason, sizeof reason, "node %s removed: %s", n->name, why);
    while (n->njobs)
        job_requeue(self, n->jobs[n->njobs - 1], reason);
    node_forget_keep_key(self, n, reason);
}

void node_leaving(sched_t *self, node_t *n, const char *why)
{
    cluster_t *c = n->cluster;
    (void)store_event(self->store, "node_leaving", c->cfg.name, n->name, 0,
                      "node %s: %s", n->name, why);
    log_info("node %s: %s", n->name, why);
    char reason[256];
    snprintf(reason, sizeof reason, "node %s: %s", n->name, why);
    while (n->njobs)
        job_requeue_preempted(self, n->jobs[n->njobs - 1], reason);
    if (n->state != NODE_READY)
        return;
    n->state = NODE_LEAVING;
    n->departing = 1;
    n->requested_at = dr_mono_ms();
    (void)store_node_set_state(self->store, n->name, "leaving");
}

void node_preempted(sched_t *self, node_t *n, const char *why)
{
    cluster_t *c = n->cluster;
    (void)store_event(self->store, "node_preempted", c->cfg.name, n->name, 0,
                      "node %s preempted: %s", n->name, why);
    log_warn("node %s preempted: %s", n->name, why);
    metrics_inc(self->metrics, MC_PREEMPTIONS, c->cfg.name, NULL, 1);
    char reason[200];
    snprintf(reason, sizeof reason, "node %s preempted", n->name);
    while (n->njobs)
        job_requeue_preempted(self, n->jobs[n->njobs - 1], reason);
    if (n->state == NODE_LEAVING && n->preempted)
        return;
    n->state = NODE_LEAVING;
    n->preempted = 1;
    n->requested_at = dr_mono_ms();
    (void)store_node_set_state(self->store, n->name, "leaving");
    char err[256] = "";
    if (c->provider->ops->destroy(c->provider, &c->pinfo, n->name, n->pid, err,
                                  sizeof err) < 0)
        log_warn("node %s: provider delete: %s", n->name, err);
}

void node_set_gpus(sched_t *self, node_t *n, Drover__GpuInfo **gpus,
                   size_t ngpus)
{
    job_t *lost[DR_MAX_GPUS];
    char why[DR_MAX_GPUS][160];
    size_t nlost = node_gpus_update(n, gpus, ngpus, lost, why);
    for (size_t k = 0; k < nlost; k++) {
        (void)store_event(self->store, "gpu_unhealthy", n->cluster->cfg.name,
                          n->name, lost[k]->id, "%s", why[k]);
        job_cancel_tasks(self, lost[k], why[k]);
        job_requeue(self, lost[k], why[k]);
    }
}

node_t *node_registered(sched_t *self, const char *rid, uint64_t req)
{
    node_t *n = sched_node_find(self, rid);
    if (!n || n->state == NODE_PREPARING || n->state == NODE_UNKNOWN) {
        sched_agent_error(self, rid, req, DR_ENOTREG,
                          "node %s is not registered", rid);
        return NULL;
    }
    n->last_seen = dr_mono_ms();
    if (n->resync) {
        /* While the refused agent was connected, ZeroMQ's handover gave it
         * this node's routing id, and what we sent the node went there.
         * A Register again (same session: accepted) reconciles the
         * node's tasks with ours and sends again what was lost.  The
         * message itself is still handled. */
        n->resync = 0;
        sched_agent_error(self, rid, 0, DR_ENOTREG,
                          "node %s: register again (another agent tried to "
                          "take the name; messages to this node may have "
                          "been lost)",
                          rid);
    }
    return n;
}

void node_ack_report(sched_t *self, const char *rid, uint64_t req,
                     const Drover__TaskReport *r)
{
    dr_env_t env;
    Drover__TaskUpdateAck ack = DROVER__TASK_UPDATE_ACK__INIT;
    ack.job_id = r->job_id;
    ack.attempt = r->attempt;
    ack.state = r->state;
    wire_env_body(&env, req, DROVER__ENVELOPE__BODY_TASK_UPDATE_ACK, &ack);
    sched_send_agent(self, rid, &env);
}

void node_cancel_stray(sched_t *self, const node_t *n, uint64_t job_id,
                       uint32_t attempt, const char *why)
{
    dr_env_t env;
    Drover__TaskCancel tc = DROVER__TASK_CANCEL__INIT;
    tc.job_id = job_id;
    tc.attempt = attempt;
    tc.reason = (char *)why;
    wire_env_body(&env, 0, DROVER__ENVELOPE__BODY_TASK_CANCEL, &tc);
    sched_send_agent(self, n->name, &env);
}

/* The node's figures from a Register; its row says it is ready. */
static void s_node_ready(sched_t *self, node_t *n, const Drover__Register *r)
{
    cluster_t *c = n->cluster;
    int was = n->state;
    n->state = NODE_READY;
    n->departing = 0; /* back after a restart */
    node_capacity_set(n, r->cpus, r->memory_mb);
    n->pid = (int)r->pid;
    snprintf(n->addr, sizeof n->addr, "%s",
             r->addr && dr_valid_ip(r->addr) ? r->addr : "");
    n->runtimes = 0;
    for (size_t i = 0; i < r->n_runtimes; i++) {
        if (r->runtimes[i] && strcmp(r->runtimes[i], "process") == 0)
            n->runtimes |= RT_PROCESS;
        else if (r->runtimes[i] && strcmp(r->runtimes[i], "docker") == 0)
            n->runtimes |= RT_DOCKER;
    }
    if (!n->runtimes)
        n->runtimes = RT_PROCESS;
    n->last_seen = dr_mono_ms();
    if (!n->njobs)
        n->idle_since = n->last_seen;
    snprintf(n->vm_size, sizeof n->vm_size, "%s",
             r->vm_size && *r->vm_size ? r->vm_size : c->vm->name);
    node_save(self, n, "ready");
    if (was == NODE_PREPARING)
        c->create_failures = 0; /* the provider works again */
    if (was != NODE_READY)
        (void)store_event(self->store, "node_ready", c->cfg.name, n->name, 0,
                          "node %s registered (%u cpus, %llu MB, %zu tasks)",
                          n->name, n->cpus, (unsigned long long)n->memory_mb,
                          r->n_tasks);
    log_info("node %s registered in cluster %s (%u cpus, %llu MB, %zu tasks)",
             n->name, c->cfg.name, n->cpus, (unsigned long long)n->memory_mb,
             r->n_tasks);
}

/* Reconciles what the agent runs with what we believe it runs: reports of
 * current attempts are applied, other live tasks are to be cancelled
 * (their ids into cancel[]), terminal ones acked; a task we bound that
 * the agent does not know is started again or requeued. */
static size_t s_reconcile(sched_t *self, node_t *n, const Drover__Register *r,
                          uint64_t *cancel)
{
    size_t ncancel = 0;
    for (size_t i = 0; i < r->n_tasks; i++) {
        const Drover__TaskReport *t = r->tasks[i];
        job_t *j = sched_job_find(self, t->job_id);
        int terminal = t->state >= DROVER__TASK_STATE__TASK_EXITED;
        job_task_t *jt =
            j && j->attempts == t->attempt ? job_task_on(j, n) : NULL;
        if (jt && !jt->ended)
            job_task_report(self, n, j, jt, t);
        else if (!terminal)
            cancel[ncancel++] = t->job_id;
        if (terminal)
            node_ack_report(self, n->name, 0, t);
    }
    for (size_t i = 0; i < n->njobs;) {
        job_t *j = n->jobs[i];
        int reported = 0;
        for (size_t k = 0; k < r->n_tasks; k++)
            if (r->tasks[k]->job_id == j->id &&
                r->tasks[k]->attempt == j->attempts)
                reported = 1;
        job_task_t *jt = job_task_on(j, n);
        if (reported || jt->ended) {
            i++;
        } else if (!jt->running) {
            /* the TaskStart may have been lost with the old connection */
            jt->started = 0;
            job_send_starts(self, j);
            i++;
        } else {
            char why[160];
            snprintf(why, sizeof why, "node %s re-registered without the task",
                     n->name);
            job_requeue(self, j, why); /* unbinds: do not advance */
        }
    }
    return ncancel;
}

/* One node name, one live agent: a Register from another session than
 * the one that holds a ready node, heard from within the heartbeat
 * timeout, is a second agent with this name (a copied VM image, a typo in
 * a config), not a restart -- a restarted agent takes over its dead
 * predecessor's session id (agent/session.c).  Refused, so that the live
 * agent keeps its node and its jobs; once the holder has been silent for
 * the timeout the newcomer is accepted.  Agents that send no session (0)
 * are never refused. */
static int s_session_refused(sched_t *self, node_t *n,
                             const Drover__Register *r, char *why, size_t cap)
{
    if (!n || n->state != NODE_READY || !n->session || !r->session_id ||
        r->session_id == n->session)
        return 0;
    int64_t age = dr_mono_ms() - n->last_seen;
    if (age >= self->opts.heartbeat_timeout_ms)
        return 0;
    snprintf(why, cap,
             "node %s is already registered by a live agent session (last "
             "heard %.1f s ago); this agent is refused until that session "
             "has been silent for %.1f s",
             n->name, (double)age / 1000.0,
             (double)self->opts.heartbeat_timeout_ms / 1000.0);
    log_warn("register of node %s refused (agent pid %u, session %016llx): "
             "%s",
             n->name, r->pid, (unsigned long long)r->session_id, why);
    (void)store_event(self->store, "node_register_refused",
                      n->cluster->cfg.name, n->name, 0, "%s", why);
    n->resync = 1;
    return 1;
}

int node_register(sched_t *self, const char *rid, const Drover__Register *r,
                  node_reg_result_t *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    cluster_t *c = sched_cluster_find(self, r->cluster);
    if (!c) {
        snprintf(why, cap, "register: unknown cluster %s", r->cluster);
        return DR_ENOENT;
    }
    node_t *n = sched_node_find(self, rid);
    if (n && n->cluster != c) {
        snprintf(why, cap, "register: node %s belongs to cluster %s", rid,
                 n->cluster->cfg.name);
        return DR_EEXIST;
    }
    if (n && n->state == NODE_LEAVING && !n->departing) {
        out->leaving = 1;
        return 0;
    }
    if (s_session_refused(self, n, r, why, cap))
        return DR_EBUSY;
    if (!n) {
        /* not asked of the provider: an operator's node */
        n = node_add(self, c, rid, NODE_READY);
        n->joined = 1;
    }
    n->session = r->session_id;
    n->resync = 0; /* this Register reconciles */
    s_node_ready(self, n, r);
    out->cancel = dr_calloc(r->n_tasks + 1, sizeof *out->cancel);
    out->ncancel = s_reconcile(self, n, r, out->cancel);
    node_set_gpus(self, n, r->gpus, r->n_gpus);
    cluster_capacity_grew(c);
    return 0;
}

void node_heartbeat(sched_t *self, node_t *n, const Drover__Heartbeat *hb)
{
    n->load_milli = hb->cpu_load_milli;
    n->reported_mem_used_mb = hb->memory_used_mb;
    node_set_gpus(self, n, hb->gpus, hb->n_gpus);
}

void node_check_all(sched_t *self, int64_t now)
{
    for (cluster_t *c = self->clusters; c; c = c->next) {
        for (size_t i = 0; i < c->nnodes;) {
            node_t *n = c->nodes[i];
            /* The node's own lease (RegisterAck.lease_ms = the timeout)
             * ended before this; the margin covers its shims' 100 ms
             * check and the kill, so its tasks are dead before any of
             * their work is given to another node. */
            if ((n->state == NODE_READY || n->state == NODE_UNKNOWN) &&
                now - n->last_seen >
                    self->opts.heartbeat_timeout_ms + DR_FENCE_MARGIN_MS) {
                char why[160];
                snprintf(why, sizeof why, "lost: no heartbeat for %lld s",
                         (long long)((now - n->last_seen) / 1000));
                (void)store_event(self->store, "node_lost", c->cfg.name,
                                  n->name, 0, "node %s %s", n->name, why);
                if (n->joined) {
                    /* an operator's node: nothing to delete, and a
                     * partition that heals lets it register again (its
                     * old tasks are dead by its own lease) */
                    node_lose_joined(self, n, why);
                    continue;
                }
                char err[256];
                if (c->provider->ops->destroy(c->provider, &c->pinfo, n->name,
                                              n->pid, err, sizeof err) < 0)
                    log_warn("node %s: provider delete: %s", n->name, err);
                node_remove(self, n, why);
                continue;
            }
            (void)job_check_deadlines(self, n, now);
            i++;
        }
    }
}

void node_preempt_drill(sched_t *self, node_t *n)
{
    /* the drill goes through the agent, as a real eviction notice would:
     * it signals its tasks and answers NodePreempted */
    dr_env_t out;
    Drover__PreemptNotice pn = DROVER__PREEMPT_NOTICE__INIT;
    pn.reason = "preemption drill (drover node preempt)";
    wire_env_body(&out, 0, DROVER__ENVELOPE__BODY_PREEMPT_NOTICE, &pn);
    sched_send_agent(self, n->name, &out);
    (void)store_event(self->store, "preempt_drill", n->cluster->cfg.name,
                      n->name, 0, "preemption drill requested");
}
