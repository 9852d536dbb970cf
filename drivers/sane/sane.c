/*
 * sane.c - the libsane adapter: SANE devices behind struct scanner.
 *
 * One thread drives libsane (SANE is not thread-safe); only dev_cancel() runs
 * on other threads, and it touches nothing but an atomic flag and an eventfd.
 * Every SANE_Status becomes an enum scanner_status in map_status(), the only
 * place that knows SANE's codes. See README.md beside this file.
 */
#include "sane_fake.h"
#include "scanner.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <sane/sane.h>
#include <sane/saneopts.h>

#define MM_PER_INCH 25.4

/* Read buffer for converted and partial lines; large enough that a pipe-fed
 * backend hands over a whole pipe's worth per sane_read(). */
#define RBUF_MIN ((size_t)128 * 1024)

/* Sanity limits on what a backend announces: 300 mm at 4800 dpi fits. */
#define MAX_PPL     65536
#define MAX_BPL     ((SANE_Int)MAX_PPL * 6)
#define MAX_OPTIONS 4096

/* The largest page we buffer (three-pass planes): 300 x 432 mm at 1200 dpi, RGB. */
#define MAX_BUFFER_BYTES ((size_t)14174 * 20410 * 3)

/* sane_start() may answer WARMING_UP while the lamp heats: retry with backoff,
 * for at most a minute, and wake up at once on a cancel. */
#define WARMUP_FIRST_MS    100
#define WARMUP_STEP_MAX_MS 2000
#define WARMUP_TOTAL_MS    60000

/* With a select fd, reads wait in poll() beside the cancel eventfd. Blocking
 * io: sane_read() only once the fd is readable, so a cancel never waits for a
 * slow device. Non-blocking io: also after each timeout (harmless: "GOOD, 0
 * bytes" at worst), in case a backend's fd signals less than it should. */
#define POLL_MS 1000

/* A blocking backend that returns 0 bytes: don't spin. */
#define EMPTY_READ_WAIT_MS 10

/* Trailing data after the announced lines that we discard before giving up on
 * seeing SANE_STATUS_EOF. */
#define DRAIN_MAX_BYTES ((uint64_t)64 * 1024 * 1024)

#define NAME_LEN 128

#define dlog(s, level, ...) scanner_log(&(s)->drv->base, (level), __VA_ARGS__)

/* Where a SANE call came from, for map_status(). */
enum sane_op {
	OP_LIST,     /* sane_get_devices */
	OP_OPEN,     /* sane_open */
	OP_OPTION,   /* sane_control_option */
	OP_START,    /* sane_start of a page */
	OP_PARAMS,   /* sane_get_parameters */
	OP_READ,     /* sane_read before any byte of the page arrived */
	OP_READ_MID, /* sane_read (or a later frame's sane_start) after some bytes */
	OP_LAST
};

static const char *const op_names[OP_LAST] = {
        [OP_LIST] = "sane_get_devices",         [OP_OPEN] = "sane_open",
        [OP_OPTION] = "sane_control_option",    [OP_START] = "sane_start",
        [OP_PARAMS] = "sane_get_parameters",    [OP_READ] = "sane_read",
        [OP_READ_MID] = "sane_read (mid-page)",
};

/* Where a page stands. */
enum page_state {
	PAGE_IDLE,     /* no page: after end_document(), or not started yet */
	PAGE_STREAM,   /* single-pass frame: lines delivered as they arrive */
	PAGE_PLANES,   /* three-pass: frames to be buffered on the first read */
	PAGE_BUFFERED, /* three-pass: all frames buffered, delivering RGB lines */
	PAGE_DONE,     /* the last frame ended and every line was delivered */
	PAGE_FAILED,   /* an error or cancel ended the page; end_document() resets */
	PAGE_STATE_LAST
};

static const char *const page_state_names[PAGE_STATE_LAST] = {
        [PAGE_IDLE] = "idle",         [PAGE_STREAM] = "stream", [PAGE_PLANES] = "planes",
        [PAGE_BUFFERED] = "buffered", [PAGE_DONE] = "done",     [PAGE_FAILED] = "failed",
};

/* Converts one raw line into width pixels of 8-bit samples. */
typedef void (*convert_fn)(const uint8_t *in, uint8_t *out, size_t width);

struct sane_drv {
	struct scanner_driver base;
	const struct sane_api *api;
};

/* Indices of the well-known options, -1 when the device has none. */
struct well_known {
	SANE_Int source;
	SANE_Int mode;
	SANE_Int depth;
	SANE_Int resolution;
	SANE_Int tl_x;
	SANE_Int tl_y;
	SANE_Int br_x;
	SANE_Int br_y;
};

/* What the option descriptors say the device can do, and the SANE strings to
 * ask for it. An empty name: nothing to set (the device has no such option). */
struct dev_info {
	struct scanner_caps caps;
	char source_name[SCANNER_SOURCE_LAST][NAME_LEN];
	char mode_name[SCANNER_MODE_LAST][NAME_LEN];
	bool lineart_by_depth; /* LINEART is Gray at depth 1 */
};

struct sane_dev {
	struct scanner base;
	struct sane_drv *drv;
	const struct sane_api *api;
	SANE_Handle h;
	char name[256];

	/* Descriptors, re-read whenever the backend says SANE_INFO_RELOAD_OPTIONS. */
	const SANE_Option_Descriptor **desc;
	SANE_Int ndesc;
	struct well_known opt;

	atomic_bool cancel; /* set by any thread, cleared by end_document() */
	int wake_fd;        /* eventfd that wakes a poll() on a cancel */
	bool in_document;   /* sane_start() was called since the last sane_cancel() */

	/* The current page. */
	enum page_state state;
	enum scanner_status failure; /* what PAGE_FAILED keeps answering */
	SANE_Parameters p;           /* of the current frame, read after its sane_start() */
	struct scanner_frame frame;
	convert_fn convert;
	bool direct; /* raw lines are our lines: read straight into the caller's buffer */
	bool eof;    /* the current frame's sane_read() said EOF */
	int select_fd;
	bool nonblocking;
	uint64_t page_bytes; /* raw bytes received for this page, all frames */
	uint64_t lines_done; /* lines delivered (single pass) */
	uint64_t drained;    /* bytes discarded after the announced lines */

	/* Raw bytes received but not yet delivered: rbuf[roff .. roff + rhave). */
	uint8_t *rbuf;
	size_t rcap;
	size_t roff;
	size_t rhave;

	/* Three-pass: the page as interleaved RGB, filled one plane at a time. */
	uint8_t *img;
	size_t img_cap;
	size_t img_lines;
	size_t img_next;
	uint8_t *tmp; /* one converted plane line */
	size_t tmp_cap;
	size_t max_buffer;
};

/*
 * libsane is opened when the first SANE driver is made, not by the dynamic
 * loader when a program starts: it brings libusb, libxml2, ICU and libstdc++
 * along, whose relocations were half of the kiosk's time to its first frame,
 * and a start with the simulator never needs them.
 */
#define LIBSANE "libsane.so.1"

static struct sane_api real_api;
static bool real_api_loaded;
static pthread_once_t real_api_once = PTHREAD_ONCE_INIT;

static void load_real_api(void)
{
	static const struct {
		const char *name;
		size_t offset;
	} entries[] = {
	        {"sane_init", offsetof(struct sane_api, init)},
	        {"sane_exit", offsetof(struct sane_api, exit)},
	        {"sane_get_devices", offsetof(struct sane_api, get_devices)},
	        {"sane_open", offsetof(struct sane_api, open)},
	        {"sane_close", offsetof(struct sane_api, close)},
	        {"sane_get_option_descriptor", offsetof(struct sane_api, get_option_descriptor)},
	        {"sane_control_option", offsetof(struct sane_api, control_option)},
	        {"sane_get_parameters", offsetof(struct sane_api, get_parameters)},
	        {"sane_start", offsetof(struct sane_api, start)},
	        {"sane_read", offsetof(struct sane_api, read)},
	        {"sane_cancel", offsetof(struct sane_api, cancel)},
	        {"sane_set_io_mode", offsetof(struct sane_api, set_io_mode)},
	        {"sane_get_select_fd", offsetof(struct sane_api, get_select_fd)},
	        {"sane_strstatus", offsetof(struct sane_api, strstatus)},
	};
	/* Global, as when it was linked: backends it loads may look up its symbols. */
	void *lib = dlopen(LIBSANE, RTLD_NOW | RTLD_GLOBAL);
	if (!lib)
		return;
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		void *sym = dlsym(lib, entries[i].name);
		if (!sym)
			return;
		/* POSIX: a function's address as dlsym() returns it. */
		memcpy((char *)&real_api + entries[i].offset, &sym, sizeof(sym));
	}
	real_api_loaded = true;
}

static const struct sane_api *get_real_api(void)
{
	pthread_once(&real_api_once, load_real_api);
	return real_api_loaded ? &real_api : NULL;
}

/* SANE has global state: one driver at a time. */
static atomic_bool sane_in_use;
static const struct sane_api *_Atomic api_override;

const struct sane_api *scanner_sane_real_api(void)
{
	return get_real_api();
}

bool scanner_sane_set_api(const struct sane_api *api)
{
	if (atomic_load(&sane_in_use))
		return false;
	atomic_store(&api_override, api);
	return true;
}

static struct sane_dev *to_dev(struct scanner *base)
{
	return (struct sane_dev *)base;
}

static struct sane_drv *to_drv(struct scanner_driver *base)
{
	return (struct sane_drv *)base;
}

/* ---- status translation ---------------------------------------------------------------- */

static bool take_digits(const char **p, char *out, size_t size)
{
	size_t n = 0;
	while (**p >= '0' && **p <= '9') {
		if (n + 1 >= size)
			return false;
		out[n++] = *(*p)++;
	}
	out[n] = '\0';
	return n > 0;
}

