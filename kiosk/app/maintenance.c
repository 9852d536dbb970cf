/*
 * maintenance.c - the maintenance menu's model (see maintenance.h).
 *
 * Workers: one thread per task while it runs, at most one per kind (a PIN
 * check, a status refresh, a queue action, the network test, a log read, a
 * restart or reboot). A task's inputs and outputs live in its slot; the
 * worker owns the slot until it sets done, then maintenance_poll() joins it
 * and takes the result over. Each task remembers the visit it was started
 * in: when the menu was closed meanwhile (visit counted up), its result is
 * zeroed and dropped. The network test's steps arrive while it runs, under
 * the model's lock.
 */
#include "maintenance.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "maint_system.h"
#include "scanner_settings.h"

static const char *const state_names[MAINTENANCE_STATE_LAST] = {
        [MAINTENANCE_CLOSED] = "closed",     [MAINTENANCE_PIN] = "pin",
        [MAINTENANCE_CHECKING] = "checking", [MAINTENANCE_WIPE] = "wipe",
        [MAINTENANCE_OPEN] = "open",
};

static const char *const outcome_names[MAINTENANCE_PIN_OUTCOME_LAST] = {
        [MAINTENANCE_PIN_NONE] = "none",     [MAINTENANCE_PIN_ACCEPTED] = "accepted",
        [MAINTENANCE_PIN_WRONG] = "wrong",   [MAINTENANCE_PIN_WAIT] = "wait",
        [MAINTENANCE_PIN_LOCKED] = "locked", [MAINTENANCE_PIN_MALFORMED] = "malformed",
        [MAINTENANCE_PIN_ERROR] = "error",
};

static const char *const source_names[MAINTENANCE_SOURCE_LAST] = {
        [MAINTENANCE_SOURCE_NONE] = "none",
        [MAINTENANCE_SOURCE_SOCKET] = "socket",
        [MAINTENANCE_SOURCE_FILE] = "file",
};

static const char *const power_names[MAINTENANCE_POWER_LAST] = {
        [MAINTENANCE_RESTART_UPLOADER] = "restart-uploader",
        [MAINTENANCE_RESTART_KIOSK] = "restart-kiosk",
        [MAINTENANCE_REBOOT] = "reboot",
};

static const char *const task_names[MAINTENANCE_TASK_LAST] = {
        [MAINTENANCE_TASK_PIN] = "pin",
        [MAINTENANCE_TASK_STATUS] = "status",
        [MAINTENANCE_TASK_QUEUE] = "queue",
        [MAINTENANCE_TASK_NETTEST] = "network-test",
        [MAINTENANCE_TASK_LOG] = "log",
        [MAINTENANCE_TASK_POWER] = "power",
        [MAINTENANCE_TASK_SETTINGS] = "scanner-settings",
};

const char *maintenance_state_name(enum maintenance_state state)
{
	return (unsigned)state < MAINTENANCE_STATE_LAST ? state_names[state] : "unknown";
}

const char *maintenance_pin_outcome_name(enum maintenance_pin_outcome outcome)
{
	return (unsigned)outcome < MAINTENANCE_PIN_OUTCOME_LAST ? outcome_names[outcome]
	                                                        : "unknown";
}

const char *maintenance_source_name(enum maintenance_source source)
{
	return (unsigned)source < MAINTENANCE_SOURCE_LAST ? source_names[source] : "unknown";
}

const char *maintenance_power_name(enum maintenance_power what)
{
	return (unsigned)what < MAINTENANCE_POWER_LAST ? power_names[what] : "unknown";
}

struct maintenance;

/* One kind of work; see the top of the file. */
struct task {
	enum maintenance_task kind;
	struct maintenance *m;
	bool started; /* a thread was started and not joined yet (UI thread's flag) */
	pthread_t thread;
	atomic_bool done;
	uint64_t visit;

	/* In. */
	char pin[PIN_MAX_DIGITS + 1];
	size_t pin_len;
	enum maintenance_queue_op queue_op;
	char id[UPLOAD_CONTROL_ID_MAX];
	enum maintenance_power power;
	struct maintenance_scanner_settings settings;

	/* Out. */
	enum pin_result pin_result;
	struct maintenance_status *status;
	struct maintenance_queue_result queue;
	struct maintenance_log *log;
	struct maintenance_power_result power_result;
	bool settings_saved;
	char settings_error[CONFIG_ERROR_MAX];
};

struct maintenance {
	/* Configuration, copied; read by workers, never changed. */
	char *pin_state;
	char *control_socket;
	char *status_file;
	char *spool_dir;
	char *settings_path; /* [scanner] settings; NULL: not kept */
	char version[MAINTENANCE_VERSION_MAX];
	uint32_t idle_close_s;
	bool have_pin;
	struct scan_service *scanner;
	struct maintenance_hooks hooks;
	void (*notify)(void *userdata);
	void *userdata;
	struct pin_guard *guard;

	/* The UI thread's. */
	enum maintenance_state state;
	uint64_t offset_ms;
	uint64_t last_touch_ms;
	unsigned pending_changes; /* reported by the next poll */
	int exit_status;
	bool told_no_pin;
	bool refresh_again; /* a refresh was asked for while one ran */

	char pin[PIN_MAX_DIGITS + 1];
	size_t pin_len;
	enum maintenance_pin_outcome pin_last;

	struct maintenance_status *status;
	struct maintenance_item *items;
	size_t item_count;
	struct maintenance_queue_result queue;
	bool discard_pending;
	struct maintenance_item discard;
	struct maintenance_log *log;
	enum maintenance_power power_pending;
	struct maintenance_power_result power;

	uint32_t test_job;
	bool test_running;
	enum scan_problem test_problem;
	unsigned test_pages;
	struct scan_page *test_page;

	struct maintenance_devices devices;
	uint32_t devices_generation; /* the scan service's listing that answers ours */
	struct maintenance_settings_result settings;

	struct task tasks[MAINTENANCE_TASK_LAST];

	/* Shared with the workers, under lock: the visit, the network test. */
	pthread_mutex_t lock;
	uint64_t visit;
	struct maintenance_nettest nettest;
	int nt_cancel_fd;
};

/* ---- small things --------------------------------------------------------------------------- */

static char *copy_string(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

static uint64_t now_ms(const struct maintenance *m)
{
	uint64_t t;
	if (m->hooks.now_ms) {
		t = m->hooks.now_ms(m->hooks.ctx);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_BOOTTIME, &ts);
		t = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	}
	return t + m->offset_ms;
}

static void released(struct maintenance *m, const void *buf, size_t len)
{
	if (m->hooks.released)
		m->hooks.released(m->hooks.ctx, buf, len);
}

static void zero_pin(struct maintenance *m)
{
	explicit_bzero(m->pin, sizeof(m->pin));
	released(m, m->pin, sizeof(m->pin));
	m->pin_len = 0;
}

