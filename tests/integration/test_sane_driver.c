/*
 * test_sane_driver.c - the SANE adapter against the real libsane `test` backend.
 *
 * The backend's pictures are deterministic (backend/test-picture.c), so most
 * tests compare every delivered pixel with a model of the picture rather than
 * only counting lines. Sizes follow the backend's formulas: pixels per line =
 * (int)(dpi * width_mm / 25.4), lines = (int)(dpi * height_mm / 25.4).
 *
 * What the test backend cannot do (WARMING_UP from sane_start, a USB device
 * unplugged mid-page, a page past the buffer cap) goes through the test-only
 * API seam in drivers/sane/sane_fake.h, mostly forwarding to the real libsane.
 *
 * Needs SANE_CONFIG_DIR pointing at a copy of tests/data/sane (meson sets it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sane/sane_fake.h"
#include "scanner.h"

#define MM_PER_INCH 25.4

/* ---- logging: collected so tests can check what the driver told the technician ---- */

static char log_text[1 << 16];
static size_t log_len;

static void log_handler(enum scanner_log_level level, const char *msg, void *userdata)
{
	(void)level;
	(void)userdata;
	int n = snprintf(log_text + log_len, sizeof(log_text) - log_len, "%s\n", msg);
	if (n > 0 && (size_t)n < sizeof(log_text) - log_len)
		log_len += (size_t)n;
	if (getenv("SANE_TEST_VERBOSE"))
		fprintf(stderr, "log: %s\n", msg);
}

static void log_reset(void)
{
	log_len = 0;
	log_text[0] = '\0';
}

static bool log_has(const char *needle)
{
	return strstr(log_text, needle) != NULL;
}

/* ---- the test backend's own bugs ---- */

/*
 * The backend runs its reader in a thread that sane_cancel() kills with an
 * asynchronous pthread_cancel() (sanei_thread). Killed inside malloc() at its
 * start, it leaves the allocator locked and the next page's malloc() hangs (seen
 * under clang's ASan). So before ending a page that failed right after
 * sane_start(), give the reader time to get past its malloc(). Not a timing
 * assertion: the outcome is checked before, this only avoids the backend's hang.
 */
static void settle(void)
{
	struct timespec t = {0, 100 * 1000 * 1000};
	nanosleep(&t, NULL);
}

/*
 * The same killed reader leaks its picture buffer. Leaks allocated in the
 * backend are suppressed; for LeakSanitizer to name the module at exit it must
 * still be mapped, and sane_exit() dlcloses it: pin it with RTLD_NODELETE.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libsane-test.so\n";
}

static void pin_test_backend(void)
{
	struct link_map *lm = NULL;
	char dir[PATH_MAX], path[PATH_MAX + 64];
	void *h = dlopen("libsane.so.1", RTLD_NOW | RTLD_NOLOAD);

	if (!h)
		return;
	if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name &&
	    (size_t)snprintf(dir, sizeof(dir), "%s", lm->l_name) < sizeof(dir)) {
		/* The dll backend loads <libdir>/sane/libsane-<name>.so.1. */
		snprintf(path, sizeof(path), "%s/sane/libsane-test.so.1", dirname(dir));
		if (!dlopen(path, RTLD_NOW | RTLD_NODELETE))
			fprintf(stderr, "note: cannot pin %s\n", path);
	}
	dlclose(h);
}

/* ---- fixtures ---- */

struct fixture {
	struct scanner_driver *drv;
	struct scanner *s;
};

static struct scanner_driver *make_driver(void)
{
	struct scanner_driver *drv = scanner_sane_create();
	assert_non_null(drv);
	scanner_driver_set_log(drv, log_handler, NULL);
	return drv;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	log_reset();
	f->drv = scanner_sane_create();
	if (!f->drv)
		goto fail;
	scanner_driver_set_log(f->drv, log_handler, NULL);
	if (scanner_driver_open(f->drv, "test:0", &f->s) != SCANNER_OK)
		goto fail;
	*state = f;
	return 0;
fail:
	scanner_driver_destroy(f->drv);
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	scanner_close(f->s);
	scanner_driver_destroy(f->drv);
	free(f);
	return 0;
}

static struct scanner *dev(void **state)
{
	return ((struct fixture *)*state)->s;
}

static void set(struct scanner *s, const char *name, const char *value)
{
	enum scanner_status st = scanner_set_option(s, name, value);
	if (st != SCANNER_OK)
		fail_msg("set %s=%s: %s", name, value, scanner_strerror(st));
}

static void configure(struct scanner *s, enum scanner_source src, enum scanner_mode mode,
                      uint32_t dpi, double w, double h)
{
	struct scanner_settings want = {src, mode, dpi, w, h}, got;
	enum scanner_status st = scanner_configure(s, &want, &got);
	if (st != SCANNER_OK)
		fail_msg("configure: %s", scanner_strerror(st));
	assert_int_equal(got.dpi, dpi);
	assert_true(got.mode == mode && got.source == src);
}

static uint32_t px_for(uint32_t dpi, double mm)
{
	return (uint32_t)(dpi * mm / MM_PER_INCH);
}

/* ---- reading pages ---- */

struct page {
	struct scanner_frame frame;
	uint8_t *pix;
	size_t cap;
	size_t lines;
	enum scanner_status end; /* what ended the page */
};

static void page_free(struct page *pg)
{
	free(pg->pix);
	memset(pg, 0, sizeof(*pg));
}

/* Starts a page and reads it in chunks of up to `chunk` lines. Returns the
 * start's failure, or what ended the reading (PAGE_DONE when all went well). */
static enum scanner_status read_page(struct scanner *s, struct page *pg, size_t chunk)
{
	enum scanner_status st;
	size_t stride;

	memset(pg, 0, sizeof(*pg));
	st = scanner_start_page(s, &pg->frame);
	if (st != SCANNER_OK)
		return pg->end = st;
	stride = pg->frame.stride;
	assert_int_equal(stride, (size_t)pg->frame.width * pg->frame.channels);
	assert_true(pg->frame.channels == 1 || pg->frame.channels == 3);
	for (;;) {
		size_t n = 99;
		if ((pg->lines + chunk) * stride > pg->cap) {
			size_t cap = 2 * pg->cap + chunk * stride;
			uint8_t *p = realloc(pg->pix, cap);
			assert_non_null(p);
			pg->pix = p;
			pg->cap = cap;
		}
		st = scanner_read_lines(s, pg->pix + pg->lines * stride, chunk, &n);
		if (st != SCANNER_OK) {
			assert_int_equal(n, 0);
			return pg->end = st;
		}
		assert_true(n >= 1 && n <= chunk);
		pg->lines += n;
		if (pg->frame.height >= 0)
			assert_true(pg->lines <= (size_t)pg->frame.height);
	}
}

