/* check_ratelim.c - unit tests of the refusal limiter (scheduler/ratelim.c):
 * one record per key and window, the count of what was left out, keys
 * apart, and a full table that forgets its oldest key. */
#include "ratelim.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

START_TEST(test_window)
{
    ratelim_t *r = ratelim_new(1000);
    uint64_t left = 99;
    ck_assert_int_eq(ratelim_allow(r, "a", 10, &left), 1);
    ck_assert_uint_eq(left, 0);
    /* a flood of the same refusal: only counted */
    for (int i = 0; i < 500; i++)
        ck_assert_int_eq(ratelim_allow(r, "a", 10 + i, &left), 0);
    /* another peer is recorded on its own */
    ck_assert_int_eq(ratelim_allow(r, "b", 20, &left), 1);
    /* the next window records one, saying how many were left out */
    ck_assert_int_eq(ratelim_allow(r, "a", 1010, &left), 1);
    ck_assert_uint_eq(left, 500);
    ck_assert_int_eq(ratelim_allow(r, "a", 1011, &left), 0);
    ratelim_destroy(&r);
    ck_assert_ptr_null(r);
    ratelim_destroy(&r);
}
END_TEST

START_TEST(test_full_table)
{
    ratelim_t *r = ratelim_new(1000000);
    uint64_t left;
    char key[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "peer-%d", i);
        ck_assert_int_eq(ratelim_allow(r, key, 1 + i, &left), 1);
    }
    /* the newest keys are still known; the oldest were forgotten */
    ck_assert_int_eq(ratelim_allow(r, "peer-199", 500, &left), 0);
    ck_assert_int_eq(ratelim_allow(r, "peer-0", 500, &left), 1);
    ratelim_destroy(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ratelim");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_window);
    tcase_add_test(tc, test_full_table);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
