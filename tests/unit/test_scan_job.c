/*
 * test_scan_job.c - the scan pipeline: events, page facts, failures, cancel.
 *
 * Most cases drive a scripted scanner defined here, because they need faults at
 * exact places that neither the SANE test backend nor the simulator can put
 * there (a frame that lies about its height, a read that blocks until
 * cancelled). The last cases run the simulator on the reference pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "jpeg.h"
#include "scan_job.h"
#include "scanner.h"
#include "sha256.h"

struct scripted {
	struct scanner base;
	/* script */
	unsigned pages; /* pages in the feeder */
	uint32_t width;
	int32_t height;      /* announced; -1 unknown */
	uint32_t lines;      /* actually sent */
	unsigned fault_page; /* 1-based; 0: none */
	uint32_t fault_line; /* lines of fault_page delivered before the fault */
	enum scanner_status fault;
	enum scanner_status start_status; /* returned by every start when not OK */
	bool bad_frame;
	unsigned empty_page; /* 1-based: this page ends without a line */
	bool block_on_fault; /* at the fault, wait for cancel instead */
	unsigned sources;
	/* state */
	struct scanner_settings settings;
	unsigned started;
	uint32_t sent;
	unsigned end_documents;
	atomic_bool cancel;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool blocked;
};

static void s_caps(struct scanner *s, struct scanner_caps *caps)
{
	struct scripted *sc = (struct scripted *)s;
	memset(caps, 0, sizeof(*caps));
	caps->sources = sc->sources;
	caps->modes = 1u << SCANNER_MODE_COLOR | 1u << SCANNER_MODE_GRAY;
	caps->dpi_min = 50;
	caps->dpi_max = 600;
	caps->dpi_step = 1;
	caps->max_width_mm = 216;
	caps->max_height_mm = 356;
}

static enum scanner_status s_set_option(struct scanner *s, const char *n, const char *v)
{
	return SCANNER_UNSUPPORTED;
}

static enum scanner_status s_configure(struct scanner *s, const struct scanner_settings *want,
                                       struct scanner_settings *applied)
{
	struct scripted *sc = (struct scripted *)s;
	if (!(sc->sources & (1u << want->source)))
		return SCANNER_UNSUPPORTED;
	sc->settings = *want;
	*applied = *want;
	return SCANNER_OK;
}

static uint32_t channels_of(const struct scripted *sc)
{
	return sc->settings.mode == SCANNER_MODE_COLOR ? 3 : 1;
}

static enum scanner_status s_start(struct scanner *s, struct scanner_frame *f)
{
	struct scripted *sc = (struct scripted *)s;
	if (atomic_load(&sc->cancel))
		return SCANNER_CANCELLED;
	if (sc->start_status != SCANNER_OK)
		return sc->start_status;
	if (sc->started == sc->pages)
		return SCANNER_FEEDER_EMPTY;
	sc->started++;
	sc->sent = 0;
	f->width = sc->width;
	f->height = sc->height;
	f->channels = channels_of(sc);
	f->dpi = sc->settings.dpi;
	f->stride = (size_t)f->width * f->channels + (sc->bad_frame ? 1 : 0);
	return SCANNER_OK;
}

/* Page p: white with a grey bar, and a red square on even pages. */
static void fill_line(const struct scripted *sc, uint8_t *line, uint32_t y)
{
	uint32_t ch = channels_of(sc);
	memset(line, 255, (size_t)sc->width * ch);
	if (y >= 40 && y < 60)
		memset(line + 20 * ch, 60, (size_t)(sc->width - 40) * ch);
	if (ch == 3 && sc->started % 2 == 0 && y >= 80 && y < 160)
		for (uint32_t x = 60; x < 140; x++) {
			line[x * 3] = 200;
			line[x * 3 + 1] = 20;
			line[x * 3 + 2] = 20;
		}
}

static enum scanner_status s_read(struct scanner *s, uint8_t *buf, size_t max, size_t *lines)
{
	struct scripted *sc = (struct scripted *)s;
	if (atomic_load(&sc->cancel))
		return SCANNER_CANCELLED;
	if (sc->started == sc->fault_page && sc->sent >= sc->fault_line) {
		if (!sc->block_on_fault)
			return sc->fault;
		pthread_mutex_lock(&sc->lock);
		atomic_store(&sc->blocked, true);
		pthread_cond_broadcast(&sc->cond);
		while (!atomic_load(&sc->cancel))
			pthread_cond_wait(&sc->cond, &sc->lock);
		pthread_mutex_unlock(&sc->lock);
		return SCANNER_CANCELLED;
	}
	if (sc->sent == sc->lines || sc->started == sc->empty_page)
		return SCANNER_PAGE_DONE;
	size_t n = max < 7 ? max : 7; /* small, uneven pieces */
	if (n > sc->lines - sc->sent)
		n = sc->lines - sc->sent;
	if (sc->started == sc->fault_page && n > sc->fault_line - sc->sent)
		n = sc->fault_line - sc->sent;
	size_t stride = (size_t)sc->width * channels_of(sc);
	for (size_t i = 0; i < n; i++)
		fill_line(sc, buf + i * stride, sc->sent + (uint32_t)i);
	sc->sent += (uint32_t)n;
	*lines = n;
	return SCANNER_OK;
}

