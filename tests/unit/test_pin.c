/*
 * test_pin.c - the maintenance PIN (kiosk/core/pin.[ch]) and its tool
 * (kiosk/tools/scankiosk-pin, path in SCANKIOSK_PIN_TOOL).
 *
 * The guard runs on a fake clock (wall clock, boot clock, boot id) that the
 * tests move, so delays and lockouts are proven without sleeping. Each test
 * gets a fresh directory in a scratch directory made in the current directory
 * (the build tree under meson). stderr (the log) goes to a file there, which
 * the last test searches for the digits of every PIN used, and which is copied
 * back to stderr at the end.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, posix_openpt; meson passes it already */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "pin.h"

#define RIGHT_PIN "739184"
#define WRONG_PIN "602517"
#define TOOL_PIN  "418263"
#define BOOT_A    "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
#define BOOT_NEXT "9f8e7d6c-5b4a-3928-1706-" /* and 12 hex digits, one per reboot */
#define DAY_MS    (24 * 3600 * 1000LL)

static char workdir[PATH_MAX], logpath[PATH_MAX + 8];
static int saved_stderr = -1;
static unsigned dir_serial;
/* RIGHT_PIN at libsodium's INTERACTIVE level, the floor pin_hash_valid()
 * accepts: the guard tests check many PINs, and the cost is not what they prove. */
