/* http_studio.c - the Studio's embedded files (http_studio.h).  The
 * table itself is generated (gen/studio_assets.h); this file only finds
 * a file by its path and names the headers it is sent with. */
#include "http_studio.h"

#include <string.h>

#include "studio_assets.h"

const http_asset_t *http_studio_find(const char *url)
{
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    for (size_t i = 0; i < sizeof s_assets / sizeof s_assets[0]; i++)
        if (strcmp(s_assets[i].path, url) == 0)
            return &s_assets[i];
    return NULL;
}

static const char *const s_headers[] = {
    "Content-Security-Policy",
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options",
    "nosniff",
    "Referrer-Policy",
    "no-referrer",
    "X-Frame-Options",
    "DENY",
    "Cache-Control",
    "no-cache",
    NULL,
};

const char *const *http_studio_headers(void)
{
    return s_headers;
}
