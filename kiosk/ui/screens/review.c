/*
 * review.c - the pages before sending: thumbnails (tap one to select it, tap
 * it again to see it large), rotate, delete, rescan, move earlier or later,
 * add more pages. Pages that look blank carry a visible warning; they are
 * never dropped without the customer.
 *
 * Widget ids: page-N (1-based), rotate, delete, rescan, move-left (one place
 * earlier), move-right (one place later), add-pages, view-close.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "page_view.h"
#include "scan_job.h"
#include "session.h"
#include "ui.h"

static struct {
	int selected; /* index, -1 none */
	bool large;   /* the selected page fills the screen */
} st;

static void enter(struct ui *ui)
{
	st.selected = session_page_count(ui->session) ? 0 : -1;
	st.large = false;
}

static void leave(struct ui *ui)
{
	st.selected = -1;
	st.large = false;
	page_view_clear(ui->page_view);
}

/* The selected page as large as fits, decoded for that size (page_view.h);
 * the thumbnail stands in until the decode is there. The language row stays. */
static void draw_large(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	const struct scan_page *page = session_page(ui->session, (size_t)st.selected);
	double gap = t->gap_mm;
	double top = ui_chrome(ui, NULL);
	double bottom = ui->h_mm - ui_footer_mm(ui);
	SDL_Rect r = ui_px(ui, gap, top, ui->w_mm - 2 * gap, bottom - top);
	int pad = ui_mm(ui, 1);
	SDL_Texture *tex =
	        page_view_texture(ui->page_view, ui->renderer, page, r.w - 2 * pad, r.h - 2 * pad);
	if (tex) {
		ui_fill(ui, r, t->panel);
		double s = SDL_min((double)(r.w - 2 * pad) / page->facts.width,
		                   (double)(r.h - 2 * pad) / page->facts.height);
		int w = (int)(page->facts.width * s), h = (int)(page->facts.height * s);
		SDL_Rect dst = {r.x + (r.w - w) / 2, r.y + (r.h - h) / 2, w, h};
		SDL_RenderCopy(ui->renderer, tex, NULL, &dst);
		ui_frame(ui, r, t->border, SDL_max(1, ui_mm(ui, t->border_mm)));
		ui_widget_add(ui, "page-large", UI_WIDGET_THUMB, r, true);
		ui_widget_add(ui, "page-large-sharp", UI_WIDGET_LABEL, dst, false);
	} else {
		ui_page_tile(ui, "page-large", r, page, false);
	}
	double bw = SDL_min(70.0, ui->w_mm / 2);
	ui_button(ui, "view-close", ui_px(ui, (ui->w_mm - bw) / 2, bottom + gap, bw, t->button_mm),
	          _("Close"), UI_STYLE_PRIMARY, true);
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	size_t n = session_page_count(ui->session);
	if (st.selected >= (int)n)
		st.selected = (int)n - 1;
	if (st.large && st.selected >= 0) {
		draw_large(ui);
		return;
	}
	if (st.large)
		page_view_clear(ui->page_view);
	st.large = false;
	double y = ui_chrome(ui, _("Check your pages"));
	double gap = t->gap_mm * 2;
	double bottom = ui->h_mm - ui_footer_mm(ui);
	double actions_h = t->button_mm + t->gap_mm;
	double grid_bottom = bottom - actions_h - t->gap_mm * 3;

	/* Thumbnails, as many columns as fit; rows scroll out of view on huge sets. */
	double tw = 30, th = 40;
	int cols = (int)((ui->w_mm - 2 * gap + t->gap_mm) / (tw + t->gap_mm));
	if (cols < 1)
		cols = 1;
	int rows = (int)((grid_bottom - y + t->gap_mm) / (th + t->gap_mm + 6));
	if (rows < 1)
		rows = 1;
	size_t shown = (size_t)(cols * rows);
	size_t first = 0;
	if (st.selected >= 0 && (size_t)st.selected >= shown)
		first = ((size_t)st.selected / (size_t)cols - (size_t)rows + 1) * (size_t)cols;
	if (n == 0)
		ui_text(ui, _("There are no pages. Tap \"Add pages\" to scan."), TEXT_BOLD,
		        ui_px(ui, gap, y, ui->w_mm - 2 * gap, 20), UI_ALIGN_START, t->fg);
	for (size_t i = first; i < n && i < first + shown; i++) {
		size_t k = i - first;
		double x = gap + (double)(k % (size_t)cols) * (tw + t->gap_mm);
		double yy = y + (double)(k / (size_t)cols) * (th + t->gap_mm + 6);
		char id[UI_WIDGET_ID_MAX], num[24];
		snprintf(id, sizeof(id), "page-%zu", i + 1);
		ui_page_tile(ui, id, ui_px(ui, x, yy, tw, th), session_page(ui->session, i),
		             (int)i == st.selected);
		snprintf(num, sizeof(num), "%zu", i + 1);
		ui_text(ui, num, TEXT_BOLD, ui_px(ui, x, yy + th + 0.5, tw, 6), UI_ALIGN_CENTER,
		        t->fg);
	}

	/* What can be done with the selected page. */
	const struct scan_page *sel =
	        st.selected >= 0 ? session_page(ui->session, (size_t)st.selected) : NULL;
	double ay = bottom - actions_h;
	if (sel && sel->facts.blank)
		ui_text(ui,
		        _("This page looks empty. If it is the back of a page, you can delete it."),
		        TEXT_BOLD, ui_px(ui, gap, ay - t->gap_mm * 3 - 6, ui->w_mm - 2 * gap, 12),
		        UI_ALIGN_START, t->error);
	static const struct {
		const char *id;
		const char *label;
	} actions[] = {
	        {"rotate", N_("Rotate")},     {"delete", N_("Delete")},
	        {"rescan", N_("Scan again")}, {"move-left", N_("Earlier")},
	        {"move-right", N_("Later")},  {"add-pages", N_("Add pages")},
	};
	size_t na = sizeof(actions) / sizeof(actions[0]);
	double aw = (ui->w_mm - 2 * gap - (double)(na - 1) * t->gap_mm) / (double)na;
	for (size_t i = 0; i < na; i++) {
		bool en = sel != NULL;
		if (strcmp(actions[i].id, "move-left") == 0)
			en = sel && st.selected > 0;
		if (strcmp(actions[i].id, "move-right") == 0)
			en = sel && (size_t)st.selected + 1 < n;
		if (strcmp(actions[i].id, "add-pages") == 0)
			en = n < SESSION_MAX_PAGES;
		ui_button(ui, actions[i].id,
		          ui_px(ui, gap + (double)i * (aw + t->gap_mm), ay, aw, t->button_mm),
		          _(actions[i].label),
		          strcmp(actions[i].id, "delete") == 0 ? UI_STYLE_DANGER : UI_STYLE_NORMAL,
		          en);
	}
	ui_footer(ui, "back", _("Back"), "next", _("Continue"), n > 0);
}

