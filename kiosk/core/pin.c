/*
 * pin.c - the maintenance PIN's hash and the guard against guessing it.
 *
 * The guard keeps its deadlines in memory as CLOCK_BOOTTIME milliseconds and
 * writes them to the state file both as boot-clock and as wall-clock deadlines,
 * with the boot id (pin.h explains which one counts when the file is read).
 * State file, all lines required, in this order:
 *
 *   scankiosk-pin-state 1
 *   boot=BOOT_ID or -
 *   failures=N
 *   wait_boot_ms=T      (0: no delay running; else with wait_wall_ms)
 *   wait_wall_ms=T
 *   lock_boot_ms=T      (0: no lockout; else with lock_wall_ms)
 *   lock_wall_ms=T
 *   check=HEX           (BLAKE2b-128 of everything above: a damaged file is
 *                        told from a valid one, not a secret)
 */
#include "pin.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "log.h"

#define FILE_MODE    0600
#define STATE_MAX    512
#define STATE_MAGIC  "scankiosk-pin-state 1\n"
#define BOOT_ID_MAX  64
#define CHECK_BYTES  16
#define HASH_PREFIX  "$argon2id$v=19$"
#define SALT_B64_MIN 11 /* 8 bytes, libsodium's minimum */
#define OUT_B64_MIN  22 /* 16 bytes */

static const char *const result_names[PIN_RESULT_LAST] = {
        [PIN_OK] = "ok",
        [PIN_WRONG] = "wrong",
        [PIN_MALFORMED] = "malformed",
        [PIN_WAIT] = "refused (delay)",
        [PIN_LOCKED] = "refused (locked)",
        [PIN_ERROR] = "error",
};

const char *pin_result_name(enum pin_result result)
{
	if ((unsigned)result >= PIN_RESULT_LAST)
		return "unknown";
	return result_names[result];
}

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_status = -1;

static void init_sodium(void)
{
	sodium_status = sodium_init() < 0 ? -1 : 0;
}

static bool sodium_ready(void)
{
	pthread_once(&sodium_once, init_sodium);
	return sodium_status == 0;
}

/* ---- the PIN and its hash --------------------------------------------------- */

const char *pin_format_problem(const char *pin, size_t len)
{
	if (!pin)
		return "no PIN";
	for (size_t i = 0; i < len; i++) {
		if (pin[i] < '0' || pin[i] > '9')
			return "digits only";
	}
	if (len < PIN_MIN_DIGITS)
		return "too short";
	if (len > PIN_MAX_DIGITS)
		return "too long";
	return NULL;
}

enum pin_result pin_hash(const char *pin, size_t len, char out[PIN_HASH_MAX])
{
	_Static_assert(PIN_HASH_MAX == crypto_pwhash_STRBYTES, "PIN_HASH_MAX");
	_Static_assert(PIN_HASH_OPSLIMIT >= PIN_HASH_OPSLIMIT_MIN &&
	                       PIN_HASH_OPSLIMIT <= PIN_HASH_OPSLIMIT_MAX,
	               "PIN_HASH_OPSLIMIT");
	_Static_assert(PIN_HASH_MEMLIMIT >= PIN_HASH_MEMLIMIT_MIN &&
	                       PIN_HASH_MEMLIMIT <= PIN_HASH_MEMLIMIT_MAX,
	               "PIN_HASH_MEMLIMIT");
	_Static_assert(PIN_HASH_OPSLIMIT_MIN == crypto_pwhash_OPSLIMIT_INTERACTIVE &&
	                       PIN_HASH_MEMLIMIT_MIN == crypto_pwhash_MEMLIMIT_INTERACTIVE,
	               "the floor is libsodium's INTERACTIVE level");
	out[0] = '\0';
	if (pin_format_problem(pin, len))
		return PIN_MALFORMED;
	if (!sodium_ready())
		return PIN_ERROR;
	if (crypto_pwhash_str_alg(out, pin, len, PIN_HASH_OPSLIMIT, PIN_HASH_MEMLIMIT,
	                          crypto_pwhash_ALG_ARGON2ID13) != 0) {
		out[0] = '\0';
		return PIN_ERROR;
	}
	return PIN_OK;
}

