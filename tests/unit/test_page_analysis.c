/*
 * test_page_analysis.c - the page facts and JPEG steps on real document pages:
 * colour pages stay colour, grey ones become grey, the blank back side is
 * flagged, the grey conversion keeps luminance exactly, thumbnails are scaled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "jpeg.h"
#include "page_analysis.h"
#include "secmem.h"
#include "thumbnail.h"

struct image {
	uint8_t *px;
	uint32_t w, h, channels;
};

static const char *pages_dir(void)
{
	const char *d = getenv("SCANKIOSK_PAGES_DIR");
	return d && *d ? d : "../shared/pages";
}

static void load_png(const char *name, uint32_t channels, struct image *img)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", pages_dir(), name);
	png_image pi;
	memset(&pi, 0, sizeof(pi));
	pi.version = PNG_IMAGE_VERSION;
	assert_true(png_image_begin_read_from_file(&pi, path));
	pi.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
	img->w = pi.width;
	img->h = pi.height;
	img->channels = channels;
	img->px = malloc(PNG_IMAGE_SIZE(pi));
	assert_non_null(img->px);
	assert_true(png_image_finish_read(&pi, NULL, img->px, 0, NULL));
}

static void analyse(const struct image *img, struct page_verdict *v)
{
	struct page_analysis a;
	page_analysis_init(&a, img->w, img->channels);
	size_t stride = (size_t)img->w * img->channels;
	/* In uneven chunks, as a scanner delivers them. */
	for (uint32_t y = 0; y < img->h;) {
		uint32_t n = 1 + (y % 37);
		if (n > img->h - y)
			n = img->h - y;
		page_analysis_add(&a, img->px + (size_t)y * stride, n, stride);
		y += n;
	}
	page_analysis_verdict(&a, v);
	page_analysis_finish(&a);
}

struct manifest_row {
	char file[64];
	bool color;
	bool blank;
};

static size_t read_manifest(struct manifest_row *rows, size_t max)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/MANIFEST.tsv", pages_dir());
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[2048];
	size_t n = 0;
	assert_non_null(fgets(line, sizeof(line), f)); /* header */
	while (n < max && fgets(line, sizeof(line), f)) {
		char file[64], kind[64], colour[16], blank[8];
		if (sscanf(line, "%63s %63s %15s %7s", file, kind, colour, blank) != 4)
			continue;
		snprintf(rows[n].file, sizeof(rows[n].file), "%s", file);
		rows[n].color = !strcmp(colour, "color");
		rows[n].blank = !strcmp(blank, "yes");
		n++;
	}
	fclose(f);
	return n;
}

/* Every reference page scanned in colour: the colour ones stay colour, the grey
 * ones are found grey; only the blank back side is blank. */
static void test_reference_pages_colour_and_blank(void **state)
{
	(void)state;
	struct manifest_row rows[16];
	size_t n = read_manifest(rows, 16);
	assert_int_equal(n, 8);
	size_t colour_pages = 0, blank_pages = 0;
	for (size_t i = 0; i < n; i++) {
		struct image img;
		load_png(rows[i].file, 3, &img);
		struct page_verdict v;
		analyse(&img, &v);
		printf("# %-24s color %.5f blank %.5f -> %s%s\n", rows[i].file, v.color_score,
		       v.blank_score, v.is_color ? "color" : "gray", v.blank ? ", blank" : "");
		assert_int_equal(v.is_color, rows[i].color);
		assert_int_equal(v.blank, rows[i].blank);
		colour_pages += v.is_color;
		blank_pages += v.blank;
		free(img.px);
	}
	assert_int_equal(colour_pages, 2);
	assert_int_equal(blank_pages, 1);
}

/* The same pages read as grey are never colour, and blankness does not change. */
static void test_gray_input_is_never_colour(void **state)
{
	(void)state;
	const char *names[] = {"s04_sicknote.png", "s07_blank_back.png"};
	for (size_t i = 0; i < 2; i++) {
		struct image img;
		load_png(names[i], 1, &img);
		struct page_verdict v;
		analyse(&img, &v);
		assert_false(v.is_color);
		assert_float_equal(v.color_score, 0.0, 0.0);
		assert_int_equal(v.blank, i == 1);
		free(img.px);
	}
}

