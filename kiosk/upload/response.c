/*
 * response.c - parses the intake's JSON answer (see response.h).
 */
#include "response.h"

#include <cjson/cJSON.h>
#include <string.h>

static const char *const parse_names[INTAKE_PARSE_LAST] = {
        [INTAKE_PARSE_OK] = "ok",
        [INTAKE_PARSE_TOO_BIG] = "too_big",
        [INTAKE_PARSE_NOT_JSON] = "not_json",
        [INTAKE_PARSE_NO_RECEIPT] = "no_receipt",
        [INTAKE_PARSE_BAD_RECEIPT] = "bad_receipt",
};

const char *intake_parse_name(enum intake_parse result)
{
	if ((unsigned)result >= INTAKE_PARSE_LAST)
		return "unknown";
	return parse_names[result];
}

/* PROTOCOL.md: the receipt is 1-64 printable ASCII (we take up to 128).
 * Without control characters it cannot break a log line. */
static bool copy_printable(const char *s, char *out, size_t cap)
{
	size_t len = strlen(s);
	if (len == 0 || len >= cap)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e)
			return false;
	}
	memcpy(out, s, len + 1);
	return true;
}

/* Printable ASCII without blanks, quotes or backslashes: an error code. */
static bool copy_token(const char *s, char *out, size_t cap)
{
	size_t len = strlen(s);
	if (len == 0 || len >= cap)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return false;
	}
	memcpy(out, s, len + 1);
	return true;
}

static void copy_id(const cJSON *root, struct intake_response *out)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "submission_id");
	if (!cJSON_IsString(id) || !id->valuestring || strlen(id->valuestring) != INTAKE_ID_MAX - 1)
		return;
	for (const char *p = id->valuestring; *p; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return;
	}
	memcpy(out->submission_id, id->valuestring, INTAKE_ID_MAX);
}

static void copy_error(const cJSON *root, struct intake_response *out)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (cJSON_IsObject(error))
		error = cJSON_GetObjectItemCaseSensitive(error, "code");
	if (cJSON_IsString(error) && error->valuestring)
		(void)copy_token(error->valuestring, out->error, sizeof(out->error));
}

enum intake_parse intake_response_parse(const char *body, size_t len, struct intake_response *out)
{
	memset(out, 0, sizeof(*out));
	if (len > INTAKE_RESPONSE_MAX)
		return INTAKE_PARSE_TOO_BIG;
	if (!body || len == 0)
		return INTAKE_PARSE_NOT_JSON;

	/* cJSON decodes an escaped NUL into its C string and so would cut a
	 * value short unseen; no answer of ours carries one. */
	for (size_t i = 0; i + 6 <= len; i++) {
		if (body[i] == '\\' && body[i + 1] == 'u' && strncmp(body + i + 2, "0000", 4) == 0)
			return INTAKE_PARSE_NOT_JSON;
	}

	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (!root)
		return INTAKE_PARSE_NOT_JSON;
	enum intake_parse result = INTAKE_PARSE_NOT_JSON;
	/* Only blanks may follow the document. */
	for (const char *p = end; p && p < body + len; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			goto out;
	}
	if (!cJSON_IsObject(root))
		goto out;
	copy_error(root, out);
	copy_id(root, out);

	const cJSON *receipt = cJSON_GetObjectItemCaseSensitive(root, "receipt");
	result = INTAKE_PARSE_NO_RECEIPT;
	if (!cJSON_IsString(receipt) || !receipt->valuestring)
		goto out;
	result = INTAKE_PARSE_BAD_RECEIPT;
	if (!copy_printable(receipt->valuestring, out->receipt, sizeof(out->receipt)))
		goto out;
	result = INTAKE_PARSE_OK;
out:
	cJSON_Delete(root);
	return result;
}
