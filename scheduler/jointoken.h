/* jointoken.h - join tokens as values: their text form, their hash and
 * the rules that make one usable.
 *
 * A token is "ID.SECRET" (as kubeadm's bootstrap tokens): ID is 6 and
 * SECRET 32 characters of [a-z0-9].  The ID is public (lists show it, the
 * store keys rows by it); only SHA-256 of the secret is ever stored, so a
 * copy of the database does not let anyone join.  Nothing here keeps
 * state, touches the store or knows the model: join_mgr.c does that.
 */
#ifndef DR_JOINTOKEN_H
#define DR_JOINTOKEN_H

#include <stddef.h>
#include <stdint.h>

#define JT_ID_LEN 6
#define JT_SECRET_LEN 32
#define JT_TOKEN_LEN (JT_ID_LEN + 1 + JT_SECRET_LEN)
#define JT_HASH_LEN 64 /* SHA-256 in hex */
#define JT_DEFAULT_TTL_MS (24LL * 3600 * 1000)
#define JT_MAX_TTL_MS (365LL * 24 * 3600 * 1000)

typedef struct {
    char id[JT_ID_LEN + 1];
    char cluster[64];
    char secret_hash[JT_HASH_LEN + 1];
    int64_t created_at_ms;
    int64_t expires_at_ms;
    uint32_t max_uses; /* 0 = no limit */
    uint32_t uses;
    int revoked;
    char created_by[64];
    /* the public half of keys_join_pair(token): the one unknown key the
     * agents endpoint admits for it (a joining node connects with it) */
    char join_key[41];
} jt_row_t;

/* A fresh token into out (JT_TOKEN_LEN + 1 bytes); 0 or DR_ESYS. */
int jt_generate(char *out);

/* Splits a token into its ID and secret (each NUL-terminated).  0, or
 * DR_EINVAL when it is not "ID.SECRET" of the right lengths and alphabet. */
int jt_parse(const char *token, char *id, char *secret);

/* 1 when s looks like a token's ID (JT_ID_LEN of [a-z0-9]). */
int jt_valid_id(const char *s);

/* SHA-256 of the secret, lower-case hex, into out (JT_HASH_LEN + 1). */
void jt_hash(const char *secret, char *out);

/* 1 when secret hashes to row->secret_hash (constant time). */
int jt_secret_matches(const jt_row_t *row, const char *secret);

/* 0 when the row may be used at now_ms, else DR_EPERM with why (revoked,
 * expired, uses spent). */
int jt_usable(const jt_row_t *row, int64_t now_ms, char *why, size_t cap);

#endif
