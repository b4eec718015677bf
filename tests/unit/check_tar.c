/* check_tar.c - common/dr_tar.c: a folder packed and unpacked again (files,
 * subfolders, a link, modes), the archive cap, and what an archive from
 * elsewhere may not do: a path with "..", an absolute path, a link out of
 * the root, a device or fifo, a hard link, more bytes or entries than the
 * limits, data that is not a gzip tar; none of it writes a byte. */
#include "dr_err.h"
#include "dr_tar.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_root[64];

static void s_setup(void)
{
    snprintf(s_root, sizeof s_root, "/tmp/drover-check-tar.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_root));
}

static void s_teardown(void)
{
    (void)dr_rmtree(s_root);
}

static void s_write(const char *rel, const char *text, unsigned mode)
{
    char *p = dr_asprintf("%s/%s", s_root, rel);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(p, mode), 0);
    free(p);
}

static char *s_read(const char *rel)
{
    char *p = dr_asprintf("%s/%s", s_root, rel);
    FILE *f = fopen(p, "r");
    free(p);
    if (!f)
        return NULL;
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return dr_strdup(buf);
}

static const dr_tar_limits_t s_lim = {1 << 20, 100, 1};

START_TEST(test_round_trip)
{
    char *src = dr_asprintf("%s/src", s_root);
    ck_assert_int_eq(dr_mkdirs(src, 0755), 0);
    char *pkg = dr_asprintf("%s/pkg", src);
    ck_assert_int_eq(dr_mkdirs(pkg, 0755), 0);
    s_write("src/run.sh", "echo hi\n", 0755);
    s_write("src/pkg/data.txt", "data-1234\n", 0644);
    s_write("file.txt", "a file\n", 0600);
    char *link = dr_asprintf("%s/link", pkg);
    ck_assert_int_eq(symlink("data.txt", link), 0);
    dr_buf_t b = {0};
    char why[256] = "";
    char *file = dr_asprintf("%s/file.txt", s_root);
    dr_tar_src_t srcs[] = {{src, ""}, {file, "inputs/cfg"}};
    ck_assert_int_eq(dr_tar_pack(srcs, 2, 1 << 20, &b, why, sizeof why), 0);
    ck_assert_uint_gt(b.len, 20);
    ck_assert_int_eq(dr_tar_check(b.data, b.len, &s_lim, why, sizeof why), 0);
    char *dst = dr_asprintf("%s/dst", s_root);
    int n = dr_tar_extract(b.data, b.len, dst, NULL, &s_lim, why, sizeof why);
    ck_assert_msg(n == 5, "%d entries: %s", n, why); /* pkg/ and 4 */
    char *t = s_read("dst/pkg/data.txt");
    ck_assert_str_eq(t, "data-1234\n");
    free(t);
    t = s_read("dst/pkg/link"); /* through the link */
    ck_assert_str_eq(t, "data-1234\n");
    free(t);
    t = s_read("dst/inputs/cfg/file.txt");
    ck_assert_str_eq(t, "a file\n");
    free(t);
    struct stat st;
    char *run = dr_asprintf("%s/run.sh", dst);
    ck_assert_int_eq(stat(run, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0755);
    /* only one top-level folder */
    char *dst2 = dr_asprintf("%s/dst2", s_root);
    n = dr_tar_extract(b.data, b.len, dst2, "inputs", &s_lim, why, sizeof why);
    ck_assert_int_eq(n, 1); /* inputs/cfg/file.txt */
    char *other = dr_asprintf("%s/run.sh", dst2);
    ck_assert_int_ne(access(other, F_OK), 0);
    /* the cap: gives up as soon as the archive passes it */
    dr_buf_t small = {0};
    ck_assert_int_eq(dr_tar_pack(srcs, 2, 16, &small, why, sizeof why),
                     DR_ETOOBIG);
    dr_buf_free(&small);
    /* a folder that is not there */
    dr_tar_src_t none = {"/nonexistent/drover", ""};
    ck_assert_int_eq(dr_tar_pack(&none, 1, 1 << 20, &small, why, sizeof why),
                     DR_EIO);
    ck_assert_ptr_nonnull(strstr(why, "/nonexistent/drover"));
    dr_buf_free(&small);
    dr_buf_free(&b);
    free(src);
    free(pkg);
    free(link);
    free(file);
    free(dst);
    free(dst2);
    free(run);
    free(other);
}
END_TEST

/* ---- archives made by hand, as another program could --------------------- */

typedef struct {
    const char *name;
    mode_t type;
    const char *link; /* symlink target or hard link */
    int64_t size;     /* declared */
} s_ent_t;

static la_ssize_t s_sink(struct archive *a, void *arg, const void *p, size_t n)
{
    (void)a;
    dr_buf_append(arg, p, n);
    return (la_ssize_t)n;
}

static void s_make(const s_ent_t *e, size_t n, dr_buf_t *out)
{
    struct archive *a = archive_write_new();
    ck_assert_int_eq(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    ck_assert_int_eq(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    ck_assert_int_eq(archive_write_open(a, out, NULL, s_sink, NULL),
                     ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *x = archive_entry_new();
        archive_entry_set_pathname(x, e[i].name);
        archive_entry_set_filetype(x, e[i].type);
        archive_entry_set_perm(x, 0644);
        if (e[i].type == AE_IFLNK)
            archive_entry_set_symlink(x, e[i].link);
        else if (e[i].link)
            archive_entry_set_hardlink(x, e[i].link);
        if (e[i].type == AE_IFREG && !e[i].link)
            archive_entry_set_size(x, e[i].size);
        ck_assert_int_eq(archive_write_header(a, x), ARCHIVE_OK);
        /* no data: libarchive pads the declared size with zeros */
        archive_entry_free(x);
    }
    ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

/* The archive of e is refused with a reason that holds want, and
 * unpacking it writes nothing. */
static void s_refused(const s_ent_t *e, size_t n, const dr_tar_limits_t *lim,
                      const char *want)
{
    dr_buf_t b = {0};
    s_make(e, n, &b);
    char why[256] = "";
    ck_assert_int_eq(dr_tar_check(b.data, b.len, lim, why, sizeof why),
                     DR_EINVAL);
    ck_assert_msg(strstr(why, want), "'%s' lacks '%s'", why, want);
    char *dst = dr_asprintf("%s/bad", s_root);
    ck_assert_int_lt(
        dr_tar_extract(b.data, b.len, dst, NULL, lim, why, sizeof why), 0);
    char *escaped = dr_asprintf("%s/escape", s_root);
    ck_assert_int_ne(access(escaped, F_OK), 0);
    (void)dr_rmtree(dst);
    free(escaped);
    free(dst);
    dr_buf_free(&b);
}

START_TEST(test_refused)
{
    const s_ent_t dotdot[] = {{"ok.txt", AE_IFREG, NULL, 3},
                              {"a/../../escape", AE_IFREG, NULL, 3}};
    s_refused(dotdot, 2, &s_lim, "not a relative path");
    const s_ent_t abs[] = {{"/tmp/escape", AE_IFREG, NULL, 3}};
    s_refused(abs, 1, &s_lim, "not a relative path");
    const s_ent_t empty[] = {{"a//b", AE_IFREG, NULL, 3}};
    s_refused(empty, 1, &s_lim, "not a relative path");
    const s_ent_t link_abs[] = {{"l", AE_IFLNK, "/etc/passwd", 0}};
    s_refused(link_abs, 1, &s_lim, "a link pointing outside");
    const s_ent_t link_up[] = {{"a/l", AE_IFLNK, "../../escape", 0}};
    s_refused(link_up, 1, &s_lim, "a link pointing outside");
    const dr_tar_limits_t nolinks = {1 << 20, 100, 0};
    const s_ent_t link_in[] = {{"l", AE_IFLNK, "x", 0}};
    s_refused(link_in, 1, &nolinks, "links are refused here");
    const s_ent_t fifo[] = {{"f", AE_IFIFO, NULL, 0}};
    s_refused(fifo, 1, &s_lim, "only files, folders and links");
    const s_ent_t dev[] = {{"d", AE_IFCHR, NULL, 0}};
    s_refused(dev, 1, &s_lim, "only files, folders and links");
    const s_ent_t hard[] = {{"x", AE_IFREG, NULL, 3}, {"h", AE_IFREG, "x", 0}};
    s_refused(hard, 2, &s_lim, "hard links are refused");
    const s_ent_t big[] = {{"big", AE_IFREG, NULL, 2 << 20}};
    s_refused(big, 1, &s_lim, "unpacks to more than");
    s_ent_t many[101];
    char names[101][16];
    for (int i = 0; i < 101; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        many[i] = (s_ent_t){names[i], AE_IFREG, NULL, 0};
    }
    s_refused(many, 101, &s_lim, "more than 100 entries");
    /* the root folder itself ("./") is fine */
    const s_ent_t dot[] = {{"./", AE_IFDIR, NULL, 0},
                           {"./x", AE_IFREG, NULL, 1}};
    dr_buf_t b = {0};
    s_make(dot, 2, &b);
    char why[256] = "";
    ck_assert_int_eq(dr_tar_check(b.data, b.len, &s_lim, why, sizeof why), 0);
    dr_buf_free(&b);
    /* not an archive at all */
    ck_assert_int_eq(dr_tar_check("plain text", 10, &s_lim, why, sizeof why),
                     DR_EINVAL);
    ck_assert_int_eq(dr_tar_check("", 0, &s_lim, why, sizeof why), DR_EINVAL);
}
END_TEST

Suite *tar_suite(void)
{
    Suite *s = suite_create("tar");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(tar_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
