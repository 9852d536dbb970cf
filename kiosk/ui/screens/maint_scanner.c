/*
 * maint_scanner.c - the scanner for a technician: which one is in use and how
 * it is, the scanners that can be found, the defaults every customer's scan
 * uses (device, glass or feeder, resolution, colour), and a test scan whose
 * page is shown with its facts and then discarded (never stored, never sent).
 *
 * The choice is applied at once and kept in [scanner] settings by the model
 * (kiosk/app/maintenance.h), off this thread; listing scanners runs on the
 * scan service's thread (it can take seconds).
 *
 * Widgets: `devices-refresh`, `device-auto`, `device-N` (N 1-based),
 * `source-flatbed`, `source-adf`, `dpi-150` `dpi-200` `dpi-300` `dpi-600`,
 * `mode-auto`, `mode-color`, `mode-gray`, `settings-save`, `test-scan`,
 * `test-discard`; labels `scanner-current`, `devices-status`,
 * `settings-result`, `test-status`, `test-page`, `test-facts`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maint.h"
#include "maintenance.h"
#include "page_view.h"

static const uint32_t dpis[] = {150, 200, 300, 600};
#define N_DPIS (sizeof(dpis) / sizeof(dpis[0]))

static struct {
	struct maintenance_scanner_settings edit; /* what the buttons show selected */
	bool edited;                              /* edit differs from what is in effect */
} st;

static void enter(struct ui *ui)
{
	(void)maintenance_scanner_settings(ui->maint, &st.edit);
	st.edited = false;
	if (maintenance_devices(ui->maint)->listings == 0)
		(void)maintenance_devices_refresh(ui->maint);
}

static void leave(struct ui *ui)
{
	/* The test page is seen here only: it goes when the screen does. */
	page_view_clear(ui->page_view);
	ui_thumbs_clear(ui);
	maintenance_test_page_discard(ui->maint);
}

static double current_row(struct ui *ui, double y, double lw)
{
	char v[512];
	bool bad = false;
	maint_scanner_text(ui->maint, v, sizeof(v), &bad);
	return maint_row(ui, y, lw, "scanner-current", M_("In use"), v,
	                 bad ? ui->theme->error : ui->theme->fg);
}

/* A label, and under it a row of choice buttons in x .. x + w; returns the
 * y under them. */
static double choices(struct ui *ui, double x, double w, double y, const char *label, size_t n,
                      const char *const ids[], const char *const labels[], const bool selected[],
                      bool enabled)
{
	const struct ui_theme *t = ui->theme;
	double lh = ui_text_height_mm(ui, label, TEXT_BODY, w);
	ui_text(ui, label, TEXT_BODY, ui_px(ui, x, y, w, lh), UI_ALIGN_START, t->muted);
	y += lh;
	double bw = (w - (double)(n - 1) * t->gap_mm) / (double)n;
	double h = UI_MIN_TARGET_MM + 1;
	for (size_t i = 0; i < n; i++)
		h = SDL_max(h, ui_button_height_mm(ui, labels[i], bw, UI_MIN_TARGET_MM + 1));
	for (size_t i = 0; i < n; i++)
		ui_button(ui, ids[i], ui_px(ui, x + (double)i * (bw + t->gap_mm), y, bw, h),
		          labels[i], selected[i] ? UI_STYLE_SELECTED : UI_STYLE_NORMAL, enabled);
	return y + h + t->gap_mm;
}

/* The scanners, in x .. x + w from y down to limit: "search again" with how
 * many were found, then "the first one found" and each device by model and
 * name, one a row, as many as fit (a kiosk has one scanner or two; the count
 * says when more exist). */