/*
 * USB backends name devices "backend:libusb:BBB:DDD" (bus and device number, the
 * node /dev/bus/usb/BBB/DDD). When I/O fails and that node is gone, the device
 * was unplugged or switched off: report SCANNER_DEVICE_GONE. A replugged device
 * gets a new number, so it also counts as gone, which is what the caller needs
 * (re-enumerate). Other names (network, SCSI, parport) cannot be told apart from
 * a plain I/O error and stay SCANNER_IO_ERROR.
 */
static bool usb_node(const struct sane_drv *drv, const char *device, char *path, size_t size)
{
	static const char tag[] = ":libusb:";
	const char *root = drv->api->usb_root ? drv->api->usb_root : "/dev/bus/usb";
	const char *p = strstr(device, tag);
	char bus[8], dev[8];

	if (!p)
		return false;
	p += sizeof(tag) - 1;
	if (!take_digits(&p, bus, sizeof(bus)) || *p++ != ':' || !take_digits(&p, dev, sizeof(dev)))
		return false;
	return (size_t)snprintf(path, size, "%s/%s/%s", root, bus, dev) < size;
}

/* SCANNER_OK: the USB node is there; DEVICE_GONE: it is not; UNSUPPORTED: not a
 * USB name, or the node cannot be examined. */
static enum scanner_status usb_presence(const struct sane_drv *drv, const char *device)
{
	char path[512];
	struct stat st;

	if (!usb_node(drv, device, path, sizeof(path)))
		return SCANNER_UNSUPPORTED;
	if (stat(path, &st) == 0)
		return SCANNER_OK;
	return errno == ENOENT || errno == ENOTDIR ? SCANNER_DEVICE_GONE : SCANNER_UNSUPPORTED;
}

static bool device_gone(const struct sane_drv *drv, const char *device)
{
	return usb_presence(drv, device) == SCANNER_DEVICE_GONE;
}

/*
 * SANE_Device has no serial number. For a USB name the kernel knows it: the
 * node's device number leads to /sys/dev/char/MAJOR:MINOR/serial (the USB
 * descriptor's iSerialNumber; absent on devices without one). Blanks, control
 * characters and non-ASCII bytes become '_'. Anything else leaves "".
 */
static void usb_serial(const struct sane_drv *drv, const char *device, char *out, size_t size)
{
	char path[512], buf[128];
	struct stat st;
	size_t n = 0;
	FILE *f;

	out[0] = '\0';
	if (!usb_node(drv, device, path, sizeof(path)) || stat(path, &st) != 0 ||
	    !S_ISCHR(st.st_mode))
		return;
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/serial", major(st.st_rdev),
	         minor(st.st_rdev));
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f)) {
		for (const char *c = buf; *c && *c != '\n' && n + 1 < size; c++)
			out[n++] = *c > ' ' && *c < 0x7f ? *c : '_';
		out[n] = '\0';
	}
	fclose(f);
}

/* The one translation of SANE_Status into our outcomes. device may be NULL. */
static enum scanner_status map_status(struct sane_drv *drv, const char *device, SANE_Status st,
                                      enum sane_op op)
{
	enum scanner_status ret;
	enum scanner_log_level level = SCANNER_LOG_WARNING;

	switch ((int)st) {
	case SANE_STATUS_GOOD:
		return SCANNER_OK;
	case SANE_STATUS_UNSUPPORTED:
		ret = SCANNER_UNSUPPORTED;
		break;
	case SANE_STATUS_CANCELLED:
		ret = SCANNER_CANCELLED;
		level = SCANNER_LOG_INFO;
		break;
	case SANE_STATUS_DEVICE_BUSY:
		ret = SCANNER_BUSY;
		break;
	case SANE_STATUS_INVAL:
		/* At open it is SANE's "no such device"; for options and start, a
		 * setting the backend refused; elsewhere a backend failure. */
		if (op == OP_OPEN)
			ret = SCANNER_NO_DEVICE;
		else if (op == OP_OPTION || op == OP_START)
			ret = SCANNER_INVALID;
		else
			ret = SCANNER_IO_ERROR;
		break;
	case SANE_STATUS_EOF:
		ret = SCANNER_PAGE_DONE;
		level = SCANNER_LOG_DEBUG;
		break;
	case SANE_STATUS_JAMMED:
		ret = SCANNER_JAMMED;
		break;
	case SANE_STATUS_NO_DOCS:
		/* The normal end of a feeder batch, unless part of a page came. */
		if (op == OP_READ_MID) {
			ret = SCANNER_IO_ERROR;
		} else {
			ret = SCANNER_FEEDER_EMPTY;
			level = SCANNER_LOG_INFO;
		}
		break;
	case SANE_STATUS_COVER_OPEN:
		ret = SCANNER_COVER_OPEN;
		break;
	case SANE_STATUS_IO_ERROR:
		ret = device && device_gone(drv, device) ? SCANNER_DEVICE_GONE : SCANNER_IO_ERROR;
		break;
	case SANE_STATUS_NO_MEM:
		ret = SCANNER_NO_MEMORY;
		break;
	case SANE_STATUS_ACCESS_DENIED:
		/* Usually device-node permissions: for the kiosk the device is not
		 * there to use; the log tells the technician why. */
		ret = op == OP_OPEN ? SCANNER_NO_DEVICE : SCANNER_IO_ERROR;
		level = SCANNER_LOG_ERROR;
		break;
	case SANE_STATUS_WARMING_UP: /* still warming after the retry budget */
	case SANE_STATUS_HW_LOCKED:  /* transport lock: needs a technician */
	default:
		ret = SCANNER_IO_ERROR;
		level = SCANNER_LOG_ERROR;
		break;
	}
	scanner_log(&drv->base, level, "sane: %s%s%s: %s (%d) -> %s", op_names[op],
	            device ? " " : "", device ? device : "", drv->api->strstatus(st), (int)st,
	            scanner_strerror(ret));
	return ret;
}

/* ---- cancel plumbing ---------------------------------------------------------------------- */

static bool cancel_requested(struct sane_dev *s)
{
	return atomic_load_explicit(&s->cancel, memory_order_acquire);
}

