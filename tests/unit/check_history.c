/* check_history.c - unit tests of the clusters' history
 * (scheduler/history.c): a ring that keeps only its last samples, oldest
 * first, plus the one taken at the request; a new cluster sampled at
 * once; a deleted cluster's ring dropped. */
#include "dict.h"
#include "history.h"
#include "queue.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_ring_bounded)
{
    sched_t s;
    memset(&s, 0, sizeof s);
    s.jobs = dict_new_u64();
    cluster_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.cfg.name, sizeof c.cfg.name, "cpu");
    c.queue = queue_new();
    node_t n1, n2;
    memset(&n1, 0, sizeof n1);
    memset(&n2, 0, sizeof n2);
    n1.state = NODE_READY;
    n2.state = NODE_PREPARING;
    node_t *nodes[] = {&n1, &n2};
    c.nodes = nodes;
    c.nnodes = 1;
    s.clusters = &c;

    ck_assert_ptr_null(history_new(0, 3));
    ck_assert_ptr_null(history_new(1000, 0));
    history_t *h = history_new(1000, 3);
    ck_assert_ptr_nonnull(h);
    /* ticks at 0..9 s, every 100 ms: one sample a second, the last 3 kept */
    for (int64_t t = 1; t < 10000; t += 100) {
        c.nnodes = t >= 8000 ? 2 : 1;
        history_tick(h, &s, t);
    }
    json_t *o = history_json(h, &s, &c);
    ck_assert_str_eq(json_string_value(json_object_get(o, "cluster")), "cpu");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "interval_s")), 1);
    json_t *a = json_object_get(o, "samples");
    ck_assert_uint_eq(json_array_size(a), 4); /* 3 kept + now */
    /* oldest first: the samples at 7, 8, 9 s; the node came at 8 s */
    json_t *first = json_array_get(a, 0), *last = json_array_get(a, 3);
    ck_assert_int_eq(json_integer_value(json_object_get(first, "total_nodes")),
                     1);
    ck_assert_int_eq(json_integer_value(json_object_get(last, "total_nodes")),
                     2);
    json_t *ln = json_object_get(last, "nodes");
    ck_assert_int_eq(json_integer_value(json_object_get(ln, "idle")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(ln, "preparing")), 1);
    ck_assert(json_is_null(json_object_get(last, "gpu_utilization")));
    ck_assert(json_integer_value(json_object_get(first, "ts")) <=
              json_integer_value(json_object_get(last, "ts")));
    json_decref(o);

    /* a new cluster is sampled at once, not at the next interval */
    cluster_t c2;
    memset(&c2, 0, sizeof c2);
    snprintf(c2.cfg.name, sizeof c2.cfg.name, "gpu");
    c2.queue = queue_new();
    c.next = &c2;
    history_tick(h, &s, 10001);
    o = history_json(h, &s, &c2);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "samples")), 2);
    json_decref(o);
    /* a deleted cluster's ring goes: made again, it starts afresh */
    s.clusters = &c2;
    history_tick(h, &s, 11001);
    s.clusters = &c;
    o = history_json(h, &s, &c);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "samples")), 1);
    json_decref(o);

    history_destroy(&h);
    ck_assert_ptr_null(h);
    history_destroy(&h);
    queue_destroy(&c.queue);
    queue_destroy(&c2.queue);
    dict_destroy(&s.jobs);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("history");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ring_bounded);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
