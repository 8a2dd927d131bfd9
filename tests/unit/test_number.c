/*
 * Unit tests for the guest's strto* family and abs (guest/lib/number.c), run on the host.
 *
 * unit.mk compiles number.c with its public names prefixed (strtoul -> guest_strtoul, ...), so
 * each case is checked against glibc: same value and same end pointer. glibc also sets errno on
 * overflow; the guest has no errno, and only the saturated value is compared.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

unsigned long guest_strtoul(const char *restrict string, char **restrict end, int base);
unsigned long long guest_strtoull(const char *restrict string, char **restrict end, int base);
long guest_strtol(const char *restrict string, char **restrict end, int base);
long long guest_strtoll(const char *restrict string, char **restrict end, int base);
int guest_abs(int value);
long guest_labs(long value);

static const char *const inputs[] = {
	"0",
	"1",
	"123",
	"  -42",
	"+7",
	"\t\n\v\f\r 12abc",
	"-",
	"+",
	"",
	"   ",
	"z",
	"Zz",
	"0x1F",
	"0X1f",
	"0x",
	"0xg",
	"0x0",
	"-0x10",
	" +0x7fffffffffffffff",
	"x10",
	"012",
	"08",
	"09",
	"0777",
	"1010",
	"777",
	"ffff",
	"FFFF",
	"-ffff",
	"+-1",
	"--1",
	"1 2",
	"4294967295",
	"4294967296",
	"-4294967296",
	"2147483647",
	"2147483648",
	"-2147483649",
	"9223372036854775807",
	"9223372036854775808",
	"-9223372036854775808",
	"-9223372036854775809",
	"18446744073709551615",
	"18446744073709551616",
	"-18446744073709551615",
	"-18446744073709551616",
	"99999999999999999999999999999",
	"0xffffffffffffffff",
	"0x10000000000000000",
	"-0x8000000000000000",
	"1111111111111111111111111111111111111111111111111111111111111111",
	"11111111111111111111111111111111111111111111111111111111111111111",
	"zzzzzzzzzzzzz",
	"3w5e11264sgsf",
	"3w5e11264sgsg",
	"000000000000000000000000000000000000042",
};
static const int bases[] = { 0, 2, 8, 10, 16, 36 };

static void test_against_glibc(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
		for (size_t b = 0; b < sizeof(bases) / sizeof(*bases); b++) {
			const char *input = inputs[i];
			int base = bases[b];
			char *expected_end;
			char *actual_end;

			assert_int_equal(guest_strtoul(input, &actual_end, base),
					 strtoul(input, &expected_end, base));
			assert_ptr_equal(actual_end, expected_end);
			assert_int_equal(guest_strtoull(input, &actual_end, base),
					 strtoull(input, &expected_end, base));
			assert_ptr_equal(actual_end, expected_end);
			assert_int_equal(guest_strtol(input, &actual_end, base),
					 strtol(input, &expected_end, base));
			assert_ptr_equal(actual_end, expected_end);
			assert_int_equal(guest_strtoll(input, &actual_end, base),
					 strtoll(input, &expected_end, base));
			assert_ptr_equal(actual_end, expected_end);
			assert_int_equal(guest_strtoul(input, NULL, base),
					 strtoul(input, NULL, base));
		}
	}
}

static void test_documented_cases(void **state)
{
	char *end;

	(void)state;
	assert_int_equal(guest_strtoul("0x1000 rest", &end, 0), 4096);
	assert_string_equal(end, " rest");
	assert_int_equal(guest_strtoul("0755", &end, 0), 493);
	assert_int_equal(guest_strtoul("0x", &end, 16), 0);
	assert_string_equal(end, "x");
	assert_int_equal(guest_strtoul("-1", NULL, 10), ULONG_MAX);
	assert_int_equal(guest_strtoul("99999999999999999999", NULL, 10), ULONG_MAX);
	assert_int_equal(guest_strtol("99999999999999999999", NULL, 10), LONG_MAX);
	assert_int_equal(guest_strtol("-99999999999999999999", NULL, 10), LONG_MIN);

	/* No digits, or an invalid base: 0, and the end pointer is the string itself. */
	const char *text = "  +";
	assert_int_equal(guest_strtol(text, &end, 10), 0);
	assert_ptr_equal(end, text);
	text = "123";
	assert_int_equal(guest_strtoul(text, &end, 1), 0);
	assert_ptr_equal(end, text);
	assert_int_equal(guest_strtoul(text, &end, 37), 0);
	assert_ptr_equal(end, text);
	assert_int_equal(guest_strtoul(text, &end, -1), 0);
	assert_ptr_equal(end, text);
}

static void test_abs(void **state)
{
	(void)state;
	assert_int_equal(guest_abs(0), 0);
	assert_int_equal(guest_abs(-5), 5);
	assert_int_equal(guest_abs(INT_MAX), INT_MAX);
	assert_int_equal(guest_abs(-INT_MAX), INT_MAX);
	assert_int_equal(guest_labs(-5000000000L), 5000000000L);
	assert_int_equal(guest_labs(LONG_MAX), LONG_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_glibc),
		cmocka_unit_test(test_documented_cases),
		cmocka_unit_test(test_abs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
