/*
 * case.c - identifying the case: Kundennummer or BG-Nummer, family name, date
 * of birth, typed on the on-screen keyboard. Each field is checked when the
 * customer leaves it and on "next" (which then focuses the first field that
 * did not pass). A field that did not pass shows a red frame and a "!"
 * marker; the reason, in full, shows in the message area: the focused
 * field's, else the first failed field's.
 *
 * The message area has space of its own, as tall as the longest message of
 * the language needs, so nothing moves when a message appears and nothing
 * overlaps: under the fields when it fits there, else above the keyboard,
 * whose keys then shrink (never under UI_MIN_TARGET_MM).
 *
 * What is typed lives in the session only (session_field_*); nothing of it is
 * copied here or logged.
 */
#include <stdbool.h>
#include <string.h>

#include "case_rules.h"
#include "keyboard.h"
#include "secmem.h"
#include "session.h"
#include "ui.h"

static struct {
	enum session_field focus;
	bool checked[SESSION_FIELD_LAST];
	enum case_check result[SESSION_FIELD_LAST];
	struct keyboard kb;
} st;

static const char *message(enum case_check c)
{
	switch (c) {
	case CASE_OK:
		return NULL;
	case CASE_EMPTY:
		return _("Please fill in this field.");
	case CASE_NUMBER_FORMAT:
		return _("Please check the number. It looks like 123A456789 (customer number) or "
		         "12345BG1234567 (BG number).");
	case CASE_NAME_TOO_LONG:
		return _("This name is too long.");
	case CASE_NAME_CHARACTERS:
		return _("Please use only letters, spaces, - and '.");
	case CASE_NAME_START:
		return _("The name must start with a letter.");
	case CASE_DATE_FORMAT:
		return _("Please type the date like this: 31.12.1980.");
	case CASE_DATE_INVALID:
		return _("This date does not exist. Please check it.");
	case CASE_DATE_FUTURE:
		return _("This date is in the future. Please check it.");
	case CASE_DATE_TOO_YOUNG:
	case CASE_DATE_TOO_OLD:
		return _("Please check the year of birth.");
	case CASE_CHECK_LAST:
		break;
	}
	return NULL;
}

static void set_keyboard(struct ui *ui)
{
	switch (st.focus) {
	case SESSION_FIELD_CASE_NUMBER:
		st.kb.layout = KEYBOARD_CASE_NUMBER;
		break;
	case SESSION_FIELD_BIRTH_DATE:
		st.kb.layout = KEYBOARD_DATE;
		break;
	case SESSION_FIELD_NAME:
	case SESSION_FIELD_LAST: {
		st.kb.layout = keyboard_letters_for(ui->lang);
		const char *text = session_field_text(ui->session, SESSION_FIELD_NAME);
		size_t n = strlen(text);
		st.kb.shift = n == 0 || text[n - 1] == ' ' || text[n - 1] == '-';
		break;
	}
	}
}

static void check(struct ui *ui, enum session_field f)
{
	st.result[f] = session_field_check(ui->session, f);
	st.checked[f] = true;
}

static void focus(struct ui *ui, enum session_field f)
{
	if (f == st.focus)
		return;
	/* Leaving a field with something in it checks it. */
	if (*session_field_text(ui->session, st.focus))
		check(ui, st.focus);
	st.focus = f;
	set_keyboard(ui);
}

static void enter(struct ui *ui)
{
	memset(&st, 0, sizeof(st));
	st.focus = SESSION_FIELD_CASE_NUMBER;
	for (int f = 0; f < SESSION_FIELD_LAST; f++) {
		/* Coming back with fields filled: show their state again. */
		if (*session_field_text(ui->session, (enum session_field)f))
			check(ui, (enum session_field)f);
	}
	set_keyboard(ui);
}

static void leave(struct ui *ui)
{
	(void)ui;
	memset(&st, 0, sizeof(st));
}

static const char *const field_labels[SESSION_FIELD_LAST] = {
        N_("Customer number or BG number"),
        N_("Family name"),
        N_("Date of birth (DD.MM.YYYY)"),
};

/* Every reason a check can give, for the space the longest needs. */
static const enum case_check all_checks[] = {
        CASE_EMPTY,           CASE_NUMBER_FORMAT, CASE_NAME_TOO_LONG,
        CASE_NAME_CHARACTERS, CASE_NAME_START,    CASE_DATE_FORMAT,
        CASE_DATE_INVALID,    CASE_DATE_FUTURE,   CASE_DATE_TOO_YOUNG,
};

#define MSG_PAD_MM 2.0

static bool invalid(enum session_field f)
{
	return st.checked[f] && st.result[f] != CASE_OK;
}

/* The icon's size in the message area: a line of bold text. */
static double icon_mm(struct ui *ui)
{
	return ui_line_mm(ui, TEXT_BOLD);
}