static char fast_hash[PIN_HASH_MAX];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	chmod(path, 0700);
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	char tmpl[] = "test_pin.XXXXXX";
	if (!mkdtemp(tmpl) || !realpath(tmpl, workdir))
		return -1;
	if (sodium_init() < 0)
		return -1;
	/* The tool may exit (usage) before it reads what the test writes to it. */
	signal(SIGPIPE, SIG_IGN);
	if (crypto_pwhash_str_alg(
	            fast_hash, RIGHT_PIN, strlen(RIGHT_PIN), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -1;
	log_set_level(LOG_LEVEL_DEBUG);
	snprintf(logpath, sizeof(logpath), "%s/log", workdir);
	int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (saved_stderr >= 0) {
		fflush(stderr);
		dup2(saved_stderr, 2);
		close(saved_stderr);
		FILE *log = fopen(logpath, "r");
		char line[1024];
		while (log && fgets(line, sizeof(line), log))
			fputs(line, stderr);
		if (log)
			fclose(log);
	}
	if (workdir[0] && !getenv("TEST_PIN_KEEP"))
		nftw(workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- fixture: a directory, a fake clock, a guard ------------------------------ */

struct fake_clock {
	int64_t wall, boot;
	char boot_id[40];
	/* Called from boot_ms/wall_ms when set (power cut, barrier). */
	void (*hook)(struct fake_clock *fc, bool wall);
	void *hook_ctx;
};

static int64_t fake_wall(void *ctx)
{
	struct fake_clock *fc = ctx;
	if (fc->hook)
		fc->hook(fc, true);
	return fc->wall;
}

static int64_t fake_boot(void *ctx)
{
	struct fake_clock *fc = ctx;
	if (fc->hook)
		fc->hook(fc, false);
	return fc->boot;
}

struct fixture {
	char dir[PATH_MAX + 32];
	char path[PATH_MAX + 64];
	char tmp[PATH_MAX + 72];
	struct fake_clock clock;
	struct pin_policy policy;
	struct pin_guard *guard;
};

static struct pin_clock clock_of(struct fake_clock *fc)
{
	return (struct pin_clock){fake_wall, fake_boot, fc->boot_id, fc};
}

static struct pin_guard *open_guard(struct fixture *f)
{
	char err[PIN_ERROR_MAX];
	struct pin_clock c = clock_of(&f->clock);
	struct pin_guard *g = pin_guard_create(fast_hash, f->path, &f->policy, &c, err);
	if (!g)
		fail_msg("pin_guard_create: %s", err);
	return g;
}

/* A restart of the program: a new guard on the same file. */
static void restart(struct fixture *f)
{
	pin_guard_destroy(f->guard);
	f->guard = open_guard(f);
}

/* A reboot: another boot id, the boot clock starts again. */
static void reboot(struct fixture *f, int64_t wall_shift)
{
	pin_guard_destroy(f->guard);
	f->guard = NULL;
	static unsigned boots;
	snprintf(f->clock.boot_id, sizeof(f->clock.boot_id), "%s%012x", BOOT_NEXT, ++boots);
	f->clock.boot = 7000;
	f->clock.wall += wall_shift;
	f->guard = open_guard(f);
}

static void advance(struct fixture *f, int64_t ms)
{
	f->clock.wall += ms;
	f->clock.boot += ms;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/t%u", workdir, dir_serial++);
	if (mkdir(f->dir, 0700) != 0)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/pin-state", f->dir);
	snprintf(f->tmp, sizeof(f->tmp), "%s.tmp", f->path);
	f->clock.wall = 1700000000000LL;
	f->clock.boot = 100000;
	snprintf(f->clock.boot_id, sizeof(f->clock.boot_id), "%s", BOOT_A);
	f->policy = (struct pin_policy)PIN_POLICY_DEFAULT;
	*state = f;
	return 0;
}

static int setup_guard(void **state)
{
	if (setup(state) != 0)
		return -1;
	struct fixture *f = *state;
	char err[PIN_ERROR_MAX];
	struct pin_clock c = clock_of(&f->clock);
	f->guard = pin_guard_create(fast_hash, f->path, &f->policy, &c, err);
	return f->guard ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	pin_guard_destroy(f->guard);
	free(f);
	return 0;
}

/* pin_check() on a copy of pin; the copy must come back zeroed. */
static enum pin_result check(struct pin_guard *g, const char *pin)
{
	char buf[32];
	size_t len = strlen(pin);
	assert_true(len < sizeof(buf));
	memcpy(buf, pin, len);
	enum pin_result r = pin_check(g, buf, len);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(buf[i], 0);
	return r;
}

static struct pin_guard_info info_of(struct pin_guard *g)
{
	struct pin_guard_info info;
	pin_guard_state(g, &info);
	return info;
}

static void assert_open(struct pin_guard *g, uint32_t failures)
{
	struct pin_guard_info i = info_of(g);
	assert_int_equal(i.mode, PIN_GUARD_OPEN);
	assert_int_equal(i.failures, failures);
	assert_int_equal(i.seconds_left, 0);
	assert_false(i.checking);
}

static void assert_mode(struct pin_guard *g, enum pin_guard_mode mode, uint32_t seconds,
                        uint32_t failures)
{
	struct pin_guard_info i = info_of(g);
	assert_int_equal(i.mode, mode);
	assert_int_equal(i.seconds_left, seconds);
	assert_int_equal(i.failures, failures);
}

/* Wrong PINs until the lockout (default policy: 1, 2, 4, 8 s of delay). */
static void lock_out(struct fixture *f)
{
	for (uint32_t n = 1; n <= f->policy.max_failures; n++) {
		assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
		if (n < f->policy.max_failures) {
			assert_mode(f->guard, PIN_GUARD_WAIT, 1u << (n - 1), n);
			advance(f, 1000LL << (n - 1));
		}
	}
	assert_mode(f->guard, PIN_GUARD_LOCKED, f->policy.lockout_seconds, f->policy.max_failures);
}

static bool exists(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return (size_t)n;
}

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* The state file is whole: its format, and its checksum over the rest. */
static void assert_state_file_whole(const char *path)
{
	char text[1024];
	size_t len = read_file(path, text, sizeof(text));
	assert_true(len > 40);
	assert_memory_equal(text, "scankiosk-pin-state 1\n", 22);
	char *check = strstr(text, "check=");
	assert_non_null(check);
	assert_int_equal(len, (size_t)(check - text) + 6 + 32 + 1);
	unsigned char sum[16];
	char hex[33];
	crypto_generichash(sum, sizeof(sum), (const unsigned char *)text, (size_t)(check - text),
	                   NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
	assert_memory_equal(check + 6, hex, 32);
}

/* A valid state file with the given fields (as a tampered or old one would be). */
static void write_state_file(const char *path, const char *boot, uint32_t failures,
                             int64_t wait_boot, int64_t wait_wall, int64_t lock_boot,
                             int64_t lock_wall)
{
	char text[512];
	int len = snprintf(text, sizeof(text),
	                   "scankiosk-pin-state 1\nboot=%s\nfailures=%u\nwait_boot_ms=%lld\n"
	                   "wait_wall_ms=%lld\nlock_boot_ms=%lld\nlock_wall_ms=%lld\n",
	                   boot, failures, (long long)wait_boot, (long long)wait_wall,
	                   (long long)lock_boot, (long long)lock_wall);
	unsigned char sum[16];
	char hex[33];
	crypto_generichash(sum, sizeof(sum), (const unsigned char *)text, (size_t)len, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
	len += snprintf(text + len, sizeof(text) - (size_t)len, "check=%s\n", hex);
	write_file(path, text, (size_t)len);
}

/* ---- right and wrong ------------------------------------------------------------ */

static void test_right_pin(void **state)
{
	struct fixture *f = *state;
	assert_open(f->guard, 0);
	assert_int_equal(info_of(f->guard).attempts_left, 5);
	assert_false(exists(f->path)); /* no file until an attempt */
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_OK);
	assert_open(f->guard, 0);
	assert_state_file_whole(f->path);
	assert_false(exists(f->tmp));
	struct stat sb;
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* Again at once: a success sets no delay. */
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_OK);
}

static void test_wrong_pin(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	struct pin_guard_info i = info_of(f->guard);
	assert_int_equal(i.mode, PIN_GUARD_WAIT);
	assert_int_equal(i.seconds_left, 1);
	assert_int_equal(i.failures, 1);
	assert_int_equal(i.attempts_left, 4);
	/* One digit off, and a prefix of the right PIN with one more digit. */
	advance(f, 1000);
	assert_int_equal(check(f->guard, "739185"), PIN_WRONG);
	advance(f, 2000);
	assert_int_equal(check(f->guard, "7391840"), PIN_WRONG);
	assert_mode(f->guard, PIN_GUARD_WAIT, 4, 3);
	assert_state_file_whole(f->path);
}

static void test_malformed_not_counted(void **state)
{
	struct fixture *f = *state;
	assert_null(pin_format_problem("123456", 6));
	assert_null(pin_format_problem("123456789012", 12));
	assert_non_null(strstr(pin_format_problem("12345", 5), "short"));
	assert_non_null(strstr(pin_format_problem("1234567890123", 13), "long"));
	assert_non_null(strstr(pin_format_problem("12a456", 6), "digits"));
	assert_non_null(strstr(pin_format_problem("12345 ", 6), "digits"));
	assert_non_null(pin_format_problem("", 0));
	/* "7391" + NUL + "84": the length counts, not the C string. */
	assert_non_null(pin_format_problem("7391\0"
	                                   "84",
	                                   7));

	assert_int_equal(check(f->guard, "12345"), PIN_MALFORMED);
	assert_int_equal(check(f->guard, "1234567890123"), PIN_MALFORMED);
	assert_int_equal(check(f->guard, "73918a"), PIN_MALFORMED);
	char empty[1] = {0};
	assert_int_equal(pin_check(f->guard, empty, 0), PIN_MALFORMED);
	assert_open(f->guard, 0);
	assert_false(exists(f->path));
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_OK);
}

/* ---- delay, lockout, release --------------------------------------------------- */

static void test_delay_grows(void **state)
{
	struct fixture *f = *state;
	/* The n-th failure: the next attempt only after 2^(n-1) s. */
	for (uint32_t n = 1; n <= 4; n++) {
		assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
		int64_t delay = 1000LL << (n - 1);
		assert_mode(f->guard, PIN_GUARD_WAIT, (uint32_t)(delay / 1000), n);
		/* Refused early, even with the right PIN, and not counted. */
		advance(f, delay - 1);
		assert_mode(f->guard, PIN_GUARD_WAIT, 1, n);
		assert_int_equal(check(f->guard, RIGHT_PIN), PIN_WAIT);
		assert_int_equal(check(f->guard, WRONG_PIN), PIN_WAIT);
		assert_int_equal(info_of(f->guard).failures, n);
		advance(f, 1);
		assert_open(f->guard, n);
		assert_int_equal(info_of(f->guard).attempts_left, 5 - n);
	}
	/* A success after four failures resets the count: no delay, five attempts. */
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_OK);
	assert_open(f->guard, 0);
	assert_int_equal(info_of(f->guard).attempts_left, 5);
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	assert_mode(f->guard, PIN_GUARD_WAIT, 1, 1);
}

static void test_delay_cap(void **state)
{
	struct fixture *f = *state;
	pin_guard_destroy(f->guard);
	f->policy.max_failures = 8;
	f->policy.delay_cap_seconds = 5;
	f->guard = open_guard(f);
	static const uint32_t expected[] = {1, 2, 4, 5, 5, 5, 5};
	for (uint32_t n = 1; n <= 7; n++) {
		assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
		assert_mode(f->guard, PIN_GUARD_WAIT, expected[n - 1], n);
		advance(f, expected[n - 1] * 1000LL);
	}
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	assert_mode(f->guard, PIN_GUARD_LOCKED, 900, 8);

	/* No delay at all with a cap of 0; the lockout still comes. */
	pin_guard_destroy(f->guard);
	assert_int_equal(unlink(f->path), 0);
	f->policy.max_failures = 3;
	f->policy.delay_cap_seconds = 0;
	f->guard = open_guard(f);
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	assert_open(f->guard, 1);
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	assert_mode(f->guard, PIN_GUARD_LOCKED, 900, 3);
}

static void test_lockout_and_release(void **state)
{
	struct fixture *f = *state;
	lock_out(f);
	assert_int_equal(info_of(f->guard).attempts_left, 0);
	/* Refused unchecked for 15 minutes, the right PIN too. */
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_LOCKED);
	advance(f, 899 * 1000);
	assert_mode(f->guard, PIN_GUARD_LOCKED, 1, 5);
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_LOCKED);
	advance(f, 999);
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_LOCKED);
	advance(f, 1);
	/* Released: the count starts again. */
	assert_open(f->guard, 0);
	assert_int_equal(info_of(f->guard).attempts_left, 5);
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	assert_mode(f->guard, PIN_GUARD_WAIT, 1, 1);
	advance(f, 1000);
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_OK);
	assert_open(f->guard, 0);
}

