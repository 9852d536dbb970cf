/*
 * maintenance_driver.c - a headless kiosk for tests/app/test_maintenance.py:
 * the maintenance model (kiosk/app/maintenance.h) with the configuration of
 * a test rig, the simulated scanner, and a customer's session, driven by one
 * command per line on stdin; each answer is one JSON line on stdout (the
 * network test prints a line per step as it arrives, then its result). The
 * kiosk's log goes to stderr as in the product.
 *
 *   maintenance_driver CONFIG WORKDIR
 *
 * Commands:
 *   open                     gesture, the PIN, the wipe: the menu (and its status)
 *   status                   a fresh status
 *   retry                    retry now, its result
 *   discard-request ID | discard-confirm | discard-cancel
 *   nettest [N]              the network test, step by step (cancelled after N steps)
 *   log                      the merged log
 *   restart-uploader         restart the uploader (two steps), its result
 *   customer CASE NAME BIRTH a customer types, scans one page and sends it
 *                            (the session stays until "open" wipes it)
 *   close | quit
 *
 * The PIN is made here (libsodium's INTERACTIVE level); its state file and
 * everything else of the driver's own lives in WORKDIR.
 */
#include <cjson/cJSON.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "container.h"
#include "log.h"
#include "maintenance.h"
#include "scan_service.h"
#include "session.h"
#include "spool.h"

#ifndef SCANKIOSK_VERSION
#define SCANKIOSK_VERSION "0"
#endif

#define PIN           "97531864"
#define WAIT_LIMIT_MS 90000

static int wake_fd = -1;

static void handle_notify(void *userdata)
{
	(void)userdata;
	uint64_t one = 1;
	if (write(wake_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		abort();
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits for a notification (at most 100 ms) and drains it. */
static void wait_wake(void)
{
	struct pollfd p = {.fd = wake_fd, .events = POLLIN};
	if (poll(&p, 1, 100) > 0) {
		uint64_t n;
		if (read(wake_fd, &n, sizeof(n)) < 0)
			return;
	}
}

struct driver {
	struct config conf;
	struct maintenance *m;
	struct scan_service *svc;
	struct session *session;
};

static void print(cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);
	if (text) {
		puts(text);
		fflush(stdout);
	}
	free(text);
	cJSON_Delete(o);
}

static void fail(const char *what)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", what);
	print(o);
}

/* Polls the model until done(m) holds; false after the limit. */
static bool run_until(struct driver *d, bool (*done)(struct driver *d))
{
	uint64_t end = mono_ms() + WAIT_LIMIT_MS;
	for (;;) {
		maintenance_poll(d->m);
		if (done(d))
			return true;
		if (mono_ms() > end)
			return false;
		wait_wake();
	}
}

static bool status_ready(struct driver *d)
{
	return !maintenance_status(d->m)->refreshing && maintenance_status(d->m)->refreshes > 0;
}

static bool not_checking(struct driver *d)
{
	return maintenance_state(d->m) != MAINTENANCE_CHECKING;
}

static bool queue_done(struct driver *d)
{
	return !maintenance_queue_result(d->m)->running;
}

static bool log_done(struct driver *d)
{
	return !maintenance_log(d->m)->running;
}

static bool power_done(struct driver *d)
{
	return maintenance_power_result(d->m)->done;
}

static const char *error_name(enum upload_control_error e)
{
	static const char *const names[UPLOAD_CONTROL_ERROR_LAST] = {
	        "ok",      "not_running", "permission", "timeout", "bad_answer",
	        "refused", "io",          "nomem",      "invalid",
	};
	return (unsigned)e < UPLOAD_CONTROL_ERROR_LAST ? names[e] : "unknown";
}

static cJSON *item_json(const struct maintenance_item *it)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", it->id);
	cJSON_AddStringToObject(o, "state", spool_state_name(it->state));
	cJSON_AddNumberToObject(o, "age_seconds", (double)it->age_seconds);
	cJSON_AddNumberToObject(o, "bytes", (double)it->bytes);
	cJSON_AddNumberToObject(o, "attempts", it->attempts);
	cJSON_AddStringToObject(o, "class", it->error_class);
	return o;
}

