/*
 * test_container.c - the submission container (kiosk/core/container.[ch]).
 *
 * Containers are written to memfds (nothing lands in /tmp); key files go to a
 * scratch directory made in the current directory (the build tree under meson).
 * One test encodes a real page from $SCANKIOSK_PAGES_DIR as JPEG and is skipped
 * when that is not set.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create, memmem, mkdtemp; meson passes it already */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <png.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "container.h"
#include "log.h"
#include "sha256.h"

#define CANARY_NAME "Zyxwvuta Canarienvogel"
#define CANARY_CASE "962D123456"

static char workdir[PATH_MAX];
static uint8_t pk[CONTAINER_KEY_BYTES], sk[CONTAINER_KEY_BYTES];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	char tmpl[] = "test_container.XXXXXX";
	if (!mkdtemp(tmpl) || !realpath(tmpl, workdir))
		return -1;
	if (sodium_init() < 0)
		return -1;
	crypto_box_keypair(pk, sk);
	log_set_level(getenv("TEST_CONTAINER_VERBOSE") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (workdir[0])
		nftw(workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- helpers ---------------------------------------------------------------- */

struct bytes {
	uint8_t *data;
	size_t len;
};

static int memfd(void)
{
	int fd = memfd_create("container", MFD_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static int memfd_with(const uint8_t *data, size_t len)
{
	int fd = memfd();
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	return fd;
}

static struct bytes slurp_fd(int fd)
{
	struct stat sb;
	assert_int_equal(fstat(fd, &sb), 0);
	struct bytes b = {malloc((size_t)sb.st_size + 1), (size_t)sb.st_size};
	assert_non_null(b.data);
	assert_int_equal(pread(fd, b.data, b.len, 0), (ssize_t)b.len);
	return b;
}

static void fill_page(struct container_page *pg, uint8_t *data, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		data[i] = (uint8_t)(seed >> 16);
	}
	memset(pg, 0, sizeof(*pg));
	pg->jpeg = data;
	pg->bytes = len;
	pg->width = 2480;
	pg->height = 3508;
	pg->dpi = 300;
	pg->color = len % 2;
	pg->blank_score = 0.125;
	assert_true(sha256_digest(data, len, pg->sha256));
}

static struct container_submission submission(const struct container_page *pages, size_t n)
{
	struct container_submission sub = {
	        .case_number = CANARY_CASE,
	        .name = CANARY_NAME,
	        .birth_date = "1990-02-28",
	        .category = "payslip",
	        .language = "uk",
	        .pages = pages,
	        .page_count = n,
	};
	return sub;
}

static const char test_id[] = "0190f3a4b5c6d7e8f90a1b2c3d4e5f60";

static int write_sub(const struct container_submission *sub)
{
	int fd = memfd();
	assert_int_equal(container_write(fd, test_id, 1700000000, pk, sub), CONTAINER_OK);
	return fd;
}

/* A small container of two short pages: cheap enough to flip every byte. */
static struct bytes small_container(void)
{
	static uint8_t a[300], b[1];
	struct container_page pages[2];
	fill_page(&pages[0], a, sizeof(a), 1);
	fill_page(&pages[1], b, sizeof(b), 2);
	struct container_submission sub = submission(pages, 2);
	int fd = write_sub(&sub);
	struct bytes out = slurp_fd(fd);
	close(fd);
	return out;
}

static enum container_status verify_bytes(const uint8_t *data, size_t len)
{
	int fd = memfd_with(data, len);
	enum container_status st = container_verify(fd, pk, sk);
	close(fd);
	return st;
}

/* Reads every page back through the reader with reads of at most cap bytes. */
static void read_back(struct container_reader *r, const struct container_page *pages, size_t n,
                      size_t cap)
{
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	size_t page = 0, pos = 0, last_page = 0;
	for (;;) {
		size_t got = 99, idx = 99;
		assert_int_equal(container_reader_read(r, buf, cap, &got, &idx), CONTAINER_OK);
		if (got == 0)
			break;
		assert_true(got <= cap);
		assert_true(idx < n);
		assert_true(idx >= last_page);
		if (idx != page) {
			assert_int_equal(pos, pages[page].bytes); /* the previous page is whole */
			assert_int_equal(idx, page + 1);
			page = idx;
			pos = 0;
		}
		assert_true(pos + got <= pages[page].bytes); /* never spans two pages */
		assert_memory_equal(buf, pages[page].jpeg + pos, got);
		pos += got;
		last_page = idx;
	}
	if (n) {
		assert_int_equal(page, n - 1);
		assert_int_equal(pos, pages[n - 1].bytes);
	}
	/* The end stays the end. */
	size_t got = 1, idx = 0;
	assert_int_equal(container_reader_read(r, buf, cap, &got, &idx), CONTAINER_OK);
	assert_int_equal(got, 0);
	free(buf);
}

/* Loads a PNG from the shared pages and encodes it as a JPEG. */
static bool real_jpeg(const char *file, uint8_t **jpeg, size_t *len, uint32_t *w, uint32_t *h)
{
	const char *dir = getenv("SCANKIOSK_PAGES_DIR");
	if (!dir)
		return false;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	png_image img;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&img, path))
		return false;
	img.format = PNG_FORMAT_GRAY;
	uint8_t *pixels = malloc(PNG_IMAGE_SIZE(img));
	assert_non_null(pixels);
	assert_true(png_image_finish_read(&img, NULL, pixels, 0, NULL));
	tjhandle tj = tjInitCompress();
	assert_non_null(tj);
	unsigned char *out = NULL;
	unsigned long out_len = 0;
	assert_int_equal(tjCompress2(tj, pixels, (int)img.width, 0, (int)img.height, TJPF_GRAY,
	                             &out, &out_len, TJSAMP_GRAY, 80, 0),
	                 0);
	*jpeg = malloc(out_len);
	assert_non_null(*jpeg);
	memcpy(*jpeg, out, out_len);
	*len = out_len;
	*w = img.width;
	*h = img.height;
	tjFree(out);
	tjDestroy(tj);
	free(pixels);
	return true;
}

/* ---- round trips ------------------------------------------------------------- */

static void check_metadata(struct container_reader *r, const struct container_page *pages, size_t n)
{
	size_t len = 0;
	const char *meta = container_reader_metadata(r, &len);
	assert_non_null(meta);
	assert_int_equal(strlen(meta), len);
	cJSON *root = cJSON_ParseWithLength(meta, len);
	assert_non_null(root);
	char reference[CONTAINER_REFERENCE_LEN];
	container_reference(test_id, reference);
	assert_int_equal(cJSON_GetObjectItem(root, "version")->valueint, 1);
	assert_string_equal(cJSON_GetObjectItem(root, "submission_id")->valuestring, test_id);
	assert_string_equal(cJSON_GetObjectItem(root, "receipt")->valuestring, reference);
	assert_string_equal(cJSON_GetObjectItem(root, "created")->valuestring,
	                    "2023-11-14T22:13:20Z");
	assert_string_equal(cJSON_GetObjectItem(root, "case_number")->valuestring, CANARY_CASE);
	assert_string_equal(cJSON_GetObjectItem(root, "name")->valuestring, CANARY_NAME);
	assert_string_equal(cJSON_GetObjectItem(root, "birth_date")->valuestring, "1990-02-28");
	assert_string_equal(cJSON_GetObjectItem(root, "category")->valuestring, "payslip");
	assert_string_equal(cJSON_GetObjectItem(root, "language")->valuestring, "uk");
	const cJSON *arr = cJSON_GetObjectItem(root, "pages");
	assert_int_equal(cJSON_GetArraySize(arr), n);
	for (size_t i = 0; i < n; i++) {
		const cJSON *pg = cJSON_GetArrayItem(arr, (int)i);
		char part[16], hex[SHA256_HEX_BYTES];
		snprintf(part, sizeof(part), "page-%03zu", i + 1);
		sha256_hex(pages[i].sha256, hex);
		assert_string_equal(cJSON_GetObjectItem(pg, "part")->valuestring, part);
		assert_string_equal(cJSON_GetObjectItem(pg, "sha256")->valuestring, hex);
		assert_true(cJSON_GetObjectItem(pg, "bytes")->valuedouble ==
		            (double)pages[i].bytes);
		assert_int_equal(cJSON_GetObjectItem(pg, "width")->valueint, pages[i].width);
		assert_int_equal(cJSON_GetObjectItem(pg, "height")->valueint, pages[i].height);
		assert_int_equal(cJSON_GetObjectItem(pg, "dpi")->valueint, pages[i].dpi);
		assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(pg, "color")), pages[i].color);
		assert_true(cJSON_GetObjectItem(pg, "blank_score")->valuedouble ==
		            pages[i].blank_score);
		const struct container_page_info *info = container_reader_page(r, i);
		assert_non_null(info);
		assert_int_equal(info->bytes, pages[i].bytes);
		assert_memory_equal(info->sha256, pages[i].sha256, SHA256_BYTES);
	}
	assert_null(container_reader_page(r, n));
	cJSON_Delete(root);
}

