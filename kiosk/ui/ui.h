/*
 * ui.h - the touch UI's core: the app loop, the one screen transition, the
 * widgets a frame registers, and the drawing helpers every screen uses.
 *
 * Threads: everything here runs on the main thread. Workers reach the UI only
 * through SDL user events (ui_post_wakeup()).
 *
 * Layout: screens place things in millimetres in a left-to-right frame whose
 * origin is the top-left corner; ui_px() converts to pixels with the panel's
 * DPI and mirrors horizontally while a right-to-left language is active.
 *
 * Widgets are immediate: each draw registers the widgets it shows (id, rect);
 * touches are matched against the widgets of the frame the customer saw.
 */
#ifndef SCANKIOSK_UI_H
#define SCANKIOSK_UI_H

#include <SDL.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "container.h"
#include "flow.h"
#include "i18n.h"
#include "idle.h"
#include "language.h"
#include "layout.h"
#include "spool.h"
#include "text.h"
#include "theme.h"

struct case_rules;
struct config;
struct frame_stats;
struct kiosk_metrics;
struct maintenance;
struct page_view;
struct scan_service;
struct script;
struct session;
struct scan_page;
struct spool_gauge;

#define UI_THUMBS_MAX    64
#define UI_WIDGET_ID_MAX 40
#define UI_WIDGETS_MAX   160
#define UI_TEXTS_MAX     160

enum ui_widget_kind {
	UI_WIDGET_BUTTON,
	UI_WIDGET_FIELD,
	UI_WIDGET_KEY,
	UI_WIDGET_THUMB,
	UI_WIDGET_LABEL, /* not touchable; named for scripts and tests */
	UI_WIDGET_LAST
};

struct ui_widget {
	char id[UI_WIDGET_ID_MAX];
	enum ui_widget_kind kind;
	SDL_Rect rect; /* pixels, as drawn (mirrored already) */
	bool enabled;
	uint64_t text_hash; /* labels: ui_text_hash() of the text shown; 0 none */
};

enum ui_event_kind {
	UI_EVENT_TAP,   /* a widget was tapped (pressed and released on it) */
	UI_EVENT_TEXT,  /* text typed (a physical keyboard or a script) */
	UI_EVENT_ERASE, /* backspace */
	UI_EVENT_TICK,  /* a timer the screen asked for is due */
	UI_EVENT_MODEL, /* the model has news (scan progress, pages, outcome) */
	UI_EVENT_LAST
};

struct ui_event {
	enum ui_event_kind kind;
	const struct ui_widget *widget; /* TAP */
	const char *text;               /* TEXT: UTF-8 */
};

struct ui;

/* The technicians' screens (maintenance menu), shown instead of the
 * customer's while the maintenance model is not CLOSED (maint.h). */
enum ui_maint_screen {
	UI_MAINT_NONE,    /* the customer's screens */
	UI_MAINT_PIN,     /* "maint-pin": the PIN pad (also while a PIN is checked) */
	UI_MAINT_STATUS,  /* "maint-status": scanner, queue, uploads, disk, version */
	UI_MAINT_SCANNER, /* "maint-scanner": devices, defaults, test scan */
	UI_MAINT_QUEUE,   /* "maint-queue": retry now, failed and quarantined items */
	UI_MAINT_NETWORK, /* "maint-network": the step-by-step network test */
	UI_MAINT_LOG,     /* "maint-log": the last log lines of both programs */
	UI_MAINT_POWER,   /* "maint-power": restart the kiosk or the uploader, reboot */
	UI_MAINT_LAST
};

/* A screen: a small const vtable, one per file in screens/. */
struct ui_screen_impl {
	const char *name;
	void (*enter)(struct ui *ui);
	void (*leave)(struct ui *ui);
	void (*event)(struct ui *ui, const struct ui_event *ev);
	void (*draw)(struct ui *ui);
};

/* Buttons look different by role. */
enum ui_style {
	UI_STYLE_NORMAL,
	UI_STYLE_PRIMARY, /* the main action of a screen */
	UI_STYLE_SELECTED,
	UI_STYLE_DANGER,
	UI_STYLE_LAST
};

/* Text alignment in the left-to-right frame; mirrored for right-to-left. */
enum ui_align {
	UI_ALIGN_START,
	UI_ALIGN_CENTER,
	UI_ALIGN_END,
};

struct ui_options {
	bool windowed;
	const char *script_path; /* NULL: interactive */
};

