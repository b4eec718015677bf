/* runtime_docker.h - the `docker` runtime: tasks as containers, through the
 * Docker Engine API on its unix socket.
 *
 * A runtime_docker_t is the agent's one client of one dockerd: its
 * requests (an http_async_t, which the caller's loop drives), and whether
 * the daemon answers (runtime_docker.c).  A runtime_docker_ctr_t is one
 * container's life, driven as a state machine by the answers that
 * arrive: image present? (else
 * pull), create, start, then wait and a followed logs stream side by side,
 * inspect (exit code, OOM kill) and remove (runtime_docker_ctr.c).  The
 * bodies and answers of the Engine API are runtime_docker_json.c.
 * Nothing here ever blocks the caller: every call only queues a request,
 * the caller's loop drives runtime_docker_http(), and the owner of a
 * container polls its phase.
 * Only runtime_docker_destroy() waits, a bounded time, for the removals
 * still in flight.  Nothing here knows ZeroMQ, jobs or the scheduler; no
 * callback calls back into the agent except the list callback.
 *
 * Every request has a connect timeout and a total timeout (none for the
 * followed wait and logs, which end when the container does or the daemon
 * goes away).  Whatever the daemon answers is validated: a truncated or
 * non-JSON answer fails the container with a reason, never a crash.
 */
#ifndef DR_RUNTIME_DOCKER_H
#define DR_RUNTIME_DOCKER_H

#include "http_async.h"
#include "task_runtime.h"

#include <stddef.h>
#include <stdint.h>

typedef struct runtime_docker runtime_docker_t;
typedef struct runtime_docker_ctr runtime_docker_ctr_t;

#define RUNTIME_DOCKER_API "/v1.41"
#define RUNTIME_DOCKER_SCRATCH "/scratch"
#define RUNTIME_DOCKER_PIDS_LIMIT 4096
#define RUNTIME_DOCKER_OOM_REASON "out of memory (OOM-killed)"

enum { RUNTIME_DOCKER_STDOUT = 0, RUNTIME_DOCKER_STDERR = 1 };

/* ---- the client ------------------------------------------------------------
 */

/* A client of the daemon at socket_path for the drover installation
 * named `installation` (agent_cfg_t.installation): every container it
 * creates carries the label drover.installation=INSTALLATION and has it in
 * its name, so that two installations that share a dockerd and a node name
 * never touch each other's containers.  Sends the first ping at once.
 * NULL only if libcurl cannot be set up (logged). */
runtime_docker_t *runtime_docker_new(const char *socket_path,
                                     const char *installation);

/* The installation given to runtime_docker_new(). */
const char *runtime_docker_installation(const runtime_docker_t *self);

/* Aborts the followed streams, waits (5 s at most) for the removals of
 * containers given up by runtime_docker_ctr_destroy(), frees everything.
 * Containers that still run are left to the next agent (adoption).
 * Accepts NULL; nulls *self_p. */
void runtime_docker_destroy(runtime_docker_t **self_p);

/* Sends a ping unless one is in flight (the agent does this every few
 * seconds, so that availability follows the daemon). */
void runtime_docker_ping(runtime_docker_t *self);

/* 1 once the first ping has been answered or failed. */
int runtime_docker_probed(const runtime_docker_t *self);

/* 1 while the last ping was answered "OK". */
int runtime_docker_available(const runtime_docker_t *self);

/* Why the daemon is not available ("" when it is). */
const char *runtime_docker_error(const runtime_docker_t *self);

/* Its requests, for the loop to drive (http_async_source): every
 * callback of this runtime runs from there. */
http_async_t *runtime_docker_http(runtime_docker_t *self);
/* The path of dockerd's unix socket. */
const char *runtime_docker_socket(const runtime_docker_t *self);

/* One container that drover manages on this node. */
typedef struct {
    char id[72];
    uint64_t job_id;
    uint32_t attempt;
    int running;
    /* its drover.installation label; "" when it has none (made by an
     * agent older than the label) or one that is not a fingerprint */
    char installation[24];
} runtime_docker_found_t;

/* rc is 0 or a negative DR_E* code (then why says it); v and n are only
 * valid during the call. */
typedef void(runtime_docker_list_fn)(void *arg, int rc,
                                     const runtime_docker_found_t *v, size_t n,
                                     const char *why);

/* Lists the containers labelled drover.managed=true and drover.node=node
 * (running or not), of every installation: the caller decides what to do
 * with those of others (found.installation), and calls fn once with them,
 * from inside
 * runtime_docker_on_fd/on_timer.  0 or DR_ESTATE while a list is in
 * flight. */
int runtime_docker_list(runtime_docker_t *self, const char *node,
                        runtime_docker_list_fn *fn, void *arg);

/* Force-removes a container by id, without waiting (a leftover). */
void runtime_docker_remove(runtime_docker_t *self, const char *id);

/* ---- one container
 * -----------------------------------------------------------
 */

/* A container's spec is a task's (task_runtime.h): argv is its Cmd, envp
 * its Env as given (host_env is not looked at here), task_dir the host
 * dir bind-mounted at /scratch; cpus and memory_mb 0 = no limit. */
typedef task_rt_spec_t runtime_docker_spec_t;

typedef enum {
    RUNTIME_DOCKER_PREPARING = 0, /* image, create, start */
    RUNTIME_DOCKER_RUNNING,       /* started; wait and logs followed */
    RUNTIME_DOCKER_ENDING,        /* exited or failed: drain, inspect, remove */
    RUNTIME_DOCKER_DONE,          /* result ready; nothing left in flight */
} runtime_docker_phase_t;

