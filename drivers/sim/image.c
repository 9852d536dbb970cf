/*
 * image.c - PNG, JPEG and PNM page images for the simulated scanner.
 *
 * Everything reads from a stdio stream: a regular file, or fmemopen() over a
 * caller's buffer, so the fuzzer exercises the same code the driver runs.
 * Before any pixel memory is allocated the header's size is checked against
 * the limits and against how much data the stream can still hold, so a tiny
 * hostile file cannot make us allocate or clear hundreds of megabytes.
 */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* after stdio.h: jpeglib.h uses FILE without including it */
#include <jpeglib.h>
#include <png.h>

/* A progressive JPEG may hold any number of scans; each costs a pass over the
 * whole coefficient buffer. libjpeg-turbo's own fuzzers stop at 500. */
#define JPEG_MAX_SCANS 500
/* PNG chunks we walk through looking for IHDR, pHYs and IDAT. */
#define PNG_MAX_CHUNKS 100000
/* deflate cannot expand data by more than 1032:1 (a 258-byte match in 2 bits). */
#define DEFLATE_MAX_RATIO 1032u

struct loader {
	FILE *f;
	struct sim_image *img;
	bool header_only;
	uint32_t max_width;
	uint32_t max_height;
	size_t rows_filled; /* rows of img->pixels holding decoded data */
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static enum sim_image_status
fail(struct loader *ld, enum sim_image_status status, const char *fmt, ...)
{
	if (ld->err && ld->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ld->err, ld->errlen, fmt, ap);
		va_end(ap);
	}
	return status;
}

const char *sim_image_strerror(enum sim_image_status status)
{
	switch (status) {
	case SIM_IMAGE_OK:
		return "success";
	case SIM_IMAGE_IO:
		return "cannot read the file";
	case SIM_IMAGE_FORMAT:
		return "unsupported image format";
	case SIM_IMAGE_CORRUPT:
		return "corrupt or truncated image";
	case SIM_IMAGE_TOO_LARGE:
		return "image too large";
	case SIM_IMAGE_NO_MEMORY:
		return "out of memory";
	}
	return "unknown image status";
}

const char *sim_image_format_name(enum sim_image_format format)
{
	switch (format) {
	case SIM_IMAGE_FORMAT_NONE:
		break;
	case SIM_IMAGE_FORMAT_PNG:
		return "PNG";
	case SIM_IMAGE_FORMAT_JPEG:
		return "JPEG";
	case SIM_IMAGE_FORMAT_PNM:
		return "PNM";
	}
	return "none";
}

void sim_image_finish(struct sim_image *img)
{
	if (!img)
		return;
	if (img->pixels) {
		explicit_bzero(img->pixels, img->stride * img->height);
		free(img->pixels);
	}
	memset(img, 0, sizeof(*img));
}

/* Frees what a failed load left, clearing only the rows that hold pixels: the
 * rest was never written, and touching it would cost as much as the decode. */
static void discard(struct loader *ld)
{
	struct sim_image *img = ld->img;
	if (img->pixels) {
		explicit_bzero(img->pixels, img->stride * ld->rows_filled);
		free(img->pixels);
	}
	memset(img, 0, sizeof(*img));
}

/* Records a resolution read from the file, if it is believable. */
static void set_dpi(struct sim_image *img, uint64_t xdpi, uint64_t ydpi)
{
	if (xdpi < SIM_IMAGE_MIN_DPI || xdpi > SIM_IMAGE_MAX_DPI || ydpi < SIM_IMAGE_MIN_DPI ||
	    ydpi > SIM_IMAGE_MAX_DPI)
		return;
	img->xdpi = (uint32_t)xdpi;
	img->ydpi = (uint32_t)ydpi;
	img->dpi_recorded = true;
}

