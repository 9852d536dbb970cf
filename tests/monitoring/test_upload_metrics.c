/*
 * test_upload_metrics.c - the uploader's Prometheus textfile
 * (kiosk/upload/status.h, status_write_metrics()) from a known snapshot:
 * every family the README promises, with HELP and TYPE, every spool state
 * and every outcome class present (0 included), the values in their series;
 * the last success read back from a previous run's file (a restart without
 * a status file); and the quiet write of kiosk/core/metrics.h that the
 * kiosk's writer uses (errno, no log line, nothing left behind).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "outcome.h"
#include "spool.h"
#include "status.h"

static char work[64]; /* relative: made in the test's directory */

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = calloc(1, METRICS_TEXT_MAX + 1);
	assert_non_null(buf);
	size_t n = fread(buf, 1, METRICS_TEXT_MAX, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *sample_line(const char *text, const char *series)
{
	size_t len = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, series, len) == 0 && p[len] == ' ')
			return p + len + 1;
	return NULL;
}

static long long sample(const char *text, const char *series)
{
	const char *v = sample_line(text, series);
	if (!v)
		fail_msg("no sample %s in:\n%s", series, text);
	return strtoll(v, NULL, 10);
}

static void check_family(const char *text, const char *name, const char *type)
{
	char line[160];
	snprintf(line, sizeof(line), "# HELP %s ", name);
	if (!strstr(text, line))
		fail_msg("no HELP for %s:\n%s", name, text);
	snprintf(line, sizeof(line), "# TYPE %s %s\n", name, type);
	if (!strstr(text, line))
		fail_msg("no TYPE %s for %s:\n%s", type, name, text);
}

static void test_uploader_file(void **state)
{
	(void)state;
	struct upload_stats us = {
	        .started = 1700000000,
	        .last_success = 1700000500,
	        .bytes_sent = 123456789,
	        .last_outcome = UPLOAD_DELIVERED,
	        .last_error = UPLOAD_OUTCOME_LAST,
	        .activity = "idle",
	};
	us.outcomes[UPLOAD_DELIVERED] = 7;
	us.outcomes[UPLOAD_CONFLICT] = 1;
	struct status_snapshot snap = {.now = 1700000900, .stats = &us};
	snap.spool.count[SPOOL_STATE_NEW] = 2;
	snap.spool.bytes[SPOOL_STATE_NEW] = 4096;
	snap.spool.count[SPOOL_STATE_FAILED] = 1;
	snap.spool.count[SPOOL_STATE_QUARANTINE] = 3;
	snap.spool.oldest_created = 1700000600;

	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/scankiosk.prom", work);
	assert_true(status_write_metrics(path, &snap));
	char *text = read_text(path);

	check_family(text, "scankiosk_spool_submissions", "gauge");
	check_family(text, "scankiosk_spool_bytes", "gauge");
	check_family(text, "scankiosk_spool_oldest_age_seconds", "gauge");
	check_family(text, "scankiosk_uploads_total", "counter");
	check_family(text, "scankiosk_upload_sent_bytes_total", "counter");
	check_family(text, "scankiosk_upload_last_success_timestamp_seconds", "gauge");
	check_family(text, "scankiosk_uploader_info", "gauge");
	check_family(text, "scankiosk_uploader_start_timestamp_seconds", "gauge");
	check_family(text, "scankiosk_uploader_last_update_timestamp_seconds", "gauge");

	static const char *const states[] = {"new", "sending", "failed", "quarantine"};
	static const long long counts[] = {2, 0, 1, 3};
	for (size_t i = 0; i < 4; i++) {
		char s[96];
		snprintf(s, sizeof(s), "scankiosk_spool_submissions{state=\"%s\"}", states[i]);
		assert_int_equal(sample(text, s), counts[i]);
		snprintf(s, sizeof(s), "scankiosk_spool_bytes{state=\"%s\"}", states[i]);
		assert_int_equal(sample(text, s), i == 0 ? 4096 : 0);
	}
	for (int o = 0; o < UPLOAD_OUTCOME_LAST; o++) {
		char s[96];
		snprintf(s, sizeof(s), "scankiosk_uploads_total{outcome=\"%s\"}",
		         upload_outcome_name((enum upload_outcome)o));
		long long want = o == UPLOAD_DELIVERED ? 7 : o == UPLOAD_CONFLICT ? 1 : 0;
		assert_int_equal(sample(text, s), want);
	}
	assert_int_equal(sample(text, "scankiosk_spool_oldest_age_seconds"), 300);
	assert_int_equal(sample(text, "scankiosk_upload_sent_bytes_total"), 123456789);
	assert_int_equal(sample(text, "scankiosk_upload_last_success_timestamp_seconds"),
	                 1700000500);
	assert_int_equal(sample(text, "scankiosk_uploader_start_timestamp_seconds"), 1700000000);
	assert_int_equal(sample(text, "scankiosk_uploader_last_update_timestamp_seconds"),
	                 1700000900);
	char info[128];
	snprintf(info, sizeof(info), "scankiosk_uploader_info{version=\"%s\"}", SCANKIOSK_VERSION);
	assert_int_equal(sample(text, info), 1);
	free(text);

	/* A restart without a status file finds the last success here. */
	assert_int_equal(status_read_metrics_last_success(path), 1700000500);
	us.last_success = 0;
	assert_true(status_write_metrics(path, &snap));
	assert_int_equal(status_read_metrics_last_success(path), 0);
	char missing[PATH_MAX + 16];
	snprintf(missing, sizeof(missing), "%s/none.prom", work);
	assert_int_equal(status_read_metrics_last_success(missing), 0);
	/* Garbage is no time. */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("scankiosk_upload_last_success_timestamp_seconds 12x\n"
	      "scankiosk_upload_last_success_timestamp_secondsX 5\n",
	      f);
	fclose(f);
	assert_int_equal(status_read_metrics_last_success(path), 0);
	unlink(path);
}

