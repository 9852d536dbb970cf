/*
 * test_config.c - the INI file: every key, defaults, and every kind of mistake
 * reported with file, line and reason (the kiosk's [scanner] and [kiosk] too).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "pin.h"

static void test_defaults(void **state)
{
	(void)state;
	struct config cfg;
	config_init(&cfg);
	assert_string_equal(cfg.spool.dir, "/var/spool/scankiosk");
	assert_null(cfg.spool.secret_key);
	assert_null(cfg.intake.url);
	assert_int_equal(cfg.spool.max_count, 1000);
	assert_int_equal(cfg.intake.retry_base, 30);
	assert_int_equal(cfg.log_level, LOG_LEVEL_INFO);
	config_finish(&cfg);
	config_finish(&cfg); /* twice is harmless */
}

static void test_full_file(void **state)
{
	(void)state;
	static const char text[] = "; the kiosk's configuration\n"
	                           "[spool]\n"
	                           "dir = /srv/spool\n"
	                           "public_key = /etc/scankiosk/spool.pub\n"
	                           "secret_key = /etc/scankiosk/spool.key\n"
	                           "max_bytes = 512M\n"
	                           "max_count = 250\n"
	                           "\n"
	                           "[intake]\n"
	                           "url = https://intake.example/api\n"
	                           "ca_file = /etc/scankiosk/ca.pem\n"
	                           "pin = sha256//AAAA\n"
	                           "client_cert = /etc/scankiosk/device.pem\n"
	                           "client_key = /etc/scankiosk/device.key\n"
	                           "connect_timeout = 5\n"
	                           "low_speed_time = 20\n"
	                           "min_speed = 2048\n"
	                           "max_time_base = 90\n"
	                           "retry_base = 2\n"
	                           "retry_cap = 600\n"
	                           "retry_after_cap = 1200\n"
	                           "[log]\n"
	                           "level = debug\n"
	                           "[metrics]\n"
	                           "textfile = /var/lib/node_exporter/scankiosk.prom\n"
	                           "status = /run/scankiosk/status.json\n";
	struct config cfg;
	char err[CONFIG_ERROR_MAX] = "";
	config_init(&cfg);
	assert_true(config_load_string(&cfg, "k.conf", text, err));
	assert_string_equal(cfg.spool.dir, "/srv/spool");
	assert_string_equal(cfg.spool.secret_key, "/etc/scankiosk/spool.key");
	assert_int_equal(cfg.spool.max_bytes, 512ull * 1024 * 1024);
	assert_int_equal(cfg.spool.max_count, 250);
	assert_string_equal(cfg.intake.url, "https://intake.example/api");
	assert_string_equal(cfg.intake.pin, "sha256//AAAA");
	assert_int_equal(cfg.intake.connect_timeout, 5);
	assert_int_equal(cfg.intake.min_speed, 2048);
	assert_int_equal(cfg.intake.retry_after_cap, 1200);
	assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(cfg.metrics_textfile, "/var/lib/node_exporter/scankiosk.prom");
	assert_string_equal(cfg.status_file, "/run/scankiosk/status.json");
	config_finish(&cfg);
}

struct bad_case {
	const char *text;
	const char *expect; /* "name:line: reason" prefix */
};

