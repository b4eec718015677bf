/* cli_output.c - how the drover CLI shows clusters, jobs, nodes, quotas and
 * events.
 *
 * Two forms: aligned tables / "key: value" lines for people, and JSON (with
 * jansson, fixed field names) for scripts.  Every renderer appends to a
 * dr_buf_t and touches nothing else, so the unit test can check the exact
 * text; only cli_emit writes to the context's output stream.  Jansson
 * allocation failures abort, as every out-of-memory does in drover.
 */
#include "cli.h"
#include "dr_err.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- JSON -------------------------------------------------------------------
 */

json_t *cli_json_check_at(json_t *v, const char *file, int line)
{
    if (!v) {
        fprintf(stderr, "out of memory at %s:%d\n", file, line);
        abort();
    }
    return v;
}
#define NN(v) cli_json_check(v)

void cli_json_push(json_t *a, json_t *v)
{
    if (!v || json_array_append_new(a, v) < 0) {
        fprintf(stderr, "out of memory at %s:%d\n", __FILE__, __LINE__);
        abort();
    }
}

static void s_set_at(json_t *o, const char *k, json_t *v, const char *file,
                     int line)
{
    if (!v || json_object_set_new(o, k, v) < 0) {
        fprintf(stderr, "out of memory at %s:%d\n", file, line);
        abort();
    }
}
#define SET(o, k, v) s_set_at((o), (k), (v), __FILE__, __LINE__)

static void s_append_at(json_t *a, json_t *v, const char *file, int line)
{
    if (!v || json_array_append_new(a, v) < 0) {
        fprintf(stderr, "out of memory at %s:%d\n", file, line);
        abort();
    }
}
#define APPEND(a, v) s_append_at((a), (v), __FILE__, __LINE__)

static json_t *s_str(const char *s)
{
    return json_string(s ? s : "");
}

static json_t *s_int(long long v)
{
    return json_integer((json_int_t)v);
}

static json_t *s_strings(char *const *v, size_t n)
{
    json_t *a = NN(json_array());
    for (size_t i = 0; i < n; i++)
        APPEND(a, s_str(v[i]));
    return a;
}

json_t *cli_job_json(const Drover__Job *j)
{
    json_t *o = NN(json_object());
    SET(o, "id", s_int((long long)j->id));
    SET(o, "name", s_str(j->name));
    SET(o, "cluster", s_str(j->cluster));
    SET(o, "state", s_str(j->state));
    SET(o, "exit_code", s_int(j->exit_code));
    SET(o, "attempts", s_int(j->attempts));
    SET(o, "nodes", s_strings(j->node_names, j->n_node_names));
    SET(o, "reason", s_str(j->reason));
    SET(o, "cpus", s_int(j->cpus));
    SET(o, "memory_mb", s_int((long long)j->memory_mb));
    SET(o, "node_count", s_int(j->nodes));
    SET(o, "procs_per_node", s_int(j->procs_per_node));
    SET(o, "distribution", s_str(j->distribution));
    SET(o, "head_node", s_str(j->head_node));
    SET(o, "gpus", s_int(j->gpus));
    SET(o, "priority", s_int(j->priority));
    SET(o, "max_retries", s_int(j->max_retries));
    SET(o, "time_limit_s", s_int(j->time_limit_s));
    SET(o, "image", s_str(j->image));
    SET(o, "command", s_strings(j->argv, j->n_argv));
    SET(o, "submitted_at", s_int(j->submitted_at_ms));
    SET(o, "started_at", s_int(j->started_at_ms));
    SET(o, "ended_at", s_int(j->ended_at_ms));
    json_t *gi = NN(json_array());
    for (size_t i = 0; i < j->n_gpu_indices; i++)
        APPEND(gi, s_int(j->gpu_indices[i]));
    SET(o, "gpu_indices", gi);
    SET(o, "gpu_uuids", s_strings(j->gpu_uuids, j->n_gpu_uuids));
    SET(o, "preemptions", s_int(j->preemptions));
    return o;
}

