/* http_studio.h - the Studio page's files, compiled into the scheduler.
 *
 * scheduler/studio/ (plain HTML, CSS and JavaScript: no build step, no
 * framework) is turned into byte arrays at build time
 * (deploy/embed_studio.cmake); the HTTP listener serves them at "/" and
 * "/FILE" with the headers of http_studio_headers.  Pure: no sockets.
 */
#ifndef DR_HTTP_STUDIO_H
#define DR_HTTP_STUDIO_H

#include <stddef.h>

typedef struct {
    const char *path;  /* "/index.html" */
    const char *ctype; /* its Content-Type */
    const unsigned char *data;
    size_t len;
    const char *etag; /* a strong ETag, quoted */
} http_asset_t;

/* The file served at url ("/" is index.html), or NULL. */
const http_asset_t *http_studio_find(const char *url);

/* The headers every Studio file is sent with, as name, value pairs
 * ending with NULL: a strict Content-Security-Policy (only this origin's
 * scripts, styles and API; no inline script, no frames), no MIME
 * sniffing, no referrer, and revalidation by ETag on every load (so that
 * an upgraded scheduler's page is seen at once). */
const char *const *http_studio_headers(void);

#endif
