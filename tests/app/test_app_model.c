/*
 * test_app_model.c - the kiosk's model without a scanner or a spool: languages,
 * screens, the inactivity timer, field validation, the session's fields and
 * pages, the wipe, and the receipt's QR code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "case_rules.h"
#include "flow.h"
#include "idle.h"
#include "language.h"
#include "qr.h"
#include "session.h"

/* --- languages --- */

static void test_languages(void **state)
{
	(void)state;
	static const char *const codes[] = {"de", "en", "uk", "ru", "tr", "ar"};
	for (int i = 0; i < LANGUAGE_LAST; i++) {
		enum language l;
		assert_string_equal(language_code((enum language)i), codes[i]);
		assert_true(language_from_code(codes[i], &l));
		assert_int_equal(l, i);
		assert_true(strlen(language_native_name((enum language)i)) > 0);
		assert_int_equal(language_is_rtl((enum language)i), i == LANGUAGE_AR);
	}
	enum language l;
	assert_false(language_from_code("DE", &l));
	assert_false(language_from_code("fr", &l));
	assert_false(language_from_code(NULL, &l));
	assert_string_equal(language_native_name(LANGUAGE_UK), "Українська");
	assert_string_equal(language_code(LANGUAGE_LAST), "");
}

/* --- screens --- */

static void test_flow_names(void **state)
{
	(void)state;
	static const char *const names[] = {"welcome", "case",    "category", "scan",
	                                    "review",  "confirm", "receipt",  "timeout-warning"};
	for (int i = 0; i < FLOW_SCREEN_LAST; i++) {
		enum flow_screen s;
		assert_string_equal(flow_screen_name((enum flow_screen)i), names[i]);
		assert_true(flow_screen_from_name(names[i], &s));
		assert_int_equal(s, i);
	}
	enum flow_screen s;
	assert_false(flow_screen_from_name("Welcome", &s));
	assert_false(flow_screen_from_name("", &s));
}

static void test_flow_moves(void **state)
{
	(void)state;
	struct flow f;
	flow_init(&f);
	assert_int_equal(f.current, FLOW_WELCOME);
	/* Skipping ahead is refused. */
	assert_false(flow_go(&f, FLOW_SCAN));
	assert_false(flow_go(&f, FLOW_TIMEOUT_WARNING)); /* nothing to time out on welcome */
	assert_false(flow_go(&f, FLOW_WELCOME));         /* not a move */
	enum flow_screen path[] = {FLOW_CASE, FLOW_CATEGORY, FLOW_SCAN, FLOW_REVIEW};
	for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		assert_int_equal(flow_next(f.current), path[i]);
		assert_true(flow_go(&f, path[i]));
	}
	/* Add more pages, then back to review. */
	assert_true(flow_go(&f, FLOW_SCAN));
	assert_true(flow_go(&f, FLOW_REVIEW));
	assert_false(flow_go(&f, FLOW_RECEIPT)); /* not without confirming */
	assert_true(flow_go(&f, FLOW_CONFIRM));
	/* Timeout warning and "more time" return to the interrupted screen. */
	assert_true(flow_go(&f, FLOW_TIMEOUT_WARNING));
	assert_false(flow_go(&f, FLOW_CASE)); /* only back where it was, or welcome */
	assert_true(flow_resume(&f));
	assert_int_equal(f.current, FLOW_CONFIRM);
	assert_false(flow_resume(&f));
	assert_true(flow_go(&f, FLOW_RECEIPT));
	assert_int_equal(flow_back(FLOW_RECEIPT), FLOW_SCREEN_LAST); /* sent is sent */
	assert_false(flow_go(&f, FLOW_CONFIRM));
	assert_true(flow_go(&f, FLOW_WELCOME));
	/* Timeout to welcome from the warning. */
	assert_true(flow_go(&f, FLOW_CASE));
	assert_true(flow_go(&f, FLOW_TIMEOUT_WARNING));
	assert_true(flow_go(&f, FLOW_WELCOME));
	assert_int_equal(flow_back(FLOW_CASE), FLOW_WELCOME);
	assert_int_equal(flow_next(FLOW_TIMEOUT_WARNING), FLOW_SCREEN_LAST);
	assert_false(flow_allowed(FLOW_SCREEN_LAST, FLOW_WELCOME));
}

/* --- inactivity --- */

struct fake_clock {
	uint64_t ms;
};

static uint64_t fake_now(void *userdata)
{
	return ((struct fake_clock *)userdata)->ms;
}

