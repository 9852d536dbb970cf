/*
 * test_sim.c - the simulated scanner driver (drivers/sim) and its image loader.
 *
 * Most tests scan small images written here into a scratch directory made in
 * the current directory (the build tree under meson) and removed afterwards.
 * A few use the shared A4 pages from $SCANKIOSK_PAGES_DIR and are skipped when
 * it is not set. Timing is never asserted; slow-line tests assert line counts.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, realpath, nftw; meson passes it already */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* after stdio.h: jpeglib.h uses FILE without including it */
#include <jpeglib.h>
#include <png.h>

#include "scanner.h"
#include "sim/image.h"

/* ---- fixtures ----------------------------------------------------------- */

static char workdir[PATH_MAX];
static char logbuf[16384];

static void capture_log(enum scanner_log_level level, const char *msg, void *userdata)
{
	(void)level;
	(void)userdata;
	size_t used = strlen(logbuf);
	snprintf(logbuf + used, sizeof(logbuf) - used, "%s\n", msg);
	if (getenv("TEST_SIM_VERBOSE"))
		fprintf(stderr, "log: %s\n", msg);
}

static void log_clear(void)
{
	logbuf[0] = '\0';
}

static void assert_logged(const char *text)
{
	if (!strstr(logbuf, text))
		fail_msg("log lacks \"%s\"; it has:\n%s", text, logbuf);
}

/* snprintf() that fails the test instead of truncating. */
__attribute__((format(printf, 3, 4))) static void xsnprintf(char *buf, size_t size, const char *fmt,
                                                            ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < size);
}

/* A path in the scratch directory; returns buf. */
static char *tmp_path(char *buf, size_t size, const char *name)
{
	xsnprintf(buf, size, "%s/%s", workdir, name);
	return buf;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	char tmpl[] = "test_sim.XXXXXX";
	if (!mkdtemp(tmpl) || !realpath(tmpl, workdir)) {
		perror("test_sim: scratch directory");
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (workdir[0])
		nftw(workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Writes an 8-bit grey or RGB PNG; dpi 0 writes no pHYs chunk. */
static void write_png(const char *path, uint32_t w, uint32_t h, int channels, uint32_t dpi,
                      const uint8_t *px)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	assert_non_null(png);
	assert_non_null(info);
	if (setjmp(png_jmpbuf(png)))
		fail_msg("libpng could not write %s", path);
	png_init_io(png, f);
	png_set_IHDR(png, info, w, h, 8, channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
	             PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (dpi) {
		png_uint_32 ppm = (dpi * 10000 + 127) / 254;
		png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
	}
	png_write_info(png, info);
	for (uint32_t y = 0; y < h; y++)
		png_write_row(png, px + (size_t)y * w * (size_t)channels);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	assert_int_equal(fclose(f), 0);
}

static void write_jpeg(const char *path, uint32_t w, uint32_t h, int channels, uint32_t dpi,
                       uint8_t *px)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, f);
	c.image_width = w;
	c.image_height = h;
	c.input_components = channels;
	c.in_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 100, TRUE);
	if (dpi) {
		c.write_JFIF_header = TRUE;
		c.density_unit = 1;
		c.X_density = (UINT16)dpi;
		c.Y_density = (UINT16)dpi;
	}
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < h) {
		JSAMPROW row = px + (size_t)c.next_scanline * w * (size_t)channels;
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	assert_int_equal(fclose(f), 0);
}

static uint8_t *filled(size_t n, uint8_t value)
{
	uint8_t *p = malloc(n);
	assert_non_null(p);
	memset(p, value, n);
	return p;
}

/* A uniform grey PNG of w x h at 300 dpi in the scratch dir; returns path. */
static char *grey_png(char *buf, size_t size, const char *name, uint32_t w, uint32_t h,
                      uint8_t value)
{
	uint8_t *px = filled((size_t)w * h, value);
	write_png(tmp_path(buf, size, name), w, h, 1, 300, px);
	free(px);
	return buf;
}

/* ---- scanning helpers --------------------------------------------------- */

struct sim {
	struct scanner_driver *drv;
	struct scanner *s;
};

static void sim_up(struct sim *t, const char *spec)
{
	log_clear();
	t->drv = scanner_sim_create(spec, capture_log, NULL);
	if (!t->drv)
		fail_msg("scanner_sim_create(\"%s\") failed:\n%s", spec, logbuf);
	assert_int_equal(scanner_driver_open(t->drv, "", &t->s), SCANNER_OK);
}

static void sim_down(struct sim *t)
{
	scanner_close(t->s);
	scanner_driver_destroy(t->drv);
	t->s = NULL;
	t->drv = NULL;
}

/* Millimetres that give exactly n pixels at dpi. */
static double px_mm(uint32_t n, uint32_t dpi)
{
	return n * 25.4 / dpi;
}

static void configure_px(struct scanner *s, enum scanner_source source, enum scanner_mode mode,
                         uint32_t dpi, uint32_t w, uint32_t h)
{
	struct scanner_settings want = {
	        .source = source,
	        .mode = mode,
	        .dpi = dpi,
	        .width_mm = px_mm(w, dpi),
	        .height_mm = px_mm(h, dpi),
	};
	struct scanner_settings got;
	assert_int_equal(scanner_configure(s, &want, &got), SCANNER_OK);
	assert_int_equal(got.dpi, dpi);
}

struct page {
	struct scanner_frame frame;
	uint8_t *px; /* frame.height * frame.stride, plus one spare line */
	size_t lines;
};

static void page_free(struct page *pg)
{
	free(pg->px);
	memset(pg, 0, sizeof(*pg));
}

/* Reads until a read does not return OK, chunk lines at a time; returns that
 * status. Checks the read contract on the way. */
static enum scanner_status read_page(struct scanner *s, struct page *pg, size_t chunk)
{
	size_t h = (size_t)pg->frame.height, stride = pg->frame.stride;
	assert_int_equal(stride, (size_t)pg->frame.width * pg->frame.channels);
	free(pg->px);
	pg->px = calloc(h + 1, stride);
	assert_non_null(pg->px);
	pg->lines = 0;
	for (;;) {
		size_t want = pg->lines < h ? h - pg->lines : 1;
		if (want > chunk)
			want = chunk;
		size_t at = pg->lines < h ? pg->lines : h; /* the spare line */
		size_t got = 99;
		enum scanner_status st = scanner_read_lines(s, pg->px + at * stride, want, &got);
		if (st != SCANNER_OK) {
			assert_int_equal(got, 0);
			return st;
		}
		assert_true(got >= 1 && got <= want);
		assert_true(pg->lines + got <= h);
		pg->lines += got;
	}
}

/* Starts a page and reads it whole; returns the status that ended it. */
static enum scanner_status scan_page(struct scanner *s, struct page *pg)
{
	enum scanner_status st = scanner_start_page(s, &pg->frame);
	if (st != SCANNER_OK)
		return st;
	return read_page(s, pg, 16);
}

/* Scans one whole page that must succeed; returns its first pixel's sample. */
static uint8_t scan_ok(struct scanner *s)
{
	struct page pg = {0};
	assert_int_equal(scan_page(s, &pg), SCANNER_PAGE_DONE);
	assert_int_equal(pg.lines, (size_t)pg.frame.height);
	uint8_t v = pg.px[0];
	page_free(&pg);
	return v;
}

/* The reference pages: from the test environment, or beside the tree. Missing
 * pages fail the test rather than skip it. */
static const char *pages_dir(void)
{
	const char *dir = getenv("SCANKIOSK_PAGES_DIR");
	return dir && dir[0] ? dir : "../shared/pages";
}

static uint8_t luma(uint32_t r, uint32_t g, uint32_t b)
{
	return (uint8_t)((299 * r + 587 * g + 114 * b + 500) / 1000);
}

/* ---- device, caps, settings --------------------------------------------- */

