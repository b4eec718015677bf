/* config.c - see config.h.
 *
 * The scheduler's rows of the common option table (common/opts.h) and what
 * the defaults derive from each other.  Never prints except config_usage
 * and never exits: main() decides what an error means.
 */
#include "config.h"
#include "dr_err.h"
#include "http_api.h"
#include "log.h"
#include "opts.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STR(f) OPT_STR, 0, OPT_AT(sched_opts_t, f)
#define DUR(f) OPT_DURATION, 0, OPT_AT(sched_opts_t, f)

static const opt_def_t s_rows[] = {
    {"config", 0, STR(config_file), NULL, 0, 0, NULL, "FILE",
     "key = value lines with the option names here, '_' or '-'"},
    {"state-dir", 0, STR(state_dir), "/var/lib/drover", 0, 0, NULL, "DIR",
     "where the database, job logs and node dirs live"},
    {"client-endpoint", 0, STR(client_endpoint), "tcp://127.0.0.1:7701", 0, 0,
     NULL, "ENDPOINT", "ZeroMQ endpoint for clients (the CLI)"},
    {"local-socket", 0, STR(local_socket), "", 0, 0, NULL, "PATH",
     "unix socket for clients on this host, who are known by their uid "
     "and need no key (default: <state-dir>/drover.sock; 'none' = off)"},
    {"agent-endpoint", 0, STR(agent_endpoint), "tcp://0.0.0.0:7700", 0, 0, NULL,
     "ENDPOINT", "ZeroMQ endpoint for agents"},
    {"agent-connect", 0, STR(agent_connect), "", 0, 0, NULL, "ENDPOINT",
     "endpoint local agents connect to (default: from agent-endpoint)"},
    {"agent-bin", 0, STR(agent_bin), "", 0, 0, NULL, "PATH",
     "drover-agent executable for the local provider (default: beside "
     "this binary)"},
    {"vm-catalog", 0, STR(vm_catalog), "", 0, 0, NULL, "CSV",
     "vm-size catalog CSV (default: the embedded one)"},
    {"scheduled-events-url", 0, STR(scheduled_events_url), "", 0, 0, NULL,
     "URL",
     "metadata scheduled-events URL the local provider gives low-priority "
     "nodes (e.g. http://169.254.169.254/metadata/scheduledevents"
     "?api-version=2020-07-01)"},
    {"heartbeat-interval", 0, DUR(heartbeat_interval_ms), "5s", 100, 600000,
     NULL, NULL, "how often agents heartbeat"},
    {"heartbeat-timeout", 0, DUR(heartbeat_timeout_ms), "30s", 500, 3600000,
     NULL, NULL, "silence after which a node is lost"},
    {"autoscale-interval", 0, DUR(autoscale_interval_ms), "1s", 50, 600000,
     NULL, NULL, "autoscaler tick"},
    {"identity-token-ttl", 0, DUR(identity_ttl_ms), "10m", 1000, 86400000, NULL,
     NULL, "lifetime of managed-identity tokens"},
    {"start-timeout", 0, DUR(start_timeout_ms), "60s", 1000, 3600000, NULL,
     NULL, "how long a node may take to start a task"},
    {"event-retention", 0, OPT_DURATION, OPT_SECONDS,
     OPT_AT(sched_opts_t, event_retention_s), "7d", 60, 366 * 86400, NULL, NULL,
     "how long cluster events are kept (older ones are pruned)"},
    {"job-log-limit", 0, OPT_SIZE, 0, OPT_AT(sched_opts_t, job_log_limit_mb),
     "256M", 1, 1 << 30, NULL, NULL,
     "a job's output log is cut at this size (a line says so)"},
    {"log-total-limit", 0, OPT_SIZE, 0,
     OPT_AT(sched_opts_t, log_total_limit_mb), "10G", 1, 1 << 30, NULL, NULL,
     "all job logs together: past it the oldest finished jobs' logs are "
     "removed"},
    {"max-code-size", 0, OPT_SIZE, 0, OPT_AT(sched_opts_t, max_code_mb), "4M",
     1, 7, NULL, NULL,
     "the code a job is sent with (its folder and local inputs, a gzip "
     "tar) is at most this size"},
    {"max-output-size", 0, OPT_SIZE, 0, OPT_AT(sched_opts_t, max_output_mb),
     "4M", 1, 7, NULL, NULL,
     "the outputs a node collects for a job (its outputs/ folder, a gzip "
     "tar) are kept up to this size"},
    {"docker-socket", 0, STR(docker_socket), "/var/run/docker.sock", 0, 0, NULL,
     "PATH", "dockerd's socket, for the docker provider"},
    {"docker-node-image", 0, STR(docker_node_image), "drover-node:latest", 0, 0,
     NULL, "IMAGE",
     "the image of the docker provider's nodes (drover-agent installed; see "
     "deploy/image/)"},
    {"docker-network", 0, STR(docker_network), "drover", 0, 0, NULL, "NAME",
     "the user-defined Docker network of the docker provider's nodes (made "
     "when missing)"},
    {"min-free-disk", 0, OPT_SIZE, 0, OPT_AT(sched_opts_t, min_free_disk_mb),
     "64M", 1, 1 << 30, NULL, NULL,
     "with less free space in the state dir, writes are refused (disk full) "
     "until space returns"},
    {"http-listen", 0, STR(http_listen), "", 0, 0, NULL, "ADDR:PORT",
     "serve /metrics and the JSON API (/api/v1/) over HTTP here; off "
     "unless set"},
    {"store", 0, STR(store), "", 0, 0, NULL, "URI",
     "where the state lives: empty for SQLite in the state dir, or a libpq "
     "URI (postgresql://...) for several schedulers on one database"},
    {"leader-lease", 0, DUR(leader_lease_ms), "5s", 1000, 600000, NULL, NULL,
     "with --store postgresql://: a standby takes over from a leader that "
     "has not renewed its lease for this long"},
    {"resume-timeout", 0, DUR(resume_timeout_ms), "10m", 1000, 86400000, NULL,
     NULL, "how long a new node may take to register"},
    {"log-level", 0, OPT_LEVEL, 0, OPT_AT(sched_opts_t, log_level), "info", 0,
     0, NULL, NULL, "debug, info, warn or error"},
    {"insecure", 0, OPT_FLAG, 0, OPT_AT(sched_opts_t, insecure), "no", 0, 0,
     NULL, NULL, "turn CURVE off (loopback debugging only)"},
};

