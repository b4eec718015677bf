/* util.c - see util.h. */
#include "util.h"
#include "dr_err.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void s_oom(const char *file, int line)
{
    fprintf(stderr, "out of memory at %s:%d\n", file, line);
    abort();
}

void *dr_malloc_at(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        s_oom(file, line);
    return p;
}

void *dr_calloc_at(size_t n, size_t sz, const char *file, int line)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        s_oom(file, line);
    return p;
}

void *dr_realloc_at(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        s_oom(file, line);
    return q;
}

char *dr_strdup_at(const char *s, const char *file, int line)
{
    char *p = strdup(s ? s : "");
    if (!p)
        s_oom(file, line);
    return p;
}

char *dr_strndup_at(const char *s, size_t n, const char *file, int line)
{
    char *p = strndup(s ? s : "", n);
    if (!p)
        s_oom(file, line);
    return p;
}

char *dr_asprintf_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0)
        s_oom(file, line);
    return out;
}

void dr_free(void *pp)
{
    void **p = pp;
    if (p && *p) {
        free(*p);
        *p = NULL;
    }
}

int64_t dr_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t dr_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dr_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s)
        return DR_EINVAL;
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (!isdigit((unsigned char)*p))
        return DR_EINVAL;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || !end || *end != '\0' || v < min || v > max)
        return DR_EINVAL;
    *out = v;
    return 0;
}

/* Splits "12.5G" into a non-negative finite number and a unit suffix. */
static int s_num_unit(const char *s, double *num, const char **unit)
{
    if (!s || !*s || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
        return DR_EINVAL;
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return DR_EINVAL;
    *num = v;
    *unit = end;
    return 0;
}

int dr_parse_memory_mb(const char *s, uint64_t *out_mb)
{
    double v;
    const char *u;
    if (s_num_unit(s, &v, &u) < 0)
        return DR_EINVAL;
    double mult;
    if (*u == '\0' || strcasecmp(u, "m") == 0 || strcasecmp(u, "mb") == 0 ||
        strcasecmp(u, "mi") == 0 || strcasecmp(u, "mib") == 0)
        mult = 1;
    else if (strcasecmp(u, "g") == 0 || strcasecmp(u, "gb") == 0 ||
             strcasecmp(u, "gi") == 0 || strcasecmp(u, "gib") == 0)
        mult = 1024;
    else if (strcasecmp(u, "t") == 0 || strcasecmp(u, "tb") == 0 ||
             strcasecmp(u, "ti") == 0 || strcasecmp(u, "tib") == 0)
        mult = 1024.0 * 1024;
    else if (strcasecmp(u, "k") == 0 || strcasecmp(u, "kb") == 0 ||
             strcasecmp(u, "ki") == 0 || strcasecmp(u, "kib") == 0)
        mult = 1.0 / 1024;
    else
        return DR_EINVAL;
    double mb = ceil(v * mult);
    if (mb < 1 || mb > (double)(1ULL << 40))
        return DR_EINVAL;
    *out_mb = (uint64_t)mb;
    return 0;
}

int dr_parse_duration_s(const char *s, uint64_t *out_s)
{
    double v;
    const char *u;
    if (s_num_unit(s, &v, &u) < 0)
        return DR_EINVAL;
    double mult;
    if (*u == '\0' || strcmp(u, "s") == 0)
        mult = 1;
    else if (strcmp(u, "m") == 0 || strcmp(u, "min") == 0)
        mult = 60;
    else if (strcmp(u, "h") == 0)
        mult = 3600;
    else if (strcmp(u, "d") == 0)
        mult = 86400;
    else
        return DR_EINVAL;
    double sec = ceil(v * mult);
    if (sec > 365.0 * 86400 * 100)
        return DR_EINVAL;
    *out_s = (uint64_t)sec;
    return 0;
}

int dr_streq_ci(const char *a, const char *b)
{
    return a && b && strcasecmp(a, b) == 0;
}

int dr_valid_name(const char *s)
{
    if (!s || !*s || !isalnum((unsigned char)s[0]))
        return 0;
    size_t n = 0;
    for (const char *p = s; *p; p++, n++) {
        if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_'))
            return 0;
    }
    return n <= 63;
}

void dr_buf_append(dr_buf_t *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = dr_realloc(b->data, cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void dr_buf_printf(dr_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "out of memory at %s:%d\n", __FILE__, __LINE__);
        abort();
    }
    dr_buf_append(b, s, (size_t)n);
    free(s);
}

void dr_buf_free(dr_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int dr_mkdirs(const char *path, unsigned mode)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return DR_EINVAL;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, mode) < 0 && errno != EEXIST)
                return DR_EIO;
            *p = '/';
        }
    }
    if (mkdir(tmp, mode) < 0 && errno != EEXIST)
        return DR_EIO;
    return 0;
}

int dr_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return DR_EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int dr_copy_file(const char *src, const char *dst, unsigned mode)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return DR_EIO;
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (out < 0) {
        close(in);
        return DR_EIO;
    }
    int rc = 0;
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && dr_write_all(out, buf, (size_t)n) < 0)) {
            rc = DR_EIO;
            break;
        }
        if (n == 0)
            break;
    }
    close(in);
    if (close(out) < 0)
        rc = DR_EIO;
    if (rc == 0 && chmod(dst, (mode_t)mode) < 0)
        rc = DR_EIO;
    return rc;
}

static int s_rm_entry(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
    return rc < 0 && errno != ENOENT ? -1 : 0;
}

int dr_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : DR_EIO;
    return nftw(path, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 ? DR_EIO : 0;
}

int dr_valid_ip(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return s && (inet_pton(AF_INET, s, buf) == 1 ||
                 inet_pton(AF_INET6, s, buf) == 1);
}

int dr_route_addr(const char *endpoint, char *out, size_t cap)
{
    if (strncmp(endpoint, "ipc://", 6) == 0) {
        snprintf(out, cap, "127.0.0.1");
        return 0;
    }
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return DR_EINVAL;
    char host[256];
    const char *h = endpoint + 6, *colon = strrchr(h, ':');
    if (!colon || colon == h || (size_t)(colon - h) >= sizeof host)
        return DR_EINVAL;
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    if (host[0] == '[') { /* [v6]:port */
        size_t l = strlen(host);
        if (l < 3 || host[l - 1] != ']')
            return DR_EINVAL;
        memmove(host, host + 1, l - 2);
        host[l - 2] = '\0';
    }
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
        return DR_ENOENT;
    int rc = DR_ENOENT;
    int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (fd < 0) {
        rc = DR_ESYS;
    } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
               getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        const void *a =
            ss.ss_family == AF_INET6
                ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
        if (inet_ntop(ss.ss_family, a, out, (socklen_t)cap))
            rc = 0;
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc;
}
