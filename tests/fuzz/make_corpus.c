/* make_corpus.c - writes the seed corpus of fuzz_envelope into a directory.
 *
 * One valid packed Envelope per file for every body the scheduler reads
 * (client requests, agent messages) and a few it only sends, plus text
 * seeds for the catalog CSV, GPU inventory JSON and config parsers, which
 * the same fuzzer feeds every input to.  Built at build time so that no
 * binary seed is committed.  Names and values match the baseline state
 * fuzz_envelope sets up (cluster "c1", node "node-f"), so that seeds reach
 * past the "unknown cluster" checks.
 *
 *   make_corpus DIR
 */
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *s_dir;
static int s_failed;

static void s_write(const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: %s: %s\n", path, strerror(errno));
        s_failed = 1;
    }
}

static void s_env(const char *name, dr_env_t *env)
{
    size_t n = drover__envelope__get_packed_size(env);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        abort();
    drover__envelope__pack(env, buf);
    s_write(name, buf, n);
    free(buf);
}

static void s_text(const char *name, const char *text)
{
    s_write(name, text, strlen(text));
}

static void s_gpu(Drover__GpuInfo *g, uint32_t index, const char *uuid)
{
    drover__gpu_info__init(g);
    g->index = index;
    g->uuid = (char *)uuid;
    g->name = "Tesla K80";
    g->memory_total_mb = 12288;
    g->memory_used_mb = 10;
    g->utilization_gpu = 5;
    g->utilization_memory = 1;
    g->temperature_c = 40;
    g->power_mw = 50000;
    g->power_limit_mw = 150000;
    g->healthy = 1;
}

static void s_clusters(void)
{
    dr_env_t env;
    Drover__Cluster c = DROVER__CLUSTER__INIT;
    Drover__ClusterCreate cc = DROVER__CLUSTER_CREATE__INIT;
    wire_env_init(&env, 1);
    c.name = "c2";
    c.vm_size = "Standard_D2_v2";
    c.max_nodes = 2;
    c.idle_seconds_before_scaledown = 60;
    c.vm_priority = "dedicated";
    c.location = "westeurope";
    c.provider = "local";
    cc.cluster = &c;
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_CREATE;
    env.cluster_create = &cc;
    s_env("env-cluster-create-local", &env);
    c.name = "c3";
    c.vm_priority = "lowpriority";
    c.provider = "exec";
    c.resume_program = "/bin/true";
    c.suspend_program = "/bin/true";
    s_env("env-cluster-create-exec", &env);
    c.name = "c4";
    c.provider = "http";
    c.resume_program = NULL;
    c.suspend_program = NULL;
    c.provider_url = "http://127.0.0.1:9/nodes";
    s_env("env-cluster-create-http", &env);

    Drover__ClusterUpdate cu = DROVER__CLUSTER_UPDATE__INIT;
    cu.name = "c1";
    cu.min_nodes = 0;
    cu.max_nodes = 3;
    cu.idle_seconds_before_scaledown = 30;
    cu.set_mask = 7;
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_UPDATE;
    env.cluster_update = &cu;
    s_env("env-cluster-update", &env);

    Drover__ClusterRef ref = DROVER__CLUSTER_REF__INIT;
    ref.name = "c1";
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_SHOW;
    env.cluster_show = &ref;
    s_env("env-cluster-show", &env);
    ref.name = "c2";
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_DELETE;
    env.cluster_delete = &ref;
    s_env("env-cluster-delete", &env);

    Drover__ClusterListReq cl = DROVER__CLUSTER_LIST_REQ__INIT;
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_LIST;
    env.cluster_list = &cl;
    s_env("env-cluster-list", &env);

    Drover__ClusterLock lk = DROVER__CLUSTER_LOCK__INIT;
    lk.name = "c1";
    lk.locked = 1;
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_LOCK;
    env.cluster_lock = &lk;
    s_env("env-cluster-lock", &env);

    Drover__ClusterEventsReq ev = DROVER__CLUSTER_EVENTS_REQ__INIT;
    ev.name = "c1";
    ev.limit = 10;
    env.body_case = DROVER__ENVELOPE__BODY_CLUSTER_EVENTS;
    env.cluster_events = &ev;
    s_env("env-cluster-events", &env);
}

