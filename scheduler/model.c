/* model.c - the model as a whole: what it is made of (state directory,
 * vm-size catalog, store, the local provider, keys and the managed
 * identities' signer), its recovery from the store after a restart, and
 * its release.
 *
 * Recovery reads quotas, clusters, nodes and the active jobs back (nodes
 * wait to re-register as "unknown"), then requeues the jobs whose nodes
 * are gone, in one transaction.  Nothing here touches a socket.
 */
#include "auth.h"
#include "dr_err.h"
#include "identity.h"
#include "log.h"
#include "sched_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void s_load_quota(void *arg, const char *location, const char *family,
                         int64_t dedicated, int64_t lowpriority)
{
    quota_load(arg, location, family, dedicated, lowpriority);
}

static void s_load_cluster(void *arg, const store_cluster_t *cfg)
{
    sched_t *self = arg;
    cluster_t *c = NULL;
    if (cluster_add(self, cfg, &c) < 0) {
        log_error("cluster %s: vm size %s is not in the catalog; skipped",
                  cfg->name, cfg->vm_size);
        return;
    }
    c->target_nodes = cfg->min_nodes;
}

static void s_load_node(void *arg, const store_node_t *row)
{
    sched_t *self = arg;
    cluster_t *c = sched_cluster_find(self, row->cluster);
    if (!c) {
        (void)store_node_delete(self->store, row->name);
        return;
    }
    node_state_t st = NODE_UNKNOWN;
    if (strcmp(row->state, "preparing") == 0)
        st = NODE_PREPARING;
    else if (strcmp(row->state, "leaving") == 0)
        st = NODE_LEAVING;
    node_t *n = node_add(self, c, row->name, st);
    node_capacity_set(n, (uint32_t)row->cpus, (uint64_t)row->memory_mb);
    n->pid = row->pid;
    n->joined = row->joined;
    n->drain = row->drain;
    n->created_at_ms = row->created_at_ms;
    snprintf(n->vm_size, sizeof n->vm_size, "%s", row->vm_size);
    /* keep counting the node sequence from the names we already used */
    size_t cl = strlen(c->cfg.name);
    if (strncmp(row->name, c->cfg.name, cl) == 0 && row->name[cl] == '-') {
        unsigned long long k = strtoull(row->name + cl + 1, NULL, 10);
        if (k > c->node_seq)
            c->node_seq = k;
    }
}

static int s_load_job(void *arg, const store_job_t *row)
{
    return job_load_row(arg, row);
}

static int s_load(sched_t *self)
{
    if (store_quota_each(self->store, s_load_quota, self) < 0 ||
        store_cluster_each(self->store, s_load_cluster, self) < 0 ||
        store_node_each(self->store, s_load_node, self) < 0)
        return DR_EDB;
    if (store_begin(self->store) < 0 ||
        store_job_each_in_states(self->store, "queued,starting,running",
                                 s_load_job, self) < 0)
        return DR_EDB;
    job_requeue_orphans(self);
    if (store_commit(self->store) < 0)
        return DR_EDB;
    log_info("state loaded from %s: %zu active jobs, %zu nodes",
             self->opts.state_dir, dict_size(self->jobs),
             dict_size(self->nodes));
    return 0;
}

/* Who this scheduler is, for the leader row: where it answers clients and
 * agents (a list of agent endpoints says nothing of this one). */
static void s_me(const sched_t *self, store_leader_t *me)
{
    char host[64] = "?";
    memset(me, 0, sizeof *me);
    (void)gethostname(host, sizeof host - 1);
    snprintf(me->holder, sizeof me->holder, "%.63s:%d", host, (int)getpid());
    snprintf(me->client, sizeof me->client, "%s", self->opts.client_endpoint);
    const char *agent = self->opts.agent_connect;
    if (strchr(agent, ',') || !agent[0])
        agent = self->opts.agent_endpoint;
    snprintf(me->agent, sizeof me->agent, "%s", agent);
}

int model_leader_tick(sched_t *self)
{
    store_leader_t me;
    s_me(self, &me);
    int rc = store_leader_poll(self->store, &me, self->opts.leader_lease_ms,
                               &self->leader);
    if (rc == 0 && !self->standby) {
        log_warn("leadership lost: this scheduler is a standby now; it "
                 "sends clients and agents to the leader");
        self->standby = 1;
        self->need_load = 1;
        outbox_clear(&self->agent_out);
    } else if (rc == 0 && self->leader.term) {
        log_debug("standby: %s leads (term %lld)", self->leader.holder,
                  (long long)self->leader.term);
    }
    if (rc == 2 && store_down(self->store)) {
        /* the lock is back before the loop's connection: read the state
         * once the probe has reconnected it (writes are held till then) */
        self->standby = 0;
        self->need_load = 1;
        self->leader = me;
    } else if (rc == 2 ||
               (rc == 1 && self->need_load && !store_down(self->store))) {
        self->leader = me;
        if (model_reload(self) < 0) {
            log_error("leader: cannot read the state; writes are held "
                      "until it can");
            self->need_load = 1;
            self->standby = 0;
            return rc;
        }
        self->need_load = 0;
        self->db_down = 0;
        self->standby = 0;
    }
    return rc;
}