/* A white page with one small stamp, coloured or not, in the inner area. */
static void make_stamp_page(struct image *img, uint8_t r, uint8_t g, uint8_t b, uint32_t size)
{
	img->w = 1240;
	img->h = 1754;
	img->channels = 3;
	img->px = malloc((size_t)img->w * img->h * 3);
	assert_non_null(img->px);
	memset(img->px, 255, (size_t)img->w * img->h * 3);
	for (uint32_t y = 800; y < 800 + size; y++)
		for (uint32_t x = 600; x < 600 + size; x++) {
			uint8_t *p = img->px + ((size_t)y * img->w + x) * 3;
			p[0] = r;
			p[1] = g;
			p[2] = b;
		}
}

static void test_small_stamp_decides(void **state)
{
	(void)state;
	struct image img;
	struct page_verdict v;
	/* A blue stamp of 1.5 x 1.5 mm at 150 dpi is enough to keep colour. */
	make_stamp_page(&img, 30, 60, 200, 40);
	analyse(&img, &v);
	assert_true(v.is_color);
	assert_false(v.blank);
	free(img.px);
	/* The same in dark grey is ink but no colour. */
	make_stamp_page(&img, 60, 60, 60, 40);
	analyse(&img, &v);
	assert_false(v.is_color);
	assert_false(v.blank);
	free(img.px);
	/* A faint yellowish tint (recycled paper) is neither colour nor ink. */
	make_stamp_page(&img, 250, 240, 215, 400);
	analyse(&img, &v);
	assert_false(v.is_color);
	assert_true(v.blank);
	free(img.px);
}

/* Dark borders (the lid, the glass's frame) are outside the inner area. */
static void test_dark_margin_is_ignored(void **state)
{
	(void)state;
	struct image img;
	make_stamp_page(&img, 255, 255, 255, 1);
	for (uint32_t y = 0; y < img.h; y++)
		memset(img.px + ((size_t)y * img.w + img.w - 60) * 3, 20, 60 * 3);
	memset(img.px, 20, (size_t)img.w * 3 * 80);
	struct page_verdict v;
	analyse(&img, &v);
	assert_true(v.blank);
	free(img.px);
}

static uint8_t *encode(const struct image *img, int quality, size_t *size)
{
	struct jpeg_stream *js = jpeg_stream_create(img->w, img->h, img->channels, 300, quality);
	assert_non_null(js);
	size_t stride = (size_t)img->w * img->channels;
	for (uint32_t y = 0; y < img->h; y += 100) {
		uint32_t n = img->h - y < 100 ? img->h - y : 100;
		assert_int_equal(jpeg_stream_write(js, img->px + (size_t)y * stride, n, stride), 0);
	}
	assert_int_equal(jpeg_stream_lines(js), img->h);
	uint8_t *out = NULL;
	assert_int_equal(jpeg_stream_finish(js, &out, size), 0);
	jpeg_stream_destroy(js);
	return out;
}

static uint8_t *decode_gray(const uint8_t *jpg, size_t size, uint32_t w, uint32_t h)
{
	tjhandle tj = tjInitDecompress();
	assert_non_null(tj);
	uint8_t *px = malloc((size_t)w * h);
	assert_non_null(px);
	assert_int_equal(
	        tjDecompress2(tj, jpg, (unsigned long)size, px, (int)w, 0, (int)h, TJPF_GRAY, 0),
	        0);
	tjDestroy(tj);
	return px;
}

/* The grey conversion keeps the colour JPEG's luminance bit for bit, is smaller,
 * and carries the resolution. */
