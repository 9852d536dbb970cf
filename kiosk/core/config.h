/*
 * config.h - the one INI file both programs read (/etc/scankiosk/scankiosk.conf).
 *
 * Parsed with libinih; drop-ins in PATH.d/ *.conf follow (config_load()). Every key is known here;
 * an unknown section or key, a value out of range or malformed, or a duplicate key is rejected with
 * "FILE:LINE: reason" so a technician can fix the file at once.
 *
 *   [spool]   dir, public_key, secret_key, max_bytes, max_count
 *   [intake]  url, ca_file, pin, client_cert, client_key, connect_timeout,
 *             low_speed_time, min_speed, max_time_base, retry_base, retry_cap,
 *             retry_after_cap
 *   [log]     level (error|warning|info|debug)
 *   [metrics] textfile, status, kiosk_textfile
 *   [control] socket (the uploader's control socket; default SPOOL/control.sock)
 *   [scanner] device, source (flatbed|adf), dpi, mode (auto|color|gray), settings
 *             (a file of its own with device, source, dpi, mode that the
 *             maintenance menu writes, read over these at start; see
 *             config_load_scanner_settings())
 *   [maintenance] pin_hash (argon2id, from scankiosk-pin hash), max_failures,
 *             lockout, delay_cap, state, idle_close
 *   [kiosk]   panel_dpi, idle_timeout, idle_warning, kundennummer_pattern,
 *             bg_pattern, categories, languages, language, high_contrast,
 *             large_text
 *   [category.KEY]  de, en, uk, ru, tr, ar: the button label of category KEY
 *             in that language (optional; one section per category). A label
 *             here wins over the translation catalogs. A key in categories that
 *             is not one of the shipped keys (CONFIG_DEFAULT_CATEGORIES) has no
 *             catalog entry and needs a section with at least de; a section
 *             for a key that is not in categories is refused.
 *
 * Sizes accept a K, M or G suffix (powers of 1024); durations are seconds.
 * Booleans are true|false|yes|no|on|off|1|0. Lists are comma-separated (blanks
 * around items are ignored). [scanner] device may be empty (the first device
 * found). Patterns are POSIX extended regular expressions, matched against the
 * whole normalised case number (upper case, no spaces); a pattern that does
 * not compile is rejected.
 */
#ifndef SCANKIOSK_CONFIG_H
#define SCANKIOSK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CONFIG_DEFAULT_PATH "/etc/scankiosk/scankiosk.conf"
#define CONFIG_ERROR_MAX    512
/* The longest path a Unix socket address holds (sun_path without its NUL). */
#define CONFIG_SOCKET_PATH_MAX 107
/* The control socket's name in the spool directory when [control] socket is unset. */
#define CONFIG_CONTROL_SOCKET_NAME "control.sock"

struct config_spool {
	char *dir;          /* spool root; default /var/spool/scankiosk */
	char *public_key;   /* file with the uploader's public key (the writer needs it) */
	char *secret_key;   /* file with the uploader's secret key (uploader only); may be NULL */
	uint64_t max_bytes; /* capacity bound, bytes; default 2G */
	uint32_t max_count; /* capacity bound, submissions; default 1000 */
};

struct config_intake {
	char *url;                /* base URL, https:// only; NULL when not configured */
	char *ca_file;            /* CA bundle that signs the intake's certificate; may be NULL */
	char *pin;                /* "sha256//BASE64" public-key pin; may be NULL */
	char *client_cert;        /* PEM client certificate (mTLS); may be NULL */
	char *client_key;         /* PEM key of client_cert; may be NULL */
	uint32_t connect_timeout; /* seconds; default 10 */
	uint32_t low_speed_time;  /* abort when below min_speed this long; default 30 s */
	uint32_t min_speed;       /* bytes per second; default 1024 */
	uint32_t max_time_base;   /* total-time cap: this many seconds plus 1 s per 100 KiB; default
	                             60 */
	uint32_t retry_base;      /* first backoff step, seconds; default 30 */
	uint32_t retry_cap;       /* longest backoff, seconds; default 3600 */
	uint32_t retry_after_cap; /* longest Retry-After honoured, seconds; default 3600 */
};

