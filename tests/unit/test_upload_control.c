/*
 * test_upload_control.c - the pure parts of the control socket
 * (kiosk/upload/CONTROL.md): the uploader's request parser, the client's
 * answer parser (kiosk/core/upload_control.c), the [control] socket key, and
 * the Prometheus textfile helper (kiosk/core/metrics.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "control_request.h"
#include "log.h"
#include "metrics.h"
#include "upload_control.h"

#define ID "0190c2a4d1f07b3e9a1c55e2f0d4b6a8"

/* ---- requests ------------------------------------------------------------------ */

static enum control_parse parse(const char *text, struct control_request *req)
{
	const char *why = NULL;
	enum control_parse r = control_request_parse(text, strlen(text), req, &why);
	assert_non_null(why);
	return r;
}

static void test_request_valid(void **state)
{
	(void)state;
	struct control_request req;
	assert_int_equal(parse("{\"version\":1,\"request\":\"status\"}", &req), CONTROL_PARSE_OK);
	assert_int_equal(req.op, CONTROL_OP_STATUS);
	assert_string_equal(req.id, "");
	assert_int_equal(parse(" {\"request\" : \"retry-now\", \"version\" : 1}\n", &req),
	                 CONTROL_PARSE_OK);
	assert_int_equal(req.op, CONTROL_OP_RETRY_NOW);
	assert_int_equal(parse("{\"version\":1,\"request\":\"network-test\"}", &req),
	                 CONTROL_PARSE_OK);
	assert_int_equal(req.op, CONTROL_OP_NETWORK_TEST);
	assert_int_equal(parse("{\"version\":1.0,\"request\":\"discard\",\"id\":\"" ID "\"}", &req),
	                 CONTROL_PARSE_OK);
	assert_int_equal(req.op, CONTROL_OP_DISCARD);
	assert_string_equal(req.id, ID);
	assert_string_equal(control_op_name(CONTROL_OP_DISCARD), "discard");
	assert_string_equal(control_op_name(CONTROL_OP_LAST), "unknown");
	assert_int_equal(req.lines, 0);

	/* log: all the ring holds unless fewer are asked for. */
	assert_int_equal(parse("{\"version\":1,\"request\":\"log\"}", &req), CONTROL_PARSE_OK);
	assert_int_equal(req.op, CONTROL_OP_LOG);
	assert_int_equal(req.lines, CONTROL_LOG_LINES_MAX);
	assert_int_equal(CONTROL_LOG_LINES_MAX, 200);
	assert_int_equal(parse("{\"lines\":5,\"version\":1,\"request\":\"log\"}", &req),
	                 CONTROL_PARSE_OK);
	assert_int_equal(req.lines, 5);
	assert_int_equal(parse("{\"version\":1,\"request\":\"log\",\"lines\":200}", &req),
	                 CONTROL_PARSE_OK);
	assert_int_equal(req.lines, 200);
	assert_int_equal(parse("{\"version\":1,\"request\":\"log\",\"lines\":1.0}", &req),
	                 CONTROL_PARSE_OK);
	assert_int_equal(req.lines, 1);
	assert_string_equal(control_op_name(CONTROL_OP_LOG), "log");

	assert_int_equal(parse("{\"version\":1,\"request\":\"restart\"}", &req), CONTROL_PARSE_OK);
	assert_int_equal(req.op, CONTROL_OP_RESTART);
	assert_int_equal(req.lines, 0);
	assert_string_equal(control_op_name(CONTROL_OP_RESTART), "restart");
}

struct bad_request {
	const char *text;
	enum control_parse want;
};

