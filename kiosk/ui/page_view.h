/*
 * page_view.h - the review screen's large page: the stored JPEG decoded at a
 * size that fits the view (libjpeg-turbo's DCT scaling, jpeg_thumbnail()), on
 * a worker thread, so the UI thread never waits on a decode (a 300 dpi A4
 * colour page takes tens of milliseconds, more than a frame).
 *
 * The UI thread asks for a page (page_view_want); the JPEG is copied, so the
 * session may change the page meanwhile. When the worker is done it calls
 * notify (from its thread: post an SDL event only); page_view_texture() then
 * turns the pixels into a texture. Until then the caller shows the thumbnail.
 *
 * Page content: the copied JPEG and the decoded pixels are zeroed when freed;
 * the texture is overwritten with zeros before it is destroyed. page_view_clear()
 * (the view closed, the session wiped) drops all of it; a decode still running
 * then throws its result away (zeroed) when it ends.
 *
 * Threads: every function but notify's caller runs on the UI thread.
 */
#ifndef SCANKIOSK_UI_PAGE_VIEW_H
#define SCANKIOSK_UI_PAGE_VIEW_H

#include <SDL.h>
#include <stdbool.h>

struct page_view;
struct scan_page;

/* Starts the worker thread. NULL (logged) when it cannot. */
struct page_view *page_view_create(void (*notify)(void *userdata), void *userdata);
/* Drops everything and joins the worker (it may finish one decode first). Accepts NULL. */
void page_view_destroy(struct page_view *pv);

/* The page decoded to fit w x h pixels: its texture when ready, else NULL
 * (a decode is asked for, or runs; notify follows). The texture belongs to the
 * view and stays valid until the next call or page_view_clear(). */
SDL_Texture *page_view_texture(struct page_view *pv, SDL_Renderer *renderer,
                               const struct scan_page *page, int w, int h);

/* Drops the texture, the pixels and the request (all zeroed). */
void page_view_clear(struct page_view *pv);

/* Decodes done so far (each logs its time at debug level). */
unsigned page_view_decodes(const struct page_view *pv);

#endif