static int s_dirs(const sched_opts_t *opts)
{
    char *nodes = dr_asprintf("%s/nodes", opts->state_dir);
    int ok = dr_mkdirs(nodes, 0750) == 0;
    if (!ok)
        log_warn_errno("cannot create state dir %s", opts->state_dir);
    free(nodes);
    return ok ? 0 : DR_EIO;
}

int model_open(sched_t *self, const sched_opts_t *opts)
{
    self->opts = *opts;
    if (s_dirs(opts) < 0)
        return DR_EIO;
    if (opts->vm_catalog[0]) {
        char err[256];
        if (catalog_load(opts->vm_catalog, &self->catalog, err, sizeof err) <
            0) {
            log_error("vm catalog: %s", err);
            return DR_EINVAL;
        }
    } else {
        self->catalog = catalog_new_default();
    }
    self->jobs = dict_new_u64();
    self->nodes = dict_new_str();
    self->arrays = dict_new_u64();
    self->local = provider_local_new(
        opts->agent_bin, opts->agent_connect, opts->state_dir,
        opts->heartbeat_interval_ms, opts->scheduled_events_url);
    self->local->report = cluster_provider_report;
    self->local->report_arg = self;
    self->store = store_open(opts->state_dir, opts->store);
    if (!self->store)
        return DR_EDB;
    /* on a shared store only the leader loads and serves; the first poll
     * says which this is */
    store_leader_t me;
    s_me(self, &me);
    int lead = store_leader_poll(self->store, &me, opts->leader_lease_ms,
                                 &self->leader);
    if (lead < 0)
        return DR_EDB;
    if (lead == 0) {
        self->standby = 1;
        self->need_load = 1;
        log_info("standby: %s leads (term %lld); clients and agents are "
                 "sent there",
                 self->leader.holder[0] ? self->leader.holder : "no one",
                 (long long)self->leader.term);
    } else {
        self->leader = me;
    }
    char *keys_dir = dr_asprintf("%s/keys", opts->state_dir);
    self->auth = auth_new(self->store, opts->insecure ? NULL : keys_dir);
    self->identity = identity_new(keys_dir, opts->identity_ttl_ms / 1000);
    free(keys_dir);
    if (!self->auth || !self->identity)
        return DR_EIO;
    if (opts->insecure)
        log_warn("INSECURE: --insecure turns CURVE off: anyone who reaches the "
                 "endpoints can run jobs and act as any node; use it only "
                 "on loopback for debugging");
    if (self->standby)
        return 0;
    int rc = s_load(self);
    if (rc == 0) {
        job_logs_import(self);
        job_logs_rotate(self);
    }
    return rc;
}

static void s_free_state(sched_t *self)
{
    cluster_free_all(self);
    if (self->jobs) {
        size_t it = 0;
        job_t *j;
        while ((j = dict_next(self->jobs, &it)))
            job_free(j);
        dict_destroy(&self->jobs);
    }
    dict_destroy(&self->nodes);
    job_arrays_free(self);
    free(self->quotas);
    self->quotas = NULL;
    self->nquotas = 0;
    self->nfresh = 0;
    self->nheld = 0;
}

int model_reload(sched_t *self)
{
    (void)store_rollback(self->store);
    /* commands about what was undone must not leave */
    outbox_clear(&self->agent_out);
    s_free_state(self);
    self->jobs = dict_new_u64();
    self->nodes = dict_new_str();
    self->arrays = dict_new_u64();
    int rc = auth_reload(self->auth);
    if (rc == 0)
        rc = s_load(self);
    if (rc == 0)
        log_warn("state read back from the last commit: %zu active jobs, "
                 "%zu nodes (they register again)",
                 dict_size(self->jobs), dict_size(self->nodes));
    return rc;
}

void model_close(sched_t *self)
{
    s_free_state(self);
    auth_destroy(&self->auth);
    identity_destroy(&self->identity);
    outbox_free(&self->agent_out);
    outbox_free(&self->client_out);
    store_destroy(&self->store);
    provider_destroy(&self->local);
    free(self->fresh);
    free(self->held);
    catalog_destroy(&self->catalog);
}
