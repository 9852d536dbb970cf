/*
 * sim.c - the simulated scanner: replays image files as pages and injects the
 * faults real scanners have (jams, unplugging, an open cover, an empty feeder,
 * slow lines), for tests, fault drills and the demo. The spec grammar and the
 * behaviour are described in README.md beside this file.
 *
 * What survives closing and reopening the device lives in struct sim_driver:
 * the options, the paper left in the feeder and the armed faults, as paper and
 * a pulled cable would in the real world. What belongs to one open lives in
 * struct sim_scanner: settings, the page being read and the cancel request.
 */
#include "image.h"
#include "scanner.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define SIM_DEVICE_NAME "sim"

/* Bounds of what a spec may ask for; each is far above any sensible use. */
#define MAX_SPEC_LEN   65536
#define MAX_PAGE_FILES 1000
#define MAX_PATH_LEN   4096
#define MAX_SHEETS     100000
#define MAX_LINES      1000000
#define MAX_DELAY_US   10000000 /* ten seconds a line */
#define MAX_FAULT_PAGE 100000

#define MAX_WIDTH_MM  216.0 /* legal */
#define MAX_HEIGHT_MM 356.0

static const uint32_t dpi_list[] = {75, 100, 150, 200, 300, 600};
#define DPI_COUNT (sizeof(dpi_list) / sizeof(dpi_list[0]))

/* ---- options ------------------------------------------------------------ */

enum sim_key {
	KEY_PAGES,
	KEY_FEEDER,
	KEY_JAM_AFTER,
	KEY_GONE_AFTER,
	KEY_COVER_OPEN,
	KEY_LINE_DELAY,
	KEY_FAULT_PAGE,
	KEY_DUPLEX,
	KEY_LAST
};

enum key_type {
	TYPE_PAGES, /* comma-separated files and directories */
	TYPE_COUNT, /* whole number in [min, max] */
	TYPE_LINES, /* whole number in [min, max], or "off" */
	TYPE_BOOL,  /* no value (true), 1/0, true/false, yes/no, on/off */
};

static const struct key_desc {
	const char *name;
	enum key_type type;
	uint32_t min, max;
} keys[KEY_LAST] = {
        [KEY_PAGES] = {"pages", TYPE_PAGES, 0, 0},
        [KEY_FEEDER] = {"feeder", TYPE_COUNT, 0, MAX_SHEETS},
        [KEY_JAM_AFTER] = {"jam-after-lines", TYPE_LINES, 0, MAX_LINES},
        [KEY_GONE_AFTER] = {"gone-after-lines", TYPE_LINES, 0, MAX_LINES},
        [KEY_COVER_OPEN] = {"cover-open", TYPE_BOOL, 0, 0},
        [KEY_LINE_DELAY] = {"line-delay-us", TYPE_COUNT, 0, MAX_DELAY_US},
        [KEY_FAULT_PAGE] = {"fault-page", TYPE_COUNT, 1, MAX_FAULT_PAGE},
        [KEY_DUPLEX] = {"duplex", TYPE_BOOL, 0, 0},
};

struct page_list {
	char **paths;
	size_t count;
};

/* One parsed key=value, not yet applied. */
struct option_value {
	enum sim_key key;
	bool off;               /* TYPE_LINES: "off" */
	bool flag;              /* TYPE_BOOL */
	uint32_t number;        /* TYPE_COUNT, TYPE_LINES */
	struct page_list pages; /* TYPE_PAGES, owned until applied */
};

/* ---- driver and device -------------------------------------------------- */

struct sim_driver {
	struct scanner_driver base;
	struct page_list pages;
	uint32_t sheets;   /* paper left in the feeder */
	size_t cursor;     /* index of the next page file to feed */
	bool back_pending; /* duplex: the back of the last front is still to come */
	bool cover_open;
	bool duplex; /* feeder scans both sides, as source duplex does */
	uint32_t line_delay_us;
	bool jam_armed;
	uint32_t jam_after;
	bool gone_armed;
	uint32_t gone_after;
	uint32_t fault_page;  /* the armed faults hit this page, counted from arming */
	uint32_t fault_count; /* pages started since the faults were armed */
	struct sim_scanner *open_scanner;
};

enum sim_state {
	STATE_IDLE,      /* no page in progress; a document may continue */
	STATE_READING,   /* a page started; read_lines() delivers it */
	STATE_PAGE_DONE, /* the page was read to its end */
	STATE_FAILED,    /* a page failed or was cancelled; end_document() first */
	STATE_GONE,      /* the device vanished; every call fails until reopened */
	STATE_LAST
};

struct sim_scanner {
	struct scanner base;
	struct sim_driver *drv;
	struct scanner_settings settings;
	enum sim_state state;

	/* The page being read. */
	struct scanner_frame frame;
	struct sim_image img;     /* decoded sheet; no pixels for a blank one */
	uint32_t *xedge;          /* frame.width + 1 column edges in img pixels */
	uint32_t *sums;           /* frame.width * img.channels box sums */
	uint32_t line;            /* next line to deliver */
	uint32_t stop_line;       /* where the page ends or its fault hits */
	enum scanner_status stop; /* PAGE_DONE, JAMMED or DEVICE_GONE at stop_line */
	uint32_t line_delay_us;
	uint64_t page_start_ns;

