/*
 * maintenance.h - the technicians' maintenance menu, as a model without SDL.
 *
 * The screens (kiosk/ui) draw what this model holds and call it on every
 * touch; everything here returns at once. What is slow runs on worker
 * threads and is polled: the PIN check (argon2id, 0.2 to 1 s), every call on
 * the uploader's control socket (kiosk/core/upload_control.h), the status
 * file, statvfs, /proc, the reboot over D-Bus. A worker calls notify() when
 * something finished (the UI pushes an SDL user event from it) and the UI
 * calls maintenance_poll(), which takes the results over.
 *
 * Access, in the order of the states:
 *
 *   CLOSED --maintenance_open_request()--> PIN   (the hidden gesture happened)
 *   PIN    --maintenance_pin_submit()----> CHECKING (pin_check() on a worker)
 *   CHECKING --right PIN--> WIPE, --wrong, wait, locked, malformed, error--> PIN
 *   WIPE   --maintenance_confirm_wipe(session)--> OPEN (the menu)
 *   any    --maintenance_close(), or untouched too long--> CLOSED
 *
 * WIPE is the step the UI cannot forget: the menu opens only when the caller
 * hands over the customer's session and it holds nothing any more
 * (session_has_data() false, i.e. session_wipe() ran). The model aborts a
 * running scan of the scan service itself at that step (its pages are
 * dropped zeroed). The PIN's digits live in a buffer the model owns
 * (append, backspace, clear); the pad shows only how many there are. The
 * digits are copied to the worker on submit and zeroed at once, and the copy
 * is zeroed by pin_check(). Every attempt is logged by the PIN guard (never
 * the digits), opening and closing by the model.
 *
 * Closing: after [maintenance] idle_close seconds without a touch in the
 * menu (MAINTENANCE_PIN_IDLE_S on the PIN pad and before the wipe), on
 * maintenance_close(), and before the kiosk restarts. Closing zeroes and
 * frees everything the menu held: digits, status, queue, log lines, network
 * test, the test scan's page, the device list, the settings' result; results
 * of tasks still running are zeroed and dropped when they end (the network
 * test is cancelled; a settings file being saved is still written: the
 * settings are in effect already). The clock is
 * CLOCK_BOOTTIME (counts suspend) plus an offset scripts advance
 * (maintenance_advance()), like kiosk/app/idle.h.
 *
 * What the menu shows is ids, counts, sizes, ages, times, outcome classes
 * and log lines, which are free of personal data by construction (nothing
 * logs any): never a submission's contents. The model never opens a
 * submission; the uploader's state comes over its socket or from its status
 * file.
 *
 * Threads: every function here belongs to one thread (the UI thread) and
 * returns without waiting on a worker, a socket or a disk, except
 * maintenance_create() (reads the PIN state file) and maintenance_destroy()
 * (joins the workers: program end). notify runs on a worker; it may only
 * wake the UI. The device listing runs on the scan service's thread and
 * arrives through the scan service's notify: the UI calls maintenance_poll()
 * on every wake-up, whoever woke it.
 */
#ifndef SCANKIOSK_MAINTENANCE_H
#define SCANKIOSK_MAINTENANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"
#include "pin.h"
#include "scan_service.h"
#include "session.h"
#include "upload_control.h"

/* scankiosk exits with this status when a technician restarts it; its unit
 * restarts it (Restart=always, or RestartForceExitStatus=75). */
#define MAINTENANCE_EXIT_RESTART 75
/* The PIN pad (and the wipe step) close after this long untouched, or after
 * idle_close when that is shorter. */
#define MAINTENANCE_PIN_IDLE_S 30
/* idle_close when the configuration gives 0. */
#define MAINTENANCE_IDLE_CLOSE_DEFAULT_S 120
/* Lines of the merged log: the kiosk's ring and the uploader's. */
#define MAINTENANCE_LOG_LINES   (2 * LOG_RING_LINES)
#define MAINTENANCE_ERROR_MAX   256
#define MAINTENANCE_VERSION_MAX 32
#define MAINTENANCE_PATH_MAX    4096

