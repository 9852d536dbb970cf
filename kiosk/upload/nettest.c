/*
 * nettest.c - the network test, step by step (see nettest.h).
 */
#include "nettest.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "intake.h"
#include "log.h"

/* How often a waiting step looks at the cancel flag. */
#define SLICE_MS 100
/* Addresses of one name tried by the TCP step at most. */
#define MAX_ADDRESSES 8
/* The health answer is tiny (PROTOCOL.md §9); more is not the intake. */
#define HEALTH_BODY_MAX 4096
#define HOST_MAX        256
#define URL_MAX         2048

static const char *const step_names[NETTEST_STEP_LAST] = {
        [NETTEST_DNS] = "dns",
        [NETTEST_TCP] = "tcp",
        [NETTEST_TLS] = "tls",
        [NETTEST_HTTP] = "http",
};

static const char *const result_names[NETTEST_RESULT_LAST] = {
        [NETTEST_PASSED] = "ok",
        [NETTEST_FAILED] = "failed",
        [NETTEST_SKIPPED] = "skipped",
};

const char *nettest_step_name(enum nettest_step step)
{
	return (unsigned)step < NETTEST_STEP_LAST ? step_names[step] : "unknown";
}

const char *nettest_result_name(enum nettest_result result)
{
	return (unsigned)result < NETTEST_RESULT_LAST ? result_names[result] : "unknown";
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool cancelled(atomic_bool *cancel)
{
	return cancel && atomic_load(cancel);
}

/* One step's verdict; the reason is made printable ASCII. */
__attribute__((format(printf, 4, 5))) static bool verdict(struct nettest_step_report *r, bool ok,
                                                          const char *code, const char *fmt, ...)
{
	r->result = ok ? NETTEST_PASSED : NETTEST_FAILED;
	r->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	for (char *p = r->reason; *p; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	}
	return ok;
}

/* ---- the URL ------------------------------------------------------------- */

struct target {
	char host[HOST_MAX]; /* without IPv6 brackets */
	char port[8];
	char base[URL_MAX]; /* {url}/v1/health */
};

static bool parse_target(const struct config_intake *cfg, struct target *t,
                         struct nettest_step_report *r)
{
	if (!intake_url(cfg, "/v1/health", t->base, sizeof(t->base)))
		return verdict(r, false, "bad_url",
		               "[intake] url is missing or not an https:// URL");
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	bool ok = false;
	if (!u) {
		verdict(r, false, "local", "out of memory");
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, cfg->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		verdict(r, false, "bad_url", "[intake] url cannot be parsed");
		goto out;
	}
	const char *h = host;
	size_t len = strlen(h);
	if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
		h++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(t->host) || strlen(port) >= sizeof(t->port)) {
		verdict(r, false, "bad_url", "[intake] url has an unusable host or port");
		goto out;
	}
	memcpy(t->host, h, len);
	t->host[len] = '\0';
	snprintf(t->port, sizeof(t->port), "%s", port);
	ok = true;
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

/* ---- dns ------------------------------------------------------------------ */

/*
 * getaddrinfo() has no timeout. It runs on a detached thread; the step waits
 * for it at most the timeout. A lookup that outlives the step finishes on its
 * own and frees what it found: whichever side lets go last frees the job.
 */
struct lookup {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;
	bool done;
	int rc;
	int err; /* errno for EAI_SYSTEM */
	struct addrinfo *res;
	char host[HOST_MAX];
	char port[8];
};

static void lookup_release(struct lookup *l)
{
	pthread_mutex_lock(&l->lock);
	bool last = --l->refs == 0;
	pthread_mutex_unlock(&l->lock);
	if (!last)
		return;
	if (l->res)
		freeaddrinfo(l->res);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static void *lookup_thread(void *arg)
{
	struct lookup *l = arg;
	struct addrinfo hints = {
	        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(l->host, l->port, &hints, &res);
	int err = errno;
	pthread_mutex_lock(&l->lock);
	l->rc = rc;
	l->err = err;
	l->res = res;
	l->done = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	lookup_release(l);
	return NULL;
}

static void deadline_in(struct timespec *ts, uint64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void describe_address(const struct addrinfo *ai, char *buf, size_t size)
{
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, (socklen_t)size, NULL, 0,
	                NI_NUMERICHOST) != 0)
		snprintf(buf, size, "(address)");
}

static bool step_dns(const struct target *t, uint32_t timeout_s, atomic_bool *cancel,
                     struct addrinfo **found, struct nettest_step_report *r)
{
	*found = NULL;
	struct lookup *l = calloc(1, sizeof(*l));
	if (!l)
		return verdict(r, false, "local", "out of memory");
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, &attr);
	pthread_condattr_destroy(&attr);
	l->refs = 2;
	snprintf(l->host, sizeof(l->host), "%s", t->host);
	snprintf(l->port, sizeof(l->port), "%s", t->port);

	pthread_t th;
	pthread_attr_t ta;
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&th, &ta, lookup_thread, l);
	pthread_attr_destroy(&ta);
	if (rc != 0) {
		l->refs = 1;
		lookup_release(l);
		return verdict(r, false, "local", "cannot start the name lookup");
	}

	uint64_t end = mono_ms() + (uint64_t)timeout_s * 1000;
	pthread_mutex_lock(&l->lock);
	while (!l->done && !cancelled(cancel) && mono_ms() < end) {
		struct timespec ts;
		deadline_in(&ts, SLICE_MS);
		pthread_cond_timedwait(&l->cond, &l->lock, &ts);
	}
	bool done = l->done;
	int grc = l->rc, err = l->err;
	if (done) {
		*found = l->res;
		l->res = NULL;
	}
	pthread_mutex_unlock(&l->lock);
	lookup_release(l);

	if (!done && cancelled(cancel))
		return verdict(r, false, "cancelled", "stopped");
	if (!done)
		return verdict(r, false, "timeout", "no answer for %s within %u s", t->host,
		               timeout_s);
	switch (grc) {
	case 0:
		break;
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
		return verdict(r, false, "no_such_host", "%s: no such host name", t->host);
	case EAI_AGAIN:
		return verdict(r, false, "dns_unreachable",
		               "%s: the name server did not answer (temporary failure)", t->host);
	case EAI_SYSTEM:
		return verdict(r, false, "dns_failed", "%s: %s", t->host, strerror(err));
	default:
		return verdict(r, false, "dns_failed", "%s: %s", t->host, gai_strerror(grc));
	}
	size_t n = 0;
	for (const struct addrinfo *ai = *found; ai; ai = ai->ai_next)
		n++;
	if (n == 0)
		return verdict(r, false, "no_such_host", "%s: no addresses", t->host);
	char first[INET6_ADDRSTRLEN + 8];
	describe_address(*found, first, sizeof(first));
	if (n == 1)
		return verdict(r, true, "ok", "%s is %s", t->host, first);
	return verdict(r, true, "ok", "%s is %s and %zu more", t->host, first, n - 1);
}