/* The height the message area needs at width w (mm) for the longest message. */
static double message_area_mm(struct ui *ui, double w)
{
	double text_w = w - 3 * MSG_PAD_MM - icon_mm(ui);
	double most = icon_mm(ui);
	for (size_t i = 0; i < sizeof(all_checks) / sizeof(all_checks[0]); i++)
		most = SDL_max(most,
		               ui_text_height_mm(ui, message(all_checks[i]), TEXT_BOLD, text_w));
	return most + 2 * MSG_PAD_MM;
}

/* The reason a field did not pass, in a red frame with the "!" marker. */
static void draw_message(struct ui *ui, const char *msg, double x, double y, double w)
{
	const struct ui_theme *t = ui->theme;
	double icon = icon_mm(ui);
	double text_w = w - 3 * MSG_PAD_MM - icon;
	double h = SDL_max(icon, ui_text_height_mm(ui, msg, TEXT_BOLD, text_w)) + 2 * MSG_PAD_MM;
	SDL_Rect panel = ui_px(ui, x, y, w, h);
	ui_fill(ui, panel, t->field_bg);
	ui_frame(ui, panel, t->error, SDL_max(1, ui_mm(ui, t->border_mm)) * 2);
	ui_icon(ui, UI_ICON_ALERT, ui_px(ui, x + MSG_PAD_MM, y + MSG_PAD_MM, icon, icon), t->error);
	SDL_Rect tr =
	        ui_px(ui, x + 2 * MSG_PAD_MM + icon, y + MSG_PAD_MM, text_w, h - 2 * MSG_PAD_MM);
	ui_text(ui, msg, TEXT_BOLD, tr, UI_ALIGN_START, t->error);
	ui_label(ui, "case-message", panel, msg);
}

/* The message shown: the focused field's, else the first that did not pass. */
static const char *shown_message(void)
{
	if (invalid(st.focus))
		return message(st.result[st.focus]);
	for (int f = 0; f < SESSION_FIELD_LAST; f++) {
		if (invalid((enum session_field)f))
			return message(st.result[f]);
	}
	return NULL;
}

/* The tallest (or widest) of the keyboards this screen shows, at the
 * smallest keys. */
static double keyboard_need_mm(const struct ui *ui, bool width)
{
	struct keyboard kbs[] = {
	        {.layout = KEYBOARD_CASE_NUMBER},
	        {.layout = KEYBOARD_DATE},
	        {.layout = keyboard_letters_for(ui->lang)},
	        {.layout = keyboard_letters_for(ui->lang), .latin = true},
	};
	double most = 0;
	for (size_t i = 0; i < sizeof(kbs) / sizeof(kbs[0]); i++)
		most = SDL_max(most, width ? keyboard_min_width_mm(&kbs[i])
		                           : keyboard_min_height_mm(&kbs[i]));
	return most;
}

/* Where things go: the fields in the start column, the message area under
 * them or above the keyboard. Worked out for every keyboard this screen
 * shows, so nothing moves when the focus moves. */
struct layout {
	bool title;      /* room for the screen's title */
	bool msg_in_col; /* the message area under the fields */
	double y;        /* where the content starts */
	double msg_need; /* the message area's height */
};

static bool arrange(struct ui *ui, double y, double fields_h, double fw, double kw, double bottom,
                    struct layout *out)
{
	const struct ui_theme *t = ui->theme;
	double kb = keyboard_need_mm(ui, false);
	double end = bottom - t->gap_mm;
	if (y + fields_h > end || y + kb > end)
		return false;
	double col = message_area_mm(ui, fw);
	if (y + fields_h + col <= end) {
		*out = (struct layout){.msg_in_col = true, .msg_need = col};
		return true;
	}
	double above = message_area_mm(ui, kw);
	if (y + above + t->gap_mm + kb <= end) {
		*out = (struct layout){.msg_in_col = false, .msg_need = above};
		return true;
	}
	return false;
}

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	if (st.focus == SESSION_FIELD_NAME)
		st.kb.layout = keyboard_letters_for(ui->lang);
	const char *title = _("Your details");
	double gap = t->gap_mm * 2;
	double bottom = ui->h_mm - ui_footer_mm(ui);
	/* The fields take 40 % of the width, or more (up to half, as far as the
	 * keyboard's smallest keys leave) when their labels would not fit. The
	 * title goes when the fields, the message and the keyboard would not fit
	 * under it (large text on a small panel): the labels say it all. */
	double cols[2] = {
	        ui->w_mm * 0.40,
	        SDL_max(ui->w_mm * 0.40,
	                SDL_min(ui->w_mm * 0.5, ui->w_mm - 2 * gap - keyboard_need_mm(ui, true)))};
	struct layout lay;
	double col = cols[0], fw = 0, kx = 0, kw = 0;
	bool placed = false;
	for (int try = 0; try < 4 && !placed; try++) {
		bool with_title = try < 2;
		col = cols[try % 2];
		fw = col - gap;
		kx = col + gap;
		kw = ui->w_mm - col - 2 * gap;
		double fields_h = 0;
		for (int f = 0; f < SESSION_FIELD_LAST; f++)
			fields_h += ui_field_height_mm(ui, _(field_labels[f]), fw) + t->gap_mm;
		placed = arrange(ui, ui_chrome_height_mm(ui, with_title ? title : NULL), fields_h,
		                 fw, kw, bottom, &lay);
		lay.title = with_title;
	}
	if (!placed) /* what would not fit anyway; the layout check says so */
		lay = (struct layout){.msg_need = message_area_mm(ui, kw)};
	double y = ui_chrome(ui, lay.title ? title : NULL);

	double fy = y;
	for (int f = 0; f < SESSION_FIELD_LAST; f++) {
		const char *label = _(field_labels[f]);
		ui_field(ui, session_field_name((enum session_field)f), ui_px(ui, gap, fy, fw, 0),
		         label, session_field_text(ui->session, (enum session_field)f),
		         (int)st.focus == f, invalid((enum session_field)f));
		fy += ui_field_height_mm(ui, label, fw) + t->gap_mm;
	}

	const char *msg = shown_message();
	double ky = y;
	if (lay.msg_in_col) {
		if (msg)
			draw_message(ui, msg, gap, fy, fw);
	} else {
		if (msg)
			draw_message(ui, msg, kx, y, kw);
		ky = y + lay.msg_need + t->gap_mm;
	}
	keyboard_draw(ui, &st.kb, kx, ky, kw, bottom - ky - t->gap_mm);
	ui_footer(ui, "back", _("Back"), "next", _("Next"), true);
}

