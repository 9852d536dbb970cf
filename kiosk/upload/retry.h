/*
 * retry.h - the retry policy, pure: no clock, no network, no global state.
 *
 * Capped exponential backoff with full jitter: after a failed attempt that
 * had `attempts` failed attempts before it, the delay is uniform in
 * [0, min(cap, base * 2^attempts)] seconds (drawn in milliseconds). A
 * Retry-After header of the intake replaces the computed delay, up to
 * retry_after_cap. The caller supplies the clocks and the random source so
 * tests can drive every branch.
 */
#ifndef SCANKIOSK_UPLOAD_RETRY_H
#define SCANKIOSK_UPLOAD_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct retry_policy {
	uint32_t base;      /* first backoff step, seconds (config retry_base) */
	uint32_t cap;       /* longest backoff, seconds (config retry_cap) */
	uint32_t after_cap; /* longest Retry-After honoured, seconds (retry_after_cap) */
};

/* Uniform in [0, upper) for upper >= 1. */
typedef uint32_t (*retry_random_fn)(uint32_t upper, void *ctx);

/* randombytes_uniform() of libsodium (sodium_init() done by the caller). */
uint32_t retry_random_sodium(uint32_t upper, void *ctx);

/* The upper bound of the jitter, min(cap, base * 2^attempts), in seconds,
 * without overflow for any attempts. */
uint64_t retry_ceiling(const struct retry_policy *policy, uint32_t attempts);

/* A delay in milliseconds, uniform in [0, retry_ceiling() * 1000]. */
uint64_t retry_delay_ms(const struct retry_policy *policy, uint32_t attempts, retry_random_fn rnd,
                        void *ctx);

/*
 * Parses a Retry-After value (len bytes, not necessarily NUL-terminated):
 * delta-seconds (digits only) or an HTTP-date (through curl_getdate(),
 * relative to now, unix seconds). Surrounding blanks are allowed. Returns
 * false for anything else (empty, negative, garbage, over 128 bytes); then
 * the computed backoff applies. On success *seconds is the wait, clamped to
 * [0, cap]: a date in the past means now, a huge value means cap.
 */
__attribute__((warn_unused_result)) bool
retry_after_parse(const char *value, size_t len, int64_t now, uint32_t cap, uint32_t *seconds);

/*
 * A persisted next_due (unix seconds, wall clock) brought back into range at
 * load: never more than max_ahead seconds after now (the clock jumped back, or
 * the file was written by a clock that was wrong), never negative.
 */
int64_t retry_clamp_due(int64_t next_due, int64_t now, uint32_t max_ahead);

/* The largest delay the policy can ask for: max(cap, after_cap). */
uint32_t retry_max_delay(const struct retry_policy *policy);

#endif