static void set_state(struct maintenance *m, enum maintenance_state to)
{
	if (m->state == to)
		return;
	log_info("maintenance: %s -> %s", maintenance_state_name(m->state),
	         maintenance_state_name(to));
	m->state = to;
	m->pending_changes |= MAINTENANCE_CHANGED_STATE;
}

static uint64_t idle_limit_ms(const struct maintenance *m)
{
	uint32_t s = m->idle_close_s;
	if (m->state != MAINTENANCE_OPEN && s > MAINTENANCE_PIN_IDLE_S)
		s = MAINTENANCE_PIN_IDLE_S;
	return (uint64_t)s * 1000;
}

static void free_status(struct maintenance_status *st)
{
	if (!st)
		return;
	explicit_bzero(st, sizeof(*st));
	free(st);
}

static void free_log(struct maintenance_log *log)
{
	if (!log)
		return;
	explicit_bzero(log, sizeof(*log));
	free(log);
}

static void discard_test_page(struct maintenance *m)
{
	struct scan_page *p = m->test_page;
	if (!p)
		return;
	m->test_page = NULL;
	size_t thumb = (size_t)p->thumb_width * p->thumb_height * 3;
	if (p->jpeg) {
		explicit_bzero(p->jpeg, p->facts.bytes);
		released(m, p->jpeg, p->facts.bytes);
	}
	if (p->thumb) {
		explicit_bzero(p->thumb, thumb);
		released(m, p->thumb, thumb);
	}
	scan_page_destroy(p);
	m->pending_changes |= MAINTENANCE_CHANGED_SCAN;
}

/* ---- workers -------------------------------------------------------------------------------- */

static void notify(struct maintenance *m)
{
	if (m->notify)
		m->notify(m->userdata);
}

static void run_pin(struct task *t)
{
	struct maintenance *m = t->m;
	t->pin_result = pin_check(m->guard, t->pin, t->pin_len);
	/* pin_check() zeroed it; once more, and show it to the test hook. */
	explicit_bzero(t->pin, sizeof(t->pin));
	released(m, t->pin, sizeof(t->pin));
	t->pin_len = 0;
}

static void run_status(struct task *t)
{
	struct maintenance *m = t->m;
	struct maintenance_status *st = calloc(1, sizeof(*st));
	t->status = st;
	if (!st)
		return;
	struct upload_control_status *up = NULL;
	st->socket_error =
	        m->control_socket
	                ? upload_control_status(m->control_socket,
	                                        UPLOAD_CONTROL_DEFAULT_TIMEOUT_MS, &up, NULL)
	                : UPLOAD_CONTROL_INVALID;
	if (st->socket_error == UPLOAD_CONTROL_OK) {
		st->upload_source = MAINTENANCE_SOURCE_SOCKET;
		st->uploader_running = true;
	} else {
		st->file_error = m->status_file ? upload_control_status_file(m->status_file, &up)
		                                : UPLOAD_CONTROL_INVALID;
		if (st->file_error == UPLOAD_CONTROL_OK)
			st->upload_source = MAINTENANCE_SOURCE_FILE;
	}
	if (up) {
		st->upload = *up;
		upload_control_status_destroy(up);
	}
	st->disk_error =
	        maint_disk_space(m->spool_dir, &st->disk_free_bytes, &st->disk_total_bytes);
	st->system_uptime_seconds = maint_system_uptime();
	st->kiosk_uptime_seconds = maint_process_uptime();
	st->read_at = (int64_t)time(NULL);
	if (st->upload_source != MAINTENANCE_SOURCE_NONE)
		st->upload_age_seconds = st->read_at - st->upload.updated;
	memcpy(st->version, m->version, sizeof(st->version));
}

static void run_queue(struct task *t)
{
	struct maintenance *m = t->m;
	struct maintenance_queue_result *r = &t->queue;
	memset(r, 0, sizeof(*r));
	r->op = t->queue_op;
	if (!m->control_socket) {
		r->error = UPLOAD_CONTROL_INVALID;
		log_warning("maintenance: no control socket configured");
		return;
	}
	if (t->queue_op == MAINTENANCE_QUEUE_RETRY_NOW) {
		r->error = upload_control_retry_now(m->control_socket,
		                                    UPLOAD_CONTROL_DEFAULT_TIMEOUT_MS, &r->queued,
		                                    &r->refusal);
		if (r->error == UPLOAD_CONTROL_OK)
			log_info("maintenance: retry now: %u queued submissions due now",
			         r->queued);
		else
			log_warning("maintenance: retry now failed: %s",
			            upload_control_strerror(r->error));
		return;
	}
	r->error = upload_control_discard(m->control_socket, UPLOAD_CONTROL_DEFAULT_TIMEOUT_MS,
	                                  t->id, &r->discarded, &r->refusal);
	if (r->error == UPLOAD_CONTROL_OK)
		log_info("maintenance: submission %s discarded from %s/ (class %s)",
		         r->discarded.id, spool_state_name(r->discarded.state),
		         r->discarded.error_class[0] ? r->discarded.error_class : "none");
	else if (r->error == UPLOAD_CONTROL_REFUSED)
		log_warning("maintenance: discard of submission %s refused: %s", t->id,
		            r->refusal.code);
	else
		log_warning("maintenance: discard of submission %s failed: %s", t->id,
		            upload_control_strerror(r->error));
}

static bool handle_step(const struct upload_control_step *step, void *ctx)
{
	struct task *t = ctx;
	struct maintenance *m = t->m;
	pthread_mutex_lock(&m->lock);
	if (t->visit == m->visit && m->nettest.step_count < UPLOAD_CONTROL_STEPS)
		m->nettest.steps[m->nettest.step_count++] = *step;
	pthread_mutex_unlock(&m->lock);
	notify(m);
	return true;
}

static void run_nettest(struct task *t)
{
	struct maintenance *m = t->m;
	struct upload_control_nettest result;
	struct upload_control_refusal refusal;
	memset(&result, 0, sizeof(result));
	memset(&refusal, 0, sizeof(refusal));
	enum upload_control_error e =
	        m->control_socket ? upload_control_network_test_cancellable(
	                                    m->control_socket, UPLOAD_CONTROL_NETTEST_TIMEOUT_MS,
	                                    m->nt_cancel_fd, handle_step, t, &result, &refusal)
	                          : UPLOAD_CONTROL_INVALID;
	if (e != UPLOAD_CONTROL_OK)
		log_warning("maintenance: network test not run: %s%s%s", upload_control_strerror(e),
		            e == UPLOAD_CONTROL_REFUSED ? ": " : "",
		            e == UPLOAD_CONTROL_REFUSED ? refusal.code : "");
	else if (result.stopped)
		log_info("maintenance: network test cancelled after %zu steps", result.step_count);
	else if (result.passed)
		log_info("maintenance: network test passed (%u ms)", result.ms);
	else
		log_info("maintenance: network test failed at %s", result.failed_step);

	pthread_mutex_lock(&m->lock);
	if (t->visit == m->visit) {
		struct maintenance_nettest *nt = &m->nettest;
		nt->running = false;
		nt->done = true;
		nt->error = e;
		nt->refusal = refusal;
		if (e == UPLOAD_CONTROL_OK && result.stopped) {
			nt->cancelled = true;
		} else if (e == UPLOAD_CONTROL_OK) {
			nt->passed = result.passed;
			memcpy(nt->failed_step, result.failed_step, sizeof(nt->failed_step));
			memcpy(nt->steps, result.steps, sizeof(nt->steps));
			nt->step_count = result.step_count;
		}
	}
	pthread_mutex_unlock(&m->lock);
}

