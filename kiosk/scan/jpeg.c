/*
 * jpeg.c - page encoding, grey conversion and thumbnails with libjpeg-turbo.
 *
 * libjpeg reports fatal errors through error_exit(); ours logs the message and
 * longjmp()s back to the function that called into the library, which cleans up.
 * Output goes to a growing memory buffer of our own rather than jpeg_mem_dest(),
 * whose realloc() would leave copies of the page behind in freed memory.
 */
#include "jpeg.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <turbojpeg.h>

#include "log.h"
#include "secmem.h"

/* No page of a kiosk comes near this; a larger output means a bug. */
#define JPEG_MAX_OUTPUT (256u << 20)
#define ROWS_PER_CALL   64

struct err_mgr {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
};

struct mem_dest {
	struct jpeg_destination_mgr pub;
	unsigned char *buf;
	size_t cap;
	size_t size; /* set by term_destination */
};

struct jpeg_stream {
	struct jpeg_compress_struct c;
	struct err_mgr err;
	struct mem_dest dest;
	uint32_t width, height, channels, lines;
	unsigned char *white; /* one white line, to complete a short page */
	bool created, failed;
};

static void handle_error_exit(j_common_ptr cinfo)
{
	struct err_mgr *err = (struct err_mgr *)cinfo->err;
	char msg[JMSG_LENGTH_MAX];
	cinfo->err->format_message(cinfo, msg);
	log_warning("libjpeg: %s", msg);
	longjmp(err->jump, 1);
}

static void handle_output_message(j_common_ptr cinfo)
{
	char msg[JMSG_LENGTH_MAX];
	cinfo->err->format_message(cinfo, msg);
	log_debug("libjpeg: %s", msg);
}

static struct jpeg_error_mgr *err_init(struct err_mgr *err)
{
	jpeg_std_error(&err->pub);
	err->pub.error_exit = handle_error_exit;
	err->pub.output_message = handle_output_message;
	return &err->pub;
}

static void dest_init(j_compress_ptr c)
{
	struct mem_dest *d = (struct mem_dest *)c->dest;
	d->pub.next_output_byte = d->buf;
	d->pub.free_in_buffer = d->cap;
}

static boolean dest_empty(j_compress_ptr c)
{
	struct mem_dest *d = (struct mem_dest *)c->dest;
	size_t used = d->cap;
	if (secmem_grow(&d->buf, &d->cap, d->cap * 2, JPEG_MAX_OUTPUT) < 0)
		ERREXIT1(c, JERR_OUT_OF_MEMORY, 10);
	d->pub.next_output_byte = d->buf + used;
	d->pub.free_in_buffer = d->cap - used;
	return TRUE;
}

static void dest_term(j_compress_ptr c)
{
	struct mem_dest *d = (struct mem_dest *)c->dest;
	d->size = d->cap - d->pub.free_in_buffer;
}

/* Sets up the destination with a first buffer of about the expected size. */
static int dest_setup(struct mem_dest *d, j_compress_ptr c, size_t estimate)
{
	memset(d, 0, sizeof(*d));
	if (estimate < 16384)
		estimate = 16384;
	if (secmem_grow(&d->buf, &d->cap, estimate, JPEG_MAX_OUTPUT) < 0)
		return -1;
	d->pub.init_destination = dest_init;
	d->pub.empty_output_buffer = dest_empty;
	d->pub.term_destination = dest_term;
	c->dest = &d->pub;
	return 0;
}

static void dest_release(struct mem_dest *d, uint8_t **out, size_t *size)
{
	/* Hand over the exact bytes; the spare capacity stays zeroed in the block. */
	secmem_zero(d->buf + d->size, d->cap - d->size);
	*out = d->buf;
	*size = d->size;
	d->buf = NULL;
	d->cap = 0;
}

