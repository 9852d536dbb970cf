/*
 * scan_job.c - three threads per job, joined by queues under one mutex:
 *
 *   reader    owns the scanner: starts pages, reads lines into pool chunks,
 *             measures colour and blankness and builds the thumbnail on them
 *   encoder   feeds each chunk to the JPEG encoder
 *   finisher  hash and grey conversion of a finished page, then hands it to
 *             the owner as a PAGE_READY event
 *
 * So page N is finished while page N+1 is encoded and page N+2 read, and a
 * feeder batch keeps both cores busy. The pool bounds the memory between reader
 * and encoder; at most FINISH_QUEUE_MAX encoded pages wait for the finisher.
 */
#include "scan_job.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jpeg.h"
#include "log.h"
#include "page_analysis.h"
#include "secmem.h"
#include "sha256.h"
#include "thumbnail.h"

#define CHUNK_BYTES      (256u << 10)
#define POOL_CHUNKS      24
#define FINISH_QUEUE_MAX 2
/* A page of unknown height is kept raw until its end: cap it at a 432 mm strip
 * of a 216 mm wide colour page at 600 dpi. */
#define MAX_RAW_PAGE ((size_t)5102 * 10205 * 3)

enum item_kind {
	ITEM_PAGE_BEGIN,  /* reader -> encoder: frame of a new page */
	ITEM_LINES,       /* reader -> encoder: a pool chunk of lines */
	ITEM_PAGE_END,    /* reader -> encoder: the page is complete */
	ITEM_PAGE_ABORT,  /* reader -> encoder: the page failed, discard it */
	ITEM_PAGE_STREAM, /* encoder -> finisher: a page being encoded (its pipe) */
	ITEM_JOB_END,     /* reader -> encoder -> finisher: no more items */
	ITEM_LAST
};

/* A finished thumbnail on its way to the finisher. */
struct thumb_pixels {
	uint8_t *rgb; /* w x h RGB, NULL when it could not be made */
	uint32_t w, h;
};

static void thumb_pixels_free(struct thumb_pixels *t)
{
	if (t->rgb)
		secmem_free(t->rgb, (size_t)t->w * t->h * 3);
	*t = (struct thumb_pixels){0};
}

struct item {
	struct item *next;
	enum item_kind kind;
	unsigned page;
	struct scanner_frame frame; /* PAGE_BEGIN, PAGE_DONE */
	enum scanner_status status; /* JOB_END */
	/* LINES: a pool chunk */
	uint8_t *buf;
	size_t cap;
	size_t lines;
	/* PAGE_END */
	uint64_t last_line_ns;
	struct page_verdict verdict;
	struct thumb_pixels thumb;
	/* PAGE_STREAM */
	struct page_pipe *pipe;
};

/*
 * A page's JPEG on its way from the encoder to the finisher, chunk by chunk
 * while it is encoded: the finisher hashes the chunks as they come, so a page
 * is ready moments after its last line. Guarded by the
 * job's lock. The encoder closes it; the finisher frees it once closed.
 */
struct page_pipe {
	pthread_cond_t cond;
	struct jpeg_chunk *head, *tail; /* published, not yet taken */
	bool closed;
	bool failed; /* the page is abandoned */
	/* set when closed */
	size_t jpeg_size;
	uint32_t height;
	uint64_t last_line_ns;
	struct page_verdict verdict;
	struct thumb_pixels thumb;
	bool want_gray;
};

struct queue {
	struct item *head, *tail;
	size_t len;
	pthread_cond_t cond;
};

struct event_node {
	struct event_node *next;
	struct scan_event ev;
};

/* What the JPEG sink needs to publish a chunk. */
struct sink_ctx {
	struct scan_job *job;
	struct page_pipe *pipe;
};

/* The encoder's state for the page being encoded. */
struct encoding {
	bool active;
	bool broken; /* out of memory: the page cannot be stored */
	unsigned page;
	struct scanner_frame frame;
	struct jpeg_stream *js; /* known height: encoded as lines arrive */
	struct page_pipe *pipe; /* where js's output goes */
	uint8_t *raw;           /* unknown height: kept until the page ends */
	struct sink_ctx sink;   /* js's output: this page's pipe */
	size_t raw_cap, raw_len;
	uint32_t lines;
};

struct scan_job {
	struct scanner *scanner;
	struct scan_options opts;
	scan_job_notify_fn notify;
	void *userdata;

	pthread_mutex_t lock;
	struct queue pool;     /* free chunks */
	size_t pool_allocated; /* chunks in existence */
	pthread_cond_t pool_cond;
	struct queue to_encoder;
	struct queue to_finisher;
	pthread_cond_t finisher_space;