static void test_gray_conversion_is_lossless(void **state)
{
	(void)state;
	struct image img;
	load_png("s01_payslip.png", 3, &img);
	size_t color_size, gray_size;
	size_t zeroed_before = jpeg_work_memory_zeroed();
	uint8_t *color = encode(&img, 75, &color_size);
	uint8_t *gray = NULL;
	assert_int_equal(jpeg_to_gray(color, color_size, &gray, &gray_size), 0);
	/* libjpeg's work memory went back through the zeroing release: at least
	 * the luminance coefficients of the page (2 bytes each). */
	assert_true(jpeg_work_memory_zeroed() - zeroed_before >= (size_t)img.w * img.h * 2);
	assert_true(gray_size < color_size);
	uint32_t w, h;
	int comps;
	assert_int_equal(jpeg_probe(gray, gray_size, &w, &h, &comps), 0);
	assert_int_equal(w, img.w);
	assert_int_equal(h, img.h);
	assert_int_equal(comps, 1);
	uint8_t *a = decode_gray(color, color_size, w, h);
	uint8_t *b = decode_gray(gray, gray_size, w, h);
	assert_memory_equal(a, b, (size_t)w * h);
	/* JFIF density: 300 dpi. */
	const uint8_t *app0 = gray + 2;
	assert_int_equal(app0[0], 0xFF);
	assert_int_equal(app0[1], 0xE0);
	assert_int_equal(app0[11], 1);
	assert_int_equal((app0[12] << 8) | app0[13], 300);
	/* A grey JPEG is refused: there is nothing to convert. */
	uint8_t *again = NULL;
	size_t again_size = 0;
	assert_int_equal(jpeg_to_gray(gray, gray_size, &again, &again_size), -1);
	assert_null(again);
	/* So is garbage. */
	assert_int_equal(jpeg_to_gray((const uint8_t *)"not a jpeg", 10, &again, &again_size), -1);
	free(a);
	free(b);
	secmem_free(color, color_size);
	secmem_free(gray, gray_size);
	free(img.px);
}

static void test_thumbnail_uses_dct_scaling(void **state)
{
	(void)state;
	struct image img;
	load_png("s05_certificate.png", 3, &img);
	size_t size;
	uint8_t *jpg = encode(&img, 75, &size);
	uint8_t *rgb;
	uint32_t w, h;
	assert_int_equal(jpeg_thumbnail(jpg, size, 256, &rgb, &w, &h), 0);
	/* 1/8 of 2480 x 3508, rounded up. */
	assert_int_equal(w, 310);
	assert_int_equal(h, 439);
	/* The certificate's colour survives in the thumbnail. */
	size_t coloured = 0;
	for (size_t i = 0; i < (size_t)w * h; i++) {
		const uint8_t *p = rgb + i * 3;
		int hi = p[0] > p[1] ? p[0] : p[1], lo = p[0] < p[1] ? p[0] : p[1];
		hi = hi > p[2] ? hi : p[2];
		lo = lo < p[2] ? lo : p[2];
		coloured += hi - lo > 48;
	}
	assert_true(coloured > 100);
	secmem_free(rgb, (size_t)w * h * 3);
	/* Asking for more gives the next larger scale that is enough: 3/8. */
	assert_int_equal(jpeg_thumbnail(jpg, size, 1000, &rgb, &w, &h), 0);
	assert_int_equal(w, 930);
	assert_int_equal(h, 1316);
	secmem_free(rgb, (size_t)w * h * 3);
	assert_int_equal(jpeg_thumbnail((const uint8_t *)"xx", 2, 256, &rgb, &w, &h), -1);
	secmem_free(jpg, size);
	free(img.px);
}

/* The thumbnail built from the lines shows what a 1/8 scaled decode of the
 * page's JPEG shows: the same size, and pixels that differ by the JPEG's loss
 * only. */
static void test_line_thumbnail_matches_scaled_decode(void **state)
{
	(void)state;
	struct image img;
	load_png("s05_certificate.png", 3, &img);
	size_t size;
	uint8_t *jpg = encode(&img, 75, &size);
	uint8_t *dec, *box;
	uint32_t dw, dh, bw, bh;
	assert_int_equal(jpeg_thumbnail(jpg, size, 256, &dec, &dw, &dh), 0);

	struct thumbnail t;
	assert_int_equal(thumbnail_init(&t, img.w, (int32_t)img.h, 3, 256), 0);
	size_t stride = (size_t)img.w * 3;
	for (uint32_t y = 0; y < img.h; y += 101) {
		uint32_t n = img.h - y < 101 ? img.h - y : 101;
		thumbnail_add(&t, img.px + (size_t)y * stride, n, stride);
	}
	assert_int_equal(thumbnail_take(&t, &box, &bw, &bh), 0);
	assert_int_equal(bw, dw);
	assert_int_equal(bh, dh);
	uint64_t diff = 0;
	for (size_t i = 0; i < (size_t)bw * bh * 3; i++)
		diff += (uint64_t)abs((int)box[i] - (int)dec[i]);
	double mean = (double)diff / ((double)bw * bh * 3);
	print_message("mean difference to the scaled decode: %.2f\n", mean);
	assert_true(mean < 3.0);
	secmem_free(dec, (size_t)dw * dh * 3);
	secmem_free(box, (size_t)bw * bh * 3);
	secmem_free(jpg, size);
	free(img.px);
}

