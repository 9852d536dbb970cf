/*
 * review.c - the pages before sending, in two views.
 *
 * The grid: the thumbnails in order (a page that looks blank carries an
 * "Empty?" badge), a line that says what a tap does, "Add pages", and when
 * there are more pages than fit, buttons to the earlier and later ones. A tap
 * on a page shows it large.
 *
 * The large view: the page as large as fits, as the customer turned it, and
 * what can be done with it: rotate, one place earlier, one place later, scan
 * it again, delete, close. A page that looks blank says so above it; such
 * pages are never dropped without the customer. The language row stays.
 *
 * Everything is measured before it is placed (ui_text_height_mm,
 * ui_button_height_mm), so long labels take the room they need instead of
 * running into their neighbours.
 *
 * Widget ids: page-N (1-based), add-pages, grid-prev, grid-next; large view:
 * page-large, page-large-sharp and page-blank (labels), rotate, move-left
 * (one place earlier), move-right (one place later), rescan, delete,
 * view-close.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "page_view.h"
#include "scan_job.h"
#include "session.h"
#include "ui.h"

static struct {
	int large;       /* the page shown large (index), -1: the grid */
	size_t first;    /* the grid's first page */
	size_t per_page; /* how many the grid showed last */
	int reveal;      /* a page the grid must show (after the large view), -1 none */
} st;

static void enter(struct ui *ui)
{
	(void)ui;
	st.large = -1;
	st.first = 0;
	st.per_page = 0;
	st.reveal = -1;
}

static void leave(struct ui *ui)
{
	st.large = -1;
	page_view_clear(ui->page_view);
}

static void close_large(struct ui *ui)
{
	st.reveal = st.large;
	st.large = -1;
	page_view_clear(ui->page_view);
}

/* ---- the large view ---- */

static const struct {
	const char *id;
	const char *label;
} page_actions[] = {
        {"rotate", N_("Rotate")},     {"move-left", N_("Earlier")}, {"move-right", N_("Later")},
        {"rescan", N_("Scan again")}, {"delete", N_("Delete")},     {"view-close", N_("Close")},
};
#define PAGE_ACTIONS (sizeof(page_actions) / sizeof(page_actions[0]))

static void draw_large(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	size_t n = session_page_count(ui->session);
	size_t i = (size_t)st.large;
	const struct scan_page *page = session_page(ui->session, i);
	double margin = t->gap_mm * 2, small = t->gap_mm;
	double full = ui->w_mm - 2 * margin;
	double top = ui_chrome(ui, NULL);
	double bottom = ui->h_mm - small;
	if (page->facts.blank) {
		const char *warn =
		        _("This page looks empty. If it is the back of a page, you can delete it.");
		double h = ui_text_height_mm(ui, warn, TEXT_BOLD, full);
		SDL_Rect wr = ui_px(ui, margin, top, full, h);
		ui_text(ui, warn, TEXT_BOLD, wr, UI_ALIGN_START, t->error);
		ui_label(ui, "page-blank", wr, warn);
		top += h + small;
	}

	/* The column of actions on the end side, as wide as its longest label. */
	double pad = 3.0 + 2 * 1.5; /* the label's room inside the button */
	double cw = 50.0;
	for (size_t a = 0; a < PAGE_ACTIONS; a++)
		cw = SDL_max(cw, ui_text_width_mm(ui, _(page_actions[a].label), TEXT_BOLD) + pad);
	cw = SDL_min(cw, full * 0.5);
	double cx = ui->w_mm - margin - cw;
	/* The buttons: the look's height where there is room, else what their
	 * labels need; the page's place ("2 / 5") above them when it fits. */
	double need = UI_MIN_TARGET_MM;
	for (size_t a = 0; a < PAGE_ACTIONS; a++)
		need = SDL_max(need, ui_button_height_mm(ui, _(page_actions[a].label), cw,
		                                         UI_MIN_TARGET_MM));
	double area = bottom - top;
	double bh = SDL_max(
	        need, SDL_min(t->button_mm, (area - (PAGE_ACTIONS - 1) * small) / PAGE_ACTIONS));
	double buttons = PAGE_ACTIONS * bh + (PAGE_ACTIONS - 1) * small;
	double pos_h = ui_line_mm(ui, TEXT_TITLE);
	double by = top;
	if (buttons + pos_h + small <= area) {
		char pos[32];
		snprintf(pos, sizeof(pos), "%zu / %zu", i + 1, n);
		ui_text(ui, pos, TEXT_TITLE, ui_px(ui, cx, top, cw, pos_h), UI_ALIGN_CENTER, t->fg);
		by += pos_h + small;
	}
	for (size_t a = 0; a < PAGE_ACTIONS; a++) {
		const char *id = page_actions[a].id;
		bool en = true;
		enum ui_style style = UI_STYLE_NORMAL;
		if (strcmp(id, "move-left") == 0)
			en = i > 0;
		else if (strcmp(id, "move-right") == 0)
			en = i + 1 < n;
		else if (strcmp(id, "delete") == 0)
			style = UI_STYLE_DANGER;
		double y = by + (double)a * (bh + small);
		if (strcmp(id, "view-close") == 0) {
			/* Apart from the others, at the bottom. */
			style = UI_STYLE_PRIMARY;
			y = SDL_max(y, bottom - bh);
		}
		ui_button(ui, id, ui_px(ui, cx, y, cw, bh), _(page_actions[a].label), style, en);
	}

	/* The page, as the customer turned it, as large as fits beside. */
	uint32_t pw = page->facts.width, ph = page->facts.height;
	(void)session_page_size(ui->session, i, &pw, &ph);
	double bw = cx - small - margin, bhh = bottom - top;
	double s = SDL_min(bw / SDL_max(pw, 1u), bhh / SDL_max(ph, 1u));
	double w = pw * s, h = ph * s;
	SDL_Rect r = ui_px(ui, margin + (bw - w) / 2, top + (bhh - h) / 2, w, h);
	int inset = ui_mm(ui, 1);
	SDL_Rect box = {r.x + inset, r.y + inset, r.w - 2 * inset, r.h - 2 * inset};
	SDL_Rect shown;
	ui_fill(ui, r, t->panel);
	if (page_view_draw(ui->page_view, ui->renderer, page, session_page_rotation(ui->session, i),
	                   box, &shown)) {
		ui_frame(ui, r, t->border, SDL_max(1, ui_mm(ui, t->border_mm)));
		ui_widget_add(ui, "page-large", UI_WIDGET_THUMB, r, true);
		ui_widget_add(ui, "page-large-sharp", UI_WIDGET_LABEL, shown, false);
	} else {
		/* The thumbnail (turned already) until the decode is there. */
		ui_page_tile(ui, "page-large", r, page, session_page_rotation(ui->session, i),
		             false);
	}
}

