/* cli_token.c - drover keys token create NAME: a bearer token for user
 * NAME's requests to the HTTP API (docs/http-api.md), with that user's
 * role.  The token is shown once and is the last word printed, so that a
 * script takes it with `awk '{print $NF}'`; -o json gives
 * {"name", "role", "token"}. */
#include "cli.h"
#include "dr_err.h"

#include <string.h>

int cli_keys_token(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_args_parse(ctx, NULL, 0, NULL, argc, argv, &a);
    if (rc == 0 && (a.npos != 2 || strcmp(a.pos[0], "create") != 0))
        rc = cli_usage(ctx, "expected create NAME");
    if (rc == 0)
        rc = cli_check_name(ctx, "user", a.pos[1]);
    Drover__ApiTokenCreate q = DROVER__API_TOKEN_CREATE__INIT;
    dr_env_t *rep = NULL;
    if (rc == 0) {
        q.name = a.pos[1];
        dr_env_t req;
        wire_env_init(&req, 0);
        req.body_case = DROVER__ENVELOPE__BODY_API_TOKEN_CREATE;
        req.api_token_create = &q;
        rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_API_TOKEN_INFO, &rep);
    }
    if (rc == 0) {
        const Drover__ApiTokenInfo *t = rep->api_token_info;
        dr_buf_t b = {0};
        if (ctx->out == CLI_OUT_JSON) {
            json_t *o = cli_json_check(json_object());
            if (json_object_set_new(o, "name", json_string(t->name)) < 0 ||
                json_object_set_new(o, "role", json_string(t->role)) < 0 ||
                json_object_set_new(o, "token", json_string(t->token)) < 0)
                (void)cli_json_check(NULL);
            cli_json_render(&b, o);
        } else {
            dr_buf_printf(&b,
                          "HTTP API token for %s (role %s; shown once, keep "
                          "it secret): %s\n",
                          t->name, t->role, t->token);
        }
        rc = cli_emit(ctx, &b);
        dr_buf_free(&b);
    }
    wire_free(&rep);
    cli_args_free(&a);
    return rc;
}
