/* util.h - small helpers both daemons and the CLI need.
 *
 * Allocation wrappers abort with file:line on out-of-memory (the house rule:
 * OOM is not an error path we try to survive).  Parsers take untrusted text
 * (flags, config files) and return 0 or DR_EINVAL, never assert.
 */
#ifndef DR_UTIL_H
#define DR_UTIL_H

#include <stddef.h>
#include <stdint.h>

void *dr_malloc_at(size_t n, const char *file, int line);
void *dr_calloc_at(size_t n, size_t sz, const char *file, int line);
void *dr_realloc_at(void *p, size_t n, const char *file, int line);
char *dr_strdup_at(const char *s, const char *file, int line);
char *dr_strndup_at(const char *s, size_t n, const char *file, int line);
char *dr_asprintf_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define dr_malloc(n) dr_malloc_at((n), __FILE__, __LINE__)
#define dr_calloc(n, sz) dr_calloc_at((n), (sz), __FILE__, __LINE__)
#define dr_realloc(p, n) dr_realloc_at((p), (n), __FILE__, __LINE__)
#define dr_strdup(s) dr_strdup_at((s), __FILE__, __LINE__)
#define dr_strndup(s, n) dr_strndup_at((s), (n), __FILE__, __LINE__)
#define dr_asprintf(...) dr_asprintf_at(__FILE__, __LINE__, __VA_ARGS__)

/* Frees *p and sets it to NULL. */
void dr_free(void *pp);

/* Wall clock and monotonic clock in milliseconds. */
int64_t dr_now_ms(void);
int64_t dr_mono_ms(void);

/* "512M", "2G", "1024" (MiB), "1.5G", "64k" -> MiB (rounded up).
 * Rejects negatives, garbage, overflow, zero. */
int dr_parse_memory_mb(const char *s, uint64_t *out_mb);

/* "30", "30s", "5m", "2h", "1d" -> seconds. Rejects negatives, garbage. */
int dr_parse_duration_s(const char *s, uint64_t *out_s);

/* Whole decimal number within [min, max]; no sign games, no trailing junk. */
int dr_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Case-insensitive string equality. */
int dr_streq_ci(const char *a, const char *b);

/* A name for clusters and nodes: 1..63 chars of [A-Za-z0-9_-], starting
 * with a letter or digit. */
int dr_valid_name(const char *s);

/* 1 if s is an IPv4 or IPv6 address in text form. */
int dr_valid_ip(const char *s);

/* The local address of this host's route to a ZeroMQ endpoint's host
 * ("tcp://HOST:PORT"; a UDP connect, no packet sent) into out: what other
 * hosts on that path reach it at.  "127.0.0.1" for ipc:// endpoints.
 * 0, or DR_EINVAL / DR_ENOENT (no route) / DR_ESYS. */
int dr_route_addr(const char *endpoint, char *out, size_t cap);

/* Growable byte buffer. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} dr_buf_t;

void dr_buf_append(dr_buf_t *b, const void *data, size_t n);
void dr_buf_printf(dr_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void dr_buf_free(dr_buf_t *b);

/* mkdir -p; 0 or DR_EIO (errno kept). */
int dr_mkdirs(const char *path, unsigned mode);

/* Write all of buf to fd, retrying on EINTR/short writes. 0 or DR_EIO. */
int dr_write_all(int fd, const void *buf, size_t n);
/* rm -rf without following links; a missing path is fine.  0 or DR_EIO. */
int dr_rmtree(const char *path);
/* Copies a file (replacing dst) with the given mode.  0 or DR_EIO. */
int dr_copy_file(const char *src, const char *dst, unsigned mode);

#endif
