/* check_mpi_tag.c - unit tests of the output splitter (agent/mpi_tag.c)
 * where ranks write partial lines: OpenMPI tags each piece, pieces of
 * several ranks interleave, tags are cut by reads; and of how a
 * TensorFlow job's tasks are spread and described (common/dist.c,
 * agent/dist_tf.c).
 */
#include "dist.h"
#include "dist_tf.h"
#include "mpi.h"
#include "util.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *s_hosts[] = {"a", "b", "c"};

static const char *s_str(dr_buf_t *b)
{
    dr_buf_append(b, "", 1);
    b->len--;
    return b->data;
}

/* Feeds `in` in pieces of `step` bytes (0: at once), then EOF; returns
 * the output (malloc'd). */
static char *s_run(mpi_tagger_t *t, int stream, const char *in, size_t step)
{
    dr_buf_t out = {0};
    size_t n = strlen(in);
    if (!step)
        step = n ? n : 1;
    for (size_t i = 0; i < n; i += step)
        mpi_tagger_feed(t, stream, in + i, i + step > n ? n - i : step, 0,
                        &out);
    mpi_tagger_feed(t, stream, "", 0, 1, &out);
    char *r = dr_strdup(s_str(&out));
    dr_buf_free(&out);
    return r;
}

/* What the issue saw: rank 1's line cut by rank 0's piece. */
START_TEST(test_interleaved_partial)
{
    const char *in = "[1,1]<stderr>:testScatterv3 ... "
                     "[1,0]<stderr>:testScatterv ... "
                     "[1,1]<stderr>:ok\n"
                     "[1,0]<stderr>:ok\n";
    const char *want = "[a rank 1] testScatterv3 ... ok\n"
                       "[a rank 0] testScatterv ... ok\n";
    for (size_t step = 0; step < 40; step++) {
        mpi_tagger_t *t = mpi_tagger_new(s_hosts, 3, 2);
        char *got = s_run(t, 1, in, step);
        ck_assert_msg(strcmp(got, want) == 0, "step %zu: '%s'", step, got);
        ck_assert_ptr_null(strstr(got, "<stderr>"));
        free(got);
        mpi_tagger_destroy(&t);
    }
}
END_TEST

/* Four ranks on three nodes, each writing its line in three pieces, in a
 * shuffled order, with mpirun's own line in between: every rank's line
 * comes out whole, with its node, and no tag is left anywhere. */
START_TEST(test_many_ranks)
{
    const char *in = "[1,0]<stdout>:r0-a "
                     "[1,5]<stdout>:r5-a "
                     "[1,2]<stdout>:r2-a "
                     "[1,0]<stdout>:r0-b "
                     "[1,3]<stdout>:r3-a [1,3]<stdout>:r3-b "
                     "[1,5]<stdout>:r5-b "
                     "[1,2]<stdout>:r2-b [1,2]<stdout>:r2-c\n"
                     "[1,3]<stdout>:r3-c\n[1,3]<stdout>:second\n"
                     "mpirun: a note\n"
                     "[1,0]<stdout>:r0-c\n"
                     "[1,5]<stdout>:r5-c\n";
    const char *want = "[b rank 2] r2-a r2-b r2-c\n"
                       "[b rank 3] r3-a r3-b r3-c\n"
                       "[b rank 3] second\n"
                       "mpirun: a note\n"
                       "[a rank 0] r0-a r0-b r0-c\n"
                       "[c rank 5] r5-a r5-b r5-c\n";
    for (size_t step = 0; step < 30; step++) {
        mpi_tagger_t *t = mpi_tagger_new(s_hosts, 3, 2);
        char *got = s_run(t, 0, in, step);
        ck_assert_msg(strcmp(got, want) == 0, "step %zu: '%s'", step, got);
        free(got);
        mpi_tagger_destroy(&t);
    }
}
END_TEST

/* What is incomplete at EOF comes out, each rank's apart; a tag cut by
 * the end is text. */
START_TEST(test_eof_partials)
{
    mpi_tagger_t *t = mpi_tagger_new(s_hosts, 3, 1);
    char *got = s_run(t, 0,
                      "[1,1]<stdout>:one [1,2]<stdout>:two [1,1]<stdout>:more"
                      " [1,0]<std",
                      0);
    /* (the cut tag is rank 1's text: rank 1 had the stream last) */
    ck_assert_str_eq(got, "[b rank 1] one more [1,0]<std[c rank 2] two ");
    free(got);
    mpi_tagger_destroy(&t);
    /* stdout and stderr of one rank are apart */
    t = mpi_tagger_new(s_hosts, 3, 1);
    dr_buf_t out = {0};
    mpi_tagger_feed(t, 0, "[1,0]<stdout>:out-", 18, 0, &out);
    mpi_tagger_feed(t, 1, "[1,0]<stderr>:err\n", 18, 0, &out);
    mpi_tagger_feed(t, 0, "[1,0]<stdout>:end\n", 18, 0, &out);
    ck_assert_str_eq(s_str(&out), "[a rank 0] err\n[a rank 0] out-end\n");
    dr_buf_free(&out);
    mpi_tagger_destroy(&t);
}
END_TEST

