/* provider_docker.c - each node a container: a separate host with its own
 * hostname and address on a user-defined Docker network.
 *
 * A node is a container of the node image (drover-agent installed, see
 * deploy/image/) on the network the scheduler's operator names; it joins
 * by token exactly as a VM would (the token the scheduler wrote for it,
 * provider_join_token), reaching the scheduler at the network's gateway
 * address.  Its work dir is /var/lib/drover-agent on every node (as on
 * VMs of one image), bound from <state_dir>/nodes/NODE on the host, and
 * the host's dockerd socket is bound in: the node's image jobs run as
 * sibling containers that share the node's network namespace, their
 * scratch dir bound from the host path (--host-work-dir).  Process jobs
 * run inside the node.  Scale-in removes the container; a container
 * restarted (a reboot) comes back with its key, and needs no token.
 *
 * Everything goes through dockerd's Engine API on its unix socket, over
 * common/http_async, never blocking the loop: create() and destroy()
 * queue a request that poll() drives through its steps (network, create,
 * start; or remove) and reports the end of.  Owns its requests.
 */
#include "dr_err.h"
#include "http_async.h"
#include "keys.h"
#include "log.h"
#include "provider.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DK_TIMEOUT_MS 60000
#define DK_MAX_ANSWER (256 * 1024)
#define DK_MAX_PENDING 256
/* Every node's work dir, as on VMs of one image: an MPI job's ranks find
 * the head's working directory on every node. */
#define DK_NODE_WORK_DIR "/var/lib/drover-agent"

typedef struct dk dk_t;

typedef enum {
    ST_NET_CREATE,  /* POST /networks/create (409: it exists) */
    ST_NET_INSPECT, /* GET /networks/NAME: its gateway */
    ST_NET_WAIT,    /* another request makes the network: parked */
    ST_CREATE,      /* POST /containers/create?name=NODE */
    ST_START,       /* POST /containers/NODE/start */
    ST_REMOVE,      /* DELETE /containers/NODE?force=1 */
    ST_DONE
} step_t;

typedef struct {
    dk_t *owner;
    provider_t *p;
    http_req_t *req; /* in flight, NULL = none */
    char cluster[64];
    char node[64];
    char vm_size[64];
    uint32_t cpus, memory_mb;
    const char *op; /* "create" or "delete" */
    step_t step;
    int retried_create; /* a stale container of that name was removed */
} dreq_t;

struct dk {
    char *socket;
    char *image;
    char *network;
    char *state_dir;
    char *port; /* of the scheduler's agent endpoint */
    char gateway[64];
    int net_ready;
    int net_busy; /* one request makes the network; the others wait */
    http_async_t *http;
    dreq_t *reqs[DK_MAX_PENDING];
    size_t nreqs;
};

static void s_req_free(dreq_t *r)
{
    http_async_cancel(r->req);
    free(r);
}

static void s_forget(dk_t *d, dreq_t *r)
{
    for (size_t i = 0; i < d->nreqs; i++) {
        if (d->reqs[i] == r) {
            d->reqs[i] = d->reqs[--d->nreqs];
            break;
        }
    }
    s_req_free(r);
}

static void s_fail(dreq_t *r, const char *fmt, const char *detail)
{
    if (r->step == ST_NET_CREATE || r->step == ST_NET_INSPECT)
        r->owner->net_busy = 0; /* the next parked request tries */
    provider_report(r->p, r->cluster, r->node, r->op, 0, fmt, detail);
    r->step = ST_DONE;
}

/* The message of a dockerd error answer, or its status. */
static const char *s_message(const http_result_t *res, char *buf, size_t n)
{
    if (res->failed) {
        snprintf(buf, n, "dockerd: %s", res->error);
        return buf;
    }
    json_t *o = json_loads(res->body, 0, NULL);
    const char *m = o ? json_string_value(json_object_get(o, "message")) : "";
    snprintf(buf, n, "dockerd answered %ld: %.200s", res->status, m ? m : "");
    json_decref(o);
    return buf;
}

