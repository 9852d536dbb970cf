/*
 * prefetch.c - decrypt-ahead of a container on its own thread (see prefetch.h).
 *
 * A ring of RING_SLOTS buffers of one secretstream chunk each. The prefetch
 * thread fills the slot at tail, the consumer empties the slot at head; a slot
 * belongs to whichever side holds it between taking and handing it over, so
 * the bytes themselves move without the lock. The thread lives as long as the
 * prefetch and waits for the next submission between two (a thread per
 * submission cost a clone and a cold start each time).
 */
#include "prefetch.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "secmem.h"

/* One secretstream chunk, so the reader decrypts straight into the slot. */
#define SLOT_BYTES (64u * 1024)
/* Enough to keep the transfer fed while the thread decrypts. A thread that
 * found the ring full sleeps until half of it is free again, and the consumer
 * is woken only when it waits: one wake-up per several chunks, not per chunk. */
#define RING_SLOTS 8

enum state {
	STATE_IDLE,    /* no submission: the thread waits for one */
	STATE_RUNNING, /* the thread reads ahead */
	STATE_ENDED,   /* the thread read everything and checked the final tag */
	STATE_FAILED,  /* the thread stopped on a failure */
};

struct slot {
	unsigned char *buf;
	size_t len; /* bytes the thread put in */
	size_t off; /* bytes the consumer took */
	size_t page;
};

struct prefetch {
	pthread_mutex_t lock;
	pthread_cond_t filled; /* a slot was handed over, or the thread ended */
	pthread_cond_t freed;  /* a slot was given back, stop or quit was asked */
	pthread_cond_t work;   /* a submission was started, or quit was asked */
	pthread_cond_t idle;   /* the thread put a submission down */
	struct slot slots[RING_SLOTS];
	size_t head, tail, count;
	enum state state;
	bool pending;        /* started, not yet taken up by the thread */
	bool busy;           /* the thread works on a submission */
	bool stop;           /* put the current submission down */
	bool quit;           /* end the thread */
	bool thread_waits;   /* the thread sleeps on freed */
	bool consumer_waits; /* the consumer sleeps on filled */
	pthread_t thread;

	/* Set before the thread ends a submission; read by the consumer after
	 * it saw FAILED. */
	enum container_status failure;

	struct container_reader *reader; /* the thread's while busy */
};

static void *run(void *arg);

struct prefetch *prefetch_create(void)
{
	struct prefetch *pf = calloc(1, sizeof(*pf));
	if (!pf)
		return NULL;
	pthread_cond_t *conds[] = {&pf->filled, &pf->freed, &pf->work, &pf->idle};
	size_t made = 0;
	if (pthread_mutex_init(&pf->lock, NULL) != 0) {
		free(pf);
		return NULL;
	}
	while (made < sizeof(conds) / sizeof(conds[0]) && pthread_cond_init(conds[made], NULL) == 0)
		made++;
	bool ok = made == sizeof(conds) / sizeof(conds[0]);
	for (size_t i = 0; ok && i < RING_SLOTS; i++) {
		pf->slots[i].buf = malloc(SLOT_BYTES);
		ok = pf->slots[i].buf != NULL;
	}
	if (ok) {
		int rc = pthread_create(&pf->thread, NULL, run, pf);
		if (rc != 0)
			log_error("cannot start the decrypting thread: %s", strerror(rc));
		ok = rc == 0;
	}
	if (!ok) {
		for (size_t i = 0; i < RING_SLOTS; i++)
			free(pf->slots[i].buf);
		while (made > 0)
			pthread_cond_destroy(conds[--made]);
		pthread_mutex_destroy(&pf->lock);
		free(pf);
		return NULL;
	}
	(void)pthread_setname_np(pf->thread, "decrypt");
	return pf;
}

void prefetch_destroy(struct prefetch *pf)
{
	if (!pf)
		return;
	prefetch_stop(pf);
	pthread_mutex_lock(&pf->lock);
	pf->quit = true;
	pthread_cond_signal(&pf->work);
	pthread_mutex_unlock(&pf->lock);
	pthread_join(pf->thread, NULL);
	for (size_t i = 0; i < RING_SLOTS; i++)
		secmem_free(pf->slots[i].buf, SLOT_BYTES);
	pthread_cond_destroy(&pf->idle);
	pthread_cond_destroy(&pf->work);
	pthread_cond_destroy(&pf->freed);
	pthread_cond_destroy(&pf->filled);
	pthread_mutex_destroy(&pf->lock);
	free(pf);
}

/* ---- the prefetch thread ------------------------------------------------- */

/* The next free slot, or NULL when asked to stop. */
static struct slot *take_free(struct prefetch *pf)
{
	pthread_mutex_lock(&pf->lock);
	if (pf->count == RING_SLOTS) {
		pf->thread_waits = true;
		while (pf->count > RING_SLOTS / 2 && !pf->stop)
			pthread_cond_wait(&pf->freed, &pf->lock);
		pf->thread_waits = false;
	}
	struct slot *s = pf->stop ? NULL : &pf->slots[pf->tail];
	pthread_mutex_unlock(&pf->lock);
	return s;
}

static void hand_over(struct prefetch *pf)
{
	pthread_mutex_lock(&pf->lock);
	pf->tail = (pf->tail + 1) % RING_SLOTS;
	pf->count++;
	if (pf->consumer_waits)
		pthread_cond_signal(&pf->filled);
	pthread_mutex_unlock(&pf->lock);
}

