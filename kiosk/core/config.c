/*
 * config.c - the INI file, parsed with libinih, checked key by key.
 *
 * libinih reads lines of at most INI_MAX_LINE (200) bytes and would split a
 * longer one silently, so the text is checked for long lines first: every
 * error names the exact line.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pin.h"

/* A config file is small; anything bigger is not one. */
#define CONFIG_MAX_FILE (256 * 1024)
#define CONFIG_MAX_KEYS 64

enum value_kind {
	VALUE_STRING, /* non-empty text */
	VALUE_PATH,   /* non-empty text, no control characters */
	VALUE_URL,    /* https:// URL */
	VALUE_PIN,    /* sha256//... */
	VALUE_SIZE,   /* bytes with an optional K/M/G suffix */
	VALUE_COUNT,  /* unsigned 32-bit number */
	VALUE_SECONDS,
	VALUE_LOG_LEVEL,
	VALUE_BOOL,       /* true|false|yes|no|on|off|1|0 */
	VALUE_DEVICE,     /* text without control characters; empty means NULL */
	VALUE_REGEX,      /* a POSIX extended regular expression that compiles */
	VALUE_SOURCE,     /* flatbed|adf */
	VALUE_MODE,       /* auto|color|gray */
	VALUE_CATEGORIES, /* list of category keys */
	VALUE_LANGUAGES,  /* list of language codes */
	VALUE_LANGUAGE,   /* one language code */
	VALUE_SOCKET,     /* an absolute path short enough for a Unix socket address */
	VALUE_PIN_HASH,   /* an argon2id string pin_hash_valid() accepts */
	VALUE_KEY_FILE,   /* a path, or credential:NAME (systemd's LoadCredential) */
};

struct key_spec {
	const char *section;
	const char *name;
	enum value_kind kind;
	size_t offset;       /* into struct config */
	uint64_t min, max;   /* numbers only */
	size_t count_offset; /* lists: the size_t item count */
};

#define SPOOL(field)   offsetof(struct config, spool.field)
#define INTAKE(field)  offsetof(struct config, intake.field)
#define SCANNER(field) offsetof(struct config, scanner.field)
#define KIOSK(field)   offsetof(struct config, kiosk.field)
#define MAINT(field)   offsetof(struct config, maintenance.field)

/* The languages the kiosk has catalogs for. */
static const char *const known_languages[] = {"de", "en", "uk", "ru", "tr", "ar"};
#define N_KNOWN_LANGUAGES (sizeof(known_languages) / sizeof(known_languages[0]))