/* The libjpeg half of jpeg_stream_create(), apart so longjmp clobbers nothing. */
static int stream_start(struct jpeg_stream *js, uint32_t dpi, int quality)
{
	js->c.err = err_init(&js->err);
	if (setjmp(js->err.jump))
		return -1;
	jpeg_create_compress(&js->c);
	js->created = true;
	/* A scanned text page at quality 75 is about 1/8 of its raw size. */
	if (dest_setup(&js->dest, &js->c, (size_t)js->width * js->height * js->channels / 8) < 0)
		return -1;
	js->c.image_width = js->width;
	js->c.image_height = js->height;
	js->c.input_components = (int)js->channels;
	js->c.in_color_space = js->channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
	jpeg_set_defaults(&js->c);
	jpeg_set_quality(&js->c, quality, TRUE);
	js->c.density_unit = 1; /* dots per inch */
	js->c.X_density = (UINT16)(dpi > 65535 ? 65535 : dpi);
	js->c.Y_density = js->c.X_density;
	jpeg_start_compress(&js->c, TRUE);
	return 0;
}

struct jpeg_stream *jpeg_stream_create(uint32_t width, uint32_t height, uint32_t channels,
                                       uint32_t dpi, int quality)
{
	if (width == 0 || height == 0 || width > JPEG_MAX_DIMENSION ||
	    height > JPEG_MAX_DIMENSION || (channels != 1 && channels != 3) || quality < 1 ||
	    quality > 100)
		return NULL;
	struct jpeg_stream *js = calloc(1, sizeof(*js));
	if (!js)
		return NULL;
	js->width = width;
	js->height = height;
	js->channels = channels;
	js->white = malloc((size_t)width * channels);
	if (!js->white || stream_start(js, dpi, quality) < 0) {
		jpeg_stream_destroy(js);
		return NULL;
	}
	memset(js->white, 255, (size_t)width * channels);
	return js;
}

static int write_rows(struct jpeg_stream *js, const uint8_t *lines, size_t count, size_t stride)
{
	while (count > 0 && js->lines < js->height) {
		JSAMPROW rows[ROWS_PER_CALL];
		size_t n = count < ROWS_PER_CALL ? count : ROWS_PER_CALL;
		if (n > js->height - js->lines)
			n = js->height - js->lines;
		for (size_t i = 0; i < n; i++)
			rows[i] = (JSAMPROW)(uintptr_t)(lines + i * stride);
		JDIMENSION done = jpeg_write_scanlines(&js->c, rows, (JDIMENSION)n);
		if (done == 0)
			return -1;
		js->lines += done;
		lines += (size_t)done * stride;
		count -= done;
	}
	return 0;
}

int jpeg_stream_write(struct jpeg_stream *js, const uint8_t *lines, size_t count, size_t stride)
{
	if (js->failed)
		return -1;
	if (setjmp(js->err.jump) || write_rows(js, lines, count, stride) < 0) {
		js->failed = true;
		return -1;
	}
	return 0;
}

uint32_t jpeg_stream_lines(const struct jpeg_stream *js)
{
	return js->lines;
}

int jpeg_stream_finish(struct jpeg_stream *js, uint8_t **out, size_t *size)
{
	*out = NULL;
	*size = 0;
	while (!js->failed && js->lines < js->height)
		if (jpeg_stream_write(js, js->white, 1, 0) < 0)
			return -1;
	if (js->failed)
		return -1;
	if (setjmp(js->err.jump)) {
		js->failed = true;
		return -1;
	}
	jpeg_finish_compress(&js->c);
	dest_release(&js->dest, out, size);
	return 0;
}

void jpeg_stream_destroy(struct jpeg_stream *js)
{
	if (!js)
		return;
	if (js->created)
		jpeg_destroy_compress(&js->c);
	secmem_free(js->dest.buf, js->dest.cap);
	free(js->white);
	free(js);
}

/* The decompressor and compressor of jpeg_to_gray(), kept together so that the
 * longjmp target needs no volatile locals. */
struct gray_job {
	struct jpeg_decompress_struct d;
	struct jpeg_compress_struct c;
	struct err_mgr err;
	struct mem_dest dest;
	bool d_created, c_created;
};

