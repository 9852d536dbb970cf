/*
 * case_rules.c - checks of the case number, the family name and the birth date.
 *
 * Work buffers that held typed text are zeroed before returning: they are on
 * the stack, and a later crash dump must not show them.
 */
#include "case_rules.h"

#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "secmem.h"
#include "utf8.h"

struct case_rules {
	regex_t re[CASE_KIND_LAST];
};

const char *case_check_name(enum case_check check)
{
	static const char *const names[CASE_CHECK_LAST] = {
	        [CASE_OK] = "ok",
	        [CASE_EMPTY] = "empty",
	        [CASE_NUMBER_FORMAT] = "number-format",
	        [CASE_NAME_TOO_LONG] = "name-too-long",
	        [CASE_NAME_CHARACTERS] = "name-characters",
	        [CASE_NAME_START] = "name-start",
	        [CASE_DATE_FORMAT] = "date-format",
	        [CASE_DATE_INVALID] = "date-invalid",
	        [CASE_DATE_FUTURE] = "date-future",
	        [CASE_DATE_TOO_YOUNG] = "date-too-young",
	        [CASE_DATE_TOO_OLD] = "date-too-old",
	};
	return (unsigned)check < CASE_CHECK_LAST ? names[check] : "";
}

void case_date_today(struct case_date *out)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	*out = (struct case_date){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
}

static bool compile(regex_t *re, const char *pattern, char *err, size_t err_len)
{
	size_t len = strlen(pattern) + 5;
	char *anchored = malloc(len);
	if (!anchored) {
		if (err)
			snprintf(err, err_len, "out of memory");
		return false;
	}
	snprintf(anchored, len, "^(%s)$", pattern);
	/* The typed number is upper-cased before matching; REG_ICASE lets a
	 * configured pattern written with lower-case letters ([a-z]) match too,
	 * instead of never matching at all. */
	int rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB | REG_ICASE);
	free(anchored);
	if (rc != 0) {
		if (err) {
			char why[128];
			regerror(rc, re, why, sizeof(why));
			snprintf(err, err_len, "pattern '%s': %s", pattern, why);
		}
		return false;
	}
	return true;
}

struct case_rules *case_rules_create(const char *kundennummer_pattern, const char *bg_pattern,
                                     char *err, size_t err_len)
{
	struct case_rules *rules = calloc(1, sizeof(*rules));
	if (!rules) {
		if (err)
			snprintf(err, err_len, "out of memory");
		return NULL;
	}
	const char *k = kundennummer_pattern && *kundennummer_pattern
	                        ? kundennummer_pattern
	                        : CASE_RULES_DEFAULT_KUNDENNUMMER;
	const char *b = bg_pattern && *bg_pattern ? bg_pattern : CASE_RULES_DEFAULT_BG;
	if (!compile(&rules->re[CASE_KIND_KUNDENNUMMER], k, err, err_len)) {
		free(rules);
		return NULL;
	}
	if (!compile(&rules->re[CASE_KIND_BG], b, err, err_len)) {
		regfree(&rules->re[CASE_KIND_KUNDENNUMMER]);
		free(rules);
		return NULL;
	}
	return rules;
}

void case_rules_destroy(struct case_rules *rules)
{
	if (!rules)
		return;
	for (int i = 0; i < CASE_KIND_LAST; i++)
		regfree(&rules->re[i]);
	free(rules);
}

enum case_check case_rules_check_number(const struct case_rules *rules, const char *typed,
                                        char out[CASE_NUMBER_MAX], enum case_kind *kind)
{
	enum case_check result = CASE_NUMBER_FORMAT;
	char norm[CASE_NUMBER_MAX];
	size_t n = 0;
	memset(out, 0, CASE_NUMBER_MAX);
	for (const char *c = typed; *c; c++) {
		if (*c == ' ' || *c == '\t')
			continue;
		if (n + 1 >= sizeof(norm))
			goto out;
		char ch = *c;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		/* Only ASCII letters and digits can be part of a case number; this
		 * also keeps locale-dependent bracket ranges out of play. */
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
			goto out;
		norm[n++] = ch;
	}
	norm[n] = '\0';
	if (n == 0) {
		result = CASE_EMPTY;
		goto out;
	}
	for (int i = 0; i < CASE_KIND_LAST; i++) {
		if (regexec(&rules->re[i], norm, 0, NULL, 0) == 0) {
			memcpy(out, norm, n + 1);
			if (kind)
				*kind = (enum case_kind)i;
			result = CASE_OK;
			break;
		}
	}
out:
	secmem_zero(norm, sizeof(norm));
	return result;
}

enum char_class {
	CHAR_OTHER,  /* not allowed in a name */
	CHAR_LETTER, /* may start a name */
	CHAR_MARK,   /* combining mark: on a letter, at most NAME_MAX_MARKS in a row */
	CHAR_JOINER, /* ZWNJ, ZWJ: between two letters */
	CHAR_PUNCT,  /* hyphen, apostrophe: between two letters */
	CHAR_SPACE,
};

