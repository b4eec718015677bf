/* log.h - levelled logging to stderr.
 *
 * One line per call: "2026-11-28T12:00:00.123Z sched WARN message".  The
 * level and program name are set once from main() (log_init); nothing else
 * mutates logging state.  log_warn_errno appends strerror(errno), as the
 * house rules ask.  log_fatal never returns.
 */
#ifndef DR_LOG_H
#define DR_LOG_H

#include <stdarg.h>

typedef enum {
    LOG_LVL_DEBUG = 0,
    LOG_LVL_INFO = 1,
    LOG_LVL_WARN = 2,
    LOG_LVL_ERROR = 3,
} log_level_t;

/* Called once from main(); `prog` must outlive every log call. */
void log_init(const char *prog, log_level_t level);

/* Parses "debug", "info", "warn", "error"; returns 0 or DR_EINVAL. */
int log_level_parse(const char *s, log_level_t *out);

void log_msg(log_level_t lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_warn_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)

#endif
