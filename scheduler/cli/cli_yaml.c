/* cli_yaml.c - Azure ML v2 YAML files: `drover job create -f job.yml` (a
 * command job) and the reading of every such file (`drover cluster create
 * -f compute.yml` is mapped in cli_yaml_compute.c).
 *
 * The file is read with libyaml into a small tree that keeps each node's
 * line, then mapped onto the same request the flags build (Drover__Job,
 * Drover__Cluster), so the scheduler checks both the same way.  Every key
 * is known or refused: an unknown key, a wrong type, a value out of range,
 * an Azure asset drover cannot have (`azureml:NAME@latest`) or a missing
 * `${{inputs.NAME}}` gets "FILE:LINE: ..." naming the key.  Azure ML's
 * defaults fill what a file leaves out.
 *
 * What a job file may hold (Azure ML's command job): $schema, type
 * (command), command, environment (an image name, or {image: ...}; none:
 * a process job), compute (NAME or azureml:NAME), resources
 * (instance_count, instance_type), distribution (type mpi | pytorch, with
 * process_count_per_instance; tensorflow, with worker_count and
 * parameter_server_count), environment_variables, limits (timeout, in
 * seconds), inputs (literals, or {type, path|value|default}: a relative
 * path is a local file or folder sent with the job as inputs/NAME, an
 * absolute one a path the nodes see; substituted into the command),
 * outputs ({type, path}; without a path, outputs/NAME in the task dir,
 * collected for `drover job download`), code (a local folder, relative
 * to the file: sent with the job and unpacked as the task's working
 * directory; cli_yaml_io.c), name, display_name (the job's name),
 * experiment_name, description, tags (kept as DROVER_TAG_* variables).
 */
#include "cli_yaml_int.h"
#include "dr_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YAML_MAX_BYTES (1u << 20)
#define YAML_MAX_DEPTH 16

static void s_free_node(ynode_t *n)
{
    if (!n)
        return;
    free(n->value);
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            free(n->keys[i]);
        s_free_node(n->kids[i]);
    }
    free(n->keys);
    free(n->kids);
    free(n);
}

int cy_err(cli_ctx_t *ctx, const cli_yaml_t *y, int line, const char *fmt,
           const char *a, const char *b)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    return cli_fail(ctx, DR_EINVAL, "%s:%d: %s", y->path, line, msg);
}

static void s_add(ynode_t *parent, char *key, ynode_t *kid)
{
    parent->kids = dr_realloc(parent->kids, (parent->n + 1) * sizeof(void *));
    if (parent->type == Y_MAP)
        parent->keys =
            dr_realloc(parent->keys, (parent->n + 1) * sizeof(char *));
    if (parent->type == Y_MAP)
        parent->keys[parent->n] = key;
    parent->kids[parent->n++] = kid;
}

