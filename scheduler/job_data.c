/* job_data.c - a job's persistent forms: its row in the store, its tasks
 * rows, its output log (chunks in the store), and its row read back
 * into memory after a restart.
 *
 * It changes no job's state (job_mgr.c does) and sends nothing.
 */
#include "dr_err.h"
#include "log.h"
#include "sched_int.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *s_job_states[] = {"queued",    "starting", "running",
                                     "succeeded", "failed",   "canceled",
                                     "timeout"};
#define S_NSTATES (sizeof s_job_states / sizeof s_job_states[0])

const char *job_state_name(job_state_t s)
{
    return (unsigned)s < S_NSTATES ? s_job_states[s] : "unknown";
}

int job_state_parse(const char *s, job_state_t *out)
{
    for (int i = 0; i < (int)S_NSTATES; i++) {
        if (s && strcmp(s, s_job_states[i]) == 0) {
            *out = (job_state_t)i;
            return 0;
        }
    }
    return DR_EINVAL;
}

int job_state_terminal(job_state_t s)
{
    return s == JOB_SUCCEEDED || s == JOB_FAILED || s == JOB_CANCELED ||
           s == JOB_TIMEOUT;
}

void job_free(job_t *j)
{
    free(j->fail_reason);
    free(j->tasks);
    free(j->gpu_assign);
    free(j->name);
    free(j->reason);
    free(j->owner);
    free(j->spec);
    free(j->deps);
    free(j->hold_reason);
    free(j);
}

void job_row(const job_t *j, store_job_t *row)
{
    memset(row, 0, sizeof *row);
    row->id = j->id;
    snprintf(row->name, sizeof row->name, "%s", j->name);
    snprintf(row->cluster, sizeof row->cluster, "%s", j->cluster->cfg.name);
    snprintf(row->state, sizeof row->state, "%s", job_state_name(j->state));
    row->priority = j->priority;
    row->cpus = j->cpus;
    row->memory_mb = j->memory_mb;
    row->nodes = j->nodes;
    row->procs_per_node = j->procs_per_node;
    row->gpus = j->gpus;
    row->max_retries = j->max_retries;
    row->time_limit_ms = j->time_limit_ms;
    row->attempts = j->attempts;
    row->exit_code = j->exit_code;
    row->has_exit_code = j->has_exit_code;
    snprintf(row->reason, sizeof row->reason, "%s", j->reason);
    size_t off = 0;
    for (uint32_t i = 0; i < j->ntasks && off < sizeof row->node_names; i++)
        off += (size_t)snprintf(row->node_names + off,
                                sizeof row->node_names - off, "%s%s",
                                i ? "," : "", j->tasks[i].node->name);
    snprintf(row->owner, sizeof row->owner, "%s", j->owner);
    snprintf(row->gpu_indices, sizeof row->gpu_indices, "%s",
             j->gpu_assign ? j->gpu_assign : "");
    row->preemptions = j->preemptions;
    row->submitted_at_ms = j->submitted_at_ms;
    row->started_at_ms = j->started_at_ms;
    row->ended_at_ms = j->ended_at_ms;
    row->spec = j->spec;
    row->spec_len = j->spec_len;
}

int job_save(sched_t *self, job_t *j)
{
    store_job_t row;
    job_row(j, &row);
    int rc = store_job_update(self->store, &row);
    if (rc < 0)
        log_error("job %llu: cannot save state", (unsigned long long)j->id);
    return rc;
}

void job_task_rows(sched_t *self, const job_t *j, const char *nodes,
                   const char *state, int exit_code, const char *reason)
{
    while (*nodes) {
        size_t len = strcspn(nodes, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)len, nodes);
        (void)store_task_put(self->store, j->id, j->attempts, name, state,
                             exit_code, reason, dr_now_ms());
        nodes += len + (nodes[len] == ',');
    }
}

