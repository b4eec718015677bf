/* cli.h - the pieces of the `drover` command-line client.
 *
 * The client is Redis-style: drover.c owns main() and dispatch; cli_cmds.c
 * the command table (each row with its summary and option rows), lookup
 * with "did you mean", help and completion; cli_conn.c owns the DEALER
 * socket and request/reply; one file per command group (cli_cluster.c,
 * cli_job.c, cli_node.c, cli_quota.c, cli_keys.c, cli_identity.c) builds
 * requests and prints replies through a view (cli_view.c: call, error, JSON or
 * table; cli_output.c: one view per resource); cli_parse.c holds option parsing
 * (on common/opts) and flag validation.  Everything but drover.c is the
 * cli_core library, which the unit test links; cli_parse.c, cli_view.c's
 * renderers and cli_output.c are pure (no sockets, no process exit).
 *
 * All state lives in one cli_ctx_t that main() owns and passes down; there is
 * no global mutable state.  Every function returns 0 or a negative DR_E*
 * code; the human message for the failure is left in ctx->err (set through
 * cli_fail / cli_usage) and main() prints it once.
 */
#ifndef DR_CLI_H
#define DR_CLI_H

#include "dr_tar.h"
#include "opts.h"
#include "util.h"
#include "wire.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#ifndef DROVER_VERSION
#define DROVER_VERSION "0.1.0"
#endif

#define CLI_DEFAULT_ENDPOINT "tcp://127.0.0.1:7701"
/* The local socket of a scheduler with the default state dir: the
 * endpoint when none is given and it is there (no key needed). */
#define CLI_LOCAL_SOCKET "/var/lib/drover/drover.sock"
#define CLI_DEFAULT_TIMEOUT_MS 10000
#define CLI_JOB_PAGE 1000
#define CLI_LOGS_POLL_MS 300
#define CLI_WAIT_POLL_MS 500
#define CLI_TIMEOUT_MAX_MS 3600000           /* --timeout, DROVER_TIMEOUT_MS */
#define CLI_TIME_LIMIT_MAX_S (366u * 86400u) /* the scheduler's cap */
#define CLI_EVENTS_MAX 10000          /* the scheduler caps --limit there */
#define CLI_QUOTA_CORES_MAX 100000000 /* and quota cores there */

/* -o yaml: `job show` only (an Azure ML job file, cli_yaml_out.c) */
typedef enum {
    CLI_OUT_TABLE = 0,
    CLI_OUT_JSON = 1,
    CLI_OUT_YAML = 2
} cli_out_t;

struct cli_cmd;

typedef struct cli_ctx {
    const char *endpoint;      /* scheduler client endpoint(s), a,b,... */
    int ep;                    /* the entry of endpoint now connected */
    cli_out_t out;             /* -o table|json */
    int timeout_ms;            /* per request */
    FILE *fout;                /* normally stdout; tests redirect */
    FILE *ferr;                /* normally stderr; progress of --wait */
    int fd;                    /* ZMTP to a local socket, -1 = none */
    struct cli_zmq *zmq;       /* libzmq, loaded for a TCP endpoint */
    void *zctx;                /* created on the first TCP request */
    void *sock;                /* DEALER connected to endpoint */
    uint64_t next_rid;         /* random start, incremented per request */
    int exit_code;             /* set by handlers that choose it (--wait) */
    int usage;                 /* the failure is a usage error (exit 2) */
    const struct cli_cmd *cmd; /* the command being run, for usage lines */
    const char *key_file;      /* --key / DROVER_KEY: our CURVE key pair */
    const char *server_key;    /* --scheduler-key / DROVER_SCHEDULER_KEY */
    const char *home;          /* DROVER_HOME: admin.key, scheduler.pub */
    int insecure;              /* --insecure / DROVER_INSECURE=1 */
    char err[2048];            /* message of the failure */
} cli_ctx_t;

typedef int (*cli_handler_t)(cli_ctx_t *ctx, int argc, char **argv);

/* A command's option rows (common/opts.h): the same rows parse its line
 * and make its --help (opts_usage) and its bash completion. */
typedef struct {
    const opt_def_t *defs;
    size_t n;
} cli_optset_t;

