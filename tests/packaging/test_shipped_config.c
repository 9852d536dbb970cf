/*
 * test_shipped_config.c - packaging/scankiosk.conf, the configuration the
 * Debian packages install, against the real parser:
 *
 *  - it loads (config_load) and holds the packaging decisions (the secret
 *    keys as systemd credentials, the status file, site values unset);
 *  - its comment convention holds: "#" explains, ";" is a setting switched
 *    off (";key = value" or ";[section]"), nothing starts with a blank;
 *  - every key of the parser's table (config_key_at()) is there exactly once
 *    in its section, set or switched off, below a "# key:" block that gives
 *    its default and who reads it; the [category.KEY] form too, with every
 *    language;
 *  - with every ";" removed (the examples switched on) it still loads, and
 *    each ";" line alone does too;
 *  - a ";" line shows the built-in default, or an example only for a key
 *    that has none: switching it on alone changes nothing else, and changes
 *    its own key only when that key was unset.
 *
 * The file's path is the first argument.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "case_rules.h"
#include "config.h"

static const char *shipped_path;

/* ---- the file as lines ---- */

struct text {
	char **lines;
	size_t count;
};

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	size_t n;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static void text_load(struct text *t)
{
	char *all = read_all(shipped_path);
	t->lines = NULL;
	t->count = 0;
	size_t cap = 0;
	for (char *p = all; *p;) {
		char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (t->count == cap) {
			cap = cap ? cap * 2 : 256;
			t->lines = realloc(t->lines, cap * sizeof(*t->lines));
			assert_non_null(t->lines);
		}
		t->lines[t->count] = strndup(p, len);
		assert_non_null(t->lines[t->count]);
		t->count++;
		if (!end)
			break;
		p = end + 1;
	}
	free(all);
}

static void text_free(struct text *t)
{
	for (size_t i = 0; i < t->count; i++)
		free(t->lines[i]);
	free(t->lines);
}

enum line_kind {
	LINE_BLANK,
	LINE_PROSE,       /* # ... */
	LINE_HEADER,      /* [section] */
	LINE_SETTING,     /* key = value */
	LINE_HEADER_OFF,  /* ;[section] */
	LINE_SETTING_OFF, /* ;key = value */
	LINE_BAD,
};

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* A header "[name]" or a setting "key = ...", as this file writes them. */
static enum line_kind classify_body(const char *s)
{
	if (s[0] == '[')
		return strchr(s, ']') ? LINE_HEADER : LINE_BAD;
	const char *p = s;
	while (key_char(*p))
		p++;
	if (p == s)
		return LINE_BAD;
	while (*p == ' ')
		p++;
	return *p == '=' ? LINE_SETTING : LINE_BAD;
}

static enum line_kind classify(const char *line)
{
	if (line[0] == '\0')
		return LINE_BLANK;
	if (line[0] == '#')
		return LINE_PROSE;
	if (line[0] == ';') {
		enum line_kind k = classify_body(line + 1);
		return k == LINE_HEADER    ? LINE_HEADER_OFF
		       : k == LINE_SETTING ? LINE_SETTING_OFF
		                           : k;
	}
	return classify_body(line);
}

/* The text as one string: as shipped (JOIN_NONE), with every ';' removed
 * (JOIN_ALL), or with line `on` switched on (JOIN_ONE). Switching on a line
 * under a ";[section]" switches that header on too. */
enum join { JOIN_NONE, JOIN_ALL, JOIN_ONE };

static char *text_join(const struct text *t, enum join mode, size_t on)
{
	size_t header_on = SIZE_MAX;
	if (mode == JOIN_ONE) {
		assert_true(on < t->count);
		for (size_t j = on; j-- > 0;) {
			enum line_kind k = classify(t->lines[j]);
			if (k == LINE_HEADER_OFF)
				header_on = j;
			if (k == LINE_HEADER || k == LINE_HEADER_OFF)
				break;
		}
	}
	size_t size = 1;
	for (size_t i = 0; i < t->count; i++)
		size += strlen(t->lines[i]) + 1;
	char *out = malloc(size), *w = out;
	assert_non_null(out);
	for (size_t i = 0; i < t->count; i++) {
		const char *s = t->lines[i];
		enum line_kind k = classify(s);
		bool off = k == LINE_SETTING_OFF || k == LINE_HEADER_OFF;
		if (off && (mode == JOIN_ALL || (mode == JOIN_ONE && (i == on || i == header_on))))
			s++;
		size_t len = strlen(s);
		memcpy(w, s, len);
		w += len;
		*w++ = '\n';
	}
	*w = '\0';
	return out;
}

