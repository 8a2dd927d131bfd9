/*
 * Unit tests for the guest's vsnprintf/snprintf (guest/lib/format.c), run on the host.
 *
 * unit.mk compiles format.c with its public names prefixed (snprintf -> guest_snprintf, ...), so
 * this file can call it next to glibc's and demand identical output and return values, at every
 * truncation length, over generated matrices of flags, widths, precisions, length modifiers and
 * values, plus random doubles. Only the deliberate differences are tested on their own.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

int guest_vsnprintf(char *restrict buffer, size_t size, const char *restrict format,
		    va_list arguments);
int guest_snprintf(char *restrict buffer, size_t size, const char *restrict format, ...);

#define BUFFER_SIZE 1024

static unsigned comparisons;

/* Formats with glibc and the guest, at full size and at every truncation length. */
static void compare_with_glibc(const char *format, ...)
{
	char expected[BUFFER_SIZE];
	char actual[BUFFER_SIZE + 1];
	va_list arguments;
	va_list copy;

	va_start(arguments, format);
	va_copy(copy, arguments);
	int expected_length = vsnprintf(expected, BUFFER_SIZE, format, copy);
	va_end(copy);
	assert_true(expected_length >= 0 && expected_length < BUFFER_SIZE);

	for (size_t size = 0; size <= (size_t)expected_length + 1; size++) {
		memset(actual, '#', sizeof(actual));
		va_copy(copy, arguments);
		int actual_length = guest_vsnprintf(size == 0 ? NULL : actual, size, format, copy);
		va_end(copy);
		if (actual_length != expected_length ||
		    (size > 0 && strncmp(actual, expected, size - 1) != 0) ||
		    (size > 0 && actual[size - 1] != '\0') || actual[size] != '#') {
			print_error(
				"format \"%s\" size %zu: glibc \"%s\" (%d), guest \"%.*s\" (%d)\n",
				format, size, expected, expected_length, (int)size, actual,
				actual_length);
			fail();
		}
		comparisons++;
		/* Every length is checked for short outputs; long ones sample a few. */
		if (size > 40 && size < (size_t)expected_length - 2)
			size = (size_t)expected_length - 2;
	}
	va_end(arguments);
}

/* Builds "%<flags><width><.precision><length><conversion>" from its parts. */
static const char *make_format(unsigned flag_set, const char *width, const char *precision,
			       const char *length, char conversion)
{
	static char format[64];
	static const char flags[] = "-+ #0";
	size_t used = 0;

	format[used++] = '%';
	for (unsigned i = 0; i < 5; i++) {
		if (flag_set & (1u << i))
			format[used++] = flags[i];
	}
	snprintf(format + used, sizeof(format) - used, "%s%s%s%c", width, precision, length,
		 conversion);
	return format;
}

static const char *const widths[] = { "", "1", "5", "12", "25" };
static const char *const precisions[] = { "", ".", ".0", ".1", ".3", ".12" };

static void test_integers(void **state)
{
	static const int values[] = { 0,   1,	 -1,	7,	 42,	  -42,
				      255, 4096, 65535, -100000, INT_MAX, INT_MIN };
	static const char conversions[] = "diuxXo";

	(void)state;
	for (unsigned flag_set = 0; flag_set < 32; flag_set++)
		for (size_t w = 0; w < sizeof(widths) / sizeof(*widths); w++)
			for (size_t p = 0; p < sizeof(precisions) / sizeof(*precisions); p++)
				for (const char *c = conversions; *c != '\0'; c++)
					for (size_t v = 0; v < sizeof(values) / sizeof(*values);
					     v++)
						compare_with_glibc(make_format(flag_set, widths[w],
									       precisions[p], "",
									       *c),
								   values[v]);
}

/* Each length modifier reads its own type and converts the value the way C says. */
static void test_length_modifiers(void **state)
{
	static const long long values[] = { 0,
					    1,
					    -1,
					    127,
					    128,
					    255,
					    256,
					    -129,
					    32767,
					    32768,
					    65536,
					    -65537,
					    4294967295LL,
					    4294967296LL,
					    LLONG_MAX,
					    LLONG_MIN,
					    0x123456789abcdefLL };
	static const char conversions[] = "diuxXo";

	(void)state;
	for (size_t v = 0; v < sizeof(values) / sizeof(*values); v++) {
		long long value = values[v];

		for (const char *c = conversions; *c != '\0'; c++) {
			for (unsigned flag_set = 0; flag_set < 32; flag_set += 5) {
				compare_with_glibc(make_format(flag_set, "8", "", "hh", *c),
						   (int)value);
				compare_with_glibc(make_format(flag_set, "", ".4", "h", *c),
						   (int)value);
				compare_with_glibc(make_format(flag_set, "30", "", "l", *c),
						   (long)value);
				compare_with_glibc(make_format(flag_set, "", "", "ll", *c), value);
				compare_with_glibc(make_format(flag_set, "", ".20", "z", *c),
						   (size_t)value);
				compare_with_glibc(make_format(flag_set, "3", "", "t", *c),
						   (ptrdiff_t)value);
				compare_with_glibc(make_format(flag_set, "", "", "j", *c),
						   (intmax_t)value);
			}
		}
	}
}

