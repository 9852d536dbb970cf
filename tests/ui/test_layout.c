/*
 * test_layout.c - the pieces the layout test (test_ui_layout.py) stands on:
 *  - layout_check() finds each kind of problem in a frame made up here
 *    (overlapping widgets, a label that does not fit its button, text in
 *    another's space, a small touch target, a missing glyph) and passes a
 *    frame without them; typed text is never named in its reports;
 *  - text.c picks the font per character: punctuation Noto Sans Arabic lacks
 *    next to Arabic letters, and Arabic punctuation next to Latin letters,
 *    come out of the other face instead of as boxes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "layout.h"
#include "text.h"
#include "ui.h"

#define FONT_DIR "/usr/share/fonts/truetype/noto"

struct reports {
	size_t count;
	char all[4096];
};

static void collect(void *userdata, const char *problem)
{
	struct reports *r = userdata;
	r->count++;
	size_t n = strlen(r->all);
	snprintf(r->all + n, sizeof(r->all) - n, "%s\n", problem);
}

static struct ui *frame(void)
{
	struct ui *ui = calloc(1, sizeof(*ui));
	assert_non_null(ui);
	ui->w = 1024;
	ui->h = 768;
	ui->dpi = 120; /* 9 mm = 42.5 px */
	return ui;
}

static int widget(struct ui *ui, const char *id, enum ui_widget_kind kind, SDL_Rect r)
{
	struct ui_widget *w = &ui->widgets[ui->widget_count];
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->kind = kind;
	w->rect = r;
	w->enabled = true;
	return (int)ui->widget_count++;
}

static void text(struct ui *ui, const char *what, SDL_Rect box, SDL_Rect ink, int owner,
                 bool private)
{
	struct ui_text_record *t = &ui->texts[ui->text_count++];
	*t = (struct ui_text_record){.box = box, .ink = ink, .owner = owner, .private = private};
	if (!private)
		snprintf(t->what, sizeof(t->what), "%s", what);
}

static size_t check(const struct ui *ui, struct reports *r)
{
	memset(r, 0, sizeof(*r));
	return layout_check(ui, collect, r);
}

/* A frame like the case screen's: buttons with their labels, a field with
 * typed text, a label region holding its text. */
static struct ui *good_frame(void)
{
	struct ui *ui = frame();
	int back = widget(ui, "back", UI_WIDGET_BUTTON, (SDL_Rect){10, 700, 200, 60});
	text(ui, "Back", (SDL_Rect){17, 700, 186, 60}, (SDL_Rect){70, 715, 80, 25}, back, false);
	int next = widget(ui, "next", UI_WIDGET_BUTTON, (SDL_Rect){814, 700, 200, 60});
	text(ui, "Next", (SDL_Rect){821, 700, 186, 60}, (SDL_Rect){880, 715, 80, 25}, next, false);
	int field = widget(ui, "name", UI_WIDGET_FIELD, (SDL_Rect){10, 100, 400, 60});
	text(ui, NULL, (SDL_Rect){20, 103, 380, 54}, (SDL_Rect){22, 115, 300, 30}, field, true);
	text(ui, "Family name", (SDL_Rect){10, 60, 400, 40}, (SDL_Rect){12, 65, 150, 30}, -1,
	     false);
	widget(ui, "case-message", UI_WIDGET_LABEL, (SDL_Rect){500, 100, 400, 100});
	text(ui, "Please check", (SDL_Rect){540, 105, 350, 90}, (SDL_Rect){540, 110, 300, 60}, -1,
	     false);
	/* Touching is fine: keys 1 px apart, a text right above a button. */
	widget(ui, "key-a", UI_WIDGET_KEY, (SDL_Rect){500, 300, 45, 45});
	widget(ui, "key-b", UI_WIDGET_KEY, (SDL_Rect){545, 300, 45, 45});
	return ui;
}

static void test_good_frame_passes(void **state)
{
	(void)state;
	struct ui *ui = good_frame();
	struct reports r;
	assert_int_equal(check(ui, &r), 0);
	free(ui);
}

static void test_overlapping_widgets(void **state)
{
	(void)state;
	struct ui *ui = good_frame();
	/* A field pushed down into the footer (what the translator saw). */
	widget(ui, "birth-date", UI_WIDGET_FIELD, (SDL_Rect){10, 680, 400, 60});
	struct reports r;
	assert_int_equal(check(ui, &r), 2);
	assert_non_null(strstr(r.all, "widgets 'back' and 'birth-date' overlap"));
	assert_non_null(strstr(r.all, "text 'Back' overlaps widget 'birth-date'"));
	free(ui);
}

