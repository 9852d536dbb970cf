/*
 * scanner.c - dispatch through the driver vtables, names of the enums, logging.
 */
#include "scanner.h"

#include <stdio.h>
#include <stdlib.h>

const char *scanner_strerror(enum scanner_status status)
{
	switch (status) {
	case SCANNER_OK:
		return "success";
	case SCANNER_PAGE_DONE:
		return "page complete";
	case SCANNER_FEEDER_EMPTY:
		return "no paper in the feeder";
	case SCANNER_JAMMED:
		return "paper jam";
	case SCANNER_COVER_OPEN:
		return "cover open";
	case SCANNER_DEVICE_GONE:
		return "scanner disconnected";
	case SCANNER_CANCELLED:
		return "cancelled";
	case SCANNER_IO_ERROR:
		return "scanner input/output error";
	case SCANNER_BUSY:
		return "scanner busy";
	case SCANNER_NO_DEVICE:
		return "no such scanner";
	case SCANNER_UNSUPPORTED:
		return "not supported by this scanner";
	case SCANNER_INVALID:
		return "invalid value";
	case SCANNER_NO_MEMORY:
		return "out of memory";
	case SCANNER_STATUS_LAST:
		break;
	}
	return "unknown scanner status";
}

const char *scanner_source_name(enum scanner_source source)
{
	static const char *const names[SCANNER_SOURCE_LAST] = {
	        [SCANNER_SOURCE_FLATBED] = "flatbed",
	        [SCANNER_SOURCE_FEEDER] = "adf",
	        [SCANNER_SOURCE_DUPLEX] = "duplex",
	};
	return (unsigned)source < SCANNER_SOURCE_LAST ? names[source] : "unknown";
}

const char *scanner_mode_name(enum scanner_mode mode)
{
	static const char *const names[SCANNER_MODE_LAST] = {
	        [SCANNER_MODE_COLOR] = "color",
	        [SCANNER_MODE_GRAY] = "gray",
	        [SCANNER_MODE_LINEART] = "lineart",
	};
	return (unsigned)mode < SCANNER_MODE_LAST ? names[mode] : "unknown";
}

void scanner_driver_set_log(struct scanner_driver *drv, scanner_log_fn fn, void *userdata)
{
	drv->log = fn;
	drv->log_userdata = userdata;
}

void scanner_log(struct scanner_driver *drv, enum scanner_log_level level, const char *fmt, ...)
{
	if (!drv || !drv->log)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	drv->log(level, msg, drv->log_userdata);
}

enum scanner_status scanner_driver_list(struct scanner_driver *drv, struct scanner_device **devices,
                                        size_t *count)
{
	*devices = NULL;
	*count = 0;
	return drv->impl->list(drv, devices, count);
}

enum scanner_status scanner_driver_open(struct scanner_driver *drv, const char *name,
                                        struct scanner **out)
{
	*out = NULL;
	return drv->impl->open(drv, name ? name : "", out);
}

void scanner_driver_destroy(struct scanner_driver *drv)
{
	if (drv)
		drv->impl->destroy(drv);
}

void scanner_caps(struct scanner *s, struct scanner_caps *caps)
{
	s->impl->caps(s, caps);
}

enum scanner_status scanner_set_option(struct scanner *s, const char *name, const char *value)
{
	if (!name || !value)
		return SCANNER_INVALID;
	return s->impl->set_option(s, name, value);
}

enum scanner_status scanner_configure(struct scanner *s, const struct scanner_settings *wanted,
                                      struct scanner_settings *applied)
{
	struct scanner_settings ignored;
	return s->impl->configure(s, wanted, applied ? applied : &ignored);
}

enum scanner_status scanner_start_page(struct scanner *s, struct scanner_frame *frame)
{
	return s->impl->start_page(s, frame);
}

enum scanner_status scanner_read_lines(struct scanner *s, uint8_t *buf, size_t max_lines,
                                       size_t *lines)
{
	*lines = 0;
	if (max_lines == 0)
		return SCANNER_INVALID;
	return s->impl->read_lines(s, buf, max_lines, lines);
}

void scanner_end_document(struct scanner *s)
{
	s->impl->end_document(s);
}

void scanner_cancel(struct scanner *s)
{
	s->impl->cancel(s);
}

void scanner_close(struct scanner *s)
{
	if (s)
		s->impl->close(s);
}

enum scanner_status scanner_check(struct scanner *s)
{
	return s->impl->check ? s->impl->check(s) : SCANNER_UNSUPPORTED;
}
