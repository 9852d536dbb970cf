/*
 * kiosk_metrics_driver.c - a headless kiosk for tests/monitoring/test_monitoring.py:
 * the kiosk's metrics (kiosk/app/kiosk_metrics.h) on the configuration's
 * [metrics] kiosk_textfile, fed as ui.c feeds them: every scan service event
 * first, and each committed submission.
 *
 *   kiosk_metrics_driver CONFIG CASE NAME BIRTH
 *
 * With the simulated scanner (SCANKIOSK_PAGES_DIR's first page, two sheets in
 * the feeder, the third page scanned jams): a customer types CASE, NAME and
 * BIRTH, scans one page on the glass and sends it into the configuration's
 * spool; then a feeder scan jams on its second sheet, and one more finds the
 * feeder empty. Prints one JSON line (the submission's id, the jobs and pages
 * seen) and exits 0 once the metrics' last write is done; 1 on any failure.
 */
#include <cjson/cJSON.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "container.h"
#include "kiosk_metrics.h"
#include "log.h"
#include "scan_service.h"
#include "session.h"
#include "spool.h"

#ifndef SCANKIOSK_VERSION
#define SCANKIOSK_VERSION "0"
#endif

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

static void wait_wake(void)
{
	struct pollfd p = {.fd = wake_fd, .events = POLLIN};
	if (poll(&p, 1, 100) > 0) {
		uint64_t n;
		if (read(wake_fd, &n, sizeof(n)) < 0)
			return;
	}
}

struct kiosk {
	struct scan_service *svc;
	struct kiosk_metrics *km;
	struct session *session;
	bool keep_pages; /* the running job's pages go to the session */
	unsigned jobs, pages;
};

/* As ui.c's pump_scan: the metrics see every event first. Returns true when
 * job's FINISHED came (its problem in *problem). */
static bool pump(struct kiosk *k, uint32_t job, enum scan_problem *problem)
{
	bool finished = false;
	struct scan_service_event ev;
	while (scan_service_poll(k->svc, &ev)) {
		kiosk_metrics_scan_event(k->km, &ev);
		if (ev.kind == SCAN_SERVICE_EVENT_PAGE_READY) {
			k->pages++;
			if (ev.job == job && k->keep_pages) {
				/* The session owns it, kept or refused (then zeroed). */
				(void)session_page_add(k->session, ev.page_result);
				ev.page_result = NULL;
			}
		} else if (ev.kind == SCAN_SERVICE_EVENT_FINISHED && ev.job == job) {
			k->jobs++;
			*problem = ev.problem;
			finished = true;
		}
		scan_service_event_discard(&ev);
	}
	return finished;
}

static bool wait_ready(struct kiosk *k)
{
	uint64_t end = mono_ms() + WAIT_LIMIT_MS;
	for (;;) {
		enum scan_problem ignored;
		pump(k, 0, &ignored);
		struct scan_service_status st;
		scan_service_get_status(k->svc, &st);
		if (st.state == SCAN_SERVICE_READY)
			return true;
		if (mono_ms() > end)
			return false;
		wait_wake();
	}
}

/* One job to its end; SCAN_PROBLEM_LAST when it could not start or hung. */
static enum scan_problem scan(struct kiosk *k, enum scan_service_source source)
{
	if (!wait_ready(k))
		return SCAN_PROBLEM_LAST;
	uint32_t job = scan_service_start(k->svc, source, SCAN_SERVICE_UNLIMITED);
	if (!job)
		return SCAN_PROBLEM_LAST;
	uint64_t end = mono_ms() + WAIT_LIMIT_MS;
	enum scan_problem problem = SCAN_PROBLEM_LAST;
	while (!pump(k, job, &problem)) {
		if (mono_ms() > end)
			return SCAN_PROBLEM_LAST;
		wait_wake();
	}
	return problem;
}

