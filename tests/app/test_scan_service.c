/*
 * test_scan_service.c - the scanner behind its service thread: the simulator
 * with a device that vanishes mid-page and comes back, an empty feeder,
 * cancel and abort; the real libsane with its `test` backend, including a
 * scanner that is not there at start and appears later (no restart).
 *
 * libsane reads its configuration from a scratch SANE_CONFIG_DIR made here in
 * the current directory: its dll.conf starts empty ("unplugged") and gets the
 * `test` backend when a test "plugs the scanner in".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp; meson passes it already */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "log.h"
#include "sane/sane_fake.h"
#include "scan_service.h"
#include "session.h"

#define WAIT_LIMIT_S 60 /* a hang fails the test instead of the suite's timeout */

static char sane_dir[PATH_MAX];

/* --- waiting for the service, as the UI's event loop does --- */

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned notifications;
};

static struct waiter waiter = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static void handle_notify(void *userdata)
{
	struct waiter *w = userdata;
	pthread_mutex_lock(&w->lock);
	w->notifications++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Sleeps until the service notifies (or 100 ms pass). Returns false once
 * WAIT_LIMIT_S have gone by since *start. */
static bool wait_notify(const struct timespec *start)
{
	struct timespec now, until;
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec - start->tv_sec > WAIT_LIMIT_S)
		return false;
	until = now;
	until.tv_nsec += 100 * 1000 * 1000;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&waiter.lock);
	unsigned seen = waiter.notifications;
	while (waiter.notifications == seen)
		if (pthread_cond_timedwait(&waiter.cond, &waiter.lock, &until) != 0)
			break;
	pthread_mutex_unlock(&waiter.lock);
	return true;
}

/* What one job delivered. */
struct job_result {
	unsigned started;      /* PAGE_STARTED events */
	struct session *pages; /* PAGE_READY pages, kept like the UI keeps them */
	bool finished;
	struct scan_service_event end;
};

/* Polls until the job's FINISHED; other jobs' events would fail the test. */
static void run_until_finished(struct scan_service *svc, uint32_t job, struct job_result *r)
{
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	memset(r, 0, sizeof(*r));
	r->pages = session_create(NULL);
	while (!r->finished) {
		struct scan_service_event ev;
		while (scan_service_poll(svc, &ev)) {
			if (ev.kind == SCAN_SERVICE_EVENT_STATE)
				continue;
			assert_int_equal(ev.job, job);
			if (ev.kind == SCAN_SERVICE_EVENT_PAGE_STARTED) {
				r->started++;
			} else if (ev.kind == SCAN_SERVICE_EVENT_PAGE_READY) {
				assert_int_equal(ev.page, session_page_count(r->pages) + 1);
				assert_int_equal(session_page_add(r->pages, ev.page_result),
				                 SESSION_OK);
			} else if (ev.kind == SCAN_SERVICE_EVENT_FINISHED) {
				r->end = ev;
				r->finished = true;
				break;
			}
		}
		if (!r->finished)
			assert_true(wait_notify(&start));
	}
}

static void job_result_finish(struct job_result *r)
{
	session_destroy(r->pages);
}

/* Waits until the status reads state (and problem, unless SCAN_PROBLEM_LAST),
 * taking and dropping events meanwhile. */
static void wait_state(struct scan_service *svc, enum scan_service_state state,
                       enum scan_problem problem)
{
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	for (;;) {
		struct scan_service_event ev;
		while (scan_service_poll(svc, &ev))
			if (ev.kind == SCAN_SERVICE_EVENT_PAGE_READY)
				scan_page_destroy(ev.page_result);
		struct scan_service_status st;
		scan_service_get_status(svc, &st);
		if (st.state == state && (problem == SCAN_PROBLEM_LAST || st.problem == problem))
			return;
		if (!wait_notify(&start))
			fail_msg("still %s (%s), waiting for %s (%s)",
			         scan_service_state_name(st.state), scan_problem_name(st.problem),
			         scan_service_state_name(state), scan_problem_name(problem));
	}
}

/* Waits until the listing of generation `generation` (or a later one) is
 * there and copies it to *out. */
static void wait_devices(struct scan_service *svc, uint32_t generation,
                         struct scan_service_devices *out)
{
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	for (;;) {
		struct scan_service_event ev;
		while (scan_service_poll(svc, &ev))
			scan_service_event_discard(&ev);
		scan_service_get_devices(svc, out);
		if (out->generation >= generation) {
			assert_int_equal(out->generation, generation);
			return;
		}
		if (!wait_notify(&start))
			fail_msg("no listing %u (at %u)", generation, out->generation);
	}
}

static const char *pages_dir(void)
{
	const char *d = getenv("SCANKIOSK_PAGES_DIR");
	return d && *d ? d : "../shared/pages";
}

static struct scan_service *start_sim(const char *spec_tail)
{
	char device[4096];
	const char *d = pages_dir();
	snprintf(device, sizeof(device), "sim:pages=%s/s01_payslip.png,%s/s02_contract.png;%s", d,
	         d, spec_tail);
	struct scan_service_config cfg;
	scan_service_config_init(&cfg);
	cfg.device = device;
	cfg.options.dpi = 75; /* small pages: the service is under test, not the pipeline */
	cfg.options.source = SCANNER_SOURCE_FEEDER;
	cfg.retry_ms = 50;
	struct scan_service *svc = scan_service_create(&cfg, handle_notify, &waiter);
	assert_non_null(svc);
	return svc;
}

/* --- the simulator --- */

/* The scanner is unplugged during the first page: the customer hears it, the
 * service finds the scanner again by itself and the next scan works. */
static void test_sim_device_gone_and_back(void **state)
{
	(void)state;
	struct scan_service *svc = start_sim("feeder=3;gone-after-lines=100");
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	struct scan_service_status st;
	scan_service_get_status(svc, &st);
	assert_true(st.has_feeder);
	assert_true(st.has_flatbed);

	uint32_t job = scan_service_scan(svc, SCAN_SERVICE_SOURCE_DEFAULT, 0);
	assert_true(job > 0);
	assert_int_equal(scan_service_scan(svc, SCAN_SERVICE_SOURCE_DEFAULT, 0), 0); /* busy */
	scan_service_get_status(svc, &st);
	assert_int_equal(st.state, SCAN_SERVICE_SCANNING);
	assert_int_equal(st.job, job);

	struct job_result r;
	run_until_finished(svc, job, &r);
	assert_int_equal(r.end.problem, SCAN_PROBLEM_DEVICE_GONE);
	assert_int_equal(r.end.status, SCANNER_DEVICE_GONE);
	assert_false(r.end.cancelled);
	assert_int_equal(r.started, 1);
	assert_int_equal(session_page_count(r.pages), 0); /* a half page is never delivered */
	job_result_finish(&r);

	/* Back without a restart. */
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	uint32_t job2 = scan_service_scan(svc, SCAN_SERVICE_SOURCE_FEEDER, 0);
	assert_true(job2 > job);
	run_until_finished(svc, job2, &r);
	assert_int_equal(r.end.problem, SCAN_PROBLEM_NONE);
	assert_false(r.end.cancelled);
	/* The sheet that failed is used up: two of three remain. */
	assert_int_equal(session_page_count(r.pages), 2);
	assert_int_equal(r.end.pages_done, 2);
	const struct scan_page *p = session_page(r.pages, 0);
	assert_int_equal(p->facts.dpi, 75);
	assert_int_equal(p->facts.width, 620);
	assert_int_equal(p->facts.height, 877);
	assert_non_null(p->thumb);
	job_result_finish(&r);
	scan_service_get_status(svc, &st);
	assert_int_equal(st.state, SCAN_SERVICE_READY);
	assert_int_equal(st.problem, SCAN_PROBLEM_NONE);
	scan_service_destroy(svc);
}

static void test_sim_feeder_empty(void **state)
{
	(void)state;
	struct scan_service *svc = start_sim("feeder=0");
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	uint32_t job = scan_service_scan(svc, SCAN_SERVICE_SOURCE_FEEDER, 0);
	struct job_result r;
	run_until_finished(svc, job, &r);
	assert_int_equal(r.end.problem, SCAN_PROBLEM_FEEDER_EMPTY);
	assert_int_equal(r.started, 0);
	job_result_finish(&r);
	/* The problem stays on screen; the scanner is ready for another try. */
	struct scan_service_status st;
	scan_service_get_status(svc, &st);
	assert_int_equal(st.state, SCAN_SERVICE_READY);
	assert_int_equal(st.problem, SCAN_PROBLEM_FEEDER_EMPTY);
	/* The glass works all the same: one page. */
	job = scan_service_scan(svc, SCAN_SERVICE_SOURCE_FLATBED, 0);
	run_until_finished(svc, job, &r);
	assert_int_equal(r.end.problem, SCAN_PROBLEM_NONE);
	assert_int_equal(session_page_count(r.pages), 1);
	job_result_finish(&r);
	scan_service_destroy(svc);
}