static void round_trip(const struct container_page *pages, size_t n)
{
	struct container_submission sub = submission(pages, n);
	int fd = write_sub(&sub);
	struct stat sb;
	assert_int_equal(fstat(fd, &sb), 0);

	struct container_header h;
	assert_int_equal(container_read_header(fd, &h), CONTAINER_OK);
	assert_int_equal(h.version, CONTAINER_VERSION);
	assert_string_equal(h.id, test_id);
	assert_int_equal(h.created, 1700000000);
	assert_int_equal(h.page_count, n);
	assert_int_equal(h.file_bytes, (uint64_t)sb.st_size);
	uint64_t plain = 0;
	for (size_t i = 0; i < n; i++)
		plain += pages[i].bytes;
	assert_true(h.plain_bytes > plain); /* plus the metadata */

	struct container_reader *r = NULL;
	assert_int_equal(container_reader_open(fd, pk, sk, &r), CONTAINER_OK);
	assert_non_null(r);
	assert_memory_equal(container_reader_header(r), &h, sizeof(h));
	assert_int_equal(container_reader_page_count(r), n);
	check_metadata(r, pages, n);
	static const size_t caps[] = {65536, 7, 1000, 200000, 1};
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (caps[i] == 1 && plain > 100000)
			continue; /* byte-by-byte only on small containers */
		read_back(r, pages, n, caps[i]);
		assert_int_equal(container_reader_rewind(r), CONTAINER_OK);
	}
	/* Rewind in the middle of a page. */
	if (n) {
		uint8_t buf[10];
		size_t got, idx;
		assert_int_equal(container_reader_read(r, buf, sizeof(buf), &got, &idx),
		                 CONTAINER_OK);
		assert_int_equal(container_reader_rewind(r), CONTAINER_OK);
		read_back(r, pages, n, 4096);
	}
	container_reader_destroy(r);
	assert_int_equal(container_verify(fd, pk, sk), CONTAINER_OK);
	close(fd);
}

