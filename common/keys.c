/* keys.c - see keys.h. */
#include "keys.h"
#include "dr_err.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Z85 (rfc.zeromq.org/spec/32), as libzmq writes CURVE keys: here so that
 * making and reading keys needs no libzmq (the CLI loads it only for a
 * TCP endpoint). */
static const char s_z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
                            "OPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

static void s_z85_encode(char *out, const uint8_t *in, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = (uint32_t)in[i] << 24 | (uint32_t)in[i + 1] << 16 |
                     (uint32_t)in[i + 2] << 8 | in[i + 3];
        for (int d = 4; d >= 0; d--) {
            out[k + (size_t)d] = s_z85[v % 85];
            v /= 85;
        }
        k += 5;
    }
    out[k] = '\0';
}

/* 0, or -1 for a character outside the alphabet or a value past 2^32. */
static int s_z85_decode(uint8_t *out, const char *in, size_t len)
{
    for (size_t i = 0; i < len; i += 5) {
        uint64_t v = 0;
        for (size_t d = 0; d < 5; d++) {
            const char *c = in[i + d] ? strchr(s_z85, in[i + d]) : NULL;
            if (!c)
                return -1;
            v = v * 85 + (uint64_t)(c - s_z85);
        }
        if (v > UINT32_MAX)
            return -1;
        for (size_t b = 0; b < 4; b++)
            out[i / 5 * 4 + b] = (uint8_t)(v >> (24 - 8 * b));
    }
    return 0;
}

/* A Curve25519 pair, as zmq_curve_keypair makes it (libsodium's
 * crypto_box_keypair). */
int keys_generate(dr_keypair_t *out)
{
    memset(out, 0, sizeof *out);
    if (sodium_init() < 0)
        return DR_EUNSUPP;
    uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
    if (crypto_box_keypair(pk, sk) != 0)
        return DR_EUNSUPP;
    s_z85_encode(out->public_z85, pk, sizeof pk);
    s_z85_encode(out->secret_z85, sk, sizeof sk);
    sodium_memzero(sk, sizeof sk);
    return 0;
}

int keys_valid_z85(const char *s)
{
    if (!s || strlen(s) != DR_Z85_KEY_LEN)
        return 0;
    uint8_t bin[32];
    return s_z85_decode(bin, s, DR_Z85_KEY_LEN) == 0;
}

static int s_write_file(const char *path, const char *text, mode_t mode,
                        char *err, size_t errlen)
{
    char *tmp = dr_asprintf("%s.tmp.%d", path, (int)getpid());
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || fchmod(fd, mode) < 0 ||
        dr_write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        rc = DR_EIO;
    }
    if (fd >= 0 && close(fd) < 0 && rc == 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        rc = DR_EIO;
    }
    if (rc == 0 && rename(tmp, path) < 0) {
        snprintf(err, errlen, "rename to %s: %s", path, strerror(errno));
        rc = DR_EIO;
    }
    if (rc < 0)
        (void)unlink(tmp);
    free(tmp);
    return rc;
}

int keys_write(const char *secret_path, const char *public_path,
               const dr_keypair_t *kp, char *err, size_t errlen)
{
    char text[256];
    snprintf(text, sizeof text,
             "# drover CURVE key pair: keep this file secret (mode 0600)\n"
             "public = %s\nsecret = %s\n",
             kp->public_z85, kp->secret_z85);
    int rc = s_write_file(secret_path, text, 0600, err, errlen);
    if (rc == 0 && public_path) {
        snprintf(text, sizeof text, "# drover CURVE public key\npublic = %s\n",
                 kp->public_z85);
        rc = s_write_file(public_path, text, 0644, err, errlen);
    }
    return rc;
}

int keys_load(const char *path, dr_keypair_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return DR_EIO;
    }
    struct stat st;
    char buf[1024];
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && st.st_size < (off_t)sizeof buf)
        n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "%s: unreadable or too large", path);
        return DR_EIO;
    }
    buf[n] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '#' || *line == '\0')
            continue;
        char key[16], val[64];
        if (sscanf(line, "%15[a-z] = %63s", key, val) != 2) {
            snprintf(err, errlen, "%s: malformed line '%.40s'", path, line);
            return DR_EINVAL;
        }
        if (!keys_valid_z85(val)) {
            snprintf(err, errlen, "%s: %s key is not 40 characters of Z85",
                     path, key);
            return DR_EINVAL;
        }
        if (strcmp(key, "public") == 0)
            memcpy(out->public_z85, val, DR_Z85_KEY_LEN + 1);
        else if (strcmp(key, "secret") == 0)
            memcpy(out->secret_z85, val, DR_Z85_KEY_LEN + 1);
        else {
            snprintf(err, errlen, "%s: unknown field '%s'", path, key);
            return DR_EINVAL;
        }
    }
    if (!out->public_z85[0]) {
        snprintf(err, errlen, "%s: no public key", path);
        return DR_EINVAL;
    }
    if (out->secret_z85[0] && (st.st_mode & 077)) {
        snprintf(err, errlen,
                 "secret key file %s is readable by group or others (mode "
                 "%04o); chmod 600 it",
                 path, (unsigned)(st.st_mode & 0777));
        memset(out, 0, sizeof *out);
        return DR_EPERM;
    }
    return 0;
}

int keys_public_arg(const char *arg, char *out, char *err, size_t errlen)
{
    struct stat st;
    if (!arg || !*arg) {
        snprintf(err, errlen, "no key given (FILE or Z85)");
        return DR_EINVAL;
    }
    /* The path first: a key file may have a 40-character name. */
    if (stat(arg, &st) == 0 || !keys_valid_z85(arg)) {
        dr_keypair_t kp;
        int rc = keys_load(arg, &kp, err, errlen);
        if (rc == 0)
            memcpy(out, kp.public_z85, DR_Z85_KEY_LEN + 1);
        return rc;
    }
    memcpy(out, arg, DR_Z85_KEY_LEN + 1);
    return 0;
}

int keys_load_or_create(const char *secret_path, const char *public_path,
                        dr_keypair_t *kp, int *created, char *err,
                        size_t errlen)
{
    int rc;
    *created = 0;
    if (access(secret_path, F_OK) == 0) {
        rc = keys_load(secret_path, kp, err, errlen);
        if (rc == 0 && !kp->secret_z85[0]) {
            snprintf(err, errlen, "%s holds no secret key", secret_path);
            rc = DR_EINVAL;
        }
    } else if ((rc = keys_generate(kp)) == 0) {
        rc = keys_write(secret_path, public_path, kp, err, errlen);
        *created = rc == 0;
    } else {
        snprintf(err, errlen, "libsodium cannot make a key pair");
    }
    return rc;
}

int keys_join_pair(const char *token, dr_keypair_t *out)
{
    static const char label[] = "drover join key v1\n";
    if (sodium_init() < 0)
        return DR_EUNSUPP;
    unsigned char seed[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)label,
                              sizeof label - 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)token, strlen(token));
    crypto_hash_sha256_final(&st, seed);
    unsigned char pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
    int rc = crypto_box_seed_keypair(pk, sk, seed) == 0 ? 0 : DR_EUNSUPP;
    if (rc == 0) {
        s_z85_encode(out->public_z85, pk, sizeof pk);
        s_z85_encode(out->secret_z85, sk, sizeof sk);
    }
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

void keys_fingerprint(const char *text, char *out)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    /* SHA-256 needs no sodium_init(): it keeps no state and draws no
     * random bytes */
    crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < DR_FINGERPRINT_LEN / 2; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[DR_FINGERPRINT_LEN] = '\0';
}
