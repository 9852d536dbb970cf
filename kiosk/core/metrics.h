/*
 * metrics.h - Prometheus textfiles for node_exporter's textfile collector.
 *
 * A program builds its whole file in memory (a bounded buffer), then writes it
 * at once with metrics_text_write(): temporary file beside the target, then
 * rename, so node_exporter never reads half a file. The uploader writes its
 * queue metrics this way (kiosk/upload/status.c); the UI process writes its
 * own file (kiosk/app/kiosk_metrics.c: scanner errors by kind) with the same
 * helper, e.g.
 *
 *     struct metrics_text *t = metrics_text_create();
 *     metrics_text_family(t, "scankiosk_scanner_errors_total", METRICS_COUNTER,
 *                         "Scanner errors by kind since the kiosk started.");
 *     metrics_text_u64(t, "scankiosk_scanner_errors_total", "kind", "jammed", jams);
 *     metrics_text_write(t, "/var/lib/prometheus/node-exporter/scankiosk-kiosk.prom");
 *     metrics_text_destroy(t);
 *
 * Names are checked against the exposition format (metric and label names
 * [a-zA-Z_:][a-zA-Z0-9_:]*, label names without ':'), label values and help
 * texts are escaped. The first mistake (a bad name, the buffer full) sticks:
 * metrics_text_write() then refuses to write, so a broken file never replaces
 * a good one. Metrics hold counts, times and classes only, never personal data.
 *
 * Threads: one struct metrics_text per thread; no global state.
 */
#ifndef SCANKIOSK_METRICS_H
#define SCANKIOSK_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The most text one file may hold. */
#define METRICS_TEXT_MAX (64u * 1024)
/* Mode of a metrics textfile: counts and times only, and node_exporter runs
 * as a user of its own. */
#define METRICS_FILE_MODE 0644

enum metrics_type {
	METRICS_COUNTER, /* only goes up (until the program restarts) */
	METRICS_GAUGE,   /* goes up and down */
	METRICS_TYPE_LAST
};

struct metrics_text;

/* An empty text. NULL when memory is short. */
struct metrics_text *metrics_text_create(void);
void metrics_text_destroy(struct metrics_text *t); /* accepts NULL */

/* Starts a metric family: its # HELP and # TYPE lines. */
void metrics_text_family(struct metrics_text *t, const char *name, enum metrics_type type,
                         const char *help);

/* One sample: name{label="value"} v, or name v when label is NULL. */
void metrics_text_u64(struct metrics_text *t, const char *name, const char *label,
                      const char *label_value, uint64_t v);
void metrics_text_i64(struct metrics_text *t, const char *name, const char *label,
                      const char *label_value, int64_t v);

/* False once a name was invalid or the text outgrew METRICS_TEXT_MAX. */
bool metrics_text_ok(const struct metrics_text *t);

/* The text so far (NUL-terminated) and its length. */
const char *metrics_text_data(const struct metrics_text *t, size_t *len);

/* Writes the text to path atomically, mode METRICS_FILE_MODE. Returns false
 * (logged) when the text is not ok or the write fails; path is unchanged then. */
bool metrics_text_write(const struct metrics_text *t, const char *path);

/* As metrics_text_write(), but logs nothing (for a writer that logs a run of
 * failures once): 0, or the errno of the failed step (EINVAL: the text is
 * not ok or path is NULL; ENAMETOOLONG: path is too long). */
int metrics_text_write_quiet(const struct metrics_text *t, const char *path);

/* True for a valid metric name; label names are the same without ':'. */
bool metrics_name_valid(const char *name);
bool metrics_label_name_valid(const char *name);

/*
 * Replaces path with data atomically: path.tmp in the same directory (created
 * with mode whatever the umask, not following a symlink), then rename. Not
 * fsynced: these are snapshots, rewritten often; after a power cut the
 * previous one (or none) is read until the next write. Returns false, logged.
 */
bool metrics_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif
