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
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
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
#include "spool_gauge.h"

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

/* Decodes a JPEG (RGB); *w, *h receive its size. */
static uint8_t *decode(const uint8_t *jpeg, size_t len, int *w, int *h)
{
	tjhandle tj = tjInitDecompress();
	int sub, cs;
	assert_int_equal(tjDecompressHeader3(tj, jpeg, len, w, h, &sub, &cs), 0);
	uint8_t *rgb = malloc((size_t)*w * (size_t)*h * 3);
	/* A complete, valid JPEG: decodes without warnings. */
	assert_int_equal(
	        tjDecompress2(tj, jpeg, len, rgb, *w, 0, *h, TJPF_RGB, TJFLAG_STOPONWARNING), 0);
	tjDestroy(tj);
	return rgb;
}

/* Reads the committed submission's pages; checks each against the metadata
 * (size, SHA-256 of the bytes) and returns them. */
static void read_committed(struct fixture *f, const char *id, uint8_t **bufs, size_t *lens,
                           size_t count)
{
	int fd;
	struct container_reader *rd = open_committed(f, id, &fd);
	assert_int_equal(container_reader_page_count(rd), count);
	read_pages(rd, bufs, lens, count);
	for (size_t i = 0; i < count; i++) {
		uint8_t digest[SHA256_BYTES];
		assert_true(sha256_digest(bufs[i], lens[i], digest));
		assert_memory_equal(digest, container_reader_page(rd, i)->sha256, SHA256_BYTES);
		assert_int_equal(lens[i], container_reader_page(rd, i)->bytes);
	}
	container_reader_destroy(rd);
	close(fd);
}

static void test_rotate_then_commit(void **state)
{
	struct fixture *f = *state;
	struct session *s = f->session;
	type_case(s);
	assert_int_equal(session_page_add(s, make_page(1)), SESSION_OK);
	assert_int_equal(session_page_add(s, make_page(2)), SESSION_OK);
	const struct scan_page *p = session_page(s, 0);
	uint32_t tw = p->thumb_width, th = p->thumb_height;
	size_t jpeg_bytes = p->facts.bytes;
	uint8_t sha_before[SHA256_BYTES];
	memcpy(sha_before, p->facts.sha256, SHA256_BYTES);
	/* Thumbnail: red mark top left before. */
	assert_true(red_at(p->thumb, (int)tw, 0, 0));

	assert_int_equal(session_page_rotate(s, 0, 1), SESSION_OK);  /* clockwise */
	assert_int_equal(session_page_rotate(s, 1, -1), SESSION_OK); /* anticlockwise */
	assert_int_equal(session_page_rotation(s, 0), 1);
	assert_int_equal(session_page_rotation(s, 1), 3);
	assert_true(session_page(s, 0) != p); /* a new page struct: caches see a change */
	p = session_page(s, 0);
	/* At once: the thumbnail is turned... */
	assert_int_equal(p->thumb_width, th);
	assert_int_equal(p->thumb_height, tw);
	assert_true(red_at(p->thumb, (int)th, (int)th - 1, 0));
	assert_false(red_at(p->thumb, (int)th, 0, 0));
	uint32_t vw, vh;
	assert_true(session_page_size(s, 0, &vw, &vh));
	assert_int_equal(vw, PAGE_H);
	assert_int_equal(vh, PAGE_W);
	assert_false(session_page_size(s, 9, &vw, &vh));
	/* ...the JPEG is left for the commit thread. */
	assert_int_equal(p->facts.width, PAGE_W);
	assert_int_equal(p->facts.bytes, jpeg_bytes);
	assert_memory_equal(p->facts.sha256, sha_before, SHA256_BYTES);
	/* Turns add up: four quarter turns are none. */
	assert_int_equal(session_page_rotate(s, 1, 2), SESSION_OK);
	assert_int_equal(session_page_rotate(s, 1, 2), SESSION_OK);
	assert_int_equal(session_page_rotation(s, 1), 3);

	struct spool_receipt r;
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_OK);
	/* The facts now describe the turned JPEG. */
	p = session_page(s, 0);
	assert_int_equal(session_page_rotation(s, 0), 0);
	assert_true(p->facts.width <= PAGE_H && p->facts.width > PAGE_H - 16);
	assert_true(p->facts.height <= PAGE_W && p->facts.height > PAGE_W - 16);
	uint8_t digest[SHA256_BYTES];
	assert_true(sha256_digest(p->jpeg, p->facts.bytes, digest));
	assert_memory_equal(digest, p->facts.sha256, SHA256_BYTES);

	uint8_t *bufs[2];
	size_t lens[2];
	read_committed(f, r.id, bufs, lens, 2);
	for (int i = 0; i < 2; i++) {
		int w, h;
		uint8_t *rgb = decode(bufs[i], lens[i], &w, &h);
		const struct scan_page *sp = session_page(s, (size_t)i);
		assert_int_equal(w, (int)sp->facts.width);
		assert_int_equal(h, (int)sp->facts.height);
		assert_int_equal(lens[i], sp->facts.bytes);
		assert_memory_equal(bufs[i], sp->jpeg, lens[i]);
		if (i == 0) {
			assert_true(red_at(rgb, w, w - 10, 10));
			assert_true(red_at(rgb, w, w - 25, 35)); /* 30 rows became 30 columns */
			assert_false(red_at(rgb, w, 10, 10));
		} else {
			/* Anticlockwise: the mark is now bottom left. */
			assert_true(red_at(rgb, w, 10, h - 10));
			assert_false(red_at(rgb, w, 10, 10));
		}
		free(rgb);
		free(bufs[i]);
	}
}

