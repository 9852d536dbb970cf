/*
 * prefetch.h - decrypts a submission a few chunks ahead of the transfer, on a
 * thread of its own.
 *
 * libcurl asks for the request body one buffer at a time on the uploader's
 * thread, which also encrypts TLS records and writes the socket. Decrypting the
 * container on that same thread left the second core idle. The prefetch
 * thread reads the container (secretstream: every chunk authenticated), checks
 * each page's length against the metadata and authenticates the final tag,
 * into a small ring of buffers the transfer takes from.
 *
 * A damaged file never becomes a complete request: the chunk that completes
 * the last page is handed over only after the final tag was authenticated and
 * no byte followed; a chunk that fails authentication is never handed over.
 * The consumer gets PREFETCH_FAILED instead.
 *
 * Pages are not hashed again here: the AEAD already proves every byte is the
 * one the writer sealed together with its SHA-256 in the metadata, and the
 * intake checks each part against that SHA-256 (PROTOCOL.md).
 *
 * Threads: one consumer thread calls prefetch_start(), prefetch_read() and
 * prefetch_stop(); while started, only the prefetch thread touches the reader.
 * Buffers are zeroed when the prefetch stops and before they are freed.
 */
#ifndef SCANKIOSK_UPLOAD_PREFETCH_H
#define SCANKIOSK_UPLOAD_PREFETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "container.h"

struct prefetch;

enum prefetch_status {
	PREFETCH_DATA,   /* *got > 0 bytes of page *page */
	PREFETCH_END,    /* every page was read and the final tag authenticated */
	PREFETCH_FAILED, /* see prefetch_failure() and prefetch_mismatch() */
};

/* Allocates the ring. Returns NULL when memory is short. */
struct prefetch *prefetch_create(void);

/* Stops a running prefetch, zeroes and frees. Accepts NULL. */
void prefetch_destroy(struct prefetch *pf);

/*
 * Rewinds r to its first page and starts reading it ahead. r must stay valid
 * until prefetch_stop(). Returns false (prefetch_failure() tells) when the
 * reader cannot be rewound or the thread cannot start.
 */
__attribute__((warn_unused_result)) bool prefetch_start(struct prefetch *pf,
                                                        struct container_reader *r);

/*
 * Copies up to cap bytes of the next content into buf, waiting for the
 * prefetch thread when it is behind. A read never spans two pages.
 */
enum prefetch_status prefetch_read(struct prefetch *pf, void *buf, size_t cap, size_t *got,
                                   size_t *page);

/* Why the prefetch failed. */
enum container_status prefetch_failure(const struct prefetch *pf);

/* Stops and joins the thread and zeroes the ring. The reader is the caller's
 * again. Does nothing when not started. */
void prefetch_stop(struct prefetch *pf);

#endif
