/*
 * secmem.h - memory that holds page content or personal data.
 *
 * Such memory is zeroed before it is freed, so a later allocation, a core file
 * or swap never shows a previous customer's page.
 */
#ifndef SCANKIOSK_SECMEM_H
#define SCANKIOSK_SECMEM_H

#include <stddef.h>

/* Zeroes len bytes in a way the compiler cannot drop. Accepts NULL. */
void secmem_zero(void *p, size_t len);

/* Zeroes len bytes, then frees. Accepts NULL. */
void secmem_free(void *p, size_t len);

/* Grows a buffer of *cap bytes to at least need bytes, zeroing the old one:
 * realloc() would leave a copy of the content behind in freed memory.
 * Returns 0, or -1 when need exceeds max or memory is short (*p unchanged). */
__attribute__((warn_unused_result)) int secmem_grow(unsigned char **p, size_t *cap, size_t need,
                                                    size_t max);

/*
 * Makes the allocator return every block of 128 KiB or more to the kernel
 * when it is freed, and take fresh (zero) pages for the next one. Whole pages
 * pass through libjpeg, libturbojpeg and libcurl buffers that the libraries
 * free without zeroing; glibc's default threshold rises after the first large
 * free, and the next malloc of that size then returned the previous page,
 * intact. Call first thing in main(), before any thread starts.
 */
void secmem_harden_heap(void);

#endif
