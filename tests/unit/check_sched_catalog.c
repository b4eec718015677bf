/* check_sched_catalog.c - the scheduler's vm-size catalog: the embedded
 * default and every kind of bad CSV. */
#include "catalog.h"
#include "dr_err.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_catalog_default)
{
    catalog_t *c = catalog_new_default();
    const char *need[] = {"Standard_D2_v2",
                          "Standard_D3_v2",
                          "Standard_D4_v2",
                          "Standard_D11_v2",
                          "Standard_D12_v2",
                          "Standard_F4s_v2",
                          "Standard_NC6",
                          "Standard_NC12",
                          "Standard_NC24",
                          "Standard_NC6s_v3",
                          "Standard_NC24s_v3",
                          "Standard_ND40rs_v2",
                          "Standard_NC24ads_A100_v4",
                          "Standard_ND96asr_v4",
                          "Standard_ND96isr_H100_v5"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        ck_assert_msg(catalog_find(c, need[i]) != NULL, "missing %s", need[i]);
    const vm_size_t *v = catalog_find(c, "standard_nc24S_V3");
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v->name, "Standard_NC24s_v3");
    ck_assert_uint_eq(v->vcpus, 24);
    ck_assert_uint_eq(v->gpus, 4);
    ck_assert_str_eq(v->family, "standardNCSv3Family");
    v = catalog_find(c, "Standard_D2_v2");
    ck_assert_uint_eq(v->memory_mb, 7 * 1024);
    ck_assert_ptr_null(catalog_find(c, "Standard_Nope"));
    catalog_destroy(&c);
    ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_catalog_bad)
{
    catalog_t *c = NULL;
    char err[128];
    ck_assert_int_eq(catalog_parse("a,1,2,0,,0\n", &c, err, sizeof err),
                     DR_EINVAL);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(err, "line 1: expected 7 comma-separated fields");
    ck_assert_int_eq(catalog_parse("# c\nx,0,2,0,,0,f\n", &c, err, sizeof err),
                     DR_EINVAL);
    ck_assert(strstr(err, "line 2: bad vcpus") != NULL);
    ck_assert_int_eq(
        catalog_parse("x,1,2,0,,0,f\nX,1,2,0,,0,f\n", &c, err, sizeof err),
        DR_EINVAL);
    ck_assert(strstr(err, "duplicate") != NULL);
    ck_assert_int_eq(catalog_parse("x,1,-2,0,,0,f\n", &c, err, sizeof err),
                     DR_EINVAL);
    ck_assert_int_eq(catalog_parse("x,1,2,1,,0,f\n", &c, err, sizeof err),
                     DR_EINVAL); /* a GPU size needs a model */
    ck_assert_int_eq(catalog_parse("# only comments\n", &c, err, sizeof err),
                     DR_EINVAL);
    ck_assert_int_eq(catalog_load("/nonexistent/x.csv", &c, err, sizeof err),
                     DR_EIO);
    ck_assert_int_eq(catalog_parse("x,1,2,0,,0,f\n", &c, err, sizeof err), 0);
    ck_assert_uint_eq(catalog_count(c), 1);
    catalog_destroy(&c);
}
END_TEST

Suite *catalog_suite(void)
{
    Suite *s = suite_create("catalog");
    TCase *tc = tcase_create("catalog");
    tcase_add_test(tc, test_catalog_default);
    tcase_add_test(tc, test_catalog_bad);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(catalog_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
