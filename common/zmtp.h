/* zmtp.h - a ZeroMQ peer without libzmq: ZMTP 3.0 (rfc.zeromq.org/spec/23),
 * the NULL mechanism, a DEALER socket of one connection, over a unix
 * stream socket.
 *
 * It is what the CLI speaks to the scheduler's local socket (an ipc://
 * ROUTER with no CURVE, whose peers the kernel names): a `drover job
 * submit` then loads no libzmq (its C++ runtime, Kerberos, PGM and NORM
 * cost ~1.8 ms of every run), starts no I/O thread and makes no
 * handshake but this one.  Each message is one frame, as the CLI's
 * envelopes are; a multi-frame message from the peer is refused.  Every
 * call has a deadline (a monotonic ms, dr_mono_ms); nothing blocks past
 * it.  Whatever the peer sends is checked: a bad greeting, a mechanism
 * other than NULL, a socket type that is not ROUTER, a frame over max
 * bytes end the connection with why saying so.
 */
#ifndef DR_ZMTP_H
#define DR_ZMTP_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

/* Connects to the unix socket at path and makes the handshake, with
 * routing_id as this DEALER's identity (1-255 bytes).  The connected fd,
 * or DR_EIO / DR_ETIMEOUT / DR_EPROTO with why filled in. */
int zmtp_connect(const char *path, const char *routing_id, int64_t deadline,
                 char *why, size_t cap);

/* Sends one message (a single frame). */
int zmtp_send(int fd, const void *data, size_t len, int64_t deadline, char *why,
              size_t cap);

/* Receives the next message into out (replaced); commands the peer sends
 * between messages (PING) are skipped.  DR_ETIMEOUT when the deadline
 * passes, DR_ETOOBIG for a frame over max, DR_EPROTO, DR_EIO. */
int zmtp_recv(int fd, dr_buf_t *out, size_t max, int64_t deadline, char *why,
              size_t cap);

#endif
