/*
 * layout.h - checking what a frame drew (script mode, `check-layout`): the
 * rectangles of the widgets it registered and of the text it drew, recorded
 * by ui.c while drawing.
 *
 * A frame passes when
 *  - no text's ink (the pixels its glyphs cover) leaves the box its caller
 *    gave it, the widget it labels, or the screen;
 *  - no text's ink touches another text's ink or a widget it does not label
 *    (a named label region may hold text: the text lies inside it);
 *  - no two widgets overlap (a label region may lie inside a widget or hold
 *    one) and none leaves the screen;
 *  - every button, field, key and page tile is at least UI_MIN_TARGET_MM
 *    both ways;
 *  - every character of the interface's texts has a glyph in a font.
 * Rectangles may touch; a pixel of antialiasing (UI_LAYOUT_SLACK_PX) is
 * forgiven. Typed text is checked like any other, but its content never
 * appears in a report.
 */
#ifndef SCANKIOSK_UI_LAYOUT_H
#define SCANKIOSK_UI_LAYOUT_H

#include <SDL.h>
#include <stdbool.h>
#include <stddef.h>

struct ui;

#define UI_LAYOUT_SLACK_PX 1
#define UI_LAYOUT_WHAT_MAX 40

/* One block of text as drawn (ui.c draw_text). */
struct ui_text_record {
	SDL_Rect box; /* the space its caller gave it */
	SDL_Rect ink; /* the union of its lines' ink; w 0: nothing visible */
	int owner;    /* index of the widget it labels (button, field, tile); -1 none */
	bool private; /* typed by a customer: never named in a report */
	int missing;  /* characters without a glyph in any font */
	char what[UI_LAYOUT_WHAT_MAX]; /* the text's start, for reports ("" when private) */
};

/* Called once per problem found, with a line of English for the report. */
typedef void (*layout_report_fn)(void *userdata, const char *problem);

/* Checks the frame last drawn. Returns the number of problems (each reported). */
size_t layout_check(const struct ui *ui, layout_report_fn report, void *userdata);

#endif
