/* evloop.c - see evloop.h.
 *
 * Registrations are heap entries (stable addresses), found by id in a hash
 * and listed in a few vectors, each in (priority, registration) order:
 * every entry; the sources and the fds that epoll refused (polled each
 * pass); the plain sockets (their ZMQ_EVENTS read each pass); the timers
 * and sources (their due times).  Sockets (by ZMQ_FD) and fds stay in one
 * epoll set for as long as they are registered.
 *
 * A pass reads ZMQ_EVENTS of the plain sockets and of the lazy ones that
 * asked for it, polls the epoll set's fd together with the polled fds,
 * collects what is ready, and calls it in (priority, registration) order.
 * A removal during the pass only marks its entry dead (and takes it out of
 * epoll and the hash at once), so an item later in the same pass is
 * recognized and skipped; dead entries are freed when the pass ends.
 */
#include "evloop.h"
#include "dr_err.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <zmq.h>

typedef enum { E_SOCKET, E_FD, E_SOURCE, E_TIMER } e_kind_t;

typedef struct {
    dr_loop_id_t id;
    e_kind_t kind;
    int prio;
    int dead;
    void *sock;
    int fd;        /* E_FD: the fd; E_SOCKET: its ZMQ_FD */
    int in_ep;     /* fd is in the epoll set */
    int in_polled; /* on the polled list instead */
    int lazy;      /* E_SOCKET: ZMQ_EVENTS only when asked (dr_loop_touch) */
    int check;     /* lazy socket: on the list to look at next pass */
    int queued;    /* on this pass's ready list */
    short events;
    short ready;          /* this pass's revents (sockets and fds) */
    size_t item0, nitems; /* polled entries: their pollfds this pass */
    dr_loop_io_fn *io;
    dr_loop_timer_fn *tfn;
    void *arg;
    const dr_loop_source_t *ops;
    int64_t due;      /* timers: mono ms */
    int64_t interval; /* timers: 0 = once */
} entry_t;

typedef struct {
    entry_t **v;
    size_t n, cap;
} vec_t;

struct dr_loop {
    int epfd;
    dr_loop_id_t next_id;
    vec_t all;      /* every entry, dead ones until the pass ends */
    vec_t polled;   /* sources, fds and sockets that epoll refused */
    vec_t eager;    /* plain sockets */
    vec_t timed;    /* timers and sources */
    vec_t checks;   /* lazy sockets to look at in the next pass */
    vec_t ready;    /* this pass */
    entry_t **hash; /* by id: open addressing, linear probing */
    size_t hash_cap, hash_n;
    struct pollfd *pfds;
    entry_t **pref; /* entry of each pollfd */
    size_t pfds_cap;
    int in_pass;
    int ndead;
};

/* ---- vectors and the id hash ------------------------------------------ */

static int s_before(const entry_t *a, const entry_t *b)
{
    return a->prio < b->prio || (a->prio == b->prio && a->id < b->id);
}

static void s_push(vec_t *v, entry_t *e)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->v = dr_realloc(v->v, v->cap * sizeof *v->v);
    }
    v->v[v->n++] = e;
}

/* Inserted after every entry of a lower or the same priority. */
static void s_insert(vec_t *v, entry_t *e)
{
    s_push(v, e);
    size_t at = v->n - 1;
    while (at > 0 && s_before(e, v->v[at - 1]))
        at--;
    memmove(&v->v[at + 1], &v->v[at], (v->n - 1 - at) * sizeof *v->v);
    v->v[at] = e;
}

static void s_drop_dead(vec_t *v)
{
    size_t k = 0;
    for (size_t i = 0; i < v->n; i++)
        if (!v->v[i]->dead)
            v->v[k++] = v->v[i];
    v->n = k;
}

static size_t s_slot(dr_loop_id_t id, size_t cap)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static void s_hash_put(dr_loop_t *self, entry_t *e)
{
    if ((self->hash_n + 1) * 2 > self->hash_cap) {
        size_t cap = self->hash_cap ? self->hash_cap * 2 : 64;
        entry_t **h = dr_calloc(cap, sizeof *h);
        for (size_t i = 0; i < self->hash_cap; i++) {
            entry_t *x = self->hash[i];
            if (!x)
                continue;
            size_t j = s_slot(x->id, cap);
            while (h[j])
                j = (j + 1) & (cap - 1);
            h[j] = x;
        }
        free(self->hash);
        self->hash = h;
        self->hash_cap = cap;
    }
    size_t j = s_slot(e->id, self->hash_cap);
    while (self->hash[j])
        j = (j + 1) & (self->hash_cap - 1);
    self->hash[j] = e;
    self->hash_n++;
}

