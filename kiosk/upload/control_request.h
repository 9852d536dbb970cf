/*
 * control_request.h - the parser of a control request (CONTROL.md), pure.
 *
 * Outside input: whatever a process that may connect to the control socket
 * sends. Bounded (CONTROL_REQUEST_MAX), strict (exactly the members of the
 * request, each once, of the right type; no trailing bytes, no NUL), fuzzed
 * (tests/fuzz/fuzz_control.c). What it yields is safe to log: an operation
 * and, for discard, a checked submission id. A refusal never echoes the input.
 */
#ifndef SCANKIOSK_UPLOAD_CONTROL_REQUEST_H
#define SCANKIOSK_UPLOAD_CONTROL_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* The version of the control protocol this uploader speaks. */
#define CONTROL_VERSION 1
/* The largest request accepted, in bytes; a bigger message is refused. */
#define CONTROL_REQUEST_MAX 1024
/* A submission id: 32 lower-case hex digits, with NUL. */
#define CONTROL_ID_MAX 33
/* The most log lines one "log" request asks for (and its default). */
#define CONTROL_LOG_LINES_MAX LOG_RING_LINES

enum control_op {
	CONTROL_OP_STATUS,       /* "status": the status file's snapshot */
	CONTROL_OP_RETRY_NOW,    /* "retry-now": every queued submission due now */
	CONTROL_OP_DISCARD,      /* "discard": delete one failed/ or quarantine/ item */
	CONTROL_OP_NETWORK_TEST, /* "network-test": DNS, TCP, TLS, HTTP, step by step */
	CONTROL_OP_LOG,          /* "log": the uploader's last lines (at most "lines") */
	CONTROL_OP_RESTART,      /* "restart": answer, then stop as on SIGTERM (exit 0) */
	CONTROL_OP_LAST
};

enum control_parse {
	CONTROL_PARSE_OK,
	CONTROL_PARSE_TOO_LARGE,       /* over CONTROL_REQUEST_MAX bytes */
	CONTROL_PARSE_MALFORMED,       /* not one JSON object (or a NUL, or trailing bytes) */
	CONTROL_PARSE_BAD_VERSION,     /* "version" missing, not an integer, or not ours */
	CONTROL_PARSE_UNKNOWN_REQUEST, /* "request" missing, not a string, or not an operation */
	CONTROL_PARSE_BAD_REQUEST,     /* unknown, duplicate, missing or mistyped member; bad id */
	CONTROL_PARSE_LAST
};

struct control_request {
	enum control_op op;      /* CONTROL_OP_LAST unless CONTROL_PARSE_OK */
	char id[CONTROL_ID_MAX]; /* discard: the id; else "" */
	uint32_t lines;          /* log: 1..CONTROL_LOG_LINES_MAX (default the maximum); else 0 */
};

/*
 * Parses data (len bytes, need not be NUL-terminated). Fills *out (always
 * initialised) and returns the result; *why (may be NULL) gets a short fixed
 * text for people (never a copy of the input).
 */
__attribute__((warn_unused_result)) enum control_parse
control_request_parse(const char *data, size_t len, struct control_request *out, const char **why);

/* The error code of a refusal ("too_large", "malformed", ...); "ok" for OK. */
const char *control_parse_code(enum control_parse result);

/* "status", "retry-now", "discard", "network-test", "log", "restart";
 * "unknown" out of range. */
const char *control_op_name(enum control_op op);

#endif
