/*
 * flow.h - the customer's screens and the moves allowed between them.
 *
 *   welcome -> case -> category -> scan -> review -> confirm -> receipt -> welcome
 *
 * Back goes one step (review -> scan is "add more pages"; scan -> review once a
 * page exists), every screen but welcome may time out into timeout-warning,
 * which returns to the screen it interrupted or ends at welcome, and every
 * screen may go to welcome (finish, wipe). Screen names are stable: scripts and
 * tests use them. Every change goes through flow_go(), which logs old -> new.
 * Pure logic; one thread.
 */
#ifndef SCANKIOSK_FLOW_H
#define SCANKIOSK_FLOW_H

#include <stdbool.h>

enum flow_screen {
	FLOW_WELCOME,         /* what the kiosk does; language choice */
	FLOW_CASE,            /* case number, family name, birth date */
	FLOW_CATEGORY,        /* what kind of document */
	FLOW_SCAN,            /* place the paper, scan, progress */
	FLOW_REVIEW,          /* thumbnails; rotate, delete, rescan, reorder, add */
	FLOW_CONFIRM,         /* summary before sending */
	FLOW_RECEIPT,         /* reference number, QR code, what happens next */
	FLOW_TIMEOUT_WARNING, /* "are you still there?" countdown */
	FLOW_SCREEN_LAST
};

/* "welcome", "case", "category", "scan", "review", "confirm", "receipt",
 * "timeout-warning"; "" when out of range. */
const char *flow_screen_name(enum flow_screen screen);
bool flow_screen_from_name(const char *name, enum flow_screen *out);

/* The screen "next" leads to in the customer flow (receipt -> welcome);
 * FLOW_SCREEN_LAST for timeout-warning (it has no next). */
enum flow_screen flow_next(enum flow_screen screen);
/* The screen "back" leads to; FLOW_SCREEN_LAST where there is no back
 * (welcome, receipt: a sent submission cannot be reopened, timeout-warning). */
enum flow_screen flow_back(enum flow_screen screen);

/* True when the move from -> to is allowed (from == to is not a move). */
bool flow_allowed(enum flow_screen from, enum flow_screen to);

struct flow {
	enum flow_screen current;
	enum flow_screen interrupted; /* the screen timeout-warning covers */
};

/* Starts at welcome. */
void flow_init(struct flow *f);

/* Moves to `to` if allowed, logging "screen old -> new" (debug level). Returns
 * false, logging a warning, and stays when not allowed. Entering
 * timeout-warning remembers the current screen. */
bool flow_go(struct flow *f, enum flow_screen to);

/* From timeout-warning back to the screen it interrupted ("I need more time"). */
bool flow_resume(struct flow *f);

#endif
