/*
 * test_upload_prefetch.c - the uploader's decrypt-ahead thread and the removal
 * of delivered files on a thread, on real containers and a real spool.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "container.h"
#include "log.h"
#include "prefetch.h"
#include "reaper.h"
#include "sha256.h"
#include "spool.h"

#define PAGES 3

static uint8_t pk[CONTAINER_KEY_BYTES], sk[CONTAINER_KEY_BYTES];
/* Sizes that end mid-chunk, on a chunk boundary and below one chunk. */
static const size_t page_sizes[PAGES] = {200000, 131072, 777};
static uint8_t *page_data[PAGES];
static struct container_page pages[PAGES];
static const char test_id[] = "0190f3a4b5c6d7e8f90a1b2c3d4e5f60";

static int group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_box_keypair(pk, sk);
	log_set_level(LOG_LEVEL_ERROR);
	for (size_t i = 0; i < PAGES; i++) {
		page_data[i] = malloc(page_sizes[i]);
		if (!page_data[i])
			return -1;
		randombytes_buf(page_data[i], page_sizes[i]);
		pages[i] = (struct container_page){
		        .jpeg = page_data[i],
		        .bytes = page_sizes[i],
		        .width = 100,
		        .height = 100,
		        .dpi = 150,
		};
		if (!sha256_digest(page_data[i], page_sizes[i], pages[i].sha256))
			return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < PAGES; i++)
		free(page_data[i]);
	return 0;
}

static struct container_submission submission(void)
{
	return (struct container_submission){
	        .case_number = "123A456789",
	        .name = "Test",
	        .birth_date = "1990-02-28",
	        .category = "payslip",
	        .language = "de",
	        .pages = pages,
	        .page_count = PAGES,
	};
}

/* A container in a memfd. */
static int container_fd(void)
{
	int fd = memfd_create("container", MFD_CLOEXEC);
	assert_true(fd >= 0);
	struct container_submission sub = submission();
	assert_int_equal(container_write(fd, test_id, 1700000000, pk, &sub), CONTAINER_OK);
	return fd;
}

static off_t file_size(int fd)
{
	struct stat sb;
	assert_int_equal(fstat(fd, &sb), 0);
	return sb.st_size;
}

struct drained {
	size_t bytes[PAGES];
	bool same; /* every byte equals the page it was read for */
	enum prefetch_status last;
};

/* Reads everything with cap bytes at a time, as curl's callbacks would. */
static struct drained drain(struct prefetch *pf, size_t cap)
{
	struct drained d = {.same = true};
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	for (;;) {
		size_t got = 0, page = 0;
		d.last = prefetch_read(pf, buf, cap, &got, &page);
		if (d.last != PREFETCH_DATA)
			break;
		assert_true(got > 0 && got <= cap);
		assert_true(page < PAGES);
		assert_true(d.bytes[page] + got <= page_sizes[page]);
		if (memcmp(buf, page_data[page] + d.bytes[page], got) != 0)
			d.same = false;
		d.bytes[page] += got;
	}
	free(buf);
	return d;
}

static void test_reads_every_page_in_order(void **state)
{
	(void)state;
	int fd = container_fd();
	struct container_reader *r = NULL;
	assert_int_equal(container_reader_open(fd, pk, sk, &r), CONTAINER_OK);
	struct prefetch *pf = prefetch_create();
	assert_non_null(pf);

	/* Odd read sizes split the chunks anywhere. */
	const size_t caps[] = {1, 1000, 16384, 65536, 300000};
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		assert_true(prefetch_start(pf, r));
		struct drained d = drain(pf, caps[c]);
		assert_int_equal(d.last, PREFETCH_END);
		assert_true(d.same);
		for (size_t i = 0; i < PAGES; i++)
			assert_int_equal(d.bytes[i], page_sizes[i]);
		prefetch_stop(pf);
	}
	prefetch_destroy(pf);
	container_reader_destroy(r);
	close(fd);
}

static void test_restart_midway_starts_over(void **state)
{
	(void)state;
	int fd = container_fd();
	struct container_reader *r = NULL;
	assert_int_equal(container_reader_open(fd, pk, sk, &r), CONTAINER_OK);
	struct prefetch *pf = prefetch_create();
	assert_non_null(pf);

	/* curl rewinds when it must send the body again: part of the first
	 * page was taken, then everything again from the first byte. */
	assert_true(prefetch_start(pf, r));
	uint8_t buf[5000];
	size_t got = 0, page = 0;
	assert_int_equal(prefetch_read(pf, buf, sizeof(buf), &got, &page), PREFETCH_DATA);
	assert_int_equal(page, 0);
	assert_true(prefetch_start(pf, r));
	struct drained d = drain(pf, 65536);
	assert_int_equal(d.last, PREFETCH_END);
	assert_true(d.same);
	for (size_t i = 0; i < PAGES; i++)
		assert_int_equal(d.bytes[i], page_sizes[i]);

	/* Stopped with the ring full, then destroyed: no hang, no leak. */
	assert_true(prefetch_start(pf, r));
	usleep(20000);
	prefetch_stop(pf);
	assert_true(prefetch_start(pf, r));
	prefetch_destroy(pf);
	container_reader_destroy(r);
	close(fd);
}

