/*
 * control_request.c - the parser of a control request (see control_request.h
 * and CONTROL.md).
 */
#include "control_request.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <string.h>

static const char *const op_names[CONTROL_OP_LAST] = {
        [CONTROL_OP_STATUS] = "status",   [CONTROL_OP_RETRY_NOW] = "retry-now",
        [CONTROL_OP_DISCARD] = "discard", [CONTROL_OP_NETWORK_TEST] = "network-test",
        [CONTROL_OP_LOG] = "log",         [CONTROL_OP_RESTART] = "restart",
};

static const char *const parse_codes[CONTROL_PARSE_LAST] = {
        [CONTROL_PARSE_OK] = "ok",
        [CONTROL_PARSE_TOO_LARGE] = "too_large",
        [CONTROL_PARSE_MALFORMED] = "malformed",
        [CONTROL_PARSE_BAD_VERSION] = "unsupported_version",
        [CONTROL_PARSE_UNKNOWN_REQUEST] = "unknown_request",
        [CONTROL_PARSE_BAD_REQUEST] = "bad_request",
};

const char *control_op_name(enum control_op op)
{
	if ((unsigned)op >= CONTROL_OP_LAST)
		return "unknown";
	return op_names[op];
}

const char *control_parse_code(enum control_parse result)
{
	if ((unsigned)result >= CONTROL_PARSE_LAST)
		return "internal";
	return parse_codes[result];
}

