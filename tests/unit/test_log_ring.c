/*
 * test_log_ring.c - the ring of the last log lines (kiosk/core/log.h) that
 * the maintenance menu shows: exactly the last LOG_RING_LINES lines, oldest
 * first, each one printable line of valid UTF-8 within LOG_RING_LINE_MAX, and
 * whole and in order under concurrent writers and readers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int setup(void **state)
{
	(void)state;
	/* stderr stays quiet; the ring keeps the lines regardless. */
	log_set_quiet(true);
	log_set_level(LOG_LEVEL_INFO);
	log_ring_clear();
	return 0;
}

static struct log_ring_entry *copy_all(size_t *n)
{
	struct log_ring_entry *out = calloc(LOG_RING_LINES + 5, sizeof(*out));
	assert_non_null(out);
	*n = log_ring_copy(out, LOG_RING_LINES + 5);
	return out;
}

/* The message part of a ring line ("info: [file:line] MESSAGE"). */
static const char *message_of(const struct log_ring_entry *e)
{
	const char *p = strstr(e->text, "] ");
	assert_non_null(p);
	return p + 2;
}

static void test_keeps_last_200(void **state)
{
	(void)state;
	size_t n;
	struct log_ring_entry *out = copy_all(&n);
	assert_int_equal(n, 0);

	log_info("first line %d", 1);
	out[0].seq = 0;
	assert_int_equal(log_ring_copy(out, 1), 1);
	assert_string_equal(message_of(&out[0]), "first line 1");
	assert_int_equal(out[0].level, LOG_LEVEL_INFO);
	assert_non_null(strstr(out[0].text, "info: [test_log_ring.c:"));
	assert_true(out[0].time_ms > 1600000000000LL); /* a real wall-clock time in ms */
	uint64_t first = out[0].seq;

	for (int i = 0; i < 449; i++)
		log_warning("line %d", i);
	free(out);
	out = copy_all(&n);
	assert_int_equal(n, LOG_RING_LINES);
	/* 450 lines written: the ring holds lines 250..449 of them, oldest first. */
	for (size_t i = 0; i < n; i++) {
		char want[32];
		snprintf(want, sizeof(want), "line %zu", i + 249);
		assert_string_equal(message_of(&out[i]), want);
		assert_int_equal(out[i].seq, first + 250 + i);
		assert_int_equal(out[i].level, LOG_LEVEL_WARNING);
		assert_true(i == 0 || out[i].time_ms >= out[i - 1].time_ms);
	}

	/* Fewer asked: the newest ones. */
	struct log_ring_entry few[3];
	assert_int_equal(log_ring_copy(few, 3), 3);
	assert_string_equal(message_of(&few[0]), "line 446");
	assert_string_equal(message_of(&few[2]), "line 448");
	assert_int_equal(log_ring_copy(NULL, 0), 0);
	assert_int_equal(log_ring_copy(few, 0), 0);

	/* Cleared: empty, and the numbering goes on. */
	log_ring_clear();
	free(out);
	out = copy_all(&n);
	assert_int_equal(n, 0);
	log_error("after clear");
	assert_int_equal(log_ring_copy(few, 3), 1);
	assert_int_equal(few[0].seq, first + 450);
	assert_int_equal(few[0].level, LOG_LEVEL_ERROR);
	free(out);
}

static void test_levels(void **state)
{
	(void)state;
	log_debug("not kept at info");
	log_info("kept");
	log_set_level(LOG_LEVEL_DEBUG);
	log_debug("kept at debug");
	log_set_level(LOG_LEVEL_INFO);
	errno = ENOENT;
	log_warning_errno("with errno");
	size_t n;
	struct log_ring_entry *out = copy_all(&n);
	assert_int_equal(n, 3);
	assert_string_equal(message_of(&out[0]), "kept");
	assert_string_equal(message_of(&out[1]), "kept at debug");
	assert_int_equal(out[1].level, LOG_LEVEL_DEBUG);
	assert_string_equal(message_of(&out[2]), "with errno: No such file or directory");
	assert_string_equal(log_level_name(LOG_LEVEL_DEBUG), "debug");
	assert_null(log_level_name(LOG_LEVEL_LAST));
	free(out);
}

static bool valid_line(const char *s)
{
	size_t len = strnlen(s, LOG_RING_LINE_MAX);
	if (len >= LOG_RING_LINE_MAX)
		return false;
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		unsigned c = u[i];
		size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7f)) || i + n > len)
			return false;
		for (size_t k = 1; k < n; k++) {
			if (u[i + k] < 0x80 || u[i + k] > 0xbf)
				return false;
		}
		i += n;
	}
	return true;
}