static void test_create_list_open(void **state)
{
	(void)state;
	struct scanner_driver *drv = scanner_sim_create(NULL, capture_log, NULL);
	assert_non_null(drv);
	struct scanner_device *devs;
	size_t count;
	assert_int_equal(scanner_driver_list(drv, &devs, &count), SCANNER_OK);
	assert_int_equal(count, 1);
	assert_string_equal(devs[0].name, "sim");
	assert_string_equal(devs[0].vendor, "scankiosk");
	assert_string_equal(devs[0].model, "Simulated scanner");
	assert_string_equal(devs[0].type, "virtual");
	free(devs);

	struct scanner *s, *s2;
	assert_int_equal(scanner_driver_open(drv, "other", &s), SCANNER_NO_DEVICE);
	assert_null(s);
	assert_int_equal(scanner_driver_open(drv, "", &s), SCANNER_OK);
	assert_non_null(s);
	assert_int_equal(scanner_driver_open(drv, "sim", &s2), SCANNER_BUSY);
	scanner_close(s);
	assert_int_equal(scanner_driver_open(drv, "sim", &s), SCANNER_OK);
	assert_int_equal(scanner_driver_open(drv, NULL, &s2), SCANNER_BUSY);
	scanner_close(s);
	scanner_close(NULL);
	scanner_driver_destroy(drv);
	scanner_driver_destroy(NULL);
}

static void test_caps(void **state)
{
	(void)state;
	struct sim t;
	struct scanner_caps caps;
	sim_up(&t, "");
	scanner_caps(t.s, &caps);
	assert_int_equal(caps.sources, 1u << SCANNER_SOURCE_FLATBED | 1u << SCANNER_SOURCE_FEEDER |
	                                       1u << SCANNER_SOURCE_DUPLEX);
	assert_int_equal(caps.modes, 1u << SCANNER_MODE_COLOR | 1u << SCANNER_MODE_GRAY |
	                                     1u << SCANNER_MODE_LINEART);
	assert_int_equal(caps.dpi_count, 6);
	assert_int_equal(caps.dpi_list[0], 75);
	assert_int_equal(caps.dpi_list[5], 600);
	assert_int_equal(caps.dpi_min, 75);
	assert_int_equal(caps.dpi_max, 600);
	assert_true(caps.max_width_mm == 216.0 && caps.max_height_mm == 356.0);
	sim_down(&t);
}

static void test_configure_rounds_and_clamps(void **state)
{
	(void)state;
	struct sim t;
	struct scanner_settings want = {SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 250, 300.0,
	                                400.0};
	struct scanner_settings got;
	sim_up(&t, "");
	assert_int_equal(scanner_configure(t.s, &want, &got), SCANNER_OK);
	assert_int_equal(got.dpi, 300); /* tie 200/300 goes up */
	assert_true(got.width_mm == 216.0 && got.height_mm == 356.0);
	want.dpi = 120;
	assert_int_equal(scanner_configure(t.s, &want, &got), SCANNER_OK);
	assert_int_equal(got.dpi, 100);
	want.dpi = 5000;
	assert_int_equal(scanner_configure(t.s, &want, &got), SCANNER_OK);
	assert_int_equal(got.dpi, 600);
	want.dpi = 1;
	assert_int_equal(scanner_configure(t.s, &want, &got), SCANNER_OK);
	assert_int_equal(got.dpi, 75);

	want.dpi = 0;
	assert_int_equal(scanner_configure(t.s, &want, &got), SCANNER_INVALID);
	want.dpi = 300;
	want.width_mm = 0.0;
	assert_int_equal(scanner_configure(t.s, &want, &got), SCANNER_INVALID);
	want.width_mm = -5.0;
	assert_int_equal(scanner_configure(t.s, &want, &got), SCANNER_INVALID);
	want.width_mm = 100.0;
	want.height_mm = NAN;
	assert_int_equal(scanner_configure(t.s, &want, &got), SCANNER_INVALID);
	want.height_mm = 100.0;
	want.source = SCANNER_SOURCE_LAST;
	assert_int_equal(scanner_configure(t.s, &want, &got), SCANNER_INVALID);
	want.source = SCANNER_SOURCE_FLATBED;
	want.mode = SCANNER_MODE_LAST;
	assert_int_equal(scanner_configure(t.s, &want, &got), SCANNER_INVALID);
	sim_down(&t);
}

/* width = round(mm / 25.4 * dpi): A4 is 2480 x 3508 at 300 dpi. */
static void test_frame_dimensions(void **state)
{
	(void)state;
	static const struct {
		uint32_t dpi;
		double w_mm, h_mm;
		uint32_t w, h;
	} cases[] = {
	        {300, 210.0, 297.0, 2480, 3508}, {150, 210.0, 297.0, 1240, 1754},
	        {75, 210.0, 297.0, 620, 877},    {600, 210.0, 297.0, 4961, 7016},
	        {100, 216.0, 356.0, 850, 1402},  {300, 0.01, 0.01, 1, 1},
	};
	struct sim t;
	char path[PATH_MAX];
	char spec[PATH_MAX + 64];
	grey_png(path, sizeof(path), "dims.png", 4, 4, 0);
	xsnprintf(spec, sizeof(spec), "pages=%s", path);
	sim_up(&t, spec);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scanner_settings want = {SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY,
		                                cases[i].dpi, cases[i].w_mm, cases[i].h_mm};
		struct scanner_frame fr;
		assert_int_equal(scanner_configure(t.s, &want, NULL), SCANNER_OK);
		assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_OK);
		assert_int_equal(fr.width, cases[i].w);
		assert_int_equal(fr.height, (int32_t)cases[i].h);
		assert_int_equal(fr.channels, 1);
		assert_int_equal(fr.dpi, cases[i].dpi);
		assert_int_equal(fr.stride, cases[i].w);
		scanner_end_document(t.s);
	}
	{
		struct scanner_settings want = {SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 150,
		                                210.0, 297.0};
		struct scanner_frame fr;
		assert_int_equal(scanner_configure(t.s, &want, NULL), SCANNER_OK);
		assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_OK);
		assert_int_equal(fr.channels, 3);
		assert_int_equal(fr.stride, 1240 * 3);
		scanner_end_document(t.s);
	}
	sim_down(&t);
}

/* ---- pixels ------------------------------------------------------------- */

/* 300 -> 150 dpi averages 2 x 2 boxes; beyond the sheet is white paper. */
static void test_downsample_and_pad(void **state)
{
	(void)state;
	uint8_t px[] = {0, 100, 200, 50, 10, 20, 30, 40};
	char path[PATH_MAX], spec[PATH_MAX + 64];
	write_png(tmp_path(path, sizeof(path), "box.png"), 4, 2, 1, 300, px);
	xsnprintf(spec, sizeof(spec), "pages=%s", path);
	struct sim t;
	struct page pg = {0};
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 150, 4, 3);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_PAGE_DONE);
	assert_int_equal(pg.lines, 3);
	const uint8_t want[] = {33, 80, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255};
	assert_memory_equal(pg.px, want, sizeof(want));
	page_free(&pg);
	sim_down(&t);
}

/* A 150 dpi sheet (pHYs) scanned at 300 dpi: every pixel twice each way. */
static void test_upsample_from_phys(void **state)
{
	(void)state;
	uint8_t px[] = {10, 20, 30, 40, 50, 60};
	char path[PATH_MAX], spec[PATH_MAX + 64];
	write_png(tmp_path(path, sizeof(path), "phys150.png"), 3, 2, 1, 150, px);
	xsnprintf(spec, sizeof(spec), "pages=%s", path);
	struct sim t;
	struct page pg = {0};
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 300, 7, 5);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_PAGE_DONE);
	const uint8_t want[] = {
	        10,  10,  20,  20,  30,  30,  255, /* */
	        10,  10,  20,  20,  30,  30,  255, /* */
	        40,  40,  50,  50,  60,  60,  255, /* */
	        40,  40,  50,  50,  60,  60,  255, /* */
	        255, 255, 255, 255, 255, 255, 255,
	};
	assert_int_equal(pg.lines, 5);
	assert_memory_equal(pg.px, want, sizeof(want));
	page_free(&pg);
	sim_down(&t);
}

