/* fuzz_envelope.c - libFuzzer target for everything drover decodes from
 * outside: the wire Envelope and every message type in it, and the three
 * text formats (vm catalog CSV, GPU inventory JSON, scheduler config).
 *
 * Each input goes through all of them:
 *  1. protobuf_c_message_unpack with every message descriptor reachable
 *     from Envelope (found by walking the descriptors, so a message added
 *     to proto/drover.proto is fuzzed without touching this file);
 *  2. as an Envelope: the pure validators (api_job_validate,
 *     api_cluster_validate, gpu_list_from_proto) on every Job, Cluster and
 *     GPU list it holds, then - when wire_recv would pass it on (version 1,
 *     a body) - the real dispatchers api_client_dispatch and
 *     api_agent_dispatch inside a store transaction, followed by one
 *     sched_run_once(s, 0, -1) that commits and flushes the replies;
 *  3. as NUL-terminated text: catalog_parse, gpu_inventory_parse and
 *     config_parse_text.
 *
 * One scheduler lives across inputs (state dir under /dev/shm or $TMPDIR,
 * ipc:// endpoints inside it) with a baseline of cluster "c1" (a GPU vm
 * size) and registered node "node-f", the names the seed corpus uses.  It
 * is destroyed and recreated every DROVER_FUZZ_RESET inputs (default 2000)
 * so the SQLite file stays small; DROVER_FUZZ_RESET=1 gives every input a
 * fresh scheduler, which is how to replay a crash that may depend on state
 * left by earlier inputs.  DROVER_FUZZ_LOG=debug|info|warn|error sets the
 * scheduler's log level (default: error, so that the fuzzer stays fast).
 *
 * It must never run anything an input names: the autoscaler is held off
 * (so no provider creates nodes) and, before dispatch, the exec provider's
 * absolute programs become /bin/true and http provider URLs a closed local
 * port.  The fuzzed message is restored before it is freed.
 */
#include "api_agent.h"
#include "api_client.h"
#include "catalog.h"
#include "config.h"
#include "gpu_inventory.h"
#include "log.h"
#include "sched_int.h"
#include "store.h"
#include "wire.h"

/* The scheduler's loop says who sent a message (s->req) once auth.h exists
 * (CURVE keys and roles); the dispatchers are called directly here, so
 * this file plays that part - for the client as admin unless bit 8 of the
 * request id is set, for the agent as its node - and runs the scheduler
 * --insecure so that no keys are made for each state dir. */
#if defined(__has_include)
#if __has_include("auth.h")
#define FUZZ_AUTH 1
#endif
#endif

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_CLIENT_RID "fuzz"
#define FUZZ_NODE "node-f"
#define FUZZ_CLUSTER "c1"
#define FUZZ_MAX_DESCS 256

static sched_t *s_sched;
static char s_dir[256];
static long s_reset_every = 2000;
static long s_inputs;
static const ProtobufCMessageDescriptor *s_descs[FUZZ_MAX_DESCS];
static size_t s_ndescs;

/* ---- descriptors --------------------------------------------------------- */

static void s_collect(const ProtobufCMessageDescriptor *d)
{
    for (size_t i = 0; i < s_ndescs; i++)
        if (s_descs[i] == d)
            return;
    if (s_ndescs == FUZZ_MAX_DESCS)
        abort(); /* raise FUZZ_MAX_DESCS */
    s_descs[s_ndescs++] = d;
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE)
            s_collect(d->fields[i].descriptor);
}

/* ---- the scheduler ------------------------------------------------------- */

static int s_rm(const char *path, const struct stat *st, int flag,
                struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    (void)remove(path);
    return 0;
}

static void s_sched_down(void)
{
    sched_destroy(&s_sched);
    if (s_dir[0])
        (void)nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    s_dir[0] = '\0';
}

/* Dispatches env as the loop would have, from a client or an agent. */
static void s_dispatch(dr_env_t *env, int from_agent)
{
#ifdef FUZZ_AUTH
    snprintf(s_sched->req.user, sizeof s_sched->req.user, "%s",
             from_agent ? FUZZ_NODE : FUZZ_CLIENT_RID);
    s_sched->req.admin = from_agent || !(env->request_id & 0x100);
#endif
    if (from_agent)
        api_agent_dispatch(s_sched, FUZZ_NODE, env);
    else
        api_client_dispatch(s_sched, FUZZ_CLIENT_RID, env);
#ifdef FUZZ_AUTH
    s_sched->req = (req_ctx_t){0};
#endif
}

/* The rest of a loop pass: commit, flush replies; never autoscale. */
static void s_pass(void)
{
    sched_autoscale_at(s_sched, INT64_MAX);
    (void)sched_run_once(s_sched, 0, -1);
}