int job_lookup(sched_t *self, uint64_t id, store_job_t *row)
{
    job_t *j = sched_job_find(self, id);
    if (j) {
        job_row(j, row);
        row->spec = dr_malloc(j->spec_len);
        memcpy(row->spec, j->spec, j->spec_len);
        return 0;
    }
    return store_job_get(self->store, id, row);
}

void job_row_clear(store_job_t *row)
{
    store_job_clear(row);
}

int job_owner(sched_t *self, uint64_t id, char *owner, size_t cap)
{
    const job_t *j = id ? sched_job_find(self, id) : NULL;
    if (j) {
        snprintf(owner, cap, "%s", j->owner);
        return 0;
    }
    store_job_t row;
    if (!id || store_job_get(self->store, id, &row) < 0)
        return DR_ENOENT;
    snprintf(owner, cap, "%s", row.owner);
    store_job_clear(&row);
    return 0;
}

int job_list(sched_t *self, const store_job_filter_t *f, store_job_cb cb,
             void *arg, int *more)
{
    return store_job_list(self->store, f, cb, arg, more);
}

/* Appends to a log of `*size` bytes, counting what it adds to the total;
 * a failure is the store's (logged there, and the pass not committed). */
static void s_log_put(sched_t *self, uint64_t id, uint64_t *size,
                      const void *data, size_t len, const store_log_src_t *from)
{
    if (len == 0 ||
        store_log_append(self->store, id, *size, data, len, from) < 0)
        return;
    *size += len;
    self->log_bytes += (int64_t)len;
}

void job_log_line(sched_t *self, uint64_t id, const char *line)
{
    uint64_t size = 0;
    if (store_log_size(self->store, id, &size) == 0)
        s_log_put(self, id, &size, line, strlen(line), NULL);
}

/* Appends a chunk to a log of `*size` bytes, cut at the job's limit: the
 * part that fits, then one line that says the rest is dropped.  A log of
 * exactly the limit has no such line yet (a chunk may have ended right
 * there): the next chunk writes it; past the limit, chunks are dropped. */
static void s_log_chunk(sched_t *self, uint64_t id, uint64_t *size,
                        const uint8_t *data, size_t len,
                        const store_log_src_t *from)
{
    uint64_t cap = self->opts.job_log_limit_mb > 0
                       ? (uint64_t)self->opts.job_log_limit_mb << 20
                       : UINT64_MAX;
    if (*size > cap)
        return;
    size_t n = len;
    if (n > cap - *size)
        n = (size_t)(cap - *size);
    s_log_put(self, id, size, data, n, from);
    if (n < len) {
        char cut[200];
        int cn = snprintf(cut, sizeof cut,
                          "\n[drover: output cut: this job's log reached "
                          "its limit of %lld MiB (job-log-limit); the rest of "
                          "its output was dropped]\n",
                          (long long)self->opts.job_log_limit_mb);
        s_log_put(self, id, size, cut, (size_t)cn, NULL);
        log_warn("job %llu: output cut at %lld MiB", (unsigned long long)id,
                 (long long)self->opts.job_log_limit_mb);
    }
}

