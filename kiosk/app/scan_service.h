/*
 * scan_service.h - the scanner behind a service thread, so the UI never waits.
 *
 * The service thread owns the scanner driver (SANE or the simulator): it
 * creates the driver, finds and opens the device, runs scan jobs
 * (scan_job_start() configures the device on the calling thread, so it is
 * called here), and closes the device when it is gone. It sleeps in poll() on
 * an eventfd (the UI's commands) and a libudev monitor (USB devices added or
 * removed); without udev (containers, tests) it works on timers alone.
 *
 * Finding the device: listing devices is slow with SANE (seconds), so it is
 * never done in a loop: at start, after a USB add or remove event (500 ms
 * after the last one of a burst), and otherwise with a backoff of retry_ms
 * (2 s), doubling up to retry_max_ms (60 s); an event or a successful open
 * starts the backoff again. The device opened is remembered by vendor, model
 * and serial (where the driver knows one), and after a replug that device is
 * preferred to whatever now has the configured name (a USB bus path changes).
 * When it is there again the service reports READY: no restart is needed.
 *
 * Unplugged while idle: a USB remove event (or, without udev, a check every
 * 10 s where the driver can tell cheaply, see scanner_check()) closes the
 * device and reports SEARCHING with SCAN_PROBLEM_DEVICE_GONE at once.
 *
 * The UI learns what happens in two ways, both non-blocking:
 *  - scan_service_poll() takes the next queued event (pages, job end, state);
 *  - scan_service_get_status() copies a snapshot to draw from.
 * The notify callback runs on the service thread whenever an event was queued
 * or the status changed; the UI pushes an SDL user event from it. It must not
 * block and must not call scan_service functions.
 *
 * The maintenance menu lists the devices (scan_service_list_devices(): the
 * listing runs on the service thread, the answer is a snapshot with a
 * generation counter, scan_service_get_devices()) and changes the device,
 * source, resolution and colour mode at run time
 * (scan_service_set_settings(), scan_service_get_settings()).
 *
 * Threads: create, poll, get_status, scan, cancel, abort, list_devices,
 * get_devices, set_settings, get_settings and destroy are meant for one
 * thread (the UI thread); none of them waits on the scanner, except
 * scan_service_destroy(), which joins the thread (program end).
 */
#ifndef SCANKIOSK_SCAN_SERVICE_H
#define SCANKIOSK_SCAN_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "scan_job.h"
#include "scanner.h"

/* What the service is doing; what the scan screen shows. */
enum scan_service_state {
	SCAN_SERVICE_SEARCHING, /* looking for the scanner (at start, after it was unplugged) */
	SCAN_SERVICE_READY,     /* a scanner is open and idle: scans can start */
	SCAN_SERVICE_SCANNING,  /* a job runs: page, lines_done, lines_total in the status */
	SCAN_SERVICE_STATE_LAST
};

/* Why the last scan stopped short, or why no scanner is there. The UI
 * translates each into a message with what to do next. */
enum scan_problem {
	SCAN_PROBLEM_NONE,         /* no problem */
	SCAN_PROBLEM_NO_SCANNER,   /* none found (yet); the service keeps looking */
	SCAN_PROBLEM_FEEDER_EMPTY, /* no paper in the feeder (nothing was scanned) */
	SCAN_PROBLEM_JAMMED,       /* paper jam: open the feeder, take the paper out */
	SCAN_PROBLEM_COVER_OPEN,   /* lid or feeder cover open */
	SCAN_PROBLEM_DEVICE_GONE,  /* unplugged or switched off during use; the service looks again
	                            */
	SCAN_PROBLEM_OTHER,        /* any other failure (details in the log) */
	SCAN_PROBLEM_LAST
};

/* Stable lower-case ids for logs and tests: "searching", "ready", "scanning";
 * "none", "no-scanner", "feeder-empty", "jammed", "cover-open", "device-gone", "other". */
const char *scan_service_state_name(enum scan_service_state state);
const char *scan_problem_name(enum scan_problem problem);

