/*
 * The guest's clock: the TSC, which runs natively in ring 3 here, constant and nonstop, at
 * the frequency the launcher read from KVM. Reading it costs a few nanoseconds and no exit.
 * Conversion to nanoseconds is a multiply and a shift, fixed-point with 32 fraction bits.
 */
#include <ringvisor/kernel.h>

#include "kernel_internal.h"

static uint64_t tsc_at_start;
static uint64_t tsc_frequency_khz;
static uint64_t nanoseconds_per_tick_fixed; /* 2^32 * nanoseconds per tick */

uint64_t clock_read_tsc(void)
{
	uint32_t low, high;
	__asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
	return ((uint64_t)high << 32) | low;
}

void clock_init(uint64_t tsc_khz)
{
	if (tsc_khz == 0)
		panic("the launcher reported a TSC frequency of 0 kHz");
	tsc_frequency_khz = tsc_khz;
	nanoseconds_per_tick_fixed = (1000000ull << 32) / tsc_khz;
	tsc_at_start = clock_read_tsc();
}

uint64_t clock_tsc_khz(void)
{
	return tsc_frequency_khz;
}

uint64_t clock_now_ns(void)
{
	uint64_t ticks = clock_read_tsc() - tsc_at_start;
	return (uint64_t)(((unsigned __int128)ticks * nanoseconds_per_tick_fixed) >> 32);
}

static uint64_t wait_hypercalls;

uint64_t kernel_wait_hypercall_count(void)
{
	return wait_hypercalls;
}

/* The launcher measures timeouts with its own clock; if it wakes us a hair early by ours,
 * we simply ask again. */
bool kernel_wait_until(uint64_t deadline_ns)
{
	for (;;) {
		uint64_t now = clock_now_ns();
		if (now >= deadline_ns)
			return false;
		wait_hypercalls++;
		if (hypercall(RINGVISOR_HYPERCALL_WAIT, deadline_ns - now, 0, 0) == 1)
			return true;
	}
}

void kernel_sleep_until(uint64_t deadline_ns)
{
	while (clock_now_ns() < deadline_ns)
		kernel_wait_until(deadline_ns);
}