/* A whole page that must succeed, with the expected size. */
static void scan_ok(struct scanner *s, struct page *pg, size_t chunk, uint32_t width,
                    int32_t height, uint32_t channels)
{
	enum scanner_status st = read_page(s, pg, chunk);
	if (st != SCANNER_PAGE_DONE)
		fail_msg("page: %s", scanner_strerror(st));
	assert_int_equal(pg->frame.width, width);
	assert_int_equal(pg->frame.height, height);
	assert_int_equal(pg->frame.channels, channels);
	if (height >= 0)
		assert_int_equal(pg->lines, (size_t)height);
	/* Stays done. */
	size_t n = 5;
	assert_int_equal(scanner_read_lines(s, pg->pix, 1, &n), SCANNER_PAGE_DONE);
	assert_int_equal(n, 0);
}

/* ---- models of the test backend's pictures (backend/test-picture.c) ---- */

typedef void (*model_fn)(size_t y, size_t x, bool invert, uint8_t *px);

/* 8-bit colour "Color pattern": a 30-line cycle of red, green, blue bands, each
 * two 5-line stripes (rising, then falling values); in each stripe a grey 0x55
 * separator line, and a 0x55 separator pixel before every 4 coloured ones. */
static void model_rgb8(size_t y, size_t x, bool invert, uint8_t *px)
{
	size_t l = y % 30, band = l / 5, k = x / 5;
	(void)invert;
	if (l % 5 == 0 || x % 5 == 0) {
		px[0] = px[1] = px[2] = 0x55;
		return;
	}
	px[0] = px[1] = px[2] = 0;
	px[band / 2] = (uint8_t)(band & 1 ? 0xff - (k & 0xff) : k & 0xff);
}

/* 8-bit grey: the same stripes, a 10-line cycle. */
static void model_gray8(size_t y, size_t x, bool invert, uint8_t *px)
{
	size_t l = y % 10, k = x / 5;
	(void)invert;
	if (l % 5 == 0 || x % 5 == 0)
		px[0] = 0x55;
	else
		px[0] = (uint8_t)(l > 5 ? 0xff - (k & 0xff) : k & 0xff);
}

/* Lineart: 16-pixel white and black runs, swapped every 16 lines. The backend
 * sends a set bit for black (the SANE convention for grey depth 1). */
static void model_gray1(size_t y, size_t x, bool invert, uint8_t *px)
{
	(void)invert;
	px[0] = (((x / 16) % 2 == 0) != (y % 32 >= 16)) ? 255 : 0;
}

/* Colour at depth 1: 16-pixel runs of the eight colours 0..7 (bit 2 red, bit 1
 * green, bit 0 blue), rising in the first 16 lines, falling in the next. */
static void model_rgb1(size_t y, size_t x, bool invert, uint8_t *px)
{
	size_t g = (x / 16) % 8, c = y % 32 < 16 ? g : 7 - g;
	(void)invert;
	px[0] = c & 4 ? 255 : 0;
	px[1] = c & 2 ? 255 : 0;
	px[2] = c & 1 ? 255 : 0;
}

/* 16 bits: a 260-line cycle, 4 separator lines and pixels of 0x5555, then runs
 * of 256 pixels whose high byte counts the pixel and low byte the line. With
 * invert-endianess the bytes arrive swapped, so the high byte is the line's. */
static bool model16(size_t y, size_t x, bool invert, uint8_t *v, size_t *run)
{
	size_t l = y % 260, j = (x - 4) % 260;
	if (l < 4 || x < 4 || j >= 256)
		return false;
	*run = (x - 4) / 260;
	*v = (uint8_t)(invert ? (l - 4) & 0xff : j);
	return true;
}

static void model_gray16(size_t y, size_t x, bool invert, uint8_t *px)
{
	size_t run;
	if (!model16(y, x, invert, &px[0], &run))
		px[0] = 0x55;
}

/* Colour: run k is red, green or blue as k % 3. */
static void model_rgb16(size_t y, size_t x, bool invert, uint8_t *px)
{
	size_t run;
	uint8_t v;
	if (!model16(y, x, invert, &v, &run)) {
		px[0] = px[1] = px[2] = 0x55;
		return;
	}
	px[0] = px[1] = px[2] = 0;
	px[run % 3] = v;
}

static void check_model(const struct page *pg, model_fn model, bool invert)
{
	size_t ch = pg->frame.channels, w = pg->frame.width;
	uint8_t *want = malloc(pg->frame.stride);
	assert_non_null(want);
	for (size_t y = 0; y < pg->lines; y++) {
		const uint8_t *got = pg->pix + y * pg->frame.stride;
		for (size_t x = 0; x < w; x++)
			model(y, x, invert, want + x * ch);
		if (memcmp(got, want, pg->frame.stride) != 0) {
			for (size_t i = 0; i < pg->frame.stride; i++)
				if (got[i] != want[i])
					fail_msg("line %zu pixel %zu channel %zu: got %u, want %u",
					         y, i / ch, i % ch, got[i], want[i]);
		}
	}
	free(want);
}

static void check_same(const struct page *a, const struct page *b)
{
	assert_int_equal(a->frame.width, b->frame.width);
	assert_int_equal(a->frame.channels, b->frame.channels);
	assert_int_equal(a->lines, b->lines);
	assert_memory_equal(a->pix, b->pix, a->lines * a->frame.stride);
}

static void check_only(const struct page *pg, uint8_t value)
{
	for (size_t i = 0; i < pg->lines * pg->frame.stride; i++)
		if (pg->pix[i] != value)
			fail_msg("byte %zu is %u, want %u", i, pg->pix[i], value);
}

/* ---- flatbed scans ---- */

