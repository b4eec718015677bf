/* runtime_docker_json.c - the Docker Engine API's bodies and answers:
 * the demultiplexer of a container's log stream, the body of a create,
 * the parsers of what dockerd answers (see runtime_docker.h).  Pure
 * functions: no I/O, no state; whatever the daemon sent is validated, and
 * a bad answer is an error with a reason, never a crash.
 */
#include "dr_err.h"
#include "runtime_docker.h"
#include "util.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int runtime_docker_demux_feed(runtime_docker_demux_t *d, const char *data,
                              size_t n, runtime_docker_emit_fn *emit, void *arg)
{
    while (n > 0) {
        if (d->left == 0) {
            size_t take = 8 - d->hlen;
            if (take > n)
                take = n;
            memcpy(d->hdr + d->hlen, data, take);
            d->hlen += take;
            data += take;
            n -= take;
            if (d->hlen < 8)
                return 0;
            d->hlen = 0;
            if (d->hdr[0] > 3 || d->hdr[1] || d->hdr[2] || d->hdr[3])
                return DR_EPROTO;
            d->stream =
                d->hdr[0] >= 2 ? RUNTIME_DOCKER_STDERR : RUNTIME_DOCKER_STDOUT;
            d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
                      (uint32_t)d->hdr[6] << 8 | (uint32_t)d->hdr[7];
            continue;
        }
        size_t take = d->left < n ? d->left : n;
        if (emit)
            emit(arg, d->stream, data, take);
        d->left -= (uint32_t)take;
        data += take;
        n -= take;
    }
    return 0;
}

int runtime_docker_demux_partial(const runtime_docker_demux_t *d)
{
    return d->hlen > 0 || d->left > 0;
}

int runtime_docker_valid_image(const char *image)
{
    if (!image || !image[0])
        return 0;
    size_t n = strlen(image);
    if (n > 255)
        return 0;
    if (!((image[0] >= 'a' && image[0] <= 'z') ||
          (image[0] >= 'A' && image[0] <= 'Z') ||
          (image[0] >= '0' && image[0] <= '9')))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = image[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || strchr("._:/@-", ch)))
            return 0;
    }
    return 1;
}

int runtime_docker_image_tagged(const char *image)
{
    if (strchr(image, '@'))
        return 1;
    const char *last = strrchr(image, '/');
    return strchr(last ? last + 1 : image, ':') != NULL;
}

