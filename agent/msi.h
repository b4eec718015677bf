/* msi.h - the managed-identity token endpoint of a node (issue 7).
 *
 * An msi_t is a tiny HTTP/1.1 server on 127.0.0.1 (an ephemeral port)
 * that answers what Azure's App Service / MSI endpoint answers:
 *   GET /msi/token?resource=RES&api-version=2019-08-01
 *   X-IDENTITY-HEADER: <the task's secret>
 * Each task holds a random secret (msi_task_add); a request whose
 * header matches one (constant-time) is handed to the `ask` callback, which
 * sends a TokenRequest to the scheduler and returns its request id; the
 * reply (msi_on_reply / msi_on_error) answers the connection.  A
 * missing or unknown secret is answered 401 without asking anyone.
 *
 * It never blocks: the agent's loop polls the fds that msi_fd() names
 * and calls msi_on_fd() and msi_tick().  Every connection has a
 * deadline (5 s for a whole request, 5 s for the scheduler's answer, 5 s to
 * write); at most MSI_MAX_CONNS at once, one request per connection.
 * Nothing here knows ZeroMQ or tasks beyond their (job, attempt) and secret.
 */
#ifndef DR_MSI_H
#define DR_MSI_H

#include <stddef.h>
#include <stdint.h>

#define MSI_API_VERSION "2019-08-01"
#define MSI_PATH "/msi/token"
#define MSI_SECRET_LEN 32 /* hex chars */
#define MSI_MAX_HEADER 8192
#define MSI_RESOURCE_MAX 1024
#define MSI_DEADLINE_MS 5000
#define MSI_MAX_CONNS 256

typedef struct msi msi_t;

/* ---- pure parts, exported for tests ---- */

typedef struct {
    char method[16];
    char path[256];                      /* without the query */
    char resource[MSI_RESOURCE_MAX];     /* decoded; "" = none */
    char api_version[32];                /* decoded; "" = none */
    char secret[MSI_SECRET_LEN * 2 + 1]; /* X-IDENTITY-HEADER */
    int has_secret;
    size_t length; /* bytes of the request line and headers */
} msi_http_req_t;

/* Parses the head of an HTTP/1.x request held in buf[0..len).  1 when a
 * whole head is there (out filled); 0 when more bytes are needed;
 * DR_ETOOBIG when the head is (or would be) over MSI_MAX_HEADER;
 * DR_EINVAL when it is malformed (bad request line, header syntax, NUL
 * bytes, a body, a duplicate secret header, bad percent-encoding, a field
 * too long). */
int msi_parse(const char *buf, size_t len, msi_http_req_t *out);

/* 1 when a and b are both MSI_SECRET_LEN chars and equal; the time
 * does not depend on where they differ. */
int msi_secret_eq(const char *a, const char *b);

/* Fills out (MSI_SECRET_LEN + 1 bytes) with random hex from
 * getrandom().  0 or DR_ESYS. */
int msi_secret_new(char *out);

/* The JSON bodies (caller frees). */
char *msi_json_token(const char *access_token, int64_t expires_on,
                     const char *resource, const char *client_id);
char *msi_json_error(const char *error, const char *description);

/* A whole HTTP response (caller frees), with Connection: close. */
char *msi_http_response(int status, const char *json, size_t *len);

/* ---- the server ---- */

/* Asks the scheduler for a token; returns the envelope's request id, or 0
 * when it cannot be asked now (the connection is answered 503). */
typedef uint64_t(msi_ask_fn)(void *arg, uint64_t job_id, uint32_t attempt,
                             const char *resource);

/* Listens on 127.0.0.1:port (0 = ephemeral).  NULL on failure (logged). */
msi_t *msi_new(int port, msi_ask_fn *ask, void *arg);

/* Closes every connection and the listener.  Accepts NULL; nulls *self_p. */
void msi_destroy(msi_t **self_p);

int msi_port(const msi_t *self);

/* "http://127.0.0.1:PORT/msi/token" */
const char *msi_endpoint(const msi_t *self);

/* Remembers a task's secret (copied) until msi_task_remove. */
void msi_task_add(msi_t *self, uint64_t job_id, uint32_t attempt,
                  const char *secret);

/* Forgets it (idempotent): its header is refused from now on. */
void msi_task_remove(msi_t *self, uint64_t job_id, uint32_t attempt);

/* The sockets to poll: the listener and each connection. */
size_t msi_nfds(const msi_t *self);
int msi_fd(const msi_t *self, size_t i, int *want_read, int *want_write);

/* Does the I/O that poll reported on fd. */
void msi_on_fd(msi_t *self, int fd, int readable, int writable);

/* Expires deadlines and frees closed connections.  Returns the monotonic
 * ms at which it wants to be called again (INT64_MAX = never). */
int64_t msi_tick(msi_t *self, int64_t now);

/* The scheduler answered request_id: 1 when a connection waited for it. */
int msi_on_reply(msi_t *self, uint64_t request_id, const char *access_token,
                 int64_t expires_on, const char *resource,
                 const char *client_id);
int msi_on_error(msi_t *self, uint64_t request_id, int code,
                 const char *message);

#endif