/* A decimal number without sign or leading zero at *p, up to stop. */
static bool parse_param(const char **p, const char *name, char stop, uint64_t max, uint64_t *out)
{
	size_t n = strlen(name);
	if (strncmp(*p, name, n) != 0)
		return false;
	const char *s = *p + n;
	uint64_t v = 0;
	size_t digits = 0;
	while (s[digits] >= '0' && s[digits] <= '9') {
		v = v * 10 + (uint64_t)(s[digits] - '0');
		if (v > max || ++digits > 10)
			return false;
	}
	if (digits == 0 || (digits > 1 && s[0] == '0') || s[digits] != stop)
		return false;
	*out = v;
	*p = s + digits + 1;
	return true;
}

/* Unpadded standard base64 of length min..max, ending at stop. */
static bool parse_b64(const char **p, char stop, size_t min, size_t max)
{
	const char *s = *p;
	size_t n = 0;
	while ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') ||
	       (s[n] >= '0' && s[n] <= '9') || s[n] == '+' || s[n] == '/')
		n++;
	if (s[n] != stop || n < min || n > max || n % 4 == 1)
		return false;
	*p = s + n + (stop ? 1 : 0);
	return true;
}

bool pin_hash_valid(const char *hash, const char **reason)
{
	const char *why = NULL;
	if (reason)
		*reason = NULL;
	if (!hash || !*hash) {
		why = "empty";
		goto out;
	}
	size_t len = strnlen(hash, PIN_HASH_MAX);
	if (len >= PIN_HASH_MAX) {
		why = "too long for an argon2id hash";
		goto out;
	}
	if (!pin_format_problem(hash, len) || strspn(hash, "0123456789") == len) {
		why = "a plain PIN, not a hash (make one with scankiosk-pin hash)";
		goto out;
	}
	if (strncmp(hash, "$argon2i$", 9) == 0) {
		why = "an argon2i hash: argon2id is required (scankiosk-pin hash)";
		goto out;
	}
	if (strncmp(hash, "$argon2id$", 10) != 0) {
		why = "not an argon2id hash (make one with scankiosk-pin hash)";
		goto out;
	}
	uint64_t m = 0, t = 0, lanes = 0;
	if (strncmp(hash, HASH_PREFIX, strlen(HASH_PREFIX)) != 0) {
		why = "an argon2id version other than 19";
		goto out;
	}
	const char *p = hash + strlen(HASH_PREFIX);
	if (!parse_param(&p, "m=", ',', UINT32_MAX, &m) ||
	    !parse_param(&p, "t=", ',', UINT32_MAX, &t) ||
	    !parse_param(&p, "p=", '$', UINT32_MAX, &lanes) ||
	    !parse_b64(&p, '$', SALT_B64_MIN, PIN_HASH_MAX) ||
	    !parse_b64(&p, '\0', OUT_B64_MIN, PIN_HASH_MAX)) {
		why = "a malformed argon2id hash";
		goto out;
	}
	if (lanes != 1) {
		why = "an argon2id hash with more than one lane (p=1 is required)";
		goto out;
	}
	if (t < PIN_HASH_OPSLIMIT_MIN || m * 1024 < PIN_HASH_MEMLIMIT_MIN) {
		why = "an argon2id hash that is too weak (below t=2, m=65536)";
		goto out;
	}
	if (t > PIN_HASH_OPSLIMIT_MAX || m * 1024 > PIN_HASH_MEMLIMIT_MAX) {
		why = "an argon2id hash that is too costly to check (above t=8, m=262144)";
		goto out;
	}
	/* libsodium's own decoder must accept it too (it returns -1 for a string it
	 * cannot parse, 0 or 1 otherwise). */
	if (!sodium_ready() ||
	    crypto_pwhash_str_needs_rehash(hash, (unsigned long long)t, (size_t)m * 1024) < 0) {
		why = "a malformed argon2id hash";
		goto out;
	}
out:
	if (why && reason)
		*reason = why;
	return why == NULL;
}

