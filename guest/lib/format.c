/*
 * vsnprintf and snprintf for the guest kernel (declared in guest/include/stdio.h); the console's
 * printf and the JSON result writer are built on them.
 *
 * C99 semantics: the return value is the length the whole output would have had, the buffer is
 * always NUL-terminated when size > 0, and size 0 writes nothing. Supported: conversions
 * d i u o x X c s p % f F, flags - + space # 0, width and precision (also as *), and length
 * modifiers hh h l ll z t j (L is accepted for f and converted through double). Anything else,
 * including %n, is copied to the output literally and consumes no argument, so a bad format can
 * garble the output but never write through a stray pointer. %s with NULL prints "(null)" and
 * %p with NULL prints "(nil)", like glibc, so host tests can compare against it.
 *
 * %f prints the exact decimal value of the double, correctly rounded (ties to even) like glibc,
 * for every precision up to FRACTION_DIGITS_MAX; beyond that only values below about 3e-33 lose
 * digits (they are printed as trailing zeros).
 */
#include <stdio.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/*
 * <limits.h> is unusable under -nostdinc (gcc's copy chains to the C library's), so the
 * compiler's predefined macros stand in for it.
 */
#define INT_MAX __INT_MAX__
#define CHAR_BIT __CHAR_BIT__

/*
 * Fraction digits computed exactly. A double m * 2^-k has exactly k fraction digits, and k <= 160
 * for every double of magnitude 2^-108 or more, so this covers all ordinary values.
 */
#define FRACTION_DIGITS_MAX 160
/* DBL_MAX has 309 integer digits; they are produced in groups of nine. */
#define INTEGER_DIGITS_MAX 315
/* 2^1024 needs 32 words; 2^-1074 needs 34 words of fraction bits. */
#define DOUBLE_WORDS_MAX 35

/* Where the formatted text goes: as much as fits in the caller's buffer, while counting it all. */
struct output {
	char *buffer;
	size_t capacity; /* bytes we may store, excluding the terminator */
	size_t length;	 /* bytes produced so far, stored or not */
};

enum length_modifier {
	LENGTH_DEFAULT,
	LENGTH_CHAR,
	LENGTH_SHORT,
	LENGTH_LONG,
	LENGTH_LONG_LONG,
	LENGTH_SIZE,
	LENGTH_PTRDIFF,
	LENGTH_INTMAX,
	LENGTH_LONG_DOUBLE,
};

struct conversion {
	bool left_justify;
	bool force_sign;
	bool space_for_sign;
	bool alternate_form;
	bool zero_pad;
	size_t width;  /* 0 when absent */
	int precision; /* negative when absent */
	enum length_modifier length;
	char specifier;
};

static size_t room_left(const struct output *out)
{
	return out->length < out->capacity ? out->capacity - out->length : 0;
}

static void put_bytes(struct output *out, const char *bytes, size_t count)
{
	size_t stored = count < room_left(out) ? count : room_left(out);

	for (size_t i = 0; i < stored; i++)
		out->buffer[out->length + i] = bytes[i];
	out->length += count;
}

/* Only the part that fits is written, so huge widths cost nothing. */
static void put_repeated(struct output *out, char byte, size_t count)
{
	size_t stored = count < room_left(out) ? count : room_left(out);

	for (size_t i = 0; i < stored; i++)
		out->buffer[out->length + i] = byte;
	out->length += count;
}

/*
 * Every conversion has the same shape: [prefix][zeros][body][zeros], padded to the field width
 * with spaces on either side or with zeros after the prefix. Callers decide whether zero padding
 * applies (it does not for strings, or for integers with a precision).
 */
static void put_field(struct output *out, const struct conversion *spec, bool zero_pad,
		      const char *prefix, size_t prefix_length, size_t leading_zeros,
		      const char *body, size_t body_length, size_t trailing_zeros)
{
	size_t content = prefix_length + leading_zeros + body_length + trailing_zeros;
	size_t padding = spec->width > content ? spec->width - content : 0;

	if (spec->left_justify)
		zero_pad = false;
	if (!spec->left_justify && !zero_pad)
		put_repeated(out, ' ', padding);
	put_bytes(out, prefix, prefix_length);
	if (zero_pad)
		put_repeated(out, '0', padding);
	put_repeated(out, '0', leading_zeros);
	put_bytes(out, body, body_length);
	put_repeated(out, '0', trailing_zeros);
	if (spec->left_justify)
		put_repeated(out, ' ', padding);
}