/* A page that is not a JPEG cannot be rotated and stays as it was. */
static void test_rotate_junk(void **state)
{
	struct fixture *f = *state;
	struct session *s = f->session;
	struct scan_page *junk = make_page(3);
	memset(junk->jpeg, 0x55, junk->facts.bytes);
	assert_int_equal(session_page_add(s, junk), SESSION_OK);
	assert_int_equal(session_page_rotate(s, 0, 1), SESSION_IMAGE);
	assert_true(session_page(s, 0) == junk);
	assert_int_equal(session_page_rotation(s, 0), 0);
	assert_int_equal(session_page(s, 0)->facts.width, PAGE_W);
}

/* A page of the given kind: grey, or colour with 4:4:4 sampling, with a
 * dark mark at the top left; optionally without a thumbnail. Dimensions are
 * multiples of 8, so a turn is exact. */
static struct scan_page *make_page_kind(bool grey, bool thumb, uint32_t w, uint32_t h)
{
	uint8_t *px = malloc((size_t)w * h * 3);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			uint8_t v = x < 24 && y < 16 ? 20 : (uint8_t)(200 + (x * 3 + y * 5) % 50);
			uint8_t *p = px + ((size_t)y * w + x) * 3;
			p[0] = v;
			p[1] = grey ? v : (uint8_t)(v / 2);
			p[2] = v;
		}
	tjhandle tj = tjInitCompress();
	unsigned char *jpeg = NULL;
	unsigned long size = 0;
	assert_int_equal(tjCompress2(tj, px, (int)w, 0, (int)h, TJPF_RGB, &jpeg, &size,
	                             grey ? TJSAMP_GRAY : TJSAMP_444, 90, 0),
	                 0);
	tjDestroy(tj);
	struct scan_page *page = calloc(1, sizeof(*page));
	page->jpeg = malloc(size);
	memcpy(page->jpeg, jpeg, size);
	tjFree(jpeg);
	if (thumb) {
		page->thumb_width = w / 8;
		page->thumb_height = h / 8;
		page->thumb = malloc((size_t)page->thumb_width * page->thumb_height * 3);
		for (uint32_t y = 0; y < page->thumb_height; y++)
			for (uint32_t x = 0; x < page->thumb_width; x++)
				memcpy(page->thumb + ((size_t)y * page->thumb_width + x) * 3,
				       px + ((size_t)y * 8 * w + x * 8) * 3, 3);
	}
	free(px);
	page->facts.width = w;
	page->facts.height = h;
	page->facts.dpi = 150;
	page->facts.bytes = size;
	assert_true(sha256_digest(page->jpeg, size, page->facts.sha256));
	page->facts.scanned_color = page->facts.stored_color = !grey;
	return page;
}

/* The turned JPEG decodes to the turned pixels of the original: the same
 * coefficients, moved; the integer IDCT rounds rows and columns a little
 * differently, so a sample may differ by a few levels (colour
 * conversion adds to it); a wrong turn puts the dark mark where the paper
 * is light. */
