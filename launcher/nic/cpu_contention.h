/*
 * Whether the host's CPUs are contended, so that the I/O thread should sleep rather than poll.
 *
 * KVM polls a halted vCPU only while nothing else wants its CPU (single_task_running() in
 * kvm_vcpu_halt). A thread in user space cannot ask that, but it can see the symptom: the
 * vCPU thread, the one that does the guest's work, kept waiting for a CPU. The kernel counts
 * that time in /proc/self/task/TID/schedstat (its second field: nanoseconds runnable on a run
 * queue but not running). When it grows by more than CONTENDED_WAIT_PERCENT of the time between
 * two looks, some other thread holds a CPU the launcher needs, and a polling I/O thread would
 * be one more. The judgement holds until the wait falls below CALM_WAIT_PERCENT: one look is
 * 10 ms, and a run of such looks on a contended machine may show little waiting by chance.
 *
 * Measured on 2 CPUs (AMD EPYC, 2026-12-08), a UDP rate test with polling: on a quiet machine
 * the vCPU thread waited 0.5-4.5% of the time; with one core kept busy by stress-ng, 30-40%.
 * There the I/O thread's polling halved the rate (5,062-7,225 round trips a second against
 * 10,343-11,785 with --poll 0) while the guest's own polling cost nothing measurable, so only
 * the I/O thread asks.
 *
 * The file is opened once, at start (later the sandbox may forbid opening /proc), and read at
 * most every CONTENDED_CHECK_NS: a read costs a few microseconds, more than a round trip's share.
 */
#ifndef RINGVISOR_NIC_CPU_CONTENTION_H
#define RINGVISOR_NIC_CPU_CONTENTION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CONTENDED_WAIT_PERCENT 10u
#define CALM_WAIT_PERCENT 5u
#define CONTENDED_CHECK_NS 10000000u /* 10 ms */

struct cpu_contention {
	int schedstat_fd; /* -1: the kernel does not say (no schedstat): never contended */
	uint64_t checked_ns, wait_ns;
	bool contended;
};

/* Starts watching thread `tid` of this process (the vCPU thread), from `now_ns`. */
void cpu_contention_open(struct cpu_contention *contention, pid_t tid, uint64_t now_ns);
void cpu_contention_close(struct cpu_contention *contention);

/* Whether the CPUs were contended over the last check's interval, looking again if the last
 * look is CONTENDED_CHECK_NS old. */
bool cpu_contention_now(struct cpu_contention *contention, uint64_t now_ns);

/* The run-queue wait in a schedstat line ("RUN_NS WAIT_NS SLICES"); false if it is not one.
 * Exposed for tests, as is the judgement. */
bool cpu_contention_parse(const char *line, uint64_t *wait_ns);
bool cpu_contention_judge(uint64_t waited_ns, uint64_t elapsed_ns, bool was_contended);

#endif
