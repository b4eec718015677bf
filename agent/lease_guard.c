/* lease_guard.c - see lease_guard.h. */
#include "lease_guard.h"
#include "lease.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GUARD_CHECK_MS 100

struct lease_guard {
    pid_t pid;
};

/* The child: only async-signal-safe calls; never returns. */
static void s_guard(pid_t agent, const volatile int64_t *lease,
                    const struct sockaddr_un *sa, const char *req,
                    size_t reqlen)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != agent)
        _exit(0); /* the agent died before the line above */
    struct timespec tick = {0, GUARD_CHECK_MS * 1000000L};
    while (!lease_word_expired(lease))
        nanosleep(&tick, NULL);
    /* the lease has passed and the agent did not stop the container */
    for (int tries = 0; tries < 50; tries++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 &&
            connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0) {
            size_t off = 0;
            while (off < reqlen) {
                ssize_t w = write(fd, req + off, reqlen - off);
                if (w <= 0)
                    break;
                off += (size_t)w;
            }
            char buf[256];
            ssize_t r = off == reqlen ? read(fd, buf, sizeof buf) : -1;
            close(fd);
            /* "HTTP/1.1 204" done; 404/409: gone or not running */
            if (r > 12 && (buf[9] == '2' || buf[9] == '4'))
                _exit(0);
        } else if (fd >= 0) {
            close(fd);
        }
        nanosleep(&tick, NULL);
    }
    _exit(1);
}

lease_guard_t *lease_guard_start(const volatile int64_t *lease,
                                 const char *docker_socket,
                                 const char *container_id)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (!lease || !container_id[0] ||
        strlen(docker_socket) >= sizeof sa.sun_path) {
        log_warn("container %.12s: no lease guard", container_id);
        return NULL;
    }
    memcpy(sa.sun_path, docker_socket, strlen(docker_socket) + 1);
    char *req = dr_asprintf("POST /containers/%s/kill HTTP/1.1\r\n"
                            "Host: docker\r\nContent-Length: 0\r\n"
                            "Connection: close\r\n\r\n",
                            container_id);
    size_t reqlen = strlen(req);
    pid_t agent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        s_guard(agent, lease, &sa, req, reqlen);
    free(req);
    if (pid < 0) {
        log_warn_errno("container %.12s: cannot fork its lease guard",
                       container_id);
        return NULL;
    }
    lease_guard_t *self = dr_calloc(1, sizeof *self);
    self->pid = pid;
    log_debug("container %.12s: lease guard pid %d", container_id, (int)pid);
    return self;
}

void lease_guard_stop(lease_guard_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lease_guard_t *self = *self_p;
    if (kill(self->pid, SIGKILL) < 0 && errno != ESRCH)
        log_warn_errno("lease guard %d", (int)self->pid);
    int st;
    while (waitpid(self->pid, &st, 0) < 0 && errno == EINTR)
        ;
    free(self);
    *self_p = NULL;
}

int lease_guard_pid(const lease_guard_t *self)
{
    return self ? (int)self->pid : -1;
}
