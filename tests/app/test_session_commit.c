/*
 * test_session_commit.c - a session committed into a real spool, read back
 * with the uploader's key pair: pages in order, their bytes and SHA-256, the
 * metadata; lossless rotation; a full spool; the commit thread.
 *
 * Pages are real JPEGs (TurboJPEG) with a red mark in the top-left corner, of
 * a size that is not a multiple of the JPEG block size. The spool lives in a
 * scratch directory in the current directory (the build tree), never in /tmp.
 * The log goes to a file there that the last test searches for personal data.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp; meson passes it already */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "case_rules.h"
#include "container.h"
#include "log.h"
#include "session.h"
#include "sha256.h"
#include "spool.h"

#define CANARY_NAME "Kanarienvogel-Шевченко"
#define CANARY_CASE "123A456789"
#define CANARY_DATE "02.03.1977"
#define PAGE_W      203
#define PAGE_H      301

static char workdir[PATH_MAX], logpath[PATH_MAX + 8];
static uint8_t pk[CONTAINER_KEY_BYTES], sk[CONTAINER_KEY_BYTES];
static int saved_stderr = -1;
static unsigned spool_serial;

struct fixture {
	struct case_rules *rules;
	struct session *session;
	struct spool *spool;
	char dir[PATH_MAX + 32];
};

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	char tmpl[] = "test_session_commit.XXXXXX";
	if (!mkdtemp(tmpl) || !realpath(tmpl, workdir))
		return -1;
	if (sodium_init() < 0)
		return -1;
	crypto_box_keypair(pk, sk);
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
	/* Give the log back to stderr, so a failure's messages are seen. */
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	FILE *f = fopen(logpath, "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof(line), f))
			fputs(line, stderr);
		fclose(f);
	}
	nftw(workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static int setup_limits(void **state, uint32_t max_count)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/spool%u", workdir, spool_serial++);
	struct spool_limits limits = {.max_bytes = 0, .max_count = max_count};
	if (spool_open(f->dir, &limits, &f->spool) != SPOOL_OK)
		return -1;
	f->rules = case_rules_create(NULL, NULL, NULL, 0);
	f->session = session_create(f->rules);
	if (!f->rules || !f->session)
		return -1;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_limits(state, 0);
}

static int setup_one_slot(void **state)
{
	return setup_limits(state, 1);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	session_destroy(f->session);
	case_rules_destroy(f->rules);
	spool_destroy(f->spool);
	free(f);
	return 0;
}

/* A colour page: white, a red mark at the top left, a shade that differs
 * per page (so every page's bytes differ). */
static struct scan_page *make_page(unsigned number)
{
	uint8_t *rgb = malloc((size_t)PAGE_W * PAGE_H * 3);
	assert_non_null(rgb);
	for (uint32_t y = 0; y < PAGE_H; y++) {
		for (uint32_t x = 0; x < PAGE_W; x++) {
			uint8_t *p = rgb + ((size_t)y * PAGE_W + x) * 3;
			bool mark = x < 40 && y < 30;
			p[0] = mark ? 230 : 255;
			p[1] = mark ? 20 : (uint8_t)(255 - number * 20 - (x * 7 + y) % 16);
			p[2] = mark ? 20 : 255;
		}
	}
	struct scan_page *page = calloc(1, sizeof(*page));
	assert_non_null(page);
	tjhandle tj = tjInitCompress();
	unsigned char *jpeg = NULL;
	unsigned long size = 0;
	assert_int_equal(
	        tjCompress2(tj, rgb, PAGE_W, 0, PAGE_H, TJPF_RGB, &jpeg, &size, TJSAMP_420, 90, 0),
	        0);
	tjDestroy(tj);
	page->jpeg = malloc(size);
	memcpy(page->jpeg, jpeg, size);
	tjFree(jpeg);
	/* Thumbnail: every 8th pixel. */
	page->thumb_width = PAGE_W / 8;
	page->thumb_height = PAGE_H / 8;
	page->thumb = malloc((size_t)page->thumb_width * page->thumb_height * 3);
	for (uint32_t y = 0; y < page->thumb_height; y++)
		for (uint32_t x = 0; x < page->thumb_width; x++)
			memcpy(page->thumb + ((size_t)y * page->thumb_width + x) * 3,
			       rgb + ((size_t)y * 8 * PAGE_W + x * 8) * 3, 3);
	free(rgb);
	page->number = number;
	page->facts.width = PAGE_W;
	page->facts.height = PAGE_H;
	page->facts.dpi = 150;
	page->facts.bytes = size;
	assert_true(sha256_digest(page->jpeg, size, page->facts.sha256));
	page->facts.blank_score = 0.1;
	page->facts.scanned_color = page->facts.stored_color = true;
	return page;
}

