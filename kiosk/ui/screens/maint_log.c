/*
 * maint_log.c - the last log lines of the kiosk and of the upload service,
 * merged by time, newest first, a page at a time. The lines are what both
 * programs wrote to the journal: free of personal data by construction
 * (nothing in the project logs a name, a case number or a page).
 *
 * Widgets: `log-refresh`, `log-newer`, `log-older`; labels `log-line-N`
 * (N 1-based from the newest) and `log-page`.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "maint.h"
#include "maintenance.h"

static struct {
	size_t first; /* lines skipped from the newest */
	size_t shown; /* lines the last frame showed (a page) */
} st;

static void enter(struct ui *ui)
{
	st.first = 0;
	(void)maintenance_log_refresh(ui->maint);
}

/* Lines wrap at spaces; a longer run without one (a path, a URL, a device
 * name) gets a break every LONG_WORD bytes, at a character boundary, so its
 * end stays on the screen. */
#define LONG_WORD 48

static void break_long_words(char *buf, size_t size)
{
	char out[LOG_RING_LINE_MAX + 128];
	size_t o = 0, run = 0;
	for (size_t i = 0; buf[i] && o + 2 < sizeof(out); i++) {
		unsigned char c = (unsigned char)buf[i];
		bool starts_char = (c & 0xc0) != 0x80;
		if (buf[i] == ' ') {
			run = 0;
		} else if (starts_char && run >= LONG_WORD) {
			out[o++] = '\n';
			run = 0;
		}
		out[o++] = buf[i];
		if (buf[i] != ' ' && starts_char)
			run++;
	}
	out[o] = '\0';
	size_t n = SDL_min(o, size - 1);
	while (n > 0 && n < o && ((unsigned char)out[n] & 0xc0) == 0x80)
		n--; /* not in the middle of a character */
	memcpy(buf, out, n);
	buf[n] = '\0';
}

/* One line as shown: time, program, the line (its level and source place
 * are part of it). */
static void format_line(const struct maintenance_log_line *l, char *buf, size_t size)
{
	time_t tt = (time_t)(l->entry.time_ms / 1000);
	struct tm tm;
	char when[16] = "--:--:--";
	if (localtime_r(&tt, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	snprintf(buf, size, "%s %s %s", when,
	         l->source == MAINTENANCE_LOG_KIOSK ? M_("kiosk") : M_("upload"), l->entry.text);
	break_long_words(buf, size);
}

static const struct maintenance_log_line *newest(const struct maintenance_log *log, size_t k)
{
	return &log->lines[log->count - 1 - k];
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	const struct maintenance_log *log = maintenance_log(ui->maint);
	double y = maint_chrome(ui, NULL);
	double bottom = maint_footer(ui, M_("Back to the kiosk"));
	char buf[LOG_RING_LINE_MAX + 64];

	if (log->uploader_error != UPLOAD_CONTROL_OK && log->refreshes) {
		snprintf(buf, sizeof(buf), M_("Upload service lines missing: %s"),
		         maint_control_error_text(log->uploader_error));
		y = maint_line(ui, y, "log-uploader-error", buf, TEXT_BODY, t->error);
	}
	if (st.first >= log->count)
		st.first = 0;

	/* The page: as many lines, newest first, as fit above the buttons. */
	double by = bottom - t->button_mm;
	double w = maint_width(ui);
	double limit = by - t->gap_mm, yy = y;
	size_t shown = 0;
	for (size_t k = st.first; k < log->count; k++, shown++) {
		format_line(newest(log, k), buf, sizeof(buf));
		double h = ui_text_height_mm(ui, buf, TEXT_BODY, w);
		if (yy + h > limit && shown > 0)
			break;
		yy += h;
	}

	st.shown = shown;

	double bw = SDL_min(50.0, (maint_width(ui) - 3 * t->gap_mm) / 4);
	double x = maint_margin(ui);
	ui_button(ui, "log-refresh", ui_px(ui, x, by, bw, t->button_mm), M_("Refresh"),
	          UI_STYLE_NORMAL, !log->running);
	x += bw + t->gap_mm;
	ui_button(ui, "log-newer", ui_px(ui, x, by, bw, t->button_mm), M_("Newer"), UI_STYLE_NORMAL,
	          st.first > 0);
	x += bw + t->gap_mm;
	ui_button(ui, "log-older", ui_px(ui, x, by, bw, t->button_mm), M_("Older"), UI_STYLE_NORMAL,
	          st.first + shown < log->count);
	x += bw + t->gap_mm;

	if (log->count == 0) {
		maint_line(ui, y, "log-page", log->running ? M_("Reading …") : M_("No log lines."),
		           TEXT_BODY, t->muted);
		return;
	}
	for (size_t k = st.first; k < st.first + shown; k++) {
		const struct maintenance_log_line *l = newest(log, k);
		format_line(l, buf, sizeof(buf));
		double h = ui_text_height_mm(ui, buf, TEXT_BODY, w);
		char id[32];
		snprintf(id, sizeof(id), "log-line-%zu", k + 1);
		SDL_Rect r = ui_px(ui, maint_margin(ui), y, w, h);
		ui_text(ui, buf, TEXT_BODY, r, UI_ALIGN_START,
		        l->entry.level == LOG_LEVEL_ERROR     ? t->error
		        : l->entry.level == LOG_LEVEL_WARNING ? t->fg
		                                              : t->muted);
		ui_label(ui, id, r, buf);
		y += h;
	}
	snprintf(buf, sizeof(buf), M_("%zu to %zu of %zu, newest first"), st.first + 1,
	         st.first + shown, log->count);
	double tw = maint_width(ui) - (x - maint_margin(ui));
	double th = ui_text_height_mm(ui, buf, TEXT_BODY, tw);
	SDL_Rect pr = ui_px(ui, x, by + (t->button_mm - th) / 2, tw, th);
	ui_text(ui, buf, TEXT_BODY, pr, UI_ALIGN_START, t->muted);
	ui_label(ui, "log-page", pr, buf);
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	if (ev->kind == UI_EVENT_TAP) {
		const char *id = ev->widget->id;
		if (maint_tap(ui, id))
			return;
		size_t shown = st.shown;
		if (strcmp(id, "log-refresh") == 0) {
			st.first = 0;
			(void)maintenance_log_refresh(ui->maint);
		} else if (strcmp(id, "log-older") == 0) {
			st.first += shown;
		} else if (strcmp(id, "log-newer") == 0) {
			/* Back by about a page (pages differ with the lines' lengths). */
			st.first = st.first > shown ? st.first - shown : 0;
		}
	}
	ui_dirty(ui);
}

const struct ui_screen_impl ui_screen_maint_log = {
        .name = "maint-log",
        .enter = enter,
        .event = event,
        .draw = draw,
};