static const struct key_spec keys[] = {
        {"spool", "dir", VALUE_PATH, SPOOL(dir), 0, 0, 0},
        {"spool", "public_key", VALUE_PATH, SPOOL(public_key), 0, 0, 0},
        {"spool", "secret_key", VALUE_KEY_FILE, SPOOL(secret_key), 0, 0, 0},
        {"spool", "max_bytes", VALUE_SIZE, SPOOL(max_bytes), 1024 * 1024, UINT64_C(1) << 42, 0},
        {"spool", "max_count", VALUE_COUNT, SPOOL(max_count), 1, 1000000, 0},
        {"intake", "url", VALUE_URL, INTAKE(url), 0, 0, 0},
        {"intake", "ca_file", VALUE_PATH, INTAKE(ca_file), 0, 0, 0},
        {"intake", "pin", VALUE_PIN, INTAKE(pin), 0, 0, 0},
        {"intake", "client_cert", VALUE_PATH, INTAKE(client_cert), 0, 0, 0},
        {"intake", "client_key", VALUE_KEY_FILE, INTAKE(client_key), 0, 0, 0},
        {"intake", "connect_timeout", VALUE_SECONDS, INTAKE(connect_timeout), 1, 300, 0},
        {"intake", "low_speed_time", VALUE_SECONDS, INTAKE(low_speed_time), 1, 3600, 0},
        {"intake", "min_speed", VALUE_COUNT, INTAKE(min_speed), 1, 100000000, 0},
        {"intake", "max_time_base", VALUE_SECONDS, INTAKE(max_time_base), 1, 86400, 0},
        {"intake", "retry_base", VALUE_SECONDS, INTAKE(retry_base), 1, 86400, 0},
        {"intake", "retry_cap", VALUE_SECONDS, INTAKE(retry_cap), 1, 7 * 86400, 0},
        {"intake", "retry_after_cap", VALUE_SECONDS, INTAKE(retry_after_cap), 1, 7 * 86400, 0},
        {"log", "level", VALUE_LOG_LEVEL, offsetof(struct config, log_level), 0, 0, 0},
        {"metrics", "textfile", VALUE_PATH, offsetof(struct config, metrics_textfile), 0, 0, 0},
        {"metrics", "status", VALUE_PATH, offsetof(struct config, status_file), 0, 0, 0},
        {"metrics", "kiosk_textfile", VALUE_PATH, offsetof(struct config, kiosk_textfile), 0, 0, 0},
        {"control", "socket", VALUE_SOCKET, offsetof(struct config, control_socket), 0, 0, 0},
        {"scanner", "device", VALUE_DEVICE, SCANNER(device), 0, 0, 0},
        {"scanner", "source", VALUE_SOURCE, SCANNER(source), 0, 0, 0},
        {"scanner", "dpi", VALUE_COUNT, SCANNER(dpi), 75, 1200, 0},
        {"scanner", "mode", VALUE_MODE, SCANNER(mode), 0, 0, 0},
        {"scanner", "settings", VALUE_PATH, SCANNER(settings), 0, 0, 0},
        {"maintenance", "pin_hash", VALUE_PIN_HASH, MAINT(pin_hash), 0, 0, 0},
        {"maintenance", "max_failures", VALUE_COUNT, MAINT(max_failures), 1, 100, 0},
        {"maintenance", "lockout", VALUE_SECONDS, MAINT(lockout), 60, 86400, 0},
        {"maintenance", "delay_cap", VALUE_SECONDS, MAINT(delay_cap), 1, 3600, 0},
        {"maintenance", "state", VALUE_PATH, MAINT(state), 0, 0, 0},
        {"maintenance", "idle_close", VALUE_SECONDS, MAINT(idle_close), 30, 3600, 0},
        {"kiosk", "panel_dpi", VALUE_COUNT, KIOSK(panel_dpi), 50, 1000, 0},
        {"kiosk", "idle_timeout", VALUE_SECONDS, KIOSK(idle_timeout), 30, 3600, 0},
        {"kiosk", "idle_warning", VALUE_SECONDS, KIOSK(idle_warning), 20, 600, 0},
        {"kiosk", "kundennummer_pattern", VALUE_REGEX, KIOSK(kundennummer_pattern), 0, 0, 0},
        {"kiosk", "bg_pattern", VALUE_REGEX, KIOSK(bg_pattern), 0, 0, 0},
        {"kiosk", "categories", VALUE_CATEGORIES, KIOSK(categories), 0, 0, KIOSK(category_count)},
        {"kiosk", "languages", VALUE_LANGUAGES, KIOSK(languages), 0, 0, KIOSK(language_count)},
        {"kiosk", "language", VALUE_LANGUAGE, KIOSK(language), 0, 0, 0},
        {"kiosk", "high_contrast", VALUE_BOOL, KIOSK(high_contrast), 0, 0, 0},
        {"kiosk", "large_text", VALUE_BOOL, KIOSK(large_text), 0, 0, 0},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

struct parse_state {
	struct config *cfg;
	bool seen[N_KEYS];
	bool seen_language; /* [kiosk] language was set explicitly */
	bool seen_categories;
	unsigned label_seen[CONFIG_MAX_CATEGORIES]; /* languages set, a bit each */
	char reason[CONFIG_ERROR_MAX / 2];
	bool failed;
	bool scanner_only; /* a scanner settings file: [scanner] device, source, dpi, mode */
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static bool is_string_kind(enum value_kind kind)
{
	return kind == VALUE_STRING || kind == VALUE_PATH || kind == VALUE_URL ||
	       kind == VALUE_PIN || kind == VALUE_DEVICE || kind == VALUE_REGEX ||
	       kind == VALUE_LANGUAGE || kind == VALUE_SOCKET || kind == VALUE_PIN_HASH ||
	       kind == VALUE_KEY_FILE;
}

static bool is_list_kind(enum value_kind kind)
{
	return kind == VALUE_CATEGORIES || kind == VALUE_LANGUAGES;
}

static char **field_string(struct config *cfg, const struct key_spec *k)
{
	return (char **)(void *)((char *)cfg + k->offset);
}

static char ***field_list(struct config *cfg, const struct key_spec *k)
{
	return (char ***)(void *)((char *)cfg + k->offset);
}

static size_t *field_count(struct config *cfg, const struct key_spec *k)
{
	return (size_t *)(void *)((char *)cfg + k->count_offset);
}

static void list_free(char **items, size_t count)
{
	if (!items)
		return;
	for (size_t i = 0; i < count; i++)
		free(items[i]);
	free(items);
}

/* Splits "a, b,c" into trimmed items. Returns the number of items, or -1 with a
 * reason (an empty item, too many, out of memory). */
static long list_split(const char *value, size_t max, char ***out, const char **why)
{
	char **items = calloc(max, sizeof(*items));
	size_t n = 0;
	if (!items) {
		*why = "out of memory";
		return -1;
	}
	const char *p = value;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *a = p;
		const char *b = p + len;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (a == b) {
			*why = "an empty item in the list";
			goto fail;
		}
		if (n == max) {
			*why = "too many items in the list";
			goto fail;
		}
		items[n] = strndup(a, (size_t)(b - a));
		if (!items[n]) {
			*why = "out of memory";
			goto fail;
		}
		n++;
		if (!end)
			break;
		p = end + 1;
	}
	*out = items;
	return (long)n;
fail:
	list_free(items, n);
	return -1;
}

static bool list_dup(char **src, size_t count, char ***out)
{
	*out = NULL;
	if (!src)
		return true;
	char **items = calloc(count ? count : 1, sizeof(*items));
	if (!items)
		return false;
	for (size_t i = 0; i < count; i++) {
		if (!(items[i] = strdup(src[i]))) {
			list_free(items, i);
			return false;
		}
	}
	*out = items;
	return true;
}

static bool language_known(const char *code)
{
	for (size_t i = 0; i < N_KNOWN_LANGUAGES; i++)
		if (strcmp(code, known_languages[i]) == 0)
			return true;
	return false;
}

static bool list_contains(char **items, size_t count, const char *item)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(items[i], item) == 0)
			return true;
	return false;
}

