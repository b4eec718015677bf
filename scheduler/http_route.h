/* http_route.h - what a route's builder sees, for the builders that live
 * in files of their own (http_identity.c) besides http_json.c, whose table
 * (s_routes) lists every route.  A builder turns the request into the
 * protobuf request the CLI sends (http_call_t's env and msg) or fails with
 * a 4xx status and a one-line why; it never reaches the model.
 */
#ifndef DR_HTTP_ROUTE_H
#define DR_HTTP_ROUTE_H

#include "http_json.h"

/* What a route's builder gets: the captured path segment, the query and
 * the body. */
typedef struct {
    const char *arg;
    const http_kv_t *q;
    size_t nq;
    const char *body;
    size_t len;
} http_in_t;

/* The body as one JSON object (duplicate keys refused): 0 and *out (a new
 * reference), or 400 with why. */
int http_in_body(const http_in_t *in, json_t **out, char *why, size_t cap);

/* POST /clusters/NAME/identity {"identity": ...}: IdentityAssign. */
int http_b_cluster_identity(const http_in_t *in, http_call_t *c, char *why,
                            size_t cap);

#endif
