/*
 * How the launcher gives up. Setup problems (bad flags, a bad guest ELF, KVM refusing
 * something) end the launcher with a message that names what was wrong and a status that
 * cannot be mistaken for a guest's own exit code.
 */
#ifndef RINGVISOR_FAIL_H
#define RINGVISOR_FAIL_H

#include <setjmp.h>

#include "ringvisor_abi.h"

/* Exit statuses. 0..RINGVISOR_EXIT_CODE_MAX are the guest's own exit codes. */
enum launcher_status {
	STATUS_LAUNCHER_ERROR = 125, /* the launcher could not start or run the guest */
	STATUS_GUEST_CRASHED = 126,  /* exception, panic, triple fault, bad hypercall */
};

/* Prints "ringvisor: <message>" to stderr and exits with STATUS_LAUNCHER_ERROR. */
__attribute__((noreturn, format(printf, 1, 2))) void fail(const char *format, ...);

/* As fail(), with ": <strerror(errno)>" appended. */
__attribute__((noreturn, format(printf, 1, 2))) void fail_errno(const char *format, ...);

/* For fuzz harnesses only, which must go on after a refusal: with a landing set, fail() and
 * fail_errno() print their message and longjmp() there instead of exiting (NULL: exit again).
 * Whatever the failing code had allocated is the harness's to release. */
void fail_set_landing(jmp_buf *landing);

#endif
