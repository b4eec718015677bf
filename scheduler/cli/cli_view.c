/* cli_view.c - the one way the drover CLI shows a reply.
 *
 * A command sends a request and hands the reply to a view (cli.h): the
 * view's field table makes the JSON object of a message, its column table
 * the rows of a table, its show function the "key: value" lines.  Here live
 * the machinery every resource shares - JSON from a field table, aligned
 * tables, writing to the output stream, and "call, fail on an error,
 * render" - so that no resource repeats it.  Renderers append to a dr_buf_t
 * and touch nothing else; only cli_emit writes to the context's stream.
 * Jansson allocation failures abort, as every out-of-memory does in drover.
 */
#include "cli.h"
#include "dr_err.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- JSON ------------------------------------------------------------------
 */

static void s_oom(const char *file, int line)
{
    fprintf(stderr, "out of memory at %s:%d\n", file, line);
    abort();
}

json_t *cli_json_check_at(json_t *v, const char *file, int line)
{
    if (!v)
        s_oom(file, line);
    return v;
}

void cli_json_push(json_t *a, json_t *v)
{
    if (!v || json_array_append_new(a, v) < 0)
        s_oom(__FILE__, __LINE__);
}

void cli_json_render(dr_buf_t *b, json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(v);
    if (!s)
        s_oom(__FILE__, __LINE__);
    dr_buf_printf(b, "%s\n", s);
    free(s);
}

#define AT(msg, off, type) (*(const type *)((const char *)(msg) + (off)))

static json_t *s_str(const char *s)
{
    return json_string(s ? s : "");
}

/* A repeated field as a JSON array. */
static json_t *s_json_array(const cli_field_t *f, const void *msg)
{
    json_t *a = cli_json_check(json_array());
    size_t n = AT(msg, f->n_off, size_t);
    for (size_t i = 0; i < n; i++) {
        if (f->type == CLI_F_STRS)
            cli_json_push(a, s_str(AT(msg, f->off, char **)[i]));
        else if (f->type == CLI_F_U32S)
            cli_json_push(a, json_integer(AT(msg, f->off, uint32_t *)[i]));
        else
            cli_json_push(a,
                          cli_view_json(f->sub, AT(msg, f->off, void **)[i]));
    }
    return a;
}

static json_t *s_json_field(const cli_field_t *f, const void *msg)
{
    switch (f->type) {
    case CLI_F_STR:
    case CLI_F_TEXT:
        return s_str(AT(msg, f->off, char *));
    case CLI_F_I32:
        return json_integer(AT(msg, f->off, int32_t));
    case CLI_F_U32:
        return json_integer(AT(msg, f->off, uint32_t));
    case CLI_F_I64:
    case CLI_F_TIME:
        return json_integer((json_int_t)AT(msg, f->off, int64_t));
    case CLI_F_TIMEN:
        return AT(msg, f->off, int64_t)
                   ? json_integer((json_int_t)AT(msg, f->off, int64_t))
                   : json_null();
    case CLI_F_U64:
        return json_integer((json_int_t)AT(msg, f->off, uint64_t));
    case CLI_F_BOOL:
        return json_boolean(AT(msg, f->off, protobuf_c_boolean));
    default:
        return s_json_array(f, msg);
    }
}

json_t *cli_view_json(const cli_view_t *v, const void *msg)
{
    json_t *o = cli_json_check(json_object());
    for (size_t i = 0; i < v->nfields; i++) {
        json_t *x = s_json_field(&v->fields[i], msg);
        if (!x || json_object_set_new(o, v->fields[i].key, x) < 0)
            s_oom(__FILE__, __LINE__);
    }
    return o;
}

/* ---- tables ----------------------------------------------------------------
 */

void cli_fmt_time(char *buf, size_t len, int64_t ms)
{
    if (ms <= 0) {
        snprintf(buf, len, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) ||
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "%lld", (long long)ms);
}

/* A column's cell of msg, made from its field or by its function. */
static void s_cell(dr_buf_t *b, const cli_col_t *c, const void *msg,
                   int64_t now_ms)
{
    b->len = 0;
    dr_buf_append(b, "", 0);
    if (c->fn) {
        c->fn(b, msg, now_ms);
        return;
    }
    const char *s;
    char tmp[64];
    switch (c->type) {
    case CLI_F_STR:
        s = AT(msg, c->off, char *);
        dr_buf_printf(b, "%s", s && *s ? s : "-");
        break;
    case CLI_F_TEXT:
        s = AT(msg, c->off, char *);
        dr_buf_printf(b, "%s", s ? s : "");
        break;
    case CLI_F_I32:
        dr_buf_printf(b, "%" PRId32, AT(msg, c->off, int32_t));
        break;
    case CLI_F_U32:
        dr_buf_printf(b, "%" PRIu32, AT(msg, c->off, uint32_t));
        break;
    case CLI_F_U64:
        dr_buf_printf(b, "%" PRIu64, AT(msg, c->off, uint64_t));
        break;
    case CLI_F_TIME:
    case CLI_F_TIMEN:
        cli_fmt_time(tmp, sizeof tmp, AT(msg, c->off, int64_t));
        dr_buf_printf(b, "%s", tmp);
        break;
    case CLI_F_STRS:
        for (size_t i = 0; i < AT(msg, c->n_off, size_t); i++)
            dr_buf_printf(b, "%s%s", i ? "," : "", AT(msg, c->off, char **)[i]);
        if (b->len == 0)
            dr_buf_append(b, "-", 1);
        break;
    default:
        dr_buf_printf(b, "%" PRId64, AT(msg, c->off, int64_t));
        break;
    }
}

