/* check_cli_output.c - unit tests of how the drover CLI shows replies:
 * the JSON objects (fixed names that scripts and jq rely on) and the
 * tables and "key: value" lines of each view (scheduler/cli/cli_output.c,
 * cli_view.c), byte for byte.
 */
#include "cli_test.h"

#include <inttypes.h>
#include <unistd.h>

/* ---- rendering
 * ------------------------------------------------------------------ */

static char *s_nodes2[] = {"c-1", "c-2"};
static char *s_argv3[] = {"python", "train.py", "--lr=0.1 it's"};

static void s_fill_job(Drover__Job *j)
{
    drover__job__init(j);
    j->id = 12;
    j->name = "train";
    j->cluster = "c1";
    j->state = "failed";
    j->exit_code = 3;
    j->attempts = 2;
    j->node_names = s_nodes2;
    j->n_node_names = 2;
    j->reason = "exit status 3";
    j->cpus = 2;
    j->memory_mb = 2048;
    j->nodes = 2;
    j->gpus = 1;
    j->priority = -1;
    j->max_retries = 3;
    j->time_limit_s = 1800;
    j->argv = s_argv3;
    j->n_argv = 3;
    j->submitted_at_ms = 1700000000000;
    j->started_at_ms = 1700000001000;
    j->ended_at_ms = 0;
}

START_TEST(test_job_json)
{
    Drover__Job j;
    s_fill_job(&j);
    dr_buf_t b = {0};
    cli_json_render(&b, cli_job_json(&j));
    ck_assert_ptr_nonnull(strstr(b.data, "\n  \"id\": 12,\n"));
    json_error_t err;
    json_t *o = json_loads(b.data, 0, &err);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "id")), 12);
    ck_assert_str_eq(json_string_value(json_object_get(o, "name")), "train");
    ck_assert_str_eq(json_string_value(json_object_get(o, "cluster")), "c1");
    ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "failed");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "exit_code")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 2);
    json_t *nodes = json_object_get(o, "nodes");
    ck_assert(json_is_array(nodes));
    ck_assert_str_eq(json_string_value(json_array_get(nodes, 1)), "c-2");
    ck_assert_str_eq(json_string_value(json_object_get(o, "reason")),
                     "exit status 3");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "memory_mb")), 2048);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "node_count")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "priority")), -1);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "time_limit_s")),
                     1800);
    ck_assert_str_eq(json_string_value(json_object_get(o, "image")), "");
    json_t *cmd = json_object_get(o, "command");
    ck_assert_int_eq(json_array_size(cmd), 3);
    ck_assert_str_eq(json_string_value(json_array_get(cmd, 2)),
                     "--lr=0.1 it's");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "submitted_at")),
                     1700000000000LL);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "ended_at")), 0);
    const char *keys[] = {"cpus", "gpus", "max_retries", "started_at"};
    for (size_t i = 0; i < 4; i++)
        ck_assert(json_is_integer(json_object_get(o, keys[i])));
    ck_assert_int_eq(json_array_size(json_object_get(o, "gpu_indices")), 0);
    ck_assert_int_eq(json_array_size(json_object_get(o, "gpu_uuids")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "preemptions")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "distribution")), "");
    ck_assert_str_eq(json_string_value(json_object_get(o, "head_node")), "");
    ck_assert(json_is_integer(json_object_get(o, "procs_per_node")));
    ck_assert(json_is_integer(json_object_get(o, "worker_count")));
    ck_assert(json_is_integer(json_object_get(o, "parameter_server_count")));
    /* the environment (values redacted by the scheduler for other users)
     * and the owner */
    ck_assert(json_is_array(json_object_get(o, "env")));
    ck_assert(json_is_string(json_object_get(o, "owner")));
    /* issue 18: not queued, or unknown: null */
    ck_assert(json_is_null(json_object_get(o, "predicted_start")));
    /* issue 16: the code's size and the named outputs */
    ck_assert(json_is_integer(json_object_get(o, "code_size")));
    ck_assert(json_is_array(json_object_get(o, "outputs")));
    /* issue 17: the limit in ms beside it (0 here: only _s was set) */
    ck_assert(json_is_integer(json_object_get(o, "time_limit_ms")));
    /* with worker_count, parameter_server_count and the array fields */
    ck_assert_int_eq(json_object_size(o), 37);
    json_decref(o);
    dr_buf_free(&b);
}
END_TEST

