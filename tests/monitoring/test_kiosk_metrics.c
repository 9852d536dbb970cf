/*
 * test_kiosk_metrics.c - the kiosk's Prometheus textfile (kiosk/app/kiosk_metrics.h)
 * fed with the events of a real scan service: the simulator jams, runs out of
 * paper, finds its cover open and loses the device mid-page; a scanner (the
 * simulator behind a driver that can be "unplugged") goes while idle and
 * comes back. The file counts each once, by kind, and says whether a scanner
 * is there. The UI's calls never wait for the writer (held in a hook while
 * thousands of events arrive) and never write on the caller's thread; the
 * page pointer of an event is never touched (it points at a page of memory
 * that faults on any access). Changes are coalesced, the file is rewritten
 * periodically, a failing write is logged once and recovers.
 *
 * Every wait is for an event or a write, bounded by WAIT_LIMIT_S; nothing is
 * timed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kiosk_metrics.h"
#include "log.h"
#include "scan_service.h"
#include "scanner.h"

#define WAIT_LIMIT_S 60 /* a hang fails the test instead of the suite's timeout */

static const char *const KINDS[] = {"no-scanner", "feeder-empty", "jammed",
                                    "cover-open", "device-gone",  "other"};
#define N_KINDS (sizeof(KINDS) / sizeof(KINDS[0]))

static char work[64]; /* relative: made in the test's directory */

static void deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* --- the writer, seen through its hooks --- */

static struct probe {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned writes; /* finished writes that succeeded */
	unsigned failed; /* ... and that failed */
	bool hold;       /* before_write blocks while set */
	bool held;       /* the writer is blocked there */
	bool on_caller;  /* a write started on the test's own thread */
	pthread_t caller;
} probe = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void probe_reset(void)
{
	pthread_mutex_lock(&probe.lock);
	probe.writes = probe.failed = 0;
	probe.hold = probe.held = probe.on_caller = false;
	probe.caller = pthread_self();
	pthread_mutex_unlock(&probe.lock);
}

static void hook_before_write(void *userdata)
{
	(void)userdata;
	pthread_mutex_lock(&probe.lock);
	if (pthread_equal(pthread_self(), probe.caller))
		probe.on_caller = true;
	while (probe.hold) {
		probe.held = true;
		pthread_cond_broadcast(&probe.cond);
		pthread_cond_wait(&probe.cond, &probe.lock);
	}
	probe.held = false;
	pthread_mutex_unlock(&probe.lock);
}

static void hook_after_write(void *userdata, bool ok)
{
	(void)userdata;
	pthread_mutex_lock(&probe.lock);
	if (ok)
		probe.writes++;
	else
		probe.failed++;
	pthread_cond_broadcast(&probe.cond);
	pthread_mutex_unlock(&probe.lock);
}

static unsigned probe_count(const unsigned *counter)
{
	pthread_mutex_lock(&probe.lock);
	unsigned n = *counter;
	pthread_mutex_unlock(&probe.lock);
	return n;
}

/* Waits until *counter reaches n. */
static void wait_count(const unsigned *counter, unsigned n)
{
	struct timespec until;
	deadline(&until, WAIT_LIMIT_S * 1000L);
	pthread_mutex_lock(&probe.lock);
	while (*counter < n)
		if (pthread_cond_timedwait(&probe.cond, &probe.lock, &until) != 0)
			break;
	unsigned got = *counter;
	pthread_mutex_unlock(&probe.lock);
	if (got < n)
		fail_msg("waited for %u writes, saw %u", n, got);
}

/* Waits for the next write after the one counted now, or 100 ms. */
static void wait_next_write(void)
{
	struct timespec until;
	deadline(&until, 100);
	pthread_mutex_lock(&probe.lock);
	unsigned seen = probe.writes + probe.failed;
	while (probe.writes + probe.failed == seen)
		if (pthread_cond_timedwait(&probe.cond, &probe.lock, &until) != 0)
			break;
	pthread_mutex_unlock(&probe.lock);
}

static void set_hold(bool hold)
{
	pthread_mutex_lock(&probe.lock);
	probe.hold = hold;
	pthread_cond_broadcast(&probe.cond);
	pthread_mutex_unlock(&probe.lock);
}