static void s_end(struct scanner *s)
{
	struct scripted *sc = (struct scripted *)s;
	sc->end_documents++;
	atomic_store(&sc->cancel, false);
}

static void s_cancel(struct scanner *s)
{
	struct scripted *sc = (struct scripted *)s;
	pthread_mutex_lock(&sc->lock);
	atomic_store(&sc->cancel, true);
	pthread_cond_broadcast(&sc->cond);
	pthread_mutex_unlock(&sc->lock);
}

static void s_close(struct scanner *s)
{
}

static const struct scanner_impl scripted_impl = {
        .caps = s_caps,
        .set_option = s_set_option,
        .configure = s_configure,
        .start_page = s_start,
        .read_lines = s_read,
        .end_document = s_end,
        .cancel = s_cancel,
        .close = s_close,
};

static void scripted_init(struct scripted *sc, unsigned pages, uint32_t lines)
{
	memset(sc, 0, sizeof(*sc));
	sc->base.impl = &scripted_impl;
	sc->pages = pages;
	sc->width = 200;
	sc->height = (int32_t)lines;
	sc->lines = lines;
	sc->sources = 1u << SCANNER_SOURCE_FLATBED | 1u << SCANNER_SOURCE_FEEDER;
	pthread_mutex_init(&sc->lock, NULL);
	pthread_cond_init(&sc->cond, NULL);
}

static void feeder_opts(struct scan_options *o)
{
	scan_options_init(o);
	o->source = SCANNER_SOURCE_FEEDER;
	o->dpi = 100;
	o->thumb_min = 32;
}

struct run {
	struct scan_page *pages[16];
	unsigned page_count;
	unsigned started;
	unsigned progress;
	enum scanner_status status;
	unsigned pages_done;
	bool finished_last;
};

/* Takes every event until FINISHED, checking their order. */
static void collect(struct scan_job *job, struct run *r)
{
	memset(r, 0, sizeof(*r));
	struct scan_event ev;
	uint32_t last_done = 0;
	for (;;) {
		assert_true(scan_job_next_event(job, &ev, 20000));
		switch (ev.kind) {
		case SCAN_EVENT_PAGE_STARTED:
			r->started++;
			assert_int_equal(ev.page, r->started);
			last_done = 0;
			break;
		case SCAN_EVENT_PROGRESS:
			r->progress++;
			assert_true(ev.lines_done > last_done);
			last_done = ev.lines_done;
			break;
		case SCAN_EVENT_PAGE_READY:
			assert_non_null(ev.result);
			assert_true(r->page_count < 16);
			r->pages[r->page_count++] = ev.result;
			assert_int_equal(ev.result->number, r->page_count);
			break;
		case SCAN_EVENT_FINISHED:
			r->status = ev.status;
			r->pages_done = ev.pages_done;
			/* Nothing after the end. */
			assert_false(scan_job_next_event(job, &ev, 0));
			r->finished_last = true;
			return;
		default:
			fail();
		}
	}
}

/* Runs a whole job on the scripted scanner and takes its events. */
static void run_job(struct scripted *sc, const struct scan_options *o, struct run *r)
{
	enum scanner_status st;
	struct scan_job *job = scan_job_start(&sc->base, o, NULL, NULL, &st);
	assert_non_null(job);
	assert_int_equal(st, SCANNER_OK);
	collect(job, r);
	scan_job_destroy(job);
}

static void run_free(struct run *r)
{
	for (unsigned i = 0; i < r->page_count; i++)
		scan_page_destroy(r->pages[i]);
}