/* ---- policy and clocks -------------------------------------------------------- */

bool pin_policy_valid(const struct pin_policy *policy, char err[PIN_ERROR_MAX])
{
	if (policy->max_failures < 1 || policy->max_failures > PIN_MAX_FAILURES_MAX) {
		snprintf(err, PIN_ERROR_MAX, "max_failures must be 1 to %u", PIN_MAX_FAILURES_MAX);
		return false;
	}
	if (policy->lockout_seconds < PIN_LOCKOUT_SECONDS_MIN ||
	    policy->lockout_seconds > PIN_LOCKOUT_SECONDS_MAX) {
		snprintf(err, PIN_ERROR_MAX, "lockout_seconds must be %u to %u",
		         PIN_LOCKOUT_SECONDS_MIN, PIN_LOCKOUT_SECONDS_MAX);
		return false;
	}
	if (policy->delay_cap_seconds > policy->lockout_seconds) {
		snprintf(err, PIN_ERROR_MAX, "delay_cap_seconds must not exceed lockout_seconds");
		return false;
	}
	return true;
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t system_wall_ms(void *ctx)
{
	(void)ctx;
	return clock_ms(CLOCK_REALTIME);
}

static int64_t system_boot_ms(void *ctx)
{
	(void)ctx;
	return clock_ms(CLOCK_BOOTTIME);
}

/* The kernel's boot id, or "" when it cannot be read. */
static void read_boot_id(char out[BOOT_ID_MAX])
{
	out[0] = '\0';
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, BOOT_ID_MAX - 1);
	close(fd);
	if (n <= 0) {
		out[0] = '\0';
		return;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

/* A boot id as the state file may hold it: 1..63 of [0-9a-f-]. */
static bool boot_id_ok(const char *id)
{
	size_t n = strlen(id);
	return n > 0 && n < BOOT_ID_MAX && strspn(id, "0123456789abcdef-") == n;
}

/* ---- the guard ----------------------------------------------------------------- */

struct pin_guard {
	pthread_mutex_t lock;       /* the fields up to `checking` */
	pthread_mutex_t check_lock; /* one pin_check() at a time; also serialises writes */
	uint32_t failures;
	int64_t wait_until; /* boot ms; 0: no delay */
	int64_t lock_until; /* boot ms; 0: no lockout */
	bool checking;

	struct pin_policy policy;
	struct pin_clock clock;
	char boot_id[BOOT_ID_MAX];
	char hash[PIN_HASH_MAX];
	int dir_fd;
	char *name;     /* the state file's name in dir_fd */
	char *tmp_name; /* name + ".tmp" */
	char *path;     /* for log lines */
};

struct snapshot {
	uint32_t failures;
	int64_t wait_until, lock_until;
};

static int64_t now_boot(const struct pin_guard *g)
{
	return g->clock.boot_ms(g->clock.ctx);
}

static int64_t now_wall(const struct pin_guard *g)
{
	return g->clock.wall_ms(g->clock.ctx);
}

/* The delay after the n-th consecutive failure: 2^(n-1) s, capped. */
static int64_t delay_ms(const struct pin_policy *policy, uint32_t failures)
{
	if (failures == 0)
		return 0;
	int64_t cap = (int64_t)policy->delay_cap_seconds * 1000;
	if (failures > 31)
		return cap;
	int64_t d = ((int64_t)1 << (failures - 1)) * 1000;
	return d < cap ? d : cap;
}

static int64_t lockout_ms(const struct pin_policy *policy)
{
	return (int64_t)policy->lockout_seconds * 1000;
}

static uint32_t seconds_up(int64_t ms)
{
	if (ms <= 0)
		return 0;
	int64_t s = (ms + 999) / 1000;
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

/* Ends an expired delay or lockout (a lockout that ended starts the count again). */
static void settle(struct pin_guard *g, int64_t now)
{
	if (g->lock_until && now >= g->lock_until) {
		g->failures = 0;
		g->lock_until = 0;
		g->wait_until = 0;
	}
	if (g->wait_until && now >= g->wait_until)
		g->wait_until = 0;
}

/* The deadlines after the current count of failures, measured from now. */
static void apply_failures(struct pin_guard *g, int64_t now)
{
	if (g->failures >= g->policy.max_failures) {
		g->failures = g->policy.max_failures;
		g->lock_until = now + lockout_ms(&g->policy);
		g->wait_until = 0;
	} else {
		int64_t d = delay_ms(&g->policy, g->failures);
		g->lock_until = 0;
		g->wait_until = d > 0 ? now + d : 0;
	}
}

static struct snapshot take_snapshot(const struct pin_guard *g)
{
	return (struct snapshot){g->failures, g->wait_until, g->lock_until};
}

static void restore_snapshot(struct pin_guard *g, const struct snapshot *s)
{
	g->failures = s->failures;
	g->wait_until = s->wait_until;
	g->lock_until = s->lock_until;
}

static void check_hex(const char *text, size_t len, char hex[CHECK_BYTES * 2 + 1])
{
	unsigned char sum[CHECK_BYTES];
	crypto_generichash(sum, sizeof(sum), (const unsigned char *)text, len, NULL, 0);
	sodium_bin2hex(hex, CHECK_BYTES * 2 + 1, sum, sizeof(sum));
}

/* Replaces the state file with s (atomic_file_replace_at(): NAME.tmp,
 * fsync, rename, fsync of the directory). Returns 0, or -1 (logged; the temp
 * file is removed). */
static int write_state(struct pin_guard *g, const struct snapshot *s)
{
	int64_t boot = now_boot(g), wall = now_wall(g);
	int64_t wait_wall = s->wait_until ? wall + (s->wait_until - boot) : 0;
	int64_t lock_wall = s->lock_until ? wall + (s->lock_until - boot) : 0;
	/* A wall deadline of 0 would read as "none". */
	if (s->wait_until && wait_wall == 0)
		wait_wall = 1;
	if (s->lock_until && lock_wall == 0)
		lock_wall = 1;
	char text[STATE_MAX];
	int len = snprintf(text, sizeof(text),
	                   STATE_MAGIC "boot=%s\nfailures=%" PRIu32 "\nwait_boot_ms=%" PRId64
	                               "\nwait_wall_ms=%" PRId64 "\nlock_boot_ms=%" PRId64
	                               "\nlock_wall_ms=%" PRId64 "\n",
	                   g->boot_id[0] ? g->boot_id : "-", s->failures, s->wait_until, wait_wall,
	                   s->lock_until, lock_wall);
	if (len < 0 || (size_t)len + 8 + CHECK_BYTES * 2 > sizeof(text)) {
		log_error("pin: state for %s does not fit", g->path);
		return -1;
	}
	char hex[CHECK_BYTES * 2 + 1];
	check_hex(text, (size_t)len, hex);
	len += snprintf(text + len, sizeof(text) - (size_t)len, "check=%s\n", hex);

	const char *what = NULL;
	if (atomic_file_replace_at(g->dir_fd, g->name, text, (size_t)len, FILE_MODE, &what) != 0) {
		/* After a failed directory fsync the new file is in place, but
		 * the rename may not survive a power cut: an error all the same. */
		log_error_errno("pin: %s: cannot %s", g->path, what);
		return -1;
	}
	return 0;
}

/* "KEY=VALUE\n" at *p; VALUE copied to out (size cap). */
static bool parse_line(const char **p, const char *key, char *out, size_t cap)
{
	size_t n = strlen(key);
	if (strncmp(*p, key, n) != 0 || (*p)[n] != '=')
		return false;
	const char *v = *p + n + 1;
	const char *nl = strchr(v, '\n');
	if (!nl || (size_t)(nl - v) >= cap || nl == v)
		return false;
	memcpy(out, v, (size_t)(nl - v));
	out[nl - v] = '\0';
	*p = nl + 1;
	return true;
}

static bool parse_i64(const char *s, int64_t *out)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return false;
	*out = strtoll(s, NULL, 10);
	return true;
}

struct stored {
	char boot_id[BOOT_ID_MAX];
	uint32_t failures;
	int64_t wait_boot, wait_wall, lock_boot, lock_wall;
};

/* Parses the state file's text. NULL, or what is wrong with it. */
static const char *parse_state(const char *text, size_t len, struct stored *st)
{
	if (len == 0)
		return "empty";
	if (strlen(text) != len)
		return "not text";
	const char *check = strstr(text, "check=");
	if (!check)
		return "truncated";
	/* "check=HEX\n" ends the file. */
	size_t body = (size_t)(check - text);
	if (len != body + 6 + CHECK_BYTES * 2 + 1 || text[len - 1] != '\n')
		return "truncated";
	char hex[CHECK_BYTES * 2 + 1];
	check_hex(text, body, hex);
	if (memcmp(check + 6, hex, CHECK_BYTES * 2) != 0)
		return "damaged (checksum)";
	if (strncmp(text, STATE_MAGIC, strlen(STATE_MAGIC)) != 0)
		return "unknown format";
	const char *p = text + strlen(STATE_MAGIC);
	char v[BOOT_ID_MAX];
	int64_t n[5];
	static const char *const keys[5] = {"failures", "wait_boot_ms", "wait_wall_ms",
	                                    "lock_boot_ms", "lock_wall_ms"};
	if (!parse_line(&p, "boot", v, sizeof(v)))
		return "malformed boot line";
	if (strcmp(v, "-") == 0)
		st->boot_id[0] = '\0';
	else if (boot_id_ok(v))
		memcpy(st->boot_id, v, sizeof(v));
	else
		return "malformed boot line";
	for (int i = 0; i < 5; i++) {
		if (!parse_line(&p, keys[i], v, 20) || !parse_i64(v, &n[i]))
			return "malformed line";
	}
	if (p != check)
		return "unexpected lines";
	if (n[0] > PIN_MAX_FAILURES_MAX)
		return "failure count out of range";
	st->failures = (uint32_t)n[0];
	st->wait_boot = n[1];
	st->wait_wall = n[2];
	st->lock_boot = n[3];
	st->lock_wall = n[4];
	if ((st->wait_boot == 0) != (st->wait_wall == 0) ||
	    (st->lock_boot == 0) != (st->lock_wall == 0))
		return "inconsistent deadlines";
	if (st->lock_boot && st->failures == 0)
		return "inconsistent lockout";
	return NULL;
}

/* Time left until a stored deadline, by the boot clock when the file comes
 * from this boot, else by the wall clock; within 0..max. */
static int64_t remaining(const struct pin_guard *g, bool same_boot, int64_t boot_deadline,
                         int64_t wall_deadline, int64_t max, bool *clamped)
{
	if (!boot_deadline)
		return 0;
	int64_t left = same_boot ? boot_deadline - now_boot(g) : wall_deadline - now_wall(g);
	if (left > max) {
		*clamped = true;
		return max;
	}
	return left > 0 ? left : 0;
}

/* Reads the state file into g. Returns true when it must be rewritten. */
static bool load_state(struct pin_guard *g)
{
	int64_t now = now_boot(g);
	g->failures = 0;
	g->wait_until = 0;
	g->lock_until = 0;

	/* A power cut during a write leaves at most a temp file; the state file is
	 * the previous one, whole. */
	if (unlinkat(g->dir_fd, g->tmp_name, 0) == 0)
		log_warning("pin: removed %s.tmp left by an interrupted write", g->path);

	char text[STATE_MAX + 1];
	const char *problem = NULL;
	int fd = openat(g->dir_fd, g->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return false;
	size_t len = 0;
	if (fd < 0) {
		problem = strerror(errno);
	} else {
		struct stat sb;
		if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			problem = "not a regular file";
		} else {
			for (;;) {
				ssize_t n = read(fd, text + len, sizeof(text) - 1 - len);
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0) {
					problem = strerror(errno);
					break;
				}
				if (n == 0)
					break;
				len += (size_t)n;
				if (len == sizeof(text) - 1) {
					problem = "too large";
					break;
				}
			}
		}
		close(fd);
	}
	text[len] = '\0';
	struct stored st = {0};
	if (!problem)
		problem = parse_state(text, len, &st);
	if (problem) {
		/* Fail safe: someone may have damaged it to reset the count. */
		g->failures = g->policy.max_failures;
		g->lock_until = now + lockout_ms(&g->policy);
		log_error("pin: state file %s is unreadable (%s): maintenance PIN locked for %u "
		          "min; the file is rewritten",
		          g->path, problem, seconds_up(lockout_ms(&g->policy)) / 60);
		return true;
	}

	bool same_boot = g->boot_id[0] && strcmp(g->boot_id, st.boot_id) == 0;
	bool clamped = false;
	int64_t lock_left = remaining(g, same_boot, st.lock_boot, st.lock_wall,
	                              lockout_ms(&g->policy), &clamped);
	g->failures = st.failures;
	if (st.lock_boot) {
		if (lock_left > 0) {
			g->failures = g->policy.max_failures;
			g->lock_until = now + lock_left;
		} else {
			g->failures = 0; /* the lockout has ended */
		}
	} else if (g->failures >= g->policy.max_failures) {
		/* The limit was lowered since the file was written. */
		g->failures = g->policy.max_failures;
		g->lock_until = now + lockout_ms(&g->policy);
		log_warning("pin: %" PRIu32 " failures recorded reach the limit: maintenance PIN "
		            "locked for %u min",
		            st.failures, seconds_up(lockout_ms(&g->policy)) / 60);
		return true;
	} else {
		int64_t wait_left = remaining(g, same_boot, st.wait_boot, st.wait_wall,
		                              delay_ms(&g->policy, g->failures), &clamped);
		g->wait_until = wait_left > 0 ? now + wait_left : 0;
	}
	if (clamped)
		log_warning("pin: a deadline in %s lies further ahead than the policy allows "
		            "(the clock went back); shortened",
		            g->path);
	if (g->lock_until)
		log_warning("pin: maintenance PIN locked for %u s more (%" PRIu32 " failures)",
		            seconds_up(g->lock_until - now), g->failures);
	else if (g->failures)
		log_info("pin: consecutive failed maintenance PIN attempts on record: %" PRIu32,
		         g->failures);
	return clamped;
}

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);
	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

