/* cli_output.c - how the drover CLI shows clusters, nodes, GPUs, quotas,
 * events and keys (jobs: cli_output_job.c).
 *
 * One view per message type (cli.h, cli_view.c): its JSON fields in a
 * table (key, type, where; fixed names that scripts and jq rely on), its
 * table columns, and its "key: value" form for one object; plus the
 * formatters those use.  Renderers append to a dr_buf_t and touch nothing
 * else, so the unit test can check the exact text.
 */
#include "cli_output_int.h"
#include "dr_err.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small formatters -------------------------------------------------------
 */

void cli_fmt_age(char *buf, size_t len, int64_t now_ms, int64_t then_ms)
{
    if (then_ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    int64_t s = (now_ms - then_ms) / 1000;
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(buf, len, "%llds", (long long)s);
    else if (s < 2 * 3600)
        snprintf(buf, len, "%lldm", (long long)(s / 60));
    else if (s < 2 * 86400)
        snprintf(buf, len, "%lldh", (long long)(s / 3600));
    else
        snprintf(buf, len, "%lldd", (long long)(s / 86400));
}

/* Characters that survive a POSIX shell unquoted. */
static int s_shell_safe(const char *s)
{
    if (!*s)
        return 0;
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789@%_-+=:,./",
                    *p))
            return 0;
    return 1;
}

void cli_fmt_command(dr_buf_t *b, char *const *argv, size_t n)
{
    dr_buf_append(b, "", 0);
    for (size_t i = 0; i < n; i++) {
        if (i)
            dr_buf_append(b, " ", 1);
        const char *a = argv[i] ? argv[i] : "";
        if (s_shell_safe(a)) {
            dr_buf_append(b, a, strlen(a));
            continue;
        }
        dr_buf_append(b, "'", 1);
        for (const char *p = a; *p; p++) {
            if (*p == '\'')
                dr_buf_append(b, "'\\''", 4);
            else
                dr_buf_append(b, p, 1);
        }
        dr_buf_append(b, "'", 1);
    }
}

const char *cli_out_or_dash(const char *s)
{
    return s && *s ? s : "-";
}

/* Node names joined with commas into b (cleared first). */
void cli_out_join(dr_buf_t *b, char *const *v, size_t n)
{
    b->len = 0;
    dr_buf_append(b, "", 0);
    for (size_t i = 0; i < n; i++) {
        if (i)
            dr_buf_append(b, ",", 1);
        dr_buf_append(b, v[i], strlen(v[i]));
    }
}

int cli_out_job_finished(const char *state)
{
    return state &&
           (strcmp(state, "succeeded") == 0 || strcmp(state, "failed") == 0 ||
            strcmp(state, "canceled") == 0 || strcmp(state, "timeout") == 0);
}

ITEMS(s_cluster_items, cluster_list_reply, clusters, n_clusters)
ITEMS(s_node_items, node_list_reply, nodes, n_nodes)
ITEMS(s_quota_items, quota_list_reply, quotas, n_quotas)
ITEMS(s_event_items, event_list_reply, events, n_events)
ITEMS(s_key_items, key_list_reply, keys, n_keys)
ONE(s_cluster_one, cluster_info)
ONE(s_node_one, node_info)

/* ---- clusters ---------------------------------------------------------------
 */