#define CLI_OPTSET(rows)                                                       \
    {                                                                          \
        rows, sizeof rows / sizeof rows[0]                                     \
    }
/* default, min, max, choices, value name and help of a count row */
#define CLI_COUNT(def, lo, arg, help) def, lo, INT32_MAX, NULL, arg, help
/* A row that fills no field (the handler reads opts_args_t.val). */
#define CLI_ARG(lname, sname, metavar, text)                                   \
    {                                                                          \
        .name = lname, .shortname = sname, .type = OPT_ARG,                    \
        .offset = OPT_NOFIELD, .arg = metavar, .help = text                    \
    }
#define CLI_FLAG(lname, sname, text)                                           \
    {                                                                          \
        .name = lname, .shortname = sname, .type = OPT_FLAG,                   \
        .offset = OPT_NOFIELD, .help = text                                    \
    }

typedef struct cli_cmd {
    const char *group; /* "cluster", "job", "node", "quota", "version" */
    const char *name;  /* "create", ... or NULL for one-word commands */
    cli_handler_t handler;
    const char *usage;        /* the arguments: "usage: drover GROUP NAME" */
    const char *summary;      /* one line: what it does */
    const cli_optset_t *opts; /* its option rows, or NULL for none */
} cli_cmd_t;

/* The option rows of the commands (defined beside their parsers). */
extern const cli_optset_t cli_opts_submit;
extern const cli_optset_t cli_opts_cluster_create;
extern const cli_optset_t cli_opts_cluster_update;
extern const cli_optset_t cli_opts_cluster_name; /* -n NAME */
extern const cli_optset_t cli_opts_cluster_events;
extern const cli_optset_t cli_opts_identity_assign;
extern const cli_optset_t cli_opts_join_token;
extern const cli_optset_t cli_opts_job_list;
extern const cli_optset_t cli_opts_job_cancel;
extern const cli_optset_t cli_opts_usage;
extern const cli_optset_t cli_opts_job_logs;
extern const cli_optset_t cli_opts_job_create;
extern const cli_optset_t cli_opts_job_download;
extern const cli_optset_t cli_opts_node_list;
extern const cli_optset_t cli_opts_quota_set;
extern const cli_optset_t cli_opts_keys_generate;
extern const cli_optset_t cli_opts_keys_add_user;

/* ---- cli_cmds.c: the command table, lookup, help, completion ------------ */

/* The command table (Redis's command table): *n rows. */
const cli_cmd_t *cli_commands(size_t *n);

/* Finds the command named by argv[0] (and argv[1]); *used says how many
 * words it took.  NULL with a usage error in ctx when there is none: an
 * unknown word gets the nearest known one ("did you mean ..."). */
const cli_cmd_t *cli_lookup(cli_ctx_t *ctx, int argc, char **argv, int *used);

/* "usage: drover GROUP NAME ARGS\n" */
void cli_render_usage(dr_buf_t *b, const cli_cmd_t *c);
/* A command's help: usage, summary, its options (opts_usage) and -o. */
void cli_render_cmd_help(dr_buf_t *b, const cli_cmd_t *c);
/* A group's help: each of its commands with its summary; 0, or
 * DR_ENOENT when no command has that group. */
int cli_render_group_help(dr_buf_t *b, const char *group);
/* The whole program's help: global options, groups, environment. */
void cli_render_help(dr_buf_t *b, const opts_table_t *globals);

/* `drover __complete WORD...`: the words that may follow WORD... (the
 * line typed so far, after the global options), one a line: groups, a
 * group's commands, or a command's flags. */
void cli_render_completion(dr_buf_t *b, const opts_table_t *globals, int argc,
                           char **argv);

/* `drover version` / `drover --version`. */
int cli_version(cli_ctx_t *ctx, int argc, char **argv);

/* ---- cli_suggest: nearest word --------------------------------------- */

/* The edit distance of a and b (insertions, deletions, substitutions and
 * transpositions of neighbours, each 1); words over 63 bytes count as far. */
int cli_edit_distance(const char *a, const char *b);
/* The candidate nearest to word, when near enough to be a typo (at most
 * 2 edits, or a third of word's length); NULL otherwise. */
const char *cli_suggest(const char *word, const char *const *cands, size_t n);
/* The nearest long option of rows to "--word" (word without the dashes),
 * or NULL. */