	/* Cancel requests come from any thread. */
	atomic_bool cancelled;
	pthread_mutex_t lock;
	pthread_cond_t wake;
};

#define sim_log(drv, level, ...) scanner_log(&(drv)->base, level, __VA_ARGS__)

/* Copies at most max characters of s for a log line, control characters
 * replaced, so a hostile spec cannot forge log lines. */
static const char *printable(char *buf, size_t size, const char *s, size_t max)
{
	size_t n = 0;
	if (!s)
		s = "";
	for (; *s && n + 1 < size && n < max; s++, n++)
		buf[n] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
	if (*s && n + 4 < size) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static const char *state_name(enum sim_state state)
{
	static const char *const names[STATE_LAST] = {
	        [STATE_IDLE] = "idle",           [STATE_READING] = "reading",
	        [STATE_PAGE_DONE] = "page-done", [STATE_FAILED] = "failed",
	        [STATE_GONE] = "gone",
	};
	return (unsigned)state < STATE_LAST ? names[state] : "?";
}

/* Every state change goes through here, so the log tells the story. */
static void set_state(struct sim_scanner *s, enum sim_state state)
{
	if (s->state == state)
		return;
	sim_log(s->drv, SCANNER_LOG_DEBUG, "sim: %s -> %s", state_name(s->state),
	        state_name(state));
	s->state = state;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- page lists --------------------------------------------------------- */

static void page_list_free(struct page_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->paths[i]);
	free(list->paths);
	list->paths = NULL;
	list->count = 0;
}

static bool page_list_add(struct page_list *list, char *path)
{
	char **n = realloc(list->paths, (list->count + 1) * sizeof(*n));
	if (!n)
		return false;
	list->paths = n;
	list->paths[list->count++] = path;
	return true;
}

static bool is_page_name(const char *name)
{
	static const char *const exts[] = {".png", ".pnm", ".pgm", ".ppm", ".pbm", ".jpg", ".jpeg"};
	size_t len = strlen(name);
	if (name[0] == '.')
		return false;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t el = strlen(exts[i]);
		if (len > el && strcasecmp(name + len - el, exts[i]) == 0)
			return true;
	}
	return false;
}

static char *join_path(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	bool slash = dl > 0 && dir[dl - 1] == '/';
	size_t len = dl + (slash ? 0 : 1) + nl;
	if (len >= MAX_PATH_LEN)
		return NULL;
	char *p = malloc(len + 1);
	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	if (!slash)
		p[dl] = '/';
	memcpy(p + len - nl, name, nl + 1);
	return p;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the page images of a directory in byte order of their names
 * (strcmp, not the locale's collation: the order must not depend on it). */
static enum scanner_status add_directory(struct sim_driver *drv, struct page_list *list,
                                         const char *dir)
{
	enum scanner_status status = SCANNER_INVALID;
	struct page_list names = {0};
	char shown[256];
	DIR *d = opendir(dir);
	if (!d) {
		sim_log(drv, SCANNER_LOG_ERROR, "sim: pages: %s: %s",
		        printable(shown, sizeof(shown), dir, 200), strerror(errno));
		return SCANNER_INVALID;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!is_page_name(de->d_name))
			continue;
		char *path = join_path(dir, de->d_name);
		struct stat st;
		if (!path) {
			sim_log(drv, SCANNER_LOG_ERROR,
			        "sim: pages: %s: path too long or no memory",
			        printable(shown, sizeof(shown), dir, 200));
			goto out;
		}
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (list->count + names.count >= MAX_PAGE_FILES) {
			free(path);
			sim_log(drv, SCANNER_LOG_ERROR, "sim: pages: more than %d page files",
			        MAX_PAGE_FILES);
			goto out;
		}
		if (!page_list_add(&names, path)) {
			free(path);
			status = SCANNER_NO_MEMORY;
			goto out;
		}
	}
	if (names.count == 0) {
		sim_log(drv, SCANNER_LOG_ERROR,
		        "sim: pages: %s: no *.png, *.pnm/pgm/ppm/pbm or *.jpg/jpeg files",
		        printable(shown, sizeof(shown), dir, 200));
		goto out;
	}
	qsort(names.paths, names.count, sizeof(names.paths[0]), compare_names);
	for (size_t i = 0; i < names.count; i++) {
		if (!page_list_add(list, names.paths[i])) {
			status = SCANNER_NO_MEMORY;
			goto out;
		}
		names.paths[i] = NULL; /* owned by list now */
	}
	status = SCANNER_OK;
out:
	page_list_free(&names);
	closedir(d);
	return status;
}

/* Checks that a page file is an image we can decode, reading its header only,
 * so a typo in a spec fails at once and not in the middle of a scan. */
static enum scanner_status probe_page(struct sim_driver *drv, const char *path)
{
	struct sim_image img;
	char why[256], shown[256];
	enum sim_image_status st = sim_image_load_file(
	        &img, path, &(struct sim_image_opts){.header_only = true}, why, sizeof(why));
	if (st != SIM_IMAGE_OK) {
		sim_log(drv, SCANNER_LOG_ERROR, "sim: pages: %s: %s",
		        printable(shown, sizeof(shown), path, 200), why);
		return SCANNER_INVALID;
	}
	sim_image_finish(&img);
	return SCANNER_OK;
}

static enum scanner_status parse_pages(struct sim_driver *drv, const char *value,
                                       struct page_list *out)
{
	enum scanner_status status = SCANNER_INVALID;
	struct page_list list = {0};
	char item[MAX_PATH_LEN], shown[256];
	const char *p = value;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0) {
			sim_log(drv, SCANNER_LOG_ERROR, "sim: pages: empty file name in the list");
			goto out;
		}
		if (len >= sizeof(item)) {
			sim_log(drv, SCANNER_LOG_ERROR, "sim: pages: a path longer than %d bytes",
			        MAX_PATH_LEN - 1);
			goto out;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		struct stat st;
		if (stat(item, &st) != 0) {
			sim_log(drv, SCANNER_LOG_ERROR, "sim: pages: %s: %s",
			        printable(shown, sizeof(shown), item, 200), strerror(errno));
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			status = add_directory(drv, &list, item);
			if (status != SCANNER_OK)
				goto out;
			status = SCANNER_INVALID;
		} else {
			if (list.count >= MAX_PAGE_FILES) {
				sim_log(drv, SCANNER_LOG_ERROR,
				        "sim: pages: more than %d page files", MAX_PAGE_FILES);
				goto out;
			}
			char *copy = strdup(item);
			if (!copy || !page_list_add(&list, copy)) {
				free(copy);
				status = SCANNER_NO_MEMORY;
				goto out;
			}
		}
		if (!end)
			break;
		p = end + 1;
	}
	for (size_t i = 0; i < list.count; i++) {
		status = probe_page(drv, list.paths[i]);
		if (status != SCANNER_OK)
			goto out;
	}
	*out = list;
	list = (struct page_list){0};
	status = SCANNER_OK;
out:
	page_list_free(&list);
	return status;
}