/* Maps a driver outcome to a problem (SCANNER_OK, SCANNER_CANCELLED: NONE). */
enum scan_problem scan_problem_from_status(enum scanner_status status);

enum scan_service_source {
	SCAN_SERVICE_SOURCE_DEFAULT, /* the configured source */
	SCAN_SERVICE_SOURCE_FLATBED, /* the glass: one page */
	SCAN_SERVICE_SOURCE_FEEDER,  /* the document feeder: until it is empty */
	SCAN_SERVICE_SOURCE_LAST
};

/* Test hooks, called on the service thread; NULL in the product. Any of them
 * may be NULL. */
struct scan_service_hooks {
	/* Before each attempt to find and open the device, and before a job
	 * accepted by scan_service_start() is set up. May block (a test holds the
	 * service thread there to check that the UI's calls never wait on it). */
	void (*before_open)(void *userdata);
	void (*before_job)(void *userdata);
	void *userdata;
	/* The clock the service's timers run on, in milliseconds; NULL:
	 * CLOCK_MONOTONIC. */
	uint64_t (*now_ms)(void *userdata);
	/* Before the thread sleeps until its next timer (timeout_ms on the clock
	 * above; -1: none, it waits for a command or a hotplug event only). A
	 * test clock moves on here; the thread then sleeps only for what is still
	 * left. May block, like before_open. */
	void (*before_wait)(void *userdata, int timeout_ms);
	/* Makes the driver instead of SANE or the simulator (a test's own
	 * driver). Called on every attempt to find the device; the driver is
	 * destroyed after a failed attempt and when the device is gone, as the
	 * SANE driver is. */
	struct scanner_driver *(*create_driver)(void *userdata);
};

struct scan_service_config {
	/* "" or NULL: the first SANE device; "sim:SPEC": the simulator
	 * (drivers/sim/README.md); otherwise a SANE device name. Copied. */
	const char *device;
	struct scan_options options; /* source, colour, dpi, area, quality (scan_options_init) */
	unsigned retry_ms;           /* first wait between attempts to find the device; 0: 2000 */
	const struct scan_service_hooks *hooks; /* tests only; borrowed, outlives the service */
	unsigned retry_max_ms; /* the backoff's longest wait; 0: 60000 (never below retry_ms) */
	bool no_udev;          /* do not listen for udev events (tests; timers alone) */
};

/* Fills cfg with: first SANE device, scan_options_init(), backoff 2 s to 60 s,
 * udev events when udevd runs. */
void scan_service_config_init(struct scan_service_config *cfg);

/* Applies the [scanner] section: device (borrowed from conf: keep conf alive
 * until scan_service_create() returned), source (adf: the feeder), dpi and mode
 * (auto, color: always colour, gray). */
void scan_service_config_apply(struct scan_service_config *cfg, const struct config *conf);

enum scan_service_event_kind {
	SCAN_SERVICE_EVENT_STATE,        /* state or problem changed: state, problem */
	SCAN_SERVICE_EVENT_PAGE_STARTED, /* the device started page `page` of job `job` */
	SCAN_SERVICE_EVENT_PAGE_READY,   /* a finished page: `page_result`, ownership passes */
	SCAN_SERVICE_EVENT_FINISHED,     /* job `job` is over: pages_done, problem, status */
	SCAN_SERVICE_EVENT_LAST
};

struct scan_service_event {
	enum scan_service_event_kind kind;
	uint32_t job;                  /* the job the event is about (0 for STATE) */
	enum scan_service_state state; /* STATE: the new state */
	enum scan_problem problem;     /* STATE, FINISHED */
	unsigned page;                 /* PAGE_STARTED, PAGE_READY: 1-based within the job */
	struct scan_page *page_result; /* PAGE_READY: the receiver owns it (session_page_add) */
	unsigned pages_done;           /* FINISHED: pages delivered by the job */
	bool cancelled;                /* FINISHED: ended by cancel or abort */
	enum scanner_status status;    /* FINISHED: the driver's outcome, for the log */
};