static json_t *s_strv(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

char *runtime_docker_create_body(const runtime_docker_spec_t *spec,
                                 const char *installation)
{
    if (!spec || !runtime_docker_valid_image(spec->image) || !spec->argv ||
        !spec->argv[0] || !spec->task_dir || spec->task_dir[0] != '/' ||
        !spec->node || !installation || !installation[0])
        return NULL;
    char buf[64];
    json_t *root = json_object();
    json_object_set_new(root, "Image", json_string(spec->image));
    json_object_set_new(root, "Cmd", s_strv(spec->argv));
    json_object_set_new(root, "Env", s_strv(spec->envp));
    json_object_set_new(root, "WorkingDir",
                        json_string(RUNTIME_DOCKER_SCRATCH));
    json_object_set_new(root, "Tty", json_false());
    json_object_set_new(root, "OpenStdin", json_false());
    json_object_set_new(root, "AttachStdin", json_false());
    json_object_set_new(root, "AttachStdout", json_false());
    json_object_set_new(root, "AttachStderr", json_false());
    json_t *labels = json_object();
    snprintf(buf, sizeof buf, "%" PRIu64, spec->job_id);
    json_object_set_new(labels, "drover.job", json_string(buf));
    snprintf(buf, sizeof buf, "%u", spec->attempt);
    json_object_set_new(labels, "drover.attempt", json_string(buf));
    json_object_set_new(labels, "drover.node", json_string(spec->node));
    json_object_set_new(labels, "drover.managed", json_string("true"));
    json_object_set_new(labels, "drover.installation",
                        json_string(installation));
    json_object_set_new(root, "Labels", labels);

    json_t *hc = json_object();
    if (spec->cpus)
        json_object_set_new(hc, "NanoCpus",
                            json_integer((json_int_t)spec->cpus * 1000000000));
    if (spec->memory_mb) {
        json_int_t bytes = (json_int_t)spec->memory_mb * 1024 * 1024;
        json_object_set_new(hc, "Memory", json_integer(bytes));
        json_object_set_new(hc, "MemorySwap", json_integer(bytes));
    }
    json_object_set_new(hc, "PidsLimit",
                        json_integer(RUNTIME_DOCKER_PIDS_LIMIT));
    char *bind = dr_asprintf("%s:%s:rw",
                             spec->bind_dir ? spec->bind_dir : spec->task_dir,
                             RUNTIME_DOCKER_SCRATCH);
    json_t *binds = json_array();
    json_array_append_new(binds, json_string(bind));
    free(bind);
    json_object_set_new(hc, "Binds", binds);
    json_object_set_new(hc, "NetworkMode",
                        json_string(spec->network_mode && *spec->network_mode
                                        ? spec->network_mode
                                        : "host"));
    json_object_set_new(hc, "Privileged", json_false());
    json_t *capdrop = json_array();
    json_array_append_new(capdrop, json_string("ALL"));
    json_object_set_new(hc, "CapDrop", capdrop);
    json_t *secopt = json_array();
    json_array_append_new(secopt, json_string("no-new-privileges"));
    json_object_set_new(hc, "SecurityOpt", secopt);
    if (spec->n_gpu > 0) {
        json_t *ids = json_array();
        for (size_t i = 0; i < spec->n_gpu; i++) {
            snprintf(buf, sizeof buf, "%u", spec->gpu_indices[i]);
            json_array_append_new(ids, json_string(buf));
        }
        json_t *caps = json_array();
        json_t *inner = json_array();
        json_array_append_new(inner, json_string("gpu"));
        json_array_append_new(caps, inner);
        json_t *dr = json_object();
        json_object_set_new(dr, "Driver", json_string("nvidia"));
        json_object_set_new(dr, "DeviceIDs", ids);
        json_object_set_new(dr, "Capabilities", caps);
        json_t *drs = json_array();
        json_array_append_new(drs, dr);
        json_object_set_new(hc, "DeviceRequests", drs);
    }
    json_object_set_new(root, "HostConfig", hc);
    char *out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!out) {
        fprintf(stderr, "%s:%d: out of memory\n", __FILE__, __LINE__);
        abort();
    }
    return out;
}

static json_t *s_parse(const char *body, size_t n, char *why, size_t whylen)
{
    json_error_t e;
    json_t *j = json_loadb(body ? body : "", body ? n : 0, 0, &e);
    if (!j)
        snprintf(why, whylen, "answer is not JSON (%s, %zu bytes)", e.text, n);
    return j;
}

int runtime_docker_parse_id(const char *body, size_t n, char *id, size_t cap,
                            char *why, size_t whylen)
{
    json_t *j = s_parse(body, n, why, whylen);
    if (!j)
        return DR_EPROTO;
    const char *s = json_string_value(json_object_get(j, "Id"));
    int rc = 0;
    size_t len = s ? strlen(s) : 0;
    if (!s || len == 0 || len >= cap || strspn(s, "0123456789abcdef") != len) {
        snprintf(why, whylen, "no valid Id in the answer");
        rc = DR_EPROTO;
    } else {
        memcpy(id, s, len + 1);
    }
    json_decref(j);
    return rc;
}

int runtime_docker_parse_wait(const char *body, size_t n, int *status,
                              char *why, size_t whylen)
{
    json_t *j = s_parse(body, n, why, whylen);
    if (!j)
        return DR_EPROTO;
    json_t *sc = json_object_get(j, "StatusCode");
    int rc = 0;
    if (!json_is_integer(sc) || json_integer_value(sc) < -1 ||
        json_integer_value(sc) > 0xffff) {
        snprintf(why, whylen, "no StatusCode in the wait answer");
        rc = DR_EPROTO;
    } else {
        *status = (int)json_integer_value(sc);
    }
    json_decref(j);
    return rc;
}

