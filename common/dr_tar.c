/* dr_tar.c - gzip tar archives in memory (dr_tar.h), with libarchive. */
#include "dr_tar.h"
#include "dr_err.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* libarchive returns NULL only when it cannot allocate (the house rule:
 * out of memory aborts). */
static void s_oom(int line)
{
    fprintf(stderr, "out of memory at %s:%d\n", __FILE__, line);
    abort();
}

/* libarchive is loaded when an archive is first made or read, not when
 * the program starts: its dependencies (libxml2, ICU, five compressors)
 * cost the CLI ~1.7 ms on every run, most of a `drover job submit` that
 * carries no code (tests/bench/bench_slurm.sh).  RTLD_NODELETE keeps it
 * loaded after the first use, so a later dlopen is a lookup. */
#define DR_LA_FUNCS(X)                                                         \
    X(archive_entry_filetype)                                                  \
    X(archive_entry_free)                                                      \
    X(archive_entry_hardlink)                                                  \
    X(archive_entry_new)                                                       \
    X(archive_entry_pathname)                                                  \
    X(archive_entry_perm)                                                      \
    X(archive_entry_set_filetype)                                              \
    X(archive_entry_set_gid)                                                   \
    X(archive_entry_set_mtime)                                                 \
    X(archive_entry_set_pathname)                                              \
    X(archive_entry_set_perm)                                                  \
    X(archive_entry_set_size)                                                  \
    X(archive_entry_set_symlink)                                               \
    X(archive_entry_set_uid)                                                   \
    X(archive_entry_size)                                                      \
    X(archive_entry_symlink)                                                   \
    X(archive_error_string)                                                    \
    X(archive_read_data_block)                                                 \
    X(archive_read_free)                                                       \
    X(archive_read_new)                                                        \
    X(archive_read_next_header)                                                \
    X(archive_read_open_memory)                                                \
    X(archive_read_support_filter_gzip)                                        \
    X(archive_read_support_format_tar)                                         \
    X(archive_set_error)                                                       \
    X(archive_write_add_filter_gzip)                                           \
    X(archive_write_close)                                                     \
    X(archive_write_data)                                                      \
    X(archive_write_data_block)                                                \
    X(archive_write_disk_new)                                                  \
    X(archive_write_disk_set_options)                                          \
    X(archive_write_finish_entry)                                              \
    X(archive_write_free)                                                      \
    X(archive_write_header)                                                    \
    X(archive_write_new)                                                       \
    X(archive_write_open)                                                      \
    X(archive_write_set_bytes_in_last_block)                                   \
    X(archive_write_set_format_pax_restricted)

typedef struct {
    void *dl;
#define X(f) __typeof__(f) *f;
    DR_LA_FUNCS(X)
#undef X
} dr_la_t;

