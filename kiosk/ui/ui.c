/* ui.c - the app loop, the one transition, widgets and drawing (see ui.h). */
#include "ui.h"

#include <SDL_ttf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "case_rules.h"
#include "config.h"
#include "frame_stats.h"
#include "kiosk_metrics.h"
#include "log.h"
#include "maintenance.h"
#include "page_view.h"
#include "scan_service.h"
#include "script.h"
#include "secmem.h"
#include "session.h"
#include "spool.h"
#include "spool_gauge.h"

#ifndef SCANKIOSK_FONT_DIR
#define SCANKIOSK_FONT_DIR "/usr/share/fonts/truetype/noto"
#endif
#ifndef SCANKIOSK_VERSION
#define SCANKIOSK_VERSION "0"
#endif
#ifndef SCANKIOSK_LOCALEDIR
#define SCANKIOSK_LOCALEDIR "/usr/share/locale"
#endif

/* The hidden technician entry: a press this long in the top start corner. */
#define CORNER_MM      10.0
#define CORNER_HOLD_MS 5000

static const struct ui_screen_impl *const screens[FLOW_SCREEN_LAST] = {
        [FLOW_WELCOME] = &ui_screen_welcome,   [FLOW_CASE] = &ui_screen_case,
        [FLOW_CATEGORY] = &ui_screen_category, [FLOW_SCAN] = &ui_screen_scan,
        [FLOW_REVIEW] = &ui_screen_review,     [FLOW_CONFIRM] = &ui_screen_confirm,
        [FLOW_RECEIPT] = &ui_screen_receipt,   [FLOW_TIMEOUT_WARNING] = &ui_screen_timeout_warning,
};

static const struct ui_screen_impl *const maint_screens[UI_MAINT_LAST] = {
        [UI_MAINT_PIN] = &ui_screen_maint_pin,         [UI_MAINT_STATUS] = &ui_screen_maint_status,
        [UI_MAINT_SCANNER] = &ui_screen_maint_scanner, [UI_MAINT_QUEUE] = &ui_screen_maint_queue,
        [UI_MAINT_NETWORK] = &ui_screen_maint_network, [UI_MAINT_LOG] = &ui_screen_maint_log,
        [UI_MAINT_POWER] = &ui_screen_maint_power,
};

static const struct ui_screen_impl *current(const struct ui *ui)
{
	if (ui->maint_screen != UI_MAINT_NONE && ui->maint_screen < UI_MAINT_LAST)
		return maint_screens[ui->maint_screen];
	return screens[ui->screen];
}

const char *ui_maint_screen_name(enum ui_maint_screen screen)
{
	if (screen == UI_MAINT_NONE || screen >= UI_MAINT_LAST)
		return "";
	return maint_screens[screen]->name;
}

const char *ui_screen_name(const struct ui *ui)
{
	return current(ui)->name;
}

uint64_t ui_now_ms(const struct ui *ui)
{
	return SDL_GetTicks64() + ui->clock_offset_ms;
}

/* ---- geometry ---- */

int ui_mm(const struct ui *ui, double mm)
{
	return (int)(mm * ui->dpi / 25.4 + 0.5);
}

SDL_Rect ui_px(const struct ui *ui, double x, double y, double w, double h)
{
	SDL_Rect r = {ui_mm(ui, x), ui_mm(ui, y), ui_mm(ui, w), ui_mm(ui, h)};
	if (ui->rtl)
		r.x = ui->w - r.x - r.w;
	return r;
}

static void update_metrics(struct ui *ui)
{
	SDL_GetRendererOutputSize(ui->renderer, &ui->w, &ui->h);
	ui->w_mm = ui->w * 25.4 / ui->dpi;
	ui->h_mm = ui->h * 25.4 / ui->dpi;
	for (int r = 0; r < TEXT_ROLE_LAST; r++) {
		double mm = ui->theme->cap_mm[r];
		if (mm < UI_MIN_CAP_MM)
			mm = UI_MIN_CAP_MM;
		ui->sizes.cap_px[r] = ui_mm(ui, mm);
	}
}

/* ---- the one transition ---- */

void ui_transition(struct ui *ui, enum flow_screen to)
{
	enum flow_screen from = ui->screen;
	if (to >= FLOW_SCREEN_LAST || to == from)
		return;
	bool ok = flow_go(&ui->flow, to);
	if (!ok && to == FLOW_WELCOME) {
		/* Wiping always ends at welcome, whatever the flow thinks. */
		flow_init(&ui->flow);
		ok = true;
	}
	if (!ok) {
		log_warning("screen %s -> %s refused", flow_screen_name(from),
		            flow_screen_name(to));
		return;
	}
	if (ui->maint_screen != UI_MAINT_NONE) {
		/* Behind the technicians' screens (the wipe before the menu
		 * opens): the customer's screen was left when they covered it and
		 * is entered when they go. */
		ui->screen = to;
		log_info("screen %s -> %s (behind %s)", flow_screen_name(from),
		         flow_screen_name(to), ui_maint_screen_name(ui->maint_screen));
		return;
	}
	if (current(ui)->leave)
		current(ui)->leave(ui);
	ui->screen = to;
	ui->pressed = -1;
	ui->tick_at_ms = 0;
	ui->animating = false;
	log_info("screen %s -> %s", flow_screen_name(from), flow_screen_name(to));
	if (current(ui)->enter)
		current(ui)->enter(ui);
	ui_dirty(ui);
}

static void dispatch(struct ui *ui, const struct ui_event *ev);

void ui_maint_go(struct ui *ui, enum ui_maint_screen to)
{
	if (to >= UI_MAINT_LAST || to == ui->maint_screen)
		return;
	const char *from = ui_screen_name(ui);
	if (current(ui)->leave)
		current(ui)->leave(ui);
	if ((ui->maint_screen == UI_MAINT_NONE) != (to == UI_MAINT_NONE)) {
		/* The technicians' screens keep the default sizes (high contrast
		 * stays when configured): the large-text look is for customers, and
		 * the menu's facts and tables would not fit it. */
		ui->theme = ui_theme_get(
		        to == UI_MAINT_NONE ? ui_theme_choose(ui->cfg->kiosk.high_contrast,
		                                              ui->cfg->kiosk.large_text)
		                            : ui_theme_choose(ui->cfg->kiosk.high_contrast, false));
		update_metrics(ui);
		text_cache_clear(ui->text);
	}
	ui->maint_screen = to;
	ui->pressed = -1;
	ui->corner_down_ms = 0;
	ui->tick_at_ms = 0;
	ui->animating = false;
	log_info("screen %s -> %s", from, ui_screen_name(ui));
	if (current(ui)->enter)
		current(ui)->enter(ui);
	if (to == UI_MAINT_NONE) {
		/* What the model finished while covered (a scan's end) is the
		 * customer's screen's to take now. */
		struct ui_event ev = {.kind = UI_EVENT_MODEL};
		dispatch(ui, &ev);
	}
	ui_dirty(ui);
}

void ui_dirty(struct ui *ui)
{
	ui->dirty = true;
}

void ui_tick_in(struct ui *ui, uint32_t ms)
{
	ui->tick_at_ms = SDL_GetTicks64() + ms;
}

void ui_set_language(struct ui *ui, enum language lang)
{
	if (lang >= LANGUAGE_LAST)
		return;
	/* While a commit runs the session keeps the language it is sealing. */
	(void)session_set_language(ui->session, lang);
	ui->lang = lang;
	ui->rtl = language_is_rtl(lang);
	i18n_set(language_code(lang));
	text_cache_clear(ui->text);
	log_info("language %s", language_code(lang));
	ui_dirty(ui);
}

void ui_post_wakeup(struct ui *ui)
{
	SDL_Event ev;
	SDL_zero(ev);
	ev.type = ui->wake_event;
	SDL_PushEvent(&ev);
}

static void handle_notify(void *userdata)
{
	ui_post_wakeup(userdata);
}

/* ---- drawing ---- */

static void set_color(struct ui *ui, SDL_Color c)
{
	SDL_SetRenderDrawColor(ui->renderer, c.r, c.g, c.b, c.a);
}