/* ---- the grid ---- */

static void draw_grid(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	size_t n = session_page_count(ui->session);
	double margin = t->gap_mm * 2, small = t->gap_mm;
	double full = ui->w_mm - 2 * margin;
	double y = ui_chrome(ui, _("Check your pages"));
	double bottom = ui->h_mm - ui_footer_mm(ui);

	const char *hint = n ? _("Tap a page to see it large and to turn, move or delete it.")
	                     : _("There are no pages. Tap \"Add pages\" to scan.");
	double hint_h = ui_text_height_mm(ui, hint, TEXT_BODY, full);
	ui_text(ui, hint, TEXT_BODY, ui_px(ui, margin, y, full, hint_h), UI_ALIGN_START, t->fg);
	y += hint_h + small;

	/* The row under the grid: "Add pages" on the start side, paging on the end side. */
	const char *add = _("Add pages");
	double aw = SDL_min(full / 2, SDL_max(60.0, ui_text_width_mm(ui, add, TEXT_BOLD) + 8.0));
	double arrow = SDL_max(UI_MIN_TARGET_MM + 5, t->button_mm);
	double rh = ui_button_height_mm(ui, add, aw, t->button_mm);
	double ry = bottom - rh;

	/* Thumbnails (A4 upright, 3:4, at least as wide as the "Empty?" badge):
	 * the largest, up to 40 mm tall, that shows every page; when none does,
	 * as many rows as fit at 28 mm, and the rest on further pages. */
	double num_h = ui_line_mm(ui, TEXT_BOLD);
	double grid_h = ry - small - y;
	double extra = 0.5 + num_h + small; /* the number under a tile, the gap */
	double badge_w = ui_text_width_mm(ui, _("Empty?"), TEXT_BODY) + 2 * 1.0 + 2 * 1.5 + 1;
	size_t most_rows = (size_t)SDL_max(1.0, (grid_h + small) / (28.0 + extra));
	size_t rows = 0, cols = 0;
	double th = 0, tw = 0;
	for (size_t r = 1; r <= most_rows; r++) {
		rows = r;
		th = SDL_max(28.0, SDL_min(40.0, (grid_h + small) / (double)r - extra));
		tw = SDL_max(th * 0.75, badge_w);
		cols = (size_t)SDL_max(1.0, (full + small) / (tw + small));
		if (rows * cols >= n)
			break;
	}
	double cell_w = tw + small, cell_h = th + extra;
	size_t per_page = cols * rows;
	st.per_page = per_page;
	if (st.reveal >= 0) {
		st.first = (size_t)st.reveal / per_page * per_page;
		st.reveal = -1;
	}
	if (st.first >= n)
		st.first = n ? (n - 1) / per_page * per_page : 0;
	for (size_t i = st.first; i < n && i < st.first + per_page; i++) {
		size_t k = i - st.first;
		double x = margin + (double)(k % cols) * cell_w;
		double yy = y + (double)(k / cols) * cell_h;
		char id[UI_WIDGET_ID_MAX], num[24];
		snprintf(id, sizeof(id), "page-%zu", i + 1);
		ui_page_tile(ui, id, ui_px(ui, x, yy, tw, th), session_page(ui->session, i),
		             session_page_rotation(ui->session, i), false);
		snprintf(num, sizeof(num), "%zu", i + 1);
		ui_text(ui, num, TEXT_BOLD, ui_px(ui, x, yy + th + 0.5, tw, num_h), UI_ALIGN_CENTER,
		        t->fg);
	}

	ui_button(ui, "add-pages", ui_px(ui, margin, ry, aw, rh), add, UI_STYLE_NORMAL,
	          n < SESSION_MAX_PAGES);
	if (n > per_page) {
		/* "7-12 / 20" between the arrows: digits read the same in every language. */
		char range[48];
		size_t last = SDL_min(n, st.first + per_page);
		snprintf(range, sizeof(range), "%zu\u2013%zu / %zu", st.first + 1, last, n);
		double range_w = ui_text_width_mm(ui, range, TEXT_BOLD) + 2;
		double x = ui->w_mm - margin - arrow;
		SDL_Rect next = ui_px(ui, x, ry, arrow, rh);
		ui_button(ui, "grid-next", next, NULL, UI_STYLE_NORMAL, last < n);
		ui_icon(ui, UI_ICON_NEXT, next, last < n ? t->button_fg : t->disabled_fg);
		x -= small + range_w;
		ui_text_center(ui, range, TEXT_BOLD, ui_px(ui, x, ry, range_w, rh), t->fg);
		x -= small + arrow;
		SDL_Rect prev = ui_px(ui, x, ry, arrow, rh);
		ui_button(ui, "grid-prev", prev, NULL, UI_STYLE_NORMAL, st.first > 0);
		ui_icon(ui, UI_ICON_PREV, prev, st.first > 0 ? t->button_fg : t->disabled_fg);
	}
	ui_footer(ui, "back", _("Back"), "next", _("Continue"), n > 0);
}

