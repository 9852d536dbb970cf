/*
 * session.c - one customer's session: typed fields, category, pages, commit.
 *
 * Typed text lives in fixed buffers inside the session struct, so editing
 * never reallocates and leaves no copies in freed memory. Pages are the scan
 * pipeline's struct scan_page, owned here until deleted, replaced or wiped.
 *
 * The commit thread only reads the session; while it runs every mutator
 * refuses (SESSION_BUSY), so no lock is needed. commit_state is changed by the
 * owner thread only; the thread reports its end through the atomic `done`.
 */
#include "session.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "log.h"
#include "secmem.h"
#include "sha256.h"
#include "utf8.h"

enum commit_state {
	COMMIT_IDLE,    /* no thread */
	COMMIT_RUNNING, /* thread started, not yet joined by poll or wipe */
};

struct session {
	const struct case_rules *rules;
	enum language language;

	/* What the customer typed, and the checked, normalised values. */
	char field[SESSION_FIELD_LAST][SESSION_FIELD_MAX];
	bool checked[SESSION_FIELD_LAST];
	char case_number[CASE_NUMBER_MAX];
	enum case_kind case_kind;
	char name[CASE_NAME_MAX];
	char birth_date[CASE_DATE_MAX];
	char category[SESSION_CATEGORY_MAX];

	struct scan_page *pages[SESSION_MAX_PAGES];
	size_t page_count;

	/* A commit on its thread. */
	enum commit_state commit_state;
	pthread_t commit_thread;
	atomic_bool commit_done;
	struct spool *commit_spool;
	uint8_t commit_key[CONTAINER_KEY_BYTES];
	session_notify_fn commit_notify;
	void *commit_userdata;
	enum session_commit_result commit_result;
	struct spool_receipt commit_receipt;

	session_wipe_observer_fn wipe_observer;
	void *wipe_userdata;
};

const char *session_strerror(enum session_status status)
{
	switch (status) {
	case SESSION_OK:
		return "ok";
	case SESSION_FULL:
		return "the session holds as many pages as it can";
	case SESSION_BAD_INDEX:
		return "no page at that index";
	case SESSION_INVALID:
		return "invalid argument";
	case SESSION_IMAGE:
		return "the page image could not be transformed";
	case SESSION_NOMEM:
		return "out of memory";
	case SESSION_BUSY:
		return "a commit is running";
	case SESSION_STATUS_LAST:
		break;
	}
	return "unknown session status";
}

const char *session_field_name(enum session_field field)
{
	switch (field) {
	case SESSION_FIELD_CASE_NUMBER:
		return "case-number";
	case SESSION_FIELD_NAME:
		return "name";
	case SESSION_FIELD_BIRTH_DATE:
		return "birth-date";
	case SESSION_FIELD_LAST:
		break;
	}
	return "";
}

const char *session_commit_result_name(enum session_commit_result r)
{
	switch (r) {
	case SESSION_COMMIT_OK:
		return "ok";
	case SESSION_COMMIT_INCOMPLETE:
		return "incomplete";
	case SESSION_COMMIT_FULL:
		return "full";
	case SESSION_COMMIT_ERROR:
		return "error";
	case SESSION_COMMIT_BUSY:
		return "busy";
	case SESSION_COMMIT_LAST:
		break;
	}
	return "";
}

static bool busy(const struct session *s)
{
	return s->commit_state != COMMIT_IDLE;
}

struct session *session_create(const struct case_rules *rules)
{
	struct session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->rules = rules;
	s->language = LANGUAGE_DE;
	atomic_init(&s->commit_done, false);
	return s;
}

/* Waits for a running commit thread and forgets its result. */
static void join_commit(struct session *s)
{
	if (s->commit_state == COMMIT_RUNNING) {
		pthread_join(s->commit_thread, NULL);
		s->commit_state = COMMIT_IDLE;
		atomic_store(&s->commit_done, false);
	}
}

