/* array_spec.c - job array index specs (see array_spec.h). */
#include "array_spec.h"
#include "dr_err.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A decimal number of at most 8 digits at *p; advances p. */
static int s_num(const char **p, uint32_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    size_t n = 0;
    while (isdigit((unsigned char)s[n]) && n < 9)
        v = v * 10 + (uint64_t)(s[n++] - '0');
    if (n == 0 || n > 8)
        return DR_EINVAL;
    *out = (uint32_t)v;
    *p = s + n;
    return 0;
}

static int s_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int dr_array_parse(const char *spec, dr_array_t *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    out->step = 1;
    const char *p = spec ? spec : "";
    size_t ncap = 0, ranges = 0;
    int rc = *p ? 0 : DR_EINVAL;
    while (rc == 0 && *p && *p != '%') {
        uint32_t a, b, step = 1;
        if ((rc = s_num(&p, &a)) < 0)
            break;
        b = a;
        if (*p == '-') {
            p++;
            if ((rc = s_num(&p, &b)) < 0)
                break;
            if (*p == ':') {
                p++;
                if ((rc = s_num(&p, &step)) < 0 || step == 0) {
                    rc = DR_EINVAL;
                    break;
                }
            }
        }
        if (b < a || b > DR_ARRAY_MAX_INDEX) {
            snprintf(why, cap,
                     b < a ? "array '%.64s': a range runs from low to high"
                           : "array '%.64s': an index above 10000000",
                     spec);
            dr_array_free(out);
            return DR_EINVAL;
        }
        for (uint64_t i = a; i <= b; i += step) {
            if (out->n == DR_ARRAY_MAX_ELEMS) {
                snprintf(why, cap, "array '%.64s': more than %u elements", spec,
                         DR_ARRAY_MAX_ELEMS);
                dr_array_free(out);
                return DR_EINVAL;
            }
            if (out->n == ncap) {
                ncap = ncap ? ncap * 2 : 64;
                out->idx = dr_realloc(out->idx, ncap * sizeof *out->idx);
            }
            out->idx[out->n++] = (uint32_t)i;
        }
        out->step = step;
        ranges++;
        if (*p == ',')
            p++;
        else if (*p && *p != '%')
            rc = DR_EINVAL;
    }
    if (rc == 0 && *p == '%') {
        p++;
        if (s_num(&p, &out->max_running) < 0 || out->max_running == 0 || *p)
            rc = DR_EINVAL;
    }
    if (rc == 0 && out->n == 0)
        rc = DR_EINVAL;
    if (rc < 0) {
        snprintf(why, cap,
                 "invalid array '%.64s' (e.g. 0-99, 0-99:4, 1,3,5-7, with "
                 "%%N for at most N at once)",
                 spec ? spec : "");
        dr_array_free(out);
        return rc;
    }
    if (ranges > 1)
        out->step = 1;
    qsort(out->idx, out->n, sizeof *out->idx, s_cmp);
    size_t k = 0; /* "1,1-3" holds 1 once */
    for (size_t i = 0; i < out->n; i++)
        if (k == 0 || out->idx[i] != out->idx[k - 1])
            out->idx[k++] = out->idx[i];
    out->n = k;
    return 0;
}

void dr_array_free(dr_array_t *a)
{
    free(a->idx);
    a->idx = NULL;
    a->n = 0;
}