/* The section and key of a setting line (on or off); key "" for a header. */
static void line_name(const char *line, char *name, size_t size)
{
	const char *s = line[0] == ';' ? line + 1 : line;
	size_t n = 0;
	if (s[0] == '[') {
		s++;
		while (s[n] && s[n] != ']')
			n++;
	} else {
		while (key_char(s[n]))
			n++;
	}
	snprintf(name, size, "%.*s", (int)n, s);
}

/* The section each line is in once every ';' is removed. */
static char **sections_of(const struct text *t)
{
	char **sec = calloc(t->count, sizeof(*sec));
	assert_non_null(sec);
	char current[128] = "";
	for (size_t i = 0; i < t->count; i++) {
		enum line_kind k = classify(t->lines[i]);
		if (k == LINE_HEADER || k == LINE_HEADER_OFF)
			line_name(t->lines[i], current, sizeof(current));
		sec[i] = strdup(current);
		assert_non_null(sec[i]);
	}
	return sec;
}

static void sections_free(char **sec, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(sec[i]);
	free(sec);
}

/* ---- a configuration as "section.key=value" lines ---- */

enum dump_kind { D_STR, D_U32, D_U64, D_BOOL, D_LIST, D_LEVEL, D_SOURCE, D_MODE, D_SOCKET };

struct dump_key {
	const char *section, *name;
	enum dump_kind kind;
	size_t offset, count_offset;
	const char *unset; /* what a NULL string means */
};

#define F(field) offsetof(struct config, field)
#define UNSET    "(unset)"

/* Every key of the parser's table; test_dump_knows_every_key fails when
 * one is added to config.c and not here. */
static const struct dump_key dump_keys[] = {
        {"spool", "dir", D_STR, F(spool.dir), 0, UNSET},
        {"spool", "public_key", D_STR, F(spool.public_key), 0, UNSET},
        {"spool", "secret_key", D_STR, F(spool.secret_key), 0, UNSET},
        {"spool", "max_bytes", D_U64, F(spool.max_bytes), 0, NULL},
        {"spool", "max_count", D_U32, F(spool.max_count), 0, NULL},
        {"intake", "url", D_STR, F(intake.url), 0, UNSET},
        {"intake", "ca_file", D_STR, F(intake.ca_file), 0, UNSET},
        {"intake", "pin", D_STR, F(intake.pin), 0, UNSET},
        {"intake", "client_cert", D_STR, F(intake.client_cert), 0, UNSET},
        {"intake", "client_key", D_STR, F(intake.client_key), 0, UNSET},
        {"intake", "connect_timeout", D_U32, F(intake.connect_timeout), 0, NULL},
        {"intake", "low_speed_time", D_U32, F(intake.low_speed_time), 0, NULL},
        {"intake", "min_speed", D_U32, F(intake.min_speed), 0, NULL},
        {"intake", "max_time_base", D_U32, F(intake.max_time_base), 0, NULL},
        {"intake", "retry_base", D_U32, F(intake.retry_base), 0, NULL},
        {"intake", "retry_cap", D_U32, F(intake.retry_cap), 0, NULL},
        {"intake", "retry_after_cap", D_U32, F(intake.retry_after_cap), 0, NULL},
        {"log", "level", D_LEVEL, F(log_level), 0, NULL},
        {"metrics", "textfile", D_STR, F(metrics_textfile), 0, UNSET},
        {"metrics", "status", D_STR, F(status_file), 0, UNSET},
        {"metrics", "kiosk_textfile", D_STR, F(kiosk_textfile), 0, UNSET},
        /* Its effective value: unset means control.sock in the spool. */
        {"control", "socket", D_SOCKET, F(control_socket), 0, NULL},
        {"scanner", "device", D_STR, F(scanner.device), 0, UNSET},
        {"scanner", "source", D_SOURCE, F(scanner.source), 0, NULL},
        {"scanner", "dpi", D_U32, F(scanner.dpi), 0, NULL},
        {"scanner", "mode", D_MODE, F(scanner.mode), 0, NULL},
        {"scanner", "settings", D_STR, F(scanner.settings), 0, UNSET},
        {"maintenance", "pin_hash", D_STR, F(maintenance.pin_hash), 0, UNSET},
        {"maintenance", "max_failures", D_U32, F(maintenance.max_failures), 0, NULL},
        {"maintenance", "lockout", D_U32, F(maintenance.lockout), 0, NULL},
        {"maintenance", "delay_cap", D_U32, F(maintenance.delay_cap), 0, NULL},
        {"maintenance", "state", D_STR, F(maintenance.state), 0, UNSET},
        {"maintenance", "idle_close", D_U32, F(maintenance.idle_close), 0, NULL},
        {"kiosk", "panel_dpi", D_U32, F(kiosk.panel_dpi), 0, NULL},
        {"kiosk", "idle_timeout", D_U32, F(kiosk.idle_timeout), 0, NULL},
        {"kiosk", "idle_warning", D_U32, F(kiosk.idle_warning), 0, NULL},
        /* Unset means the kiosk's built-in patterns (kiosk/app/case_rules.h). */
        {"kiosk", "kundennummer_pattern", D_STR, F(kiosk.kundennummer_pattern), 0,
         CASE_RULES_DEFAULT_KUNDENNUMMER},
        {"kiosk", "bg_pattern", D_STR, F(kiosk.bg_pattern), 0, CASE_RULES_DEFAULT_BG},
        {"kiosk", "categories", D_LIST, F(kiosk.categories), F(kiosk.category_count), NULL},
        {"kiosk", "languages", D_LIST, F(kiosk.languages), F(kiosk.language_count), NULL},
        {"kiosk", "language", D_STR, F(kiosk.language), 0, UNSET},
        {"kiosk", "high_contrast", D_BOOL, F(kiosk.high_contrast), 0, NULL},
        {"kiosk", "large_text", D_BOOL, F(kiosk.large_text), 0, NULL},
};

