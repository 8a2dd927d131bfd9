/*
 * Number parsing and small arithmetic helpers for the guest kernel (declared in
 * guest/include/stdlib.h); used for command lines and configuration strings.
 *
 * Every strto* variant shares one parser that reads the magnitude as unsigned long long and
 * reports overflow; each wrapper then applies its own range. Without errno, overflow saturates.
 */
#include <stdlib.h>

#include <stdbool.h>

/* <limits.h> is unusable under -nostdinc, so the compiler's predefined macros stand in. */
#define LONG_MAX __LONG_MAX__
#define LONG_MIN (-LONG_MAX - 1)
#define ULONG_MAX (LONG_MAX * 2UL + 1)
#define LONG_LONG_MAX __LONG_LONG_MAX__
#define LONG_LONG_MIN (-LONG_LONG_MAX - 1)
#define ULONG_LONG_MAX (LONG_LONG_MAX * 2ULL + 1)

struct parsed_number {
	unsigned long long magnitude; /* ULONG_LONG_MAX when it overflowed */
	bool negative;
	bool overflowed;
};

static bool is_space(char character)
{
	return character == ' ' || (character >= '\t' && character <= '\r');
}

/* The digit's value, or 36 (larger than any base) for a character that is not a digit. */
static unsigned digit_value(char character)
{
	if (character >= '0' && character <= '9')
		return (unsigned)(character - '0');
	if (character >= 'a' && character <= 'z')
		return (unsigned)(character - 'a' + 10);
	if (character >= 'A' && character <= 'Z')
		return (unsigned)(character - 'A' + 10);
	return 36;
}

static struct parsed_number parse_number(const char *string, char **end, int base)
{
	struct parsed_number result = { 0 };
	const char *cursor = string;

	if (end != NULL)
		*end = (char *)string;
	if (base < 0 || base == 1 || base > 36)
		return result;

	while (is_space(*cursor))
		cursor++;
	if (*cursor == '+' || *cursor == '-') {
		result.negative = *cursor == '-';
		cursor++;
	}
	/* "0x" only counts as a prefix when a hex digit follows; otherwise the number is "0". */
	bool hex_prefix = cursor[0] == '0' && (cursor[1] == 'x' || cursor[1] == 'X') &&
			  digit_value(cursor[2]) < 16;
	if ((base == 0 || base == 16) && hex_prefix) {
		base = 16;
		cursor += 2;
	} else if (base == 0) {
		base = cursor[0] == '0' ? 8 : 10;
	}

	const char *digits = cursor;
	unsigned long long limit = ULONG_LONG_MAX / (unsigned)base;
	for (unsigned digit; (digit = digit_value(*cursor)) < (unsigned)base; cursor++) {
		if (result.magnitude > limit ||
		    result.magnitude * (unsigned)base > ULONG_LONG_MAX - digit)
			result.overflowed = true;
		else
			result.magnitude = result.magnitude * (unsigned)base + digit;
	}
	if (result.overflowed)
		result.magnitude = ULONG_LONG_MAX;
	if (cursor == digits)
		return (struct parsed_number){ 0 };
	if (end != NULL)
		*end = (char *)cursor;
	return result;
}

unsigned long long strtoull(const char *restrict string, char **restrict end, int base)
{
	struct parsed_number number = parse_number(string, end, base);

	if (number.overflowed)
		return ULONG_LONG_MAX;
	return number.negative ? -number.magnitude : number.magnitude;
}

unsigned long strtoul(const char *restrict string, char **restrict end, int base)
{
	struct parsed_number number = parse_number(string, end, base);

	if (number.overflowed || number.magnitude > ULONG_MAX)
		return ULONG_MAX;
	return number.negative ? -(unsigned long)number.magnitude : (unsigned long)number.magnitude;
}

long long strtoll(const char *restrict string, char **restrict end, int base)
{
	struct parsed_number number = parse_number(string, end, base);

	if (number.negative) {
		if (number.magnitude > (unsigned long long)LONG_LONG_MAX + 1)
			return LONG_LONG_MIN;
		/* Negating in unsigned and converting back also handles LONG_LONG_MIN itself. */
		return (long long)(0 - number.magnitude);
	}
	if (number.magnitude > (unsigned long long)LONG_LONG_MAX)
		return LONG_LONG_MAX;
	return (long long)number.magnitude;
}

long strtol(const char *restrict string, char **restrict end, int base)
{
	struct parsed_number number = parse_number(string, end, base);

	if (number.negative) {
		if (number.magnitude > (unsigned long)LONG_MAX + 1)
			return LONG_MIN;
		return (long)(0 - (unsigned long)number.magnitude);
	}
	if (number.magnitude > (unsigned long)LONG_MAX)
		return LONG_MAX;
	return (long)number.magnitude;
}

int abs(int value)
{
	return value < 0 ? -value : value;
}

long labs(long value)
{
	return value < 0 ? -value : value;
}
