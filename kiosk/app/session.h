/*
 * session.h - one customer's session, in memory only.
 *
 * A session holds the language, what the customer typed (case number, family
 * name, birth date), the document category and the scanned pages. Nothing of
 * it is written anywhere but into the sealed spool file at commit, and nothing
 * of it is logged. session_wipe() zeroes every buffer (typed text, JPEGs,
 * thumbnails) before freeing it and returns to an empty German session.
 *
 * Typed text: the UI edits the fields in the session's own fixed buffers
 * (session_field_insert/backspace), so there is no second copy in the UI that
 * could outlive the wipe. Draw session_field_text(); never keep or log it.
 *
 * Threads: a session is used by one thread (the UI thread). The exception is a
 * commit started with session_commit_start(): until session_commit_poll()
 * reports it finished, every function that changes the session returns
 * SESSION_BUSY. session_wipe() never waits for it: the commit goes on without
 * the session (its outcome is logged by submission id) and zeroes and frees
 * its copy of the customer's data itself.
 *
 * Committed: once a commit reported SESSION_COMMIT_OK the session takes no
 * further commit (SESSION_COMMIT_BUSY) and no change (SESSION_BUSY) until it
 * is wiped, so one customer's papers cannot be queued twice.
 *
 * Ownership: pages handed to session_page_add()/session_page_replace() belong
 * to the session from the call on, whatever the result. Pointers returned by
 * getters stay valid until the next call that changes the session (a rotation
 * gives the page a new struct).
 */
#ifndef SCANKIOSK_SESSION_H
#define SCANKIOSK_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "case_rules.h"
#include "language.h"
#include "scan_job.h"
#include "spool.h"

#define SESSION_MAX_PAGES    100 /* pages in one submission (below CONTAINER_MAX_PAGES) */
#define SESSION_FIELD_MAX    384 /* bytes of typed UTF-8 per field, with NUL (> CASE_NAME_MAX) */
#define SESSION_CATEGORY_MAX 33  /* category key, with NUL */
/* What one page is assumed to take in the spool when asking before a scan. */
#define SESSION_PAGE_ESTIMATE (2u * 1024 * 1024)

/* Result of an operation on a session. */
enum session_status {
	SESSION_OK,        /* done */
	SESSION_FULL,      /* SESSION_MAX_PAGES reached; the page was freed */
	SESSION_BAD_INDEX, /* no page at that index */
	SESSION_INVALID,   /* a bad argument (text not UTF-8, too long, unknown key) */
	SESSION_IMAGE,     /* the JPEG could not be transformed; the page is unchanged */
	SESSION_NOMEM,     /* out of memory; the session is unchanged */
	SESSION_BUSY,      /* a commit is running */
	SESSION_STATUS_LAST
};

/* A short English description, for logs. */
const char *session_strerror(enum session_status status);

/* The fields a customer types. */
enum session_field {
	SESSION_FIELD_CASE_NUMBER, /* Kundennummer or BG-Nummer */
	SESSION_FIELD_NAME,        /* family name */
	SESSION_FIELD_BIRTH_DATE,  /* DD.MM.YYYY as typed */
	SESSION_FIELD_LAST
};

/* Stable ids of the fields: "case-number", "name", "birth-date" (the UI's widget ids). */
const char *session_field_name(enum session_field field);

struct session;

/*
 * Creates an empty German session. rules is borrowed (case number patterns)
 * and must outlive the session; NULL: the default patterns. Returns NULL when
 * memory is short.
 */
struct session *session_create(const struct case_rules *rules);

/* Wipes and frees. Commits the session let go of (see session_wipe()) are
 * waited for here: call it at program end only. Accepts NULL. */
void session_destroy(struct session *s);

/*
 * Zeroes and frees everything the customer left: typed text, checked values,
 * category, pages (JPEG and thumbnail bytes). Never waits: a running commit
 * goes on with its own copy of the data, logs its outcome by submission id
 * (never a name or number) and zeroes and frees that copy when it ends.
 * Afterwards the session is empty and German, as after create. Cancel a
 * running scan (scan_service_abort) before, so no page of this customer
 * arrives afterwards.
 */
void session_wipe(struct session *s);

/* True when the customer has left anything: a typed character, a category or a page. */
bool session_has_data(const struct session *s);

/* Language (default LANGUAGE_DE). */
enum language session_language(const struct session *s);
enum session_status session_set_language(struct session *s, enum language lang);

/* --- typed fields --- */

/* What has been typed so far (UTF-8, NUL-terminated, "" when empty). For drawing
 * only. Valid until the field changes. */
const char *session_field_text(const struct session *s, enum session_field field);