static void check_page(const struct scan_page *p, uint32_t w, uint32_t h, bool color)
{
	uint8_t digest[SHA256_BYTES];
	assert_true(sha256_digest(p->jpeg, p->facts.bytes, digest));
	assert_memory_equal(digest, p->facts.sha256, SHA256_BYTES);
	uint32_t jw, jh;
	int comps;
	assert_int_equal(jpeg_probe(p->jpeg, p->facts.bytes, &jw, &jh, &comps), 0);
	assert_int_equal(jw, w);
	assert_int_equal(jh, h);
	assert_int_equal(p->facts.width, w);
	assert_int_equal(p->facts.height, h);
	assert_int_equal(comps, color ? 3 : 1);
	assert_int_equal(p->facts.stored_color, color);
	assert_non_null(p->thumb);
	/* The longer side reaches thumb_min (32) and nothing is larger than the page. */
	uint32_t longer = p->thumb_width > p->thumb_height ? p->thumb_width : p->thumb_height;
	assert_true(longer >= 32);
	assert_true(p->thumb_width <= w && p->thumb_height <= h);
	assert_false(p->facts.blank);
}

/* A feeder batch: every page arrives in order, colour only where there is colour. */
static void test_feeder_batch_auto_colour(void **state)
{
	(void)state;
	struct scripted sc;
	scripted_init(&sc, 5, 300);
	struct scan_options o;
	feeder_opts(&o);
	enum scanner_status st;
	struct scan_job *job = scan_job_start(&sc.base, &o, NULL, NULL, &st);
	assert_non_null(job);
	assert_int_equal(st, SCANNER_OK);
	struct run r;
	collect(job, &r);
	scan_job_destroy(job);
	assert_int_equal(r.status, SCANNER_OK);
	assert_int_equal(r.pages_done, 5);
	assert_int_equal(r.page_count, 5);
	assert_int_equal(r.started, 5);
	assert_true(r.progress >= 5);
	for (unsigned i = 0; i < 5; i++) {
		bool even = (i + 1) % 2 == 0;
		check_page(r.pages[i], 200, 300, even);
		assert_true(r.pages[i]->facts.scanned_color);
		assert_int_equal(r.pages[i]->facts.dpi, 100);
	}
	assert_true(sc.end_documents >= 1);
	run_free(&r);
}

static void test_keep_and_gray_modes(void **state)
{
	(void)state;
	for (int m = 0; m < 2; m++) {
		struct scripted sc;
		scripted_init(&sc, 2, 120);
		struct scan_options o;
		feeder_opts(&o);
		o.color = m == 0 ? SCAN_COLOR_KEEP : SCAN_COLOR_GRAY;
		struct run r;
		run_job(&sc, &o, &r);
		assert_int_equal(r.status, SCANNER_OK);
		assert_int_equal(r.page_count, 2);
		for (unsigned i = 0; i < 2; i++) {
			check_page(r.pages[i], 200, 120, m == 0);
			assert_int_equal(r.pages[i]->facts.scanned_color, m == 0);
		}
		run_free(&r);
	}
}

/* A hand scanner does not know the height: the page is as long as it is. */
static void test_unknown_height(void **state)
{
	(void)state;
	struct scripted sc;
	scripted_init(&sc, 1, 0);
	sc.height = -1;
	sc.lines = 433;
	struct scan_options o;
	feeder_opts(&o);
	struct run r;
	run_job(&sc, &o, &r);
	assert_int_equal(r.status, SCANNER_OK);
	assert_int_equal(r.page_count, 1);
	check_page(r.pages[0], 200, 433, false);
	run_free(&r);
}

/* A device that sends fewer lines than announced: the rest is white. */
static void test_short_page(void **state)
{
	(void)state;
	struct scripted sc;
	scripted_init(&sc, 1, 200);
	sc.lines = 150;
	struct scan_options o;
	feeder_opts(&o);
	struct run r;
	run_job(&sc, &o, &r);
	assert_int_equal(r.page_count, 1);
	check_page(r.pages[0], 200, 200, false);
	run_free(&r);
}

/* A jam on page 3: pages 1 and 2 are kept, the half page is not. */
static void test_jam_keeps_finished_pages(void **state)
{
	(void)state;
	const enum scanner_status faults[] = {SCANNER_JAMMED, SCANNER_COVER_OPEN,
	                                      SCANNER_DEVICE_GONE, SCANNER_IO_ERROR};
	for (size_t i = 0; i < 4; i++) {
		struct scripted sc;
		scripted_init(&sc, 5, 200);
		sc.fault_page = 3;
		sc.fault_line = 50;
		sc.fault = faults[i];
		struct scan_options o;
		feeder_opts(&o);
		struct run r;
		run_job(&sc, &o, &r);
		assert_int_equal(r.status, faults[i]);
		assert_int_equal(r.pages_done, 2);
		assert_int_equal(r.page_count, 2);
		assert_int_equal(r.started, 3);
		assert_true(sc.end_documents >= 1);
		run_free(&r);
	}
}