static enum sim_image_status check_size(struct loader *ld, const char *what, uint64_t width,
                                        uint64_t height)
{
	if (width == 0 || height == 0)
		return fail(ld, SIM_IMAGE_CORRUPT, "%s: empty image (%llux%llu)", what,
		            (unsigned long long)width, (unsigned long long)height);
	if (width > ld->max_width || height > ld->max_height)
		return fail(ld, SIM_IMAGE_TOO_LARGE, "%s: %llux%llu pixels, the limit is %ux%u",
		            what, (unsigned long long)width, (unsigned long long)height,
		            ld->max_width, ld->max_height);
	ld->img->width = (uint32_t)width;
	ld->img->height = (uint32_t)height;
	return SIM_IMAGE_OK;
}

/* Allocates the pixel buffer for the size and channels already in *img. */
static enum sim_image_status alloc_pixels(struct loader *ld)
{
	struct sim_image *img = ld->img;
	size_t stride, size;
	if (__builtin_mul_overflow((size_t)img->width, (size_t)img->channels, &stride) ||
	    __builtin_mul_overflow(stride, (size_t)img->height, &size))
		return fail(ld, SIM_IMAGE_TOO_LARGE, "image size overflows");
	img->stride = stride;
	img->pixels = malloc(size);
	if (!img->pixels)
		return fail(ld, SIM_IMAGE_NO_MEMORY, "cannot allocate %zu bytes of pixels", size);
	ld->rows_filled = 0;
	return SIM_IMAGE_OK;
}

/* Bytes between the stream's position and its end, or -1 if it cannot tell. */
static long long bytes_left(FILE *f)
{
	long here = ftell(f);
	if (here < 0 || fseek(f, 0, SEEK_END) != 0)
		return -1;
	long end = ftell(f);
	if (end < 0 || fseek(f, here, SEEK_SET) != 0)
		return -1;
	return end >= here ? (long long)(end - here) : 0;
}

static enum sim_image_status read_error(struct loader *ld, const char *what)
{
	if (ferror(ld->f))
		return fail(ld, SIM_IMAGE_IO, "%s: read error", what);
	return fail(ld, SIM_IMAGE_CORRUPT, "%s: unexpected end of data", what);
}

/* ---- PNG ---------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* CRC-32 as PNG uses it (ISO 3309, reflected), bit by bit: we only check the
 * few bytes of a pHYs chunk, and libpng's zlib is not ours to link. */
static uint32_t png_crc(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return c ^ 0xffffffffu;
}

/* What the simplified API does not tell: the pHYs resolution, and the IHDR
 * and IDAT sizes that let us refuse an image whose data cannot possibly fill
 * its declared size before allocating for it. */
struct png_facts {
	bool have_ihdr;
	uint32_t width, height;
	uint8_t depth, colour_type;
	uint64_t idat_bytes;
};

static enum sim_image_status png_walk_chunks(struct loader *ld, struct png_facts *facts)
{
	FILE *f = ld->f;
	bool seen_idat = false;
	memset(facts, 0, sizeof(*facts));
	if (fseek(f, 8, SEEK_SET) != 0)
		return read_error(ld, "PNG");
	for (unsigned n = 0; n < PNG_MAX_CHUNKS; n++) {
		uint8_t head[8];
		if (fread(head, 1, sizeof(head), f) != sizeof(head))
			break; /* truncated: libpng says what is missing */
		uint32_t len = be32(head);
		const uint8_t *type = head + 4;
		if (len > 0x7fffffffu)
			return fail(ld, SIM_IMAGE_CORRUPT, "PNG: chunk length %u out of range",
			            len);
		long skip = (long)len + 4; /* data and CRC */
		if (n == 0 && memcmp(type, "IHDR", 4) == 0 && len == 13) {
			uint8_t d[13];
			if (fread(d, 1, sizeof(d), f) != sizeof(d))
				break;
			facts->have_ihdr = true;
			facts->width = be32(d);
			facts->height = be32(d + 4);
			facts->depth = d[8];
			facts->colour_type = d[9];
			skip = 4;
		} else if (memcmp(type, "pHYs", 4) == 0 && len == 9 && !seen_idat) {
			/* pHYs after IDAT is invalid and libpng ignores it, as it
			 * ignores one with a bad CRC; so do we. */
			uint8_t d[4 + 9 + 4]; /* type, data, CRC */
			memcpy(d, type, 4);
			if (fread(d + 4, 1, 9 + 4, f) != 9 + 4)
				break;
			if (d[12] == 1 &&
			    png_crc(d, 4 + 9) == be32(d + 13)) { /* pixels per metre */
				uint64_t x = be32(d + 4), y = be32(d + 8);
				set_dpi(ld->img, (x * 254 + 5000) / 10000,
				        (y * 254 + 5000) / 10000);
			}
			skip = 0;
		} else if (memcmp(type, "IDAT", 4) == 0) {
			seen_idat = true;
			facts->idat_bytes += len;
		} else if (memcmp(type, "IEND", 4) == 0) {
			break;
		}
		if (fseek(f, skip, SEEK_CUR) != 0)
			break;
	}
	if (ferror(f))
		return fail(ld, SIM_IMAGE_IO, "PNG: read error");
	return SIM_IMAGE_OK;
}