	struct event_node *ev_head, *ev_tail;
	pthread_cond_t ev_cond;
	bool finished_taken;

	struct sha256 *sha; /* the finisher's */
	bool unwinding;     /* scan_job_start() failed: no notifications */
	atomic_bool cancelled;
	enum scanner_status internal_status; /* a failure of our own (memory) */
	unsigned lost_page;                  /* the page it cost */
	unsigned pages_done;

	pthread_t reader, encoder, finisher;
};

void scan_options_init(struct scan_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->source = SCANNER_SOURCE_FLATBED;
	opts->color = SCAN_COLOR_AUTO;
	opts->dpi = 300;
	opts->width_mm = 210.0;
	opts->height_mm = 297.0;
	opts->quality = 75;
	opts->max_pages = 0;
	opts->thumb_min = 256;
}

void scan_page_destroy(struct scan_page *page)
{
	if (!page)
		return;
	secmem_free(page->jpeg, page->facts.bytes);
	secmem_free(page->thumb, (size_t)page->thumb_width * page->thumb_height * 3);
	secmem_free(page, sizeof(*page));
}

static void item_free(struct item *it)
{
	if (!it)
		return;
	secmem_free(it->buf, it->cap);
	if (it->pipe) {
		/* A page the finisher never took: only when the job is torn down
		 * before its threads ran. */
		for (struct jpeg_chunk *c = it->pipe->head; c;) {
			struct jpeg_chunk *next = c->next;
			jpeg_chunk_free(c);
			c = next;
		}
		pthread_cond_destroy(&it->pipe->cond);
		free(it->pipe);
	}
	free(it);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void queue_push(struct queue *q, struct item *it)
{
	it->next = NULL;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->len++;
	pthread_cond_signal(&q->cond);
}

static struct item *queue_pop(struct queue *q)
{
	struct item *it = q->head;
	if (it) {
		q->head = it->next;
		if (!q->head)
			q->tail = NULL;
		q->len--;
		it->next = NULL;
	}
	return it;
}

static void queue_free(struct queue *q)
{
	struct item *it;
	while ((it = queue_pop(q)))
		item_free(it);
}

static void post_event(struct scan_job *job, const struct scan_event *ev)
{
	pthread_mutex_lock(&job->lock);
	/* Progress of the same page replaces the progress not yet taken: the
	 * queue stays short however slow the owner is. */
	if (ev->kind == SCAN_EVENT_PROGRESS && job->ev_tail &&
	    job->ev_tail->ev.kind == SCAN_EVENT_PROGRESS && job->ev_tail->ev.page == ev->page) {
		job->ev_tail->ev = *ev;
		pthread_mutex_unlock(&job->lock);
		return;
	}
	struct event_node *node = calloc(1, sizeof(*node));
	if (!node) {
		/* Only progress may be dropped; a page or the end must arrive. */
		pthread_mutex_unlock(&job->lock);
		if (ev->kind == SCAN_EVENT_PROGRESS || ev->kind == SCAN_EVENT_PAGE_STARTED)
			return;
		for (;;) {
			struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
			node = calloc(1, sizeof(*node));
			if (node)
				break;
		}
		pthread_mutex_lock(&job->lock);
	}
	node->ev = *ev;
	if (job->ev_tail)
		job->ev_tail->next = node;
	else
		job->ev_head = node;
	job->ev_tail = node;
	pthread_cond_signal(&job->ev_cond);
	bool notify = job->notify && !job->unwinding;
	pthread_mutex_unlock(&job->lock);
	if (notify)
		job->notify(job->userdata);
}

static void send_item(struct scan_job *job, struct queue *q, struct item *it)
{
	pthread_mutex_lock(&job->lock);
	queue_push(q, it);
	pthread_mutex_unlock(&job->lock);
}

static struct item *receive_item(struct scan_job *job, struct queue *q)
{
	pthread_mutex_lock(&job->lock);
	while (!q->head)
		pthread_cond_wait(&q->cond, &job->lock);
	struct item *it = queue_pop(q);
	if (q == &job->to_finisher)
		pthread_cond_signal(&job->finisher_space);
	pthread_mutex_unlock(&job->lock);
	return it;
}

/* A control item that must not be lost: waits for memory rather than failing. */
static struct item *item_new(enum item_kind kind, unsigned page)
{
	struct item *it;
	while (!(it = calloc(1, sizeof(*it)))) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	it->kind = kind;
	it->page = page;
	return it;
}

/* A free chunk able to hold at least one line of stride bytes. NULL when the
 * job is cancelled or memory is short (*status says which). */
static struct item *take_chunk(struct scan_job *job, size_t stride, enum scanner_status *status)
{
	struct item *it = NULL;
	pthread_mutex_lock(&job->lock);
	for (;;) {
		if (atomic_load(&job->cancelled)) {
			*status = SCANNER_CANCELLED;
			break;
		}
		it = queue_pop(&job->pool);
		if (it)
			break;
		if (job->pool_allocated < POOL_CHUNKS) {
			it = calloc(1, sizeof(*it));
			if (it)
				job->pool_allocated++;
			else
				*status = SCANNER_NO_MEMORY;
			break;
		}
		pthread_cond_wait(&job->pool_cond, &job->lock);
	}
	pthread_mutex_unlock(&job->lock);
	if (!it)
		return NULL;
	size_t want = stride > CHUNK_BYTES ? stride : CHUNK_BYTES;
	if (it->cap < want) {
		secmem_free(it->buf, it->cap);
		it->cap = 0;
		it->buf = malloc(want);
		if (!it->buf) {
			free(it);
			pthread_mutex_lock(&job->lock);
			job->pool_allocated--;
			pthread_mutex_unlock(&job->lock);
			*status = SCANNER_NO_MEMORY;
			return NULL;
		}
		it->cap = want;
	}
	it->kind = ITEM_LINES;
	it->lines = 0;
	return it;
}

static void return_chunk(struct scan_job *job, struct item *it)
{
	pthread_mutex_lock(&job->lock);
	queue_push(&job->pool, it);
	pthread_cond_signal(&job->pool_cond);
	pthread_mutex_unlock(&job->lock);
}

/* JPEG's limit on either side. */
#define MAX_SIDE 65500

static bool frame_valid(const struct scanner_frame *f)
{
	return f->width > 0 && f->width <= MAX_SIDE && (f->channels == 1 || f->channels == 3) &&
	       f->stride == (size_t)f->width * f->channels && f->height != 0 && f->height >= -1 &&
	       f->height <= MAX_SIDE;
}

/* Reads one page into chunks for the encoder, measuring colour and blankness on
 * the way (the reader waits on the device most of the time; the encoder is the
 * busiest thread). Returns PAGE_DONE or why not. */
static enum scanner_status read_page(struct scan_job *job, unsigned page,
                                     const struct scanner_frame *frame,
                                     struct page_analysis *analysis, struct thumbnail *thumb)
{
	uint32_t done = 0;
	enum scanner_status st = SCANNER_OK;
	while (st == SCANNER_OK) {
		struct item *chunk = take_chunk(job, frame->stride, &st);
		if (!chunk)
			return st;
		/* Fill the chunk before handing it on: a device gives a few lines a
		 * read, and one hand-over (a wake-up, an event) per read would cost
		 * more than the lines. */
		size_t room = chunk->cap / frame->stride, filled = 0;
		while (filled < room && st == SCANNER_OK) {
			size_t lines = 0;
			st = scanner_read_lines(job->scanner, chunk->buf + filled * frame->stride,
			                        room - filled, &lines);
			filled += lines;
		}
		if (filled == 0 || (st != SCANNER_OK && st != SCANNER_PAGE_DONE)) {
			/* A failed page is discarded whole: its last lines too. */
			return_chunk(job, chunk);
			continue;
		}
		page_analysis_add(analysis, chunk->buf, filled, frame->stride);
		thumbnail_add(thumb, chunk->buf, filled, frame->stride);
		chunk->lines = filled;
		chunk->page = page;
		done += (uint32_t)filled;
		send_item(job, &job->to_encoder, chunk);
		post_event(job, &(struct scan_event){.kind = SCAN_EVENT_PROGRESS,
		                                     .page = page,
		                                     .lines_done = done,
		                                     .lines_total = frame->height});
	}
	return st;
}

static void *reader_main(void *arg)
{
	struct scan_job *job = arg;
	pthread_setname_np(pthread_self(), "scan-reader");
	enum scanner_status status = SCANNER_OK;
	unsigned page = 0;
	bool flatbed = job->opts.source == SCANNER_SOURCE_FLATBED;
	unsigned max_pages = job->opts.max_pages ? job->opts.max_pages : flatbed ? 1 : 0;

	while (!max_pages || page < max_pages) {
		if (atomic_load(&job->cancelled)) {
			status = SCANNER_CANCELLED;
			break;
		}
		struct scanner_frame frame;
		enum scanner_status st = scanner_start_page(job->scanner, &frame);
		if (st == SCANNER_FEEDER_EMPTY) {
			/* The normal end of a feeder batch, unless nothing was scanned. */
			if (page == 0)
				status = st;
			break;
		}
		if (st == SCANNER_OK && !frame_valid(&frame)) {
			log_warning(
			        "scanner reported an unusable frame: %u px, %u channels, %d lines",
			        frame.width, frame.channels, frame.height);
			st = SCANNER_IO_ERROR;
		}
		if (st != SCANNER_OK) {
			status = st;
			break;
		}
		page++;
		post_event(job, &(struct scan_event){.kind = SCAN_EVENT_PAGE_STARTED,
		                                     .page = page,
		                                     .lines_total = frame.height});
		struct item *begin = item_new(ITEM_PAGE_BEGIN, page);
		begin->frame = frame;
		send_item(job, &job->to_encoder, begin);

		struct page_analysis analysis;
		page_analysis_init(&analysis, frame.width, frame.channels);
		struct thumbnail thumb;
		if (thumbnail_init(&thumb, frame.width, frame.height, frame.channels,
		                   job->opts.thumb_min) < 0)
			thumb.failed = true; /* the finisher reports the page lost */
		st = read_page(job, page, &frame, &analysis, &thumb);
		if (st != SCANNER_PAGE_DONE) {
			page_analysis_finish(&analysis);
			thumbnail_finish(&thumb);
			send_item(job, &job->to_encoder, item_new(ITEM_PAGE_ABORT, page));
			page--;
			/* No paper at the start of a feeder page ends the batch. */
			if (st != SCANNER_FEEDER_EMPTY || page == 0)
				status = st;
			break;
		}
		struct item *end_page = item_new(ITEM_PAGE_END, page);
		end_page->last_line_ns = now_ns();
		page_analysis_verdict(&analysis, &end_page->verdict);
		page_analysis_finish(&analysis);
		if (thumbnail_take(&thumb, &end_page->thumb.rgb, &end_page->thumb.w,
		                   &end_page->thumb.h) < 0)
			end_page->thumb = (struct thumb_pixels){0};
		send_item(job, &job->to_encoder, end_page);
		if (flatbed)
			scanner_end_document(job->scanner);
	}
	scanner_end_document(job->scanner);
	if (status != SCANNER_OK && status != SCANNER_CANCELLED)
		log_info("scan ended after %u pages: %s", page, scanner_strerror(status));
	struct item *end = item_new(ITEM_JOB_END, page);
	end->status = status;
	send_item(job, &job->to_encoder, end);
	return NULL;
}

static void pipe_close(struct scan_job *job, struct page_pipe *pipe, bool failed)
{
	pthread_mutex_lock(&job->lock);
	pipe->closed = true;
	pipe->failed = failed;
	pthread_cond_signal(&pipe->cond);
	pthread_mutex_unlock(&job->lock);
}

static void encoding_reset(struct scan_job *job, struct encoding *e)
{
	jpeg_stream_destroy(e->js);
	if (e->pipe)
		pipe_close(job, e->pipe, true);
	secmem_free(e->raw, e->raw_cap);
	memset(e, 0, sizeof(*e));
}

/* Stops the job because page could not be stored (a failure of our own). */
static void fail_job(struct scan_job *job, enum scanner_status status, unsigned page)
{
	pthread_mutex_lock(&job->lock);
	if (job->internal_status == SCANNER_OK) {
		job->internal_status = status;
		job->lost_page = page;
	}
	pthread_mutex_unlock(&job->lock);
	scan_job_cancel(job);
}

static void pipe_sink(void *userdata, struct jpeg_chunk *chunk)
{
	struct page_pipe *pipe = ((struct sink_ctx *)userdata)->pipe;
	struct scan_job *job = ((struct sink_ctx *)userdata)->job;
	pthread_mutex_lock(&job->lock);
	if (pipe->tail)
		pipe->tail->next = chunk;
	else
		pipe->head = chunk;
	pipe->tail = chunk;
	pthread_cond_signal(&pipe->cond);
	pthread_mutex_unlock(&job->lock);
}

/* Starts the page's JPEG and hands its pipe to the finisher. */
static bool open_stream(struct scan_job *job, struct encoding *e, uint32_t height)
{
	struct page_pipe *pipe = calloc(1, sizeof(*pipe));
	if (!pipe)
		return false;
	pthread_cond_init(&pipe->cond, NULL);
	e->sink.job = job;
	e->sink.pipe = pipe;
	e->js = jpeg_stream_create_chunked(e->frame.width, height, e->frame.channels, e->frame.dpi,
	                                   job->opts.quality, pipe_sink, &e->sink);
	if (!e->js) {
		pthread_cond_destroy(&pipe->cond);
		free(pipe);
		return false;
	}
	e->pipe = pipe;
	struct item *it = item_new(ITEM_PAGE_STREAM, e->page);
	it->frame = e->frame;
	it->pipe = pipe;
	pthread_mutex_lock(&job->lock);
	while (job->to_finisher.len >= FINISH_QUEUE_MAX)
		pthread_cond_wait(&job->finisher_space, &job->lock);
	queue_push(&job->to_finisher, it);
	pthread_mutex_unlock(&job->lock);
	return true;
}

static void encode_begin(struct scan_job *job, struct encoding *e, const struct item *it)
{
	encoding_reset(job, e);
	e->active = true;
	e->page = it->page;
	e->frame = it->frame;
	if (it->frame.height > 0 && !open_stream(job, e, (uint32_t)it->frame.height))
		e->broken = true;
}

static void encode_lines(struct scan_job *job, struct encoding *e, const struct item *it)
{
	if (!e->active || e->broken)
		return;
	size_t stride = e->frame.stride;
	size_t bytes = it->lines * stride;
	e->lines += (uint32_t)it->lines;
	if (e->js ? jpeg_stream_write(e->js, it->buf, it->lines, stride) == 0
	          : secmem_grow(&e->raw, &e->raw_cap, e->raw_len + bytes, MAX_RAW_PAGE) == 0) {
		if (!e->js) {
			memcpy(e->raw + e->raw_len, it->buf, bytes);
			e->raw_len += bytes;
		}
		return;
	}
	/* Stop the scanner now rather than read the rest of a page that is lost;
	 * the page's end then only tidies up. */
	e->broken = true;
	log_warning("page %u could not be encoded (out of memory)", e->page);
	fail_job(job, SCANNER_NO_MEMORY, e->page);
}

/* Completes the page's JPEG and closes its pipe with the page's facts. */
static void encode_end(struct scan_job *job, struct encoding *e, struct item *end)
{
	if (!e->active)
		return;
	if (!e->broken && !e->js && e->lines > 0) {
		if (!open_stream(job, e, e->lines) ||
		    jpeg_stream_write(e->js, e->raw, e->lines, e->frame.stride) < 0)
			e->broken = true;
	}
	if (e->lines == 0 || e->lines > MAX_SIDE) {
		/* Nothing a JPEG can hold: the device misbehaved. */
		unsigned page = e->page;
		log_warning("page %u: the scanner sent %u lines", page, e->lines);
		encoding_reset(job, e);
		fail_job(job, SCANNER_IO_ERROR, page);
		return;
	}
	uint8_t *unused = NULL;
	size_t size = 0;
	if (!e->js || e->broken || jpeg_stream_finish(e->js, &unused, &size) < 0) {
		unsigned page = e->page;
		if (!e->broken) /* else said when it broke */
			log_warning("page %u could not be encoded (out of memory)", page);
		encoding_reset(job, e);
		fail_job(job, SCANNER_NO_MEMORY, page);
		return;
	}
	uint32_t height = e->frame.height > 0 ? (uint32_t)e->frame.height : e->lines;
	if (e->frame.height > 0 && e->lines != (uint32_t)e->frame.height)
		log_warning("page %u: the scanner sent %u of %u lines; %s", e->page, e->lines,
		            height,
		            e->lines < height ? "the rest is white" : "the extra ones are dropped");
	struct page_pipe *pipe = e->pipe;
	pthread_mutex_lock(&job->lock);
	pipe->jpeg_size = size;
	pipe->height = height;
	pipe->last_line_ns = end->last_line_ns;
	pipe->verdict = end->verdict;
	pipe->thumb = end->thumb;
	end->thumb = (struct thumb_pixels){0};
	pipe->want_gray = e->frame.channels == 3 &&
	                  (job->opts.color == SCAN_COLOR_GRAY ||
	                   (job->opts.color == SCAN_COLOR_AUTO && !end->verdict.is_color));
	pthread_mutex_unlock(&job->lock);
	pipe_close(job, pipe, false);
	e->pipe = NULL;
	encoding_reset(job, e);
}

static void *encoder_main(void *arg)
{
	struct scan_job *job = arg;
	pthread_setname_np(pthread_self(), "scan-encoder");
	struct encoding e;
	memset(&e, 0, sizeof(e));
	for (;;) {
		struct item *it = receive_item(job, &job->to_encoder);
		switch (it->kind) {
		case ITEM_PAGE_BEGIN:
			encode_begin(job, &e, it);
			item_free(it);
			break;
		case ITEM_LINES:
			encode_lines(job, &e, it);
			return_chunk(job, it);
			break;
		case ITEM_PAGE_END:
			encode_end(job, &e, it);
			thumb_pixels_free(&it->thumb); /* when the page was not stored */
			item_free(it);
			break;
		case ITEM_PAGE_ABORT:
			encoding_reset(job, &e);
			item_free(it);
			break;
		case ITEM_JOB_END:
			encoding_reset(job, &e);
			send_item(job, &job->to_finisher, it);
			return NULL;
		default:
			item_free(it);
			break;
		}
	}
}

/* The finisher's view of a page pipe: the chunks it took, in order. */
struct pipe_reader {
	struct scan_job *job;
	struct page_pipe *pipe;
	struct jpeg_chunk *taken, *last;
	struct sha256 *sha;
	bool hash_failed;
};

/* jpeg_source_fn: the next chunk of the page, waiting for the encoder. */
static bool take_chunk_from_pipe(void *userdata, const uint8_t **data, size_t *len)
{
	struct pipe_reader *r = userdata;
	pthread_mutex_lock(&r->job->lock);
	while (!r->pipe->head && !r->pipe->closed)
		pthread_cond_wait(&r->pipe->cond, &r->job->lock);
	struct jpeg_chunk *c = r->pipe->head;
	if (c) {
		r->pipe->head = c->next;
		if (!r->pipe->head)
			r->pipe->tail = NULL;
		c->next = NULL;
	}
	pthread_mutex_unlock(&r->job->lock);
	if (!c)
		return false;
	if (r->last)
		r->last->next = c;
	else
		r->taken = c;
	r->last = c;
	if (!sha256_update(r->sha, c->data, c->len))
		r->hash_failed = true;
	*data = c->data;
	*len = c->len;
	return true;
}

/* Joins the chunks into the page's JPEG. */
static uint8_t *assemble(struct jpeg_chunk *chunks, size_t size)
{
	uint8_t *out = malloc(size ? size : 1);
	if (!out)
		return NULL;
	size_t at = 0;
	for (struct jpeg_chunk *c = chunks; c; c = c->next) {
		if (c->len > size - at) {
			secmem_free(out, size);
			return NULL;
		}
		memcpy(out + at, c->data, c->len);
		at += c->len;
	}
	if (at != size) {
		secmem_free(out, size);
		return NULL;
	}
	return out;
}

/* Hash while the page is encoded, then grey conversion when the page has no
 * colour. Returns the page, or NULL (*abandoned when the encoder
 * gave the page up, which is not a failure of the finisher). */
static struct scan_page *finish_page(struct scan_job *job, struct item *it, struct sha256 *sha,
                                     bool *abandoned)
{
	struct page_pipe *pipe = it->pipe;
	struct pipe_reader r = {.job = job, .pipe = pipe, .sha = sha};
	struct scan_page *page = calloc(1, sizeof(*page));
	/* Take every chunk, and so wait for the encoder's verdict. */
	const uint8_t *data;
	size_t len;
	while (take_chunk_from_pipe(&r, &data, &len))
		;
	*abandoned = pipe->failed;
	uint8_t *jpeg = NULL;
	size_t jpeg_size = pipe->jpeg_size;
	if (!page || !pipe->thumb.rgb || pipe->failed)
		goto fail;
	page->thumb = pipe->thumb.rgb;
	page->thumb_width = pipe->thumb.w;
	page->thumb_height = pipe->thumb.h;
	pipe->thumb = (struct thumb_pixels){0};
	jpeg = assemble(r.taken, jpeg_size);
	if (!jpeg)
		goto fail;
	if (!sha256_final(sha, page->facts.sha256) || r.hash_failed)
		goto fail;
	if (pipe->want_gray) {
		uint8_t *gray = NULL;
		size_t gray_size = 0;
		if (jpeg_to_gray(jpeg, jpeg_size, &gray, &gray_size) < 0 ||
		    !sha256_digest(gray, gray_size, page->facts.sha256)) {
			secmem_free(gray, gray_size);
			goto fail;
		}
		secmem_free(jpeg, jpeg_size);
		jpeg = gray;
		jpeg_size = gray_size;
		thumbnail_to_gray(page->thumb, (size_t)page->thumb_width * page->thumb_height);
	}
	page->number = it->page;
	page->facts.width = it->frame.width;
	page->facts.height = pipe->height;
	page->facts.dpi = it->frame.dpi;
	page->facts.bytes = jpeg_size;
	page->facts.blank_score = pipe->verdict.blank_score;
	page->facts.blank = pipe->verdict.blank;
	page->facts.color_score = pipe->verdict.color_score;
	page->facts.scanned_color = it->frame.channels == 3;
	page->facts.stored_color = it->frame.channels == 3 && !pipe->want_gray;
	page->jpeg = jpeg;
	page->last_line_ns = pipe->last_line_ns;
	page->ready_ns = now_ns();
	jpeg = NULL;
	goto out;
fail:
	scan_page_destroy(page);
	page = NULL;
	uint8_t discard[SHA256_BYTES];
	if (!sha256_final(sha, discard)) /* resets it for the next page */
		log_warning("SHA-256 context could not be reset");
out:
	secmem_free(jpeg, jpeg_size);
	for (struct jpeg_chunk *c = r.taken; c;) {
		struct jpeg_chunk *next = c->next;
		jpeg_chunk_free(c);
		c = next;
	}
	thumb_pixels_free(&pipe->thumb);
	pthread_cond_destroy(&pipe->cond);
	free(pipe);
	it->pipe = NULL;
	return page;
}

static void *finisher_main(void *arg)
{
	struct scan_job *job = arg;
	pthread_setname_np(pthread_self(), "scan-finisher");
	for (;;) {
		struct item *it = receive_item(job, &job->to_finisher);
		if (it->kind == ITEM_JOB_END) {
			pthread_mutex_lock(&job->lock);
			enum scanner_status status = job->internal_status;
			unsigned pages = job->pages_done;
			pthread_mutex_unlock(&job->lock);
			if (status == SCANNER_OK)
				status = it->status;
			item_free(it);
			post_event(job, &(struct scan_event){.kind = SCAN_EVENT_FINISHED,
			                                     .status = status,
			                                     .pages_done = pages});
			return NULL;
		}
		bool abandoned = false;
		unsigned number = it->page;
		struct scan_page *page = finish_page(job, it, job->sha, &abandoned);
		item_free(it);
		pthread_mutex_lock(&job->lock);
		bool after_lost = job->internal_status != SCANNER_OK && number > job->lost_page;
		pthread_mutex_unlock(&job->lock);
		if (page && after_lost) {
			/* After a page was lost, later ones are not delivered either: the
			 * owner gets pages 1..n without a hole and rescans from n + 1. */
			scan_page_destroy(page);
			continue;
		}
		if (!page) {
			if (!abandoned) {
				log_warning("page could not be finished (out of memory or a JPEG "
				            "error)");
				fail_job(job, SCANNER_NO_MEMORY, number);
			}
			continue;
		}
		pthread_mutex_lock(&job->lock);
		job->pages_done++;
		pthread_mutex_unlock(&job->lock);
		post_event(job, &(struct scan_event){.kind = SCAN_EVENT_PAGE_READY,
		                                     .page = page->number,
		                                     .result = page});
	}
}

static enum scanner_status configure(struct scan_job *job)
{
	const struct scan_options *o = &job->opts;
	if ((unsigned)o->source >= SCANNER_SOURCE_LAST || (unsigned)o->color >= SCAN_COLOR_LAST ||
	    o->quality < 1 || o->quality > 100 || o->dpi == 0 || !(o->width_mm > 0) ||
	    !(o->height_mm > 0))
		return SCANNER_INVALID;
	struct scanner_caps caps;
	scanner_caps(job->scanner, &caps);
	struct scanner_settings want = {
	        .source = o->source,
	        .mode = o->color == SCAN_COLOR_GRAY ? SCANNER_MODE_GRAY : SCANNER_MODE_COLOR,
	        .dpi = o->dpi,
	        .width_mm = o->width_mm,
	        .height_mm = o->height_mm,
	};
	/* A grey-only device still serves colour requests: its pages are grey. A
	 * colour-only device serves grey ones: the finisher converts. */
	if (!(caps.modes & (1u << want.mode)))
		want.mode = want.mode == SCANNER_MODE_GRAY ? SCANNER_MODE_COLOR : SCANNER_MODE_GRAY;
	struct scanner_settings applied;
	enum scanner_status st = scanner_configure(job->scanner, &want, &applied);
	if (st == SCANNER_OK)
		log_info("scan settings: %s, %s, %u dpi, %.0f x %.0f mm",
		         scanner_source_name(applied.source), scanner_mode_name(applied.mode),
		         applied.dpi, applied.width_mm, applied.height_mm);
	return st;
}

static void job_free(struct scan_job *job)
{
	queue_free(&job->pool);
	queue_free(&job->to_encoder);
	queue_free(&job->to_finisher);
	sha256_destroy(job->sha);
	struct event_node *n = job->ev_head;
	while (n) {
		struct event_node *next = n->next;
		scan_page_destroy(n->ev.result);
		free(n);
		n = next;
	}
	pthread_cond_destroy(&job->pool.cond);
	pthread_cond_destroy(&job->pool_cond);
	pthread_cond_destroy(&job->to_encoder.cond);
	pthread_cond_destroy(&job->to_finisher.cond);
	pthread_cond_destroy(&job->finisher_space);
	pthread_cond_destroy(&job->ev_cond);
	pthread_mutex_destroy(&job->lock);
	free(job);
}

struct scan_job *scan_job_start(struct scanner *scanner, const struct scan_options *opts,
                                scan_job_notify_fn notify, void *userdata,
                                enum scanner_status *status)
{
	*status = SCANNER_NO_MEMORY;
	struct scan_job *job = calloc(1, sizeof(*job));
	if (!job)
		return NULL;
	job->scanner = scanner;
	job->opts = *opts;
	job->notify = notify;
	job->userdata = userdata;
	atomic_init(&job->cancelled, false);
	pthread_mutex_init(&job->lock, NULL);
	pthread_cond_init(&job->pool.cond, NULL);
	pthread_cond_init(&job->pool_cond, NULL);
	pthread_cond_init(&job->to_encoder.cond, NULL);
	pthread_cond_init(&job->to_finisher.cond, NULL);
	pthread_cond_init(&job->finisher_space, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&job->ev_cond, &attr);
	pthread_condattr_destroy(&attr);

	job->sha = sha256_create();
	if (!job->sha) {
		job_free(job);
		return NULL;
	}
	*status = configure(job);
	if (*status != SCANNER_OK) {
		job_free(job);
		return NULL;
	}
	void *(*const mains[3])(void *) = {finisher_main, encoder_main, reader_main};
	pthread_t *threads[3] = {&job->finisher, &job->encoder, &job->reader};
	/* Signals belong to the owner's thread: a SIGINT landing in the reader
	 * would interrupt the device's I/O instead of asking for a cancel. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int started = 0;
	while (started < 3 && pthread_create(threads[started], NULL, mains[started], job) == 0)
		started++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (started < 3) {
		/* Unwind the threads already waiting on their queues, quietly. */
		pthread_mutex_lock(&job->lock);
		job->unwinding = true;
		pthread_mutex_unlock(&job->lock);
		if (started > 0) {
			struct item *end = item_new(ITEM_JOB_END, 0);
			end->status = SCANNER_NO_MEMORY;
			send_item(job, started == 1 ? &job->to_finisher : &job->to_encoder, end);
		}
		for (int j = 0; j < started; j++)
			pthread_join(*threads[j], NULL);
		job_free(job);
		*status = SCANNER_NO_MEMORY;
		return NULL;
	}
	*status = SCANNER_OK;
	return job;
}

