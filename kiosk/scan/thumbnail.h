/*
 * thumbnail.h - a page's thumbnail, built from its lines while they are read.
 *
 * Each thumbnail pixel is the mean of a factor x factor block of page pixels:
 * the picture a 1/factor DCT-scaled decode of the page's JPEG shows (that is
 * the block's DC term), without entropy-decoding the JPEG again. Decoding even
 * at 1/8 scale reads every coefficient of the page, which cost more CPU than
 * encoding it and held a feeder batch to scanimage's pace (kiosk/scan/README.md).
 *
 * The factor is the largest of 8, 4, 2, 1 whose longer side is still at least
 * min_side, as libjpeg would pick it; sides round up (a part block is the mean
 * of the pixels it has).
 */
#ifndef SCANKIOSK_THUMBNAIL_H
#define SCANKIOSK_THUMBNAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct thumbnail {
	uint32_t width, channels, factor;
	uint32_t out_w;
	uint16_t *colsum;    /* width * channels sums of the current band's lines */
	uint32_t band_lines; /* lines in the current band */
	uint8_t *rgb;        /* finished rows, RGB */
	size_t cap;          /* bytes allocated at rgb */
	uint32_t rows;       /* finished rows */
	bool failed;         /* out of memory: no thumbnail for this page */
};

/* height may be -1 (unknown: the factor then follows the width). Returns 0 or
 * -1 (out of memory, or an unusable frame). */
__attribute__((warn_unused_result)) int thumbnail_init(struct thumbnail *t, uint32_t width,
                                                       int32_t height, uint32_t channels,
                                                       uint32_t min_side);

/* Feeds count lines of width * channels bytes, stride bytes apart. */
void thumbnail_add(struct thumbnail *t, const uint8_t *lines, size_t count, size_t stride);

/*
 * Completes the last band and hands the pixels over: *rgb is *w x *h packed
 * RGB (free with secmem_free(*rgb, *w * *h * 3)). Returns 0, or -1 when memory
 * ran short or no line came. Releases everything else either way.
 */
__attribute__((warn_unused_result)) int thumbnail_take(struct thumbnail *t, uint8_t **rgb,
                                                       uint32_t *w, uint32_t *h);

/* Frees what t holds, zeroed. Safe after thumbnail_take() and on a zeroed t. */
void thumbnail_finish(struct thumbnail *t);

/* Turns RGB pixels into their luma in place (a page stored grey). */
void thumbnail_to_gray(uint8_t *rgb, size_t pixels);

#endif
