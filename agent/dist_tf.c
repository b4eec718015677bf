/* dist_tf.c - distribution tensorflow on a node: which of the job's tasks
 * run here (common/dist.h spreads them) and the TF_CONFIG they get.
 *
 * TF_CONFIG is what Azure ML sets and MultiWorkerMirroredStrategy (or a
 * parameter-server strategy) reads:
 *   {"cluster": {"worker": ["ADDR:PORT", ...], "ps": [...]},
 *    "task": {"type": "worker", "index": I}, "environment": "cloud"}
 * ADDR is the address of the task's node that every node reaches (the
 * node name where the scheduler sent none), PORT is tf_port + the task's
 * number (common/dist.h): the scheduler chose tf_port so that those ports
 * are this job's on every node and on every host its nodes share.  The agent
 * writes the cluster object once; drover-launch --spawn puts each process's own
 * task around it, so the launcher needs no JSON library.
 */
#include "dist_tf.h"
#include "dist.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

int dist_tf_is(const Drover__TaskStart *ts)
{
    return ts->distribution && strcmp(ts->distribution, "tensorflow") == 0;
}

static uint32_t s_nodes(const Drover__TaskStart *ts)
{
    return ts->nodes ? ts->nodes : 1;
}

int dist_tf_check(const Drover__TaskStart *ts, char *why, size_t n)
{
    uint64_t total = (uint64_t)ts->worker_count + ts->parameter_server_count;
    uint32_t nodes = s_nodes(ts);
    if (ts->worker_count == 0 || total < nodes || total > DIST_MAX_TASKS) {
        snprintf(why, n,
                 "tensorflow: %u workers and %u parameter servers for %u "
                 "nodes",
                 ts->worker_count, ts->parameter_server_count, nodes);
        return -1;
    }
    if (ts->tf_port == 0 || ts->tf_port + total > 65536) {
        snprintf(why, n, "tensorflow: port %u for %u tasks", ts->tf_port,
                 (unsigned)total);
        return -1;
    }
    return 0;
}

uint32_t dist_tf_local(const Drover__TaskStart *ts)
{
    uint32_t first, count;
    dist_share(ts->worker_count + ts->parameter_server_count, s_nodes(ts),
               ts->node_rank, &first, &count);
    return count;
}

/* The address of node k for the others. */
static const char *s_addr(const Drover__TaskStart *ts, uint32_t k)
{
    if (k < ts->n_host_addrs)
        return ts->host_addrs[k];
    if (k < ts->n_hosts)
        return ts->hosts[k];
    return "127.0.0.1";
}

void dist_tf_env(const Drover__TaskStart *ts, envv_t *env)
{
    uint32_t nodes = s_nodes(ts);
    uint32_t w = ts->worker_count, total = w + ts->parameter_server_count;
    dr_buf_t b = {0};
    dr_buf_printf(&b, "{\"worker\": [");
    for (uint32_t k = 0, o = 0; k < nodes; k++) {
        uint32_t first, count;
        dist_share(total, nodes, k, &first, &count);
        for (uint32_t i = 0; i < count; i++, o++) {
            if (o == w)
                dr_buf_printf(&b, "], \"ps\": [");
            dr_buf_printf(&b, "%s\"%s:%u\"", o == 0 || o == w ? "" : ", ",
                          s_addr(ts, k), ts->tf_port + o);
        }
    }
    dr_buf_printf(&b, "]}");
    envv_put(env, dr_asprintf("DROVER_TF_CLUSTER=%s", b.data));
    b.len = 0;
    uint32_t first, count;
    dist_share(total, nodes, ts->node_rank, &first, &count);
    for (uint32_t o = first; o < first + count; o++)
        dr_buf_printf(&b, "%s%s:%u", o == first ? "" : ",",
                      o < w ? "worker" : "ps", o < w ? o : o - w);
    envv_put(env, dr_asprintf("DROVER_TF_TASKS=%s", b.len ? b.data : ""));
    envv_put(env, dr_asprintf("DROVER_SPAWN_FIRST_RANK=%u", first));
    dr_buf_free(&b);
}