/* The least number of bytes deflate could squeeze the image's rows into. */
static uint64_t png_min_idat(const struct png_facts *facts)
{
	unsigned samples;
	switch (facts->colour_type) {
	case 2:
		samples = 3;
		break;
	case 4:
		samples = 2;
		break;
	case 6:
		samples = 4;
		break;
	default: /* 0 grey, 3 palette */
		samples = 1;
		break;
	}
	uint64_t row = ((uint64_t)facts->width * samples * facts->depth + 7) / 8 + 1;
	return row * facts->height / DEFLATE_MAX_RATIO;
}

static enum sim_image_status load_png(struct loader *ld)
{
	struct sim_image *img = ld->img;
	/* Transparent parts become paper: white. */
	const png_color white = {255, 255, 255};
	png_image png;
	struct png_facts facts;
	enum sim_image_status status = png_walk_chunks(ld, &facts);
	if (status != SIM_IMAGE_OK)
		return status;
	if (fseek(ld->f, 0, SEEK_SET) != 0)
		return read_error(ld, "PNG");

	memset(&png, 0, sizeof(png));
	png.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_stdio(&png, ld->f)) {
		status = fail(ld, SIM_IMAGE_CORRUPT, "PNG: %s", png.message);
		goto out;
	}
	status = check_size(ld, "PNG", png.width, png.height);
	if (status != SIM_IMAGE_OK)
		goto out;
	if (!facts.have_ihdr || facts.idat_bytes < png_min_idat(&facts)) {
		status = fail(ld, SIM_IMAGE_CORRUPT,
		              "PNG: %llu bytes of image data cannot hold %ux%u pixels",
		              (unsigned long long)facts.idat_bytes, png.width, png.height);
		goto out;
	}
	img->channels = (png.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
	img->stride = (size_t)img->width * img->channels;
	if (ld->header_only) {
		status = SIM_IMAGE_OK;
		goto out;
	}
	png.format = img->channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
	status = alloc_pixels(ld);
	if (status != SIM_IMAGE_OK)
		goto out;
	if (!png_image_finish_read(&png, &white, img->pixels, (png_int_32)img->stride, NULL)) {
		ld->rows_filled = img->height; /* unknown how far it got */
		status = fail(ld, SIM_IMAGE_CORRUPT, "PNG: %s", png.message);
		goto out;
	}
	ld->rows_filled = img->height;
	status = SIM_IMAGE_OK;
out:
	png_image_free(&png);
	return status;
}

/* ---- JPEG --------------------------------------------------------------- */

struct jpeg_fail {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
};

static void jpeg_error_exit(j_common_ptr cinfo)
{
	struct jpeg_fail *jf = (struct jpeg_fail *)cinfo->err;
	cinfo->err->format_message(cinfo, jf->msg);
	longjmp(jf->jump, 1);
}

/* libjpeg prints warnings to stderr; keep the first instead, we fail on it. */
static void jpeg_output_message(j_common_ptr cinfo)
{
	struct jpeg_fail *jf = (struct jpeg_fail *)cinfo->err;
	if (!jf->msg[0])
		cinfo->err->format_message(cinfo, jf->msg);
}

