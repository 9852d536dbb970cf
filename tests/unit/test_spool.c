/*
 * test_spool.c - the offline queue (kiosk/core/spool.[ch]).
 *
 * Each test gets a fresh spool in a scratch directory made in the current
 * directory (the build tree under meson), never in /tmp. stderr (the log and
 * cmocka's failure messages) goes to a file there, which the last test searches
 * for personal data and which is copied back to stderr at the end.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, memmem; meson passes it already */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "log.h"
#include "sha256.h"
#include "spool.h"

#define CANARY_NAME "Oksana Kanarienvogel"
#define CANARY_CASE "123D987654"

static char workdir[PATH_MAX], logpath[PATH_MAX + 8];
static uint8_t pk[CONTAINER_KEY_BYTES], sk[CONTAINER_KEY_BYTES];
static int saved_stderr = -1;
static unsigned spool_serial;

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	char tmpl[] = "test_spool.XXXXXX";
	if (!mkdtemp(tmpl) || !realpath(tmpl, workdir))
		return -1;
	if (sodium_init() < 0)
		return -1;
	crypto_box_keypair(pk, sk);
	/* The umask must not decide the modes: the spool sets them. */
	umask(077);
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
	if (saved_stderr >= 0) {
		fflush(stderr);
		dup2(saved_stderr, 2);
		close(saved_stderr);
		/* The log (and cmocka's failure messages) for the test log. */
		FILE *log = fopen(logpath, "r");
		char line[1024];
		while (log && fgets(line, sizeof(line), log))
			fputs(line, stderr);
		if (log)
			fclose(log);
	}
	if (workdir[0] && !getenv("TEST_SPOOL_KEEP"))
		nftw(workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

struct fixture {
	char dir[PATH_MAX + 32];
	struct spool *spool;
	uint8_t page[3000];
	struct container_page pages[2];
	struct container_submission sub;
};

static void fill_page(struct container_page *pg, uint8_t *data, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		data[i] = (uint8_t)(seed >> 16);
	}
	memset(pg, 0, sizeof(*pg));
	pg->jpeg = data;
	pg->bytes = len;
	pg->width = 100;
	pg->height = 141;
	pg->dpi = 300;
	assert_true(sha256_digest(data, len, pg->sha256));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/spool%u", workdir, spool_serial++);
	if (spool_open(f->dir, NULL, &f->spool) != SPOOL_OK)
		return -1;
	fill_page(&f->pages[0], f->page, 2000, 1);
	fill_page(&f->pages[1], f->page + 2000, 1000, 2);
	f->sub = (struct container_submission){
	        .case_number = CANARY_CASE,
	        .name = CANARY_NAME,
	        .birth_date = "1985-07-01",
	        .category = "rent",
	        .language = "de",
	        .pages = f->pages,
	        .page_count = 2,
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	spool_destroy(f->spool);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------------ */

static void path_of(const struct fixture *f, char *buf, const char *sub, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s%s%s", f->dir, sub, name ? "/" : "",
	                 name ? name : "");
	assert_true(n > 0 && n < PATH_MAX);
}

/* Names in a spool directory, sorted into one string "a,b," (fewer than 8). */
static size_t names_in(const struct fixture *f, const char *sub, char *out, size_t size)
{
	char path[PATH_MAX];
	path_of(f, path, sub, NULL);
	struct dirent **list = NULL;
	int n = scandir(path, &list, NULL, alphasort);
	assert_true(n >= 0);
	size_t count = 0;
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.' || strlen(list[i]->d_name) > 2) {
			if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, "..")) {
				strncat(out, list[i]->d_name, size - strlen(out) - 1);
				strncat(out, ",", size - strlen(out) - 1);
				count++;
			}
		}
		free(list[i]);
	}
	free(list);
	return count;
}

static size_t count_in(const struct fixture *f, const char *sub)
{
	char buf[4096];
	return names_in(f, sub, buf, sizeof(buf));
}

