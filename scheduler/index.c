/* index.c - the model's lookups and the few reads and marks every
 * manager needs: a cluster, node or job by name or id, the task of a job
 * on a node, and a cluster's "capacity grew" mark.
 *
 * The bottom of the model: it calls nothing of it, so every manager may
 * call it.
 */
#include "sched_int.h"
#include "util.h"

cluster_t *sched_cluster_find(sched_t *self, const char *name)
{
    for (cluster_t *c = self->clusters; c; c = c->next)
        if (dr_streq_ci(c->cfg.name, name))
            return c;
    return NULL;
}

node_t *sched_node_find(sched_t *self, const char *name)
{
    return name ? dict_get_str(self->nodes, name) : NULL;
}

job_t *sched_job_find(sched_t *self, uint64_t id)
{
    return dict_get_u64(self->jobs, id);
}

job_task_t *job_task_on(job_t *j, const node_t *n)
{
    for (uint32_t i = 0; i < j->ntasks; i++)
        if (j->tasks[i].node == n)
            return &j->tasks[i];
    return NULL;
}

node_t *job_head(const job_t *j)
{
    return j->ntasks ? j->tasks[0].node : NULL;
}

void cluster_capacity_grew(cluster_t *c)
{
    c->dirty = 1;
}
