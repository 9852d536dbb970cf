/*
 * scan_job.h - a scan job: drive a scanner on worker threads, turn each page into
 * a JPEG, a thumbnail and its facts, and report through a thread-safe channel.
 *
 * Threads: scan_job_start() configures the scanner on the caller's thread, then
 * starts a reader (the only thread that touches the scanner until the job ends),
 * an encoder and a finisher; pages are encoded while the next ones are read.
 * Events reach the owner through scan_job_next_event(), which any single thread
 * may call; scan_job_cancel() may be called from any thread. scan_job_destroy()
 * joins the threads: call it after FINISHED was taken, or off a UI thread.
 *
 * Pixels are sensitive: every buffer that held page content is zeroed before it
 * is freed. A page that failed half-way is discarded, never delivered.
 */
#ifndef SCANKIOSK_SCAN_JOB_H
#define SCANKIOSK_SCAN_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scanner.h"

/* What to do with colour. */
enum scan_color {
	SCAN_COLOR_AUTO, /* scan in colour; a page whose content is grey is stored grey */
	SCAN_COLOR_KEEP, /* scan and store colour, whatever the content */
	SCAN_COLOR_GRAY, /* scan and store grey */
	SCAN_COLOR_LAST
};

struct scan_options {
	enum scanner_source source;
	enum scan_color color;
	uint32_t dpi;
	double width_mm; /* scan area; clamped to the device */
	double height_mm;
	int quality;        /* JPEG quality, 1..100 */
	unsigned max_pages; /* 0: until the feeder is empty (one page on the flatbed) */
	uint32_t thumb_min; /* thumbnail: smallest libjpeg scaling whose longer side >= this */
};

/* Sets defaults: flatbed, auto colour, 300 dpi, A4, quality 75, thumbnail >= 256 px. */
void scan_options_init(struct scan_options *opts);

/* Facts about one stored page. */
struct scan_page_facts {
	uint32_t width; /* pixels */
	uint32_t height;
	uint32_t dpi;
	size_t bytes;       /* JPEG size */
	uint8_t sha256[32]; /* of the JPEG bytes */
	double blank_score; /* share of the page's inner area covered by ink, 0..1 */
	bool blank;         /* looks blank (blank_score below the threshold) */
	double color_score; /* share of clearly coloured pixels, 0..1 */
	bool scanned_color; /* the device delivered colour */
	bool stored_color;  /* the JPEG is colour; false when stored grey */
};

/* A finished page. Owned by whoever received it from the job. */
struct scan_page {
	unsigned number; /* 1-based within the job */
	struct scan_page_facts facts;
	uint8_t *jpeg;  /* facts.bytes bytes */
	uint8_t *thumb; /* thumb_width x thumb_height RGB pixels, rows packed */
	uint32_t thumb_width;
	uint32_t thumb_height;
	uint64_t last_line_ns; /* CLOCK_MONOTONIC: the page's last line was read */
	uint64_t ready_ns;     /* CLOCK_MONOTONIC: JPEG, thumbnail and facts done */
};

/* Zeroes and frees a page. Accepts NULL. */
void scan_page_destroy(struct scan_page *page);

enum scan_event_kind {
	SCAN_EVENT_PAGE_STARTED, /* the device started a page: page, lines_total */
	SCAN_EVENT_PROGRESS,     /* lines of the current page read so far */
	SCAN_EVENT_PAGE_READY,   /* a page is finished: result */
	SCAN_EVENT_FINISHED,     /* the job is over: status, pages_done; the last event */
	SCAN_EVENT_LAST
};

struct scan_event {
	enum scan_event_kind kind;
	unsigned page;              /* 1-based page the event is about */
	uint32_t lines_done;        /* PROGRESS */
	int32_t lines_total;        /* PAGE_STARTED, PROGRESS: -1 when unknown */
	struct scan_page *result;   /* PAGE_READY: ownership passes to the receiver */
	enum scanner_status status; /* FINISHED: SCANNER_OK, or why the job stopped */
	unsigned pages_done;        /* FINISHED: pages delivered */
};

struct scan_job;

/* Called from a worker thread each time an event is queued (for example to wake a
 * UI loop). It must not call back into the job. */
typedef void (*scan_job_notify_fn)(void *userdata);

/* Starts a job on an opened scanner, which the job uses exclusively until
 * scan_job_destroy(). Returns NULL and sets *status when the settings are refused
 * or threads cannot start; no page has been started then (settings may have
 * been applied). */
struct scan_job *scan_job_start(struct scanner *scanner, const struct scan_options *opts,
                                scan_job_notify_fn notify, void *userdata,
                                enum scanner_status *status);

/* Takes the next event. Waits up to timeout_ms (-1: forever, 0: no wait).
 * Returns false on timeout or after FINISHED was taken. */
bool scan_job_next_event(struct scan_job *job, struct scan_event *ev, int timeout_ms);

/* Asks the job to stop as soon as possible: the page being read is discarded,
 * pages already finished are still delivered, then FINISHED(SCANNER_CANCELLED). */
void scan_job_cancel(struct scan_job *job);

/* Cancels if running, waits for the threads, frees undelivered pages and the job.
 * The scanner is idle and usable again afterwards. Accepts NULL. */
void scan_job_destroy(struct scan_job *job);

#endif
