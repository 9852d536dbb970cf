/*
 * status.h - what the uploader tells the world about the queue: a JSON status
 * file for the maintenance menu and a Prometheus textfile for node_exporter.
 *
 * Both are written atomically (temporary file in the same directory, then
 * rename; metrics_write_atomic()), so a reader never sees half a file: the
 * status file 0640 (the UI's user reads it through the shared group), the
 * metrics 0644 (node_exporter runs as a user of its own). Neither holds
 * anything but ids, counts, sizes, times and outcome classes.
 */
#ifndef SCANKIOSK_UPLOAD_STATUS_H
#define SCANKIOSK_UPLOAD_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "outcome.h"
#include "spool.h"

/* Listed per state in the status file at most; the counts are always complete. */
#define STATUS_MAX_ITEMS 100

/* The uploader's own counters and times (unix seconds; 0 = never). */
struct upload_stats {
	uint64_t outcomes[UPLOAD_OUTCOME_LAST]; /* attempts by outcome since start */
	int64_t started;
	int64_t last_success;
	int64_t last_attempt;
	int64_t last_error_time;
	enum upload_outcome last_outcome; /* UPLOAD_OUTCOME_LAST before the first attempt */
	enum upload_outcome last_error;   /* last outcome other than delivered, or _LAST */
	int64_t next_attempt;             /* when the next attempt is due, 0 = none queued */
	uint64_t bytes_sent;              /* request bytes sent by all attempts since start */
	const char *activity;             /* "idle", "sending", "waiting", "stopped" */
};

/* Everything one write needs: the spool's counts and the first entries. */
struct status_snapshot {
	int64_t now;
	struct spool_stats spool;
	const struct spool_entry *queued; /* new/, sorted by id */
	size_t queued_count;
	const struct spool_entry *failed; /* failed/, sorted by id */
	size_t failed_count;
	const struct spool_entry *quarantined; /* quarantine/, sorted by id */
	size_t quarantined_count;
	const struct upload_stats *stats;
};

/* The status document (the file's content; the control socket's "status"
 * answer): a new cJSON object, or NULL when memory is short. */
cJSON *status_document(const struct status_snapshot *snap);

/* Writes the status file at path. Returns false (logged) on failure. */
bool status_write(const char *path, const struct status_snapshot *snap);

/* Writes the Prometheus textfile at path. Returns false (logged) on failure. */
bool status_write_metrics(const char *path, const struct status_snapshot *snap);

/* The last_success time a previous run wrote to the status file at path, or
 * 0 when there is none (so the metric survives a restart). */
int64_t status_read_last_success(const char *path);

/* The same from a previous run's Prometheus textfile at path (when there is
 * no status file), or 0. */
int64_t status_read_metrics_last_success(const char *path);

#endif
