/*
 * thumbnail.c - block means over the lines as they are read.
 *
 * Lines are first summed column by column into 16-bit sums (at most 8 lines of
 * 255: no overflow), a loop the compiler vectorises; once a band of `factor`
 * lines is in, each block's sum becomes one pixel. That is one add per byte of
 * the page, about a millisecond for an A4 colour page at 300 dpi.
 */
#include "thumbnail.h"

#include <stdlib.h>
#include <string.h>

#include "secmem.h"

typedef uint8_t u8x16 __attribute__((vector_size(16)));
typedef uint16_t u16x16 __attribute__((vector_size(32)));

/* Thumbnails are for a screen: a page's bound keeps a hostile frame small. */
#define MAX_THUMB_BYTES ((size_t)64 << 20)

int thumbnail_init(struct thumbnail *t, uint32_t width, int32_t height, uint32_t channels,
                   uint32_t min_side)
{
	*t = (struct thumbnail){0};
	if (width == 0 || (channels != 1 && channels != 3) || height == 0 || height < -1)
		return -1;
	uint32_t longer = height > 0 && (uint32_t)height > width ? (uint32_t)height : width;
	t->factor = 8;
	while (t->factor > 1 && longer / t->factor < min_side)
		t->factor /= 2;
	t->width = width;
	t->channels = channels;
	t->out_w = (width + t->factor - 1) / t->factor;
	t->colsum = calloc((size_t)width * channels, sizeof(*t->colsum));
	if (!t->colsum)
		return -1;
	if (height > 0) {
		size_t rows = ((size_t)height + t->factor - 1) / t->factor;
		size_t bytes = rows * t->out_w * 3;
		if (bytes > MAX_THUMB_BYTES || secmem_grow(&t->rgb, &t->cap, bytes, bytes) < 0) {
			thumbnail_finish(t);
			return -1;
		}
	}
	return 0;
}

/* One output row from the band's column sums; the sums are cleared. */
static void emit_row(struct thumbnail *t)
{
	size_t need = ((size_t)t->rows + 1) * t->out_w * 3;
	if (need > t->cap) {
		size_t want = t->cap ? t->cap * 2 : (size_t)t->out_w * 3 * 64;
		if (want < need)
			want = need;
		if (want > MAX_THUMB_BYTES)
			want = MAX_THUMB_BYTES;
		if (secmem_grow(&t->rgb, &t->cap, want, MAX_THUMB_BYTES) < 0 || need > t->cap) {
			t->failed = true;
			return;
		}
	}
	uint8_t *out = t->rgb + (size_t)t->rows * t->out_w * 3;
	const uint32_t ch = t->channels;
	for (uint32_t bx = 0; bx < t->out_w; bx++) {
		uint32_t x0 = bx * t->factor;
		uint32_t x1 = x0 + t->factor < t->width ? x0 + t->factor : t->width;
		uint32_t n = (x1 - x0) * t->band_lines;
		uint32_t r = 0, g = 0, b = 0;
		const uint16_t *col = t->colsum + (size_t)x0 * ch;
		if (ch == 3) {
			for (uint32_t x = x0; x < x1; x++, col += 3) {
				r += col[0];
				g += col[1];
				b += col[2];
			}
		} else {
			for (uint32_t x = x0; x < x1; x++, col++)
				r += col[0];
			g = b = r;
		}
		out[(size_t)bx * 3 + 0] = (uint8_t)((r + n / 2) / n);
		out[(size_t)bx * 3 + 1] = (uint8_t)((g + n / 2) / n);
		out[(size_t)bx * 3 + 2] = (uint8_t)((b + n / 2) / n);
	}
	memset(t->colsum, 0, (size_t)t->width * ch * sizeof(*t->colsum));
	t->band_lines = 0;
	t->rows++;
}

void thumbnail_add(struct thumbnail *t, const uint8_t *lines, size_t count, size_t stride)
{
	if (t->failed || !t->colsum)
		return;
	const size_t n = (size_t)t->width * t->channels;
	uint16_t *restrict sum = t->colsum;
	for (size_t y = 0; y < count; y++) {
		const uint8_t *restrict line = lines + y * stride;
		/* Vector adds, 16 bytes at a time: the compiler leaves the plain loop
		 * scalar at -O2, and this is one add for every byte of the page. */
		size_t i = 0;
		for (; i + 16 <= n; i += 16) {
			u8x16 px;
			u16x16 acc;
			memcpy(&px, line + i, sizeof(px));
			memcpy(&acc, sum + i, sizeof(acc));
			acc += __builtin_convertvector(px, u16x16);
			memcpy(sum + i, &acc, sizeof(acc));
		}
		for (; i < n; i++)
			sum[i] = (uint16_t)(sum[i] + line[i]);
		if (++t->band_lines == t->factor) {
			emit_row(t);
			if (t->failed)
				return;
		}
	}
}

int thumbnail_take(struct thumbnail *t, uint8_t **rgb, uint32_t *w, uint32_t *h)
{
	if (!t->failed && t->band_lines > 0)
		emit_row(t);
	int rc = -1;
	if (!t->failed && t->rows > 0) {
		*rgb = t->rgb;
		*w = t->out_w;
		*h = t->rows;
		/* The caller frees by the used size: the rest must already be zero. */
		size_t used = (size_t)t->rows * t->out_w * 3;
		secmem_zero(t->rgb + used, t->cap - used);
		t->rgb = NULL;
		t->cap = 0;
		rc = 0;
	}
	thumbnail_finish(t);
	return rc;
}

void thumbnail_finish(struct thumbnail *t)
{
	if (t->colsum)
		secmem_free(t->colsum, (size_t)t->width * t->channels * sizeof(*t->colsum));
	secmem_free(t->rgb, t->cap);
	t->colsum = NULL;
	t->rgb = NULL;
	t->cap = 0;
}

void thumbnail_to_gray(uint8_t *rgb, size_t pixels)
{
	for (size_t i = 0; i < pixels; i++, rgb += 3) {
		uint8_t y = (uint8_t)((77 * rgb[0] + 150 * rgb[1] + 29 * rgb[2] + 128) >> 8);
		rgb[0] = rgb[1] = rgb[2] = y;
	}
}
