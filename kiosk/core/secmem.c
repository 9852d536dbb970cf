/*
 * secmem.c - zeroing frees for sensitive buffers.
 */
#include "secmem.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

void secmem_zero(void *p, size_t len)
{
	if (p && len)
		explicit_bzero(p, len);
}

void secmem_free(void *p, size_t len)
{
	secmem_zero(p, len);
	free(p);
}

int secmem_grow(unsigned char **p, size_t *cap, size_t need, size_t max)
{
	if (need <= *cap)
		return 0;
	if (need > max)
		return -1;
	size_t ncap = *cap ? *cap : 4096;
	while (ncap < need)
		ncap = ncap > max / 2 ? max : ncap * 2;
	unsigned char *n = malloc(ncap);
	if (!n)
		return -1;
	if (*p) {
		memcpy(n, *p, *cap);
		secmem_free(*p, *cap);
	}
	*p = n;
	*cap = ncap;
	return 0;
}

void secmem_harden_heap(void)
{
	/* A fixed threshold also turns off glibc's dynamic adjustment. */
	(void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}