void ui_clear(struct ui *ui)
{
	set_color(ui, ui->theme->bg);
	SDL_RenderClear(ui->renderer);
	ui->widget_count = 0;
	ui->text_count = 0;
	ui->text_owner = -1;
}

void ui_fill(struct ui *ui, SDL_Rect r, SDL_Color c)
{
	set_color(ui, c);
	SDL_RenderFillRect(ui->renderer, &r);
}

void ui_frame(struct ui *ui, SDL_Rect r, SDL_Color c, int width)
{
	set_color(ui, c);
	for (int i = 0; i < width && r.w > 2 * i && r.h > 2 * i; i++) {
		SDL_Rect f = {r.x + i, r.y + i, r.w - 2 * i, r.h - 2 * i};
		SDL_RenderDrawRect(ui->renderer, &f);
	}
}

static struct text_style style_for(const struct ui *ui, enum text_role role, SDL_Color color)
{
	return (struct text_style){
	        .bold = role != TEXT_BODY,
	        .cap_px = ui->sizes.cap_px[role],
	        .color = color,
	        .rtl = ui->rtl,
	};
}

#define WRAP_LINES 16

/* Breaks text at spaces (and '\n') into lines no wider than maxw. buf holds a
 * copy of text; lines[] point into it. Returns the line count. */
static int wrap(struct ui *ui, const char *text, const struct text_style *st, int maxw, char *buf,
                size_t cap, const char *lines[WRAP_LINES])
{
	size_t len = strnlen(text, cap - 1);
	memcpy(buf, text, len);
	buf[len] = '\0';
	int n = 0;
	char *p = buf;
	while (n < WRAP_LINES) {
		char *ls = p, *lb = NULL, *q = p;
		char *end = NULL;
		for (;;) {
			char *sp = q;
			while (*sp && *sp != ' ' && *sp != '\n')
				sp++;
			char save = *sp;
			*sp = '\0';
			int w = text_width(ui->text, ls, st);
			*sp = save;
			if (w > maxw && lb) {
				*lb = '\0';
				end = lb + 1;
				break;
			}
			if (save == '\0' || save == '\n') {
				*sp = '\0';
				end = save ? sp + 1 : NULL;
				break;
			}
			lb = sp;
			q = sp + 1;
		}
		lines[n++] = ls;
		if (!end)
			break;
		p = end;
	}
	return n;
}

/* Script mode: what a text block took (layout.h). Typed text is recorded
 * by its rectangles only. */
static void record_text(struct ui *ui, const char *utf8, const struct text_style *st, SDL_Rect box,
                        SDL_Rect ink, bool private)
{
	if (!ui->record_layout || ui->text_count == UI_TEXTS_MAX)
		return;
	struct ui_text_record *rec = &ui->texts[ui->text_count++];
	*rec = (struct ui_text_record){
	        .box = box, .ink = ink, .owner = ui->text_owner, .private = private};
	if (private)
		return;
	rec->missing = text_missing_glyphs(ui->text, utf8, st);
	size_t n = strnlen(utf8, sizeof(rec->what) - 1);
	while (n > 0 && utf8[n] && ((unsigned char)utf8[n] & 0xc0) == 0x80)
		n--; /* not in the middle of a character */
	memcpy(rec->what, utf8, n);
	rec->what[n] = '\0';
}

/* Script mode (`texts FILE`): every text of the frame, a line each; typed
 * text only as "(typed text)". */
static void dump_text(struct ui *ui, const char *utf8, bool private)
{
	if (!ui->text_dump)
		return;
	if (private) {
		fputs("(typed text)\n", ui->text_dump);
		return;
	}
	for (const char *p = utf8; *p; p++)
		fputc(*p == '\n' ? ' ' : *p, ui->text_dump);
	fputc('\n', ui->text_dump);
}

static void add_ink(SDL_Rect *ink, SDL_Rect dst, const struct text_line *line)
{
	if (line->ink.w == 0)
		return;
	SDL_Rect li = {dst.x + line->ink.x, dst.y + line->ink.y, line->ink.w, line->ink.h};
	if (ink->w == 0)
		*ink = li;
	else
		SDL_UnionRect(ink, &li, ink);
}

/* Lines of utf8 wrapped to maxw in style st; *widest (may be NULL) receives
 * the widest line's width (wider than maxw when one word is). */
static int measure(struct ui *ui, const char *utf8, const struct text_style *st, int maxw,
                   int *widest)
{
	if (widest)
		*widest = 0;
	if (!utf8 || !*utf8)
		return 0;
	size_t cap = strnlen(utf8, 4096) + 1;
	char *buf = malloc(cap);
	if (!buf)
		return 0;
	const char *lines[WRAP_LINES];
	int n = wrap(ui, utf8, st, maxw, buf, cap, lines);
	for (int i = 0; widest && i < n; i++)
		*widest = SDL_max(*widest, text_width(ui->text, lines[i], st));
	secmem_free(buf, cap);
	return n;
}

/* Draws wrapped text in style st. With center, the block's cap heights are
 * centred in r; otherwise the first line's box starts at r.y. Returns the
 * block's height. */
static int draw_styled(struct ui *ui, const char *utf8, const struct text_style *st, SDL_Rect r,
                       enum ui_align align, bool private, bool center)
{
	if (!utf8 || !*utf8)
		return 0;
	size_t cap = strnlen(utf8, 4096) + 1;
	char *buf = malloc(cap);
	if (!buf)
		return 0;
	const char *lines[WRAP_LINES];
	int n = wrap(ui, utf8, st, r.w, buf, cap, lines);
	int lh = text_height(ui->text, st);
	int base = r.y + text_ascent(ui->text, st);
	if (center)
		base = r.y + r.h / 2 - (n - 1) * lh / 2 + st->cap_px / 2;
	SDL_Rect ink = {0, 0, 0, 0};
	for (int i = 0; i < n; i++, base += lh) {
		struct text_line line;
		if (!text_line(ui->text, lines[i], st, !private, &line))
			continue;
		int x = r.x;
		bool to_right = (align == UI_ALIGN_END) != ui->rtl;
		if (align == UI_ALIGN_CENTER)
			x = r.x + (r.w - line.w) / 2;
		else if (to_right)
			x = r.x + r.w - line.w;
		SDL_Rect dst = {x, base - line.ascent, line.w, line.h};
		SDL_RenderCopy(ui->renderer, line.tex, NULL, &dst);
		add_ink(&ink, dst, &line);
		text_line_release(&line);
	}
	secmem_free(buf, cap);
	record_text(ui, utf8, st, r, ink, private);
	dump_text(ui, utf8, private);
	return n * lh;
}

static int draw_text(struct ui *ui, const char *utf8, enum text_role role, SDL_Rect r,
                     enum ui_align align, SDL_Color color, bool private, bool center)
{
	struct text_style st = style_for(ui, role, color);
	return draw_styled(ui, utf8, &st, r, align, private, center);
}

double ui_to_mm(const struct ui *ui, int px)
{
	return px * 25.4 / ui->dpi;
}

double ui_line_mm(struct ui *ui, enum text_role role)
{
	struct text_style st = style_for(ui, role, ui->theme->fg);
	return ui_to_mm(ui, text_height(ui->text, &st));
}

double ui_text_height_mm(struct ui *ui, const char *utf8, enum text_role role, double width_mm)
{
	struct text_style st = style_for(ui, role, ui->theme->fg);
	int n = measure(ui, utf8, &st, ui_mm(ui, width_mm), NULL);
	/* A pixel more: the boxes are rounded to pixels. */
	return n ? ui_to_mm(ui, n * text_height(ui->text, &st) + 1) : 0;
}

double ui_text_widest_mm(struct ui *ui, const char *utf8, enum text_role role, double width_mm)
{
	struct text_style st = style_for(ui, role, ui->theme->fg);
	int widest = 0;
	(void)measure(ui, utf8, &st, ui_mm(ui, width_mm), &widest);
	return ui_to_mm(ui, widest);
}