enum maintenance_state {
	MAINTENANCE_CLOSED,   /* the customer's screens */
	MAINTENANCE_PIN,      /* the PIN pad */
	MAINTENANCE_CHECKING, /* the PIN is being checked (the pad shows it is busy) */
	MAINTENANCE_WIPE,     /* the PIN was right: wipe the session, maintenance_confirm_wipe() */
	MAINTENANCE_OPEN,     /* the menu */
	MAINTENANCE_STATE_LAST
};

/* "closed", "pin", "checking", "wipe", "open". */
const char *maintenance_state_name(enum maintenance_state state);

/* ---- creation ------------------------------------------------------------------------- */

/* A D-Bus method call with one boolean argument, as the reboot makes it. */
struct maintenance_bus_call {
	const char *destination; /* "org.freedesktop.login1" */
	const char *path;        /* "/org/freedesktop/login1" */
	const char *interface;   /* "org.freedesktop.login1.Manager" */
	const char *member;      /* "Reboot" */
	bool argument;           /* false: no interactive authorisation */
};

/* The tasks a worker runs (for the before_task hook and logs). */
enum maintenance_task {
	MAINTENANCE_TASK_PIN,      /* pin_check() */
	MAINTENANCE_TASK_STATUS,   /* the uploader's status (socket, else file), disk, uptimes */
	MAINTENANCE_TASK_QUEUE,    /* retry now, discard */
	MAINTENANCE_TASK_NETTEST,  /* the network test */
	MAINTENANCE_TASK_LOG,      /* the kiosk's ring and the uploader's log */
	MAINTENANCE_TASK_POWER,    /* restart the uploader, reboot */
	MAINTENANCE_TASK_SETTINGS, /* save the scanner settings ([scanner] settings) */
	MAINTENANCE_TASK_LAST
};

/* Test hooks; NULL in the product. */
struct maintenance_hooks {
	/* The menu's clock in ms; NULL: CLOCK_BOOTTIME. */
	uint64_t (*now_ms)(void *ctx);
	/* The PIN guard's clocks (pin.h); NULL: the system's. Borrowed. */
	const struct pin_clock *pin_clock;
	/* Makes the reboot's bus call instead of the system bus. Returns true
	 * when the call succeeded, else false with a reason in err. Runs on a
	 * worker. */
	bool (*bus_call)(void *ctx, const struct maintenance_bus_call *call,
	                 char err[MAINTENANCE_ERROR_MAX]);
	/* On the worker, before a task runs. May block (a test holds a worker
	 * there to show the UI's calls never wait for it). */
	void (*before_task)(void *ctx, enum maintenance_task task);
	/* Every buffer that held the PIN's digits or a test page, after it was
	 * zeroed and before it is freed (or reused). On the UI thread, or on a
	 * worker for the worker's copy of the digits. */
	void (*released)(void *ctx, const void *buf, size_t len);
	void *ctx;
};

struct maintenance_config {
	/* [maintenance]: the PIN's argon2id string (NULL: the menu stays shut),
	 * the guard's state file and policy, idle_close (0: the default). */
	const char *pin_hash;
	const char *pin_state;
	struct pin_policy policy;
	uint32_t idle_close_s;
	/* The uploader: its control socket (config_control_socket()) and status
	 * file ([metrics] status; NULL: no fallback). */
	const char *control_socket;
	const char *status_file;
	/* The spool's directory: the free space of its file system. */
	const char *spool_dir;
	/* The software's version (meson's project version). */
	const char *version;
	/* The scanner (borrowed, may be NULL): status, test scan, devices,
	 * settings. */
	struct scan_service *scanner;
	/* [scanner] settings: where the technicians' scanner choice is saved
	 * (kiosk/core/scanner_settings.h); NULL: applied but not kept. */
	const char *scanner_settings;
	const struct maintenance_hooks *hooks; /* tests; borrowed */
	/* Storage for control_socket when filled by maintenance_config_apply(). */
	char socket_buf[CONFIG_SOCKET_PATH_MAX + 1];
};

