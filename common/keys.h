/* keys.h - CURVE key pairs and their files.
 *
 * A key file is text: "public = Z85" and, in a secret key file, "secret =
 * Z85" (40 characters each, ZeroMQ's Z85 encoding of 32 bytes).  Secret
 * files are written 0600 through a temporary file and a rename; a secret
 * file that group or others may read is refused at load time, so no
 * daemon ever starts with a leaked key.  Nothing here keeps state.
 */
#ifndef DR_KEYS_H
#define DR_KEYS_H

#include <stddef.h>

#define DR_Z85_KEY_LEN 40

typedef struct {
    char public_z85[DR_Z85_KEY_LEN + 1];
    char secret_z85[DR_Z85_KEY_LEN + 1]; /* "" when only the public half */
} dr_keypair_t;

/* A fresh key pair (libsodium, as zmq_curve_keypair). 0 or DR_EUNSUPP. */
int keys_generate(dr_keypair_t *out);

/* Writes the secret file (0600) and, if public_path is not NULL, the
 * public file (0644).  0 or DR_EIO with the reason in err. */
int keys_write(const char *secret_path, const char *public_path,
               const dr_keypair_t *kp, char *err, size_t errlen);

/* Reads a key file (secret or public).  DR_EPERM for a secret file with
 * group/other permissions, DR_EINVAL for a malformed one, DR_EIO when it
 * cannot be read; err says which and why. */
int keys_load(const char *path, dr_keypair_t *out, char *err, size_t errlen);

/* Loads secret_path (which must hold a secret key) or, when it does not
 * exist, makes a fresh pair and writes it there (and to public_path, when
 * not NULL); *created says which.  0 or a code with the reason in err. */
int keys_load_or_create(const char *secret_path, const char *public_path,
                        dr_keypair_t *kp, int *created, char *err,
                        size_t errlen);

/* The key pair a join token stands for: derived from the whole token
 * (SHA-256 of a label and the token seeds crypto_box_seed_keypair), so
 * that only a holder of the token can make it.  A joining node connects
 * with it, and the scheduler, which derived it when it made the token,
 * admits no other unknown key.  0 or DR_EUNSUPP (libsodium). */
int keys_join_pair(const char *token, dr_keypair_t *out);

/* 1 if s is 40 characters of the Z85 alphabet that decode. */
int keys_valid_z85(const char *s);

/* A peer's public key given as "FILE or Z85" (--scheduler-key): a path
 * that exists is read as a key file, even when it is 40 characters long;
 * otherwise 40 characters of Z85 are the key itself.  Writes the key to
 * out (DR_Z85_KEY_LEN + 1 bytes).  0, or keys_load's error, or DR_EINVAL
 * when arg is neither, with the reason in err. */
int keys_public_arg(const char *arg, char *out, char *err, size_t errlen);

/* Makes sock a CURVE server with kp, authenticated through ZAP in the
 * given domain.  Call before bind.  (This and keys_apply_client are in
 * keys_zmq.c: the only two that need libzmq.) */
int keys_apply_server(void *sock, const dr_keypair_t *kp, const char *domain);

/* Makes sock a CURVE client with its own kp, trusting server_public.  Call
 * before connect. */
int keys_apply_client(void *sock, const dr_keypair_t *kp,
                      const char *server_public_z85);

/* A short, stable fingerprint of a text (a Z85 public key, an endpoint):
 * the first DR_FINGERPRINT_LEN hex digits of its SHA-256 (libsodium), so
 * that two programs that hold the same text name the same installation.
 * Writes DR_FINGERPRINT_LEN + 1 bytes to out. */
#define DR_FINGERPRINT_LEN 16
void keys_fingerprint(const char *text, char *out);

#endif