static const cli_field_t s_cluster_fields[] = {
    FLD("name", CLI_F_STR, Drover__Cluster, name),
    FLD("vm_size", CLI_F_STR, Drover__Cluster, vm_size),
    FLD("min_nodes", CLI_F_I32, Drover__Cluster, min_nodes),
    FLD("max_nodes", CLI_F_I32, Drover__Cluster, max_nodes),
    FLD("current_nodes", CLI_F_I32, Drover__Cluster, current_nodes),
    FLD("target_nodes", CLI_F_I32, Drover__Cluster, target_nodes),
    FLD("allocation_state", CLI_F_STR, Drover__Cluster, allocation_state),
    FLD("vm_priority", CLI_F_STR, Drover__Cluster, vm_priority),
    FLD("location", CLI_F_STR, Drover__Cluster, location),
    REP("errors", CLI_F_STRS, Drover__Cluster, errors),
    FLD("idle_seconds_before_scaledown", CLI_F_I32, Drover__Cluster,
        idle_seconds_before_scaledown),
    FLD("provider", CLI_F_STR, Drover__Cluster, provider),
    FLD("idle_nodes", CLI_F_I32, Drover__Cluster, idle_nodes),
    FLD("running_nodes", CLI_F_I32, Drover__Cluster, running_nodes),
    FLD("preparing_nodes", CLI_F_I32, Drover__Cluster, preparing_nodes),
    FLD("leaving_nodes", CLI_F_I32, Drover__Cluster, leaving_nodes),
    FLD("locked", CLI_F_BOOL, Drover__Cluster, locked),
    FLD("vm_family", CLI_F_STR, Drover__Cluster, vm_family),
    FLD("preempted_nodes", CLI_F_I32, Drover__Cluster, preempted_nodes),
    FLD("unusable_nodes", CLI_F_I32, Drover__Cluster, unusable_nodes),
    FLD("wait_reason", CLI_F_STR, Drover__Cluster, wait_reason),
    FLD("resume_program", CLI_F_STR, Drover__Cluster, resume_program),
    FLD("suspend_program", CLI_F_STR, Drover__Cluster, suspend_program),
    FLD("provider_url", CLI_F_STR, Drover__Cluster, provider_url),
    FLD("identity", CLI_F_STR, Drover__Cluster, identity),
    FLD("identity_principal_id", CLI_F_STR, Drover__Cluster,
        identity_principal_id),
};

static const cli_col_t s_cluster_cols[] = {
    COL("NAME", CLI_F_TEXT, Drover__Cluster, name),
    COL("VM_SIZE", CLI_F_TEXT, Drover__Cluster, vm_size),
    COL("MIN", CLI_F_I32, Drover__Cluster, min_nodes),
    COL("MAX", CLI_F_I32, Drover__Cluster, max_nodes),
    COL("CURRENT", CLI_F_I32, Drover__Cluster, current_nodes),
    COL("TARGET", CLI_F_I32, Drover__Cluster, target_nodes),
    COL("STATE", CLI_F_STR, Drover__Cluster, allocation_state),
    COL("PRIORITY", CLI_F_STR, Drover__Cluster, vm_priority),
    COL("LOCATION", CLI_F_STR, Drover__Cluster, location),
};

void cli_render_cluster_show(dr_buf_t *b, const Drover__Cluster *c)
{
    char when[64];
    cli_fmt_time(when, sizeof when, c->created_at_ms);
    dr_buf_printf(b, "name: %s\n", cli_out_or_dash(c->name));
    dr_buf_printf(b, "vm_size: %s\n", cli_out_or_dash(c->vm_size));
    if (c->vm_cpus || c->vm_memory_mb || c->vm_gpus)
        dr_buf_printf(b, "vm_resources: %u cpus, %" PRIu64 " MB, %u gpus\n",
                      c->vm_cpus, c->vm_memory_mb, c->vm_gpus);
    dr_buf_printf(b, "min_nodes: %d\n", c->min_nodes);
    dr_buf_printf(b, "max_nodes: %d\n", c->max_nodes);
    dr_buf_printf(b, "idle_seconds_before_scaledown: %d\n",
                  c->idle_seconds_before_scaledown);
    dr_buf_printf(b, "vm_priority: %s\n", cli_out_or_dash(c->vm_priority));
    dr_buf_printf(b, "location: %s\n", cli_out_or_dash(c->location));
    dr_buf_printf(b, "provider: %s\n", cli_out_or_dash(c->provider));
    if (c->resume_program && *c->resume_program)
        dr_buf_printf(b, "resume_program: %s\n", c->resume_program);
    if (c->suspend_program && *c->suspend_program)
        dr_buf_printf(b, "suspend_program: %s\n", c->suspend_program);
    if (c->provider_url && *c->provider_url)
        dr_buf_printf(b, "provider_url: %s\n", c->provider_url);
    if (c->identity && *c->identity)
        dr_buf_printf(b, "identity: %s (principal %s)\n", c->identity,
                      c->identity_principal_id ? c->identity_principal_id
                                               : "-");
    dr_buf_printf(b, "vm_family: %s\n", cli_out_or_dash(c->vm_family));
    dr_buf_printf(b, "locked: %s\n", c->locked ? "yes" : "no");
    dr_buf_printf(b, "allocation_state: %s\n",
                  cli_out_or_dash(c->allocation_state));
    dr_buf_printf(b, "current_nodes: %d\n", c->current_nodes);
    dr_buf_printf(b, "target_nodes: %d\n", c->target_nodes);
    dr_buf_printf(b, "idle_nodes: %d\n", c->idle_nodes);
    dr_buf_printf(b, "running_nodes: %d\n", c->running_nodes);
    dr_buf_printf(b, "preparing_nodes: %d\n", c->preparing_nodes);
    dr_buf_printf(b, "leaving_nodes: %d\n", c->leaving_nodes);
    dr_buf_printf(b, "preempted_nodes: %d\n", c->preempted_nodes);
    dr_buf_printf(b, "unusable_nodes: %d\n", c->unusable_nodes);
    if (c->wait_reason && *c->wait_reason)
        dr_buf_printf(b, "wait_reason: %s\n", c->wait_reason);
    dr_buf_printf(b, "created: %s\n", when);
    if (c->n_errors == 0)
        dr_buf_printf(b, "errors: none\n");
    for (size_t i = 0; i < c->n_errors; i++)
        dr_buf_printf(b, "error: %s\n", c->errors[i]);
}