static void test_request_refused(void **state)
{
	(void)state;
	static const struct bad_request cases[] = {
	        {"", CONTROL_PARSE_MALFORMED},
	        {"status", CONTROL_PARSE_MALFORMED},
	        {"[1]", CONTROL_PARSE_MALFORMED},
	        {"null", CONTROL_PARSE_MALFORMED},
	        {"{\"version\":1,\"request\":\"status\"}x", CONTROL_PARSE_MALFORMED},
	        {"{\"version\":1,\"request\":\"status\"}{}", CONTROL_PARSE_MALFORMED},
	        {"{\"version\":1,\"request\":\"status\\u0000x\"}", CONTROL_PARSE_MALFORMED},
	        {"{\"version\":1,\"request\\u0000\":\"status\"}", CONTROL_PARSE_MALFORMED},
	        {"{\"version\":1,\"request\":\"status\"", CONTROL_PARSE_MALFORMED},
	        {"{}", CONTROL_PARSE_BAD_VERSION},
	        {"{\"request\":\"status\"}", CONTROL_PARSE_BAD_VERSION},
	        {"{\"version\":0,\"request\":\"status\"}", CONTROL_PARSE_BAD_VERSION},
	        {"{\"version\":2,\"request\":\"status\"}", CONTROL_PARSE_BAD_VERSION},
	        {"{\"version\":1.5,\"request\":\"status\"}", CONTROL_PARSE_BAD_VERSION},
	        {"{\"version\":\"1\",\"request\":\"status\"}", CONTROL_PARSE_BAD_VERSION},
	        {"{\"version\":true,\"request\":\"status\"}", CONTROL_PARSE_BAD_VERSION},
	        {"{\"version\":1e400,\"request\":\"status\"}", CONTROL_PARSE_BAD_VERSION},
	        {"{\"version\":1}", CONTROL_PARSE_UNKNOWN_REQUEST},
	        {"{\"version\":1,\"request\":null}", CONTROL_PARSE_UNKNOWN_REQUEST},
	        {"{\"version\":1,\"request\":\"Status\"}", CONTROL_PARSE_UNKNOWN_REQUEST},
	        {"{\"version\":1,\"request\":\"reboot\"}", CONTROL_PARSE_UNKNOWN_REQUEST},
	        {"{\"version\":1,\"request\":[\"status\"]}", CONTROL_PARSE_UNKNOWN_REQUEST},
	        {"{\"version\":1,\"request\":\"status\",\"x\":1}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"status\",\"Version\":1}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"status\",\"request\":\"status\"}",
	         CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"version\":1,\"request\":\"status\"}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"status\",\"id\":\"" ID "\"}",
	         CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"discard\"}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"discard\",\"id\":null}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"discard\",\"id\":\"\"}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"discard\",\"id\":"
	         "\"0190C2A4D1F07B3E9A1C55E2F0D4B6A8\"}",
	         CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"discard\",\"id\":\"" ID "0\"}",
	         CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"discard\",\"id\":\"../../../etc/passwd\"}",
	         CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"discard\",\"id\":\"" ID "\",\"id\":\"" ID "\"}",
	         CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"Log\"}", CONTROL_PARSE_UNKNOWN_REQUEST},
	        {"{\"version\":1,\"request\":\"reboot\"}", CONTROL_PARSE_UNKNOWN_REQUEST},
	        {"{\"version\":1,\"request\":\"log\",\"lines\":0}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"log\",\"lines\":201}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"log\",\"lines\":-1}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"log\",\"lines\":1.5}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"log\",\"lines\":1e400}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"log\",\"lines\":\"5\"}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"log\",\"lines\":null}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"log\",\"lines\":5,\"lines\":5}",
	         CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"log\",\"id\":\"" ID "\"}",
	         CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"status\",\"lines\":5}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"restart\",\"lines\":5}", CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"restart\",\"id\":\"" ID "\"}",
	         CONTROL_PARSE_BAD_REQUEST},
	        {"{\"version\":1,\"request\":\"restart\",\"now\":true}", CONTROL_PARSE_BAD_REQUEST},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct control_request req;
		enum control_parse r = parse(cases[i].text, &req);
		if (r != cases[i].want)
			fail_msg("case %zu (%s): %s, want %s", i, cases[i].text,
			         control_parse_code(r), control_parse_code(cases[i].want));
		assert_int_equal(req.op, CONTROL_OP_LAST);
		assert_string_equal(req.id, "");
		assert_int_equal(req.lines, 0);
	}
	assert_string_equal(control_parse_code(CONTROL_PARSE_TOO_LARGE), "too_large");
	assert_string_equal(control_parse_code(CONTROL_PARSE_LAST), "internal");
}

static void test_request_bounds(void **state)
{
	(void)state;
	struct control_request req;
	/* Exactly the limit passes (blanks pad a valid request), one more does not. */
	char *text = malloc(CONTROL_REQUEST_MAX + 2);
	assert_non_null(text);
	const char *body = "{\"version\":1,\"request\":\"status\"}";
	memset(text, ' ', CONTROL_REQUEST_MAX + 1);
	memcpy(text, body, strlen(body));
	assert_int_equal(control_request_parse(text, CONTROL_REQUEST_MAX, &req, NULL),
	                 CONTROL_PARSE_OK);
	assert_int_equal(control_request_parse(text, CONTROL_REQUEST_MAX + 1, &req, NULL),
	                 CONTROL_PARSE_TOO_LARGE);
	/* A NUL inside the length, and input that is not NUL-terminated. */
	text[strlen(body)] = '\0';
	assert_int_equal(control_request_parse(text, strlen(body) + 1, &req, NULL),
	                 CONTROL_PARSE_MALFORMED);
	memcpy(text, body, strlen(body));
	text[strlen(body)] = 'X';
	assert_int_equal(control_request_parse(text, strlen(body), &req, NULL), CONTROL_PARSE_OK);
	assert_int_equal(control_request_parse(NULL, 0, &req, NULL), CONTROL_PARSE_MALFORMED);
	free(text);
}

/* ---- answers ---------------------------------------------------------------------- */

static enum upload_control_error answer(enum upload_control_kind kind, const char *text,
                                        struct upload_control_answer *a)
{
	return upload_control_parse_answer(kind, text, strlen(text), a);
}

static const char status_doc[] =
        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"status\",\"status\":"
        "{\"version\":1,\"updated\":1700000100,\"pid\":42,\"started\":1700000000,"
        "\"activity\":\"waiting\",\"counts\":{\"new\":2,\"sending\":0,\"failed\":1,"
        "\"quarantine\":0},\"bytes\":{\"new\":5000,\"sending\":0,\"failed\":2500,"
        "\"quarantine\":0},\"oldest_age_seconds\":90,\"last_success\":1700000050,"
        "\"last_attempt\":1700000090,\"last_outcome\":\"unavailable\",\"last_error\":"
        "\"unavailable\",\"last_error_time\":1700000090,\"next_attempt\":1700003690,"
        "\"bytes_sent\":123456,\"uploads\":{\"delivered\":3,\"unavailable\":1},"
        "\"queue\":[{\"id\":\"" ID "\",\"age_seconds\":90,\"bytes\":2500,\"attempts\":1,"
        "\"next_due\":1700003690,\"last_error\":\"unavailable\"}],"
        "\"failed\":[{\"id\":\"0190c2a4d1f07b3e9a1c55e2f0d4b6a9\",\"age_seconds\":80,"
        "\"bytes\":2500,\"attempts\":1,\"next_due\":0,\"last_error\":\"conflict\"}],"
        "\"quarantine\":[],\"future_member\":{\"ignored\":true}}}";