static void devices_column(struct ui *ui, double x, double w, double y, double limit, bool enabled)
{
	const struct ui_theme *t = ui->theme;
	const struct maintenance_devices *d = maintenance_devices(ui->maint);
	char status[256];
	if (d->listing)
		snprintf(status, sizeof(status), "%s", M_("Searching for scanners …"));
	else if (!d->ok && d->listings)
		snprintf(status, sizeof(status), M_("The search failed: %s"), d->error);
	else
		snprintf(status, sizeof(status),
		         MN_("%zu scanner found.", "%zu scanners found.", d->total), d->total);
	double lh = ui_text_height_mm(ui, M_("Scanner"), TEXT_BODY, w);
	ui_text(ui, M_("Scanner"), TEXT_BODY, ui_px(ui, x, y, w, lh), UI_ALIGN_START, t->muted);
	y += lh;
	double bw = SDL_min(55.0, w / 2);
	double h = SDL_max(UI_MIN_TARGET_MM + 1,
	                   ui_button_height_mm(ui, M_("Search again"), bw, UI_MIN_TARGET_MM + 1));
	ui_button(ui, "devices-refresh", ui_px(ui, x, y, bw, h), M_("Search again"),
	          UI_STYLE_NORMAL, !d->listing);
	double sw = w - bw - t->gap_mm;
	double sh = ui_text_height_mm(ui, status, TEXT_BODY, sw);
	SDL_Rect sr = ui_px(ui, x + bw + t->gap_mm, y + SDL_max(0.0, (h - sh) / 2), sw, sh);
	ui_text(ui, status, TEXT_BODY, sr, UI_ALIGN_START,
	        !d->ok && d->listings ? t->error : t->fg);
	ui_label(ui, "devices-status", sr, status);
	y += SDL_max(h, sh) + t->gap_mm;

	for (size_t i = 0; i <= d->count; i++) {
		char id[32], label[320];
		bool sel;
		if (i == 0) {
			snprintf(id, sizeof(id), "device-auto");
			snprintf(label, sizeof(label), "%s", M_("The first one found"));
			sel = st.edit.device[0] == '\0';
		} else {
			const struct maintenance_scanner_device *dev = &d->devices[i - 1];
			char name[64];
			maint_short_name(name, sizeof(name), dev->name);
			snprintf(id, sizeof(id), "device-%zu", i);
			snprintf(label, sizeof(label), "%s (%s)", dev->model, name);
			sel = strcmp(st.edit.device, dev->name) == 0;
		}
		double bh = ui_button_height_mm(ui, label, w, UI_MIN_TARGET_MM + 1);
		if (y + bh > limit)
			break;
		ui_button(ui, id, ui_px(ui, x, y, w, bh), label,
		          sel ? UI_STYLE_SELECTED : UI_STYLE_NORMAL, enabled);
		y += bh + t->gap_mm;
	}
}