/* A copy of a page's JPEG and facts, to compare after the session owns it. */
struct page_copy {
	uint8_t *jpeg;
	size_t bytes;
	uint8_t sha256[SHA256_BYTES];
};

static void copy_page(const struct scan_page *p, struct page_copy *c)
{
	c->bytes = p->facts.bytes;
	c->jpeg = malloc(c->bytes);
	memcpy(c->jpeg, p->jpeg, c->bytes);
	memcpy(c->sha256, p->facts.sha256, SHA256_BYTES);
}

static void type_case(struct session *s)
{
	assert_int_equal(session_set_language(s, LANGUAGE_UK), SESSION_OK);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_CASE_NUMBER, "123 a 456789"),
	                 SESSION_OK);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_NAME, " " CANARY_NAME " "),
	                 SESSION_OK);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_BIRTH_DATE, CANARY_DATE),
	                 SESSION_OK);
	for (int f = 0; f < SESSION_FIELD_LAST; f++)
		assert_int_equal(session_field_check(s, (enum session_field)f), CASE_OK);
	assert_int_equal(session_set_category(s, "payslip"), SESSION_OK);
}

/* Opens the one submission in new/. */
static struct container_reader *open_committed(struct fixture *f, const char *id, int *fd)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/new/%s", f->dir, id);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(*fd >= 0);
	assert_int_equal(container_verify(*fd, pk, sk), CONTAINER_OK);
	struct container_reader *rd = NULL;
	assert_int_equal(container_reader_open(*fd, pk, sk, &rd), CONTAINER_OK);
	return rd;
}

/* Reads all page bytes of a reader into per-page buffers. */
static void read_pages(struct container_reader *rd, uint8_t **bufs, size_t *lens, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		bufs[i] = malloc(container_reader_page(rd, i)->bytes);
		lens[i] = 0;
	}
	uint8_t chunk[4096];
	for (;;) {
		size_t got = 0, page = 0;
		assert_int_equal(container_reader_read(rd, chunk, sizeof(chunk), &got, &page),
		                 CONTAINER_OK);
		if (got == 0)
			break;
		assert_true(page < count);
		assert_true(lens[page] + got <= container_reader_page(rd, page)->bytes);
		memcpy(bufs[page] + lens[page], chunk, got);
		lens[page] += got;
	}
}

