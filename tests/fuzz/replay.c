/*
 * replay.c - runs a fuzz target over every file of a corpus directory, so the
 * targets and their seeds are exercised in every build (with the sanitizers in
 * the ASan build). With -Dfuzzing=true, libFuzzer provides main() instead.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = 1;
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			if (ncap > (64u << 20))
				goto out;
			uint8_t *n = realloc(buf, ncap);
			if (!n)
				goto out;
			buf = n;
			cap = ncap;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto out;
	LLVMFuzzerTestOneInput(buf, len);
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	DIR *dir = opendir(argv[1]);
	if (!dir) {
		perror(argv[1]);
		return 1;
	}
	int failures = 0, count = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
		failures += replay_file(path);
		count++;
	}
	closedir(dir);
	printf("%d inputs replayed, %d unreadable\n", count, failures);
	return failures || count == 0 ? 1 : 0;
}