static void test_answer_status(void **state)
{
	(void)state;
	struct upload_control_answer a = {0};
	struct upload_control_status *st = calloc(1, sizeof(*st));
	assert_non_null(st);
	a.status = st;
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_STATUS, status_doc, &a), UPLOAD_CONTROL_OK);
	assert_ptr_equal(a.status, st);
	assert_true(a.final);
	assert_int_equal(st->pid, 42);
	assert_string_equal(st->activity, "waiting");
	assert_int_equal(st->count[SPOOL_STATE_NEW], 2);
	assert_int_equal(st->count[SPOOL_STATE_FAILED], 1);
	assert_int_equal(st->bytes[SPOOL_STATE_NEW], 5000);
	assert_int_equal(st->next_attempt, 1700003690);
	assert_int_equal(st->bytes_sent, 123456);
	assert_int_equal(st->upload_count, 2);
	assert_string_equal(st->uploads[1].name, "unavailable");
	assert_int_equal(st->queue_count, 1);
	assert_string_equal(st->queue[0].id, ID);
	assert_int_equal(st->queue[0].bytes, 2500);
	assert_int_equal(st->failed_count, 1);
	assert_string_equal(st->failed[0].last_error, "conflict");
	assert_int_equal(st->quarantine_count, 0);

	/* Each damage makes it a bad answer, and leaves nothing half-filled. */
	static const char *const breaks[][2] = {
	        {"\"pid\":42", "\"pid\":\"42\""},
	        {"\"pid\":42", "\"pid\":4.2"},
	        {"\"new\":2,", "\"new\":-2,"},
	        {"\"new\":2,", "\"new\":1e300,"},
	        {"\"new\":2,", ""},
	        {"\"activity\":\"waiting\"", "\"activity\":\"wait ing\""},
	        {"\"activity\":\"waiting\"", "\"activity\":\"a-very-long-activity-name\""},
	        {"\"id\":\"" ID "\"", "\"id\":\"../" ID "\""},
	        {"\"last_error\":\"conflict\"", "\"last_error\":\"con\\nflict\""},
	        {"\"quarantine\":[]", "\"quarantine\":{}"},
	        {"\"version\":1,\"ok\"", "\"version\":2,\"ok\""},
	        {"\"final\":true", "\"final\":false"},
	        {"\"request\":\"status\"", "\"request\":\"retry-now\""},
	        {"\"bytes_sent\":123456,", ""},
	};
	for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
		char text[4096];
		const char *at = strstr(status_doc, breaks[i][0]);
		assert_non_null(at);
		snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - status_doc), status_doc,
		         breaks[i][1], at + strlen(breaks[i][0]));
		a.status = st;
		if (answer(UPLOAD_CONTROL_KIND_STATUS, text, &a) != UPLOAD_CONTROL_BAD_ANSWER)
			fail_msg("break %zu (%s) accepted", i, breaks[i][1]);
		assert_int_equal(st->pid, 0);
		assert_int_equal(st->queue_count, 0);
	}
	a.status = NULL;
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_STATUS, status_doc, &a),
	                 UPLOAD_CONTROL_BAD_ANSWER);
	free(st);
}

static void test_answer_others(void **state)
{
	(void)state;
	struct upload_control_answer a = {0};
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_RETRY_NOW,
	                        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":"
	                        "\"retry-now\",\"queued\":7}",
	                        &a),
	                 UPLOAD_CONTROL_OK);
	assert_int_equal(a.queued, 7);

	assert_int_equal(answer(UPLOAD_CONTROL_KIND_DISCARD,
	                        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":"
	                        "\"discard\",\"id\":\"" ID "\",\"state\":\"quarantine\","
	                        "\"class\":\"truncated\"}",
	                        &a),
	                 UPLOAD_CONTROL_OK);
	assert_string_equal(a.discarded.id, ID);
	assert_int_equal(a.discarded.state, SPOOL_STATE_QUARANTINE);
	assert_string_equal(a.discarded.error_class, "truncated");
	/* A discard "from new/" is not something the uploader does. */
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_DISCARD,
	                        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":"
	                        "\"discard\",\"id\":\"" ID "\",\"state\":\"new\",\"class\":\"\"}",
	                        &a),
	                 UPLOAD_CONTROL_BAD_ANSWER);

	/* Refusals, with or without the request named. */
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_DISCARD,
	                        "{\"version\":1,\"ok\":false,\"final\":true,\"request\":"
	                        "\"discard\",\"error\":\"not_allowed\",\"message\":\"queued\","
	                        "\"id\":\"" ID "\",\"state\":\"sending\"}",
	                        &a),
	                 UPLOAD_CONTROL_REFUSED);
	assert_string_equal(a.refusal.code, "not_allowed");
	assert_string_equal(a.refusal.state, "sending");
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_STATUS,
	                        "{\"version\":1,\"ok\":false,\"final\":true,\"error\":"
	                        "\"malformed\",\"message\":\"not JSON\"}",
	                        &a),
	                 UPLOAD_CONTROL_REFUSED);
	assert_string_equal(a.refusal.message, "not JSON");
	/* A refusal must say what and be printable. */
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_STATUS,
	                        "{\"version\":1,\"ok\":false,\"final\":true,\"error\":\"\","
	                        "\"message\":\"x\"}",
	                        &a),
	                 UPLOAD_CONTROL_BAD_ANSWER);
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_STATUS,
	                        "{\"version\":1,\"ok\":false,\"final\":true,\"error\":\"e\","
	                        "\"message\":\"\\u001b[2J\"}",
	                        &a),
	                 UPLOAD_CONTROL_BAD_ANSWER);
	/* Not JSON, NUL, empty, oversized. */
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_STATUS, "<html>", &a),
	                 UPLOAD_CONTROL_BAD_ANSWER);
	assert_int_equal(upload_control_parse_answer(UPLOAD_CONTROL_KIND_RETRY_NOW, "{}\0", 3, &a),
	                 UPLOAD_CONTROL_BAD_ANSWER);
	assert_int_equal(upload_control_parse_answer(UPLOAD_CONTROL_KIND_RETRY_NOW, "", 0, &a),
	                 UPLOAD_CONTROL_BAD_ANSWER);
	assert_int_equal(upload_control_parse_answer(UPLOAD_CONTROL_KIND_RETRY_NOW, "{}",
	                                             UPLOAD_CONTROL_ANSWER_MAX + 1, &a),
	                 UPLOAD_CONTROL_BAD_ANSWER);
	assert_int_equal(upload_control_parse_answer(UPLOAD_CONTROL_KIND_LAST, "{}", 2, &a),
	                 UPLOAD_CONTROL_INVALID);
}

