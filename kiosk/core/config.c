/*
 * config.c - the INI file, parsed with libinih, checked key by key.
 *
 * libinih reads lines of at most INI_MAX_LINE (200) bytes and would split a
 * longer one silently, so the text is checked for long lines first: every
 * error names the exact line.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
};

struct key_spec {
	const char *section;
	const char *name;
	enum value_kind kind;
	size_t offset;     /* into struct config */
	uint64_t min, max; /* numbers only */
};

#define SPOOL(field)  offsetof(struct config, spool.field)
#define INTAKE(field) offsetof(struct config, intake.field)

static const struct key_spec keys[] = {
        {"spool", "dir", VALUE_PATH, SPOOL(dir), 0, 0},
        {"spool", "public_key", VALUE_PATH, SPOOL(public_key), 0, 0},
        {"spool", "secret_key", VALUE_PATH, SPOOL(secret_key), 0, 0},
        {"spool", "max_bytes", VALUE_SIZE, SPOOL(max_bytes), 1024 * 1024, UINT64_C(1) << 42},
        {"spool", "max_count", VALUE_COUNT, SPOOL(max_count), 1, 1000000},
        {"intake", "url", VALUE_URL, INTAKE(url), 0, 0},
        {"intake", "ca_file", VALUE_PATH, INTAKE(ca_file), 0, 0},
        {"intake", "pin", VALUE_PIN, INTAKE(pin), 0, 0},
        {"intake", "client_cert", VALUE_PATH, INTAKE(client_cert), 0, 0},
        {"intake", "client_key", VALUE_PATH, INTAKE(client_key), 0, 0},
        {"intake", "connect_timeout", VALUE_SECONDS, INTAKE(connect_timeout), 1, 300},
        {"intake", "low_speed_time", VALUE_SECONDS, INTAKE(low_speed_time), 1, 3600},
        {"intake", "min_speed", VALUE_COUNT, INTAKE(min_speed), 1, 100000000},
        {"intake", "max_time_base", VALUE_SECONDS, INTAKE(max_time_base), 1, 86400},
        {"intake", "retry_base", VALUE_SECONDS, INTAKE(retry_base), 1, 86400},
        {"intake", "retry_cap", VALUE_SECONDS, INTAKE(retry_cap), 1, 7 * 86400},
        {"intake", "retry_after_cap", VALUE_SECONDS, INTAKE(retry_after_cap), 1, 7 * 86400},
        {"log", "level", VALUE_LOG_LEVEL, offsetof(struct config, log_level), 0, 0},
        {"metrics", "textfile", VALUE_PATH, offsetof(struct config, metrics_textfile), 0, 0},
        {"metrics", "status", VALUE_PATH, offsetof(struct config, status_file), 0, 0},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

struct parse_state {
	struct config *cfg;
	bool seen[N_KEYS];
	char reason[CONFIG_ERROR_MAX / 2];
	bool failed;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
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
	};
}

void config_finish(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < N_KEYS; i++) {
		if (keys[i].kind == VALUE_STRING || keys[i].kind == VALUE_PATH ||
		    keys[i].kind == VALUE_URL || keys[i].kind == VALUE_PIN) {
			char **field = (char **)(void *)((char *)cfg + keys[i].offset);
			free(*field);
			*field = NULL;
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

static bool set_string(struct parse_state *st, const struct key_spec *k, const char *value)
{
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
	if (k->kind == VALUE_PIN && strncmp(value, "sha256//", 8) != 0)
		return fail(st, "%s: a pin is 'sha256//' followed by the base64 key hash", k->name);
	char *copy = strdup(value);
	if (!copy)
		return fail(st, "%s: out of memory", k->name);
	char **field = (char **)(void *)((char *)st->cfg + k->offset);
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

static int handle_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	if (st->failed)
		return 0;
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
		return set_string(st, k, value);
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

static bool parse_text(struct config *cfg, const char *name, const char *text, size_t len,
                       char err[CONFIG_ERROR_MAX])
{
	const char *why = NULL;
	int bad = first_bad_line(text, len, &why);
	if (bad) {
		snprintf(err, CONFIG_ERROR_MAX, "%s:%d: %s", name, bad, why);
		return false;
	}
	/* Parse into a scratch copy so a failure leaves cfg's values as they were. */
	struct config scratch = *cfg;
	for (size_t i = 0; i < N_KEYS; i++) {
		if (keys[i].kind == VALUE_STRING || keys[i].kind == VALUE_PATH ||
		    keys[i].kind == VALUE_URL || keys[i].kind == VALUE_PIN) {
			char **field = (char **)(void *)((char *)&scratch + keys[i].offset);
			if (*field && !(*field = strdup(*field))) {
				for (size_t j = 0; j < i; j++) {
					if (keys[j].kind == VALUE_STRING ||
					    keys[j].kind == VALUE_PATH ||
					    keys[j].kind == VALUE_URL ||
					    keys[j].kind == VALUE_PIN) {
						char **f = (char **)(void *)((char *)&scratch +
						                             keys[j].offset);
						free(*f);
					}
				}
				snprintf(err, CONFIG_ERROR_MAX, "%s:0: out of memory", name);
				return false;
			}
		}
	}
	struct parse_state st = {.cfg = &scratch};
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
	config_finish(cfg);
	*cfg = scratch;
	return true;
}

bool config_load_string(struct config *cfg, const char *name, const char *text,
                        char err[CONFIG_ERROR_MAX])
{
	return parse_text(cfg, name, text, strlen(text), err);
}

bool config_load(struct config *cfg, const char *path, char err[CONFIG_ERROR_MAX])
{
	bool ok = false;
	char *text = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, CONFIG_ERROR_MAX, "%s:0: cannot open: %s", path, strerror(errno));
		return false;
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
	size_t size = (size_t)sb.st_size;
	text = malloc(size + 1);
	if (!text) {
		snprintf(err, CONFIG_ERROR_MAX, "%s:0: out of memory", path);
		goto out;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, text + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, CONFIG_ERROR_MAX, "%s:0: cannot read: %s", path,
			         n < 0 ? strerror(errno) : "file shrank while reading");
			goto out;
		}
		got += (size_t)n;
	}
	text[size] = '\0';
	ok = parse_text(cfg, path, text, size, err);
out:
	free(text);
	close(fd);
	return ok;
}
