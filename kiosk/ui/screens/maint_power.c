/*
 * maint_power.c - restarting what is stuck: the kiosk program (it exits and
 * systemd starts it again), the upload service (over its control socket), or
 * the whole device (systemd-logind). Each asks first; the queue on disk is
 * never touched.
 *
 * Widgets: `restart-kiosk`, `restart-uploader`, `reboot`, `power-confirm`,
 * `power-cancel`; label `power-result`.
 */
#include <stdio.h>
#include <string.h>

#include "maint.h"
#include "maintenance.h"

static const struct {
	enum maintenance_power what;
	const char *id;
	const char *label;   /* M_() at draw time */
	const char *explain; /* M_() at draw time */
	const char *ask;     /* M_() at draw time */
} actions[] = {
        {MAINTENANCE_RESTART_KIOSK, "restart-kiosk", M_NOOP("Restart the kiosk program"),
         M_NOOP("The screen goes dark for a few seconds, then the welcome screen returns."),
         M_NOOP("Restart the kiosk program now?")},
        {MAINTENANCE_RESTART_UPLOADER, "restart-uploader", M_NOOP("Restart the upload service"),
         M_NOOP("Uploads pause for a moment. Nothing in the queue is lost."),
         M_NOOP("Restart the upload service now?")},
        {MAINTENANCE_REBOOT, "reboot", M_NOOP("Reboot the device"),
         M_NOOP("Everything stops for about a minute. The queue stays on the disk."),
         M_NOOP("Reboot the device now?")},
};
#define N_ACTIONS (sizeof(actions) / sizeof(actions[0]))

static size_t action_of(enum maintenance_power what)
{
	for (size_t i = 0; i < N_ACTIONS; i++) {
		if (actions[i].what == what)
			return i;
	}
	return 0;
}

static const char *result_text(const struct maintenance_power_result *r, char *buf, size_t size,
                               bool *bad)
{
	*bad = false;
	if (r->what == MAINTENANCE_POWER_LAST)
		return NULL;
	if (r->running)
		return M_("Working …");
	if (!r->ok) {
		*bad = true;
		snprintf(buf, size, M_("Not done: %s"), r->error);
		return buf;
	}
	if (r->what == MAINTENANCE_RESTART_UPLOADER) {
		snprintf(buf, size,
		         M_("The upload service (process %lld) stopped; systemd starts it again."),
		         (long long)r->uploader_pid);
		return buf;
	}
	return M_("The device is rebooting …");
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	struct maintenance *m = ui->maint;
	double y = maint_chrome(ui, NULL);
	double bottom = maint_footer(ui, M_("Back to the kiosk"));
	const struct maintenance_power_result *r = maintenance_power_result(m);
	char buf[512];
	bool bad = false;

	enum maintenance_power pending = maintenance_power_pending(m);
	if (pending != MAINTENANCE_POWER_LAST) {
		size_t a = action_of(pending);
		y = maint_line(ui, y, NULL, M_(actions[a].ask), TEXT_BOLD, t->fg);
		y = maint_line(ui, y, NULL, M_(actions[a].explain), TEXT_BODY, t->fg);
		double bw = SDL_min(80.0, (maint_width(ui) - t->gap_mm) / 2);
		double bh = t->button_mm * 1.4;
		double by = SDL_max(y + t->gap_mm, bottom - bh - t->gap_mm);
		ui_button(ui, "power-cancel", ui_px(ui, maint_margin(ui), by, bw, bh), M_("Cancel"),
		          UI_STYLE_NORMAL, true);
		ui_button(ui, "power-confirm",
		          ui_px(ui, ui->w_mm - maint_margin(ui) - bw, by, bw, bh),
		          M_(actions[a].label), UI_STYLE_DANGER, true);
		return;
	}

	const char *res = result_text(r, buf, sizeof(buf), &bad);
	if (res)
		y = maint_line(ui, y, "power-result", res, TEXT_BOLD, bad ? t->error : t->fg);
	double bw = SDL_min(100.0, maint_width(ui) * 0.42);
	double ew = maint_width(ui) - bw - t->gap_mm;
	for (size_t i = 0; i < N_ACTIONS; i++) {
		const char *label = M_(actions[i].label);
		double bh = ui_button_height_mm(ui, label, bw, t->button_mm);
		const char *explain = M_(actions[i].explain);
		double eh = ui_text_height_mm(ui, explain, TEXT_BODY, ew);
		ui_button(ui, actions[i].id, ui_px(ui, maint_margin(ui), y, bw, bh), label,
		          UI_STYLE_NORMAL, !r->running);
		ui_text(ui, explain, TEXT_BODY,
		        ui_px(ui, maint_margin(ui) + bw + t->gap_mm,
		              y + SDL_max(0.0, (bh - eh) / 2), ew, eh),
		        UI_ALIGN_START, t->muted);
		y += SDL_max(bh, eh) + t->gap_mm * 2;
	}
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	struct maintenance *m = ui->maint;
	if (ev->kind == UI_EVENT_TAP) {
		const char *id = ev->widget->id;
		if (maint_tap(ui, id))
			return;
		for (size_t i = 0; i < N_ACTIONS; i++) {
			if (strcmp(id, actions[i].id) == 0)
				(void)maintenance_power_request(m, actions[i].what);
		}
		if (strcmp(id, "power-confirm") == 0)
			(void)maintenance_power_confirm(m); /* restart-kiosk: ui.c ends the loop */
		else if (strcmp(id, "power-cancel") == 0)
			maintenance_power_cancel(m);
	}
	ui_dirty(ui);
}

const struct ui_screen_impl ui_screen_maint_power = {
        .name = "maint-power",
        .event = event,
        .draw = draw,
};