static void test_last_attempt_right(void **state)
{
	struct fixture *f = *state;
	/* Four failures, then the right PIN on the fifth: accepted, not locked. */
	for (uint32_t n = 1; n <= 4; n++) {
		assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
		advance(f, 1000LL << (n - 1));
	}
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_OK);
	assert_open(f->guard, 0);
}

/* ---- persistence ------------------------------------------------------------------ */

static void test_lockout_survives_restart(void **state)
{
	struct fixture *f = *state;
	lock_out(f);
	advance(f, 60 * 1000);
	restart(f);
	assert_mode(f->guard, PIN_GUARD_LOCKED, 840, 5);
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_LOCKED);
	/* A reboot two minutes later: the wall clock decides. */
	reboot(f, 120 * 1000);
	assert_mode(f->guard, PIN_GUARD_LOCKED, 720, 5);
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_LOCKED);
	advance(f, 720 * 1000);
	restart(f);
	assert_open(f->guard, 0);
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_OK);
}

static void test_count_and_delay_survive_restart(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	advance(f, 1000);
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	advance(f, 500);
	restart(f);
	/* Two failures, 1.5 s of the 2 s delay left. */
	assert_mode(f->guard, PIN_GUARD_WAIT, 2, 2);
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_WAIT);
	advance(f, 1500);
	assert_open(f->guard, 2);
	assert_int_equal(info_of(f->guard).attempts_left, 3);
	/* Three more wrong ones lock, as if there had been no restart. */
	for (uint32_t n = 3; n <= 5; n++) {
		assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
		advance(f, 1000LL << (n - 1));
		restart(f);
	}
	assert_int_equal(info_of(f->guard).mode, PIN_GUARD_LOCKED);
	/* A success is persisted as a reset. */
	advance(f, 900 * 1000);
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_OK);
	restart(f);
	assert_open(f->guard, 0);
	assert_int_equal(info_of(f->guard).attempts_left, 5);
}

static void test_lower_limit_locks(void **state)
{
	struct fixture *f = *state;
	for (uint32_t n = 1; n <= 3; n++) {
		assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
		advance(f, 1000LL << (n - 1));
	}
	/* The configuration now allows only 3 failures: the 3 recorded lock. */
	pin_guard_destroy(f->guard);
	f->policy.max_failures = 3;
	f->guard = open_guard(f);
	assert_mode(f->guard, PIN_GUARD_LOCKED, 900, 3);
}

/* ---- damaged state files ---------------------------------------------------------- */

static void assert_locked_and_rewritten(struct fixture *f)
{
	f->guard = open_guard(f);
	assert_mode(f->guard, PIN_GUARD_LOCKED, 900, 5);
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_LOCKED);
	pin_guard_destroy(f->guard);
	f->guard = NULL;
	assert_state_file_whole(f->path);
	assert_false(exists(f->tmp));
}

