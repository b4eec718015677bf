/* store_pg_usage.h - the accounting table on PostgreSQL
 * (store_pg_usage.c), and the SQL store_usage.c shares with it. */
#ifndef DR_STORE_PG_USAGE_H
#define DR_STORE_PG_USAGE_H

#include "store.h"
#include "store_pg.h"

#include <stddef.h>

extern const char store_usage_schema[];
extern const char store_usage_put_sql[];
/* The report's query: the sums (waits 0) or the waits (1), grouped by
 * `by`; DR_EINVAL for an unknown `by`. */
int store_usage_sql(int waits, const char *by, char *buf, size_t cap);

int store_pg_usage_put(store_pg_t *self, const store_usage_t *u);
int store_pg_usage_report(store_pg_t *self, const char *by, int64_t since_ms,
                          int64_t until_ms, store_usage_sum_cb sum,
                          store_usage_wait_cb wait, void *arg);

#endif