static void test_random_integers(void **state)
{
	uint64_t random = 88172645463325252u;
	static const char *const lengths[] = { "", "hh", "h", "l", "ll", "z", "j" };
	static const char conversions[] = "diuxXo";

	(void)state;
	for (unsigned i = 0; i < 20000; i++) {
		random ^= random << 13;
		random ^= random >> 7;
		random ^= random << 17;
		char width[8];
		char precision[8];
		snprintf(width, sizeof(width), "%u", (unsigned)(random >> 8) % 30);
		snprintf(precision, sizeof(precision), ".%u", (unsigned)(random >> 16) % 25);
		const char *length = lengths[(random >> 24) % 7];
		const char *format = make_format((random >> 32) % 32, random & 1 ? width : "",
						 random & 2 ? precision : "", length,
						 conversions[(random >> 40) % 6]);
		uint64_t value = random >> (random >> 58);

		if (length[0] == '\0' || length[0] == 'h')
			compare_with_glibc(format, (int)value);
		else
			compare_with_glibc(format, (long long)value);
	}
}

static void test_characters_strings_and_pointers(void **state)
{
	static const char *const strings[] = { "", "a", "hello", "hello, world" };
	static const unsigned flag_sets[] = { 0, 1 }; /* none and "-" */
	const char *volatile null_string = NULL;
	int local;

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		for (size_t w = 0; w < sizeof(widths) / sizeof(*widths); w++) {
			for (size_t p = 0; p < sizeof(precisions) / sizeof(*precisions); p++) {
				for (size_t s = 0; s < 4; s++)
					compare_with_glibc(make_format(flag_sets[f], widths[w],
								       precisions[p], "", 's'),
							   strings[s]);
			}
			compare_with_glibc(make_format(flag_sets[f], widths[w], "", "", 'c'), 'x');
			compare_with_glibc(make_format(flag_sets[f], widths[w], "", "", 'p'),
					   (void *)&local);
			compare_with_glibc(make_format(flag_sets[f], widths[w], "", "", 'p'),
					   (void *)NULL);
			compare_with_glibc(make_format(flag_sets[f], widths[w], "", "", 's'),
					   null_string);
		}
	}
	compare_with_glibc("%c%c%c", 'a', 0, 'b');
	compare_with_glibc("[%.*s|%-*s|%*s]", 3, "abcdef", 6, "ab", -6, "cd");
	compare_with_glibc("%p %p", (void *)1, (void *)UINTPTR_MAX);
	compare_with_glibc("plain text, no conversions");
	compare_with_glibc("");
	compare_with_glibc("100%% %d%%", 5);
	compare_with_glibc("%s=%d, %s=%u; %x-%c", "alpha", -3, "beta", 7u, 0xbeefu, 'z');
}

static void test_star_width_and_precision(void **state)
{
	static const int counts[] = { -20, -3, -1, 0, 1, 4, 17 };

	(void)state;
	for (size_t w = 0; w < 7; w++) {
		for (size_t p = 0; p < 7; p++) {
			compare_with_glibc("%*.*d|", counts[w], counts[p], 1234);
			compare_with_glibc("%0*.*x|", counts[w], counts[p], 0xabcu);
			compare_with_glibc("%-*.*s|", counts[w], counts[p], "string");
			compare_with_glibc("%*.*f|", counts[w], counts[p], 3.25);
			compare_with_glibc("%0*.*f|", counts[w], counts[p], -3.25);
		}
	}
}

static void test_fixed_point(void **state)
{
	static const double values[] = {
		0.0,
		1.0,
		0.5,
		1.5,
		2.5,
		0.125,
		0.375,
		0.1,
		0.7,
		1e-5,
		3.14159265358979,
		2.718281828459045,
		123456789.987654321,
		999.9996,
		9.9999999,
		99.5,
		0.05,
		0.045,
		1e15,
		1e16,
		1e22,
		1e23,
		4503599627370496.5,
		9007199254740993.0,
		1e300,
		DBL_MAX,
		DBL_MIN,
		5e-324,
		1e-100,
		0.000123456,
		65535.99999999,
		1.0 / 3.0,
	};
	static const char *const float_precisions[] = { "",    ".0",   ".1",  ".2",  ".3",
							".6",  ".10",  ".17", ".20", ".40",
							".60", ".100", ".160" };
	static const char *const float_widths[] = { "", "1", "8", "20" };
	static const unsigned flag_sets[] = { 0, 1, 2, 4, 8, 16, 1 | 2, 2 | 16, 4 | 8 | 16 };

	(void)state;
	for (size_t v = 0; v < sizeof(values) / sizeof(*values); v++) {
		for (int sign = 0; sign < 2; sign++) {
			double value = sign ? -values[v] : values[v];

			for (size_t p = 0; p < sizeof(float_precisions) / sizeof(char *); p++)
				compare_with_glibc(make_format(0, "", float_precisions[p], "", 'f'),
						   value);
			for (size_t f = 0; f < sizeof(flag_sets) / sizeof(*flag_sets); f++)
				for (size_t w = 0; w < 4; w++)
					compare_with_glibc(make_format(flag_sets[f],
								       float_widths[w], ".3", "",
								       'f'),
							   value);
		}
	}
}

