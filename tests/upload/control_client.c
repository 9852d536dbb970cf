/*
 * control_client.c - drives kiosk/core/upload_control.[ch] (the library the
 * maintenance menu calls) from the control socket tests, and prints what it
 * parsed as one JSON object on stdout, so a test checks the library's structs,
 * not a raw answer.
 *
 *   control_client SOCKET [--timeout MS]
 *                  status|retry-now|discard ID|network-test|log [N]|restart|status-file
 *
 * status-file reads SOCKET as the path of a status file instead
 * (upload_control_status_file()).
 * Output: {"error": "<class>", "refusal": {...}, "result": {...}, "streamed": [...]}
 * where class is ok, not_running, permission, timeout, bad_answer, refused, io,
 * nomem or invalid; streamed lists the network test's steps as they arrived.
 * Exit status 0 whenever the library returned, 2 on a usage error.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "spool.h"
#include "upload_control.h"

static const char *const error_names[UPLOAD_CONTROL_ERROR_LAST] = {
        [UPLOAD_CONTROL_OK] = "ok",
        [UPLOAD_CONTROL_NOT_RUNNING] = "not_running",
        [UPLOAD_CONTROL_PERMISSION] = "permission",
        [UPLOAD_CONTROL_TIMEOUT] = "timeout",
        [UPLOAD_CONTROL_BAD_ANSWER] = "bad_answer",
        [UPLOAD_CONTROL_REFUSED] = "refused",
        [UPLOAD_CONTROL_IO] = "io",
        [UPLOAD_CONTROL_NOMEM] = "nomem",
        [UPLOAD_CONTROL_INVALID] = "invalid",
};

static const char *const step_results[UPLOAD_CONTROL_STEP_RESULT_LAST] = {
        [UPLOAD_CONTROL_STEP_OK] = "ok",
        [UPLOAD_CONTROL_STEP_FAILED] = "failed",
        [UPLOAD_CONTROL_STEP_SKIPPED] = "skipped",
};

static cJSON *items_json(const struct upload_control_item *items, size_t count)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < count; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", items[i].id);
		cJSON_AddNumberToObject(o, "age_seconds", (double)items[i].age_seconds);
		cJSON_AddNumberToObject(o, "bytes", (double)items[i].bytes);
		cJSON_AddNumberToObject(o, "attempts", items[i].attempts);
		cJSON_AddNumberToObject(o, "next_due", (double)items[i].next_due);
		cJSON_AddStringToObject(o, "last_error", items[i].last_error);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *status_json(const struct upload_control_status *st)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "updated", (double)st->updated);
	cJSON_AddNumberToObject(o, "started", (double)st->started);
	cJSON_AddNumberToObject(o, "pid", (double)st->pid);
	cJSON_AddStringToObject(o, "activity", st->activity);
	cJSON *counts = cJSON_AddObjectToObject(o, "counts");
	cJSON *bytes = cJSON_AddObjectToObject(o, "bytes");
	for (int s = 0; s < SPOOL_STATE_LAST; s++) {
		const char *name = spool_state_name((enum spool_state)s);
		cJSON_AddNumberToObject(counts, name, st->count[s]);
		cJSON_AddNumberToObject(bytes, name, (double)st->bytes[s]);
	}
	cJSON_AddNumberToObject(o, "oldest_age_seconds", (double)st->oldest_age_seconds);
	cJSON_AddNumberToObject(o, "last_success", (double)st->last_success);
	cJSON_AddNumberToObject(o, "last_attempt", (double)st->last_attempt);
	cJSON_AddStringToObject(o, "last_outcome", st->last_outcome);
	cJSON_AddStringToObject(o, "last_error", st->last_error);
	cJSON_AddNumberToObject(o, "last_error_time", (double)st->last_error_time);
	cJSON_AddNumberToObject(o, "next_attempt", (double)st->next_attempt);
	cJSON_AddNumberToObject(o, "bytes_sent", (double)st->bytes_sent);
	cJSON *uploads = cJSON_AddObjectToObject(o, "uploads");
	for (size_t i = 0; i < st->upload_count; i++)
		cJSON_AddNumberToObject(uploads, st->uploads[i].name, (double)st->uploads[i].count);
	cJSON_AddItemToObject(o, "queue", items_json(st->queue, st->queue_count));
	cJSON_AddItemToObject(o, "failed", items_json(st->failed, st->failed_count));
	cJSON_AddItemToObject(o, "quarantine", items_json(st->quarantine, st->quarantine_count));
	return o;
}

static cJSON *step_json(const struct upload_control_step *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "result", step_results[s->result]);
	cJSON_AddStringToObject(o, "code", s->code);
	cJSON_AddStringToObject(o, "reason", s->reason);
	cJSON_AddNumberToObject(o, "ms", s->ms);
	return o;
}

static bool handle_step(const struct upload_control_step *step, void *ctx)
{
	cJSON_AddItemToArray(ctx, step_json(step));
	return true;
}

static int usage(void)
{
	fputs("usage: control_client SOCKET [--timeout MS] "
	      "status|retry-now|discard ID|network-test|log [N]|restart|status-file\n",
	      stderr);
	return 2;
}

static cJSON *log_json(const struct upload_control_log *log)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "omitted", log->omitted);
	cJSON *lines = cJSON_AddArrayToObject(o, "lines");
	for (size_t i = 0; i < log->count; i++) {
		cJSON *l = cJSON_CreateObject();
		cJSON_AddNumberToObject(l, "seq", (double)log->lines[i].seq);
		cJSON_AddNumberToObject(l, "time", (double)log->lines[i].time_ms);
		cJSON_AddStringToObject(l, "level", log_level_name(log->lines[i].level));
		cJSON_AddStringToObject(l, "text", log->lines[i].text);
		cJSON_AddItemToArray(lines, l);
	}
	return o;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	const char *path = argv[1];
	int i = 2, timeout = 0;
	if (strcmp(argv[i], "--timeout") == 0) {
		if (argc < 5)
			return usage();
		char *end = NULL;
		errno = 0;
		long v = strtol(argv[i + 1], &end, 10);
		if (errno || end == argv[i + 1] || *end || v < 0 || v > 600000)
			return usage();
		timeout = (int)v;
		i += 2;
	}
	const char *op = argv[i++];
	struct upload_control_refusal refusal;
	memset(&refusal, 0, sizeof(refusal));
	enum upload_control_error e;
	cJSON *out = cJSON_CreateObject();
	cJSON *result = NULL;

	if (strcmp(op, "status") == 0 && i == argc) {
		struct upload_control_status *st = NULL;
		e = upload_control_status(path, timeout, &st, &refusal);
		if (st)
			result = status_json(st);
		upload_control_status_destroy(st);
	} else if (strcmp(op, "retry-now") == 0 && i == argc) {
		uint32_t queued = 0;
		e = upload_control_retry_now(path, timeout, &queued, &refusal);
		result = cJSON_CreateObject();
		cJSON_AddNumberToObject(result, "queued", queued);
	} else if (strcmp(op, "discard") == 0 && i + 1 == argc) {
		struct upload_control_discarded d;
		e = upload_control_discard(path, timeout, argv[i], &d, &refusal);
		if (e == UPLOAD_CONTROL_OK) {
			result = cJSON_CreateObject();
			cJSON_AddStringToObject(result, "id", d.id);
			cJSON_AddStringToObject(result, "state", spool_state_name(d.state));
			cJSON_AddStringToObject(result, "class", d.error_class);
		}
	} else if (strcmp(op, "network-test") == 0 && i == argc) {
		struct upload_control_nettest nt;
		cJSON *streamed = cJSON_AddArrayToObject(out, "streamed");
		e = upload_control_network_test(path, timeout, handle_step, streamed, &nt,
		                                &refusal);
		if (e == UPLOAD_CONTROL_OK) {
			result = cJSON_CreateObject();
			cJSON_AddBoolToObject(result, "passed", nt.passed);
			cJSON_AddStringToObject(result, "failed_step", nt.failed_step);
			cJSON_AddNumberToObject(result, "ms", nt.ms);
			cJSON *steps = cJSON_AddArrayToObject(result, "steps");
			for (size_t s = 0; s < nt.step_count; s++)
				cJSON_AddItemToArray(steps, step_json(&nt.steps[s]));
		}
	} else if (strcmp(op, "log") == 0 && (i == argc || i + 1 == argc)) {
		struct upload_control_log *log = NULL;
		uint32_t lines = i < argc ? (uint32_t)strtoul(argv[i], NULL, 10) : 0;
		e = upload_control_log(path, timeout, lines, &log, &refusal);
		if (log)
			result = log_json(log);
		upload_control_log_destroy(log);
	} else if (strcmp(op, "restart") == 0 && i == argc) {
		int64_t pid = 0;
		e = upload_control_restart(path, timeout, &pid, &refusal);
		result = cJSON_CreateObject();
		cJSON_AddNumberToObject(result, "pid", (double)pid);
	} else if (strcmp(op, "status-file") == 0 && i == argc) {
		struct upload_control_status *st = NULL;
		e = upload_control_status_file(path, &st);
		if (st)
			result = status_json(st);
		upload_control_status_destroy(st);
	} else {
		cJSON_Delete(out);
		return usage();
	}
	cJSON_AddStringToObject(out, "error", error_names[e]);
	cJSON_AddStringToObject(out, "text", upload_control_strerror(e));
	if (e == UPLOAD_CONTROL_REFUSED) {
		cJSON *r = cJSON_AddObjectToObject(out, "refusal");
		cJSON_AddStringToObject(r, "code", refusal.code);
		cJSON_AddStringToObject(r, "message", refusal.message);
		cJSON_AddStringToObject(r, "state", refusal.state);
	}
	if (result)
		cJSON_AddItemToObject(out, "result", result);
	char *text = cJSON_PrintUnformatted(out);
	if (text)
		puts(text);
	free(text);
	cJSON_Delete(out);
	return 0;
}