/* Builds the tree of the next node from the parser's events. */
static int s_parse_node(cli_ctx_t *ctx, cli_yaml_t *y, yaml_parser_t *p,
                        yaml_event_t *first, int depth, ynode_t **out)
{
    *out = NULL;
    int line = (int)first->start_mark.line + 1;
    if (depth > YAML_MAX_DEPTH)
        return cy_err(ctx, y, line, "nested too deep%s%s", NULL, NULL);
    if (first->type == YAML_ALIAS_EVENT)
        return cy_err(ctx, y, line, "aliases (*) are not supported%s%s", NULL,
                      NULL);
    ynode_t *n = dr_calloc(1, sizeof *n);
    n->line = line;
    if (first->type == YAML_SCALAR_EVENT) {
        n->type = Y_SCALAR;
        n->value = dr_strdup((const char *)first->data.scalar.value);
        *out = n;
        return 0;
    }
    int is_map = first->type == YAML_MAPPING_START_EVENT;
    if (!is_map && first->type != YAML_SEQUENCE_START_EVENT) {
        free(n);
        return cy_err(ctx, y, line, "unexpected YAML content%s%s", NULL, NULL);
    }
    n->type = is_map ? Y_MAP : Y_SEQ;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(p, &ev)) {
            int l = (int)p->problem_mark.line + 1;
            s_free_node(n);
            return cy_err(ctx, y, l, "invalid YAML: %s%s",
                          p->problem ? p->problem : "?", NULL);
        }
        if (ev.type == YAML_MAPPING_END_EVENT ||
            ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        char *key = NULL;
        if (is_map) {
            if (ev.type != YAML_SCALAR_EVENT) {
                int l = (int)ev.start_mark.line + 1;
                yaml_event_delete(&ev);
                s_free_node(n);
                return cy_err(ctx, y, l, "a key must be a plain word%s%s", NULL,
                              NULL);
            }
            key = dr_strdup((const char *)ev.data.scalar.value);
            for (size_t i = 0; i < n->n; i++) {
                if (strcmp(n->keys[i], key) == 0) {
                    int l = (int)ev.start_mark.line + 1;
                    yaml_event_delete(&ev);
                    int rc =
                        cy_err(ctx, y, l, "key '%s' given twice%s", key, NULL);
                    free(key);
                    s_free_node(n);
                    return rc;
                }
            }
            yaml_event_delete(&ev);
            if (!yaml_parser_parse(p, &ev)) {
                int l = (int)p->problem_mark.line + 1;
                free(key);
                s_free_node(n);
                return cy_err(ctx, y, l, "invalid YAML: %s%s",
                              p->problem ? p->problem : "?", NULL);
            }
        }
        ynode_t *kid = NULL;
        int rc = s_parse_node(ctx, y, p, &ev, depth + 1, &kid);
        yaml_event_delete(&ev);
        if (rc < 0) {
            free(key);
            s_free_node(n);
            return rc;
        }
        s_add(n, key, kid);
    }
    *out = n;
    return 0;
}

cli_yaml_t *cli_yaml_load(cli_ctx_t *ctx, const char *path)
{
    cli_yaml_t *y = dr_calloc(1, sizeof *y);
    y->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        (void)cli_fail(ctx, DR_EIO, "%s: %s", path, strerror(errno));
        free(y);
        return NULL;
    }
    char *text = dr_malloc(YAML_MAX_BYTES + 1);
    size_t len = fread(text, 1, YAML_MAX_BYTES + 1, f);
    fclose(f);
    if (len > YAML_MAX_BYTES) {
        (void)cli_fail(ctx, DR_EINVAL, "%s: larger than %u bytes", path,
                       YAML_MAX_BYTES);
        free(text);
        free(y);
        return NULL;
    }
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = 0;
    yaml_event_t ev;
    /* stream start, document start, the root, ... */
    while (rc == 0 && !y->root) {
        if (!yaml_parser_parse(&p, &ev)) {
            rc =
                cy_err(ctx, y, (int)p.problem_mark.line + 1,
                       "invalid YAML: %s%s", p.problem ? p.problem : "?", NULL);
            break;
        }
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            rc = cli_fail(ctx, DR_EINVAL, "%s: empty file", path);
            break;
        }
        if (ev.type == YAML_MAPPING_START_EVENT ||
            ev.type == YAML_SEQUENCE_START_EVENT ||
            ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT)
            rc = s_parse_node(ctx, y, &p, &ev, 0, &y->root);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    free(text);
    if (rc == 0 && y->root->type != Y_MAP)
        rc = cy_err(ctx, y, y->root->line, "the file must be a mapping%s%s",
                    NULL, NULL);
    if (rc < 0) {
        cli_yaml_free(&y);
        return NULL;
    }
    return y;
}

void cli_yaml_free(cli_yaml_t **yp)
{
    cli_yaml_t *y = *yp;
    if (!y)
        return;
    s_free_node(y->root);
    for (size_t i = 0; i < y->nowned; i++)
        free(y->owned[i]);
    free(y->owned);
    free(y->kv);
    free(y->kvp);
    free(y->argv);
    cli_yaml_io_free(y);
    free(y);
    *yp = NULL;
}