struct ui {
	const struct config *cfg;

	/* The model (kiosk/app), owned here. */
	struct case_rules *rules;
	struct session *session;
	struct scan_service *scan;
	struct spool *spool;
	struct spool_gauge *gauge;     /* "can the spool take it?" without waiting on the disk */
	struct maintenance *maint;     /* the technicians' menu; NULL when it could not start */
	struct kiosk_metrics *metrics; /* [metrics] kiosk_textfile; NULL: none */
	uint8_t public_key[CONTAINER_KEY_BYTES];
	struct idle_timer idle;
	struct flow flow;

	/* The scan in progress (0: none) and what its pages are for. */
	uint32_t scan_job;
	int scan_problem;  /* enum scan_problem the last job ended with, until the next */
	bool scan_discard; /* the session was wiped: drop the job's pages */
	int rescan_index;  /* -1: new pages are appended; else they replace this page */
	bool rescan_done;  /* a rescan replaced its page (the scan screen returns) */
	bool committing;   /* a commit runs (confirm screen) */
	struct spool_receipt receipt; /* the last commit's, for the receipt screen */

	/* Thumbnail textures (page content: zeroed and destroyed on wipe). Keyed
	 * by the page struct, its thumbnail buffer, content and turns: a page
	 * turned twice may get its old struct's address back with the same hash. */
	struct ui_thumb {
		const void *page;
		const void *pixels;
		uint8_t sha[8];
		int turns;
		SDL_Texture *tex;
	} thumbs[UI_THUMBS_MAX];

	SDL_Window *window;
	SDL_Renderer *renderer;
	struct text *text;
	const struct ui_theme *theme;
	struct ui_theme_sizes sizes; /* the theme's sizes in pixels */
	enum language lang;
	bool rtl;
	/* [kiosk] languages (offered, in order) and language (every session's
	 * first). */
	enum language langs[LANGUAGE_LAST];
	size_t lang_count;
	enum language home_lang;
	double dpi;
	int w, h;          /* renderer output, pixels */
	double w_mm, h_mm; /* the same in millimetres */

	enum flow_screen screen;
	/* A technicians' screen covers the customer's while not UI_MAINT_NONE;
	 * the language the PIN pad replaced, given back when it closes unused. */
	enum ui_maint_screen maint_screen;
	enum language maint_lang;
	bool maint_wiped; /* the right PIN wiped the customer's session */

	struct ui_widget widgets[UI_WIDGETS_MAX];
	size_t widget_count;
	int pressed; /* index of the widget under a finger, -1 none */

	/* Script mode: the text blocks of the frame, for `check-layout` (layout.h). */
	bool record_layout;
	struct ui_text_record texts[UI_TEXTS_MAX];
	size_t text_count;
	int text_owner; /* the widget the text being drawn labels; -1 none */

	bool dirty;
	bool animating;      /* draw at 60 Hz until it clears */
	uint64_t tick_at_ms; /* a screen's next UI_EVENT_TICK (0: none) */
	bool quit;
	int exit_code;
	bool allow_close; /* the window's close button quits (windowed mode) */

	uint32_t wake_event; /* SDL user event type of ui_post_wakeup() */

	/* Hidden technician entry (README.md): a press held in the top corner;
	 * times on ui_now_ms(). */
	uint64_t corner_down_ms;
	/* Script mode: added to the press clock by `hold-mm` (a held finger
	 * without waiting for it). */
	uint64_t clock_offset_ms;
	/* Script mode (`texts FILE`): the next frame's texts go to this file. */
	char *text_dump_path;
	FILE *text_dump;

	/* The review screen's large page, decoded off the UI thread. */
	struct page_view *page_view;

	struct script *script;
	uint64_t frames;
	struct frame_stats *frame_stats; /* SCANKIOSK_FRAME_STATS; NULL when not asked */
};

/* Creates the window and renderer and enters the welcome screen in German. */
/* Returns 0, or -1 (logged) when SDL, the fonts or the model cannot start. */
int ui_init(struct ui *ui, const struct config *cfg, const struct ui_options *opts);
void ui_finish(struct ui *ui);

/* The app loop. Returns the process exit code. */
int ui_run(struct ui *ui);

/* THE one screen transition: leaves the old screen, logs "old -> new", enters.
 * While a technicians' screen shows, the customer's screen changes behind it
 * (logged; entered when the menu closes). */
