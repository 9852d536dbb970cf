/*
 * idle.h - the inactivity timer: active -> warning (countdown) -> expired.
 *
 * After timeout of no activity the UI shows the warning with the countdown of
 * warning (>= IDLE_MIN_WARNING_S); "I need more time" (idle_extend) starts
 * over; when the countdown ends, the session is wiped.
 *
 * Time is CLOCK_BOOTTIME (or an injected clock) plus an offset that the UI's
 * script mode advances (`idle SECONDS`), so tests need not sleep. The boot
 * clock keeps counting while the device is suspended: a session left behind
 * when the tablet went to sleep has expired when the next person wakes it
 * (CLOCK_MONOTONIC stops during suspend and would hand them the old session
 * with its full timeout left). Pure logic, no threads: use from one thread.
 *
 * Holds (a scan, a commit) stop the timer, but never for ever: each hold has a
 * deadline (IDLE_HOLD_LIMIT_S after the hold or its last renewal, e.g. on
 * every scanned page). A hold that outlives it (a scanner stuck in a read, a
 * disk that does not answer) expires the session: idle_state() reads
 * IDLE_EXPIRED and idle_hold_overdue() tells why, so the UI logs a warning,
 * aborts the scan and wipes.
 */
#ifndef SCANKIOSK_IDLE_H
#define SCANKIOSK_IDLE_H

#include <stdbool.h>
#include <stdint.h>

#define IDLE_MIN_WARNING_S 20
#define IDLE_HOLD_LIMIT_S  600 /* default: a hold without progress this long expires */

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
	uint64_t offset_ms;        /* added to the clock (idle_advance) */
	uint64_t last_ms;          /* last activity or extension */
	unsigned holds;            /* > 0: the timer does not run (a scan, a commit) */
	uint64_t hold_limit_ms;    /* a hold without renewal this long expires */
	uint64_t hold_deadline_ms; /* while held: expired from then on */
};

/* timeout_s and warning_s as configured (warning_s is raised to at least
 * IDLE_MIN_WARNING_S, timeout_s to at least 1). clock NULL: CLOCK_BOOTTIME
 * (idle_boottime_ms). The hold limit is IDLE_HOLD_LIMIT_S. Starts in
 * IDLE_ACTIVE as if touched now. */
void idle_init(struct idle_timer *t, uint32_t timeout_s, uint32_t warning_s, idle_clock_fn clock,
               void *clock_userdata);

/* The default clock: CLOCK_BOOTTIME in ms (userdata unused). */
uint64_t idle_boottime_ms(void *userdata);

/* The current time of the timer's clock, offset included, in ms. */
uint64_t idle_now_ms(const struct idle_timer *t);

/* A touch or key press. Restarts the timeout while IDLE_ACTIVE; ignored in
 * IDLE_WARNING (only idle_extend ends the warning) and IDLE_EXPIRED. */
void idle_touch(struct idle_timer *t);

/* "I need more time": back to IDLE_ACTIVE with a full timeout. Also a fresh
 * session after expiry: a hold still open (a scan that never ended) gets a
 * new deadline. */
void idle_extend(struct idle_timer *t);

/* Advances the timer's time by seconds (script mode). */
void idle_advance(struct idle_timer *t, uint32_t seconds);

/* While held (nested: each hold needs a release) the state is IDLE_ACTIVE and
 * time does not count, until the hold deadline; release restarts the timeout
 * from then. Hold while the scanner works or a commit runs, so a long feeder
 * batch does not end the session. Each idle_hold() sets the deadline to now +
 * the hold limit. */
void idle_hold(struct idle_timer *t);
void idle_release(struct idle_timer *t);

/* Progress while held (a page started or arrived): the deadline moves to now
 * + the hold limit. No-op when not held. */
void idle_hold_renew(struct idle_timer *t);

/* Sets the hold limit (seconds, at least 1; 0 keeps IDLE_HOLD_LIMIT_S). */
void idle_set_hold_limit(struct idle_timer *t, uint32_t seconds);

/* True when held past the deadline: idle_state() reads IDLE_EXPIRED because
 * a scan or commit did not progress. */
bool idle_hold_overdue(const struct idle_timer *t);

/* The state now. In IDLE_WARNING, *countdown_s (may be NULL) receives the whole
 * seconds left, rounded up (warning_s .. 1); 0 otherwise. */
enum idle_state idle_state(const struct idle_timer *t, uint32_t *countdown_s);

/* Milliseconds until the state or the countdown's second next changes (for an
 * event wait timeout); while held, until the hold deadline; -1 when expired
 * (nothing will change by itself). */
int64_t idle_ms_to_next_change(const struct idle_timer *t);

#endif