static const opts_table_t s_table = {s_rows, sizeof s_rows / sizeof s_rows[0],
                                     OPTS_HELP};

void config_defaults(sched_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    char err[256];
    if (opts_defaults(&s_table, opts, err, sizeof err) < 0)
        log_fatal("bad default: %s", err);
    opts->config_file[0] = '\0';
    opts->grace_ms = 10000;
}

void config_usage(FILE *out)
{
    dr_buf_t b = {0};
    dr_buf_printf(&b, "usage: drover-scheduler [--config FILE] [OPTIONS]\n\n");
    opts_usage(&s_table, &b);
    fputs(b.data, out);
    dr_buf_free(&b);
}

int config_parse_text(const char *text, sched_opts_t *opts, char *err,
                      size_t errlen)
{
    return opts_parse_text(&s_table, text, opts, err, errlen);
}

/* A relative --state-dir made absolute, once, here: the scheduler hands
 * it to agents, programs and files opened after a chdir, and a path that
 * means another directory from there would split the state in two.  Its
 * parent must exist (the directory itself is made on the first start). */
static int s_absolute_state_dir(sched_opts_t *o, char *err, size_t errlen)
{
    if (o->state_dir[0] == '/')
        return 0;
    if (!o->state_dir[0]) {
        snprintf(err, errlen, "state-dir is empty");
        return DR_EINVAL;
    }
    char path[sizeof o->state_dir], parent_real[PATH_MAX], abs[PATH_MAX];
    snprintf(path, sizeof path, "%s", o->state_dir);
    if (realpath(path, abs)) /* it exists: its real path */
        goto done;
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        path[--n] = '\0';
    char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *parent = ".";
    if (slash) {
        *slash = '\0';
        parent = path;
    }
    if (!realpath(parent, parent_real)) {
        snprintf(err, errlen,
                 "state-dir '%s': cannot resolve its parent directory '%s': "
                 "%s (give an absolute path, or create the parent)",
                 o->state_dir, parent, strerror(errno));
        return DR_EINVAL;
    }
    if (snprintf(abs, sizeof abs, "%s/%s", parent_real, base) >=
        (int)sizeof abs)
        goto too_long;
done:
    if (strlen(abs) >= sizeof o->state_dir)
        goto too_long;
    memcpy(o->state_dir, abs, strlen(abs) + 1);
    return 0;
too_long:
    snprintf(err, errlen, "state-dir '%s': its absolute path is too long",
             o->state_dir);
    return DR_EINVAL;
}