/* Merges a and b (each in its own order) by time; a first at equal times. */
static void merge_log(struct maintenance_log *log, const struct log_ring_entry *a, size_t na,
                      const struct upload_control_log *b)
{
	size_t nb = b ? b->count : 0, i = 0, k = 0;
	while ((i < na || k < nb) && log->count < MAINTENANCE_LOG_LINES) {
		struct maintenance_log_line *l = &log->lines[log->count++];
		if (k >= nb || (i < na && a[i].time_ms <= b->lines[k].time_ms)) {
			l->source = MAINTENANCE_LOG_KIOSK;
			l->entry = a[i++];
		} else {
			l->source = MAINTENANCE_LOG_UPLOADER;
			l->entry = b->lines[k++];
		}
	}
}

static void run_log(struct task *t)
{
	struct maintenance *m = t->m;
	struct maintenance_log *log = calloc(1, sizeof(*log));
	struct log_ring_entry *own = calloc(LOG_RING_LINES, sizeof(*own));
	struct upload_control_log *up = NULL;
	t->log = log;
	if (!log || !own)
		goto out;
	size_t n = log_ring_copy(own, LOG_RING_LINES);
	log->uploader_error =
	        m->control_socket
	                ? upload_control_log(m->control_socket, UPLOAD_CONTROL_DEFAULT_TIMEOUT_MS,
	                                     0, &up, NULL)
	                : UPLOAD_CONTROL_INVALID;
	log->kiosk_count = n;
	log->uploader_count = up ? up->count : 0;
	log->uploader_omitted = up ? up->omitted : 0;
	merge_log(log, own, n, up);
out:
	if (own) {
		explicit_bzero(own, LOG_RING_LINES * sizeof(*own));
		free(own);
	}
	upload_control_log_destroy(up);
}

static void run_power(struct task *t)
{
	struct maintenance *m = t->m;
	struct maintenance_power_result *r = &t->power_result;
	memset(r, 0, sizeof(*r));
	r->what = t->power;
	if (t->power == MAINTENANCE_RESTART_UPLOADER) {
		struct upload_control_refusal refusal;
		enum upload_control_error e =
		        m->control_socket
		                ? upload_control_restart(m->control_socket,
		                                         UPLOAD_CONTROL_DEFAULT_TIMEOUT_MS,
		                                         &r->uploader_pid, &refusal)
		                : UPLOAD_CONTROL_INVALID;
		r->ok = e == UPLOAD_CONTROL_OK;
		if (r->ok) {
			log_info("maintenance: the uploader (pid %lld) restarts",
			         (long long)r->uploader_pid);
		} else {
			snprintf(r->error, sizeof(r->error), "%s%s%s", upload_control_strerror(e),
			         e == UPLOAD_CONTROL_REFUSED ? ": " : "",
			         e == UPLOAD_CONTROL_REFUSED ? refusal.message : "");
			log_warning("maintenance: restarting the uploader failed: %s", r->error);
		}
		return;
	}
	static const struct maintenance_bus_call reboot = {
	        .destination = "org.freedesktop.login1",
	        .path = "/org/freedesktop/login1",
	        .interface = "org.freedesktop.login1.Manager",
	        .member = "Reboot",
	        .argument = false,
	};
	r->ok = m->hooks.bus_call ? m->hooks.bus_call(m->hooks.ctx, &reboot, r->error)
	                          : maintenance_bus_call_system(&reboot, r->error);
	if (r->ok)
		log_info("maintenance: reboot asked of systemd-logind");
	else
		log_error("maintenance: reboot failed: %s", r->error);
}

/* Writes the settings the scan service took to [scanner] settings. */
static void run_settings(struct task *t)
{
	struct maintenance *m = t->m;
	const struct maintenance_scanner_settings *in = &t->settings;
	struct scanner_settings_values values = {
	        .device = in->device,
	        .source = in->source,
	        .dpi = in->dpi,
	        .mode = in->mode,
	};
	t->settings_error[0] = '\0';
	t->settings_saved = scanner_settings_save(m->settings_path, &values, t->settings_error);
	if (t->settings_saved)
		log_info("maintenance: scanner settings saved to %s", m->settings_path);
	else
		log_error("maintenance: scanner settings not saved: %s", t->settings_error);
}

static void *task_main(void *arg)
{
	struct task *t = arg;
	struct maintenance *m = t->m;
	if (m->hooks.before_task)
		m->hooks.before_task(m->hooks.ctx, t->kind);
	switch (t->kind) {
	case MAINTENANCE_TASK_PIN:
		run_pin(t);
		break;
	case MAINTENANCE_TASK_STATUS:
		run_status(t);
		break;
	case MAINTENANCE_TASK_QUEUE:
		run_queue(t);
		break;
	case MAINTENANCE_TASK_NETTEST:
		run_nettest(t);
		break;
	case MAINTENANCE_TASK_LOG:
		run_log(t);
		break;
	case MAINTENANCE_TASK_POWER:
		run_power(t);
		break;
	case MAINTENANCE_TASK_SETTINGS:
		run_settings(t);
		break;
	case MAINTENANCE_TASK_LAST:
		break;
	}
	atomic_store(&t->done, true);
	notify(m);
	return NULL;
}

/* Starts the slot's thread (inputs filled in by the caller). */
static bool start_task(struct maintenance *m, enum maintenance_task kind)
{
	struct task *t = &m->tasks[kind];
	if (t->started)
		return false;
	atomic_store(&t->done, false);
	pthread_mutex_lock(&m->lock);
	t->visit = m->visit;
	pthread_mutex_unlock(&m->lock);
	int rc = pthread_create(&t->thread, NULL, task_main, t);
	if (rc != 0) {
		log_error("maintenance: cannot start the %s worker: %s", task_names[kind],
		          strerror(rc));
		return false;
	}
	t->started = true;
	return true;
}

/* ---- taking results over -------------------------------------------------------------------- */

