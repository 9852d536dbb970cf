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
	/* Noto Sans Arabic's line box from what its glyphs reach (see
	 * arabic_extent), pixels above and below the baseline. */
	int ar_ascent, ar_descent;
};

struct cache_entry {
	uint64_t hash;
	char *key; /* exact key text, for collisions */
	size_t key_len;
	SDL_Texture *tex;
	int w, h, ascent;
	SDL_Rect ink;
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

static SDL_Rect ink_of(const SDL_Surface *s);

/*
 * Noto Sans Arabic's own line metrics (ascent 1.375 em, descent 0.735 em)
 * leave room for marks stacked three high; right-to-left text would take
 * half as much height again as Latin text of the same size. The line box is
 * taken instead from what the letters reach: a sample with the tallest
 * letters, hamza and two marks above, and the deepest tails, rendered and
 * measured.
 */
static void arabic_extent(struct font_pair *p)
{
	TTF_Font *f = p->font[CLASS_ARABIC];
	p->ar_ascent = TTF_FontAscent(f);
	p->ar_descent = -TTF_FontDescent(f);
	TTF_SetFontDirection(f, TTF_DIRECTION_RTL);
	TTF_SetFontScriptName(f, "Arab");
	SDL_Surface *s = TTF_RenderUTF8_Blended(f,
	                                        "\u0644\u064e\u0651\u0623\u064f\u0622\u0625\u0650 "
	                                        "\u064a\u062c\u0639\u063a\u0642\u0637\u0643\u064b",
	                                        (SDL_Color){0, 0, 0, 255});
	if (!s)
		return;
	SDL_Surface *argb = SDL_ConvertSurfaceFormat(s, SDL_PIXELFORMAT_ARGB8888, 0);
	SDL_FreeSurface(s);
	if (!argb)
		return;
	SDL_Rect ink = ink_of(argb);
	SDL_FreeSurface(argb);
	if (ink.h == 0)
		return;
	int lead = TTF_FontHeight(p->font[CLASS_LATIN]) / 20; /* a little air */
	p->ar_ascent = SDL_min(p->ar_ascent, TTF_FontAscent(f) - ink.y + lead);
	p->ar_descent = SDL_min(p->ar_descent, ink.y + ink.h - TTF_FontAscent(f) + lead);
}

static struct font_pair *pair_for(struct text *t, bool bold, int cap_px)
{
	for (size_t i = 0; i < t->font_count; i++) {
		if (t->fonts[i].bold == bold && t->fonts[i].cap_px == cap_px)
			return &t->fonts[i];
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
	arabic_extent(p);
	t->font_count++;
	return p;
}

static TTF_Font *font_for(struct text *t, bool bold, int cap_px, enum font_class cls)
{
	struct font_pair *p = pair_for(t, bold, cap_px);
	return p ? p->font[cls] : NULL;
}

static bool has_glyph(TTF_Font *font, FriBidiChar c)
{
	return font && TTF_GlyphIsProvided32(font, c);
}

/*
 * The font for each character: Arabic script in Noto Sans Arabic, letters and
 * digits of other scripts in Noto Sans, spaces and punctuation with their
 * neighbour (so a run is shaped as a whole); but a character the chosen face
 * has no glyph for goes to the other face when that one has it (Noto Sans
 * Arabic has no ( ) " ' ? % / ; or "…", Noto Sans no "،" or "؟"). *missing
 * (may be NULL) counts the characters neither face has.
 */
static enum font_class class_of(TTF_Font *const fonts[2], FriBidiChar c, FriBidiCharType type,
                                enum font_class prev, int *missing)
{
	enum font_class cls;
	if (is_arabic(c))
		cls = CLASS_ARABIC;
	else if (FRIBIDI_IS_LETTER(type) || FRIBIDI_IS_NUMBER(type))
		cls = CLASS_LATIN;
	else
		cls = prev;
	if (has_glyph(fonts[cls], c))
		return cls;
	enum font_class other = cls == CLASS_LATIN ? CLASS_ARABIC : CLASS_LATIN;
	if (has_glyph(fonts[other], c))
		return other;
	if (missing && fonts[cls] && fonts[other])
		(*missing)++;
	return cls;
}

/* Splits utf8 into runs in visual order. Returns the run count (0 on failure);
 * *chars receives the code points (caller frees with secmem_free). *missing
 * (may be NULL) receives the count of characters no font has a glyph for. */
static int make_runs(struct text *t, const char *utf8, const struct text_style *st,
                     FriBidiChar **chars, int *nchars, struct run runs[RUNS_MAX], int *missing)
{
	bool rtl = st->rtl;
	if (missing)
		*missing = 0;
	/* Both faces of this style (the first call may open them). */
	TTF_Font *fonts[2];
	fonts[CLASS_LATIN] = font_for(t, st->bold, st->cap_px, CLASS_LATIN);
	fonts[CLASS_ARABIC] = font_for(t, st->bold, st->cap_px, CLASS_ARABIC);
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
		enum font_class cls = class_of(fonts, us[i], types[i], prev, missing);
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
	/* What a customer typed passes through here: every copy is zeroed. */
	secmem_free(us, (bytes + 1) * sizeof(*us));
	secmem_free(types, (bytes + 1) * sizeof(*types));
	secmem_free(brackets, (bytes + 1) * sizeof(*brackets));
	secmem_free(levels, (bytes + 1) * sizeof(*levels));
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
	struct font_pair *p = pair_for(t, st->bold, st->cap_px);
	if (!p)
		return st->cap_px * 2;
	int latin = TTF_FontLineSkip(p->font[CLASS_LATIN]);
	if (!st->rtl)
		return latin;
	return SDL_max(latin, p->ar_ascent + p->ar_descent);
}

int text_ascent(struct text *t, const struct text_style *st)
{
	struct font_pair *p = pair_for(t, st->bold, st->cap_px);
	if (!p)
		return st->cap_px;
	int latin = TTF_FontAscent(p->font[CLASS_LATIN]);
	if (!st->rtl)
		return latin;
	return SDL_max(latin, p->ar_ascent);
}

int text_width(struct text *t, const char *utf8, const struct text_style *st)
{
	struct run runs[RUNS_MAX];
	FriBidiChar *us;
	int n;
	int count = make_runs(t, utf8, st, &us, &n, runs, NULL);
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

int text_missing_glyphs(struct text *t, const char *utf8, const struct text_style *st)
{
	struct run runs[RUNS_MAX];
	FriBidiChar *us;
	int n, missing = 0;
	(void)make_runs(t, utf8, st, &us, &n, runs, &missing);
	secmem_free(us, (size_t)n * sizeof(*us));
	return missing;
}

void text_texture_destroy(SDL_Texture *tex)
{
	if (!tex)
		return;
	int access = 0, h = 0, pitch = 0;
	void *pixels = NULL;
	if (SDL_QueryTexture(tex, NULL, &access, NULL, &h) == 0 &&
	    access == SDL_TEXTUREACCESS_STREAMING &&
	    SDL_LockTexture(tex, NULL, &pixels, &pitch) == 0) {
		secmem_zero(pixels, (size_t)pitch * (size_t)h);
		SDL_UnlockTexture(tex);
	}
	SDL_DestroyTexture(tex);
}

/* A texture of the surface's pixels. Private text: a streaming texture, so
 * text_texture_destroy() can overwrite it before SDL frees it. */
static SDL_Texture *texture_of(struct text *t, SDL_Surface *s, bool private)
{
	if (!private)
		return SDL_CreateTextureFromSurface(t->renderer, s);
	SDL_Texture *tex = SDL_CreateTexture(t->renderer, s->format->format,
	                                     SDL_TEXTUREACCESS_STREAMING, s->w, s->h);
	if (tex && SDL_UpdateTexture(tex, NULL, s->pixels, s->pitch) != 0) {
		text_texture_destroy(tex);
		tex = NULL;
	}
	return tex;
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
	int count = make_runs(t, utf8, st, &us, &n, runs, NULL);
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

/* The rectangle of the pixels that are not transparent (ARGB8888). */
static SDL_Rect ink_of(const SDL_Surface *s)
{
	int top = s->h, bottom = -1, left = s->w, right = -1;
	for (int y = 0; y < s->h; y++) {
		const uint32_t *row =
		        (const uint32_t *)((const uint8_t *)s->pixels + (size_t)y * s->pitch);
		for (int x = 0; x < s->w; x++) {
			if ((row[x] >> 24) == 0)
				continue;
			top = SDL_min(top, y);
			bottom = y;
			left = SDL_min(left, x);
			right = SDL_max(right, x);
		}
	}
	if (bottom < 0)
		return (SDL_Rect){0, 0, 0, 0};
	return (SDL_Rect){left, top, right - left + 1, bottom - top + 1};
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
				*out = (struct text_line){e->tex,    e->w,  e->h,
				                          e->ascent, false, e->ink};
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
	SDL_Texture *tex = texture_of(t, s, !cache);
	int w = s->w, hgt = s->h;
	SDL_Rect ink = ink_of(s);
	if (!cache)
		secmem_zero(s->pixels, (size_t)s->pitch * (size_t)s->h);
	SDL_FreeSurface(s);
	if (!tex)
		return false;
	SDL_SetTextureBlendMode(tex, SDL_BLENDMODE_BLEND);
	if (!cache) {
		*out = (struct text_line){tex, w, hgt, asc, true, ink};
		return true;
	}
	char *key = malloc(len);
	if (!key) {
		*out = (struct text_line){tex, w, hgt, asc, true, ink};
		return true;
	}
	memcpy(key, utf8, len);
	if (slot->tex)
		SDL_DestroyTexture(slot->tex);
	secmem_free(slot->key, slot->key_len);
	*slot = (struct cache_entry){h, key, len, tex, w, hgt, asc, ink, ++t->clock};
	*out = (struct text_line){tex, w, hgt, asc, false, ink};
	return true;
}

void text_line_release(struct text_line *line)
{
	if (line && line->owned && line->tex)
		text_texture_destroy(line->tex);
	if (line)
		memset(line, 0, sizeof(*line));
}
