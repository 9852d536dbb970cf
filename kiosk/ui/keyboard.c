/* keyboard.c - on-screen keyboards (see keyboard.h). */
#include "keyboard.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "i18n.h"
#include "ui.h"

#define ROWS_MAX 5
#define KEYS_MAX 14

/* Rows of space-separated keys. */
static const char *const layouts[KEYBOARD_LAST][ROWS_MAX] = {
        [KEYBOARD_DE] = {"q w e r t z u i o p ü", "a s d f g h j k l ö ä", "y x c v b n m ß",
                         "é è á ç ğ ı ş ñ ø"},
        [KEYBOARD_EN] = {"q w e r t y u i o p", "a s d f g h j k l", "z x c v b n m",
                         "ä ö ü ß é ç ğ ı ş"},
        [KEYBOARD_TR] = {"q w e r t y u ı o p ğ ü", "a s d f g h j k l ş i", "z x c v b n m ö ç",
                         "ä ß é â î û"},
        [KEYBOARD_UK] = {"й ц у к е н г ш щ з х ї", "ф і в а п р о л д ж є", "я ч с м и т ь б ю ґ"},
        [KEYBOARD_RU] = {"й ц у к е н г ш щ з х ъ", "ф ы в а п р о л д ж э", "я ч с м и т ь б ю ё"},
        [KEYBOARD_AR] = {"ض ص ث ق ف غ ع ه خ ح ج", "ش س ي ب ل ا ت ن م ك ط", "ئ ء ؤ ر ى ة و ز ظ د ذ",
                         "أ إ آ پ چ ژ گ ک ی"},
        [KEYBOARD_CASE_NUMBER] = {"1 2 3 4 5 6 7 8 9 0", "Q W E R T Z U I O P", "A S D F G H J K L",
                                  "Y X C V B N M"},
        [KEYBOARD_DATE] = {"1 2 3", "4 5 6", "7 8 9", "dot 0"},
};

static bool is_letters(enum keyboard_layout l)
{
	return l <= KEYBOARD_AR;
}

static bool has_case(enum keyboard_layout l)
{
	return l <= KEYBOARD_RU;
}

enum keyboard_layout keyboard_letters_for(enum language lang)
{
	switch (lang) {
	case LANGUAGE_EN:
		return KEYBOARD_EN;
	case LANGUAGE_TR:
		return KEYBOARD_TR;
	case LANGUAGE_UK:
		return KEYBOARD_UK;
	case LANGUAGE_RU:
		return KEYBOARD_RU;
	case LANGUAGE_AR:
		return KEYBOARD_AR;
	case LANGUAGE_DE:
	case LANGUAGE_LAST:
		break;
	}
	return KEYBOARD_DE;
}

static enum keyboard_layout effective(const struct keyboard *kb)
{
	if (kb->latin &&
	    (kb->layout == KEYBOARD_UK || kb->layout == KEYBOARD_RU || kb->layout == KEYBOARD_AR))
		return KEYBOARD_EN;
	return kb->layout;
}

/* Upper case of one UTF-8 letter (Turkish dotted and dotless i by layout). */
static void upper(enum keyboard_layout l, const char *in, char out[16])
{
	if (l == KEYBOARD_TR && strcmp(in, "i") == 0) {
		snprintf(out, 16, "İ");
		return;
	}
	if (l == KEYBOARD_TR && strcmp(in, "ı") == 0) {
		snprintf(out, 16, "I");
		return;
	}
	if (strcmp(in, "ß") == 0) {
		snprintf(out, 16, "ß"); /* names keep ß; capital ẞ is rare */
		return;
	}
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	wchar_t wc;
	size_t n = mbrtowc(&wc, in, strlen(in), &st);
	if (n == 0 || n > 4) {
		snprintf(out, 16, "%s", in);
		return;
	}
	memset(&st, 0, sizeof(st));
	size_t m = wcrtomb(out, (wchar_t)towupper((wint_t)wc), &st);
	if (m == (size_t)-1 || m > 15)
		snprintf(out, 16, "%s", in);
	else
		out[m] = '\0';
}

