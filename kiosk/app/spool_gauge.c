/*
 * spool_gauge.c - the spool's answer, kept current on a thread of its own.
 *
 * One mutex guards the request (size, generation) and the answer; the spool
 * handle belongs to the thread alone.
 */
#include "spool_gauge.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

struct spool_gauge {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *dir;
	struct spool_limits limits;
	unsigned interval_ms;
	void (*notify)(void *userdata);
	void *userdata;

	/* Under lock. */
	bool quit;
	uint64_t want_bytes; /* the size asked about */
	uint64_t want_gen;   /* bumped by every new question */
	uint64_t answer_gen; /* the question the answer is for */
	uint64_t answer_bytes;
	bool answer;
	bool answered; /* at least once */
};

static void deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *gauge_thread(void *arg)
{
	struct spool_gauge *g = arg;
	struct spool *spool = NULL;
	if (spool_open(g->dir, &g->limits, &spool) != SPOOL_OK) {
		log_error("spool gauge: the spool cannot be opened; it reads as full");
		spool = NULL;
	}
	pthread_mutex_lock(&g->lock);
	while (!g->quit) {
		uint64_t gen = g->want_gen, bytes = g->want_bytes;
		pthread_mutex_unlock(&g->lock);
		bool ok = spool && spool_can_accept(spool, bytes);
		pthread_mutex_lock(&g->lock);
		bool changed = !g->answered || ok != g->answer || g->answer_bytes != bytes;
		g->answer = ok;
		g->answer_bytes = bytes;
		g->answer_gen = gen;
		g->answered = true;
		if (changed && g->notify) {
			pthread_mutex_unlock(&g->lock);
			g->notify(g->userdata);
			pthread_mutex_lock(&g->lock);
		}
		struct timespec until;
		deadline_in(&until, g->interval_ms);
		while (!g->quit && g->want_gen == g->answer_gen)
			if (pthread_cond_timedwait(&g->cond, &g->lock, &until) == ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&g->lock);
	spool_destroy(spool);
	return NULL;
}

struct spool_gauge *spool_gauge_create(const char *dir, const struct spool_limits *limits,
                                       unsigned interval_ms, void (*notify)(void *userdata),
                                       void *userdata)
{
	struct spool_gauge *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->dir = strdup(dir ? dir : "");
	if (!g->dir) {
		free(g);
		return NULL;
	}
	if (limits)
		g->limits = *limits;
	g->interval_ms = interval_ms ? interval_ms : SPOOL_GAUGE_INTERVAL_MS;
	g->notify = notify;
	g->userdata = userdata;
	g->want_bytes = 1;
	g->want_gen = 1;
	g->answer = true;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&g->thread, NULL, gauge_thread, g) != 0) {
		log_error("cannot start the spool gauge thread");
		pthread_cond_destroy(&g->cond);
		pthread_mutex_destroy(&g->lock);
		free(g->dir);
		free(g);
		return NULL;
	}
	return g;
}

void spool_gauge_destroy(struct spool_gauge *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->quit = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g->dir);
	free(g);
}

bool spool_gauge_can_accept(struct spool_gauge *g, uint64_t bytes, bool *fresh)
{
	pthread_mutex_lock(&g->lock);
	if (bytes != g->want_bytes) {
		g->want_bytes = bytes;
		g->want_gen++;
		pthread_cond_broadcast(&g->cond);
	}
	bool is_fresh = g->answered && g->answer_gen == g->want_gen;
	bool answer = g->answer;
	pthread_mutex_unlock(&g->lock);
	if (fresh)
		*fresh = is_fresh;
	return answer;
}

void spool_gauge_refresh(struct spool_gauge *g)
{
	pthread_mutex_lock(&g->lock);
	g->want_gen++;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}