static int gray_run(struct gray_job *g, const uint8_t *in, size_t in_size)
{
	if (setjmp(g->err.jump))
		return -1;
	g->d.err = err_init(&g->err);
	jpeg_create_decompress(&g->d);
	g->d_created = true;
	jpeg_mem_src(&g->d, in, (unsigned long)in_size);
	if (jpeg_read_header(&g->d, TRUE) != JPEG_HEADER_OK)
		return -1;
	if (g->d.jpeg_color_space != JCS_YCbCr || g->d.num_components != 3)
		return -1;
	jvirt_barray_ptr *coefs = jpeg_read_coefficients(&g->d);

	g->c.err = &g->err.pub;
	jpeg_create_compress(&g->c);
	g->c_created = true;
	if (dest_setup(&g->dest, &g->c, in_size) < 0)
		return -1;
	jpeg_copy_critical_parameters(&g->d, &g->c);
	/* Luminance alone, with its own quantisation table: what jpegtran
	 * -grayscale does. The Y coefficient array serves as the grey image's. */
	int qtbl = g->d.comp_info[0].quant_tbl_no;
	jpeg_set_colorspace(&g->c, JCS_GRAYSCALE);
	g->c.comp_info[0].quant_tbl_no = qtbl;
	if (g->d.saw_JFIF_marker) {
		g->c.density_unit = g->d.density_unit;
		g->c.X_density = g->d.X_density;
		g->c.Y_density = g->d.Y_density;
	}
	jpeg_write_coefficients(&g->c, coefs);
	jpeg_finish_compress(&g->c);
	jpeg_finish_decompress(&g->d);
	return 0;
}

int jpeg_to_gray(const uint8_t *in, size_t in_size, uint8_t **out, size_t *out_size)
{
	*out = NULL;
	*out_size = 0;
	struct gray_job *g = calloc(1, sizeof(*g));
	if (!g)
		return -1;
	int rc = gray_run(g, in, in_size);
	if (rc == 0)
		dest_release(&g->dest, out, out_size);
	if (g->c_created)
		jpeg_destroy_compress(&g->c);
	if (g->d_created)
		jpeg_destroy_decompress(&g->d);
	secmem_free(g->dest.buf, g->dest.cap);
	free(g);
	return rc;
}

int jpeg_probe(const uint8_t *in, size_t size, uint32_t *w, uint32_t *h, int *components)
{
	tjhandle tj = tjInitDecompress();
	if (!tj)
		return -1;
	int width, height, subsamp, colorspace;
	int rc = tjDecompressHeader3(tj, in, (unsigned long)size, &width, &height, &subsamp,
	                             &colorspace);
	tjDestroy(tj);
	if (rc != 0 || width <= 0 || height <= 0)
		return -1;
	*w = (uint32_t)width;
	*h = (uint32_t)height;
	*components = colorspace == TJCS_GRAY ? 1 : 3;
	return 0;
}

int jpeg_thumbnail(const uint8_t *in, size_t size, uint32_t min_side, uint8_t **rgb, uint32_t *w,
                   uint32_t *h)
{
	*rgb = NULL;
	*w = *h = 0;
	int rc = -1;
	uint8_t *pixels = NULL;
	size_t pixels_size = 0;
	tjhandle tj = tjInitDecompress();
	if (!tj)
		return -1;
	int width, height, subsamp, colorspace;
	if (tjDecompressHeader3(tj, in, (unsigned long)size, &width, &height, &subsamp,
	                        &colorspace) != 0)
		goto out;
	int nfactors = 0;
	tjscalingfactor *factors = tjGetScalingFactors(&nfactors);
	if (!factors)
		goto out;
	/* The factors run from largest to smallest; keep the last one that is big
	 * enough. */
	tjscalingfactor best = {1, 1};
	int longer = width > height ? width : height;
	int best_side = longer;
	for (int i = 0; i < nfactors; i++) {
		int side = TJSCALED(longer, factors[i]);
		if (side >= (int)min_side && side <= best_side) {
			best = factors[i];
			best_side = side;
		}
	}
	int tw = TJSCALED(width, best), th = TJSCALED(height, best);
	pixels_size = (size_t)tw * (size_t)th * 3;
	pixels = malloc(pixels_size);
	if (!pixels)
		goto out;
	if (tjDecompress2(tj, in, (unsigned long)size, pixels, tw, 0, th, TJPF_RGB, 0) != 0) {
		log_warning("thumbnail: %s", tjGetErrorStr2(tj));
		goto out;
	}
	*rgb = pixels;
	pixels = NULL;
	*w = (uint32_t)tw;
	*h = (uint32_t)th;
	rc = 0;
out:
	secmem_free(pixels, pixels_size);
	tjDestroy(tj);
	return rc;
}
