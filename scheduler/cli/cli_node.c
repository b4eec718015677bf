/* cli_node.c - `drover node list|show|preempt`.
 *
 * One request, one reply each: list prints a table or a JSON array, show
 * "key: value" lines (one per GPU too) or the node's JSON object, preempt
 * the scheduler's Ok message.  Owns only the reply envelope, freed before
 * returning.
 */
#include "cli.h"
#include "dr_err.h"

static const opt_def_t s_list_opts[] = {
    CLI_ARG("cluster", 'c', "NAME", "only this cluster's nodes"),
};

const cli_optset_t cli_opts_node_list = CLI_OPTSET(s_list_opts);

int cli_node_list(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_optset_parse(ctx, &cli_opts_node_list, NULL, argc, argv, &a);
    if (rc == 0)
        rc = cli_args_none(ctx, &a);
    if (rc == 0 && a.seen[0])
        rc = cli_check_name(ctx, "cluster", a.val[0]);
    Drover__NodeListReq nr = DROVER__NODE_LIST_REQ__INIT;
    if (rc == 0 && a.seen[0])
        nr.cluster = (char *)a.val[0];
    if (rc == 0) {
        dr_env_t req;
        wire_env_init(&req, 0);
        req.body_case = DROVER__ENVELOPE__BODY_NODE_LIST;
        req.node_list = &nr;
        rc = cli_call_list(ctx, &req, &cli_node_view);
    }
    cli_args_free(&a);
    return rc;
}

int cli_node_show(cli_ctx_t *ctx, int argc, char **argv)
{
    Drover__NodeRef ref;
    int rc = cli_parse_node_ref(ctx, argc, argv, &ref);
    if (rc < 0)
        return rc;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_NODE_SHOW;
    req.node_show = &ref;
    return cli_call_one(ctx, &req, &cli_node_view);
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

static int s_drain(cli_ctx_t *ctx, int argc, char **argv, int drain)
{
    Drover__NodeRef ref;
    int rc = cli_parse_node_ref(ctx, argc, argv, &ref);
    if (rc < 0)
        return rc;
    Drover__NodeDrain d = DROVER__NODE_DRAIN__INIT;
    d.name = ref.name;
    d.drain = drain;
    dr_env_t req, *rep = NULL;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_NODE_DRAIN;
    req.node_drain = &d;
    if ((rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_OK, &rep)) < 0)
        return rc;
    rc = cli_print_ok(ctx, rep->ok, "name", json_string(ref.name), "%s",
                      rep->ok->message ? rep->ok->message : "");
    wire_free(&rep);
    return rc;
}

int cli_node_drain(cli_ctx_t *ctx, int argc, char **argv)
{
    return s_drain(ctx, argc, argv, 1);
}

int cli_node_resume(cli_ctx_t *ctx, int argc, char **argv)
{
    return s_drain(ctx, argc, argv, 0);
}
