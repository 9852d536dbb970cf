/*
 * kiosk_metrics.h - the kiosk's own Prometheus textfile: is a scanner there,
 * scanner errors by kind, scans and submissions, for the fleet's monitoring.
 *
 * The uploader never touches the scanner (it never links SANE), so the UI
 * process writes its own file next to the uploader's ([metrics]
 * kiosk_textfile); node_exporter's textfile collector reads every *.prom of
 * its directory. The metrics and their meaning are listed in the top
 * README.md, "Fleet monitoring".
 *
 * The UI thread only counts: kiosk_metrics_scan_event() and
 * kiosk_metrics_submission_committed() take a mutex that is never held
 * across I/O, change a few numbers and return. A thread of its own writes the
 * file (kiosk/core/metrics.h: temporary file, then rename, mode 0644): at
 * start, within about a second of a change (changes in between are
 * coalesced into one write), every KIOSK_METRICS_REFRESH_MS even when
 * nothing changed (scankiosk_kiosk_last_update_timestamp_seconds moves, so a
 * kiosk that died shows as stale), and once more at destroy. A write that
 * fails is logged once (and once when writing works again) and tried again
 * at the next change or refresh; the kiosk goes on either way.
 *
 * Nothing but counts, states and times is kept or written: no page, no id,
 * no name. The page pointer of an event is never touched.
 *
 * Threads: create, scan_event, submission_committed and destroy belong to
 * one thread (the UI thread).
 */
#ifndef SCANKIOSK_KIOSK_METRICS_H
#define SCANKIOSK_KIOSK_METRICS_H

#include <stdbool.h>

#include "scan_service.h"

#define KIOSK_METRICS_ERROR_MAX       256
#define KIOSK_METRICS_REFRESH_MS      60000u /* rewritten at least this often */
#define KIOSK_METRICS_MIN_INTERVAL_MS 1000u  /* and at most this often for changes */

struct kiosk_metrics;

/*
 * Starts the writer thread, which writes path at once (every counter at 0,
 * scankiosk_scanner_up 0 until the scan service reports READY). version is
 * the program's version (scankiosk_kiosk_info); copied. No I/O on the
 * caller's thread.
 *
 * path NULL: returns NULL and err "" (no metrics configured); every call
 * below accepts NULL. Otherwise NULL with a reason in err when path is empty
 * or too long, memory is short or the thread cannot start. A path that does
 * not end in ".prom" is accepted with a warning (node_exporter would not
 * read it).
 */
struct kiosk_metrics *kiosk_metrics_create(const char *path, const char *version,
                                           char err[KIOSK_METRICS_ERROR_MAX]);

/*
 * Every event of the scan service (scan_service_poll()), as it arrives and
 * before anything else takes it; never waits on the disk. Counts:
 *  - FINISHED with a problem: scankiosk_scanner_errors_total{kind=<problem>}
 *    (scan_problem_name(): "jammed", "cover-open", "device-gone", ...), a
 *    cancelled job included when it ended with one;
 *  - STATE SEARCHING with DEVICE_GONE that no FINISHED already counted: the
 *    scanner unplugged while idle, kind "device-gone";
 *  - FINISHED: scankiosk_scan_jobs_total, pages_done into
 *    scankiosk_scan_pages_total;
 *  - STATE: scankiosk_scanner_up (READY: 1, SEARCHING: 0).
 * ev->page_result is never read or freed: the event stays the caller's.
 * (The service replaces a STATE event not yet polled by a newer one: a
 * scanner unplugged and back before the UI polls again is not seen. The UI
 * polls at every notification, so that is a matter of milliseconds.)
 */
void kiosk_metrics_scan_event(struct kiosk_metrics *km, const struct scan_service_event *ev);

/* A submission was committed into the spool (session_commit_poll() or
 * session_commit() returned SESSION_COMMIT_OK): scankiosk_kiosk_submissions_total. */
void kiosk_metrics_submission_committed(struct kiosk_metrics *km);

/* Writes the file a last time, stops the thread (joining it: it may be in a
 * write) and frees. Program end. Accepts NULL. */
void kiosk_metrics_destroy(struct kiosk_metrics *km);

/* Test hooks, called on the writer thread; NULL in the product. */
struct kiosk_metrics_hooks {
	/* Before each write, before the numbers are taken. May block (a test
	 * holds the writer there to see that the UI's calls never wait). */
	void (*before_write)(void *userdata);
	/* After each write: ok false when it failed. */
	void (*after_write)(void *userdata, bool ok);
	void *userdata;
	unsigned refresh_ms;      /* 0: KIOSK_METRICS_REFRESH_MS */
	unsigned min_interval_ms; /* 0: KIOSK_METRICS_MIN_INTERVAL_MS */
};

/* kiosk_metrics_create() with hooks (borrowed; they outlive km). */
struct kiosk_metrics *kiosk_metrics_create_with(const char *path, const char *version,
                                                const struct kiosk_metrics_hooks *hooks,
                                                char err[KIOSK_METRICS_ERROR_MAX]);

#endif