/* The agent's command line in the node container. */
static json_t *s_cmd(const dk_t *d, const dreq_t *r, const char *token,
                     const char *spub, const char *host_dir)
{
    char cpus[16], mem[16], netmode[96], sched[128];
    snprintf(cpus, sizeof cpus, "%u", r->cpus);
    snprintf(mem, sizeof mem, "%u", r->memory_mb);
    snprintf(netmode, sizeof netmode, "container:%s", r->node);
    snprintf(sched, sizeof sched, "tcp://%s:%s", d->gateway, d->port);
    json_t *cmd = json_pack(
        "[s, s,s, s,s, s,s, s,s, s,s, s,s, s,s, s,s, s,s]", "drover-agent",
        "--name", r->node, "--cluster", r->cluster, "--vm-size", r->vm_size,
        "--cpus", cpus, "--memory-mb", mem, "--scheduler", sched, "--work-dir",
        DK_NODE_WORK_DIR, "--mpi-iface", "eth0", "--docker-network", netmode);
    if (cmd) {
        json_array_append_new(cmd, json_string("--host-work-dir"));
        json_array_append_new(cmd, json_string(host_dir));
    }
    if (cmd && token && spub) {
        json_array_append_new(cmd, json_string("--join-token"));
        json_array_append_new(cmd, json_string(token));
        json_array_append_new(cmd, json_string("--scheduler-key"));
        json_array_append_new(cmd, json_string(spub));
    } else if (cmd) {
        json_array_append_new(cmd, json_string("--insecure"));
    }
    return cmd;
}

/* The container's create body; NULL with the reason reported. */
static char *s_create_body(dk_t *d, dreq_t *r)
{
    char *workdir = dr_asprintf("%s/nodes/%s", d->state_dir, r->node);
    char *token = provider_join_token(d->state_dir, r->node);
    char *spub_path = dr_asprintf("%s/keys/scheduler.pub", d->state_dir);
    char spub[64] = "", err[256] = "";
    int have_key =
        token && keys_public_arg(spub_path, spub, err, sizeof err) == 0;
    char *body = NULL;
    if (dr_mkdirs(workdir, 0755) < 0) {
        s_fail(r, "cannot create the node's work dir: %s", workdir);
    } else if (token && !have_key) {
        s_fail(r, "the scheduler's public key: %s", err);
    } else {
        char *bind_wd = dr_asprintf("%s:%s:rw", workdir, DK_NODE_WORK_DIR);
        char *bind_sock = dr_asprintf("%s:/var/run/docker.sock", d->socket);
        json_t *o = json_pack(
            "{s:s, s:s, s:o, s:{s:s, s:s, s:s}, s:{s:s, s:[s,s], s:{s:s}}}",
            "Image", d->image, "Hostname", r->node, "Cmd",
            s_cmd(d, r, token, have_key ? spub : NULL, workdir), "Labels",
            "drover.provider", "docker", "drover.cluster", r->cluster,
            "drover.node-container", r->node, "HostConfig", "NetworkMode",
            d->network, "Binds", bind_wd, bind_sock, "RestartPolicy", "Name",
            "no");
        body = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        free(bind_wd);
        free(bind_sock);
        if (!body)
            s_fail(r, "cannot build the container's spec%s", "");
    }
    if (token)
        memset(token, 0, strlen(token));
    free(token);
    free(spub_path);
    free(workdir);
    return body;
}

static void s_done(void *arg, const http_result_t *res);

/* Sends the request of r's step. */
static int s_send(dk_t *d, dreq_t *r)
{
    char *url = NULL, *body = NULL;
    const char *method = "POST";
    char *esc = http_async_escape(r->node);
    switch (r->step) {
    case ST_NET_CREATE: {
        json_t *o = json_pack("{s:s, s:s, s:b}", "Name", d->network, "Driver",
                              "bridge", "CheckDuplicate", 1);
        body = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        url = dr_strdup("http://docker/networks/create");
        break;
    }
    case ST_NET_INSPECT: {
        char *net = http_async_escape(d->network);
        url = dr_asprintf("http://docker/networks/%s", net);
        free(net);
        method = NULL;
        break;
    }
    case ST_CREATE:
        body = s_create_body(d, r);
        if (!body) {
            free(esc);
            return DR_EPROVIDER; /* reported */
        }
        url = dr_asprintf("http://docker/containers/create?name=%s", esc);
        break;
    case ST_START:
        url = dr_asprintf("http://docker/containers/%s/start", esc);
        break;
    case ST_REMOVE:
        url = dr_asprintf("http://docker/containers/%s?force=1&v=1", esc);
        method = "DELETE";
        break;
    case ST_NET_WAIT:
        free(esc);
        return 0; /* poll() sends it once the network is there */
    case ST_DONE:
        break;
    }
    free(esc);
    http_opts_t o = {
        .method = method,
        .url = url,
        .unix_socket = d->socket,
        .body = body,
        .content_type = body ? "application/json" : NULL,
        .connect_timeout_ms = 5000,
        .timeout_ms = DK_TIMEOUT_MS,
        .max_body = DK_MAX_ANSWER,
        .label = r->op,
        .no_proxy = 1,
    };
    r->req = url ? http_async_request(d->http, &o, s_done, r) : NULL;
    free(url);
    free(body);
    if (!r->req) {
        s_fail(r, "cannot send the request to dockerd%s", "");
        return DR_EPROVIDER;
    }
    return 0;
}

