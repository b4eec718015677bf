/* api_jobs.c - the job requests: submit, show, list, cancel and logs.
 * Thin handlers: decode, validate, one call into the model (job_mgr.c,
 * job_data.c), reply.  Whether the caller may act on a job is the
 * dispatch table's business (api_client.c).
 */
#include "api_client.h"
#include "array_spec.h"
#include "dr_err.h"
#include "placement.h"
#include "sched_int.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 1024
#define MAX_ARG_BYTES (64 * 1024)
#define MAX_ENV 1024
#define MAX_TIME_LIMIT_MS (366ull * 24 * 3600 * 1000)
/* JobSubmit.jobs of one request (each is checked, then all are queued) */
#define API_SUBMIT_MANY_MAX 100000
/* space and the control characters: never in an image reference */
#define S_CTRL_SP                                                              \
    " \x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13"  \
    "\x14"                                                                     \
    "\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f"
#define MAX_LIST 10000
#define DEFAULT_LIST 1000
#define DEFAULT_LOG_CHUNK (64 * 1024)
#define MAX_LOG_CHUNK (1024 * 1024)

static int s_env_key_ok(const char *k)
{
    if (!k || !(isalpha((unsigned char)*k) || *k == '_'))
        return 0;
    for (; *k; k++)
        if (!(isalnum((unsigned char)*k) || *k == '_'))
            return 0;
    return 1;
}

/* The command, its environment and the name. */
static int s_command_valid(const Drover__Job *j, char *why, size_t n)
{
    if (j->n_argv == 0 || !j->argv[0] || !*j->argv[0]) {
        snprintf(why, n, "a job needs a command");
        return DR_EINVAL;
    }
    if (j->n_argv > MAX_ARGS) {
        snprintf(why, n, "too many arguments (%zu > %d)", j->n_argv, MAX_ARGS);
        return DR_EINVAL;
    }
    for (size_t i = 0; i < j->n_argv; i++) {
        if (!j->argv[i] || strlen(j->argv[i]) > MAX_ARG_BYTES) {
            snprintf(why, n, "argument %zu is missing or too long", i);
            return DR_EINVAL;
        }
    }
    if (j->n_env > MAX_ENV) {
        snprintf(why, n, "too many environment variables");
        return DR_EINVAL;
    }
    for (size_t i = 0; i < j->n_env; i++) {
        if (!j->env[i] || !s_env_key_ok(j->env[i]->key) || !j->env[i]->value ||
            strlen(j->env[i]->value) > MAX_ARG_BYTES) {
            snprintf(why, n, "invalid environment variable '%s'",
                     j->env[i] && j->env[i]->key ? j->env[i]->key : "");
            return DR_EINVAL;
        }
    }
    /* the CLI's rule, held here too: a raw client's name with a newline
     * or an escape sequence would forge rows where names are printed */
    if (j->name && *j->name && !dr_valid_name(j->name)) {
        snprintf(why, n,
                 "invalid job name (1-63 letters, digits, '-' or '_', "
                 "starting with a letter or digit)");
        return DR_EINVAL;
    }
    return 0;
}

