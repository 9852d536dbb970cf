/*
 * session.c - one customer's session: typed fields, category, pages, commit.
 *
 * Typed text lives in fixed buffers inside the session struct, so editing
 * never reallocates and leaves no copies in freed memory. Pages are the scan
 * pipeline's struct scan_page, owned here until deleted, replaced or wiped.
 * Every buffer the session lets go of passes through release(): zeroed, shown
 * to the test observer, freed.
 *
 * Commit: session_commit_start() copies the checked values into a heap commit
 * job and hands the pages to it; the job's thread seals and commits them. The
 * session keeps borrowed pointers to the pages so the UI can still draw them,
 * and refuses every change (SESSION_BUSY) until session_commit_poll() takes
 * the pages back. session_wipe() never waits for the thread: it marks the job
 * orphaned and forgets the borrowed pointers; the thread then zeroes and frees
 * the job's pages and values itself and logs the outcome by submission id.
 * Orphaned threads are joined once finished (session_commit_orphan_poll(),
 * the next commit start) or at session_destroy().
 *
 * Rotation is deferred: session_page_rotate() rotates the thumbnail at once
 * (a few hundred pixels) and records the quarter turns; the JPEG is turned
 * losslessly (tjTransform, 80-100 ms per A4 colour page) and its facts
 * recomputed on the commit thread, into buffers of the job that the UI thread
 * applies to the pages when it polls the result.
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

/* A page of the session and the quarter turns (0..3, clockwise) its JPEG
 * still needs; its thumbnail is already turned. */
struct slot {
	struct scan_page *page;
	int turns;
};

/* A page as the commit thread sees it: the page (owned by the job while it
 * runs) and the turned JPEG it made, if any. */
struct job_page {
	struct scan_page *page;
	int turns;
	uint8_t *rotated; /* rotated_bytes; NULL when not turned (yet) */
	size_t rotated_bytes;
	uint32_t width, height;
	uint8_t sha256[SHA256_BYTES];
};

struct commit_job {
	pthread_t thread;
	bool started;         /* thread created (owner's side only) */
	pthread_mutex_t lock; /* orphaned, done */
	bool orphaned;        /* the session was wiped: the thread cleans up */
	bool done;            /* the thread has finished its work */

	/* Copies of what is sealed; zeroed by whoever frees the job's content. */
	char case_number[CASE_NUMBER_MAX];
	char name[CASE_NAME_MAX];
	char birth_date[CASE_DATE_MAX];
	char category[SESSION_CATEGORY_MAX];
	enum language language;
	struct job_page pages[SESSION_MAX_PAGES];
	size_t page_count;

	struct spool *spool;
	uint8_t key[CONTAINER_KEY_BYTES];
	session_notify_fn notify;
	void *userdata;
	session_commit_gate_fn gate;
	void *gate_userdata;
	session_wipe_observer_fn observer;
	void *observer_userdata;

	enum session_commit_result result;
	struct spool_receipt receipt;

	struct commit_job *next; /* in the session's list of orphans */
};

struct session {
	const struct case_rules *rules;
	struct case_rules *own_rules; /* the defaults, when created with NULL */
	enum language language;

	/* What the customer typed, and the checked, normalised values. */
	char field[SESSION_FIELD_LAST][SESSION_FIELD_MAX];
	bool checked[SESSION_FIELD_LAST];
	char case_number[CASE_NUMBER_MAX];
	enum case_kind case_kind;
	char name[CASE_NAME_MAX];
	char birth_date[CASE_DATE_MAX];
	char category[SESSION_CATEGORY_MAX];

	struct slot pages[SESSION_MAX_PAGES];
	size_t page_count;

	/* Committed (SESSION_COMMIT_OK): no further commit or change until wiped. */
	bool committed;

	/* The running commit (pages borrowed from it while it runs). */
	struct commit_job *job;
	/* Jobs whose session was wiped while they ran. */
	struct commit_job *orphans;