static size_t sign_prefix(const struct conversion *spec, bool negative, char *prefix)
{
	if (negative)
		*prefix = '-';
	else if (spec->force_sign)
		*prefix = '+';
	else if (spec->space_for_sign)
		*prefix = ' ';
	else
		return 0;
	return 1;
}

static void format_integer(struct output *out, const struct conversion *spec, uintmax_t magnitude,
			   bool negative)
{
	const char *alphabet = spec->specifier == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
	unsigned base = 10;
	char digits[sizeof(uintmax_t) * CHAR_BIT / 3 + 1];
	size_t digit_count = 0;
	char prefix[2];
	size_t prefix_length = 0;

	if (spec->specifier == 'o')
		base = 8;
	else if (spec->specifier == 'x' || spec->specifier == 'X')
		base = 16;

	if (spec->specifier == 'd' || spec->specifier == 'i')
		prefix_length = sign_prefix(spec, negative, prefix);
	if (spec->alternate_form && base == 16 && magnitude != 0) {
		prefix[0] = '0';
		prefix[1] = spec->specifier;
		prefix_length = 2;
	}

	/* Zero has no digits here: the minimum digit count below supplies its "0". */
	for (uintmax_t rest = magnitude; rest != 0; rest /= base)
		digits[sizeof(digits) - ++digit_count] = alphabet[rest % base];

	size_t minimum_digits = spec->precision < 0 ? 1 : (size_t)spec->precision;
	size_t leading_zeros = minimum_digits > digit_count ? minimum_digits - digit_count : 0;
	/* "#" makes octal start with a 0, which the digits themselves never do. */
	if (spec->alternate_form && base == 8 && leading_zeros == 0)
		leading_zeros = 1;

	put_field(out, spec, spec->zero_pad && spec->precision < 0, prefix, prefix_length,
		  leading_zeros, digits + sizeof(digits) - digit_count, digit_count, 0);
}

/* Writes the decimal digits of a little-endian multiword integer (destroyed) and their count. */
static size_t big_integer_to_decimal(uint32_t *words, size_t word_count, char *digits)
{
	char scratch[INTEGER_DIGITS_MAX];
	char *cursor = scratch + sizeof(scratch);

	while (word_count > 0 && words[word_count - 1] == 0)
		word_count--;
	while (word_count > 0) {
		uint64_t remainder = 0;

		for (size_t i = word_count; i-- > 0;) {
			uint64_t current = remainder << 32 | words[i];

			words[i] = (uint32_t)(current / 1000000000);
			remainder = current % 1000000000;
		}
		while (word_count > 0 && words[word_count - 1] == 0)
			word_count--;
		for (int i = 0; i < 9; i++) {
			*--cursor = (char)('0' + remainder % 10);
			remainder /= 10;
		}
	}
	while (cursor < scratch + sizeof(scratch) && *cursor == '0')
		cursor++;
	if (cursor == scratch + sizeof(scratch))
		*--cursor = '0';

	size_t count = (size_t)(scratch + sizeof(scratch) - cursor);
	for (size_t i = 0; i < count; i++)
		digits[i] = cursor[i];
	return count;
}

/* Stores value << shift into words (shift may cross word boundaries; words must be zeroed). */
static void place_shifted(uint32_t *words, uint64_t value, unsigned shift)
{
	unsigned bit = shift % 32;
	uint64_t low = value << bit;
	uint64_t high = bit == 0 ? 0 : value >> (64 - bit);

	words[shift / 32] = (uint32_t)low;
	words[shift / 32 + 1] = (uint32_t)(low >> 32);
	words[shift / 32 + 2] = (uint32_t)high;
}

