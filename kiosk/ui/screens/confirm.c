/*
 * confirm.c - the summary before sending: the category, the page count and the
 * case number with its middle masked (others may be looking). "send" commits
 * on a worker thread (session_commit_start); the result arrives as a model
 * event and leads to the receipt, or to a message with what to do.
 */
#include <stdio.h>
#include <string.h>

#include "kiosk_metrics.h"
#include "log.h"
#include "session.h"
#include "ui.h"

static struct {
	enum session_commit_result failed; /* SESSION_COMMIT_LAST: no failure shown */
} st;

static void enter(struct ui *ui)
{
	(void)ui;
	st.failed = SESSION_COMMIT_LAST;
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	double y = ui_chrome(ui, _("Please check and send"));
	double gap = t->gap_mm * 2;
	double w = ui->w_mm - 2 * gap;
	/* A left-to-right mark first: in Arabic "123•••••89" must not turn
	 * into "89•••••123". */
	char masked[64] = "\u200e", line[256];
	session_case_number_masked(ui->session, masked + strlen(masked),
	                           sizeof(masked) - strlen(masked));
	char pages[16];
	snprintf(pages, sizeof(pages), "%zu", session_page_count(ui->session));
	const char *rows[3][2] = {
	        {_("Document"), ui_category_label(ui, session_category(ui->session))},
	        {_("Pages"), pages},
	        {_("Customer number"), masked},
	};
	double lw = w * 0.4 - t->gap_mm, vw = w * 0.6;
	for (int i = 0; i < 3; i++) {
		double lh = SDL_max(ui_text_height_mm(ui, rows[i][0], TEXT_BODY, lw),
		                    ui_text_height_mm(ui, rows[i][1], TEXT_BOLD, vw));
		ui_text(ui, rows[i][0], TEXT_BODY, ui_px(ui, gap, y, lw, lh), UI_ALIGN_START,
		        t->muted);
		SDL_Rect vr = ui_px(ui, gap + w * 0.4, y, vw, lh);
		/* Part of what the customer typed: drawn uncached, like the fields. */
		if (i == 2)
			ui_text_private(ui, rows[i][1], TEXT_BOLD, vr, UI_ALIGN_START, t->fg);
		else
			ui_text(ui, rows[i][1], TEXT_BOLD, vr, UI_ALIGN_START, t->fg);
		y += lh + t->gap_mm;
	}
	y += t->gap_mm;
	const char *msg = NULL;
	switch (st.failed) {
	case SESSION_COMMIT_FULL:
		msg = _("Sorry, the kiosk cannot save your documents right now. Please hand in "
		        "your "
		        "papers at the Jobcenter.");
		break;
	case SESSION_COMMIT_INCOMPLETE:
		msg = _("Some details are missing. Please go back and check them.");
		break;
	case SESSION_COMMIT_ERROR:
	case SESSION_COMMIT_BUSY:
		msg = _("Sorry, something went wrong. Your documents were not saved. Please tap "
		        "\"Send\" again.");
		break;
	case SESSION_COMMIT_OK:
	case SESSION_COMMIT_LAST:
		break;
	}
	double bottom = ui->h_mm - ui_footer_mm(ui);
	double sh = t->button_mm * 1.6;
	double sy = bottom - sh - t->gap_mm;
	if (ui->committing) {
		snprintf(line, sizeof(line), "%s", _("Saving …"));
		ui_text(ui, line, TEXT_BOLD,
		        ui_px(ui, gap, y, w, ui_text_height_mm(ui, line, TEXT_BOLD, w)),
		        UI_ALIGN_START, t->fg);
	} else if (msg) {
		ui_text(ui, msg, TEXT_BOLD,
		        ui_px(ui, gap, y, w, ui_text_height_mm(ui, msg, TEXT_BOLD, w)),
		        UI_ALIGN_START, t->error);
	}
	double bw = SDL_min(90.0, w);
	ui_button(ui, "send", ui_px(ui, (ui->w_mm - bw) / 2, sy, bw, sh), _("Send"),
	          UI_STYLE_PRIMARY, !ui->committing);
	ui_footer(ui, ui->committing ? NULL : "back", _("Back"), NULL, NULL, false);
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	if (ev->kind == UI_EVENT_MODEL && ui->committing) {
		enum session_commit_result r;
		struct spool_receipt receipt;
		if (!session_commit_poll(ui->session, &r, &receipt))
			return;
		ui->committing = false;
		idle_release(&ui->idle);
		log_info("commit %s", session_commit_result_name(r));
		if (r == SESSION_COMMIT_OK) {
			kiosk_metrics_submission_committed(ui->metrics);
			ui->receipt = receipt;
			log_info("submission %s committed, reference %s", receipt.id,
			         receipt.reference);
			ui_transition(ui, FLOW_RECEIPT);
		} else {
			st.failed = r;
		}
		ui_dirty(ui);
		return;
	}
	if (ev->kind != UI_EVENT_TAP || ui->committing)
		return;
	const char *id = ev->widget->id;
	if (strcmp(id, "send") == 0) {
		st.failed = SESSION_COMMIT_LAST;
		enum session_commit_result r =
		        session_commit_start(ui->session, ui->spool, ui->public_key,
		                             (session_notify_fn)ui_post_wakeup, ui);
		if (r == SESSION_COMMIT_OK) {
			ui->committing = true;
			idle_hold(&ui->idle);
		} else {
			st.failed = r;
			log_warning("commit not started: %s", session_commit_result_name(r));
		}
	} else if (strcmp(id, "back") == 0) {
		ui_transition(ui, FLOW_REVIEW);
	}
	ui_dirty(ui);
}

const struct ui_screen_impl ui_screen_confirm = {
        .name = "confirm",
        .enter = enter,
        .event = event,
        .draw = draw,
};
