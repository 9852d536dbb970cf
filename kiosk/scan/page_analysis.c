/*
 * page_analysis.c - colour and blank measures over a page's inner area.
 *
 * Counts are kept per examined line and summed at the end, so the vertical
 * margin can be left out even when the device does not know the page's height
 * in advance.
 */
#include "page_analysis.h"

#include <stdlib.h>
#include <string.h>

/* Limit of examined lines: a 432 mm page at 1200 dpi, every fourth line. */
#define MAX_COUNTED_LINES 10240

void page_analysis_init(struct page_analysis *a, uint32_t width, uint32_t channels)
{
	memset(a, 0, sizeof(*a));
	a->width = width;
	a->channels = channels;
	a->x0 = width / 16;
	a->x1 = width - width / 16;
	a->examined_pixels_per_line = (a->x1 - a->x0 + 1) / 2;
}

/* Every second pixel of every fourth line: the measures are shares of the
 * page, and print, stamps and rules cover far more than that grid at any
 * resolution a kiosk scans at; an eighth of the pixels keeps this off the scan
 * path's critical thread. */
static struct page_line_counts count_rgb(const uint8_t *p, uint32_t n)
{
	uint32_t ink = 0, color = 0;
	for (uint32_t i = 0; i < n; i += 2, p += 6) {
		int r = p[0], g = p[1], b = p[2];
		int hi = r > g ? r : g, lo = r < g ? r : g;
		hi = hi > b ? hi : b;
		lo = lo < b ? lo : b;
		/* ITU-R BT.601 luma, as libjpeg computes Y */
		ink += (77 * r + 150 * g + 29 * b) >> 8 < PAGE_INK_LUMA;
		color += hi - lo > PAGE_COLOR_CHROMA;
	}
	return (struct page_line_counts){.ink = ink, .color = color};
}

static struct page_line_counts count_gray(const uint8_t *p, uint32_t n)
{
	uint32_t ink = 0;
	for (uint32_t i = 0; i < n; i += 2)
		ink += p[i] < PAGE_INK_LUMA;
	return (struct page_line_counts){.ink = ink, .color = 0};
}

void page_analysis_add(struct page_analysis *a, const uint8_t *lines, size_t count, size_t stride)
{
	for (size_t i = 0; i < count; i++, a->lines++) {
		if (a->lines & 3 || a->failed)
			continue;
		if (a->count_len == a->count_cap) {
			size_t ncap = a->count_cap ? a->count_cap * 2 : 2048;
			struct page_line_counts *n = ncap <= MAX_COUNTED_LINES
			                                     ? realloc(a->counts, ncap * sizeof(*n))
			                                     : NULL;
			if (!n) {
				a->failed = true;
				continue;
			}
			a->counts = n;
			a->count_cap = ncap;
		}
		const uint8_t *row = lines + i * stride + (size_t)a->x0 * a->channels;
		uint32_t inner = a->x1 - a->x0;
		a->counts[a->count_len++] =
		        a->channels == 3 ? count_rgb(row, inner) : count_gray(row, inner);
	}
}

void page_analysis_verdict(const struct page_analysis *a, struct page_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (a->failed) {
		/* Without a measure, keep what was scanned and warn of nothing. */
		v->is_color = a->channels == 3;
		v->color_score = v->is_color ? 1.0 : 0.0;
		v->blank_score = 1.0;
		return;
	}
	size_t skip = a->count_len / 16;
	uint64_t ink = 0, color = 0, pixels = 0;
	for (size_t i = skip; i + skip < a->count_len; i++) {
		ink += a->counts[i].ink;
		color += a->counts[i].color;
		pixels += a->examined_pixels_per_line;
	}
	if (pixels) {
		v->blank_score = (double)ink / (double)pixels;
		v->color_score = (double)color / (double)pixels;
	}
	v->is_color = v->color_score > PAGE_COLOR_SHARE;
	v->blank = v->blank_score < PAGE_BLANK_SHARE;
}

void page_analysis_finish(struct page_analysis *a)
{
	free(a->counts);
	memset(a, 0, sizeof(*a));
}