static void act(struct ui *ui, const char *id)
{
	size_t n = session_page_count(ui->session);
	enum session_status s = SESSION_OK;
	size_t i = (size_t)st.selected;
	if (strcmp(id, "rotate") == 0) {
		s = session_page_rotate(ui->session, i, 1);
	} else if (strcmp(id, "delete") == 0) {
		s = session_page_delete(ui->session, i);
		if (s == SESSION_OK && st.selected >= (int)n - 1)
			st.selected = (int)n - 2;
	} else if (strcmp(id, "move-left") == 0 && i > 0) {
		s = session_page_move(ui->session, i, i - 1);
		if (s == SESSION_OK)
			st.selected--;
	} else if (strcmp(id, "move-right") == 0 && i + 1 < n) {
		s = session_page_move(ui->session, i, i + 1);
		if (s == SESSION_OK)
			st.selected++;
	} else if (strcmp(id, "rescan") == 0) {
		ui->rescan_index = st.selected;
		ui_transition(ui, FLOW_SCAN);
		return;
	}
	if (s != SESSION_OK)
		log_warning("page %s: %s", id, session_strerror(s));
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	if (ev->kind != UI_EVENT_TAP)
		return;
	const char *id = ev->widget->id;
	unsigned num;
	char tail;
	ui_dirty(ui);
	if (sscanf(id, "page-%u%c", &num, &tail) == 1 && num >= 1) {
		int idx = (int)num - 1;
		if (idx == st.selected)
			st.large = true;
		st.selected = idx;
	} else if (strcmp(id, "view-close") == 0 || strcmp(id, "page-large") == 0) {
		st.large = false;
		page_view_clear(ui->page_view);
	} else if (strcmp(id, "add-pages") == 0) {
		ui->rescan_index = -1;
		ui_transition(ui, FLOW_SCAN);
	} else if (strcmp(id, "back") == 0) {
		ui_transition(ui, FLOW_SCAN);
	} else if (strcmp(id, "next") == 0) {
		if (session_page_count(ui->session) > 0)
			ui_transition(ui, FLOW_CONFIRM);
	} else if (st.selected >= 0) {
		act(ui, id);
	}
}

const struct ui_screen_impl ui_screen_review = {
        .name = "review",
        .enter = enter,
        .leave = leave,
        .event = event,
        .draw = draw,
};