/* Zeroes a buffer, lets the test hook look at it, frees it. */
static void release(struct session *s, void *buf, size_t len)
{
	if (!buf)
		return;
	secmem_zero(buf, len);
	if (s->wipe_observer)
		s->wipe_observer(buf, len, s->wipe_userdata);
	free(buf);
}

static void release_page(struct session *s, struct scan_page *page)
{
	if (!page)
		return;
	release(s, page->jpeg, page->facts.bytes);
	release(s, page->thumb, (size_t)page->thumb_width * page->thumb_height * 3);
	page->jpeg = NULL;
	page->thumb = NULL;
	page->facts.bytes = 0;
	page->thumb_width = page->thumb_height = 0;
	release(s, page, sizeof(*page));
}

/* Zeroes a buffer that stays (part of the struct) and shows it to the hook. */
static void clear_inline(struct session *s, void *buf, size_t len)
{
	secmem_zero(buf, len);
	if (s->wipe_observer)
		s->wipe_observer(buf, len, s->wipe_userdata);
}

void session_wipe(struct session *s)
{
	if (!s)
		return;
	join_commit(s);
	for (size_t i = 0; i < s->page_count; i++) {
		release_page(s, s->pages[i]);
		s->pages[i] = NULL;
	}
	s->page_count = 0;
	for (int f = 0; f < SESSION_FIELD_LAST; f++) {
		clear_inline(s, s->field[f], sizeof(s->field[f]));
		s->checked[f] = false;
	}
	clear_inline(s, s->case_number, sizeof(s->case_number));
	clear_inline(s, s->name, sizeof(s->name));
	clear_inline(s, s->birth_date, sizeof(s->birth_date));
	clear_inline(s, s->category, sizeof(s->category));
	secmem_zero(&s->commit_receipt, sizeof(s->commit_receipt));
	secmem_zero(s->commit_key, sizeof(s->commit_key));
	s->commit_spool = NULL;
	s->case_kind = CASE_KIND_KUNDENNUMMER;
	s->language = LANGUAGE_DE;
}

void session_destroy(struct session *s)
{
	if (!s)
		return;
	session_wipe(s);
	secmem_free(s, sizeof(*s));
}

bool session_has_data(const struct session *s)
{
	for (int f = 0; f < SESSION_FIELD_LAST; f++)
		if (s->field[f][0])
			return true;
	return s->category[0] || s->page_count > 0;
}

enum language session_language(const struct session *s)
{
	return s->language;
}

enum session_status session_set_language(struct session *s, enum language lang)
{
	if ((unsigned)lang >= LANGUAGE_LAST)
		return SESSION_INVALID;
	if (busy(s))
		return SESSION_BUSY;
	s->language = lang;
	return SESSION_OK;
}

/* --- typed fields --- */

static bool field_valid(enum session_field f)
{
	return (unsigned)f < SESSION_FIELD_LAST;
}

const char *session_field_text(const struct session *s, enum session_field field)
{
	return field_valid(field) ? s->field[field] : "";
}

/* Forgets the checked value of a field (it was edited). */
static void uncheck(struct session *s, enum session_field f)
{
	s->checked[f] = false;
	switch (f) {
	case SESSION_FIELD_CASE_NUMBER:
		secmem_zero(s->case_number, sizeof(s->case_number));
		break;
	case SESSION_FIELD_NAME:
		secmem_zero(s->name, sizeof(s->name));
		break;
	case SESSION_FIELD_BIRTH_DATE:
		secmem_zero(s->birth_date, sizeof(s->birth_date));
		break;
	case SESSION_FIELD_LAST:
		break;
	}
}

