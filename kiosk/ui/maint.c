/* maint.c - the technicians' screens' chrome, rows and formatting (see maint.h). */
#include "maint.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "maintenance.h"

static const struct {
	const char *id;
	enum ui_maint_screen screen;
	const char *label; /* M_() at draw time */
} tabs[] = {
        {"tab-status", UI_MAINT_STATUS, M_NOOP("Status")},
        {"tab-scanner", UI_MAINT_SCANNER, M_NOOP("Scanner")},
        {"tab-queue", UI_MAINT_QUEUE, M_NOOP("Queue")},
        {"tab-network", UI_MAINT_NETWORK, M_NOOP("Network")},
        {"tab-log", UI_MAINT_LOG, M_NOOP("Log")},
        {"tab-power", UI_MAINT_POWER, M_NOOP("Restart")},
};
#define N_TABS (sizeof(tabs) / sizeof(tabs[0]))

double maint_margin(const struct ui *ui)
{
	return ui->theme->gap_mm * 2;
}

double maint_width(const struct ui *ui)
{
	return ui->w_mm - 2 * maint_margin(ui);
}

double maint_chrome(struct ui *ui, const char *title)
{
	const struct ui_theme *t = ui->theme;
	double gap = t->gap_mm;
	/* One row of tabs, or two of three when a label would not fit its tab
	 * (a narrow panel, a long German word). */
	size_t per_row = N_TABS;
	double w = (ui->w_mm - gap * (double)(per_row + 1)) / (double)per_row;
	for (size_t i = 0; i < N_TABS; i++) {
		if (ui_text_width_mm(ui, M_(tabs[i].label), TEXT_BODY) + 3.0 > w)
			per_row = (N_TABS + 1) / 2;
	}
	w = (ui->w_mm - gap * (double)(per_row + 1)) / (double)per_row;
	double row = 0;
	for (size_t i = 0; i < N_TABS; i++)
		row = SDL_max(row,
		              ui_button_height_mm(ui, M_(tabs[i].label), w, UI_MIN_TARGET_MM + 2));
	for (size_t i = 0; i < N_TABS; i++) {
		bool shown = ui->maint_screen == tabs[i].screen;
		double x = gap + (double)(i % per_row) * (w + gap);
		double y = gap + (double)(i / per_row) * (row + gap);
		ui_button(ui, tabs[i].id, ui_px(ui, x, y, w, row), M_(tabs[i].label),
		          shown ? UI_STYLE_SELECTED : UI_STYLE_NORMAL, true);
	}
	size_t rows = (N_TABS + per_row - 1) / per_row;
	double y = gap + (double)rows * (row + gap) + gap;
	if (title && *title) {
		double tw = ui->w_mm - 2 * maint_margin(ui);
		double th = ui_text_height_mm(ui, title, TEXT_BOLD, tw);
		ui_text(ui, title, TEXT_BOLD, ui_px(ui, maint_margin(ui), y, tw, th),
		        UI_ALIGN_START, t->fg);
		y += th + gap;
	}
	return y;
}

double maint_footer(struct ui *ui, const char *close_label)
{
	const struct ui_theme *t = ui->theme;
	double gap = t->gap_mm;
	double y = ui->h_mm - ui_footer_mm(ui) + gap;
	double lw = SDL_min(40.0, (ui->w_mm - 4 * gap) / 4);
	static const enum language langs[] = {LANGUAGE_DE, LANGUAGE_EN};
	for (size_t i = 0; i < 2; i++) {
		char id[16];
		snprintf(id, sizeof(id), "lang-%s", language_code(langs[i]));
		ui_button(ui, id, ui_px(ui, gap + (double)i * (lw + gap), y, lw, t->button_mm),
		          language_native_name(langs[i]),
		          ui->lang == langs[i] ? UI_STYLE_SELECTED : UI_STYLE_NORMAL, true);
	}
	if (close_label) {
		double cw = SDL_min(80.0, ui->w_mm - 2 * lw - 5 * gap);
		ui_button(ui, "maint-close", ui_px(ui, ui->w_mm - gap - cw, y, cw, t->button_mm),
		          close_label, UI_STYLE_PRIMARY, true);
	}
	return y - gap;
}