#define STEP(name, result, code)                                                                   \
	"{\"name\":\"" name "\",\"result\":\"" result "\",\"code\":\"" code                        \
	"\",\"reason\":\"why\",\"ms\":3}"

static void test_answer_network_test(void **state)
{
	(void)state;
	struct upload_control_answer a = {0};
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_NETWORK_TEST,
	                        "{\"version\":1,\"ok\":true,\"final\":false,\"request\":"
	                        "\"network-test\",\"step\":" STEP("tls", "failed", "pin") "}",
	                        &a),
	                 UPLOAD_CONTROL_OK);
	assert_false(a.final);
	assert_string_equal(a.step.name, "tls");
	assert_int_equal(a.step.result, UPLOAD_CONTROL_STEP_FAILED);
	assert_string_equal(a.step.code, "pin");

	static const char failed[] =
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"network-test\","
	        "\"passed\":false,\"failed_step\":\"tls\",\"ms\":40,\"steps\":[" STEP(
	                "dns", "ok", "ok") "," STEP("tcp", "ok",
	                                            "ok") "," STEP("tls", "failed",
	                                                           "pin") "," STEP("http",
	                                                                           "skipped",
	                                                                           "skipped") "]}";
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_NETWORK_TEST, failed, &a), UPLOAD_CONTROL_OK);
	assert_true(a.final);
	assert_false(a.nettest.passed);
	assert_string_equal(a.nettest.failed_step, "tls");
	assert_int_equal(a.nettest.step_count, 4);
	assert_int_equal(a.nettest.steps[3].result, UPLOAD_CONTROL_STEP_SKIPPED);

	/* Steps out of order, unknown, missing, or "passed" with a failure. */
	static const char *const bad[] = {
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"network-test\","
	        "\"passed\":true,\"failed_step\":null,\"ms\":1,\"steps\":[" STEP(
	                "dns", "ok", "ok") "," STEP("tcp", "ok",
	                                            "ok") "," STEP("tls", "failed",
	                                                           "pin") "," STEP("http", "ok",
	                                                                           "ok") "]}",
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"network-test\","
	        "\"passed\":true,\"failed_step\":null,\"ms\":1,\"steps\":[" STEP(
	                "tcp", "ok", "ok") "," STEP("dns", "ok",
	                                            "ok") "," STEP("tls", "ok",
	                                                           "ok") "," STEP("http", "ok",
	                                                                          "ok") "]}",
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"network-test\","
	        "\"passed\":false,\"failed_step\":\"dns\",\"ms\":1,\"steps\":[" STEP(
	                "dns", "failed", "timeout") "]}",
	        "{\"version\":1,\"ok\":true,\"final\":false,\"request\":\"network-test\","
	        "\"step\":" STEP("smtp", "ok", "ok") "}",
	        "{\"version\":1,\"ok\":true,\"final\":false,\"request\":\"network-test\","
	        "\"step\":" STEP("dns", "maybe", "ok") "}",
	        "{\"version\":1,\"ok\":true,\"final\":false,\"request\":\"status\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (answer(UPLOAD_CONTROL_KIND_NETWORK_TEST, bad[i], &a) !=
		    UPLOAD_CONTROL_BAD_ANSWER)
			fail_msg("bad network-test answer %zu accepted", i);
	}
	/* Only the network test streams: a non-final status is not an answer. */
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_RETRY_NOW,
	                        "{\"version\":1,\"ok\":true,\"final\":false,\"request\":"
	                        "\"retry-now\",\"queued\":1}",
	                        &a),
	                 UPLOAD_CONTROL_BAD_ANSWER);
	assert_string_equal(upload_control_strerror(UPLOAD_CONTROL_NOT_RUNNING),
	                    "the uploader is not running");
	assert_string_equal(upload_control_strerror(UPLOAD_CONTROL_ERROR_LAST), "unknown error");
}