static void test_bad_values(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
	        {"[spool]\nmax_count = ten\n", "b.conf:2: max_count: 'ten' is not a whole number"},
	        {"[spool]\nmax_count = -1\n", "b.conf:2: max_count: '-1' is not a whole number"},
	        {"[spool]\nmax_count = 0\n", "b.conf:2: max_count: 0 is out of range"},
	        {"[spool]\nmax_count = 99999999999999999999999\n", "b.conf:2: max_count: '"},
	        {"[spool]\nmax_bytes = 12T\n", "b.conf:2: max_bytes: unknown size suffix"},
	        {"[spool]\nmax_bytes = 12MB\n", "b.conf:2: max_bytes: unexpected text"},
	        {"[spool]\nmax_bytes = 1K\n", "b.conf:2: max_bytes: 1024 is out of range"},
	        {"[spool]\ndir =\n", "b.conf:2: dir: empty value"},
	        {"[spool]\ncolour = blue\n", "b.conf:2: unknown key 'colour' in [spool]"},
	        {"\n\n[printer]\nx = 1\n", "b.conf:4: unknown section [printer]"},
	        {"dir = /x\n", "b.conf:1: 'dir' is outside of any [section]"},
	        {"[spool]\ndir = /a\ndir = /b\n", "b.conf:3: 'dir' is set twice in [spool]"},
	        {"[intake]\nurl = http://plain.example\n",
	         "b.conf:2: url: 'http://plain.example' is "
	         "not an https:// URL"},
	        {"[intake]\npin = md5//x\n", "b.conf:2: pin: a pin is 'sha256//'"},
	        {"[intake]\nretry_cap = 0\n", "b.conf:2: retry_cap: 0 is out of range"},
	        {"[log]\nlevel = loud\n", "b.conf:2: level: 'loud' is not one of"},
	        {"[spool]\njust some words\n", "b.conf:2: not a [section] header"},
	        {"[spool\n", "b.conf:1: not a [section] header"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		char err[CONFIG_ERROR_MAX] = "";
		config_init(&cfg);
		bool ok = config_load_string(&cfg, "b.conf", cases[i].text, err);
		if (ok || strncmp(err, cases[i].expect, strlen(cases[i].expect)) != 0)
			fail_msg("case %zu: ok=%d err='%s' expected '%s'", i, ok, err,
			         cases[i].expect);
		/* A rejected file leaves the defaults whole. */
		assert_string_equal(cfg.spool.dir, "/var/spool/scankiosk");
		assert_int_equal(cfg.spool.max_count, 1000);
		config_finish(&cfg);
	}
}

static void test_kiosk_defaults(void **state)
{
	(void)state;
	struct config cfg;
	config_init(&cfg);
	assert_null(cfg.scanner.device);
	assert_int_equal(cfg.scanner.source, CONFIG_SCAN_SOURCE_FLATBED);
	assert_int_equal(cfg.scanner.dpi, 300);
	assert_int_equal(cfg.scanner.mode, CONFIG_SCAN_MODE_AUTO);
	assert_int_equal(cfg.kiosk.panel_dpi, 96);
	assert_int_equal(cfg.kiosk.idle_timeout, 120);
	assert_int_equal(cfg.kiosk.idle_warning, 30);
	assert_null(cfg.kiosk.kundennummer_pattern);
	assert_null(cfg.kiosk.bg_pattern);
	static const char *const cats[] = {
	        "continued-benefit", "payslip",    "bank-statement", "rent",
	        "sick-note",         "job-search", "other"};
	assert_int_equal(cfg.kiosk.category_count, 7);
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(cfg.kiosk.categories[i], cats[i]);
	static const char *const langs[] = {"de", "en", "uk", "ru", "tr", "ar"};
	assert_int_equal(cfg.kiosk.language_count, 6);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(cfg.kiosk.languages[i], langs[i]);
	assert_string_equal(cfg.kiosk.language, "de");
	assert_false(cfg.kiosk.high_contrast);
	assert_false(cfg.kiosk.large_text);
	config_finish(&cfg);
	assert_null(cfg.kiosk.categories);
	assert_int_equal(cfg.kiosk.category_count, 0);
	config_finish(&cfg);
}

