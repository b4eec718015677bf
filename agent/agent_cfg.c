/* agent_cfg.c - flag table and validation for drover-agent (see agent_cfg.h).
 *
 * Owns the strings it puts into agent_cfg_t.  Never exits the process and
 * never prints: main() decides what to do with an error.
 */
#include "agent_cfg.h"
#include "dr_err.h"
#include "gpu_inventory.h"
#include "keys.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { S_STR, S_NAME, S_INT, S_LEVEL } s_kind_t;

typedef struct {
    const char *name;
    s_kind_t kind;
    int required;
    int64_t min, max;
    size_t off;
} s_flag_t;

#define S_OFF(f) offsetof(agent_cfg_t, f)

static const s_flag_t s_flags[] = {
    {"scheduler", S_STR, 0, 0, 0, S_OFF(scheduler)},
    {"name", S_NAME, 1, 0, 0, S_OFF(name)},
    {"cluster", S_NAME, 1, 0, 0, S_OFF(cluster)},
    {"vm-size", S_NAME, 1, 0, 0, S_OFF(vm_size)},
    {"cpus", S_INT, 1, 1, 1000000, S_OFF(cpus)},
    {"memory-mb", S_INT, 1, 1, (int64_t)1 << 40, S_OFF(memory_mb)},
    {"work-dir", S_STR, 0, 0, 0, S_OFF(work_dir)},
    {"heartbeat-ms", S_INT, 0, 50, 3600000, S_OFF(heartbeat_ms)},
    {"grace-ms", S_INT, 0, 0, 3600000, S_OFF(grace_ms)},
    {"log-level", S_LEVEL, 0, 0, 0, S_OFF(log_level)},
    {"simulate", S_INT, 0, 1, 100000, S_OFF(simulate)},
    {"docker-socket", S_STR, 0, 0, 0, S_OFF(docker_socket)},
    {"gpu-inventory", S_STR, 0, 0, 0, S_OFF(gpu_inventory)},
    {"key", S_STR, 0, 0, 0, S_OFF(key_file)},
    {"scheduler-key", S_STR, 0, 0, 0, S_OFF(scheduler_key)},
    {"scheduled-events-url", S_STR, 0, 0, 0, S_OFF(scheduled_events_url)},
    {"scheduled-events-interval-ms", S_INT, 0, 100, 3600000,
     S_OFF(scheduled_events_interval_ms)},
    {"launcher", S_STR, 0, 0, 0, S_OFF(launcher)},
    {"mpi-iface", S_STR, 0, 0, 0, S_OFF(mpi_iface)},
};
#define S_NFLAGS (sizeof s_flags / sizeof s_flags[0])

const char *agent_cfg_usage(void)
{
    return "usage: drover-agent --name NODE --cluster CLUSTER --vm-size SIZE "
           "--cpus N --memory-mb M\n"
           "       [--scheduler ENDPOINT] [--work-dir DIR] [--heartbeat-ms "
           "MS]\n"
           "       [--grace-ms MS] [--log-level debug|info|warn|error] "
           "[--simulate N]\n"
           "       [--docker-socket PATH (default /var/run/docker.sock)]\n"
           "       [--gpu-inventory FILE]\n"
           "       [--scheduled-events-url URL] "
           "[--scheduled-events-interval-ms MS (default 1000)]\n"
           "       [--launcher PATH (default: drover-launch next to this "
           "program)]\n"
           "       [--mpi-iface IFACE (OpenMPI's TCP interface, e.g. eth0 "
           "or lo)]\n"
           "       drover-agent --print-gpus [--gpu-inventory FILE]\n";
}

void agent_cfg_free(agent_cfg_t *cfg)
{
    dr_free(&cfg->scheduler);
    dr_free(&cfg->name);
    dr_free(&cfg->cluster);
    dr_free(&cfg->vm_size);
    dr_free(&cfg->launcher);
    dr_free(&cfg->mpi_iface);
    dr_free(&cfg->work_dir);
    dr_free(&cfg->docker_socket);
    dr_free(&cfg->gpu_inventory);
    dr_free(&cfg->key_file);
    dr_free(&cfg->scheduler_key);
    memset(&cfg->keys, 0, sizeof cfg->keys);
    dr_free(&cfg->scheduled_events_url);
}