static void s_cluster_show(dr_buf_t *b, const void *msg)
{
    cli_render_cluster_show(b, msg);
}

const cli_view_t cli_cluster_view = {
    .fields = s_cluster_fields,
    .nfields = NROWS(s_cluster_fields),
    .cols = s_cluster_cols,
    .ncols = NROWS(s_cluster_cols),
    .show = s_cluster_show,
    .list_body = DROVER__ENVELOPE__BODY_CLUSTER_LIST_REPLY,
    .items = s_cluster_items,
    .one_body = DROVER__ENVELOPE__BODY_CLUSTER_INFO,
    .one = s_cluster_one,
    .one_name = "cluster_info",
};

json_t *cli_cluster_json(const Drover__Cluster *c)
{
    return cli_view_json(&cli_cluster_view, c);
}

void cli_render_clusters(dr_buf_t *b, Drover__Cluster *const *c, size_t n)
{
    cli_view_table(b, &cli_cluster_view, (const void *const *)c, n, 0);
}

/* ---- jobs -------------------------------------------------------------------
 */

static const cli_field_t s_gpu_fields[] = {
    FLD("index", CLI_F_U32, Drover__GpuInfo, index),
    FLD("uuid", CLI_F_STR, Drover__GpuInfo, uuid),
    FLD("name", CLI_F_STR, Drover__GpuInfo, name),
    FLD("memory_total_mb", CLI_F_U64, Drover__GpuInfo, memory_total_mb),
    FLD("memory_used_mb", CLI_F_U64, Drover__GpuInfo, memory_used_mb),
    FLD("utilization_gpu", CLI_F_U32, Drover__GpuInfo, utilization_gpu),
    FLD("utilization_memory", CLI_F_U32, Drover__GpuInfo, utilization_memory),
    FLD("temperature_c", CLI_F_I32, Drover__GpuInfo, temperature_c),
    FLD("power_mw", CLI_F_U32, Drover__GpuInfo, power_mw),
    FLD("power_limit_mw", CLI_F_U32, Drover__GpuInfo, power_limit_mw),
    FLD("ecc_uncorrected", CLI_F_U64, Drover__GpuInfo, ecc_uncorrected),
    FLD("healthy", CLI_F_BOOL, Drover__GpuInfo, healthy),
};

const cli_view_t cli_gpu_view = {
    .fields = s_gpu_fields,
    .nfields = NROWS(s_gpu_fields),
};

json_t *cli_gpu_json(const Drover__GpuInfo *g)
{
    return cli_view_json(&cli_gpu_view, g);
}

/* "Tesla V100-PCIE-16GB" -> "V100-PCIE-16GB": the vendor words NVML puts
 * first say nothing in a column of one vendor's GPUs. */
static const char *s_gpu_model(const char *name)
{
    static const char *const prefixes[] = {"NVIDIA ", "Tesla ", "GeForce ",
                                           "Quadro "};
    const char *s = name ? name : "";
    for (int again = 1; again;) {
        again = 0;
        for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
            size_t l = strlen(prefixes[i]);
            if (strncmp(s, prefixes[i], l) == 0 && s[l]) {
                s += l;
                again = 1;
            }
        }
    }
    return *s ? s : "?";
}

