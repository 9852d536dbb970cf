/*
 * container.c - the submission container (format: CONTAINER.md).
 *
 * Writing: the metadata JSON is printed into one zeroed-on-free buffer, then the
 * clear header, then the body as secretstream chunks of at most CHUNK_PLAIN
 * bytes, each framed by its ciphertext length. Pages are encrypted straight
 * from the caller's buffers. Reading: the header is checked without keys; the
 * reader unseals the stream key, decrypts and validates the metadata, then
 * hands out page bytes chunk by chunk. Every length taken from the file is
 * bounded before it is used.
 */
#include "container.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "log.h"
#include "secmem.h"

#define MAGIC       "\x89SKSUB\r\n"
#define MAGIC_BYTES 8

/* Header layout, version 1 (all integers little-endian). */
#define OFF_VERSION      8
#define OFF_HEADER_BYTES 10
#define OFF_PAGE_COUNT   12
#define OFF_ID           16
#define OFF_CREATED      32
#define OFF_PLAIN        40
#define OFF_FILE         48
#define OFF_RESERVED     56
#define OFF_SEALED_KEY   60
#define SEALED_KEY_BYTES (crypto_box_SEALBYTES + crypto_secretstream_xchacha20poly1305_KEYBYTES)
#define OFF_SS_HEADER    (OFF_SEALED_KEY + SEALED_KEY_BYTES)
#define HEADER_BYTES     (OFF_SS_HEADER + crypto_secretstream_xchacha20poly1305_HEADERBYTES)

#define CHUNK_PLAIN  (64u * 1024)
#define ABYTES       crypto_secretstream_xchacha20poly1305_ABYTES
#define FRAME_BYTES  4u
#define CHUNK_CIPHER (CHUNK_PLAIN + ABYTES)
#define CHUNK_COST   (FRAME_BYTES + ABYTES) /* per chunk on top of its plaintext */

#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_PUSH    crypto_secretstream_xchacha20poly1305_TAG_PUSH
#define TAG_FINAL   crypto_secretstream_xchacha20poly1305_TAG_FINAL

#define CREATED_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define ISO_BYTES   21                    /* "YYYY-MM-DDTHH:MM:SSZ" with NUL */

_Static_assert(HEADER_BYTES == 164, "the v1 header is 164 bytes (CONTAINER.md)");
_Static_assert(SEALED_KEY_BYTES == 80, "sealed key size");
_Static_assert(ABYTES == 17, "secretstream tag size");

static const char *const status_names[CONTAINER_STATUS_LAST] = {
        [CONTAINER_OK] = "ok",
        [CONTAINER_IO] = "I/O error",
        [CONTAINER_NO_SPACE] = "no space left on device",
        [CONTAINER_NOMEM] = "out of memory",
        [CONTAINER_NOT_CONTAINER] = "not a submission container",
        [CONTAINER_BAD_VERSION] = "unknown container format version",
        [CONTAINER_TRUNCATED] = "container is truncated",
        [CONTAINER_TAMPERED] = "container failed authentication",
        [CONTAINER_BAD_METADATA] = "container metadata is invalid",
        [CONTAINER_INVALID] = "invalid argument",
};

const char *container_strerror(enum container_status status)
{
	if ((unsigned)status >= CONTAINER_STATUS_LAST)
		return "unknown container status";
	return status_names[status];
}

/* ---- small helpers ------------------------------------------------------- */

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void init_sodium(void)
{
	/* Fails only without a usable random source: nothing here could be safe. */
	if (sodium_init() < 0) {
		log_error("container: libsodium failed to initialise");
		abort();
	}
}

