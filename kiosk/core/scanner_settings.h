/*
 * scanner_settings.h - the technicians' scanner choice, kept across restarts.
 *
 * The maintenance menu lets a technician choose the scanner and its default
 * source, resolution and colour mode. The choice is written to the file
 * [scanner] settings names (default /var/lib/scankiosk/scanner.conf; unset:
 * not kept), a small INI file of its own:
 *
 *     # scankiosk scanner settings, written by the maintenance menu.
 *     [scanner]
 *     device = epson2:libusb:001:004
 *     source = flatbed
 *     dpi = 300
 *     mode = auto
 *
 * At start the kiosk reads it over the [scanner] values of the main file
 * (scanner_settings_apply()), so a choice made in the menu wins over the
 * shipped configuration until a technician changes it again or removes the
 * file. The main configuration stays read-only for the kiosk: it is root's.
 *
 * The file is parsed by config_load_scanner_settings() (libinih, the same
 * checks as the main file, only those four keys); a missing file is the
 * normal case before the first save; an unreadable or malformed one is logged
 * with "file:line: reason" and ignored, never fatal: the kiosk starts with
 * the main file's values.
 *
 * Saving replaces the file atomically (atomic_file.h: temp file in the same
 * directory, fsync, rename, fsync of the directory), mode 0600: a power cut
 * leaves the old choice or the new one. The directory must exist (the
 * packaging makes /var/lib/scankiosk, which the PIN guard's state uses too).
 *
 * Threads: no shared state. Saving blocks (fsync): a worker's call.
 */
#ifndef SCANKIOSK_SCANNER_SETTINGS_H
#define SCANKIOSK_SCANNER_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* The settings file's mode: the kiosk's own state, nobody else's. */
#define SCANNER_SETTINGS_FILE_MODE 0600

enum scanner_settings_outcome {
	SCANNER_SETTINGS_NOT_KEPT, /* [scanner] settings is unset: nothing to read */
	SCANNER_SETTINGS_MISSING,  /* no file yet (never saved): the main file's values */
	SCANNER_SETTINGS_LOADED,   /* the file's values are in cfg->scanner */
	SCANNER_SETTINGS_IGNORED,  /* unreadable or malformed: logged, cfg unchanged */
	SCANNER_SETTINGS_OUTCOME_LAST
};

/* "not-kept", "missing", "loaded", "ignored". */
const char *scanner_settings_outcome_name(enum scanner_settings_outcome outcome);

/*
 * The one call at start: reads cfg->scanner.settings over cfg->scanner
 * (device, source, dpi, mode) and logs what happened. Call it once after
 * config_load() and before anything borrows strings from cfg (the scan
 * service's and the maintenance menu's configs): a loaded file replaces
 * cfg's owned strings. err (may be NULL) receives "file:line: reason" when
 * IGNORED, "" otherwise. Never fatal: whatever it returns, cfg is valid.
 */
enum scanner_settings_outcome scanner_settings_apply(struct config *cfg,
                                                     char err[CONFIG_ERROR_MAX]);

/* What the file holds. */
struct scanner_settings_values {
	const char *device; /* NULL or "": the first device found; else as [scanner] device */
	enum config_scan_source source;
	uint32_t dpi; /* 75..1200 */
	enum config_scan_mode mode;
};

/*
 * Writes values to path, replacing the
 * file atomically, mode SCANNER_SETTINGS_FILE_MODE. Before writing, the text
 * is read back with config_load_scanner_settings_string(): a value the file
 * cannot hold as it is (a device name with control characters, blanks at
 * its ends or " ;", or too long for one line) is refused and nothing is
 * written. Returns true, or false with a reason (English, for the
 * technician and the log) in err. Blocks: call it on a worker.
 */
__attribute__((warn_unused_result)) bool
scanner_settings_save(const char *path, const struct scanner_settings_values *values,
                      char err[CONFIG_ERROR_MAX]);

#endif
