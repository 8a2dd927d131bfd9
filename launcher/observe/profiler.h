/*
 * `--profile FILE[,hz=N]`: a sampling profiler of the guest.
 *
 * A POSIX timer sends the vCPU thread SIGPROF N times a second (default 997, a prime, so the
 * samples do not beat with the guest's own periodic work). The handler tallies what each
 * launcher thread is doing (observe/thread_state.h) and, if the vCPU is inside KVM_RUN, kicks it
 * out (immediate_exit); the vCPU loop then calls profiler_take_sample(), which reads the
 * registers (KVM_GET_REGS), walks the guest's frame pointers (vm/frame_walk.c, the crash
 * report's checked walker) and counts the stack (observe/profile.c). At exit it writes FILE
 * (folded stacks), FILE.svg (a flame graph) and prints the top functions, how many samples were
 * taken and what taking them cost, measured: from the timer's signal to the stack counted.
 */
#ifndef RINGVISOR_OBSERVE_PROFILER_H
#define RINGVISOR_OBSERVE_PROFILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct vm;

#define PROFILER_HZ_DEFAULT 997u
#define PROFILER_HZ_MIN 1u
#define PROFILER_HZ_MAX 10000u /* an exit costs tens of microseconds here: past this, noise */

/* --profile FILE[,hz=N], as options.c parsed it. */
struct profiler_config {
	const char *path; /* NULL: no profiling */
	unsigned hz;
};

/* Before the guest runs: opens FILE and FILE.svg (failing the launcher, status 125, if either
 * cannot be written) and says whether the guest has symbols. Does nothing without a path. */
void profiler_prepare(const struct profiler_config *config, const struct vm *vm);

/* On the vCPU thread, just before the guest's first instruction: starts the timer. */
void profiler_start(struct vm *vm);

/* The vCPU loop, after KVM_RUN was interrupted: takes the sample the timer asked for, if any. */
void profiler_take_sample(struct vm *vm);

/* After the guest has ended: stops the timer, writes both files, prints the report to
 * `report`. */
void profiler_finish(struct vm *vm, FILE *report);

#endif
