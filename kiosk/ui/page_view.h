/*
 * page_view.h - the review screen's large page: the stored JPEG decoded at a
 * size that fits the view (libjpeg-turbo's DCT scaling, jpeg_thumbnail()), on
 * a worker thread, so the UI thread never waits on a decode (a 300 dpi A4
 * colour page takes tens of milliseconds, more than a frame).
 *
 * The UI thread asks for a page (page_view_draw); the JPEG is copied, so the
 * session may change the page meanwhile. When the worker is done it calls
 * notify (from its thread: post an SDL event only); the next page_view_draw()
 * turns the pixels into a texture and draws it. Until then the caller shows
 * the thumbnail.
 *
 * Rotation: a page's JPEG stays as scanned until the commit
 * (session_page_rotate() only records quarter turns and turns the thumbnail),
 * so the view decodes the JPEG as it is and turns the texture when drawing.
 * The turns are part of what identifies the view: a page turned twice may get
 * its old struct's address back, with the same SHA-256.
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

/*
 * Draws page, turned quarter_turns * 90 degrees clockwise (0..3, what
 * session_page_rotation() says), as large as fits box and centred in it, and
 * returns true with *shown (may be NULL) the rectangle it covers. Returns
 * false while the decode for this page, turn and size is not there yet (it is
 * asked for, or runs; notify follows): draw the thumbnail meanwhile.
 */
bool page_view_draw(struct page_view *pv, SDL_Renderer *renderer, const struct scan_page *page,
                    int quarter_turns, SDL_Rect box, SDL_Rect *shown);

/* Drops the texture, the pixels and the request (all zeroed). */
void page_view_clear(struct page_view *pv);

/* Decodes done so far (each logs its time at debug level). */
unsigned page_view_decodes(const struct page_view *pv);

#endif