/* Issue 18: a queued job's predicted start, in JSON and in `job show`. */
START_TEST(test_job_predicted)
{
    Drover__Job j;
    s_fill_job(&j);
    j.state = "queued";
    j.predicted_start_ms = dr_now_ms() + 600500;
    json_t *o = cli_job_json(&j);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "predicted_start")),
                     j.predicted_start_ms);
    json_decref(o);
    dr_buf_t b = {0};
    cli_render_job_show(&b, &j);
    ck_assert_ptr_nonnull(strstr(b.data, "Predicted start: 20"));
    ck_assert_ptr_nonnull(strstr(b.data, "(in 10m00s)"));
    b.len = 0;
    j.predicted_start_ms = 0;
    cli_render_job_show(&b, &j);
    ck_assert_ptr_nonnull(strstr(b.data, "Predicted start: unknown\n"));
    /* only a queued job has the line */
    b.len = 0;
    j.state = "running";
    cli_render_job_show(&b, &j);
    ck_assert_ptr_null(strstr(b.data, "Predicted start"));
    dr_buf_free(&b);
}
END_TEST

/* Issue 4/6 fields of a job: the GPUs it holds and its preemptions. */
START_TEST(test_job_gpus)
{
    Drover__Job j;
    s_fill_job(&j);
    uint32_t idx[] = {1, 3};
    char *uuids[] = {"GPU-aaaa", "GPU-bbbb"};
    j.gpus = 2;
    j.gpu_indices = idx;
    j.n_gpu_indices = 2;
    j.gpu_uuids = uuids;
    j.n_gpu_uuids = 2;
    j.preemptions = 4;
    dr_buf_t b = {0};
    cli_json_render(&b, cli_job_json(&j));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    json_t *gi = json_object_get(o, "gpu_indices");
    ck_assert_int_eq(json_array_size(gi), 2);
    ck_assert_int_eq(json_integer_value(json_array_get(gi, 1)), 3);
    json_t *gu = json_object_get(o, "gpu_uuids");
    ck_assert_str_eq(json_string_value(json_array_get(gu, 0)), "GPU-aaaa");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "preemptions")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "gpus")), 2);
    json_decref(o);

    b.len = 0;
    cli_render_job_show(&b, &j);
    ck_assert_ptr_nonnull(
        strstr(b.data, "\ngpus: 2 (1=GPU-aaaa, 3=GPU-bbbb)\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "\npreemptions: 4\n"));

    /* indices without uuids (an agent without NVML): just the indices */
    j.n_gpu_uuids = 0;
    b.len = 0;
    cli_render_job_show(&b, &j);
    ck_assert_ptr_nonnull(strstr(b.data, "\ngpus: 2 (1, 3)\n"));
    /* nothing assigned: the count alone */
    j.n_gpu_indices = 0;
    j.preemptions = 0;
    b.len = 0;
    cli_render_job_show(&b, &j);
    ck_assert_ptr_nonnull(strstr(b.data, "\ngpus: 2\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "\npreemptions: 0\n"));
    dr_buf_free(&b);
}
END_TEST

START_TEST(test_cluster_json)
{
    Drover__Cluster c;
    drover__cluster__init(&c);
    char *errs[] = {"quota exceeded", "provider down"};
    c.name = "c1";
    c.vm_size = "Standard_D4";
    c.min_nodes = 1;
    c.max_nodes = 4;
    c.current_nodes = 2;
    c.target_nodes = 3;
    c.allocation_state = "resizing";
    c.vm_priority = "dedicated";
    c.location = "local";
    c.provider = "local";
    c.idle_seconds_before_scaledown = 120;
    c.errors = errs;
    c.n_errors = 2;
    c.running_nodes = 2;
    c.preparing_nodes = 1;
    dr_buf_t b = {0};
    cli_json_render(&b, cli_cluster_json(&c));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "name")), "c1");
    ck_assert_str_eq(json_string_value(json_object_get(o, "allocation_state")),
                     "resizing");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "target_nodes")), 3);
    ck_assert_int_eq(
        json_integer_value(json_object_get(o, "idle_seconds_before_scaledown")),
        120);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "preparing_nodes")),
                     1);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "leaving_nodes")),
                     0);
    json_t *e = json_object_get(o, "errors");
    ck_assert_int_eq(json_array_size(e), 2);
    ck_assert_str_eq(json_string_value(json_array_get(e, 1)), "provider down");
    ck_assert(json_is_false(json_object_get(o, "locked")));
    ck_assert_str_eq(json_string_value(json_object_get(o, "wait_reason")), "");
    ck_assert_str_eq(json_string_value(json_object_get(o, "provider_url")), "");
    ck_assert_int_eq(json_object_size(o), 26);
    json_decref(o);

    b.len = 0;
    cli_render_cluster_show(&b, &c);
    ck_assert_ptr_nonnull(strstr(b.data, "name: c1\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "allocation_state: resizing\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "preparing_nodes: 1\n"));
    ck_assert_ptr_nonnull(
        strstr(b.data, "error: quota exceeded\nerror: provider down\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "\nlocked: no\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "\nvm_family: -\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "\npreempted_nodes: 0\n"));
    ck_assert_ptr_null(strstr(b.data, "wait_reason"));
    ck_assert_ptr_null(strstr(b.data, "resume_program"));
    ck_assert_ptr_null(strstr(b.data, "provider_url"));

    b.len = 0;
    Drover__Cluster *list[] = {&c};
    cli_render_clusters(&b, list, 1);
    ck_assert_str_eq(b.data, "NAME  VM_SIZE      MIN  MAX  CURRENT  TARGET  "
                             "STATE     PRIORITY   LOCATION\n"
                             "c1    Standard_D4  1    4    2        3       "
                             "resizing  dedicated  local\n");
    dr_buf_free(&b);
}
END_TEST

START_TEST(test_tables)
{
    Drover__Job j1, j2;
    s_fill_job(&j1);
    drover__job__init(&j2);
    j2.id = 7;
    j2.cluster = "gpu";
    j2.state = "queued";
    j2.submitted_at_ms = 1700000000000 + 3000;
    Drover__Job *jobs[] = {&j1, &j2};
    dr_buf_t b = {0};
    cli_render_jobs(&b, jobs, 2, 1700000000000 + 10 * 60 * 1000);
    ck_assert_str_eq(
        b.data,
        "ID  NAME   USER  CLUSTER  STATE   EXIT  ATTEMPTS  NODES    AGE  "
        "REASON\n"
        "12  train  -     c1       failed  3     2         c-1,c-2  10m  exit "
        "status 3\n"
        "7   -      -     gpu      queued  -     0         -        9m   -\n");
    /* control characters from the scheduler never reach the terminal as
     * they are: no forged row, no escape sequence */
    b.len = 0;
    j2.name = "x\n99  evil\x1b[2K";
    cli_render_jobs(&b, jobs, 2, 1700000000000 + 10 * 60 * 1000);
    ck_assert_ptr_nonnull(strstr(b.data, "x\\x0a99  evil\\x1b[2K"));
    ck_assert_ptr_null(strchr(b.data, '\x1b'));
    int lines = 0;
    for (const char *p = b.data; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 3);
    j2.name = NULL;
    b.len = 0;
    cli_render_job_show(&b, &j1);
    ck_assert_ptr_nonnull(strstr(b.data, "id: 12\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "exit_code: 3\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "reason: exit status 3\n"));
    ck_assert_ptr_nonnull(
        strstr(b.data, "command: python train.py '--lr=0.1 it'\\''s'\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "submitted: 2023-11-14T22:13:20Z\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "started: 2023-11-14T22:13:21Z\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "ended: -\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "time_limit_s: 1800\n"));
    ck_assert_ptr_null(strstr(b.data, "time_limit_ms")); /* whole seconds */
    j1.time_limit_s = 1;
    j1.time_limit_ms = 300;
    b.len = 0;
    cli_render_job_show(&b, &j1);
    ck_assert_ptr_nonnull(
        strstr(b.data, "time_limit_s: 1\ntime_limit_ms: 300\n"));

    Drover__Node n;
    drover__node__init(&n);
    n.name = "c1-0";
    n.cluster = "c1";
    n.state = "running";
    n.cpus = 8;
    n.cpus_used = 2;
    n.memory_mb = 16384;
    n.memory_used_mb = 1024;
    n.tasks = 1;
    Drover__Node *ns[] = {&n};
    b.len = 0;
    cli_render_nodes(&b, ns, 1);
    ck_assert_str_eq(
        b.data,
        "NAME  CLUSTER  STATE    CPUS  MEMORY_MB   GPUS  RUNTIMES  TASKS\n"
        "c1-0  c1       running  2/8   1024/16384  -     -         1\n");
    b.len = 0;
    cli_json_render(&b, cli_node_json(&n));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert(json_is_array(json_object_get(o, "gpus")));
    ck_assert_int_eq(json_array_size(json_object_get(o, "runtimes")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "reason")), "");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "cpus_used")), 2);
    json_decref(o);
    dr_buf_free(&b);

    char age[16];
    cli_fmt_age(age, sizeof age, 100000, 95000);
    ck_assert_str_eq(age, "5s");
    cli_fmt_age(age, sizeof age, 3LL * 86400 * 1000 + 1, 1);
    ck_assert_str_eq(age, "3d");
    cli_fmt_age(age, sizeof age, 5, 0);
    ck_assert_str_eq(age, "-");
}
END_TEST

