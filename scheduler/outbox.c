/* outbox.c - see outbox.h; and the scheduler's sched_reply_client /
 * sched_send_agent / sched_*_error, which queue into its two outboxes. */
#include "outbox.h"
#include "dr_err.h"
#include "sched_int.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void outbox_push(outbox_t *ob, const char *rid, const dr_env_t *env)
{
    if (ob->n == ob->cap) {
        ob->cap = ob->cap ? ob->cap * 2 : 64;
        ob->msgs = dr_realloc(ob->msgs, ob->cap * sizeof *ob->msgs);
    }
    outmsg_t *m = &ob->msgs[ob->n++];
    m->rid = dr_strdup(rid);
    m->req = env->request_id;
    m->len = drover__envelope__get_packed_size(env);
    m->data = dr_malloc(m->len);
    drover__envelope__pack(env, m->data);
}

void outbox_verror(outbox_t *ob, const char *rid, uint64_t req, int code,
                   const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    dr_env_t env;
    Drover__Error err;
    wire_env_error(&env, &err, req, code, msg);
    outbox_push(ob, rid, &env);
}

void outbox_not_leader(outbox_t *ob, const char *rid, uint64_t req,
                       const char *leader)
{
    char msg[512];
    if (leader && leader[0])
        snprintf(msg, sizeof msg, "not the leader, try %s", leader);
    else
        snprintf(msg, sizeof msg,
                 "not the leader (no scheduler leads yet); "
                 "try another");
    dr_env_t env;
    Drover__Error err;
    wire_env_error(&env, &err, req, DR_ENOTLEADER, msg);
    err.leader = (char *)(leader ? leader : "");
    outbox_push(ob, rid, &env);
}

void outbox_fail_all(outbox_t *ob, int code, const char *msg)
{
    for (size_t i = 0; i < ob->n; i++) {
        outmsg_t *m = &ob->msgs[i];
        dr_env_t env;
        Drover__Error err;
        wire_env_error(&env, &err, m->req, code, msg);
        free(m->data);
        m->len = drover__envelope__get_packed_size(&env);
        m->data = dr_malloc(m->len);
        drover__envelope__pack(&env, m->data);
    }
}

void outbox_clear(outbox_t *ob)
{
    for (size_t i = 0; i < ob->n; i++) {
        free(ob->msgs[i].rid);
        free(ob->msgs[i].data);
    }
    ob->n = 0;
}

void outbox_free(outbox_t *ob)
{
    outbox_clear(ob);
    free(ob->msgs);
    memset(ob, 0, sizeof *ob);
}

void sched_reply_client(sched_t *self, const char *rid, const dr_env_t *env)
{
    outbox_push(&self->client_out, rid, env);
}

void sched_send_agent(sched_t *self, const char *node, const dr_env_t *env)
{
    outbox_push(&self->agent_out, node, env);
}

void sched_client_error(sched_t *self, const char *rid, uint64_t req, int code,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    outbox_verror(&self->client_out, rid, req, code, fmt, ap);
    va_end(ap);
}

void sched_agent_error(sched_t *self, const char *rid, uint64_t req, int code,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    outbox_verror(&self->agent_out, rid, req, code, fmt, ap);
    va_end(ap);
}
