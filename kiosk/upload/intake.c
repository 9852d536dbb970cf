/*
 * intake.c - POST {url}/v1/submissions with libcurl (see intake.h).
 */
#include "intake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "prefetch.h"
#include "retry.h"

#ifndef SCANKIOSK_VERSION
#define SCANKIOSK_VERSION "0"
#endif

#define URL_MAX          2048
#define RETRY_AFTER_KEEP 130 /* retry_after_parse() accepts up to 128 bytes */
/* The size-scaled part of the total time limit: 1 s per this many bytes. */
#define TIMEOUT_BYTES_PER_SECOND (100u * 1024)

struct intake_client {
	const struct config_intake *cfg;
	CURL *curl;
	char url[URL_MAX];
	char errbuf[CURL_ERROR_SIZE];
	char *body; /* the response body, at most INTAKE_RESPONSE_MAX bytes */
	size_t body_len;
	bool body_too_big;
	char retry_after[RETRY_AFTER_KEEP];
	bool retry_after_seen;
	bool fresh; /* the last attempt broke off: do not reuse its connection */
	struct prefetch *prefetch;
};

/* What the read callbacks of one request share. */
struct send_state {
	struct container_reader *reader;
	struct prefetch *prefetch; /* decrypts and checks the pages ahead of curl */
	const char *metadata;
	size_t metadata_len;
	size_t metadata_off;
	size_t page_count;
	size_t current;                /* the page the transfer is in */
	enum container_status failure; /* CONTAINER_OK unless reading failed */
	intake_progress_fn progress;
	void *progress_ctx;
	bool cancelled;
};

struct page_src {
	struct send_state *st;
	size_t index;
	uint64_t size;
	uint64_t off;
};

bool intake_url(const struct config_intake *cfg, const char *path, char *out, size_t size)
{
	if (!cfg->url || strncmp(cfg->url, "https://", 8) != 0 || size == 0)
		return false;
	size_t len = strlen(cfg->url);
	while (len > 8 && cfg->url[len - 1] == '/')
		len--;
	int n = snprintf(out, size, "%.*s%s", (int)len, cfg->url, path);
	if (n < 0 || (size_t)n >= size) {
		out[0] = '\0';
		return false;
	}
	return true;
}

struct intake_client *intake_client_create(const struct config_intake *cfg)
{
	struct intake_client *c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->cfg = cfg;
	if (!cfg->url || strncmp(cfg->url, "https://", 8) != 0) {
		log_error("intake url is not an https:// URL");
		goto fail;
	}
	if (!intake_url(cfg, "/v1/submissions", c->url, sizeof(c->url))) {
		log_error("intake url is too long");
		goto fail;
	}
	c->body = malloc(INTAKE_RESPONSE_MAX);
	c->curl = curl_easy_init();
	c->prefetch = prefetch_create();
	if (!c->body || !c->curl || !c->prefetch) {
		log_error("cannot set up libcurl (out of memory)");
		goto fail;
	}
	return c;
fail:
	intake_client_destroy(c);
	return NULL;
}

void intake_client_destroy(struct intake_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	prefetch_destroy(c->prefetch);
	free(c->body);
	free(c);
}

/* ---- request body --------------------------------------------------------- */

static size_t read_metadata(char *buf, size_t size, size_t nitems, void *arg)
{
	struct send_state *st = arg;
	size_t cap = size * nitems;
	size_t left = st->metadata_len - st->metadata_off;
	size_t n = left < cap ? left : cap;
	memcpy(buf, st->metadata + st->metadata_off, n);
	st->metadata_off += n;
	return n;
}

/* curl rewinds a multipart body part by part from the first: the metadata's
 * rewind starts the pages over from the first, decrypted ahead again. */
static int seek_metadata(void *arg, curl_off_t offset, int origin)
{
	struct send_state *st = arg;
	if (origin != SEEK_SET || offset != 0)
		return CURL_SEEKFUNC_CANTSEEK;
	st->metadata_off = 0;
	st->current = 0;
	if (!prefetch_start(st->prefetch, st->reader)) {
		st->failure = prefetch_failure(st->prefetch);
		return CURL_SEEKFUNC_FAIL;
	}
	return CURL_SEEKFUNC_OK;
}

static int seek_page(void *arg, curl_off_t offset, int origin)
{
	struct page_src *p = arg;
	if (origin != SEEK_SET || offset != 0)
		return CURL_SEEKFUNC_CANTSEEK;
	p->off = 0;
	return CURL_SEEKFUNC_OK;
}