/* Derives what defaults depend on: where local agents connect, where the
 * agent binary is; makes the state dir absolute. */
static int s_finish(sched_opts_t *o, char *err, size_t errlen)
{
    int rc = s_absolute_state_dir(o, err, errlen);
    if (rc < 0)
        return rc;
    if (strcmp(o->local_socket, "none") == 0) {
        o->local_socket[0] = '\0';
    } else if (!o->local_socket[0]) {
        /* a state dir too deep for a socket path goes without one */
        size_t n = strlen(o->state_dir);
        if (n + sizeof "/drover.sock" <= sizeof o->local_socket) {
            memcpy(o->local_socket, o->state_dir, n);
            memcpy(o->local_socket + n, "/drover.sock", sizeof "/drover.sock");
        }
    } else if (o->local_socket[0] != '/') {
        snprintf(err, errlen,
                 "local-socket '%s': give an absolute path (or 'none')",
                 o->local_socket);
        return DR_EINVAL;
    }
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
        char *bin = opts_beside_self("drover-agent");
        snprintf(o->agent_bin, sizeof o->agent_bin, "%s",
                 bin && strlen(bin) < sizeof o->agent_bin ? bin
                                                          : "drover-agent");
        free(bin);
    }
    if (o->http_listen[0] && http_listen_parse(o->http_listen, NULL) < 0) {
        snprintf(err, errlen,
                 "http-listen '%s': expected ADDR:PORT (an IPv4 address or "
                 "[IPv6], and a port 1-65535)",
                 o->http_listen);
        return DR_EINVAL;
    }
    if (!store_uri_valid(o->store)) {
        snprintf(err, errlen,
                 "store: not a libpq URI (postgresql://... or "
                 "postgres://...); leave it empty for SQLite in the state "
                 "dir");
        return DR_EINVAL;
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

/* The file --config names, wherever it stands, so that flags override it. */
static int s_config_file(int argc, char **argv, sched_opts_t *opts, char *err,
                         size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *path = NULL;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option '--config' needs a value");
                return DR_EINVAL;
            }
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        }
        if (path && opts_load_file(&s_table, path, opts, err, errlen) < 0)
            return DR_EINVAL;
    }
    return 0;
}

int config_parse_args(int argc, char **argv, sched_opts_t *opts, char *err,
                      size_t errlen)
{
    config_defaults(opts);
    int rc = s_config_file(argc, argv, opts, err, errlen);
    if (rc < 0)
        return rc;
    opts_args_t a;
    rc = opts_parse_args(&s_table, argc - 1, argv + 1, opts, &a, err, errlen);
    opts_args_free(&a);
    if (rc == 1) {
        config_usage(stdout);
        return 1;
    }
    if (rc < 0) {
        if (strncmp(err, "unknown option", 14) == 0 &&
            strlen(err) + 16 < errlen)
            strcat(err, " (see --help)");
        return rc;
    }
    return s_finish(opts, err, errlen);
}