/* Combining marks on one letter: Vietnamese needs two, pointed Hebrew three
 * (dagesh, vowel, cantillation is not typed), Arabic shadda with a vowel two. */
#define NAME_MAX_MARKS 3

/* Letters of the scripts a kiosk customer's name is written in. Ranges are
 * inclusive; digits, symbols and punctuation of those blocks are left out. */
static const struct {
	uint32_t lo, hi;
	enum char_class cls;
} ranges[] = {
        {'A', 'Z', CHAR_LETTER},
        {'a', 'z', CHAR_LETTER},
        {0x00c0, 0x00d6, CHAR_LETTER},
        {0x00d8, 0x00f6, CHAR_LETTER},
        {0x00f8, 0x024f, CHAR_LETTER}, /* Latin-1 letters, Latin Extended-A/B */
        {0x02bc, 0x02bc, CHAR_PUNCT},  /* modifier apostrophe (Ukrainian) */
        {0x0300, 0x036f, CHAR_MARK},   /* combining diacritics */
        {0x0386, 0x0386, CHAR_LETTER},
        {0x0388, 0x03ff, CHAR_LETTER}, /* Greek */
        {0x0400, 0x0482, CHAR_LETTER},
        {0x0483, 0x0489, CHAR_MARK},
        {0x048a, 0x052f, CHAR_LETTER}, /* Cyrillic and its supplement */
        {0x0531, 0x0556, CHAR_LETTER},
        {0x0561, 0x0587, CHAR_LETTER}, /* Armenian */
        /* Hebrew: points are marks; maqaf is its hyphen; paseq, sof pasuq
         * and nun hafukha are punctuation no name contains. */
        {0x0591, 0x05bd, CHAR_MARK},
        {0x05be, 0x05be, CHAR_PUNCT},
        {0x05bf, 0x05bf, CHAR_MARK},
        {0x05c1, 0x05c2, CHAR_MARK},
        {0x05c4, 0x05c5, CHAR_MARK},
        {0x05c7, 0x05c7, CHAR_MARK},
        {0x05d0, 0x05ea, CHAR_LETTER},
        /* Arabic; tatweel (0640) stretches a word for layout, it is no letter. */
        {0x0620, 0x063f, CHAR_LETTER},
        {0x0641, 0x064a, CHAR_LETTER},
        {0x064b, 0x065f, CHAR_MARK},
        {0x066e, 0x066f, CHAR_LETTER},
        {0x0670, 0x0670, CHAR_MARK},
        {0x0671, 0x06d3, CHAR_LETTER},
        {0x06d5, 0x06d5, CHAR_LETTER},
        {0x06d6, 0x06dc, CHAR_MARK},
        {0x06df, 0x06e8, CHAR_MARK},
        {0x06ea, 0x06ed, CHAR_MARK},
        {0x06ee, 0x06ef, CHAR_LETTER},
        {0x06fa, 0x06fc, CHAR_LETTER},
        {0x06ff, 0x06ff, CHAR_LETTER},
        {0x0750, 0x077f, CHAR_LETTER}, /* Arabic Supplement */
        {0x08a0, 0x08c9, CHAR_LETTER},
        {0x08ca, 0x08ff, CHAR_MARK},   /* Arabic Extended-A */
        {0x10a0, 0x10ff, CHAR_LETTER}, /* Georgian */
        {0x1e00, 0x1eff, CHAR_LETTER}, /* Latin Extended Additional (Vietnamese) */
        {0x200c, 0x200d, CHAR_JOINER}, /* ZWNJ, ZWJ (Persian names) */
        {0x2019, 0x2019, CHAR_PUNCT},  /* right single quotation mark as apostrophe */
        {0xfb50, 0xfdfb, CHAR_LETTER},
        {0xfe70, 0xfefc, CHAR_LETTER}, /* Arabic forms */
};

static enum char_class classify(uint32_t cp)
{
	if (cp == ' ')
		return CHAR_SPACE;
	if (cp == '-' || cp == '\'')
		return CHAR_PUNCT;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (cp >= ranges[i].lo && cp <= ranges[i].hi)
			return ranges[i].cls;
	return CHAR_OTHER;
}

