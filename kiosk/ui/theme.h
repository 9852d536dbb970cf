/*
 * theme.h - colours and sizes of the three looks: default, high contrast and
 * large text. Sizes are millimetres (text: cap height) so they mean the same
 * on every panel; ui.c turns them into pixels with the panel's DPI.
 */
#ifndef SCANKIOSK_UI_THEME_H
#define SCANKIOSK_UI_THEME_H

#include <SDL.h>
#include <stdbool.h>

#include "text.h"

/* The floor every theme keeps (issue: touch targets >= 9 mm, text >= 4 mm). */
#define UI_MIN_TARGET_MM 9.0
#define UI_MIN_CAP_MM    4.0

enum ui_theme_id { UI_THEME_DEFAULT, UI_THEME_HIGH_CONTRAST, UI_THEME_LARGE_TEXT, UI_THEME_LAST };

struct ui_theme {
	const char *name;
	SDL_Color bg, fg, muted, panel, border;
	SDL_Color button_bg, button_fg;
	SDL_Color primary_bg, primary_fg;
	SDL_Color selected_bg, selected_fg;
	SDL_Color danger_bg, danger_fg;
	SDL_Color disabled_bg, disabled_fg;
	SDL_Color field_bg, focus;
	SDL_Color error, ok;
	double cap_mm[TEXT_ROLE_LAST]; /* cap height per role */
	double button_mm;              /* height of an ordinary button */
	double key_mm;                 /* size of a keyboard key */
	double gap_mm;                 /* spacing */
	double border_mm;
};

/* Sizes of a theme in pixels, for the panel at hand. */
struct ui_theme_sizes {
	int cap_px[TEXT_ROLE_LAST];
};

const struct ui_theme *ui_theme_get(enum ui_theme_id id);
/* Picks the theme from the two switches of the [kiosk] configuration. */
enum ui_theme_id ui_theme_choose(bool high_contrast, bool large_text);

#endif