double ui_text_width_mm(struct ui *ui, const char *utf8, enum text_role role)
{
	struct text_style st = style_for(ui, role, ui->theme->fg);
	return ui_to_mm(ui, text_width(ui->text, utf8, &st) + 1);
}

int ui_text(struct ui *ui, const char *utf8, enum text_role role, SDL_Rect r, enum ui_align align,
            SDL_Color color)
{
	return draw_text(ui, utf8, role, r, align, color, false, false);
}

int ui_text_private(struct ui *ui, const char *utf8, enum text_role role, SDL_Rect r,
                    enum ui_align align, SDL_Color color)
{
	return draw_text(ui, utf8, role, r, align, color, true, false);
}

static struct ui_widget *widget_add(struct ui *ui, const char *id, enum ui_widget_kind kind,
                                    SDL_Rect r, bool enabled)
{
	if (ui->widget_count == UI_WIDGETS_MAX) {
		log_error("too many widgets on screen %s", ui_screen_name(ui));
		return NULL;
	}
	struct ui_widget *w = &ui->widgets[ui->widget_count++];
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->kind = kind;
	w->rect = r;
	w->enabled = enabled;
	w->text_hash = 0;
	return w;
}

const struct ui_widget *ui_widget_add(struct ui *ui, const char *id, enum ui_widget_kind kind,
                                      SDL_Rect r, bool enabled)
{
	return widget_add(ui, id, kind, r, enabled);
}

uint64_t ui_text_hash(const char *text)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3u;
	}
	return h ? h : 1;
}

const struct ui_widget *ui_label(struct ui *ui, const char *id, SDL_Rect r, const char *text)
{
	struct ui_widget *w = widget_add(ui, id, UI_WIDGET_LABEL, r, false);
	if (w && text)
		w->text_hash = ui_text_hash(text);
	return w;
}

const struct ui_widget *ui_widget_find(const struct ui *ui, const char *id)
{
	for (size_t i = ui->widget_count; i-- > 0;) {
		if (strcmp(ui->widgets[i].id, id) == 0)
			return &ui->widgets[i];
	}
	return NULL;
}

static bool pressed_is(const struct ui *ui, const char *id)
{
	return ui->pressed >= 0 && (size_t)ui->pressed < UI_WIDGETS_MAX &&
	       strcmp(ui->widgets[ui->pressed].id, id) == 0;
}

int ui_text_center(struct ui *ui, const char *utf8, enum text_role role, SDL_Rect r,
                   SDL_Color color)
{
	return draw_text(ui, utf8, role, r, UI_ALIGN_CENTER, color, false, true);
}

/* The padding on either side of a button's label. */
#define LABEL_PAD_MM 1.5

/*
 * The style a label is set in to fit inner (pixels): bold in one line;
 * else regular in one line; else regular wrapped at spaces when every word
 * fits and the lines fit the height; else the same at the UI_MIN_CAP_MM
 * floor, where the look's size is larger (large text, high contrast): a word
 * like "Arbeitsunfähigkeitsbescheinigung" or "Українська" cannot wrap.
 * Never under the floor.
 */
static struct text_style label_style(struct ui *ui, const char *label, int inner_w, int inner_h,
                                     SDL_Color fg)
{
	struct text_style bold = style_for(ui, TEXT_BOLD, fg);
	if (text_width(ui->text, label, &bold) <= inner_w)
		return bold;
	struct text_style reg = style_for(ui, TEXT_BODY, fg);
	struct text_style small = reg;
	small.cap_px = SDL_min(reg.cap_px, ui_mm(ui, UI_MIN_CAP_MM));
	const struct text_style *tries[] = {&reg, &small};
	for (size_t i = 0; i < 2; i++) {
		int widest = 0;
		int n = measure(ui, label, tries[i], inner_w, &widest);
		if (widest <= inner_w && (n == 1 || n * text_height(ui->text, tries[i]) <= inner_h))
			return *tries[i];
	}
	return small;
}

static void fit_label(struct ui *ui, const char *label, SDL_Rect r, SDL_Color fg, double pad_mm)
{
	int pad = ui_mm(ui, pad_mm);
	SDL_Rect inner = {r.x + pad, r.y, r.w - 2 * pad, r.h};
	struct text_style st = label_style(ui, label, inner.w, inner.h, fg);
	draw_styled(ui, label, &st, inner, UI_ALIGN_CENTER, false, true);
}

void ui_text_fit(struct ui *ui, const char *label, SDL_Rect r, SDL_Color fg)
{
	fit_label(ui, label, r, fg, LABEL_PAD_MM);
}

double ui_button_height_mm(struct ui *ui, const char *label, double width_mm, double min_mm)
{
	int inner = ui_mm(ui, width_mm) - 2 * ui_mm(ui, LABEL_PAD_MM);
	/* The height wrapping at the look's size takes, if every word fits. */
	struct text_style st = label_style(ui, label, inner, ui->h, ui->theme->fg);
	int n = measure(ui, label, &st, inner, NULL);
	double need = ui_to_mm(ui, n * text_height(ui->text, &st)) + 2.0;
	return SDL_max(need, min_mm);
}

static const struct ui_widget *button(struct ui *ui, const char *id, SDL_Rect r, const char *label,
                                      enum ui_style style, bool enabled, double pad_mm)
{
	const struct ui_theme *t = ui->theme;
	SDL_Color bg = t->button_bg, fg = t->button_fg;
	switch (style) {
	case UI_STYLE_PRIMARY:
		bg = t->primary_bg;
		fg = t->primary_fg;
		break;
	case UI_STYLE_SELECTED:
		bg = t->selected_bg;
		fg = t->selected_fg;
		break;
	case UI_STYLE_DANGER:
		bg = t->danger_bg;
		fg = t->danger_fg;
		break;
	case UI_STYLE_NORMAL:
	case UI_STYLE_LAST:
		break;
	}
	if (!enabled) {
		bg = t->disabled_bg;
		fg = t->disabled_fg;
	}
	bool down = enabled && pressed_is(ui, id);
	ui_fill(ui, r, bg);
	ui_frame(ui, r, down ? t->focus : t->border,
	         SDL_max(1, ui_mm(ui, t->border_mm)) * (down ? 3 : 1));
	if (label && *label) {
		ui->text_owner = (int)ui->widget_count; /* the widget added below */
		fit_label(ui, label, r, fg, pad_mm);
		ui->text_owner = -1;
	}
	/* A button's label is never typed text: expect-text may check it. */
	struct ui_widget *w = widget_add(ui, id, UI_WIDGET_BUTTON, r, enabled);
	if (w && label)
		w->text_hash = ui_text_hash(label);
	return w;
}

const struct ui_widget *ui_button(struct ui *ui, const char *id, SDL_Rect r, const char *label,
                                  enum ui_style style, bool enabled)
{
	return button(ui, id, r, label, style, enabled, LABEL_PAD_MM);
}

/* A key's label: one glyph or a short word, centred by its ink (an Arabic
 * letter's dots reach far above or below the baseline), in bold at the
 * look's size, or at the UI_MIN_CAP_MM floor when that does not fit. */
static void key_label(struct ui *ui, const char *label, SDL_Rect r, SDL_Color fg)
{
	int pad = ui_mm(ui, 0.5);
	SDL_Rect inner = {r.x + pad, r.y + pad, r.w - 2 * pad, r.h - 2 * pad};
	struct text_style st = style_for(ui, TEXT_BOLD, fg);
	struct text_line line;
	if (!text_line(ui->text, label, &st, true, &line))
		return;
	if ((line.ink.w > inner.w || line.ink.h > inner.h) &&
	    st.cap_px > ui_mm(ui, UI_MIN_CAP_MM)) {
		st.cap_px = ui_mm(ui, UI_MIN_CAP_MM);
		if (!text_line(ui->text, label, &st, true, &line))
			return;
	}
	if (line.ink.w == 0)
		return;
	SDL_Rect dst = {inner.x + (inner.w - line.ink.w) / 2 - line.ink.x,
	                inner.y + (inner.h - line.ink.h) / 2 - line.ink.y, line.w, line.h};
	SDL_RenderCopy(ui->renderer, line.tex, NULL, &dst);
	SDL_Rect ink = {0, 0, 0, 0};
	add_ink(&ink, dst, &line);
	record_text(ui, label, &st, inner, ink, false);
	dump_text(ui, label, false);
}