static void test_idle_timer(void **state)
{
	(void)state;
	struct fake_clock c = {.ms = 1000000};
	struct idle_timer t;
	uint32_t left;
	idle_init(&t, 120, 30, fake_now, &c);
	assert_int_equal(idle_state(&t, &left), IDLE_ACTIVE);
	assert_int_equal(left, 0);
	assert_int_equal(idle_ms_to_next_change(&t), 120000);

	c.ms += 119999;
	assert_int_equal(idle_state(&t, NULL), IDLE_ACTIVE);
	idle_touch(&t); /* a touch restarts the timeout */
	c.ms += 119999;
	assert_int_equal(idle_state(&t, NULL), IDLE_ACTIVE);
	c.ms += 1;
	assert_int_equal(idle_state(&t, &left), IDLE_WARNING);
	assert_int_equal(left, 30);
	c.ms += 500;
	assert_int_equal(idle_state(&t, &left), IDLE_WARNING);
	assert_int_equal(left, 30); /* 29.5 s rounds up */
	assert_int_equal(idle_ms_to_next_change(&t), 500);
	/* A stray touch during the warning does not end it. */
	idle_touch(&t);
	assert_int_equal(idle_state(&t, NULL), IDLE_WARNING);
	/* "I need more time". */
	idle_extend(&t);
	assert_int_equal(idle_state(&t, NULL), IDLE_ACTIVE);
	c.ms += 120000 + 29999;
	assert_int_equal(idle_state(&t, &left), IDLE_WARNING);
	assert_int_equal(left, 1);
	c.ms += 1;
	assert_int_equal(idle_state(&t, &left), IDLE_EXPIRED);
	assert_int_equal(idle_ms_to_next_change(&t), -1);
	idle_touch(&t);
	assert_int_equal(idle_state(&t, NULL), IDLE_EXPIRED);

	/* The script's `idle SECONDS` advances the same clock. */
	idle_extend(&t);
	idle_advance(&t, 119);
	assert_int_equal(idle_state(&t, NULL), IDLE_ACTIVE);
	idle_advance(&t, 1);
	assert_int_equal(idle_state(&t, NULL), IDLE_WARNING);
	idle_advance(&t, 30);
	assert_int_equal(idle_state(&t, NULL), IDLE_EXPIRED);

	/* Held while scanning: time does not count (up to the hold deadline);
	 * release restarts it. */
	idle_extend(&t);
	idle_hold(&t);
	idle_hold(&t);
	c.ms += 500000;
	assert_int_equal(idle_state(&t, NULL), IDLE_ACTIVE);
	assert_int_equal(idle_ms_to_next_change(&t), 100000); /* the hold deadline */
	assert_false(idle_hold_overdue(&t));
	idle_release(&t);
	assert_int_equal(idle_state(&t, NULL), IDLE_ACTIVE);
	idle_release(&t);
	c.ms += 119999;
	assert_int_equal(idle_state(&t, NULL), IDLE_ACTIVE);
	c.ms += 1;
	assert_int_equal(idle_state(&t, NULL), IDLE_WARNING);
	idle_release(&t); /* unbalanced release is harmless */
	assert_string_equal(idle_state_name(IDLE_WARNING), "warning");
}

/* A hold is not for ever: a scan or commit that makes no progress for the
 * hold limit expires the session. */
static void test_idle_hold_deadline(void **state)
{
	(void)state;
	struct fake_clock c = {.ms = 1000};
	struct idle_timer t;
	idle_init(&t, 120, 30, fake_now, &c);
	idle_hold(&t);
	c.ms += (IDLE_HOLD_LIMIT_S - 1) * 1000u;
	assert_int_equal(idle_state(&t, NULL), IDLE_ACTIVE);
	idle_hold_renew(&t); /* a page arrived */
	c.ms += (IDLE_HOLD_LIMIT_S - 1) * 1000u;
	assert_int_equal(idle_state(&t, NULL), IDLE_ACTIVE);
	assert_int_equal(idle_ms_to_next_change(&t), 1000);
	c.ms += 1000;
	/* Stuck: the session expires although the hold was never released. */
	assert_true(idle_hold_overdue(&t));
	assert_int_equal(idle_state(&t, NULL), IDLE_EXPIRED);
	assert_int_equal(idle_ms_to_next_change(&t), -1);
	idle_touch(&t);
	assert_int_equal(idle_state(&t, NULL), IDLE_EXPIRED);
	/* The wipe starts afresh (idle_extend); the hold, if it never ends, gets
	 * a new deadline rather than expiring every session from now on. */
	idle_extend(&t);
	assert_false(idle_hold_overdue(&t));
	assert_int_equal(idle_state(&t, NULL), IDLE_ACTIVE);
	idle_release(&t);
	c.ms += 119999;
	assert_int_equal(idle_state(&t, NULL), IDLE_ACTIVE);
	c.ms += 1;
	assert_int_equal(idle_state(&t, NULL), IDLE_WARNING);

	/* A configured limit; the script's advance counts for holds too. */
	idle_extend(&t);
	idle_set_hold_limit(&t, 30);
	idle_hold(&t);
	idle_advance(&t, 29);
	assert_int_equal(idle_state(&t, NULL), IDLE_ACTIVE);
	idle_advance(&t, 1);
	assert_int_equal(idle_state(&t, NULL), IDLE_EXPIRED);
	idle_set_hold_limit(&t, 0);
	assert_int_equal(t.hold_limit_ms, IDLE_HOLD_LIMIT_S * 1000u);
}

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* In a time namespace whose boot clock is a day ahead of its monotonic clock
 * (as after a day of suspend): the default timer follows the boot clock. */
static int idle_clock_child(void)
{
	struct idle_timer t;
	uint64_t before = clock_ms(CLOCK_BOOTTIME);
	idle_init(&t, 120, 30, NULL, NULL);
	uint64_t now = idle_now_ms(&t), after = clock_ms(CLOCK_BOOTTIME);
	uint64_t mono = clock_ms(CLOCK_MONOTONIC);
	if (after < mono + 86000000u)
		return 3; /* the namespace did not take */
	return now >= before && now <= after ? 0 : 1;
}