static void assert_turned(const uint8_t *orig, int w, int h, const uint8_t *got, int gw, int gh,
                          int turns)
{
	assert_int_equal(gw, turns % 2 ? h : w);
	assert_int_equal(gh, turns % 2 ? w : h);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int nx = turns == 1 ? h - 1 - y : turns == 2 ? w - 1 - x : y;
			int ny = turns == 1 ? x : turns == 2 ? h - 1 - y : w - 1 - x;
			const uint8_t *a = orig + ((size_t)y * (size_t)w + (size_t)x) * 3;
			const uint8_t *b = got + ((size_t)ny * (size_t)gw + (size_t)nx) * 3;
			for (int c = 0; c < 3; c++)
				if (abs(a[c] - b[c]) > 4)
					fail_msg("pixel %d,%d differs after %d turns: %d vs %d", x,
					         y, turns, a[c], b[c]);
		}
}

/* Grey and 4:4:4 pages and a page without a thumbnail: the commit turns them
 * losslessly and records the right size and SHA-256. */
static void test_rotate_kinds(void **state)
{
	struct fixture *f = *state;
	struct session *s = f->session;
	type_case(s);
	const struct {
		bool grey, thumb;
		int turns;
	} kinds[] = {{true, true, 1}, {false, true, 3}, {true, false, 2}, {false, false, 1}};
	enum { N = sizeof(kinds) / sizeof(kinds[0]) };
	const uint32_t W = 200, H = 296; /* multiples of 8, not of 16 */
	uint8_t *orig[N];
	for (size_t i = 0; i < N; i++) {
		struct scan_page *p = make_page_kind(kinds[i].grey, kinds[i].thumb, W, H);
		int w, h;
		orig[i] = decode(p->jpeg, p->facts.bytes, &w, &h);
		assert_int_equal(session_page_add(s, p), SESSION_OK);
		assert_int_equal(session_page_rotate(s, i, kinds[i].turns), SESSION_OK);
		const struct scan_page *q = session_page(s, i);
		if (kinds[i].thumb)
			assert_int_equal(q->thumb_width, kinds[i].turns % 2 ? H / 8 : W / 8);
		else
			assert_null(q->thumb);
	}
	struct spool_receipt r;
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_OK);
	uint8_t *bufs[N];
	size_t lens[N];
	read_committed(f, r.id, bufs, lens, N);
	for (size_t i = 0; i < N; i++) {
		const struct scan_page *p = session_page(s, i);
		int w, h;
		uint8_t *rgb = decode(bufs[i], lens[i], &w, &h);
		assert_int_equal(p->facts.width, (uint32_t)w);
		assert_int_equal(p->facts.height, (uint32_t)h);
		assert_turned(orig[i], (int)W, (int)H, rgb, w, h, kinds[i].turns);
		uint8_t digest[SHA256_BYTES];
		assert_true(sha256_digest(bufs[i], lens[i], digest));
		assert_memory_equal(digest, p->facts.sha256, SHA256_BYTES);
		free(rgb);
		free(orig[i]);
		free(bufs[i]);
	}
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
	session_wipe(s);
	/* The next customer is told before scanning... */
	assert_false(session_spool_can_accept(f->spool, 1));
	assert_false(session_can_accept(s, f->spool, 1));
	/* ...and a commit that comes anyway is refused, keeping the session. */
	type_case(s);
	assert_int_equal(session_page_add(s, make_page(1)), SESSION_OK);
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_FULL);
	assert_int_equal(session_page_count(s), 1);
	assert_false(session_committed(s));
	assert_false(session_spool_can_accept(NULL, 1));
	assert_false(session_can_accept(s, NULL, 1));
}

struct notify_count {
	atomic_int calls;
};

static void count_notify(void *userdata)
{
	atomic_fetch_add(&((struct notify_count *)userdata)->calls, 1);
}

