/*
 * test_upload_retry.c - the uploader's retry policy (kiosk/upload/retry.c),
 * without a network or a clock: full-jitter bounds over many draws, the cap,
 * growth with attempts, Retry-After in both forms and as garbage, and the
 * clamp of a next_due that lies too far ahead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "retry.h"

/* A fixed "now": 2023-11-14 22:13:20 UTC. */
#define NOW ((int64_t)1700000000)

static const struct retry_policy policy = {.base = 30, .cap = 3600, .after_cap = 600};

static int setup_sodium(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* ---- a scripted random source ---------------------------------------------- */

struct script {
	uint32_t value; /* returned, reduced modulo upper */
	uint32_t last_upper;
};

static uint32_t scripted(uint32_t upper, void *ctx)
{
	struct script *s = ctx;
	s->last_upper = upper;
	return s->value % upper;
}

static uint32_t top(uint32_t upper, void *ctx)
{
	(void)ctx;
	return upper - 1;
}

static uint32_t bottom(uint32_t upper, void *ctx)
{
	(void)upper, (void)ctx;
	return 0;
}

/* ---- backoff ---------------------------------------------------------------- */

static void test_ceiling_grows_then_caps(void **state)
{
	(void)state;
	assert_int_equal(retry_ceiling(&policy, 0), 30);
	assert_int_equal(retry_ceiling(&policy, 1), 60);
	assert_int_equal(retry_ceiling(&policy, 2), 120);
	assert_int_equal(retry_ceiling(&policy, 6), 1920);
	assert_int_equal(retry_ceiling(&policy, 7), 3600); /* 3840 capped */
	assert_int_equal(retry_ceiling(&policy, 8), 3600);
	/* No overflow however many attempts. */
	assert_int_equal(retry_ceiling(&policy, 63), 3600);
	assert_int_equal(retry_ceiling(&policy, 64), 3600);
	assert_int_equal(retry_ceiling(&policy, UINT32_MAX), 3600);
	/* Monotonic in attempts. */
	for (uint32_t a = 1; a < 100; a++)
		assert_true(retry_ceiling(&policy, a) >= retry_ceiling(&policy, a - 1));
}

static void test_ceiling_edge_policies(void **state)
{
	(void)state;
	struct retry_policy zero = {.base = 0, .cap = 100, .after_cap = 100};
	assert_int_equal(retry_ceiling(&zero, 5), 0);
	struct retry_policy flat = {.base = 50, .cap = 10, .after_cap = 10};
	assert_int_equal(retry_ceiling(&flat, 0), 10); /* base over cap: the cap wins */
	struct retry_policy huge = {.base = UINT32_MAX, .cap = UINT32_MAX, .after_cap = 1};
	assert_int_equal(retry_ceiling(&huge, 40), UINT32_MAX);
	/* A ceiling beyond 32-bit milliseconds still draws within bounds. */
	uint64_t d = retry_delay_ms(&huge, 40, top, NULL);
	assert_true(d <= (uint64_t)UINT32_MAX * 1000);
	assert_true(d > 0);
	assert_int_equal(retry_delay_ms(&zero, 3, top, NULL), 0);
}

static void test_delay_is_full_jitter_inclusive(void **state)
{
	(void)state;
	/* The draw covers [0, ceiling] in milliseconds, both ends included. */
	for (uint32_t a = 0; a < 12; a++) {
		uint64_t ceiling_ms = retry_ceiling(&policy, a) * 1000;
		assert_int_equal(retry_delay_ms(&policy, a, bottom, NULL), 0);
		assert_int_equal(retry_delay_ms(&policy, a, top, NULL), ceiling_ms);
		struct script s = {.value = 12345};
		(void)retry_delay_ms(&policy, a, scripted, &s);
		assert_int_equal(s.last_upper, ceiling_ms + 1);
	}
}

static void test_delay_bounds_over_many_draws(void **state)
{
	(void)state;
	struct retry_policy p = {.base = 1, .cap = 8, .after_cap = 8};
	for (uint32_t a = 0; a < 6; a++) {
		uint64_t ceiling_ms = retry_ceiling(&p, a) * 1000;
		uint64_t lo = UINT64_MAX, hi = 0, sum = 0;
		const int draws = 20000;
		for (int i = 0; i < draws; i++) {
			uint64_t d = retry_delay_ms(&p, a, retry_random_sodium, NULL);
			assert_true(d <= ceiling_ms);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
			sum += d;
		}
		/* Full jitter: the draws spread over the whole range (a uniform
		 * draw of 20000 misses the outer 2% on either side with
		 * probability 0.98^20000, i.e. never). */
		assert_true(lo < ceiling_ms / 50 + 1);
		assert_true(hi > ceiling_ms - ceiling_ms / 50 - 1);
		/* Mean near half the ceiling (within 5%). */
		double mean = (double)sum / draws;
		assert_true(mean > ceiling_ms * 0.45 && mean < ceiling_ms * 0.55);
	}
}

/* ---- Retry-After -------------------------------------------------------------- */

static bool parse(const char *v, uint32_t cap, uint32_t *out)
{
	return retry_after_parse(v, strlen(v), NOW, cap, out);
}

static void test_retry_after_seconds(void **state)
{
	(void)state;
	uint32_t s = 99;
	assert_true(parse("120", 600, &s));
	assert_int_equal(s, 120);
	assert_true(parse("0", 600, &s));
	assert_int_equal(s, 0);
	assert_true(parse("  7 \t", 600, &s));
	assert_int_equal(s, 7);
	assert_true(parse("600", 600, &s));
	assert_int_equal(s, 600);
	assert_true(parse("601", 600, &s)); /* capped */
	assert_int_equal(s, 600);
	assert_true(parse("99999999999999999999999999999999", 600, &s)); /* huge: capped */
	assert_int_equal(s, 600);
	assert_true(parse("0000000000000000000000000000000000005", 600, &s));
	assert_int_equal(s, 5);
	/* Not NUL-terminated: only len bytes count. */
	assert_true(retry_after_parse("12345", 2, NOW, 600, &s));
	assert_int_equal(s, 12);
}

static void test_retry_after_http_date(void **state)
{
	(void)state;
	uint32_t s = 0;
	/* NOW + 90 s, in the three formats RFC 9110 allows. */
	assert_true(parse("Tue, 14 Nov 2023 22:14:50 GMT", 600, &s));
	assert_int_equal(s, 90);
	assert_true(parse("Tuesday, 14-Nov-23 22:14:50 GMT", 600, &s));
	assert_int_equal(s, 90);
	assert_true(parse("Tue Nov 14 22:14:50 2023", 600, &s));
	assert_int_equal(s, 90);
	/* In the past: now. */
	assert_true(parse("Tue, 14 Nov 2023 22:00:00 GMT", 600, &s));
	assert_int_equal(s, 0);
	/* Far in the future: capped. */
	assert_true(parse("Fri, 01 Jan 2100 00:00:00 GMT", 600, &s));
	assert_int_equal(s, 600);
	assert_true(parse("Tue, 14 Nov 2023 23:13:20 GMT", 3600, &s));
	assert_int_equal(s, 3600);
}

static void test_retry_after_garbage(void **state)
{
	(void)state;
	static const char *const bad[] = {
	        "",
	        "   ",
	        "-5",
	        "-0",
	        "+5",
	        "5s",
	        "1.5",
	        "1e3",
	        "0x10",
	        "tomorrow",
	        "soon",
	        "NaN",
	        "5 5",
	        "\"120\"",
	        "Tue,",
	        "GMT",
	        "\x01\x02",
	        "12\r\n34",
	        "Mon, 99 Foo 2023 99:99:99 GMT",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t s = 4242;
		if (parse(bad[i], 600, &s))
			fail_msg("accepted Retry-After %zu: \"%s\" as %u", i, bad[i], s);
		assert_int_equal(s, 4242); /* untouched on failure */
	}
	uint32_t s = 0;
	/* An embedded NUL is garbage, not the end of the value. */
	assert_false(retry_after_parse("12\0"
	                               "34",
	                               5, NOW, 600, &s));
	assert_false(retry_after_parse("Tue\0, 14 Nov 2023 22:14:50 GMT", 30, NOW, 600, &s));
	assert_false(retry_after_parse(NULL, 0, NOW, 600, &s));
	/* Over 128 bytes. */
	char longv[200];
	memset(longv, '1', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	assert_false(parse(longv, 600, &s));
}

/* ---- clamp of a persisted next_due --------------------------------------------- */

static void test_clamp_due(void **state)
{
	(void)state;
	assert_int_equal(retry_clamp_due(0, NOW, 3600), 0);
	assert_int_equal(retry_clamp_due(-5, NOW, 3600), 0);
	assert_int_equal(retry_clamp_due(NOW - 100, NOW, 3600), NOW - 100); /* overdue: as is */
	assert_int_equal(retry_clamp_due(NOW + 100, NOW, 3600), NOW + 100);
	assert_int_equal(retry_clamp_due(NOW + 3600, NOW, 3600), NOW + 3600);
	/* The clock jumped back a day: the stored time is too far ahead. */
	assert_int_equal(retry_clamp_due(NOW + 86400, NOW, 3600), NOW + 3600);
	assert_int_equal(retry_clamp_due(INT64_MAX, NOW, 3600), NOW + 3600);
	assert_int_equal(retry_clamp_due(INT64_MAX, INT64_MAX - 1, 3600), INT64_MAX);
}

static void test_max_delay(void **state)
{
	(void)state;
	assert_int_equal(retry_max_delay(&policy), 3600);
	struct retry_policy p = {.base = 1, .cap = 10, .after_cap = 7200};
	assert_int_equal(retry_max_delay(&p), 7200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ceiling_grows_then_caps),
	        cmocka_unit_test(test_ceiling_edge_policies),
	        cmocka_unit_test(test_delay_is_full_jitter_inclusive),
	        cmocka_unit_test(test_delay_bounds_over_many_draws),
	        cmocka_unit_test(test_retry_after_seconds),
	        cmocka_unit_test(test_retry_after_http_date),
	        cmocka_unit_test(test_retry_after_garbage),
	        cmocka_unit_test(test_clamp_due),
	        cmocka_unit_test(test_max_delay),
	};
	return cmocka_run_group_tests(tests, setup_sodium, NULL);
}
