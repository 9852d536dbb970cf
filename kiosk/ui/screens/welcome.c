/*
 * welcome.c - the first screen: what the kiosk does, in pictures and words,
 * and the language choice, each language labelled in its own name.
 */
#include <stdio.h>
#include <string.h>

#include "ui.h"

/* A small pictogram of one step: a numbered disc and a caption. */
static void step(struct ui *ui, double x, double y, double w, int n, const char *caption)
{
	const struct ui_theme *t = ui->theme;
	double d = 16;
	SDL_Rect disc = ui_px(ui, x + (w - d) / 2, y, d, d);
	ui_fill(ui, disc, t->primary_bg);
	char num[4];
	snprintf(num, sizeof(num), "%d", n);
	SDL_Rect nr = {disc.x, disc.y + (disc.h - ui_mm(ui, 9)) / 2, disc.w, disc.h};
	ui_text(ui, num, TEXT_TITLE, nr, UI_ALIGN_CENTER, t->primary_fg);
	ui_text(ui, caption, TEXT_BOLD, ui_px(ui, x, y + d + 2, w, 20), UI_ALIGN_CENTER, t->fg);
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	double gap = t->gap_mm * 2;
	double y = gap;
	SDL_Rect tr = ui_px(ui, gap, y, ui->w_mm - 2 * gap, 30);
	int h = ui_text(ui, _("Send documents to your Jobcenter"), TEXT_TITLE, tr, UI_ALIGN_CENTER,
	                t->fg);
	y += h * 25.4 / ui->dpi + t->gap_mm;
	SDL_Rect br = ui_px(ui, gap * 2, y, ui->w_mm - 4 * gap, 40);
	h = ui_text(ui,
	            _("Scan your papers here and send them safely to your Jobcenter. At the end "
	              "you get a receipt number."),
	            TEXT_BODY, br, UI_ALIGN_CENTER, t->muted);
	y += h * 25.4 / ui->dpi + gap;

	/* The three steps, as pictures. */
	double sw = (ui->w_mm - 4 * gap) / 3;
	step(ui, gap * 2, y, sw, 1, _("Your details"));
	step(ui, gap * 2 + sw, y, sw, 2, _("Scan your papers"));
	step(ui, gap * 2 + 2 * sw, y, sw, 3, _("Receipt number"));
	y += 16 + 2 + 14;

	/* Languages: two rows of three, each in its own name. */
	double bh = t->button_mm;
	double foot = ui->h_mm - t->button_mm * 1.3 - gap;
	double rows_h = 2 * bh + t->gap_mm;
	if (y + rows_h > foot - t->gap_mm)
		y = foot - t->gap_mm - rows_h;
	double bw = (ui->w_mm - 2 * gap - 2 * t->gap_mm) / 3;
	for (int i = 0; i < LANGUAGE_LAST; i++) {
		char id[16];
		snprintf(id, sizeof(id), "lang-%s", language_code((enum language)i));
		double x = gap + (i % 3) * (bw + t->gap_mm);
		double yy = y + (i / 3) * (bh + t->gap_mm);
		ui_button(ui, id, ui_px(ui, x, yy, bw, bh), language_native_name((enum language)i),
		          (enum language)i == ui->lang ? UI_STYLE_SELECTED : UI_STYLE_NORMAL, true);
	}
	double nw = ui->w_mm / 2.5;
	ui_button(ui, "next", ui_px(ui, (ui->w_mm - nw) / 2, foot, nw, t->button_mm * 1.3),
	          _("Start"), UI_STYLE_PRIMARY, true);
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	if (ev->kind == UI_EVENT_TAP && strcmp(ev->widget->id, "next") == 0)
		ui_transition(ui, FLOW_CASE);
}

const struct ui_screen_impl ui_screen_welcome = {
        .name = "welcome",
        .draw = draw,
        .event = event,
};
