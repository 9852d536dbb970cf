/*
 * fuzz_scanner_settings.c - the scanner settings file's parser
 * (config_load_scanner_settings_string()) with any text: it accepts or gives
 * one "name:line: reason", never crashes, never leaks; what it accepts is in
 * range and touches nothing but [scanner] device, source, dpi and mode; what
 * it refuses changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct config cfg;
	char err[CONFIG_ERROR_MAX];
	config_init(&cfg);
	if (!config_load_scanner_settings_string(&cfg, "fuzz.conf", text, err)) {
		if (strncmp(err, "fuzz.conf:", 10) != 0)
			abort();
		/* All or nothing: the defaults stay. */
		if (cfg.scanner.device || cfg.scanner.dpi != 300 ||
		    cfg.scanner.source != CONFIG_SCAN_SOURCE_FLATBED ||
		    cfg.scanner.mode != CONFIG_SCAN_MODE_AUTO)
			abort();
	} else {
		if (cfg.scanner.dpi < 75 || cfg.scanner.dpi > 1200 ||
		    (unsigned)cfg.scanner.source >= CONFIG_SCAN_SOURCE_LAST ||
		    (unsigned)cfg.scanner.mode >= CONFIG_SCAN_MODE_LAST)
			abort();
	}
	/* Nothing else can be set from such a file. */
	if (!cfg.scanner.settings ||
	    strcmp(cfg.scanner.settings, "/var/lib/scankiosk/scanner.conf") ||
	    strcmp(cfg.spool.dir, "/var/spool/scankiosk") || cfg.maintenance.pin_hash)
		abort();
	config_finish(&cfg);
	free(text);
	return 0;
}
