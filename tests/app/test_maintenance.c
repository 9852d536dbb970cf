/*
 * test_maintenance.c - the maintenance menu's model (kiosk/app/maintenance.h)
 * without an uploader: the PIN pad (right, wrong, wait, malformed, lockout
 * surviving a new model on the same state file), the wipe step, the idle
 * close and what it zeroes, the status from the uploader's status file when
 * its socket does not answer, the two-step discard, the log (the kiosk's own
 * ring), restart and reboot (the bus call as it would be made, and the real
 * call failing without a system bus), the test scan with the simulator, a
 * worker held while the UI's calls return, and canary personal data typed,
 * scanned and committed by the kiosk found in nothing the model holds; the
 * scanner's devices listed (the simulator, and the SANE test backend from a
 * private SANE_CONFIG_DIR), settings applied (the test scan shows the new
 * dpi), saved to the settings file as the loader reads it, refused while a
 * scan runs, and a fresh scan service and model built from the saved file
 * using the saved device.
 *
 * The menu's clock and the PIN guard's clocks are the test's; workers are
 * waited for through the notify callback. tests/app/test_maintenance.py runs
 * the model against the real uploader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "container.h"
#include "log.h"
#include "maintenance.h"
#include "pin.h"
#include "scan_service.h"
#include "scanner_settings.h"
#include "session.h"
#include "spool.h"

#define RIGHT_PIN    "24681357"
#define WAIT_LIMIT_S 60

static char workdir[PATH_MAX];
static char fast_hash[PIN_HASH_MAX];

/* ---- clocks, notification, hooks ------------------------------------------------------------ */

struct clocks {
	uint64_t menu_ms;
	int64_t wall_ms;
	int64_t boot_ms;
};

static struct clocks clocks;

static int64_t pin_wall(void *ctx)
{
	return ((struct clocks *)ctx)->wall_ms;
}

static int64_t pin_boot(void *ctx)
{
	return ((struct clocks *)ctx)->boot_ms;
}

static const struct pin_clock pin_clock = {.wall_ms = pin_wall,
                                           .boot_ms = pin_boot,
                                           .boot_id = "0123abcd-0000-4000-8000-00000000beef",
                                           .ctx = &clocks};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned notifications;
} waiter = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

static void handle_notify(void *userdata)
{
	(void)userdata;
	pthread_mutex_lock(&waiter.lock);
	waiter.notifications++;
	pthread_cond_broadcast(&waiter.cond);
	pthread_mutex_unlock(&waiter.lock);
}

/* Sleeps until a notification (or 100 ms). False after WAIT_LIMIT_S. */
static bool wait_notify(const struct timespec *start)
{
	struct timespec now, until;
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec - start->tv_sec > WAIT_LIMIT_S)
		return false;
	until = now;
	until.tv_nsec += 100 * 1000 * 1000;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&waiter.lock);
	unsigned seen = waiter.notifications;
	while (waiter.notifications == seen)
		if (pthread_cond_timedwait(&waiter.cond, &waiter.lock, &until) != 0)
			break;
	pthread_mutex_unlock(&waiter.lock);
	return true;
}

/* What the hooks saw. */
struct seen {
	unsigned released;         /* buffers handed to the released hook */
	unsigned released_nonzero; /* ... of which were not all zero */
	struct maintenance_bus_call call;
	unsigned calls;
	bool bus_fails;
	/* A gate that holds the worker of one task. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int hold_task; /* -1: none */
	bool holding;
	bool open;
};

static struct seen seen;

static void hook_released(void *ctx, const void *buf, size_t len)
{
	struct seen *s = ctx;
	const unsigned char *p = buf;
	bool zero = true;
	for (size_t i = 0; i < len; i++)
		zero = zero && p[i] == 0;
	pthread_mutex_lock(&s->lock);
	s->released++;
	if (!zero)
		s->released_nonzero++;
	pthread_mutex_unlock(&s->lock);
}

static bool hook_bus_call(void *ctx, const struct maintenance_bus_call *call,
                          char err[MAINTENANCE_ERROR_MAX])
{
	struct seen *s = ctx;
	s->call = *call;
	s->calls++;
	if (s->bus_fails) {
		snprintf(err, MAINTENANCE_ERROR_MAX, "Access denied");
		return false;
	}
	return true;
}

static void hook_before_task(void *ctx, enum maintenance_task task)
{
	struct seen *s = ctx;
	pthread_mutex_lock(&s->lock);
	if ((int)task == s->hold_task) {
		s->holding = true;
		pthread_cond_broadcast(&s->cond);
		while (!s->open)
			pthread_cond_wait(&s->cond, &s->lock);
		s->holding = false;
	}
	pthread_mutex_unlock(&s->lock);
	handle_notify(NULL);
}

/* The menu's clock reads clocks; the other hooks record into seen. */
static uint64_t hooked_now(void *ctx)
{
	(void)ctx;
	return clocks.menu_ms;
}

static struct maintenance_hooks test_hooks = {
        .now_ms = hooked_now,
        .pin_clock = &pin_clock,
        .bus_call = hook_bus_call,
        .before_task = hook_before_task,
        .released = hook_released,
        .ctx = &seen,
};

