/*
 * test_scanner_settings.c - the technicians' scanner choice on disk
 * (kiosk/core/scanner_settings.h, config_load_scanner_settings()): a round
 * trip through a real file, a missing file, a malformed line reported with
 * file, line and reason and ignored at start, keys and sections a settings
 * file may not hold, values the file cannot keep, the atomic replacement
 * (a rename over the old file, nothing left behind, the old file whole when
 * the write fails) and mode 0600 whatever the umask.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "config.h"
#include "log.h"
#include "scanner_settings.h"

static char workdir[PATH_MAX];

static void path_in(char *out, size_t size, const char *name)
{
	int n = snprintf(out, size, "%s/%s", workdir, name);
	assert_true(n > 0 && (size_t)n < size);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The file's whole text (at most 4 KiB). */
static void read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static bool exists(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

static bool ring_has(const char *needle)
{
	struct log_ring_entry *lines = calloc(LOG_RING_LINES, sizeof(*lines));
	assert_non_null(lines);
	size_t n = log_ring_copy(lines, LOG_RING_LINES);
	bool found = false;
	for (size_t i = 0; i < n && !found; i++)
		found = strstr(lines[i].text, needle) != NULL;
	free(lines);
	return found;
}

/* A config as the kiosk has it after config_load(): the main file's
 * [scanner] values and the settings file's path. */
static void main_config(struct config *cfg, const char *settings)
{
	char text[PATH_MAX + 128];
	char err[CONFIG_ERROR_MAX];
	snprintf(text, sizeof(text),
	         "[scanner]\ndevice = test:0\nsource = adf\ndpi = 300\nmode = color\n"
	         "settings = %s\n",
	         settings);
	config_init(cfg);
	if (!config_load_string(cfg, "main.conf", text, err))
		fail_msg("%s", err);
}

static void test_round_trip(void **state)
{
	(void)state;
	char path[PATH_MAX];
	path_in(path, sizeof(path), "scanner.conf");
	struct scanner_settings_values values = {.device = "test:1",
	                                         .source = CONFIG_SCAN_SOURCE_FLATBED,
	                                         .dpi = 150,
	                                         .mode = CONFIG_SCAN_MODE_GRAY};
	char err[CONFIG_ERROR_MAX] = "x";
	assert_true(scanner_settings_save(path, &values, err));
	assert_string_equal(err, "");
	char text[4096];
	read_file(path, text, sizeof(text));
	assert_non_null(strstr(text, "[scanner]\ndevice = test:1\nsource = flatbed\ndpi = 150\n"
	                             "mode = gray\n"));

	/* Read over the main file's values, as at start. */
	struct config cfg;
	main_config(&cfg, path);
	assert_int_equal(scanner_settings_apply(&cfg, err), SCANNER_SETTINGS_LOADED);
	assert_string_equal(err, "");
	assert_string_equal(cfg.scanner.device, "test:1");
	assert_int_equal(cfg.scanner.source, CONFIG_SCAN_SOURCE_FLATBED);
	assert_int_equal(cfg.scanner.dpi, 150);
	assert_int_equal(cfg.scanner.mode, CONFIG_SCAN_MODE_GRAY);
	assert_string_equal(cfg.scanner.settings, path); /* the rest as it was */
	assert_true(ring_has("scanner settings from"));
	config_finish(&cfg);

	/* No device: the first found, over a named one in the main file. */
	values.device = NULL;
	values.source = CONFIG_SCAN_SOURCE_ADF;
	values.dpi = 1200;
	values.mode = CONFIG_SCAN_MODE_AUTO;
	assert_true(scanner_settings_save(path, &values, err));
	read_file(path, text, sizeof(text));
	assert_non_null(strstr(text, "device = \n"));
	main_config(&cfg, path);
	bool found = false;
	assert_true(config_load_scanner_settings(&cfg, path, &found, err));
	assert_true(found);
	assert_null(cfg.scanner.device);
	assert_int_equal(cfg.scanner.source, CONFIG_SCAN_SOURCE_ADF);
	assert_int_equal(cfg.scanner.dpi, 1200);
	assert_int_equal(cfg.scanner.mode, CONFIG_SCAN_MODE_AUTO);
	config_finish(&cfg);

	/* The simulator's spec is a name like any other. */
	values.device = "sim:pages=/srv/pages;feeder=3";
	assert_true(scanner_settings_save(path, &values, err));
	main_config(&cfg, path);
	assert_int_equal(scanner_settings_apply(&cfg, NULL), SCANNER_SETTINGS_LOADED);
	assert_string_equal(cfg.scanner.device, "sim:pages=/srv/pages;feeder=3");
	config_finish(&cfg);
}

static void test_missing_file(void **state)
{
	(void)state;
	char path[PATH_MAX];
	path_in(path, sizeof(path), "never-saved.conf");
	struct config cfg;
	main_config(&cfg, path);
	char err[CONFIG_ERROR_MAX] = "x";
	bool found = true;
	assert_true(config_load_scanner_settings(&cfg, path, &found, err));
	assert_false(found);
	assert_string_equal(err, "");
	assert_int_equal(scanner_settings_apply(&cfg, err), SCANNER_SETTINGS_MISSING);
	assert_string_equal(err, "");
	/* The main file's values. */
	assert_string_equal(cfg.scanner.device, "test:0");
	assert_int_equal(cfg.scanner.source, CONFIG_SCAN_SOURCE_ADF);
	assert_int_equal(cfg.scanner.dpi, 300);
	assert_int_equal(cfg.scanner.mode, CONFIG_SCAN_MODE_COLOR);

	/* Not kept at all. */
	free(cfg.scanner.settings);
	cfg.scanner.settings = NULL;
	assert_int_equal(scanner_settings_apply(&cfg, err), SCANNER_SETTINGS_NOT_KEPT);
	assert_string_equal(cfg.scanner.device, "test:0");
	config_finish(&cfg);
	assert_string_equal(scanner_settings_outcome_name(SCANNER_SETTINGS_IGNORED), "ignored");
}

/* Expects the file text to be refused with exactly "PATH:reason", and
 * scanner_settings_apply() to ignore it (logged) and leave cfg as it was. */
static void expect_refused(const char *text, const char *reason)
{
	char path[PATH_MAX], want[CONFIG_ERROR_MAX + PATH_MAX];
	path_in(path, sizeof(path), "bad.conf");
	write_file(path, text);
	snprintf(want, sizeof(want), "%s:%s", path, reason);

	struct config cfg;
	main_config(&cfg, path);
	char err[CONFIG_ERROR_MAX];
	bool found = false;
	assert_false(config_load_scanner_settings(&cfg, path, &found, err));
	assert_true(found);
	assert_string_equal(err, want);

	log_ring_clear();
	assert_int_equal(scanner_settings_apply(&cfg, err), SCANNER_SETTINGS_IGNORED);
	assert_string_equal(err, want);
	char logged[CONFIG_ERROR_MAX + PATH_MAX + 32];
	snprintf(logged, sizeof(logged), "scanner settings ignored: %s", want);
	assert_true(ring_has(logged));
	assert_string_equal(cfg.scanner.device, "test:0");
	assert_int_equal(cfg.scanner.source, CONFIG_SCAN_SOURCE_ADF);
	assert_int_equal(cfg.scanner.dpi, 300);
	assert_int_equal(cfg.scanner.mode, CONFIG_SCAN_MODE_COLOR);
	config_finish(&cfg);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_refused("[scanner]\ndevice = test:1\ndpi = 12\n",
	               "3: dpi: 12 is out of range (75..1200)");
	expect_refused("[scanner]\nsource = glass\n",
	               "2: source: 'glass' is not one of flatbed, adf");
	expect_refused("[scanner]\nmode = auto\nmode = gray\n",
	               "3: 'mode' is set twice in [scanner]");
	expect_refused("[scanner]\ndevice = test:1\nthis is not ini\n",
	               "3: not a [section] header or key = value line");
	expect_refused("[scanner]\ndpi = 300x\n", "2: dpi: '300x' is not a whole number");
	/* All or nothing: the good lines before the bad one are not taken. */
	expect_refused("[scanner]\ndevice = test:1\nsource = flatbed\ndpi = 0\n",
	               "4: dpi: 0 is out of range (75..1200)");
}

static void test_unknown_keys_refused(void **state)
{
	(void)state;
	expect_refused("[scanner]\nsettings = /tmp/elsewhere.conf\n",
	               "2: unknown key 'settings' in [scanner] (a scanner settings file has "
	               "device, source, dpi and mode only)");
	expect_refused("[scanner]\ncolour = yes\n",
	               "2: unknown key 'colour' in [scanner] (a scanner settings file has device, "
	               "source, dpi and mode only)");
	expect_refused("# a key of the main file\n[spool]\ndir = /tmp\n",
	               "3: unknown section [spool] (a scanner settings file has [scanner] only)");
	expect_refused("[maintenance]\npin_hash = x\n",
	               "2: unknown section [maintenance] (a scanner settings file has [scanner] "
	               "only)");
	expect_refused("dpi = 300\n", "1: 'dpi' is outside of any [section]");

	/* The main file still takes its own keys (and settings is one). */
	struct config cfg;
	char err[CONFIG_ERROR_MAX];
	config_init(&cfg);
	assert_true(config_load_string(&cfg, "main.conf",
	                               "[scanner]\nsettings = /var/lib/x.conf\n[spool]\ndir = /s\n",
	                               err));
	config_finish(&cfg);
}

static void test_unreadable(void **state)
{
	(void)state;
	char path[PATH_MAX];
	path_in(path, sizeof(path), "a-directory.conf");
	assert_int_equal(mkdir(path, 0700), 0);
	struct config cfg;
	main_config(&cfg, path);
	char err[CONFIG_ERROR_MAX], want[PATH_MAX + 64];
	assert_int_equal(scanner_settings_apply(&cfg, err), SCANNER_SETTINGS_IGNORED);
	snprintf(want, sizeof(want), "%s:0: not a regular file", path);
	assert_string_equal(err, want);
	assert_string_equal(cfg.scanner.device, "test:0");
	config_finish(&cfg);
	assert_int_equal(rmdir(path), 0);
}

/* Values the file cannot hold as they are: refused, nothing written. */
static void test_save_refuses(void **state)
{
	(void)state;
	char path[PATH_MAX], text[4096], after[4096];
	path_in(path, sizeof(path), "refuse.conf");
	struct scanner_settings_values good = {.device = "test:0",
	                                       .source = CONFIG_SCAN_SOURCE_FLATBED,
	                                       .dpi = 300,
	                                       .mode = CONFIG_SCAN_MODE_AUTO};
	char err[CONFIG_ERROR_MAX];
	assert_true(scanner_settings_save(path, &good, err));
	read_file(path, text, sizeof(text));

	struct scanner_settings_values bad = good;
	bad.device = " test:1"; /* libinih would strip the blank */
	assert_false(scanner_settings_save(path, &bad, err));
	assert_non_null(strstr(err, "not saved"));
	bad.device = "test:1 ;x"; /* the rest would be a comment */
	assert_false(scanner_settings_save(path, &bad, err));
	bad.device = "test:1\nmode = gray";
	assert_false(scanner_settings_save(path, &bad, err));
	char name[200];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	bad.device = name; /* longer than a line libinih reads */
	assert_false(scanner_settings_save(path, &bad, err));
	assert_non_null(strstr(err, "line too long"));
	bad = good;
	bad.dpi = 50;
	assert_false(scanner_settings_save(path, &bad, err));
	bad = good;
	bad.mode = CONFIG_SCAN_MODE_LAST;
	assert_false(scanner_settings_save(path, &bad, err));
	assert_false(scanner_settings_save(NULL, &good, err));
	assert_string_equal(err, "not saved: no settings file configured");

	read_file(path, after, sizeof(after));
	assert_string_equal(after, text);
}

/* The new file replaces the old by a rename: a reader of the old file (here
 * a second link to it) keeps the old text whole; no temp file stays; a
 * write that fails leaves the old file as it was. */
static void test_atomic_replace(void **state)
{
	(void)state;
	char path[PATH_MAX], old_link[PATH_MAX], tmp[PATH_MAX + 8], text[4096];
	path_in(path, sizeof(path), "atomic.conf");
	path_in(old_link, sizeof(old_link), "atomic-old.conf");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	struct scanner_settings_values a = {.device = "test:0",
	                                    .source = CONFIG_SCAN_SOURCE_FLATBED,
	                                    .dpi = 300,
	                                    .mode = CONFIG_SCAN_MODE_AUTO};
	struct scanner_settings_values b = {.device = "test:1",
	                                    .source = CONFIG_SCAN_SOURCE_ADF,
	                                    .dpi = 600,
	                                    .mode = CONFIG_SCAN_MODE_GRAY};
	char err[CONFIG_ERROR_MAX];
	assert_true(scanner_settings_save(path, &a, err));
	assert_int_equal(link(path, old_link), 0);
	struct stat before, now;
	assert_int_equal(stat(path, &before), 0);

	assert_true(scanner_settings_save(path, &b, err));
	assert_int_equal(stat(path, &now), 0);
	assert_true(now.st_ino != before.st_ino); /* a new file, renamed over the old */
	read_file(old_link, text, sizeof(text));
	assert_non_null(strstr(text, "device = test:0\n"));
	read_file(path, text, sizeof(text));
	assert_non_null(strstr(text, "device = test:1\n"));
	assert_false(exists(tmp));

	/* The temp file cannot be made: the old file stays, whole. */
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_false(scanner_settings_save(path, &a, err));
	assert_non_null(strstr(err, "cannot create"));
	read_file(path, text, sizeof(text));
	assert_non_null(strstr(text, "device = test:1\n"));
	assert_int_equal(rmdir(tmp), 0);

	/* A leftover temp file (a power cut) is written over. */
	write_file(tmp, "half a fi");
	assert_true(scanner_settings_save(path, &a, err));
	assert_false(exists(tmp));
	read_file(path, text, sizeof(text));
	assert_non_null(strstr(text, "device = test:0\n"));

	/* No directory: refused with the reason. */
	char nodir[PATH_MAX];
	path_in(nodir, sizeof(nodir), "no-such-dir/scanner.conf");
	assert_false(scanner_settings_save(nodir, &a, err));
	assert_non_null(strstr(err, "cannot open the directory"));

	/* The helper refuses names with a directory in them. */
	const char *what = NULL;
	errno = 0;
	assert_int_equal(atomic_file_replace_at(AT_FDCWD, "a/b", "x", 1, 0600, &what), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(unlink(old_link), 0);
}

static void test_mode_0600(void **state)
{
	(void)state;
	char path[PATH_MAX];
	path_in(path, sizeof(path), "mode.conf");
	struct scanner_settings_values v = {.device = "test:0",
	                                    .source = CONFIG_SCAN_SOURCE_FLATBED,
	                                    .dpi = 300,
	                                    .mode = CONFIG_SCAN_MODE_AUTO};
	char err[CONFIG_ERROR_MAX];
	struct stat sb;
	mode_t old = umask(0);
	assert_true(scanner_settings_save(path, &v, err));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);

	/* An older file with another mode is replaced by a 0600 one. */
	assert_int_equal(chmod(path, 0644), 0);
	umask(077);
	assert_true(scanner_settings_save(path, &v, err));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	umask(old);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	char tmpl[] = "test_scanner_settings.XXXXXX";
	if (!mkdtemp(tmpl) || !realpath(tmpl, workdir))
		return -1;
	log_set_level(LOG_LEVEL_INFO);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	nftw(workdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip),     cmocka_unit_test(test_missing_file),
	        cmocka_unit_test(test_malformed),      cmocka_unit_test(test_unknown_keys_refused),
	        cmocka_unit_test(test_unreadable),     cmocka_unit_test(test_save_refuses),
	        cmocka_unit_test(test_atomic_replace), cmocka_unit_test(test_mode_0600),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