static void test_round_trip(void **state)
{
	(void)state;
	size_t sizes[] = {200000, 65536, 65537, 1, 131072, 3};
	struct container_page pages[6];
	uint8_t *data[6];
	for (size_t i = 0; i < 6; i++) {
		data[i] = malloc(sizes[i]);
		assert_non_null(data[i]);
		fill_page(&pages[i], data[i], sizes[i], (uint32_t)i + 7);
	}
	round_trip(pages, 6);
	round_trip(pages + 3, 1); /* a single 1-byte page */
	for (size_t i = 0; i < 6; i++)
		free(data[i]);
}

static void test_zero_pages(void **state)
{
	(void)state;
	round_trip(NULL, 0);
}

static void test_real_jpeg(void **state)
{
	(void)state;
	uint8_t *jpeg = NULL;
	size_t len = 0;
	uint32_t w, h;
	if (!real_jpeg("s08_receipt_a6.png", &jpeg, &len, &w, &h))
		skip();
	assert_true(len > 3 && jpeg[0] == 0xff && jpeg[1] == 0xd8 && jpeg[2] == 0xff);
	static uint8_t tail[2];
	struct container_page pages[2];
	fill_page(&pages[0], jpeg, len, 0);
	pages[0].width = w;
	pages[0].height = h;
	pages[0].color = false;
	pages[0].blank_score = 0.93;
	fill_page(&pages[1], tail, sizeof(tail), 3);
	round_trip(pages, 2);

	/* No page byte, name or case number in the clear anywhere in the file. */
	struct container_submission sub = submission(pages, 2);
	int fd = write_sub(&sub);
	struct bytes file = slurp_fd(fd);
	/* The page's first 16 bytes (its SOI and first marker segment): a bare
	 * FF D8 FF turns up in 270 KB of ciphertext about one time in 60. */
	assert_null(memmem(file.data, file.len, jpeg, 16));
	assert_null(memmem(file.data, file.len, CANARY_NAME, strlen(CANARY_NAME)));
	assert_null(memmem(file.data, file.len, "Canarienvogel", 13));
	assert_null(memmem(file.data, file.len, CANARY_CASE, strlen(CANARY_CASE)));
	assert_null(memmem(file.data, file.len, "payslip", 7));
	assert_null(memmem(file.data, file.len, jpeg + len / 2, 16));
	free(file.data);
	close(fd);
	free(jpeg);
}

