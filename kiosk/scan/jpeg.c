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
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "log.h"
#include "secmem.h"

/* No page of a kiosk comes near this; a larger output means a bug. */
#define JPEG_MAX_OUTPUT (256u << 20)
#define ROWS_PER_CALL   64

/*
 * libjpeg's own work memory (row buffers, the whole page's coefficients while a
 * page is turned grey) holds page content too. libjpeg-turbo's memory manager
 * frees it through jpeg_free_small() and jpeg_free_large() of its system layer,
 * called through the PLT: programs that link this library export these two
 * zeroing versions (see meson.build), and the library's calls reach them.
 */
static atomic_size_t zeroed_bytes;

void jpeg_free_small(j_common_ptr cinfo, void *object, size_t size);
void jpeg_free_large(j_common_ptr cinfo, void *object, size_t size);

void jpeg_free_small(j_common_ptr cinfo, void *object, size_t size)
{
	(void)cinfo;
	secmem_free(object, size);
	atomic_fetch_add_explicit(&zeroed_bytes, size, memory_order_relaxed);
}

void jpeg_free_large(j_common_ptr cinfo, void *object, size_t size)
{
	(void)cinfo;
	secmem_free(object, size);
	atomic_fetch_add_explicit(&zeroed_bytes, size, memory_order_relaxed);
}

size_t jpeg_work_memory_zeroed(void)
{
	return atomic_load(&zeroed_bytes);
}

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

/* Output in fixed chunks handed to a sink as they fill: nothing is moved or
 * copied, and a reader can follow the encoder. */
struct chunk_dest {
	struct jpeg_destination_mgr pub;
	struct jpeg_chunk *chunk; /* being filled */
	jpeg_sink_fn sink;
	void *userdata;
	size_t total; /* bytes handed over */
};

struct jpeg_stream {
	struct jpeg_compress_struct c;
	struct err_mgr err;
	struct mem_dest dest;     /* contiguous output */
	struct chunk_dest chunks; /* or chunked output, when chunks.sink is set */
	uint32_t width, height, channels, lines;
	unsigned char *white; /* one white line, to complete a short page */
	bool created, failed;
};

void jpeg_chunk_free(struct jpeg_chunk *chunk)
{
	secmem_free(chunk, sizeof(*chunk));
}

static void chunk_init(j_compress_ptr c)
{
	struct chunk_dest *d = (struct chunk_dest *)c->dest;
	d->pub.next_output_byte = d->chunk->data;
	d->pub.free_in_buffer = JPEG_CHUNK_BYTES;
}

static void chunk_pass(struct chunk_dest *d, size_t len)
{
	d->chunk->len = len;
	d->chunk->next = NULL;
	d->total += len;
	struct jpeg_chunk *full = d->chunk;
	d->chunk = NULL;
	d->sink(d->userdata, full);
}

static boolean chunk_empty(j_compress_ptr c)
{
	struct chunk_dest *d = (struct chunk_dest *)c->dest;
	/* libjpeg calls this when the whole chunk is full, whatever free_in_buffer
	 * says. */
	if (d->total + JPEG_CHUNK_BYTES > JPEG_MAX_OUTPUT)
		ERREXIT1(c, JERR_OUT_OF_MEMORY, 12);
	struct jpeg_chunk *next = malloc(sizeof(*next));
	if (!next)
		ERREXIT1(c, JERR_OUT_OF_MEMORY, 11);
	chunk_pass(d, JPEG_CHUNK_BYTES);
	d->chunk = next;
	d->pub.next_output_byte = next->data;
	d->pub.free_in_buffer = JPEG_CHUNK_BYTES;
	return TRUE;
}

static void chunk_term(j_compress_ptr c)
{
	struct chunk_dest *d = (struct chunk_dest *)c->dest;
	chunk_pass(d, JPEG_CHUNK_BYTES - d->pub.free_in_buffer);
}

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
	if (js->chunks.sink) {
		js->chunks.chunk = malloc(sizeof(*js->chunks.chunk));
		if (!js->chunks.chunk)
			return -1;
		js->chunks.pub.init_destination = chunk_init;
		js->chunks.pub.empty_output_buffer = chunk_empty;
		js->chunks.pub.term_destination = chunk_term;
		js->c.dest = &js->chunks.pub;
	} else if (dest_setup(&js->dest, &js->c,
	                      /* a scanned text page at quality 75: about 1/8 of raw */
	                      (size_t)js->width * js->height * js->channels / 8) < 0) {
		return -1;
	}
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
	return jpeg_stream_create_chunked(width, height, channels, dpi, quality, NULL, NULL);
}

struct jpeg_stream *jpeg_stream_create_chunked(uint32_t width, uint32_t height, uint32_t channels,
                                               uint32_t dpi, int quality, jpeg_sink_fn sink,
                                               void *userdata)
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
	js->chunks.sink = sink;
	js->chunks.userdata = userdata;
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
	if (js->chunks.sink)
		*size = js->chunks.total;
	else
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
	jpeg_chunk_free(js->chunks.chunk);
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

struct probe_job {
	struct jpeg_decompress_struct d;
	struct err_mgr err;
	bool created;
};

static int probe_run(struct probe_job *p, const uint8_t *in, size_t size)
{
	if (setjmp(p->err.jump))
		return -1;
	p->d.err = err_init(&p->err);
	jpeg_create_decompress(&p->d);
	p->created = true;
	jpeg_mem_src(&p->d, in, (unsigned long)size);
	return jpeg_read_header(&p->d, TRUE) == JPEG_HEADER_OK ? 0 : -1;
}

