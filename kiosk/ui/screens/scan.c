/*
 * scan.c - scanning: where the paper goes (a picture of the glass or the
 * feeder), a big Scan button, live progress, the pages as they finish, and the
 * scanner's problems in plain words with what to do next.
 *
 * The spool is asked on entering, before the customer scans anything: when it
 * cannot take a submission the customer is told here, not after the work, and
 * the Scan button stays off. The answer comes from the spool gauge
 * (spool_gauge.h), which asks the disk on its own thread every few seconds
 * and wakes the UI when the answer changes, so the kiosk recovers by itself
 * once the uploader freed space. A Scan tap asks the gauge afresh and starts
 * the scan when that answer is in (a few milliseconds; the screen looks again
 * every PENDING_CHECK_MS meanwhile). The scanner lives behind the scan
 * service; this screen only reads its status and asks for scans
 * (ui_scan_start), so it never waits on the device or the disk.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "scan_service.h"
#include "session.h"
#include "spool_gauge.h"
#include "ui.h"

#define PENDING_CHECK_MS 20
#define PENDING_LIMIT_MS 10000 /* a gauge that does not answer: the tap is forgotten */

static struct {
	bool can_accept;
	bool pending;           /* Scan was tapped: start once the gauge's fresh answer is in */
	uint64_t pending_since; /* SDL ticks of that tap */
} st;

/* The gauge's last answer for this session plus one more page; *fresh tells
 * whether it answers the question asked since the last refresh. */
static void check_spool(struct ui *ui, bool *fresh)
{
	bool was = st.can_accept;
	st.can_accept =
	        spool_gauge_can_accept(ui->gauge, session_expected_bytes(ui->session, 1), fresh);
	if (!st.can_accept && was)
		log_warning("spool cannot take a submission: scanning refused before it starts");
	else if (st.can_accept && !was)
		log_info("spool can take a submission again");
}

/* The source in effect: the configuration's, or a technician's later choice. */
static bool feeder(const struct ui *ui)
{
	struct scan_service_settings s;
	scan_service_get_settings(ui->scan, &s);
	return s.source == CONFIG_SCAN_SOURCE_ADF;
}

static void enter(struct ui *ui)
{
	/* A problem of an earlier visit is over (the pages were reviewed since). */
	ui->scan_problem = SCAN_PROBLEM_NONE;
	st.can_accept = true;
	st.pending = false;
	spool_gauge_refresh(ui->gauge);
	check_spool(ui, NULL);
}

/* The pages the next scan may bring: one on the glass or for a rescan, the
 * session's room from the feeder (0: full, nothing starts). */
static uint32_t pages_to_scan(const struct ui *ui)
{
	size_t pages = session_page_count(ui->session);
	uint32_t room = pages < SESSION_MAX_PAGES ? (uint32_t)(SESSION_MAX_PAGES - pages) : 0;
	if (ui->rescan_index >= 0 || !feeder(ui))
		return room ? 1 : 0;
	return room;
}

/* A Scan tap waits for the gauge's fresh answer; then it starts or is told. */
static void start_when_answered(struct ui *ui)
{
	bool fresh = false;
	check_spool(ui, &fresh);
	if (!fresh && SDL_GetTicks64() - st.pending_since < PENDING_LIMIT_MS) {
		ui_tick_in(ui, PENDING_CHECK_MS);
		return;
	}
	if (!fresh) {
		/* The disk does not answer: nothing could be saved anyway. */
		log_warning("the spool did not answer within %d ms: scan not started",
		            PENDING_LIMIT_MS);
		st.pending = false;
		ui_dirty(ui);
		return;
	}
	st.pending = false;
	if (st.can_accept)
		ui_scan_start(ui, pages_to_scan(ui));
	ui_dirty(ui);
}