static int s_la_open(dr_la_t *L, char *why, size_t cap)
{
    *L = (dr_la_t){0};
    L->dl = dlopen(DR_LIBARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!L->dl) {
        const char *e = dlerror();
        snprintf(why, cap, "cannot load %s (install libarchive13): %s",
                 DR_LIBARCHIVE_SONAME, e ? e : "?");
        return DR_EIO;
    }
#define X(f)                                                                   \
    if (!(*(void **)&L->f = dlsym(L->dl, #f))) {                               \
        snprintf(why, cap, "%s lacks %s", DR_LIBARCHIVE_SONAME, #f);           \
        (void)dlclose(L->dl);                                                  \
        return DR_EIO;                                                         \
    }
    DR_LA_FUNCS(X)
#undef X
    return 0;
}

static void s_la_close(dr_la_t *L)
{
    if (L->dl)
        (void)dlclose(L->dl);
    L->dl = NULL;
}

/* ---- packing ---------------------------------------------------------- */

typedef struct {
    const dr_la_t *L;
    dr_buf_t *out;
    size_t max;
    int too_big;
} s_sink_t;

static la_ssize_t s_sink_write(struct archive *a, void *arg, const void *buf,
                               size_t n)
{
    s_sink_t *s = arg;
    const dr_la_t *L = s->L;
    if (s->out->len + n > s->max) {
        s->too_big = 1;
        L->archive_set_error(a, EFBIG, "archive over its limit");
        return -1;
    }
    dr_buf_append(s->out, buf, n);
    return (la_ssize_t)n;
}

typedef struct {
    const dr_la_t *L;
    struct archive *a;
    s_sink_t sink;
    char *why;
    size_t cap;
} s_pack_t;

/* The error of a failed archive_write_*: too big, or libarchive's own. */
static int s_pack_fail(s_pack_t *p, const char *what)
{
    const dr_la_t *L = p->L;
    if (p->sink.too_big) {
        snprintf(p->why, p->cap, "the archive is over %zu bytes", p->sink.max);
        return DR_ETOOBIG;
    }
    snprintf(p->why, p->cap, "%s: %s", what, L->archive_error_string(p->a));
    return DR_EIO;
}

static int s_pack_file(s_pack_t *p, const char *path, struct archive_entry *e,
                       const struct stat *st)
{
    const dr_la_t *L = p->L;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(p->why, p->cap, "cannot read %s: %s", path, strerror(errno));
        return DR_EIO;
    }
    L->archive_entry_set_size(e, st->st_size);
    int rc = L->archive_write_header(p->a, e) == ARCHIVE_OK
                 ? 0
                 : s_pack_fail(p, path);
    char buf[64 * 1024];
    off_t left = st->st_size;
    while (rc == 0 && left > 0) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(p->why, p->cap, "cannot read %s: %s", path,
                     strerror(errno));
            rc = DR_EIO;
        } else if (n == 0) {
            break; /* it shrank: libarchive pads the entry */
        } else {
            if (n > left)
                n = (ssize_t)left;
            if (L->archive_write_data(p->a, buf, (size_t)n) < 0)
                rc = s_pack_fail(p, path);
            left -= n;
        }
    }
    (void)close(fd);
    return rc;
}

static int s_pack_path(s_pack_t *p, const char *path, const char *name,
                       int depth);

/* A folder's entries, in name order (so an archive is reproducible). */
static int s_pack_dir(s_pack_t *p, const char *path, const char *name,
                      int depth)
{
    struct dirent **list = NULL;
    int n = scandir(path, &list, NULL, alphasort);
    if (n < 0) {
        snprintf(p->why, p->cap, "cannot list %s: %s", path, strerror(errno));
        return DR_EIO;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *d = list[i]->d_name;
        if (rc == 0 && strcmp(d, ".") != 0 && strcmp(d, "..") != 0) {
            char *sub = dr_asprintf("%s/%s", path, d);
            char *subname =
                *name ? dr_asprintf("%s/%s", name, d) : dr_strdup(d);
            rc = s_pack_path(p, sub, subname, depth + 1);
            free(sub);
            free(subname);
        }
        free(list[i]);
    }
    free(list);
    return rc;
}

static int s_pack_path(s_pack_t *p, const char *path, const char *name,
                       int depth)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        snprintf(p->why, p->cap, "cannot read %s: %s", path, strerror(errno));
        return DR_EIO;
    }
    if (depth > 64) {
        snprintf(p->why, p->cap, "%s: folders nested more than 64 deep", path);
        return DR_EINVAL;
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
        snprintf(p->why, p->cap,
                 "%s is not a file, a folder or a link (a job cannot carry "
                 "it)",
                 path);
        return DR_EINVAL;
    }
    if (!*name && S_ISDIR(st.st_mode))
        return s_pack_dir(p, path, name, depth); /* the root itself */
    const dr_la_t *L = p->L;
    struct archive_entry *e = L->archive_entry_new();
    if (!e)
        s_oom(__LINE__);
    L->archive_entry_set_pathname(e, name);
    L->archive_entry_set_perm(e, st.st_mode & 0777);
    L->archive_entry_set_mtime(e, st.st_mtime, 0);
    int rc = 0;
    if (S_ISREG(st.st_mode)) {
        L->archive_entry_set_filetype(e, AE_IFREG);
        rc = s_pack_file(p, path, e, &st);
    } else if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0) {
            snprintf(p->why, p->cap, "cannot read link %s: %s", path,
                     strerror(errno));
            rc = DR_EIO;
        } else {
            target[n] = '\0';
            L->archive_entry_set_filetype(e, AE_IFLNK);
            L->archive_entry_set_symlink(e, target);
            if (L->archive_write_header(p->a, e) != ARCHIVE_OK)
                rc = s_pack_fail(p, path);
        }
    } else {
        L->archive_entry_set_filetype(e, AE_IFDIR);
        rc = L->archive_write_header(p->a, e) == ARCHIVE_OK
                 ? s_pack_dir(p, path, name, depth)
                 : s_pack_fail(p, path);
    }
    L->archive_entry_free(e);
    return rc;
}