static void test_sim_jam(void **state)
{
	(void)state;
	struct scan_service *svc = start_sim("feeder=3;jam-after-lines=10;fault-page=2");
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	uint32_t job = scan_service_scan(svc, SCAN_SERVICE_SOURCE_FEEDER, 0);
	struct job_result r;
	run_until_finished(svc, job, &r);
	assert_int_equal(r.end.problem, SCAN_PROBLEM_JAMMED);
	assert_int_equal(session_page_count(r.pages), 1); /* the page before the jam is kept */
	job_result_finish(&r);
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_JAMMED);
	scan_service_destroy(svc);
}

/* Waits until the running job has finished at least `pages` pages. */
static void wait_pages_done(struct scan_service *svc, unsigned pages)
{
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	for (;;) {
		struct scan_service_status st;
		scan_service_get_status(svc, &st);
		if (st.pages_done >= pages)
			return;
		assert_int_equal(st.state, SCAN_SERVICE_SCANNING);
		assert_true(wait_notify(&start));
	}
}

/* Cancel keeps the finished pages; abort (the session is wiped) drops them,
 * even those already waiting in the queue. */
static void test_sim_cancel_and_abort(void **state)
{
	(void)state;
	/* 877 lines at 2 ms: each page takes about two seconds. */
	struct scan_service *svc = start_sim("feeder=10;line-delay-us=2000");
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);

	uint32_t job = scan_service_scan(svc, SCAN_SERVICE_SOURCE_FEEDER, 0);
	wait_pages_done(svc, 1); /* page 1 queued, page 2 being read */
	scan_service_cancel(svc);
	struct job_result r;
	run_until_finished(svc, job, &r);
	assert_true(r.end.cancelled);
	assert_int_equal(r.end.problem, SCAN_PROBLEM_NONE);
	assert_true(session_page_count(r.pages) >= 1);
	assert_true(session_page_count(r.pages) < 10);
	job_result_finish(&r);

	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	job = scan_service_scan(svc, SCAN_SERVICE_SOURCE_FEEDER, 0);
	wait_pages_done(svc, 1);
	scan_service_abort(svc);
	run_until_finished(svc, job, &r);
	assert_true(r.end.cancelled);
	assert_int_equal(session_page_count(r.pages), 0);
	job_result_finish(&r);

	/* Abort and cancel when idle change nothing. */
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	scan_service_abort(svc);
	scan_service_cancel(svc);
	struct scan_service_status st;
	scan_service_get_status(svc, &st);
	assert_int_equal(st.state, SCAN_SERVICE_READY);

	/* Destroy in the middle of a page returns (joins) and frees what is queued. */
	job = scan_service_scan(svc, SCAN_SERVICE_SOURCE_FEEDER, 0);
	assert_true(job > 0);
	wait_pages_done(svc, 1);
	scan_service_destroy(svc);
}

/* A count of pages is a count: 0 scans nothing (it used to mean "until the
 * feeder is empty"), SCAN_SERVICE_UNLIMITED empties the feeder; the older
 * scan_service_scan() keeps its 0 for existing callers. */
static void test_sim_max_pages(void **state)
{
	(void)state;
	struct scan_service *svc = start_sim("feeder=5");
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	assert_int_equal(scan_service_start(svc, SCAN_SERVICE_SOURCE_FEEDER, 0), 0);
	struct scan_service_status st;
	scan_service_get_status(svc, &st);
	assert_int_equal(st.state, SCAN_SERVICE_READY);

	uint32_t job = scan_service_start(svc, SCAN_SERVICE_SOURCE_FEEDER, 2);
	assert_true(job > 0);
	struct job_result r;
	run_until_finished(svc, job, &r);
	assert_int_equal(session_page_count(r.pages), 2);
	job_result_finish(&r);

	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_LAST);
	job = scan_service_scan(svc, SCAN_SERVICE_SOURCE_FEEDER, 0); /* the rest: 3 */
	run_until_finished(svc, job, &r);
	assert_int_equal(session_page_count(r.pages), 3);
	job_result_finish(&r);
	scan_service_destroy(svc);
}

/* A page the UI does not keep (an old job's) is zeroed and freed through
 * scan_service_event_discard(); the queue keeps no pointer to it. */
static void test_sim_discard(void **state)
{
	(void)state;
	struct scan_service *svc = start_sim("feeder=1");
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	uint32_t job = scan_service_start(svc, SCAN_SERVICE_SOURCE_FEEDER, SCAN_SERVICE_UNLIMITED);
	assert_true(job > 0);
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	bool finished = false, discarded = false;
	while (!finished) {
		struct scan_service_event ev;
		while (scan_service_poll(svc, &ev)) {
			if (ev.kind == SCAN_SERVICE_EVENT_PAGE_READY) {
				assert_non_null(ev.page_result);
				scan_service_event_discard(&ev);
				assert_null(ev.page_result);
				discarded = true;
			} else if (ev.kind == SCAN_SERVICE_EVENT_FINISHED) {
				finished = true;
			}
		}
		if (!finished)
			assert_true(wait_notify(&start));
	}
	assert_true(discarded); /* and no leak under ASan */
	scan_service_event_discard(NULL);
	scan_service_destroy(svc);
}

/* Holds the service thread at a hook until the test opens it. */
struct hold {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool armed, entered, open;
};

static void hold_here(void *userdata)
{
	struct hold *h = userdata;
	pthread_mutex_lock(&h->lock);
	if (h->armed) {
		h->entered = true;
		pthread_cond_broadcast(&h->cond);
		while (!h->open)
			pthread_cond_wait(&h->cond, &h->lock);
		h->armed = false;
	}
	pthread_mutex_unlock(&h->lock);
}

static void hold_arm(struct hold *h)
{
	pthread_mutex_lock(&h->lock);
	h->armed = true;
	h->entered = h->open = false;
	pthread_mutex_unlock(&h->lock);
}

static void hold_wait_entered(struct hold *h)
{
	pthread_mutex_lock(&h->lock);
	while (!h->entered)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

static void hold_open(struct hold *h)
{
	pthread_mutex_lock(&h->lock);
	h->open = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static struct hold open_hold = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false,
                                false};
static struct hold job_hold = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false,
                               false};

static void hook_open(void *userdata)
{
	(void)userdata;
	hold_here(&open_hold);
}

static void hook_job(void *userdata)
{
	(void)userdata;
	hold_here(&job_hold);
}

static const struct scan_service_hooks hooks = {.before_open = hook_open, .before_job = hook_job};

static struct scan_service *start_sim_hooked(const char *spec_tail)
{
	char device[4096];
	const char *d = pages_dir();
	snprintf(device, sizeof(device), "sim:pages=%s/s01_payslip.png;%s", d, spec_tail);
	struct scan_service_config cfg;
	scan_service_config_init(&cfg);
	cfg.device = device;
	cfg.options.dpi = 75;
	cfg.options.source = SCANNER_SOURCE_FEEDER;
	cfg.retry_ms = 50;
	cfg.hooks = &hooks;
	struct scan_service *svc = scan_service_create(&cfg, handle_notify, &waiter);
	assert_non_null(svc);
	return svc;
}

/* While the service thread is stuck opening the device (held at the hook, as
 * a slow SANE listing holds it), every call the UI makes returns: a call that
 * waited for the service thread would never return here. */
static void test_ui_calls_while_open_is_slow(void **state)
{
	(void)state;
	hold_arm(&open_hold);
	struct scan_service *svc = start_sim_hooked("feeder=2");
	hold_wait_entered(&open_hold);
	struct scan_service_status st;
	scan_service_get_status(svc, &st);
	assert_int_equal(st.state, SCAN_SERVICE_SEARCHING);
	struct scan_service_event ev;
	while (scan_service_poll(svc, &ev))
		scan_service_event_discard(&ev);
	assert_int_equal(scan_service_start(svc, SCAN_SERVICE_SOURCE_FEEDER, 1), 0);
	assert_int_equal(scan_service_scan(svc, SCAN_SERVICE_SOURCE_DEFAULT, 0), 0);
	scan_service_cancel(svc);
	scan_service_abort(svc);
	scan_service_inject_hotplug(svc, true);
	scan_service_inject_hotplug(svc, false);
	/* The maintenance menu's calls: a listing asked for (and asked again:
	 * the same one), the settings changed. */
	assert_int_equal(scan_service_list_devices(svc), 1);
	assert_int_equal(scan_service_list_devices(svc), 1);
	struct scan_service_devices devs;
	scan_service_get_devices(svc, &devs);
	assert_true(devs.listing);
	assert_int_equal(devs.generation, 0);
	struct scan_service_settings set;
	scan_service_get_settings(svc, &set);
	set.dpi = 150;
	assert_int_equal(scan_service_set_settings(svc, &set), SCANNER_OK);
	scan_service_get_settings(svc, &set);
	assert_int_equal(set.dpi, 150);
	scan_service_get_status(svc, &st);
	assert_int_equal(st.state, SCAN_SERVICE_SEARCHING);
	hold_open(&open_hold);
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	/* The listing comes once the device is open, and shows it open. */
	wait_devices(svc, 1, &devs);
	assert_int_equal(devs.count, 1);
	assert_true(devs.devices[0].open);
	scan_service_destroy(svc);
}

