/* join.h - a node joins the scheduler by itself with a join token.
 *
 * On a node's first start with --join-token, agent_join makes the node's
 * own CURVE key pair in its work dir (AGENT_KEY_FILE, 0600: the secret
 * never leaves the node), connects as a "joining" peer (a routing id of
 * DR_JOIN_RID_PREFIX, so that it never holds a node's routing id) and
 * sends Join with the token, the node name and the cluster.  The
 * scheduler's JoinAck makes that key the node's; the agent then writes
 * AGENT_JOINED_FILE, closes the joining socket, and registers on a new one
 * as a known key.  A restart finds both files and never needs the token
 * again.  Blocks (before the agent's loop exists) until the answer, a
 * refusal or a signal; owns nothing once it returns.
 */
#ifndef DR_JOIN_H
#define DR_JOIN_H

#include "agent_cfg.h"
#include "wire.h"

/* Joins; on success cfg->key_file and cfg->keys are the node's key, and
 * the cluster, vm size, cpus and memory the flags left out are filled.
 * 0; DR_EPERM when the scheduler refused (its reason logged); DR_EAGAIN
 * when a SIGTERM/SIGINT byte came on sig_fd; DR_EIO otherwise. */
int agent_join(agent_cfg_t *cfg, int sig_fd);

/* --simulate N with --join-token (sim_join.c): every hollow node its own
 * key pair, joined with the token (all at once, pipelined), kept in the
 * work dir for restarts; on success cfg->sim_keys holds them by node
 * index.  Returns as agent_join does. */
int sim_join(agent_cfg_t *cfg, int sig_fd);

/* What agent_join and sim_join share.  apply_ack: the scheduler's answer
 * to a Join: 0 admitted (the cluster, vm size, cpus and memory the flags
 * left out are filled; logged unless quiet), DR_EPERM refused (logged),
 * DR_EAGAIN not an answer, DR_EIO malformed.  write_state:
 * AGENT_JOINED_FILE, written whole through a temporary file. */
int join_apply_ack(agent_cfg_t *cfg, const dr_env_t *rep, int quiet);
int join_write_state(const agent_cfg_t *cfg);
/* A joining socket for node `name`: a routing id of DR_JOIN_RID_PREFIX
 * and the name, the token's join key jk, connected to the first
 * scheduler; with mon_ep, a monitor there that reports a refused
 * handshake (an unknown token).  NULL (logged) on failure. */
void *join_socket(void *ctx, const agent_cfg_t *cfg, const char *name,
                  const dr_keypair_t *jk, const char *mon_ep);

#endif