static void print_status(struct driver *d)
{
	const struct maintenance_status *st = maintenance_status(d->m);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "refreshes", st->refreshes);
	cJSON_AddStringToObject(o, "source", maintenance_source_name(st->upload_source));
	cJSON_AddBoolToObject(o, "uploader_running", st->uploader_running);
	cJSON_AddStringToObject(o, "socket_error", error_name(st->socket_error));
	cJSON_AddStringToObject(o, "file_error", error_name(st->file_error));
	cJSON_AddNumberToObject(o, "pid", (double)st->upload.pid);
	cJSON_AddStringToObject(o, "activity", st->upload.activity);
	cJSON *counts = cJSON_AddObjectToObject(o, "counts");
	for (int s = 0; s < SPOOL_STATE_LAST; s++)
		cJSON_AddNumberToObject(counts, spool_state_name((enum spool_state)s),
		                        st->upload.count[s]);
	cJSON_AddNumberToObject(o, "oldest_age_seconds", (double)st->upload.oldest_age_seconds);
	cJSON_AddNumberToObject(o, "last_success", (double)st->upload.last_success);
	cJSON_AddStringToObject(o, "last_error", st->upload.last_error);
	cJSON_AddNumberToObject(o, "upload_age_seconds", (double)st->upload_age_seconds);
	cJSON *queue = cJSON_AddArrayToObject(o, "queue");
	for (size_t i = 0; i < st->upload.queue_count; i++)
		cJSON_AddItemToArray(queue, cJSON_CreateString(st->upload.queue[i].id));
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	for (size_t i = 0; i < maintenance_item_count(d->m); i++)
		cJSON_AddItemToArray(items, item_json(maintenance_item(d->m, i)));
	cJSON_AddNumberToObject(o, "disk_error", st->disk_error);
	cJSON_AddNumberToObject(o, "disk_free_bytes", (double)st->disk_free_bytes);
	cJSON_AddNumberToObject(o, "disk_total_bytes", (double)st->disk_total_bytes);
	cJSON_AddStringToObject(o, "version", st->version);
	cJSON_AddNumberToObject(o, "system_uptime_seconds", (double)st->system_uptime_seconds);
	cJSON_AddNumberToObject(o, "kiosk_uptime_seconds", (double)st->kiosk_uptime_seconds);
	cJSON_AddBoolToObject(o, "has_scanner", st->has_scanner);
	cJSON_AddStringToObject(o, "scanner_state", scan_service_state_name(st->scanner.state));
	cJSON_AddStringToObject(o, "scanner_problem", scan_problem_name(st->scanner.problem));
	cJSON_AddStringToObject(o, "scanner_model", st->scanner.model);
	cJSON_AddStringToObject(o, "scanner_device", st->scanner.device);
	print(o);
}

static void cmd_open(struct driver *d)
{
	if (!maintenance_open_request(d->m)) {
		fail("open refused");
		return;
	}
	for (const char *c = PIN; *c; c++)
		maintenance_pin_append(d->m, *c);
	if (!maintenance_pin_submit(d->m) || !run_until(d, not_checking)) {
		fail("PIN check");
		return;
	}
	struct maintenance_pin_view v;
	maintenance_pin_view(d->m, &v);
	/* The UI's order: the scan stopped, the session wiped, then confirmed.
	 * A session that still holds a customer's data is refused first. */
	bool had_data = session_has_data(d->session);
	bool refused = had_data && !maintenance_confirm_wipe(d->m, d->session);
	session_wipe(d->session);
	bool opened = maintenance_confirm_wipe(d->m, d->session);
	if (opened && !run_until(d, status_ready)) {
		fail("status timeout");
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "pin", maintenance_pin_outcome_name(v.last));
	cJSON_AddBoolToObject(o, "had_data", had_data);
	cJSON_AddBoolToObject(o, "unwiped_refused", refused);
	cJSON_AddStringToObject(o, "state", maintenance_state_name(maintenance_state(d->m)));
	print(o);
}