	session_commit_gate_fn gate;
	void *gate_userdata;
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
		return "a commit is running or the session was committed";
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

/* No change is allowed: a commit runs, or the session was committed. */
static bool busy(const struct session *s)
{
	return s->job != NULL || s->committed;
}

struct session *session_create(const struct case_rules *rules)
{
	struct session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (!rules) {
		s->own_rules = case_rules_create(NULL, NULL, NULL, 0);
		if (!s->own_rules) {
			free(s);
			return NULL;
		}
		rules = s->own_rules;
	}
	s->rules = rules;
	s->language = LANGUAGE_DE;
	return s;
}

/* --- releasing memory --- */

/* Zeroes a buffer, lets the test hook look at it, frees it. */
static void release_to(session_wipe_observer_fn observer, void *userdata, void *buf, size_t len)
{
	if (!buf)
		return;
	secmem_zero(buf, len);
	if (observer)
		observer(buf, len, userdata);
	free(buf);
}

static void release_page_to(session_wipe_observer_fn observer, void *userdata,
                            struct scan_page *page)
{
	if (!page)
		return;
	release_to(observer, userdata, page->jpeg, page->facts.bytes);
	release_to(observer, userdata, page->thumb,
	           (size_t)page->thumb_width * page->thumb_height * 3);
	page->jpeg = NULL;
	page->thumb = NULL;
	page->facts.bytes = 0;
	page->thumb_width = page->thumb_height = 0;
	release_to(observer, userdata, page, sizeof(*page));
}

static void release(struct session *s, void *buf, size_t len)
{
	release_to(s->wipe_observer, s->wipe_userdata, buf, len);
}

static void release_page(struct session *s, struct scan_page *page)
{
	release_page_to(s->wipe_observer, s->wipe_userdata, page);
}

/* Zeroes a buffer that stays (part of the struct) and shows it to the hook. */
static void clear_inline(session_wipe_observer_fn observer, void *userdata, void *buf, size_t len)
{
	secmem_zero(buf, len);
	if (observer)
		observer(buf, len, userdata);
}

/* --- the commit job --- */

/* Zeroes and frees what the job holds of the customer: values, pages and the
 * turned JPEGs. The job struct itself stays (its thread may need joining). */
static void job_release_content(struct commit_job *job)
{
	session_wipe_observer_fn o = job->observer;
	void *ud = job->observer_userdata;
	for (size_t i = 0; i < job->page_count; i++) {
		struct job_page *p = &job->pages[i];
		release_to(o, ud, p->rotated, p->rotated_bytes);
		release_page_to(o, ud, p->page);
		memset(p, 0, sizeof(*p));
	}
	job->page_count = 0;
	clear_inline(o, ud, job->case_number, sizeof(job->case_number));
	clear_inline(o, ud, job->name, sizeof(job->name));
	clear_inline(o, ud, job->birth_date, sizeof(job->birth_date));
	clear_inline(o, ud, job->category, sizeof(job->category));
	secmem_zero(job->key, sizeof(job->key));
}

static void job_free(struct commit_job *job)
{
	if (!job)
		return;
	pthread_mutex_destroy(&job->lock);
	secmem_free(job, sizeof(*job));
}

/* Turns one page's JPEG losslessly into a buffer of the job; computes its
 * size and SHA-256. */
static bool rotate_jpeg(struct job_page *p)
{
	static const int ops[4] = {TJXOP_NONE, TJXOP_ROT90, TJXOP_ROT180, TJXOP_ROT270};
	bool ok = false;
	unsigned char *tj_out = NULL;
	unsigned long tj_size = 0;
	tjhandle tj = tjInitTransform();
	if (!tj) {
		log_error("page rotation: TurboJPEG cannot start");
		return false;
	}
	tjtransform xf = {.op = ops[p->turns & 3], .options = TJXOPT_TRIM};
	if (tjTransform(tj, p->page->jpeg, p->page->facts.bytes, 1, &tj_out, &tj_size, &xf, 0) !=
	    0) {
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
	/* Our own buffer, so the page is freed as every page is. */
	p->rotated = malloc(tj_size);
	if (!p->rotated) {
		log_error("page rotation: out of memory");
		goto out;
	}
	memcpy(p->rotated, tj_out, tj_size);
	p->rotated_bytes = tj_size;
	p->width = (uint32_t)w;
	p->height = (uint32_t)h;
	if (!sha256_digest(p->rotated, p->rotated_bytes, p->sha256)) {
		secmem_free(p->rotated, p->rotated_bytes);
		p->rotated = NULL;
		p->rotated_bytes = 0;
		goto out;
	}
	ok = true;
out:
	if (tj_out) {
		secmem_zero(tj_out, tj_size);
		tjFree(tj_out);
	}
	tjDestroy(tj);
	return ok;
}

/* Applies the pending turns, then seals and commits. Runs on the commit
 * thread (or the caller's, for session_commit()). */
static void job_run(struct commit_job *job)
{
	struct container_page *pages = NULL;
	job->result = SESSION_COMMIT_ERROR;
	for (size_t i = 0; i < job->page_count; i++) {
		struct job_page *p = &job->pages[i];
		if (p->turns && !p->rotated && !rotate_jpeg(p))
			return;
	}
	pages = calloc(job->page_count, sizeof(*pages));
	if (!pages)
		return;
	for (size_t i = 0; i < job->page_count; i++) {
		const struct job_page *jp = &job->pages[i];
		const struct scan_page *p = jp->page;
		pages[i] = (struct container_page){
		        .jpeg = jp->rotated ? jp->rotated : p->jpeg,
		        .bytes = jp->rotated ? jp->rotated_bytes : p->facts.bytes,
		        .width = jp->rotated ? jp->width : p->facts.width,
		        .height = jp->rotated ? jp->height : p->facts.height,
		        .dpi = p->facts.dpi,
		        .color = p->facts.stored_color,
		        .blank_score = p->facts.blank_score,
		};
		memcpy(pages[i].sha256, jp->rotated ? jp->sha256 : p->facts.sha256, SHA256_BYTES);
	}
	struct container_submission sub = {
	        .case_number = job->case_number,
	        .name = job->name,
	        .birth_date = job->birth_date,
	        .category = job->category,
	        .language = language_code(job->language),
	        .pages = pages,
	        .page_count = job->page_count,
	};
	struct spool_receipt r = {0};
	enum spool_status st = spool_commit(job->spool, job->key, &sub, &r);
	free(pages);
	switch (st) {
	case SPOOL_OK:
		log_info("submission %s committed, %zu pages", r.id, job->page_count);
		job->receipt = r;
		job->result = SESSION_COMMIT_OK;
		break;
	case SPOOL_FULL:
	case SPOOL_NO_SPACE:
		log_warning("submission not committed: %s", spool_strerror(st));
		job->result = SESSION_COMMIT_FULL;
		break;
	default:
		log_error("submission not committed: %s", spool_strerror(st));
		job->result = SESSION_COMMIT_ERROR;
		break;
	}
}

/* The outcome of a job whose session is gone: by submission id only. */
static void log_orphan_outcome(const struct commit_job *job)
{
	if (job->result == SESSION_COMMIT_OK)
		log_warning("submission %s committed after its session ended: the receipt was "
		            "not shown",
		            job->receipt.id);
	else
		log_warning("a submission was not committed (%s) and its session has ended",
		            session_commit_result_name(job->result));
}

static void *commit_thread(void *arg)
{
	struct commit_job *job = arg;
	if (job->gate)
		job->gate(job->gate_userdata);
	job_run(job);
	pthread_mutex_lock(&job->lock);
	bool orphaned = job->orphaned;
	if (orphaned) {
		log_orphan_outcome(job);
		job_release_content(job);
	}
	job->done = true;
	pthread_mutex_unlock(&job->lock);
	if (!orphaned && job->notify)
		job->notify(job->userdata);
	return NULL;
}

/* Builds a job from a complete session: copies the values, hands the pages
 * over (the session keeps borrowed pointers). */
static struct commit_job *job_create(struct session *s, struct spool *spool,
                                     const uint8_t public_key[CONTAINER_KEY_BYTES])
{
	struct commit_job *job = calloc(1, sizeof(*job));
	if (!job)
		return NULL;
	pthread_mutex_init(&job->lock, NULL);
	memcpy(job->case_number, s->case_number, sizeof(job->case_number));
	memcpy(job->name, s->name, sizeof(job->name));
	memcpy(job->birth_date, s->birth_date, sizeof(job->birth_date));
	memcpy(job->category, s->category, sizeof(job->category));
	job->language = s->language;
	for (size_t i = 0; i < s->page_count; i++)
		job->pages[i] =
		        (struct job_page){.page = s->pages[i].page, .turns = s->pages[i].turns};
	job->page_count = s->page_count;
	job->spool = spool;
	memcpy(job->key, public_key, CONTAINER_KEY_BYTES);
	job->observer = s->wipe_observer;
	job->observer_userdata = s->wipe_userdata;
	job->gate = s->gate;
	job->gate_userdata = s->gate_userdata;
	return job;
}

/* Takes a finished job's pages back into the session, with their turned
 * JPEGs and new facts, and frees the job. Owner thread, job done. */
static void job_finish(struct session *s, struct commit_job *job,
                       enum session_commit_result *result, struct spool_receipt *receipt)
{
	for (size_t i = 0; i < job->page_count; i++) {
		struct job_page *jp = &job->pages[i];
		struct scan_page *p = jp->page;
		if (jp->rotated) {
			release(s, p->jpeg, p->facts.bytes);
			p->jpeg = jp->rotated;
			p->facts.bytes = jp->rotated_bytes;
			p->facts.width = jp->width;
			p->facts.height = jp->height;
			memcpy(p->facts.sha256, jp->sha256, SHA256_BYTES);
			jp->rotated = NULL;
			s->pages[i].turns = 0;
		}
		jp->page = NULL;
	}
	job->page_count = 0;
	if (job->result == SESSION_COMMIT_OK)
		s->committed = true;
	if (result)
		*result = job->result;
	if (receipt)
		*receipt = job->receipt;
	job_release_content(job);
	secmem_zero(&job->receipt, sizeof(job->receipt));
	job_free(job);
}

/* Joins and frees orphans that have finished; with wait, all of them. */
static void reap_orphans(struct session *s, bool wait)
{
	struct commit_job **pp = &s->orphans;
	while (*pp) {
		struct commit_job *job = *pp;
		pthread_mutex_lock(&job->lock);
		bool done = job->done;
		pthread_mutex_unlock(&job->lock);
		if (!done && !wait) {
			pp = &job->next;
			continue;
		}
		pthread_join(job->thread, NULL);
		*pp = job->next;
		job_free(job);
	}
}

/* The session lets go of a running commit without waiting for it. */
static void orphan_job(struct session *s)
{
	struct commit_job *job = s->job;
	if (!job)
		return;
	s->job = NULL;
	pthread_mutex_lock(&job->lock);
	bool done = job->done;
	if (!done)
		job->orphaned = true;
	pthread_mutex_unlock(&job->lock);
	if (done) {
		/* Finished but never polled: the customer did not see the outcome. */
		pthread_join(job->thread, NULL);
		log_orphan_outcome(job);
		job_finish(s, job, NULL, NULL);
		return;
	}
	/* The thread owns the pages now: forget the borrowed pointers. */
	for (size_t i = 0; i < s->page_count; i++)
		s->pages[i] = (struct slot){0};
	s->page_count = 0;
	job->next = s->orphans;
	s->orphans = job;
}

void session_wipe(struct session *s)
{
	if (!s)
		return;
	orphan_job(s);
	for (size_t i = 0; i < s->page_count; i++) {
		release_page(s, s->pages[i].page);
		s->pages[i] = (struct slot){0};
	}
	s->page_count = 0;
	for (int f = 0; f < SESSION_FIELD_LAST; f++) {
		clear_inline(s->wipe_observer, s->wipe_userdata, s->field[f], sizeof(s->field[f]));
		s->checked[f] = false;
	}
	clear_inline(s->wipe_observer, s->wipe_userdata, s->case_number, sizeof(s->case_number));
	clear_inline(s->wipe_observer, s->wipe_userdata, s->name, sizeof(s->name));
	clear_inline(s->wipe_observer, s->wipe_userdata, s->birth_date, sizeof(s->birth_date));
	clear_inline(s->wipe_observer, s->wipe_userdata, s->category, sizeof(s->category));
	s->case_kind = CASE_KIND_KUNDENNUMMER;
	s->language = LANGUAGE_DE;
	s->committed = false;
}

void session_destroy(struct session *s)
{
	if (!s)
		return;
	session_wipe(s);
	/* Program end: orphaned commits are let finish (they hold a submission). */
	reap_orphans(s, true);
	case_rules_destroy(s->own_rules);
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

	if (!field_valid(field))
		return CASE_EMPTY;
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
	return index < s->page_count ? s->pages[index].page : NULL;
}

int session_page_rotation(const struct session *s, size_t index)
{
	return index < s->page_count ? s->pages[index].turns : 0;
}

bool session_page_size(const struct session *s, size_t index, uint32_t *width, uint32_t *height)
{
	const struct scan_page *p = session_page(s, index);
	if (!p)
		return false;
	bool swap = s->pages[index].turns % 2 == 1;
	if (width)
		*width = swap ? p->facts.height : p->facts.width;
	if (height)
		*height = swap ? p->facts.width : p->facts.height;
	return true;
}

/* A page the session refuses: zeroed and freed like every page it lets go. */
static enum session_status refuse_page(struct session *s, struct scan_page *page,
                                       enum session_status st)
{
	if (st == SESSION_BUSY)
		log_warning("a page arrived while the session %s: dropped",
		            s->job ? "is being committed" : "was already committed");
	release_page(s, page);
	return st;
}

enum session_status session_page_add(struct session *s, struct scan_page *page)
{
	if (!page)
		return SESSION_INVALID;
	if (busy(s))
		return refuse_page(s, page, SESSION_BUSY);
	if (s->page_count >= SESSION_MAX_PAGES)
		return refuse_page(s, page, SESSION_FULL);
	s->pages[s->page_count++] = (struct slot){.page = page};
	return SESSION_OK;
}

enum session_status session_page_replace(struct session *s, size_t index, struct scan_page *page)
{
	if (!page)
		return SESSION_INVALID;
	if (busy(s))
		return refuse_page(s, page, SESSION_BUSY);
	if (index >= s->page_count)
		return refuse_page(s, page, SESSION_BAD_INDEX);
	release_page(s, s->pages[index].page);
	s->pages[index] = (struct slot){.page = page};
	return SESSION_OK;
}

enum session_status session_page_delete(struct session *s, size_t index)
{
	if (busy(s))
		return SESSION_BUSY;
	if (index >= s->page_count)
		return SESSION_BAD_INDEX;
	release_page(s, s->pages[index].page);
	memmove(&s->pages[index], &s->pages[index + 1],
	        (s->page_count - index - 1) * sizeof(s->pages[0]));
	s->pages[--s->page_count] = (struct slot){0};
	return SESSION_OK;
}

enum session_status session_page_move(struct session *s, size_t from, size_t to)
{
	if (busy(s))
		return SESSION_BUSY;
	if (from >= s->page_count || to >= s->page_count)
		return SESSION_BAD_INDEX;
	struct slot p = s->pages[from];
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
	struct scan_page *page = s->pages[index].page;

	/* The header only (markers, no pixels): a page that is no JPEG is refused
	 * now rather than at the commit. */
	tjhandle tj = tjInitDecompress();
	if (!tj)
		return SESSION_NOMEM;
	int w, h, subsamp, colorspace;
	int rc = tjDecompressHeader3(tj, page->jpeg, page->facts.bytes, &w, &h, &subsamp,
	                             &colorspace);
	tjDestroy(tj);
	if (rc != 0) {
		log_warning("page cannot be rotated: not a readable JPEG");
		return SESSION_IMAGE;
	}

	/* A new struct for the turned page, so a UI's cache keyed by the page
	 * pointer sees a different page. */
	struct scan_page *turned = malloc(sizeof(*turned));
	if (!turned)
		return SESSION_NOMEM;
	*turned = *page;
	if (page->thumb) {
		uint32_t tw = 0, th = 0;
		turned->thumb = rotate_rgb(page->thumb, page->thumb_width, page->thumb_height,
		                           turns, &tw, &th);
		if (!turned->thumb) {
			free(turned);
			return SESSION_NOMEM;
		}
		turned->thumb_width = tw;
		turned->thumb_height = th;
		release(s, page->thumb, (size_t)page->thumb_width * page->thumb_height * 3);
	}
	page->thumb = NULL;
	page->jpeg = NULL; /* moved to turned */
	release(s, page, sizeof(*page));
	s->pages[index].page = turned;
	s->pages[index].turns = (s->pages[index].turns + turns) % 4;
	return SESSION_OK;
}

/* --- spool --- */

bool session_spool_can_accept(struct spool *spool, unsigned pages)
{
	if (!spool)
		return false;
	return spool_can_accept(spool, (uint64_t)(pages ? pages : 1) * SESSION_PAGE_ESTIMATE);
}

uint64_t session_expected_bytes(const struct session *s, unsigned more_pages)
{
	uint64_t bytes = (uint64_t)more_pages * SESSION_PAGE_ESTIMATE;
	for (size_t i = 0; i < s->page_count; i++)
		bytes += s->pages[i].page->facts.bytes;
	return bytes;
}

bool session_can_accept(const struct session *s, struct spool *spool, unsigned more_pages)
{
	if (!spool)
		return false;
	return spool_can_accept(spool, session_expected_bytes(s, more_pages));
}

static bool complete(const struct session *s)
{
	return session_case_complete(s, NULL) && s->category[0] && s->page_count > 0;
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
	struct commit_job *job = job_create(s, spool, public_key);
	if (!job)
		return SESSION_COMMIT_ERROR;
	job_run(job);
	enum session_commit_result r;
	job_finish(s, job, &r, receipt);
	return r;
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
	reap_orphans(s, false);
	struct commit_job *job = job_create(s, spool, public_key);
	if (!job)
		return SESSION_COMMIT_ERROR;
	job->notify = notify;
	job->userdata = userdata;
	if (pthread_create(&job->thread, NULL, commit_thread, job) != 0) {
		log_error("cannot start the commit thread");
		job->page_count = 0; /* the pages stay the session's */
		job_release_content(job);
		job_free(job);
		return SESSION_COMMIT_ERROR;
	}
	s->job = job;
	return SESSION_COMMIT_OK;
}

bool session_commit_poll(struct session *s, enum session_commit_result *result,
                         struct spool_receipt *receipt)
{
	struct commit_job *job = s->job;
	if (!job)
		return false;
	pthread_mutex_lock(&job->lock);
	bool done = job->done;
	pthread_mutex_unlock(&job->lock);
	if (!done)
		return false;
	pthread_join(job->thread, NULL);
	s->job = NULL;
	job_finish(s, job, result, receipt);
	return true;
}

bool session_commit_running(const struct session *s)
{
	return s->job != NULL;
}

bool session_committed(const struct session *s)
{
	return s->committed;
}

size_t session_commit_orphans(struct session *s)
{
	reap_orphans(s, false);
	size_t n = 0;
	for (const struct commit_job *job = s->orphans; job; job = job->next)
		n++;
	return n;
}

void session_set_wipe_observer(struct session *s, session_wipe_observer_fn fn, void *userdata)
{
	s->wipe_observer = fn;
	s->wipe_userdata = userdata;
}

void session_set_commit_gate(struct session *s, session_commit_gate_fn fn, void *userdata)
{
	s->gate = fn;
	s->gate_userdata = userdata;
}
