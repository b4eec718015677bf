/* http_json.c - the routes of /api/v1 and their JSON (http_json.h).
 *
 * One row per route (method, path pattern, the request it becomes, how its
 * reply reads), looked up as the client table is: a path that no row has
 * is 404, a path some row has but not with this method 405.  A body is
 * read through the CLI's view of its message, limited to the keys a
 * client may set (http_body.c), or the request is 400 and reaches no
 * handler.  Messages built here are malloc'd as protobuf-c unpacks them,
 * so that one protobuf_c_message_free_unpacked frees each.
 */
#include "http_json.h"
#include "cli.h"
#include "http_body.h"
#include "http_route.h"
#include "dr_err.h"
#include "util.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    RP_LIST,   /* the view's list reply: a JSON array */
    RP_ONE,    /* the view's one reply: an object */
    RP_JOBS,   /* JobList: {"jobs": [...], "more": bool} */
    RP_SUBMIT, /* JobSubmitReply: {"id": N} */
    RP_OK,     /* Ok: {"message": "..."} */
    RP_LOGS,   /* JobLogs */
    RP_FILES,  /* JobFiles: {"id", "node_rank", "nodes", "data": base64} */
    RP_LOCAL,  /* answered without a handler */
} reply_kind_t;

typedef int (*build_fn)(const http_in_t *in, http_call_t *c, char *why,
                        size_t cap);

struct http_route {
    const char *method;
    const char *pattern; /* segments; ":x" captures one */
    build_fn build;
    reply_kind_t reply;
    const cli_view_t *view;
    int status; /* of a successful reply */
};

int http_in_body(const http_in_t *in, json_t **out, char *why, size_t cap)
{
    return http_body_object(in->body, in->len, out, why, cap);
}

/* ---- query parameters ---------------------------------------------------- */

/* Every parameter must be one of names (NULL-terminated). */
static int s_query_known(const http_in_t *in, const char *const *names,
                         char *why, size_t cap)
{
    for (size_t i = 0; i < in->nq; i++)
        if (!http_key_allowed(names, in->q[i].key))
            return http_fail(why, cap, 400, "unknown query parameter '%s'",
                             in->q[i].key);
    return 0;
}

static const char *s_q(const http_in_t *in, const char *key)
{
    for (size_t i = 0; i < in->nq; i++)
        if (strcmp(in->q[i].key, key) == 0)
            return in->q[i].value;
    return NULL;
}

static int s_q_u64(const http_in_t *in, const char *key, uint64_t max,
                   uint64_t *out, char *why, size_t cap)
{
    const char *s = s_q(in, key);
    if (!s)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-' || x > max)
        return http_fail(why, cap, 400,
                         "query parameter '%s' must be an integer 0-%llu", key,
                         (unsigned long long)max);
    *out = x;
    return 0;
}

static char *s_q_str(const http_in_t *in, const char *key)
{
    const char *s = s_q(in, key);
    return s ? dr_strdup(s) : NULL;
}

static int s_id(const char *s, uint64_t *id, char *why, size_t cap)
{
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-' || x == 0)
        return http_fail(why, cap, 400, "'%s' is not a job id", s);
    *id = x;
    return 0;
}

/* ---- builders ------------------------------------------------------------ */

#define BODY(c, which, member, m)                                              \
    do {                                                                       \
        (c)->env.body_case = (which);                                          \
        (c)->env.member = (m);                                                 \
        (c)->msg = (m);                                                        \
    } while (0)

static const char *const s_none[] = {NULL};

static int b_cluster_list(const http_in_t *in, http_call_t *c, char *why,
                          size_t cap)
{
    if (s_query_known(in, s_none, why, cap))
        return 400;
    Drover__ClusterListReq *m =
        http_msg_new(&drover__cluster_list_req__descriptor);
    BODY(c, DROVER__ENVELOPE__BODY_CLUSTER_LIST, cluster_list, m);
    return 0;
}

static Drover__ClusterRef *s_cluster_ref(const http_in_t *in)
{
    Drover__ClusterRef *m = http_msg_new(&drover__cluster_ref__descriptor);
    m->name = dr_strdup(in->arg);
    return m;
}

static int b_cluster_show(const http_in_t *in, http_call_t *c, char *why,
                          size_t cap)
{
    if (s_query_known(in, s_none, why, cap))
        return 400;
    Drover__ClusterRef *m = s_cluster_ref(in);
    BODY(c, DROVER__ENVELOPE__BODY_CLUSTER_SHOW, cluster_show, m);
    return 0;
}