/* ---- failures ------------------------------------------------------------------ */

static void test_wrong_key(void **state)
{
	(void)state;
	struct bytes c = small_container();
	uint8_t pk2[CONTAINER_KEY_BYTES], sk2[CONTAINER_KEY_BYTES];
	crypto_box_keypair(pk2, sk2);
	int fd = memfd_with(c.data, c.len);
	struct container_reader *r = (struct container_reader *)1;
	assert_int_equal(container_reader_open(fd, pk2, sk2, &r), CONTAINER_TAMPERED);
	assert_null(r);
	assert_int_equal(container_verify(fd, pk2, sk2), CONTAINER_TAMPERED);
	/* The right secret key with a wrong public key fails too. */
	assert_int_equal(container_verify(fd, pk2, sk), CONTAINER_TAMPERED);
	assert_int_equal(container_verify(fd, pk, sk), CONTAINER_OK);
	close(fd);
	free(c.data);
}

static void test_every_byte_flip(void **state)
{
	(void)state;
	struct bytes c = small_container();
	assert_true(c.len > 164 && c.len < 4096);
	static const uint8_t masks[] = {0x01, 0x80, 0xff};
	for (size_t off = 0; off < c.len; off++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			/* Bit 7 of the 0xff flip only for the header: enough for the body. */
			if (off >= 164 && m != 0)
				continue;
			c.data[off] ^= masks[m];
			enum container_status st = verify_bytes(c.data, c.len);
			if (st == CONTAINER_OK)
				fail_msg("flip 0x%02x at offset %zu went unnoticed", masks[m], off);
			c.data[off] ^= masks[m];
		}
	}
	assert_int_equal(verify_bytes(c.data, c.len), CONTAINER_OK);
	free(c.data);
}

static void test_body_flips_large(void **state)
{
	(void)state;
	size_t len = 150000;
	uint8_t *data = malloc(len);
	assert_non_null(data);
	struct container_page pg;
	fill_page(&pg, data, len, 42);
	struct container_submission sub = submission(&pg, 1);
	int fd = write_sub(&sub);
	struct bytes c = slurp_fd(fd);
	close(fd);
	/* A sample across the body, and every frame-length byte of the chunks. */
	for (size_t off = 164; off < c.len; off += 997) {
		c.data[off] ^= 0x20;
		assert_int_not_equal(verify_bytes(c.data, c.len), CONTAINER_OK);
		c.data[off] ^= 0x20;
	}
	assert_int_equal(verify_bytes(c.data, c.len), CONTAINER_OK);
	free(c.data);
	free(data);
}