/* Not tags: left as they are, wherever they are. */
START_TEST(test_not_tags)
{
    const char *same[] = {"a [1]<stdout>:x\n", "list [1, 2] and [3,4]\n",
                          "[1,2]<stdin>:x\n", "[12345678901,1]<stdout>:x\n",
                          "[[[\n"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        for (size_t step = 0; step < 4; step++) {
            mpi_tagger_t *t = mpi_tagger_new(s_hosts, 3, 1);
            char *got = s_run(t, 0, same[i], step);
            ck_assert_str_eq(got, same[i]);
            free(got);
            mpi_tagger_destroy(&t);
        }
    }
}
END_TEST

/* A node's spawned processes (pytorch, tensorflow): the node named, the
 * rank from the tag; the spawner's own lines get the node alone. */
START_TEST(test_local)
{
    mpi_tagger_t *t = mpi_tagger_new_local("n-1");
    char *got = s_run(t, 1,
                      "[1,7]<stderr>:x [1,6]<stderr>:y\n"
                      "drover-launch: process rank 7 exited\n"
                      "[1,7]<stderr>:z\n",
                      3);
    ck_assert_str_eq(got, "[n-1 rank 6] y\n[n-1] drover-launch: process "
                          "rank 7 exited\n[n-1 rank 7] x z\n");
    free(got);
    mpi_tagger_destroy(&t);
}
END_TEST

/* ---- distribution tensorflow ------------------------------------------- */

START_TEST(test_dist_share)
{
    uint32_t f, c;
    /* 5 tasks on 2 nodes: 3 + 2 */
    dist_share(5, 2, 0, &f, &c);
    ck_assert_uint_eq(f, 0);
    ck_assert_uint_eq(c, 3);
    dist_share(5, 2, 1, &f, &c);
    ck_assert_uint_eq(f, 3);
    ck_assert_uint_eq(c, 2);
    ck_assert_uint_eq(dist_per_node(5, 2), 3);
    ck_assert_uint_eq(dist_per_node(4, 2), 2);
    ck_assert_uint_eq(dist_per_node(4, 0), 4);
    /* every task on exactly one node, in order */
    for (uint32_t total = 1; total < 40; total++) {
        for (uint32_t nodes = 1; nodes <= total && nodes < 9; nodes++) {
            uint32_t next = 0;
            for (uint32_t k = 0; k < nodes; k++) {
                dist_share(total, nodes, k, &f, &c);
                ck_assert_uint_eq(f, next);
                ck_assert_uint_ge(c, total / nodes);
                ck_assert_uint_le(c, dist_per_node(total, nodes));
                next += c;
            }
            ck_assert_uint_eq(next, total);
        }
    }
}
END_TEST

static const char *s_env(const envv_t *e, const char *k)
{
    size_t kl = strlen(k);
    for (size_t i = 0; i < e->n; i++)
        if (strncmp(e->v[i], k, kl) == 0 && e->v[i][kl] == '=')
            return e->v[i] + kl + 1;
    return NULL;
}

START_TEST(test_tf_env)
{
    char *hosts[] = {"n-0", "n-1"};
    char *addrs[] = {"10.0.0.1", "10.0.0.2"};
    Drover__TaskStart ts = DROVER__TASK_START__INIT;
    ts.distribution = "tensorflow";
    ts.nodes = 2;
    ts.n_hosts = ts.n_host_addrs = 2;
    ts.hosts = hosts;
    ts.host_addrs = addrs;
    ts.worker_count = 3;
    ts.parameter_server_count = 1;
    ts.tf_port = 29500;
    char why[128];
    ck_assert_int_eq(dist_tf_check(&ts, why, sizeof why), 0);
    ck_assert(dist_tf_is(&ts));
    envv_t e = {0};
    ts.node_rank = 1;
    dist_tf_env(&ts, &e);
    ck_assert_str_eq(s_env(&e, "DROVER_TF_CLUSTER"),
                     "{\"worker\": [\"10.0.0.1:29500\", \"10.0.0.1:29501\", "
                     "\"10.0.0.2:29502\"], \"ps\": [\"10.0.0.2:29503\"]}");
    ck_assert_str_eq(s_env(&e, "DROVER_TF_TASKS"), "worker:2,ps:0");
    ck_assert_str_eq(s_env(&e, "DROVER_SPAWN_FIRST_RANK"), "2");
    ck_assert_uint_eq(dist_tf_local(&ts), 2);
    envv_free(&e);
    /* no ps: no "ps" key; names where no addresses came */
    ts.parameter_server_count = 0;
    ts.worker_count = 2;
    ts.n_host_addrs = 0;
    ts.node_rank = 0;
    dist_tf_env(&ts, &e);
    ck_assert_str_eq(s_env(&e, "DROVER_TF_CLUSTER"),
                     "{\"worker\": [\"n-0:29500\", \"n-1:29501\"]}");
    ck_assert_str_eq(s_env(&e, "DROVER_TF_TASKS"), "worker:0");
    envv_free(&e);
    /* what an agent refuses */
    ts.worker_count = 1; /* fewer tasks than nodes */
    ck_assert_int_eq(dist_tf_check(&ts, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "1 workers and 0 parameter servers"));
    ts.worker_count = 0;
    ts.parameter_server_count = 2;
    ck_assert_int_eq(dist_tf_check(&ts, why, sizeof why), -1);
    ts.worker_count = DIST_MAX_TASKS + 1;
    ts.parameter_server_count = 0;
    ck_assert_int_eq(dist_tf_check(&ts, why, sizeof why), -1);
    ts.worker_count = 4;
    ts.tf_port = 0;
    ck_assert_int_eq(dist_tf_check(&ts, why, sizeof why), -1);
    ts.tf_port = 65533; /* four ports do not fit */
    ck_assert_int_eq(dist_tf_check(&ts, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "port 65533 for 4 tasks"));
    ts.tf_port = 65532;
    ck_assert_int_eq(dist_tf_check(&ts, why, sizeof why), 0);
}
END_TEST

