/* dict.c - linear-probing hash tables with backward-shift deletion (no
 * tombstones), power-of-two capacity, grown at 70% load.  See dict.h. */
#include "dict.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t hash; /* 0 = empty slot */
    uint64_t ukey;
    char *skey;
    void *val;
} slot_t;

struct dict {
    slot_t *slots;
    size_t cap;
    size_t n;
    int str;
};

static uint64_t s_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x ? x : 1;
}

static uint64_t s_hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return s_mix(h);
}

static dict_t *s_new(int str)
{
    dict_t *d = dr_calloc(1, sizeof *d);
    d->cap = 64;
    d->slots = dr_calloc(d->cap, sizeof *d->slots);
    d->str = str;
    return d;
}

dict_t *dict_new_u64(void)
{
    return s_new(0);
}

dict_t *dict_new_str(void)
{
    return s_new(1);
}

void dict_destroy(dict_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dict_t *d = *self_p;
    if (d->str)
        for (size_t i = 0; i < d->cap; i++)
            free(d->slots[i].skey);
    free(d->slots);
    free(d);
    *self_p = NULL;
}

static int s_eq(const dict_t *d, const slot_t *s, uint64_t h, uint64_t uk,
                const char *sk)
{
    if (s->hash != h)
        return 0;
    return d->str ? strcmp(s->skey, sk) == 0 : s->ukey == uk;
}

static size_t s_find(const dict_t *d, uint64_t h, uint64_t uk, const char *sk)
{
    size_t mask = d->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        if (d->slots[i].hash == 0 || s_eq(d, &d->slots[i], h, uk, sk))
            return i;
    }
}

static void s_grow(dict_t *d)
{
    slot_t *old = d->slots;
    size_t oldcap = d->cap;
    d->cap *= 2;
    d->slots = dr_calloc(d->cap, sizeof *d->slots);
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].hash)
            continue;
        size_t j = s_find(d, old[i].hash, old[i].ukey, old[i].skey);
        d->slots[j] = old[i];
    }
    free(old);
}

static void s_put(dict_t *d, uint64_t h, uint64_t uk, const char *sk, void *val)
{
    if ((d->n + 1) * 10 > d->cap * 7)
        s_grow(d);
    size_t i = s_find(d, h, uk, sk);
    if (!d->slots[i].hash) {
        d->slots[i].hash = h;
        d->slots[i].ukey = uk;
        d->slots[i].skey = sk ? dr_strdup(sk) : NULL;
        d->n++;
    }
    d->slots[i].val = val;
}

static void *s_del(dict_t *d, uint64_t h, uint64_t uk, const char *sk)
{
    size_t mask = d->cap - 1;
    size_t i = s_find(d, h, uk, sk);
    if (!d->slots[i].hash)
        return NULL;
    void *val = d->slots[i].val;
    free(d->slots[i].skey);
    d->slots[i].hash = 0;
    d->slots[i].skey = NULL;
    d->n--;
    /* backward-shift: move later entries of the run into the hole */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; d->slots[j].hash; j = (j + 1) & mask) {
        size_t home = d->slots[j].hash & mask;
        int movable = (hole <= j) ? (home <= hole || home > j)
                                  : (home <= hole && home > j);
        if (movable) {
            d->slots[hole] = d->slots[j];
            d->slots[j].hash = 0;
            d->slots[j].skey = NULL;
            hole = j;
        }
    }
    return val;
}

void dict_put_u64(dict_t *self, uint64_t key, void *val)
{
    s_put(self, s_mix(key), key, NULL, val);
}

void dict_put_str(dict_t *self, const char *key, void *val)
{
    s_put(self, s_hash_str(key), 0, key, val);
}

void *dict_get_u64(const dict_t *self, uint64_t key)
{
    size_t i = s_find(self, s_mix(key), key, NULL);
    return self->slots[i].hash ? self->slots[i].val : NULL;
}

void *dict_get_str(const dict_t *self, const char *key)
{
    size_t i = s_find(self, s_hash_str(key), 0, key);
    return self->slots[i].hash ? self->slots[i].val : NULL;
}

void *dict_del_u64(dict_t *self, uint64_t key)
{
    return s_del(self, s_mix(key), key, NULL);
}

void *dict_del_str(dict_t *self, const char *key)
{
    return s_del(self, s_hash_str(key), 0, key);
}

size_t dict_size(const dict_t *self)
{
    return self->n;
}

void *dict_next(const dict_t *self, size_t *it)
{
    while (*it < self->cap) {
        size_t i = (*it)++;
        if (self->slots[i].hash)
            return self->slots[i].val;
    }
    return NULL;
}
