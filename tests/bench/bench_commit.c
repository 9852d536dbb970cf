/*
 * bench_commit.c - commit latency of the spool, in-process: seal and write a
 * submission of the given JPEG pages, fsync it, rename it into new/, fsync the
 * directory. Prints the median, 95th percentile and throughput.
 *
 *   bench_commit SPOOL_DIR PUBLIC_KEY_FILE COUNT PAGE.jpg...
 *
 * A figure, not a test. Pages are read once into memory, as the kiosk holds a
 * customer's pages before they are sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container.h"
#include "log.h"
#include "sha256.h"
#include "spool.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static uint8_t *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *buf = NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);
		if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) &&
		    fread(buf, 1, (size_t)n, f) == (size_t)n) {
			*size = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fputs("usage: bench_commit SPOOL_DIR PUBLIC_KEY_FILE COUNT PAGE.jpg...\n", stderr);
		return 2;
	}
	log_set_level(LOG_LEVEL_WARNING);
	char *end;
	long count_arg = strtol(argv[3], &end, 10);
	size_t npages = (size_t)(argc - 4);
	if (*end || count_arg < 1 || count_arg > 100000 || npages > CONTAINER_MAX_PAGES) {
		fputs("bench_commit: COUNT is 1..100000, at most 200 pages\n", stderr);
		return 2;
	}
	int count = (int)count_arg;
	uint8_t pk[CONTAINER_KEY_BYTES];
	if (container_load_key(argv[2], pk) != CONTAINER_OK) {
		fprintf(stderr, "bench_commit: cannot load %s\n", argv[2]);
		return 1;
	}
	struct container_page *pages = calloc(npages, sizeof(*pages));
	uint64_t total = 0;
	for (size_t i = 0; pages && i < npages; i++) {
		size_t size = 0;
		uint8_t *data = slurp(argv[4 + i], &size);
		if (!data) {
			fprintf(stderr, "bench_commit: cannot read %s\n", argv[4 + i]);
			return 1;
		}
		pages[i] = (struct container_page){.jpeg = data,
		                                   .bytes = size,
		                                   .width = 1240,
		                                   .height = 1754,
		                                   .dpi = 150,
		                                   .color = false,
		                                   .blank_score = 0.01,
		                                   .sha256 = {0}};
		if (!sha256_digest(data, size, pages[i].sha256))
			return 1;
		total += size;
	}
	struct container_submission sub = {.case_number = "123A456789",
	                                   .name = "Bench Person",
	                                   .birth_date = "1980-01-01",
	                                   .category = "payslip",
	                                   .language = "de",
	                                   .pages = pages,
	                                   .page_count = npages};
	struct spool_limits limits = {0, 0};
	struct spool *spool;
	if (spool_open(argv[1], &limits, &spool) != SPOOL_OK) {
		fprintf(stderr, "bench_commit: cannot open the spool %s\n", argv[1]);
		return 1;
	}
	double *ms = calloc((size_t)count, sizeof(*ms));
	double t_all = now_ms();
	for (int i = 0; i < count; i++) {
		struct spool_receipt r;
		double t0 = now_ms();
		enum spool_status st = spool_commit(spool, pk, &sub, &r);
		ms[i] = now_ms() - t0;
		if (st != SPOOL_OK) {
			fprintf(stderr, "bench_commit: commit %d: %s\n", i, spool_strerror(st));
			return 1;
		}
	}
	t_all = now_ms() - t_all;
	qsort(ms, (size_t)count, sizeof(*ms), cmp_double);
	printf("commits %d pages %zu bytes %llu median_ms %.2f p95_ms %.2f mb_per_s %.1f\n", count,
	       npages, (unsigned long long)total, ms[count / 2], ms[(count * 95) / 100],
	       (double)total * count / 1e6 / (t_all / 1e3));
	spool_destroy(spool);
	for (size_t i = 0; i < npages; i++)
		free((void *)(uintptr_t)pages[i].jpeg);
	free(pages);
	free(ms);
	return 0;
}
