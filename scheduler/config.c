/* config.c - see config.h. */
#include "config.h"
#include "dr_err.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { OPT_STR, OPT_MS, OPT_LEVEL, OPT_FLAG } opt_type_t;

typedef struct {
    const char *name; /* flag without "--"; file key uses '_' for '-' */
    opt_type_t type;
    size_t offset;
    size_t size; /* for OPT_STR */
    const char *def;
    int64_t min_ms, max_ms;
    const char *help;
} opt_def_t;

#define STR(f)                                                                 \
    OPT_STR, offsetof(sched_opts_t, f), sizeof(((sched_opts_t *)0)->f)
#define MS(f) OPT_MS, offsetof(sched_opts_t, f), 0

static const opt_def_t s_opts[] = {
    {"state-dir", STR(state_dir), "/var/lib/drover", 0, 0,
     "where the database, job logs and node dirs live"},
    {"client-endpoint", STR(client_endpoint), "tcp://127.0.0.1:7701", 0, 0,
     "ZeroMQ endpoint for clients (the CLI)"},
    {"agent-endpoint", STR(agent_endpoint), "tcp://0.0.0.0:7700", 0, 0,
     "ZeroMQ endpoint for agents"},
    {"agent-connect", STR(agent_connect), "", 0, 0,
     "endpoint local agents connect to (default: from agent-endpoint)"},
    {"agent-bin", STR(agent_bin), "", 0, 0,
     "drover-agent executable for the local provider (default: beside "
     "this binary)"},
    {"vm-catalog", STR(vm_catalog), "", 0, 0,
     "vm-size catalog CSV (default: the embedded one)"},
    {"scheduled-events-url", STR(scheduled_events_url), "", 0, 0,
     "metadata scheduled-events URL the local provider gives low-priority "
     "nodes (e.g. http://169.254.169.254/metadata/scheduledevents"
     "?api-version=2020-07-01)"},
    {"heartbeat-interval", MS(heartbeat_interval_ms), "5s", 100, 600000,
     "how often agents heartbeat"},
    {"heartbeat-timeout", MS(heartbeat_timeout_ms), "30s", 500, 3600000,
     "silence after which a node is lost"},
    {"autoscale-interval", MS(autoscale_interval_ms), "1s", 50, 600000,
     "autoscaler tick"},
    {"identity-token-ttl", MS(identity_ttl_ms), "10m", 1000, 86400000,
     "lifetime of managed-identity tokens"},
    {"start-timeout", MS(start_timeout_ms), "60s", 1000, 3600000,
     "how long a node may take to start a task"},
    {"resume-timeout", MS(resume_timeout_ms), "10m", 1000, 86400000,
     "how long a new node may take to register"},
    {"log-level", OPT_LEVEL, offsetof(sched_opts_t, log_level), 0, "info", 0, 0,
     "debug, info, warn or error"},
    {"insecure", OPT_FLAG, offsetof(sched_opts_t, insecure), 0, "no", 0, 0,
     "turn CURVE off (loopback debugging only; a flag without value)"},
};

#define NOPTS (sizeof s_opts / sizeof s_opts[0])

static int s_parse_ms(const char *v, int64_t *out)
{
    size_t n = strlen(v);
    if (n > 2 && strcmp(v + n - 2, "ms") == 0) {
        char buf[32];
        if (n - 2 >= sizeof buf)
            return DR_EINVAL;
        memcpy(buf, v, n - 2);
        buf[n - 2] = '\0';
        return dr_parse_i64(buf, 0, INT_MAX, out);
    }
    uint64_t s;
    if (dr_parse_duration_s(v, &s) < 0 || s > INT_MAX / 1000)
        return DR_EINVAL;
    *out = (int64_t)s * 1000;
    return 0;
}

static int s_set(const opt_def_t *o, const char *v, sched_opts_t *opts,
                 char *err, size_t errlen)
{
    char *base = (char *)opts + o->offset;
    switch (o->type) {
    case OPT_STR:
        if (strlen(v) >= o->size) {
            snprintf(err, errlen, "%s: value too long", o->name);
            return DR_EINVAL;
        }
        memcpy(base, v, strlen(v) + 1);
        return 0;
    case OPT_MS: {
        int64_t ms;
        if (s_parse_ms(v, &ms) < 0 || ms < o->min_ms || ms > o->max_ms) {
            snprintf(err, errlen,
                     "%s: invalid duration '%s' (e.g. 30s, 5m, 500ms; "
                     "%lld ms to %lld ms)",
                     o->name, v, (long long)o->min_ms, (long long)o->max_ms);
            return DR_EINVAL;
        }
        *(int *)base = (int)ms;
        return 0;
    }
    case OPT_FLAG:
        if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
            strcmp(v, "1") == 0) {
            *(int *)base = 1;
            return 0;
        }
        if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
            strcmp(v, "0") == 0) {
            *(int *)base = 0;
            return 0;
        }
        snprintf(err, errlen, "%s: '%s' is not yes or no", o->name, v);
        return DR_EINVAL;
    case OPT_LEVEL: {
        log_level_t lvl;
        if (log_level_parse(v, &lvl) < 0) {
            snprintf(err, errlen,
                     "%s: '%s' is not one of debug, info, warn, error", o->name,
                     v);
            return DR_EINVAL;
        }
        *(int *)base = (int)lvl;
        return 0;
    }
    }
    return DR_EINVAL;
}