/* Holds the commit thread until the test opens it. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool entered, open;
};

static struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};

static void handle_gate(void *userdata)
{
	struct gate *g = userdata;
	pthread_mutex_lock(&g->lock);
	g->entered = true;
	pthread_cond_broadcast(&g->cond);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void gate_close(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->entered = g->open = false;
	pthread_mutex_unlock(&g->lock);
}

/* Waits until the commit thread stands at the gate. */
static void gate_wait_entered(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	while (!g->entered)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* Polls until the commit reports (bounded, so a hang fails the test). */
static bool poll_until_done(struct session *s, enum session_commit_result *res,
                            struct spool_receipt *r)
{
	for (int i = 0; i < 60000; i++) {
		if (session_commit_poll(s, res, r))
			return true;
		usleep(1000);
	}
	return false;
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
	assert_int_equal(session_page_rotate(s, 1, 1), SESSION_OK);
	gate_close(&gate);
	session_set_commit_gate(s, handle_gate, &gate);
	assert_int_equal(session_commit_start(s, f->spool, pk, count_notify, &n),
	                 SESSION_COMMIT_OK);
	gate_wait_entered(&gate);
	/* While it runs (held at the gate) the session cannot change, a page
	 * offered is zeroed and freed, and the pages can still be drawn. */
	assert_false(session_commit_poll(s, &res, &r));
	assert_true(session_commit_running(s));
	assert_int_equal(session_page_count(s), 3);
	assert_non_null(session_page(s, 2)->thumb);
	assert_int_equal(session_page_delete(s, 0), SESSION_BUSY);
	assert_int_equal(session_page_rotate(s, 0, 1), SESSION_BUSY);
	assert_int_equal(session_page_move(s, 0, 1), SESSION_BUSY);
	assert_int_equal(session_field_insert(s, SESSION_FIELD_NAME, "x"), SESSION_BUSY);
	assert_int_equal(session_set_category(s, "rent"), SESSION_BUSY);
	assert_int_equal(session_set_language(s, LANGUAGE_DE), SESSION_BUSY);
	assert_int_equal(session_page_add(s, make_page(4)), SESSION_BUSY);
	assert_int_equal(session_page_replace(s, 0, make_page(5)), SESSION_BUSY);
	assert_int_equal(session_commit_start(s, f->spool, pk, NULL, NULL), SESSION_COMMIT_BUSY);
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_BUSY);
	assert_int_equal(atomic_load(&n.calls), 0);
	gate_open(&gate);
	assert_true(poll_until_done(s, &res, &r));
	assert_int_equal(res, SESSION_COMMIT_OK);
	assert_int_equal(atomic_load(&n.calls), 1);
	assert_false(session_commit_running(s));
	assert_false(session_commit_poll(s, &res, &r));   /* reported once */
	assert_int_equal(session_page_rotation(s, 1), 0); /* applied on the thread */
	uint8_t *bufs[3];
	size_t lens[3];
	read_committed(f, r.id, bufs, lens, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(lens[i], session_page(s, i)->facts.bytes);
		assert_memory_equal(bufs[i], session_page(s, i)->jpeg, lens[i]);
		free(bufs[i]);
	}

	/* Committed: the same papers cannot be queued again, nor changed, until
	 * the wipe. */
	assert_true(session_committed(s));
	assert_int_equal(session_commit_start(s, f->spool, pk, count_notify, &n),
	                 SESSION_COMMIT_BUSY);
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_BUSY);
	assert_int_equal(session_page_delete(s, 0), SESSION_BUSY);
	assert_int_equal(session_page_add(s, make_page(6)), SESSION_BUSY);
	assert_int_equal(session_field_clear(s, SESSION_FIELD_NAME), SESSION_BUSY);
	session_wipe(s);
	assert_false(session_committed(s));
	type_case(s);
	assert_int_equal(session_page_add(s, make_page(7)), SESSION_OK);
	session_set_commit_gate(s, NULL, NULL);
}

/* Counts what the session zeroes, from any thread. */
struct zero_count {
	atomic_size_t buffers;
	atomic_size_t nonzero;
};

static void count_zeroed(const void *buf, size_t len, void *userdata)
{
	struct zero_count *z = userdata;
	const uint8_t *b = buf;
	size_t nz = 0;
	for (size_t i = 0; i < len; i++)
		nz += b[i] != 0;
	atomic_fetch_add(&z->buffers, 1);
	atomic_fetch_add(&z->nonzero, nz);
}