/* A node with two V100s (one unhealthy) and both runtimes. */
static Drover__GpuInfo s_g0, s_g1;
static Drover__GpuInfo *s_gpus2[] = {&s_g0, &s_g1};

START_TEST(test_node_gpus)
{
    Drover__Node n;
    cli_test_gpu_node(&n, s_gpus2);
    Drover__Node *ns[] = {&n};
    dr_buf_t b = {0};
    cli_render_nodes(&b, ns, 1);
    ck_assert_str_eq(b.data,
                     "NAME  CLUSTER  STATE  CPUS  MEMORY_MB  GPUS            "
                     "                  RUNTIMES        TASKS\n"
                     "g-0   gpu      idle   0/8   0/65536    2 V100-PCIE-16GB "
                     "(1 healthy) 14%  process,docker  0\n");

    /* the GPU cell: mixed models, vendor prefixes, rounding */
    b.len = 0;
    cli_fmt_gpus(&b, NULL, 0);
    ck_assert_str_eq(b.data, "-");
    s_g1.name = "NVIDIA A100-SXM4-80GB";
    s_g1.utilization_gpu = 13;
    b.len = 0;
    cli_fmt_gpus(&b, s_gpus2, 2);
    ck_assert_str_eq(b.data, "2 mixed (1 healthy) 13%");
    s_g0.name = "NVIDIA GeForce RTX 3090";
    b.len = 0;
    cli_fmt_gpus(&b, s_gpus2, 1);
    ck_assert_str_eq(b.data, "1 RTX 3090 (1 healthy) 12%");
    s_g0.name = "";
    b.len = 0;
    cli_fmt_gpus(&b, s_gpus2, 1);
    ck_assert_str_eq(b.data, "1 ? (1 healthy) 12%");

    cli_test_gpu_node(&n, s_gpus2);
    b.len = 0;
    cli_render_node_show(&b, &n);
    ck_assert_str_eq(
        b.data,
        "name: g-0\n"
        "cluster: gpu\n"
        "state: idle\n"
        "reason: 1 GPU unhealthy\n"
        "vm_size: Standard_NC12\n"
        "cpus: 8\n"
        "cpus_used: 0\n"
        "memory_mb: 65536\n"
        "memory_used_mb: 0\n"
        "tasks: 0\n"
        "runtimes: process,docker\n"
        "gpus: 2 V100-PCIE-16GB (1 healthy) 14%\n"
        "last_seen: 2023-11-14T22:13:20Z\n"
        "created: 2023-11-14T22:12:20Z\n"
        "gpu 0: GPU-0000 Tesla V100-PCIE-16GB 16384 MB, used 1200 MB, util "
        "12%/3%, 45 C, 60/250 W, ecc 0, healthy\n"
        "gpu 1: GPU-1111 Tesla V100-PCIE-16GB 16384 MB, used 1200 MB, util "
        "15%/3%, 45 C, 60/250 W, ecc 7, unhealthy\n");

    b.len = 0;
    cli_json_render(&b, cli_node_json(&n));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "reason")),
                     "1 GPU unhealthy");
    json_t *rts = json_object_get(o, "runtimes");
    ck_assert_int_eq(json_array_size(rts), 2);
    ck_assert_str_eq(json_string_value(json_array_get(rts, 1)), "docker");
    json_t *gpus = json_object_get(o, "gpus");
    ck_assert_int_eq(json_array_size(gpus), 2);
    json_t *g = json_array_get(gpus, 1);
    ck_assert_int_eq(json_object_size(g), 12);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "index")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(g, "uuid")), "GPU-1111");
    ck_assert_str_eq(json_string_value(json_object_get(g, "name")),
                     "Tesla V100-PCIE-16GB");
    ck_assert_int_eq(json_integer_value(json_object_get(g, "memory_total_mb")),
                     16384);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "memory_used_mb")),
                     1200);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "utilization_gpu")),
                     15);
    ck_assert_int_eq(
        json_integer_value(json_object_get(g, "utilization_memory")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "temperature_c")),
                     45);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "power_mw")), 60000);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "power_limit_mw")),
                     250000);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "ecc_uncorrected")),
                     7);
    ck_assert(json_is_false(json_object_get(g, "healthy")));
    ck_assert(
        json_is_true(json_object_get(json_array_get(gpus, 0), "healthy")));
    ck_assert_int_eq(json_integer_value(json_object_get(o, "last_seen_at")),
                     1700000000000LL);
    json_decref(o);
    dr_buf_free(&b);
}
END_TEST

