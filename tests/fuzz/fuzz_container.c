/*
 * fuzz_container.c - the container reader on arbitrary files: the clear
 * header, the reader (unseal, metadata, chunks to the end) and verify, with a
 * fixed test key pair. The seed corpus (corpus/fuzz_container/) holds real
 * containers sealed to that pair, so the fuzzer starts past the header checks;
 * the body can only ever fail authentication, which is the point: whatever the
 * bytes, the reader must return a status, never crash, read out of bounds or
 * allocate without a bound.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create; meson passes it already */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "container.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Test-only key: the corpus was sealed to its public half. Never deployed. */
static const uint8_t fuzz_secret_key[CONTAINER_KEY_BYTES] = {
        0x46, 0x55, 0x5a, 0x5a, 0x2d, 0x4f, 0x4e, 0x4c, 0x59, 0x2d, 0x6e,
        0x6f, 0x74, 0x2d, 0x61, 0x2d, 0x72, 0x65, 0x61, 0x6c, 0x2d, 0x6b,
        0x65, 0x79, 0x2d, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36,
};

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_container: %s\n", what);
		abort();
	}
}

static int input_fd(const uint8_t *data, size_t size)
{
	static int fd = -1;
	if (fd < 0) {
		fd = memfd_create("fuzz_container", MFD_CLOEXEC);
		check(fd >= 0, "memfd_create failed");
		log_set_quiet(true);
	}
	check(ftruncate(fd, 0) == 0, "ftruncate failed");
	size_t off = 0;
	while (off < size) {
		ssize_t n = pwrite(fd, data + off, size - off, (off_t)off);
		check(n > 0, "pwrite failed");
		off += (size_t)n;
	}
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t pk[CONTAINER_KEY_BYTES];
	container_public_from_secret(fuzz_secret_key, pk);
	int fd = input_fd(data, size);

	struct container_header h;
	enum container_status hs = container_read_header(fd, &h);
	check((unsigned)hs < CONTAINER_STATUS_LAST, "bad header status");
	if (hs == CONTAINER_OK) {
		check(h.version == CONTAINER_VERSION, "header version");
		check(h.page_count <= CONTAINER_MAX_PAGES, "header page count");
		check(h.file_bytes == size, "header size");
	}

	struct container_reader *r = NULL;
	enum container_status st = container_reader_open(fd, pk, fuzz_secret_key, &r);
	check((unsigned)st < CONTAINER_STATUS_LAST, "bad open status");
	check((st == CONTAINER_OK) == (r != NULL), "reader and status disagree");
	if (r) {
		size_t len = 0;
		const char *meta = container_reader_metadata(r, &len);
		check(meta && len <= CONTAINER_MAX_METADATA && meta[len] == '\0', "metadata");
		size_t pages = container_reader_page_count(r);
		check(pages <= CONTAINER_MAX_PAGES, "page count");
		static uint8_t buf[65536];
		for (int pass = 0; pass < 2; pass++) {
			size_t got = 0, page = 0, total = 0;
			do {
				st = container_reader_read(r, buf, pass ? 777 : sizeof(buf), &got,
				                           &page);
				check(got <= sizeof(buf), "read too much");
				check(!got || page < pages, "page index");
				total += got;
			} while (st == CONTAINER_OK && got);
			check(total <= size, "more plaintext than file");
			check(container_reader_rewind(r) == CONTAINER_OK, "rewind");
		}
		container_reader_destroy(r);
	}
	st = container_verify(fd, pk, fuzz_secret_key);
	check((unsigned)st < CONTAINER_STATUS_LAST, "bad verify status");
	return 0;
}
