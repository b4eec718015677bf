/* apitoken.c - the HTTP API's bearer tokens (apitoken.h), in the model.
 *
 * A token maps to a user principal by name; its role is read from the key
 * table on every request (auth.c), never stored with it.  The token text
 * is never stored nor logged: only its SHA-256 (hex) is, and a lookup
 * hashes what a request presents and reads that row.
 */
#include "apitoken.h"
#include "auth.h"
#include "dr_err.h"
#include "log.h"
#include "sched_int.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define HASH_HEX (crypto_hash_sha256_BYTES * 2)

static void s_hash(const char *token, char *out)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(out, HASH_HEX + 1, h, sizeof h);
}

/* The user principal of that name, or NULL (agents have no tokens). */
static const principal_t *s_user(const sched_t *s, const char *name)
{
    for (size_t i = 0; i < auth_count(s->auth); i++) {
        const principal_t *p = auth_at(s->auth, i);
        if (p->kind == PRINCIPAL_USER && strcmp(p->name, name) == 0)
            return p;
    }
    return NULL;
}

int apitoken_create(sched_t *s, const char *name, const char *by, char *token,
                    int *admin, char *why, size_t cap)
{
    const principal_t *p = s_user(s, name);
    if (!p && !s->opts.insecure) {
        snprintf(why, cap,
                 "no user %s: a token speaks for a user key (drover keys "
                 "add-user first)",
                 name);
        return DR_ENOENT;
    }
    if (sodium_init() < 0) {
        snprintf(why, cap, "libsodium cannot start");
        return DR_ESYS;
    }
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    memcpy(token, APITOKEN_PREFIX, strlen(APITOKEN_PREFIX));
    sodium_bin2base64(token + strlen(APITOKEN_PREFIX),
                      APITOKEN_LEN + 1 - strlen(APITOKEN_PREFIX), raw,
                      sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    char hash[HASH_HEX + 1];
    s_hash(token, hash);
    int rc = store_api_token_put(s->store, hash, name, dr_now_ms(), by);
    if (rc < 0) {
        snprintf(why, cap, "cannot store the token: %s", dr_strerror(rc));
        return rc == DR_EEXIST ? DR_EDB : rc;
    }
    (void)store_event(s->store, "api_token_created", "", "", 0,
                      "HTTP API token for %s created by %s", name, by);
    metrics_inc(s->metrics, MC_API_TOKENS, NULL, NULL, 1);
    *admin = p ? p->admin : 1;
    return 0;
}

int apitoken_lookup(sched_t *s, const char *token, char *user, size_t ucap,
                    int *admin, char *why, size_t cap)
{
    size_t plen = strlen(APITOKEN_PREFIX);
    if (strlen(token) != APITOKEN_LEN ||
        strncmp(token, APITOKEN_PREFIX, plen) != 0 ||
        strspn(token + plen,
               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
               "0123456789-_") != APITOKEN_LEN - plen) {
        snprintf(why, cap,
                 "malformed token (drover keys token create NAME "
                 "makes one)");
        return DR_EPERM;
    }
    char hash[HASH_HEX + 1], name[64];
    s_hash(token, hash);
    if (store_api_token_get(s->store, hash, name, sizeof name) < 0) {
        snprintf(why, cap, "unknown token");
        return DR_EPERM;
    }
    const principal_t *p = s_user(s, name);
    if (!p && s->opts.insecure) {
        /* --insecure: every client is admin, as on the ZeroMQ side */
        snprintf(user, ucap, "%s", name);
        *admin = 1;
        return 0;
    }
    if (!p) {
        snprintf(why, cap, "the token's user %s has no key any more", name);
        return DR_EPERM;
    }
    snprintf(user, ucap, "%s", p->name);
    *admin = p->admin;
    return 0;
}
