/* opts.h - the one option parser of drover-scheduler, drover-agent and drover.
 *
 * A declarative table, as Redis's config table: each row names an option
 * once - its flag, its config-file key, its type, default, range, flags, the
 * field it fills and its help line.  The same rows read "--name value",
 * "--name=value", "-n value" and config-file lines "name = value" (a key may
 * spell '-' as '_'); --help text is generated from them.  One convention for
 * durations everywhere: "500ms", "5s", "30m", "2h", "1d"; a bare number is
 * seconds.  Every value is checked (type, range) and an error names the
 * option that carried it.
 *
 * Owns nothing but the strings OPT_STR rows of size 0 copy into their
 * fields (opts_free releases them) and the arrays in an opts_args_t
 * (opts_args_free).  Never prints, never exits: callers decide what an
 * error means.
 */
#ifndef DR_OPTS_H
#define DR_OPTS_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    OPT_ARG,  /* char *: points into argv (which outlives it) */
    OPT_STR,  /* copied: char[size] in place, or (size 0) a strdup'd char * */
    OPT_NAME, /* an OPT_STR that must be a node/cluster name */
    OPT_INT,  /* whole number in [min, max]; int32 (size 4) or int64 (8) */
    OPT_MS,   /* whole milliseconds in [min, max] (the agent's old flags) */
    OPT_DURATION, /* "500ms", "5s", "30m", "2h", "1d", bare = s; ms in [min,
                     max] */
    OPT_FLAG,     /* int 0/1: no value on the command line, yes/no in a file */
    OPT_ENUM,     /* const char *: the literal of one of `choices` */
    OPT_LEVEL,    /* int: a log_level_t (debug, info, warn, error) */
    OPT_SIZE,     /* "512K", "64M", "10G", bare = MiB; whole MiB (rounded
                     up) in [min, max] */
} opt_type_t;

/* Flags of a row. */
#define OPT_MULTI 0x1u    /* may repeat; opts_args_t.list keeps every value */
#define OPT_ALIAS 0x2u    /* an older spelling: not a default, shown as alias */
#define OPT_SECONDS 0x4u  /* OPT_DURATION kept in whole seconds (rounded up) */
#define OPT_NONEMPTY 0x8u /* "" is refused */
#define OPT_REQUIRED 0x10u /* opts_missing reports it when not given */

/* The offset of a row that fills no field (opts_args_t records it). */
#define OPT_NOFIELD ((size_t)-1)
/* offset and size of a struct's field, for the rows' initialisers. */
#define OPT_AT(type, field) offsetof(type, field), sizeof(((type *)0)->field)
/* the same for a char * field that an OPT_STR row strdups into */
#define OPT_PTR(type, field) offsetof(type, field), 0
#define OPT_NONE OPT_NOFIELD, 0

typedef struct {
    const char *name; /* long flag without "--"; the config-file key */
    char shortname;   /* 'n' for "-n", or 0 */
    opt_type_t type;
    unsigned flags;
    size_t offset;   /* of the field in the struct the parse fills */
    size_t size;     /* of that field */
    const char *def; /* default as text (opts_defaults), or NULL */
    /* INT, MS: the value; DURATION: ms (s with OPT_SECONDS); STR: max
     * length when not 0 */
    int64_t min, max;
    const char *const *choices; /* OPT_ENUM: NULL-terminated */
    const char *arg;            /* the value's name in --help, e.g. "DIR" */
    const char *help;
} opt_def_t;

/* Flags of a table. */
#define OPTS_ONCE 0x1u       /* an option given twice is an error */
#define OPTS_POSITIONAL 0x2u /* positional arguments are kept, not refused */
#define OPTS_DASHDASH 0x4u   /* "--" ends the options; the rest is kept */
#define OPTS_HELP 0x8u       /* -h / --help make opts_parse_args return 1 */
#define OPTS_STOP                                                              \
    0x10u /* the first positional ends the options: it and                     \
             what follows are kept in rest */

typedef struct {
    const opt_def_t *defs;
    size_t n;
    unsigned flags;
} opts_table_t;

#define OPTS_MAX 48 /* rows in one table */

/* What a command line held, row by row.  Values point into argv. */
typedef struct {
    int nspec;                   /* rows in the table */
    int seen[OPTS_MAX];          /* times each row was given */
    const char *val[OPTS_MAX];   /* its last value ("yes" for a flag) */
    const char **list[OPTS_MAX]; /* every value of an OPT_MULTI row */
    int nlist[OPTS_MAX];
    char **pos; /* positional arguments (OPTS_POSITIONAL) */
    int npos;
    char **rest; /* after "--" (OPTS_DASHDASH) or from the first positional
                    (OPTS_STOP); else NULL */
    int nrest;
    int dashdash; /* "--" was present */
    int usage;    /* the error was the line's shape, not a value */
} opts_args_t;

/* Parses argv[0..argc) (no program name) against t, filling base's fields
 * (base may be NULL: nothing is filled, a is still).  0; 1 when -h/--help
 * came (OPTS_HELP); DR_EINVAL with a one-line message in err.  Call
 * opts_args_free afterwards whatever it returns. */
int opts_parse_args(const opts_table_t *t, int argc, char **argv, void *base,
                    opts_args_t *a, char *err, size_t errlen);
void opts_args_free(opts_args_t *a);

/* Applies every row's default (not aliases'); DR_EINVAL on a bad one. */
int opts_defaults(const opts_table_t *t, void *base, char *err, size_t errlen);

/* Checks val against o and stores it in base (when base and the row's
 * field exist).  `shown` names the option in errors ("--cpus", "cpus"). */
int opts_set(const opt_def_t *o, const char *shown, const char *val, void *base,
             char *err, size_t errlen);

/* The row of a config-file key ('_' matches '-'), or NULL. */
const opt_def_t *opts_find_key(const opts_table_t *t, const char *key);

/* Applies "key = value" lines ('#' comments, blank lines); errors say
 * "line N: ...". */
int opts_parse_text(const opts_table_t *t, const char *text, void *base,
                    char *err, size_t errlen);
/* The same for a file (up to 1 MiB); errors say "config PATH: ...". */
int opts_load_file(const opts_table_t *t, const char *path, void *base,
                   char *err, size_t errlen);

/* DR_EINVAL naming the first OPT_REQUIRED row a did not see; else 0. */
int opts_missing(const opts_table_t *t, const opts_args_t *a, char *err,
                 size_t errlen);

/* One help line per row: "  -n, --name NAME   help (default: x)". */
void opts_usage(const opts_table_t *t, dr_buf_t *b);

/* Frees the strings OPT_STR rows of size 0 hold in base. */
void opts_free(const opts_table_t *t, void *base);

/* "DIR/file" where DIR holds this program (a default path of a helper
 * program installed beside it), malloc'd; NULL when /proc/self/exe cannot
 * be read. */
char *opts_beside_self(const char *file);

/* "500ms", "1.5s", "30m", "2h", "1d", "90" (s) -> milliseconds. */
int opts_parse_duration_ms(const char *s, int64_t *ms);

/* A whole number in [min, max], or DR_EINVAL with "invalid SHOWN 'S':
 * expected an integer from MIN to MAX" in err. */
int opts_parse_int(const char *shown, const char *s, int64_t min, int64_t max,
                   int64_t *out, char *err, size_t errlen);

#endif