/* A category key: a lower-case letter, then lower-case letters, digits, '-'. */
static bool category_key_valid(const char *key)
{
	size_t len = strlen(key);
	if (len == 0 || len > CONFIG_CATEGORY_KEY_MAX || !(key[0] >= 'a' && key[0] <= 'z'))
		return false;
	for (const char *c = key; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return false;
	return true;
}

static void set_default_list(char ***items, size_t *count, const char *text, size_t max)
{
	const char *why;
	long n = list_split(text, max, items, &why);
	*count = n > 0 ? (size_t)n : 0;
	if (n < 0)
		*items = NULL;
}

void config_init(struct config *cfg)
{
	*cfg = (struct config){
	        .spool =
	                {
	                        .dir = dup_or_null("/var/spool/scankiosk"),
	                        .public_key = dup_or_null("/etc/scankiosk/spool.pub"),
	                        .max_bytes = UINT64_C(2) * 1024 * 1024 * 1024,
	                        .max_count = 1000,
	                },
	        .intake =
	                {
	                        .connect_timeout = 10,
	                        .low_speed_time = 30,
	                        .min_speed = 1024,
	                        .max_time_base = 60,
	                        .retry_base = 30,
	                        .retry_cap = 3600,
	                        .retry_after_cap = 3600,
	                },
	        .log_level = LOG_LEVEL_INFO,
	        .maintenance =
	                {
	                        .max_failures = 5,
	                        .lockout = 900,
	                        .delay_cap = 60,
	                        .state = dup_or_null("/var/lib/scankiosk/pin-state"),
	                        .idle_close = 120,
	                },
	        .scanner =
	                {
	                        .source = CONFIG_SCAN_SOURCE_FLATBED,
	                        .dpi = 300,
	                        .mode = CONFIG_SCAN_MODE_AUTO,
	                        .settings = dup_or_null("/var/lib/scankiosk/scanner.conf"),
	                },
	        .kiosk =
	                {
	                        .panel_dpi = 96,
	                        .idle_timeout = 120,
	                        .idle_warning = 30,
	                        .language = dup_or_null("de"),
	                },
	};
	set_default_list(&cfg->kiosk.categories, &cfg->kiosk.category_count,
	                 CONFIG_DEFAULT_CATEGORIES, CONFIG_MAX_CATEGORIES);
	set_default_list(&cfg->kiosk.languages, &cfg->kiosk.language_count,
	                 CONFIG_DEFAULT_LANGUAGES, CONFIG_MAX_LANGUAGES);
}

static void labels_free(struct config_category_label *labels, size_t count)
{
	if (!labels)
		return;
	for (size_t i = 0; i < count; i++)
		for (size_t l = 0; l < CONFIG_MAX_LANGUAGES; l++)
			free(labels[i].label[l]);
	free(labels);
}

static bool labels_dup(struct config_category_label *src, size_t count,
                       struct config_category_label **out)
{
	*out = NULL;
	if (!src)
		return true;
	/* Always room for the most sections a file may add (set_category_label). */
	struct config_category_label *labels = calloc(CONFIG_MAX_CATEGORIES, sizeof(*labels));
	if (!labels)
		return false;
	for (size_t i = 0; i < count; i++) {
		memcpy(labels[i].key, src[i].key, sizeof(labels[i].key));
		for (size_t l = 0; l < CONFIG_MAX_LANGUAGES; l++) {
			if (src[i].label[l] && !(labels[i].label[l] = strdup(src[i].label[l]))) {
				labels_free(labels, count);
				return false;
			}
		}
	}
	*out = labels;
	return true;
}

const char *config_category_label(const struct config *cfg, const char *key, const char *lang)
{
	if (!cfg || !key || !lang)
		return NULL;
	for (size_t l = 0; l < N_KNOWN_LANGUAGES; l++) {
		if (strcmp(lang, known_languages[l]) != 0)
			continue;
		for (size_t i = 0; i < cfg->kiosk.category_label_count; i++)
			if (strcmp(cfg->kiosk.category_labels[i].key, key) == 0)
				return cfg->kiosk.category_labels[i].label[l];
	}
	return NULL;
}

bool config_control_socket(const struct config *cfg, char *buf, size_t size)
{
	if (!cfg || !buf || size == 0)
		return false;
	buf[0] = '\0';
	int n;
	if (cfg->control_socket)
		n = snprintf(buf, size, "%s", cfg->control_socket);
	else
		n = snprintf(buf, size, "%s/" CONFIG_CONTROL_SOCKET_NAME,
		             cfg->spool.dir ? cfg->spool.dir : "");
	if (n < 0 || (size_t)n >= size || (size_t)n > CONFIG_SOCKET_PATH_MAX || n == 0) {
		buf[0] = '\0';
		return false;
	}
	return true;
}

void config_finish(struct config *cfg)
{
	if (!cfg)
		return;
	labels_free(cfg->kiosk.category_labels, cfg->kiosk.category_label_count);
	cfg->kiosk.category_labels = NULL;
	cfg->kiosk.category_label_count = 0;
	for (size_t i = 0; i < N_KEYS; i++) {
		if (is_string_kind(keys[i].kind)) {
			char **field = field_string(cfg, &keys[i]);
			free(*field);
			*field = NULL;
		} else if (is_list_kind(keys[i].kind)) {
			list_free(*field_list(cfg, &keys[i]), *field_count(cfg, &keys[i]));
			*field_list(cfg, &keys[i]) = NULL;
			*field_count(cfg, &keys[i]) = 0;
		}
	}
}

static bool fail(struct parse_state *st, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static bool fail(struct parse_state *st, const char *fmt, ...)
{
	if (!st->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(st->reason, sizeof(st->reason), fmt, ap);
		va_end(ap);
		st->failed = true;
	}
	return false;
}

static bool has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Strict unsigned decimal: digits only, no sign, no overflow. */
static bool parse_u64(const char *s, uint64_t *out, const char **end)
{
	if (!isdigit((unsigned char)*s))
		return false;
	uint64_t v = 0;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	*end = s;
	return true;
}

static bool parse_number(struct parse_state *st, const struct key_spec *k, const char *value,
                         uint64_t *out)
{
	const char *end;
	uint64_t v;
	if (!parse_u64(value, &v, &end))
		return fail(st, "%s: '%s' is not a whole number", k->name, value);
	if (k->kind == VALUE_SIZE && *end) {
		unsigned shift = 0;
		switch (*end) {
		case 'K':
		case 'k':
			shift = 10;
			break;
		case 'M':
			shift = 20;
			break;
		case 'G':
			shift = 30;
			break;
		default:
			return fail(st, "%s: unknown size suffix in '%s' (use K, M or G)", k->name,
			            value);
		}
		if (end[1])
			return fail(st, "%s: unexpected text after the size in '%s'", k->name,
			            value);
		if (v > (UINT64_MAX >> shift))
			return fail(st, "%s: '%s' is too large", k->name, value);
		v <<= shift;
	} else if (*end) {
		return fail(st, "%s: '%s' is not a whole number", k->name, value);
	}
	if (v < k->min || v > k->max)
		return fail(st, "%s: %" PRIu64 " is out of range (%" PRIu64 "..%" PRIu64 ")",
		            k->name, v, k->min, k->max);
	*out = v;
	return true;
}

static bool check_regex(struct parse_state *st, const struct key_spec *k, const char *value)
{
	/* Compiled as the kiosk compiles it: anchored, matched against the whole text. */
	size_t len = strlen(value) + 5;
	char *anchored = malloc(len);
	if (!anchored)
		return fail(st, "%s: out of memory", k->name);
	snprintf(anchored, len, "^(%s)$", value);
	regex_t re;
	int rc = regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB);
	free(anchored);
	if (rc != 0) {
		char why[128];
		regerror(rc, &re, why, sizeof(why));
		return fail(st, "%s: not a valid extended regular expression: %s", k->name, why);
	}
	regfree(&re);
	return true;
}

/* A systemd credential's name as the configuration may give it: a file name
 * in $CREDENTIALS_DIRECTORY, nothing that leaves it. */
static bool credential_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > CONFIG_CREDENTIAL_NAME_MAX || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			return false;
	}
	return true;
}