int api_job_validate(const sched_t *s, const Drover__Job *j, char *why,
                     size_t n)
{
    const cluster_t *c =
        j->cluster ? sched_cluster_find((sched_t *)s, j->cluster) : NULL;
    if (!c) {
        snprintf(why, n, "unknown cluster '%s'", j->cluster ? j->cluster : "");
        return DR_ENOENT;
    }
    int rc = s_command_valid(j, why, n);
    if (rc < 0)
        return rc;
    uint32_t cpus = j->cpus ? j->cpus : 1;
    uint64_t mem = j->memory_mb ? j->memory_mb : 512;
    if (cpus > c->vm->vcpus) {
        snprintf(why, n, "job asks for %u cpus but %s has %u", cpus,
                 c->vm->name, c->vm->vcpus);
        return DR_ENOFIT;
    }
    if (mem > c->vm->memory_mb) {
        snprintf(why, n, "job asks for %llu MB but %s has %llu MB",
                 (unsigned long long)mem, c->vm->name,
                 (unsigned long long)c->vm->memory_mb);
        return DR_ENOFIT;
    }
    if (j->nodes > DR_MAX_JOB_NODES) {
        snprintf(why, n, "nodes %u above the limit of %d", j->nodes,
                 DR_MAX_JOB_NODES);
        return DR_EINVAL;
    }
    if ((rc = job_dist_check(j, why, n)) < 0)
        return rc;
    if (j->gpus > c->vm->gpus) {
        snprintf(why, n, "job asks for %u GPUs but %s has %u", j->gpus,
                 c->vm->name, c->vm->gpus);
        return DR_ENOFIT;
    }
    if (j->gpus > DR_MAX_GPUS) {
        snprintf(why, n, "gpus %u out of range", j->gpus);
        return DR_EINVAL;
    }
    if (wire_limit_ms(j->time_limit_ms, j->time_limit_s) > MAX_TIME_LIMIT_MS) {
        snprintf(why, n, "time limit of %llu ms above the limit of 366 days",
                 (unsigned long long)wire_limit_ms(j->time_limit_ms,
                                                   j->time_limit_s));
        return DR_EINVAL;
    }
    /* both (the CLI sends both, the seconds rounded up, for an older
     * scheduler): they must be one limit, or which one was meant? */
    if (j->time_limit_ms && j->time_limit_s &&
        wire_limit_s(j->time_limit_ms) != j->time_limit_s) {
        snprintf(why, n,
                 "time_limit_s %u and time_limit_ms %llu disagree (give one, "
                 "or the seconds rounded up)",
                 j->time_limit_s, (unsigned long long)j->time_limit_ms);
        return DR_EINVAL;
    }
    if (j->image && (strlen(j->image) > 255 || strpbrk(j->image, S_CTRL_SP))) {
        snprintf(why, n, "invalid image reference '%.64s'", j->image);
        return DR_EINVAL;
    }
    if (j->priority < -1000 || j->priority > 1000) {
        snprintf(why, n, "priority %d out of range [-1000, 1000]", j->priority);
        return DR_EINVAL;
    }
    if (j->max_retries > 100) {
        snprintf(why, n, "max retries %u above the limit of 100",
                 j->max_retries);
        return DR_EINVAL;
    }
    if (j->procs_per_node > 1024) {
        snprintf(why, n, "procs per node %u out of range", j->procs_per_node);
        return DR_EINVAL;
    }
    /* an element's array fields are the scheduler's to set */
    if (j->array_job_id || j->array_task_id || j->array_task_count ||
        j->array_task_min || j->array_task_max || j->array_max_running ||
        j->array_task_step) {
        snprintf(why, n,
                 "array fields are read-only: give the array as "
                 "its index spec (--array 0-99)");
        return DR_EINVAL;
    }
    if ((rc = job_code_check(s, j, why, n)) < 0)
        return rc;
    if (j->array && *j->array) {
        dr_array_t a;
        if (dr_array_parse(j->array, &a, why, n) < 0)
            return DR_EINVAL;
        dr_array_free(&a);
    }
    return 0;
}

/* A new job's id, or the error that kept it from being queued. */
static void s_reply_new_job(sched_t *s, const char *rid, const dr_env_t *env,
                            int rc, uint64_t id, uint32_t count,
                            const char *why)
{
    if (rc < 0) {
        API_ERR(rc, "%s", why);
        return;
    }
    dr_env_t out;
    Drover__JobSubmitReply r = DROVER__JOB_SUBMIT_REPLY__INIT;
    r.id = id;
    r.count = count;
    wire_env_body(&out, env->request_id,
                  DROVER__ENVELOPE__BODY_JOB_SUBMIT_REPLY, &r);
    sched_reply_client(s, rid, &out);
}

