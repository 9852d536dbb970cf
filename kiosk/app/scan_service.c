/*
 * scan_service.c - the service thread that owns the scanner.
 *
 * One mutex guards the commands from the UI, the status snapshot and the event
 * queue; the driver, the open device, the running job, the libudev monitor and
 * the timers belong to the service thread alone (SANE is not thread-safe). The
 * only call made on the job from another thread is scan_job_cancel(), which
 * the job allows.
 *
 * The thread sleeps in poll() on an eventfd that the UI's commands write and
 * on the libudev monitor's socket (subsystem "usb", device type "usb_device":
 * a device's interfaces would report each change several times), with the
 * timeout of its next timer:
 *  - SEARCHING: the next attempt to find the device. An attempt makes the
 *    driver (sane_init(): libsane's backends probe the buses afresh, they cache
 *    what they found), lists the devices once, chooses one and opens it; a
 *    failed attempt destroys the driver again (sane_exit()). Attempts follow a
 *    backoff, retry_ms doubling up to retry_max_ms; a hotplug event brings the
 *    next one forward to HOTPLUG_DEBOUNCE_MS after the last event of a burst
 *    (at most HOTPLUG_BURST_MS after its first) and resets the backoff. From
 *    the end of one listing to the start of the next there are always at least
 *    retry_ms, whatever the events: never a tight loop. The one exception is
 *    the attempt right after a job that lost the device, made at once.
 *  - READY without udev: the liveness check (scanner_check(): for SANE's USB
 *    devices a stat() of the device node, no listing) every LIVENESS_MS, when
 *    the driver can tell.
 *  - READY after a remove event the driver cannot judge: one listing with the
 *    device open, debounced like an attempt; a device no longer listed is gone.
 * A remove event the driver can judge closes a vanished device at once.
 * Events that come while a job runs wait in the monitor's socket until the
 * job is over. The simulator keeps its driver throughout: its faults and
 * feeder live there, like paper and cable.
 */
#include "scan_service.h"

#include <errno.h>
#include <libudev.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define DEFAULT_RETRY_MS     2000
#define DEFAULT_RETRY_MAX_MS 60000
#define HOTPLUG_DEBOUNCE_MS  500   /* a listing waits this long after the last USB event */
#define HOTPLUG_BURST_MS     2000  /* ... but no longer than this after the burst's first */
#define LIVENESS_MS          10000 /* READY without udev: how often the device is checked */
#define UDEV_DRAIN_MAX       64    /* events taken in one turn; the rest in the next */
#define NEVER                UINT64_MAX
#define PROGRESS_NOTIFY_NS   33000000 /* at most ~30 progress wake-ups a second */
#define EVENT_QUEUE_INITIAL  16
#define LOG_EVERY_ATTEMPTS   10 /* while searching: one log line in so many attempts */
/* Queue slots kept for the events that end a job (FINISHED, STATE): a page
 * that cannot be queued is dropped, the end of a job never is. */
#define EVENT_QUEUE_RESERVE 4

struct scan_service {
	pthread_t thread;
	pthread_mutex_t lock;
	int wake_fd; /* eventfd: every command writes it, the service thread reads it */

	/* Set at create, read-only afterwards. */
	unsigned retry_ms;
	unsigned retry_max_ms;
	const struct scan_service_hooks *hooks;
	void (*notify)(void *userdata);
	void *userdata;

	/* Under lock. */
	bool quit;
	bool scan_pending;
	uint32_t pending_job;
	enum scan_service_source pending_source;
	uint32_t pending_max;
	uint32_t next_job;
	uint32_t cancel_job;  /* the job asked to stop (0: none) */
	uint32_t abort_job;   /* the job whose pages are dropped (0: none) */
	struct scan_job *job; /* running job, for scan_job_cancel() from the UI */
	uint32_t running_job;
	unsigned injected_added; /* scan_service_inject_hotplug() */
	unsigned injected_removed;
	struct scan_service_status status;
	struct scan_service_event *queue;
	size_t q_head, q_len, q_cap;
	/* The settings (scan_service_set_settings()); jobs copy opts at their
	 * start. want_device is the whole device name in effect (settings.device
	 * may be cut); next_device a change the service thread has not made yet
	 * (owned; NULL: none). */
	struct scan_options opts;
	struct scan_service_settings settings;
	char *want_device;
	char *next_device;
	/* Device listings: one asked for, one running, the generation the asked
	 * one will have, and the last answer. */
	bool list_requested;
	bool list_running;
	uint32_t list_target;
	struct scan_service_devices devices;

	/* Service thread only (the udev objects are made before it starts). */
	char *device; /* "" = first device; the simulator's spec when sim */
	bool sim;
	struct scanner_driver *drv;
	struct scanner *scanner;
	struct scanner_device ident; /* the device last opened: its name, and vendor,
	                              * model, serial when it was listed */
	bool ident_listed;           /* ident came from the listing */
	unsigned open_failures;
	uint64_t last_progress_notify;
	struct udev *udev;
	struct udev_monitor *monitor;
	int udev_fd;            /* -1: no hotplug events */
	uint64_t attempt_at;    /* SEARCHING: the next attempt; READY: the relist (NEVER: none) */
	unsigned backoff_ms;    /* the wait after the next failed attempt */
	bool listed;            /* there was a listing: last_list_end is valid */
	uint64_t last_list_end; /* when the last listing (attempt or relist) ended */
	bool in_burst;          /* hotplug events came since the last listing */
	uint64_t burst_start;
	bool relist;       /* READY: a remove event the driver could not judge */
	bool check_ok;     /* READY: the driver can check the device (scanner_check()) */
	uint64_t check_at; /* READY without udev: the next liveness check (NEVER: none) */
};

const char *scan_service_state_name(enum scan_service_state state)
{
	switch (state) {
	case SCAN_SERVICE_SEARCHING:
		return "searching";
	case SCAN_SERVICE_READY:
		return "ready";
	case SCAN_SERVICE_SCANNING:
		return "scanning";
	case SCAN_SERVICE_STATE_LAST:
		break;
	}
	return "";
}

const char *scan_problem_name(enum scan_problem problem)
{
	static const char *const names[SCAN_PROBLEM_LAST] = {
	        [SCAN_PROBLEM_NONE] = "none",
	        [SCAN_PROBLEM_NO_SCANNER] = "no-scanner",
	        [SCAN_PROBLEM_FEEDER_EMPTY] = "feeder-empty",
	        [SCAN_PROBLEM_JAMMED] = "jammed",
	        [SCAN_PROBLEM_COVER_OPEN] = "cover-open",
	        [SCAN_PROBLEM_DEVICE_GONE] = "device-gone",
	        [SCAN_PROBLEM_OTHER] = "other",
	};
	return (unsigned)problem < SCAN_PROBLEM_LAST ? names[problem] : "";
}

