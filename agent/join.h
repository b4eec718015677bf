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

/* Joins; on success cfg->key_file and cfg->keys are the node's key, and
 * the cluster, vm size, cpus and memory the flags left out are filled.
 * 0; DR_EPERM when the scheduler refused (its reason logged); DR_EAGAIN
 * when a SIGTERM/SIGINT byte came on sig_fd; DR_EIO otherwise. */
int agent_join(agent_cfg_t *cfg, int sig_fd);

#endif
