/* catalog.c - see catalog.h. */
#include "catalog.h"
#include "dr_err.h"
#include "util.h"
#include "vm_sizes_embedded.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct catalog {
    vm_size_t *sizes;
    size_t n;
};

/* Splits one CSV line (no quoting in this format) into at most max fields. */
static int s_split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max)
            return -1;
        fields[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static int s_parse_line(char *line, vm_size_t *vm, char *err, size_t errlen)
{
    char *f[8];
    int n = s_split(line, f, 8);
    if (n != 7) {
        snprintf(err, errlen, "expected 7 comma-separated fields");
        return DR_EINVAL;
    }
    memset(vm, 0, sizeof *vm);
    if (!*f[0] || strlen(f[0]) >= sizeof vm->name) {
        snprintf(err, errlen, "bad vm size name");
        return DR_EINVAL;
    }
    strcpy(vm->name, f[0]);
    int64_t v;
    if (dr_parse_i64(f[1], 1, 4096, &v) < 0) {
        snprintf(err, errlen, "bad vcpus '%s'", f[1]);
        return DR_EINVAL;
    }
    vm->vcpus = (uint32_t)v;
    char *end = NULL;
    errno = 0;
    double gb = strtod(f[2], &end);
    if (errno || end == f[2] || *end || gb <= 0 || gb > 1e6) {
        snprintf(err, errlen, "bad memory_gb '%s'", f[2]);
        return DR_EINVAL;
    }
    vm->memory_mb = (uint64_t)(gb * 1024);
    if (dr_parse_i64(f[3], 0, 64, &v) < 0) {
        snprintf(err, errlen, "bad gpus '%s'", f[3]);
        return DR_EINVAL;
    }
    vm->gpus = (uint32_t)v;
    if (strlen(f[4]) >= sizeof vm->gpu_model || (vm->gpus && !*f[4])) {
        snprintf(err, errlen, "bad gpu_model '%s'", f[4]);
        return DR_EINVAL;
    }
    strcpy(vm->gpu_model, f[4]);
    if (dr_parse_i64(f[5], 0, 4096, &v) < 0) {
        snprintf(err, errlen, "bad gpu_memory_gb '%s'", f[5]);
        return DR_EINVAL;
    }
    vm->gpu_memory_gb = (uint32_t)v;
    if (!*f[6] || strlen(f[6]) >= sizeof vm->family) {
        snprintf(err, errlen, "bad family '%s'", f[6]);
        return DR_EINVAL;
    }
    strcpy(vm->family, f[6]);
    return 0;
}

int catalog_parse(const char *text, catalog_t **out, char *err, size_t errlen)
{
    *out = NULL;
    catalog_t *self = dr_calloc(1, sizeof *self);
    char *copy = dr_strdup(text);
    char *save = NULL;
    int lineno = 0;
    int rc = 0;
    size_t cap = 0;
    char *p = copy;
    while (p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        char *line = p;
        p = nl ? nl + 1 : NULL;
        lineno++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        vm_size_t vm;
        char why[128];
        if (s_parse_line(line, &vm, why, sizeof why) < 0) {
            snprintf(err, errlen, "line %d: %s", lineno, why);
            rc = DR_EINVAL;
            goto out;
        }
        if (catalog_find(self, vm.name)) {
            snprintf(err, errlen, "line %d: duplicate vm size '%s'", lineno,
                     vm.name);
            rc = DR_EINVAL;
            goto out;
        }
        if (self->n == cap) {
            cap = cap ? cap * 2 : 32;
            self->sizes = dr_realloc(self->sizes, cap * sizeof *self->sizes);
        }
        self->sizes[self->n++] = vm;
    }
    (void)save;
    if (self->n == 0) {
        snprintf(err, errlen, "no vm sizes");
        rc = DR_EINVAL;
    }
out:
    free(copy);
    if (rc < 0)
        catalog_destroy(&self);
    *out = self;
    return rc;
}

int catalog_load(const char *path, catalog_t **out, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return DR_EIO;
    }
    dr_buf_t b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        dr_buf_append(&b, chunk, n);
        if (b.len > (1u << 20)) {
            fclose(f);
            dr_buf_free(&b);
            snprintf(err, errlen, "%s: file too large", path);
            return DR_EINVAL;
        }
    }
    fclose(f);
    dr_buf_append(&b, "", 0);
    int rc = catalog_parse(b.data, out, err, errlen);
    dr_buf_free(&b);
    return rc;
}

catalog_t *catalog_new_default(void)
{
    char err[160];
    catalog_t *c = NULL;
    char *text =
        dr_strndup((const char *)dr_vm_sizes_csv, sizeof dr_vm_sizes_csv);
    if (catalog_parse(text, &c, err, sizeof err) < 0) {
        fprintf(stderr, "embedded vm-size catalog is broken: %s\n", err);
        abort();
    }
    free(text);
    return c;
}

const vm_size_t *catalog_find(const catalog_t *self, const char *name)
{
    if (!self || !name)
        return NULL;
    for (size_t i = 0; i < self->n; i++)
        if (dr_streq_ci(self->sizes[i].name, name))
            return &self->sizes[i];
    return NULL;
}

size_t catalog_count(const catalog_t *self)
{
    return self->n;
}

const vm_size_t *catalog_at(const catalog_t *self, size_t i)
{
    return i < self->n ? &self->sizes[i] : NULL;
}

void catalog_destroy(catalog_t **self_p)
{
    if (self_p && *self_p) {
        free((*self_p)->sizes);
        free(*self_p);
        *self_p = NULL;
    }
}
