/*
 * log.h - the one logger of both programs.
 *
 * Messages carry [file:line] and go to stderr (the journal captures it under
 * systemd). Never log a name, a case number or page content: ids and outcome
 * classes only.
 *
 * Each process also keeps its last LOG_RING_LINES lines in memory, for the
 * maintenance menu (the kiosk's own lines; the uploader's through the control
 * socket's "log" request). The ring holds exactly what went to stderr, so it
 * is free of personal data by construction: nothing in this project logs a
 * name, a case number, a birth date or page content, and the tests that queue
 * canary personal data check every log line for it. The ring lives in the
 * process's memory only (never on disk) and is zeroed line by line as it is
 * overwritten.
 *
 * Threads: every function here may be called from any thread at any time.
 */
#ifndef SCANKIOSK_LOG_H
#define SCANKIOSK_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_LAST
};

/* Messages above this level are dropped (from stderr and the ring). Default:
 * LOG_LEVEL_INFO. */
void log_set_level(enum log_level level);
/* Drops every message from stderr (a command-line tool that speaks for
 * itself); the ring still keeps them. */
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

/* A short lower-case name: "error", "warning", "info", "debug"; NULL out of
 * range. */
const char *log_level_name(enum log_level level);

/* ---- the ring of recent lines ------------------------------------------------ */

/* Lines the ring keeps: the maintenance menu shows the last 200. */
#define LOG_RING_LINES 200
/* Bytes of one kept line with its NUL; a longer line is cut (at a character
 * boundary) and ends in "...". */
#define LOG_RING_LINE_MAX 512

struct log_ring_entry {
	uint64_t seq;         /* 1, 2, 3, ... in the order the process logged them */
	int64_t time_ms;      /* when: CLOCK_REALTIME, milliseconds since the epoch */
	enum log_level level; /* the line's level */
	/* The line as written to stderr ("info: [file.c:12] message"), without
	 * the newline. Control characters and bytes that are not UTF-8 are
	 * replaced by '?', so it is one printable line of valid UTF-8. */
	char text[LOG_RING_LINE_MAX];
};

/*
 * Copies the last min(max, kept) lines into out, oldest first, and returns
 * how many. Never waits for more than a copy of the ring by another thread.
 * out may be NULL when max is 0 (returns 0).
 */
size_t log_ring_copy(struct log_ring_entry *out, size_t max);

/* True when s is a line as the ring keeps it: NUL-terminated within cap
 * bytes, valid UTF-8, no control characters. (Checks lines that come from
 * another process.) */
bool log_text_valid(const char *s, size_t cap);

/* Forgets (and zeroes) every kept line; the sequence numbers go on. For tests. */
void log_ring_clear(void);

#endif