/* No paper: nothing scanned is a failure; no paper at the start of a later page
 * (NO_DOCS from a read) is the normal end of the batch. */
static void test_feeder_empty(void **state)
{
	(void)state;
	struct scripted sc;
	scripted_init(&sc, 0, 100);
	struct scan_options o;
	feeder_opts(&o);
	struct run r;
	run_job(&sc, &o, &r);
	assert_int_equal(r.status, SCANNER_FEEDER_EMPTY);
	assert_int_equal(r.page_count, 0);

	scripted_init(&sc, 5, 100);
	sc.fault_page = 3;
	sc.fault_line = 0;
	sc.fault = SCANNER_FEEDER_EMPTY;
	run_job(&sc, &o, &r);
	assert_int_equal(r.status, SCANNER_OK);
	assert_int_equal(r.pages_done, 2);
	run_free(&r);

	/* The same on the first page is "feeder empty". */
	scripted_init(&sc, 5, 100);
	sc.fault_page = 1;
	sc.fault_line = 0;
	sc.fault = SCANNER_FEEDER_EMPTY;
	run_job(&sc, &o, &r);
	assert_int_equal(r.status, SCANNER_FEEDER_EMPTY);
	assert_int_equal(r.pages_done, 0);
}

/* A page the pipeline cannot store (here: no lines at all) ends the job, and
 * no later page is delivered: the owner has pages 1..n without a hole. */
static void test_no_hole_after_a_lost_page(void **state)
{
	(void)state;
	struct scripted sc;
	scripted_init(&sc, 6, 80);
	sc.empty_page = 3;
	struct scan_options o;
	feeder_opts(&o);
	struct run r;
	run_job(&sc, &o, &r);
	assert_int_equal(r.status, SCANNER_IO_ERROR);
	assert_int_equal(r.page_count, 2);
	assert_int_equal(r.pages_done, 2);
	for (unsigned i = 0; i < r.page_count; i++)
		assert_int_equal(r.pages[i]->number, i + 1);
	run_free(&r);
}

/* The flatbed scans one page unless asked for more; max_pages caps a batch. */
static void test_page_limits(void **state)
{
	(void)state;
	struct scripted sc;
	scripted_init(&sc, 10, 80);
	struct scan_options o;
	feeder_opts(&o);
	o.source = SCANNER_SOURCE_FLATBED;
	struct run r;
	run_job(&sc, &o, &r);
	assert_int_equal(r.status, SCANNER_OK);
	assert_int_equal(r.page_count, 1);
	run_free(&r);

	scripted_init(&sc, 10, 80);
	o.source = SCANNER_SOURCE_FEEDER;
	o.max_pages = 3;
	run_job(&sc, &o, &r);
	assert_int_equal(r.page_count, 3);
	assert_int_equal(sc.started, 3);
	run_free(&r);
}

static void test_bad_frame_and_refused_settings(void **state)
{
	(void)state;
	struct scripted sc;
	scripted_init(&sc, 2, 80);
	sc.bad_frame = true;
	struct scan_options o;
	feeder_opts(&o);
	struct run r;
	run_job(&sc, &o, &r);
	assert_int_equal(r.status, SCANNER_IO_ERROR);
	assert_int_equal(r.page_count, 0);

	scripted_init(&sc, 2, 80);
	o.source = SCANNER_SOURCE_DUPLEX;
	enum scanner_status st;
	assert_null(scan_job_start(&sc.base, &o, NULL, NULL, &st));
	assert_int_equal(st, SCANNER_UNSUPPORTED);
	o.source = SCANNER_SOURCE_FEEDER;
	o.quality = 0;
	assert_null(scan_job_start(&sc.base, &o, NULL, NULL, &st));
	assert_int_equal(st, SCANNER_INVALID);
	assert_int_equal(sc.started, 0);
}

static atomic_int notified;

static void count_notify(void *userdata)
{
	(void)userdata;
	atomic_fetch_add(&notified, 1);
}

/* Cancel from another thread while the device hangs mid-page: the finished page
 * still arrives, then FINISHED(CANCELLED); nothing leaks. */
