/*
 * scanner_settings.c - the scanner settings file: read over the main
 * configuration at start, written by the maintenance menu (see
 * scanner_settings.h).
 */
#include "scanner_settings.h"

#include <stdio.h>
#include <string.h>

#include "atomic_file.h"
#include "log.h"

/* The settings file is four short lines and a comment. */
#define SETTINGS_TEXT_MAX 1024

static const char *const outcome_names[SCANNER_SETTINGS_OUTCOME_LAST] = {
        [SCANNER_SETTINGS_NOT_KEPT] = "not-kept",
        [SCANNER_SETTINGS_MISSING] = "missing",
        [SCANNER_SETTINGS_LOADED] = "loaded",
        [SCANNER_SETTINGS_IGNORED] = "ignored",
};

const char *scanner_settings_outcome_name(enum scanner_settings_outcome outcome)
{
	return (unsigned)outcome < SCANNER_SETTINGS_OUTCOME_LAST ? outcome_names[outcome]
	                                                         : "unknown";
}

enum scanner_settings_outcome scanner_settings_apply(struct config *cfg, char err[CONFIG_ERROR_MAX])
{
	char why[CONFIG_ERROR_MAX] = "";
	enum scanner_settings_outcome outcome = SCANNER_SETTINGS_NOT_KEPT;
	const char *path = cfg->scanner.settings;
	bool found = false;

	if (!path) {
		log_info("scanner settings: [scanner] settings is not set; the technicians' "
		         "choice is not kept");
		goto out;
	}
	if (!config_load_scanner_settings(cfg, path, &found, why)) {
		outcome = SCANNER_SETTINGS_IGNORED;
		log_warning("scanner settings ignored: %s", why);
		goto out;
	}
	if (!found) {
		outcome = SCANNER_SETTINGS_MISSING;
		log_info("scanner settings: %s does not exist (nothing saved yet)", path);
		goto out;
	}
	outcome = SCANNER_SETTINGS_LOADED;
	/* cfg's strings were replaced: path is stale, read them again. */
	const struct config_scanner *sc = &cfg->scanner;
	log_info("scanner settings from %s: device %s, source %s, %u dpi, mode %s",
	         sc->settings ? sc->settings : "", sc->device ? sc->device : "(first found)",
	         config_scan_source_name(sc->source), sc->dpi, config_scan_mode_name(sc->mode));
out:
	if (err)
		snprintf(err, CONFIG_ERROR_MAX, "%s", why);
	return outcome;
}

/* The file's text for values; false when a value is out of range. */
static bool format(const struct scanner_settings_values *values, char *buf, size_t size,
                   char err[CONFIG_ERROR_MAX])
{
	const char *source = config_scan_source_name(values->source);
	const char *mode = config_scan_mode_name(values->mode);
	if (!source || !mode || values->dpi < 75 || values->dpi > 1200) {
		snprintf(err, CONFIG_ERROR_MAX,
		         "not saved: source, dpi (75 to 1200) or mode out of range");
		return false;
	}
	int n = snprintf(buf, size,
	                 "# scankiosk scanner settings, written by the maintenance menu.\n"
	                 "# Read over [scanner] of the main configuration at start.\n"
	                 "[scanner]\n"
	                 "device = %s\n"
	                 "source = %s\n"
	                 "dpi = %u\n"
	                 "mode = %s\n",
	                 values->device ? values->device : "", source, values->dpi, mode);
	if (n < 0 || (size_t)n >= size) {
		snprintf(err, CONFIG_ERROR_MAX, "not saved: the device name is too long");
		return false;
	}
	return true;
}

static bool same_device(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Reads text back as the kiosk will at start; false unless it gives values. */
static bool reads_back(const char *path, const char *text,
                       const struct scanner_settings_values *values, char err[CONFIG_ERROR_MAX])
{
	struct config check;
	char why[CONFIG_ERROR_MAX];
	bool ok = false;
	config_init(&check);
	if (!config_load_scanner_settings_string(&check, path, text, why)) {
		snprintf(err, CONFIG_ERROR_MAX, "not saved: the file would not read back (%.400s)",
		         why);
		goto out;
	}
	const struct config_scanner *got = &check.scanner;
	if (!same_device(got->device, values->device) || got->source != values->source ||
	    got->dpi != values->dpi || got->mode != values->mode) {
		snprintf(err, CONFIG_ERROR_MAX,
		         "not saved: the device name cannot be kept as it is in an INI file "
		         "(blanks at its ends, or ' ;')");
		goto out;
	}
	ok = true;
out:
	config_finish(&check);
	return ok;
}

bool scanner_settings_save(const char *path, const struct scanner_settings_values *values,
                           char err[CONFIG_ERROR_MAX])
{
	char text[SETTINGS_TEXT_MAX];
	err[0] = '\0';
	if (!path || !*path) {
		snprintf(err, CONFIG_ERROR_MAX, "not saved: no settings file configured");
		return false;
	}
	if (!format(values, text, sizeof(text), err) || !reads_back(path, text, values, err))
		return false;
	char why[ATOMIC_FILE_ERROR_MAX];
	if (!atomic_file_replace(path, text, strlen(text), SCANNER_SETTINGS_FILE_MODE, why)) {
		snprintf(err, CONFIG_ERROR_MAX, "%s", why);
		return false;
	}
	return true;
}
