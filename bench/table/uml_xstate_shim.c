// uml_xstate_shim.c: lets Debian's User-Mode Linux 6.1 run on a host whose XSAVE area is
// larger than UML's 4 KiB register buffer (a CPU with AMX: 11,008 bytes).
//
// UML saves and restores its processes' FPU state with PTRACE_GETREGSET/PTRACE_SETREGSET
// (NT_X86_XSTATE) through a fixed 4 KiB buffer. Reading a short buffer works (the kernel
// truncates), but the host kernel refuses to write anything but the whole XSAVE area (EFAULT),
// so UML's first process dies: "userspace - ptrace set fp regs failed, errno = 14".
//
// Loaded with LD_PRELOAD into linux.uml, this wraps ptrace(): a short PTRACE_SETREGSET of the
// XSAVE area is completed with the rest of the tracee's current state (read first), then written
// whole. The part UML does not know about (AMX tile state) is state UML's processes never use,
// so nothing changes for them; the cost is one extra ptrace call per FPU restore (none on a host
// whose XSAVE area fits UML's buffer: there the wrapper only passes calls through).
// Built at run time by bench/table/systems/uml.sh (the table's UML system) into build/bench-table/.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef long (*ptrace_function)(enum __ptrace_request, pid_t, void *, void *);

static _Alignas(64) unsigned char whole[64 * 1024];

long ptrace(enum __ptrace_request request, ...)
{
	static ptrace_function real;
	va_list arguments;
	va_start(arguments, request);
	pid_t pid = va_arg(arguments, pid_t);
	void *address = va_arg(arguments, void *);
	void *data = va_arg(arguments, void *);
	va_end(arguments);
	if (!real)
		real = (ptrace_function)dlsym(RTLD_NEXT, "ptrace");

	static size_t whole_size; // the host's XSAVE area, learned on the first restore
	struct iovec *given = data;
	if (request == PTRACE_SETREGSET && (unsigned long)address == NT_X86_XSTATE && given &&
	    (whole_size == 0 || given->iov_len < whole_size)) {
		struct iovec current = { .iov_base = whole, .iov_len = sizeof(whole) };
		if (real(PTRACE_GETREGSET, pid, address, &current) == 0) {
			whole_size = current.iov_len;
			if (given->iov_len < whole_size) {
				memcpy(whole, given->iov_base, given->iov_len);
				return real(PTRACE_SETREGSET, pid, address, &current);
			}
		}
	}
	return real(request, pid, address, data);
}
