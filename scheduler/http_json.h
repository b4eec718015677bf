/* http_json.h - the JSON API's routes: an HTTP request as the protobuf
 * request the CLI sends, and a reply as the JSON the CLI prints.
 *
 * Both directions go through the CLI's own views (scheduler/cli/cli.h:
 * cli_job_view, cli_cluster_view, ...): a reply is rendered by
 * cli_view_json, and a request body is read by the same field tables
 * (the same keys, the same types), limited per route to the fields a
 * client may set.  Pure: no sockets, no model; http_api.c calls it.
 */
#ifndef DR_HTTP_JSON_H
#define DR_HTTP_JSON_H

#include "sched_int.h"
#include "wire.h"

#include <jansson.h>
#include <stddef.h>

typedef struct http_route http_route_t;

/* One query parameter (?key=value), borrowed. */
typedef struct {
    const char *key;
    const char *value;
} http_kv_t;

#define HTTP_MAX_QUERY 16

/* A routed request: env's body is set (request id left to the caller). */
typedef struct {
    dr_env_t env;
    void *msg; /* the body message, owned (protobuf_c_message_free_unpacked) */
    const http_route_t *route;
    int local;     /* answered without a handler: an HTTP_LOCAL_* */
    char arg[256]; /* the path's captured segment (a cluster's name) */
} http_call_t;

/* Routes answered by the HTTP layer from the model, not by a handler. */
enum { HTTP_LOCAL_WHOAMI = 1, HTTP_LOCAL_HISTORY = 2 };

/* Routes a request under /api/v1 (path without that prefix).  200 with
 * *out filled (http_call_free it), or the 4xx status with why. */
int http_route(const char *path, const char *method, const http_kv_t *query,
               size_t nquery, const char *body, size_t len, http_call_t *out,
               char *why, size_t cap);
void http_call_free(http_call_t *c);

/* The reply to a routed request: the status and *out (a new reference),
 * or the status and why when it is an Error (or unexpected). */
int http_reply_json(const http_route_t *route, const dr_env_t *rep,
                    json_t **out, char *why, size_t cap);

/* The HTTP status of a DR_E* code. */
int http_status_of(int code);

/* {"user": ..., "role": ...} */
json_t *http_whoami(const req_ctx_t *who);

#endif