/* A copy of s in which control characters (a newline, an ANSI escape)
 * are written as \xNN: a value from the scheduler can never forge a row
 * of a table or drive the terminal. */
static char *s_escaped(const char *s)
{
    dr_buf_t b = {0};
    dr_buf_append(&b, "", 0);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            dr_buf_printf(&b, "\\x%02x", *p);
        else
            dr_buf_append(&b, p, 1);
    }
    return b.data;
}

/* Cells padded to their column's width, sep apart, the last unpadded. */
static void s_row(dr_buf_t *b, const cli_view_t *v, char **cells,
                  const size_t *w)
{
    const char *sep = v->sep ? v->sep : "  ";
    for (size_t c = 0; c < v->ncols; c++) {
        if (c + 1 < v->ncols)
            dr_buf_printf(b, "%-*s%s", (int)w[c], cells[c], sep);
        else
            dr_buf_printf(b, "%s\n", cells[c]);
    }
}

void cli_view_table(dr_buf_t *b, const cli_view_t *v, const void *const *msgs,
                    size_t n, int64_t now_ms)
{
    size_t nc = v->ncols;
    char **cells = dr_calloc((n + 1) * nc, sizeof *cells);
    size_t *w = dr_calloc(nc, sizeof *w);
    dr_buf_t cell = {0};
    for (size_t c = 0; c < nc; c++)
        cells[c] = dr_strdup(v->cols[c].header);
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < nc; c++) {
            s_cell(&cell, &v->cols[c], msgs[r], now_ms);
            cells[(r + 1) * nc + c] = s_escaped(cell.data);
        }
    for (size_t i = 0; i < (n + 1) * nc; i++) {
        size_t l = strlen(cells[i]);
        if (l > w[i % nc])
            w[i % nc] = l;
    }
    for (size_t c = 0; c < nc; c++)
        if (v->cols[c].width > 0)
            w[c] = (size_t)v->cols[c].width;
    for (size_t r = 0; r <= n; r++)
        s_row(b, v, cells + r * nc, w);
    for (size_t i = 0; i < (n + 1) * nc; i++)
        free(cells[i]);
    free(cells);
    free(w);
    dr_buf_free(&cell);
}

/* ---- emitting ---------------------------------------------------------------
 */

int cli_emit(cli_ctx_t *ctx, const dr_buf_t *b)
{
    if (b->len && fwrite(b->data, 1, b->len, ctx->fout) != b->len)
        return cli_fail(ctx, DR_EIO, "cannot write output");
    if (fflush(ctx->fout) != 0)
        return cli_fail(ctx, DR_EIO, "cannot write output");
    return 0;
}

int cli_emit_list(cli_ctx_t *ctx, const cli_view_t *v, const void *const *msgs,
                  size_t n)
{
    dr_buf_t b = {0};
    if (ctx->out == CLI_OUT_JSON) {
        json_t *arr = cli_json_check(json_array());
        for (size_t i = 0; i < n; i++)
            cli_json_push(arr, cli_view_json(v, msgs[i]));
        cli_json_render(&b, arr);
    } else {
        cli_view_table(&b, v, msgs, n, dr_now_ms());
    }
    int rc = cli_emit(ctx, &b);
    dr_buf_free(&b);
    return rc;
}

int cli_emit_one(cli_ctx_t *ctx, const cli_view_t *v, const void *msg)
{
    dr_buf_t b = {0};
    if (ctx->out == CLI_OUT_JSON)
        cli_json_render(&b, cli_view_json(v, msg));
    else
        v->show(&b, msg);
    int rc = cli_emit(ctx, &b);
    dr_buf_free(&b);
    return rc;
}

/* Sends req, expects v's list reply (one == 0) or its one-object reply,
 * prints what it carries. */
static int s_call(cli_ctx_t *ctx, dr_env_t *req, const cli_view_t *v, int one)
{
    dr_env_t *rep = NULL;
    int rc = cli_call(ctx, req, one ? v->one_body : v->list_body, &rep);
    if (rc < 0)
        return rc;
    size_t n = 0;
    const void *msg = one ? v->one(rep) : NULL;
    const void *const *msgs = one ? NULL : v->items(rep, &n);
    if (!one)
        rc = cli_emit_list(ctx, v, msgs, msgs ? n : 0);
    else if (msg)
        rc = cli_emit_one(ctx, v, msg);
    else
        rc = cli_fail(ctx, DR_EPROTO, "empty %s reply", v->one_name);
    wire_free(&rep);
    return rc;
}

int cli_call_list(cli_ctx_t *ctx, dr_env_t *req, const cli_view_t *v)
{
    return s_call(ctx, req, v, 0);
}

int cli_call_one(cli_ctx_t *ctx, dr_env_t *req, const cli_view_t *v)
{
    return s_call(ctx, req, v, 1);
}

int cli_print_ok(cli_ctx_t *ctx, const Drover__Ok *ok, const char *key,
                 json_t *id, const char *fmt, ...)
{
    const char *msg = ok && ok->message ? ok->message : "";
    dr_buf_t b = {0};
    if (ctx->out == CLI_OUT_JSON) {
        cli_json_render(&b, cli_json_check(json_pack("{s:o, s:s}", key, id,
                                                     "message", msg)));
    } else if (*msg) {
        json_decref(id);
        dr_buf_printf(&b, "%s\n", msg);
    } else {
        json_decref(id);
        char text[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        dr_buf_printf(&b, "%s\n", text);
    }
    int rc = cli_emit(ctx, &b);
    dr_buf_free(&b);
    return rc;
}
