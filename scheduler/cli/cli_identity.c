/* cli_identity.c - managed identities: `drover cluster identity assign`
 * (the form of `az ml computetarget amlcompute identity assign`) and
 * `drover identity verify TOKEN`.  Owns only reply envelopes and buffers.
 */
#include "cli.h"
#include "dr_err.h"

#include <stdio.h>
#include <string.h>

static const opt_def_t s_assign_opts[] = {
    CLI_ARG("name", 'n', "NAME", "the cluster (required)"),
    CLI_ARG("identities", 0, "'[system]'|ID",
            "a system-assigned identity, a user-assigned one's ID, or \"\" "
            "for none (required)"),
};

const cli_optset_t cli_opts_identity_assign = CLI_OPTSET(s_assign_opts);

int cli_cluster_identity(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc =
        cli_optset_parse(ctx, &cli_opts_identity_assign, NULL, argc, argv, &a);
    /* `assign --name C '[system]'`: the identity may also come as the
     * word after assign, as az ml computetarget amlcompute takes it */
    const char *ident = a.seen[1] ? a.val[1] : NULL;
    if (rc == 0 && (a.npos < 1 || strcmp(a.pos[0], "assign") != 0))
        rc = cli_usage(ctx, "expected 'assign'");
    else if (rc == 0 && a.npos == 2 && !ident)
        ident = a.pos[1];
    else if (rc == 0 && a.npos != 1)
        rc = cli_usage(ctx, "unexpected argument '%s'", a.pos[a.npos - 1]);
    if (rc == 0 && (!a.seen[0] || !ident))
        rc = cli_usage(ctx, "missing -n NAME or the identity ('[system]' or "
                            "an ID, or --identities)");
    if (rc == 0)
        rc = cli_check_name(ctx, "cluster", a.val[0]);
    if (rc == 0) {
        Drover__IdentityAssign ia = DROVER__IDENTITY_ASSIGN__INIT;
        ia.cluster = (char *)a.val[0];
        ia.identity = (char *)ident;
        dr_env_t req;
        wire_env_init(&req, 0);
        req.body_case = DROVER__ENVELOPE__BODY_IDENTITY_ASSIGN;
        req.identity_assign = &ia;
        rc = cli_cluster_call(ctx, &req);
    }
    cli_args_free(&a);
    return rc;
}

int cli_identity_verify(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_args_parse(ctx, NULL, 0, NULL, argc, argv, &a);
    if (rc == 0 && a.npos != 1)
        rc = cli_usage(ctx, "expected TOKEN");
    if (rc == 0 && strlen(a.pos[0]) > 4096)
        rc = cli_fail(ctx, DR_EINVAL, "token is too long");
    dr_env_t *rep = NULL;
    if (rc == 0) {
        Drover__IdentityVerify iv = DROVER__IDENTITY_VERIFY__INIT;
        iv.token = a.pos[0];
        dr_env_t req;
        wire_env_init(&req, 0);
        req.body_case = DROVER__ENVELOPE__BODY_IDENTITY_VERIFY;
        req.identity_verify = &iv;
        rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_IDENTITY_CLAIMS, &rep);
    }
    if (rc == 0) {
        const Drover__IdentityClaims *c = rep->identity_claims;
        dr_buf_t b = {0};
        if (ctx->out == CLI_OUT_JSON) {
            cli_json_render(
                &b, cli_json_check(json_pack(
                        "{s:b, s:s, s:s, s:s, s:I, s:s, s:I, s:I}", "valid",
                        c->valid, "reason", c->reason ? c->reason : "",
                        "subject", c->subject ? c->subject : "", "cluster",
                        c->cluster ? c->cluster : "", "job_id",
                        (json_int_t)c->job_id, "resource",
                        c->resource ? c->resource : "", "issued_at",
                        (json_int_t)c->issued_at, "expires_on",
                        (json_int_t)c->expires_on)));
        } else if (c->valid) {
            dr_buf_printf(&b,
                          "valid: identity %s of cluster %s, job %llu, "
                          "resource %s, expires %lld\n",
                          c->subject, c->cluster, (unsigned long long)c->job_id,
                          c->resource, (long long)c->expires_on);
        }
        rc = cli_emit(ctx, &b);
        dr_buf_free(&b);
        if (rc == 0 && !c->valid)
            rc = cli_fail(ctx, DR_EPERM, "invalid token: %s",
                          c->reason ? c->reason : "?");
    }
    wire_free(&rep);
    cli_args_free(&a);
    return rc;
}