int dr_tar_pack(const dr_tar_src_t *srcs, size_t n, size_t max, dr_buf_t *out,
                char *why, size_t cap)
{
    dr_la_t la;
    const dr_la_t *L = &la;
    int rc = s_la_open(&la, why, cap);
    if (rc < 0)
        return rc;
    s_pack_t p = {.L = L,
                  .a = L->archive_write_new(),
                  .sink = {.L = L, .out = out, .max = max},
                  .why = why,
                  .cap = cap};
    if (!p.a)
        s_oom(__LINE__);
    if (L->archive_write_set_format_pax_restricted(p.a) != ARCHIVE_OK ||
        L->archive_write_add_filter_gzip(p.a) != ARCHIVE_OK ||
        L->archive_write_set_bytes_in_last_block(p.a, 1) != ARCHIVE_OK ||
        L->archive_write_open(p.a, &p.sink, NULL, s_sink_write, NULL) !=
            ARCHIVE_OK)
        rc = s_pack_fail(&p, "archive");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *prefix = srcs[i].prefix ? srcs[i].prefix : "";
        struct stat st;
        if (stat(srcs[i].path, &st) < 0) {
            snprintf(why, cap, "%s: %s", srcs[i].path, strerror(errno));
            rc = DR_EIO;
        } else if (S_ISDIR(st.st_mode) || !*prefix) {
            rc = s_pack_path(&p, srcs[i].path, prefix, 0);
        } else {
            const char *base = strrchr(srcs[i].path, '/');
            char *name =
                dr_asprintf("%s/%s", prefix, base ? base + 1 : srcs[i].path);
            rc = s_pack_path(&p, srcs[i].path, name, 0);
            free(name);
        }
    }
    if (L->archive_write_close(p.a) != ARCHIVE_OK && rc == 0)
        rc = s_pack_fail(&p, "archive");
    L->archive_write_free(p.a);
    s_la_close(&la);
    return rc;
}

/* ---- reading: check and extract ---------------------------------------- */

/* A relative path of plain components (a "./" in front is dropped),
 * "" for the root folder itself, or NULL. */
static const char *s_clean_name(const char *name)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    if (strcmp(name, ".") == 0)
        return "";
    if (!*name)
        return name;
    if (*name == '/')
        return NULL;
    for (const char *c = name; *c;) {
        size_t k = strcspn(c, "/");
        if (k == 0 || (k == 1 && c[0] == '.') ||
            (k == 2 && c[0] == '.' && c[1] == '.'))
            return NULL;
        c += k;
        if (*c == '/')
            c++;
    }
    return name;
}

/* Does a link at `name` pointing to `target` stay below the root? */
static int s_link_inside(const char *name, const char *target)
{
    if (!*target || target[0] == '/')
        return 0;
    int depth = 0;
    for (const char *c = name; (c = strchr(c, '/')) && c[1]; c++)
        depth++;
    for (const char *c = target; *c;) {
        size_t k = strcspn(c, "/");
        if (k == 2 && c[0] == '.' && c[1] == '.') {
            if (--depth < 0)
                return 0;
        } else if (k && !(k == 1 && c[0] == '.')) {
            depth++;
        }
        c += k;
        if (*c == '/')
            c++;
    }
    return 1;
}

