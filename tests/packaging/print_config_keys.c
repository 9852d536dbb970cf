/*
 * print_config_keys - prints the keys the configuration parser knows, one
 * "section key" a line (config_key_at()), for test_man.py's check that
 * scankiosk.conf(5) names each one.
 */
#include <stdio.h>

#include "config.h"

int main(void)
{
	const char *section, *name;
	for (size_t i = 0; config_key_at(i, &section, &name); i++)
		printf("%s %s\n", section, name);
	return fflush(stdout) == 0 ? 0 : 1;
}