static void test_idle_clock_counts_suspend(void **state)
{
	(void)state;
	/* Here, without a namespace: the boot clock, whatever its lead. */
	uint64_t before = clock_ms(CLOCK_BOOTTIME);
	uint64_t now = idle_boottime_ms(NULL);
	assert_true(now >= before && now <= clock_ms(CLOCK_BOOTTIME));

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The caller stays in its namespace; its next child enters the new one. */
		if (unshare(CLONE_NEWTIME) != 0)
			_exit(errno == EPERM || errno == EINVAL ? 77 : 2);
		int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(77);
		static const char offsets[] = "boottime 86400 0\n";
		if (write(fd, offsets, sizeof(offsets) - 1) != (ssize_t)sizeof(offsets) - 1)
			_exit(77);
		close(fd);
		pid_t inner = fork();
		if (inner < 0)
			_exit(2);
		if (inner == 0)
			_exit(idle_clock_child());
		int st;
		if (waitpid(inner, &st, 0) != inner || !WIFEXITED(st))
			_exit(2);
		_exit(WEXITSTATUS(st));
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		skip(); /* no time namespaces here (no privilege): the check above stands */
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_idle_warning_minimum(void **state)
{
	(void)state;
	struct fake_clock c = {.ms = 5};
	struct idle_timer t;
	uint32_t left;
	idle_init(&t, 60, 5, fake_now, &c); /* asks for 5 s: gets 20 */
	c.ms += 60000;
	assert_int_equal(idle_state(&t, &left), IDLE_WARNING);
	assert_int_equal(left, IDLE_MIN_WARNING_S);
	c.ms += 19999;
	assert_int_equal(idle_state(&t, &left), IDLE_WARNING);
	c.ms += 1;
	assert_int_equal(idle_state(&t, NULL), IDLE_EXPIRED);
}

/* --- validation --- */

struct check_case {
	const char *typed;
	enum case_check expect;
	const char *out; /* normalised on CASE_OK */
};

static void test_case_numbers(void **state)
{
	(void)state;
	char err[128] = "";
	struct case_rules *rules = case_rules_create(NULL, NULL, err, sizeof(err));
	assert_non_null(rules);
	static const struct {
		const char *typed;
		enum case_check expect;
		const char *out;
		enum case_kind kind;
	} cases[] = {
	        {"123A456789", CASE_OK, "123A456789", CASE_KIND_KUNDENNUMMER},
	        {"123a456789", CASE_OK, "123A456789", CASE_KIND_KUNDENNUMMER},
	        {" 123 A 456 789 ", CASE_OK, "123A456789", CASE_KIND_KUNDENNUMMER},
	        {"12345BG0012345", CASE_OK, "12345BG0012345", CASE_KIND_BG},
	        {"12345bg0012345", CASE_OK, "12345BG0012345", CASE_KIND_BG},
	        {"12345 BG 0012345", CASE_OK, "12345BG0012345", CASE_KIND_BG},
	        {"", CASE_EMPTY, NULL, 0},
	        {"   ", CASE_EMPTY, NULL, 0},
	        {"123A45678", CASE_NUMBER_FORMAT, NULL, 0},   /* one digit short */
	        {"123A4567890", CASE_NUMBER_FORMAT, NULL, 0}, /* one too many */
	        {"1234456789", CASE_NUMBER_FORMAT, NULL, 0},  /* no letter */
	        {"123AB56789", CASE_NUMBER_FORMAT, NULL, 0},
	        {"12345BG001234", CASE_NUMBER_FORMAT, NULL, 0},
	        {"12345XG0012345", CASE_NUMBER_FORMAT, NULL, 0},
	        {"123-A456789", CASE_NUMBER_FORMAT, NULL, 0}, /* only spaces are ignored */
	        {"123Ä456789", CASE_NUMBER_FORMAT, NULL, 0},
	        {"١٢٣A456789", CASE_NUMBER_FORMAT, NULL, 0}, /* Arabic-Indic digits */
	        {"123A456789123A456789123A456789123A456789", CASE_NUMBER_FORMAT, NULL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[CASE_NUMBER_MAX];
		enum case_kind kind = CASE_KIND_LAST;
		enum case_check got = case_rules_check_number(rules, cases[i].typed, out, &kind);
		if (got != cases[i].expect)
			fail_msg("case %zu: got %s, expected %s", i, case_check_name(got),
			         case_check_name(cases[i].expect));
		if (got == CASE_OK) {
			assert_string_equal(out, cases[i].out);
			assert_int_equal(kind, cases[i].kind);
		} else {
			assert_string_equal(out, "");
		}
	}
	case_rules_destroy(rules);

	/* A pattern written in lower case matches (the input is upper-cased). */
	rules = case_rules_create("[0-9]{3}[a-z][0-9]{6}", "[0-9]{5}bg[0-9]{7}", err, sizeof(err));
	assert_non_null(rules);
	{
		char o[CASE_NUMBER_MAX];
		enum case_kind k;
		assert_int_equal(case_rules_check_number(rules, "123a456789", o, &k), CASE_OK);
		assert_string_equal(o, "123A456789");
		assert_int_equal(case_rules_check_number(rules, "12345BG0012345", o, &k), CASE_OK);
		assert_int_equal(k, CASE_KIND_BG);
	}
	case_rules_destroy(rules);

	/* Patterns from config replace the defaults; a bad one is refused. */
	rules = case_rules_create("[0-9]{4}X", "BG[0-9]{2}", err, sizeof(err));
	assert_non_null(rules);
	char out[CASE_NUMBER_MAX];
	enum case_kind kind;
	assert_int_equal(case_rules_check_number(rules, "1234x", out, &kind), CASE_OK);
	assert_int_equal(kind, CASE_KIND_KUNDENNUMMER);
	assert_int_equal(case_rules_check_number(rules, "bg 12", out, &kind), CASE_OK);
	assert_int_equal(kind, CASE_KIND_BG);
	/* Anchored: a pattern matches the whole number, not a part of it. */
	assert_int_equal(case_rules_check_number(rules, "01234X", out, &kind), CASE_NUMBER_FORMAT);
	assert_int_equal(case_rules_check_number(rules, "123A456789", out, &kind),
	                 CASE_NUMBER_FORMAT);
	case_rules_destroy(rules);
	assert_null(case_rules_create("[0-9", NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "pattern '[0-9'"));
	assert_null(case_rules_create(NULL, "(BG", NULL, 0));
	case_rules_destroy(NULL);
}

static void test_family_names(void **state)
{
	(void)state;
	static const struct check_case cases[] = {
	        {"Müller", CASE_OK, "Müller"},
	        {"  Müller-Lüdenscheidt  ", CASE_OK, "Müller-Lüdenscheidt"},
	        {"O'Brien", CASE_OK, "O'Brien"},
	        {"D’Angelo", CASE_OK, "D’Angelo"},
	        {"van  der   Berg", CASE_OK, "van der Berg"},
	        {"Шевченко", CASE_OK, "Шевченко"},
	        {"Пʼятниця", CASE_OK, "Пʼятниця"}, /* Ukrainian apostrophe U+02BC */
	        {"Іваненко", CASE_OK, "Іваненко"},
	        {"Ёлкин", CASE_OK, "Ёлкин"},
	        {"العلي", CASE_OK, "العلي"},
	        {"عبد الله", CASE_OK, "عبد الله"},
	        {"محمدی‌نژاد", CASE_OK, "محمدی‌نژاد"}, /* Persian with ZWNJ */
	        {"Yılmaz", CASE_OK, "Yılmaz"},
	        {"Çağlar Şahin", CASE_OK, "Çağlar Şahin"},
	        {"Nguyễn", CASE_OK, "Nguyễn"},
	        {"Zoe\xcc\x88", CASE_OK, "Zoe\xcc\x88"}, /* e + combining diaeresis */
	        {"", CASE_EMPTY, NULL},
	        {"    ", CASE_EMPTY, NULL},
	        {"-Anna", CASE_NAME_START, NULL},
	        {"'Anna", CASE_NAME_START, NULL},
	        {"\xcc\x88"
	         "Anna",
	         CASE_NAME_START, NULL}, /* a lone combining mark */
	        {"Anna2", CASE_NAME_CHARACTERS, NULL},
	        {"Anna!", CASE_NAME_CHARACTERS, NULL},
	        {"Anna\tB", CASE_NAME_CHARACTERS, NULL},
	        {"Anna\xc3", CASE_NAME_CHARACTERS, NULL}, /* cut UTF-8 */
	        {"\xc0\xaf", CASE_NAME_CHARACTERS, NULL}, /* overlong */
	        {"محمد٣", CASE_NAME_CHARACTERS, NULL},    /* Arabic-Indic digit */
	        {"Anna😀", CASE_NAME_CHARACTERS, NULL},    /* emoji */
	        {"李", CASE_NAME_CHARACTERS, NULL},       /* a script the keyboards do not offer */
	        /* Marks sit on letters: not after a space, hyphen or apostrophe,
	         * and not in unlimited runs. */
	        {"Nguye\xcc\x82\xcc\x83n", CASE_OK, "Nguye\xcc\x82\xcc\x83n"}, /* two on one */
	        {"שָׁלוֹם", CASE_OK, "שָׁלוֹם"},                                     /* pointed Hebrew */
	        {"مُحَمَّد", CASE_OK, "مُحَمَّد"}, /* Arabic vowels, shadda */
	        {"Anna \xcc\x88", CASE_NAME_CHARACTERS, NULL},
	        {"Anna-\xcc\x88"
	         "B",
	         CASE_NAME_CHARACTERS, NULL},
	        {"O'\xcc\x88"
	         "Brien",
	         CASE_NAME_CHARACTERS, NULL},
	        {"Ae\xcc\x88\xcc\x88\xcc\x88\xcc\x88", CASE_NAME_CHARACTERS, NULL}, /* four */
	        {"Ae\xcc\x88\xcc\x88\xcc\x88", CASE_OK, "Ae\xcc\x88\xcc\x88\xcc\x88"},
	        /* Joiners between letters only. */
	        {"محمدی\u200c", CASE_NAME_CHARACTERS, NULL},
	        {"محمدی \u200cنژاد", CASE_NAME_CHARACTERS, NULL},
	        {"محمدی\u200c\u200cنژاد", CASE_NAME_CHARACTERS, NULL},
	        {"\u200cAnna", CASE_NAME_START, NULL},
	        /* Hyphens and apostrophes between letters: not twice, not at the end,
	         * not next to a space. */
	        {"Anna--Lena", CASE_NAME_CHARACTERS, NULL},
	        {"O'-Brien", CASE_NAME_CHARACTERS, NULL},
	        {"Anna-", CASE_NAME_CHARACTERS, NULL},
	        {"Anna'", CASE_NAME_CHARACTERS, NULL},
	        {"Anna- Lena", CASE_NAME_CHARACTERS, NULL},
	        {"Anna -Lena", CASE_NAME_CHARACTERS, NULL},
	        {"Anna-Lena Müller-Wolf", CASE_OK, "Anna-Lena Müller-Wolf"},
	        /* Hebrew: maqaf is a hyphen; paseq, sof pasuq, nun hafukha are not
	         * part of a name. */
	        {"בן\u05beדוד", CASE_OK, "בן\u05beדוד"},
	        {"בן\u05be", CASE_NAME_CHARACTERS, NULL},
	        {"כהן\u05c0", CASE_NAME_CHARACTERS, NULL},
	        {"כהן\u05c3", CASE_NAME_CHARACTERS, NULL},
	        {"כהן\u05c6", CASE_NAME_CHARACTERS, NULL},
	        /* Arabic tatweel is layout, not a letter. */
	        {"\u0640محمد", CASE_NAME_CHARACTERS, NULL},
	        {"محـمد", CASE_NAME_CHARACTERS, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[CASE_NAME_MAX];
		enum case_check got = case_check_family_name(cases[i].typed, out);
		if (got != cases[i].expect)
			fail_msg("case %zu: got %s, expected %s", i, case_check_name(got),
			         case_check_name(cases[i].expect));
		if (got == CASE_OK)
			assert_string_equal(out, cases[i].out);
		else
			assert_string_equal(out, "");
	}
	/* Length: 80 characters pass, 81 do not; in Cyrillic (2 bytes each) too. */
	char name[CASE_NAME_MAX * 2];
	char out[CASE_NAME_MAX];
	memset(name, 'a', 80);
	name[0] = 'A';
	name[80] = '\0';
	assert_int_equal(case_check_family_name(name, out), CASE_OK);
	name[80] = 'a';
	name[81] = '\0';
	assert_int_equal(case_check_family_name(name, out), CASE_NAME_TOO_LONG);
	name[0] = '\0';
	for (int i = 0; i < 80; i++)
		strcat(name, "ж");
	assert_int_equal(case_check_family_name(name, out), CASE_OK);
	strcat(name, "ж");
	assert_int_equal(case_check_family_name(name, out), CASE_NAME_TOO_LONG);
}

static void test_birth_dates(void **state)
{
	(void)state;
	const struct case_date today = {2025, 6, 15};
	static const struct check_case cases[] = {
	        {"01.02.1980", CASE_OK, "1980-02-01"},
	        {"1.2.1980", CASE_OK, "1980-02-01"},
	        {"01021980", CASE_OK, "1980-02-01"},
	        {" 01 . 02 . 1980 ", CASE_OK, "1980-02-01"},
	        {"29.02.2000", CASE_OK, "2000-02-29"}, /* leap year (400) */
	        {"15.06.2011", CASE_OK, "2011-06-15"}, /* 14 today */
	        {"15.06.1905", CASE_OK, "1905-06-15"}, /* 120 today */
	        {"", CASE_EMPTY, NULL},
	        {"01.02.80", CASE_DATE_FORMAT, NULL},
	        {"1980-02-01", CASE_DATE_FORMAT, NULL},
	        {"01/02/1980", CASE_DATE_FORMAT, NULL},
	        {"01.02.1980.", CASE_DATE_FORMAT, NULL},
	        {"001.02.1980", CASE_DATE_FORMAT, NULL},
	        {"0102198", CASE_DATE_FORMAT, NULL},
	        {"a1.02.1980", CASE_DATE_FORMAT, NULL},
	        {"31.02.1980", CASE_DATE_INVALID, NULL},
	        {"29.02.1900", CASE_DATE_INVALID, NULL}, /* not a leap year (100) */
	        {"29.02.1981", CASE_DATE_INVALID, NULL},
	        {"31.04.1980", CASE_DATE_INVALID, NULL},
	        {"00.01.1980", CASE_DATE_INVALID, NULL},
	        {"10.13.1980", CASE_DATE_INVALID, NULL},
	        {"01.01.0000", CASE_DATE_INVALID, NULL},
	        {"16.06.2025", CASE_DATE_FUTURE, NULL},
	        {"01.01.2030", CASE_DATE_FUTURE, NULL},
	        {"16.06.2011", CASE_DATE_TOO_YOUNG, NULL}, /* 14 tomorrow */
	        {"15.06.2025", CASE_DATE_TOO_YOUNG, NULL},
	        {"16.06.1904", CASE_OK, "1904-06-16"},   /* 120, 121 tomorrow */
	        {"15.06.1904", CASE_DATE_TOO_OLD, NULL}, /* 121 today */
	        {"01.01.1800", CASE_DATE_TOO_OLD, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[CASE_DATE_MAX];
		enum case_check got = case_check_birth_date(cases[i].typed, &today, out);
		if (got != cases[i].expect)
			fail_msg("case %zu '%s': got %s, expected %s", i, cases[i].typed,
			         case_check_name(got), case_check_name(cases[i].expect));
		if (got == CASE_OK)
			assert_string_equal(out, cases[i].out);
		else
			assert_string_equal(out, "");
	}
	assert_string_equal(case_check_name(CASE_DATE_FUTURE), "date-future");
	assert_string_equal(case_check_name(CASE_CHECK_LAST), "");
}

/* --- the session's fields --- */

static void test_session_fields(void **state)
{
	(void)state;
	struct case_rules *rules = case_rules_create(NULL, NULL, NULL, 0);
	struct session *s = session_create(rules);
	assert_non_null(s);
	assert_int_equal(session_language(s), LANGUAGE_DE);
	assert_false(session_has_data(s));
	assert_int_equal(session_set_language(s, LANGUAGE_AR), SESSION_OK);
	assert_int_equal(session_set_language(s, LANGUAGE_LAST), SESSION_INVALID);
	assert_int_equal(session_language(s), LANGUAGE_AR);
	assert_false(session_has_data(s)); /* a language is not the customer's data */

	/* Typed on the keypad, one key at a time. */
	const char *keys[] = {"1", "2", "3", "a", "4", "5", "6", " ", "7", "8", "9"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(session_field_insert(s, SESSION_FIELD_CASE_NUMBER, keys[i]),
		                 SESSION_OK);
	assert_string_equal(session_field_text(s, SESSION_FIELD_CASE_NUMBER), "123a456 789");
	assert_true(session_has_data(s));
	enum session_field bad;
	assert_false(session_case_complete(s, &bad));
	assert_int_equal(bad, SESSION_FIELD_CASE_NUMBER);
	assert_int_equal(session_field_check(s, SESSION_FIELD_CASE_NUMBER), CASE_OK);
	assert_int_equal(session_case_kind(s), CASE_KIND_KUNDENNUMMER);
	char masked[64];
	session_case_number_masked(s, masked, sizeof(masked));
	assert_string_equal(masked, "123•••••89");
	/* Editing forgets the check. */
	assert_int_equal(session_field_backspace(s, SESSION_FIELD_CASE_NUMBER), SESSION_OK);
	session_case_number_masked(s, masked, sizeof(masked));
	assert_string_equal(masked, "");
	assert_int_equal(session_field_check(s, SESSION_FIELD_CASE_NUMBER), CASE_NUMBER_FORMAT);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_CASE_NUMBER, "9"), SESSION_OK);
	assert_int_equal(session_field_check(s, SESSION_FIELD_CASE_NUMBER), CASE_OK);

	/* Backspace removes a whole code point. */
	assert_int_equal(session_field_insert(s, SESSION_FIELD_NAME, "Шевченкож"), SESSION_OK);
	assert_int_equal(session_field_backspace(s, SESSION_FIELD_NAME), SESSION_OK);
	assert_string_equal(session_field_text(s, SESSION_FIELD_NAME), "Шевченко");
	/* Invalid input is refused whole. */
	assert_int_equal(session_field_insert(s, SESSION_FIELD_NAME, "\xff"), SESSION_INVALID);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_NAME, "a\nb"), SESSION_INVALID);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_LAST, "a"), SESSION_INVALID);
	char big[SESSION_FIELD_MAX + 1];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(session_field_insert(s, SESSION_FIELD_NAME, big), SESSION_INVALID);
	assert_string_equal(session_field_text(s, SESSION_FIELD_NAME), "Шевченко");
	assert_int_equal(session_field_check(s, SESSION_FIELD_NAME), CASE_OK);
	/* The longest name the check accepts fits the field, in any script. */
	assert_int_equal(session_field_clear(s, SESSION_FIELD_NAME), SESSION_OK);
	for (int i = 0; i < CASE_NAME_MAX_CHARS; i++)
		assert_int_equal(session_field_insert(s, SESSION_FIELD_NAME, "ش"), SESSION_OK);
	assert_int_equal(session_field_check(s, SESSION_FIELD_NAME), CASE_OK);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_NAME, "ش"), SESSION_OK);
	assert_int_equal(session_field_check(s, SESSION_FIELD_NAME), CASE_NAME_TOO_LONG);
	assert_int_equal(session_field_clear(s, SESSION_FIELD_NAME), SESSION_OK);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_NAME, "Шевченко"), SESSION_OK);
	assert_int_equal(session_field_check(s, SESSION_FIELD_NAME), CASE_OK);

	assert_int_equal(session_field_insert(s, SESSION_FIELD_BIRTH_DATE, "31.02.1980"),
	                 SESSION_OK);
	assert_int_equal(session_field_check(s, SESSION_FIELD_BIRTH_DATE), CASE_DATE_INVALID);
	assert_false(session_case_complete(s, &bad));
	assert_int_equal(bad, SESSION_FIELD_BIRTH_DATE);
	assert_int_equal(session_field_clear(s, SESSION_FIELD_BIRTH_DATE), SESSION_OK);
	assert_string_equal(session_field_text(s, SESSION_FIELD_BIRTH_DATE), "");
	assert_int_equal(session_field_check(s, SESSION_FIELD_BIRTH_DATE), CASE_EMPTY);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_BIRTH_DATE, "01021980"), SESSION_OK);
	assert_int_equal(session_field_check(s, SESSION_FIELD_BIRTH_DATE), CASE_OK);
	assert_true(session_case_complete(s, NULL));

	assert_int_equal(session_set_category(s, "payslip"), SESSION_OK);
	assert_string_equal(session_category(s), "payslip");
	assert_int_equal(session_set_category(s, "Pay slip"), SESSION_INVALID);
	assert_int_equal(session_set_category(s, ""), SESSION_INVALID);
	assert_string_equal(session_category(s), "payslip");
	assert_string_equal(session_field_name(SESSION_FIELD_BIRTH_DATE), "birth-date");

	session_wipe(s);
	assert_int_equal(session_language(s), LANGUAGE_DE);
	assert_false(session_has_data(s));
	assert_false(session_case_complete(s, NULL));
	for (int f = 0; f < SESSION_FIELD_LAST; f++)
		assert_string_equal(session_field_text(s, (enum session_field)f), "");
	assert_string_equal(session_category(s), "");
	session_destroy(s);
	case_rules_destroy(rules);
}