/* ---- tcp ------------------------------------------------------------------ */

/* One non-blocking connect, waited for in slices. Returns 0 or an errno
 * value (ETIMEDOUT, ECANCELED). */
static int connect_one(const struct addrinfo *ai, uint64_t end, atomic_bool *cancel)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                ai->ai_protocol);
	if (fd < 0)
		return errno;
	int err = 0;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto out;
	if (errno != EINPROGRESS) {
		err = errno;
		goto out;
	}
	for (;;) {
		if (cancelled(cancel)) {
			err = ECANCELED;
			break;
		}
		uint64_t now = mono_ms();
		if (now >= end) {
			err = ETIMEDOUT;
			break;
		}
		uint64_t wait = end - now < SLICE_MS ? end - now : SLICE_MS;
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int rc = poll(&p, 1, (int)wait);
		if (rc < 0 && errno != EINTR) {
			err = errno;
			break;
		}
		if (rc > 0) {
			socklen_t len = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
				err = errno;
			break;
		}
	}
out:
	close(fd);
	return err;
}

static bool step_tcp(const struct target *t, const struct addrinfo *found, uint32_t timeout_s,
                     atomic_bool *cancel, struct nettest_step_report *r)
{
	uint64_t end = mono_ms() + (uint64_t)timeout_s * 1000;
	int err = 0;
	char where[INET6_ADDRSTRLEN + 8] = "";
	size_t tried = 0;
	for (const struct addrinfo *ai = found; ai && tried < MAX_ADDRESSES; ai = ai->ai_next) {
		tried++;
		describe_address(ai, where, sizeof(where));
		err = connect_one(ai, end, cancel);
		if (err == 0)
			return verdict(r, true, "ok", "connected to %s port %s", where, t->port);
		if (err == ECANCELED)
			return verdict(r, false, "cancelled", "stopped");
		if (err == ETIMEDOUT)
			break;
	}
	const char *more = tried > 1 ? " (and the other addresses)" : "";
	switch (err) {
	case ECONNREFUSED:
		return verdict(r, false, "refused",
		               "%s port %s refused the connection (nothing listens there)%s", where,
		               t->port, more);
	case ETIMEDOUT:
		return verdict(r, false, "timeout", "no answer from %s port %s within %u s", where,
		               t->port, timeout_s);
	case ENETUNREACH:
	case EHOSTUNREACH:
	case EADDRNOTAVAIL:
		return verdict(r, false, "unreachable", "%s is not reachable from here: %s%s",
		               where, strerror(err), more);
	default:
		return verdict(r, false, "failed", "%s port %s: %s%s", where, t->port,
		               strerror(err), more);
	}
}

