/*
 * language.h - the six languages the kiosk speaks.
 *
 * German is the default and the language every session starts and ends in.
 * Codes are ISO 639-1 ("de", "uk", ...): they name the gettext catalogs and go
 * into the submission's metadata.
 */
#ifndef SCANKIOSK_LANGUAGE_H
#define SCANKIOSK_LANGUAGE_H

#include <stdbool.h>

enum language {
	LANGUAGE_DE, /* Deutsch (default) */
	LANGUAGE_EN, /* English */
	LANGUAGE_UK, /* Українська */
	LANGUAGE_RU, /* Русский */
	LANGUAGE_TR, /* Türkçe */
	LANGUAGE_AR, /* العربية, right-to-left */
	LANGUAGE_LAST
};

/* "de", "en", "uk", "ru", "tr", "ar"; "" for an out-of-range value. */
const char *language_code(enum language lang);

/* The language's own name for itself, UTF-8 ("Deutsch", "Українська", ...): the
 * label of its button, never translated. */
const char *language_native_name(enum language lang);

/* True for languages written right to left (Arabic): the UI mirrors its layout. */
bool language_is_rtl(enum language lang);

/* Looks a code up (exact, lower case). Returns false for an unknown code. */
bool language_from_code(const char *code, enum language *out);

#endif