/* A snapshot for drawing. Progress is not queued as events; read it here. */
struct scan_service_status {
	enum scan_service_state state;
	enum scan_problem problem; /* last problem; NONE once a scan started fine */
	uint32_t job;              /* the running (or last) job, 0 before the first */
	unsigned page;             /* SCANNING: the page being read, 1-based (0: none yet) */
	uint32_t lines_done;       /* SCANNING: lines of that page read so far */
	int32_t lines_total;       /* SCANNING: lines of that page, -1 when unknown */
	unsigned pages_done;       /* SCANNING: pages finished in this job */
	bool has_flatbed;          /* READY/SCANNING: what the open device offers */
	bool has_feeder;
	char model[128]; /* READY/SCANNING: vendor and model, for technicians */
	/* Kept after the device went, for the maintenance screen: */
	char serial[64];  /* the device's serial number; "" when the driver cannot tell */
	char device[256]; /* the driver's name for it (a USB bus path changes on replug) */
	bool hotplug;     /* USB events are watched (libudev); false: timers alone */
};

struct scan_service;

/* Starts the service thread, which begins looking for the device at once.
 * Returns NULL when memory is short or the thread cannot start. */
struct scan_service *scan_service_create(const struct scan_service_config *cfg,
                                         void (*notify)(void *userdata), void *userdata);

/* Aborts a running job, stops the thread (joining it: this may wait for a slow
 * device listing or close), frees undelivered pages. Accepts NULL. */
void scan_service_destroy(struct scan_service *svc);

/* Takes the next event without waiting. Returns false when there is none.
 * The queue keeps no pointer to a page it handed out. */
bool scan_service_poll(struct scan_service *svc, struct scan_service_event *ev);

/* For an event the receiver does not keep (a page of an old job): zeroes and
 * frees its page, if any, and clears the event. */
void scan_service_event_discard(struct scan_service_event *ev);

/* Copies the current status without waiting. */
void scan_service_get_status(struct scan_service *svc, struct scan_service_status *out);

/* max_pages for scan_service_start(): until the feeder is empty (one page on
 * the flatbed). */
#define SCAN_SERVICE_UNLIMITED UINT32_MAX

/*
 * Asks for a scan and returns at once: the job id (> 0) that the events will
 * carry, or 0 when the service is not READY (searching, or a job runs) or
 * max_pages is 0 (no room: nothing to scan). On success the status reads
 * SCANNING at once (no STATE event is queued for that); FINISHED and a STATE
 * event (READY, or SEARCHING after the device went) end the job.
 * max_pages: at most that many pages (the session's remaining room), or
 * SCAN_SERVICE_UNLIMITED.
 */
uint32_t scan_service_start(struct scan_service *svc, enum scan_service_source source,
                            uint32_t max_pages);

/*
 * The older form of scan_service_start(), kept for existing callers: max_pages
 * 0 means SCAN_SERVICE_UNLIMITED (one page on the flatbed, until the feeder is
 * empty). A caller that computes the room left must use scan_service_start(),
 * where 0 scans nothing.
 */
uint32_t scan_service_scan(struct scan_service *svc, enum scan_service_source source,
                           unsigned max_pages);

/* Stops the running job: the page being read is dropped, pages already
 * finished still arrive, then FINISHED(cancelled). No-op when idle. */
void scan_service_cancel(struct scan_service *svc);

/* Stops the running job and drops every page of it not yet taken by
 * scan_service_poll(), zeroed (the session is being wiped). FINISHED(cancelled)
 * still arrives. No-op when idle. */
void scan_service_abort(struct scan_service *svc);

/* ---- the maintenance menu: devices and settings ---------------------------------------- */

/* Devices one listing reports at most; more are counted in `total`. */
#define SCAN_SERVICE_DEVICES_MAX 16
#define SCAN_SERVICE_DEVICE_MAX  256

