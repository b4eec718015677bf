/* cli_node.c - `drover node list|show|preempt`.
 *
 * One request, one reply each: list prints a table or a JSON array, show
 * "key: value" lines (one per GPU too) or the node's JSON object, preempt
 * the scheduler's Ok message.  Owns only the reply envelope, freed before
 * returning.
 */
#include "cli.h"
#include "dr_err.h"

int cli_node_list(cli_ctx_t *ctx, int argc, char **argv)
{
    static const cli_opt_t opts[] = {{"--cluster", "-c", 1, 0},
                                     {NULL, NULL, 0, 0}};
    cli_args_t a;
    int rc = cli_opts_parse(ctx, opts, argc, argv, &a);
    if (rc == 0 && (a.npos > 0 || a.dashdash))
        rc = cli_usage(ctx, "unexpected argument '%s'",
                       a.npos > 0 ? a.pos[0] : "--");
    if (rc == 0 && a.seen[0])
        rc = cli_check_name(ctx, "cluster", a.val[0]);
    Drover__NodeListReq nr = DROVER__NODE_LIST_REQ__INIT;
    if (rc == 0 && a.seen[0])
        nr.cluster = (char *)a.val[0];
    dr_env_t *rep = NULL;
    if (rc == 0) {
        dr_env_t req;
        wire_env_init(&req, 0);
        req.body_case = DROVER__ENVELOPE__BODY_NODE_LIST;
        req.node_list = &nr;
        rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_NODE_LIST_REPLY, &rep);
    }
    cli_args_free(&a);
    if (rc < 0)
        return rc;
    Drover__NodeList *nl = rep->node_list_reply;
    Drover__Node *const *ns = nl ? nl->nodes : NULL;
    size_t n = nl ? nl->n_nodes : 0;
    dr_buf_t b = {0};
    if (ctx->out == CLI_OUT_JSON) {
        json_t *arr = cli_json_check(json_array());
        for (size_t i = 0; i < n; i++)
            cli_json_push(arr, cli_node_json(ns[i]));
        cli_json_render(&b, arr);
    } else {
        cli_render_nodes(&b, ns, n);
    }
    rc = cli_emit(ctx, &b);
    dr_buf_free(&b);
    wire_free(&rep);
    return rc;
}

int cli_node_show(cli_ctx_t *ctx, int argc, char **argv)
{
    Drover__NodeRef ref;
    int rc = cli_parse_node_ref(ctx, argc, argv, &ref);
    if (rc < 0)
        return rc;
    dr_env_t req, *rep = NULL;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_NODE_SHOW;
    req.node_show = &ref;
    if ((rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_NODE_INFO, &rep)) < 0)
        return rc;
    if (!rep->node_info) {
        wire_free(&rep);
        return cli_fail(ctx, DR_EPROTO, "empty node_info reply");
    }
    dr_buf_t b = {0};
    if (ctx->out == CLI_OUT_JSON)
        cli_json_render(&b, cli_node_json(rep->node_info));
    else
        cli_render_node_show(&b, rep->node_info);
    rc = cli_emit(ctx, &b);
    dr_buf_free(&b);
    wire_free(&rep);
    return rc;
}

int cli_node_preempt(cli_ctx_t *ctx, int argc, char **argv)
{
    Drover__NodeRef ref;
    int rc = cli_parse_node_ref(ctx, argc, argv, &ref);
    if (rc < 0)
        return rc;
    dr_env_t req, *rep = NULL;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_NODE_PREEMPT;
    req.node_preempt = &ref;
    if ((rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_OK, &rep)) < 0)
        return rc;
    rc = cli_print_ok(ctx, rep->ok, "name", json_string(ref.name),
                      "node %s: preemption requested", ref.name);
    wire_free(&rep);
    return rc;
}
