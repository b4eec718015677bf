/* cli_keys.c - `drover keys ...`: CURVE key pairs and who may connect.
 *
 * `generate` works on local files only (no scheduler); the others ask the
 * scheduler, which allows them to admins.  Owns only reply envelopes and
 * output buffers, freed before returning.
 */
#include "cli.h"
#include "dr_err.h"
#include "keys.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>

static const opt_def_t s_gen_opts[] = {
    {"name", 'n', OPT_ARG, 0, OPT_NONE, "drover", 0, 0, NULL, "NAME",
     "the files' name: NAME.key (0600) and NAME.pub"},
    {"dir", 'd', OPT_ARG, 0, OPT_NONE, ".", 0, 0, NULL, "DIR",
     "where to write them"},
};

const cli_optset_t cli_opts_keys_generate = CLI_OPTSET(s_gen_opts);

static const opt_def_t s_add_user_opts[] = {
    CLI_ARG("role", 'r', "user|admin",
            "admin may change clusters, quotas and keys (required)"),
};

const cli_optset_t cli_opts_keys_add_user = CLI_OPTSET(s_add_user_opts);

int cli_keys_generate(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc =
        cli_optset_parse(ctx, &cli_opts_keys_generate, NULL, argc, argv, &a);
    if (rc == 0)
        rc = cli_args_none(ctx, &a);
    const char *name = rc == 0 && a.seen[0] ? a.val[0] : s_gen_opts[0].def;
    const char *dir = rc == 0 && a.seen[1] ? a.val[1] : s_gen_opts[1].def;
    if (rc == 0)
        rc = cli_check_name(ctx, "key", name);
    char *sec = NULL, *pub = NULL;
    dr_keypair_t kp;
    if (rc == 0 && keys_generate(&kp) < 0)
        rc = cli_fail(ctx, DR_EUNSUPP, "libzmq was built without CURVE");
    if (rc == 0) {
        sec = dr_asprintf("%s/%s.key", dir, name);
        pub = dr_asprintf("%s/%s.pub", dir, name);
        char err[600];
        if (access(sec, F_OK) == 0)
            rc = cli_fail(ctx, DR_EEXIST, "%s exists; not overwriting it", sec);
        else if (keys_write(sec, pub, &kp, err, sizeof err) < 0)
            rc = cli_fail(ctx, DR_EIO, "%s", err);
    }
    if (rc == 0) {
        dr_buf_t b = {0};
        if (ctx->out == CLI_OUT_JSON)
            cli_json_render(
                &b, cli_json_check(json_pack("{s:s, s:s, s:s}", "public_key",
                                             kp.public_z85, "secret_file", sec,
                                             "public_file", pub)));
        else
            dr_buf_printf(&b,
                          "public key: %s\nsecret key file: %s (mode 0600)\n"
                          "public key file: %s\n",
                          kp.public_z85, sec, pub);
        rc = cli_emit(ctx, &b);
        dr_buf_free(&b);
    }
    memset(&kp, 0, sizeof kp);
    free(sec);
    free(pub);
    cli_args_free(&a);
    return rc;
}

/* Sends KeyAdd and prints the key list that comes back. */
static int s_key_add(cli_ctx_t *ctx, const char *name, const char *kind,
                     const char *role, const char *pubfile)
{
    int rc = cli_check_name(ctx, "key", name);
    if (rc < 0)
        return rc;
    dr_keypair_t kp;
    char err[600];
    if ((rc = keys_load(pubfile, &kp, err, sizeof err)) < 0)
        return cli_fail(ctx, rc, "%s", err);
    Drover__KeyInfo ki = DROVER__KEY_INFO__INIT;
    Drover__KeyAdd ka = DROVER__KEY_ADD__INIT;
    ki.name = (char *)name;
    ki.kind = (char *)kind;
    ki.role = (char *)role;
    ki.public_key = kp.public_z85;
    ka.key = &ki;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_KEY_ADD;
    req.key_add = &ka;
    memset(kp.secret_z85, 0, sizeof kp.secret_z85); /* never sent */
    return cli_call_list(ctx, &req, &cli_key_view);
}

int cli_keys_add_user(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc =
        cli_optset_parse(ctx, &cli_opts_keys_add_user, NULL, argc, argv, &a);
    if (rc == 0 && a.npos != 2)
        rc = cli_usage(ctx, "expected NAME and PUBKEYFILE");
    if (rc == 0 && !a.seen[0])
        rc = cli_usage(ctx, "missing --role user|admin");
    if (rc == 0 && strcmp(a.val[0], "user") != 0 &&
        strcmp(a.val[0], "admin") != 0)
        rc = cli_fail(ctx, DR_EINVAL, "--role must be user or admin, not '%s'",
                      a.val[0]);
    if (rc == 0)
        rc = s_key_add(ctx, a.pos[0], "user", a.val[0], a.pos[1]);
    cli_args_free(&a);
    return rc;
}

int cli_keys_add_agent(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_args_parse(ctx, NULL, 0, NULL, argc, argv, &a);
    if (rc == 0 && a.npos != 2)
        rc = cli_usage(ctx, "expected NODE_NAME and PUBKEYFILE");
    if (rc == 0)
        rc = s_key_add(ctx, a.pos[0], "agent", "", a.pos[1]);
    cli_args_free(&a);
    return rc;
}

int cli_keys_list(cli_ctx_t *ctx, int argc, char **argv)
{
    int rc = cli_parse_none(ctx, argc, argv);
    if (rc < 0)
        return rc;
    Drover__KeyListReq kr = DROVER__KEY_LIST_REQ__INIT;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_KEY_LIST;
    req.key_list = &kr;
    return cli_call_list(ctx, &req, &cli_key_view);
}

int cli_keys_revoke(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    int rc = cli_args_parse(ctx, NULL, 0, NULL, argc, argv, &a);
    if (rc == 0 && a.npos != 1)
        rc = cli_usage(ctx, "expected NAME");
    if (rc == 0)
        rc = cli_check_name(ctx, "key", a.pos[0]);
    Drover__KeyRevoke kr = DROVER__KEY_REVOKE__INIT;
    if (rc == 0)
        kr.name = a.pos[0];
    dr_env_t *rep = NULL;
    if (rc == 0) {
        dr_env_t req;
        wire_env_init(&req, 0);
        req.body_case = DROVER__ENVELOPE__BODY_KEY_REVOKE;
        req.key_revoke = &kr;
        rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_OK, &rep);
    }
    /* no text of our own: the scheduler says what it did */
    if (rc == 0)
        rc =
            cli_print_ok(ctx, rep->ok, "name", json_string(a.pos[0]), "%s", "");
    wire_free(&rep);
    cli_args_free(&a);
    return rc;
}
