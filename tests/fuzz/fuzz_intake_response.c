/*
 * fuzz_intake_response.c - the uploader's parsers of what the intake sends
 * back: the JSON answer body (kiosk/upload/response.c) and the Retry-After
 * header (kiosk/upload/retry.c).
 *
 * The first byte selects the parser for a focused run; both always run on the
 * rest, so every seed exercises both. Checks the promises the uploader relies
 * on: results within their bounds, receipts and error codes safe to log.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "response.h"
#include "retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_intake_response: %s\n", what);
		abort();
	}
}

static void check_token(const char *s, size_t cap, const char *what)
{
	size_t len = strnlen(s, cap);
	check(len < cap, what);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		check(c > 0x20 && c < 0x7f && c != '"' && c != '\\', what);
	}
}

static void check_printable(const char *s, size_t cap, const char *what)
{
	size_t len = strnlen(s, cap);
	check(len < cap, what);
	for (size_t i = 0; i < len; i++)
		check((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f, what);
}

static void fuzz_body(const uint8_t *data, size_t size)
{
	struct intake_response r;
	/* Copy into an exact-size buffer so ASan sees any read past len. */
	char *body = malloc(size ? size : 1);
	check(body != NULL, "out of memory");
	if (size)
		memcpy(body, data, size);
	enum intake_parse result = intake_response_parse(body, size, &r);
	check((unsigned)result < INTAKE_PARSE_LAST, "result out of range");
	check(intake_parse_name(result) != NULL, "no name");
	check_printable(r.receipt, sizeof(r.receipt), "unsafe receipt");
	size_t idlen = strnlen(r.submission_id, sizeof(r.submission_id));
	check(idlen == 0 || idlen == sizeof(r.submission_id) - 1, "bad submission_id length");
	for (size_t i = 0; i < idlen; i++)
		check((r.submission_id[i] >= '0' && r.submission_id[i] <= '9') ||
		              (r.submission_id[i] >= 'a' && r.submission_id[i] <= 'f'),
		      "submission_id not hex");
	check_token(r.error, sizeof(r.error), "unsafe error code");
	check((result == INTAKE_PARSE_OK) == (r.receipt[0] != '\0'), "receipt without OK");
	if (size > INTAKE_RESPONSE_MAX)
		check(result == INTAKE_PARSE_TOO_BIG, "oversized body accepted");
	free(body);
}

static void fuzz_retry_after(const uint8_t *data, size_t size)
{
	char *value = malloc(size ? size : 1);
	check(value != NULL, "out of memory");
	if (size)
		memcpy(value, data, size);
	static const uint32_t caps[] = {0, 1, 600, 3600, UINT32_MAX};
	static const int64_t nows[] = {0, 1700000000, INT32_MAX, (int64_t)INT32_MAX * 4};
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		for (size_t n = 0; n < sizeof(nows) / sizeof(nows[0]); n++) {
			uint32_t s = 0xdeadbeef;
			if (retry_after_parse(value, size, nows[n], caps[c], &s))
				check(s <= caps[c], "Retry-After above the cap");
			else
				check(s == 0xdeadbeef, "output written on failure");
		}
	}
	free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	if (mode & 1) {
		fuzz_retry_after(data, size);
		fuzz_body(data, size);
	} else {
		fuzz_body(data, size);
		fuzz_retry_after(data, size);
	}
	return 0;
}
