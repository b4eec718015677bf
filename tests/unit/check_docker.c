/* check_docker.c - unit tests of the docker runtime: the multiplexed-stream
 * demultiplexer, the create body, the parsers of dockerd's answers (also
 * truncated and non-JSON ones), and -- when a dockerd answers -- the agent
 * running containers against a fake scheduler (a ROUTER in this process):
 * output on both streams, exit codes, OOM kill, command not found, unknown
 * image, cancel, time limit, the container's settings, adoption after an
 * agent is killed, and a node without docker. */
#include "agent.h"
#include "agent_cfg.h"
#include "dr_err.h"
#include "runtime_docker.h"
#include "util.h"
#include "wire.h"

#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

/* The fake's node is dk<pid>; the last Register it sent is kept. */
#define S_FAKE_EXTRA                                                           \
    char name[32];                                                             \
    dr_env_t *reg_env;
#define S_FAKE_EXTRA_FREE(f) wire_free(&(f)->reg_env)
#include "fake_sched.h"

#define S_IMAGE "drover-test:busybox"

/* ---- demultiplexer
 * ------------------------------------------------------------
 */

typedef struct {
    dr_buf_t out[2];
} s_sink_t;

static void s_emit(void *arg, int stream, const char *data, size_t n)
{
    s_sink_t *s = arg;
    dr_buf_append(&s->out[stream], data, n);
}

static size_t s_frame(char *dst, int type, const char *payload)
{
    size_t n = strlen(payload);
    unsigned char h[8] = {(unsigned char)type,
                          0,
                          0,
                          0,
                          (unsigned char)(n >> 24),
                          (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8),
                          (unsigned char)n};
    memcpy(dst, h, 8);
    memcpy(dst + 8, payload, n);
    return n + 8;
}

START_TEST(test_demux)
{
    char stream[256];
    size_t n = 0;
    n += s_frame(stream + n, 1, "hello ");
    n += s_frame(stream + n, 2, "oops\n");
    n += s_frame(stream + n, 1, "world\n");
    n += s_frame(stream + n, 1, "");
    /* every split point of the transport gives the same result */
    for (size_t cut = 0; cut <= n; cut++) {
        runtime_docker_demux_t d = {0};
        s_sink_t s = {0};
        ck_assert_int_eq(runtime_docker_demux_feed(&d, stream, cut, s_emit, &s),
                         0);
        ck_assert_int_eq(
            runtime_docker_demux_feed(&d, stream + cut, n - cut, s_emit, &s),
            0);
        ck_assert_int_eq(runtime_docker_demux_partial(&d), 0);
        dr_buf_append(&s.out[0], "", 1);
        dr_buf_append(&s.out[1], "", 1);
        ck_assert_str_eq(s.out[0].data, "hello world\n");
        ck_assert_str_eq(s.out[1].data, "oops\n");
        dr_buf_free(&s.out[0]);
        dr_buf_free(&s.out[1]);
    }
    /* byte by byte */
    runtime_docker_demux_t d = {0};
    s_sink_t s = {0};
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(
            runtime_docker_demux_feed(&d, stream + i, 1, s_emit, &s), 0);
    ck_assert_int_eq((int)s.out[0].len, 12);
    dr_buf_free(&s.out[0]);
    dr_buf_free(&s.out[1]);
    /* truncated inside a header and inside a payload */
    runtime_docker_demux_t d2 = {0};
    ck_assert_int_eq(runtime_docker_demux_feed(&d2, stream, 5, NULL, NULL), 0);
    ck_assert_int_eq(runtime_docker_demux_partial(&d2), 1);
    runtime_docker_demux_t d3 = {0};
    ck_assert_int_eq(runtime_docker_demux_feed(&d3, stream, 10, NULL, NULL), 0);
    ck_assert_int_eq(runtime_docker_demux_partial(&d3), 1);
    /* not a multiplexed stream (a TTY's raw text): refused */
    runtime_docker_demux_t d4 = {0};
    ck_assert_int_eq(
        runtime_docker_demux_feed(&d4, "plain text here", 15, NULL, NULL),
        DR_EPROTO);
    unsigned char bad[8] = {9, 0, 0, 0, 0, 0, 0, 1};
    runtime_docker_demux_t d5 = {0};
    ck_assert_int_eq(runtime_docker_demux_feed(&d5, (char *)bad, 8, NULL, NULL),
                     DR_EPROTO);
}
END_TEST

/* ---- the create body
 * ----------------------------------------------------------
 */

