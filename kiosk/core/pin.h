/*
 * pin.h - the maintenance PIN: its hash, and the guard against guessing.
 *
 * The PIN is 6 to 12 digits. The configuration holds only its argon2id hash
 * (libsodium crypto_pwhash_str, made by `scankiosk-pin hash`); the digits are
 * never stored, logged or kept after a check.
 *
 * The guard counts consecutive wrong PINs. After the n-th failure the next
 * attempt is refused until 2^(n-1) seconds have passed (capped); after
 * max_failures failures every attempt is refused for lockout_seconds, after
 * which the count starts again. A right PIN resets the count. The count and
 * both deadlines live in a small state file, replaced atomically (temp file,
 * fsync, rename, fsync of the directory), so they survive a restart of the
 * program and a power cut:
 *
 * - An attempt is recorded as a failure on disk *before* the PIN is checked
 *   and cleared only when it proves right, so cutting the power while a check
 *   runs cannot undo a wrong guess. When that record cannot be written, the
 *   attempt is refused unchecked (PIN_ERROR).
 * - A missing state file means no failures. An unreadable, truncated or
 *   damaged one means "locked out now" (logged as such) and is rewritten.
 * - Deadlines run on CLOCK_BOOTTIME while the machine is up (a wall clock that
 *   jumps either way changes nothing), and are stored with the boot id, so a
 *   restart of the program in the same boot keeps them exactly. After a reboot
 *   the wall clock decides, clamped: a lockout never lasts more than
 *   lockout_seconds and a delay never more than its step from the time the
 *   file is read, however far the clock went back. (A wall clock set forward
 *   across a reboot ends a lockout early; nothing on the machine can tell.)
 *
 * Every attempt is logged with its outcome (accepted, wrong with the count,
 * refused while waiting or locked, malformed), never with the digits.
 *
 * Threading: a check takes hundreds of milliseconds by design (argon2id, see
 * PIN_HASH_OPSLIMIT), so run pin_check() on a worker thread. pin_check() and
 * pin_guard_state() may be called from any thread at any time; checks run one
 * at a time (a second caller waits for the first). pin_guard_state() does no
 * I/O and never waits for a running check (only for a few memory updates), so
 * the UI thread may call it every frame. pin_guard_create() and
 * pin_guard_destroy() must not overlap any other call on the same guard: join
 * the worker first. Use one guard per state file.
 */
#ifndef SCANKIOSK_PIN_H
#define SCANKIOSK_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PIN_MIN_DIGITS 6
#define PIN_MAX_DIGITS 12

/* Room for a hash string and its NUL (crypto_pwhash_STRBYTES). */
#define PIN_HASH_MAX  128
#define PIN_ERROR_MAX 256

/*
 * The cost pin_hash() uses: argon2id, 3 passes over 128 MiB, three times the
 * work of libsodium's INTERACTIVE level (2 passes, 64 MiB). A check costs
 * about 0.2 s on a server core and an estimated 0.5 to 1 s on a tablet's CPU;
 * the 128 MiB are taken only while a check runs.
 */
#define PIN_HASH_OPSLIMIT 3u
#define PIN_HASH_MEMLIMIT (128u * 1024 * 1024)

/* What pin_hash_valid() accepts: libsodium's INTERACTIVE level as the floor,
 * and a ceiling so that a hash in the configuration cannot make a check take
 * minutes or exhaust memory. */
#define PIN_HASH_OPSLIMIT_MIN 2u
#define PIN_HASH_OPSLIMIT_MAX 8u
#define PIN_HASH_MEMLIMIT_MIN (64u * 1024 * 1024)
#define PIN_HASH_MEMLIMIT_MAX (256u * 1024 * 1024)

enum pin_result {
	PIN_OK,        /* the right PIN; the failure count is reset */
	PIN_WRONG,     /* a well-formed PIN that is not the one; counted */
	PIN_MALFORMED, /* not 6 to 12 digits; refused unchecked, not counted */
	PIN_WAIT,      /* refused unchecked: the delay after a failure has not passed */
	PIN_LOCKED,    /* refused unchecked: locked out after too many failures */
	PIN_ERROR,     /* refused: the attempt could not be recorded in the state file,
	                  or the check itself failed (out of memory); not counted */
	PIN_RESULT_LAST
};

/* A short English name of result ("ok", "wrong", ...), for logs. */
const char *pin_result_name(enum pin_result result);

/* NULL when pin[0..len) is 6 to 12 ASCII digits, else why not, in a few words
 * ("too short", "too long", "digits only"). Does not log. */
const char *pin_format_problem(const char *pin, size_t len);

