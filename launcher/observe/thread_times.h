/*
 * CPU time per launcher thread, as the kernel counts it: /proc/self/task/TID/stat's utime,
 * stime and guest_time (fields 14, 15 and 43, in clock ticks). For the vCPU thread guest_time is
 * the part of its time spent running the guest, which the kernel also counts in utime; the
 * rest of utime + stime is the launcher's own work on that thread (exits, hypercalls).
 *
 * --stats prints these at exit and the metrics stream every interval.
 */
#ifndef RINGVISOR_OBSERVE_THREAD_TIMES_H
#define RINGVISOR_OBSERVE_THREAD_TIMES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct thread_times {
	uint64_t user_ns, system_ns, guest_ns;
};

/* Reads thread `tid` of this process. False if the kernel's file could not be read or
 * parsed (the thread has exited, /proc is not mounted). */
bool thread_times_read(pid_t tid, struct thread_times *times);

/* Parses one stat line (exposed for tests). */
bool thread_times_parse(const char *line, long ticks_per_second, struct thread_times *times);

#endif
