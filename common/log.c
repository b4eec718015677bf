/* log.c - see log.h.  The only mutable state is the program name and level,
 * written once by log_init() from main() before any other thread exists. */
#include "log.h"
#include "dr_err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static struct {
    const char *prog;
    log_level_t level;
} s_log = {"drover", LOG_LVL_INFO};

void log_init(const char *prog, log_level_t level)
{
    s_log.prog = prog;
    s_log.level = level;
}

int log_level_parse(const char *s, log_level_t *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    }
    return DR_EINVAL;
}

static void s_vlog(log_level_t lvl, const char *suffix, const char *fmt,
                   va_list ap)
{
    static const char *tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char line[2048];
    char ts[32];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        line[0] = '\0';
    fprintf(stderr, "%s.%03ldZ %s %s %s%s%s\n", ts, (long)tv.tv_usec / 1000,
            s_log.prog, tags[lvl], line, suffix ? ": " : "",
            suffix ? suffix : "");
}

void log_msg(log_level_t lvl, const char *fmt, ...)
{
    if (lvl < s_log.level)
        return;
    va_list ap;
    va_start(ap, fmt);
    s_vlog(lvl, NULL, fmt, ap);
    va_end(ap);
}

void log_warn_errno(const char *fmt, ...)
{
    int saved = errno;
    if (LOG_LVL_WARN < s_log.level)
        return;
    va_list ap;
    va_start(ap, fmt);
    s_vlog(LOG_LVL_WARN, strerror(saved), fmt, ap);
    va_end(ap);
}

void log_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vlog(LOG_LVL_ERROR, NULL, fmt, ap);
    va_end(ap);
    exit(1);
}
