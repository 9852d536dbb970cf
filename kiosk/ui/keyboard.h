/*
 * keyboard.h - the on-screen keyboards: letters per script, the case number's
 * digits and capitals, and the birth date's keypad.
 *
 * Letter layouts: German (QWERTZ with ä ö ü ß), English and Turkish (with
 * ç ğ ı İ ö ş ü) share a row of letters common in names of the other Latin
 * layouts; Ukrainian and Russian ЙЦУКЕН; Arabic. A key switches between the
 * active language's letters and Latin (a name may be written either way).
 *
 * Key widget ids: "key-" followed by the key's lower-case letter or digit
 * ("key-a", "key-ü", "key-ж", "key-5"), and key-space, key-backspace,
 * key-shift, key-hyphen, key-apostrophe, key-dot, key-layout.
 */
#ifndef SCANKIOSK_UI_KEYBOARD_H
#define SCANKIOSK_UI_KEYBOARD_H

#include <stdbool.h>

#include "language.h"

struct ui;

enum keyboard_layout {
	KEYBOARD_DE,
	KEYBOARD_EN,
	KEYBOARD_TR,
	KEYBOARD_UK,
	KEYBOARD_RU,
	KEYBOARD_AR,
	KEYBOARD_CASE_NUMBER, /* digits and Latin capitals */
	KEYBOARD_DATE,        /* digits and the dot */
	KEYBOARD_LAST
};

struct keyboard {
	enum keyboard_layout layout;
	bool shift; /* the next letter upper case */
	bool latin; /* a non-Latin language's customer switched to Latin */
};

enum keyboard_action {
	KEYBOARD_NONE,  /* not a key, or a key that only changed the keyboard */
	KEYBOARD_TEXT,  /* insert the text */
	KEYBOARD_ERASE, /* backspace */
};

/* The letter layout of a language. */
enum keyboard_layout keyboard_letters_for(enum language lang);

/* Rows of keys of the keyboard as it shows now (letters, digits and the row
 * of special keys): a box of rows * UI_MIN_TARGET_MM plus gaps holds it. */
int keyboard_rows(const struct keyboard *kb);
/* The height and width (mm) the keyboard needs at the smallest keys. */
double keyboard_min_height_mm(const struct keyboard *kb);
double keyboard_min_width_mm(const struct keyboard *kb);

/* Draws the keyboard into the millimetre box (left-to-right frame): keys up
 * to the theme's key size, never under UI_MIN_TARGET_MM. */
void keyboard_draw(struct ui *ui, const struct keyboard *kb, double x, double y, double w,
                   double h);

/* A tap on widget id: what to do. out receives the UTF-8 text for KEYBOARD_TEXT. */
enum keyboard_action keyboard_tap(struct keyboard *kb, const char *id, char out[16]);

#endif
