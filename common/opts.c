/* opts.c - see opts.h.
 *
 * Three parts: the typed setters (one per opt_type_t, each with its range
 * check and its message), the command-line scanner and the config-file
 * reader, which both end in opts_set, and the --help generator.
 */
#include "opts.h"
#include "dr_err.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_STR_MAX 4096 /* a copied string without its own limit */

static int s_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return DR_EINVAL;
}

/* ---- values -------------------------------------------------------------- */

int opts_parse_duration_ms(const char *s, int64_t *ms)
{
    size_t n = s ? strlen(s) : 0;
    if (n > 2 && strcmp(s + n - 2, "ms") == 0) {
        char buf[32];
        if (n - 2 >= sizeof buf)
            return DR_EINVAL;
        memcpy(buf, s, n - 2);
        buf[n - 2] = '\0';
        return dr_parse_i64(buf, 0, INT64_MAX, ms);
    }
    uint64_t sec;
    if (dr_parse_duration_s(s, &sec) < 0 || sec > INT64_MAX / 1000)
        return DR_EINVAL;
    *ms = (int64_t)sec * 1000;
    return 0;
}

int opts_parse_int(const char *shown, const char *s, int64_t min, int64_t max,
                   int64_t *out, char *err, size_t errlen)
{
    if (dr_parse_i64(s, min, max, out) == 0)
        return 0;
    return s_fail(err, errlen,
                  "invalid %s '%s': expected an integer from %lld to %lld",
                  shown, s, (long long)min, (long long)max);
}

/* "90s", "10m", "500ms": the largest unit that divides ms. */
static void s_fmt_ms(char *buf, size_t len, int64_t ms)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(buf, len, "%lld%s", (long long)(ms / units[i].ms),
                     units[i].unit);
            return;
        }
    snprintf(buf, len, "%lldms", (long long)ms);
}

static void s_store_int(void *dst, size_t size, int64_t v)
{
    if (size == sizeof(int64_t)) {
        memcpy(dst, &v, sizeof v);
    } else {
        int32_t w = (int32_t)v;
        memcpy(dst, &w, sizeof w);
    }
}

static int s_set_duration(const opt_def_t *o, const char *shown,
                          const char *val, int64_t *out, char *err,
                          size_t errlen)
{
    int64_t ms;
    if (opts_parse_duration_ms(val, &ms) < 0)
        return s_fail(err, errlen,
                      "malformed duration '%s' for %s (e.g. 500ms, 90s, 30m, "
                      "2h, 1d; a bare number is seconds)",
                      val, shown);
    int secs = (o->flags & OPT_SECONDS) != 0;
    int64_t v = secs ? (ms + 999) / 1000 : ms;
    if (v < o->min || v > o->max) {
        char lo[32], hi[32];
        s_fmt_ms(lo, sizeof lo, secs ? o->min * 1000 : o->min);
        s_fmt_ms(hi, sizeof hi, secs ? o->max * 1000 : o->max);
        return s_fail(err, errlen,
                      "invalid %s '%s': expected a duration from %s to %s",
                      shown, val, lo, hi);
    }
    *out = v;
    return 0;
}

static int s_set_flag(const char *shown, const char *val, int *out, char *err,
                      size_t errlen)
{
    static const char *const yes[] = {"yes", "true", "1"};
    static const char *const no[] = {"no", "false", "0"};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(val, yes[i]) == 0 || strcmp(val, no[i]) == 0) {
            *out = strcmp(val, yes[i]) == 0;
            return 0;
        }
    }
    return s_fail(err, errlen, "invalid %s '%s' (yes or no)", shown, val);
}

static int s_set_enum(const opt_def_t *o, const char *shown, const char *val,
                      const char **out, char *err, size_t errlen)
{
    size_t n = 0;
    for (; o->choices[n]; n++)
        if (strcmp(val, o->choices[n]) == 0) {
            *out = o->choices[n];
            return 0;
        }
    char list[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                 i == 0       ? ""
                                 : i + 1 == n ? " or "
                                              : ", ",
                                 o->choices[i]);
    return s_fail(err, errlen, "invalid %s '%s' (%s)", shown, val, list);
}