struct pin_guard *pin_guard_create(const char *hash, const char *state_path,
                                   const struct pin_policy *policy, const struct pin_clock *clock,
                                   char err[PIN_ERROR_MAX])
{
	err[0] = '\0';
	const char *why = NULL;
	if (!pin_hash_valid(hash, &why)) {
		snprintf(err, PIN_ERROR_MAX, "pin hash: %s", why);
		return NULL;
	}
	if (!pin_policy_valid(policy, err))
		return NULL;
	if (!state_path || !*state_path || state_path[strlen(state_path) - 1] == '/') {
		snprintf(err, PIN_ERROR_MAX, "pin state file: a file path is required");
		return NULL;
	}
	if (clock && (!clock->wall_ms || !clock->boot_ms)) {
		snprintf(err, PIN_ERROR_MAX, "pin clock: both clocks are required");
		return NULL;
	}
	if (!sodium_ready()) {
		snprintf(err, PIN_ERROR_MAX, "libsodium cannot be initialised");
		return NULL;
	}
	struct pin_guard *g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, PIN_ERROR_MAX, "out of memory");
		return NULL;
	}
	g->dir_fd = -1;
	g->policy = *policy;
	if (clock) {
		g->clock = *clock;
		if (clock->boot_id && boot_id_ok(clock->boot_id))
			snprintf(g->boot_id, sizeof(g->boot_id), "%s", clock->boot_id);
	} else {
		g->clock.wall_ms = system_wall_ms;
		g->clock.boot_ms = system_boot_ms;
		read_boot_id(g->boot_id);
		if (!boot_id_ok(g->boot_id))
			g->boot_id[0] = '\0';
	}
	g->clock.boot_id = NULL;
	snprintf(g->hash, sizeof(g->hash), "%s", hash);

	const char *slash = strrchr(state_path, '/');
	char *dir =
	        slash ? strndup(state_path, slash == state_path ? 1 : (size_t)(slash - state_path))
	              : strdup(".");
	g->path = strdup(state_path);
	g->name = strdup(slash ? slash + 1 : state_path);
	g->tmp_name = g->name ? join(g->name, ".tmp") : NULL;
	if (!dir || !g->path || !g->name || !g->tmp_name) {
		snprintf(err, PIN_ERROR_MAX, "out of memory");
		goto fail;
	}
	g->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (g->dir_fd < 0) {
		snprintf(err, PIN_ERROR_MAX, "pin state directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (pthread_mutex_init(&g->lock, NULL) != 0) {
		snprintf(err, PIN_ERROR_MAX, "cannot create a mutex");
		goto fail;
	}
	if (pthread_mutex_init(&g->check_lock, NULL) != 0) {
		pthread_mutex_destroy(&g->lock);
		snprintf(err, PIN_ERROR_MAX, "cannot create a mutex");
		goto fail;
	}
	free(dir);
	if (load_state(g)) {
		struct snapshot s = take_snapshot(g);
		/* Failing here leaves the lockout in memory: still safe. */
		(void)write_state(g, &s);
	}
	return g;
fail:
	free(dir);
	if (g->dir_fd >= 0)
		close(g->dir_fd);
	free(g->path);
	free(g->name);
	free(g->tmp_name);
	free(g);
	return NULL;
}

