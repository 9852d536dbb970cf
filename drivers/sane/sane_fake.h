/*
 * sane_fake.h - TEST-ONLY seam of the SANE adapter (drivers/sane/sane.c).
 *
 * The adapter reaches libsane only through a const table of function pointers.
 * Tests swap that table for a scripted one to produce what the real `test`
 * backend cannot: SANE_STATUS_WARMING_UP from sane_start(), a USB device that
 * disappears mid-page, a page larger than the buffer cap. Nothing outside
 * tests/ includes this header; production code never calls these functions.
 *
 * Never add a drivers/sane/sane.h: with -Idrivers it would shadow <sane/sane.h>.
 */
#ifndef SCANKIOSK_SANE_FAKE_H
#define SCANKIOSK_SANE_FAKE_H

#include <stdbool.h>
#include <stddef.h>

#include <sane/sane.h>

/* sane.h keeps these behind #if 0 ("for later SANE versions"), yet backends
 * return them, e.g. epson2 and genesys while the lamp warms up. */
#ifndef SANE_STATUS_WARMING_UP
#define SANE_STATUS_WARMING_UP 12
#endif
#ifndef SANE_STATUS_HW_LOCKED
#define SANE_STATUS_HW_LOCKED 13
#endif

/* Every libsane entry point the adapter uses, plus two knobs for tests. */
struct sane_api {
	SANE_Status (*init)(SANE_Int *version_code, SANE_Auth_Callback authorize);
	void (*exit)(void);
	SANE_Status (*get_devices)(const SANE_Device ***device_list, SANE_Bool local_only);
	SANE_Status (*open)(SANE_String_Const name, SANE_Handle *h);
	void (*close)(SANE_Handle h);
	const SANE_Option_Descriptor *(*get_option_descriptor)(SANE_Handle h, SANE_Int n);
	SANE_Status (*control_option)(SANE_Handle h, SANE_Int n, SANE_Action action, void *value,
	                              SANE_Int *info);
	SANE_Status (*get_parameters)(SANE_Handle h, SANE_Parameters *params);
	SANE_Status (*start)(SANE_Handle h);
	SANE_Status (*read)(SANE_Handle h, SANE_Byte *data, SANE_Int max_length, SANE_Int *length);
	void (*cancel)(SANE_Handle h);
	SANE_Status (*set_io_mode)(SANE_Handle h, SANE_Bool non_blocking);
	SANE_Status (*get_select_fd)(SANE_Handle h, SANE_Int *fd);
	SANE_String_Const (*strstatus)(SANE_Status status);

	/* Folder of USB device nodes for the device-gone check; NULL: /dev/bus/usb. */
	const char *usb_root;
	/* Largest buffered page in bytes (three-pass planes); 0: the built-in cap. */
	size_t max_buffer_bytes;
};

/* The table that calls the real libsane (opened on first use), for a fake to
 * copy and override; NULL when libsane cannot be loaded. */
const struct sane_api *scanner_sane_real_api(void);

/* Makes the next scanner_sane_create() use api (NULL: the real libsane). api must
 * outlive that driver. Returns false, changing nothing, while a SANE driver exists. */
bool scanner_sane_set_api(const struct sane_api *api);

#endif