/* Abort of a job that was accepted but not yet set up: it never starts a
 * page, delivers nothing, and ends with FINISHED(cancelled). */
static void test_abort_pending_job(void **state)
{
	(void)state;
	struct scan_service *svc = start_sim_hooked("feeder=2");
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	hold_arm(&job_hold);
	uint32_t job = scan_service_start(svc, SCAN_SERVICE_SOURCE_FEEDER, SCAN_SERVICE_UNLIMITED);
	assert_true(job > 0);
	hold_wait_entered(&job_hold);
	scan_service_abort(svc);
	hold_open(&job_hold);
	struct job_result r;
	run_until_finished(svc, job, &r);
	assert_true(r.end.cancelled);
	assert_int_equal(r.started, 0);
	assert_int_equal(session_page_count(r.pages), 0);
	job_result_finish(&r);
	/* The sheets are still in the feeder: the next job gets both. */
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_LAST);
	job = scan_service_start(svc, SCAN_SERVICE_SOURCE_FEEDER, SCAN_SERVICE_UNLIMITED);
	run_until_finished(svc, job, &r);
	assert_int_equal(session_page_count(r.pages), 2);
	job_result_finish(&r);
	scan_service_destroy(svc);
}

/* A spec the simulator refuses is a scanner that cannot be found: the kiosk
 * keeps looking and says so, it does not crash or stop. */
static void test_sim_bad_spec(void **state)
{
	(void)state;
	struct scan_service_config cfg;
	scan_service_config_init(&cfg);
	cfg.device = "sim:feeder=lots";
	cfg.retry_ms = 20;
	struct scan_service *svc = scan_service_create(&cfg, handle_notify, &waiter);
	assert_non_null(svc);
	wait_state(svc, SCAN_SERVICE_SEARCHING, SCAN_PROBLEM_NO_SCANNER);
	assert_int_equal(scan_service_scan(svc, SCAN_SERVICE_SOURCE_DEFAULT, 0), 0);
	scan_service_destroy(svc);
}

/* --- libsane and its test backend --- */

static void write_dll_conf(const char *content)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/dll.conf", sane_dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static void test_sane_scan(void **state)
{
	(void)state;
	write_dll_conf("test\n");
	struct scan_service_config cfg;
	scan_service_config_init(&cfg);
	cfg.device = "test:0";
	cfg.options.dpi = 75;
	cfg.options.width_mm = 100;
	cfg.options.height_mm = 80;
	struct scan_service *svc = scan_service_create(&cfg, handle_notify, &waiter);
	assert_non_null(svc);
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	uint32_t job = scan_service_scan(svc, SCAN_SERVICE_SOURCE_FLATBED, 0);
	assert_true(job > 0);
	struct job_result r;
	run_until_finished(svc, job, &r);
	assert_int_equal(r.end.problem, SCAN_PROBLEM_NONE);
	assert_int_equal(r.end.status, SCANNER_OK);
	assert_int_equal(session_page_count(r.pages), 1);
	const struct scan_page *p = session_page(r.pages, 0);
	assert_int_equal(p->facts.dpi, 75);
	/* 100 x 80 mm at 75 dpi, as the test backend rounds it. */
	assert_true(p->facts.width >= 290 && p->facts.width <= 298);
	assert_true(p->facts.height >= 230 && p->facts.height <= 238);
	tjhandle tj = tjInitDecompress();
	int w, h, sub, cs;
	assert_int_equal(tjDecompressHeader3(tj, p->jpeg, p->facts.bytes, &w, &h, &sub, &cs), 0);
	assert_int_equal(w, (int)p->facts.width);
	assert_int_equal(h, (int)p->facts.height);
	tjDestroy(tj);
	job_result_finish(&r);
	scan_service_destroy(svc);
}

/* No scanner at start (no backend configured): the service says so and keeps
 * looking; once the scanner is "plugged in", it is found and scans. */
static void test_sane_scanner_appears(void **state)
{
	(void)state;
	write_dll_conf("# no backends: the scanner is unplugged\n");
	struct scan_service_config cfg;
	scan_service_config_init(&cfg);
	cfg.device = NULL; /* the first device found */
	cfg.options.dpi = 75;
	cfg.options.width_mm = 50;
	cfg.options.height_mm = 50;
	cfg.retry_ms = 50;
	struct scan_service *svc = scan_service_create(&cfg, handle_notify, &waiter);
	assert_non_null(svc);
	wait_state(svc, SCAN_SERVICE_SEARCHING, SCAN_PROBLEM_NO_SCANNER);
	assert_int_equal(scan_service_scan(svc, SCAN_SERVICE_SOURCE_DEFAULT, 0), 0);

	write_dll_conf("test\n");
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	uint32_t job = scan_service_scan(svc, SCAN_SERVICE_SOURCE_DEFAULT, 0);
	assert_true(job > 0);
	struct job_result r;
	run_until_finished(svc, job, &r);
	assert_int_equal(r.end.problem, SCAN_PROBLEM_NONE);
	assert_int_equal(session_page_count(r.pages), 1);
	job_result_finish(&r);
	scan_service_destroy(svc);
}

/* --- the maintenance menu: listing devices, settings at run time --- */

/* The simulator lists one device under the name [scanner] device takes
 * ("sim:SPEC"), open; each listing is a new generation. */
static void test_sim_list_devices(void **state)
{
	(void)state;
	char device[4096];
	const char *d = pages_dir();
	snprintf(device, sizeof(device), "sim:pages=%s/s01_payslip.png,%s/s02_contract.png;%s", d,
	         d, "feeder=2");
	struct scan_service *svc = start_sim("feeder=2");
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	struct scan_service_devices devs;
	scan_service_get_devices(svc, &devs);
	assert_int_equal(devs.generation, 0);
	assert_false(devs.listing);
	assert_int_equal(devs.count, 0);

	uint32_t gen = scan_service_list_devices(svc);
	assert_int_equal(gen, 1);
	wait_devices(svc, gen, &devs);
	assert_false(devs.listing);
	assert_int_equal(devs.status, SCANNER_OK);
	assert_int_equal(devs.count, 1);
	assert_int_equal(devs.total, 1);
	assert_string_equal(devs.devices[0].name, device);
	assert_string_equal(devs.devices[0].vendor, "scankiosk");
	assert_string_equal(devs.devices[0].model, "Simulated scanner");
	assert_string_equal(devs.devices[0].serial, "");
	assert_true(devs.devices[0].open);

	/* Listing changed nothing: the scanner still scans. */
	gen = scan_service_list_devices(svc);
	assert_int_equal(gen, 2);
	wait_devices(svc, gen, &devs);
	assert_int_equal(devs.count, 1);
	uint32_t job = scan_service_start(svc, SCAN_SERVICE_SOURCE_FEEDER, SCAN_SERVICE_UNLIMITED);
	assert_true(job > 0);
	struct job_result r;
	run_until_finished(svc, job, &r);
	assert_int_equal(session_page_count(r.pages), 2);
	job_result_finish(&r);
	scan_service_destroy(svc);
}

/* Source, dpi and mode changed at run time are what the next job uses; the
 * same device is not reopened; bad values are refused. */
