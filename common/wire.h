/* wire.h - the drover wire format over ZeroMQ.
 *
 * One protobuf Envelope per message.  On ROUTER sockets a message is two
 * frames [routing id][envelope]; on DEALER sockets just [envelope].
 * wire_recv() consumes exactly one whole message whatever it holds, so a
 * malformed message can never desynchronise the socket; it checks size,
 * frame count, decodes with protobuf-c and checks the version.  The caller
 * owns the returned envelope and frees it with wire_free().
 */
#ifndef DR_WIRE_H
#define DR_WIRE_H

#include "drover.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define DR_PROTO_VERSION 1
#define DR_MAX_MSG_BYTES (8u * 1024 * 1024)
#define DR_MAX_ROUTING_ID 255

typedef Drover__Envelope dr_env_t;

/* Fills in a fresh envelope with the current version and a request id. */
void wire_env_init(dr_env_t *env, uint64_t request_id);

/* Fills in a fresh envelope carrying one body: msg is borrowed and must
 * be of the type body names (every body is a pointer of one union). */
void wire_env_body(dr_env_t *env, uint64_t request_id,
                   Drover__Envelope__BodyCase body, void *msg);

/* An Error envelope: err is filled in with code and message (borrowed). */
void wire_env_error(dr_env_t *env, Drover__Error *err, uint64_t request_id,
                    int code, const char *message);

/* Encodes and sends.  rid may be NULL (DEALER).  0, DR_EAGAIN when the
 * peer's queue is full / unroutable, DR_EIO otherwise. */
int wire_send(void *sock, const char *rid, const dr_env_t *env);

/* Sends an Error reply with a formatted one-line message. */
int wire_send_error(void *sock, const char *rid, uint64_t request_id, int code,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Receives one message.  flags: 0 or ZMQ_DONTWAIT.  rid (may be NULL on a
 * DEALER) gets the NUL-terminated routing id, at most DR_MAX_ROUTING_ID.
 * Returns 0 with *out set; DR_EAGAIN if nothing is waiting; DR_EPROTO for
 * a message that is not an Envelope (wrong frame count, undecodable, no
 * body); DR_EVERSION for another version (then *out is still set so a
 * reply can quote its request id); DR_ETOOBIG; DR_EIO for socket errors. */
int wire_recv(void *sock, char *rid, int flags, dr_env_t **out);

/* The same, and a property of the message (zmq_msg_gets) in val ("" when
 * it has none): "User-Id", the ZAP handler's verdict on a CURVE peer, or
 * "Peer-Address", on an ipc:// socket "HOST:UID:GID:PID" from the kernel
 * (SO_PEERCRED). */
int wire_recv_ex(void *sock, char *rid, int flags, dr_env_t **out,
                 const char *prop, char *val, size_t cap);

void wire_free(dr_env_t **env);

/* A time limit of a Job or TaskStart in ms: time_limit_ms, else the whole
 * seconds of time_limit_s (what older peers send); and back, the seconds
 * rounded up, for older readers.  0 = none. */
static inline uint64_t wire_limit_ms(uint64_t ms, uint32_t s)
{
    return ms ? ms : (uint64_t)s * 1000;
}
static inline uint32_t wire_limit_s(uint64_t ms)
{
    uint64_t s = (ms + 999) / 1000;
    return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

/* An envelope from n bytes, checked as wire_recv checks it: 0 with *out
 * set, DR_ETOOBIG, DR_EPROTO, or DR_EVERSION (with *out set). */
int wire_decode(const void *data, size_t n, dr_env_t **out);

/* Routing ids as C strings: printable ids as they are, binary ones as '#'
 * and hex.  out holds DR_MAX_ROUTING_ID + 1 bytes; decode returns the
 * byte length written to out (DR_MAX_ROUTING_ID bytes at most). */
void wire_rid_encode(const void *data, size_t n, char *out);
size_t wire_rid_decode(const char *rid, unsigned char *out);

/* Sends req and waits up to timeout_ms for the reply with the same request
 * id (others are dropped).  For the CLI and tests, DEALER sockets only. */
int wire_call(void *sock, dr_env_t *req, int timeout_ms, dr_env_t **reply);

/* Name of a body case, for logs ("job_submit", "?" when unknown). */
const char *wire_body_name(int body_case);

/* The routing ids of agents that are joining (their key is not known
 * yet): a prefix no node name can have (names begin with a letter or a
 * digit), so that a joining peer never holds a node's routing id. */
#define DR_JOIN_RID_PREFIX "~join."

#endif