void pin_guard_destroy(struct pin_guard *guard)
{
	if (!guard)
		return;
	pthread_mutex_destroy(&guard->lock);
	pthread_mutex_destroy(&guard->check_lock);
	close(guard->dir_fd);
	free(guard->path);
	free(guard->name);
	free(guard->tmp_name);
	sodium_memzero(guard, sizeof(*guard));
	free(guard);
}

void pin_guard_state(struct pin_guard *guard, struct pin_guard_info *info)
{
	pthread_mutex_lock(&guard->lock);
	int64_t now = now_boot(guard);
	uint32_t failures = guard->failures;
	memset(info, 0, sizeof(*info));
	info->checking = guard->checking;
	if (guard->lock_until && now < guard->lock_until) {
		info->mode = PIN_GUARD_LOCKED;
		info->seconds_left = seconds_up(guard->lock_until - now);
	} else {
		if (guard->lock_until)
			failures = 0; /* the lockout has ended */
		else if (guard->wait_until && now < guard->wait_until) {
			info->mode = PIN_GUARD_WAIT;
			info->seconds_left = seconds_up(guard->wait_until - now);
		}
		info->attempts_left = guard->policy.max_failures - failures;
	}
	info->failures = failures;
	pthread_mutex_unlock(&guard->lock);
}