const struct ui_widget *ui_key(struct ui *ui, const char *id, SDL_Rect r, const char *label,
                               enum ui_style style)
{
	const struct ui_theme *t = ui->theme;
	bool selected = style == UI_STYLE_SELECTED;
	SDL_Color bg = selected ? t->selected_bg : t->button_bg;
	SDL_Color fg = selected ? t->selected_fg : t->button_fg;
	bool down = pressed_is(ui, id);
	ui_fill(ui, r, bg);
	ui_frame(ui, r, down ? t->focus : t->border,
	         SDL_max(1, ui_mm(ui, t->border_mm)) * (down ? 3 : 1));
	if (label && *label) {
		ui->text_owner = (int)ui->widget_count; /* the widget added below */
		key_label(ui, label, r, fg);
		ui->text_owner = -1;
	}
	return ui_widget_add(ui, id, UI_WIDGET_KEY, r, true);
}

/* The field's box height, mm: a finger's width plus, and room for a line of
 * Latin text (what is typed is clipped to the box: the rare Arabic mark that
 * reaches higher is cut, never drawn over a neighbour). */
static double field_box_mm(struct ui *ui)
{
	struct text_style st = style_for(ui, TEXT_BODY, ui->theme->fg);
	st.rtl = false;
	return SDL_max(UI_MIN_TARGET_MM + 2, ui_to_mm(ui, text_height(ui->text, &st)) + 3);
}

double ui_field_height_mm(struct ui *ui, const char *label, double width_mm)
{
	return ui_text_height_mm(ui, label, TEXT_BOLD, width_mm) + field_box_mm(ui);
}

/* What a customer typed, in one line in vr: from the start side, or, when it
 * is longer than the box, its end (where typing goes on), clipped. Never
 * cached (text.h). Returns the x of the caret. */
static int draw_value(struct ui *ui, const char *value, SDL_Rect vr)
{
	const struct ui_theme *t = ui->theme;
	struct text_style st = style_for(ui, TEXT_BODY, t->fg);
	struct text_line line;
	if (!value || !*value || !text_line(ui->text, value, &st, false, &line))
		return ui->rtl ? vr.x + vr.w - 3 : vr.x + 2;
	bool overflow = line.w > vr.w;
	int x = ui->rtl != overflow ? vr.x + vr.w - line.w : vr.x;
	int base = vr.y + (vr.h + st.cap_px) / 2;
	SDL_Rect dst = {x, base - line.ascent, line.w, line.h};
	SDL_RenderSetClipRect(ui->renderer, &vr);
	SDL_RenderCopy(ui->renderer, line.tex, NULL, &dst);
	SDL_RenderSetClipRect(ui->renderer, NULL);
	SDL_Rect ink = {0, 0, 0, 0}, shown;
	add_ink(&ink, dst, &line);
	if (!SDL_IntersectRect(&ink, &vr, &shown))
		shown = (SDL_Rect){0, 0, 0, 0};
	record_text(ui, NULL, &st, vr, shown, true);
	dump_text(ui, NULL, true);
	int caret = ui->rtl ? x - 3 : x + line.w + 2;
	text_line_release(&line);
	return SDL_clamp(caret, vr.x, vr.x + vr.w - 2);
}

const struct ui_widget *ui_field(struct ui *ui, const char *id, SDL_Rect r, const char *label,
                                 const char *value, bool focused, bool invalid)
{
	const struct ui_theme *t = ui->theme;
	int label_h = ui_text(ui, label, TEXT_BOLD, (SDL_Rect){r.x, r.y, r.w, ui->h},
	                      UI_ALIGN_START, t->fg);
	SDL_Rect box = {r.x, r.y + label_h, r.w, ui_mm(ui, field_box_mm(ui))};
	int bw = SDL_max(1, ui_mm(ui, t->border_mm));
	ui_fill(ui, box, t->field_bg);
	SDL_Color frame = focused ? t->focus : invalid ? t->error : t->border;
	ui_frame(ui, box, frame, bw * (focused || invalid ? 3 : 1));
	int pad = ui_mm(ui, 2.5);
	SDL_Rect vr = {box.x + pad, box.y + bw * 3, box.w - 2 * pad, box.h - bw * 6};
	if (invalid) {
		/* A marker on the end side; the screen tells why. */
		int m = box.h - 2 * ui_mm(ui, 1.5);
		SDL_Rect mark = {ui->rtl ? box.x + ui_mm(ui, 1.5)
		                         : box.x + box.w - ui_mm(ui, 1.5) - m,
		                 box.y + ui_mm(ui, 1.5), m, m};
		ui_icon(ui, UI_ICON_ALERT, mark, t->error);
		vr.w -= m + ui_mm(ui, 1);
		if (ui->rtl)
			vr.x += m + ui_mm(ui, 1);
	}
	ui->text_owner = (int)ui->widget_count; /* the box, added below */
	int cx = draw_value(ui, value, vr);
	ui->text_owner = -1;
	if (focused) {
		/* A caret after the text (at the end side). */
		struct text_style st = style_for(ui, TEXT_BODY, t->fg);
		int ch = st.cap_px * 3 / 2;
		ui_fill(ui,
		        (SDL_Rect){cx, box.y + (box.h - ch) / 2, SDL_max(2, ui_mm(ui, 0.5)), ch},
		        t->focus);
	}
	return ui_widget_add(ui, id, UI_WIDGET_FIELD, box, true);
}

static void triangle(struct ui *ui, SDL_FPoint a, SDL_FPoint b, SDL_FPoint c, SDL_Color col)
{
	SDL_Vertex v[3] = {{a, col, {0, 0}}, {b, col, {0, 0}}, {c, col, {0, 0}}};
	SDL_RenderGeometry(ui->renderer, NULL, v, 3, NULL, 0);
}

void ui_icon(struct ui *ui, enum ui_icon icon, SDL_Rect r, SDL_Color c)
{
	/* Drawn, not a font glyph: the Noto text fonts have no arrows. */
	float s = (float)SDL_min(r.w, r.h) * 0.5f;
	float cx = (float)r.x + (float)r.w / 2, cy = (float)r.y + (float)r.h / 2;
	float d = ui->rtl && icon == UI_ICON_BACKSPACE ? -1.0f : 1.0f;
	switch (icon) {
	case UI_ICON_BACKSPACE: {
		/* An arrow pointing to where text is erased (the start side). */
		triangle(ui, (SDL_FPoint){cx - d * s * 0.8f, cy},
		         (SDL_FPoint){cx - d * s * 0.1f, cy - s * 0.5f},
		         (SDL_FPoint){cx - d * s * 0.1f, cy + s * 0.5f}, c);
		float x0 = d > 0 ? cx - s * 0.15f : cx - s * 0.8f;
		SDL_FRect shaft = {x0, cy - s * 0.15f, s * 0.95f, s * 0.3f};
		set_color(ui, c);
		SDL_RenderFillRectF(ui->renderer, &shaft);
		break;
	}
	case UI_ICON_SHIFT: {
		triangle(ui, (SDL_FPoint){cx, cy - s * 0.8f}, (SDL_FPoint){cx - s * 0.6f, cy},
		         (SDL_FPoint){cx + s * 0.6f, cy}, c);
		SDL_FRect stem = {cx - s * 0.25f, cy - s * 0.05f, s * 0.5f, s * 0.75f};
		set_color(ui, c);
		SDL_RenderFillRectF(ui->renderer, &stem);
		break;
	}
	case UI_ICON_ALERT: {
		/* A disc with "!" cut out of it. */
		enum { SEGMENTS = 32 };
		float rad = s * 0.95f;
		for (int i = 0; i < SEGMENTS; i++) {
			float a0 = (float)i * 6.2831853f / SEGMENTS;
			float a1 = (float)(i + 1) * 6.2831853f / SEGMENTS;
			triangle(ui, (SDL_FPoint){cx, cy},
			         (SDL_FPoint){cx + rad * SDL_cosf(a0), cy + rad * SDL_sinf(a0)},
			         (SDL_FPoint){cx + rad * SDL_cosf(a1), cy + rad * SDL_sinf(a1)}, c);
		}
		set_color(ui, ui->theme->field_bg);
		SDL_FRect bar = {cx - s * 0.12f, cy - s * 0.6f, s * 0.24f, s * 0.75f};
		SDL_FRect dot = {cx - s * 0.13f, cy + s * 0.32f, s * 0.26f, s * 0.26f};
		SDL_RenderFillRectF(ui->renderer, &bar);
		SDL_RenderFillRectF(ui->renderer, &dot);
		break;
	}
	case UI_ICON_PREV:
	case UI_ICON_NEXT: {
		/* Earlier things lie on the start side: left, or right in RTL. */
		float dir = (icon == UI_ICON_NEXT) != ui->rtl ? 1.0f : -1.0f;
		triangle(ui, (SDL_FPoint){cx + dir * s * 0.6f, cy},
		         (SDL_FPoint){cx - dir * s * 0.4f, cy - s * 0.7f},
		         (SDL_FPoint){cx - dir * s * 0.4f, cy + s * 0.7f}, c);
		break;
	}
	}
}