static void test_kiosk_file(void **state)
{
	(void)state;
	static const char text[] = "[scanner]\n"
	                           "device = sim:pages=/srv/pages;feeder=3\n"
	                           "source = adf\n"
	                           "dpi = 200\n"
	                           "mode = gray\n"
	                           "[kiosk]\n"
	                           "panel_dpi = 160\n"
	                           "idle_timeout = 90\n"
	                           "idle_warning = 20\n"
	                           "kundennummer_pattern = [0-9]{3}[A-Z][0-9]{6}\n"
	                           "bg_pattern = [0-9]{5}BG[0-9]{7}|[0-9]{3}BG[0-9]{5}\n"
	                           "categories = payslip, rent ,other\n"
	                           "languages = ar,de,uk\n"
	                           "language = uk\n"
	                           "high_contrast = yes\n"
	                           "large_text = 1\n";
	struct config cfg;
	char err[CONFIG_ERROR_MAX] = "";
	config_init(&cfg);
	assert_true(config_load_string(&cfg, "k.conf", text, err));
	assert_string_equal(cfg.scanner.device, "sim:pages=/srv/pages;feeder=3");
	assert_int_equal(cfg.scanner.source, CONFIG_SCAN_SOURCE_ADF);
	assert_int_equal(cfg.scanner.dpi, 200);
	assert_int_equal(cfg.scanner.mode, CONFIG_SCAN_MODE_GRAY);
	assert_int_equal(cfg.kiosk.panel_dpi, 160);
	assert_int_equal(cfg.kiosk.idle_timeout, 90);
	assert_int_equal(cfg.kiosk.idle_warning, 20);
	assert_string_equal(cfg.kiosk.kundennummer_pattern, "[0-9]{3}[A-Z][0-9]{6}");
	assert_string_equal(cfg.kiosk.bg_pattern, "[0-9]{5}BG[0-9]{7}|[0-9]{3}BG[0-9]{5}");
	assert_int_equal(cfg.kiosk.category_count, 3);
	assert_string_equal(cfg.kiosk.categories[0], "payslip");
	assert_string_equal(cfg.kiosk.categories[1], "rent");
	assert_string_equal(cfg.kiosk.categories[2], "other");
	assert_int_equal(cfg.kiosk.language_count, 3);
	assert_string_equal(cfg.kiosk.languages[0], "ar");
	assert_string_equal(cfg.kiosk.language, "uk");
	assert_true(cfg.kiosk.high_contrast);
	assert_true(cfg.kiosk.large_text);
	/* The rest keeps its defaults. */
	assert_string_equal(cfg.spool.dir, "/var/spool/scankiosk");
	config_finish(&cfg);

	/* An empty device means the first scanner found. */
	config_init(&cfg);
	assert_true(config_load_string(&cfg, "k.conf", "[scanner]\ndevice =\n", err));
	assert_null(cfg.scanner.device);
	/* Leaving German out makes the first offered language the start language. */
	assert_true(config_load_string(&cfg, "k.conf", "[kiosk]\nlanguages = en, tr\n", err));
	assert_string_equal(cfg.kiosk.language, "en");
	assert_int_equal(cfg.kiosk.language_count, 2);
	config_finish(&cfg);
}