static void test_color_a4(void **state)
{
	struct scanner *s = dev(state);
	struct page pg;

	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 300, 210, 297);
	scan_ok(s, &pg, 256, px_for(300, 210), (int32_t)px_for(300, 297), 3);
	/* The backend's formula gives 2480 x 3507 for A4 at 300 dpi. */
	assert_int_equal(pg.frame.width, 2480);
	assert_int_equal(pg.lines, 3507);
	assert_int_equal(pg.frame.dpi, 300);
	check_model(&pg, model_rgb8, false);
	page_free(&pg);
	scanner_end_document(s);
}

static void test_gray_a4(void **state)
{
	struct scanner *s = dev(state);
	struct page pg;

	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 300, 210, 297);
	scan_ok(s, &pg, 100, 2480, 3507, 1);
	check_model(&pg, model_gray8, false);
	page_free(&pg);
	scanner_end_document(s);

	/* Line-at-a-time reads deliver the same page. */
	struct page one;
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 100, 50, 60);
	scan_ok(s, &pg, 1000, px_for(100, 50), (int32_t)px_for(100, 60), 1);
	scanner_end_document(s);
	scan_ok(s, &one, 1, px_for(100, 50), (int32_t)px_for(100, 60), 1);
	scanner_end_document(s);
	check_same(&pg, &one);
	page_free(&pg);
	page_free(&one);
}

static void test_lineart(void **state)
{
	struct scanner *s = dev(state);
	struct page pg;
	/* 100 pixels: not a multiple of 8, so the last byte of a line is padded. */
	double w = 17;

	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_LINEART, 150, w, 60);
	scan_ok(s, &pg, 64, px_for(150, w), (int32_t)px_for(150, 60), 1);
	assert_int_equal(pg.frame.width, 100);
	for (size_t i = 0; i < pg.lines * pg.frame.stride; i++)
		assert_true(pg.pix[i] == 0 || pg.pix[i] == 255);
	check_model(&pg, model_gray1, false);
	page_free(&pg);
	scanner_end_document(s);

	set(s, "test-picture", "Solid black");
	scan_ok(s, &pg, 64, 100, (int32_t)px_for(150, 60), 1);
	check_only(&pg, 0);
	page_free(&pg);
	scanner_end_document(s);

	set(s, "test-picture", "Solid white");
	scan_ok(s, &pg, 64, 100, (int32_t)px_for(150, 60), 1);
	check_only(&pg, 255);
	page_free(&pg);
	scanner_end_document(s);

	/* Back to grey: depth 8 again. */
	set(s, "test-picture", "Color pattern");
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 150, w, 60);
	scan_ok(s, &pg, 64, 100, (int32_t)px_for(150, 60), 1);
	check_model(&pg, model_gray8, false);
	page_free(&pg);
	scanner_end_document(s);
}

static void test_color_depth1(void **state)
{
	struct scanner *s = dev(state);
	struct page pg;
	double w = 52; /* 204 pixels: padded bytes again */

	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 100, w, 40);
	set(s, "depth", "1");
	scan_ok(s, &pg, 64, 204, (int32_t)px_for(100, 40), 3);
	check_model(&pg, model_rgb1, false);
	page_free(&pg);
	scanner_end_document(s);

	/* For colour a set bit is full intensity: solid white is all 255. */
	set(s, "test-picture", "Solid white");
	scan_ok(s, &pg, 64, 204, (int32_t)px_for(100, 40), 3);
	check_only(&pg, 255);
	page_free(&pg);
	scanner_end_document(s);
}

static void test_depth16(void **state)
{
	struct scanner *s = dev(state);
	struct page pg;
	uint32_t w = px_for(150, 200), h = px_for(150, 100);

	/* 1181 pixels and 590 lines: several 260-pixel runs and line cycles. */
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 150, 200, 100);
	set(s, "depth", "16");
	scan_ok(s, &pg, 50, w, (int32_t)h, 1);
	check_model(&pg, model_gray16, false);
	page_free(&pg);
	scanner_end_document(s);

	/* invert-endianess is only active at depth 16 (a RELOAD_OPTIONS case). */
	set(s, "invert-endianess", "yes");
	scan_ok(s, &pg, 50, w, (int32_t)h, 1);
	check_model(&pg, model_gray16, true);
	page_free(&pg);
	scanner_end_document(s);

	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 150, 200, 100);
	assert_int_equal(scanner_set_option(s, "invert-endianess", "no"), SCANNER_UNSUPPORTED);
	set(s, "depth", "16");
	set(s, "invert-endianess", "no");
	scan_ok(s, &pg, 50, w, (int32_t)h, 3);
	check_model(&pg, model_rgb16, false);
	page_free(&pg);
	scanner_end_document(s);

	set(s, "invert-endianess", "yes");
	scan_ok(s, &pg, 50, w, (int32_t)h, 3);
	check_model(&pg, model_rgb16, true);
	page_free(&pg);
	scanner_end_document(s);
}

static void test_three_pass(void **state)
{
	static const char *const orders[] = {"RGB", "BGR", "GBR"};
	struct scanner *s = dev(state);
	struct page ref, pg;
	uint32_t w = px_for(100, 60), h = px_for(100, 80);

	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 100, 60, 80);
	scan_ok(s, &ref, 32, w, (int32_t)h, 3);
	scanner_end_document(s);
	check_model(&ref, model_rgb8, false);

	set(s, "three-pass", "yes");
	for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		set(s, "three-pass-order", orders[i]);
		scan_ok(s, &pg, 32, w, (int32_t)h, 3);
		check_same(&ref, &pg);
		page_free(&pg);
		scanner_end_document(s);
	}
	page_free(&ref);

	/* 16 bits, three-pass against single-pass. */
	set(s, "three-pass", "no");
	set(s, "depth", "16");
	scan_ok(s, &ref, 32, w, (int32_t)h, 3);
	scanner_end_document(s);
	check_model(&ref, model_rgb16, false);
	set(s, "three-pass", "yes");
	set(s, "three-pass-order", "BRG");
	scan_ok(s, &pg, 32, w, (int32_t)h, 3);
	scanner_end_document(s);
	check_same(&ref, &pg);
	page_free(&pg);
	page_free(&ref);
}