bool maint_tap(struct ui *ui, const char *id)
{
	if (strcmp(id, "maint-close") == 0) {
		maintenance_close(ui->maint);
		return true;
	}
	for (size_t i = 0; i < N_TABS; i++) {
		if (strcmp(id, tabs[i].id) == 0) {
			ui_maint_go(ui, tabs[i].screen);
			return true;
		}
	}
	return false;
}

double maint_row(struct ui *ui, double y, double label_w, const char *id, const char *label,
                 const char *value, SDL_Color value_color)
{
	const struct ui_theme *t = ui->theme;
	double x = maint_margin(ui);
	double vw = maint_width(ui) - label_w - t->gap_mm;
	double h = SDL_max(ui_text_height_mm(ui, label, TEXT_BODY, label_w),
	                   ui_text_height_mm(ui, value, TEXT_BOLD, vw));
	ui_text(ui, label, TEXT_BODY, ui_px(ui, x, y, label_w, h), UI_ALIGN_START, t->muted);
	SDL_Rect vr = ui_px(ui, x + label_w + t->gap_mm, y, vw, h);
	ui_text(ui, value, TEXT_BOLD, vr, UI_ALIGN_START, value_color);
	if (id)
		ui_label(ui, id, vr, value);
	return y + h + t->gap_mm * 0.6;
}

double maint_line(struct ui *ui, double y, const char *id, const char *text, enum text_role role,
                  SDL_Color color)
{
	double w = maint_width(ui);
	double h = ui_text_height_mm(ui, text, role, w);
	SDL_Rect r = ui_px(ui, maint_margin(ui), y, w, h);
	ui_text(ui, text, role, r, UI_ALIGN_START, color);
	if (id)
		ui_label(ui, id, r, text);
	return y + h + ui->theme->gap_mm * 0.6;
}

/* "12 min" -> "12\u00a0min": a number and its unit on one line. */
static void keep_units(char *buf, size_t size)
{
	char out[MAINT_FMT_MAX * 2];
	size_t o = 0;
	for (size_t i = 0; buf[i] && o + 3 < sizeof(out); i++) {
		if (buf[i] == ' ' && i > 0 && buf[i - 1] >= '0' && buf[i - 1] <= '9') {
			out[o++] = (char)0xc2;
			out[o++] = (char)0xa0;
		} else {
			out[o++] = buf[i];
		}
	}
	out[o] = '\0';
	snprintf(buf, size, "%s", out);
}

void maint_format_age(char *buf, size_t size, int64_t seconds)
{
	long long s = seconds < 0 ? 0 : (long long)seconds;
	if (s < 60)
		snprintf(buf, size, M_("%lld s"), s);
	else if (s < 3600)
		snprintf(buf, size, M_("%lld min"), s / 60);
	else if (s < 86400)
		snprintf(buf, size, M_("%lld h %lld min"), s / 3600, s % 3600 / 60);
	else
		snprintf(buf, size, M_("%lld d %lld h"), s / 86400, s % 86400 / 3600);
	keep_units(buf, size);
}

void maint_format_bytes(char *buf, size_t size, uint64_t b)
{
	static const char *const units[] = {"kB", "MB", "GB", "TB"};
	if (b < 1000) {
		snprintf(buf, size, "%u B", (unsigned)b);
		keep_units(buf, size);
		return;
	}
	double v = (double)b / 1000.0;
	size_t u = 0;
	while (v >= 1000.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000.0;
		u++;
	}
	char num[32];
	maint_format_decimal(num, sizeof(num), v);
	snprintf(buf, size, "%s %s", num, units[u]);
	keep_units(buf, size);
}