static size_t read_page(char *buf, size_t size, size_t nitems, void *arg)
{
	struct page_src *p = arg;
	struct send_state *st = p->st;
	if (st->failure != CONTAINER_OK)
		return CURL_READFUNC_ABORT;
	if (p->off >= p->size)
		return 0;
	if (st->current != p->index) {
		/* Parts read out of order: never expected from curl. */
		log_error("page part %zu read while the transfer is at page %zu", p->index + 1,
		          st->current + 1);
		st->failure = CONTAINER_INVALID;
		return CURL_READFUNC_ABORT;
	}
	size_t cap = size * nitems;
	uint64_t left = p->size - p->off;
	if (left < cap)
		cap = (size_t)left;
	size_t got = 0, page = 0;
	enum prefetch_status ps = prefetch_read(st->prefetch, buf, cap, &got, &page);
	if (ps == PREFETCH_FAILED) {
		st->failure = prefetch_failure(st->prefetch);
		return CURL_READFUNC_ABORT;
	}
	if (ps != PREFETCH_DATA || page != p->index) {
		/* Cannot happen: the prefetch checks every page's length. */
		st->failure = CONTAINER_TRUNCATED;
		return CURL_READFUNC_ABORT;
	}
	p->off += got;
	if (p->off == p->size)
		st->current = p->index + 1;
	return got;
}

/* ---- response ------------------------------------------------------------- */

static size_t write_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct intake_client *c = arg;
	size_t n = size * nmemb;
	if (n > INTAKE_RESPONSE_MAX - c->body_len) {
		c->body_too_big = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	memcpy(c->body + c->body_len, data, n);
	c->body_len += n;
	return n;
}

static size_t write_header(char *data, size_t size, size_t nitems, void *arg)
{
	struct intake_client *c = arg;
	size_t n = size * nitems;
	static const char name[] = "retry-after:";
	/* A new status line (after "100 Continue") starts a new header block. */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		c->retry_after_seen = false;
		c->retry_after[0] = '\0';
		return n;
	}
	if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		size_t vlen = n - (sizeof(name) - 1);
		const char *v = data + sizeof(name) - 1;
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
			vlen--;
		if (vlen >= sizeof(c->retry_after))
			vlen = sizeof(c->retry_after) - 1; /* too long: fails to parse */
		memcpy(c->retry_after, v, vlen);
		c->retry_after[vlen] = '\0';
		c->retry_after_seen = true;
	}
	return n;
}

static int xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                    curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	struct send_state *st = arg;
	if (st->progress && !st->progress(st->progress_ctx)) {
		st->cancelled = true;
		return 1;
	}
	return 0;
}

/* ---- the request ---------------------------------------------------------- */

static bool setopt_failed(CURLcode rc, const char *what)
{
	if (rc == CURLE_OK)
		return false;
	log_error("curl option %s: %s", what, curl_easy_strerror(rc));
	return true;
}

#define SETOPT(c, opt, val) setopt_failed(curl_easy_setopt((c), (opt), (val)), #opt)

static bool set_options(struct intake_client *c, struct send_state *st, curl_mime *mime,
                        struct curl_slist *headers, uint64_t file_bytes)
{
	const struct config_intake *cfg = c->cfg;
	CURL *h = c->curl;
	long timeout = (long)cfg->max_time_base + (long)(file_bytes / TIMEOUT_BYTES_PER_SECOND);

	curl_easy_reset(h);
	if (!intake_set_transport(h, cfg, c->errbuf) || SETOPT(h, CURLOPT_URL, c->url) ||
	    SETOPT(h, CURLOPT_LOW_SPEED_LIMIT, (long)cfg->min_speed) ||
	    SETOPT(h, CURLOPT_LOW_SPEED_TIME, (long)cfg->low_speed_time) ||
	    SETOPT(h, CURLOPT_TIMEOUT, timeout) || SETOPT(h, CURLOPT_TCP_KEEPALIVE, 1L) ||
	    SETOPT(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024) ||
	    SETOPT(h, CURLOPT_HTTPHEADER, headers) || SETOPT(h, CURLOPT_MIMEPOST, mime) ||
	    SETOPT(h, CURLOPT_WRITEFUNCTION, write_body) || SETOPT(h, CURLOPT_WRITEDATA, c) ||
	    SETOPT(h, CURLOPT_HEADERFUNCTION, write_header) || SETOPT(h, CURLOPT_HEADERDATA, c) ||
	    SETOPT(h, CURLOPT_XFERINFOFUNCTION, xferinfo) || SETOPT(h, CURLOPT_XFERINFODATA, st) ||
	    SETOPT(h, CURLOPT_NOPROGRESS, 0L))
		return false;
	return true;
}