static void test_corrupt_state_locks(void **state)
{
	struct fixture *f = *state;
	/* A valid file to damage: two failures. */
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	advance(f, 1000);
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	pin_guard_destroy(f->guard);
	f->guard = NULL;
	char good[1024];
	size_t len = read_file(f->path, good, sizeof(good));
	assert_true(len > 100);

	/* Every truncation of it, including the empty file. */
	for (size_t cut = 0; cut < len; cut++) {
		write_file(f->path, good, cut);
		assert_locked_and_rewritten(f);
	}
	/* A changed digit (the checksum no longer matches). */
	char bad[1024];
	memcpy(bad, good, len);
	char *digit = strstr(bad, "failures=2");
	assert_non_null(digit);
	digit[9] = '0';
	write_file(f->path, bad, len);
	assert_locked_and_rewritten(f);
	/* Garbage, binary, an extra line, another format. */
	write_file(f->path, "\x00\xff\x13garbage", 10);
	assert_locked_and_rewritten(f);
	memcpy(bad, good, len);
	memcpy(bad + len, "extra\n", 6);
	write_file(f->path, bad, len + 6);
	assert_locked_and_rewritten(f);
	write_file(f->path, "failures=0\n", 11);
	assert_locked_and_rewritten(f);
	/* Valid checksum, but fields that cannot go together. */
	write_state_file(f->path, BOOT_A, 0, 0, 0, f->clock.boot + 1000, f->clock.wall + 1000);
	assert_locked_and_rewritten(f);
	write_state_file(f->path, BOOT_A, 1, 2000, 0, 0, 0);
	assert_locked_and_rewritten(f);
	/* Not a regular file. */
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(mkfifo(f->path, 0600), 0);
	f->guard = open_guard(f);
	assert_mode(f->guard, PIN_GUARD_LOCKED, 900, 5);
	pin_guard_destroy(f->guard);
	f->guard = NULL;

	/* The rewritten lockout ends like any other. */
	assert_int_equal(unlink(f->path), 0);
	write_file(f->path, "junk", 4);
	f->guard = open_guard(f);
	advance(f, 900 * 1000);
	restart(f);
	assert_open(f->guard, 0);
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_OK);
}

/* ---- clocks -------------------------------------------------------------------- */

static void test_clock_jumps_while_running(void **state)
{
	struct fixture *f = *state;
	lock_out(f);
	/* The wall clock jumps a day ahead (an NTP sync): still locked. */
	f->clock.wall += DAY_MS;
	f->clock.boot += 1000;
	assert_mode(f->guard, PIN_GUARD_LOCKED, 899, 5);
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_LOCKED);
	/* ... and two days back: the lockout does not grow. */
	f->clock.wall -= 2 * DAY_MS;
	assert_mode(f->guard, PIN_GUARD_LOCKED, 899, 5);
	advance(f, 899 * 1000);
	assert_open(f->guard, 0);
	/* A restart in the same boot after such jumps: the boot clock still decides. */
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	f->clock.wall += 3 * DAY_MS;
	restart(f);
	assert_mode(f->guard, PIN_GUARD_WAIT, 1, 1);
	f->clock.wall -= 5 * DAY_MS;
	restart(f);
	assert_mode(f->guard, PIN_GUARD_WAIT, 1, 1);
}

static void test_clock_back_across_reboot(void **state)
{
	struct fixture *f = *state;
	lock_out(f);
	advance(f, 100 * 1000);
	/* The clock after the reboot is a day behind: the lockout is clamped to
	 * 15 minutes from now, not a day and 13 minutes. */
	reboot(f, -DAY_MS);
	assert_mode(f->guard, PIN_GUARD_LOCKED, 900, 5);
	advance(f, 900 * 1000);
	assert_open(f->guard, 0);
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_OK);

	/* A delay is clamped to its own step: 2 failures, at most 2 s. */
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	advance(f, 1000);
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	reboot(f, -DAY_MS);
	assert_mode(f->guard, PIN_GUARD_WAIT, 2, 2);

	/* A file (same boot) naming a lockout a week ahead: clamped too. */
	pin_guard_destroy(f->guard);
	f->guard = NULL;
	write_state_file(f->path, f->clock.boot_id, 5, 0, 0, f->clock.boot + 7 * DAY_MS,
	                 f->clock.wall + 7 * DAY_MS);
	f->guard = open_guard(f);
	assert_mode(f->guard, PIN_GUARD_LOCKED, 900, 5);
	/* ... and the file now says 15 minutes. */
	restart(f);
	assert_mode(f->guard, PIN_GUARD_LOCKED, 900, 5);
}

static void test_clock_forward_across_reboot(void **state)
{
	struct fixture *f = *state;
	lock_out(f);
	/* The known limit (pin.h): across a reboot only the wall clock tells
	 * time, so a clock set an hour ahead ends the lockout. Within a boot it
	 * cannot (test_clock_jumps_while_running). */
	reboot(f, 300 * 1000);
	assert_mode(f->guard, PIN_GUARD_LOCKED, 600, 5);
	reboot(f, 3600 * 1000);
	assert_open(f->guard, 0);
}

/* ---- the state file under faults ------------------------------------------------ */

static void test_state_file_always_whole(void **state)
{
	struct fixture *f = *state;
	static const char *const seq[] = {WRONG_PIN, WRONG_PIN, RIGHT_PIN, WRONG_PIN};
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		(void)check(f->guard, seq[i]);
		assert_state_file_whole(f->path);
		assert_false(exists(f->tmp));
		advance(f, 10 * 1000);
	}
	/* A power cut during a write leaves the old file and part of a temp file:
	 * the old state counts and the temp file goes. */
	write_file(f->tmp, "scankiosk-pin-state 1\nboot=", 27);
	restart(f);
	assert_false(exists(f->tmp));
	assert_open(f->guard, 1);
	assert_state_file_whole(f->path);
}