json_t *cli_cluster_json(const Drover__Cluster *c)
{
    json_t *o = NN(json_object());
    SET(o, "name", s_str(c->name));
    SET(o, "vm_size", s_str(c->vm_size));
    SET(o, "min_nodes", s_int(c->min_nodes));
    SET(o, "max_nodes", s_int(c->max_nodes));
    SET(o, "current_nodes", s_int(c->current_nodes));
    SET(o, "target_nodes", s_int(c->target_nodes));
    SET(o, "allocation_state", s_str(c->allocation_state));
    SET(o, "vm_priority", s_str(c->vm_priority));
    SET(o, "location", s_str(c->location));
    SET(o, "errors", s_strings(c->errors, c->n_errors));
    SET(o, "idle_seconds_before_scaledown",
        s_int(c->idle_seconds_before_scaledown));
    SET(o, "provider", s_str(c->provider));
    SET(o, "idle_nodes", s_int(c->idle_nodes));
    SET(o, "running_nodes", s_int(c->running_nodes));
    SET(o, "preparing_nodes", s_int(c->preparing_nodes));
    SET(o, "leaving_nodes", s_int(c->leaving_nodes));
    SET(o, "locked", json_boolean(c->locked));
    SET(o, "vm_family", s_str(c->vm_family));
    SET(o, "preempted_nodes", s_int(c->preempted_nodes));
    SET(o, "unusable_nodes", s_int(c->unusable_nodes));
    SET(o, "wait_reason", s_str(c->wait_reason));
    SET(o, "resume_program", s_str(c->resume_program));
    SET(o, "suspend_program", s_str(c->suspend_program));
    SET(o, "provider_url", s_str(c->provider_url));
    SET(o, "identity", s_str(c->identity));
    SET(o, "identity_principal_id", s_str(c->identity_principal_id));
    return o;
}

json_t *cli_gpu_json(const Drover__GpuInfo *g)
{
    json_t *o = NN(json_object());
    SET(o, "index", s_int(g->index));
    SET(o, "uuid", s_str(g->uuid));
    SET(o, "name", s_str(g->name));
    SET(o, "memory_total_mb", s_int((long long)g->memory_total_mb));
    SET(o, "memory_used_mb", s_int((long long)g->memory_used_mb));
    SET(o, "utilization_gpu", s_int(g->utilization_gpu));
    SET(o, "utilization_memory", s_int(g->utilization_memory));
    SET(o, "temperature_c", s_int(g->temperature_c));
    SET(o, "power_mw", s_int(g->power_mw));
    SET(o, "power_limit_mw", s_int(g->power_limit_mw));
    SET(o, "ecc_uncorrected", s_int((long long)g->ecc_uncorrected));
    SET(o, "healthy", json_boolean(g->healthy));
    return o;
}

json_t *cli_node_json(const Drover__Node *n)
{
    json_t *o = NN(json_object());
    SET(o, "name", s_str(n->name));
    SET(o, "cluster", s_str(n->cluster));
    SET(o, "state", s_str(n->state));
    SET(o, "reason", s_str(n->reason));
    SET(o, "cpus", s_int(n->cpus));
    SET(o, "memory_mb", s_int((long long)n->memory_mb));
    json_t *gpus = NN(json_array());
    for (size_t i = 0; i < n->n_gpus; i++)
        APPEND(gpus, cli_gpu_json(n->gpus[i]));
    SET(o, "gpus", gpus);
    SET(o, "runtimes", s_strings(n->runtimes, n->n_runtimes));
    SET(o, "cpus_used", s_int(n->cpus_used));
    SET(o, "memory_used_mb", s_int((long long)n->memory_used_mb));
    SET(o, "tasks", s_int(n->tasks));
    SET(o, "vm_size", s_str(n->vm_size));
    SET(o, "last_seen_at", s_int(n->last_seen_ms));
    SET(o, "created_at", s_int(n->created_at_ms));
    return o;
}

json_t *cli_quota_json(const Drover__Quota *q)
{
    json_t *o = NN(json_object());
    SET(o, "family", s_str(q->family));
    SET(o, "dedicated_cores", s_int(q->dedicated_cores));
    SET(o, "lowpriority_cores", s_int(q->lowpriority_cores));
    SET(o, "dedicated_used", s_int(q->dedicated_used));
    SET(o, "lowpriority_used", s_int(q->lowpriority_used));
    return o;
}