static void test_sim_settings(void **state)
{
	(void)state;
	struct scan_service *svc = start_sim("feeder=4");
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	struct scan_service_settings set;
	scan_service_get_settings(svc, &set);
	assert_int_equal(strncmp(set.device, "sim:pages=", 10), 0);
	assert_int_equal(set.source, CONFIG_SCAN_SOURCE_ADF); /* start_sim: the feeder */
	assert_int_equal(set.dpi, 75);
	assert_int_equal(set.mode, CONFIG_SCAN_MODE_AUTO);

	set.source = CONFIG_SCAN_SOURCE_FLATBED;
	set.dpi = 150;
	set.mode = CONFIG_SCAN_MODE_GRAY;
	assert_int_equal(scan_service_set_settings(svc, &set), SCANNER_OK);
	struct scan_service_status st;
	scan_service_get_status(svc, &st);
	assert_int_equal(st.state, SCAN_SERVICE_READY); /* the same device: no reopening */
	struct scan_service_settings now;
	scan_service_get_settings(svc, &now);
	assert_memory_equal(&now, &set, sizeof(now));

	/* The default source is the glass now: one page, at 150 dpi, grey. */
	uint32_t job = scan_service_start(svc, SCAN_SERVICE_SOURCE_DEFAULT, SCAN_SERVICE_UNLIMITED);
	assert_true(job > 0);
	struct job_result r;
	run_until_finished(svc, job, &r);
	assert_int_equal(r.end.problem, SCAN_PROBLEM_NONE);
	assert_int_equal(session_page_count(r.pages), 1);
	const struct scan_page *p = session_page(r.pages, 0);
	assert_int_equal(p->facts.dpi, 150);
	assert_int_equal(p->facts.width, 1240); /* A4 at 150 dpi */
	assert_false(p->facts.scanned_color);
	assert_false(p->facts.stored_color);
	job_result_finish(&r);

	/* Back to the feeder in colour, kept colour. */
	set.source = CONFIG_SCAN_SOURCE_ADF;
	set.dpi = 75;
	set.mode = CONFIG_SCAN_MODE_COLOR;
	assert_int_equal(scan_service_set_settings(svc, &set), SCANNER_OK);
	job = scan_service_start(svc, SCAN_SERVICE_SOURCE_DEFAULT, SCAN_SERVICE_UNLIMITED);
	run_until_finished(svc, job, &r);
	assert_int_equal(session_page_count(r.pages), 4); /* the glass takes no sheet */
	p = session_page(r.pages, 0);
	assert_int_equal(p->facts.dpi, 75);
	assert_true(p->facts.scanned_color);
	assert_true(p->facts.stored_color);
	job_result_finish(&r);

	/* Out of range: nothing changes. */
	struct scan_service_settings bad = set;
	bad.dpi = 74;
	assert_int_equal(scan_service_set_settings(svc, &bad), SCANNER_INVALID);
	bad.dpi = 1201;
	assert_int_equal(scan_service_set_settings(svc, &bad), SCANNER_INVALID);
	bad = set;
	bad.mode = CONFIG_SCAN_MODE_LAST;
	assert_int_equal(scan_service_set_settings(svc, &bad), SCANNER_INVALID);
	bad = set;
	bad.source = CONFIG_SCAN_SOURCE_LAST;
	assert_int_equal(scan_service_set_settings(svc, &bad), SCANNER_INVALID);
	bad = set;
	snprintf(bad.device, sizeof(bad.device), "test:0\nmode = gray");
	assert_int_equal(scan_service_set_settings(svc, &bad), SCANNER_INVALID);
	bad = set;
	memset(bad.device, 'x', sizeof(bad.device)); /* no NUL */
	assert_int_equal(scan_service_set_settings(svc, &bad), SCANNER_INVALID);
	scan_service_get_settings(svc, &now);
	assert_memory_equal(&now, &set, sizeof(now));
	scan_service_get_status(svc, &st);
	assert_int_equal(st.state, SCAN_SERVICE_READY);
	scan_service_destroy(svc);
}

/* While a job is accepted (held before it is set up, then running) the
 * settings are refused and a listing waits for its end; two requests that
 * wait together share one listing. */
static void test_settings_refused_and_listing_waits_during_job(void **state)
{
	(void)state;
	struct scan_service *svc = start_sim_hooked("feeder=2");
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	struct scan_service_settings before, set;
	scan_service_get_settings(svc, &before);
	hold_arm(&job_hold);
	uint32_t job = scan_service_start(svc, SCAN_SERVICE_SOURCE_FEEDER, SCAN_SERVICE_UNLIMITED);
	assert_true(job > 0);
	hold_wait_entered(&job_hold);

	set = before;
	set.dpi = 300;
	assert_int_equal(scan_service_set_settings(svc, &set), SCANNER_BUSY);
	snprintf(set.device, sizeof(set.device), "test:1");
	assert_int_equal(scan_service_set_settings(svc, &set), SCANNER_BUSY);
	scan_service_get_settings(svc, &set);
	assert_memory_equal(&set, &before, sizeof(set));

	assert_int_equal(scan_service_list_devices(svc), 1);
	assert_int_equal(scan_service_list_devices(svc), 1);
	struct scan_service_devices devs;
	scan_service_get_devices(svc, &devs);
	assert_true(devs.listing);
	assert_int_equal(devs.generation, 0);

	hold_open(&job_hold);
	struct job_result r;
	run_until_finished(svc, job, &r);
	assert_int_equal(session_page_count(r.pages), 2);
	assert_int_equal(session_page(r.pages, 0)->facts.dpi,
	                 75); /* the settings it started with */
	job_result_finish(&r);
	wait_devices(svc, 1, &devs);
	assert_int_equal(devs.count, 1);
	assert_true(devs.devices[0].open);

	/* Over: the settings are taken again. */
	set = before;
	set.dpi = 300;
	assert_int_equal(scan_service_set_settings(svc, &set), SCANNER_OK);
	scan_service_destroy(svc);
}

/* Another simulator spec is another device: the old one is closed and the
 * new one opened (its feeder holds three sheets); scans wait until then. */
static void test_sim_change_device(void **state)
{
	(void)state;
	struct scan_service *svc = start_sim_hooked("feeder=1");
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	struct scan_service_settings set;
	scan_service_get_settings(svc, &set);
	snprintf(set.device, sizeof(set.device), "sim:pages=%s/s02_contract.png;feeder=3",
	         pages_dir());
	/* The service thread is held where it opens the new device. */
	hold_arm(&open_hold);
	assert_int_equal(scan_service_set_settings(svc, &set), SCANNER_OK);
	struct scan_service_status st;
	scan_service_get_status(svc, &st);
	assert_int_equal(st.state, SCAN_SERVICE_SEARCHING);
	hold_wait_entered(&open_hold);
	scan_service_get_status(svc, &st);
	assert_int_equal(st.state, SCAN_SERVICE_SEARCHING);
	assert_int_equal(scan_service_start(svc, SCAN_SERVICE_SOURCE_FEEDER, 1), 0);
	hold_open(&open_hold);
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);

	struct scan_service_devices devs;
	wait_devices(svc, scan_service_list_devices(svc), &devs);
	assert_int_equal(devs.count, 1);
	assert_string_equal(devs.devices[0].name, set.device);
	assert_true(devs.devices[0].open);
	struct scan_service_settings now;
	scan_service_get_settings(svc, &now);
	assert_string_equal(now.device, set.device);

	uint32_t job = scan_service_start(svc, SCAN_SERVICE_SOURCE_FEEDER, SCAN_SERVICE_UNLIMITED);
	struct job_result r;
	run_until_finished(svc, job, &r);
	assert_int_equal(session_page_count(r.pages), 3);
	job_result_finish(&r);
	scan_service_destroy(svc);
}

/* The SANE test backend lists test:0 and test:1; switching to test:1 closes
 * test:0 and opens test:1. With no backend and "" (the first found) the
 * listing is empty and the service searches; a listing then is an attempt,
 * which finds the scanner plugged in meanwhile and opens the first. Automatic attempts are 10
 * minutes apart here, so every listing and opening below is the test's. */