START_TEST(test_create_body)
{
    char *argv[] = {"sh", "-c", "echo hi", NULL};
    char *envp[] = {"A=1", "DROVER_JOB_ID=7", NULL};
    uint32_t gpus[] = {2, 3};
    runtime_docker_spec_t spec = {
        .image = "drover-test:busybox",
        .argv = argv,
        .envp = envp,
        .task_dir = "/tmp/x/tasks/7-1",
        .cpus = 2,
        .memory_mb = 512,
        .gpu_indices = gpus,
        .n_gpu = 2,
        .job_id = 7,
        .attempt = 1,
        .node = "n1",
    };
    char *body = runtime_docker_create_body(&spec, "00aa11bb22cc33dd");
    ck_assert_ptr_nonnull(body);
    json_error_t e;
    json_t *j = json_loads(body, 0, &e);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "Image")),
                     "drover-test:busybox");
    ck_assert_int_eq(json_array_size(json_object_get(j, "Cmd")), 3);
    ck_assert_int_eq(json_array_size(json_object_get(j, "Env")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(j, "WorkingDir")),
                     "/scratch");
    json_t *l = json_object_get(j, "Labels");
    ck_assert_str_eq(json_string_value(json_object_get(l, "drover.job")), "7");
    ck_assert_str_eq(json_string_value(json_object_get(l, "drover.attempt")),
                     "1");
    ck_assert_str_eq(json_string_value(json_object_get(l, "drover.node")),
                     "n1");
    ck_assert_str_eq(json_string_value(json_object_get(l, "drover.managed")),
                     "true");
    /* two installations on one dockerd tell their containers apart */
    ck_assert_str_eq(
        json_string_value(json_object_get(l, "drover.installation")),
        "00aa11bb22cc33dd");
    json_t *hc = json_object_get(j, "HostConfig");
    ck_assert_int_eq(json_integer_value(json_object_get(hc, "NanoCpus")),
                     2000000000LL);
    ck_assert_int_eq(json_integer_value(json_object_get(hc, "Memory")),
                     512LL << 20);
    ck_assert_int_eq(json_integer_value(json_object_get(hc, "MemorySwap")),
                     512LL << 20);
    ck_assert_int_eq(json_integer_value(json_object_get(hc, "PidsLimit")),
                     4096);
    ck_assert(json_is_false(json_object_get(hc, "Privileged")));
    ck_assert_str_eq(json_string_value(json_object_get(hc, "NetworkMode")),
                     "host");
    ck_assert_str_eq(
        json_string_value(json_array_get(json_object_get(hc, "CapDrop"), 0)),
        "ALL");
    ck_assert_ptr_null(json_object_get(hc, "CapAdd"));
    json_t *so = json_object_get(hc, "SecurityOpt");
    ck_assert_int_eq(json_array_size(so), 1);
    ck_assert_str_eq(json_string_value(json_array_get(so, 0)),
                     "no-new-privileges");
    ck_assert_str_eq(
        json_string_value(json_array_get(json_object_get(hc, "Binds"), 0)),
        "/tmp/x/tasks/7-1:/scratch:rw");
    json_t *dr = json_array_get(json_object_get(hc, "DeviceRequests"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(dr, "Driver")),
                     "nvidia");
    json_t *ids = json_object_get(dr, "DeviceIDs");
    ck_assert_str_eq(json_string_value(json_array_get(ids, 0)), "2");
    ck_assert_str_eq(json_string_value(json_array_get(ids, 1)), "3");
    ck_assert_str_eq(
        json_string_value(json_array_get(
            json_array_get(json_object_get(dr, "Capabilities"), 0), 0)),
        "gpu");
    json_decref(j);
    free(body);

    /* no GPUs, no limits: no DeviceRequests, no NanoCpus, no Memory */
    spec.n_gpu = 0;
    spec.cpus = 0;
    spec.memory_mb = 0;
    body = runtime_docker_create_body(&spec, "00aa11bb22cc33dd");
    j = json_loads(body, 0, &e);
    hc = json_object_get(j, "HostConfig");
    ck_assert_ptr_null(json_object_get(hc, "DeviceRequests"));
    ck_assert_ptr_null(json_object_get(hc, "NanoCpus"));
    ck_assert_ptr_null(json_object_get(hc, "Memory"));
    json_decref(j);
    free(body);

    /* bad specs */
    spec.image = "bad image";
    ck_assert_ptr_null(runtime_docker_create_body(&spec, "00aa11bb22cc33dd"));
    spec.image = "ok";
    spec.task_dir = "relative";
    ck_assert_ptr_null(runtime_docker_create_body(&spec, "00aa11bb22cc33dd"));
    ck_assert_ptr_null(runtime_docker_create_body(NULL, "00aa11bb22cc33dd"));
    spec.task_dir = "/tmp/x/tasks/7-1";
    ck_assert_ptr_null(runtime_docker_create_body(&spec, ""));
}
END_TEST

