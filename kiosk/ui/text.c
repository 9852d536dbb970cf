/* text.c - shaping, bidi and the texture cache (see text.h). */
#include "text.h"

#include <SDL_ttf.h>
#include <fribidi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "secmem.h"

#define FONTS_MAX      24
#define CACHE_MAX      160
#define TEXT_MAX_BYTES 4096
#define RUNS_MAX       64

enum font_class {
	CLASS_LATIN, /* Latin, Cyrillic, digits, common punctuation: Noto Sans */
	CLASS_ARABIC /* Noto Sans Arabic */
};

struct font_pair {
	bool bold;
	int cap_px;
	TTF_Font *font[2]; /* by enum font_class */
};

struct cache_entry {
	uint64_t hash;
	char *key; /* exact key text, for collisions */
	size_t key_len;
	SDL_Texture *tex;
	int w, h, ascent;
	uint64_t used;
};

struct text {
	SDL_Renderer *renderer;
	char path[2][2][512]; /* [class][bold] */
	double cap_ratio[2];  /* cap height / pixel size, per class */
	struct font_pair fonts[FONTS_MAX];
	size_t font_count;
	struct cache_entry cache[CACHE_MAX];
	uint64_t clock;
};

struct run {
	int start, len; /* in code points, logical order */
	FriBidiLevel level;
	enum font_class cls;
};

static bool is_arabic(FriBidiChar c)
{
	return (c >= 0x0600 && c <= 0x06ff) || (c >= 0x0750 && c <= 0x077f) ||
	       (c >= 0x08a0 && c <= 0x08ff) || (c >= 0xfb50 && c <= 0xfdff) ||
	       (c >= 0xfe70 && c <= 0xfeff);
}

static const char *script_of(const FriBidiChar *s, int len, enum font_class cls)
{
	if (cls == CLASS_ARABIC)
		return "Arab";
	for (int i = 0; i < len; i++) {
		if (s[i] >= 0x0400 && s[i] <= 0x052f)
			return "Cyrl";
	}
	return "Latn";
}

/* The cap height as a share of the point size; 0 when the font cannot be
 * opened. The one font opened at start: opening costs about a millisecond
 * each, and the first frame waits for it. */
static double measure_cap_ratio(const char *path)
{
	const int size = 200;
	double ratio = 0.714; /* Noto Sans */
	TTF_Font *f = TTF_OpenFont(path, size);
	if (!f)
		return 0;
	int minx, maxx, miny, maxy, adv;
	/* Arabic fonts have no 'H'; alef is about as tall as a Latin capital. */
	if (TTF_GlyphMetrics32(f, 'H', &minx, &maxx, &miny, &maxy, &adv) == 0 && maxy > 0)
		ratio = (double)maxy / size;
	else if (TTF_GlyphMetrics32(f, 0x0627, &minx, &maxx, &miny, &maxy, &adv) == 0 && maxy > 0)
		ratio = (double)maxy / size;
	TTF_CloseFont(f);
	return ratio;
}

struct text *text_create(SDL_Renderer *renderer, const char *font_dir)
{
	if (!TTF_WasInit() && TTF_Init() != 0) {
		log_error("TTF_Init: %s", TTF_GetError());
		return NULL;
	}
	struct text *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->renderer = renderer;
	static const char *const names[2][2] = {
	        {"NotoSans-Regular.ttf", "NotoSans-Bold.ttf"},
	        {"NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf"},
	};
	for (int c = 0; c < 2; c++) {
		for (int b = 0; b < 2; b++) {
			int n = snprintf(t->path[c][b], sizeof(t->path[c][b]), "%s/%s", font_dir,
			                 names[c][b]);
			/* The regular face is opened below; the bold one only
			 * needs to be there (it is opened when first drawn). */
			if (n < 0 || (size_t)n >= sizeof(t->path[c][b]) ||
			    (b == 1 && access(t->path[c][b], R_OK) != 0)) {
				log_error("font %s/%s: cannot be read", font_dir, names[c][b]);
				text_destroy(t);
				return NULL;
			}
		}
		t->cap_ratio[c] = measure_cap_ratio(t->path[c][0]);
		if (t->cap_ratio[c] <= 0) {
			log_error("font %s: %s", t->path[c][0], TTF_GetError());
			text_destroy(t);
			return NULL;
		}
	}
	return t;
}