/* ---- chrome ---- */

static double lang_row_mm(const struct ui *ui)
{
	return SDL_max(UI_MIN_TARGET_MM + 1.0, ui->theme->button_mm * 0.85);
}

/* A title of more than two lines at the title size is set at the bold text
 * size instead (long languages, the large-text look). */
static enum text_role title_role(struct ui *ui, const char *title, double width_mm)
{
	struct text_style st = style_for(ui, TEXT_TITLE, ui->theme->fg);
	return measure(ui, title, &st, ui_mm(ui, width_mm), NULL) > 2 ? TEXT_BOLD : TEXT_TITLE;
}

double ui_chrome_height_mm(struct ui *ui, const char *title)
{
	const struct ui_theme *t = ui->theme;
	double y = t->gap_mm * 3 + lang_row_mm(ui);
	if (title && *title) {
		double w = ui->w_mm - t->gap_mm * 4;
		y += ui_text_height_mm(ui, title, title_role(ui, title, w), w) + t->gap_mm;
	}
	return y;
}

double ui_chrome(struct ui *ui, const char *title)
{
	const struct ui_theme *t = ui->theme;
	double gap = t->gap_mm;
	double row = lang_row_mm(ui);
	double n = (double)ui->lang_count;
	double w = (ui->w_mm - gap * (n + 1)) / n;
	for (size_t i = 0; i < ui->lang_count; i++) {
		enum language l = ui->langs[i];
		char id[16];
		snprintf(id, sizeof(id), "lang-%s", language_code(l));
		SDL_Rect r = ui_px(ui, gap + (double)i * (w + gap), gap, w, row);
		/* Narrow buttons, one word each ("Українська"): little padding. */
		button(ui, id, r, language_native_name(l),
		       l == ui->lang ? UI_STYLE_SELECTED : UI_STYLE_NORMAL, true, 0.5);
	}
	double y = gap + row + gap * 2;
	if (title && *title) {
		double tw = ui->w_mm - gap * 4;
		enum text_role role = title_role(ui, title, tw);
		double th = ui_text_height_mm(ui, title, role, tw);
		ui_text(ui, title, role, ui_px(ui, gap * 2, y, tw, th), UI_ALIGN_START, t->fg);
		y += th + gap;
	}
	return y;
}

double ui_footer_mm(const struct ui *ui)
{
	return ui->theme->button_mm + 2 * ui->theme->gap_mm;
}

double ui_footer(struct ui *ui, const char *back_id, const char *back_label, const char *next_id,
                 const char *next_label, bool next_enabled)
{
	const struct ui_theme *t = ui->theme;
	double gap = t->gap_mm;
	double y = ui->h_mm - ui_footer_mm(ui) + gap;
	double bw = SDL_min(60.0, (ui->w_mm - 3 * gap) / 2);
	if (back_id)
		ui_button(ui, back_id, ui_px(ui, gap, y, bw, t->button_mm), back_label,
		          UI_STYLE_NORMAL, true);
	if (next_id)
		ui_button(ui, next_id, ui_px(ui, ui->w_mm - gap - bw, y, bw, t->button_mm),
		          next_label, UI_STYLE_PRIMARY, next_enabled);
	return y - gap;
}

/* ---- input ---- */

static int widget_at(const struct ui *ui, int x, int y)
{
	SDL_Point p = {x, y};
	for (size_t i = ui->widget_count; i-- > 0;) {
		/* Labels are names for scripts, not touch targets: a finger goes
		 * through them to what lies under. */
		if (ui->widgets[i].kind == UI_WIDGET_LABEL)
			continue;
		if (SDL_PointInRect(&p, &ui->widgets[i].rect))
			return (int)i;
	}
	return -1;
}

static void dispatch(struct ui *ui, const struct ui_event *ev)
{
	if (current(ui)->event)
		current(ui)->event(ui, ev);
}

static bool in_corner(const struct ui *ui, int x, int y)
{
	int c = ui_mm(ui, CORNER_MM);
	return y < c && (ui->rtl ? x >= ui->w - c : x < c);
}

static void press(struct ui *ui, int x, int y)
{
	idle_touch(&ui->idle);
	if (ui->maint && maintenance_active(ui->maint))
		maintenance_touch(ui->maint);
	ui->pressed = widget_at(ui, x, y);
	/* The hidden entry is on the customer's screens only. */
	ui->corner_down_ms = ui->maint_screen == UI_MAINT_NONE && in_corner(ui, x, y)
	                             ? SDL_max(ui_now_ms(ui), 1)
	                             : 0;
	ui_dirty(ui);
}

/* The technicians' entry (README.md): a finger held CORNER_HOLD_MS in the
 * top start corner opens the PIN pad while it is still down; the press is
 * not a tap. Without a configured PIN the model refuses (and logs it once). */
static bool check_corner(struct ui *ui)
{
	if (!ui->corner_down_ms || ui_now_ms(ui) - ui->corner_down_ms < CORNER_HOLD_MS)
		return false;
	ui->corner_down_ms = 0;
	ui->pressed = -1;
	ui_dirty(ui);
	/* Never over a commit: its result (the receipt, or why not) belongs to
	 * the customer on the confirm screen. The technician tries again. */
	if (ui->committing) {
		log_info("technician entry ignored: a submission is being saved");
		return true;
	}
	if (!ui->maint || !maintenance_open_request(ui->maint))
		return true;
	/* The pad speaks German; a wrong PIN or none gives the customer's
	 * language back. */
	ui->maint_lang = ui->lang;
	ui->maint_wiped = false;
	if (ui->lang != LANGUAGE_DE)
		ui_set_language(ui, LANGUAGE_DE);
	ui_maint_go(ui, UI_MAINT_PIN);
	return true;
}

static void release(struct ui *ui, int x, int y)
{
	int was = ui->pressed;
	ui->pressed = -1;
	ui_dirty(ui);
	/* Held long enough (the 5 s may end with this very release): the entry,
	 * and the press is no tap. A short press in the corner is an ordinary
	 * tap. */
	if (check_corner(ui))
		return;
	ui->corner_down_ms = 0;
	if (was < 0 || (size_t)was >= ui->widget_count)
		return;
	int now = widget_at(ui, x, y);
	if (now != was || !ui->widgets[was].enabled)
		return;
	/* A copy: the handler may redraw and rebuild the widget list. */
	struct ui_widget w = ui->widgets[was];
	enum language lang;
	if (strncmp(w.id, "lang-", 5) == 0 && language_from_code(w.id + 5, &lang)) {
		ui_set_language(ui, lang);
		return;
	}
	struct ui_event ev = {.kind = UI_EVENT_TAP, .widget = &w};
	bool pin = ui->maint_screen == UI_MAINT_PIN;
	dispatch(ui, &ev);
	if (pin)
		secmem_zero(&w, sizeof(w)); /* "pin-7": a digit of the PIN */
}