static bool is_id(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++) {
		if (i >= CONTROL_ID_MAX - 1 ||
		    !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return i == CONTROL_ID_MAX - 1;
}

static bool only_blanks(const char *p, const char *end)
{
	for (; p < end; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
	}
	return true;
}

/* A \u0000 escape: cJSON would decode it into a NUL inside a string, which
 * C string functions then read as a shorter name or value. Refused, also
 * where it is harmless (an escaped backslash before "u0000"). */
static bool nul_escape(const char *data, size_t len)
{
	for (size_t i = 0; i + 6 <= len; i++) {
		if (data[i] == '\\' && (data[i + 1] == 'u' || data[i + 1] == 'U') &&
		    data[i + 2] == '0' && data[i + 3] == '0' && data[i + 4] == '0' &&
		    data[i + 5] == '0')
			return true;
	}
	return false;
}

static enum control_parse refuse(enum control_parse result, const char *text, const char **why)
{
	if (why)
		*why = text;
	return result;
}

/* The members a request may have, a bit each. */
enum member {
	MEMBER_VERSION = 1u << 0,
	MEMBER_REQUEST = 1u << 1,
	MEMBER_ID = 1u << 2,
	MEMBER_LINES = 1u << 3,
};

static unsigned member_bit(const char *name)
{
	if (strcmp(name, "version") == 0)
		return MEMBER_VERSION;
	if (strcmp(name, "request") == 0)
		return MEMBER_REQUEST;
	if (strcmp(name, "id") == 0)
		return MEMBER_ID;
	if (strcmp(name, "lines") == 0)
		return MEMBER_LINES;
	return 0;
}

static enum control_parse parse_root(const cJSON *root, struct control_request *out,
                                     const char **why)
{
	if (!cJSON_IsObject(root))
		return refuse(CONTROL_PARSE_MALFORMED, "a request is one JSON object", why);

	/* Every member known, each at most once: cJSON keeps duplicates. */
	unsigned seen = 0;
	const cJSON *version = NULL, *request = NULL, *id = NULL, *lines = NULL;
	for (const cJSON *m = root->child; m; m = m->next) {
		unsigned bit = m->string ? member_bit(m->string) : 0;
		if (!bit)
			return refuse(CONTROL_PARSE_BAD_REQUEST, "unknown member", why);
		if (seen & bit)
			return refuse(CONTROL_PARSE_BAD_REQUEST, "member given twice", why);
		seen |= bit;
		if (bit == MEMBER_VERSION)
			version = m;
		else if (bit == MEMBER_REQUEST)
			request = m;
		else if (bit == MEMBER_ID)
			id = m;
		else
			lines = m;
	}

	if (!version || !cJSON_IsNumber(version))
		return refuse(CONTROL_PARSE_BAD_VERSION, "\"version\" must be the integer 1", why);
	if (version->valuedouble != CONTROL_VERSION)
		return refuse(CONTROL_PARSE_BAD_VERSION, "this uploader speaks version 1", why);

	if (!request || !cJSON_IsString(request) || !request->valuestring)
		return refuse(CONTROL_PARSE_UNKNOWN_REQUEST, "\"request\" must name an operation",
		              why);
	enum control_op op = CONTROL_OP_LAST;
	for (unsigned i = 0; i < CONTROL_OP_LAST; i++) {
		if (strcmp(request->valuestring, op_names[i]) == 0)
			op = (enum control_op)i;
	}
	if (op == CONTROL_OP_LAST)
		return refuse(CONTROL_PARSE_UNKNOWN_REQUEST,
		              "\"request\" is not status, retry-now, discard, network-test, log or "
		              "restart",
		              why);

	if (op == CONTROL_OP_DISCARD) {
		if (!id)
			return refuse(CONTROL_PARSE_BAD_REQUEST, "discard needs \"id\"", why);
		if (!cJSON_IsString(id) || !id->valuestring || !is_id(id->valuestring))
			return refuse(CONTROL_PARSE_BAD_REQUEST,
			              "\"id\" must be 32 lower-case hex digits", why);
		memcpy(out->id, id->valuestring, CONTROL_ID_MAX);
	} else if (id) {
		return refuse(CONTROL_PARSE_BAD_REQUEST, "only discard takes \"id\"", why);
	}
	if (op == CONTROL_OP_LOG) {
		out->lines = CONTROL_LOG_LINES_MAX;
		if (lines) {
			/* An integer: 1.0 passes as JSON says it is the same number. */
			if (!cJSON_IsNumber(lines) || !(lines->valuedouble >= 1) ||
			    !(lines->valuedouble <= CONTROL_LOG_LINES_MAX) ||
			    lines->valuedouble != (double)(uint32_t)lines->valuedouble)
				return refuse(CONTROL_PARSE_BAD_REQUEST,
				              "\"lines\" must be an integer from 1 to 200", why);
			out->lines = (uint32_t)lines->valuedouble;
		}
	} else if (lines) {
		return refuse(CONTROL_PARSE_BAD_REQUEST, "only log takes \"lines\"", why);
	}
	out->op = op;
	return refuse(CONTROL_PARSE_OK, "ok", why);
}

enum control_parse control_request_parse(const char *data, size_t len, struct control_request *out,
                                         const char **why)
{
	memset(out, 0, sizeof(*out));
	out->op = CONTROL_OP_LAST;
	if (len > CONTROL_REQUEST_MAX)
		return refuse(CONTROL_PARSE_TOO_LARGE, "a request has at most 1024 bytes", why);
	if (!data || len == 0)
		return refuse(CONTROL_PARSE_MALFORMED, "empty request", why);
	if (memchr(data, '\0', len) || nul_escape(data, len))
		return refuse(CONTROL_PARSE_MALFORMED, "NUL byte in the request", why);

	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(data, len, &end, false);
	enum control_parse result;
	if (!root)
		result = refuse(CONTROL_PARSE_MALFORMED, "not JSON", why);
	else if (!end || end < data || end > data + len || !only_blanks(end, data + len))
		result = refuse(CONTROL_PARSE_MALFORMED, "bytes after the JSON object", why);
	else
		result = parse_root(root, out, why);
	cJSON_Delete(root);
	if (result != CONTROL_PARSE_OK) {
		out->op = CONTROL_OP_LAST;
		out->id[0] = '\0';
		out->lines = 0;
	}
	return result;
}