static void test_unwritable_state_refuses(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_WRONG);
	advance(f, 1000);
	/* The temp file's name taken by a directory: no write can succeed (even as
	 * root). The attempt is refused unchecked and not counted. */
	assert_int_equal(mkdir(f->tmp, 0700), 0);
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_ERROR);
	assert_int_equal(check(f->guard, WRONG_PIN), PIN_ERROR);
	assert_open(f->guard, 1);
	assert_int_equal(rmdir(f->tmp), 0);
	assert_int_equal(check(f->guard, RIGHT_PIN), PIN_OK);
	assert_open(f->guard, 0);

	/* A directory that does not exist: no guard. */
	char err[PIN_ERROR_MAX], path[PATH_MAX + 80];
	snprintf(path, sizeof(path), "%s/missing/pin-state", f->dir);
	struct pin_clock c = clock_of(&f->clock);
	assert_null(pin_guard_create(fast_hash, path, &f->policy, &c, err));
	assert_non_null(strstr(err, "directory"));
}

/* The child's clock: the first time it is read after the attempt reached the
 * disk, the power goes (the check has run by then; its result is known). */
static void cut_power(struct fake_clock *fc, bool wall)
{
	const char *path = fc->hook_ctx;
	char text[1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	if (!wall && strstr(text, "\nfailures=1\n"))
		raise(SIGKILL);
}

static void test_power_cut_during_check(void **state)
{
	struct fixture *f = *state;
	pin_guard_destroy(f->guard);
	f->guard = NULL;
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct pin_guard *g = open_guard(f);
		f->clock.hook = cut_power;
		f->clock.hook_ctx = f->path;
		char pin[] = RIGHT_PIN;
		enum pin_result r = pin_check(g, pin, strlen(pin));
		_exit(10 + (int)r); /* not reached when the power cut came */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	/* Even the right PIN, cut off before its success was written, counts as a
	 * failure: a cut once a wrong PIN shows cannot undo it. */
	assert_state_file_whole(f->path);
	assert_false(exists(f->tmp));
	f->guard = open_guard(f);
	assert_mode(f->guard, PIN_GUARD_WAIT, 1, 1);
}

/* ---- threads ------------------------------------------------------------------- */

struct barrier {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool armed, reached, released;
};

/* Stops the worker inside pin_check() at its first wall-clock read, which is
 * after the attempt is counted and before it is written or checked. */
static void hold_worker(struct fake_clock *fc, bool wall)
{
	struct barrier *b = fc->hook_ctx;
	if (!wall)
		return;
	pthread_mutex_lock(&b->mu);
	if (b->armed) {
		b->armed = false;
		b->reached = true;
		pthread_cond_broadcast(&b->cv);
		while (!b->released)
			pthread_cond_wait(&b->cv, &b->mu);
	}
	pthread_mutex_unlock(&b->mu);
}

struct worker {
	struct pin_guard *guard;
	const char *pin;
	enum pin_result result;
};

static void *run_check(void *arg)
{
	struct worker *w = arg;
	char buf[16];
	size_t len = strlen(w->pin);
	memcpy(buf, w->pin, len);
	w->result = pin_check(w->guard, buf, len);
	return NULL;
}

static void test_state_during_check(void **state)
{
	struct fixture *f = *state;
	struct barrier b = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, true, false,
	                    false};
	f->clock.hook = hold_worker;
	f->clock.hook_ctx = &b;
	struct worker w = {f->guard, RIGHT_PIN, PIN_ERROR};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, run_check, &w), 0);
	pthread_mutex_lock(&b.mu);
	while (!b.reached)
		pthread_cond_wait(&b.cv, &b.mu);
	pthread_mutex_unlock(&b.mu);
	/* The worker is inside pin_check(): the UI thread still gets the state,
	 * with the attempt counted until it proves right. */
	struct pin_guard_info i = info_of(f->guard);
	assert_true(i.checking);
	assert_int_equal(i.failures, 1);
	assert_int_equal(i.mode, PIN_GUARD_WAIT);
	pthread_mutex_lock(&b.mu);
	b.released = true;
	pthread_cond_broadcast(&b.cv);
	pthread_mutex_unlock(&b.mu);
	assert_int_equal(pthread_join(t, NULL), 0);
	f->clock.hook = NULL;
	assert_int_equal(w.result, PIN_OK);
	assert_open(f->guard, 0);
}