bool intake_set_transport(CURL *h, const struct config_intake *cfg, char *errbuf)
{
	if (SETOPT(h, CURLOPT_PROTOCOLS_STR, "https") ||
	    SETOPT(h, CURLOPT_REDIR_PROTOCOLS_STR, "https") ||
	    SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L) || SETOPT(h, CURLOPT_NOSIGNAL, 1L) ||
	    SETOPT(h, CURLOPT_ERRORBUFFER, errbuf) ||
	    SETOPT(h, CURLOPT_USERAGENT, "scankiosk-uploader/" SCANKIOSK_VERSION) ||
	    /* HTTP/1.1 keeps "Expect: 100-continue" and early error answers simple. */
	    SETOPT(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) ||
	    SETOPT(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) ||
	    SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L) || SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L) ||
	    SETOPT(h, CURLOPT_CONNECTTIMEOUT, (long)cfg->connect_timeout))
		return false;
	if (cfg->ca_file) {
		/* Only this CA: not the system store next to it. */
		if (SETOPT(h, CURLOPT_CAINFO, cfg->ca_file) ||
		    SETOPT(h, CURLOPT_CAPATH, (char *)NULL))
			return false;
	}
	if (cfg->pin && SETOPT(h, CURLOPT_PINNEDPUBLICKEY, cfg->pin))
		return false;
	if (cfg->client_cert &&
	    (SETOPT(h, CURLOPT_SSLCERT, cfg->client_cert) || SETOPT(h, CURLOPT_SSLCERTTYPE, "PEM")))
		return false;
	if (cfg->client_key &&
	    (SETOPT(h, CURLOPT_SSLKEY, cfg->client_key) || SETOPT(h, CURLOPT_SSLKEYTYPE, "PEM")))
		return false;
	return true;
}

static bool add_part(curl_mime *mime, const char *name, const char *filename, const char *type,
                     curl_off_t size, curl_read_callback read, curl_seek_callback seek, void *arg)
{
	curl_mimepart *part = curl_mime_addpart(mime);
	if (!part)
		return false;
	if (curl_mime_name(part, name) != CURLE_OK || curl_mime_type(part, type) != CURLE_OK)
		return false;
	if (filename && curl_mime_filename(part, filename) != CURLE_OK)
		return false;
	return curl_mime_data_cb(part, size, read, seek, NULL, arg) == CURLE_OK;
}

static void describe(struct intake_result *res, const char *errbuf)
{
	if (errbuf[0])
		snprintf(res->detail, sizeof(res->detail), "%s", errbuf);
	else if (res->curl_code != CURLE_OK)
		snprintf(res->detail, sizeof(res->detail), "%s",
		         curl_easy_strerror(res->curl_code));
	/* One line in the log, whatever the library wrote. */
	for (char *p = res->detail; *p; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = ' ';
	}
}

static void classify(struct intake_client *c, struct send_state *st, const char *id,
                     struct intake_result *res)
{
	if (st->cancelled) {
		res->outcome = UPLOAD_CANCELLED;
		snprintf(res->detail, sizeof(res->detail), "stopped");
		return;
	}
	if (st->failure != CONTAINER_OK) {
		res->outcome = upload_classify_container(st->failure);
		snprintf(res->detail, sizeof(res->detail), "reading the container: %s",
		         container_strerror(st->failure));
		return;
	}
	if (c->body_too_big) {
		res->outcome = UPLOAD_PROTOCOL;
		snprintf(res->detail, sizeof(res->detail), "response body over %u bytes",
		         INTAKE_RESPONSE_MAX);
		return;
	}
	if (res->curl_code != CURLE_OK) {
		res->http_status = 0;
		res->outcome = upload_classify_curl(res->curl_code);
		describe(res, c->errbuf);
		return;
	}

	struct intake_response parsed;
	enum intake_parse pr = intake_response_parse(c->body, c->body_len, &parsed);
	memcpy(res->error, parsed.error, sizeof(res->error));
	/* PROTOCOL.md §6: delivered needs the receipt and our own key back. */
	bool same_key = strcmp(parsed.submission_id, id) == 0;
	bool receipt_ok = pr == INTAKE_PARSE_OK && same_key;
	if (receipt_ok)
		memcpy(res->receipt, parsed.receipt, sizeof(res->receipt));
	res->outcome = upload_classify_http(res->http_status, receipt_ok);
	if ((res->http_status == 200 || res->http_status == 201) && !receipt_ok)
		snprintf(res->detail, sizeof(res->detail), "HTTP %ld without a usable receipt: %s",
		         res->http_status,
		         pr == INTAKE_PARSE_OK ? "submission_id differs" : intake_parse_name(pr));
	else
		snprintf(res->detail, sizeof(res->detail), "HTTP %ld%s%s", res->http_status,
		         res->error[0] ? " " : "", res->error);
}

