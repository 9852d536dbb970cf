/*
 * test_config.c - the INI file: every key, defaults, and every kind of mistake
 * reported with file, line and reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_defaults),    cmocka_unit_test(test_full_file),
	        cmocka_unit_test(test_bad_values),  cmocka_unit_test(test_long_line),
	        cmocka_unit_test(test_file_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