static void test_kiosk_bad_values(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
	        {"[scanner]\nsource = feeder\n",
	         "b.conf:2: source: 'feeder' is not one of flatbed, adf"},
	        {"[scanner]\nmode = colour\n", "b.conf:2: mode: 'colour' is not one of auto"},
	        {"[scanner]\ndpi = 50\n", "b.conf:2: dpi: 50 is out of range (75..1200)"},
	        {"[scanner]\ndevice = a\x01b\n", "b.conf:2: device: control characters"},
	        {"[kiosk]\nidle_warning = 19\n", "b.conf:2: idle_warning: 19 is out of range (20"},
	        {"[kiosk]\nidle_timeout = 5\n", "b.conf:2: idle_timeout: 5 is out of range"},
	        {"[kiosk]\npanel_dpi = 0\n", "b.conf:2: panel_dpi: 0 is out of range"},
	        {"[kiosk]\nkundennummer_pattern = [0-9\n",
	         "b.conf:2: kundennummer_pattern: not a valid extended regular expression"},
	        {"[kiosk]\nbg_pattern = (BG\n",
	         "b.conf:2: bg_pattern: not a valid extended regular expression"},
	        {"[kiosk]\nbg_pattern =\n", "b.conf:2: bg_pattern: empty value"},
	        {"[kiosk]\ncategories = payslip,,rent\n",
	         "b.conf:2: categories: an empty item in the list"},
	        {"[kiosk]\ncategories = Payslip\n",
	         "b.conf:2: categories: 'Payslip' is not a category key"},
	        {"[kiosk]\ncategories = pay slip\n",
	         "b.conf:2: categories: 'pay slip' is not a category key"},
	        {"[kiosk]\ncategories = rent,payslip,rent\n",
	         "b.conf:2: categories: 'rent' is listed twice"},
	        {"[kiosk]\ncategories = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n",
	         "b.conf:2: categories: more than 16 items"},
	        {"[kiosk]\ncategories =\n", "b.conf:2: categories: empty value"},
	        {"[kiosk]\nlanguages = de,fr\n",
	         "b.conf:2: languages: 'fr' is not one of de, en, uk, ru, tr, ar"},
	        {"[kiosk]\nlanguages = de,en,de\n", "b.conf:2: languages: 'de' is listed twice"},
	        {"[kiosk]\nlanguage = pl\n", "b.conf:2: language: 'pl' is not one of"},
	        {"[kiosk]\nlanguages = de,en\nlanguage = ar\n",
	         "b.conf:3: language: 'ar' is not in languages"},
	        {"[kiosk]\nlanguage = ar\nlanguages = de,en\n",
	         "b.conf:3: languages: does not include language 'ar'"},
	        {"[kiosk]\nhigh_contrast = maybe\n",
	         "b.conf:2: high_contrast: 'maybe' is not a boolean"},
	        {"[kiosk]\nlarge_text = 1\nlarge_text = 0\n",
	         "b.conf:3: 'large_text' is set twice in [kiosk]"},
	        {"[kiosk]\nidle = 3\n", "b.conf:2: unknown key 'idle' in [kiosk]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config cfg;
		char err[CONFIG_ERROR_MAX] = "";
		config_init(&cfg);
		bool ok = config_load_string(&cfg, "b.conf", cases[i].text, err);
		if (ok || strncmp(err, cases[i].expect, strlen(cases[i].expect)) != 0)
			fail_msg("case %zu: ok=%d err='%s' expected '%s'", i, ok, err,
			         cases[i].expect);
		/* A rejected file leaves the defaults whole. */
		assert_int_equal(cfg.kiosk.category_count, 7);
		assert_int_equal(cfg.kiosk.language_count, 6);
		assert_string_equal(cfg.kiosk.language, "de");
		assert_int_equal(cfg.kiosk.idle_warning, 30);
		config_finish(&cfg);
	}
}

