/* main.c - drover-scheduler: options, signals, the loop.
 *
 * The only globals of the program live here: the signal flags and the
 * wake pipe, which the handlers touch and nothing else (OpenBSD style).
 */
#include "config.h"
#include "log.h"
#include "sched.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t s_stop;
static int s_wake_w = -1;

static void s_on_signal(int sig)
{
    int saved = errno;
    if (sig == SIGTERM || sig == SIGINT) {
        s_stop = 1;
    }
    if (s_wake_w >= 0) {
        char c = 1;
        ssize_t n = write(s_wake_w, &c, 1);
        (void)n;
    }
    errno = saved;
}

int main(int argc, char **argv)
{
    sched_opts_t opts;
    char err[512];
    int rc = config_parse_args(argc, argv, &opts, err, sizeof err);
    if (rc == 1)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "drover-scheduler: %s\n", err);
        return 2;
    }
    log_init("drover-scheduler", (log_level_t)opts.log_level);
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
        log_warn_errno("pipe");
        return 1;
    }
    s_wake_w = pipefd[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
        sigaction(SIGCHLD, &sa, NULL) < 0) {
        log_warn_errno("sigaction");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    sched_t *s = sched_new(&opts);
    if (!s) {
        log_error("cannot start; see the lines above");
        return 1;
    }
    rc = sched_run(s, &s_stop, pipefd[0]);
    sched_destroy(&s);
    close(pipefd[0]);
    close(pipefd[1]);
    return rc < 0 ? 1 : 0;
}