/* The library's own checks, before any socket. */
static void test_client_arguments(void **state)
{
	(void)state;
	struct upload_control_status *st = (void *)1;
	assert_int_equal(upload_control_status("", 100, &st, NULL), UPLOAD_CONTROL_INVALID);
	assert_null(st);
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(upload_control_retry_now(longpath, 100, NULL, NULL),
	                 UPLOAD_CONTROL_INVALID);
	assert_int_equal(
	        upload_control_discard("/nonexistent/control.sock", 100, "ABC", NULL, NULL),
	        UPLOAD_CONTROL_INVALID);
	assert_int_equal(upload_control_discard("/nonexistent/control.sock", 100, ID, NULL, NULL),
	                 UPLOAD_CONTROL_NOT_RUNNING);
	struct upload_control_nettest nt;
	assert_int_equal(upload_control_network_test("/nonexistent/control.sock", 100, NULL, NULL,
	                                             &nt, NULL),
	                 UPLOAD_CONTROL_NOT_RUNNING);
}

/* ---- log, restart, the status file ------------------------------------------------ */

#define LINE(seq, level, text)                                                                     \
	"{\"seq\":" #seq ",\"time\":1700000000123,\"level\":\"" level "\",\"text\":\"" text "\"}"

static void test_answer_log_restart(void **state)
{
	(void)state;
	struct upload_control_answer a = {0};
	struct upload_control_log *log = calloc(1, sizeof(*log));
	assert_non_null(log);
	static const char good[] =
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"log\",\"omitted\":2,"
	        "\"lines\":[" LINE(7, "info", "info: [uploader.c:1] started") "," LINE(
	                9, "warning",
	                "warning: [x.c:2] Gr\\u00fc\\u00dfe \\\"quoted\\\"") "],\"later\":1}";
	a.log = log;
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_LOG, good, &a), UPLOAD_CONTROL_OK);
	assert_ptr_equal(a.log, log);
	assert_int_equal(log->count, 2);
	assert_int_equal(log->omitted, 2);
	assert_int_equal(log->lines[0].seq, 7);
	assert_int_equal(log->lines[0].time_ms, 1700000000123LL);
	assert_int_equal(log->lines[0].level, LOG_LEVEL_INFO);
	assert_string_equal(log->lines[0].text, "info: [uploader.c:1] started");
	assert_int_equal(log->lines[1].level, LOG_LEVEL_WARNING);
	assert_string_equal(log->lines[1].text, "warning: [x.c:2] Gr\xc3\xbc\xc3\x9f"
	                                        "e \"quoted\"");
	/* Without storage the answer is only checked. */
	a.log = NULL;
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_LOG, good, &a), UPLOAD_CONTROL_OK);
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_LOG,
	                        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"log\","
	                        "\"omitted\":0,\"lines\":[]}",
	                        &a),
	                 UPLOAD_CONTROL_OK);

	static const char *const bad[] = {
	        /* numbers going back, a control character, an unknown level, no omitted */
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"log\",\"omitted\":0,"
	        "\"lines\":[" LINE(9, "info", "a") "," LINE(8, "info", "b") "]}",
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"log\",\"omitted\":0,"
	        "\"lines\":[" LINE(9, "info", "a\\u001b[2Jb") "]}",
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"log\",\"omitted\":0,"
	        "\"lines\":[" LINE(9, "info", "a\\nb") "]}",
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"log\",\"omitted\":0,"
	        "\"lines\":[" LINE(9, "notice", "a") "]}",
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"log\","
	        "\"lines\":[" LINE(9, "info", "a") "]}",
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"log\",\"omitted\":0,"
	        "\"lines\":[" LINE(0, "info", "a") "]}",
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"log\",\"omitted\":0,"
	        "\"lines\":{}}",
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"log\",\"omitted\":0,"
	        "\"lines\":[" LINE(9, "info", "stray \xff byte") "]}",
	        "{\"version\":1,\"ok\":true,\"final\":false,\"request\":\"log\",\"omitted\":0,"
	        "\"lines\":[]}",
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"status\",\"omitted\":0,"
	        "\"lines\":[]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a.log = log;
		if (answer(UPLOAD_CONTROL_KIND_LOG, bad[i], &a) != UPLOAD_CONTROL_BAD_ANSWER)
			fail_msg("bad log answer %zu accepted", i);
		assert_int_equal(log->count, 0);
	}

	/* A line as long as the ring keeps passes; one byte more does not. More
	 * lines than the ring keeps do not either. */
	const size_t cap = LOG_RING_LINES * 64 + 2048;
	char *big = malloc(cap);
	if (!big)
		abort();
	for (int len = LOG_RING_LINE_MAX - 1; len <= LOG_RING_LINE_MAX; len++) {
		int n = snprintf(
		        big, 2048,
		        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"log\","
		        "\"omitted\":0,\"lines\":[{\"seq\":1,\"time\":1,\"level\":\"info\","
		        "\"text\":\"%0*d\"}]}",
		        len, 0);
		assert_true(n > 0 && n < 2048);
		a.log = log;
		assert_int_equal(answer(UPLOAD_CONTROL_KIND_LOG, big, &a),
		                 len < LOG_RING_LINE_MAX ? UPLOAD_CONTROL_OK
		                                         : UPLOAD_CONTROL_BAD_ANSWER);
	}
	for (int lines = LOG_RING_LINES; lines <= LOG_RING_LINES + 1; lines++) {
		size_t at = (size_t)snprintf(big, cap,
		                             "{\"version\":1,\"ok\":true,\"final\":true,"
		                             "\"request\":\"log\",\"omitted\":0,\"lines\":[");
		for (int i = 1; i <= lines; i++)
			at += (size_t)snprintf(big + at, cap - at,
			                       "%s{\"seq\":%d,\"time\":1,\"level\":\"debug\","
			                       "\"text\":\"l\"}",
			                       i > 1 ? "," : "", i);
		assert_true(at + 3 < cap);
		snprintf(big + at, cap - at, "]}");
		a.log = log;
		assert_int_equal(answer(UPLOAD_CONTROL_KIND_LOG, big, &a),
		                 lines <= LOG_RING_LINES ? UPLOAD_CONTROL_OK
		                                         : UPLOAD_CONTROL_BAD_ANSWER);
	}
	free(big);
	free(log);

	a.log = NULL;
	assert_int_equal(answer(UPLOAD_CONTROL_KIND_RESTART,
	                        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"restart\","
	                        "\"pid\":4711}",
	                        &a),
	                 UPLOAD_CONTROL_OK);
	assert_int_equal(a.pid, 4711);
	static const char *const bad_restart[] = {
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"restart\"}",
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"restart\",\"pid\":0}",
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"restart\",\"pid\":\"1\"}",
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"log\",\"pid\":1}",
	};
	for (size_t i = 0; i < sizeof(bad_restart) / sizeof(bad_restart[0]); i++) {
		if (answer(UPLOAD_CONTROL_KIND_RESTART, bad_restart[i], &a) !=
		    UPLOAD_CONTROL_BAD_ANSWER)
			fail_msg("bad restart answer %zu accepted", i);
		assert_int_equal(a.pid, 0);
	}
}