#define N_DUMP_KEYS (sizeof(dump_keys) / sizeof(dump_keys[0]))

static const void *at(const struct config *cfg, size_t offset)
{
	return (const char *)cfg + offset;
}

static void dump_one(const struct config *cfg, const struct dump_key *k, char *buf, size_t size)
{
	static const char *const levels[] = {"error", "warning", "info", "debug"};
	switch (k->kind) {
	case D_STR: {
		const char *s = *(char *const *)at(cfg, k->offset);
		snprintf(buf, size, "%s", s ? s : k->unset);
		break;
	}
	case D_U32:
		snprintf(buf, size, "%u", (unsigned)*(const uint32_t *)at(cfg, k->offset));
		break;
	case D_U64:
		snprintf(buf, size, "%llu",
		         (unsigned long long)*(const uint64_t *)at(cfg, k->offset));
		break;
	case D_BOOL:
		snprintf(buf, size, "%s", *(const bool *)at(cfg, k->offset) ? "true" : "false");
		break;
	case D_LIST: {
		char *const *items = *(char **const *)at(cfg, k->offset);
		size_t n = *(const size_t *)at(cfg, k->count_offset);
		buf[0] = '\0';
		for (size_t i = 0; i < n; i++) {
			size_t len = strlen(buf);
			snprintf(buf + len, size - len, "%s%s", i ? "," : "", items[i]);
		}
		break;
	}
	case D_LEVEL: {
		unsigned l = (unsigned)cfg->log_level;
		snprintf(buf, size, "%s", l < 4 ? levels[l] : "?");
		break;
	}
	case D_SOURCE:
		snprintf(buf, size, "%s", config_scan_source_name(cfg->scanner.source));
		break;
	case D_MODE:
		snprintf(buf, size, "%s", config_scan_mode_name(cfg->scanner.mode));
		break;
	case D_SOCKET:
		if (!config_control_socket(cfg, buf, size))
			snprintf(buf, size, "(too long)");
		break;
	}
}

static const struct dump_key *dump_find(const char *section, const char *name)
{
	for (size_t i = 0; i < N_DUMP_KEYS; i++)
		if (strcmp(dump_keys[i].section, section) == 0 &&
		    strcmp(dump_keys[i].name, name) == 0)
			return &dump_keys[i];
	return NULL;
}

