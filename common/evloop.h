/* evloop.h - the small reactor both daemons run on (after Redis's ae.c and
 * czmq's zloop).
 *
 * A dr_loop_t waits on ZeroMQ sockets and plain file descriptors with one
 * epoll set (a socket through its ZMQ_FD) and runs timers, so a pass costs
 * what is ready, not what is registered: one process runs thousands of
 * sockets (the agent's simulated nodes).  Three kinds of things register:
 *  - a ZeroMQ socket or an fd, with one handler (dr_loop_add_socket/_fd);
 *  - a source whose fds change from pass to pass (a curl-multi handle, a
 *    listening server with its connections): the loop asks it for its fds
 *    before every poll and calls it back per ready fd, and asks it when its
 *    own timer is due (dr_loop_add_source; the ops match what
 *    http_async, the MPI launch server and the token endpoint expose);
 *  - a timer (one-shot or repeating), by mono-clock milliseconds.
 *
 * Every registration has a priority: in one pass, ready items are handled
 * in priority order (lower first), then in registration order.  A daemon
 * uses it to say what must run before what (answers from dockerd before
 * the messages that may free the tasks they concern).
 *
 * Invariants: the loop never blocks longer than the next timer; a handler
 * may add or remove any registration, its own included, at any time: a
 * removed item is never called again, not even later in the same pass (its
 * memory is released at the end of the pass).  The loop owns nothing it is
 * given: sockets and fds stay the caller's.  One thread.
 */
#ifndef DR_EVLOOP_H
#define DR_EVLOOP_H

#include <stddef.h>
#include <stdint.h>

typedef struct dr_loop dr_loop_t;

/* A registration's handle (never 0). */
typedef uint64_t dr_loop_id_t;

/* A socket or fd is ready: revents holds ZMQ_POLLIN / ZMQ_POLLOUT /
 * ZMQ_POLLERR bits. */
typedef void(dr_loop_io_fn)(dr_loop_t *loop, void *arg, short revents);
/* A timer is due. */
typedef void(dr_loop_timer_fn)(dr_loop_t *loop, void *arg);

/* A source of changing fds.  Every member may be NULL. */
typedef struct {
    /* how many fds it has now */
    size_t (*nfds)(void *self);
    /* the i-th fd, and whether it wants reading / writing */
    int (*fd)(void *self, size_t i, int *want_read, int *want_write);
    /* one of its fds is ready */
    void (*on_fd)(void *self, int fd, int readable, int writable);
    /* mono ms of its next timeout, or INT64_MAX for none */
    int64_t (*timer)(void *self);
    /* called when the mono clock reached timer() */
    void (*on_timer)(void *self);
} dr_loop_source_t;

/* Priorities (lower first); any int works, these name the usual ones. */
enum {
    DR_LOOP_PRIO_FIRST = -100,
    DR_LOOP_PRIO_DEFAULT = 0,
    DR_LOOP_PRIO_LAST = 100,
};

/* NULL only if out of memory (which aborts): never in practice. */
dr_loop_t *dr_loop_new(void);
/* Accepts NULL; nulls *self_p.  Closes nothing it was given. */
void dr_loop_destroy(dr_loop_t **self_p);

/* Polls a ZeroMQ socket for input: its ZMQ_EVENTS are read every pass, as
 * zmq_poll does, so a send anywhere in the program (which may swallow the
 * socket's ZMQ_FD wake-up) never leaves input unseen.  For a few sockets. */
dr_loop_id_t dr_loop_add_socket(dr_loop_t *self, void *sock, int prio,
                                dr_loop_io_fn *fn, void *arg);
/* The same for one of many sockets: its ZMQ_EVENTS are read only when its
 * ZMQ_FD signals, in the pass after its handler ran, and after
 * dr_loop_touch: whoever sends on it outside its handler calls that. */
dr_loop_id_t dr_loop_add_socket_lazy(dr_loop_t *self, void *sock, int prio,
                                     dr_loop_io_fn *fn, void *arg);
/* A lazy socket was sent on: look at its input in the next pass. */
void dr_loop_touch(dr_loop_t *self, dr_loop_id_t id);
/* Polls an fd for events (ZMQ_POLLIN and/or ZMQ_POLLOUT). */
dr_loop_id_t dr_loop_add_fd(dr_loop_t *self, int fd, short events, int prio,
                            dr_loop_io_fn *fn, void *arg);
/* Changes the events an fd registration waits for. */
void dr_loop_set_events(dr_loop_t *self, dr_loop_id_t id, short events);
/* A source (ops borrowed, must outlive the registration). */
dr_loop_id_t dr_loop_add_source(dr_loop_t *self, const dr_loop_source_t *ops,
                                void *src, int prio);
/* A timer due after delay_ms, then every interval_ms (0: once; a one-shot
 * timer is removed once it ran). */
dr_loop_id_t dr_loop_add_timer(dr_loop_t *self, int64_t delay_ms,
                               int64_t interval_ms, dr_loop_timer_fn *fn,
                               void *arg);
/* Moves a timer's next run to the mono ms `due`. */
void dr_loop_timer_set(dr_loop_t *self, dr_loop_id_t id, int64_t due);
/* Removes any registration; 0 and unknown ids are ignored. */
void dr_loop_remove(dr_loop_t *self, dr_loop_id_t id);

/* One pass: wait for input at most max_wait_ms (-1: until the next timer
 * or forever), handle what is ready in priority order, then run what is
 * due (timers and sources' timers).  0, or DR_EIO when the wait failed
 * (EINTR is not a failure: the pass just ends early). */
int dr_loop_once(dr_loop_t *self, int max_wait_ms);

/* Mono ms of the earliest due timer or source timer, INT64_MAX if none. */
int64_t dr_loop_next_due(dr_loop_t *self);

#endif