static void test_commit_three_delete_one(void **state)
{
	struct fixture *f = *state;
	struct session *s = f->session;
	type_case(s);
	struct page_copy kept[2];
	for (unsigned i = 1; i <= 3; i++) {
		struct scan_page *p = make_page(i);
		if (i != 2)
			copy_page(p, &kept[i == 1 ? 0 : 1]);
		assert_int_equal(session_page_add(s, p), SESSION_OK);
	}
	assert_true(session_spool_can_accept(f->spool, 3));
	assert_int_equal(session_page_delete(s, 1), SESSION_OK);

	struct spool_receipt r;
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_OK);
	char ref[CONTAINER_REFERENCE_LEN];
	container_reference(r.id, ref);
	assert_string_equal(r.reference, ref);
	assert_int_equal(strlen(r.reference), 14);

	int fd;
	struct container_reader *rd = open_committed(f, r.id, &fd);
	assert_int_equal(container_reader_header(rd)->page_count, 2);
	assert_int_equal(container_reader_page_count(rd), 2);
	uint8_t *bufs[2];
	size_t lens[2];
	read_pages(rd, bufs, lens, 2);
	for (int i = 0; i < 2; i++) {
		const struct container_page_info *info = container_reader_page(rd, (size_t)i);
		assert_int_equal(info->bytes, kept[i].bytes);
		assert_memory_equal(info->sha256, kept[i].sha256, SHA256_BYTES);
		assert_int_equal(lens[i], kept[i].bytes);
		assert_memory_equal(bufs[i], kept[i].jpeg, kept[i].bytes);
		free(bufs[i]);
		free(kept[i].jpeg);
	}

	cJSON *meta = cJSON_Parse(container_reader_metadata(rd, NULL));
	assert_non_null(meta);
	assert_string_equal(cJSON_GetObjectItem(meta, "case_number")->valuestring, CANARY_CASE);
	assert_string_equal(cJSON_GetObjectItem(meta, "name")->valuestring, CANARY_NAME);
	assert_string_equal(cJSON_GetObjectItem(meta, "birth_date")->valuestring, "1977-03-02");
	assert_string_equal(cJSON_GetObjectItem(meta, "category")->valuestring, "payslip");
	assert_string_equal(cJSON_GetObjectItem(meta, "language")->valuestring, "uk");
	assert_string_equal(cJSON_GetObjectItem(meta, "receipt")->valuestring, r.reference);
	assert_string_equal(cJSON_GetObjectItem(meta, "submission_id")->valuestring, r.id);
	cJSON *pages = cJSON_GetObjectItem(meta, "pages");
	assert_int_equal(cJSON_GetArraySize(pages), 2);
	cJSON *p0 = cJSON_GetArrayItem(pages, 0);
	assert_int_equal(cJSON_GetObjectItem(p0, "width")->valueint, PAGE_W);
	assert_int_equal(cJSON_GetObjectItem(p0, "height")->valueint, PAGE_H);
	assert_int_equal(cJSON_GetObjectItem(p0, "dpi")->valueint, 150);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(p0, "color")));
	cJSON_Delete(meta);
	container_reader_destroy(rd);
	close(fd);

	/* The session is left as it was, until wiped. */
	assert_int_equal(session_page_count(s), 2);
	session_wipe(s);
	assert_false(session_has_data(s));
}

/* Is the pixel at (x, y) of a decoded RGB image the red mark? */
static bool red_at(const uint8_t *rgb, int w, int x, int y)
{
	const uint8_t *p = rgb + ((size_t)y * (size_t)w + (size_t)x) * 3;
	return p[0] > 190 && p[1] < 80 && p[2] < 80;
}