static void test_hand_scanner(void **state)
{
	struct scanner *s = dev(state);
	struct page pg, three;
	uint32_t w = px_for(75, 110);
	size_t h = px_for(75, 170); /* the backend's hand scanner: 110 x 170 mm */

	/* The area options go inactive; configure copes. */
	set(s, "hand-scanner", "yes");
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 75, 100, 100);
	scan_ok(s, &pg, 40, w, -1, 3);
	assert_int_equal(pg.lines, h);
	check_model(&pg, model_rgb8, false);
	scanner_end_document(s);

	/* Three frames of unknown height: the growable buffer. */
	set(s, "three-pass", "yes");
	set(s, "three-pass-order", "GRB");
	scan_ok(s, &three, 40, w, -1, 3);
	scanner_end_document(s);
	check_same(&pg, &three);
	page_free(&three);
	page_free(&pg);

	/* Grey depth 1 without a height: bits, padding and EOF. */
	set(s, "three-pass", "no");
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_LINEART, 75, 100, 100);
	scan_ok(s, &pg, 40, w, -1, 1);
	assert_int_equal(pg.lines, h);
	check_model(&pg, model_gray1, false);
	page_free(&pg);
	scanner_end_document(s);
}

/* ---- feeder and device-reported faults ---- */

static void test_feeder_batch(void **state)
{
	struct scanner *s = dev(state);
	struct page pg;
	uint32_t w = px_for(75, 30), h = px_for(75, 40);

	configure(s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 75, 30, 40);
	for (int i = 0; i < 10; i++) {
		scan_ok(s, &pg, 16, w, (int32_t)h, 1);
		check_model(&pg, model_gray8, false);
		page_free(&pg);
	}
	assert_int_equal(read_page(s, &pg, 16), SCANNER_FEEDER_EMPTY);
	assert_true(log_has("no paper in the feeder"));
	/* Until end_document() the failure sticks. */
	uint8_t scratch[64];
	size_t n = 3;
	assert_int_equal(scanner_read_lines(s, scratch, 1, &n), SCANNER_FEEDER_EMPTY);
	assert_int_equal(n, 0);
	page_free(&pg);
	scanner_end_document(s);
}

static void test_read_faults(void **state)
{
	static const struct {
		const char *value;
		enum scanner_status want;
	} cases[] = {
	        {"SANE_STATUS_JAMMED", SCANNER_JAMMED},
	        {"SANE_STATUS_COVER_OPEN", SCANNER_COVER_OPEN},
	        {"SANE_STATUS_IO_ERROR", SCANNER_IO_ERROR},
	        {"SANE_STATUS_NO_DOCS", SCANNER_FEEDER_EMPTY},
	        {"SANE_STATUS_DEVICE_BUSY", SCANNER_BUSY},
	        {"SANE_STATUS_NO_MEM", SCANNER_NO_MEMORY},
	};
	struct scanner *s = dev(state);
	struct page pg;
	struct scanner_frame frame;

	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 75, 40, 40);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		set(s, "read-return-value", cases[i].value);
		assert_int_equal(read_page(s, &pg, 8), cases[i].want);
		assert_int_equal(pg.lines, 0);
		/* A failed page needs end_document() before the next one. */
		assert_int_equal(scanner_start_page(s, &frame), SCANNER_INVALID);
		page_free(&pg);
		settle();
		scanner_end_document(s);
	}
	/* And the device recovers. */
	set(s, "read-return-value", "Default");
	scan_ok(s, &pg, 8, px_for(75, 40), (int32_t)px_for(75, 40), 3);
	check_model(&pg, model_rgb8, false);
	page_free(&pg);
	scanner_end_document(s);
}

/* ---- cancel ---- */

struct canceller {
	struct scanner *s;
	atomic_size_t lines;
	atomic_bool done;
};

static void *cancel_thread(void *arg)
{
	struct canceller *c = arg;
	struct timespec ms = {0, 1000000};
	while (atomic_load(&c->lines) == 0 && !atomic_load(&c->done))
		nanosleep(&ms, NULL);
	scanner_cancel(c->s);
	return NULL;
}

static void cancel_mid_page(struct scanner *s)
{
	struct canceller c = {.s = s};
	struct scanner_frame frame;
	enum scanner_status st;
	pthread_t t;
	uint8_t *buf;

	assert_int_equal(scanner_start_page(s, &frame), SCANNER_OK);
	assert_true(frame.height > 0);
	buf = malloc(frame.stride * 4);
	assert_non_null(buf);
	assert_int_equal(pthread_create(&t, NULL, cancel_thread, &c), 0);
	for (;;) {
		size_t n;
		st = scanner_read_lines(s, buf, 4, &n);
		if (st != SCANNER_OK)
			break;
		atomic_fetch_add(&c.lines, n);
	}
	atomic_store(&c.done, true);
	pthread_join(t, NULL);
	free(buf);
	assert_int_equal(st, SCANNER_CANCELLED);
	/* Promptly: the page was far from read when the cancel was seen. */
	assert_true(atomic_load(&c.lines) >= 1);
	assert_true(atomic_load(&c.lines) < (size_t)frame.height / 2);
	/* Stays cancelled until end_document(). */
	assert_int_equal(scanner_start_page(s, &frame), SCANNER_CANCELLED);
	scanner_end_document(s);
}

static void test_cancel(void **state)
{
	struct scanner *s = dev(state);
	uint32_t w = px_for(100, 100), h = px_for(100, 100);
	struct page pg;

	/* ~13 pipe writes of 30 lines, each 100 ms late: a slow page. */
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 100, 100, 100);
	set(s, "read-delay", "yes");
	set(s, "read-delay-duration", "100000");

	/* Blocking reads: the cancel is seen when the next data arrives. */
	cancel_mid_page(s);
	/* A select fd: the cancel wakes the poll. */
	set(s, "select-fd", "yes");
	set(s, "non-blocking", "yes");
	cancel_mid_page(s);
	set(s, "non-blocking", "no");
	cancel_mid_page(s);

	/* A cancel before the start. */
	scanner_cancel(s);
	assert_int_equal(read_page(s, &pg, 8), SCANNER_CANCELLED);
	scanner_end_document(s);
	scanner_end_document(s); /* twice is fine */

	/* The device scans a full page afterwards. */
	set(s, "read-delay", "no");
	scan_ok(s, &pg, 64, w, (int32_t)h, 3);
	check_model(&pg, model_rgb8, false);
	page_free(&pg);
	scanner_end_document(s);
}

/* ---- transfer quirks ---- */

