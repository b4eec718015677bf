/* wire_codec.c - envelopes as bytes and routing ids as strings (wire.h):
 * the half of the wire that needs no socket, and so no libzmq (the CLI
 * speaks ZMTP itself on the local socket, common/zmtp.h). */
#include "dr_err.h"
#include "util.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wire_env_init(dr_env_t *env, uint64_t request_id)
{
    drover__envelope__init(env);
    env->version = DR_PROTO_VERSION;
    env->request_id = request_id;
}

/* Printable ids (node names) are kept as they are; binary ones (the ids
 * ZeroMQ makes up for anonymous DEALERs start with a zero byte) become
 * '#' and hex, so that ids can travel as C strings. */
void wire_rid_encode(const void *data, size_t n, char *out)
{
    const unsigned char *p = data;
    int printable = n > 0 && p[0] != '#';
    for (size_t i = 0; i < n && printable; i++)
        printable = p[i] > 32 && p[i] < 127;
    if (printable) {
        if (n > DR_MAX_ROUTING_ID)
            n = DR_MAX_ROUTING_ID;
        memcpy(out, p, n);
        out[n] = '\0';
        return;
    }
    static const char hex[] = "0123456789abcdef";
    size_t max = (DR_MAX_ROUTING_ID - 1) / 2;
    if (n > max)
        n = max;
    out[0] = '#';
    for (size_t i = 0; i < n; i++) {
        out[1 + 2 * i] = hex[p[i] >> 4];
        out[2 + 2 * i] = hex[p[i] & 15];
    }
    out[1 + 2 * n] = '\0';
}

size_t wire_rid_decode(const char *rid, unsigned char *out)
{
    size_t n = strlen(rid);
    if (rid[0] != '#') {
        memcpy(out, rid, n);
        return n;
    }
    size_t k = 0;
    for (size_t i = 1; i + 1 < n + 1 && rid[i] && rid[i + 1]; i += 2) {
        unsigned hi =
            (unsigned)(rid[i] <= '9' ? rid[i] - '0' : rid[i] - 'a' + 10);
        unsigned lo = (unsigned)(rid[i + 1] <= '9' ? rid[i + 1] - '0'
                                                   : rid[i + 1] - 'a' + 10);
        out[k++] = (unsigned char)(hi << 4 | lo);
    }
    return k;
}

void wire_env_body(dr_env_t *env, uint64_t request_id,
                   Drover__Envelope__BodyCase body, void *msg)
{
    wire_env_init(env, request_id);
    env->body_case = body;
    env->error = msg; /* the union's members are all pointers */
}

void wire_env_error(dr_env_t *env, Drover__Error *err, uint64_t request_id,
                    int code, const char *message)
{
    drover__error__init(err);
    err->code = code;
    err->message = (char *)message;
    wire_env_body(env, request_id, DROVER__ENVELOPE__BODY_ERROR, err);
}

int wire_decode(const void *data, size_t n, dr_env_t **out)
{
    *out = NULL;
    if (n > DR_MAX_MSG_BYTES)
        return DR_ETOOBIG;
    dr_env_t *env = drover__envelope__unpack(NULL, n, data);
    if (!env)
        return DR_EPROTO;
    *out = env;
    if (env->version == 0 || env->body_case == DROVER__ENVELOPE__BODY__NOT_SET)
        return DR_EPROTO; /* not an envelope at all */
    if (env->version != DR_PROTO_VERSION)
        return DR_EVERSION;
    return 0;
}

void wire_free(dr_env_t **env)
{
    if (env && *env) {
        drover__envelope__free_unpacked(*env, NULL);
        *env = NULL;
    }
}

const char *wire_body_name(int body_case)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
        &drover__envelope__descriptor, (unsigned)body_case);
    return f && body_case >= 10 ? f->name : "?";
}
