/*
 * maint.h - what the technicians' screens share: the menu's chrome (a tab per
 * screen on top, the language and "back to the kiosk" at the bottom), rows of
 * facts, and the formatting of ages, sizes and times.
 *
 * The screens (screens/maint_*.c) draw what the maintenance model
 * (kiosk/app/maintenance.h) holds and call it on taps; they never open a
 * socket, a file or a device themselves, and nothing they show comes from a
 * submission's contents: ids, counts, sizes, ages, classes, log lines.
 * Strings are M_() (the "scankiosk-maintenance" catalog, German and English).
 */
#ifndef SCANKIOSK_UI_MAINT_H
#define SCANKIOSK_UI_MAINT_H

#include <stddef.h>
#include <stdint.h>

#include "scan_service.h"
#include "ui.h"

struct maintenance;
#include "upload_control.h"

/* The status and queue screens ask for a new snapshot this often. */
#define MAINT_STATUS_REFRESH_MS 2000

/* Room for a formatted age, size or time. */
#define MAINT_FMT_MAX 64

/*
 * The menu's chrome: the tabs (`tab-status`, `tab-scanner`, `tab-queue`,
 * `tab-network`, `tab-log`, `tab-power`; the shown one selected) and the
 * title. Returns the y (mm) where the content starts.
 */
double maint_chrome(struct ui *ui, const char *title);

/*
 * The bottom row: `lang-de` and `lang-en` on the start side, `maint-close`
 * ("back to the kiosk") on the end side; with close_label NULL that button
 * is left out. Returns the y (mm) where the row starts.
 */
double maint_footer(struct ui *ui, const char *close_label);

/* A tap every menu screen handles the same way (tabs, `maint-close`).
 * Returns true when it was one of those. */
bool maint_tap(struct ui *ui, const char *id);

/*
 * One fact: label (muted, start side, label_w mm wide) and value beside it,
 * wrapped; the value is registered as label widget id (expect-text). Returns
 * the y (mm) under the row.
 */
double maint_row(struct ui *ui, double y, double label_w, const char *id, const char *label,
                 const char *value, SDL_Color value_color);

/* A text across the content width at y in role and colour, registered as
 * label widget id when id is not NULL. Returns the y (mm) under it. */
double maint_line(struct ui *ui, double y, const char *id, const char *text, enum text_role role,
                  SDL_Color color);

/* "45 s", "12 min", "3 h 5 min", "2 d 4 h" (the units translated). */
void maint_format_age(char *buf, size_t size, int64_t seconds);
/* "812 B", "4.2 KB", "1.2 MB", "3.4 GB" (powers of 1000, one decimal). */
void maint_format_bytes(char *buf, size_t size, uint64_t bytes);
/* A wall-clock time in the kiosk's local time, "07.12.2026 07:03:12"; "–"
 * for 0. */
void maint_format_time(char *buf, size_t size, int64_t unix_seconds);

/* The technicians' words for a scan problem ("paper jam"); "" for none. */
const char *maint_problem_text(enum scan_problem problem);

/* Why the upload service could not be asked, for the technician. */
const char *maint_control_error_text(enum upload_control_error error);

/* A device name as shown: whole up to MAINT_NAME_CHARS bytes, else its
 * start and end around "…" (a simulator's spec is one long word). */
#define MAINT_NAME_CHARS 20
void maint_short_name(char *buf, size_t size, const char *name);

/* The scanner in a line: state, model, device, last problem; *bad when none
 * is there. */
void maint_scanner_text(struct maintenance *m, char *buf, size_t size, bool *bad);
/* The uploader's activity word ("idle", "sending", ...) for the technician. */
const char *maint_activity_text(const char *activity);
/* A number with one decimal and the language's separator ("6,2"). */
void maint_format_decimal(char *buf, size_t size, double value);

/* The status and queue screens: a new snapshot now (unless one is being
 * read) and again every MAINT_STATUS_REFRESH_MS while shown (their enter and
 * their UI_EVENT_TICK). Keeps a draining queue or a scanner plugged in
 * current. */
void maint_keep_fresh(struct ui *ui);

/* The content's side margin and width (mm). */
double maint_margin(const struct ui *ui);
double maint_width(const struct ui *ui);

#endif