static void ensure_sodium(void)
{
	pthread_once(&sodium_once, init_sodium);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void to_hex(const uint8_t *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* A submission id: exactly 32 lower-case hex digits. */
static bool id_valid(const char *id)
{
	if (!id)
		return false;
	for (size_t i = 0; i < CONTAINER_ID_HEX - 1; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return id[CONTAINER_ID_HEX - 1] == '\0';
}

static bool iso_time(int64_t t, char out[ISO_BYTES])
{
	if (t < 0 || t > CREATED_MAX)
		return false;
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm))
		return false;
	return strftime(out, ISO_BYTES, "%Y-%m-%dT%H:%M:%SZ", &tm) == ISO_BYTES - 1;
}

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p++;
		int more;
		uint32_t cp, min;
		if (c < 0x80)
			continue;
		else if ((c & 0xe0) == 0xc0)
			more = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			more = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			more = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		for (; more; more--, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*p & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

static enum container_status errno_status(int err)
{
	if (err == ENOSPC || err == EDQUOT)
		return CONTAINER_NO_SPACE;
	if (err == ENOMEM)
		return CONTAINER_NOMEM;
	return CONTAINER_IO;
}

/* Writes all of buf (fdio.h). errno is kept on failure. */
static enum container_status write_all(int fd, const void *buf, size_t len)
{
	return fdio_write_all(fd, buf, len) == 0 ? CONTAINER_OK : errno_status(errno);
}

/* Reads up to len bytes at off; *got < len only at the end of the file. */
static enum container_status pread_all(int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
	uint8_t *p = buf;
	*got = 0;
	while (*got < len) {
		if (off > (uint64_t)INT64_MAX - len)
			return CONTAINER_TAMPERED;
		ssize_t n = pread(fd, p + *got, len - *got, (off_t)(off + *got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno_status(errno);
		}
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return CONTAINER_OK;
}

static uint64_t chunks_for(uint64_t bytes)
{
	return bytes == 0 ? 1 : (bytes + CHUNK_PLAIN - 1) / CHUNK_PLAIN;
}

/* ---- ids and references -------------------------------------------------- */

void container_new_id(char id[CONTAINER_ID_HEX])
{
	ensure_sodium();
	uint8_t raw[CONTAINER_ID_BYTES];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	/* Two commits in one millisecond would sort by their random bytes: each
	 * id of this process takes a later millisecond than the one before, so
	 * ids sort in commit order (and the uploader sends in that order). */
	static atomic_uint_fast64_t last_ms;
	uint64_t prev = atomic_load(&last_ms);
	do {
		if (ms <= prev)
			ms = prev + 1;
	} while (!atomic_compare_exchange_weak(&last_ms, &prev, ms));
	for (int i = 0; i < 6; i++)
		raw[i] = (uint8_t)(ms >> (8 * (5 - i)));
	randombytes_buf(raw + 6, sizeof(raw) - 6);
	to_hex(raw, sizeof(raw), id);
}

void container_reference(const char *id, char out[CONTAINER_REFERENCE_LEN])
{
	static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	uint8_t digest[crypto_hash_sha256_BYTES];
	const char *s = id ? id : "";
	crypto_hash_sha256(digest, (const unsigned char *)s, strlen(s));
	/* The first 60 bits, big-endian, five at a time. */
	uint64_t bits = 0;
	for (int i = 0; i < 8; i++)
		bits = (bits << 8) | digest[i];
	size_t o = 0;
	for (int i = 0; i < 12; i++) {
		if (i == 4 || i == 8)
			out[o++] = '-';
		out[o++] = crockford[(bits >> (59 - 5 * i)) & 31];
	}
	out[o] = '\0';
}

/* ---- the metadata document ----------------------------------------------- */

static bool add(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return false;
	if (!cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		return false;
	}
	return true;
}

/* Builds the metadata tree. Personal strings are referenced, never copied, so
 * cJSON's own allocations hold no personal data. */
static cJSON *metadata_tree(const char *id, const char *reference, const char *created,
                            const struct container_submission *sub)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	cJSON *pages = NULL;
	bool ok = add(root, "version", cJSON_CreateNumber(CONTAINER_VERSION)) &&
	          add(root, "submission_id", cJSON_CreateStringReference(id)) &&
	          add(root, "receipt", cJSON_CreateStringReference(reference)) &&
	          add(root, "created", cJSON_CreateStringReference(created)) &&
	          add(root, "case_number", cJSON_CreateStringReference(sub->case_number)) &&
	          add(root, "name", cJSON_CreateStringReference(sub->name)) &&
	          add(root, "birth_date", cJSON_CreateStringReference(sub->birth_date)) &&
	          add(root, "category", cJSON_CreateStringReference(sub->category)) &&
	          add(root, "language", cJSON_CreateStringReference(sub->language)) &&
	          add(root, "pages", pages = cJSON_CreateArray());
	for (size_t i = 0; ok && i < sub->page_count; i++) {
		const struct container_page *pg = &sub->pages[i];
		char part[32], hex[SHA256_HEX_BYTES];
		snprintf(part, sizeof(part), "page-%03zu", i + 1);
		sha256_hex(pg->sha256, hex);
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(pages, o)) {
			cJSON_Delete(o);
			ok = false;
			break;
		}
		/* o belongs to the tree now: deleting root frees it. */
		ok = add(o, "part", cJSON_CreateString(part)) &&
		     add(o, "bytes", cJSON_CreateNumber((double)pg->bytes)) &&
		     add(o, "sha256", cJSON_CreateString(hex)) &&
		     add(o, "width", cJSON_CreateNumber(pg->width)) &&
		     add(o, "height", cJSON_CreateNumber(pg->height)) &&
		     add(o, "dpi", cJSON_CreateNumber(pg->dpi)) &&
		     add(o, "color", cJSON_CreateBool(pg->color)) &&
		     add(o, "blank_score", cJSON_CreateNumber(pg->blank_score));
	}
	if (!ok) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/* Prints the metadata into a buffer of ours (zeroed when freed). */
static enum container_status metadata_print(const char *id, int64_t created_time,
                                            const struct container_submission *sub, char **out,
                                            size_t *out_cap, size_t *out_len)
{
	char reference[CONTAINER_REFERENCE_LEN], created[ISO_BYTES];
	container_reference(id, reference);
	if (!iso_time(created_time, created))
		return CONTAINER_INVALID;
	cJSON *root = metadata_tree(id, reference, created, sub);
	if (!root)
		return CONTAINER_NOMEM;

	enum container_status st = CONTAINER_INVALID;
	size_t cap = 4096 + sub->page_count * 256;
	const char *strs[] = {sub->case_number, sub->name, sub->birth_date, sub->category,
	                      sub->language};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		cap += strlen(strs[i]) * 6; /* \u00XX for every control byte at worst */
	if (cap > CONTAINER_MAX_METADATA + 64)
		cap = CONTAINER_MAX_METADATA + 64;
	char *buf = NULL;
	for (;;) {
		buf = malloc(cap);
		if (!buf) {
			st = CONTAINER_NOMEM;
			break;
		}
		if (cJSON_PrintPreallocated(root, buf, (int)cap, false)) {
			size_t len = strlen(buf);
			if (len > CONTAINER_MAX_METADATA) {
				log_error("container: metadata of %zu bytes exceeds the bound",
				          len);
				break;
			}
			*out = buf;
			*out_cap = cap;
			*out_len = len;
			buf = NULL;
			st = CONTAINER_OK;
			break;
		}
		secmem_free(buf, cap);
		buf = NULL;
		if (cap >= CONTAINER_MAX_METADATA + 64) {
			log_error("container: metadata exceeds %u bytes", CONTAINER_MAX_METADATA);
			break;
		}
		cap = cap * 2 > CONTAINER_MAX_METADATA + 64 ? CONTAINER_MAX_METADATA + 64 : cap * 2;
	}
	secmem_free(buf, cap);
	cJSON_Delete(root);
	return st;
}

/* ---- writing ------------------------------------------------------------- */

static enum container_status check_submission(const struct container_submission *sub)
{
	if (!sub || !sub->case_number || !sub->name || !sub->birth_date || !sub->category ||
	    !sub->language)
		return CONTAINER_INVALID;
	const char *strs[] = {sub->case_number, sub->name, sub->birth_date, sub->category,
	                      sub->language};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (strlen(strs[i]) > CONTAINER_MAX_METADATA / 8 || !utf8_valid(strs[i])) {
			log_error("container: field %zu of the submission is not short UTF-8", i);
			return CONTAINER_INVALID;
		}
	}
	if (sub->page_count > CONTAINER_MAX_PAGES || (sub->page_count && !sub->pages)) {
		log_error("container: %zu pages, at most %u", sub->page_count, CONTAINER_MAX_PAGES);
		return CONTAINER_INVALID;
	}
	for (size_t i = 0; i < sub->page_count; i++) {
		const struct container_page *pg = &sub->pages[i];
		if (!pg->jpeg || pg->bytes == 0 || pg->bytes > CONTAINER_MAX_PAGE_SIZE ||
		    !isfinite(pg->blank_score)) {
			log_error("container: page %zu is empty, too large or has no finite "
			          "blank score",
			          i + 1);
			return CONTAINER_INVALID;
		}
	}
	return CONTAINER_OK;
}

/* Encrypts one segment (the metadata or a page) as chunks, the last tagged
 * PUSH. ad is given for the very first chunk of the body only. */
static enum container_status push_segment(int fd, crypto_secretstream_xchacha20poly1305_state *ss,
                                          uint8_t *cbuf, const uint8_t *data, size_t len,
                                          const uint8_t *ad, size_t adlen, struct sha256 *hash,
                                          uint64_t *written)
{
	size_t pos = 0;
	do {
		size_t n = len - pos < CHUNK_PLAIN ? len - pos : CHUNK_PLAIN;
		bool last = pos + n == len;
		unsigned long long clen = 0;
		if (crypto_secretstream_xchacha20poly1305_push(ss, cbuf + FRAME_BYTES, &clen,
		                                               data + pos, n, ad, adlen,
		                                               last ? TAG_PUSH : TAG_MESSAGE) != 0)
			return CONTAINER_INVALID;
		if (hash && !sha256_update(hash, data + pos, n))
			return CONTAINER_NOMEM;
		ad = NULL;
		adlen = 0;
		put32(cbuf, (uint32_t)clen);
		enum container_status st = write_all(fd, cbuf, FRAME_BYTES + (size_t)clen);
		if (st != CONTAINER_OK)
			return st;
		*written += FRAME_BYTES + clen;
		pos += n;
	} while (pos < len);
	return CONTAINER_OK;
}

enum container_status container_write(int fd, const char *id, int64_t created,
                                      const uint8_t public_key[CONTAINER_KEY_BYTES],
                                      const struct container_submission *sub)
{
	if (fd < 0 || !id_valid(id) || !public_key || created < 0 || created > CREATED_MAX)
		return CONTAINER_INVALID;
	enum container_status st = check_submission(sub);
	if (st != CONTAINER_OK)
		return st;
	ensure_sodium();

	char *meta = NULL;
	size_t meta_cap = 0, meta_len = 0;
	uint8_t *cbuf = NULL;
	struct sha256 *hash = NULL;
	uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	crypto_secretstream_xchacha20poly1305_state ss;
	uint8_t header[HEADER_BYTES];

	st = metadata_print(id, created, sub, &meta, &meta_cap, &meta_len);
	if (st != CONTAINER_OK)
		goto out;
	st = CONTAINER_NOMEM;
	cbuf = malloc(FRAME_BYTES + CHUNK_CIPHER);
	hash = sha256_create();
	if (!cbuf || !hash)
		goto out;

	uint64_t plain = meta_len, file = HEADER_BYTES + chunks_for(meta_len) * CHUNK_COST;
	for (size_t i = 0; i < sub->page_count; i++) {
		plain += sub->pages[i].bytes;
		file += chunks_for(sub->pages[i].bytes) * CHUNK_COST;
	}
	file += plain + CHUNK_COST; /* the final chunk is empty */

	memset(header, 0, sizeof(header));
	memcpy(header, MAGIC, MAGIC_BYTES);
	put16(header + OFF_VERSION, CONTAINER_VERSION);
	put16(header + OFF_HEADER_BYTES, HEADER_BYTES);
	put32(header + OFF_PAGE_COUNT, (uint32_t)sub->page_count);
	for (size_t i = 0; i < CONTAINER_ID_BYTES; i++)
		header[OFF_ID + i] =
		        (uint8_t)(hex_value(id[2 * i]) << 4 | hex_value(id[2 * i + 1]));
	put64(header + OFF_CREATED, (uint64_t)created);
	put64(header + OFF_PLAIN, plain);
	put64(header + OFF_FILE, file);
	put32(header + OFF_RESERVED, 0);

	crypto_secretstream_xchacha20poly1305_keygen(key);
	st = CONTAINER_INVALID;
	if (crypto_box_seal(header + OFF_SEALED_KEY, key, sizeof(key), public_key) != 0)
		goto out;
	if (crypto_secretstream_xchacha20poly1305_init_push(&ss, header + OFF_SS_HEADER, key) != 0)
		goto out;
	sodium_memzero(key, sizeof(key));

	uint64_t written = HEADER_BYTES;
	st = write_all(fd, header, sizeof(header));
	if (st != CONTAINER_OK)
		goto out;
	/* The whole clear header is the first chunk's additional data. */
	st = push_segment(fd, &ss, cbuf, (const uint8_t *)meta, meta_len, header, sizeof(header),
	                  NULL, &written);
	for (size_t i = 0; st == CONTAINER_OK && i < sub->page_count; i++) {
		const struct container_page *pg = &sub->pages[i];
		uint8_t digest[SHA256_BYTES];
		st = push_segment(fd, &ss, cbuf, pg->jpeg, pg->bytes, NULL, 0, hash, &written);
		if (st != CONTAINER_OK)
			break;
		if (!sha256_final(hash, digest)) {
			st = CONTAINER_NOMEM;
			break;
		}
		/* The metadata promises this digest; the intake would refuse a lie. */
		if (sodium_memcmp(digest, pg->sha256, SHA256_BYTES) != 0) {
			log_error("container: page %zu: its sha256 does not match its bytes",
			          i + 1);
			st = CONTAINER_INVALID;
		}
	}
	if (st != CONTAINER_OK)
		goto out;
	unsigned long long clen = 0;
	if (crypto_secretstream_xchacha20poly1305_push(&ss, cbuf + FRAME_BYTES, &clen, NULL, 0,
	                                               NULL, 0, TAG_FINAL) != 0) {
		st = CONTAINER_INVALID;
		goto out;
	}
	put32(cbuf, (uint32_t)clen);
	st = write_all(fd, cbuf, FRAME_BYTES + (size_t)clen);
	if (st != CONTAINER_OK)
		goto out;
	written += FRAME_BYTES + clen;
	if (written != file) {
		log_error("container: wrote %llu bytes, header says %llu",
		          (unsigned long long)written, (unsigned long long)file);
		st = CONTAINER_IO;
		errno = EIO;
	}
out:;
	int saved = errno;
	sodium_memzero(key, sizeof(key));
	sodium_memzero(&ss, sizeof(ss));
	secmem_free(meta, meta_cap);
	free(cbuf);
	sha256_destroy(hash);
	errno = saved;
	return st;
}

/* ---- the clear header ----------------------------------------------------- */

static enum container_status parse_header(int fd, struct container_header *out,
                                          uint8_t raw[HEADER_BYTES])
{
	size_t got = 0;
	enum container_status st = pread_all(fd, raw, HEADER_BYTES, 0, &got);
	if (st != CONTAINER_OK)
		return st;
	size_t cmp = got < MAGIC_BYTES ? got : MAGIC_BYTES;
	if (memcmp(raw, MAGIC, cmp) != 0)
		return CONTAINER_NOT_CONTAINER;
	if (got < OFF_VERSION + 2)
		return CONTAINER_TRUNCATED;
	uint16_t version = get16(raw + OFF_VERSION);
	if (version != CONTAINER_VERSION)
		return CONTAINER_BAD_VERSION;
	if (got < HEADER_BYTES)
		return CONTAINER_TRUNCATED;

	uint32_t pages = get32(raw + OFF_PAGE_COUNT);
	int64_t created = (int64_t)get64(raw + OFF_CREATED);
	uint64_t plain = get64(raw + OFF_PLAIN), file = get64(raw + OFF_FILE);
	if (get16(raw + OFF_HEADER_BYTES) != HEADER_BYTES || get32(raw + OFF_RESERVED) != 0 ||
	    pages > CONTAINER_MAX_PAGES || created < 0 || created > CREATED_MAX)
		return CONTAINER_TAMPERED;
	uint64_t plain_max = CONTAINER_MAX_METADATA + (uint64_t)pages * CONTAINER_MAX_PAGE_SIZE;
	/* Each segment has at least one chunk, at most one more than full chunks. */
	uint64_t file_min = HEADER_BYTES + plain + ((uint64_t)pages + 2) * CHUNK_COST;
	uint64_t file_max = file_min + (plain / CHUNK_PLAIN) * CHUNK_COST;
	if (plain > plain_max || file < file_min || file > file_max)
		return CONTAINER_TAMPERED;

	struct stat sb;
	if (fstat(fd, &sb) != 0)
		return CONTAINER_IO;
	if ((uint64_t)sb.st_size < file)
		return CONTAINER_TRUNCATED;
	if ((uint64_t)sb.st_size > file)
		return CONTAINER_TAMPERED;

	memset(out, 0, sizeof(*out));
	out->version = version;
	to_hex(raw + OFF_ID, CONTAINER_ID_BYTES, out->id);
	out->created = created;
	out->page_count = pages;
	out->plain_bytes = plain;
	out->file_bytes = file;
	return CONTAINER_OK;
}

enum container_status container_read_header(int fd, struct container_header *out)
{
	if (fd < 0 || !out)
		return CONTAINER_INVALID;
	uint8_t raw[HEADER_BYTES];
	return parse_header(fd, out, raw);
}

/* ---- reading --------------------------------------------------------------- */

struct container_reader {
	int fd;
	struct container_header header;
	crypto_secretstream_xchacha20poly1305_state ss;
	crypto_secretstream_xchacha20poly1305_state ss_pages; /* after the metadata */
	uint64_t off, off_pages;
	char *meta;
	size_t meta_len, meta_cap;
	struct container_page_info *pages;
	size_t page_count;
	uint8_t *cbuf; /* one framed ciphertext chunk */
	uint8_t *pbuf; /* one decrypted chunk not yet handed out */
	size_t plen, ppos;
	size_t page;        /* the page being read */
	uint64_t page_left; /* its bytes not yet decrypted */
	bool advance;       /* the page ended with the chunk in pbuf */
	bool done;          /* the final chunk was authenticated */
	enum container_status error;
};

/* Reads and decrypts the next chunk into out (room for CHUNK_PLAIN bytes). */
static enum container_status pull_chunk(struct container_reader *r, uint8_t *out, size_t *mlen,
                                        unsigned char *tag, const uint8_t *ad, size_t adlen)
{
	size_t got = 0;
	enum container_status st = pread_all(r->fd, r->cbuf, FRAME_BYTES, r->off, &got);
	if (st != CONTAINER_OK)
		return st;
	if (got < FRAME_BYTES)
		return CONTAINER_TRUNCATED;
	uint32_t clen = get32(r->cbuf);
	if (clen < ABYTES || clen > CHUNK_CIPHER)
		return CONTAINER_TAMPERED;
	if (r->off + FRAME_BYTES + clen > r->header.file_bytes)
		return CONTAINER_TAMPERED;
	st = pread_all(r->fd, r->cbuf + FRAME_BYTES, clen, r->off + FRAME_BYTES, &got);
	if (st != CONTAINER_OK)
		return st;
	if (got < clen)
		return CONTAINER_TRUNCATED;
	unsigned long long m = 0;
	if (crypto_secretstream_xchacha20poly1305_pull(&r->ss, out, &m, tag, r->cbuf + FRAME_BYTES,
	                                               clen, ad, adlen) != 0)
		return CONTAINER_TAMPERED;
	r->off += FRAME_BYTES + clen;
	*mlen = (size_t)m;
	return CONTAINER_OK;
}

static const cJSON *member(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static bool string_is(const cJSON *item, const char *want)
{
	return cJSON_IsString(item) && item->valuestring && strcmp(item->valuestring, want) == 0;
}

static bool integer_in(const cJSON *item, double lo, double hi)
{
	/* Bounded first, so the cast is defined; equal when it has no fraction. */
	return cJSON_IsNumber(item) && item->valuedouble >= lo && item->valuedouble <= hi &&
	       (double)(uint64_t)item->valuedouble == item->valuedouble;
}

/* Zeroes every string of a parsed tree before it is freed. */
static void zero_tree(cJSON *item)
{
	for (; item; item = item->next) {
		if (item->valuestring)
			secmem_zero(item->valuestring, strlen(item->valuestring));
		if (item->string)
			secmem_zero(item->string, strlen(item->string));
		zero_tree(item->child);
	}
}

static enum container_status parse_metadata(struct container_reader *r)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(r->meta, r->meta_len, &end, false);
	if (!root)
		return CONTAINER_BAD_METADATA;
	enum container_status st = CONTAINER_BAD_METADATA;
	char reference[CONTAINER_REFERENCE_LEN], created[ISO_BYTES];
	container_reference(r->header.id, reference);
	if (end != r->meta + r->meta_len || !cJSON_IsObject(root) ||
	    !iso_time(r->header.created, created))
		goto out;
	static const char *const strings[] = {"case_number", "name", "birth_date", "category",
	                                      "language"};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (!cJSON_IsString(member(root, strings[i])))
			goto out;
	const cJSON *pages = member(root, "pages");
	if (!integer_in(member(root, "version"), CONTAINER_VERSION, CONTAINER_VERSION) ||
	    !string_is(member(root, "submission_id"), r->header.id) ||
	    !string_is(member(root, "receipt"), reference) ||
	    !string_is(member(root, "created"), created) || !cJSON_IsArray(pages) ||
	    (size_t)cJSON_GetArraySize(pages) != r->header.page_count)
		goto out;

	r->page_count = r->header.page_count;
	if (r->page_count) {
		r->pages = calloc(r->page_count, sizeof(*r->pages));
		if (!r->pages) {
			st = CONTAINER_NOMEM;
			goto out;
		}
	}
	uint64_t plain = r->meta_len, file = HEADER_BYTES + chunks_for(r->meta_len) * CHUNK_COST;
	size_t i = 0;
	const cJSON *pg;
	cJSON_ArrayForEach(pg, pages)
	{
		char part[32];
		snprintf(part, sizeof(part), "page-%03zu", i + 1);
		const cJSON *sha = member(pg, "sha256");
		const cJSON *bytes = member(pg, "bytes");
		if (!cJSON_IsObject(pg) || !string_is(member(pg, "part"), part) ||
		    !integer_in(bytes, 1, CONTAINER_MAX_PAGE_SIZE) ||
		    !integer_in(member(pg, "width"), 0, UINT32_MAX) ||
		    !integer_in(member(pg, "height"), 0, UINT32_MAX) ||
		    !integer_in(member(pg, "dpi"), 0, UINT32_MAX) ||
		    !cJSON_IsBool(member(pg, "color")) ||
		    !cJSON_IsNumber(member(pg, "blank_score")) || !cJSON_IsString(sha) ||
		    strlen(sha->valuestring) != SHA256_BYTES * 2)
			goto out;
		for (size_t k = 0; k < SHA256_BYTES; k++) {
			int hi = hex_value(sha->valuestring[2 * k]);
			int lo = hex_value(sha->valuestring[2 * k + 1]);
			if (hi < 0 || lo < 0)
				goto out;
			r->pages[i].sha256[k] = (uint8_t)(hi << 4 | lo);
		}
		r->pages[i].bytes = (uint64_t)bytes->valuedouble;
		plain += r->pages[i].bytes;
		file += chunks_for(r->pages[i].bytes) * CHUNK_COST;
		i++;
	}
	file += plain + CHUNK_COST;
	if (plain != r->header.plain_bytes || file != r->header.file_bytes)
		goto out;
	st = CONTAINER_OK;
out:
	zero_tree(root);
	cJSON_Delete(root);
	return st;
}

/* Decrypts the metadata segment, the first chunk authenticating the header. */
static enum container_status read_metadata(struct container_reader *r,
                                           const uint8_t raw[HEADER_BYTES])
{
	const uint8_t *ad = raw;
	size_t adlen = HEADER_BYTES;
	for (;;) {
		size_t mlen = 0;
		unsigned char tag = 0;
		enum container_status st = pull_chunk(r, r->pbuf, &mlen, &tag, ad, adlen);
		if (st != CONTAINER_OK)
			return st;
		ad = NULL;
		adlen = 0;
		if (tag != TAG_MESSAGE && tag != TAG_PUSH)
			return CONTAINER_BAD_METADATA;
		if (r->meta_len + mlen > CONTAINER_MAX_METADATA)
			return CONTAINER_BAD_METADATA;
		if (secmem_grow((unsigned char **)&r->meta, &r->meta_cap, r->meta_len + mlen + 1,
		                CONTAINER_MAX_METADATA + 1) != 0)
			return CONTAINER_NOMEM;
		memcpy(r->meta + r->meta_len, r->pbuf, mlen);
		r->meta_len += mlen;
		r->meta[r->meta_len] = '\0';
		secmem_zero(r->pbuf, mlen);
		if (tag == TAG_PUSH)
			break;
	}
	if (r->meta_len == 0 || memchr(r->meta, '\0', r->meta_len))
		return CONTAINER_BAD_METADATA;
	return parse_metadata(r);
}

static void reset_pages(struct container_reader *r)
{
	r->ss = r->ss_pages;
	r->off = r->off_pages;
	secmem_zero(r->pbuf, CHUNK_PLAIN);
	r->plen = r->ppos = 0;
	r->page = 0;
	r->page_left = r->page_count ? r->pages[0].bytes : 0;
	r->advance = false;
	r->done = false;
	r->error = CONTAINER_OK;
}

enum container_status container_reader_open(int fd, const uint8_t public_key[CONTAINER_KEY_BYTES],
                                            const uint8_t secret_key[CONTAINER_KEY_BYTES],
                                            struct container_reader **out)
{
	if (!out)
		return CONTAINER_INVALID;
	*out = NULL;
	if (fd < 0 || !public_key || !secret_key)
		return CONTAINER_INVALID;
	ensure_sodium();

	uint8_t raw[HEADER_BYTES];
	uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	enum container_status st = CONTAINER_NOMEM;
	struct container_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return CONTAINER_NOMEM;
	r->fd = fd;
	r->cbuf = malloc(FRAME_BYTES + CHUNK_CIPHER);
	r->pbuf = malloc(CHUNK_PLAIN);
	if (!r->cbuf || !r->pbuf)
		goto out;
	st = parse_header(fd, &r->header, raw);
	if (st != CONTAINER_OK)
		goto out;
	st = CONTAINER_TAMPERED;
	if (crypto_box_seal_open(key, raw + OFF_SEALED_KEY, SEALED_KEY_BYTES, public_key,
	                         secret_key) != 0)
		goto out;
	if (crypto_secretstream_xchacha20poly1305_init_pull(&r->ss, raw + OFF_SS_HEADER, key) != 0)
		goto out;
	r->off = HEADER_BYTES;
	st = read_metadata(r, raw);
	if (st != CONTAINER_OK)
		goto out;
	r->ss_pages = r->ss;
	r->off_pages = r->off;
	reset_pages(r);
	*out = r;
	r = NULL;
out:
	sodium_memzero(key, sizeof(key));
	container_reader_destroy(r);
	return st;
}

const struct container_header *container_reader_header(const struct container_reader *r)
{
	return r ? &r->header : NULL;
}

const char *container_reader_metadata(const struct container_reader *r, size_t *len)
{
	if (len)
		*len = r ? r->meta_len : 0;
	return r ? r->meta : NULL;
}

size_t container_reader_page_count(const struct container_reader *r)
{
	return r ? r->page_count : 0;
}

const struct container_page_info *container_reader_page(const struct container_reader *r,
                                                        size_t index)
{
	if (!r || index >= r->page_count)
		return NULL;
	return &r->pages[index];
}

/* The empty final chunk, and nothing after it. */
static enum container_status read_final(struct container_reader *r)
{
	size_t mlen = 0;
	unsigned char tag = 0;
	enum container_status st = pull_chunk(r, r->pbuf, &mlen, &tag, NULL, 0);
	if (st != CONTAINER_OK)
		return st;
	if (tag != TAG_FINAL || mlen != 0)
		return CONTAINER_BAD_METADATA;
	if (r->off != r->header.file_bytes)
		return CONTAINER_TAMPERED;
	r->done = true;
	return CONTAINER_OK;
}

/* Decrypts the next chunk of the current page into dst. */
static enum container_status next_chunk(struct container_reader *r, uint8_t *dst, size_t *mlen)
{
	unsigned char tag = 0;
	enum container_status st = pull_chunk(r, dst, mlen, &tag, NULL, 0);
	if (st != CONTAINER_OK)
		return st;
	/* A page's chunks are MESSAGE, the last one PUSH, and add up to its size. */
	if (*mlen > r->page_left || (tag == TAG_PUSH && *mlen != r->page_left) ||
	    (tag == TAG_MESSAGE && (*mlen == 0 || *mlen == r->page_left)) ||
	    (tag != TAG_PUSH && tag != TAG_MESSAGE)) {
		secmem_zero(dst, *mlen);
		return CONTAINER_BAD_METADATA;
	}
	r->page_left -= *mlen;
	r->advance = tag == TAG_PUSH;
	return CONTAINER_OK;
}

enum container_status container_reader_read(struct container_reader *r, void *buf, size_t cap,
                                            size_t *got, size_t *page)
{
	if (got)
		*got = 0;
	if (!r || !buf || !cap || !got || !page)
		return CONTAINER_INVALID;
	if (r->error != CONTAINER_OK)
		return r->error;
	enum container_status st = CONTAINER_OK;
	for (;;) {
		if (r->ppos < r->plen) {
			size_t n = r->plen - r->ppos < cap ? r->plen - r->ppos : cap;
			memcpy(buf, r->pbuf + r->ppos, n);
			r->ppos += n;
			if (r->ppos == r->plen) {
				secmem_zero(r->pbuf, r->plen);
				r->ppos = r->plen = 0;
			}
			*got = n;
			*page = r->page;
			return CONTAINER_OK;
		}
		if (r->advance) {
			r->advance = false;
			r->page++;
			r->page_left = r->page < r->page_count ? r->pages[r->page].bytes : 0;
		}
		if (r->done) {
			*page = r->page_count;
			return CONTAINER_OK;
		}
		if (r->page >= r->page_count) {
			st = read_final(r);
			if (st != CONTAINER_OK)
				break;
			continue;
		}
		size_t mlen = 0;
		/* Straight into the caller's buffer when a whole chunk fits. */
		uint64_t next = r->page_left < CHUNK_PLAIN ? r->page_left : CHUNK_PLAIN;
		bool direct = cap >= next;
		st = next_chunk(r, direct ? buf : r->pbuf, &mlen);
		if (st != CONTAINER_OK)
			break;
		if (direct) {
			*got = mlen;
			*page = r->page;
			return CONTAINER_OK;
		}
		r->plen = mlen;
		r->ppos = 0;
	}
	r->error = st;
	secmem_zero(r->pbuf, CHUNK_PLAIN);
	r->plen = r->ppos = 0;
	return st;
}

enum container_status container_reader_rewind(struct container_reader *r)
{
	if (!r)
		return CONTAINER_INVALID;
	reset_pages(r);
	return CONTAINER_OK;
}

void container_reader_destroy(struct container_reader *r)
{
	if (!r)
		return;
	secmem_free(r->meta, r->meta_cap);
	free(r->pages);
	free(r->cbuf);
	secmem_free(r->pbuf, r->pbuf ? CHUNK_PLAIN : 0);
	sodium_memzero(r, sizeof(*r));
	free(r);
}

enum container_status container_verify(int fd, const uint8_t public_key[CONTAINER_KEY_BYTES],
                                       const uint8_t secret_key[CONTAINER_KEY_BYTES])
{
	struct container_reader *r = NULL;
	enum container_status st = container_reader_open(fd, public_key, secret_key, &r);
	if (st != CONTAINER_OK)
		return st;
	uint8_t *buf = malloc(CHUNK_PLAIN);
	struct sha256 *hash = sha256_create();
	st = CONTAINER_NOMEM;
	if (!buf || !hash)
		goto out;
	size_t current = 0;
	uint64_t seen = 0;
	for (;;) {
		size_t got = 0, page = 0;
		st = container_reader_read(r, buf, CHUNK_PLAIN, &got, &page);
		if (st != CONTAINER_OK)
			goto out;
		if (got && page == current) {
			seen += got;
			if (!sha256_update(hash, buf, got)) {
				st = CONTAINER_NOMEM;
				goto out;
			}
			continue;
		}
		/* The current page is complete: a new page started, or the end. */
		if (current < r->page_count) {
			uint8_t digest[SHA256_BYTES];
			if (!sha256_final(hash, digest)) {
				st = CONTAINER_NOMEM;
				goto out;
			}
			if (seen != r->pages[current].bytes ||
			    sodium_memcmp(digest, r->pages[current].sha256, SHA256_BYTES) != 0) {
				st = CONTAINER_BAD_METADATA;
				goto out;
			}
		}
		if (!got)
			break;
		current = page;
		seen = got;
		if (!sha256_update(hash, buf, got)) {
			st = CONTAINER_NOMEM;
			goto out;
		}
	}
	st = CONTAINER_OK;
out:
	secmem_free(buf, buf ? CHUNK_PLAIN : 0);
	sha256_destroy(hash);
	container_reader_destroy(r);
	return st;
}

/* ---- key files ------------------------------------------------------------- */

static void dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, size, ".");
	else if (slash == path)
		snprintf(dir, size, "/");
	else
		snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

static enum container_status fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	dir_of(path, dir, sizeof(dir));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno_status(errno);
	int rc = fsync(fd);
	int err = errno;
	close(fd);
	if (rc != 0) {
		errno = err;
		return errno_status(err);
	}
	return CONTAINER_OK;
}

