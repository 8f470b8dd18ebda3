/* Unit tests: core/arena.c, the capped request allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void allocations_are_zeroed_and_aligned(void **state)
{
	(void)state;
	struct seula_arena a;
	seula_arena_init(&a, 0);
	for (int i = 1; i < 100; i++) {
		unsigned char *p = seula_arena_alloc(&a, (size_t)i * 7);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
		for (int k = 0; k < i * 7; k++)
			assert_int_equal(p[k], 0);
		memset(p, 0xab, (size_t)i * 7);
	}
	seula_arena_free(&a);
}

static void cap_refuses_growth(void **state)
{
	(void)state;
	struct seula_arena a;
	seula_arena_init(&a, 1000);
	assert_non_null(seula_arena_alloc(&a, 900));
	assert_null(seula_arena_alloc(&a, 200));
	assert_null(seula_arena_alloc(&a, SIZE_MAX));
	assert_null(seula_arena_alloc(&a, SIZE_MAX - 3));
	seula_arena_free(&a);
	/* Reusable after free. */
	assert_non_null(seula_arena_alloc(&a, 900));
	seula_arena_free(&a);
}

static void large_blocks_and_strings(void **state)
{
	(void)state;
	struct seula_arena a;
	seula_arena_init(&a, 0);
	char *big = seula_arena_alloc(&a, 100000);
	assert_non_null(big);
	char *s = seula_arena_strndup(&a, "hello world", 5);
	assert_string_equal(s, "hello");
	assert_string_equal(seula_arena_strdup(&a, ""), "");
	seula_arena_free(&a);
	seula_arena_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(allocations_are_zeroed_and_aligned),
	        cmocka_unit_test(cap_refuses_growth),
	        cmocka_unit_test(large_blocks_and_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
