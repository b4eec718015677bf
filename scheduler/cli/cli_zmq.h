/* cli_zmq.h - libzmq, loaded by the CLI only for a TCP endpoint.
 *
 * The CLI's usual peer is a scheduler on its own host, reached through the
 * local socket with common/zmtp.h and no libzmq at all; libzmq (and with
 * it libstdc++, Kerberos, PGM and NORM, ~1.8 ms of every run) is loaded
 * by its soname when a command first talks CURVE over TCP.  A table of
 * the few functions the CLI calls, owned by cli_ctx_t.
 */
#ifndef DR_CLI_ZMQ_H
#define DR_CLI_ZMQ_H

#include <stddef.h>
#include <zmq.h>

#define CLI_ZMQ_FUNCS(X)                                                       \
    X(zmq_ctx_new)                                                             \
    X(zmq_ctx_term)                                                            \
    X(zmq_socket)                                                              \
    X(zmq_close)                                                               \
    X(zmq_setsockopt)                                                          \
    X(zmq_connect)                                                             \
    X(zmq_send)                                                                \
    X(zmq_msg_init)                                                            \
    X(zmq_msg_recv)                                                            \
    X(zmq_msg_data)                                                            \
    X(zmq_msg_size)                                                            \
    X(zmq_msg_close)                                                           \
    X(zmq_poll)                                                                \
    X(zmq_strerror)

typedef struct cli_zmq {
    void *dl;
#define X(f) __typeof__(f) *f;
    CLI_ZMQ_FUNCS(X)
#undef X
} cli_zmq_t;

/* Loads libzmq into a new table; NULL with why filled in. */
cli_zmq_t *cli_zmq_load(char *why, size_t cap);
void cli_zmq_unload(cli_zmq_t **self_p);

#endif