static void wait_held(void)
{
	struct timespec until;
	deadline(&until, WAIT_LIMIT_S * 1000L);
	pthread_mutex_lock(&probe.lock);
	while (!probe.held)
		if (pthread_cond_timedwait(&probe.cond, &probe.lock, &until) != 0)
			break;
	bool held = probe.held;
	pthread_mutex_unlock(&probe.lock);
	assert_true(held);
}

static struct kiosk_metrics *start_metrics(const char *path, unsigned refresh_ms,
                                           unsigned min_interval_ms)
{
	static struct kiosk_metrics_hooks hooks;
	hooks = (struct kiosk_metrics_hooks){
	        .before_write = hook_before_write,
	        .after_write = hook_after_write,
	        .refresh_ms = refresh_ms,
	        .min_interval_ms = min_interval_ms,
	};
	char err[KIOSK_METRICS_ERROR_MAX];
	struct kiosk_metrics *km = kiosk_metrics_create_with(path, "9.8.7-test", &hooks, err);
	if (!km)
		fail_msg("kiosk_metrics_create_with: %s", err);
	return km;
}

/* --- the file --- */

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 65536);
	assert_non_null(buf);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The value of the sample series ("name" or "name{label=\"v\"}"), or -1. */
static int64_t sample(const char *text, const char *series)
{
	size_t len = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, series, len) == 0 && p[len] == ' ')
			return strtoll(p + len + 1, NULL, 10);
	}
	return -1;
}

static int64_t file_sample(const char *path, const char *series)
{
	char *text = read_text(path);
	int64_t v = text ? sample(text, series) : -1;
	free(text);
	return v;
}

static void errors_series(char *out, size_t cap, const char *kind)
{
	snprintf(out, cap, "scankiosk_scanner_errors_total{kind=\"%s\"}", kind);
}

/* Waits until every series has its value in the file (the writer comes
 * within min_interval of the change). */
struct expect {
	const char *series;
	int64_t value;
};

static void wait_file(const char *path, const struct expect *e, size_t n)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		char *text = read_text(path);
		size_t i = 0;
		while (text && i < n && sample(text, e[i].series) == e[i].value)
			i++;
		if (i == n) {
			free(text);
			return;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > WAIT_LIMIT_S)
			fail_msg("%s is %" PRId64 ", expected %" PRId64 "; the file:\n%s",
			         e[i].series, text ? sample(text, e[i].series) : -1, e[i].value,
			         text ? text : "(missing)");
		free(text);
		wait_next_write();
	}
}

/* Errors by kind: counts in KINDS order. */
static void wait_errors(const char *path, const unsigned counts[N_KINDS], int up)
{
	char names[N_KINDS][96];
	struct expect e[N_KINDS + 1];
	for (size_t i = 0; i < N_KINDS; i++) {
		errors_series(names[i], sizeof(names[i]), KINDS[i]);
		e[i] = (struct expect){names[i], counts[i]};
	}
	e[N_KINDS] = (struct expect){"scankiosk_scanner_up", up};
	wait_file(path, e, N_KINDS + 1);
}

/* --- the scan service, pumped as ui.c's pump_scan does --- */

static struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned n;
} waiter = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static void handle_notify(void *userdata)
{
	(void)userdata;
	pthread_mutex_lock(&waiter.lock);
	waiter.n++;
	pthread_cond_broadcast(&waiter.cond);
	pthread_mutex_unlock(&waiter.lock);
}

static void wait_notify(const struct timespec *start)
{
	struct timespec now, until;
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec - start->tv_sec > WAIT_LIMIT_S)
		fail_msg("the scan service did not get there");
	deadline(&until, 100);
	pthread_mutex_lock(&waiter.lock);
	unsigned seen = waiter.n;
	while (waiter.n == seen)
		if (pthread_cond_timedwait(&waiter.cond, &waiter.lock, &until) != 0)
			break;
	pthread_mutex_unlock(&waiter.lock);
}

/* Every event to the metrics first, then as the UI would: pages dropped
 * (zeroed). Returns true when the job's FINISHED came (copied to *end). */
