/*
 * idle.h - the inactivity timer: active -> warning (countdown) -> expired.
 *
 * After timeout of no activity the UI shows the warning with the countdown of
 * warning (>= IDLE_MIN_WARNING_S); "I need more time" (idle_extend) starts
 * over; when the countdown ends, the session is wiped.
 *
 * Time is the monotonic clock (or an injected one) plus an offset that the UI's
 * script mode advances (`idle SECONDS`), so tests need not sleep. Pure logic,
 * no threads: use from one thread.
 */
#ifndef SCANKIOSK_IDLE_H
#define SCANKIOSK_IDLE_H

#include <stdbool.h>
#include <stdint.h>

#define IDLE_MIN_WARNING_S 20

enum idle_state {
	IDLE_ACTIVE,  /* someone is using the kiosk (or the timer is held) */
	IDLE_WARNING, /* show the warning with its countdown */
	IDLE_EXPIRED, /* wipe the session, back to welcome */
	IDLE_STATE_LAST
};

const char *idle_state_name(enum idle_state state); /* "active", "warning", "expired" */

/* Milliseconds of a monotonic clock. */
typedef uint64_t (*idle_clock_fn)(void *userdata);

struct idle_timer {
	uint64_t timeout_ms; /* no activity this long: warning */
	uint64_t warning_ms; /* warning this long: expired */
	idle_clock_fn clock;
	void *clock_userdata;
	uint64_t offset_ms; /* added to the clock (idle_advance) */
	uint64_t last_ms;   /* last activity or extension */
	unsigned holds;     /* > 0: the timer does not run (a scan, a commit) */
};

/* timeout_s and warning_s as configured (warning_s is raised to at least
 * IDLE_MIN_WARNING_S, timeout_s to at least 1). clock NULL: CLOCK_MONOTONIC.
 * Starts in IDLE_ACTIVE as if touched now. */
void idle_init(struct idle_timer *t, uint32_t timeout_s, uint32_t warning_s, idle_clock_fn clock,
               void *clock_userdata);

/* The current time of the timer's clock, offset included, in ms. */
uint64_t idle_now_ms(const struct idle_timer *t);

/* A touch or key press. Restarts the timeout while IDLE_ACTIVE; ignored in
 * IDLE_WARNING (only idle_extend ends the warning) and IDLE_EXPIRED. */
void idle_touch(struct idle_timer *t);

/* "I need more time": back to IDLE_ACTIVE with a full timeout. Also a fresh
 * session after expiry. */
void idle_extend(struct idle_timer *t);

/* Advances the timer's time by seconds (script mode). */
void idle_advance(struct idle_timer *t, uint32_t seconds);

/* While held (nested: each hold needs a release) the state is IDLE_ACTIVE and
 * time does not count; release restarts the timeout from then. Hold while the
 * scanner works, so a long feeder batch does not end the session. */
void idle_hold(struct idle_timer *t);
void idle_release(struct idle_timer *t);

/* The state now. In IDLE_WARNING, *countdown_s (may be NULL) receives the whole
 * seconds left, rounded up (warning_s .. 1); 0 otherwise. */
enum idle_state idle_state(const struct idle_timer *t, uint32_t *countdown_s);

/* Milliseconds until the state or the countdown's second next changes (for an
 * event wait timeout); -1 when held or expired (nothing will change by itself). */
int64_t idle_ms_to_next_change(const struct idle_timer *t);

#endif