static void test_label_clipped(void **state)
{
	(void)state;
	struct ui *ui = good_frame();
	/* "Seiten hinzufügen" wrapped into two lines in a one-line button. */
	int add = widget(ui, "add-pages", UI_WIDGET_BUTTON, (SDL_Rect){300, 700, 120, 60});
	text(ui, "Seiten hinzufügen", (SDL_Rect){307, 700, 106, 60}, (SDL_Rect){310, 690, 100, 80},
	     add, false);
	struct reports r;
	assert_true(check(ui, &r) >= 2);
	assert_non_null(strstr(r.all, "text 'Seiten hinzufügen' leaves its box"));
	assert_non_null(strstr(r.all, "does not fit its widget 'add-pages'"));
	free(ui);
}

static void test_text_in_another_space(void **state)
{
	(void)state;
	struct ui *ui = good_frame();
	/* A validation message running into the next field and its label. */
	text(ui, "Bitte prüfen Sie die Nummer", (SDL_Rect){10, 20, 400, 40},
	     (SDL_Rect){12, 22, 380, 100}, -1, false);
	struct reports r;
	check(ui, &r);
	assert_non_null(strstr(r.all, "leaves its box"));
	assert_non_null(strstr(r.all, "overlaps widget 'name'"));
	assert_non_null(strstr(r.all, "texts 'Family name' and 'Bitte prüfen Sie die Nummer'"));
	free(ui);
}

static void test_small_target_and_screen(void **state)
{
	(void)state;
	struct ui *ui = good_frame();
	widget(ui, "key-x", UI_WIDGET_KEY, (SDL_Rect){600, 300, 40, 45}); /* 8.5 mm */
	widget(ui, "lang-ar", UI_WIDGET_BUTTON, (SDL_Rect){1000, 0, 60, 50});
	struct reports r;
	assert_int_equal(check(ui, &r), 2);
	assert_non_null(strstr(r.all, "widget 'key-x' is 8.5 x 9.5 mm, under 9 mm"));
	assert_non_null(strstr(r.all, "widget 'lang-ar' leaves the screen"));
	free(ui);
}

static void test_missing_glyph(void **state)
{
	(void)state;
	struct ui *ui = good_frame();
	ui->texts[ui->text_count - 1].missing = 2;
	struct reports r;
	assert_int_equal(check(ui, &r), 1);
	assert_non_null(strstr(r.all, "text 'Please check': 2 characters have no glyph"));
	free(ui);
}

static void test_typed_text_never_named(void **state)
{
	(void)state;
	struct ui *ui = good_frame();
	/* Typed text spilling out of its field: reported, but not what it says. */
	text(ui, NULL, (SDL_Rect){20, 103, 380, 54}, (SDL_Rect){22, 115, 600, 30}, 2, true);
	struct reports r;
	assert_true(check(ui, &r) > 0);
	assert_non_null(strstr(r.all, "text '(typed text)'"));
	free(ui);
}

/* ---- the font per character ---- */

static int missing(struct text *t, const char *utf8, bool rtl, bool bold)
{
	struct text_style st = {.bold = bold, .cap_px = 19, .color = {0, 0, 0, 255}, .rtl = rtl};
	return text_missing_glyphs(t, utf8, &st);
}

static void test_glyph_fallback(void **state)
{
	(void)state;
	struct text *t = text_create(NULL, FONT_DIR);
	assert_non_null(t);
	for (int bold = 0; bold < 2; bold++) {
		for (int rtl = 0; rtl < 2; rtl++) {
			/* ( ) " ' ? % / ; and "…" right after Arabic letters: Noto
			 * Sans Arabic has none of them. */
			assert_int_equal(missing(t, "اسم (العائلة) \"نص\" 'ب' ما؟ 50% أ/ب؛ ج; د…",
			                         rtl, bold),
			                 0);
			assert_int_equal(missing(t, "نص?", rtl, bold), 0);
			/* "،" and "؟" right after Latin letters: Noto Sans has neither. */
			assert_int_equal(missing(t, "Kundennummer، BG-Nummer؟", rtl, bold), 0);
			assert_int_equal(missing(t, "Müller-Lüdenscheidt (ab) 12 % …", rtl, bold),
			                 0);
		}
	}
	/* What no face has is counted (and would show as a box). */
	assert_int_equal(missing(t, "a \xF0\x9F\x98\x80 b", false, false), 1);
	assert_int_equal(missing(t, "\xE4\xB8\xAD\xE6\x96\x87", true, false), 2);
	text_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_good_frame_passes),
	        cmocka_unit_test(test_overlapping_widgets),
	        cmocka_unit_test(test_label_clipped),
	        cmocka_unit_test(test_text_in_another_space),
	        cmocka_unit_test(test_small_target_and_screen),
	        cmocka_unit_test(test_missing_glyph),
	        cmocka_unit_test(test_typed_text_never_named),
	        cmocka_unit_test(test_glyph_fallback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