/* Dispatches a locally built envelope as if it had arrived. */
static void s_feed(dr_env_t *env, int from_agent)
{
    if (store_begin(s_sched->store) < 0)
        abort();
    s_dispatch(env, from_agent);
    s_pass();
}

static void s_baseline(void)
{
    dr_env_t env;
    Drover__Cluster c = DROVER__CLUSTER__INIT;
    Drover__ClusterCreate cc = DROVER__CLUSTER_CREATE__INIT;
    wire_env_init(&env, 1);
    c.name = FUZZ_CLUSTER;
    c.vm_size = "Standard_NC12";
    c.max_nodes = 0;
    cc.cluster = &c;
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_CREATE;
    env.cluster_create = &cc;
    s_feed(&env, 0);

    Drover__GpuInfo g[2];
    Drover__GpuInfo *gp[] = {&g[0], &g[1]};
    for (uint32_t i = 0; i < 2; i++) {
        drover__gpu_info__init(&g[i]);
        g[i].index = i;
        g[i].uuid = i ? "GPU-fuzz-1" : "GPU-fuzz-0";
        g[i].name = "Tesla K80";
        g[i].memory_total_mb = 12288;
        g[i].power_limit_mw = 150000;
        g[i].healthy = 1;
    }
    char *rts[] = {"process", "docker"};
    Drover__Register r = DROVER__REGISTER__INIT;
    r.node_name = FUZZ_NODE;
    r.cluster = FUZZ_CLUSTER;
    r.vm_size = "Standard_NC12";
    r.cpus = 12;
    r.memory_mb = 114688;
    r.n_gpus = 2;
    r.gpus = gp;
    r.n_runtimes = 2;
    r.runtimes = rts;
    wire_env_init(&env, 2);
    env.body_case = DROVER__ENVELOPE__BODY_REGISTER;
    env.register_ = &r;
    s_feed(&env, 1);
}

