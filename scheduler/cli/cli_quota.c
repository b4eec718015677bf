/* cli_quota.c - `drover quota set|list`: per-VM-family core quotas.
 *
 * Both commands are answered with the whole quota list, which is printed as
 * a table (used/limit per priority, "unlimited" for no limit) or a JSON
 * array.  Owns only the reply envelope, freed before returning.
 */
#include "cli.h"
#include "dr_err.h"

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
    return cli_call_list(ctx, &req, &cli_quota_view);
}

int cli_quota_list(cli_ctx_t *ctx, int argc, char **argv)
{
    int rc = cli_parse_none(ctx, argc, argv);
    if (rc < 0)
        return rc;
    Drover__QuotaListReq lr = DROVER__QUOTA_LIST_REQ__INIT;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_QUOTA_LIST;
    req.quota_list = &lr;
    return cli_call_list(ctx, &req, &cli_quota_view);
}
