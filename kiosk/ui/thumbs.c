/* thumbs.c - thumbnail textures of the session's pages (see ui.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "i18n.h"
#include "scan_job.h"
#include "ui.h"

static void drop(struct ui_thumb *t)
{
	/* Page content: zeroed before SDL frees it. */
	text_texture_destroy(t->tex);
	memset(t, 0, sizeof(*t));
}

void ui_thumbs_clear(struct ui *ui)
{
	for (size_t i = 0; i < UI_THUMBS_MAX; i++)
		drop(&ui->thumbs[i]);
}

static bool same(const struct ui_thumb *t, const struct scan_page *page, int turns)
{
	return t->page == page && t->pixels == page->thumb && t->turns == turns &&
	       memcmp(t->sha, page->facts.sha256, sizeof(t->sha)) == 0;
}

SDL_Texture *ui_thumb(struct ui *ui, const struct scan_page *page, int turns)
{
	if (!page || !page->thumb || page->thumb_width == 0 || page->thumb_height == 0)
		return NULL;
	struct ui_thumb *free_slot = NULL;
	for (size_t i = 0; i < UI_THUMBS_MAX; i++) {
		struct ui_thumb *t = &ui->thumbs[i];
		if (t->tex && same(t, page, turns))
			return t->tex;
		/* The same struct with another thumbnail (turned): the old one goes. */
		if (t->tex && t->page == page)
			drop(t);
		if (!free_slot && !t->tex)
			free_slot = t;
	}
	if (!free_slot) {
		/* Full: start over (the screens show far fewer at once). */
		ui_thumbs_clear(ui);
		free_slot = &ui->thumbs[0];
	}
	SDL_Texture *tex =
	        SDL_CreateTexture(ui->renderer, SDL_PIXELFORMAT_RGB24, SDL_TEXTUREACCESS_STREAMING,
	                          (int)page->thumb_width, (int)page->thumb_height);
	if (!tex)
		return NULL;
	SDL_UpdateTexture(tex, NULL, page->thumb, (int)page->thumb_width * 3);
	*free_slot =
	        (struct ui_thumb){.page = page, .pixels = page->thumb, .turns = turns, .tex = tex};
	memcpy(free_slot->sha, page->facts.sha256, sizeof(free_slot->sha));
	return tex;
}

const struct ui_widget *ui_page_tile(struct ui *ui, const char *id, SDL_Rect r,
                                     const struct scan_page *page, int turns, bool selected)
{
	const struct ui_theme *t = ui->theme;
	ui_fill(ui, r, t->panel);
	SDL_Texture *tex = ui_thumb(ui, page, turns);
	int pad = ui_mm(ui, 1);
	if (tex) {
		double sw = (double)(r.w - 2 * pad) / page->thumb_width;
		double sh = (double)(r.h - 2 * pad) / page->thumb_height;
		double s = sw < sh ? sw : sh;
		int w = (int)(page->thumb_width * s), h = (int)(page->thumb_height * s);
		SDL_Rect dst = {r.x + (r.w - w) / 2, r.y + (r.h - h) / 2, w, h};
		SDL_RenderCopy(ui->renderer, tex, NULL, &dst);
	}
	int bw = SDL_max(1, ui_mm(ui, t->border_mm));
	ui_frame(ui, r, selected ? t->focus : t->border, selected ? bw * 4 : bw);
	if (page && page->facts.blank) {
		/* Shown, never dropped: the customer decides. */
		SDL_Rect badge = {r.x + pad, r.y + r.h - ui_mm(ui, 9) - pad, r.w - 2 * pad,
		                  ui_mm(ui, 9)};
		ui_fill(ui, badge, t->danger_bg);
		ui->text_owner = (int)ui->widget_count; /* the tile, added below */
		ui_text_fit(ui, _("Empty?"), badge, t->danger_fg);
		ui->text_owner = -1;
	}
	return ui_widget_add(ui, id, UI_WIDGET_THUMB, r, true);
}