static void test_modes_synthetic(void **state)
{
	(void)state;
	/* red, green, blue, white, black, grey 127, grey 128 */
	uint8_t rgb[] = {255, 0, 0, 0, 255, 0,   0,   0,   255, 255, 255,
	                 255, 0, 0, 0, 127, 127, 127, 128, 128, 128};
	uint8_t grey[] = {0, 1, 127, 128, 200, 255, 77};
	char prgb[PATH_MAX], pgrey[PATH_MAX], spec[2 * PATH_MAX + 64];
	write_png(tmp_path(prgb, sizeof(prgb), "modes_rgb.png"), 7, 1, 3, 300, rgb);
	write_png(tmp_path(pgrey, sizeof(pgrey), "modes_grey.png"), 7, 1, 1, 300, grey);
	xsnprintf(spec, sizeof(spec), "pages=%s,%s;feeder=4", prgb, pgrey);
	struct sim t;
	struct page pg = {0};
	sim_up(&t, spec);

	/* RGB file in grey mode: luma 0.299/0.587/0.114. */
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 7, 1);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_PAGE_DONE);
	const uint8_t want_grey[] = {76, 150, 29, 255, 0, 127, 128};
	assert_int_equal(pg.frame.channels, 1);
	assert_memory_equal(pg.px, want_grey, sizeof(want_grey));

	/* grey file in colour mode: R = G = B. */
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_COLOR, 300, 7, 1);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_PAGE_DONE);
	assert_int_equal(pg.frame.channels, 3);
	for (size_t x = 0; x < 7; x++) {
		assert_int_equal(pg.px[3 * x], grey[x]);
		assert_int_equal(pg.px[3 * x + 1], grey[x]);
		assert_int_equal(pg.px[3 * x + 2], grey[x]);
	}

	/* lineart: grey below 128 is black, the rest white. */
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_LINEART, 300, 7, 1);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_PAGE_DONE);
	const uint8_t want_la_rgb[] = {0, 255, 0, 255, 0, 0, 255};
	assert_int_equal(pg.frame.channels, 1);
	assert_memory_equal(pg.px, want_la_rgb, sizeof(want_la_rgb));
	assert_int_equal(scan_page(t.s, &pg), SCANNER_PAGE_DONE);
	const uint8_t want_la_grey[] = {0, 0, 0, 255, 255, 255, 0};
	assert_memory_equal(pg.px, want_la_grey, sizeof(want_la_grey));

	/* RGB file in colour mode: unchanged. */
	configure_px(t.s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 300, 7, 1);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_PAGE_DONE);
	assert_memory_equal(pg.px, rgb, sizeof(rgb));
	page_free(&pg);
	sim_down(&t);
}

/* The shared grey pay slip in colour mode at its own 300 dpi: every pixel is
 * the file's grey value three times. */
static void test_real_grey_page_in_colour(void **state)
{
	(void)state;
	const char *dir = pages_dir();
	char path[PATH_MAX], spec[PATH_MAX + 64], why[256];
	xsnprintf(path, sizeof(path), "%s/s01_payslip.png", dir);
	xsnprintf(spec, sizeof(spec), "pages=%s", path);
	struct sim_image src;
	assert_int_equal(sim_image_load_file(&src, path, NULL, why, sizeof(why)), SIM_IMAGE_OK);
	assert_int_equal(src.channels, 1);
	assert_int_equal(src.xdpi, 300);
	assert_true(src.dpi_recorded);

	struct sim t;
	struct page pg = {0};
	struct scanner_settings want = {SCANNER_SOURCE_FEEDER, SCANNER_MODE_COLOR, 300, 210.0,
	                                297.0};
	sim_up(&t, spec);
	assert_int_equal(scanner_configure(t.s, &want, NULL), SCANNER_OK);
	assert_int_equal(scanner_start_page(t.s, &pg.frame), SCANNER_OK);
	assert_int_equal(pg.frame.width, 2480);
	assert_int_equal(pg.frame.height, 3508);
	assert_int_equal(read_page(t.s, &pg, 200), SCANNER_PAGE_DONE);
	assert_int_equal(pg.lines, 3508);
	size_t dark = 0;
	for (size_t y = 0; y < 3508; y++) {
		const uint8_t *o = pg.px + y * pg.frame.stride;
		const uint8_t *i = src.pixels + y * src.stride;
		for (size_t x = 0; x < 2480; x++) {
			if (o[3 * x] != i[x] || o[3 * x + 1] != i[x] || o[3 * x + 2] != i[x])
				fail_msg("pixel %zu,%zu: %u/%u/%u, file %u", x, y, o[3 * x],
				         o[3 * x + 1], o[3 * x + 2], i[x]);
			dark += i[x] < 128;
		}
	}
	assert_true(dark > 10000); /* it is a printed page, not paper */
	scanner_end_document(t.s);
	page_free(&pg);
	sim_image_finish(&src);
	sim_down(&t);
}

/* The shared RGB sick note in grey mode: luma of the file, and at 150 dpi
 * in colour: 2 x 2 averages, 1240 x 1754. */
static void test_real_rgb_page(void **state)
{
	(void)state;
	const char *dir = pages_dir();
	char path[PATH_MAX], spec[PATH_MAX + 64], why[256];
	xsnprintf(path, sizeof(path), "%s/s04_sicknote.png", dir);
	xsnprintf(spec, sizeof(spec), "pages=%s", path);
	struct sim_image src;
	assert_int_equal(sim_image_load_file(&src, path, NULL, why, sizeof(why)), SIM_IMAGE_OK);
	assert_int_equal(src.channels, 3);

	struct sim t;
	struct page pg = {0};
	struct scanner_settings want = {SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 300, 210.0,
	                                297.0};
	sim_up(&t, spec);
	assert_int_equal(scanner_configure(t.s, &want, NULL), SCANNER_OK);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_PAGE_DONE);
	assert_int_equal(pg.frame.channels, 1);
	assert_int_equal(pg.lines, 3508);
	size_t coloured = 0;
	for (size_t y = 0; y < 3508; y++) {
		const uint8_t *o = pg.px + y * pg.frame.stride;
		const uint8_t *i = src.pixels + y * src.stride;
		for (size_t x = 0; x < 2480; x++, i += 3) {
			if (o[x] != luma(i[0], i[1], i[2]))
				fail_msg("pixel %zu,%zu: %u, want luma of %u/%u/%u", x, y, o[x],
				         i[0], i[1], i[2]);
			coloured += i[0] != i[2];
		}
	}
	assert_true(coloured > 1000); /* the test means something only on colour */
	scanner_end_document(t.s);

	want.mode = SCANNER_MODE_COLOR;
	want.dpi = 150;
	assert_int_equal(scanner_configure(t.s, &want, NULL), SCANNER_OK);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_PAGE_DONE);
	assert_int_equal(pg.frame.width, 1240);
	assert_int_equal(pg.frame.height, 1754);
	assert_int_equal(pg.lines, 1754);
	for (size_t y = 0; y < 1754; y++) {
		const uint8_t *o = pg.px + y * pg.frame.stride;
		for (size_t x = 0; x < 1240; x++) {
			for (size_t c = 0; c < 3; c++) {
				uint32_t sum = 0;
				for (size_t dy = 0; dy < 2; dy++)
					for (size_t dx = 0; dx < 2; dx++)
						sum += src.pixels[(2 * y + dy) * src.stride +
						                  (2 * x + dx) * 3 + c];
				if (o[3 * x + c] != (sum + 2) / 4)
					fail_msg("150 dpi pixel %zu,%zu,%zu: %u, want %u", x, y, c,
					         o[3 * x + c], (sum + 2) / 4);
			}
		}
	}
	scanner_end_document(t.s);
	page_free(&pg);
	sim_image_finish(&src);
	sim_down(&t);
}