static void test_concurrent_checks(void **state)
{
	struct fixture *f = *state;
	/* Two wrong PINs at once on a stopped clock: one is checked, the other
	 * meets the delay the first one set. */
	struct worker w[2] = {{f->guard, WRONG_PIN, PIN_ERROR}, {f->guard, "602518", PIN_ERROR}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, run_check, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_true((w[0].result == PIN_WRONG && w[1].result == PIN_WAIT) ||
	            (w[0].result == PIN_WAIT && w[1].result == PIN_WRONG));
	assert_mode(f->guard, PIN_GUARD_WAIT, 1, 1);
}

/* ---- the hash --------------------------------------------------------------------- */

static void assert_refused(const char *hash, const char *why)
{
	const char *reason = NULL;
	assert_false(pin_hash_valid(hash, &reason));
	assert_non_null(reason);
	if (!strstr(reason, why))
		fail_msg("%s: reason \"%s\", expected \"%s\"", hash, reason, why);
}

/* A well-formed argon2id string with other parameters (no real hash needed for
 * the range checks). */
static void with_params(char out[PIN_HASH_MAX], const char *params)
{
	const char *tail = strrchr(fast_hash, '$');
	const char *salt = tail;
	while (salt > fast_hash && salt[-1] != '$')
		salt--;
	snprintf(out, PIN_HASH_MAX, "$argon2id$v=19$%s$%.*s%s", params, (int)(tail - salt), salt,
	         tail);
}

static void test_hash(void **state)
{
	(void)state;
	char hash[PIN_HASH_MAX];
	assert_int_equal(pin_hash(RIGHT_PIN, strlen(RIGHT_PIN), hash), PIN_OK);
	assert_memory_equal(hash, "$argon2id$v=19$m=131072,t=3,p=1$", 32);
	const char *reason = "unset";
	assert_true(pin_hash_valid(hash, &reason));
	assert_null(reason);
	assert_int_equal(crypto_pwhash_str_verify(hash, RIGHT_PIN, strlen(RIGHT_PIN)), 0);
	assert_int_not_equal(crypto_pwhash_str_verify(hash, WRONG_PIN, strlen(WRONG_PIN)), 0);
	/* A fresh salt every time. */
	char again[PIN_HASH_MAX];
	assert_int_equal(pin_hash(RIGHT_PIN, strlen(RIGHT_PIN), again), PIN_OK);
	assert_string_not_equal(hash, again);
	/* The floor itself is accepted. */
	assert_true(pin_hash_valid(fast_hash, NULL));

	assert_int_equal(pin_hash("12345", 5, hash), PIN_MALFORMED);
	assert_string_equal(hash, "");
	assert_int_equal(pin_hash("12345x", 6, hash), PIN_MALFORMED);

	/* argon2i, a real one. */
	char argon2i[PIN_HASH_MAX];
	assert_int_equal(crypto_pwhash_str_alg(argon2i, RIGHT_PIN, strlen(RIGHT_PIN), 3,
	                                       crypto_pwhash_MEMLIMIT_INTERACTIVE,
	                                       crypto_pwhash_ALG_ARGON2I13),
	                 0);
	assert_refused(argon2i, "argon2i");
	/* argon2id below the INTERACTIVE floor, a real one. */
	char weak[PIN_HASH_MAX];
	assert_int_equal(crypto_pwhash_str_alg(weak, RIGHT_PIN, strlen(RIGHT_PIN), 1, 8u << 20,
	                                       crypto_pwhash_ALG_ARGON2ID13),
	                 0);
	assert_refused(weak, "too weak");

	assert_refused(RIGHT_PIN, "plain PIN");
	assert_refused("1234", "plain PIN");
	assert_refused("", "empty");
	assert_refused(NULL, "empty");
	assert_refused("hunter2", "not an argon2id");
	assert_refused("$2b$12$abcdefghijklmnopqrstuv", "not an argon2id");
	assert_refused("$argon2d$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
	               "not an argon2id");

	with_params(hash, "m=65536,t=1,p=1");
	assert_refused(hash, "too weak");
	with_params(hash, "m=32768,t=4,p=1");
	assert_refused(hash, "too weak");
	with_params(hash, "m=524288,t=3,p=1");
	assert_refused(hash, "too costly");
	with_params(hash, "m=65536,t=9,p=1");
	assert_refused(hash, "too costly");
	with_params(hash, "m=65536,t=2,p=2");
	assert_refused(hash, "lane");
	with_params(hash, "m=065536,t=2,p=1");
	assert_refused(hash, "malformed");
	with_params(hash, "t=2,m=65536,p=1");
	assert_refused(hash, "malformed");
	with_params(hash, "m=99999999999,t=2,p=1");
	assert_refused(hash, "malformed");
	with_params(hash, "m=65536,t=2,p=1");
	assert_true(pin_hash_valid(hash, NULL)); /* the control: back to fast_hash */
	assert_string_equal(hash, fast_hash);

	/* Damaged strings. */
	snprintf(hash, sizeof(hash), "%s", fast_hash);
	hash[strlen(hash) - 2] = '\0';
	assert_refused(hash, "malformed"); /* 41 base64 characters decode to no whole byte */
	snprintf(hash, sizeof(hash), "%s", fast_hash);
	hash[strlen(hash) - 5] = '*';
	assert_refused(hash, "malformed");
	char padded[PIN_HASH_MAX + 2];
	snprintf(padded, sizeof(padded), "%s=", fast_hash);
	assert_refused(padded, "malformed");
	snprintf(hash, sizeof(hash), "%s", fast_hash);
	memcpy(hash + 10, "v=16", 4);
	assert_refused(hash, "version");
	snprintf(hash, sizeof(hash), "%.40s", fast_hash);
	assert_refused(hash, "malformed");
	char longer[300];
	snprintf(longer, sizeof(longer), "%s%0160d", fast_hash, 0);
	assert_refused(longer, "too long");

	/* The guard refuses what pin_hash_valid() refuses. */
	char err[PIN_ERROR_MAX];
	struct pin_policy policy = PIN_POLICY_DEFAULT;
	assert_null(pin_guard_create(argon2i, "unused", &policy, NULL, err));
	assert_non_null(strstr(err, "argon2i"));
	assert_null(pin_guard_create(RIGHT_PIN, "unused", &policy, NULL, err));
	assert_non_null(strstr(err, "plain PIN"));
}

static void test_policy(void **state)
{
	(void)state;
	char err[PIN_ERROR_MAX];
	struct pin_policy p = PIN_POLICY_DEFAULT;
	assert_true(pin_policy_valid(&p, err));
	p.max_failures = 0;
	assert_false(pin_policy_valid(&p, err));
	assert_non_null(strstr(err, "max_failures"));
	p = (struct pin_policy)PIN_POLICY_DEFAULT;
	p.lockout_seconds = 59;
	assert_false(pin_policy_valid(&p, err));
	p.lockout_seconds = 86401;
	assert_false(pin_policy_valid(&p, err));
	p = (struct pin_policy)PIN_POLICY_DEFAULT;
	p.delay_cap_seconds = 901;
	assert_false(pin_policy_valid(&p, err));
	assert_null(pin_guard_create(fast_hash, "unused", &p, NULL, err));
	assert_non_null(strstr(err, "delay_cap"));
}

static void test_system_clock(void **state)
{
	struct fixture *f = *state;
	/* The real clocks and boot id: a wrong PIN is counted and recorded with
	 * this boot's id; a restart keeps the count. */
	char err[PIN_ERROR_MAX];
	struct pin_guard *g = pin_guard_create(fast_hash, f->path, &f->policy, NULL, err);
	assert_non_null(g);
	assert_int_equal(check(g, WRONG_PIN), PIN_WRONG);
	pin_guard_destroy(g);
	char text[1024], boot_id[64] = "";
	read_file(f->path, text, sizeof(text));
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, boot_id, sizeof(boot_id) - 1);
		close(fd);
		boot_id[n > 0 ? n : 0] = '\0';
		boot_id[strcspn(boot_id, "\n")] = '\0';
		assert_non_null(strstr(text, boot_id));
	}
	g = pin_guard_create(fast_hash, f->path, &f->policy, NULL, err);
	assert_non_null(g);
	struct pin_guard_info i;
	pin_guard_state(g, &i);
	assert_int_equal(i.failures, 1);
	pin_guard_destroy(g);
}