static void jpeg_progress(j_common_ptr cinfo)
{
	if (!cinfo->is_decompressor)
		return;
	struct jpeg_fail *jf = (struct jpeg_fail *)cinfo->err;
	if (((j_decompress_ptr)cinfo)->input_scan_number > JPEG_MAX_SCANS) {
		snprintf(jf->msg, sizeof(jf->msg), "more than %d scans", JPEG_MAX_SCANS);
		longjmp(jf->jump, 1);
	}
}

static enum sim_image_status load_jpeg(struct loader *ld)
{
	struct sim_image *img = ld->img;
	struct jpeg_decompress_struct cinfo;
	struct jpeg_fail jf;
	struct jpeg_progress_mgr progress;
	/* volatile: read after longjmp */
	volatile enum sim_image_status status = SIM_IMAGE_CORRUPT;

	memset(&jf, 0, sizeof(jf));
	memset(&progress, 0, sizeof(progress));
	cinfo.err = jpeg_std_error(&jf.pub);
	jf.pub.error_exit = jpeg_error_exit;
	jf.pub.output_message = jpeg_output_message;
	if (setjmp(jf.jump)) {
		status = fail(ld, status == SIM_IMAGE_OK ? SIM_IMAGE_CORRUPT : status, "JPEG: %s",
		              jf.msg);
		goto out;
	}
	jpeg_create_decompress(&cinfo);
	progress.progress_monitor = jpeg_progress;
	cinfo.progress = &progress;
	jpeg_stdio_src(&cinfo, ld->f);
	jpeg_read_header(&cinfo, TRUE);
	if (jf.pub.num_warnings) {
		status = fail(ld, SIM_IMAGE_CORRUPT, "JPEG: %s", jf.msg);
		goto out;
	}
	status = check_size(ld, "JPEG", cinfo.image_width, cinfo.image_height);
	if (status != SIM_IMAGE_OK)
		goto out;
	switch (cinfo.jpeg_color_space) {
	case JCS_GRAYSCALE:
		cinfo.out_color_space = JCS_GRAYSCALE;
		img->channels = 1;
		break;
	case JCS_YCbCr:
	case JCS_RGB:
		cinfo.out_color_space = JCS_RGB;
		img->channels = 3;
		break;
	default:
		status = fail(ld, SIM_IMAGE_FORMAT, "JPEG: colour space %d (CMYK?) not supported",
		              (int)cinfo.jpeg_color_space);
		goto out;
	}
	img->stride = (size_t)img->width * img->channels;
	if (cinfo.saw_JFIF_marker && cinfo.density_unit == 1)
		set_dpi(img, cinfo.X_density, cinfo.Y_density);
	else if (cinfo.saw_JFIF_marker && cinfo.density_unit == 2) /* dots per cm */
		set_dpi(img, (cinfo.X_density * 254u + 50) / 100,
		        (cinfo.Y_density * 254u + 50) / 100);
	if (ld->header_only) {
		status = SIM_IMAGE_OK;
		goto out;
	}
	/* A progressive image keeps all its coefficients (2 bytes each) in memory;
	 * bound libjpeg to about that for the size we accepted. */
	cinfo.mem->max_memory_to_use =
	        (long)(2 * (uint64_t)img->width * img->height * (unsigned)cinfo.num_components +
	               (32u << 20));
	jpeg_start_decompress(&cinfo);
	if (cinfo.output_width != img->width || cinfo.output_height != img->height ||
	    (uint32_t)cinfo.output_components != img->channels) {
		status = fail(ld, SIM_IMAGE_CORRUPT, "JPEG: decoder output does not match header");
		goto out;
	}
	status = alloc_pixels(ld);
	if (status != SIM_IMAGE_OK)
		goto out;
	status = SIM_IMAGE_CORRUPT; /* what a longjmp from here means */
	while (cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW row = img->pixels + (size_t)cinfo.output_scanline * img->stride;
		if (jpeg_read_scanlines(&cinfo, &row, 1) != 1)
			break;
		ld->rows_filled++;
		/* Missing data is filled in with grey and only warned about; a page
		 * that is partly made up is a broken page. Stop at once. */
		if (jf.pub.num_warnings)
			break;
	}
	if (jf.pub.num_warnings || ld->rows_filled != img->height) {
		status = fail(ld, SIM_IMAGE_CORRUPT, "JPEG: %s",
		              jf.msg[0] ? jf.msg : "incomplete image data");
		goto out;
	}
	status = SIM_IMAGE_OK;
out:
	/* Also frees what libjpeg allocated before an error. */
	jpeg_destroy_decompress(&cinfo);
	return status;
}

