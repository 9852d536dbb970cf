/*
 * container.h - one submission as one file: a clear header and an
 * authenticated, encrypted body (format: kiosk/core/CONTAINER.md).
 *
 * The writer needs only the uploader's public key: a fresh secretstream key per
 * submission is sealed to it (crypto_box_seal), so the writing side cannot read
 * back what it committed. Pages are encrypted in chunks straight from the
 * caller's buffers and decrypted in chunks, so a page never sits in RAM twice.
 *
 * Inside the body: first the metadata document (JSON, see CONTAINER.md: case
 * number, name, birth date, category, language, receipt reference and per-page
 * facts with SHA-256), then each page's JPEG bytes in order.
 */
#ifndef SCANKIOSK_CONTAINER_H
#define SCANKIOSK_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define CONTAINER_VERSION       1
#define CONTAINER_ID_BYTES      16
#define CONTAINER_ID_HEX        (CONTAINER_ID_BYTES * 2 + 1) /* with NUL */
#define CONTAINER_KEY_BYTES     32                           /* X25519 public and secret keys */
#define CONTAINER_MAX_PAGES     200
#define CONTAINER_MAX_PAGE_SIZE (64u * 1024 * 1024)
#define CONTAINER_MAX_METADATA  (256u * 1024)
/* Receipt reference shown to the customer: "XXXX-XXXX-XXXX", Crockford base32. */
#define CONTAINER_REFERENCE_LEN 15 /* with NUL */

enum container_status {
	CONTAINER_OK,            /* success */
	CONTAINER_IO,            /* read/write/fsync failed (errno kept) */
	CONTAINER_NO_SPACE,      /* ENOSPC or EDQUOT while writing */
	CONTAINER_NOMEM,         /* out of memory */
	CONTAINER_NOT_CONTAINER, /* no magic: not one of ours */
	CONTAINER_BAD_VERSION,   /* a format version this build does not read */
	CONTAINER_TRUNCATED,     /* ends before the final chunk */
	CONTAINER_TAMPERED,      /* authentication failed: modified, or not our key */
	CONTAINER_BAD_METADATA,  /* decrypts, but the metadata or a page size is invalid */
	CONTAINER_INVALID,       /* the caller passed something unusable */
	CONTAINER_STATUS_LAST
};

const char *container_strerror(enum container_status status);

/* The clear header: readable without keys (list, inspect). */
struct container_header {
	uint16_t version;
	char id[CONTAINER_ID_HEX]; /* lower-case hex */
	int64_t created;           /* unix seconds, wall clock at commit */
	uint32_t page_count;
	uint64_t plain_bytes; /* metadata + pages, before encryption */
	uint64_t file_bytes;  /* the whole file as written */
};

/* One page handed to the writer. The writer reads jpeg and never keeps it. */
struct container_page {
	const uint8_t *jpeg;
	size_t bytes;
	uint32_t width, height, dpi;
	bool color;
	double blank_score;
	uint8_t sha256[SHA256_BYTES]; /* of jpeg[0..bytes) */
};

/* What a customer submits. Strings are NUL-terminated UTF-8; none is logged. */
struct container_submission {
	const char *case_number; /* Kundennummer or BG-Nummer */
	const char *name;
	const char *birth_date; /* YYYY-MM-DD */
	const char *category;   /* e.g. "payslip" */
	const char *language;   /* UI language, e.g. "uk" */
	const struct container_page *pages;
	size_t page_count;
};

/* Makes a fresh submission id: 6 bytes of big-endian milliseconds since the
 * epoch then 10 random bytes, so ids sort in commit order. */
void container_new_id(char id[CONTAINER_ID_HEX]);

/* The receipt reference for an id (a hash of it, Crockford base32, grouped). */
void container_reference(const char *id, char out[CONTAINER_REFERENCE_LEN]);

/*
 * Writes a whole container for sub under id to fd (positioned at 0), without
 * fsync (the spool does that). created is the header's time. Returns
 * CONTAINER_OK or the failure; on failure the file content is undefined.
 */
__attribute__((warn_unused_result)) enum container_status
container_write(int fd, const char *id, int64_t created,
                const uint8_t public_key[CONTAINER_KEY_BYTES],
                const struct container_submission *sub);

/* Reads and checks the clear header at the start of fd (no keys needed). */
__attribute__((warn_unused_result)) enum container_status
container_read_header(int fd, struct container_header *out);

struct container_reader;

/* Per-page facts as the metadata records them. */
struct container_page_info {
	uint64_t bytes;
	uint8_t sha256[SHA256_BYTES];
};

/*
 * Opens fd for reading with the uploader's key pair: checks the header,
 * unseals the key and decrypts and validates the metadata. fd stays owned by
 * the caller and must stay open until container_reader_destroy().
 */
__attribute__((warn_unused_result)) enum container_status
container_reader_open(int fd, const uint8_t public_key[CONTAINER_KEY_BYTES],
                      const uint8_t secret_key[CONTAINER_KEY_BYTES], struct container_reader **out);

const struct container_header *container_reader_header(const struct container_reader *r);

/* The metadata document as JSON text (NUL-terminated, in memory zeroed on
 * destroy). This is also what the uploader sends as the "metadata" part. */
const char *container_reader_metadata(const struct container_reader *r, size_t *len);

size_t container_reader_page_count(const struct container_reader *r);
const struct container_page_info *container_reader_page(const struct container_reader *r,
                                                        size_t index);

/*
 * Reads up to cap bytes of page content, in page order. *got is 0 with
 * CONTAINER_OK at the end of the last page, once the final chunk has been
 * authenticated. *page is the index of the page the bytes belong to (a read
 * never spans two pages).
 */
__attribute__((warn_unused_result)) enum container_status
container_reader_read(struct container_reader *r, void *buf, size_t cap, size_t *got, size_t *page);

/* Back to the first page (a retried upload). */
__attribute__((warn_unused_result)) enum container_status
container_reader_rewind(struct container_reader *r);

/* Zeroes every decrypted byte and the key. Accepts NULL. */
void container_reader_destroy(struct container_reader *r);

/* Decrypts the whole file and checks every page's SHA-256 against the metadata. */
__attribute__((warn_unused_result)) enum container_status
container_verify(int fd, const uint8_t public_key[CONTAINER_KEY_BYTES],
                 const uint8_t secret_key[CONTAINER_KEY_BYTES]);

/*
 * Key files: one line of 64 lower-case hex digits. keygen writes the secret
 * key file 0600 and the public key file 0644, each through a temporary file,
 * fsync and rename; it refuses to overwrite an existing secret key.
 */
__attribute__((warn_unused_result)) enum container_status container_keygen(const char *public_path,
                                                                           const char *secret_path);
__attribute__((warn_unused_result)) enum container_status
container_load_key(const char *path, uint8_t key[CONTAINER_KEY_BYTES]);
/* The public key that belongs to a secret key. */
void container_public_from_secret(const uint8_t secret_key[CONTAINER_KEY_BYTES],
                                  uint8_t public_key[CONTAINER_KEY_BYTES]);

#endif