static bool all_zero(const uint32_t *words, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (words[i] != 0)
			return false;
	}
	return true;
}

/*
 * Exact conversion: the double is mantissa * 2^exponent. Its integer part goes through a
 * multiword integer; its fraction is kept as a multiword binary fraction (denominator 2^(32 *
 * words)) that yields one decimal digit per multiplication by ten, the carry out of the top.
 */
static void format_double(struct output *out, const struct conversion *spec, double value)
{
	union {
		double value;
		uint64_t bits;
	} pun = { .value = value };
	bool negative = pun.bits >> 63;
	unsigned biased_exponent = (unsigned)(pun.bits >> 52) & 0x7ff;
	uint64_t mantissa = pun.bits & ((UINT64_C(1) << 52) - 1);
	char prefix[1];
	size_t prefix_length = sign_prefix(spec, negative, prefix);
	bool uppercase = spec->specifier == 'F';

	if (biased_exponent == 0x7ff) {
		const char *word =
			mantissa != 0 ? (uppercase ? "NAN" : "nan") : (uppercase ? "INF" : "inf");
		put_field(out, spec, false, prefix, prefix_length, 0, word, 3, 0);
		return;
	}

	int exponent = -1074;
	if (biased_exponent != 0) {
		mantissa |= UINT64_C(1) << 52;
		exponent = (int)biased_exponent - 1075;
	}

	uint32_t words[DOUBLE_WORDS_MAX + 2] = { 0 };
	uint64_t fraction = 0;
	unsigned fraction_bits = 0;
	if (exponent >= 0) {
		place_shifted(words, mantissa, (unsigned)exponent);
	} else {
		fraction_bits = (unsigned)-exponent;
		if (fraction_bits < 64) {
			place_shifted(words, mantissa >> fraction_bits, 0);
			fraction = mantissa & ((UINT64_C(1) << fraction_bits) - 1);
		} else {
			fraction = mantissa;
		}
	}

	/* digits[0] is spare for a carry out of the top digit; the decimal point goes in later. */
	char digits[1 + INTEGER_DIGITS_MAX + 1 + FRACTION_DIGITS_MAX];
	size_t integer_count = big_integer_to_decimal(words, DOUBLE_WORDS_MAX, digits + 1);
	char *fraction_digits = digits + 1 + integer_count;
	size_t precision = spec->precision < 0 ? 6 : (size_t)spec->precision;
	size_t fraction_count = 0;

	size_t word_count = (fraction_bits + 31) / 32;
	for (size_t i = 0; i < DOUBLE_WORDS_MAX + 2; i++)
		words[i] = 0;
	if (fraction != 0)
		place_shifted(words, fraction, (unsigned)(word_count * 32 - fraction_bits));
	while (fraction_count < precision && fraction_count < FRACTION_DIGITS_MAX &&
	       !all_zero(words, word_count)) {
		uint32_t carry = 0;

		for (size_t i = 0; i < word_count; i++) {
			uint64_t product = (uint64_t)words[i] * 10 + carry;

			words[i] = (uint32_t)product;
			carry = (uint32_t)(product >> 32);
		}
		fraction_digits[fraction_count++] = (char)('0' + carry);
	}

	/* Round to nearest on what is left, ties to even, as glibc does in its default mode. */
	char *first = digits + 1;
	char *last = fraction_digits + fraction_count - 1;
	if (word_count > 0 && words[word_count - 1] >> 31) {
		bool above_half = (words[word_count - 1] & 0x7fffffff) != 0 ||
				  !all_zero(words, word_count - 1);
		if (above_half || (*last - '0') % 2 == 1) {
			char *digit = last;

			while (digit >= first && *digit == '9')
				*digit-- = '0';
			if (digit >= first) {
				(*digit)++;
			} else {
				*--first = '1';
				integer_count++;
			}
		}
	}

	size_t length = (size_t)(fraction_digits - first) + fraction_count;
	if (precision > 0 || spec->alternate_form) {
		for (size_t i = fraction_count; i > 0; i--)
			fraction_digits[i] = fraction_digits[i - 1];
		fraction_digits[0] = '.';
		length++;
	}
	put_field(out, spec, spec->zero_pad, prefix, prefix_length, 0, first, length,
		  precision - fraction_count);
}