static int b_cluster_delete(const http_in_t *in, http_call_t *c, char *why,
                            size_t cap)
{
    if (s_query_known(in, s_none, why, cap))
        return 400;
    Drover__ClusterRef *m = s_cluster_ref(in);
    BODY(c, DROVER__ENVELOPE__BODY_CLUSTER_DELETE, cluster_delete, m);
    return 0;
}

static const char *const s_cluster_writable[] = {
    "name",
    "vm_size",
    "min_nodes",
    "max_nodes",
    "idle_seconds_before_scaledown",
    "vm_priority",
    "location",
    "provider",
    "resume_program",
    "suspend_program",
    "provider_url",
    "identity",
    NULL};

static int b_cluster_create(const http_in_t *in, http_call_t *c, char *why,
                            size_t cap)
{
    json_t *body = NULL;
    if (s_query_known(in, s_none, why, cap) ||
        http_in_body(in, &body, why, cap))
        return 400;
    Drover__ClusterCreate *m =
        http_msg_new(&drover__cluster_create__descriptor);
    BODY(c, DROVER__ENVELOPE__BODY_CLUSTER_CREATE, cluster_create, m);
    m->cluster = http_msg_new(&drover__cluster__descriptor);
    int rc = http_from_json(&cli_cluster_view, &drover__cluster__descriptor,
                            m->cluster, body, s_cluster_writable, why, cap);
    json_decref(body);
    return rc;
}

static int b_cluster_update(const http_in_t *in, http_call_t *c, char *why,
                            size_t cap)
{
    static const char *const keys[] = {"min_nodes", "max_nodes",
                                       "idle_seconds_before_scaledown", NULL};
    json_t *body = NULL;
    if (s_query_known(in, s_none, why, cap) ||
        http_in_body(in, &body, why, cap))
        return 400;
    Drover__ClusterUpdate *m =
        http_msg_new(&drover__cluster_update__descriptor);
    BODY(c, DROVER__ENVELOPE__BODY_CLUSTER_UPDATE, cluster_update, m);
    m->name = dr_strdup(in->arg);
    int rc = 0;
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val)
    {
        long long x = 0;
        size_t k = 0;
        while (keys[k] && strcmp(keys[k], key) != 0)
            k++;
        if (!keys[k]) {
            rc = http_fail(why, cap, 400,
                           "unknown field '%s' (min_nodes, max_nodes, "
                           "idle_seconds_before_scaledown)",
                           key);
            break;
        }
        if ((rc = http_json_int(val, key, 0, INT32_MAX, &x, why, cap)) != 0)
            break;
        m->set_mask |= 1u << k;
        if (k == 0)
            m->min_nodes = (int32_t)x;
        else if (k == 1)
            m->max_nodes = (int32_t)x;
        else
            m->idle_seconds_before_scaledown = (int32_t)x;
    }
    json_decref(body);
    if (!rc && !m->set_mask)
        rc = http_fail(why, cap, 400,
                       "nothing to change: give min_nodes, max_nodes or "
                       "idle_seconds_before_scaledown");
    return rc ? 400 : 0;
}

static int b_cluster_events(const http_in_t *in, http_call_t *c, char *why,
                            size_t cap)
{
    static const char *const names[] = {"limit", NULL};
    uint64_t limit = 0;
    if (s_query_known(in, names, why, cap) ||
        s_q_u64(in, "limit", CLI_EVENTS_MAX, &limit, why, cap))
        return 400;
    Drover__ClusterEventsReq *m =
        http_msg_new(&drover__cluster_events_req__descriptor);
    BODY(c, DROVER__ENVELOPE__BODY_CLUSTER_EVENTS, cluster_events, m);
    m->name = dr_strdup(in->arg ? in->arg : "");
    m->limit = (uint32_t)limit;
    return 0;
}

static int b_node_list(const http_in_t *in, http_call_t *c, char *why,
                       size_t cap)
{
    static const char *const names[] = {"cluster", NULL};
    if (s_query_known(in, names, why, cap))
        return 400;
    Drover__NodeListReq *m = http_msg_new(&drover__node_list_req__descriptor);
    BODY(c, DROVER__ENVELOPE__BODY_NODE_LIST, node_list, m);
    char *cl = s_q_str(in, "cluster");
    if (cl)
        m->cluster = cl;
    return 0;
}