START_TEST(test_cluster_new_fields)
{
    Drover__Cluster c;
    drover__cluster__init(&c);
    c.name = "ex";
    c.vm_size = "S";
    c.provider = "exec";
    c.resume_program = "/opt/resume.sh";
    c.suspend_program = "/opt/suspend.sh";
    c.locked = 1;
    c.vm_family = "standardDv2Family";
    c.preempted_nodes = 2;
    c.unusable_nodes = 1;
    c.wait_reason = "quota standardDv2Family: 8 of 8 dedicated cores in use";
    dr_buf_t b = {0};
    cli_render_cluster_show(&b, &c);
    ck_assert_ptr_nonnull(strstr(b.data, "provider: exec\n"
                                         "resume_program: /opt/resume.sh\n"
                                         "suspend_program: /opt/suspend.sh\n"
                                         "vm_family: standardDv2Family\n"
                                         "locked: yes\n"));
    ck_assert_ptr_nonnull(strstr(b.data,
                                 "\npreempted_nodes: 2\n"
                                 "unusable_nodes: 1\n"
                                 "wait_reason: quota standardDv2Family: "
                                 "8 of 8 dedicated cores in use\n"));
    ck_assert_ptr_null(strstr(b.data, "provider_url"));
    b.len = 0;
    cli_json_render(&b, cli_cluster_json(&c));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert(json_is_true(json_object_get(o, "locked")));
    ck_assert_str_eq(json_string_value(json_object_get(o, "vm_family")),
                     "standardDv2Family");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "preempted_nodes")),
                     2);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "unusable_nodes")),
                     1);
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(o, "wait_reason")), "8 of 8"));
    ck_assert_str_eq(json_string_value(json_object_get(o, "resume_program")),
                     "/opt/resume.sh");
    ck_assert_str_eq(json_string_value(json_object_get(o, "suspend_program")),
                     "/opt/suspend.sh");
    ck_assert_str_eq(json_string_value(json_object_get(o, "provider_url")), "");
    json_decref(o);

    c.provider = "http";
    c.resume_program = c.suspend_program = "";
    c.provider_url = "https://prov.example/api";
    c.locked = 0;
    b.len = 0;
    cli_render_cluster_show(&b, &c);
    ck_assert_ptr_nonnull(strstr(b.data,
                                 "provider: http\n"
                                 "provider_url: https://prov.example/api\n"
                                 "vm_family: standardDv2Family\n"
                                 "locked: no\n"));
    dr_buf_free(&b);
}
END_TEST