/* One device as the driver listed it. */
struct scan_service_device {
	/* What [scanner] device takes and scan_service_set_settings() opens:
	 * the driver's name (SANE: "backend:bus:path", which changes when a USB
	 * scanner is replugged); the simulator is listed as the whole
	 * "sim:SPEC" the service runs (only the driver's "sim" when that does
	 * not fit). */
	char name[SCAN_SERVICE_DEVICE_MAX];
	char vendor[64];
	char model[128];
	char serial[64]; /* "" when the driver cannot tell (SANE: USB devices only) */
	bool open;       /* the one the service has open now */
};

/* The last listing's answer. */
struct scan_service_devices {
	uint32_t generation;        /* listings finished since create; 0: none yet */
	bool listing;               /* a listing was asked for and has not finished */
	enum scanner_status status; /* of the last listing: SCANNER_OK, or why it failed (the
	                             * driver could not start: SCANNER_IO_ERROR; ...) */
	size_t count;               /* devices[] filled */
	size_t total;               /* devices the driver listed (> count: cut) */
	struct scan_service_device devices[SCAN_SERVICE_DEVICES_MAX];
};

/*
 * Asks for a listing of the devices and returns at once the generation that
 * will carry the answer: scan_service_get_devices() reads it once
 * `generation` reaches that number; notify fires when it is there. The
 * listing runs on the service thread, which owns the driver: with a device
 * open, the open driver lists (SANE: sane_get_devices() with the device
 * open); while searching, the listing is one attempt to find and open the
 * device (so a scanner just plugged in is opened at once and shown open).
 * A listing asked for while a job runs waits until the job has ended; one
 * asked for while another runs is made after it (a scanner plugged in
 * meanwhile is not missed); requests that wait together share one listing.
 * Listing takes seconds with SANE; it is a technician's request, never a
 * loop.
 */
uint32_t scan_service_list_devices(struct scan_service *svc);

/* Copies the last listing's answer without waiting. */
void scan_service_get_devices(struct scan_service *svc, struct scan_service_devices *out);

/*
 * The settings a technician changes at run time. Source, dpi and mode are
 * the configuration's ([scanner] source, dpi, mode; mapped to scan options
 * as scan_service_config_apply() does: adf is the feeder; auto scans colour
 * and stores grey content grey, color keeps colour, gray scans grey).
 */
struct scan_service_settings {
	/* "" = the first device found; "sim:SPEC" = the simulator; otherwise a
	 * driver's device name (scan_service_device.name). A name longer than
	 * the field (a long simulator spec) reads cut here; passing that cut
	 * name back counts as no change of device. */
	char device[SCAN_SERVICE_DEVICE_MAX];
	enum config_scan_source source; /* the default source (SCAN_SERVICE_SOURCE_DEFAULT) */
	uint32_t dpi;                   /* 75..1200 */
	enum config_scan_mode mode;
};

/* The settings in effect now (the last accepted by
 * scan_service_set_settings(), else those of create). Without waiting. A
 * source the configuration cannot name (duplex, from scan options given at
 * create) reads as adf. */
void scan_service_get_settings(struct scan_service *svc, struct scan_service_settings *out);

/*
 * Changes the settings and returns at once:
 *  - SCANNER_OK: every job accepted from now on uses source, dpi and mode.
 *    A different device closes the open one and opens the new one on the
 *    service thread (found and remembered as at start, by vendor, model and
 *    serial; the identity of the old device is forgotten): the state reads
 *    SEARCHING at once and READY when it is open; scans are refused until
 *    then. The same device is not reopened.
 *  - SCANNER_BUSY: a job runs or was accepted (scan_service_start() until its
 *    FINISHED): nothing changed. Refused rather than queued: a technician
 *    waits for the test scan's end, the customer's settings never change
 *    under a running scan.
 *  - SCANNER_INVALID: source, mode or dpi out of range, a device name with
 *    control characters or without its NUL: nothing changed.
 * Logged (device name, source, dpi, mode).
 */
enum scanner_status scan_service_set_settings(struct scan_service *svc,
                                              const struct scan_service_settings *settings);

/* For tests (a container has no udev events): handled on the service thread
 * as libudev's report of a USB device added (true) or removed (false).
 * Returns at once. */
void scan_service_inject_hotplug(struct scan_service *svc, bool added);

#endif
