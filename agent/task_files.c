/* task_files.c - a task's files (issue 16): the job's code unpacked as
 * the task's working directory before its program starts, the named
 * output folders made there, and, when the task ends, its outputs/ folder
 * packed for the scheduler (sent with the final TaskUpdate, and again
 * with every resend of it until the scheduler acks).
 *
 * What comes from the scheduler is checked again here (dr_tar.h: no path
 * out of the task dir, no device, bounded size); a code archive that
 * cannot be unpacked fails the task with the reason.  Packing is done in
 * the loop: at most DR_TAR_OUTPUTS_MAX bytes, typically milliseconds.
 */
#include "agent_int.h"
#include "dr_tar.h"
#include "log.h"
#include "runtime_docker.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* below the 8 MiB message limit with the report around it */
#define TASK_OUTPUTS_MAX (7u << 20)

int task_files_prepare(node_t *node, task_t *t, const Drover__TaskStart *ts,
                       const char *task_dir, char *why, size_t cap)
{
    (void)node;
    t->files_dir = dr_strdup(task_dir);
    if (dr_mkdirs(task_dir, 0755) < 0) {
        snprintf(why, cap, "create task dir '%s': %s", task_dir,
                 strerror(errno));
        return DR_EIO;
    }
    if (ts->code.len) {
        static const dr_tar_limits_t lim = {DR_TAR_MAX_UNPACKED,
                                            DR_TAR_MAX_ENTRIES, 1};
        char err[256];
        int rc = dr_tar_extract(ts->code.data, ts->code.len, task_dir, NULL,
                                &lim, err, sizeof err);
        if (rc < 0) {
            snprintf(why, cap, "cannot unpack the job's code: %s", err);
            return rc;
        }
        log_info("job %" PRIu64 " attempt %u: unpacked its code (%zu bytes, "
                 "%d entries) into %s",
                 t->job_id, t->attempt, ts->code.len, rc, task_dir);
    }
    for (size_t i = 0; i < ts->n_outputs; i++) {
        if (!dr_valid_name(ts->outputs[i])) {
            snprintf(why, cap, "output '%.64s' is not a name", ts->outputs[i]);
            return DR_EINVAL;
        }
        char *d = dr_asprintf("%s/outputs/%s", task_dir, ts->outputs[i]);
        int rc = dr_mkdirs(d, 0777);
        if (rc == 0 && chmod(d, 0777) < 0) /* a container's user writes */
            rc = -1;
        if (rc < 0)
            snprintf(why, cap, "create output folder '%s': %s", d,
                     strerror(errno));
        free(d);
        if (rc < 0)
            return DR_EIO;
    }
    return 0;
}

void task_files_env(const Drover__TaskStart *ts, const char *inner, envv_t *env)
{
    /* as Azure ML names a command job's outputs */
    for (size_t i = 0; i < ts->n_outputs; i++)
        envv_put(env, dr_asprintf("AZURE_ML_OUTPUT_%s=%s/outputs/%s",
                                  ts->outputs[i], inner, ts->outputs[i]));
}

void task_files_collect(node_t *node, task_t *t)
{
    if (!t->files_dir || t->outputs_done)
        return;
    t->outputs_done = 1;
    char *dir = dr_asprintf("%s/outputs", t->files_dir);
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(dir);
        return; /* nothing to collect */
    }
    char why[256];
    dr_tar_src_t src = {dir, ""};
    int rc =
        dr_tar_pack(&src, 1, TASK_OUTPUTS_MAX, &t->outputs, why, sizeof why);
    if (rc < 0) {
        dr_buf_free(&t->outputs);
        agent_set_str(&t->outputs_error, why);
        log_warn("job %" PRIu64 " attempt %u on node %s: outputs not "
                 "collected: %s",
                 t->job_id, t->attempt, node->name, why);
    } else {
        log_info("job %" PRIu64 " attempt %u on node %s: collected %s (%zu "
                 "bytes packed)",
                 t->job_id, t->attempt, node->name, dir, t->outputs.len);
    }
    free(dir);
}

void task_files_fill(const task_t *t, Drover__TaskUpdate *up)
{
    if (t->state < TASK_ST(EXITED))
        return;
    up->outputs.data = (uint8_t *)t->outputs.data;
    up->outputs.len = t->outputs.len;
    up->outputs_error = t->outputs_error;
}

void task_files_free(task_t *t)
{
    dr_buf_free(&t->outputs);
    free(t->outputs_error);
    free(t->files_dir);
    t->outputs_error = t->files_dir = NULL;
}
