/* job_dist.c - what a job's distribution asks of the model: the counts of
 * distribution tensorflow (checked at submission, read from the spec) and
 * the ports of the jobs that listen (a PyTorch job's MASTER_PORT on its
 * head, a TensorFlow job's one port per task on every node), chosen so
 * that no two jobs meet on a port of one machine.  It reads jobs and nodes
 * and writes nothing but the job it is given; job_mgr.c calls it.
 */
#include "dist.h"
#include "dr_err.h"
#include "sched_int.h"

#include <stdio.h>
#include <string.h>

void job_dist_from_spec(job_t *j, const Drover__Job *spec)
{
    j->tf = spec && spec->distribution &&
            strcmp(spec->distribution, "tensorflow") == 0;
    if (!j->tf)
        return;
    uint32_t nodes = j->nodes ? j->nodes : 1;
    j->tf_workers = spec->worker_count ? spec->worker_count : nodes;
    j->tf_ps = spec->parameter_server_count;
}

int job_dist_check(const Drover__Job *m, char *why, size_t cap)
{
    const char *d = m->distribution ? m->distribution : "";
    int tf = strcmp(d, "tensorflow") == 0;
    if (*d && strcmp(d, "mpi") != 0 && strcmp(d, "pytorch") != 0 && !tf) {
        snprintf(why, cap,
                 "distribution '%.32s' is not known (mpi, pytorch or "
                 "tensorflow)",
                 d);
        return DR_EINVAL;
    }
    if (strcmp(d, "mpi") == 0 && m->nodes <= 1 && m->procs_per_node <= 1) {
        snprintf(why, cap,
                 "distribution mpi needs --nodes or --procs-per-node "
                 "above 1");
        return DR_EINVAL;
    }
    if (!tf && (m->worker_count || m->parameter_server_count)) {
        snprintf(why, cap,
                 "worker_count and parameter_server_count are for "
                 "distribution tensorflow only");
        return DR_EINVAL;
    }
    if (!tf)
        return 0;
    if (m->procs_per_node > 1) {
        snprintf(why, cap,
                 "tensorflow: procs_per_node is not for it (its tasks are "
                 "worker_count and parameter_server_count)");
        return DR_EINVAL;
    }
    uint32_t nodes = m->nodes ? m->nodes : 1;
    uint64_t w = m->worker_count ? m->worker_count : nodes;
    uint64_t total = w + m->parameter_server_count;
    if (total < nodes || total > DIST_MAX_TASKS) {
        snprintf(why, cap,
                 "tensorflow: worker_count + parameter_server_count is "
                 "%llu; it must be between the nodes (%u) and %d",
                 (unsigned long long)total, nodes, DIST_MAX_TASKS);
        return DR_EINVAL;
    }
    return 0;
}

/* How many ports from master_port job o holds on node n (0: none): a
 * PyTorch job its MASTER_PORT on its head, a TensorFlow job one per task
 * on each of its nodes. */
static uint32_t s_ports_held(const job_t *o, const node_t *n)
{
    if (!o->master_port || !o->ntasks)
        return 0;
    if (o->torch)
        return o->tasks[0].node == n;
    return o->tf ? o->tf_workers + o->tf_ps : 0;
}

/* Whether node n shares a machine with one of j's nodes (the same
 * address: the local provider's nodes), or is one. */
static int s_near(const job_t *j, const node_t *n)
{
    for (uint32_t k = 0; k < j->ntasks; k++) {
        const node_t *m = j->tasks[k].node;
        if (m == n || (m->addr[0] && strcmp(m->addr, n->addr) == 0))
            return 1;
    }
    return 0;
}

/* Marks in used[] (DR_TORCH_PORTS of them, from DR_TORCH_PORT_BASE) the
 * ports other jobs hold on j's nodes and the nodes that share their
 * machines: one pass over the nodes. */
static void s_ports_used(sched_t *self, const job_t *j, uint8_t *used)
{
    size_t it = 0;
    const node_t *n;
    while ((n = dict_next(self->nodes, &it))) {
        if (!n->njobs || !s_near(j, n))
            continue;
        for (size_t i = 0; i < n->njobs; i++) {
            const job_t *o = n->jobs[i];
            uint32_t held = o == j ? 0 : s_ports_held(o, n);
            for (uint32_t k = 0; k < held; k++) {
                uint32_t port = o->master_port + k;
                if (port >= DR_TORCH_PORT_BASE &&
                    port < DR_TORCH_PORT_BASE + DR_TORCH_PORTS)
                    used[port - DR_TORCH_PORT_BASE] = 1;
            }
        }
    }
}

/* The first of the `want` ports of a job that listens (a PyTorch job's
 * MASTER_PORT; a TensorFlow job's tasks'): the lowest run of
 * DR_TORCH_PORT_BASE's range that no other job holds on its nodes or on
 * the nodes that share their machines.  Once per attempt of such a job;
 * it reads every node once (not every job).  A port another program holds
 * there is not known here: the range is drover's. */
uint32_t job_ports_pick(sched_t *self, const job_t *j, uint32_t want)
{
    uint8_t used[DR_TORCH_PORTS] = {0};
    s_ports_used(self, j, used);
    for (uint32_t p = 0, run = 0; p < DR_TORCH_PORTS; p++) {
        run = used[p] ? 0 : run + 1;
        if (run == want)
            return DR_TORCH_PORT_BASE + p + 1 - want;
    }
    return DR_TORCH_PORT_BASE + (uint32_t)(j->id % (DR_TORCH_PORTS - want + 1));
}
