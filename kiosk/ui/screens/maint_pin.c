/*
 * maint_pin.c - the PIN pad the hidden entry opens (README.md): dots for the
 * digits entered, never the digits; a keypad; what the last attempt gave and
 * what the guard allows (wait, locked, attempts left). The digits live in
 * the maintenance model's buffer; the check runs on its worker.
 *
 * Widgets: `pin-0` ... `pin-9`, `pin-backspace`, `pin-ok`, `pin-cancel`;
 * labels `pin-dots` (one "●" per digit) and `pin-message`. A physical
 * keyboard's digits and Backspace work too (a technician's USB keyboard).
 */
#include <stdio.h>
#include <string.h>

#include "maint.h"
#include "maintenance.h"

/* While the guard counts down or a check runs, redraw this often. */
#define PIN_TICK_MS 250

/* What the pad says under the dots: the guard first (it decides whether a
 * PIN is taken at all), then the last attempt's outcome. */
static const char *message(const struct maintenance_pin_view *v, bool checking, char *buf,
                           size_t size, bool *bad)
{
	*bad = true;
	if (checking) {
		*bad = false;
		return M_("Checking the PIN …");
	}
	if (v->guard.mode == PIN_GUARD_LOCKED) {
		uint32_t min = (v->guard.seconds_left + 59) / 60;
		snprintf(buf, size,
		         MN_("Too many wrong PINs. The menu is locked for %u more minute.",
		             "Too many wrong PINs. The menu is locked for %u more minutes.", min),
		         min);
		return buf;
	}
	if (v->guard.mode == PIN_GUARD_WAIT) {
		snprintf(buf, size,
		         MN_("Wrong PIN. Please wait %u second before the next try.",
		             "Wrong PIN. Please wait %u seconds before the next try.",
		             v->guard.seconds_left),
		         v->guard.seconds_left);
		return buf;
	}
	switch (v->last) {
	case MAINTENANCE_PIN_WRONG:
		snprintf(buf, size,
		         MN_("Wrong PIN. %u more try before the menu is locked.",
		             "Wrong PIN. %u more tries before the menu is locked.",
		             v->guard.attempts_left),
		         v->guard.attempts_left);
		return buf;
	case MAINTENANCE_PIN_MALFORMED:
		return M_("The PIN has 6 to 12 digits.");
	case MAINTENANCE_PIN_ERROR:
		return M_("The PIN could not be checked (see the log). Please try again.");
	case MAINTENANCE_PIN_WAIT:
	case MAINTENANCE_PIN_LOCKED:
	case MAINTENANCE_PIN_NONE:
	case MAINTENANCE_PIN_ACCEPTED:
	case MAINTENANCE_PIN_OUTCOME_LAST:
		break;
	}
	*bad = false;
	return M_("Enter the technician PIN.");
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	struct maintenance_pin_view v;
	maintenance_pin_view(ui->maint, &v);
	bool checking = maintenance_state(ui->maint) == MAINTENANCE_CHECKING;
	double gap = t->gap_mm;
	double margin = maint_margin(ui);
	double w = maint_width(ui);
	double y = gap * 2;
	const char *title = M_("Maintenance");
	double th = ui_text_height_mm(ui, title, TEXT_TITLE, w);
	ui_text(ui, title, TEXT_TITLE, ui_px(ui, margin, y, w, th), UI_ALIGN_CENTER, t->fg);
	y += th + gap;

	/* The dots: how many digits, never which. */
	static const char dot[] = "\u25cf";
	char dots[PIN_MAX_DIGITS * (sizeof(dot) - 1) + 1];
	size_t n = 0;
	for (size_t i = 0; i < v.digits && i < PIN_MAX_DIGITS; i++, n += sizeof(dot) - 1)
		memcpy(dots + n, dot, sizeof(dot) - 1);
	dots[n] = '\0';
	double dh = ui_line_mm(ui, TEXT_TITLE) + gap;
	double dw = SDL_min(w, 90.0);
	SDL_Rect dr = ui_px(ui, (ui->w_mm - dw) / 2, y, dw, dh);
	ui_fill(ui, dr, t->field_bg);
	ui_frame(ui, dr, t->border, SDL_max(1, ui_mm(ui, t->border_mm)));
	ui_text_center(ui, dots, TEXT_TITLE, dr, t->fg);
	ui_label(ui, "pin-dots", dr, dots);
	y += dh + gap;

	char buf[256];
	bool bad = false;
	const char *msg = message(&v, checking, buf, sizeof(buf), &bad);
	double mh = ui_text_height_mm(ui, msg, TEXT_BOLD, w);
	SDL_Rect mr = ui_px(ui, margin, y, w, mh);
	ui_text(ui, msg, TEXT_BOLD, mr, UI_ALIGN_CENTER, bad ? t->error : t->fg);
	ui_label(ui, "pin-message", mr, msg);
	y += mh + gap * 2;

	/* The keypad: 1-9, then backspace 0 OK; as tall as the room allows. */
	double bottom = ui->h_mm - ui_footer_mm(ui);
	double key = SDL_min(22.0, (bottom - y - 3 * gap) / 4);
	key = SDL_max(key, UI_MIN_TARGET_MM + 2);
	double kw = key * 1.6;
	double x0 = (ui->w_mm - 3 * kw - 2 * gap) / 2;
	bool keys_on = !checking && v.guard.mode == PIN_GUARD_OPEN;
	for (int d = 1; d <= 9; d++) {
		char id[8], label[2] = {(char)('0' + d), '\0'};
		snprintf(id, sizeof(id), "pin-%d", d);
		int r = (d - 1) / 3, c = (d - 1) % 3;
		ui_button(ui, id, ui_px(ui, x0 + c * (kw + gap), y + r * (key + gap), kw, key),
		          label, UI_STYLE_NORMAL, keys_on && v.digits < PIN_MAX_DIGITS);
	}
	double ry = y + 3 * (key + gap);
	const struct ui_widget *bs = ui_button(ui, "pin-backspace", ui_px(ui, x0, ry, kw, key),
	                                       NULL, UI_STYLE_NORMAL, keys_on && v.digits > 0);
	if (bs) {
		SDL_Rect ir = bs->rect;
		ir.x += ir.w / 4;
		ir.w /= 2;
		ui_icon(ui, UI_ICON_BACKSPACE, ir, bs->enabled ? t->button_fg : t->disabled_fg);
	}
	ui_button(ui, "pin-0", ui_px(ui, x0 + kw + gap, ry, kw, key), "0", UI_STYLE_NORMAL,
	          keys_on && v.digits < PIN_MAX_DIGITS);
	ui_button(ui, "pin-ok", ui_px(ui, x0 + 2 * (kw + gap), ry, kw, key), M_("OK"),
	          UI_STYLE_PRIMARY, v.can_submit);

	/* The guard's countdown changes without an event from the model. */
	if (v.guard.mode != PIN_GUARD_OPEN)
		ui_tick_in(ui, PIN_TICK_MS);

	double fy = ui->h_mm - ui_footer_mm(ui) + gap;
	double cw = SDL_min(70.0, ui->w_mm - 2 * gap);
	ui_button(ui, "pin-cancel", ui_px(ui, ui->w_mm - gap - cw, fy, cw, t->button_mm),
	          M_("Cancel"), UI_STYLE_NORMAL, true);
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	struct maintenance *m = ui->maint;
	switch (ev->kind) {
	case UI_EVENT_TICK:
		ui_dirty(ui);
		return;
	case UI_EVENT_TEXT:
		for (const char *p = ev->text; p && *p; p++) {
			if (*p >= '0' && *p <= '9')
				(void)maintenance_pin_append(m, *p);
		}
		break;
	case UI_EVENT_ERASE:
		(void)maintenance_pin_backspace(m);
		break;
	case UI_EVENT_TAP: {
		const char *id = ev->widget->id;
		if (strncmp(id, "pin-", 4) == 0 && id[4] >= '0' && id[4] <= '9' && !id[5])
			(void)maintenance_pin_append(m, id[4]);
		else if (strcmp(id, "pin-backspace") == 0)
			(void)maintenance_pin_backspace(m);
		else if (strcmp(id, "pin-ok") == 0)
			(void)maintenance_pin_submit(m);
		else if (strcmp(id, "pin-cancel") == 0)
			maintenance_close(m); /* the customer's screen returns (ui.c) */
		break;
	}
	case UI_EVENT_MODEL:
	case UI_EVENT_LAST:
		break;
	}
	ui_dirty(ui);
}

static void leave(struct ui *ui)
{
	/* Nothing typed may outlive the pad (the model zeroes its buffer on
	 * close and submit; this covers leaving by the wipe into the menu). */
	maintenance_pin_clear(ui->maint);
}

const struct ui_screen_impl ui_screen_maint_pin = {
        .name = "maint-pin",
        .leave = leave,
        .event = event,
        .draw = draw,
};