/* JobSubmit.jobs: every job checked before any is queued, so that all are
 * queued or none (job_submit then fails only on what was checked). */
static void s_submit_many(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__JobSubmit *js = env->job_submit;
    char why[256];
    if (js->job) {
        API_ERR(DR_EINVAL, "job_submit: give job or jobs, not both");
        return;
    }
    if (js->n_jobs > API_SUBMIT_MANY_MAX) {
        API_ERR(DR_EINVAL,
                "job_submit: %zu jobs, above the limit of %d a "
                "request",
                js->n_jobs, API_SUBMIT_MANY_MAX);
        return;
    }
    for (size_t i = 0; i < js->n_jobs; i++) {
        const Drover__Job *m = js->jobs[i];
        const char *no = !m                                ? "is missing"
                         : m->array && *m->array           ? "is an array"
                         : m->code.len || m->code_job_id   ? "carries code"
                         : m->dependency && *m->dependency ? "has a dependency"
                                                           : NULL;
        if (no) {
            API_ERR(DR_EINVAL,
                    "job %zu of %zu %s (one at a time, not among many)", i + 1,
                    js->n_jobs, no);
            return;
        }
        int rc = api_job_validate(s, m, why, sizeof why); /* its cluster too */
        if (rc < 0) {
            API_ERR(rc, "job %zu of %zu: %s", i + 1, js->n_jobs, why);
            return;
        }
    }
    uint64_t *ids = dr_calloc(js->n_jobs, sizeof *ids);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < js->n_jobs; i++)
        rc = job_submit(s, js->jobs[i], s->req.user, &ids[i], why, sizeof why);
    if (rc < 0) {
        API_ERR(rc, "%s", why);
    } else {
        Drover__JobSubmitReply r = DROVER__JOB_SUBMIT_REPLY__INIT;
        r.id = ids[0];
        r.n_ids = js->n_jobs;
        r.ids = ids;
        dr_env_t out;
        wire_env_body(&out, env->request_id,
                      DROVER__ENVELOPE__BODY_JOB_SUBMIT_REPLY, &r);
        sched_reply_client(s, rid, &out);
    }
    free(ids);
}

void api_job_submit(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__Job *m = env->job_submit->job;
    char why[256];
    if (env->job_submit->n_jobs) {
        s_submit_many(s, rid, env);
        return;
    }
    if (!m) {
        API_ERR(DR_EINVAL, "job_submit: job missing");
        return;
    }
    int rc = api_job_validate(s, m, why, sizeof why);
    if (rc < 0) {
        API_ERR(rc, "%s", why);
        return;
    }
    uint64_t id = 0;
    uint32_t count = 0;
    if (m->array && *m->array)
        rc = job_array_submit(s, m, s->req.user, &id, &count, why, sizeof why);
    else
        rc = job_submit(s, m, s->req.user, &id, why, sizeof why);
    s_reply_new_job(s, rid, env, rc, id, count, why);
}

void api_job_rerun(sched_t *s, const char *rid, dr_env_t *env)
{
    char why[256];
    uint64_t id = 0;
    int rc =
        job_rerun(s, env->job_rerun->id, s->req.user, &id, why, sizeof why);
    s_reply_new_job(s, rid, env, rc, id, 0, why);
}

