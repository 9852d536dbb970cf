/*
 * config.h - the one INI file both programs read (/etc/scankiosk/scankiosk.conf).
 *
 * Parsed with libinih. Every key is known here; an unknown section or key, a
 * value out of range or malformed, or a duplicate key is rejected with
 * "FILE:LINE: reason" so a technician can fix the file at once.
 *
 *   [spool]   dir, public_key, secret_key, max_bytes, max_count
 *   [intake]  url, ca_file, pin, client_cert, client_key, connect_timeout,
 *             low_speed_time, min_speed, max_time_base, retry_base, retry_cap,
 *             retry_after_cap
 *   [log]     level (error|warning|info|debug)
 *   [metrics] textfile, status
 *
 * Sizes accept a K, M or G suffix (powers of 1024); durations are seconds.
 */
#ifndef SCANKIOSK_CONFIG_H
#define SCANKIOSK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CONFIG_DEFAULT_PATH "/etc/scankiosk/scankiosk.conf"
#define CONFIG_ERROR_MAX    512

struct config_spool {
	char *dir;          /* spool root; default /var/spool/scankiosk */
	char *public_key;   /* file with the uploader's public key (the writer needs it) */
	char *secret_key;   /* file with the uploader's secret key (uploader only); may be NULL */
	uint64_t max_bytes; /* capacity bound, bytes; default 2G */
	uint32_t max_count; /* capacity bound, submissions; default 1000 */
};

struct config_intake {
	char *url;                /* base URL, https:// only; NULL when not configured */
	char *ca_file;            /* CA bundle that signs the intake's certificate; may be NULL */
	char *pin;                /* "sha256//BASE64" public-key pin; may be NULL */
	char *client_cert;        /* PEM client certificate (mTLS); may be NULL */
	char *client_key;         /* PEM key of client_cert; may be NULL */
	uint32_t connect_timeout; /* seconds; default 10 */
	uint32_t low_speed_time;  /* abort when below min_speed this long; default 30 s */
	uint32_t min_speed;       /* bytes per second; default 1024 */
	uint32_t max_time_base;   /* total-time cap: this many seconds plus 1 s per 100 KiB; default
	                             60 */
	uint32_t retry_base;      /* first backoff step, seconds; default 30 */
	uint32_t retry_cap;       /* longest backoff, seconds; default 3600 */
	uint32_t retry_after_cap; /* longest Retry-After honoured, seconds; default 3600 */
};

struct config {
	struct config_spool spool;
	struct config_intake intake;
	enum log_level log_level; /* default info */
	char *metrics_textfile;   /* Prometheus textfile; may be NULL (none written) */
	char *status_file; /* uploader status for the maintenance menu; default SPOOL/status */
};

/* Fills cfg with the defaults (owned strings; release with config_finish()). */
void config_init(struct config *cfg);

/*
 * Reads path over the defaults in cfg. Returns true, or false with one line
 * "path:line: reason" in err (line 0 when the file cannot be read). On failure
 * cfg still holds valid defaults and must be released with config_finish().
 */
__attribute__((warn_unused_result)) bool config_load(struct config *cfg, const char *path,
                                                     char err[CONFIG_ERROR_MAX]);

/* Parses text as if it were a file named name (tests, fuzzing). */
__attribute__((warn_unused_result)) bool config_load_string(struct config *cfg, const char *name,
                                                            const char *text,
                                                            char err[CONFIG_ERROR_MAX]);

/* Frees what cfg owns. Accepts a cfg that was only initialised. */
void config_finish(struct config *cfg);

#endif