int runtime_docker_parse_inspect(const char *body, size_t n,
                                 runtime_docker_state_t *st, char *why,
                                 size_t whylen)
{
    memset(st, 0, sizeof *st);
    json_t *j = s_parse(body, n, why, whylen);
    if (!j)
        return DR_EPROTO;
    json_t *s = json_object_get(j, "State");
    json_t *code = json_object_get(s, "ExitCode");
    int rc = 0;
    if (!json_is_object(s) || !json_is_integer(code)) {
        snprintf(why, whylen, "no State.ExitCode in the inspect answer");
        rc = DR_EPROTO;
    } else {
        st->exit_code = (int)json_integer_value(code);
        st->running = json_is_true(json_object_get(s, "Running"));
        st->oom_killed = json_is_true(json_object_get(s, "OOMKilled"));
        const char *e = json_string_value(json_object_get(s, "Error"));
        snprintf(st->error, sizeof st->error, "%s", e ? e : "");
    }
    json_decref(j);
    return rc;
}

int runtime_docker_parse_list(const char *body, size_t n,
                              runtime_docker_found_t **out, size_t *count,
                              char *why, size_t whylen)
{
    *out = NULL;
    *count = 0;
    json_t *j = s_parse(body, n, why, whylen);
    if (!j)
        return DR_EPROTO;
    if (!json_is_array(j)) {
        snprintf(why, whylen, "container list is not an array");
        json_decref(j);
        return DR_EPROTO;
    }
    size_t len = json_array_size(j);
    runtime_docker_found_t *v = dr_calloc(len + 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        json_t *c = json_array_get(j, i);
        const char *id = json_string_value(json_object_get(c, "Id"));
        json_t *lab = json_object_get(c, "Labels");
        const char *job = json_string_value(json_object_get(lab, "drover.job"));
        const char *att =
            json_string_value(json_object_get(lab, "drover.attempt"));
        const char *state = json_string_value(json_object_get(c, "State"));
        int64_t jv, av;
        if (!id || strlen(id) >= sizeof v[k].id ||
            strspn(id, "0123456789abcdef") != strlen(id) || !job || !att ||
            dr_parse_i64(job, 1, INT64_MAX, &jv) < 0 ||
            dr_parse_i64(att, 1, UINT32_MAX, &av) < 0)
            continue;
        snprintf(v[k].id, sizeof v[k].id, "%s", id);
        v[k].job_id = (uint64_t)jv;
        v[k].attempt = (uint32_t)av;
        v[k].running = state && strcmp(state, "running") == 0;
        const char *inst =
            json_string_value(json_object_get(lab, "drover.installation"));
        if (inst && strlen(inst) < sizeof v[k].installation &&
            strspn(inst, "0123456789abcdef") == strlen(inst))
            snprintf(v[k].installation, sizeof v[k].installation, "%s", inst);
        k++;
    }
    json_decref(j);
    *out = v;
    *count = k;
    return 0;
}

int runtime_docker_pull_error(const char *body, size_t n, char *why,
                              size_t whylen)
{
    int found = 0;
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(body + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (body + i)) : n - i;
        json_t *j = json_loadb(body + i, len, 0, NULL);
        const char *e =
            j ? json_string_value(json_object_get(j, "error")) : NULL;
        if (e) {
            snprintf(why, whylen, "%s", e);
            found = 1;
        }
        json_decref(j);
        i += len + 1;
    }
    return found;
}

void runtime_docker_error_message(const char *body, size_t n, char *out,
                                  size_t cap)
{
    json_t *j = body && n ? json_loadb(body, n, 0, NULL) : NULL;
    const char *m = j ? json_string_value(json_object_get(j, "message")) : NULL;
    if (m) {
        snprintf(out, cap, "%s", m);
    } else {
        /* a short, printable quote of what came instead */
        size_t k = 0;
        for (size_t i = 0; i < n && k + 1 < cap && i < 160; i++) {
            unsigned char ch = (unsigned char)body[i];
            out[k++] = ch >= 32 && ch < 127 ? (char)ch : ' ';
        }
        while (k > 0 && out[k - 1] == ' ')
            k--;
        if (cap)
            out[k] = '\0';
        if (k == 0)
            snprintf(out, cap, "empty answer");
    }
    json_decref(j);
}