/* A field id out of range is refused and changes nothing (it used to write
 * outside the session). */
static void test_session_invalid_field(void **state)
{
	(void)state;
	struct session *s = session_create(NULL);
	assert_non_null(s);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_NAME, "Müller"), SESSION_OK);
	assert_int_equal(session_field_check(s, SESSION_FIELD_NAME), CASE_OK);
	const enum session_field bad[] = {SESSION_FIELD_LAST, (enum session_field)7,
	                                  (enum session_field)0x40000000, (enum session_field) - 1};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(session_field_check(s, bad[i]), CASE_EMPTY);
		assert_int_equal(session_field_insert(s, bad[i], "a"), SESSION_INVALID);
		assert_int_equal(session_field_backspace(s, bad[i]), SESSION_INVALID);
		assert_int_equal(session_field_clear(s, bad[i]), SESSION_INVALID);
		assert_string_equal(session_field_text(s, bad[i]), "");
		assert_string_equal(session_field_name(bad[i]), "");
	}
	assert_string_equal(session_field_text(s, SESSION_FIELD_NAME), "Müller");
	enum session_field first_bad = SESSION_FIELD_LAST;
	assert_false(session_case_complete(s, &first_bad));
	assert_int_equal(first_bad, SESSION_FIELD_CASE_NUMBER); /* the name is still checked */
	session_destroy(s);
}

