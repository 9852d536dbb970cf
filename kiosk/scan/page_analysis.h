/*
 * page_analysis.h - the facts a page's pixels tell, gathered line by line while
 * the page is read: is it colour, is it blank.
 *
 * Both measures look at the inner area only: a margin of 1/16 of the page on
 * each side is left out, because the scanner's lid, the edge of a skewed sheet
 * and the shadow of the glass's frame are dark and sometimes tinted there. Every
 * second pixel of every fourth line is examined: the measures are shares of the
 * page, print and stamps are larger than that grid at any resolution a kiosk
 * uses, and this runs on the scan path.
 */
#ifndef SCANKIOSK_PAGE_ANALYSIS_H
#define SCANKIOSK_PAGE_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A pixel counts as ink when its luma is below this (paper is 230..255). */
#define PAGE_INK_LUMA 160
/* A pixel counts as coloured when max(R,G,B) - min(R,G,B) exceeds this: well
 * above the tint of recycled paper and a scanner's colour fringes. */
#define PAGE_COLOR_CHROMA 48
/* A page is colour when more than this share of its inner pixels is coloured. */
#define PAGE_COLOR_SHARE 0.0005
/* A page looks blank when less than this share of its inner area is ink. */
#define PAGE_BLANK_SHARE 0.0005

struct page_line_counts {
	uint32_t ink;
	uint32_t color;
};

struct page_analysis {
	uint32_t width;
	uint32_t channels;
	uint32_t x0, x1;                 /* inner columns [x0, x1) */
	uint32_t lines;                  /* lines seen */
	struct page_line_counts *counts; /* one entry per examined line */
	size_t count_len, count_cap;
	uint32_t examined_pixels_per_line;
	bool failed; /* out of memory: verdict says colour, not blank */
};

struct page_verdict {
	double color_score; /* share of coloured inner pixels */
	double blank_score; /* share of inner area covered by ink */
	bool is_color;
	bool blank;
};

void page_analysis_init(struct page_analysis *a, uint32_t width, uint32_t channels);
/* Feeds count lines of width * channels bytes, stride bytes apart. */
void page_analysis_add(struct page_analysis *a, const uint8_t *lines, size_t count, size_t stride);
/* The verdict over the lines seen; the page's height is the number of lines fed. */
void page_analysis_verdict(const struct page_analysis *a, struct page_verdict *v);
void page_analysis_finish(struct page_analysis *a);

#endif
