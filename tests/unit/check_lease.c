/* check_lease.c - unit tests of the node's lease (agent/lease.c): arming
 * by answers, the send time that counts, old answers, and a forked child
 * (as a task's shim is) seeing the agent's updates through the shared
 * word. */
#include "lease.h"
#include "util.h"

#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

START_TEST(test_arming)
{
    lease_t *l = lease_new();
    ck_assert_ptr_nonnull(l);
    /* not armed: never expires */
    ck_assert(lease_expiry(l) == INT64_MAX);
    ck_assert_int_eq(lease_expired(l), 0);
    /* an answer to a message it never saw renews nothing */
    lease_answered(l, 7, 3000);
    ck_assert(lease_expiry(l) == INT64_MAX);
    int64_t t0 = dr_mono_ms();
    lease_sent(l, 0, t0 - 100); /* the register */
    lease_answered(l, 0, 3000);
    ck_assert(lease_expiry(l) == t0 - 100 + 3000);
    ck_assert_int_eq(lease_expired(l), 0);
    /* a later heartbeat renews from its own send time */
    lease_sent(l, 1, t0);
    lease_sent(l, 2, t0 + 50);
    lease_answered(l, 2, 3000);
    ck_assert(lease_expiry(l) == t0 + 50 + 3000);
    /* an answer to an older message never shortens it */
    lease_answered(l, 1, 3000);
    ck_assert(lease_expiry(l) == t0 + 50 + 3000);
    /* a message sent long ago that is answered only now: already past */
    lease_t *l2 = lease_new();
    lease_sent(l2, 5, t0 - 10000);
    lease_answered(l2, 5, 3000);
    ck_assert_int_eq(lease_expired(l2), 1);
    /* an overwritten ring slot: the old answer renews nothing */
    for (uint64_t s = 6; s < 6 + 32; s++)
        lease_sent(l2, s, t0);
    int64_t before = lease_expiry(l2);
    lease_answered(l2, 5, 3000);
    ck_assert(lease_expiry(l2) == before);
    /* lease_ms 0: the scheduler fences nothing, nor does the node */
    lease_sent(l2, 40, t0);
    lease_answered(l2, 40, 0);
    ck_assert(lease_expiry(l2) == INT64_MAX);
    lease_end(l);
    ck_assert_int_eq(lease_expired(l), 1);
    ck_assert_int_eq(lease_word_expired(NULL), 0);
    lease_destroy(&l);
    lease_destroy(&l2);
    ck_assert_ptr_null(l);
    lease_destroy(&l); /* NULL is fine */
}
END_TEST

/* The child polls the shared word as a shim does; the parent ends the
 * lease after fork, and the child must see it. */
START_TEST(test_shared_across_fork)
{
    lease_t *l = lease_new();
    lease_sent(l, 0, dr_mono_ms());
    lease_answered(l, 0, 60000);
    const volatile int64_t *w = lease_word(l);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        for (int i = 0; i < 500; i++) { /* 5 s at most */
            if (lease_word_expired(w))
                _exit(42);
            usleep(10000);
        }
        _exit(1);
    }
    usleep(50000);
    ck_assert_int_eq(lease_expired(l), 0);
    lease_end(l);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 42);
    lease_destroy(&l);
}
END_TEST

Suite *lease_suite(void)
{
    Suite *s = suite_create("lease");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_arming);
    tcase_add_test(tc, test_shared_across_fork);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(lease_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