START_TEST(test_image_names)
{
    ck_assert(runtime_docker_valid_image("busybox"));
    ck_assert(runtime_docker_valid_image("reg.example.com:5000/a/b:1.2"));
    ck_assert(runtime_docker_valid_image("a@sha256:abcdef"));
    ck_assert(!runtime_docker_valid_image(""));
    ck_assert(!runtime_docker_valid_image("-x"));
    ck_assert(!runtime_docker_valid_image("a b"));
    ck_assert(!runtime_docker_valid_image("a?x=1"));
    ck_assert(!runtime_docker_valid_image("../../containers/json"
                                          "#"));
    ck_assert(runtime_docker_image_tagged("busybox:1"));
    ck_assert(runtime_docker_image_tagged("a@sha256:00"));
    ck_assert(!runtime_docker_image_tagged("busybox"));
    ck_assert(!runtime_docker_image_tagged("reg:5000/busybox"));
    ck_assert(runtime_docker_image_tagged("reg:5000/busybox:2"));
}
END_TEST

/* ---- parsers
 * ------------------------------------------------------------------
 */

#define S_P(s) (s), strlen(s)

START_TEST(test_parsers)
{
    char id[72], why[256];
    ck_assert_int_eq(
        runtime_docker_parse_id(S_P("{\"Id\":\"abc123\",\"Warnings\":[]}"), id,
                                sizeof id, why, sizeof why),
        0);
    ck_assert_str_eq(id, "abc123");
    /* truncated, not JSON, wrong types, hostile ids */
    const char *bad_ids[] = {
        "{\"Id\":\"abc",        "<html>502</html>", "", "[]", "{\"Id\":42}",
        "{\"Id\":\"../../x\"}", "{\"Id\":\"\"}"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        why[0] = '\0';
        ck_assert_int_eq(runtime_docker_parse_id(S_P(bad_ids[i]), id, sizeof id,
                                                 why, sizeof why),
                         DR_EPROTO);
        ck_assert(why[0] != '\0');
    }
    ck_assert_int_eq(
        runtime_docker_parse_id(NULL, 0, id, sizeof id, why, sizeof why),
        DR_EPROTO);

    int st = -5;
    ck_assert_int_eq(
        runtime_docker_parse_wait(S_P("{\"Error\":null,\"StatusCode\":137}"),
                                  &st, why, sizeof why),
        0);
    ck_assert_int_eq(st, 137);
    ck_assert_int_eq(runtime_docker_parse_wait(S_P("{\"StatusCode\":"), &st,
                                               why, sizeof why),
                     DR_EPROTO);
    ck_assert_int_eq(runtime_docker_parse_wait(S_P("{\"StatusCode\":\"0\"}"),
                                               &st, why, sizeof why),
                     DR_EPROTO);

    runtime_docker_state_t s;
    ck_assert_int_eq(
        runtime_docker_parse_inspect(
            S_P("{\"Id\":\"a\",\"State\":{\"Running\":false,\"OOMKilled\":true,"
                "\"ExitCode\":137,\"Error\":\"\"}}"),
            &s, why, sizeof why),
        0);
    ck_assert_int_eq(s.oom_killed, 1);
    ck_assert_int_eq(s.exit_code, 137);
    ck_assert_int_eq(s.running, 0);
    ck_assert_int_eq(runtime_docker_parse_inspect(S_P("{\"State\":{}}"), &s,
                                                  why, sizeof why),
                     DR_EPROTO);
    ck_assert_int_eq(runtime_docker_parse_inspect(S_P("{\"State\":{\"Exi"), &s,
                                                  why, sizeof why),
                     DR_EPROTO);

    runtime_docker_found_t *v = NULL;
    size_t n = 9;
    ck_assert_int_eq(
        runtime_docker_parse_list(
            S_P("[{\"Id\":\"aa\",\"State\":\"running\",\"Labels\":{"
                "\"drover.job\":\"12\",\"drover.attempt\":\"2\"}},"
                "{\"Id\":\"bb\",\"State\":\"exited\",\"Labels\":{"
                "\"drover.job\":\"x\",\"drover.attempt\":\"2\"}},"
                "{\"Id\":\"cc\",\"State\":\"exited\"},"
                "{\"Id\":\"dd\",\"State\":\"exited\",\"Labels\":{"
                "\"drover.job\":\"13\",\"drover.attempt\":\"1\","
                "\"drover.installation\":\"00aa11bb22cc33dd\"}}]"),
            &v, &n, why, sizeof why),
        0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(v[0].id, "aa");
    ck_assert_int_eq(v[0].job_id, 12);
    ck_assert_int_eq(v[0].attempt, 2);
    ck_assert_int_eq(v[0].running, 1);
    ck_assert_int_eq(v[1].job_id, 13);
    ck_assert_int_eq(v[1].running, 0);
    ck_assert_str_eq(v[0].installation, ""); /* an older agent's */
    ck_assert_str_eq(v[1].installation, "00aa11bb22cc33dd");
    free(v);
    ck_assert_int_eq(runtime_docker_parse_list(S_P("{\"message\":\"x\"}"), &v,
                                               &n, why, sizeof why),
                     DR_EPROTO);
    ck_assert_int_eq(
        runtime_docker_parse_list(S_P("[{\"Id\""), &v, &n, why, sizeof why),
        DR_EPROTO);
    ck_assert_int_eq(n, 0);

    ck_assert_int_eq(runtime_docker_pull_error(
                         S_P("{\"status\":\"Pulling\"}\n{\"errorDetail\":{"
                             "\"message\":\"x\"},"
                             "\"error\":\"dial tcp: no such host\"}\n"),
                         why, sizeof why),
                     1);
    ck_assert_str_eq(why, "dial tcp: no such host");
    ck_assert_int_eq(runtime_docker_pull_error(
                         S_P("{\"status\":\"Done\"}\n{\"sta"), why, sizeof why),
                     0);

    char msg[64];
    runtime_docker_error_message(S_P("{\"message\":\"No such image: x\"}"), msg,
                                 sizeof msg);
    ck_assert_str_eq(msg, "No such image: x");
    runtime_docker_error_message(S_P("<html>\n502 Bad Gateway</html>"), msg,
                                 sizeof msg);
    ck_assert_str_eq(msg, "<html> 502 Bad Gateway</html>");
    runtime_docker_error_message(NULL, 0, msg, sizeof msg);
    ck_assert_str_eq(msg, "empty answer");
}
END_TEST

/* ---- the agent with a real dockerd
 * -------------------------------------------
 */

static int s_docker_ok;

static int s_have_docker(void)
{
    return system("curl -s -m 3 --unix-socket /var/run/docker.sock "
                  "http://docker/_ping 2>/dev/null | grep -q OK") == 0;
}

static void s_setup(void)
{
    s_dir_make("check-docker");
}

/* After the test case (also when a test failed midway): no container of
 * this file's nodes (dk<pid>) is left behind. */
static void s_remove_leftovers(void)
{
    if (s_docker_ok &&
        system("docker ps -aq --filter label=drover.managed=true --filter "
               "'name=^/drover-dk[0-9]+-' | xargs -r docker rm -f >/dev/null "
               "2>&1") != 0)
        fprintf(stderr, "removing leftover containers failed\n");
}

/* As the scheduler does: output sent again (by an agent that adopted the
 * task) is dropped where it is already had; a gap is an error. */
static void s_take_new(s_fake_t *f, const Drover__TaskOutput *o)
{
    int s = o->stream == DROVER__STREAM__STREAM_STDERR;
    if (o->offset + o->data.len > f->out[s].len) {
        size_t skip = f->out[s].len > o->offset ? f->out[s].len - o->offset : 0;
        ck_assert_int_le(o->offset, f->out[s].len);
        dr_buf_append(&f->out[s], o->data.data + skip, o->data.len - skip);
    }
}

/* Zeroes *f and binds it, as node dk<pid>. */
static void s_fake_bind(s_fake_t *f)
{
    s_fake_init(f, 1);
    f->take_output = s_take_new;
    snprintf(f->name, sizeof f->name, "dk%d", (int)getpid());
}

/* The flags of node f->name's agent, using the docker daemon at `socket`,
 * into a (8 entries, then NULL); sock and name are the caller's buffers. */
typedef struct {
    char sock[300], name[64];
    const char *a[9];
} s_flags_t;

static const char *const *s_docker_flags(s_flags_t *fl, const s_fake_t *f,
                                         const char *socket)
{
    snprintf(fl->sock, sizeof fl->sock, "--docker-socket=%s", socket);
    snprintf(fl->name, sizeof fl->name, "--name=%s", f->name);
    const char *a[] = {fl->name,
                       "--cluster=c1",
                       "--vm-size=s",
                       "--cpus=4",
                       "--memory-mb=8192",
                       fl->sock,
                       "--heartbeat-ms=200",
                       "--grace-ms=500",
                       NULL};
    memcpy(fl->a, a, sizeof a);
    return fl->a;
}

/* Starts an agent for node f->name using the docker daemon at `socket`. */
static void s_docker_agent(s_fake_t *f, const char *socket)
{
    s_flags_t fl;
    s_fake_agent(f, s_docker_flags(&fl, f, socket));
}

static void s_fake_start(s_fake_t *f, const char *socket)
{
    s_fake_bind(f);
    s_docker_agent(f, socket);
}

static Drover__Register *s_register(s_fake_t *f, uint64_t cancel)
{
    dr_env_t *env = s_expect(f, DROVER__ENVELOPE__BODY_REGISTER, 0, 10000);
    ck_assert_ptr_nonnull(env);
    wire_free(&f->reg_env);
    f->reg_env = env;
    s_register_ack(f, cancel);
    return env->register_;
}

static void s_task_start(s_fake_t *f, uint64_t job, const char *image,
                         const char *script, uint32_t limit, uint64_t mem_mb)
{
    Drover__TaskStart ts = DROVER__TASK_START__INIT;
    char *argv[] = {"sh", "-c", (char *)script};
    Drover__KeyValue kv = DROVER__KEY_VALUE__INIT;
    Drover__KeyValue *kvs[] = {&kv};
    kv.key = "GREETING";
    kv.value = "hi";
    ts.job_id = job;
    ts.attempt = 1;
    ts.argv = argv;
    ts.n_argv = 3;
    ts.env = kvs;
    ts.n_env = 1;
    ts.time_limit_s = limit;
    ts.cpus = 1;
    ts.memory_mb = mem_mb;
    ts.nodes = 1;
    ts.image = (char *)image;
    s_send_task_start(f, &ts);
}

/* Runs a shell command and returns its trimmed stdout (static buffer). */
static const char *s_sh(const char *fmt, ...)
{
    static char out[4096];
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p)
        return out;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    pclose(p);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    return out;
}

