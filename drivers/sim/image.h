/*
 * image.h - decoding the page images the simulated scanner replays.
 *
 * PNG (libpng's simplified API), JPEG (libjpeg) and PNM (P2, P3, P4, P5, P6 with
 * maxval <= 255, our own small parser) become one buffer of 8-bit samples, grey
 * (1 channel) or interleaved RGB (3 channels), plus the resolution recorded in
 * the file. Files and memory buffers take the same code path, so the fuzz target
 * over memory covers what the driver reads from disk.
 *
 * Every input is treated as hostile: sizes are checked before anything is
 * allocated, the pixel buffer is bounded by SIM_IMAGE_MAX_WIDTH x
 * SIM_IMAGE_MAX_HEIGHT (or tighter limits in struct sim_image_opts), and pixel
 * memory is zeroed before it is freed.
 *
 * Depends on libc, libpng and libjpeg only.
 */
#ifndef SCANKIOSK_SIM_IMAGE_H
#define SCANKIOSK_SIM_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_IMAGE_WUR __attribute__((warn_unused_result))

/* 1200 dpi over a legal page, with room to spare; 420 MB of RGB at most. */
#define SIM_IMAGE_MAX_WIDTH  10000u
#define SIM_IMAGE_MAX_HEIGHT 14000u

/* Used when the file records no resolution (or an absurd one). */
#define SIM_IMAGE_DEFAULT_DPI 300u
/* Recorded resolutions outside this range are ignored as nonsense. */
#define SIM_IMAGE_MIN_DPI 10u
#define SIM_IMAGE_MAX_DPI 10000u

enum sim_image_status {
	SIM_IMAGE_OK = 0,
	SIM_IMAGE_IO,        /* the file cannot be opened or read */
	SIM_IMAGE_FORMAT,    /* not a PNG, JPEG or PNM we understand */
	SIM_IMAGE_CORRUPT,   /* a known format, but broken or truncated */
	SIM_IMAGE_TOO_LARGE, /* dimensions beyond the limits */
	SIM_IMAGE_NO_MEMORY, /* allocation failed */
};

enum sim_image_format {
	SIM_IMAGE_FORMAT_NONE = 0,
	SIM_IMAGE_FORMAT_PNG,
	SIM_IMAGE_FORMAT_JPEG,
	SIM_IMAGE_FORMAT_PNM,
};

struct sim_image {
	enum sim_image_format format;
	uint32_t width;    /* pixels */
	uint32_t height;   /* lines */
	uint32_t channels; /* 1 (grey) or 3 (RGB) */
	uint32_t xdpi;     /* from the file, or SIM_IMAGE_DEFAULT_DPI */
	uint32_t ydpi;
	bool dpi_recorded; /* false when the defaults were used */
	size_t stride;     /* width * channels */
	uint8_t *pixels;   /* height * stride bytes, owned; NULL after a header-only load */
};

/* Optional limits and behaviour of a load; NULL means the defaults. */
struct sim_image_opts {
	bool header_only;    /* read size, channels and resolution; decode no pixels */
	uint32_t max_width;  /* 0 or more than SIM_IMAGE_MAX_WIDTH: SIM_IMAGE_MAX_WIDTH */
	uint32_t max_height; /* likewise */
};

/*
 * Loads an image from a regular file (devices, FIFOs and directories are refused,
 * so a stray path cannot block the caller). On failure *img is empty (as after
 * sim_image_finish()) and err, when not NULL, receives a one-line reason.
 */
SIM_IMAGE_WUR enum sim_image_status sim_image_load_file(struct sim_image *img, const char *path,
                                                        const struct sim_image_opts *opts,
                                                        char *err, size_t errlen);

/* As sim_image_load_file(), from size bytes at data (not copied, not kept). */
SIM_IMAGE_WUR enum sim_image_status sim_image_load_memory(struct sim_image *img, const void *data,
                                                          size_t size,
                                                          const struct sim_image_opts *opts,
                                                          char *err, size_t errlen);

/* Zeroes and frees the pixels and empties *img. Accepts an empty image. */
void sim_image_finish(struct sim_image *img);

const char *sim_image_strerror(enum sim_image_status status);
const char *sim_image_format_name(enum sim_image_format format);

#endif