/* ---- fixture --------------------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	char tmpl[] = "test_maintenance.XXXXXX";
	if (!mkdtemp(tmpl) || !realpath(tmpl, workdir))
		return -1;
	if (sodium_init() < 0)
		return -1;
	/* libsodium's INTERACTIVE level: the floor pin_hash_valid() accepts. The
	 * cost of a check is not what these tests prove. */
	if (crypto_pwhash_str_alg(
	            fast_hash, RIGHT_PIN, strlen(RIGHT_PIN), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -1;
	pthread_mutex_init(&seen.lock, NULL);
	pthread_cond_init(&seen.cond, NULL);
	/* A private SANE configuration (never /etc/sane.d): the `test` backend
	 * with the project's test.conf (test:0 and test:1, an A4 glass). libsane
	 * reads SANE_CONFIG_DIR at its first sane_init(). */
	char sane_dir[PATH_MAX + 16], src[PATH_MAX], dst[PATH_MAX + 32];
	snprintf(sane_dir, sizeof(sane_dir), "%s/sane-config", workdir);
	if (mkdir(sane_dir, 0700) != 0)
		return -1;
	const char *data = getenv("SCANKIOSK_TEST_DATA");
	snprintf(src, sizeof(src), "%s/sane/test.conf", data ? data : "../tests/data");
	snprintf(dst, sizeof(dst), "%s/test.conf", sane_dir);
	FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
	if (!in || !out)
		return -1;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	if (fclose(out) != 0)
		return -1;
	snprintf(dst, sizeof(dst), "%s/dll.conf", sane_dir);
	out = fopen(dst, "w");
	if (!out || fputs("test\n", out) < 0 || fclose(out) != 0)
		return -1;
	setenv("SANE_CONFIG_DIR", sane_dir, 1);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	nftw(workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	clocks.menu_ms = 1000000;
	clocks.wall_ms = 1700000000000LL;
	clocks.boot_ms = 5000000;
	pthread_mutex_lock(&seen.lock);
	seen.released = seen.released_nonzero = seen.calls = 0;
	seen.bus_fails = false;
	seen.hold_task = -1;
	seen.open = false;
	memset(&seen.call, 0, sizeof(seen.call));
	pthread_mutex_unlock(&seen.lock);
	log_set_level(LOG_LEVEL_INFO);
	log_ring_clear();
	return 0;
}

static void path_in(char *out, size_t size, const char *name)
{
	int n = snprintf(out, size, "%s/%s", workdir, name);
	assert_true(n > 0 && (size_t)n < size);
}

struct paths {
	char state[PATH_MAX];
	char socket[108];
	char status[PATH_MAX];
	char settings[PATH_MAX]; /* [scanner] settings */
};

/* A model with the test's clocks and hooks; the uploader's socket and status
 * file are named but absent unless a test writes the file. */
static struct maintenance *make(const char *name, struct pin_policy *policy,
                                struct scan_service *scanner, struct paths *p)
{
	char dir[PATH_MAX];
	path_in(dir, sizeof(dir), name);
	mkdir(dir, 0700);
	int n = snprintf(p->state, sizeof(p->state), "%s/pin-state", dir);
	assert_true(n > 0 && (size_t)n < sizeof(p->state));
	n = snprintf(p->socket, sizeof(p->socket), "%s/control.sock", dir);
	assert_true(n > 0 && (size_t)n < sizeof(p->socket));
	n = snprintf(p->status, sizeof(p->status), "%s/status.json", dir);
	assert_true(n > 0 && (size_t)n < sizeof(p->status));
	n = snprintf(p->settings, sizeof(p->settings), "%s/scanner.conf", dir);
	assert_true(n > 0 && (size_t)n < sizeof(p->settings));
	struct maintenance_config cfg;
	maintenance_config_init(&cfg);
	cfg.pin_hash = fast_hash;
	cfg.pin_state = p->state;
	if (policy)
		cfg.policy = *policy;
	cfg.control_socket = p->socket;
	cfg.status_file = p->status;
	cfg.spool_dir = dir;
	cfg.version = "9.8.7";
	cfg.scanner = scanner;
	cfg.scanner_settings = p->settings;
	cfg.hooks = &test_hooks;
	char err[MAINTENANCE_ERROR_MAX];
	struct maintenance *m = maintenance_create(&cfg, handle_notify, NULL, err);
	if (!m)
		fail_msg("maintenance_create: %s", err);
	return m;
}

/* Polls until pred(m) holds, waiting for notifications. */
static unsigned pump(struct maintenance *m, bool (*pred)(struct maintenance *m, void *ctx),
                     void *ctx)
{
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	unsigned changes = 0;
	for (;;) {
		changes |= maintenance_poll(m);
		if (pred(m, ctx))
			return changes;
		if (!wait_notify(&start))
			fail_msg("timed out waiting (state %s)",
			         maintenance_state_name(maintenance_state(m)));
	}
}

static bool not_checking(struct maintenance *m, void *ctx)
{
	(void)ctx;
	return maintenance_state(m) != MAINTENANCE_CHECKING;
}

static bool status_taken(struct maintenance *m, void *ctx)
{
	uint32_t want = *(uint32_t *)ctx;
	const struct maintenance_status *st = maintenance_status(m);
	return st->refreshes >= want && !st->refreshing;
}

static void wait_status(struct maintenance *m, uint32_t refreshes)
{
	pump(m, status_taken, &refreshes);
}

static bool queue_done(struct maintenance *m, void *ctx)
{
	(void)ctx;
	return !maintenance_queue_result(m)->running;
}

static bool power_done(struct maintenance *m, void *ctx)
{
	(void)ctx;
	return maintenance_power_result(m)->done;
}

static bool log_done(struct maintenance *m, void *ctx)
{
	uint32_t want = *(uint32_t *)ctx;
	const struct maintenance_log *log = maintenance_log(m);
	return log->refreshes >= want && !log->running;
}

static enum maintenance_pin_outcome enter_pin(struct maintenance *m, const char *pin)
{
	assert_int_equal(maintenance_state(m), MAINTENANCE_PIN);
	for (const char *c = pin; *c; c++)
		assert_true(maintenance_pin_append(m, *c));
	assert_true(maintenance_pin_submit(m));
	assert_int_equal(maintenance_state(m), MAINTENANCE_CHECKING);
	pump(m, not_checking, NULL);
	struct maintenance_pin_view v;
	maintenance_pin_view(m, &v);
	assert_int_equal(v.digits, 0);
	return v.last;
}

/* Gesture, right PIN, wiped session: the menu. */
static void open_menu(struct maintenance *m)
{
	assert_true(maintenance_open_request(m));
	assert_int_equal(enter_pin(m, RIGHT_PIN), MAINTENANCE_PIN_ACCEPTED);
	assert_int_equal(maintenance_state(m), MAINTENANCE_WIPE);
	struct session *s = session_create(NULL);
	assert_non_null(s);
	assert_true(maintenance_confirm_wipe(m, s));
	session_destroy(s);
	assert_int_equal(maintenance_state(m), MAINTENANCE_OPEN);
}

static bool ring_has(const char *needle)
{
	struct log_ring_entry *lines = calloc(LOG_RING_LINES, sizeof(*lines));
	assert_non_null(lines);
	size_t n = log_ring_copy(lines, LOG_RING_LINES);
	bool found = false;
	for (size_t i = 0; i < n && !found; i++)
		found = strstr(lines[i].text, needle) != NULL;
	free(lines);
	return found;
}

/* ---- access ---------------------------------------------------------------------------------- */

static void test_right_pin_opens(void **state)
{
	(void)state;
	struct paths p;
	struct maintenance *m = make("right", NULL, NULL, &p);
	assert_int_equal(maintenance_state(m), MAINTENANCE_CLOSED);
	assert_false(maintenance_active(m));
	assert_false(maintenance_pin_append(m, '1')); /* no pad yet */
	assert_int_equal(maintenance_ms_to_close(m), -1);

	assert_true(maintenance_open_request(m));
	assert_false(maintenance_open_request(m));
	assert_true(maintenance_active(m));
	struct maintenance_pin_view v;
	maintenance_pin_view(m, &v);
	assert_int_equal(v.digits, 0);
	assert_int_equal(v.last, MAINTENANCE_PIN_NONE);
	assert_int_equal(v.guard.mode, PIN_GUARD_OPEN);
	assert_int_equal(v.guard.attempts_left, 5);
	assert_false(v.can_submit);

	/* Digits only, at most 12; backspace and clear. */
	assert_false(maintenance_pin_append(m, 'x'));
	for (int i = 0; i < PIN_MAX_DIGITS; i++)
		assert_true(maintenance_pin_append(m, '1'));
	assert_false(maintenance_pin_append(m, '1'));
	maintenance_pin_view(m, &v);
	assert_int_equal(v.digits, PIN_MAX_DIGITS);
	assert_true(v.can_submit);
	maintenance_pin_clear(m);
	maintenance_pin_view(m, &v);
	assert_int_equal(v.digits, 0);
	assert_false(maintenance_pin_backspace(m));
	assert_false(maintenance_pin_submit(m)); /* nothing to check */
	assert_true(maintenance_pin_append(m, '9'));
	assert_true(maintenance_pin_backspace(m));

	unsigned before = seen.released;
	assert_int_equal(enter_pin(m, RIGHT_PIN), MAINTENANCE_PIN_ACCEPTED);
	/* The model's buffer and the worker's copy, each zeroed before release. */
	assert_true(seen.released >= before + 2);
	assert_int_equal(seen.released_nonzero, 0);
	assert_int_equal(maintenance_state(m), MAINTENANCE_WIPE);
	assert_true(maintenance_active(m));
	assert_true(ring_has("pin: maintenance PIN accepted"));

	/* The menu opens only on a wiped session. */
	assert_false(maintenance_confirm_wipe(m, NULL));
	struct session *s = session_create(NULL);
	assert_non_null(s);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_NAME, "Muster"), SESSION_OK);
	assert_false(maintenance_confirm_wipe(m, s));
	assert_int_equal(maintenance_state(m), MAINTENANCE_WIPE);
	session_wipe(s);
	assert_true(maintenance_confirm_wipe(m, s));
	session_destroy(s);
	assert_int_equal(maintenance_state(m), MAINTENANCE_OPEN);
	assert_true(ring_has("maintenance: menu opened (customer session wiped)"));

	/* Opening asks for the status; without an uploader or its file, the
	 * rest is there all the same. */
	assert_true(maintenance_status(m)->refreshing);
	wait_status(m, 1);
	const struct maintenance_status *st = maintenance_status(m);
	assert_int_equal(st->upload_source, MAINTENANCE_SOURCE_NONE);
	assert_false(st->uploader_running);
	assert_int_equal(st->socket_error, UPLOAD_CONTROL_NOT_RUNNING);
	assert_int_equal(st->file_error, UPLOAD_CONTROL_NOT_RUNNING);
	assert_int_equal(st->disk_error, 0);
	assert_true(st->disk_total_bytes > 0 && st->disk_free_bytes <= st->disk_total_bytes);
	assert_string_equal(st->version, "9.8.7");
	assert_true(st->system_uptime_seconds > 0);
	assert_true(st->kiosk_uptime_seconds <= st->system_uptime_seconds);
	assert_false(st->has_scanner);
	assert_int_equal(maintenance_item_count(m), 0);
	assert_false(maintenance_scanner_status(m, &(struct scan_service_status){0}));

	maintenance_close(m);
	assert_int_equal(maintenance_state(m), MAINTENANCE_CLOSED);
	assert_int_equal(maintenance_status(m)->refreshes, 0);
	assert_int_equal(maintenance_exit_status(m), -1);
	maintenance_destroy(m);
}

/* Without a PIN hash the menu never opens. */
static void test_no_pin_configured(void **state)
{
	(void)state;
	struct maintenance_config cfg;
	maintenance_config_init(&cfg);
	char err[MAINTENANCE_ERROR_MAX];
	struct maintenance *m = maintenance_create(&cfg, NULL, NULL, err);
	assert_non_null(m);
	assert_false(maintenance_open_request(m));
	assert_false(maintenance_open_request(m));
	assert_int_equal(maintenance_state(m), MAINTENANCE_CLOSED);
	assert_true(ring_has("no [maintenance] pin_hash configured"));
	maintenance_destroy(m);

	/* A hash that is not argon2id is refused at creation, with why. */
	cfg.pin_hash = "12345678";
	cfg.pin_state = "/nonexistent/pin-state";
	assert_null(maintenance_create(&cfg, NULL, NULL, err));
	assert_true(err[0] != '\0');

	/* From a configuration: the [maintenance] keys and the uploader's paths. */
	struct config conf;
	config_init(&conf);
	char text[512];
	snprintf(text, sizeof(text),
	         "[spool]\ndir = /srv/q\n[maintenance]\nidle_close = 60\nmax_failures = 3\n"
	         "lockout = 120\ndelay_cap = 5\nstate = /srv/pin\n[metrics]\nstatus = "
	         "/srv/status\n");
	char cerr[CONFIG_ERROR_MAX];
	if (!config_load_string(&conf, "t.conf", text, cerr))
		fail_msg("%s", cerr);
	maintenance_config_apply(&cfg, &conf);
	assert_null(cfg.pin_hash);
	assert_string_equal(cfg.pin_state, "/srv/pin");
	assert_int_equal(cfg.policy.max_failures, 3);
	assert_int_equal(cfg.policy.lockout_seconds, 120);
	assert_int_equal(cfg.policy.delay_cap_seconds, 5);
	assert_int_equal(cfg.idle_close_s, 60);
	assert_string_equal(cfg.control_socket, "/srv/q/control.sock");
	assert_string_equal(cfg.spool_dir, "/srv/q");
	assert_string_equal(cfg.status_file, "/srv/status");
	config_finish(&conf);
}

