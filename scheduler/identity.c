/* identity.c - see identity.h. */
#include "identity.h"
#include "dr_err.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TOKEN_MAX 4096
#define B64V sodium_base64_VARIANT_URLSAFE_NO_PADDING

struct identity {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    int ttl_s;
};

/* The key file holds the secret key (which embeds the public one). */
static int s_load_or_create(identity_t *self, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st;
        ssize_t n = -1;
        if (fstat(fd, &st) == 0 && !(st.st_mode & 077))
            n = read(fd, self->sk, sizeof self->sk);
        close(fd);
        if (n != (ssize_t)sizeof self->sk) {
            log_error("identity: %s must be %zu bytes and mode 0600", path,
                      sizeof self->sk);
            return DR_EPERM;
        }
        crypto_sign_ed25519_sk_to_pk(self->pk, self->sk);
        return 0;
    }
    if (errno != ENOENT) {
        log_warn_errno("identity: %s", path);
        return DR_EIO;
    }
    crypto_sign_keypair(self->pk, self->sk);
    char *tmp = dr_asprintf("%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = 0;
    if (fd < 0 || dr_write_all(fd, self->sk, sizeof self->sk) < 0 ||
        fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        log_warn_errno("identity: cannot write %s", path);
        rc = DR_EIO;
    }
    free(tmp);
    if (rc == 0)
        log_info("identity: created the token signing key %s", path);
    return rc;
}

identity_t *identity_new(const char *keys_dir, int ttl_s)
{
    if (sodium_init() < 0) {
        log_error("identity: libsodium failed to initialise");
        return NULL;
    }
    identity_t *self = dr_calloc(1, sizeof *self);
    self->ttl_s = ttl_s > 0 ? ttl_s : 600;
    char *path = dr_asprintf("%s/identity.key", keys_dir);
    int rc =
        dr_mkdirs(keys_dir, 0700) == 0 ? s_load_or_create(self, path) : DR_EIO;
    free(path);
    if (rc < 0)
        identity_destroy(&self);
    return self;
}

void identity_destroy(identity_t **self_p)
{
    if (self_p && *self_p) {
        sodium_memzero((*self_p)->sk, sizeof(*self_p)->sk);
        free(*self_p);
        *self_p = NULL;
    }
}

static char *s_b64(const unsigned char *bin, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, B64V);
    char *out = dr_malloc(cap);
    sodium_bin2base64(out, cap, bin, n, B64V);
    return out;
}

char *identity_sign(const identity_t *self, const char *subject,
                    const char *cluster, uint64_t job_id, const char *resource,
                    int64_t *expires_on)
{
    int64_t now = (int64_t)time(NULL);
    *expires_on = now + self->ttl_s;
    json_t *p = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I}", "iss",
                          "drover", "sub", subject, "cluster", cluster, "job",
                          (json_int_t)job_id, "aud", resource, "iat",
                          (json_int_t)now, "exp", (json_int_t)*expires_on);
    char *js = p ? json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(p);
    if (!js) {
        fprintf(stderr, "out of memory at %s:%d\n", __FILE__, __LINE__);
        abort();
    }
    char *pb = s_b64((const unsigned char *)js, strlen(js));
    free(js);
    char *signed_part = dr_asprintf("v1.%s", pb);
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const unsigned char *)signed_part,
                         strlen(signed_part), self->sk);
    char *sb = s_b64(sig, sizeof sig);
    char *token = dr_asprintf("%s.%s", signed_part, sb);
    free(pb);
    free(sb);
    free(signed_part);
    return token;
}

int identity_verify(const identity_t *self, const char *token,
                    identity_claims_t *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    if (!token || strlen(token) > TOKEN_MAX || strncmp(token, "v1.", 3) != 0) {
        snprintf(why, whylen, "not a drover token");
        return DR_EINVAL;
    }
    const char *dot = strrchr(token, '.');
    if (dot <= token + 3) {
        snprintf(why, whylen, "malformed token");
        return DR_EINVAL;
    }
    unsigned char sig[crypto_sign_BYTES];
    size_t siglen = 0;
    if (sodium_base642bin(sig, sizeof sig, dot + 1, strlen(dot + 1), NULL,
                          &siglen, NULL, B64V) != 0 ||
        siglen != sizeof sig) {
        snprintf(why, whylen, "malformed signature");
        return DR_EINVAL;
    }
    if (crypto_sign_verify_detached(sig, (const unsigned char *)token,
                                    (size_t)(dot - token), self->pk) != 0) {
        snprintf(why, whylen, "bad signature");
        return DR_EPERM;
    }
    const char *pb = token + 3;
    size_t pblen = (size_t)(dot - pb);
    unsigned char *js = dr_malloc(pblen + 1);
    size_t jlen = 0;
    int rc = 0;
    if (sodium_base642bin(js, pblen, pb, pblen, NULL, &jlen, NULL, B64V) != 0) {
        snprintf(why, whylen, "malformed payload");
        free(js);
        return DR_EINVAL;
    }
    json_error_t jerr;
    json_t *p = json_loadb((const char *)js, jlen, 0, &jerr);
    free(js);
    const char *sub = NULL, *cl = NULL, *aud = NULL;
    json_int_t job = 0, iat = 0, exp = 0;
    if (!p || json_unpack(p, "{s:s, s:s, s:I, s:s, s:I, s:I}", "sub", &sub,
                          "cluster", &cl, "job", &job, "aud", &aud, "iat", &iat,
                          "exp", &exp) != 0) {
        snprintf(why, whylen, "malformed claims");
        rc = DR_EINVAL;
    } else {
        snprintf(out->subject, sizeof out->subject, "%s", sub);
        snprintf(out->cluster, sizeof out->cluster, "%s", cl);
        snprintf(out->resource, sizeof out->resource, "%s", aud);
        out->job_id = (uint64_t)job;
        out->issued_at = iat;
        out->expires_on = exp;
        if ((int64_t)time(NULL) >= exp) {
            snprintf(why, whylen, "expired %lld s ago",
                     (long long)((int64_t)time(NULL) - exp));
            rc = DR_ETIMEOUT;
        }
    }
    json_decref(p);
    return rc;
}

void identity_new_principal(char *out, size_t cap)
{
    unsigned char r[16];
    randombytes_buf(r, sizeof r);
    snprintf(out, cap,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x"
             "%02x",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
             r[11], r[12], r[13], r[14], r[15]);
}