static void test_rotate_then_commit(void **state)
{
	struct fixture *f = *state;
	struct session *s = f->session;
	type_case(s);
	assert_int_equal(session_page_add(s, make_page(1)), SESSION_OK);
	assert_int_equal(session_page_add(s, make_page(2)), SESSION_OK);
	uint32_t tw = session_page(s, 0)->thumb_width, th = session_page(s, 0)->thumb_height;
	/* Thumbnail: red mark top left before. */
	assert_true(red_at(session_page(s, 0)->thumb, (int)tw, 0, 0));

	assert_int_equal(session_page_rotate(s, 0, 1), SESSION_OK);  /* clockwise */
	assert_int_equal(session_page_rotate(s, 1, -1), SESSION_OK); /* anticlockwise */
	const struct scan_page *p = session_page(s, 0);
	/* Width and height swapped; a partial block edge trimmed (< 16 px). */
	assert_true(p->facts.width <= PAGE_H && p->facts.width > PAGE_H - 16);
	assert_true(p->facts.height <= PAGE_W && p->facts.height > PAGE_W - 16);
	assert_int_equal(p->thumb_width, th);
	assert_int_equal(p->thumb_height, tw);
	/* Clockwise: the top-left mark is now top right, in the thumbnail too. */
	assert_true(red_at(p->thumb, (int)th, (int)th - 1, 0));
	assert_false(red_at(p->thumb, (int)th, 0, 0));
	uint8_t digest[SHA256_BYTES];
	assert_true(sha256_digest(p->jpeg, p->facts.bytes, digest));
	assert_memory_equal(digest, p->facts.sha256, SHA256_BYTES);
	uint32_t w0 = p->facts.width, h0 = p->facts.height;

	struct spool_receipt r;
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_OK);
	int fd;
	struct container_reader *rd = open_committed(f, r.id, &fd);
	uint8_t *bufs[2];
	size_t lens[2];
	read_pages(rd, bufs, lens, 2);
	for (int i = 0; i < 2; i++) {
		tjhandle tj = tjInitDecompress();
		int w, h, sub, cs;
		assert_int_equal(tjDecompressHeader3(tj, bufs[i], lens[i], &w, &h, &sub, &cs), 0);
		assert_int_equal(w, (int)session_page(s, (size_t)i)->facts.width);
		assert_int_equal(h, (int)session_page(s, (size_t)i)->facts.height);
		uint8_t *rgb = malloc((size_t)w * (size_t)h * 3);
		/* A complete, valid JPEG: decodes without warnings. */
		assert_int_equal(tjDecompress2(tj, bufs[i], lens[i], rgb, w, 0, h, TJPF_RGB,
		                               TJFLAG_STOPONWARNING),
		                 0);
		if (i == 0) {
			assert_int_equal(w, (int)w0);
			assert_int_equal(h, (int)h0);
			assert_true(red_at(rgb, w, w - 10, 10));
			assert_true(red_at(rgb, w, w - 25, 35)); /* 30 rows became 30 columns */
			assert_false(red_at(rgb, w, 10, 10));
		} else {
			/* Anticlockwise: the mark is now bottom left. */
			assert_true(red_at(rgb, w, 10, h - 10));
			assert_false(red_at(rgb, w, 10, 10));
		}
		free(rgb);
		tjDestroy(tj);
		free(bufs[i]);
	}
	container_reader_destroy(rd);
	close(fd);

	/* Once the partial edge blocks are gone (a half turn trims the other
	 * edge), rotation is lossless: four quarter turns give the same pixels. */
	assert_int_equal(session_page_rotate(s, 0, 2), SESSION_OK);
	p = session_page(s, 0);
	w0 = p->facts.width;
	h0 = p->facts.height;
	assert_true(w0 % 16 == 0 && h0 % 16 == 0);
	assert_true(h0 > PAGE_W - 16);
	uint8_t *before = malloc(p->facts.bytes);
	size_t before_len = p->facts.bytes;
	memcpy(before, p->jpeg, before_len);
	for (int i = 0; i < 4; i++)
		assert_int_equal(session_page_rotate(s, 0, 1), SESSION_OK);
	p = session_page(s, 0);
	assert_int_equal(p->facts.width, w0);
	assert_int_equal(p->facts.height, h0);
	tjhandle tj = tjInitDecompress();
	uint8_t *a = malloc((size_t)w0 * h0 * 3), *b = malloc((size_t)w0 * h0 * 3);
	assert_int_equal(tjDecompress2(tj, before, before_len, a, (int)w0, 0, (int)h0, TJPF_RGB, 0),
	                 0);
	assert_int_equal(
	        tjDecompress2(tj, p->jpeg, p->facts.bytes, b, (int)w0, 0, (int)h0, TJPF_RGB, 0), 0);
	assert_memory_equal(a, b, (size_t)w0 * h0 * 3);
	tjDestroy(tj);
	free(a);
	free(b);
	free(before);

	/* A page that is not a JPEG cannot be rotated and stays as it was. */
	struct scan_page *junk = make_page(3);
	memset(junk->jpeg, 0x55, junk->facts.bytes);
	assert_int_equal(session_page_add(s, junk), SESSION_OK);
	assert_int_equal(session_page_rotate(s, 2, 1), SESSION_IMAGE);
	assert_int_equal(session_page(s, 2)->facts.width, PAGE_W);
}

static void test_incomplete(void **state)
{
	struct fixture *f = *state;
	struct session *s = f->session;
	struct spool_receipt r;
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_INCOMPLETE);
	type_case(s);
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_INCOMPLETE);
	assert_int_equal(session_page_add(s, make_page(1)), SESSION_OK);
	/* An edit after the check makes the case incomplete again. */
	assert_int_equal(session_field_backspace(s, SESSION_FIELD_BIRTH_DATE), SESSION_OK);
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_INCOMPLETE);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_BIRTH_DATE, "7"), SESSION_OK);
	assert_int_equal(session_field_check(s, SESSION_FIELD_BIRTH_DATE), CASE_OK);
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_OK);
	assert_string_equal(session_commit_result_name(SESSION_COMMIT_FULL), "full");
}

