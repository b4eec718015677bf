/* runtime_docker_int.h - what the docker runtime's two halves share: the
 * client (runtime_docker.c: its Engine API requests, pings, lists,
 * removals) and the containers (runtime_docker_ctr.c: each one's life).
 * Only those two files include it.  The containers call the client, never
 * the other way round: the client only clears a container's request
 * handles when it goes first.
 */
#ifndef DR_RUNTIME_DOCKER_INT_H
#define DR_RUNTIME_DOCKER_INT_H

#include "http_async.h"
#include "runtime_docker.h"
#include "util.h"

#define RD_CONNECT_MS 2000L
#define RD_SHORT_MS 30000L  /* inspect, start, kill, list, ping */
#define RD_LONG_MS 300000L  /* create and remove copy layers (vfs) */
#define RD_PULL_MS 1800000L /* 30 min */
#define RD_PING_MS 3000L
#define RD_MAX_BODY                                                            \
    (8u << 20) /* a plain answer larger than this is refused                   \
                */
#define RD_PULL_TAIL (256u << 10)

struct runtime_docker {
    http_async_t *http;
    char *socket;
    char *installation; /* drover.installation of our containers */
    int probed;
    int available;
    char error[256];
    http_req_t *ping;
    http_req_t *list;
    runtime_docker_list_fn *list_fn;
    void *list_arg;
    size_t detached;            /* kills and removals in flight */
    runtime_docker_ctr_t *ctrs; /* the containers alive */
};

typedef enum {
    C_IMAGE,
    C_PULL,
    C_CREATE,
    C_CONFLICT_RM,
    C_START,
    C_RUN,
    C_INSPECT,
    C_REMOVE,
    C_DONE,
} rd_step_t;

struct runtime_docker_ctr {
    runtime_docker_t *rd;              /* NULL once the client is gone */
    runtime_docker_ctr_t *prev, *next; /* in rd->ctrs */
    rd_step_t step;
    runtime_docker_phase_t phase;
    char *image;
    char *name;
    char *create_body;
    char id[72];
    int created; /* a container exists (id, or name while create flies) */
    int removed;
    http_req_t *ctl, *wait, *logs;
    int wait_done, logs_done;
    int wait_status;
    int wait_ok; /* wait_status came from a valid answer */
    int canceled;
    int conflict_retried;
    runtime_docker_demux_t demux;
    dr_buf_t out[2];
    size_t out_pos[2];
    runtime_docker_result_t res;
};

/* One Engine API request. */
typedef struct {
    const char *method;
    const char *path; /* from RUNTIME_DOCKER_API on */
    const char *body; /* JSON, copied; NULL = none */
    long timeout_ms;  /* 0 = none (a followed stream) */
    int pull;         /* a pull's progress: keep only its tail */
    http_data_fn *on_data;
    http_done_fn *done;
    void *arg;
} rd_req_t;

/* Queues it; NULL if it cannot be (logged). */
http_req_t *runtime_docker_req(runtime_docker_t *rd, const rd_req_t *q);

/* A one-line reason for a failed request: transport error or HTTP error. */
void runtime_docker_why(const http_result_t *r, char *why, size_t n);

/* Fire and forget: a kill, or the removal of a container given up. */
void runtime_docker_detached(runtime_docker_t *rd, const char *method,
                             const char *path, long timeout_ms);

#endif
