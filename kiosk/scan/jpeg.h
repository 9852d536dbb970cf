/*
 * jpeg.h - JPEG work on pages, all with libjpeg-turbo: a streaming encoder fed
 * line by line, a lossless colour-to-grey conversion in the DCT domain, and
 * thumbnails through scaled decoding.
 *
 * Every buffer that held page content is zeroed before it is freed.
 */
#ifndef SCANKIOSK_JPEG_H
#define SCANKIOSK_JPEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jpeg_stream;

#define JPEG_CHUNK_BYTES (64u << 10)

/* A piece of encoded output. Whoever receives one owns it: jpeg_chunk_free(). */
struct jpeg_chunk {
	struct jpeg_chunk *next; /* free for the receiver's lists */
	size_t len;
	uint8_t data[JPEG_CHUNK_BYTES];
};

/* Zeroes and frees a chunk. Accepts NULL. */
void jpeg_chunk_free(struct jpeg_chunk *chunk);

/* Receives each chunk of output as soon as it is full, and the last one at
 * jpeg_stream_finish(); takes ownership. */
typedef void (*jpeg_sink_fn)(void *userdata, struct jpeg_chunk *chunk);

/* An encoder of a width x height image with 1 (grey) or 3 (RGB) channels.
 * Returns NULL on a bad argument or when out of memory. */
struct jpeg_stream *jpeg_stream_create(uint32_t width, uint32_t height, uint32_t channels,
                                       uint32_t dpi, int quality);

/* The same, handing the output to sink chunk by chunk while it is produced, so
 * another thread can read the page while it is still being encoded. */
struct jpeg_stream *jpeg_stream_create_chunked(uint32_t width, uint32_t height, uint32_t channels,
                                               uint32_t dpi, int quality, jpeg_sink_fn sink,
                                               void *userdata);

/* Encodes count lines, stride bytes apart. Returns 0, or -1 on failure (the
 * stream is then only good for jpeg_stream_destroy()). Lines past the height
 * are ignored. */
__attribute__((warn_unused_result)) int
jpeg_stream_write(struct jpeg_stream *js, const uint8_t *lines, size_t count, size_t stride);

/* Lines written so far. */
uint32_t jpeg_stream_lines(const struct jpeg_stream *js);

/* Completes the image (lines not written are white) and hands the JPEG to the
 * caller: *out, *size; free with secmem_free(*out, *size). A chunked stream
 * passes its last chunk to the sink instead and sets *out = NULL, *size = the
 * JPEG's length. Returns 0 or -1. */
__attribute__((warn_unused_result)) int jpeg_stream_finish(struct jpeg_stream *js, uint8_t **out,
                                                           size_t *size);

/* Accepts NULL. */
void jpeg_stream_destroy(struct jpeg_stream *js);

/* Turns a YCbCr JPEG into a grey one by keeping its luminance coefficients as
 * they are: no decoding to pixels, no second quantisation loss. *out as above.
 * Returns 0, or -1 when the input is not a 3-component YCbCr JPEG or broken. */
__attribute__((warn_unused_result)) int jpeg_to_gray(const uint8_t *in, size_t in_size,
                                                     uint8_t **out, size_t *out_size);

/* Decodes a thumbnail with libjpeg-turbo's DCT scaling: the smallest scaling
 * factor whose longer side is still at least min_side (or 1/1). *rgb receives
 * packed RGB rows (free with secmem_free(*rgb, *w * *h * 3)). Returns 0 or -1. */
__attribute__((warn_unused_result)) int jpeg_thumbnail(const uint8_t *in, size_t size,
                                                       uint32_t min_side, uint8_t **rgb,
                                                       uint32_t *w, uint32_t *h);

/* Gives the decoder its next piece of JPEG, waiting for it if need be; returns
 * false at the end of the data. The piece must stay valid until the next call. */
typedef bool (*jpeg_source_fn)(void *userdata, const uint8_t **data, size_t *len);

/* jpeg_thumbnail() over a JPEG that arrives piece by piece. */
__attribute__((warn_unused_result)) int jpeg_thumbnail_from(jpeg_source_fn source, void *userdata,
                                                            uint32_t min_side, uint8_t **rgb,
                                                            uint32_t *w, uint32_t *h);

/* Bytes of libjpeg's own work memory zeroed when freed so far (for tests: it
 * shows the zeroing memory release is the one libjpeg uses). */
size_t jpeg_work_memory_zeroed(void);

/* Reads a JPEG's size and number of components. Returns 0 or -1. */
__attribute__((warn_unused_result)) int jpeg_probe(const uint8_t *in, size_t size, uint32_t *w,
                                                   uint32_t *h, int *components);

#endif