/* Writes "HEX\n" to path through a temporary file beside it, fsync and rename
 * (or link, which refuses an existing file, when noreplace). */
static enum container_status write_key_file(const char *path,
                                            const uint8_t key[CONTAINER_KEY_BYTES], mode_t mode,
                                            bool noreplace)
{
	char tmp[PATH_MAX];
	char text[CONTAINER_KEY_BYTES * 2 + 2];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
		return CONTAINER_INVALID;
	int fd = mkstemp(tmp);
	if (fd < 0) {
		log_error_errno("container: cannot create a temporary file beside %s", path);
		return errno_status(errno);
	}
	to_hex(key, CONTAINER_KEY_BYTES, text);
	text[CONTAINER_KEY_BYTES * 2] = '\n';
	enum container_status st = CONTAINER_OK;
	if (fchmod(fd, mode) != 0)
		st = errno_status(errno);
	if (st == CONTAINER_OK)
		st = write_all(fd, text, CONTAINER_KEY_BYTES * 2 + 1);
	if (st == CONTAINER_OK && fsync(fd) != 0)
		st = errno_status(errno);
	sodium_memzero(text, sizeof(text));
	if (close(fd) != 0 && st == CONTAINER_OK)
		st = errno_status(errno);
	if (st != CONTAINER_OK) {
		log_error_errno("container: cannot write %s", tmp);
		unlink(tmp);
		return st;
	}
	if (noreplace) {
		if (link(tmp, path) != 0) {
			int err = errno;
			log_error_errno("container: cannot create %s%s", path,
			                err == EEXIST ? " (refusing to overwrite a key)" : "");
			unlink(tmp);
			errno = err;
			return err == EEXIST ? CONTAINER_INVALID : errno_status(err);
		}
		unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		int err = errno;
		log_error_errno("container: cannot rename %s to %s", tmp, path);
		unlink(tmp);
		errno = err;
		return errno_status(err);
	}
	st = fsync_dir(path);
	if (st != CONTAINER_OK)
		log_error_errno("container: cannot fsync the directory of %s", path);
	return st;
}