static bool set_string(struct parse_state *st, const struct key_spec *k, const char *value)
{
	if (!*value && k->kind == VALUE_DEVICE) {
		char **field = field_string(st->cfg, k);
		free(*field);
		*field = NULL;
		return true;
	}
	if (!*value)
		return fail(st, "%s: empty value", k->name);
	if (has_control_chars(value))
		return fail(st, "%s: control characters in the value", k->name);
	if (k->kind == VALUE_URL) {
		if (strncmp(value, "https://", 8) != 0 || !value[8])
			return fail(st, "%s: '%s' is not an https:// URL", k->name, value);
		if (strchr(value, ' '))
			return fail(st, "%s: spaces in the URL", k->name);
	}
	if (k->kind == VALUE_SOCKET && value[0] != '/')
		return fail(st, "%s: '%s' is not an absolute path", k->name, value);
	if (k->kind == VALUE_SOCKET && strlen(value) > CONFIG_SOCKET_PATH_MAX)
		return fail(st, "%s: longer than %d bytes (the limit of a Unix socket address)",
		            k->name, CONFIG_SOCKET_PATH_MAX);
	if (k->kind == VALUE_KEY_FILE &&
	    strncmp(value, CONFIG_CREDENTIAL_PREFIX, strlen(CONFIG_CREDENTIAL_PREFIX)) == 0 &&
	    !credential_name_ok(value + strlen(CONFIG_CREDENTIAL_PREFIX)))
		return fail(st,
		            "%s: '%s' is not credential:NAME (letters, digits, '.', '_', '-'; "
		            "at most %d)",
		            k->name, value, CONFIG_CREDENTIAL_NAME_MAX);
	if (k->kind == VALUE_PIN && strncmp(value, "sha256//", 8) != 0)
		return fail(st, "%s: a pin is 'sha256//' followed by the base64 key hash", k->name);
	if (k->kind == VALUE_REGEX && !check_regex(st, k, value))
		return false;
	if (k->kind == VALUE_PIN_HASH) {
		const char *why = NULL;
		if (!pin_hash_valid(value, &why))
			return fail(st, "%s: %s (make one with: scankiosk-pin hash)", k->name,
			            why ? why : "not an argon2id hash");
	}
	if (k->kind == VALUE_LANGUAGE) {
		if (!language_known(value))
			return fail(st, "%s: '%s' is not one of de, en, uk, ru, tr, ar", k->name,
			            value);
		if (!list_contains(st->cfg->kiosk.languages, st->cfg->kiosk.language_count, value))
			return fail(st, "%s: '%s' is not in languages", k->name, value);
	}
	char *copy = strdup(value);
	if (!copy)
		return fail(st, "%s: out of memory", k->name);
	char **field = field_string(st->cfg, k);
	free(*field);
	*field = copy;
	return true;
}

static bool set_log_level(struct parse_state *st, const struct key_spec *k, const char *value)
{
	static const char *const names[LOG_LEVEL_LAST] = {
	        [LOG_LEVEL_ERROR] = "error",
	        [LOG_LEVEL_WARNING] = "warning",
	        [LOG_LEVEL_INFO] = "info",
	        [LOG_LEVEL_DEBUG] = "debug",
	};
	for (int i = 0; i < LOG_LEVEL_LAST; i++) {
		if (strcmp(value, names[i]) == 0) {
			st->cfg->log_level = (enum log_level)i;
			return true;
		}
	}
	return fail(st, "%s: '%s' is not one of error, warning, info, debug", k->name, value);
}