static size_t files_in(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Waits (bounded) until no orphaned commit runs any more. */
static void wait_orphans(struct session *s)
{
	for (int i = 0; i < 60000 && session_commit_orphans(s) > 0; i++)
		usleep(1000);
	assert_int_equal(session_commit_orphans(s), 0);
}

/* A wipe during a commit returns at once: the commit thread is held at the
 * gate while the test wipes (a wipe that waited would never return). The
 * commit then completes on its own, zeroes its copy of the customer's data
 * and logs the outcome by submission id. */
static void test_wipe_during_commit(void **state)
{
	struct fixture *f = *state;
	struct session *s = f->session;
	struct notify_count n = {0};
	struct zero_count z = {0};
	type_case(s);
	for (unsigned i = 1; i <= 2; i++)
		assert_int_equal(session_page_add(s, make_page(i)), SESSION_OK);
	gate_close(&gate);
	session_set_commit_gate(s, handle_gate, &gate);
	session_set_wipe_observer(s, count_zeroed, &z);
	assert_int_equal(session_commit_start(s, f->spool, pk, count_notify, &n),
	                 SESSION_COMMIT_OK);
	gate_wait_entered(&gate);

	session_wipe(s);
	assert_false(session_commit_running(s));
	assert_false(session_has_data(s));
	assert_int_equal(session_page_count(s), 0);
	assert_int_equal(session_commit_orphans(s), 1);
	enum session_commit_result res;
	struct spool_receipt r;
	assert_false(session_commit_poll(s, &res, &r));
	/* The session is usable at once by the next customer. */
	assert_int_equal(session_set_language(s, LANGUAGE_AR), SESSION_OK);
	/* Wiped: 3 typed fields, 3 checked values, category; the pages are the
	 * commit's now. */
	size_t wiped = atomic_load(&z.buffers);
	assert_int_equal(wiped, 7);

	char newdir[PATH_MAX + 40];
	snprintf(newdir, sizeof(newdir), "%s/new", f->dir);
	assert_int_equal(files_in(newdir), 0);
	gate_open(&gate);
	wait_orphans(s);
	/* Committed all the same, and its copy zeroed on its thread: 2 pages
	 * (JPEG, thumbnail, struct) and 4 values. */
	assert_int_equal(files_in(newdir), 1);
	assert_int_equal(atomic_load(&z.buffers), wiped + 2 * 3 + 4);
	assert_int_equal(atomic_load(&z.nonzero), 0);
	assert_int_equal(atomic_load(&n.calls), 0); /* nobody to tell */

	session_set_commit_gate(s, NULL, NULL);
	session_set_wipe_observer(s, NULL, NULL);
}

/* A commit that fails after its session was wiped ends as cleanly: its copy
 * is zeroed, the failure logged (without personal data), nothing queued. */
static void test_wipe_during_failing_commit(void **state)
{
	struct fixture *f = *state; /* a spool that holds one submission */
	struct session *s = f->session;
	struct zero_count z = {0};
	type_case(s);
	assert_int_equal(session_page_add(s, make_page(1)), SESSION_OK);
	struct spool_receipt r;
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_OK);
	session_wipe(s);

	type_case(s);
	assert_int_equal(session_page_add(s, make_page(2)), SESSION_OK);
	session_set_wipe_observer(s, count_zeroed, &z);
	/* A rotation lets go of the old thumbnail and page struct, zeroed. */
	assert_int_equal(session_page_rotate(s, 0, 1), SESSION_OK);
	assert_int_equal(atomic_load(&z.buffers), 2);
	gate_close(&gate);
	session_set_commit_gate(s, handle_gate, &gate);
	assert_int_equal(session_commit_start(s, f->spool, pk, NULL, NULL), SESSION_COMMIT_OK);
	gate_wait_entered(&gate);
	session_wipe(s);
	size_t wiped = atomic_load(&z.buffers);
	gate_open(&gate);
	wait_orphans(s);
	char newdir[PATH_MAX + 40];
	snprintf(newdir, sizeof(newdir), "%s/new", f->dir);
	assert_int_equal(files_in(newdir), 1); /* only the first */
	/* 1 page (its turned JPEG too, made before the spool refused) and 4 values. */
	assert_int_equal(atomic_load(&z.buffers), wiped + 1 + 3 + 4);
	assert_int_equal(atomic_load(&z.nonzero), 0);
	session_set_commit_gate(s, NULL, NULL);
	session_set_wipe_observer(s, NULL, NULL);
}

static int setup_small(void **state)
{
	/* Room for about 3 MiB. */
	int rc = setup_limits(state, 0);
	if (rc == 0) {
		struct fixture *f = *state;
		spool_destroy(f->spool);
		struct spool_limits limits = {.max_bytes = 3u * 1024 * 1024, .max_count = 0};
		if (spool_open(f->dir, &limits, &f->spool) != SPOOL_OK)
			return -1;
	}
	return rc;
}

