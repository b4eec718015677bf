/* http_body.c - a JSON request body read into a protobuf message
 * (http_body.h).
 *
 * Through the CLI's view of the message (its field table: the same keys
 * and types as `drover -o json`), limited to the keys a route allows:
 * every key of the body must be one of them and of its type (a JSON
 * integer in the field's range, a string without NUL, ...), or it is 400.
 * Messages built here are malloc'd as protobuf-c unpacks them, so that
 * one protobuf_c_message_free_unpacked frees each.  Pure: no model.
 */
#include "http_body.h"
#include "util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int http_fail(char *why, size_t cap, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return status;
}

void *http_msg_new(const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = dr_calloc(1, d->sizeof_message);
    protobuf_c_message_init(d, m);
    return m;
}

int http_key_allowed(const char *const *allowed, const char *key)
{
    if (!allowed)
        return 1;
    for (size_t i = 0; allowed[i]; i++)
        if (strcmp(allowed[i], key) == 0)
            return 1;
    return 0;
}

static const ProtobufCFieldDescriptor *
s_pb_field(const ProtobufCMessageDescriptor *d, size_t off)
{
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].offset == off)
            return &d->fields[i];
    return NULL;
}

int http_json_int(json_t *v, const char *key, long long min, long long max,
                  long long *out, char *why, size_t cap)
{
    if (!json_is_integer(v) || json_integer_value(v) < min ||
        json_integer_value(v) > max)
        return http_fail(why, cap, 400,
                         "field '%s' must be an integer %lld-%lld", key, min,
                         max);
    *out = json_integer_value(v);
    return 0;
}

static int s_str(json_t *v, const char *key, char **out, char *why, size_t cap)
{
    if (!json_is_string(v) ||
        strlen(json_string_value(v)) != json_string_length(v))
        return http_fail(why, cap, 400, "field '%s' must be a string (no NUL)",
                         key);
    *out = dr_strdup(json_string_value(v));
    return 0;
}

#define AT(msg, off, type) (*(type *)((char *)(msg) + (off)))

static int s_field(const cli_field_t *f, const ProtobufCMessageDescriptor *d,
                   void *msg, json_t *val, char *why, size_t cap)
{
    long long x = 0;
    switch (f->type) {
    case CLI_F_STR:
    case CLI_F_TEXT:
        return s_str(val, f->key, &AT(msg, f->off, char *), why, cap);
    case CLI_F_I32:
        if (http_json_int(val, f->key, INT32_MIN, INT32_MAX, &x, why, cap))
            return 400;
        AT(msg, f->off, int32_t) = (int32_t)x;
        return 0;
    case CLI_F_U32:
        if (http_json_int(val, f->key, 0, UINT32_MAX, &x, why, cap))
            return 400;
        AT(msg, f->off, uint32_t) = (uint32_t)x;
        return 0;
    case CLI_F_I64:
    case CLI_F_TIME:
    case CLI_F_TIMEN:
        if (http_json_int(val, f->key, INT64_MIN, INT64_MAX, &x, why, cap))
            return 400;
        AT(msg, f->off, int64_t) = x;
        return 0;
    case CLI_F_U64:
        if (http_json_int(val, f->key, 0, INT64_MAX, &x, why, cap))
            return 400;
        AT(msg, f->off, uint64_t) = (uint64_t)x;
        return 0;
    case CLI_F_BOOL:
        if (!json_is_boolean(val))
            return http_fail(why, cap, 400, "field '%s' must be true or false",
                             f->key);
        AT(msg, f->off, protobuf_c_boolean) = json_is_true(val);
        return 0;
    default:
        break;
    }
    /* repeated */
    if (!json_is_array(val))
        return http_fail(why, cap, 400, "field '%s' must be an array", f->key);
    size_t n = json_array_size(val);
    if (n > 4096)
        return http_fail(why, cap, 400, "field '%s': more than 4096 items",
                         f->key);
    AT(msg, f->n_off, size_t) = 0;
    if (f->type == CLI_F_STRS) {
        char **a = dr_calloc(n ? n : 1, sizeof *a);
        AT(msg, f->off, char **) = a;
        for (size_t i = 0; i < n; i++) {
            if (s_str(json_array_get(val, i), f->key, &a[i], why, cap))
                return 400;
            AT(msg, f->n_off, size_t) = i + 1;
        }
        return 0;
    }
    if (f->type == CLI_F_U32S) {
        uint32_t *a = dr_calloc(n ? n : 1, sizeof *a);
        AT(msg, f->off, uint32_t *) = a;
        AT(msg, f->n_off, size_t) = n;
        for (size_t i = 0; i < n; i++) {
            if (http_json_int(json_array_get(val, i), f->key, 0, UINT32_MAX, &x,
                              why, cap))
                return 400;
            a[i] = (uint32_t)x;
        }
        return 0;
    }
    const ProtobufCFieldDescriptor *pf = s_pb_field(d, f->off);
    if (f->type != CLI_F_OBJS || !f->sub || !pf ||
        pf->type != PROTOBUF_C_TYPE_MESSAGE)
        return http_fail(why, cap, 400, "field '%s' cannot be set", f->key);
    const ProtobufCMessageDescriptor *sd = pf->descriptor;
    void **a = dr_calloc(n ? n : 1, sizeof *a);
    AT(msg, f->off, void **) = a;
    for (size_t i = 0; i < n; i++) {
        a[i] = http_msg_new(sd);
        AT(msg, f->n_off, size_t) = i + 1;
        int rc = http_from_json(f->sub, sd, a[i], json_array_get(val, i), NULL,
                                why, cap);
        if (rc)
            return rc;
    }
    return 0;
}

int http_from_json(const cli_view_t *v, const ProtobufCMessageDescriptor *d,
                   void *msg, json_t *obj, const char *const *allowed,
                   char *why, size_t cap)
{
    if (!json_is_object(obj))
        return http_fail(why, cap, 400, "expected a JSON object");
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        const cli_field_t *f = NULL;
        for (size_t i = 0; i < v->nfields && !f; i++)
            if (strcmp(v->fields[i].key, key) == 0)
                f = &v->fields[i];
        if (!f)
            return http_fail(why, cap, 400, "unknown field '%s'", key);
        if (!http_key_allowed(allowed, key))
            return http_fail(why, cap, 400, "field '%s' cannot be set", key);
        int rc = s_field(f, d, msg, val, why, cap);
        if (rc)
            return rc;
    }
    return 0;
}

int http_body_object(const char *body, size_t len, json_t **out, char *why,
                     size_t cap)
{
    if (!len)
        return http_fail(why, cap, 400, "a JSON object body is required");
    json_error_t e;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
    if (!v)
        return http_fail(why, cap, 400,
                         "malformed JSON at line %d column %d: %s", e.line,
                         e.column, e.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return http_fail(why, cap, 400, "the body must be a JSON object");
    }
    *out = v;
    return 0;
}