void job_output(sched_t *self, node_t *n, const Drover__TaskOutput *o)
{
    job_t *j = sched_job_find(self, o->job_id);
    /* A preempted attempt is requeued before its tasks end (NodePreempted
     * comes first): what it prints after the TERM (checkpointing) is still
     * kept until the next attempt starts. */
    int preempted_tail = j && !j->ntasks && j->state == JOB_QUEUED &&
                         j->preemptions > 0 && j->attempts == o->attempt;
    job_task_t *jt = j && j->attempts == o->attempt ? job_task_on(j, n) : NULL;
    if (!jt && !preempted_tail)
        return; /* output of a stale attempt: not kept */
    if (self->disk != DISK_OK)
        return; /* not kept: the next chunk kept says how much was lost */
    uint64_t *off = jt ? &jt->out_off[o->stream] : &j->tail_off[o->stream];
    size_t skip = 0;
    if (o->offset < *off) {
        if (o->offset + o->data.len <= *off)
            return; /* duplicate */
        skip = (size_t)(*off - o->offset);
    }
    uint64_t size = 0;
    if (store_log_size(self->store, j->id, &size) < 0)
        return; /* the store is failing: the pass is not committed */
    if (o->offset > *off) {
        char gap[96];
        int gn =
            snprintf(gap, sizeof gap, "[drover: %llu bytes of output lost]\n",
                     (unsigned long long)(o->offset - *off));
        s_log_chunk(self, j->id, &size, (const uint8_t *)gap, (size_t)gn, NULL);
    }
    /* a preempted tail counts as task 0's, as its offsets do */
    store_log_src_t from = {o->attempt,
                            (int32_t)((jt ? jt - j->tasks : 0) * 2 + o->stream),
                            o->offset + o->data.len};
    if (o->data.len > skip) /* an empty chunk may carry no pointer */
        s_log_chunk(self, j->id, &size, o->data.data + skip, o->data.len - skip,
                    &from);
    *off = o->offset + o->data.len;
}

typedef struct {
    uint64_t id;
    int64_t size;
} s_log_entry_t;

typedef struct {
    s_log_entry_t *v;
    size_t n, cap;
    int64_t total;
} s_log_scan_t;

static void s_log_seen(void *arg, uint64_t id, int64_t bytes)
{
    s_log_scan_t *sc = arg;
    if (sc->n == sc->cap) {
        sc->cap = sc->cap ? sc->cap * 2 : 256;
        sc->v = dr_realloc(sc->v, sc->cap * sizeof *sc->v);
    }
    sc->v[sc->n++] = (s_log_entry_t){id, bytes};
    sc->total += bytes;
}

void job_logs_rotate(sched_t *self)
{
    s_log_scan_t sc = {0};
    if (store_log_each(self->store, s_log_seen, &sc) < 0) {
        free(sc.v);
        return;
    }
    self->log_bytes = sc.total; /* oldest job first: ids ascend */
    int64_t limit = self->opts.log_total_limit_mb << 20;
    if (self->opts.log_total_limit_mb <= 0 || self->log_bytes <= limit) {
        free(sc.v);
        return;
    }
    char note[200];
    int nn = snprintf(note, sizeof note,
                      "[drover: this job's output was removed to keep all "
                      "job logs under %lld MiB (log-total-limit)]\n",
                      (long long)self->opts.log_total_limit_mb);
    size_t removed = 0;
    for (size_t i = 0; i < sc.n && self->log_bytes > limit / 10 * 9; i++) {
        if (sched_job_find(self, sc.v[i].id) || sc.v[i].size <= nn)
            continue; /* active, or already removed */
        uint64_t size = 0;
        if (store_log_clear(self->store, sc.v[i].id) < 0)
            break; /* the store is failing; the next pass tries again */
        self->log_bytes -= sc.v[i].size;
        s_log_put(self, sc.v[i].id, &size, note, (size_t)nn, NULL);
        removed++;
    }
    free(sc.v);
    log_info("job logs: removed the output of %zu finished jobs; all logs "
             "now %lld MiB (log-total-limit %lld MiB)",
             removed, (long long)(self->log_bytes >> 20),
             (long long)self->opts.log_total_limit_mb);
}

void job_log_read(sched_t *self, uint64_t id, uint64_t offset, uint8_t *buf,
                  uint32_t max, size_t *got, uint64_t *size)
{
    *got = 0;
    *size = 0;
    if (store_log_size(self->store, id, size) < 0 ||
        (offset < *size &&
         store_log_read(self->store, id, offset, buf, max, got) < 0))
        log_warn("job %llu: cannot read its log", (unsigned long long)id);
}

