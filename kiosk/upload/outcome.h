/*
 * outcome.h - what one upload attempt came to, and what the uploader does
 * about it.
 *
 * CURLcode values, HTTP status codes and container errors are translated into
 * this one enum once, here, at the boundary. The names are what the logs, the
 * spool's per-submission state (last_error), the status file and the metrics
 * label carry: short, stable, free of personal data.
 */
#ifndef SCANKIOSK_UPLOAD_OUTCOME_H
#define SCANKIOSK_UPLOAD_OUTCOME_H

#include <stdbool.h>

#include <curl/curl.h>

#include "container.h"

enum upload_outcome {
	UPLOAD_DELIVERED,       /* 201 created or 200 replay of the same key, receipt parsed */
	UPLOAD_CONNECT,         /* no connection: refused, unreachable, name not resolved */
	UPLOAD_TIMEOUT,         /* connect, low-speed or total time limit reached */
	UPLOAD_TLS,             /* handshake failed (incl. our client certificate refused) */
	UPLOAD_TLS_VERIFY,      /* the server certificate is not signed by ca_file */
	UPLOAD_TLS_PIN,         /* the server key does not match the configured pin */
	UPLOAD_NETWORK,         /* reset, closed early, partial or empty response */
	UPLOAD_PROTOCOL,        /* an answer outside PROTOCOL.md (status, oversized/bad body) */
	UPLOAD_AUTH,            /* 401/403: this device is not (yet) authenticated */
	UPLOAD_REQUEST_TIMEOUT, /* 408: the server gave up waiting for our request */
	UPLOAD_IN_FLIGHT,       /* 409: an earlier attempt with this key is still running */
	UPLOAD_THROTTLED,       /* 429: too many requests */
	UPLOAD_UNAVAILABLE,     /* 503: the intake is down for maintenance or overloaded */
	UPLOAD_SERVER_ERROR,    /* any other 5xx */
	UPLOAD_BAD_REQUEST,     /* 400: the intake refuses the request as malformed */
	UPLOAD_TOO_LARGE,       /* 413: the submission exceeds the intake's size limit */
	UPLOAD_CONFLICT,        /* 422: the key was used before with different content */
	UPLOAD_REJECTED,        /* any other 4xx */
	UPLOAD_UNREADABLE,      /* the container is truncated, tampered or not ours */
	UPLOAD_LOCAL,           /* a local failure: memory, reading the spool, curl setup */
	UPLOAD_CANCELLED,       /* stopped by SIGTERM/SIGINT; the attempt does not count */
	UPLOAD_OUTCOME_LAST
};

/* What the uploader does with the submission after an attempt. */
enum upload_action {
	UPLOAD_ACTION_DONE,       /* spool_done(): delivered */
	UPLOAD_ACTION_RETRY,      /* spool_retry_later() with one more attempt and a backoff */
	UPLOAD_ACTION_PUT_BACK,   /* spool_retry_later() without counting the attempt */
	UPLOAD_ACTION_FAIL,       /* spool_fail(): refused for good, kept in failed/ */
	UPLOAD_ACTION_QUARANTINE, /* spool_quarantine(): the file itself is bad */
	UPLOAD_ACTION_LAST
};

/* "delivered", "connect", ... ; "unknown" for a value out of range. */
const char *upload_outcome_name(enum upload_outcome outcome);

/* The outcome of a name as stored in the spool; UPLOAD_OUTCOME_LAST when unknown. */
enum upload_outcome upload_outcome_from_name(const char *name);

enum upload_action upload_outcome_action(enum upload_outcome outcome);

/*
 * True when the outcome says the intake as a whole cannot take submissions
 * now (network, TLS, authentication, overload): then no other submission is
 * tried before this one's retry is due, so an outage costs one request per
 * backoff step, not one per queued submission, and the queue stays in order.
 * False for what concerns this one submission only (409 in flight).
 */
bool upload_outcome_blocks_queue(enum upload_outcome outcome);

/* An HTTP status code of a complete response. receipt_ok tells whether a
 * 200/201 body held a valid receipt (else it is a protocol error). */
enum upload_outcome upload_classify_http(long status, bool receipt_ok);

/* A transfer that ended without a complete response (code != CURLE_OK). */
enum upload_outcome upload_classify_curl(CURLcode code);

/* container_reader_open() or a read while sending failed with status. */
enum upload_outcome upload_classify_container(enum container_status status);

#endif