typedef struct {
    const dr_la_t *L;
    const dr_tar_limits_t *lim;
    uint64_t bytes;
    uint32_t entries;
    char *why;
    size_t cap;
} s_walk_t;

/* Checks one entry; its clean name in *clean ("" for the root folder,
 * which is skipped). */
static int s_check_entry(s_walk_t *w, struct archive_entry *e,
                         const char **clean)
{
    const dr_la_t *L = w->L;
    const char *raw = L->archive_entry_pathname(e);
    const char *name = raw ? s_clean_name(raw) : NULL;
    if (!name) {
        snprintf(w->why, w->cap,
                 "entry '%.200s': not a relative path inside the archive",
                 raw ? raw : "");
        return DR_EINVAL;
    }
    if (strlen(name) > DR_TAR_MAX_NAME) {
        snprintf(w->why, w->cap, "entry '%.200s...': a path over %d bytes",
                 name, DR_TAR_MAX_NAME);
        return DR_EINVAL;
    }
    if (!*name && L->archive_entry_filetype(e) == AE_IFDIR) {
        *clean = name;
        return 0;
    }
    if (!*name || L->archive_entry_hardlink(e)) {
        snprintf(w->why, w->cap, "entry '%.200s': %s", raw,
                 *name ? "hard links are refused" : "not a folder");
        return DR_EINVAL;
    }
    mode_t t = L->archive_entry_filetype(e);
    if (t == AE_IFLNK) {
        const char *to = L->archive_entry_symlink(e);
        if (!w->lim->allow_symlinks || !to || !s_link_inside(name, to)) {
            snprintf(w->why, w->cap, "entry '%.200s': %s", name,
                     w->lim->allow_symlinks
                         ? "a link pointing outside the archive"
                         : "links are refused here");
            return DR_EINVAL;
        }
    } else if (t != AE_IFREG && t != AE_IFDIR) {
        snprintf(w->why, w->cap,
                 "entry '%.200s': only files, folders and links are allowed",
                 name);
        return DR_EINVAL;
    }
    if (++w->entries > w->lim->max_entries) {
        snprintf(w->why, w->cap, "more than %u entries", w->lim->max_entries);
        return DR_EINVAL;
    }
    int64_t size = t == AE_IFREG ? L->archive_entry_size(e) : 0;
    if (size < 0 || (uint64_t)size > w->lim->max_bytes - w->bytes) {
        snprintf(w->why, w->cap,
                 "it unpacks to more than %llu bytes (entry '%.200s')",
                 (unsigned long long)w->lim->max_bytes, name);
        return DR_EINVAL;
    }
    w->bytes += (uint64_t)size;
    *clean = name;
    return 0;
}

/* Is name below the top-level folder only (or only itself)? */
static int s_under(const char *name, const char *only)
{
    size_t n = strlen(only);
    return strncmp(name, only, n) == 0 && (name[n] == '\0' || name[n] == '/');
}

static int s_copy_data(s_walk_t *w, struct archive *in, struct archive *out,
                       const char *name)
{
    const dr_la_t *L = w->L;
    for (;;) {
        const void *buf;
        size_t n;
        la_int64_t off;
        int r = L->archive_read_data_block(in, &buf, &n, &off);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r != ARCHIVE_OK) {
            snprintf(w->why, w->cap, "entry '%.200s': %s", name,
                     L->archive_error_string(in));
            return DR_EINVAL;
        }
        if (out &&
            L->archive_write_data_block(out, buf, n, off) != ARCHIVE_OK) {
            snprintf(w->why, w->cap, "cannot write '%.200s': %s", name,
                     L->archive_error_string(out));
            return DR_EIO;
        }
    }
}