/* ---- the tool --------------------------------------------------------------------- */

struct run {
	int status;
	char out[1024];
	char err[1024];
};

static void slurp(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == cap - 1)
			break;
	}
	buf[len] = '\0';
}

static const char *tool_path(void)
{
	const char *tool = getenv("SCANKIOSK_PIN_TOOL");
	if (!tool || !*tool)
		fail_msg("SCANKIOSK_PIN_TOOL is not set (tests/unit/meson.build sets it)");
	return tool;
}

/* Runs the tool with args and input on a pipe as stdin. */
static void run_tool(const char *const *args, const char *input, size_t len, struct run *r)
{
	const char *tool = tool_path();
	int in[2], out[2], err[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(in[0]), close(in[1]), close(out[0]), close(out[1]), close(err[0]);
		close(err[1]);
		char *argv[8] = {(char *)(uintptr_t)tool};
		for (int i = 0; args[i] && i < 6; i++)
			argv[i + 1] = (char *)(uintptr_t)args[i];
		execv(tool, argv);
		_exit(127);
	}
	close(in[0]), close(out[1]), close(err[1]);
	if (len > 0 && write(in[1], input, len) != (ssize_t)len)
		assert_int_equal(errno, EPIPE);
	close(in[1]);
	slurp(out[0], r->out, sizeof(r->out));
	slurp(err[0], r->err, sizeof(r->err));
	close(out[0]), close(err[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	r->status = WEXITSTATUS(status);
}

/* "pin_hash = HASH\n", exactly one line; HASH into hash. */
static void assert_hash_line(const struct run *r, char hash[PIN_HASH_MAX])
{
	assert_int_equal(r->status, 0);
	assert_memory_equal(r->out, "pin_hash = ", 11);
	size_t len = strlen(r->out);
	assert_true(len > 12 && len - 12 < PIN_HASH_MAX);
	assert_int_equal(r->out[len - 1], '\n');
	assert_ptr_equal(strchr(r->out, '\n'), r->out + len - 1);
	memcpy(hash, r->out + 11, len - 12);
	hash[len - 12] = '\0';
}

static void test_tool_hash(void **state)
{
	(void)state;
	static const char *const hash_args[] = {"hash", NULL};
	struct run r;
	char hash[PIN_HASH_MAX];

	run_tool(hash_args, "123456\n", 7, &r);
	assert_hash_line(&r, hash);
	assert_true(pin_hash_valid(hash, NULL));
	assert_memory_equal(hash, "$argon2id$v=19$m=131072,t=3,p=1$", 32);
	assert_int_equal(crypto_pwhash_str_verify(hash, "123456", 6), 0);
	assert_int_not_equal(crypto_pwhash_str_verify(hash, "123457", 6), 0);
	assert_null(strstr(r.err, "123456"));

	/* Piped: the first line only, "\r\n" and a missing end of line accepted. */
	run_tool(hash_args, TOOL_PIN "\r\n999999\n", 15, &r);
	assert_hash_line(&r, hash);
	assert_int_equal(crypto_pwhash_str_verify(hash, TOOL_PIN, 6), 0);
	run_tool(hash_args, "123456789012", 12, &r);
	assert_hash_line(&r, hash);
	assert_int_equal(crypto_pwhash_str_verify(hash, "123456789012", 12), 0);

	/* Bad PINs and usage: exit 2, nothing on stdout. */
	static const char *const bad[] = {
	        "123\n", "12345\n", "1234567890123\n", "12a456\n", " 123456\n", "\n", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run_tool(hash_args, bad[i], strlen(bad[i]), &r);
		if (r.status != 2)
			fail_msg("input %zu: exit %d", i, r.status);
		assert_string_equal(r.out, "");
		assert_true(strlen(r.err) > 0);
	}
	static const char *const no_args[] = {NULL};
	static const char *const other[] = {"verify", NULL};
	static const char *const extra[] = {"hash", "123456", NULL};
	run_tool(no_args, "123456\n", 7, &r);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "usage"));
	run_tool(other, "123456\n", 7, &r);
	assert_int_equal(r.status, 2);
	run_tool(extra, "123456\n", 7, &r);
	assert_int_equal(r.status, 2);
	assert_string_equal(r.out, "");
}

