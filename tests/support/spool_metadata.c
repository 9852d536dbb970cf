/*
 * spool_metadata - prints the decrypted metadata of every submission in a
 * spool's new/ folder, one JSON document a line, in id order. A TEST TOOL: the
 * metadata holds the personal data the product never shows or logs; tests use
 * it with throwaway keys to check what a flow committed.
 *
 *   spool_metadata SPOOL_DIR PUBLIC_KEY_FILE SECRET_KEY_FILE
 *
 * Each page is read to its end, so a line is printed only for a container that
 * authenticates completely (final tag included). Exit 0, or 1 naming the
 * submission that does not.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"

static int compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int dump(int dirfd, const char *id, const uint8_t *pk, const uint8_t *sk)
{
	int fd = openat(dirfd, id, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(id);
		return 1;
	}
	struct container_reader *r = NULL;
	enum container_status st = container_reader_open(fd, pk, sk, &r);
	static unsigned char buf[64 * 1024];
	size_t got = 0, page = 0;
	while (st == CONTAINER_OK) {
		st = container_reader_read(r, buf, sizeof(buf), &got, &page);
		if (got == 0)
			break;
	}
	if (st != CONTAINER_OK) {
		fprintf(stderr, "spool_metadata: %s: %s\n", id, container_strerror(st));
		container_reader_destroy(r);
		close(fd);
		return 1;
	}
	size_t len = 0;
	const char *json = container_reader_metadata(r, &len);
	printf("%.*s\n", (int)len, json);
	container_reader_destroy(r);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr,
		        "usage: spool_metadata SPOOL_DIR PUBLIC_KEY_FILE SECRET_KEY_FILE\n");
		return 2;
	}
	uint8_t pk[CONTAINER_KEY_BYTES], sk[CONTAINER_KEY_BYTES];
	if (container_load_key(argv[2], pk) != CONTAINER_OK ||
	    container_load_key(argv[3], sk) != CONTAINER_OK) {
		fprintf(stderr, "spool_metadata: cannot read the keys\n");
		return 2;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/new", argv[1]);
	DIR *d = opendir(path);
	if (!d) {
		perror(path);
		return 2;
	}
	char *ids[1024];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < sizeof(ids) / sizeof(ids[0])) {
		if (e->d_name[0] != '.')
			ids[n++] = strdup(e->d_name);
	}
	qsort(ids, n, sizeof(ids[0]), compare);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (ids[i] && dump(dirfd(d), ids[i], pk, sk) != 0)
			rc = 1;
		free(ids[i]);
	}
	closedir(d);
	return rc;
}