static void s_jobs(void)
{
    dr_env_t env;
    wire_env_init(&env, 2);
    Drover__Job j = DROVER__JOB__INIT;
    Drover__JobSubmit js = DROVER__JOB_SUBMIT__INIT;
    char *argv[] = {"sh", "-c", "echo hi"};
    Drover__KeyValue kv = DROVER__KEY_VALUE__INIT;
    Drover__KeyValue *kvs[] = {&kv};
    kv.key = "FOO";
    kv.value = "bar";
    j.name = "seed";
    j.cluster = "c1";
    j.n_argv = 3;
    j.argv = argv;
    j.n_env = 1;
    j.env = kvs;
    j.cpus = 1;
    j.memory_mb = 512;
    j.nodes = 1;
    j.procs_per_node = 1;
    j.priority = 5;
    j.max_retries = 2;
    j.time_limit_s = 60;
    js.job = &j;
    env.body_case = DROVER__ENVELOPE__BODY_JOB_SUBMIT;
    env.job_submit = &js;
    s_env("env-job-submit", &env);
    j.gpus = 1;
    s_env("env-job-submit-gpu", &env);
    j.gpus = 0;
    j.image = "busybox:latest";
    s_env("env-job-submit-image", &env);

    Drover__JobRef ref = DROVER__JOB_REF__INIT;
    ref.id = 1;
    env.body_case = DROVER__ENVELOPE__BODY_JOB_SHOW;
    env.job_show = &ref;
    s_env("env-job-show", &env);
    env.body_case = DROVER__ENVELOPE__BODY_JOB_CANCEL;
    env.job_cancel = &ref;
    s_env("env-job-cancel", &env);

    Drover__JobListReq jl = DROVER__JOB_LIST_REQ__INIT;
    jl.cluster = "c1";
    jl.state = "running";
    jl.limit = 10;
    env.body_case = DROVER__ENVELOPE__BODY_JOB_LIST;
    env.job_list = &jl;
    s_env("env-job-list", &env);

    Drover__JobLogsReq lg = DROVER__JOB_LOGS_REQ__INIT;
    lg.id = 1;
    lg.max_bytes = 100;
    env.body_case = DROVER__ENVELOPE__BODY_JOB_LOGS;
    env.job_logs = &lg;
    s_env("env-job-logs", &env);
}

static void s_nodes_quotas(void)
{
    dr_env_t env;
    wire_env_init(&env, 3);
    Drover__NodeListReq nl = DROVER__NODE_LIST_REQ__INIT;
    nl.cluster = "c1";
    env.body_case = DROVER__ENVELOPE__BODY_NODE_LIST;
    env.node_list = &nl;
    s_env("env-node-list", &env);

    Drover__NodeRef nr = DROVER__NODE_REF__INIT;
    nr.name = "node-f";
    env.body_case = DROVER__ENVELOPE__BODY_NODE_SHOW;
    env.node_show = &nr;
    s_env("env-node-show", &env);
    env.body_case = DROVER__ENVELOPE__BODY_NODE_PREEMPT;
    env.node_preempt = &nr;
    s_env("env-node-preempt", &env);

    Drover__QuotaSet qs = DROVER__QUOTA_SET__INIT;
    qs.family = "standardNCFamily";
    qs.cores = 24;
    qs.vm_priority = "lowpriority";
    env.body_case = DROVER__ENVELOPE__BODY_QUOTA_SET;
    env.quota_set = &qs;
    s_env("env-quota-set", &env);

    Drover__QuotaListReq ql = DROVER__QUOTA_LIST_REQ__INIT;
    env.body_case = DROVER__ENVELOPE__BODY_QUOTA_LIST;
    env.quota_list = &ql;
    s_env("env-quota-list", &env);
}

static void s_agent(void)
{
    dr_env_t env;
    wire_env_init(&env, 4);
    Drover__GpuInfo g[2];
    Drover__GpuInfo *gp[] = {&g[0], &g[1]};
    s_gpu(&g[0], 0, "GPU-00000000-0000-0000-0000-000000000000");
    s_gpu(&g[1], 1, "GPU-11111111-1111-1111-1111-111111111111");
    Drover__TaskReport tr = DROVER__TASK_REPORT__INIT;
    Drover__TaskReport *trs[] = {&tr};
    tr.job_id = 1;
    tr.attempt = 1;
    tr.state = DROVER__TASK_STATE__TASK_RUNNING;
    tr.started_at_ms = 1700000000000;
    char *rts[] = {"process", "docker"};

    Drover__Register r = DROVER__REGISTER__INIT;
    r.node_name = "node-f";
    r.cluster = "c1";
    r.vm_size = "Standard_NC12";
    r.cpus = 12;
    r.memory_mb = 114688;
    r.n_gpus = 2;
    r.gpus = gp;
    r.n_tasks = 1;
    r.tasks = trs;
    r.agent_version = "0.1.0";
    r.n_runtimes = 2;
    r.runtimes = rts;
    r.pid = 0;
    env.body_case = DROVER__ENVELOPE__BODY_REGISTER;
    env.register_ = &r;
    s_env("env-register", &env);

    Drover__Heartbeat hb = DROVER__HEARTBEAT__INIT;
    hb.running_tasks = 1;
    hb.cpu_load_milli = 1500;
    hb.memory_used_mb = 2048;
    hb.n_gpus = 2;
    hb.gpus = gp;
    hb.seq = 7;
    env.body_case = DROVER__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    s_env("env-heartbeat", &env);

    Drover__TaskUpdate tu = DROVER__TASK_UPDATE__INIT;
    tu.report = &tr;
    env.body_case = DROVER__ENVELOPE__BODY_TASK_UPDATE;
    env.task_update = &tu;
    s_env("env-task-update-running", &env);
    tr.state = DROVER__TASK_STATE__TASK_EXITED;
    tr.exit_code = 3;
    tr.reason = "exited";
    tr.ended_at_ms = 1700000001000;
    s_env("env-task-update-exited", &env);

    Drover__TaskOutput to = DROVER__TASK_OUTPUT__INIT;
    to.job_id = 1;
    to.attempt = 1;
    to.stream = DROVER__STREAM__STREAM_STDERR;
    to.data.data = (uint8_t *)"hello\n";
    to.data.len = 6;
    to.offset = 0;
    env.body_case = DROVER__ENVELOPE__BODY_TASK_OUTPUT;
    env.task_output = &to;
    s_env("env-task-output", &env);

    Drover__NodePreempted np = DROVER__NODE_PREEMPTED__INIT;
    np.reason = "Preempt";
    np.event_id = "ev-1";
    env.body_case = DROVER__ENVELOPE__BODY_NODE_PREEMPTED;
    env.node_preempted = &np;
    s_env("env-node-preempted", &env);

    Drover__MpiLaunch ml = DROVER__MPI_LAUNCH__INIT;
    ml.job_id = 1;
    ml.attempt = 1;
    ml.launch_id = 1;
    ml.node = "node-g";
    ml.command = "orted -mca ess \"env\" -mca ess_base_jobid \"1\"";
    env.body_case = DROVER__ENVELOPE__BODY_MPI_LAUNCH;
    env.mpi_launch = &ml;
    s_env("env-mpi-launch", &env);

    Drover__MpiLaunchIo io = DROVER__MPI_LAUNCH_IO__INIT;
    io.job_id = 1;
    io.attempt = 1;
    io.launch_id = 1;
    io.node = "node-g";
    io.stream = DROVER__STREAM__STREAM_STDERR;
    io.data.data = (uint8_t *)"orted: up\n";
    io.data.len = 10;
    env.body_case = DROVER__ENVELOPE__BODY_MPI_LAUNCH_IO;
    env.mpi_launch_io = &io;
    s_env("env-mpi-launch-io", &env);
    io.data.len = 0;
    io.exited = 1;
    io.exit_code = 255;
    io.error = "node node-g: no MPI task";
    s_env("env-mpi-launch-io-exit", &env);
}