enum session_status session_field_insert(struct session *s, enum session_field field,
                                         const char *utf8)
{
	if (!field_valid(field) || !utf8)
		return SESSION_INVALID;
	if (busy(s))
		return SESSION_BUSY;
	size_t add = strlen(utf8);
	size_t have = strlen(s->field[field]);
	if (have + add >= SESSION_FIELD_MAX)
		return SESSION_INVALID;
	for (const char *p = utf8; *p;) {
		uint32_t cp;
		size_t len = utf8_decode(p, &cp);
		if (!len || cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return SESSION_INVALID;
		p += len;
	}
	memcpy(s->field[field] + have, utf8, add + 1);
	uncheck(s, field);
	return SESSION_OK;
}

enum session_status session_field_backspace(struct session *s, enum session_field field)
{
	if (!field_valid(field))
		return SESSION_INVALID;
	if (busy(s))
		return SESSION_BUSY;
	char *text = s->field[field];
	size_t len = strlen(text);
	if (len == 0)
		return SESSION_OK;
	size_t start = len - 1;
	while (start > 0 && ((unsigned char)text[start] & 0xc0) == 0x80)
		start--;
	secmem_zero(text + start, len - start);
	uncheck(s, field);
	return SESSION_OK;
}

enum session_status session_field_clear(struct session *s, enum session_field field)
{
	if (!field_valid(field))
		return SESSION_INVALID;
	if (busy(s))
		return SESSION_BUSY;
	secmem_zero(s->field[field], sizeof(s->field[field]));
	uncheck(s, field);
	return SESSION_OK;
}

enum case_check session_field_check(struct session *s, enum session_field field)
{
	char number[CASE_NUMBER_MAX];
	char name[CASE_NAME_MAX];
	char date[CASE_DATE_MAX];
	struct case_date today;
	enum case_kind kind = CASE_KIND_KUNDENNUMMER;
	enum case_check r = CASE_EMPTY;

	switch (field) {
	case SESSION_FIELD_CASE_NUMBER:
		r = case_rules_check_number(s->rules, s->field[field], number, &kind);
		break;
	case SESSION_FIELD_NAME:
		r = case_check_family_name(s->field[field], name);
		break;
	case SESSION_FIELD_BIRTH_DATE:
		case_date_today(&today);
		r = case_check_birth_date(s->field[field], &today, date);
		break;
	case SESSION_FIELD_LAST:
		return CASE_EMPTY;
	}
	if (!busy(s)) {
		uncheck(s, field);
		if (r == CASE_OK) {
			s->checked[field] = true;
			if (field == SESSION_FIELD_CASE_NUMBER) {
				memcpy(s->case_number, number, sizeof(number));
				s->case_kind = kind;
			} else if (field == SESSION_FIELD_NAME) {
				memcpy(s->name, name, sizeof(name));
			} else {
				memcpy(s->birth_date, date, sizeof(date));
			}
		}
	}
	secmem_zero(number, sizeof(number));
	secmem_zero(name, sizeof(name));
	secmem_zero(date, sizeof(date));
	return r;
}

bool session_case_complete(const struct session *s, enum session_field *first_bad)
{
	for (int f = 0; f < SESSION_FIELD_LAST; f++) {
		if (!s->checked[f]) {
			if (first_bad)
				*first_bad = (enum session_field)f;
			return false;
		}
	}
	return true;
}

enum case_kind session_case_kind(const struct session *s)
{
	return s->case_kind;
}

void session_case_number_masked(const struct session *s, char *out, size_t out_len)
{
	static const char bullet[] = "\u2022";
	if (!out || out_len == 0)
		return;
	out[0] = '\0';
	if (!s->checked[SESSION_FIELD_CASE_NUMBER])
		return;
	size_t n = strlen(s->case_number);
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		bool show = i < 3 || i + 2 >= n;
		const char *piece = show ? (const char[]){s->case_number[i], '\0'} : bullet;
		size_t len = strlen(piece);
		if (used + len + 1 > out_len)
			break;
		memcpy(out + used, piece, len);
		used += len;
	}
	out[used] = '\0';
}

/* --- category --- */