static int s_set_str(const opt_def_t *o, const char *shown, const char *val,
                     void *dst, char *err, size_t errlen)
{
    size_t len = strlen(val);
    size_t max = o->max > 0 ? (size_t)o->max : S_STR_MAX;
    if (o->size > 0 && max > o->size - 1)
        max = o->size - 1;
    if ((o->flags & OPT_NONEMPTY) && len == 0)
        return s_fail(err, errlen, "empty %s", shown);
    if (o->type == OPT_NAME && !dr_valid_name(val))
        return s_fail(err, errlen,
                      "invalid %s '%s' (1-63 letters, digits, '-' or '_', "
                      "starting with a letter or digit)",
                      shown, val);
    if (len > max)
        return s_fail(err, errlen, "invalid %s: longer than %zu bytes", shown,
                      max);
    if (!dst)
        return 0;
    if (o->size > 0) {
        memcpy(dst, val, len + 1);
    } else {
        char **p = dst;
        free(*p);
        *p = dr_strdup(val);
    }
    return 0;
}

int opts_set(const opt_def_t *o, const char *shown, const char *val, void *base,
             char *err, size_t errlen)
{
    void *dst =
        base && o->offset != OPT_NOFIELD ? (char *)base + o->offset : NULL;
    int64_t v = 0;
    int flag = 0, rc = 0;
    const char *choice = NULL;
    log_level_t lvl = LOG_LVL_INFO;
    switch (o->type) {
    case OPT_ARG:
        if ((o->flags & OPT_NONEMPTY) && !*val)
            return s_fail(err, errlen, "empty %s", shown);
        if (dst)
            memcpy(dst, &val, sizeof val);
        return 0;
    case OPT_STR:
    case OPT_NAME:
        return s_set_str(o, shown, val, dst, err, errlen);
    case OPT_INT:
        rc = opts_parse_int(shown, val, o->min, o->max, &v, err, errlen);
        break;
    case OPT_MS:
        if (dr_parse_i64(val, o->min, o->max, &v) < 0)
            rc = s_fail(err, errlen,
                        "invalid %s '%s': expected milliseconds from %lld to "
                        "%lld",
                        shown, val, (long long)o->min, (long long)o->max);
        break;
    case OPT_DURATION:
        rc = s_set_duration(o, shown, val, &v, err, errlen);
        break;
    case OPT_SIZE: {
        uint64_t mb = 0;
        if (dr_parse_memory_mb(val, &mb) < 0 || (int64_t)mb < o->min ||
            (int64_t)mb > o->max)
            rc = s_fail(err, errlen,
                        "invalid %s '%s': expected a size from %lldM to "
                        "%lldM (e.g. 512K, 64M, 10G)",
                        shown, val, (long long)o->min, (long long)o->max);
        v = (int64_t)mb;
        break;
    }
    case OPT_FLAG:
        if ((rc = s_set_flag(shown, val, &flag, err, errlen)) == 0 && dst)
            memcpy(dst, &flag, sizeof flag);
        return rc;
    case OPT_ENUM:
        if ((rc = s_set_enum(o, shown, val, &choice, err, errlen)) == 0 && dst)
            memcpy(dst, &choice, sizeof choice);
        return rc;
    case OPT_LEVEL:
        if (log_level_parse(val, &lvl) < 0)
            return s_fail(err, errlen,
                          "invalid %s '%s' (debug, info, warn or error)", shown,
                          val);
        flag = (int)lvl;
        if (dst)
            memcpy(dst, &flag, sizeof flag);
        return 0;
    }
    if (rc == 0 && dst)
        s_store_int(dst, o->size, v);
    return rc;
}

int opts_defaults(const opts_table_t *t, void *base, char *err, size_t errlen)
{
    for (size_t i = 0; i < t->n; i++) {
        const opt_def_t *o = &t->defs[i];
        if (!o->def || (o->flags & OPT_ALIAS))
            continue;
        char shown[80];
        snprintf(shown, sizeof shown, "--%s", o->name);
        if (opts_set(o, shown, o->def, base, err, errlen) < 0)
            return DR_EINVAL;
    }
    return 0;
}