static const char *const source_names[CONFIG_SCAN_SOURCE_LAST] = {
        [CONFIG_SCAN_SOURCE_FLATBED] = "flatbed",
        [CONFIG_SCAN_SOURCE_ADF] = "adf",
};
static const char *const mode_names[CONFIG_SCAN_MODE_LAST] = {
        [CONFIG_SCAN_MODE_AUTO] = "auto",
        [CONFIG_SCAN_MODE_COLOR] = "color",
        [CONFIG_SCAN_MODE_GRAY] = "gray",
};

const char *config_scan_source_name(enum config_scan_source source)
{
	return (unsigned)source < CONFIG_SCAN_SOURCE_LAST ? source_names[source] : NULL;
}

const char *config_scan_mode_name(enum config_scan_mode mode)
{
	return (unsigned)mode < CONFIG_SCAN_MODE_LAST ? mode_names[mode] : NULL;
}

static bool set_choice(struct parse_state *st, const struct key_spec *k, const char *value)
{
	const char *const *names = k->kind == VALUE_SOURCE ? source_names : mode_names;
	size_t n = k->kind == VALUE_SOURCE ? CONFIG_SCAN_SOURCE_LAST : CONFIG_SCAN_MODE_LAST;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(value, names[i]) == 0) {
			*(int *)(void *)((char *)st->cfg + k->offset) = (int)i;
			return true;
		}
	}
	return fail(st, "%s: '%s' is not one of %s", k->name, value,
	            k->kind == VALUE_SOURCE ? "flatbed, adf" : "auto, color, gray");
}

static bool set_bool(struct parse_state *st, const struct key_spec *k, const char *value)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(value, yes[i]) == 0 || strcmp(value, no[i]) == 0) {
			*(bool *)(void *)((char *)st->cfg + k->offset) = strcmp(value, yes[i]) == 0;
			return true;
		}
	}
	return fail(st, "%s: '%s' is not a boolean (true or false)", k->name, value);
}

static bool set_list(struct parse_state *st, const struct key_spec *k, const char *value)
{
	bool langs = k->kind == VALUE_LANGUAGES;
	size_t max = langs ? CONFIG_MAX_LANGUAGES : CONFIG_MAX_CATEGORIES;
	char **items = NULL;
	const char *why = NULL;
	if (!*value)
		return fail(st, "%s: empty value", k->name);
	long n = list_split(value, langs ? N_KNOWN_LANGUAGES + 1 : max + 1, &items, &why);
	if (n < 0)
		return fail(st, "%s: %s", k->name, why);
	bool ok = false;
	if ((size_t)n > max) {
		fail(st, "%s: more than %zu items", k->name, max);
		goto out;
	}
	for (long i = 0; i < n; i++) {
		if (langs && !language_known(items[i])) {
			fail(st, "%s: '%s' is not one of de, en, uk, ru, tr, ar", k->name,
			     items[i]);
			goto out;
		}
		if (!langs && !category_key_valid(items[i])) {
			fail(st,
			     "%s: '%s' is not a category key (a-z, 0-9 and '-', starting with a "
			     "letter, at most %d characters)",
			     k->name, items[i], CONFIG_CATEGORY_KEY_MAX);
			goto out;
		}
		if (list_contains(items, (size_t)i, items[i])) {
			fail(st, "%s: '%s' is listed twice", k->name, items[i]);
			goto out;
		}
	}
	if (langs) {
		struct config_kiosk *kiosk = &st->cfg->kiosk;
		if (!list_contains(items, (size_t)n, kiosk->language)) {
			/* An explicit language must be offered; the default follows the list. */
			if (st->seen_language) {
				fail(st, "%s: does not include language '%s'", k->name,
				     kiosk->language);
				goto out;
			}
			char *first = strdup(items[0]);
			if (!first) {
				fail(st, "%s: out of memory", k->name);
				goto out;
			}
			free(kiosk->language);
			kiosk->language = first;
		}
	}
	list_free(*field_list(st->cfg, k), *field_count(st->cfg, k));
	*field_list(st->cfg, k) = items;
	*field_count(st->cfg, k) = (size_t)n;
	items = NULL;
	ok = true;
out:
	list_free(items, n > 0 ? (size_t)n : 0);
	return ok;
}

#define CATEGORY_SECTION "category."

/* Checks that s is UTF-8 (shortest forms, no surrogates) without control
 * characters, and counts its code points. */
static bool utf8_text(const char *s, size_t *chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;
	while (*p) {
		uint32_t c;
		size_t len;
		if (p[0] < 0x80) {
			c = p[0], len = 1;
		} else if ((p[0] & 0xe0) == 0xc0) {
			c = p[0] & 0x1fu, len = 2;
		} else if ((p[0] & 0xf0) == 0xe0) {
			c = p[0] & 0x0fu, len = 3;
		} else if ((p[0] & 0xf8) == 0xf0) {
			c = p[0] & 0x07u, len = 4;
		} else {
			return false;
		}
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (p[i] & 0x3fu);
		}
		static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
		if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || c < 0x20 ||
		    (c >= 0x7f && c < 0xa0))
			return false;
		p += len;
		n++;
	}
	*chars = n;
	return true;
}