static void test_sanitised(void **state)
{
	(void)state;
	log_info("tab\there, newline\nthere, bell\a, del\x7f end");
	log_info("stray \xff\xfe bytes, a cut \xc3 and an overlong \xc0\xaf, \xed\xa0\x80 "
	         "surrogate");
	log_info("valid: Gr\xc3\xbc\xc3\x9f"
	         "e \xd8\xb3\xd9\x84\xd8\xa7\xd9\x85 \xf0\x9f\x93\x84");
	/* Longer than a ring line, of two-byte characters: cut at a boundary. */
	char long_line[900];
	size_t at = 0;
	while (at + 2 < sizeof(long_line) - 1) {
		long_line[at++] = (char)0xc3;
		long_line[at++] = (char)0xa4;
	}
	long_line[at] = '\0';
	log_info("%s", long_line);

	size_t n;
	struct log_ring_entry *out = copy_all(&n);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		assert_true(valid_line(out[i].text));
	assert_string_equal(message_of(&out[0]), "tab?here, newline?there, bell?, del? end");
	assert_string_equal(message_of(&out[1]), "stray ?? bytes, a cut ? and an overlong ??, "
	                                         "??? surrogate");
	assert_string_equal(message_of(&out[2]),
	                    "valid: Gr\xc3\xbc\xc3\x9f"
	                    "e \xd8\xb3\xd9\x84\xd8\xa7\xd9\x85 \xf0\x9f\x93\x84");
	size_t len = strlen(out[3].text);
	assert_true(len < LOG_RING_LINE_MAX && len >= LOG_RING_LINE_MAX - 5);
	assert_string_equal(out[3].text + len - 3, "...");
	assert_true((unsigned char)out[3].text[len - 5] == 0xc3);
	assert_true((unsigned char)out[3].text[len - 4] == 0xa4);
	free(out);
}

/* ---- concurrent writers --------------------------------------------------------- */

#define WRITERS    8
#define PER_WRITER 3000

struct reader {
	pthread_t thread;
	uint64_t after; /* lines up to this number are not the writers' */
	volatile int stop;
	unsigned copies;
	unsigned bad;
};

static void *writer(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < PER_WRITER; i++)
		log_info("writer %d line %d end", id, i);
	return NULL;
}

/* Copies the ring again and again while the writers run: every copy holds
 * whole lines with consecutive numbers. */
static void *reader(void *arg)
{
	struct reader *r = arg;
	struct log_ring_entry *out = calloc(LOG_RING_LINES, sizeof(*out));
	if (!out) {
		r->bad++;
		return NULL;
	}
	while (!r->stop) {
		size_t n = log_ring_copy(out, LOG_RING_LINES);
		for (size_t i = 0; i < n; i++) {
			int w, l;
			char end[8];
			const char *m = strstr(out[i].text, "] ");
			if (i > 0 && out[i].seq != out[i - 1].seq + 1)
				r->bad++;
			if (out[i].seq <= r->after)
				continue;
			if (!m || sscanf(m + 2, "writer %d line %d %3s", &w, &l, end) != 3 ||
			    strcmp(end, "end") != 0)
				r->bad++;
		}
		r->copies++;
	}
	free(out);
	return NULL;
}

static void test_concurrent_writers(void **state)
{
	(void)state;
	struct log_ring_entry before;
	log_info("start");
	assert_int_equal(log_ring_copy(&before, 1), 1);

	struct reader r = {.after = before.seq};
	assert_int_equal(pthread_create(&r.thread, NULL, reader, &r), 0);
	pthread_t threads[WRITERS];
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, writer, (void *)(intptr_t)i), 0);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(threads[i], NULL);
	r.stop = 1;
	pthread_join(r.thread, NULL);
	assert_int_equal(r.bad, 0);
	assert_true(r.copies > 0);

	size_t n;
	struct log_ring_entry *out = copy_all(&n);
	assert_int_equal(n, LOG_RING_LINES);
	/* Exactly the last 200 of the 24000 lines: the numbers end at the total,
	 * each writer's lines keep their order, and no line is torn. */
	assert_int_equal(out[n - 1].seq, before.seq + (uint64_t)WRITERS * PER_WRITER);
	int last[WRITERS];
	for (int i = 0; i < WRITERS; i++)
		last[i] = -1;
	for (size_t i = 0; i < n; i++) {
		int w, l;
		char end[8];
		assert_int_equal(out[i].seq, before.seq + (uint64_t)WRITERS * PER_WRITER -
		                                     (LOG_RING_LINES - 1) + i);
		assert_int_equal(sscanf(message_of(&out[i]), "writer %d line %d %3s", &w, &l, end),
		                 3);
		assert_string_equal(end, "end");
		assert_true(w >= 0 && w < WRITERS);
		assert_true(l > last[w]);
		last[w] = l;
		assert_true(valid_line(out[i].text));
	}
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_keeps_last_200, setup),
	        cmocka_unit_test_setup(test_levels, setup),
	        cmocka_unit_test_setup(test_sanitised, setup),
	        cmocka_unit_test_setup(test_concurrent_writers, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