static void handle_key(struct ui *ui, const SDL_KeyboardEvent *key)
{
	idle_touch(&ui->idle);
#ifdef SCANKIOSK_DEBUG_QUIT
	/* Debug builds only: Ctrl+Alt+Q quits. A release build has no way out. */
	if (key->keysym.sym == SDLK_q && (key->keysym.mod & KMOD_CTRL) &&
	    (key->keysym.mod & KMOD_ALT)) {
		ui->quit = true;
		return;
	}
#endif
	if (key->keysym.sym == SDLK_BACKSPACE) {
		struct ui_event ev = {.kind = UI_EVENT_ERASE};
		dispatch(ui, &ev);
	}
}

/* Takes what the scan service queued: pages into the session, the job's end.
 * Every page of the running job renews the inactivity hold's deadline, so a
 * long feeder batch is not cut, while a scanner that stops making progress
 * does not keep the session open for ever (check_idle). */
static void pump_scan(struct ui *ui)
{
	struct scan_service_event ev;
	while (scan_service_poll(ui->scan, &ev)) {
		kiosk_metrics_scan_event(ui->metrics, &ev);
		if (ev.kind == SCAN_SERVICE_EVENT_FINISHED && ui->scan_job &&
		    ev.job == ui->scan_job && ui->scan_discard) {
			/* The wiped session's job is over: its hold ends whoever
			 * takes the event (the maintenance menu after a wipe). */
			log_info("scan job %u finished: %u pages, %s", ev.job, ev.pages_done,
			         scan_problem_name(ev.problem));
			ui->scan_job = 0;
			ui->scan_discard = false;
			idle_release(&ui->idle);
		}
		/* After a right PIN every event is the menu's (its test scan; a
		 * late page of the customer's is zeroed there). */
		if (ui->maint && maintenance_scan_event(ui->maint, &ev))
			continue;
		bool ours = ui->scan_job && ev.job == ui->scan_job && !ui->scan_discard;
		switch (ev.kind) {
		case SCAN_SERVICE_EVENT_PAGE_STARTED:
			if (ours)
				idle_hold_renew(&ui->idle);
			break;
		case SCAN_SERVICE_EVENT_PAGE_READY: {
			if (!ours) {
				/* An old job's page, or the session was wiped: zeroed. */
				scan_service_event_discard(&ev);
				break;
			}
			idle_hold_renew(&ui->idle);
			struct scan_page *page = ev.page_result;
			ev.page_result = NULL;
			if (!page)
				break;
			enum session_status st;
			if (ui->rescan_index >= 0) {
				st = session_page_replace(ui->session, (size_t)ui->rescan_index,
				                          page);
				ui->rescan_index = -1;
				ui->rescan_done = st == SESSION_OK;
			} else {
				st = session_page_add(ui->session, page);
			}
			if (st != SESSION_OK)
				log_warning("page not kept: %s", session_strerror(st));
			break;
		}
		case SCAN_SERVICE_EVENT_FINISHED:
			if (ev.job == ui->scan_job) {
				log_info("scan job %u finished: %u pages, %s", ev.job,
				         ev.pages_done, scan_problem_name(ev.problem));
				/* Kept for the scan screen: the device may be back (READY,
				 * no problem) before the UI draws again. */
				if (!ui->scan_discard)
					ui->scan_problem = (int)ev.problem;
				ui->scan_job = 0;
				ui->scan_discard = false;
				idle_release(&ui->idle);
			}
			break;
		case SCAN_SERVICE_EVENT_STATE:
			log_info("scanner %s (%s)", scan_service_state_name(ev.state),
			         scan_problem_name(ev.problem));
			break;
		case SCAN_SERVICE_EVENT_LAST:
			break;
		}
	}
}

uint32_t ui_scan_start(struct ui *ui, uint32_t max_pages)
{
	if (ui->scan_job || max_pages == 0)
		return 0;
	uint32_t job = scan_service_start(ui->scan, SCAN_SERVICE_SOURCE_DEFAULT, max_pages);
	if (job) {
		ui->scan_job = job;
		ui->scan_problem = SCAN_PROBLEM_NONE;
		ui->scan_discard = false;
		idle_hold(&ui->idle);
		log_info("scan job %u started (at most %u pages)", job, max_pages);
	}
	return job;
}

static void handle_event(struct ui *ui, SDL_Event *e)
{
	if (e->type == ui->wake_event) {
		pump_scan(ui);
		struct ui_event ev = {.kind = UI_EVENT_MODEL};
		dispatch(ui, &ev);
		ui_dirty(ui);
		return;
	}
	switch (e->type) {
	case SDL_QUIT:
		if (ui->allow_close)
			ui->quit = true;
		break;
	case SDL_FINGERDOWN:
		press(ui, (int)(e->tfinger.x * ui->w), (int)(e->tfinger.y * ui->h));
		break;
	case SDL_FINGERUP:
		release(ui, (int)(e->tfinger.x * ui->w), (int)(e->tfinger.y * ui->h));
		break;
	case SDL_MOUSEBUTTONDOWN:
		if (e->button.which != SDL_TOUCH_MOUSEID && e->button.button == SDL_BUTTON_LEFT)
			press(ui, e->button.x, e->button.y);
		break;
	case SDL_MOUSEBUTTONUP:
		if (e->button.which != SDL_TOUCH_MOUSEID && e->button.button == SDL_BUTTON_LEFT)
			release(ui, e->button.x, e->button.y);
		break;
	case SDL_TEXTINPUT: {
		idle_touch(&ui->idle);
		struct ui_event ev = {.kind = UI_EVENT_TEXT, .text = e->text.text};
		dispatch(ui, &ev);
		secmem_zero(e->text.text, sizeof(e->text.text));
		ui_dirty(ui);
		break;
	}
	case SDL_KEYDOWN:
		handle_key(ui, &e->key);
		if (ui->maint_screen == UI_MAINT_PIN)
			secmem_zero(&e->key, sizeof(e->key)); /* a PIN digit's key */
		break;
	case SDL_KEYUP:
		if (ui->maint_screen == UI_MAINT_PIN)
			secmem_zero(&e->key, sizeof(e->key));
		break;
	case SDL_WINDOWEVENT:
		if (e->window.event == SDL_WINDOWEVENT_SIZE_CHANGED ||
		    e->window.event == SDL_WINDOWEVENT_EXPOSED) {
			update_metrics(ui);
			ui_dirty(ui);
		}
		break;
	case SDL_RENDER_TARGETS_RESET:
	case SDL_RENDER_DEVICE_RESET:
		text_cache_clear(ui->text);
		ui_dirty(ui);
		break;
	default:
		break;
	}
}

/* ---- session end ---- */

static void wipe(struct ui *ui, const char *why)
{
	if (ui->scan_job) {
		scan_service_abort(ui->scan);
		ui->scan_discard = true;
	}
	ui->rescan_index = -1;
	ui->rescan_done = false;
	ui->scan_problem = SCAN_PROBLEM_NONE;
	if (ui->committing) {
		/* The commit goes on without the session (session_wipe) and
		 * never notifies: its hold ends here. */
		ui->committing = false;
		idle_release(&ui->idle);
	}
	session_wipe(ui->session);
	(void)session_commit_orphans(ui->session);
	page_view_clear(ui->page_view);
	ui_thumbs_clear(ui);
	memset(&ui->receipt, 0, sizeof(ui->receipt));
	ui_set_language(ui, ui->home_lang);
	idle_extend(&ui->idle);
	log_info("session wiped (%s)", why);
	ui_transition(ui, FLOW_WELCOME);
}

void ui_end_session(struct ui *ui, const char *why)
{
	wipe(ui, why);
}

/* ---- the technicians' menu ---- */

/* What the maintenance model reported (maintenance_poll()). The right PIN
 * leads through the wipe: the customer's session goes before the menu opens. */