/* The value of section.name in cfg; [category.KEY] labels too. */
static void value_of(const struct config *cfg, const char *section, const char *name, char *buf,
                     size_t size)
{
	if (strncmp(section, "category.", 9) == 0) {
		const char *label = config_category_label(cfg, section + 9, name);
		snprintf(buf, size, "%s", label ? label : UNSET);
		return;
	}
	const struct dump_key *k = dump_find(section, name);
	if (!k)
		fail_msg("no dump for [%s] %s", section, name);
	dump_one(cfg, k, buf, size);
}

/* Every value of cfg, one "section.key=value" a line, labels included. */
static char *dump_all(const struct config *cfg)
{
	size_t size = 64 * 1024, len = 0;
	char *out = malloc(size);
	assert_non_null(out);
	out[0] = '\0';
	char value[2048];
	for (size_t i = 0; i < N_DUMP_KEYS; i++) {
		dump_one(cfg, &dump_keys[i], value, sizeof(value));
		len += (size_t)snprintf(out + len, size - len, "%s.%s=%s\n", dump_keys[i].section,
		                        dump_keys[i].name, value);
	}
	static const char *const langs[] = {"de", "en", "uk", "ru", "tr", "ar"};
	for (size_t i = 0; i < cfg->kiosk.category_label_count; i++) {
		const struct config_category_label *l = &cfg->kiosk.category_labels[i];
		for (size_t j = 0; j < CONFIG_MAX_LANGUAGES; j++)
			if (l->label[j])
				len += (size_t)snprintf(out + len, size - len,
				                        "category.%s.%s=%s\n", l->key, langs[j],
				                        l->label[j]);
	}
	assert_true(len < size);
	return out;
}

/* Removes the line "section.name=..." from a dump, in place. */
static void dump_drop(char *dump, const char *section, const char *name)
{
	char prefix[256];
	snprintf(prefix, sizeof(prefix), "%s.%s=", section, name);
	for (char *p = dump; *p;) {
		char *end = strchr(p, '\n');
		char *next = end ? end + 1 : p + strlen(p);
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			memmove(p, next, strlen(next) + 1);
			return;
		}
		p = next;
	}
}

static bool parse_text(const char *text, struct config *cfg, char err[CONFIG_ERROR_MAX])
{
	config_init(cfg);
	err[0] = '\0';
	return config_load_string(cfg, "scankiosk.conf", text, err);
}

/* ---- the tests ---- */

/* (a) The file as shipped loads with the real parser and holds the
 * packaging decisions. */
static void test_shipped_loads(void **state)
{
	(void)state;
	struct config cfg;
	char err[CONFIG_ERROR_MAX] = "";
	config_init(&cfg);
	if (!config_load(&cfg, shipped_path, err))
		fail_msg("the shipped file does not load: %s", err);
	assert_string_equal(cfg.spool.dir, "/var/spool/scankiosk");
	assert_string_equal(cfg.spool.public_key, "/etc/scankiosk/spool.pub");
	/* The units hand these over with LoadCredential=spool.key:..., device.key:... */
	assert_string_equal(cfg.spool.secret_key, "credential:spool.key");
	assert_string_equal(cfg.intake.client_key, "credential:device.key");
	assert_string_equal(cfg.intake.client_cert, "/etc/scankiosk/device.pem");
	assert_string_equal(cfg.intake.ca_file, "/etc/scankiosk/intake-ca.pem");
	assert_string_equal(cfg.status_file, "/run/scankiosk/uploader-status.json");
	assert_string_equal(cfg.maintenance.state, "/var/lib/scankiosk/pin-state");
	assert_string_equal(cfg.scanner.settings, "/var/lib/scankiosk/scanner.conf");
	char sock[256];
	assert_true(config_control_socket(&cfg, sock, sizeof(sock)));
	assert_string_equal(sock, "/var/spool/scankiosk/control.sock");
	/* Site values come from scankiosk-provision's drop-in; metrics are off. */
	assert_null(cfg.intake.url);
	assert_null(cfg.intake.pin);
	assert_null(cfg.maintenance.pin_hash);
	assert_null(cfg.metrics_textfile);
	assert_null(cfg.kiosk_textfile);
	config_finish(&cfg);
}