/* Copies one old log file into the store, in a transaction of its own,
 * unless the store has that job's log already (a crash between the
 * commit and the unlink); 0 when the file may go. */
static int s_import_one(sched_t *self, int dirfd, const char *name, uint64_t id,
                        uint8_t *buf, size_t cap)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return DR_EIO;
    uint64_t size = 0;
    int rc = store_begin(self->store);
    if (rc == 0)
        rc = store_log_size(self->store, id, &size);
    int fresh = size == 0;
    ssize_t n;
    while (rc == 0 && fresh && (n = read(fd, buf, cap)) != 0) {
        if (n < 0)
            rc = DR_EIO;
        else if ((rc = store_log_append(self->store, id, size, buf, (size_t)n,
                                        NULL)) == 0)
            size += (uint64_t)n;
    }
    close(fd);
    if (rc == 0)
        rc = store_commit(self->store);
    else
        (void)store_rollback(self->store);
    return rc;
}

/* Before schema 7 logs were files, <state_dir>/logs/ID.log: each is moved
 * into the store once, then removed, and the folder with them. */
void job_logs_import(sched_t *self)
{
    char *dir = dr_asprintf("%s/logs", self->opts.state_dir);
    DIR *d = opendir(dir);
    if (!d) {
        free(dir);
        return;
    }
    size_t moved = 0, left = 0;
    uint8_t *buf = dr_malloc(65536);
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end = NULL;
        unsigned long long id = strtoull(e->d_name, &end, 10);
        if (end == e->d_name || strcmp(end, ".log") != 0)
            continue;
        if (s_import_one(self, dirfd(d), e->d_name, id, buf, 65536) == 0 &&
            unlinkat(dirfd(d), e->d_name, 0) == 0)
            moved++;
        else
            left++;
    }
    free(buf);
    closedir(d);
    if (left)
        log_warn("job logs: %zu files in %s could not be moved into the "
                 "store (kept there; tried again at the next start)",
                 left, dir);
    else if (rmdir(dir) < 0)
        log_warn_errno("cannot remove %s", dir);
    if (moved)
        log_info("job logs: moved %zu log files from %s into the store", moved,
                 dir);
    free(dir);
}

/* Parses a stored "index=uuid,...;..." back into the tasks' indices. */
static void s_gpus_parse(job_t *j, const char *s)
{
    free(j->gpu_assign);
    j->gpu_assign = *s ? dr_strdup(s) : NULL;
    for (uint32_t k = 0; k < j->ntasks && *s; k++) {
        job_task_t *t = &j->tasks[k];
        t->n_gpu_idx = 0;
        const char *group_end = strchr(s, ';');
        if (!group_end)
            group_end = s + strlen(s);
        while (s < group_end && t->n_gpu_idx < DR_MAX_GPUS) {
            char *end = NULL;
            unsigned long v = strtoul(s, &end, 10);
            if (end == s)
                break;
            t->gpu_idx[t->n_gpu_idx++] = (uint32_t)v;
            const char *comma = strchr(end, ',');
            if (!comma || comma > group_end)
                break;
            s = comma + 1;
        }
        s = *group_end ? group_end + 1 : group_end;
    }
}