static void cmd_status(struct driver *d)
{
	uint32_t before = maintenance_status(d->m)->refreshes;
	if (!maintenance_status_refresh(d->m)) {
		fail("refresh refused");
		return;
	}
	uint64_t end = mono_ms() + WAIT_LIMIT_MS;
	while (maintenance_status(d->m)->refreshing ||
	       maintenance_status(d->m)->refreshes == before) {
		if (mono_ms() > end) {
			fail("status timeout");
			return;
		}
		wait_wake();
		maintenance_poll(d->m);
	}
	print_status(d);
}

static void print_queue_result(struct driver *d)
{
	const struct maintenance_queue_result *r = maintenance_queue_result(d->m);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", error_name(r->error));
	cJSON_AddStringToObject(o, "refusal", r->refusal.code);
	cJSON_AddNumberToObject(o, "queued", r->queued);
	cJSON_AddStringToObject(o, "discarded_id", r->discarded.id);
	cJSON_AddStringToObject(o, "discarded_state",
	                        r->error == UPLOAD_CONTROL_OK && r->op == MAINTENANCE_QUEUE_DISCARD
	                                ? spool_state_name(r->discarded.state)
	                                : "");
	cJSON_AddStringToObject(o, "discarded_class", r->discarded.error_class);
	print(o);
}

static void cmd_queue(struct driver *d, const char *op, const char *arg)
{
	if (strcmp(op, "discard-request") == 0) {
		bool ok = arg && maintenance_discard_request(d->m, arg);
		const struct maintenance_item *it = maintenance_discard_pending(d->m);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "ok", ok);
		if (it)
			cJSON_AddItemToObject(o, "pending", item_json(it));
		print(o);
		return;
	}
	if (strcmp(op, "discard-cancel") == 0) {
		maintenance_discard_cancel(d->m);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddBoolToObject(o, "pending", maintenance_discard_pending(d->m) != NULL);
		print(o);
		return;
	}
	bool started = strcmp(op, "retry") == 0 ? maintenance_retry_now(d->m)
	                                        : maintenance_discard_confirm(d->m);
	if (!started) {
		fail("refused");
		return;
	}
	if (!run_until(d, queue_done)) {
		fail("timeout");
		return;
	}
	print_queue_result(d);
}

static cJSON *step_json(const struct upload_control_step *s)
{
	static const char *const results[] = {"ok", "failed", "skipped"};
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "result", (unsigned)s->result < 3 ? results[s->result] : "?");
	cJSON_AddStringToObject(o, "code", s->code);
	cJSON_AddStringToObject(o, "reason", s->reason);
	return o;
}

/* The network test; cancel_after > 0: cancelled once that many steps
 * arrived. */
static void cmd_nettest(struct driver *d, size_t cancel_after)
{
	if (!maintenance_nettest_start(d->m)) {
		fail("refused");
		return;
	}
	size_t shown = 0;
	uint64_t end = mono_ms() + WAIT_LIMIT_MS;
	struct maintenance_nettest nt;
	for (;;) {
		maintenance_poll(d->m);
		maintenance_nettest(d->m, &nt);
		/* Each step as the model has it, before the test ends. */
		while (!nt.done && shown < nt.step_count) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddItemToObject(o, "step", step_json(&nt.steps[shown++]));
			print(o);
		}
		if (cancel_after && nt.step_count >= cancel_after && nt.running) {
			maintenance_nettest_cancel(d->m);
			cancel_after = 0;
		}
		if (nt.done || mono_ms() > end)
			break;
		wait_wake();
	}
	cJSON *o = cJSON_CreateObject();
	cJSON *r = cJSON_AddObjectToObject(o, "nettest");
	cJSON_AddBoolToObject(r, "done", nt.done);
	cJSON_AddBoolToObject(r, "cancelled", nt.cancelled);
	cJSON_AddStringToObject(r, "error", error_name(nt.error));
	cJSON_AddBoolToObject(r, "passed", nt.passed);
	cJSON_AddStringToObject(r, "failed_step", nt.failed_step);
	cJSON *steps = cJSON_AddArrayToObject(r, "steps");
	for (size_t i = 0; i < nt.step_count; i++)
		cJSON_AddItemToArray(steps, step_json(&nt.steps[i]));
	print(o);
}

