/*
 * main.c - scankiosk-uploader: command line, configuration, process hardening.
 * The loop itself is uploader.c; README.md documents both.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "config.h"
#include "log.h"
#include "secmem.h"
#include "uploader.h"

#ifndef SCANKIOSK_VERSION
#define SCANKIOSK_VERSION "0"
#endif

static void usage(FILE *out)
{
	fprintf(out, "usage: scankiosk-uploader [--config FILE] [--once] [--verbose]\n"
	             "\n"
	             "Sends the submissions of the spool to the intake endpoint.\n"
	             "  -c, --config FILE  configuration (default " CONFIG_DEFAULT_PATH ")\n"
	             "  -1, --once         send what is due now, then exit\n"
	             "  -v, --verbose      log at debug level\n"
	             "  -h, --help         this text\n"
	             "  -V, --version      the version\n"
	             "\n"
	             "Exit codes: 0 nothing left (or stopped by a signal), 1 usage or\n"
	             "configuration error, 2 some left for a retry (--once), 3 some moved\n"
	             "to failed/ or quarantine/ (--once), 4 the spool failed while running.\n");
}

/* No core file and no ptrace by the same user: the process holds the secret
 * key and decrypted pages. */
static void harden(void)
{
	struct rlimit none = {0, 0};
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		log_warning_errno("setrlimit(RLIMIT_CORE)");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_warning_errno("prctl(PR_SET_DUMPABLE)");
}

int main(int argc, char **argv)
{
	secmem_harden_heap();
	static const struct option options[] = {
	        {"config", required_argument, NULL, 'c'}, {"once", no_argument, NULL, '1'},
	        {"verbose", no_argument, NULL, 'v'},      {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	const char *config_path = CONFIG_DEFAULT_PATH;
	bool once = false, verbose = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "c:1vhV", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case '1':
			once = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("scankiosk-uploader %s\n", SCANKIOSK_VERSION);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}

	/* Blocked from the start, so a SIGTERM during start-up is not lost or
	 * fatal: the loop reads it from its signalfd and stops cleanly. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	harden();

	int rc = 1;
	bool curl_ready = false;
	struct config cfg;
	char err[CONFIG_ERROR_MAX];
	config_init(&cfg);
	if (!config_load(&cfg, config_path, err)) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	/* The secret keys from systemd's LoadCredential (credential:NAME). */
	if (!config_resolve_credentials(&cfg, err)) {
		fprintf(stderr, "scankiosk-uploader: %s\n", err);
		goto out;
	}
	log_set_level(verbose ? LOG_LEVEL_DEBUG : cfg.log_level);
	if (sodium_init() < 0) {
		fprintf(stderr, "scankiosk-uploader: libsodium cannot initialise\n");
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "scankiosk-uploader: libcurl cannot initialise\n");
		goto out;
	}
	curl_ready = true;
	rc = uploader_run(&cfg, once);
out:
	if (curl_ready)
		curl_global_cleanup();
	config_finish(&cfg);
	return rc;
}