static void format_string(struct output *out, const struct conversion *spec, const char *string)
{
	if (string == NULL)
		string = "(null)";
	size_t length = strnlen(string, spec->precision < 0 ? SIZE_MAX : (size_t)spec->precision);
	put_field(out, spec, false, NULL, 0, 0, string, length, 0);
}

static void format_pointer(struct output *out, const struct conversion *spec, const void *pointer)
{
	struct conversion hexadecimal = *spec;

	if (pointer == NULL) {
		put_field(out, spec, false, NULL, 0, 0, "(nil)", 5, 0);
		return;
	}
	hexadecimal.specifier = 'x';
	hexadecimal.alternate_form = true;
	format_integer(out, &hexadecimal, (uintptr_t)pointer, false);
}

static intmax_t next_signed(const struct conversion *spec, va_list *arguments)
{
	switch (spec->length) {
	case LENGTH_CHAR:
		return (signed char)va_arg(*arguments, int);
	case LENGTH_SHORT:
		return (short)va_arg(*arguments, int);
	case LENGTH_LONG:
		return va_arg(*arguments, long);
	case LENGTH_LONG_LONG:
	case LENGTH_LONG_DOUBLE: /* glibc reads %Ld as long long */
		return va_arg(*arguments, long long);
	case LENGTH_SIZE: /* the signed type the size of size_t */
	case LENGTH_PTRDIFF:
		return va_arg(*arguments, ptrdiff_t);
	case LENGTH_INTMAX:
		return va_arg(*arguments, intmax_t);
	default:
		return va_arg(*arguments, int);
	}
}

static uintmax_t next_unsigned(const struct conversion *spec, va_list *arguments)
{
	switch (spec->length) {
	case LENGTH_CHAR:
		return (unsigned char)va_arg(*arguments, unsigned);
	case LENGTH_SHORT:
		return (unsigned short)va_arg(*arguments, unsigned);
	case LENGTH_LONG:
		return va_arg(*arguments, unsigned long);
	case LENGTH_LONG_LONG:
	case LENGTH_LONG_DOUBLE:
		return va_arg(*arguments, unsigned long long);
	case LENGTH_SIZE:
	case LENGTH_PTRDIFF: /* the unsigned type the size of ptrdiff_t */
		return va_arg(*arguments, size_t);
	case LENGTH_INTMAX:
		return va_arg(*arguments, uintmax_t);
	default:
		return va_arg(*arguments, unsigned);
	}
}

/* Reads a decimal field width or precision, saturating at INT_MAX. */
static int parse_count(const char **cursor)
{
	int count = 0;

	for (; **cursor >= '0' && **cursor <= '9'; (*cursor)++) {
		int digit = **cursor - '0';

		count = count > (INT_MAX - digit) / 10 ? INT_MAX : count * 10 + digit;
	}
	return count;
}

static const char *parse_flags_and_sizes(const char *cursor, struct conversion *spec,
					 va_list *arguments)
{
	for (;; cursor++) {
		if (*cursor == '-')
			spec->left_justify = true;
		else if (*cursor == '+')
			spec->force_sign = true;
		else if (*cursor == ' ')
			spec->space_for_sign = true;
		else if (*cursor == '#')
			spec->alternate_form = true;
		else if (*cursor == '0')
			spec->zero_pad = true;
		else
			break;
	}

	if (*cursor == '*') {
		int width = va_arg(*arguments, int);

		cursor++;
		/* A negative width is a "-" flag; -INT_MIN is computed without overflow. */
		if (width < 0)
			spec->left_justify = true;
		spec->width = width < 0 ? -(size_t)width : (size_t)width;
	} else {
		spec->width = (size_t)parse_count(&cursor);
	}

	spec->precision = -1;
	if (*cursor == '.') {
		cursor++;
		if (*cursor == '*') {
			int precision = va_arg(*arguments, int);

			cursor++;
			spec->precision = precision < 0 ? -1 : precision;
		} else {
			spec->precision = parse_count(&cursor);
		}
	}
	return cursor;
}

