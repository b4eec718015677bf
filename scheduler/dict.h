/* dict.h - open-addressing hash tables for the scheduler's indexes.
 *
 * Keys are either uint64 (job ids) or NUL-terminated strings (node names,
 * compared exactly; the table copies string keys).  Values are borrowed
 * pointers: the dict never frees them.  Iteration order is unspecified and
 * the table must not be modified while iterating.
 */
#ifndef DR_DICT_H
#define DR_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct dict dict_t;

dict_t *dict_new_u64(void);
dict_t *dict_new_str(void);
void dict_destroy(dict_t **self_p);

/* Insert or replace. */
void dict_put_u64(dict_t *self, uint64_t key, void *val);
void dict_put_str(dict_t *self, const char *key, void *val);
void *dict_get_u64(const dict_t *self, uint64_t key);
void *dict_get_str(const dict_t *self, const char *key);
/* Returns the removed value or NULL. */
void *dict_del_u64(dict_t *self, uint64_t key);
void *dict_del_str(dict_t *self, const char *key);
size_t dict_size(const dict_t *self);

/* Iteration: start with *it = 0; returns NULL when done. */
void *dict_next(const dict_t *self, size_t *it);

#endif