static void test_real_pages_directory(void **state)
{
	(void)state;
	const char *dir = pages_dir();
	char spec[PATH_MAX + 64];
	xsnprintf(spec, sizeof(spec), "pages=%s", dir);
	struct sim t;
	sim_up(&t, spec);
	/* the eight PNGs, not the .txt, .tsv, .py and .sh beside them */
	assert_logged("sim: 8 page file(s), 8 sheet(s) in the feeder");
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 75, 40, 40);
	struct scanner_frame fr;
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_OK);
	scanner_end_document(t.s);
	sim_down(&t);
}

/* ---- feeder, flatbed, duplex -------------------------------------------- */

/* Three distinct uniform pages a=10, b=20, c=30 in the scratch dir. */
static void abc_pages(char *a, char *b, char *c, size_t size)
{
	grey_png(a, size, "a.png", 8, 8, 10);
	grey_png(b, size, "b.png", 8, 8, 20);
	grey_png(c, size, "c.png", 8, 8, 30);
}

static void test_feeder_cycles_then_empty(void **state)
{
	(void)state;
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], spec[3 * PATH_MAX + 64];
	abc_pages(a, b, c, PATH_MAX);
	xsnprintf(spec, sizeof(spec), "pages=%s,%s;feeder=5", a, b);
	struct sim t;
	struct scanner_frame fr;
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 8);
	const uint8_t order[] = {10, 20, 10, 20, 10};
	for (size_t i = 0; i < sizeof(order); i++)
		assert_int_equal(scan_ok(t.s), order[i]);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	scanner_end_document(t.s);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	/* reloading the feeder continues the cycle */
	assert_int_equal(scanner_set_option(t.s, "feeder", "1"), SCANNER_OK);
	assert_int_equal(scan_ok(t.s), 20);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	scanner_end_document(t.s);
	sim_down(&t);

	/* without feeder=, one sheet a file */
	xsnprintf(spec, sizeof(spec), "pages=%s,%s,%s", a, b, c);
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 8);
	assert_int_equal(scan_ok(t.s), 10);
	assert_int_equal(scan_ok(t.s), 20);
	/* paper stays consumed across a reopen */
	scanner_close(t.s);
	assert_int_equal(scanner_driver_open(t.drv, "sim", &t.s), SCANNER_OK);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 8);
	assert_int_equal(scan_ok(t.s), 30);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	sim_down(&t);
}

static void test_feeder_zero(void **state)
{
	(void)state;
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], spec[PATH_MAX + 64];
	abc_pages(a, b, c, PATH_MAX);
	xsnprintf(spec, sizeof(spec), "pages=%s;feeder=0", a);
	struct sim t;
	struct scanner_frame fr;
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 8);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	configure_px(t.s, SCANNER_SOURCE_DUPLEX, SCANNER_MODE_GRAY, 300, 8, 8);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	sim_down(&t);

	/* no pages at all: an empty feeder, and a white lid on the glass */
	sim_up(&t, "");
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 8);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	configure_px(t.s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 75, 30, 20);
	struct page pg = {0};
	assert_int_equal(scan_page(t.s, &pg), SCANNER_PAGE_DONE);
	for (size_t i = 0; i < 20 * pg.frame.stride; i++)
		assert_int_equal(pg.px[i], 255);
	page_free(&pg);
	sim_down(&t);
}

static void test_flatbed_repeats_first_page(void **state)
{
	(void)state;
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], spec[3 * PATH_MAX + 64];
	abc_pages(a, b, c, PATH_MAX);
	xsnprintf(spec, sizeof(spec), "pages=%s,%s;feeder=1", b, a);
	struct sim t;
	sim_up(&t, spec);
	/* the feeder moves on to the next file; the glass does not */
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 8);
	assert_int_equal(scan_ok(t.s), 20);
	configure_px(t.s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 300, 8, 8);
	for (int i = 0; i < 4; i++)
		assert_int_equal(scan_ok(t.s), 20);
	scanner_end_document(t.s);
	assert_int_equal(scan_ok(t.s), 20);
	sim_down(&t);
}

static void test_duplex_order(void **state)
{
	(void)state;
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], spec[3 * PATH_MAX + 64];
	struct scanner_frame fr;
	struct sim t;
	abc_pages(a, b, c, PATH_MAX);

	/* source duplex: front then back, the back being the next file */
	xsnprintf(spec, sizeof(spec), "pages=%s,%s,%s;feeder=2", a, b, c);
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_DUPLEX, SCANNER_MODE_GRAY, 300, 8, 8);
	const uint8_t order[] = {10, 20, 30, 10};
	for (size_t i = 0; i < sizeof(order); i++)
		assert_int_equal(scan_ok(t.s), order[i]);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	sim_down(&t);

	/* the duplex key makes the feeder scan both sides */
	xsnprintf(spec, sizeof(spec), "pages=%s,%s,%s;feeder=1;duplex", a, b, c);
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 8);
	assert_int_equal(scan_ok(t.s), 10);
	assert_int_equal(scan_ok(t.s), 20);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	/* and off again: simplex */
	assert_int_equal(scanner_set_option(t.s, "duplex", "0"), SCANNER_OK);
	assert_int_equal(scanner_set_option(t.s, "feeder", "2"), SCANNER_OK);
	assert_int_equal(scan_ok(t.s), 30);
	assert_int_equal(scan_ok(t.s), 10);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	sim_down(&t);

	/* end_document after a front ejects the sheet: its back is skipped */
	xsnprintf(spec, sizeof(spec), "pages=%s,%s,%s;feeder=2", a, b, c);
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_DUPLEX, SCANNER_MODE_GRAY, 300, 8, 8);
	assert_int_equal(scan_ok(t.s), 10);
	scanner_end_document(t.s);
	assert_int_equal(scan_ok(t.s), 30);
	assert_int_equal(scan_ok(t.s), 10);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	sim_down(&t);
}

/* ---- faults ------------------------------------------------------------- */

static void test_jam_after_lines(void **state)
{
	(void)state;
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], spec[PATH_MAX + 64];
	abc_pages(a, b, c, PATH_MAX);
	xsnprintf(spec, sizeof(spec), "pages=%s;feeder=3;jam-after-lines=7", a);
	struct sim t;
	struct page pg = {0};
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 20);
	assert_int_equal(scanner_start_page(t.s, &pg.frame), SCANNER_OK);
	assert_int_equal(pg.frame.height, 20);
	/* 3 + 3 + 1 lines, then the jam */
	assert_int_equal(read_page(t.s, &pg, 3), SCANNER_JAMMED);
	assert_int_equal(pg.lines, 7);
	assert_logged("paper jam after 7 lines");
	size_t n;
	uint8_t line[8];
	assert_int_equal(scanner_read_lines(t.s, line, 1, &n), SCANNER_INVALID);
	assert_int_equal(scanner_start_page(t.s, &pg.frame), SCANNER_INVALID);
	scanner_end_document(t.s);
	/* the jam was cleared: the next sheet goes through */
	assert_int_equal(scan_ok(t.s), 10);
	assert_int_equal(scan_ok(t.s), 10);
	page_free(&pg);
	sim_down(&t);

	/* jam-after-lines=0: jams before the first line */
	xsnprintf(spec, sizeof(spec), "pages=%s;jam-after-lines=0", a);
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 20);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_JAMMED);
	assert_int_equal(pg.lines, 0);
	page_free(&pg);
	sim_down(&t);
}