static entry_t *s_find(dr_loop_t *self, dr_loop_id_t id)
{
    if (id == 0 || !self->hash_cap)
        return NULL;
    size_t mask = self->hash_cap - 1;
    for (size_t j = s_slot(id, self->hash_cap); self->hash[j];
         j = (j + 1) & mask)
        if (self->hash[j]->id == id)
            return self->hash[j];
    return NULL;
}

/* Deletion with backward shift: no tombstones. */
static void s_hash_del(dr_loop_t *self, const entry_t *e)
{
    size_t mask = self->hash_cap - 1;
    size_t j = s_slot(e->id, self->hash_cap);
    while (self->hash[j] != e)
        j = (j + 1) & mask;
    self->hash[j] = NULL;
    self->hash_n--;
    for (size_t k = (j + 1) & mask; self->hash[k]; k = (k + 1) & mask) {
        size_t home = s_slot(self->hash[k]->id, self->hash_cap);
        /* moves back to j unless its home lies cyclically in (j, k] */
        if ((k > j && (home <= j || home > k)) ||
            (k < j && home <= j && home > k)) {
            self->hash[j] = self->hash[k];
            self->hash[k] = NULL;
            j = k;
        }
    }
}

/* ---- registration ------------------------------------------------------ */

dr_loop_t *dr_loop_new(void)
{
    dr_loop_t *self = dr_calloc(1, sizeof *self);
    self->next_id = 1;
    self->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (self->epfd < 0) /* every fd is polled then: slower, not wrong */
        log_warn_errno("epoll_create1");
    return self;
}

static void s_compact(dr_loop_t *self)
{
    s_drop_dead(&self->polled);
    s_drop_dead(&self->eager);
    s_drop_dead(&self->timed);
    s_drop_dead(&self->checks);
    size_t k = 0;
    for (size_t i = 0; i < self->all.n; i++) {
        if (self->all.v[i]->dead)
            free(self->all.v[i]);
        else
            self->all.v[k++] = self->all.v[i];
    }
    self->all.n = k;
    self->ndead = 0;
}

void dr_loop_destroy(dr_loop_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dr_loop_t *self = *self_p;
    for (size_t i = 0; i < self->all.n; i++)
        free(self->all.v[i]);
    vec_t *vs[] = {&self->all,   &self->polled, &self->eager,
                   &self->timed, &self->checks, &self->ready};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
        free(vs[i]->v);
    free(self->hash);
    free(self->pfds);
    free(self->pref);
    if (self->epfd >= 0)
        close(self->epfd);
    free(self);
    *self_p = NULL;
}

static entry_t *s_add(dr_loop_t *self, e_kind_t kind, int prio)
{
    entry_t *e = dr_calloc(1, sizeof *e);
    e->id = self->next_id++;
    e->kind = kind;
    e->prio = prio;
    e->fd = -1;
    s_insert(&self->all, e);
    s_hash_put(self, e);
    return e;
}

static uint32_t s_ep_events(short events)
{
    return (events & ZMQ_POLLIN ? EPOLLIN : 0u) |
           (events & ZMQ_POLLOUT ? EPOLLOUT : 0u);
}

/* Puts the entry's fd in the epoll set (or takes it out, for no events). */
static void s_ep_sync(dr_loop_t *self, entry_t *e)
{
    short want = e->kind == E_SOCKET ? ZMQ_POLLIN : e->events;
    if (self->epfd < 0 || e->fd < 0)
        return;
    if (!want || e->dead) {
        if (e->in_ep && epoll_ctl(self->epfd, EPOLL_CTL_DEL, e->fd, NULL) < 0 &&
            errno != EBADF && errno != ENOENT)
            log_warn_errno("epoll_ctl DEL %d", e->fd);
        e->in_ep = 0;
        return;
    }
    /* the id, not the entry: an fd closed before its removal stays in the
     * set while another process holds it, and its events then find no
     * entry instead of freed memory */
    struct epoll_event ev = {.events = s_ep_events(want), .data.u64 = e->id};
    if (epoll_ctl(self->epfd, e->in_ep ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, e->fd,
                  &ev) == 0)
        e->in_ep = 1;
}

/* An fd or socket: in epoll if it takes it (an fd registered twice, a
 * regular file: no), else polled every pass. */