static void test_wrong_pins_and_lockout(void **state)
{
	(void)state;
	struct pin_policy policy = {
	        .max_failures = 3, .lockout_seconds = 600, .delay_cap_seconds = 0};
	struct paths p;
	struct maintenance *m = make("lockout", &policy, NULL, &p);
	assert_true(maintenance_open_request(m));
	struct maintenance_pin_view v;

	/* Malformed: refused, not counted. */
	assert_int_equal(enter_pin(m, "123"), MAINTENANCE_PIN_MALFORMED);
	maintenance_pin_view(m, &v);
	assert_int_equal(v.guard.failures, 0);
	assert_int_equal(v.guard.attempts_left, 3);

	assert_int_equal(enter_pin(m, "11111111"), MAINTENANCE_PIN_WRONG);
	maintenance_pin_view(m, &v);
	assert_int_equal(v.guard.mode, PIN_GUARD_OPEN);
	assert_int_equal(v.guard.attempts_left, 2);
	assert_int_equal(enter_pin(m, "22222222"), MAINTENANCE_PIN_WRONG);
	maintenance_pin_view(m, &v);
	assert_int_equal(v.guard.attempts_left, 1);
	assert_int_equal(enter_pin(m, "33333333"), MAINTENANCE_PIN_WRONG);
	maintenance_pin_view(m, &v);
	assert_int_equal(v.guard.mode, PIN_GUARD_LOCKED);
	assert_int_equal(v.guard.attempts_left, 0);
	assert_int_equal(v.guard.seconds_left, 600);
	assert_false(v.can_submit);
	/* Locked: even the right PIN is refused unchecked. */
	assert_int_equal(enter_pin(m, RIGHT_PIN), MAINTENANCE_PIN_LOCKED);
	assert_int_equal(maintenance_state(m), MAINTENANCE_PIN);
	assert_true(ring_has("pin: wrong maintenance PIN (failure 3 of 3"));
	assert_true(ring_has("pin: attempt refused unchecked: locked"));
	assert_int_equal(seen.released_nonzero, 0);
	maintenance_destroy(m);

	/* A new model (a restart) on the same state file: still locked. */
	clocks.boot_ms += 120000;
	m = make("lockout", &policy, NULL, &p);
	assert_true(maintenance_open_request(m));
	maintenance_pin_view(m, &v);
	assert_int_equal(v.guard.mode, PIN_GUARD_LOCKED);
	assert_int_equal(v.guard.seconds_left, 480);
	assert_int_equal(enter_pin(m, RIGHT_PIN), MAINTENANCE_PIN_LOCKED);
	/* After the lockout the right PIN opens. */
	clocks.boot_ms += 480000;
	clocks.wall_ms += 480000;
	maintenance_pin_view(m, &v);
	assert_int_equal(v.guard.mode, PIN_GUARD_OPEN);
	assert_int_equal(enter_pin(m, RIGHT_PIN), MAINTENANCE_PIN_ACCEPTED);
	maintenance_destroy(m);

	/* With a delay: the next attempt right after a wrong one waits. */
	struct pin_policy delayed = {
	        .max_failures = 5, .lockout_seconds = 900, .delay_cap_seconds = 60};
	m = make("delay", &delayed, NULL, &p);
	assert_true(maintenance_open_request(m));
	assert_int_equal(enter_pin(m, "11111111"), MAINTENANCE_PIN_WRONG);
	maintenance_pin_view(m, &v);
	assert_int_equal(v.guard.mode, PIN_GUARD_WAIT);
	assert_int_equal(v.guard.seconds_left, 1);
	assert_int_equal(v.guard.attempts_left, 4);
	assert_int_equal(enter_pin(m, RIGHT_PIN), MAINTENANCE_PIN_WAIT);
	clocks.boot_ms += 1000;
	assert_int_equal(enter_pin(m, RIGHT_PIN), MAINTENANCE_PIN_ACCEPTED);
	maintenance_destroy(m);
}

/* ---- idle close --------------------------------------------------------------------------------
 */

static void test_idle_close(void **state)
{
	(void)state;
	struct paths p;
	struct maintenance *m = make("idle", NULL, NULL, &p);

	/* The PIN pad: 30 s untouched. */
	assert_true(maintenance_open_request(m));
	assert_true(maintenance_poll(m) & MAINTENANCE_CHANGED_STATE);
	assert_true(maintenance_pin_append(m, '2'));
	maintenance_advance(m, 29);
	assert_int_equal(maintenance_poll(m) & MAINTENANCE_CHANGED_STATE, 0);
	assert_int_equal(maintenance_ms_to_close(m), 1000);
	maintenance_advance(m, 1);
	assert_true(maintenance_poll(m) & MAINTENANCE_CHANGED_STATE);
	assert_int_equal(maintenance_state(m), MAINTENANCE_CLOSED);
	struct maintenance_pin_view v;
	maintenance_pin_view(m, &v);
	assert_int_equal(v.digits, 0);
	assert_true(ring_has("maintenance: PIN pad closed (idle)"));

	/* The menu: idle_close (120 s) untouched; a touch starts it again. */
	open_menu(m);
	wait_status(m, 1);
	assert_int_equal(maintenance_ms_to_close(m), 120000);
	clocks.menu_ms += 119000;
	maintenance_poll(m);
	assert_int_equal(maintenance_state(m), MAINTENANCE_OPEN);
	assert_true(maintenance_log_refresh(m)); /* a touch too */
	uint32_t one = 1;
	pump(m, log_done, &one);
	assert_true(maintenance_log(m)->count > 0);
	maintenance_advance(m, 119);
	maintenance_poll(m);
	assert_int_equal(maintenance_state(m), MAINTENANCE_OPEN);
	maintenance_advance(m, 1);
	assert_true(maintenance_poll(m) & MAINTENANCE_CHANGED_STATE);
	assert_int_equal(maintenance_state(m), MAINTENANCE_CLOSED);
	assert_true(ring_has("maintenance: menu closed (idle)"));
	/* Nothing of the visit is left. */
	assert_int_equal(maintenance_status(m)->refreshes, 0);
	assert_int_equal(maintenance_status(m)->system_uptime_seconds, 0);
	assert_int_equal(maintenance_log(m)->count, 0);
	assert_int_equal(maintenance_item_count(m), 0);
	assert_false(maintenance_status_refresh(m));
	maintenance_destroy(m);

	/* idle_close shorter than the pad's 30 s closes the pad too. */
	struct maintenance_config cfg;
	maintenance_config_init(&cfg);
	cfg.pin_hash = fast_hash;
	cfg.pin_state = p.state;
	cfg.idle_close_s = 10;
	cfg.hooks = &test_hooks;
	char err[MAINTENANCE_ERROR_MAX];
	m = maintenance_create(&cfg, handle_notify, NULL, err);
	assert_non_null(m);
	assert_true(maintenance_open_request(m));
	assert_int_equal(maintenance_ms_to_close(m), 10000);
	maintenance_advance(m, 10);
	maintenance_poll(m);
	assert_int_equal(maintenance_state(m), MAINTENANCE_CLOSED);
	maintenance_destroy(m);
}

/* ---- status from the file, queue ----------------------------------------------------------------
 */

#define ID_FAILED "0190c2a4d1f07b3e9a1c55e2f0d4b6a9"
#define ID_QUAR   "0190c2a4d1f07b3e9a1c55e2f0d4b6aa"
#define ID_QUEUED "0190c2a4d1f07b3e9a1c55e2f0d4b6a8"

static void write_status_file(const char *path, const char *failed_id)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
	        "{\"version\":1,\"updated\":1700000100,\"pid\":4242,\"started\":1700000000,"
	        "\"activity\":\"stopped\",\"counts\":{\"new\":1,\"sending\":0,\"failed\":1,"
	        "\"quarantine\":1},\"bytes\":{\"new\":5000,\"sending\":0,\"failed\":2500,"
	        "\"quarantine\":900},\"oldest_age_seconds\":90,\"last_success\":1700000050,"
	        "\"last_attempt\":1700000090,\"last_outcome\":\"unavailable\",\"last_error\":"
	        "\"unavailable\",\"last_error_time\":1700000090,\"next_attempt\":1700003690,"
	        "\"bytes_sent\":123456,\"uploads\":{\"delivered\":3,\"unavailable\":1},"
	        "\"queue\":[{\"id\":\"" ID_QUEUED "\",\"age_seconds\":90,\"bytes\":5000,"
	        "\"attempts\":1,\"next_due\":1700003690,\"last_error\":\"unavailable\"}],"
	        "\"failed\":[{\"id\":\"%s\",\"age_seconds\":80,\"bytes\":2500,\"attempts\":1,"
	        "\"next_due\":0,\"last_error\":\"conflict\"}],"
	        "\"quarantine\":[{\"id\":\"" ID_QUAR "\",\"age_seconds\":70,\"bytes\":900,"
	        "\"attempts\":0,\"next_due\":0,\"last_error\":\"truncated\"}]}",
	        failed_id);
	assert_int_equal(fclose(f), 0);
}