static int s_containers_of(const char *node)
{
    return atoi(
        s_sh("docker ps -aq --filter label=drover.node=%s | wc -l", node));
}

#define S_NEED_DOCKER()                                                        \
    do {                                                                       \
        if (!s_docker_ok) {                                                    \
            fprintf(stderr, "SKIP: no dockerd answers\n");                     \
            return;                                                            \
        }                                                                      \
    } while (0)

static Drover__TaskReport *s_final(s_fake_t *f, dr_env_t **envp, int state,
                                   int timeout_ms)
{
    *envp = s_expect(f, DROVER__ENVELOPE__BODY_TASK_UPDATE, state, timeout_ms);
    ck_assert_ptr_nonnull(*envp);
    return (*envp)->task_update->report;
}

START_TEST(test_docker_run)
{
    S_NEED_DOCKER();
    s_fake_t f;
    s_fake_start(&f, "/var/run/docker.sock");
    Drover__Register *reg = s_register(&f, 0);
    ck_assert_int_eq(reg->n_runtimes, 2);
    ck_assert_str_eq(reg->runtimes[1], "docker");

    /* output on both streams, env, cwd; settings of the container */
    s_task_start(&f, 11, S_IMAGE,
                 "echo \"$GREETING job $DROVER_JOB_ID at $(pwd) "
                 "$DROVER_TASK_DIR\"; echo to-stderr >&2; echo x > "
                 "/scratch/file; sleep 1; echo done",
                 0, 256);
    dr_env_t *env;
    Drover__TaskReport *r =
        s_final(&f, &env, DROVER__TASK_STATE__TASK_RUNNING, 20000);
    s_ack(&f, r);
    wire_free(&env);
    const char *id = s_sh("docker ps -q --filter label=drover.job=11 "
                          "--filter label=drover.node=%s",
                          f.name);
    ck_assert_msg(id[0], "container not found while it runs");
    char cid[80];
    snprintf(cid, sizeof cid, "%s", id);
    ck_assert_str_eq(
        s_sh("docker inspect -f '{{.HostConfig.Privileged}} "
             "{{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}} "
             "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} "
             "{{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} "
             "{{.HostConfig.NetworkMode}} {{.Config.WorkingDir}} "
             "{{index .Config.Labels \"drover.managed\"}} "
             "{{index .Config.Labels \"drover.attempt\"}}' %s",
             cid),
        "false [ALL] [no-new-privileges] 268435456 268435456 1000000000 4096 "
        "host /scratch true 1");
    r = s_final(&f, &env, DROVER__TASK_STATE__TASK_EXITED, 20000);
    ck_assert_int_eq(r->exit_code, 0);
    ck_assert_int_eq(r->term_signal, 0);
    dr_buf_append(&f.out[0], "", 1);
    dr_buf_append(&f.out[1], "", 1);
    ck_assert_str_eq(f.out[0].data, "hi job 11 at /scratch /scratch\ndone\n");
    ck_assert_str_eq(f.out[1].data, "to-stderr\n");
    s_ack(&f, r);
    wire_free(&env);
    ck_assert_str_eq(s_sh("docker ps -aq --filter id=%s", cid), "");
    char path[400];
    snprintf(path, sizeof path, "%s/work/tasks/11-1/file", s_dir);
    ck_assert_int_eq(access(path, F_OK), 0);
    dr_buf_free(&f.out[0]);
    dr_buf_free(&f.out[1]);

    /* a non-zero exit */
    s_task_start(&f, 12, S_IMAGE, "exit 7", 0, 0);
    r = s_final(&f, &env, DROVER__TASK_STATE__TASK_EXITED, 20000);
    ck_assert_int_eq(r->exit_code, 7);
    ck_assert_str_eq(r->reason, "");
    s_ack(&f, r);
    wire_free(&env);

    /* out of memory */
    s_task_start(&f, 13, S_IMAGE, "head -c 200m /dev/zero | tail", 0, 32);
    r = s_final(&f, &env, DROVER__TASK_STATE__TASK_EXITED, 30000);
    ck_assert_int_eq(r->exit_code, 137);
    ck_assert_str_eq(r->reason, "out of memory (OOM-killed)");
    s_ack(&f, r);
    wire_free(&env);

    /* a command the image does not have */
    dr_env_t e2;
    Drover__TaskStart ts = DROVER__TASK_START__INIT;
    char *argv[] = {"no-such-program"};
    ts.job_id = 14;
    ts.attempt = 1;
    ts.argv = argv;
    ts.n_argv = 1;
    ts.image = S_IMAGE;
    wire_env_init(&e2, 99);
    e2.body_case = DROVER__ENVELOPE__BODY_TASK_START;
    e2.task_start = &ts;
    s_send_to(&f, &e2);
    r = s_final(&f, &env, DROVER__TASK_STATE__TASK_FAILED, 20000);
    ck_assert_int_eq(r->exit_code, 127);
    ck_assert_msg(strstr(r->reason, "no-such-program"), "reason: %s",
                  r->reason);
    s_ack(&f, r);
    wire_free(&env);

    /* an image that is not here and cannot be pulled: fails, no hang */
    int64_t t0 = dr_mono_ms();
    s_task_start(&f, 15, "drover-no-such-image:v0", "true", 0, 0);
    r = s_final(&f, &env, DROVER__TASK_STATE__TASK_FAILED, 60000);
    ck_assert_msg(strstr(r->reason, "drover-no-such-image"), "reason: %s",
                  r->reason);
    ck_assert_int_lt(dr_mono_ms() - t0, 60000);
    s_ack(&f, r);
    wire_free(&env);

    for (int i = 0; i < 20 && s_containers_of(f.name) > 0; i++)
        s_expect(&f, -1, 0, 200);
    ck_assert_int_eq(s_containers_of(f.name), 0);
    s_fake_stop(&f);
}
END_TEST