enum container_status container_keygen(const char *public_path, const char *secret_path)
{
	if (!public_path || !secret_path || !*public_path || !*secret_path ||
	    strcmp(public_path, secret_path) == 0)
		return CONTAINER_INVALID;
	ensure_sodium();
	struct stat sb;
	if (lstat(secret_path, &sb) == 0) {
		log_error("container: %s exists; refusing to overwrite a secret key", secret_path);
		errno = EEXIST;
		return CONTAINER_INVALID;
	}
	if (errno != ENOENT) {
		log_error_errno("container: cannot check %s", secret_path);
		return errno_status(errno);
	}
	uint8_t pk[CONTAINER_KEY_BYTES], sk[CONTAINER_KEY_BYTES];
	crypto_box_keypair(pk, sk);
	/* The secret key first: if it cannot be written, no public key points at
	 * a key that does not exist. */
	enum container_status st = write_key_file(secret_path, sk, 0600, true);
	sodium_memzero(sk, sizeof(sk));
	if (st == CONTAINER_OK)
		st = write_key_file(public_path, pk, 0644, false);
	return st;
}

enum container_status container_load_key(const char *path, uint8_t key[CONTAINER_KEY_BYTES])
{
	if (!path || !key)
		return CONTAINER_INVALID;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		log_error_errno("container: cannot open key file %s", path);
		return errno_status(errno);
	}
	char text[CONTAINER_KEY_BYTES * 2 + 4];
	size_t len = 0;
	enum container_status st = CONTAINER_OK;
	while (len < sizeof(text)) {
		ssize_t n = read(fd, text + len, sizeof(text) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error_errno("container: cannot read key file %s", path);
			st = errno_status(errno);
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	const char *why = NULL;
	size_t hex = CONTAINER_KEY_BYTES * 2;
	if (st == CONTAINER_OK) {
		size_t i = 0;
		while (i < len && i < hex && hex_value(text[i]) >= 0)
			i++;
		if (i < hex && i < len && text[i] != '\n' && text[i] != '\r')
			why = "a character that is not a hex digit";
		else if (i < hex)
			why = "fewer than 64 hex digits";
		else if (!(len == hex || (len == hex + 1 && text[hex] == '\n') ||
		           (len == hex + 2 && text[hex] == '\r' && text[hex + 1] == '\n')))
			why = "more than one line of 64 hex digits";
		if (why) {
			log_error("container: key file %s: %s; it must hold one line of 64 hex "
			          "digits",
			          path, why);
			st = CONTAINER_INVALID;
		}
	}
	if (st == CONTAINER_OK)
		for (size_t i = 0; i < CONTAINER_KEY_BYTES; i++)
			key[i] =
			        (uint8_t)(hex_value(text[2 * i]) << 4 | hex_value(text[2 * i + 1]));
	sodium_memzero(text, sizeof(text));
	return st;
}

void container_public_from_secret(const uint8_t secret_key[CONTAINER_KEY_BYTES],
                                  uint8_t public_key[CONTAINER_KEY_BYTES])
{
	ensure_sodium();
	crypto_scalarmult_base(public_key, secret_key);
}
