/* shot.c - PNG screenshots (see shot.h). */
#include "shot.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secmem.h"

/* Encodes rows of RGB; libpng reports errors by longjmp, so nothing here
 * changes after setjmp. */
static int write_png(FILE *f, const unsigned char *pixels, int w, int h)
{
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (!png)
		return -1;
	png_infop info = png_create_info_struct(png);
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		return -1;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return -1;
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
	             PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_compression_level(png, 3);
	/* No row filters: tests decode these with Python's zlib alone, and
	 * undoing filters byte by byte in Python is slow. */
	png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
	png_write_info(png, info);
	for (int y = 0; y < h; y++)
		png_write_row(png, pixels + (size_t)y * (size_t)w * 3);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return 0;
}

int shot_png(SDL_Renderer *renderer, const char *path)
{
	int rc = -1;
	int w = 0, h = 0;
	unsigned char *pixels = NULL;
	size_t size = 0;
	FILE *f = NULL;

	if (SDL_GetRendererOutputSize(renderer, &w, &h) != 0 || w <= 0 || h <= 0) {
		fprintf(stderr, "shot: no renderer output: %s\n", SDL_GetError());
		return -1;
	}
	size = (size_t)w * (size_t)h * 3;
	pixels = malloc(size);
	if (!pixels)
		goto out;
	if (SDL_RenderReadPixels(renderer, NULL, SDL_PIXELFORMAT_RGB24, pixels, w * 3) != 0) {
		fprintf(stderr, "shot: reading pixels: %s\n", SDL_GetError());
		goto out;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "shot: %s: %s\n", path, strerror(errno));
		goto out;
	}
	f = fdopen(fd, "wb");
	if (!f) {
		close(fd);
		goto out;
	}
	if (write_png(f, pixels, w, h) != 0) {
		fprintf(stderr, "shot: %s: PNG encoding failed\n", path);
		goto out;
	}
	rc = 0;
out:
	if (f && fclose(f) != 0 && rc == 0) {
		fprintf(stderr, "shot: %s: %s\n", path, strerror(errno));
		rc = -1;
	}
	secmem_free(pixels, size);
	return rc;
}
