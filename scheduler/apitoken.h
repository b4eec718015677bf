/* apitoken.h - the HTTP API's bearer tokens, part of the model.
 *
 * A token is "drv_" and 43 characters (32 random bytes, base64url); it is
 * shown once, when made, and only its SHA-256 is stored (the api_tokens
 * table, schema 5), with the user it speaks for.  A token carries no role
 * of its own: each request takes the role of the user principal of that
 * name as the key table has it now, so revoking the user's key (drover
 * keys revoke) ends their tokens too.  Under --insecure (no keys, every
 * client admin) a token may name anyone and is admin.
 */
#ifndef DR_APITOKEN_H
#define DR_APITOKEN_H

#include "sched.h"

#include <stddef.h>
#include <stdint.h>

#define APITOKEN_PREFIX "drv_"
#define APITOKEN_LEN 47 /* prefix + 43 */

/* A new token for user principal name (made by `by`): its text in token
 * (APITOKEN_LEN + 1), its row written, an event.  0, or DR_ENOENT (no
 * such user: agents have no tokens) / DR_EDB with why. */
int apitoken_create(sched_t *s, const char *name, const char *by, char *token,
                    int *admin, char *why, size_t cap);
/* Who a token speaks for: 0 with the user and their role now, or
 * DR_EPERM with why (malformed, unknown, or the user's key is gone). */
int apitoken_lookup(sched_t *s, const char *token, char *user, size_t ucap,
                    int *admin, char *why, size_t cap);

#endif