/* ---- PNM ---------------------------------------------------------------- */

static bool pnm_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Reads one unsigned decimal token, skipping whitespace and # comments before
 * it. The character after the digits must be whitespace (consumed: for the
 * last header field that is the single separator before the raster) or the
 * start of a comment. Values above limit fail with status over, never wrap.
 */
static enum sim_image_status pnm_uint(struct loader *ld, const char *what, uint32_t limit,
                                      enum sim_image_status over, uint32_t *out)
{
	FILE *f = ld->f;
	int c;
	for (;;) {
		c = getc(f);
		if (c == '#') {
			while (c != EOF && c != '\n' && c != '\r')
				c = getc(f);
		}
		if (c == EOF)
			return read_error(ld, "PNM");
		if (!pnm_space(c))
			break;
	}
	if (c < '0' || c > '9')
		return fail(ld, SIM_IMAGE_CORRUPT, "PNM: %s: not a number", what);
	uint64_t v = 0;
	while (c >= '0' && c <= '9') {
		v = v * 10 + (uint64_t)(c - '0');
		if (v > limit)
			return fail(ld, over, "PNM: %s above %u", what, limit);
		c = getc(f);
	}
	if (c == '#') {
		while (c != EOF && c != '\n' && c != '\r')
			c = getc(f);
	}
	if (c != EOF && !pnm_space(c))
		return fail(ld, SIM_IMAGE_CORRUPT, "PNM: %s: junk after the number", what);
	if (c == EOF && ferror(f))
		return read_error(ld, "PNM");
	*out = (uint32_t)v;
	return SIM_IMAGE_OK;
}

static uint8_t pnm_scale(uint32_t v, uint32_t maxval)
{
	return (uint8_t)((v * 255 + maxval / 2) / maxval);
}

static enum sim_image_status pnm_raster_raw(struct loader *ld, uint32_t maxval)
{
	struct sim_image *img = ld->img;
	for (uint32_t y = 0; y < img->height; y++) {
		uint8_t *row = img->pixels + (size_t)y * img->stride;
		if (fread(row, 1, img->stride, ld->f) != img->stride)
			return read_error(ld, "PNM raster");
		ld->rows_filled++;
		if (maxval == 255)
			continue;
		for (size_t i = 0; i < img->stride; i++) {
			if (row[i] > maxval)
				return fail(ld, SIM_IMAGE_CORRUPT, "PNM: sample %u above maxval %u",
				            row[i], maxval);
			row[i] = pnm_scale(row[i], maxval);
		}
	}
	return SIM_IMAGE_OK;
}

static enum sim_image_status pnm_raster_ascii(struct loader *ld, uint32_t maxval)
{
	struct sim_image *img = ld->img;
	for (uint32_t y = 0; y < img->height; y++) {
		uint8_t *row = img->pixels + (size_t)y * img->stride;
		for (size_t i = 0; i < img->stride; i++) {
			uint32_t v;
			enum sim_image_status status =
			        pnm_uint(ld, "sample", maxval, SIM_IMAGE_CORRUPT, &v);
			if (status != SIM_IMAGE_OK)
				return status;
			row[i] = pnm_scale(v, maxval);
		}
		ld->rows_filled++;
	}
	return SIM_IMAGE_OK;
}