static void drain_wake(struct sane_dev *s)
{
	uint64_t v;
	/* eventfd: one read resets the counter; EAGAIN when nothing is pending. */
	if (read(s->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		dlog(s, SCANNER_LOG_WARNING, "sane: draining the wake-up fd: %s", strerror(errno));
}

/* Sleeps up to ms, returning early on a cancel. */
static void wait_or_cancel(struct sane_dev *s, int ms)
{
	struct pollfd pfd = {.fd = s->wake_fd, .events = POLLIN};
	if (cancel_requested(s))
		return;
	if (poll(&pfd, 1, ms) > 0 && !cancel_requested(s))
		drain_wake(s); /* a stale wake-up from an earlier document */
}

/* ---- options ------------------------------------------------------------------------------- */

static bool opt_active(const SANE_Option_Descriptor *d)
{
	return d && SANE_OPTION_IS_ACTIVE(d->cap);
}

static bool opt_settable(const SANE_Option_Descriptor *d)
{
	return opt_active(d) && SANE_OPTION_IS_SETTABLE(d->cap);
}

static const SANE_Option_Descriptor *opt_desc(const struct sane_dev *s, SANE_Int idx)
{
	return idx > 0 && idx < s->ndesc ? s->desc[idx] : NULL;
}

static SANE_Int find_option(const struct sane_dev *s, const char *name)
{
	for (SANE_Int i = 1; i < s->ndesc; i++) {
		const SANE_Option_Descriptor *d = s->desc[i];
		if (d && d->name && d->type != SANE_TYPE_GROUP && strcmp(d->name, name) == 0)
			return i;
	}
	return -1;
}

/* Re-reads every descriptor: needed at open and after SANE_INFO_RELOAD_OPTIONS
 * (activity and constraints change, and some backends, the test backend among
 * them, refuse an option whose descriptor was not fetched again). */
static enum scanner_status reload_options(struct sane_dev *s)
{
	const SANE_Option_Descriptor **desc;
	SANE_Int n = 0;
	SANE_Status st;

	if (!s->api->get_option_descriptor(s->h, 0)) {
		dlog(s, SCANNER_LOG_ERROR, "sane: %s has no option 0", s->name);
		return SCANNER_IO_ERROR;
	}
	st = s->api->control_option(s->h, 0, SANE_ACTION_GET_VALUE, &n, NULL);
	if (st != SANE_STATUS_GOOD)
		return map_status(s->drv, s->name, st, OP_OPTION);
	if (n < 1 || n > MAX_OPTIONS) {
		dlog(s, SCANNER_LOG_ERROR, "sane: %s reports %d options", s->name, (int)n);
		return SCANNER_IO_ERROR;
	}
	desc = realloc(s->desc, (size_t)n * sizeof(*desc));
	if (!desc)
		return SCANNER_NO_MEMORY;
	s->desc = desc;
	s->ndesc = n;
	for (SANE_Int i = 0; i < n; i++)
		desc[i] = s->api->get_option_descriptor(s->h, i);

	s->opt.source = find_option(s, SANE_NAME_SCAN_SOURCE);
	s->opt.mode = find_option(s, SANE_NAME_SCAN_MODE);
	s->opt.depth = find_option(s, SANE_NAME_BIT_DEPTH);
	s->opt.resolution = find_option(s, SANE_NAME_SCAN_RESOLUTION);
	s->opt.tl_x = find_option(s, SANE_NAME_SCAN_TL_X);
	s->opt.tl_y = find_option(s, SANE_NAME_SCAN_TL_Y);
	s->opt.br_x = find_option(s, SANE_NAME_SCAN_BR_X);
	s->opt.br_y = find_option(s, SANE_NAME_SCAN_BR_Y);
	return SCANNER_OK;
}

static size_t value_size(const SANE_Option_Descriptor *d)
{
	size_t size = d->size > 0 ? (size_t)d->size : 0;
	return size < sizeof(SANE_Word) ? sizeof(SANE_Word) : size;
}

/* Sets option idx from buf (at least the option's size) and handles what the
 * backend reports back. Descriptor pointers held by the caller are stale after
 * this call (a reload may replace them). */
static enum scanner_status set_raw(struct sane_dev *s, SANE_Int idx, void *buf)
{
	const SANE_Option_Descriptor *d = opt_desc(s, idx);
	const char *name = d && d->name ? d->name : "?";
	SANE_Int info = 0;
	SANE_Status st;
	enum scanner_status ret;

	st = s->api->control_option(s->h, idx, SANE_ACTION_SET_VALUE, buf, &info);
	if (st != SANE_STATUS_GOOD) {
		dlog(s, SCANNER_LOG_WARNING, "sane: setting option '%s' failed", name);
		return map_status(s->drv, s->name, st, OP_OPTION);
	}
	if (info & SANE_INFO_INEXACT)
		dlog(s, SCANNER_LOG_INFO, "sane: option '%s' was adjusted by the device", name);
	if (info & SANE_INFO_RELOAD_OPTIONS) {
		ret = reload_options(s);
		if (ret != SCANNER_OK)
			return ret;
	}
	if (info & SANE_INFO_INEXACT) {
		/* The standard says buf now holds the value taken; read it anyway,
		 * some backends only update their own copy. */
		st = s->api->control_option(s->h, idx, SANE_ACTION_GET_VALUE, buf, NULL);
		if (st != SANE_STATUS_GOOD)
			dlog(s, SCANNER_LOG_WARNING, "sane: reading back option %d failed",
			     (int)idx);
	}
	return SCANNER_OK;
}

static enum scanner_status get_word(struct sane_dev *s, SANE_Int idx, SANE_Word *w)
{
	const SANE_Option_Descriptor *d = opt_desc(s, idx);
	SANE_Word *buf;
	SANE_Status st;

	if (!opt_active(d) ||
	    (d->type != SANE_TYPE_INT && d->type != SANE_TYPE_FIXED && d->type != SANE_TYPE_BOOL))
		return SCANNER_UNSUPPORTED;
	buf = calloc(1, value_size(d));
	if (!buf)
		return SCANNER_NO_MEMORY;
	st = s->api->control_option(s->h, idx, SANE_ACTION_GET_VALUE, buf, NULL);
	*w = buf[0];
	free(buf);
	return st == SANE_STATUS_GOOD ? SCANNER_OK : map_status(s->drv, s->name, st, OP_OPTION);
}

/* Sets a single-word option; *taken (may be NULL) receives what the device took. */
static enum scanner_status set_word(struct sane_dev *s, SANE_Int idx, SANE_Word w, SANE_Word *taken)
{
	const SANE_Option_Descriptor *d = opt_desc(s, idx);
	enum scanner_status ret;
	SANE_Word *buf;

	if (!opt_settable(d))
		return SCANNER_UNSUPPORTED;
	buf = calloc(1, value_size(d));
	if (!buf)
		return SCANNER_NO_MEMORY;
	buf[0] = w;
	ret = set_raw(s, idx, buf);
	if (ret == SCANNER_OK && taken)
		*taken = buf[0];
	free(buf);
	return ret;
}

static enum scanner_status set_string(struct sane_dev *s, SANE_Int idx, const char *value)
{
	const SANE_Option_Descriptor *d = opt_desc(s, idx);
	enum scanner_status ret;
	size_t size;
	char *buf;

	if (!opt_settable(d) || d->type != SANE_TYPE_STRING)
		return SCANNER_UNSUPPORTED;
	size = d->size > 0 ? (size_t)d->size : 0;
	if (strlen(value) + 1 > size) {
		dlog(s, SCANNER_LOG_WARNING, "sane: value too long for option '%s'", d->name);
		return SCANNER_INVALID;
	}
	buf = calloc(1, size);
	if (!buf)
		return SCANNER_NO_MEMORY;
	memcpy(buf, value, strlen(value) + 1);
	ret = set_raw(s, idx, buf);
	free(buf);
	return ret;
}

/* ---- capabilities -------------------------------------------------------------------------- */

static double word_to_double(const SANE_Option_Descriptor *d, SANE_Word w)
{
	return d->type == SANE_TYPE_FIXED ? SANE_UNFIX(w) : (double)w;
}

static SANE_Word double_to_word(const SANE_Option_Descriptor *d, double v)
{
	double scaled = d->type == SANE_TYPE_FIXED ? v * (1 << SANE_FIXED_SCALE_SHIFT) : v;
	if (scaled > INT32_MAX)
		return INT32_MAX;
	if (scaled < INT32_MIN)
		return INT32_MIN;
	return (SANE_Word)lround(scaled);
}

static uint32_t to_dpi(const SANE_Option_Descriptor *d, SANE_Word w)
{
	double v = word_to_double(d, w);
	return v > 0 && v < 1e6 ? (uint32_t)lround(v) : 0;
}

/* Whether a word option can take v (as far as its constraint tells). */
static bool opt_offers(const SANE_Option_Descriptor *d, SANE_Word v)
{
	if (!d)
		return false;
	switch (d->constraint_type) {
	case SANE_CONSTRAINT_WORD_LIST:
		for (SANE_Word i = 1; i <= d->constraint.word_list[0]; i++)
			if (d->constraint.word_list[i] == v)
				return true;
		return false;
	case SANE_CONSTRAINT_RANGE:
		return v >= d->constraint.range->min && v <= d->constraint.range->max;
	case SANE_CONSTRAINT_NONE:
		return true;
	default:
		return false;
	}
}

/* The largest (or smallest) value a geometry option's constraint allows. */
static bool opt_limit(const SANE_Option_Descriptor *d, bool max, SANE_Word *out)
{
	if (!d || (d->type != SANE_TYPE_INT && d->type != SANE_TYPE_FIXED))
		return false;
	if (d->constraint_type == SANE_CONSTRAINT_RANGE) {
		*out = max ? d->constraint.range->max : d->constraint.range->min;
		return true;
	}
	if (d->constraint_type == SANE_CONSTRAINT_WORD_LIST && d->constraint.word_list[0] > 0) {
		SANE_Word best = d->constraint.word_list[1];
		for (SANE_Word i = 2; i <= d->constraint.word_list[0]; i++) {
			SANE_Word v = d->constraint.word_list[i];
			if (max ? v > best : v < best)
				best = v;
		}
		*out = best;
		return true;
	}
	return false;
}

static uint32_t current_dpi(struct sane_dev *s)
{
	SANE_Word w;
	if (get_word(s, s->opt.resolution, &w) != SCANNER_OK)
		return 0;
	return to_dpi(s->desc[s->opt.resolution], w);
}

/* Geometry values are millimetres, or pixels at the current resolution. */
static double geometry_to_mm(const SANE_Option_Descriptor *d, SANE_Word w, uint32_t dpi)
{
	double v = word_to_double(d, w);
	if (d->unit == SANE_UNIT_PIXEL)
		return dpi ? v * MM_PER_INCH / dpi : 0;
	return v;
}

static double mm_to_geometry(const SANE_Option_Descriptor *d, double mm, uint32_t dpi)
{
	return d->unit == SANE_UNIT_PIXEL ? mm * dpi / MM_PER_INCH : mm;
}

static int classify_source(const char *name)
{
	if (strcasestr(name, "duplex"))
		return SCANNER_SOURCE_DUPLEX;
	if (strcasestr(name, "adf") || strcasestr(name, "feeder") ||
	    strcasestr(name, "automatic document"))
		return SCANNER_SOURCE_FEEDER;
	if (strcasestr(name, "flatbed") || strcasestr(name, "flat bed") ||
	    strcasestr(name, "platen") || strcasestr(name, "glass"))
		return SCANNER_SOURCE_FLATBED;
	return -1;
}

/* Lower is a better name for the mode; -1: not one of ours ("Color Lineart",
 * "Infrared"...). An exact standard name beats a longer variant ("Gray16"). */
static int rank_mode(const char *name, enum scanner_mode *mode)
{
	static const struct {
		const char *word;
		enum scanner_mode mode;
		int rank;
	} words[] = {
	        {"lineart", SCANNER_MODE_LINEART, 0},  {"binary", SCANNER_MODE_LINEART, 2},
	        {"halftone", SCANNER_MODE_LINEART, 4}, {"color", SCANNER_MODE_COLOR, 0},
	        {"colour", SCANNER_MODE_COLOR, 0},     {"gray", SCANNER_MODE_GRAY, 0},
	        {"grey", SCANNER_MODE_GRAY, 0},
	};
	bool colour = strcasestr(name, "colo") != NULL;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!strcasestr(name, words[i].word))
			continue;
		if (colour && words[i].mode != SCANNER_MODE_COLOR)
			return -1; /* colour lineart or halftone */
		*mode = words[i].mode;
		return words[i].rank + (strcasecmp(name, words[i].word) == 0 ? 0 : 1);
	}
	return -1;
}

static void describe_sources(struct sane_dev *s, struct dev_info *info)
{
	const SANE_Option_Descriptor *d = opt_desc(s, s->opt.source);

	if (!d || d->type != SANE_TYPE_STRING ||
	    d->constraint_type != SANE_CONSTRAINT_STRING_LIST) {
		/* No choice of source: a plain flatbed. */
		info->caps.sources = 1u << SCANNER_SOURCE_FLATBED;
		return;
	}
	for (const SANE_String_Const *p = d->constraint.string_list; *p; p++) {
		int src = classify_source(*p);
		char *slot;
		if (src < 0 || strlen(*p) >= NAME_LEN)
			continue;
		slot = info->source_name[src];
		/* First match wins, but a feeder's front beats its back side. */
		if (slot[0] && !(strcasestr(slot, "back") && !strcasestr(*p, "back")))
			continue;
		memcpy(slot, *p, strlen(*p) + 1);
		info->caps.sources |= 1u << src;
	}
}

