/*
 * fuzz_config.c - the INI parser with any text: it accepts or gives one
 * "name:line: reason", never crashes, never leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct config cfg;
	char err[CONFIG_ERROR_MAX];
	config_init(&cfg);
	if (!config_load_string(&cfg, "fuzz.conf", text, err)) {
		if (strncmp(err, "fuzz.conf:", 10) != 0)
			abort();
	}
	config_finish(&cfg);
	free(text);
	return 0;
}