/* The status file is the "status" member of a status answer on its own. */
static void test_status_document(void **state)
{
	(void)state;
	const char *doc = strstr(status_doc, "\"status\":{") + strlen("\"status\":");
	size_t len = strlen(doc) - 1; /* without the answer's closing brace */
	struct upload_control_status *st = calloc(1, sizeof(*st));
	assert_non_null(st);
	assert_int_equal(upload_control_parse_status_document(doc, len, st), UPLOAD_CONTROL_OK);
	assert_int_equal(st->pid, 42);
	assert_int_equal(st->failed_count, 1);
	assert_string_equal(st->failed[0].last_error, "conflict");
	assert_int_equal(upload_control_parse_status_document(status_doc, strlen(status_doc), st),
	                 UPLOAD_CONTROL_BAD_ANSWER);
	assert_int_equal(st->pid, 0);
	assert_int_equal(upload_control_parse_status_document("{}", 2, st),
	                 UPLOAD_CONTROL_BAD_ANSWER);
	assert_int_equal(upload_control_parse_status_document(NULL, 0, st),
	                 UPLOAD_CONTROL_BAD_ANSWER);
	assert_int_equal(upload_control_parse_status_document(doc, len, NULL),
	                 UPLOAD_CONTROL_INVALID);

	/* From a file: present, missing, unreadable, damaged, too large. */
	char dir[] = "test_status_file.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/status", dir);
	struct upload_control_status *out = (void *)1;
	assert_int_equal(upload_control_status_file(path, &out), UPLOAD_CONTROL_NOT_RUNNING);
	assert_null(out);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(doc, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(upload_control_status_file(path, &out), UPLOAD_CONTROL_OK);
	assert_non_null(out);
	assert_int_equal(out->queue_count, 1);
	assert_string_equal(out->queue[0].id, ID);
	upload_control_status_destroy(out);
	if (geteuid() != 0) {
		chmod(path, 0);
		assert_int_equal(upload_control_status_file(path, &out), UPLOAD_CONTROL_PERMISSION);
		chmod(path, 0600);
	}
	assert_int_equal(truncate(path, (off_t)len / 2), 0);
	assert_int_equal(upload_control_status_file(path, &out), UPLOAD_CONTROL_BAD_ANSWER);
	assert_null(out);
	assert_int_equal(truncate(path, UPLOAD_CONTROL_STATUS_FILE_MAX + 1), 0);
	assert_int_equal(upload_control_status_file(path, &out), UPLOAD_CONTROL_BAD_ANSWER);
	assert_int_equal(upload_control_status_file(dir, &out), UPLOAD_CONTROL_IO);
	assert_int_equal(upload_control_status_file("", &out), UPLOAD_CONTROL_INVALID);
	unlink(path);
	rmdir(dir);
	free(st);
}

/* ---- the client against a scripted server ------------------------------------------- */

/* One connection: reads the request, sends the messages, then waits until the
 * client closes (at most 10 s). */
struct fake {
	int listen_fd;
	char path[108];
	const char *const *messages;
	size_t count;
	char request[1100];
	int64_t closed_after_ms; /* how long after the last message the client closed */
	pthread_t thread;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *fake_thread(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->listen_fd, NULL, NULL);
	if (fd < 0)
		return NULL;
	ssize_t n = recv(fd, f->request, sizeof(f->request) - 1, 0);
	if (n > 0)
		f->request[n] = '\0';
	for (size_t i = 0; i < f->count; i++)
		(void)send(fd, f->messages[i], strlen(f->messages[i]), MSG_NOSIGNAL);
	int64_t sent = now_ms();
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;
	if (poll(&p, 1, 10000) > 0 && recv(fd, &c, 1, 0) == 0)
		f->closed_after_ms = now_ms() - sent;
	else
		f->closed_after_ms = -1;
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f, const char *dir, const char *const *messages, size_t count)
{
	memset(f, 0, sizeof(*f));
	f->messages = messages;
	f->count = count;
	snprintf(f->path, sizeof(f->path), "%s/fake.sock", dir);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", f->path);
	f->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(f->listen_fd >= 0);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(f->listen_fd, 1), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_thread, f), 0);
}

static void fake_finish(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
	unlink(f->path);
}

struct cancel_on_step {
	int efd;
	unsigned steps;
};