static void rebuild_items(struct maintenance *m)
{
	free(m->items);
	m->items = NULL;
	m->item_count = 0;
	const struct upload_control_status *u = &m->status->upload;
	size_t n = u->failed_count + u->quarantine_count;
	if (n == 0)
		return;
	m->items = calloc(n, sizeof(*m->items));
	if (!m->items) {
		log_error("maintenance: out of memory for the queue's list");
		return;
	}
	for (int which = 0; which < 2; which++) {
		const struct upload_control_item *list = which ? u->quarantine : u->failed;
		size_t count = which ? u->quarantine_count : u->failed_count;
		for (size_t i = 0; i < count; i++) {
			struct maintenance_item *it = &m->items[m->item_count++];
			memcpy(it->id, list[i].id, sizeof(it->id));
			it->state = which ? SPOOL_STATE_QUARANTINE : SPOOL_STATE_FAILED;
			it->age_seconds = list[i].age_seconds;
			it->bytes = list[i].bytes;
			it->attempts = list[i].attempts;
			memcpy(it->error_class, list[i].last_error, sizeof(it->error_class));
		}
	}
}

static bool current(struct maintenance *m, const struct task *t)
{
	pthread_mutex_lock(&m->lock);
	bool same = t->visit == m->visit;
	pthread_mutex_unlock(&m->lock);
	return same;
}

static enum maintenance_pin_outcome outcome_of(enum pin_result r)
{
	switch (r) {
	case PIN_OK:
		return MAINTENANCE_PIN_ACCEPTED;
	case PIN_WRONG:
		return MAINTENANCE_PIN_WRONG;
	case PIN_MALFORMED:
		return MAINTENANCE_PIN_MALFORMED;
	case PIN_WAIT:
		return MAINTENANCE_PIN_WAIT;
	case PIN_LOCKED:
		return MAINTENANCE_PIN_LOCKED;
	case PIN_ERROR:
	case PIN_RESULT_LAST:
		break;
	}
	return MAINTENANCE_PIN_ERROR;
}

static void start_refresh(struct maintenance *m);

static void take_over(struct maintenance *m, struct task *t)
{
	bool same = current(m, t);
	/* Out of the slot first: taking over may start the slot's next task. */
	struct maintenance_status *status = t->status;
	struct maintenance_log *log = t->log;
	t->status = NULL;
	t->log = NULL;
	switch (t->kind) {
	case MAINTENANCE_TASK_PIN:
		if (!same || m->state != MAINTENANCE_CHECKING)
			break;
		m->pin_last = outcome_of(t->pin_result);
		m->pending_changes |= MAINTENANCE_CHANGED_PIN;
		m->last_touch_ms = now_ms(m);
		set_state(m, m->pin_last == MAINTENANCE_PIN_ACCEPTED ? MAINTENANCE_WIPE
		                                                     : MAINTENANCE_PIN);
		break;
	case MAINTENANCE_TASK_STATUS:
		if (same && status) {
			status->refreshes = m->status->refreshes + 1;
			status->has_scanner = m->scanner != NULL;
			if (m->scanner)
				scan_service_get_status(m->scanner, &status->scanner);
			free_status(m->status);
			m->status = status;
			status = NULL;
			rebuild_items(m);
		}
		m->status->refreshing = false;
		m->pending_changes |= MAINTENANCE_CHANGED_STATUS;
		if (m->refresh_again)
			start_refresh(m);
		break;
	case MAINTENANCE_TASK_QUEUE:
		if (!same)
			break;
		m->queue = t->queue;
		m->pending_changes |= MAINTENANCE_CHANGED_QUEUE;
		/* What changed shows in a fresh status. */
		start_refresh(m);
		break;
	case MAINTENANCE_TASK_NETTEST:
		m->pending_changes |= MAINTENANCE_CHANGED_NETTEST;
		break;
	case MAINTENANCE_TASK_LOG:
		if (same && log) {
			log->refreshes = m->log->refreshes + 1;
			free_log(m->log);
			m->log = log;
			log = NULL;
		}
		m->log->running = false;
		m->pending_changes |= MAINTENANCE_CHANGED_LOG;
		break;
	case MAINTENANCE_TASK_POWER:
		if (!same)
			break;
		m->power = t->power_result;
		m->power.done = true;
		m->pending_changes |= MAINTENANCE_CHANGED_POWER;
		break;
	case MAINTENANCE_TASK_SETTINGS:
		m->settings.running = false;
		m->pending_changes |= MAINTENANCE_CHANGED_SETTINGS;
		if (!same)
			break;
		m->settings.done = true;
		m->settings.saved = t->settings_saved;
		m->settings.ok = t->settings_saved;
		snprintf(m->settings.error, sizeof(m->settings.error), "%s",
		         t->settings_saved ? "" : t->settings_error);
		break;
	case MAINTENANCE_TASK_LAST:
		break;
	}
	/* A closed visit's result. */
	free_status(status);
	free_log(log);
}

static void join_finished(struct maintenance *m, bool wait)
{
	for (int k = 0; k < MAINTENANCE_TASK_LAST; k++) {
		struct task *t = &m->tasks[k];
		if (!t->started || (!wait && !atomic_load(&t->done)))
			continue;
		pthread_join(t->thread, NULL);
		t->started = false;
		take_over(m, t);
	}
}

/* ---- life cycle ----------------------------------------------------------------------------- */

void maintenance_config_init(struct maintenance_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->policy = (struct pin_policy)PIN_POLICY_DEFAULT;
	cfg->idle_close_s = MAINTENANCE_IDLE_CLOSE_DEFAULT_S;
	cfg->version = "0";
}

void maintenance_config_apply(struct maintenance_config *cfg, const struct config *conf)
{
	cfg->pin_hash = conf->maintenance.pin_hash;
	cfg->pin_state = conf->maintenance.state;
	cfg->policy.max_failures = conf->maintenance.max_failures;
	cfg->policy.lockout_seconds = conf->maintenance.lockout;
	cfg->policy.delay_cap_seconds = conf->maintenance.delay_cap;
	cfg->idle_close_s = conf->maintenance.idle_close;
	cfg->control_socket = config_control_socket(conf, cfg->socket_buf, sizeof(cfg->socket_buf))
	                              ? cfg->socket_buf
	                              : NULL;
	cfg->status_file = conf->status_file;
	cfg->spool_dir = conf->spool.dir;
	cfg->scanner_settings = conf->scanner.settings;
}