static int b_node_show(const http_in_t *in, http_call_t *c, char *why,
                       size_t cap)
{
    if (s_query_known(in, s_none, why, cap))
        return 400;
    Drover__NodeRef *m = http_msg_new(&drover__node_ref__descriptor);
    BODY(c, DROVER__ENVELOPE__BODY_NODE_SHOW, node_show, m);
    m->name = dr_strdup(in->arg);
    return 0;
}

static int b_job_list(const http_in_t *in, http_call_t *c, char *why,
                      size_t cap)
{
    static const char *const names[] = {"cluster", "state",    "user", "since",
                                        "limit",   "after_id", NULL};
    uint64_t limit = 0, after = 0, since = 0;
    if (s_query_known(in, names, why, cap) ||
        s_q_u64(in, "limit", CLI_JOB_PAGE, &limit, why, cap) ||
        s_q_u64(in, "after_id", INT64_MAX, &after, why, cap) ||
        s_q_u64(in, "since", INT64_MAX, &since, why, cap))
        return 400;
    Drover__JobListReq *m = http_msg_new(&drover__job_list_req__descriptor);
    BODY(c, DROVER__ENVELOPE__BODY_JOB_LIST, job_list, m);
    char *cl = s_q_str(in, "cluster"), *st = s_q_str(in, "state");
    char *user = s_q_str(in, "user");
    if (cl)
        m->cluster = cl;
    if (st)
        m->state = st;
    if (user)
        m->owner = user;
    m->since_ms = (int64_t)since;
    m->limit = (uint32_t)limit;
    m->after_id = after;
    return 0;
}

static int s_job_ref(const http_in_t *in, http_call_t *c, int body_case,
                     char *why, size_t cap)
{
    uint64_t id = 0;
    if (s_query_known(in, s_none, why, cap) || s_id(in->arg, &id, why, cap))
        return 400;
    Drover__JobRef *m = http_msg_new(&drover__job_ref__descriptor);
    m->id = id;
    c->env.body_case = body_case;
    if (body_case == DROVER__ENVELOPE__BODY_JOB_SHOW)
        c->env.job_show = m;
    else
        c->env.job_cancel = m;
    c->msg = m;
    return 0;
}

static int b_job_show(const http_in_t *in, http_call_t *c, char *why,
                      size_t cap)
{
    return s_job_ref(in, c, DROVER__ENVELOPE__BODY_JOB_SHOW, why, cap);
}

static int b_job_cancel(const http_in_t *in, http_call_t *c, char *why,
                        size_t cap)
{
    if (in->len)
        return http_fail(why, cap, 400, "cancel takes no body");
    return s_job_ref(in, c, DROVER__ENVELOPE__BODY_JOB_CANCEL, why, cap);
}

static int b_job_logs(const http_in_t *in, http_call_t *c, char *why,
                      size_t cap)
{
    static const char *const names[] = {"offset", "max_bytes", NULL};
    uint64_t id = 0, off = 0, max = 0;
    if (s_query_known(in, names, why, cap) || s_id(in->arg, &id, why, cap) ||
        s_q_u64(in, "offset", INT64_MAX, &off, why, cap) ||
        s_q_u64(in, "max_bytes", 1 << 20, &max, why, cap))
        return 400;
    Drover__JobLogsReq *m = http_msg_new(&drover__job_logs_req__descriptor);
    BODY(c, DROVER__ENVELOPE__BODY_JOB_LOGS, job_logs, m);
    m->id = id;
    m->offset = off;
    m->max_bytes = (uint32_t)max;
    return 0;
}

static const char *const s_job_writable[] = {"name",
                                             "cluster",
                                             "cpus",
                                             "memory_mb",
                                             "node_count",
                                             "procs_per_node",
                                             "distribution",
                                             "gpus",
                                             "priority",
                                             "max_retries",
                                             "time_limit_s",
                                             "time_limit_ms",
                                             "image",
                                             "command",
                                             "env",
                                             "worker_count",
                                             "parameter_server_count",
                                             "outputs",
                                             NULL};

/* "code": a gzip tar in base64 (the SDK's code=), taken out of the body
 * before the rest is read through the job's view.  How large it may be
 * is the scheduler's business (--max-code-size: 413 past it). */
