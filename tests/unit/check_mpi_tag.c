/* check_mpi_tag.c - unit tests of the output splitter (agent/mpi_tag.c):
 * OpenMPI's tags made node names, the culprit of a failure, lines held
 * until whole and bounded; ranks that write partial lines (OpenMPI tags
 * each piece, pieces of several ranks interleave, tags are cut by reads);
 * and how a TensorFlow job's tasks are spread and described
 * (common/dist.c, agent/dist_tf.c, drover-launch --spawn).
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

/* A string of what b holds (it keeps a NUL after its data). */
static const char *s_str(const dr_buf_t *b)
{
    return b->data ? b->data : "";
}

/* ---- whole lines, tags at a line's start -------------------------------- */

/* What feeding `in` (stream, eof) at once gives, with hosts {a,b,c}. */
static void s_tag_eq(uint32_t slots, int stream, const char *in,
                     const char *want)
{
    mpi_tagger_t *t = mpi_tagger_new(s_hosts, 3, slots);
    dr_buf_t out = {0};
    mpi_tagger_feed(t, stream, in, strlen(in), 1, &out);
    ck_assert_msg(strcmp(s_str(&out), want) == 0, "'%s' gave '%s', not '%s'",
                  in, s_str(&out), want);
    dr_buf_free(&out);
    mpi_tagger_destroy(&t);
    ck_assert_ptr_null(t);
}

START_TEST(test_tagger_lines)
{
    s_tag_eq(2, 0, "[1,3]<stdout>:hello\n", "[b rank 3] hello\n");
    s_tag_eq(2, 0, "[1,0]<stdout>:x\n", "[a rank 0] x\n");
    s_tag_eq(2, 0, "[1,5]<stdout>:last\n", "[c rank 5] last\n");
    s_tag_eq(2, 1, "[1,2]<stderr>:oops\n", "[b rank 2] oops\n");
    s_tag_eq(1, 0, "[1,2]<stdout>:\n", "[c rank 2] \n");
    /* beyond the hosts: a rank with no node */
    s_tag_eq(2, 0, "[1,6]<stdout>:far\n", "[? rank 6] far\n");
    s_tag_eq(2, 0, "[1,99999999]<stdout>:far\n", "[? rank 99999999] far\n");
    /* several lines in one piece, tagged and not */
    s_tag_eq(2, 0, "[1,0]<stdout>:one\nmpirun: a note\n[1,4]<stdout>:two\n\n",
             "[a rank 0] one\nmpirun: a note\n[c rank 4] two\n\n");
    /* lines that are not OpenMPI's tags pass as they are */
    const char *same[] = {"plain line\n",
                          "[x,y]<stdout>:a\n",
                          "[1,2]<foo>:a\n",
                          "[1,2]<stdout>a\n",
                          "[1]<stdout>:a\n",
                          "[1,2]<STDOUT>:a\n",
                          "[1,2]<stdoutx>:a\n",
                          "[1,2]<stdout:a\n",
                          "[1,2<stdout>:a\n",
                          "<stdout>:a\n",
                          "[,]<stdout>:a\n",
                          "[1,2]<stdout>",
                          "[1,2]",
                          "["};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        s_tag_eq(2, 0, same[i], same[i]);
    /* a tag inside a line is stripped too: the text after it is that
     * rank's (mpirun tags every piece a rank writes); what came before
     * it waits for its own newline */
    s_tag_eq(2, 0, " [1,2]<stdout>:a\n", "[b rank 2] a\n ");
    s_tag_eq(2, 0, "text [1,2]<stdout>:a\n", "[b rank 2] a\ntext ");
    s_tag_eq(2, 0, "", "");
}
END_TEST

/* A plain multi-node job's lines: each gets its node, partial lines are
 * held until whole, the last one flushed at EOF. */
START_TEST(test_tagger_node)
{
    dr_buf_t out = {0};
    mpi_tagger_t *t = mpi_tagger_new_node("n-2");
    mpi_tagger_feed(t, 0, "one\ntw", 6, 0, &out);
    ck_assert_str_eq(s_str(&out), "[n-2] one\n");
    out.len = 0;
    mpi_tagger_feed(t, 0, "o\nlast", 6, 1, &out);
    ck_assert_str_eq(s_str(&out), "[n-2] two\n[n-2] last");
    mpi_tagger_destroy(&t);
    dr_buf_free(&out);
}
END_TEST

