/* zmtp.c - see zmtp.h. */
#include "zmtp.h"
#include "dr_err.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define GREETING_LEN 64
#define FLAG_MORE 0x01
#define FLAG_LONG 0x02
#define FLAG_COMMAND 0x04

/* Waits until fd is ready for events (POLLIN / POLLOUT) or the deadline. */
static int s_wait(int fd, short events, int64_t deadline, char *why, size_t cap)
{
    for (;;) {
        int64_t left = deadline - dr_mono_ms();
        if (left <= 0) {
            snprintf(why, cap, "no answer in time");
            return DR_ETIMEOUT;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR) {
            snprintf(why, cap, "poll: %s", strerror(errno));
            return DR_EIO;
        }
    }
}

static int s_write(int fd, const void *data, size_t len, int64_t deadline,
                   char *why, size_t cap)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = s_wait(fd, POLLOUT, deadline, why, cap);
            if (rc < 0)
                return rc;
            continue;
        }
        snprintf(why, cap, "send: %s", n < 0 ? strerror(errno) : "closed");
        return DR_EIO;
    }
    return 0;
}

static int s_read(int fd, void *data, size_t len, int64_t deadline, char *why,
                  size_t cap)
{
    uint8_t *p = data;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0) {
            snprintf(why, cap, "the peer closed the connection");
            return DR_EIO;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = s_wait(fd, POLLIN, deadline, why, cap);
            if (rc < 0)
                return rc;
            continue;
        }
        snprintf(why, cap, "recv: %s", strerror(errno));
        return DR_EIO;
    }
    return 0;
}

/* One frame's flags and size. */
static int s_frame_head(int fd, uint8_t *flags, uint64_t *size,
                        int64_t deadline, char *why, size_t cap)
{
    uint8_t h[9];
    int rc = s_read(fd, h, 2, deadline, why, cap);
    if (rc < 0)
        return rc;
    *flags = h[0];
    if (h[0] & ~(FLAG_MORE | FLAG_LONG | FLAG_COMMAND)) {
        snprintf(why, cap, "a frame with unknown flags 0x%02x", h[0]);
        return DR_EPROTO;
    }
    if (!(h[0] & FLAG_LONG)) {
        *size = h[1];
        return 0;
    }
    if ((rc = s_read(fd, h + 2, 7, deadline, why, cap)) < 0)
        return rc;
    *size = 0;
    for (int i = 1; i < 9; i++)
        *size = *size << 8 | h[i];
    return 0;
}

/* Appends a frame head for a body of len bytes. */
static void s_put_head(dr_buf_t *b, uint8_t flags, uint64_t len)
{
    uint8_t h[9];
    if (len <= 255) {
        h[0] = flags;
        h[1] = (uint8_t)len;
        dr_buf_append(b, h, 2);
        return;
    }
    h[0] = flags | FLAG_LONG;
    for (int i = 8; i >= 1; i--, len >>= 8)
        h[i] = (uint8_t)(len & 0xff);
    dr_buf_append(b, h, 9);
}

static void s_put_prop(dr_buf_t *b, const char *name, const char *val)
{
    uint8_t n = (uint8_t)strlen(name);
    uint32_t v = (uint32_t)strlen(val);
    uint8_t vl[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                     (uint8_t)v};
    dr_buf_append(b, &n, 1);
    dr_buf_append(b, name, n);
    dr_buf_append(b, vl, 4);
    dr_buf_append(b, val, v);
}

/* The peer's READY: its Socket-Type must be ROUTER.  An ERROR command
 * says why the peer refused. */
static int s_check_ready(const uint8_t *c, size_t n, char *why, size_t cap)
{
    if (n >= 6 && c[0] == 5 && memcmp(c + 1, "ERROR", 5) == 0) {
        int k = n > 6 ? c[6] : 0;
        if ((size_t)k > n - 7)
            k = (int)(n - 7);
        snprintf(why, cap, "the peer refused: %.*s", k, (const char *)c + 7);
        return DR_EPROTO;
    }
    if (n < 6 || c[0] != 5 || memcmp(c + 1, "READY", 5) != 0) {
        snprintf(why, cap, "the peer sent no READY");
        return DR_EPROTO;
    }
    size_t i = 6;
    while (i < n) {
        size_t nl = c[i++];
        if (nl == 0 || i + nl + 4 > n)
            break;
        const uint8_t *name = c + i;
        i += nl;
        uint32_t vl = (uint32_t)c[i] << 24 | (uint32_t)c[i + 1] << 16 |
                      (uint32_t)c[i + 2] << 8 | c[i + 3];
        i += 4;
        if (vl > n - i)
            break;
        if (nl == 11 && strncasecmp((const char *)name, "Socket-Type", 11) == 0)
            return vl == 6 && memcmp(c + i, "ROUTER", 6) == 0
                       ? 0
                       : (snprintf(why, cap,
                                   "the peer is a %.*s socket, not a ROUTER",
                                   (int)(vl > 32 ? 32 : vl),
                                   (const char *)c + i),
                          DR_EPROTO);
        i += vl;
    }
    snprintf(why, cap, "the peer's READY has a bad or no Socket-Type");
    return DR_EPROTO;
}