void maint_format_time(char *buf, size_t size, int64_t unix_seconds)
{
	if (unix_seconds <= 0) {
		snprintf(buf, size, "–");
		return;
	}
	time_t tt = (time_t)unix_seconds;
	struct tm tm;
	/* TRANSLATORS: how dates are written: "dmy" (07.12.2026) or "ymd"
	 * (2026-12-07). */
	bool dmy = strcmp(M_("ymd"), "dmy") == 0;
	if (!localtime_r(&tt, &tm) ||
	    strftime(buf, size, dmy ? "%d.%m.%Y %H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)unix_seconds);
}

/* The technicians' words for a scan problem (the customers' are kinder). */
const char *maint_problem_text(enum scan_problem p)
{
	switch (p) {
	case SCAN_PROBLEM_NONE:
		return "";
	case SCAN_PROBLEM_NO_SCANNER:
		return M_("no scanner found");
	case SCAN_PROBLEM_FEEDER_EMPTY:
		return M_("feeder empty");
	case SCAN_PROBLEM_JAMMED:
		return M_("paper jam");
	case SCAN_PROBLEM_COVER_OPEN:
		return M_("cover open");
	case SCAN_PROBLEM_DEVICE_GONE:
		return M_("unplugged or switched off");
	case SCAN_PROBLEM_OTHER:
	case SCAN_PROBLEM_LAST:
		break;
	}
	return M_("scanner error (see the log)");
}

const char *maint_control_error_text(enum upload_control_error error)
{
	switch (error) {
	case UPLOAD_CONTROL_OK:
		return "";
	case UPLOAD_CONTROL_NOT_RUNNING:
		return M_("the upload service is not running");
	case UPLOAD_CONTROL_PERMISSION:
		return M_("no permission for its control socket");
	case UPLOAD_CONTROL_TIMEOUT:
		return M_("it did not answer in time");
	case UPLOAD_CONTROL_BAD_ANSWER:
		return M_("its answer was not understood");
	case UPLOAD_CONTROL_REFUSED:
		return M_("it refused");
	case UPLOAD_CONTROL_NOMEM:
		return M_("out of memory");
	case UPLOAD_CONTROL_IO:
	case UPLOAD_CONTROL_INVALID:
	case UPLOAD_CONTROL_ERROR_LAST:
		break;
	}
	return M_("error on its control socket (see the log)");
}

void maint_short_name(char *buf, size_t size, const char *name)
{
	size_t len = strlen(name);
	if (len <= MAINT_NAME_CHARS) {
		snprintf(buf, size, "%s", name);
		return;
	}
	/* The start (the backend) and the end (the bus or the number), cut at
	 * character boundaries. */
	size_t head = MAINT_NAME_CHARS / 2, tail = MAINT_NAME_CHARS - head - 1;
	while (head > 0 && ((unsigned char)name[head] & 0xc0) == 0x80)
		head--;
	size_t from = len - tail;
	while (from < len && ((unsigned char)name[from] & 0xc0) == 0x80)
		from++;
	snprintf(buf, size, "%.*s\u2026%s", (int)head, name, name + from);
}

void maint_scanner_text(struct maintenance *m, char *buf, size_t size, bool *bad)
{
	struct scan_service_status s;
	if (!maintenance_scanner_status(m, &s)) {
		snprintf(buf, size, "%s", M_("no scan service"));
		*bad = true;
		return;
	}
	const char *state = s.state == SCAN_SERVICE_READY      ? M_("ready")
	                    : s.state == SCAN_SERVICE_SCANNING ? M_("scanning")
	                                                       : M_("not found, still looking");
	const char *problem = maint_problem_text(s.problem);
	char dev[64];
	maint_short_name(dev, sizeof(dev), s.device);
	snprintf(buf, size, "%s%s%s%s%s%s%s%s", state, s.model[0] ? " – " : "", s.model,
	         s.device[0] ? " (" : "", dev, s.device[0] ? ")" : "",
	         *problem ? M_("; last problem: ") : "", problem);
	*bad = s.state == SCAN_SERVICE_SEARCHING;
}

const char *maint_activity_text(const char *activity)
{
	static const struct {
		const char *word, *text;
	} words[] = {
	        {"starting", M_NOOP("starting")},        {"sending", M_NOOP("sending")},
	        {"waiting", M_NOOP("waiting to retry")}, {"idle", M_NOOP("idle")},
	        {"stopped", M_NOOP("stopped")},
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(activity, words[i].word) == 0)
			return M_(words[i].text);
	}
	return activity;
}

void maint_format_decimal(char *buf, size_t size, double value)
{
	snprintf(buf, size, "%.1f", value);
	const char *sep = M_(".");
	char *dot = strchr(buf, '.');
	if (dot && strlen(sep) == 1)
		*dot = sep[0];
}

void maint_keep_fresh(struct ui *ui)
{
	if (!maintenance_status(ui->maint)->refreshing)
		(void)maintenance_status_refresh(ui->maint);
	ui_tick_in(ui, MAINT_STATUS_REFRESH_MS);
}
