/* mpi_tag.c - OpenMPI's output tags made node names (see mpi.h).
 *
 * With orte_tag_output, mpirun starts every piece a rank writes with
 * "[JOB,RANK]<stdout>:" (or <stderr>), and again after every newline
 * inside the piece.  A rank that writes part of a line ("test ... ", then
 * "ok\n" later) gets a tag before each part, and another rank's piece may
 * come in between: "[1,1]<stderr>:testA ... [1,0]<stderr>:testB ...
 * [1,1]<stderr>:ok\n".  So a tag is looked for wherever it appears (not
 * only at a line's start), the text after it is that rank's until the
 * next tag or newline, and each rank keeps its own partial line until its
 * newline comes: the output above becomes "[b rank 1] testA ... ok" and,
 * once rank 0 ends its line, "[a rank 0] testB ...".  A tag cut in two by
 * a read is held until the rest arrives.  Text after a newline and before
 * the next tag is mpirun's own (its error messages): it passes untagged.
 *
 * It owns the partial lines of every rank it has seen (at most
 * TAG_MAX_RANKS of them; beyond that a rank's pieces pass as they come)
 * and never holds more than TAG_LINE_MAX bytes of one line.
 */
#include "mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_LINE_MAX (64u << 10)
#define TAG_MAX_RANKS 4096
#define TAG_DIGITS_MAX 10

typedef struct {
    int stream;
    unsigned long rank;
    dr_buf_t line;
} s_carry_t;

struct mpi_tagger {
    char **hosts;
    size_t nhosts;
    uint32_t slots;
    char *node;        /* set: every line is this node's */
    int tags;          /* rank tags are read (not for a plain job) */
    char culprit[256]; /* mpirun's word on the first rank that died */
    int has_cur[2];    /* per stream: the text now is cur[s]'s */
    unsigned long cur[2];
    dr_buf_t pend[2];  /* a tag cut by a read */
    dr_buf_t plain[2]; /* an untagged partial line per stream */
    s_carry_t *carry;  /* the ranks' partial lines */
    size_t ncarry;
};

mpi_tagger_t *mpi_tagger_new(char *const *hosts, size_t nhosts, uint32_t slots)
{
    mpi_tagger_t *self = dr_calloc(1, sizeof *self);
    self->hosts = dr_calloc(nhosts ? nhosts : 1, sizeof *self->hosts);
    for (size_t i = 0; i < nhosts; i++)
        self->hosts[i] = dr_strdup(hosts[i]);
    self->nhosts = nhosts;
    self->slots = slots ? slots : 1;
    self->tags = 1;
    return self;
}

mpi_tagger_t *mpi_tagger_new_node(const char *node)
{
    mpi_tagger_t *self = mpi_tagger_new(NULL, 0, 1);
    self->node = dr_strdup(node);
    self->tags = 0;
    return self;
}

mpi_tagger_t *mpi_tagger_new_local(const char *node)
{
    mpi_tagger_t *self = mpi_tagger_new_node(node);
    self->tags = 1;
    return self;
}

void mpi_tagger_destroy(mpi_tagger_t **self_p)
{
    mpi_tagger_t *self = *self_p;
    if (!self)
        return;
    free(self->node);
    for (size_t i = 0; i < self->nhosts; i++)
        free(self->hosts[i]);
    free(self->hosts);
    for (int s = 0; s < 2; s++) {
        dr_buf_free(&self->pend[s]);
        dr_buf_free(&self->plain[s]);
    }
    for (size_t i = 0; i < self->ncarry; i++)
        dr_buf_free(&self->carry[i].line);
    free(self->carry);
    free(self);
    *self_p = NULL;
}

const char *mpi_tagger_culprit(const mpi_tagger_t *self)
{
    return self && self->culprit[0] ? self->culprit : NULL;
}

/* Keeps what mpirun says of the first rank that died: "mpirun noticed
 * that process rank 3 with PID 0 on node b exited on signal 9 (Killed)." */
static void s_culprit(mpi_tagger_t *self, const char *line, size_t n)
{
    const char *noticed =
        self->culprit[0] ? NULL
                         : memmem(line, n, "noticed that process rank ", 26);
    if (!noticed)
        return;
    const char *from = noticed + 21; /* "rank ..." */
    size_t len = (size_t)(line + n - from);
    while (len && (from[len - 1] == '\n' || from[len - 1] == '.' ||
                   from[len - 1] == '\r'))
        len--;
    snprintf(self->culprit, sizeof self->culprit, "MPI %.*s",
             (int)(len > 200 ? 200 : len), from);
}

/* One line (with its '\n', if any) of rank `rank` (has_rank) or of no
 * rank, named. */
static void s_emit(mpi_tagger_t *self, int has_rank, unsigned long rank,
                   const char *line, size_t n, dr_buf_t *out)
{
    if (!n)
        return;
    s_culprit(self, line, n);
    if (has_rank) {
        size_t node = rank / self->slots;
        const char *name = self->node            ? self->node
                           : node < self->nhosts ? self->hosts[node]
                                                 : "?";
        dr_buf_printf(out, "[%s rank %lu] ", name, rank);
    } else if (self->node) {
        dr_buf_printf(out, "[%s] ", self->node);
    }
    dr_buf_append(out, line, n);
}