/* [scanner]: the kiosk's scanner. */
enum config_scan_source {
	CONFIG_SCAN_SOURCE_FLATBED, /* "flatbed": the glass (default) */
	CONFIG_SCAN_SOURCE_ADF,     /* "adf": the automatic document feeder */
	CONFIG_SCAN_SOURCE_LAST
};

enum config_scan_mode {
	CONFIG_SCAN_MODE_AUTO,  /* "auto": colour; grey content stored grey (default) */
	CONFIG_SCAN_MODE_COLOR, /* "color": colour, always stored colour */
	CONFIG_SCAN_MODE_GRAY,  /* "gray": grey */
	CONFIG_SCAN_MODE_LAST
};

/* The names the file uses: "flatbed", "adf"; "auto", "color", "gray". NULL
 * out of range. */
const char *config_scan_source_name(enum config_scan_source source);
const char *config_scan_mode_name(enum config_scan_mode mode);

struct config_scanner {
	char *device; /* SANE device name or "sim:SPEC"; NULL: the first device found */
	enum config_scan_source source;
	uint32_t dpi; /* 75..1200; default 300 */
	enum config_scan_mode mode;
	/* The technicians' choice from the maintenance menu (device, source, dpi,
	 * mode in a [scanner] section), read over the values above at start;
	 * default /var/lib/scankiosk/scanner.conf; NULL: not kept. */
	char *settings;
};

#define CONFIG_MAX_CATEGORIES   16
#define CONFIG_CATEGORY_KEY_MAX 32 /* [a-z0-9-], starting with a letter */
#define CONFIG_MAX_LANGUAGES    6
/* The category keys shipped, in the order shown. */
#define CONFIG_DEFAULT_CATEGORIES                                                                  \
	"continued-benefit,payslip,bank-statement,rent,sick-note,job-search,other"
#define CONFIG_DEFAULT_LANGUAGES "de,en,uk,ru,tr,ar"

#define CONFIG_LABEL_MAX_CHARS 60 /* characters of a category label */

/* [category.KEY]: a site's labels for one category. */
struct config_category_label {
	char key[CONFIG_CATEGORY_KEY_MAX + 1];
	char *label[CONFIG_MAX_LANGUAGES]; /* UTF-8, in the order de en uk ru tr ar; NULL if not
	                                      given */
};

/* [kiosk]: the customer's UI. */
struct config_kiosk {
	uint32_t panel_dpi;         /* the panel's pixels per inch, for mm layout; default 96 */
	uint32_t idle_timeout;      /* seconds without a touch before the warning; default 120 */
	uint32_t idle_warning;      /* seconds of the warning's countdown, >= 20; default 30 */
	char *kundennummer_pattern; /* NULL: the built-in default (kiosk/app/case_rules.h) */
	char *bg_pattern;           /* NULL: the built-in default */
	char **categories;          /* category keys in the order shown; never empty */
	size_t category_count;
	char **languages; /* language codes offered, in order (de en uk ru tr ar) */
	size_t language_count;
	/* The language every session starts in; must be in languages. Default "de",
	 * or the first of languages when that list leaves German out. */
	char *language;
	bool high_contrast; /* start in the high-contrast theme; default false */
	bool large_text;    /* start in large-text mode; default false */
	struct config_category_label *category_labels; /* [category.KEY] sections; may be NULL */
	size_t category_label_count;
};

/* [maintenance]: the technicians' menu. */
struct config_maintenance {
	char *pin_hash;        /* argon2id string (scankiosk-pin hash); NULL: the menu stays shut */
	uint32_t max_failures; /* wrong PINs before the lockout; default 5 */
	uint32_t lockout;      /* seconds locked after max_failures; default 900 */
	uint32_t delay_cap;    /* longest wait between two wrong PINs, seconds; default 60 */
	char *state;         /* the PIN guard's state file; default /var/lib/scankiosk/pin-state */
	uint32_t idle_close; /* the menu closes after this many seconds untouched; default 120 */
};

struct config {
	struct config_spool spool;
	struct config_intake intake;
	struct config_scanner scanner;
	struct config_kiosk kiosk;
	struct config_maintenance maintenance;
	enum log_level log_level; /* default info */
	char *metrics_textfile;   /* Prometheus textfile; may be NULL (none written) */
	char *kiosk_textfile;     /* the kiosk's own (scanner) metrics; may be NULL */
	char *status_file;    /* uploader status for the maintenance menu; default SPOOL/status */
	char *control_socket; /* [control] socket; NULL: SPOOL/control.sock */
};