void text_cache_clear(struct text *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < CACHE_MAX; i++) {
		struct cache_entry *e = &t->cache[i];
		if (e->tex)
			SDL_DestroyTexture(e->tex);
		secmem_free(e->key, e->key_len);
		memset(e, 0, sizeof(*e));
	}
}

void text_destroy(struct text *t)
{
	if (!t)
		return;
	text_cache_clear(t);
	for (size_t i = 0; i < t->font_count; i++) {
		for (int c = 0; c < 2; c++) {
			if (t->fonts[i].font[c])
				TTF_CloseFont(t->fonts[i].font[c]);
		}
	}
	free(t);
}

static TTF_Font *font_for(struct text *t, bool bold, int cap_px, enum font_class cls)
{
	for (size_t i = 0; i < t->font_count; i++) {
		if (t->fonts[i].bold == bold && t->fonts[i].cap_px == cap_px)
			return t->fonts[i].font[cls];
	}
	if (t->font_count == FONTS_MAX) {
		/* Sizes change only with the theme; start over. */
		for (size_t i = 0; i < t->font_count; i++) {
			for (int c = 0; c < 2; c++)
				TTF_CloseFont(t->fonts[i].font[c]);
		}
		t->font_count = 0;
	}
	struct font_pair *p = &t->fonts[t->font_count];
	p->bold = bold;
	p->cap_px = cap_px;
	for (int c = 0; c < 2; c++) {
		int px = (int)(cap_px / t->cap_ratio[c] + 0.5);
		p->font[c] = TTF_OpenFont(t->path[c][bold], px < 4 ? 4 : px);
		if (!p->font[c]) {
			log_error("font %s: %s", t->path[c][bold], TTF_GetError());
			if (c == 1)
				TTF_CloseFont(p->font[0]);
			return NULL;
		}
		TTF_SetFontHinting(p->font[c], TTF_HINTING_LIGHT);
	}
	t->font_count++;
	return p->font[cls];
}

/* Splits utf8 into runs in visual order. Returns the run count (0 on failure);
 * *chars receives the code points (caller frees with secmem_free). */
static int make_runs(const char *utf8, bool rtl, FriBidiChar **chars, int *nchars,
                     struct run runs[RUNS_MAX])
{
	size_t bytes = strnlen(utf8, TEXT_MAX_BYTES);
	*chars = NULL;
	*nchars = 0;
	if (bytes == 0)
		return 0;
	FriBidiChar *us = calloc(bytes + 1, sizeof(*us));
	FriBidiCharType *types = calloc(bytes + 1, sizeof(*types));
	FriBidiBracketType *brackets = calloc(bytes + 1, sizeof(*brackets));
	FriBidiLevel *levels = calloc(bytes + 1, sizeof(*levels));
	int count = 0;
	if (!us || !types || !brackets || !levels)
		goto out;
	FriBidiStrIndex len =
	        fribidi_charset_to_unicode(FRIBIDI_CHAR_SET_UTF8, utf8, (FriBidiStrIndex)bytes, us);
	if (len <= 0)
		goto out;
	fribidi_get_bidi_types(us, len, types);
	fribidi_get_bracket_types(us, len, types, brackets);
	FriBidiParType base = rtl ? FRIBIDI_PAR_RTL : FRIBIDI_PAR_LTR;
	if (fribidi_get_par_embedding_levels_ex(types, brackets, len, &base, levels) == 0)
		goto out;

	enum font_class prev = rtl ? CLASS_ARABIC : CLASS_LATIN;
	for (FriBidiStrIndex i = 0; i < len; i++) {
		enum font_class cls;
		if (is_arabic(us[i]))
			cls = CLASS_ARABIC;
		else if (FRIBIDI_IS_LETTER(types[i]) || FRIBIDI_IS_NUMBER(types[i]))
			cls = CLASS_LATIN;
		else
			cls = prev; /* spaces and punctuation stay with their neighbour */
		prev = cls;
		if (count > 0 && runs[count - 1].level == levels[i] && runs[count - 1].cls == cls) {
			runs[count - 1].len++;
			continue;
		}
		if (count == RUNS_MAX) {
			/* Absurdly mixed text: the rest joins the last run. */
			runs[count - 1].len++;
			continue;
		}
		runs[count++] = (struct run){.start = i, .len = 1, .level = levels[i], .cls = cls};
	}