/* P4: 1 bit a pixel, 1 is black, rows padded to a byte. */
static enum sim_image_status pnm_raster_bits(struct loader *ld)
{
	struct sim_image *img = ld->img;
	size_t row_bytes = ((size_t)img->width + 7) / 8;
	uint8_t *bits = malloc(row_bytes);
	if (!bits)
		return fail(ld, SIM_IMAGE_NO_MEMORY, "PNM: out of memory");
	enum sim_image_status status = SIM_IMAGE_OK;
	for (uint32_t y = 0; y < img->height; y++) {
		uint8_t *row = img->pixels + (size_t)y * img->stride;
		if (fread(bits, 1, row_bytes, ld->f) != row_bytes) {
			status = read_error(ld, "PNM raster");
			goto out;
		}
		for (uint32_t x = 0; x < img->width; x++)
			row[x] = (bits[x / 8] & (0x80u >> (x % 8))) ? 0 : 255;
		ld->rows_filled++;
	}
out:
	explicit_bzero(bits, row_bytes);
	free(bits);
	return status;
}

static enum sim_image_status load_pnm(struct loader *ld)
{
	struct sim_image *img = ld->img;
	uint8_t magic[2];
	uint32_t width, height, maxval = 1;
	enum sim_image_status status;

	if (fread(magic, 1, 2, ld->f) != 2)
		return read_error(ld, "PNM");
	const int kind = magic[1] - '0';
	if (kind < 2 || kind > 6)
		return fail(ld, SIM_IMAGE_FORMAT, "PNM: P%c not supported (P2 to P6 are)",
		            magic[1] >= 0x20 && magic[1] < 0x7f ? magic[1] : '?');
	img->channels = (kind == 3 || kind == 6) ? 3 : 1;
	status = pnm_uint(ld, "width", ld->max_width, SIM_IMAGE_TOO_LARGE, &width);
	if (status != SIM_IMAGE_OK)
		return status;
	status = pnm_uint(ld, "height", ld->max_height, SIM_IMAGE_TOO_LARGE, &height);
	if (status != SIM_IMAGE_OK)
		return status;
	if (kind != 4) {
		status = pnm_uint(ld, "maxval", 65535, SIM_IMAGE_CORRUPT, &maxval);
		if (status != SIM_IMAGE_OK)
			return status;
		if (maxval == 0)
			return fail(ld, SIM_IMAGE_CORRUPT, "PNM: maxval 0");
		if (maxval > 255)
			return fail(ld, SIM_IMAGE_FORMAT, "PNM: 16-bit samples (maxval %u)",
			            maxval);
	}
	status = check_size(ld, "PNM", width, height);
	if (status != SIM_IMAGE_OK)
		return status;
	img->stride = (size_t)width * img->channels;
	if (ld->header_only)
		return SIM_IMAGE_OK;

	/* Refuse before allocating if the data cannot be there: raw rasters need
	 * their exact size, plain ones at least a digit and a space a sample. */
	uint64_t need;
	if (kind == 4)
		need = ((uint64_t)width + 7) / 8 * height;
	else if (kind >= 5)
		need = (uint64_t)img->stride * height;
	else
		need = (uint64_t)img->stride * height * 2 - 1;
	long long left = bytes_left(ld->f);
	if (left >= 0 && (uint64_t)left < need)
		return fail(ld, SIM_IMAGE_CORRUPT, "PNM: %lld bytes of raster, %ux%u needs %llu",
		            left, width, height, (unsigned long long)need);

	status = alloc_pixels(ld);
	if (status != SIM_IMAGE_OK)
		return status;
	if (kind == 4)
		return pnm_raster_bits(ld);
	if (kind >= 5)
		return pnm_raster_raw(ld, maxval);
	return pnm_raster_ascii(ld, maxval);
}

/* ---- entry points ------------------------------------------------------- */

