/*
 * kiosk_metrics.c - the kiosk's Prometheus textfile, written on a thread of
 * its own (see kiosk_metrics.h).
 *
 * One mutex guards the numbers and the writer's wake-up conditions; the
 * writer copies the numbers under it and builds and writes the file without
 * it, so the UI thread waits at most for a copy of a few integers.
 */
#include "kiosk_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"

#define VERSION_MAX 64

/* What the file says; copied by the writer. */
struct kiosk_numbers {
	uint64_t errors[SCAN_PROBLEM_LAST]; /* [SCAN_PROBLEM_NONE] unused */
	uint64_t jobs;
	uint64_t pages;
	uint64_t submissions;
	bool scanner_up;
};

struct kiosk_metrics {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *path;
	char version[VERSION_MAX];
	int64_t started; /* unix seconds */
	struct kiosk_metrics_hooks hooks;

	/* Under lock. */
	struct kiosk_numbers n;
	bool dirty; /* changed since the writer last took the numbers */
	bool quit;
	/* The scan service as the events told it (device gone counted once). */
	enum scan_service_state last_state;
	enum scan_problem last_problem;
	bool gone_counted; /* a FINISHED counted device-gone since the last STATE */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void timespec_at(struct timespec *ts, uint64_t ms)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

/* The problems counted as scanner errors: every one but NONE. */
static bool counted_problem(enum scan_problem p)
{
	return p > SCAN_PROBLEM_NONE && p < SCAN_PROBLEM_LAST;
}

static struct metrics_text *build(const struct kiosk_metrics *km, const struct kiosk_numbers *n,
                                  int64_t now)
{
	struct metrics_text *t = metrics_text_create();
	if (!t)
		return NULL;
	metrics_text_family(t, "scankiosk_kiosk_info", METRICS_GAUGE,
	                    "The kiosk program (scankiosk) and its version; always 1.");
	metrics_text_u64(t, "scankiosk_kiosk_info", "version", km->version, 1);
	metrics_text_family(t, "scankiosk_scanner_up", METRICS_GAUGE,
	                    "1 while a scanner is open and usable, 0 while the kiosk looks for "
	                    "one (none found yet, or it went).");
	metrics_text_u64(t, "scankiosk_scanner_up", NULL, NULL, n->scanner_up ? 1 : 0);
	metrics_text_family(t, "scankiosk_scanner_errors_total", METRICS_COUNTER,
	                    "Scanner errors by kind since the kiosk started: scans that ended "
	                    "with a problem, and the scanner lost while idle (device-gone).");
	for (int p = 0; p < SCAN_PROBLEM_LAST; p++)
		if (counted_problem((enum scan_problem)p))
			metrics_text_u64(t, "scankiosk_scanner_errors_total", "kind",
			                 scan_problem_name((enum scan_problem)p), n->errors[p]);
	metrics_text_family(t, "scankiosk_scan_jobs_total", METRICS_COUNTER,
	                    "Scan jobs ended since the kiosk started (with or without a "
	                    "problem, cancelled ones too).");
	metrics_text_u64(t, "scankiosk_scan_jobs_total", NULL, NULL, n->jobs);
	metrics_text_family(t, "scankiosk_scan_pages_total", METRICS_COUNTER,
	                    "Pages scanned since the kiosk started.");
	metrics_text_u64(t, "scankiosk_scan_pages_total", NULL, NULL, n->pages);
	metrics_text_family(t, "scankiosk_kiosk_submissions_total", METRICS_COUNTER,
	                    "Submissions committed into the spool since the kiosk started.");
	metrics_text_u64(t, "scankiosk_kiosk_submissions_total", NULL, NULL, n->submissions);
	metrics_text_family(t, "scankiosk_kiosk_start_timestamp_seconds", METRICS_GAUGE,
	                    "Unix time the kiosk started (its counters start from 0 then).");
	metrics_text_i64(t, "scankiosk_kiosk_start_timestamp_seconds", NULL, NULL, km->started);
	metrics_text_family(t, "scankiosk_kiosk_last_update_timestamp_seconds", METRICS_GAUGE,
	                    "Unix time the kiosk wrote this file; rewritten at least every "
	                    "60 s while it runs.");
	metrics_text_i64(t, "scankiosk_kiosk_last_update_timestamp_seconds", NULL, NULL, now);
	return t;
}

/* Builds and writes the file; logs the first failure of a run of them and the
 * recovery. Returns whether the file was written. */
static bool write_file(const struct kiosk_metrics *km, const struct kiosk_numbers *n, bool *failing)
{
	struct metrics_text *t = build(km, n, (int64_t)time(NULL));
	int rc = t ? metrics_text_write_quiet(t, km->path) : ENOMEM;
	metrics_text_destroy(t);
	if (rc != 0 && !*failing)
		log_error("metrics: cannot write %s: %s (tried again at the next change or "
		          "refresh)",
		          km->path, strerror(rc));
	else if (rc == 0 && *failing)
		log_info("metrics: %s written again", km->path);
	*failing = rc != 0;
	return rc == 0;
}

static void *writer_thread(void *arg)
{
	struct kiosk_metrics *km = arg;
	const struct kiosk_metrics_hooks *h = &km->hooks;
	bool first = true, failing = false;
	uint64_t last_ms = 0;
	pthread_mutex_lock(&km->lock);
	for (;;) {
		/* Wait for the refresh, or for a change once min_interval passed. */
		while (!first && !km->quit) {
			uint64_t due = last_ms + h->refresh_ms;
			if (km->dirty && last_ms + h->min_interval_ms < due)
				due = last_ms + h->min_interval_ms;
			if (mono_ms() >= due)
				break;
			struct timespec until;
			timespec_at(&until, due);
			(void)pthread_cond_timedwait(&km->cond, &km->lock, &until);
		}
		first = false;
		bool last = km->quit;
		pthread_mutex_unlock(&km->lock);

		if (h->before_write)
			h->before_write(h->userdata);
		pthread_mutex_lock(&km->lock);
		struct kiosk_numbers n = km->n;
		km->dirty = false;
		pthread_mutex_unlock(&km->lock);

		bool ok = write_file(km, &n, &failing);
		last_ms = mono_ms();
		if (h->after_write)
			h->after_write(h->userdata, ok);
		pthread_mutex_lock(&km->lock);
		if (last)
			break;
	}
	pthread_mutex_unlock(&km->lock);
	return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

struct kiosk_metrics *kiosk_metrics_create_with(const char *path, const char *version,
                                                const struct kiosk_metrics_hooks *hooks,
                                                char err[KIOSK_METRICS_ERROR_MAX])
{
	struct kiosk_metrics *km = NULL, *result = NULL;
	err[0] = '\0';
	if (!path)
		goto out;
	/* Room for the writer's "PATH.tmp". */
	if (!*path || strlen(path) + sizeof(".tmp") > PATH_MAX) {
		snprintf(err, KIOSK_METRICS_ERROR_MAX, "metrics textfile: %s",
		         *path ? "path too long" : "empty path");
		goto out;
	}
	if (!ends_with(path, ".prom"))
		log_warning("metrics: %s does not end in .prom: node_exporter will not read it",
		            path);
	km = calloc(1, sizeof(*km));
	if (!km || !(km->path = strdup(path))) {
		snprintf(err, KIOSK_METRICS_ERROR_MAX, "metrics: out of memory");
		goto out;
	}
	snprintf(km->version, sizeof(km->version), "%s", version && *version ? version : "unknown");
	km->started = (int64_t)time(NULL);
	if (hooks)
		km->hooks = *hooks;
	if (!km->hooks.refresh_ms)
		km->hooks.refresh_ms = KIOSK_METRICS_REFRESH_MS;
	if (!km->hooks.min_interval_ms)
		km->hooks.min_interval_ms = KIOSK_METRICS_MIN_INTERVAL_MS;
	km->last_state = SCAN_SERVICE_SEARCHING;
	km->last_problem = SCAN_PROBLEM_NONE;

	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&km->lock, NULL);
	pthread_cond_init(&km->cond, &attr);
	pthread_condattr_destroy(&attr);
	int rc = pthread_create(&km->thread, NULL, writer_thread, km);
	if (rc != 0) {
		snprintf(err, KIOSK_METRICS_ERROR_MAX,
		         "metrics: cannot start the writer thread: %s", strerror(rc));
		pthread_cond_destroy(&km->cond);
		pthread_mutex_destroy(&km->lock);
		goto out;
	}
	log_info("metrics: writing %s", path);
	result = km;
	km = NULL;
out:
	if (km)
		free(km->path);
	free(km);
	return result;
}

struct kiosk_metrics *kiosk_metrics_create(const char *path, const char *version,
                                           char err[KIOSK_METRICS_ERROR_MAX])
{
	return kiosk_metrics_create_with(path, version, NULL, err);
}

void kiosk_metrics_destroy(struct kiosk_metrics *km)
{
	if (!km)
		return;
	pthread_mutex_lock(&km->lock);
	km->quit = true;
	pthread_cond_broadcast(&km->cond);
	pthread_mutex_unlock(&km->lock);
	pthread_join(km->thread, NULL);
	pthread_cond_destroy(&km->cond);
	pthread_mutex_destroy(&km->lock);
	free(km->path);
	free(km);
}

/* Under lock: the writer goes when min_interval allows. */
static void changed(struct kiosk_metrics *km)
{
	if (!km->dirty) {
		km->dirty = true;
		pthread_cond_signal(&km->cond);
	}
}

void kiosk_metrics_scan_event(struct kiosk_metrics *km, const struct scan_service_event *ev)
{
	if (!km || !ev)
		return;
	if (ev->kind != SCAN_SERVICE_EVENT_FINISHED && ev->kind != SCAN_SERVICE_EVENT_STATE)
		return; /* pages and page starts: nothing counted, nothing touched */
	pthread_mutex_lock(&km->lock);
	struct kiosk_numbers *n = &km->n;
	if (ev->kind == SCAN_SERVICE_EVENT_FINISHED) {
		n->jobs++;
		n->pages += ev->pages_done;
		if (counted_problem(ev->problem)) {
			n->errors[ev->problem]++;
			if (ev->problem == SCAN_PROBLEM_DEVICE_GONE)
				km->gone_counted = true;
		}
		changed(km);
	} else {
		/* A job that lost the device is followed by SEARCHING (device-gone):
		 * one loss, counted by FINISHED. Without a FINISHED before it, the
		 * scanner went while idle. */
		bool gone = ev->state == SCAN_SERVICE_SEARCHING &&
		            ev->problem == SCAN_PROBLEM_DEVICE_GONE;
		bool was_gone = km->last_state == SCAN_SERVICE_SEARCHING &&
		                km->last_problem == SCAN_PROBLEM_DEVICE_GONE;
		if (gone && !was_gone && !km->gone_counted) {
			n->errors[SCAN_PROBLEM_DEVICE_GONE]++;
			changed(km);
		}
		km->gone_counted = false;
		km->last_state = ev->state;
		km->last_problem = ev->problem;
		bool up = ev->state == SCAN_SERVICE_READY || ev->state == SCAN_SERVICE_SCANNING;
		if (up != n->scanner_up) {
			n->scanner_up = up;
			changed(km);
		}
	}
	pthread_mutex_unlock(&km->lock);
}

void kiosk_metrics_submission_committed(struct kiosk_metrics *km)
{
	if (!km)
		return;
	pthread_mutex_lock(&km->lock);
	km->n.submissions++;
	changed(km);
	pthread_mutex_unlock(&km->lock);
}