static void test_truncation(void **state)
{
	(void)state;
	struct bytes c = small_container();
	for (size_t len = 0; len < c.len; len++) {
		int fd = memfd_with(c.data, len);
		struct container_header h;
		enum container_status hs = container_read_header(fd, &h);
		enum container_status st = container_verify(fd, pk, sk);
		if (st != CONTAINER_TRUNCATED && st != CONTAINER_TAMPERED)
			fail_msg("cut at %zu of %zu: %s", len, c.len, container_strerror(st));
		assert_int_not_equal(hs, CONTAINER_OK);
		close(fd);
	}
	/* One byte more is caught as well. */
	uint8_t *longer = malloc(c.len + 1);
	assert_non_null(longer);
	memcpy(longer, c.data, c.len);
	longer[c.len] = 0;
	assert_int_equal(verify_bytes(longer, c.len + 1), CONTAINER_TAMPERED);
	free(longer);

	/* A cut whose header size was patched to match fails authentication. */
	size_t cut = c.len - 21; /* without the final chunk */
	uint8_t *patched = malloc(cut);
	assert_non_null(patched);
	memcpy(patched, c.data, cut);
	uint64_t size = cut;
	for (int i = 0; i < 8; i++)
		patched[48 + i] = (uint8_t)(size >> (8 * i));
	enum container_status st = verify_bytes(patched, cut);
	assert_true(st == CONTAINER_TAMPERED || st == CONTAINER_TRUNCATED);
	free(patched);
	free(c.data);
}

static void test_versions_and_magic(void **state)
{
	(void)state;
	struct bytes c = small_container();
	struct container_header h;
	struct container_reader *r = NULL;

	c.data[8] = 2; /* version 2 */
	int fd = memfd_with(c.data, c.len);
	assert_int_equal(container_read_header(fd, &h), CONTAINER_BAD_VERSION);
	assert_int_equal(container_reader_open(fd, pk, sk, &r), CONTAINER_BAD_VERSION);
	assert_null(r);
	close(fd);
	/* An unknown version is reported as such even when its header is short. */
	fd = memfd_with(c.data, 12);
	assert_int_equal(container_read_header(fd, &h), CONTAINER_BAD_VERSION);
	close(fd);
	c.data[8] = 1;

	c.data[0] = 'X';
	fd = memfd_with(c.data, c.len);
	assert_int_equal(container_read_header(fd, &h), CONTAINER_NOT_CONTAINER);
	assert_int_equal(container_verify(fd, pk, sk), CONTAINER_NOT_CONTAINER);
	close(fd);

	static const char text[] = "%PDF-1.7 not a container at all";
	fd = memfd_with((const uint8_t *)text, sizeof(text));
	assert_int_equal(container_read_header(fd, &h), CONTAINER_NOT_CONTAINER);
	close(fd);
	fd = memfd();
	assert_int_equal(container_read_header(fd, &h), CONTAINER_TRUNCATED); /* empty */
	close(fd);
	free(c.data);
}

static void test_write_errors(void **state)
{
	(void)state;
	static uint8_t data[100];
	struct container_page pg;
	fill_page(&pg, data, sizeof(data), 5);
	struct container_submission sub = submission(&pg, 1);

	int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (full >= 0) {
		assert_int_equal(container_write(full, test_id, 1, pk, &sub), CONTAINER_NO_SPACE);
		close(full);
	}
	int fd = memfd();
	assert_int_equal(container_write(fd, "not-an-id", 1, pk, &sub), CONTAINER_INVALID);
	assert_int_equal(container_write(fd, "0190F3A4B5C6D7E8F90A1B2C3D4E5F60", 1, pk, &sub),
	                 CONTAINER_INVALID);
	assert_int_equal(container_write(fd, test_id, -1, pk, &sub), CONTAINER_INVALID);
	assert_int_equal(container_write(-1, test_id, 1, pk, &sub), CONTAINER_INVALID);
	assert_int_equal(container_write(fd, test_id, 1, pk, NULL), CONTAINER_INVALID);

	struct container_submission bad = sub;
	bad.name = NULL;
	assert_int_equal(container_write(fd, test_id, 1, pk, &bad), CONTAINER_INVALID);
	bad = sub;
	bad.name = "\xff\xfe not UTF-8";
	assert_int_equal(container_write(fd, test_id, 1, pk, &bad), CONTAINER_INVALID);
	bad = sub;
	bad.page_count = CONTAINER_MAX_PAGES + 1;
	assert_int_equal(container_write(fd, test_id, 1, pk, &bad), CONTAINER_INVALID);

	struct container_page p2 = pg;
	p2.bytes = 0;
	bad = sub;
	bad.pages = &p2;
	assert_int_equal(container_write(fd, test_id, 1, pk, &bad), CONTAINER_INVALID);
	p2 = pg;
	p2.sha256[0] ^= 1; /* the digest does not match the bytes */
	assert_int_equal(container_write(fd, test_id, 1, pk, &bad), CONTAINER_INVALID);
	p2 = pg;
	p2.bytes = (size_t)CONTAINER_MAX_PAGE_SIZE + 1;
	assert_int_equal(container_write(fd, test_id, 1, pk, &bad), CONTAINER_INVALID);
	close(fd);
}