enum scan_problem scan_problem_from_status(enum scanner_status status)
{
	switch (status) {
	case SCANNER_OK:
	case SCANNER_PAGE_DONE:
	case SCANNER_CANCELLED:
		return SCAN_PROBLEM_NONE;
	case SCANNER_FEEDER_EMPTY:
		return SCAN_PROBLEM_FEEDER_EMPTY;
	case SCANNER_JAMMED:
		return SCAN_PROBLEM_JAMMED;
	case SCANNER_COVER_OPEN:
		return SCAN_PROBLEM_COVER_OPEN;
	case SCANNER_DEVICE_GONE:
		return SCAN_PROBLEM_DEVICE_GONE;
	case SCANNER_NO_DEVICE:
		return SCAN_PROBLEM_NO_SCANNER;
	case SCANNER_IO_ERROR:
	case SCANNER_BUSY:
	case SCANNER_UNSUPPORTED:
	case SCANNER_INVALID:
	case SCANNER_NO_MEMORY:
	case SCANNER_STATUS_LAST:
		break;
	}
	return SCAN_PROBLEM_OTHER;
}

void scan_service_config_init(struct scan_service_config *cfg)
{
	*cfg = (struct scan_service_config){.device = NULL, .retry_ms = DEFAULT_RETRY_MS};
	scan_options_init(&cfg->options);
}

/* The configuration's source, dpi and mode as scan options: adf is the
 * feeder; auto scans colour and stores grey content grey, color keeps
 * colour, gray scans grey. */
static void options_apply(struct scan_options *opts, enum config_scan_source source, uint32_t dpi,
                          enum config_scan_mode mode)
{
	opts->source =
	        source == CONFIG_SCAN_SOURCE_ADF ? SCANNER_SOURCE_FEEDER : SCANNER_SOURCE_FLATBED;
	opts->dpi = dpi;
	switch (mode) {
	case CONFIG_SCAN_MODE_COLOR:
		opts->color = SCAN_COLOR_KEEP;
		break;
	case CONFIG_SCAN_MODE_GRAY:
		opts->color = SCAN_COLOR_GRAY;
		break;
	case CONFIG_SCAN_MODE_AUTO:
	case CONFIG_SCAN_MODE_LAST:
		opts->color = SCAN_COLOR_AUTO;
		break;
	}
}

/* The reverse, for the settings a service created from scan options reports. */
static void settings_from_options(struct scan_service_settings *s, const struct scan_options *opts)
{
	s->source = opts->source == SCANNER_SOURCE_FLATBED ? CONFIG_SCAN_SOURCE_FLATBED
	                                                   : CONFIG_SCAN_SOURCE_ADF;
	s->dpi = opts->dpi;
	s->mode = opts->color == SCAN_COLOR_KEEP   ? CONFIG_SCAN_MODE_COLOR
	          : opts->color == SCAN_COLOR_GRAY ? CONFIG_SCAN_MODE_GRAY
	                                           : CONFIG_SCAN_MODE_AUTO;
}