START_TEST(test_docker_cancel_and_time_limit)
{
    S_NEED_DOCKER();
    s_fake_t f;
    s_fake_start(&f, "/var/run/docker.sock");
    s_register(&f, 0);
    /* ignores TERM: needs the KILL after the grace */
    s_task_start(&f, 21, S_IMAGE,
                 "trap '' TERM; echo up; while :; do sleep 1; done", 0, 0);
    dr_env_t *env;
    Drover__TaskReport *r =
        s_final(&f, &env, DROVER__TASK_STATE__TASK_RUNNING, 20000);
    wire_free(&env);
    dr_env_t c;
    Drover__TaskCancel tc = DROVER__TASK_CANCEL__INIT;
    tc.job_id = 21;
    tc.reason = "user asked";
    wire_env_init(&c, 3);
    c.body_case = DROVER__ENVELOPE__BODY_TASK_CANCEL;
    c.task_cancel = &tc;
    int64_t t0 = dr_mono_ms();
    s_send_to(&f, &c);
    r = s_final(&f, &env, DROVER__TASK_STATE__TASK_CANCELED, 20000);
    ck_assert_int_lt(dr_mono_ms() - t0, 10000);
    ck_assert_str_eq(r->reason, "user asked");
    ck_assert_int_eq(r->term_signal, SIGKILL);
    s_ack(&f, r);
    wire_free(&env);

    s_task_start(&f, 22, S_IMAGE, "sleep 60", 1, 0);
    r = s_final(&f, &env, DROVER__TASK_STATE__TASK_FAILED, 20000);
    ck_assert_str_eq(r->reason, "time limit of 1 s exceeded");
    s_ack(&f, r);
    wire_free(&env);

    /* cancel while the image is being looked for / pulled */
    s_task_start(&f, 23, "drover-no-such-image:v1", "true", 0, 0);
    tc.job_id = 23;
    s_send_to(&f, &c);
    r = s_final(&f, &env, DROVER__TASK_STATE__TASK_CANCELED, 20000);
    s_ack(&f, r);
    wire_free(&env);
    ck_assert_int_eq(s_containers_of(f.name), 0);

    /* scale-in: Shutdown stops and removes a running container */
    s_task_start(&f, 24, S_IMAGE, "sleep 60", 0, 0);
    r = s_final(&f, &env, DROVER__TASK_STATE__TASK_RUNNING, 20000);
    wire_free(&env);
    dr_env_t s;
    Drover__Shutdown sd = DROVER__SHUTDOWN__INIT;
    sd.reason = "scale-in";
    wire_env_init(&s, 4);
    s.body_case = DROVER__ENVELOPE__BODY_SHUTDOWN;
    s.shutdown = &sd;
    s_send_to(&f, &s);
    r = s_final(&f, &env, DROVER__TASK_STATE__TASK_CANCELED, 20000);
    s_ack(&f, r);
    wire_free(&env);
    int rc = 0;
    int64_t end = dr_mono_ms() + 5000;
    while (rc == 0 && dr_mono_ms() < end)
        rc = agent_step(f.agent, 10);
    ck_assert_int_eq(rc, 1);
    ck_assert_int_eq(s_containers_of(f.name), 0);
    s_fake_stop(&f);
}
END_TEST