json_t *cli_event_json(const Drover__Event *e)
{
    json_t *o = NN(json_object());
    SET(o, "ts", s_int(e->ts_ms));
    SET(o, "kind", s_str(e->kind));
    SET(o, "cluster", s_str(e->cluster));
    SET(o, "node", s_str(e->node));
    SET(o, "job_id", s_int((long long)e->job_id));
    SET(o, "message", s_str(e->message));
    return o;
}

void cli_json_render(dr_buf_t *b, json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(v);
    if (!s) {
        fprintf(stderr, "out of memory at %s:%d\n", __FILE__, __LINE__);
        abort();
    }
    dr_buf_printf(b, "%s\n", s);
    free(s);
}

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

void cli_fmt_time(char *buf, size_t len, int64_t ms)
{
    if (ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) ||
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "%lld", (long long)ms);
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

static const char *s_or_dash(const char *s)
{
    return s && *s ? s : "-";
}

/* Node names joined with commas into b (cleared first). */
static void s_join(dr_buf_t *b, char *const *v, size_t n)
{
    b->len = 0;
    dr_buf_append(b, "", 0);
    for (size_t i = 0; i < n; i++) {
        if (i)
            dr_buf_append(b, ",", 1);
        dr_buf_append(b, v[i], strlen(v[i]));
    }
}

static int s_job_finished(const char *state)
{
    return state &&
           (strcmp(state, "succeeded") == 0 || strcmp(state, "failed") == 0 ||
            strcmp(state, "canceled") == 0);
}

/* ---- tables
 * ------------------------------------------------------------------ */

/* Rows of owned cells; rendered with columns padded to the widest cell,
 * two spaces apart, the last column unpadded. */
typedef struct {
    size_t ncols;
    size_t nrows;
    size_t cap;
    char **cells; /* nrows * ncols */
} s_table_t;

static void s_table_init(s_table_t *t, size_t ncols)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
}

static void s_table_row(s_table_t *t, ...) __attribute__((sentinel));

/* Appends a row of ncols strings, copied; ends with a NULL sentinel. */
static void s_table_row(s_table_t *t, ...)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = dr_realloc(t->cells, t->cap * t->ncols * sizeof(char *));
    }
    va_list ap;
    va_start(ap, t);
    for (size_t c = 0; c < t->ncols; c++) {
        const char *s = va_arg(ap, const char *);
        t->cells[t->nrows * t->ncols + c] = dr_strdup(s ? s : "");
    }
    va_end(ap);
    t->nrows++;
}

static void s_table_render(dr_buf_t *b, s_table_t *t)
{
    size_t *w = dr_calloc(t->ncols, sizeof *w);
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t l = strlen(t->cells[r * t->ncols + c]);
            if (l > w[c])
                w[c] = l;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            if (c + 1 < t->ncols)
                dr_buf_printf(b, "%-*s  ", (int)w[c], s);
            else
                dr_buf_printf(b, "%s\n", s);
        }
    }
    free(w);
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

void cli_render_clusters(dr_buf_t *b, Drover__Cluster *const *cl, size_t n)
{
    s_table_t t;
    s_table_init(&t, 9);
    s_table_row(&t, "NAME", "VM_SIZE", "MIN", "MAX", "CURRENT", "TARGET",
                "STATE", "PRIORITY", "LOCATION", NULL);
    for (size_t i = 0; i < n; i++) {
        const Drover__Cluster *c = cl[i];
        char mn[16], mx[16], cur[16], tgt[16];
        snprintf(mn, sizeof mn, "%d", c->min_nodes);
        snprintf(mx, sizeof mx, "%d", c->max_nodes);
        snprintf(cur, sizeof cur, "%d", c->current_nodes);
        snprintf(tgt, sizeof tgt, "%d", c->target_nodes);
        s_table_row(&t, c->name, c->vm_size, mn, mx, cur, tgt,
                    s_or_dash(c->allocation_state), s_or_dash(c->vm_priority),
                    s_or_dash(c->location), NULL);
    }
    s_table_render(b, &t);
}