static int s_job_code(json_t *body, Drover__Job *j, char *why, size_t cap)
{
    json_t *v = json_object_get(body, "code");
    if (!v)
        return 0;
    if (!json_is_string(v))
        return http_fail(why, cap, 400,
                         "field 'code' must be a string (a gzip tar, base64)");
    const char *b64 = json_string_value(v);
    size_t n = json_string_length(v), len = 0;
    uint8_t *bin = malloc(n / 4 * 3 + 3);
    if (!bin)
        return http_fail(why, cap, 500, "out of memory");
    if (sodium_base642bin(bin, n / 4 * 3 + 3, b64, n, "\r\n", &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(bin);
        return http_fail(why, cap, 400, "field 'code' is not base64");
    }
    j->code.data = bin; /* freed with the message */
    j->code.len = len;
    (void)json_object_del(body, "code");
    return 0;
}

static int b_job_submit(const http_in_t *in, http_call_t *c, char *why,
                        size_t cap)
{
    json_t *body = NULL;
    if (s_query_known(in, s_none, why, cap) ||
        http_in_body(in, &body, why, cap))
        return 400;
    Drover__JobSubmit *m = http_msg_new(&drover__job_submit__descriptor);
    BODY(c, DROVER__ENVELOPE__BODY_JOB_SUBMIT, job_submit, m);
    m->job = http_msg_new(&drover__job__descriptor);
    int rc = s_job_code(body, m->job, why, cap);
    if (!rc)
        rc = http_from_json(&cli_job_view, &drover__job__descriptor, m->job,
                            body, s_job_writable, why, cap);
    json_decref(body);
    if (!rc && !m->job->n_argv)
        rc = http_fail(why, cap, 400, "field 'command' (an array) is required");
    if (!rc && (!m->job->cluster || !*m->job->cluster))
        rc = http_fail(why, cap, 400, "field 'cluster' is required");
    /* the CLI's defaults for what it always sends */
    if (!rc && !m->job->nodes)
        m->job->nodes = 1;
    if (!rc && !m->job->cpus)
        m->job->cpus = 1;
    if (!rc && !m->job->procs_per_node)
        m->job->procs_per_node = 1;
    return rc;
}

static int b_job_outputs(const http_in_t *in, http_call_t *c, char *why,
                         size_t cap)
{
    static const char *const names[] = {"node_rank", NULL};
    uint64_t id = 0, rank = 0;
    if (s_query_known(in, names, why, cap) || s_id(in->arg, &id, why, cap) ||
        s_q_u64(in, "node_rank", 1024, &rank, why, cap))
        return 400;
    Drover__JobFilesReq *m = http_msg_new(&drover__job_files_req__descriptor);
    BODY(c, DROVER__ENVELOPE__BODY_JOB_FILES, job_files, m);
    m->id = id;
    m->node_rank = (uint32_t)rank;
    return 0;
}

static int b_quota_list(const http_in_t *in, http_call_t *c, char *why,
                        size_t cap)
{
    if (s_query_known(in, s_none, why, cap))
        return 400;
    Drover__QuotaListReq *m = http_msg_new(&drover__quota_list_req__descriptor);
    BODY(c, DROVER__ENVELOPE__BODY_QUOTA_LIST, quota_list, m);
    return 0;
}

static int b_local(const http_in_t *in, http_call_t *c, char *why, size_t cap)
{
    if (s_query_known(in, s_none, why, cap))
        return 400;
    c->local = HTTP_LOCAL_WHOAMI;
    return 0;
}

static int b_history(const http_in_t *in, http_call_t *c, char *why, size_t cap)
{
    if (s_query_known(in, s_none, why, cap))
        return 400;
    c->local = HTTP_LOCAL_HISTORY;
    snprintf(c->arg, sizeof c->arg, "%s", in->arg);
    return 0;
}

static const http_route_t s_routes[] = {
    {"GET", "/whoami", b_local, RP_LOCAL, NULL, 200},
    {"GET", "/clusters", b_cluster_list, RP_LIST, &cli_cluster_view, 200},
    {"POST", "/clusters", b_cluster_create, RP_ONE, &cli_cluster_view, 201},
    {"GET", "/clusters/:", b_cluster_show, RP_ONE, &cli_cluster_view, 200},
    {"PATCH", "/clusters/:", b_cluster_update, RP_ONE, &cli_cluster_view, 200},
    {"DELETE", "/clusters/:", b_cluster_delete, RP_OK, NULL, 200},
    {"POST", "/clusters/:/identity", http_b_cluster_identity, RP_ONE,
     &cli_cluster_view, 200},
    {"GET", "/clusters/:/history", b_history, RP_LOCAL, NULL, 200},
    {"GET", "/clusters/:/events", b_cluster_events, RP_LIST, &cli_event_view,
     200},
    {"GET", "/events", b_cluster_events, RP_LIST, &cli_event_view, 200},
    {"GET", "/nodes", b_node_list, RP_LIST, &cli_node_view, 200},
    {"GET", "/nodes/:", b_node_show, RP_ONE, &cli_node_view, 200},
    {"GET", "/jobs", b_job_list, RP_JOBS, &cli_job_view, 200},
    {"POST", "/jobs", b_job_submit, RP_SUBMIT, NULL, 201},
    {"GET", "/jobs/:", b_job_show, RP_ONE, &cli_job_view, 200},
    {"DELETE", "/jobs/:", b_job_cancel, RP_OK, NULL, 200},
    {"POST", "/jobs/:/cancel", b_job_cancel, RP_OK, NULL, 200},
    {"GET", "/jobs/:/logs", b_job_logs, RP_LOGS, NULL, 200},
    {"GET", "/jobs/:/outputs", b_job_outputs, RP_FILES, NULL, 200},
    {"GET", "/quotas", b_quota_list, RP_LIST, &cli_quota_view, 200},
};

/* Does path match pattern?  The ":" segment's text goes to arg. */
static int s_match(const char *pattern, const char *path, char *arg, size_t cap)
{
    const char *p = pattern, *u = path;
    while (*p && *u) {
        if (*p != '/' || *u != '/')
            return 0;
        p++;
        u++;
        size_t pl = strcspn(p, "/"), ul = strcspn(u, "/");
        if (pl == 1 && *p == ':') {
            if (!ul || ul >= cap)
                return 0;
            memcpy(arg, u, ul);
            arg[ul] = '\0';
        } else if (pl != ul || strncmp(p, u, pl) != 0) {
            return 0;
        }
        p += pl;
        u += ul;
    }
    return !*p && (!*u || strcmp(u, "/") == 0);
}

int http_route(const char *path, const char *method, const http_kv_t *query,
               size_t nquery, const char *body, size_t len, http_call_t *out,
               char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    drover__envelope__init(&out->env);
    out->env.version = DR_PROTO_VERSION;
    int path_known = 0;
    char arg[256];
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++) {
        const http_route_t *r = &s_routes[i];
        arg[0] = '\0';
        if (!s_match(r->pattern, path, arg, sizeof arg))
            continue;
        path_known = 1;
        if (strcmp(r->method, method) != 0)
            continue;
        if (len && strcmp(method, "GET") == 0)
            return http_fail(why, cap, 400, "a GET takes no body");
        http_in_t in = {arg[0] ? arg : NULL, query, nquery, body, len};
        out->route = r;
        int rc = r->build(&in, out, why, cap);
        if (rc) {
            http_call_free(out);
            return rc;
        }
        return 200;
    }
    if (path_known)
        return http_fail(why, cap, 405, "method %s is not allowed on %s",
                         method, path);
    return http_fail(why, cap, 404, "no such API path: /api/v1%s", path);
}