static void key(struct ui *ui, const char *id, const char *label, double x, double y, double w,
                double h, enum ui_style style)
{
	ui_key(ui, id, ui_px(ui, x, y, w, h), label, style);
}

#define KEY_GAP_MM 1.2

int keyboard_rows(const struct keyboard *kb)
{
	enum keyboard_layout l = effective(kb);
	int rows = 0;
	while (rows < ROWS_MAX && layouts[l][rows])
		rows++;
	return rows + 1; /* the row of special keys */
}

double keyboard_min_height_mm(const struct keyboard *kb)
{
	int rows = keyboard_rows(kb);
	return rows * UI_MIN_TARGET_MM + (rows - 1) * KEY_GAP_MM;
}

double keyboard_min_width_mm(const struct keyboard *kb)
{
	enum keyboard_layout l = effective(kb);
	int widest = 0;
	for (int r = 0; r < ROWS_MAX && layouts[l][r]; r++) {
		int n = 1;
		for (const char *p = layouts[l][r]; *p; p++)
			n += *p == ' ';
		widest = n > widest ? n : widest;
	}
	return widest * UI_MIN_TARGET_MM + (widest - 1) * KEY_GAP_MM;
}

void keyboard_draw(struct ui *ui, const struct keyboard *kb, double x, double y, double w, double h)
{
	enum keyboard_layout l = effective(kb);
	const double gap = KEY_GAP_MM;
	int rows = 0, widest = 0;
	for (int r = 0; r < ROWS_MAX && layouts[l][r]; r++) {
		int n = 1;
		for (const char *p = layouts[l][r]; *p; p++)
			n += *p == ' ';
		widest = n > widest ? n : widest;
		rows++;
	}
	bool letters = is_letters(l);
	int total_rows = rows + 1; /* the row of special keys */
	double kw = (w - gap * (widest - 1)) / widest;
	double kh = (h - gap * (total_rows - 1)) / total_rows;
	if (kw > ui->theme->key_mm * 1.6)
		kw = ui->theme->key_mm * 1.6;
	if (kh > ui->theme->key_mm)
		kh = ui->theme->key_mm;
	if (kw < UI_MIN_TARGET_MM)
		kw = UI_MIN_TARGET_MM;
	if (kh < UI_MIN_TARGET_MM)
		kh = UI_MIN_TARGET_MM;

	for (int r = 0; r < rows; r++) {
		char row[128];
		snprintf(row, sizeof(row), "%s", layouts[l][r]);
		const char *keys[KEYS_MAX];
		int n = 0;
		char *save = NULL;
		for (char *k = strtok_r(row, " ", &save); k && n < KEYS_MAX;
		     k = strtok_r(NULL, " ", &save))
			keys[n++] = k;
		double rw = n * kw + (n - 1) * gap;
		double kx = x + (w - rw) / 2;
		double ky = y + r * (kh + gap);
		for (int i = 0; i < n; i++, kx += kw + gap) {
			char id[UI_WIDGET_ID_MAX];
			char label[16];
			if (strcmp(keys[i], "dot") == 0) {
				key(ui, "key-dot", ".", kx, ky, kw, kh, UI_STYLE_NORMAL);
				continue;
			}
			snprintf(label, sizeof(label), "%s", keys[i]);
			if (kb->shift && has_case(l))
				upper(l, keys[i], label);
			/* Ids name the lower-case key, whatever the shift state. */
			char lower[16];
			snprintf(lower, sizeof(lower), "%s", keys[i]);
			if (l == KEYBOARD_CASE_NUMBER && lower[0] >= 'A' && lower[0] <= 'Z')
				lower[0] = (char)(lower[0] - 'A' + 'a');
			snprintf(id, sizeof(id), "key-%s", lower);
			key(ui, id, label, kx, ky, kw, kh, UI_STYLE_NORMAL);
		}
	}
	/* Special keys. */
	double ky = y + rows * (kh + gap);
	double kx = x;
	double wide = kw * 2 + gap;
	if (letters) {
		key(ui, "key-shift", NULL, kx, ky, wide, kh,
		    kb->shift ? UI_STYLE_SELECTED : UI_STYLE_NORMAL);
		ui_icon(ui, UI_ICON_SHIFT, ui_px(ui, kx, ky, wide, kh),
		        kb->shift ? ui->theme->selected_fg : ui->theme->button_fg);
		kx += wide + gap;
		if (kb->layout == KEYBOARD_UK || kb->layout == KEYBOARD_RU ||
		    kb->layout == KEYBOARD_AR) {
			/* Latin letters, or back to the language's own. */
			const char *own = kb->layout == KEYBOARD_AR ? "أ ب ت" : "АБВ";
			key(ui, "key-layout", kb->latin ? own : "ABC", kx, ky, wide, kh,
			    UI_STYLE_NORMAL);
			kx += wide + gap;
		}
		key(ui, "key-hyphen", "-", kx, ky, kw, kh, UI_STYLE_NORMAL);
		kx += kw + gap;
		key(ui, "key-apostrophe", "'", kx, ky, kw, kh, UI_STYLE_NORMAL);
		kx += kw + gap;
	}
	double back_w = letters || l == KEYBOARD_CASE_NUMBER ? wide : kw * 3 + gap * 2;
	double end = x + w;
	if (letters) {
		double space_w = end - back_w - gap - kx;
		if (space_w >= UI_MIN_TARGET_MM)
			key(ui, "key-space", _("Space"), kx, ky, space_w, kh, UI_STYLE_NORMAL);
	}
	if (l == KEYBOARD_DATE) {
		double rw = 3 * kw + 2 * gap;
		key(ui, "key-backspace", NULL, x + (w - rw) / 2, ky, rw, kh, UI_STYLE_NORMAL);
		ui_icon(ui, UI_ICON_BACKSPACE, ui_px(ui, x + (w - rw) / 2, ky, rw, kh),
		        ui->theme->button_fg);
	} else {
		key(ui, "key-backspace", NULL, end - back_w, ky, back_w, kh, UI_STYLE_NORMAL);
		ui_icon(ui, UI_ICON_BACKSPACE, ui_px(ui, end - back_w, ky, back_w, kh),
		        ui->theme->button_fg);
	}
}

