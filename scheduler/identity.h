/* identity.h - managed identities' tokens, signed by the scheduler.
 *
 * A cluster with a managed identity (system-assigned or user-assigned)
 * lets its jobs ask their agent's local token endpoint for a token; the
 * agent asks the scheduler, which signs it here with an Ed25519 key
 * (libsodium) kept in <state>/keys/identity.key (0600).  A token is
 * "v1.<payload>.<signature>", both base64url; the payload is JSON naming
 * the issuer, the identity (sub), cluster, job, audience and times.  It is
 * short-lived; identity_verify checks signature, form and expiry.
 */
#ifndef DR_IDENTITY_H
#define DR_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

typedef struct identity identity_t;

typedef struct {
    char subject[128];
    char cluster[64];
    uint64_t job_id;
    char resource[256];
    int64_t issued_at;
    int64_t expires_on;
} identity_claims_t;

/* Loads or creates the signing key in keys_dir.  NULL with the reason
 * logged. */
identity_t *identity_new(const char *keys_dir, int ttl_s);
void identity_destroy(identity_t **self_p);

/* A signed token (caller frees) and its expiry (unix seconds). */
char *identity_sign(const identity_t *self, const char *subject,
                    const char *cluster, uint64_t job_id, const char *resource,
                    int64_t *expires_on);

/* 0 and the claims when the token is ours, well-formed and unexpired;
 * otherwise a negative DR_E* code and the reason. */
int identity_verify(const identity_t *self, const char *token,
                    identity_claims_t *out, char *why, size_t whylen);

/* A new principal id for a system-assigned identity. */
void identity_new_principal(char *out, size_t cap);

#endif
