/* log.c - one line per event on stderr.
 *
 * The whole line is built in a local buffer and handed to one write(2), so lines
 * from different threads never interleave. Control characters in the message
 * become spaces: a value that reached a log line cannot forge another line.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "timeutil.h"

enum log_level log_min_level = LOG_INFO;

#define LOG_LINE_MAX 4096

static const char *const level_names[] = {
    [LOG_DEBUG] = "DEBUG", [LOG_INFO] = "INFO", [LOG_WARN] = "WARN", [LOG_ERROR] = "ERROR"
};

static void
write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere left to report it */
        p += w;
        n -= (size_t)w;
    }
}

void
log_write(enum log_level lvl, const char *fmt, ...)
{
    char    line[LOG_LINE_MAX];
    size_t  n, head;
    va_list ap;

    if ((unsigned)lvl >= ARRAY_LEN(level_names))
        lvl = LOG_ERROR;
    time_format(time_now_ms(), line);
    n = TIME_RFC3339_LEN;
    n += (size_t)snprintf(line + n, sizeof line - n, " %s ", level_names[lvl]);
    head = n;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    /* vsnprintf truncates; room for the newline was held back above. */
    n += (size_t)m < sizeof line - n - 1 ? (size_t)m : sizeof line - n - 2;
    for (size_t i = head; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = ' ';
    line[n++] = '\n';
    write_all(line, n);
}
