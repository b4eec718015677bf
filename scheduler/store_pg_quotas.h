/* store_pg_quotas.h - core quota rows on PostgreSQL (store_pg_quotas.c);
 * called by store_quotas.c when the store is PostgreSQL. */
#ifndef DR_STORE_PG_QUOTAS_H
#define DR_STORE_PG_QUOTAS_H

#include "store.h"
#include "store_pg.h"

int store_pg_quota_put(store_pg_t *self, const char *location,
                       const char *family, int64_t dedicated,
                       int64_t lowpriority);
int store_pg_quota_each(store_pg_t *self, store_quota_cb cb, void *arg);

#endif