/* Fills cfg with defaults: no PIN (menu shut), the default policy, idle
 * close 120 s, no socket, file, spool, scanner or hooks, version "0". */
void maintenance_config_init(struct maintenance_config *cfg);

/* Takes [maintenance], the control socket, the status file, the spool
 * directory and [scanner] settings from conf (strings borrowed: keep conf
 * until maintenance_create() returned). */
void maintenance_config_apply(struct maintenance_config *cfg, const struct config *conf);

struct maintenance;

/*
 * A closed menu. Copies what cfg names. Creates the PIN guard (reads its
 * state file: a lockout survives a restart). Returns NULL with a line in err
 * when memory is short, or the PIN hash, policy or state directory are
 * unusable; with no PIN hash the model works but never opens.
 */
struct maintenance *maintenance_create(const struct maintenance_config *cfg,
                                       void (*notify)(void *userdata), void *userdata,
                                       char err[MAINTENANCE_ERROR_MAX]);

/* Closes, cancels, joins every worker (this may wait for a PIN check or a
 * socket timeout: program end), zeroes and frees. Accepts NULL. */
void maintenance_destroy(struct maintenance *m);

/* ---- the loop ------------------------------------------------------------------------- */

/* What maintenance_poll() reports as changed (bits). */
enum maintenance_change {
	MAINTENANCE_CHANGED_STATE = 1u << 0,    /* state (also: closed by idle) */
	MAINTENANCE_CHANGED_PIN = 1u << 1,      /* the PIN's outcome */
	MAINTENANCE_CHANGED_STATUS = 1u << 2,   /* status and queue */
	MAINTENANCE_CHANGED_QUEUE = 1u << 3,    /* a retry-now or discard result */
	MAINTENANCE_CHANGED_NETTEST = 1u << 4,  /* a step arrived, or the test ended */
	MAINTENANCE_CHANGED_LOG = 1u << 5,      /* the log */
	MAINTENANCE_CHANGED_POWER = 1u << 6,    /* a restart or reboot result */
	MAINTENANCE_CHANGED_SCAN = 1u << 7,     /* the test scan */
	MAINTENANCE_CHANGED_DEVICES = 1u << 8,  /* a device listing started or arrived */
	MAINTENANCE_CHANGED_SETTINGS = 1u << 9, /* scanner settings applied, saved or refused */
};

/* Takes the workers' results over, closes the menu when it was untouched
 * too long. Returns the changes (enum maintenance_change bits). Call after
 * notify and before drawing. */
unsigned maintenance_poll(struct maintenance *m);

enum maintenance_state maintenance_state(const struct maintenance *m);

/* True while anything but CLOSED: the UI shows the maintenance screens (the
 * PIN pad, the wipe, the menu) instead of the customer's. */
bool maintenance_active(const struct maintenance *m);

/* A touch anywhere on a maintenance screen (restarts the idle time). */
void maintenance_touch(struct maintenance *m);

/* Moves the menu's clock on by seconds (script mode, tests). */
void maintenance_advance(struct maintenance *m, uint32_t seconds);

/* Milliseconds until the menu closes by itself untouched (the event wait's
 * timeout); -1 when CLOSED. */
int64_t maintenance_ms_to_close(const struct maintenance *m);

/* Closes now (the "back to the kiosk" button). Zeroes what the menu held.
 * Logged with why ("button", "idle", "restart"). No-op when CLOSED. */
void maintenance_close(struct maintenance *m);

/* ---- access --------------------------------------------------------------------------- */

/* The hidden gesture happened: CLOSED -> PIN. False (logged once) when no PIN
 * hash is configured, or when not CLOSED. */
bool maintenance_open_request(struct maintenance *m);

