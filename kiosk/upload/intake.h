/*
 * intake.h - the HTTPS client of the intake protocol (PROTOCOL.md): one
 * multipart POST per submission, streamed out of the container.
 *
 * One client owns one curl easy handle and reuses it (and its connection)
 * from one submission to the next. Pages are decrypted chunk by chunk, on a
 * second thread a few chunks ahead of curl (prefetch.h); nothing holds a whole
 * submission in memory. Each page's length is checked against the metadata,
 * and the container's final tag is authenticated, before the last byte of the
 * body leaves: a damaged file never becomes a complete request.
 */
#ifndef SCANKIOSK_UPLOAD_INTAKE_H
#define SCANKIOSK_UPLOAD_INTAKE_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "config.h"
#include "container.h"
#include "outcome.h"
#include "response.h"

struct intake_client;

/* Called often while a transfer runs (at least about once a second, also
 * while stalled). Returning false aborts the transfer (UPLOAD_CANCELLED). */
typedef bool (*intake_progress_fn)(void *ctx);

struct intake_result {
	enum upload_outcome outcome;
	long http_status;   /* 0 when no complete response arrived */
	CURLcode curl_code; /* CURLE_OK when a complete response arrived */
	bool has_retry_after;
	uint32_t retry_after;             /* seconds, already capped to retry_after_cap */
	char receipt[INTAKE_RECEIPT_MAX]; /* the server's receipt when delivered */
	char error[INTAKE_ERROR_MAX];     /* the "error" code of an error body, or "" */
	char detail[CURL_ERROR_SIZE];     /* what went wrong, for the log (no PII) */
	uint64_t bytes_sent;              /* request bytes curl sent in this attempt */
};

/*
 * The options every connection to the intake uses (PROTOCOL.md §1): https
 * only, no redirects, HTTP/1.1, TLS 1.2 or newer, the server verified against
 * ca_file only, the pin, the client certificate and key, the connect timeout,
 * errors into errbuf (CURL_ERROR_SIZE bytes). The uploads and the network
 * test (nettest.h) share it, so the test checks exactly what an upload needs.
 * Returns false (logged) when curl refuses an option.
 */
bool intake_set_transport(CURL *h, const struct config_intake *cfg, char *errbuf);

/* The configured base URL without trailing slashes, then path (e.g.
 * "/v1/health"), into out. False when there is no https URL or it does not fit. */
bool intake_url(const struct config_intake *cfg, const char *path, char *out, size_t size);

/*
 * Makes a client for cfg (which must outlive it). Returns NULL, logged, when
 * curl cannot be set up or the URL is unusable. curl_global_init() is the
 * caller's.
 */
struct intake_client *intake_client_create(const struct config_intake *cfg);
void intake_client_destroy(struct intake_client *client); /* accepts NULL */

/*
 * Sends the submission id read through r (positioned anywhere; it is rewound
 * as needed). Fills *res and returns res->outcome. progress may be NULL.
 */
enum upload_outcome intake_send(struct intake_client *client, const char *id,
                                struct container_reader *r, intake_progress_fn progress, void *ctx,
                                struct intake_result *res);

#endif
