/* api_tokens.c - the RPC handler of the HTTP API's tokens: decode,
 * validate, one model call (apitoken_create), reply.  The token is in the
 * reply only; it is never written to a log or an event. */
#include "apitoken.h"
#include "dr_err.h"
#include "sched_int.h"
#include "util.h"

#include <string.h>

void api_token_create(sched_t *s, const char *rid, dr_env_t *env)
{
    const Drover__ApiTokenCreate *q = env->api_token_create;
    if (!q->name || !dr_valid_name(q->name)) {
        API_ERR(DR_EINVAL, "invalid user name");
        return;
    }
    char token[APITOKEN_LEN + 1], why[256];
    int admin = 0;
    int rc = apitoken_create(s, q->name, s->req.user[0] ? s->req.user : "admin",
                             token, &admin, why, sizeof why);
    if (rc < 0) {
        API_ERR(rc, "%s", why);
        return;
    }
    Drover__ApiTokenInfo info = DROVER__API_TOKEN_INFO__INIT;
    info.name = (char *)q->name;
    info.token = token;
    info.role = admin ? "admin" : "user";
    info.created_at_ms = dr_now_ms();
    dr_env_t out;
    wire_env_body(&out, env->request_id, DROVER__ENVELOPE__BODY_API_TOKEN_INFO,
                  &info);
    sched_reply_client(s, rid, &out);
    memset(token, 0, sizeof token);
}
