/* sched_peer.c - who sent a message (sched_int.h): the checks of the
 * loop's drain between a message's arrival and its handler.
 *
 * A CURVE peer is named by the ZAP handler's User-Id (auth.h), checked
 * again per message, as a revoked key stops at its next one; an agent may
 * speak only for the node its key names; a joining peer may only Join.  A
 * peer of the local socket is named by the kernel (its uid, SO_PEERCRED,
 * read by libzmq): the scheduler's own uid and root are the admin, any
 * other uid the user principal of its login name.  Every refusal is
 * answered, and recorded once per window (ratelim).
 */
#include "auth.h"
#include "dr_err.h"
#include "log.h"
#include "metrics.h"
#include "ratelim.h"
#include "sched_int.h"
#include "util.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void sched_peer_error(sched_t *self, int is_agent, const char *rid,
                      uint64_t req, int code, const char *msg)
{
    if (is_agent)
        sched_agent_error(self, rid, req, code, "%s", msg);
    else
        sched_client_error(self, rid, req, code, "%s", msg);
}

/* A joining peer (a key not known yet, auth.h) may send one thing: a
 * Join, from a routing id of its own namespace (DR_JOIN_RID_PREFIX, which
 * no node name can have), so that it never speaks for a node.  Anything
 * else is answered with an error and recorded once per window. */
static int s_joining(sched_t *self, ratelim_t *noisy, const char *rid,
                     const char *key, const dr_env_t *env)
{
    const char *why = NULL;
    if (env->body_case != DROVER__ENVELOPE__BODY_JOIN)
        why = "a node that is not joined yet may send only Join";
    else if (strncmp(rid, DR_JOIN_RID_PREFIX, strlen(DR_JOIN_RID_PREFIX)) != 0)
        why = "a Join must come from a " DR_JOIN_RID_PREFIX " routing id";
    if (!why) {
        snprintf(self->req.joining_key, sizeof self->req.joining_key, "%s",
                 key);
        return 0;
    }
    char rkey[320];
    uint64_t left_out = 0;
    snprintf(rkey, sizeof rkey, "joining|%s", key);
    if (ratelim_allow(noisy, rkey, dr_mono_ms(), &left_out)) {
        log_warn("agent %s: refused: %s (got %s, key %.8s...)%s", rid, why,
                 wire_body_name(env->body_case), key,
                 left_out ? " (and more, not logged)" : "");
        cluster_refused(self, "", 0, "unknown key %.8s... as %s: %s", key, rid,
                        why);
    }
    metrics_inc(self->metrics, MC_REFUSED, "not_joined", NULL, 1);
    sched_peer_error(self, 1, rid, env->request_id, DR_EPERM, why);
    return DR_EPERM;
}

/* The uid of a local peer's "HOST:UID:GID:PID" (wire_recv_ex), or -1. */
static long s_peer_uid(const char *peer)
{
    const char *c = strrchr(peer, ':');
    for (int k = 0; c && k < 2; k++) {
        const char *p = c;
        while (p > peer && p[-1] != ':')
            p--;
        c = p > peer ? p - 1 : NULL;
    }
    int64_t uid;
    char num[24];
    const char *end = c ? strchr(c + 1, ':') : NULL;
    if (!end || (size_t)(end - c - 1) >= sizeof num)
        return -1;
    memcpy(num, c + 1, (size_t)(end - c - 1));
    num[end - c - 1] = '\0';
    return dr_parse_i64(num, 0, UINT32_MAX - 1, &uid) < 0 ? -1 : (long)uid;
}

/* A peer of the local socket is who the kernel says it runs as: this
 * scheduler's own uid and root are its admin (they can read the admin
 * key in <state-dir>/keys all the same), any other uid the drover user
 * of its login name, with that user's role.  NULL and why when none. */
static const principal_t *s_local_principal(sched_t *self, const char *peer,
                                            principal_t *owner, char *why,
                                            size_t cap)
{
    long uid = s_peer_uid(peer);
    if (uid < 0) {
        snprintf(why, cap, "the kernel did not name this local peer ('%s')",
                 peer);
        return NULL;
    }
    if ((uid_t)uid == geteuid() || uid == 0) {
        *owner = (principal_t){.kind = PRINCIPAL_USER, .admin = 1};
        snprintf(owner->name, sizeof owner->name, "admin");
        return owner;
    }
    struct passwd pw, *res = NULL;
    char buf[2048];
    if (getpwuid_r((uid_t)uid, &pw, buf, sizeof buf, &res) != 0 || !res) {
        snprintf(why, cap, "local uid %ld has no user name on this host", uid);
        return NULL;
    }
    const principal_t *p = auth_user(self->auth, res->pw_name);
    if (!p)
        snprintf(why, cap,
                 "local user %.64s (uid %ld) is not a drover user (an admin "
                 "adds one: drover keys add-user %.64s --role user PUBKEYFILE)",
                 res->pw_name, uid, res->pw_name);
    return p;
}

int sched_peer_check(sched_t *self, ratelim_t *noisy, int is_agent, int local,
                     const char *rid, const char *user, const dr_env_t *env)
{
    if (self->opts.insecure) {
        self->req.admin = 1;
        snprintf(self->req.user, sizeof self->req.user, "%.63s",
                 is_agent ? rid : "");
        return 0;
    }
    const char *joining = is_agent ? auth_joining_key(user) : NULL;
    if (joining)
        return s_joining(self, noisy, rid, joining, env);
    principal_t owner;
    const char *why = NULL;
    char buf[300];
    const principal_t *p =
        local ? s_local_principal(self, user, &owner, buf, sizeof buf)
              : auth_peer(self->auth, user);
    if (!p) {
        why = local ? buf : "key revoked or unknown";
    } else if (is_agent &&
               (p->kind != PRINCIPAL_AGENT || strcmp(p->name, rid) != 0)) {
        snprintf(buf, sizeof buf, "the key of %s may not speak for node %s",
                 p->name, rid);
        why = buf;
    }
    if (why) {
        /* every message is answered; a peer that keeps trying is recorded
         * once per window */
        char key[320], more[64] = "";
        uint64_t left_out = 0;
        snprintf(key, sizeof key, "refused|%d|%s", is_agent, rid);
        if (ratelim_allow(noisy, key, dr_mono_ms(), &left_out)) {
            if (left_out)
                snprintf(more, sizeof more, " (%llu more not recorded)",
                         (unsigned long long)left_out);
            log_warn("%s %s: refused: %s%s", is_agent ? "agent" : "client", rid,
                     why, more);
            cluster_refused(self, is_agent ? rid : "", 0, "%s %s: %s%s",
                            is_agent ? "agent" : "client", p ? p->name : rid,
                            why, more);
        }
        metrics_inc(self->metrics, MC_REFUSED, p ? "wrong_node" : "unknown_key",
                    NULL, 1);
        sched_peer_error(self, is_agent, rid, env->request_id, DR_EPERM, why);
        return DR_EPERM;
    }
    snprintf(self->req.user, sizeof self->req.user, "%s", p->name);
    self->req.admin = p->admin;
    return 0;
}
