/*
 * retry.c - backoff with full jitter and Retry-After (see retry.h).
 */
#include "retry.h"

#include <curl/curl.h>
#include <sodium.h>
#include <string.h>

#define RETRY_AFTER_MAX_LEN 128

uint32_t retry_random_sodium(uint32_t upper, void *ctx)
{
	(void)ctx;
	return randombytes_uniform(upper);
}

uint64_t retry_ceiling(const struct retry_policy *policy, uint32_t attempts)
{
	uint64_t cap = policy->cap;
	uint64_t step = policy->base;
	/* Doubling stops at the cap, so no shift ever overflows. */
	for (uint32_t i = 0; i < attempts && step < cap; i++)
		step *= 2;
	return step < cap ? step : cap;
}

uint64_t retry_delay_ms(const struct retry_policy *policy, uint32_t attempts, retry_random_fn rnd,
                        void *ctx)
{
	uint64_t ceiling_ms = retry_ceiling(policy, attempts) * 1000;
	if (ceiling_ms == 0)
		return 0;
	if (ceiling_ms < UINT32_MAX)
		return rnd((uint32_t)ceiling_ms + 1, ctx);
	/* A cap beyond 49 days: draw whole seconds instead. */
	uint64_t ceiling_s = ceiling_ms / 1000;
	if (ceiling_s >= UINT32_MAX)
		ceiling_s = UINT32_MAX - 1;
	return (uint64_t)rnd((uint32_t)ceiling_s + 1, ctx) * 1000;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

bool retry_after_parse(const char *value, size_t len, int64_t now, uint32_t cap, uint32_t *seconds)
{
	if (!value)
		return false;
	while (len > 0 && is_blank(value[0])) {
		value++;
		len--;
	}
	while (len > 0 && is_blank(value[len - 1]))
		len--;
	if (len == 0 || len > RETRY_AFTER_MAX_LEN)
		return false;

	bool digits = true;
	for (size_t i = 0; i < len; i++) {
		if (value[i] < '0' || value[i] > '9') {
			digits = false;
			break;
		}
	}
	if (digits) {
		uint64_t v = 0;
		for (size_t i = 0; i < len && v <= cap; i++)
			v = v * 10 + (uint64_t)(value[i] - '0');
		*seconds = v < cap ? (uint32_t)v : cap;
		return true;
	}

	/* An HTTP-date starts with a day name; this also keeps "-5", "+5" and
	 * "1e3" away from curl_getdate()'s lenient parser. */
	if (!((value[0] >= 'A' && value[0] <= 'Z') || (value[0] >= 'a' && value[0] <= 'z')))
		return false;
	char buf[RETRY_AFTER_MAX_LEN + 1];
	for (size_t i = 0; i < len; i++) {
		/* curl_getdate() stops at NUL; an embedded one is garbage. */
		if (value[i] == '\0')
			return false;
		buf[i] = value[i];
	}
	buf[len] = '\0';
	time_t when = curl_getdate(buf, NULL);
	if (when == (time_t)-1)
		return false;
	int64_t delta = (int64_t)when - now;
	if (delta <= 0)
		*seconds = 0;
	else
		*seconds = (uint64_t)delta < cap ? (uint32_t)delta : cap;
	return true;
}

int64_t retry_clamp_due(int64_t next_due, int64_t now, uint32_t max_ahead)
{
	if (next_due <= 0)
		return 0;
	if (now > INT64_MAX - (int64_t)max_ahead)
		return next_due;
	if (next_due > now + (int64_t)max_ahead)
		return now + (int64_t)max_ahead;
	return next_due;
}

uint32_t retry_max_delay(const struct retry_policy *policy)
{
	return policy->cap > policy->after_cap ? policy->cap : policy->after_cap;
}
