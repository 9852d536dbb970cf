/*
 * scankiosk - the customer's fullscreen touch UI.
 *
 *   scankiosk [--config FILE] [--windowed] [--script FILE]
 *
 * Acquires in order (process hardening, configuration, UI with its model) and
 * tears down in reverse through one end: label.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "config.h"
#include "log.h"
#include "scanner_settings.h"
#include "secmem.h"
#include "ui.h"

static void usage(FILE *out)
{
	fputs("usage: scankiosk [--config FILE] [--windowed] [--script FILE]\n"
	      "  --config FILE   configuration (default " CONFIG_DEFAULT_PATH ")\n"
	      "  --windowed      a window instead of fullscreen (development)\n"
	      "  --script FILE   scripted input for tests (kiosk/ui/README.md); exits\n"
	      "                  0 when every step passed, 1 naming the failed line\n",
	      out);
}

/* Pages and typed data live in this process: no core file, no ptrace by
 * other users' processes, nothing for a crash handler to copy. */
static int harden(void)
{
	struct rlimit none = {0, 0};
	if (setrlimit(RLIMIT_CORE, &none) != 0) {
		log_error_errno("setrlimit(RLIMIT_CORE)");
		return -1;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		log_error_errno("prctl(PR_SET_DUMPABLE)");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* Before any thread: freed page buffers go back to the kernel. */
	secmem_harden_heap();
	static const struct option opts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"windowed", no_argument, NULL, 'w'},
	        {"script", required_argument, NULL, 's'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *config_path = CONFIG_DEFAULT_PATH;
	struct ui_options uopts = {0};
	int c;
	while ((c = getopt_long(argc, argv, "c:ws:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'w':
			uopts.windowed = true;
			break;
		case 's':
			uopts.script_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	int rc = 1;
	struct config cfg;
	struct ui ui;
	bool ui_started = false;
	char err[CONFIG_ERROR_MAX];

	if (harden() != 0)
		return 1;
	config_init(&cfg);
	if (!config_load(&cfg, config_path, err)) {
		fprintf(stderr, "scankiosk: %s\n", err);
		rc = 2;
		goto end;
	}
	log_set_level(cfg.log_level);
	/* The technicians' scanner choice ([scanner] settings) over the file's;
	 * before anything borrows cfg's strings. Never fatal (logged). */
	(void)scanner_settings_apply(&cfg, NULL);
	ui_started = true;
	if (ui_init(&ui, &cfg, &uopts) != 0)
		goto end;
	rc = ui_run(&ui);
end:
	if (ui_started)
		ui_finish(&ui);
	config_finish(&cfg);
	return rc;
}
