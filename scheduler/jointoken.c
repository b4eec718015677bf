/* jointoken.c - see jointoken.h. */
#include "jointoken.h"
#include "dr_err.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char s_alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";

static int s_in_alpha(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(s_alpha, s[i]))
            return 0;
    return 1;
}

int jt_generate(char *out)
{
    if (sodium_init() < 0)
        return DR_ESYS;
    for (size_t i = 0; i < JT_TOKEN_LEN; i++)
        out[i] = s_alpha[randombytes_uniform(sizeof s_alpha - 1)];
    out[JT_ID_LEN] = '.';
    out[JT_TOKEN_LEN] = '\0';
    return 0;
}

int jt_valid_id(const char *s)
{
    return s && strlen(s) == JT_ID_LEN && s_in_alpha(s, JT_ID_LEN);
}

int jt_parse(const char *token, char *id, char *secret)
{
    if (!token || strlen(token) != JT_TOKEN_LEN || token[JT_ID_LEN] != '.' ||
        !s_in_alpha(token, JT_ID_LEN) ||
        !s_in_alpha(token + JT_ID_LEN + 1, JT_SECRET_LEN))
        return DR_EINVAL;
    memcpy(id, token, JT_ID_LEN);
    id[JT_ID_LEN] = '\0';
    memcpy(secret, token + JT_ID_LEN + 1, JT_SECRET_LEN);
    secret[JT_SECRET_LEN] = '\0';
    return 0;
}

void jt_hash(const char *secret, char *out)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)secret, strlen(secret));
    sodium_bin2hex(out, JT_HASH_LEN + 1, h, sizeof h);
}

int jt_secret_matches(const jt_row_t *row, const char *secret)
{
    char h[JT_HASH_LEN + 1];
    jt_hash(secret, h);
    return strlen(row->secret_hash) == JT_HASH_LEN &&
           sodium_memcmp(h, row->secret_hash, JT_HASH_LEN) == 0;
}

int jt_usable(const jt_row_t *row, int64_t now_ms, char *why, size_t cap)
{
    if (row->revoked) {
        snprintf(why, cap, "join token %s was revoked", row->id);
        return DR_EPERM;
    }
    if (now_ms >= row->expires_at_ms) {
        snprintf(why, cap, "join token %s has expired", row->id);
        return DR_EPERM;
    }
    if (row->max_uses && row->uses >= row->max_uses) {
        snprintf(why, cap, "join token %s has been used %u of %u times",
                 row->id, row->uses, row->max_uses);
        return DR_EPERM;
    }
    return 0;
}