static bool cancel_after_first(const struct upload_control_step *step, void *ctx)
{
	struct cancel_on_step *c = ctx;
	c->steps++;
	uint64_t one = 1;
	assert_int_equal(write(c->efd, &one, sizeof(one)), sizeof(one));
	return true;
}

static void test_client_exchanges(void **state)
{
	(void)state;
	char dir[] = "test_control_fake.XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct fake f;

	/* log: the request names the count; the lines arrive parsed. */
	static const char *const log_answer[] = {
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"log\",\"omitted\":0,"
	        "\"lines\":[" LINE(3, "info", "info: [a.c:1] one") "," LINE(
	                4, "error", "error: [b.c:2] two") "]}",
	};
	fake_start(&f, dir, log_answer, 1);
	struct upload_control_log *log = NULL;
	assert_int_equal(upload_control_log(f.path, 2000, 50, &log, NULL), UPLOAD_CONTROL_OK);
	fake_finish(&f);
	assert_string_equal(f.request, "{\"version\":1,\"request\":\"log\",\"lines\":50}");
	assert_non_null(log);
	assert_int_equal(log->count, 2);
	assert_string_equal(log->lines[1].text, "error: [b.c:2] two");
	upload_control_log_destroy(log);
	/* More lines than asked for is not an answer to the request. */
	fake_start(&f, dir, log_answer, 1);
	assert_int_equal(upload_control_log(f.path, 2000, 1, &log, NULL),
	                 UPLOAD_CONTROL_BAD_ANSWER);
	fake_finish(&f);
	assert_null(log);
	assert_int_equal(upload_control_log(f.path, 2000, LOG_RING_LINES + 1, &log, NULL),
	                 UPLOAD_CONTROL_INVALID);
	assert_int_equal(upload_control_log(f.path, 2000, 0, NULL, NULL), UPLOAD_CONTROL_INVALID);

	/* restart */
	static const char *const restart_answer[] = {
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"restart\",\"pid\":99}",
	};
	fake_start(&f, dir, restart_answer, 1);
	int64_t pid = 0;
	assert_int_equal(upload_control_restart(f.path, 2000, &pid, NULL), UPLOAD_CONTROL_OK);
	fake_finish(&f);
	assert_string_equal(f.request, "{\"version\":1,\"request\":\"restart\"}");
	assert_int_equal(pid, 99);

	/* A network test whose second step never comes: cancelled through the
	 * eventfd right after the first, the call returns at once with it. */
	static const char *const one_step[] = {
	        "{\"version\":1,\"ok\":true,\"final\":false,\"request\":\"network-test\","
	        "\"step\":" STEP("dns", "ok", "ok") "}",
	};
	fake_start(&f, dir, one_step, 1);
	struct cancel_on_step c = {.efd = eventfd(0, EFD_CLOEXEC)};
	assert_true(c.efd >= 0);
	struct upload_control_nettest nt;
	assert_int_equal(upload_control_network_test_cancellable(f.path, 60000, c.efd,
	                                                         cancel_after_first, &c, &nt, NULL),
	                 UPLOAD_CONTROL_OK);
	fake_finish(&f);
	assert_int_equal(c.steps, 1);
	assert_true(nt.stopped);
	assert_int_equal(nt.step_count, 1);
	assert_string_equal(nt.steps[0].name, "dns");
	/* The client closed at once, not after the 60 s timeout. */
	assert_true(f.closed_after_ms >= 0 && f.closed_after_ms < 10000);
	close(c.efd);

	/* Not cancelled: the whole test, not stopped. */
	static const char *const whole[] = {
	        "{\"version\":1,\"ok\":true,\"final\":false,\"request\":\"network-"
	        "test\","
	        "\"step\":" STEP("dns", "failed", "no_such_host") "}",
	        "{\"version\":1,\"ok\":true,\"final\":true,\"request\":\"network-"
	        "test\","
	        "\"passed\":false,\"failed_step\":\"dns\",\"ms\":4,\"steps\":"
	        "[" STEP("dns", "failed", "no_such_host") "," STEP(
	                "tcp", "skipped", "skipped") "," STEP("tls", "skipped",
	                                                      "skipped") "," STEP("http", "skipped",
	                                                                          "skipped") "]}",
	};
	fake_start(&f, dir, whole, 2);
	int efd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(
	        upload_control_network_test_cancellable(f.path, 5000, efd, NULL, NULL, &nt, NULL),
	        UPLOAD_CONTROL_OK);
	fake_finish(&f);
	close(efd);
	assert_false(nt.stopped);
	assert_false(nt.passed);
	assert_string_equal(nt.failed_step, "dns");
	assert_int_equal(nt.step_count, 4);
	rmdir(dir);
}

/* ---- [control] socket --------------------------------------------------------------- */