/* ---- tls and http --------------------------------------------------------- */

struct transfer {
	atomic_bool *cancel;
	char body[HEALTH_BODY_MAX];
	size_t body_len;
	bool body_too_big;
};

static int xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                    curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	struct transfer *x = arg;
	return cancelled(x->cancel) ? 1 : 0;
}

static size_t write_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct transfer *x = arg;
	size_t n = size * nmemb;
	if (n > sizeof(x->body) - x->body_len) {
		x->body_too_big = true;
		return 0;
	}
	memcpy(x->body + x->body_len, data, n);
	x->body_len += n;
	return n;
}

static bool contains_nocase(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (; *text; text++) {
		if (strncasecmp(text, word, n) == 0)
			return true;
	}
	return false;
}

/* The server ended the handshake with an alert about our certificate
 * (OpenSSL: "alert certificate required", "alert bad certificate",
 * "alert unknown ca", "alert certificate expired", ...). */
static bool client_cert_alert(const char *errbuf)
{
	return contains_nocase(errbuf, "alert") &&
	       (contains_nocase(errbuf, "certificate") || contains_nocase(errbuf, "unknown ca") ||
	        contains_nocase(errbuf, "access denied"));
}

/* A transfer that failed before an answer: which check, and why. */
static bool curl_failure(struct nettest_step_report *r, CURLcode rc, const char *errbuf,
                         const struct config_intake *cfg)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	switch (rc) {
	case CURLE_ABORTED_BY_CALLBACK:
		return verdict(r, false, "cancelled", "stopped");
	case CURLE_OPERATION_TIMEDOUT:
		return verdict(r, false, "timeout", "no answer within the time limit (%s)", detail);
	case CURLE_PEER_FAILED_VERIFICATION:
		if (contains_nocase(detail, "subject name") || contains_nocase(detail, "host name"))
			return verdict(r, false, "host_name",
			               "the server certificate is not for this host name");
		return verdict(r, false, "ca", "the server certificate is not signed by %s",
		               cfg->ca_file ? "ca_file" : "a trusted CA");
	case CURLE_SSL_CACERT_BADFILE:
		return verdict(r, false, "ca_file", "ca_file cannot be read or holds no CA");
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return verdict(r, false, "pin", "the server key does not match the configured pin");
	case CURLE_SSL_CERTPROBLEM:
		return verdict(r, false, "client_cert_file",
		               "client_cert or client_key cannot be used: %s", detail);
	case CURLE_SSL_CLIENTCERT:
		return verdict(r, false, "client_cert",
		               "the server refused this device's client certificate");
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return verdict(r, false, "connect", "no connection: %s", detail);
	case CURLE_OUT_OF_MEMORY:
	case CURLE_FAILED_INIT:
		return verdict(r, false, "local", "%s", detail);
	default:
		break;
	}
	if (client_cert_alert(detail))
		return verdict(r, false, "client_cert",
		               "the server refused this device's client certificate (%s)", detail);
	if (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SSL_CIPHER || rc == CURLE_USE_SSL_FAILED ||
	    rc == CURLE_SSL_ENGINE_INITFAILED)
		return verdict(r, false, "protocol", "TLS handshake failed: %s", detail);
	return verdict(r, false, "network", "the connection failed: %s", detail);
}

static CURL *new_handle(const struct config_intake *cfg, const char *url, struct transfer *x,
                        char *errbuf)
{
	CURL *h = curl_easy_init();
	if (!h)
		return NULL;
	errbuf[0] = '\0';
	if (!intake_set_transport(h, cfg, errbuf) ||
	    curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xferinfo) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK) {
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}

static bool step_tls(const struct config_intake *cfg, const struct target *t, atomic_bool *cancel,
                     struct nettest_step_report *r)
{
	struct transfer *x = calloc(1, sizeof(*x));
	char errbuf[CURL_ERROR_SIZE];
	CURL *h = x ? new_handle(cfg, t->base, x, errbuf) : NULL;
	bool ok;
	if (!h) {
		ok = verdict(r, false, "local", "cannot set up libcurl");
		goto out;
	}
	x->cancel = cancel;
	long limit_ms = (long)cfg->connect_timeout * 1000;
	if (curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, limit_ms) != CURLE_OK) {
		ok = verdict(r, false, "local", "cannot set up libcurl");
		goto out;
	}
	CURLcode rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		ok = curl_failure(r, rc, errbuf, cfg);
		goto out;
	}
	ok = verdict(r, true, "ok", "handshake done: server certificate verified%s%s",
	             cfg->pin ? ", pin matches" : "",
	             cfg->client_cert ? ", client certificate offered" : "");
