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

#define STATUS_READ_MAX (1024 * 1024)

static bool write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * temp file beside path, then rename over path: a reader sees the old snapshot
 * or the new one, never half of one. Not fsynced: these are snapshots rewritten
 * after every attempt, and two fsyncs per file per submission cost more than the
 * upload itself on a slow disk. After a power cut the previous snapshot (or
 * none) is read until the next attempt rewrites it.
 */
static bool write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		log_error("path too long: %s", path);
		return false;
	}
	bool ok = false;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		log_error_errno("cannot create %s", tmp);
		return false;
	}
	/* The umask must not make it wider or narrower than 0640. */
	if (fchmod(fd, 0640) != 0 || !write_all(fd, data, len)) {
		log_error_errno("cannot write %s", tmp);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		log_error_errno("cannot write %s", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		log_error_errno("cannot rename %s to %s", tmp, path);
		goto out;
	}
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	if (!ok)
		(void)unlink(tmp);
	return ok;
}

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

bool status_write(const char *path, const struct status_snapshot *snap)
{
	const struct upload_stats *us = snap->stats;
	bool ok = false;
	char *text = NULL;
	cJSON *root = cJSON_CreateObject();
	if (!root)
		goto out;
	cJSON *counts = NULL, *bytes = NULL, *uploads = NULL;
	if (!cJSON_AddNumberToObject(root, "version", 1) || !add_time(root, "updated", snap->now) ||
	    !cJSON_AddNumberToObject(root, "pid", (double)getpid()) ||
	    !add_time(root, "started", us->started) ||
	    !cJSON_AddStringToObject(root, "activity", us->activity ? us->activity : "") ||
	    !(counts = cJSON_AddObjectToObject(root, "counts")) ||
	    !(bytes = cJSON_AddObjectToObject(root, "bytes")))
		goto out;
	for (int s = 0; s < SPOOL_STATE_LAST; s++) {
		const char *name = spool_state_name((enum spool_state)s);
		if (!cJSON_AddNumberToObject(counts, name, snap->spool.count[s]) ||
		    !cJSON_AddNumberToObject(bytes, name, (double)snap->spool.bytes[s]))
			goto out;
	}
	if (!add_time(root, "oldest_age_seconds", age(snap->now, snap->spool.oldest_created)) ||
	    !add_time(root, "last_success", us->last_success) ||
	    !add_time(root, "last_attempt", us->last_attempt) ||
	    !cJSON_AddStringToObject(root, "last_outcome", outcome_or_empty(us->last_outcome)) ||
	    !cJSON_AddStringToObject(root, "last_error", outcome_or_empty(us->last_error)) ||
	    !add_time(root, "last_error_time", us->last_error_time) ||
	    !add_time(root, "next_attempt", us->next_attempt) ||
	    !(uploads = cJSON_AddObjectToObject(root, "uploads")))
		goto out;
	for (int o = 0; o < UPLOAD_OUTCOME_LAST; o++) {
		if (!cJSON_AddNumberToObject(uploads, upload_outcome_name((enum upload_outcome)o),
		                             (double)us->outcomes[o]))
			goto out;
	}
	if (!add_entries(root, "queue", snap->queued, snap->queued_count, snap->now) ||
	    !add_entries(root, "failed", snap->failed, snap->failed_count, snap->now))
		goto out;
	text = cJSON_Print(root);
	if (!text)
		goto out;
	size_t len = strlen(text);
	text[len] = '\n'; /* cJSON_Print leaves room for the NUL only: write NUL-less */
	ok = write_atomic(path, text, len + 1);
	text[len] = '\0';
out:
	if (!text && !ok)
		log_error("cannot build the status document (out of memory)");
	free(text);
	cJSON_Delete(root);
	return ok;
}

/* A growing text buffer with a bound. */
struct text {
	char buf[16384];
	size_t len;
	bool overflow;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(t->buf) - t->len)
		t->overflow = true;
	else
		t->len += (size_t)n;
}

bool status_write_metrics(const char *path, const struct status_snapshot *snap)
{
	const struct upload_stats *us = snap->stats;
	struct text *t = calloc(1, sizeof(*t));
	if (!t) {
		log_error("out of memory");
		return false;
	}
	put(t, "# HELP scankiosk_spool_submissions Submissions in the spool by state.\n"
	       "# TYPE scankiosk_spool_submissions gauge\n");
	for (int s = 0; s < SPOOL_STATE_LAST; s++)
		put(t, "scankiosk_spool_submissions{state=\"%s\"} %u\n",
		    spool_state_name((enum spool_state)s), snap->spool.count[s]);
	put(t,
	    "# HELP scankiosk_spool_oldest_age_seconds Age of the oldest submission not yet "
	    "delivered (0 when none).\n"
	    "# TYPE scankiosk_spool_oldest_age_seconds gauge\n"
	    "scankiosk_spool_oldest_age_seconds %lld\n",
	    (long long)age(snap->now, snap->spool.oldest_created));
	put(t, "# HELP scankiosk_uploads_total Upload attempts by outcome class since the "
	       "uploader started.\n"
	       "# TYPE scankiosk_uploads_total counter\n");
	for (int o = 0; o < UPLOAD_OUTCOME_LAST; o++)
		put(t, "scankiosk_uploads_total{outcome=\"%s\"} %llu\n",
		    upload_outcome_name((enum upload_outcome)o),
		    (unsigned long long)us->outcomes[o]);
	put(t,
	    "# HELP scankiosk_last_success_timestamp_seconds Unix time of the last delivered "
	    "submission (0 = never).\n"
	    "# TYPE scankiosk_last_success_timestamp_seconds gauge\n"
	    "scankiosk_last_success_timestamp_seconds %lld\n",
	    (long long)us->last_success);
	bool ok = false;
	if (t->overflow)
		log_error("metrics text too long");
	else
		ok = write_atomic(path, t->buf, t->len);
	free(t);
	return ok;
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
