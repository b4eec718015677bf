/* api_client.c - the client-facing RPC table (Redis's command table).
 *
 * One row per request body: its handler (in api_clusters.c, api_jobs.c,
 * api_nodes.c, api_admin.c) and who may call it.  The dispatcher looks
 * the row up, enforces its flags, then calls the handler, so the
 * admin/ownership rule of every request is read in one place:
 *   F_ADMIN  the admin role only;
 *   F_OWNER  the job the request names must be the caller's (or the
 *            caller admin); an unknown job is left to the handler;
 *   F_WRITE  it changes the state: refused with "disk full" while the
 *            scheduler's disk is low or full (reads are always served).
 * A handler answers with exactly one reply (or an Error) through the
 * client outbox and changes nothing when it refuses.  Submissions are
 * durable before the reply leaves: it waits until the pass commits.
 */
#include "api_client.h"
#include "dr_err.h"
#include "log.h"
#include "sched_int.h"

#include <stdio.h>
#include <string.h>

enum { F_ADMIN = 1, F_OWNER = 2, F_WRITE = 4 };

static uint64_t s_cancel_id(const dr_env_t *env)
{
    return env->job_cancel->id;
}

static uint64_t s_logs_id(const dr_env_t *env)
{
    return env->job_logs->id;
}

static uint64_t s_rerun_id(const dr_env_t *env)
{
    return env->job_rerun->id;
}

static uint64_t s_files_id(const dr_env_t *env)
{
    return env->job_files->id;
}

typedef struct {
    int body;
    api_fn *fn;
    int flags;
    const char *what; /* for refusals: "cluster create", "cancel" */
    uint64_t (*job_id)(const dr_env_t *env); /* F_OWNER: the job named */
} client_cmd_t;

static const client_cmd_t s_table[] = {
    {DROVER__ENVELOPE__BODY_CLUSTER_CREATE, api_cluster_create,
     F_ADMIN | F_WRITE, "cluster create", NULL},
    {DROVER__ENVELOPE__BODY_CLUSTER_UPDATE, api_cluster_update,
     F_ADMIN | F_WRITE, "cluster update", NULL},
    {DROVER__ENVELOPE__BODY_CLUSTER_SHOW, api_cluster_show, 0, NULL, NULL},
    {DROVER__ENVELOPE__BODY_CLUSTER_LIST, api_cluster_list, 0, NULL, NULL},
    {DROVER__ENVELOPE__BODY_CLUSTER_DELETE, api_cluster_delete,
     F_ADMIN | F_WRITE, "cluster delete", NULL},
    {DROVER__ENVELOPE__BODY_JOB_SUBMIT, api_job_submit, F_WRITE, NULL, NULL},
    {DROVER__ENVELOPE__BODY_JOB_SHOW, api_job_show, 0, NULL, NULL},
    {DROVER__ENVELOPE__BODY_JOB_LIST, api_job_list, 0, NULL, NULL},
    {DROVER__ENVELOPE__BODY_JOB_CANCEL, api_job_cancel, F_OWNER | F_WRITE,
     "cancel", s_cancel_id},
    {DROVER__ENVELOPE__BODY_JOB_LOGS, api_job_logs, F_OWNER, "logs", s_logs_id},
    /* a rerun copies the command line and environment: the owner's */
    {DROVER__ENVELOPE__BODY_JOB_RERUN, api_job_rerun, F_OWNER | F_WRITE,
     "rerun", s_rerun_id},
    {DROVER__ENVELOPE__BODY_USAGE, api_usage, 0, NULL, NULL},
    /* a job's outputs are its owner's, as its log is */
    {DROVER__ENVELOPE__BODY_JOB_FILES, api_job_files, F_OWNER, "download",
     s_files_id},
    {DROVER__ENVELOPE__BODY_NODE_LIST, api_node_list, 0, NULL, NULL},
    {DROVER__ENVELOPE__BODY_NODE_SHOW, api_node_show, 0, NULL, NULL},
    {DROVER__ENVELOPE__BODY_NODE_PREEMPT, api_node_preempt, F_ADMIN | F_WRITE,
     "node preempt", NULL},
    {DROVER__ENVELOPE__BODY_NODE_DRAIN, api_node_drain, F_ADMIN | F_WRITE,
     "node drain", NULL},
    {DROVER__ENVELOPE__BODY_CLUSTER_LOCK, api_cluster_lock, F_ADMIN | F_WRITE,
     "cluster lock", NULL},
    {DROVER__ENVELOPE__BODY_CLUSTER_EVENTS, api_cluster_events, 0, NULL, NULL},
    {DROVER__ENVELOPE__BODY_QUOTA_SET, api_quota_set, F_ADMIN | F_WRITE,
     "quota set", NULL},
    {DROVER__ENVELOPE__BODY_QUOTA_LIST, api_quota_list, 0, NULL, NULL},
    {DROVER__ENVELOPE__BODY_KEY_ADD, api_key_add, F_ADMIN | F_WRITE, "keys add",
     NULL},
    {DROVER__ENVELOPE__BODY_KEY_REVOKE, api_key_revoke, F_ADMIN | F_WRITE,
     "keys revoke", NULL},
    {DROVER__ENVELOPE__BODY_KEY_LIST, api_key_list, F_ADMIN, "keys list", NULL},
    {DROVER__ENVELOPE__BODY_IDENTITY_ASSIGN, api_identity_assign,
     F_ADMIN | F_WRITE, "identity assign", NULL},
    {DROVER__ENVELOPE__BODY_IDENTITY_VERIFY, api_identity_verify, 0, NULL,
     NULL},
    {DROVER__ENVELOPE__BODY_JOIN_TOKEN_CREATE, api_join_token_create, F_ADMIN,
     "join-token create", NULL},
    {DROVER__ENVELOPE__BODY_JOIN_TOKEN_LIST, api_join_token_list, F_ADMIN,
     "join-token list", NULL},
    {DROVER__ENVELOPE__BODY_JOIN_TOKEN_REVOKE, api_join_token_revoke, F_ADMIN,
     "join-token revoke", NULL},
    {DROVER__ENVELOPE__BODY_API_TOKEN_CREATE, api_token_create,
     F_ADMIN | F_WRITE, "keys token create", NULL},
};