/* ---- drover-launch --spawn, the real binary ---------------------------- */

/* The build's drover-launch: $DROVER_BIN, else next to this program. */
static char *s_launcher(void)
{
    const char *bin = getenv("DROVER_BIN");
    if (bin && *bin)
        return dr_asprintf("%s/drover-launch", bin);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    ck_assert_int_gt(n, 0);
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    return dr_asprintf("%s/drover-launch", self);
}

/* Runs `env VARS launcher --spawn P sh -c SCRIPT` (stderr too); its
 * output (malloc'd) and exit status. */
static char *s_spawn(const char *vars, int p, const char *script, int *status)
{
    char *bin = s_launcher();
    ck_assert_msg(access(bin, X_OK) == 0, "no launcher at %s", bin);
    char *cmd = dr_asprintf("env -u TF_CONFIG %s %s --spawn %d sh -c '%s' 2>&1",
                            vars, bin, p, script);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    dr_buf_t out = {0};
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        dr_buf_append(&out, buf, n);
    int st = pclose(f);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    char *r = dr_strdup(s_str(&out));
    dr_buf_free(&out);
    free(cmd);
    free(bin);
    return r;
}

/* Each process gets its task's TF_CONFIG and a rank from the first one;
 * no PyTorch variables. */
START_TEST(test_spawn_tf)
{
    int st = 0;
    char *out = s_spawn("DROVER_TF_CLUSTER='{\"worker\": [\"a:1\", \"b:2\"], "
                        "\"ps\": [\"b:3\"]}' DROVER_TF_TASKS=worker:1,ps:0 "
                        "DROVER_SPAWN_FIRST_RANK=1",
                        2, "echo \"$TF_CONFIG|${RANK:-none}\"", &st);
    ck_assert_int_eq(st, 0);
    const char *want[] = {
        "[1,1]<stdout>:{\"cluster\": {\"worker\": [\"a:1\", \"b:2\"], \"ps\": "
        "[\"b:3\"]}, \"task\": {\"type\": \"worker\", \"index\": 1}, "
        "\"environment\": \"cloud\"}|none\n",
        "[1,2]<stdout>:{\"cluster\": {\"worker\": [\"a:1\", \"b:2\"], \"ps\": "
        "[\"b:3\"]}, \"task\": {\"type\": \"ps\", \"index\": 0}, "
        "\"environment\": \"cloud\"}|none\n"};
    for (int i = 0; i < 2; i++)
        ck_assert_msg(strstr(out, want[i]), "'%s' lacks '%s'", out, want[i]);
    free(out);
    /* malformed task lists: refused before anything starts */
    const char *bad[] = {
        "DROVER_TF_CLUSTER='{}' DROVER_TF_TASKS=worker:0",
        "DROVER_TF_CLUSTER='{}' DROVER_TF_TASKS=worker:0,chief:1",
        "DROVER_TF_CLUSTER='{}' DROVER_TF_TASKS=worker:-1,ps:0",
        "DROVER_TF_CLUSTER='{}' DROVER_TF_TASKS=worker:0,ps:0,ps:1",
        "DROVER_TF_CLUSTER='{}'",
        "DROVER_TF_CLUSTER=x DROVER_TF_TASKS=worker:0,ps:0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out = s_spawn(bad[i], 2, "echo started", &st);
        ck_assert_int_eq(st, 255);
        ck_assert_msg(strstr(out, "DROVER_TF_TASKS does not name 2 tasks") &&
                          !strstr(out, "started"),
                      "%s: '%s'", bad[i], out);
        free(out);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("mpi_tag");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, test_interleaved_partial);
    tcase_add_test(tc, test_many_ranks);
    tcase_add_test(tc, test_eof_partials);
    tcase_add_test(tc, test_not_tags);
    tcase_add_test(tc, test_local);
    tcase_add_test(tc, test_dist_share);
    tcase_add_test(tc, test_tf_env);
    tcase_add_test(tc, test_spawn_tf);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
