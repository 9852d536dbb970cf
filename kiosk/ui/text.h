/*
 * text.h - text on screen: SDL2_ttf (HarfBuzz shaping) with the Noto fonts,
 * fribidi for the visual order of mixed right-to-left and left-to-right runs,
 * and a small cache of rendered textures.
 *
 * A string is split into runs of one embedding level and one font (Arabic
 * script in Noto Sans Arabic, everything else in Noto Sans; a character the
 * face has no glyph for goes to the other face); each run is shaped
 * with its direction and script set on the font (TTF_SetFontDirection,
 * TTF_SetFontScriptName) and the runs are placed in fribidi's visual order.
 *
 * Private text (what a customer typed) is rendered with cache=false: it never
 * stays in the cache, its temporary buffers and surfaces are zeroed, and its
 * texture (streaming) is overwritten before it is destroyed.
 */
#ifndef SCANKIOSK_UI_TEXT_H
#define SCANKIOSK_UI_TEXT_H

#include <SDL.h>
#include <stdbool.h>

enum text_role {
	TEXT_BODY,  /* running text */
	TEXT_BOLD,  /* buttons, labels */
	TEXT_TITLE, /* screen titles */
	TEXT_HUGE,  /* the receipt reference */
	TEXT_ROLE_LAST
};

struct text;

struct text_style {
	bool bold;
	int cap_px; /* cap height in pixels */
	SDL_Color color;
	bool rtl; /* the paragraph direction (the UI language's) */
};

/* A rendered line; owned by the cache (valid until the next text_* call that
 * may evict) or, for cache=false, by the caller (text_line_release). */
struct text_line {
	SDL_Texture *tex;
	int w, h;
	int ascent; /* baseline, pixels from the top */
	bool owned;
	SDL_Rect ink; /* the pixels the glyphs cover, relative to the top-left (w 0: none) */
};

/* Opens the fonts in font_dir (NotoSans-*.ttf, NotoSansArabic-*.ttf). */
struct text *text_create(SDL_Renderer *renderer, const char *font_dir);
void text_destroy(struct text *t); /* accepts NULL */

/* Renders one line (no wrapping). false when nothing could be drawn. */
bool text_line(struct text *t, const char *utf8, const struct text_style *st, bool cache,
               struct text_line *out);
void text_line_release(struct text_line *line);

/* How many characters of utf8 neither font has a glyph for (drawn as boxes). */
int text_missing_glyphs(struct text *t, const char *utf8, const struct text_style *st);

/* Width in pixels of one line, as text_line would draw it. */
int text_width(struct text *t, const char *utf8, const struct text_style *st);
/* Line advance for a style: the Latin font's, or for right-to-left text the
 * taller of the Latin and Arabic fonts'. */
int text_height(struct text *t, const struct text_style *st);

/* Where the first baseline sits below the top of a line box (see text_height). */
int text_ascent(struct text *t, const struct text_style *st);

/* Drops every cached texture (language, theme or size changed). */
void text_cache_clear(struct text *t);

/* Overwrites a streaming texture's pixels with zeros, then destroys it: for
 * textures that held what a customer typed or a page's content (SDL frees
 * texture memory without clearing it). Accepts NULL. */
void text_texture_destroy(SDL_Texture *tex);

#endif