enum session_status session_set_category(struct session *s, const char *key)
{
	if (!key || !*key || strlen(key) >= SESSION_CATEGORY_MAX)
		return SESSION_INVALID;
	for (const char *c = key; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return SESSION_INVALID;
	if (busy(s))
		return SESSION_BUSY;
	secmem_zero(s->category, sizeof(s->category));
	memcpy(s->category, key, strlen(key) + 1);
	return SESSION_OK;
}

const char *session_category(const struct session *s)
{
	return s->category;
}

/* --- pages --- */

size_t session_page_count(const struct session *s)
{
	return s->page_count;
}

const struct scan_page *session_page(const struct session *s, size_t index)
{
	return index < s->page_count ? s->pages[index] : NULL;
}

enum session_status session_page_add(struct session *s, struct scan_page *page)
{
	if (!page)
		return SESSION_INVALID;
	enum session_status st = SESSION_OK;
	if (busy(s))
		st = SESSION_BUSY;
	else if (s->page_count >= SESSION_MAX_PAGES)
		st = SESSION_FULL;
	if (st != SESSION_OK) {
		scan_page_destroy(page);
		return st;
	}
	s->pages[s->page_count++] = page;
	return SESSION_OK;
}

enum session_status session_page_replace(struct session *s, size_t index, struct scan_page *page)
{
	if (!page)
		return SESSION_INVALID;
	enum session_status st = SESSION_OK;
	if (busy(s))
		st = SESSION_BUSY;
	else if (index >= s->page_count)
		st = SESSION_BAD_INDEX;
	if (st != SESSION_OK) {
		scan_page_destroy(page);
		return st;
	}
	scan_page_destroy(s->pages[index]);
	s->pages[index] = page;
	return SESSION_OK;
}

enum session_status session_page_delete(struct session *s, size_t index)
{
	if (busy(s))
		return SESSION_BUSY;
	if (index >= s->page_count)
		return SESSION_BAD_INDEX;
	scan_page_destroy(s->pages[index]);
	memmove(&s->pages[index], &s->pages[index + 1],
	        (s->page_count - index - 1) * sizeof(s->pages[0]));
	s->pages[--s->page_count] = NULL;
	return SESSION_OK;
}

enum session_status session_page_move(struct session *s, size_t from, size_t to)
{
	if (busy(s))
		return SESSION_BUSY;
	if (from >= s->page_count || to >= s->page_count)
		return SESSION_BAD_INDEX;
	struct scan_page *p = s->pages[from];
	if (from < to)
		memmove(&s->pages[from], &s->pages[from + 1], (to - from) * sizeof(s->pages[0]));
	else if (from > to)
		memmove(&s->pages[to + 1], &s->pages[to], (from - to) * sizeof(s->pages[0]));
	s->pages[to] = p;
	return SESSION_OK;
}

/* Rotates packed RGB pixels clockwise by turns quarter turns into a new buffer. */
static uint8_t *rotate_rgb(const uint8_t *src, uint32_t w, uint32_t h, int turns, uint32_t *ow,
                           uint32_t *oh)
{
	size_t bytes = (size_t)w * h * 3;
	uint8_t *dst = malloc(bytes ? bytes : 1);
	if (!dst)
		return NULL;
	bool swap = turns % 2 == 1;
	uint32_t nw = swap ? h : w, nh = swap ? w : h;
	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++) {
			uint32_t nx, ny;
			switch (turns) {
			case 1: /* clockwise: (x, y) -> (h - 1 - y, x) */
				nx = h - 1 - y, ny = x;
				break;
			case 2:
				nx = w - 1 - x, ny = h - 1 - y;
				break;
			default: /* 3: anticlockwise */
				nx = y, ny = w - 1 - x;
				break;
			}
			memcpy(dst + ((size_t)ny * nw + nx) * 3, src + ((size_t)y * w + x) * 3, 3);
		}
	}
	*ow = nw;
	*oh = nh;
	return dst;
}