enum upload_outcome intake_send(struct intake_client *c, const char *id, struct container_reader *r,
                                intake_progress_fn progress, void *ctx, struct intake_result *res)
{
	memset(res, 0, sizeof(*res));
	res->outcome = UPLOAD_LOCAL;
	snprintf(res->detail, sizeof(res->detail), "cannot build the request");

	struct send_state st = {
	        .reader = r,
	        .progress = progress,
	        .progress_ctx = ctx,
	        .failure = CONTAINER_OK,
	        .prefetch = c->prefetch,
	};
	struct page_src *pages = NULL;
	curl_mime *mime = NULL;
	struct curl_slist *headers = NULL;

	st.metadata = container_reader_metadata(r, &st.metadata_len);
	st.page_count = container_reader_page_count(r);
	if (!st.metadata)
		goto out;
	pages = calloc(st.page_count ? st.page_count : 1, sizeof(*pages));
	mime = curl_mime_init(c->curl);
	if (!pages || !mime)
		goto out;
	if (!add_part(mime, "metadata", NULL, "application/json", (curl_off_t)st.metadata_len,
	              read_metadata, seek_metadata, &st))
		goto out;
	for (size_t i = 0; i < st.page_count; i++) {
		const struct container_page_info *info = container_reader_page(r, i);
		if (!info || info->bytes == 0) {
			/* curl never reads an empty part, so the page order check
			 * and the final tag check would be skipped: refuse it. */
			st.failure = CONTAINER_BAD_METADATA;
			classify(c, &st, id, res);
			goto out;
		}
		char name[32], filename[40];
		snprintf(name, sizeof(name), "page-%03zu", i + 1);
		snprintf(filename, sizeof(filename), "page-%03zu.jpg", i + 1);
		pages[i] = (struct page_src){.st = &st, .index = i, .size = info->bytes};
		if (!add_part(mime, name, filename, "image/jpeg", (curl_off_t)info->bytes,
		              read_page, seek_page, &pages[i]))
			goto out;
	}
	char key[64];
	snprintf(key, sizeof(key), "Idempotency-Key: %s", id);
	struct curl_slist *h1 = curl_slist_append(headers, key);
	if (!h1)
		goto out;
	headers = h1;
	h1 = curl_slist_append(headers, "Accept: application/json");
	if (!h1)
		goto out;
	headers = h1;

	c->body_len = 0;
	c->body_too_big = false;
	c->retry_after[0] = '\0';
	c->retry_after_seen = false;
	c->errbuf[0] = '\0';
	const struct container_header *hdr = container_reader_header(r);
	if (!set_options(c, &st, mime, headers, hdr ? hdr->file_bytes : 0))
		goto out;
	/* Start from the first page, wherever an earlier attempt left the reader:
	 * the pages are decrypted ahead while the connection is set up. */
	if (seek_metadata(&st, 0, SEEK_SET) != CURL_SEEKFUNC_OK) {
		classify(c, &st, id, res);
		goto out;
	}
	/* PROTOCOL.md §6: a fresh connection after a network or protocol error. */
	if (c->fresh && SETOPT(c->curl, CURLOPT_FRESH_CONNECT, 1L))
		goto out;

	res->curl_code = curl_easy_perform(c->curl);
	curl_off_t sent = 0;
	if (curl_easy_getinfo(c->curl, CURLINFO_SIZE_UPLOAD_T, &sent) == CURLE_OK && sent > 0)
		res->bytes_sent = (uint64_t)sent;
	long status = 0;
	if (curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
		res->http_status = status;
	/* Retry-After means something on a retryable answer only. */
	bool retryable = res->http_status == 408 || res->http_status == 409 ||
	                 res->http_status == 429 ||
	                 (res->http_status >= 500 && res->http_status <= 599);
	if (res->curl_code == CURLE_OK && retryable && c->retry_after_seen) {
		uint32_t s = 0;
		if (retry_after_parse(c->retry_after, strlen(c->retry_after), (int64_t)time(NULL),
		                      c->cfg->retry_after_cap, &s)) {
			res->has_retry_after = true;
			res->retry_after = s;
		}
	}
	classify(c, &st, id, res);
	c->fresh = res->curl_code != CURLE_OK || res->outcome == UPLOAD_PROTOCOL;
out:
	/* The reader is the caller's again, and no page bytes stay behind. */
	prefetch_stop(c->prefetch);
	/* The handle must not keep pointers to what is freed here. */
	curl_easy_setopt(c->curl, CURLOPT_MIMEPOST, (curl_mime *)NULL);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
	curl_mime_free(mime);
	curl_slist_free_all(headers);
	free(pages);
	return res->outcome;
}
