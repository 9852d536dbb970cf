/*
 * receipt.c - the receipt: the reference number large and spaced out so it
 * can be read aloud, its QR code, and what happens next. "finish" wipes the
 * session and returns to the welcome screen in German.
 */
#include <stdio.h>
#include <string.h>

#include "qr.h"
#include "ui.h"

static struct {
	struct qr_matrix qr;
	bool has_qr;
} st;

static void enter(struct ui *ui)
{
	memset(&st, 0, sizeof(st));
	st.has_qr = qr_encode(ui->receipt.reference, &st.qr);
}

static void leave(struct ui *ui)
{
	(void)ui;
	qr_matrix_finish(&st.qr);
	memset(&st, 0, sizeof(st));
}

/* "ABCD-EFGH-JKLM" -> "A B C D   E F G H   J K L M": one character at a time.
 * It starts with a left-to-right mark: in Arabic the reference still reads
 * from the left (a leading digit would otherwise move to the end). */
static void spaced(const char *ref, char *out, size_t len)
{
	static const char lrm[] = "\u200e";
	size_t o = 0;
	if (len < sizeof(lrm) + 4) {
		if (len)
			out[0] = '\0';
		return;
	}
	memcpy(out, lrm, sizeof(lrm) - 1);
	o = sizeof(lrm) - 1;
	size_t start = o;
	for (const char *p = ref; *p && o + 4 < len; p++) {
		if (*p == '-') {
			out[o++] = ' ';
			out[o++] = ' ';
			continue;
		}
		if (o > start)
			out[o++] = ' ';
		out[o++] = *p;
	}
	out[o] = '\0';
}

/* The QR code in box (pixels; a square), dark on light whatever the theme,
 * with its quiet zone. */
static void draw_qr(struct ui *ui, SDL_Rect box)
{
	uint32_t modules = st.qr.width + 2 * QR_QUIET_ZONE;
	int px = SDL_max(2, box.w / (int)modules);
	int size = px * (int)modules;
	box.x += (box.w - size) / 2;
	box.w = box.h = size;
	ui_fill(ui, box, (SDL_Color){255, 255, 255, 255});
	SDL_SetRenderDrawColor(ui->renderer, 0, 0, 0, 255);
	for (uint32_t my = 0; my < st.qr.width; my++) {
		for (uint32_t mx = 0; mx < st.qr.width; mx++) {
			if (!qr_dark(&st.qr, mx, my))
				continue;
			SDL_Rect m = {box.x + (int)(mx + QR_QUIET_ZONE) * px,
			              box.y + (int)(my + QR_QUIET_ZONE) * px, px, px};
			SDL_RenderFillRect(ui->renderer, &m);
		}
	}
	ui_widget_add(ui, "qr", UI_WIDGET_LABEL, box, false);
}

/* Where the parts of the receipt go (mm). */
struct receipt_layout {
	enum text_role role; /* of the reference */
	double col_w;        /* the label's and the reference's width */
	double label_h, ref_h, qr_mm, text_w;
	bool qr_below; /* the QR code beside what happens next, else beside the reference */
};

static const char *next_text(void)
{
	return _("What happens next: the kiosk sends your documents to your Jobcenter by "
	         "itself. You do not need to do anything else. Please write down the reference "
	         "number or take a photo of the code, in case you have questions.");
}

/* The reference at the huge size when it fits in width_mm, else the title's. */
static void reference_size(struct ui *ui, const char *ref, double width_mm,
                           struct receipt_layout *l)
{
	const struct ui_theme *t = ui->theme;
	l->role = ui_text_width_mm(ui, ref, TEXT_HUGE) + 6 <= width_mm ? TEXT_HUGE : TEXT_TITLE;
	/* Latin capitals and digits: their cap height is what counts. */
	l->ref_h = t->cap_mm[l->role] * 2.2;
}