static void s_watch(dr_loop_t *self, entry_t *e)
{
    s_ep_sync(self, e);
    if (!e->in_ep && !e->in_polled && (e->kind == E_SOCKET || e->events)) {
        e->in_polled = 1;
        s_insert(&self->polled, e);
    }
}

static dr_loop_id_t s_add_socket(dr_loop_t *self, void *sock, int prio,
                                 dr_loop_io_fn *fn, void *arg, int lazy)
{
    entry_t *e = s_add(self, E_SOCKET, prio);
    e->sock = sock;
    e->events = ZMQ_POLLIN;
    e->io = fn;
    e->arg = arg;
    e->lazy = lazy;
    int fd = -1;
    size_t len = sizeof fd;
    if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) == 0)
        e->fd = fd;
    else
        log_warn("zmq_getsockopt ZMQ_FD: %s", zmq_strerror(errno));
    s_watch(self, e);
    if (lazy) { /* what arrived before it was registered */
        e->check = 1;
        s_push(&self->checks, e);
    } else {
        s_push(&self->eager, e);
    }
    return e->id;
}

dr_loop_id_t dr_loop_add_socket(dr_loop_t *self, void *sock, int prio,
                                dr_loop_io_fn *fn, void *arg)
{
    return s_add_socket(self, sock, prio, fn, arg, 0);
}

dr_loop_id_t dr_loop_add_socket_lazy(dr_loop_t *self, void *sock, int prio,
                                     dr_loop_io_fn *fn, void *arg)
{
    return s_add_socket(self, sock, prio, fn, arg, 1);
}

void dr_loop_touch(dr_loop_t *self, dr_loop_id_t id)
{
    entry_t *e = s_find(self, id);
    if (e && e->kind == E_SOCKET && e->lazy && !e->check) {
        e->check = 1;
        s_push(&self->checks, e);
    }
}

dr_loop_id_t dr_loop_add_fd(dr_loop_t *self, int fd, short events, int prio,
                            dr_loop_io_fn *fn, void *arg)
{
    entry_t *e = s_add(self, E_FD, prio);
    e->fd = fd;
    e->events = events;
    e->io = fn;
    e->arg = arg;
    s_watch(self, e);
    return e->id;
}

void dr_loop_set_events(dr_loop_t *self, dr_loop_id_t id, short events)
{
    entry_t *e = s_find(self, id);
    if (!e || (e->kind != E_FD && e->kind != E_SOCKET))
        return;
    e->events = events;
    /* a socket's ZMQ_FD is watched whatever it waits for; the polled list
     * skips an fd while it waits for nothing */
    if (e->kind == E_FD && !e->in_polled)
        s_watch(self, e);
}

dr_loop_id_t dr_loop_add_source(dr_loop_t *self, const dr_loop_source_t *ops,
                                void *src, int prio)
{
    entry_t *e = s_add(self, E_SOURCE, prio);
    e->ops = ops;
    e->arg = src;
    s_insert(&self->polled, e);
    s_insert(&self->timed, e);
    return e->id;
}

dr_loop_id_t dr_loop_add_timer(dr_loop_t *self, int64_t delay_ms,
                               int64_t interval_ms, dr_loop_timer_fn *fn,
                               void *arg)
{
    entry_t *e = s_add(self, E_TIMER, DR_LOOP_PRIO_DEFAULT);
    e->due = dr_mono_ms() + (delay_ms > 0 ? delay_ms : 0);
    e->interval = interval_ms > 0 ? interval_ms : 0;
    e->tfn = fn;
    e->arg = arg;
    s_insert(&self->timed, e);
    return e->id;
}

void dr_loop_timer_set(dr_loop_t *self, dr_loop_id_t id, int64_t due)
{
    entry_t *e = s_find(self, id);
    if (e && e->kind == E_TIMER)
        e->due = due;
}

static void s_kill(dr_loop_t *self, entry_t *e)
{
    e->dead = 1;
    self->ndead++;
    s_ep_sync(self, e); /* dead: out of the epoll set */
    s_hash_del(self, e);
}

void dr_loop_remove(dr_loop_t *self, dr_loop_id_t id)
{
    entry_t *e = s_find(self, id);
    if (!e)
        return;
    s_kill(self, e);
    if (!self->in_pass)
        s_compact(self);
}

/* ---- a pass ----------------------------------------------------------- */

static int64_t s_source_timer(const entry_t *e)
{
    return e->ops->timer ? e->ops->timer(e->arg) : INT64_MAX;
}