/* The birth date keypad adds the dots: 3 1 1 2 1 9 8 0 -> 31.12.1980. */
static void insert_date(struct ui *ui, const char *text)
{
	const char *cur = session_field_text(ui->session, SESSION_FIELD_BIRTH_DATE);
	size_t n = strlen(cur);
	const char *dot = strrchr(cur, '.');
	size_t dots = 0;
	for (const char *p = cur; *p; p++)
		dots += *p == '.';
	size_t part = dot ? n - (size_t)(dot + 1 - cur) : n;
	if (text[0] >= '0' && text[0] <= '9' && !text[1] && dots < 2 && part == 2)
		(void)session_field_insert(ui->session, SESSION_FIELD_BIRTH_DATE, ".");
	(void)session_field_insert(ui->session, SESSION_FIELD_BIRTH_DATE, text);
}

static void insert(struct ui *ui, const char *text)
{
	st.checked[st.focus] = false;
	if (st.focus == SESSION_FIELD_BIRTH_DATE)
		insert_date(ui, text);
	else
		(void)session_field_insert(ui->session, st.focus, text);
	if (st.focus == SESSION_FIELD_NAME)
		set_keyboard(ui);
}

static void next(struct ui *ui)
{
	for (int f = 0; f < SESSION_FIELD_LAST; f++)
		check(ui, (enum session_field)f);
	enum session_field bad;
	if (session_case_complete(ui->session, &bad)) {
		ui_transition(ui, FLOW_CATEGORY);
		return;
	}
	st.focus = bad;
	set_keyboard(ui);
	ui_dirty(ui);
}

static void event(struct ui *ui, const struct ui_event *ev)
{
	switch (ev->kind) {
	case UI_EVENT_TAP: {
		const char *id = ev->widget->id;
		for (int f = 0; f < SESSION_FIELD_LAST; f++) {
			if (strcmp(id, session_field_name((enum session_field)f)) == 0) {
				focus(ui, (enum session_field)f);
				return;
			}
		}
		if (strcmp(id, "next") == 0) {
			next(ui);
			return;
		}
		if (strcmp(id, "back") == 0) {
			ui_transition(ui, FLOW_WELCOME);
			return;
		}
		char out[16];
		switch (keyboard_tap(&st.kb, id, out)) {
		case KEYBOARD_TEXT:
			insert(ui, out);
			break;
		case KEYBOARD_ERASE:
			st.checked[st.focus] = false;
			(void)session_field_backspace(ui->session, st.focus);
			if (st.focus == SESSION_FIELD_NAME)
				set_keyboard(ui);
			break;
		case KEYBOARD_NONE:
			break;
		}
		secmem_zero(out, sizeof(out));
		break;
	}
	case UI_EVENT_TEXT:
		insert(ui, ev->text);
		break;
	case UI_EVENT_ERASE:
		st.checked[st.focus] = false;
		(void)session_field_backspace(ui->session, st.focus);
		break;
	case UI_EVENT_TICK:
	case UI_EVENT_MODEL:
	case UI_EVENT_LAST:
		break;
	}
}

const struct ui_screen_impl ui_screen_case = {
        .name = "case",
        .enter = enter,
        .leave = leave,
        .event = event,
        .draw = draw,
};
