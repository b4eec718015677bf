/* job_data.c - a job's persistent forms: its row in the store, its tasks
 * rows, its output log under <state_dir>/logs/, and its row read back
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
    row->time_limit_s = j->time_limit_s;
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

int job_list(sched_t *self, const char *cluster, const char *state,
             uint64_t after_id, uint32_t limit, store_job_cb cb, void *arg,
             int *more)
{
    return store_job_list(self->store, cluster, state, after_id, limit, cb, arg,
                          more);
}

static char *s_log_path(const sched_t *self, uint64_t id)
{
    return dr_asprintf("%s/logs/%llu.log", self->opts.state_dir,
                       (unsigned long long)id);
}

/* Appends to a log, counting what it adds to the total. */
static void s_log_write(sched_t *self, int fd, uint64_t id, const void *data,
                        size_t len)
{
    if (len == 0)
        return;
    if (dr_write_all(fd, data, len) < 0)
        log_warn_errno("job %llu: cannot write its log",
                       (unsigned long long)id);
    else
        self->log_bytes += (int64_t)len;
}

void job_log_line(sched_t *self, uint64_t id, const char *line)
{
    char *path = s_log_path(self, id);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd >= 0) {
        s_log_write(self, fd, id, line, strlen(line));
        close(fd);
    }
    free(path);
}

/* Appends a chunk to an open log of `size` bytes, cut at the job's limit:
 * the part that fits, then one line that says the rest is dropped.  A log
 * of exactly the limit has no such line yet (a chunk may have ended right
 * there): the next chunk writes it; past the limit, chunks are dropped. */
static void s_log_chunk(sched_t *self, int fd, uint64_t id, uint64_t size,
                        const uint8_t *data, size_t len)
{
    uint64_t cap = self->opts.job_log_limit_mb > 0
                       ? (uint64_t)self->opts.job_log_limit_mb << 20
                       : UINT64_MAX;
    if (size > cap)
        return;
    size_t n = len;
    if (n > cap - size)
        n = (size_t)(cap - size);
    s_log_write(self, fd, id, data, n);
    if (n < len) {
        char cut[200];
        int cn = snprintf(cut, sizeof cut,
                          "\n[drover: output cut: this job's log reached "
                          "its limit of %lld MiB (job-log-limit); the rest of "
                          "its output was dropped]\n",
                          (long long)self->opts.job_log_limit_mb);
        s_log_write(self, fd, id, cut, (size_t)cn);
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
    char *path = s_log_path(self, j->id);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0) {
        log_warn_errno("job %llu: cannot open %s", (unsigned long long)j->id,
                       path);
    } else {
        uint64_t size = (uint64_t)sb.st_size;
        if (o->offset > *off) {
            char gap[96];
            int gn = snprintf(gap, sizeof gap,
                              "[drover: %llu bytes of output lost]\n",
                              (unsigned long long)(o->offset - *off));
            s_log_chunk(self, fd, j->id, size, (const uint8_t *)gap,
                        (size_t)gn);
            size += (uint64_t)gn;
        }
        if (o->data.len > skip) /* an empty chunk may carry no pointer */
            s_log_chunk(self, fd, j->id, size, o->data.data + skip,
                        o->data.len - skip);
    }
    if (fd >= 0)
        close(fd);
    *off = o->offset + o->data.len;
    free(path);
}

typedef struct {
    uint64_t id;
    int64_t size;
} s_log_entry_t;

static int s_log_cmp(const void *a, const void *b)
{
    uint64_t x = ((const s_log_entry_t *)a)->id;
    uint64_t y = ((const s_log_entry_t *)b)->id;
    return x < y ? -1 : x > y;
}

/* The logs in logs/, oldest job first; their total in *total. */
static s_log_entry_t *s_log_scan(sched_t *self, size_t *n, int64_t *total)
{
    char *dir = dr_asprintf("%s/logs", self->opts.state_dir);
    DIR *d = opendir(dir);
    s_log_entry_t *v = NULL;
    size_t cap = 0;
    *n = 0;
    *total = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *end = NULL;
        unsigned long long id = strtoull(e->d_name, &end, 10);
        struct stat sb;
        if (end == e->d_name || strcmp(end, ".log") != 0 ||
            fstatat(dirfd(d), e->d_name, &sb, 0) < 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            v = dr_realloc(v, cap * sizeof *v);
        }
        v[(*n)++] = (s_log_entry_t){id, (int64_t)sb.st_size};
        *total += (int64_t)sb.st_size;
    }
    if (d)
        closedir(d);
    else
        log_warn_errno("cannot read %s", dir);
    free(dir);
    if (*n)
        qsort(v, *n, sizeof *v, s_log_cmp);
    return v;
}

void job_logs_rotate(sched_t *self)
{
    size_t n = 0;
    s_log_entry_t *v = s_log_scan(self, &n, &self->log_bytes);
    int64_t limit = self->opts.log_total_limit_mb << 20;
    if (self->opts.log_total_limit_mb <= 0 || self->log_bytes <= limit) {
        free(v);
        return;
    }
    char note[200];
    int nn = snprintf(note, sizeof note,
                      "[drover: this job's output was removed to keep all "
                      "job logs under %lld MiB (log-total-limit)]\n",
                      (long long)self->opts.log_total_limit_mb);
    size_t removed = 0;
    for (size_t i = 0; i < n && self->log_bytes > limit / 10 * 9; i++) {
        if (sched_job_find(self, v[i].id) || v[i].size <= nn)
            continue; /* active, or already removed */
        char *path = s_log_path(self, v[i].id);
        int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd >= 0) {
            self->log_bytes -= v[i].size;
            s_log_write(self, fd, v[i].id, note, (size_t)nn);
            close(fd);
            removed++;
        } else {
            log_warn_errno("cannot truncate %s", path);
        }
        free(path);
    }
    free(v);
    log_info("job logs: removed the output of %zu finished jobs; all logs "
             "now %lld MiB (log-total-limit %lld MiB)",
             removed, (long long)(self->log_bytes >> 20),
             (long long)self->opts.log_total_limit_mb);
}

void job_log_read(sched_t *self, uint64_t id, uint64_t offset, uint8_t *buf,
                  uint32_t max, size_t *got, uint64_t *size)
{
    char *path = s_log_path(self, id);
    *got = 0;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat sb;
        if (fstat(fd, &sb) == 0)
            *size = (uint64_t)sb.st_size;
        if (offset < *size) {
            ssize_t n = pread(fd, buf, max, (off_t)offset);
            if (n < 0)
                log_warn_errno("job %llu: read %s", (unsigned long long)id,
                               path);
            else
                *got = (size_t)n;
        }
        close(fd);
    }
    free(path);
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
    j->time_limit_s = row->time_limit_s;
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
        j->start_deadline = dr_mono_ms() + self->opts.start_timeout_ms;
    } else {
        /* requeued after the scan: no writes while the SELECT runs */
        j->start_deadline = -1;
    }
    return 0;
}
