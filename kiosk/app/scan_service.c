/*
 * scan_service.c - the service thread that owns the scanner.
 *
 * One mutex guards the commands from the UI, the status snapshot and the event
 * queue; the driver, the open device and the running job belong to the
 * service thread alone (SANE is not thread-safe). The only call made on the
 * job from another thread is scan_job_cancel(), which the job allows.
 *
 * Finding the device: the driver is created and the device opened on the
 * service thread; when that fails the thread waits retry_ms (on a condition
 * variable, so destroy wakes it) and tries again. SANE caches what its
 * backends found at sane_init(), so after SANE_REINIT_AFTER failed attempts
 * the SANE driver is recreated to probe the buses afresh. The simulator keeps
 * its driver: its faults and feeder live there, like paper and cable.
 */
#include "scan_service.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define DEFAULT_RETRY_MS    2000
#define SANE_REINIT_AFTER   5        /* failed opens before libsane is reinitialised */
#define PROGRESS_NOTIFY_NS  33000000 /* at most ~30 progress wake-ups a second */
#define EVENT_QUEUE_INITIAL 16
#define LOG_EVERY_ATTEMPTS  30 /* while searching: one log line in so many attempts */
/* Queue slots kept for the events that end a job (FINISHED, STATE): a page
 * that cannot be queued is dropped, the end of a job never is. */
#define EVENT_QUEUE_RESERVE 4

struct scan_service {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* wakes the service thread: a command or quit */

	/* Set at create, read-only afterwards. */
	char *device; /* "" = first device */
	bool sim;
	struct scan_options opts;
	unsigned retry_ms;
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
	struct scan_service_status status;
	struct scan_service_event *queue;
	size_t q_head, q_len, q_cap;