/* "#" explains, ";" switches a setting off; nothing else starts a line. */
static void test_comment_convention(void **state)
{
	(void)state;
	struct text t;
	text_load(&t);
	for (size_t i = 0; i < t.count; i++) {
		if (classify(t.lines[i]) == LINE_BAD)
			fail_msg("%s:%zu: neither a comment (#), a setting (key = value), a "
			         "section ([name]) nor one switched off (;): '%s'",
			         shipped_path, i + 1, t.lines[i]);
		size_t len = strlen(t.lines[i]);
		if (len && (t.lines[i][len - 1] == ' ' || t.lines[i][len - 1] == '\t'))
			fail_msg("%s:%zu: blanks at the end of the line", shipped_path, i + 1);
	}
	text_free(&t);
}

/* The "#" block right above line i (a setting or a header): its first line
 * must start "# NAME:" and it must say "Default:" and "Read by:". NULL when
 * it does, else why not. */
static const char *doc_problem(const struct text *t, size_t i, const char *name)
{
	size_t first = i;
	while (first > 0 && classify(t->lines[first - 1]) == LINE_PROSE)
		first--;
	if (first == i)
		return "no '#' comment right above it";
	char head[160];
	snprintf(head, sizeof(head), "# %s:", name);
	if (strncmp(t->lines[first], head, strlen(head)) != 0)
		return "its comment does not start with '# NAME:'";
	bool has_default = false, has_reader = false;
	for (size_t j = first; j < i; j++) {
		has_default |= strstr(t->lines[j], "Default:") != NULL;
		has_reader |= strstr(t->lines[j], "Read by:") != NULL;
	}
	if (!has_default)
		return "its comment gives no 'Default:'";
	if (!has_reader)
		return "its comment says not who reads it ('Read by:')";
	return NULL;
}

/* (b) Every key the parser knows is in the file once, in its section, with
 * its documentation; and the [category.KEY] form with every language. */
static void test_every_key_documented(void **state)
{
	(void)state;
	struct text t;
	text_load(&t);
	char **sec = sections_of(&t);
	size_t problems = 0;
	assert_true(config_key_count() > 0);
	const char *section, *name;
	assert_false(config_key_at(config_key_count(), &section, &name));
	for (size_t k = 0; config_key_at(k, &section, &name); k++) {
		size_t found = 0, where = 0;
		for (size_t i = 0; i < t.count; i++) {
			enum line_kind kind = classify(t.lines[i]);
			if (kind != LINE_SETTING && kind != LINE_SETTING_OFF)
				continue;
			char key[128];
			line_name(t.lines[i], key, sizeof(key));
			if (strcmp(key, name) == 0 && strcmp(sec[i], section) == 0) {
				found++;
				where = i;
			}
		}
		if (found != 1) {
			print_error("[%s] %s: %zu times in %s (once, as '%s =' or ';%s =')\n",
			            section, name, found, shipped_path, name, name);
			problems++;
			continue;
		}
		const char *why = doc_problem(&t, where, name);
		if (why) {
			print_error("%s:%zu: [%s] %s: %s\n", shipped_path, where + 1, section, name,
			            why);
			problems++;
		}
	}

	/* [category.KEY]: a section documented as such, with every language once. */
	bool category_seen = false;
	for (size_t i = 0; i < t.count; i++) {
		enum line_kind kind = classify(t.lines[i]);
		if ((kind != LINE_HEADER && kind != LINE_HEADER_OFF) ||
		    strncmp(sec[i], "category.", 9) != 0)
			continue;
		category_seen = true;
		const char *why = doc_problem(&t, i, "[category.KEY]");
		if (why) {
			print_error("%s:%zu: [category.KEY]: %s\n", shipped_path, i + 1, why);
			problems++;
		}
		const char *langs = CONFIG_DEFAULT_LANGUAGES;
		for (const char *p = langs; *p;) {
			const char *end = strchr(p, ',');
			size_t len = end ? (size_t)(end - p) : strlen(p);
			size_t found = 0;
			for (size_t j = i + 1; j < t.count && strcmp(sec[j], sec[i]) == 0; j++) {
				char key[128];
				enum line_kind lk = classify(t.lines[j]);
				if (lk != LINE_SETTING && lk != LINE_SETTING_OFF)
					continue;
				line_name(t.lines[j], key, sizeof(key));
				found += strlen(key) == len && strncmp(key, p, len) == 0;
			}
			if (found != 1) {
				print_error("[%s]: '%.*s' %zu times (once)\n", sec[i], (int)len, p,
				            found);
				problems++;
			}
			p = end ? end + 1 : p + len;
		}
	}
	if (!category_seen) {
		print_error("%s: no [category.KEY] section, set or switched off\n", shipped_path);
		problems++;
	}
	sections_free(sec, t.count);
	text_free(&t);
	if (problems)
		fail_msg("%zu keys not documented as they must be", problems);
}