enum pin_result pin_check(struct pin_guard *g, char *pin, size_t len)
{
	enum pin_result result = PIN_ERROR;
	pthread_mutex_lock(&g->check_lock);
	pthread_mutex_lock(&g->lock);
	int64_t now = now_boot(g);
	settle(g, now);
	if (g->lock_until) {
		uint32_t left = seconds_up(g->lock_until - now);
		pthread_mutex_unlock(&g->lock);
		log_warning("pin: attempt refused unchecked: locked, %u min %u s left", left / 60,
		            left % 60);
		result = PIN_LOCKED;
		goto out;
	}
	if (g->wait_until) {
		uint32_t left = seconds_up(g->wait_until - now);
		pthread_mutex_unlock(&g->lock);
		log_warning("pin: attempt refused unchecked: %u s of the delay left", left);
		result = PIN_WAIT;
		goto out;
	}
	const char *problem = pin_format_problem(pin, len);
	if (problem) {
		pthread_mutex_unlock(&g->lock);
		log_warning("pin: attempt refused unchecked: the PIN entered is malformed (%s)",
		            problem);
		result = PIN_MALFORMED;
		goto out;
	}
	/* Count the attempt as a failure on disk before checking: cutting the power
	 * once the outcome shows must not undo a wrong guess. */
	struct snapshot before = take_snapshot(g);
	g->failures++;
	apply_failures(g, now);
	g->checking = true;
	struct snapshot counted = take_snapshot(g);
	pthread_mutex_unlock(&g->lock);