/* "[J,R]<stdout>:" or "<stderr>:" at p: 1 (its length in *len, R in
 * *rank), 0 when p ends inside what could still become one, -1 not. */
static int s_tag_at(const char *p, size_t n, unsigned long *rank, size_t *len)
{
    size_t i = 1;
    unsigned long num[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        size_t d = 0;
        for (; i < n && p[i] >= '0' && p[i] <= '9'; i++, d++) {
            if (d == TAG_DIGITS_MAX)
                return -1;
            num[k] = num[k] * 10 + (unsigned long)(p[i] - '0');
        }
        if (i == n)
            return 0;
        if (d == 0 || p[i] != (k == 0 ? ',' : ']'))
            return -1;
        i++;
    }
    static const char *const word[2] = {"<stdout>:", "<stderr>:"};
    int ok[2] = {1, 1};
    for (size_t w = 0; w < 9; w++, i++) {
        if (i == n)
            return ok[0] || ok[1] ? 0 : -1;
        ok[0] = ok[0] && p[i] == word[0][w];
        ok[1] = ok[1] && p[i] == word[1][w];
        if (!ok[0] && !ok[1])
            return -1;
    }
    *rank = num[1];
    *len = i;
    return 1;
}

/* The partial line of rank r on stream s, or NULL past TAG_MAX_RANKS. */
static dr_buf_t *s_carry_of(mpi_tagger_t *self, int s, unsigned long r)
{
    for (size_t i = 0; i < self->ncarry; i++)
        if (self->carry[i].stream == s && self->carry[i].rank == r)
            return &self->carry[i].line;
    if (self->ncarry == TAG_MAX_RANKS)
        return NULL;
    self->carry =
        dr_realloc(self->carry, (self->ncarry + 1) * sizeof *self->carry);
    s_carry_t *c = &self->carry[self->ncarry++];
    memset(c, 0, sizeof *c);
    c->stream = s;
    c->rank = r;
    return &c->line;
}

/* A plain job's lines: the node before each. */
static void s_feed_plain(mpi_tagger_t *self, int s, const char *data, size_t n,
                         int eof, dr_buf_t *out)
{
    dr_buf_t *carry = &self->plain[s];
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(data + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (data + i)) + 1 : n - i;
        dr_buf_append(carry, data + i, len);
        if (nl || carry->len >= TAG_LINE_MAX) {
            s_emit(self, 0, 0, carry->data, carry->len, out);
            carry->len = 0;
        }
        i += len;
    }
    if (eof && carry->len) {
        s_emit(self, 0, 0, carry->data, carry->len, out);
        carry->len = 0;
    }
}

/* n bytes of text of stream s's current owner (a rank, or none); nl: they
 * end with its newline, which ends its line. */
static void s_piece(mpi_tagger_t *self, int s, const char *p, size_t n, int nl,
                    dr_buf_t *out)
{
    int has = self->has_cur[s];
    unsigned long r = self->cur[s];
    dr_buf_t *c = has ? s_carry_of(self, s, r) : &self->plain[s];
    if (!c) { /* too many ranks to keep lines for: as it comes */
        s_emit(self, 1, r, p, n, out);
    } else {
        dr_buf_append(c, p, n);
        if (nl || c->len >= TAG_LINE_MAX) {
            s_emit(self, has, r, c->data, c->len, out);
            c->len = 0;
        }
    }
    if (nl)
        self->has_cur[s] = 0; /* after a newline, a tag comes again */
}

void mpi_tagger_feed(mpi_tagger_t *self, int stream, const char *data, size_t n,
                     int eof, dr_buf_t *out)
{
    int s = stream ? 1 : 0;
    if (!self->tags) {
        s_feed_plain(self, s, data, n, eof, out);
        return;
    }
    dr_buf_t joined = {0};
    const char *p = data;
    size_t len = n;
    if (self->pend[s].len) {
        dr_buf_append(&joined, self->pend[s].data, self->pend[s].len);
        dr_buf_append(&joined, data, n);
        self->pend[s].len = 0;
        p = joined.data;
        len = joined.len;
    }
    size_t i = 0;
    while (i < len) {
        if (p[i] == '[') {
            unsigned long r = 0;
            size_t tl = 0;
            int k = s_tag_at(p + i, len - i, &r, &tl);
            if (k == 1) {
                self->has_cur[s] = 1;
                self->cur[s] = r;
                i += tl;
                continue;
            }
            if (k == 0 && !eof) {
                dr_buf_append(&self->pend[s], p + i, len - i);
                break;
            }
        }
        size_t j = p[i] == '[' ? i + 1 : i;
        while (j < len && p[j] != '\n' && p[j] != '[')
            j++;
        int nl = j < len && p[j] == '\n';
        if (nl)
            j++;
        s_piece(self, s, p + i, j - i, nl, out);
        i = j;
    }
    if (eof) {
        for (size_t c = 0; c < self->ncarry; c++) {
            s_carry_t *k = &self->carry[c];
            if (k->stream == s && k->line.len) {
                s_emit(self, 1, k->rank, k->line.data, k->line.len, out);
                k->line.len = 0;
            }
        }
        s_emit(self, 0, 0, self->plain[s].data, self->plain[s].len, out);
        self->plain[s].len = 0;
        self->has_cur[s] = 0;
    }
    dr_buf_free(&joined);
}
