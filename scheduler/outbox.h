/* outbox.h - messages waiting for the end of the loop pass.
 *
 * The model and the RPC handlers never touch a socket: they queue packed
 * envelopes here, and the loop sends them only after the pass's
 * transaction committed (so nothing leaves that a crash could take back).
 * An outbox owns copies of everything pushed into it.
 */
#ifndef DR_OUTBOX_H
#define DR_OUTBOX_H

#include "wire.h"

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *rid;    /* the peer's routing id */
    uint64_t req; /* the request it answers (0 = none) */
    uint8_t *data;
    size_t len;
} outmsg_t;

typedef struct {
    outmsg_t *msgs;
    size_t n, cap;
} outbox_t;

/* Packs env for the peer rid. */
void outbox_push(outbox_t *ob, const char *rid, const dr_env_t *env);
/* Replaces every message by an Error with this code and text, each for
 * the request it answered: what the pass did was not kept. */
void outbox_fail_all(outbox_t *ob, int code, const char *msg);
/* An Error envelope with a formatted message. */
void outbox_verror(outbox_t *ob, const char *rid, uint64_t req, int code,
                   const char *fmt, va_list ap);
/* "not the leader, try LEADER": an Error (DR_ENOTLEADER) whose leader
 * field names the endpoint to try ("" when unknown). */
void outbox_not_leader(outbox_t *ob, const char *rid, uint64_t req,
                       const char *leader);
/* Frees what is queued; the outbox is empty and reusable after. */
void outbox_clear(outbox_t *ob);
/* Frees everything. */
void outbox_free(outbox_t *ob);

#endif
