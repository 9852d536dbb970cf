/*
 * fuzz_sim_spec.c - the simulated scanner's spec parser and set_option() on
 * arbitrary strings, followed by a few small pages scanned with whatever was
 * accepted, so the fault and feeder state machine runs on odd settings too.
 * Slow lines are switched off before scanning: the fuzzer must never sleep.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scanner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_sim_spec: %s\n", what);
		abort();
	}
}

static void log_sink(enum scanner_log_level level, const char *msg, void *userdata)
{
	(void)userdata;
	check((unsigned)level <= SCANNER_LOG_DEBUG, "bad log level");
	check(msg != NULL && strlen(msg) < 512, "bad log message");
	/* Control characters from the input must not reach the log. */
	for (const char *p = msg; *p; p++)
		check((unsigned char)*p >= 0x20 && *p != 0x7f, "control character logged");
}

/* Feeds every key=value item of the spec to set_option() as well. */
static void set_options(struct scanner *s, char *spec)
{
	char *save = NULL;
	for (char *item = strtok_r(spec, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(item, '=');
		const char *value = "1";
		if (eq) {
			*eq = '\0';
			value = eq + 1;
		}
		enum scanner_status st = scanner_set_option(s, item, value);
		check(st == SCANNER_OK || st == SCANNER_INVALID || st == SCANNER_UNSUPPORTED ||
		              st == SCANNER_NO_MEMORY,
		      "unexpected set_option status");
	}
}

static void scan_some(struct scanner *s, enum scanner_source source, enum scanner_mode mode)
{
	struct scanner_settings want = {source, mode, 75, 12.0, 15.0};
	struct scanner_frame frame;
	uint8_t buf[64 * 3 * 8];
	size_t lines;

	if (scanner_configure(s, &want, NULL) != SCANNER_OK)
		return;
	for (int page = 0; page < 4; page++) {
		enum scanner_status st = scanner_start_page(s, &frame);
		if (st != SCANNER_OK) {
			scanner_end_document(s);
			if (st == SCANNER_FEEDER_EMPTY || st == SCANNER_DEVICE_GONE)
				return;
			continue;
		}
		check(frame.width == 35 && frame.height == 44, "unexpected frame size");
		check(frame.stride <= 64 * 3, "frame wider than expected");
		int32_t total = 0;
		while ((st = scanner_read_lines(s, buf, 8, &lines)) == SCANNER_OK) {
			check(lines >= 1 && lines <= 8, "bad line count");
			total += (int32_t)lines;
			check(total <= frame.height, "more lines than the frame");
		}
		check(lines == 0, "lines with a final status");
		if (st == SCANNER_PAGE_DONE)
			check(total == frame.height, "page done early");
		else
			scanner_end_document(s);
		if (st == SCANNER_DEVICE_GONE)
			return;
	}
	scanner_end_document(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';

	struct scanner_driver *drv = scanner_sim_create(spec, log_sink, NULL);
	struct scanner *s = NULL;
	if (!drv)
		goto out;
	if (scanner_driver_open(drv, "sim", &s) != SCANNER_OK)
		goto out;
	set_options(s, spec);
	if (scanner_set_option(s, "line-delay-us", "0") != SCANNER_OK)
		check(0, "cannot switch slow lines off");
	unsigned pick = size ? data[0] + data[size - 1] : 0;
	scan_some(s, (enum scanner_source)(pick % SCANNER_SOURCE_LAST),
	          (enum scanner_mode)(pick / 3 % SCANNER_MODE_LAST));
out:
	scanner_close(s);
	scanner_driver_destroy(drv);
	free(spec);
	return 0;
}
