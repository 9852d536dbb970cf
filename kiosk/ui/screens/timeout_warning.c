/*
 * timeout_warning.c - nobody has touched the kiosk for a while: a countdown
 * (at least 20 s, [kiosk] idle_warning) and a big "I need more time" button.
 * When the countdown ends, the UI loop wipes the session (ui.c check_idle).
 *
 * The screen shows nothing of the session: whoever walks up sees only the
 * question.
 */
#include <stdio.h>
#include <string.h>

#include "ui.h"

static void enter(struct ui *ui)
{
	ui_tick_in(ui, 200);
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	uint32_t left = 0;
	(void)idle_state(&ui->idle, &left);
	double y = ui_chrome(ui, _("Are you still there?"));
	double gap = t->gap_mm * 2;
	char msg[256];
	snprintf(msg, sizeof(msg),
	         ngettext("For your privacy, everything you entered will be deleted in %u second.",
	                  "For your privacy, everything you entered will be deleted in %u seconds.",
	                  left),
	         left);
	double full = ui->w_mm - 2 * gap;
	double h = ui_text_height_mm(ui, msg, TEXT_BOLD, full);
	ui_text(ui, msg, TEXT_BOLD, ui_px(ui, gap, y, full, h), UI_ALIGN_CENTER, t->fg);
	y += h + gap;
	char num[16];
	snprintf(num, sizeof(num), "%u", left);
	h = ui_text_height_mm(ui, num, TEXT_HUGE, full);
	ui_text(ui, num, TEXT_HUGE, ui_px(ui, gap, y, full, h), UI_ALIGN_CENTER, t->error);
	y += h + gap;
	double bw = SDL_min(120.0, ui->w_mm - 2 * gap);
	double bh = SDL_max(t->button_mm * 1.8, 20.0);
	ui_button(ui, "more-time", ui_px(ui, (ui->w_mm - bw) / 2, y, bw, bh), _("I need more time"),
	          UI_STYLE_PRIMARY, true);
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	if (ev->kind == UI_EVENT_TICK) {
		ui_dirty(ui);
		ui_tick_in(ui, 200);
		return;
	}
	if (ev->kind == UI_EVENT_TAP && strcmp(ev->widget->id, "more-time") == 0) {
		idle_extend(&ui->idle);
		ui_transition(ui, ui->flow.interrupted);
	}
}

const struct ui_screen_impl ui_screen_timeout_warning = {
        .name = "timeout-warning",
        .enter = enter,
        .event = event,
        .draw = draw,
};