static void test_sane_list_and_change(void **state)
{
	(void)state;
	write_dll_conf("test\n");
	struct scan_service_config cfg;
	scan_service_config_init(&cfg);
	cfg.device = "test:0";
	cfg.options.dpi = 75;
	cfg.options.width_mm = 50;
	cfg.options.height_mm = 50;
	cfg.retry_ms = 600000;
	cfg.retry_max_ms = 600000;
	cfg.no_udev = true;
	struct scan_service *svc = scan_service_create(&cfg, handle_notify, &waiter);
	assert_non_null(svc);
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);

	struct scan_service_devices devs;
	wait_devices(svc, scan_service_list_devices(svc), &devs);
	assert_int_equal(devs.status, SCANNER_OK);
	assert_int_equal(devs.count, 2);
	assert_string_equal(devs.devices[0].name, "test:0");
	assert_string_equal(devs.devices[1].name, "test:1");
	assert_string_equal(devs.devices[0].vendor, "Noname");
	assert_string_equal(devs.devices[1].model, "frontend-tester");
	assert_true(devs.devices[0].open);
	assert_false(devs.devices[1].open);

	struct scan_service_settings set;
	scan_service_get_settings(svc, &set);
	assert_string_equal(set.device, "test:0");
	snprintf(set.device, sizeof(set.device), "test:1");
	assert_int_equal(scan_service_set_settings(svc, &set), SCANNER_OK);
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	struct scan_service_status st;
	scan_service_get_status(svc, &st);
	assert_string_equal(st.device, "test:1");
	wait_devices(svc, scan_service_list_devices(svc), &devs);
	assert_int_equal(devs.count, 2);
	assert_false(devs.devices[0].open);
	assert_true(devs.devices[1].open);
	uint32_t job = scan_service_start(svc, SCAN_SERVICE_SOURCE_FLATBED, 1);
	assert_true(job > 0);
	struct job_result r;
	run_until_finished(svc, job, &r);
	assert_int_equal(r.end.problem, SCAN_PROBLEM_NONE);
	assert_int_equal(session_page_count(r.pages), 1);
	job_result_finish(&r);

	/* Unplugged (no backend), then "" (the first device found) asked for:
	 * none. (A named device would still open: libsane's dll backend loads
	 * the backend a name asks for.) */
	write_dll_conf("# no backends\n");
	set.device[0] = '\0';
	assert_int_equal(scan_service_set_settings(svc, &set), SCANNER_OK);
	wait_state(svc, SCAN_SERVICE_SEARCHING, SCAN_PROBLEM_NO_SCANNER);
	uint32_t gen = scan_service_list_devices(svc);
	wait_devices(svc, gen, &devs);
	assert_int_equal(devs.status, SCANNER_OK);
	assert_int_equal(devs.count, 0);
	scan_service_get_status(svc, &st);
	assert_int_equal(st.state, SCAN_SERVICE_SEARCHING);

	/* Plugged in again: the next listing finds and opens the first. */
	write_dll_conf("test\n");
	wait_devices(svc, scan_service_list_devices(svc), &devs);
	assert_int_equal(devs.count, 2);
	assert_true(devs.devices[0].open);
	assert_false(devs.devices[1].open);
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	scan_service_get_status(svc, &st);
	assert_string_equal(st.device, "test:0");
	scan_service_destroy(svc);
}

/* --- hotplug, backoff and the device's identity, on a test clock --- */

/*
 * The service's timers run on this clock, which moves only while the service
 * waits, and only up to `limit`: the test lets time pass in steps and, once
 * the service has settled (it waits for a timer beyond the limit, or for a
 * command with no timer at all), checks what happened up to then.
 * Durations are counted in attempts and listings at known clock readings,
 * never measured.
 */
struct test_clock {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t now;   /* ms */
	uint64_t limit; /* the clock runs up to here */
	uint64_t seq;   /* the test's actions (limit moved, event injected, command) */
	uint64_t seen;  /* the last action the service had seen when it settled */
	bool settled;   /* waiting beyond the limit, or for a command only */
	bool blocked;   /* ... held in before_wait */
	bool kick;      /* leave before_wait without moving the clock */
	bool free_run;  /* never hold (the service is being destroyed) */
	uint64_t attempts[64];
	unsigned n_attempts;
};

static struct test_clock tclock = {.lock = PTHREAD_MUTEX_INITIALIZER,
                                   .cond = PTHREAD_COND_INITIALIZER};

static void clock_reset(void)
{
	pthread_mutex_lock(&tclock.lock);
	tclock.now = tclock.limit = tclock.seq = tclock.seen = 0;
	tclock.settled = tclock.blocked = tclock.kick = tclock.free_run = false;
	tclock.n_attempts = 0;
	pthread_mutex_unlock(&tclock.lock);
}

static uint64_t clock_now(void *userdata)
{
	(void)userdata;
	pthread_mutex_lock(&tclock.lock);
	uint64_t now = tclock.now;
	pthread_mutex_unlock(&tclock.lock);
	return now;
}

static void clock_before_wait(void *userdata, int timeout_ms)
{
	(void)userdata;
	pthread_mutex_lock(&tclock.lock);
	if (timeout_ms < 0 || tclock.free_run) {
		/* No timer: only a command or an event wakes the service. */
		tclock.settled = true;
		tclock.seen = tclock.seq;
		pthread_cond_broadcast(&tclock.cond);
		pthread_mutex_unlock(&tclock.lock);
		return;
	}
	while (tclock.now + (uint64_t)timeout_ms > tclock.limit && !tclock.kick &&
	       !tclock.free_run) {
		/* Time passes up to the limit; the timer is beyond it. */
		timeout_ms -= (int)(tclock.limit - tclock.now);
		tclock.now = tclock.limit;
		tclock.blocked = tclock.settled = true;
		tclock.seen = tclock.seq;
		pthread_cond_broadcast(&tclock.cond);
		pthread_cond_wait(&tclock.cond, &tclock.lock);
	}
	tclock.blocked = tclock.settled = false;
	if (tclock.kick)
		tclock.kick = false;
	else if (!tclock.free_run)
		tclock.now += (uint64_t)timeout_ms;
	pthread_mutex_unlock(&tclock.lock);
}

static void record_attempt(void *userdata)
{
	(void)userdata;
	pthread_mutex_lock(&tclock.lock);
	if (tclock.n_attempts < sizeof(tclock.attempts) / sizeof(tclock.attempts[0]))
		tclock.attempts[tclock.n_attempts] = tclock.now;
	tclock.n_attempts++;
	pthread_mutex_unlock(&tclock.lock);
}

static unsigned attempts(void)
{
	pthread_mutex_lock(&tclock.lock);
	unsigned n = tclock.n_attempts;
	pthread_mutex_unlock(&tclock.lock);
	return n;
}

/* Waits until the service has settled after the test's last action. */
static void clock_settle(void)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_LIMIT_S;
	pthread_mutex_lock(&tclock.lock);
	while (!(tclock.settled && tclock.seen == tclock.seq))
		if (pthread_cond_timedwait(&tclock.cond, &tclock.lock, &until) != 0)
			break;
	bool ok = tclock.settled && tclock.seen == tclock.seq;
	pthread_mutex_unlock(&tclock.lock);
	assert_true(ok);
}

/* Lets the clock run to `to` and waits until the service settles there. */
static void clock_run_until(uint64_t to)
{
	pthread_mutex_lock(&tclock.lock);
	tclock.limit = to;
	tclock.seq++;
	if (tclock.settled && !tclock.blocked) {
		/* Waiting without a timer: time passes, nothing else happens. */
		if (tclock.now < to)
			tclock.now = to;
		tclock.seen = tclock.seq;
	}
	pthread_cond_broadcast(&tclock.cond);
	pthread_mutex_unlock(&tclock.lock);
	clock_settle();
}

/* Before a command or an injected event: the service, held in before_wait,
 * goes on to its poll() (which the command wakes) without moving the clock. */
static void clock_wake(void)
{
	pthread_mutex_lock(&tclock.lock);
	tclock.seq++;
	tclock.settled = false;
	if (tclock.blocked) {
		tclock.kick = true;
		pthread_cond_broadcast(&tclock.cond);
	}
	pthread_mutex_unlock(&tclock.lock);
}

static void clock_inject(struct scan_service *svc, bool added)
{
	clock_wake();
	scan_service_inject_hotplug(svc, added);
	clock_settle();
}

static void clock_destroy(struct scan_service *svc)
{
	pthread_mutex_lock(&tclock.lock);
	tclock.free_run = true;
	pthread_cond_broadcast(&tclock.cond);
	pthread_mutex_unlock(&tclock.lock);
	scan_service_destroy(svc);
}

static void assert_status(struct scan_service *svc, enum scan_service_state state,
                          enum scan_problem problem)
{
	struct scan_service_event ev;
	while (scan_service_poll(svc, &ev))
		scan_service_event_discard(&ev);
	struct scan_service_status st;
	scan_service_get_status(svc, &st);
	if (st.state != state || st.problem != problem)
		fail_msg("%s (%s), expected %s (%s)", scan_service_state_name(st.state),
		         scan_problem_name(st.problem), scan_service_state_name(state),
		         scan_problem_name(problem));
}

/* --- a USB bus of scanners for the service (its own driver, through the
 * create_driver hook): devices come and go and change their bus path; each
 * opened device is the simulator --- */

struct bus_device {
	char name[32]; /* a bus path: changes on replug */
	char vendor[32];
	char model[32];
	char serial[32];
	bool plugged;
	unsigned rank; /* listing order, lowest first */
};

static struct fake_bus {
	pthread_mutex_t lock;
	struct bus_device dev[2];
	bool no_check; /* a driver that cannot check a device cheaply */
	unsigned lists, checks, opens;
	char opened[8][32]; /* names opened, in order */
} bus = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct bus_driver {
	struct scanner_driver base;
	struct scanner_driver *sim;
};

struct bus_scanner {
	struct scanner base;
	struct scanner *inner;
	char name[32];
};

static struct scanner *inner(struct scanner *s)
{
	return ((struct bus_scanner *)s)->inner;
}

static void bus_caps(struct scanner *s, struct scanner_caps *caps)
{
	scanner_caps(inner(s), caps);
}