enum maintenance_pin_outcome {
	MAINTENANCE_PIN_NONE,      /* nothing submitted on this visit */
	MAINTENANCE_PIN_ACCEPTED,  /* right: WIPE */
	MAINTENANCE_PIN_WRONG,     /* wrong: guard.attempts_left, guard.mode */
	MAINTENANCE_PIN_WAIT,      /* refused unchecked: guard.seconds_left */
	MAINTENANCE_PIN_LOCKED,    /* refused unchecked: locked, guard.seconds_left */
	MAINTENANCE_PIN_MALFORMED, /* not 6 to 12 digits (not counted) */
	MAINTENANCE_PIN_ERROR,     /* the attempt could not be recorded or checked */
	MAINTENANCE_PIN_OUTCOME_LAST
};

/* "none", "accepted", "wrong", "wait", "locked", "malformed", "error". */
const char *maintenance_pin_outcome_name(enum maintenance_pin_outcome outcome);

/* What the PIN pad draws, every frame (no I/O). */
struct maintenance_pin_view {
	size_t digits;                     /* digits entered (the pad shows dots) */
	enum maintenance_pin_outcome last; /* of the last submit on this visit */
	struct pin_guard_info guard;       /* open/wait/locked, seconds, attempts left */
	bool can_submit; /* PIN state, at least PIN_MIN_DIGITS, guard open, no check running */
};
void maintenance_pin_view(struct maintenance *m, struct maintenance_pin_view *out);

/* Digit entry (PIN state only): '0'..'9', at most PIN_MAX_DIGITS. Each is a
 * touch. False when refused. */
bool maintenance_pin_append(struct maintenance *m, char digit);
bool maintenance_pin_backspace(struct maintenance *m);
void maintenance_pin_clear(struct maintenance *m);

/* Checks the digits on a worker (PIN -> CHECKING); the buffer is empty
 * afterwards whatever happens. False when not in PIN, no digits, or a check
 * (of an earlier visit) still runs. */
bool maintenance_pin_submit(struct maintenance *m);

/*
 * WIPE -> OPEN. The caller has wiped the customer's session (scan aborted,
 * session_wipe()); session must be that session and hold nothing
 * (session_has_data() false), else false (logged as an error) and the state
 * stays WIPE. Aborts a running scan of the scan service, opens the menu and
 * asks for the status.
 */
bool maintenance_confirm_wipe(struct maintenance *m, const struct session *session);

/* ---- status --------------------------------------------------------------------------- */

enum maintenance_source {
	MAINTENANCE_SOURCE_NONE,   /* nothing read yet, or neither socket nor file answered */
	MAINTENANCE_SOURCE_SOCKET, /* the uploader answered: current */
	MAINTENANCE_SOURCE_FILE, /* the uploader did not: its status file (as of upload.updated) */
	MAINTENANCE_SOURCE_LAST
};

/* "none", "socket", "file". */
const char *maintenance_source_name(enum maintenance_source source);

struct maintenance_status {
	uint32_t refreshes; /* how many have been taken over on this visit */
	bool refreshing;    /* a refresh runs */
	int64_t read_at;    /* wall clock (unix seconds) of this snapshot */

	/* The scanner (scan service status, taken when the refresh ended). */
	bool has_scanner;
	struct scan_service_status scanner;

	/* The uploader and the spool. uploader_running: it answered on its
	 * socket; otherwise socket_error says why ("not running", permission,
	 * timeout, ...), and the status file was read (file_error). */
	enum maintenance_source upload_source;
	bool uploader_running;
	enum upload_control_error socket_error;
	enum upload_control_error file_error;
	struct upload_control_status upload; /* all zero when upload_source is NONE */
	int64_t upload_age_seconds;          /* read_at - upload.updated */

	/* The spool's file system (statvfs): bytes free for the spool's users
	 * and in all. disk_error: errno, 0 when known. */
	int disk_error;
	uint64_t disk_free_bytes;
	uint64_t disk_total_bytes;

	char version[MAINTENANCE_VERSION_MAX];
	uint64_t system_uptime_seconds; /* since boot (counts suspend) */
	uint64_t kiosk_uptime_seconds;  /* since this process started; 0 when unknown */
};

/* Asks for a new snapshot on a worker (also done when the menu opens, and
 * after each queue action). While one runs, the next starts when it ends, so
 * the snapshot is never older than the request. False when not OPEN or the
 * worker cannot start. */
