/*
 * ec_log.h - one-line structured logs to stderr, e.g.
 *   2026-11-21T05:30:00.123Z INFO  mainchaind committed height=12 blocks=1 txs=400 ...
 * Levels below the threshold cost one comparison. Never pass a secret to these functions.
 */
#ifndef EC_LOG_H
#define EC_LOG_H

enum { EC_LOG_DEBUG = 0, EC_LOG_INFO, EC_LOG_WARN, EC_LOG_ERROR };

/* Sets the program name shown on each line and the lowest level printed. */
void ec_log_init(const char *program, int level);
/* Parses "debug", "info", "warn", "error"; returns -1 for anything else. */
int ec_log_level_parse(const char *name);
void ec_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ec_debug(...) ec_log(EC_LOG_DEBUG, __VA_ARGS__)
#define ec_info(...) ec_log(EC_LOG_INFO, __VA_ARGS__)
#define ec_warn(...) ec_log(EC_LOG_WARN, __VA_ARGS__)
#define ec_error(...) ec_log(EC_LOG_ERROR, __VA_ARGS__)

#endif
