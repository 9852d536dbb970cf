/*
 * uploader.h - the daemon loop of scankiosk-uploader: watch the spool, send
 * what is due, one submission at a time in id order, sleep until the next
 * due time or a new submission.
 */
#ifndef SCANKIOSK_UPLOAD_UPLOADER_H
#define SCANKIOSK_UPLOAD_UPLOADER_H

#include <stdbool.h>

#include "config.h"

/* Exit codes of scankiosk-uploader (README.md, "Exit codes"). */
enum uploader_exit {
	UPLOADER_EXIT_OK = 0,      /* all sent, nothing left; or stopped by SIGTERM/SIGINT */
	UPLOADER_EXIT_CONFIG = 1,  /* usage or configuration error (also keys, spool dir) */
	UPLOADER_EXIT_PENDING = 2, /* --once: some submissions are left for a later retry */
	UPLOADER_EXIT_MOVED = 3,   /* --once: some went to failed/ or quarantine/ this run */
	UPLOADER_EXIT_SPOOL = 4,   /* the spool failed while running (disk); restart recovers */
};

/*
 * Runs the uploader with cfg until SIGTERM/SIGINT, or, with once, until what
 * is due has been tried once. Expects curl_global_init() and sodium_init()
 * done, and no other thread running yet (it blocks the signals it handles).
 * Returns an enum uploader_exit value.
 */
int uploader_run(const struct config *cfg, bool once);

#endif