bool maintenance_status_refresh(struct maintenance *m);

/* The last snapshot (all zero before the first); valid until the next
 * maintenance_poll() or close. */
const struct maintenance_status *maintenance_status(const struct maintenance *m);

/* The scanner's status now, without waiting (scan_service_get_status());
 * false when the model has no scan service. */
bool maintenance_scanner_status(struct maintenance *m, struct scan_service_status *out);

/* ---- queue ---------------------------------------------------------------------------- */

/* A failed or quarantined submission, from the last status. */
struct maintenance_item {
	char id[UPLOAD_CONTROL_ID_MAX];
	enum spool_state state; /* SPOOL_STATE_FAILED or SPOOL_STATE_QUARANTINE */
	int64_t age_seconds;
	uint64_t bytes;
	uint32_t attempts;
	char error_class[UPLOAD_CONTROL_CLASS_MAX]; /* outcome or quarantine reason; may be "" */
};

/* The failed items, then the quarantined ones, each by id (at most
 * UPLOAD_CONTROL_ITEMS_MAX of each). */
size_t maintenance_item_count(const struct maintenance *m);
const struct maintenance_item *maintenance_item(const struct maintenance *m, size_t index);

enum maintenance_queue_op {
	MAINTENANCE_QUEUE_NONE,
	MAINTENANCE_QUEUE_RETRY_NOW,
	MAINTENANCE_QUEUE_DISCARD,
};

/* The last queue action's result. */
struct maintenance_queue_result {
	enum maintenance_queue_op op;
	bool running;
	enum upload_control_error error;           /* OK, or why not */
	struct upload_control_refusal refusal;     /* when REFUSED */
	uint32_t queued;                           /* retry now: queued submissions, now due */
	struct upload_control_discarded discarded; /* discard: what went */
};
const struct maintenance_queue_result *maintenance_queue_result(const struct maintenance *m);

/* Retry now on a worker; a status refresh follows. False when not OPEN or a
 * queue action runs. */
bool maintenance_retry_now(struct maintenance *m);

/*
 * Discard, in two steps. request: id must be one of the items (failed or
 * quarantined) of the last status; the screen then explains what discarding
 * means and asks. confirm: deletes it through the uploader on a worker (a
 * status refresh follows). cancel: nothing happens. Each step is logged with
 * the id, the state and the class only. request/confirm return false when
 * not OPEN, the id is not an item, nothing is pending, or a queue action
 * runs.
 */
bool maintenance_discard_request(struct maintenance *m, const char *id);
const struct maintenance_item *maintenance_discard_pending(const struct maintenance *m);
bool maintenance_discard_confirm(struct maintenance *m);
void maintenance_discard_cancel(struct maintenance *m);

/* ---- network test --------------------------------------------------------------------- */

struct maintenance_nettest {
	bool running;
	bool done;      /* ended: passed/failed_step, or error */
	bool cancelled; /* cancelled by the technician (steps: what had arrived) */
	struct upload_control_step steps[UPLOAD_CONTROL_STEPS];
	size_t step_count; /* steps arrived so far, in order */
	bool passed;
	char failed_step[8];
	enum upload_control_error error; /* OK, or why the test could not run */
	struct upload_control_refusal refusal;
};

/* Starts the uploader's network test on a worker; each step shows as it
 * arrives. False when not OPEN or one runs. */
bool maintenance_nettest_start(struct maintenance *m);
/* Stops waiting at once (the uploader ends the test at its next step). */
void maintenance_nettest_cancel(struct maintenance *m);
/* Copies the test's view (steps so far). */
void maintenance_nettest(struct maintenance *m, struct maintenance_nettest *out);

/* ---- log ------------------------------------------------------------------------------ */

enum maintenance_log_source {
	MAINTENANCE_LOG_KIOSK,    /* this process */
	MAINTENANCE_LOG_UPLOADER, /* scankiosk-uploader, over its socket */
};