START_TEST(test_quota_render)
{
    Drover__Quota q1, q2;
    drover__quota__init(&q1);
    drover__quota__init(&q2);
    q1.family = "standardDv2Family";
    q1.dedicated_cores = 16;
    q1.dedicated_used = 4;
    q1.lowpriority_cores = -1;
    q1.lowpriority_used = 2;
    q2.family = "standardNCFamily";
    q2.dedicated_cores = -1;
    q2.lowpriority_cores = 0;
    Drover__Quota q3;
    drover__quota__init(&q3);
    q3.location = "westus";
    q3.family = "";
    q3.total = 1;
    q3.dedicated_cores = 24;
    q3.dedicated_used = 24;
    q3.lowpriority_cores = -1;
    Drover__Quota *qs[] = {&q1, &q2, &q3};
    dr_buf_t b = {0};
    cli_render_quotas(&b, qs, 3);
    ck_assert_str_eq(b.data,
                     "LOCATION  FAMILY             DEDICATED    LOWPRIORITY\n"
                     "(all)     standardDv2Family  4/16         2/unlimited\n"
                     "(all)     standardNCFamily   0/unlimited  0/0\n"
                     "westus    (total)            24/24        0/unlimited\n");
    b.len = 0;
    cli_render_quotas(&b, NULL, 0);
    ck_assert_str_eq(b.data, "LOCATION  FAMILY  DEDICATED  LOWPRIORITY\n");
    b.len = 0;
    cli_json_render(&b, cli_quota_json(&q1));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(json_object_size(o), 7); /* with location, total */
    ck_assert_str_eq(json_string_value(json_object_get(o, "family")),
                     "standardDv2Family");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "dedicated_cores")),
                     16);
    ck_assert_int_eq(
        json_integer_value(json_object_get(o, "lowpriority_cores")), -1);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "dedicated_used")),
                     4);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "lowpriority_used")),
                     2);
    json_decref(o);
    dr_buf_free(&b);
}
END_TEST