static int s_handshake(int fd, const char *routing_id, int64_t deadline,
                       char *why, size_t cap)
{
    uint8_t g[GREETING_LEN] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0};
    memcpy(g + 12, "NULL", 4);
    int rc = s_write(fd, g, sizeof g, deadline, why, cap);
    /* the signature and the version first: a peer that is not ZMTP 3 is
     * told at once, not after waiting for 64 bytes it will never send */
    if (rc == 0)
        rc = s_read(fd, g, 11, deadline, why, cap);
    if (rc == 0 && (g[0] != 0xff || g[9] != 0x7f)) {
        snprintf(why, cap, "the peer does not speak ZMTP");
        return DR_EPROTO;
    }
    if (rc == 0 && g[10] < 3) {
        snprintf(why, cap, "the peer speaks ZMTP %d, not 3", g[10]);
        return DR_EPROTO;
    }
    if (rc == 0)
        rc = s_read(fd, g + 11, sizeof g - 11, deadline, why, cap);
    if (rc == DR_EIO) {
        /* libzmq hangs up on a mechanism it was not set up for */
        snprintf(why, cap,
                 "the peer hung up in the handshake (a CURVE endpoint, "
                 "not a scheduler's local socket?)");
        return DR_EPROTO;
    }
    if (rc < 0)
        return rc;
    if (memcmp(g + 12, "NULL", 5) != 0) {
        snprintf(why, cap,
                 "the peer wants the %.20s mechanism, not NULL (a CURVE "
                 "endpoint?)",
                 (const char *)g + 12);
        return DR_EPROTO;
    }
    dr_buf_t body = {0}, msg = {0};
    dr_buf_append(&body, "\x05READY", 6);
    s_put_prop(&body, "Socket-Type", "DEALER");
    s_put_prop(&body, "Identity", routing_id);
    s_put_head(&msg, FLAG_COMMAND, body.len);
    dr_buf_append(&msg, body.data, body.len);
    rc = s_write(fd, msg.data, msg.len, deadline, why, cap);
    dr_buf_free(&body);
    dr_buf_free(&msg);
    if (rc < 0)
        return rc;
    uint8_t flags;
    uint64_t size;
    if ((rc = s_frame_head(fd, &flags, &size, deadline, why, cap)) < 0)
        return rc;
    if (!(flags & FLAG_COMMAND) || size > 65536) {
        snprintf(why, cap, "the peer's handshake is not a READY command");
        return DR_EPROTO;
    }
    uint8_t *c = malloc(size ? size : 1);
    if (!c)
        abort();
    rc = s_read(fd, c, size, deadline, why, cap);
    if (rc == 0)
        rc = s_check_ready(c, size, why, cap);
    free(c);
    return rc;
}

int zmtp_connect(const char *path, const char *routing_id, int64_t deadline,
                 char *why, size_t cap)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t idlen = strlen(routing_id);
    if (strlen(path) >= sizeof sa.sun_path || idlen == 0 || idlen > 255) {
        snprintf(why, cap, "%s", idlen ? "socket path too long" : "no id");
        return DR_EINVAL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, cap, "socket: %s", strerror(errno));
        return DR_EIO;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(why, cap, "connect %s: %s", path, strerror(errno));
        (void)close(fd);
        return DR_EIO;
    }
    int rc = s_handshake(fd, routing_id, deadline, why, cap);
    if (rc < 0) {
        (void)close(fd);
        return rc;
    }
    return fd;
}

int zmtp_send(int fd, const void *data, size_t len, int64_t deadline, char *why,
              size_t cap)
{
    dr_buf_t head = {0};
    s_put_head(&head, 0, len);
    int rc = s_write(fd, head.data, head.len, deadline, why, cap);
    dr_buf_free(&head);
    return rc < 0 ? rc : s_write(fd, data, len, deadline, why, cap);
}

/* Reads and drops size bytes. */
static int s_skip(int fd, uint64_t size, int64_t deadline, char *why,
                  size_t cap)
{
    uint8_t buf[4096];
    while (size > 0) {
        size_t k = size > sizeof buf ? sizeof buf : (size_t)size;
        int rc = s_read(fd, buf, k, deadline, why, cap);
        if (rc < 0)
            return rc;
        size -= k;
    }
    return 0;
}

int zmtp_recv(int fd, dr_buf_t *out, size_t max, int64_t deadline, char *why,
              size_t cap)
{
    for (;;) {
        uint8_t flags;
        uint64_t size;
        int rc = s_frame_head(fd, &flags, &size, deadline, why, cap);
        if (rc < 0)
            return rc;
        if (flags & FLAG_COMMAND) {
            /* PING, or another command: nothing to answer for a DEALER
             * that asked for no heartbeats */
            if (size > 65536) {
                snprintf(why, cap, "a command of %llu bytes",
                         (unsigned long long)size);
                return DR_EPROTO;
            }
            if ((rc = s_skip(fd, size, deadline, why, cap)) < 0)
                return rc;
            continue;
        }
        if (flags & FLAG_MORE) {
            /* the whole message is read and dropped: the stream stays in
             * step for the next one */
            while (rc == 0 && (flags & FLAG_MORE)) {
                rc = s_skip(fd, size, deadline, why, cap);
                if (rc == 0)
                    rc = s_frame_head(fd, &flags, &size, deadline, why, cap);
            }
            if (rc == 0)
                rc = s_skip(fd, size, deadline, why, cap);
            if (rc < 0)
                return rc;
            snprintf(why, cap, "a message of more than one frame");
            return DR_EPROTO;
        }
        if (size > max) {
            snprintf(why, cap, "a message of %llu bytes (at most %zu)",
                     (unsigned long long)size, max);
            return DR_ETOOBIG;
        }
        out->len = 0;
        if (out->cap < size + 1) {
            char *p = realloc(out->data, (size_t)size + 1);
            if (!p)
                abort();
            out->data = p;
            out->cap = (size_t)size + 1;
        }
        if ((rc = s_read(fd, out->data, (size_t)size, deadline, why, cap)) < 0)
            return rc;
        out->len = (size_t)size;
        out->data[out->len] = '\0';
        return 0;
    }
}
