/* cli_yaml_int.h - what the YAML job file's parts share: the parsed tree
 * (cli_yaml.c reads it) and the local files a job carries
 * (cli_yaml_io.c).  Not for the rest of the CLI: it sees cli.h only. */
#ifndef DR_CLI_YAML_INT_H
#define DR_CLI_YAML_INT_H

#include "cli.h"
#include "dr_tar.h"

typedef enum { Y_SCALAR, Y_MAP, Y_SEQ } ytype_t;

typedef struct ynode {
    ytype_t type;
    int line;
    char *value;         /* Y_SCALAR */
    char **keys;         /* Y_MAP: keys[i] -> kids[i] */
    struct ynode **kids; /* Y_MAP, Y_SEQ */
    size_t n;
} ynode_t;

struct cli_yaml {
    const char *path;
    ynode_t *root;
    /* strings the request points into (freed with the doc) */
    char **owned;
    size_t nowned;
    Drover__KeyValue *kv;
    Drover__KeyValue **kvp;
    char **argv;
    /* local files to send with the job (cli_yaml_io.c): the code folder
     * and inputs given as local paths, packed into `code`; the named
     * outputs the nodes make and collect */
    dr_tar_src_t *srcs;
    size_t nsrc;
    char **outputs;
    size_t nout;
    dr_buf_t code;
};

/* "FILE:LINE: " fmt (with a and b for its two %s) as the CLI's error. */
int cy_err(cli_ctx_t *ctx, const cli_yaml_t *y, int line, const char *fmt,
           const char *a, const char *b);
/* s, freed with y. */
char *cy_own(cli_yaml_t *y, char *s);
/* map's value of key, NULL when absent (or map is not a map). */
const ynode_t *cy_get(const ynode_t *map, const char *key);

/* Checks of a node, each an error naming key and the line: every key of
 * map is one of known (NULL-terminated); a string; a mapping; an integer
 * in [lo, hi]. */
int cy_known(cli_ctx_t *ctx, const cli_yaml_t *y, const ynode_t *map,
             const char *where, const char *const *known);
int cy_str(cli_ctx_t *ctx, const cli_yaml_t *y, const ynode_t *n,
           const char *key, const char **out);
int cy_map(cli_ctx_t *ctx, const cli_yaml_t *y, const ynode_t *n,
           const char *key);
int cy_int(cli_ctx_t *ctx, const cli_yaml_t *y, const ynode_t *n,
           const char *key, long long lo, long long hi, long long *out);

/* cli_yaml_io.c.  input: an input's path as the command sees it, *val:
 * a local path (relative to the file) is sent with the job under
 * inputs/NAME; an absolute one is a path the nodes see, kept.  code: the
 * code folder (relative to the file), sent as the task's working
 * directory.  output: a named output with no path is made and collected
 * as outputs/NAME (*val that).  pack: everything recorded into j. */
int cli_yaml_input(cli_ctx_t *ctx, cli_yaml_t *y, const char *name,
                   const ynode_t *item, const ynode_t *path, const char **val);
int cli_yaml_code(cli_ctx_t *ctx, cli_yaml_t *y, const ynode_t *n);
const char *cli_yaml_output(cli_yaml_t *y, const char *name);
int cli_yaml_pack(cli_ctx_t *ctx, cli_yaml_t *y, Drover__Job *j);
void cli_yaml_io_free(cli_yaml_t *y);

#endif
