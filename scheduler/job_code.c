/* job_code.c - a job's files: the code it was submitted with and the
 * outputs its nodes collected (issue 16).
 *
 * The code is a gzip tar (the CLI's --code and YAML code:, the SDK's
 * code=, inputs given as local paths under inputs/NAME) of at most
 * --max-code-size.  It is checked entry by entry at submission (paths,
 * types, the unpacked size: dr_tar.h), stored once in table job_files in
 * the submission's transaction, and read back for each TaskStart, where
 * the agent unpacks it as the task's working directory.  The spec keeps
 * only its size and the job whose row holds it: an array's elements and
 * a rerun share the first job's archive.
 *
 * Outputs: when a task ends, its agent packs the task dir's outputs/
 * folder and sends it with the final TaskUpdate; it is stored per node
 * rank (the last attempt's), up to --max-output-size, and served to
 * `drover job download` one rank per reply.
 */
#include "dr_err.h"
#include "dr_tar.h"
#include "log.h"
#include "sched_int.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#define MAX_OUTPUTS 64

static const dr_tar_limits_t s_code_limits = {DR_TAR_MAX_UNPACKED,
                                              DR_TAR_MAX_ENTRIES, 1};

int job_code_check(const sched_t *s, const Drover__Job *j, char *why,
                   size_t cap)
{
    if (j->code_size || j->code_job_id) {
        snprintf(why, cap,
                 "code_size and code_job_id are read-only: send "
                 "the archive as code");
        return DR_EINVAL;
    }
    if (j->n_outputs > MAX_OUTPUTS) {
        snprintf(why, cap, "more than %d outputs", MAX_OUTPUTS);
        return DR_EINVAL;
    }
    for (size_t i = 0; i < j->n_outputs; i++)
        if (!j->outputs[i] || !dr_valid_name(j->outputs[i])) {
            snprintf(why, cap,
                     "output '%.64s': not a name (1-63 letters, digits, - "
                     "and _)",
                     j->outputs[i] ? j->outputs[i] : "");
            return DR_EINVAL;
        }
    if (!j->code.len)
        return 0;
    uint64_t max = (uint64_t)s->opts.max_code_mb << 20;
    if (j->code.len > max) {
        snprintf(why, cap,
                 "the code archive is %zu bytes, over this scheduler's "
                 "--max-code-size (%lld MiB): leave data out of the code "
                 "folder and read it from the nodes",
                 j->code.len, (long long)s->opts.max_code_mb);
        return DR_ETOOBIG;
    }
    char err[200];
    if (dr_tar_check(j->code.data, j->code.len, &s_code_limits, err,
                     sizeof err) < 0) {
        snprintf(why, cap, "code archive refused: %s", err);
        return DR_EINVAL;
    }
    return 0;
}

void job_code_spec(const Drover__Job *m, Drover__Job *spec)
{
    spec->n_outputs = m->n_outputs;
    spec->outputs = m->outputs;
    spec->code_size = m->code.len ? m->code.len : m->code_size;
    spec->code_job_id = m->code.len ? 0 : m->code_job_id;
}

int job_code_save(sched_t *s, uint64_t id, const Drover__Job *m)
{
    if (!m->code.len)
        return 0;
    return store_file_put(s->store, id, STORE_FILE_CODE, 0, m->code.data,
                          m->code.len);
}

uint64_t job_code_owner(uint64_t id, const Drover__Job *spec)
{
    if (!spec->code_size)
        return 0;
    return spec->code_job_id ? spec->code_job_id : id;
}

int job_code_attach(sched_t *s, uint64_t id, const Drover__Job *spec,
                    Drover__TaskStart *ts, uint8_t **buf)
{
    *buf = NULL;
    ts->n_outputs = spec->n_outputs;
    ts->outputs = spec->outputs;
    uint64_t owner = job_code_owner(id, spec);
    if (!owner)
        return 0;
    size_t len = 0;
    int rc = store_file_get(s->store, owner, STORE_FILE_CODE, 0, buf, &len);
    if (rc < 0) {
        log_error("job %llu: its code (job %llu's, %llu bytes) cannot be "
                  "read from the store: %s",
                  (unsigned long long)id, (unsigned long long)owner,
                  (unsigned long long)spec->code_size, dr_strerror(rc));
        return rc;
    }
    ts->code.data = *buf;
    ts->code.len = len;
    return 0;
}

void job_outputs_put(sched_t *s, job_t *j, uint32_t rank,
                     const Drover__TaskUpdate *up)
{
    const char *node = j->tasks[rank].node->name;
    char line[400];
    line[0] = '\0';
    uint64_t max = (uint64_t)s->opts.max_output_mb << 20;
    if (up->outputs_error && *up->outputs_error) {
        snprintf(line, sizeof line,
                 "[drover: the outputs of node %s (node rank %u) were not "
                 "collected: %.250s]\n",
                 node, rank, up->outputs_error);
    } else if (up->outputs.len > max) {
        snprintf(line, sizeof line,
                 "[drover: the outputs of node %s (node rank %u) are %zu "
                 "bytes packed, over --max-output-size (%lld MiB): not "
                 "kept]\n",
                 node, rank, up->outputs.len, (long long)s->opts.max_output_mb);
    } else if (up->outputs.len) {
        char err[200];
        static const dr_tar_limits_t lim = {DR_TAR_MAX_UNPACKED,
                                            DR_TAR_MAX_ENTRIES, 0};
        if (dr_tar_check(up->outputs.data, up->outputs.len, &lim, err,
                         sizeof err) < 0)
            snprintf(line, sizeof line,
                     "[drover: the outputs of node %s (node rank %u) were "
                     "refused: %.250s]\n",
                     node, rank, err);
        else if (store_file_put(s->store, j->id, STORE_FILE_OUTPUTS, rank,
                                up->outputs.data, up->outputs.len) < 0)
            log_error("job %llu: cannot store the outputs of node %s",
                      (unsigned long long)j->id, node);
    }
    if (line[0]) {
        log_warn("job %llu: %.*s", (unsigned long long)j->id,
                 (int)strlen(line) - 1, line);
        job_log_line(s, j->id, line);
    }
}

void job_outputs_reset(sched_t *s, const job_t *j)
{
    if (j->attempts > 1)
        (void)store_file_clear(s->store, j->id, STORE_FILE_OUTPUTS);
}

int job_outputs_get(sched_t *s, uint64_t id, uint32_t rank, uint8_t **data,
                    size_t *len)
{
    return store_file_get(s->store, id, STORE_FILE_OUTPUTS, rank, data, len);
}