static void handle_maintenance(struct ui *ui, unsigned changes)
{
	struct maintenance *m = ui->maint;
	if (maintenance_state(m) == MAINTENANCE_WIPE) {
		wipe(ui, "maintenance");
		ui->maint_wiped = true;
		if (!maintenance_confirm_wipe(m, ui->session))
			maintenance_close(m);
	}
	if (maintenance_exit_status(m) >= 0) {
		/* "Restart the kiosk": the unit starts it again. */
		ui->exit_code = maintenance_exit_status(m);
		ui->quit = true;
	}
	enum maintenance_state st = maintenance_state(m);
	if (st == MAINTENANCE_OPEN && ui->maint_screen <= UI_MAINT_PIN) {
		ui_maint_go(ui, UI_MAINT_STATUS);
	} else if (st == MAINTENANCE_CLOSED && ui->maint_screen != UI_MAINT_NONE) {
		/* Closed (button, idle, restart), or the pad left unused. The
		 * test page's thumbnail texture goes with the menu. After a wipe
		 * the welcome screen (in German) starts a fresh inactivity time;
		 * the pad left unused gives the customer's screen back with its
		 * language and its inactivity timer as they ran (the pad's
		 * touches counted as touches; a warning's countdown goes on). */
		ui_thumbs_clear(ui);
		ui_maint_go(ui, UI_MAINT_NONE);
		if (ui->maint_wiped) {
			idle_extend(&ui->idle);
			ui_set_language(ui, ui->home_lang);
		} else {
			ui_set_language(ui, ui->maint_lang);
		}
		ui->maint_wiped = false;
	}
	if (changes)
		ui_dirty(ui);
}

static void poll_maintenance(struct ui *ui)
{
	if (!ui->maint)
		return;
	unsigned changes = maintenance_poll(ui->maint);
	if (changes || maintenance_state(ui->maint) == MAINTENANCE_WIPE ||
	    (maintenance_state(ui->maint) == MAINTENANCE_CLOSED) !=
	            (ui->maint_screen == UI_MAINT_NONE))
		handle_maintenance(ui, changes);
}

static void check_idle(struct ui *ui)
{
	if (ui->maint_screen != UI_MAINT_NONE)
		return; /* the menu closes by its own timer; the customer's starts anew after */
	uint32_t countdown = 0;
	enum idle_state st = idle_state(&ui->idle, &countdown);
	if (st == IDLE_ACTIVE)
		return;
	if (st == IDLE_EXPIRED && idle_hold_overdue(&ui->idle))
		log_warning("scan or commit made no progress for %u s: session ended",
		            (unsigned)(ui->idle.hold_limit_ms / 1000u));
	if (ui->screen == FLOW_WELCOME) {
		/* Nobody is in a session; only a chosen language is left to undo. */
		if (ui->lang != ui->home_lang || session_has_data(ui->session))
			wipe(ui, "idle on welcome");
		idle_extend(&ui->idle);
		return;
	}
	if (st == IDLE_EXPIRED) {
		wipe(ui, "inactivity");
		return;
	}
	if (ui->screen != FLOW_TIMEOUT_WARNING)
		ui_transition(ui, FLOW_TIMEOUT_WARNING);
}

/* ---- loop ---- */