struct maintenance *maintenance_create(const struct maintenance_config *cfg,
                                       void (*notify_fn)(void *userdata), void *userdata,
                                       char err[MAINTENANCE_ERROR_MAX])
{
	err[0] = '\0';
	struct maintenance *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, MAINTENANCE_ERROR_MAX, "out of memory");
		return NULL;
	}
	m->nt_cancel_fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	for (int k = 0; k < MAINTENANCE_TASK_LAST; k++) {
		m->tasks[k].kind = (enum maintenance_task)k;
		m->tasks[k].m = m;
	}
	m->exit_status = -1;
	m->power.what = MAINTENANCE_POWER_LAST;
	m->power_pending = MAINTENANCE_POWER_LAST;
	m->idle_close_s = cfg->idle_close_s ? cfg->idle_close_s : MAINTENANCE_IDLE_CLOSE_DEFAULT_S;
	m->scanner = cfg->scanner;
	if (cfg->hooks)
		m->hooks = *cfg->hooks;
	m->notify = notify_fn;
	m->userdata = userdata;
	snprintf(m->version, sizeof(m->version), "%s", cfg->version ? cfg->version : "0");
	m->pin_state = copy_string(cfg->pin_state);
	m->control_socket = copy_string(cfg->control_socket);
	m->status_file = copy_string(cfg->status_file);
	m->spool_dir = copy_string(cfg->spool_dir);
	m->settings_path = copy_string(cfg->scanner_settings);
	m->status = calloc(1, sizeof(*m->status));
	m->log = calloc(1, sizeof(*m->log));
	m->nt_cancel_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if ((cfg->pin_state && !m->pin_state) || (cfg->control_socket && !m->control_socket) ||
	    (cfg->status_file && !m->status_file) || (cfg->spool_dir && !m->spool_dir) ||
	    (cfg->scanner_settings && *cfg->scanner_settings && !m->settings_path) || !m->status ||
	    !m->log || m->nt_cancel_fd < 0) {
		snprintf(err, MAINTENANCE_ERROR_MAX, "out of memory or descriptors");
		goto fail;
	}
	if (cfg->pin_hash) {
		if (!m->pin_state) {
			snprintf(err, MAINTENANCE_ERROR_MAX, "no PIN state file configured");
			goto fail;
		}
		char why[PIN_ERROR_MAX];
		m->guard = pin_guard_create(cfg->pin_hash, m->pin_state, &cfg->policy,
		                            cfg->hooks ? cfg->hooks->pin_clock : NULL, why);
		if (!m->guard) {
			snprintf(err, MAINTENANCE_ERROR_MAX, "%s", why);
			goto fail;
		}
		m->have_pin = true;
	}
	return m;
fail:
	maintenance_destroy(m);
	return NULL;
}

static void close_menu(struct maintenance *m, const char *why);
static void cancel_nettest(struct maintenance *m);

void maintenance_destroy(struct maintenance *m)
{
	if (!m)
		return;
	close_menu(m, "program end");
	cancel_nettest(m);
	join_finished(m, true);
	pin_guard_destroy(m->guard);
	if (m->nt_cancel_fd >= 0)
		close(m->nt_cancel_fd);
	free_status(m->status);
	free_log(m->log);
	free(m->items);
	free(m->pin_state);
	free(m->control_socket);
	free(m->status_file);
	free(m->spool_dir);
	free(m->settings_path);
	pthread_mutex_destroy(&m->lock);
	explicit_bzero(m, sizeof(*m));
	free(m);
}

/* ---- the loop ------------------------------------------------------------------------------- */