/* A session made without rules checks case numbers with the defaults (it
 * used to call regexec() on NULL). */
static void test_session_default_rules(void **state)
{
	(void)state;
	struct session *s = session_create(NULL);
	assert_non_null(s);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_CASE_NUMBER, "12345bg0012345"),
	                 SESSION_OK);
	assert_int_equal(session_field_check(s, SESSION_FIELD_CASE_NUMBER), CASE_OK);
	assert_int_equal(session_case_kind(s), CASE_KIND_BG);
	assert_int_equal(session_field_clear(s, SESSION_FIELD_CASE_NUMBER), SESSION_OK);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_CASE_NUMBER, "12A"), SESSION_OK);
	assert_int_equal(session_field_check(s, SESSION_FIELD_CASE_NUMBER), CASE_NUMBER_FORMAT);
	session_destroy(s);
}

/* --- pages (stand-ins: the page operations do not look at the JPEG) --- */

static struct scan_page *fake_page(unsigned number)
{
	struct scan_page *p = calloc(1, sizeof(*p));
	p->number = number;
	p->facts.bytes = 64;
	p->jpeg = malloc(64);
	memset(p->jpeg, (int)number, 64);
	p->thumb_width = 4;
	p->thumb_height = 2;
	p->thumb = malloc(4 * 2 * 3);
	memset(p->thumb, 0xa0 + (int)number, 4 * 2 * 3);
	p->facts.blank = number == 2;
	return p;
}