static void draw(struct ui *ui)
{
	size_t n = session_page_count(ui->session);
	if (st.large >= (int)n)
		st.large = -1;
	if (st.large >= 0) {
		draw_large(ui);
		return;
	}
	page_view_clear(ui->page_view);
	draw_grid(ui);
}

/* What the large view's buttons do to its page. */
static void act(struct ui *ui, const char *id)
{
	size_t n = session_page_count(ui->session);
	size_t i = (size_t)st.large;
	enum session_status s = SESSION_OK;
	if (strcmp(id, "rotate") == 0) {
		s = session_page_rotate(ui->session, i, 1);
	} else if (strcmp(id, "delete") == 0) {
		s = session_page_delete(ui->session, i);
		if (s == SESSION_OK) {
			close_large(ui);
			if (st.reveal >= (int)n - 1)
				st.reveal = (int)n - 2;
		}
	} else if (strcmp(id, "move-left") == 0 && i > 0) {
		s = session_page_move(ui->session, i, i - 1);
		if (s == SESSION_OK)
			st.large--;
	} else if (strcmp(id, "move-right") == 0 && i + 1 < n) {
		s = session_page_move(ui->session, i, i + 1);
		if (s == SESSION_OK)
			st.large++;
	} else if (strcmp(id, "rescan") == 0) {
		ui->rescan_index = st.large;
		ui_transition(ui, FLOW_SCAN);
		return;
	} else if (strcmp(id, "view-close") == 0 || strcmp(id, "page-large") == 0) {
		close_large(ui);
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
	size_t n = session_page_count(ui->session);
	ui_dirty(ui);
	if (st.large >= 0) {
		act(ui, id);
	} else if (sscanf(id, "page-%u%c", &num, &tail) == 1 && num >= 1 && num <= n) {
		st.large = (int)num - 1;
	} else if (strcmp(id, "grid-prev") == 0 && st.first > 0) {
		st.first -= SDL_min(st.first, st.per_page);
	} else if (strcmp(id, "grid-next") == 0 && st.first + st.per_page < n) {
		st.first += st.per_page;
	} else if (strcmp(id, "add-pages") == 0) {
		ui->rescan_index = -1;
		ui_transition(ui, FLOW_SCAN);
	} else if (strcmp(id, "back") == 0) {
		ui_transition(ui, FLOW_SCAN);
	} else if (strcmp(id, "next") == 0 && n > 0) {
		ui_transition(ui, FLOW_CONFIRM);
	}
}

const struct ui_screen_impl ui_screen_review = {
        .name = "review",
        .enter = enter,
        .leave = leave,
        .event = event,
        .draw = draw,
};