enum session_status session_page_rotate(struct session *s, size_t index, int quarter_turns)
{
	if (busy(s))
		return SESSION_BUSY;
	if (index >= s->page_count)
		return SESSION_BAD_INDEX;
	int turns = ((quarter_turns % 4) + 4) % 4;
	if (turns == 0)
		return SESSION_OK;
	struct scan_page *page = s->pages[index];
	enum session_status st = SESSION_IMAGE;
	unsigned char *tj_out = NULL;
	unsigned long tj_size = 0;
	uint8_t *jpeg = NULL, *thumb = NULL;
	uint32_t tw = 0, th = 0;
	uint8_t digest[SHA256_BYTES];

	tjhandle tj = tjInitTransform();
	if (!tj)
		return SESSION_NOMEM;
	static const int ops[4] = {TJXOP_NONE, TJXOP_ROT90, TJXOP_ROT180, TJXOP_ROT270};
	tjtransform xf = {.op = ops[turns], .options = TJXOPT_TRIM};
	if (tjTransform(tj, page->jpeg, page->facts.bytes, 1, &tj_out, &tj_size, &xf, 0) != 0) {
		/* libjpeg's message may quote bytes of the file: page content. */
		log_warning("page rotation failed (TurboJPEG error class %d)", tjGetErrorCode(tj));
		goto out;
	}
	int w, h, subsamp, colorspace;
	if (tjDecompressHeader3(tj, tj_out, tj_size, &w, &h, &subsamp, &colorspace) != 0) {
		log_warning("rotated page unreadable (TurboJPEG error class %d)",
		            tjGetErrorCode(tj));
		goto out;
	}
	/* Our own buffer, so the page is freed as every page is (secmem_free). */
	st = SESSION_NOMEM;
	jpeg = malloc(tj_size);
	if (!jpeg)
		goto out;
	memcpy(jpeg, tj_out, tj_size);
	if (page->thumb) {
		thumb = rotate_rgb(page->thumb, page->thumb_width, page->thumb_height, turns, &tw,
		                   &th);
		if (!thumb)
			goto out;
	}
	if (!sha256_digest(jpeg, tj_size, digest))
		goto out;

	secmem_free(page->jpeg, page->facts.bytes);
	secmem_free(page->thumb, (size_t)page->thumb_width * page->thumb_height * 3);
	page->jpeg = jpeg;
	page->thumb = thumb;
	page->thumb_width = tw;
	page->thumb_height = th;
	page->facts.bytes = tj_size;
	page->facts.width = (uint32_t)w;
	page->facts.height = (uint32_t)h;
	memcpy(page->facts.sha256, digest, sizeof(digest));
	jpeg = NULL;
	thumb = NULL;
	st = SESSION_OK;
out:
	if (tj_out) {
		secmem_zero(tj_out, tj_size);
		tjFree(tj_out);
	}
	secmem_free(jpeg, tj_size);
	secmem_free(thumb, (size_t)tw * th * 3);
	tjDestroy(tj);
	return st;
}

/* --- spool --- */

bool session_spool_can_accept(struct spool *spool, unsigned pages)
{
	if (!spool)
		return false;
	return spool_can_accept(spool, (uint64_t)(pages ? pages : 1) * SESSION_PAGE_ESTIMATE);
}

static bool complete(const struct session *s)
{
	return session_case_complete(s, NULL) && s->category[0] && s->page_count > 0;
}

