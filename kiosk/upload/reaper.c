/*
 * reaper.c - removal of delivered submissions on a thread (see reaper.h).
 */
#include "reaper.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "log.h"

/* Removals waiting at most; more than a drain ever gets ahead by. */
#define QUEUE_LEN 32

struct reaper {
	struct spool *spool;
	pthread_mutex_t lock;
	pthread_cond_t queued;  /* an id was queued, or stop was asked */
	pthread_cond_t removed; /* an id was removed */
	char ids[QUEUE_LEN][CONTAINER_ID_HEX];
	size_t head, count;
	bool stop;
	bool failed;
	pthread_t thread;
};

static void *run(void *arg)
{
	struct reaper *r = arg;
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (r->count == 0 && !r->stop)
			pthread_cond_wait(&r->queued, &r->lock);
		if (r->count == 0)
			break;
		char id[CONTAINER_ID_HEX];
		memcpy(id, r->ids[r->head], sizeof(id));
		pthread_mutex_unlock(&r->lock);

		enum spool_status st = spool_done(r->spool, id);
		if (st != SPOOL_OK)
			log_error("submission %s: done failed: %s", id, spool_strerror(st));

		pthread_mutex_lock(&r->lock);
		r->head = (r->head + 1) % QUEUE_LEN;
		r->count--;
		if (st != SPOOL_OK)
			r->failed = true;
		pthread_cond_broadcast(&r->removed);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

struct reaper *reaper_create(struct spool *spool)
{
	struct reaper *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->spool = spool;
	if (pthread_mutex_init(&r->lock, NULL) != 0)
		goto fail_free;
	if (pthread_cond_init(&r->queued, NULL) != 0)
		goto fail_lock;
	if (pthread_cond_init(&r->removed, NULL) != 0)
		goto fail_queued;
	int rc = pthread_create(&r->thread, NULL, run, r);
	if (rc != 0) {
		log_warning("cannot start the removal thread: %s", strerror(rc));
		goto fail_removed;
	}
	(void)pthread_setname_np(r->thread, "reaper");
	return r;
fail_removed:
	pthread_cond_destroy(&r->removed);
fail_queued:
	pthread_cond_destroy(&r->queued);
fail_lock:
	pthread_mutex_destroy(&r->lock);
fail_free:
	free(r);
	return NULL;
}

void reaper_done(struct reaper *r, const char *id)
{
	pthread_mutex_lock(&r->lock);
	while (r->count == QUEUE_LEN)
		pthread_cond_wait(&r->removed, &r->lock);
	snprintf(r->ids[(r->head + r->count) % QUEUE_LEN], CONTAINER_ID_HEX, "%s", id);
	r->count++;
	pthread_cond_signal(&r->queued);
	pthread_mutex_unlock(&r->lock);
}

bool reaper_ok(struct reaper *r)
{
	pthread_mutex_lock(&r->lock);
	bool ok = !r->failed;
	pthread_mutex_unlock(&r->lock);
	return ok;
}

bool reaper_flush(struct reaper *r)
{
	pthread_mutex_lock(&r->lock);
	while (r->count > 0)
		pthread_cond_wait(&r->removed, &r->lock);
	bool ok = !r->failed;
	r->failed = false;
	pthread_mutex_unlock(&r->lock);
	return ok;
}

void reaper_destroy(struct reaper *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->queued);
	pthread_mutex_unlock(&r->lock);
	/* The thread empties the queue before it ends. */
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->removed);
	pthread_cond_destroy(&r->queued);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