static void test_status_from_file(void **state)
{
	(void)state;
	struct paths p;
	struct maintenance *m = make("file", NULL, NULL, &p);
	write_status_file(p.status, ID_FAILED);
	open_menu(m);
	wait_status(m, 1);
	const struct maintenance_status *st = maintenance_status(m);
	/* The uploader is not running: said so, and the file is the source. */
	assert_false(st->uploader_running);
	assert_int_equal(st->socket_error, UPLOAD_CONTROL_NOT_RUNNING);
	assert_int_equal(st->upload_source, MAINTENANCE_SOURCE_FILE);
	assert_string_equal(maintenance_source_name(st->upload_source), "file");
	assert_int_equal(st->file_error, UPLOAD_CONTROL_OK);
	assert_int_equal(st->upload.pid, 4242);
	assert_string_equal(st->upload.activity, "stopped");
	assert_int_equal(st->upload.count[SPOOL_STATE_NEW], 1);
	assert_int_equal(st->upload.oldest_age_seconds, 90);
	assert_int_equal(st->upload.last_success, 1700000050);
	assert_int_equal(st->upload_age_seconds, st->read_at - 1700000100);

	/* The queue screen's list: failed, then quarantined. */
	assert_int_equal(maintenance_item_count(m), 2);
	const struct maintenance_item *it = maintenance_item(m, 0);
	assert_string_equal(it->id, ID_FAILED);
	assert_int_equal(it->state, SPOOL_STATE_FAILED);
	assert_int_equal(it->age_seconds, 80);
	assert_int_equal(it->bytes, 2500);
	assert_string_equal(it->error_class, "conflict");
	it = maintenance_item(m, 1);
	assert_string_equal(it->id, ID_QUAR);
	assert_int_equal(it->state, SPOOL_STATE_QUARANTINE);
	assert_string_equal(it->error_class, "truncated");
	assert_null(maintenance_item(m, 2));

	/* A damaged file: no source, and why. */
	FILE *f = fopen(p.status, "w");
	assert_non_null(f);
	fputs("{\"version\":1,", f);
	fclose(f);
	assert_true(maintenance_status_refresh(m));
	assert_true(maintenance_status_refresh(m)); /* made when the first ends */
	assert_true(maintenance_status(m)->refreshing);
	wait_status(m, 3);
	st = maintenance_status(m);
	assert_int_equal(st->upload_source, MAINTENANCE_SOURCE_NONE);
	assert_int_equal(st->file_error, UPLOAD_CONTROL_BAD_ANSWER);
	assert_int_equal(maintenance_item_count(m), 0);
	maintenance_destroy(m);
}

static void test_discard_two_steps(void **state)
{
	(void)state;
	struct paths p;
	struct maintenance *m = make("discard", NULL, NULL, &p);
	write_status_file(p.status, ID_FAILED);
	open_menu(m);
	wait_status(m, 1);

	assert_null(maintenance_discard_pending(m));
	assert_false(maintenance_discard_confirm(m));            /* nothing asked */
	assert_false(maintenance_discard_request(m, ID_QUEUED)); /* queued: not an item */
	assert_false(maintenance_discard_request(m, "not-an-id"));
	assert_true(maintenance_discard_request(m, ID_FAILED));
	const struct maintenance_item *pending = maintenance_discard_pending(m);
	assert_non_null(pending);
	assert_string_equal(pending->id, ID_FAILED);
	assert_string_equal(pending->error_class, "conflict");
	maintenance_discard_cancel(m);
	assert_null(maintenance_discard_pending(m));
	assert_false(maintenance_discard_confirm(m));
	assert_true(ring_has("maintenance: discard of submission " ID_FAILED
	                     " (failed/, class conflict) asked"));
	assert_true(ring_has("maintenance: discard of submission " ID_FAILED " cancelled"));

	/* Confirmed: asked of the uploader, which is not running here. */
	assert_true(maintenance_discard_request(m, ID_QUAR));
	assert_true(maintenance_discard_confirm(m));
	assert_null(maintenance_discard_pending(m));
	assert_true(maintenance_queue_result(m)->running);
	assert_int_equal(maintenance_queue_result(m)->op, MAINTENANCE_QUEUE_DISCARD);
	pump(m, queue_done, NULL);
	assert_int_equal(maintenance_queue_result(m)->error, UPLOAD_CONTROL_NOT_RUNNING);
	assert_true(ring_has("maintenance: discard of submission " ID_QUAR
	                     " (quarantine/, class truncated) confirmed"));
	assert_true(ring_has("maintenance: discard of submission " ID_QUAR
	                     " failed: the uploader is not running"));
	/* A status refresh follows the action. */
	wait_status(m, 2);

	assert_true(maintenance_retry_now(m));
	assert_false(maintenance_retry_now(m)); /* one queue action at a time */
	pump(m, queue_done, NULL);
	assert_int_equal(maintenance_queue_result(m)->op, MAINTENANCE_QUEUE_RETRY_NOW);
	assert_int_equal(maintenance_queue_result(m)->error, UPLOAD_CONTROL_NOT_RUNNING);
	maintenance_destroy(m);
}

/* ---- workers never hold the UI ------------------------------------------------------------------
 */

static void hold(int task)
{
	pthread_mutex_lock(&seen.lock);
	seen.hold_task = task;
	seen.open = false;
	pthread_mutex_unlock(&seen.lock);
}

static void wait_held(void)
{
	pthread_mutex_lock(&seen.lock);
	while (!seen.holding)
		pthread_cond_wait(&seen.cond, &seen.lock);
	pthread_mutex_unlock(&seen.lock);
}

static void release(void)
{
	pthread_mutex_lock(&seen.lock);
	seen.open = true;
	seen.hold_task = -1;
	pthread_cond_broadcast(&seen.cond);
	pthread_mutex_unlock(&seen.lock);
}

static bool status_idle(struct maintenance *m, void *ctx)
{
	(void)ctx;
	return !maintenance_status(m)->refreshing;
}

static void test_worker_never_blocks(void **state)
{
	(void)state;
	struct paths p;
	struct maintenance *m = make("held", NULL, NULL, &p);
	write_status_file(p.status, ID_FAILED);

	/* The PIN check held: the pad's calls answer meanwhile. */
	hold(MAINTENANCE_TASK_PIN);
	assert_true(maintenance_open_request(m));
	for (const char *c = RIGHT_PIN; *c; c++)
		assert_true(maintenance_pin_append(m, *c));
	assert_true(maintenance_pin_submit(m));
	wait_held();
	struct maintenance_pin_view v;
	for (int i = 0; i < 3; i++) {
		maintenance_poll(m);
		maintenance_pin_view(m, &v);
	}
	assert_int_equal(maintenance_state(m), MAINTENANCE_CHECKING);
	assert_false(v.can_submit);
	assert_false(maintenance_pin_submit(m));
	release();
	pump(m, not_checking, NULL);
	assert_int_equal(maintenance_state(m), MAINTENANCE_WIPE);

	/* The status held: the menu works, closes and opens again meanwhile. */
	hold(MAINTENANCE_TASK_STATUS);
	struct session *s = session_create(NULL);
	assert_true(maintenance_confirm_wipe(m, s));
	wait_held();
	assert_true(maintenance_status(m)->refreshing);
	assert_true(maintenance_status_refresh(m)); /* queued behind the held one */
	maintenance_poll(m);
	assert_true(maintenance_discard_request(m, ID_FAILED) == false); /* no status yet */
	maintenance_close(m);
	assert_int_equal(maintenance_state(m), MAINTENANCE_CLOSED);
	assert_true(maintenance_open_request(m));
	assert_int_equal(enter_pin(m, RIGHT_PIN), MAINTENANCE_PIN_ACCEPTED);
	assert_true(maintenance_confirm_wipe(m, s));
	session_destroy(s);
	assert_true(maintenance_status(m)->refreshing); /* the old one, still held */
	release();
	/* The closed visit's answer is dropped; a fresh one is asked for. */
	wait_status(m, 1);
	assert_int_equal(maintenance_status(m)->refreshes, 1);
	pump(m, status_idle, NULL);
	assert_int_equal(maintenance_status(m)->upload_source, MAINTENANCE_SOURCE_FILE);
	assert_int_equal(maintenance_item_count(m), 2);
	maintenance_destroy(m);
}

/* ---- log ----------------------------------------------------------------------------------------
 */

static void test_log_ring_contents(void **state)
{
	(void)state;
	struct paths p;
	struct maintenance *m = make("log", NULL, NULL, &p);
	log_info("a kiosk line before the menu");
	open_menu(m);
	wait_status(m, 1);
	assert_true(maintenance_log_refresh(m));
	assert_false(maintenance_log_refresh(m));
	uint32_t one = 1;
	assert_true(pump(m, log_done, &one) & MAINTENANCE_CHANGED_LOG);
	const struct maintenance_log *log = maintenance_log(m);
	/* The kiosk's own lines, in order; the uploader's are missing, with why. */
	assert_int_equal(log->uploader_error, UPLOAD_CONTROL_NOT_RUNNING);
	assert_int_equal(log->uploader_count, 0);
	assert_int_equal(log->count, log->kiosk_count);
	assert_true(log->count >= 4);
	bool before = false, accepted = false, opened = false;
	for (size_t i = 0; i < log->count; i++) {
		const struct maintenance_log_line *l = &log->lines[i];
		assert_int_equal(l->source, MAINTENANCE_LOG_KIOSK);
		assert_true(i == 0 || l->entry.seq == log->lines[i - 1].entry.seq + 1);
		assert_true(log_text_valid(l->entry.text, sizeof(l->entry.text)));
		before = before || strstr(l->entry.text, "a kiosk line before the menu");
		accepted = accepted || strstr(l->entry.text, "pin: maintenance PIN accepted");
		opened = opened || strstr(l->entry.text, "maintenance: menu opened");
	}
	assert_true(before && accepted && opened);

	/* More than the ring holds: the newest 200. */
	for (int i = 0; i < 250; i++)
		log_info("filler %d", i);
	assert_true(maintenance_log_refresh(m));
	uint32_t two = 2;
	pump(m, log_done, &two);
	log = maintenance_log(m);
	assert_int_equal(log->kiosk_count, LOG_RING_LINES);
	assert_non_null(strstr(log->lines[log->count - 1].entry.text, "filler 249"));
	assert_non_null(strstr(log->lines[log->count - LOG_RING_LINES].entry.text, "filler 50"));
	maintenance_destroy(m);
}