/* The commit itself; the caller has checked that the session is complete. */
static enum session_commit_result commit(const struct session *s, struct spool *spool,
                                         const uint8_t public_key[CONTAINER_KEY_BYTES],
                                         struct spool_receipt *receipt)
{
	struct container_page *pages = calloc(s->page_count, sizeof(*pages));
	if (!pages)
		return SESSION_COMMIT_ERROR;
	for (size_t i = 0; i < s->page_count; i++) {
		const struct scan_page *p = s->pages[i];
		pages[i] = (struct container_page){
		        .jpeg = p->jpeg,
		        .bytes = p->facts.bytes,
		        .width = p->facts.width,
		        .height = p->facts.height,
		        .dpi = p->facts.dpi,
		        .color = p->facts.stored_color,
		        .blank_score = p->facts.blank_score,
		};
		memcpy(pages[i].sha256, p->facts.sha256, SHA256_BYTES);
	}
	struct container_submission sub = {
	        .case_number = s->case_number,
	        .name = s->name,
	        .birth_date = s->birth_date,
	        .category = s->category,
	        .language = language_code(s->language),
	        .pages = pages,
	        .page_count = s->page_count,
	};
	struct spool_receipt r = {0};
	enum spool_status st = spool_commit(spool, public_key, &sub, &r);
	free(pages);
	switch (st) {
	case SPOOL_OK:
		log_info("submission %s committed, %zu pages", r.id, s->page_count);
		*receipt = r;
		return SESSION_COMMIT_OK;
	case SPOOL_FULL:
	case SPOOL_NO_SPACE:
		log_warning("submission not committed: %s", spool_strerror(st));
		return SESSION_COMMIT_FULL;
	default:
		log_error("submission not committed: %s", spool_strerror(st));
		return SESSION_COMMIT_ERROR;
	}
}

enum session_commit_result session_commit(struct session *s, struct spool *spool,
                                          const uint8_t public_key[CONTAINER_KEY_BYTES],
                                          struct spool_receipt *receipt)
{
	if (busy(s))
		return SESSION_COMMIT_BUSY;
	if (!complete(s))
		return SESSION_COMMIT_INCOMPLETE;
	if (!spool || !public_key || !receipt)
		return SESSION_COMMIT_ERROR;
	return commit(s, spool, public_key, receipt);
}

static void *commit_thread(void *arg)
{
	struct session *s = arg;
	struct spool_receipt r = {0};
	s->commit_result = commit(s, s->commit_spool, s->commit_key, &r);
	s->commit_receipt = r;
	atomic_store(&s->commit_done, true);
	if (s->commit_notify)
		s->commit_notify(s->commit_userdata);
	return NULL;
}

enum session_commit_result session_commit_start(struct session *s, struct spool *spool,
                                                const uint8_t public_key[CONTAINER_KEY_BYTES],
                                                session_notify_fn notify, void *userdata)
{
	if (busy(s))
		return SESSION_COMMIT_BUSY;
	if (!complete(s))
		return SESSION_COMMIT_INCOMPLETE;
	if (!spool || !public_key)
		return SESSION_COMMIT_ERROR;
	s->commit_spool = spool;
	memcpy(s->commit_key, public_key, CONTAINER_KEY_BYTES);
	s->commit_notify = notify;
	s->commit_userdata = userdata;
	s->commit_result = SESSION_COMMIT_ERROR;
	atomic_store(&s->commit_done, false);
	if (pthread_create(&s->commit_thread, NULL, commit_thread, s) != 0) {
		log_error("cannot start the commit thread");
		return SESSION_COMMIT_ERROR;
	}
	s->commit_state = COMMIT_RUNNING;
	return SESSION_COMMIT_OK;
}

bool session_commit_poll(struct session *s, enum session_commit_result *result,
                         struct spool_receipt *receipt)
{
	if (s->commit_state != COMMIT_RUNNING || !atomic_load(&s->commit_done))
		return false;
	pthread_join(s->commit_thread, NULL);
	s->commit_state = COMMIT_IDLE;
	atomic_store(&s->commit_done, false);
	if (result)
		*result = s->commit_result;
	if (receipt)
		*receipt = s->commit_receipt;
	secmem_zero(&s->commit_receipt, sizeof(s->commit_receipt));
	s->commit_spool = NULL;
	return true;
}

bool session_commit_running(const struct session *s)
{
	return busy(s);
}

void session_set_wipe_observer(struct session *s, session_wipe_observer_fn fn, void *userdata)
{
	s->wipe_observer = fn;
	s->wipe_userdata = userdata;
}
