/*
 * fuzz_control.c - the parsers of the control socket (kiosk/upload/CONTROL.md):
 * the uploader's request parser (kiosk/upload/control_request.c), whose input
 * comes from any process that may connect, and the maintenance menu's answer
 * parser (kiosk/core/upload_control.c), whose input comes from the uploader.
 *
 * The first byte selects which runs first; both always run on the rest, so
 * every seed exercises both. Checks the promises the callers rely on: results
 * in range, an accepted request is one known operation with a well-formed id
 * only for discard, a refusal carries a fixed text, and what an answer yields
 * is short printable ASCII.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_request.h"
#include "upload_control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_control: %s\n", what);
		abort();
	}
}

static void check_text(const char *s, size_t cap, int blanks, const char *what)
{
	size_t len = strnlen(s, cap);
	check(len < cap, what);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		check(c >= (blanks ? 0x20 : 0x21) && c < 0x7f, what);
	}
}

static void check_id(const char *s, int may_be_empty, const char *what)
{
	size_t len = strnlen(s, UPLOAD_CONTROL_ID_MAX);
	check(len == UPLOAD_CONTROL_ID_MAX - 1 || (may_be_empty && len == 0), what);
	for (size_t i = 0; i < len; i++)
		check((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'), what);
}

static void fuzz_request(const char *text, size_t size)
{
	struct control_request req;
	const char *why = NULL;
	enum control_parse r = control_request_parse(text, size, &req, &why);
	check((unsigned)r < CONTROL_PARSE_LAST, "parse result out of range");
	check(why != NULL && strlen(why) < 128, "no reason");
	check(strcmp(control_parse_code(r), "internal") != 0, "no code for the result");
	if (r == CONTROL_PARSE_OK) {
		check((unsigned)req.op < CONTROL_OP_LAST, "accepted an unknown operation");
		check_id(req.id, req.op != CONTROL_OP_DISCARD, "bad id in an accepted request");
		check(req.op == CONTROL_OP_LOG
		              ? req.lines >= 1 && req.lines <= CONTROL_LOG_LINES_MAX
		              : req.lines == 0,
		      "lines out of range");
	} else {
		check(req.op == CONTROL_OP_LAST && req.id[0] == '\0' && req.lines == 0,
		      "output on a refusal");
		/* The reason is a fixed text, never a piece of the input. */
		check(why < text || why >= text + size, "the reason points into the input");
	}
	if (size > CONTROL_REQUEST_MAX)
		check(r == CONTROL_PARSE_TOO_LARGE, "oversized request accepted");
}

static void check_status(const struct upload_control_status *st)
{
	check_text(st->activity, sizeof(st->activity), 0, "activity");
	check_text(st->last_outcome, sizeof(st->last_outcome), 0, "last_outcome");
	check_text(st->last_error, sizeof(st->last_error), 0, "last_error");
	check(st->upload_count <= UPLOAD_CONTROL_OUTCOMES, "too many outcomes");
	for (size_t i = 0; i < st->upload_count; i++)
		check_text(st->uploads[i].name, sizeof(st->uploads[i].name), 0, "outcome name");
	const struct upload_control_item *lists[] = {st->queue, st->failed, st->quarantine};
	size_t counts[] = {st->queue_count, st->failed_count, st->quarantine_count};
	for (int l = 0; l < 3; l++) {
		check(counts[l] <= UPLOAD_CONTROL_ITEMS_MAX, "too many items");
		for (size_t i = 0; i < counts[l]; i++) {
			check_id(lists[l][i].id, 0, "item id");
			check_text(lists[l][i].last_error, UPLOAD_CONTROL_CLASS_MAX, 0,
			           "item class");
		}
	}
}

static void check_step(const struct upload_control_step *s)
{
	check_text(s->name, sizeof(s->name), 0, "step name");
	check_text(s->code, sizeof(s->code), 0, "step code");
	check_text(s->reason, sizeof(s->reason), 1, "step reason");
	check((unsigned)s->result < UPLOAD_CONTROL_STEP_RESULT_LAST, "step result");
}