static void test_fault_page(void **state)
{
	(void)state;
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], spec[PATH_MAX + 64];
	abc_pages(a, b, c, PATH_MAX);
	xsnprintf(spec, sizeof(spec), "pages=%s;feeder=4;fault-page=2;jam-after-lines=5", a);
	struct sim t;
	struct page pg = {0};
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 12);
	assert_int_equal(scan_ok(t.s), 10);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_JAMMED);
	assert_int_equal(pg.lines, 5);
	scanner_end_document(t.s);
	assert_int_equal(scan_ok(t.s), 10);

	/* armed again later: counts pages from then on */
	assert_int_equal(scanner_set_option(t.s, "fault-page", "1"), SCANNER_OK);
	assert_int_equal(scanner_set_option(t.s, "jam-after-lines", "12"), SCANNER_OK);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_JAMMED);
	assert_int_equal(pg.lines, 12); /* a whole page, then stuck at its end */
	scanner_end_document(t.s);
	page_free(&pg);
	sim_down(&t);

	/* a fault beyond the page's end does not fire, and is used up */
	xsnprintf(spec, sizeof(spec), "pages=%s;feeder=2;jam-after-lines=13", a);
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 12);
	assert_int_equal(scan_ok(t.s), 10);
	assert_logged("fault beyond the page");
	assert_int_equal(scan_ok(t.s), 10);
	sim_down(&t);
}

static void test_device_gone(void **state)
{
	(void)state;
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], spec[PATH_MAX + 64];
	abc_pages(a, b, c, PATH_MAX);
	xsnprintf(spec, sizeof(spec), "pages=%s;feeder=3;gone-after-lines=4;jam-after-lines=6", a);
	struct sim t;
	struct page pg = {0};
	struct scanner_frame fr;
	size_t n;
	uint8_t line[8];
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 10);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_DEVICE_GONE);
	assert_int_equal(pg.lines, 4);
	/* and every later call */
	assert_int_equal(scanner_read_lines(t.s, line, 1, &n), SCANNER_DEVICE_GONE);
	assert_int_equal(n, 0);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_DEVICE_GONE);
	scanner_end_document(t.s);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_DEVICE_GONE);
	struct scanner_settings want = {SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 10, 10};
	assert_int_equal(scanner_configure(t.s, &want, NULL), SCANNER_DEVICE_GONE);
	assert_int_equal(scanner_set_option(t.s, "feeder", "1"), SCANNER_DEVICE_GONE);
	scanner_cancel(t.s);
	assert_int_equal(scanner_read_lines(t.s, line, 1, &n), SCANNER_DEVICE_GONE);

	/* plugged in again: a new open works; the fault was used up */
	scanner_close(t.s);
	assert_int_equal(scanner_driver_open(t.drv, "sim", &t.s), SCANNER_OK);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 10);
	assert_int_equal(scan_ok(t.s), 10);
	sim_down(&t);

	/* a jam and a disappearance at the same line: the device is gone */
	xsnprintf(spec, sizeof(spec), "pages=%s;gone-after-lines=5;jam-after-lines=5", a);
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 10);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_DEVICE_GONE);
	assert_int_equal(pg.lines, 5);
	page_free(&pg);
	sim_down(&t);
}

static void test_cover_open(void **state)
{
	(void)state;
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], spec[PATH_MAX + 64];
	abc_pages(a, b, c, PATH_MAX);
	xsnprintf(spec, sizeof(spec), "pages=%s;cover-open", a);
	struct sim t;
	struct scanner_frame fr;
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 8);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_COVER_OPEN);
	scanner_end_document(t.s);
	configure_px(t.s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 300, 8, 8);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_COVER_OPEN);
	assert_int_equal(scanner_set_option(t.s, "cover-open", "0"), SCANNER_OK);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_INVALID); /* end_document first */
	scanner_end_document(t.s);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 8);
	assert_int_equal(scan_ok(t.s), 10); /* the feeder lost no sheet to the open cover */
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	sim_down(&t);
}

/* ---- cancel ------------------------------------------------------------- */

struct cancel_ctx {
	struct scanner *s;
	atomic_size_t lines;
	atomic_bool stop;
	size_t after_lines;
};

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *canceller(void *arg)
{
	struct cancel_ctx *ctx = arg;
	while (atomic_load(&ctx->lines) < ctx->after_lines && !atomic_load(&ctx->stop))
		sleep_ms(1);
	scanner_cancel(ctx->s);
	return NULL;
}

static void test_cancel_slow_page(void **state)
{
	(void)state;
	struct sim t;
	struct scanner_frame fr;
	pthread_t th;
	uint8_t line[3 * 40];
	size_t n;
	enum scanner_status st;
	sim_up(&t, "line-delay-us=5000");
	configure_px(t.s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_COLOR, 75, 40, 400);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_OK);
	assert_int_equal(fr.height, 400);

	struct cancel_ctx ctx = {.s = t.s, .after_lines = 3};
	atomic_init(&ctx.lines, 0);
	atomic_init(&ctx.stop, false);
	assert_int_equal(pthread_create(&th, NULL, canceller, &ctx), 0);
	while ((st = scanner_read_lines(t.s, line, 1, &n)) == SCANNER_OK)
		atomic_fetch_add(&ctx.lines, n);
	atomic_store(&ctx.stop, true);
	pthread_join(th, NULL);
	assert_int_equal(st, SCANNER_CANCELLED);
	assert_int_equal(n, 0);
	/* stopped near where it was asked to, far from the page's 400 lines */
	assert_true(atomic_load(&ctx.lines) >= 3);
	assert_true(atomic_load(&ctx.lines) < 100);

	assert_int_equal(scanner_read_lines(t.s, line, 1, &n), SCANNER_INVALID);
	scanner_end_document(t.s); /* clears the request */
	assert_int_equal(scanner_set_option(t.s, "line-delay-us", "0"), SCANNER_OK);
	assert_int_equal(scan_ok(t.s), 255);
	sim_down(&t);
}

/* Slow lines arrive one by one: a read takes the lines that are ready, not
 * the whole page at once. (Only a stall of a second could make it see all.) */
static void test_slow_lines_trickle(void **state)
{
	(void)state;
	struct sim t;
	struct scanner_frame fr;
	uint8_t buf[10 * 100];
	size_t n;
	sim_up(&t, "line-delay-us=10000");
	configure_px(t.s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 75, 10, 100);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_OK);
	assert_int_equal(scanner_read_lines(t.s, buf, 100, &n), SCANNER_OK);
	assert_true(n >= 1 && n < 100);
	scanner_cancel(t.s);
	assert_int_equal(scanner_read_lines(t.s, buf, 100, &n), SCANNER_CANCELLED);
	scanner_end_document(t.s);
	sim_down(&t);
}

/* A reader asleep on a ten-second line wakes for the cancel. (Were it not
 * woken, this test would take ten seconds, not fail: no clocks asserted.) */
static void test_cancel_wakes_sleeping_read(void **state)
{
	(void)state;
	struct sim t;
	struct scanner_frame fr;
	pthread_t th;
	uint8_t line[40];
	size_t n;
	sim_up(&t, "line-delay-us=10000000");
	configure_px(t.s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 75, 40, 10);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_OK);
	struct cancel_ctx ctx = {.s = t.s, .after_lines = 0};
	atomic_init(&ctx.lines, 0);
	atomic_init(&ctx.stop, false);
	sleep_ms(1);
	assert_int_equal(pthread_create(&th, NULL, canceller, &ctx), 0);
	assert_int_equal(scanner_read_lines(t.s, line, 10, &n), SCANNER_CANCELLED);
	assert_int_equal(n, 0);
	pthread_join(th, NULL);
	scanner_end_document(t.s);
	sim_down(&t);
}

static void test_cancel_when_idle(void **state)
{
	(void)state;
	struct sim t;
	struct scanner_frame fr;
	sim_up(&t, "");
	configure_px(t.s, SCANNER_SOURCE_FLATBED, SCANNER_MODE_GRAY, 75, 10, 10);
	scanner_cancel(t.s);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_CANCELLED);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_INVALID);
	scanner_end_document(t.s);
	assert_int_equal(scan_ok(t.s), 255);
	sim_down(&t);
}

/* ---- spec and options --------------------------------------------------- */

static void expect_bad_spec(const char *spec, const char *logged)
{
	log_clear();
	struct scanner_driver *drv = scanner_sim_create(spec, capture_log, NULL);
	if (drv)
		fail_msg("spec \"%s\" was accepted", spec);
	assert_logged(logged);
}