/* The submission is over (stopped, or ended with failure). */
static void put_down(struct prefetch *pf, bool stopped, enum container_status failure)
{
	pthread_mutex_lock(&pf->lock);
	if (!stopped) {
		pf->failure = failure;
		pf->state = failure == CONTAINER_OK ? STATE_ENDED : STATE_FAILED;
		pthread_cond_signal(&pf->filled);
	}
	pf->busy = false;
	pf->reader = NULL;
	pthread_cond_signal(&pf->idle);
	pthread_mutex_unlock(&pf->lock);
}

/* After the last page: the final tag must be authentic and nothing may follow. */
static enum container_status check_end(struct container_reader *r)
{
	uint8_t extra[64];
	size_t got = 0, page = 0;
	enum container_status cs = container_reader_read(r, extra, sizeof(extra), &got, &page);
	if (cs != CONTAINER_OK)
		return cs;
	if (got != 0) {
		/* More bytes than the metadata announced. */
		sodium_memzero(extra, sizeof(extra));
		return CONTAINER_BAD_METADATA;
	}
	return CONTAINER_OK;
}

/* Reads one submission ahead into the ring. Returns false when stopped. */
static bool read_ahead(struct prefetch *pf, struct container_reader *r,
                       enum container_status *failure)
{
	size_t count = container_reader_page_count(r);
	size_t current = 0;
	uint64_t seen = 0;

	while (current < count) {
		struct slot *s = take_free(pf);
		if (!s)
			return false;
		size_t got = 0, page = 0;
		enum container_status cs =
		        container_reader_read(r, s->buf, SLOT_BYTES, &got, &page);
		if (cs != CONTAINER_OK) {
			*failure = cs;
			return true;
		}
		const struct container_page_info *info = container_reader_page(r, current);
		if (got == 0 || page != current || !info || info->bytes - seen < got) {
			/* The file holds fewer (or more) bytes for this page than
			 * its metadata says. */
			*failure = CONTAINER_TRUNCATED;
			return true;
		}
		seen += got;
		if (seen == info->bytes) {
			current++;
			seen = 0;
			if (current == count && (cs = check_end(r)) != CONTAINER_OK) {
				*failure = cs;
				return true;
			}
		}
		s->len = got;
		s->off = 0;
		s->page = page;
		hand_over(pf);
	}
	*failure = CONTAINER_OK;
	return true;
}

static void *run(void *arg)
{
	struct prefetch *pf = arg;
	pthread_mutex_lock(&pf->lock);
	for (;;) {
		while (!pf->pending && !pf->quit)
			pthread_cond_wait(&pf->work, &pf->lock);
		if (pf->quit)
			break;
		pf->pending = false;
		pf->busy = true;
		struct container_reader *r = pf->reader;
		pthread_mutex_unlock(&pf->lock);

		enum container_status failure = CONTAINER_OK;
		bool stopped = !read_ahead(pf, r, &failure);
		put_down(pf, stopped, failure);

		pthread_mutex_lock(&pf->lock);
	}
	pthread_mutex_unlock(&pf->lock);
	return NULL;
}

/* ---- the consumer -------------------------------------------------------- */

bool prefetch_start(struct prefetch *pf, struct container_reader *r)
{
	prefetch_stop(pf);
	pf->failure = container_reader_rewind(r);
	if (pf->failure != CONTAINER_OK)
		return false;
	pthread_mutex_lock(&pf->lock);
	pf->reader = r;
	pf->state = STATE_RUNNING;
	pf->pending = true;
	pthread_cond_signal(&pf->work);
	pthread_mutex_unlock(&pf->lock);
	return true;
}

enum prefetch_status prefetch_read(struct prefetch *pf, void *buf, size_t cap, size_t *got,
                                   size_t *page)
{
	*got = 0;
	pthread_mutex_lock(&pf->lock);
	while (pf->count == 0 && pf->state == STATE_RUNNING) {
		pf->consumer_waits = true;
		pthread_cond_wait(&pf->filled, &pf->lock);
	}
	pf->consumer_waits = false;
	if (pf->count == 0) {
		enum state state = pf->state;
		if (state == STATE_IDLE && pf->failure == CONTAINER_OK)
			pf->failure = CONTAINER_INVALID; /* read before start */
		pthread_mutex_unlock(&pf->lock);
		return state == STATE_ENDED ? PREFETCH_END : PREFETCH_FAILED;
	}
	struct slot *s = &pf->slots[pf->head];
	pthread_mutex_unlock(&pf->lock);

	size_t n = s->len - s->off < cap ? s->len - s->off : cap;
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	*got = n;
	*page = s->page;
	if (s->off == s->len) {
		pthread_mutex_lock(&pf->lock);
		pf->head = (pf->head + 1) % RING_SLOTS;
		pf->count--;
		if (pf->thread_waits && pf->count <= RING_SLOTS / 2)
			pthread_cond_signal(&pf->freed);
		pthread_mutex_unlock(&pf->lock);
	}
	return PREFETCH_DATA;
}

enum container_status prefetch_failure(const struct prefetch *pf)
{
	return pf->failure;
}

void prefetch_stop(struct prefetch *pf)
{
	if (!pf)
		return;
	pthread_mutex_lock(&pf->lock);
	if (pf->state == STATE_IDLE) {
		pthread_mutex_unlock(&pf->lock);
		return;
	}
	pf->pending = false; /* not taken up yet: it never will be */
	pf->stop = true;
	pthread_cond_signal(&pf->freed);
	while (pf->busy)
		pthread_cond_wait(&pf->idle, &pf->lock);
	pf->stop = false;
	pf->state = STATE_IDLE;
	pf->reader = NULL;
	pf->head = pf->tail = pf->count = 0;
	for (size_t i = 0; i < RING_SLOTS; i++) {
		secmem_zero(pf->slots[i].buf, SLOT_BYTES);
		pf->slots[i].len = pf->slots[i].off = 0;
	}
	pthread_mutex_unlock(&pf->lock);
}