void ui_transition(struct ui *ui, enum flow_screen to);
/* The same for the technicians' screens: UI_MAINT_NONE gives the customer's
 * screen back. Logs "screen old -> new" like ui_transition(). */
void ui_maint_go(struct ui *ui, enum ui_maint_screen to);
/* The name of the screen on show ("welcome" ... "maint-pin" ...): what
 * scripts wait for and expect. */
const char *ui_screen_name(const struct ui *ui);
const char *ui_maint_screen_name(enum ui_maint_screen screen);
/* The UI's clock for presses (SDL ticks, plus what scripts added), ms. */
uint64_t ui_now_ms(const struct ui *ui);

/* Asks for a redraw. */
void ui_dirty(struct ui *ui);
/* Asks for UI_EVENT_TICK to the current screen in ms milliseconds. */
void ui_tick_in(struct ui *ui, uint32_t ms);

/* Switches the language (gettext, direction, text cache). */
void ui_set_language(struct ui *ui, enum language lang);

/* Ends the customer's session: stops a scan, wipes the session (zeroed),
 * German, welcome. why goes to the log ("finish", "inactivity"). */
void ui_end_session(struct ui *ui, const char *why);

/* Starts a scan (the configured source) of at most max_pages pages (0: none,
 * nothing starts) unless one runs: the job id, or 0 when the scanner is not
 * ready. Pages go into the session (or replace rescan_index); the inactivity
 * timer is held until the job ends, its deadline renewed by every page. */
uint32_t ui_scan_start(struct ui *ui, uint32_t max_pages);

/* The texture of a page's thumbnail (owned by the cache), or NULL. turns:
 * session_page_rotation() of the page (its thumbnail is turned already). */
SDL_Texture *ui_thumb(struct ui *ui, const struct scan_page *page, int turns);
/* Zeroes and destroys every thumbnail texture. */
void ui_thumbs_clear(struct ui *ui);
/* Draws a page's thumbnail fitted into r, with a frame; registers id. */
const struct ui_widget *ui_page_tile(struct ui *ui, const char *id, SDL_Rect r,
                                     const struct scan_page *page, int turns, bool selected);

/* Wakes the loop from any thread. */
void ui_post_wakeup(struct ui *ui);

/* Millimetres to pixels. */
int ui_mm(const struct ui *ui, double mm);
/* A rectangle in the left-to-right millimetre frame, to pixels (mirrored in RTL). */
SDL_Rect ui_px(const struct ui *ui, double x, double y, double w, double h);

/* Drawing. Each registering helper adds a widget with a stable id. */
void ui_clear(struct ui *ui);
void ui_fill(struct ui *ui, SDL_Rect r, SDL_Color c);
void ui_frame(struct ui *ui, SDL_Rect r, SDL_Color c, int width);
/* Draws text in r; returns the height used (pixels). Wraps at spaces. r is
 * the space the text may take: text that needs more spills over (and fails
 * the layout check), it is never shrunk. */
int ui_text(struct ui *ui, const char *utf8, enum text_role role, SDL_Rect r, enum ui_align align,
            SDL_Color color);
/* Same, for text a customer typed: never cached, never logged. */
int ui_text_private(struct ui *ui, const char *utf8, enum text_role role, SDL_Rect r,
                    enum ui_align align, SDL_Color color);
/* Text centred in r both ways. */
int ui_text_center(struct ui *ui, const char *utf8, enum text_role role, SDL_Rect r,
                   SDL_Color color);
/* A label centred in r: bold; regular when too wide; then wrapped at spaces;
 * at the UI_MIN_CAP_MM floor when a word is still too wide or the lines too
 * many for r (never smaller). */
void ui_text_fit(struct ui *ui, const char *label, SDL_Rect r, SDL_Color fg);
/* What ui_text would take: the height (mm) of utf8 wrapped to width_mm, and
 * the width (mm) of one unwrapped line. For laying out before drawing. */
double ui_text_height_mm(struct ui *ui, const char *utf8, enum text_role role, double width_mm);
double ui_text_width_mm(struct ui *ui, const char *utf8, enum text_role role);
/* The widest line of utf8 wrapped to width_mm (more than width_mm when a
 * word alone is wider). */
double ui_text_widest_mm(struct ui *ui, const char *utf8, enum text_role role, double width_mm);
/* The height (mm) of one line of role. */
double ui_line_mm(struct ui *ui, enum text_role role);
/* The height (mm) a button needs to hold label in one line, or wrapped when
 * width_mm is too narrow (ui_text_fit), with room above and below; at least
 * min_mm. */
