/*
 * log.c - stderr logging with levels and source locations, and the ring of
 * the last lines for the maintenance menu (see log.h).
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_int current_level = LOG_LEVEL_INFO;
static atomic_bool quiet;

static const char *const level_names[LOG_LEVEL_LAST] = {
        [LOG_LEVEL_ERROR] = "error",
        [LOG_LEVEL_WARNING] = "warning",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_DEBUG] = "debug",
};

/* The ring: ring_count lines ending before ring_next, under ring_lock. */
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_ring_entry ring[LOG_RING_LINES];
static size_t ring_next;
static size_t ring_count;
static uint64_t ring_seq;

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

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level >= LOG_LEVEL_LAST)
		return NULL;
	return level_names[level];
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* ---- the ring ---------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s (NUL-terminated), 0 when the
 * bytes there are not one (overlong forms and surrogates included). */
static size_t utf8_sequence(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	/* A NUL is no continuation byte: the checks stop at the string's end. */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return len;
}

bool log_text_valid(const char *s, size_t cap)
{
	if (!s || strnlen(s, cap) >= cap)
		return false;
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; u[i];) {
		size_t len = utf8_sequence(u + i);
		if (len == 0 || (len == 1 && (u[i] < 0x20 || u[i] == 0x7f)))
			return false;
		i += len;
	}
	return true;
}

/* Copies src into dst (LOG_RING_LINE_MAX bytes, zero-filled after the text)
 * as one printable line of UTF-8: control characters and stray bytes become
 * '?' (one for one), and a line too long is cut at a character boundary and
 * ends in "...". */
static void ring_text(char dst[LOG_RING_LINE_MAX], const char *src)
{
	static const char more[] = "...";
	size_t total = strlen(src);
	size_t limit = total < LOG_RING_LINE_MAX ? total : LOG_RING_LINE_MAX - sizeof(more);
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0;
	memset(dst, 0, LOG_RING_LINE_MAX);
	while (i < limit) {
		size_t len = utf8_sequence(s + i);
		if (len == 0 || (len == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
			dst[i++] = '?';
			continue;
		}
		if (i + len > limit)
			break;
		memcpy(dst + i, s + i, len);
		i += len;
	}
	if (total >= LOG_RING_LINE_MAX)
		memcpy(dst + i, more, sizeof(more));
}

static void ring_push(enum log_level level, const char *line)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char text[LOG_RING_LINE_MAX];
	ring_text(text, line);

	pthread_mutex_lock(&ring_lock);
	struct log_ring_entry *e = &ring[ring_next];
	e->seq = ++ring_seq;
	e->time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	e->level = level;
	memcpy(e->text, text, sizeof(e->text)); /* the whole slot: the old line is gone */
	ring_next = (ring_next + 1) % LOG_RING_LINES;
	if (ring_count < LOG_RING_LINES)
		ring_count++;
	pthread_mutex_unlock(&ring_lock);
}

size_t log_ring_copy(struct log_ring_entry *out, size_t max)
{
	if (!out || max == 0)
		return 0;
	pthread_mutex_lock(&ring_lock);
	size_t n = ring_count < max ? ring_count : max;
	size_t at = (ring_next + LOG_RING_LINES - n) % LOG_RING_LINES;
	for (size_t i = 0; i < n; i++) {
		out[i] = ring[at];
		at = (at + 1) % LOG_RING_LINES;
	}
	pthread_mutex_unlock(&ring_lock);
	return n;
}

void log_ring_clear(void)
{
	pthread_mutex_lock(&ring_lock);
	explicit_bzero(ring, sizeof(ring));
	ring_next = 0;
	ring_count = 0;
	pthread_mutex_unlock(&ring_lock);
}

/* ---- writing ------------------------------------------------------------------ */

void log_vwrite(enum log_level level, const char *file, int line, const char *fmt, va_list ap)
{
	if ((int)level > atomic_load(&current_level) || (unsigned)level >= LOG_LEVEL_LAST)
		return;
	/* One write per message so lines from several threads do not interleave. */
	char msg[1024];
	int n = snprintf(msg, sizeof(msg), "%s: [%s:%d] ", level_names[level], basename_of(file),
	                 line);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	if (!atomic_load(&quiet))
		fprintf(stderr, "%s\n", msg);
	ring_push(level, msg);
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