static bool pump(struct scan_service *svc, struct kiosk_metrics *km, uint32_t job,
                 struct scan_service_event *end)
{
	bool finished = false;
	struct scan_service_event ev;
	while (scan_service_poll(svc, &ev)) {
		kiosk_metrics_scan_event(km, &ev);
		if (ev.kind == SCAN_SERVICE_EVENT_FINISHED && ev.job == job && job) {
			*end = ev;
			finished = true;
		}
		scan_service_event_discard(&ev);
	}
	return finished;
}

static void wait_state(struct scan_service *svc, struct kiosk_metrics *km,
                       enum scan_service_state state, enum scan_problem problem)
{
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	for (;;) {
		struct scan_service_event end;
		pump(svc, km, 0, &end);
		struct scan_service_status st;
		scan_service_get_status(svc, &st);
		if (st.state == state && st.problem == problem) {
			pump(svc, km, 0, &end); /* the STATE event of that change */
			return;
		}
		wait_notify(&start);
	}
}

static struct scan_service_event run_job(struct scan_service *svc, struct kiosk_metrics *km,
                                         enum scan_service_source source)
{
	uint32_t job = scan_service_start(svc, source, SCAN_SERVICE_UNLIMITED);
	assert_true(job > 0);
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	struct scan_service_event end;
	while (!pump(svc, km, job, &end))
		wait_notify(&start);
	return end;
}

static const char *pages_dir(void)
{
	const char *d = getenv("SCANKIOSK_PAGES_DIR");
	return d && *d ? d : "../shared/pages";
}

static struct scan_service *start_sim(const char *spec_tail)
{
	static char device[4096];
	snprintf(device, sizeof(device), "sim:pages=%s/s01_payslip.png;%s", pages_dir(), spec_tail);
	struct scan_service_config cfg;
	scan_service_config_init(&cfg);
	cfg.device = device;
	cfg.options.dpi = 75; /* small pages: the metrics are under test */
	cfg.options.source = SCANNER_SOURCE_FEEDER;
	cfg.retry_ms = 50;
	cfg.no_udev = true;
	struct scan_service *svc = scan_service_create(&cfg, handle_notify, NULL);
	assert_non_null(svc);
	return svc;
}

/* --- a scanner that can be unplugged: the simulator behind a driver that
 * lists it, opens it and checks it only while "plugged" --- */

static struct plug {
	pthread_mutex_t lock;
	bool plugged;
} plug = {.lock = PTHREAD_MUTEX_INITIALIZER, .plugged = true};

static bool plugged(void)
{
	pthread_mutex_lock(&plug.lock);
	bool p = plug.plugged;
	pthread_mutex_unlock(&plug.lock);
	return p;
}

static void set_plugged(bool p)
{
	pthread_mutex_lock(&plug.lock);
	plug.plugged = p;
	pthread_mutex_unlock(&plug.lock);
}

struct plug_driver {
	struct scanner_driver base;
	struct scanner_driver *sim;
};

struct plug_scanner {
	struct scanner base;
	struct scanner *inner;
};

static struct scanner *inner(struct scanner *s)
{
	return ((struct plug_scanner *)s)->inner;
}

static void plug_caps(struct scanner *s, struct scanner_caps *caps)
{
	scanner_caps(inner(s), caps);
}

static enum scanner_status plug_set_option(struct scanner *s, const char *n, const char *v)
{
	return scanner_set_option(inner(s), n, v);
}

static enum scanner_status plug_configure(struct scanner *s, const struct scanner_settings *w,
                                          struct scanner_settings *a)
{
	return scanner_configure(inner(s), w, a);
}

static enum scanner_status plug_start_page(struct scanner *s, struct scanner_frame *f)
{
	return plugged() ? scanner_start_page(inner(s), f) : SCANNER_DEVICE_GONE;
}

static enum scanner_status plug_read_lines(struct scanner *s, uint8_t *buf, size_t max,
                                           size_t *lines)
{
	return plugged() ? scanner_read_lines(inner(s), buf, max, lines) : SCANNER_DEVICE_GONE;
}

static void plug_end_document(struct scanner *s)
{
	scanner_end_document(inner(s));
}

static void plug_cancel(struct scanner *s)
{
	scanner_cancel(inner(s));
}

static void plug_close(struct scanner *s)
{
	scanner_close(inner(s));
	free(s);
}

static enum scanner_status plug_check(struct scanner *s)
{
	(void)s;
	return plugged() ? SCANNER_OK : SCANNER_DEVICE_GONE;
}