static void check_log(const struct upload_control_log *log)
{
	check(log->count <= LOG_RING_LINES, "too many log lines");
	for (size_t i = 0; i < log->count; i++) {
		check(log_text_valid(log->lines[i].text, sizeof(log->lines[i].text)), "log text");
		check((unsigned)log->lines[i].level < LOG_LEVEL_LAST, "log level");
		check(log->lines[i].seq > 0 &&
		              (i == 0 || log->lines[i].seq > log->lines[i - 1].seq),
		      "log order");
	}
}

static void fuzz_answer(const char *text, size_t size, struct upload_control_status *st,
                        struct upload_control_log *log)
{
	for (int k = 0; k < UPLOAD_CONTROL_KIND_LAST; k++) {
		struct upload_control_answer a;
		memset(&a, 0, sizeof(a));
		a.status = st;
		/* The log's lines are checked with storage and without. */
		a.log = (k == UPLOAD_CONTROL_KIND_LOG && (size & 1)) ? log : NULL;
		enum upload_control_error e =
		        upload_control_parse_answer((enum upload_control_kind)k, text, size, &a);
		check(e == UPLOAD_CONTROL_OK || e == UPLOAD_CONTROL_REFUSED ||
		              e == UPLOAD_CONTROL_BAD_ANSWER,
		      "answer result out of range");
		check(a.status == st, "status storage replaced");
		check(a.log == NULL || a.log == log, "log storage replaced");
		if (e == UPLOAD_CONTROL_REFUSED) {
			check(a.refusal.code[0] != '\0', "refusal without a code");
			check_text(a.refusal.code, sizeof(a.refusal.code), 0, "refusal code");
			check_text(a.refusal.message, sizeof(a.refusal.message), 1, "refusal text");
			check_text(a.refusal.state, sizeof(a.refusal.state), 0, "refusal state");
		}
		if (e != UPLOAD_CONTROL_OK)
			continue;
		switch ((enum upload_control_kind)k) {
		case UPLOAD_CONTROL_KIND_STATUS:
			check_status(st);
			break;
		case UPLOAD_CONTROL_KIND_DISCARD:
			check_id(a.discarded.id, 0, "discarded id");
			check(a.discarded.state == SPOOL_STATE_FAILED ||
			              a.discarded.state == SPOOL_STATE_QUARANTINE,
			      "discarded from a queue");
			check_text(a.discarded.error_class, sizeof(a.discarded.error_class), 0,
			           "discarded class");
			break;
		case UPLOAD_CONTROL_KIND_NETWORK_TEST:
			if (!a.final) {
				check_step(&a.step);
				break;
			}
			check(a.nettest.step_count == UPLOAD_CONTROL_STEPS, "step count");
			for (size_t i = 0; i < a.nettest.step_count; i++)
				check_step(&a.nettest.steps[i]);
			check(a.nettest.passed == (a.nettest.failed_step[0] == '\0'),
			      "passed and failed_step disagree");
			break;
		case UPLOAD_CONTROL_KIND_LOG:
			if (a.log)
				check_log(a.log);
			break;
		case UPLOAD_CONTROL_KIND_RESTART:
			check(a.pid > 0, "restart without a pid");
			break;
		case UPLOAD_CONTROL_KIND_RETRY_NOW:
		case UPLOAD_CONTROL_KIND_LAST:
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	/* An exact-size copy so ASan sees any read past the end. */
	char *text = malloc(size ? size : 1);
	struct upload_control_status *st = malloc(sizeof(*st));
	struct upload_control_log *log = malloc(sizeof(*log));
	check(text && st && log, "out of memory");
	if (size)
		memcpy(text, data, size);
	if (mode & 1) {
		fuzz_answer(text, size, st, log);
		fuzz_request(text, size);
	} else {
		fuzz_request(text, size);
		fuzz_answer(text, size, st, log);
	}
	/* The status file's parser reads the same documents as a status answer. */
	if (upload_control_parse_status_document(text, size, st) == UPLOAD_CONTROL_OK)
		check_status(st);
	free(log);
	free(st);
	free(text);
	return 0;
}
