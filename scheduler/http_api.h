/* http_api.h - the scheduler's HTTP listener (libmicrohttpd, in the loop).
 *
 * One listener, off unless --http-listen is set, serves /metrics (the
 * Prometheus text format, http_metrics.h) and the JSON API under /api/v1/
 * (docs/http-api.md).  An API request is turned into the protobuf request
 * the CLI would send and dispatched through the client table
 * (api_client_dispatch) under a routing id of its own (HTTP_RID_PREFIX and
 * a number: a space, which a ZeroMQ routing id as wire.c writes it never
 * holds); its reply is taken out of the
 * client outbox after the pass's commit (http_api_take_replies), so that
 * an HTTP client, too, is answered only once what it asked is durable.
 * The listener is a source of the loop (common/evloop.h): libmicrohttpd
 * runs in its epoll mode, one fd, no thread of its own.
 */
#ifndef DR_HTTP_API_H
#define DR_HTTP_API_H

#include "evloop.h"
#include "outbox.h"
#include "sched.h"

#include <sys/socket.h>

typedef struct http_api http_api_t;

#define HTTP_RID_PREFIX "~http "
/* Largest request body accepted (413 beyond). */
#define HTTP_MAX_BODY (10 << 20) /* a job with --max-code-size code */

/* Parses "ADDR:PORT" ("127.0.0.1:9090", "[::1]:9090", ":9090" for every
 * address) into out (may be NULL: only validate).  0 or DR_EINVAL. */
int http_listen_parse(const char *spec, struct sockaddr_storage *out);

/* Called before a request is dispatched: opens the pass's transaction
 * (the loop's s_begin).  0, or a negative code (the request gets 503). */
typedef int (*http_begin_fn)(void *arg);

/* Listens on opts->http_listen; NULL (logged) when it cannot. */
http_api_t *http_api_new(sched_t *s, const char *listen, http_begin_fn begin,
                         void *begin_arg);
/* Answers what still waits with 503, closes the listener; accepts NULL. */
void http_api_destroy(http_api_t **self_p);
/* The loop source ops; register with the http_api_t as its object. */
const dr_loop_source_t *http_api_source(void);
/* After the commit: takes the replies to HTTP requests out of ob and
 * answers them (as JSON); what a failed commit turned into errors is
 * answered as such. */
void http_api_take_replies(http_api_t *self, outbox_t *ob);

#endif
