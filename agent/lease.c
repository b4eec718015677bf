/* lease.c - see lease.h.
 *
 * The shared word is an int64_t mono-ms expiry, written only by the agent
 * with __atomic stores and read by shims with __atomic loads: no lock, no
 * torn value.  The send times of the last few heartbeats are kept in a
 * small ring, so an answer finds the time of the message it answers;
 * answers arrive in order, so a ring of 16 covers every answer that can
 * still renew anything.
 */
#include "lease.h"
#include "log.h"
#include "util.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define S_RING 16

struct lease {
    volatile int64_t *word; /* the shared expiry */
    struct {
        uint64_t seq;
        int64_t sent_at;
        int used;
    } ring[S_RING];
};

lease_t *lease_new(void)
{
    void *m = mmap(NULL, sizeof(int64_t), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        log_warn_errno("lease: mmap");
        return NULL;
    }
    lease_t *self = dr_calloc(1, sizeof *self);
    self->word = m;
    __atomic_store_n(self->word, INT64_MAX, __ATOMIC_SEQ_CST);
    return self;
}

void lease_destroy(lease_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lease_t *self = *self_p;
    munmap((void *)self->word, sizeof(int64_t));
    free(self);
    *self_p = NULL;
}

void lease_sent(lease_t *self, uint64_t seq, int64_t sent_at)
{
    size_t i = (size_t)(seq % S_RING);
    self->ring[i].seq = seq;
    self->ring[i].sent_at = sent_at;
    self->ring[i].used = 1;
}

void lease_answered(lease_t *self, uint64_t seq, uint32_t lease_ms)
{
    size_t i = (size_t)(seq % S_RING);
    if (!self->ring[i].used || self->ring[i].seq != seq)
        return;
    if (lease_ms == 0) {
        __atomic_store_n(self->word, INT64_MAX, __ATOMIC_SEQ_CST);
        return;
    }
    int64_t until = self->ring[i].sent_at + (int64_t)lease_ms;
    int64_t cur = __atomic_load_n(self->word, __ATOMIC_SEQ_CST);
    if (cur == INT64_MAX || until > cur)
        __atomic_store_n(self->word, until, __ATOMIC_SEQ_CST);
}

void lease_end(lease_t *self)
{
    __atomic_store_n(self->word, 0, __ATOMIC_SEQ_CST);
}

int64_t lease_expiry(const lease_t *self)
{
    return __atomic_load_n(self->word, __ATOMIC_SEQ_CST);
}

const volatile int64_t *lease_word(const lease_t *self)
{
    return self->word;
}

int lease_word_expired(const volatile int64_t *word)
{
    if (!word)
        return 0;
    int64_t until = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    if (until == INT64_MAX)
        return 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return now >= until;
}

int lease_expired(const lease_t *self)
{
    return lease_word_expired(self->word);
}