/* The picture: a scanner seen from above, the paper where it belongs. */
static void illustration(struct ui *ui, double x, double y, double w, double h)
{
	const struct ui_theme *t = ui->theme;
	SDL_Color body = {0x55, 0x5b, 0x66, 255};
	SDL_Color glass = {0xb9, 0xd7, 0xef, 255};
	SDL_Color paper = {0xff, 0xff, 0xff, 255};
	SDL_Color ink = {0x8a, 0x93, 0xa3, 255};
	double sw = w, sh = h * 0.55;
	if (feeder(ui)) {
		/* Feeder on top: the pages stand in the tray, text facing up. */
		ui_fill(ui, ui_px(ui, x, y + h * 0.35, sw, sh), body);
		ui_fill(ui, ui_px(ui, x + sw * 0.2, y + h * 0.28, sw * 0.6, h * 0.1), body);
		double px = x + sw * 0.28, pw = sw * 0.44;
		for (int i = 2; i >= 0; i--) {
			SDL_Rect p = ui_px(ui, px + i * 1.5, y + i * 2.0, pw, h * 0.33);
			ui_fill(ui, p, paper);
			ui_frame(ui, p, t->border, 1);
		}
		for (int l = 0; l < 5; l++)
			ui_fill(ui, ui_px(ui, px + 4, y + 6 + l * 4.0, pw - 8, 1.2), ink);
		/* Arrow: into the feeder. */
		ui_fill(ui, ui_px(ui, px + pw / 2 - 1.5, y + h * 0.36, 3, h * 0.12), t->primary_bg);
	} else {
		/* Flatbed: the page face down in the marked corner. */
		SDL_Rect b = ui_px(ui, x, y + h * 0.1, sw, sh + h * 0.2);
		ui_fill(ui, b, body);
		SDL_Rect g = ui_px(ui, x + 4, y + h * 0.1 + 4, sw - 8, sh + h * 0.2 - 8);
		ui_fill(ui, g, glass);
		double pw = (sw - 8) * 0.55, ph = (sh + h * 0.2 - 8) * 0.9;
		SDL_Rect p = ui_px(ui, x + 4, y + h * 0.1 + 4, pw, ph);
		ui_fill(ui, p, paper);
		ui_frame(ui, p, t->border, 1);
		/* The corner mark. */
		ui_fill(ui, ui_px(ui, x + 4, y + h * 0.1 + 4, 8, 2.5), t->danger_bg);
		ui_fill(ui, ui_px(ui, x + 4, y + h * 0.1 + 4, 2.5, 8), t->danger_bg);
	}
}