static void test_config_socket(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERROR_MAX] = "", path[CONFIG_SOCKET_PATH_MAX + 1];
	config_init(&cfg);
	assert_true(config_control_socket(&cfg, path, sizeof(path)));
	assert_string_equal(path, "/var/spool/scankiosk/control.sock");
	assert_true(config_load_string(&cfg, "c.conf", "[spool]\ndir = /srv/q\n", err));
	assert_true(config_control_socket(&cfg, path, sizeof(path)));
	assert_string_equal(path, "/srv/q/control.sock");
	assert_true(
	        config_load_string(&cfg, "c.conf", "[control]\nsocket = /run/sk/ctl.sock\n", err));
	assert_true(config_control_socket(&cfg, path, sizeof(path)));
	assert_string_equal(path, "/run/sk/ctl.sock");
	assert_false(config_control_socket(&cfg, path, 8));
	assert_string_equal(path, "");
	config_finish(&cfg);

	static const struct {
		const char *text, *expect;
	} bad[] = {
	        {"[control]\nsocket = relative.sock\n",
	         "b.conf:2: socket: 'relative.sock' is not an "
	         "absolute path"},
	        {"[control]\nsocket =\n", "b.conf:2: socket: empty value"},
	        {"[control]\n\nsocket = /a\nsocket = /b\n", "b.conf:4: 'socket' is set twice"},
	        {"[control]\npath = /a\n", "b.conf:2: unknown key 'path' in [control]"},
	        {"[control]\nsocket = /" /* 120 bytes */
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	         "aaa"
	         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	         "b.conf:2: socket: longer than 107 bytes"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_init(&cfg);
		bool ok = config_load_string(&cfg, "b.conf", bad[i].text, err);
		if (ok || strncmp(err, bad[i].expect, strlen(bad[i].expect)) != 0)
			fail_msg("case %zu: ok=%d err='%s' expected '%s'", i, ok, err,
			         bad[i].expect);
		assert_null(cfg.control_socket);
		config_finish(&cfg);
	}

	/* A spool directory too deep for a socket address: no path, not a cut one. */
	config_init(&cfg);
	char text[256];
	snprintf(text, sizeof(text), "[spool]\ndir = /%0100d\n", 0);
	assert_true(config_load_string(&cfg, "c.conf", text, err));
	assert_false(config_control_socket(&cfg, path, sizeof(path)));
	config_finish(&cfg);
}

/* ---- metrics textfiles ------------------------------------------------------------- */

static void test_metrics_text(void **state)
{
	(void)state;
	struct metrics_text *t = metrics_text_create();
	assert_non_null(t);
	metrics_text_family(t, "scankiosk_scanner_errors_total", METRICS_COUNTER,
	                    "Scanner errors by kind.\nSecond \\ line.");
	metrics_text_u64(t, "scankiosk_scanner_errors_total", "kind", "jammed", 3);
	metrics_text_u64(t, "scankiosk_scanner_errors_total", "kind", "a\"b\\c\nd", 1);
	metrics_text_family(t, "scankiosk_x_seconds", METRICS_GAUGE, NULL);
	metrics_text_i64(t, "scankiosk_x_seconds", NULL, NULL, -5);
	metrics_text_u64(t, "scankiosk_big", NULL, NULL, UINT64_MAX);
	assert_true(metrics_text_ok(t));
	size_t len;
	const char *text = metrics_text_data(t, &len);
	assert_string_equal(
	        text, "# HELP scankiosk_scanner_errors_total Scanner errors by kind.\\nSecond \\\\ "
	              "line.\n"
	              "# TYPE scankiosk_scanner_errors_total counter\n"
	              "scankiosk_scanner_errors_total{kind=\"jammed\"} 3\n"
	              "scankiosk_scanner_errors_total{kind=\"a\\\"b\\\\c\\nd\"} 1\n"
	              "# TYPE scankiosk_x_seconds gauge\n"
	              "scankiosk_x_seconds -5\n"
	              "scankiosk_big 18446744073709551615\n");
	assert_int_equal(len, strlen(text));

	/* Written atomically with its mode, whatever the umask. */
	char dir[] = "test_metrics.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	snprintf(path, sizeof(path), "%s/ui.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	mode_t old = umask(077);
	assert_true(metrics_text_write(t, path));
	umask(old);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, METRICS_FILE_MODE);
	assert_int_equal((size_t)sb.st_size, len);
	assert_int_not_equal(access(tmp, F_OK), 0);

	/* One bad name spoils the text: the good file stays as it was. */
	metrics_text_u64(t, "scankiosk bad name", NULL, NULL, 1);
	assert_false(metrics_text_ok(t));
	metrics_text_u64(t, "scankiosk_fine", NULL, NULL, 1);
	assert_false(metrics_text_write(t, path));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal((size_t)sb.st_size, len);
	metrics_text_destroy(t);

	t = metrics_text_create();
	metrics_text_u64(t, "ok_name", "__reserved", "x", 1);
	assert_false(metrics_text_ok(t));
	metrics_text_destroy(t);
	t = metrics_text_create();
	metrics_text_u64(t, "ok_name", "bad:label", "x", 1);
	assert_false(metrics_text_ok(t));
	metrics_text_destroy(t);

	/* Full: refused, never cut. */
	t = metrics_text_create();
	for (int i = 0; i < 5000; i++)
		metrics_text_u64(t, "scankiosk_filler_metric_name", "n", "value", (uint64_t)i);
	assert_false(metrics_text_ok(t));
	metrics_text_data(t, &len);
	assert_true(len < METRICS_TEXT_MAX);
	metrics_text_destroy(t);
	metrics_text_destroy(NULL);

	assert_true(metrics_name_valid("a:b_c9"));
	assert_false(metrics_name_valid("9abc"));
	assert_false(metrics_name_valid(""));
	assert_true(metrics_label_name_valid("kind"));
	assert_false(metrics_label_name_valid("kind:x"));

	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_request_valid),    cmocka_unit_test(test_request_refused),
	        cmocka_unit_test(test_request_bounds),   cmocka_unit_test(test_answer_status),
	        cmocka_unit_test(test_answer_others),    cmocka_unit_test(test_answer_network_test),
	        cmocka_unit_test(test_client_arguments), cmocka_unit_test(test_config_socket),
	        cmocka_unit_test(test_metrics_text),     cmocka_unit_test(test_answer_log_restart),
	        cmocka_unit_test(test_status_document),  cmocka_unit_test(test_client_exchanges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
