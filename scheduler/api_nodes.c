/* api_nodes.c - the node requests: list, show and the preemption drill.
 * Thin handlers: decode, validate, one call into the model, reply.
 */
#include "api_client.h"
#include "dr_err.h"
#include "sched_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a Node message borrows: runtime names and its GPUs' messages. */
typedef struct {
    char *rts[2];
    Drover__GpuInfo gpus[DR_MAX_GPUS];
    Drover__GpuInfo *gptrs[DR_MAX_GPUS];
} node_scratch_t;

static void s_node_fill(const node_t *nd, Drover__Node *m, node_scratch_t *x)
{
    static char *const rt_names[] = {"process", "docker"};
    const cluster_t *c = nd->cluster;
    drover__node__init(m);
    m->name = (char *)nd->name;
    m->cluster = (char *)c->cfg.name;
    m->state = nd->preempted ? "preempted" : (char *)node_state_name(nd);
    m->cpus = nd->cpus;
    m->memory_mb = nd->memory_mb;
    m->cpus_used = nd->cpus_used;
    m->memory_used_mb = nd->memory_used_mb;
    m->tasks = (uint32_t)nd->njobs;
    m->vm_size = (char *)(nd->vm_size[0] ? nd->vm_size : c->vm->name);
    m->created_at_ms = nd->created_at_ms;
    m->last_seen_ms = dr_now_ms() - (dr_mono_ms() - nd->last_seen);
    if (nd->runtimes & RT_PROCESS)
        x->rts[m->n_runtimes++] = rt_names[0];
    if (nd->runtimes & RT_DOCKER)
        x->rts[m->n_runtimes++] = rt_names[1];
    m->runtimes = x->rts;
    if (nd->state == NODE_LEAVING)
        m->reason = nd->preempted ? "preempted" : "being released";
    else if (nd->state == NODE_UNKNOWN)
        m->reason = "waiting for its agent to re-register";
    if (!node_gpu_count(nd))
        return;
    gpu_list_to_proto(&nd->gpus->list, x->gpus, x->gptrs);
    m->n_gpus = nd->gpus->list.count;
    m->gpus = x->gptrs;
}

void api_node_list(sched_t *s, const char *rid, dr_env_t *env)
{
    const char *filter = env->node_list->cluster;
    cluster_t *only = NULL;
    if (filter && *filter) {
        only = sched_cluster_find(s, filter);
        if (!only) {
            API_ERR(DR_ENOENT, "unknown cluster '%s'", filter);
            return;
        }
    }
    size_t n = 0;
    for (cluster_t *c = s->clusters; c; c = c->next)
        if (!only || c == only)
            n += c->nnodes;
    Drover__Node *ms = dr_calloc(n + 1, sizeof *ms);
    Drover__Node **ptrs = dr_calloc(n + 1, sizeof *ptrs);
    node_scratch_t **xs = dr_calloc(n + 1, sizeof *xs);
    size_t i = 0;
    for (cluster_t *c = s->clusters; c; c = c->next) {
        if (only && c != only)
            continue;
        for (size_t k = 0; k < c->nnodes; k++, i++) {
            /* most nodes have no GPU: their scratch is the small part */
            xs[i] = dr_calloc(1, node_gpu_count(c->nodes[k])
                                     ? sizeof **xs
                                     : offsetof(node_scratch_t, gpus));
            s_node_fill(c->nodes[k], &ms[i], xs[i]);
            ptrs[i] = &ms[i];
        }
    }
    dr_env_t out;
    Drover__NodeList list = DROVER__NODE_LIST__INIT;
    list.n_nodes = n;
    list.nodes = ptrs;
    wire_env_body(&out, env->request_id, DROVER__ENVELOPE__BODY_NODE_LIST_REPLY,
                  &list);
    sched_reply_client(s, rid, &out);
    for (size_t k = 0; k < n; k++)
        free(xs[k]);
    free(xs);
    free(ms);
    free(ptrs);
}

void api_node_show(sched_t *s, const char *rid, dr_env_t *env)
{
    const char *name = env->node_show->name;
    node_t *nd = api_node_arg(s, rid, env->request_id, name);
    if (!nd)
        return;
    Drover__Node m;
    node_scratch_t *x = dr_calloc(1, sizeof *x);
    s_node_fill(nd, &m, x);
    dr_env_t out;
    wire_env_body(&out, env->request_id, DROVER__ENVELOPE__BODY_NODE_INFO, &m);
    sched_reply_client(s, rid, &out);
    free(x);
}

void api_node_preempt(sched_t *s, const char *rid, dr_env_t *env)
{
    const char *name = env->node_preempt->name;
    node_t *nd = api_node_arg(s, rid, env->request_id, name);
    if (!nd)
        return;
    if (nd->state != NODE_READY) {
        API_ERR(DR_ESTATE, "node %s is %s, not ready", nd->name,
                node_state_name(nd));
        return;
    }
    node_preempt_drill(s, nd);
    char msg[160];
    snprintf(msg, sizeof msg, "node %s: preemption notice sent", nd->name);
    api_reply_ok(s, rid, env->request_id, msg);
}