static void cmd_log(struct driver *d)
{
	if (!maintenance_log_refresh(d->m) || !run_until(d, log_done)) {
		fail("log");
		return;
	}
	const struct maintenance_log *log = maintenance_log(d->m);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "uploader_error", error_name(log->uploader_error));
	cJSON_AddNumberToObject(o, "kiosk_count", (double)log->kiosk_count);
	cJSON_AddNumberToObject(o, "uploader_count", (double)log->uploader_count);
	cJSON *lines = cJSON_AddArrayToObject(o, "lines");
	for (size_t i = 0; i < log->count; i++) {
		const struct maintenance_log_line *l = &log->lines[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "source",
		                        l->source == MAINTENANCE_LOG_KIOSK ? "kiosk" : "uploader");
		cJSON_AddNumberToObject(e, "seq", (double)l->entry.seq);
		cJSON_AddNumberToObject(e, "time", (double)l->entry.time_ms);
		cJSON_AddStringToObject(e, "text", l->entry.text);
		cJSON_AddItemToArray(lines, e);
	}
	print(o);
}

static void cmd_restart_uploader(struct driver *d)
{
	if (!maintenance_power_request(d->m, MAINTENANCE_RESTART_UPLOADER) ||
	    !maintenance_power_confirm(d->m) || !run_until(d, power_done)) {
		fail("restart");
		return;
	}
	const struct maintenance_power_result *r = maintenance_power_result(d->m);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", r->ok);
	cJSON_AddNumberToObject(o, "pid", (double)r->uploader_pid);
	cJSON_AddStringToObject(o, "error", r->error);
	print(o);
}

