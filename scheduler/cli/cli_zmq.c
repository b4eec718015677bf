/* cli_zmq.c - see cli_zmq.h. */
#include "cli_zmq.h"
#include "util.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

cli_zmq_t *cli_zmq_load(char *why, size_t cap)
{
    void *dl = dlopen(DR_LIBZMQ_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        snprintf(why, cap, "cannot load %s (install libzmq5): %s",
                 DR_LIBZMQ_SONAME, e ? e : "?");
        return NULL;
    }
    cli_zmq_t *z = dr_calloc(1, sizeof *z);
    z->dl = dl;
#define X(f)                                                                   \
    if (!(*(void **)&z->f = dlsym(dl, #f))) {                                  \
        snprintf(why, cap, "%s lacks %s", DR_LIBZMQ_SONAME, #f);               \
        cli_zmq_unload(&z);                                                    \
        return NULL;                                                           \
    }
    CLI_ZMQ_FUNCS(X)
#undef X
    return z;
}

void cli_zmq_unload(cli_zmq_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    /* after the context ended: no thread of libzmq is left */
    if ((*self_p)->dl)
        (void)dlclose((*self_p)->dl);
    free(*self_p);
    *self_p = NULL;
}
