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
 * SESSION_BUSY (session_wipe() and session_destroy() wait for it instead).
 *
 * Ownership: pages handed to session_page_add()/session_page_replace() belong
 * to the session from the call on, whatever the result. Pointers returned by
 * getters stay valid until the next call that changes the session.
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
 * and must outlive the session. Returns NULL when memory is short.
 */
struct session *session_create(const struct case_rules *rules);

/* Wipes (waiting for a running commit) and frees. Accepts NULL. */
void session_destroy(struct session *s);

/*
 * Zeroes and frees everything the customer left: typed text, checked values,
 * category, pages (JPEG and thumbnail bytes). Waits for a running commit to
 * finish first. Afterwards the session is empty and German, as after create.
 * Cancel a running scan (scan_service_abort) before, so no page of this
 * customer arrives afterwards.
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
 * A failed check clears the stored value. While a commit runs the result is
 * returned but nothing is stored or cleared.
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

/* Appends a page, taking ownership (freed on failure: SESSION_FULL, SESSION_BUSY). */
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
 * 0 and multiples of 4 are a no-op) without re-encoding: TurboJPEG's lossless
 * tjTransform. Where the page's width or height is not a multiple of the JPEG's
 * block size (8 or 16 pixels), the partial block row/column that would move to
 * the top or left edge cannot be carried over losslessly and is trimmed
 * (TJXOPT_TRIM): at most 15 pixels of paper margin (1.3 mm at 300 dpi) on the
 * scan's right and bottom edges, each trimmed at most once; after that every
 * rotation is exact. Re-encoding instead would lose quality with every turn.
 * The thumbnail is rotated too (not trimmed: a fraction of a thumbnail pixel), and the facts
 * (width, height, bytes, SHA-256) recomputed. On failure the page is unchanged.
 */
enum session_status session_page_rotate(struct session *s, size_t index, int quarter_turns);

/* --- spool --- */

/*
 * True when the spool can take a submission of about pages pages
 * (SESSION_PAGE_ESTIMATE each; 0 is taken as 1). Ask before scanning starts,
 * so a customer is told before putting in any work. Reads the spool's
 * directories and the file system's free space: quick, local calls. Do not
 * call it while a commit runs on the same spool (one thread at a time).
 */
bool session_spool_can_accept(struct spool *spool, unsigned pages);

/* The outcome of a commit, as the customer needs to hear it. */
enum session_commit_result {
	SESSION_COMMIT_OK,         /* sealed and committed; the receipt is valid */
	SESSION_COMMIT_INCOMPLETE, /* a field unchecked, no category or no page */
	SESSION_COMMIT_FULL,       /* the spool is at its bound or the disk is full */
	SESSION_COMMIT_ERROR,      /* any other failure (I/O, memory): details in the log */
	SESSION_COMMIT_BUSY,       /* a commit is already running */
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
 * Runs session_commit() on a new thread and returns at once. spool and
 * public_key are borrowed until session_commit_poll() reports the end; the
 * spool must not be used by another thread meanwhile. Returns
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

/* --- test hook --- */

/* Called by session_wipe() for every buffer it releases, after zeroing it and
 * before freeing it, so a test can check that nothing is left. NULL: none. */
typedef void (*session_wipe_observer_fn)(const void *buf, size_t len, void *userdata);
void session_set_wipe_observer(struct session *s, session_wipe_observer_fn fn, void *userdata);

#endif
