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

/* "ABCD-EFGH-JKLM" -> "A B C D   E F G H   J K L M": one character at a time. */
static void spaced(const char *ref, char *out, size_t len)
{
	size_t o = 0;
	for (const char *p = ref; *p && o + 4 < len; p++) {
		if (*p == '-') {
			out[o++] = ' ';
			out[o++] = ' ';
			continue;
		}
		if (o > 0)
			out[o++] = ' ';
		out[o++] = *p;
	}
	out[o] = '\0';
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	double y = ui_chrome(
	        ui, _("Thank you! Your documents are saved and will be sent to your Jobcenter."));
	double gap = t->gap_mm * 2;
	double bottom = ui->h_mm - ui_footer_mm(ui);
	double full = ui->w_mm - 2 * gap;

	int h = ui_text(ui, _("Your reference number:"), TEXT_BOLD, ui_px(ui, gap, y, full, 12),
	                UI_ALIGN_START, t->fg);
	y += h * 25.4 / ui->dpi + 1;
	/* Letters and digits one by one, groups apart: easy to read aloud. */
	char ref[64];
	spaced(ui->receipt.reference, ref, sizeof(ref));
	double rh = t->cap_mm[TEXT_HUGE] * 2.2;
	SDL_Rect rr = ui_px(ui, gap, y, full, rh);
	ui_fill(ui, rr, t->panel);
	ui_frame(ui, rr, t->border, SDL_max(1, ui_mm(ui, t->border_mm)));
	ui_text_center(ui, ref, TEXT_HUGE, rr, t->fg);
	ui_widget_add(ui, "reference", UI_WIDGET_LABEL, rr, false);
	y += rh + gap;

	double qr_mm = SDL_min(45.0, bottom - y - t->gap_mm);
	double text_w = full - qr_mm - gap;
	ui_text(ui,
	        _("What happens next: the kiosk sends your documents to your Jobcenter by "
	          "itself. You do not need to do anything else. Please write down the reference "
	          "number or take a photo of the code, in case you have questions."),
	        TEXT_BODY, ui_px(ui, gap, y, text_w, bottom - y), UI_ALIGN_START, t->fg);

	/* The QR code, always dark on light whatever the theme, with its quiet zone. */
	if (st.has_qr && qr_mm > 10) {
		uint32_t modules = st.qr.width + 2 * QR_QUIET_ZONE;
		int px = ui_mm(ui, qr_mm) / (int)modules;
		if (px < 2)
			px = 2;
		int size = px * (int)modules;
		SDL_Rect box = ui_px(ui, gap + full - qr_mm, y, qr_mm, qr_mm);
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