/* Appends UTF-8 text at the end. SESSION_INVALID (nothing appended) when it is
 * not valid UTF-8, contains control characters, or would not fit in
 * SESSION_FIELD_MAX - 1 bytes. Editing a field clears its checked value. */
enum session_status session_field_insert(struct session *s, enum session_field field,
                                         const char *utf8);

/* Removes the last code point (no-op on an empty field). */
enum session_status session_field_backspace(struct session *s, enum session_field field);

/* Zeroes the field. */
enum session_status session_field_clear(struct session *s, enum session_field field);

/*
 * Checks the typed text (case_rules.h) and, on CASE_OK, stores the normalised
 * value for the submission: the case number upper-case without spaces, the
 * name trimmed, the birth date as YYYY-MM-DD (checked against today's date).
 * A failed check clears the stored value. While a commit runs (or after it
 * succeeded) the result is returned but nothing is stored or cleared. A field
 * id out of range returns CASE_EMPTY and changes nothing.
 */
enum case_check session_field_check(struct session *s, enum session_field field);

/* True when all three fields have passed session_field_check() since last edited.
 * *first_bad (may be NULL) receives the first field that has not. */
bool session_case_complete(const struct session *s, enum session_field *first_bad);

/* Which pattern the checked case number matched (valid when the field passed). */
enum case_kind session_case_kind(const struct session *s);

/*
 * The checked case number with its middle masked for the confirm screen: the
 * first 3 and the last 2 characters shown, the rest '•' (U+2022), e.g.
 * "123•••••89". "" when the case number has not passed its check.
 */
void session_case_number_masked(const struct session *s, char *out, size_t out_len);

/* --- category --- */

/* Sets the category key (a key from config, e.g. "payslip"; [a-z0-9-], 1..32). */
enum session_status session_set_category(struct session *s, const char *key);
/* The category key, "" when none was chosen. */
const char *session_category(const struct session *s);

/* --- pages --- */

size_t session_page_count(const struct session *s);

/* The page at index (0-based), or NULL. Its facts.blank is the "looks blank"
 * warning the review screen shows; such pages are kept like any other. Owned by
 * the session; valid until the page is changed, moved or deleted. */
const struct scan_page *session_page(const struct session *s, size_t index);

/* Appends a page, taking ownership (zeroed and freed on failure: SESSION_FULL,
 * SESSION_BUSY while a commit runs or after it succeeded; the latter is logged). */
enum session_status session_page_add(struct session *s, struct scan_page *page);

/* Replaces the page at index with a rescan of it, taking ownership of page in
 * every case; the old page is zeroed and freed. */
enum session_status session_page_replace(struct session *s, size_t index, struct scan_page *page);

/* Zeroes and frees the page at index; later pages move up. */
enum session_status session_page_delete(struct session *s, size_t index);

/* Moves the page at from so that it ends up at index to (both 0-based; the
 * pages in between shift by one). */
enum session_status session_page_move(struct session *s, size_t from, size_t to);

/*
 * Rotates the page at index by quarter_turns * 90 degrees clockwise (1..3;
 * 0 and multiples of 4 are a no-op; turns add up). Quick enough for the UI
 * thread: the thumbnail is rotated at once and the page gets a new struct (a
 * cache keyed by the page pointer sees a new page); the JPEG itself is turned
 * at commit, on the commit thread, without re-encoding (TurboJPEG's lossless
 * tjTransform), and its facts (width, height, bytes, SHA-256) recomputed
 * then. Until then facts and jpeg describe the JPEG as scanned:
 * session_page_rotation() gives the pending turns, session_page_size() the
 * size as the customer sees it. Where the page's width or height is not a
 * multiple of the JPEG's block size (8 or 16 pixels), the partial block
 * row/column that would move to the top or left edge cannot be carried over
 * losslessly and is trimmed (TJXOPT_TRIM): at most 15 pixels of paper margin
 * (1.3 mm at 300 dpi). SESSION_IMAGE when the page is not a readable JPEG;
 * on failure the page is unchanged.
 */
enum session_status session_page_rotate(struct session *s, size_t index, int quarter_turns);

/* Quarter turns clockwise (0..3) the page's JPEG still gets at commit; its
 * thumbnail is already turned. 0 for a bad index. */
int session_page_rotation(const struct session *s, size_t index);

/* The page's size in pixels as the customer sees it (pending turns applied;
 * the commit may still trim up to 15 px). False for a bad index. */
bool session_page_size(const struct session *s, size_t index, uint32_t *width, uint32_t *height);

/* --- spool --- */

