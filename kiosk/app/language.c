/*
 * language.c - codes and own names of the kiosk's languages.
 */
#include "language.h"

#include <string.h>

static const struct {
	const char *code;
	const char *native;
	bool rtl;
} languages[LANGUAGE_LAST] = {
        [LANGUAGE_DE] = {"de", "Deutsch", false},    [LANGUAGE_EN] = {"en", "English", false},
        [LANGUAGE_UK] = {"uk", "Українська", false}, [LANGUAGE_RU] = {"ru", "Русский", false},
        [LANGUAGE_TR] = {"tr", "Türkçe", false},     [LANGUAGE_AR] = {"ar", "العربية", true},
};

const char *language_code(enum language lang)
{
	return (unsigned)lang < LANGUAGE_LAST ? languages[lang].code : "";
}

const char *language_native_name(enum language lang)
{
	return (unsigned)lang < LANGUAGE_LAST ? languages[lang].native : "";
}

bool language_is_rtl(enum language lang)
{
	return (unsigned)lang < LANGUAGE_LAST && languages[lang].rtl;
}

bool language_from_code(const char *code, enum language *out)
{
	if (!code)
		return false;
	for (int i = 0; i < LANGUAGE_LAST; i++) {
		if (strcmp(code, languages[i].code) == 0) {
			*out = (enum language)i;
			return true;
		}
	}
	return false;
}