void api_usage(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__UsageReq *q = env->usage;
    const char *by = q->by && *q->by ? q->by : "user";
    int64_t until = q->until_ms ? q->until_ms : dr_now_ms() + 1;
    if (strcmp(by, "user") != 0 && strcmp(by, "cluster") != 0 &&
        strcmp(by, "vm-size") != 0) {
        API_ERR(DR_EINVAL, "usage by '%.32s': give user, cluster or vm-size",
                by);
        return;
    }
    if (q->since_ms < 0 || until <= q->since_ms) {
        API_ERR(DR_EINVAL, "usage: the range must end after it starts");
        return;
    }
    job_usage_row_t *rows = NULL;
    size_t n = 0;
    int rc = job_usage_report(s, by, q->since_ms, until, &rows, &n);
    if (rc < 0) {
        API_ERR(rc, "cannot read the accounting");
        return;
    }
    Drover__UsageRow *msgs = dr_calloc(n + 1, sizeof *msgs);
    Drover__UsageRow **ptrs = dr_calloc(n + 1, sizeof *ptrs);
    for (size_t i = 0; i < n; i++) {
        Drover__UsageRow *m = &msgs[i];
        drover__usage_row__init(m);
        m->key = rows[i].key;
        m->jobs = rows[i].jobs;
        m->attempts = rows[i].attempts;
        m->cpu_hours = rows[i].cpu_hours;
        m->gpu_hours = rows[i].gpu_hours;
        m->wait_mean_s = rows[i].wait_mean_s;
        m->wait_p95_s = rows[i].wait_p95_s;
        m->preempted_cpu_hours = rows[i].preempted_cpu_hours;
        m->failed_cpu_hours = rows[i].failed_cpu_hours;
        m->waste_cpu_hours = m->preempted_cpu_hours + m->failed_cpu_hours;
        ptrs[i] = m;
    }
    Drover__UsageReport r = DROVER__USAGE_REPORT__INIT;
    r.n_rows = n;
    r.rows = ptrs;
    r.since_ms = q->since_ms;
    r.until_ms = until;
    r.by = (char *)by;
    dr_env_t out;
    wire_env_body(&out, env->request_id, DROVER__ENVELOPE__BODY_USAGE_REPORT,
                  &r);
    sched_reply_client(s, rid, &out);
    free(ptrs);
    free(msgs);
    job_usage_free(rows, n);
}

/* What a Job message borrows besides the row and the unpacked spec. */
typedef struct {
    char *names[DR_MAX_JOB_NODES];
    char namebuf[sizeof((store_job_t *)0)->node_names];
    char reason[256];
    char gpubuf[sizeof((store_job_t *)0)->gpu_indices];
    char *uuids[DR_MAX_GPUS];
    uint32_t idx[DR_MAX_GPUS];
    char *redacted_argv[1];
    Drover__KeyValue **redacted_env; /* owned, with redacted_kv */
    Drover__KeyValue *redacted_kv;
} job_scratch_t;

static void s_scratch_clear(job_scratch_t *x)
{
    free(x->redacted_env);
    free(x->redacted_kv);
}

/* Another user's command line and environment values may hold secrets
 * (a password flag, a token): only the owner and admins read them. */
static void s_redact(Drover__Job *m, const Drover__Job *spec, job_scratch_t *x)
{
    static char mark[] = "<redacted>";
    x->redacted_argv[0] = mark;
    m->argv = x->redacted_argv;
    m->n_argv = 1;
    size_t n = spec->n_env;
    x->redacted_env = dr_calloc(n + 1, sizeof *x->redacted_env);
    x->redacted_kv = dr_calloc(n + 1, sizeof *x->redacted_kv);
    for (size_t i = 0; i < n; i++) {
        drover__key_value__init(&x->redacted_kv[i]);
        x->redacted_kv[i].key = spec->env[i]->key;
        x->redacted_kv[i].value = mark;
        x->redacted_env[i] = &x->redacted_kv[i];
    }
    m->env = x->redacted_env;
    m->n_env = n;
}

/* Fills a Job message from a row; *spec_out (free with
 * drover__job__free_unpacked) owns the argv/env strings. */
