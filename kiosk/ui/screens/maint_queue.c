/*
 * maint_queue.c - the queue for a technician: how many submissions wait,
 * "retry now", and the failed and quarantined ones by id, age, size and error
 * class (never a page, never a name), each with a discard that is explained
 * and confirmed first, and logged by both programs.
 *
 * Widgets: `retry-now`, `items-prev`, `items-next`, `discard-N` (N 1-based
 * in the list), `discard-confirm`, `discard-cancel`; labels `queue-summary`,
 * `queue-result`, `item-N` (the item's row), `discard-id`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maint.h"
#include "maintenance.h"

static struct {
	size_t first; /* the first item shown */
	size_t shown; /* items the last frame showed (a page) */
} st;

static void enter(struct ui *ui)
{
	st.first = 0;
	maint_keep_fresh(ui);
}

static const char *state_text(enum spool_state s)
{
	return s == SPOOL_STATE_QUARANTINE ? M_("quarantined") : M_("failed");
}

/* An item's line: id, state, age, size, class. */
static void item_text(const struct maintenance_item *it, char *buf, size_t size)
{
	char a[MAINT_FMT_MAX], b[MAINT_FMT_MAX];
	maint_format_age(a, sizeof(a), it->age_seconds);
	maint_format_bytes(b, sizeof(b), it->bytes);
	snprintf(buf, size, "%s  %s  %s  %s  %s", it->id, state_text(it->state), a, b,
	         it->error_class[0] ? it->error_class : "–");
}

/* What the last queue action gave, for the line under the buttons. */
static const char *result_text(const struct maintenance_queue_result *r, char *buf, size_t size,
                               bool *bad)
{
	*bad = false;
	if (r->op == MAINTENANCE_QUEUE_NONE)
		return NULL;
	if (r->running)
		return M_("Working …");
	if (r->error != UPLOAD_CONTROL_OK) {
		*bad = true;
		if (r->error == UPLOAD_CONTROL_REFUSED && r->refusal.message[0])
			snprintf(buf, size, M_("The upload service refused: %s"),
			         r->refusal.message);
		else
			snprintf(buf, size, M_("Not done: %s"), maint_control_error_text(r->error));
		return buf;
	}
	if (r->op == MAINTENANCE_QUEUE_RETRY_NOW) {
		snprintf(buf, size,
		         MN_("%u waiting submission is being sent now.",
		             "%u waiting submissions are being sent now.", r->queued),
		         r->queued);
	} else {
		snprintf(buf, size, M_("Submission %s was deleted."), r->discarded.id);
	}
	return buf;
}

