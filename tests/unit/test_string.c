/*
 * Unit tests for the guest's memory and string functions (guest/lib/string.c), run on the host.
 *
 * unit.mk compiles string.c with every name prefixed (memcpy -> guest_memcpy, ...), so each
 * function is compared with glibc's over all short lengths and alignments, and memmove over
 * overlaps in both directions. The rep movsb/stosb paths are inline assembly, which the
 * sanitizers cannot see into, so the bounds are checked here by guard bytes instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

void *guest_memcpy(void *restrict destination, const void *restrict source, size_t count);
void *guest_memmove(void *destination, const void *source, size_t count);
void *guest_memset(void *destination, int byte, size_t count);
int guest_memcmp(const void *left, const void *right, size_t count);
void *guest_memchr(const void *memory, int byte, size_t count);
size_t guest_strlen(const char *string);
size_t guest_strnlen(const char *string, size_t limit);
int guest_strcmp(const char *left, const char *right);
int guest_strncmp(const char *left, const char *right, size_t limit);
char *guest_strchr(const char *string, int character);
char *guest_strrchr(const char *string, int character);
size_t guest_strspn(const char *string, const char *accept);
size_t guest_strcspn(const char *string, const char *reject);

#define AREA 600

static unsigned char source[AREA];
static unsigned char expected[AREA];
static unsigned char actual[AREA];

static void fill_pattern(unsigned char *area, unsigned seed)
{
	for (size_t i = 0; i < AREA; i++)
		area[i] = (unsigned char)(i * 13 + seed * 101 + 1);
}

static int sign(int value)
{
	return (value > 0) - (value < 0);
}

static void test_copy_and_set(void **state)
{
	(void)state;
	fill_pattern(source, 1);
	for (size_t offset = 0; offset < 16; offset++) {
		for (size_t length = 0; length < 300; length++) {
			fill_pattern(expected, 2);
			fill_pattern(actual, 2);
			memcpy(expected + offset + 1, source + 3, length);
			assert_ptr_equal(guest_memcpy(actual + offset + 1, source + 3, length),
					 actual + offset + 1);
			assert_memory_equal(actual, expected, AREA);

			memset(expected + offset, 0xa5, length);
			assert_ptr_equal(guest_memset(actual + offset, 0x1a5, length),
					 actual + offset);
			assert_memory_equal(actual, expected, AREA);
		}
	}
}

static void test_move_overlapping(void **state)
{
	(void)state;
	for (size_t from = 0; from < 40; from += 3) {
		for (size_t to = 0; to < 40; to++) {
			for (size_t length = 0; length < 200; length += 7) {
				fill_pattern(expected, 3);
				fill_pattern(actual, 3);
				memmove(expected + to, expected + from, length);
				assert_ptr_equal(guest_memmove(actual + to, actual + from, length),
						 actual + to);
				assert_memory_equal(actual, expected, AREA);
			}
		}
	}
}

static void test_compare_and_search(void **state)
{
	(void)state;
	fill_pattern(expected, 4);
	for (size_t length = 0; length < 100; length++) {
		memcpy(actual, expected, AREA);
		assert_int_equal(guest_memcmp(actual, expected, length), 0);
		if (length > 0) {
			actual[length - 1] ^= 0x80;
			assert_int_equal(sign(guest_memcmp(actual, expected, length)),
					 sign(memcmp(actual, expected, length)));
		}
		for (int byte = 0; byte < 256; byte += 17)
			assert_ptr_equal(guest_memchr(expected, byte, length),
					 memchr(expected, byte, length));
	}
}

static void test_strings(void **state)
{
	static const char *const strings[] = { "",	  "a", "ab",	   "abc",  "abd",
					       "abcdef",  "b", "\x80high", "\x7f", "hello, world",
					       "aaa/bb/c" };
	static const char characters[] = { 'a', 'b', 'c', '/', 'z', '\0', (char)0x80 };

	(void)state;
	for (size_t i = 0; i < sizeof(strings) / sizeof(*strings); i++) {
		const char *left = strings[i];

		assert_int_equal(guest_strlen(left), strlen(left));
		for (size_t limit = 0; limit < 8; limit++)
			assert_int_equal(guest_strnlen(left, limit), strnlen(left, limit));
		for (size_t c = 0; c < sizeof(characters); c++) {
			assert_ptr_equal(guest_strchr(left, characters[c]),
					 strchr(left, characters[c]));
			assert_ptr_equal(guest_strrchr(left, characters[c]),
					 strrchr(left, characters[c]));
		}
		for (size_t j = 0; j < sizeof(strings) / sizeof(*strings); j++) {
			const char *right = strings[j];

			assert_int_equal(sign(guest_strcmp(left, right)),
					 sign(strcmp(left, right)));
			for (size_t limit = 0; limit < 8; limit++)
				assert_int_equal(sign(guest_strncmp(left, right, limit)),
						 sign(strncmp(left, right, limit)));
			assert_int_equal(guest_strspn(left, right), strspn(left, right));
			assert_int_equal(guest_strcspn(left, right), strcspn(left, right));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_and_set),
		cmocka_unit_test(test_move_overlapping),
		cmocka_unit_test(test_compare_and_search),
		cmocka_unit_test(test_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