	if (write_state(g, &counted) != 0) {
		pthread_mutex_lock(&g->lock);
		restore_snapshot(g, &before);
		g->checking = false;
		pthread_mutex_unlock(&g->lock);
		log_error("pin: attempt refused unchecked: it cannot be recorded in %s", g->path);
		result = PIN_ERROR;
		goto out;
	}

	/* A copy: gcc's -Wstringop-overread cannot see the size of g->hash through
	 * the pointer under the sanitizers. The hash is not secret. */
	char hash[PIN_HASH_MAX];
	memcpy(hash, g->hash, sizeof(hash));
	errno = 0;
	int rc = crypto_pwhash_str_verify(hash, pin, len);
	int verify_errno = errno;
	sodium_memzero(pin, len);

	pthread_mutex_lock(&g->lock);
	now = now_boot(g);
	g->checking = false;
	if (rc == 0) {
		g->failures = 0;
		g->wait_until = 0;
		g->lock_until = 0;
		result = PIN_OK;
	} else if (verify_errno != EINVAL) {
		/* Not a mismatch: the check could not run (memory). Nothing was learnt. */
		restore_snapshot(g, &before);
		result = PIN_ERROR;
	} else {
		/* The delay runs from the end of the check, not its start. */
		apply_failures(g, now);
		result = PIN_WRONG;
	}
	struct snapshot after = take_snapshot(g);
	pthread_mutex_unlock(&g->lock);

	/* On failure the file keeps the counted attempt: safe, only stricter. */
	(void)write_state(g, &after);
	switch (result) {
	case PIN_OK:
		log_info("pin: maintenance PIN accepted");
		break;
	case PIN_WRONG:
		if (after.lock_until)
			log_warning("pin: wrong maintenance PIN (failure %" PRIu32 " of %" PRIu32
			            "): locked for %u min",
			            after.failures, g->policy.max_failures,
			            seconds_up(lockout_ms(&g->policy)) / 60);
		else if (after.wait_until)
			log_warning("pin: wrong maintenance PIN (failure %" PRIu32 " of %" PRIu32
			            "); next attempt in %u s",
			            after.failures, g->policy.max_failures,
			            seconds_up(delay_ms(&g->policy, after.failures)));
		else
			log_warning("pin: wrong maintenance PIN (failure %" PRIu32 " of %" PRIu32
			            ")",
			            after.failures, g->policy.max_failures);
		break;
	default:
		errno = verify_errno;
		log_error_errno("pin: the maintenance PIN could not be checked");
		break;
	}
out:
	if (pin)
		sodium_memzero(pin, len);
	pthread_mutex_unlock(&g->check_lock);
	return result;
}