static void test_reader_arguments(void **state)
{
	(void)state;
	struct bytes c = small_container();
	int fd = memfd_with(c.data, c.len);
	struct container_reader *r = NULL;
	assert_int_equal(container_reader_open(-1, pk, sk, &r), CONTAINER_INVALID);
	assert_int_equal(container_reader_open(fd, NULL, sk, &r), CONTAINER_INVALID);
	assert_int_equal(container_reader_open(fd, pk, sk, &r), CONTAINER_OK);
	uint8_t buf[4];
	size_t got, idx;
	assert_int_equal(container_reader_read(r, buf, 0, &got, &idx), CONTAINER_INVALID);
	assert_int_equal(container_reader_read(r, NULL, 4, &got, &idx), CONTAINER_INVALID);
	container_reader_destroy(r);
	container_reader_destroy(NULL);
	assert_null(container_reader_header(NULL));
	assert_int_equal(container_reader_page_count(NULL), 0);
	for (int s = 0; s <= CONTAINER_STATUS_LAST; s++)
		assert_non_null(container_strerror((enum container_status)s));
	close(fd);
	free(c.data);
}

/* The reader of a file that is cut after it was opened reports it at the cut. */
static void test_cut_while_reading(void **state)
{
	(void)state;
	size_t len = 200000;
	uint8_t *data = malloc(len);
	assert_non_null(data);
	struct container_page pg;
	fill_page(&pg, data, len, 9);
	struct container_submission sub = submission(&pg, 1);
	int fd = write_sub(&sub);
	struct container_reader *r = NULL;
	assert_int_equal(container_reader_open(fd, pk, sk, &r), CONTAINER_OK);
	struct stat sb;
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(ftruncate(fd, sb.st_size - 30000), 0);
	uint8_t buf[65536];
	enum container_status st;
	size_t got, idx;
	do
		st = container_reader_read(r, buf, sizeof(buf), &got, &idx);
	while (st == CONTAINER_OK && got);
	assert_true(st == CONTAINER_TRUNCATED || st == CONTAINER_TAMPERED);
	/* The error sticks. */
	assert_int_equal(container_reader_read(r, buf, sizeof(buf), &got, &idx), st);
	container_reader_destroy(r);
	close(fd);
	free(data);
}

/* ---- ids, references, keys --------------------------------------------------- */

static void test_ids(void **state)
{
	(void)state;
	char a[CONTAINER_ID_HEX], b[CONTAINER_ID_HEX];
	container_new_id(a);
	usleep(3000);
	container_new_id(b);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(strspn(a, "0123456789abcdef"), 32);
	assert_true(strcmp(a, b) < 0); /* commit order */
}

static void test_reference(void **state)
{
	(void)state;
	char ref[CONTAINER_REFERENCE_LEN];
	/* Known answers: Crockford base32 of the first 60 bits of SHA-256(id). */
	container_reference("00000000000000000000000000000000", ref);
	assert_string_equal(ref, "GKGC-1TQT-N5D3");
	container_reference("0123456789abcdef0123456789abcdef", ref);
	assert_string_equal(ref, "7TRV-TGWS-8ZNQ");
	for (int i = 0; i < 200; i++) {
		char id[CONTAINER_ID_HEX];
		container_new_id(id);
		container_reference(id, ref);
		assert_int_equal(strlen(ref), CONTAINER_REFERENCE_LEN - 1);
		for (int k = 0; k < 14; k++) {
			if (k == 4 || k == 9)
				assert_int_equal(ref[k], '-');
			else
				assert_non_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", ref[k]));
		}
		char again[CONTAINER_REFERENCE_LEN];
		container_reference(id, again);
		assert_string_equal(ref, again);
	}
}

