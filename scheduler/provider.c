/* provider.c - what all providers share: lookup by name, destruction and
 * the report callback (see provider.h). */
#include "provider.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int provider_known(const char *name)
{
    return name && (strcmp(name, "local") == 0 || strcmp(name, "exec") == 0 ||
                    strcmp(name, "http") == 0 || strcmp(name, "docker") == 0);
}

void provider_report(provider_t *p, const char *cluster, const char *node,
                     const char *op, int ok, const char *fmt, ...)
{
    if (!p->report)
        return;
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    p->report(p->report_arg, cluster, node, op, ok, detail);
}

void provider_destroy(provider_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->ops->free)
        (*self_p)->ops->free(*self_p);
    free(*self_p);
    *self_p = NULL;
}

char *provider_join_token(const char *state_dir, const char *node)
{
    char *path = dr_asprintf("%s/nodes/%s.token", state_dir, node);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return NULL;
    char buf[129];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, " \t\r\n")] = '\0';
    return buf[0] ? dr_strdup(buf) : NULL;
}