/* Exact means on a small grey frame of unknown height whose sides are not
 * multiples of the factor; and a page smaller than min_side stays whole. */
static void test_line_thumbnail_edges(void **state)
{
	(void)state;
	enum { W = 21, H = 13 };
	uint8_t px[W * H];
	for (int i = 0; i < W * H; i++)
		px[i] = (uint8_t)(i * 7);
	struct thumbnail t;
	/* 21 / 8 >= 2: factor 8, 3 x 2 blocks, the last ones partial. */
	assert_int_equal(thumbnail_init(&t, W, -1, 1, 2), 0);
	for (int y = 0; y < H; y++)
		thumbnail_add(&t, px + y * W, 1, W);
	uint8_t *rgb;
	uint32_t w, h;
	assert_int_equal(thumbnail_take(&t, &rgb, &w, &h), 0);
	assert_int_equal(w, 3);
	assert_int_equal(h, 2);
	for (uint32_t by = 0; by < h; by++) {
		for (uint32_t bx = 0; bx < w; bx++) {
			unsigned sum = 0, n = 0;
			for (uint32_t y = by * 8; y < by * 8 + 8 && y < H; y++)
				for (uint32_t x = bx * 8; x < bx * 8 + 8 && x < W; x++, n++)
					sum += px[y * W + x];
			const uint8_t *p = rgb + ((size_t)by * w + bx) * 3;
			assert_int_equal(p[0], (sum + n / 2) / n);
			assert_int_equal(p[1], p[0]);
			assert_int_equal(p[2], p[0]);
		}
	}
	secmem_free(rgb, (size_t)w * h * 3);

	assert_int_equal(thumbnail_init(&t, W, H, 1, 256), 0);
	assert_int_equal(t.factor, 1);
	thumbnail_add(&t, px, H, W);
	assert_int_equal(thumbnail_take(&t, &rgb, &w, &h), 0);
	assert_int_equal(w, W);
	assert_int_equal(h, H);
	assert_int_equal(rgb[3 * 5], px[5]);
	secmem_free(rgb, (size_t)w * h * 3);

	/* No lines, or an unusable frame: no thumbnail, nothing leaked. */
	assert_int_equal(thumbnail_init(&t, W, H, 1, 8), 0);
	assert_int_equal(thumbnail_take(&t, &rgb, &w, &h), -1);
	assert_int_equal(thumbnail_init(&t, W, H, 2, 8), -1);
	assert_int_equal(thumbnail_init(&t, 0, H, 1, 8), -1);
	thumbnail_finish(&t);
}

struct collected {
	uint8_t *data;
	size_t len, cap;
	unsigned chunks;
};

static void collect_chunk(void *userdata, struct jpeg_chunk *chunk)
{
	struct collected *c = userdata;
	assert_true(chunk->len <= JPEG_CHUNK_BYTES);
	if (c->len + chunk->len > c->cap) {
		c->cap = (c->len + chunk->len) * 2;
		c->data = realloc(c->data, c->cap);
		assert_non_null(c->data);
	}
	memcpy(c->data + c->len, chunk->data, chunk->len);
	c->len += chunk->len;
	c->chunks++;
	jpeg_chunk_free(chunk);
}

struct pieces {
	const uint8_t *data;
	size_t len, at, piece;
};

/* Hands out the JPEG in small pieces of changing size. */
static bool give_piece(void *userdata, const uint8_t **data, size_t *len)
{
	struct pieces *p = userdata;
	if (p->at == p->len)
		return false;
	size_t n = p->piece++ % 97 + 1;
	if (n > p->len - p->at)
		n = p->len - p->at;
	*data = p->data + p->at;
	*len = n;
	p->at += n;
	return true;
}