static void test_spec_errors(void **state)
{
	(void)state;
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], spec[PATH_MAX + 128], path[PATH_MAX];
	abc_pages(a, b, c, PATH_MAX);
	static const struct {
		const char *spec, *logged;
	} cases[] = {
	        {"bogus=1", "unknown key 'bogus'"},
	        {"Feeder=1", "unknown key 'Feeder'"},
	        {"feeder=3x", "feeder: '3x' is not a whole number from 0 to 100000"},
	        {"feeder=-1", "feeder: '-1'"},
	        {"feeder=+1", "feeder: '+1'"},
	        {"feeder= 1", "feeder: ' 1'"},
	        {"feeder=", "feeder: ''"},
	        {"feeder", "feeder: no value"},
	        {"feeder=100001", "feeder: '100001'"},
	        {"feeder=99999999999999999999999", "feeder: '9999"},
	        {"feeder=0x10", "feeder: '0x10'"},
	        {"jam-after-lines=abc", "jam-after-lines: 'abc' is not a whole number from 0 to "
	                                "1000000 (or off)"},
	        {"gone-after-lines=1.5", "gone-after-lines: '1.5'"},
	        {"line-delay-us=10000001", "line-delay-us: '10000001'"},
	        {"fault-page=0", "fault-page: '0' is not a whole number from 1"},
	        {"cover-open=maybe", "cover-open: 'maybe' is not 1/0"},
	        {"duplex=", "duplex: ''"},
	        {"pages=", "pages: needs a list"},
	        {"pages", "pages: needs a list"},
	        {"pages=/nonexistent/x.png",
	         "pages: /nonexistent/x.png: No such file or directory"},
	        {"feeder=1;feeder=2", "feeder: given twice"},
	        {"feeder=1;;duplex", "spec item 2 is empty"},
	        {";", "spec item 1 is empty"},
	        {"=3", "no key before '='"},
	        {"feeder=1\nbogus", "feeder: '1?bogus'"}, /* no raw newline in the log */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_bad_spec(cases[i].spec, cases[i].logged);

	xsnprintf(spec, sizeof(spec), "pages=%s,,%s", a, b);
	expect_bad_spec(spec, "pages: empty file name");
	xsnprintf(spec, sizeof(spec), "pages=%s,", a);
	expect_bad_spec(spec, "pages: empty file name");

	/* a file that is not an image, and a directory without images */
	write_file(tmp_path(path, sizeof(path), "notes.txt"), "hello\n", 6);
	xsnprintf(spec, sizeof(spec), "pages=%s", path);
	expect_bad_spec(spec, "notes.txt: not a PNG, JPEG or PNM image");
	write_file(tmp_path(path, sizeof(path), "broken.png"), "\x89PNG\r\n\x1a\n\0\0", 10);
	xsnprintf(spec, sizeof(spec), "pages=%s", path);
	expect_bad_spec(spec, "broken.png: PNG");
	tmp_path(path, sizeof(path), "empty_dir");
	assert_int_equal(mkdir(path, 0700), 0);
	xsnprintf(spec, sizeof(spec), "pages=%s", path);
	expect_bad_spec(spec, "empty_dir: no *.png");
	/* a FIFO is not a regular file: refused without blocking on it */
	tmp_path(path, sizeof(path), "fifo.png");
	assert_int_equal(mkfifo(path, 0600), 0);
	xsnprintf(spec, sizeof(spec), "pages=%s", path);
	expect_bad_spec(spec, "fifo.png: not a regular file");

	/* and what is fine */
	static const char *const good[] = {
	        NULL,
	        "",
	        "feeder=1;",
	        "duplex",
	        "duplex=0",
	        "cover-open=yes",
	        "jam-after-lines=off",
	        "gone-after-lines=0;fault-page=100000;line-delay-us=0;feeder=100000",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct scanner_driver *drv = scanner_sim_create(good[i], capture_log, NULL);
		if (!drv)
			fail_msg("spec \"%s\" refused:\n%s", good[i] ? good[i] : "(null)", logbuf);
		scanner_driver_destroy(drv);
	}
}

static void test_set_option(void **state)
{
	(void)state;
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], list[2 * PATH_MAX + 2];
	abc_pages(a, b, c, PATH_MAX);
	struct sim t;
	struct page pg = {0};
	struct scanner_frame fr;
	sim_up(&t, "");
	assert_int_equal(scanner_set_option(t.s, "bogus", "1"), SCANNER_UNSUPPORTED);
	assert_logged("unknown option 'bogus'");
	assert_int_equal(scanner_set_option(t.s, "feeder", "x"), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(t.s, "feeder", ""), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(t.s, "duplex", ""), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(t.s, "pages", "/nonexistent.png"), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(t.s, "pages", ""), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(t.s, NULL, "1"), SCANNER_INVALID);
	assert_int_equal(scanner_set_option(t.s, "feeder", NULL), SCANNER_INVALID);
	/* the failures above changed nothing: still no paper */
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 10);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);

	xsnprintf(list, sizeof(list), "%s,%s", b, c);
	assert_int_equal(scanner_set_option(t.s, "pages", list), SCANNER_OK);
	assert_int_equal(scanner_set_option(t.s, "feeder", "3"), SCANNER_OK);
	assert_int_equal(scanner_set_option(t.s, "jam-after-lines", "2"), SCANNER_OK);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_JAMMED);
	assert_int_equal(pg.lines, 2);
	scanner_end_document(t.s);
	assert_int_equal(scanner_set_option(t.s, "fault-page", "2"), SCANNER_OK);
	assert_int_equal(scanner_set_option(t.s, "gone-after-lines", "3"), SCANNER_OK);
	assert_int_equal(scanner_set_option(t.s, "gone-after-lines", "off"), SCANNER_OK);
	assert_int_equal(scanner_set_option(t.s, "line-delay-us", "1"), SCANNER_OK);
	assert_int_equal(scan_ok(t.s), 30); /* page 1 since re-arming; the sheet after b */
	assert_int_equal(scan_ok(t.s), 20); /* page 2, but the fault was switched off */
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	assert_int_equal(scanner_set_option(t.s, "cover-open", "on"), SCANNER_OK);
	assert_int_equal(scanner_set_option(t.s, "feeder", "1"), SCANNER_OK);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_COVER_OPEN);
	scanner_end_document(t.s);
	assert_int_equal(scanner_set_option(t.s, "cover-open", "false"), SCANNER_OK);
	assert_int_equal(scanner_set_option(t.s, "duplex", "true"), SCANNER_OK);
	assert_int_equal(scanner_set_option(t.s, "pages", a), SCANNER_OK);
	assert_int_equal(scan_ok(t.s), 10);
	assert_int_equal(scan_ok(t.s), 10); /* the back, cycling the one file */
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	page_free(&pg);
	sim_down(&t);
}

/* ---- file formats ------------------------------------------------------- */

static void scan_file_expect(const char *path, enum scanner_mode mode, uint32_t w, uint32_t h,
                             const uint8_t *want, int tolerance)
{
	char spec[PATH_MAX + 64];
	struct sim t;
	struct page pg = {0};
	xsnprintf(spec, sizeof(spec), "pages=%s", path);
	sim_up(&t, spec);
	configure_px(t.s, SCANNER_SOURCE_FLATBED, mode, 300, w, h);
	assert_int_equal(scan_page(t.s, &pg), SCANNER_PAGE_DONE);
	for (size_t i = 0; i < (size_t)h * pg.frame.stride; i++) {
		int d = (int)pg.px[i] - (int)want[i];
		if (d > tolerance || d < -tolerance)
			fail_msg("%s: sample %zu is %u, want %u", path, i, pg.px[i], want[i]);
	}
	page_free(&pg);
	sim_down(&t);
}