/*
 * Hashes pin[0..len) with argon2id at PIN_HASH_OPSLIMIT/PIN_HASH_MEMLIMIT and
 * a random salt into out ("$argon2id$v=19$m=131072,t=3,p=1$...").
 * Returns PIN_OK, PIN_MALFORMED (see pin_format_problem()) or PIN_ERROR (out
 * of memory). pin is not modified; the caller zeroes it.
 */
__attribute__((warn_unused_result)) enum pin_result pin_hash(const char *pin, size_t len,
                                                             char out[PIN_HASH_MAX]);

/*
 * True when hash is an argon2id string libsodium can verify, with a cost
 * between the _MIN and _MAX limits above and one lane (p=1). Otherwise false,
 * and *reason (when reason is not NULL) says why in a few words for a
 * configuration error line: a plain PIN, argon2i or another algorithm, a
 * malformed string, too weak, too costly.
 */
bool pin_hash_valid(const char *hash, const char **reason);

/* The rules for wrong PINs. */
struct pin_policy {
	uint32_t max_failures;      /* lockout after this many consecutive failures; 1..100 */
	uint32_t lockout_seconds;   /* how long a lockout lasts; 60..86400 */
	uint32_t delay_cap_seconds; /* the longest delay between two attempts before the
	                               lockout (the 2^(n-1) s steps stop here); 0 (no
	                               delay)..lockout_seconds */
};
#define PIN_POLICY_DEFAULT                                                                         \
	{                                                                                          \
		.max_failures = 5, .lockout_seconds = 900, .delay_cap_seconds = 60                 \
	}
#define PIN_MAX_FAILURES_MAX    100u
#define PIN_LOCKOUT_SECONDS_MIN 60u
#define PIN_LOCKOUT_SECONDS_MAX 86400u

/* True when policy is within the limits above; else false with a reason in err. */
bool pin_policy_valid(const struct pin_policy *policy, char err[PIN_ERROR_MAX]);

/*
 * The guard's clocks, replaceable for tests. wall_ms: milliseconds since the
 * epoch (CLOCK_REALTIME, may jump). boot_ms: milliseconds since boot, never
 * going back, counting suspend (CLOCK_BOOTTIME). boot_id: tells one boot from
 * the next (/proc/sys/kernel/random/boot_id); NULL or "" when unknown, which
 * makes every start count as a reboot. The guard copies boot_id.
 */
struct pin_clock {
	int64_t (*wall_ms)(void *ctx);
	int64_t (*boot_ms)(void *ctx);
	const char *boot_id;
	void *ctx;
};

struct pin_guard;

/*
 * A guard checking PINs against hash (pin_hash_valid(); copied), with its
 * state in the file state_path (its directory must exist and be writable;
 * the file is created with mode 0600 at the first attempt). clock NULL: the
 * system's. Reads the state file (see above; a damaged one locks and is
 * rewritten here) and removes a temp file a power cut may have left.
 * Returns NULL with one line in err when hash or policy are invalid, the
 * directory cannot be opened, or memory is short.
 */
__attribute__((warn_unused_result)) struct pin_guard *
pin_guard_create(const char *hash, const char *state_path, const struct pin_policy *policy,
                 const struct pin_clock *clock, char err[PIN_ERROR_MAX]);

/* Accepts NULL. No call on guard may be running. */
void pin_guard_destroy(struct pin_guard *guard);

/*
 * Checks pin[0..len) and records the outcome (see enum pin_result). Zeroes
 * pin[0..len) before it returns, whatever the result. Takes hundreds of
 * milliseconds when the PIN is checked (argon2id) plus two small synchronous
 * file writes; refusals return at once. Thread-safe; logs the outcome.
 */
__attribute__((warn_unused_result)) enum pin_result pin_check(struct pin_guard *guard, char *pin,
                                                              size_t len);

enum pin_guard_mode {
	PIN_GUARD_OPEN,   /* an attempt is taken now */
	PIN_GUARD_WAIT,   /* the delay after a failure runs */
	PIN_GUARD_LOCKED, /* locked out */
	PIN_GUARD_MODE_LAST
};

struct pin_guard_info {
	enum pin_guard_mode mode;
	uint32_t seconds_left;  /* WAIT, LOCKED: until an attempt is taken, rounded up */
	uint32_t failures;      /* consecutive failures counted so far */
	uint32_t attempts_left; /* wrong PINs still possible before a lockout; 0 when LOCKED */
	bool checking;          /* a pin_check() is running (its attempt is already counted
	                           as a failure, so mode may read WAIT or LOCKED meanwhile) */
};

/* What the PIN pad shows ("wait 4 s", "locked for 15 min", "2 attempts left").
 * No I/O, no logging, cheap; thread-safe. */
void pin_guard_state(struct pin_guard *guard, struct pin_guard_info *info);

#endif