/* mpirun's word on the first rank that died is kept as the culprit. */
START_TEST(test_tagger_culprit)
{
    dr_buf_t out = {0};
    mpi_tagger_t *t = mpi_tagger_new(s_hosts, 3, 2);
    ck_assert_ptr_null(mpi_tagger_culprit(t));
    const char *a = "[1,0]<stdout>:fine\n";
    mpi_tagger_feed(t, 0, a, strlen(a), 0, &out);
    const char *b = "mpirun noticed that process rank 3 with PID 0 on node b "
                    "exited on signal 9 (Killed).\n";
    mpi_tagger_feed(t, 1, b, strlen(b), 0, &out);
    ck_assert_str_eq(mpi_tagger_culprit(t),
                     "MPI rank 3 with PID 0 on node b exited on signal 9 "
                     "(Killed)");
    const char *c = "mpirun noticed that process rank 4 with PID 0 on node c "
                    "exited on signal 15 (Terminated).\n";
    mpi_tagger_feed(t, 1, c, strlen(c), 0, &out);
    ck_assert_ptr_nonnull(strstr(mpi_tagger_culprit(t), "rank 3")); /* first */
    mpi_tagger_destroy(&t);
    ck_assert_ptr_null(mpi_tagger_culprit(NULL));
    dr_buf_free(&out);
}
END_TEST

START_TEST(test_tagger_odd_shapes)
{
    dr_buf_t out = {0};
    /* slots 0 counts as 1 */
    mpi_tagger_t *t = mpi_tagger_new(s_hosts, 3, 0);
    mpi_tagger_feed(t, 0, "[1,1]<stdout>:x\n", 16, 0, &out);
    ck_assert_str_eq(s_str(&out), "[b rank 1] x\n");
    mpi_tagger_destroy(&t);
    out.len = 0;

    /* no hosts at all */
    t = mpi_tagger_new(NULL, 0, 2);
    mpi_tagger_feed(t, 0, "[1,0]<stdout>:x\n", 16, 0, &out);
    ck_assert_str_eq(s_str(&out), "[? rank 0] x\n");
    mpi_tagger_destroy(&t);
    mpi_tagger_destroy(&t); /* NULL is fine */

    /* its own copy of the names */
    char name[] = "mutable";
    char *h[] = {name};
    t = mpi_tagger_new(h, 1, 1);
    strcpy(name, "changed");
    out.len = 0;
    mpi_tagger_feed(t, 0, "[1,0]<stdout>:x\n", 16, 0, &out);
    ck_assert_str_eq(s_str(&out), "[mutable rank 0] x\n");
    mpi_tagger_destroy(&t);
    dr_buf_free(&out);
}
END_TEST

START_TEST(test_tagger_partial)
{
    mpi_tagger_t *t = mpi_tagger_new(s_hosts, 3, 2);
    dr_buf_t out = {0};

    /* a line in pieces is held until its newline, tag split too */
    const char *parts[] = {"[1,", "3]<std", "out>:hel", "lo"};
    for (size_t i = 0; i < 4; i++) {
        mpi_tagger_feed(t, 0, parts[i], strlen(parts[i]), 0, &out);
        ck_assert_uint_eq(out.len, 0);
    }
    mpi_tagger_feed(t, 0, "\n[1,0]<stdout>:next", 19, 0, &out);
    ck_assert_str_eq(s_str(&out), "[b rank 3] hello\n");
    /* eof flushes the incomplete rest */
    out.len = 0;
    mpi_tagger_feed(t, 0, "", 0, 1, &out);
    ck_assert_str_eq(s_str(&out), "[a rank 0] next");
    /* and nothing is left after it */
    out.len = 0;
    mpi_tagger_feed(t, 0, "", 0, 1, &out);
    ck_assert_uint_eq(out.len, 0);

    /* stdout's and stderr's incomplete lines are kept apart */
    mpi_tagger_feed(t, 0, "[1,0]<stdout>:par", 17, 0, &out);
    mpi_tagger_feed(t, 1, "[1,1]<stderr>:e\n", 16, 0, &out);
    ck_assert_str_eq(s_str(&out), "[a rank 1] e\n");
    mpi_tagger_feed(t, 1, "[1,2]<stderr>:half", 18, 1, &out); /* eof: 1 */
    ck_assert_str_eq(s_str(&out), "[a rank 1] e\n[b rank 2] half");
    out.len = 0;
    mpi_tagger_feed(t, 0, "tial\n", 5, 0, &out);
    ck_assert_str_eq(s_str(&out), "[a rank 0] partial\n");

    /* eof with data: the last line without its newline */
    out.len = 0;
    mpi_tagger_feed(t, 0, "[1,4]<stdout>:no newline", 24, 1, &out);
    ck_assert_str_eq(s_str(&out), "[c rank 4] no newline");
    mpi_tagger_destroy(&t);

    /* byte by byte gives what all at once gives */
    const char *text = "[1,0]<stdout>:a\nplain\n[1,5]<stderr>:b\n[1,7]"
                       "<stdout>:c\n[9,9]<bad>:d\ntail";
    dr_buf_t whole = {0};
    t = mpi_tagger_new(s_hosts, 3, 2);
    mpi_tagger_feed(t, 0, text, strlen(text), 1, &whole);
    mpi_tagger_destroy(&t);
    ck_assert_str_eq(s_str(&whole), "[a rank 0] a\nplain\n[c rank 5] b\n"
                                    "[? rank 7] c\n[9,9]<bad>:d\ntail");
    out.len = 0;
    t = mpi_tagger_new(s_hosts, 3, 2);
    for (size_t i = 0; text[i]; i++)
        mpi_tagger_feed(t, 0, text + i, 1, 0, &out);
    mpi_tagger_feed(t, 0, NULL, 0, 1, &out);
    mpi_tagger_destroy(&t);
    ck_assert_str_eq(s_str(&out), s_str(&whole));
    dr_buf_free(&whole);
    dr_buf_free(&out);
}
END_TEST