static void draw(struct ui *ui)
{
	frame_stats_begin(ui->frame_stats);
	ui_clear(ui);
	if (ui->text_dump_path) {
		/* `texts FILE`: this frame's texts; what a customer typed never. */
		int fd = open(ui->text_dump_path,
		              O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		ui->text_dump = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (fd >= 0 && !ui->text_dump)
			close(fd);
		if (!ui->text_dump)
			log_error_errno("texts %s", ui->text_dump_path);
	}
	current(ui)->draw(ui);
	if (ui->text_dump_path) {
		if (ui->text_dump)
			fclose(ui->text_dump);
		ui->text_dump = NULL;
		free(ui->text_dump_path);
		ui->text_dump_path = NULL;
	}
	SDL_RenderPresent(ui->renderer);
	frame_stats_end(ui->frame_stats);
	ui->frames++;
	ui->dirty = false;
}

static int wait_ms(struct ui *ui)
{
	int64_t ms = 1000;
	if (ui->animating)
		ms = 16;
	int64_t idle = idle_ms_to_next_change(&ui->idle);
	if (idle >= 0 && idle < ms)
		ms = idle;
	if (ui->tick_at_ms) {
		uint64_t now = SDL_GetTicks64();
		int64_t t = ui->tick_at_ms > now ? (int64_t)(ui->tick_at_ms - now) : 0;
		if (t < ms)
			ms = t;
	}
	if (ui->maint) {
		int64_t close = maintenance_ms_to_close(ui->maint);
		if (close >= 0 && close < ms)
			ms = close;
	}
	if (ui->corner_down_ms) {
		uint64_t due = ui->corner_down_ms + CORNER_HOLD_MS, now = ui_now_ms(ui);
		int64_t t = due > now ? (int64_t)(due - now) : 0;
		if (t < ms)
			ms = t;
	}
	if (ui->script) {
		int s = script_wait_ms(ui->script);
		if (s < ms)
			ms = s;
	}
	return (int)(ms < 0 ? 0 : ms);
}

/* SIGTERM (systemctl stop) and SIGINT: the loop ends within its longest
 * wait (1 s), the session is wiped on the way out. SDL's own handlers would
 * turn them into SDL_QUIT, which a kiosk without a way out ignores. */
static volatile sig_atomic_t stop_signal;

static void handle_stop_signal(int sig)
{
	stop_signal = sig;
}

int ui_run(struct ui *ui)
{
	while (!ui->quit) {
		if (stop_signal) {
			log_info("signal %d: stopping", (int)stop_signal);
			ui->quit = true;
			ui->exit_code = 0;
			break;
		}
		SDL_Event e;
		if (SDL_WaitEventTimeout(&e, ui->dirty ? 0 : wait_ms(ui))) {
			handle_event(ui, &e);
			while (!ui->quit && SDL_PollEvent(&e))
				handle_event(ui, &e);
		}
		if (ui->tick_at_ms && SDL_GetTicks64() >= ui->tick_at_ms) {
			ui->tick_at_ms = 0;
			struct ui_event ev = {.kind = UI_EVENT_TICK};
			dispatch(ui, &ev);
		}
		check_corner(ui);
		poll_maintenance(ui);
		check_idle(ui);
		if (ui->dirty || ui->animating)
			draw(ui);
		if (ui->script && !ui->dirty && !SDL_HasEvents(SDL_FIRSTEVENT, SDL_LASTEVENT)) {
			enum script_status st = script_step(ui->script, ui);
			if (st != SCRIPT_RUNNING) {
				ui->exit_code = st == SCRIPT_DONE ? 0 : 1;
				ui->quit = true;
			}
		}
	}
	return ui->exit_code;
}

/* ---- start and end ---- */

/* Script mode's inactivity clock stands still: only `idle` moves it, so the
 * countdown a screenshot shows does not depend on how fast the machine is. */
static uint64_t script_clock(void *userdata)
{
	(void)userdata;
	return 0;
}

/* The technicians' menu. Customers come first: when it cannot start (its
 * state directory unusable) the kiosk runs without it, logged. In script
 * mode its clock stands still like the inactivity timer's (`idle` moves
 * both). */
static void start_maintenance(struct ui *ui, const struct config *cfg, bool scripted)
{
	static const struct maintenance_hooks script_hooks = {.now_ms = script_clock};
	struct maintenance_config mc;
	maintenance_config_init(&mc);
	maintenance_config_apply(&mc, cfg);
	mc.version = SCANKIOSK_VERSION;
	mc.scanner = ui->scan;
	if (scripted)
		mc.hooks = &script_hooks;
	char err[MAINTENANCE_ERROR_MAX];
	ui->maint = maintenance_create(&mc, handle_notify, ui, err);
	if (!ui->maint)
		log_error("maintenance menu unavailable: %s", err);
}

static int start_model(struct ui *ui, const struct config *cfg, bool scripted)
{
	char err[256];
	ui->rules = case_rules_create(cfg->kiosk.kundennummer_pattern, cfg->kiosk.bg_pattern, err,
	                              sizeof(err));
	if (!ui->rules) {
		log_error("case number patterns: %s", err);
		return -1;
	}
	ui->session = session_create(ui->rules);
	if (!ui->session)
		return -1;
	struct spool_limits limits = {cfg->spool.max_bytes, cfg->spool.max_count};
	enum spool_status sst = spool_open(cfg->spool.dir, &limits, &ui->spool);
	if (sst != SPOOL_OK) {
		log_error("spool %s: %s", cfg->spool.dir, spool_strerror(sst));
		return -1;
	}
	enum container_status cst = container_load_key(cfg->spool.public_key, ui->public_key);
	if (cst != CONTAINER_OK) {
		log_error("public key %s: %s",
		          cfg->spool.public_key ? cfg->spool.public_key : "(none)",
		          container_strerror(cst));
		return -1;
	}
	idle_init(&ui->idle, cfg->kiosk.idle_timeout, cfg->kiosk.idle_warning,
	          scripted ? script_clock : NULL, NULL);
	flow_init(&ui->flow);

	struct scan_service_config sc;
	scan_service_config_init(&sc);
	scan_service_config_apply(&sc, cfg);
	ui->scan = scan_service_create(&sc, handle_notify, ui);
	if (!ui->scan) {
		log_error("the scan service cannot start");
		return -1;
	}
	ui->page_view = page_view_create(handle_notify, ui);
	if (!ui->page_view)
		return -1;
	ui->gauge = spool_gauge_create(cfg->spool.dir, &limits, 0, handle_notify, ui);
	if (!ui->gauge) {
		log_error("the spool gauge cannot start");
		return -1;
	}
	start_maintenance(ui, cfg, scripted);
	/* Fleet monitoring: counts and states only; the kiosk runs without. */
	char merr[KIOSK_METRICS_ERROR_MAX];
	ui->metrics = kiosk_metrics_create(cfg->kiosk_textfile, SCANKIOSK_VERSION, merr);
	if (!ui->metrics && merr[0])
		log_error("kiosk metrics: %s", merr);
	return 0;
}

int ui_init(struct ui *ui, const struct config *cfg, const struct ui_options *opts)
{
	memset(ui, 0, sizeof(*ui));
	ui->cfg = cfg;
	ui->pressed = -1;
	ui->text_owner = -1;
	ui->rescan_index = -1;
	ui->allow_close = opts->windowed;
	ui->dpi = cfg->kiosk.panel_dpi ? cfg->kiosk.panel_dpi : 96;
	/* The languages offered, in the configured order (the parser checked the
	 * codes), and the one every session starts in. */
	ui->home_lang = LANGUAGE_DE;
	for (size_t i = 0; i < cfg->kiosk.language_count && ui->lang_count < LANGUAGE_LAST; i++) {
		enum language l;
		if (language_from_code(cfg->kiosk.languages[i], &l))
			ui->langs[ui->lang_count++] = l;
	}
	if (ui->lang_count == 0)
		ui->langs[ui->lang_count++] = LANGUAGE_DE;
	enum language home;
	if (cfg->kiosk.language && language_from_code(cfg->kiosk.language, &home))
		ui->home_lang = home;
	else
		ui->home_lang = ui->langs[0];
	ui->theme = ui_theme_get(ui_theme_choose(cfg->kiosk.high_contrast, cfg->kiosk.large_text));
	ui->frame_stats = frame_stats_from_env();

	/* No way out: Alt+Tab must not minimise the kiosk, nor losing focus. */
	SDL_SetHint(SDL_HINT_ALLOW_ALT_TAB_WHILE_GRABBED, "0");
	SDL_SetHint(SDL_HINT_VIDEO_MINIMIZE_ON_FOCUS_LOSS, "0");
	SDL_SetHint(SDL_HINT_MOUSE_TOUCH_EVENTS, "0");
	SDL_SetHint(SDL_HINT_VIDEO_ALLOW_SCREENSAVER, "0");
	SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handle_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (opts->script_path) {
		/* Tests: the software renderer straight into the window's pixels
		 * (no GL driver probed for the window framebuffer). */
		SDL_SetHint(SDL_HINT_RENDER_DRIVER, "software");
		SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
	}
	if (SDL_Init(SDL_INIT_VIDEO | SDL_INIT_EVENTS) != 0) {
		log_error("SDL_Init: %s", SDL_GetError());
		return -1;
	}
	ui->wake_event = SDL_RegisterEvents(1);
	Uint32 flags = SDL_WINDOW_SHOWN;
	int w = 1280, h = 800;
	if (!opts->windowed)
		flags |= SDL_WINDOW_FULLSCREEN_DESKTOP | SDL_WINDOW_BORDERLESS;
	ui->window = SDL_CreateWindow("scankiosk", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED,
	                              w, h, flags);
	if (!ui->window) {
		log_error("SDL_CreateWindow: %s", SDL_GetError());
		return -1;
	}
	if (!opts->windowed)
		SDL_SetWindowGrab(ui->window, SDL_TRUE);
	ui->renderer = SDL_CreateRenderer(ui->window, -1, 0);
	if (!ui->renderer) {
		log_error("SDL_CreateRenderer: %s", SDL_GetError());
		return -1;
	}
	SDL_RendererInfo info;
	if (SDL_GetRendererInfo(ui->renderer, &info) == 0)
		log_info("video driver %s, renderer %s", SDL_GetCurrentVideoDriver(), info.name);
	SDL_ShowCursor(opts->windowed ? SDL_ENABLE : SDL_DISABLE);

	const char *fonts = getenv("SCANKIOSK_FONT_DIR");
	ui->text = text_create(ui->renderer, fonts ? fonts : SCANKIOSK_FONT_DIR);
	if (!ui->text)
		return -1;
	const char *localedir = getenv("SCANKIOSK_LOCALEDIR");
	i18n_init(localedir ? localedir : SCANKIOSK_LOCALEDIR, getenv("SCANKIOSK_MAINT_LOCALEDIR"));
	update_metrics(ui);
	log_info("panel %dx%d px, %.0f dpi, %.0fx%.0f mm, theme %s", ui->w, ui->h, ui->dpi,
	         ui->w_mm, ui->h_mm, ui->theme->name);

	if (start_model(ui, cfg, opts->script_path != NULL) != 0)
		return -1;
	if (opts->script_path) {
		ui->script = script_load(opts->script_path);
		if (!ui->script)
			return -1;
		ui->record_layout = true; /* for check-layout */
	}
	ui_set_language(ui, ui->home_lang);
	ui->screen = FLOW_WELCOME;
	log_info("screen (start) -> %s", flow_screen_name(ui->screen));
	if (current(ui)->enter)
		current(ui)->enter(ui);
	ui_dirty(ui);
	return 0;
}

void ui_finish(struct ui *ui)
{
	/* Reverse order of ui_init. The scan service goes first: its thread
	 * posts SDL events. */
	/* The menu's workers borrow the scan service: they go first. */
	maintenance_destroy(ui->maint);
	if (ui->scan)
		scan_service_abort(ui->scan);
	scan_service_destroy(ui->scan);
	spool_gauge_destroy(ui->gauge);
	kiosk_metrics_destroy(ui->metrics);
	page_view_destroy(ui->page_view);
	session_destroy(ui->session);
	spool_destroy(ui->spool);
	case_rules_destroy(ui->rules);
	secmem_zero(ui->public_key, sizeof(ui->public_key));
	script_destroy(ui->script);
	free(ui->text_dump_path);
	ui_thumbs_clear(ui);
	text_destroy(ui->text);
	if (ui->renderer)
		SDL_DestroyRenderer(ui->renderer);
	if (ui->window)
		SDL_DestroyWindow(ui->window);
	if (TTF_WasInit())
		TTF_Quit();
	SDL_Quit();
	frame_stats_finish(ui->frame_stats);
	memset(ui, 0, sizeof(*ui));
}
