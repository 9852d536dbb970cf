/* layout.c - checking what a frame drew (see layout.h). */
#include "layout.h"

#include <stdarg.h>
#include <stdio.h>

#include "ui.h"

struct checker {
	const struct ui *ui;
	layout_report_fn report;
	void *userdata;
	size_t problems;
};

__attribute__((format(printf, 2, 3))) static void problem(struct checker *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->problems++;
	if (c->report)
		c->report(c->userdata, line);
}

/* a shrunk by the slack on every side: what must not touch b. */
static bool overlap(SDL_Rect a, SDL_Rect b)
{
	SDL_Rect in = {a.x + UI_LAYOUT_SLACK_PX, a.y + UI_LAYOUT_SLACK_PX,
	               a.w - 2 * UI_LAYOUT_SLACK_PX, a.h - 2 * UI_LAYOUT_SLACK_PX};
	return in.w > 0 && in.h > 0 && b.w > 0 && b.h > 0 && SDL_HasIntersection(&in, &b);
}

/* inner inside outer, give or take the slack. */
static bool inside(SDL_Rect inner, SDL_Rect outer)
{
	const int s = UI_LAYOUT_SLACK_PX;
	return inner.x >= outer.x - s && inner.y >= outer.y - s &&
	       inner.x + inner.w <= outer.x + outer.w + s &&
	       inner.y + inner.h <= outer.y + outer.h + s;
}

static const char *what(const struct ui_text_record *t)
{
	return t->private ? "(typed text)" : t->what;
}

static bool is_target(const struct ui_widget *w)
{
	return w->kind == UI_WIDGET_BUTTON || w->kind == UI_WIDGET_FIELD ||
	       w->kind == UI_WIDGET_KEY || w->kind == UI_WIDGET_THUMB;
}

static void check_widgets(struct checker *c)
{
	const struct ui *ui = c->ui;
	SDL_Rect screen = {0, 0, ui->w, ui->h};
	double min_mm = UI_MIN_TARGET_MM - 0.15; /* a pixel's rounding */
	for (size_t i = 0; i < ui->widget_count; i++) {
		const struct ui_widget *a = &ui->widgets[i];
		if (!inside(a->rect, screen))
			problem(c, "widget '%s' leaves the screen", a->id);
		double w_mm = a->rect.w * 25.4 / ui->dpi, h_mm = a->rect.h * 25.4 / ui->dpi;
		if (is_target(a) && (w_mm < min_mm || h_mm < min_mm))
			problem(c, "widget '%s' is %.1f x %.1f mm, under %.0f mm", a->id, w_mm,
			        h_mm, UI_MIN_TARGET_MM);
		for (size_t j = i + 1; j < ui->widget_count; j++) {
			const struct ui_widget *b = &ui->widgets[j];
			if (!overlap(a->rect, b->rect))
				continue;
			/* A named label region may lie inside a widget or hold one. */
			bool label = a->kind == UI_WIDGET_LABEL || b->kind == UI_WIDGET_LABEL;
			if (label && (inside(a->rect, b->rect) || inside(b->rect, a->rect)))
				continue;
			problem(c, "widgets '%s' and '%s' overlap", a->id, b->id);
		}
	}
}

static void check_texts(struct checker *c)
{
	const struct ui *ui = c->ui;
	SDL_Rect screen = {0, 0, ui->w, ui->h};
	for (size_t i = 0; i < ui->text_count; i++) {
		const struct ui_text_record *t = &ui->texts[i];
		if (t->missing > 0)
			problem(c, "text '%s': %d characters have no glyph in the fonts", what(t),
			        t->missing);
		if (t->ink.w == 0)
			continue;
		if (!inside(t->ink, t->box))
			problem(c,
			        "text '%s' leaves its box (ink %d,%d %dx%d, box %d,%d %dx%d): "
			        "clipped "
			        "or in another's space",
			        what(t), t->ink.x, t->ink.y, t->ink.w, t->ink.h, t->box.x, t->box.y,
			        t->box.w, t->box.h);
		if (!inside(t->ink, screen))
			problem(c, "text '%s' leaves the screen", what(t));
		const struct ui_widget *own = t->owner >= 0 && (size_t)t->owner < ui->widget_count
		                                      ? &ui->widgets[t->owner]
		                                      : NULL;
		if (own && !inside(t->ink, own->rect))
			problem(c, "text '%s' does not fit its widget '%s'", what(t), own->id);
		for (size_t j = 0; j < ui->widget_count; j++) {
			const struct ui_widget *w = &ui->widgets[j];
			if (w == own || !overlap(t->ink, w->rect))
				continue;
			if (w->kind == UI_WIDGET_LABEL && inside(t->ink, w->rect))
				continue;
			problem(c, "text '%s' overlaps widget '%s'", what(t), w->id);
		}
		for (size_t j = i + 1; j < ui->text_count; j++) {
			const struct ui_text_record *u = &ui->texts[j];
			if (u->ink.w > 0 && overlap(t->ink, u->ink))
				problem(c, "texts '%s' and '%s' overlap", what(t), what(u));
		}
	}
}

size_t layout_check(const struct ui *ui, layout_report_fn report, void *userdata)
{
	struct checker c = {ui, report, userdata, 0};
	if (ui->text_count == UI_TEXTS_MAX)
		problem(&c, "more than %d texts on screen: not all were recorded", UI_TEXTS_MAX);
	check_widgets(&c);
	check_texts(&c);
	return c.problems;
}
