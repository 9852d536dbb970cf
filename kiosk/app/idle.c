/*
 * idle.c - the inactivity timer.
 */
#include "idle.h"

#include <time.h>

uint64_t idle_boottime_ms(void *userdata)
{
	(void)userdata;
	struct timespec ts;
	/* Counts suspended time too (see idle.h). */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *idle_state_name(enum idle_state state)
{
	switch (state) {
	case IDLE_ACTIVE:
		return "active";
	case IDLE_WARNING:
		return "warning";
	case IDLE_EXPIRED:
		return "expired";
	case IDLE_STATE_LAST:
		break;
	}
	return "";
}

void idle_init(struct idle_timer *t, uint32_t timeout_s, uint32_t warning_s, idle_clock_fn clock,
               void *clock_userdata)
{
	*t = (struct idle_timer){
	        .timeout_ms = (uint64_t)(timeout_s ? timeout_s : 1) * 1000u,
	        .warning_ms = (uint64_t)(warning_s < IDLE_MIN_WARNING_S ? IDLE_MIN_WARNING_S
	                                                                : warning_s) *
	                      1000u,
	        .clock = clock ? clock : idle_boottime_ms,
	        .clock_userdata = clock_userdata,
	        .hold_limit_ms = (uint64_t)IDLE_HOLD_LIMIT_S * 1000u,
	};
	t->last_ms = idle_now_ms(t);
}

uint64_t idle_now_ms(const struct idle_timer *t)
{
	return t->clock(t->clock_userdata) + t->offset_ms;
}

/* Time since the last activity (0 if the clock went backwards). */
static uint64_t elapsed(const struct idle_timer *t)
{
	uint64_t now = idle_now_ms(t);
	return now > t->last_ms ? now - t->last_ms : 0;
}

enum idle_state idle_state(const struct idle_timer *t, uint32_t *countdown_s)
{
	if (countdown_s)
		*countdown_s = 0;
	if (t->holds)
		return idle_hold_overdue(t) ? IDLE_EXPIRED : IDLE_ACTIVE;
	uint64_t e = elapsed(t);
	if (e < t->timeout_ms)
		return IDLE_ACTIVE;
	if (e >= t->timeout_ms + t->warning_ms)
		return IDLE_EXPIRED;
	if (countdown_s) {
		uint64_t left = t->timeout_ms + t->warning_ms - e;
		*countdown_s = (uint32_t)((left + 999) / 1000);
	}
	return IDLE_WARNING;
}

void idle_touch(struct idle_timer *t)
{
	if (idle_state(t, NULL) == IDLE_ACTIVE)
		t->last_ms = idle_now_ms(t);
}

void idle_extend(struct idle_timer *t)
{
	t->last_ms = idle_now_ms(t);
	if (t->holds)
		t->hold_deadline_ms = t->last_ms + t->hold_limit_ms;
}

void idle_advance(struct idle_timer *t, uint32_t seconds)
{
	t->offset_ms += (uint64_t)seconds * 1000u;
}

void idle_hold(struct idle_timer *t)
{
	t->holds++;
	t->hold_deadline_ms = idle_now_ms(t) + t->hold_limit_ms;
}

void idle_hold_renew(struct idle_timer *t)
{
	if (t->holds)
		t->hold_deadline_ms = idle_now_ms(t) + t->hold_limit_ms;
}

void idle_set_hold_limit(struct idle_timer *t, uint32_t seconds)
{
	t->hold_limit_ms = (uint64_t)(seconds ? seconds : IDLE_HOLD_LIMIT_S) * 1000u;
}

bool idle_hold_overdue(const struct idle_timer *t)
{
	return t->holds && idle_now_ms(t) >= t->hold_deadline_ms;
}

void idle_release(struct idle_timer *t)
{
	if (t->holds && --t->holds == 0)
		t->last_ms = idle_now_ms(t);
}

int64_t idle_ms_to_next_change(const struct idle_timer *t)
{
	if (t->holds) {
		uint64_t now = idle_now_ms(t);
		return now < t->hold_deadline_ms ? (int64_t)(t->hold_deadline_ms - now) : -1;
	}
	uint64_t e = elapsed(t);
	if (e < t->timeout_ms)
		return (int64_t)(t->timeout_ms - e);
	uint64_t end = t->timeout_ms + t->warning_ms;
	if (e >= end)
		return -1;
	/* The countdown shows whole seconds rounded up: it changes when the time
	 * left crosses the next multiple of 1000 ms. */
	uint64_t left = end - e;
	uint64_t step = left % 1000u;
	return (int64_t)(step ? step : 1000u);
}