static void describe_modes(struct sane_dev *s, struct dev_info *info)
{
	const SANE_Option_Descriptor *d = opt_desc(s, s->opt.mode);
	const SANE_Option_Descriptor *depth = opt_desc(s, s->opt.depth);
	int best[SCANNER_MODE_LAST] = {INT_MAX, INT_MAX, INT_MAX};

	if (d && d->type == SANE_TYPE_STRING && d->constraint_type == SANE_CONSTRAINT_STRING_LIST) {
		for (const SANE_String_Const *p = d->constraint.string_list; *p; p++) {
			enum scanner_mode mode;
			int rank = rank_mode(*p, &mode);
			if (rank < 0 || rank >= best[mode] || strlen(*p) >= NAME_LEN)
				continue;
			best[mode] = rank;
			memcpy(info->mode_name[mode], *p, strlen(*p) + 1);
			info->caps.modes |= 1u << mode;
		}
	} else {
		/* No mode option: the device scans in whatever it scans. */
		SANE_Parameters p;
		if (s->api->get_parameters(s->h, &p) == SANE_STATUS_GOOD)
			info->caps.modes |= 1u
			                    << (p.format == SANE_FRAME_GRAY ? SCANNER_MODE_GRAY
			                                                    : SCANNER_MODE_COLOR);
	}
	/* A grey scan at depth 1 is lineart. Depth lists rarely depend on the
	 * mode; if one does, configure() finds out when it sets the depth. */
	if (!(info->caps.modes & (1u << SCANNER_MODE_LINEART)) &&
	    (info->caps.modes & (1u << SCANNER_MODE_GRAY)) && opt_settable(depth) &&
	    depth->type == SANE_TYPE_INT && opt_offers(depth, 1)) {
		info->caps.modes |= 1u << SCANNER_MODE_LINEART;
		info->lineart_by_depth = true;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static void describe_resolution(struct sane_dev *s, struct dev_info *info)
{
	const SANE_Option_Descriptor *d = opt_desc(s, s->opt.resolution);
	struct scanner_caps *caps = &info->caps;

	if (!d || (d->type != SANE_TYPE_INT && d->type != SANE_TYPE_FIXED))
		return;
	if (d->constraint_type == SANE_CONSTRAINT_RANGE) {
		const SANE_Range *r = d->constraint.range;
		double quant = word_to_double(d, r->quant);
		caps->dpi_min = to_dpi(d, r->min);
		caps->dpi_max = to_dpi(d, r->max);
		caps->dpi_step = quant >= 1 ? (uint32_t)lround(quant) : 1;
	} else if (d->constraint_type == SANE_CONSTRAINT_WORD_LIST) {
		SANE_Word n = d->constraint.word_list[0];
		for (SANE_Word i = 1; i <= n; i++) {
			uint32_t dpi = to_dpi(d, d->constraint.word_list[i]);
			if (!dpi)
				continue;
			if (caps->dpi_count == SCANNER_MAX_DPI_LIST) {
				dlog(s, SCANNER_LOG_WARNING,
				     "sane: %s offers more than %d resolutions; ignoring %u dpi",
				     s->name, SCANNER_MAX_DPI_LIST, dpi);
				continue;
			}
			caps->dpi_list[caps->dpi_count++] = dpi;
		}
		qsort(caps->dpi_list, caps->dpi_count, sizeof(caps->dpi_list[0]), cmp_u32);
		if (caps->dpi_count) {
			caps->dpi_min = caps->dpi_list[0];
			caps->dpi_max = caps->dpi_list[caps->dpi_count - 1];
		}
	}
}

static double describe_extent(struct sane_dev *s, SANE_Int tl, SANE_Int br, uint32_t dpi)
{
	const SANE_Option_Descriptor *dtl = opt_desc(s, tl), *dbr = opt_desc(s, br);
	SANE_Word lo = 0, hi;
	double extent;

	if (!opt_limit(dbr, true, &hi))
		return 0;
	extent = geometry_to_mm(dbr, hi, dpi);
	if (opt_limit(dtl, false, &lo))
		extent -= geometry_to_mm(dtl, lo, dpi);
	return extent > 0 ? extent : 0;
}

/* Reads what the device can do from its current option descriptors. */
static void describe(struct sane_dev *s, struct dev_info *info)
{
	uint32_t dpi;

	memset(info, 0, sizeof(*info));
	describe_sources(s, info);
	describe_modes(s, info);
	describe_resolution(s, info);
	dpi = current_dpi(s);
	info->caps.max_width_mm = describe_extent(s, s->opt.tl_x, s->opt.br_x, dpi);
	info->caps.max_height_mm = describe_extent(s, s->opt.tl_y, s->opt.br_y, dpi);
}

static void dev_caps(struct scanner *base, struct scanner_caps *caps)
{
	struct dev_info info;
	describe(to_dev(base), &info);
	*caps = info.caps;
}

/* ---- set_option ---------------------------------------------------------------------------- */

static bool parse_bool(const char *v, SANE_Word *out)
{
	static const char *const yes[] = {"yes", "true", "1", "on"};
	static const char *const no[] = {"no", "false", "0", "off"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = SANE_TRUE;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = SANE_FALSE;
			return true;
		}
	}
	return false;
}

/* One number of an INT or FIXED option, ending at end (a comma or the NUL). */
static bool parse_number(const SANE_Option_Descriptor *d, const char *v, const char *end,
                         SANE_Word *out)
{
	char *stop;

	if (v == end || *v == ' ' || *v == '\t')
		return false;
	errno = 0;
	if (d->type == SANE_TYPE_INT) {
		long n = strtol(v, &stop, 10);
		if (errno || stop != end || n < INT32_MIN || n > INT32_MAX)
			return false;
		*out = (SANE_Word)n;
	} else {
		double x = strtod(v, &stop);
		if (errno || stop != end || !isfinite(x) || fabs(x) >= 32768.0)
			return false;
		*out = double_to_word(d, x);
	}
	return true;
}

/* Backends build fixed-point lists with SANE_FIX(), which truncates: "12.1"
 * must find the entry 12.1 became, one unit off our rounding. */
static void snap_to_list(const SANE_Option_Descriptor *d, SANE_Word *w)
{
	if (d->type != SANE_TYPE_FIXED || d->constraint_type != SANE_CONSTRAINT_WORD_LIST)
		return;
	for (SANE_Word i = 1; i <= d->constraint.word_list[0]; i++) {
		SANE_Word e = d->constraint.word_list[i];
		if (e >= *w - 1 && e <= *w + 1) {
			*w = e;
			return;
		}
	}
}

static bool within_constraint(const SANE_Option_Descriptor *d, SANE_Word w)
{
	if (d->constraint_type == SANE_CONSTRAINT_RANGE ||
	    d->constraint_type == SANE_CONSTRAINT_WORD_LIST)
		return opt_offers(d, w);
	return true;
}

/* A comma-separated list for array options, one number otherwise. */
static enum scanner_status parse_words(const SANE_Option_Descriptor *d, const char *value,
                                       SANE_Word *buf, size_t count)
{
	const char *p = value;
	for (size_t i = 0; i < count; i++) {
		const char *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		if ((i + 1 < count) != (*end == ',') || !parse_number(d, p, end, &buf[i]))
			return SCANNER_INVALID;
		snap_to_list(d, &buf[i]);
		if (!within_constraint(d, buf[i]))
			return SCANNER_INVALID;
		p = end + 1;
	}
	return SCANNER_OK;
}

/* A string-list value as the device spells it (case-insensitive match). */
static const char *match_string(const SANE_Option_Descriptor *d, const char *value)
{
	if (d->constraint_type != SANE_CONSTRAINT_STRING_LIST)
		return value;
	for (const SANE_String_Const *p = d->constraint.string_list; *p; p++)
		if (strcmp(*p, value) == 0)
			return *p;
	for (const SANE_String_Const *p = d->constraint.string_list; *p; p++)
		if (strcasecmp(*p, value) == 0)
			return *p;
	return NULL;
}

static enum scanner_status dev_set_option(struct scanner *base, const char *name, const char *value)
{
	struct sane_dev *s = to_dev(base);
	const SANE_Option_Descriptor *d;
	enum scanner_status ret = SCANNER_UNSUPPORTED;
	SANE_Int idx;
	SANE_Word *words = NULL;
	const char *str;

	if (s->in_document) {
		dlog(s, SCANNER_LOG_WARNING, "sane: option '%s' set during a document", name);
		return SCANNER_BUSY;
	}
	idx = find_option(s, name);
	d = opt_desc(s, idx);
	if (!d) {
		dlog(s, SCANNER_LOG_WARNING, "sane: %s has no option '%s'", s->name, name);
		goto out;
	}
	if (!opt_settable(d)) {
		dlog(s, SCANNER_LOG_WARNING, "sane: option '%s' is %s", name,
		     opt_active(d) ? "read-only" : "inactive");
		goto out;
	}
	switch (d->type) {
	case SANE_TYPE_BOOL:
	case SANE_TYPE_INT:
	case SANE_TYPE_FIXED: {
		size_t count = value_size(d) / sizeof(SANE_Word);
		ret = SCANNER_NO_MEMORY;
		words = calloc(count, sizeof(SANE_Word));
		if (!words)
			goto out;
		if (d->type == SANE_TYPE_BOOL)
			ret = parse_bool(value, &words[0]) ? SCANNER_OK : SCANNER_INVALID;
		else
			ret = parse_words(d, value, words, count);
		if (ret == SCANNER_OK)
			ret = set_raw(s, idx, words);
		break;
	}
	case SANE_TYPE_STRING:
		str = match_string(d, value);
		ret = str ? set_string(s, idx, str) : SCANNER_INVALID;
		break;
	case SANE_TYPE_BUTTON:
		ret = set_raw(s, idx, NULL);
		break;
	default:
		break;
	}
	if (ret == SCANNER_INVALID)
		dlog(s, SCANNER_LOG_WARNING, "sane: invalid value for option '%s'", name);
out:
	free(words);
	return ret;
}

/* ---- configure ----------------------------------------------------------------------------- */

static enum scanner_status set_resolution(struct sane_dev *s, uint32_t want, uint32_t *applied)
{
	const SANE_Option_Descriptor *d = opt_desc(s, s->opt.resolution);
	double v = want;
	enum scanner_status ret;

	*applied = 0;
	if (!opt_settable(d) || (d->type != SANE_TYPE_INT && d->type != SANE_TYPE_FIXED)) {
		*applied = current_dpi(s);
		return SCANNER_OK;
	}
	if (d->constraint_type == SANE_CONSTRAINT_RANGE) {
		double lo = word_to_double(d, d->constraint.range->min);
		double hi = word_to_double(d, d->constraint.range->max);
		double quant = word_to_double(d, d->constraint.range->quant);
		v = v < lo ? lo : v > hi ? hi : v;
		if (quant > 0) {
			v = lo + round((v - lo) / quant) * quant;
			if (v > hi)
				v -= quant;
		}
	} else if (d->constraint_type == SANE_CONSTRAINT_WORD_LIST) {
		double best = -1, best_dist = INFINITY;
		for (SANE_Word i = 1; i <= d->constraint.word_list[0]; i++) {
			double c = word_to_double(d, d->constraint.word_list[i]);
			double dist = fabs(c - v);
			/* On a tie take the higher resolution. */
			if (dist < best_dist || (dist == best_dist && c > best)) {
				best = c;
				best_dist = dist;
			}
		}
		if (best > 0)
			v = best;
	}
	ret = set_word(s, s->opt.resolution, double_to_word(d, v), NULL);
	if (ret != SCANNER_OK)
		return ret;
	*applied = current_dpi(s);
	return SCANNER_OK;
}

/* Sets one side of the area: tl to the glass's edge, br to tl + length mm, both
 * clamped to what the option allows. *got_mm is what the device took. */
static enum scanner_status set_extent(struct sane_dev *s, SANE_Int tl, SANE_Int br, double length,
                                      uint32_t dpi, double *got_mm)
{
	const SANE_Option_Descriptor *d;
	SANE_Word lo, hi, w, tl_w = 0, br_w;
	double origin = 0;
	enum scanner_status ret;

	*got_mm = -1;
	d = opt_desc(s, tl);
	if (opt_settable(d) && opt_limit(d, false, &lo)) {
		ret = set_word(s, tl, lo, NULL);
		if (ret != SCANNER_OK)
			return ret;
	}
	d = opt_desc(s, tl);
	if (opt_active(d) && get_word(s, tl, &tl_w) == SCANNER_OK)
		origin = geometry_to_mm(d, tl_w, dpi);

	d = opt_desc(s, br);
	if (!opt_settable(d) || (d->type != SANE_TYPE_INT && d->type != SANE_TYPE_FIXED))
		return SCANNER_OK; /* e.g. a hand scanner: no area to set */
	w = double_to_word(d, mm_to_geometry(d, origin + length, dpi));
	if (opt_limit(d, true, &hi) && w > hi)
		w = hi;
	if (opt_limit(d, false, &lo) && w < lo)
		w = lo;
	if (d->constraint_type == SANE_CONSTRAINT_WORD_LIST && !opt_offers(d, w))
		return SCANNER_OK; /* a list of fixed sizes: leave it to the device */
	ret = set_word(s, br, w, NULL);
	if (ret != SCANNER_OK)
		return ret;
	d = opt_desc(s, br);
	if (get_word(s, br, &br_w) == SCANNER_OK)
		*got_mm = geometry_to_mm(d, br_w, dpi) - origin;
	return SCANNER_OK;
}

static enum scanner_status set_mode(struct sane_dev *s, const struct dev_info *info,
                                    enum scanner_mode mode)
{
	enum scanner_status ret = SCANNER_OK;
	bool by_depth = mode == SCANNER_MODE_LINEART && info->lineart_by_depth;
	const char *name = info->mode_name[by_depth ? SCANNER_MODE_GRAY : mode];
	const SANE_Option_Descriptor *depth;

	if (name[0]) {
		ret = set_string(s, s->opt.mode, name);
		if (ret != SCANNER_OK)
			return ret;
	}
	/* Depth after mode: a mode change may reload the depth's constraint. */
	depth = opt_desc(s, s->opt.depth);
	if (!opt_settable(depth) || depth->type != SANE_TYPE_INT)
		return by_depth ? SCANNER_UNSUPPORTED : SCANNER_OK;
	if (by_depth)
		ret = opt_offers(depth, 1) ? set_word(s, s->opt.depth, 1, NULL)
		                           : SCANNER_UNSUPPORTED;
	else if (mode != SCANNER_MODE_LINEART && opt_offers(depth, 8))
		ret = set_word(s, s->opt.depth, 8, NULL);
	return ret;
}

static bool settings_valid(const struct scanner_settings *w)
{
	return (unsigned)w->source < SCANNER_SOURCE_LAST && (unsigned)w->mode < SCANNER_MODE_LAST &&
	       w->dpi > 0 && isfinite(w->width_mm) && isfinite(w->height_mm) && w->width_mm > 0 &&
	       w->height_mm > 0;
}

static double clamp_mm(double want, double max)
{
	return max > 0 && want > max ? max : want;
}

static enum scanner_status dev_configure(struct scanner *base, const struct scanner_settings *want,
                                         struct scanner_settings *applied)
{
	struct sane_dev *s = to_dev(base);
	struct dev_info info;
	enum scanner_status ret;
	double got;

	memset(applied, 0, sizeof(*applied));
	if (s->in_document) {
		dlog(s, SCANNER_LOG_WARNING, "sane: configure during a document");
		return SCANNER_BUSY;
	}
	if (!settings_valid(want))
		return SCANNER_INVALID;
	describe(s, &info);
	if (!(info.caps.sources & (1u << want->source))) {
		dlog(s, SCANNER_LOG_WARNING, "sane: %s has no %s source", s->name,
		     scanner_source_name(want->source));
		return SCANNER_UNSUPPORTED;
	}
	if (!(info.caps.modes & (1u << want->mode))) {
		dlog(s, SCANNER_LOG_WARNING, "sane: %s has no %s mode", s->name,
		     scanner_mode_name(want->mode));
		return SCANNER_UNSUPPORTED;
	}

	/* Source first: it may change the area; mode next: it may change depths
	 * and resolutions; the area last, in the resolution's pixels if need be. */
	if (info.source_name[want->source][0]) {
		ret = set_string(s, s->opt.source, info.source_name[want->source]);
		if (ret != SCANNER_OK)
			return ret;
	}
	applied->source = want->source;
	ret = set_mode(s, &info, want->mode);
	if (ret != SCANNER_OK)
		return ret;
	applied->mode = want->mode;
	ret = set_resolution(s, want->dpi, &applied->dpi);
	if (ret != SCANNER_OK)
		return ret;

	describe(s, &info); /* the maximum area may depend on source and resolution */
	ret = set_extent(s, s->opt.tl_x, s->opt.br_x,
	                 clamp_mm(want->width_mm, info.caps.max_width_mm), applied->dpi, &got);
	if (ret != SCANNER_OK)
		return ret;
	applied->width_mm = got >= 0 ? got : clamp_mm(want->width_mm, info.caps.max_width_mm);
	ret = set_extent(s, s->opt.tl_y, s->opt.br_y,
	                 clamp_mm(want->height_mm, info.caps.max_height_mm), applied->dpi, &got);
	if (ret != SCANNER_OK)
		return ret;
	applied->height_mm = got >= 0 ? got : clamp_mm(want->height_mm, info.caps.max_height_mm);
	dlog(s, SCANNER_LOG_INFO, "sane: %s configured: %s, %s, %u dpi, %.1f x %.1f mm", s->name,
	     scanner_source_name(applied->source), scanner_mode_name(applied->mode), applied->dpi,
	     applied->width_mm, applied->height_mm);
	return SCANNER_OK;
}

/* ---- pixel conversion ---------------------------------------------------------------------- */

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HIGH_BYTE 1
#else
#define HIGH_BYTE 0
#endif

static void copy_gray8(const uint8_t *in, uint8_t *out, size_t width)
{
	memcpy(out, in, width);
}

static void copy_rgb8(const uint8_t *in, uint8_t *out, size_t width)
{
	memcpy(out, in, width * 3);
}

/* 16-bit samples in host byte order: keep the high byte. */
static void down16(const uint8_t *in, uint8_t *out, size_t samples)
{
	for (size_t i = 0; i < samples; i++)
		out[i] = in[2 * i + HIGH_BYTE];
}

static void gray16(const uint8_t *in, uint8_t *out, size_t width)
{
	down16(in, out, width);
}

static void rgb16(const uint8_t *in, uint8_t *out, size_t width)
{
	down16(in, out, width * 3);
}

/* Grey depth 1: most significant bit first, a set bit is black (SANE standard). */
static void gray1(const uint8_t *in, uint8_t *out, size_t width)
{
	for (size_t x = 0; x < width; x++)
		out[x] = (in[x >> 3] >> (7 - (x & 7))) & 1 ? 0 : 255;
}

/* A red, green or blue frame at depth 1: a set bit is full intensity. */
static void plane1(const uint8_t *in, uint8_t *out, size_t width)
{
	for (size_t x = 0; x < width; x++)
		out[x] = (in[x >> 3] >> (7 - (x & 7))) & 1 ? 255 : 0;
}

/* RGB depth 1 as the test backend sends it (bytes_per_line = 3 * ceil(ppl / 8)):
 * per 8 pixels one byte of red, one of green, one of blue, MSB first, a set bit
 * full intensity. */
static void rgb1(const uint8_t *in, uint8_t *out, size_t width)
{
	for (size_t x = 0; x < width; x++) {
		const uint8_t *g = in + (x >> 3) * 3;
		unsigned shift = 7 - (x & 7);
		out[3 * x + 0] = (g[0] >> shift) & 1 ? 255 : 0;
		out[3 * x + 1] = (g[1] >> shift) & 1 ? 255 : 0;
		out[3 * x + 2] = (g[2] >> shift) & 1 ? 255 : 0;
	}
}

static bool is_plane(SANE_Frame f)
{
	return f == SANE_FRAME_RED || f == SANE_FRAME_GREEN || f == SANE_FRAME_BLUE;
}

/* Checks what sane_get_parameters() said and picks the converter. */
static bool choose_converter(struct sane_dev *s)
{
	const SANE_Parameters *p = &s->p;
	size_t ch = p->format == SANE_FRAME_RGB ? 3 : 1;
	size_t ppl = (size_t)p->pixels_per_line, need;

	if (p->format != SANE_FRAME_GRAY && p->format != SANE_FRAME_RGB && !is_plane(p->format))
		return false;
	if (p->pixels_per_line < 1 || p->pixels_per_line > MAX_PPL || p->lines < -1 ||
	    p->bytes_per_line < 1 || p->bytes_per_line > MAX_BPL)
		return false;
	switch (p->depth) {
	case 1:
		need = ch * ((ppl + 7) / 8);
		s->convert = p->format == SANE_FRAME_GRAY ? gray1 : ch == 3 ? rgb1 : plane1;
		break;
	case 8:
		need = ch * ppl;
		s->convert = ch == 3 ? copy_rgb8 : copy_gray8;
		break;
	case 16:
		need = 2 * ch * ppl;
		s->convert = ch == 3 ? rgb16 : gray16;
		break;
	default:
		return false;
	}
	if ((size_t)p->bytes_per_line < need)
		return false;
	/* The hot path: 8-bit lines without padding need no conversion at all. */
	s->direct = p->depth == 8 && !is_plane(p->format) && (size_t)p->bytes_per_line == need;
	return true;
}

/* ---- page buffers -------------------------------------------------------------------------- */

static void wipe_free(uint8_t **buf, size_t *cap)
{
	if (*buf)
		explicit_bzero(*buf, *cap);
	free(*buf);
	*buf = NULL;
	*cap = 0;
}

static enum scanner_status ensure_rbuf(struct sane_dev *s)
{
	size_t want = 2 * (size_t)s->p.bytes_per_line;
	if (want < RBUF_MIN)
		want = RBUF_MIN;
	if (s->rcap >= want)
		return SCANNER_OK;
	wipe_free(&s->rbuf, &s->rcap);
	s->rbuf = malloc(want);
	if (!s->rbuf)
		return SCANNER_NO_MEMORY;
	s->rcap = want;
	return SCANNER_OK;
}

/* Grows the three-pass image to hold need bytes; never past the cap, and never
 * with realloc(), which would free the old pixels without zeroing them. */
static enum scanner_status grow_image(struct sane_dev *s, size_t need)
{
	size_t cap = s->img_cap ? s->img_cap : need;
	uint8_t *img;

	if (need <= s->img_cap)
		return SCANNER_OK;
	if (need > s->max_buffer) {
		dlog(s, SCANNER_LOG_ERROR, "sane: page larger than the %zu-byte buffer cap",
		     s->max_buffer);
		return SCANNER_NO_MEMORY;
	}
	while (cap < need)
		cap = cap > s->max_buffer / 2 ? s->max_buffer : cap * 2;
	img = calloc(1, cap);
	if (!img)
		return SCANNER_NO_MEMORY;
	if (s->img) {
		memcpy(img, s->img, s->img_cap);
		explicit_bzero(s->img, s->img_cap);
		free(s->img);
	}
	s->img = img;
	s->img_cap = cap;
	return SCANNER_OK;
}

static void set_state(struct sane_dev *s, enum page_state state)
{
	if (s->state == state)
		return;
	dlog(s, SCANNER_LOG_DEBUG, "sane: page %s -> %s", page_state_names[s->state],
	     page_state_names[state]);
	s->state = state;
}

/* Forgets the page and wipes every byte of it we held. */
static void page_reset(struct sane_dev *s)
{
	if (s->rbuf)
		explicit_bzero(s->rbuf, s->rcap);
	s->roff = s->rhave = 0;
	wipe_free(&s->img, &s->img_cap);
	wipe_free(&s->tmp, &s->tmp_cap);
	s->img_lines = s->img_next = 0;
	s->eof = false;
	s->select_fd = -1;
	s->nonblocking = false;
	s->page_bytes = s->lines_done = s->drained = 0;
	s->direct = false;
	s->convert = NULL;
}

static enum scanner_status page_failed(struct sane_dev *s, enum scanner_status ret)
{
	if (ret == SCANNER_CANCELLED) {
		/* This thread owns libsane: stop the device here, never in
		 * dev_cancel()'s thread. */
		s->api->cancel(s->h);
		dlog(s, SCANNER_LOG_INFO, "sane: %s: page cancelled", s->name);
	}
	page_reset(s);
	s->failure = ret;
	set_state(s, PAGE_FAILED);
	return ret;
}

static enum scanner_status page_done(struct sane_dev *s)
{
	page_reset(s);
	set_state(s, PAGE_DONE);
	return SCANNER_PAGE_DONE;
}

/* ---- frames -------------------------------------------------------------------------------- */

/* sane_start(), retried while the lamp warms up. */
static SANE_Status start_frame(struct sane_dev *s)
{
	int delay = WARMUP_FIRST_MS, waited = 0;

	for (;;) {
		SANE_Status st;
		if (cancel_requested(s))
			return SANE_STATUS_CANCELLED;
		st = s->api->start(s->h);
		s->in_document = true;
		if ((int)st != SANE_STATUS_WARMING_UP || waited >= WARMUP_TOTAL_MS)
			return st;
		dlog(s, SCANNER_LOG_INFO, "sane: %s warming up, retrying in %d ms", s->name, delay);
		wait_or_cancel(s, delay);
		waited += delay;
		delay = delay * 2 > WARMUP_STEP_MAX_MS ? WARMUP_STEP_MAX_MS : delay * 2;
	}
}

/* Non-blocking reads with a select fd let a cancel interrupt a slow device;
 * without a select fd, reads stay blocking (a non-blocking read would spin). */
static void setup_io(struct sane_dev *s)
{
	SANE_Int fd = -1;

	s->nonblocking = s->api->set_io_mode(s->h, SANE_TRUE) == SANE_STATUS_GOOD;
	if (s->api->get_select_fd(s->h, &fd) == SANE_STATUS_GOOD && fd >= 0) {
		s->select_fd = fd;
	} else {
		s->select_fd = -1;
		if (s->nonblocking && s->api->set_io_mode(s->h, SANE_FALSE) == SANE_STATUS_GOOD)
			s->nonblocking = false;
	}
	dlog(s, SCANNER_LOG_DEBUG, "sane: io: %s, %s",
	     s->select_fd >= 0 ? "select fd" : "no select fd",
	     s->nonblocking ? "non-blocking" : "blocking");
}

/* sane_get_parameters() after every sane_start(), as the standard asks. */
static enum scanner_status begin_frame(struct sane_dev *s, bool first)
{
	SANE_Parameters prev = s->p;
	SANE_Status st = s->api->get_parameters(s->h, &s->p);

	if (st != SANE_STATUS_GOOD)
		return map_status(s->drv, s->name, st, OP_PARAMS);
	dlog(s, SCANNER_LOG_DEBUG,
	     "sane: frame format %d%s, depth %d, %d pixels, %d bytes a line, %d lines",
	     (int)s->p.format, s->p.last_frame ? " (last)" : "", (int)s->p.depth,
	     (int)s->p.pixels_per_line, (int)s->p.bytes_per_line, (int)s->p.lines);
	if (!choose_converter(s)) {
		dlog(s, SCANNER_LOG_ERROR, "sane: %s: unusable frame parameters", s->name);
		return SCANNER_IO_ERROR;
	}
	if (!first && (!is_plane(s->p.format) || s->p.depth != prev.depth ||
	               s->p.pixels_per_line != prev.pixels_per_line)) {
		dlog(s, SCANNER_LOG_ERROR, "sane: %s: three-pass frames do not match", s->name);
		return SCANNER_IO_ERROR;
	}
	s->eof = false;
	s->roff = s->rhave = 0;
	setup_io(s);
	return ensure_rbuf(s);
}

/* Up to max bytes of the current frame. Returns GOOD with *len > 0, EOF,
 * CANCELLED on our flag, or the backend's failure. */
static SANE_Status fetch(struct sane_dev *s, uint8_t *dst, size_t max, size_t *len)
{
	SANE_Int n;

	*len = 0;
	if (max > INT32_MAX)
		max = INT32_MAX;
	for (;;) {
		SANE_Status st;
		if (cancel_requested(s))
			return SANE_STATUS_CANCELLED;
		if (s->select_fd >= 0) {
			struct pollfd pfd[2] = {
			        {.fd = s->select_fd, .events = POLLIN},
			        {.fd = s->wake_fd, .events = POLLIN},
			};
			int r = poll(pfd, 2, POLL_MS);
			if (r < 0 && errno != EINTR) {
				dlog(s, SCANNER_LOG_ERROR, "sane: poll: %s", strerror(errno));
				return SANE_STATUS_IO_ERROR;
			}
			if (r < 0 || pfd[1].revents) {
				if (!cancel_requested(s))
					drain_wake(s);
				continue;
			}
			if (r == 0 && !s->nonblocking)
				continue;
		}
		n = 0;
		st = s->api->read(s->h, dst, (SANE_Int)max, &n);
		if (st != SANE_STATUS_GOOD)
			return st;
		if (n < 0 || (size_t)n > max) {
			dlog(s, SCANNER_LOG_ERROR, "sane: sane_read returned %d bytes", (int)n);
			return SANE_STATUS_IO_ERROR;
		}
		if (n > 0) {
			*len = (size_t)n;
			return SANE_STATUS_GOOD;
		}
		/* GOOD with nothing: non-blocking "try again". */
		if (s->select_fd < 0)
			wait_or_cancel(s, EMPTY_READ_WAIT_MS);
	}
}

/* fetch() in our terms: OK with *got > 0, or OK with *got == 0 and s->eof set. */
static enum scanner_status receive(struct sane_dev *s, uint8_t *dst, size_t max, size_t *got)
{
	SANE_Status st = fetch(s, dst, max, got);

	if (st == SANE_STATUS_GOOD) {
		s->page_bytes += *got;
		return SCANNER_OK;
	}
	if (st == SANE_STATUS_EOF) {
		s->eof = true;
		return SCANNER_OK;
	}
	if (st == SANE_STATUS_CANCELLED && cancel_requested(s))
		return SCANNER_CANCELLED;
	return map_status(s->drv, s->name, st, s->page_bytes ? OP_READ_MID : OP_READ);
}

/* Makes room for at least one more raw line behind the pending bytes. */
static void compact_rbuf(struct sane_dev *s)
{
	if (s->rhave == 0)
		s->roff = 0;
	else if (s->roff + s->rhave + (size_t)s->p.bytes_per_line > s->rcap) {
		memmove(s->rbuf, s->rbuf + s->roff, s->rhave);
		s->roff = 0;
	}
}

static void short_page(struct sane_dev *s, uint64_t got, size_t partial)
{
	if (partial)
		dlog(s, SCANNER_LOG_WARNING, "sane: %s: dropping %zu bytes of an incomplete line",
		     s->name, partial);
	if (s->p.lines >= 0 && got < (uint64_t)s->p.lines)
		dlog(s, SCANNER_LOG_WARNING, "sane: %s: page ended after %llu of %d lines", s->name,
		     (unsigned long long)got, (int)s->p.lines);
}

/* 8-bit lines without padding: sane_read() straight into the caller's buffer;
 * only the bytes of a partial line go through rbuf. */
static enum scanner_status read_direct(struct sane_dev *s, uint8_t *out, size_t want, size_t *lines)
{
	size_t stride = s->frame.stride, have = 0, room, n, rest;
	enum scanner_status ret;

	if (want > SIZE_MAX / stride)
		want = SIZE_MAX / stride;
	room = want * stride;
	if (s->rhave) {
		memcpy(out, s->rbuf + s->roff, s->rhave);
		have = s->rhave;
		s->roff = s->rhave = 0;
	}
	while (have < stride) {
		size_t got;
		if (s->eof) {
			short_page(s, s->lines_done, have);
			return SCANNER_PAGE_DONE;
		}
		ret = receive(s, out + have, room - have, &got);
		if (ret != SCANNER_OK)
			return ret;
		have += got;
	}
	n = have / stride;
	rest = have - n * stride;
	if (rest)
		memcpy(s->rbuf, out + n * stride, rest);
	s->rhave = rest;
	*lines = n;
	return SCANNER_OK;
}

/* Anything else: raw lines collect in rbuf and are converted into the caller's. */
static enum scanner_status read_convert(struct sane_dev *s, uint8_t *out, size_t want,
                                        size_t *lines)
{
	size_t bpl = (size_t)s->p.bytes_per_line, stride = s->frame.stride;
	enum scanner_status ret;

	for (;;) {
		size_t avail = s->rhave / bpl, got;
		if (avail) {
			size_t n = avail < want ? avail : want;
			const uint8_t *in = s->rbuf + s->roff;
			for (size_t i = 0; i < n; i++)
				s->convert(in + i * bpl, out + i * stride, s->frame.width);
			s->roff += n * bpl;
			s->rhave -= n * bpl;
			*lines = n;
			return SCANNER_OK;
		}
		if (s->eof) {
			short_page(s, s->lines_done, s->rhave);
			return SCANNER_PAGE_DONE;
		}
		compact_rbuf(s);
		ret = receive(s, s->rbuf + s->roff + s->rhave, s->rcap - s->roff - s->rhave, &got);
		if (ret != SCANNER_OK)
			return ret;
		s->rhave += got;
	}
}

/* All announced lines were delivered: read on to the frame's EOF, so that the
 * backend finishes the page before the next sane_start(). */
static enum scanner_status drain_frame(struct sane_dev *s)
{
	enum scanner_status ret;

	s->drained += s->rhave;
	s->roff = s->rhave = 0;
	while (!s->eof) {
		size_t got;
		if (s->drained > DRAIN_MAX_BYTES) {
			dlog(s, SCANNER_LOG_WARNING, "sane: %s: no EOF after the last line",
			     s->name);
			break;
		}
		ret = receive(s, s->rbuf, s->rcap, &got);
		if (ret != SCANNER_OK)
			return ret;
		s->drained += got;
	}
	if (s->drained)
		dlog(s, SCANNER_LOG_WARNING, "sane: %s: discarded %llu bytes past the last line",
		     s->name, (unsigned long long)s->drained);
	return SCANNER_PAGE_DONE;
}

static enum scanner_status read_stream(struct sane_dev *s, uint8_t *out, size_t max_lines,
                                       size_t *lines)
{
	size_t want = max_lines;

	if (s->p.lines >= 0) {
		uint64_t left = (uint64_t)s->p.lines - s->lines_done;
		if (left == 0)
			return drain_frame(s);
		if (want > left)
			want = (size_t)left;
	}
	return s->direct ? read_direct(s, out, want, lines) : read_convert(s, out, want, lines);
}

/* Reads the current red, green or blue frame into its channel of the image. */
static enum scanner_status read_plane(struct sane_dev *s, size_t *lines)
{
	size_t bpl = (size_t)s->p.bytes_per_line, w = s->frame.width, row = w * 3, y = 0;
	size_t c = (size_t)(s->p.format - SANE_FRAME_RED);
	enum scanner_status ret;

	if (s->tmp_cap < w) {
		wipe_free(&s->tmp, &s->tmp_cap);
		s->tmp = malloc(w);
		if (!s->tmp)
			return SCANNER_NO_MEMORY;
		s->tmp_cap = w;
	}
	for (;;) {
		size_t got;
		for (; s->rhave >= bpl; s->roff += bpl, s->rhave -= bpl) {
			uint8_t *dst;
			if (s->p.lines >= 0 && y >= (size_t)s->p.lines)
				continue; /* more than announced: dropped */
			if (y >= SIZE_MAX / row - 1)
				return SCANNER_NO_MEMORY;
			ret = grow_image(s, (y + 1) * row);
			if (ret != SCANNER_OK)
				return ret;
			s->convert(s->rbuf + s->roff, s->tmp, w);
			dst = s->img + y * row + c;
			for (size_t x = 0; x < w; x++)
				dst[3 * x] = s->tmp[x];
			y++;
		}
		if (s->eof)
			break;
		compact_rbuf(s);
		ret = receive(s, s->rbuf + s->roff + s->rhave, s->rcap - s->roff - s->rhave, &got);
		if (ret != SCANNER_OK)
			return ret;
		s->rhave += got;
	}
	short_page(s, y, s->rhave);
	s->roff = s->rhave = 0;
	*lines = y;
	return SCANNER_OK;
}

/* Three-pass: buffer the frames (any order), starting each further one. */
static enum scanner_status buffer_planes(struct sane_dev *s)
{
	size_t row = (size_t)s->frame.width * 3;
	unsigned seen = 0;
	enum scanner_status ret;

	if (s->p.lines > 0) {
		if ((size_t)s->p.lines > s->max_buffer / row)
			return grow_image(s, SIZE_MAX); /* logs the cap */
		ret = grow_image(s, (size_t)s->p.lines * row);
		if (ret != SCANNER_OK)
			return ret;
	}
	for (;;) {
		unsigned bit = 1u << (s->p.format - SANE_FRAME_RED);
		size_t lines;
		SANE_Status st;

		if (seen & bit) {
			dlog(s, SCANNER_LOG_ERROR, "sane: %s: colour frame sent twice", s->name);
			return SCANNER_IO_ERROR;
		}
		ret = read_plane(s, &lines);
		if (ret != SCANNER_OK)
			return ret;
		seen |= bit;
		if (lines > s->img_lines)
			s->img_lines = lines;
		if (s->p.last_frame || seen == 7)
			break;
		st = start_frame(s);
		if (st == SANE_STATUS_CANCELLED && cancel_requested(s))
			return SCANNER_CANCELLED;
		if (st != SANE_STATUS_GOOD)
			return map_status(s->drv, s->name, st, OP_READ_MID);
		ret = begin_frame(s, false);
		if (ret != SCANNER_OK)
			return ret;
	}
	if (seen != 7 || !s->p.last_frame) {
		dlog(s, SCANNER_LOG_ERROR, "sane: %s: three-pass page with frames 0x%x", s->name,
		     seen);
		return SCANNER_IO_ERROR;
	}
	if (s->p.lines >= 0)
		s->img_lines = (size_t)s->p.lines;
	s->img_next = 0;
	return SCANNER_OK;
}

static enum scanner_status deliver_buffered(struct sane_dev *s, uint8_t *out, size_t max_lines,
                                            size_t *lines)
{
	size_t row = s->frame.stride, n = s->img_lines - s->img_next;

	if (n == 0)
		return SCANNER_PAGE_DONE;
	if (n > max_lines)
		n = max_lines;
	memcpy(out, s->img + s->img_next * row, n * row);
	s->img_next += n;
	*lines = n;
	return SCANNER_OK;
}

/* ---- the page ------------------------------------------------------------------------------ */

static enum scanner_status dev_start_page(struct scanner *base, struct scanner_frame *frame)
{
	struct sane_dev *s = to_dev(base);
	enum scanner_status ret;
	uint32_t dpi;
	SANE_Status st;

	memset(frame, 0, sizeof(*frame));
	if (cancel_requested(s)) {
		if (s->state != PAGE_FAILED)
			return page_failed(s, SCANNER_CANCELLED);
		return SCANNER_CANCELLED;
	}
	if (s->state != PAGE_IDLE && s->state != PAGE_DONE) {
		dlog(s, SCANNER_LOG_WARNING,
		     "sane: start_page with a page %s; end the document first",
		     page_state_names[s->state]);
		return SCANNER_INVALID;
	}
	page_reset(s);
	set_state(s, PAGE_IDLE);
	/* Options are not readable while scanning. */
	dpi = s->in_document ? s->frame.dpi : current_dpi(s);

	st = start_frame(s);
	if (st != SANE_STATUS_GOOD) {
		if (st == SANE_STATUS_CANCELLED && cancel_requested(s))
			return page_failed(s, SCANNER_CANCELLED);
		return page_failed(s, map_status(s->drv, s->name, st, OP_START));
	}
	ret = begin_frame(s, true);
	if (ret != SCANNER_OK)
		return page_failed(s, ret);

	s->frame.width = (uint32_t)s->p.pixels_per_line;
	s->frame.height = s->p.lines >= 0 ? s->p.lines : -1;
	s->frame.channels = s->p.format == SANE_FRAME_GRAY ? 1 : 3;
	s->frame.dpi = dpi;
	s->frame.stride = (size_t)s->frame.width * s->frame.channels;
	*frame = s->frame;
	set_state(s, is_plane(s->p.format) ? PAGE_PLANES : PAGE_STREAM);
	return SCANNER_OK;
}

static enum scanner_status dev_read_lines(struct scanner *base, uint8_t *buf, size_t max_lines,
                                          size_t *lines)
{
	struct sane_dev *s = to_dev(base);
	enum scanner_status ret;

	*lines = 0;
	switch (s->state) {
	case PAGE_DONE:
		return SCANNER_PAGE_DONE;
	case PAGE_FAILED:
		return s->failure;
	case PAGE_IDLE:
	case PAGE_STATE_LAST:
		return SCANNER_INVALID;
	default:
		break;
	}
	if (cancel_requested(s))
		return page_failed(s, SCANNER_CANCELLED);
	if (s->state == PAGE_PLANES) {
		ret = buffer_planes(s);
		if (ret != SCANNER_OK)
			return page_failed(s, ret);
		set_state(s, PAGE_BUFFERED);
	}
	if (s->state == PAGE_BUFFERED)
		ret = deliver_buffered(s, buf, max_lines, lines);
	else
		ret = read_stream(s, buf, max_lines, lines);
	if (ret == SCANNER_OK) {
		s->lines_done += *lines;
		return SCANNER_OK;
	}
	return ret == SCANNER_PAGE_DONE ? page_done(s) : page_failed(s, ret);
}

static void dev_end_document(struct scanner *base)
{
	struct sane_dev *s = to_dev(base);

	/* sane_cancel() after every document, successful or not; it is a no-op
	 * for an idle device. */
	s->api->cancel(s->h);
	s->in_document = false;
	atomic_store_explicit(&s->cancel, false, memory_order_release);
	drain_wake(s);
	page_reset(s);
	set_state(s, PAGE_IDLE);
}

/* Any thread: an atomic flag and an eventfd write, nothing else (no libsane,
 * no logging: the log handler need not be thread-safe). */
static void dev_cancel(struct scanner *base)
{
	struct sane_dev *s = to_dev(base);
	uint64_t one = 1;

	atomic_store_explicit(&s->cancel, true, memory_order_release);
	/* EAGAIN means the counter is full: a wake-up is pending anyway. */
	if (write(s->wake_fd, &one, sizeof(one)) < 0)
		return;
}

static void dev_free(struct sane_dev *s)
{
	wipe_free(&s->rbuf, &s->rcap);
	wipe_free(&s->img, &s->img_cap);
	wipe_free(&s->tmp, &s->tmp_cap);
	free(s->desc);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	free(s);
}

static void dev_close(struct scanner *base)
{
	struct sane_dev *s = to_dev(base);

	dev_end_document(base);
	s->api->close(s->h);
	dlog(s, SCANNER_LOG_INFO, "sane: closed %s", s->name);
	dev_free(s);
}

/* Without libsane: a USB device's node (see usb_presence()); other names
 * cannot be checked this cheaply. */
static enum scanner_status dev_check(struct scanner *base)
{
	struct sane_dev *s = to_dev(base);

	return usb_presence(s->drv, s->name);
}

static const struct scanner_impl sane_scanner_impl = {
        .check = dev_check,
        .caps = dev_caps,
        .set_option = dev_set_option,
        .configure = dev_configure,
        .start_page = dev_start_page,
        .read_lines = dev_read_lines,
        .end_document = dev_end_document,
        .cancel = dev_cancel,
        .close = dev_close,
};

/* ---- the driver ---------------------------------------------------------------------------- */

static size_t copy_field(char *dst, size_t size, const char *src)
{
	return (size_t)snprintf(dst, size, "%s", src ? src : "");
}

static enum scanner_status drv_list(struct scanner_driver *base, struct scanner_device **devices,
                                    size_t *count)
{
	struct sane_drv *drv = to_drv(base);
	const SANE_Device **list = NULL;
	struct scanner_device *out;
	size_t n = 0, kept = 0;
	SANE_Status st;

	st = drv->api->get_devices(&list, SANE_TRUE);
	if (st != SANE_STATUS_GOOD)
		return map_status(drv, NULL, st, OP_LIST);
	while (list && list[n])
		n++;
	if (n == 0)
		return SCANNER_OK;
	out = calloc(n, sizeof(*out));
	if (!out)
		return SCANNER_NO_MEMORY;
	for (size_t i = 0; i < n; i++) {
		struct scanner_device *d = &out[kept];
		/* A truncated name could not be opened: leave the device out. */
		if (copy_field(d->name, sizeof(d->name), list[i]->name) >= sizeof(d->name)) {
			scanner_log(base, SCANNER_LOG_WARNING,
			            "sane: device name too long, skipped");
			continue;
		}
		copy_field(d->vendor, sizeof(d->vendor), list[i]->vendor);
		copy_field(d->model, sizeof(d->model), list[i]->model);
		copy_field(d->type, sizeof(d->type), list[i]->type);
		usb_serial(drv, d->name, d->serial, sizeof(d->serial));
		kept++;
	}
	*devices = out;
	*count = kept;
	return SCANNER_OK;
}

static enum scanner_status drv_open(struct scanner_driver *base, const char *name,
                                    struct scanner **out)
{
	struct sane_drv *drv = to_drv(base);
	struct sane_dev *s = NULL;
	enum scanner_status ret = SCANNER_NO_MEMORY;
	SANE_Status st;

	s = calloc(1, sizeof(*s));
	if (!s)
		goto out;
	s->base.impl = &sane_scanner_impl;
	s->base.driver = base;
	s->drv = drv;
	s->api = drv->api;
	s->select_fd = -1;
	s->wake_fd = -1;
	s->max_buffer = drv->api->max_buffer_bytes ? drv->api->max_buffer_bytes : MAX_BUFFER_BYTES;
	atomic_init(&s->cancel, false);

	ret = SCANNER_NO_DEVICE;
	if (name[0] == '\0') {
		/* "" is the first listed device; look it up so that we know its real
		 * name (the device-gone check parses it). */
		const SANE_Device **list = NULL;
		st = drv->api->get_devices(&list, SANE_TRUE);
		if (st != SANE_STATUS_GOOD) {
			ret = map_status(drv, NULL, st, OP_LIST);
			goto out;
		}
		if (!list || !list[0] || !list[0]->name) {
			scanner_log(base, SCANNER_LOG_WARNING, "sane: no devices");
			goto out;
		}
		name = list[0]->name;
	}
	if (copy_field(s->name, sizeof(s->name), name) >= sizeof(s->name))
		goto out;
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wake_fd < 0) {
		scanner_log(base, SCANNER_LOG_ERROR, "sane: eventfd: %s", strerror(errno));
		ret = SCANNER_IO_ERROR;
		goto out;
	}
	st = drv->api->open(s->name, &s->h);
	if (st != SANE_STATUS_GOOD) {
		ret = map_status(drv, s->name, st, OP_OPEN);
		goto out;
	}
	ret = reload_options(s);
	if (ret != SCANNER_OK) {
		drv->api->close(s->h);
		goto out;
	}
	scanner_log(base, SCANNER_LOG_INFO, "sane: opened %s", s->name);
	*out = &s->base;
	s = NULL;
out:
	if (s)
		dev_free(s);
	return ret;
}