static void compare_read_limit(struct scanner *s, const char *size, model_fn model, size_t chunk)
{
	struct page ref, pg;

	set(s, "read-limit", "no");
	assert_int_equal(read_page(s, &ref, chunk), SCANNER_PAGE_DONE);
	scanner_end_document(s);
	check_model(&ref, model, false);
	set(s, "read-limit", "yes");
	set(s, "read-limit-size", size);
	assert_int_equal(read_page(s, &pg, chunk), SCANNER_PAGE_DONE);
	scanner_end_document(s);
	assert_true(pg.lines > 0);
	check_same(&ref, &pg);
	page_free(&ref);
	page_free(&pg);
}

static void test_read_limit(void **state)
{
	struct scanner *s = dev(state);

	/* One byte a sane_read(): every line arrives in pieces. */
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 75, 20, 20);
	compare_read_limit(s, "1", model_rgb8, 7);
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 75, 20, 20);
	set(s, "depth", "16"); /* samples split across reads */
	compare_read_limit(s, "1", model_gray16, 7);
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_LINEART, 75, 20, 20);
	compare_read_limit(s, "1", model_gray1, 7);

	/* 4096 bytes: lines of 3720 bytes straddle the reads. */
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 150, 210, 150);
	compare_read_limit(s, "4096", model_rgb8, 100);
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 150, 210, 150);
	compare_read_limit(s, "4096", model_gray8, 3);
}

static void test_fuzzy_parameters(void **state)
{
	struct scanner *s = dev(state);
	struct page pg;

	set(s, "fuzzy-parameters", "yes");
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 100, 80, 90);
	for (int i = 0; i < 3; i++) {
		/* Exact values: sane_get_parameters() after sane_start(). */
		scan_ok(s, &pg, 16, px_for(100, 80), (int32_t)px_for(100, 90), 3);
		check_model(&pg, model_rgb8, false);
		page_free(&pg);
		scanner_end_document(s);
	}
}

static void test_ppl_loss(void **state)
{
	struct scanner *s = dev(state);
	struct page pg;

	/* bytes_per_line stays; pixels_per_line drops: padding to skip. */
	set(s, "ppl-loss", "7");
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 100, 80, 50);
	scan_ok(s, &pg, 16, px_for(100, 80) - 7, (int32_t)px_for(100, 50), 3);
	check_model(&pg, model_rgb8, false);
	page_free(&pg);
	scanner_end_document(s);

	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_LINEART, 100, 80, 50);
	scan_ok(s, &pg, 16, px_for(100, 80) - 7, (int32_t)px_for(100, 50), 1);
	check_model(&pg, model_gray1, false);
	page_free(&pg);
	scanner_end_document(s);

	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 100, 80, 50);
	set(s, "depth", "16");
	scan_ok(s, &pg, 16, px_for(100, 80) - 7, (int32_t)px_for(100, 50), 1);
	check_model(&pg, model_gray16, false);
	page_free(&pg);
	scanner_end_document(s);
}

static void test_io_modes(void **state)
{
	static const struct {
		const char *select_fd, *non_blocking, *log;
	} modes[] = {
	        {"yes", "yes", "io: select fd, non-blocking"},
	        {"yes", "no", "io: select fd, blocking"},
	        {"no", "yes", "io: no select fd, blocking"},
	        {"no", "no", "io: no select fd, blocking"},
	};
	struct scanner *s = dev(state);
	struct page pg;

	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 150, 100, 120);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		set(s, "select-fd", modes[i].select_fd);
		set(s, "non-blocking", modes[i].non_blocking);
		log_reset();
		scan_ok(s, &pg, 64, px_for(150, 100), (int32_t)px_for(150, 120), 3);
		if (!log_has(modes[i].log))
			fail_msg("no '%s' in the log:\n%s", modes[i].log, log_text);
		check_model(&pg, model_rgb8, false);
		page_free(&pg);
		scanner_end_document(s);
	}
	/* Slow data with non-blocking reads: "GOOD with 0 bytes" means poll again. */
	set(s, "select-fd", "yes");
	set(s, "non-blocking", "yes");
	set(s, "read-delay", "yes");
	set(s, "read-delay-duration", "5000");
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 75, 60, 60);
	scan_ok(s, &pg, 8, px_for(75, 60), (int32_t)px_for(75, 60), 1);
	check_model(&pg, model_gray8, false);
	page_free(&pg);
	scanner_end_document(s);
}

/* ---- capabilities, configure, options ---- */

static void test_caps(void **state)
{
	struct scanner_caps caps;

	scanner_caps(dev(state), &caps);
	assert_int_equal(caps.sources,
	                 (1u << SCANNER_SOURCE_FLATBED) | (1u << SCANNER_SOURCE_FEEDER));
	/* Gray with depth 1 counts as lineart. */
	assert_int_equal(caps.modes, (1u << SCANNER_MODE_COLOR) | (1u << SCANNER_MODE_GRAY) |
	                                     (1u << SCANNER_MODE_LINEART));
	assert_int_equal(caps.dpi_min, 1);
	assert_int_equal(caps.dpi_max, 1200);
	assert_int_equal(caps.dpi_step, 1);
	assert_int_equal(caps.dpi_count, 0);
	assert_true(caps.max_width_mm >= 210 && caps.max_height_mm >= 297);
	assert_true(caps.max_width_mm == 300.0 && caps.max_height_mm == 300.0);
}

static void test_configure(void **state)
{
	struct scanner *s = dev(state);
	struct scanner_settings want = {
	        .source = SCANNER_SOURCE_FLATBED,
	        .mode = SCANNER_MODE_COLOR,
	        .dpi = 299,
	        .width_mm = 1000,
	        .height_mm = 1000,
	};
	struct scanner_settings got;
	struct scanner_frame frame;

	assert_int_equal(scanner_configure(s, &want, &got), SCANNER_OK);
	assert_int_equal(got.dpi, 299);
	assert_true(got.width_mm == 300.0 && got.height_mm == 300.0);
	assert_int_equal(scanner_start_page(s, &frame), SCANNER_OK);
	assert_int_equal(frame.width, px_for(299, 300));
	assert_int_equal(frame.height, (int32_t)px_for(299, 300));
	assert_int_equal(frame.dpi, 299);
	/* No options in the middle of a document. */
	assert_int_equal(scanner_set_option(s, "depth", "8"), SCANNER_BUSY);
	assert_int_equal(scanner_configure(s, &want, &got), SCANNER_BUSY);
	settle();
	scanner_end_document(s);

	want.dpi = 5000;
	want.width_mm = 100.4;
	want.height_mm = 0.2;
	assert_int_equal(scanner_configure(s, &want, &got), SCANNER_OK);
	assert_int_equal(got.dpi, 1200);
	assert_true(got.width_mm == 100.0); /* the backend's 1 mm steps */
	assert_true(got.height_mm >= 0 && got.height_mm <= 1);

	want.source = SCANNER_SOURCE_DUPLEX;
	assert_int_equal(scanner_configure(s, &want, &got), SCANNER_UNSUPPORTED);
	want.source = SCANNER_SOURCE_FLATBED;
	want.dpi = 0;
	assert_int_equal(scanner_configure(s, &want, &got), SCANNER_INVALID);
	want.dpi = 300;
	want.width_mm = -1;
	assert_int_equal(scanner_configure(s, &want, &got), SCANNER_INVALID);
	want.width_mm = 10;
	want.mode = SCANNER_MODE_LAST;
	assert_int_equal(scanner_configure(s, &want, &got), SCANNER_INVALID);
}

