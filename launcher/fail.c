/* The launcher's way of giving up with a clear message (see fail.h). */
#include "fail.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jmp_buf *landing;

void fail_set_landing(jmp_buf *where)
{
	landing = where;
}

__attribute__((noreturn)) static void give_up(void)
{
	if (landing)
		longjmp(*landing, 1);
	exit(STATUS_LAUNCHER_ERROR);
}

void fail(const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	fputs("ringvisor: ", stderr);
	vfprintf(stderr, format, arguments);
	fputc('\n', stderr);
	va_end(arguments);
	give_up();
}

void fail_errno(const char *format, ...)
{
	int saved = errno;
	va_list arguments;
	va_start(arguments, format);
	fputs("ringvisor: ", stderr);
	vfprintf(stderr, format, arguments);
	fprintf(stderr, ": %s\n", strerror(saved));
	va_end(arguments);
	give_up();
}