enum case_check case_check_family_name(const char *typed, char out[CASE_NAME_MAX])
{
	enum case_check result = CASE_OK;
	const char *s = typed;
	size_t n = 0, chars = 0;
	bool pending_space = false;
	enum char_class prev = CHAR_SPACE; /* what came last (spaces: before the start) */
	unsigned marks = 0;                /* combining marks on the current letter */
	memset(out, 0, CASE_NAME_MAX);
	while (*s) {
		uint32_t cp;
		size_t len = utf8_decode(s, &cp);
		if (!len) {
			result = CASE_NAME_CHARACTERS;
			goto out;
		}
		enum char_class cls = classify(cp);
		if (cls == CHAR_OTHER) {
			result = CASE_NAME_CHARACTERS;
			goto out;
		}
		if (cls == CHAR_SPACE) {
			/* A hyphen, apostrophe or joiner stands between letters. */
			if (n > 0 && (prev == CHAR_PUNCT || prev == CHAR_JOINER)) {
				result = CASE_NAME_CHARACTERS;
				goto out;
			}
			pending_space = n > 0; /* leading spaces are dropped */
			prev = CHAR_SPACE;
			s += len;
			continue;
		}
		if (n == 0 && cls != CHAR_LETTER) {
			result = CASE_NAME_START;
			goto out;
		}
		bool on_letter = !pending_space && (prev == CHAR_LETTER || prev == CHAR_MARK);
		switch (cls) {
		case CHAR_MARK:
			if (!on_letter || ++marks > NAME_MAX_MARKS)
				result = CASE_NAME_CHARACTERS;
			break;
		case CHAR_JOINER:
		case CHAR_PUNCT:
			if (!on_letter)
				result = CASE_NAME_CHARACTERS;
			break;
		case CHAR_LETTER:
			marks = 0;
			break;
		case CHAR_OTHER:
		case CHAR_SPACE:
			break;
		}
		if (result != CASE_OK)
			goto out;
		size_t space = pending_space ? 1 : 0;
		if (chars + space + 1 > CASE_NAME_MAX_CHARS || n + space + len >= CASE_NAME_MAX) {
			result = CASE_NAME_TOO_LONG;
			goto out;
		}
		if (pending_space) {
			out[n++] = ' ';
			chars++;
			pending_space = false;
		}
		memcpy(out + n, s, len);
		n += len;
		chars++;
		s += len;
		prev = cls;
	}
	if (n == 0)
		result = CASE_EMPTY;
	else if (prev == CHAR_PUNCT || prev == CHAR_JOINER)
		result = CASE_NAME_CHARACTERS; /* "Anna-", "Anna'" */
out:
	if (result != CASE_OK)
		secmem_zero(out, CASE_NAME_MAX);
	return result;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Reads 1..max digits. Returns the count read. */
static size_t read_number(const char *s, size_t max, int *value)
{
	size_t i = 0;
	int v = 0;
	while (i < max && s[i] >= '0' && s[i] <= '9')
		v = v * 10 + (s[i++] - '0');
	*value = v;
	return i;
}

enum case_check case_check_birth_date(const char *typed, const struct case_date *today,
                                      char out[CASE_DATE_MAX])
{
	enum case_check result = CASE_DATE_FORMAT;
	char compact[16];
	size_t n = 0;
	int d = 0, m = 0, y = 0;
	memset(out, 0, CASE_DATE_MAX);
	for (const char *c = typed; *c; c++) {
		if (*c == ' ')
			continue;
		if (n + 1 >= sizeof(compact))
			goto out;
		compact[n++] = *c;
	}
	compact[n] = '\0';
	if (n == 0) {
		result = CASE_EMPTY;
		goto out;
	}
	if (n == 8 && read_number(compact, 8, &d) == 8) {
		/* DDMMYYYY */
		d = (compact[0] - '0') * 10 + (compact[1] - '0');
		m = (compact[2] - '0') * 10 + (compact[3] - '0');
		y = atoi(compact + 4);
	} else {
		size_t i = 0, k;
		if (!(k = read_number(compact, 2, &d)) || compact[k] != '.')
			goto out;
		i = k + 1;
		if (!(k = read_number(compact + i, 2, &m)) || compact[i + k] != '.')
			goto out;
		i += k + 1;
		if (read_number(compact + i, 4, &y) != 4 || compact[i + 4] != '\0')
			goto out;
	}
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) {
		result = CASE_DATE_INVALID;
		goto out;
	}
	long born = (long)y * 10000 + m * 100 + d;
	long now = (long)today->year * 10000 + today->month * 100 + today->day;
	if (born > now) {
		result = CASE_DATE_FUTURE;
		goto out;
	}
	/* Full years: the birthday this year counts once it has come. */
	long age = (now - born) / 10000;
	if (age < CASE_MIN_AGE) {
		result = CASE_DATE_TOO_YOUNG;
		goto out;
	}
	if (age > CASE_MAX_AGE) {
		result = CASE_DATE_TOO_OLD;
		goto out;
	}
	/* y is 1..9999 (four digits read), m and d two digits at most. */
	snprintf(out, CASE_DATE_MAX, "%04d-%02d-%02d", y % 10000, m % 100, d % 100);
	result = CASE_OK;
out:
	secmem_zero(compact, sizeof(compact));
	d = m = y = 0;
	return result;
}
