/* agent_cfg.c - drover-agent's rows of the common option table (see
 * agent_cfg.h and common/opts.h) and the checks that span several flags.
 *
 * Durations follow the one convention (--heartbeat-interval 5s); the old
 * millisecond flags (--heartbeat-ms 5000, --grace-ms, ...) stay as aliases
 * that fill the same fields, so existing scripts keep working.  Owns the
 * strings it puts into agent_cfg_t.  Never exits the process and never
 * prints: main() decides what to do with an error.
 */
#include "agent_cfg.h"
#include "endpoints.h"
#include "dr_err.h"
#include "gpu_inventory.h"
#include "keys.h"
#include "opts.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AT(f) OPT_AT(agent_cfg_t, f)
#define STR(f) OPT_STR, OPT_NONEMPTY, OPT_PTR(agent_cfg_t, f)
#define NAME(f) OPT_NAME, OPT_REQUIRED, OPT_PTR(agent_cfg_t, f)
#define MAXLEN 0, 1024 /* min, max of a string row: its length */

static const opt_def_t s_rows[] = {
    {"config", 0, STR(config_file), NULL, MAXLEN, NULL, "FILE",
     "read \"key = value\" lines (keys: these flags without --) first"},
    {"name", 0, NAME(name), NULL, MAXLEN, NULL, "NODE",
     "node name (default: the host name; the prefix of NODE-i with "
     "--simulate)"},
    {"cluster", 0, NAME(cluster), NULL, MAXLEN, NULL, "CLUSTER",
     "the cluster this node belongs to"},
    {"vm-size", 0, NAME(vm_size), NULL, MAXLEN, NULL, "SIZE",
     "the node's vm size"},
    {"cpus", 0, OPT_INT, OPT_REQUIRED, AT(cpus), NULL, 1, 1000000, NULL, "N",
     "cpus the node offers"},
    {"memory-mb", 0, OPT_INT, OPT_REQUIRED, AT(memory_mb), NULL, 1,
     (int64_t)1 << 40, NULL, "MB", "memory the node offers"},
    {"scheduler", 0, STR(scheduler), "tcp://127.0.0.1:7700", MAXLEN, NULL,
     "ENDPOINT[,ENDPOINT...]",
     "the scheduler's agent endpoint; a list: the schedulers that share one "
     "database, followed to the leader"},
    {"work-dir", 0, STR(work_dir), NULL, MAXLEN, NULL, "DIR",
     "where tasks run (default /tmp/drover-agent-NODE)"},
    {"heartbeat-interval", 0, OPT_DURATION, 0, AT(heartbeat_ms), "5s", 50,
     3600000, NULL, NULL, "how often to heartbeat"},
    {"heartbeat-ms", 0, OPT_MS, OPT_ALIAS, AT(heartbeat_ms), NULL, 50, 3600000,
     NULL, NULL, "the same in milliseconds (older spelling)"},
    {"grace-period", 0, OPT_DURATION, 0, AT(grace_ms), "10s", 0, 3600000, NULL,
     NULL, "SIGTERM to SIGKILL when a task is stopped"},
    {"grace-ms", 0, OPT_MS, OPT_ALIAS, AT(grace_ms), NULL, 0, 3600000, NULL,
     NULL, "the same in milliseconds (older spelling)"},
    {"log-level", 0, OPT_LEVEL, 0, AT(log_level), "info", 0, 0, NULL, NULL,
     "debug, info, warn or error"},
    {"simulate", 0, OPT_INT, 0, AT(simulate), NULL, 1, 100000, NULL, "N",
     "run N hollow nodes NODE-0.. in this process"},
    {"docker-socket", 0, STR(docker_socket), "/var/run/docker.sock", MAXLEN,
     NULL, "PATH", "the Docker Engine API socket"},
    {"host-work-dir", 0, STR(host_work_dir), NULL, MAXLEN, NULL, "DIR",
     "where dockerd sees --work-dir, when the node is itself a container "
     "(the bind source of job containers' scratch dirs)"},
    {"docker-network", 0, STR(docker_network), "host", MAXLEN, NULL, "MODE",
     "the network of job containers: host, or container:NAME (the node is "
     "itself a container, as the docker provider makes it)"},
    {"gpu-inventory", 0, STR(gpu_inventory), NULL, MAXLEN, NULL, "FILE",
     "a JSON GPU inventory instead of NVML"},
    {"key", 0, STR(key_file), NULL, MAXLEN, NULL, "FILE",
     "this node's CURVE key pair"},
    {"join-token", 0, STR(join_token), NULL, MAXLEN, NULL, "TOKEN",
     "join with this token: make a key pair in the work dir, once"},
    {"scheduler-key", 0, STR(scheduler_key), NULL, MAXLEN, NULL, "FILE|Z85",
     "the scheduler's public key"},
    {"scheduled-events-url", 0, STR(scheduled_events_url), NULL, MAXLEN, NULL,
     "URL", "the metadata scheduled-events URL to poll"},
    {"scheduled-events-interval", 0, OPT_DURATION, 0,
     AT(scheduled_events_interval_ms), "1s", 100, 3600000, NULL, NULL,
     "how often to poll it"},
    {"scheduled-events-interval-ms", 0, OPT_MS, OPT_ALIAS,
     AT(scheduled_events_interval_ms), NULL, 100, 3600000, NULL, NULL,
     "the same in milliseconds (older spelling)"},
    {"launcher", 0, STR(launcher), NULL, MAXLEN, NULL, "PATH",
     "drover-launch (default: next to this program)"},
    {"advertise-addr", 0, STR(advertise_addr), NULL, MAXLEN, NULL, "IP",
     "the address other nodes reach this one at (default: the local "
     "address of its route to the scheduler)"},
    {"mpi-iface", 0, STR(mpi_iface), NULL, MAXLEN, NULL, "IFACE",
     "OpenMPI's TCP interface, e.g. eth0 or lo"},
    {"insecure", 0, OPT_FLAG, 0, AT(insecure), NULL, 0, 0, NULL, NULL,
     "plain ZeroMQ, no CURVE (loopback debugging only)"},
    {"print-gpus", 0, OPT_FLAG, 0, AT(print_gpus), NULL, 0, 0, NULL, NULL,
     "print the GPU list as JSON and exit"},
};