static void drv_destroy(struct scanner_driver *base)
{
	struct sane_drv *drv = to_drv(base);

	drv->api->exit();
	free(drv);
	atomic_store(&sane_in_use, false);
}

static const struct scanner_driver_impl sane_driver_impl = {
        .name = "sane",
        .list = drv_list,
        .open = drv_open,
        .destroy = drv_destroy,
};

struct scanner_driver *scanner_sane_create(void)
{
	const struct sane_api *api = atomic_load(&api_override);
	struct sane_drv *drv = NULL;
	SANE_Int version = 0;

	if (atomic_exchange(&sane_in_use, true))
		return NULL;
	if (!api)
		api = get_real_api();
	if (!api) {
		/* No libsane on this system: no SANE scanners, the simulator still works. */
		atomic_store(&sane_in_use, false);
		return NULL;
	}
	drv = calloc(1, sizeof(*drv));
	if (!drv)
		goto fail;
	drv->base.impl = &sane_driver_impl;
	drv->api = api;
	if (api->init(&version, NULL) != SANE_STATUS_GOOD)
		goto fail;
	if (SANE_VERSION_MAJOR(version) != SANE_CURRENT_MAJOR) {
		api->exit();
		goto fail;
	}
	return &drv->base;
fail:
	free(drv);
	atomic_store(&sane_in_use, false);
	return NULL;
}