/* The gateway of the network, from its inspect answer. */
static int s_gateway(dk_t *d, const char *body)
{
    json_t *o = json_loads(body, 0, NULL);
    json_t *cfg = json_object_get(json_object_get(o, "IPAM"), "Config");
    const char *gw =
        json_string_value(json_object_get(json_array_get(cfg, 0), "Gateway"));
    int ok = gw && *gw && strlen(gw) < sizeof d->gateway;
    if (ok)
        snprintf(d->gateway, sizeof d->gateway, "%s", gw);
    json_decref(o);
    return ok ? 0 : DR_EPROVIDER;
}

/* What an answer means for r: its next step, or its end (reported). */
static void s_advance(dk_t *d, dreq_t *r, const http_result_t *res)
{
    char msg[320];
    long st = res->failed ? 0 : res->status;
    switch (r->step) {
    case ST_NET_CREATE:
        if (st == 201 || st == 409)
            r->step = ST_NET_INSPECT;
        else
            s_fail(r, "network: %s", s_message(res, msg, sizeof msg));
        break;
    case ST_NET_INSPECT:
        if (st == 200 && s_gateway(d, res->body) == 0) {
            d->net_ready = 1;
            d->net_busy = 0;
            log_info("docker provider: network %s, scheduler at %s:%s",
                     d->network, d->gateway, d->port);
            r->step = ST_CREATE;
        } else {
            s_fail(r, "network: %s", s_message(res, msg, sizeof msg));
        }
        break;
    case ST_CREATE:
        if (st == 201) {
            r->step = ST_START;
        } else if (st == 409 && !r->retried_create) {
            /* a container of a node the store has forgotten: it goes */
            r->retried_create = 1;
            r->step = ST_REMOVE;
        } else {
            s_fail(r, "create: %s", s_message(res, msg, sizeof msg));
        }
        break;
    case ST_START:
        if (st == 204 || st == 304) {
            provider_report(r->p, r->cluster, r->node, r->op, 1,
                            "container %s started", r->node);
            r->step = ST_DONE;
        } else {
            s_fail(r, "start: %s", s_message(res, msg, sizeof msg));
        }
        break;
    case ST_REMOVE:
        if (st == 204 || st == 404) {
            if (r->retried_create && strcmp(r->op, "create") == 0) {
                r->step = ST_CREATE;
            } else {
                provider_report(r->p, r->cluster, r->node, r->op, 1,
                                "container %s removed", r->node);
                r->step = ST_DONE;
            }
        } else {
            s_fail(r, "remove: %s", s_message(res, msg, sizeof msg));
        }
        break;
    case ST_NET_WAIT:
    case ST_DONE:
        break;
    }
}

/* The step a create starts with: the network first, made by one request
 * at a time. */
static step_t s_first_step(dk_t *d)
{
    if (d->net_ready)
        return ST_CREATE;
    if (d->net_busy)
        return ST_NET_WAIT;
    d->net_busy = 1;
    return ST_NET_CREATE;
}

static void s_done(void *arg, const http_result_t *res)
{
    dreq_t *r = arg;
    r->req = NULL;
    dk_t *d = r->owner;
    s_advance(d, r, res);
    if (r->step == ST_CREATE && !d->net_ready)
        r->step = s_first_step(d);
    if (r->step == ST_DONE || s_send(d, r) < 0)
        s_forget(d, r);
}