static bool set_category_label(struct parse_state *st, const char *key, const char *lang,
                               const char *value)
{
	if (!category_key_valid(key))
		return fail(st,
		            "[%s%s]: '%s' is not a category key (a-z, 0-9 and '-', starting with a "
		            "letter, at most %d characters)",
		            CATEGORY_SECTION, key, key, CONFIG_CATEGORY_KEY_MAX);
	size_t l;
	for (l = 0; l < N_KNOWN_LANGUAGES; l++)
		if (strcmp(lang, known_languages[l]) == 0)
			break;
	if (l == N_KNOWN_LANGUAGES)
		return fail(st, "unknown key '%s' in [%s%s] (de, en, uk, ru, tr, ar)", lang,
		            CATEGORY_SECTION, key);
	size_t chars;
	if (!*value)
		return fail(st, "%s: empty value", lang);
	if (!utf8_text(value, &chars))
		return fail(st, "%s: not UTF-8 text, or control characters in the value", lang);
	if (chars > CONFIG_LABEL_MAX_CHARS)
		return fail(st, "%s: a label has at most %d characters", lang,
		            CONFIG_LABEL_MAX_CHARS);

	struct config_kiosk *kiosk = &st->cfg->kiosk;
	size_t i;
	for (i = 0; i < kiosk->category_label_count; i++)
		if (strcmp(kiosk->category_labels[i].key, key) == 0)
			break;
	if (i == kiosk->category_label_count) {
		if (i == CONFIG_MAX_CATEGORIES)
			return fail(st, "more than %d [%s*] sections", CONFIG_MAX_CATEGORIES,
			            CATEGORY_SECTION);
		/* Room for all from the first section on: no realloc of owned pointers. */
		if (!kiosk->category_labels) {
			kiosk->category_labels =
			        calloc(CONFIG_MAX_CATEGORIES, sizeof(*kiosk->category_labels));
			if (!kiosk->category_labels)
				return fail(st, "out of memory");
		}
		snprintf(kiosk->category_labels[i].key, sizeof(kiosk->category_labels[i].key), "%s",
		         key);
		kiosk->category_label_count++;
	}
	if (st->label_seen[i] & (1u << l))
		return fail(st, "'%s' is set twice in [%s%s]", lang, CATEGORY_SECTION, key);
	st->label_seen[i] |= 1u << l;
	char *copy = strdup(value);
	if (!copy)
		return fail(st, "out of memory");
	free(kiosk->category_labels[i].label[l]);
	kiosk->category_labels[i].label[l] = copy;
	return true;
}

/* The line of a key in a section, or of the section header when key is NULL
 * (the text has passed libinih already); 0 when not found. */
static int find_line(const char *text, const char *section, const char *key)
{
	int line = 0;
	bool in_section = false;
	size_t slen = strlen(section), klen = key ? strlen(key) : 0;
	for (const char *p = text; *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		line++;
		const char *q = p;
		while (q < p + len && (*q == ' ' || *q == '\t'))
			q++;
		if (*q == '[') {
			q++;
			while (*q == ' ' || *q == '\t')
				q++;
			in_section = strncmp(q, section, slen) == 0 &&
			             (q[slen] == ']' || q[slen] == ' ' || q[slen] == '\t');
			if (in_section && !key)
				return line;
		} else if (in_section && key && strncmp(q, key, klen) == 0) {
			const char *r = q + klen;
			while (*r == ' ' || *r == '\t')
				r++;
			if (*r == '=' || *r == ':')
				return line;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

static bool builtin_category(const char *key)
{
	size_t len = strlen(key);
	for (const char *p = CONFIG_DEFAULT_CATEGORIES; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && strncmp(p, key, n) == 0)
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

/* Checks across sections, once the whole file is read: every category has a
 * label source, every label section belongs to a category. */
static bool check_categories(const struct parse_state *st, const char *text, int *line,
                             char *reason, size_t reason_len)
{
	const struct config_kiosk *kiosk = &st->cfg->kiosk;
	for (size_t i = 0; i < kiosk->category_label_count; i++) {
		const char *key = kiosk->category_labels[i].key;
		if (!list_contains(kiosk->categories, kiosk->category_count, key)) {
			char section[64];
			snprintf(section, sizeof(section), "%s%s", CATEGORY_SECTION, key);
			*line = find_line(text, section, NULL);
			snprintf(reason, reason_len, "[%s]: '%s' is not in [kiosk] categories",
			         section, key);
			return false;
		}
	}
	for (size_t i = 0; i < kiosk->category_count; i++) {
		const char *key = kiosk->categories[i];
		if (builtin_category(key))
			continue;
		const char *de = config_category_label(st->cfg, key, "de");
		if (!de) {
			*line = find_line(text, "kiosk", "categories");
			snprintf(reason, reason_len,
			         "categories: '%s' has no label: add [%s%s] with at least de = ...",
			         key, CATEGORY_SECTION, key);
			return false;
		}
	}
	return true;
}

/* The keys a scanner settings file may hold. */
static bool scanner_setting(const char *section, const char *name)
{
	static const char *const names[] = {"device", "source", "dpi", "mode"};
	if (strcmp(section, "scanner") != 0)
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

static int handle_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	if (st->failed)
		return 0;
	if (st->scanner_only && !scanner_setting(section, name)) {
		if (!*section)
			return fail(st, "'%s' is outside of any [section]", name);
		if (strcmp(section, "scanner") != 0)
			return fail(st,
			            "unknown section [%s] (a scanner settings file has [scanner] "
			            "only)",
			            section);
		return fail(st,
		            "unknown key '%s' in [scanner] (a scanner settings file has device, "
		            "source, dpi and mode only)",
		            name);
	}
	if (strncmp(section, CATEGORY_SECTION, strlen(CATEGORY_SECTION)) == 0)
		return set_category_label(st, section + strlen(CATEGORY_SECTION), name, value);
	size_t i;
	bool section_known = false;
	for (i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].section, section) == 0) {
			section_known = true;
			if (strcmp(keys[i].name, name) == 0)
				break;
		}
	}
	if (!*section)
		return fail(st, "'%s' is outside of any [section]", name);
	if (!section_known)
		return fail(st, "unknown section [%s]", section);
	if (i == N_KEYS)
		return fail(st, "unknown key '%s' in [%s]", name, section);
	const struct key_spec *k = &keys[i];
	if (st->seen[i])
		return fail(st, "'%s' is set twice in [%s]", name, section);
	st->seen[i] = true;

	uint64_t v;
	switch (k->kind) {
	case VALUE_STRING:
	case VALUE_PATH:
	case VALUE_URL:
	case VALUE_PIN:
	case VALUE_DEVICE:
	case VALUE_REGEX:
	case VALUE_SOCKET:
	case VALUE_PIN_HASH:
	case VALUE_KEY_FILE:
		return set_string(st, k, value);
	case VALUE_LANGUAGE:
		st->seen_language = true;
		return set_string(st, k, value);
	case VALUE_SOURCE:
	case VALUE_MODE:
		return set_choice(st, k, value);
	case VALUE_BOOL:
		return set_bool(st, k, value);
	case VALUE_CATEGORIES:
		st->seen_categories = true;
		return set_list(st, k, value);
	case VALUE_LANGUAGES:
		return set_list(st, k, value);
	case VALUE_LOG_LEVEL:
		return set_log_level(st, k, value);
	case VALUE_SIZE:
		if (!parse_number(st, k, value, &v))
			return 0;
		*(uint64_t *)(void *)((char *)st->cfg + k->offset) = v;
		return 1;
	case VALUE_COUNT:
	case VALUE_SECONDS:
		if (!parse_number(st, k, value, &v))
			return 0;
		*(uint32_t *)(void *)((char *)st->cfg + k->offset) = (uint32_t)v;
		return 1;
	}
	return fail(st, "internal: unhandled key kind");
}

/* Finds the first line libinih cannot take whole, or one with a NUL byte. */
static int first_bad_line(const char *text, size_t len, const char **why)
{
	int line = 1;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || text[i] == '\n') {
			/* libinih keeps INI_MAX_LINE - 1 bytes including the newline. */
			if (i - start + 1 > INI_MAX_LINE - 1) {
				*why = "line too long (at most 198 characters)";
				return line;
			}
			line++;
			start = i + 1;
		} else if (text[i] == '\0') {
			*why = "NUL byte in the file";
			return line;
		}
	}
	return 0;
}