static const char *parse_length(const char *cursor, struct conversion *spec)
{
	spec->length = LENGTH_DEFAULT;
	switch (*cursor) {
	case 'h':
		spec->length = cursor[1] == 'h' ? LENGTH_CHAR : LENGTH_SHORT;
		return cursor + (cursor[1] == 'h' ? 2 : 1);
	case 'l':
		spec->length = cursor[1] == 'l' ? LENGTH_LONG_LONG : LENGTH_LONG;
		return cursor + (cursor[1] == 'l' ? 2 : 1);
	case 'z':
		spec->length = LENGTH_SIZE;
		return cursor + 1;
	case 't':
		spec->length = LENGTH_PTRDIFF;
		return cursor + 1;
	case 'j':
		spec->length = LENGTH_INTMAX;
		return cursor + 1;
	case 'L':
		spec->length = LENGTH_LONG_DOUBLE;
		return cursor + 1;
	default:
		return cursor;
	}
}

/* Formats the conversion starting at the '%' and returns where the ordinary text resumes. */
static const char *format_conversion(struct output *out, const char *percent, va_list *arguments)
{
	struct conversion spec = { 0 };
	const char *cursor = parse_flags_and_sizes(percent + 1, &spec, arguments);

	cursor = parse_length(cursor, &spec);
	spec.specifier = *cursor;
	switch (spec.specifier) {
	case 'd':
	case 'i': {
		intmax_t value = next_signed(&spec, arguments);
		uintmax_t magnitude = value < 0 ? -(uintmax_t)value : (uintmax_t)value;

		format_integer(out, &spec, magnitude, value < 0);
		break;
	}
	case 'u':
	case 'o':
	case 'x':
	case 'X':
		format_integer(out, &spec, next_unsigned(&spec, arguments), false);
		break;
	case 'f':
	case 'F':
		if (spec.length == LENGTH_LONG_DOUBLE)
			format_double(out, &spec, (double)va_arg(*arguments, long double));
		else
			format_double(out, &spec, va_arg(*arguments, double));
		break;
	case 'c': {
		char character = (char)va_arg(*arguments, int);

		put_field(out, &spec, false, NULL, 0, 0, &character, 1, 0);
		break;
	}
	case 's':
		format_string(out, &spec, va_arg(*arguments, const char *));
		break;
	case 'p':
		format_pointer(out, &spec, va_arg(*arguments, const void *));
		break;
	case '%':
		put_bytes(out, "%", 1);
		break;
	case '\0':
		/* The format ended inside the conversion: show what there was. */
		put_bytes(out, percent, (size_t)(cursor - percent));
		return cursor;
	default:
		put_bytes(out, percent, (size_t)(cursor + 1 - percent));
		break;
	}
	return cursor + 1;
}

int vsnprintf(char *restrict buffer, size_t size, const char *restrict format, va_list arguments)
{
	struct output out = { .buffer = buffer, .capacity = size > 0 ? size - 1 : 0, .length = 0 };
	va_list remaining;

	/* A va_list parameter may be an array in disguise; a local copy can be passed by address.
	 */
	va_copy(remaining, arguments);
	while (*format != '\0') {
		if (*format == '%') {
			format = format_conversion(&out, format, &remaining);
			continue;
		}
		const char *text = format;
		while (*format != '\0' && *format != '%')
			format++;
		put_bytes(&out, text, (size_t)(format - text));
	}
	va_end(remaining);

	if (size > 0)
		buffer[out.length < size - 1 ? out.length : size - 1] = '\0';
	/* C99 would set errno to EOVERFLOW; this libc has no errno. */
	return out.length > INT_MAX ? -1 : (int)out.length;
}

int snprintf(char *restrict buffer, size_t size, const char *restrict format, ...)
{
	va_list arguments;

	va_start(arguments, format);
	int length = vsnprintf(buffer, size, format, arguments);
	va_end(arguments);
	return length;
}