static void expect_order(const struct session *s, const unsigned *numbers, size_t n)
{
	assert_int_equal(session_page_count(s), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(session_page(s, i)->number, numbers[i]);
	assert_null(session_page(s, n));
}

static void test_session_pages(void **state)
{
	(void)state;
	struct session *s = session_create(NULL);
	for (unsigned i = 1; i <= 5; i++)
		assert_int_equal(session_page_add(s, fake_page(i)), SESSION_OK);
	expect_order(s, (unsigned[]){1, 2, 3, 4, 5}, 5);
	assert_true(session_page(s, 1)->facts.blank); /* shown, kept */
	assert_int_equal(session_page_move(s, 0, 3), SESSION_OK);
	expect_order(s, (unsigned[]){2, 3, 4, 1, 5}, 5);
	assert_int_equal(session_page_move(s, 4, 0), SESSION_OK);
	expect_order(s, (unsigned[]){5, 2, 3, 4, 1}, 5);
	assert_int_equal(session_page_move(s, 2, 2), SESSION_OK);
	assert_int_equal(session_page_move(s, 0, 5), SESSION_BAD_INDEX);
	assert_int_equal(session_page_delete(s, 1), SESSION_OK);
	expect_order(s, (unsigned[]){5, 3, 4, 1}, 4);
	assert_int_equal(session_page_delete(s, 4), SESSION_BAD_INDEX);
	assert_int_equal(session_page_replace(s, 3, fake_page(9)), SESSION_OK);
	expect_order(s, (unsigned[]){5, 3, 4, 9}, 4);
	/* A replacement for a page that is not there is freed (no leak under ASan). */
	assert_int_equal(session_page_replace(s, 7, fake_page(8)), SESSION_BAD_INDEX);
	assert_int_equal(session_page_rotate(s, 9, 1), SESSION_BAD_INDEX);
	assert_int_equal(session_page_rotate(s, 0, 4), SESSION_OK); /* a full turn: nothing */
	assert_int_equal(session_page_add(s, NULL), SESSION_INVALID);
	while (session_page_count(s) < SESSION_MAX_PAGES)
		assert_int_equal(session_page_add(s, fake_page(7)), SESSION_OK);
	assert_int_equal(session_page_add(s, fake_page(7)), SESSION_FULL);
	assert_int_equal(session_page_count(s), SESSION_MAX_PAGES);
	session_destroy(s);
}

/* --- the wipe --- */

#define SEEN_MAX 64

/* What the observer saw: each buffer's address and length, and how many of
 * its bytes were not zero when it was about to be freed. */
struct wipe_seen {
	size_t buffers;
	size_t bytes;
	size_t nonzero;
	const void *addr[SEEN_MAX];
	size_t len[SEEN_MAX];
};

static void observe(const void *buf, size_t len, void *userdata)
{
	struct wipe_seen *w = userdata;
	const uint8_t *b = buf;
	if (w->buffers < SEEN_MAX) {
		w->addr[w->buffers] = buf;
		w->len[w->buffers] = len;
	}
	w->buffers++;
	w->bytes += len;
	for (size_t i = 0; i < len; i++)
		w->nonzero += b[i] != 0;
}

/* True when the observer saw exactly this buffer (address and length). */
static bool seen(const struct wipe_seen *w, const void *addr, size_t len)
{
	for (size_t i = 0; i < w->buffers && i < SEEN_MAX; i++)
		if (w->addr[i] == addr && w->len[i] == len)
			return true;
	return false;
}

/* The buffers of a page, taken before the session frees them. */
struct page_bufs {
	const void *page, *jpeg, *thumb;
	size_t jpeg_len, thumb_len;
};

static struct page_bufs bufs_of(const struct scan_page *p)
{
	return (struct page_bufs){p, p->jpeg, p->thumb, p->facts.bytes,
	                          (size_t)p->thumb_width * p->thumb_height * 3};
}

static void assert_page_released(const struct wipe_seen *w, const struct page_bufs *b)
{
	assert_true(seen(w, b->jpeg, b->jpeg_len));
	assert_true(seen(w, b->thumb, b->thumb_len));
	assert_true(seen(w, b->page, sizeof(struct scan_page)));
}

static void test_session_wipe(void **state)
{
	(void)state;
	struct case_rules *rules = case_rules_create(NULL, NULL, NULL, 0);
	struct session *s = session_create(rules);
	struct wipe_seen w = {0};
	session_set_wipe_observer(s, observe, &w);
	assert_int_equal(session_set_language(s, LANGUAGE_UK), SESSION_OK);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_CASE_NUMBER, "12345BG0012345"),
	                 SESSION_OK);
	assert_int_equal(session_field_check(s, SESSION_FIELD_CASE_NUMBER), CASE_OK);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_NAME, "Kanarienvogel"), SESSION_OK);
	assert_int_equal(session_field_check(s, SESSION_FIELD_NAME), CASE_OK);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_BIRTH_DATE, "02.03.1977"),
	                 SESSION_OK);
	assert_int_equal(session_set_category(s, "rent"), SESSION_OK);
	for (unsigned i = 1; i <= 3; i++)
		assert_int_equal(session_page_add(s, fake_page(i)), SESSION_OK);
	struct page_bufs pb[3];
	for (size_t i = 0; i < 3; i++)
		pb[i] = bufs_of(session_page(s, i));

	session_wipe(s);
	/* The very buffers that held the pages and the typed text were zeroed. */
	for (size_t i = 0; i < 3; i++)
		assert_page_released(&w, &pb[i]);
	for (int f = 0; f < SESSION_FIELD_LAST; f++)
		assert_true(
		        seen(&w, session_field_text(s, (enum session_field)f), SESSION_FIELD_MAX));
	/* Each page: JPEG (64), thumbnail (24), the page struct; plus the three
	 * typed fields, the three checked values and the category. */
	assert_int_equal(w.buffers, 3 * 3 + 3 + 3 + 1);
	size_t expect_bytes = 3 * (64 + 24 + sizeof(struct scan_page)) +
	                      SESSION_FIELD_LAST * SESSION_FIELD_MAX + CASE_NUMBER_MAX +
	                      CASE_NAME_MAX + CASE_DATE_MAX + SESSION_CATEGORY_MAX;
	assert_int_equal(w.bytes, expect_bytes);
	assert_int_equal(w.nonzero, 0);
	assert_int_equal(session_page_count(s), 0);
	assert_int_equal(session_language(s), LANGUAGE_DE);
	assert_false(session_has_data(s));

	/* A wiped session is as good as new. */
	assert_int_equal(session_page_add(s, fake_page(1)), SESSION_OK);
	session_set_wipe_observer(s, NULL, NULL);
	session_destroy(s);
	case_rules_destroy(rules);
}