static enum scanner_status bus_set_option(struct scanner *s, const char *n, const char *v)
{
	return scanner_set_option(inner(s), n, v);
}

static enum scanner_status bus_configure(struct scanner *s, const struct scanner_settings *w,
                                         struct scanner_settings *a)
{
	return scanner_configure(inner(s), w, a);
}

static enum scanner_status bus_start_page(struct scanner *s, struct scanner_frame *f)
{
	return scanner_start_page(inner(s), f);
}

static enum scanner_status bus_read_lines(struct scanner *s, uint8_t *buf, size_t max,
                                          size_t *lines)
{
	return scanner_read_lines(inner(s), buf, max, lines);
}

static void bus_end_document(struct scanner *s)
{
	scanner_end_document(inner(s));
}

static void bus_cancel(struct scanner *s)
{
	scanner_cancel(inner(s));
}

static void bus_close(struct scanner *s)
{
	scanner_close(inner(s));
	free(s);
}

/* Still on the bus under the name it was opened with? */
static enum scanner_status bus_check(struct scanner *s)
{
	const char *name = ((struct bus_scanner *)s)->name;
	enum scanner_status st = SCANNER_DEVICE_GONE;
	pthread_mutex_lock(&bus.lock);
	bus.checks++;
	for (size_t i = 0; i < 2; i++)
		if (bus.dev[i].plugged && strcmp(bus.dev[i].name, name) == 0)
			st = SCANNER_OK;
	pthread_mutex_unlock(&bus.lock);
	return st;
}

static const struct scanner_impl bus_impl = {
        .caps = bus_caps,
        .set_option = bus_set_option,
        .configure = bus_configure,
        .start_page = bus_start_page,
        .read_lines = bus_read_lines,
        .end_document = bus_end_document,
        .cancel = bus_cancel,
        .close = bus_close,
        .check = bus_check,
};

static const struct scanner_impl bus_impl_no_check = {
        .caps = bus_caps,
        .set_option = bus_set_option,
        .configure = bus_configure,
        .start_page = bus_start_page,
        .read_lines = bus_read_lines,
        .end_document = bus_end_document,
        .cancel = bus_cancel,
        .close = bus_close,
};

static enum scanner_status bus_list(struct scanner_driver *drv, struct scanner_device **devices,
                                    size_t *count)
{
	(void)drv;
	struct scanner_device *out = calloc(2, sizeof(*out));
	if (!out)
		return SCANNER_NO_MEMORY;
	size_t n = 0;
	pthread_mutex_lock(&bus.lock);
	bus.lists++;
	for (unsigned rank = 0; rank < 4; rank++) {
		for (size_t i = 0; i < 2; i++) {
			const struct bus_device *d = &bus.dev[i];
			if (!d->plugged || d->rank != rank)
				continue;
			snprintf(out[n].name, sizeof(out[n].name), "%s", d->name);
			snprintf(out[n].vendor, sizeof(out[n].vendor), "%s", d->vendor);
			snprintf(out[n].model, sizeof(out[n].model), "%s", d->model);
			snprintf(out[n].serial, sizeof(out[n].serial), "%s", d->serial);
			n++;
		}
	}
	pthread_mutex_unlock(&bus.lock);
	*devices = out;
	*count = n;
	return SCANNER_OK;
}

static enum scanner_status bus_open(struct scanner_driver *drv, const char *name,
                                    struct scanner **out)
{
	bool there = false, check = false;
	pthread_mutex_lock(&bus.lock);
	for (size_t i = 0; i < 2; i++)
		there = there || (bus.dev[i].plugged && strcmp(bus.dev[i].name, name) == 0);
	if (there && bus.opens < 8)
		snprintf(bus.opened[bus.opens], sizeof(bus.opened[0]), "%s", name);
	bus.opens += there;
	check = !bus.no_check;
	pthread_mutex_unlock(&bus.lock);
	if (!there)
		return SCANNER_NO_DEVICE;
	struct bus_scanner *s = calloc(1, sizeof(*s));
	if (!s)
		return SCANNER_NO_MEMORY;
	enum scanner_status st =
	        scanner_driver_open(((struct bus_driver *)drv)->sim, "", &s->inner);
	if (st != SCANNER_OK) {
		free(s);
		return st;
	}
	s->base.impl = check ? &bus_impl : &bus_impl_no_check;
	s->base.driver = drv;
	snprintf(s->name, sizeof(s->name), "%s", name);
	*out = &s->base;
	return SCANNER_OK;
}

static void bus_destroy(struct scanner_driver *drv)
{
	scanner_driver_destroy(((struct bus_driver *)drv)->sim);
	free(drv);
}

static const struct scanner_driver_impl bus_driver_impl = {
        .name = "test-bus",
        .list = bus_list,
        .open = bus_open,
        .destroy = bus_destroy,
};

static struct scanner_driver *bus_create(void *userdata)
{
	(void)userdata;
	char spec[4096];
	snprintf(spec, sizeof(spec), "pages=%s/s01_payslip.png;feeder=5", pages_dir());
	struct bus_driver *drv = calloc(1, sizeof(*drv));
	if (!drv)
		return NULL;
	drv->sim = scanner_sim_create(spec, NULL, NULL);
	if (!drv->sim) {
		free(drv);
		return NULL;
	}
	drv->base.impl = &bus_driver_impl;
	return &drv->base;
}

static void bus_reset(bool no_check)
{
	pthread_mutex_lock(&bus.lock);
	memset(bus.dev, 0, sizeof(bus.dev));
	bus.no_check = no_check;
	bus.lists = bus.checks = bus.opens = 0;
	memset(bus.opened, 0, sizeof(bus.opened));
	pthread_mutex_unlock(&bus.lock);
}

static void bus_plug(size_t i, const char *name, const char *serial, unsigned rank)
{
	pthread_mutex_lock(&bus.lock);
	struct bus_device *d = &bus.dev[i];
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->vendor, sizeof(d->vendor), "Acme");
	snprintf(d->model, sizeof(d->model), "DocScan 5");
	snprintf(d->serial, sizeof(d->serial), "%s", serial);
	d->rank = rank;
	d->plugged = true;
	pthread_mutex_unlock(&bus.lock);
}

static void bus_unplug(size_t i)
{
	pthread_mutex_lock(&bus.lock);
	bus.dev[i].plugged = false;
	pthread_mutex_unlock(&bus.lock);
}

static unsigned bus_count(const unsigned *counter)
{
	pthread_mutex_lock(&bus.lock);
	unsigned n = *counter;
	pthread_mutex_unlock(&bus.lock);
	return n;
}

static const struct scan_service_hooks bus_hooks = {
        .before_open = record_attempt,
        .now_ms = clock_now,
        .before_wait = clock_before_wait,
        .create_driver = bus_create,
};

static struct scan_service *start_bus(void)
{
	clock_reset();
	struct scan_service_config cfg;
	scan_service_config_init(&cfg);
	cfg.device = ""; /* the first device */
	cfg.options.dpi = 75;
	cfg.options.source = SCANNER_SOURCE_FEEDER;
	cfg.hooks = &bus_hooks;
	cfg.no_udev = true;
	struct scan_service *svc = scan_service_create(&cfg, handle_notify, &waiter);
	assert_non_null(svc);
	struct scan_service_status st;
	scan_service_get_status(svc, &st);
	assert_false(st.hotplug);
	clock_settle();
	return svc;
}

/*
 * Two scanners of the same model, told apart by serial. The one in use is
 * unplugged while idle: SEARCHING with DEVICE_GONE at once, no time passing
 * and no scan needed. It comes back under a new bus path, listed after the
 * other one: the service opens it again (by serial), not the first listed.
 * A device that goes and is not ours changes nothing and lists nothing.
 */