static void s_sched_up(void)
{
    const char *base = getenv("DROVER_FUZZ_DIR");
    if (!base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NULL;
    if (!base)
        base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(s_dir, sizeof s_dir, "%s/drover-fuzz-XXXXXX", base);
    if (!mkdtemp(s_dir)) {
        perror(s_dir);
        abort();
    }
    sched_opts_t o;
    config_defaults(&o);
    snprintf(o.state_dir, sizeof o.state_dir, "%s", s_dir);
    snprintf(o.client_endpoint, sizeof o.client_endpoint, "ipc://%s/c.sock",
             s_dir);
    snprintf(o.agent_endpoint, sizeof o.agent_endpoint, "ipc://%s/a.sock",
             s_dir);
    snprintf(o.agent_connect, sizeof o.agent_connect, "%s", o.agent_endpoint);
    snprintf(o.agent_bin, sizeof o.agent_bin, "/bin/false");
    o.resume_timeout_ms = 3600000;
#ifdef FUZZ_AUTH
    o.insecure = 1;
#endif
    s_sched = sched_new(&o);
    if (!s_sched) {
        fprintf(stderr, "fuzz_envelope: sched_new failed in %s\n", s_dir);
        abort();
    }
    s_baseline();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_level_t lvl = LOG_LVL_ERROR;
    const char *l = getenv("DROVER_FUZZ_LOG");
    if (l)
        (void)log_level_parse(l, &lvl);
    log_init("fuzz", lvl);
    const char *r = getenv("DROVER_FUZZ_RESET");
    if (r && atol(r) > 0)
        s_reset_every = atol(r);
    s_collect(&drover__envelope__descriptor);
    fprintf(stderr, "fuzz_envelope: %zu message types, reset every %ld\n",
            s_ndescs, s_reset_every);
    atexit(s_sched_down);
    return 0;
}

/* ---- the envelope -------------------------------------------------------- */

static void s_validate_cluster(const Drover__Cluster *c)
{
    char why[256];
    if (c)
        (void)api_cluster_validate(s_sched, c, why, sizeof why);
}

static void s_validate_job(const Drover__Job *j)
{
    char why[256];
    if (j)
        (void)api_job_validate(s_sched, j, why, sizeof why);
}

static void s_validate_gpus(Drover__GpuInfo *const *g, size_t n)
{
    gpu_list_t list;
    char why[256];
    (void)gpu_list_from_proto(g, n, &list, why, sizeof why);
}

/* The pure validators, on every Job, Cluster and GPU list in env. */
static void s_validators(const dr_env_t *env)
{
    switch (env->body_case) {
    case DROVER__ENVELOPE__BODY_CLUSTER_CREATE:
        s_validate_cluster(env->cluster_create->cluster);
        break;
    case DROVER__ENVELOPE__BODY_CLUSTER_INFO:
        s_validate_cluster(env->cluster_info);
        break;
    case DROVER__ENVELOPE__BODY_CLUSTER_LIST_REPLY:
        for (size_t i = 0; i < env->cluster_list_reply->n_clusters; i++)
            s_validate_cluster(env->cluster_list_reply->clusters[i]);
        break;
    case DROVER__ENVELOPE__BODY_JOB_SUBMIT:
        s_validate_job(env->job_submit->job);
        break;
    case DROVER__ENVELOPE__BODY_JOB_INFO:
        s_validate_job(env->job_info);
        break;
    case DROVER__ENVELOPE__BODY_JOB_LIST_REPLY:
        for (size_t i = 0; i < env->job_list_reply->n_jobs; i++)
            s_validate_job(env->job_list_reply->jobs[i]);
        break;
    case DROVER__ENVELOPE__BODY_REGISTER:
        s_validate_gpus(env->register_->gpus, env->register_->n_gpus);
        break;
    case DROVER__ENVELOPE__BODY_HEARTBEAT:
        s_validate_gpus(env->heartbeat->gpus, env->heartbeat->n_gpus);
        break;
    case DROVER__ENVELOPE__BODY_NODE_INFO:
        s_validate_gpus(env->node_info->gpus, env->node_info->n_gpus);
        break;
    default:
        break;
    }
}

/* What an input may not make the scheduler run: see the file comment. */
typedef struct {
    Drover__Cluster *c;
    char *resume, *suspend, *url;
} defang_t;

static void s_defang(dr_env_t *env, defang_t *d)
{
    memset(d, 0, sizeof *d);
    if (env->body_case != DROVER__ENVELOPE__BODY_CLUSTER_CREATE ||
        !env->cluster_create->cluster)
        return;
    Drover__Cluster *c = d->c = env->cluster_create->cluster;
    d->resume = c->resume_program;
    d->suspend = c->suspend_program;
    d->url = c->provider_url;
    if (c->resume_program && c->resume_program[0] == '/')
        c->resume_program = "/bin/true";
    if (c->suspend_program && c->suspend_program[0] == '/')
        c->suspend_program = "/bin/true";
    if (c->provider_url && (strncmp(c->provider_url, "http://", 7) == 0 ||
                            strncmp(c->provider_url, "https://", 8) == 0))
        c->provider_url = "http://127.0.0.1:9/";
}

static void s_restore(const defang_t *d)
{
    if (!d->c)
        return;
    d->c->resume_program = d->resume;
    d->c->suspend_program = d->suspend;
    d->c->provider_url = d->url;
}

static void s_envelope(const uint8_t *data, size_t size)
{
    dr_env_t *env = drover__envelope__unpack(NULL, size, data);
    if (!env)
        return;
    (void)wire_body_name((int)env->body_case);
    s_validators(env);
    /* as wire_recv: anything else is answered before any dispatch */
    if (env->version == DR_PROTO_VERSION &&
        env->body_case != DROVER__ENVELOPE__BODY__NOT_SET) {
        defang_t d;
        s_defang(env, &d);
        if (store_begin(s_sched->store) < 0)
            abort();
        s_dispatch(env, 0);
        s_dispatch(env, 1);
        s_pass();
        s_restore(&d);
    }
    wire_free(&env);
}

/* ---- text ---------------------------------------------------------------- */

static void s_texts(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    char err[256];

    catalog_t *cat = NULL;
    if (catalog_parse(text, &cat, err, sizeof err) == 0) {
        for (size_t i = 0; i < catalog_count(cat); i++)
            (void)catalog_find(cat, catalog_at(cat, i)->name);
    }
    catalog_destroy(&cat);

    gpu_list_t gl;
    if (gpu_inventory_parse(text, size, &gl, err, sizeof err) == 0) {
        char *json = gpu_inventory_to_json(&gl, "fuzz", NULL);
        gpu_list_t back;
        /* what we write we must read back */
        if (!json || gpu_inventory_parse(json, strlen(json), &back, err,
                                         sizeof err) < 0) {
            fprintf(stderr, "gpu inventory does not round-trip: %s\n", err);
            abort();
        }
        free(json);
    }

    sched_opts_t o;
    config_defaults(&o);
    (void)config_parse_text(text, &o, err, sizeof err);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (s_sched && s_inputs % s_reset_every == 0)
        s_sched_down();
    if (!s_sched)
        s_sched_up();
    s_inputs++;

    for (size_t i = 0; i < s_ndescs; i++) {
        ProtobufCMessage *m =
            protobuf_c_message_unpack(s_descs[i], NULL, size, data);
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
    }
    s_envelope(data, size);
    s_texts(data, size);
    return 0;
}