void http_call_free(http_call_t *c)
{
    if (c->msg)
        protobuf_c_message_free_unpacked(c->msg, NULL);
    c->msg = NULL;
}

/* ---- reply -> JSON ------------------------------------------------------- */

int http_status_of(int code)
{
    switch (code) {
    case DR_EINVAL:
    case DR_EPROTO:
    case DR_EVERSION:
    case DR_EUNSUPP:
    case DR_ENOFIT:
        return 400;
    case DR_EPERM:
        return 403;
    case DR_ENOENT:
        return 404;
    case DR_EEXIST:
    case DR_ESTATE:
    case DR_EBUSY:
        return 409;
    case DR_ETOOBIG:
        return 413;
    case DR_EPROVIDER:
        return 502;
    case DR_EAGAIN:
        return 503;
    case DR_ETIMEOUT:
        return 504;
    case DR_ENOSPC:
        return 507;
    default:
        return 500;
    }
}

static json_t *s_chk(json_t *v)
{
    return cli_json_check(v);
}

static void s_set(json_t *o, const char *k, json_t *v)
{
    if (json_object_set_new(o, k, s_chk(v)) < 0)
        (void)cli_json_check(NULL);
}

/* Bytes of a log as a JSON string: invalid UTF-8 becomes '?'. */
static json_t *s_text(const uint8_t *p, size_t n)
{
    json_t *v = json_stringn((const char *)p, n);
    if (v)
        return v;
    char *t = dr_calloc(n + 1, 1);
    for (size_t i = 0; i < n; i++)
        t[i] = (p[i] < 0x80 && p[i]) ? (char)p[i] : '?';
    v = json_stringn(t, n);
    free(t);
    return v;
}

