/*
 * The guest kernel's <string.h>: memory and string primitives.
 *
 * The guest is freestanding, so these come from guest/lib/string.c rather than a libc. gcc also
 * emits calls to memcpy, memmove, memset and memcmp on its own (struct copies, zeroing), so those
 * four must exist with exactly the standard semantics.
 */
#ifndef RINGVISOR_GUEST_STRING_H
#define RINGVISOR_GUEST_STRING_H

#include <stddef.h>

void *memcpy(void *restrict destination, const void *restrict source, size_t count);
void *memmove(void *destination, const void *source, size_t count);
void *memset(void *destination, int byte, size_t count);
int memcmp(const void *left, const void *right, size_t count);
void *memchr(const void *memory, int byte, size_t count);

size_t strlen(const char *string);
size_t strnlen(const char *string, size_t limit);
int strcmp(const char *left, const char *right);
int strncmp(const char *left, const char *right, size_t limit);
char *strchr(const char *string, int character);
char *strrchr(const char *string, int character);
size_t strspn(const char *string, const char *accept);
size_t strcspn(const char *string, const char *reject);

#endif
