/* store_pg_logs.h - the job log table on PostgreSQL (store_pg_logs.c);
 * called by store_logs.c when the store is PostgreSQL. */
#ifndef DR_STORE_PG_LOGS_H
#define DR_STORE_PG_LOGS_H

#include "store.h"
#include "store_pg.h"

int store_pg_log_append(store_pg_t *self, uint64_t job_id, uint64_t off,
                        const void *data, size_t len,
                        const store_log_src_t *from);
int store_pg_log_ends(store_pg_t *self, uint64_t job_id, uint32_t attempt,
                      store_log_end_cb cb, void *arg);
int store_pg_log_size(store_pg_t *self, uint64_t job_id, uint64_t *size);
int store_pg_log_read(store_pg_t *self, uint64_t job_id, uint64_t off,
                      uint8_t *buf, size_t max, size_t *got);
int store_pg_log_clear(store_pg_t *self, uint64_t job_id);
int store_pg_log_each(store_pg_t *self, store_log_cb cb, void *arg);

#endif