static int s_fail(agent_cfg_t *cfg, char *err, size_t errlen, const char *fmt,
                  const char *a, const char *b)
{
    snprintf(err, errlen, fmt, a, b);
    agent_cfg_free(cfg);
    return DR_EINVAL;
}

int agent_cfg_parse(agent_cfg_t *cfg, int argc, char **argv, char *err,
                    size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->heartbeat_ms = 5000;
    cfg->grace_ms = 10000;
    cfg->log_level = LOG_LVL_INFO;
    cfg->scheduled_events_interval_ms = 1000;
    int seen[S_NFLAGS] = {0};

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cfg->help = 1;
            return 0;
        }
        if (strcmp(arg, "--insecure") == 0) {
            cfg->insecure = 1;
            continue;
        }
        if (strcmp(arg, "--print-gpus") == 0) {
            cfg->print_gpus = 1;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0)
            return s_fail(cfg, err, errlen, "unexpected argument '%s'%s", arg,
                          "");
        const char *key = arg + 2;
        const char *eq = strchr(key, '=');
        size_t klen = eq ? (size_t)(eq - key) : strlen(key);
        const s_flag_t *f = NULL;
        size_t fi = 0;
        for (fi = 0; fi < S_NFLAGS; fi++) {
            if (strlen(s_flags[fi].name) == klen &&
                strncmp(s_flags[fi].name, key, klen) == 0) {
                f = &s_flags[fi];
                break;
            }
        }
        if (!f)
            return s_fail(cfg, err, errlen, "unknown flag '%s'%s", arg, "");
        const char *val;
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return s_fail(cfg, err, errlen, "flag --%s needs a value%s",
                          f->name, "");
        if (seen[fi])
            return s_fail(cfg, err, errlen, "flag --%s given twice%s", f->name,
                          "");
        seen[fi] = 1;
        void *dst = (char *)cfg + f->off;
        switch (f->kind) {
        case S_NAME:
            if (!dr_valid_name(val))
                return s_fail(cfg, err, errlen,
                              "--%s: invalid name '%s' (1-63 of A-Za-z0-9_-)",
                              f->name, val);
            /* fallthrough */
        case S_STR:
            if (!*val || strlen(val) > 1024)
                return s_fail(cfg, err, errlen, "--%s: invalid value '%s'",
                              f->name, val);
            *(char **)dst = dr_strdup(val);
            break;
        case S_INT: {
            int64_t v;
            if (dr_parse_i64(val, f->min, f->max, &v) < 0) {
                char range[64];
                snprintf(range, sizeof range, "%lld..%lld", (long long)f->min,
                         (long long)f->max);
                snprintf(err, errlen, "--%s: '%s' is not a number in %s",
                         f->name, val, range);
                agent_cfg_free(cfg);
                return DR_EINVAL;
            }
            *(int64_t *)dst = v;
            break;
        }
        case S_LEVEL:
            if (log_level_parse(val, (log_level_t *)dst) < 0)
                return s_fail(cfg, err, errlen,
                              "--%s: '%s' is not debug|info|warn|error",
                              f->name, val);
            break;
        }
    }
    if (cfg->key_file) {
        char why[600];
        int rc = keys_load(cfg->key_file, &cfg->keys, why, sizeof why);
        if (rc == 0 && !cfg->keys.secret_z85[0])
            return s_fail(cfg, err, errlen, "--key %s holds no secret key%s",
                          cfg->key_file, "");
        if (rc < 0)
            return s_fail(cfg, err, errlen, "--key: %s%s", why, "");
        if (!cfg->scheduler_key)
            return s_fail(cfg, err, errlen,
                          "--key needs --scheduler-key (FILE or Z85)%s%s", "",
                          "");
        dr_keypair_t srv;
        if (keys_valid_z85(cfg->scheduler_key)) {
            snprintf(cfg->server_z85, sizeof cfg->server_z85, "%s",
                     cfg->scheduler_key);
        } else if ((rc = keys_load(cfg->scheduler_key, &srv, why,
                                   sizeof why)) == 0) {
            snprintf(cfg->server_z85, sizeof cfg->server_z85, "%s",
                     srv.public_z85);
        } else {
            return s_fail(cfg, err, errlen, "--scheduler-key: %s%s", why, "");
        }
        if (cfg->insecure)
            return s_fail(cfg, err, errlen,
                          "--insecure and --key exclude each other%s%s", "",
                          "");
    } else if (cfg->scheduler_key) {
        return s_fail(cfg, err, errlen, "--scheduler-key needs --key%s%s", "",
                      "");
    }
    if (cfg->gpu_inventory) {
        gpu_list_t *l = dr_calloc(1, sizeof *l);
        char why[512];
        int rc = gpu_inventory_load(cfg->gpu_inventory, l, why, sizeof why);
        free(l);
        if (rc < 0)
            return s_fail(cfg, err, errlen, "--gpu-inventory: %s%s", why, "");
    }
    for (size_t fi = 0; fi < S_NFLAGS && !cfg->print_gpus; fi++) {
        if (s_flags[fi].required && !seen[fi])
            return s_fail(cfg, err, errlen, "missing required flag --%s%s",
                          s_flags[fi].name, "");
    }
    if (cfg->scheduler && strncmp(cfg->scheduler, "tcp://", 6) != 0 &&
        strncmp(cfg->scheduler, "ipc://", 6) != 0)
        return s_fail(cfg, err, errlen,
                      "--scheduler '%s' is not a tcp:// or ipc:// endpoint%s",
                      cfg->scheduler, "");
    if (cfg->work_dir && cfg->work_dir[0] != '/')
        return s_fail(cfg, err, errlen, "--work-dir '%s' is not absolute%s",
                      cfg->work_dir, "");
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
    if (cfg->docker_socket && cfg->docker_socket[0] != '/')
        return s_fail(cfg, err, errlen,
                      "--docker-socket '%s' is not absolute%s",
                      cfg->docker_socket, "");
    if (cfg->scheduled_events_url &&
        strncmp(cfg->scheduled_events_url, "http://", 7) != 0 &&
        strncmp(cfg->scheduled_events_url, "https://", 8) != 0)
        return s_fail(cfg, err, errlen,
                      "--scheduled-events-url '%s' is not an http:// or "
                      "https:// URL%s",
                      cfg->scheduled_events_url, "");
    if (cfg->launcher && cfg->launcher[0] != '/')
        return s_fail(cfg, err, errlen, "--launcher '%s' is not absolute%s",
                      cfg->launcher, "");
    if (cfg->mpi_iface &&
        (!cfg->mpi_iface[0] || strlen(cfg->mpi_iface) > 15 ||
         strspn(cfg->mpi_iface, "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
             strlen(cfg->mpi_iface)))
        return s_fail(cfg, err, errlen,
                      "--mpi-iface '%s' is not an interface name%s",
                      cfg->mpi_iface, "");
    if (!cfg->launcher) {
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
            self[n] = '\0';
            char *slash = strrchr(self, '/');
            if (slash)
                *slash = '\0';
            cfg->launcher = dr_asprintf("%s/drover-launch", self);
        } else {
            cfg->launcher = dr_strdup("/usr/local/bin/drover-launch");
        }
    }
    if (!cfg->scheduler)
        cfg->scheduler = dr_strdup("tcp://127.0.0.1:7700");
    if (!cfg->docker_socket)
        cfg->docker_socket = dr_strdup("/var/run/docker.sock");
    if (!cfg->work_dir && cfg->name)
        cfg->work_dir = dr_asprintf("/tmp/drover-agent-%s", cfg->name);
    return 0;
}