START_TEST(test_event_render)
{
    Drover__Event e1, e2;
    drover__event__init(&e1);
    drover__event__init(&e2);
    e1.ts_ms = 1700000000000;
    e1.kind = "scale_out";
    e1.cluster = "c1";
    e1.message = "target 0 -> 2";
    e2.ts_ms = 1700000061000;
    e2.kind = "node_preempted";
    e2.cluster = "c1";
    e2.node = "c1-0";
    e2.job_id = 12;
    e2.message = "Preempt event";
    Drover__Event *es[] = {&e1, &e2};
    dr_buf_t b = {0};
    cli_render_events(&b, es, 2);
    ck_assert_str_eq(
        b.data,
        "TIME                  KIND            NODE  JOB  MESSAGE\n"
        "2023-11-14T22:13:20Z  scale_out       -     -    target 0 -> 2\n"
        "2023-11-14T22:14:21Z  node_preempted  c1-0  12   Preempt event\n");
    b.len = 0;
    cli_json_render(&b, cli_event_json(&e2));
    json_t *o = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(json_object_size(o), 6);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "ts")),
                     1700000061000LL);
    ck_assert_str_eq(json_string_value(json_object_get(o, "kind")),
                     "node_preempted");
    ck_assert_str_eq(json_string_value(json_object_get(o, "cluster")), "c1");
    ck_assert_str_eq(json_string_value(json_object_get(o, "node")), "c1-0");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "job_id")), 12);
    ck_assert_str_eq(json_string_value(json_object_get(o, "message")),
                     "Preempt event");
    json_decref(o);
    dr_buf_free(&b);
}
END_TEST

/* -o yaml: a job written as a file and read back gives the same request,
 * whatever its strings hold. */