struct maintenance_log_line {
	enum maintenance_log_source source;
	struct log_ring_entry entry; /* seq within its process, time, level, text */
};

/* The kiosk's last lines and the uploader's, merged by time (a line of the
 * kiosk first at equal times; each process's lines keep their order). */
struct maintenance_log {
	bool running;
	uint32_t refreshes;
	size_t count;
	size_t kiosk_count;
	size_t uploader_count;
	enum upload_control_error uploader_error; /* OK, or why its lines are missing */
	uint32_t uploader_omitted;
	struct maintenance_log_line lines[MAINTENANCE_LOG_LINES];
};

/* Reads both on a worker. False when not OPEN or a read runs. */
bool maintenance_log_refresh(struct maintenance *m);
/* The last read (count 0 before the first); valid until the next poll. */
const struct maintenance_log *maintenance_log(const struct maintenance *m);

/* ---- restart, reboot ------------------------------------------------------------------ */

enum maintenance_power {
	MAINTENANCE_RESTART_UPLOADER, /* the control socket's "restart" */
	MAINTENANCE_RESTART_KIOSK,    /* this program exits MAINTENANCE_EXIT_RESTART */
	MAINTENANCE_REBOOT,           /* logind's Reboot over the system bus */
	MAINTENANCE_POWER_LAST
};

/* "restart-uploader", "restart-kiosk", "reboot". */
const char *maintenance_power_name(enum maintenance_power what);

struct maintenance_power_result {
	enum maintenance_power what; /* MAINTENANCE_POWER_LAST before the first */
	bool running;
	bool done;
	bool ok;
	char error[MAINTENANCE_ERROR_MAX]; /* why not, for the technician (English) */
	int64_t uploader_pid;              /* restart-uploader: the process that stopped */
};

/*
 * Two steps, like discard: request names it (the screen asks "really?"),
 * confirm does it, cancel forgets it. Confirming RESTART_KIOSK closes the
 * menu (zeroed) and makes maintenance_exit_status() return
 * MAINTENANCE_EXIT_RESTART: the UI ends its loop and exits with it, and
 * systemd starts the kiosk again. The others run on a worker. False when not
 * OPEN, nothing is pending, or a restart or reboot runs.
 */
bool maintenance_power_request(struct maintenance *m, enum maintenance_power what);
enum maintenance_power maintenance_power_pending(const struct maintenance *m); /* or _LAST */
bool maintenance_power_confirm(struct maintenance *m);
void maintenance_power_cancel(struct maintenance *m);
const struct maintenance_power_result *maintenance_power_result(const struct maintenance *m);

/* MAINTENANCE_EXIT_RESTART once a technician restarted the kiosk, else -1. */
int maintenance_exit_status(const struct maintenance *m);

/*
 * The reboot as made without the bus_call hook: the system bus
 * (sd_bus_open_system(), DBUS_SYSTEM_BUS_ADDRESS honoured), call, wait for
 * the answer (at most 25 s). Blocks: a worker's call. Exposed for tests of
 * its failure path.
 */
bool maintenance_bus_call_system(const struct maintenance_bus_call *call,
                                 char err[MAINTENANCE_ERROR_MAX]);

/* ---- scanner -------------------------------------------------------------------------- */

/*
 * A test scan of one page from source on the scan service (OPEN only). The
 * page arrives through maintenance_scan_event(); it is shown by
 * maintenance_test_page() and never stored. Returns the job id, or 0 when
 * there is no scanner, it is not READY, or a test scan runs.
 */
uint32_t maintenance_test_scan_start(struct maintenance *m, enum scan_service_source source);

/*
 * The UI hands every scan service event here first. Returns false (nothing
 * taken: the event is the session's as usual) unless the PIN proved right
 * (WIPE, OPEN). Then the model takes it and owns any page: the test scan's
 * page is kept for showing (the previous one zeroed), every other page is
 * zeroed and freed (a customer's page from a scan aborted at the wipe), and
 * the event is cleared.
 */
bool maintenance_scan_event(struct maintenance *m, struct scan_service_event *ev);

