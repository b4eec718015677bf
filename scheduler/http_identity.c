/* http_identity.c - POST /api/v1/clusters/NAME/identity (http_route.h):
 * the body {"identity": "system" | ID | ""} as the IdentityAssign that
 * `drover cluster identity assign` sends (the Python SDK's add_identity).
 * Checks the shape only; the handler (api_identity_assign) checks the
 * value and the admin role, as for the CLI.  Owns nothing past the call:
 * the message goes to the caller's http_call_t.
 */
#include "http_route.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

int http_b_cluster_identity(const http_in_t *in, http_call_t *c, char *why,
                            size_t cap)
{
    if (in->nq) {
        snprintf(why, cap, "unknown query parameter '%s'", in->q[0].key);
        return 400;
    }
    json_t *body = NULL;
    if (http_in_body(in, &body, why, cap))
        return 400;
    Drover__IdentityAssign *m = dr_calloc(1, sizeof *m);
    drover__identity_assign__init(m);
    c->env.body_case = DROVER__ENVELOPE__BODY_IDENTITY_ASSIGN;
    c->env.identity_assign = m;
    c->msg = m;
    m->cluster = dr_strdup(in->arg);
    json_t *v = json_object_get(body, "identity");
    int rc = 0;
    if (!v || json_object_size(body) != 1 || !json_is_string(v) ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(why, cap,
                 "the body must be {\"identity\": \"system\", an identity id, "
                 "or \"\" for none}");
        rc = 400;
    } else {
        m->identity = dr_strdup(json_string_value(v));
    }
    json_decref(body);
    return rc;
}