int64_t dr_loop_next_due(dr_loop_t *self)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < self->timed.n; i++) {
        entry_t *e = self->timed.v[i];
        if (e->dead)
            continue;
        int64_t due = e->kind == E_TIMER ? e->due : s_source_timer(e);
        if (due < next)
            next = due;
    }
    return next;
}

static void s_ready(dr_loop_t *self, entry_t *e, short revents)
{
    e->ready |= revents;
    if (!e->queued) {
        e->queued = 1;
        s_push(&self->ready, e);
    }
}

/* Reads a socket's ZMQ_EVENTS (which also re-arms its ZMQ_FD); 1 if it
 * is ready for what it waits for. */
static int s_sock_check(dr_loop_t *self, entry_t *e)
{
    int zev = 0;
    size_t len = sizeof zev;
    if (zmq_getsockopt(e->sock, ZMQ_EVENTS, &zev, &len) < 0) {
        if (errno == ETERM || errno == ENOTSOCK)
            return 0;
        s_ready(self, e, ZMQ_POLLERR);
        return 1;
    }
    short rev = (short)(zev & e->events);
    if (!rev)
        return 0;
    s_ready(self, e, rev);
    return 1;
}

/* poll()/epoll bits as zmq_poll reports them: anything but in/out is an
 * error. */
static short s_zrevents(uint32_t in, uint32_t out, uint32_t bits)
{
    short r =
        (short)((bits & in ? ZMQ_POLLIN : 0) | (bits & out ? ZMQ_POLLOUT : 0));
    if (bits & ~(in | out))
        r |= ZMQ_POLLERR;
    return r;
}

static void s_pfd(dr_loop_t *self, size_t *n, int fd, short events, entry_t *e)
{
    if (*n == self->pfds_cap) {
        self->pfds_cap = self->pfds_cap ? self->pfds_cap * 2 : 64;
        self->pfds =
            dr_realloc(self->pfds, self->pfds_cap * sizeof *self->pfds);
        self->pref =
            dr_realloc(self->pref, self->pfds_cap * sizeof *self->pref);
    }
    self->pfds[*n] = (struct pollfd){
        .fd = fd,
        .events = (short)((events & ZMQ_POLLIN ? POLLIN : 0) |
                          (events & ZMQ_POLLOUT ? POLLOUT : 0))};
    self->pref[*n] = e;
    (*n)++;
}

/* The pollfds of this pass: the epoll set's, then the polled entries'. */
static size_t s_build(dr_loop_t *self)
{
    size_t n = 0;
    if (self->epfd >= 0)
        s_pfd(self, &n, self->epfd, ZMQ_POLLIN, NULL);
    for (size_t i = 0; i < self->polled.n; i++) {
        entry_t *e = self->polled.v[i];
        e->item0 = n;
        if (e->dead)
            ;
        else if (e->kind == E_SOURCE && e->ops->nfds && e->ops->fd) {
            size_t k = e->ops->nfds(e->arg);
            for (size_t j = 0; j < k; j++) {
                int r = 0, w = 0;
                int fd = e->ops->fd(e->arg, j, &r, &w);
                short ev =
                    (short)((r ? ZMQ_POLLIN : 0) | (w ? ZMQ_POLLOUT : 0));
                if (fd >= 0 && ev)
                    s_pfd(self, &n, fd, ev, e);
            }
        } else if (e->kind == E_SOCKET && e->fd >= 0) {
            s_pfd(self, &n, e->fd, ZMQ_POLLIN, e);
        } else if (e->kind == E_FD && e->events) {
            s_pfd(self, &n, e->fd, e->events, e);
        }
        e->nitems = n - e->item0;
    }
    return n;
}

/* What the epoll set and the pollfds say is ready. */
static void s_collect(dr_loop_t *self, size_t n)
{
    size_t first = 0;
    if (self->epfd >= 0) {
        first = 1;
        if (self->pfds[0].revents) {
            struct epoll_event evs[256];
            int k;
            /* a few rounds at most: what signals meanwhile waits */
            for (int round = 0; round < 8; round++) {
                k = epoll_wait(self->epfd, evs, 256, 0);
                for (int i = 0; i < k; i++) {
                    entry_t *e = s_find(self, evs[i].data.u64);
                    if (!e) /* removed */
                        continue;
                    if (e->kind == E_SOCKET)
                        (void)s_sock_check(self, e);
                    else
                        s_ready(self, e,
                                s_zrevents(EPOLLIN, EPOLLOUT, evs[i].events));
                }
                if (k < 256)
                    break;
            }
        }
    }
    for (size_t i = first; i < n; i++) {
        entry_t *e = self->pref[i];
        if (!self->pfds[i].revents || e->dead)
            continue;
        if (e->kind == E_SOCKET)
            (void)s_sock_check(self, e);
        else if (e->kind == E_SOURCE)
            s_ready(self, e, 0);
        else
            s_ready(
                self, e,
                s_zrevents(POLLIN, POLLOUT, (uint32_t)self->pfds[i].revents));
    }
}

