/* log.h - one line per event on stderr: time, level, trace id when there is one.
 * The level is checked before the arguments are formatted (as redis does).
 * Never pass a secret (password, key, token) to these. Thread-safe. */
#ifndef KW_LOG_H
#define KW_LOG_H

#include "base.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
extern enum log_level log_min_level;

void log_write(enum log_level lvl, const char *fmt, ...) KW_PRINTF(2, 3);

#define log_at(lvl, ...)                                                                       \
    do {                                                                                       \
        if ((lvl) >= log_min_level)                                                            \
            log_write((lvl), __VA_ARGS__);                                                     \
    } while (0)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_at(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)

#endif