void cli_render_cluster_show(dr_buf_t *b, const Drover__Cluster *c)
{
    char when[64];
    cli_fmt_time(when, sizeof when, c->created_at_ms);
    dr_buf_printf(b, "name: %s\n", s_or_dash(c->name));
    dr_buf_printf(b, "vm_size: %s\n", s_or_dash(c->vm_size));
    if (c->vm_cpus || c->vm_memory_mb || c->vm_gpus)
        dr_buf_printf(b, "vm_resources: %u cpus, %" PRIu64 " MB, %u gpus\n",
                      c->vm_cpus, c->vm_memory_mb, c->vm_gpus);
    dr_buf_printf(b, "min_nodes: %d\n", c->min_nodes);
    dr_buf_printf(b, "max_nodes: %d\n", c->max_nodes);
    dr_buf_printf(b, "idle_seconds_before_scaledown: %d\n",
                  c->idle_seconds_before_scaledown);
    dr_buf_printf(b, "vm_priority: %s\n", s_or_dash(c->vm_priority));
    dr_buf_printf(b, "location: %s\n", s_or_dash(c->location));
    dr_buf_printf(b, "provider: %s\n", s_or_dash(c->provider));
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
    dr_buf_printf(b, "vm_family: %s\n", s_or_dash(c->vm_family));
    dr_buf_printf(b, "locked: %s\n", c->locked ? "yes" : "no");
    dr_buf_printf(b, "allocation_state: %s\n", s_or_dash(c->allocation_state));
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

void cli_render_jobs(dr_buf_t *b, Drover__Job *const *jobs, size_t n,
                     int64_t now_ms)
{
    s_table_t t;
    s_table_init(&t, 8);
    s_table_row(&t, "ID", "NAME", "CLUSTER", "STATE", "EXIT", "ATTEMPTS",
                "NODES", "AGE", NULL);
    dr_buf_t nodes = {0};
    for (size_t i = 0; i < n; i++) {
        const Drover__Job *j = jobs[i];
        char id[24], ex[16], att[16], age[16];
        snprintf(id, sizeof id, "%" PRIu64, j->id);
        if (s_job_finished(j->state) && strcmp(j->state, "canceled") != 0)
            snprintf(ex, sizeof ex, "%d", j->exit_code);
        else
            snprintf(ex, sizeof ex, "-");
        snprintf(att, sizeof att, "%u", j->attempts);
        cli_fmt_age(age, sizeof age, now_ms, j->submitted_at_ms);
        s_join(&nodes, j->node_names, j->n_node_names);
        s_table_row(&t, id, s_or_dash(j->name), s_or_dash(j->cluster),
                    s_or_dash(j->state), ex, att, s_or_dash(nodes.data), age,
                    NULL);
    }
    dr_buf_free(&nodes);
    s_table_render(b, &t);
}

void cli_render_job_show(dr_buf_t *b, const Drover__Job *j)
{
    char t1[64], t2[64], t3[64];
    dr_buf_t tmp = {0};
    dr_buf_printf(b, "id: %" PRIu64 "\n", j->id);
    dr_buf_printf(b, "name: %s\n", s_or_dash(j->name));
    dr_buf_printf(b, "cluster: %s\n", s_or_dash(j->cluster));
    dr_buf_printf(b, "state: %s\n", s_or_dash(j->state));
    if (s_job_finished(j->state) && strcmp(j->state, "canceled") != 0)
        dr_buf_printf(b, "exit_code: %d\n", j->exit_code);
    else
        dr_buf_printf(b, "exit_code: -\n");
    dr_buf_printf(b, "reason: %s\n", s_or_dash(j->reason));
    dr_buf_printf(b, "attempts: %u\n", j->attempts);
    s_join(&tmp, j->node_names, j->n_node_names);
    dr_buf_printf(b, "nodes: %s\n", s_or_dash(tmp.data));
    if (j->head_node && *j->head_node)
        dr_buf_printf(b, "head_node: %s\n", j->head_node);
    tmp.len = 0;
    cli_fmt_command(&tmp, j->argv, j->n_argv);
    dr_buf_printf(b, "command: %s\n", tmp.data);
    dr_buf_free(&tmp);
    dr_buf_printf(b, "image: %s\n", s_or_dash(j->image));
    dr_buf_printf(b, "cpus: %u\n", j->cpus);
    dr_buf_printf(b, "memory_mb: %" PRIu64 "\n", j->memory_mb);
    dr_buf_printf(b, "gpus: %u", j->gpus);
    for (size_t i = 0; i < j->n_gpu_indices; i++) {
        const char *uuid =
            i < j->n_gpu_uuids && j->gpu_uuids[i] && *j->gpu_uuids[i]
                ? j->gpu_uuids[i]
                : NULL;
        dr_buf_printf(b, "%s%u%s%s", i ? ", " : " (", j->gpu_indices[i],
                      uuid ? "=" : "", uuid ? uuid : "");
    }
    dr_buf_printf(b, "%s\n", j->n_gpu_indices ? ")" : "");
    dr_buf_printf(b, "node_count: %u\n", j->nodes);
    dr_buf_printf(b, "procs_per_node: %u\n", j->procs_per_node);
    dr_buf_printf(b, "distribution: %s\n", s_or_dash(j->distribution));
    dr_buf_printf(b, "priority: %d\n", j->priority);
    dr_buf_printf(b, "max_retries: %u\n", j->max_retries);
    dr_buf_printf(b, "preemptions: %u\n", j->preemptions);
    if (j->time_limit_s)
        dr_buf_printf(b, "time_limit_s: %u\n", j->time_limit_s);
    else
        dr_buf_printf(b, "time_limit_s: none\n");
    for (size_t i = 0; i < j->n_env; i++)
        dr_buf_printf(b, "env: %s=%s\n", j->env[i]->key, j->env[i]->value);
    cli_fmt_time(t1, sizeof t1, j->submitted_at_ms);
    cli_fmt_time(t2, sizeof t2, j->started_at_ms);
    cli_fmt_time(t3, sizeof t3, j->ended_at_ms);
    dr_buf_printf(b, "submitted: %s\n", t1);
    dr_buf_printf(b, "started: %s\n", t2);
    dr_buf_printf(b, "ended: %s\n", t3);
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
                  s_or_dash(g->uuid), s_or_dash(g->name), g->memory_total_mb,
                  g->memory_used_mb, g->utilization_gpu, g->utilization_memory,
                  g->temperature_c, (g->power_mw + 500) / 1000,
                  (g->power_limit_mw + 500) / 1000, g->ecc_uncorrected,
                  g->healthy ? "healthy" : "unhealthy");
}