char *cy_own(cli_yaml_t *y, char *s)
{
    y->owned = dr_realloc(y->owned, (y->nowned + 1) * sizeof *y->owned);
    y->owned[y->nowned++] = s;
    return s;
}

const ynode_t *cy_get(const ynode_t *map, const char *key)
{
    for (size_t i = 0; map && map->type == Y_MAP && i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0)
            return map->kids[i];
    return NULL;
}

/* Every key of map is one of known (NULL-terminated). */
int cy_known(cli_ctx_t *ctx, const cli_yaml_t *y, const ynode_t *map,
             const char *where, const char *const *known)
{
    for (size_t i = 0; i < map->n; i++) {
        size_t k = 0;
        while (known[k] && strcmp(known[k], map->keys[i]) != 0)
            k++;
        if (!known[k])
            return cy_err(ctx, y, map->kids[i]->line, "unknown key '%s' in %s",
                          map->keys[i], where);
    }
    return 0;
}

int cy_str(cli_ctx_t *ctx, const cli_yaml_t *y, const ynode_t *n,
           const char *key, const char **out)
{
    if (n->type != Y_SCALAR)
        return cy_err(ctx, y, n->line, "'%s' must be a string%s", key, NULL);
    *out = n->value;
    return 0;
}

int cy_map(cli_ctx_t *ctx, const cli_yaml_t *y, const ynode_t *n,
           const char *key)
{
    return n->type == Y_MAP
               ? 0
               : cy_err(ctx, y, n->line, "'%s' must be a mapping%s", key, NULL);
}

int cy_int(cli_ctx_t *ctx, const cli_yaml_t *y, const ynode_t *n,
           const char *key, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = n->type == Y_SCALAR ? strtoll(n->value, &end, 10) : 0;
    if (n->type != Y_SCALAR || !end || end == n->value || *end || errno)
        return cy_err(ctx, y, n->line, "'%s' must be an integer%s", key, NULL);
    if (v < lo || v > hi) {
        char range[64];
        snprintf(range, sizeof range, " (%lld to %lld)", lo, hi);
        return cy_err(ctx, y, n->line, "'%s' is out of range%s", key, range);
    }
    *out = v;
    return 0;
}

/* "azureml:NAME" or "NAME" (a compute); an asset reference of Azure that
 * drover cannot resolve is refused by name. */
static int s_compute(cli_ctx_t *ctx, const cli_yaml_t *y, const ynode_t *n,
                     const char **out)
{
    const char *v = NULL;
    int rc = cy_str(ctx, y, n, "compute", &v);
    if (rc < 0)
        return rc;
    if (strncmp(v, "azureml:", 8) == 0)
        v += 8;
    if (!dr_valid_name(v))
        return cy_err(ctx, y, n->line,
                      "compute '%s' is not a cluster name this scheduler can "
                      "have%s",
                      v, NULL);
    *out = v;
    return 0;
}