const char *cli_suggest_option(const char *word, const opt_def_t *rows,
                               size_t n);
/* Appends "; did you mean --X?" to an "unknown option '--Y'" message in
 * err (as opts_parse_args writes it) when rows have an X near Y. */
void cli_hint_option(char *err, size_t len, const opt_def_t *rows, size_t n);

/* ---- cli_identity.c: managed identity --- */

/* cli_join.c: create | list | revoke */
int cli_cluster_join_token(cli_ctx_t *ctx, int argc, char **argv);
int cli_cluster_identity(cli_ctx_t *ctx, int argc, char **argv);
int cli_identity_verify(cli_ctx_t *ctx, int argc, char **argv);

/* ---- cli_keys.c
 * -------------------------------------------------------------- */

int cli_keys_generate(cli_ctx_t *ctx, int argc, char **argv);
int cli_keys_add_user(cli_ctx_t *ctx, int argc, char **argv);
int cli_keys_add_agent(cli_ctx_t *ctx, int argc, char **argv);
int cli_keys_list(cli_ctx_t *ctx, int argc, char **argv);
int cli_keys_revoke(cli_ctx_t *ctx, int argc, char **argv);
/* cli_token.c: keys token create NAME (the HTTP API's bearer tokens) */
int cli_keys_token(cli_ctx_t *ctx, int argc, char **argv);

/* ---- cli_parse.c: errors, options, validation --------------------------- */

/* Initialises ctx with defaults (no socket yet). */
void cli_ctx_init(cli_ctx_t *ctx);

