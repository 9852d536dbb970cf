/*
 * flow.c - the screens of the customer flow and the moves between them.
 */
#include "flow.h"

#include <string.h>

#include "log.h"

static const char *const names[FLOW_SCREEN_LAST] = {
        [FLOW_WELCOME] = "welcome",   [FLOW_CASE] = "case",
        [FLOW_CATEGORY] = "category", [FLOW_SCAN] = "scan",
        [FLOW_REVIEW] = "review",     [FLOW_CONFIRM] = "confirm",
        [FLOW_RECEIPT] = "receipt",   [FLOW_TIMEOUT_WARNING] = "timeout-warning",
};

const char *flow_screen_name(enum flow_screen screen)
{
	return (unsigned)screen < FLOW_SCREEN_LAST ? names[screen] : "";
}

bool flow_screen_from_name(const char *name, enum flow_screen *out)
{
	if (!name)
		return false;
	for (int i = 0; i < FLOW_SCREEN_LAST; i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum flow_screen)i;
			return true;
		}
	}
	return false;
}

enum flow_screen flow_next(enum flow_screen screen)
{
	switch (screen) {
	case FLOW_WELCOME:
		return FLOW_CASE;
	case FLOW_CASE:
		return FLOW_CATEGORY;
	case FLOW_CATEGORY:
		return FLOW_SCAN;
	case FLOW_SCAN:
		return FLOW_REVIEW;
	case FLOW_REVIEW:
		return FLOW_CONFIRM;
	case FLOW_CONFIRM:
		return FLOW_RECEIPT;
	case FLOW_RECEIPT:
		return FLOW_WELCOME;
	case FLOW_TIMEOUT_WARNING:
	case FLOW_SCREEN_LAST:
		break;
	}
	return FLOW_SCREEN_LAST;
}

enum flow_screen flow_back(enum flow_screen screen)
{
	switch (screen) {
	case FLOW_CASE:
		return FLOW_WELCOME;
	case FLOW_CATEGORY:
		return FLOW_CASE;
	case FLOW_SCAN:
		return FLOW_CATEGORY;
	case FLOW_REVIEW:
		return FLOW_SCAN;
	case FLOW_CONFIRM:
		return FLOW_REVIEW;
	case FLOW_WELCOME:
	case FLOW_RECEIPT:
	case FLOW_TIMEOUT_WARNING:
	case FLOW_SCREEN_LAST:
		break;
	}
	return FLOW_SCREEN_LAST;
}

bool flow_allowed(enum flow_screen from, enum flow_screen to)
{
	if ((unsigned)from >= FLOW_SCREEN_LAST || (unsigned)to >= FLOW_SCREEN_LAST || from == to)
		return false;
	if (to == FLOW_WELCOME)
		return true; /* finish, wipe, timeout: always */
	if (to == FLOW_TIMEOUT_WARNING)
		return from != FLOW_WELCOME;
	if (from == FLOW_TIMEOUT_WARNING)
		return true; /* back to the screen it covered (flow_resume checks which) */
	/* scan -> review is "next"; review -> scan is "add more" and rescan. */
	return flow_next(from) == to || flow_back(from) == to;
}

void flow_init(struct flow *f)
{
	f->current = FLOW_WELCOME;
	f->interrupted = FLOW_WELCOME;
}

bool flow_go(struct flow *f, enum flow_screen to)
{
	if (!flow_allowed(f->current, to) ||
	    (f->current == FLOW_TIMEOUT_WARNING && to != FLOW_WELCOME && to != f->interrupted)) {
		log_warning("screen %s -> %s refused", flow_screen_name(f->current),
		            flow_screen_name(to));
		return false;
	}
	log_debug("screen %s -> %s", flow_screen_name(f->current), flow_screen_name(to));
	if (to == FLOW_TIMEOUT_WARNING)
		f->interrupted = f->current;
	f->current = to;
	if (to == FLOW_WELCOME)
		f->interrupted = FLOW_WELCOME;
	return true;
}

bool flow_resume(struct flow *f)
{
	if (f->current != FLOW_TIMEOUT_WARNING)
		return false;
	return flow_go(f, f->interrupted);
}