out:
	if (h)
		curl_easy_cleanup(h);
	free(x);
	return ok;
}

/* 200 with a JSON object whose "status" is "ok" (PROTOCOL.md §9). */
static bool health_body_ok(const struct transfer *x)
{
	cJSON *root = cJSON_ParseWithLength(x->body, x->body_len);
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
	bool ok = cJSON_IsObject(root) && cJSON_IsString(status) &&
	          strcmp(status->valuestring, "ok") == 0;
	cJSON_Delete(root);
	return ok;
}

static bool step_http(const struct config_intake *cfg, const struct target *t, atomic_bool *cancel,
                      struct nettest_step_report *r)
{
	struct transfer *x = calloc(1, sizeof(*x));
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *headers = NULL, *h1 = NULL;
	CURL *h = x ? new_handle(cfg, t->base, x, errbuf) : NULL;
	bool ok;
	if (!h || !(h1 = curl_slist_append(NULL, "Accept: application/json"))) {
		ok = verdict(r, false, "local", "cannot set up libcurl");
		goto out;
	}
	headers = h1;
	x->cancel = cancel;
	long limit_ms = ((long)cfg->connect_timeout + NETTEST_HTTP_EXTRA_S) * 1000;
	if (curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, x) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, limit_ms) != CURLE_OK) {
		ok = verdict(r, false, "local", "cannot set up libcurl");
		goto out;
	}
	CURLcode rc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_WRITE_ERROR && x->body_too_big) {
		ok = verdict(r, false, "bad_answer",
		             "HTTP %ld with a body over %u bytes: not the intake's health answer",
		             status, HEALTH_BODY_MAX);
		goto out;
	}
	if (rc != CURLE_OK) {
		ok = curl_failure(r, rc, errbuf, cfg);
		goto out;
	}
	if (status == 200 && health_body_ok(x))
		ok = verdict(r, true, "ok", "HTTP 200 from /v1/health");
	else if (status == 200)
		ok = verdict(r, false, "bad_answer",
		             "HTTP 200, but not the intake's health answer (a proxy or portal?)");
	else if (status == 401 || status == 403)
		ok = verdict(r, false, "client_cert",
		             "the intake refused this device's client certificate (HTTP %ld)",
		             status);
	else if (status == 404)
		ok = verdict(r, false, "not_found",
		             "no /v1/health at this address (HTTP 404): check [intake] url");
	else if (status == 503)
		ok = verdict(r, false, "unavailable",
		             "the intake is down for maintenance or overloaded (HTTP 503)");
	else if (status >= 500 && status <= 599)
		ok = verdict(r, false, "server_error", "the intake failed (HTTP %ld)", status);
	else
		ok = verdict(r, false, "status", "unexpected answer: HTTP %ld", status);
out:
	if (h)
		curl_easy_cleanup(h);
	curl_slist_free_all(headers);
	free(x);
	return ok;
}

/* ---- the test ------------------------------------------------------------- */

void nettest_run(const struct config_intake *cfg, atomic_bool *cancel, nettest_step_fn on_step,
                 void *ctx, struct nettest_report *out)
{
	memset(out, 0, sizeof(*out));
	out->failed_step = NETTEST_STEP_LAST;
	uint64_t start = mono_ms();
	struct target *t = calloc(1, sizeof(*t));
	struct addrinfo *found = NULL;
	bool going = true;
	for (int s = 0; s < NETTEST_STEP_LAST; s++) {
		struct nettest_step_report *r = &out->steps[s];
		if (!going) {
			r->result = NETTEST_SKIPPED;
			r->code = "skipped";
			snprintf(r->reason, sizeof(r->reason), "not tried: %s failed",
			         nettest_step_name(out->failed_step));
		} else {
			uint64_t t0 = mono_ms();
			if (!t)
				going = verdict(r, false, "local", "out of memory");
			else if (s == NETTEST_DNS)
				going = parse_target(cfg, t, r) &&
				        step_dns(t, cfg->connect_timeout, cancel, &found, r);
			else if (s == NETTEST_TCP)
				going = step_tcp(t, found, cfg->connect_timeout, cancel, r);
			else if (s == NETTEST_TLS)
				going = step_tls(cfg, t, cancel, r);
			else
				going = step_http(cfg, t, cancel, r);
			uint64_t took = mono_ms() - t0;
			r->ms = took > UINT32_MAX ? UINT32_MAX : (uint32_t)took;
			if (!going)
				out->failed_step = (enum nettest_step)s;
		}
		if (on_step)
			on_step((enum nettest_step)s, r, ctx);
	}
	out->passed = going;
	uint64_t took = mono_ms() - start;
	out->ms = took > UINT32_MAX ? UINT32_MAX : (uint32_t)took;
	if (found)
		freeaddrinfo(found);
	free(t);
}