static const opts_table_t s_table = {s_rows, sizeof s_rows / sizeof s_rows[0],
                                     OPTS_HELP | OPTS_ONCE};

const char *agent_cfg_usage(void)
{
    static char text[8192];
    if (!text[0]) {
        dr_buf_t b = {0};
        dr_buf_printf(&b, "usage: drover-agent --name NODE --cluster CLUSTER "
                          "--vm-size SIZE --cpus N --memory-mb M [OPTIONS]\n"
                          "       drover-agent --print-gpus [--gpu-inventory "
                          "FILE]\n\n");
        opts_usage(&s_table, &b);
        snprintf(text, sizeof text, "%s", b.data);
        dr_buf_free(&b);
    }
    return text;
}

void agent_cfg_free(agent_cfg_t *cfg)
{
    if (cfg->sim_keys) {
        explicit_bzero(cfg->sim_keys,
                       (size_t)cfg->simulate * sizeof *cfg->sim_keys);
        free(cfg->sim_keys);
        cfg->sim_keys = NULL;
    }
    opts_free(&s_table, cfg);
    memset(&cfg->keys, 0, sizeof cfg->keys);
}

static int s_fail(agent_cfg_t *cfg, char *err, size_t errlen, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

static int s_fail(agent_cfg_t *cfg, char *err, size_t errlen, const char *fmt,
                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    agent_cfg_free(cfg);
    return DR_EINVAL;
}

/* "ID.SECRET" as `drover cluster join-token create` prints it. */
static int s_token_shaped(const char *t)
{
    if (strlen(t) != 39 || t[6] != '.')
        return 0;
    for (size_t i = 0; i < 39; i++)
        if (i != 6 &&
            !((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9')))
            return 0;
    return 1;
}

/* --join-token: the scheduler's key, and none of --key, --insecure,
 * --simulate.  A node that joined before has its key in its work dir and
 * needs no token again. */
static int s_join(agent_cfg_t *cfg, char *err, size_t errlen)
{
    if (cfg->join_token && cfg->key_file)
        return s_fail(cfg, err, errlen,
                      "--join-token and --key exclude each other (a node "
                      "that joins makes its own key)");
    if (cfg->join_token && cfg->insecure)
        return s_fail(cfg, err, errlen,
                      "--join-token and --insecure exclude each other");
    if (cfg->join_token && !cfg->scheduler_key)
        return s_fail(cfg, err, errlen,
                      "--join-token needs --scheduler-key (FILE or Z85)");
    if (cfg->join_token && !s_token_shaped(cfg->join_token))
        return s_fail(cfg, err, errlen,
                      "--join-token: malformed join token: expected ID.SECRET "
                      "(6 and 32 characters of a-z, 0-9)");
    if (cfg->key_file || cfg->insecure || !cfg->work_dir || cfg->simulate)
        return 0; /* a simulator's nodes keep their keys apart (sim_join) */
    char *key = dr_asprintf("%s/%s", cfg->work_dir, AGENT_KEY_FILE);
    char *state = dr_asprintf("%s/%s", cfg->work_dir, AGENT_JOINED_FILE);
    if (access(state, F_OK) == 0 && access(key, F_OK) == 0) {
        /* joined before: its own key, whatever became of the token */
        cfg->key_file = key;
        key = NULL;
        free(cfg->join_token);
        cfg->join_token = NULL;
    }
    free(key);
    free(state);
    return 0;
}

/* What a join wrote in the work dir (AGENT_JOINED_FILE) fills what the
 * flags and the config file left out. */
static int s_joined_state(agent_cfg_t *cfg, char *err, size_t errlen)
{
    if (!cfg->work_dir)
        return 0;
    char *state = dr_asprintf("%s/%s", cfg->work_dir, AGENT_JOINED_FILE);
    int rc = 0;
    if (access(state, F_OK) == 0) {
        agent_cfg_t st;
        memset(&st, 0, sizeof st);
        char why[512];
        rc = opts_load_file(&s_table, state, &st, why, sizeof why);
        if (rc == 0) {
            if (!cfg->cluster && st.cluster) {
                cfg->cluster = st.cluster;
                st.cluster = NULL;
            }
            if (!cfg->vm_size && st.vm_size) {
                cfg->vm_size = st.vm_size;
                st.vm_size = NULL;
            }
            if (!cfg->cpus)
                cfg->cpus = st.cpus;
            if (!cfg->memory_mb)
                cfg->memory_mb = st.memory_mb;
        }
        opts_free(&s_table, &st);
        if (rc < 0) {
            free(state);
            return s_fail(cfg, err, errlen, "%s", why);
        }
    }
    free(state);
    return rc;
}

/* The rows a node needs, from the flags, the config file or its join;
 * a node that is about to join learns what it lacks from the answer. */
static int s_required(agent_cfg_t *cfg, char *err, size_t errlen)
{
    if (cfg->print_gpus || cfg->join_token)
        return 0;
    const char *missing = !cfg->cluster     ? "cluster"
                          : !cfg->vm_size   ? "vm-size"
                          : !cfg->cpus      ? "cpus"
                          : !cfg->memory_mb ? "memory-mb"
                                            : NULL;
    if (missing)
        return s_fail(cfg, err, errlen, "missing required option --%s",
                      missing);
    return 0;
}

/* --name's default: the host name, when it is a valid node name. */
static int s_default_name(agent_cfg_t *cfg, char *err, size_t errlen)
{
    if (cfg->name || cfg->print_gpus)
        return 0;
    char host[256];
    if (gethostname(host, sizeof host) < 0)
        return s_fail(cfg, err, errlen,
                      "missing --name, and the host name cannot be read");
    host[sizeof host - 1] = '\0';
    host[strcspn(host, ".")] = '\0'; /* the short name */
    if (!dr_valid_name(host))
        return s_fail(cfg, err, errlen,
                      "missing --name, and the host name '%s' is not a valid "
                      "node name",
                      host);
    cfg->name = dr_strdup(host);
    return 0;
}

/* The file --config names, wherever it stands, so that flags override it. */
static int s_config_file(agent_cfg_t *cfg, int argc, char **argv, char *err,
                         size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *path = NULL;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc)
                return s_fail(cfg, err, errlen,
                              "option '--config' needs a value");
            path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            path = argv[i] + 9;
        }
        if (path && opts_load_file(&s_table, path, cfg, err, errlen) < 0) {
            agent_cfg_free(cfg);
            return DR_EINVAL;
        }
    }
    return 0;
}

/* --key and --scheduler-key: both or neither, and not with --insecure. */
static int s_keys(agent_cfg_t *cfg, char *err, size_t errlen)
{
    char why[600];
    if (cfg->join_token)
        return keys_public_arg(cfg->scheduler_key, cfg->server_z85, why,
                               sizeof why) < 0
                   ? s_fail(cfg, err, errlen, "--scheduler-key: %s", why)
                   : 0;
    if (!cfg->key_file)
        return cfg->scheduler_key
                   ? s_fail(cfg, err, errlen, "--scheduler-key needs --key")
                   : 0;
    int rc = keys_load(cfg->key_file, &cfg->keys, why, sizeof why);
    if (rc == 0 && !cfg->keys.secret_z85[0])
        return s_fail(cfg, err, errlen, "--key %s holds no secret key",
                      cfg->key_file);
    if (rc < 0)
        return s_fail(cfg, err, errlen, "--key: %s", why);
    if (!cfg->scheduler_key)
        return s_fail(cfg, err, errlen,
                      "--key needs --scheduler-key (FILE or Z85)");
    if (keys_public_arg(cfg->scheduler_key, cfg->server_z85, why, sizeof why) <
        0)
        return s_fail(cfg, err, errlen, "--scheduler-key: %s", why);
    if (cfg->insecure)
        return s_fail(cfg, err, errlen,
                      "--insecure and --key exclude each other");
    return 0;
}

static int s_is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static int s_is_iface(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 15 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._-") == n;
}

/* The checks of one flag's value that its row cannot express. */
static int s_check_values(agent_cfg_t *cfg, char *err, size_t errlen)
{
    if (cfg->gpu_inventory) {
        gpu_list_t *l = dr_calloc(1, sizeof *l);
        char why[512];
        int rc = gpu_inventory_load(cfg->gpu_inventory, l, why, sizeof why);
        free(l);
        if (rc < 0)
            return s_fail(cfg, err, errlen, "--gpu-inventory: %s", why);
    }
    char bad[512];
    if (dr_ep_check(cfg->scheduler, bad, sizeof bad) < 0)
        return s_fail(cfg, err, errlen,
                      "--scheduler: '%s' is not a tcp:// or ipc:// endpoint "
                      "(give one, or a comma-separated list of the "
                      "schedulers that share one database)",
                      bad);
    if (cfg->work_dir && cfg->work_dir[0] != '/')
        return s_fail(cfg, err, errlen, "--work-dir '%s' is not absolute",
                      cfg->work_dir);
    if (cfg->advertise_addr && !dr_valid_ip(cfg->advertise_addr))
        return s_fail(cfg, err, errlen,
                      "--advertise-addr '%s' is not an IP address",
                      cfg->advertise_addr);
    if (!cfg->advertise_addr) {
        char addr[64];
        if (dr_route_addr(cfg->scheduler, addr, sizeof addr) == 0)
            cfg->advertise_addr = dr_strdup(addr);
    }
    if (cfg->host_work_dir && cfg->host_work_dir[0] != '/')
        return s_fail(cfg, err, errlen, "--host-work-dir '%s' is not absolute",
                      cfg->host_work_dir);
    if (strcmp(cfg->docker_network, "host") != 0 &&
        (strncmp(cfg->docker_network, "container:", 10) != 0 ||
         !dr_valid_name(cfg->docker_network + 10)))
        return s_fail(cfg, err, errlen,
                      "invalid --docker-network '%s' (host or container:NAME)",
                      cfg->docker_network);
    if (cfg->docker_socket[0] != '/')
        return s_fail(cfg, err, errlen, "--docker-socket '%s' is not absolute",
                      cfg->docker_socket);
    if (cfg->scheduled_events_url && !s_is_url(cfg->scheduled_events_url))
        return s_fail(cfg, err, errlen,
                      "--scheduled-events-url '%s' is not an http:// or "
                      "https:// URL",
                      cfg->scheduled_events_url);
    if (cfg->launcher && cfg->launcher[0] != '/')
        return s_fail(cfg, err, errlen, "--launcher '%s' is not absolute",
                      cfg->launcher);
    if (cfg->mpi_iface && !s_is_iface(cfg->mpi_iface))
        return s_fail(cfg, err, errlen,
                      "--mpi-iface '%s' is not an interface name",
                      cfg->mpi_iface);
    return 0;
}

/* The defaults that depend on other flags or on where this program is. */
static void s_derive(agent_cfg_t *cfg)
{
    if (!cfg->launcher) {
        cfg->launcher = opts_beside_self("drover-launch");
        if (!cfg->launcher)
            cfg->launcher = dr_strdup("/usr/local/bin/drover-launch");
    }
    if (!cfg->work_dir && cfg->name)
        cfg->work_dir = dr_asprintf("/tmp/drover-agent-%s", cfg->name);
    /* The installation this agent belongs to, for the labels of its
     * containers: the scheduler's public key names it.  With --insecure
     * there is no key, so the endpoint stands in ("insecure:" keeps the
     * two kinds apart); two insecure installations on one dockerd then
     * differ only if they use different endpoints. */
    if (cfg->server_z85[0]) {
        keys_fingerprint(cfg->server_z85, cfg->installation);
    } else if (cfg->scheduler) {
        char *ep = dr_asprintf("insecure:%s", cfg->scheduler);
        keys_fingerprint(ep, cfg->installation);
        free(ep);
    }
}

int agent_cfg_parse(agent_cfg_t *cfg, int argc, char **argv, char *err,
                    size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    if (opts_defaults(&s_table, cfg, err, errlen) < 0) {
        agent_cfg_free(cfg);
        return DR_EINVAL;
    }
    if (s_config_file(cfg, argc, argv, err, errlen) < 0)
        return DR_EINVAL;
    opts_args_t a;
    int rc =
        opts_parse_args(&s_table, argc - 1, argv + 1, cfg, &a, err, errlen);
    opts_args_free(&a);
    if (rc == 1) {
        cfg->help = 1;
        return 0;
    }
    if (rc < 0) {
        agent_cfg_free(cfg);
        return rc;
    }
    if ((rc = s_default_name(cfg, err, errlen)) < 0)
        return rc;
    if (!cfg->work_dir && cfg->name)
        cfg->work_dir = dr_asprintf("/tmp/drover-agent-%s", cfg->name);
    if ((rc = s_join(cfg, err, errlen)) < 0 ||
        (rc = s_joined_state(cfg, err, errlen)) < 0 ||
        (rc = s_required(cfg, err, errlen)) < 0 ||
        (rc = s_keys(cfg, err, errlen)) < 0 ||
        (rc = s_check_values(cfg, err, errlen)) < 0)
        return rc;
    if (cfg->simulate > 0 && cfg->name) {
        /* The longest generated name must still be valid. */
        char probe[96];
        snprintf(probe, sizeof probe, "%s-%lld", cfg->name,
                 (long long)(cfg->simulate - 1));
        if (!dr_valid_name(probe))
            return s_fail(cfg, err, errlen,
                          "--name '%s' too long for --simulate (%s)", cfg->name,
                          probe);
    }
    s_derive(cfg);
    return 0;
}