static void path_in(char *buf, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", workdir, name);
	assert_true(n > 0 && n < PATH_MAX);
}

static void test_keygen(void **state)
{
	(void)state;
	char pub[PATH_MAX], sec[PATH_MAX];
	path_in(pub, "upload.pub");
	path_in(sec, "upload.key");
	mode_t old = umask(0);
	assert_int_equal(container_keygen(pub, sec), CONTAINER_OK);
	umask(old);
	struct stat sb;
	assert_int_equal(stat(sec, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(pub, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);

	uint8_t p[CONTAINER_KEY_BYTES], s[CONTAINER_KEY_BYTES], d[CONTAINER_KEY_BYTES];
	assert_int_equal(container_load_key(pub, p), CONTAINER_OK);
	assert_int_equal(container_load_key(sec, s), CONTAINER_OK);
	container_public_from_secret(s, d);
	assert_memory_equal(p, d, sizeof(p));

	/* The pair works. */
	static uint8_t data[10];
	struct container_page pg;
	fill_page(&pg, data, sizeof(data), 1);
	struct container_submission sub = submission(&pg, 1);
	int fd = memfd();
	assert_int_equal(container_write(fd, test_id, 5, p, &sub), CONTAINER_OK);
	assert_int_equal(container_verify(fd, p, s), CONTAINER_OK);
	close(fd);

	/* A second keygen refuses and changes nothing. */
	char pub2[PATH_MAX];
	path_in(pub2, "other.pub");
	assert_int_equal(container_keygen(pub2, sec), CONTAINER_INVALID);
	assert_int_equal(container_load_key(sec, d), CONTAINER_OK);
	assert_memory_equal(s, d, sizeof(s));
	assert_int_not_equal(access(pub2, F_OK), 0);

	/* No temporary files are left beside the keys. */
	DIR *dir = opendir(workdir);
	assert_non_null(dir);
	struct dirent *de;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, "upload.pub") != 0 &&
		    strcmp(de->d_name, "upload.key") != 0)
			fail_msg("keygen left %s behind", de->d_name);
	closedir(dir);
	assert_int_equal(unlink(pub), 0);
	assert_int_equal(unlink(sec), 0);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_load_key_errors(void **state)
{
	(void)state;
	char path[PATH_MAX];
	uint8_t key[CONTAINER_KEY_BYTES];
	path_in(path, "missing.key");
	assert_int_equal(container_load_key(path, key), CONTAINER_IO);

	path_in(path, "k");
	static const char good[] =
	        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	write_text(path, good);
	assert_int_equal(container_load_key(path, key), CONTAINER_OK);
	for (int i = 0; i < 32; i++)
		assert_int_equal(key[i], i);
	char text[200];
	snprintf(text, sizeof(text), "%s\n", good);
	write_text(path, text);
	assert_int_equal(container_load_key(path, key), CONTAINER_OK);
	snprintf(text, sizeof(text), "%s\r\n", good);
	write_text(path, text);
	assert_int_equal(container_load_key(path, key), CONTAINER_OK);

	static const char *const bad[] = {
	        "",
	        "\n",
	        "0001020304",
	        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n",
	        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0\n",
	        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n",
	        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\nxx\n",
	        " 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text(path, bad[i]);
		if (container_load_key(path, key) != CONTAINER_INVALID)
			fail_msg("key file %zu was accepted", i);
	}
	assert_int_equal(unlink(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_round_trip),        cmocka_unit_test(test_zero_pages),
	        cmocka_unit_test(test_real_jpeg),         cmocka_unit_test(test_wrong_key),
	        cmocka_unit_test(test_every_byte_flip),   cmocka_unit_test(test_body_flips_large),
	        cmocka_unit_test(test_truncation),        cmocka_unit_test(test_versions_and_magic),
	        cmocka_unit_test(test_write_errors),      cmocka_unit_test(test_reader_arguments),
	        cmocka_unit_test(test_cut_while_reading), cmocka_unit_test(test_ids),
	        cmocka_unit_test(test_reference),         cmocka_unit_test(test_keygen),
	        cmocka_unit_test(test_load_key_errors),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