static void test_cancel_mid_page(void **state)
{
	(void)state;
	struct scripted sc;
	scripted_init(&sc, 5, 300);
	sc.fault_page = 2;
	sc.fault_line = 100;
	sc.block_on_fault = true;
	struct scan_options o;
	feeder_opts(&o);
	enum scanner_status st;
	atomic_store(&notified, 0);
	struct scan_job *job = scan_job_start(&sc.base, &o, count_notify, NULL, &st);
	assert_non_null(job);
	pthread_mutex_lock(&sc.lock);
	while (!atomic_load(&sc.blocked))
		pthread_cond_wait(&sc.cond, &sc.lock);
	pthread_mutex_unlock(&sc.lock);
	scan_job_cancel(job);
	struct run r;
	collect(job, &r);
	scan_job_destroy(job);
	assert_int_equal(r.status, SCANNER_CANCELLED);
	assert_int_equal(r.page_count, 1);
	assert_int_equal(r.pages_done, 1);
	assert_true(atomic_load(&notified) >= 3);
	run_free(&r);
}

/* Destroying a job whose events nobody took frees the pages in them. */
static void test_destroy_with_pending_events(void **state)
{
	(void)state;
	struct scripted sc;
	scripted_init(&sc, 4, 100);
	struct scan_options o;
	feeder_opts(&o);
	enum scanner_status st;
	struct scan_job *job = scan_job_start(&sc.base, &o, NULL, NULL, &st);
	assert_non_null(job);
	struct scan_event ev;
	assert_true(scan_job_next_event(job, &ev, 20000));
	scan_job_destroy(job);
	scan_job_destroy(NULL);
	scan_page_destroy(NULL);
}

/* A finished job leaves the scanner ready for the next one: the cancel that
 * destroy sends to a job that already ended does not stick. */
static void test_scanner_reusable_after_job(void **state)
{
	(void)state;
	struct scripted sc;
	scripted_init(&sc, 4, 60);
	struct scan_options o;
	feeder_opts(&o);
	o.max_pages = 2;
	for (int round = 0; round < 2; round++) {
		struct run r;
		run_job(&sc, &o, &r);
		assert_int_equal(r.status, SCANNER_OK);
		assert_int_equal(r.page_count, 2);
		run_free(&r);
	}
	assert_int_equal(sc.started, 4);
	assert_false(atomic_load(&sc.cancel));
}

static const char *pages_dir(void)
{
	const char *d = getenv("SCANKIOSK_PAGES_DIR");
	return d && *d ? d : "../shared/pages";
}

/* The simulator feeds a grey pay slip, a colour sick note and the blank back
 * side: stored grey, colour, grey + blank. */
static void test_sim_reference_pages(void **state)
{
	(void)state;
	char spec[4096];
	const char *d = pages_dir();
	snprintf(spec, sizeof(spec),
	         "pages=%s/s01_payslip.png,%s/s04_sicknote.png,%s/s07_blank_back.png;feeder=3", d,
	         d, d);
	struct scanner_driver *drv = scanner_sim_create(spec, NULL, NULL);
	assert_non_null(drv);
	struct scanner *s = NULL;
	assert_int_equal(scanner_driver_open(drv, "", &s), SCANNER_OK);
	struct scan_options o;
	scan_options_init(&o);
	o.source = SCANNER_SOURCE_FEEDER;
	o.dpi = 150;
	enum scanner_status st;
	struct scan_job *job = scan_job_start(s, &o, NULL, NULL, &st);
	assert_non_null(job);
	struct run r;
	collect(job, &r);
	scan_job_destroy(job);
	assert_int_equal(r.status, SCANNER_OK);
	assert_int_equal(r.page_count, 3);
	/* A4 at 150 dpi. */
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(r.pages[i]->facts.width, 1240);
		assert_int_equal(r.pages[i]->facts.height, 1754);
		assert_true(r.pages[i]->facts.scanned_color);
	}
	assert_false(r.pages[0]->facts.stored_color);
	assert_false(r.pages[0]->facts.blank);
	assert_true(r.pages[1]->facts.stored_color);
	assert_false(r.pages[1]->facts.blank);
	assert_false(r.pages[2]->facts.stored_color);
	assert_true(r.pages[2]->facts.blank);
	run_free(&r);
	scanner_close(s);
	scanner_driver_destroy(drv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_feeder_batch_auto_colour),
	        cmocka_unit_test(test_keep_and_gray_modes),
	        cmocka_unit_test(test_unknown_height),
	        cmocka_unit_test(test_short_page),
	        cmocka_unit_test(test_jam_keeps_finished_pages),
	        cmocka_unit_test(test_feeder_empty),
	        cmocka_unit_test(test_page_limits),
	        cmocka_unit_test(test_no_hole_after_a_lost_page),
	        cmocka_unit_test(test_bad_frame_and_refused_settings),
	        cmocka_unit_test(test_cancel_mid_page),
	        cmocka_unit_test(test_destroy_with_pending_events),
	        cmocka_unit_test(test_scanner_reusable_after_job),
	        cmocka_unit_test(test_sim_reference_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
