/*
 * scanner.h - the one interface every scanner driver implements.
 *
 * A driver (SANE, the simulator) lists devices and opens them; an opened device
 * is a struct scanner with a const vtable, in the way cage's views work. Callers
 * see typed outcomes, never a library's own status codes: each driver translates
 * them once, at its boundary.
 *
 * Threads: a driver and the scanners it opened are used by one thread at a time
 * (SANE is not thread-safe), except scanner_cancel(), which any thread may call
 * at any moment.
 *
 * Pixels: whatever the device sends (1-bit lineart, 16-bit samples, three-pass
 * R/G/B frames, lines of unknown count), a driver delivers whole lines of 8-bit
 * samples, grey (1 channel) or interleaved RGB (3 channels).
 *
 * This header knows nothing of the kiosk; drivers depend on libc, pthreads and
 * their own libraries only.
 */
#ifndef SCANKIOSK_SCANNER_H
#define SCANKIOSK_SCANNER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCANNER_WUR __attribute__((warn_unused_result))

/* Outcome of a scanner call. */
enum scanner_status {
	SCANNER_OK = 0,       /* done as asked */
	SCANNER_PAGE_DONE,    /* read: the page is complete, no more lines */
	SCANNER_FEEDER_EMPTY, /* start: no paper in the feeder (or no more at a batch's end) */
	SCANNER_JAMMED,       /* paper jam in the feeder */
	SCANNER_COVER_OPEN,   /* the lid or the feeder cover is open */
	SCANNER_DEVICE_GONE,  /* unplugged, switched off or no longer answering */
	SCANNER_CANCELLED,    /* scanner_cancel() ended the page */
	SCANNER_IO_ERROR,     /* any other device or transfer failure */
	SCANNER_BUSY,         /* the device is in use elsewhere */
	SCANNER_NO_DEVICE,    /* no device of that name */
	SCANNER_UNSUPPORTED,  /* a setting or option the device cannot do */
	SCANNER_INVALID,      /* a malformed argument or option value */
	SCANNER_NO_MEMORY,    /* allocation failed */
	SCANNER_STATUS_LAST
};

/* A short English description of a status, for logs and technicians. */
const char *scanner_strerror(enum scanner_status status);

/* Where the paper is. */
enum scanner_source {
	SCANNER_SOURCE_FLATBED, /* the glass */
	SCANNER_SOURCE_FEEDER,  /* automatic document feeder, front sides */
	SCANNER_SOURCE_DUPLEX,  /* automatic document feeder, both sides */
	SCANNER_SOURCE_LAST
};

/* What the device scans in. */
enum scanner_mode {
	SCANNER_MODE_COLOR,   /* RGB */
	SCANNER_MODE_GRAY,    /* 8-bit grey */
	SCANNER_MODE_LINEART, /* black and white, delivered as grey 0/255 */
	SCANNER_MODE_LAST
};

const char *scanner_source_name(enum scanner_source source);
const char *scanner_mode_name(enum scanner_mode mode);

#define SCANNER_MAX_DPI_LIST 32

/* What a device can do, read after scanner_open(). */
struct scanner_caps {
	unsigned sources; /* bit (1u << enum scanner_source) per source */
	unsigned modes;   /* bit (1u << enum scanner_mode) per mode */
	uint32_t dpi_min; /* resolution range, inclusive */
	uint32_t dpi_max;
	uint32_t dpi_step; /* 0 when only dpi_list[] is allowed */
	uint32_t dpi_list[SCANNER_MAX_DPI_LIST];
	size_t dpi_count;    /* entries in dpi_list[]; 0 when a range */
	double max_width_mm; /* largest scan area */
	double max_height_mm;
};

/* What to scan. The area starts at the top-left corner of the glass or sheet. */
struct scanner_settings {
	enum scanner_source source;
	enum scanner_mode mode;
	uint32_t dpi;
	double width_mm;  /* clamped to the device's maximum */
	double height_mm; /* clamped to the device's maximum */
};

/* The shape of the page being read, as delivered to the caller. */
struct scanner_frame {
	uint32_t width;    /* pixels per line */
	int32_t height;    /* lines, or -1 when the device does not know in advance */
	uint32_t channels; /* 1 (grey) or 3 (RGB); 8 bits a sample */
	uint32_t dpi;
	size_t stride; /* bytes per delivered line: width * channels */
};

/* One device as listed by a driver. vendor, model and serial say which device
 * it is; the name may change when it is replugged (a USB bus path). */
struct scanner_device {
	char name[256]; /* pass to scanner_driver_open() */
	char vendor[64];
	char model[128];
	char type[64];
	char serial[64]; /* "" when the driver does not know it */
};

struct scanner;
struct scanner_driver;

/* The vtable of an opened device. */
struct scanner_impl {
	void (*caps)(struct scanner *s, struct scanner_caps *caps);
	enum scanner_status (*set_option)(struct scanner *s, const char *name, const char *value);
	enum scanner_status (*configure)(struct scanner *s, const struct scanner_settings *wanted,
	                                 struct scanner_settings *applied);
	enum scanner_status (*start_page)(struct scanner *s, struct scanner_frame *frame);
	enum scanner_status (*read_lines)(struct scanner *s, uint8_t *buf, size_t max_lines,
	                                  size_t *lines);
	void (*end_document)(struct scanner *s);
	void (*cancel)(struct scanner *s);
	void (*close)(struct scanner *s);
	/* Optional; NULL: the driver cannot tell (scanner_check() says UNSUPPORTED). */
	enum scanner_status (*check)(struct scanner *s);
};

