/*
 * outcome.c - the classification table of upload attempts (see outcome.h and
 * README.md, "Outcome classes").
 */
#include "outcome.h"

#include <string.h>

static const char *const names[UPLOAD_OUTCOME_LAST] = {
        [UPLOAD_DELIVERED] = "delivered",
        [UPLOAD_CONNECT] = "connect",
        [UPLOAD_TIMEOUT] = "timeout",
        [UPLOAD_TLS] = "tls",
        [UPLOAD_TLS_VERIFY] = "tls_verify",
        [UPLOAD_TLS_PIN] = "tls_pin",
        [UPLOAD_NETWORK] = "network",
        [UPLOAD_PROTOCOL] = "protocol",
        [UPLOAD_AUTH] = "auth",
        [UPLOAD_REQUEST_TIMEOUT] = "request_timeout",
        [UPLOAD_IN_FLIGHT] = "in_flight",
        [UPLOAD_THROTTLED] = "throttled",
        [UPLOAD_UNAVAILABLE] = "unavailable",
        [UPLOAD_SERVER_ERROR] = "server_error",
        [UPLOAD_BAD_REQUEST] = "bad_request",
        [UPLOAD_TOO_LARGE] = "too_large",
        [UPLOAD_CONFLICT] = "conflict",
        [UPLOAD_REJECTED] = "rejected",
        [UPLOAD_UNREADABLE] = "unreadable",
        [UPLOAD_LOCAL] = "local",
        [UPLOAD_CANCELLED] = "cancelled",
};

const char *upload_outcome_name(enum upload_outcome outcome)
{
	if ((unsigned)outcome >= UPLOAD_OUTCOME_LAST)
		return "unknown";
	return names[outcome];
}

enum upload_outcome upload_outcome_from_name(const char *name)
{
	if (!name)
		return UPLOAD_OUTCOME_LAST;
	for (unsigned i = 0; i < UPLOAD_OUTCOME_LAST; i++) {
		if (strcmp(names[i], name) == 0)
			return (enum upload_outcome)i;
	}
	return UPLOAD_OUTCOME_LAST;
}

enum upload_action upload_outcome_action(enum upload_outcome outcome)
{
	switch (outcome) {
	case UPLOAD_DELIVERED:
		return UPLOAD_ACTION_DONE;
	case UPLOAD_BAD_REQUEST:
	case UPLOAD_TOO_LARGE:
	case UPLOAD_CONFLICT:
	case UPLOAD_REJECTED:
		return UPLOAD_ACTION_FAIL;
	case UPLOAD_UNREADABLE:
		return UPLOAD_ACTION_QUARANTINE;
	case UPLOAD_CANCELLED:
		return UPLOAD_ACTION_PUT_BACK;
	case UPLOAD_CONNECT:
	case UPLOAD_TIMEOUT:
	case UPLOAD_TLS:
	case UPLOAD_TLS_VERIFY:
	case UPLOAD_TLS_PIN:
	case UPLOAD_NETWORK:
	case UPLOAD_PROTOCOL:
	case UPLOAD_AUTH:
	case UPLOAD_REQUEST_TIMEOUT:
	case UPLOAD_IN_FLIGHT:
	case UPLOAD_THROTTLED:
	case UPLOAD_UNAVAILABLE:
	case UPLOAD_SERVER_ERROR:
	case UPLOAD_LOCAL:
	case UPLOAD_OUTCOME_LAST:
		break;
	}
	/* Unknown means keep it and try again: nothing is ever dropped. */
	return UPLOAD_ACTION_RETRY;
}

bool upload_outcome_blocks_queue(enum upload_outcome outcome)
{
	switch (outcome) {
	case UPLOAD_CONNECT:
	case UPLOAD_TIMEOUT:
	case UPLOAD_TLS:
	case UPLOAD_TLS_VERIFY:
	case UPLOAD_TLS_PIN:
	case UPLOAD_NETWORK:
	case UPLOAD_PROTOCOL:
	case UPLOAD_AUTH:
	case UPLOAD_REQUEST_TIMEOUT:
	case UPLOAD_THROTTLED:
	case UPLOAD_UNAVAILABLE:
	case UPLOAD_SERVER_ERROR:
	case UPLOAD_LOCAL:
		return true;
	default:
		return false;
	}
}

enum upload_outcome upload_classify_http(long status, bool receipt_ok)
{
	if (status == 200 || status == 201)
		return receipt_ok ? UPLOAD_DELIVERED : UPLOAD_PROTOCOL;
	switch (status) {
	case 400:
		return UPLOAD_BAD_REQUEST;
	case 401:
	case 403:
		return UPLOAD_AUTH;
	case 408:
		return UPLOAD_REQUEST_TIMEOUT;
	case 409:
		return UPLOAD_IN_FLIGHT;
	case 413:
		return UPLOAD_TOO_LARGE;
	case 422:
		return UPLOAD_CONFLICT;
	case 429:
		return UPLOAD_THROTTLED;
	case 503:
		return UPLOAD_UNAVAILABLE;
	default:
		break;
	}
	if (status >= 400 && status <= 499)
		return UPLOAD_REJECTED;
	if (status >= 500 && status <= 599)
		return UPLOAD_SERVER_ERROR;
	/* 1xx as a final answer, other 2xx, 3xx (no redirects are followed),
	 * nonsense: the server does not speak PROTOCOL.md; keep the submission. */
	return UPLOAD_PROTOCOL;
}

enum upload_outcome upload_classify_curl(CURLcode code)
{
	switch (code) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return UPLOAD_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return UPLOAD_TIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return UPLOAD_TLS_VERIFY;
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return UPLOAD_TLS_PIN;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_CLIENTCERT:
		return UPLOAD_TLS;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
	case CURLE_QUIC_CONNECT_ERROR:
	case CURLE_SEND_FAIL_REWIND:
		return UPLOAD_NETWORK;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_WRITE_ERROR: /* our write callback refused an oversized body */
	case CURLE_FILESIZE_EXCEEDED:
		return UPLOAD_PROTOCOL;
	case CURLE_ABORTED_BY_CALLBACK:
		return UPLOAD_CANCELLED;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_FAILED_INIT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_READ_ERROR:
		return UPLOAD_LOCAL;
	default:
		break;
	}
	return UPLOAD_NETWORK;
}

enum upload_outcome upload_classify_container(enum container_status status)
{
	switch (status) {
	case CONTAINER_NOT_CONTAINER:
	case CONTAINER_BAD_VERSION:
	case CONTAINER_TRUNCATED:
	case CONTAINER_TAMPERED:
	case CONTAINER_BAD_METADATA:
		return UPLOAD_UNREADABLE;
	case CONTAINER_OK:
	case CONTAINER_IO:
	case CONTAINER_NO_SPACE:
	case CONTAINER_NOMEM:
	case CONTAINER_INVALID:
	case CONTAINER_STATUS_LAST:
		break;
	}
	/* Not the file's fault (or not provably): keep it and try again. */
	return UPLOAD_LOCAL;
}