static struct spool_receipt commit(struct fixture *f)
{
	struct spool_receipt r;
	assert_int_equal(spool_commit(f->spool, pk, &f->sub, &r), SPOOL_OK);
	return r;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static size_t list_count(struct fixture *f, enum spool_state s, struct spool_entry **out)
{
	struct spool_entry *e = NULL;
	size_t n = 99;
	assert_int_equal(spool_list(f->spool, s, &e, &n), SPOOL_OK);
	if (out)
		*out = e;
	else
		free(e);
	return n;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_open_layout(void **state)
{
	struct fixture *f = *state;
	static const char *const dirs[] = {"tmp",    "new",        "sending",
	                                   "failed", "quarantine", "state"};
	for (size_t i = 0; i < 6; i++) {
		char path[PATH_MAX];
		struct stat sb;
		path_of(f, path, dirs[i], NULL);
		assert_int_equal(stat(path, &sb), 0);
		assert_true(S_ISDIR(sb.st_mode));
		assert_int_equal(sb.st_mode & 07777, 0770);
	}
	struct stat sb;
	assert_int_equal(stat(f->dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0770);
	char path[PATH_MAX];
	path_of(f, path, "new", NULL);
	assert_string_equal(spool_dir(f->spool, SPOOL_STATE_NEW), path);
	assert_null(spool_dir(f->spool, SPOOL_STATE_LAST));
	assert_string_equal(spool_state_name(SPOOL_STATE_QUARANTINE), "quarantine");
	for (int s = 0; s <= SPOOL_STATUS_LAST; s++)
		assert_non_null(spool_strerror((enum spool_status)s));

	/* Opening again works on the existing layout. */
	struct spool *again = NULL;
	assert_int_equal(spool_open(f->dir, NULL, &again), SPOOL_OK);
	spool_destroy(again);
	spool_destroy(NULL);
	assert_int_equal(spool_open("", NULL, &again), SPOOL_INVALID);
	assert_null(again);
}

static void test_commit(void **state)
{
	struct fixture *f = *state;
	struct spool_receipt r = commit(f);
	assert_int_equal(strlen(r.id), 32);
	char ref[CONTAINER_REFERENCE_LEN];
	container_reference(r.id, ref);
	assert_string_equal(r.reference, ref);

	char names[4096], want[64];
	assert_int_equal(names_in(f, "new", names, sizeof(names)), 1);
	snprintf(want, sizeof(want), "%s,", r.id);
	assert_string_equal(names, want);
	assert_int_equal(count_in(f, "tmp"), 0);
	assert_int_equal(count_in(f, "sending"), 0);
	assert_int_equal(count_in(f, "state"), 0);

	char path[PATH_MAX];
	struct stat sb;
	path_of(f, path, "new", r.id);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);

	/* What was committed reads back with the uploader's key. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(container_verify(fd, pk, sk), CONTAINER_OK);
	struct container_reader *rd = NULL;
	assert_int_equal(container_reader_open(fd, pk, sk, &rd), CONTAINER_OK);
	assert_string_equal(container_reader_header(rd)->id, r.id);
	assert_non_null(strstr(container_reader_metadata(rd, NULL), CANARY_NAME));
	container_reader_destroy(rd);
	close(fd);

	struct container_submission bad = f->sub;
	bad.name = NULL;
	assert_int_equal(spool_commit(f->spool, pk, &bad, &r), SPOOL_INVALID);
	assert_int_equal(count_in(f, "tmp"), 0);
	assert_int_equal(count_in(f, "new"), 1);
}

static void test_list_sorted(void **state)
{
	struct fixture *f = *state;
	char ids[5][CONTAINER_ID_HEX];
	for (int i = 0; i < 5; i++)
		memcpy(ids[i], commit(f).id, CONTAINER_ID_HEX);
	struct spool_entry *e = NULL;
	assert_int_equal(list_count(f, SPOOL_STATE_NEW, &e), 5);
	time_t now = time(NULL);
	for (int i = 0; i < 5; i++) {
		if (i)
			assert_true(strcmp(e[i - 1].id, e[i].id) < 0);
		assert_int_equal(e[i].state, SPOOL_STATE_NEW);
		assert_true(e[i].bytes > 3000);
		assert_true(e[i].created >= now - 5 && e[i].created <= now + 1);
		assert_int_equal(e[i].attempts, 0);
		assert_int_equal(e[i].next_due, 0);
		assert_string_equal(e[i].last_error, "");
	}
	free(e);
	assert_int_equal(list_count(f, SPOOL_STATE_FAILED, NULL), 0);
}

static void test_capacity_count(void **state)
{
	struct fixture *f = *state;
	spool_destroy(f->spool);
	struct spool_limits lim = {.max_count = 2};
	assert_int_equal(spool_open(f->dir, &lim, &f->spool), SPOOL_OK);
	assert_true(spool_can_accept(f->spool, 3000));
	commit(f);
	struct spool_receipt second = commit(f);
	assert_false(spool_can_accept(f->spool, 3000));
	struct spool_receipt r;
	assert_int_equal(spool_commit(f->spool, pk, &f->sub, &r), SPOOL_FULL);
	assert_int_equal(count_in(f, "new"), 2);
	assert_int_equal(count_in(f, "tmp"), 0);

	/* sending/ counts; failed/ does not. */
	int fd = -1;
	assert_int_equal(spool_claim(f->spool, second.id, &fd), SPOOL_OK);
	close(fd);
	assert_int_equal(spool_commit(f->spool, pk, &f->sub, &r), SPOOL_FULL);
	assert_int_equal(spool_fail(f->spool, second.id, "http_422"), SPOOL_OK);
	assert_true(spool_can_accept(f->spool, 3000));
	assert_int_equal(spool_commit(f->spool, pk, &f->sub, &r), SPOOL_OK);
}

static void test_capacity_bytes(void **state)
{
	struct fixture *f = *state;
	spool_destroy(f->spool);
	struct spool_limits lim = {.max_bytes = 10000};
	assert_int_equal(spool_open(f->dir, &lim, &f->spool), SPOOL_OK);
	struct spool_receipt first = commit(f); /* about 3.5 KB */
	struct spool_receipt r;
	assert_int_equal(spool_commit(f->spool, pk, &f->sub, &r), SPOOL_OK);
	/* The third would pass 10000 bytes. */
	assert_int_equal(spool_commit(f->spool, pk, &f->sub, &r), SPOOL_FULL);
	assert_int_equal(count_in(f, "new"), 2);
	assert_int_equal(count_in(f, "tmp"), 0);
	char path[PATH_MAX];
	path_of(f, path, "new", first.id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(container_verify(fd, pk, sk), CONTAINER_OK); /* nothing evicted */
	close(fd);
	assert_false(spool_can_accept(f->spool, 5000));
}

static void test_can_accept_disk(void **state)
{
	struct fixture *f = *state;
	assert_true(spool_can_accept(f->spool, 1000));
	/* No file system has an exabyte free. */
	assert_false(spool_can_accept(f->spool, UINT64_C(1) << 60));
	assert_false(spool_can_accept(NULL, 1));
}

static void test_transitions(void **state)
{
	struct fixture *f = *state;
	struct spool_receipt a = commit(f), b = commit(f), c = commit(f);
	int fd = -1;
	assert_int_equal(spool_claim(f->spool, a.id, &fd), SPOOL_OK);
	assert_true(fd >= 0);
	assert_int_equal(container_verify(fd, pk, sk), CONTAINER_OK);
	close(fd);
	assert_int_equal(spool_claim(f->spool, a.id, &fd), SPOOL_NOT_FOUND);
	assert_int_equal(fd, -1);
	assert_int_equal(list_count(f, SPOOL_STATE_SENDING, NULL), 1);
	assert_int_equal(list_count(f, SPOOL_STATE_NEW, NULL), 2);

	/* retry later: back to new/ with its state */
	assert_int_equal(spool_retry_later(f->spool, a.id, 3, 1900000000, "http_503"), SPOOL_OK);
	assert_int_equal(spool_retry_later(f->spool, a.id, 3, 1, "x"), SPOOL_NOT_FOUND);
	struct spool_entry *e = NULL;
	assert_int_equal(list_count(f, SPOOL_STATE_NEW, &e), 3);
	assert_string_equal(e[0].id, a.id);
	assert_int_equal(e[0].attempts, 3);
	assert_int_equal(e[0].next_due, 1900000000);
	assert_string_equal(e[0].last_error, "http_503");
	free(e);
	assert_int_equal(count_in(f, "state"), 1);

	/* fail: to failed/, attempts kept, class recorded and cleaned */
	assert_int_equal(spool_claim(f->spool, a.id, &fd), SPOOL_OK);
	close(fd);
	assert_int_equal(spool_fail(f->spool, a.id, "http_422\nname=evil"), SPOOL_OK);
	assert_int_equal(list_count(f, SPOOL_STATE_FAILED, &e), 1);
	assert_string_equal(e[0].id, a.id);
	assert_int_equal(e[0].attempts, 3);
	assert_string_equal(e[0].last_error, "http_422_name_evil");
	free(e);
	assert_int_equal(spool_done(f->spool, a.id), SPOOL_NOT_FOUND);

	/* done: gone, with its state */
	assert_int_equal(spool_claim(f->spool, b.id, &fd), SPOOL_OK);
	close(fd);
	assert_int_equal(spool_retry_later(f->spool, b.id, 1, 0, "network"), SPOOL_OK);
	assert_int_equal(spool_claim(f->spool, b.id, &fd), SPOOL_OK);
	close(fd);
	assert_int_equal(spool_done(f->spool, b.id), SPOOL_OK);
	char path[PATH_MAX];
	path_of(f, path, "state", b.id);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(spool_done(f->spool, b.id), SPOOL_NOT_FOUND);

	/* quarantine from new/ and from sending/ */
	assert_int_equal(spool_quarantine(f->spool, SPOOL_STATE_NEW, c.id, "tampered"), SPOOL_OK);
	assert_int_equal(spool_quarantine(f->spool, SPOOL_STATE_NEW, c.id, "tampered"),
	                 SPOOL_NOT_FOUND);
	assert_int_equal(list_count(f, SPOOL_STATE_QUARANTINE, &e), 1);
	assert_string_equal(e[0].last_error, "tampered");
	free(e);
	struct spool_receipt d = commit(f);
	assert_int_equal(spool_claim(f->spool, d.id, &fd), SPOOL_OK);
	close(fd);
	assert_int_equal(spool_quarantine(f->spool, SPOOL_STATE_SENDING, d.id, "bad_metadata"),
	                 SPOOL_OK);
	assert_int_equal(list_count(f, SPOOL_STATE_QUARANTINE, NULL), 2);
	assert_int_equal(list_count(f, SPOOL_STATE_NEW, NULL), 0);
	assert_int_equal(list_count(f, SPOOL_STATE_SENDING, NULL), 0);

	/* Bad ids are refused before touching the file system. */
	assert_int_equal(spool_claim(f->spool, "../new/x", &fd), SPOOL_INVALID);
	assert_int_equal(spool_done(f->spool, "ABCDEF"), SPOOL_INVALID);
	assert_int_equal(spool_quarantine(f->spool, SPOOL_STATE_QUARANTINE, d.id, "x"),
	                 SPOOL_INVALID);
	assert_int_equal(spool_retry_later(f->spool, d.id, 1, -5, "x"), SPOOL_INVALID);
}

static void test_stats(void **state)
{
	struct fixture *f = *state;
	struct spool_stats st;
	assert_int_equal(spool_stats(f->spool, &st), SPOOL_OK);
	for (int s = 0; s < SPOOL_STATE_LAST; s++) {
		assert_int_equal(st.count[s], 0);
		assert_int_equal(st.bytes[s], 0);
	}
	assert_int_equal(st.oldest_created, 0);
	struct spool_receipt a = commit(f), b = commit(f);
	commit(f);
	int fd;
	assert_int_equal(spool_claim(f->spool, a.id, &fd), SPOOL_OK);
	close(fd);
	assert_int_equal(spool_claim(f->spool, b.id, &fd), SPOOL_OK);
	close(fd);
	assert_int_equal(spool_fail(f->spool, b.id, "http_400"), SPOOL_OK);
	assert_int_equal(spool_stats(f->spool, &st), SPOOL_OK);
	assert_int_equal(st.count[SPOOL_STATE_NEW], 1);
	assert_int_equal(st.count[SPOOL_STATE_SENDING], 1);
	assert_int_equal(st.count[SPOOL_STATE_FAILED], 1);
	assert_int_equal(st.count[SPOOL_STATE_QUARANTINE], 0);
	assert_true(st.bytes[SPOOL_STATE_NEW] > 3000);
	assert_int_equal(st.bytes[SPOOL_STATE_NEW], st.bytes[SPOOL_STATE_SENDING]);
	time_t now = time(NULL);
	assert_true(st.oldest_created > now - 10 && st.oldest_created <= now);
}

static void test_recover(void **state)
{
	struct fixture *f = *state;
	struct spool_receipt good = commit(f), sent = commit(f), cut = commit(f), vers = commit(f),
	                     copy = commit(f), failed = commit(f);
	char path[PATH_MAX], path2[PATH_MAX];
	int fd;

	/* sent: claimed with retry state, then the uploader died while sending */
	assert_int_equal(spool_claim(f->spool, sent.id, &fd), SPOOL_OK);
	close(fd);
	assert_int_equal(spool_retry_later(f->spool, sent.id, 2, 123, "timeout"), SPOOL_OK);
	assert_int_equal(spool_claim(f->spool, sent.id, &fd), SPOOL_OK);
	close(fd);
	/* failed: kept in failed/ with its state */
	assert_int_equal(spool_claim(f->spool, failed.id, &fd), SPOOL_OK);
	close(fd);
	assert_int_equal(spool_fail(f->spool, failed.id, "http_413"), SPOOL_OK);

	/* cut: truncated; vers: a future version; copy: another id's content */
	path_of(f, path, "new", cut.id);
	assert_int_equal(truncate(path, 1000), 0);
	path_of(f, path, "new", vers.id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\x07", 1, 8), 1);
	close(fd);
	path_of(f, path, "new", copy.id);
	path_of(f, path2, "new", good.id);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(link(path2, path), 0);
	/* garbage under an id, an empty file, and a foreign name */
	static const char junk_id[] = "00000000000000000000000000000001";
	static const char empty_id[] = "00000000000000000000000000000002";
	path_of(f, path, "new", junk_id);
	write_file(path, "hello, world\n", 13);
	path_of(f, path, "new", empty_id);
	write_file(path, "", 0);
	path_of(f, path, "new", "README");
	write_file(path, "not ours", 8);

	/* stray tmp files: one abandoned, one being written (locked) */
	path_of(f, path, "tmp", "0000000000000000000000000000000a");
	write_file(path, "half", 4);
	path_of(f, path, "tmp", "0000000000000000000000000000000b");
	write_file(path, "busy", 4);
	int busy = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(busy >= 0);
	assert_int_equal(flock(busy, LOCK_EX), 0);
	/* orphaned and temporary state files */
	path_of(f, path, "state", "0000000000000000000000000000000c");
	write_file(path, "attempts=1\n", 11);
	path_of(f, path, "state", "0000000000000000000000000000000c.tmp");
	write_file(path, "x", 1);

	assert_int_equal(spool_recover(f->spool), SPOOL_OK);

	char names[4096];
	assert_int_equal(names_in(f, "tmp", names, sizeof(names)), 1);
	assert_string_equal(names, "0000000000000000000000000000000b,");
	close(busy);
	assert_int_equal(count_in(f, "sending"), 0);

	struct spool_entry *e = NULL;
	assert_int_equal(list_count(f, SPOOL_STATE_NEW, &e), 2);
	char want[2][CONTAINER_ID_HEX];
	memcpy(want[0], strcmp(good.id, sent.id) < 0 ? good.id : sent.id, CONTAINER_ID_HEX);
	memcpy(want[1], strcmp(good.id, sent.id) < 0 ? sent.id : good.id, CONTAINER_ID_HEX);
	assert_string_equal(e[0].id, want[0]);
	assert_string_equal(e[1].id, want[1]);
	for (int i = 0; i < 2; i++) {
		if (strcmp(e[i].id, sent.id) == 0) {
			assert_int_equal(e[i].attempts, 2);
			assert_int_equal(e[i].next_due, 123);
			assert_string_equal(e[i].last_error, "timeout");
		}
	}
	free(e);
	path_of(f, path, "new", "README");
	assert_int_equal(access(path, F_OK), 0); /* foreign names are left alone */

	assert_int_equal(list_count(f, SPOOL_STATE_QUARANTINE, &e), 5);
	for (int i = 0; i < 5; i++) {
		const char *why = e[i].last_error;
		if (strcmp(e[i].id, cut.id) == 0)
			assert_string_equal(why, "truncated");
		else if (strcmp(e[i].id, vers.id) == 0)
			assert_string_equal(why, "bad_version");
		else if (strcmp(e[i].id, copy.id) == 0)
			assert_string_equal(why, "id_mismatch");
		else if (strcmp(e[i].id, junk_id) == 0)
			assert_string_equal(why, "not_container");
		else if (strcmp(e[i].id, empty_id) == 0)
			assert_string_equal(why, "truncated");
		else
			fail_msg("unexpected %s in quarantine/", e[i].id);
	}
	free(e);
	assert_int_equal(list_count(f, SPOOL_STATE_FAILED, &e), 1);
	assert_string_equal(e[0].last_error, "http_413");
	free(e);

	path_of(f, path, "state", "0000000000000000000000000000000c");
	assert_int_not_equal(access(path, F_OK), 0);
	path_of(f, path, "state", "0000000000000000000000000000000c.tmp");
	assert_int_not_equal(access(path, F_OK), 0);

	/* The uploader's path: a tampered body found on open is quarantined. */
	path_of(f, path, "new", good.id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	uint8_t byte;
	assert_int_equal(pread(fd, &byte, 1, 300), 1);
	byte ^= 0x01; /* a flip, whatever the byte was */
	assert_int_equal(pwrite(fd, &byte, 1, 300), 1);
	close(fd);
	assert_int_equal(spool_claim(f->spool, good.id, &fd), SPOOL_OK);
	struct container_reader *rd = NULL;
	enum container_status cst = container_reader_open(fd, pk, sk, &rd);
	assert_int_equal(cst, CONTAINER_TAMPERED);
	close(fd);
	assert_int_equal(spool_quarantine(f->spool, SPOOL_STATE_SENDING, good.id, "tampered"),
	                 SPOOL_OK);
	assert_int_equal(list_count(f, SPOOL_STATE_NEW, NULL), 1);

	/* A second recovery finds nothing to do. */
	assert_int_equal(spool_recover(f->spool), SPOOL_OK);
	assert_int_equal(list_count(f, SPOOL_STATE_NEW, NULL), 1);
	assert_int_equal(list_count(f, SPOOL_STATE_QUARANTINE, NULL), 6);
}

/* A write that fails half way (the file size limit stands in for a full disk)
 * leaves nothing behind and keeps the queue. */
static void test_commit_write_fails(void **state)
{
	struct fixture *f = *state;
	struct spool_receipt first = commit(f);
	static uint8_t big[300000];
	struct container_page pg;
	fill_page(&pg, big, sizeof(big), 3);
	struct container_submission sub = f->sub;
	sub.pages = &pg;
	sub.page_count = 1;

	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 100000;
	void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	struct spool_receipt r;
	enum spool_status st = spool_commit(f->spool, pk, &sub, &r);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, prev);

	assert_int_equal(st, SPOOL_IO);
	assert_int_equal(count_in(f, "tmp"), 0);
	char names[4096], want[64];
	assert_int_equal(names_in(f, "new", names, sizeof(names)), 1);
	snprintf(want, sizeof(want), "%s,", first.id);
	assert_string_equal(names, want);
	/* And the spool still works afterwards. */
	assert_int_equal(spool_commit(f->spool, pk, &sub, &r), SPOOL_OK);
}

/* A technician's discard: failed/ and quarantine/ only, with the state file,
 * and never a queued submission. */
static void test_discard(void **state)
{
	struct fixture *f = *state;
	struct spool_receipt failed = commit(f), quarantined = commit(f), queued = commit(f),
	                     sending = commit(f);
	int fd = -1;
	assert_int_equal(spool_claim(f->spool, failed.id, &fd), SPOOL_OK);
	close(fd);
	assert_int_equal(spool_fail(f->spool, failed.id, "conflict"), SPOOL_OK);
	assert_int_equal(spool_quarantine(f->spool, SPOOL_STATE_NEW, quarantined.id, "truncated"),
	                 SPOOL_OK);
	assert_int_equal(spool_claim(f->spool, sending.id, &fd), SPOOL_OK);
	close(fd);

	/* Queued: refused, and where it is comes back; nothing moves. */
	enum spool_state from = SPOOL_STATE_FAILED;
	char cls[SPOOL_CLASS_MAX] = "x";
	assert_int_equal(spool_discard(f->spool, queued.id, &from, cls), SPOOL_INVALID);
	assert_int_equal(from, SPOOL_STATE_NEW);
	assert_string_equal(cls, "");
	assert_int_equal(spool_discard(f->spool, sending.id, &from, cls), SPOOL_INVALID);
	assert_int_equal(from, SPOOL_STATE_SENDING);
	assert_int_equal(list_count(f, SPOOL_STATE_NEW, NULL), 1);
	assert_int_equal(list_count(f, SPOOL_STATE_SENDING, NULL), 1);

	/* failed/: the file and its state file go; the class is reported. */
	char path[PATH_MAX];
	path_of(f, path, "state", failed.id);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(spool_discard(f->spool, failed.id, &from, cls), SPOOL_OK);
	assert_int_equal(from, SPOOL_STATE_FAILED);
	assert_string_equal(cls, "conflict");
	assert_int_equal(list_count(f, SPOOL_STATE_FAILED, NULL), 0);
	assert_int_not_equal(access(path, F_OK), 0);

	/* quarantine/, with NULL outputs. */
	assert_int_equal(spool_discard(f->spool, quarantined.id, NULL, NULL), SPOOL_OK);
	assert_int_equal(list_count(f, SPOOL_STATE_QUARANTINE, NULL), 0);
	assert_int_equal(count_in(f, "state"), 0);

	/* Gone, never there, or not an id. */
	assert_int_equal(spool_discard(f->spool, failed.id, &from, cls), SPOOL_NOT_FOUND);
	assert_int_equal(from, SPOOL_STATE_LAST);
	assert_int_equal(spool_discard(f->spool, "0123456789abcdef0123456789abcdef", NULL, NULL),
	                 SPOOL_NOT_FOUND);
	assert_int_equal(spool_discard(f->spool, "../new/x", &from, cls), SPOOL_INVALID);
	assert_int_equal(from, SPOOL_STATE_LAST);
	assert_int_equal(spool_discard(f->spool, NULL, NULL, NULL), SPOOL_INVALID);
	assert_int_equal(spool_discard(NULL, failed.id, NULL, NULL), SPOOL_INVALID);

	/* The queued ones are intact and still readable. */
	assert_int_equal(spool_claim(f->spool, queued.id, &fd), SPOOL_OK);
	assert_int_equal(container_verify(fd, pk, sk), CONTAINER_OK);
	close(fd);
	assert_int_equal(list_count(f, SPOOL_STATE_SENDING, NULL), 2);
}

/* Runs last: nothing personal reached the log. */
static void test_log_has_no_personal_data(void **state)
{
	(void)state;
	fflush(stderr);
	int fd = open(logpath, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	static char text[1 << 20];
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(n > 0);
	text[n] = '\0';
	assert_non_null(strstr(text, "committed"));
	assert_non_null(strstr(text, "quarantined"));
	assert_non_null(strstr(text, "discarded from failed/ (conflict)"));
	assert_null(strstr(text, CANARY_NAME));
	assert_null(strstr(text, "Kanarienvogel"));
	assert_null(strstr(text, CANARY_CASE));
	assert_null(strstr(text, "1985-07-01"));
	assert_null(strstr(text, "README")); /* foreign names are not echoed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_open_layout, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_list_sorted, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_capacity_count, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_capacity_bytes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_can_accept_disk, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_transitions, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_commit_write_fails, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_discard, setup, teardown),
	        cmocka_unit_test(test_log_has_no_personal_data),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
