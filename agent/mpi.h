/* mpi.h - multi-node MPI jobs without SSH, the agent's side.
 *
 * The head node's task runs mpirun with a hostfile of the job's nodes and
 * OpenMPI's plm_rsh_agent set to drover-launch.  mpirun runs
 * `drover-launch NODE orted ...` for every other node; drover-launch
 * connects to the head's agent on an abstract unix socket named in its
 * environment, authenticates with the task's token and hands over the
 * command.  The agent relays it through the scheduler to NODE's agent,
 * which starts it inside the job's task there, and relays back what it
 * prints and how it ends.  No sshd and no SSH key anywhere.
 *
 * This file holds the pieces that know nothing of ZeroMQ: the hostfile,
 * mpirun's command line and environment, the rewriting of OpenMPI's
 * output tags into node names (mpi_tag.c), and the launch server (one per
 * head task).
 *
 * The launcher protocol (agent/launcher/drover-launch.c speaks it too):
 *   request: "DRL1 TOKEN HOST LEN\n" then LEN bytes of command;
 *   replies: frames of one type byte, a 4-byte big-endian length and that
 *   many bytes: 'o' stdout, 'e' stderr, 'x' exit (4-byte big-endian status,
 *   then an optional message).
 */
#ifndef DR_MPI_H
#define DR_MPI_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

#define MPI_LAUNCH_MAGIC "DRL1"
#define MPI_LAUNCH_MAX_COMMAND (64u << 10)
#define MPI_MAX_HOSTS 32

enum { MPI_FRAME_STDOUT = 'o', MPI_FRAME_STDERR = 'e', MPI_FRAME_EXIT = 'x' };

/* Writes the hostfile: the head as `head_alias` (the name mpirun knows as
 * itself, so its ranks start locally), the others by node name, each with
 * `slots` slots.  0 or DR_EIO. */
int mpi_hostfile_write(const char *path, char *const *hosts, size_t nhosts,
                       const char *head_alias, uint32_t slots);

/* mpirun's argv for the job's own argv (NULL-terminated, owned: free with
 * mpi_argv_free): -np nodes*slots, ppr:slots:node, the job's program. */
char **mpi_head_argv(const char *hostfile, uint32_t nodes, uint32_t slots,
                     char *const *argv, size_t argc);
void mpi_argv_free(char **argv);

/* The MCA settings drover sets for a job (before the job's env, which may
 * override them), "K=V" strings appended to out (at most MPI_ENV_MAX).
 * `iface` restricts OpenMPI's TCP traffic to one interface ("" = any).
 * `shared_host`: the job's nodes are one machine (the local provider's
 * agents): no shared memory between their tasks, and ranks yield when
 * idle instead of busy-polling each other's cores. */
#define MPI_ENV_MAX 13
size_t mpi_env_defaults(const char *launcher, const char *iface,
                        int shared_host, char **out);

/* ---- output tags -------------------------------------------------------- */

/* Rewrites "[1,3]<stdout>:text" (orte_tag_output) into "[node rank 3]
 * text", with rank r on hosts[r / slots] as the ppr mapping puts it.
 * Tags are found wherever they appear (mpirun tags every piece a rank
 * writes, partial lines too) and stripped; each rank's text is kept until
 * its line is complete, so interleaved partial lines of several ranks come
 * out whole and apart.  Untagged text (mpirun's own) passes as it is. */
typedef struct mpi_tagger mpi_tagger_t;
mpi_tagger_t *mpi_tagger_new(char *const *hosts, size_t nhosts, uint32_t slots);
/* A tagger that puts "[node] " before every line (a plain multi-node
 * job's output, which carries no rank tags). */
mpi_tagger_t *mpi_tagger_new_node(const char *node);
/* The tagger of one node's spawned processes (drover-launch --spawn tags
 * their lines as mpirun does): "[node rank R] " for a tagged line,
 * "[node] " for the others. */
mpi_tagger_t *mpi_tagger_new_local(const char *node);
void mpi_tagger_destroy(mpi_tagger_t **self_p);
/* What mpirun said of the first rank that died ("MPI rank 3 with PID 12
 * on node b exited on signal 9 (Killed)"), or NULL: the root cause of an
 * MPI job's failure, which mpirun's own exit status hides. */
const char *mpi_tagger_culprit(const mpi_tagger_t *self);
/* Appends what can be passed on of data to out; eof flushes the rest. */
void mpi_tagger_feed(mpi_tagger_t *self, int stream, const char *data, size_t n,
                     int eof, dr_buf_t *out);

/* ---- the launch server -------------------------------------------------- */

typedef struct mpi_srv mpi_srv_t;

/* A complete, authenticated request: launch `command` on `host`. */
typedef void (*mpi_launch_fn)(void *arg, uint64_t launch_id, const char *host,
                              const char *command);

/* Listens on the abstract unix socket `name` (without the leading '@');
 * a request must carry `token` (msi_secret_new makes them).  0 or DR_ESYS. */
int mpi_srv_new(const char *name, const char *token, mpi_srv_t **out);
/* Closes the listener and every connection (their launchers see EOF). */
void mpi_srv_destroy(mpi_srv_t **self_p);
size_t mpi_srv_nfds(const mpi_srv_t *self);
int mpi_srv_fd(const mpi_srv_t *self, size_t i, int *want_read,
               int *want_write);
/* Handles readiness of one of its fds; complete requests go to cb. */
void mpi_srv_on_fd(mpi_srv_t *self, int fd, int readable, int writable,
                   mpi_launch_fn cb, void *arg);
/* What the launched command printed, and its end (error: why it could not
 * run, or NULL).  Unknown ids are ignored. */
void mpi_srv_output(mpi_srv_t *self, uint64_t launch_id, int stream,
                    const void *data, size_t n);
void mpi_srv_exit(mpi_srv_t *self, uint64_t launch_id, int status,
                  const char *error);
/* Closes the connections that did not send a whole request within
 * MPI_REQUEST_TIMEOUT_MS; returns when it is next due (INT64_MAX: none). */
#define MPI_REQUEST_TIMEOUT_MS 10000
int64_t mpi_srv_tick(mpi_srv_t *self, int64_t now);
/* Connections open now (tests). */
size_t mpi_srv_nconns(const mpi_srv_t *self);

#endif