static void test_set_option(void **state)
{
	struct scanner *s = dev(state);

	assert_int_equal(scanner_set_option(s, "no-such-option", "1"), SCANNER_UNSUPPORTED);
	assert_int_equal(scanner_set_option(s, "depth", "abc"), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(s, "depth", ""), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(s, "depth", "8 "), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(s, "depth", "7"), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(s, "depth", "99999999999"), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(s, "resolution", "5000"), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(s, "resolution", "1e999"), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(s, "resolution", "150.5"), SCANNER_OK);
	assert_int_equal(scanner_set_option(s, "hand-scanner", "maybe"), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(s, "mode", "Purple"), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(s, "read-limit-size", "5"), SCANNER_UNSUPPORTED);
	assert_int_equal(scanner_set_option(s, "three-pass-order", "BGR"), SCANNER_UNSUPPORTED);
	assert_int_equal(scanner_set_option(s, "", "1"), SCANNER_UNSUPPORTED);

	/* Activity follows SANE_INFO_RELOAD_OPTIONS. */
	assert_int_equal(scanner_set_option(s, "mode", "gray"), SCANNER_OK); /* case-insensitive */
	assert_int_equal(scanner_set_option(s, "three-pass", "yes"), SCANNER_UNSUPPORTED);
	assert_int_equal(scanner_set_option(s, "mode", "Color"), SCANNER_OK);
	assert_int_equal(scanner_set_option(s, "three-pass", "TRUE"), SCANNER_OK);
	assert_int_equal(scanner_set_option(s, "three-pass-order", "BGR"), SCANNER_OK);
	assert_int_equal(scanner_set_option(s, "three-pass", "0"), SCANNER_OK);
	assert_int_equal(scanner_set_option(s, "three-pass-order", "RGB"), SCANNER_UNSUPPORTED);
	assert_int_equal(scanner_set_option(s, "read-limit", "on"), SCANNER_OK);
	assert_int_equal(scanner_set_option(s, "read-limit-size", "5"), SCANNER_OK);
	assert_int_equal(scanner_set_option(s, "read-limit-size", "0"), SCANNER_INVALID);

	/* Arrays: every element, comma-separated. */
	assert_int_equal(scanner_set_option(s, "enable-test-options", "yes"), SCANNER_OK);
	assert_int_equal(
	        scanner_set_option(s, "int-constraint-array-constraint-range", "4,6,8,10,12,14"),
	        SCANNER_OK);
	assert_int_equal(scanner_set_option(s, "int-constraint-array-constraint-range", "4,6"),
	                 SCANNER_INVALID);
	assert_int_equal(
	        scanner_set_option(s, "int-constraint-array-constraint-range", "4,6,8,10,12,200"),
	        SCANNER_INVALID);
	assert_int_equal(scanner_set_option(s, "fixed-constraint-word-list", "12.1"), SCANNER_OK);
	assert_int_equal(scanner_set_option(s, "fixed-constraint-word-list", "12.2"),
	                 SCANNER_INVALID);
	assert_int_equal(scanner_set_option(s, "string", "anything"), SCANNER_OK);
	assert_int_equal(scanner_set_option(s, "int-inexact", "41"), SCANNER_OK);
	assert_true(log_has("adjusted"));
}

static void test_list_open(void **state)
{
	struct scanner_driver *drv = ((struct fixture *)*state)->drv;
	struct scanner_device *devs = NULL;
	struct scanner *s2 = NULL, *s3 = NULL;
	size_t n = 0;
	bool t0 = false, t1 = false;

	assert_int_equal(scanner_driver_list(drv, &devs, &n), SCANNER_OK);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		t0 |= strcmp(devs[i].name, "test:0") == 0;
		t1 |= strcmp(devs[i].name, "test:1") == 0;
		assert_string_equal(devs[i].vendor, "Noname");
		assert_string_equal(devs[i].model, "frontend-tester");
	}
	assert_true(t0 && t1);
	free(devs);

	assert_int_equal(scanner_driver_open(drv, "test:9", &s2), SCANNER_NO_DEVICE);
	assert_int_equal(scanner_driver_open(drv, "nosuchbackend:0", &s2), SCANNER_NO_DEVICE);
	assert_null(s2);
	/* test:0 is the fixture's. */
	assert_int_equal(scanner_driver_open(drv, "test:0", &s2), SCANNER_BUSY);
	assert_int_equal(scanner_driver_open(drv, "", &s2), SCANNER_BUSY); /* "" is test:0 */
	assert_int_equal(scanner_driver_open(drv, "test:1", &s2), SCANNER_OK);
	assert_non_null(s2);
	assert_int_equal(scanner_driver_open(drv, "test:1", &s3), SCANNER_BUSY);
	scanner_close(s2);
	scanner_close(NULL);

	/* One SANE driver at a time. */
	assert_null(scanner_sane_create());
	assert_false(scanner_sane_set_api(NULL));
}

/* ---- the fake seam: faults the test backend cannot produce ---- */

