/* check_keys.c - unit tests of common/keys.c: key files and the
 * "FILE or Z85" argument of a peer's public key. */
#include "dr_err.h"
#include "keys.h"

#include <check.h>
#include <zmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A key file whose path is exactly 40 characters long, of the Z85
 * alphabet: it must be read as a file, not taken for a key (regression:
 * the CLI then timed out and local agents never registered). */
START_TEST(test_public_arg_path_of_40)
{
    char dir[] = "/tmp/ckkeysXXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    dr_keypair_t kp;
    ck_assert_int_eq(keys_generate(&kp), 0);
    char path[64];
    /* "/tmp/ckkeysXXXXXX/" is 18 characters; pad the name to 40 */
    int n = snprintf(path, sizeof path, "%s/%.*s", dir, 40 - 18,
                     "abcdefghijklmnopqrstuvwxyz");
    ck_assert_int_eq(n, 40);
    char err[256], out[DR_Z85_KEY_LEN + 1];
    ck_assert_int_eq(keys_write(path, NULL, &kp, err, sizeof err), 0);
    ck_assert_int_eq(keys_public_arg(path, out, err, sizeof err), 0);
    ck_assert_str_eq(out, kp.public_z85);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_public_arg_z85_and_bad)
{
    dr_keypair_t kp;
    ck_assert_int_eq(keys_generate(&kp), 0);
    char err[256], out[DR_Z85_KEY_LEN + 1];
    ck_assert_int_eq(keys_public_arg(kp.public_z85, out, err, sizeof err), 0);
    ck_assert_str_eq(out, kp.public_z85);
    ck_assert_int_eq(keys_public_arg("", out, err, sizeof err), DR_EINVAL);
    ck_assert_int_eq(keys_public_arg(NULL, out, err, sizeof err), DR_EINVAL);
    /* neither a file nor a key: the file's error names the path */
    ck_assert_int_eq(
        keys_public_arg("/nonexistent/key.pub", out, err, sizeof err), DR_EIO);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/key.pub"));
    /* a 40-character string that is not Z85 and no file */
    ck_assert_int_lt(keys_public_arg("~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
                                     out, err, sizeof err),
                     0);
}
END_TEST

/* A token's join key: the same for the same token, another for any other
 * token, a working CURVE pair (its public half is zmq_curve_public of its
 * secret half). */
START_TEST(test_join_pair)
{
    const char *tok = "abcdef.0123456789abcdef0123456789abcdef";
    dr_keypair_t a, b, c;
    ck_assert_int_eq(keys_join_pair(tok, &a), 0);
    ck_assert_int_eq(keys_join_pair(tok, &b), 0);
    ck_assert_int_eq(
        keys_join_pair("abcdef.0123456789abcdef0123456789abcdee", &c), 0);
    ck_assert_str_eq(a.public_z85, b.public_z85);
    ck_assert_str_eq(a.secret_z85, b.secret_z85);
    ck_assert_str_ne(a.public_z85, c.public_z85);
    ck_assert(keys_valid_z85(a.public_z85));
    char pub[41];
    ck_assert_int_eq(zmq_curve_public(pub, a.secret_z85), 0);
    ck_assert_str_eq(pub, a.public_z85);
}
END_TEST

/* The installation id of the docker labels: stable, 16 hex digits, and
 * different for different keys. */
START_TEST(test_fingerprint)
{
    char a[DR_FINGERPRINT_LEN + 1], b[DR_FINGERPRINT_LEN + 1];
    keys_fingerprint("abc", a);
    /* SHA-256("abc") begins ba7816bf8f01cfea */
    ck_assert_str_eq(a, "ba7816bf8f01cfea");
    keys_fingerprint("abd", b);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(strlen(b), DR_FINGERPRINT_LEN);
}
END_TEST

/* keys.c writes Z85 itself (no libzmq in the CLI): the same text as
 * libzmq's, a pair libzmq takes, and libzmq's decoding of it. */
START_TEST(test_z85_as_libzmq)
{
    for (int i = 0; i < 50; i++) {
        dr_keypair_t kp;
        ck_assert_int_eq(keys_generate(&kp), 0);
        ck_assert_int_eq(strlen(kp.public_z85), DR_Z85_KEY_LEN);
        ck_assert(keys_valid_z85(kp.public_z85));
        ck_assert(keys_valid_z85(kp.secret_z85));
        uint8_t pk[32], sk[32];
        ck_assert_ptr_nonnull(zmq_z85_decode(pk, kp.public_z85));
        ck_assert_ptr_nonnull(zmq_z85_decode(sk, kp.secret_z85));
        char again[DR_Z85_KEY_LEN + 1], derived[DR_Z85_KEY_LEN + 1];
        ck_assert_ptr_nonnull(zmq_z85_encode(again, pk, sizeof pk));
        ck_assert_str_eq(again, kp.public_z85);
        /* the public key is the secret's: libzmq derives the same one */
        ck_assert_int_eq(zmq_curve_public(derived, kp.secret_z85), 0);
        ck_assert_str_eq(derived, kp.public_z85);
    }
    /* libzmq's pair reads back as valid; bad text does not */
    char pub[41], sec[41];
    ck_assert_int_eq(zmq_curve_keypair(pub, sec), 0);
    ck_assert(keys_valid_z85(pub));
    ck_assert(!keys_valid_z85("~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~"));
    ck_assert(!keys_valid_z85("%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%"));
    ck_assert(!keys_valid_z85("short"));
}
END_TEST

Suite *keys_suite(void)
{
    Suite *s = suite_create("keys");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_public_arg_path_of_40);
    tcase_add_test(tc, test_public_arg_z85_and_bad);
    tcase_add_test(tc, test_join_pair);
    tcase_add_test(tc, test_fingerprint);
    tcase_add_test(tc, test_z85_as_libzmq);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(keys_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
