/* check_placement.c - the capacity index (capidx.c) and best fit through
 * it: for random clusters and random changes (jobs bound and unbound,
 * nodes added, removed, resized, drained, held for a gang, without GPUs
 * or docker), placement_best_node chooses the very node that a scan of
 * every node keeping the least found chooses (the best fit drover had
 * before the index), so that placement results do not change. */
#include "capidx.h"
#include "placement.h"
#include "sched_int.h"
#include "util.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The best fit of before the index: a scan of c->nodes. */
static int s_ref_resv_allows(const node_t *n, const job_t *j, int64_t now_ms)
{
    if (!n->resv_job || n->resv_job == j->id)
        return 1;
    return j->time_limit_ms && n->resv_until != INT64_MAX &&
           now_ms + (int64_t)j->time_limit_ms <= n->resv_until;
}

static node_t *s_ref_best(const cluster_t *c, const job_t *j)
{
    node_t *best = NULL;
    uint64_t best_cpu = UINT64_MAX, best_mem = UINT64_MAX;
    int64_t now = dr_now_ms();
    for (size_t i = 0; i < c->nnodes; i++) {
        node_t *n = c->nodes[i];
        if (!placement_fits(n, j) || !s_ref_resv_allows(n, j, now))
            continue;
        uint64_t fc = n->cpus - n->cpus_used - j->cpus;
        uint64_t fm = n->memory_mb - n->memory_used_mb - j->memory_mb;
        if (fc < best_cpu || (fc == best_cpu && fm < best_mem)) {
            best = n;
            best_cpu = fc;
            best_mem = fm;
            if (fc == 0 && fm == 0)
                break;
        }
    }
    return best;
}

/* A deterministic generator: the same run every time. */
static uint64_t s_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static uint32_t s_pick(uint64_t *x, uint32_t n)
{
    return (uint32_t)(s_rand(x) % n);
}

/* A node as node_add makes one (which needs the scheduler's tables). */
static node_t *s_node(cluster_t *c, uint32_t cpus, uint64_t mem)
{
    node_t *n = dr_calloc(1, sizeof *n);
    n->cluster = c;
    n->state = NODE_READY;
    n->runtimes = RT_PROCESS;
    n->cpus = cpus;
    n->memory_mb = mem;
    if (c->nnodes == c->nodes_cap) {
        c->nodes_cap = c->nodes_cap ? c->nodes_cap * 2 : 8;
        c->nodes = dr_realloc(c->nodes, c->nodes_cap * sizeof *c->nodes);
    }
    c->nodes[c->nnodes++] = n;
    capidx_insert(c->capidx, n);
    return n;
}

/* As node_forget does: the order of the others is kept. */
static void s_drop(cluster_t *c, size_t i)
{
    node_t *n = c->nodes[i];
    memmove(&c->nodes[i], &c->nodes[i + 1],
            (c->nnodes - i - 1) * sizeof *c->nodes);
    c->nnodes--;
    capidx_remove(c->capidx, n);
    free(n->jobs);
    free(n->gpus);
    free(n);
}

static void s_gpus(node_t *n, uint32_t count, uint32_t healthy)
{
    if (!n->gpus)
        n->gpus = dr_calloc(1, sizeof *n->gpus);
    memset(n->gpus, 0, sizeof *n->gpus);
    n->gpus->list.count = count;
    for (uint32_t i = 0; i < count; i++) {
        n->gpus->list.gpus[i].index = i;
        n->gpus->list.gpus[i].healthy = i < healthy;
    }
}

#define NJOBS 4000

