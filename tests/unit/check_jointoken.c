/* check_jointoken.c - unit tests of join tokens as values
 * (scheduler/jointoken.c): their form, every kind of malformed token, the
 * hash of the secret, and the expiry / revocation / uses rules. */
#include "dr_err.h"
#include "jointoken.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_generate_parse)
{
    char tok[JT_TOKEN_LEN + 1], tok2[JT_TOKEN_LEN + 1];
    ck_assert_int_eq(jt_generate(tok), 0);
    ck_assert_int_eq(jt_generate(tok2), 0);
    ck_assert_uint_eq(strlen(tok), JT_TOKEN_LEN);
    ck_assert_str_ne(tok, tok2);
    char id[JT_ID_LEN + 1], secret[JT_SECRET_LEN + 1];
    ck_assert_int_eq(jt_parse(tok, id, secret), 0);
    ck_assert_int_eq(strncmp(tok, id, JT_ID_LEN), 0);
    ck_assert_str_eq(secret, tok + JT_ID_LEN + 1);
    ck_assert(jt_valid_id(id));
}
END_TEST

START_TEST(test_malformed)
{
    char id[JT_ID_LEN + 1], secret[JT_SECRET_LEN + 1];
    const char *bad[] = {
        NULL,
        "",
        "abcdef",
        "abcdef.",
        "abcdef.0123456789abcdef0123456789abcde",   /* secret too short */
        "abcdef.0123456789abcdef0123456789abcdef0", /* too long */
        "abcdef-0123456789abcdef0123456789abcdef",  /* no dot */
        "abcDef.0123456789abcdef0123456789abcdef",  /* upper case */
        "abc de.0123456789abcdef0123456789abcdef",  /* space */
        "abcdef.0123456789abcdef0123456789abcd;f",  /* punctuation */
        "abcde.f0123456789abcdef0123456789abcdef",  /* dot misplaced */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(jt_parse(bad[i], id, secret), DR_EINVAL);
    ck_assert(!jt_valid_id("abc"));
    ck_assert(!jt_valid_id("ABCDEF"));
    ck_assert(!jt_valid_id(NULL));
}
END_TEST

START_TEST(test_hash)
{
    char h[JT_HASH_LEN + 1];
    jt_hash("abc", h);
    /* SHA-256("abc") */
    ck_assert_str_eq(
        h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    jt_row_t row = {0};
    jt_hash("0123456789abcdef0123456789abcdef", row.secret_hash);
    ck_assert(jt_secret_matches(&row, "0123456789abcdef0123456789abcdef"));
    ck_assert(!jt_secret_matches(&row, "0123456789abcdef0123456789abcdee"));
    row.secret_hash[0] = '\0';
    ck_assert(!jt_secret_matches(&row, "0123456789abcdef0123456789abcdef"));
}
END_TEST

START_TEST(test_usable)
{
    jt_row_t row = {0};
    strcpy(row.id, "abcdef");
    row.expires_at_ms = 1000;
    char why[128];
    ck_assert_int_eq(jt_usable(&row, 999, why, sizeof why), 0);
    ck_assert_int_eq(jt_usable(&row, 1000, why, sizeof why), DR_EPERM);
    ck_assert_ptr_nonnull(strstr(why, "expired"));
    row.max_uses = 2;
    row.uses = 1;
    ck_assert_int_eq(jt_usable(&row, 5, why, sizeof why), 0);
    row.uses = 2;
    ck_assert_int_eq(jt_usable(&row, 5, why, sizeof why), DR_EPERM);
    ck_assert_ptr_nonnull(strstr(why, "used 2 of 2"));
    row.max_uses = 0; /* no limit */
    row.uses = 100;
    ck_assert_int_eq(jt_usable(&row, 5, why, sizeof why), 0);
    row.revoked = 1;
    ck_assert_int_eq(jt_usable(&row, 5, why, sizeof why), DR_EPERM);
    ck_assert_ptr_nonnull(strstr(why, "revoked"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jointoken");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_generate_parse);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_hash);
    tcase_add_test(tc, test_usable);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