static enum sim_image_status load_stream(struct loader *ld)
{
	struct sim_image *img = ld->img;
	uint8_t sig[8];
	size_t got = fread(sig, 1, sizeof(sig), ld->f);
	if (got < sizeof(sig) && ferror(ld->f))
		return fail(ld, SIM_IMAGE_IO, "read error");
	if (got == 0)
		return fail(ld, SIM_IMAGE_FORMAT, "empty file");
	if (fseek(ld->f, 0, SEEK_SET) != 0)
		return fail(ld, SIM_IMAGE_IO, "cannot seek");

	img->xdpi = img->ydpi = SIM_IMAGE_DEFAULT_DPI;
	if (got == 8 && png_sig_cmp(sig, 0, 8) == 0) {
		img->format = SIM_IMAGE_FORMAT_PNG;
		return load_png(ld);
	}
	if (got >= 3 && sig[0] == 0xff && sig[1] == 0xd8 && sig[2] == 0xff) {
		img->format = SIM_IMAGE_FORMAT_JPEG;
		return load_jpeg(ld);
	}
	if (got >= 2 && sig[0] == 'P' && sig[1] >= '1' && sig[1] <= '7') {
		img->format = SIM_IMAGE_FORMAT_PNM;
		return load_pnm(ld);
	}
	return fail(ld, SIM_IMAGE_FORMAT, "not a PNG, JPEG or PNM image");
}

static enum sim_image_status load(struct sim_image *img, FILE *f, const struct sim_image_opts *opts,
                                  char *err, size_t errlen)
{
	struct loader ld = {
	        .f = f,
	        .img = img,
	        .header_only = opts && opts->header_only,
	        .max_width = SIM_IMAGE_MAX_WIDTH,
	        .max_height = SIM_IMAGE_MAX_HEIGHT,
	        .err = err,
	        .errlen = errlen,
	};
	if (opts && opts->max_width && opts->max_width < ld.max_width)
		ld.max_width = opts->max_width;
	if (opts && opts->max_height && opts->max_height < ld.max_height)
		ld.max_height = opts->max_height;
	enum sim_image_status status = load_stream(&ld);
	if (status != SIM_IMAGE_OK)
		discard(&ld);
	return status;
}

enum sim_image_status sim_image_load_memory(struct sim_image *img, const void *data, size_t size,
                                            const struct sim_image_opts *opts, char *err,
                                            size_t errlen)
{
	struct loader ld = {.img = img, .err = err, .errlen = errlen};
	memset(img, 0, sizeof(*img));
	if (err && errlen)
		err[0] = '\0';
	if (!data || size == 0)
		return fail(&ld, SIM_IMAGE_FORMAT, "empty file");
	/* fmemopen() takes a non-const buffer but mode "r" never writes to it. */
	FILE *f = fmemopen((void *)(uintptr_t)data, size, "r");
	if (!f)
		return fail(&ld, SIM_IMAGE_NO_MEMORY, "fmemopen: %s", strerror(errno));
	enum sim_image_status status = load(img, f, opts, err, errlen);
	fclose(f);
	return status;
}

enum sim_image_status sim_image_load_file(struct sim_image *img, const char *path,
                                          const struct sim_image_opts *opts, char *err,
                                          size_t errlen)
{
	struct loader ld = {.img = img, .err = err, .errlen = errlen};
	enum sim_image_status status = SIM_IMAGE_IO;
	/* stdio's buffer holds file content; ours is cleared afterwards. */
	char iobuf[16384];
	FILE *f = NULL;
	struct stat st;

	memset(img, 0, sizeof(*img));
	if (err && errlen)
		err[0] = '\0';
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fail(&ld, SIM_IMAGE_IO, "%s", strerror(errno));
	if (fstat(fd, &st) != 0) {
		status = fail(&ld, SIM_IMAGE_IO, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		status = fail(&ld, SIM_IMAGE_IO, "not a regular file");
		goto out;
	}
	f = fdopen(fd, "rb");
	if (!f) {
		status = fail(&ld, SIM_IMAGE_IO, "%s", strerror(errno));
		goto out;
	}
	fd = -1; /* owned by f now */
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	status = load(img, f, opts, err, errlen);
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	explicit_bzero(iobuf, sizeof(iobuf));
	return status;
}