static int s_walk(const void *data, size_t len, const char *dest,
                  const char *only, const dr_tar_limits_t *lim, char *why,
                  size_t cap)
{
    dr_la_t la;
    const dr_la_t *L = &la;
    int rc = s_la_open(&la, why, cap);
    if (rc < 0)
        return rc;
    s_walk_t w = {.L = L, .lim = lim, .why = why, .cap = cap};
    struct archive *in = L->archive_read_new();
    struct archive *out = dest ? L->archive_write_disk_new() : NULL;
    if (!in || (dest && !out))
        s_oom(__LINE__);
    int files = 0;
    if (out)
        (void)L->archive_write_disk_set_options(
            /* names are checked (and made dest/NAME) here; libarchive
             * refuses ".." and writing through a link besides */
            out, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                     ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                     ARCHIVE_EXTRACT_SECURE_NODOTDOT);
    if (L->archive_read_support_filter_gzip(in) != ARCHIVE_OK ||
        L->archive_read_support_format_tar(in) != ARCHIVE_OK ||
        L->archive_read_open_memory(in, data, len) != ARCHIVE_OK) {
        snprintf(why, cap, "not a gzip tar: %s", L->archive_error_string(in));
        rc = DR_EINVAL;
    }
    if (rc == 0 && dest && dr_mkdirs(dest, 0755) < 0) {
        snprintf(why, cap, "cannot make %s: %s", dest, strerror(errno));
        rc = DR_EIO;
    }
    struct archive_entry *e;
    while (rc == 0) {
        int r = L->archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK) {
            snprintf(why, cap, "not a readable gzip tar: %s",
                     L->archive_error_string(in));
            rc = DR_EINVAL;
            break;
        }
        const char *clean = NULL;
        if ((rc = s_check_entry(&w, e, &clean)) < 0)
            break;
        /* a copy: the entry's own string goes with set_pathname */
        char name[DR_TAR_MAX_NAME + 1];
        snprintf(name, sizeof name, "%s", clean);
        int take = out && *name && (!only || s_under(name, only));
        if (take) {
            char *path = dr_asprintf("%s/%s", dest, name);
            mode_t t = L->archive_entry_filetype(e);
            /* the owner may always read and write what it unpacked */
            unsigned perm = L->archive_entry_perm(e) & 0777;
            perm |= t == AE_IFDIR ? 0700 : 0600;
            L->archive_entry_set_perm(e, perm);
            L->archive_entry_set_pathname(e, path);
            L->archive_entry_set_uid(e, 0);
            L->archive_entry_set_gid(e, 0);
            if (L->archive_write_header(out, e) != ARCHIVE_OK) {
                snprintf(why, cap, "cannot write '%.200s': %s", name,
                         L->archive_error_string(out));
                rc = DR_EIO;
            }
            free(path);
            if (rc == 0)
                files++;
        }
        if (rc == 0)
            rc = s_copy_data(&w, in, take ? out : NULL, name);
        if (rc == 0 && take &&
            L->archive_write_finish_entry(out) != ARCHIVE_OK) {
            snprintf(why, cap, "cannot write '%.200s': %s", name,
                     L->archive_error_string(out));
            rc = DR_EIO;
        }
    }
    if (out) {
        if (L->archive_write_close(out) != ARCHIVE_OK && rc == 0) {
            snprintf(why, cap, "cannot finish writing: %s",
                     L->archive_error_string(out));
            rc = DR_EIO;
        }
        L->archive_write_free(out);
    }
    L->archive_read_free(in);
    s_la_close(&la);
    return rc < 0 ? rc : files;
}

int dr_tar_check(const void *data, size_t len, const dr_tar_limits_t *lim,
                 char *why, size_t cap)
{
    int rc = s_walk(data, len, NULL, NULL, lim, why, cap);
    return rc < 0 ? rc : 0;
}

int dr_tar_extract(const void *data, size_t len, const char *dest,
                   const char *only, const dr_tar_limits_t *lim, char *why,
                   size_t cap)
{
    return s_walk(data, len, dest, only, lim, why, cap);
}