static void test_pnm_files(void **state)
{
	(void)state;
	char path[PATH_MAX];
	/* P5 with a comment, maxval 255 */
	static const char p5[] = "P5\n# made by hand\n3 2\n255\n\x00\x40\x80\xc0\xff\x01";
	const uint8_t want5[] = {0x00, 0x40, 0x80, 0xc0, 0xff, 0x01};
	write_file(tmp_path(path, sizeof(path), "g.pgm"), p5, sizeof(p5) - 1);
	scan_file_expect(path, SCANNER_MODE_GRAY, 3, 2, want5, 0);

	/* P5 maxval 15: scaled to 0..255 */
	static const char p5_15[] = "P5 2 1 15 \x00\x0f";
	const uint8_t want5_15[] = {0, 255};
	write_file(tmp_path(path, sizeof(path), "g15.pnm"), p5_15, sizeof(p5_15) - 1);
	scan_file_expect(path, SCANNER_MODE_GRAY, 2, 1, want5_15, 0);

	/* P6 */
	static const char p6[] = "P6\n2 1\n255\n\xff\x00\x00\x00\x00\xff";
	const uint8_t want6[] = {0xff, 0, 0, 0, 0, 0xff};
	write_file(tmp_path(path, sizeof(path), "c.ppm"), p6, sizeof(p6) - 1);
	scan_file_expect(path, SCANNER_MODE_COLOR, 2, 1, want6, 0);

	/* P4: 1 is black, rows padded to a byte */
	static const char p4[] = "P4\n10 2\n\xa0\x40\x00\xc0";
	const uint8_t want4[] = {0,   255, 0,   255, 255, 255, 255, 255, 255, 0,
	                         255, 255, 255, 255, 255, 255, 255, 255, 0,   0};
	write_file(tmp_path(path, sizeof(path), "b.pbm"), p4, sizeof(p4) - 1);
	scan_file_expect(path, SCANNER_MODE_GRAY, 10, 2, want4, 0);

	/* P2 and P3, plain */
	static const char p2[] = "P2\n2 2\n100\n0 100\n50 # half\n 25\n";
	const uint8_t want2[] = {0, 255, 128, 64};
	write_file(tmp_path(path, sizeof(path), "plain.pgm"), p2, sizeof(p2) - 1);
	scan_file_expect(path, SCANNER_MODE_GRAY, 2, 2, want2, 0);
	static const char p3[] = "P3 1 1 255 10 20 30";
	const uint8_t want3[] = {10, 20, 30};
	write_file(tmp_path(path, sizeof(path), "plain.ppm"), p3, sizeof(p3) - 1);
	scan_file_expect(path, SCANNER_MODE_COLOR, 1, 1, want3, 0);
}

static void test_jpeg_files(void **state)
{
	(void)state;
	char path[PATH_MAX];
	uint8_t *grey = filled(16 * 8, 100);
	write_jpeg(tmp_path(path, sizeof(path), "g.jpg"), 16, 8, 1, 0, grey);
	uint8_t *want = filled(16 * 8, 100);
	scan_file_expect(path, SCANNER_MODE_GRAY, 16, 8, want, 2);
	free(want);

	uint8_t rgb[8 * 8 * 3];
	for (size_t i = 0; i < sizeof(rgb); i += 3) {
		rgb[i] = 200;
		rgb[i + 1] = 60;
		rgb[i + 2] = 30;
	}
	write_jpeg(tmp_path(path, sizeof(path), "c.jpeg"), 8, 8, 3, 0, rgb);
	scan_file_expect(path, SCANNER_MODE_COLOR, 8, 8, rgb, 4);

	/* JFIF 150 dpi: at 300 dpi the 16 x 8 sheet covers 32 x 16 pixels */
	write_jpeg(tmp_path(path, sizeof(path), "g150.jpg"), 16, 8, 1, 150, grey);
	want = filled(34 * 17, 255);
	for (size_t y = 0; y < 16; y++)
		memset(want + y * 34, 100, 32);
	scan_file_expect(path, SCANNER_MODE_GRAY, 34, 17, want, 2);
	free(want);
	free(grey);
}

static void test_directory_of_pages(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 32], spec[PATH_MAX + 64];
	tmp_path(dir, sizeof(dir), "pagedir");
	assert_int_equal(mkdir(dir, 0700), 0);
	uint8_t *px = filled(4 * 4, 40);
	xsnprintf(path, sizeof(path), "%s/b.png", dir);
	write_png(path, 4, 4, 1, 300, px);
	xsnprintf(path, sizeof(path), "%s/.hidden.png", dir);
	write_png(path, 4, 4, 1, 300, px);
	xsnprintf(path, sizeof(path), "%s/a.pnm", dir);
	write_file(path,
	           "P5 4 4 255\n\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14",
	           27);
	memset(px, 60, 16);
	xsnprintf(path, sizeof(path), "%s/C.JPG", dir);
	write_jpeg(path, 4, 4, 1, 0, px);
	xsnprintf(path, sizeof(path), "%s/notes.txt", dir);
	write_file(path, "x", 1);
	xsnprintf(path, sizeof(path), "%s/sub.png", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	free(px);

	/* byte order: C.JPG < a.pnm < b.png */
	xsnprintf(spec, sizeof(spec), "pages=%s/", dir);
	struct sim t;
	struct scanner_frame fr;
	sim_up(&t, spec);
	assert_logged("3 page file(s), 3 sheet(s)");
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 4, 4);
	uint8_t v = scan_ok(t.s);
	assert_true(v >= 58 && v <= 62);
	assert_int_equal(scan_ok(t.s), 20);
	assert_int_equal(scan_ok(t.s), 40);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	sim_down(&t);
}

/* A page that breaks after create: start_page says I/O error, the log says
 * which file and why, and the device carries on with the next sheet. */
static void test_broken_file_at_start(void **state)
{
	(void)state;
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], spec[2 * PATH_MAX + 64];
	grey_png(a, sizeof(a), "later_broken.png", 8, 8, 77);
	grey_png(b, sizeof(b), "later_gone.png", 8, 8, 88);
	abc_pages(c, c, c, PATH_MAX); /* c = c.png */
	xsnprintf(spec, sizeof(spec), "pages=%s,%s,%s", a, b, c);
	struct sim t;
	struct scanner_frame fr;
	sim_up(&t, spec);
	write_file(a, "\x89PNG\r\n\x1a\n garbage", 17);
	assert_int_equal(unlink(b), 0);
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 300, 8, 8);
	log_clear();
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_IO_ERROR);
	assert_logged("later_broken.png: PNG");
	scanner_end_document(t.s);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_IO_ERROR);
	assert_logged("later_gone.png: No such file or directory");
	scanner_end_document(t.s);
	assert_int_equal(scan_ok(t.s), 30);
	sim_down(&t);
}

static void test_state_errors(void **state)
{
	(void)state;
	struct sim t;
	struct scanner_frame fr;
	uint8_t line[5 * 20]; /* the whole page */
	size_t n;
	sim_up(&t, "feeder=2");
	configure_px(t.s, SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 75, 20, 5);
	assert_int_equal(scanner_read_lines(t.s, line, 1, &n), SCANNER_INVALID);
	assert_int_equal(scanner_read_lines(t.s, line, 0, &n), SCANNER_INVALID);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_OK); /* a blank sheet */
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_INVALID);
	struct scanner_settings want = {SCANNER_SOURCE_FEEDER, SCANNER_MODE_GRAY, 75, 10, 10};
	assert_int_equal(scanner_configure(t.s, &want, NULL), SCANNER_INVALID);
	assert_int_equal(scanner_read_lines(t.s, line, 100, &n), SCANNER_OK);
	assert_int_equal(n, 5);
	assert_int_equal(scanner_read_lines(t.s, line, 1, &n), SCANNER_PAGE_DONE);
	assert_int_equal(scanner_read_lines(t.s, line, 1, &n), SCANNER_PAGE_DONE);
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_OK); /* the next sheet */
	scanner_end_document(t.s);
	scanner_end_document(t.s); /* idle: harmless */
	assert_int_equal(scanner_start_page(t.s, &fr), SCANNER_FEEDER_EMPTY);
	sim_down(&t);
}