static const struct scanner_impl plug_impl = {
        .caps = plug_caps,
        .set_option = plug_set_option,
        .configure = plug_configure,
        .start_page = plug_start_page,
        .read_lines = plug_read_lines,
        .end_document = plug_end_document,
        .cancel = plug_cancel,
        .close = plug_close,
        .check = plug_check,
};

static enum scanner_status plug_list(struct scanner_driver *drv, struct scanner_device **devices,
                                     size_t *count)
{
	(void)drv;
	*devices = calloc(1, sizeof(**devices));
	if (!*devices)
		return SCANNER_NO_MEMORY;
	*count = 0;
	if (plugged()) {
		snprintf((*devices)[0].name, sizeof((*devices)[0].name), "plug:1");
		snprintf((*devices)[0].vendor, sizeof((*devices)[0].vendor), "Acme");
		snprintf((*devices)[0].model, sizeof((*devices)[0].model), "DocScan 5");
		*count = 1;
	}
	return SCANNER_OK;
}

static enum scanner_status plug_open(struct scanner_driver *drv, const char *name,
                                     struct scanner **out)
{
	if (!plugged() || (name && *name && strcmp(name, "plug:1") != 0))
		return SCANNER_NO_DEVICE;
	struct plug_scanner *s = calloc(1, sizeof(*s));
	if (!s)
		return SCANNER_NO_MEMORY;
	enum scanner_status st =
	        scanner_driver_open(((struct plug_driver *)drv)->sim, "", &s->inner);
	if (st != SCANNER_OK) {
		free(s);
		return st;
	}
	s->base.impl = &plug_impl;
	s->base.driver = drv;
	*out = &s->base;
	return SCANNER_OK;
}

static void plug_destroy(struct scanner_driver *drv)
{
	scanner_driver_destroy(((struct plug_driver *)drv)->sim);
	free(drv);
}

static const struct scanner_driver_impl plug_driver_impl = {
        .name = "test-plug",
        .list = plug_list,
        .open = plug_open,
        .destroy = plug_destroy,
};

static struct scanner_driver *plug_create(void *userdata)
{
	(void)userdata;
	char spec[4096];
	snprintf(spec, sizeof(spec), "pages=%s/s01_payslip.png;feeder=5", pages_dir());
	struct plug_driver *drv = calloc(1, sizeof(*drv));
	if (!drv)
		return NULL;
	drv->sim = scanner_sim_create(spec, NULL, NULL);
	if (!drv->sim) {
		free(drv);
		return NULL;
	}
	drv->base.impl = &plug_driver_impl;
	return &drv->base;
}

static const struct scan_service_hooks plug_hooks = {.create_driver = plug_create};

/* --- tests --- */

static void path_in_work(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", work, name);
}

/* No path: no metrics, no error, and every call takes NULL. */
static void test_null_and_bad_paths(void **state)
{
	(void)state;
	char err[KIOSK_METRICS_ERROR_MAX] = "x";
	assert_null(kiosk_metrics_create(NULL, "1", err));
	assert_string_equal(err, "");
	struct scan_service_event ev = {.kind = SCAN_SERVICE_EVENT_FINISHED,
	                                .problem = SCAN_PROBLEM_JAMMED};
	kiosk_metrics_scan_event(NULL, &ev);
	kiosk_metrics_submission_committed(NULL);
	kiosk_metrics_destroy(NULL);

	assert_null(kiosk_metrics_create("", "1", err));
	assert_true(strstr(err, "empty") != NULL);
	char *long_path = malloc(PATH_MAX + 1);
	assert_non_null(long_path);
	memset(long_path, 'a', PATH_MAX);
	long_path[PATH_MAX] = '\0';
	assert_null(kiosk_metrics_create(long_path, "1", err));
	assert_true(strstr(err, "too long") != NULL);
	free(long_path);
}

/* The first file: every family with HELP and TYPE, every kind at 0 (so that
 * rate() works from the start), no scanner yet, the version, mode 0644, no
 * temporary file left; the last write at destroy. */