	/* Service thread only. */
	struct scanner_driver *drv;
	struct scanner *scanner;
	unsigned open_failures;
	uint64_t last_progress_notify;
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

void scan_service_config_apply(struct scan_service_config *cfg, const struct config *conf)
{
	cfg->device = conf->scanner.device;
	cfg->options.source = conf->scanner.source == CONFIG_SCAN_SOURCE_ADF
	                              ? SCANNER_SOURCE_FEEDER
	                              : SCANNER_SOURCE_FLATBED;
	cfg->options.dpi = conf->scanner.dpi;
	switch (conf->scanner.mode) {
	case CONFIG_SCAN_MODE_COLOR:
		cfg->options.color = SCAN_COLOR_KEEP;
		break;
	case CONFIG_SCAN_MODE_GRAY:
		cfg->options.color = SCAN_COLOR_GRAY;
		break;
	case CONFIG_SCAN_MODE_AUTO:
	case CONFIG_SCAN_MODE_LAST:
		cfg->options.color = SCAN_COLOR_AUTO;
		break;
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

static void close_device(struct scan_service *svc, bool drop_driver)
{
	scanner_close(svc->scanner);
	svc->scanner = NULL;
	if (drop_driver) {
		scanner_driver_destroy(svc->drv);
		svc->drv = NULL;
	}
}

/* One attempt to find and open the device. Runs without the lock. */
static bool try_open(struct scan_service *svc, struct scanner_caps *caps)
{
	if (svc->hooks && svc->hooks->before_open)
		svc->hooks->before_open(svc->hooks->userdata);
	if (!svc->drv) {
		svc->drv = svc->sim ? scanner_sim_create(svc->device, handle_driver_log, svc)
		                    : scanner_sane_create();
		if (!svc->drv) {
			if (svc->open_failures++ % LOG_EVERY_ATTEMPTS == 0)
				log_warning("scanner driver cannot start; trying again every %u ms",
				            svc->retry_ms);
			return false;
		}
		scanner_driver_set_log(svc->drv, handle_driver_log, svc);
	}
	enum scanner_status st =
	        scanner_driver_open(svc->drv, svc->sim ? "" : svc->device, &svc->scanner);
	if (st != SCANNER_OK) {
		svc->scanner = NULL;
		if (svc->open_failures % LOG_EVERY_ATTEMPTS == 0)
			log_warning("scanner not found (%s); looking again every %u ms",
			            scanner_strerror(st), svc->retry_ms);
		svc->open_failures++;
		if (!svc->sim && svc->open_failures % SANE_REINIT_AFTER == 0)
			close_device(svc, true);
		return false;
	}
	svc->open_failures = 0;
	scanner_caps(svc->scanner, caps);
	return true;
}

static void wait_ms(struct scan_service *svc, unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!svc->quit && !svc->scan_pending) {
		if (pthread_cond_timedwait(&svc->cond, &svc->lock, &ts) == ETIMEDOUT)
			break;
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
	struct scan_options opts = svc->opts;
	if (source == SCAN_SERVICE_SOURCE_FLATBED)
		opts.source = SCANNER_SOURCE_FLATBED;
	else if (source == SCAN_SERVICE_SOURCE_FEEDER)
		opts.source = SCANNER_SOURCE_FEEDER;
	/* The job's 0 is "until the feeder is empty". */
	opts.max_pages = max_pages == SCAN_SERVICE_UNLIMITED ? 0 : max_pages;

	enum scanner_status status = SCANNER_CANCELLED;
	unsigned pages_done = 0;
	struct scan_job *job = NULL;

	if (svc->hooks && svc->hooks->before_job)
		svc->hooks->before_job(svc->hooks->userdata);
	pthread_mutex_lock(&svc->lock);
	bool stop = svc->quit || svc->cancel_job == id || svc->abort_job == id;
	pthread_mutex_unlock(&svc->lock);
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
	if (reopen)
		close_device(svc, false);

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

static void *service_thread(void *arg)
{
	struct scan_service *svc = arg;
	pthread_mutex_lock(&svc->lock);
	while (!svc->quit) {
		if (!svc->scanner) {
			pthread_mutex_unlock(&svc->lock);
			struct scanner_caps caps;
			bool found = try_open(svc, &caps);
			pthread_mutex_lock(&svc->lock);
			if (!found) {
				/* Keep "device gone" on screen while looking for it again. */
				enum scan_problem p =
				        svc->status.problem == SCAN_PROBLEM_DEVICE_GONE
				                ? SCAN_PROBLEM_DEVICE_GONE
				                : SCAN_PROBLEM_NO_SCANNER;
				bool changed = svc->status.state != SCAN_SERVICE_SEARCHING ||
				               svc->status.problem != p;
				set_state(svc, SCAN_SERVICE_SEARCHING, p);
				if (svc->scan_pending) {
					/* Accepted while READY, but the device went since. */
					svc->scan_pending = false;
					queue_push(svc, &(struct scan_service_event){
					                        .kind = SCAN_SERVICE_EVENT_FINISHED,
					                        .job = svc->pending_job,
					                        .problem = p,
					                        .status = SCANNER_NO_DEVICE});
					changed = true;
				}
				if (changed) {
					pthread_mutex_unlock(&svc->lock);
					notify(svc);
					pthread_mutex_lock(&svc->lock);
				}
				wait_ms(svc, svc->retry_ms);
				continue;
			}
			svc->status.has_flatbed = caps.sources & (1u << SCANNER_SOURCE_FLATBED);
			svc->status.has_feeder = caps.sources & ((1u << SCANNER_SOURCE_FEEDER) |
			                                         (1u << SCANNER_SOURCE_DUPLEX));
			snprintf(svc->status.model, sizeof(svc->status.model), "%s",
			         svc->sim ? "sim" : (*svc->device ? svc->device : "first device"));
			set_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
			pthread_mutex_unlock(&svc->lock);
			notify(svc);
			pthread_mutex_lock(&svc->lock);
			continue;
		}
		if (svc->scan_pending) {
			uint32_t id = svc->pending_job;
			enum scan_service_source source = svc->pending_source;
			uint32_t max = svc->pending_max;
			svc->scan_pending = false;
			svc->running_job = id;
			pthread_mutex_unlock(&svc->lock);
			run_job(svc, id, source, max);
			pthread_mutex_lock(&svc->lock);
			continue;
		}
		pthread_cond_wait(&svc->cond, &svc->lock);
	}
	pthread_mutex_unlock(&svc->lock);
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
	const char *device = cfg->device ? cfg->device : "";
	svc->sim = strncmp(device, "sim:", 4) == 0;
	svc->device = strdup(svc->sim ? device + 4 : device);
	if (!svc->device) {
		free(svc);
		return NULL;
	}
	svc->opts = cfg->options;
	svc->retry_ms = cfg->retry_ms ? cfg->retry_ms : DEFAULT_RETRY_MS;
	svc->hooks = cfg->hooks;
	svc->notify = notify_fn;
	svc->userdata = userdata;
	svc->status.state = SCAN_SERVICE_SEARCHING;
	svc->status.problem = SCAN_PROBLEM_NONE;
	svc->next_job = 1;
	svc->queue = calloc(EVENT_QUEUE_INITIAL, sizeof(*svc->queue));
	if (!svc->queue) {
		free(svc->device);
		free(svc);
		return NULL;
	}
	svc->q_cap = EVENT_QUEUE_INITIAL;

	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&svc->lock, NULL);
	pthread_cond_init(&svc->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&svc->thread, NULL, service_thread, svc) != 0) {
		log_error("cannot start the scanner thread");
		pthread_cond_destroy(&svc->cond);
		pthread_mutex_destroy(&svc->lock);
		free(svc->queue);
		free(svc->device);
		free(svc);
		return NULL;
	}
	return svc;
}

void scan_service_destroy(struct scan_service *svc)
{
	if (!svc)
		return;
	pthread_mutex_lock(&svc->lock);
	svc->quit = true;
	if (svc->job)
		scan_job_cancel(svc->job);
	pthread_cond_broadcast(&svc->cond);
	pthread_mutex_unlock(&svc->lock);
	pthread_join(svc->thread, NULL);
	queue_drop_pages(svc);
	free(svc->queue);
	pthread_cond_destroy(&svc->cond);
	pthread_mutex_destroy(&svc->lock);
	free(svc->device);
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
	if (svc->status.state == SCAN_SERVICE_READY && !svc->scan_pending && !svc->quit) {
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
		pthread_cond_broadcast(&svc->cond);
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
