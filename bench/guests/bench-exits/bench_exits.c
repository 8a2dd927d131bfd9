/*
 * bench-exits: the guest half of bench/exit_costs.c. Times, with the TSC, the two ways a
 * guest can get the host's attention: a hypercall (a full exit to the launcher and back) and
 * a doorbell (an `out` to a port the bench bound to an ioeventfd, handled inside the host
 * kernel). Prints one line per figure, in a form the bench parses:
 *
 *	hypercall_ns ROUND NANOSECONDS
 *	doorbell_ns ROUND NANOSECONDS
 *
 * Only the bench can run it: under a plain `ringvisor run`, no ioeventfd is bound and the
 * first doorbell is reported as a write to a port nobody serves.
 */
#include <stdio.h>
#include <stdlib.h>

#include <ringvisor/hypercall.h>
#include <ringvisor/kernel.h>

static double nanoseconds_each(uint64_t ticks, unsigned count)
{
	return (double)ticks * 1e6 / (double)clock_tsc_khz() / count;
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 5;
	unsigned hypercalls = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 20000;
	unsigned doorbells = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 100000;

	for (unsigned round = 0; round < rounds; round++) {
		/* A zero-length console write: the launcher's cheapest complete hypercall. */
		uint64_t start = clock_read_tsc();
		for (unsigned index = 0; index < hypercalls; index++)
			hypercall(RINGVISOR_HYPERCALL_CONSOLE_WRITE, 0x100000, 0, 0);
		uint64_t hypercall_ticks = clock_read_tsc() - start;

		start = clock_read_tsc();
		for (unsigned index = 0; index < doorbells; index++)
			__asm__ volatile("outl %0, %w1"
					 :
					 : "a"(index), "Nd"(RINGVISOR_PORT_DOORBELL_FIRST));
		uint64_t doorbell_ticks = clock_read_tsc() - start;

		printf("hypercall_ns %u %.1f\n", round,
		       nanoseconds_each(hypercall_ticks, hypercalls));
		printf("doorbell_ns %u %.1f\n", round, nanoseconds_each(doorbell_ticks, doorbells));
	}
	return 0;
}