/* An agent in a child process starts job `job` as a container; the child
 * is killed with SIGKILL once it runs, and a new agent (in this process)
 * is started on the same node: the container is left for it. */
static void s_adopt_setup(s_fake_t *f, uint64_t job, const char *script)
{
    s_fake_bind(f);
    /* the real drover-agent, exec'd: a fork of this process (which runs
     * libzmq's threads) must not go on to run an agent, whose threads could
     * find a lock held forever by a thread that fork left behind */
    s_flags_t fl;
    const char *const *flags = s_docker_flags(&fl, f, "/var/run/docker.sock");
    char sched[320], wd[300];
    snprintf(sched, sizeof sched, "--scheduler=%s", f->endpoint);
    snprintf(wd, sizeof wd, "--work-dir=%s/work", s_dir);
    const char *argv[16];
    size_t n = 0;
    argv[n++] = DROVER_AGENT_PATH;
    for (; *flags; flags++)
        argv[n++] = *flags;
    argv[n++] = sched;
    argv[n++] = wd;
    argv[n] = NULL;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    s_register(f, 0);
    s_task_start(f, job, S_IMAGE, script, 0, 0);
    dr_env_t *env;
    Drover__TaskReport *r =
        s_final(f, &env, DROVER__TASK_STATE__TASK_RUNNING, 20000);
    s_ack(f, r);
    wire_free(&env);
    s_expect(f, -1, 0, 800);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ck_assert_int_eq(s_containers_of(f->name), 1);
    s_docker_agent(f, "/var/run/docker.sock");
}

