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

static const struct scan_service_hooks hooks = {hook_open, hook_job, NULL};

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
	scan_service_get_status(svc, &st);
	assert_int_equal(st.state, SCAN_SERVICE_SEARCHING);
	hold_open(&open_hold);
	wait_state(svc, SCAN_SERVICE_READY, SCAN_PROBLEM_NONE);
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
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
