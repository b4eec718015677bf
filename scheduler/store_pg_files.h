/* store_pg_files.h - a job's files on PostgreSQL (store_pg_files.c);
 * called by store_files.c when the store is PostgreSQL. */
#ifndef DR_STORE_PG_FILES_H
#define DR_STORE_PG_FILES_H

#include "store.h"
#include "store_pg.h"

/* store_files.c's SQL, the same on both backends */
extern const char store_file_put_sql[];
extern const char store_file_get_sql[];
extern const char store_file_clear_sql[];

int store_pg_file_put(store_pg_t *self, uint64_t job_id, const char *kind,
                      uint32_t rank, const void *data, size_t len);
int store_pg_file_get(store_pg_t *self, uint64_t job_id, const char *kind,
                      uint32_t rank, uint8_t **data, size_t *len);
int store_pg_file_clear(store_pg_t *self, uint64_t job_id, const char *kind);

#endif
