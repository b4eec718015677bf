/* check_http_studio.c - unit tests of the Studio's embedded files
 * (scheduler/http_studio.c): "/" is index.html, every file has its
 * Content-Type and a quoted ETag and is byte for byte the file of
 * scheduler/studio/, an unknown path is none, and the headers carry a
 * Content-Security-Policy with no inline script. */
#include "http_studio.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The file of the source tree (DROVER_SOURCE_DIR), read whole. */
static char *s_source(const char *name, size_t *len)
{
    const char *dir = getenv("DROVER_SOURCE_DIR");
    ck_assert_ptr_nonnull(dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/scheduler/studio/%s", dir, name);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *buf = malloc(1 << 20);
    ck_assert_ptr_nonnull(buf);
    *len = fread(buf, 1, 1 << 20, f);
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

START_TEST(test_files)
{
    static const struct {
        const char *url, *file, *ctype;
    } want[] = {
        {"/", "index.html", "text/html; charset=utf-8"},
        {"/index.html", "index.html", "text/html; charset=utf-8"},
        {"/studio.js", "studio.js", "text/javascript; charset=utf-8"},
        {"/studio.css", "studio.css", "text/css; charset=utf-8"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const http_asset_t *a = http_studio_find(want[i].url);
        ck_assert_ptr_nonnull(a);
        ck_assert_str_eq(a->ctype, want[i].ctype);
        ck_assert_uint_eq(strlen(a->etag), 18);
        ck_assert_int_eq(a->etag[0], '"');
        ck_assert_int_eq(a->etag[17], '"');
        size_t len = 0;
        char *src = s_source(want[i].file, &len);
        ck_assert_uint_eq(a->len, len);
        ck_assert_int_eq(memcmp(a->data, src, len), 0);
        ck_assert_int_eq(a->data[len], 0); /* NUL-ended as well */
        free(src);
    }
    ck_assert_ptr_null(http_studio_find("/nope.js"));
    ck_assert_ptr_null(http_studio_find("/studio.js/"));
    ck_assert_ptr_null(http_studio_find("/../CMakeLists.txt"));
    ck_assert_ptr_null(http_studio_find(""));
}
END_TEST

START_TEST(test_headers)
{
    const char *const *h = http_studio_headers();
    const char *csp = NULL;
    size_t n = 0;
    for (; h[n]; n += 2)
        if (strcmp(h[n], "Content-Security-Policy") == 0)
            csp = h[n + 1];
    ck_assert_ptr_nonnull(csp);
    ck_assert_ptr_nonnull(strstr(csp, "default-src 'none'"));
    ck_assert_ptr_nonnull(strstr(csp, "script-src 'self';"));
    ck_assert_ptr_null(strstr(csp, "unsafe-inline"));
    ck_assert_ptr_null(strstr(csp, "unsafe-eval"));
    ck_assert_ptr_nonnull(strstr(csp, "frame-ancestors 'none'"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_studio");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_files);
    tcase_add_test(tc, test_headers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