static void test_first_file(void **state)
{
	(void)state;
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	path_in_work(path, sizeof(path), "first.prom");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	probe_reset();
	mode_t old = umask(077);
	struct kiosk_metrics *km = start_metrics(path, 0, 0);
	wait_count(&probe.writes, 1);
	umask(old);

	char *text = read_text(path);
	assert_non_null(text);
	static const struct {
		const char *name, *type;
	} families[] = {
	        {"scankiosk_kiosk_info", "gauge"},
	        {"scankiosk_scanner_up", "gauge"},
	        {"scankiosk_scanner_errors_total", "counter"},
	        {"scankiosk_scan_jobs_total", "counter"},
	        {"scankiosk_scan_pages_total", "counter"},
	        {"scankiosk_kiosk_submissions_total", "counter"},
	        {"scankiosk_kiosk_start_timestamp_seconds", "gauge"},
	        {"scankiosk_kiosk_last_update_timestamp_seconds", "gauge"},
	};
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		char line[160];
		snprintf(line, sizeof(line), "# HELP %s ", families[i].name);
		if (!strstr(text, line))
			fail_msg("no HELP for %s:\n%s", families[i].name, text);
		snprintf(line, sizeof(line), "# TYPE %s %s\n", families[i].name, families[i].type);
		if (!strstr(text, line))
			fail_msg("no TYPE %s for %s:\n%s", families[i].type, families[i].name,
			         text);
	}
	for (size_t i = 0; i < N_KINDS; i++) {
		char s[96];
		errors_series(s, sizeof(s), KINDS[i]);
		assert_int_equal(sample(text, s), 0);
	}
	assert_null(strstr(text, "kind=\"none\""));
	assert_int_equal(sample(text, "scankiosk_scanner_up"), 0);
	assert_int_equal(sample(text, "scankiosk_kiosk_info{version=\"9.8.7-test\"}"), 1);
	assert_int_equal(sample(text, "scankiosk_scan_jobs_total"), 0);
	assert_int_equal(sample(text, "scankiosk_kiosk_submissions_total"), 0);
	int64_t started = sample(text, "scankiosk_kiosk_start_timestamp_seconds");
	assert_true(started > 0);
	assert_true(sample(text, "scankiosk_kiosk_last_update_timestamp_seconds") >= started);
	free(text);

	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);
	assert_int_not_equal(access(tmp, F_OK), 0);

	/* A commit, then destroy: the last write has it, whatever the interval. */
	kiosk_metrics_submission_committed(km);
	kiosk_metrics_destroy(km);
	assert_int_equal(file_sample(path, "scankiosk_kiosk_submissions_total"), 1);
	assert_false(probe.on_caller); /* the writer thread is joined */
	unlink(path);
}

/*
 * The real scan service: each problem counted once under its kind, a device
 * lost during a job counted by its FINISHED and not again by the SEARCHING
 * that follows, a device lost while idle counted by the SEARCHING alone;
 * scankiosk_scanner_up follows the service.
 */
