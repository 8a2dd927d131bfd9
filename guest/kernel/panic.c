/*
 * Ending the guest: exit with a code, or panic with a message. Both flush the console first
 * so that nothing the guest printed is lost. A panic's report (registers, backtrace) is the
 * launcher's work: it reads them from the vCPU, which the guest cannot get wrong.
 */
#include <stdarg.h>
#include <stdio.h>

#include "kernel_internal.h"

void kernel_exit(int code)
{
	console_flush();
	hypercall(RINGVISOR_HYPERCALL_EXIT, (uint64_t)(int64_t)code, 0, 0);
	for (;;) /* the launcher never resumes an exited guest */
		__builtin_trap();
}

void panic(const char *format, ...)
{
	static char message[1024];
	va_list arguments;
	va_start(arguments, format);
	int length = vsnprintf(message, sizeof message, format, arguments);
	va_end(arguments);
	if (length < 0)
		length = 0;
	if ((size_t)length >= sizeof message)
		length = sizeof message - 1;
	console_flush();
	hypercall(RINGVISOR_HYPERCALL_PANIC, (uint64_t)(uintptr_t)message, (uint64_t)length,
		  (uint64_t)(uintptr_t)__builtin_return_address(0));
	for (;;)
		__builtin_trap();
}