struct maintenance_test_scan {
	uint32_t job;              /* the running or last test scan; 0 before the first */
	bool running;              /* started, FINISHED not yet seen */
	enum scan_problem problem; /* of the finished job */
	unsigned pages;            /* pages the job delivered */
};
void maintenance_test_scan(const struct maintenance *m, struct maintenance_test_scan *out);

/* The test page (JPEG, thumbnail, facts) while shown; NULL otherwise. */
const struct scan_page *maintenance_test_page(const struct maintenance *m);
/* Zeroes and frees the test page (the screen's "done"; closing does too). */
void maintenance_test_page_discard(struct maintenance *m);

/* ---- scanner: devices and settings ---------------------------------------------------------- */

#define MAINTENANCE_DEVICES_MAX     SCAN_SERVICE_DEVICES_MAX /* 16 */
#define MAINTENANCE_DEVICE_NAME_MAX SCAN_SERVICE_DEVICE_MAX  /* 256 */

struct maintenance_scanner_device {
	char name[MAINTENANCE_DEVICE_NAME_MAX]; /* as [scanner] device takes it */
	char vendor[64];
	char model[128];
	char serial[64]; /* "" when unknown */
	bool open;       /* the scan service has this one open */
};

struct maintenance_devices {
	bool listing;                      /* a listing runs */
	uint32_t listings;                 /* listings finished on this visit */
	bool ok;                           /* the last listing worked */
	char error[MAINTENANCE_ERROR_MAX]; /* why not (English, for the technician) */
	size_t count;
	size_t total; /* devices the driver listed (more than count: the list was cut) */
	struct maintenance_scanner_device devices[MAINTENANCE_DEVICES_MAX];
};

/*
 * Lists the scanner devices on the scan service's thread (with SANE this
 * takes seconds; while the service is searching, the listing is an attempt
 * to find the device, so a scanner just plugged in is opened). The answer
 * shows in maintenance_devices() after a poll (MAINTENANCE_CHANGED_DEVICES).
 * False when not OPEN, there is no scan service, or a listing runs.
 */
bool maintenance_devices_refresh(struct maintenance *m);
/* The last listing of this visit (all zero before the first); valid until
 * the next poll or close. */
const struct maintenance_devices *maintenance_devices(const struct maintenance *m);

struct maintenance_scanner_settings {
	char device[MAINTENANCE_DEVICE_NAME_MAX]; /* "" = the first device found */
	enum config_scan_source source;
	uint32_t dpi; /* 75..1200 */
	enum config_scan_mode mode;
};

/* The settings in effect now (the scan service's). False (out zeroed) when
 * the model has no scan service. */
bool maintenance_scanner_settings(struct maintenance *m, struct maintenance_scanner_settings *out);

/*
 * Applies s at once to the scan service (scan_service_set_settings(): the
 * next scans use source, dpi and mode; another device is closed and opened
 * on the service's thread, the scanner's state reads SEARCHING until it is
 * open) and saves it to [scanner] settings on a worker, so it survives a
 * restart. Logged: device name, source, dpi, mode (no personal data).
 * Returns true when the scan service took the settings; the save's outcome
 * follows in maintenance_scanner_result() (MAINTENANCE_CHANGED_SETTINGS).
 * False when not OPEN, there is no scan service or a save runs (result
 * untouched), or, with the reason in the result, while a scan runs (the
 * test scan, or one the scan service accepted) or a value is out of range.
 */
bool maintenance_scanner_apply(struct maintenance *m, const struct maintenance_scanner_settings *s);

struct maintenance_settings_result {
	bool running; /* the save runs */
	bool done;    /* the last apply ended: ok, or error */
	bool ok;      /* applied, and saved when a settings file is configured */
	bool applied; /* the scan service took them (in effect until the kiosk restarts) */
	bool saved;   /* written to the settings file (false when no file is configured) */
	char error[MAINTENANCE_ERROR_MAX]; /* why not (English, for the technician) */
};
const struct maintenance_settings_result *maintenance_scanner_result(const struct maintenance *m);

#endif