/* ${{inputs.NAME}} and ${{outputs.NAME}} in the command. */
static int s_substitute(cli_ctx_t *ctx, cli_yaml_t *y, const ynode_t *cmdn,
                        const ynode_t *inputs, const ynode_t *outputs,
                        char **out)
{
    dr_buf_t b = {0};
    const char *s = cmdn->value;
    int rc = 0;
    while (*s && rc == 0) {
        const char *open = strstr(s, "${{");
        if (!open) {
            dr_buf_append(&b, s, strlen(s));
            break;
        }
        dr_buf_append(&b, s, (size_t)(open - s));
        const char *close = strstr(open, "}}");
        if (!close) {
            rc = cy_err(ctx, y, cmdn->line, "'${{' without '}}' in command%s%s",
                        NULL, NULL);
            break;
        }
        char ref[128];
        size_t rl = (size_t)(close - open - 3);
        if (rl >= sizeof ref)
            rl = sizeof ref - 1;
        memcpy(ref, open + 3, rl);
        ref[rl] = '\0';
        char *r = ref;
        while (*r == ' ')
            r++;
        for (char *e = r + strlen(r); e > r && e[-1] == ' ';)
            *--e = '\0';
        const ynode_t *set = NULL, *item = NULL;
        const char *name = NULL;
        int is_out = 0;
        if (strncmp(r, "inputs.", 7) == 0) {
            set = inputs;
            name = r + 7;
        } else if (strncmp(r, "outputs.", 8) == 0) {
            set = outputs;
            name = r + 8;
            is_out = 1;
        } else {
            rc = cy_err(ctx, y, cmdn->line,
                        "'${{%s}}': only inputs.NAME and outputs.NAME are "
                        "known%s",
                        r, NULL);
            break;
        }
        item = cy_get(set, name);
        if (!item) {
            rc = cy_err(ctx, y, cmdn->line, "'${{%s}}' names no %s", r,
                        is_out ? "output" : "input");
            break;
        }
        const char *val = NULL;
        if (item->type == Y_SCALAR) {
            val = item->value;
        } else if (item->type == Y_MAP) {
            const ynode_t *v = cy_get(item, "path");
            int is_path = v != NULL;
            if (!v)
                v = cy_get(item, "value");
            if (!v)
                v = cy_get(item, "default");
            if (v && v->type == Y_SCALAR)
                val = v->value;
            else if (is_out)
                val = cli_yaml_output(y, name);
            if (val && is_path && !is_out &&
                (rc = cli_yaml_input(ctx, y, name, item, v, &val)) < 0)
                break;
        }
        if (!val) {
            rc = cy_err(ctx, y, item->line,
                        "'%s' has no path, value or default%s", name, NULL);
            break;
        }
        if (strncmp(val, "azureml:", 8) == 0) {
            rc = cy_err(ctx, y, item->line,
                        "'%s' is an Azure ML data asset, which drover cannot "
                        "have; give a path the nodes see%s",
                        val, NULL);
            break;
        }
        dr_buf_append(&b, val, strlen(val));
        s = close + 2;
    }
    if (rc < 0) {
        dr_buf_free(&b);
        return rc;
    }
    *out = cy_own(y, dr_strdup(b.data ? b.data : ""));
    dr_buf_free(&b);
    return 0;
}

static int s_env_map(cli_ctx_t *ctx, cli_yaml_t *y, const ynode_t *env,
                     const ynode_t *tags, Drover__Job *j)
{
    size_t n = (env ? env->n : 0) + (tags ? tags->n : 0);
    if (!n)
        return 0;
    y->kv = dr_calloc(n, sizeof *y->kv);
    y->kvp = dr_calloc(n, sizeof *y->kvp);
    size_t k = 0;
    for (int pass = 0; pass < 2; pass++) {
        const ynode_t *m = pass ? tags : env;
        for (size_t i = 0; m && i < m->n; i++) {
            if (m->kids[i]->type != Y_SCALAR)
                return cy_err(ctx, y, m->kids[i]->line,
                              "the value of '%s' must be a string%s",
                              m->keys[i], NULL);
            drover__key_value__init(&y->kv[k]);
            if (pass) {
                /* a tag: DROVER_TAG_<KEY>, the key made a variable name */
                char *name =
                    cy_own(y, dr_asprintf("DROVER_TAG_%s", m->keys[i]));
                for (char *c = name + 11; *c; c++)
                    if (!((*c >= 'A' && *c <= 'Z') ||
                          (*c >= '0' && *c <= '9') || *c == '_'))
                        *c = *c >= 'a' && *c <= 'z' ? (char)(*c - 32) : '_';
                y->kv[k].key = name;
            } else {
                y->kv[k].key = m->keys[i];
            }
            y->kv[k].value = m->kids[i]->value;
            y->kvp[k] = &y->kv[k];
            k++;
        }
    }
    j->n_env = k;
    j->env = y->kvp;
    return 0;
}