static struct {
	struct sane_api api;
	struct scanner_driver *drv; /* cleaned up by fake_teardown(), even after a failure */
	struct scanner *s;
	int starts;
	int warmups; /* WARMING_UP answers before the real sane_start() */
	bool cancel_in_warmup;
	uint64_t bytes;   /* read so far this page */
	uint64_t fail_at; /* 0: never */
	SANE_Status fail_with;
	bool unplug; /* remove the USB node when failing */
	char dir[32], bus[64], node[96];
	/* A device that never sends anything. */
	bool stall;
	bool stall_nonblocking;
	int stall_pipe[2];
	atomic_int reads;
	atomic_int reads_at_cancel; /* -1 until the canceller has cancelled */
	atomic_bool blocking_read;  /* a blocking sane_read() was called: it would hang */
} fake;

static SANE_Status fake_start(SANE_Handle h)
{
	fake.starts++;
	fake.bytes = 0;
	if (fake.cancel_in_warmup && fake.starts == 2)
		scanner_cancel(fake.s);
	if (fake.starts <= fake.warmups)
		return SANE_STATUS_WARMING_UP;
	if (fake.stall)
		return SANE_STATUS_GOOD;
	return sane_start(h);
}

static SANE_Status fake_open(SANE_String_Const name, SANE_Handle *h)
{
	/* A USB-looking name for the test backend's first device. */
	if (strcmp(name, "fakeusb:libusb:001:002") == 0)
		name = "test:0";
	return sane_open(name, h);
}

static SANE_Status fake_read(SANE_Handle h, SANE_Byte *data, SANE_Int max, SANE_Int *len)
{
	SANE_Status st;

	*len = 0;
	if (fake.stall) {
		atomic_fetch_add(&fake.reads, 1);
		if (!fake.stall_nonblocking) {
			atomic_store(&fake.blocking_read, true);
			return SANE_STATUS_IO_ERROR; /* a real device would block here */
		}
		/* Bail out rather than hang if a cancel goes unnoticed. */
		int at = atomic_load(&fake.reads_at_cancel);
		if (at >= 0 && atomic_load(&fake.reads) > at + 3)
			return SANE_STATUS_IO_ERROR;
		return SANE_STATUS_GOOD; /* non-blocking: nothing yet */
	}
	if (fake.fail_at && fake.bytes >= fake.fail_at) {
		if (fake.unplug)
			unlink(fake.node);
		return fake.fail_with;
	}
	st = sane_read(h, data, max, len);
	if (st == SANE_STATUS_GOOD)
		fake.bytes += (uint64_t)*len;
	return st;
}

static SANE_Status fake_get_parameters(SANE_Handle h, SANE_Parameters *p)
{
	if (!fake.stall)
		return sane_get_parameters(h, p);
	*p = (SANE_Parameters){.format = SANE_FRAME_GRAY,
	                       .last_frame = SANE_TRUE,
	                       .bytes_per_line = 100,
	                       .pixels_per_line = 100,
	                       .lines = 50,
	                       .depth = 8};
	return SANE_STATUS_GOOD;
}

static SANE_Status fake_set_io_mode(SANE_Handle h, SANE_Bool non_blocking)
{
	if (!fake.stall)
		return sane_set_io_mode(h, non_blocking);
	return !non_blocking || fake.stall_nonblocking ? SANE_STATUS_GOOD : SANE_STATUS_UNSUPPORTED;
}

static SANE_Status fake_get_select_fd(SANE_Handle h, SANE_Int *fd)
{
	if (!fake.stall)
		return sane_get_select_fd(h, fd);
	*fd = fake.stall_pipe[0]; /* never readable */
	return SANE_STATUS_GOOD;
}

static void fake_cancel(SANE_Handle h)
{
	if (!fake.stall)
		sane_cancel(h);
}

/* The real libsane, but for the calls a test scripts. */
static void fake_setup(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.stall_pipe[0] = fake.stall_pipe[1] = -1;
	atomic_store(&fake.reads_at_cancel, -1);
	fake.api = *scanner_sane_real_api();
	fake.api.start = fake_start;
	fake.api.open = fake_open;
	fake.api.read = fake_read;
	fake.api.get_parameters = fake_get_parameters;
	fake.api.set_io_mode = fake_set_io_mode;
	fake.api.get_select_fd = fake_get_select_fd;
	fake.api.cancel = fake_cancel;
}

static struct scanner *fake_open_device(const char *name)
{
	assert_true(scanner_sane_set_api(&fake.api));
	log_reset();
	fake.drv = make_driver();
	assert_int_equal(scanner_driver_open(fake.drv, name, &fake.s), SCANNER_OK);
	return fake.s;
}

static void fake_close_device(void)
{
	scanner_close(fake.s);
	fake.s = NULL;
	scanner_driver_destroy(fake.drv);
	fake.drv = NULL;
	scanner_sane_set_api(NULL);
	if (fake.node[0])
		unlink(fake.node);
	if (fake.bus[0])
		rmdir(fake.bus);
	if (fake.dir[0])
		rmdir(fake.dir);
	for (int i = 0; i < 2; i++)
		if (fake.stall_pipe[i] >= 0)
			close(fake.stall_pipe[i]);
	fake.node[0] = fake.bus[0] = fake.dir[0] = '\0';
	fake.stall_pipe[0] = fake.stall_pipe[1] = -1;
}

static int fake_test_setup(void **state)
{
	(void)state;
	fake_setup();
	return 0;
}

static int fake_test_teardown(void **state)
{
	(void)state;
	fake_close_device();
	return scanner_sane_set_api(NULL) ? 0 : -1;
}

static void test_fake_warming_up(void **state)
{
	struct scanner *s;
	struct page pg;

	(void)state;
	fake.warmups = 2;
	s = fake_open_device("test:0");
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 75, 40, 40);
	scan_ok(s, &pg, 16, px_for(75, 40), (int32_t)px_for(75, 40), 1);
	assert_int_equal(fake.starts, 3); /* two refusals, then the real start */
	assert_true(log_has("warming up"));
	check_model(&pg, model_gray8, false);
	page_free(&pg);
	scanner_end_document(s);

	/* A cancel during the backoff ends the wait at once: no further start. */
	fake.starts = 0;
	fake.warmups = 1000;
	fake.cancel_in_warmup = true;
	assert_int_equal(read_page(s, &pg, 16), SCANNER_CANCELLED);
	assert_int_equal(fake.starts, 2);
	scanner_end_document(s);
}