int jpeg_probe(const uint8_t *in, size_t size, uint32_t *w, uint32_t *h, int *components)
{
	struct probe_job *p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	int rc = probe_run(p, in, size);
	if (rc == 0) {
		*w = p->d.image_width;
		*h = p->d.image_height;
		*components = p->d.num_components;
	}
	if (p->created)
		jpeg_destroy_decompress(&p->d);
	free(p);
	return rc;
}

/* A source manager over jpeg_source_fn pieces. */
struct piece_src {
	struct jpeg_source_mgr pub;
	jpeg_source_fn source;
	void *userdata;
};

static void piece_init(j_decompress_ptr d)
{
	(void)d;
}

static boolean piece_fill(j_decompress_ptr d)
{
	static const JOCTET eoi[2] = {0xFF, JPEG_EOI};
	struct piece_src *src = (struct piece_src *)d->src;
	const uint8_t *data = NULL;
	size_t len = 0;
	while (len == 0) {
		if (!src->source(src->userdata, &data, &len)) {
			/* Ended early: libjpeg's own remedy, an EOI, with a warning. */
			WARNMS(d, JWRN_JPEG_EOF);
			data = eoi;
			len = sizeof(eoi);
		}
	}
	src->pub.next_input_byte = data;
	src->pub.bytes_in_buffer = len;
	return TRUE;
}

static void piece_skip(j_decompress_ptr d, long n)
{
	struct piece_src *src = (struct piece_src *)d->src;
	while (n > (long)src->pub.bytes_in_buffer) {
		n -= (long)src->pub.bytes_in_buffer;
		piece_fill(d);
	}
	if (n > 0) {
		src->pub.next_input_byte += n;
		src->pub.bytes_in_buffer -= (size_t)n;
	}
}

static void piece_term(j_decompress_ptr d)
{
	(void)d;
}

struct thumb_job {
	struct jpeg_decompress_struct d;
	struct err_mgr err;
	struct piece_src src;
	uint8_t *pixels;
	size_t pixels_size;
	bool created;
};

static int thumb_run(struct thumb_job *t, uint32_t min_side, uint32_t *w, uint32_t *h)
{
	if (setjmp(t->err.jump))
		return -1;
	t->d.err = err_init(&t->err);
	jpeg_create_decompress(&t->d);
	t->created = true;
	t->src.pub.init_source = piece_init;
	t->src.pub.fill_input_buffer = piece_fill;
	t->src.pub.skip_input_data = piece_skip;
	t->src.pub.resync_to_restart = jpeg_resync_to_restart;
	t->src.pub.term_source = piece_term;
	t->d.src = &t->src.pub;
	if (jpeg_read_header(&t->d, TRUE) != JPEG_HEADER_OK)
		return -1;
	t->d.out_color_space = JCS_RGB;
	t->d.dct_method = JDCT_ISLOW;
	/* libjpeg-turbo scales by N/8: take the smallest N that is still enough. */
	unsigned longer =
	        t->d.image_width > t->d.image_height ? t->d.image_width : t->d.image_height;
	t->d.scale_denom = 8;
	t->d.scale_num = 8;
	for (unsigned n = 1; n < 8; n++) {
		if ((longer * n + 7) / 8 >= min_side) {
			t->d.scale_num = n;
			break;
		}
	}
	jpeg_start_decompress(&t->d);
	size_t stride = (size_t)t->d.output_width * 3;
	if (t->d.output_height && stride > SIZE_MAX / t->d.output_height)
		return -1;
	t->pixels_size = stride * t->d.output_height;
	t->pixels = malloc(t->pixels_size);
	if (!t->pixels)
		return -1;
	while (t->d.output_scanline < t->d.output_height) {
		JSAMPROW row = t->pixels + (size_t)t->d.output_scanline * stride;
		jpeg_read_scanlines(&t->d, &row, 1);
	}
	jpeg_finish_decompress(&t->d);
	*w = t->d.output_width;
	*h = t->d.output_height;
	return 0;
}

int jpeg_thumbnail_from(jpeg_source_fn source, void *userdata, uint32_t min_side, uint8_t **rgb,
                        uint32_t *w, uint32_t *h)
{
	*rgb = NULL;
	*w = *h = 0;
	struct thumb_job *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	t->src.source = source;
	t->src.userdata = userdata;
	uint32_t tw = 0, th = 0;
	int rc = thumb_run(t, min_side, &tw, &th);
	if (rc == 0) {
		*rgb = t->pixels;
		*w = tw;
		*h = th;
		t->pixels = NULL;
	}
	if (t->created)
		jpeg_destroy_decompress(&t->d);
	secmem_free(t->pixels, t->pixels_size);
	free(t);
	return rc;
}

struct whole_buffer {
	const uint8_t *data;
	size_t len;
	bool given;
};

static bool give_whole(void *userdata, const uint8_t **data, size_t *len)
{
	struct whole_buffer *b = userdata;
	if (b->given)
		return false;
	b->given = true;
	*data = b->data;
	*len = b->len;
	return true;
}

int jpeg_thumbnail(const uint8_t *in, size_t size, uint32_t min_side, uint8_t **rgb, uint32_t *w,
                   uint32_t *h)
{
	struct whole_buffer b = {.data = in, .len = size};
	return jpeg_thumbnail_from(give_whole, &b, min_side, rgb, w, h);
}
