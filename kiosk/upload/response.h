/*
 * response.h - the intake's answer body (PROTOCOL.md), parsed with cJSON.
 *
 * Outside input: bounded (INTAKE_RESPONSE_MAX), fuzzed
 * (tests/fuzz/fuzz_intake_response.c), and what it yields is safe to log:
 * the receipt is checked to be short printable ASCII.
 */
#ifndef SCANKIOSK_UPLOAD_RESPONSE_H
#define SCANKIOSK_UPLOAD_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

/* A bigger body is a protocol error; the transfer is aborted at this size. */
#define INTAKE_RESPONSE_MAX (64u * 1024)
/* Longest receipt accepted, with NUL. */
#define INTAKE_RECEIPT_MAX 129
/* Longest error code kept from an error body, with NUL. */
#define INTAKE_ERROR_MAX 64
/* A submission id: 32 lower-case hex digits, with NUL. */
#define INTAKE_ID_MAX 33

enum intake_parse {
	INTAKE_PARSE_OK,          /* a JSON object with a valid "receipt" */
	INTAKE_PARSE_TOO_BIG,     /* over INTAKE_RESPONSE_MAX bytes */
	INTAKE_PARSE_NOT_JSON,    /* not a JSON object */
	INTAKE_PARSE_NO_RECEIPT,  /* an object without a "receipt" string */
	INTAKE_PARSE_BAD_RECEIPT, /* empty, too long, or not printable ASCII (0x20-0x7e) */
	INTAKE_PARSE_LAST
};

const char *intake_parse_name(enum intake_parse result);

struct intake_response {
	char receipt[INTAKE_RECEIPT_MAX];  /* "" unless INTAKE_PARSE_OK */
	char submission_id[INTAKE_ID_MAX]; /* when 32 lower-case hex digits, else "" */
	char error[INTAKE_ERROR_MAX];      /* "error" member when a safe token, else "" */
};

/*
 * Parses body (len bytes, need not be NUL-terminated). Fills *out (always
 * initialised, even on failure) and returns the result. The error code of an
 * error body is kept even when there is no receipt (for the log). Whether
 * submission_id matches the request is the caller's check (PROTOCOL.md §6).
 */
__attribute__((warn_unused_result)) enum intake_parse
intake_response_parse(const char *body, size_t len, struct intake_response *out);

#endif