/*
 * True when the spool can take a submission of about pages pages
 * (SESSION_PAGE_ESTIMATE each; 0 is taken as 1). Ask before scanning starts,
 * so a customer is told before putting in any work. Reads the spool's
 * directories and the file system's free space: quick, local calls. Do not
 * call it while a commit runs on the same spool (one thread at a time).
 */
bool session_spool_can_accept(struct spool *spool, unsigned pages);

/* What a submission of this session plus more_pages further pages is expected
 * to take: the bytes of the pages it holds plus SESSION_PAGE_ESTIMATE each. */
uint64_t session_expected_bytes(const struct session *s, unsigned more_pages);

/* As session_spool_can_accept(), counting the pages already in the session at
 * their real size. Blocking (directory listing, fstatvfs): the UI thread
 * should ask a spool_gauge (spool_gauge.h) with session_expected_bytes(). */
bool session_can_accept(const struct session *s, struct spool *spool, unsigned more_pages);

/* The outcome of a commit, as the customer needs to hear it. */
enum session_commit_result {
	SESSION_COMMIT_OK,         /* sealed and committed; the receipt is valid */
	SESSION_COMMIT_INCOMPLETE, /* a field unchecked, no category or no page */
	SESSION_COMMIT_FULL,       /* the spool is at its bound or the disk is full */
	SESSION_COMMIT_ERROR,      /* any other failure (I/O, memory): details in the log */
	SESSION_COMMIT_BUSY,       /* a commit is already running, or the session was committed */
	SESSION_COMMIT_LAST
};

const char *session_commit_result_name(enum session_commit_result r); /* "ok", "full", ... */

/*
 * Seals the session (checked fields, category, language, pages in order) to
 * public_key and commits it into spool. On SESSION_COMMIT_OK, receipt holds
 * the submission id and the reference the customer reads ("XXXX-XXXX-XXXX").
 * The session is left as it was (wipe it after showing the receipt).
 * Blocks on the disk (fsync): on the UI thread use session_commit_start().
 */
__attribute__((warn_unused_result)) enum session_commit_result
session_commit(struct session *s, struct spool *spool,
               const uint8_t public_key[CONTAINER_KEY_BYTES], struct spool_receipt *receipt);

/* Called from the commit thread once the result is ready (e.g. push an SDL
 * event). Must not call session functions. */
typedef void (*session_notify_fn)(void *userdata);

/*
 * Runs session_commit() on a new thread and returns at once. The checked
 * values are copied and the pages handed to the commit (the session shows
 * them read-only meanwhile); public_key is copied; spool is borrowed until the
 * thread ends (session_commit_poll(), or session_commit_orphans() reading 0
 * after a wipe) and must not be used by another thread meanwhile. Pending
 * rotations are applied on the thread. The notify callback is not called for
 * a commit whose session was wiped. Returns
 * SESSION_COMMIT_OK when the thread started, SESSION_COMMIT_INCOMPLETE,
 * SESSION_COMMIT_BUSY or SESSION_COMMIT_ERROR (nothing started) otherwise.
 */
__attribute__((warn_unused_result)) enum session_commit_result
session_commit_start(struct session *s, struct spool *spool,
                     const uint8_t public_key[CONTAINER_KEY_BYTES], session_notify_fn notify,
                     void *userdata);

/* Never blocks. Returns true once, when the commit started last has finished:
 * *result and *receipt (either may be NULL) receive its outcome and the
 * session may be changed again. Returns false while it runs or when none was
 * started. */
bool session_commit_poll(struct session *s, enum session_commit_result *result,
                         struct spool_receipt *receipt);

/* True while a commit started by session_commit_start() has not been polled. */
bool session_commit_running(const struct session *s);

/* True after a commit reported SESSION_COMMIT_OK, until the wipe. */
bool session_committed(const struct session *s);

/* Never blocks. Joins commits the session let go of (wiped while they ran)
 * that have ended, and returns how many are still running. */
size_t session_commit_orphans(struct session *s);

/* --- test hook --- */

/* Called for every buffer the session releases (wipe, delete, replace,
 * rotate, a refused page, and a wiped commit's copy on its thread), after
 * zeroing it and before freeing it, so a test can check that nothing is
 * left. NULL: none. */
typedef void (*session_wipe_observer_fn)(const void *buf, size_t len, void *userdata);
void session_set_wipe_observer(struct session *s, session_wipe_observer_fn fn, void *userdata);

/* Called on the commit thread before it starts sealing, so a test can hold a
 * commit while it checks what the UI thread can do meanwhile. NULL: none. */
typedef void (*session_commit_gate_fn)(void *userdata);
void session_set_commit_gate(struct session *s, session_commit_gate_fn fn, void *userdata);

#endif