static void s_job_msg(const sched_t *s, const store_job_t *row, Drover__Job *m,
                      Drover__Job **spec_out, job_scratch_t *x)
{
    char **names = x->names;
    char *reason_buf = x->reason;
    size_t reason_cap = sizeof x->reason;
    drover__job__init(m);
    Drover__Job *spec = drover__job__unpack(NULL, row->spec_len, row->spec);
    *spec_out = spec;
    m->id = row->id;
    m->name = (char *)row->name;
    m->cluster = (char *)row->cluster;
    if (spec) {
        m->n_argv = spec->n_argv;
        m->argv = spec->argv;
        m->n_env = spec->n_env;
        m->env = spec->env;
        m->image = spec->image;
        m->distribution = spec->distribution;
        if (spec->array_task_count) {
            m->array_job_id = spec->array_job_id ? spec->array_job_id : row->id;
            m->array_task_id = spec->array_task_id;
            m->array_task_count = spec->array_task_count;
            m->array_task_min = spec->array_task_min;
            m->array_task_max = spec->array_task_max;
            m->array_max_running = spec->array_max_running;
            m->array_task_step = spec->array_task_step;
        }
        m->worker_count = spec->worker_count;
        m->parameter_server_count = spec->parameter_server_count;
        m->code_size = spec->code_size;
        m->n_outputs = spec->n_outputs;
        m->outputs = spec->outputs;
        if (!s->req.admin && strcmp(row->owner, s->req.user) != 0)
            s_redact(m, spec, x);
    }
    m->cpus = row->cpus;
    m->memory_mb = row->memory_mb;
    m->nodes = row->nodes;
    m->procs_per_node = row->procs_per_node;
    m->gpus = row->gpus;
    m->priority = row->priority;
    m->max_retries = row->max_retries;
    m->time_limit_ms = row->time_limit_ms;
    m->time_limit_s = wire_limit_s(row->time_limit_ms); /* rounded up */
    m->state = (char *)row->state;
    m->exit_code = row->has_exit_code ? row->exit_code : 0;
    m->attempts = row->attempts;
    m->preemptions = row->preemptions;
    /* "head,worker,..." in rank order */
    snprintf(x->namebuf, sizeof x->namebuf, "%s", row->node_names);
    char *nsave = NULL;
    for (char *t = strtok_r(x->namebuf, ",", &nsave);
         t && m->n_node_names < DR_MAX_JOB_NODES;
         t = strtok_r(NULL, ",", &nsave))
        names[m->n_node_names++] = t;
    m->node_names = names;
    if (m->n_node_names > 1)
        m->head_node = names[0];
    snprintf(reason_buf, reason_cap, "%s", row->reason);
    if (!reason_buf[0] && strcmp(row->state, "queued") == 0) {
        const job_t *j = sched_job_find((sched_t *)s, row->id);
        if (j) {
            (void)placement_wait_reason(s, j, reason_buf, reason_cap);
            m->predicted_start_ms = placement_predicted_start(s, j);
        }
    }
    /* "0=GPU-a,1=GPU-b" -> indices and uuids */
    snprintf(x->gpubuf, sizeof x->gpubuf, "%s", row->gpu_indices);
    char *save = NULL;
    for (char *t = strtok_r(x->gpubuf, ",;", &save);
         t && m->n_gpu_uuids < DR_MAX_GPUS; t = strtok_r(NULL, ",;", &save)) {
        char *eq = strchr(t, '=');
        if (!eq)
            continue;
        *eq = '\0';
        x->idx[m->n_gpu_indices++] = (uint32_t)strtoul(t, NULL, 10);
        x->uuids[m->n_gpu_uuids++] = eq + 1;
    }
    m->gpu_indices = x->idx;
    m->gpu_uuids = x->uuids;
    m->reason = reason_buf;
    m->submitted_at_ms = row->submitted_at_ms;
    m->started_at_ms = row->started_at_ms;
    m->ended_at_ms = row->ended_at_ms;
    m->owner = (char *)row->owner;
}