/* ---- the image loader directly ------------------------------------------ */

static enum sim_image_status load_mem(const void *data, size_t size, struct sim_image *img)
{
	char why[256];
	return sim_image_load_memory(img, data, size, NULL, why, sizeof(why));
}

static void test_image_memory(void **state)
{
	(void)state;
	struct sim_image img;
	char why[256];

	assert_int_equal(load_mem("", 0, &img), SIM_IMAGE_FORMAT);
	assert_int_equal(load_mem("GIF89a", 6, &img), SIM_IMAGE_FORMAT);
	assert_int_equal(load_mem("P1 1 1 0", 8, &img), SIM_IMAGE_FORMAT);
	assert_int_equal(load_mem("P7\n", 3, &img), SIM_IMAGE_FORMAT);
	assert_int_equal(load_mem("P5 1 1 65535 \0\0", 15, &img), SIM_IMAGE_FORMAT);
	assert_int_equal(load_mem("P5 1 1 0 \0", 10, &img), SIM_IMAGE_CORRUPT);
	assert_int_equal(load_mem("P5 0 1 255 ", 11, &img), SIM_IMAGE_CORRUPT);
	assert_int_equal(load_mem("P5 10001 1 255 ", 15, &img), SIM_IMAGE_TOO_LARGE);
	assert_int_equal(load_mem("P5 1 14001 255 ", 15, &img), SIM_IMAGE_TOO_LARGE);
	assert_int_equal(load_mem("P5 99999999999999999999 1 255 ", 30, &img), SIM_IMAGE_TOO_LARGE);
	assert_int_equal(load_mem("P5 2 2 255 \1\2\3", 14, &img), SIM_IMAGE_CORRUPT);
	assert_int_equal(load_mem("P5 2 1 9 \1\12", 11, &img), SIM_IMAGE_CORRUPT);
	assert_int_equal(load_mem("P5 2x 1 255 \1\2", 14, &img), SIM_IMAGE_CORRUPT);
	assert_int_equal(load_mem("P2 2 1 9 1 10", 13, &img), SIM_IMAGE_CORRUPT);
	assert_int_equal(load_mem("P2 2 1 9 1", 10, &img), SIM_IMAGE_CORRUPT);
	assert_int_equal(load_mem("P4 9 1 \xff", 8, &img), SIM_IMAGE_CORRUPT);
	assert_null(img.pixels);
	assert_int_equal(img.width, 0);

	assert_int_equal(load_mem("P6 2 1 255\n\1\2\3\4\5\6", 17, &img), SIM_IMAGE_OK);
	assert_int_equal(img.format, SIM_IMAGE_FORMAT_PNM);
	assert_int_equal(img.width, 2);
	assert_int_equal(img.height, 1);
	assert_int_equal(img.channels, 3);
	assert_int_equal(img.xdpi, 300);
	assert_false(img.dpi_recorded);
	assert_memory_equal(img.pixels, "\1\2\3\4\5\6", 6);
	sim_image_finish(&img);
	assert_null(img.pixels);
	sim_image_finish(&img);

	/* a PNG from memory, header only and whole; then cut short */
	char path[PATH_MAX];
	uint8_t px[64 * 64];
	for (size_t i = 0; i < sizeof(px); i++)
		px[i] = (uint8_t)(i * 7);
	write_png(tmp_path(path, sizeof(path), "mem.png"), 64, 64, 1, 200, px);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t buf[16384];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_true(len > 100 && len < sizeof(buf));
	struct sim_image_opts head = {.header_only = true};
	assert_int_equal(sim_image_load_memory(&img, buf, len, &head, why, sizeof(why)),
	                 SIM_IMAGE_OK);
	assert_int_equal(img.width, 64);
	assert_int_equal(img.channels, 1);
	assert_int_equal(img.xdpi, 200);
	assert_true(img.dpi_recorded);
	assert_null(img.pixels);
	sim_image_finish(&img);
	assert_int_equal(load_mem(buf, len, &img), SIM_IMAGE_OK);
	assert_memory_equal(img.pixels, px, sizeof(px));
	sim_image_finish(&img);
	struct sim_image_opts small = {.max_width = 63};
	assert_int_equal(sim_image_load_memory(&img, buf, len, &small, why, sizeof(why)),
	                 SIM_IMAGE_TOO_LARGE);
	assert_non_null(strstr(why, "64x64"));
	/* a pHYs with a bad CRC is ignored, as libpng ignores it */
	uint8_t *phys = memmem(buf, len, "pHYs", 4);
	assert_non_null(phys);
	phys[4] ^= 0x01;
	assert_int_equal(load_mem(buf, len, &img), SIM_IMAGE_OK);
	assert_false(img.dpi_recorded);
	assert_int_equal(img.xdpi, 300);
	sim_image_finish(&img);
	phys[4] ^= 0x01;
	assert_int_equal(load_mem(buf, len - 20, &img), SIM_IMAGE_CORRUPT);
	assert_null(img.pixels);
	assert_int_equal(load_mem(buf, 30, &img), SIM_IMAGE_CORRUPT);
	buf[len / 2] ^= 0x55; /* a flipped bit inside IDAT: bad CRC or bad deflate */
	assert_int_equal(load_mem(buf, len, &img), SIM_IMAGE_CORRUPT);

	/* a JPEG cut short is refused, not filled up with grey */
	write_jpeg(tmp_path(path, sizeof(path), "mem.jpg"), 64, 64, 1, 0, px);
	f = fopen(path, "rb");
	assert_non_null(f);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(load_mem(buf, len, &img), SIM_IMAGE_OK);
	assert_int_equal(img.format, SIM_IMAGE_FORMAT_JPEG);
	sim_image_finish(&img);
	assert_int_equal(load_mem(buf, len / 2, &img), SIM_IMAGE_CORRUPT);
	assert_null(img.pixels);

	/* files that are not regular files are refused before they are read */
	assert_int_equal(sim_image_load_file(&img, "/dev/zero", NULL, why, sizeof(why)),
	                 SIM_IMAGE_IO);
	assert_int_equal(sim_image_load_file(&img, workdir, NULL, why, sizeof(why)), SIM_IMAGE_IO);
	assert_string_equal(why, "not a regular file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_create_list_open),
	        cmocka_unit_test(test_caps),
	        cmocka_unit_test(test_configure_rounds_and_clamps),
	        cmocka_unit_test(test_frame_dimensions),
	        cmocka_unit_test(test_downsample_and_pad),
	        cmocka_unit_test(test_upsample_from_phys),
	        cmocka_unit_test(test_modes_synthetic),
	        cmocka_unit_test(test_real_grey_page_in_colour),
	        cmocka_unit_test(test_real_rgb_page),
	        cmocka_unit_test(test_real_pages_directory),
	        cmocka_unit_test(test_feeder_cycles_then_empty),
	        cmocka_unit_test(test_feeder_zero),
	        cmocka_unit_test(test_flatbed_repeats_first_page),
	        cmocka_unit_test(test_duplex_order),
	        cmocka_unit_test(test_jam_after_lines),
	        cmocka_unit_test(test_fault_page),
	        cmocka_unit_test(test_device_gone),
	        cmocka_unit_test(test_cover_open),
	        cmocka_unit_test(test_slow_lines_trickle),
	        cmocka_unit_test(test_cancel_slow_page),
	        cmocka_unit_test(test_cancel_wakes_sleeping_read),
	        cmocka_unit_test(test_cancel_when_idle),
	        cmocka_unit_test(test_spec_errors),
	        cmocka_unit_test(test_set_option),
	        cmocka_unit_test(test_pnm_files),
	        cmocka_unit_test(test_jpeg_files),
	        cmocka_unit_test(test_directory_of_pages),
	        cmocka_unit_test(test_broken_file_at_start),
	        cmocka_unit_test(test_state_errors),
	        cmocka_unit_test(test_image_memory),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
