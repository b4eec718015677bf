/* agent.h - the node agent: connection, registration, heartbeats, tasks.
 *
 * An agent_t owns the ZeroMQ context, one DEALER socket per node (one node
 * normally, N hollow nodes with --simulate N), and every node's task table.
 * It runs in the caller's thread: agent_step() is one pass of the loop
 * (one zmq_poll over the sockets, the task pipes, dockerd's connections
 * and the signal fd, then dispatch, then the timers), so that tests can
 * drive it.  It never installs
 * signal handlers and never exits the process.
 */
#ifndef DR_AGENT_H
#define DR_AGENT_H

#include "agent_cfg.h"

typedef struct agent agent_t;

#define AGENT_VERSION "0.1.0"

/* Creates the sockets and starts connecting; NULL on failure (logged).
 * cfg is borrowed and must outlive the agent. */
agent_t *agent_new(const agent_cfg_t *cfg);

/* SIGKILLs any task still running, closes sockets, terminates the context.
 * Accepts NULL; nulls *self_p. */
void agent_destroy(agent_t **self_p);

/* The read end of main()'s self-pipe (non-blocking): a 'T' byte asks for a
 * shutdown, anything else (SIGCHLD) only wakes the loop. */
void agent_set_signal_fd(agent_t *self, int fd);

/* One loop pass, waiting at most max_wait_ms.  Returns 1 once every node
 * has finished shutting down, 0 to go on, negative DR_E* on a fatal error. */
int agent_step(agent_t *self, int max_wait_ms);

/* Loops agent_step() until it finishes.  0 or a negative DR_E* code. */
int agent_run(agent_t *self);

/* Starts the shutdown of every node: cancel all tasks, report them, wait up
 * to 5 s for the acks, then finish. */
void agent_shutdown(agent_t *self, const char *reason);

#endif
