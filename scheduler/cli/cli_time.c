/* cli_time.c - points in time on the command line: `--since` and
 * `--until` of job list and usage.  A date or date and time is UTC
 * (2026-12-01, 2026-12-01T08:00, 2026-12-01T08:00:30, a space for the T);
 * a duration (2h, 1d, 90m) is that long before now. */
#include "cli.h"
#include "dr_err.h"
#include "opts.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int cli_parse_since(cli_ctx_t *ctx, const char *flag, const char *s,
                    int64_t *ms)
{
    static const char *const forms[] = {"%Y-%m-%dT%H:%M:%S",
                                        "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M",
                                        "%Y-%m-%d %H:%M", "%Y-%m-%d"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(s, forms[i], &tm);
        if (end && *end == '\0' && tm.tm_year >= 70 && tm.tm_year < 1100) {
            *ms = (int64_t)timegm(&tm) * 1000;
            return 0;
        }
    }
    int64_t ago = 0;
    if (opts_parse_duration_ms(s, &ago) == 0 && ago >= 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        *ms = ago < now ? now - ago : 0;
        return 0;
    }
    return cli_fail(ctx, DR_EINVAL,
                    "invalid %s '%s': give a UTC date or time (2026-12-01, "
                    "2026-12-01T08:00) or a duration ago (2h, 1d)",
                    flag, s);
}