static void draw_test_page(struct ui *ui, const struct scan_page *page, double y, double bottom)
{
	const struct ui_theme *t = ui->theme;
	double pw = SDL_min(maint_width(ui) * 0.45, (bottom - y) * 0.71);
	SDL_Rect box = ui_px(ui, maint_margin(ui), y, pw, bottom - y);
	SDL_Rect shown;
	if (!page_view_draw(ui->page_view, ui->renderer, page, 0, box, &shown)) {
		/* The thumbnail stands in until the page is decoded for this size. */
		SDL_Texture *tex = ui_thumb(ui, page, 0);
		double ar = (double)page->thumb_height / SDL_max(1u, page->thumb_width);
		int w = box.w, h = (int)(box.w * ar);
		if (h > box.h) {
			h = box.h;
			w = (int)(box.h / ar);
		}
		shown = (SDL_Rect){box.x + (box.w - w) / 2, box.y, w, h};
		if (tex)
			SDL_RenderCopy(ui->renderer, tex, NULL, &shown);
	}
	ui_frame(ui, shown, t->border, 1);
	ui_label(ui, "test-page", shown, NULL);

	const struct scan_page_facts *f = &page->facts;
	char v[512], size[MAINT_FMT_MAX];
	maint_format_bytes(size, sizeof(size), f->bytes);
	char ink[32];
	maint_format_decimal(ink, sizeof(ink), f->blank_score * 100.0);
	snprintf(v, sizeof(v),
	         M_("%u × %u pixels at %u dpi; %s; stored %s; %s %% ink%s; SHA-256 "
	            "%02x%02x%02x%02x…"),
	         f->width, f->height, f->dpi, size, f->stored_color ? M_("in colour") : M_("grey"),
	         ink, f->blank ? M_(" (looks blank)") : "", f->sha256[0], f->sha256[1],
	         f->sha256[2], f->sha256[3]);
	double x = maint_margin(ui) + pw + t->gap_mm * 2;
	double w = ui->w_mm - maint_margin(ui) - x;
	double h = ui_text_height_mm(ui, v, TEXT_BODY, w);
	SDL_Rect fr = ui_px(ui, x, y, w, h);
	ui_text(ui, v, TEXT_BODY, fr, UI_ALIGN_START, t->fg);
	ui_label(ui, "test-facts", fr, v);
	const char *note = M_("This page is not stored and not sent.");
	double nh = ui_text_height_mm(ui, note, TEXT_BODY, w);
	ui_text(ui, note, TEXT_BODY, ui_px(ui, x, y + h + t->gap_mm, w, nh), UI_ALIGN_START,
	        t->muted);
	double bw = SDL_min(70.0, w);
	ui_button(ui, "test-discard",
	          ui_px(ui, x, bottom - t->button_mm * 1.3, bw, t->button_mm * 1.3),
	          M_("Discard the page"), UI_STYLE_PRIMARY, true);
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	struct maintenance *m = ui->maint;
	double y = maint_chrome(ui, NULL);
	double bottom = maint_footer(ui, M_("Back to the kiosk"));
	double lw = SDL_min(45.0, maint_width(ui) * 0.2);
	y = current_row(ui, y, lw);

	const struct scan_page *page = maintenance_test_page(m);
	if (page) {
		draw_test_page(ui, page, y + t->gap_mm, bottom);
		return;
	}
	struct maintenance_test_scan ts;
	maintenance_test_scan(m, &ts);
	const struct maintenance_settings_result *r = maintenance_scanner_result(m);
	bool idle = !ts.running && !r->running;

	/* Two columns above the last row: the scanners, and the defaults. */
	double by = bottom - t->button_mm;
	double cw = (maint_width(ui) - 2 * t->gap_mm) / 2;
	double x1 = maint_margin(ui), x2 = x1 + cw + 2 * t->gap_mm;
	y += t->gap_mm;
	devices_column(ui, x1, cw, y, by - t->gap_mm, idle);
	double y2 = y;
	{
		const char *ids[] = {"source-flatbed", "source-adf"};
		const char *labels[] = {M_("Glass"), M_("Feeder")};
		bool sel[] = {st.edit.source == CONFIG_SCAN_SOURCE_FLATBED,
		              st.edit.source == CONFIG_SCAN_SOURCE_ADF};
		y2 = choices(ui, x2, cw, y2, M_("Paper"), 2, ids, labels, sel, idle);
	}
	{
		const char *ids[N_DPIS] = {"dpi-150", "dpi-200", "dpi-300", "dpi-600"};
		const char *labels[N_DPIS] = {"150 dpi", "200 dpi", "300 dpi", "600 dpi"};
		bool sel[N_DPIS];
		for (size_t i = 0; i < N_DPIS; i++)
			sel[i] = st.edit.dpi == dpis[i];
		y2 = choices(ui, x2, cw, y2, M_("Resolution"), N_DPIS, ids, labels, sel, idle);
	}
	{
		const char *ids[] = {"mode-auto", "mode-color", "mode-gray"};
		const char *labels[] = {M_("Automatic"), M_("Colour"), M_("Grey")};
		bool sel[] = {st.edit.mode == CONFIG_SCAN_MODE_AUTO,
		              st.edit.mode == CONFIG_SCAN_MODE_COLOR,
		              st.edit.mode == CONFIG_SCAN_MODE_GRAY};
		(void)choices(ui, x2, cw, y2, M_("Colour"), 3, ids, labels, sel, idle);
	}

	/* Save and test, with what the last of them gave, on the last row. */
	double bw = SDL_min(70.0, (maint_width(ui) - 2 * t->gap_mm) / 3);
	ui_button(ui, "settings-save", ui_px(ui, maint_margin(ui), by, bw, t->button_mm),
	          M_("Save as default"), UI_STYLE_PRIMARY, idle && st.edited);
	ui_button(ui, "test-scan",
	          ui_px(ui, maint_margin(ui) + bw + t->gap_mm, by, bw, t->button_mm),
	          M_("Test scan"), UI_STYLE_NORMAL, idle && !st.edited);
	char v[512];
	const char *msg = NULL;
	bool bad = false;
	const char *id = "settings-result";
	if (ts.running) {
		msg = M_("Scanning a test page …");
		id = "test-status";
	} else if (ts.job && ts.pages == 0 && ts.problem != SCAN_PROBLEM_NONE) {
		snprintf(v, sizeof(v), M_("The test scan failed: %s"),
		         maint_problem_text(ts.problem));
		msg = v;
		bad = true;
		id = "test-status";
	} else if (r->running) {
		msg = M_("Saving …");
	} else if (r->done && !r->ok) {
		snprintf(v, sizeof(v),
		         r->applied ? M_("In use, but not saved: %s") : M_("Not saved: %s"),
		         r->error);
		msg = v;
		bad = true;
	} else if (r->done) {
		msg = r->saved ? M_("Saved: every scan uses these settings, also after a restart.")
		               : M_("In use until the next restart (no settings file configured).");
	} else if (st.edited) {
		msg = M_("Not saved yet.");
	}
	if (msg) {
		double tx = maint_margin(ui) + 2 * (bw + t->gap_mm);
		double tw = ui->w_mm - maint_margin(ui) - tx;
		double th = ui_text_height_mm(ui, msg, TEXT_BODY, tw);
		/* Two lines rise above the row, never into the footer. */
		SDL_Rect mr = ui_px(ui, tx,
		                    by + t->button_mm - SDL_max(t->button_mm, th) +
		                            SDL_max(0.0, (t->button_mm - th) / 2),
		                    tw, th);
		ui_text(ui, msg, TEXT_BODY, mr, UI_ALIGN_START, bad ? t->error : t->fg);
		ui_label(ui, id, mr, msg);
	}
}