static void test_infinity_and_nan(void **state)
{
	static const double values[] = { INFINITY, -INFINITY, NAN, -NAN };
	static const unsigned flag_sets[] = { 0, 1, 2, 4, 8, 16, 2 | 16 };

	(void)state;
	for (size_t v = 0; v < 4; v++) {
		for (size_t f = 0; f < sizeof(flag_sets) / sizeof(*flag_sets); f++) {
			compare_with_glibc(make_format(flag_sets[f], "", "", "", 'f'), values[v]);
			compare_with_glibc(make_format(flag_sets[f], "8", ".2", "", 'f'),
					   values[v]);
			compare_with_glibc(make_format(flag_sets[f], "6", "", "", 'F'), values[v]);
		}
	}
}

static void test_random_doubles(void **state)
{
	uint64_t random = 0x2545f4914f6cdd1du;

	(void)state;
	for (unsigned i = 0; i < 20000; i++) {
		random ^= random << 13;
		random ^= random >> 7;
		random ^= random << 17;
		union {
			uint64_t bits;
			double value;
		} pun = { .bits = random };
		char format[16];

		if (!isfinite(pun.value))
			continue;
		/* Half the values get a tame exponent, where most real numbers live. */
		if (i % 2 == 0)
			pun.bits = (pun.bits & 0x800fffffffffffffu) |
				   (uint64_t)(1023 - 40 + (random >> 52) % 80) << 52;
		snprintf(format, sizeof(format), "%%.%uf", (unsigned)(random % 41));
		compare_with_glibc(format, pun.value);
	}
}

static void test_long_and_long_double(void **state)
{
	(void)state;
	compare_with_glibc("%lf %Lf %.3Lf", 2.5, 1.5L, -0.0625L);
}

/* Behaviour where the guest deliberately differs from glibc, or glibc has no opinion. */
static void test_guest_only_behaviour(void **state)
{
	char buffer[64];
	const char *volatile format;

	(void)state;
	/* Unknown conversions are printed literally and consume no argument. */
	format = "%y %d %5k %lq|%";
	assert_int_equal(guest_snprintf(buffer, sizeof(buffer), format, 42), 15);
	assert_string_equal(buffer, "%y 42 %5k %lq|%");
	format = "[%n]";
	assert_int_equal(guest_snprintf(buffer, sizeof(buffer), format), 4);
	assert_string_equal(buffer, "[%n]");
	format = "%e %g %a";
	assert_int_equal(guest_snprintf(buffer, sizeof(buffer), format, 1.0), 8);
	assert_string_equal(buffer, format);
	format = "abc%5";
	assert_int_equal(guest_snprintf(buffer, sizeof(buffer), format), 5);
	assert_string_equal(buffer, "abc%5");

	/* Size 0 writes nothing at all, not even the terminator. */
	buffer[0] = 'x';
	assert_int_equal(guest_snprintf(buffer, 0, "%s", "hello"), 5);
	assert_int_equal(buffer[0], 'x');

	/* Huge widths are counted without being written out. */
	assert_int_equal(guest_snprintf(buffer, sizeof(buffer), "%*d", 100000000, 1), 100000000);
	assert_int_equal(strlen(buffer), sizeof(buffer) - 1);
	assert_int_equal(guest_snprintf(buffer, sizeof(buffer), "%.*f", 100000000, 1.0), 100000002);
	assert_string_equal(guest_snprintf(buffer, 4, "%d", 12345) == 5 ? buffer : "", "123");
	assert_int_equal(guest_snprintf(NULL, 0, "%d %s", 12345, "abc"), 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_length_modifiers),
		cmocka_unit_test(test_random_integers),
		cmocka_unit_test(test_characters_strings_and_pointers),
		cmocka_unit_test(test_star_width_and_precision),
		cmocka_unit_test(test_fixed_point),
		cmocka_unit_test(test_infinity_and_nan),
		cmocka_unit_test(test_random_doubles),
		cmocka_unit_test(test_long_and_long_double),
		cmocka_unit_test(test_guest_only_behaviour),
	};

	int failures = cmocka_run_group_tests(tests, NULL, NULL);
	printf("format: %u comparisons against glibc\n", comparisons);
	return failures;
}
