/* page_view.c - the large page, decoded off the UI thread (see page_view.h). */
#include "page_view.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jpeg.h"
#include "log.h"
#include "scan_job.h"
#include "secmem.h"
#include "text.h"

/* What is shown (or asked for): the page and its content, how it is turned,
 * the box it fits. */
struct key {
	const void *page;
	uint8_t sha[32];
	int turns;
	int w, h;
};

struct page_view {
	void (*notify)(void *userdata);
	void *userdata;
	SDL_Thread *thread;
	SDL_mutex *lock;
	SDL_cond *wake;

	/* Under lock. generation counts requests; a result of an older one is dropped. */
	bool quit;
	uint64_t generation;
	uint8_t *in; /* the request's JPEG copy (worker takes it) */
	size_t in_size;
	uint32_t min_side;
	uint8_t *out; /* the result: RGB, out_w x out_h */
	uint32_t out_w, out_h;
	uint64_t out_generation;
	unsigned decodes;

	/* UI thread only. */
	struct key want; /* requested (generation) or shown */
	bool requested;
	SDL_Texture *tex;
};

static bool same(const struct key *a, const struct key *b)
{
	return a->page == b->page && a->turns == b->turns && a->w == b->w && a->h == b->h &&
	       memcmp(a->sha, b->sha, sizeof(a->sha)) == 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int worker(void *arg)
{
	struct page_view *pv = arg;
	SDL_LockMutex(pv->lock);
	for (;;) {
		while (!pv->quit && !pv->in)
			SDL_CondWait(pv->wake, pv->lock);
		if (pv->quit)
			break;
		uint8_t *in = pv->in;
		size_t in_size = pv->in_size;
		uint32_t min_side = pv->min_side;
		uint64_t gen = pv->generation;
		pv->in = NULL;
		SDL_UnlockMutex(pv->lock);

		uint8_t *rgb = NULL;
		uint32_t w = 0, h = 0;
		uint64_t t0 = now_us();
		if (jpeg_thumbnail(in, in_size, min_side, &rgb, &w, &h) != 0) {
			log_warning("large page: the JPEG could not be decoded");
			rgb = NULL;
		}
		uint64_t us = now_us() - t0;
		secmem_free(in, in_size);

		SDL_LockMutex(pv->lock);
		pv->decodes++;
		log_debug("large page decoded to %" PRIu32 "x%" PRIu32 " in %" PRIu64 " us", w, h,
		          us);
		if (rgb && gen == pv->generation && !pv->quit) {
			secmem_free(pv->out, (size_t)pv->out_w * pv->out_h * 3);
			pv->out = rgb;
			pv->out_w = w;
			pv->out_h = h;
			pv->out_generation = gen;
			rgb = NULL;
		}
		secmem_free(rgb, (size_t)w * h * 3);
		if (pv->notify && !pv->quit)
			pv->notify(pv->userdata);
	}
	SDL_UnlockMutex(pv->lock);
	return 0;
}

struct page_view *page_view_create(void (*notify)(void *userdata), void *userdata)
{
	struct page_view *pv = calloc(1, sizeof(*pv));
	if (!pv)
		return NULL;
	pv->notify = notify;
	pv->userdata = userdata;
	pv->lock = SDL_CreateMutex();
	pv->wake = SDL_CreateCond();
	if (pv->lock && pv->wake)
		pv->thread = SDL_CreateThread(worker, "page-view", pv);
	if (!pv->thread) {
		log_error("large page: no worker thread: %s", SDL_GetError());
		page_view_destroy(pv);
		return NULL;
	}
	return pv;
}

static void drop_texture(struct page_view *pv)
{
	/* Page content: overwritten before SDL frees it. */
	text_texture_destroy(pv->tex);
	pv->tex = NULL;
}

void page_view_clear(struct page_view *pv)
{
	if (!pv)
		return;
	drop_texture(pv);
	memset(&pv->want, 0, sizeof(pv->want));
	pv->requested = false;
	if (!pv->lock)
		return;
	SDL_LockMutex(pv->lock);
	pv->generation++;
	secmem_free(pv->in, pv->in_size);
	pv->in = NULL;
	secmem_free(pv->out, (size_t)pv->out_w * pv->out_h * 3);
	pv->out = NULL;
	pv->out_w = pv->out_h = 0;
	SDL_UnlockMutex(pv->lock);
}

void page_view_destroy(struct page_view *pv)
{
	if (!pv)
		return;
	page_view_clear(pv);
	if (pv->thread) {
		SDL_LockMutex(pv->lock);
		pv->quit = true;
		SDL_CondSignal(pv->wake);
		SDL_UnlockMutex(pv->lock);
		SDL_WaitThread(pv->thread, NULL);
	}
	if (pv->wake)
		SDL_DestroyCond(pv->wake);
	if (pv->lock)
		SDL_DestroyMutex(pv->lock);
	free(pv);
}

unsigned page_view_decodes(const struct page_view *pv)
{
	if (!pv)
		return 0;
	SDL_LockMutex(pv->lock);
	unsigned n = pv->decodes;
	SDL_UnlockMutex(pv->lock);
	return n;
}

/* The page's size as seen (turned). */
static void seen_size(const struct scan_page *page, int turns, double *w, double *h)
{
	bool odd = turns & 1;
	*w = odd ? page->facts.height : page->facts.width;
	*h = odd ? page->facts.width : page->facts.height;
}

/* The longer side of the page fitted into w x h as seen: what the decode must
 * reach (turning does not change a side's length). */
static uint32_t fitted_long_side(const struct scan_page *page, int turns, int w, int h)
{
	double pw, ph;
	seen_size(page, turns, &pw, &ph);
	double s = SDL_min((double)w / pw, (double)h / ph);
	double side = SDL_max(pw, ph) * s;
	return side < 1 ? 1 : (uint32_t)(side + 0.5);
}

static void request(struct page_view *pv, const struct scan_page *page, const struct key *k)
{
	uint8_t *copy = malloc(page->facts.bytes);
	if (!copy) {
		log_warning("large page: out of memory");
		return;
	}
	memcpy(copy, page->jpeg, page->facts.bytes);
	SDL_LockMutex(pv->lock);
	pv->generation++;
	secmem_free(pv->in, pv->in_size);
	pv->in = copy;
	pv->in_size = page->facts.bytes;
	pv->min_side = fitted_long_side(page, k->turns, k->w, k->h);
	SDL_CondSignal(pv->wake);
	SDL_UnlockMutex(pv->lock);
	pv->want = *k;
	pv->requested = true;
}

/* The texture for k: there, made from the worker's pixels now, or NULL (asked for). */
static SDL_Texture *texture_for(struct page_view *pv, SDL_Renderer *renderer,
                                const struct scan_page *page, const struct key *k)
{
	if (pv->requested && same(&pv->want, k)) {
		if (pv->tex)
			return pv->tex;
	} else {
		/* Another page, a turned one, another size: start over. */
		page_view_clear(pv);
		request(pv, page, k);
		return NULL;
	}
	/* Asked for; is it there? */
	SDL_LockMutex(pv->lock);
	uint8_t *rgb = NULL;
	uint32_t rw = 0, rh = 0;
	if (pv->out && pv->out_generation == pv->generation) {
		rgb = pv->out;
		rw = pv->out_w;
		rh = pv->out_h;
		pv->out = NULL;
		pv->out_w = pv->out_h = 0;
	}
	SDL_UnlockMutex(pv->lock);
	if (!rgb)
		return NULL;
	pv->tex = SDL_CreateTexture(renderer, SDL_PIXELFORMAT_RGB24, SDL_TEXTUREACCESS_STREAMING,
	                            (int)rw, (int)rh);
	if (pv->tex) {
		SDL_UpdateTexture(pv->tex, NULL, rgb, (int)rw * 3);
		SDL_SetTextureScaleMode(pv->tex, SDL_ScaleModeLinear);
	} else {
		log_warning("large page: no texture: %s", SDL_GetError());
	}
	secmem_free(rgb, (size_t)rw * rh * 3);
	return pv->tex;
}

bool page_view_draw(struct page_view *pv, SDL_Renderer *renderer, const struct scan_page *page,
                    int quarter_turns, SDL_Rect box, SDL_Rect *shown)
{
	if (!pv || !page || !page->jpeg || !page->facts.bytes || !page->facts.width ||
	    !page->facts.height || box.w <= 0 || box.h <= 0)
		return false;
	int turns = ((quarter_turns % 4) + 4) % 4;
	struct key k = {.page = page, .turns = turns, .w = box.w, .h = box.h};
	memcpy(k.sha, page->facts.sha256, sizeof(k.sha));
	SDL_Texture *tex = texture_for(pv, renderer, page, &k);
	if (!tex)
		return false;
	double pw, ph;
	seen_size(page, turns, &pw, &ph);
	double s = SDL_min((double)box.w / pw, (double)box.h / ph);
	int w = (int)(pw * s), h = (int)(ph * s);
	SDL_Rect dst = {box.x + (box.w - w) / 2, box.y + (box.h - h) / 2, w, h};
	/* SDL turns the unturned rectangle about its centre into dst. */
	SDL_Rect ex = dst;
	if (turns & 1)
		ex = (SDL_Rect){dst.x + (w - h) / 2, dst.y + (h - w) / 2, h, w};
	SDL_RenderCopyEx(renderer, tex, NULL, &ex, 90.0 * turns, NULL, SDL_FLIP_NONE);
	if (shown)
		*shown = dst;
	return true;
}
