/* dr_err.h - drover's error codes.
 *
 * Every function that can fail returns 0 or a negative DR_E* code, as libuv
 * does.  The list lives in one X-macro so that the enum and the message
 * table can never drift apart.  The caller logs once, where it knows the
 * context; dr_strerror() never returns NULL.
 */
#ifndef DR_ERR_H
#define DR_ERR_H

#define DR_ERRNO_MAP(X)                                                        \
    X(INVAL, 1, "invalid argument")                                            \
    X(NOENT, 2, "not found")                                                   \
    X(EXIST, 3, "already exists")                                              \
    X(NOMEM, 4, "out of memory")                                               \
    X(IO, 5, "i/o error")                                                      \
    X(PROTO, 6, "malformed message")                                           \
    X(VERSION, 7, "unsupported protocol version")                              \
    X(TOOBIG, 8, "message too large")                                          \
    X(DB, 9, "database error")                                                 \
    X(STATE, 10, "operation not allowed in this state")                        \
    X(TIMEOUT, 11, "timed out")                                                \
    X(NOTREG, 12, "node not registered")                                       \
    X(PERM, 13, "permission denied")                                           \
    X(UNSUPP, 14, "not supported")                                             \
    X(NOFIT, 15, "request does not fit the cluster's vm size")                 \
    X(PROVIDER, 16, "provider error")                                          \
    X(AGAIN, 17, "try again")                                                  \
    X(SYS, 18, "system call failed")                                           \
    X(NOSPC, 19, "disk full")                                                  \
    X(BUSY, 20, "held by another live session")                                \
    X(NOTLEADER, 21, "not the leader")

typedef enum {
    DR_OK = 0,
#define DR_ERR_ENUM(name, num, msg) DR_E##name = -(num),
    DR_ERRNO_MAP(DR_ERR_ENUM)
#undef DR_ERR_ENUM
} dr_err_t;

/* Message for a DR_E* code; "unknown error" for anything else. */
const char *dr_strerror(int err);

/* Symbolic name ("DR_ENOENT") for a code, for logs and tests. */
const char *dr_errname(int err);

#endif