/* The question before scanning counts the pages the session already holds. */
static void test_can_accept_counts_pages(void **state)
{
	struct fixture *f = *state;
	struct session *s = f->session;
	assert_int_equal(session_expected_bytes(s, 1), SESSION_PAGE_ESTIMATE);
	assert_true(session_can_accept(s, f->spool, 1));
	/* A large page (1.5 MiB of JPEG) in the session. */
	struct scan_page *big = make_page(1);
	size_t bytes = 1536u * 1024;
	uint8_t *jpeg = realloc(big->jpeg, bytes);
	assert_non_null(jpeg);
	big->jpeg = jpeg;
	big->facts.bytes = bytes;
	assert_int_equal(session_page_add(s, big), SESSION_OK);
	assert_int_equal(session_expected_bytes(s, 1), bytes + SESSION_PAGE_ESTIMATE);
	assert_int_equal(session_expected_bytes(s, 0), bytes);
	/* The old question, one more page: yes; counting what is there: no. */
	assert_true(session_spool_can_accept(f->spool, 1));
	assert_false(session_can_accept(s, f->spool, 1));
	assert_true(session_can_accept(s, f->spool, 0));
}

/* Waits (bounded) for a fresh answer from the gauge. */
static bool gauge_answer(struct spool_gauge *g, uint64_t bytes)
{
	bool fresh = false, ok = false;
	for (int i = 0; i < 60000 && !fresh; i++) {
		ok = spool_gauge_can_accept(g, bytes, &fresh);
		if (!fresh)
			usleep(1000);
	}
	assert_true(fresh);
	return ok;
}

/* The UI thread reads the spool's answer from a gauge that a thread of its
 * own keeps current; it follows a commit and a change of size. */
static void test_spool_gauge(void **state)
{
	struct fixture *f = *state; /* a spool that holds one submission */
	struct session *s = f->session;
	struct notify_count n = {0};
	struct spool_limits limits = {.max_bytes = 0, .max_count = 1};
	struct spool_gauge *g = spool_gauge_create(f->dir, &limits, 60000, count_notify, &n);
	assert_non_null(g);
	assert_true(gauge_answer(g, session_expected_bytes(s, 1)));
	assert_true(atomic_load(&n.calls) >= 1);

	type_case(s);
	assert_int_equal(session_page_add(s, make_page(1)), SESSION_OK);
	struct spool_receipt r;
	assert_int_equal(session_commit(s, f->spool, pk, &r), SESSION_COMMIT_OK);
	session_wipe(s);
	/* The interval is a minute: the refresh makes the gauge look now. */
	bool fresh = true;
	spool_gauge_refresh(g);
	(void)spool_gauge_can_accept(g, session_expected_bytes(s, 1), &fresh);
	assert_false(gauge_answer(g, session_expected_bytes(s, 1)));
	/* Another size is another question. */
	assert_false(gauge_answer(g, session_expected_bytes(s, 3)));
	spool_gauge_destroy(g);
	spool_gauge_destroy(NULL);

	/* A spool that cannot be opened reads as full. */
	char bad[PATH_MAX + 64];
	snprintf(bad, sizeof(bad), "%s/new/not-a-directory", f->dir);
	FILE *fp = fopen(bad, "w");
	assert_non_null(fp);
	fclose(fp);
	char below[PATH_MAX + 96];
	snprintf(below, sizeof(below), "%s/spool", bad);
	g = spool_gauge_create(below, &limits, 0, NULL, NULL);
	assert_non_null(g);
	assert_false(gauge_answer(g, 1));
	spool_gauge_destroy(g);
	remove(bad);
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
	bool orphan_ok = false, orphan_failed = false;
	while (fgets(line, sizeof(line), fp)) {
		lines++;
		/* The outcomes of commits whose session was wiped, by id only. */
		if (strstr(line, "committed after its session ended"))
			orphan_ok = true;
		if (strstr(line, "was not committed (full) and its session has ended"))
			orphan_failed = true;
		assert_null(strstr(line, "Kanarienvogel"));
		assert_null(strstr(line, "Шевченко"));
		assert_null(strstr(line, CANARY_CASE));
		assert_null(strstr(line, "1977"));
	}
	fclose(fp);
	assert_true(lines > 0); /* commits were logged (by id) */
	assert_true(orphan_ok && orphan_failed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_commit_three_delete_one, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rotate_then_commit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rotate_junk, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rotate_kinds, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_incomplete, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_spool_full, setup_one_slot, teardown),
	        cmocka_unit_test_setup_teardown(test_commit_thread, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_wipe_during_commit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_wipe_during_failing_commit, setup_one_slot,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_can_accept_counts_pages, setup_small,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_spool_gauge, setup_one_slot, teardown),
	        cmocka_unit_test(test_log_has_no_personal_data),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