void cli_fmt_quota(char *buf, size_t len, int64_t used, int64_t limit)
{
    if (limit < 0)
        snprintf(buf, len, "%lld/unlimited", (long long)used);
    else
        snprintf(buf, len, "%lld/%lld", (long long)used, (long long)limit);
}

void cli_render_nodes(dr_buf_t *b, Drover__Node *const *nodes, size_t cnt)
{
    s_table_t t;
    s_table_init(&t, 8);
    s_table_row(&t, "NAME", "CLUSTER", "STATE", "CPUS", "MEMORY_MB", "GPUS",
                "RUNTIMES", "TASKS", NULL);
    dr_buf_t gpu = {0}, rts = {0};
    for (size_t i = 0; i < cnt; i++) {
        const Drover__Node *n = nodes[i];
        char cpu[32], mem[48], tasks[16];
        snprintf(cpu, sizeof cpu, "%u/%u", n->cpus_used, n->cpus);
        snprintf(mem, sizeof mem, "%" PRIu64 "/%" PRIu64, n->memory_used_mb,
                 n->memory_mb);
        gpu.len = 0;
        cli_fmt_gpus(&gpu, n->gpus, n->n_gpus);
        s_join(&rts, n->runtimes, n->n_runtimes);
        snprintf(tasks, sizeof tasks, "%u", n->tasks);
        s_table_row(&t, s_or_dash(n->name), s_or_dash(n->cluster),
                    s_or_dash(n->state), cpu, mem, gpu.data,
                    s_or_dash(rts.data), tasks, NULL);
    }
    dr_buf_free(&gpu);
    dr_buf_free(&rts);
    s_table_render(b, &t);
}