START_TEST(test_yaml_out)
{
    static char *argv[] = {"/bin/sh", "-c",
                           "echo \"a: b # c\" 'd'\\\n\tsecond line\x01"};
    Drover__KeyValue kv[3] = {DROVER__KEY_VALUE__INIT, DROVER__KEY_VALUE__INIT,
                              DROVER__KEY_VALUE__INIT};
    Drover__KeyValue *kvp[3] = {&kv[0], &kv[1], &kv[2]};
    kv[0].key = "ODD";
    kv[0].value = "*star, [seq], {map}: \"q\" \\ '";
    kv[1].key = "EMPTY";
    kv[1].value = "";
    kv[2].key = "DROVER_TAG_TEAM";
    kv[2].value = "ml";
    Drover__Job j = DROVER__JOB__INIT;
    j.id = 7;
    j.name = "odd-job";
    j.cluster = "c1";
    j.argv = argv;
    j.n_argv = 3;
    j.env = kvp;
    j.n_env = 3;
    j.image = "busybox:latest";
    j.nodes = 2;
    j.distribution = "tensorflow";
    j.worker_count = 3;
    j.parameter_server_count = 1;
    j.time_limit_s = 90;
    j.cpus = 4;
    dr_buf_t b = {0};
    cli_yaml_out_job(&b, &j);
    dr_buf_append(&b, "", 1);
    ck_assert_ptr_nonnull(strstr(b.data, "# not carried"));
    ck_assert_ptr_nonnull(strstr(b.data, ": cpus 4\n"));
    char path[] = "/tmp/check_cli_yaml_out.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, b.data, b.len - 1), (ssize_t)(b.len - 1));
    close(fd);
    cli_ctx_t ctx;
    cli_ctx_init(&ctx);
    cli_yaml_t *y = cli_yaml_load(&ctx, path);
    ck_assert_msg(y != NULL, "%s: %s", b.data, ctx.err);
    Drover__Job r = DROVER__JOB__INIT;
    ck_assert_msg(cli_yaml_job(&ctx, y, &r) == 0, "%s: %s", b.data, ctx.err);
    ck_assert_str_eq(r.name, "odd-job");
    ck_assert_str_eq(r.cluster, "c1");
    ck_assert_uint_eq(r.n_argv, 3);
    ck_assert_str_eq(r.argv[2], argv[2]);
    ck_assert_uint_eq(r.n_env, 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq(r.env[i]->key, kv[i].key);
        ck_assert_str_eq(r.env[i]->value, kv[i].value);
    }
    ck_assert_str_eq(r.image, "busybox:latest");
    ck_assert_uint_eq(r.nodes, 2);
    ck_assert_str_eq(r.distribution, "tensorflow");
    ck_assert_uint_eq(r.worker_count, 3);
    ck_assert_uint_eq(r.parameter_server_count, 1);
    ck_assert_uint_eq(r.time_limit_s, 90);
    cli_yaml_free(&y);
    unlink(path);

    /* an argv that is not sh -c: quoted for the shell */
    static char *argv2[] = {"printf", "%s|", "it's", "a b", ""};
    j.argv = argv2;
    j.n_argv = 5;
    j.env = NULL;
    j.n_env = 0;
    j.distribution = "";
    b.len = 0;
    cli_yaml_out_job(&b, &j);
    dr_buf_append(&b, "", 1);
    ck_assert_ptr_nonnull(
        strstr(b.data, "command: \"printf '%s|' 'it'\\\\''s' 'a b' ''\"\n"));
    ck_assert_ptr_null(strstr(b.data, "distribution"));
    dr_buf_free(&b);
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc_output = tcase_create("output");
    tcase_add_test(tc_output, test_job_json);
    tcase_add_test(tc_output, test_yaml_out);
    tcase_add_test(tc_output, test_cluster_json);
    tcase_add_test(tc_output, test_tables);
    tcase_add_test(tc_output, test_job_gpus);
    tcase_add_test(tc_output, test_job_predicted);
    tcase_add_test(tc_output, test_node_gpus);
    tcase_add_test(tc_output, test_cluster_new_fields);
    tcase_add_test(tc_output, test_quota_render);
    tcase_add_test(tc_output, test_event_render);
    suite_add_tcase(s, tc_output);
    return s;
}

int main(void)
{
    return cli_test_run(s_suite());
}