static int s_cmp_entry(const void *a, const void *b)
{
    const entry_t *x = *(entry_t *const *)a, *y = *(entry_t *const *)b;
    return s_before(x, y) ? -1 : s_before(y, x) ? 1 : 0;
}

static void s_dispatch(dr_loop_t *self)
{
    if (self->ready.n > 1)
        qsort(self->ready.v, self->ready.n, sizeof *self->ready.v, s_cmp_entry);
    for (size_t i = 0; i < self->ready.n; i++) {
        entry_t *e = self->ready.v[i];
        short rev = e->ready;
        e->ready = 0;
        e->queued = 0;
        if (e->dead)
            continue;
        if (e->kind == E_SOURCE) {
            for (size_t j = e->item0; j < e->item0 + e->nitems && !e->dead;
                 j++) {
                short r = s_zrevents(POLLIN, POLLOUT,
                                     (uint32_t)self->pfds[j].revents);
                if (r && e->ops->on_fd)
                    e->ops->on_fd(e->arg, self->pfds[j].fd,
                                  !!(r & (ZMQ_POLLIN | ZMQ_POLLERR)),
                                  !!(r & ZMQ_POLLOUT));
            }
        } else if (e->io && rev) {
            e->io(self, e->arg, rev);
            /* it may have left input, or sent: look again next pass */
            if (e->kind == E_SOCKET && e->lazy && !e->dead && !e->check) {
                e->check = 1;
                s_push(&self->checks, e);
            }
        }
    }
    self->ready.n = 0;
}

/* Runs what is due now; entries added meanwhile wait for the next pass. */
static void s_run_due(dr_loop_t *self)
{
    int64_t now = dr_mono_ms();
    size_t n = self->timed.n;
    for (size_t i = 0; i < n && i < self->timed.n; i++) {
        entry_t *e = self->timed.v[i];
        if (e->dead)
            continue;
        if (e->kind == E_TIMER && e->due <= now) {
            if (e->interval) {
                e->due += e->interval;
                if (e->due <= now) /* fell behind: no burst of catch-ups */
                    e->due = now + e->interval;
            } else {
                s_kill(self, e);
            }
            e->tfn(self, e->arg);
        } else if (e->kind == E_SOURCE && e->ops->on_timer &&
                   s_source_timer(e) <= now) {
            e->ops->on_timer(e->arg);
        }
    }
}

/* Sockets whose input may be waiting: every plain one, the lazy ones on
 * the list.  1 if one is ready. */
static int s_check_sockets(dr_loop_t *self)
{
    int any = 0;
    for (size_t i = 0; i < self->eager.n; i++)
        if (!self->eager.v[i]->dead)
            any |= s_sock_check(self, self->eager.v[i]);
    size_t n = self->checks.n;
    self->checks.n = 0; /* handlers of this pass queue for the next */
    for (size_t i = 0; i < n; i++) {
        entry_t *e = self->checks.v[i];
        e->check = 0;
        if (!e->dead)
            any |= s_sock_check(self, e);
    }
    return any;
}

int dr_loop_once(dr_loop_t *self, int max_wait_ms)
{
    int rc = 0;
    self->in_pass = 1;
    int any = s_check_sockets(self);
    size_t n = s_build(self);
    int64_t next = dr_loop_next_due(self);
    int wait = max_wait_ms;
    if (any)
        wait = 0;
    else if (next != INT64_MAX) {
        int64_t until = next - dr_mono_ms();
        if (until < 0)
            until = 0;
        if (max_wait_ms < 0 || until < max_wait_ms)
            wait = until > INT32_MAX ? INT32_MAX : (int)until;
    }
    int got = poll(self->pfds, n, wait);
    if (got < 0 && errno != EINTR) {
        log_warn_errno("poll");
        rc = DR_EIO;
    }
    if (got > 0)
        s_collect(self, n);
    /* sockets already looked at are handled even when the wait failed:
     * their ZMQ_FD will not signal for what they hold */
    s_dispatch(self);
    if (got >= 0)
        s_run_due(self);
    self->in_pass = 0;
    if (self->ndead)
        s_compact(self);
    return rc;
}