void cli_render_node_show(dr_buf_t *b, const Drover__Node *n)
{
    char seen[64], created[64];
    dr_buf_t tmp = {0};
    cli_fmt_time(seen, sizeof seen, n->last_seen_ms);
    cli_fmt_time(created, sizeof created, n->created_at_ms);
    dr_buf_printf(b, "name: %s\n", s_or_dash(n->name));
    dr_buf_printf(b, "cluster: %s\n", s_or_dash(n->cluster));
    dr_buf_printf(b, "state: %s\n", s_or_dash(n->state));
    dr_buf_printf(b, "reason: %s\n", s_or_dash(n->reason));
    dr_buf_printf(b, "vm_size: %s\n", s_or_dash(n->vm_size));
    dr_buf_printf(b, "cpus: %u\n", n->cpus);
    dr_buf_printf(b, "cpus_used: %u\n", n->cpus_used);
    dr_buf_printf(b, "memory_mb: %" PRIu64 "\n", n->memory_mb);
    dr_buf_printf(b, "memory_used_mb: %" PRIu64 "\n", n->memory_used_mb);
    dr_buf_printf(b, "tasks: %u\n", n->tasks);
    s_join(&tmp, n->runtimes, n->n_runtimes);
    dr_buf_printf(b, "runtimes: %s\n", s_or_dash(tmp.data));
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

void cli_render_quotas(dr_buf_t *b, Drover__Quota *const *qs, size_t n)
{
    s_table_t t;
    s_table_init(&t, 3);
    s_table_row(&t, "FAMILY", "DEDICATED", "LOWPRIORITY", NULL);
    for (size_t i = 0; i < n; i++) {
        const Drover__Quota *q = qs[i];
        char ded[48], low[48];
        cli_fmt_quota(ded, sizeof ded, q->dedicated_used, q->dedicated_cores);
        cli_fmt_quota(low, sizeof low, q->lowpriority_used,
                      q->lowpriority_cores);
        s_table_row(&t, s_or_dash(q->family), ded, low, NULL);
    }
    s_table_render(b, &t);
}

void cli_render_events(dr_buf_t *b, Drover__Event *const *es, size_t n)
{
    s_table_t t;
    s_table_init(&t, 5);
    s_table_row(&t, "TIME", "KIND", "NODE", "JOB", "MESSAGE", NULL);
    for (size_t i = 0; i < n; i++) {
        const Drover__Event *e = es[i];
        char when[64], job[24];
        cli_fmt_time(when, sizeof when, e->ts_ms);
        if (e->job_id)
            snprintf(job, sizeof job, "%" PRIu64, e->job_id);
        else
            snprintf(job, sizeof job, "-");
        s_table_row(&t, when, s_or_dash(e->kind), s_or_dash(e->node), job,
                    s_or_dash(e->message), NULL);
    }
    s_table_render(b, &t);
}

int cli_emit(cli_ctx_t *ctx, const dr_buf_t *b)
{
    if (b->len && fwrite(b->data, 1, b->len, ctx->fout) != b->len)
        return cli_fail(ctx, DR_EIO, "cannot write output");
    if (fflush(ctx->fout) != 0)
        return cli_fail(ctx, DR_EIO, "cannot write output");
    return 0;
}

int cli_print_ok(cli_ctx_t *ctx, const Drover__Ok *ok, const char *key,
                 json_t *id, const char *fmt, ...)
{
    const char *msg = ok && ok->message ? ok->message : "";
    dr_buf_t b = {0};
    if (ctx->out == CLI_OUT_JSON) {
        cli_json_render(&b,
                        NN(json_pack("{s:o, s:s}", key, id, "message", msg)));
    } else if (*msg) {
        json_decref(id);
        dr_buf_printf(&b, "%s\n", msg);
    } else {
        json_decref(id);
        char text[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        dr_buf_printf(&b, "%s\n", text);
    }
    int rc = cli_emit(ctx, &b);
    dr_buf_free(&b);
    return rc;
}