int http_reply_json(const http_route_t *r, const dr_env_t *rep, json_t **out,
                    char *why, size_t cap)
{
    *out = NULL;
    if (rep->body_case == DROVER__ENVELOPE__BODY_ERROR) {
        const Drover__Error *e = rep->error;
        snprintf(why, cap, "%s", e->message ? e->message : "error");
        return http_status_of(e->code);
    }
    const cli_view_t *v = r->view;
    int want = 0;
    switch (r->reply) {
    case RP_LIST:
    case RP_JOBS:
        want = v->list_body;
        break;
    case RP_ONE:
        want = v->one_body;
        break;
    case RP_SUBMIT:
        want = DROVER__ENVELOPE__BODY_JOB_SUBMIT_REPLY;
        break;
    case RP_OK:
        want = DROVER__ENVELOPE__BODY_OK;
        break;
    case RP_LOGS:
        want = DROVER__ENVELOPE__BODY_JOB_LOGS_REPLY;
        break;
    case RP_FILES:
        want = DROVER__ENVELOPE__BODY_JOB_FILES_REPLY;
        break;
    case RP_LOCAL:
        break;
    }
    if ((int)rep->body_case != want) {
        snprintf(why, cap, "unexpected reply %s",
                 wire_body_name(rep->body_case));
        return 500;
    }
    json_t *o = NULL;
    switch (r->reply) {
    case RP_LIST:
    case RP_JOBS: {
        size_t n = 0;
        const void *const *items = v->items(rep, &n);
        json_t *a = s_chk(json_array());
        for (size_t i = 0; i < n; i++)
            cli_json_push(a, cli_view_json(v, items[i]));
        if (r->reply == RP_LIST) {
            o = a;
            break;
        }
        o = s_chk(json_object());
        s_set(o, "jobs", a);
        s_set(o, "more", json_boolean(rep->job_list_reply->more));
        break;
    }
    case RP_ONE:
        o = cli_view_json(v, v->one(rep));
        break;
    case RP_SUBMIT:
        o = s_chk(json_object());
        s_set(o, "id", json_integer((json_int_t)rep->job_submit_reply->id));
        break;
    case RP_OK:
        o = s_chk(json_object());
        s_set(o, "message",
              json_string(rep->ok->message ? rep->ok->message : ""));
        break;
    case RP_LOGS: {
        const Drover__JobLogs *l = rep->job_logs_reply;
        o = s_chk(json_object());
        s_set(o, "data", s_text(l->data.data, l->data.len));
        s_set(o, "next_offset", json_integer((json_int_t)l->next_offset));
        s_set(o, "eof", json_boolean(l->eof));
        s_set(o, "state", json_string(l->state ? l->state : ""));
        break;
    }
    case RP_FILES: {
        const Drover__JobFiles *f = rep->job_files_reply;
        o = s_chk(json_object());
        s_set(o, "id", json_integer((json_int_t)f->id));
        s_set(o, "node_rank", json_integer(f->node_rank));
        s_set(o, "nodes", json_integer(f->nodes));
        s_set(o, "found", json_boolean(f->found));
        s_set(o, "size", json_integer((json_int_t)f->data.len));
        s_set(o, "state", json_string(f->state ? f->state : ""));
        if (f->found) {
            size_t n = sodium_base64_ENCODED_LEN(
                f->data.len, sodium_base64_VARIANT_ORIGINAL);
            char *b = dr_malloc(n);
            sodium_bin2base64(b, n, f->data.data, f->data.len,
                              sodium_base64_VARIANT_ORIGINAL);
            s_set(o, "data", json_string(b));
            free(b);
        }
        break;
    }
    case RP_LOCAL:
        break;
    }
    *out = o;
    return r->status;
}

json_t *http_whoami(const req_ctx_t *who)
{
    json_t *o = s_chk(json_object());
    s_set(o, "user", json_string(who->user));
    s_set(o, "role", json_string(who->admin ? "admin" : "user"));
    return o;
}