/* Replaces every owned value in cfg (a shallow copy) by its own copy. On failure
 * the copies made so far are freed and cfg's owned fields are NULL. */
static bool copy_owned(struct config *cfg)
{
	bool ok = true;
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key_spec *k = &keys[i];
		if (is_string_kind(k->kind)) {
			char **field = field_string(cfg, k);
			if (!ok)
				*field = NULL;
			else if (*field && !(*field = strdup(*field)))
				ok = false;
		} else if (is_list_kind(k->kind)) {
			char ***field = field_list(cfg, k);
			if (!ok) {
				*field = NULL;
				*field_count(cfg, k) = 0;
			} else if (!list_dup(*field, *field_count(cfg, k), field)) {
				*field_count(cfg, k) = 0;
				ok = false;
			}
		}
	}
	struct config_category_label *labels = NULL;
	if (ok && !labels_dup(cfg->kiosk.category_labels, cfg->kiosk.category_label_count, &labels))
		ok = false;
	cfg->kiosk.category_labels = labels;
	if (!labels)
		cfg->kiosk.category_label_count = 0;
	if (!ok)
		config_finish(cfg);
	return ok;
}

static bool parse_text(struct config *cfg, const char *name, const char *text, size_t len,
                       bool scanner_only, char err[CONFIG_ERROR_MAX])
{
	const char *why = NULL;
	int bad = first_bad_line(text, len, &why);
	if (bad) {
		snprintf(err, CONFIG_ERROR_MAX, "%s:%d: %s", name, bad, why);
		return false;
	}
	/* Parse into a scratch copy so a failure leaves cfg's values as they were. */
	struct config scratch = *cfg;
	if (!copy_owned(&scratch)) {
		snprintf(err, CONFIG_ERROR_MAX, "%s:0: out of memory", name);
		return false;
	}
	struct parse_state st = {.cfg = &scratch, .scanner_only = scanner_only};
	int line = ini_parse_string(text, handle_key, &st);
	if (line != 0 || st.failed) {
		if (line < 0)
			snprintf(err, CONFIG_ERROR_MAX, "%s:0: out of memory", name);
		else if (st.failed)
			snprintf(err, CONFIG_ERROR_MAX, "%s:%d: %s", name, line, st.reason);
		else
			snprintf(err, CONFIG_ERROR_MAX,
			         "%s:%d: not a [section] header or key = value line", name, line);
		config_finish(&scratch);
		return false;
	}
	int bad_line = 0;
	char reason[CONFIG_ERROR_MAX / 2];
	if (!check_categories(&st, text, &bad_line, reason, sizeof(reason))) {
		snprintf(err, CONFIG_ERROR_MAX, "%s:%d: %s", name, bad_line, reason);
		config_finish(&scratch);
		return false;
	}
	if (scratch.maintenance.delay_cap > scratch.maintenance.lockout) {
		bad_line = find_line(text, "maintenance", "delay_cap");
		if (bad_line == 0)
			bad_line = find_line(text, "maintenance", "lockout");
		snprintf(err, CONFIG_ERROR_MAX,
		         "%s:%d: delay_cap: %u s is longer than the lockout (%u s)", name, bad_line,
		         scratch.maintenance.delay_cap, scratch.maintenance.lockout);
		config_finish(&scratch);
		return false;
	}
	config_finish(cfg);
	*cfg = scratch;
	return true;
}

