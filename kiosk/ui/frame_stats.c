/* frame_stats.c - frame timings for the benchmark (see frame_stats.h). */
#include "frame_stats.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct frame_stats {
	char *path;
	uint64_t first_ns; /* 0: nothing presented yet */
	uint64_t begin_ns;
	uint64_t frames; /* all frames; the ring keeps the last FRAME_STATS_KEEP */
	uint64_t *ring;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct frame_stats *frame_stats_from_env(void)
{
	const char *path = getenv("SCANKIOSK_FRAME_STATS");
	if (!path || !*path)
		return NULL;
	struct frame_stats *fs = calloc(1, sizeof(*fs));
	if (fs) {
		fs->path = strdup(path);
		fs->ring = calloc(FRAME_STATS_KEEP, sizeof(*fs->ring));
	}
	if (!fs || !fs->path || !fs->ring) {
		log_error("frame statistics: out of memory");
		if (fs) {
			free(fs->path);
			free(fs->ring);
			free(fs);
		}
		return NULL;
	}
	return fs;
}

void frame_stats_begin(struct frame_stats *fs)
{
	if (fs)
		fs->begin_ns = now_ns();
}

void frame_stats_end(struct frame_stats *fs)
{
	if (!fs)
		return;
	uint64_t end = now_ns();
	if (!fs->first_ns)
		fs->first_ns = end;
	fs->ring[fs->frames % FRAME_STATS_KEEP] = end - fs->begin_ns;
	fs->frames++;
}

static int write_file(const struct frame_stats *fs)
{
	if (unlink(fs->path) != 0 && errno != ENOENT)
		return -1;
	int fd = open(fs->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	fprintf(f, "first-frame-ns %" PRIu64 "\nframes %" PRIu64 "\n", fs->first_ns, fs->frames);
	uint64_t kept = fs->frames < FRAME_STATS_KEEP ? fs->frames : FRAME_STATS_KEEP;
	for (uint64_t i = fs->frames - kept; i < fs->frames; i++)
		fprintf(f, "frame-ns %" PRIu64 "\n", fs->ring[i % FRAME_STATS_KEEP]);
	int rc = ferror(f) ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

void frame_stats_finish(struct frame_stats *fs)
{
	if (!fs)
		return;
	if (write_file(fs) != 0)
		log_error_errno("frame statistics: %s", fs->path);
	free(fs->path);
	free(fs->ring);
	free(fs);
}