static void test_real_scan_events(void **state)
{
	(void)state;
	char path[PATH_MAX];
	path_in_work(path, sizeof(path), "scan.prom");
	probe_reset();
	struct kiosk_metrics *km = start_metrics(path, 0, 10);
	/* no-scanner, feeder-empty, jammed, cover-open, device-gone, other */
	unsigned counts[N_KINDS] = {0};
	wait_errors(path, counts, 0);

	/* Three sheets, the second jams: one page, JAMMED; then the last sheet;
	 * then the feeder is empty. */
	struct scan_service *svc = start_sim("feeder=3;jam-after-lines=10;fault-page=2");
	wait_state(svc, km, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	wait_errors(path, counts, 1);
	struct scan_service_event end = run_job(svc, km, SCAN_SERVICE_SOURCE_FEEDER);
	assert_int_equal(end.problem, SCAN_PROBLEM_JAMMED);
	assert_int_equal(end.pages_done, 1);
	counts[2]++;
	wait_errors(path, counts, 1);
	end = run_job(svc, km, SCAN_SERVICE_SOURCE_FEEDER);
	assert_int_equal(end.problem, SCAN_PROBLEM_NONE);
	assert_int_equal(end.pages_done, 1);
	end = run_job(svc, km, SCAN_SERVICE_SOURCE_FEEDER);
	assert_int_equal(end.problem, SCAN_PROBLEM_FEEDER_EMPTY);
	counts[1]++;
	struct expect jobs[] = {{"scankiosk_scan_jobs_total", 3},
	                        {"scankiosk_scan_pages_total", 2}};
	wait_file(path, jobs, 2);
	wait_errors(path, counts, 1);
	scan_service_destroy(svc);

	/* The cover is open: the job ends at once. */
	svc = start_sim("feeder=2;cover-open");
	wait_state(svc, km, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	end = run_job(svc, km, SCAN_SERVICE_SOURCE_FEEDER);
	assert_int_equal(end.problem, SCAN_PROBLEM_COVER_OPEN);
	counts[3]++;
	wait_errors(path, counts, 1);
	scan_service_destroy(svc);

	/* Unplugged during the first page: FINISHED (device-gone), then SEARCHING
	 * (device-gone), then READY again: one error. */
	svc = start_sim("feeder=3;gone-after-lines=100");
	wait_state(svc, km, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	end = run_job(svc, km, SCAN_SERVICE_SOURCE_FEEDER);
	assert_int_equal(end.problem, SCAN_PROBLEM_DEVICE_GONE);
	assert_int_equal(end.pages_done, 0);
	counts[4]++;
	wait_state(svc, km, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	wait_errors(path, counts, 1);
	scan_service_destroy(svc);

	/* Unplugged while idle (a USB remove event): SEARCHING (device-gone)
	 * without a job; the scanner is down until it is plugged in again. */
	set_plugged(true);
	struct scan_service_config cfg;
	scan_service_config_init(&cfg);
	cfg.device = "";
	cfg.options.dpi = 75;
	cfg.retry_ms = 50;
	cfg.no_udev = true;
	cfg.hooks = &plug_hooks;
	svc = scan_service_create(&cfg, handle_notify, NULL);
	assert_non_null(svc);
	wait_state(svc, km, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	set_plugged(false);
	scan_service_inject_hotplug(svc, false);
	wait_state(svc, km, SCAN_SERVICE_SEARCHING, SCAN_PROBLEM_DEVICE_GONE);
	counts[4]++;
	wait_errors(path, counts, 0);
	/* Still looking (attempts fail every retry_ms): nothing more counted. */
	set_plugged(true);
	scan_service_inject_hotplug(svc, true);
	wait_state(svc, km, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	wait_errors(path, counts, 1);
	end = run_job(svc, km, SCAN_SERVICE_SOURCE_FEEDER);
	assert_int_equal(end.problem, SCAN_PROBLEM_NONE);
	scan_service_destroy(svc);

	kiosk_metrics_destroy(km);
	wait_errors(path, counts, 1);
	assert_false(probe.on_caller);
	unlink(path);
}

/*
 * The UI's calls while the writer is held inside a write: they return (this
 * test would hang otherwise), none of them writes, and the held write, once
 * let go, has all of them in one file: changes are coalesced. The page
 * pointer is never touched: it points at memory that faults on any access.
 */
static void test_writer_held(void **state)
{
	(void)state;
	char path[PATH_MAX];
	path_in_work(path, sizeof(path), "held.prom");
	probe_reset();
	long page_size = sysconf(_SC_PAGESIZE);
	void *no_access =
	        mmap(NULL, (size_t)page_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(no_access != MAP_FAILED);

	/* No refresh during the test: only changes and destroy write. */
	struct kiosk_metrics *km = start_metrics(path, 3600u * 1000, 10);
	wait_count(&probe.writes, 1);
	set_hold(true);
	struct scan_service_event ev = {.kind = SCAN_SERVICE_EVENT_STATE,
	                                .state = SCAN_SERVICE_READY,
	                                .problem = SCAN_PROBLEM_NONE,
	                                .page_result = no_access};
	kiosk_metrics_scan_event(km, &ev);
	wait_held();

	const unsigned rounds = 5000;
	for (unsigned i = 0; i < rounds; i++) {
		ev = (struct scan_service_event){.kind = SCAN_SERVICE_EVENT_PAGE_STARTED,
		                                 .job = i + 1,
		                                 .page = 1,
		                                 .page_result = no_access};
		kiosk_metrics_scan_event(km, &ev);
		ev.kind = SCAN_SERVICE_EVENT_PAGE_READY;
		kiosk_metrics_scan_event(km, &ev);
		ev = (struct scan_service_event){.kind = SCAN_SERVICE_EVENT_FINISHED,
		                                 .job = i + 1,
		                                 .problem = i % 2 ? SCAN_PROBLEM_JAMMED
		                                                  : SCAN_PROBLEM_OTHER,
		                                 .pages_done = 2,
		                                 .page_result = no_access};
		kiosk_metrics_scan_event(km, &ev);
		kiosk_metrics_submission_committed(km);
	}
	/* Nothing was written meanwhile: the writer is still in the first hold. */
	assert_int_equal(probe_count(&probe.writes), 1);
	pthread_mutex_lock(&probe.lock);
	bool still_held = probe.held;
	pthread_mutex_unlock(&probe.lock);
	assert_true(still_held);

	set_hold(false);
	wait_count(&probe.writes, 2);
	char *text = read_text(path);
	assert_non_null(text);
	assert_int_equal(sample(text, "scankiosk_scan_jobs_total"), rounds);
	assert_int_equal(sample(text, "scankiosk_scan_pages_total"), 2 * rounds);
	assert_int_equal(sample(text, "scankiosk_kiosk_submissions_total"), rounds);
	assert_int_equal(sample(text, "scankiosk_scanner_errors_total{kind=\"jammed\"}"),
	                 rounds / 2);
	assert_int_equal(sample(text, "scankiosk_scanner_errors_total{kind=\"other\"}"),
	                 rounds / 2);
	assert_int_equal(sample(text, "scankiosk_scanner_up"), 1);
	free(text);

	/* One write for all of it, and one more at destroy. */
	kiosk_metrics_destroy(km);
	assert_int_equal(probe_count(&probe.writes), 3);
	assert_false(probe.on_caller);
	munmap(no_access, (size_t)page_size);
	unlink(path);
}

/* Nothing changes, yet the file is rewritten (its timestamp moves on). */
static void test_refresh(void **state)
{
	(void)state;
	char path[PATH_MAX];
	path_in_work(path, sizeof(path), "refresh.prom");
	probe_reset();
	struct kiosk_metrics *km = start_metrics(path, 20, 0);
	wait_count(&probe.writes, 5);
	int64_t started = file_sample(path, "scankiosk_kiosk_start_timestamp_seconds");
	assert_true(file_sample(path, "scankiosk_kiosk_last_update_timestamp_seconds") >= started);
	kiosk_metrics_destroy(km);
	unlink(path);
}

static unsigned log_lines_with(const char *needle)
{
	static struct log_ring_entry lines[LOG_RING_LINES];
	size_t n = log_ring_copy(lines, LOG_RING_LINES);
	unsigned hits = 0;
	for (size_t i = 0; i < n; i++)
		hits += strstr(lines[i].text, needle) != NULL;
	return hits;
}

/* A directory that is not there: the writes fail, one log line says so; the
 * directory appears: the next write works, and one line says that. */
static void test_write_failure(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 16];
	path_in_work(dir, sizeof(dir), "later");
	snprintf(path, sizeof(path), "%s/k.prom", dir);
	log_ring_clear();
	probe_reset();
	struct kiosk_metrics *km = start_metrics(path, 20, 0);
	wait_count(&probe.failed, 4);
	assert_int_equal(log_lines_with("metrics: cannot write"), 1);
	assert_int_equal(mkdir(dir, 0700), 0);
	kiosk_metrics_submission_committed(km);
	struct expect e[] = {{"scankiosk_kiosk_submissions_total", 1}};
	wait_file(path, e, 1);
	assert_int_equal(log_lines_with("written again"), 1);
	kiosk_metrics_destroy(km);
	assert_int_equal(log_lines_with("metrics: cannot write"), 1);
	unlink(path);
	rmdir(dir);
}

static int setup(void **state)
{
	(void)state;
	snprintf(work, sizeof(work), "test_kiosk_metrics.XXXXXX");
	if (!mkdtemp(work))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(work);
}

int main(void)
{
	log_set_level(LOG_LEVEL_INFO);
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_null_and_bad_paths),
	        cmocka_unit_test(test_first_file),
	        cmocka_unit_test(test_real_scan_events),
	        cmocka_unit_test(test_writer_held),
	        cmocka_unit_test(test_refresh),
	        cmocka_unit_test(test_write_failure),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