/* Chunked output is the same JPEG as contiguous output, and a thumbnail decoded
 * from pieces is the same as one decoded from the whole. */
static void test_chunked_stream_and_pieces(void **state)
{
	(void)state;
	struct image img;
	load_png("s04_sicknote.png", 3, &img);
	size_t whole_size;
	uint8_t *whole = encode(&img, 75, &whole_size);

	struct collected c = {0};
	struct jpeg_stream *js =
	        jpeg_stream_create_chunked(img.w, img.h, 3, 300, 75, collect_chunk, &c);
	assert_non_null(js);
	size_t stride = (size_t)img.w * 3;
	for (uint32_t y = 0; y < img.h; y += 100) {
		uint32_t n = img.h - y < 100 ? img.h - y : 100;
		assert_int_equal(jpeg_stream_write(js, img.px + (size_t)y * stride, n, stride), 0);
	}
	uint8_t *none = (uint8_t *)1;
	size_t size = 0;
	assert_int_equal(jpeg_stream_finish(js, &none, &size), 0);
	jpeg_stream_destroy(js);
	assert_null(none);
	assert_int_equal(size, whole_size);
	assert_int_equal(c.len, whole_size);
	assert_true(c.chunks >= 2);
	assert_memory_equal(c.data, whole, whole_size);

	uint8_t *a, *b;
	uint32_t aw, ah, bw, bh;
	assert_int_equal(jpeg_thumbnail(whole, whole_size, 256, &a, &aw, &ah), 0);
	struct pieces p = {.data = c.data, .len = c.len};
	assert_int_equal(jpeg_thumbnail_from(give_piece, &p, 256, &b, &bw, &bh), 0);
	assert_int_equal(aw, bw);
	assert_int_equal(ah, bh);
	assert_memory_equal(a, b, (size_t)aw * ah * 3);
	secmem_free(a, (size_t)aw * ah * 3);
	secmem_free(b, (size_t)bw * bh * 3);

	/* A JPEG cut short still decodes (the rest grey), as libjpeg does. */
	struct pieces cut = {.data = c.data, .len = c.len / 2};
	assert_int_equal(jpeg_thumbnail_from(give_piece, &cut, 256, &b, &bw, &bh), 0);
	secmem_free(b, (size_t)bw * bh * 3);
	free(c.data);
	secmem_free(whole, whole_size);
	free(img.px);
}

/* A page that ends early is completed with white lines. */
static void test_short_page_is_padded_white(void **state)
{
	(void)state;
	struct jpeg_stream *js = jpeg_stream_create(64, 64, 1, 300, 90);
	assert_non_null(js);
	uint8_t black[64 * 16];
	memset(black, 0, sizeof(black));
	assert_int_equal(jpeg_stream_write(js, black, 16, 64), 0);
	uint8_t *out;
	size_t size;
	assert_int_equal(jpeg_stream_finish(js, &out, &size), 0);
	jpeg_stream_destroy(js);
	uint8_t *px = decode_gray(out, size, 64, 64);
	assert_true(px[5 * 64 + 5] < 10);
	assert_true(px[40 * 64 + 5] > 245);
	free(px);
	secmem_free(out, size);
	/* Bad arguments are refused. */
	assert_null(jpeg_stream_create(0, 10, 3, 300, 75));
	assert_null(jpeg_stream_create(10, 10, 2, 300, 75));
	assert_null(jpeg_stream_create(10, 10, 3, 300, 0));
	assert_null(jpeg_stream_create(10, 10, 3, 300, 101));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_reference_pages_colour_and_blank),
	        cmocka_unit_test(test_gray_input_is_never_colour),
	        cmocka_unit_test(test_small_stamp_decides),
	        cmocka_unit_test(test_dark_margin_is_ignored),
	        cmocka_unit_test(test_gray_conversion_is_lossless),
	        cmocka_unit_test(test_thumbnail_uses_dct_scaling),
	        cmocka_unit_test(test_line_thumbnail_matches_scaled_decode),
	        cmocka_unit_test(test_line_thumbnail_edges),
	        cmocka_unit_test(test_short_page_is_padded_white),
	        cmocka_unit_test(test_chunked_stream_and_pieces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