static unsigned log_lines(void)
{
	static struct log_ring_entry lines[LOG_RING_LINES];
	return (unsigned)log_ring_copy(lines, LOG_RING_LINES);
}

static void test_quiet_write(void **state)
{
	(void)state;
	struct metrics_text *t = metrics_text_create();
	assert_non_null(t);
	metrics_text_family(t, "scankiosk_x_total", METRICS_COUNTER, "X.");
	metrics_text_u64(t, "scankiosk_x_total", NULL, NULL, 1);
	char path[PATH_MAX + 16], tmp[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/nodir/x.prom", work);
	log_ring_clear();
	assert_int_equal(metrics_text_write_quiet(t, path), ENOENT);
	assert_int_equal(metrics_text_write_quiet(t, NULL), EINVAL);
	assert_int_equal(log_lines(), 0);

	snprintf(path, sizeof(path), "%s/x.prom", work);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(metrics_text_write_quiet(t, path), 0);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, METRICS_FILE_MODE);
	assert_int_not_equal(access(tmp, F_OK), 0);

	/* A directory where the file should be: the rename fails, no .tmp stays. */
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	int rc = metrics_text_write_quiet(t, path);
	assert_true(rc == EISDIR || rc == ENOTEMPTY || rc == EEXIST);
	assert_int_not_equal(access(tmp, F_OK), 0);
	assert_int_equal(rmdir(path), 0);

	/* A spoilt text is never written. */
	metrics_text_u64(t, "bad name", NULL, NULL, 1);
	log_ring_clear();
	assert_int_equal(metrics_text_write_quiet(t, path), EINVAL);
	assert_int_not_equal(access(path, F_OK), 0);
	metrics_text_destroy(t);
}

static int setup(void **state)
{
	(void)state;
	snprintf(work, sizeof(work), "test_upload_metrics.XXXXXX");
	return mkdtemp(work) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(work);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_uploader_file),
	        cmocka_unit_test(test_quiet_write),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
