/* drover-launch - OpenMPI's plm_rsh_agent for drover: ssh without ssh.
 *
 *   drover-launch [-options...] NODE COMMAND...
 *
 * mpirun runs it as it would run ssh.  It hands COMMAND (its words joined
 * by spaces, for /bin/sh -c, as ssh does) to the agent of the head node
 * (DROVER_LAUNCH_SOCKET, an abstract unix socket, and DROVER_LAUNCH_TOKEN,
 * both set in the job's task), which has it started inside the job's task
 * on NODE; then it prints what the command prints and exits with its
 * status.  255 when the launch itself fails, as ssh.
 *
 *   drover-launch --spawn P COMMAND...
 *
 * starts P processes of COMMAND on this node with their ranks (spawn.c):
 * what every node's task of a PyTorch job runs.
 *
 * It links libc alone (statically where it can) so that it also runs
 * inside any container image of an MPI job.  The protocol is in
 * agent/mpi.h.
 */
#include "spawn.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_COMMAND (64u << 10)

static int s_fail(const char *node, const char *what)
{
    fprintf(stderr, "drover-launch: %s: %s\n", node ? node : "?", what);
    return 255;
}

static int s_read_all(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--spawn") == 0) {
        char *end = NULL;
        long n = argc > 3 ? strtol(argv[2], &end, 10) : 0;
        if (argc < 4 || !end || *end || n < 1 || n > 256) {
            fprintf(stderr, "usage: drover-launch --spawn P COMMAND...\n");
            return 255;
        }
        return launch_spawn((int)n, argv + 3);
    }
    int i = 1;
    while (i < argc && argv[i][0] == '-') /* ssh options: none apply */
        i++;
    if (argc - i < 2) {
        fprintf(stderr, "usage: drover-launch NODE COMMAND...\n");
        return 255;
    }
    const char *node = argv[i++];
    /* a refused request is answered while we may still be writing: read
     * the answer rather than die of the closed socket */
    signal(SIGPIPE, SIG_IGN);
    const char *sock = getenv("DROVER_LAUNCH_SOCKET");
    const char *token = getenv("DROVER_LAUNCH_TOKEN");
    if (!sock || sock[0] != '@' || !sock[1] || !token || !*token)
        return s_fail(node, "DROVER_LAUNCH_SOCKET and DROVER_LAUNCH_TOKEN "
                            "are not set: not inside a drover MPI job");
    size_t clen = 0;
    for (int k = i; k < argc; k++)
        clen += strlen(argv[k]) + 1;
    if (clen - 1 > MAX_COMMAND) /* clen counts the final NUL */
        return s_fail(node, "command too long");
    char *cmd = malloc(clen);
    if (!cmd)
        return s_fail(node, "out of memory");
    size_t off = 0;
    for (int k = i; k < argc; k++) {
        size_t l = strlen(argv[k]);
        memcpy(cmd + off, argv[k], l);
        off += l;
        cmd[off++] = k + 1 < argc ? ' ' : '\0';
    }
    clen = off - 1;

    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t nlen = strlen(sock + 1);
    if (nlen + 1 > sizeof sa.sun_path) {
        free(cmd);
        return s_fail(node, "DROVER_LAUNCH_SOCKET is too long");
    }
    memcpy(sa.sun_path + 1, sock + 1, nlen);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
                                      1 + nlen)) < 0) {
        free(cmd);
        char why[160];
        snprintf(why, sizeof why, "cannot reach the node agent: %s",
                 strerror(errno));
        return s_fail(node, why);
    }
    char hdr[512];
    int hl = snprintf(hdr, sizeof hdr, "DRL1 %s %s %zu\n", token, node, clen);
    if (hl < 0 || (size_t)hl >= sizeof hdr) {
        free(cmd);
        return s_fail(node, "node name or token too long");
    }
    /* a write that fails is answered below (the agent refused early) */
    if (launch_write_all(fd, hdr, (size_t)hl) == 0)
        (void)launch_write_all(fd, cmd, clen);
    free(cmd);

    /* frames: type, 4-byte big-endian length, payload */
    char *buf = NULL;
    for (;;) {
        unsigned char h[5];
        if (s_read_all(fd, h, sizeof h) < 0) {
            free(buf);
            return s_fail(node, "the node agent closed the launch");
        }
        uint32_t n = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 |
                     (uint32_t)h[3] << 8 | h[4];
        if (n > (1u << 20)) {
            free(buf);
            return s_fail(node, "bad frame from the node agent");
        }
        char *nb = realloc(buf, n + 1);
        if (!nb) {
            free(buf);
            return s_fail(node, "out of memory");
        }
        buf = nb;
        if (s_read_all(fd, buf, n) < 0) {
            free(buf);
            return s_fail(node, "the node agent closed the launch");
        }
        if (h[0] == 'o' || h[0] == 'e') {
            (void)launch_write_all(h[0] == 'o' ? 1 : 2, buf, n);
        } else if (h[0] == 'x' && n >= 4) {
            unsigned char *u = (unsigned char *)buf;
            int status = (int)((uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
                               (uint32_t)u[2] << 8 | u[3]);
            if (n > 4) {
                buf[n] = '\0';
                fprintf(stderr, "drover-launch: %s: %s\n", node, buf + 4);
            }
            free(buf);
            close(fd);
            return status & 255;
        } else {
            free(buf);
            return s_fail(node, "bad frame from the node agent");
        }
    }
}
