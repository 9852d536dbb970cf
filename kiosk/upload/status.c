/*
 * status.c - the status file and the Prometheus textfile (see status.h).
 */
#include "status.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

#define STATUS_READ_MAX (1024 * 1024)
/* The UI's user reads it through the shared group. */
#define STATUS_FILE_MODE 0640

static int64_t age(int64_t now, int64_t then)
{
	return then > 0 && now > then ? now - then : 0;
}

static bool add_time(cJSON *obj, const char *name, int64_t t)
{
	return cJSON_AddNumberToObject(obj, name, (double)t) != NULL;
}

static bool add_entries(cJSON *root, const char *name, const struct spool_entry *e, size_t count,
                        int64_t now)
{
	cJSON *arr = cJSON_AddArrayToObject(root, name);
	if (!arr)
		return false;
	for (size_t i = 0; i < count && i < STATUS_MAX_ITEMS; i++) {
		cJSON *item = cJSON_CreateObject();
		if (!item)
			return false;
		cJSON_AddItemToArray(arr, item);
		if (!cJSON_AddStringToObject(item, "id", e[i].id) ||
		    !add_time(item, "age_seconds", age(now, e[i].created)) ||
		    !cJSON_AddNumberToObject(item, "bytes", (double)e[i].bytes) ||
		    !cJSON_AddNumberToObject(item, "attempts", e[i].attempts) ||
		    !add_time(item, "next_due", e[i].next_due) ||
		    !cJSON_AddStringToObject(item, "last_error", e[i].last_error))
			return false;
	}
	return true;
}

static const char *outcome_or_empty(enum upload_outcome o)
{
	return o == UPLOAD_OUTCOME_LAST ? "" : upload_outcome_name(o);
}