static void tap(struct ui *ui, const char *id)
{
	struct maintenance *m = ui->maint;
	const struct maintenance_devices *d = maintenance_devices(m);
	if (strcmp(id, "test-discard") == 0) {
		page_view_clear(ui->page_view);
		ui_thumbs_clear(ui);
		maintenance_test_page_discard(m);
	} else if (strcmp(id, "test-scan") == 0) {
		(void)maintenance_test_scan_start(m, SCAN_SERVICE_SOURCE_DEFAULT);
	} else if (strcmp(id, "devices-refresh") == 0) {
		(void)maintenance_devices_refresh(m);
	} else if (strcmp(id, "settings-save") == 0) {
		if (maintenance_scanner_apply(m, &st.edit))
			st.edited = false;
	} else if (strcmp(id, "device-auto") == 0) {
		st.edit.device[0] = '\0';
		st.edited = true;
	} else if (strncmp(id, "device-", 7) == 0) {
		size_t i = (size_t)strtoul(id + 7, NULL, 10);
		if (i >= 1 && i <= d->count) {
			snprintf(st.edit.device, sizeof(st.edit.device), "%s",
			         d->devices[i - 1].name);
			st.edited = true;
		}
	} else if (strcmp(id, "source-flatbed") == 0 || strcmp(id, "source-adf") == 0) {
		st.edit.source = id[7] == 'a' ? CONFIG_SCAN_SOURCE_ADF : CONFIG_SCAN_SOURCE_FLATBED;
		st.edited = true;
	} else if (strncmp(id, "dpi-", 4) == 0) {
		st.edit.dpi = (uint32_t)strtoul(id + 4, NULL, 10);
		st.edited = true;
	} else if (strcmp(id, "mode-auto") == 0) {
		st.edit.mode = CONFIG_SCAN_MODE_AUTO;
		st.edited = true;
	} else if (strcmp(id, "mode-color") == 0) {
		st.edit.mode = CONFIG_SCAN_MODE_COLOR;
		st.edited = true;
	} else if (strcmp(id, "mode-gray") == 0) {
		st.edit.mode = CONFIG_SCAN_MODE_GRAY;
		st.edited = true;
	}
	if (st.edited) {
		/* Back to "in effect" when the choice equals it again. */
		struct maintenance_scanner_settings now;
		(void)maintenance_scanner_settings(m, &now);
		st.edited = strcmp(now.device, st.edit.device) != 0 ||
		            now.source != st.edit.source || now.dpi != st.edit.dpi ||
		            now.mode != st.edit.mode;
	}
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	if (ev->kind == UI_EVENT_TAP) {
		if (maint_tap(ui, ev->widget->id))
			return;
		tap(ui, ev->widget->id);
	}
	ui_dirty(ui);
}

const struct ui_screen_impl ui_screen_maint_scanner = {
        .name = "maint-scanner",
        .enter = enter,
        .leave = leave,
        .event = event,
        .draw = draw,
};