static void test_category_labels(void **state)
{
	(void)state;
	static const char text[] = "[category.payslip]\n"
	                           "de = Lohnabrechnung oder Gehaltszettel\n"
	                           "[kiosk]\n"
	                           "categories = payslip,residence-permit,other\n"
	                           "[category.residence-permit]\n"
	                           "de = Aufenthaltstitel\n"
	                           "uk = Посвідка на проживання\n"
	                           "ar = تصريح الإقامة\n";
	struct config cfg;
	char err[CONFIG_ERROR_MAX] = "";
	config_init(&cfg);
	assert_null(config_category_label(&cfg, "payslip", "de")); /* none by default */
	if (!config_load_string(&cfg, "c.conf", text, err))
		fail_msg("%s", err);
	assert_int_equal(cfg.kiosk.category_label_count, 2);
	assert_string_equal(config_category_label(&cfg, "payslip", "de"),
	                    "Lohnabrechnung oder Gehaltszettel");
	assert_null(config_category_label(&cfg, "payslip", "en")); /* the catalog's */
	assert_string_equal(config_category_label(&cfg, "residence-permit", "uk"),
	                    "Посвідка на проживання");
	assert_string_equal(config_category_label(&cfg, "residence-permit", "ar"), "تصريح الإقامة");
	assert_null(config_category_label(&cfg, "residence-permit", "tr"));
	assert_null(config_category_label(&cfg, "other", "de"));
	assert_null(config_category_label(&cfg, "residence-permit", "fr"));
	assert_null(config_category_label(&cfg, "residence-permit", NULL));
	/* A second file over the first keeps and extends the labels. */
	assert_true(config_load_string(&cfg, "d.conf", "[category.payslip]\nen = Pay slip\n", err));
	assert_string_equal(config_category_label(&cfg, "payslip", "en"), "Pay slip");
	assert_string_equal(config_category_label(&cfg, "residence-permit", "de"),
	                    "Aufenthaltstitel");
	config_finish(&cfg);
	config_finish(&cfg);

	static const struct bad_case cases[] = {
	        {"[kiosk]\ncategories = payslip,passport\n",
	         "b.conf:2: categories: 'passport' has no label: add [category.passport] with at "
	         "least de"},
	        {"[kiosk]\ncategories = passport\n[category.passport]\nen = Passport\n",
	         "b.conf:2: categories: 'passport' has no label"},
	        {"[category.passport]\nde = Pass\n",
	         "b.conf:1: [category.passport]: 'passport' is not in [kiosk] categories"},
	        {"\n[kiosk]\ncategories = rent\n[category.payslip]\nde = Lohn\n",
	         "b.conf:4: [category.payslip]: 'payslip' is not in [kiosk] categories"},
	        {"[category.Pass]\nde = Pass\n", "b.conf:2: [category.Pass]: 'Pass' is not a "
	                                         "category key"},
	        {"[category.rent]\nfr = Loyer\n",
	         "b.conf:2: unknown key 'fr' in [category.rent] (de, en, uk, ru, tr, ar)"},
	        {"[category.rent]\nde = Miete\nde = Wohnung\n",
	         "b.conf:3: 'de' is set twice in [category.rent]"},
	        {"[category.rent]\nde =\n", "b.conf:2: de: empty value"},
	        {"[category.rent]\nde = Mi\xc3\n", "b.conf:2: de: not UTF-8 text"},
	        {"[category.rent]\nde = Mi\x7f"
	         "e\n",
	         "b.conf:2: de: not UTF-8 text, or control"},
	        {"[category.rent]\nde = "
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	         "b.conf:2: de: a label has at most 60 characters"},
	        {"[category]\nde = x\n", "b.conf:2: unknown section [category]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_init(&cfg);
		bool ok = config_load_string(&cfg, "b.conf", cases[i].text, err);
		if (ok || strncmp(err, cases[i].expect, strlen(cases[i].expect)) != 0)
			fail_msg("case %zu: ok=%d err='%s' expected '%s'", i, ok, err,
			         cases[i].expect);
		assert_int_equal(cfg.kiosk.category_label_count, 0);
		assert_null(cfg.kiosk.category_labels);
		config_finish(&cfg);
	}
	/* 60 characters in Cyrillic (2 bytes each) are fine. */
	char line[200] = "[category.rent]\nuk = ";
	size_t n = strlen(line);
	for (int i = 0; i < 60; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "ж");
	snprintf(line + n, sizeof(line) - n, "\n");
	config_init(&cfg);
	if (!config_load_string(&cfg, "c.conf", line, err))
		fail_msg("%s", err);
	config_finish(&cfg);
}

static void test_long_line(void **state)
{
	(void)state;
	char text[600];
	char path[400];
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	snprintf(text, sizeof(text), "[spool]\nmax_count = 3\ndir = %s\n", path);
	struct config cfg;
	char err[CONFIG_ERROR_MAX] = "";
	config_init(&cfg);
	assert_false(config_load_string(&cfg, "l.conf", text, err));
	assert_string_equal(err, "l.conf:3: line too long (at most 198 characters)");
	assert_int_equal(cfg.spool.max_count, 1000);
	config_finish(&cfg);
}

static void test_file_errors(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERROR_MAX] = "";
	config_init(&cfg);
	assert_false(config_load(&cfg, "/nonexistent/scankiosk.conf", err));
	assert_string_equal(err, "/nonexistent/scankiosk.conf:0: cannot open: No such file or "
	                         "directory");
	assert_false(config_load(&cfg, "/", err));
	assert_string_equal(err, "/:0: not a regular file");

	char tmpl[] = "test_config_XXXXXX";
	int fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	static const char text[] = "[spool]\nmax_count = 7\n[log]\nlevel = error\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	assert_true(config_load(&cfg, tmpl, err));
	assert_int_equal(cfg.spool.max_count, 7);
	assert_int_equal(cfg.log_level, LOG_LEVEL_ERROR);
	unlink(tmpl);
	config_finish(&cfg);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* PATH.d/ *.conf over PATH, in name order; other names and hidden files are
 * not read; a drop-in's mistake names the drop-in. */
static void test_dropins(void **state)
{
	(void)state;
	char dir[] = "test_config_dropins_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char main_path[128], d[160], f[320];
	snprintf(main_path, sizeof(main_path), "%s/scankiosk.conf", dir);
	snprintf(d, sizeof(d), "%s.d", main_path);
	write_text(main_path, "[spool]\nmax_count = 7\n[log]\nlevel = error\n");
	assert_int_equal(mkdir(d, 0700), 0);
	snprintf(f, sizeof(f), "%s/50-provision.conf", d);
	write_text(f, "[intake]\nurl = https://intake.example/api\n[spool]\nmax_count = 9\n");
	snprintf(f, sizeof(f), "%s/10-site.conf", d);
	write_text(f, "[spool]\nmax_count = 8\nmax_bytes = 5M\n");
	snprintf(f, sizeof(f), "%s/99-notes.txt", d);
	write_text(f, "this is not read\n");
	snprintf(f, sizeof(f), "%s/.hidden.conf", d);
	write_text(f, "not = read\n");

	struct config cfg;
	char err[CONFIG_ERROR_MAX] = "";
	config_init(&cfg);
	assert_true(config_load(&cfg, main_path, err));
	assert_int_equal(cfg.spool.max_count, 9); /* 50- after 10- */
	assert_int_equal(cfg.spool.max_bytes, 5u * 1024 * 1024);
	assert_string_equal(cfg.intake.url, "https://intake.example/api");
	assert_int_equal(cfg.log_level, LOG_LEVEL_ERROR);
	config_finish(&cfg);

	snprintf(f, sizeof(f), "%s/20-bad.conf", d);
	write_text(f, "[spool]\n\nmax_count = many\n");
	config_init(&cfg);
	assert_false(config_load(&cfg, main_path, err));
	char want[512];
	snprintf(want, sizeof(want), "%s/20-bad.conf:3:", d);
	assert_memory_equal(err, want, strlen(want));
	config_finish(&cfg);

	unlink(f);
	snprintf(f, sizeof(f), "%s/10-site.conf", d);
	unlink(f);
	snprintf(f, sizeof(f), "%s/50-provision.conf", d);
	unlink(f);
	snprintf(f, sizeof(f), "%s/99-notes.txt", d);
	unlink(f);
	snprintf(f, sizeof(f), "%s/.hidden.conf", d);
	unlink(f);
	rmdir(d);
	unlink(main_path);
	rmdir(dir);
}

/* credential:NAME for the two secret keys: checked when read, resolved to
 * $CREDENTIALS_DIRECTORY/NAME, an error without it. */
static void test_credentials(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERROR_MAX] = "";
	config_init(&cfg);
	assert_true(config_load_string(&cfg, "t.conf",
	                               "[spool]\nsecret_key = credential:spool.key\n"
	                               "[intake]\nclient_key = credential:device.key\n"
	                               "client_cert = /etc/scankiosk/device.pem\n",
	                               err));
	assert_true(config_is_credential(cfg.spool.secret_key));
	assert_false(config_is_credential(cfg.intake.client_cert));
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_false(config_resolve_credentials(&cfg, err));
	assert_non_null(strstr(err, "[spool] secret_key = credential:spool.key"));
	assert_non_null(strstr(err, "CREDENTIALS_DIRECTORY"));
	setenv("CREDENTIALS_DIRECTORY", "/run/credentials/scankiosk-uploader.service", 1);
	assert_true(config_resolve_credentials(&cfg, err));
	assert_string_equal(cfg.spool.secret_key,
	                    "/run/credentials/scankiosk-uploader.service/spool.key");
	assert_string_equal(cfg.intake.client_key,
	                    "/run/credentials/scankiosk-uploader.service/device.key");
	/* Resolved values are paths now: a second call changes nothing. */
	assert_true(config_resolve_credentials(&cfg, err));
	assert_string_equal(cfg.spool.secret_key,
	                    "/run/credentials/scankiosk-uploader.service/spool.key");
	unsetenv("CREDENTIALS_DIRECTORY");
	config_finish(&cfg);

	static const char *const bad[] = {"credential:", "credential:../etc/shadow",
	                                  "credential:a/b", "credential:.key", "credential:sp ace"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];
		snprintf(text, sizeof(text), "[spool]\nsecret_key = %s\n", bad[i]);
		config_init(&cfg);
		assert_false(config_load_string(&cfg, "t.conf", text, err));
		assert_non_null(strstr(err, "t.conf:2: secret_key:"));
		config_finish(&cfg);
	}
	/* Only the two secret keys take the form. */
	config_init(&cfg);
	assert_true(
	        config_load_string(&cfg, "t.conf", "[spool]\npublic_key = credential:x\n", err));
	assert_string_equal(cfg.spool.public_key, "credential:x");
	config_finish(&cfg);
}