static bool customer(struct kiosk *k, const struct config *conf, const char *case_number,
                     const char *name, const char *birth, struct spool_receipt *receipt)
{
	uint8_t pk[CONTAINER_KEY_BYTES];
	struct spool *spool = NULL;
	bool ok = false;
	if (container_load_key(conf->spool.public_key, pk) != CONTAINER_OK ||
	    spool_open(conf->spool.dir, NULL, &spool) != SPOOL_OK)
		goto out;
	struct session *s = k->session;
	ok = session_field_insert(s, SESSION_FIELD_CASE_NUMBER, case_number) == SESSION_OK &&
	     session_field_insert(s, SESSION_FIELD_NAME, name) == SESSION_OK &&
	     session_field_insert(s, SESSION_FIELD_BIRTH_DATE, birth) == SESSION_OK &&
	     session_set_category(s, "payslip") == SESSION_OK;
	for (int f = 0; ok && f < SESSION_FIELD_LAST; f++)
		ok = session_field_check(s, (enum session_field)f) == CASE_OK;
	k->keep_pages = true;
	ok = ok && scan(k, SCAN_SERVICE_SOURCE_FLATBED) == SCAN_PROBLEM_NONE;
	k->keep_pages = false;
	ok = ok && session_page_count(s) == 1 &&
	     session_commit(s, spool, pk, receipt) == SESSION_COMMIT_OK;
	if (ok)
		kiosk_metrics_submission_committed(k->km);
out:
	session_wipe(k->session);
	spool_destroy(spool);
	return ok;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: kiosk_metrics_driver CONFIG CASE NAME BIRTH\n");
		return 2;
	}
	int rc = 1;
	struct config conf;
	struct kiosk k = {0};
	char err[CONFIG_ERROR_MAX], kerr[KIOSK_METRICS_ERROR_MAX], device[4096];
	config_init(&conf);
	wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wake_fd < 0 || !config_load(&conf, argv[1], err)) {
		fprintf(stderr, "kiosk_metrics_driver: %s\n", wake_fd < 0 ? "eventfd" : err);
		goto out;
	}
	log_set_level(LOG_LEVEL_INFO);
	k.km = kiosk_metrics_create(conf.kiosk_textfile, SCANKIOSK_VERSION, kerr);
	if (!k.km) {
		fprintf(stderr, "kiosk_metrics_driver: no metrics: %s\n",
		        kerr[0] ? kerr : "no [metrics] kiosk_textfile");
		goto out;
	}
	const char *pages = getenv("SCANKIOSK_PAGES_DIR");
	/* The glass gives page 1, the feeder pages 2 and 3; page 3 jams. */
	snprintf(device, sizeof(device),
	         "sim:pages=%s/s01_payslip.png;feeder=2;jam-after-lines=10;fault-page=3",
	         pages && *pages ? pages : "../shared/pages");
	struct scan_service_config scfg;
	scan_service_config_init(&scfg);
	scfg.device = device;
	scfg.options.dpi = 75;
	scfg.no_udev = true;
	k.svc = scan_service_create(&scfg, handle_notify, NULL);
	k.session = session_create(NULL);
	if (!k.svc || !k.session)
		goto out;

	struct spool_receipt receipt = {0};
	if (!customer(&k, &conf, argv[2], argv[3], argv[4], &receipt)) {
		fprintf(stderr, "kiosk_metrics_driver: the customer's submission failed\n");
		goto out;
	}
	enum scan_problem jam = scan(&k, SCAN_SERVICE_SOURCE_FEEDER);
	enum scan_problem empty = scan(&k, SCAN_SERVICE_SOURCE_FEEDER);
	if (jam != SCAN_PROBLEM_JAMMED || empty != SCAN_PROBLEM_FEEDER_EMPTY) {
		fprintf(stderr, "kiosk_metrics_driver: feeder scans ended %s and %s\n",
		        scan_problem_name(jam), scan_problem_name(empty));
		goto out;
	}
	/* The last write, with everything above. */
	kiosk_metrics_destroy(k.km);
	k.km = NULL;

	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", receipt.id);
	cJSON_AddNumberToObject(o, "jobs", k.jobs);
	cJSON_AddNumberToObject(o, "pages", k.pages);
	char *text = cJSON_PrintUnformatted(o);
	if (text)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(o);
	rc = text ? 0 : 1;
out:
	kiosk_metrics_destroy(k.km);
	session_destroy(k.session);
	scan_service_destroy(k.svc);
	config_finish(&conf);
	if (wake_fd >= 0)
		close(wake_fd);
	return rc;
}