static const char *problem_text(enum scan_problem p)
{
	switch (p) {
	case SCAN_PROBLEM_NO_SCANNER:
		return _("The scanner is not ready yet. Please wait a moment.");
	case SCAN_PROBLEM_FEEDER_EMPTY:
		return _("There is no paper in the feeder. Please put your pages in and tap "
		         "\"Scan\".");
	case SCAN_PROBLEM_JAMMED:
		return _("The paper is stuck. Please open the feeder cover, gently pull the paper "
		         "out, close the cover and tap \"Scan\" again.");
	case SCAN_PROBLEM_COVER_OPEN:
		return _("The scanner cover is open. Please close it and tap \"Scan\".");
	case SCAN_PROBLEM_DEVICE_GONE:
		return _("The scanner was disconnected. Your finished pages are kept. As soon as "
		         "you "
		         "can tap \"Scan\" again, please scan the page that was not finished once "
		         "more.");
	case SCAN_PROBLEM_OTHER:
		return _("The scan did not work. Please tap \"Scan\" to try again.");
	case SCAN_PROBLEM_NONE:
	case SCAN_PROBLEM_LAST:
		break;
	}
	return NULL;
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	char title[160];
	if (ui->rescan_index >= 0)
		snprintf(title, sizeof(title), _("Scan page %d again"), ui->rescan_index + 1);
	else
		snprintf(title, sizeof(title), "%s", _("Scan your papers"));
	double y = ui_chrome(ui, title);
	double gap = t->gap_mm * 2;
	double bottom = ui->h_mm - ui_footer_mm(ui);
	double left = ui->w_mm * 0.38;
	struct scan_service_status ss;
	scan_service_get_status(ui->scan, &ss);
	size_t pages = session_page_count(ui->session);
	bool room = pages < SESSION_MAX_PAGES;
	/* How the last scan ended, else what the scanner says now. */
	enum scan_problem shown = ui->scan_problem != SCAN_PROBLEM_NONE
	                                  ? (enum scan_problem)ui->scan_problem
	                                  : ss.problem;

	/* Left: where the paper goes, the words under the picture. */
	const char *how = feeder(ui) ? _("Put your pages into the feeder on top, text facing up, "
	                                 "top edge first.")
	                             : _("Lift the lid. Lay the page face down on the glass, in "
	                                 "the corner with the red mark. Close the lid.");
	double how_h = ui_text_height_mm(ui, how, TEXT_BODY, left - gap);
	double ih = SDL_min((bottom - y) * 0.55, bottom - y - how_h - 2 * t->gap_mm);
	if (ih >= 20)
		illustration(ui, gap, y, left - gap, ih);
	else
		ih = -t->gap_mm; /* no room for the picture: the words say it */
	ui_text(ui, how, TEXT_BODY, ui_px(ui, gap, y + ih + t->gap_mm, left - gap, how_h),
	        UI_ALIGN_START, t->fg);

	/* Right: the button, the state, the progress. */
	double rx = left + gap, rw = ui->w_mm - rx - gap;
	bool ready = ss.state == SCAN_SERVICE_READY && !ui->scan_job;
	bool can_scan = st.can_accept && ready && room && !st.pending;
	double bh = t->button_mm * 1.6;
	ui_button(ui, "scan", ui_px(ui, rx, y, rw, bh), _("Scan"), UI_STYLE_PRIMARY, can_scan);
	double my = y + bh + t->gap_mm;
	char msg[512];
	const char *text = NULL;
	SDL_Color color = t->fg;
	bool problem = false; /* something the customer must know about */
	if (!st.can_accept) {
		text = _("Sorry, this kiosk cannot take any more documents right now. Please try "
		         "again later or hand in your papers at the Jobcenter.");
		color = t->error;
		problem = true;
	} else if (ui->scan_job || ss.state == SCAN_SERVICE_SCANNING) {
		snprintf(msg, sizeof(msg), _("Scanning page %u …"), ss.page ? ss.page : 1);
		text = msg;
	} else if (problem_text(shown)) {
		text = problem_text(shown);
		color = t->error;
		problem = true;
	} else if (ss.state == SCAN_SERVICE_SEARCHING) {
		text = _("The scanner is not ready yet. Please wait a moment.");
	} else if (!room) {
		text = _("This is the most pages one submission can have.");
	} else if (pages == 0) {
		text = _("Place your first page, then tap \"Scan\".");
	} else {
		snprintf(msg, sizeof(msg), _("Pages scanned: %zu. Scan more, or tap \"Continue\"."),
		         pages);
		text = msg;
	}
	double mh = ui_text_height_mm(ui, text, TEXT_BOLD, rw);
	SDL_Rect mr = ui_px(ui, rx, my, rw, mh);
	ui_text(ui, text, TEXT_BOLD, mr, UI_ALIGN_START, color);
	/* Named for tests: scan-problem (told in red) or scan-status. */
	ui_label(ui, problem ? "scan-problem" : "scan-status", mr, text);
	my += mh + t->gap_mm;
	if (ss.state == SCAN_SERVICE_SCANNING && ss.lines_total > 0) {
		double frac = (double)ss.lines_done / (double)ss.lines_total;
		if (frac > 1)
			frac = 1;
		ui_fill(ui, ui_px(ui, rx, my, rw, 5), t->disabled_bg);
		ui_fill(ui, ui_px(ui, rx, my, rw * frac, 5), t->primary_bg);
	}
	my += 5 + t->gap_mm;

	/* The pages so far, newest last, when there is room under the text. */
	double tw = 26, th = 34;
	int fit = (int)((rw + t->gap_mm) / (tw + t->gap_mm));
	if (fit > 0 && pages > 0 && my + th <= bottom - t->gap_mm) {
		size_t first = pages > (size_t)fit ? pages - (size_t)fit : 0;
		for (size_t i = first; i < pages; i++) {
			char id[UI_WIDGET_ID_MAX];
			snprintf(id, sizeof(id), "scanned-%zu", i + 1);
			ui_page_tile(
			        ui, id,
			        ui_px(ui, rx + (double)(i - first) * (tw + t->gap_mm), my, tw, th),
			        session_page(ui->session, i), session_page_rotation(ui->session, i),
			        false);
		}
	}
	bool busy = ui->scan_job != 0 || st.pending; /* a tapped Scan starts in a moment */
	ui_footer(ui, busy ? NULL : "back", _("Back"), "next", _("Continue"), pages > 0 && !busy);
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	if (ev->kind == UI_EVENT_TICK) {
		if (st.pending)
			start_when_answered(ui);
		return;
	}
	if (ev->kind == UI_EVENT_MODEL) {
		/* The gauge's answer may have changed (it notifies), a page arrived. */
		if (st.pending)
			start_when_answered(ui);
		else
			check_spool(ui, NULL);
		if (ui->rescan_done) {
			ui->rescan_done = false;
			ui_transition(ui, FLOW_REVIEW);
		}
		return;
	}
	if (ev->kind != UI_EVENT_TAP)
		return;
	const char *id = ev->widget->id;
	if (strcmp(id, "scan") == 0 && !ui->scan_job && !st.pending) {
		/* Asked again: another kiosk process or the disk may have filled it. */
		spool_gauge_refresh(ui->gauge);
		st.pending = true;
		st.pending_since = SDL_GetTicks64();
		start_when_answered(ui);
	} else if (strcmp(id, "next") == 0 && !ui->scan_job && !st.pending) {
		st.pending = false;
		ui->rescan_index = -1;
		ui_transition(ui, FLOW_REVIEW);
	} else if (strcmp(id, "back") == 0 && !ui->scan_job && !st.pending) {
		bool rescan = ui->rescan_index >= 0;
		st.pending = false;
		ui->rescan_index = -1;
		ui_transition(ui, rescan ? FLOW_REVIEW : FLOW_CATEGORY);
	}
	ui_dirty(ui);
}

const struct ui_screen_impl ui_screen_scan = {
        .name = "scan",
        .enter = enter,
        .event = event,
        .draw = draw,
};