START_TEST(test_docker_adopt)
{
    S_NEED_DOCKER();
    s_fake_t f;
    s_adopt_setup(&f, 31,
                  "for i in 1 2 3 4 5 6; do echo line $i; echo err $i >&2; "
                  "sleep 0.5; done");
    /* the new agent found the container and reports it at registration */
    Drover__Register *reg = s_register(&f, 0);
    ck_assert_int_eq(reg->n_tasks, 1);
    ck_assert_int_eq(reg->tasks[0]->job_id, 31);
    ck_assert_int_eq(reg->tasks[0]->attempt, 1);
    ck_assert_int_eq(reg->tasks[0]->state, DROVER__TASK_STATE__TASK_RUNNING);
    dr_env_t *env;
    Drover__TaskReport *r =
        s_final(&f, &env, DROVER__TASK_STATE__TASK_EXITED, 20000);
    ck_assert_int_eq(r->exit_code, 0);
    dr_buf_append(&f.out[0], "", 1);
    dr_buf_append(&f.out[1], "", 1);
    /* whole: what the first agent sent plus the rest, no duplicates */
    ck_assert_str_eq(f.out[0].data, "line 1\nline 2\nline 3\nline 4\nline 5\n"
                                    "line 6\n");
    ck_assert_str_eq(f.out[1].data,
                     "err 1\nerr 2\nerr 3\nerr 4\nerr 5\nerr 6\n");
    s_ack(&f, r);
    wire_free(&env);
    ck_assert_int_eq(s_containers_of(f.name), 0);
    s_fake_stop(&f);
}
END_TEST

START_TEST(test_docker_adopt_cancel)
{
    S_NEED_DOCKER();
    s_fake_t f;
    s_adopt_setup(&f, 32, "sleep 60");
    /* the scheduler does not want it: stopped and removed */
    Drover__Register *reg = s_register(&f, 32);
    ck_assert_int_eq(reg->n_tasks, 1);
    dr_env_t *env;
    Drover__TaskReport *r =
        s_final(&f, &env, DROVER__TASK_STATE__TASK_CANCELED, 20000);
    s_ack(&f, r);
    wire_free(&env);
    ck_assert_int_eq(s_containers_of(f.name), 0);
    s_fake_stop(&f);
}
END_TEST

/* A unix-socket proxy in front of dockerd: killing it is, for the agent,
 * dockerd going away (without stopping the machine's real daemon). */
static const char s_proxy_py[] =
    "import os,socket,sys,threading\n"
    "p=sys.argv[1]\n"
    "s=socket.socket(socket.AF_UNIX)\n"
    "s.bind(p+'.tmp'); os.rename(p+'.tmp',p); s.listen(64)\n"
    "def pipe(a,b):\n"
    "    try:\n"
    "        while True:\n"
    "            d=a.recv(65536)\n"
    "            if not d: break\n"
    "            b.sendall(d)\n"
    "    except OSError: pass\n"
    "    for x in (a,b):\n"
    "        try: x.shutdown(socket.SHUT_RDWR)\n"
    "        except OSError: pass\n"
    "while True:\n"
    "    c,_=s.accept()\n"
    "    u=socket.socket(socket.AF_UNIX); u.connect('/var/run/docker.sock')\n"
    "    threading.Thread(target=pipe,args=(c,u),daemon=True).start()\n"
    "    threading.Thread(target=pipe,args=(u,c),daemon=True).start()\n";

