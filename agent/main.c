/* main.c - drover-agent: flags, signals, the loop.
 *
 * Owns the self-pipe that turns SIGCHLD/SIGTERM/SIGINT into bytes the loop
 * reads; the handlers do nothing but write one byte (async-signal-safe).
 * The write end is the only file-scope mutable state, because a signal
 * handler cannot reach main()'s locals.  Never does work in a handler.
 */
#include "agent.h"
#include "agent_cfg.h"
#include "dr_err.h"
#include "gpu.h"
#include "join.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t s_sig_wr = -1;

static void s_on_signal(int sig)
{
    int saved = errno;
    char c = sig == SIGCHLD ? 'C' : 'T';
    if (s_sig_wr >= 0) {
        ssize_t w = write(s_sig_wr, &c, 1);
        (void)w; /* a full pipe already holds a wake-up */
    }
    errno = saved;
}

static int s_setup_signals(int *rd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        return DR_ESYS;
    s_sig_wr = p[1];
    *rd = p[0];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, NULL) < 0 ||
        sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
        return DR_ESYS;
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    if (sigaction(SIGPIPE, &ign, NULL) < 0)
        return DR_ESYS;
    return 0;
}

/* --print-gpus: what the agent would report, as JSON on stdout. */
static int s_print_gpus(const agent_cfg_t *cfg)
{
    gpu_t *gpu = NULL;
    char err[512];
    if (gpu_new(cfg->gpu_inventory, NULL, cfg->name ? cfg->name : "-", &gpu,
                err, sizeof err) < 0) {
        fprintf(stderr, "drover-agent: --gpu-inventory: %s\n", err);
        return 2;
    }
    if (gpu_reason(gpu))
        log_info("gpu: %s", gpu_reason(gpu));
    char *json =
        gpu_inventory_to_json(gpu_list(gpu), gpu_source(gpu), gpu_reason(gpu));
    printf("%s\n", json);
    free(json);
    gpu_destroy(&gpu);
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    agent_cfg_t cfg;
    char err[512];
    if (agent_cfg_parse(&cfg, argc, argv, err, sizeof err) < 0) {
        fprintf(stderr, "drover-agent: %s\n", err);
        return 2;
    }
    if (cfg.help) {
        fputs(agent_cfg_usage(), stdout);
        agent_cfg_free(&cfg);
        return 0;
    }
    log_init("agent", cfg.log_level);
    if (cfg.print_gpus) {
        int rc = s_print_gpus(&cfg);
        agent_cfg_free(&cfg);
        return rc;
    }
    int sig_rd = -1;
    if (s_setup_signals(&sig_rd) < 0) {
        log_error("signal setup: %s", strerror(errno));
        agent_cfg_free(&cfg);
        return 1;
    }
    if (cfg.join_token) {
        /* first start: make this node's key and join with the token */
        int jrc =
            cfg.simulate ? sim_join(&cfg, sig_rd) : agent_join(&cfg, sig_rd);
        if (jrc < 0) {
            agent_cfg_free(&cfg);
            return jrc == DR_EAGAIN ? 0 : 1;
        }
    }
    agent_t *agent = agent_new(&cfg);
    if (!agent) {
        agent_cfg_free(&cfg);
        return 1;
    }
    agent_set_signal_fd(agent, sig_rd);
    int rc = agent_run(agent);
    if (rc < 0)
        log_error("agent stopped: %s", dr_strerror(rc));
    else
        log_info("agent %s: exiting", cfg.name);
    agent_destroy(&agent);
    agent_cfg_free(&cfg);
    return rc < 0 ? 1 : 0;
}