START_TEST(test_tagger_long_line)
{
    size_t big = 70000; /* over the 64 KiB a line may be held */
    char *x = dr_malloc(big);
    memset(x, 'x', big);
    dr_buf_t out = {0};

    /* in one piece, never a newline: passed on, not held */
    mpi_tagger_t *t = mpi_tagger_new(s_hosts, 3, 2);
    mpi_tagger_feed(t, 0, x, big, 0, &out);
    ck_assert_uint_eq(out.len, big);
    ck_assert_int_eq(memcmp(out.data, x, big), 0);
    mpi_tagger_destroy(&t);

    /* in small pieces: what is held stays bounded, and nothing is lost */
    out.len = 0;
    t = mpi_tagger_new(s_hosts, 3, 2);
    mpi_tagger_feed(t, 0, "[1,2]<stdout>:", 14, 0, &out);
    size_t fed = 0, pieces = 0;
    for (int round = 0; round < 300; round++) {
        mpi_tagger_feed(t, 0, x, 1000, 0, &out);
        fed += 1000;
        pieces = 0;
        for (const char *p = out.data;
             p && (p = memmem(p, out.len - (size_t)(p - out.data),
                              "[b rank 2] ", 11));
             p += 11)
            pieces++;
        ck_assert_uint_lt(fed - (out.len - 11 * pieces), 64u << 10); /* held */
    }
    ck_assert_uint_gt(pieces, 0);
    /* the first piece passed on was tagged */
    ck_assert_int_eq(strncmp(out.data, "[b rank 2] xxx", 14), 0);
    mpi_tagger_feed(t, 0, "\n", 1, 1, &out);
    /* everything arrived: each piece passed on tagged, 300000 x's, the
     * newline */
    size_t xs = 0;
    for (size_t i = 0; i < out.len - 1; i++) {
        if (strncmp(out.data + i, "[b rank 2] ", 11) == 0)
            i += 10;
        else if (out.data[i] == 'x')
            xs++;
        else
            ck_abort_msg("byte %zu is '%c'", i, out.data[i]);
    }
    ck_assert_uint_eq(xs, 300000);
    ck_assert_int_eq(out.data[out.len - 1], '\n');
    mpi_tagger_destroy(&t);

    /* a held piece then a newline far away: one line, passed on whole */
    out.len = 0;
    t = mpi_tagger_new(s_hosts, 3, 2);
    mpi_tagger_feed(t, 1, "[1,0]<stderr>:", 14, 0, &out);
    mpi_tagger_feed(t, 1, x, 1000, 0, &out);
    ck_assert_uint_eq(out.len, 0);
    mpi_tagger_feed(t, 1, "\n", 1, 0, &out);
    ck_assert_uint_eq(out.len, 11 + 1000 + 1);
    mpi_tagger_destroy(&t);
    dr_buf_free(&out);
    free(x);
}
END_TEST

/* ---- partial lines ------------------------------------------------------ */

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
    tcase_add_test(tc, test_tagger_node);
    tcase_add_test(tc, test_tagger_culprit);
    tcase_add_test(tc, test_tagger_lines);
    tcase_add_test(tc, test_tagger_odd_shapes);
    tcase_add_test(tc, test_tagger_partial);
    tcase_add_test(tc, test_tagger_long_line);
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