/* ---- option parsing ----------------------------------------------------- */

static bool parse_u32(const char *value, uint32_t min, uint32_t max, uint32_t *out)
{
	/* strtoul() would accept leading blanks, a sign and wrap "-1"; we do not. */
	if (!value || value[0] < '0' || value[0] > '9')
		return false;
	errno = 0;
	char *end;
	unsigned long v = strtoul(value, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_bool(const char *value, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	if (!value) { /* a bare key in a spec: "duplex" */
		*out = true;
		return true;
	}
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(value, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcmp(value, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool find_key(const char *name, enum sim_key *key)
{
	for (int k = 0; k < KEY_LAST; k++) {
		if (strcmp(name, keys[k].name) == 0) {
			*key = (enum sim_key)k;
			return true;
		}
	}
	return false;
}

/*
 * Parses the value of a known key; value is NULL for a bare key in a spec.
 * Logs which key and why on failure.
 */
static enum scanner_status parse_value(struct sim_driver *drv, enum sim_key key, const char *value,
                                       struct option_value *out)
{
	const struct key_desc *k = &keys[key];
	char shown[128];
	memset(out, 0, sizeof(*out));
	out->key = key;
	switch (k->type) {
	case TYPE_PAGES:
		if (!value || !value[0]) {
			sim_log(drv, SCANNER_LOG_ERROR,
			        "sim: pages: needs a list of files or a directory");
			return SCANNER_INVALID;
		}
		return parse_pages(drv, value, &out->pages);
	case TYPE_LINES:
	case TYPE_COUNT:
		if (k->type == TYPE_LINES && value && strcmp(value, "off") == 0) {
			out->off = true;
			return SCANNER_OK;
		}
		if (!parse_u32(value, k->min, k->max, &out->number)) {
			sim_log(drv, SCANNER_LOG_ERROR,
			        "sim: %s: %s%s%s is not a whole number from %u to %u%s", k->name,
			        value ? "'" : "",
			        value ? printable(shown, sizeof(shown), value, 64) : "no value",
			        value ? "'" : "", k->min, k->max,
			        k->type == TYPE_LINES ? " (or off)" : "");
			return SCANNER_INVALID;
		}
		return SCANNER_OK;
	case TYPE_BOOL:
		if (!parse_bool(value, &out->flag)) {
			sim_log(drv, SCANNER_LOG_ERROR,
			        "sim: %s: '%s' is not 1/0, true/false, yes/no or on/off", k->name,
			        printable(shown, sizeof(shown), value, 64));
			return SCANNER_INVALID;
		}
		return SCANNER_OK;
	}
	return SCANNER_INVALID;
}

/* Applies a parsed option; takes over its page list. Options take effect at
 * the next start_page(). */
static void apply_value(struct sim_driver *drv, struct option_value *v)
{
	switch (v->key) {
	case KEY_PAGES:
		page_list_free(&drv->pages);
		drv->pages = v->pages;
		v->pages = (struct page_list){0};
		drv->cursor = 0;
		drv->back_pending = false;
		break;
	case KEY_FEEDER:
		drv->sheets = v->number;
		break;
	case KEY_JAM_AFTER:
		drv->jam_armed = !v->off;
		drv->jam_after = v->number;
		drv->fault_count = 0;
		break;
	case KEY_GONE_AFTER:
		drv->gone_armed = !v->off;
		drv->gone_after = v->number;
		drv->fault_count = 0;
		break;
	case KEY_COVER_OPEN:
		drv->cover_open = v->flag;
		break;
	case KEY_LINE_DELAY:
		drv->line_delay_us = v->number;
		break;
	case KEY_FAULT_PAGE:
		drv->fault_page = v->number;
		drv->fault_count = 0;
		break;
	case KEY_DUPLEX:
		drv->duplex = v->flag;
		break;
	case KEY_LAST:
		break;
	}
}

/*
 * Parses a whole spec; applies nothing unless every item is valid. Items are
 * separated by ';' (one trailing ';' is allowed), each key at most once.
 */
static enum scanner_status parse_spec(struct sim_driver *drv, const char *spec)
{
	enum scanner_status status = SCANNER_INVALID;
	struct option_value values[KEY_LAST];
	size_t nvalues = 0;
	bool seen[KEY_LAST] = {false};
	char shown[128];
	char *copy = NULL;

	size_t len = strnlen(spec, MAX_SPEC_LEN + 1);
	if (len > MAX_SPEC_LEN) {
		sim_log(drv, SCANNER_LOG_ERROR, "sim: spec longer than %d bytes", MAX_SPEC_LEN);
		goto out;
	}
	copy = strndup(spec, len);
	if (!copy) {
		status = SCANNER_NO_MEMORY;
		goto out;
	}
	char *item = copy;
	for (unsigned n = 1; *item; n++) {
		char *end = strchr(item, ';');
		if (end)
			*end = '\0';
		if (!item[0]) {
			sim_log(drv, SCANNER_LOG_ERROR, "sim: spec item %u is empty (';;'?)", n);
			goto out;
		}
		char *value = strchr(item, '=');
		if (value)
			*value++ = '\0';
		enum sim_key key;
		if (!item[0]) {
			sim_log(drv, SCANNER_LOG_ERROR, "sim: spec item %u has no key before '='",
			        n);
			goto out;
		}
		if (!find_key(item, &key)) {
			sim_log(drv, SCANNER_LOG_ERROR,
			        "sim: unknown key '%s' (known: pages, feeder, jam-after-lines, "
			        "gone-after-lines, cover-open, line-delay-us, fault-page, duplex)",
			        printable(shown, sizeof(shown), item, 64));
			goto out;
		}
		if (seen[key]) {
			sim_log(drv, SCANNER_LOG_ERROR, "sim: %s: given twice", keys[key].name);
			goto out;
		}
		seen[key] = true;
		status = parse_value(drv, key, value, &values[nvalues]);
		if (status != SCANNER_OK)
			goto out;
		nvalues++;
		status = SCANNER_INVALID;
		if (!end)
			break;
		item = end + 1;
	}
	for (size_t i = 0; i < nvalues; i++)
		apply_value(drv, &values[i]);
	/* Without feeder=, the feeder holds one sheet for each page file. */
	if (!seen[KEY_FEEDER])
		drv->sheets =
		        drv->pages.count > MAX_SHEETS ? MAX_SHEETS : (uint32_t)drv->pages.count;
	status = SCANNER_OK;
out:
	for (size_t i = 0; i < nvalues; i++)
		page_list_free(&values[i].pages);
	free(copy);
	return status;
}

/* ---- rendering ---------------------------------------------------------- */

static uint8_t luma(uint32_t r, uint32_t g, uint32_t b)
{
	return (uint8_t)((299 * r + 587 * g + 114 * b + 500) / 1000);
}

/*
 * Renders output line y of the frame: each output pixel is the average of the
 * sheet pixels its area covers (a box filter; one pixel when enlarging), with
 * white beyond the sheet's edges, then converted to the frame's mode. Sums fit
 * in 32 bits: a box is at most (SIM_IMAGE_MAX_DPI / 75)^2 pixels of 255.
 */
static void render_line(struct sim_scanner *s, uint32_t y, uint8_t *out)
{
	const struct sim_image *img = &s->img;
	const uint32_t w = s->frame.width, ic = img->channels;
	const bool lineart = s->settings.mode == SCANNER_MODE_LINEART;

	if (!img->pixels) { /* blank sheet, or an empty glass: the white lid */
		memset(out, 255, s->frame.stride);
		return;
	}
	uint64_t y0 = (uint64_t)y * img->ydpi / s->frame.dpi;
	uint64_t y1 = (uint64_t)(y + 1) * img->ydpi / s->frame.dpi;
	if (y1 <= y0)
		y1 = y0 + 1;
	memset(s->sums, 0, (size_t)w * ic * sizeof(s->sums[0]));
	for (uint64_t sy = y0; sy < y1; sy++) {
		const uint8_t *row = sy < img->height ? img->pixels + sy * img->stride : NULL;
		for (uint32_t x = 0; x < w; x++) {
			uint32_t x0 = s->xedge[x], x1 = s->xedge[x + 1];
			if (x1 <= x0)
				x1 = x0 + 1;
			uint32_t *sum = s->sums + (size_t)x * ic;
			for (uint32_t sx = x0; sx < x1; sx++) {
				if (!row || sx >= img->width) {
					for (uint32_t c = 0; c < ic; c++)
						sum[c] += 255;
					continue;
				}
				const uint8_t *px = row + (size_t)sx * ic;
				for (uint32_t c = 0; c < ic; c++)
					sum[c] += px[c];
			}
		}
	}
	for (uint32_t x = 0; x < w; x++) {
		uint32_t x0 = s->xedge[x], x1 = s->xedge[x + 1];
		if (x1 <= x0)
			x1 = x0 + 1;
		uint32_t count = (x1 - x0) * (uint32_t)(y1 - y0);
		const uint32_t *sum = s->sums + (size_t)x * ic;
		uint32_t v[3] = {0, 0, 0};
		for (uint32_t c = 0; c < ic; c++)
			v[c] = (sum[c] + count / 2) / count;
		if (s->frame.channels == 3) {
			uint8_t *o = out + (size_t)x * 3;
			o[0] = (uint8_t)v[0];
			o[1] = (uint8_t)(ic == 3 ? v[1] : v[0]);
			o[2] = (uint8_t)(ic == 3 ? v[2] : v[0]);
		} else {
			uint8_t g = ic == 3 ? luma(v[0], v[1], v[2]) : (uint8_t)v[0];
			out[x] = lineart ? (g < 128 ? 0 : 255) : g;
		}
	}
}

/* Frees the page being read; its pixels and sums are cleared first. */
static void release_page(struct sim_scanner *s)
{
	sim_image_finish(&s->img);
	if (s->sums) {
		explicit_bzero(s->sums, (size_t)s->frame.width * 3 * sizeof(s->sums[0]));
		free(s->sums);
		s->sums = NULL;
	}
	free(s->xedge);
	s->xedge = NULL;
}

/* Pixels for a length in mm at dpi, rounded to nearest, at least 1. */
static uint32_t mm_to_px(double mm, uint32_t dpi)
{
	double px = mm * dpi / 25.4 + 0.5;
	return px < 1.0 ? 1 : (uint32_t)px;
}

/* ---- the device --------------------------------------------------------- */

static struct sim_scanner *to_sim(struct scanner *s)
{
	return (struct sim_scanner *)s;
}

static void sim_caps(struct scanner *base, struct scanner_caps *caps)
{
	(void)base;
	memset(caps, 0, sizeof(*caps));
	caps->sources = 1u << SCANNER_SOURCE_FLATBED | 1u << SCANNER_SOURCE_FEEDER |
	                1u << SCANNER_SOURCE_DUPLEX;
	caps->modes =
	        1u << SCANNER_MODE_COLOR | 1u << SCANNER_MODE_GRAY | 1u << SCANNER_MODE_LINEART;
	caps->dpi_min = dpi_list[0];
	caps->dpi_max = dpi_list[DPI_COUNT - 1];
	caps->dpi_step = 0;
	for (size_t i = 0; i < DPI_COUNT; i++)
		caps->dpi_list[i] = dpi_list[i];
	caps->dpi_count = DPI_COUNT;
	caps->max_width_mm = MAX_WIDTH_MM;
	caps->max_height_mm = MAX_HEIGHT_MM;
}

static enum scanner_status sim_set_option(struct scanner *base, const char *name, const char *value)
{
	struct sim_scanner *s = to_sim(base);
	struct option_value v;
	enum sim_key key;
	char shown[128];
	if (s->state == STATE_GONE)
		return SCANNER_DEVICE_GONE;
	if (!find_key(name, &key)) {
		sim_log(s->drv, SCANNER_LOG_ERROR, "sim: unknown option '%s'",
		        printable(shown, sizeof(shown), name, 64));
		return SCANNER_UNSUPPORTED;
	}
	enum scanner_status status = parse_value(s->drv, key, value, &v);
	if (status != SCANNER_OK)
		return status;
	apply_value(s->drv, &v);
	page_list_free(&v.pages);
	sim_log(s->drv, SCANNER_LOG_INFO, "sim: option %s=%s", keys[key].name,
	        key == KEY_PAGES ? "(list)" : printable(shown, sizeof(shown), value, 64));
	return SCANNER_OK;
}

static enum scanner_status sim_configure(struct scanner *base,
                                         const struct scanner_settings *wanted,
                                         struct scanner_settings *applied)
{
	struct sim_scanner *s = to_sim(base);
	struct scanner_settings set = *wanted;
	if (s->state == STATE_GONE)
		return SCANNER_DEVICE_GONE;
	if (s->state == STATE_READING) {
		sim_log(s->drv, SCANNER_LOG_ERROR, "sim: configure while a page is being read");
		return SCANNER_INVALID;
	}
	if ((unsigned)set.source >= SCANNER_SOURCE_LAST ||
	    (unsigned)set.mode >= SCANNER_MODE_LAST || set.dpi == 0 || !isfinite(set.width_mm) ||
	    !isfinite(set.height_mm) || !(set.width_mm > 0) || !(set.height_mm > 0)) {
		sim_log(s->drv, SCANNER_LOG_ERROR,
		        "sim: configure: bad settings (source %d, mode %d, %u dpi, %g x %g mm)",
		        (int)set.source, (int)set.mode, set.dpi, set.width_mm, set.height_mm);
		return SCANNER_INVALID;
	}
	/* Nearest offered resolution; a tie goes to the finer one. */
	uint32_t best = dpi_list[0];
	for (size_t i = 0; i < DPI_COUNT; i++) {
		uint32_t d = dpi_list[i];
		uint32_t dist = d > set.dpi ? d - set.dpi : set.dpi - d;
		uint32_t bdist = best > set.dpi ? best - set.dpi : set.dpi - best;
		if (dist <= bdist)
			best = d;
	}
	set.dpi = best;
	if (set.width_mm > MAX_WIDTH_MM)
		set.width_mm = MAX_WIDTH_MM;
	if (set.height_mm > MAX_HEIGHT_MM)
		set.height_mm = MAX_HEIGHT_MM;
	s->settings = set;
	*applied = set;
	return SCANNER_OK;
}

/* Fails the current page: the device waits for end_document(). */
static enum scanner_status fail_page(struct sim_scanner *s, enum scanner_status status)
{
	release_page(s);
	set_state(s, STATE_FAILED);
	return status;
}

/* Picks the sheet for the next page. Returns SCANNER_OK with *index the page
 * file (or SIZE_MAX for a blank sheet), or SCANNER_FEEDER_EMPTY. */
static enum scanner_status feed(struct sim_scanner *s, size_t *index, const char **side)
{
	struct sim_driver *drv = s->drv;
	const size_t count = drv->pages.count;
	*side = "";
	if (s->settings.source == SCANNER_SOURCE_FLATBED) {
		/* The sheet on the glass stays there: always the first file. */
		*index = count ? 0 : SIZE_MAX;
		*side = "glass";
		return SCANNER_OK;
	}
	bool duplex = s->settings.source == SCANNER_SOURCE_DUPLEX || drv->duplex;
	if (drv->back_pending && !duplex) {
		/* Switched to simplex mid-sheet: that sheet has left the feeder. */
		drv->back_pending = false;
		drv->cursor = count ? (drv->cursor + 1) % count : 0;
	}
	if (drv->back_pending) {
		drv->back_pending = false;
		*side = "back";
	} else {
		if (drv->sheets == 0)
			return SCANNER_FEEDER_EMPTY;
		drv->sheets--;
		drv->back_pending = duplex;
		*side = duplex ? "front" : "sheet";
	}
	*index = count ? drv->cursor : SIZE_MAX;
	drv->cursor = count ? (drv->cursor + 1) % count : 0;
	return SCANNER_OK;
}

static enum scanner_status sim_start_page(struct scanner *base, struct scanner_frame *frame)
{
	struct sim_scanner *s = to_sim(base);
	struct sim_driver *drv = s->drv;
	char why[256], shown[256];

	if (s->state == STATE_GONE)
		return SCANNER_DEVICE_GONE;
	if (s->state == STATE_FAILED || s->state == STATE_READING) {
		sim_log(drv, SCANNER_LOG_ERROR, "sim: start_page while %s; end_document() first",
		        state_name(s->state));
		return SCANNER_INVALID;
	}
	release_page(s);
	if (atomic_load(&s->cancelled))
		return fail_page(s, SCANNER_CANCELLED);
	if (drv->cover_open) {
		sim_log(drv, SCANNER_LOG_WARNING, "sim: cover open");
		return fail_page(s, SCANNER_COVER_OPEN);
	}
	size_t index;
	const char *side;
	enum scanner_status status = feed(s, &index, &side);
	if (status == SCANNER_FEEDER_EMPTY) {
		sim_log(drv, SCANNER_LOG_INFO, "sim: feeder empty");
		set_state(s, STATE_IDLE);
		return status;
	}
	if (index != SIZE_MAX) {
		const char *path = drv->pages.paths[index];
		enum sim_image_status st =
		        sim_image_load_file(&s->img, path, NULL, why, sizeof(why));
		if (st != SIM_IMAGE_OK) {
			sim_log(drv, SCANNER_LOG_ERROR, "sim: page %s: %s",
			        printable(shown, sizeof(shown), path, 200), why);
			return fail_page(s, st == SIM_IMAGE_NO_MEMORY ? SCANNER_NO_MEMORY
			                                              : SCANNER_IO_ERROR);
		}
	}

	struct scanner_frame f = {
	        .width = mm_to_px(s->settings.width_mm, s->settings.dpi),
	        .height = (int32_t)mm_to_px(s->settings.height_mm, s->settings.dpi),
	        .channels = s->settings.mode == SCANNER_MODE_COLOR ? 3 : 1,
	        .dpi = s->settings.dpi,
	};
	f.stride = (size_t)f.width * f.channels;
	s->frame = f;
	s->xedge = calloc((size_t)f.width + 1, sizeof(s->xedge[0]));
	s->sums = calloc((size_t)f.width * 3, sizeof(s->sums[0]));
	if (!s->xedge || !s->sums)
		return fail_page(s, SCANNER_NO_MEMORY);
	if (s->img.pixels) {
		for (uint32_t x = 0; x <= f.width; x++)
			s->xedge[x] = (uint32_t)((uint64_t)x * s->img.xdpi / f.dpi);
	}

	/* Faults hit page fault_page counted from when they were armed, once. */
	s->line = 0;
	s->stop_line = (uint32_t)f.height;
	s->stop = SCANNER_PAGE_DONE;
	if (drv->fault_count < UINT32_MAX)
		drv->fault_count++;
	if ((drv->jam_armed || drv->gone_armed) && drv->fault_count == drv->fault_page) {
		if (drv->jam_armed && drv->jam_after <= s->stop_line) {
			s->stop_line = drv->jam_after;
			s->stop = SCANNER_JAMMED;
		}
		if (drv->gone_armed && drv->gone_after <= s->stop_line) {
			s->stop_line = drv->gone_after;
			s->stop = SCANNER_DEVICE_GONE;
		}
		if (s->stop == SCANNER_PAGE_DONE)
			sim_log(drv, SCANNER_LOG_WARNING,
			        "sim: fault beyond the page's %d lines; page completes", f.height);
		drv->jam_armed = false;
		drv->gone_armed = false;
	}
	s->line_delay_us = drv->line_delay_us;
	s->page_start_ns = now_ns();
	sim_log(drv, SCANNER_LOG_DEBUG, "sim: page (%s, %s): %ux%d %s at %u dpi", side,
	        index == SIZE_MAX ? "blank" : sim_image_format_name(s->img.format), f.width,
	        f.height, scanner_mode_name(s->settings.mode), f.dpi);
	set_state(s, STATE_READING);
	*frame = f;
	return SCANNER_OK;
}

/* Sleeps until due_ns unless cancelled first; false when cancelled. */
static bool wait_until(struct sim_scanner *s, uint64_t due_ns)
{
	bool ok = true;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (atomic_load(&s->cancelled)) {
			ok = false;
			break;
		}
		if (now_ns() >= due_ns)
			break;
		struct timespec ts = {
		        .tv_sec = (time_t)(due_ns / 1000000000u),
		        .tv_nsec = (long)(due_ns % 1000000000u),
		};
		pthread_cond_timedwait(&s->wake, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static enum scanner_status sim_read_lines(struct scanner *base, uint8_t *buf, size_t max_lines,
                                          size_t *lines)
{
	struct sim_scanner *s = to_sim(base);
	struct sim_driver *drv = s->drv;
	*lines = 0;
	switch (s->state) {
	case STATE_GONE:
		return SCANNER_DEVICE_GONE;
	case STATE_PAGE_DONE:
		return SCANNER_PAGE_DONE;
	case STATE_READING:
		break;
	default:
		sim_log(drv, SCANNER_LOG_ERROR, "sim: read_lines while %s", state_name(s->state));
		return SCANNER_INVALID;
	}
	if (atomic_load(&s->cancelled))
		return fail_page(s, SCANNER_CANCELLED);
	if (s->line == s->stop_line) {
		switch (s->stop) {
		case SCANNER_JAMMED:
			sim_log(drv, SCANNER_LOG_WARNING, "sim: paper jam after %u lines", s->line);
			return fail_page(s, SCANNER_JAMMED);
		case SCANNER_DEVICE_GONE:
			sim_log(drv, SCANNER_LOG_WARNING, "sim: device gone after %u lines",
			        s->line);
			release_page(s);
			set_state(s, STATE_GONE);
			return SCANNER_DEVICE_GONE;
		default:
			release_page(s);
			set_state(s, STATE_PAGE_DONE);
			return SCANNER_PAGE_DONE;
		}
	}
	uint32_t n = s->stop_line - s->line;
	if (max_lines < n)
		n = (uint32_t)max_lines;
	if (s->line_delay_us) {
		/* Line i is ready at start + (i + 1) * delay; hand over all that are. */
		uint64_t step = (uint64_t)s->line_delay_us * 1000u;
		if (!wait_until(s, s->page_start_ns + (s->line + 1) * step))
			return fail_page(s, SCANNER_CANCELLED);
		uint64_t ready = (now_ns() - s->page_start_ns) / step;
		if (ready > s->line && ready - s->line < n)
			n = (uint32_t)(ready - s->line);
	}
	for (uint32_t i = 0; i < n; i++)
		render_line(s, s->line + i, buf + (size_t)i * s->frame.stride);
	s->line += n;
	*lines = n;
	return SCANNER_OK;
}

static void sim_end_document(struct scanner *base)
{
	struct sim_scanner *s = to_sim(base);
	struct sim_driver *drv = s->drv;
	if (s->state == STATE_GONE)
		return;
	release_page(s);
	if (drv->back_pending) {
		/* The duplex sheet is ejected; its back is not scanned later. */
		drv->back_pending = false;
		drv->cursor = drv->pages.count ? (drv->cursor + 1) % drv->pages.count : 0;
	}
	atomic_store(&s->cancelled, false);
	set_state(s, STATE_IDLE);
}

static void sim_cancel(struct scanner *base)
{
	struct sim_scanner *s = to_sim(base);
	atomic_store(&s->cancelled, true);
	/* Under the lock, so a reader between its check and its wait cannot miss it. */
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

static void sim_close(struct scanner *base)
{
	struct sim_scanner *s = to_sim(base);
	sim_end_document(base);
	release_page(s);
	s->drv->open_scanner = NULL;
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static const struct scanner_impl sim_scanner_impl = {
        .caps = sim_caps,
        .set_option = sim_set_option,
        .configure = sim_configure,
        .start_page = sim_start_page,
        .read_lines = sim_read_lines,
        .end_document = sim_end_document,
        .cancel = sim_cancel,
        .close = sim_close,
};

/* ---- the driver --------------------------------------------------------- */

static struct sim_driver *to_driver(struct scanner_driver *drv)
{
	return (struct sim_driver *)drv;
}

static enum scanner_status sim_list(struct scanner_driver *base, struct scanner_device **devices,
                                    size_t *count)
{
	(void)base;
	struct scanner_device *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return SCANNER_NO_MEMORY;
	snprintf(dev->name, sizeof(dev->name), "%s", SIM_DEVICE_NAME);
	snprintf(dev->vendor, sizeof(dev->vendor), "%s", "scankiosk");
	snprintf(dev->model, sizeof(dev->model), "%s", "Simulated scanner");
	snprintf(dev->type, sizeof(dev->type), "%s", "virtual");
	*devices = dev;
	*count = 1;
	return SCANNER_OK;
}

static enum scanner_status sim_open(struct scanner_driver *base, const char *name,
                                    struct scanner **out)
{
	struct sim_driver *drv = to_driver(base);
	struct sim_scanner *s = NULL;
	pthread_condattr_t attr;
	bool have_attr = false, have_cond = false;
	char shown[128];
	enum scanner_status status = SCANNER_NO_MEMORY;

	if (name[0] && strcmp(name, SIM_DEVICE_NAME) != 0) {
		sim_log(drv, SCANNER_LOG_ERROR, "sim: no device '%s' (there is only '%s')",
		        printable(shown, sizeof(shown), name, 64), SIM_DEVICE_NAME);
		return SCANNER_NO_DEVICE;
	}
	if (drv->open_scanner)
		return SCANNER_BUSY;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto out;
	if (pthread_condattr_init(&attr) != 0)
		goto out;
	have_attr = true;
	/* Slow lines wait on the monotonic clock: setting the time must not
	 * stretch or shorten them. */
	if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&s->wake, &attr) != 0)
		goto out;
	have_cond = true;
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		goto out;
	s->base.impl = &sim_scanner_impl;
	s->base.driver = base;
	s->drv = drv;
	s->state = STATE_IDLE;
	atomic_init(&s->cancelled, false);
	/* Until configured: the feeder, colour, 300 dpi, A4. */
	s->settings = (struct scanner_settings){
	        .source = SCANNER_SOURCE_FEEDER,
	        .mode = SCANNER_MODE_COLOR,
	        .dpi = 300,
	        .width_mm = 210.0,
	        .height_mm = 297.0,
	};
	drv->open_scanner = s;
	*out = &s->base;
	s = NULL; /* owned by the caller now */
	status = SCANNER_OK;
out:
	if (s && have_cond)
		pthread_cond_destroy(&s->wake);
	if (have_attr)
		pthread_condattr_destroy(&attr);
	free(s);
	return status;
}

static void sim_destroy(struct scanner_driver *base)
{
	struct sim_driver *drv = to_driver(base);
	if (drv->open_scanner) {
		sim_log(drv, SCANNER_LOG_ERROR, "sim: driver destroyed with its scanner open");
		sim_close(&drv->open_scanner->base);
	}
	page_list_free(&drv->pages);
	free(drv);
}

static const struct scanner_driver_impl sim_driver_impl = {
        .name = "sim",
        .list = sim_list,
        .open = sim_open,
        .destroy = sim_destroy,
};

struct scanner_driver *scanner_sim_create(const char *spec, scanner_log_fn fn, void *userdata)
{
	struct sim_driver *drv = calloc(1, sizeof(*drv));
	if (!drv) {
		if (fn)
			fn(SCANNER_LOG_ERROR, "sim: out of memory", userdata);
		return NULL;
	}
	drv->base.impl = &sim_driver_impl;
	scanner_driver_set_log(&drv->base, fn, userdata);
	drv->fault_page = 1;
	if (parse_spec(drv, spec ? spec : "") != SCANNER_OK) {
		sim_destroy(&drv->base);
		return NULL;
	}
	sim_log(drv, SCANNER_LOG_INFO,
	        "sim: %zu page file(s), %u sheet(s) in the feeder%s%s%s, %u us a line",
	        drv->pages.count, drv->sheets, drv->duplex ? ", duplex" : "",
	        drv->cover_open ? ", cover open" : "",
	        drv->jam_armed || drv->gone_armed ? ", fault armed" : "", drv->line_delay_us);
	return &drv->base;
}