/* Pages the session lets go of before the wipe (deleted, replaced, refused)
 * are zeroed through the same path the observer sees. */
static void test_session_release_paths(void **state)
{
	(void)state;
	struct session *s = session_create(NULL);
	struct wipe_seen w = {0};
	session_set_wipe_observer(s, observe, &w);
	for (unsigned i = 1; i <= 3; i++)
		assert_int_equal(session_page_add(s, fake_page(i)), SESSION_OK);

	struct page_bufs b = bufs_of(session_page(s, 1));
	assert_int_equal(session_page_delete(s, 1), SESSION_OK);
	assert_int_equal(w.buffers, 3);
	assert_page_released(&w, &b);

	b = bufs_of(session_page(s, 0));
	assert_int_equal(session_page_replace(s, 0, fake_page(9)), SESSION_OK);
	assert_int_equal(w.buffers, 6);
	assert_page_released(&w, &b);

	/* A page for an index that is not there. */
	struct scan_page *extra = fake_page(8);
	b = bufs_of(extra);
	assert_int_equal(session_page_replace(s, 5, extra), SESSION_BAD_INDEX);
	assert_int_equal(w.buffers, 9);
	assert_page_released(&w, &b);

	/* A page beyond the session's room. */
	while (session_page_count(s) < SESSION_MAX_PAGES)
		assert_int_equal(session_page_add(s, fake_page(7)), SESSION_OK);
	extra = fake_page(6);
	b = bufs_of(extra);
	size_t before = w.buffers;
	assert_int_equal(session_page_add(s, extra), SESSION_FULL);
	assert_int_equal(w.buffers, before + 3);
	assert_page_released(&w, &b);
	assert_int_equal(w.nonzero, 0);
	session_set_wipe_observer(s, NULL, NULL);
	session_destroy(s);
}