/* [spool] secret_key and [intake] client_key may name a systemd credential
 * instead of a file: "credential:NAME" is $CREDENTIALS_DIRECTORY/NAME, which
 * the unit's LoadCredential=NAME:/etc/scankiosk/... fills (readable only by
 * the service, never on a disk it can write). */
#define CONFIG_CREDENTIAL_PREFIX   "credential:"
#define CONFIG_CREDENTIAL_NAME_MAX 64

/* Fills cfg with the defaults (owned strings; release with config_finish()). */
void config_init(struct config *cfg);

/*
 * Reads path over the defaults in cfg, then every PATH.d/NAME.conf in name
 * order over that (drop-ins: the provisioning step writes one, so the shipped
 * file stays as the package left it; a missing PATH.d is fine). Returns true,
 * or false with one line "file:line: reason" in err (line 0 when a file cannot
 * be read). On failure cfg still holds valid defaults and must be released
 * with config_finish().
 */
__attribute__((warn_unused_result)) bool config_load(struct config *cfg, const char *path,
                                                     char err[CONFIG_ERROR_MAX]);

/* Parses text as if it were a file named name (tests, fuzzing). */
__attribute__((warn_unused_result)) bool config_load_string(struct config *cfg, const char *name,
                                                            const char *text,
                                                            char err[CONFIG_ERROR_MAX]);

/*
 * Reads a scanner settings file ([scanner] settings: the technicians' choice
 * from the maintenance menu, written by scanner_settings_save()) over cfg.
 * The file may hold a [scanner] section with device, source, dpi and mode,
 * checked as in the main file ("device =" empty: the first device found);
 * any other section or key is refused. All or nothing: on failure cfg is as
 * it was.
 * Returns true when the file was read (*found true) or does not exist
 * (*found false, err ""), false with "path:line: reason" in err (line 0 when
 * the file cannot be read) otherwise. Callers at start should log and go on
 * (kiosk/core/scanner_settings.h does).
 */
__attribute__((warn_unused_result)) bool config_load_scanner_settings(struct config *cfg,
                                                                      const char *path, bool *found,
                                                                      char err[CONFIG_ERROR_MAX]);

/* Parses text as if it were a scanner settings file named name (tests,
 * fuzzing, and the writer's check that what it writes reads back). */
__attribute__((warn_unused_result)) bool
config_load_scanner_settings_string(struct config *cfg, const char *name, const char *text,
                                    char err[CONFIG_ERROR_MAX]);

/* The label of category key in language lang ("de", ..., "ar") as configured in
 * [category.KEY], or NULL when the configuration gives none (use the catalog). */
const char *config_category_label(const struct config *cfg, const char *key, const char *lang);

/*
 * The uploader's control socket (kiosk/upload/CONTROL.md): [control] socket,
 * or CONFIG_CONTROL_SOCKET_NAME in the spool directory. Both programs ask
 * here, so they agree. Writes it to buf; false (buf "") when it does not fit
 * size or a socket address (CONFIG_SOCKET_PATH_MAX).
 */
bool config_control_socket(const struct config *cfg, char *buf, size_t size);

/* Turns the credential:NAME values of [spool] secret_key and [intake]
 * client_key into paths in $CREDENTIALS_DIRECTORY. False with a line in err
 * when one is used and the variable is not set (the program was not started
 * by its unit). Paths are left as they are. */
__attribute__((warn_unused_result)) bool config_resolve_credentials(struct config *cfg,
                                                                    char err[CONFIG_ERROR_MAX]);
/* True when value is in the credential:NAME form. */
bool config_is_credential(const char *value);

/* Frees what cfg owns. Accepts a cfg that was only initialised. */
void config_finish(struct config *cfg);

/*
 * The keys the parser knows, read-only, for checks that every key is
 * documented (tests/packaging: the shipped file and the man page). Key i,
 * 0 <= i < config_key_count(), in the table's order: its section ("spool")
 * and name ("dir"), static strings. The [category.KEY] sections are not in
 * the table. False (nothing written) when i is out of range.
 */
size_t config_key_count(void);
bool config_key_at(size_t i, const char **section, const char **name);

#endif