void opts_free(const opts_table_t *t, void *base)
{
    for (size_t i = 0; i < t->n; i++) {
        const opt_def_t *o = &t->defs[i];
        if ((o->type == OPT_STR || o->type == OPT_NAME) && o->size == 0 &&
            o->offset != OPT_NOFIELD)
            dr_free((char *)base + o->offset);
    }
}

/* ---- the command line ---------------------------------------------------- */

static int s_find_long(const opts_table_t *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->n; i++)
        if (strlen(t->defs[i].name) == len &&
            strncmp(t->defs[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

static int s_find_short(const opts_table_t *t, char c)
{
    for (size_t i = 0; c && i < t->n; i++)
        if (t->defs[i].shortname == c)
            return (int)i;
    return -1;
}

static int s_usage_err(opts_args_t *a, char *err, size_t errlen,
                       const char *fmt, int len, const char *arg)
{
    a->usage = 1;
    return s_fail(err, errlen, fmt, len, arg);
}

/* One option at argv[*i]: finds its row, takes its value, records and
 * applies it. */
static int s_option(const opts_table_t *t, int argc, char **argv, int *i,
                    void *base, opts_args_t *a, char *err, size_t errlen)
{
    const char *arg = argv[*i];
    int is_long = arg[1] == '-';
    const char *eq = is_long ? strchr(arg, '=') : NULL;
    int len = (int)(eq ? (size_t)(eq - arg) : strlen(arg));
    int k = is_long ? s_find_long(t, arg + 2, (size_t)len - 2)
                    : (len == 2 ? s_find_short(t, arg[1]) : -1);
    if (k < 0)
        return s_usage_err(a, err, errlen, "unknown option '%.*s'", len, arg);
    const opt_def_t *o = &t->defs[k];
    const char *val = eq ? eq + 1 : NULL;
    if (o->type == OPT_FLAG) {
        if (val)
            return s_usage_err(a, err, errlen, "option '%.*s' takes no value",
                               len, arg);
        val = "yes";
    } else if (!val) {
        if (*i + 1 >= argc)
            return s_usage_err(a, err, errlen, "option '%.*s' needs a value",
                               len, arg);
        val = argv[++*i];
    }
    if ((t->flags & OPTS_ONCE) && a->seen[k])
        return s_usage_err(a, err, errlen, "option '%.*s' given twice", len,
                           arg);
    a->seen[k]++;
    a->val[k] = val;
    if (o->flags & OPT_MULTI)
        a->list[k][a->nlist[k]++] = val;
    char shown[80];
    snprintf(shown, sizeof shown, "--%s", o->name);
    return opts_set(o, shown, val, base, err, errlen);
}

int opts_parse_args(const opts_table_t *t, int argc, char **argv, void *base,
                    opts_args_t *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->nspec = (int)t->n;
    if (t->n > OPTS_MAX)
        return s_fail(err, errlen, "internal error: too many options");
    a->pos = dr_calloc((size_t)argc + 1, sizeof *a->pos);
    for (size_t k = 0; k < t->n; k++)
        if (t->defs[k].flags & OPT_MULTI)
            a->list[k] = dr_calloc((size_t)argc + 1, sizeof(char *));
    for (int i = 0; i < argc; i++) {
        char *arg = argv[i];
        if ((t->flags & OPTS_HELP) &&
            (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0))
            return 1;
        if (strcmp(arg, "--") == 0 && (t->flags & OPTS_DASHDASH)) {
            a->dashdash = 1;
            a->rest = argv + i + 1;
            a->nrest = argc - i - 1;
            break;
        }
        if (arg[0] == '-' && arg[1] != '\0') {
            int rc = s_option(t, argc, argv, &i, base, a, err, errlen);
            if (rc < 0)
                return rc;
        } else if (t->flags & OPTS_STOP) {
            a->rest = argv + i;
            a->nrest = argc - i;
            break;
        } else if (t->flags & OPTS_POSITIONAL) {
            a->pos[a->npos++] = arg;
        } else {
            return s_usage_err(a, err, errlen, "unexpected argument '%.*s'",
                               (int)strlen(arg), arg);
        }
    }
    return 0;
}

void opts_args_free(opts_args_t *a)
{
    dr_free(&a->pos);
    for (int k = 0; k < OPTS_MAX; k++)
        dr_free(&a->list[k]);
}

int opts_missing(const opts_table_t *t, const opts_args_t *a, char *err,
                 size_t errlen)
{
    for (size_t k = 0; k < t->n; k++)
        if ((t->defs[k].flags & OPT_REQUIRED) && !a->seen[k])
            return s_fail(err, errlen, "missing required option --%s",
                          t->defs[k].name);
    return 0;
}

/* ---- config files -------------------------------------------------------- */

const opt_def_t *opts_find_key(const opts_table_t *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++) {
        const char *a = t->defs[i].name, *b = key;
        for (; *a && *b && *a == (*b == '_' ? '-' : *b); a++, b++)
            ;
        if (!*a && !*b)
            return &t->defs[i];
    }
    return NULL;
}

static char *s_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* One "key = value" line (trimmed, not blank, not a comment). */
static int s_line(const opts_table_t *t, char *line, void *base, char *err,
                  size_t errlen)
{
    char *eq = strchr(line, '=');
    if (!eq)
        return s_fail(err, errlen, "expected key = value");
    *eq = '\0';
    char *key = s_trim(line), *val = s_trim(eq + 1);
    const opt_def_t *o = opts_find_key(t, key);
    if (!o)
        return s_fail(err, errlen, "unknown option '%s'", key);
    return opts_set(o, key, val, base, err, errlen);
}

int opts_parse_text(const opts_table_t *t, const char *text, void *base,
                    char *err, size_t errlen)
{
    char *copy = dr_strdup(text);
    int rc = 0, lineno = 0;
    for (char *p = copy; p && rc == 0;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        char *line = s_trim(p);
        p = nl ? nl + 1 : NULL;
        lineno++;
        if (!*line || *line == '#')
            continue;
        char why[300];
        if ((rc = s_line(t, line, base, why, sizeof why)) < 0)
            snprintf(err, errlen, "line %d: %s", lineno, why);
    }
    free(copy);
    return rc;
}

int opts_load_file(const opts_table_t *t, const char *path, void *base,
                   char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return s_fail(err, errlen, "config %s: %s", path, strerror(errno));
    dr_buf_t b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (1u << 20))
        dr_buf_append(&b, chunk, n);
    fclose(f);
    dr_buf_append(&b, "", 0);
    char why[400];
    int rc = opts_parse_text(t, b.data, base, why, sizeof why);
    if (rc < 0)
        snprintf(err, errlen, "config %s: %s", path, why);
    dr_buf_free(&b);
    return rc;
}

char *opts_beside_self(const char *file)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    return dr_asprintf("%s/%s", self, file);
}