/* --- QR --- */

static void test_qr(void **state)
{
	(void)state;
	struct qr_matrix m;
	assert_true(qr_encode("K3F7-9QXA-2M4P", &m));
	/* 14 alphanumeric characters fit version 1 (21 x 21) at level M. */
	assert_int_equal(m.width, 21);
	/* The three finder patterns: dark 7x7 ring, light ring, dark 3x3 core. */
	const uint32_t corners[3][2] = {{0, 0}, {14, 0}, {0, 14}};
	for (int c = 0; c < 3; c++) {
		uint32_t x0 = corners[c][0], y0 = corners[c][1];
		for (uint32_t y = 0; y < 7; y++) {
			for (uint32_t x = 0; x < 7; x++) {
				bool ring = x == 0 || y == 0 || x == 6 || y == 6;
				bool core = x >= 2 && x <= 4 && y >= 2 && y <= 4;
				assert_int_equal(qr_dark(&m, x0 + x, y0 + y), ring || core);
			}
		}
	}
	assert_false(qr_dark(&m, 21, 0));
	size_t dark = 0;
	for (uint32_t i = 0; i < m.width * m.width; i++) {
		assert_true(m.modules[i] <= 1);
		dark += m.modules[i];
	}
	assert_true(dark > 100 && dark < 341);
	/* Another reference gives another code. */
	struct qr_matrix m2;
	assert_true(qr_encode("K3F7-9QXA-2M4Q", &m2));
	assert_int_equal(m2.width, 21);
	assert_memory_not_equal(m.modules, m2.modules, 21 * 21);
	qr_matrix_finish(&m);
	qr_matrix_finish(&m2);
	assert_null(m.modules);
	assert_false(qr_encode("", &m));
	assert_int_equal(m.width, 0);
	qr_matrix_finish(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_languages),
	        cmocka_unit_test(test_flow_names),
	        cmocka_unit_test(test_flow_moves),
	        cmocka_unit_test(test_idle_timer),
	        cmocka_unit_test(test_idle_warning_minimum),
	        cmocka_unit_test(test_idle_hold_deadline),
	        cmocka_unit_test(test_idle_clock_counts_suspend),
	        cmocka_unit_test(test_case_numbers),
	        cmocka_unit_test(test_family_names),
	        cmocka_unit_test(test_birth_dates),
	        cmocka_unit_test(test_session_fields),
	        cmocka_unit_test(test_session_pages),
	        cmocka_unit_test(test_session_wipe),
	        cmocka_unit_test(test_session_invalid_field),
	        cmocka_unit_test(test_session_default_rules),
	        cmocka_unit_test(test_session_release_paths),
	        cmocka_unit_test(test_qr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