static void cancel_nettest(struct maintenance *m)
{
	if (!m->tasks[MAINTENANCE_TASK_NETTEST].started)
		return;
	uint64_t one = 1;
	if (write(m->nt_cancel_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_warning_errno("maintenance: cannot cancel the network test");
}

static void close_menu(struct maintenance *m, const char *why)
{
	if (m->state == MAINTENANCE_CLOSED)
		return;
	log_info("maintenance: %s closed (%s)", m->state == MAINTENANCE_OPEN ? "menu" : "PIN pad",
	         why);
	zero_pin(m);
	m->pin_last = MAINTENANCE_PIN_NONE;
	cancel_nettest(m);
	pthread_mutex_lock(&m->lock);
	m->visit++;
	explicit_bzero(&m->nettest, sizeof(m->nettest));
	pthread_mutex_unlock(&m->lock);

	bool refreshing = m->tasks[MAINTENANCE_TASK_STATUS].started;
	explicit_bzero(m->status, sizeof(*m->status));
	m->status->refreshing = refreshing;
	bool reading = m->tasks[MAINTENANCE_TASK_LOG].started;
	explicit_bzero(m->log, sizeof(*m->log));
	m->log->running = reading;
	if (m->items)
		explicit_bzero(m->items, m->item_count * sizeof(*m->items));
	free(m->items);
	m->items = NULL;
	m->item_count = 0;
	explicit_bzero(&m->queue, sizeof(m->queue));
	m->discard_pending = false;
	m->discard = (struct maintenance_item){0};
	m->refresh_again = false;
	m->power_pending = MAINTENANCE_POWER_LAST;
	memset(&m->power, 0, sizeof(m->power));
	m->power.what = MAINTENANCE_POWER_LAST;

	if (m->test_running && m->scanner)
		scan_service_abort(m->scanner);
	m->test_running = false;
	m->test_job = 0;
	m->test_pages = 0;
	m->test_problem = SCAN_PROBLEM_NONE;
	discard_test_page(m);
	/* A listing still running on the scan service is not waited for; a
	 * save still running is (its result dropped when it ends). */
	explicit_bzero(&m->devices, sizeof(m->devices));
	m->devices_generation = 0;
	explicit_bzero(&m->settings, sizeof(m->settings));
	m->settings.running = m->tasks[MAINTENANCE_TASK_SETTINGS].started;
	set_state(m, MAINTENANCE_CLOSED);
	m->pending_changes |= MAINTENANCE_CHANGED_STATUS | MAINTENANCE_CHANGED_LOG |
	                      MAINTENANCE_CHANGED_NETTEST | MAINTENANCE_CHANGED_QUEUE |
	                      MAINTENANCE_CHANGED_POWER | MAINTENANCE_CHANGED_PIN |
	                      MAINTENANCE_CHANGED_DEVICES | MAINTENANCE_CHANGED_SETTINGS;
}

static void take_devices(struct maintenance *m);

unsigned maintenance_poll(struct maintenance *m)
{
	join_finished(m, false);
	take_devices(m);
	if (m->state != MAINTENANCE_CLOSED && maintenance_ms_to_close(m) == 0)
		close_menu(m, "idle");
	/* A step may have arrived without the task ending. */
	if (m->tasks[MAINTENANCE_TASK_NETTEST].started)
		m->pending_changes |= MAINTENANCE_CHANGED_NETTEST;
	unsigned changes = m->pending_changes;
	m->pending_changes = 0;
	return changes;
}

enum maintenance_state maintenance_state(const struct maintenance *m)
{
	return m->state;
}

bool maintenance_active(const struct maintenance *m)
{
	return m->state != MAINTENANCE_CLOSED;
}

void maintenance_touch(struct maintenance *m)
{
	if (m->state != MAINTENANCE_CLOSED)
		m->last_touch_ms = now_ms(m);
}

void maintenance_advance(struct maintenance *m, uint32_t seconds)
{
	m->offset_ms += (uint64_t)seconds * 1000;
}

int64_t maintenance_ms_to_close(const struct maintenance *m)
{
	if (m->state == MAINTENANCE_CLOSED)
		return -1;
	uint64_t now = now_ms(m), limit = idle_limit_ms(m);
	uint64_t elapsed = now > m->last_touch_ms ? now - m->last_touch_ms : 0;
	return elapsed >= limit ? 0 : (int64_t)(limit - elapsed);
}

void maintenance_close(struct maintenance *m)
{
	close_menu(m, "button");
}

int maintenance_exit_status(const struct maintenance *m)
{
	return m->exit_status;
}

/* ---- access --------------------------------------------------------------------------------- */

bool maintenance_open_request(struct maintenance *m)
{
	if (m->state != MAINTENANCE_CLOSED)
		return false;
	if (!m->have_pin) {
		if (!m->told_no_pin)
			log_warning("maintenance: no [maintenance] pin_hash configured; the menu "
			            "stays shut");
		m->told_no_pin = true;
		return false;
	}
	zero_pin(m);
	m->pin_last = MAINTENANCE_PIN_NONE;
	m->last_touch_ms = now_ms(m);
	set_state(m, MAINTENANCE_PIN);
	return true;
}

void maintenance_pin_view(struct maintenance *m, struct maintenance_pin_view *out)
{
	memset(out, 0, sizeof(*out));
	out->digits = m->pin_len;
	out->last = m->pin_last;
	if (m->guard)
		pin_guard_state(m->guard, &out->guard);
	out->can_submit = m->state == MAINTENANCE_PIN && m->pin_len >= PIN_MIN_DIGITS && m->guard &&
	                  out->guard.mode == PIN_GUARD_OPEN && !out->guard.checking &&
	                  !m->tasks[MAINTENANCE_TASK_PIN].started;
}

bool maintenance_pin_append(struct maintenance *m, char digit)
{
	if (m->state != MAINTENANCE_PIN)
		return false;
	maintenance_touch(m);
	if (digit < '0' || digit > '9' || m->pin_len >= PIN_MAX_DIGITS)
		return false;
	m->pin[m->pin_len++] = digit;
	return true;
}

bool maintenance_pin_backspace(struct maintenance *m)
{
	if (m->state != MAINTENANCE_PIN)
		return false;
	maintenance_touch(m);
	if (m->pin_len == 0)
		return false;
	m->pin[--m->pin_len] = '\0';
	return true;
}

void maintenance_pin_clear(struct maintenance *m)
{
	if (m->state != MAINTENANCE_PIN)
		return;
	maintenance_touch(m);
	zero_pin(m);
}

bool maintenance_pin_submit(struct maintenance *m)
{
	struct task *t = &m->tasks[MAINTENANCE_TASK_PIN];
	if (m->state != MAINTENANCE_PIN || m->pin_len == 0 || t->started) {
		if (m->state == MAINTENANCE_PIN)
			maintenance_touch(m);
		return false;
	}
	maintenance_touch(m);
	memcpy(t->pin, m->pin, sizeof(t->pin));
	t->pin_len = m->pin_len;
	zero_pin(m);
	if (!start_task(m, MAINTENANCE_TASK_PIN)) {
		explicit_bzero(t->pin, sizeof(t->pin));
		t->pin_len = 0;
		m->pin_last = MAINTENANCE_PIN_ERROR;
		m->pending_changes |= MAINTENANCE_CHANGED_PIN;
		return false;
	}
	set_state(m, MAINTENANCE_CHECKING);
	return true;
}

/* A refresh asked for while one runs (of this visit or a closed one) is
 * made when that one ends: its answer may be older than what was asked. */
static void start_refresh(struct maintenance *m)
{
	if (m->state != MAINTENANCE_OPEN)
		return;
	if (m->tasks[MAINTENANCE_TASK_STATUS].started) {
		m->refresh_again = true;
		return;
	}
	if (!start_task(m, MAINTENANCE_TASK_STATUS))
		return;
	m->refresh_again = false;
	m->status->refreshing = true;
	m->pending_changes |= MAINTENANCE_CHANGED_STATUS;
}

bool maintenance_confirm_wipe(struct maintenance *m, const struct session *session)
{
	if (m->state != MAINTENANCE_WIPE)
		return false;
	if (!session || session_has_data(session) || session_commit_running(session) ||
	    session_committed(session)) {
		log_error("maintenance: the customer's session was not wiped; the menu stays "
		          "shut");
		return false;
	}
	/* A scan of the customer's still running: stopped, its pages zeroed. */
	if (m->scanner)
		scan_service_abort(m->scanner);
	m->last_touch_ms = now_ms(m);
	set_state(m, MAINTENANCE_OPEN);
	log_info("maintenance: menu opened (customer session wiped)");
	start_refresh(m);
	return true;
}

/* ---- status, queue -------------------------------------------------------------------------- */

bool maintenance_status_refresh(struct maintenance *m)
{
	maintenance_touch(m);
	if (m->state != MAINTENANCE_OPEN)
		return false;
	start_refresh(m);
	return m->status->refreshing || m->refresh_again;
}

const struct maintenance_status *maintenance_status(const struct maintenance *m)
{
	return m->status;
}

bool maintenance_scanner_status(struct maintenance *m, struct scan_service_status *out)
{
	memset(out, 0, sizeof(*out));
	if (!m->scanner)
		return false;
	scan_service_get_status(m->scanner, out);
	return true;
}

size_t maintenance_item_count(const struct maintenance *m)
{
	return m->item_count;
}

const struct maintenance_item *maintenance_item(const struct maintenance *m, size_t index)
{
	return index < m->item_count ? &m->items[index] : NULL;
}

const struct maintenance_queue_result *maintenance_queue_result(const struct maintenance *m)
{
	return &m->queue;
}

static bool start_queue(struct maintenance *m, enum maintenance_queue_op op, const char *id)
{
	struct task *t = &m->tasks[MAINTENANCE_TASK_QUEUE];
	if (t->started)
		return false;
	t->queue_op = op;
	snprintf(t->id, sizeof(t->id), "%s", id ? id : "");
	if (!start_task(m, MAINTENANCE_TASK_QUEUE))
		return false;
	memset(&m->queue, 0, sizeof(m->queue));
	m->queue.op = op;
	m->queue.running = true;
	m->pending_changes |= MAINTENANCE_CHANGED_QUEUE;
	return true;
}

bool maintenance_retry_now(struct maintenance *m)
{
	maintenance_touch(m);
	if (m->state != MAINTENANCE_OPEN)
		return false;
	log_info("maintenance: retry now asked");
	return start_queue(m, MAINTENANCE_QUEUE_RETRY_NOW, NULL);
}

bool maintenance_discard_request(struct maintenance *m, const char *id)
{
	maintenance_touch(m);
	if (m->state != MAINTENANCE_OPEN || !id || m->tasks[MAINTENANCE_TASK_QUEUE].started)
		return false;
	for (size_t i = 0; i < m->item_count; i++) {
		if (strcmp(m->items[i].id, id) != 0)
			continue;
		m->discard = m->items[i];
		m->discard_pending = true;
		log_info("maintenance: discard of submission %s (%s/, class %s) asked; waiting "
		         "for confirmation",
		         m->discard.id, spool_state_name(m->discard.state),
		         m->discard.error_class[0] ? m->discard.error_class : "none");
		return true;
	}
	/* Not one of ours; the id came from the UI, so it is not echoed. */
	log_warning("maintenance: discard asked for a submission that is not failed or "
	            "quarantined");
	return false;
}

const struct maintenance_item *maintenance_discard_pending(const struct maintenance *m)
{
	return m->discard_pending ? &m->discard : NULL;
}

bool maintenance_discard_confirm(struct maintenance *m)
{
	maintenance_touch(m);
	if (m->state != MAINTENANCE_OPEN || !m->discard_pending)
		return false;
	if (!start_queue(m, MAINTENANCE_QUEUE_DISCARD, m->discard.id))
		return false;
	log_info("maintenance: discard of submission %s (%s/, class %s) confirmed", m->discard.id,
	         spool_state_name(m->discard.state),
	         m->discard.error_class[0] ? m->discard.error_class : "none");
	m->discard_pending = false;
	return true;
}

void maintenance_discard_cancel(struct maintenance *m)
{
	maintenance_touch(m);
	if (!m->discard_pending)
		return;
	log_info("maintenance: discard of submission %s cancelled", m->discard.id);
	m->discard_pending = false;
	m->discard = (struct maintenance_item){0};
}

/* ---- network test, log ---------------------------------------------------------------------- */

bool maintenance_nettest_start(struct maintenance *m)
{
	maintenance_touch(m);
	if (m->state != MAINTENANCE_OPEN || m->tasks[MAINTENANCE_TASK_NETTEST].started)
		return false;
	uint64_t drain;
	while (read(m->nt_cancel_fd, &drain, sizeof(drain)) == (ssize_t)sizeof(drain))
		;
	pthread_mutex_lock(&m->lock);
	memset(&m->nettest, 0, sizeof(m->nettest));
	m->nettest.running = true;
	pthread_mutex_unlock(&m->lock);
	if (!start_task(m, MAINTENANCE_TASK_NETTEST)) {
		pthread_mutex_lock(&m->lock);
		m->nettest.running = false;
		m->nettest.done = true;
		m->nettest.error = UPLOAD_CONTROL_NOMEM;
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	log_info("maintenance: network test started");
	m->pending_changes |= MAINTENANCE_CHANGED_NETTEST;
	return true;
}

void maintenance_nettest_cancel(struct maintenance *m)
{
	maintenance_touch(m);
	if (!m->tasks[MAINTENANCE_TASK_NETTEST].started)
		return;
	pthread_mutex_lock(&m->lock);
	bool running = m->nettest.running;
	pthread_mutex_unlock(&m->lock);
	if (running)
		cancel_nettest(m);
}

void maintenance_nettest(struct maintenance *m, struct maintenance_nettest *out)
{
	pthread_mutex_lock(&m->lock);
	*out = m->nettest;
	pthread_mutex_unlock(&m->lock);
}

bool maintenance_log_refresh(struct maintenance *m)
{
	maintenance_touch(m);
	if (m->state != MAINTENANCE_OPEN || !start_task(m, MAINTENANCE_TASK_LOG))
		return false;
	m->log->running = true;
	m->pending_changes |= MAINTENANCE_CHANGED_LOG;
	return true;
}

const struct maintenance_log *maintenance_log(const struct maintenance *m)
{
	return m->log;
}

/* ---- restart, reboot ------------------------------------------------------------------------ */

bool maintenance_power_request(struct maintenance *m, enum maintenance_power what)
{
	maintenance_touch(m);
	if (m->state != MAINTENANCE_OPEN || (unsigned)what >= MAINTENANCE_POWER_LAST ||
	    m->tasks[MAINTENANCE_TASK_POWER].started)
		return false;
	m->power_pending = what;
	log_info("maintenance: %s asked; waiting for confirmation", maintenance_power_name(what));
	return true;
}

enum maintenance_power maintenance_power_pending(const struct maintenance *m)
{
	return m->power_pending;
}

void maintenance_power_cancel(struct maintenance *m)
{
	maintenance_touch(m);
	if (m->power_pending == MAINTENANCE_POWER_LAST)
		return;
	log_info("maintenance: %s cancelled", maintenance_power_name(m->power_pending));
	m->power_pending = MAINTENANCE_POWER_LAST;
}

bool maintenance_power_confirm(struct maintenance *m)
{
	maintenance_touch(m);
	enum maintenance_power what = m->power_pending;
	struct task *t = &m->tasks[MAINTENANCE_TASK_POWER];
	if (m->state != MAINTENANCE_OPEN || what == MAINTENANCE_POWER_LAST || t->started)
		return false;
	m->power_pending = MAINTENANCE_POWER_LAST;
	log_info("maintenance: %s confirmed", maintenance_power_name(what));
	if (what == MAINTENANCE_RESTART_KIOSK) {
		/* Nothing of the menu outlives it; the UI exits with the status. */
		close_menu(m, "restart");
		m->exit_status = MAINTENANCE_EXIT_RESTART;
		log_info("maintenance: the kiosk exits with status %d to be restarted",
		         MAINTENANCE_EXIT_RESTART);
		m->pending_changes |= MAINTENANCE_CHANGED_POWER;
		return true;
	}
	t->power = what;
	if (!start_task(m, MAINTENANCE_TASK_POWER))
		return false;
	memset(&m->power, 0, sizeof(m->power));
	m->power.what = what;
	m->power.running = true;
	m->pending_changes |= MAINTENANCE_CHANGED_POWER;
	return true;
}

const struct maintenance_power_result *maintenance_power_result(const struct maintenance *m)
{
	return &m->power;
}

/* ---- scanner -------------------------------------------------------------------------------- */

uint32_t maintenance_test_scan_start(struct maintenance *m, enum scan_service_source source)
{
	maintenance_touch(m);
	if (m->state != MAINTENANCE_OPEN || !m->scanner || m->test_running)
		return 0;
	uint32_t job = scan_service_start(m->scanner, source, 1);
	if (job == 0)
		return 0;
	discard_test_page(m);
	m->test_job = job;
	m->test_running = true;
	m->test_pages = 0;
	m->test_problem = SCAN_PROBLEM_NONE;
	m->pending_changes |= MAINTENANCE_CHANGED_SCAN;
	log_info("maintenance: test scan started (job %u)", job);
	return job;
}

bool maintenance_scan_event(struct maintenance *m, struct scan_service_event *ev)
{
	/* Until the PIN proved right the customer's session goes on. */
	if (m->state != MAINTENANCE_WIPE && m->state != MAINTENANCE_OPEN)
		return false;
	bool ours = m->test_job != 0 && ev->job == m->test_job;
	switch (ev->kind) {
	case SCAN_SERVICE_EVENT_PAGE_READY:
		if (ours && m->test_running && ev->page_result) {
			discard_test_page(m);
			m->test_page = ev->page_result;
			ev->page_result = NULL;
			m->test_pages++;
			log_info("maintenance: test scan page %u x %u at %u dpi, %zu bytes",
			         m->test_page->facts.width, m->test_page->facts.height,
			         m->test_page->facts.dpi, m->test_page->facts.bytes);
		} else if (ev->page_result) {
			log_info("maintenance: a page of job %u dropped (not the test scan)",
			         ev->job);
		}
		break;
	case SCAN_SERVICE_EVENT_FINISHED:
		if (ours && m->test_running) {
			m->test_running = false;
			m->test_problem = ev->problem;
			log_info("maintenance: test scan finished (%s, %u pages)",
			         scan_problem_name(ev->problem), ev->pages_done);
		}
		break;
	case SCAN_SERVICE_EVENT_STATE:
	case SCAN_SERVICE_EVENT_PAGE_STARTED:
	case SCAN_SERVICE_EVENT_LAST:
		break;
	}
	/* Whatever page is left is nobody's: zeroed and freed. */
	scan_service_event_discard(ev);
	m->pending_changes |= MAINTENANCE_CHANGED_SCAN;
	return true;
}

void maintenance_test_scan(const struct maintenance *m, struct maintenance_test_scan *out)
{
	memset(out, 0, sizeof(*out));
	out->job = m->test_job;
	out->running = m->test_running;
	out->problem = m->test_problem;
	out->pages = m->test_pages;
}

const struct scan_page *maintenance_test_page(const struct maintenance *m)
{
	return m->test_page;
}

void maintenance_test_page_discard(struct maintenance *m)
{
	maintenance_touch(m);
	discard_test_page(m);
}

/* ---- scanner: devices and settings ---------------------------------------------------------- */

bool maintenance_devices_refresh(struct maintenance *m)
{
	maintenance_touch(m);
	if (m->state != MAINTENANCE_OPEN || !m->scanner || m->devices.listing)
		return false;
	m->devices_generation = scan_service_list_devices(m->scanner);
	m->devices.listing = true;
	m->pending_changes |= MAINTENANCE_CHANGED_DEVICES;
	log_info("maintenance: scanner devices asked for");
	return true;
}

/* The scan service's answer, once it is there (copied without waiting). */
static void take_devices(struct maintenance *m)
{
	if (!m->devices.listing || !m->scanner)
		return;
	struct scan_service_devices *d = calloc(1, sizeof(*d));
	if (!d)
		return; /* the next poll tries again */
	scan_service_get_devices(m->scanner, d);
	/* Generations count up (and may wrap): ours or a later one. */
	if ((int32_t)(d->generation - m->devices_generation) < 0)
		goto out;
	struct maintenance_devices *out = &m->devices;
	memset(out->devices, 0, sizeof(out->devices));
	out->listing = false;
	out->listings++;
	out->ok = d->status == SCANNER_OK;
	if (out->ok)
		out->error[0] = '\0';
	else
		snprintf(out->error, sizeof(out->error),
		         "the scanner driver cannot list devices: %s", scanner_strerror(d->status));
	out->count = d->count < MAINTENANCE_DEVICES_MAX ? d->count : MAINTENANCE_DEVICES_MAX;
	out->total = d->total;
	for (size_t i = 0; i < out->count; i++) {
		struct maintenance_scanner_device *dst = &out->devices[i];
		const struct scan_service_device *src = &d->devices[i];
		memcpy(dst->name, src->name, sizeof(dst->name));
		memcpy(dst->vendor, src->vendor, sizeof(dst->vendor));
		memcpy(dst->model, src->model, sizeof(dst->model));
		memcpy(dst->serial, src->serial, sizeof(dst->serial));
		dst->open = src->open;
	}
	m->pending_changes |= MAINTENANCE_CHANGED_DEVICES;
	log_info("maintenance: %zu scanner device(s) listed%s", out->total,
	         out->ok ? "" : " (the listing failed)");
out:
	free(d);
}

const struct maintenance_devices *maintenance_devices(const struct maintenance *m)
{
	return &m->devices;
}

bool maintenance_scanner_settings(struct maintenance *m, struct maintenance_scanner_settings *out)
{
	memset(out, 0, sizeof(*out));
	if (!m->scanner)
		return false;
	struct scan_service_settings s;
	scan_service_get_settings(m->scanner, &s);
	memcpy(out->device, s.device, sizeof(out->device));
	out->source = s.source;
	out->dpi = s.dpi;
	out->mode = s.mode;
	return true;
}

/* The last apply was refused: why, for the technician and the log. */
static bool settings_refused(struct maintenance *m, const char *why)
{
	memset(&m->settings, 0, sizeof(m->settings));
	m->settings.done = true;
	snprintf(m->settings.error, sizeof(m->settings.error), "%s", why);
	m->pending_changes |= MAINTENANCE_CHANGED_SETTINGS;
	log_warning("maintenance: scanner settings refused: %s", why);
	return false;
}

bool maintenance_scanner_apply(struct maintenance *m, const struct maintenance_scanner_settings *s)
{
	maintenance_touch(m);
	struct task *t = &m->tasks[MAINTENANCE_TASK_SETTINGS];
	if (m->state != MAINTENANCE_OPEN || !m->scanner || !s || t->started)
		return false;
	if (m->test_running)
		return settings_refused(m, "the test scan is running: try again when it has ended");
	struct scan_service_settings ss;
	memset(&ss, 0, sizeof(ss));
	if (strnlen(s->device, sizeof(s->device)) == sizeof(s->device))
		return settings_refused(m, "the device name is too long");
	memcpy(ss.device, s->device, sizeof(ss.device));
	ss.source = s->source;
	ss.dpi = s->dpi;
	ss.mode = s->mode;
	enum scanner_status st = scan_service_set_settings(m->scanner, &ss);
	if (st == SCANNER_BUSY)
		return settings_refused(m, "a scan is running: try again when it has ended");
	if (st == SCANNER_INVALID)
		return settings_refused(
		        m, "a value is out of range (dpi 75 to 1200, source flatbed or "
		           "adf, mode auto, color or gray, a device name without "
		           "control characters)");
	if (st != SCANNER_OK)
		return settings_refused(m, scanner_strerror(st));

	memset(&m->settings, 0, sizeof(m->settings));
	m->settings.applied = true;
	m->pending_changes |= MAINTENANCE_CHANGED_SETTINGS;
	log_info("maintenance: scanner settings applied: device %s, source %s, %u dpi, mode %s",
	         s->device[0] ? s->device : "(first found)", config_scan_source_name(s->source),
	         s->dpi, config_scan_mode_name(s->mode));
	if (!m->settings_path) {
		m->settings.done = true;
		m->settings.ok = true;
		log_info("maintenance: scanner settings not kept ([scanner] settings is not set)");
		return true;
	}
	t->settings = *s;
	if (!start_task(m, MAINTENANCE_TASK_SETTINGS)) {
		m->settings.done = true;
		snprintf(m->settings.error, sizeof(m->settings.error),
		         "applied, but not saved: the worker cannot start");
		return true;
	}
	m->settings.running = true;
	return true;
}

const struct maintenance_settings_result *maintenance_scanner_result(const struct maintenance *m)
{
	return &m->settings;
}