/* ---- restart, reboot
 * ------------------------------------------------------------------------------ */

static void test_restart_and_reboot(void **state)
{
	(void)state;
	struct paths p;
	struct maintenance *m = make("power", NULL, NULL, &p);
	open_menu(m);
	assert_int_equal(maintenance_power_pending(m), MAINTENANCE_POWER_LAST);
	assert_false(maintenance_power_confirm(m));
	assert_false(maintenance_power_request(m, MAINTENANCE_POWER_LAST));

	/* Reboot through the (test's) bus: the call logind expects. */
	assert_true(maintenance_power_request(m, MAINTENANCE_REBOOT));
	assert_int_equal(maintenance_power_pending(m), MAINTENANCE_REBOOT);
	maintenance_power_cancel(m);
	assert_int_equal(maintenance_power_pending(m), MAINTENANCE_POWER_LAST);
	assert_int_equal(seen.calls, 0);
	assert_true(maintenance_power_request(m, MAINTENANCE_REBOOT));
	assert_true(maintenance_power_confirm(m));
	assert_true(maintenance_power_result(m)->running);
	pump(m, power_done, NULL);
	assert_int_equal(seen.calls, 1);
	assert_string_equal(seen.call.destination, "org.freedesktop.login1");
	assert_string_equal(seen.call.path, "/org/freedesktop/login1");
	assert_string_equal(seen.call.interface, "org.freedesktop.login1.Manager");
	assert_string_equal(seen.call.member, "Reboot");
	assert_false(seen.call.argument);
	const struct maintenance_power_result *r = maintenance_power_result(m);
	assert_int_equal(r->what, MAINTENANCE_REBOOT);
	assert_true(r->ok);
	assert_true(ring_has("maintenance: reboot asked of systemd-logind"));

	/* Refused by logind (polkit): the reason shows. */
	seen.bus_fails = true;
	assert_true(maintenance_power_request(m, MAINTENANCE_REBOOT));
	assert_true(maintenance_power_confirm(m));
	pump(m, power_done, NULL);
	assert_false(maintenance_power_result(m)->ok);
	assert_string_equal(maintenance_power_result(m)->error, "Access denied");

	/* Restart the uploader: not running here, and said so. */
	assert_true(maintenance_power_request(m, MAINTENANCE_RESTART_UPLOADER));
	assert_true(maintenance_power_confirm(m));
	pump(m, power_done, NULL);
	r = maintenance_power_result(m);
	assert_int_equal(r->what, MAINTENANCE_RESTART_UPLOADER);
	assert_false(r->ok);
	assert_string_equal(r->error, "the uploader is not running");

	/* Restart the kiosk: the menu closes, the UI gets its exit status. */
	assert_true(maintenance_power_request(m, MAINTENANCE_RESTART_KIOSK));
	assert_int_equal(maintenance_exit_status(m), -1);
	assert_true(maintenance_power_confirm(m));
	assert_int_equal(maintenance_state(m), MAINTENANCE_CLOSED);
	assert_int_equal(maintenance_exit_status(m), MAINTENANCE_EXIT_RESTART);
	assert_int_equal(MAINTENANCE_EXIT_RESTART, 75);
	assert_true(ring_has("maintenance: the kiosk exits with status 75"));
	maintenance_destroy(m);

	/* The real bus call without a system bus: a clear error, no hang. */
	struct maintenance_hooks no_bus = test_hooks;
	no_bus.bus_call = NULL;
	char nothing[PATH_MAX + 32];
	snprintf(nothing, sizeof(nothing), "unix:path=%s/no-system-bus", workdir);
	assert_int_equal(setenv("DBUS_SYSTEM_BUS_ADDRESS", nothing, 1), 0);
	struct maintenance_bus_call call = {.destination = "org.freedesktop.login1",
	                                    .path = "/org/freedesktop/login1",
	                                    .interface = "org.freedesktop.login1.Manager",
	                                    .member = "Reboot"};
	char err[MAINTENANCE_ERROR_MAX];
	assert_false(maintenance_bus_call_system(&call, err));
	assert_non_null(strstr(err, "no system bus to reach systemd-logind"));

	struct maintenance_config cfg;
	maintenance_config_init(&cfg);
	cfg.pin_hash = fast_hash;
	cfg.pin_state = p.state;
	cfg.hooks = &no_bus;
	m = maintenance_create(&cfg, handle_notify, NULL, err);
	assert_non_null(m);
	open_menu(m);
	assert_true(maintenance_power_request(m, MAINTENANCE_REBOOT));
	assert_true(maintenance_power_confirm(m));
	pump(m, power_done, NULL);
	r = maintenance_power_result(m);
	assert_false(r->ok);
	assert_non_null(strstr(r->error, "no system bus to reach systemd-logind"));
	assert_true(ring_has("maintenance: reboot failed: no system bus"));
	maintenance_destroy(m);
	unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

/* ---- the scanner
 * ---------------------------------------------------------------------------------- */

static const char *pages_dir(void)
{
	const char *d = getenv("SCANKIOSK_PAGES_DIR");
	return d && *d ? d : "../shared/pages";
}

static struct scan_service *start_sim(void)
{
	char device[PATH_MAX + 64];
	snprintf(device, sizeof(device), "sim:pages=%s/s01_payslip.png", pages_dir());
	struct scan_service_config cfg;
	scan_service_config_init(&cfg);
	cfg.device = device;
	cfg.options.dpi = 75;
	cfg.retry_ms = 50;
	cfg.no_udev = true;
	struct scan_service *svc = scan_service_create(&cfg, handle_notify, NULL);
	assert_non_null(svc);
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	for (;;) {
		struct scan_service_status st;
		scan_service_get_status(svc, &st);
		if (st.state == SCAN_SERVICE_READY)
			return svc;
		assert_true(wait_notify(&start));
	}
}

/* Hands the scan service's events to the model until the test scan ends. */
static void run_test_scan(struct maintenance *m, struct scan_service *svc)
{
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	for (;;) {
		struct scan_service_event ev;
		while (scan_service_poll(svc, &ev)) {
			assert_true(maintenance_scan_event(m, &ev));
			assert_null(ev.page_result);
		}
		maintenance_poll(m);
		struct maintenance_test_scan ts;
		maintenance_test_scan(m, &ts);
		if (!ts.running)
			return;
		assert_true(wait_notify(&start));
	}
}

static void test_test_scan(void **state)
{
	(void)state;
	struct scan_service *svc = start_sim();
	struct paths p;
	struct maintenance *m = make("scan", NULL, svc, &p);
	/* While the PIN pad shows, the events stay the session's. */
	assert_true(maintenance_open_request(m));
	struct scan_service_event ev = {.kind = SCAN_SERVICE_EVENT_STATE};
	assert_false(maintenance_scan_event(m, &ev));
	assert_int_equal(maintenance_test_scan_start(m, SCAN_SERVICE_SOURCE_FLATBED), 0);
	maintenance_close(m);

	open_menu(m);
	wait_status(m, 1);
	const struct maintenance_status *st = maintenance_status(m);
	assert_true(st->has_scanner);
	assert_int_equal(st->scanner.state, SCAN_SERVICE_READY);
	struct scan_service_status now;
	assert_true(maintenance_scanner_status(m, &now));
	assert_int_equal(now.state, SCAN_SERVICE_READY);

	uint32_t job = maintenance_test_scan_start(m, SCAN_SERVICE_SOURCE_FLATBED);
	assert_true(job > 0);
	assert_int_equal(maintenance_test_scan_start(m, SCAN_SERVICE_SOURCE_FLATBED), 0);
	run_test_scan(m, svc);
	struct maintenance_test_scan ts;
	maintenance_test_scan(m, &ts);
	assert_int_equal(ts.job, job);
	assert_int_equal(ts.pages, 1);
	assert_int_equal(ts.problem, SCAN_PROBLEM_NONE);
	const struct scan_page *page = maintenance_test_page(m);
	assert_non_null(page);
	assert_true(page->facts.width > 0 && page->facts.height > 0 && page->facts.bytes > 0);
	assert_int_equal(page->facts.dpi, 75);
	assert_non_null(page->thumb);

	/* Discarded: JPEG and thumbnail zeroed before they are freed. */
	unsigned before = seen.released;
	maintenance_test_page_discard(m);
	assert_null(maintenance_test_page(m));
	assert_int_equal(seen.released, before + 2);
	assert_int_equal(seen.released_nonzero, 0);

	/* A second scan's page goes with the menu. */
	assert_true(maintenance_test_scan_start(m, SCAN_SERVICE_SOURCE_DEFAULT) > job);
	run_test_scan(m, svc);
	assert_non_null(maintenance_test_page(m));
	before = seen.released;
	maintenance_close(m);
	assert_null(maintenance_test_page(m));
	assert_int_equal(seen.released, before + 3); /* the PIN buffer, JPEG, thumbnail */
	assert_int_equal(seen.released_nonzero, 0);
	maintenance_destroy(m);
	scan_service_destroy(svc);
}

/* ---- the scanner: devices and settings --------------------------------------------------------
 */

/* Holds the scan service's thread before a job is set up (a scan the
 * service accepted, as a customer's would be). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool armed, entered, open;
} job_gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, false};

static void hook_before_job(void *userdata)
{
	(void)userdata;
	pthread_mutex_lock(&job_gate.lock);
	if (job_gate.armed) {
		job_gate.entered = true;
		pthread_cond_broadcast(&job_gate.cond);
		while (!job_gate.open)
			pthread_cond_wait(&job_gate.cond, &job_gate.lock);
		job_gate.armed = false;
	}
	pthread_mutex_unlock(&job_gate.lock);
}

static const struct scan_service_hooks scan_hooks = {.before_job = hook_before_job};

/* Waits until the scan service reads `state` (device name too, unless NULL),
 * handing its events to the model as the UI does while the menu is open. */
static void wait_scanner(struct maintenance *m, struct scan_service *svc,
                         enum scan_service_state state, const char *device)
{
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	for (;;) {
		struct scan_service_event ev;
		while (scan_service_poll(svc, &ev))
			if (!m || !maintenance_scan_event(m, &ev))
				scan_service_event_discard(&ev);
		if (m)
			maintenance_poll(m);
		struct scan_service_status st;
		scan_service_get_status(svc, &st);
		if (st.state == state && (!device || strcmp(st.device, device) == 0))
			return;
		if (!wait_notify(&start))
			fail_msg("scanner still %s (%s), waiting for %s (%s)",
			         scan_service_state_name(st.state), st.device,
			         scan_service_state_name(state), device ? device : "any");
	}
}

/* The simulator at 75 dpi on the glass with a feeder of `sheets`; the
 * device name is written to device. */
static struct scan_service *start_sim_with(unsigned sheets, const struct scan_service_hooks *hooks,
                                           char *device, size_t size)
{
	snprintf(device, size, "sim:pages=%s/s01_payslip.png;feeder=%u", pages_dir(), sheets);
	struct scan_service_config cfg;
	scan_service_config_init(&cfg);
	cfg.device = device;
	cfg.options.dpi = 75;
	cfg.retry_ms = 50;
	cfg.no_udev = true;
	cfg.hooks = hooks;
	struct scan_service *svc = scan_service_create(&cfg, handle_notify, NULL);
	assert_non_null(svc);
	wait_scanner(NULL, svc, SCAN_SERVICE_READY, NULL);
	return svc;
}

/* The SANE test backend (test:0 and test:1, from the private
 * SANE_CONFIG_DIR group_setup made) after `conf`'s [scanner]. */
static struct scan_service *start_sane(const struct config *conf)
{
	struct scan_service_config cfg;
	scan_service_config_init(&cfg);
	scan_service_config_apply(&cfg, conf);
	cfg.options.width_mm = 50;
	cfg.options.height_mm = 50;
	cfg.retry_ms = 50;
	cfg.no_udev = true;
	struct scan_service *svc = scan_service_create(&cfg, handle_notify, NULL);
	assert_non_null(svc);
	return svc;
}

static bool devices_listed(struct maintenance *m, void *ctx)
{
	uint32_t want = *(uint32_t *)ctx;
	const struct maintenance_devices *d = maintenance_devices(m);
	return d->listings >= want && !d->listing;
}

static bool settings_settled(struct maintenance *m, void *ctx)
{
	(void)ctx;
	return !maintenance_scanner_result(m)->running;
}

static void test_scanner_devices(void **state)
{
	(void)state;
	char device[PATH_MAX + 64];
	struct scan_service *svc = start_sim_with(2, NULL, device, sizeof(device));
	struct paths p;
	struct maintenance *m = make("devices", NULL, svc, &p);
	/* Not before the menu is open. */
	assert_false(maintenance_devices_refresh(m));
	assert_true(maintenance_open_request(m));
	assert_false(maintenance_devices_refresh(m));
	maintenance_close(m);

	open_menu(m);
	wait_status(m, 1);
	maintenance_poll(m);
	assert_true(maintenance_devices_refresh(m));
	assert_true(maintenance_devices(m)->listing);
	assert_false(maintenance_devices_refresh(m)); /* one runs */
	uint32_t one = 1;
	unsigned changes = pump(m, devices_listed, &one);
	assert_true(changes & MAINTENANCE_CHANGED_DEVICES);
	const struct maintenance_devices *d = maintenance_devices(m);
	assert_int_equal(d->listings, 1);
	assert_true(d->ok);
	assert_string_equal(d->error, "");
	assert_int_equal(d->count, 1);
	assert_int_equal(d->total, 1);
	assert_string_equal(d->devices[0].name, device);
	assert_string_equal(d->devices[0].vendor, "scankiosk");
	assert_string_equal(d->devices[0].model, "Simulated scanner");
	assert_string_equal(d->devices[0].serial, "");
	assert_true(d->devices[0].open);
	assert_true(ring_has("maintenance: 1 scanner device(s) listed"));

	/* Again: a second listing of this visit. */
	assert_true(maintenance_devices_refresh(m));
	uint32_t two = 2;
	pump(m, devices_listed, &two);
	assert_int_equal(maintenance_devices(m)->count, 1);

	/* Closing clears the list; a listing of the closed visit that ends
	 * later is not taken. */
	assert_true(maintenance_devices_refresh(m));
	assert_true(maintenance_poll(m) & MAINTENANCE_CHANGED_DEVICES);
	maintenance_close(m);
	assert_int_equal(maintenance_devices(m)->listings, 0);
	assert_int_equal(maintenance_devices(m)->count, 0);
	assert_false(maintenance_devices(m)->listing);
	wait_scanner(NULL, svc, SCAN_SERVICE_READY, NULL);
	struct scan_service_devices sd;
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	for (scan_service_get_devices(svc, &sd); sd.listing; scan_service_get_devices(svc, &sd))
		assert_true(wait_notify(&start));
	maintenance_poll(m);
	assert_int_equal(maintenance_devices(m)->listings, 0);
	maintenance_destroy(m);

	/* Without a scan service there is nothing to list or set. */
	m = make("devices-none", NULL, NULL, &p);
	open_menu(m);
	assert_false(maintenance_devices_refresh(m));
	struct maintenance_scanner_settings set;
	assert_false(maintenance_scanner_settings(m, &set));
	memset(&set, 0, sizeof(set));
	set.dpi = 300;
	assert_false(maintenance_scanner_apply(m, &set));
	assert_false(maintenance_scanner_result(m)->done);
	maintenance_destroy(m);
	scan_service_destroy(svc);
}

/* Source, dpi and mode applied: the scan service uses them at once (a test
 * scan shows the new dpi), and the file holds them as the loader reads it. */
static void test_scanner_settings_apply(void **state)
{
	(void)state;
	char device[PATH_MAX + 64];
	struct scan_service *svc = start_sim_with(3, NULL, device, sizeof(device));
	struct paths p;
	struct maintenance *m = make("settings", NULL, svc, &p);
	struct maintenance_scanner_settings set;
	assert_true(maintenance_scanner_settings(m, &set));
	assert_string_equal(set.device, device);
	assert_int_equal(set.source, CONFIG_SCAN_SOURCE_FLATBED);
	assert_int_equal(set.dpi, 75);
	assert_int_equal(set.mode, CONFIG_SCAN_MODE_AUTO);
	assert_false(maintenance_scanner_apply(m, &set)); /* not OPEN */

	open_menu(m);
	wait_status(m, 1);
	set.source = CONFIG_SCAN_SOURCE_ADF;
	set.dpi = 150;
	set.mode = CONFIG_SCAN_MODE_GRAY;
	assert_true(maintenance_scanner_apply(m, &set));
	const struct maintenance_settings_result *r = maintenance_scanner_result(m);
	assert_true(r->applied);
	assert_true(r->running);
	assert_true(maintenance_poll(m) & MAINTENANCE_CHANGED_SETTINGS);
	unsigned changes = pump(m, settings_settled, NULL);
	assert_true(changes & MAINTENANCE_CHANGED_SETTINGS);
	assert_true(r->done);
	assert_true(r->ok);
	assert_true(r->applied);
	assert_true(r->saved);
	assert_string_equal(r->error, "");
	char line[PATH_MAX + 256];
	snprintf(line, sizeof(line),
	         "maintenance: scanner settings applied: device %s, source adf, 150 dpi, mode gray",
	         device);
	assert_true(ring_has(line));
	assert_true(ring_has("maintenance: scanner settings saved to"));

	struct maintenance_scanner_settings now;
	assert_true(maintenance_scanner_settings(m, &now));
	assert_memory_equal(&now, &set, sizeof(now));

	/* The test scan from the default source (the feeder now): 150 dpi, grey. */
	assert_true(maintenance_test_scan_start(m, SCAN_SERVICE_SOURCE_DEFAULT) > 0);
	run_test_scan(m, svc);
	const struct scan_page *page = maintenance_test_page(m);
	assert_non_null(page);
	assert_int_equal(page->facts.dpi, 150);
	assert_int_equal(page->facts.width, 1240);
	assert_false(page->facts.stored_color);
	maintenance_test_page_discard(m);

	/* The file, as the kiosk reads it at its next start. */
	struct config conf;
	char err[CONFIG_ERROR_MAX];
	config_init(&conf);
	bool found = false;
	assert_true(config_load_scanner_settings(&conf, p.settings, &found, err));
	assert_true(found);
	assert_string_equal(conf.scanner.device, device);
	assert_int_equal(conf.scanner.source, CONFIG_SCAN_SOURCE_ADF);
	assert_int_equal(conf.scanner.dpi, 150);
	assert_int_equal(conf.scanner.mode, CONFIG_SCAN_MODE_GRAY);
	config_finish(&conf);
	struct stat sb;
	assert_int_equal(stat(p.settings, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);

	/* Back to the glass at 75 dpi in colour: the next test scan says so. */
	set.source = CONFIG_SCAN_SOURCE_FLATBED;
	set.dpi = 75;
	set.mode = CONFIG_SCAN_MODE_COLOR;
	assert_true(maintenance_scanner_apply(m, &set));
	pump(m, settings_settled, NULL);
	assert_true(maintenance_scanner_result(m)->saved);
	assert_true(maintenance_test_scan_start(m, SCAN_SERVICE_SOURCE_DEFAULT) > 0);
	run_test_scan(m, svc);
	assert_int_equal(maintenance_test_page(m)->facts.dpi, 75);
	assert_true(maintenance_test_page(m)->facts.stored_color);

	/* Closing forgets the result. */
	maintenance_close(m);
	assert_false(maintenance_scanner_result(m)->done);
	assert_false(maintenance_scanner_result(m)->applied);
	maintenance_destroy(m);
	scan_service_destroy(svc);
}

/* Refused while a scan runs (the test scan, or one the scan service
 * accepted) and with values out of range; a save that cannot be made and a
 * model without a settings file; a save running when the menu closes
 * still writes the file, its result goes with the visit. */
static void test_scanner_settings_refused(void **state)
{
	(void)state;
	char device[PATH_MAX + 64];
	struct scan_service *svc = start_sim_with(3, &scan_hooks, device, sizeof(device));
	struct paths p;
	struct maintenance *m = make("refused", NULL, svc, &p);
	open_menu(m);
	wait_status(m, 1);
	struct maintenance_scanner_settings before, set;
	assert_true(maintenance_scanner_settings(m, &before));

	/* The test scan runs (until the model has seen its end). */
	assert_true(maintenance_test_scan_start(m, SCAN_SERVICE_SOURCE_FLATBED) > 0);
	set = before;
	set.dpi = 300;
	assert_false(maintenance_scanner_apply(m, &set));
	const struct maintenance_settings_result *r = maintenance_scanner_result(m);
	assert_true(r->done);
	assert_false(r->ok);
	assert_false(r->applied);
	assert_string_equal(r->error, "the test scan is running: try again when it has ended");
	assert_true(maintenance_poll(m) & MAINTENANCE_CHANGED_SETTINGS);
	run_test_scan(m, svc);

	/* A scan the service accepted, held before it starts. */
	pthread_mutex_lock(&job_gate.lock);
	job_gate.armed = true;
	job_gate.entered = job_gate.open = false;
	pthread_mutex_unlock(&job_gate.lock);
	assert_true(scan_service_start(svc, SCAN_SERVICE_SOURCE_FLATBED, 1) > 0);
	pthread_mutex_lock(&job_gate.lock);
	while (!job_gate.entered)
		pthread_cond_wait(&job_gate.cond, &job_gate.lock);
	pthread_mutex_unlock(&job_gate.lock);
	assert_false(maintenance_scanner_apply(m, &set));
	assert_string_equal(r->error, "a scan is running: try again when it has ended");
	struct maintenance_scanner_settings now;
	assert_true(maintenance_scanner_settings(m, &now));
	assert_memory_equal(&now, &before, sizeof(now));
	assert_false(ring_has("maintenance: scanner settings applied"));
	pthread_mutex_lock(&job_gate.lock);
	job_gate.open = true;
	pthread_cond_broadcast(&job_gate.cond);
	pthread_mutex_unlock(&job_gate.lock);
	wait_scanner(m, svc, SCAN_SERVICE_READY, NULL);

	/* Out of range. */
	set = before;
	set.dpi = 50;
	assert_false(maintenance_scanner_apply(m, &set));
	assert_non_null(strstr(r->error, "out of range"));
	set = before;
	set.mode = CONFIG_SCAN_MODE_LAST;
	assert_false(maintenance_scanner_apply(m, &set));
	assert_false(r->applied);
	assert_false(access(p.settings, F_OK) == 0); /* nothing saved so far */

	/* A save held on its worker: another apply waits for it; the menu
	 * closes meanwhile; the file is written, the result dropped. */
	hold(MAINTENANCE_TASK_SETTINGS);
	set = before;
	set.dpi = 200;
	assert_true(maintenance_scanner_apply(m, &set));
	wait_held();
	assert_true(r->running);
	set.dpi = 300;
	assert_false(maintenance_scanner_apply(m, &set));
	assert_true(r->running); /* untouched */
	maintenance_close(m);
	assert_true(r->running); /* the save of the closed visit still runs */
	assert_false(r->done);
	release();
	pump(m, settings_settled, NULL);
	assert_false(r->done);
	assert_false(r->saved);
	struct config conf;
	char err[CONFIG_ERROR_MAX];
	bool found = false;
	config_init(&conf);
	assert_true(config_load_scanner_settings(&conf, p.settings, &found, err));
	assert_true(found);
	assert_int_equal(conf.scanner.dpi, 200);
	config_finish(&conf);
	maintenance_destroy(m);

	/* A settings file in a directory that does not exist: applied, not
	 * saved, and the technician is told why. */
	struct maintenance_config cfg;
	maintenance_config_init(&cfg);
	cfg.pin_hash = fast_hash;
	cfg.pin_state = p.state;
	cfg.scanner = svc;
	char missing[PATH_MAX];
	path_in(missing, sizeof(missing), "refused/no-such-dir/scanner.conf");
	cfg.scanner_settings = missing;
	cfg.hooks = &test_hooks;
	m = maintenance_create(&cfg, handle_notify, NULL, err);
	assert_non_null(m);
	open_menu(m);
	set = before;
	set.dpi = 100;
	assert_true(maintenance_scanner_apply(m, &set));
	pump(m, settings_settled, NULL);
	r = maintenance_scanner_result(m);
	assert_true(r->done);
	assert_true(r->applied);
	assert_false(r->saved);
	assert_false(r->ok);
	assert_non_null(strstr(r->error, "cannot open the directory"));
	assert_true(maintenance_scanner_settings(m, &now));
	assert_int_equal(now.dpi, 100);
	maintenance_destroy(m);

	/* No settings file configured: applied, and said to be not kept. */
	cfg.scanner_settings = NULL;
	m = maintenance_create(&cfg, handle_notify, NULL, err);
	assert_non_null(m);
	open_menu(m);
	set.dpi = 75;
	assert_true(maintenance_scanner_apply(m, &set));
	r = maintenance_scanner_result(m);
	assert_false(r->running);
	assert_true(r->done);
	assert_true(r->ok);
	assert_true(r->applied);
	assert_false(r->saved);
	assert_true(ring_has("maintenance: scanner settings not kept"));
	maintenance_destroy(m);
	scan_service_destroy(svc);
}

/* With the SANE test backend: test:0 and test:1 listed, test:1 chosen and
 * saved; a fresh scan service and model built from the configuration and
 * the saved file (scanner_settings_apply(), as the kiosk starts) open
 * test:1, though the main file names test:0. */
static void test_scanner_sane_saved_device(void **state)
{
	(void)state;
	struct paths p;
	char dir[PATH_MAX];
	path_in(dir, sizeof(dir), "sane");
	mkdir(dir, 0700);
	char main_text[PATH_MAX + 256];
	snprintf(main_text, sizeof(main_text),
	         "[scanner]\ndevice = test:0\nsource = flatbed\ndpi = 300\nmode = auto\n"
	         "settings = %s/scanner.conf\n",
	         dir);
	struct config conf;
	char err[CONFIG_ERROR_MAX];
	config_init(&conf);
	assert_true(config_load_string(&conf, "main.conf", main_text, err));
	assert_int_equal(scanner_settings_apply(&conf, err), SCANNER_SETTINGS_MISSING);
	struct scan_service *svc = start_sane(&conf);
	wait_scanner(NULL, svc, SCAN_SERVICE_READY, "test:0");
	struct maintenance *m = make("sane", NULL, svc, &p);
	assert_string_equal(p.settings, conf.scanner.settings);
	open_menu(m);
	wait_status(m, 1);

	assert_true(maintenance_devices_refresh(m));
	uint32_t one = 1;
	pump(m, devices_listed, &one);
	const struct maintenance_devices *d = maintenance_devices(m);
	assert_true(d->ok);
	assert_int_equal(d->count, 2);
	assert_string_equal(d->devices[0].name, "test:0");
	assert_string_equal(d->devices[1].name, "test:1");
	assert_true(d->devices[0].open);
	assert_false(d->devices[1].open);

	struct maintenance_scanner_settings set;
	assert_true(maintenance_scanner_settings(m, &set));
	assert_string_equal(set.device, "test:0");
	assert_int_equal(set.dpi, 300);
	memcpy(set.device, d->devices[1].name, sizeof(set.device));
	set.dpi = 75;
	assert_true(maintenance_scanner_apply(m, &set));
	pump(m, settings_settled, NULL);
	assert_true(maintenance_scanner_result(m)->saved);
	assert_true(ring_has("maintenance: scanner settings applied: device test:1, source "
	                     "flatbed, 75 dpi, mode auto"));
	wait_scanner(m, svc, SCAN_SERVICE_READY, "test:1");
	assert_true(maintenance_devices_refresh(m));
	uint32_t two = 2;
	pump(m, devices_listed, &two);
	assert_false(d->devices[0].open);
	assert_true(d->devices[1].open);
	/* A test scan on test:1 at 75 dpi. */
	assert_true(maintenance_test_scan_start(m, SCAN_SERVICE_SOURCE_DEFAULT) > 0);
	run_test_scan(m, svc);
	assert_non_null(maintenance_test_page(m));
	assert_int_equal(maintenance_test_page(m)->facts.dpi, 75);
	maintenance_destroy(m);
	scan_service_destroy(svc);
	config_finish(&conf);

	/* The kiosk starts again: the main file, then the saved choice over it. */
	config_init(&conf);
	assert_true(config_load_string(&conf, "main.conf", main_text, err));
	assert_string_equal(conf.scanner.device, "test:0");
	assert_int_equal(scanner_settings_apply(&conf, err), SCANNER_SETTINGS_LOADED);
	assert_string_equal(conf.scanner.device, "test:1");
	svc = start_sane(&conf);
	wait_scanner(NULL, svc, SCAN_SERVICE_READY, "test:1");
	struct maintenance_config cfg;
	maintenance_config_init(&cfg);
	maintenance_config_apply(&cfg, &conf);
	assert_string_equal(cfg.scanner_settings, p.settings);
	cfg.pin_hash = fast_hash;
	cfg.pin_state = p.state;
	cfg.scanner = svc;
	cfg.hooks = &test_hooks;
	m = maintenance_create(&cfg, handle_notify, NULL, err);
	assert_non_null(m);
	struct maintenance_scanner_settings now;
	assert_true(maintenance_scanner_settings(m, &now));
	assert_string_equal(now.device, "test:1");
	assert_int_equal(now.source, CONFIG_SCAN_SOURCE_FLATBED);
	assert_int_equal(now.dpi, 75);
	assert_int_equal(now.mode, CONFIG_SCAN_MODE_AUTO);
	open_menu(m);
	assert_true(maintenance_devices_refresh(m));
	pump(m, devices_listed, &one);
	d = maintenance_devices(m);
	assert_int_equal(d->count, 2);
	assert_true(d->devices[1].open);
	maintenance_destroy(m);
	scan_service_destroy(svc);
	config_finish(&conf);
}

/* ---- canary
 * --------------------------------------------------------------------------------------- */

static const char *const canaries[] = {
        "Zzyzx-Wolkenstein Quaxmoor",
        "Zzyzx",
        "Quaxmoor",
        "Wolkenstein",
        "987Q123456",
        "987Q1234",
        "19.07.1957",
        "07.1957",
};

static void no_canary(const void *buf, size_t len, const char *where)
{
	for (size_t i = 0; i < sizeof(canaries) / sizeof(canaries[0]); i++) {
		if (memmem(buf, len, canaries[i], strlen(canaries[i])))
			fail_msg("canary '%s' in %s", canaries[i], where);
	}
}

/* A customer types canary data, scans a page and sends it; the spool holds
 * it (failed, as the status file says). Nothing the model holds, and no
 * line of the kiosk's log, has any of it. */
static void test_canary(void **state)
{
	(void)state;
	struct scan_service *svc = start_sim();
	struct paths p;
	struct maintenance *m = make("canary", NULL, svc, &p);

	char spool_dir[PATH_MAX], pub[PATH_MAX], sec[PATH_MAX];
	path_in(spool_dir, sizeof(spool_dir), "canary/spool");
	path_in(pub, sizeof(pub), "canary/upload.pub");
	path_in(sec, sizeof(sec), "canary/upload.key");
	assert_int_equal(container_keygen(pub, sec), CONTAINER_OK);
	uint8_t pk[CONTAINER_KEY_BYTES];
	assert_int_equal(container_load_key(pub, pk), CONTAINER_OK);
	struct spool *spool = NULL;
	assert_int_equal(spool_open(spool_dir, NULL, &spool), SPOOL_OK);

	struct session *s = session_create(NULL);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_CASE_NUMBER, "987Q123456"),
	                 SESSION_OK);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_NAME, "Zzyzx-Wolkenstein Quaxmoor"),
	                 SESSION_OK);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_BIRTH_DATE, "19.07.1957"),
	                 SESSION_OK);
	for (int f = 0; f < SESSION_FIELD_LAST; f++)
		assert_int_equal(session_field_check(s, (enum session_field)f), CASE_OK);
	assert_int_equal(session_set_category(s, "payslip"), SESSION_OK);
	assert_true(scan_service_start(svc, SCAN_SERVICE_SOURCE_FLATBED, 1) > 0);
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	bool finished = false;
	while (!finished) {
		struct scan_service_event ev;
		while (scan_service_poll(svc, &ev)) {
			/* The menu is closed: the session's events. */
			assert_false(maintenance_scan_event(m, &ev));
			if (ev.kind == SCAN_SERVICE_EVENT_PAGE_READY)
				assert_int_equal(session_page_add(s, ev.page_result), SESSION_OK);
			finished = finished || ev.kind == SCAN_SERVICE_EVENT_FINISHED;
		}
		if (!finished)
			assert_true(wait_notify(&start));
	}
	struct spool_receipt receipt;
	assert_int_equal(session_commit(s, spool, pk, &receipt), SESSION_COMMIT_OK);
	spool_destroy(spool);

	/* The technician comes: the session is wiped before the menu opens. */
	write_status_file(p.status, receipt.id);
	assert_true(maintenance_open_request(m));
	assert_int_equal(enter_pin(m, RIGHT_PIN), MAINTENANCE_PIN_ACCEPTED);
	assert_false(maintenance_confirm_wipe(m, s));
	session_wipe(s);
	assert_true(maintenance_confirm_wipe(m, s));
	wait_status(m, 1);
	assert_int_equal(maintenance_item_count(m), 2);
	assert_string_equal(maintenance_item(m, 0)->id, receipt.id);
	assert_true(maintenance_discard_request(m, receipt.id));
	assert_true(maintenance_log_refresh(m));
	uint32_t one = 1;
	pump(m, log_done, &one);
	assert_true(maintenance_nettest_start(m));
	struct maintenance_nettest nt;
	struct timespec t0;
	clock_gettime(CLOCK_REALTIME, &t0);
	do {
		maintenance_poll(m);
		maintenance_nettest(m, &nt);
	} while (!nt.done && wait_notify(&t0));
	assert_int_equal(nt.error, UPLOAD_CONTROL_NOT_RUNNING);

	/* The scan: every byte the model shows. */
	const struct maintenance_status *st = maintenance_status(m);
	no_canary(st, sizeof(*st), "the status");
	for (size_t i = 0; i < maintenance_item_count(m); i++)
		no_canary(maintenance_item(m, i), sizeof(struct maintenance_item), "an item");
	no_canary(maintenance_discard_pending(m), sizeof(struct maintenance_item), "the discard");
	no_canary(maintenance_queue_result(m), sizeof(struct maintenance_queue_result), "queue");
	const struct maintenance_log *log = maintenance_log(m);
	assert_true(log->count > 0);
	no_canary(log, sizeof(*log), "the log");
	no_canary(&nt, sizeof(nt), "the network test");
	struct maintenance_pin_view v;
	maintenance_pin_view(m, &v);
	no_canary(&v, sizeof(v), "the PIN pad");
	assert_true(maintenance_devices_refresh(m));
	pump(m, devices_listed, &one);
	no_canary(maintenance_devices(m), sizeof(struct maintenance_devices), "the devices");
	struct maintenance_scanner_settings set;
	assert_true(maintenance_scanner_settings(m, &set));
	assert_true(maintenance_scanner_apply(m, &set));
	pump(m, settings_settled, NULL);
	assert_true(maintenance_scanner_result(m)->saved);
	no_canary(maintenance_scanner_result(m), sizeof(struct maintenance_settings_result),
	          "the settings' result");
	char settings_text[4096];
	FILE *sf = fopen(p.settings, "r");
	assert_non_null(sf);
	size_t sn = fread(settings_text, 1, sizeof(settings_text), sf);
	fclose(sf);
	no_canary(settings_text, sn, "the settings file");
	/* And every line the kiosk logged, the commit's included. */
	struct log_ring_entry *ring = calloc(LOG_RING_LINES, sizeof(*ring));
	assert_non_null(ring);
	size_t n = log_ring_copy(ring, LOG_RING_LINES);
	bool commit_logged = false;
	for (size_t i = 0; i < n; i++) {
		no_canary(ring[i].text, strlen(ring[i].text), "a log line");
		commit_logged = commit_logged || strstr(ring[i].text, receipt.id);
	}
	free(ring);
	/* The scan can fail: the id it looks beside is there. */
	assert_true(commit_logged);
	assert_non_null(memmem(st, sizeof(*st), receipt.id, strlen(receipt.id)));

	maintenance_destroy(m);
	session_destroy(s);
	scan_service_destroy(svc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_right_pin_opens, setup),
	        cmocka_unit_test_setup(test_no_pin_configured, setup),
	        cmocka_unit_test_setup(test_wrong_pins_and_lockout, setup),
	        cmocka_unit_test_setup(test_idle_close, setup),
	        cmocka_unit_test_setup(test_status_from_file, setup),
	        cmocka_unit_test_setup(test_discard_two_steps, setup),
	        cmocka_unit_test_setup(test_worker_never_blocks, setup),
	        cmocka_unit_test_setup(test_log_ring_contents, setup),
	        cmocka_unit_test_setup(test_restart_and_reboot, setup),
	        cmocka_unit_test_setup(test_test_scan, setup),
	        cmocka_unit_test_setup(test_scanner_devices, setup),
	        cmocka_unit_test_setup(test_scanner_settings_apply, setup),
	        cmocka_unit_test_setup(test_scanner_settings_refused, setup),
	        cmocka_unit_test_setup(test_scanner_sane_saved_device, setup),
	        cmocka_unit_test_setup(test_canary, setup),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