/* Bodies the scheduler only sends: the dispatchers must refuse them. */
static void s_replies(void)
{
    dr_env_t env;
    wire_env_init(&env, 5);
    Drover__Error e = DROVER__ERROR__INIT;
    e.code = -2;
    e.message = "no";
    env.body_case = DROVER__ENVELOPE__BODY_ERROR;
    env.error = &e;
    s_env("env-error", &env);

    Drover__TaskStart ts = DROVER__TASK_START__INIT;
    char *argv[] = {"true"};
    uint32_t idx[] = {0, 1};
    ts.job_id = 1;
    ts.attempt = 1;
    ts.n_argv = 1;
    ts.argv = argv;
    ts.cpus = 1;
    ts.n_gpu_indices = 2;
    ts.gpu_indices = idx;
    env.body_case = DROVER__ENVELOPE__BODY_TASK_START;
    env.task_start = &ts;
    s_env("env-task-start", &env);

    Drover__Job j = DROVER__JOB__INIT;
    j.id = 1;
    j.cluster = "c1";
    j.state = "running";
    j.n_argv = 1;
    j.argv = argv;
    env.body_case = DROVER__ENVELOPE__BODY_JOB_INFO;
    env.job_info = &j;
    s_env("env-job-info", &env);

    env.version = 2; /* another version: refused before dispatch */
    env.body_case = DROVER__ENVELOPE__BODY_ERROR;
    env.error = &e;
    s_env("env-version-2", &env);
}

static void s_texts(void)
{
    s_text("text-catalog.csv",
           "# name,vcpus,memory_gb,gpus,gpu_model,gpu_memory_gb,family\n"
           "Standard_D2_v2,2,7,0,,0,standardDv2Family\n"
           "Standard_NC12,12,112,2,Tesla K80,12,standardNCFamily\n");
    s_text("text-gpus.json",
           "{\"gpus\": [{\"index\": 0, \"uuid\": \"GPU-0\", \"name\": "
           "\"Tesla K80\", \"memory_total_mb\": 12288, \"memory_used_mb\": 0, "
           "\"utilization_gpu\": 0, \"utilization_memory\": 0, "
           "\"temperature_c\": 40, \"power_mw\": 50000, \"power_limit_mw\": "
           "150000, \"ecc_uncorrected\": 0, \"healthy\": true, "
           "\"health_reason\": \"\"}], \"source\": \"file\", \"reason\": "
           "\"\"}");
    s_text("text-config.conf", "# scheduler\n"
                               "heartbeat_interval = 5s\n"
                               "heartbeat_timeout = 30s\n"
                               "start_timeout = 500ms\n"
                               "log_level = warn\n"
                               "vm_catalog = /etc/drover/vm.csv\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    s_dir = argv[1];
    if (mkdir(s_dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "make_corpus: %s: %s\n", s_dir, strerror(errno));
        return 1;
    }
    s_clusters();
    s_jobs();
    s_nodes_quotas();
    s_agent();
    s_replies();
    s_texts();
    return s_failed;
}
