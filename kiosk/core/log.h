/*
 * log.h - the one logger of both programs.
 *
 * Messages carry [file:line] and go to stderr (the journal captures it under
 * systemd). Never log a name, a case number or page content: ids and outcome
 * classes only.
 */
#ifndef SCANKIOSK_LOG_H
#define SCANKIOSK_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_LAST
};

/* Messages above this level are dropped. Default: LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);
/* Drops every message (a command-line tool that speaks for itself). */
void log_set_quiet(bool quiet);
enum log_level log_get_level(void);

void log_write(enum log_level level, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void log_vwrite(enum log_level level, const char *file, int line, const char *fmt, va_list ap)
        __attribute__((format(printf, 4, 0)));

#define log_error(...)   log_write(LOG_LEVEL_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warning(...) log_write(LOG_LEVEL_WARNING, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...)    log_write(LOG_LEVEL_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...)   log_write(LOG_LEVEL_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

/* Appends ": strerror(errno)". */
void log_write_errno(enum log_level level, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
#define log_error_errno(...)   log_write_errno(LOG_LEVEL_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warning_errno(...) log_write_errno(LOG_LEVEL_WARNING, __FILE__, __LINE__, __VA_ARGS__)

#endif
