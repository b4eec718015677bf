/* check_common.c - unit tests of the common library: parsers, errors,
 * routing-id encoding, envelope decoding. */
#include "array_spec.h"
#include "dr_err.h"
#include "util.h"
#include "wire.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_memory_sizes)
{
    uint64_t mb;
    ck_assert_int_eq(dr_parse_memory_mb("2G", &mb), 0);
    ck_assert_uint_eq(mb, 2048);
    ck_assert_int_eq(dr_parse_memory_mb("512M", &mb), 0);
    ck_assert_uint_eq(mb, 512);
    ck_assert_int_eq(dr_parse_memory_mb("1024", &mb), 0);
    ck_assert_uint_eq(mb, 1024);
    ck_assert_int_eq(dr_parse_memory_mb("1.5g", &mb), 0);
    ck_assert_uint_eq(mb, 1536);
    ck_assert_int_eq(dr_parse_memory_mb("64k", &mb), 0);
    ck_assert_uint_eq(mb, 1);
    const char *bad[] = {"",      "2Q",  "-1G", "G",   "0",
                         "1e400", "nan", "2 G", "abc", "99999999999T"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(dr_parse_memory_mb(bad[i], &mb) == DR_EINVAL,
                      "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(test_durations)
{
    uint64_t s;
    ck_assert_int_eq(dr_parse_duration_s("30m", &s), 0);
    ck_assert_uint_eq(s, 1800);
    ck_assert_int_eq(dr_parse_duration_s("45", &s), 0);
    ck_assert_uint_eq(s, 45);
    ck_assert_int_eq(dr_parse_duration_s("2h", &s), 0);
    ck_assert_uint_eq(s, 7200);
    ck_assert_int_eq(dr_parse_duration_s("1d", &s), 0);
    ck_assert_uint_eq(s, 86400);
    ck_assert_int_eq(dr_parse_duration_s("-5m", &s), DR_EINVAL);
    ck_assert_int_eq(dr_parse_duration_s("5x", &s), DR_EINVAL);
    ck_assert_int_eq(dr_parse_duration_s("", &s), DR_EINVAL);
}
END_TEST

START_TEST(test_ints_and_names)
{
    int64_t v;
    ck_assert_int_eq(dr_parse_i64("42", 0, 100, &v), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(dr_parse_i64("-1", 0, 100, &v), DR_EINVAL);
    ck_assert_int_eq(dr_parse_i64("101", 0, 100, &v), DR_EINVAL);
    ck_assert_int_eq(dr_parse_i64("4x", 0, 100, &v), DR_EINVAL);
    ck_assert_int_eq(dr_parse_i64("99999999999999999999", 0, 100, &v),
                     DR_EINVAL);
    ck_assert(dr_valid_name("cpu-cluster_1"));
    ck_assert(!dr_valid_name("-x"));
    ck_assert(!dr_valid_name("a b"));
    ck_assert(!dr_valid_name(""));
    ck_assert(!dr_valid_name("#abc"));
    char longname[80];
    memset(longname, 'a', 64);
    longname[64] = '\0';
    ck_assert(!dr_valid_name(longname));
}
END_TEST

START_TEST(test_errors)
{
    ck_assert_str_eq(dr_strerror(DR_ENOENT), "not found");
    ck_assert_str_eq(dr_errname(DR_EPROTO), "DR_EPROTO");
    ck_assert_str_eq(dr_strerror(-999), "unknown error");
    ck_assert_str_eq(dr_strerror(0), "success");
}
END_TEST

START_TEST(test_rid_encoding)
{
    char out[DR_MAX_ROUTING_ID + 1];
    unsigned char back[DR_MAX_ROUTING_ID];
    wire_rid_encode("node-1", 6, out);
    ck_assert_str_eq(out, "node-1");
    ck_assert_uint_eq(wire_rid_decode(out, back), 6);
    const unsigned char bin[] = {0, 0x8b, 0x45, 0x67, 0xff};
    wire_rid_encode(bin, sizeof bin, out);
    ck_assert_str_eq(out, "#008b4567ff");
    ck_assert_uint_eq(wire_rid_decode(out, back), 5);
    ck_assert_mem_eq(back, bin, 5);
    wire_rid_encode("#x", 2, out); /* a printable id that looks encoded */
    ck_assert_str_eq(out, "#2378");
}
END_TEST

START_TEST(test_body_names)
{
    ck_assert_str_eq(wire_body_name(DROVER__ENVELOPE__BODY_JOB_SUBMIT),
                     "job_submit");
    ck_assert_str_eq(wire_body_name(9999), "?");
}
END_TEST

/* Job array specs (issue 15): ranges, steps, lists, %N; bad ones refused
 * with the reason, leaving nothing allocated. */
START_TEST(test_array_specs)
{
    dr_array_t a;
    char why[160];
    ck_assert_int_eq(dr_array_parse("0-9", &a, why, sizeof why), 0);
    ck_assert_uint_eq(a.n, 10);
    ck_assert_uint_eq(a.idx[9], 9);
    ck_assert_uint_eq(a.max_running, 0);
    dr_array_free(&a);
    ck_assert_int_eq(dr_array_parse("0-20:5%3", &a, why, sizeof why), 0);
    ck_assert_uint_eq(a.n, 5);
    ck_assert_uint_eq(a.idx[4], 20);
    ck_assert_uint_eq(a.step, 5);
    ck_assert_uint_eq(a.max_running, 3);
    dr_array_free(&a);
    /* a list, sorted, each index once */
    ck_assert_int_eq(dr_array_parse("7,1,3-5,4", &a, why, sizeof why), 0);
    ck_assert_uint_eq(a.n, 5);
    uint32_t want[] = {1, 3, 4, 5, 7};
    ck_assert_mem_eq(a.idx, want, sizeof want);
    ck_assert_uint_eq(a.step, 1);
    dr_array_free(&a);
    ck_assert_int_eq(dr_array_parse("42", &a, why, sizeof why), 0);
    ck_assert_uint_eq(a.n, 1);
    dr_array_free(&a);
    ck_assert_int_eq(dr_array_parse("0-99999", &a, why, sizeof why), 0);
    ck_assert_uint_eq(a.n, DR_ARRAY_MAX_ELEMS);
    dr_array_free(&a);
    const char *bad[] = {"",   "5-1",   "0-100000", "a",      "1-3:0",
                         "%2", "0-3%0", "0-3%",     "1,,2",   "0-10000001",
                         "1-", "-1",    "1:2",      "0-3%2x", "123456789"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        ck_assert_msg(dr_array_parse(bad[i], &a, why, sizeof why) == DR_EINVAL,
                      "'%s' accepted", bad[i]);
        ck_assert_msg(strstr(why, "array '") != NULL, "'%s': %s", bad[i], why);
        ck_assert_ptr_null(a.idx);
    }
}
END_TEST

Suite *common_suite(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_memory_sizes);
    tcase_add_test(tc, test_durations);
    tcase_add_test(tc, test_ints_and_names);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_rid_encoding);
    tcase_add_test(tc, test_body_names);
    tcase_add_test(tc, test_array_specs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(common_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
