/* node_docker.c - the docker runtime's node-level duties: pings, the
 * first registration held until dockerd was probed and its containers
 * adopted, re-registration when availability changes, and the sweep of
 * leftover containers.
 */
#include "agent_int.h"

#include <inttypes.h>
#include <string.h>

/* ---- the docker runtime
 * ------------------------------------------------------ */

/* A task whose TaskStart names an image runs as a container (t->rt); its
 * life is driven by the answers of dockerd, which the loop polls.  The
 * scheduler hears RUNNING once the container started, and the result once
 * it is inspected and removed.  A container found at start-up that carries
 * this node's labels is adopted: reported at registration, its wait and
 * logs followed again (logs from the beginning, offsets from 0: the
 * scheduler drops what it already has, so the log stays whole).
 *
 * "This node's" means its drover.node AND this installation's
 * drover.installation (a fingerprint of the scheduler's key, see
 * agent_cfg.h): two installations may share a dockerd and a node name, and
 * neither may adopt or remove the other's containers.  A container
 * without drover.installation was made by an older agent; whose it is
 * cannot be told, so it is left alone (never adopted, never removed) and
 * a warning at start-up says so: the operator removes it by hand. */

#define S_DOCKER_PING_MS 5000
#define S_DOCKER_SWEEP_MS 60000
#define S_DOCKER_PROBE_MAX_MS 5000

static task_t *s_docker_task_of(node_t *node, uint64_t job, uint32_t attempt)
{
    task_t *t = task_find(node, job, attempt);
    return t && t->rt ? t : NULL;
}

/* The list of this node's containers: adopted at start-up, removed when
 * no task owns them later (a leftover of a lost daemon or agent). */
static void s_docker_listed(void *arg, int rc, const runtime_docker_found_t *v,
                            size_t n, const char *why)
{
    node_t *node = arg;
    agent_t *a = node->agent;
    int startup = !a->docker_adopted;
    a->docker_adopted = 1;
    if (rc < 0) {
        log_warn("node %s: listing drover's containers failed: %s", node->name,
                 why);
        return;
    }
    if (!startup && !node->registered)
        return; /* a refused second agent of this name must not sweep */
    size_t others = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].installation, runtime_docker_installation(a->docker)) !=
            0) {
            if (!v[i].installation[0] && startup)
                log_warn("node %s: container %.12s of job %" PRIu64
                         " has no drover.installation label (made by an "
                         "older agent): not adopted, left alone; remove it "
                         "by hand (docker rm -f) once it is not needed",
                         node->name, v[i].id, v[i].job_id);
            others += v[i].installation[0] != '\0';
            continue;
        }
        if (s_docker_task_of(node, v[i].job_id, v[i].attempt))
            continue;
        if (!startup || task_find(node, v[i].job_id, v[i].attempt) ||
            node->leaving) {
            log_info("node %s: removing leftover container %.12s of job "
                     "%" PRIu64 " attempt %u",
                     node->name, v[i].id, v[i].job_id, v[i].attempt);
            runtime_docker_remove(a->docker, v[i].id);
            continue;
        }
        task_t *t = task_add(node, v[i].job_id, v[i].attempt);
        if (task_rt_docker_adopt(a->docker, v[i].id, &t->rt) < 0) {
            task_remove(node, t);
            continue;
        }
        t->live = 1;
        t->state = TASK_ST(RUNNING);
        t->started_at_ms = dr_now_ms();
        log_info("job %" PRIu64 " attempt %u on node %s: adopted container "
                 "%.12s (%s)",
                 t->job_id, t->attempt, node->name, v[i].id,
                 v[i].running ? "running" : "exited");
    }
    if (others && startup)
        log_info("node %s: %zu container(s) of other drover installations "
                 "share this dockerd and node name; left alone",
                 node->name, others);
}

/* Pings, start-up adoption, availability changes, sweeps.  Returns 1 while
 * the first registration must wait (probe and adoption not done yet). */
int node_docker_tick(agent_t *a, int64_t now, int64_t *next)
{
    if (!a->docker)
        return 0;
    node_t *node = &a->nodes[0];
    if (now >= a->docker_next_ping) {
        runtime_docker_ping(a->docker);
        a->docker_next_ping = now + S_DOCKER_PING_MS;
    }
    *next = agent_min(*next, a->docker_next_ping);
    int avail =
        runtime_docker_probed(a->docker) && runtime_docker_available(a->docker);
    if (avail && !a->docker_listing_started) {
        a->docker_listing_started = 1;
        a->docker_next_sweep = now + S_DOCKER_SWEEP_MS;
        int rc =
            runtime_docker_list(a->docker, node->name, s_docker_listed, node);
        if (rc < 0)
            a->docker_adopted = 1; /* nothing to adopt then */
    } else if (avail && a->docker_adopted && now >= a->docker_next_sweep) {
        a->docker_next_sweep = now + S_DOCKER_SWEEP_MS;
        (void)runtime_docker_list(a->docker, node->name, s_docker_listed, node);
    }
    if (a->docker_adopted)
        *next = agent_min(*next, a->docker_next_sweep);
    if (runtime_docker_probed(a->docker) && avail != a->docker_avail) {
        a->docker_avail = avail;
        if (avail && a->docker_adopted) /* back: sweep what was left */
            a->docker_next_sweep = now;
        if (node->registered && node->sock) {
            log_info("node %s: docker runtime %s; registering again",
                     node->name, avail ? "available" : "gone");
            session_send_register(node);
        }
    }
    int waiting =
        !runtime_docker_probed(a->docker) || (avail && !a->docker_adopted);
    if (waiting && now - a->started_at < S_DOCKER_PROBE_MAX_MS) {
        *next = agent_min(*next, now + 20);
        return 1;
    }
    return 0;
}
