/* auth.h - who may talk to the scheduler: keys, roles and the ZAP handler.
 *
 * auth_t owns the in-memory table of principals (users with a role, and
 * agents bound to their node name), each a CURVE public key; the store
 * keeps them durable.  The ZAP handler answers libzmq's authentication
 * requests from inside the scheduler's loop (a REP socket on
 * inproc://zeromq.zap.01, polled like the others): the agent endpoint
 * admits agent keys and, as "joining" peers, the join keys of tokens
 * (keys_join_pair: only a holder of the token can make one; AUTH_JOINING_
 * PREFIX), never any other unknown key; the client endpoint user keys
 * only; and every
 * refusal is logged and written as an event.  Because the decision is
 * made per connection, every message is checked again against the table
 * (auth_peer): a revoked key is refused on its next message.
 */
#ifndef DR_AUTH_H
#define DR_AUTH_H

#include "keys.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct auth auth_t;

typedef enum { PRINCIPAL_USER, PRINCIPAL_AGENT } principal_kind_t;

typedef struct {
    char name[64];
    principal_kind_t kind;
    int admin;
    char public_z85[DR_Z85_KEY_LEN + 1];
    int64_t created_at_ms;
} principal_t;

#define AUTH_DOMAIN_AGENTS "agents"
#define AUTH_DOMAIN_CLIENTS "clients"

/* Loads the principals; with keys_dir, makes sure the scheduler's key pair
 * (scheduler.key / scheduler.pub) and a local admin (admin.key /
 * admin.pub, principal "admin") exist there, creating them on first start.
 * NULL with the reason logged (e.g. a secret key file readable by others). */
auth_t *auth_new(store_t *store, const char *keys_dir);
void auth_destroy(auth_t **self_p);

/* The scheduler's own key pair. */
const dr_keypair_t *auth_server_keys(const auth_t *self);

/* Binds the ZAP handler in ctx; must run before any CURVE socket binds. */
int auth_zap_bind(auth_t *self, void *zctx);
void *auth_zap_socket(const auth_t *self);
/* Answers every pending ZAP request (non-blocking). */
void auth_zap_handle(auth_t *self);

/* On the agent endpoint a key the table does not know is admitted as a
 * joining peer, whose ZAP User-Id is this prefix and the key: it may send
 * only Join (checked per message by the loop), so an unknown key can do
 * nothing but present a join token. */
#define AUTH_JOINING_PREFIX "joining:"
/* The Z85 key of a joining peer's User-Id, or NULL when it is not one. */
const char *auth_joining_key(const char *user_id);

/* The user principal of this name, or NULL. */
const principal_t *auth_user(const auth_t *self, const char *name);

/* The principal behind a ZAP User-Id, or NULL when it is gone (revoked). */
const principal_t *auth_peer(const auth_t *self, const char *user_id);
/* Reads the principals back from the store (after a rolled-back pass). */
int auth_reload(auth_t *self);

/* Adds (or replaces) a principal; DR_EEXIST when the key is another's,
 * DR_EINVAL for a bad name/key/role. */
int auth_add(auth_t *self, const char *name, principal_kind_t kind, int admin,
             const char *public_z85);
/* Removes a principal; DR_ENOENT if unknown. */
int auth_revoke(auth_t *self, const char *name);
/* The same, only when name is an agent's key (a user of that name stays). */
int auth_revoke_agent(auth_t *self, const char *name);
size_t auth_count(const auth_t *self);
const principal_t *auth_at(const auth_t *self, size_t i);

/* Creates a key pair for an agent the scheduler starts, registers it as
 * agent NAME and writes it to secret_path (0600).  0 or DR_E*. */
int auth_issue_agent_key(auth_t *self, const char *node_name,
                         const char *secret_path);

#endif
