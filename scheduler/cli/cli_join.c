/* cli_join.c - `drover cluster join-token create | list | revoke`: the
 * tokens with which nodes join a cluster by themselves (admins only, as
 * the scheduler's table says).  `create` prints the token as its last
 * word, and only then: the scheduler keeps only its hash.  Owns only reply
 * envelopes and output buffers, freed before returning.
 */
#include "cli.h"
#include "dr_err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *s_state(const Drover__JoinTokenInfo *t, int64_t now)
{
    if (t->revoked)
        return "revoked";
    if (now >= t->expires_at_ms)
        return "expired";
    if (t->max_uses && t->uses >= t->max_uses)
        return "used";
    return "valid";
}

static json_t *s_json(const Drover__JoinTokenInfo *t, int64_t now)
{
    json_t *o = cli_json_check(json_pack(
        "{s:s, s:s, s:I, s:I, s:i, s:i, s:s, s:s}", "id", t->id, "cluster",
        t->cluster, "created_at", (json_int_t)t->created_at_ms, "expires_at",
        (json_int_t)t->expires_at_ms, "max_uses", (int)t->max_uses, "uses",
        (int)t->uses, "state", s_state(t, now), "created_by",
        t->created_by ? t->created_by : ""));
    if (t->token && *t->token)
        json_object_set_new(o, "token", json_string(t->token));
    return o;
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* create takes all three; list and revoke only the first, -n. */
static const opt_def_t s_token_opts[] = {
    CLI_ARG("name", 'n', "CLUSTER",
            "the cluster (required, but optional for list)"),
    {"ttl", 0, OPT_ARG, 0, OPT_NONE, "24h", 0, 0, NULL, "DURATION",
     "create: how long the token is good, from 1s to 365d"},
    {"uses", 0, OPT_ARG, 0, OPT_NONE, NULL, 0, 0, NULL, "N",
     "create: how many nodes may join with it (default: unlimited)"},
};

const cli_optset_t cli_opts_join_token = CLI_OPTSET(s_token_opts);

static int s_create(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_optset_parse(ctx, &cli_opts_join_token, NULL, argc, argv, &a);
    if (rc == 0)
        rc = cli_args_none(ctx, &a);
    if (rc == 0 && !a.seen[0])
        rc = cli_usage(ctx, "missing -n CLUSTER");
    if (rc == 0)
        rc = cli_check_name(ctx, "cluster", a.val[0]);
    uint64_t ttl_s = 24 * 3600;
    int64_t uses = 0;
    if (rc == 0 && a.seen[1])
        rc = cli_parse_duration(ctx, a.val[1], &ttl_s);
    if (rc == 0 && a.seen[1] && (ttl_s < 1 || ttl_s > 365ull * 24 * 3600))
        rc = cli_fail(ctx, DR_EINVAL, "--ttl must be from 1s to 365d, not '%s'",
                      a.val[1]);
    if (rc == 0 && a.seen[2])
        rc = cli_parse_int(ctx, "--uses", a.val[2], 1, 1000000, &uses);
    dr_env_t *rep = NULL;
    if (rc == 0) {
        Drover__JoinTokenCreate m = DROVER__JOIN_TOKEN_CREATE__INIT;
        m.cluster = (char *)a.val[0];
        m.ttl_ms = (int64_t)ttl_s * 1000;
        m.max_uses = (uint32_t)uses;
        dr_env_t req;
        wire_env_init(&req, 0);
        req.body_case = DROVER__ENVELOPE__BODY_JOIN_TOKEN_CREATE;
        req.join_token_create = &m;
        rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_JOIN_TOKEN_INFO, &rep);
    }
    if (rc == 0) {
        const Drover__JoinTokenInfo *t = rep->join_token_info;
        dr_buf_t b = {0};
        if (ctx->out == CLI_OUT_JSON) {
            cli_json_render(&b, s_json(t, s_now_ms()));
        } else {
            char exp[40], nuses[32] = "unlimited";
            cli_fmt_time(exp, sizeof exp, t->expires_at_ms);
            if (t->max_uses)
                snprintf(nuses, sizeof nuses, "%u", t->max_uses);
            /* the token is the last word: scripts take it with awk '$NF' */
            dr_buf_printf(&b,
                          "join token %s for cluster %s (expires %s, uses %s): "
                          "%s\n",
                          t->id, t->cluster, exp, nuses, t->token);
        }
        rc = cli_emit(ctx, &b);
        dr_buf_free(&b);
    }
    wire_free(&rep);
    cli_args_free(&a);
    return rc;
}