cJSON *status_document(const struct status_snapshot *snap)
{
	const struct upload_stats *us = snap->stats;
	cJSON *root = cJSON_CreateObject();
	if (!root)
		goto fail;
	cJSON *counts = NULL, *bytes = NULL, *uploads = NULL;
	if (!cJSON_AddNumberToObject(root, "version", 1) || !add_time(root, "updated", snap->now) ||
	    !cJSON_AddNumberToObject(root, "pid", (double)getpid()) ||
	    !add_time(root, "started", us->started) ||
	    !cJSON_AddStringToObject(root, "activity", us->activity ? us->activity : "") ||
	    !(counts = cJSON_AddObjectToObject(root, "counts")) ||
	    !(bytes = cJSON_AddObjectToObject(root, "bytes")))
		goto fail;
	for (int s = 0; s < SPOOL_STATE_LAST; s++) {
		const char *name = spool_state_name((enum spool_state)s);
		if (!cJSON_AddNumberToObject(counts, name, snap->spool.count[s]) ||
		    !cJSON_AddNumberToObject(bytes, name, (double)snap->spool.bytes[s]))
			goto fail;
	}
	if (!add_time(root, "oldest_age_seconds", age(snap->now, snap->spool.oldest_created)) ||
	    !add_time(root, "last_success", us->last_success) ||
	    !add_time(root, "last_attempt", us->last_attempt) ||
	    !cJSON_AddStringToObject(root, "last_outcome", outcome_or_empty(us->last_outcome)) ||
	    !cJSON_AddStringToObject(root, "last_error", outcome_or_empty(us->last_error)) ||
	    !add_time(root, "last_error_time", us->last_error_time) ||
	    !add_time(root, "next_attempt", us->next_attempt) ||
	    !cJSON_AddNumberToObject(root, "bytes_sent", (double)us->bytes_sent) ||
	    !(uploads = cJSON_AddObjectToObject(root, "uploads")))
		goto fail;
	for (int o = 0; o < UPLOAD_OUTCOME_LAST; o++) {
		if (!cJSON_AddNumberToObject(uploads, upload_outcome_name((enum upload_outcome)o),
		                             (double)us->outcomes[o]))
			goto fail;
	}
	if (!add_entries(root, "queue", snap->queued, snap->queued_count, snap->now) ||
	    !add_entries(root, "failed", snap->failed, snap->failed_count, snap->now) ||
	    !add_entries(root, "quarantine", snap->quarantined, snap->quarantined_count, snap->now))
		goto fail;
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

bool status_write(const char *path, const struct status_snapshot *snap)
{
	bool ok = false;
	char *text = NULL;
	cJSON *root = status_document(snap);
	if (!root)
		goto out;
	text = cJSON_Print(root);
	if (!text)
		goto out;
	size_t len = strlen(text);
	text[len] = '\n'; /* cJSON_Print leaves room for the NUL only: write NUL-less */
	ok = metrics_write_atomic(path, text, len + 1, STATUS_FILE_MODE);
	text[len] = '\0';
out:
	if (!text && !ok)
		log_error("cannot build the status document (out of memory)");
	free(text);
	cJSON_Delete(root);
	return ok;
}

#ifndef SCANKIOSK_VERSION
#define SCANKIOSK_VERSION "0"
#endif

bool status_write_metrics(const char *path, const struct status_snapshot *snap)
{
	const struct upload_stats *us = snap->stats;
	struct metrics_text *t = metrics_text_create();
	if (!t)
		return false;
	metrics_text_family(t, "scankiosk_spool_submissions", METRICS_GAUGE,
	                    "Submissions in the spool by state.");
	for (int s = 0; s < SPOOL_STATE_LAST; s++)
		metrics_text_u64(t, "scankiosk_spool_submissions", "state",
		                 spool_state_name((enum spool_state)s), snap->spool.count[s]);
	metrics_text_family(t, "scankiosk_spool_bytes", METRICS_GAUGE,
	                    "Bytes of the submissions in the spool by state.");
	for (int s = 0; s < SPOOL_STATE_LAST; s++)
		metrics_text_u64(t, "scankiosk_spool_bytes", "state",
		                 spool_state_name((enum spool_state)s), snap->spool.bytes[s]);
	metrics_text_family(t, "scankiosk_spool_oldest_age_seconds", METRICS_GAUGE,
	                    "Age of the oldest submission not yet delivered (new/ and sending/; "
	                    "0 when none).");
	metrics_text_i64(t, "scankiosk_spool_oldest_age_seconds", NULL, NULL,
	                 age(snap->now, snap->spool.oldest_created));
	metrics_text_family(t, "scankiosk_uploads_total", METRICS_COUNTER,
	                    "Upload attempts by outcome class since the uploader started.");
	for (int o = 0; o < UPLOAD_OUTCOME_LAST; o++)
		metrics_text_u64(t, "scankiosk_uploads_total", "outcome",
		                 upload_outcome_name((enum upload_outcome)o), us->outcomes[o]);
	metrics_text_family(t, "scankiosk_upload_sent_bytes_total", METRICS_COUNTER,
	                    "Request bytes sent to the intake by all attempts since the "
	                    "uploader started.");
	metrics_text_u64(t, "scankiosk_upload_sent_bytes_total", NULL, NULL, us->bytes_sent);
	metrics_text_family(t, "scankiosk_upload_last_success_timestamp_seconds", METRICS_GAUGE,
	                    "Unix time of the last delivered submission (0 = never; kept "
	                    "across restarts).");
	metrics_text_i64(t, "scankiosk_upload_last_success_timestamp_seconds", NULL, NULL,
	                 us->last_success);
	metrics_text_family(t, "scankiosk_uploader_info", METRICS_GAUGE,
	                    "The uploader (scankiosk-uploader) and its version; always 1.");
	metrics_text_u64(t, "scankiosk_uploader_info", "version", SCANKIOSK_VERSION, 1);
	metrics_text_family(t, "scankiosk_uploader_start_timestamp_seconds", METRICS_GAUGE,
	                    "Unix time the uploader started (its counters start from 0 then).");
	metrics_text_i64(t, "scankiosk_uploader_start_timestamp_seconds", NULL, NULL, us->started);
	metrics_text_family(t, "scankiosk_uploader_last_update_timestamp_seconds", METRICS_GAUGE,
	                    "Unix time the uploader wrote this file; rewritten at least every "
	                    "60 s while it waits, and after uploads.");
	metrics_text_i64(t, "scankiosk_uploader_last_update_timestamp_seconds", NULL, NULL,
	                 snap->now);
	bool ok = metrics_text_write(t, path);
	metrics_text_destroy(t);
	return ok;
}

int64_t status_read_metrics_last_success(const char *path)
{
	static const char name[] = "scankiosk_upload_last_success_timestamp_seconds ";
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int64_t result = 0;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, sizeof(name) - 1) != 0)
			continue;
		const char *v = line + sizeof(name) - 1;
		char *end = NULL;
		errno = 0;
		long long t = strtoll(v, &end, 10);
		if (errno == 0 && end != v && (*end == '\n' || *end == '\0') && t > 0 &&
		    t < 1000000000000LL)
			result = t;
	}
	fclose(f);
	return result;
}

int64_t status_read_last_success(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	int64_t result = 0;
	char *buf = malloc(STATUS_READ_MAX);
	size_t len = 0;
	if (!buf)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf + len, STATUS_READ_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == STATUS_READ_MAX)
			goto out; /* not ours */
	}
	cJSON *root = cJSON_ParseWithLength(buf, len);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "last_success");
	if (cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 1e12)
		result = (int64_t)v->valuedouble;
	cJSON_Delete(root);
out:
	free(buf);
	close(fd);
	return result;
}
