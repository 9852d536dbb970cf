/*
 * case_rules.h - checks what a customer types to identify the case.
 *
 * Kundennummer and BG-Nummer: the typed text is normalised first (spaces
 * removed, a-z upper-cased), then matched whole against POSIX extended
 * regular expressions from the configuration ([kiosk] kundennummer_pattern,
 * bg_pattern) or the defaults below, ignoring case (a pattern written with
 * [a-z] matches too). Only ASCII letters and digits can pass.
 *
 * Family name: 1..CASE_NAME_MAX_CHARS characters after trimming; letters of
 * any script the kiosk offers (Latin with diacritics, Greek, Cyrillic,
 * Armenian, Georgian, Hebrew, Arabic incl. Persian/Urdu letters); combining
 * marks only on a letter, at most 3 on one; ZWNJ/ZWJ, hyphens (- and the
 * Hebrew maqaf) and apostrophes (', U+2019, U+02BC) only between two letters
 * (so none at the end, none twice in a row, none next to a space); single
 * spaces. It starts with a letter. Leading/trailing spaces are dropped, runs
 * of spaces become one. A misplaced mark or sign is CASE_NAME_CHARACTERS.
 * The text is not normalised (NFC): a name typed with a combining mark is
 * kept as typed.
 *
 * Birth date: typed on a keypad as DD.MM.YYYY (also D.M.YYYY, or 8 digits
 * DDMMYYYY); a real calendar date, not in the future, age 14..120 on "today".
 * Stored as YYYY-MM-DD.
 *
 * Every check returns a reason the UI translates into the message next to the
 * field. The functions never log the text they check.
 */
#ifndef SCANKIOSK_CASE_RULES_H
#define SCANKIOSK_CASE_RULES_H

#include <stdbool.h>
#include <stddef.h>

/* Kundennummer: 3 digits, a letter, 6 digits, e.g. 123A456789. */
#define CASE_RULES_DEFAULT_KUNDENNUMMER "[0-9]{3}[A-Z][0-9]{6}"
/* BG-Nummer (Bedarfsgemeinschaft): 5 digits, BG, 7 digits, e.g. 12345BG0012345. */
#define CASE_RULES_DEFAULT_BG "[0-9]{5}BG[0-9]{7}"

#define CASE_NUMBER_MAX     33                            /* normalised case number, with NUL */
#define CASE_NAME_MAX_CHARS 80                            /* code points */
#define CASE_NAME_MAX       (CASE_NAME_MAX_CHARS * 4 + 1) /* bytes, with NUL */
#define CASE_DATE_MAX       11                            /* "YYYY-MM-DD" with NUL */
#define CASE_MIN_AGE        14
#define CASE_MAX_AGE        120

/* Why a field is not accepted. Stable: the UI maps each to a message. */
enum case_check {
	CASE_OK,              /* accepted */
	CASE_EMPTY,           /* nothing typed */
	CASE_NUMBER_FORMAT,   /* neither a Kundennummer nor a BG-Nummer */
	CASE_NAME_TOO_LONG,   /* more than CASE_NAME_MAX_CHARS characters */
	CASE_NAME_CHARACTERS, /* a digit, symbol or unsupported character */
	CASE_NAME_START,      /* does not start with a letter (e.g. "-Anna") */
	CASE_DATE_FORMAT,     /* not DD.MM.YYYY */
	CASE_DATE_INVALID,    /* no such day (31.02.1990, month 13) */
	CASE_DATE_FUTURE,     /* after today */
	CASE_DATE_TOO_YOUNG,  /* younger than CASE_MIN_AGE */
	CASE_DATE_TOO_OLD,    /* older than CASE_MAX_AGE */
	CASE_CHECK_LAST
};

/* A stable lower-case id for logs and tests ("ok", "empty", "number-format", ...).
 * It names the reason, never the text. */
const char *case_check_name(enum case_check check);

enum case_kind { CASE_KIND_KUNDENNUMMER, CASE_KIND_BG, CASE_KIND_LAST };

/* A calendar day (today, for the age checks). */
struct case_date {
	int year;  /* e.g. 2025 */
	int month; /* 1..12 */
	int day;   /* 1..31 */
};

/* Today in local time (the kiosk's zone). */
void case_date_today(struct case_date *out);

struct case_rules;

/*
 * Compiles the two patterns (NULL or "": the defaults). Returns NULL and a
 * reason in err (may be NULL) when a pattern does not compile or memory is
 * short. The result is read-only and may be shared between threads.
 */
struct case_rules *case_rules_create(const char *kundennummer_pattern, const char *bg_pattern,
                                     char *err, size_t err_len);
void case_rules_destroy(struct case_rules *rules); /* accepts NULL */

/* Checks a typed case number. On CASE_OK, out holds the normalised number and
 * *kind (may be NULL) which pattern matched. out is zeroed on failure. */
enum case_check case_rules_check_number(const struct case_rules *rules, const char *typed,
                                        char out[CASE_NUMBER_MAX], enum case_kind *kind);

/* Checks a typed family name; on CASE_OK out holds it trimmed. */
enum case_check case_check_family_name(const char *typed, char out[CASE_NAME_MAX]);

/* Checks a typed birth date against today; on CASE_OK out is "YYYY-MM-DD". */
enum case_check case_check_birth_date(const char *typed, const struct case_date *today,
                                      char out[CASE_DATE_MAX]);

#endif