static void test_spool_full(void **state)
{
	struct fixture *f = *state; /* a spool that holds one submission */
	struct session *s = f->session;
	type_case(s);
	assert_int_equal(session_page_add(s, make_page(1)), SESSION_OK);
	assert_true(session_spool_can_accept(f->spool, 1));
	struct spool_receipt r;
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_OK);
	/* The next customer is told before scanning... */
	assert_false(session_spool_can_accept(f->spool, 1));
	/* ...and a commit that comes anyway is refused, keeping the session. */
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_FULL);
	assert_int_equal(session_page_count(s), 1);
	assert_false(session_spool_can_accept(NULL, 1));
}

struct notify_count {
	atomic_int calls;
};

static void count_notify(void *userdata)
{
	atomic_fetch_add(&((struct notify_count *)userdata)->calls, 1);
}

static void test_commit_thread(void **state)
{
	struct fixture *f = *state;
	struct session *s = f->session;
	struct notify_count n = {0};
	enum session_commit_result res;
	struct spool_receipt r;
	assert_false(session_commit_poll(s, &res, &r)); /* none started */
	assert_int_equal(session_commit_start(s, f->spool, pk, count_notify, &n),
	                 SESSION_COMMIT_INCOMPLETE);
	type_case(s);
	for (unsigned i = 1; i <= 3; i++)
		assert_int_equal(session_page_add(s, make_page(i)), SESSION_OK);
	assert_int_equal(session_commit_start(s, f->spool, pk, count_notify, &n),
	                 SESSION_COMMIT_OK);
	/* While it runs the session cannot change, and a page offered is freed. */
	bool done = session_commit_poll(s, &res, &r);
	if (!done) {
		assert_true(session_commit_running(s));
		assert_int_equal(session_page_delete(s, 0), SESSION_BUSY);
		assert_int_equal(session_field_insert(s, SESSION_FIELD_NAME, "x"), SESSION_BUSY);
		assert_int_equal(session_page_add(s, make_page(4)), SESSION_BUSY);
		assert_int_equal(session_commit_start(s, f->spool, pk, NULL, NULL),
		                 SESSION_COMMIT_BUSY);
	}
	for (int i = 0; !done && i < 10000; i++) {
		usleep(1000);
		done = session_commit_poll(s, &res, &r);
	}
	assert_true(done);
	assert_int_equal(res, SESSION_COMMIT_OK);
	assert_int_equal(atomic_load(&n.calls), 1);
	assert_false(session_commit_running(s));
	assert_false(session_commit_poll(s, &res, &r)); /* reported once */
	int fd;
	struct container_reader *rd = open_committed(f, r.id, &fd);
	assert_int_equal(container_reader_page_count(rd), 3);
	container_reader_destroy(rd);
	close(fd);
	assert_int_equal(session_page_delete(s, 0), SESSION_OK);

	/* A wipe during a commit waits for it, then wipes. */
	assert_int_equal(session_commit_start(s, f->spool, pk, count_notify, &n),
	                 SESSION_COMMIT_OK);
	session_wipe(s);
	assert_false(session_commit_running(s));
	assert_false(session_has_data(s));
	assert_int_equal(atomic_load(&n.calls), 2);
}

/* Last: nothing the customer typed reached the log. */
static void test_log_has_no_personal_data(void **state)
{
	(void)state;
	fflush(stderr);
	FILE *fp = fopen(logpath, "r");
	assert_non_null(fp);
	char line[1024];
	size_t lines = 0;
	while (fgets(line, sizeof(line), fp)) {
		lines++;
		assert_null(strstr(line, "Kanarienvogel"));
		assert_null(strstr(line, "Шевченко"));
		assert_null(strstr(line, CANARY_CASE));
		assert_null(strstr(line, "1977"));
	}
	fclose(fp);
	assert_true(lines > 0); /* commits were logged (by id) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_commit_three_delete_one, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rotate_then_commit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_incomplete, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_spool_full, setup_one_slot, teardown),
	        cmocka_unit_test_setup_teardown(test_commit_thread, setup, teardown),
	        cmocka_unit_test(test_log_has_no_personal_data),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