/* Records a failure message; returns code so callers can `return cli_fail`. */
int cli_fail(cli_ctx_t *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records a usage error (exit 2); returns DR_EINVAL. */
int cli_usage(cli_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* What a command line held (common/opts.h).  Values point into argv. */
typedef opts_args_t cli_args_t;

/* Parses argv against n option rows, filling base's fields (base may be
 * NULL for rows of OPT_NONE); with a base, the rows' defaults are applied
 * first.  Positional arguments and "--" are kept for the caller.  "-o FMT"
 * and "--output FMT" are accepted everywhere and set ctx->out.  A
 * malformed line (unknown option, with the nearest known one suggested;
 * missing value; a single-valued option given twice) is a usage error; a
 * bad value is a plain one naming the flag.  Call cli_args_free afterwards
 * whatever it returns. */
int cli_args_parse(cli_ctx_t *ctx, const opt_def_t *defs, size_t n, void *base,
                   int argc, char **argv, cli_args_t *a);
/* The same with a command's row set. */
int cli_optset_parse(cli_ctx_t *ctx, const cli_optset_t *set, void *base,
                     int argc, char **argv, cli_args_t *a);
void cli_args_free(cli_args_t *a);

/* A usage error when a holds positional arguments or "--". */
int cli_args_none(cli_ctx_t *ctx, const cli_args_t *a);
/* Parses a command that takes no options and no arguments (but -o). */
int cli_parse_none(cli_ctx_t *ctx, int argc, char **argv);

/* Sets ctx->out from "table" / "json"; usage error otherwise. */
int cli_parse_output(cli_ctx_t *ctx, const char *s);
/* -o yaml with a command other than `job show`: a usage error; else 0. */
int cli_check_output(cli_ctx_t *ctx);

/* Validators: 0, or a cli_fail with a message naming the bad value. */
int cli_check_name(cli_ctx_t *ctx, const char *what, const char *s);
int cli_parse_int(cli_ctx_t *ctx, const char *flag, const char *s, int64_t min,
                  int64_t max, int64_t *out);
int cli_parse_memory(cli_ctx_t *ctx, const char *s, uint64_t *mb);
int cli_parse_duration(cli_ctx_t *ctx, const char *s, uint64_t *sec);
/* Every job the filter in lr matches, page by page (cli_job.c): the reply
 * pages (which own the jobs) are appended to *pages, the jobs to *jobs;
 * free the pages with wire_free, the two arrays with free. */
int cli_fetch_jobs(cli_ctx_t *ctx, Drover__JobListReq *lr, dr_env_t ***pages,
                   size_t *npages, Drover__Job ***jobs, size_t *njobs);
/* A point in time, ms since the epoch (cli_time.c): a UTC date or date
 * and time, or a duration before now; flag names it in the error. */
int cli_parse_since(cli_ctx_t *ctx, const char *flag, const char *s,
                    int64_t *ms);
/* A job's time limit in ms, from 1 ms to 366 days: "90s", "30m",
 * "1h30m", "2d", "500ms", "1s500ms" (units d h m s ms, largest first,
 * each once), seconds with up to three decimals, last ("1.5s",
 * "1m0.25s"), or Slurm's "MM:SS", "HH:MM:SS", "D-HH", "D-HH:MM",
 * "D-HH:MM:SS".  A bare number is refused as ambiguous (Slurm reads
 * minutes, drover's other flags seconds). */
int cli_parse_time_limit(cli_ctx_t *ctx, const char *s, uint64_t *ms);
int cli_parse_env(cli_ctx_t *ctx, const char *s, char **key, char **val);
int cli_check_state(cli_ctx_t *ctx, const char *s);
int cli_parse_job_id(cli_ctx_t *ctx, const char *s, uint64_t *id);
int cli_parse_timeout_env(cli_ctx_t *ctx, const char *s, int *ms);

/* ---- cli_yaml.c: Azure ML v2 YAML files (job.yml, compute.yml) ------- */

typedef struct cli_yaml cli_yaml_t;
/* Reads and parses the file (at most 1 MiB); NULL with the error in ctx. */
cli_yaml_t *cli_yaml_load(cli_ctx_t *ctx, const char *path);
void cli_yaml_free(cli_yaml_t **y);
/* Fills a command job's request (strings borrowed from y); 0 or the
 * first error, "FILE:LINE: ..." in ctx. */
int cli_yaml_job(cli_ctx_t *ctx, cli_yaml_t *y, Drover__Job *j);
/* The same for an amlcompute (Azure ML's defaults for what is left out). */
int cli_yaml_cluster(cli_ctx_t *ctx, cli_yaml_t *y, Drover__Cluster *c);
/* A job as an Azure ML v2 command job file (`job show -o yaml`) that
 * cli_yaml_job reads back into the same request: appended to b. */
void cli_yaml_out_job(dr_buf_t *b, const Drover__Job *j);

/* A parsed `job submit`.  job->argv, env, name, cluster are owned here. */
typedef struct {
    Drover__Job job;
    Drover__KeyValue *kv; /* storage for job.env */
    Drover__KeyValue **kvp;
    int wait;
    int follow;            /* --follow: also stream the output (sets wait) */
    dr_buf_t code;         /* --code DIR, packed (job.code points here) */
    char **outputs;        /* --output-name values (the strings are argv's) */
    const char *each_line; /* --each-line FILE (argv's), or NULL */
} cli_submit_t;
/* cli_files.c: a submit's --code DIR (NULL: none), packed, and its
 * --output-name values, into s->job. */
int cli_submit_files(cli_ctx_t *ctx, const char *code_dir,
                     const char *const *outs, int nout, cli_submit_t *s);

int cli_parse_submit(cli_ctx_t *ctx, int argc, char **argv, cli_submit_t *s);
void cli_submit_free(cli_submit_t *s);

/* A parsed `cluster create`.  Strings point into argv or literals. */
int cli_parse_cluster_create(cli_ctx_t *ctx, int argc, char **argv,
                             Drover__Cluster *c);
/* A parsed `cluster update`. */
int cli_parse_cluster_update(cli_ctx_t *ctx, int argc, char **argv,
                             Drover__ClusterUpdate *u);

/* A VM family name for quotas: 1-63 of [A-Za-z0-9_]. */
int cli_check_family(cli_ctx_t *ctx, const char *s);

/* A parsed `quota set`.  Strings point into argv or literals. */
int cli_parse_quota_set(cli_ctx_t *ctx, int argc, char **argv,
                        Drover__QuotaSet *q);

/* A parsed `cluster events`. */
int cli_parse_cluster_events(cli_ctx_t *ctx, int argc, char **argv,
                             Drover__ClusterEventsReq *e);

/* Parses the one positional node NAME of `node show|preempt`. */
int cli_parse_node_ref(cli_ctx_t *ctx, int argc, char **argv,
                       Drover__NodeRef *r);

/* ---- cli_view.c: one shape for showing every resource ---------------------
 *
 * A view says, for one message type, its JSON object (a table of fields:
 * key, C type, where), its table (columns: header, how a cell is made) and
 * its "key: value" form.  cli_call_list / cli_call_one do the whole
 * "send, fail on an error reply, render as JSON or a table" of a command.
 */

typedef enum {
    CLI_F_STR,  /* char *: "" for NULL in JSON, "-" for empty in a table */
    CLI_F_TEXT, /* char *: as it is, also in a table */
    CLI_F_I32,
    CLI_F_U32,
    CLI_F_I64,
    CLI_F_U64,
    CLI_F_BOOL,
    CLI_F_TIME,  /* int64 ms: a number in JSON, "2026-...Z" in a table */
    CLI_F_TIMEN, /* as CLI_F_TIME, but 0 (unknown) is null in JSON */
    CLI_F_STRS,  /* char ** with a count: an array / "a,b" or "-" */
    CLI_F_U32S,  /* uint32_t * with a count: an array */
    CLI_F_OBJS,  /* messages with a count: an array of `sub`'s objects */
} cli_ftype_t;

struct cli_view;

/* One field of a message: its JSON key, its type and offsets. */
typedef struct {
    const char *key;
    cli_ftype_t type;
    size_t off;
    size_t n_off; /* repeated fields: the offset of the count */
    const struct cli_view *sub;
} cli_field_t;

/* A table cell made by hand; now_ms for ages. */
typedef void (*cli_cell_fn)(dr_buf_t *cell, const void *msg, int64_t now_ms);

/* One column: header, and either a field (type, off, n_off) or a fn. */
typedef struct {
    const char *header;
    cli_ftype_t type;
    size_t off;
    size_t n_off;
    cli_cell_fn fn;
    int width; /* fixed width; 0: as wide as the widest cell */
} cli_col_t;

typedef struct cli_view {
    const cli_field_t *fields;
    size_t nfields;
    const cli_col_t *cols;
    size_t ncols;
    const char *sep; /* between cells; "  " if NULL */
    void (*show)(dr_buf_t *b, const void *msg); /* key: value lines */
    /* the reply that carries a list of them, and how to get the list */
    int list_body;
    const void *const *(*items)(const dr_env_t *rep, size_t *n);
    /* the reply that carries one of them, and how to get it */
    int one_body;
    const void *(*one)(const dr_env_t *rep);
    const char *one_name; /* for "empty cluster_info reply" */
} cli_view_t;

extern const cli_view_t cli_cluster_view, cli_job_view, cli_node_view,
    cli_gpu_view, cli_quota_view, cli_event_view, cli_key_view;

/* "2026-11-28T12:00:00Z" (UTC); "-" when ms is 0. */
void cli_fmt_time(char *buf, size_t len, int64_t ms);

/* The message as a JSON object (new reference). */
json_t *cli_view_json(const cli_view_t *v, const void *msg);
/* The messages as an aligned table with a header row, appended to b. */
void cli_view_table(dr_buf_t *b, const cli_view_t *v, const void *const *msgs,
                    size_t n, int64_t now_ms);
/* Prints messages as a JSON array or a table; one as an object or its
 * key: value lines. */
int cli_emit_list(cli_ctx_t *ctx, const cli_view_t *v, const void *const *msgs,
                  size_t n);
int cli_emit_one(cli_ctx_t *ctx, const cli_view_t *v, const void *msg);
/* Sends req, expects v's list (or one) reply, prints it. */
int cli_call_list(cli_ctx_t *ctx, dr_env_t *req, const cli_view_t *v);
int cli_call_one(cli_ctx_t *ctx, dr_env_t *req, const cli_view_t *v);

/* ---- cli_output.c: the views of each resource, and formatters ------------
 */

json_t *cli_job_json(const Drover__Job *j);
json_t *cli_cluster_json(const Drover__Cluster *c);
json_t *cli_node_json(const Drover__Node *n);
json_t *cli_gpu_json(const Drover__GpuInfo *g);
json_t *cli_quota_json(const Drover__Quota *q);
json_t *cli_event_json(const Drover__Event *e);

/* Aborts with file:line when v is NULL (jansson's out of memory). */
json_t *cli_json_check_at(json_t *v, const char *file, int line);
#define cli_json_check(v) cli_json_check_at((v), __FILE__, __LINE__)
/* Appends v (stolen) to the array a; aborts on out of memory. */
void cli_json_push(json_t *a, json_t *v);

/* json_dumps(JSON_INDENT(2)) plus a newline, appended to b; steals v. */
void cli_json_render(dr_buf_t *b, json_t *v);

void cli_render_clusters(dr_buf_t *b, Drover__Cluster *const *c, size_t n);
void cli_render_cluster_show(dr_buf_t *b, const Drover__Cluster *c);
void cli_render_jobs(dr_buf_t *b, Drover__Job *const *j, size_t n,
                     int64_t now_ms);
void cli_render_job_show(dr_buf_t *b, const Drover__Job *j);
void cli_render_nodes(dr_buf_t *b, Drover__Node *const *n, size_t cnt);
void cli_render_node_show(dr_buf_t *b, const Drover__Node *n);
void cli_render_quotas(dr_buf_t *b, Drover__Quota *const *q, size_t n);
void cli_render_events(dr_buf_t *b, Drover__Event *const *e, size_t n);

/* A node's GPUs in one table cell: "4 V100-PCIE-16GB (4 healthy) 12%"
 * (count, model without its vendor prefix or "mixed", healthy count, mean
 * utilization); "-" when it has none.  The Node message does not say which
 * GPUs are assigned, so no free count is shown. */
void cli_fmt_gpus(dr_buf_t *b, Drover__GpuInfo *const *g, size_t n);
/* One GPU as `node show` prints it after "gpu N: ". */
void cli_fmt_gpu(dr_buf_t *b, const Drover__GpuInfo *g);
/* "used/limit" of a quota, "unlimited" for a negative limit. */
void cli_fmt_quota(char *buf, size_t len, int64_t used, int64_t limit);

/* "5s", "3m", "2h", "4d"; "-" when then_ms is 0. */
void cli_fmt_age(char *buf, size_t len, int64_t now_ms, int64_t then_ms);
/* The argv as a shell would need it typed, single-quoting where needed. */
void cli_fmt_command(dr_buf_t *b, char *const *argv, size_t n);

/* Writes b to ctx->fout; DR_EIO on a failed write. */
int cli_emit(cli_ctx_t *ctx, const dr_buf_t *b);

/* Prints the Ok that answered a command about one object and emits it: with
 * -o json {"<key>": id, "message": ...} (id is stolen, freed in any form);
 * otherwise the scheduler's message or, when it sent none, fmt's text (a
 * short line: up to 255 bytes); a newline after either. */
int cli_print_ok(cli_ctx_t *ctx, const Drover__Ok *ok, const char *key,
                 json_t *id, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- cli_conn.c: talking to the scheduler ---------------------------------
 */

/* Sends req (its body set by the caller; version and request id filled in
 * here) and waits for the reply.  An Error reply becomes a cli_fail with
 * its message.  When `want` is not 0 any other body is a protocol error.
 * The caller frees *reply with wire_free. */
int cli_call(cli_ctx_t *ctx, dr_env_t *req, int want, dr_env_t **reply);

/* Closes the connection and the zmq context and unloads libzmq, if any
 * (the next request connects again). */
void cli_disconnect(cli_ctx_t *ctx);

/* Sleeps ms milliseconds (poll helpers). */
void cli_sleep_ms(int ms);

/* ---- handlers -------------------------------------------------------------
 */

int cli_cluster_create(cli_ctx_t *ctx, int argc, char **argv);
int cli_cluster_update(cli_ctx_t *ctx, int argc, char **argv);
int cli_cluster_show(cli_ctx_t *ctx, int argc, char **argv);
int cli_cluster_list(cli_ctx_t *ctx, int argc, char **argv);
int cli_cluster_delete(cli_ctx_t *ctx, int argc, char **argv);
/* Sends req, expects a ClusterInfo and prints it (cluster show's form). */
int cli_cluster_call(cli_ctx_t *ctx, dr_env_t *req);
int cli_job_submit(cli_ctx_t *ctx, int argc, char **argv);
/* job create -f job.yml [--cluster NAME] [--wait] [--follow] */
int cli_job_create(cli_ctx_t *ctx, int argc, char **argv);
int cli_job_list(cli_ctx_t *ctx, int argc, char **argv);
int cli_job_show(cli_ctx_t *ctx, int argc, char **argv);
/* cli_job_batch.c: cancel of IDs or filters, rerun, usage */
int cli_job_cancel(cli_ctx_t *ctx, int argc, char **argv);
int cli_job_rerun(cli_ctx_t *ctx, int argc, char **argv);
int cli_usage_report(cli_ctx_t *ctx, int argc, char **argv);
/* job list's table: each array's elements folded into one row with
 * counts by state (its reason); rows borrow from jobs. */
typedef struct cli_fold cli_fold_t;
cli_fold_t *cli_job_fold(Drover__Job *const *jobs, size_t n);
Drover__Job *const *cli_fold_rows(const cli_fold_t *f, size_t *n);
void cli_fold_free(cli_fold_t **f);
int cli_job_logs(cli_ctx_t *ctx, int argc, char **argv);
/* cli_files.c: drover job download ID [--output-name N] [--download-path
 * DIR]; and the packing of a job's code and local inputs (what names the
 * job in errors: its file, or --code). */
int cli_job_download(cli_ctx_t *ctx, int argc, char **argv);
int cli_code_pack(cli_ctx_t *ctx, const char *what, const dr_tar_src_t *srcs,
                  size_t n, dr_buf_t *out);
int cli_cluster_lock(cli_ctx_t *ctx, int argc, char **argv);
int cli_cluster_unlock(cli_ctx_t *ctx, int argc, char **argv);
int cli_cluster_events(cli_ctx_t *ctx, int argc, char **argv);
int cli_node_list(cli_ctx_t *ctx, int argc, char **argv);
int cli_node_show(cli_ctx_t *ctx, int argc, char **argv);
int cli_node_preempt(cli_ctx_t *ctx, int argc, char **argv);
/* drover node drain NAME: no new tasks, running ones finish (as
 * `scontrol update state=drain`); resume undoes it.  Admin. */
int cli_node_drain(cli_ctx_t *ctx, int argc, char **argv);
int cli_node_resume(cli_ctx_t *ctx, int argc, char **argv);
int cli_quota_set(cli_ctx_t *ctx, int argc, char **argv);
int cli_quota_list(cli_ctx_t *ctx, int argc, char **argv);

/* ---- cli_follow.c: following a job to its end ---------------------------
 */

/* How cli_follow_job follows a job. */
#define CLI_FOLLOW_WAIT 0x1u   /* its states on ferr, then its exit status */
#define CLI_FOLLOW_OUTPUT 0x2u /* its output on fout until it ends */
/* --follow's help line (job submit, job create). */
#define CLI_FOLLOW_HELP                                                        \
    "stream the job's stdout and stderr on stdout as it runs (a multi-node "   \
    "job's lines tagged with their node or rank), then end as --wait does; "   \
    "implies --wait"

/* With neither flag: prints the output there is now (`job logs`).  With
 * CLI_FOLLOW_OUTPUT: all of it, polling until the job ends, and while the
 * job is queued each change of its wait reason, with the time waited, on
 * ferr (`job logs -f`).  With CLI_FOLLOW_WAIT: one line on ferr per change
 * of state (`job 12: queued: REASON (waited 4s)`, `job 12: running on
 * NODE`, `job 12: failed (exit 3)`) and the job's exit status in
 * ctx->exit_code (`--wait`); with both, the output streams between the
 * states and the last state line follows the last of it (`--wait
 * --follow`). */
int cli_follow_job(cli_ctx_t *ctx, uint64_t id, unsigned how);
/* --follow given: sets *wait (it implies --wait), and refuses -o json (the
 * output is not JSON). */
int cli_check_follow(cli_ctx_t *ctx, int follow, int *wait);
/* One JobShow: *rep holds job_info on success (cli_job.c). */
int cli_job_get(cli_ctx_t *ctx, uint64_t id, dr_env_t **rep);

/* Exit status of a finished job as `job submit --wait` reports it:
 * succeeded 0, failed its exit code (1 if none), canceled 130; -1 while
 * the job is not finished. */
int cli_job_exit_status(const Drover__Job *j);

#endif