static int s_list(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_args_parse(ctx, s_token_opts, 1, NULL, argc, argv, &a);
    if (rc == 0)
        rc = cli_args_none(ctx, &a);
    if (rc == 0 && a.seen[0])
        rc = cli_check_name(ctx, "cluster", a.val[0]);
    dr_env_t *rep = NULL;
    if (rc == 0) {
        Drover__JoinTokenListReq m = DROVER__JOIN_TOKEN_LIST_REQ__INIT;
        m.cluster = a.seen[0] ? (char *)a.val[0] : "";
        dr_env_t req;
        wire_env_init(&req, 0);
        req.body_case = DROVER__ENVELOPE__BODY_JOIN_TOKEN_LIST;
        req.join_token_list = &m;
        rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_JOIN_TOKEN_LIST_REPLY,
                      &rep);
    }
    if (rc == 0) {
        const Drover__JoinTokenList *l = rep->join_token_list_reply;
        int64_t now = s_now_ms();
        dr_buf_t b = {0};
        if (ctx->out == CLI_OUT_JSON) {
            json_t *arr = cli_json_check(json_array());
            for (size_t i = 0; i < l->n_tokens; i++)
                json_array_append_new(arr, s_json(l->tokens[i], now));
            cli_json_render(&b, arr);
        } else {
            dr_buf_printf(&b, "%-8s %-20s %-8s %-10s %-21s %s\n", "ID",
                          "CLUSTER", "STATE", "USES", "EXPIRES", "CREATED_BY");
            for (size_t i = 0; i < l->n_tokens; i++) {
                const Drover__JoinTokenInfo *t = l->tokens[i];
                char exp[40], uses[32];
                cli_fmt_time(exp, sizeof exp, t->expires_at_ms);
                if (t->max_uses)
                    snprintf(uses, sizeof uses, "%u/%u", t->uses, t->max_uses);
                else
                    snprintf(uses, sizeof uses, "%u", t->uses);
                dr_buf_printf(&b, "%-8s %-20s %-8s %-10s %-21s %s\n", t->id,
                              t->cluster, s_state(t, now), uses, exp,
                              t->created_by && *t->created_by ? t->created_by
                                                              : "-");
            }
        }
        rc = cli_emit(ctx, &b);
        dr_buf_free(&b);
    }
    wire_free(&rep);
    cli_args_free(&a);
    return rc;
}

static int s_revoke(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_args_parse(ctx, s_token_opts, 1, NULL, argc, argv, &a);
    if (rc == 0 && a.npos != 1)
        rc = cli_usage(ctx, "expected -n CLUSTER TOKEN (the token or its ID)");
    if (rc == 0 && !a.seen[0])
        rc = cli_usage(ctx, "missing -n CLUSTER");
    if (rc == 0)
        rc = cli_check_name(ctx, "cluster", a.val[0]);
    dr_env_t *rep = NULL;
    if (rc == 0) {
        Drover__JoinTokenRevoke m = DROVER__JOIN_TOKEN_REVOKE__INIT;
        m.cluster = (char *)a.val[0];
        m.token = a.pos[0];
        dr_env_t req;
        wire_env_init(&req, 0);
        req.body_case = DROVER__ENVELOPE__BODY_JOIN_TOKEN_REVOKE;
        req.join_token_revoke = &m;
        rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_OK, &rep);
    }
    if (rc == 0)
        rc = cli_print_ok(ctx, rep->ok, "cluster", json_string(a.val[0]), "%s",
                          "");
    wire_free(&rep);
    cli_args_free(&a);
    return rc;
}

int cli_cluster_join_token(cli_ctx_t *ctx, int argc, char **argv)
{
    const char *verb = argc > 0 ? argv[0] : "";
    if (strcmp(verb, "create") == 0)
        return s_create(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "list") == 0)
        return s_list(ctx, argc - 1, argv + 1);
    if (strcmp(verb, "revoke") == 0)
        return s_revoke(ctx, argc - 1, argv + 1);
    return cli_usage(ctx, "expected create, list or revoke");
}