void cli_fmt_gpus(dr_buf_t *b, Drover__GpuInfo *const *g, size_t n)
{
    dr_buf_append(b, "", 0);
    if (n == 0) {
        dr_buf_append(b, "-", 1);
        return;
    }
    const char *model = s_gpu_model(g[0]->name);
    size_t healthy = 0;
    uint64_t util = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s_gpu_model(g[i]->name), model) != 0)
            model = "mixed";
        healthy += g[i]->healthy != 0;
        util += g[i]->utilization_gpu;
    }
    dr_buf_printf(b, "%zu %s (%zu healthy) %" PRIu64 "%%", n, model, healthy,
                  (util + n / 2) / n);
}

void cli_fmt_gpu(dr_buf_t *b, const Drover__GpuInfo *g)
{
    dr_buf_printf(b,
                  "%s %s %" PRIu64 " MB, used %" PRIu64 " MB, util %u%%/%u%%, "
                  "%d C, %u/%u W, ecc %" PRIu64 ", %s",
                  cli_out_or_dash(g->uuid), cli_out_or_dash(g->name),
                  g->memory_total_mb, g->memory_used_mb, g->utilization_gpu,
                  g->utilization_memory, g->temperature_c,
                  (g->power_mw + 500) / 1000, (g->power_limit_mw + 500) / 1000,
                  g->ecc_uncorrected, g->healthy ? "healthy" : "unhealthy");
}

void cli_fmt_quota(char *buf, size_t len, int64_t used, int64_t limit)
{
    if (limit < 0)
        snprintf(buf, len, "%lld/unlimited", (long long)used);
    else
        snprintf(buf, len, "%lld/%lld", (long long)used, (long long)limit);
}

static const cli_field_t s_node_fields[] = {
    FLD("name", CLI_F_STR, Drover__Node, name),
    FLD("cluster", CLI_F_STR, Drover__Node, cluster),
    FLD("state", CLI_F_STR, Drover__Node, state),
    FLD("reason", CLI_F_STR, Drover__Node, reason),
    FLD("cpus", CLI_F_U32, Drover__Node, cpus),
    FLD("memory_mb", CLI_F_U64, Drover__Node, memory_mb),
    {"gpus", CLI_F_OBJS, offsetof(Drover__Node, gpus),
     offsetof(Drover__Node, n_gpus), &cli_gpu_view},
    REP("runtimes", CLI_F_STRS, Drover__Node, runtimes),
    FLD("cpus_used", CLI_F_U32, Drover__Node, cpus_used),
    FLD("memory_used_mb", CLI_F_U64, Drover__Node, memory_used_mb),
    FLD("tasks", CLI_F_U32, Drover__Node, tasks),
    FLD("vm_size", CLI_F_STR, Drover__Node, vm_size),
    FLD("last_seen_at", CLI_F_I64, Drover__Node, last_seen_ms),
    FLD("created_at", CLI_F_I64, Drover__Node, created_at_ms),
};

static void s_node_cpus_cell(dr_buf_t *b, const void *msg, int64_t now_ms)
{
    const Drover__Node *n = msg;
    (void)now_ms;
    dr_buf_printf(b, "%u/%u", n->cpus_used, n->cpus);
}

static void s_node_memory_cell(dr_buf_t *b, const void *msg, int64_t now_ms)
{
    const Drover__Node *n = msg;
    (void)now_ms;
    dr_buf_printf(b, "%" PRIu64 "/%" PRIu64, n->memory_used_mb, n->memory_mb);
}

static void s_node_gpus_cell(dr_buf_t *b, const void *msg, int64_t now_ms)
{
    const Drover__Node *n = msg;
    (void)now_ms;
    cli_fmt_gpus(b, n->gpus, n->n_gpus);
}

static const cli_col_t s_node_cols[] = {
    COL("NAME", CLI_F_STR, Drover__Node, name),
    COL("CLUSTER", CLI_F_STR, Drover__Node, cluster),
    COL("STATE", CLI_F_STR, Drover__Node, state),
    COLF("CPUS", s_node_cpus_cell),
    COLF("MEMORY_MB", s_node_memory_cell),
    COLF("GPUS", s_node_gpus_cell),
    COLN("RUNTIMES", Drover__Node, runtimes),
    COL("TASKS", CLI_F_U32, Drover__Node, tasks),
};

