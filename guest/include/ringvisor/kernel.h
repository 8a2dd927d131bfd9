/*
 * What the guest kernel offers an app: the clock, waiting, exiting, panicking, and memory
 * statistics. An app is a `int main(int argc, char **argv)` linked with the kernel; malloc,
 * printf and friends come from the usual headers (stdlib.h, stdio.h, string.h).
 */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/heap.h"

/* Nanoseconds since the kernel started, from the TSC. */
uint64_t clock_now_ns(void);
/* The raw TSC and its frequency, for benchmarks. */
uint64_t clock_read_tsc(void);
uint64_t clock_tsc_khz(void);

/* Blocks until `deadline_ns` (clock_now_ns() time) or until a host-to-guest event, whichever
 * comes first; true if an event woke us. Never returns before the deadline without an event. */
bool kernel_wait_until(uint64_t deadline_ns);
/* Sleeps until the deadline, ignoring events. */
void kernel_sleep_until(uint64_t deadline_ns);
/* How many wait hypercalls the kernel has made: a sleeping guest makes few, a spinning one many. */
uint64_t kernel_wait_hypercall_count(void);

/* Ends the guest; the launcher exits with `code` (0-124). */
__attribute__((noreturn)) void kernel_exit(int code);

/* Ends the guest with a crash report that starts with the formatted message. */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *format, ...);
#define kernel_assert(condition)                                                                   \
	do {                                                                                       \
		if (!(condition))                                                                  \
			panic("assertion failed: %s (%s:%d)", #condition, __FILE__, __LINE__);     \
	} while (0)

/* Writes buffered console output now (printf flushes at each newline by itself). */
void console_flush(void);

/* The kernel's heap, which malloc() and friends allocate from. */
void memory_get_statistics(struct heap_statistics *statistics);
bool memory_check(void);

/* The boot information the launcher handed over (read-only). */
const struct ringvisor_boot_info *kernel_boot_info(void);

#endif