	/* Unicode rule L2: from the highest level down to the lowest odd one,
	 * reverse every sequence of runs at that level or higher. */
	int max = 0, min_odd = 1000;
	for (int r = 0; r < count; r++) {
		if (runs[r].level > max)
			max = runs[r].level;
		if ((runs[r].level & 1) && runs[r].level < min_odd)
			min_odd = runs[r].level;
	}
	for (int lvl = max; lvl >= min_odd && lvl > 0; lvl--) {
		for (int r = 0; r < count;) {
			if (runs[r].level < lvl) {
				r++;
				continue;
			}
			int end = r;
			while (end < count && runs[end].level >= lvl)
				end++;
			for (int a = r, b = end - 1; a < b; a++, b--) {
				struct run tmp = runs[a];
				runs[a] = runs[b];
				runs[b] = tmp;
			}
			r = end;
		}
	}
	*chars = us;
	*nchars = len;
	us = NULL;
out:
	secmem_free(us, (bytes + 1) * sizeof(*us));
	free(types);
	free(brackets);
	free(levels);
	return *chars ? count : 0;
}

/* The UTF-8 text of one run, with the font prepared for it. */
static TTF_Font *prepare_run(struct text *t, const struct text_style *st, const FriBidiChar *us,
                             const struct run *run, char *buf, size_t cap)
{
	TTF_Font *font = font_for(t, st->bold, st->cap_px, run->cls);
	if (!font || (size_t)run->len * 4 + 1 > cap)
		return NULL;
	fribidi_unicode_to_charset(FRIBIDI_CHAR_SET_UTF8, us + run->start, run->len, buf);
	TTF_SetFontDirection(font, (run->level & 1) ? TTF_DIRECTION_RTL : TTF_DIRECTION_LTR);
	TTF_SetFontScriptName(font, script_of(us + run->start, run->len, run->cls));
	return font;
}

int text_height(struct text *t, const struct text_style *st)
{
	TTF_Font *a = font_for(t, st->bold, st->cap_px, CLASS_LATIN);
	TTF_Font *b = font_for(t, st->bold, st->cap_px, CLASS_ARABIC);
	if (!a || !b)
		return st->cap_px * 2;
	if (!st->rtl)
		return TTF_FontLineSkip(a);
	return SDL_max(TTF_FontLineSkip(a), TTF_FontLineSkip(b));
}

int text_ascent(struct text *t, const struct text_style *st)
{
	TTF_Font *a = font_for(t, st->bold, st->cap_px, CLASS_LATIN);
	TTF_Font *b = font_for(t, st->bold, st->cap_px, CLASS_ARABIC);
	if (!a || !b)
		return st->cap_px;
	if (!st->rtl)
		return TTF_FontAscent(a);
	return SDL_max(TTF_FontAscent(a), TTF_FontAscent(b));
}

int text_width(struct text *t, const char *utf8, const struct text_style *st)
{
	struct run runs[RUNS_MAX];
	FriBidiChar *us;
	int n;
	int count = make_runs(utf8, st->rtl, &us, &n, runs);
	int total = 0;
	char *buf = calloc((size_t)n * 4 + 1, 1);
	for (int r = 0; buf && r < count; r++) {
		TTF_Font *font = prepare_run(t, st, us, &runs[r], buf, (size_t)n * 4 + 1);
		int w = 0, h = 0;
		if (font && TTF_SizeUTF8(font, buf, &w, &h) == 0)
			total += w;
	}
	secmem_free(buf, (size_t)n * 4 + 1);
	secmem_free(us, (size_t)n * sizeof(*us));
	return total;
}

