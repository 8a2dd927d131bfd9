/*
 * Memory and string primitives for the guest kernel (declared in guest/include/string.h).
 *
 * memcpy and memset use `rep movsb` / `rep stosb`: on CPUs with ERMS (our AMD EPYC hosts) the
 * microcode picks the best strategy for the length, which beats a hand-written loop for the
 * network frames we copy and costs nothing in code size. Everything else is plain C.
 *
 * gcc recognises byte loops as memset/memcpy and may replace them with a call to the very
 * function being defined; the byte loops here are compiled with that pattern matching switched
 * off so they cannot recurse into themselves.
 */
#include <string.h>

#include <stdint.h>

/* clang has no such attribute; it only makes these calls when builtins are enabled. */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_LIBCALL_PATTERNS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_LIBCALL_PATTERNS
#endif

/* A forward byte copy; correct for overlap when the destination lies below the source. */
static inline void copy_forward(void *destination, const void *source, size_t count)
{
	__asm__ volatile("rep movsb" : "+D"(destination), "+S"(source), "+c"(count) : : "memory");
}

void *memcpy(void *restrict destination, const void *restrict source, size_t count)
{
	copy_forward(destination, source, count);
	return destination;
}

void *memset(void *destination, int byte, size_t count)
{
	void *result = destination;

	__asm__ volatile("rep stosb" : "+D"(destination), "+c"(count) : "a"(byte) : "memory");
	return result;
}

/*
 * The fast forward copy is right whenever the destination does not start inside the source (the
 * unsigned difference wraps when it lies below); only "destination above source" needs to go
 * backwards, which is rare enough to do byte by byte.
 */
NO_LIBCALL_PATTERNS void *memmove(void *destination, const void *source, size_t count)
{
	unsigned char *to = destination;
	const unsigned char *from = source;

	if ((uintptr_t)to - (uintptr_t)from >= count) {
		copy_forward(destination, source, count);
		return destination;
	}
	while (count > 0) {
		count--;
		to[count] = from[count];
	}
	return destination;
}

int memcmp(const void *left, const void *right, size_t count)
{
	const unsigned char *a = left;
	const unsigned char *b = right;

	for (size_t i = 0; i < count; i++) {
		if (a[i] != b[i])
			return a[i] - b[i];
	}
	return 0;
}

void *memchr(const void *memory, int byte, size_t count)
{
	const unsigned char *bytes = memory;

	for (size_t i = 0; i < count; i++) {
		if (bytes[i] == (unsigned char)byte)
			return (void *)(bytes + i);
	}
	return NULL;
}

size_t strlen(const char *string)
{
	const char *end = string;

	while (*end != '\0')
		end++;
	return (size_t)(end - string);
}

size_t strnlen(const char *string, size_t limit)
{
	size_t length = 0;

	while (length < limit && string[length] != '\0')
		length++;
	return length;
}

int strcmp(const char *left, const char *right)
{
	const unsigned char *a = (const unsigned char *)left;
	const unsigned char *b = (const unsigned char *)right;

	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return *a - *b;
}

int strncmp(const char *left, const char *right, size_t limit)
{
	const unsigned char *a = (const unsigned char *)left;
	const unsigned char *b = (const unsigned char *)right;

	for (size_t i = 0; i < limit; i++) {
		if (a[i] != b[i] || a[i] == '\0')
			return a[i] - b[i];
	}
	return 0;
}

/* Searching for '\0' is valid and finds the terminator, as the standard requires. */
char *strchr(const char *string, int character)
{
	for (;; string++) {
		if (*string == (char)character)
			return (char *)string;
		if (*string == '\0')
			return NULL;
	}
}

char *strrchr(const char *string, int character)
{
	const char *last = NULL;

	for (;; string++) {
		if (*string == (char)character)
			last = string;
		if (*string == '\0')
			return (char *)last;
	}
}

size_t strspn(const char *string, const char *accept)
{
	size_t length = 0;

	while (string[length] != '\0' && strchr(accept, string[length]) != NULL)
		length++;
	return length;
}

size_t strcspn(const char *string, const char *reject)
{
	size_t length = 0;

	while (string[length] != '\0' && strchr(reject, string[length]) == NULL)
		length++;
	return length;
}