static void draw_confirm(struct ui *ui, const struct maintenance_item *it, double y, double bottom)
{
	const struct ui_theme *t = ui->theme;
	char v[256], a[MAINT_FMT_MAX], b[MAINT_FMT_MAX];
	y = maint_line(ui, y, NULL, M_("Delete this submission for good?"), TEXT_BOLD, t->error);
	y = maint_line(ui, y, NULL,
	               M_("Its documents are deleted from this kiosk and never reach the "
	                  "Jobcenter. The customer has to hand them in again. This cannot be "
	                  "undone and is logged."),
	               TEXT_BODY, t->fg);
	double lw = SDL_min(60.0, maint_width(ui) * 0.3);
	y = maint_row(ui, y, lw, "discard-id", M_("Submission"), it->id, t->fg);
	maint_format_age(a, sizeof(a), it->age_seconds);
	maint_format_bytes(b, sizeof(b), it->bytes);
	snprintf(v, sizeof(v), M_("%s, %s old, %s, error: %s"), state_text(it->state), a, b,
	         it->error_class[0] ? it->error_class : "–");
	y = maint_row(ui, y, lw, NULL, M_("Facts"), v, t->fg);
	double bw = SDL_min(80.0, (maint_width(ui) - t->gap_mm) / 2);
	double by = SDL_max(y + t->gap_mm, bottom - t->button_mm * 1.4 - t->gap_mm);
	/* "Keep it" where the "Delete …" buttons were: a second tap on the same
	 * spot keeps the submission. */
	ui_button(ui, "discard-confirm", ui_px(ui, maint_margin(ui), by, bw, t->button_mm * 1.4),
	          M_("Delete for good"), UI_STYLE_DANGER, true);
	ui_button(ui, "discard-cancel",
	          ui_px(ui, ui->w_mm - maint_margin(ui) - bw, by, bw, t->button_mm * 1.4),
	          M_("Keep it"), UI_STYLE_NORMAL, true);
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	struct maintenance *m = ui->maint;
	const struct maintenance_status *s = maintenance_status(m);
	const struct maintenance_queue_result *r = maintenance_queue_result(m);
	double y = maint_chrome(ui, NULL);
	double bottom = maint_footer(ui, M_("Back to the kiosk"));
	char v[512];

	const struct maintenance_item *pending = maintenance_discard_pending(m);
	if (pending) {
		draw_confirm(ui, pending, y, bottom);
		return;
	}

	const struct upload_control_status *u = &s->upload;
	snprintf(v, sizeof(v), M_("%u waiting, %u sending, %u failed, %u quarantined"),
	         u->count[SPOOL_STATE_NEW], u->count[SPOOL_STATE_SENDING],
	         u->count[SPOOL_STATE_FAILED], u->count[SPOOL_STATE_QUARANTINE]);
	y = maint_line(ui, y, "queue-summary", v, TEXT_BOLD, t->fg);

	double bw = SDL_min(80.0, maint_width(ui) / 3);
	ui_button(ui, "retry-now", ui_px(ui, maint_margin(ui), y, bw, t->button_mm),
	          M_("Send waiting now"), UI_STYLE_PRIMARY, !r->running);
	bool bad = false;
	const char *res = result_text(r, v, sizeof(v), &bad);
	if (res) {
		double tx = maint_margin(ui) + bw + t->gap_mm;
		double tw = maint_width(ui) - bw - t->gap_mm;
		double th = ui_text_height_mm(ui, res, TEXT_BODY, tw);
		SDL_Rect rr = ui_px(ui, tx, y + SDL_max(0.0, (t->button_mm - th) / 2), tw, th);
		ui_text(ui, res, TEXT_BODY, rr, UI_ALIGN_START, bad ? t->error : t->ok);
		ui_label(ui, "queue-result", rr, res);
		y += SDL_max(t->button_mm, th);
	} else {
		y += t->button_mm;
	}
	y += t->gap_mm * 2;

	size_t n = maintenance_item_count(m);
	if (n == 0) {
		maint_line(ui, y, "queue-items", M_("No failed or quarantined submissions."),
		           TEXT_BODY, t->muted);
		return;
	}
	y = maint_line(ui, y, NULL,
	               M_("Failed and quarantined submissions (kept until deleted here):"),
	               TEXT_BODY, t->muted);

	/* One row each: the facts, and its discard button on the end side; a
	 * row is as tall as its text (two lines on a narrow panel). The pager
	 * takes the last row when not all fit. */
	double row = t->button_mm;
	double dw = SDL_min(45.0, maint_width(ui) / 5);
	double fw = maint_width(ui) - dw - t->gap_mm;
	if (st.first >= n)
		st.first = 0;
	double heights[UPLOAD_CONTROL_ITEMS_MAX * 2];
	double all = 0;
	for (size_t i = st.first; i < n; i++) {
		item_text(maintenance_item(m, i), v, sizeof(v));
		heights[i] = SDL_max(row, ui_text_height_mm(ui, v, TEXT_BODY, fw));
		all += heights[i] + t->gap_mm;
	}
	bool paged = st.first > 0 || y + all > bottom;
	double limit = paged ? bottom - t->button_mm - t->gap_mm : bottom;
	size_t fit = 0;
	for (size_t i = st.first; i < n; i++) {
		if (fit > 0 && y + heights[i] > limit)
			break;
		const struct maintenance_item *it = maintenance_item(m, i);
		item_text(it, v, sizeof(v));
		char id[32];
		snprintf(id, sizeof(id), "item-%zu", i + 1);
		double th = ui_text_height_mm(ui, v, TEXT_BODY, fw);
		SDL_Rect rr = ui_px(ui, maint_margin(ui), y, fw, heights[i]);
		SDL_Rect tr = ui_px(ui, maint_margin(ui), y + SDL_max(0.0, (row - th) / 2), fw, th);
		ui_text(ui, v, TEXT_BODY, tr, UI_ALIGN_START,
		        it->state == SPOOL_STATE_QUARANTINE ? t->error : t->fg);
		ui_label(ui, id, rr, v);
		snprintf(id, sizeof(id), "discard-%zu", i + 1);
		ui_button(ui, id, ui_px(ui, ui->w_mm - maint_margin(ui) - dw, y, dw, row),
		          M_("Delete …"), UI_STYLE_DANGER, !r->running);
		y += heights[i] + t->gap_mm;
		fit++;
	}
	st.shown = fit;
	if (paged) {
		double pw = SDL_min(45.0, maint_width(ui) / 4);
		double py = bottom - t->button_mm;
		ui_button(ui, "items-prev", ui_px(ui, maint_margin(ui), py, pw, t->button_mm),
		          M_("Previous"), UI_STYLE_NORMAL, st.first > 0);
		ui_button(ui, "items-next",
		          ui_px(ui, maint_margin(ui) + pw + t->gap_mm, py, pw, t->button_mm),
		          M_("Next"), UI_STYLE_NORMAL, st.first + fit < n);
		snprintf(v, sizeof(v), M_("%zu to %zu of %zu"), st.first + 1, st.first + fit, n);
		double tx = maint_margin(ui) + 2 * (pw + t->gap_mm);
		double tw = maint_width(ui) - 2 * (pw + t->gap_mm);
		double th = ui_text_height_mm(ui, v, TEXT_BODY, tw);
		ui_text(ui, v, TEXT_BODY, ui_px(ui, tx, py + (t->button_mm - th) / 2, tw, th),
		        UI_ALIGN_START, t->muted);
	}
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	if (ev->kind == UI_EVENT_TICK) {
		maint_keep_fresh(ui);
		return;
	}
	struct maintenance *m = ui->maint;
	if (ev->kind == UI_EVENT_TAP) {
		const char *id = ev->widget->id;
		if (maint_tap(ui, id))
			return;
		if (strcmp(id, "retry-now") == 0) {
			(void)maintenance_retry_now(m);
		} else if (strncmp(id, "discard-", 8) == 0 && id[8] >= '1' && id[8] <= '9') {
			size_t i = strtoul(id + 8, NULL, 10) - 1;
			const struct maintenance_item *it = maintenance_item(m, i);
			if (it)
				(void)maintenance_discard_request(m, it->id);
		} else if (strcmp(id, "discard-confirm") == 0) {
			(void)maintenance_discard_confirm(m);
		} else if (strcmp(id, "discard-cancel") == 0) {
			maintenance_discard_cancel(m);
		} else if (strcmp(id, "items-prev") == 0) {
			size_t page = SDL_max(st.shown, (size_t)1);
			st.first = st.first > page ? st.first - page : 0;
		} else if (strcmp(id, "items-next") == 0) {
			if (st.first + st.shown < maintenance_item_count(m))
				st.first += st.shown;
		}
	}
	ui_dirty(ui);
}

const struct ui_screen_impl ui_screen_maint_queue = {
        .name = "maint-queue",
        .enter = enter,
        .event = event,
        .draw = draw,
};
