/*
 * test_secmem.c - zeroing helpers, and that a large freed block never comes
 * back to the next allocation with its content.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "secmem.h"

#define BIG (20u * 1024 * 1024) /* a 300 dpi A4 colour page, raw */

static size_t count_byte(const unsigned char *p, size_t len, unsigned char b)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += p[i] == b;
	return n;
}

static void test_large_blocks_come_back_empty(void **state)
{
	(void)state;
	secmem_harden_heap();
	/* Twice: glibc raises its threshold after the first large free, which is
	 * when an unhardened heap starts handing the old block back. */
	for (int round = 0; round < 3; round++) {
		unsigned char *page = malloc(BIG);
		assert_non_null(page);
		memset(page, 0x5a, BIG);
		/* The compiler must not drop the fill as a dead store. */
		__asm__ volatile("" : : "r"(page) : "memory");
		/* What a library does: free without zeroing. */
		free(page);
		unsigned char *next = malloc(BIG);
		assert_non_null(next);
		/* Fresh pages from the kernel (or a sanitizer's fill byte), never
		 * the previous content. */
		assert_int_equal(count_byte(next, BIG, 0x5a), 0);
		free(next);
	}
}

static void test_zero_and_grow(void **state)
{
	(void)state;
	unsigned char buf[64];
	memset(buf, 0xff, sizeof(buf));
	secmem_zero(buf, sizeof(buf));
	assert_int_equal(count_byte(buf, sizeof(buf), 0), sizeof(buf));
	secmem_zero(NULL, 10);
	secmem_free(NULL, 10);

	unsigned char *p = NULL;
	size_t cap = 0;
	assert_int_equal(secmem_grow(&p, &cap, 100, 1 << 20), 0);
	assert_true(cap >= 100);
	memset(p, 7, 100);
	assert_int_equal(secmem_grow(&p, &cap, 50000, 1 << 20), 0);
	assert_true(cap >= 50000);
	assert_int_equal(count_byte(p, 100, 7), 100); /* content kept */
	assert_int_equal(secmem_grow(&p, &cap, (1 << 20) + 1, 1 << 20), -1);
	secmem_free(p, cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_large_blocks_come_back_empty),
	        cmocka_unit_test(test_zero_and_grow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
