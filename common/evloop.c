/* evloop.c - see evloop.h.
 *
 * Registrations are heap entries (stable addresses) kept in one array in
 * (priority, registration) order.  A pass builds the zmq_pollitem_t set
 * from that array, remembering the entry of every item; a removal during
 * the pass only marks its entry dead, and dead entries are freed when the
 * pass ends, so an item later in the same pass is recognized and skipped.
 */
#include "evloop.h"
#include "dr_err.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef enum { E_SOCKET, E_FD, E_SOURCE, E_TIMER } e_kind_t;

typedef struct {
    dr_loop_id_t id;
    e_kind_t kind;
    int prio;
    int dead;
    void *sock;
    int fd;
    short events;
    dr_loop_io_fn *io;
    dr_loop_timer_fn *tfn;
    void *arg;
    const dr_loop_source_t *ops;
    int64_t due;      /* timers: mono ms */
    int64_t interval; /* timers: 0 = once */
} entry_t;

/* Which entry (and, for a source, which fd) a poll item belongs to. */
typedef struct {
    entry_t *e;
    int fd;
} ref_t;

struct dr_loop {
    entry_t **entries;
    size_t n, cap;
    dr_loop_id_t next_id;
    zmq_pollitem_t *items;
    ref_t *refs;
    size_t items_cap;
    int in_pass;
    int ndead;
};

dr_loop_t *dr_loop_new(void)
{
    dr_loop_t *self = dr_calloc(1, sizeof *self);
    self->next_id = 1;
    return self;
}

static void s_compact(dr_loop_t *self)
{
    size_t k = 0;
    for (size_t i = 0; i < self->n; i++) {
        if (self->entries[i]->dead)
            free(self->entries[i]);
        else
            self->entries[k++] = self->entries[i];
    }
    self->n = k;
    self->ndead = 0;
}

void dr_loop_destroy(dr_loop_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    dr_loop_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        free(self->entries[i]);
    free(self->entries);
    free(self->items);
    free(self->refs);
    free(self);
    *self_p = NULL;
}

static entry_t *s_add(dr_loop_t *self, e_kind_t kind, int prio)
{
    if (self->n == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 16;
        self->entries =
            dr_realloc(self->entries, self->cap * sizeof *self->entries);
    }
    entry_t *e = dr_calloc(1, sizeof *e);
    e->id = self->next_id++;
    e->kind = kind;
    e->prio = prio;
    e->fd = -1;
    /* after every entry of the same or a lower priority */
    size_t at = self->n;
    while (at > 0 && self->entries[at - 1]->prio > prio)
        at--;
    memmove(&self->entries[at + 1], &self->entries[at],
            (self->n - at) * sizeof *self->entries);
    self->entries[at] = e;
    self->n++;
    return e;
}

static entry_t *s_find(dr_loop_t *self, dr_loop_id_t id)
{
    if (id == 0)
        return NULL;
    for (size_t i = 0; i < self->n; i++)
        if (self->entries[i]->id == id && !self->entries[i]->dead)
            return self->entries[i];
    return NULL;
}

dr_loop_id_t dr_loop_add_socket(dr_loop_t *self, void *sock, int prio,
                                dr_loop_io_fn *fn, void *arg)
{
    entry_t *e = s_add(self, E_SOCKET, prio);
    e->sock = sock;
    e->events = ZMQ_POLLIN;
    e->io = fn;
    e->arg = arg;
    return e->id;
}

dr_loop_id_t dr_loop_add_fd(dr_loop_t *self, int fd, short events, int prio,
                            dr_loop_io_fn *fn, void *arg)
{
    entry_t *e = s_add(self, E_FD, prio);
    e->fd = fd;
    e->events = events;
    e->io = fn;
    e->arg = arg;
    return e->id;
}

void dr_loop_set_events(dr_loop_t *self, dr_loop_id_t id, short events)
{
    entry_t *e = s_find(self, id);
    if (e && (e->kind == E_FD || e->kind == E_SOCKET))
        e->events = events;
}

dr_loop_id_t dr_loop_add_source(dr_loop_t *self, const dr_loop_source_t *ops,
                                void *src, int prio)
{
    entry_t *e = s_add(self, E_SOURCE, prio);
    e->ops = ops;
    e->arg = src;
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
    return e->id;
}

void dr_loop_timer_set(dr_loop_t *self, dr_loop_id_t id, int64_t due)
{
    entry_t *e = s_find(self, id);
    if (e && e->kind == E_TIMER)
        e->due = due;
}