bool scan_job_next_event(struct scan_job *job, struct scan_event *ev, int timeout_ms)
{
	struct timespec deadline;
	if (timeout_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&job->lock);
	while (!job->ev_head && !job->finished_taken && timeout_ms != 0) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&job->ev_cond, &job->lock);
		} else if (pthread_cond_timedwait(&job->ev_cond, &job->lock, &deadline) ==
		           ETIMEDOUT) {
			break;
		}
	}
	struct event_node *node = job->ev_head;
	if (node) {
		job->ev_head = node->next;
		if (!job->ev_head)
			job->ev_tail = NULL;
		if (node->ev.kind == SCAN_EVENT_FINISHED)
			job->finished_taken = true;
	}
	pthread_mutex_unlock(&job->lock);
	if (!node)
		return false;
	*ev = node->ev;
	free(node);
	return true;
}

void scan_job_cancel(struct scan_job *job)
{
	if (atomic_exchange(&job->cancelled, true))
		return;
	scanner_cancel(job->scanner);
	pthread_mutex_lock(&job->lock);
	pthread_cond_broadcast(&job->pool_cond);
	pthread_mutex_unlock(&job->lock);
}

void scan_job_destroy(struct scan_job *job)
{
	if (!job)
		return;
	scan_job_cancel(job);
	/* Joined in the order data flows: each thread's last act is to pass on
	 * the end item, so none is left waiting. */
	pthread_join(job->reader, NULL);
	pthread_join(job->encoder, NULL);
	pthread_join(job->finisher, NULL);
	/* A cancel that arrived after the reader's last act must not stop the
	 * scanner's next job. */
	scanner_end_document(job->scanner);
	job_free(job);
}