/*
 * The first way that fits: the label and the reference at the full width,
 * what happens next under them with the QR code (30 to 45 mm) beside it; or
 * (large text, small panels) the QR code only as tall as the label and the
 * reference, beside them, and what happens next under both at the full width.
 */
static void arrange(struct ui *ui, const char *label, const char *ref, double room, double full,
                    struct receipt_layout *l)
{
	double gap = ui->theme->gap_mm * 2;
	reference_size(ui, ref, full, l);
	l->col_w = full;
	l->label_h = ui_text_height_mm(ui, label, TEXT_BOLD, full);
	double rest = room - (l->label_h + 1 + l->ref_h + gap);
	l->qr_mm = SDL_min(45.0, rest);
	l->text_w = full - l->qr_mm - gap;
	l->qr_below = true;
	if (l->qr_mm >= 30 && ui_text_height_mm(ui, next_text(), TEXT_BODY, l->text_w) <= rest)
		return;
	l->qr_below = false;
	l->label_h = ui_text_height_mm(ui, label, TEXT_BOLD, full / 2);
	const enum text_role roles[2] = {TEXT_HUGE, TEXT_TITLE};
	for (int i = 0; i < 2; i++) {
		l->role = roles[i];
		l->ref_h = ui->theme->cap_mm[l->role] * 2.2;
		l->qr_mm = SDL_min(45.0, l->label_h + 1 + l->ref_h);
		l->col_w = full - l->qr_mm - gap;
		if (ui_text_width_mm(ui, ref, l->role) + 6 <= l->col_w)
			break;
	}
	l->label_h = ui_text_height_mm(ui, label, TEXT_BOLD, l->col_w);
	l->text_w = full;
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	double y = ui_chrome(
	        ui, _("Thank you! Your documents are saved and will be sent to your Jobcenter."));
	double gap = t->gap_mm * 2;
	double bottom = ui->h_mm - ui_footer_mm(ui);
	double full = ui->w_mm - 2 * gap;

	const char *label = _("Your reference number:");
	/* Letters and digits one by one, groups apart: easy to read aloud. */
	char ref[64];
	spaced(ui->receipt.reference, ref, sizeof(ref));
	struct receipt_layout l;
	arrange(ui, label, ref, bottom - y, full, &l);

	ui_text(ui, label, TEXT_BOLD, ui_px(ui, gap, y, l.col_w, l.label_h), UI_ALIGN_START, t->fg);
	SDL_Rect rr = ui_px(ui, gap, y + l.label_h + 1, l.col_w, l.ref_h);
	ui_fill(ui, rr, t->panel);
	ui_frame(ui, rr, t->border, SDL_max(1, ui_mm(ui, t->border_mm)));
	ui_text_center(ui, ref, l.role, rr, t->fg);
	ui_widget_add(ui, "reference", UI_WIDGET_LABEL, rr, false);
	double ty;
	if (l.qr_below) {
		ty = y + l.label_h + 1 + l.ref_h + gap;
		if (st.has_qr)
			draw_qr(ui, ui_px(ui, gap + full - l.qr_mm, ty, l.qr_mm, l.qr_mm));
	} else {
		if (st.has_qr)
			draw_qr(ui, ui_px(ui, gap + full - l.qr_mm, y, l.qr_mm, l.qr_mm));
		ty = y + SDL_max(l.label_h + 1 + l.ref_h, l.qr_mm) + t->gap_mm * 1.5;
	}
	ui_text(ui, next_text(), TEXT_BODY, ui_px(ui, gap, ty, l.text_w, bottom - ty),
	        UI_ALIGN_START, t->fg);
	ui_footer(ui, NULL, NULL, "finish", _("Finish"), true);
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	if (ev->kind == UI_EVENT_TAP && strcmp(ev->widget->id, "finish") == 0)
		ui_end_session(ui, "finish");
}

const struct ui_screen_impl ui_screen_receipt = {
        .name = "receipt",
        .enter = enter,
        .leave = leave,
        .event = event,
        .draw = draw,
};
