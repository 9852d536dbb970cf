/*
 * case.c - identifying the case: Kundennummer or BG-Nummer, family name, date
 * of birth, typed on the on-screen keyboard. Each field is checked when the
 * customer leaves it and on "next"; the reason shows next to the field.
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

static void draw(struct ui *ui)
{
	const struct ui_theme *t = ui->theme;
	if (st.focus == SESSION_FIELD_NAME)
		st.kb.layout = keyboard_letters_for(ui->lang);
	double y = ui_chrome(ui, _("Your details"));
	double gap = t->gap_mm * 2;
	double bottom = ui->h_mm - ui_footer_mm(ui);
	double col = ui->w_mm * 0.40;
	static const char *const labels[SESSION_FIELD_LAST] = {
	        N_("Customer number or BG number"),
	        N_("Family name"),
	        N_("Date of birth (DD.MM.YYYY)"),
	};
	double fh = (bottom - y) / SESSION_FIELD_LAST;
	for (int f = 0; f < SESSION_FIELD_LAST; f++) {
		const char *msg = st.checked[f] ? message(st.result[f]) : NULL;
		ui_field(ui, session_field_name((enum session_field)f),
		         ui_px(ui, gap, y + f * fh, col - gap, fh), _(labels[f]),
		         session_field_text(ui->session, (enum session_field)f), (int)st.focus == f,
		         msg);
	}
	keyboard_draw(ui, &st.kb, col + gap, y, ui->w_mm - col - 2 * gap, bottom - y - t->gap_mm);
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