void scan_service_config_apply(struct scan_service_config *cfg, const struct config *conf)
{
	cfg->device = conf->scanner.device;
	options_apply(&cfg->options, conf->scanner.source, conf->scanner.dpi, conf->scanner.mode);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Copies a string, cut to fit. */
static void copy_text(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* The timers' clock, in ms: monotonic, or a test's. */
static uint64_t clock_ms(const struct scan_service *svc)
{
	if (svc->hooks && svc->hooks->now_ms)
		return svc->hooks->now_ms(svc->hooks->userdata);
	return now_ns() / 1000000u;
}

/* Wakes the service thread from its poll(). Never blocks. */
static void wake(struct scan_service *svc)
{
	uint64_t one = 1;
	/* EAGAIN: the counter is full, so a wake-up is pending anyway. */
	if (write(svc->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error_errno("scanner: cannot wake the scanner thread");
}

/* --- the event queue (under lock) --- */

static bool queue_push(struct scan_service *svc, const struct scan_service_event *ev)
{
	if (svc->q_head > 0 && svc->q_head == svc->q_len) {
		svc->q_head = svc->q_len = 0;
	}
	/* A state change not yet taken is replaced by the newer one. */
	if (ev->kind == SCAN_SERVICE_EVENT_STATE && svc->q_len > svc->q_head &&
	    svc->queue[svc->q_len - 1].kind == SCAN_SERVICE_EVENT_STATE) {
		svc->queue[svc->q_len - 1] = *ev;
		return true;
	}
	/* Pages and page starts leave the reserve free for the job's end. */
	bool ending =
	        ev->kind == SCAN_SERVICE_EVENT_FINISHED || ev->kind == SCAN_SERVICE_EVENT_STATE;
	size_t keep = ending ? 0 : EVENT_QUEUE_RESERVE;
	if (svc->q_len + keep >= svc->q_cap && svc->q_head > 0) {
		memmove(svc->queue, svc->queue + svc->q_head,
		        (svc->q_len - svc->q_head) * sizeof(*svc->queue));
		svc->q_len -= svc->q_head;
		svc->q_head = 0;
	}
	if (svc->q_len + keep >= svc->q_cap) {
		size_t cap = svc->q_cap * 2;
		struct scan_service_event *q = realloc(svc->queue, cap * sizeof(*q));
		if (q) {
			svc->queue = q;
			svc->q_cap = cap;
		}
	}
	if (svc->q_len + keep >= svc->q_cap)
		return false;
	svc->queue[svc->q_len++] = *ev;
	return true;
}

/* Drops every page not yet taken (zeroed with the page). */
static void queue_drop_pages(struct scan_service *svc)
{
	size_t out = svc->q_head;
	for (size_t i = svc->q_head; i < svc->q_len; i++) {
		if (svc->queue[i].kind == SCAN_SERVICE_EVENT_PAGE_READY) {
			scan_page_destroy(svc->queue[i].page_result);
			continue;
		}
		svc->queue[out++] = svc->queue[i];
	}
	svc->q_len = out;
}

/* Sets the state and problem and queues a STATE event when either changed. */
static void set_state(struct scan_service *svc, enum scan_service_state state,
                      enum scan_problem problem)
{
	if (svc->status.state == state && svc->status.problem == problem)
		return;
	log_info("scanner: %s (%s) -> %s (%s)", scan_service_state_name(svc->status.state),
	         scan_problem_name(svc->status.problem), scan_service_state_name(state),
	         scan_problem_name(problem));
	svc->status.state = state;
	svc->status.problem = problem;
	queue_push(svc, &(struct scan_service_event){.kind = SCAN_SERVICE_EVENT_STATE,
	                                             .state = state,
	                                             .problem = problem});
}

static void notify(struct scan_service *svc)
{
	if (svc->notify)
		svc->notify(svc->userdata);
}

/* --- the service thread --- */

static void handle_driver_log(enum scanner_log_level level, const char *msg, void *userdata)
{
	struct scan_service *svc = userdata;
	static const enum log_level map[] = {
	        [SCANNER_LOG_ERROR] = LOG_LEVEL_ERROR,
	        [SCANNER_LOG_WARNING] = LOG_LEVEL_WARNING,
	        [SCANNER_LOG_INFO] = LOG_LEVEL_INFO,
	        [SCANNER_LOG_DEBUG] = LOG_LEVEL_DEBUG,
	};
	/* While searching, the same complaint comes with every attempt: keep the
	 * first and every LOG_EVERY_ATTEMPTS-th. open_failures is the service
	 * thread's, and so is every call into the driver. */
	if (svc && svc->open_failures % LOG_EVERY_ATTEMPTS != 0)
		return;
	log_write((unsigned)level <= SCANNER_LOG_DEBUG ? map[level] : LOG_LEVEL_DEBUG, __FILE__,
	          __LINE__, "%s", msg);
}

/* The simulator's driver holds its feeder and faults: it stays. Every other
 * driver is made for an attempt and dropped when the device is gone. */
static bool keeps_driver(const struct scan_service *svc)
{
	return svc->sim;
}

static void close_device(struct scan_service *svc, bool drop_driver)
{
	scanner_close(svc->scanner);
	svc->scanner = NULL;
	if (drop_driver) {
		scanner_driver_destroy(svc->drv);
		svc->drv = NULL;
	}
}

static struct scanner_driver *make_driver(struct scan_service *svc)
{
	if (svc->hooks && svc->hooks->create_driver)
		return svc->hooks->create_driver(svc->hooks->userdata);
	if (svc->sim)
		return scanner_sim_create(svc->device, handle_driver_log, svc);
	return scanner_sane_create();
}

/* The same device: vendor, model and serial ("" on both sides when the driver
 * knows none). A device without vendor and model is nobody in particular. */
static bool same_device(const struct scanner_device *a, const struct scanner_device *b)
{
	return (a->vendor[0] || a->model[0]) && strcmp(a->vendor, b->vendor) == 0 &&
	       strcmp(a->model, b->model) == 0 && strcmp(a->serial, b->serial) == 0;
}

/*
 * Which listed device to open:
 *  - the device opened before (same vendor, model, serial), under whatever
 *    name it has now; among several alike (no serial), the one under its old
 *    name first, then the configured one;
 *  - else the configured name, if listed;
 *  - else, with no name configured, the first device.
 * NULL when none of these is listed (a configured name may open all the same:
 * some backends open devices they do not list).
 */
static const struct scanner_device *choose_device(const struct scan_service *svc,
                                                  const struct scanner_device *devs, size_t n)
{
	const char *want = svc->sim ? "" : svc->device;
	const struct scanner_device *best = NULL;
	int best_score = -1;
	for (size_t i = 0; i < n; i++) {
		bool same = svc->ident_listed && same_device(&devs[i], &svc->ident);
		bool named = *want && strcmp(devs[i].name, want) == 0;
		if (*want && !same && !named)
			continue;
		int score = (same ? 4 : 0) +
		            (same && strcmp(devs[i].name, svc->ident.name) == 0 ? 2 : 0) +
		            (named ? 1 : 0);
		if (score > best_score) {
			best = &devs[i];
			best_score = score;
		}
	}
	return best;
}

/* A listing a technician asked for (scan_service_list_devices()). */
struct listing {
	enum scanner_status status;
	struct scanner_device *devs; /* owned; NULL when the listing failed */
	size_t n;
};

/* One attempt to find and open the device: driver, one listing, choice, open.
 * Fills *caps and *dev (what was opened); the listing goes to *lst as well
 * when asked for (lst may be NULL). Runs without the lock. */
static bool try_open(struct scan_service *svc, struct scanner_caps *caps,
                     struct scanner_device *dev, struct listing *lst)
{
	struct scanner_device *devs = NULL;
	size_t n = 0;
	bool ok = false;
	bool log_now = svc->open_failures % LOG_EVERY_ATTEMPTS == 0;

	if (svc->hooks && svc->hooks->before_open)
		svc->hooks->before_open(svc->hooks->userdata);
	if (!svc->drv) {
		svc->drv = make_driver(svc);
		if (!svc->drv) {
			if (lst)
				lst->status = SCANNER_IO_ERROR;
			if (log_now)
				log_warning("scanner driver cannot start; trying again later");
			goto out;
		}
		scanner_driver_set_log(svc->drv, handle_driver_log, svc);
	}
	enum scanner_status st = scanner_driver_list(svc->drv, &devs, &n);
	if (lst)
		lst->status = st;
	if (st != SCANNER_OK) {
		if (log_now)
			log_warning("scanner: cannot list devices: %s", scanner_strerror(st));
		n = 0;
	}
	const struct scanner_device *pick = choose_device(svc, devs, n);
	const char *name = pick ? pick->name : svc->sim ? "" : svc->device;
	st = pick || *name ? scanner_driver_open(svc->drv, name, &svc->scanner) : SCANNER_NO_DEVICE;
	if (st != SCANNER_OK) {
		svc->scanner = NULL;
		if (log_now) {
			log_warning(
			        "scanner not found (%s); %zu device(s) listed; looking again later",
			        scanner_strerror(st), n);
			for (size_t i = 0; i < n; i++)
				log_info("scanner: listed %s: %s %s", devs[i].name, devs[i].vendor,
				         devs[i].model);
		}
		goto out;
	}
	if (pick) {
		*dev = *pick;
	} else {
		memset(dev, 0, sizeof(*dev));
		snprintf(dev->name, sizeof(dev->name), "%s", name);
	}
	scanner_caps(svc->scanner, caps);
	ok = true;
out:
	if (lst && lst->status == SCANNER_OK) {
		lst->devs = devs;
		lst->n = n;
		devs = NULL;
	}
	free(devs);
	if (ok) {
		svc->open_failures = 0;
	} else {
		svc->open_failures++;
		if (!keeps_driver(svc)) {
			/* Nothing of libsane stays loaded between attempts. */
			scanner_driver_destroy(svc->drv);
			svc->drv = NULL;
		}
	}
	return ok;
}

/* The earliest a listing may start: retry_ms after the end of the last. */
static uint64_t after_gap(const struct scan_service *svc, uint64_t at)
{
	if (svc->listed && at < svc->last_list_end + svc->retry_ms)
		return svc->last_list_end + svc->retry_ms;
	return at;
}

static void listing_done(struct scan_service *svc, uint64_t now)
{
	svc->listed = true;
	svc->last_list_end = now;
	svc->in_burst = false;
}

/* A hotplug event: list HOTPLUG_DEBOUNCE_MS after the last of a burst. */
static void schedule_listing(struct scan_service *svc, uint64_t now)
{
	if (!svc->in_burst) {
		svc->in_burst = true;
		svc->burst_start = now;
	}
	uint64_t at = now + HOTPLUG_DEBOUNCE_MS;
	if (at > svc->burst_start + HOTPLUG_BURST_MS)
		at = svc->burst_start + HOTPLUG_BURST_MS;
	svc->attempt_at = after_gap(svc, at);
}

/* Ends a job accepted while READY that cannot run: the device went. Under lock. */
static void fail_pending(struct scan_service *svc, enum scan_problem problem,
                         enum scanner_status status)
{
	if (!svc->scan_pending)
		return;
	uint32_t id = svc->pending_job;
	svc->scan_pending = false;
	queue_push(svc, &(struct scan_service_event){
	                        .kind = SCAN_SERVICE_EVENT_FINISHED,
	                        .job = id,
	                        .problem = problem,
	                        .cancelled = svc->cancel_job == id,
	                        .status = status,
	                });
	if (svc->cancel_job == id)
		svc->cancel_job = 0;
	if (svc->abort_job == id)
		svc->abort_job = 0;
}

/* Without udev: does the driver offer a cheap check of the open device? */
static void start_liveness(struct scan_service *svc, uint64_t now)
{
	svc->check_ok = false;
	svc->check_at = NEVER;
	if (svc->udev_fd >= 0 || !svc->scanner)
		return;
	enum scanner_status st = scanner_check(svc->scanner);
	if (st == SCANNER_UNSUPPORTED) {
		log_info("scanner: %s cannot be checked while idle; without hotplug events an "
		         "unplugged scanner shows at the next scan",
		         svc->ident.name);
		return;
	}
	svc->check_ok = true;
	svc->check_at = now + LIVENESS_MS;
}

/* The device went while no job ran: close it and say so at once. */
static void device_lost(struct scan_service *svc, uint64_t now)
{
	close_device(svc, !keeps_driver(svc));
	svc->relist = false;
	svc->check_ok = false;
	svc->check_at = NEVER;
	svc->backoff_ms = svc->retry_ms;
	svc->attempt_at = after_gap(svc, now);
	pthread_mutex_lock(&svc->lock);
	fail_pending(svc, SCAN_PROBLEM_DEVICE_GONE, SCANNER_DEVICE_GONE);
	set_state(svc, SCAN_SERVICE_SEARCHING, SCAN_PROBLEM_DEVICE_GONE);
	pthread_mutex_unlock(&svc->lock);
	notify(svc);
}

/* SEARCHING: one attempt, then READY or the next attempt on the backoff.
 * lst (may be NULL): a technician's listing, made by this attempt. */
static void search(struct scan_service *svc, struct listing *lst)
{
	struct scanner_caps caps;
	struct scanner_device dev;
	bool found = try_open(svc, &caps, &dev, lst);
	uint64_t now = clock_ms(svc);
	listing_done(svc, now);

	if (!found) {
		svc->attempt_at = now + svc->backoff_ms;
		svc->backoff_ms = svc->backoff_ms >= svc->retry_max_ms / 2 ? svc->retry_max_ms
		                                                           : svc->backoff_ms * 2;
		pthread_mutex_lock(&svc->lock);
		/* Keep "device gone" on screen while looking for it again. */
		enum scan_problem p = svc->status.problem == SCAN_PROBLEM_DEVICE_GONE
		                              ? SCAN_PROBLEM_DEVICE_GONE
		                              : SCAN_PROBLEM_NO_SCANNER;
		bool changed = svc->status.state != SCAN_SERVICE_SEARCHING ||
		               svc->status.problem != p || svc->scan_pending;
		fail_pending(svc, p, SCANNER_NO_DEVICE);
		set_state(svc, SCAN_SERVICE_SEARCHING, p);
		pthread_mutex_unlock(&svc->lock);
		if (changed)
			notify(svc);
		return;
	}

	svc->ident = dev;
	svc->ident_listed = dev.vendor[0] || dev.model[0];
	svc->attempt_at = NEVER;
	svc->backoff_ms = svc->retry_ms;
	svc->relist = false;
	log_info("scanner: opened %s (%s %s%s%s)", dev.name, dev.vendor, dev.model,
	         dev.serial[0] ? ", serial " : "", dev.serial);
	start_liveness(svc, now);

	char model[sizeof(dev.vendor) + sizeof(dev.model)];
	if (svc->ident_listed)
		snprintf(model, sizeof(model), "%s%s%s", dev.vendor,
		         dev.vendor[0] && dev.model[0] ? " " : "", dev.model);
	else
		copy_text(model, sizeof(model), dev.name);

	pthread_mutex_lock(&svc->lock);
	struct scan_service_status *st = &svc->status;
	st->has_flatbed = caps.sources & (1u << SCANNER_SOURCE_FLATBED);
	st->has_feeder =
	        caps.sources & ((1u << SCANNER_SOURCE_FEEDER) | (1u << SCANNER_SOURCE_DUPLEX));
	copy_text(st->model, sizeof(st->model), model);
	copy_text(st->serial, sizeof(st->serial), dev.serial);
	copy_text(st->device, sizeof(st->device), dev.name);
	/* A change of device asked for meanwhile is made next: no scan on this
	 * one. */
	if (!svc->next_device)
		set_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	pthread_mutex_unlock(&svc->lock);
	notify(svc);
}

/* The name a listed device goes by in [scanner] device: the simulator's is
 * the whole "sim:SPEC" the service runs, when it fits. */
static void listed_name(const struct scan_service *svc, const struct scanner_device *d, char *out,
                        size_t size)
{
	if (svc->sim && strcmp(d->name, "sim") == 0 && strlen(svc->device) + 4 < size)
		snprintf(out, size, "sim:%s", svc->device);
	else
		copy_text(out, size, d->name);
}

/* A technician asked for the devices: with a device open its driver lists
 * them; while searching, an attempt lists them (and opens the device if it
 * is there now). The answer becomes the next generation. */
static void run_listing(struct scan_service *svc)
{
	pthread_mutex_lock(&svc->lock);
	svc->list_requested = false;
	svc->list_running = true;
	pthread_mutex_unlock(&svc->lock);

	struct listing lst = {.status = SCANNER_OK};
	if (!svc->scanner) {
		search(svc, &lst);
	} else {
		lst.status = scanner_driver_list(svc->drv, &lst.devs, &lst.n);
		listing_done(svc, clock_ms(svc));
		if (lst.status != SCANNER_OK) {
			free(lst.devs);
			lst.devs = NULL;
			lst.n = 0;
		}
	}
	if (lst.status == SCANNER_OK)
		log_info("scanner: %zu device(s) listed", lst.n);
	else
		log_warning("scanner: cannot list devices: %s", scanner_strerror(lst.status));

	pthread_mutex_lock(&svc->lock);
	struct scan_service_devices *d = &svc->devices;
	memset(d->devices, 0, sizeof(d->devices));
	d->generation++;
	if (d->generation == 0)
		d->generation = 1;
	d->status = lst.status;
	d->total = lst.n;
	d->count = lst.n < SCAN_SERVICE_DEVICES_MAX ? lst.n : SCAN_SERVICE_DEVICES_MAX;
	for (size_t i = 0; i < d->count; i++) {
		const struct scanner_device *src = &lst.devs[i];
		struct scan_service_device *dst = &d->devices[i];
		listed_name(svc, src, dst->name, sizeof(dst->name));
		copy_text(dst->vendor, sizeof(dst->vendor), src->vendor);
		copy_text(dst->model, sizeof(dst->model), src->model);
		copy_text(dst->serial, sizeof(dst->serial), src->serial);
		dst->open = svc->scanner && strcmp(src->name, svc->ident.name) == 0;
		log_info("scanner: listed %s: %s %s%s%s%s", dst->name, dst->vendor, dst->model,
		         dst->serial[0] ? ", serial " : "", dst->serial,
		         dst->open ? " (open)" : "");
	}
	svc->list_running = false;
	pthread_mutex_unlock(&svc->lock);
	free(lst.devs);
	notify(svc);
}

/* The device in the settings changed: close the open one (and its driver:
 * a simulator's spec may be another now), forget its identity and look for
 * the new one at once. */
static void change_device(struct scan_service *svc)
{
	pthread_mutex_lock(&svc->lock);
	char *next = svc->next_device;
	svc->next_device = NULL;
	pthread_mutex_unlock(&svc->lock);
	if (!next)
		return;
	close_device(svc, true);
	bool sim = !(svc->hooks && svc->hooks->create_driver) && strncmp(next, "sim:", 4) == 0;
	if (sim)
		memmove(next, next + 4, strlen(next + 4) + 1);
	free(svc->device);
	svc->device = next;
	svc->sim = sim;
	log_info("scanner: the device is now %s%s; looking for it", sim ? "the simulator " : "",
	         sim     ? ""
	         : *next ? next
	                 : "the first found");
	memset(&svc->ident, 0, sizeof(svc->ident));
	svc->ident_listed = false;
	svc->relist = false;
	svc->check_ok = false;
	svc->check_at = NEVER;
	svc->in_burst = false;
	svc->open_failures = 0;
	svc->backoff_ms = svc->retry_ms;
	/* At once: a technician's choice, not a loop. */
	svc->attempt_at = clock_ms(svc);
	pthread_mutex_lock(&svc->lock);
	set_state(svc, SCAN_SERVICE_SEARCHING, SCAN_PROBLEM_NONE);
	pthread_mutex_unlock(&svc->lock);
	notify(svc);
}

/* READY: a remove event the driver could not judge. Is the device still listed? */
static void relist_open_device(struct scan_service *svc)
{
	struct scanner_device *devs = NULL;
	size_t n = 0;
	enum scanner_status st = scanner_driver_list(svc->drv, &devs, &n);
	uint64_t now = clock_ms(svc);
	listing_done(svc, now);
	svc->relist = false;
	svc->attempt_at = NEVER;
	bool there = false;
	for (size_t i = 0; i < n && !there; i++)
		there = strcmp(devs[i].name, svc->ident.name) == 0;
	free(devs);
	if (st == SCANNER_OK && !there) {
		log_info("scanner: %s is no longer listed: unplugged", svc->ident.name);
		device_lost(svc, now);
	}
}

/* READY without udev: is the device still attached? */
static void liveness_check(struct scan_service *svc, uint64_t now)
{
	enum scanner_status st = scanner_check(svc->scanner);
	if (st == SCANNER_DEVICE_GONE) {
		log_info("scanner: %s was unplugged", svc->ident.name);
		device_lost(svc, now);
		return;
	}
	svc->check_ok = st == SCANNER_OK;
	svc->check_at = svc->check_ok ? now + LIVENESS_MS : NEVER;
}

/* USB devices came or went (libudev, or a test). */
static void handle_hotplug(struct scan_service *svc, uint64_t now, unsigned added, unsigned removed)
{
	log_debug("scanner: USB devices: %u added, %u removed", added, removed);
	if (!svc->scanner) {
		svc->backoff_ms = svc->retry_ms;
		schedule_listing(svc, now);
		return;
	}
	if (!removed)
		return; /* another device came: ours is still open */
	enum scanner_status st = scanner_check(svc->scanner);
	if (st == SCANNER_DEVICE_GONE) {
		log_info("scanner: %s was unplugged", svc->ident.name);
		device_lost(svc, now);
	} else if (st != SCANNER_OK && svc->ident_listed) {
		/* The driver cannot tell: see whether it still lists the device. */
		svc->relist = true;
		schedule_listing(svc, now);
	}
}

/* Takes what the udev monitor has (without waiting). */
static void hotplug_receive(struct scan_service *svc, unsigned *added, unsigned *removed)
{
	if (svc->udev_fd < 0)
		return;
	for (int i = 0; i < UDEV_DRAIN_MAX; i++) {
		errno = 0;
		struct udev_device *d = udev_monitor_receive_device(svc->monitor);
		if (!d) {
			if (errno != ENOBUFS)
				break;
			/* The socket overflowed and events were lost: assume both. */
			(*added)++;
			(*removed)++;
			continue;
		}
		const char *action = udev_device_get_action(d);
		if (action && strcmp(action, "add") == 0)
			(*added)++;
		else if (action && strcmp(action, "remove") == 0)
			(*removed)++;
		udev_device_unref(d);
	}
}

static void hotplug_stop(struct scan_service *svc)
{
	svc->monitor = udev_monitor_unref(svc->monitor);
	svc->udev = udev_unref(svc->udev);
	svc->udev_fd = -1;
}

/* Listens for USB devices coming and going, where udev runs. Without it
 * (containers, tests, no udevd) the service works on timers alone. */
static void hotplug_start(struct scan_service *svc, bool off)
{
	const char *why = NULL;
	svc->udev_fd = -1;
	if (off) {
		why = "switched off";
	} else if (!(svc->udev = udev_new())) {
		why = "libudev cannot start";
	} else {
		struct udev_queue *q = udev_queue_new(svc->udev);
		/* The monitor hears udevd, not the kernel: without udevd, nothing. */
		if (!q || !udev_queue_get_udev_is_active(q))
			why = "udevd is not running";
		udev_queue_unref(q);
	}
	if (!why) {
		svc->monitor = udev_monitor_new_from_netlink(svc->udev, "udev");
		if (!svc->monitor ||
		    udev_monitor_filter_add_match_subsystem_devtype(svc->monitor, "usb",
		                                                    "usb_device") < 0 ||
		    udev_monitor_enable_receiving(svc->monitor) < 0)
			why = "cannot listen to udev";
		else
			svc->udev_fd = udev_monitor_get_fd(svc->monitor);
	}
	if (why) {
		hotplug_stop(svc);
		log_info(
		        "scanner: no USB hotplug events (%s): looking for the scanner every %u ms, "
		        "doubling up to %u ms; an open scanner is checked every %u s where its "
		        "driver can tell",
		        why, svc->retry_ms, svc->retry_max_ms, LIVENESS_MS / 1000);
	} else {
		log_info("scanner: watching USB hotplug events");
	}
	svc->status.hotplug = !why;
}

static int timeout_until(uint64_t due, uint64_t now)
{
	if (due == NEVER)
		return -1;
	if (due <= now)
		return 0;
	return due - now > INT_MAX ? INT_MAX : (int)(due - now);
}

/* Sleeps until a command, a hotplug event or the next timer. */
static void wait_for_work(struct scan_service *svc, uint64_t now)
{
	uint64_t due = NEVER;
	if (!svc->scanner) {
		due = svc->attempt_at;
	} else {
		if (svc->relist)
			due = svc->attempt_at;
		if (svc->check_at < due)
			due = svc->check_at;
	}
	int timeout = timeout_until(due, now);
	if (svc->hooks && svc->hooks->before_wait) {
		svc->hooks->before_wait(svc->hooks->userdata, timeout);
		timeout = timeout_until(due, clock_ms(svc));
	}
	struct pollfd fds[2] = {
	        {.fd = svc->wake_fd, .events = POLLIN},
	        {.fd = svc->udev_fd, .events = POLLIN},
	};
	int n = poll(fds, svc->udev_fd >= 0 ? 2 : 1, timeout);
	if (n < 0) {
		if (errno != EINTR) {
			log_error_errno("scanner: poll");
			/* Not a tight loop, whatever broke. */
			nanosleep(&(struct timespec){.tv_sec = 1}, NULL);
		}
		return;
	}
	if (fds[0].revents & POLLIN) {
		uint64_t count;
		if (read(svc->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
			log_error_errno("scanner: wake-up");
	}
	if (svc->udev_fd >= 0 && (fds[1].revents & (POLLHUP | POLLNVAL))) {
		/* POLLERR alone is an overflow, which the next receive reports. */
		log_warning("scanner: the udev monitor failed; on timers from now on");
		hotplug_stop(svc);
		pthread_mutex_lock(&svc->lock);
		svc->status.hotplug = false;
		pthread_mutex_unlock(&svc->lock);
		start_liveness(svc, clock_ms(svc));
	}
}

static void handle_job_notify(void *userdata)
{
	(void)userdata; /* the service thread waits on the job's events itself */
}

/* Runs one job to its end. Called without the lock. */
static void run_job(struct scan_service *svc, uint32_t id, enum scan_service_source source,
                    uint32_t max_pages)
{
	enum scanner_status status = SCANNER_CANCELLED;
	unsigned pages_done = 0;
	struct scan_job *job = NULL;

	if (svc->hooks && svc->hooks->before_job)
		svc->hooks->before_job(svc->hooks->userdata);
	pthread_mutex_lock(&svc->lock);
	struct scan_options opts = svc->opts; /* no settings change while a job is accepted */
	bool stop = svc->quit || svc->cancel_job == id || svc->abort_job == id;
	pthread_mutex_unlock(&svc->lock);
	if (source == SCAN_SERVICE_SOURCE_FLATBED)
		opts.source = SCANNER_SOURCE_FLATBED;
	else if (source == SCAN_SERVICE_SOURCE_FEEDER)
		opts.source = SCANNER_SOURCE_FEEDER;
	/* The job's 0 is "until the feeder is empty". */
	opts.max_pages = max_pages == SCAN_SERVICE_UNLIMITED ? 0 : max_pages;
	if (!stop)
		job = scan_job_start(svc->scanner, &opts, handle_job_notify, NULL, &status);

	if (job) {
		pthread_mutex_lock(&svc->lock);
		svc->job = job;
		/* A cancel that came while the job was being set up. */
		if (svc->quit || svc->cancel_job == id || svc->abort_job == id)
			scan_job_cancel(job);
		pthread_mutex_unlock(&svc->lock);

		struct scan_event ev;
		for (;;) {
			if (!scan_job_next_event(job, &ev, 250))
				continue;
			bool wake = true;
			pthread_mutex_lock(&svc->lock);
			switch (ev.kind) {
			case SCAN_EVENT_PAGE_STARTED:
				svc->status.page = ev.page;
				svc->status.lines_done = 0;
				svc->status.lines_total = ev.lines_total;
				queue_push(svc, &(struct scan_service_event){
				                        .kind = SCAN_SERVICE_EVENT_PAGE_STARTED,
				                        .job = id,
				                        .page = ev.page});
				break;
			case SCAN_EVENT_PROGRESS: {
				svc->status.lines_done = ev.lines_done;
				svc->status.lines_total = ev.lines_total;
				uint64_t t = now_ns();
				wake = t - svc->last_progress_notify >= PROGRESS_NOTIFY_NS;
				if (wake)
					svc->last_progress_notify = t;
				break;
			}
			case SCAN_EVENT_PAGE_READY:
				if (svc->abort_job == id || svc->quit ||
				    !queue_push(svc, &(struct scan_service_event){
				                             .kind = SCAN_SERVICE_EVENT_PAGE_READY,
				                             .job = id,
				                             .page = ev.page,
				                             .page_result = ev.result})) {
					scan_page_destroy(ev.result);
				} else {
					svc->status.pages_done++;
				}
				break;
			case SCAN_EVENT_FINISHED:
			case SCAN_EVENT_LAST:
				status = ev.status;
				pages_done = ev.pages_done;
				break;
			}
			pthread_mutex_unlock(&svc->lock);
			if (ev.kind == SCAN_EVENT_FINISHED)
				break;
			if (wake)
				notify(svc);
		}
		pthread_mutex_lock(&svc->lock);
		svc->job = NULL;
		pthread_mutex_unlock(&svc->lock);
		scan_job_destroy(job);
	}

	enum scan_problem problem = scan_problem_from_status(status);
	/* After these the device is closed and found again: a replugged USB
	 * scanner is a new device to libsane. */
	bool reopen = status == SCANNER_DEVICE_GONE || status == SCANNER_IO_ERROR ||
	              status == SCANNER_NO_DEVICE;
	log_info("scan job %u finished: %s, %u pages", id, scanner_strerror(status), pages_done);
	uint64_t now = clock_ms(svc);
	if (reopen) {
		close_device(svc, !keeps_driver(svc));
		svc->relist = false;
		svc->check_ok = false;
		svc->check_at = NEVER;
		svc->backoff_ms = svc->retry_ms;
		/* At once, as at start: an I/O error may have left the device there,
		 * and the customer waits to scan again. A job is no loop. */
		svc->attempt_at = now;
	} else if (svc->check_ok) {
		svc->check_at = now + LIVENESS_MS;
	}

	pthread_mutex_lock(&svc->lock);
	queue_push(svc, &(struct scan_service_event){
	                        .kind = SCAN_SERVICE_EVENT_FINISHED,
	                        .job = id,
	                        .problem = problem,
	                        .pages_done = pages_done,
	                        .cancelled = status == SCANNER_CANCELLED,
	                        .status = status,
	                });
	svc->running_job = 0;
	svc->status.page = 0;
	svc->status.lines_done = 0;
	svc->status.lines_total = 0;
	if (svc->cancel_job == id)
		svc->cancel_job = 0;
	if (svc->abort_job == id)
		svc->abort_job = 0;
	set_state(svc, reopen ? SCAN_SERVICE_SEARCHING : SCAN_SERVICE_READY, problem);
	pthread_mutex_unlock(&svc->lock);
	notify(svc);
}

/* Takes the job accepted by scan_service_start() and runs it. */
static void run_pending(struct scan_service *svc)
{
	pthread_mutex_lock(&svc->lock);
	if (!svc->scan_pending) {
		pthread_mutex_unlock(&svc->lock);
		return;
	}
	uint32_t id = svc->pending_job;
	enum scan_service_source source = svc->pending_source;
	uint32_t max = svc->pending_max;
	svc->scan_pending = false;
	svc->running_job = id;
	pthread_mutex_unlock(&svc->lock);
	run_job(svc, id, source, max);
}

static void *service_thread(void *arg)
{
	struct scan_service *svc = arg;
	for (;;) {
		pthread_mutex_lock(&svc->lock);
		bool quit = svc->quit;
		bool pending = svc->scan_pending;
		bool list = svc->list_requested;
		bool change = svc->next_device != NULL;
		unsigned added = svc->injected_added, removed = svc->injected_removed;
		svc->injected_added = svc->injected_removed = 0;
		pthread_mutex_unlock(&svc->lock);
		if (quit)
			break;
		hotplug_receive(svc, &added, &removed);
		uint64_t now = clock_ms(svc);
		if (added || removed)
			handle_hotplug(svc, now, added, removed);

		if (change) {
			change_device(svc);
			continue;
		}
		if (!svc->scanner) {
			if (list) {
				run_listing(svc);
				continue;
			}
			if (now >= svc->attempt_at) {
				search(svc, NULL);
				continue;
			}
		} else if (pending) {
			run_pending(svc);
			continue;
		} else if (list) {
			run_listing(svc);
			continue;
		} else if (svc->relist && now >= svc->attempt_at) {
			relist_open_device(svc);
			continue;
		} else if (now >= svc->check_at) {
			liveness_check(svc, now);
			continue;
		}
		wait_for_work(svc, now);
	}
	close_device(svc, true);
	return NULL;
}

/* --- the UI's side --- */

struct scan_service *scan_service_create(const struct scan_service_config *cfg,
                                         void (*notify_fn)(void *userdata), void *userdata)
{
	struct scan_service *svc = calloc(1, sizeof(*svc));
	if (!svc)
		return NULL;
	svc->wake_fd = -1;
	svc->udev_fd = -1;
	const char *device = cfg->device ? cfg->device : "";
	svc->hooks = cfg->hooks;
	svc->sim = !(svc->hooks && svc->hooks->create_driver) && strncmp(device, "sim:", 4) == 0;
	svc->device = strdup(svc->sim ? device + 4 : device);
	svc->want_device = strdup(device);
	svc->queue = calloc(EVENT_QUEUE_INITIAL, sizeof(*svc->queue));
	svc->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!svc->device || !svc->want_device || !svc->queue || svc->wake_fd < 0) {
		log_error_errno("cannot set up the scanner thread");
		goto fail;
	}
	svc->q_cap = EVENT_QUEUE_INITIAL;
	svc->opts = cfg->options;
	copy_text(svc->settings.device, sizeof(svc->settings.device), device);
	settings_from_options(&svc->settings, &cfg->options);
	svc->retry_ms = cfg->retry_ms ? cfg->retry_ms : DEFAULT_RETRY_MS;
	svc->retry_max_ms = cfg->retry_max_ms ? cfg->retry_max_ms : DEFAULT_RETRY_MAX_MS;
	if (svc->retry_max_ms < svc->retry_ms)
		svc->retry_max_ms = svc->retry_ms;
	svc->backoff_ms = svc->retry_ms;
	svc->attempt_at = 0; /* at once */
	svc->check_at = NEVER;
	svc->notify = notify_fn;
	svc->userdata = userdata;
	svc->status.state = SCAN_SERVICE_SEARCHING;
	svc->status.problem = SCAN_PROBLEM_NONE;
	svc->next_job = 1;
	hotplug_start(svc, cfg->no_udev);

	pthread_mutex_init(&svc->lock, NULL);
	if (pthread_create(&svc->thread, NULL, service_thread, svc) != 0) {
		log_error("cannot start the scanner thread");
		pthread_mutex_destroy(&svc->lock);
		goto fail;
	}
	return svc;
fail:
	hotplug_stop(svc);
	if (svc->wake_fd >= 0)
		close(svc->wake_fd);
	free(svc->queue);
	free(svc->device);
	free(svc->want_device);
	free(svc);
	return NULL;
}

void scan_service_destroy(struct scan_service *svc)
{
	if (!svc)
		return;
	pthread_mutex_lock(&svc->lock);
	svc->quit = true;
	if (svc->job)
		scan_job_cancel(svc->job);
	pthread_mutex_unlock(&svc->lock);
	wake(svc);
	pthread_join(svc->thread, NULL);
	hotplug_stop(svc);
	queue_drop_pages(svc);
	free(svc->queue);
	close(svc->wake_fd);
	pthread_mutex_destroy(&svc->lock);
	free(svc->device);
	free(svc->want_device);
	free(svc->next_device);
	free(svc);
}

bool scan_service_poll(struct scan_service *svc, struct scan_service_event *ev)
{
	bool got = false;
	pthread_mutex_lock(&svc->lock);
	if (svc->q_head < svc->q_len) {
		*ev = svc->queue[svc->q_head];
		/* No copy of a page pointer stays behind in the queue. */
		memset(&svc->queue[svc->q_head], 0, sizeof(*svc->queue));
		svc->q_head++;
		got = true;
		if (svc->q_head == svc->q_len)
			svc->q_head = svc->q_len = 0;
	}
	pthread_mutex_unlock(&svc->lock);
	return got;
}

void scan_service_get_status(struct scan_service *svc, struct scan_service_status *out)
{
	pthread_mutex_lock(&svc->lock);
	*out = svc->status;
	pthread_mutex_unlock(&svc->lock);
}

void scan_service_event_discard(struct scan_service_event *ev)
{
	if (!ev)
		return;
	if (ev->kind == SCAN_SERVICE_EVENT_PAGE_READY)
		scan_page_destroy(ev->page_result);
	memset(ev, 0, sizeof(*ev));
}

uint32_t scan_service_scan(struct scan_service *svc, enum scan_service_source source,
                           unsigned max_pages)
{
	return scan_service_start(svc, source, max_pages ? max_pages : SCAN_SERVICE_UNLIMITED);
}

uint32_t scan_service_start(struct scan_service *svc, enum scan_service_source source,
                            uint32_t max_pages)
{
	uint32_t id = 0;
	if ((unsigned)source >= SCAN_SERVICE_SOURCE_LAST || max_pages == 0)
		return 0;
	pthread_mutex_lock(&svc->lock);
	/* Not while a change of device waits for the service thread. */
	if (svc->status.state == SCAN_SERVICE_READY && !svc->scan_pending && !svc->quit &&
	    !svc->next_device) {
		id = svc->next_job++;
		if (svc->next_job == 0)
			svc->next_job = 1;
		svc->scan_pending = true;
		svc->pending_job = id;
		svc->pending_source = source;
		svc->pending_max = max_pages;
		svc->status.job = id;
		svc->status.page = 0;
		svc->status.lines_done = 0;
		svc->status.lines_total = 0;
		svc->status.pages_done = 0;
		/* Shown at once; the service thread starts the job. */
		svc->status.state = SCAN_SERVICE_SCANNING;
		svc->status.problem = SCAN_PROBLEM_NONE;
		wake(svc);
	}
	pthread_mutex_unlock(&svc->lock);
	return id;
}

static void stop_job(struct scan_service *svc, bool drop)
{
	pthread_mutex_lock(&svc->lock);
	uint32_t id = svc->scan_pending ? svc->pending_job : svc->running_job;
	if (id) {
		svc->cancel_job = id;
		if (drop)
			svc->abort_job = id;
		if (svc->job)
			scan_job_cancel(svc->job);
	}
	if (drop)
		queue_drop_pages(svc);
	pthread_mutex_unlock(&svc->lock);
}

void scan_service_cancel(struct scan_service *svc)
{
	stop_job(svc, false);
}

void scan_service_abort(struct scan_service *svc)
{
	stop_job(svc, true);
}

void scan_service_inject_hotplug(struct scan_service *svc, bool added)
{
	pthread_mutex_lock(&svc->lock);
	if (added)
		svc->injected_added++;
	else
		svc->injected_removed++;
	pthread_mutex_unlock(&svc->lock);
	wake(svc);
}

uint32_t scan_service_list_devices(struct scan_service *svc)
{
	pthread_mutex_lock(&svc->lock);
	if (!svc->list_requested) {
		svc->list_requested = true;
		/* A listing already running may have started before this request
		 * (before a scanner was plugged in): the answer is the one after. */
		svc->list_target = svc->devices.generation + (svc->list_running ? 2 : 1);
		if (svc->list_target == 0)
			svc->list_target = 1;
	}
	uint32_t target = svc->list_target;
	pthread_mutex_unlock(&svc->lock);
	wake(svc);
	return target;
}

void scan_service_get_devices(struct scan_service *svc, struct scan_service_devices *out)
{
	pthread_mutex_lock(&svc->lock);
	*out = svc->devices;
	out->listing = svc->list_requested || svc->list_running;
	pthread_mutex_unlock(&svc->lock);
}

void scan_service_get_settings(struct scan_service *svc, struct scan_service_settings *out)
{
	pthread_mutex_lock(&svc->lock);
	*out = svc->settings;
	pthread_mutex_unlock(&svc->lock);
}

/* The device in effect is `current`; is `given` the same? A name too long
 * for the settings' field reads cut there, and the cut name is the same. */
static bool same_name(const char *current, const char *given)
{
	if (strcmp(current, given) == 0)
		return true;
	size_t cut = SCAN_SERVICE_DEVICE_MAX - 1;
	return strlen(current) > cut && strlen(given) == cut && strncmp(current, given, cut) == 0;
}

static bool has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

enum scanner_status scan_service_set_settings(struct scan_service *svc,
                                              const struct scan_service_settings *in)
{
	if (!in || (unsigned)in->source >= CONFIG_SCAN_SOURCE_LAST ||
	    (unsigned)in->mode >= CONFIG_SCAN_MODE_LAST || in->dpi < 75 || in->dpi > 1200 ||
	    strnlen(in->device, sizeof(in->device)) == sizeof(in->device) ||
	    has_control_chars(in->device)) {
		log_warning("scanner: settings refused: a value out of range");
		return SCANNER_INVALID;
	}
	/* Copies made before the lock: one for the comparisons, one that the
	 * service thread takes over. */
	char *want = strdup(in->device);
	char *next = strdup(in->device);
	enum scanner_status st = SCANNER_NO_MEMORY;
	bool change = false;
	if (!want || !next)
		goto out;

	pthread_mutex_lock(&svc->lock);
	if (svc->scan_pending || svc->running_job || svc->status.state == SCAN_SERVICE_SCANNING) {
		pthread_mutex_unlock(&svc->lock);
		st = SCANNER_BUSY;
		log_info("scanner: settings refused: a scan runs");
		goto out;
	}
	change = !same_name(svc->want_device, in->device);
	options_apply(&svc->opts, in->source, in->dpi, in->mode);
	svc->settings.source = in->source;
	svc->settings.dpi = in->dpi;
	svc->settings.mode = in->mode;
	if (change) {
		copy_text(svc->settings.device, sizeof(svc->settings.device), in->device);
		free(svc->want_device);
		svc->want_device = want;
		want = NULL;
		free(svc->next_device);
		svc->next_device = next;
		next = NULL;
		/* No scan until the new device is open. */
		set_state(svc, SCAN_SERVICE_SEARCHING, SCAN_PROBLEM_NONE);
	}
	pthread_mutex_unlock(&svc->lock);
	st = SCANNER_OK;
	log_info("scanner: settings: device %s%s, source %s, %u dpi, mode %s",
	         *in->device ? in->device : "(first found)", change ? " (a new one)" : "",
	         config_scan_source_name(in->source), in->dpi, config_scan_mode_name(in->mode));
	if (change)
		wake(svc);
out:
	free(want);
	free(next);
	return st;
}