/* Common head of every driver's device struct. */
struct scanner {
	const struct scanner_impl *impl;
	struct scanner_driver *driver;
};

/* The vtable of a driver. */
struct scanner_driver_impl {
	const char *name;
	enum scanner_status (*list)(struct scanner_driver *drv, struct scanner_device **devices,
	                            size_t *count);
	enum scanner_status (*open)(struct scanner_driver *drv, const char *name,
	                            struct scanner **out);
	void (*destroy)(struct scanner_driver *drv);
};

enum scanner_log_level {
	SCANNER_LOG_ERROR,
	SCANNER_LOG_WARNING,
	SCANNER_LOG_INFO,
	SCANNER_LOG_DEBUG
};
typedef void (*scanner_log_fn)(enum scanner_log_level level, const char *msg, void *userdata);

/* Common head of every driver struct. */
struct scanner_driver {
	const struct scanner_driver_impl *impl;
	scanner_log_fn log;
	void *log_userdata;
};

/* Technical detail (library codes, option names) goes to this handler; it never
 * receives page content. Without a handler, messages are dropped. */
void scanner_driver_set_log(struct scanner_driver *drv, scanner_log_fn fn, void *userdata);

/* Lists the devices this driver can reach. *devices is allocated and owned by the
 * caller (free()); *count may be 0. SANE's listing can take seconds: never call it
 * on a UI thread. */
SCANNER_WUR enum scanner_status scanner_driver_list(struct scanner_driver *drv,
                                                    struct scanner_device **devices, size_t *count);

/* Opens a device by the name scanner_driver_list() gave. NULL or "" opens the
 * first device. On success *out is owned by the caller: scanner_close(). */
SCANNER_WUR enum scanner_status scanner_driver_open(struct scanner_driver *drv, const char *name,
                                                    struct scanner **out);

/* Frees a driver. Every scanner it opened must be closed first. Accepts NULL. */
void scanner_driver_destroy(struct scanner_driver *drv);

void scanner_caps(struct scanner *s, struct scanner_caps *caps);

/* Sets a device-specific option by name (e.g. SANE's "depth" or a simulator fault).
 * The value is parsed according to the option's type. */
SCANNER_WUR enum scanner_status scanner_set_option(struct scanner *s, const char *name,
                                                   const char *value);

/* Applies settings for the next pages: an unsupported source or mode is refused
 * (SCANNER_UNSUPPORTED); the resolution is rounded to the nearest the device
 * offers and the area clamped to its maximum. *applied (may be NULL) receives
 * what was set. */
SCANNER_WUR enum scanner_status scanner_configure(struct scanner *s,
                                                  const struct scanner_settings *wanted,
                                                  struct scanner_settings *applied);

/* Starts the next page and fills *frame. SCANNER_FEEDER_EMPTY means no (more)
 * paper. After an error, call scanner_end_document() before starting again. */
SCANNER_WUR enum scanner_status scanner_start_page(struct scanner *s, struct scanner_frame *frame);

/* Reads up to max_lines whole lines of frame->stride bytes into buf.
 * Returns SCANNER_OK with *lines >= 1, SCANNER_PAGE_DONE with *lines == 0 at the
 * end of the page, or a failure with *lines == 0. Blocks until at least one line
 * is there, the page ends, or scanner_cancel() is called. */
SCANNER_WUR enum scanner_status scanner_read_lines(struct scanner *s, uint8_t *buf,
                                                   size_t max_lines, size_t *lines);

/* Ends a document (a flatbed page, a feeder batch, or a page that failed);
 * the device returns to idle. Safe to call when idle. */
void scanner_end_document(struct scanner *s);

/* Asks the current page to stop. Any thread, any moment; the reading thread
 * sees SCANNER_CANCELLED from its next read or start. The request is cleared
 * by the next scanner_end_document(). */
void scanner_cancel(struct scanner *s);

/* Ends any document and frees the device. Accepts NULL. */
void scanner_close(struct scanner *s);

/* Asks cheaply, without listing devices, whether an open device is still
 * attached: SCANNER_OK (it is), SCANNER_DEVICE_GONE (unplugged or switched
 * off), SCANNER_UNSUPPORTED (this driver or device cannot tell). Same thread as
 * the other calls; meant for an idle device. */
SCANNER_WUR enum scanner_status scanner_check(struct scanner *s);

/* Used by drivers: formats and passes a message to the driver's log handler. */
void scanner_log(struct scanner_driver *drv, enum scanner_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Drivers. */

/* The libsane adapter. Calls sane_init(); SANE_CONFIG_DIR selects the backends.
 * Only one SANE driver may exist at a time. Returns NULL on failure. */
struct scanner_driver *scanner_sane_create(void);

/* The simulator: replays image files as pages. spec is a list of pages and
 * options, see drivers/sim/README.md. Returns NULL (and logs through fn) when the
 * spec is malformed or a page cannot be read. */
struct scanner_driver *scanner_sim_create(const char *spec, scanner_log_fn fn, void *userdata);

#endif