static void device_fault(bool unplug, SANE_Status with, uint64_t at, enum scanner_status want)
{
	struct scanner *s;
	struct page pg;
	FILE *f;

	fake_setup();
	snprintf(fake.dir, sizeof(fake.dir), "/tmp/scankiosk-usb-XXXXXX");
	assert_non_null(mkdtemp(fake.dir));
	snprintf(fake.bus, sizeof(fake.bus), "%s/001", fake.dir);
	assert_int_equal(mkdir(fake.bus, 0700), 0);
	snprintf(fake.node, sizeof(fake.node), "%s/002", fake.bus);
	f = fopen(fake.node, "w");
	assert_non_null(f);
	fclose(f);
	fake.api.usb_root = fake.dir;
	fake.unplug = unplug;
	fake.fail_with = with;
	fake.fail_at = at;

	s = fake_open_device("fakeusb:libusb:001:002");
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 100, 100, 100);
	assert_int_equal(read_page(s, &pg, 8), want);
	assert_true(pg.lines > 0 && pg.lines < (size_t)pg.frame.height);
	page_free(&pg);
	scanner_end_document(s);

	/* Plugged back in (same node): a full page again. */
	f = fopen(fake.node, "w");
	assert_non_null(f);
	fclose(f);
	fake.fail_at = 0;
	scan_ok(s, &pg, 64, px_for(100, 100), (int32_t)px_for(100, 100), 3);
	check_model(&pg, model_rgb8, false);
	page_free(&pg);
	scanner_end_document(s);
	fake_close_device();
}

static void test_fake_device_gone(void **state)
{
	(void)state;
	/* I/O error and the USB node is gone: unplugged. */
	device_fault(true, SANE_STATUS_IO_ERROR, 50000, SCANNER_DEVICE_GONE);
	assert_true(log_has("scanner disconnected"));
	/* I/O error, node still there: a plain I/O error. */
	device_fault(false, SANE_STATUS_IO_ERROR, 50000, SCANNER_IO_ERROR);
	/* NO_DOCS after part of a page is not the end of a batch. */
	device_fault(false, SANE_STATUS_NO_DOCS, 50000, SCANNER_IO_ERROR);
	device_fault(false, SANE_STATUS_JAMMED, 50000, SCANNER_JAMMED);
}

static void *stall_canceller(void *arg)
{
	/* Blocking io: wait out one of the driver's 1 s poll timeouts first, to
	 * see that a timeout does not lead to a (hanging) blocking sane_read(). */
	struct timespec t = {fake.stall_nonblocking ? 0 : 1, 200 * 1000 * 1000};
	nanosleep(&t, NULL);
	atomic_store(&fake.reads_at_cancel, atomic_load(&fake.reads));
	scanner_cancel(arg);
	return NULL;
}

/* A device that sends nothing: only the cancel's wake-up can end the read. */
static void stalled_read(bool nonblocking)
{
	struct scanner_frame frame;
	struct scanner *s;
	uint8_t line[100];
	size_t n = 7;
	pthread_t t;

	fake_setup();
	fake.stall = true;
	fake.stall_nonblocking = nonblocking;
	assert_int_equal(pipe(fake.stall_pipe), 0);
	s = fake_open_device("test:0");
	assert_int_equal(scanner_start_page(s, &frame), SCANNER_OK);
	assert_int_equal(frame.width, 100);
	assert_true(
	        log_has(nonblocking ? "io: select fd, non-blocking" : "io: select fd, blocking"));
	assert_int_equal(pthread_create(&t, NULL, stall_canceller, s), 0);
	assert_int_equal(scanner_read_lines(s, line, 1, &n), SCANNER_CANCELLED);
	pthread_join(t, NULL);
	assert_int_equal(n, 0);
	/* The poll woke up: no further sane_read() after the cancel. */
	assert_int_equal(atomic_load(&fake.reads), atomic_load(&fake.reads_at_cancel));
	/* Blocking io: sane_read() only when the select fd is readable. */
	assert_false(atomic_load(&fake.blocking_read));
	scanner_end_document(s);
	fake_close_device();
}

static void test_fake_cancel_stalled(void **state)
{
	(void)state;
	stalled_read(true);
	stalled_read(false);
}

static void test_fake_buffer_cap(void **state)
{
	struct scanner *s;
	struct page pg;

	(void)state;
	fake.api.max_buffer_bytes = 200000;
	s = fake_open_device("test:0");
	set(s, "three-pass", "yes");

	/* Known height: refused before reading (206 x 3 x 354 > 200000). */
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 75, 70, 120);
	assert_int_equal(read_page(s, &pg, 8), SCANNER_NO_MEMORY);
	page_free(&pg);
	settle();
	scanner_end_document(s);

	/* Below the cap it works. */
	configure(s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 75, 70, 40);
	scan_ok(s, &pg, 8, px_for(75, 70), (int32_t)px_for(75, 40), 3);
	check_model(&pg, model_rgb8, false);
	page_free(&pg);
	scanner_end_document(s);

	/* Unknown height: the buffer grows until the cap. */
	set(s, "hand-scanner", "yes");
	assert_int_equal(read_page(s, &pg, 8), SCANNER_NO_MEMORY);
	assert_true(log_has("buffer cap"));
	page_free(&pg);
	scanner_end_document(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_list_open, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_set_option, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_configure, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_color_a4, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_gray_a4, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_lineart, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_color_depth1, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_depth16, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_three_pass, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hand_scanner, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_feeder_batch, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_read_faults, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_read_limit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fuzzy_parameters, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_ppl_loss, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_io_modes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_fake_warming_up, fake_test_setup,
	                                        fake_test_teardown),
	        cmocka_unit_test_setup_teardown(test_fake_device_gone, fake_test_setup,
	                                        fake_test_teardown),
	        cmocka_unit_test_setup_teardown(test_fake_cancel_stalled, fake_test_setup,
	                                        fake_test_teardown),
	        cmocka_unit_test_setup_teardown(test_fake_buffer_cap, fake_test_setup,
	                                        fake_test_teardown),
	};

	pin_test_backend();
	if (!getenv("SANE_CONFIG_DIR")) {
		const char *data = getenv("SCANKIOSK_TEST_DATA");
		char dir[1024];
		if (!data) {
			fprintf(stderr, "set SANE_CONFIG_DIR to a copy of tests/data/sane\n");
			return 77; /* skipped */
		}
		snprintf(dir, sizeof(dir), "%s/sane", data);
		setenv("SANE_CONFIG_DIR", dir, 1);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