/* A customer: typed fields, one scanned page, sent. */
static void cmd_customer(struct driver *d, const char *case_number, const char *name,
                         const char *birth)
{
	uint8_t pk[CONTAINER_KEY_BYTES];
	struct spool *spool = NULL;
	if (!case_number || !name || !birth ||
	    container_load_key(d->conf.spool.public_key, pk) != CONTAINER_OK ||
	    spool_open(d->conf.spool.dir, NULL, &spool) != SPOOL_OK) {
		fail("customer setup");
		return;
	}
	session_wipe(d->session);
	struct session *s = d->session;
	bool ok = session_field_insert(s, SESSION_FIELD_CASE_NUMBER, case_number) == SESSION_OK &&
	          session_field_insert(s, SESSION_FIELD_NAME, name) == SESSION_OK &&
	          session_field_insert(s, SESSION_FIELD_BIRTH_DATE, birth) == SESSION_OK &&
	          session_set_category(s, "payslip") == SESSION_OK;
	for (int f = 0; ok && f < SESSION_FIELD_LAST; f++)
		ok = session_field_check(s, (enum session_field)f) == CASE_OK;
	uint64_t end = mono_ms() + WAIT_LIMIT_MS;
	struct scan_service_status st;
	do {
		scan_service_get_status(d->svc, &st);
		if (st.state != SCAN_SERVICE_READY)
			wait_wake();
	} while (ok && st.state != SCAN_SERVICE_READY && mono_ms() < end);
	ok = ok && scan_service_start(d->svc, SCAN_SERVICE_SOURCE_FLATBED, 1) > 0;
	bool finished = !ok;
	while (!finished && mono_ms() < end) {
		struct scan_service_event ev;
		while (scan_service_poll(d->svc, &ev)) {
			/* The UI asks the menu first; closed, it is the session's. */
			if (maintenance_scan_event(d->m, &ev))
				continue;
			if (ev.kind == SCAN_SERVICE_EVENT_PAGE_READY &&
			    session_page_add(s, ev.page_result) != SESSION_OK)
				ok = false;
			finished = finished || ev.kind == SCAN_SERVICE_EVENT_FINISHED;
		}
		if (!finished)
			wait_wake();
	}
	struct spool_receipt receipt = {0};
	ok = ok && session_page_count(s) == 1 &&
	     session_commit(s, spool, pk, &receipt) == SESSION_COMMIT_OK;
	spool_destroy(spool);
	if (!ok) {
		fail("customer");
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", receipt.id);
	cJSON_AddStringToObject(o, "reference", receipt.reference);
	print(o);
}

static void run(struct driver *d)
{
	char line[1024];
	while (fgets(line, sizeof(line), stdin)) {
		char *save = NULL;
		char *cmd = strtok_r(line, " \t\n", &save);
		char *a1 = strtok_r(NULL, "\t\n", &save);
		if (!cmd)
			continue;
		if (strcmp(cmd, "open") == 0) {
			cmd_open(d);
		} else if (strcmp(cmd, "status") == 0) {
			cmd_status(d);
		} else if (strcmp(cmd, "retry") == 0 || strncmp(cmd, "discard-", 8) == 0) {
			cmd_queue(d, cmd, a1);
		} else if (strcmp(cmd, "nettest") == 0) {
			cmd_nettest(d, a1 ? (size_t)strtoul(a1, NULL, 10) : 0);
		} else if (strcmp(cmd, "log") == 0) {
			cmd_log(d);
		} else if (strcmp(cmd, "restart-uploader") == 0) {
			cmd_restart_uploader(d);
		} else if (strcmp(cmd, "customer") == 0) {
			/* Fields are separated by tabs (a name has blanks). */
			char *a2 = a1 ? strtok_r(NULL, "\t\n", &save) : NULL;
			char *a3 = a2 ? strtok_r(NULL, "\t\n", &save) : NULL;
			cmd_customer(d, a1, a2, a3);
		} else if (strcmp(cmd, "close") == 0) {
			maintenance_close(d->m);
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "state",
			                        maintenance_state_name(maintenance_state(d->m)));
			print(o);
		} else if (strcmp(cmd, "quit") == 0) {
			break;
		} else {
			fail("unknown command");
		}
		explicit_bzero(line, sizeof(line));
	}
	explicit_bzero(line, sizeof(line));
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: maintenance_driver CONFIG WORKDIR\n");
		return 2;
	}
	int rc = 1;
	struct driver d = {0};
	char err[CONFIG_ERROR_MAX], hash[PIN_HASH_MAX], state[4096], device[4096];
	config_init(&d.conf);
	wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wake_fd < 0 || !config_load(&d.conf, argv[1], err) || sodium_init() < 0) {
		fprintf(stderr, "maintenance_driver: %s\n", wake_fd < 0 ? "eventfd" : err);
		goto out;
	}
	log_set_level(LOG_LEVEL_INFO);
	if (crypto_pwhash_str_alg(hash, PIN, strlen(PIN), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                          crypto_pwhash_MEMLIMIT_INTERACTIVE,
	                          crypto_pwhash_ALG_ARGON2ID13) != 0)
		goto out;
	snprintf(state, sizeof(state), "%s/pin-state", argv[2]);
	const char *pages = getenv("SCANKIOSK_PAGES_DIR");
	snprintf(device, sizeof(device), "sim:pages=%s/s01_payslip.png",
	         pages && *pages ? pages : "../shared/pages");

	struct scan_service_config scfg;
	scan_service_config_init(&scfg);
	scfg.device = device;
	scfg.options.dpi = 75;
	scfg.no_udev = true;
	d.svc = scan_service_create(&scfg, handle_notify, NULL);
	d.session = session_create(NULL);

	struct maintenance_config mcfg;
	maintenance_config_init(&mcfg);
	maintenance_config_apply(&mcfg, &d.conf);
	mcfg.pin_hash = hash;
	mcfg.pin_state = state;
	mcfg.version = SCANKIOSK_VERSION;
	mcfg.scanner = d.svc;
	char merr[MAINTENANCE_ERROR_MAX];
	d.m = d.svc && d.session ? maintenance_create(&mcfg, handle_notify, NULL, merr) : NULL;
	if (!d.m) {
		fprintf(stderr, "maintenance_driver: cannot start\n");
		goto out;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ready", maintenance_state_name(maintenance_state(d.m)));
	print(o);
	run(&d);
	rc = 0;
out:
	maintenance_destroy(d.m);
	session_destroy(d.session);
	scan_service_destroy(d.svc);
	config_finish(&d.conf);
	if (wake_fd >= 0)
		close(wake_fd);
	return rc;
}