static pid_t s_proxy_start(const char *path)
{
    unlink(path);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execlp("python3", "python3", "-c", s_proxy_py, path, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && access(path, F_OK) != 0; i++)
        usleep(20000);
    ck_assert_int_eq(access(path, F_OK), 0);
    return pid;
}

static void s_proxy_stop(pid_t pid, const char *path)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    unlink(path);
}

START_TEST(test_docker_daemon_lost)
{
    S_NEED_DOCKER();
    s_fake_t f;
    char sock[300];
    snprintf(sock, sizeof sock, "%s/proxy.sock", s_dir);
    pid_t proxy = s_proxy_start(sock);
    s_fake_start(&f, sock);
    Drover__Register *reg = s_register(&f, 0);
    ck_assert_int_eq(reg->n_runtimes, 2);
    s_task_start(&f, 51, S_IMAGE, "sleep 60", 0, 0);
    dr_env_t *env;
    Drover__TaskReport *r =
        s_final(&f, &env, DROVER__TASK_STATE__TASK_RUNNING, 20000);
    s_ack(&f, r);
    wire_free(&env);
    s_proxy_stop(proxy, sock);
    r = s_final(&f, &env, DROVER__TASK_STATE__TASK_FAILED, 10000);
    ck_assert_msg(strstr(r->reason, "docker daemon unreachable"), "reason: %s",
                  r->reason);
    s_ack(&f, r);
    wire_free(&env);
    /* the agent goes on: heartbeats, and registers again without docker */
    env = s_expect(&f, DROVER__ENVELOPE__BODY_HEARTBEAT, 0, 3000);
    ck_assert_ptr_nonnull(env);
    wire_free(&env);
    reg = s_register(&f, 0);
    ck_assert_int_eq(reg->n_runtimes, 1);
    /* dockerd is back: docker again, and the container left behind while
     * it was away is removed */
    proxy = s_proxy_start(sock);
    reg = s_register(&f, 0);
    ck_assert_int_eq(reg->n_runtimes, 2);
    for (int i = 0; i < 50 && s_containers_of(f.name) > 0; i++)
        s_expect(&f, -1, 0, 200);
    ck_assert_int_eq(s_containers_of(f.name), 0);
    s_fake_stop(&f);
    s_proxy_stop(proxy, sock);
}
END_TEST

START_TEST(test_docker_missing)
{
    s_fake_t f;
    char sock[300];
    snprintf(sock, sizeof sock, "%s/no-docker.sock", s_dir);
    s_fake_start(&f, sock);
    Drover__Register *reg = s_register(&f, 0);
    ck_assert_int_eq(reg->n_runtimes, 1);
    ck_assert_str_eq(reg->runtimes[0], "process");
    s_task_start(&f, 41, S_IMAGE, "true", 0, 0);
    dr_env_t *env;
    Drover__TaskReport *r =
        s_final(&f, &env, DROVER__TASK_STATE__TASK_FAILED, 5000);
    char want[128];
    snprintf(want, sizeof want, "docker runtime not available on node %s",
             f.name);
    ck_assert_msg(strncmp(r->reason, want, strlen(want)) == 0, "reason: %s",
                  r->reason);
    wire_free(&env);
    /* the process runtime still works, heartbeats go on */
    env = s_expect(&f, DROVER__ENVELOPE__BODY_HEARTBEAT, 0, 2000);
    ck_assert_ptr_nonnull(env);
    wire_free(&env);
    s_fake_stop(&f);
}
END_TEST

static Suite *s_suite(void)
{
    Suite *s = suite_create("docker");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, test_demux);
    tcase_add_test(tc, test_create_body);
    tcase_add_test(tc, test_image_names);
    tcase_add_test(tc, test_parsers);
    suite_add_tcase(s, tc);
    tc = tcase_create("dockerd");
    tcase_add_checked_fixture(tc, s_setup, s_dir_remove);
    tcase_add_unchecked_fixture(tc, NULL, s_remove_leftovers);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_docker_missing);
    tcase_add_test(tc, test_docker_run);
    tcase_add_test(tc, test_docker_cancel_and_time_limit);
    tcase_add_test(tc, test_docker_adopt);
    tcase_add_test(tc, test_docker_adopt_cancel);
    tcase_add_test(tc, test_docker_daemon_lost);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    s_docker_ok = s_have_docker();
    if (s_docker_ok) {
        const char *src = getenv("DROVER_SOURCE_DIR");
        char cmd[600];
        snprintf(cmd, sizeof cmd, "bash '%s/tests/integration/docker_image.sh'",
                 src ? src : ".");
        if (system(cmd) != 0) {
            fprintf(stderr, "SKIP: cannot build the test image\n");
            s_docker_ok = 0;
        }
    } else {
        fprintf(stderr, "SKIP: no dockerd answers; dockerd tests skipped\n");
    }
    SRunner *sr = srunner_create(s_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