START_TEST(test_best_fit_matches_scan)
{
    cluster_t c;
    memset(&c, 0, sizeof c);
    c.capidx = capidx_new();
    uint64_t x = 0x2545f4914f6cdd1dULL;
    static job_t held[NJOBS]; /* bound by the test (borrowed by nodes) */
    static node_t *on[NJOBS];
    size_t nheld = 0;
    uint32_t sizes[] = {2, 4, 8, 16, 64};
    for (int i = 0; i < 300; i++)
        s_node(&c, sizes[s_pick(&x, 5)], 1024 * (1 + s_pick(&x, 64)));
    size_t checked = 0, found = 0;
    for (int step = 0; step < 60000; step++) {
        uint32_t op = s_pick(&x, 100);
        if (op < 50 && nheld < NJOBS && c.nnodes) {
            /* bind a job where best fit says (or anywhere that fits) */
            job_t *j = &held[nheld];
            memset(j, 0, sizeof *j);
            j->id = (uint64_t)step + 1;
            j->cpus = 1 + s_pick(&x, 8);
            j->memory_mb = 256 * (1 + s_pick(&x, 16));
            node_t *n = placement_best_node(&c, j);
            if (!n)
                n = c.nodes[s_pick(&x, (uint32_t)c.nnodes)];
            node_bind(n, j);
            on[nheld++] = n;
        } else if (op < 70 && nheld) {
            uint32_t k = s_pick(&x, (uint32_t)nheld);
            node_unbind(on[k], &held[k]);
            held[k] = held[nheld - 1];
            on[k] = on[nheld - 1];
            nheld--;
            /* the moved job is bound by address: bind it again */
            if (k < nheld) {
                node_unbind(on[k], &held[nheld]);
                node_bind(on[k], &held[k]);
            }
        } else if (op < 71) {
            s_node(&c, sizes[s_pick(&x, 5)], 1024 * (1 + s_pick(&x, 64)));
        } else if (op < 80 && c.nnodes > 1) {
            size_t i = s_pick(&x, (uint32_t)c.nnodes);
            if (c.nodes[i]->njobs == 0)
                s_drop(&c, i);
        } else if (op < 86 && c.nnodes) {
            node_t *n = c.nodes[s_pick(&x, (uint32_t)c.nnodes)];
            node_capacity_set(n, sizes[s_pick(&x, 5)],
                              1024 * (1 + s_pick(&x, 64)));
        } else if (op < 89 && c.nnodes) {
            node_t *n = c.nodes[s_pick(&x, (uint32_t)c.nnodes)];
            n->drain = !n->drain;
        } else if (op < 91 && c.nnodes) {
            node_t *n = c.nodes[s_pick(&x, (uint32_t)c.nnodes)];
            n->state = n->state == NODE_READY ? NODE_LEAVING : NODE_READY;
        } else if (op < 93 && c.nnodes) {
            node_t *n = c.nodes[s_pick(&x, (uint32_t)c.nnodes)];
            n->runtimes = s_pick(&x, 2) ? RT_PROCESS | RT_DOCKER : RT_PROCESS;
        } else if (op < 95 && c.nnodes) {
            node_t *n = c.nodes[s_pick(&x, (uint32_t)c.nnodes)];
            s_gpus(n, 8, s_pick(&x, 9));
        } else if (c.nnodes) {
            node_t *n = c.nodes[s_pick(&x, (uint32_t)c.nnodes)];
            n->resv_job = s_pick(&x, 2) ? 7 : 0;
            n->resv_until = s_pick(&x, 2) ? INT64_MAX : dr_now_ms() + 60000;
        }
        /* a request of every kind, both ways */
        job_t q;
        memset(&q, 0, sizeof q);
        q.id = 1000000 + (uint64_t)step;
        q.cpus = 1 + s_pick(&x, 16);
        q.memory_mb = 256 * (uint64_t)s_pick(&x, 64);
        q.gpus = s_pick(&x, 4) ? 0 : 1 + s_pick(&x, 8);
        q.has_image = s_pick(&x, 5) == 0;
        q.time_limit_ms = s_pick(&x, 2) ? 30000 : 0;
        node_t *want = s_ref_best(&c, &q);
        node_t *got = placement_best_node(&c, &q);
        ck_assert_msg(got == want,
                      "step %d: best fit for %u cpus %llu MiB %u gpus: "
                      "index %p, scan %p",
                      step, q.cpus, (unsigned long long)q.memory_mb, q.gpus,
                      (void *)got, (void *)want);
        checked++;
        found += want != NULL;
    }
    /* both kinds of answer were seen many times */
    ck_assert_uint_gt(found, checked / 10);
    ck_assert_uint_lt(found, checked - checked / 10);
    while (c.nnodes)
        s_drop(&c, c.nnodes - 1);
    free(c.nodes);
    capidx_destroy(&c.capidx);
}
END_TEST

/* The index's own order and its largest free cpus. */
START_TEST(test_capidx_order)
{
    cluster_t c;
    memset(&c, 0, sizeof c);
    c.capidx = capidx_new();
    ck_assert_int_eq(capidx_max_cpus(c.capidx), -1);
    ck_assert_ptr_null(capidx_seek(c.capidx, 0, 0));
    node_t *a = s_node(&c, 4, 1000);
    node_t *b = s_node(&c, 8, 500);
    node_t *d = s_node(&c, 4, 1000);
    ck_assert_int_eq(capidx_max_cpus(c.capidx), 8);
    /* equal free capacity: the order they were added */
    ck_assert_ptr_eq(capidx_seek(c.capidx, 1, 0), a);
    ck_assert_ptr_eq(capidx_next(a), d);
    ck_assert_ptr_eq(capidx_next(d), b);
    ck_assert_ptr_null(capidx_next(b));
    /* too little memory at 4 free cpus: the next run of free cpus */
    ck_assert_ptr_eq(capidx_seek(c.capidx, 4, 2000), b);
    job_t j;
    memset(&j, 0, sizeof j);
    j.cpus = 5;
    j.memory_mb = 100;
    node_bind(b, &j); /* b: 3 cpus, 400 MiB free */
    ck_assert_ptr_eq(capidx_seek(c.capidx, 1, 0), b);
    ck_assert_int_eq(capidx_max_cpus(c.capidx), 4);
    node_unbind(b, &j);
    ck_assert_ptr_eq(capidx_seek(c.capidx, 5, 0), b);
    node_capacity_set(a, 2, 1000);
    ck_assert_ptr_eq(capidx_seek(c.capidx, 1, 0), a);
    s_drop(&c, 0);
    ck_assert_ptr_eq(capidx_seek(c.capidx, 1, 0), d);
    while (c.nnodes)
        s_drop(&c, c.nnodes - 1);
    ck_assert_ptr_null(capidx_seek(c.capidx, 0, 0));
    free(c.nodes);
    capidx_destroy(&c.capidx);
    capidx_destroy(&c.capidx); /* NULL: a no-op */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("placement");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_capidx_order);
    tcase_add_test(tc, test_best_fit_matches_scan);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
