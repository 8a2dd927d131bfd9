/*
 * The guest kernel's <stdio.h>: formatted output only (there are no FILE streams).
 *
 * vsnprintf/snprintf live in guest/lib/format.c and never touch a device; printf/vprintf are
 * implemented by the kernel's console on top of them.
 */
#ifndef RINGVISOR_GUEST_STDIO_H
#define RINGVISOR_GUEST_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#define RINGVISOR_PRINTF_LIKE(format_index, first_argument)                                        \
	__attribute__((__format__(__printf__, format_index, first_argument)))

int vsnprintf(char *restrict buffer, size_t size, const char *restrict format, va_list arguments)
	RINGVISOR_PRINTF_LIKE(3, 0);
int snprintf(char *restrict buffer, size_t size, const char *restrict format, ...)
	RINGVISOR_PRINTF_LIKE(3, 4);

int vprintf(const char *restrict format, va_list arguments) RINGVISOR_PRINTF_LIKE(1, 0);
int printf(const char *restrict format, ...) RINGVISOR_PRINTF_LIKE(1, 2);

#endif
