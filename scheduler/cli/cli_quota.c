/* cli_quota.c - `drover quota set|list`: per-VM-family core quotas.
 *
 * Both commands are answered with the whole quota list, which is printed as
 * a table (used/limit per priority, "unlimited" for no limit) or a JSON
 * array.  Owns only the reply envelope, freed before returning.
 */
#include "cli.h"
#include "dr_err.h"

/* Sends req, expects quota_list_reply, prints it. */
static int s_quota_call(cli_ctx_t *ctx, dr_env_t *req)
{
    dr_env_t *rep = NULL;
    int rc = cli_call(ctx, req, DROVER__ENVELOPE__BODY_QUOTA_LIST_REPLY, &rep);
    if (rc < 0)
        return rc;
    Drover__QuotaList *ql = rep->quota_list_reply;
    Drover__Quota *const *qs = ql ? ql->quotas : NULL;
    size_t n = ql ? ql->n_quotas : 0;
    dr_buf_t b = {0};
    if (ctx->out == CLI_OUT_JSON) {
        json_t *arr = cli_json_check(json_array());
        for (size_t i = 0; i < n; i++)
            cli_json_push(arr, cli_quota_json(qs[i]));
        cli_json_render(&b, arr);
    } else {
        cli_render_quotas(&b, qs, n);
    }
    rc = cli_emit(ctx, &b);
    dr_buf_free(&b);
    wire_free(&rep);
    return rc;
}

int cli_quota_set(cli_ctx_t *ctx, int argc, char **argv)
{
    Drover__QuotaSet qs;
    int rc = cli_parse_quota_set(ctx, argc, argv, &qs);
    if (rc < 0)
        return rc;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_QUOTA_SET;
    req.quota_set = &qs;
    return s_quota_call(ctx, &req);
}

int cli_quota_list(cli_ctx_t *ctx, int argc, char **argv)
{
    static const cli_opt_t none[] = {{NULL, NULL, 0, 0}};
    cli_args_t a;
    int rc = cli_opts_parse(ctx, none, argc, argv, &a);
    if (rc == 0 && (a.npos > 0 || a.dashdash))
        rc = cli_usage(ctx, "unexpected argument '%s'",
                       a.npos > 0 ? a.pos[0] : "--");
    cli_args_free(&a);
    if (rc < 0)
        return rc;
    Drover__QuotaListReq lr = DROVER__QUOTA_LIST_REQ__INIT;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_QUOTA_LIST;
    req.quota_list = &lr;
    return s_quota_call(ctx, &req);
}
