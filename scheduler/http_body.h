/* http_body.h - the JSON API's request bodies as protobuf messages.
 *
 * What http_json.c's route builders share: an error written to why with
 * its status, a new message, and a body object read into a message
 * through a CLI view's field table (scheduler/cli/cli.h), limited to the
 * keys a client may set.  Pure: no sockets, no model.
 */
#ifndef DR_HTTP_BODY_H
#define DR_HTTP_BODY_H

#include "cli.h"

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* Writes the message to why; returns status. */
int http_fail(char *why, size_t cap, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A new, initialized message of d (free_unpacked frees it). */
void *http_msg_new(const ProtobufCMessageDescriptor *d);
/* 1 if key is one of allowed (NULL-terminated; NULL: any). */
int http_key_allowed(const char *const *allowed, const char *key);
/* v as an integer in [min, max] into *out: 0, or 400 with why. */
int http_json_int(json_t *v, const char *key, long long min, long long max,
                  long long *out, char *why, size_t cap);
/* obj's keys into msg (of d) through view v, each one of allowed (NULL:
 * any key of the view): 0, or 400 with why (msg is then partly set:
 * free it). */
int http_from_json(const cli_view_t *v, const ProtobufCMessageDescriptor *d,
                   void *msg, json_t *obj, const char *const *allowed,
                   char *why, size_t cap);
/* The body as one JSON object (duplicate keys refused): 0 with *out (a
 * new reference), or 400 with why. */
int http_body_object(const char *body, size_t len, json_t **out, char *why,
                     size_t cap);

#endif