typedef struct {
    int started;      /* the container ran (else it could not start) */
    int exit_code;    /* valid if started and !lost */
    int oom_killed;   /* State.OOMKilled */
    int lost;         /* its end is unknown: daemon gone, or answers unusable */
    char reason[512]; /* why it failed to start / was lost; "" otherwise */
} runtime_docker_result_t;

/* Begins the life of a new container (async).  0 and *out, or DR_EINVAL
 * (bad spec), DR_EIO (task dir). */
int runtime_docker_ctr_start(runtime_docker_t *rd,
                             const runtime_docker_spec_t *spec,
                             runtime_docker_ctr_t **out);

/* Takes over a container found by runtime_docker_list(): follows its wait
 * and its logs again from the beginning (offsets restart at 0, so the
 * scheduler, which drops bytes below the offset it has, keeps the log
 * whole and without duplicates). */
int runtime_docker_ctr_adopt(runtime_docker_t *rd, const char *id,
                             runtime_docker_ctr_t **out);

/* Aborts what is in flight; a container not yet removed is handed to the
 * client, which force-removes it without blocking.  Accepts NULL. */
void runtime_docker_ctr_destroy(runtime_docker_ctr_t **self_p);

runtime_docker_phase_t runtime_docker_ctr_phase(const runtime_docker_ctr_t *c);

/* 1 once the container was started (it ran, or runs). */
int runtime_docker_ctr_started(const runtime_docker_ctr_t *c);

/* The container id ("" before create answered). */
const char *runtime_docker_ctr_id(const runtime_docker_ctr_t *c);

/* Takes up to cap bytes of demultiplexed output of one stream.  Returns the
 * byte count, 0 when none is buffered, DR_EINVAL for a bad stream. */
int runtime_docker_ctr_read(runtime_docker_ctr_t *c, int stream, char *buf,
                            size_t cap);

/* Sends sig to the container (POST /kill).  Before it runs: abandons the
 * start, removes what was created, and ends (DONE, started = 0). */
int runtime_docker_ctr_signal(runtime_docker_ctr_t *c, int sig);

/* Stops waiting for the rest of the logs (the drain deadline passed). */
void runtime_docker_ctr_close_output(runtime_docker_ctr_t *c);

/* DR_ESTATE until DONE. */
int runtime_docker_ctr_result(const runtime_docker_ctr_t *c,
                              runtime_docker_result_t *res);

/* ---- pure helpers, exported for the unit tests ------------------------------
 */

/* The multiplexed stream of a non-TTY container: frames of an 8-byte
 * header (stream type, 3 zero bytes, big-endian payload size) and the
 * payload, split anywhere by the transport. */
typedef struct {
    unsigned char hdr[8];
    size_t hlen;
    uint32_t left; /* payload bytes of the current frame still to come */
    int stream;
} runtime_docker_demux_t;

typedef void(runtime_docker_emit_fn)(void *arg, int stream, const char *data,
                                     size_t n);

/* Feeds bytes; calls emit for each piece of payload (stdout = type 0 or 1,
 * stderr = type 2 or 3).  0, or DR_EPROTO on a malformed header (then the
 * stream cannot be trusted any more). */
int runtime_docker_demux_feed(runtime_docker_demux_t *d, const char *data,
                              size_t n, runtime_docker_emit_fn *emit,
                              void *arg);

/* 1 when the stream stopped in the middle of a frame. */
int runtime_docker_demux_partial(const runtime_docker_demux_t *d);

/* The body of POST /containers/create (malloc'd JSON), labelled with the
 * installation, NULL on a bad spec. */
char *runtime_docker_create_body(const runtime_docker_spec_t *spec,
                                 const char *installation);

/* An image reference we accept: 1..255 of [A-Za-z0-9._:/@-], starting with
 * a letter or digit. */
int runtime_docker_valid_image(const char *image);

/* "name" -> has it a tag or digest? (else the pull asks for "latest") */
int runtime_docker_image_tagged(const char *image);

/* Parsers of the daemon's answers.  Each returns 0, or DR_EPROTO with a
 * one-line reason in why ("answer is not JSON: ...", "no Id in answer"). */
int runtime_docker_parse_id(const char *body, size_t n, char *id, size_t cap,
                            char *why, size_t whylen);
int runtime_docker_parse_wait(const char *body, size_t n, int *status,
                              char *why, size_t whylen);
typedef struct {
    int running;
    int exit_code;
    int oom_killed;
    char error[256]; /* State.Error */
} runtime_docker_state_t;
int runtime_docker_parse_inspect(const char *body, size_t n,
                                 runtime_docker_state_t *st, char *why,
                                 size_t whylen);
/* *out is malloc'd (free()); containers without valid drover labels are
 * skipped. */
int runtime_docker_parse_list(const char *body, size_t n,
                              runtime_docker_found_t **out, size_t *count,
                              char *why, size_t whylen);
/* The last {"error": ...} of a pull's progress stream: 1 and the message
 * when there is one, 0 when the pull succeeded. */
int runtime_docker_pull_error(const char *body, size_t n, char *why,
                              size_t whylen);
/* The "message" of an error answer, or a short quote of the body. */
void runtime_docker_error_message(const char *body, size_t n, char *out,
                                  size_t cap);

#endif
