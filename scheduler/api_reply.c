/* api_reply.c - the replies more than one RPC file sends: Ok, and a
 * cluster as clients see it.  It reads the model and calls nothing of
 * the RPC layer.
 */
#include "autoscaler.h"
#include "dr_err.h"
#include "sched_int.h"

#include <stdio.h>

void api_cluster_msg(const cluster_t *c, Drover__Cluster *m, char **errs)
{
    node_counts_t k;
    autoscaler_count(c, &k);
    drover__cluster__init(m);
    m->name = (char *)c->cfg.name;
    m->vm_size = (char *)c->vm->name;
    m->min_nodes = c->cfg.min_nodes;
    m->max_nodes = c->cfg.max_nodes;
    m->idle_seconds_before_scaledown = c->cfg.idle_seconds;
    m->vm_priority = (char *)c->cfg.vm_priority;
    m->location = (char *)c->cfg.location;
    m->provider = (char *)c->cfg.provider;
    m->current_nodes = k.ready + k.preparing + k.unknown + k.leaving;
    m->target_nodes = c->target_nodes;
    m->allocation_state = (char *)autoscaler_allocation_state(c);
    m->created_at_ms = c->cfg.created_at_ms;
    m->idle_nodes = k.idle;
    m->running_nodes = k.running;
    m->preparing_nodes = k.preparing + k.unknown;
    m->leaving_nodes = k.leaving;
    m->vm_cpus = c->vm->vcpus;
    m->vm_memory_mb = c->vm->memory_mb;
    m->vm_gpus = c->vm->gpus;
    m->resume_program = (char *)c->cfg.resume_program;
    m->suspend_program = (char *)c->cfg.suspend_program;
    m->provider_url = (char *)c->cfg.provider_url;
    m->locked = c->cfg.locked;
    m->vm_family = (char *)c->vm->family;
    m->wait_reason = (char *)c->wait_reason;
    m->identity = (char *)c->cfg.identity;
    m->identity_principal_id = (char *)c->cfg.identity_principal;
    for (size_t i = 0; i < c->nnodes; i++) {
        const node_t *n = c->nodes[i];
        if (n->preempted)
            m->preempted_nodes++;
        else if (n->state == NODE_UNKNOWN)
            m->unusable_nodes++;
        else if (n->state == NODE_READY && node_gpu_count(n) &&
                 !node_free_gpus(n) && !n->njobs)
            m->unusable_nodes++; /* every GPU unhealthy */
    }
    if (c->cfg.last_error[0]) {
        errs[0] = (char *)c->cfg.last_error;
        m->errors = errs;
        m->n_errors = 1;
    }
}

void api_reply_cluster(sched_t *s, const char *rid, uint64_t req,
                       const cluster_t *c)
{
    dr_env_t out;
    Drover__Cluster m;
    char *errs[1];
    api_cluster_msg(c, &m, errs);
    wire_env_body(&out, req, DROVER__ENVELOPE__BODY_CLUSTER_INFO, &m);
    sched_reply_client(s, rid, &out);
}

void api_reply_ok(sched_t *s, const char *rid, uint64_t req, const char *msg)
{
    dr_env_t out;
    Drover__Ok ok = DROVER__OK__INIT;
    ok.message = (char *)msg;
    wire_env_body(&out, req, DROVER__ENVELOPE__BODY_OK, &ok);
    sched_reply_client(s, rid, &out);
}

cluster_t *api_cluster_arg(sched_t *s, const char *rid, uint64_t req,
                           const char *name)
{
    cluster_t *c = name ? sched_cluster_find(s, name) : NULL;
    if (!c)
        sched_client_error(s, rid, req, DR_ENOENT, "unknown cluster '%s'",
                           name ? name : "");
    return c;
}

node_t *api_node_arg(sched_t *s, const char *rid, uint64_t req,
                     const char *name)
{
    node_t *n = name ? sched_node_find(s, name) : NULL;
    if (!n)
        sched_client_error(s, rid, req, DR_ENOENT, "unknown node '%s'",
                           name ? name : "");
    return n;
}
