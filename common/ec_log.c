/*
 * ec_log.c - one-line logs to stderr (ec_log.h).
 *
 * Each line is formatted completely in a stack buffer and handed to stderr with a single
 * fwrite, which holds the stream lock, so lines from different threads never interleave.
 * Control characters in the message (a newline from outside input, for instance) are
 * replaced by '?', so one event is always exactly one line. Lines longer than
 * S_LINE_BYTES are cut and end in "...".
 */
#include "ec_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S_LINE_BYTES 4096
#define S_PROGRAM_BYTES 32

static atomic_int s_level = EC_LOG_INFO;
/* Written once by ec_log_init, normally before any thread starts. */
static char s_program[S_PROGRAM_BYTES] = "ecert";

static const char *const s_level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void ec_log_init(const char *program, int level)
{
    if (program) {
        strncpy(s_program, program, sizeof s_program - 1);
        s_program[sizeof s_program - 1] = '\0';
    }
    if (level < EC_LOG_DEBUG)
        level = EC_LOG_DEBUG;
    if (level > EC_LOG_ERROR)
        level = EC_LOG_ERROR;
    atomic_store(&s_level, level);
}

int ec_log_level_parse(const char *name)
{
    if (!name)
        return -1;
    for (int i = EC_LOG_DEBUG; i <= EC_LOG_ERROR; i++)
        if (strcasecmp(name, s_level_names[i]) == 0)
            return i;
    return -1;
}

void ec_log(int level, const char *fmt, ...)
{
    if (level < atomic_load_explicit(&s_level, memory_order_relaxed))
        return;
    if (level < EC_LOG_DEBUG || level > EC_LOG_ERROR)
        level = EC_LOG_ERROR;

    char line[S_LINE_BYTES];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int head = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec, ts.tv_nsec / 1000000, s_level_names[level], s_program);
    if (head < 0)
        return;
    size_t pos = (size_t)head;

    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + pos, sizeof line - pos - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    size_t end = pos + (size_t)n;
    if (end > sizeof line - 2) {
        end = sizeof line - 2;
        memcpy(line + end - 3, "...", 3);
    }
    for (size_t i = pos; i < end; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = '?';
    line[end++] = '\n';
    (void)fwrite(line, 1, end, stderr);
}
