/* cli_files.c - a job's files on the CLI's side (issue 16): the code a
 * job is submitted with (`job submit --code DIR`, YAML code: and local
 * inputs, cli_yaml_io.c), packed here into one gzip tar, and
 * `drover job download`, which fetches the outputs each node collected
 * and unpacks them as Azure ML's `az ml job download` lays them out:
 * DIR/named-outputs/NAME/...
 */
#include "cli.h"
#include "dr_err.h"
#include "dr_tar.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The message limit (8 MiB) less room for the rest of the job; the
 * scheduler's own --max-code-size (4 MiB by default) answers below it. */
#define CLI_CODE_MAX (7u << 20)

int cli_code_pack(cli_ctx_t *ctx, const char *what, const dr_tar_src_t *srcs,
                  size_t n, dr_buf_t *out)
{
    char why[1024];
    int rc = dr_tar_pack(srcs, n, CLI_CODE_MAX, out, why, sizeof why);
    if (rc == DR_ETOOBIG)
        return cli_fail(ctx, rc,
                        "%s: the job's code and inputs pack to more than %u "
                        "MiB; leave data out of them and read it from a "
                        "path the nodes see",
                        what, CLI_CODE_MAX >> 20);
    if (rc < 0)
        return cli_fail(ctx, rc, "%s: cannot pack the job's files: %s", what,
                        why);
    return 0;
}

enum { DL_NAME, DL_PATH };

static const opt_def_t s_download_opts[] = {
    [DL_NAME] = CLI_ARG("output-name", 0, "NAME",
                        "only this named output (default: all of them)"),
    [DL_PATH] = CLI_ARG("download-path", 'p', "DIR",
                        "where to put named-outputs/ (default: the current "
                        "folder)"),
};

const cli_optset_t cli_opts_job_download = CLI_OPTSET(s_download_opts);

/* One node rank's collected outputs; the reply owns the data. */
static int s_fetch(cli_ctx_t *ctx, uint64_t id, uint32_t rank, dr_env_t **rep)
{
    Drover__JobFilesReq q = DROVER__JOB_FILES_REQ__INIT;
    q.id = id;
    q.node_rank = rank;
    dr_env_t req;
    wire_env_init(&req, 0);
    req.body_case = DROVER__ENVELOPE__BODY_JOB_FILES;
    req.job_files = &q;
    int rc = cli_call(ctx, &req, DROVER__ENVELOPE__BODY_JOB_FILES_REPLY, rep);
    if (rc == 0 && !(*rep)->job_files_reply) {
        wire_free(rep);
        rc = cli_fail(ctx, DR_EPROTO, "the scheduler sent no outputs");
    }
    return rc;
}

int cli_job_download(cli_ctx_t *ctx, int argc, char **argv)
{
    cli_args_t a;
    uint64_t id = 0;
    int rc =
        cli_optset_parse(ctx, &cli_opts_job_download, NULL, argc, argv, &a);
    if (rc == 0 && (a.npos != 1 || a.dashdash))
        rc = cli_usage(ctx, a.npos ? "give one job ID" : "missing job ID");
    if (rc == 0)
        rc = cli_parse_job_id(ctx, a.pos[0], &id);
    const char *only = a.seen[DL_NAME] ? a.val[DL_NAME] : NULL;
    if (rc == 0 && only)
        rc = cli_check_name(ctx, "output", only);
    char *dest =
        dr_asprintf("%s/named-outputs", a.seen[DL_PATH] ? a.val[DL_PATH] : ".");
    dr_env_t *first = NULL;
    if (rc == 0)
        rc = s_fetch(ctx, id, 0, &first);
    uint32_t nodes = first ? first->job_files_reply->nodes : 0;
    uint32_t found = 0;
    int64_t entries = 0;
    static const dr_tar_limits_t lim = {DR_TAR_MAX_UNPACKED, DR_TAR_MAX_ENTRIES,
                                        0};
    /* the highest rank first: where two nodes wrote one file, node rank
     * 0's copy is the one left */
    for (uint32_t r = nodes; rc == 0 && r-- > 0;) {
        dr_env_t *rep = NULL;
        if (r > 0 && (rc = s_fetch(ctx, id, r, &rep)) < 0)
            break;
        const Drover__JobFiles *f = (r ? rep : first)->job_files_reply;
        if (f->found) {
            char why[512];
            int n = dr_tar_extract(f->data.data, f->data.len, dest, only, &lim,
                                   why, sizeof why);
            if (n < 0)
                rc = cli_fail(ctx, n, "job %" PRIu64 " node rank %u: %s", id, r,
                              why);
            else
                entries += n;
            found++;
        }
        wire_free(&rep);
    }
    if (rc == 0 && (!found || (only && !entries))) {
        const char *st = first->job_files_reply->state;
        int ended = st && (!strcmp(st, "succeeded") || !strcmp(st, "failed") ||
                           !strcmp(st, "canceled") || !strcmp(st, "timeout"));
        if (!ended)
            rc = cli_fail(ctx, DR_ESTATE,
                          "job %" PRIu64 " is %s: its outputs are collected "
                          "when it ends",
                          id, st ? st : "not ended");
        else if (only)
            rc = cli_fail(ctx, DR_ENOENT,
                          "job %" PRIu64 " has no output '%s' (nothing was "
                          "written under outputs/%s)",
                          id, only, only);
        else
            rc = cli_fail(ctx, DR_ENOENT,
                          "job %" PRIu64 " collected no outputs (it wrote "
                          "nothing under outputs/ in its working directory)",
                          id);
    }
    if (rc == 0) {
        dr_buf_t b = {0};
        if (ctx->out == CLI_OUT_JSON)
            cli_json_render(
                &b, cli_json_check(json_pack("{s:I, s:s, s:I, s:I}", "id",
                                             (json_int_t)id, "path", dest,
                                             "nodes", (json_int_t)found,
                                             "entries", (json_int_t)entries)));
        else
            dr_buf_printf(&b,
                          "job %" PRIu64 ": %lld entries from %u node%s into "
                          "%s\n",
                          id, (long long)entries, found, found == 1 ? "" : "s",
                          dest);
        rc = cli_emit(ctx, &b);
        dr_buf_free(&b);
    }
    wire_free(&first);
    free(dest);
    cli_args_free(&a);
    return rc;
}

int cli_submit_files(cli_ctx_t *ctx, const char *code_dir,
                     const char *const *outs, int nout, cli_submit_t *s)
{
    Drover__Job *j = &s->job;
    if (code_dir) {
        char what[1100];
        snprintf(what, sizeof what, "--code %.1024s", code_dir);
        struct stat st;
        if (stat(code_dir, &st) < 0 || !S_ISDIR(st.st_mode))
            return cli_fail(ctx, DR_EINVAL, "%s: not a folder", what);
        dr_tar_src_t src = {code_dir, ""};
        int rc = cli_code_pack(ctx, what, &src, 1, &s->code);
        if (rc < 0)
            return rc;
        j->code.data = (uint8_t *)s->code.data;
        j->code.len = s->code.len;
    }
    if (nout <= 0)
        return 0;
    s->outputs = dr_calloc((size_t)nout, sizeof *s->outputs);
    for (int i = 0; i < nout; i++) {
        int rc = cli_check_name(ctx, "output", outs[i]);
        if (rc < 0)
            return rc;
        s->outputs[i] = (char *)outs[i];
        j->n_outputs = (size_t)i + 1;
    }
    j->outputs = s->outputs;
    return 0;
}