/* Azure ML assets drover cannot have (an environment, data or code named
 * "azureml:NAME[:VERSION|@latest]"), refused by name before anything
 * else is read.  (compute: azureml:NAME is a cluster name.) */
static int s_assets(cli_ctx_t *ctx, const cli_yaml_t *y, const ynode_t *r)
{
    static const char *const what[] = {"environment", "code", "inputs",
                                       "outputs"};
    const ynode_t *first = NULL; /* the one highest in the file */
    char name[160] = "";
    for (int k = 0; k < 4; k++) {
        const ynode_t *n = cy_get(r, what[k]), *m = n;
        for (size_t i = 0; n && i < (k < 2 ? 1 : n->n); i++) {
            if (k >= 2)
                m = n->type == Y_MAP ? n->kids[i] : NULL;
            const ynode_t *v =
                m && m->type == Y_MAP ? cy_get(m, k ? "path" : "image") : m;
            if (!v || v->type != Y_SCALAR || strncmp(v->value, "azureml:", 8) ||
                (first && first->line <= v->line))
                continue;
            first = v;
            snprintf(name, sizeof name, "%s%s%s", what[k], k >= 2 ? "." : "",
                     k >= 2 ? n->keys[i] : "");
        }
    }
    if (!first)
        return 0;
    return cy_err(ctx, y, first->line,
                  "%s is the Azure ML asset '%s', which drover cannot have; "
                  "give an image or a path the nodes see",
                  name, first->value);
}

/* distribution's counts: process_count_per_instance (mpi, pytorch), or
 * worker_count and parameter_server_count (tensorflow); the other kind's
 * keys are refused by name. */
static int s_dist_counts(cli_ctx_t *ctx, const cli_yaml_t *y,
                         const ynode_t *dist, int tf, Drover__Job *j)
{
    static const char *const keys[3] = {
        "process_count_per_instance", "worker_count", "parameter_server_count"};
    for (int k = 0; k < 3; k++) {
        const ynode_t *n = cy_get(dist, keys[k]);
        if (!n)
            continue;
        if ((k == 0) == tf)
            return cy_err(ctx, y, n->line,
                          "'distribution.%s' is not a key of this "
                          "distribution type%s",
                          keys[k],
                          tf ? " (tensorflow takes worker_count)"
                             : " (it is tensorflow's)");
        char what[64];
        snprintf(what, sizeof what, "distribution.%s", keys[k]);
        long long v = 0;
        int rc =
            cy_int(ctx, y, n, what, k == 2 ? 0 : 1, k == 0 ? 1024 : 8192, &v);
        if (rc < 0)
            return rc;
        if (k == 0)
            j->procs_per_node = (uint32_t)v;
        else if (k == 1)
            j->worker_count = (uint32_t)v;
        else
            j->parameter_server_count = (uint32_t)v;
    }
    return 0;
}

static const char *const s_job_keys[] = {"$schema",
                                         "type",
                                         "command",
                                         "environment",
                                         "compute",
                                         "resources",
                                         "distribution",
                                         "environment_variables",
                                         "limits",
                                         "inputs",
                                         "outputs",
                                         "code",
                                         "name",
                                         "display_name",
                                         "experiment_name",
                                         "description",
                                         "tags",
                                         "services",
                                         NULL};