static const opt_def_t *s_find(const char *name, int file_key)
{
    for (size_t i = 0; i < NOPTS; i++) {
        const char *a = s_opts[i].name;
        const char *b = name;
        for (; *a && *b; a++, b++) {
            char cb = (file_key && *b == '_') ? '-' : *b;
            if (*a != cb)
                break;
        }
        if (!*a && !*b)
            return &s_opts[i];
    }
    return NULL;
}

void config_defaults(sched_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    char err[128];
    for (size_t i = 0; i < NOPTS; i++)
        if (s_set(&s_opts[i], s_opts[i].def, opts, err, sizeof err) < 0)
            log_fatal("bad default: %s", err);
    opts->grace_ms = 10000;
}

void config_usage(FILE *out)
{
    fprintf(out, "usage: drover-scheduler [--config FILE] [OPTIONS]\n\n");
    for (size_t i = 0; i < NOPTS; i++)
        fprintf(out, "  --%-20s %s (default: %s)\n", s_opts[i].name,
                s_opts[i].help, *s_opts[i].def ? s_opts[i].def : "see text");
    fprintf(out, "  --%-20s %s\n", "config FILE",
            "key = value lines with the option names above, '_' or '-'");
}

static char *s_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int config_parse_text(const char *text, sched_opts_t *opts, char *err,
                      size_t errlen)
{
    char *copy = dr_strdup(text);
    int rc = 0, lineno = 0;
    char *p = copy;
    while (p && rc == 0) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        char *line = s_trim(p);
        p = nl ? nl + 1 : NULL;
        lineno++;
        if (!*line || *line == '#')
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            snprintf(err, errlen, "line %d: expected key = value", lineno);
            rc = DR_EINVAL;
            break;
        }
        *eq = '\0';
        char *key = s_trim(line), *val = s_trim(eq + 1);
        const opt_def_t *o = s_find(key, 1);
        if (!o) {
            snprintf(err, errlen, "line %d: unknown option '%s'", lineno, key);
            rc = DR_EINVAL;
            break;
        }
        char why[256];
        if (s_set(o, val, opts, why, sizeof why) < 0) {
            snprintf(err, errlen, "line %d: %s", lineno, why);
            rc = DR_EINVAL;
        }
    }
    free(copy);
    return rc;
}

static int s_load_file(const char *path, sched_opts_t *opts, char *err,
                       size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "config %s: %s", path, strerror(errno));
        return DR_EINVAL;
    }
    dr_buf_t b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (1u << 20))
        dr_buf_append(&b, chunk, n);
    fclose(f);
    dr_buf_append(&b, "", 0);
    char why[300];
    int rc = config_parse_text(b.data, opts, why, sizeof why);
    if (rc < 0)
        snprintf(err, errlen, "config %s: %s", path, why);
    dr_buf_free(&b);
    return rc;
}

/* Derives what defaults depend on: where local agents connect, where the
 * agent binary is. */
static int s_finish(sched_opts_t *o, char *err, size_t errlen)
{
    if (!o->agent_connect[0]) {
        const char *ep = o->agent_endpoint;
        if (strncmp(ep, "tcp://0.0.0.0:", 14) == 0 ||
            strncmp(ep, "tcp://*:", 8) == 0) {
            const char *port = strrchr(ep, ':') + 1;
            snprintf(o->agent_connect, sizeof o->agent_connect,
                     "tcp://127.0.0.1:%s", port);
        } else {
            snprintf(o->agent_connect, sizeof o->agent_connect, "%s", ep);
        }
    }
    if (!o->agent_bin[0]) {
        char self[1024];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
            self[n] = '\0';
            char *slash = strrchr(self, '/');
            if (slash)
                *slash = '\0';
            snprintf(o->agent_bin, sizeof o->agent_bin, "%.1000s/drover-agent",
                     self);
        } else {
            snprintf(o->agent_bin, sizeof o->agent_bin, "drover-agent");
        }
    }
    if (o->heartbeat_timeout_ms <= o->heartbeat_interval_ms) {
        snprintf(err, errlen,
                 "heartbeat-timeout (%d ms) must exceed heartbeat-interval "
                 "(%d ms)",
                 o->heartbeat_timeout_ms, o->heartbeat_interval_ms);
        return DR_EINVAL;
    }
    return 0;
}

int config_parse_args(int argc, char **argv, sched_opts_t *opts, char *err,
                      size_t errlen)
{
    config_defaults(opts);
    /* the config file first, whatever its position, so flags win */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "--config needs a file");
                return DR_EINVAL;
            }
            snprintf(opts->config_file, sizeof opts->config_file, "%s",
                     argv[i + 1]);
            if (s_load_file(argv[i + 1], opts, err, errlen) < 0)
                return DR_EINVAL;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            config_usage(stdout);
            return 1;
        }
        if (strcmp(a, "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s'", a);
            return DR_EINVAL;
        }
        char name[64];
        const char *val = NULL;
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (len >= sizeof name) {
            snprintf(err, errlen, "unknown option '%s'", a);
            return DR_EINVAL;
        }
        memcpy(name, a + 2, len);
        name[len] = '\0';
        const opt_def_t *o = s_find(name, 0);
        if (!o) {
            snprintf(err, errlen, "unknown option '--%s' (see --help)", name);
            return DR_EINVAL;
        }
        if (eq) {
            val = eq + 1;
        } else if (o->type == OPT_FLAG) {
            val = "yes";
        } else {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "--%s needs a value", name);
                return DR_EINVAL;
            }
            val = argv[++i];
        }
        if (s_set(o, val, opts, err, errlen) < 0)
            return DR_EINVAL;
    }
    return s_finish(opts, err, errlen);
}
