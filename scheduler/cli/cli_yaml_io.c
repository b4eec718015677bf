/* cli_yaml_io.c - the local files of a YAML job (cli_yaml_int.h): the
 * code folder and the inputs given as local paths, both relative to the
 * job file as Azure ML reads them, sent with the job in one gzip tar
 * (code at its root, each input under inputs/NAME); and the named
 * outputs the nodes make and collect under outputs/NAME. */
#include "cli_yaml_int.h"
#include "dr_err.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* path relative to the job file's folder, made absolute (malloc'd), or
 * NULL with the error when it does not exist. */
static char *s_local(cli_ctx_t *ctx, cli_yaml_t *y, int line, const char *what,
                     const char *path)
{
    const char *slash = strrchr(y->path, '/'), *rel = path;
    while (rel[0] == '.' && rel[1] == '/')
        rel += 2;
    char *joined =
        path[0] == '/' || !slash
            ? dr_strdup(path)
            : dr_asprintf("%.*s/%s", (int)(slash - y->path), y->path, rel);
    char real[PATH_MAX];
    char *abs = realpath(joined, real) ? dr_strdup(real) : NULL;
    if (!abs) {
        char msg[PATH_MAX + 600];
        snprintf(msg, sizeof msg, "%s '%.200s' is not here (%s: %s)", what,
                 path, joined, strerror(errno));
        (void)cy_err(ctx, y, line, "%s%s", msg, NULL);
    }
    free(joined);
    return abs;
}

static void s_add_src(cli_yaml_t *y, char *path, char *prefix)
{
    y->srcs = dr_realloc(y->srcs, (y->nsrc + 1) * sizeof *y->srcs);
    y->srcs[y->nsrc].path = cy_own(y, path);
    y->srcs[y->nsrc].prefix = cy_own(y, prefix);
    y->nsrc++;
}

int cli_yaml_input(cli_ctx_t *ctx, cli_yaml_t *y, const char *name,
                   const ynode_t *item, const ynode_t *path, const char **val)
{
    const char *p = path->value;
    if (strstr(p, "://") || strncmp(p, "azureml:", 8) == 0)
        return cy_err(ctx, y, path->line,
                      "input path '%s' is a URI drover cannot read; give a "
                      "local path (sent with the job) or an absolute path "
                      "the nodes see%s",
                      p, NULL);
    if (p[0] == '/') {
        *val = p; /* the nodes see it: kept as it is */
        return 0;
    }
    const ynode_t *t = cy_get(item, "type");
    int is_file = t && t->type == Y_SCALAR && strcmp(t->value, "uri_file") == 0;
    char *prefix = dr_asprintf("inputs/%s", name);
    for (size_t i = 0; i < y->nsrc; i++)
        if (strcmp(y->srcs[i].prefix, prefix) == 0) { /* seen already */
            const char *base = strrchr(y->srcs[i].path, '/');
            *val = is_file ? cy_own(y, dr_asprintf("%s/%s", prefix, base + 1))
                           : y->srcs[i].prefix;
            free(prefix);
            return 0;
        }
    char *abs = s_local(ctx, y, path->line, "input path", p);
    if (!abs) {
        free(prefix);
        return DR_EINVAL;
    }
    struct stat st;
    int dir = stat(abs, &st) == 0 && S_ISDIR(st.st_mode);
    if (is_file == dir) {
        int rc = cy_err(ctx, y, path->line, "input '%s' is %s", name,
                        is_file ? "type uri_file but its path is a folder"
                                : "a file: give it type: uri_file");
        free(abs);
        free(prefix);
        return rc;
    }
    const char *base = strrchr(abs, '/');
    *val = is_file ? cy_own(y, dr_asprintf("%s/%s", prefix, base + 1)) : prefix;
    s_add_src(y, abs, prefix);
    return 0;
}

int cli_yaml_code(cli_ctx_t *ctx, cli_yaml_t *y, const ynode_t *n)
{
    if (n->type != Y_SCALAR || !*n->value)
        return cy_err(ctx, y, n->line,
                      "'code' must be the path of a local folder%s%s", NULL,
                      NULL);
    char *abs = s_local(ctx, y, n->line, "code", n->value);
    if (!abs)
        return DR_EINVAL;
    struct stat st;
    if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode)) {
        int rc =
            cy_err(ctx, y, n->line, "code '%s' is not a folder%s", abs, NULL);
        free(abs);
        return rc;
    }
    s_add_src(y, abs, dr_strdup(""));
    return 0;
}

const char *cli_yaml_output(cli_yaml_t *y, const char *name)
{
    size_t i = 0;
    while (i < y->nout && strcmp(y->outputs[i], name) != 0)
        i++;
    if (i == y->nout) {
        y->outputs = dr_realloc(y->outputs, (y->nout + 1) * sizeof(char *));
        y->outputs[y->nout++] = (char *)name; /* a key of the tree */
    }
    return cy_own(y, dr_asprintf("outputs/%s", name));
}

int cli_yaml_pack(cli_ctx_t *ctx, cli_yaml_t *y, Drover__Job *j)
{
    j->n_outputs = y->nout;
    j->outputs = y->outputs;
    if (!y->nsrc)
        return 0;
    int rc = cli_code_pack(ctx, y->path, y->srcs, y->nsrc, &y->code);
    if (rc < 0)
        return rc;
    j->code.data = (uint8_t *)y->code.data;
    j->code.len = y->code.len;
    return 0;
}

void cli_yaml_io_free(cli_yaml_t *y)
{
    free(y->srcs);
    free(y->outputs);
    dr_buf_free(&y->code);
}