void cli_render_node_show(dr_buf_t *b, const Drover__Node *n)
{
    char seen[64], created[64];
    dr_buf_t tmp = {0};
    cli_fmt_time(seen, sizeof seen, n->last_seen_ms);
    cli_fmt_time(created, sizeof created, n->created_at_ms);
    dr_buf_printf(b, "name: %s\n", cli_out_or_dash(n->name));
    dr_buf_printf(b, "cluster: %s\n", cli_out_or_dash(n->cluster));
    dr_buf_printf(b, "state: %s\n", cli_out_or_dash(n->state));
    dr_buf_printf(b, "reason: %s\n", cli_out_or_dash(n->reason));
    dr_buf_printf(b, "vm_size: %s\n", cli_out_or_dash(n->vm_size));
    dr_buf_printf(b, "cpus: %u\n", n->cpus);
    dr_buf_printf(b, "cpus_used: %u\n", n->cpus_used);
    dr_buf_printf(b, "memory_mb: %" PRIu64 "\n", n->memory_mb);
    dr_buf_printf(b, "memory_used_mb: %" PRIu64 "\n", n->memory_used_mb);
    dr_buf_printf(b, "tasks: %u\n", n->tasks);
    cli_out_join(&tmp, n->runtimes, n->n_runtimes);
    dr_buf_printf(b, "runtimes: %s\n", cli_out_or_dash(tmp.data));
    tmp.len = 0;
    cli_fmt_gpus(&tmp, n->gpus, n->n_gpus);
    dr_buf_printf(b, "gpus: %s\n", tmp.data);
    dr_buf_free(&tmp);
    dr_buf_printf(b, "last_seen: %s\n", seen);
    dr_buf_printf(b, "created: %s\n", created);
    for (size_t i = 0; i < n->n_gpus; i++) {
        dr_buf_printf(b, "gpu %u: ", n->gpus[i]->index);
        cli_fmt_gpu(b, n->gpus[i]);
        dr_buf_append(b, "\n", 1);
    }
}

static void s_node_show(dr_buf_t *b, const void *msg)
{
    cli_render_node_show(b, msg);
}

const cli_view_t cli_node_view = {
    .fields = s_node_fields,
    .nfields = NROWS(s_node_fields),
    .cols = s_node_cols,
    .ncols = NROWS(s_node_cols),
    .show = s_node_show,
    .list_body = DROVER__ENVELOPE__BODY_NODE_LIST_REPLY,
    .items = s_node_items,
    .one_body = DROVER__ENVELOPE__BODY_NODE_INFO,
    .one = s_node_one,
    .one_name = "node_info",
};

json_t *cli_node_json(const Drover__Node *n)
{
    return cli_view_json(&cli_node_view, n);
}

void cli_render_nodes(dr_buf_t *b, Drover__Node *const *nodes, size_t cnt)
{
    cli_view_table(b, &cli_node_view, (const void *const *)nodes, cnt, 0);
}

/* ---- quotas, events, keys ---------------------------------------------------
 */

static const cli_field_t s_quota_fields[] = {
    FLD("location", CLI_F_STR, Drover__Quota, location),
    FLD("family", CLI_F_STR, Drover__Quota, family),
    FLD("total", CLI_F_BOOL, Drover__Quota, total),
    FLD("dedicated_cores", CLI_F_I64, Drover__Quota, dedicated_cores),
    FLD("lowpriority_cores", CLI_F_I64, Drover__Quota, lowpriority_cores),
    FLD("dedicated_used", CLI_F_I64, Drover__Quota, dedicated_used),
    FLD("lowpriority_used", CLI_F_I64, Drover__Quota, lowpriority_used),
};

static void s_quota_cell(dr_buf_t *b, int64_t used, int64_t limit)
{
    char s[48];
    cli_fmt_quota(s, sizeof s, used, limit);
    dr_buf_printf(b, "%s", s);
}

static void s_quota_ded_cell(dr_buf_t *b, const void *msg, int64_t now_ms)
{
    const Drover__Quota *q = msg;
    (void)now_ms;
    s_quota_cell(b, q->dedicated_used, q->dedicated_cores);
}

static void s_quota_low_cell(dr_buf_t *b, const void *msg, int64_t now_ms)
{
    const Drover__Quota *q = msg;
    (void)now_ms;
    s_quota_cell(b, q->lowpriority_used, q->lowpriority_cores);
}

/* "(all)" for a family's limit in every location; "(total)" for a
 * location's total */
static void s_quota_loc_cell(dr_buf_t *b, const void *msg, int64_t now_ms)
{
    const Drover__Quota *q = msg;
    (void)now_ms;
    dr_buf_printf(b, "%s", q->location && *q->location ? q->location : "(all)");
}