static void test_read_before_start_fails(void **state)
{
	(void)state;
	struct prefetch *pf = prefetch_create();
	assert_non_null(pf);
	uint8_t buf[16];
	size_t got = 1, page = 0;
	assert_int_equal(prefetch_read(pf, buf, sizeof(buf), &got, &page), PREFETCH_FAILED);
	assert_int_equal(got, 0);
	assert_int_equal(prefetch_failure(pf), CONTAINER_INVALID);
	prefetch_destroy(pf);
	prefetch_destroy(NULL);
}

/* A damaged page: the consumer never receives it whole, nor what follows. */
static void check_damage_stops_short(int fd, size_t damaged, enum container_status want)
{
	struct container_reader *r = NULL;
	assert_int_equal(container_reader_open(fd, pk, sk, &r), CONTAINER_OK);
	struct prefetch *pf = prefetch_create();
	assert_non_null(pf);
	assert_true(prefetch_start(pf, r));
	struct drained d = drain(pf, 65536);
	assert_int_equal(d.last, PREFETCH_FAILED);
	assert_int_equal(prefetch_failure(pf), want);
	assert_true(d.same); /* what did arrive is right */
	size_t total = 0, expected = 0;
	for (size_t i = 0; i < PAGES; i++) {
		total += d.bytes[i];
		expected += page_sizes[i];
	}
	assert_true(total < expected);
	for (size_t i = 0; i < damaged; i++)
		assert_int_equal(d.bytes[i], page_sizes[i]);
	assert_true(d.bytes[damaged] < page_sizes[damaged]);
	for (size_t i = damaged + 1; i < PAGES; i++)
		assert_int_equal(d.bytes[i], 0);
	prefetch_destroy(pf);
	container_reader_destroy(r);
}

static void test_tampered_end_never_completes(void **state)
{
	(void)state;
	int fd = container_fd();
	off_t size = file_size(fd);
	/* A byte of the final chunk's tag. */
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, size - 3), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, size - 3), 1);
	check_damage_stops_short(fd, PAGES - 1, CONTAINER_TAMPERED);
	close(fd);
}

static void test_tampered_page_stops_there(void **state)
{
	(void)state;
	int fd = container_fd();
	/* A byte in the middle of the file: inside the second page's chunks
	 * (the first page is 200000 bytes, the second 131072). */
	off_t at = 200000 + 65536 + 1000;
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, at), 1);
	b ^= 0x01;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	check_damage_stops_short(fd, 1, CONTAINER_TAMPERED);
	close(fd);
}

/* ---- reaper ------------------------------------------------------------------ */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static size_t entries(struct spool *spool, enum spool_state state)
{
	struct spool_entry *list = NULL;
	size_t n = 0;
	assert_int_equal(spool_list(spool, state, &list, &n), SPOOL_OK);
	free(list);
	return n;
}

static void test_reaper_removes_delivered(void **state)
{
	(void)state;
	char tmpl[] = "test_upload_prefetch.XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	struct spool_limits limits = {0};
	struct spool *spool = NULL;
	assert_int_equal(spool_open(tmpl, &limits, &spool), SPOOL_OK);

	enum { N = 40 }; /* more than the reaper's queue holds */
	struct spool_receipt receipts[N];
	struct container_submission sub = submission();
	for (size_t i = 0; i < N; i++)
		assert_int_equal(spool_commit(spool, pk, &sub, &receipts[i]), SPOOL_OK);

	struct reaper *reaper = reaper_create(spool);
	assert_non_null(reaper);
	for (size_t i = 0; i < N; i++) {
		int fd = -1;
		assert_int_equal(spool_claim(spool, receipts[i].id, &fd), SPOOL_OK);
		close(fd);
		reaper_done(reaper, receipts[i].id);
	}
	assert_true(reaper_flush(reaper));
	assert_true(reaper_ok(reaper));
	assert_int_equal(entries(spool, SPOOL_STATE_SENDING), 0);
	assert_int_equal(entries(spool, SPOOL_STATE_NEW), 0);

	/* A removal that fails is reported by the next flush. */
	reaper_done(reaper, receipts[0].id); /* already gone */
	assert_false(reaper_flush(reaper));
	assert_true(reaper_ok(reaper));

	/* Queued at destroy: removed before the thread ends. */
	struct spool_receipt last;
	assert_int_equal(spool_commit(spool, pk, &sub, &last), SPOOL_OK);
	int fd = -1;
	assert_int_equal(spool_claim(spool, last.id, &fd), SPOOL_OK);
	close(fd);
	reaper_done(reaper, last.id);
	reaper_destroy(reaper);
	reaper_destroy(NULL);
	assert_int_equal(entries(spool, SPOOL_STATE_SENDING), 0);

	spool_destroy(spool);
	nftw(tmpl, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_reads_every_page_in_order),
	        cmocka_unit_test(test_restart_midway_starts_over),
	        cmocka_unit_test(test_read_before_start_fails),
	        cmocka_unit_test(test_tampered_end_never_completes),
	        cmocka_unit_test(test_tampered_page_stops_there),
	        cmocka_unit_test(test_reaper_removes_delivered),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
