/*
 * fuzz_image.c - the simulated scanner's image loader (PNG, JPEG, PNM) on
 * arbitrary bytes. Besides the sanitizers' checks it asserts that a full
 * decode agrees with the header-only read and fills the buffer it claims.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_image: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Tighter than the driver's limits so a decode costs milliseconds. */
	struct sim_image_opts opts = {.max_width = 2048, .max_height = 2048};
	struct sim_image_opts head_opts = opts;
	struct sim_image head, full;
	char why[256];

	head_opts.header_only = true;
	enum sim_image_status hs =
	        sim_image_load_memory(&head, data, size, &head_opts, why, sizeof(why));
	check(hs == SIM_IMAGE_OK || (why[0] && strlen(why) < sizeof(why)), "no reason given");
	check(head.pixels == NULL, "header-only load decoded pixels");
	enum sim_image_status fs =
	        sim_image_load_memory(&full, data, size, &opts, why, sizeof(why));
	check(fs == SIM_IMAGE_OK || (why[0] && strlen(why) < sizeof(why)), "no reason given");
	if (fs == SIM_IMAGE_OK) {
		check(hs == SIM_IMAGE_OK, "decodes but its header does not");
		check(head.width == full.width && head.height == full.height &&
		              head.channels == full.channels && head.xdpi == full.xdpi &&
		              head.ydpi == full.ydpi && head.format == full.format,
		      "header and decode disagree");
		check(full.width >= 1 && full.width <= 2048 && full.height >= 1 &&
		              full.height <= 2048,
		      "size outside the limits");
		check(full.channels == 1 || full.channels == 3, "bad channel count");
		check(full.stride == (size_t)full.width * full.channels, "bad stride");
		check(full.xdpi >= SIM_IMAGE_MIN_DPI && full.xdpi <= SIM_IMAGE_MAX_DPI &&
		              full.ydpi >= SIM_IMAGE_MIN_DPI && full.ydpi <= SIM_IMAGE_MAX_DPI,
		      "resolution out of range");
		check(full.pixels != NULL, "no pixels");
		/* Touch every byte so ASan sees the buffer is as large as claimed. */
		unsigned sum = 0;
		for (size_t i = 0; i < full.stride * full.height; i++)
			sum += full.pixels[i];
		volatile unsigned sink = sum;
		(void)sink;
	} else {
		check(full.pixels == NULL && full.width == 0, "failed load left an image");
	}
	sim_image_finish(&head);
	sim_image_finish(&full);
	return 0;
}
