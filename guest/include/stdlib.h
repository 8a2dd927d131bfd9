/*
 * The guest kernel's <stdlib.h>.
 *
 * malloc and friends are implemented by the kernel on top of guest/lib/heap.c; the number parsers
 * live in guest/lib/number.c. This libc has no errno: on overflow the strto* functions saturate
 * (strtoul to ULONG_MAX, strtol to LONG_MAX or LONG_MIN, and so on), which callers can detect by
 * comparing against those values.
 */
#ifndef RINGVISOR_GUEST_STDLIB_H
#define RINGVISOR_GUEST_STDLIB_H

#include <stddef.h>

void *malloc(size_t size);
void free(void *pointer);
void *calloc(size_t count, size_t size);
void *realloc(void *pointer, size_t size);

/*
 * Standard C parsing: leading white space, an optional sign, then digits in base 2..36; base 0
 * picks 16 for a "0x" prefix, 8 for a leading "0" and 10 otherwise, and base 16 also accepts
 * "0x". *end (when end is not NULL) is set past the last digit used, or to string when there
 * were no digits. A minus sign negates the result in the unsigned type, as in C.
 */
unsigned long strtoul(const char *restrict string, char **restrict end, int base);
unsigned long long strtoull(const char *restrict string, char **restrict end, int base);
long strtol(const char *restrict string, char **restrict end, int base);
long long strtoll(const char *restrict string, char **restrict end, int base);

int abs(int value);
long labs(long value);

#endif