enum keyboard_action keyboard_tap(struct keyboard *kb, const char *id, char out[16])
{
	if (strncmp(id, "key-", 4) != 0)
		return KEYBOARD_NONE;
	const char *k = id + 4;
	enum keyboard_layout l = effective(kb);
	if (strcmp(k, "backspace") == 0)
		return KEYBOARD_ERASE;
	if (strcmp(k, "shift") == 0) {
		kb->shift = !kb->shift;
		return KEYBOARD_NONE;
	}
	if (strcmp(k, "layout") == 0) {
		kb->latin = !kb->latin;
		return KEYBOARD_NONE;
	}
	if (strcmp(k, "space") == 0) {
		snprintf(out, 16, " ");
		return KEYBOARD_TEXT;
	}
	if (strcmp(k, "hyphen") == 0) {
		snprintf(out, 16, "-");
		return KEYBOARD_TEXT;
	}
	if (strcmp(k, "apostrophe") == 0) {
		snprintf(out, 16, "'");
		return KEYBOARD_TEXT;
	}
	if (strcmp(k, "dot") == 0) {
		snprintf(out, 16, ".");
		return KEYBOARD_TEXT;
	}
	if (l == KEYBOARD_CASE_NUMBER) {
		snprintf(out, 16, "%s", k);
		if (out[0] >= 'a' && out[0] <= 'z')
			out[0] = (char)(out[0] - 'a' + 'A');
		return KEYBOARD_TEXT;
	}
	if (kb->shift && has_case(l)) {
		upper(l, k, out);
		kb->shift = false;
	} else {
		snprintf(out, 16, "%s", k);
	}
	return KEYBOARD_TEXT;
}
