/*
 * welcome.c - the first screen: what the kiosk does, in pictures and words,
 * and the language choice, each language labelled in its own name.
 *
 * A commit of a session that ended while it ran goes on by itself
 * (session_wipe) and never notifies; while any does, this screen looks every
 * ORPHAN_CHECK_MS whether it has ended, so its thread is joined.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "session.h"
#include "ui.h"

#define ORPHAN_CHECK_MS 1000

static size_t orphans_seen;

static void join_orphans(struct ui *ui)
{
	size_t running = session_commit_orphans(ui->session);
	if (running > 0)
		ui_tick_in(ui, ORPHAN_CHECK_MS);
	if (running != orphans_seen)
		log_info("commits of ended sessions still running: %zu", running);
	orphans_seen = running;
}

static void enter(struct ui *ui)
{
	join_orphans(ui);
}

/* A small pictogram of one step: a numbered disc (d mm; none when 0) and a
 * caption of caption_h mm under it. */
static void step(struct ui *ui, double x, double y, double w, double d, double caption_h, int n,
                 const char *caption)
{
	const struct ui_theme *t = ui->theme;
	if (d > 0) {
		SDL_Rect disc = ui_px(ui, x + (w - d) / 2, y, d, d);
		ui_fill(ui, disc, t->primary_bg);
		char num[4];
		snprintf(num, sizeof(num), "%d", n);
		ui_text_center(ui, num, d >= 14 ? TEXT_TITLE : TEXT_BOLD, disc, t->primary_fg);
		y += d + 2;
	}
	SDL_Rect r = ui_px(ui, x, y, w, caption_h);
	if (ui_text_widest_mm(ui, caption, TEXT_BOLD, w) <= w)
		ui_text(ui, caption, TEXT_BOLD, r, UI_ALIGN_CENTER, t->fg);
	else /* a word too long for the column ("Vorgangsnummer") is set smaller */
		ui_text_fit(ui, caption, r, t->fg);
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	double gap = t->gap_mm * 2;
	double full = ui->w_mm - 2 * gap;
	double y = gap;
	const char *title = _("Send documents to your Jobcenter");
	double h = ui_text_height_mm(ui, title, TEXT_TITLE, full);
	ui_text(ui, title, TEXT_TITLE, ui_px(ui, gap, y, full, h), UI_ALIGN_CENTER, t->fg);
	y += h + t->gap_mm;
	const char *body = _("Scan your papers here and send them safely to your Jobcenter. At "
	                     "the end you get a receipt number.");
	h = ui_text_height_mm(ui, body, TEXT_BODY, full - 2 * gap);
	ui_text(ui, body, TEXT_BODY, ui_px(ui, gap * 2, y, full - 2 * gap, h), UI_ALIGN_CENTER,
	        t->muted);
	y += h + gap;

	/* From the bottom: Start, above it the languages in two rows of three. */
	double start_h = t->button_mm * 1.3;
	double foot = ui->h_mm - start_h - gap;
	double bh = t->button_mm;
	double rows_h = 2 * bh + t->gap_mm;
	double lang_top = foot - t->gap_mm - rows_h;

	/* The three steps, as pictures, in the room between. */
	double sw = (ui->w_mm - 4 * gap) / 3;
	const char *captions[3] = {_("Your details"), _("Scan your papers"), _("Receipt number")};
	double caption_h = 0;
	for (int i = 0; i < 3; i++) {
		double ch = ui_text_widest_mm(ui, captions[i], TEXT_BOLD, sw) <= sw
		                    ? ui_text_height_mm(ui, captions[i], TEXT_BOLD, sw)
		                    : ui_button_height_mm(ui, captions[i], sw, 0);
		caption_h = SDL_max(caption_h, ch);
	}
	double room = lang_top - gap - y;
	double d = SDL_min(16.0, room - caption_h - 2);
	if (d < 8)
		d = 0; /* the captions alone when a disc would be too small to read */
	for (int i = 0; i < 3; i++)
		step(ui, gap * 2 + i * sw, y, sw, d, caption_h, i + 1, captions[i]);
	y += (d > 0 ? d + 2 : 0) + caption_h + gap;

	double bw = (ui->w_mm - 2 * gap - 2 * t->gap_mm) / 3;
	y = SDL_min(y, lang_top);
	for (size_t i = 0; i < ui->lang_count; i++) {
		enum language l = ui->langs[i];
		char id[16];
		snprintf(id, sizeof(id), "lang-%s", language_code(l));
		double x = gap + (double)(i % 3) * (bw + t->gap_mm);
		double yy = y + (double)(i / 3) * (bh + t->gap_mm);
		ui_button(ui, id, ui_px(ui, x, yy, bw, bh), language_native_name(l),
		          l == ui->lang ? UI_STYLE_SELECTED : UI_STYLE_NORMAL, true);
	}
	double nw = ui->w_mm / 2.5;
	ui_button(ui, "next", ui_px(ui, (ui->w_mm - nw) / 2, foot, nw, start_h), _("Start"),
	          UI_STYLE_PRIMARY, true);
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	if (ev->kind == UI_EVENT_TICK)
		join_orphans(ui);
	else if (ev->kind == UI_EVENT_TAP && strcmp(ev->widget->id, "next") == 0)
		ui_transition(ui, FLOW_CASE);
}

const struct ui_screen_impl ui_screen_welcome = {
        .name = "welcome",
        .enter = enter,
        .draw = draw,
        .event = event,
};
