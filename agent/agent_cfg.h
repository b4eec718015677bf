/* agent_cfg.h - drover-agent's command-line flags.
 *
 * Rows of the common option table (common/opts.h) fill an agent_cfg_t;
 * every value is validated here so the rest of the agent can trust it.
 * Durations take the one convention (--heartbeat-interval 5s); the older
 * millisecond flags (--heartbeat-ms, --grace-ms,
 * --scheduled-events-interval-ms) remain as aliases.  The struct owns its
 * strings; agent_cfg_free() releases them.
 */
#ifndef DR_AGENT_CFG_H
#define DR_AGENT_CFG_H

#include "keys.h"
#include "log.h"

#include <stddef.h>
#include <stdint.h>

/* What a join leaves in the work dir: the node's own key pair (0600; the
 * secret never leaves the node) and what the scheduler said the node is
 * ("key = value" lines: name, cluster, vm-size, cpus, memory-mb). */
#define AGENT_KEY_FILE "node.key"
#define AGENT_JOINED_FILE "node.conf"

typedef struct {
    char *scheduler; /* ZeroMQ endpoint */
    char *name;      /* node name (prefix of NAME-i when simulating) */
    char *cluster;
    char *vm_size;
    char *work_dir; /* default /tmp/drover-agent-NAME */
    int64_t cpus;
    int64_t memory_mb;
    int64_t heartbeat_ms;
    int64_t grace_ms;
    int64_t simulate;     /* 0 = real node */
    char *docker_socket;  /* Docker Engine API socket */
    char *docker_network; /* job containers' NetworkMode: host|container:X */
    char *host_work_dir;  /* work_dir as dockerd sees it, or NULL */
    log_level_t log_level;
    int help;
    char *gpu_inventory; /* JSON inventory file instead of NVML, or NULL */
    int print_gpus;      /* --print-gpus: print the GPU list as JSON, exit */
    char *scheduled_events_url; /* metadata scheduled events, or NULL */
    int64_t scheduled_events_interval_ms;
    char *key_file;         /* --key: this node's CURVE key pair (or the one
                             * a join made: WORK_DIR/AGENT_KEY_FILE) */
    char *join_token;       /* --join-token: join first (NULL once joined) */
    char *config_file;      /* --config: read before the flags */
    char *scheduler_key;    /* --scheduler-key: FILE or Z85 */
    int insecure;           /* --insecure: plain ZeroMQ, said loudly */
    dr_keypair_t keys;      /* loaded from key_file */
    dr_keypair_t *sim_keys; /* --simulate with --join-token: one pair per
                             * node, by index (sim_join); owned */
    char server_z85[DR_Z85_KEY_LEN + 1];
    /* drover.installation of this agent's containers: a fingerprint of
     * server_z85 (of the endpoint with --insecure) */
    char installation[DR_FINGERPRINT_LEN + 1];
    char *launcher;       /* drover-launch; default: next to this program */
    char *mpi_iface;      /* --mpi-iface: OpenMPI's TCP interface, or NULL */
    char *advertise_addr; /* what other nodes reach it at, or NULL */
} agent_cfg_t;

/* Parses argv (argv[0] is skipped).  0, or DR_EINVAL with a one-line
 * message in err.  On error cfg is freed already.  --help sets cfg->help.
 * --print-gpus needs none of the required flags.  --gpu-inventory FILE is
 * read and validated here (a bad file is a flag error). */
int agent_cfg_parse(agent_cfg_t *cfg, int argc, char **argv, char *err,
                    size_t errlen);

void agent_cfg_free(agent_cfg_t *cfg);

/* The usage text, for --help and errors. */
const char *agent_cfg_usage(void);

#endif
