/*
 * test_upload_outcome.c - the uploader's classification table
 * (kiosk/upload/outcome.c) and the intake response parser
 * (kiosk/upload/response.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcome.h"
#include "response.h"

/* ---- classification -------------------------------------------------------- */

struct http_case {
	long status;
	bool receipt_ok;
	enum upload_outcome outcome;
	enum upload_action action;
};

static void test_http_table(void **state)
{
	(void)state;
	static const struct http_case cases[] = {
	        {201, true, UPLOAD_DELIVERED, UPLOAD_ACTION_DONE},
	        {200, true, UPLOAD_DELIVERED, UPLOAD_ACTION_DONE},
	        /* A success without a usable receipt: the server will replay it. */
	        {201, false, UPLOAD_PROTOCOL, UPLOAD_ACTION_RETRY},
	        {200, false, UPLOAD_PROTOCOL, UPLOAD_ACTION_RETRY},
	        {202, true, UPLOAD_PROTOCOL, UPLOAD_ACTION_RETRY},
	        {204, false, UPLOAD_PROTOCOL, UPLOAD_ACTION_RETRY},
	        {100, false, UPLOAD_PROTOCOL, UPLOAD_ACTION_RETRY},
	        {301, false, UPLOAD_PROTOCOL, UPLOAD_ACTION_RETRY},
	        {302, false, UPLOAD_PROTOCOL, UPLOAD_ACTION_RETRY},
	        {0, false, UPLOAD_PROTOCOL, UPLOAD_ACTION_RETRY},
	        {999, false, UPLOAD_PROTOCOL, UPLOAD_ACTION_RETRY},
	        {-1, false, UPLOAD_PROTOCOL, UPLOAD_ACTION_RETRY},
	        {401, false, UPLOAD_AUTH, UPLOAD_ACTION_RETRY},
	        {403, false, UPLOAD_AUTH, UPLOAD_ACTION_RETRY},
	        {408, false, UPLOAD_REQUEST_TIMEOUT, UPLOAD_ACTION_RETRY},
	        {409, false, UPLOAD_IN_FLIGHT, UPLOAD_ACTION_RETRY},
	        {429, false, UPLOAD_THROTTLED, UPLOAD_ACTION_RETRY},
	        {500, false, UPLOAD_SERVER_ERROR, UPLOAD_ACTION_RETRY},
	        {502, false, UPLOAD_SERVER_ERROR, UPLOAD_ACTION_RETRY},
	        {503, false, UPLOAD_UNAVAILABLE, UPLOAD_ACTION_RETRY},
	        {504, false, UPLOAD_SERVER_ERROR, UPLOAD_ACTION_RETRY},
	        {599, false, UPLOAD_SERVER_ERROR, UPLOAD_ACTION_RETRY},
	        {400, false, UPLOAD_BAD_REQUEST, UPLOAD_ACTION_FAIL},
	        {413, false, UPLOAD_TOO_LARGE, UPLOAD_ACTION_FAIL},
	        {422, false, UPLOAD_CONFLICT, UPLOAD_ACTION_FAIL},
	        {404, false, UPLOAD_REJECTED, UPLOAD_ACTION_FAIL},
	        {405, false, UPLOAD_REJECTED, UPLOAD_ACTION_FAIL},
	        {410, false, UPLOAD_REJECTED, UPLOAD_ACTION_FAIL},
	        {415, false, UPLOAD_REJECTED, UPLOAD_ACTION_FAIL},
	        {499, false, UPLOAD_REJECTED, UPLOAD_ACTION_FAIL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct http_case *c = &cases[i];
		enum upload_outcome o = upload_classify_http(c->status, c->receipt_ok);
		if (o != c->outcome || upload_outcome_action(o) != c->action)
			fail_msg("HTTP %ld (receipt %d): got %s/%d, want %s/%d", c->status,
			         c->receipt_ok, upload_outcome_name(o), upload_outcome_action(o),
			         upload_outcome_name(c->outcome), c->action);
	}
}

struct curl_case {
	CURLcode code;
	enum upload_outcome outcome;
};

static void test_curl_table(void **state)
{
	(void)state;
	static const struct curl_case cases[] = {
	        {CURLE_COULDNT_CONNECT, UPLOAD_CONNECT},
	        {CURLE_COULDNT_RESOLVE_HOST, UPLOAD_CONNECT},
	        {CURLE_OPERATION_TIMEDOUT, UPLOAD_TIMEOUT},
	        {CURLE_PEER_FAILED_VERIFICATION, UPLOAD_TLS_VERIFY},
	        {CURLE_SSL_CACERT_BADFILE, UPLOAD_TLS_VERIFY},
	        {CURLE_SSL_PINNEDPUBKEYNOTMATCH, UPLOAD_TLS_PIN},
	        {CURLE_SSL_CONNECT_ERROR, UPLOAD_TLS},
	        {CURLE_SSL_CERTPROBLEM, UPLOAD_TLS},
	        {CURLE_SEND_ERROR, UPLOAD_NETWORK},
	        {CURLE_RECV_ERROR, UPLOAD_NETWORK},
	        {CURLE_GOT_NOTHING, UPLOAD_NETWORK},
	        {CURLE_PARTIAL_FILE, UPLOAD_NETWORK},
	        {CURLE_WEIRD_SERVER_REPLY, UPLOAD_PROTOCOL},
	        {CURLE_WRITE_ERROR, UPLOAD_PROTOCOL},
	        {CURLE_ABORTED_BY_CALLBACK, UPLOAD_CANCELLED},
	        {CURLE_OUT_OF_MEMORY, UPLOAD_LOCAL},
	        {CURLE_READ_ERROR, UPLOAD_LOCAL},
	        {CURLE_UNSUPPORTED_PROTOCOL, UPLOAD_LOCAL},
	        {(CURLcode)9999, UPLOAD_NETWORK},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum upload_outcome o = upload_classify_curl(cases[i].code);
		if (o != cases[i].outcome)
			fail_msg("CURLcode %d: got %s, want %s", cases[i].code,
			         upload_outcome_name(o), upload_outcome_name(cases[i].outcome));
		/* No transport error ever loses or refuses a submission. */
		enum upload_action a = upload_outcome_action(o);
		assert_true(a == UPLOAD_ACTION_RETRY || a == UPLOAD_ACTION_PUT_BACK);
	}
}

static void test_container_table(void **state)
{
	(void)state;
	assert_int_equal(upload_classify_container(CONTAINER_TAMPERED), UPLOAD_UNREADABLE);
	assert_int_equal(upload_classify_container(CONTAINER_TRUNCATED), UPLOAD_UNREADABLE);
	assert_int_equal(upload_classify_container(CONTAINER_NOT_CONTAINER), UPLOAD_UNREADABLE);
	assert_int_equal(upload_classify_container(CONTAINER_BAD_VERSION), UPLOAD_UNREADABLE);
	assert_int_equal(upload_classify_container(CONTAINER_BAD_METADATA), UPLOAD_UNREADABLE);
	assert_int_equal(upload_outcome_action(UPLOAD_UNREADABLE), UPLOAD_ACTION_QUARANTINE);
	/* Not the file's fault: try again later. */
	assert_int_equal(upload_classify_container(CONTAINER_IO), UPLOAD_LOCAL);
	assert_int_equal(upload_classify_container(CONTAINER_NOMEM), UPLOAD_LOCAL);
	assert_int_equal(upload_classify_container(CONTAINER_INVALID), UPLOAD_LOCAL);
	assert_int_equal(upload_outcome_action(UPLOAD_LOCAL), UPLOAD_ACTION_RETRY);
}

static void test_names(void **state)
{
	(void)state;
	for (int o = 0; o < UPLOAD_OUTCOME_LAST; o++) {
		const char *name = upload_outcome_name((enum upload_outcome)o);
		assert_non_null(name);
		/* Fits the spool's last_error[32] and round-trips. */
		assert_true(strlen(name) > 0 && strlen(name) < 32);
		assert_int_equal(upload_outcome_from_name(name), o);
		for (int p = 0; p < o; p++)
			assert_string_not_equal(name, upload_outcome_name((enum upload_outcome)p));
		/* A metrics label value as it is. */
		for (const char *c = name; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') || *c == '_');
	}
	assert_string_equal(upload_outcome_name(UPLOAD_OUTCOME_LAST), "unknown");
	assert_string_equal(upload_outcome_name((enum upload_outcome) - 1), "unknown");
	assert_int_equal(upload_outcome_from_name("nonsense"), UPLOAD_OUTCOME_LAST);
	assert_int_equal(upload_outcome_from_name(""), UPLOAD_OUTCOME_LAST);
	assert_int_equal(upload_outcome_from_name(NULL), UPLOAD_OUTCOME_LAST);
	assert_int_equal(upload_outcome_action(UPLOAD_OUTCOME_LAST), UPLOAD_ACTION_RETRY);
}

static void test_queue_blocking(void **state)
{
	(void)state;
	/* The intake as a whole is unusable: hold the queue. */
	assert_true(upload_outcome_blocks_queue(UPLOAD_CONNECT));
	assert_true(upload_outcome_blocks_queue(UPLOAD_TLS_PIN));
	assert_true(upload_outcome_blocks_queue(UPLOAD_AUTH));
	assert_true(upload_outcome_blocks_queue(UPLOAD_THROTTLED));
	assert_true(upload_outcome_blocks_queue(UPLOAD_UNAVAILABLE));
	assert_true(upload_outcome_blocks_queue(UPLOAD_SERVER_ERROR));
	/* About this submission only: the rest goes on. */
	assert_false(upload_outcome_blocks_queue(UPLOAD_IN_FLIGHT));
	assert_false(upload_outcome_blocks_queue(UPLOAD_DELIVERED));
	assert_false(upload_outcome_blocks_queue(UPLOAD_UNREADABLE));
	assert_false(upload_outcome_blocks_queue(UPLOAD_TOO_LARGE));
	assert_false(upload_outcome_blocks_queue(UPLOAD_CANCELLED));
}

/* ---- response parser ---------------------------------------------------------- */

static enum intake_parse parse(const char *body, struct intake_response *r)
{
	return intake_response_parse(body, strlen(body), r);
}

static void test_response_ok(void **state)
{
	(void)state;
	struct intake_response r;
	assert_int_equal(
	        parse("{\"receipt\": \"IN-ABCD-EFGH-JKMN\", \"submission_id\": \"x\"}\n", &r),
	        INTAKE_PARSE_OK);
	assert_string_equal(r.receipt, "IN-ABCD-EFGH-JKMN");
	assert_string_equal(r.submission_id, "");
	assert_string_equal(r.error, "");
	assert_int_equal(parse("{\"receipt\": \"IN-1\", "
	                       "\"submission_id\": \"0190c2a4d1f07b3e9a1c55e2f0d4b6a8\"}",
	                       &r),
	                 INTAKE_PARSE_OK);
	assert_string_equal(r.submission_id, "0190c2a4d1f07b3e9a1c55e2f0d4b6a8");
	/* Printable ASCII, blanks and quotes included (PROTOCOL.md §5). */
	assert_int_equal(parse("{\"receipt\": \"A \\\"B\\\" \\\\ C\"}", &r), INTAKE_PARSE_OK);
	assert_string_equal(r.receipt, "A \"B\" \\ C");
	/* A submission_id that is not an id is not kept. */
	static const char *const bad_ids[] = {"\"0190C2A4D1F07B3E9A1C55E2F0D4B6A8\"",
	                                      "\"0190c2a4d1f07b3e9a1c55e2f0d4b6a\"",
	                                      "\"0190c2a4d1f07b3e9a1c55e2f0d4b6a8a\"",
	                                      "\"0190c2a4d1f07b3e9a1c55e2f0d4b6ag\"",
	                                      "42",
	                                      "null"};
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		char body[256];
		snprintf(body, sizeof(body), "{\"receipt\": \"R\", \"submission_id\": %s}",
		         bad_ids[i]);
		assert_int_equal(parse(body, &r), INTAKE_PARSE_OK);
		assert_string_equal(r.submission_id, "");
	}
	assert_int_equal(parse("  {\"receipt\":\"R1\"}  \r\n", &r), INTAKE_PARSE_OK);
	assert_string_equal(r.receipt, "R1");
	/* Not NUL-terminated: only len bytes are read. */
	const char text[] = "{\"receipt\":\"R2\"}GARBAGE";
	assert_int_equal(intake_response_parse(text, 16, &r), INTAKE_PARSE_OK);
	assert_string_equal(r.receipt, "R2");
}

static void test_response_errors(void **state)
{
	(void)state;
	struct intake_response r;
	assert_int_equal(parse("{\"error\": \"too_large\", \"message\": \"big\"}", &r),
	                 INTAKE_PARSE_NO_RECEIPT);
	assert_string_equal(r.error, "too_large");
	assert_string_equal(r.receipt, "");
	assert_int_equal(parse("{\"error\": {\"code\": \"rate_limited\"}}", &r),
	                 INTAKE_PARSE_NO_RECEIPT);
	assert_string_equal(r.error, "rate_limited");
	/* An error code unsafe for a log line is dropped. */
	assert_int_equal(parse("{\"error\": \"a b\\n\"}", &r), INTAKE_PARSE_NO_RECEIPT);
	assert_string_equal(r.error, "");
}

static void test_response_bad(void **state)
{
	(void)state;
	struct intake_response r;
	static const struct {
		const char *body;
		enum intake_parse want;
	} cases[] = {
	        {"", INTAKE_PARSE_NOT_JSON},
	        {"   ", INTAKE_PARSE_NOT_JSON},
	        {"<html>502 Bad Gateway</html>", INTAKE_PARSE_NOT_JSON},
	        {"{\"receipt\": \"R\"", INTAKE_PARSE_NOT_JSON},
	        {"{\"receipt\": \"R\"} {}", INTAKE_PARSE_NOT_JSON},
	        {"[\"receipt\"]", INTAKE_PARSE_NOT_JSON},
	        {"\"receipt\"", INTAKE_PARSE_NOT_JSON},
	        {"null", INTAKE_PARSE_NOT_JSON},
	        {"{}", INTAKE_PARSE_NO_RECEIPT},
	        {"{\"Receipt\": \"R\"}", INTAKE_PARSE_NO_RECEIPT},
	        {"{\"receipt\": 42}", INTAKE_PARSE_NO_RECEIPT},
	        {"{\"receipt\": null}", INTAKE_PARSE_NO_RECEIPT},
	        {"{\"receipt\": {\"id\": \"R\"}}", INTAKE_PARSE_NO_RECEIPT},
	        {"{\"receipt\": \"\"}", INTAKE_PARSE_BAD_RECEIPT},
	        {"{\"receipt\": \"line\\nbreak\"}", INTAKE_PARSE_BAD_RECEIPT},
	        {"{\"receipt\": \"tab\\there\"}", INTAKE_PARSE_BAD_RECEIPT},
	        {"{\"receipt\": \"del\\u007f\"}", INTAKE_PARSE_BAD_RECEIPT},
	        {"{\"receipt\": \"\\u00e4\"}", INTAKE_PARSE_BAD_RECEIPT},
	        {"{\"receipt\": \"a\\u0000b\"}", INTAKE_PARSE_NOT_JSON},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum intake_parse got = parse(cases[i].body, &r);
		if (got != cases[i].want)
			fail_msg("body %zu (%s): got %s, want %s", i, cases[i].body,
			         intake_parse_name(got), intake_parse_name(cases[i].want));
		assert_string_equal(r.receipt, "");
	}
	assert_int_equal(intake_response_parse(NULL, 0, &r), INTAKE_PARSE_NOT_JSON);
}

static void test_response_limits(void **state)
{
	(void)state;
	struct intake_response r;
	/* The longest receipt accepted, and one more. */
	char body[512];
	char receipt[INTAKE_RECEIPT_MAX + 1];
	memset(receipt, 'R', INTAKE_RECEIPT_MAX - 1);
	receipt[INTAKE_RECEIPT_MAX - 1] = '\0';
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", receipt);
	assert_int_equal(parse(body, &r), INTAKE_PARSE_OK);
	assert_int_equal(strlen(r.receipt), INTAKE_RECEIPT_MAX - 1);
	memset(receipt, 'R', INTAKE_RECEIPT_MAX);
	receipt[INTAKE_RECEIPT_MAX] = '\0';
	snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", receipt);
	assert_int_equal(parse(body, &r), INTAKE_PARSE_BAD_RECEIPT);

	/* Over 64 KiB: refused without parsing, even if valid JSON. */
	size_t big = INTAKE_RESPONSE_MAX + 1;
	char *huge = malloc(big);
	assert_non_null(huge);
	memset(huge, ' ', big);
	memcpy(huge, "{\"receipt\":\"R\"}", 15);
	assert_int_equal(intake_response_parse(huge, big, &r), INTAKE_PARSE_TOO_BIG);
	assert_int_equal(intake_response_parse(huge, big - 1, &r), INTAKE_PARSE_OK);

	/* Deep nesting does not crash (cJSON has a nesting limit). */
	memset(huge, '[', big - 1);
	assert_int_equal(intake_response_parse(huge, big - 1, &r), INTAKE_PARSE_NOT_JSON);
	free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_http_table),      cmocka_unit_test(test_curl_table),
	        cmocka_unit_test(test_container_table), cmocka_unit_test(test_names),
	        cmocka_unit_test(test_queue_blocking),  cmocka_unit_test(test_response_ok),
	        cmocka_unit_test(test_response_errors), cmocka_unit_test(test_response_bad),
	        cmocka_unit_test(test_response_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