/* 1 (and the refusal answered and recorded) when the caller may not make
 * this request. */
static int s_refused(sched_t *s, const char *rid, const dr_env_t *env,
                     const client_cmd_t *cmd)
{
    if ((cmd->flags & F_ADMIN) && !s->req.admin) {
        cluster_refused(s, "", 0, "user %s: %s needs admin", s->req.user,
                        cmd->what);
        metrics_inc(s->metrics, MC_REFUSED, "admin_required", NULL, 1);
        API_ERR(DR_EPERM,
                "permission denied: %s needs the admin role (you are %s)",
                cmd->what, s->req.user);
        return 1;
    }
    if ((cmd->flags & F_OWNER) && !s->req.admin) {
        uint64_t id = cmd->job_id(env);
        char owner[64];
        if (job_owner(s, id, owner, sizeof owner) < 0 ||
            strcmp(owner, s->req.user) == 0)
            return 0;
        cluster_refused(s, "", id, "user %s: %s of job %llu owned by %s",
                        s->req.user, cmd->what, (unsigned long long)id, owner);
        metrics_inc(s->metrics, MC_REFUSED, "not_owner", NULL, 1);
        API_ERR(DR_EPERM, "permission denied: job %llu belongs to %s",
                (unsigned long long)id, owner);
        return 1;
    }
    return 0;
}

void api_client_dispatch(sched_t *s, const char *rid, dr_env_t *env)
{
    for (size_t i = 0; i < sizeof s_table / sizeof s_table[0]; i++) {
        const client_cmd_t *cmd = &s_table[i];
        if ((int)env->body_case != cmd->body)
            continue;
        if ((cmd->flags & F_WRITE) && s->disk != DISK_OK && s->db_down)
            API_ERR(DR_EDB,
                    "database unreachable: the scheduler cannot reach its "
                    "PostgreSQL store, so it takes no %s now; reads of what "
                    "it holds still work, and writes are accepted again by "
                    "themselves once the database returns",
                    wire_body_name(env->body_case));
        else if ((cmd->flags & F_WRITE) && s->disk != DISK_OK)
            API_ERR(DR_ENOSPC,
                    "disk full: the scheduler's state dir %s has less than "
                    "%lld MiB free, so it takes no %s now; reads still "
                    "work, and writes are accepted again by themselves once "
                    "space returns",
                    s->opts.state_dir, (long long)s->opts.min_free_disk_mb,
                    wire_body_name(env->body_case));
        else if (!s_refused(s, rid, env, cmd))
            cmd->fn(s, rid, env);
        return;
    }
    log_warn("client: unexpected message %s", wire_body_name(env->body_case));
    API_ERR(DR_EPROTO, "message %s is not a client request",
            wire_body_name(env->body_case));
}