void dr_loop_remove(dr_loop_t *self, dr_loop_id_t id)
{
    entry_t *e = s_find(self, id);
    if (!e)
        return;
    e->dead = 1;
    self->ndead++;
    if (!self->in_pass)
        s_compact(self);
}

static int64_t s_source_timer(const entry_t *e)
{
    return e->ops->timer ? e->ops->timer(e->arg) : INT64_MAX;
}

int64_t dr_loop_next_due(dr_loop_t *self)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < self->n; i++) {
        entry_t *e = self->entries[i];
        int64_t due = INT64_MAX;
        if (e->dead)
            continue;
        if (e->kind == E_TIMER)
            due = e->due;
        else if (e->kind == E_SOURCE)
            due = s_source_timer(e);
        if (due < next)
            next = due;
    }
    return next;
}

static void s_item(dr_loop_t *self, size_t *n, void *sock, int fd, short events,
                   entry_t *e)
{
    if (*n == self->items_cap) {
        self->items_cap = self->items_cap ? self->items_cap * 2 : 64;
        self->items =
            dr_realloc(self->items, self->items_cap * sizeof *self->items);
        self->refs =
            dr_realloc(self->refs, self->items_cap * sizeof *self->refs);
    }
    self->items[*n] = (zmq_pollitem_t){sock, fd, events, 0};
    self->refs[*n] = (ref_t){e, fd};
    (*n)++;
}

/* The poll set of this pass, in priority order. */
static size_t s_build(dr_loop_t *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n; i++) {
        entry_t *e = self->entries[i];
        if (e->dead)
            continue;
        if (e->kind == E_SOCKET || e->kind == E_FD) {
            if (e->events)
                s_item(self, &n, e->sock, e->fd, e->events, e);
        } else if (e->kind == E_SOURCE && e->ops->nfds && e->ops->fd) {
            size_t k = e->ops->nfds(e->arg);
            for (size_t j = 0; j < k; j++) {
                int r = 0, w = 0;
                int fd = e->ops->fd(e->arg, j, &r, &w);
                short ev =
                    (short)((r ? ZMQ_POLLIN : 0) | (w ? ZMQ_POLLOUT : 0));
                if (fd >= 0 && ev)
                    s_item(self, &n, NULL, fd, ev, e);
            }
        }
    }
    return n;
}

static void s_dispatch(dr_loop_t *self, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        short rev = self->items[i].revents;
        entry_t *e = self->refs[i].e;
        if (!rev || e->dead)
            continue;
        if (e->kind == E_SOURCE) {
            if (e->ops->on_fd)
                e->ops->on_fd(e->arg, self->refs[i].fd,
                              !!(rev & (ZMQ_POLLIN | ZMQ_POLLERR)),
                              !!(rev & ZMQ_POLLOUT));
        } else if (e->io) {
            e->io(self, e->arg, rev);
        }
    }
}

/* Runs what is due now; entries added meanwhile wait for the next pass. */
static void s_run_due(dr_loop_t *self)
{
    int64_t now = dr_mono_ms();
    size_t n = self->n;
    for (size_t i = 0; i < n && i < self->n; i++) {
        entry_t *e = self->entries[i];
        if (e->dead)
            continue;
        if (e->kind == E_TIMER && e->due <= now) {
            if (e->interval) {
                e->due += e->interval;
                if (e->due <= now) /* fell behind: no burst of catch-ups */
                    e->due = now + e->interval;
            } else {
                e->dead = 1;
                self->ndead++;
            }
            e->tfn(self, e->arg);
        } else if (e->kind == E_SOURCE && e->ops->on_timer &&
                   s_source_timer(e) <= now) {
            e->ops->on_timer(e->arg);
        }
    }
}

int dr_loop_once(dr_loop_t *self, int max_wait_ms)
{
    int rc = 0;
    self->in_pass = 1;
    size_t n = s_build(self);
    int64_t next = dr_loop_next_due(self);
    long wait = max_wait_ms;
    if (next != INT64_MAX) {
        int64_t until = next - dr_mono_ms();
        if (until < 0)
            until = 0;
        if (max_wait_ms < 0 || until < max_wait_ms)
            wait = (long)until;
    }
    int ready = zmq_poll(self->items, (int)n, wait);
    if (ready < 0) {
        if (errno != EINTR) {
            log_warn_errno("zmq_poll");
            rc = DR_EIO;
        }
    } else {
        if (ready > 0)
            s_dispatch(self, n);
        s_run_due(self);
    }
    self->in_pass = 0;
    if (self->ndead)
        s_compact(self);
    return rc;
}
