/* wire.c - see wire.h. */
#include "wire.h"
#include "dr_err.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

int wire_send(void *sock, const char *rid, const dr_env_t *env)
{
    size_t n = drover__envelope__get_packed_size(env);
    uint8_t stackbuf[1024];
    uint8_t *buf = n <= sizeof stackbuf ? stackbuf : dr_malloc(n);
    drover__envelope__pack(env, buf);
    int rc = 0;
    unsigned char ridbuf[DR_MAX_ROUTING_ID];
    size_t ridlen = rid ? wire_rid_decode(rid, ridbuf) : 0;
    if (rid && zmq_send(sock, ridbuf, ridlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        rc = (errno == EAGAIN || errno == EHOSTUNREACH) ? DR_EAGAIN : DR_EIO;
    else if (zmq_send(sock, buf, n, ZMQ_DONTWAIT) < 0)
        rc = (errno == EAGAIN || errno == EHOSTUNREACH) ? DR_EAGAIN : DR_EIO;
    if (buf != stackbuf)
        free(buf);
    return rc;
}

int wire_send_error(void *sock, const char *rid, uint64_t request_id, int code,
                    const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dr_env_t env;
    Drover__Error err;
    wire_env_error(&env, &err, request_id, code, msg);
    return wire_send(sock, rid, &env);
}

/* Reads and discards the remaining frames of a multi-part message. */
static void s_drain_frames(void *sock)
{
    int more = 1;
    size_t sz = sizeof more;
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            return;
        }
        zmq_msg_close(&m);
    }
}

static int s_more(void *sock)
{
    int more = 0;
    size_t sz = sizeof more;
    if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) < 0)
        return 0;
    return more;
}

int wire_recv(void *sock, char *rid, int flags, dr_env_t **out)
{
    return wire_recv_ex(sock, rid, flags, out, NULL, NULL, 0);
}

int wire_recv_ex(void *sock, char *rid, int flags, dr_env_t **out,
                 const char *prop, char *val, size_t cap)
{
    *out = NULL;
    if (prop && cap)
        val[0] = '\0';
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, flags) < 0) {
        int e = errno;
        zmq_msg_close(&m);
        return e == EAGAIN ? DR_EAGAIN : DR_EIO;
    }
    if (rid) {
        wire_rid_encode(zmq_msg_data(&m), zmq_msg_size(&m), rid);
        if (!s_more(sock)) {
            zmq_msg_close(&m);
            return DR_EPROTO;
        }
        zmq_msg_close(&m);
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            return DR_EIO;
        }
    }
    int rc = 0;
    if (prop && cap) {
        /* who the peer is, for every message */
        const char *v = zmq_msg_gets(&m, prop);
        if (v)
            snprintf(val, cap, "%s", v);
    }
    if (s_more(sock)) {
        s_drain_frames(sock);
        rc = DR_EPROTO;
        goto out;
    }
    rc = wire_decode(zmq_msg_data(&m), zmq_msg_size(&m), out);
out:
    zmq_msg_close(&m);
    return rc;
}

int wire_call(void *sock, dr_env_t *req, int timeout_ms, dr_env_t **reply)
{
    *reply = NULL;
    int rc = wire_send(sock, NULL, req);
    if (rc < 0)
        return rc;
    int64_t deadline = dr_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - dr_mono_ms();
        if (left <= 0)
            return DR_ETIMEOUT;
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, (long)left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return DR_EIO;
        }
        if (n == 0)
            continue;
        dr_env_t *env = NULL;
        rc = wire_recv(sock, NULL, ZMQ_DONTWAIT, &env);
        if (rc == DR_EAGAIN)
            continue;
        if (rc < 0) {
            wire_free(&env);
            return rc;
        }
        if (env->request_id != req->request_id) {
            wire_free(&env);
            continue;
        }
        *reply = env;
        return 0;
    }
}