int cli_yaml_job(cli_ctx_t *ctx, cli_yaml_t *y, Drover__Job *j)
{
    const ynode_t *r = y->root, *n;
    int rc = cy_known(ctx, y, r, "the job", s_job_keys);
    if (rc == 0)
        rc = s_assets(ctx, y, r);
    const char *v = NULL;
    if (rc == 0 && (n = cy_get(r, "type")) &&
        ((rc = cy_str(ctx, y, n, "type", &v)) == 0) && strcmp(v, "command"))
        rc = cy_err(ctx, y, n->line,
                    "type '%s' is not supported (a command job: type: "
                    "command)%s",
                    v, NULL);
    const ynode_t *cmdn = cy_get(r, "command");
    if (rc == 0 && !cmdn)
        rc = cy_err(ctx, y, r->line, "a job needs 'command'%s%s", NULL, NULL);
    if (rc == 0 && (rc = cy_str(ctx, y, cmdn, "command", &v)) == 0 && !*v)
        rc = cy_err(ctx, y, cmdn->line, "'command' is empty%s%s", NULL, NULL);
    const ynode_t *inputs = cy_get(r, "inputs"),
                  *outputs = cy_get(r, "outputs");
    if (rc == 0 && inputs)
        rc = cy_map(ctx, y, inputs, "inputs");
    if (rc == 0 && outputs)
        rc = cy_map(ctx, y, outputs, "outputs");
    for (int k = 0; rc == 0 && k < 2; k++) {
        const ynode_t *m = k ? outputs : inputs;
        for (size_t i = 0; rc == 0 && m && i < m->n; i++)
            if (!dr_valid_name(m->keys[i]))
                rc = cy_err(ctx, y, m->kids[i]->line,
                            "'%s' is not a name for an %s (letters, digits, - "
                            "and _)",
                            m->keys[i], k ? "output" : "input");
    }
    /* every input with a path and every output, named in the command or
     * not: local inputs go with the job, outputs without a path are made
     * and collected by the nodes */
    for (size_t i = 0; rc == 0 && inputs && i < inputs->n; i++) {
        const ynode_t *it = inputs->kids[i], *p = cy_get(it, "path");
        const char *val = NULL;
        if (p && p->type == Y_SCALAR)
            rc = cli_yaml_input(ctx, y, inputs->keys[i], it, p, &val);
    }
    dr_buf_t mk = {0}; /* output folders with a path the nodes see */
    for (size_t i = 0; rc == 0 && outputs && i < outputs->n; i++) {
        const ynode_t *o = outputs->kids[i];
        const ynode_t *p = o->type == Y_MAP ? cy_get(o, "path") : o;
        if (!p || p->type != Y_SCALAR)
            (void)cli_yaml_output(y, outputs->keys[i]);
        else if (!strchr(p->value, '\''))
            dr_buf_printf(&mk, "%s '%s'", mk.len ? "" : "mkdir -p", p->value);
    }
    char *command = NULL;
    if (rc == 0)
        rc = s_substitute(ctx, y, cmdn, inputs, outputs, &command);
    if (rc == 0 && (n = cy_get(r, "code")))
        rc = cli_yaml_code(ctx, y, n);
    if (rc == 0 && mk.len)
        command = cy_own(y, dr_asprintf("%s && %s", mk.data, command));
    dr_buf_free(&mk);
    if (rc == 0)
        rc = cli_yaml_pack(ctx, y, j);
    if (rc < 0)
        return rc;
    y->argv = dr_calloc(4, sizeof *y->argv);
    y->argv[0] = "/bin/sh";
    y->argv[1] = "-c";
    y->argv[2] = command;
    j->n_argv = 3;
    j->argv = y->argv;
    if ((n = cy_get(r, "compute")) && (rc = s_compute(ctx, y, n, &v)) == 0)
        j->cluster = (char *)v;
    if (rc == 0 && (n = cy_get(r, "environment"))) {
        const ynode_t *img = n->type == Y_MAP ? cy_get(n, "image") : n;
        static const char *const env_keys[] = {
            "image", "name", "version", "conda_file", "description", NULL};
        if (n->type == Y_MAP &&
            (rc = cy_known(ctx, y, n, "environment", env_keys)) < 0)
            return rc;
        if (!img)
            return cy_err(ctx, y, n->line,
                          "environment: only an image is supported (image: "
                          "NAME)%s%s",
                          NULL, NULL);
        if ((rc = cy_str(ctx, y, img, "environment.image", &v)) < 0)
            return rc;
        j->image = (char *)v;
    }
    if (rc == 0 && (n = cy_get(r, "resources"))) {
        static const char *const res_keys[] = {
            "instance_count", "instance_type", "shm_size", NULL};
        long long c = 1;
        const ynode_t *ic;
        if ((rc = cy_map(ctx, y, n, "resources")) == 0 &&
            (rc = cy_known(ctx, y, n, "resources", res_keys)) == 0 &&
            (ic = cy_get(n, "instance_count")) &&
            (rc = cy_int(ctx, y, ic, "resources.instance_count", 1, 32, &c)) ==
                0)
            j->nodes = (uint32_t)c;
    }
    if (rc == 0 && (n = cy_get(r, "distribution"))) {
        static const char *const dist_keys[] = {
            "type", "process_count_per_instance", "worker_count",
            "parameter_server_count", NULL};
        const ynode_t *t = cy_get(n, "type");
        if ((rc = cy_map(ctx, y, n, "distribution")) == 0 &&
            (rc = cy_known(ctx, y, n, "distribution", dist_keys)) == 0) {
            if (!t)
                rc = cy_err(ctx, y, n->line, "distribution needs 'type'%s%s",
                            NULL, NULL);
            else if ((rc = cy_str(ctx, y, t, "distribution.type", &v)) == 0 &&
                     strcmp(v, "mpi") != 0 && strcmp(v, "pytorch") != 0 &&
                     strcmp(v, "tensorflow") != 0)
                rc = cy_err(ctx, y, t->line,
                            "distribution type '%s' is not supported (mpi, "
                            "pytorch or tensorflow)%s",
                            v, NULL);
        }
        if (rc == 0)
            j->distribution = (char *)v;
        if (rc == 0)
            rc = s_dist_counts(ctx, y, n, strcmp(v, "tensorflow") == 0, j);
    }
    if (rc == 0 && (n = cy_get(r, "limits"))) {
        static const char *const lim_keys[] = {"timeout", NULL};
        const ynode_t *t;
        long long s = 0;
        if ((rc = cy_map(ctx, y, n, "limits")) == 0 &&
            (rc = cy_known(ctx, y, n, "limits", lim_keys)) == 0 &&
            (t = cy_get(n, "timeout")) &&
            (rc = cy_int(ctx, y, t, "limits.timeout", 1, 366LL * 86400, &s)) ==
                0)
            j->time_limit_s = (uint32_t)s; /* Azure ML's: whole seconds */
    }
    const ynode_t *envn = cy_get(r, "environment_variables"),
                  *tags = cy_get(r, "tags");
    if (rc == 0 && envn)
        rc = cy_map(ctx, y, envn, "environment_variables");
    if (rc == 0 && tags)
        rc = cy_map(ctx, y, tags, "tags");
    if (rc == 0)
        rc = s_env_map(ctx, y, envn, tags, j);
    const char *dn = NULL;
    if (rc == 0 &&
        ((n = cy_get(r, "display_name")) || (n = cy_get(r, "name"))) &&
        (rc = cy_str(ctx, y, n, "display_name", &dn)) == 0) {
        if (!dr_valid_name(dn))
            rc = cy_err(ctx, y, n->line,
                        "display_name '%s' is not a job name (letters, digits, "
                        "- and _, at most 63)%s",
                        dn, NULL);
        else
            j->name = (char *)dn;
    }
    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        const char *k = r->keys[i];
        if ((strcmp(k, "experiment_name") == 0 ||
             strcmp(k, "description") == 0 || strcmp(k, "$schema") == 0) &&
            r->kids[i]->type != Y_SCALAR)
            rc = cy_err(ctx, y, r->kids[i]->line, "'%s' must be a string%s", k,
                        NULL);
    }
    return rc;
}