/* On a terminal: no echo, asked twice, both must match. */
static void tool_on_tty(const char *first, const char *second, struct run *r, char *echoed,
                        size_t echoed_cap)
{
	const char *tool = tool_path();
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	char slave_name[128];
	assert_int_equal(ptsname_r(master, slave_name, sizeof(slave_name)), 0);
	int out[2], err[2];
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setsid();
		int s = open(slave_name, O_RDWR);
		if (s < 0)
			_exit(126);
		dup2(s, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execl(tool, tool, "hash", (char *)NULL);
		_exit(127);
	}
	close(out[1]), close(err[1]);
	/* Type each line only once its prompt is out (echo is off by then). */
	char prompts[512];
	size_t plen = 0;
	const char *lines[2] = {first, second};
	for (int k = 0; k < 2; k++) {
		const char *want = k == 0 ? "PIN (6 to 12 digits): " : "again: ";
		prompts[plen] = '\0';
		while (!strstr(prompts, want)) {
			struct pollfd p = {err[0], POLLIN, 0};
			assert_true(poll(&p, 1, 30000) == 1);
			ssize_t n = read(err[0], prompts + plen, sizeof(prompts) - 1 - plen);
			assert_true(n > 0);
			plen += (size_t)n;
			prompts[plen] = '\0';
		}
		assert_int_equal(write(master, lines[k], strlen(lines[k])),
		                 (ssize_t)strlen(lines[k]));
		plen = 0;
	}
	slurp(out[0], r->out, sizeof(r->out));
	slurp(err[0], r->err, sizeof(r->err));
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	r->status = WEXITSTATUS(status);
	/* Whatever the terminal showed (the slave is closed: read what is left). */
	int fl = fcntl(master, F_GETFL);
	fcntl(master, F_SETFL, fl | O_NONBLOCK);
	ssize_t n = read(master, echoed, echoed_cap - 1);
	echoed[n > 0 ? n : 0] = '\0';
	close(master), close(out[0]), close(err[0]);
}

static void test_tool_terminal(void **state)
{
	(void)state;
	struct run r;
	char echoed[512], hash[PIN_HASH_MAX];
	tool_on_tty(TOOL_PIN "\n", TOOL_PIN "\n", &r, echoed, sizeof(echoed));
	assert_hash_line(&r, hash);
	assert_int_equal(crypto_pwhash_str_verify(hash, TOOL_PIN, 6), 0);
	assert_null(strstr(echoed, TOOL_PIN));
	assert_null(strstr(r.err, TOOL_PIN));

	tool_on_tty(TOOL_PIN "\n", "418264\n", &r, echoed, sizeof(echoed));
	assert_int_equal(r.status, 2);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "differ"));
	assert_null(strstr(echoed, "41826"));
}

/* ---- privacy --------------------------------------------------------------------- */

static void test_log_has_no_digits(void **state)
{
	(void)state;
	fflush(stderr);
	static char text[1 << 20];
	size_t n = read_file(logpath, text, sizeof(text));
	assert_true(n > 0);
	/* Every kind of attempt was logged ... */
	assert_non_null(strstr(text, "maintenance PIN accepted"));
	assert_non_null(strstr(text, "wrong maintenance PIN (failure 1 of 5)"));
	assert_non_null(strstr(text, "): locked for 15 min"));
	assert_non_null(strstr(text, "refused unchecked: locked"));
	assert_non_null(strstr(text, "refused unchecked: 1 s of the delay left"));
	assert_non_null(strstr(text, "refused unchecked: the PIN entered is malformed"));
	assert_non_null(strstr(text, "is unreadable (truncated)"));
	assert_non_null(strstr(text, "the clock went back"));
	/* ... and no PIN, whole or in part. */
	static const char *const pins[] = {RIGHT_PIN, WRONG_PIN, TOOL_PIN, "602518",
	                                   "739185",  "73918",   "60251"};
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		if (strstr(text, pins[i]))
			fail_msg("the log shows %s", pins[i]);
	}
	/* Nor the hash. */
	assert_null(strstr(text, "$argon2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_right_pin, setup_guard, teardown),
	        cmocka_unit_test_setup_teardown(test_wrong_pin, setup_guard, teardown),
	        cmocka_unit_test_setup_teardown(test_malformed_not_counted, setup_guard, teardown),
	        cmocka_unit_test_setup_teardown(test_delay_grows, setup_guard, teardown),
	        cmocka_unit_test_setup_teardown(test_delay_cap, setup_guard, teardown),
	        cmocka_unit_test_setup_teardown(test_lockout_and_release, setup_guard, teardown),
	        cmocka_unit_test_setup_teardown(test_last_attempt_right, setup_guard, teardown),
	        cmocka_unit_test_setup_teardown(test_lockout_survives_restart, setup_guard,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_count_and_delay_survive_restart, setup_guard,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_lower_limit_locks, setup_guard, teardown),
	        cmocka_unit_test_setup_teardown(test_corrupt_state_locks, setup_guard, teardown),
	        cmocka_unit_test_setup_teardown(test_clock_jumps_while_running, setup_guard,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_clock_back_across_reboot, setup_guard,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_clock_forward_across_reboot, setup_guard,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_state_file_always_whole, setup_guard,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_unwritable_state_refuses, setup_guard,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_power_cut_during_check, setup_guard, teardown),
	        cmocka_unit_test_setup_teardown(test_state_during_check, setup_guard, teardown),
	        cmocka_unit_test_setup_teardown(test_concurrent_checks, setup_guard, teardown),
	        cmocka_unit_test(test_hash),
	        cmocka_unit_test(test_policy),
	        cmocka_unit_test_setup_teardown(test_system_clock, setup, teardown),
	        cmocka_unit_test(test_tool_hash),
	        cmocka_unit_test(test_tool_terminal),
	        cmocka_unit_test(test_log_has_no_digits),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