static job_t *s_job_from_row(cluster_t *c, const store_job_t *row)
{
    job_t *j = dr_calloc(1, sizeof *j);
    j->id = row->id;
    j->name = dr_strdup(row->name);
    j->cluster = c;
    (void)job_state_parse(row->state, &j->state);
    j->priority = row->priority;
    j->cpus = row->cpus;
    j->memory_mb = row->memory_mb;
    j->nodes = row->nodes;
    j->procs_per_node = row->procs_per_node;
    j->gpus = row->gpus;
    j->max_retries = row->max_retries;
    j->time_limit_ms = row->time_limit_ms;
    j->attempts = row->attempts;
    j->exit_code = row->exit_code;
    j->has_exit_code = row->has_exit_code;
    j->reason = dr_strdup(row->reason);
    j->owner = dr_strdup(row->owner);
    j->submitted_at_ms = row->submitted_at_ms;
    j->started_at_ms = row->started_at_ms;
    j->ended_at_ms = row->ended_at_ms;
    j->spec = dr_malloc(row->spec_len);
    memcpy(j->spec, row->spec, row->spec_len);
    j->spec_len = row->spec_len;
    j->preemptions = row->preemptions;
    Drover__Job *spec = drover__job__unpack(NULL, j->spec_len, j->spec);
    j->has_image = spec && spec->image && *spec->image;
    j->mpi = spec && spec->distribution && !strcmp(spec->distribution, "mpi");
    j->torch =
        spec && spec->distribution && !strcmp(spec->distribution, "pytorch");
    job_dist_from_spec(j, spec);
    if (spec)
        drover__job__free_unpacked(spec, NULL);
    return j;
}

/* A queued job's --dependency, held again after a restart (terms already
 * met are found met again). */
static void s_load_deps(sched_t *self, job_t *j)
{
    Drover__Job *spec = drover__job__unpack(NULL, j->spec_len, j->spec);
    if (spec && spec->dependency && *spec->dependency) {
        char why[256];
        if (job_deps_parse(self, j, spec->dependency, why, sizeof why) < 0)
            log_warn("job %llu: %s", (unsigned long long)j->id, why);
        else
            job_deps_hold(self, j);
    }
    if (spec)
        drover__job__free_unpacked(spec, NULL);
}

/* How much of a task's stream the store has (a restart, a failover): the
 * agent's chunks from there on are new, the ones before duplicates. */
static void s_log_end(void *arg, int32_t src, uint64_t end)
{
    job_t *j = arg;
    if (src >= 0 && (uint32_t)(src / 2) < j->ntasks)
        j->tasks[src / 2].out_off[src % 2] = end;
}

int job_load_row(sched_t *self, const store_job_t *row)
{
    cluster_t *c = sched_cluster_find(self, row->cluster);
    if (!c) {
        log_warn("job %llu: cluster %s is gone", (unsigned long long)row->id,
                 row->cluster);
        return 0;
    }
    job_t *j = s_job_from_row(c, row);
    dict_put_u64(self->jobs, j->id, j);
    /* the nodes it was bound to, in rank order */
    node_t *nodes[DR_MAX_JOB_NODES];
    uint32_t count = 0;
    int all_found = row->node_names[0] != '\0';
    for (const char *p = row->node_names; *p && count < DR_MAX_JOB_NODES;) {
        size_t len = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        node_t *n = sched_node_find(self, name);
        if (n)
            nodes[count++] = n;
        else
            all_found = 0;
        p += len + (p[len] == ',');
    }
    if (j->state == JOB_QUEUED) {
        queue_push(c->queue, j);
        s_load_deps(self, j);
    } else if (all_found && count) {
        /* bound again; the agents' registrations confirm or requeue it */
        j->tasks = dr_calloc(count, sizeof *j->tasks);
        j->ntasks = count;
        for (uint32_t i = 0; i < count; i++) {
            j->tasks[i].node = nodes[i];
            j->tasks[i].started = 1;
            j->tasks[i].running = j->state == JOB_RUNNING;
            node_bind(nodes[i], j);
        }
        s_gpus_parse(j, row->gpu_indices);
        (void)store_log_ends(self->store, j->id, j->attempts, s_log_end, j);
        j->start_deadline = dr_mono_ms() + self->opts.start_timeout_ms;
    } else {
        /* requeued after the scan: no writes while the SELECT runs */
        j->start_deadline = -1;
    }
    Drover__Job *spec = drover__job__unpack(NULL, j->spec_len, j->spec);
    if (spec) { /* an array element: its array's %N counted again */
        job_array_track(self, j, spec, 1);
        drover__job__free_unpacked(spec, NULL);
    }
    return 0;
}