bool config_load_string(struct config *cfg, const char *name, const char *text,
                        char err[CONFIG_ERROR_MAX])
{
	return parse_text(cfg, name, text, strlen(text), false, err);
}

bool config_load_scanner_settings_string(struct config *cfg, const char *name, const char *text,
                                         char err[CONFIG_ERROR_MAX])
{
	return parse_text(cfg, name, text, strlen(text), true, err);
}

/* Reads a whole small regular file. Returns 0 with *text (NUL-terminated,
 * owned by the caller) and *size, or -1 with "path:0: reason" in err and
 * *missing set when the file does not exist. */
static int read_text(const char *path, char **text, size_t *size, bool *missing,
                     char err[CONFIG_ERROR_MAX])
{
	int rc = -1;
	char *buf = NULL;
	*text = NULL;
	*size = 0;
	*missing = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*missing = errno == ENOENT;
		snprintf(err, CONFIG_ERROR_MAX, "%s:0: cannot open: %s", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, CONFIG_ERROR_MAX, "%s:0: not a regular file", path);
		goto out;
	}
	if (sb.st_size > CONFIG_MAX_FILE) {
		snprintf(err, CONFIG_ERROR_MAX, "%s:0: larger than %d bytes", path,
		         CONFIG_MAX_FILE);
		goto out;
	}
	size_t want = (size_t)sb.st_size;
	buf = malloc(want + 1);
	if (!buf) {
		snprintf(err, CONFIG_ERROR_MAX, "%s:0: out of memory", path);
		goto out;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t n = read(fd, buf + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, CONFIG_ERROR_MAX, "%s:0: cannot read: %s", path,
			         n < 0 ? strerror(errno) : "file shrank while reading");
			goto out;
		}
		got += (size_t)n;
	}
	buf[want] = '\0';
	*text = buf;
	*size = want;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

static bool load_one(struct config *cfg, const char *path, char err[CONFIG_ERROR_MAX])
{
	char *text;
	size_t size;
	bool missing;
	if (read_text(path, &text, &size, &missing, err) != 0)
		return false;
	bool ok = parse_text(cfg, path, text, size, false, err);
	free(text);
	return ok;
}

static int dropin_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

bool config_load(struct config *cfg, const char *path, char err[CONFIG_ERROR_MAX])
{
	if (!load_one(cfg, path, err))
		return false;
	/* PATH.d/ *.conf in name order, each over what came before. */
	char dir[PATH_MAX];
	if ((size_t)snprintf(dir, sizeof(dir), "%s.d", path) >= sizeof(dir)) {
		snprintf(err, CONFIG_ERROR_MAX, "%.400s.d:0: path too long", path);
		return false;
	}
	struct dirent **names = NULL;
	int n = scandir(dir, &names, dropin_filter, alphasort);
	if (n < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return true;
		snprintf(err, CONFIG_ERROR_MAX, "%.400s:0: %s", dir, strerror(errno));
		return false;
	}
	bool ok = true;
	for (int i = 0; i < n; i++) {
		char file[PATH_MAX];
		if (ok && (size_t)snprintf(file, sizeof(file), "%s/%s", dir, names[i]->d_name) >=
		                  sizeof(file)) {
			snprintf(err, CONFIG_ERROR_MAX, "%.300s/%.100s:0: path too long", dir,
			         names[i]->d_name);
			ok = false;
		}
		if (ok)
			ok = load_one(cfg, file, err);
		free(names[i]);
	}
	free(names);
	return ok;
}

/* Rewrites one credential:NAME value to $CREDENTIALS_DIRECTORY/NAME. */
static bool resolve_credential(char **field, const char *key, char err[CONFIG_ERROR_MAX])
{
	size_t plen = strlen(CONFIG_CREDENTIAL_PREFIX);
	if (!*field || strncmp(*field, CONFIG_CREDENTIAL_PREFIX, plen) != 0)
		return true;
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	if (!dir || dir[0] != '/') {
		snprintf(err, CONFIG_ERROR_MAX,
		         "%s = %s: no $CREDENTIALS_DIRECTORY (systemd's LoadCredential= hands the "
		         "key over; start the program from its unit)",
		         key, *field);
		return false;
	}
	char *path = NULL;
	if (asprintf(&path, "%s/%s", dir, *field + plen) < 0) {
		snprintf(err, CONFIG_ERROR_MAX, "%s: out of memory", key);
		return false;
	}
	free(*field);
	*field = path;
	return true;
}

bool config_resolve_credentials(struct config *cfg, char err[CONFIG_ERROR_MAX])
{
	err[0] = '\0';
	return resolve_credential(&cfg->spool.secret_key, "[spool] secret_key", err) &&
	       resolve_credential(&cfg->intake.client_key, "[intake] client_key", err);
}

bool config_is_credential(const char *value)
{
	return value &&
	       strncmp(value, CONFIG_CREDENTIAL_PREFIX, strlen(CONFIG_CREDENTIAL_PREFIX)) == 0;
}

bool config_load_scanner_settings(struct config *cfg, const char *path, bool *found,
                                  char err[CONFIG_ERROR_MAX])
{
	char *text;
	size_t size;
	bool missing;
	err[0] = '\0';
	*found = false;
	if (read_text(path, &text, &size, &missing, err) != 0) {
		if (missing)
			err[0] = '\0';
		return missing;
	}
	*found = true;
	bool ok = parse_text(cfg, path, text, size, true, err);
	free(text);
	return ok;
}

size_t config_key_count(void)
{
	return N_KEYS;
}

bool config_key_at(size_t i, const char **section, const char **name)
{
	if (i >= N_KEYS)
		return false;
	if (section)
		*section = keys[i].section;
	if (name)
		*name = keys[i].name;
	return true;
}