static void s_quota_fam_cell(dr_buf_t *b, const void *msg, int64_t now_ms)
{
    const Drover__Quota *q = msg;
    (void)now_ms;
    dr_buf_printf(b, "%s", q->total ? "(total)" : q->family);
}

static const cli_col_t s_quota_cols[] = {
    COLF("LOCATION", s_quota_loc_cell),
    COLF("FAMILY", s_quota_fam_cell),
    COLF("DEDICATED", s_quota_ded_cell),
    COLF("LOWPRIORITY", s_quota_low_cell),
};

const cli_view_t cli_quota_view = {
    .fields = s_quota_fields,
    .nfields = NROWS(s_quota_fields),
    .cols = s_quota_cols,
    .ncols = NROWS(s_quota_cols),
    .list_body = DROVER__ENVELOPE__BODY_QUOTA_LIST_REPLY,
    .items = s_quota_items,
};

json_t *cli_quota_json(const Drover__Quota *q)
{
    return cli_view_json(&cli_quota_view, q);
}

void cli_render_quotas(dr_buf_t *b, Drover__Quota *const *qs, size_t n)
{
    cli_view_table(b, &cli_quota_view, (const void *const *)qs, n, 0);
}

static const cli_field_t s_event_fields[] = {
    FLD("ts", CLI_F_I64, Drover__Event, ts_ms),
    FLD("kind", CLI_F_STR, Drover__Event, kind),
    FLD("cluster", CLI_F_STR, Drover__Event, cluster),
    FLD("node", CLI_F_STR, Drover__Event, node),
    FLD("job_id", CLI_F_U64, Drover__Event, job_id),
    FLD("message", CLI_F_STR, Drover__Event, message),
};

static void s_event_job_cell(dr_buf_t *b, const void *msg, int64_t now_ms)
{
    const Drover__Event *e = msg;
    (void)now_ms;
    if (e->job_id)
        dr_buf_printf(b, "%" PRIu64, e->job_id);
    else
        dr_buf_printf(b, "-");
}

static const cli_col_t s_event_cols[] = {
    COL("TIME", CLI_F_TIME, Drover__Event, ts_ms),
    COL("KIND", CLI_F_STR, Drover__Event, kind),
    COL("NODE", CLI_F_STR, Drover__Event, node),
    COLF("JOB", s_event_job_cell),
    COL("MESSAGE", CLI_F_STR, Drover__Event, message),
};

const cli_view_t cli_event_view = {
    .fields = s_event_fields,
    .nfields = NROWS(s_event_fields),
    .cols = s_event_cols,
    .ncols = NROWS(s_event_cols),
    .list_body = DROVER__ENVELOPE__BODY_EVENT_LIST_REPLY,
    .items = s_event_items,
};

json_t *cli_event_json(const Drover__Event *e)
{
    return cli_view_json(&cli_event_view, e);
}

void cli_render_events(dr_buf_t *b, Drover__Event *const *es, size_t n)
{
    cli_view_table(b, &cli_event_view, (const void *const *)es, n, 0);
}

static const cli_field_t s_key_fields[] = {
    FLD("name", CLI_F_STR, Drover__KeyInfo, name),
    FLD("kind", CLI_F_STR, Drover__KeyInfo, kind),
    FLD("role", CLI_F_STR, Drover__KeyInfo, role),
    FLD("public_key", CLI_F_STR, Drover__KeyInfo, public_key),
    FLD("created_at", CLI_F_I64, Drover__KeyInfo, created_at_ms),
};

/* Fixed widths, one space apart: the key list's own layout. */
static const cli_col_t s_key_cols[] = {
    {"NAME", CLI_F_TEXT, offsetof(Drover__KeyInfo, name), 0, NULL, 24},
    {"KIND", CLI_F_TEXT, offsetof(Drover__KeyInfo, kind), 0, NULL, 6},
    {"ROLE", CLI_F_STR, offsetof(Drover__KeyInfo, role), 0, NULL, 6},
    COL("PUBLIC_KEY", CLI_F_TEXT, Drover__KeyInfo, public_key),
};

const cli_view_t cli_key_view = {
    .fields = s_key_fields,
    .nfields = NROWS(s_key_fields),
    .cols = s_key_cols,
    .ncols = NROWS(s_key_cols),
    .sep = " ",
    .list_body = DROVER__ENVELOPE__BODY_KEY_LIST_REPLY,
    .items = s_key_items,
};