/* ---- help ---------------------------------------------------------------- */

static const char *s_metavar(const opt_def_t *o)
{
    if (o->arg)
        return o->arg;
    switch (o->type) {
    case OPT_FLAG:
        return "";
    case OPT_INT:
        return "N";
    case OPT_MS:
        return "MS";
    case OPT_DURATION:
        return "DURATION";
    case OPT_SIZE:
        return "SIZE";
    case OPT_LEVEL:
        return "LEVEL";
    default:
        return "VALUE";
    }
}

void opts_usage(const opts_table_t *t, dr_buf_t *b)
{
    for (size_t i = 0; i < t->n; i++) {
        const opt_def_t *o = &t->defs[i];
        char flag[96];
        const char *mv = s_metavar(o);
        char sh[8] = "    ";
        if (o->shortname)
            snprintf(sh, sizeof sh, "-%c, ", o->shortname);
        snprintf(flag, sizeof flag, "%s--%s%s%s", sh, o->name, *mv ? " " : "",
                 mv);
        dr_buf_printf(b, "  %-40s %s", flag, o->help ? o->help : "");
        if (o->def && *o->def && !(o->flags & OPT_ALIAS))
            dr_buf_printf(b, " (default: %s)", o->def);
        dr_buf_printf(b, "\n");
    }
}