void api_job_show(sched_t *s, const char *rid, dr_env_t *env)
{
    uint64_t id = env->job_show->id;
    store_job_t row;
    int rc = id ? job_lookup(s, id, &row) : DR_ENOENT;
    if (rc < 0) {
        API_ERR(rc == DR_ENOENT ? DR_ENOENT : rc, "unknown job %llu",
                (unsigned long long)id);
        return;
    }
    Drover__Job m;
    Drover__Job *spec = NULL;
    job_scratch_t *x = dr_calloc(1, sizeof *x);
    s_job_msg(s, &row, &m, &spec, x);
    dr_env_t out;
    wire_env_body(&out, env->request_id, DROVER__ENVELOPE__BODY_JOB_INFO, &m);
    sched_reply_client(s, rid, &out);
    if (spec)
        drover__job__free_unpacked(spec, NULL);
    s_scratch_clear(x);
    free(x);
    job_row_clear(&row);
}

typedef struct {
    Drover__Job **msgs;
    Drover__Job **specs;
    store_job_t *rows;
    job_scratch_t *scratch;
    size_t n, cap;
} list_acc_t;

static int s_list_cb(void *arg, const store_job_t *row)
{
    list_acc_t *a = arg;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->msgs = dr_realloc(a->msgs, a->cap * sizeof *a->msgs);
        a->specs = dr_realloc(a->specs, a->cap * sizeof *a->specs);
        a->rows = dr_realloc(a->rows, a->cap * sizeof *a->rows);
        a->scratch = dr_realloc(a->scratch, a->cap * sizeof *a->scratch);
    }
    size_t i = a->n++;
    memset(&a->scratch[i], 0, sizeof a->scratch[i]);
    a->rows[i] = *row;
    a->rows[i].spec = dr_malloc(row->spec_len);
    memcpy(a->rows[i].spec, row->spec, row->spec_len);
    a->msgs[i] = dr_malloc(sizeof(Drover__Job));
    return 0;
}

static void s_list_free(list_acc_t *a)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->specs[i])
            drover__job__free_unpacked(a->specs[i], NULL);
        job_row_clear(&a->rows[i]);
        free(a->msgs[i]);
        s_scratch_clear(&a->scratch[i]);
    }
    free(a->msgs);
    free(a->specs);
    free(a->rows);
    free(a->scratch);
}

void api_job_list(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__JobListReq *q = env->job_list;
    /* a deleted cluster's jobs can still be listed from the store */
    if (q->cluster && *q->cluster && !sched_cluster_find(s, q->cluster) &&
        strlen(q->cluster) > 63) {
        API_ERR(DR_EINVAL, "invalid cluster name");
        return;
    }
    job_state_t st;
    if (q->state && *q->state && job_state_parse(q->state, &st) < 0) {
        API_ERR(DR_EINVAL,
                "unknown job state '%s' (queued, starting, running, "
                "succeeded, failed, canceled, timeout)",
                q->state);
        return;
    }
    uint32_t limit = q->limit ? q->limit : DEFAULT_LIST;
    if (limit > MAX_LIST)
        limit = MAX_LIST;
    list_acc_t a = {0};
    int more = 0;
    if (q->owner && *q->owner && !dr_valid_name(q->owner)) {
        API_ERR(DR_EINVAL, "invalid user name '%.64s'", q->owner);
        return;
    }
    if (q->since_ms < 0) {
        API_ERR(DR_EINVAL, "since must not be before 1970");
        return;
    }
    store_job_filter_t f = {.cluster = q->cluster ? q->cluster : "",
                            .state = q->state ? q->state : "",
                            .owner = q->owner ? q->owner : "",
                            .since_ms = q->since_ms,
                            .after = q->after_id,
                            .limit = limit};
    int rc = job_list(s, &f, s_list_cb, &a, &more);
    if (rc < 0) {
        API_ERR(rc, "cannot list jobs");
    } else {
        for (size_t i = 0; i < a.n; i++)
            s_job_msg(s, &a.rows[i], a.msgs[i], &a.specs[i], &a.scratch[i]);
        dr_env_t out;
        Drover__JobList list = DROVER__JOB_LIST__INIT;
        list.n_jobs = a.n;
        list.jobs = a.msgs;
        list.more = more;
        wire_env_body(&out, env->request_id,
                      DROVER__ENVELOPE__BODY_JOB_LIST_REPLY, &list);
        sched_reply_client(s, rid, &out);
    }
    s_list_free(&a);
}