static void test_hotplug_remove_add_identity(void **state)
{
	(void)state;
	bus_reset(false);
	bus_plug(0, "bus:001:004", "A1", 0);
	bus_plug(1, "bus:001:005", "B2", 1);
	struct scan_service *svc = start_bus();
	assert_status(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	struct scan_service_status st;
	scan_service_get_status(svc, &st);
	assert_string_equal(st.model, "Acme DocScan 5");
	assert_string_equal(st.serial, "A1");
	assert_string_equal(st.device, "bus:001:004");
	assert_int_equal(bus_count(&bus.lists), 1);

	/* Another device (the second scanner) goes: ours is checked, not listed. */
	unsigned checks = bus_count(&bus.checks);
	bus_unplug(1);
	clock_inject(svc, false);
	assert_status(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	assert_int_equal(bus_count(&bus.lists), 1);
	assert_int_equal(bus_count(&bus.checks), checks + 1);
	bus_plug(1, "bus:001:005", "B2", 0); /* back, and now listed first */
	clock_inject(svc, true);
	assert_status(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);

	/* Ours is unplugged: reported at once, the clock has not moved. */
	bus_unplug(0);
	clock_inject(svc, false);
	assert_int_equal(clock_now(NULL), 0);
	assert_status(svc, SCAN_SERVICE_SEARCHING, SCAN_PROBLEM_DEVICE_GONE);
	assert_int_equal(scan_service_start(svc, SCAN_SERVICE_SOURCE_FEEDER, 1), 0);

	/* Back under a new bus path, listed after the other one. The listing
	 * waits for the debounce, and for retry_ms after the last listing. */
	bus_plug(0, "bus:001:007", "A1", 1);
	unsigned before = attempts();
	clock_inject(svc, true);
	clock_run_until(1999);
	assert_int_equal(attempts(), before);
	assert_status(svc, SCAN_SERVICE_SEARCHING, SCAN_PROBLEM_DEVICE_GONE);
	clock_run_until(2000);
	assert_int_equal(attempts(), before + 1);
	assert_status(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	scan_service_get_status(svc, &st);
	assert_string_equal(st.serial, "A1");
	assert_string_equal(st.device, "bus:001:007");
	pthread_mutex_lock(&bus.lock);
	assert_int_equal(bus.opens, 2);
	assert_string_equal(bus.opened[0], "bus:001:004");
	assert_string_equal(bus.opened[1], "bus:001:007"); /* never the other one */
	pthread_mutex_unlock(&bus.lock);

	/* And it scans. */
	clock_wake();
	uint32_t job = scan_service_start(svc, SCAN_SERVICE_SOURCE_FEEDER, 1);
	assert_true(job > 0);
	struct job_result r;
	run_until_finished(svc, job, &r);
	assert_int_equal(r.end.problem, SCAN_PROBLEM_NONE);
	assert_int_equal(session_page_count(r.pages), 1);
	job_result_finish(&r);
	clock_destroy(svc);
}

/* A driver that cannot check a device cheaply: a remove event makes the
 * service list the devices (debounced, with the device open); the device is
 * gone only when it is no longer listed. */
static void test_hotplug_remove_without_check(void **state)
{
	(void)state;
	bus_reset(true);
	bus_plug(0, "bus:002:010", "", 0);
	struct scan_service *svc = start_bus();
	assert_status(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	assert_int_equal(bus_count(&bus.lists), 1);

	/* Some other device went: one listing, after retry_ms since the last. */
	clock_inject(svc, false);
	clock_run_until(1999);
	assert_int_equal(bus_count(&bus.lists), 1);
	clock_run_until(2000);
	assert_int_equal(bus_count(&bus.lists), 2);
	assert_status(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	/* Without udev and without a check there is no timer at all. */
	clock_run_until(600000);
	assert_int_equal(bus_count(&bus.lists), 2);
	assert_status(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);

	/* Ours went: the debounced listing no longer shows it. */
	bus_unplug(0);
	clock_inject(svc, false);
	clock_run_until(600499);
	assert_status(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	clock_run_until(600500);
	assert_int_equal(bus_count(&bus.lists), 3);
	assert_status(svc, SCAN_SERVICE_SEARCHING, SCAN_PROBLEM_DEVICE_GONE);
	clock_destroy(svc);
}

/* --- a USB scanner behind the SANE adapter (libsane's test backend under a
 * USB name, with a device node in a scratch folder) --- */

struct usb_device {
	char vendor[32];
	char model[32];
	unsigned devnum;
	bool plugged;
};

static struct fake_usb {
	pthread_mutex_t lock;
	struct sane_api api;
	const struct sane_api *real;
	char root[PATH_MAX + 8]; /* stands for /dev/bus/usb */
	struct usb_device dev[2];
	unsigned inits, exits, lists, opens;
	char opened[64];
	/* What the last sane_get_devices() returned (the service thread's). */
	char names[2][64], vendors[2][32], models[2][32];
	SANE_Device sdev[2];
	const SANE_Device *list[3];
} usb = {.lock = PTHREAD_MUTEX_INITIALIZER};

static SANE_Status usb_init(SANE_Int *version, SANE_Auth_Callback auth)
{
	pthread_mutex_lock(&usb.lock);
	usb.inits++;
	pthread_mutex_unlock(&usb.lock);
	return usb.real->init(version, auth);
}

static void usb_exit(void)
{
	pthread_mutex_lock(&usb.lock);
	usb.exits++;
	pthread_mutex_unlock(&usb.lock);
	usb.real->exit();
}

static SANE_Status usb_get_devices(const SANE_Device ***list, SANE_Bool local_only)
{
	(void)local_only;
	size_t n = 0;
	pthread_mutex_lock(&usb.lock);
	usb.lists++;
	for (size_t i = 0; i < 2; i++) {
		if (!usb.dev[i].plugged)
			continue;
		snprintf(usb.names[n], sizeof(usb.names[n]), "fakeusb:libusb:001:%03u",
		         usb.dev[i].devnum);
		snprintf(usb.vendors[n], sizeof(usb.vendors[n]), "%s", usb.dev[i].vendor);
		snprintf(usb.models[n], sizeof(usb.models[n]), "%s", usb.dev[i].model);
		usb.sdev[n] = (SANE_Device){usb.names[n], usb.vendors[n], usb.models[n], "flatbed"};
		usb.list[n] = &usb.sdev[n];
		n++;
	}
	usb.list[n] = NULL;
	pthread_mutex_unlock(&usb.lock);
	*list = usb.list;
	return SANE_STATUS_GOOD;
}

static SANE_Status usb_open(SANE_String_Const name, SANE_Handle *h)
{
	bool there = false;
	pthread_mutex_lock(&usb.lock);
	for (size_t i = 0; i < 2 && !there; i++) {
		char n[64];
		snprintf(n, sizeof(n), "fakeusb:libusb:001:%03u", usb.dev[i].devnum);
		there = usb.dev[i].plugged && strcmp(n, name) == 0;
	}
	if (there) {
		usb.opens++;
		snprintf(usb.opened, sizeof(usb.opened), "%s", name);
	}
	pthread_mutex_unlock(&usb.lock);
	return there ? usb.real->open("test:0", h) : SANE_STATUS_INVAL;
}

static void usb_node_path(char *path, size_t size, unsigned devnum)
{
	snprintf(path, size, "%s/001/%03u", usb.root, devnum);
}

static void usb_plug(size_t i, const char *vendor, const char *model, unsigned devnum)
{
	char path[PATH_MAX + 16];
	usb_node_path(path, sizeof(path), devnum);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	pthread_mutex_lock(&usb.lock);
	snprintf(usb.dev[i].vendor, sizeof(usb.dev[i].vendor), "%s", vendor);
	snprintf(usb.dev[i].model, sizeof(usb.dev[i].model), "%s", model);
	usb.dev[i].devnum = devnum;
	usb.dev[i].plugged = true;
	pthread_mutex_unlock(&usb.lock);
}

static void usb_unplug(size_t i)
{
	char path[PATH_MAX + 16];
	pthread_mutex_lock(&usb.lock);
	usb.dev[i].plugged = false;
	usb_node_path(path, sizeof(path), usb.dev[i].devnum);
	pthread_mutex_unlock(&usb.lock);
	assert_int_equal(remove(path), 0);
}

static unsigned usb_count(const unsigned *counter)
{
	pthread_mutex_lock(&usb.lock);
	unsigned n = *counter;
	pthread_mutex_unlock(&usb.lock);
	return n;
}

static const struct scan_service_hooks sane_hooks = {
        .before_open = record_attempt,
        .now_ms = clock_now,
        .before_wait = clock_before_wait,
};

/* The SANE driver on the fake bus, configured by a bus path, on the test
 * clock, without udev. Returns NULL (test skipped) without libsane. */
static struct scan_service *start_usb(void)
{
	write_dll_conf("test\n");
	usb.real = scanner_sane_real_api();
	if (!usb.real)
		return NULL;
	pthread_mutex_lock(&usb.lock);
	usb.api = *usb.real;
	usb.api.init = usb_init;
	usb.api.exit = usb_exit;
	usb.api.get_devices = usb_get_devices;
	usb.api.open = usb_open;
	usb.api.usb_root = usb.root;
	pthread_mutex_unlock(&usb.lock);
	assert_true(scanner_sane_set_api(&usb.api));

	clock_reset();
	struct scan_service_config cfg;
	scan_service_config_init(&cfg);
	cfg.device = "fakeusb:libusb:001:004";
	cfg.options.dpi = 75;
	cfg.hooks = &sane_hooks;
	cfg.no_udev = true;
	struct scan_service *svc = scan_service_create(&cfg, handle_notify, &waiter);
	assert_non_null(svc);
	clock_settle();
	return svc;
}

static void stop_usb(struct scan_service *svc)
{
	clock_destroy(svc);
	assert_true(scanner_sane_set_api(NULL));
	for (size_t i = 0; i < 2; i++)
		if (usb.dev[i].plugged)
			usb_unplug(i);
	pthread_mutex_lock(&usb.lock);
	memset(usb.dev, 0, sizeof(usb.dev));
	usb.inits = usb.exits = usb.lists = usb.opens = 0;
	pthread_mutex_unlock(&usb.lock);
}

/*
 * No scanner: attempts (each one sane_init, one sane_get_devices, sane_exit)
 * follow the backoff 2 s, 4 s, ... 60 s, counted over ten minutes of the test
 * clock. A hotplug event brings the next attempt to 500 ms after the last
 * event (a burst delays it) and resets the backoff; the attempt that finds
 * the scanner comes from the event, well before the backoff's.
 */
static void test_sane_backoff_and_hotplug(void **state)
{
	(void)state;
	struct scan_service *svc = start_usb();
	if (!svc)
		skip();
	assert_status(svc, SCAN_SERVICE_SEARCHING, SCAN_PROBLEM_NO_SCANNER);
	assert_int_equal(attempts(), 1);

	clock_run_until(600000);
	static const uint64_t want[] = {0,      2000,   6000,   14000,  30000,  62000,  122000,
	                                182000, 242000, 302000, 362000, 422000, 482000, 542000};
	unsigned n = sizeof(want) / sizeof(want[0]);
	assert_int_equal(attempts(), n);
	pthread_mutex_lock(&tclock.lock);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(tclock.attempts[i], want[i]);
	pthread_mutex_unlock(&tclock.lock);
	assert_int_equal(usb_count(&usb.lists), n);
	assert_int_equal(usb_count(&usb.inits), n);
	assert_int_equal(usb_count(&usb.exits), n);
	assert_status(svc, SCAN_SERVICE_SEARCHING, SCAN_PROBLEM_NO_SCANNER);

	/* A burst of two events: 500 ms after the second. */
	clock_inject(svc, true);
	clock_run_until(600300);
	clock_inject(svc, false);
	clock_run_until(600799);
	assert_int_equal(attempts(), n);
	clock_run_until(600800);
	assert_int_equal(attempts(), n + 1);
	/* The backoff starts again at 2 s. */
	clock_run_until(602799);
	assert_int_equal(attempts(), n + 1);
	clock_run_until(602800);
	assert_int_equal(attempts(), n + 2);
	assert_int_equal(usb_count(&usb.lists), n + 2);

	/* Plugged in: the event's attempt comes retry_ms after the last listing
	 * (the backoff's would be at 606800). */
	usb_plug(0, "Fakevendor", "FK-1", 4);
	clock_inject(svc, true);
	clock_run_until(604799);
	assert_status(svc, SCAN_SERVICE_SEARCHING, SCAN_PROBLEM_NO_SCANNER);
	clock_run_until(604800);
	assert_status(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	assert_int_equal(attempts(), n + 3);
	struct scan_service_status st;
	scan_service_get_status(svc, &st);
	assert_string_equal(st.model, "Fakevendor FK-1");
	assert_string_equal(st.device, "fakeusb:libusb:001:004");
	assert_string_equal(st.serial, ""); /* no sysfs behind the scratch node */
	assert_int_equal(usb_count(&usb.inits), usb_count(&usb.exits) + 1);
	stop_usb(svc);
}

/*
 * READY without udev: the device node is checked every 10 s without listing
 * (sane_get_devices is not called while READY). Unplugged, it is noticed at
 * the next check. It comes back under a new USB address, and another model is
 * listed first: the service opens the same scanner (vendor and model), not
 * the configured bus path (gone) nor the first device.
 */
static void test_sane_liveness_and_replug(void **state)
{
	(void)state;
	usb_plug(1, "Fakevendor", "FK-1", 4);
	struct scan_service *svc = start_usb();
	if (!svc) {
		usb_unplug(1);
		skip();
	}
	assert_status(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	assert_int_equal(usb_count(&usb.lists), 1);

	clock_run_until(60000);
	assert_status(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	assert_int_equal(usb_count(&usb.lists), 1);

	usb_unplug(1);
	clock_run_until(69999);
	assert_status(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	clock_run_until(70000);
	assert_status(svc, SCAN_SERVICE_SEARCHING, SCAN_PROBLEM_DEVICE_GONE);

	usb_plug(0, "Othervendor", "OV-2", 5); /* listed first */
	usb_plug(1, "Fakevendor", "FK-1", 9);
	clock_run_until(80000);
	assert_status(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
	struct scan_service_status st;
	scan_service_get_status(svc, &st);
	assert_string_equal(st.device, "fakeusb:libusb:001:009");
	assert_string_equal(st.model, "Fakevendor FK-1");
	pthread_mutex_lock(&usb.lock);
	assert_string_equal(usb.opened, "fakeusb:libusb:001:009");
	pthread_mutex_unlock(&usb.lock);
	stop_usb(svc);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(scan_service_state_name(SCAN_SERVICE_SEARCHING), "searching");
	assert_string_equal(scan_problem_name(SCAN_PROBLEM_COVER_OPEN), "cover-open");
	assert_int_equal(scan_problem_from_status(SCANNER_COVER_OPEN), SCAN_PROBLEM_COVER_OPEN);
	assert_int_equal(scan_problem_from_status(SCANNER_CANCELLED), SCAN_PROBLEM_NONE);
	assert_int_equal(scan_problem_from_status(SCANNER_BUSY), SCAN_PROBLEM_OTHER);

	struct config conf;
	config_init(&conf);
	char err[CONFIG_ERROR_MAX];
	assert_true(config_load_string(&conf, "t.conf",
	                               "[scanner]\ndevice = sim:feeder=2\nsource = adf\n"
	                               "dpi = 200\nmode = gray\n",
	                               err));
	struct scan_service_config cfg;
	scan_service_config_init(&cfg);
	scan_service_config_apply(&cfg, &conf);
	assert_string_equal(cfg.device, "sim:feeder=2");
	assert_int_equal(cfg.options.source, SCANNER_SOURCE_FEEDER);
	assert_int_equal(cfg.options.dpi, 200);
	assert_int_equal(cfg.options.color, SCAN_COLOR_GRAY);
	config_finish(&conf);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	char tmpl[] = "test_scan_service.XXXXXX";
	if (!mkdtemp(tmpl) || !realpath(tmpl, sane_dir))
		return -1;
	/* The test backend's settings: the project's test.conf (an A4 glass). */
	const char *data = getenv("SCANKIOSK_TEST_DATA");
	char src[PATH_MAX], dst[PATH_MAX + 16];
	snprintf(src, sizeof(src), "%s/sane/test.conf", data ? data : "../tests/data");
	snprintf(dst, sizeof(dst), "%s/test.conf", sane_dir);
	FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
	if (!in || !out)
		return -1;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
	/* The fake USB bus's device nodes. */
	snprintf(usb.root, sizeof(usb.root), "%s/usb", sane_dir);
	snprintf(dst, sizeof(dst), "%s/001", usb.root);
	if (mkdir(usb.root, 0700) != 0 || mkdir(dst, 0700) != 0)
		return -1;
	/* libsane reads this once per process, at its first sane_init(). */
	setenv("SANE_CONFIG_DIR", sane_dir, 1);
	log_set_level(LOG_LEVEL_WARNING);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	nftw(sane_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_sim_device_gone_and_back),
	        cmocka_unit_test(test_sim_feeder_empty),
	        cmocka_unit_test(test_sim_jam),
	        cmocka_unit_test(test_sim_cancel_and_abort),
	        cmocka_unit_test(test_sim_bad_spec),
	        cmocka_unit_test(test_sim_max_pages),
	        cmocka_unit_test(test_sim_discard),
	        cmocka_unit_test(test_ui_calls_while_open_is_slow),
	        cmocka_unit_test(test_abort_pending_job),
	        cmocka_unit_test(test_sane_scan),
	        cmocka_unit_test(test_sane_scanner_appears),
	        cmocka_unit_test(test_sim_list_devices),
	        cmocka_unit_test(test_sim_settings),
	        cmocka_unit_test(test_settings_refused_and_listing_waits_during_job),
	        cmocka_unit_test(test_sim_change_device),
	        cmocka_unit_test(test_sane_list_and_change),
	        cmocka_unit_test(test_hotplug_remove_add_identity),
	        cmocka_unit_test(test_hotplug_remove_without_check),
	        cmocka_unit_test(test_sane_backoff_and_hotplug),
	        cmocka_unit_test(test_sane_liveness_and_replug),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
