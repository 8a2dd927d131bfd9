/*
 * The console: printf into a buffer, sent to the launcher's standard output by the
 * console-write hypercall. A hypercall costs tens of microseconds, so output is buffered
 * and flushed once per line (or when the buffer fills), never once per character.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_internal.h"

#define CONSOLE_BUFFER_BYTES 4096

static char console_buffer[CONSOLE_BUFFER_BYTES];
static size_t console_used;

static void console_send(const char *bytes, size_t length)
{
	while (length > 0) {
		size_t piece =
			length < RINGVISOR_CONSOLE_WRITE_MAX ? length : RINGVISOR_CONSOLE_WRITE_MAX;
		int64_t written = hypercall(RINGVISOR_HYPERCALL_CONSOLE_WRITE,
					    (uint64_t)(uintptr_t)bytes, piece, 0);
		if (written <= 0)
			return; /* the launcher's output is gone; nothing better to do */
		bytes += written;
		length -= (size_t)written;
	}
}

void console_flush(void)
{
	console_send(console_buffer, console_used);
	console_used = 0;
}

static void console_put(const char *bytes, size_t length)
{
	bool newline = memchr(bytes, '\n', length) != NULL;
	if (length > CONSOLE_BUFFER_BYTES - console_used) {
		console_flush();
		if (length >= CONSOLE_BUFFER_BYTES) { /* too big to buffer: straight out */
			console_send(bytes, length);
			return;
		}
	}
	memcpy(console_buffer + console_used, bytes, length);
	console_used += length;
	if (newline)
		console_flush();
}

int vprintf(const char *format, va_list arguments)
{
	char line[512];
	va_list again;
	va_copy(again, arguments);
	int length = vsnprintf(line, sizeof line, format, arguments);
	if (length < 0) {
		va_end(again);
		return length;
	}
	if ((size_t)length < sizeof line) {
		console_put(line, (size_t)length);
	} else {
		char *big = malloc((size_t)length + 1);
		if (big) {
			vsnprintf(big, (size_t)length + 1, format, again);
			console_put(big, (size_t)length);
			free(big);
		} else {
			console_put(line, sizeof line - 1); /* out of memory: the start will do */
		}
	}
	va_end(again);
	return length;
}

int printf(const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	int length = vprintf(format, arguments);
	va_end(arguments);
	return length;
}

int puts(const char *text)
{
	console_put(text, strlen(text));
	console_put("\n", 1);
	return 0;
}