void api_job_cancel(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__JobRef *q = env->job_cancel;
    char msg[128];
    int rc;
    /* ID of an array: all its active elements (as scancel); ID_N: one */
    if (q->array_element || dict_get_u64(s->arrays, q->id))
        rc = job_array_cancel(s, q->id, q->array_element, q->array_task, msg,
                              sizeof msg);
    else
        rc = job_cancel(s, q->id, msg, sizeof msg);
    if (rc < 0) {
        API_ERR(rc, "%s", msg);
        return;
    }
    api_reply_ok(s, rid, env->request_id, msg);
}

/* The job a request names (0 or DR_ENOENT, answered); row owned. */
static int s_lookup(sched_t *s, const char *rid, const dr_env_t *env,
                    uint64_t id, store_job_t *row)
{
    if (!id || job_lookup(s, id, row) < 0) {
        API_ERR(DR_ENOENT, "unknown job %llu", (unsigned long long)id);
        return DR_ENOENT;
    }
    return 0;
}

void api_job_logs(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__JobLogsReq *q = env->job_logs;
    store_job_t row;
    if (s_lookup(s, rid, env, q->id, &row) < 0)
        return;
    uint32_t max = q->max_bytes ? q->max_bytes : DEFAULT_LOG_CHUNK;
    if (max > MAX_LOG_CHUNK)
        max = MAX_LOG_CHUNK;
    job_state_t st = JOB_QUEUED;
    (void)job_state_parse(row.state, &st);
    uint8_t *buf = dr_malloc(max);
    size_t got = 0;
    uint64_t size = 0;
    job_log_read(s, q->id, q->offset, buf, max, &got, &size);
    dr_env_t out;
    Drover__JobLogs r = DROVER__JOB_LOGS__INIT;
    r.data.data = buf;
    r.data.len = got;
    r.next_offset = q->offset + (uint64_t)got;
    r.eof = job_state_terminal(st) && r.next_offset >= size;
    r.state = row.state;
    wire_env_body(&out, env->request_id, DROVER__ENVELOPE__BODY_JOB_LOGS_REPLY,
                  &r);
    sched_reply_client(s, rid, &out);
    free(buf);
    job_row_clear(&row);
}

void api_job_files(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__JobFilesReq *q = env->job_files;
    store_job_t row;
    if (s_lookup(s, rid, env, q->id, &row) < 0)
        return;
    uint32_t nodes = row.nodes ? row.nodes : 1;
    if (q->node_rank >= nodes) {
        API_ERR(DR_EINVAL, "job %llu has node ranks 0 to %u",
                (unsigned long long)q->id, nodes - 1);
        job_row_clear(&row);
        return;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = job_outputs_get(s, q->id, q->node_rank, &data, &len);
    if (rc < 0 && rc != DR_ENOENT) {
        API_ERR(rc, "cannot read the outputs of job %llu",
                (unsigned long long)q->id);
        job_row_clear(&row);
        return;
    }
    Drover__JobFiles r = DROVER__JOB_FILES__INIT;
    r.id = q->id;
    r.node_rank = q->node_rank;
    r.nodes = nodes;
    r.found = rc == 0;
    r.data.data = data;
    r.data.len = len;
    r.state = row.state;
    dr_env_t out;
    wire_env_body(&out, env->request_id, DROVER__ENVELOPE__BODY_JOB_FILES_REPLY,
                  &r);
    sched_reply_client(s, rid, &out);
    free(data);
    job_row_clear(&row);
}
