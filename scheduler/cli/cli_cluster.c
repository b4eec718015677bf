/* cli_cluster.c - `drover cluster create|update|show|list|delete|lock|unlock|
 * events`.
 *
 * Each handler parses and validates its flags (cli_parse.c), sends one
 * request, and prints the reply through the cluster or event view
 * (cli_output.c).  It owns only the reply envelope it received, which it
 * frees before returning; it never exits.
 */
#include "cli.h"
#include "dr_err.h"

#include <string.h>

int cli_cluster_call(cli_ctx_t *ctx, dr_env_t *req)
{
    return cli_call_one(ctx, req, &cli_cluster_view);
}

static int s_create_call(cli_ctx_t *ctx, Drover__Cluster *c)
{
    Drover__ClusterCreate cc = DROVER__CLUSTER_CREATE__INIT;
    cc.cluster = c;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_CLUSTER_CREATE;
    req.cluster_create = &cc;
    return cli_cluster_call(ctx, &req);
}

/* cluster create -f compute.yml: an amlcompute file. */
static int s_create_from_file(cli_ctx_t *ctx, int argc, char **argv)
{
    if (argc != 2)
        return cli_usage(ctx, "-f FILE takes no other option");
    cli_yaml_t *y = cli_yaml_load(ctx, argv[1]);
    if (!y)
        return DR_EINVAL;
    Drover__Cluster c;
    drover__cluster__init(&c);
    c.location = (char *)"local";
    c.provider = (char *)"local";
    int rc = cli_yaml_cluster(ctx, y, &c);
    if (rc == 0)
        rc = s_create_call(ctx, &c);
    cli_yaml_free(&y);
    return rc;
}

int cli_cluster_create(cli_ctx_t *ctx, int argc, char **argv)
{
    if (argc >= 1 && (!strcmp(argv[0], "-f") || !strcmp(argv[0], "--file")))
        return s_create_from_file(ctx, argc, argv);
    Drover__Cluster c;
    int rc = cli_parse_cluster_create(ctx, argc, argv, &c);
    return rc < 0 ? rc : s_create_call(ctx, &c);
}

int cli_cluster_update(cli_ctx_t *ctx, int argc, char **argv)
{
    Drover__ClusterUpdate u;
    int rc = cli_parse_cluster_update(ctx, argc, argv, &u);
    if (rc < 0)
        return rc;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_CLUSTER_UPDATE;
    req.cluster_update = &u;
    return cli_cluster_call(ctx, &req);
}

static const opt_def_t s_name_opts[] = {
    CLI_ARG("name", 'n', "NAME", "the cluster (required)"),
};

const cli_optset_t cli_opts_cluster_name = CLI_OPTSET(s_name_opts);

/* Parses the "-n NAME" that show and delete take. */
static int s_parse_name(cli_ctx_t *ctx, int argc, char **argv,
                        const char **name)
{
    cli_args_t a;
    int rc =
        cli_optset_parse(ctx, &cli_opts_cluster_name, NULL, argc, argv, &a);
    if (rc < 0)
        goto out;
    if ((rc = cli_args_none(ctx, &a)) < 0)
        goto out;
    if (!a.seen[0]) {
        rc = cli_usage(ctx, "missing required option -n NAME");
        goto out;
    }
    if ((rc = cli_check_name(ctx, "cluster", a.val[0])) < 0)
        goto out;
    *name = a.val[0];
out:
    cli_args_free(&a);
    return rc;
}

/* Parses the "-n NAME" of show and delete into ref, and makes req a
 * request of the given body about it (the caller points the body at ref). */
static int s_ref_req(cli_ctx_t *ctx, int argc, char **argv,
                     Drover__ClusterRef *ref, dr_env_t *req, int body)
{
    const char *name = NULL;
    int rc = s_parse_name(ctx, argc, argv, &name);
    if (rc < 0)
        return rc;
    drover__cluster_ref__init(ref);
    ref->name = (char *)name;
    wire_env_init(req, 0);
    req->body_case = body;
    return 0;
}

int cli_cluster_show(cli_ctx_t *ctx, int argc, char **argv)
{
    Drover__ClusterRef ref;
    dr_env_t req;
    int rc = s_ref_req(ctx, argc, argv, &ref, &req,
                       DROVER__ENVELOPE__BODY_CLUSTER_SHOW);
    if (rc < 0)
        return rc;
    req.cluster_show = &ref;
    return cli_cluster_call(ctx, &req);
}

int cli_cluster_delete(cli_ctx_t *ctx, int argc, char **argv)
{
    Drover__ClusterRef ref;
    dr_env_t req, *rep = NULL;
    int rc = s_ref_req(ctx, argc, argv, &ref, &req,
                       DROVER__ENVELOPE__BODY_CLUSTER_DELETE);
    if (rc < 0)
        return rc;
    req.cluster_delete = &ref;
    if ((rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_OK, &rep)) < 0)
        return rc;
    rc = cli_print_ok(ctx, rep->ok, "name", json_string(ref.name),
                      "cluster %s deleted", ref.name);
    wire_free(&rep);
    return rc;
}

int cli_cluster_list(cli_ctx_t *ctx, int argc, char **argv)
{
    int rc = cli_parse_none(ctx, argc, argv);
    if (rc < 0)
        return rc;
    Drover__ClusterListReq lr = DROVER__CLUSTER_LIST_REQ__INIT;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_CLUSTER_LIST;
    req.cluster_list = &lr;
    return cli_call_list(ctx, &req, &cli_cluster_view);
}

/* lock and unlock: the same request with the flag set or cleared. */
static int s_lock(cli_ctx_t *ctx, int argc, char **argv, int locked)
{
    const char *name = NULL;
    int rc = s_parse_name(ctx, argc, argv, &name);
    if (rc < 0)
        return rc;
    Drover__ClusterLock cl = DROVER__CLUSTER_LOCK__INIT;
    cl.name = (char *)name;
    cl.locked = locked != 0;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_CLUSTER_LOCK;
    req.cluster_lock = &cl;
    return cli_cluster_call(ctx, &req);
}

int cli_cluster_lock(cli_ctx_t *ctx, int argc, char **argv)
{
    return s_lock(ctx, argc, argv, 1);
}

int cli_cluster_unlock(cli_ctx_t *ctx, int argc, char **argv)
{
    return s_lock(ctx, argc, argv, 0);
}

int cli_cluster_events(cli_ctx_t *ctx, int argc, char **argv)
{
    Drover__ClusterEventsReq er;
    int rc = cli_parse_cluster_events(ctx, argc, argv, &er);
    if (rc < 0)
        return rc;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_CLUSTER_EVENTS;
    req.cluster_events = &er;
    return cli_call_list(ctx, &req, &cli_event_view);
}
