/*
 * log.c - stderr logging with levels and source locations.
 */
#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static atomic_int current_level = LOG_LEVEL_INFO;
static atomic_bool quiet;

static const char *const level_names[LOG_LEVEL_LAST] = {
        [LOG_LEVEL_ERROR] = "error",
        [LOG_LEVEL_WARNING] = "warning",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
	if ((unsigned)level < LOG_LEVEL_LAST)
		atomic_store(&current_level, (int)level);
}

void log_set_quiet(bool q)
{
	atomic_store(&quiet, q);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&current_level);
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

void log_vwrite(enum log_level level, const char *file, int line, const char *fmt, va_list ap)
{
	if (atomic_load(&quiet) || (int)level > atomic_load(&current_level) ||
	    (unsigned)level >= LOG_LEVEL_LAST)
		return;
	/* One write per message so lines from several threads do not interleave. */
	char msg[1024];
	int n = snprintf(msg, sizeof(msg), "%s: [%s:%d] ", level_names[level], basename_of(file),
	                 line);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", msg);
}

void log_write(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(level, file, line, fmt, ap);
	va_end(ap);
}

void log_write_errno(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	int saved = errno;
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_write(level, file, line, "%s: %s", msg, strerror(saved));
}