static SDL_Surface *render_runs(struct text *t, const char *utf8, const struct text_style *st,
                                bool private, int *ascent)
{
	struct run runs[RUNS_MAX];
	SDL_Surface *parts[RUNS_MAX] = {0};
	int asc[RUNS_MAX] = {0};
	FriBidiChar *us;
	int n;
	SDL_Surface *line = NULL;
	int count = make_runs(utf8, st->rtl, &us, &n, runs);
	size_t cap = (size_t)n * 4 + 1;
	char *buf = calloc(cap, 1);
	int width = 0, max_asc = 0, max_desc = 0;
	if (!buf || count == 0)
		goto out;
	for (int r = 0; r < count; r++) {
		TTF_Font *font = prepare_run(t, st, us, &runs[r], buf, cap);
		if (!font)
			goto out;
		parts[r] = TTF_RenderUTF8_Blended(font, buf, st->color);
		if (!parts[r])
			continue; /* a run of nothing but zero-width characters */
		asc[r] = TTF_FontAscent(font);
		width += parts[r]->w;
		max_asc = SDL_max(max_asc, asc[r]);
		max_desc = SDL_max(max_desc, parts[r]->h - asc[r]);
	}
	if (width == 0)
		goto out;
	line = SDL_CreateRGBSurfaceWithFormat(0, width, max_asc + max_desc, 32,
	                                      SDL_PIXELFORMAT_ARGB8888);
	if (!line)
		goto out;
	SDL_FillRect(line, NULL, 0);
	*ascent = max_asc;
	int x = 0;
	for (int r = 0; r < count; r++) {
		if (!parts[r])
			continue;
		SDL_SetSurfaceBlendMode(parts[r], SDL_BLENDMODE_NONE);
		SDL_Rect dst = {x, max_asc - asc[r], parts[r]->w, parts[r]->h};
		SDL_BlitSurface(parts[r], NULL, line, &dst);
		x += parts[r]->w;
	}
out:
	for (int r = 0; r < count; r++) {
		if (parts[r] && private && parts[r]->pixels)
			secmem_zero(parts[r]->pixels,
			            (size_t)parts[r]->pitch * (size_t)parts[r]->h);
		SDL_FreeSurface(parts[r]);
	}
	secmem_free(buf, cap);
	secmem_free(us, (size_t)n * sizeof(*us));
	return line;
}

static uint64_t key_hash(const char *s, size_t len, const struct text_style *st)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	uint64_t extra = ((uint64_t)st->cap_px << 32) | ((uint64_t)st->bold << 31) |
	                 ((uint64_t)st->rtl << 30) | ((uint64_t)st->color.r << 16) |
	                 ((uint64_t)st->color.g << 8) | st->color.b;
	h ^= extra;
	h *= 1099511628211ull;
	return h;
}

bool text_line(struct text *t, const char *utf8, const struct text_style *st, bool cache,
               struct text_line *out)
{
	memset(out, 0, sizeof(*out));
	if (!utf8 || !*utf8)
		return false;
	size_t len = strnlen(utf8, TEXT_MAX_BYTES);
	uint64_t h = 0;
	struct cache_entry *slot = NULL;
	if (cache) {
		h = key_hash(utf8, len, st);
		for (size_t i = 0; i < CACHE_MAX; i++) {
			struct cache_entry *e = &t->cache[i];
			if (e->tex && e->hash == h && e->key_len == len &&
			    memcmp(e->key, utf8, len) == 0) {
				e->used = ++t->clock;
				*out = (struct text_line){e->tex, e->w, e->h, e->ascent, false};
				return true;
			}
			if (!slot || !e->tex || (slot->tex && e->used < slot->used))
				slot = e;
		}
	}
	int asc = 0;
	SDL_Surface *s = render_runs(t, utf8, st, !cache, &asc);
	if (!s)
		return false;
	SDL_Texture *tex = SDL_CreateTextureFromSurface(t->renderer, s);
	int w = s->w, hgt = s->h;
	if (!cache)
		secmem_zero(s->pixels, (size_t)s->pitch * (size_t)s->h);
	SDL_FreeSurface(s);
	if (!tex)
		return false;
	SDL_SetTextureBlendMode(tex, SDL_BLENDMODE_BLEND);
	if (!cache) {
		*out = (struct text_line){tex, w, hgt, asc, true};
		return true;
	}
	char *key = malloc(len);
	if (!key) {
		*out = (struct text_line){tex, w, hgt, asc, true};
		return true;
	}
	memcpy(key, utf8, len);
	if (slot->tex)
		SDL_DestroyTexture(slot->tex);
	secmem_free(slot->key, slot->key_len);
	*slot = (struct cache_entry){h, key, len, tex, w, hgt, asc, ++t->clock};
	*out = (struct text_line){tex, w, hgt, asc, false};
	return true;
}

void text_line_release(struct text_line *line)
{
	if (line && line->owned && line->tex)
		SDL_DestroyTexture(line->tex);
	if (line)
		memset(line, 0, sizeof(*line));
}