double ui_button_height_mm(struct ui *ui, const char *label, double width_mm, double min_mm);
/* Pixels to millimetres. */
double ui_to_mm(const struct ui *ui, int px);
const struct ui_widget *ui_button(struct ui *ui, const char *id, SDL_Rect r, const char *label,
                                  enum ui_style style, bool enabled);
/* A keyboard key (UI_WIDGET_KEY): its label centred by its ink, shrunk to the
 * UI_MIN_CAP_MM floor when the look's size does not fit the key.
 * UI_STYLE_SELECTED shows a key that is on (shift). */
const struct ui_widget *ui_key(struct ui *ui, const char *id, SDL_Rect r, const char *label,
                               enum ui_style style);
/* A text field: its label above (wrapped to r.w), the box with the value
 * (private: one line, its end shown when it is too long) below; r.h is
 * ignored. invalid marks the box (a red frame and "!" on the end side); the
 * message itself is the screen's to show. Returns the box's widget. */
const struct ui_widget *ui_field(struct ui *ui, const char *id, SDL_Rect r, const char *label,
                                 const char *value, bool focused, bool invalid);
/* The height (mm) ui_field takes for label at width_mm. */
double ui_field_height_mm(struct ui *ui, const char *label, double width_mm);
const struct ui_widget *ui_widget_add(struct ui *ui, const char *id, enum ui_widget_kind kind,
                                      SDL_Rect r, bool enabled);
const struct ui_widget *ui_widget_find(const struct ui *ui, const char *id);
/* A label widget for scripts and tests: id, where it is, and a hash of the text
 * it shows (never the text itself). Not touchable. */
const struct ui_widget *ui_label(struct ui *ui, const char *id, SDL_Rect r, const char *text);
/* FNV-1a 64 of a string (never 0); what expect-text compares. */
uint64_t ui_text_hash(const char *text);

enum ui_icon {
	UI_ICON_BACKSPACE,
	UI_ICON_SHIFT,
	UI_ICON_ALERT, /* "!" in a disc: something here needs the customer */
	UI_ICON_PREV,  /* a triangle pointing to the start side */
	UI_ICON_NEXT,  /* a triangle pointing to the end side */
};
/* Draws a small pictogram centred in r (mirrored where direction matters). */
void ui_icon(struct ui *ui, enum ui_icon icon, SDL_Rect r, SDL_Color c);

/* The chrome most screens share: the language row on top, the title (at the
 * bold text size when it would take more than two lines at the title size).
 * Returns the y (mm) where the content starts. */
double ui_chrome(struct ui *ui, const char *title);
/* That y without drawing (for a screen that leaves the title out when its
 * content would not fit under it). */
double ui_chrome_height_mm(struct ui *ui, const char *title);
/* The bottom row: back (when back_id) on the start side, next on the end side.
 * Returns the y (mm) where the bottom row starts. */
double ui_footer(struct ui *ui, const char *back_id, const char *back_label, const char *next_id,
                 const char *next_label, bool next_enabled);
/* Height of the footer row, mm. */
double ui_footer_mm(const struct ui *ui);

/* The label of a category key in the session's language: the site's from
 * [category.KEY] when given, else the catalog's (screens/category.c). */
const char *ui_category_label(const struct ui *ui, const char *key);

/* Screens */
extern const struct ui_screen_impl ui_screen_welcome;
extern const struct ui_screen_impl ui_screen_case;
extern const struct ui_screen_impl ui_screen_category;
extern const struct ui_screen_impl ui_screen_scan;
extern const struct ui_screen_impl ui_screen_review;
extern const struct ui_screen_impl ui_screen_confirm;
extern const struct ui_screen_impl ui_screen_receipt;
extern const struct ui_screen_impl ui_screen_timeout_warning;
extern const struct ui_screen_impl ui_screen_maint_pin;
extern const struct ui_screen_impl ui_screen_maint_status;
extern const struct ui_screen_impl ui_screen_maint_scanner;
extern const struct ui_screen_impl ui_screen_maint_queue;
extern const struct ui_screen_impl ui_screen_maint_network;
extern const struct ui_screen_impl ui_screen_maint_log;
extern const struct ui_screen_impl ui_screen_maint_power;

#endif