static void test_maintenance(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERROR_MAX] = "";
	config_init(&cfg);
	assert_null(cfg.maintenance.pin_hash);
	assert_int_equal(cfg.maintenance.max_failures, 5);
	assert_int_equal(cfg.maintenance.lockout, 900);
	assert_int_equal(cfg.maintenance.delay_cap, 60);
	assert_string_equal(cfg.maintenance.state, "/var/lib/scankiosk/pin-state");
	assert_int_equal(cfg.maintenance.idle_close, 120);

	char hash[PIN_HASH_MAX];
	char pin[] = "48151623";
	assert_int_equal(pin_hash(pin, strlen(pin), hash), PIN_OK);
	char text[512];
	snprintf(text, sizeof(text),
	         "[maintenance]\npin_hash = %s\nmax_failures = 3\nlockout = 1800\n"
	         "delay_cap = 10\nstate = /var/lib/k/pin\nidle_close = 90\n",
	         hash);
	if (!config_load_string(&cfg, "m.conf", text, err))
		fail_msg("%s", err);
	assert_string_equal(cfg.maintenance.pin_hash, hash);
	assert_int_equal(cfg.maintenance.max_failures, 3);
	assert_int_equal(cfg.maintenance.delay_cap, 10);
	assert_string_equal(cfg.maintenance.state, "/var/lib/k/pin");
	assert_int_equal(cfg.maintenance.idle_close, 90);
	config_finish(&cfg);

	static const struct bad_case cases[] = {
	        {"[maintenance]\npin_hash = 123456\n", "m.conf:2: pin_hash: "},
	        {"[maintenance]\npin_hash = $argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$aGFzaA\n",
	         "m.conf:2: pin_hash: "},
	        {"[maintenance]\nmax_failures = 0\n", "m.conf:2: max_failures: 0 is out of range"},
	        {"[maintenance]\nlockout = 10\n", "m.conf:2: lockout: 10 is out of range"},
	        {"[maintenance]\n\nlockout = 120\ndelay_cap = 600\n",
	         "m.conf:4: delay_cap: 600 s is longer than the lockout (120 s)"},
	        {"[maintenance]\nidle_close = 5\n", "m.conf:2: idle_close: 5 is out of range"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_init(&cfg);
		bool ok = config_load_string(&cfg, "m.conf", cases[i].text, err);
		if (ok || strncmp(err, cases[i].expect, strlen(cases[i].expect)) != 0)
			fail_msg("case %zu: ok=%d err='%s' expected '%s'", i, ok, err,
			         cases[i].expect);
		assert_null(cfg.maintenance.pin_hash);
		config_finish(&cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),        cmocka_unit_test(test_full_file),
	        cmocka_unit_test(test_bad_values),      cmocka_unit_test(test_long_line),
	        cmocka_unit_test(test_file_errors),     cmocka_unit_test(test_kiosk_defaults),
	        cmocka_unit_test(test_kiosk_file),      cmocka_unit_test(test_kiosk_bad_values),
	        cmocka_unit_test(test_category_labels), cmocka_unit_test(test_maintenance),
	        cmocka_unit_test(test_dropins),         cmocka_unit_test(test_credentials),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
