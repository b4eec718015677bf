/* http_async.h - HTTP requests over one libcurl multi handle, never
 * blocking the caller's loop.
 *
 * An http_async_t runs any number of requests at once.  Each request has a
 * completion callback, its timeouts, a bound on the answer it keeps (or a
 * callback that takes the answer as it streams in), and optionally a unix
 * socket to talk over (dockerd).  The owner's loop polls the fds it names
 * and tells it when they are ready and when its timer is due -- in the
 * shape of a dr_loop_source_t (http_async_source), or by calling
 * http_async_drive() each pass when it has no reactor.  Callbacks run only
 * from inside http_async_on_fd / _on_timer / _drive / _wait; a callback
 * may start and cancel requests (its own is freed after it returns).
 *
 * Nothing here knows what the requests are for: no JSON, no retries (the
 * callers decide), no logging of answers.  Only http_async_wait() blocks,
 * for the time it is given.  One thread.
 */
#ifndef DR_HTTP_ASYNC_H
#define DR_HTTP_ASYNC_H

#include "evloop.h"

#include <stddef.h>
#include <stdint.h>

typedef struct http_async http_async_t;
typedef struct http_req http_req_t;

/* How a request ended.  Valid only during the done callback. */
typedef struct {
    const char *label; /* the request's label (never NULL) */
    int failed;        /* the transfer failed (see error); else status */
    int timed_out;     /* ... because a timeout ran out */
    int too_big;       /* ... because the answer passed max_body */
    int aborted;       /* ... because on_data refused the stream */
    const char *error; /* the transport's message ("" when !failed) */
    long status;       /* HTTP status, 0 if none arrived */
    const char *body;  /* the answer kept, NUL-terminated ("" if none) */
    size_t len;
} http_result_t;

typedef void(http_done_fn)(void *arg, const http_result_t *res);

/* A piece of the answer as it arrives (status: the answer's status so
 * far).  Returns 0 when it took the piece, 1 to keep it in the body as
 * usual, negative to abort the transfer. */
typedef int(http_data_fn)(void *arg, long status, const char *data, size_t n);

typedef struct {
    const char *method;         /* NULL = GET; POST sends body (or nothing) */
    const char *url;            /* with a unix socket, the host is ignored */
    const char *unix_socket;    /* NULL = over TCP */
    const char *body;           /* copied; NULL = none */
    const char *content_type;   /* sent with a body */
    const char *const *headers; /* more "Name: value", NULL-terminated */
    long connect_timeout_ms;    /* 0 = libcurl's default */
    long timeout_ms;            /* the whole request; 0 = none */
    size_t max_body;            /* answer bytes kept at most; 0 = 1 MiB */
    int keep_tail;              /* past max_body keep the last half, not fail */
    const char *protocols;      /* e.g. "http,https"; NULL = libcurl's */
    int no_proxy;               /* never through a proxy */
    const char *label;          /* for the caller's messages; copied */
    http_data_fn *on_data;      /* NULL: keep the answer (up to max_body) */
} http_opts_t;

/* NULL only if libcurl cannot be set up (logged). */
http_async_t *http_async_new(void);

/* Aborts every request (no callback runs).  Accepts NULL; nulls *self_p. */
void http_async_destroy(http_async_t **self_p);

/* Queues a request; done(arg, result) runs once when it ends, unless it
 * is canceled first.  The handle stays valid until then.  NULL if libcurl
 * refuses it (logged). */
http_req_t *http_async_request(http_async_t *self, const http_opts_t *opts,
                               http_done_fn *done, void *arg);

/* Aborts a request; its callback never runs.  Accepts NULL. */
void http_async_cancel(http_req_t *req);

/* s escaped for a URL's path or query (malloc'd). */
char *http_async_escape(const char *s);

/* Requests in flight. */
size_t http_async_count(const http_async_t *self);

/* ---- driving it ------------------------------------------------------- */

/* The sockets libcurl wants watched now: for i < nfds, the fd and whether
 * it wants reading / writing. */
size_t http_async_nfds(const http_async_t *self);
int http_async_fd(const http_async_t *self, size_t i, int *want_read,
                  int *want_write);
/* An fd is ready; completes what finished. */
void http_async_on_fd(http_async_t *self, int fd, int readable, int writable);
/* Mono ms at which http_async_on_timer() is due, INT64_MAX if never. */
int64_t http_async_timer(const http_async_t *self);
void http_async_on_timer(http_async_t *self);

/* The five above as a reactor source (src: the http_async_t). */
extern const dr_loop_source_t http_async_source;

/* Without a reactor: lets every transfer go as far as it can now and
 * runs the timer when due. */
void http_async_drive(http_async_t *self);

/* Blocks in poll(2) at most max_ms for its sockets, then handles them (a
 * bounded wait at shutdown). */
void http_async_wait(http_async_t *self, int max_ms);

#endif