/* (c) Every example switched on together: the file still loads, and the
 * site's values are what the examples say they are. */
static void test_examples_load(void **state)
{
	(void)state;
	struct text t;
	text_load(&t);
	char *all_on = text_join(&t, JOIN_ALL, 0);
	struct config cfg;
	char err[CONFIG_ERROR_MAX];
	if (!parse_text(all_on, &cfg, err))
		fail_msg("with every ';' removed the file does not load: %s", err);
	assert_non_null(cfg.intake.url);
	assert_int_equal(strncmp(cfg.intake.url, "https://", 8), 0);
	assert_non_null(cfg.intake.pin);
	assert_non_null(cfg.maintenance.pin_hash);
	assert_non_null(cfg.metrics_textfile);
	assert_non_null(cfg.kiosk_textfile);
	assert_non_null(cfg.scanner.device);
	assert_true(cfg.kiosk.category_label_count >= 1);
	config_finish(&cfg);
	free(all_on);
	text_free(&t);
}

/* A ";" line shows the default, or an example for a key without one. */
static void test_commented_values_are_defaults(void **state)
{
	(void)state;
	struct text t;
	text_load(&t);
	char **sec = sections_of(&t);
	char *shipped = text_join(&t, JOIN_NONE, 0);
	struct config base;
	char err[CONFIG_ERROR_MAX];
	if (!parse_text(shipped, &base, err))
		fail_msg("the shipped file does not load: %s", err);
	size_t problems = 0, checked = 0;
	for (size_t i = 0; i < t.count; i++) {
		if (classify(t.lines[i]) != LINE_SETTING_OFF)
			continue;
		char name[128];
		line_name(t.lines[i], name, sizeof(name));
		char *one_on = text_join(&t, JOIN_ONE, i);
		struct config cfg;
		if (!parse_text(one_on, &cfg, err)) {
			print_error("%s:%zu: switched on alone, it does not load: %s\n",
			            shipped_path, i + 1, err);
			problems++;
			config_finish(&cfg);
			free(one_on);
			continue;
		}
		char was[2048], now[2048];
		value_of(&base, sec[i], name, was, sizeof(was));
		value_of(&cfg, sec[i], name, now, sizeof(now));
		if (strcmp(was, now) != 0 && strcmp(was, UNSET) != 0) {
			print_error("%s:%zu: [%s] %s: the line shows '%s' but the default is "
			            "'%s'\n",
			            shipped_path, i + 1, sec[i], name, now, was);
			problems++;
		}
		char *before = dump_all(&base), *after = dump_all(&cfg);
		dump_drop(before, sec[i], name);
		dump_drop(after, sec[i], name);
		if (strcmp(before, after) != 0) {
			print_error("%s:%zu: [%s] %s: switching it on changes other keys too\n",
			            shipped_path, i + 1, sec[i], name);
			problems++;
		}
		free(before);
		free(after);
		config_finish(&cfg);
		free(one_on);
		checked++;
	}
	config_finish(&base);
	free(shipped);
	sections_free(sec, t.count);
	text_free(&t);
	assert_true(checked > 0);
	if (problems)
		fail_msg("%zu switched-off lines are neither the default nor an example", problems);
}

/* This test's own table keeps up with the parser's. */
static void test_dump_knows_every_key(void **state)
{
	(void)state;
	const char *section, *name;
	for (size_t k = 0; config_key_at(k, &section, &name); k++)
		if (!dump_find(section, name))
			fail_msg("[%s] %s is new: add it to dump_keys[] in %s", section, name,
			         __FILE__);
	assert_int_equal(config_key_count(), N_DUMP_KEYS);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH/scankiosk.conf\n", argv[0]);
		return 2;
	}
	shipped_path = argv[1];
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_dump_knows_every_key),
	        cmocka_unit_test(test_shipped_loads),
	        cmocka_unit_test(test_comment_convention),
	        cmocka_unit_test(test_every_key_documented),
	        cmocka_unit_test(test_examples_load),
	        cmocka_unit_test(test_commented_values_are_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