static int s_queue(provider_t *p, const provider_cluster_t *c, const char *node,
                   const char *op, char *err, size_t errlen)
{
    dk_t *d = p->ctx;
    if (d->nreqs == DK_MAX_PENDING) {
        snprintf(err, errlen, "%d requests already pending", DK_MAX_PENDING);
        return DR_EAGAIN;
    }
    if (!dr_valid_name(node)) {
        snprintf(err, errlen, "invalid node name");
        return DR_EINVAL;
    }
    dreq_t *r = dr_calloc(1, sizeof *r);
    r->owner = d;
    r->p = p;
    snprintf(r->cluster, sizeof r->cluster, "%s", c->name);
    snprintf(r->node, sizeof r->node, "%s", node);
    snprintf(r->vm_size, sizeof r->vm_size, "%s", c->vm->name);
    r->cpus = c->vm->vcpus;
    r->memory_mb = (uint32_t)c->vm->memory_mb;
    r->op = op;
    if (strcmp(op, "delete") == 0)
        r->step = ST_REMOVE;
    else
        r->step = s_first_step(d);
    if (s_send(d, r) < 0) {
        s_req_free(r);
        snprintf(err, errlen, "cannot reach dockerd at %s", d->socket);
        return DR_EPROVIDER;
    }
    d->reqs[d->nreqs++] = r;
    return 0;
}

static int s_create(provider_t *p, const provider_cluster_t *c,
                    const char *node_name, int *pid_out, char *err,
                    size_t errlen)
{
    *pid_out = 0;
    return s_queue(p, c, node_name, "create", err, errlen);
}

static int s_destroy(provider_t *p, const provider_cluster_t *c,
                     const char *node_name, int pid, char *err, size_t errlen)
{
    (void)pid;
    return s_queue(p, c, node_name, "delete", err, errlen);
}

static int s_poll(provider_t *p)
{
    dk_t *d = p->ctx;
    for (size_t i = 0; i < d->nreqs;) {
        dreq_t *r = d->reqs[i];
        if (r->step == ST_NET_WAIT && (d->net_ready || !d->net_busy)) {
            r->step = s_first_step(d);
            if (s_send(d, r) < 0) {
                s_forget(d, r);
                continue;
            }
        }
        i++;
    }
    http_async_drive(d->http);
    return d->nreqs ? 20 : -1;
}

static void s_free(provider_t *p)
{
    dk_t *d = p->ctx;
    for (size_t i = 0; i < d->nreqs; i++)
        s_req_free(d->reqs[i]);
    http_async_destroy(&d->http);
    free(d->socket);
    free(d->image);
    free(d->network);
    free(d->state_dir);
    free(d->port);
    free(d);
}

static const provider_ops_t s_docker_ops = {
    .name = "docker",
    .create = s_create,
    .destroy = s_destroy,
    .poll = s_poll,
    .free = s_free,
};

provider_t *provider_docker_new(const char *socket, const char *image,
                                const char *network, const char *agent_endpoint,
                                const char *state_dir)
{
    const char *colon = strrchr(agent_endpoint, ':');
    if (strncmp(agent_endpoint, "tcp://", 6) != 0 || !colon || !colon[1]) {
        log_error("docker provider: the agent endpoint %s is not tcp://HOST:"
                  "PORT",
                  agent_endpoint);
        return NULL;
    }
    if (strstr(agent_endpoint, "127.0.0.1") ||
        strstr(agent_endpoint, "localhost"))
        log_warn("docker provider: the agent endpoint %s is on loopback: "
                 "node containers reach the scheduler at their network's "
                 "gateway, so bind it to tcp://0.0.0.0:PORT",
                 agent_endpoint);
    dk_t *d = dr_calloc(1, sizeof *d);
    d->http = http_async_new();
    if (!d->http) {
        free(d);
        return NULL;
    }
    d->socket = dr_strdup(socket);
    d->image = dr_strdup(image);
    d->network = dr_strdup(network);
    d->state_dir = dr_strdup(state_dir);
    d->port = dr_strdup(colon + 1);
    provider_t *p = dr_calloc(1, sizeof *p);
    p->ops = &s_docker_ops;
    p->ctx = d;
    return p;
}
